#!/usr/bin/env python3
# -*- coding: utf-8 -*-
"""pydriver: the procspec driver for CPython-compatible implementations.

Usage: INTERPRETER tools/pydriver.py [--module multiprocessing]
       INTERPRETER tools/pydriver.py --vocabulary    (the names it knows)
       INTERPRETER tools/pydriver.py --module M --check  (exit 0: M can be driven)

Speaks driver protocol 1 (docs/PROTOCOL.md) on its stdin and stdout for the
module named by --module (multiprocessing, billiard, multiprocess, ...), which
must provide Process, current_process, parent_process, active_children and,
where it has them, get_context and set_start_method; or for an executor peer,
--module loky, loky-reusable or pebble (see "executor peers" below).

The process the harness starts is a zygote: it imports everything once, says
hello, and on each `begin` forks a scenario process that plays the scenario's
main program and answers begun, every step and end itself, reading requests
from the protocol fd directly. The zygote meanwhile waits for it in waitpid
(so it never reads the protocol while the scenario process does) and then
sends `exited`.

One file for CPython 2.7 and 3.6 to 3.13: no f-strings, no keyword-only
parameters, no walrus; everything newer than 2.7 is feature-detected.
"""

import binascii
import errno
import fcntl
import gc
import importlib
import json
import mmap
import os
import platform
import re
import select
import signal
import sys
import traceback
import weakref

try:
    _text_type = unicode        # noqa: F821 (Python 2)
    _string_types = (str, unicode)  # noqa: F821
    _integer_types = (int, long)    # noqa: F821
    _PY2 = True
except NameError:
    _text_type = str
    _string_types = (str,)
    _integer_types = (int,)
    _PY2 = False

PROTOCOL = 1
DRIVER = 'pydriver'
DEFAULT_MODULE = 'multiprocessing'
MAX_LINE = 1 << 20              # PROTOCOL.md: no line is longer than 1 MiB
HIGH_FD = 100                   # where the protocol fds are moved to
FD_PROBE_MAX = 1 << 16          # fds above this are not probed for leaks
SCENARIO_FAILED = 70            # scenario process exit code on a driver bug,
                                # and of a child escaped into the main program
ESCAPES_ENV = 'PROCSPEC_ESCAPES'    # where escaped children are recorded

# Linux values, for interpreters whose modules lack the names (2.7).
_F_DUPFD_CLOEXEC = getattr(fcntl, 'F_DUPFD_CLOEXEC', 1030)
_O_CLOEXEC = getattr(os, 'O_CLOEXEC', 0o2000000)
_PR_SET_PDEATHSIG = 1

# --- process-wide state ----------------------------------------------------
#
# Set up by main() in the zygote and inherited by fork. A process started by
# spawn or forkserver imports this file afresh (as `pydriver`, see
# _publish_as_module) and sees only the defaults below, which is what the
# behaviours expect there.

_MODNAME = None         # name of the implementation module
_MOD = None             # the implementation module itself
_UTIL = None            # its util submodule (_exit_function, register_after_fork)
_BASE_PROCESS = None    # its process base class, to recognise process objects
_METHODS = None         # start methods it supports, in its order
_ZYGOTE_PID = None
_SCENARIO_PID = None
_PROTO_IN = None        # the protocol fds, moved off 0 and 1, close-on-exec
_PROTO_OUT = None
_SAVED_OUT = None       # the driver's own fds 1 and 2 (/dev/null, the log),
_SAVED_ERR = None       # restored onto 1 and 2 after each capture
_TMPDIR = None          # where capture files are created (and unlinked)
_LIBC = None            # for prctl(PR_SET_PDEATHSIG), None without ctypes
_SHARED = None          # 2 bytes shared by zygote and scenario process:
                        # [0] a request is being answered, [1] ended was sent
_SCN = None             # the scenario, in the scenario process
_FIU = None             # procspec's fault library (ctypes), when preloaded
_FIU_THREADS = False    # ... with thread scopes (psfiu_arm_in)
_PEER = None            # the executor peer driven (_PEERS: loky, pebble)
_CF = None              # concurrent.futures.process, when the module is the
                        # standard multiprocessing (the executor it drives),
                        # or the peer's executor module

# Fds that a child of the scenario process must close first thing: the
# protocol, the driver's saved stdio, every gate's write end, every capture
# file. Emptied after closing, so a grandchild never closes the numbers
# again (they may have been reused for the child's own fds by then).
_DRIVER_FDS = []
_SCN_FDS = []           # gate read ends and capture files, closed at end
_STDIO_APPLIED = False


class DriverError(Exception):
    """The driver cannot carry a request out: becomes an `error` reply."""


class _Raised(Exception):
    """Scenario code raised: becomes a `raised` result."""

    def __init__(self, exc):
        Exception.__init__(self)
        self.exc = exc


class _Text(_text_type):
    """The value of stdout(p) / stderr(p): a `text` result."""


# --- small system helpers --------------------------------------------------

def _retry(fn, *args):
    # Python 2.7 does not retry on EINTR (PEP 475 came with 3.5).
    while True:
        try:
            return fn(*args)
        except (OSError, IOError) as e:
            if e.errno != errno.EINTR:
                raise


def _set_cloexec(fd):
    flags = fcntl.fcntl(fd, fcntl.F_GETFD)
    fcntl.fcntl(fd, fcntl.F_SETFD, flags | fcntl.FD_CLOEXEC)


def _dup_high(fd):
    """Duplicate fd to a close-on-exec fd >= HIGH_FD (or the lowest free)."""
    try:
        import resource
        soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    except Exception:
        soft = 1024
    base = HIGH_FD
    if 0 <= soft < HIGH_FD + 16:
        base = 3
    try:
        return fcntl.fcntl(fd, _F_DUPFD_CLOEXEC, base)
    except (OSError, IOError):
        new = fcntl.fcntl(fd, fcntl.F_DUPFD, base)
        _set_cloexec(new)
        return new


def _cloexec_pipe():
    if hasattr(os, 'pipe2'):
        return os.pipe2(_O_CLOEXEC)
    r, w = os.pipe()
    _set_cloexec(r)
    _set_cloexec(w)
    return r, w


def _close(fd):
    if fd is None:
        return
    try:
        os.close(fd)
    except OSError:
        pass


def _write_all(fd, data):
    view = memoryview(data)
    while len(view):
        n = _retry(os.write, fd, view)
        view = view[n:]


def _flush_std():
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass


def _log(msg):
    try:
        sys.stderr.write('pydriver[%d]: %s\n' % (os.getpid(), msg))
        sys.stderr.flush()
    except Exception:
        pass


def _clean(s):
    """Text that encodes to valid UTF-8 JSON (no lone surrogates)."""
    if _PY2:
        if isinstance(s, str):
            return s.decode('utf-8', 'replace')
        return s
    return s.encode('utf-8', 'backslashreplace').decode('utf-8')


def _q(value):
    """'name' for a string on every version (no u'' on 2.7), else repr."""
    if isinstance(value, _string_types):
        return "'%s'" % _clean(value)
    return repr(value)


def _decode_output(data):
    try:
        return data.decode('utf-8', 'backslashreplace')
    except (LookupError, TypeError):
        return data.decode('utf-8', 'replace')      # Python 2.7


def _open_fds():
    """The set of fds open in this process.

    Listing /proc/self/fd opens one fd of its own, which is then taken out
    by number (os.listdir has closed it by the time we look, but it was the
    lowest free number while listing). Probing every number below the fd
    limit with poll() cost 12 ms a call where the limit is 20000 (make
    bench); it stays as the fallback where /proc is missing.
    """
    try:
        listed = os.listdir('/proc/self/fd')
        fds = set(int(name) for name in listed)
        # the directory's own fd: the one number in the list that is not open now
        for fd in sorted(fds):
            try:
                os.fstat(fd)
            except (OSError, IOError):
                fds.discard(fd)
        return fds
    except (OSError, IOError, ValueError):
        pass
    try:
        import resource
        soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    except Exception:
        soft = 1024
    if soft < 0 or soft > FD_PROBE_MAX:
        soft = FD_PROBE_MAX
    try:
        poller = select.poll()
        for fd in range(soft):
            poller.register(fd, 0)
        bad = set(fd for fd, ev in _retry(poller.poll, 0)
                  if ev & select.POLLNVAL)
        return set(range(soft)) - bad
    except Exception:
        found = set()
        for fd in range(soft):
            try:
                fcntl.fcntl(fd, fcntl.F_GETFD)
                found.add(fd)
            except (OSError, IOError):
                pass
        return found


def _child_pids(ppid):
    """Pids of the processes whose parent is ppid, zombies included."""
    pids = set()
    try:
        tasks = os.listdir('/proc/%d/task' % ppid)
        for tid in tasks:
            with open('/proc/%d/task/%s/children' % (ppid, tid)) as f:
                pids.update(int(x) for x in f.read().split())
        return pids
    except (OSError, IOError, ValueError):
        pass
    for name in os.listdir('/proc'):
        if not name.isdigit():
            continue
        try:
            with open('/proc/%s/stat' % name, 'rb') as f:
                data = f.read()
        except (OSError, IOError):
            continue
        # "pid (comm) state ppid ...": comm may hold spaces and parens.
        fields = data[data.rfind(b')') + 2:].split()
        if len(fields) > 1 and int(fields[1]) == ppid:
            pids.add(int(name))
    return pids


# --- the protocol stream ---------------------------------------------------

def _read_line(fd):
    """One request line as bytes, b'' for an over-long line, None at EOF.

    Reads one byte at a time, so that it never takes anything past the
    newline: the zygote and the scenario process take turns on the same fd,
    and a buffer in one would hide requests from the other.
    """
    buf = bytearray()
    too_long = False
    while True:
        c = _retry(os.read, fd, 1)
        if not c:
            if not buf and not too_long:
                return None
            break
        if c == b'\n':
            break
        if too_long:
            continue
        buf += c
        if len(buf) > MAX_LINE:
            too_long = True
            buf = bytearray()
    if too_long:
        return b''
    return bytes(buf)


_KEY_ORDER = ('op', 'id', 'protocol', 'driver', 'implementation', 'executable',
              'module', 'methods', 'main_pid', 'authkey', 'value', 'raised',
              'error', 'message', 'pids', 'fds_leaked', 'children_left',
              'escaped', 'code', 'signal', 'process', 'into', 'type')


def _encode(obj):
    if _PY2:
        # Python 2 dicts are unordered; keep "op" first, as on Python 3.
        import collections
        rank = dict((k, i) for i, k in enumerate(_KEY_ORDER))
        obj = collections.OrderedDict(sorted(
            obj.items(), key=lambda kv: (rank.get(kv[0], len(rank)), kv[0])))
    data = json.dumps(obj, ensure_ascii=True, separators=(',', ':'))
    if not isinstance(data, bytes):
        data = data.encode('ascii')
    return data + b'\n'


def _send(obj):
    if _SCENARIO_PID is not None and os.getpid() != _SCENARIO_PID:
        # Some code forked and came back through the driver: this process
        # must never speak the protocol.
        os._exit(SCENARIO_FAILED)
    _write_all(_PROTO_OUT, _encode(obj))


def _parse(line):
    req = json.loads(line.decode('utf-8'))
    if not isinstance(req, dict):
        raise ValueError('request is not a JSON object')
    return req


def _reply_error(req, message):
    """The error reply to req: a step gets a result, anything else op error."""
    if req.get('op') == 'step':
        _send({'op': 'result', 'id': req.get('id'),
               'error': _clean(message), 'pids': {}})
    else:
        _send({'op': 'error', 'message': _clean(message)})


def _shared_set(index, value):
    if _SHARED is not None:
        _SHARED[index:index + 1] = b'\x01' if value else b'\x00'


def _shared_get(index):
    return _SHARED is not None and _SHARED[index:index + 1] == b'\x01'


# --- children: fd hygiene, gates, redirected stdio ------------------------

def _close_driver_fds():
    """In a child: close every fd of the driver's that fork handed down."""
    fds = list(_DRIVER_FDS)
    del _DRIVER_FDS[:]
    for fd in fds:
        _close(fd)


def _in_driver():
    pid = os.getpid()
    return pid == _SCENARIO_PID or pid == _ZYGOTE_PID


class _AfterForkToken(object):
    """register_after_fork needs a live object to weakly refer to."""


_AFTER_FORK_TOKEN = _AfterForkToken()


def _after_fork(token):
    # Called by util._run_after_forkers() in BaseProcess._bootstrap, before
    # run(): covers children whose target is not a behaviour.
    if not _in_driver():
        _close_driver_fds()


class _FdRef(object):
    """An fd a child of the scenario finds on its process object.

    Fork children inherit the number as it is. Under spawn and forkserver
    the process object is pickled inside start(); there the fd is handed to
    the child as multiprocessing hands any fd (reduction.DupFd, which uses
    the spawning Popen's duplicate_for_child), and the child gets its own
    number for it when the object is unpickled.
    """

    def __init__(self, fd):
        self.fd = fd

    def __reduce__(self):
        dupfd = None
        try:
            mod = _impl_module()
            context = sys.modules.get(mod.__name__ + '.context')
            getter = getattr(context, 'get_spawning_popen', None)
            if getter is not None and getter() is not None:
                reduction = sys.modules.get(mod.__name__ + '.reduction')
                dupfd = reduction.DupFd(self.fd)
        except Exception:
            dupfd = None
        if dupfd is not None:
            return (_fdref_from_dupfd, (dupfd,))
        return (_FdRef, (self.fd,))

    def __repr__(self):
        return '<procspec fd %d>' % self.fd


def _fdref_from_dupfd(dupfd):
    return _FdRef(dupfd.detach())


def _current():
    try:
        return _impl_module().current_process()
    except Exception:
        return None


def _own_gate():
    ref = getattr(_current(), '_procspec_gate', None)
    if ref is None and _in_driver():
        ref = _running_gate()
    return None if ref is None else ref.fd


def _running_gate():
    """p.run() in the scenario process: the gate of p, the process object
    whose run() is on the stack, is the behaviour's own."""
    f = sys._getframe(1)
    while f is not None:
        if f.f_code.co_name == 'run':
            ref = getattr(f.f_locals.get('self'), '_procspec_gate', None)
            if ref is not None:
                return ref
        f = f.f_back
    return None


def _apply_stdio():
    """Forkserver children: put the capture files on fds 1 and 2.

    A forkserver child is forked by the server, so it inherits the server's
    stdio, not the stdio the scenario process had around start(); the fds
    travel on the process object instead (see _FdRef).
    """
    global _STDIO_APPLIED
    if _STDIO_APPLIED:
        return
    _STDIO_APPLIED = True
    refs = getattr(_current(), '_procspec_stdio', None)
    if not refs:
        return
    _flush_std()
    for ref, target in zip(refs, (1, 2)):
        if ref.fd != target:
            os.dup2(ref.fd, target)
            _close(ref.fd)


# --- warnings_seen(): what the implementation's own code warns about in the
# scenario process (3.12's fork-with-threads DeprecationWarning) -----------

_WARN_SAVED = None      # the program's warnings settings, for a child
_WARNINGS = []          # 'Category: message', in order


def _implementation_file(filename):
    try:
        top = os.path.dirname(os.path.abspath(_impl_module().__file__))
        return os.path.abspath(filename).startswith(top + os.sep)
    except Exception:
        return False


def _record_warning(message, category, filename, lineno, file=None,
                    line=None):
    if os.getpid() == _SCENARIO_PID and _implementation_file(filename):
        _WARNINGS.append('%s: %s' % (category.__name__, message))


def _watch_warnings():
    """Every warning is shown to _record_warning, never printed: the
    scenario process's own stderr is no part of a transcript."""
    global _WARN_SAVED
    import warnings
    _WARN_SAVED = (list(warnings.filters), warnings.showwarning)
    warnings.simplefilter('always')
    warnings.showwarning = _record_warning


def _unwatch_warnings():
    """In a child: the warnings settings the program had."""
    if _WARN_SAVED is None:
        return
    import warnings
    warnings.filters[:] = _WARN_SAVED[0]
    mutated = getattr(warnings, '_filters_mutated', None)
    if mutated is not None:
        mutated()
    warnings.showwarning = _WARN_SAVED[1]


def warnings_seen(*args, **kwargs):
    """warnings_seen(): the warnings the implementation's own code issued
    in the scenario process so far, 'Category: message' each, in order."""
    if args or kwargs:
        raise DriverError('warnings_seen() takes no arguments')
    return list(_WARNINGS)


def _child_setup():
    """First thing in every behaviour: drop the driver's fds in a child."""
    if _in_driver():
        return
    _unwatch_warnings()
    _close_driver_fds()
    _apply_stdio()
    _hook_server_escape()


# --- escaped children (PROTOCOL.md, end: "escaped") ------------------------
#
# A child whose os._exit() raises (a code beyond a C int) comes back out of
# the code that forked it: out of start() into its parent's code under
# fork, out of the serving code into the fork server's loop under
# forkserver. Each such child appends one JSON line to the file named by
# $PROCSPEC_ESCAPES, set by the scenario process at begin (an environment
# variable reaches a forkserver child, where no scenario state does); the
# scenario process reports them in ended.

def _note_escape(into, exc):
    """Record that this process escaped into `into` ('main', 'target',
    'server') raising exc (None: returning)."""
    path = os.environ.get(ESCAPES_ENV)
    if not path:
        return
    try:
        name = _impl_module().current_process().name
    except Exception:
        name = '?'
    # 2.7: a name is a byte string, maybe not ASCII; unicode() of it would
    # raise here and lose the record
    if not isinstance(name, _string_types):
        name = _text_type(name)
    rec = {'process': _clean(name), 'into': into}
    if exc is not None:
        rec['raised'] = _exception_fields(exc)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | _O_CLOEXEC,
                     0o600)
        try:
            _write_all(fd, _encode(rec))
        finally:
            _close(fd)
    except OSError:
        pass


def _escaped_records(path):
    """The records of the children that escaped, read and removed."""
    try:
        with open(path, 'rb') as f:
            data = f.read()
        os.unlink(path)
    except (OSError, IOError):
        return []
    records = []
    for line in data.splitlines():
        try:
            records.append(json.loads(line.decode('utf-8')))
        except ValueError:
            _log('unreadable escape record %r' % line)
    return records


def _start_from_target(q):
    """q.start() in a behaviour running in a child: a grandchild that
    comes back out of it has escaped into its parent's target."""
    pid = os.getpid()
    try:
        q.start()
    except BaseException as e:
        if os.getpid() != pid and pid != _SCENARIO_PID:
            _note_escape('target', e)
        raise
    if os.getpid() != pid and pid != _SCENARIO_PID:
        _note_escape('target', None)


_SERVER_HOOKED = []


def _hook_server_escape():
    """In a forkserver child: an exception that reaches the top level
    came out of the serving code (forkserver.main ends a child in
    os._exit(code)), and sys.excepthook prints it."""
    if _SERVER_HOOKED or _start_method() != 'forkserver':
        return
    _SERVER_HOOKED.append(True)
    previous = sys.excepthook

    def hook(etype, value, tb):
        _note_escape('server', value)
        previous(etype, value, tb)

    sys.excepthook = hook


def _attach_refs(obj, gate_fd):
    """Give a new process object its gate and, under forkserver, its stdio."""
    if gate_fd is not None:
        obj._procspec_gate = _FdRef(gate_fd)
    if _start_method() == 'forkserver':
        obj._procspec_stdio = (_FdRef(1), _FdRef(2))


def _module_name_from_argv(argv):
    name = DEFAULT_MODULE
    args = list(argv[1:])
    while args:
        arg = args.pop(0)
        if arg == '--module' and args:
            name = args.pop(0)
        elif arg.startswith('--module='):
            name = arg[len('--module='):]
    return name


def _impl_module():
    """The implementation module, also in a spawned child.

    spawn.prepare() gives a spawned child the driver's sys.argv before it
    runs the target, so --module is found there.
    """
    if _MOD is not None:
        return _MOD
    name = _process_module_name(_module_name_from_argv(sys.argv))
    __import__(name)
    return sys.modules[name]


def _start_method():
    getter = getattr(_impl_module(), 'get_start_method', None)
    if getter is None:
        return 'fork'
    try:
        return getter(allow_none=True)
    except Exception:
        return None


# --- child behaviours (child.NAME in a scenario) ---------------------------
#
# Module-level functions, so that spawn pickles them by name (as
# pydriver.NAME, see _publish_as_module). Each starts with _child_setup().

def returns():
    """child.returns(): return None at once."""
    _child_setup()


def blocks():
    """child.blocks(): wait on the gate until released or the scenario is gone.

    One byte written by release() lets one reader go; EOF (every write end
    closed: the scenario process ended or died) lets all of them go.
    """
    _child_setup()
    fd = _own_gate()
    if fd is None:
        raise RuntimeError('child.blocks(): this process has no gate '
                           '(its process object was never bound to a '
                           'scenario variable)')
    _retry(os.read, fd, 1)


def exits(*code):
    """child.exits(*code): sys.exit(*code)."""
    _child_setup()
    sys.exit(*code)


def os_exit(n):
    """child.os_exit(n): os._exit(n), nothing flushed."""
    _child_setup()
    os._exit(n)


_RAISABLE = ('ValueError', 'RuntimeError', 'TypeError', 'KeyError',
             'OSError', 'Exception', 'KeyboardInterrupt', 'SystemError')


def raises(name, message=''):
    """child.raises(name, message=''): raise the built-in class name."""
    _child_setup()
    if name not in _RAISABLE:
        raise ValueError('child.raises(): unsupported exception class %r '
                         '(one of %s)' % (name, ', '.join(_RAISABLE)))
    try:
        import builtins
    except ImportError:
        import __builtin__ as builtins
    cls = getattr(builtins, name)
    raise cls(message)


def starts_child(target, args=(), daemon=None):
    """child.starts_child(target, args=(), daemon=None).

    q = Process(target=target, args=args, daemon=daemon); q.start(); writes
    repr(q) and a newline to stdout and returns, so the child's exit path
    (util._exit_function) joins q or terminates it if it is daemonic.
    """
    _child_setup()
    mod = _impl_module()
    cls = type(mod.current_process())
    if cls.__name__.startswith('_'):
        # Called in the scenario process itself: _MainProcess.
        cls = mod.Process
    # 2.7's Process has no daemon parameter; the setter is what 3.x's
    # __init__ calls, so this is the same on every version.
    q = cls(target=target, args=args)
    if daemon is not None:
        q.daemon = daemon
    _attach_refs(q, _own_gate())
    _start_from_target(q)
    sys.stdout.write(repr(q) + '\n')
    sys.stdout.flush()


def _report_line(label, fn):
    try:
        text = repr(fn())
    except Exception as e:
        text = '<raised %s: %s>' % (type(e).__name__, e)
    return '%s: %s\n' % (label, text)


def reports():
    """child.reports(): five 'label: repr' lines about this process."""
    _child_setup()
    mod = _impl_module()
    cp = mod.current_process()
    pp = getattr(mod, 'parent_process', None)
    out = [_report_line('current_process()', lambda: cp)]
    if pp is None:
        # parent_process() is new in 3.8.
        out.append('parent_process(): <unsupported>\n')
        out.append('parent_process().pid: <unsupported>\n')
    else:
        out.append(_report_line('parent_process()', pp))
        out.append(_report_line('parent_process().pid', lambda: pp().pid))
    out.append(_report_line('current_process().daemon', lambda: cp.daemon))
    out.append(_report_line('current_process().authkey', lambda: cp.authkey))
    sys.stdout.write(''.join(out))
    sys.stdout.flush()


_UNSET = object()


def writes(out=_UNSET, err=_UNSET):
    """child.writes(out='', err=''): out to stdout, err to stderr, each
    flushed; a stream whose text is not given is not touched, so that
    writing to one works when the other is broken."""
    _child_setup()
    if out is not _UNSET:
        sys.stdout.write(out)
        sys.stdout.flush()
    if err is not _UNSET:
        sys.stderr.write(err)
        sys.stderr.flush()


# --- child behaviours: atexit, stdio, threads, several children ----------
#
# What CPython's own tests and real programs do in a child (issue 16):
# each is one scenario under scenarios/children/ or scenarios/streams/.

def _write_out(out):
    sys.stdout.write(out)
    sys.stdout.flush()


def atexit_writes(out=''):
    """child.atexit_writes(out=''): registers an atexit handler that
    writes out to stdout, flushed, and returns. Whether it runs depends on
    how the child ends: interpreter exit (spawn) runs it, os._exit (fork
    and forkserver before 3.13) does not; 3.13's fork and forkserver
    children run atexit._run_exitfuncs() before os._exit (gh-83856)."""
    _child_setup()
    import atexit
    atexit.register(_write_out, out)


def breaks_stdio(name, action):
    """child.breaks_stdio(name, action): sys.<name> (stdout or stderr)
    becomes a closed io.StringIO, whose flush() raises ValueError
    (action 'close'), or None (action 'remove'), and the child returns:
    CPython's test_error_on_stdio_flush_2."""
    _child_setup()
    if name not in ('stdout', 'stderr') or action not in ('close', 'remove'):
        raise ValueError('child.breaks_stdio(): name is stdout or stderr, '
                         'action close or remove')
    stream = None
    if action == 'close':
        import io
        stream = io.StringIO()
        stream.close()
    setattr(sys, name, stream)


def starts_thread(out=''):
    """child.starts_thread(out=''): a thread writes out to stdout,
    flushed; the child joins it and returns."""
    _child_setup()
    import threading
    t = threading.Thread(target=_write_out, args=(out,))
    t.start()
    t.join()


def _thread_waits(fd, out):
    _retry(os.read, fd, 1)
    _write_out(out)


def leaves_thread(out=''):
    """child.leaves_thread(out=''): a non-daemon thread waits on the gate,
    then writes out to stdout, flushed; the child returns at once, leaving
    it running. _bootstrap's threading._shutdown() (3.7+) and interpreter
    exit (spawn) wait for it; before 3.7, fork's os._exit() kills it."""
    _child_setup()
    import threading
    fd = _own_gate()
    if fd is None:
        raise RuntimeError('child.leaves_thread(): this process has no gate')
    t = threading.Thread(target=_thread_waits, args=(fd, out))
    t.start()


def starts_children(target, n=2):
    """child.starts_children(target, n=2): n children in turn, each
    q = Process(target=target); q.start(); q.join(), then repr(q) and a
    newline to stdout, flushed."""
    _child_setup()
    mod = _impl_module()
    cls = type(mod.current_process())
    if cls.__name__.startswith('_'):
        cls = mod.Process
    for _ in range(n):
        q = cls(target=target)
        _attach_refs(q, _own_gate())
        _start_from_target(q)
        q.join()
        _write_out(repr(q) + '\n')


def writes_unflushed(out='', n=0):
    """child.writes_unflushed(out='', n=0): out to sys.stdout, never
    flushed, then os._exit(n): what sits in the buffer is lost."""
    _child_setup()
    sys.stdout.write(out)
    os._exit(n)


# --- signals, and a Process object received (child.ignores, child.handles,
# child.calls; harness/vocab.def has them in a block of their own) ---------

def _ready_then_block():
    """'ready' on stdout, flushed, then child.blocks()'s wait on the gate."""
    fd = _own_gate()
    if fd is None:
        raise RuntimeError('this process has no gate (its process object '
                           'was never bound to a scenario variable)')
    sys.stdout.write('ready\n')
    sys.stdout.flush()
    _retry(os.read, fd, 1)


def ignores(sig):
    """child.ignores(sig): signal.signal(sig, SIG_IGN), 'ready' on stdout,
    then wait as child.blocks() does."""
    _child_setup()
    signal.signal(sig, signal.SIG_IGN)
    _ready_then_block()


def handles(sig, code):
    """child.handles(sig, code): a handler for sig that writes 'caught N'
    (N the signal number) and calls sys.exit(code); 'ready' on stdout, then
    wait as child.blocks() does."""
    _child_setup()

    def handler(signum, frame):
        # os.write, not sys.stdout: the signal may land while the main
        # code is still inside sys.stdout.flush() of 'ready' (the harness
        # reads the line as soon as it is in the file), where a write to
        # the same BufferedWriter raises 'reentrant call'
        _write_all(1, ('caught %d\n' % signum).encode('ascii'))
        sys.exit(code)
    signal.signal(sig, handler)
    _ready_then_block()


def calls(proc, *names):
    """child.calls(proc, *names): for each name, 'NAME(): repr(result)' or
    'NAME(): <raised TYPE: message>' of getattr(proc, name)(), on stdout."""
    _child_setup()
    out = []
    for name in names:
        try:
            text = repr(getattr(proc, name)())
        except Exception as e:
            text = '<raised %s: %s>' % (type(e).__name__, e)
        out.append('%s(): %s\n' % (name, text))
    sys.stdout.write(''.join(out))
    sys.stdout.flush()


# --- a child that outlives its parent, and a child's open fds
# (child.watches_parent, child.starts_watcher, child.counts_fds: CPython's
# test_parent_process and test_child_fd_inflation) ---------------------------

def watches_parent():
    """child.watches_parent(): 'parent_process(): ...', its pid and
    'parent_process().is_alive(): ...', flushed; then
    parent_process().join(10 s, times the multiplier), and is_alive() again:
    a process whose parent dies meanwhile sees it die (3.8+)."""
    _child_setup()
    pp = _impl_module().parent_process()
    _write_out(_report_line('parent_process()', lambda: pp) +
               _report_line('parent_process().pid', lambda: pp.pid) +
               _report_line('parent_process().is_alive()', pp.is_alive))
    pp.join(_timeout(10))
    _write_out(_report_line('parent_process().is_alive()', pp.is_alive))


def starts_watcher():
    """child.starts_watcher(): q = Process(target=child.watches_parent);
    q.start(), and this process then waits on its gate as child.blocks()
    does, writing nothing itself: whatever kills it, q reports."""
    _child_setup()
    mod = _impl_module()
    cls = type(mod.current_process())
    if cls.__name__.startswith('_'):
        cls = mod.Process
    q = cls(target=watches_parent)
    fd = _own_gate()
    if fd is None:
        raise RuntimeError('child.starts_watcher(): this process has no gate')
    _attach_refs(q, fd)
    _start_from_target(q)
    _retry(os.read, fd, 1)


def counts_fds():
    """child.counts_fds(): 'fds: N', N the number of file descriptors this
    process has open, flushed; then it waits on its gate as child.blocks()
    does, so that siblings are counted while all of them run."""
    _child_setup()
    fd = _own_gate()
    if fd is None:
        raise RuntimeError('child.counts_fds(): this process has no gate')
    # listdir holds one more fd, the directory's own, while it reads
    _write_out('fds: %d\n' % (len(os.listdir('/proc/self/fd')) - 1))
    _retry(os.read, fd, 1)


# --- a child's own view of what it was given, and runs of many children
# (child.echoes, child.reports_start_method, child.recurses,
# child.starts_many, child.reports_native_id: CPython's test_process,
# test_args_argument, check_context, test_recursion, test_many_processes and
# test_process_mainthread_native_id, which send these back over a queue) ----

def echoes(*args, **kwargs):
    """child.echoes(*args, **kwargs): 'args: ...', 'kwargs: ...' (their
    repr()) and 'pid: N' (os.getpid()), flushed."""
    _child_setup()
    _write_out('args: %r\nkwargs: %r\npid: %d\n' % (args, kwargs, os.getpid()))


def uppercases(conn):
    """child.uppercases(conn): for s in iter(conn.recv, None), sends s back
    with its ASCII letters upper-cased (a str; anything else as it came),
    then closes conn: _TestSubclassingProcess's _UpperCaser."""
    _child_setup()
    for s in iter(conn.recv, None):
        if isinstance(s, _string_types):
            s = re.sub('[a-z]+', lambda m: m.group(0).upper(), s)
        conn.send(s)
    conn.close()


def reports_start_method():
    """child.reports_start_method(): 'get_start_method(): ...' as the
    child's own module answers it, flushed."""
    _child_setup()
    _write_out(_report_line('get_start_method()',
                            _impl_module().get_start_method))


def recurses(depth=2):
    """child.recurses(depth=2): writes its name; then, if depth > 0, two
    children in turn with child.recurses(depth - 1), each started and
    joined: the tree in the order its processes ran."""
    _child_setup()
    mod = _impl_module()
    _write_out(mod.current_process().name + '\n')
    if depth > 0:
        cls = type(mod.current_process())
        if cls.__name__.startswith('_'):
            cls = mod.Process
        for _ in range(2):
            q = cls(target=recurses, args=(depth - 1,))
            _attach_refs(q, _own_gate())
            _start_from_target(q)
            q.join()


def starts_many(n):
    """child.starts_many(n): n children of child.returns started, then all
    joined; then n children of child.blocks started, all terminated at once
    and joined; after each round 'exitcodes: [...]', the distinct codes
    sorted, flushed."""
    _child_setup()
    mod = _impl_module()
    cls = type(mod.current_process())
    if cls.__name__.startswith('_'):
        cls = mod.Process
    for target, stop in ((returns, False), (blocks, True)):
        procs = [cls(target=target) for _ in range(n)]
        for q in procs:
            _attach_refs(q, _own_gate())
            _start_from_target(q)
        if stop:
            for q in procs:
                q.terminate()
        for q in procs:
            q.join()
        _write_out('exitcodes: %r\n' % sorted(set(q.exitcode for q in procs)))


def reports_native_id():
    """child.reports_native_id(): 'main_thread().native_id ==
    get_native_id(): ...' in the child (3.8+), flushed: the child's main
    thread has its own id, not its parent's."""
    _child_setup()
    import threading
    _write_out(_report_line(
        'main_thread().native_id == get_native_id()',
        lambda: threading.main_thread().native_id == threading.get_native_id()))


_BEHAVIOURS = {
    'blocks': blocks,
    'calls': calls,
    'exits': exits,
    'handles': handles,
    'ignores': ignores,
    'os_exit': os_exit,
    'raises': raises,
    'reports': reports,
    'returns': returns,
    'starts_child': starts_child,
    'writes': writes,
}

_BEHAVIOURS.update({
    'atexit_writes': atexit_writes,
    'breaks_stdio': breaks_stdio,
    'leaves_thread': leaves_thread,
    'starts_children': starts_children,
    'starts_thread': starts_thread,
    'writes_unflushed': writes_unflushed,
})

_BEHAVIOURS.update({
    'echoes': echoes,
    'uppercases': uppercases,
    'recurses': recurses,
    'reports_native_id': reports_native_id,
    'reports_start_method': reports_start_method,
    'starts_many': starts_many,
})

_BEHAVIOURS.update({
    'counts_fds': counts_fds,
    'starts_watcher': starts_watcher,
    'watches_parent': watches_parent,
})

# Everything a child may have to unpickle.
_PICKLED = list(_BEHAVIOURS.values()) + [_FdRef, _fdref_from_dupfd,
                                         _write_out, _thread_waits]


def _publish_tasks():
    # Defined further down; listed here so that _publish_as_module sees them.
    _PICKLED.extend(list(_TASKS.values()) + [_Worker, _Gate, TwoArgError,
                                             _make_subclass,
                                             _make_callable_class])


def _publish_as_module():
    """Make what children unpickle importable as the module `pydriver`.

    Pickled as __main__.blocks, a behaviour is found in a spawned child only
    if the implementation re-runs the main script there (CPython's
    spawn.prepare does, as __mp_main__; billiard 4.1 does not, as it takes
    __main__'s name when __spec__ is None). Pickled as pydriver.blocks it is
    imported from the driver's own directory, which spawn and forkserver
    pass on in sys.path, whatever the implementation does with __main__.
    """
    here = os.path.dirname(os.path.abspath(__file__))
    if here not in [os.path.abspath(p) for p in sys.path if p]:
        sys.path.insert(0, here)
    sys.modules.setdefault('pydriver', sys.modules[__name__])
    _publish_tasks()
    for obj in _PICKLED:
        obj.__module__ = 'pydriver'


# --- the scenario ----------------------------------------------------------

class _Record(object):
    """A process object bound to a scenario variable, with its gate and
    capture files (created at binding, never inside start())."""

    def __init__(self, obj):
        self.obj = obj
        self.pid = None
        self.gate_r = self.gate_w = self.out_fd = self.err_fd = None

    # The object is held weakly: the scenario's own references decide when
    # it is freed, as CPython's test_close sees (weakref.ref(p)() is None
    # once p is closed and dropped).
    @property
    def obj(self):
        return self._ref() if self._ref is not None else None

    @obj.setter
    def obj(self, value):
        self._ref = weakref.ref(value) if value is not None else None

    def note_pid(self):
        # Remembered, because pid raises once the object is closed.
        try:
            pid = self.obj.pid
        except Exception:
            pid = None
        if isinstance(pid, _integer_types) and not isinstance(pid, bool):
            self.pid = pid


class _Scenario(object):

    def __init__(self, method):
        self.method = method
        self.vars = {}
        self.records = {}           # id(process object) -> _Record
        self.begin_fds = set()
        self.capture_serial = 0
        self.count_faults = False
        self.stop_on_error = False  # begin asked: after an error, run no step
        self.stopped = False
        self.exec_records = {}      # id(executor) -> _ExecRecord
        self.gates = []             # executor gates, in creation order
        self.gate_dir = None
        self.escapes_path = None    # $PROCSPEC_ESCAPES

    def exec_record_of(self, obj):
        rec = self.exec_records.get(id(obj))
        if rec is not None and rec.obj is obj:
            return rec
        return None

    def is_new_executor(self, value):
        return (_CF is not None and isinstance(value, _executor_class())
                and self.exec_record_of(value) is None)

    def register_executor(self, obj):
        rec = _ExecRecord(obj)
        try:
            rec.out_fd = self.capture_file('out')
            rec.err_fd = self.capture_file('err')
        except Exception as e:
            for fd in (rec.out_fd, rec.err_fd):
                _close(fd)
            raise DriverError('cannot create the capture files: %s' % e)
        _DRIVER_FDS.extend([rec.out_fd, rec.err_fd])
        _SCN_FDS.extend([rec.out_fd, rec.err_fd])
        rec.note()
        self.exec_records[id(obj)] = rec

    def record_of(self, obj):
        rec = self.records.get(id(obj))
        if rec is not None and rec.obj is obj:
            return rec
        return None

    def is_new_process(self, value):
        if _BASE_PROCESS is None or not isinstance(value, _BASE_PROCESS):
            return False
        if self.record_of(value) is not None:
            return False
        if value is _MOD.current_process():
            return False
        pp = getattr(_MOD, 'parent_process', None)
        return pp is None or value is not pp()

    def capture_file(self, tag):
        while True:
            self.capture_serial += 1
            path = os.path.join(_TMPDIR, 'procspec-%d-%d.%s' % (
                os.getpid(), self.capture_serial, tag))
            try:
                fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL |
                             os.O_APPEND | _O_CLOEXEC, 0o600)
            except OSError as e:
                if e.errno == errno.EEXIST:
                    continue
                raise
            os.unlink(path)
            return fd

    def register(self, obj):
        rec = _Record(obj)
        try:
            rec.gate_r, rec.gate_w = _cloexec_pipe()
            rec.out_fd = self.capture_file('out')
            rec.err_fd = self.capture_file('err')
            _attach_refs(obj, rec.gate_r)
        except Exception as e:
            for fd in (rec.gate_r, rec.gate_w, rec.out_fd, rec.err_fd):
                _close(fd)
            raise DriverError('cannot create the gate and capture files: %s'
                              % e)
        _DRIVER_FDS.extend([rec.gate_w, rec.out_fd, rec.err_fd])
        _SCN_FDS.extend([rec.gate_r, rec.out_fd, rec.err_fd])
        self.records[id(obj)] = rec

    def pids(self):
        pids = {}
        for name, value in self.vars.items():
            if isinstance(value, _Worker):
                pids[name] = value.pid
                continue
            rec = self.record_of(value)
            if rec is None:
                continue
            rec.note_pid()
            if rec.pid is not None:
                pids[name] = rec.pid
        return pids


def _need_record(verb, args, kwargs):
    if len(args) != 1 or kwargs:
        raise DriverError('%s() takes exactly one argument, a process' % verb)
    rec = _SCN.record_of(args[0])
    if rec is None and verb in ('stdout', 'stderr'):
        rec = _SCN.exec_record_of(args[0])
    if rec is None:
        raise DriverError('%s(): the argument is not a process object bound '
                          'to a scenario variable' % verb)
    return rec


def release(*args, **kwargs):
    """release(p): let one blocked behaviour in p's tree go on;
    release(g): let one task blocked on gate g go on."""
    if len(args) == 1 and not kwargs and isinstance(args[0], _Gate):
        g = _need_gate('release', args, kwargs)
        try:
            _write_all(g.go_fd, b'r')
        except OSError as e:
            raise DriverError('release(): cannot write the gate: %s' % e)
        return
    rec = _need_record('release', args, kwargs)
    if rec.gate_w is None:
        raise DriverError('release(): the gate is already closed')
    try:
        _write_all(rec.gate_w, b'r')
    except OSError as e:
        raise DriverError('release(): cannot write the gate: %s' % e)


def _read_capture(fd):
    chunks = []
    if hasattr(os, 'pread'):
        # pread: the child's fd shares this file's offset.
        offset = 0
        while True:
            data = _retry(os.pread, fd, 1 << 16, offset)
            if not data:
                break
            chunks.append(data)
            offset += len(data)
    else:
        rfd = os.open('/proc/self/fd/%d' % fd, os.O_RDONLY | _O_CLOEXEC)
        try:
            while True:
                data = _retry(os.read, rfd, 1 << 16)
                if not data:
                    break
                chunks.append(data)
        finally:
            os.close(rfd)
    return _Text(_decode_output(b''.join(chunks)))


def stdout(*args, **kwargs):
    """stdout(p): what p and its descendants wrote to fd 1 so far."""
    rec = _need_record('stdout', args, kwargs)
    try:
        return _read_capture(rec.out_fd)
    except OSError as e:
        raise DriverError('stdout(): cannot read the capture file: %s' % e)


def stderr(*args, **kwargs):
    """stderr(p): what p and its descendants wrote to fd 2 so far."""
    rec = _need_record('stderr', args, kwargs)
    try:
        return _read_capture(rec.err_fd)
    except OSError as e:
        raise DriverError('stderr(): cannot read the capture file: %s' % e)


def _forking_dumps():
    for sub in ('reduction', 'forking'):
        name = '%s.%s' % (_process_module_name(_MODNAME), sub)
        try:
            __import__(name)
        except Exception:
            continue
        pickler = getattr(sys.modules[name], 'ForkingPickler', None)
        if pickler is None:
            continue
        if hasattr(pickler, 'dumps'):
            return pickler.dumps
        return None
    return None


def pickles(*args, **kwargs):
    """pickles(x): pickle x as the implementation sends it to a child."""
    if len(args) != 1 or kwargs:
        raise DriverError('pickles() takes exactly one argument')
    import pickle
    dumps = _forking_dumps()
    if dumps is None:
        dumps = lambda obj: pickle.dumps(obj, pickle.HIGHEST_PROTOCOL)
    dumps(args[0])
    return True


# --- faults (PROTOCOL.md, Faults) ------------------------------------------

def _fiu_api(lib):
    """procspec's fault control (tools/fiu/psfiu.h), when the harness has
    preloaded it; None otherwise (no "faults" feature then)."""
    if lib is None:
        return None
    try:
        import ctypes
        for name, res, args in (
                ('psfiu_begin', ctypes.c_int, []),
                ('psfiu_arm', ctypes.c_int, [ctypes.c_char_p, ctypes.c_int,
                                             ctypes.c_long, ctypes.c_long]),
                ('psfiu_clear', None, []),
                ('psfiu_active', None, [ctypes.c_int]),
                ('psfiu_count_all', None, []),
                ('psfiu_site', ctypes.c_char_p, [ctypes.c_uint]),
                ('psfiu_calls', ctypes.c_long, [ctypes.c_uint]),
                ('psfiu_fired', ctypes.c_long, [ctypes.c_uint])):
            fn = getattr(lib, name)
            fn.restype = res
            fn.argtypes = args
    except (AttributeError, ImportError, OSError):
        return None
    global _FIU_THREADS
    try:
        # thread scopes (psfiu_arm_in): the "faults.thread" feature
        for name, res, args in (
                ('psfiu_arm_in', ctypes.c_int, [ctypes.c_char_p, ctypes.c_int,
                                                ctypes.c_long, ctypes.c_long,
                                                ctypes.c_int]),
                ('psfiu_calls_in', ctypes.c_long, [ctypes.c_uint,
                                                   ctypes.c_int]),
                ('psfiu_exempt', None, [ctypes.c_int])):
            fn = getattr(lib, name)
            fn.restype = res
            fn.argtypes = args
        _FIU_THREADS = True
    except AttributeError:
        _FIU_THREADS = False
    return lib


# thread= of fault(): psfiu.h's PSFIU_ANY, PSFIU_STEP, PSFIU_BACKGROUND.  The
# stepping thread is this driver's main thread; every other thread of the
# scenario process (the executor's manager and queue feeder) is background.
_FAULT_SCOPES = {'any': 0, 'step': 1, 'background': 2}


def _faults_active(on):
    """Armed faults fail calls only while on: during the implementation's
    own work in a step, never the driver's."""
    if _FIU is not None:
        _FIU.psfiu_active(on)


def _fault_counts():
    counts = {}
    i = 0
    while True:
        site = _FIU.psfiu_site(i)
        if site is None:
            return counts
        calls = _FIU.psfiu_calls(i)
        if calls > 0:
            counts[site.decode('ascii')] = [calls, _FIU.psfiu_fired(i)]
            if _FIU_THREADS:
                counts[site.decode('ascii')] += [
                    _FIU.psfiu_calls_in(i, _FAULT_SCOPES['step']),
                    _FIU.psfiu_calls_in(i, _FAULT_SCOPES['background'])]
        i += 1


def fault(*args, **kwargs):
    """fault(NAME, errno=E, count=N, after=K, thread=T): fail the next N
    calls of the site after letting K pass, in threads T (the harness has
    checked the arguments)."""
    if _FIU is None:
        raise DriverError("fault(): procspec's fault library is not preloaded")
    if len(args) != 1 or not isinstance(args[0], _string_types):
        raise DriverError('fault() takes the site name as a str')
    err = kwargs.pop('errno', 0) or 0
    count = kwargs.pop('count', 1)
    after = kwargs.pop('after', 0)
    scope = kwargs.pop('thread', 'any')
    if kwargs:
        raise DriverError('fault(): unknown argument %s' % sorted(kwargs)[0])
    if scope not in _FAULT_SCOPES:
        raise DriverError("fault(): thread= takes 'any', 'step' or 'background'")
    if scope != 'any' and not _FIU_THREADS:
        raise DriverError('fault(): this fault library has no thread scopes')
    if _FIU_THREADS:
        r = _FIU.psfiu_arm_in(args[0].encode('ascii'), int(err),
                              -1 if count is None else int(count), int(after),
                              _FAULT_SCOPES[scope])
    else:
        r = _FIU.psfiu_arm(args[0].encode('ascii'), int(err),
                           -1 if count is None else int(count), int(after))
    if r != 0:
        raise DriverError('fault(%s): %s' % (args[0], os.strerror(-r)))


def faults_clear(*args, **kwargs):
    if args or kwargs:
        raise DriverError('faults_clear() takes no arguments')
    if _FIU is not None:
        _FIU.psfiu_clear()


def _helper_fds():
    """The fds of the helper servers (forkserver, resource tracker): they
    live as long as the program, not leaks."""
    fds = set()
    for module, sub, attr, fd_attr, pid_attr in _helpers():
        obj = getattr(sys.modules.get(module), attr, None)
        fd = getattr(obj, fd_attr, None)
        if isinstance(fd, _integer_types):
            fds.add(fd)
    return fds


def fds_leaked(*args, **kwargs):
    """The fds open beyond those at begin, not counting the driver's gates
    and capture files nor the helper servers'."""
    if args or kwargs:
        raise DriverError('fds_leaked() takes no arguments')
    mine = set()
    for rec in _SCN.records.values():
        mine.update((rec.gate_r, rec.gate_w, rec.out_fd, rec.err_fd))
    for rec in _SCN.exec_records.values():
        mine.update((rec.out_fd, rec.err_fd))
    for g in _SCN.gates:
        mine.update((g.go_fd, g.ready_fd))
    return len(_open_fds() - _SCN.begin_fds - mine - _helper_fds())


def children_left(*args, **kwargs):
    """Children of the scenario process, running or unreaped, the helper
    servers left out."""
    if args or kwargs:
        raise DriverError('children_left() takes no arguments')
    # By the pid the module keeps, where it keeps one: a helper between
    # its fork and its exec does not show its own command line yet.
    helpers = set()
    for module, sub, attr, fd_attr, pid_attr in _helpers():
        helpers.update(_helper_pids(module))
        obj = getattr(sys.modules.get(module), attr, None)
        pid = getattr(obj, pid_attr, None)
        if isinstance(pid, _integer_types):
            helpers.add(pid)
    return len([p for p in _child_pids(os.getpid()) if p not in helpers])


# --- executors (PROTOCOL.md, Executors) -----------------------------------
#
# ProcessPoolExecutor workers are reused, started lazily or replaced, and a
# task's arguments travel through the call queue: a gate cannot be an
# inherited pipe. It travels by path instead, two FIFOs in the scenario's
# private directory (PROTOCOL.md, Gates for executors).

def _timeout(seconds):
    try:
        mult = float(os.environ.get('PROCSPEC_TIMEOUT_MULTIPLIER') or 1)
    except ValueError:
        mult = 1.0
    return seconds * max(mult, 1.0)


class _Worker(object):
    """A worker handle: the pid of the process that runs a task."""

    def __init__(self, pid):
        self.pid = pid

    def __reduce__(self):
        return (_Worker, (self.pid,))

    def __repr__(self):
        return '<worker pid=%d>' % self.pid


class _Gate(object):
    """gate(): two FIFOs, N.go and N.ready; pickles as their paths.

    The scenario process holds both open O_RDWR (fds that are not pickled):
    a task never blocks opening them, and once the scenario process is gone
    a blocked task reads EOF from go.
    """

    def __init__(self, go, ready):
        self.go = go
        self.ready = ready
        self.go_fd = self.ready_fd = None

    def __reduce__(self):
        return (_Gate, (self.go, self.ready))

    def __repr__(self):
        return '<gate %s>' % os.path.basename(self.go)[:-len('.go')]


class _ExecRecord(object):
    """An executor bound to a scenario variable: its capture files, and the
    manager threads and workers seen after each call on it (settles() and
    end wait for them, or forget them)."""

    def __init__(self, obj):
        self.obj = obj
        self.out_fd = self.err_fd = None
        self.threads = []
        self.procs = {}
        self.forgotten = False

    def note(self):
        for attr in ('_executor_manager_thread',        # 3.9+
                     '_queue_management_thread'):       # 3.6-3.8
            t = getattr(self.obj, attr, None)
            if t is not None and all(t is not x for x in self.threads):
                self.threads.append(t)
        procs = getattr(self.obj, '_processes', None)
        internals = getattr(self.obj, '_procspec_internals', None)
        if internals is not None:           # a peer's (_PebbleExecutor)
            threads, procs = internals()
            for t in threads:
                if all(t is not x for x in self.threads):
                    self.threads.append(t)
        if isinstance(procs, dict):
            for pid, proc in list(procs.items()):
                self.procs.setdefault(pid, proc)


def _task_setup():
    # A forked worker closes the driver's fds in the after-fork hook
    # (util._run_after_forkers in BaseProcess._bootstrap); a task run in the
    # scenario process itself (initializer under a thread pool) does not.
    if not _in_driver():
        _close_driver_fds()


def task_returns(v=None):
    """task.returns(v=None): return v."""
    return v


def task_pid():
    """task.pid(): the handle of the worker running it."""
    return _Worker(os.getpid())


def task_blocks(g, v=None):
    """task.blocks(g, v=None): announce this worker on g, wait for
    release(g) or for the scenario process to be gone, return v."""
    _task_setup()
    try:
        fd = os.open(g.ready, os.O_WRONLY | os.O_NONBLOCK | _O_CLOEXEC)
    except OSError:
        fd = None       # ENXIO: no reader, the scenario is gone
    if fd is not None:
        try:
            import struct
            _write_all(fd, struct.pack('<I', os.getpid()))
        except OSError:
            pass
        finally:
            _close(fd)
    try:
        # O_NONBLOCK, so that a FIFO with no writer left opens at once; a
        # read on it then sees EOF.
        fd = os.open(g.go, os.O_RDONLY | os.O_NONBLOCK | _O_CLOEXEC)
    except OSError:
        return v
    try:
        flags = fcntl.fcntl(fd, fcntl.F_GETFL)
        fcntl.fcntl(fd, fcntl.F_SETFL, flags & ~os.O_NONBLOCK)
        _retry(os.read, fd, 1)
    finally:
        _close(fd)
    return v


def task_raises(name, message=''):
    """task.raises(name, message=''): raise the built-in class name."""
    raises(name, message)


def task_exits(*code):
    """task.exits(*code): sys.exit(*code)."""
    sys.exit(*code)


def task_os_exit(n):
    """task.os_exit(n): os._exit(n)."""
    _flush_std()
    os._exit(n)


def task_kills_self(sig):
    """task.kills_self(sig): os.kill(os.getpid(), sig)."""
    os.kill(os.getpid(), sig)


def task_returns_unpicklable():
    """task.returns_unpicklable(): a lock, which pickle refuses."""
    import threading
    return threading.Lock()


class TwoArgError(Exception):
    """Pickles as TwoArgError(a) (BaseException.__reduce__ keeps args), then
    fails to unpickle: __init__ wants two arguments."""

    def __init__(self, a, b):
        Exception.__init__(self, a)


def task_raises_unpicklable():
    """task.raises_unpicklable(): an exception the parent cannot unpickle."""
    raise TwoArgError('unpicklable', 2)


def task_writes(out='', err=''):
    """task.writes(out='', err=''): out to stdout, err to stderr, flushed."""
    writes(out, err)


_TASKS = {
    'blocks': task_blocks,
    'exits': task_exits,
    'kills_self': task_kills_self,
    'os_exit': task_os_exit,
    'pid': task_pid,
    'raises': task_raises,
    'raises_unpicklable': task_raises_unpicklable,
    'returns': task_returns,
    'returns_unpicklable': task_returns_unpicklable,
    'writes': task_writes,
}


def gate(*args, **kwargs):
    """gate(): a new executor gate (FIFOs in the scenario's directory)."""
    if args or kwargs:
        raise DriverError('gate() takes no arguments')
    try:
        if _SCN.gate_dir is None:
            import tempfile
            _SCN.gate_dir = tempfile.mkdtemp(prefix='procspec-gates-',
                                             dir=_TMPDIR)
        n = len(_SCN.gates) + 1
        base = os.path.join(_SCN.gate_dir, str(n))
        g = _Gate(base + '.go', base + '.ready')
        os.mkfifo(g.go, 0o600)
        os.mkfifo(g.ready, 0o600)
        g.go_fd = os.open(g.go, os.O_RDWR | _O_CLOEXEC)
        g.ready_fd = os.open(g.ready, os.O_RDWR | _O_CLOEXEC)
    except OSError as e:
        raise DriverError('gate(): cannot make the FIFOs: %s' % e)
    # A forked worker closes them first thing (_after_fork), or a dead
    # scenario would never give its blocked tasks EOF.
    _DRIVER_FDS.extend([g.go_fd, g.ready_fd])
    _SCN_FDS.extend([g.go_fd, g.ready_fd])
    _SCN.gates.append(g)
    return g


def _need_gate(verb, args, kwargs):
    if len(args) != 1 or kwargs or not isinstance(args[0], _Gate):
        raise DriverError('%s() takes exactly one argument, a gate' % verb)
    if args[0].go_fd is None:
        raise DriverError('%s(): the gate is already closed' % verb)
    return args[0]


def started(*args, **kwargs):
    """started(g): wait (bounded) until a task announces itself on g; the
    handle of the worker running it."""
    g = _need_gate('started', args, kwargs)
    import struct
    deadline = _monotonic() + _timeout(5.0)
    data = b''
    while len(data) < 4:
        left = deadline - _monotonic()
        if left <= 0 or not _retry(select.select, [g.ready_fd], [], [],
                                   left)[0]:
            raise _Raised(_timeout_error('no task started on the gate'))
        data += _retry(os.read, g.ready_fd, 4 - len(data))
    return _Worker(struct.unpack('<I', data)[0])


def _monotonic():
    import time
    return getattr(time, 'monotonic', time.time)()


def _timeout_error(message):
    try:
        cls = TimeoutError
    except NameError:       # Python 2.7
        cls = OSError
    return cls(message)


def kill(*args, **kwargs):
    """kill(w, sig): os.kill(w.pid, sig), as an outside actor."""
    if len(args) != 2 or kwargs or not isinstance(args[0], _Worker):
        raise DriverError('kill() takes a worker handle and a signal')
    try:
        os.kill(args[0].pid, args[1])
    except OSError as e:
        raise _Raised(e)


# --- signals (PROTOCOL.md, Signals) ---------------------------------------

def _forkserver_pid():
    fs = sys.modules.get('%s.forkserver' % _MODNAME)
    pid = getattr(getattr(fs, '_forkserver', None), '_forkserver_pid', None)
    if isinstance(pid, _integer_types):
        return pid
    # 3.6 and billiard keep no pid: the server by its command line
    pids = _helper_pids('forkserver')
    return pids[0] if len(pids) == 1 else None


def send_signal(*args, **kwargs):
    """send_signal(target, sig): os.kill() of a started process bound to a
    variable, of the fork server ('forkserver') or of the scenario process
    itself (current_process()), as an outside actor."""
    if len(args) != 2 or kwargs or not isinstance(args[1], _integer_types):
        raise DriverError("send_signal() takes a process, 'forkserver' or "
                          "current_process(), and a signal number")
    target, sig = args
    if isinstance(target, _string_types) and target == 'forkserver':
        pid = _forkserver_pid()
        if pid is None:
            raise _Raised(ValueError('send_signal(): no fork server is '
                                     'running'))
    elif target is _impl_module().current_process():
        pid = os.getpid()
    else:
        rec = _SCN.record_of(target)
        if rec is None:
            raise DriverError("send_signal(): the target is not a process "
                              "bound to a scenario variable, 'forkserver' "
                              "or current_process()")
        rec.note_pid()
        if rec.pid is None:
            raise _Raised(ValueError('send_signal(): the process has not '
                                     'been started'))
        pid = rec.pid
    try:
        os.kill(pid, sig)
    except OSError as e:
        raise _Raised(e)
    if sig == signal.SIGKILL and pid == _forkserver_pid():
        _server_dead(pid)


def _server_dead(pid):
    # The fork server is a child of the scenario process: once it is a
    # zombie (or gone) the next start() meets a dead server, not a dying one.
    import time
    deadline = _monotonic() + _timeout(5)
    while _monotonic() < deadline:
        try:
            with open('/proc/%d/stat' % pid) as f:
                stat = f.read()
        except (IOError, OSError):
            return
        if stat[stat.rindex(')') + 2:][:1] in ('Z', 'X'):
            return
        time.sleep(0.002)
    raise DriverError('send_signal(): the fork server outlived SIGKILL')


def ready(*args, **kwargs):
    """ready(p): wait until p's stdout capture holds something; ready(p, n):
    until it holds n lines; within 5 s (times PROCSPEC_TIMEOUT_MULTIPLIER)."""
    import time
    want = 0
    if len(args) == 2 and not kwargs:
        want = args[1]
        if (not isinstance(want, _integer_types) or isinstance(want, bool)
                or want < 1):
            raise DriverError('ready(): the number of lines is an integer '
                              'from 1')
        args = args[:1]
    rec = _need_record('ready', args, kwargs)
    deadline = _monotonic() + _timeout(5)
    while True:
        if want == 0:
            if os.fstat(rec.out_fd).st_size > 0:
                return
        elif _read_capture(rec.out_fd).count('\n') >= want:
            return
        if _monotonic() >= deadline:
            raise _Raised(_timeout_error(
                'fewer lines than asked for from the process' if want
                else 'no output from the process'))
        time.sleep(0.002)


class _SubclassMeta(type):
    """The metaclass of the classes subclass() makes. A class made at run
    time is in no module a spawned child could import it from, so it
    pickles by value (copyreg, registered below): its name, its run() and
    its base, from which the child makes the same class again."""


def _make_subclass(name, run=None, args=(), base=None):
    """class NAME(base) whose run() is run(*args), or which keeps base's
    run() (the target) when run is None; its module is __main__, where a
    program's own subclass would be."""
    ns = {'__module__': '__main__',
          '_procspec_spec': (name, run, tuple(args), base)}
    if run is not None:
        body = run

        def run(self):                  # co_name 'run', as argument errors
            return body(*args)          # say before 3.10 (qualname after)
        if not _PY2:
            run.__qualname__ = _native_str(name) + '.run'
        ns['run'] = run
    return _SubclassMeta(_native_str(name), (base,), ns)


def _reduce_subclass(cls):
    return _make_subclass, cls._procspec_spec


try:
    import copyreg as _copyreg
except ImportError:                     # Python 2
    import copy_reg as _copyreg         # noqa: F401
_copyreg.pickle(_SubclassMeta, _reduce_subclass)


def subclass(*args, **kwargs):
    """subclass(name, run=child.X, args=(...)): a Process subclass named
    name whose run() calls the behaviour with args instead of the target;
    subclass(name): one that only renames the class."""
    if (len(args) != 1 or not isinstance(args[0], _string_types) or
            set(kwargs) - set(['run', 'args'])):
        raise DriverError('subclass() takes a class name, and run= and args=')
    run = kwargs.get('run')
    if run is not None and run not in _BEHAVIOURS.values():
        raise DriverError('subclass(): run= is a child behaviour')
    return _make_subclass(args[0], run, tuple(kwargs.get('args', ())),
                          _MOD.Process)


class _CallableMeta(type):
    """The metaclass of the classes callable_object() makes: pickled by
    value, as _SubclassMeta's are."""


def _make_callable_class(name, call):
    """class NAME: def __call__(self, *a, **kw): return call(*a, **kw)"""
    def __call__(self, *args, **kwargs):
        return call(*args, **kwargs)
    ns = {'__module__': '__main__', '__call__': __call__,
          '_procspec_spec': (name, call)}
    return _CallableMeta(_native_str(name), (object,), ns)


def _reduce_callable_class(cls):
    return _make_callable_class, cls._procspec_spec


_copyreg.pickle(_CallableMeta, _reduce_callable_class)


def callable_object(*args, **kwargs):
    """callable_object(name, call=child.X): an instance of a class named
    name whose __call__ calls the behaviour with the call's arguments, to
    be a process's target."""
    if (len(args) != 1 or not isinstance(args[0], _string_types) or
            set(kwargs) != set(['call'])):
        raise DriverError('callable_object() takes a class name and call=')
    if kwargs['call'] not in _BEHAVIOURS.values():
        raise DriverError('callable_object(): call= is a child behaviour')
    return _make_callable_class(args[0], kwargs['call'])()


def executable(*args, **kwargs):
    """executable(): the interpreter spawn starts children with, before
    any set_executable(): sys.executable."""
    if args or kwargs:
        raise DriverError('executable() takes no arguments')
    return sys.executable


def unpicklable(*args, **kwargs):
    """unpicklable(): an object pickle refuses (a lock)."""
    if args or kwargs:
        raise DriverError('unpicklable() takes no arguments')
    import threading
    return threading.Lock()


def cause(*args, **kwargs):
    """cause(x): 'TYPE: str(cause)' of x's __cause__ (x an exception, or
    a future and its exception()), 'None' when there is none."""
    if len(args) != 1 or kwargs:
        raise DriverError('cause() takes exactly one argument')
    x = args[0]
    if isinstance(x, BaseException):
        exc = x
    elif _CF is not None and isinstance(x, _future_class()):
        try:
            exc = x.exception()
        except BaseException as e:
            raise _Raised(e)
    else:
        raise DriverError('cause(): the argument is neither an exception '
                          'nor a future')
    c = getattr(exc, '__cause__', None)
    if c is None:
        return _Text('None')
    return _Text('%s: %s' % (type(c).__name__, _exception_fields(c)['message']))


def settles(*args, **kwargs):
    """settles(ex): does what exit waits for on ex end within the bound?

    A thread runs ex.shutdown(wait=True), then waits for every manager
    thread and worker seen on ex (shutdown() forgets them once it has been
    called with wait=False). False: the scenario process forgets ex at end.
    """
    rec = _need_exec('settles', args, kwargs)
    rec.note()
    import threading
    done = []

    def wait_all():
        if _FIU_THREADS:
            _FIU.psfiu_exempt(1)    # the driver's thread: no fault applies
        try:
            rec.obj.shutdown(wait=True)
        except BaseException:
            pass
        for t in list(rec.threads):
            t.join()
        for proc in list(rec.procs.values()):
            _wait_exit(proc)
        done.append(True)

    waiter = threading.Thread(target=wait_all, name='procspec-settles')
    waiter.daemon = True
    waiter.start()
    waiter.join(_timeout(3.0))
    if done:
        return True
    rec.forgotten = True
    return False


def _wait_exit(proc):
    """Wait until a worker has exited without reaping it (the manager
    thread reaps its workers; a second waitpid would race it)."""
    popen = getattr(proc, '_popen', None)
    if popen is None or getattr(popen, 'returncode', None) is not None:
        return
    try:
        fd = proc.sentinel
    except Exception:
        return
    try:
        _retry(select.select, [fd], [], [])
    except (OSError, ValueError, select.error):
        pass


def _need_exec(verb, args, kwargs):
    if len(args) != 1 or kwargs:
        raise DriverError('%s() takes exactly one argument, an executor'
                          % verb)
    rec = _SCN.exec_record_of(args[0])
    if rec is None:
        raise DriverError('%s(): the argument is not an executor bound to '
                          'a scenario variable' % verb)
    return rec


def _exec_exit_hook():
    """concurrent.futures.process._python_exit(), for the executors not
    forgotten by settles(): 3.9+ register it with threading._register_atexit,
    3.6-3.8 with atexit; either way it runs before multiprocessing's
    _exit_function."""
    if _CF is None or not _SCN.exec_records:
        return
    forgotten = [r for r in _SCN.exec_records.values() if r.forgotten]
    for rec in forgotten:
        for table in ('_threads_wakeups', '_threads_queues'):
            d = getattr(_CF, table, None)
            for t in rec.threads:
                try:
                    del d[t]
                except (KeyError, TypeError):
                    pass
        for pid in rec.procs:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
    try:
        _executor_exit_hook()()
    except BaseException:
        _log('executor exit hook raised:\n%s' % traceback.format_exc())


_VERBS = {
    'cause': cause,
    'children_left': children_left,
    'executable': executable,
    'fault': fault,
    'faults_clear': faults_clear,
    'fds_leaked': fds_leaked,
    'gate': gate,
    'kill': kill,
    'pickles': pickles,
    'ready': ready,
    'release': release,
    'send_signal': send_signal,
    'settles': settles,
    'started': started,
    'stderr': stderr,
    'stdout': stdout,
    'subclass': subclass,
    'callable_object': callable_object,
    'warnings_seen': warnings_seen,
    'unpicklable': unpicklable,
}


# --- evaluation of statements (PROTOCOL.md, Statements) -------------------

def _short(node):
    try:
        text = json.dumps(node)
    except Exception:
        text = repr(node)
    return text if len(text) <= 200 else text[:200] + '...'


def _native_str(s):
    # A '...' literal is a byte string on Python 2.
    if _PY2 and isinstance(s, _text_type):
        return s.encode('utf-8')
    return s


def _need_string(body, what):
    if not isinstance(body, _string_types):
        raise DriverError('malformed %s: %s' % (what, _short(body)))
    return body


def _need_list(body, what):
    if not isinstance(body, list):
        raise DriverError('malformed %s: %s' % (what, _short(body)))
    return body


def _field(body, key, what):
    if not isinstance(body, dict) or key not in body:
        raise DriverError('malformed %s: no %s in %s' % (what, _q(key),
                                                           _short(body)))
    return body[key]


def _ev_none(body):
    return None


def _ev_bool(body):
    if not isinstance(body, bool):
        raise DriverError('malformed bool: %s' % _short(body))
    return body


def _ev_int(body):
    if isinstance(body, bool) or not isinstance(body, _string_types +
                                                _integer_types):
        raise DriverError('malformed int: %s' % _short(body))
    try:
        return int(body)
    except ValueError as e:
        raise DriverError('malformed int %s: %s' % (_short(body), e))


def _ev_float(body):
    _need_string(body, 'float')
    try:
        return float(body)
    except ValueError as e:
        raise DriverError('malformed float %s: %s' % (_short(body), e))


def _ev_str(body):
    return _native_str(_need_string(body, 'str'))


def _ev_bytes(body):
    _need_string(body, 'bytes')
    try:
        return binascii.unhexlify(body.encode('ascii'))
    except (TypeError, ValueError, UnicodeError) as e:
        raise DriverError('malformed bytes %s: %s' % (_short(body), e))


def _ev_tuple(body):
    return tuple(_eval(x) for x in _need_list(body, 'tuple'))


def _ev_list(body):
    return [_eval(x) for x in _need_list(body, 'list')]


def _ev_dict(body):
    result = {}
    for pair in _need_list(body, 'dict'):
        if not isinstance(pair, list) or len(pair) != 2:
            raise DriverError('malformed dict item: %s' % _short(pair))
        key = _eval(pair[0])
        value = _eval(pair[1])
        try:
            result[key] = value
        except Exception as e:          # unhashable key, as Python says
            raise _Raised(e)
    return result


def _ev_var(body):
    name = _need_string(body, 'var')
    if name not in _SCN.vars:
        # The harness's parser rejects names that are never bound, so this is
        # a variable whose assignment raised: Python says NameError.
        raise _Raised(NameError("name '%s' is not defined" % _clean(name)))
    return _SCN.vars[name]


# The globals that are no harness verb (harness/vocab.def, GLOBAL): the
# module's own, the modules only read as NAME.ATTR, and the executor's.
_MODULE_GLOBALS = ('Process', 'active_children', 'current_process',
                   'parent_process')
_ATTR_GLOBALS = {'errno': errno, 'signal': signal}
_EXECUTOR_GLOBALS = ('ProcessPoolExecutor', 'get_context', 'list', 'next')

# --- the forms of CPython's own test assertions (vocab.def, issue 16) -------
# The module's functions, Python's builtins, and the modules only ever
# called as NAME.FUNC(...): gc.collect() and connection.wait(...).
_MODULE_FUNCS = ('Pipe', 'cpu_count', 'get_all_start_methods',
                 'get_start_method', 'set_executable', 'set_start_method')
_BUILTINS = {'bytes': bytes, 'int': int, 'isinstance': isinstance,
             'len': len, 'str': str, 'type': type}


class _Gc(object):
    """gc, as a scenario calls it: collect() returns None, since how many
    objects it found is no behaviour of the implementation."""

    @staticmethod
    def collect():
        gc.collect()


class _Connection(object):
    """connection, as a scenario calls it: the module's wait()."""

    @staticmethod
    def wait(object_list, timeout=None):
        try:
            wait = importlib.import_module(_MODNAME + '.connection').wait
        except (ImportError, AttributeError) as e:
            raise _Raised(e)
        return wait(object_list, timeout)


class _Weakref(object):
    """weakref, as a scenario calls it: ref(x)."""

    @staticmethod
    def ref(obj):
        try:
            return weakref.ref(obj)
        except TypeError as e:
            raise _Raised(e)


_CALLS_GLOBALS = {'connection': _Connection, 'gc': _Gc, 'weakref': _Weakref}


def _init_sets(attr):
    """Whether the process class's __init__ sets attr (a private attribute
    of CPython's process.py): asked of the code, since making a Process
    here would move the counter that names the scenarios' processes."""
    init = getattr(_BASE_PROCESS, '__init__', None)
    code = getattr(init, '__code__', None) or getattr(
        getattr(init, '__func__', None), '__code__', None)
    return code is not None and attr in code.co_names


def _has_connection_wait():
    try:
        return hasattr(importlib.import_module(_MODNAME + '.connection'), 'wait')
    except ImportError:
        return False


_COMPARE = {
    '==': lambda a, b: a == b,
    '!=': lambda a, b: a != b,
    '<': lambda a, b: a < b,
    '<=': lambda a, b: a <= b,
    '>': lambda a, b: a > b,
    '>=': lambda a, b: a >= b,
    'in': lambda a, b: a in b,
    'not in': lambda a, b: a not in b,
}


def _ev_compare(body):
    op = _need_string(_field(body, 'op', 'compare'), 'compare op')
    if op not in _COMPARE and op not in ('is', 'is not'):
        raise DriverError('unknown comparison %s' % _q(op))
    left = _eval(_field(body, 'left', 'compare'))
    right = _eval(_field(body, 'right', 'compare'))
    if op == 'is':
        return left is right
    if op == 'is not':
        return left is not right
    try:
        return _COMPARE[op](left, right)
    except BaseException as e:
        raise _Raised(e)


def _ev_not(body):
    value = _eval(body)
    try:
        return not value
    except BaseException as e:
        raise _Raised(e)


def _ev_global(body):
    name = _need_string(body, 'global')
    if name == 'Process':
        return _MOD.Process
    if name in _MODULE_GLOBALS:
        try:
            return getattr(_MOD, name)
        except AttributeError as e:     # parent_process before 3.8
            raise _Raised(e)
    if name in _MODULE_FUNCS:
        try:
            return getattr(_MOD, name)
        except AttributeError as e:     # get_start_method before 3.4
            raise _Raised(e)
    if name in _BUILTINS:
        return _BUILTINS[name]
    if name in _CALLS_GLOBALS:
        return _CALLS_GLOBALS[name]
    if name in _VERBS:
        return _VERBS[name]
    if name in _ATTR_GLOBALS:
        return _ATTR_GLOBALS[name]
    if name == 'ProcessPoolExecutor':
        if _CF is None:
            raise DriverError('%s has no ProcessPoolExecutor' % _MODNAME)
        return _executor_global()
    if name == 'get_context':
        try:
            return _MOD.get_context
        except AttributeError as e:
            raise _Raised(e)
    if name == 'list':
        return list
    if name == 'next':
        return next
    raise DriverError('unknown global %s' % _q(name))


def _ev_task(body):
    name = _need_string(body, 'task')
    if name not in _TASKS:
        raise DriverError('unknown task behaviour task.%s' % name)
    return _TASKS[name]


def _ev_behaviour(body):
    name = _need_string(body, 'behaviour')
    if name not in _BEHAVIOURS:
        raise DriverError('unknown behaviour child.%s' % name)
    return _BEHAVIOURS[name]


def _ev_getattr(body):
    obj = _eval(_field(body, 'object', 'getattr'))
    attr = _native_str(_need_string(_field(body, 'attr', 'getattr'),
                                    'getattr attr'))
    _faults_active(1)       # a property may call in: exitcode polls
    try:
        return getattr(obj, attr)
    except BaseException as e:
        raise _Raised(e)
    finally:
        _faults_active(0)


def _ev_call(body):
    func = _eval(_field(body, 'func', 'call'))
    args = [_eval(x) for x in _need_list(_field(body, 'args', 'call'),
                                          'call args')]
    kwargs = {}
    for item in _need_list(_field(body, 'kwargs', 'call'), 'call kwargs'):
        if (not isinstance(item, list) or len(item) != 2 or
                not isinstance(item[0], _string_types)):
            raise DriverError('malformed keyword argument: %s' % _short(item))
        name = _native_str(item[0])
        if name in kwargs:
            raise DriverError('keyword argument repeated: %s' % name)
        kwargs[name] = _eval(item[1])
    return _call(func, args, kwargs)


_EVALUATORS = {
    'behaviour': _ev_behaviour,
    'bool': _ev_bool,
    'bytes': _ev_bytes,
    'call': _ev_call,
    'compare': _ev_compare,
    'dict': _ev_dict,
    'float': _ev_float,
    'getattr': _ev_getattr,
    'global': _ev_global,
    'int': _ev_int,
    'list': _ev_list,
    'none': _ev_none,
    'not': _ev_not,
    'str': _ev_str,
    'task': _ev_task,
    'tuple': _ev_tuple,
    'var': _ev_var,
}


def _eval(node):
    if not isinstance(node, dict) or len(node) != 1:
        raise DriverError('malformed expression: %s' % _short(node))
    kind, body = list(node.items())[0]
    fn = _EVALUATORS.get(kind)
    if fn is None:
        raise DriverError('unknown expression kind %s' % _q(kind))
    return fn(body)


def _invoke(func, args, kwargs):
    # the verbs are the driver's own work: faults do not apply to them
    live = not any(func is v for v in _VERBS.values())
    pid = os.getpid()
    if live:
        _faults_active(1)
    try:
        try:
            value = func(*args, **kwargs)
        except BaseException as e:
            if os.getpid() != pid:
                _escaped_into_main(e)
            raise
        if os.getpid() != pid:
            _escaped_into_main(None)
        return value
    except (DriverError, _Raised):
        raise
    except BaseException as e:
        raise _Raised(e)
    finally:
        if live:
            _faults_active(0)


def _escaped_into_main(exc):
    """A child came back out of the call that forked it (start() under
    fork, when os._exit() raises) into this copy of the scenario's main
    program: it has no protocol to speak, so it is recorded and stops."""
    _note_escape('main', exc)
    os._exit(SCENARIO_FAILED)


def _set_stdio(out_fd, err_fd, what):
    try:
        os.dup2(out_fd, 1)
        os.dup2(err_fd, 2)
    except OSError as e:
        raise DriverError('cannot point fds 1 and 2 %s: %s' % (what, e))


def _call(func, args, kwargs):
    rec = None
    if getattr(func, '__name__', None) == 'start':
        rec = _SCN.record_of(getattr(func, '__self__', None))
    if rec is None:
        # A call on an executor: the workers it starts inherit fds 1 and 2
        # (PROTOCOL.md, Executors).
        rec = _SCN.exec_record_of(getattr(func, '__self__', None))
    if rec is None:
        return _invoke(func, args, kwargs)
    # p.start(): the child inherits fds 1 and 2, so point them at p's
    # capture files for the duration of the call (PROTOCOL.md, Output
    # streams), flushing so that nothing buffered lands in the wrong file.
    _flush_std()
    try:
        _set_stdio(rec.out_fd, rec.err_fd, "at the capture files")
    except DriverError:
        try:
            _set_stdio(_SAVED_OUT, _SAVED_ERR, "back")
        except DriverError:
            pass
        raise
    try:
        return _invoke(func, args, kwargs)
    finally:
        _flush_std()
        if isinstance(rec, _ExecRecord):
            rec.note()
        else:
            rec.note_pid()
        _set_stdio(_SAVED_OUT, _SAVED_ERR, "back after the call")


def _exec_stmt(stmt):
    if not isinstance(stmt, dict) or len(stmt) != 1:
        raise DriverError('malformed statement: %s' % _short(stmt))
    kind, body = list(stmt.items())[0]
    if kind == 'expr':
        return _eval(body)
    if kind == 'assign':
        target = _field(body, 'target', 'assign')
        if isinstance(target, list):    # a, b = Pipe(): Python's unpacking
            names = [_need_string(t, 'assign target') for t in target]
            if len(names) != 2:
                raise DriverError('an unpacking assigns two names, not %d'
                                  % len(names))
            value = _eval(_field(body, 'value', 'assign'))
            try:
                first, second = value
            except BaseException as e:
                raise _Raised(e)
            _SCN.vars[names[0]] = first
            _SCN.vars[names[1]] = second
            return None
        target = _need_string(target, 'assign target')
        value = _eval(_field(body, 'value', 'assign'))
        if _SCN.is_new_process(value):
            _SCN.register(value)
        elif _SCN.is_new_executor(value):
            _SCN.register_executor(value)
        _SCN.vars[target] = value
        return None
    if kind == 'setattr':
        # Python evaluates the right-hand side before the target's object.
        value = _eval(_field(body, 'value', 'setattr'))
        obj = _eval(_field(body, 'object', 'setattr'))
        attr = _native_str(_need_string(_field(body, 'attr', 'setattr'),
                                        'setattr attr'))
        _invoke(setattr, (obj, attr, value), {})
        return None
    raise DriverError('unknown statement kind %s' % _q(kind))


def _exception_fields(exc):
    try:
        message = _text_type(exc)
    except BaseException:
        try:
            message = str(exc)
        except BaseException:
            message = '<unprintable %s>' % type(exc).__name__
    return {'type': _clean(type(exc).__name__), 'message': _clean(message)}


def _do_step(req):
    res = {'op': 'result', 'id': req.get('id')}
    if _SCN.stopped:
        # PROTOCOL.md, begin: the steps pipelined behind a failed one are
        # answered, never run (one may join() a child it should have released)
        res['error'] = 'not carried out: an earlier step could not be'
        res['pids'] = _SCN.pids()
        return res
    try:
        value = _exec_stmt(req.get('stmt'))
        if value is None:
            res['value'] = None
        elif isinstance(value, _Text):
            res['value'] = {'text': _clean(value)}
        else:
            _faults_active(1)       # repr() polls, as exitcode does
            try:
                text = repr(value)
            except BaseException as e:
                raise _Raised(e)
            finally:
                _faults_active(0)
            res['value'] = {'repr': _clean(text)}
    except _Raised as r:
        res['raised'] = _exception_fields(r.exc)
    except DriverError as e:
        res['error'] = _clean(str(e))
    except Exception as e:
        _log('driver bug in step %r:\n%s' % (req.get('id'),
                                             traceback.format_exc()))
        res['error'] = _clean('driver bug: %s: %s' % (type(e).__name__, e))
    if _PY2:
        sys.exc_clear()     # the traceback keeps frames (and objects) alive
    try:
        res['pids'] = _SCN.pids()
    except Exception:
        res['pids'] = {}
    if len(_encode(res)) > MAX_LINE:
        res = {'op': 'result', 'id': req.get('id'), 'pids': res['pids'],
               'error': 'the result does not fit in a 1 MiB line'}
    if 'error' in res and _SCN.stop_on_error:
        _SCN.stopped = True
    return res


# --- end of a scenario -----------------------------------------------------

def _helpers():
    """(module, sub, attr, fd_attr, pid_attr) of each helper server: the
    process module's forkserver and resource (3.6: semaphore) tracker, and
    a peer's own (loky's resource tracker, backend/resource_tracker.py)."""
    name = getattr(_MOD, '__name__', _MODNAME)
    helpers = [('%s.forkserver' % name, 'forkserver', '_forkserver',
                '_forkserver_alive_fd', '_forkserver_pid'),
               ('%s.resource_tracker' % name, 'resource_tracker',
                '_resource_tracker', '_fd', '_pid'),
               ('%s.semaphore_tracker' % name, 'semaphore_tracker',
                '_semaphore_tracker', '_fd', '_pid')]
    if _PEER is not None:
        helpers.extend(_PEER.helpers)
    return helpers


def _helper_pids(module):
    """Children running `-c 'from MODULE import main; ...'`: a helper."""
    marker = ('from %s import main' % module).encode('ascii')
    pids = []
    for pid in _child_pids(os.getpid()):
        try:
            with open('/proc/%d/cmdline' % pid, 'rb') as f:
                if marker in f.read():
                    pids.append(pid)
        except (OSError, IOError):
            pass
    return pids


def _stop_helper(module, obj, fd_attr, pid_attr):
    """Stop a helper server (resource tracker, forkserver) as exit would.

    They stop when their "alive" fd closes, which at interpreter exit
    happens by itself; `_stop` is how CPython's tests do it early. Where
    there is no `_stop` (3.6, billiard) the fd is closed here, and the
    helper is waited for, found by its command line if its pid is not kept.
    """
    if obj is None:
        return
    stop = getattr(obj, '_stop', None)
    if stop is not None:
        stop()
        return
    fd = getattr(obj, fd_attr, None)
    if fd is None:
        return
    pids = [getattr(obj, pid_attr, None)]
    if pids[0] is None:
        pids = _helper_pids(module)
    _close(fd)
    setattr(obj, fd_attr, None)
    for pid in pids:
        try:
            _retry(os.waitpid, pid, 0)
        except OSError:
            pass
    if hasattr(obj, pid_attr):
        setattr(obj, pid_attr, None)


def _stop_helpers():
    for name, sub, attr, fd_attr, pid_attr in _helpers():
        module = sys.modules.get(name)
        try:
            _stop_helper(name, getattr(module, attr, None), fd_attr, pid_attr)
        except OSError as e:
            # forkserver: _exit_function already removed the temp dir that
            # held the listener socket; the server was stopped before that.
            if e.errno != errno.ENOENT:
                _log('stopping %s: %s' % (sub, traceback.format_exc()))
        except Exception:
            _log('stopping %s: %s' % (sub, traceback.format_exc()))


def _sweep_children():
    """Kill and reap what is left; the count of distinct children found."""
    found = set()
    try:
        found = _child_pids(os.getpid())
    except Exception:
        _log('listing children: %s' % traceback.format_exc())
    for pid in found:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    for pid in found:
        try:
            _retry(os.waitpid, pid, 0)
        except OSError:
            pass
    while True:
        try:
            pid, _ = _retry(os.waitpid, -1, os.WNOHANG)
        except OSError:
            break                       # ECHILD: none left
        if pid == 0:
            break
        found.add(pid)
    return len(found)


def _exit_path():
    """util._exit_function(), as atexit runs it at the end of a main program.

    util._run_finalizers() ends by clearing the whole finalizer registry,
    and a Finalize that is no longer registered does nothing when its object
    dies: the weakref finalizers (exitpriority None) of objects still alive,
    among them the Popen ones that close the sentinel pipes
    (popen_fork.Popen._launch), would never run. Those that have not run yet
    are put back, so that dropping the variables afterwards closes the fds
    as it would have before exit; only what nothing would ever close is
    counted as leaked.
    """
    registry = getattr(_UTIL, '_finalizer_registry', None)
    pending = []
    if isinstance(registry, dict):
        pending = [(key, f) for key, f in list(registry.items())
                   if key[0] is None]
    try:
        _UTIL._exit_function()
    except BaseException:
        _log('exit function raised:\n%s' % traceback.format_exc())
    if isinstance(registry, dict):
        for key, f in pending:
            if getattr(f, '_key', None) is not None and key not in registry:
                registry[key] = f


def _end(send_reply):
    """PROTOCOL.md, end: release, exit path, drop, count, reply, exit."""
    scn = _SCN
    counts = None
    if _FIU is not None:
        # faults apply to the steps, not to the exit path
        _FIU.psfiu_active(0)
        _FIU.psfiu_clear()
        if scn.count_faults:
            counts = _fault_counts()
    records = list(scn.records.values())
    for rec in records:
        _close(rec.gate_w)
        rec.gate_w = None
    # Executor gates: with go's only writer closed, every task blocked on
    # it reads EOF, and one that starts later finds no writer at all.
    for g in scn.gates:
        _close(g.go_fd)
        _close(g.ready_fd)
        g.go_fd = g.ready_fd = None
    _exec_exit_hook()
    _exit_path()
    _stop_helpers()
    scn.vars.clear()
    scn.records.clear()
    for rec in records:
        rec.obj = None
    for rec in scn.exec_records.values():
        rec.obj = None
        rec.threads = []
        rec.procs = {}
    scn.exec_records.clear()
    del scn.gates[:]
    if scn.gate_dir is not None:
        import shutil
        shutil.rmtree(scn.gate_dir, ignore_errors=True)
    del records[:]
    if _PY2:
        sys.exc_clear()
    # The Popen finalizers (util.Finalize in popen_fork._launch) close the
    # sentinel pipes when the objects are collected.
    gc.collect()
    for fd in _SCN_FDS:
        _close(fd)
    del _SCN_FDS[:]
    children = _sweep_children()
    leaked = len(_open_fds() - scn.begin_fds)
    escaped = _escaped_records(scn.escapes_path)
    _flush_std()
    if send_reply:
        try:
            ended = {'op': 'ended', 'fds_leaked': leaked,
                     'children_left': children}
            if escaped:
                ended['escaped'] = escaped
            if counts is not None:
                ended['faults'] = counts
            _send(ended)
        except OSError:
            pass        # the harness is gone; exit all the same
    _shared_set(1, True)
    os._exit(0)


def _set_pdeathsig():
    # If the zygote dies (the harness killed it), the scenario process dies
    # too; its gate write ends close and every blocked child is let go.
    if _LIBC is None:
        return
    try:
        _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except Exception:
        pass


def _scenario_main(req):
    """The scenario process: answers begun, each step and end. No return."""
    global _SCENARIO_PID, _SCN
    _SCENARIO_PID = os.getpid()
    _set_pdeathsig()
    if os.getppid() != _ZYGOTE_PID:
        os._exit(SCENARIO_FAILED)
    method = req.get('method')
    setter = getattr(_MOD, 'set_start_method', None)
    if setter is not None:
        setter(method, force=True)
    cp = _MOD.current_process()
    # A fresh program gets a fresh random authkey (process.py, at import).
    cp.authkey = os.urandom(32)
    _SCN = _Scenario(method)
    _watch_warnings()
    _SCN.stop_on_error = req.get('stop_on_error') is True
    _SCN.escapes_path = os.path.join(_TMPDIR, 'procspec-%d.escaped'
                                     % os.getpid())
    os.environ[ESCAPES_ENV] = _SCN.escapes_path
    if _FIU is not None:
        _SCN.count_faults = bool(req.get('count_faults'))
        if _FIU.psfiu_begin() != 0:
            _log('cannot start the fault library')
            os._exit(SCENARIO_FAILED)
        if _SCN.count_faults:
            _FIU.psfiu_count_all()
    _SCN.begin_fds = _open_fds()
    _send({'op': 'begun', 'main_pid': os.getpid(),
           'authkey': _clean(repr(cp.authkey))})
    _shared_set(0, False)
    while True:
        line = _read_line(_PROTO_IN)
        if line is None:
            # The harness is gone: clean up as end does, with no reply.
            _end(False)
        _shared_set(0, True)
        if not line.strip():
            if line == b'':
                try:
                    _send({'op': 'error', 'message': 'request line too long'})
                except OSError:
                    _end(False)
            _shared_set(0, False)
            continue
        try:
            req = _parse(line)
        except Exception as e:
            req = None
            reply = {'op': 'error', 'message': _clean(
                'malformed request: %s' % e)}
        if req is not None:
            op = req.get('op')
            if op == 'step':
                reply = _do_step(req)
            elif op == 'end':
                _end(True)
            elif op == 'begin':
                reply = {'op': 'error',
                         'message': 'a scenario is already in progress'}
            else:
                reply = {'op': 'error', 'message': _clean(
                    'unknown op %s' % _q(op))}
        try:
            _send(reply)
        except OSError:
            _end(False)
        _shared_set(0, False)


# --- the zygote ------------------------------------------------------------

def _zygote_begin(req):
    """Run one scenario; returns what to do with the requests after it:
    'idle' (ended was sent), 'gone' (answer step/end with an error) or
    'swallow' (the exited just sent answers the next step/end)."""
    method = req.get('method')
    if method not in _METHODS:
        _send({'op': 'error', 'message': _clean(
            'start method %s is not supported by %s (it has %s)' % (
                _q(method), _MODNAME, ', '.join(_METHODS)))})
        return 'idle'
    _shared_set(0, True)        # begin is being answered
    _shared_set(1, False)
    _flush_std()
    try:
        pid = os.fork()
    except OSError as e:
        _send({'op': 'error', 'message': _clean('fork: %s' % e)})
        return 'idle'
    if pid == 0:
        try:
            _scenario_main(req)
        except BaseException:
            _log('scenario process failed:\n%s' % traceback.format_exc())
        finally:
            _flush_std()
            os._exit(SCENARIO_FAILED)
    _, status = _retry(os.waitpid, pid, 0)
    if os.WIFSIGNALED(status):
        _send({'op': 'exited', 'signal': os.WTERMSIG(status)})
    else:
        _send({'op': 'exited', 'code': os.WEXITSTATUS(status)})
    if _shared_get(1):
        return 'idle'
    if _shared_get(0):
        return 'gone'       # exited stood in for the reply that was due
    return 'swallow'        # died between requests: exited was sent unasked


def _zygote_loop():
    state = 'idle'
    # Everything imported so far lives for good: keep the scenario
    # processes' collections off it, so they do not copy its pages (3.7+).
    if hasattr(gc, 'freeze'):
        gc.collect()
        gc.freeze()
    while True:
        line = _read_line(_PROTO_IN)
        if line is None:
            return 0
        if not line.strip():
            if line == b'':
                _send({'op': 'error', 'message': 'request line too long'})
            continue
        try:
            req = _parse(line)
        except Exception as e:
            _send({'op': 'error', 'message': _clean(
                'malformed request: %s' % e)})
            continue
        op = req.get('op')
        if op == 'begin':
            state = _zygote_begin(req)
        elif op in ('step', 'end'):
            if state == 'swallow':
                state = 'gone'
            elif state == 'gone':
                _reply_error(req, 'the scenario process is gone')
            else:
                _reply_error(req, 'no scenario in progress')
        else:
            _reply_error(req, 'unknown op %s' % _q(op))


def _move_protocol_fds():
    """Protocol onto high close-on-exec fds; /dev/null on 0 and 1.

    sys.stdin and sys.stdout keep wrapping fds 0 and 1, and so now read and
    write /dev/null: nothing a program does with them reaches the protocol.
    """
    global _PROTO_IN, _PROTO_OUT, _SAVED_OUT, _SAVED_ERR
    _flush_std()
    _PROTO_IN = _dup_high(0)
    _PROTO_OUT = _dup_high(1)
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(devnull, 1)
    if devnull > 2:
        os.close(devnull)
    _SAVED_OUT = _dup_high(1)
    _SAVED_ERR = _dup_high(2)
    _DRIVER_FDS.extend([_PROTO_IN, _PROTO_OUT, _SAVED_OUT, _SAVED_ERR])


def _implementation():
    name = platform.python_implementation()
    version = platform.python_version()
    pypy = getattr(sys, 'pypy_version_info', None)
    if pypy is not None:
        text = '%s %d.%d.%d (Python %s)' % (name, pypy[0], pypy[1], pypy[2],
                                           version)
    else:
        text = '%s %s' % (name, version)
    # billiard 4.1 and multiprocess 0.70 behave differently from their
    # other releases on the same interpreter: name the one being driven.
    modversion = getattr(_MOD, '__version__', None)
    if _PEER is not None:
        return '%s on %s' % (_PEER.version(), text)
    if _MODNAME != DEFAULT_MODULE and isinstance(modversion, _string_types):
        text = '%s %s on %s' % (_MODNAME, modversion, text)
    return text


def _follows():
    """The CPython version whose semantics this follows (hello.follows):
    the language version (PyPy's too), with -O when asserts are off."""
    return '%d.%d%s' % (sys.version_info[0], sys.version_info[1],
                        '-O' if sys.flags.optimize else '')


def main(argv):
    global _MODNAME, _MOD, _UTIL, _BASE_PROCESS, _METHODS, _ZYGOTE_PID
    global _TMPDIR, _LIBC, _SHARED, _FIU, _CF, _PEER
    args = list(argv[1:])
    check = False
    while args:
        arg = args.pop(0)
        if arg == '--module' and args:
            args.pop(0)
        elif arg.startswith('--module='):
            pass
        elif arg == '--vocabulary' and not args:
            return _vocabulary()
        elif arg == '--check' and not args:
            check = True
        else:
            sys.stderr.write('usage: %s [--module NAME] [--check] | --vocabulary\n'
                             % argv[0])
            return 2
    _MODNAME = _module_name_from_argv(argv)
    _PEER = _PEERS.get(_MODNAME)
    if check:
        return _check_module()
    _move_protocol_fds()
    try:
        modname = _process_module_name(_MODNAME)
        __import__(modname)
        _MOD = sys.modules[modname]
        __import__(modname + '.util')
        _UTIL = sys.modules[modname + '.util']
        __import__(modname + '.process')
        procmod = sys.modules[modname + '.process']
        _BASE_PROCESS = (getattr(procmod, 'BaseProcess', None) or
                         getattr(procmod, 'Process'))
    except Exception:
        _log('cannot use module %r:\n%s' % (_MODNAME, traceback.format_exc()))
        return 1
    if hasattr(_MOD, 'get_all_start_methods'):
        _METHODS = list(_MOD.get_all_start_methods())
    else:
        _METHODS = ['fork']
    if _PEER is not None:
        _METHODS = [m for m in _METHODS if m in _PEER.methods]
    _ZYGOTE_PID = os.getpid()
    import tempfile
    _TMPDIR = tempfile.gettempdir()
    try:
        import ctypes
        _LIBC = ctypes.CDLL(None, use_errno=True)
    except Exception:
        _LIBC = None
    _FIU = _fiu_api(_LIBC)
    _CF = _executor_module()
    if _PEER is not None and _CF is None:
        return 1                        # logged: the peer cannot be loaded
    _SHARED = mmap.mmap(-1, 2)
    _UTIL.register_after_fork(_AFTER_FORK_TOKEN, _after_fork)
    _publish_as_module()
    try:
        _send({'op': 'hello', 'protocol': PROTOCOL, 'driver': DRIVER,
               'implementation': _implementation(), 'follows': _follows(),
               'executable': _clean(sys.executable or ''),
               'module': _MODNAME, 'methods': _METHODS,
               'features': _features(),
               # _read_line takes nothing past a newline, so requests
               # sent ahead wait in the pipe for whoever reads next
               'pipelined': True})
        return _zygote_loop()
    except OSError as e:
        if e.errno == errno.EPIPE:
            return 0        # the harness went away
        raise


# --- executor peers: loky and pebble (docs/PORTING.md, Executor peers) ----
#
# --module loky, loky-reusable or pebble drives an executor that is not
# concurrent.futures': joblib's vendored loky (joblib.externals.loky) and
# pebble.ProcessPool. The scenario process's own multiprocessing machinery
# (start method, exit function, after-fork hook) is the standard module's,
# which both build on, but a peer declares no `Process` feature: Process
# scenarios are unsupported on it. It declares the executor features it has
# (through what the adapter maps) and the start methods it has.

class _Peer(object):

    def __init__(self, name, load, factory, methods, features, version,
                 exit_hook, cls, helpers=()):
        self.name = name
        self.load = load            # () -> its executor module (as _CF)
        self.factory = factory      # the scenario's ProcessPoolExecutor
        self.methods = methods      # procspec's start methods it has
        self.features = features    # the executor features it has
        self.version = version      # () -> 'loky 3.3.0 (joblib 1.2.0)'
        self.exit_hook = exit_hook  # () -> what interpreter exit runs
        self.cls = cls              # () -> the class its executors are
        self.helpers = list(helpers)  # its own helper servers (_helpers)


def _loky():
    from joblib.externals import loky
    return loky


def _loky_load():
    _loky()
    return sys.modules['joblib.externals.loky.process_executor']


def _loky_version():
    import joblib
    return 'loky %s (joblib %s)' % (_loky().__version__, joblib.__version__)


# procspec's start methods as loky's: its own 'loky' context starts each
# worker as a fresh interpreter (backend/fork_exec.py fork_exec, then
# popen_loky_posix), which is what CPython's spawn does (spawnv_passfds);
# 'fork' and 'forkserver' are multiprocessing's contexts, which loky takes.
_LOKY_METHODS = {'fork': 'fork', 'spawn': 'loky', 'forkserver': 'forkserver'}


def _loky_prepare(kwargs):
    """The scenario's start method as loky's default, and CPython's
    mp_context= as loky's context= (the same object under another name)."""
    from joblib.externals.loky.backend import context
    context.set_start_method(_LOKY_METHODS[_SCN.method], force=True)
    if 'mp_context' in kwargs:
        kwargs['context'] = kwargs.pop('mp_context')
    return kwargs


def _loky_executor(*args, **kwargs):
    """ProcessPoolExecutor(...) is loky.ProcessPoolExecutor(...)."""
    return _loky().ProcessPoolExecutor(*args, **_loky_prepare(kwargs))


def _loky_reusable_executor(*args, **kwargs):
    """ProcessPoolExecutor(...) is loky.get_reusable_executor(...)."""
    return _loky().get_reusable_executor(*args, **_loky_prepare(kwargs))


def _pebble_load():
    import pebble.pool.process  # noqa: F401 (sys.modules below)
    return sys.modules['pebble.pool.process']


def _pebble_version():
    import pebble
    return 'pebble %s' % pebble.__version__


class _PebbleExecutor(object):
    """concurrent.futures' ProcessPoolExecutor API on pebble.ProcessPool:
    each method makes the pebble call a user would write for it
    (docs/PORTING.md, Executor peers, has the table)."""

    def __init__(self, max_workers=None, mp_context=None, initializer=None,
                 initargs=(), max_tasks_per_child=None):
        import pebble
        kwargs = {'initializer': initializer, 'initargs': initargs,
                  'context': mp_context}
        if max_workers is not None:
            kwargs['max_workers'] = max_workers
        if max_tasks_per_child is not None:
            kwargs['max_tasks'] = max_tasks_per_child
        self._pool = pebble.ProcessPool(**kwargs)

    def __repr__(self):
        return repr(self._pool)

    def submit(self, *args, **kwargs):
        # submit(fn, *args, **kwargs): schedule(fn, args=args, kwargs=kwargs)
        return self._pool.schedule(*args[:1], args=tuple(args[1:]),
                                   kwargs=kwargs)

    def map(self, *args, **kwargs):
        # pebble's map returns a future of the iterator
        return self._pool.map(*args, **kwargs).result()

    def shutdown(self, wait=True):
        self._pool.close()
        if wait:
            self._pool.join()

    def __enter__(self):
        return self._pool.__enter__()

    def __exit__(self, *exc):
        return self._pool.__exit__(*exc)

    def _procspec_internals(self):
        pool = self._pool
        threads = [t for t in (pool._task_scheduler_loop,
                               pool._pool_manager_loop,
                               pool._message_manager_loop) if t is not None]
        return threads, dict(pool._pool_manager.worker_manager.workers)


_LOKY_HELPERS = (('joblib.externals.loky.backend.resource_tracker',
                  'resource_tracker', '_resource_tracker', '_fd', '_pid'),)
_LOKY_FEATURES = ('ProcessPoolExecutor', 'Executor.initializer',
                  'Executor.map_timeout', 'Executor.mp_context')
_PEERS = {
    'loky': _Peer('loky', _loky_load, _loky_executor,
                  ('fork', 'spawn', 'forkserver'), _LOKY_FEATURES,
                  _loky_version, lambda: _CF._python_exit,
                  lambda: _CF.ProcessPoolExecutor, _LOKY_HELPERS),
    # get_reusable_executor refuses the fork context (reusable_executor.py)
    'loky-reusable': _Peer('loky-reusable', _loky_load,
                           _loky_reusable_executor, ('spawn', 'forkserver'),
                           _LOKY_FEATURES, _loky_version,
                           lambda: _CF._python_exit,
                           lambda: _CF.ProcessPoolExecutor, _LOKY_HELPERS),
    'pebble': _Peer('pebble', _pebble_load, _PebbleExecutor,
                    ('fork', 'spawn', 'forkserver'),
                    ('ProcessPoolExecutor', 'Executor.initializer',
                     'Executor.max_tasks_per_child', 'Executor.mp_context'),
                    _pebble_version,
                    lambda: _CF.interpreter_shutdown,
                    lambda: _PebbleExecutor),
}


def _process_module_name(name):
    """The module providing processes for --module name."""
    return DEFAULT_MODULE if name in _PEERS else name


def _executor_class():
    return _PEER.cls() if _PEER is not None else _CF.ProcessPoolExecutor


def _executor_global():
    return _PEER.factory if _PEER is not None else _CF.ProcessPoolExecutor


def _executor_exit_hook():
    return _PEER.exit_hook() if _PEER is not None else _CF._python_exit


def _future_class():
    import concurrent.futures
    return concurrent.futures.Future


def _check_module():
    """--check: exit 0 if --module can be driven (procspec matrix's SKIP)."""
    try:
        if _PEER is not None:
            _PEER.load()
        else:
            __import__(_MODNAME)
    except Exception as e:
        sys.stderr.write('cannot use %s: %s\n' % (_MODNAME, e))
        return 1
    return 0


def _executor_module():
    """concurrent.futures.process when the module is the standard
    multiprocessing it is built on; None otherwise (billiard and
    multiprocess have no executor of their own: no executor features)."""
    if _PEER is not None:
        try:
            return _PEER.load()
        except Exception:
            _log('cannot load %s:\n%s' % (_MODNAME, traceback.format_exc()))
            return None
    if _MODNAME != DEFAULT_MODULE:
        return None
    try:
        import concurrent.futures.process
        import concurrent.futures._base     # noqa: F401 (Future, for cause)
        return sys.modules['concurrent.futures.process']
    except Exception:
        return None


def _executor_since(major, minor, name):
    # concurrent.futures.ProcessPoolExecutor and its keywords, by version;
    # a peer's, as the peer says
    def present():
        if _PEER is not None:
            return _CF is not None and name in _PEER.features
        return _CF is not None and sys.version_info[:2] >= (major, minor)
    return present


# The optional features of docs/PROTOCOL.md, each with how to tell that the
# module has it.
_FEATURES = (
    ('Pipe', lambda: hasattr(_MOD, 'Pipe')),
    ('Process', lambda: _PEER is None),     # a peer drives only its executor
    ('Process.close', lambda: hasattr(_BASE_PROCESS, 'close')),        # 3.7
    ('Process.kill', lambda: hasattr(_BASE_PROCESS, 'kill')),          # 3.7
    ('Process.sentinel', lambda: hasattr(_BASE_PROCESS, 'sentinel')),  # 3.3
    ('parent_process', lambda: hasattr(_MOD, 'parent_process')),       # 3.8
    ('faults', lambda: _FIU is not None),
    ('faults.thread', lambda: _FIU is not None and _FIU_THREADS),
    # the forms of CPython's own test assertions (vocab.def, issue 16)
    ('Process._config', lambda: _init_sets('_config')),
    ('Process._popen', lambda: _init_sets('_popen')),
    ('builtin.isinstance', lambda: True),
    ('builtin.len', lambda: True),
    ('builtin.type', lambda: True),
    ('connection.wait', _has_connection_wait),                     # 3.3
    ('gc.collect', lambda: True),
    ('operator.eq', lambda: True),
    ('operator.in', lambda: True),
    ('operator.is', lambda: True),
    ('operator.ne', lambda: True),
    ('operator.not', lambda: True),
    ('operator.order', lambda: True),
    ('start_method', lambda: hasattr(_MOD, 'get_start_method')),   # 3.4
    ('threading.native_id', lambda: sys.version_info[:2] >= (3, 8)),
    ('weakref.ref', lambda: True),
    ('ProcessPoolExecutor', _executor_since(3, 2, 'ProcessPoolExecutor')),
    ('Executor.cancel_futures', _executor_since(3, 9, 'Executor.cancel_futures')),
    ('Executor.initializer', _executor_since(3, 7, 'Executor.initializer')),
    ('Executor.map_timeout', _executor_since(3, 2, 'Executor.map_timeout')),
    ('Executor.max_tasks_per_child',
     _executor_since(3, 11, 'Executor.max_tasks_per_child')),
    ('Executor.mp_context', _executor_since(3, 7, 'Executor.mp_context')),
)


def _features():
    """The optional features of docs/PROTOCOL.md this module has."""
    return [name for name, present in _FEATURES if present() and
            (_PEER is None or name == 'faults' or
             name.split('.')[0] in ('ProcessPoolExecutor', 'Executor',
                                    'builtin', 'operator'))]


def _vocabulary():
    """Every name this driver knows, one 'KIND NAME' a line, as
    `procspec vocabulary` lists harness/vocab.def (tests/vocab.sh)."""
    lines = (['global %s' % n for n in _MODULE_GLOBALS + tuple(_ATTR_GLOBALS) +
              _EXECUTOR_GLOBALS + _MODULE_FUNCS + tuple(_BUILTINS) +
              tuple(_CALLS_GLOBALS)] +
             ['verb %s' % n for n in _VERBS] +
             ['child %s' % n for n in _BEHAVIOURS] +
             ['task %s' % n for n in _TASKS] +
             ['feature %s' % n for n, _ in _FEATURES])
    sys.stdout.write(''.join(line + '\n' for line in sorted(lines)))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))

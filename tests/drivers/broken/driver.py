#!/usr/bin/env python3
"""A deliberately broken protocol driver, for tests/driver-check.sh.

It is tools/pydriver.py over the interpreter's own multiprocessing, declaring
fork only, with exactly one protocol mistake chosen by --mistake NAME (none:
no mistake at all, so that every failure procspec driver-check reports for a
NAME comes from that mistake alone). Each mistake is one a port author could
make; procspec driver-check must fail the check named in MISTAKES.

usage: driver.py --mistake NAME | --list
"""
import importlib.util
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PYDRIVER = os.path.join(HERE, '..', '..', '..', 'tools', 'pydriver.py')

# NAME: (what the driver gets wrong, the driver-check check that says so)
MISTAKES = {
    'none': ('nothing', None),
    'hello-protocol-2': ('its hello says protocol 2', 'hello.protocol'),
    'hello-no-methods': ('its hello lists no start method', 'hello.methods'),
    'no-fd-move': ('it leaves the protocol on fds 0 and 1, so what the '
                   'scenario process writes to stdout lands in the stream',
                   'fds.stdout-stream'),
    'id-mismatch': ('a result carries its step id plus one', 'step.id'),
    'error-as-crash': ('an unknown global kills the scenario process '
                       'instead of an error result', 'error.unknown-global'),
    'missing-pids': ('results never report the pids of bound processes',
                     'pids.bound'),
    'ended-not-integer': ('ended gives fds_leaked as a string',
                          'end.ended'),
    'no-exited': ('it never sends exited', 'end.exited'),
    'eof-hangs': ('it does not exit on EOF', 'session.eof'),
    'unknown-op-silent': ('it ignores a request of an unknown op',
                          'error.unknown-op'),
    'wrong-exitcode-for-sys-exit-str': ("child.exits('msg') exits with 0",
                                        'child.exits-str'),
    'text-as-repr': ('stdout(p) and stderr(p) answer a repr, not text',
                     'child.writes'),
    'begin-undeclared-accepted': ('begin with a method it did not declare '
                                  'starts a scenario that cannot work',
                                  'begin.undeclared-method'),
    'pipelined-buffered': ('it declares "pipelined" but reads requests '
                           'through a buffer of its own, so a scenario '
                           'process takes what it read ahead with it',
                           'session.pipelined'),
}


def load_pydriver():
    spec = importlib.util.spec_from_file_location('pydriver', PYDRIVER)
    mod = importlib.util.module_from_spec(spec)
    sys.modules['pydriver'] = mod
    spec.loader.exec_module(mod)
    return mod


def pervert_send(d, fn):
    """Pass every message the driver sends through fn (None drops it)."""
    orig = d._send

    def send(obj):
        obj = fn(dict(obj))
        if obj is not None:
            orig(obj)
    d._send = send


def main(argv):
    if argv[1:] == ['--list']:
        for name, (what, check) in sorted(MISTAKES.items()):
            print('%-34s %-26s %s' % (name, check or '-', what))
        return 0
    if len(argv) != 3 or argv[1] != '--mistake' or argv[2] not in MISTAKES:
        sys.stderr.write('usage: %s --mistake NAME | --list\n  NAME: %s\n'
                         % (argv[0], ' '.join(sorted(MISTAKES))))
        return 2
    mistake = argv[2]
    d = load_pydriver()
    if mistake == 'hello-protocol-2':
        d.PROTOCOL = 2
    elif mistake == 'hello-no-methods':
        pervert_send(d, lambda o: dict(o, methods=[])
                     if o.get('op') == 'hello' else o)
    elif mistake == 'no-fd-move':
        def keep_fds():
            d._flush_std()
            d._PROTO_IN = 0
            d._PROTO_OUT = 1
            d._SAVED_OUT = d._dup_high(1)
            d._SAVED_ERR = d._dup_high(2)
            d._DRIVER_FDS.extend([d._SAVED_OUT, d._SAVED_ERR])
        d._move_protocol_fds = keep_fds
    elif mistake == 'id-mismatch':
        orig_step = d._do_step

        def do_step(req):
            res = orig_step(req)
            if isinstance(res.get('id'), int):
                res['id'] += 1
            return res
        d._do_step = do_step
    elif mistake == 'error-as-crash':
        orig_global = d._EVALUATORS['global']

        def ev_global(body):
            try:
                return orig_global(body)
            except d.DriverError:
                os._exit(1)
        d._EVALUATORS['global'] = ev_global
    elif mistake == 'missing-pids':
        d._Scenario.pids = lambda self: {}
    elif mistake == 'ended-not-integer':
        pervert_send(d, lambda o: dict(o, fds_leaked=str(o['fds_leaked']))
                     if o.get('op') == 'ended' else o)
    elif mistake == 'no-exited':
        pervert_send(d, lambda o: None if o.get('op') == 'exited' else o)
    elif mistake == 'eof-hangs':
        orig_loop = d._zygote_loop

        def zygote_loop():
            orig_loop()
            time.sleep(3600)
        d._zygote_loop = zygote_loop
    elif mistake == 'unknown-op-silent':
        orig_read = d._read_line

        def read_line(fd):
            while True:
                line = orig_read(fd)
                try:
                    op = json.loads(line.decode('utf-8')).get('op')
                except Exception:
                    return line
                if op in ('begin', 'step', 'end'):
                    return line
        d._read_line = read_line
    elif mistake == 'wrong-exitcode-for-sys-exit-str':
        def exits(*code):
            d._child_setup()
            if code and isinstance(code[0], str):
                sys.stderr.write(code[0] + '\n')
                sys.stderr.flush()
                sys.exit(0)
            sys.exit(*code)
        exits.__module__ = 'pydriver'
        d.exits = exits
        d._BEHAVIOURS['exits'] = exits
    elif mistake == 'text-as-repr':
        orig_step = d._do_step

        def do_step(req):
            res = orig_step(req)
            v = res.get('value')
            if isinstance(v, dict) and 'text' in v:
                res['value'] = {'repr': repr(v['text'])}
            return res
        d._do_step = do_step
    elif mistake == 'begin-undeclared-accepted':
        class AnyMethod(list):
            def __contains__(self, item):
                return True
        orig_begin = d._zygote_begin

        def zygote_begin(req):
            saved = d._METHODS
            d._METHODS = AnyMethod(saved)
            try:
                return orig_begin(req)
            finally:
                d._METHODS = saved
        d._zygote_begin = zygote_begin

    elif mistake == 'pipelined-buffered':
        pending = bytearray()   # each process's own, copied at fork

        def read_line(fd):
            while b'\n' not in pending:
                data = d._retry(os.read, fd, 65536)
                if not data:
                    line = bytes(pending) if pending else None
                    del pending[:]
                    return line
                pending.extend(data)
            i = pending.index(b'\n')
            line = bytes(pending[:i])
            del pending[:i + 1]
            return line
        d._read_line = read_line

    def fork_only(obj):
        # a fork-only implementation, so the checks stay quick; applied
        # before any mistake's own change to the hello
        if obj.get('op') == 'hello':
            d._METHODS = ['fork']
            obj['methods'] = ['fork']
        return obj
    pervert_send(d, fork_only)
    return d.main(['pydriver.py', '--module', 'multiprocessing'])


if __name__ == '__main__':
    sys.exit(main(sys.argv))

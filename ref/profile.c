/*
 * Version profiles: which CPython release libprocref behaves as.  The
 * golden sets (golden/cpython-X.Y, golden/DRIFT.md) show where the
 * releases differ; this file is the one place that says which release has
 * which behaviour.  Code elsewhere tests a switch of pr__profile.
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"
#include "vocab.h"

/* The default: CPython 3.11, every switch on (the table below agrees). */
struct pr_profile pr__profile = {
	.name = "3.11",
	.version = PY(3, 11),
	.asserts = 1,
	.daemon_kwarg = 1,
	.sentinel = 1,
	.close_kill = 1,
	.parent_process = 1,
	.repr_info = 1,
	.exit_code_attr = 1,
	.forkserver_waitpid = 1,
	.spawn_vfork = 1,
	.c_int_message = 1,
	.bootstrap_threads = 1,
	.bytes_type = 1,
	.ex_initializer = 1,
	.ex_cancel_futures = 1,
	.ex_mtpc = 1,
	.ex_on_demand = 1,
	.ex_safe_queue = 1,
	.ex_invalid_state = 1,
	.ex_result_or_cancel = 1,
	.ex_posonly_fn = 1,
	.ex_wakeup_pipe = 1,
	.ex_wakeup_first = 1,
	.ex_shutdown_wakeup = 1,
	.pickle_quoted = 1,
	.exc_repr_compact = 1,
	.qualname_errors = 1,
	.py3_arg_errors = 1,
	.float_index_message = 1,
	.popen_finalizer = 1,
	.weakref_qualname = 1,
	.plain_functions = 1,
	.bug_107219 = 1,
	.bug_132969 = 1,
};

/*
 * The differences: each switch of struct pr_profile, on from this release.
 *
 * `asserts` is no release's: python -O ("-O" profiles) turns it off, and
 * with it every assert of process.py: group=, start() twice / from
 * another process / in a daemon, join() before start() (then
 * self._popen.wait on None: AttributeError), is_alive() in another
 * process, the name and daemon setters.  A second start() then forks
 * again before `del self._target` raises AttributeError; the first child
 * is never reaped (process.c, pr_process_start; bootstrap.c,
 * restart_child_pause).
 */
static const struct change {
	size_t field; /* offsetof(struct pr_profile, switch) */
	unsigned since;
} changes[] = {
	/* 3.3 (process.py BaseProcess.__init__): the daemon keyword-only
	 * argument, the flag moved from self._daemonic into
	 * self._config['daemon'].  2.7: "__init__() got an unexpected
	 * keyword argument 'daemon'" (process.c, process_init_2). */
	{ offsetof(struct pr_profile, daemon_kwarg), PY(3, 3) },
	/* 3.3, issue #12040 (process.py BaseProcess.sentinel): the
	 * sentinel property; 2.7 has no such attribute. */
	{ offsetof(struct pr_profile, sentinel), PY(3, 3) },
	/* 3.7, bpo-30596 (BaseProcess.close, _check_closed, the 'closed'
	 * repr status) and bpo-30794 (BaseProcess.kill). */
	{ offsetof(struct pr_profile, close_kill), PY(3, 7) },
	/* 3.8, bpo-36888 (process.py parent_process, _ParentProcess). */
	{ offsetof(struct pr_profile, parent_process), PY(3, 8) },
	/* 3.8, process.py BaseProcess.__repr__ rewritten: before it,
	 * '<%s(%s, %s%s)>' % (type, self._name, status, ' daemon'), status
	 * 'stopped' for exit code 0 and 'stopped[SIGTERM]' / 'stopped[2]'
	 * otherwise, no pid and no parent. */
	{ offsetof(struct pr_profile, repr_info), PY(3, 8) },
	/* 3.9, process.py BaseProcess._bootstrap: `except SystemExit as e`
	 * reads e.code (None -> 0).  Before, it read e.args: no args
	 * (sys.exit(), sys.exit(None)) -> 1, else e.args[0], so
	 * sys.exit((1, 2)) exits 1 and writes nothing. */
	{ offsetof(struct pr_profile, exit_code_attr), PY(3, 9) },
	/* 3.7, forkserver.py main(): the server reaps its children on SIGCHLD
	 * and writes their wait status to the status pipe.  Before, the child
	 * itself (_serve_one) wrote the code _bootstrap returned, unsigned
	 * ('Q'), and the reader took EOF as 255: so os._exit(n), a signal, a
	 * failure before _bootstrap all read 255, sys.exit(256) reads 256, and
	 * sys.exit(-1) fails in struct.pack ('argument out of range'). */
	{ offsetof(struct pr_profile, forkserver_waitpid), PY(3, 7) },
	/* 3.10, _posixsubprocess.fork_exec: vfork() where it can (bpo-35823),
	 * and fork() when vfork() fails (bpo-47151) */
	{ offsetof(struct pr_profile, spawn_vfork), PY(3, 10) },
	/* 3.8, _PyLong_AsInt: "Python int too large to convert to C int";
	 * before, os._exit() took a C long, then checked its range: "Python
	 * int too large to convert to C long", "signed integer is greater than
	 * maximum" or "less than minimum" (value.c, pr__cint_overflow) */
	{ offsetof(struct pr_profile, c_int_message), PY(3, 8) },
	/* 3.7, bpo-18966: BaseProcess._bootstrap ends in threading._shutdown(),
	 * waiting for the child's non-daemon threads; before, fork's and
	 * forkserver's os._exit() killed them */
	{ offsetof(struct pr_profile, bootstrap_threads), PY(3, 7) },
	/* 3.13, gh-83856: popen_fork.Popen._launch and forkserver.main clear
	 * atexit in the child and run atexit._run_exitfuncs() before
	 * os._exit() */
	{ offsetof(struct pr_profile, fork_atexit), PY(3, 13) },
	/* 3.12, gh-100228: os.fork() warns (DeprecationWarning) when the
	 * process has more than one thread, counted from /proc/self/stat */
	{ offsetof(struct pr_profile, fork_threads_warning), PY(3, 12) },
	/* 3.0, PEP 3137: bytes a type of its own.  In 2.7 `bytes is str`:
	 * b'x' is the native string '...' is, so the name setter's
	 * isinstance(name, basestring) takes it, AuthenticationString(str)
	 * takes a str, repr() has no b prefix and str() is the bytes. */
	{ offsetof(struct pr_profile, bytes_type), PY(3, 0) },
	/* 3.7, bpo-21423 (concurrent/futures/process.py
	 * ProcessPoolExecutor.__init__): mp_context, initializer, initargs */
	{ offsetof(struct pr_profile, ex_initializer), PY(3, 7) },
	/* 3.9, bpo-39349 (Executor.shutdown): cancel_futures */
	{ offsetof(struct pr_profile, ex_cancel_futures), PY(3, 9) },
	/* 3.11, bpo-44733: max_tasks_per_child */
	{ offsetof(struct pr_profile, ex_mtpc), PY(3, 11) },
	/* 3.9, bpo-39207 (_adjust_process_count): workers start on demand;
	 * with fork all at the first submit again from 3.9.13 (gh-90622),
	 * which every local 3.9 build has */
	{ offsetof(struct pr_profile, ex_on_demand), PY(3, 9) },
	/* 3.7, bpo-31699 (_SafeQueue._on_queue_feeder_error, _sendback_result,
	 * the manager's recv() in try): pickling errors fail the future */
	{ offsetof(struct pr_profile, ex_safe_queue), PY(3, 7) },
	/* 3.8, bpo-33238 (_base.Future.set_exception): InvalidStateError */
	{ offsetof(struct pr_profile, ex_invalid_state), PY(3, 8) },
	/* 3.10.9, gh-95166 (_base._result_or_cancel) */
	{ offsetof(struct pr_profile, ex_result_or_cancel), PY(3, 10) },
	/* 3.9, bpo-39413 (Executor.submit(fn, /, *args, **kwargs)) */
	{ offsetof(struct pr_profile, ex_posonly_fn), PY(3, 9) },
	/* 3.7, bpo-31699 (_ThreadWakeup): the manager is woken through a
	 * pipe of its own; 3.6 puts None on the result queue */
	{ offsetof(struct pr_profile, ex_wakeup_pipe), PY(3, 7) },
	/* 3.9 (ProcessPoolExecutor.__init__): _ThreadWakeup() comes before
	 * _setup_queues' call queue and result queue; 3.7 and 3.8 make it
	 * after them */
	{ offsetof(struct pr_profile, ex_wakeup_first), PY(3, 9) },
	/* 3.9 (ProcessPoolExecutor.shutdown): the wakeup is written whenever
	 * the executor still holds it, and dropped after; 3.6-3.8 write it
	 * only when a manager thread was started */
	{ offsetof(struct pr_profile, ex_shutdown_wakeup), PY(3, 9) },
	/* 3.8, bpo-32892 (Objects/typeobject.c object___reduce_ex__):
	 * "cannot pickle 'X' object"; before, "can't pickle X objects" */
	{ offsetof(struct pr_profile, pickle_quoted), PY(3, 8) },
	/* 3.7, bpo-30399 (BaseException.__repr__): no comma after one arg */
	{ offsetof(struct pr_profile, exc_repr_compact), PY(3, 7) },
	/* 3.10, bpo-20291 and friends (Python/ceval.c): the qualified name in
	 * argument errors */
	{ offsetof(struct pr_profile, qualname_errors), PY(3, 10) },
	/* 3.0, PEP 3102 (Python/ceval.c): "takes N positional argument(s)
	 * but M were given", "missing N required positional argument(s):
	 * 'x'".  2.7 counted every argument, keywords too, and self: "takes
	 * exactly 1 argument (2 given)", "at most" with defaults, "at least"
	 * when missing ones; "got multiple values for keyword argument 'x'";
	 * and it refused too many positional arguments before it looked at
	 * the keywords. */
	{ offsetof(struct pr_profile, py3_arg_errors), PY(3, 0) },
	/* 3.10, bpo-37999 (no __int__ fallback): "'float' object cannot be
	 * interpreted as an integer" */
	{ offsetof(struct pr_profile, float_index_message), PY(3, 10) },
	/* 3.7, bpo-30596 (popen_fork.Popen._launch): the Popen keeps a
	 * util.Finalize, which holds a weakref, so a started Process object
	 * no longer pickles; 3.6 sends it whole */
	{ offsetof(struct pr_profile, popen_finalizer), PY(3, 7) },
	/* 3.10 (Objects/weakrefobject.c): the weakref type's tp_name is
	 * 'weakref.ReferenceType', before it 'weakref' */
	{ offsetof(struct pr_profile, weakref_qualname), PY(3, 10) },
	/* 3.13 (Objects/weakrefobject.c weakref_repr): the target's type by
	 * its full name, 'multiprocessing.context.Process' */
	{ offsetof(struct pr_profile, weakref_repr_qualname), PY(3, 13) },
	/* 3.0: unbound methods gone, Process.terminate is a plain function;
	 * 2.7 refuses a call without an instance in words of its own */
	{ offsetof(struct pr_profile, plain_functions), PY(3, 0) },
};

/*
 * CPython bugs the executor profiles reproduce: the switch is on for the
 * releases from `from` up to, not including, `fixed`.
 */
static const struct bug {
	size_t field;
	unsigned from, fixed;
} bugs[] = {
	/* bpo-39098 / gh-83279: shutdown(wait=False) closes the manager's
	 * wakeup pipe; with work pending the manager dies with "OSError:
	 * handle is closed" (3.7 added the _ThreadWakeup, 3.9 fixed it) */
	{ offsetof(struct pr_profile, bug_wakeup_closed), PY(3, 7), PY(3, 9) },
	/* gh-107219, PR #108974: _terminate_broken's set_exception() on a
	 * cancelled future raises InvalidStateError and kills the manager */
	{ offsetof(struct pr_profile, bug_107219), PY(3, 8), PY(3, 12) },
	/* gh-132969, PR #133222: a worker leaving after max_tasks_per_child
	 * once shutdown(wait=False) set _processes = None: len(None) */
	{ offsetof(struct pr_profile, bug_132969), PY(3, 11), PY(3, 14) },
};

/* The releases there are golden sets for. */
static const unsigned releases[] = {
	PY(2, 7),  PY(3, 6),  PY(3, 7),  PY(3, 8),  PY(3, 9),
	PY(3, 10), PY(3, 11), PY(3, 12), PY(3, 13),
};

/* "X.Y" or "X.Y-O" for a release in releases[]: 0 and *version, *optimize. */
static int parse_name(const char *name, unsigned *version, int *optimize)
{
	unsigned major = 0, minor = 0;
	const char *s = name;
	size_t i;

	if (*s < '0' || *s > '9')
		return -1;
	while (*s >= '0' && *s <= '9' && major < 100)
		major = major * 10 + (unsigned)(*s++ - '0');
	if (*s++ != '.' || *s < '0' || *s > '9')
		return -1;
	while (*s >= '0' && *s <= '9' && minor < 100)
		minor = minor * 10 + (unsigned)(*s++ - '0');
	*optimize = strcmp(s, "-O") == 0;
	if (*s != '\0' && !*optimize)
		return -1;
	for (i = 0; i < ARRAY_SIZE(releases); i++)
		if (releases[i] == PY(major, minor)) {
			*version = releases[i];
			return 0;
		}
	return -1;
}

int pr_set_profile(const char *name, struct pr_diag *d)
{
	static char canonical[16];
	struct pr_profile p = { 0 };
	size_t i;

	if (parse_name(name, &p.version, &p.asserts) < 0)
		return pr_diag(d, PR_EVALUE,
			       "unknown profile '%s' (one of 2.7, "
			       "3.6 ... 3.13, optionally with -O: 3.11-O)",
			       name);
	p.asserts = !p.asserts;
	snprintf(canonical, sizeof canonical, "%u.%u%s", p.version >> 8, p.version & 0xff,
		 p.asserts ? "" : "-O");
	p.name = canonical;
	for (i = 0; i < ARRAY_SIZE(changes); i++)
		*(int *)((char *)&p + changes[i].field) = p.version >= changes[i].since;
	for (i = 0; i < sizeof bugs / sizeof *bugs; i++)
		*(int *)((char *)&p + bugs[i].field) = p.version >= bugs[i].from &&
						       p.version < bugs[i].fixed;
	pr__profile = p;
	return 0;
}

const char *pr_profile_name(void)
{
	return pr__profile.name;
}

size_t pr_profile_features(const char **out, size_t max)
{
	/* the features of harness/vocab.def that came with a CPython release;
	 * a feature's lines are adjacent there */
	static const struct {
		const char *name;
		unsigned since;
	} features[] = {
#define FEATURE(name, since, use, what, kw) { name, since },
#include "vocab.def"
	};
	size_t i, n = 0;

	for (i = 0; i < ARRAY_SIZE(features) && n < max; i++)
		if (features[i].since != 0 && pr__profile.version >= features[i].since &&
		    (n == 0 || strcmp(out[n - 1], features[i].name) != 0))
			out[n++] = features[i].name;
	return n;
}

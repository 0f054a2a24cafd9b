/*
 * libprocref: a reference implementation, in C, of the process-lifecycle
 * semantics of CPython 3.11's multiprocessing (Lib/multiprocessing/process.py,
 * popen_fork.py, popen_spawn_posix.py, popen_forkserver.py, spawn.py,
 * forkserver.py, util.py), all three start methods; pr_set_profile() makes it
 * behave as another release does.
 *
 * The library models the Python objects a scenario can touch: literal
 * values, process objects, the module functions and the child behaviours
 * (child.*), each with CPython's repr(), argument checking and exceptions.
 * A driver builds values, then reads attributes and calls things through
 * pr_getattr(), pr_setattr() and pr_call(), as Python code would.
 *
 * Errors: every function that can fail returns 0 or a negative code.  A
 * code in [PR_ERRNO_MIN, -1] is -errno from a failed system call (Python: an
 * OSError subclass chosen by errno); the others come from PR_ERROR_MAP.  The
 * Python exception (class name, str()) goes into a caller-owned pr_diag,
 * released with pr_diag_clear().
 *
 * Not thread-safe: like the interpreter it models, a process runs one
 * program.
 *
 * Installed, it is linked with `pkg-config --cflags --libs procref`, from C
 * or C++; docs/LIBRARY.md has a complete program and man 3 procref the
 * reference.  The shared library exports the PR_EXTERN declarations below
 * and nothing else (ref/procref.sym lists them; tests/install.sh holds the
 * library to it).
 */
#ifndef PROCREF_H
#define PROCREF_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "procref_version.h"

/* What the library exports: it is built with -fvisibility=hidden, so only
 * these declarations are visible to a program (libuv's UV_EXTERN). */
#if defined(__GNUC__) && __GNUC__ >= 4
#define PR_EXTERN __attribute__((visibility("default")))
#else
#define PR_EXTERN
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* X(NAME, Python class): the codes that are not -errno. */
#define PR_ERROR_MAP(X)                                                 \
	X(ASSERTION, "AssertionError")                                  \
	X(VALUE, "ValueError")                                          \
	X(TYPE, "TypeError")                                            \
	X(ATTRIBUTE, "AttributeError")                                  \
	X(OVERFLOW, "OverflowError")                                    \
	X(MEMORY, "MemoryError")                                        \
	X(NAME, "NameError")                                            \
	X(RUNTIME, "RuntimeError")                                      \
	X(SYSTEM_EXIT, "SystemExit")                                    \
	X(EXCEPTION, NULL)   /* another class: pr_diag.type names it */ \
	X(UNSUPPORTED, NULL) /* not modelled, or a driver error */

enum {
	PR_ERRNO_MIN = -4095, /* codes in [PR_ERRNO_MIN, -1] are -errno */
	PR__ECODE_BASE = -5000,
/* clang-format off */
#define PR_X_ENUM(name, type) PR_E##name,
	PR_ERROR_MAP(PR_X_ENUM)
#undef PR_X_ENUM
	PR__ECODE_END
	/* clang-format on */
};

typedef struct pr_value pr_value;

/*
 * What went wrong, as Python would show it: type is the exception's class
 * name ("AssertionError", "BlockingIOError"; NULL for PR_EUNSUPPORTED),
 * message is str(exception), possibly empty and possibly holding NUL bytes,
 * never NULL once code is set.  exit_code is SystemExit's .code (a
 * reference the diag owns), NULL for every other class.
 */
struct pr_diag {
	int code;
	char *type;
	char *message;
	size_t message_len;
	pr_value *exit_code;
};
/* clang-format off */
#define PR_DIAG_INIT { 0, NULL, NULL, 0, NULL }
/* clang-format on */

/* Fill d for code (a PR_E* code or -errno) and return code.  fmt may be
 * NULL: -errno then gets CPython's "[Errno N] strerror", the others an
 * empty message.  A diag already set is replaced.  d may be NULL. */
PR_EXTERN int pr_diag(struct pr_diag *d, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* The same for a class outside PR_ERROR_MAP (code PR_EEXCEPTION). */
PR_EXTERN int pr_diag_raise(struct pr_diag *d, const char *type, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Release what d holds and make it PR_DIAG_INIT again. */
PR_EXTERN void pr_diag_clear(struct pr_diag *d);
/* CPython 3.11's class for code: "ValueError", "ProcessLookupError" for
 * -ESRCH, "OSError" for an errno it does not map; NULL for the codes whose
 * class the diag carries. */
PR_EXTERN const char *pr_error_type(int code);

/* ---- library state ---------------------------------------------------- */

/* The version of the library running (the program may have been built
 * against another): PR_VERSION_HEX's value and "MAJOR.MINOR.PATCH". */
PR_EXTERN unsigned pr_version(void);
PR_EXTERN const char *pr_version_string(void);

/*
 * multiprocessing.set_executable(path): the program the spawn and
 * forkserver start methods run, procref-child.  Without it, the library
 * takes $PROCREF_CHILD, then procref-child beside the running program (a
 * build tree), then the one `make install` put in LIBEXECDIR/procref/.
 * NULL or "" goes back to that search.  Checked when a child starts, not
 * here: start() fails with FileNotFoundError (-ENOENT) naming the path when
 * there is no such program, or PermissionError (-EACCES) when it cannot be
 * run.  -ENAMETOOLONG for a path of PATH_MAX bytes or more.
 */
PR_EXTERN int pr_set_executable(const char *path);
/* The procref-child the next spawn or forkserver start would run, as
 * pr_set_executable() describes, into buf; 0, or -ENOENT when no
 * candidate exists (buf then holds the last one tried), -ENAMETOOLONG. */
PR_EXTERN int pr_get_executable(char *buf, size_t size);

/*
 * What importing multiprocessing does, once per program: the main process
 * object, with a 32-byte authkey from the kernel's random source.
 * Processes forked later share this state as they would share an imported
 * module.  Fails with -errno if no random bytes can be had.
 */
PR_EXTERN int pr_init(struct pr_diag *d);
/* Drop every reference the library holds and free what becomes garbage.
 * Children are not waited for: run pr_exit_function() first. */
PR_EXTERN void pr_fini(void);

/*
 * multiprocessing.set_start_method(method): which Popen class Process
 * uses: "fork", "spawn" or "forkserver"; anything else fails with
 * CPython's ValueError.
 */
PR_EXTERN int pr_set_start_method(const char *method, struct pr_diag *d);

/*
 * Behave as CPython release name does: "2.7", "3.6", "3.7" ... "3.13",
 * with "-O" appended for python -O (assert statements gone: "3.11-O").
 * The default is "3.11".  Call it before any process object exists (the
 * procref-driver does so before pr_init()).  PR_EVALUE for a release
 * there is no profile for; the profile in force is then unchanged.
 */
PR_EXTERN int pr_set_profile(const char *name, struct pr_diag *d);
/* The profile in force, as pr_set_profile() spells it: "3.11-O". */
PR_EXTERN const char *pr_profile_name(void);
/* The optional features of the driver protocol's hello that the profile
 * has ("Process.close", ..., "ProcessPoolExecutor", "Executor.mp_context",
 * ...: harness/vocab.def's, by the release that brought each), at most max
 * of them into out; returns how many. */
PR_EXTERN size_t pr_profile_features(const char **out, size_t max);

/*
 * Stop this process's fork server, if it started one: close the alive
 * pipe, wait for the server to exit, remove its socket.  What interpreter
 * exit does (the fd closes), done early, as CPython's tests do with
 * forkserver._forkserver._stop().  Safe to call at any time.
 */
PR_EXTERN void pr_forkserver_stop(void);

/* This process's fork server, if it runs one: its pid and the write end of
 * its alive pipe (CPython's _forkserver._forkserver_pid and
 * _forkserver_alive_fd); 0 and -1 otherwise.  Helpers live as long as the
 * program: a driver leaves them out of fds_leaked() and children_left(). */
PR_EXTERN pid_t pr_forkserver_pid(void);
PR_EXTERN int pr_forkserver_alive_fd(void);

/*
 * main() of procref-child, the program the spawn and forkserver start
 * methods run: [--profile X.Y] then "--multiprocessing-fork
 * pipe_handle=FD" (spawn_main) or "--forkserver listener=FD alive=FD
 * ADDRESS" (forkserver.main).
 * Returns the exit status.
 */
PR_EXTERN int pr_child_main(int argc, char **argv);

/*
 * util._exit_function, once per process: terminate the daemonic children
 * still alive, then join the others.  Later calls do nothing.
 */
PR_EXTERN int pr_exit_function(struct pr_diag *d);

/*
 * Free the process objects that only reference cycles keep alive
 * (CPython's cyclic GC), so that their Popen finalizers close their
 * sentinels.  Safe at any time.
 */
PR_EXTERN void pr_gc_collect(void);

/*
 * os.register_at_fork(after_in_child=fn): fn(arg) runs first thing in
 * every child the library forks, before the child touches anything else.
 * NULL removes it.
 */
PR_EXTERN void pr_set_after_fork(void (*fn)(void *arg), void *arg);

/*
 * What the implementation would hand to Python's warnings module:
 * fn(category, message, arg) runs in the process that warns, e.g.
 * ("DeprecationWarning", "This process (pid=N) is multi-threaded, use of
 * fork() may lead to deadlocks in the child.") from 3.12.  NULL: none.
 */
PR_EXTERN void pr_set_warning_hook(void (*fn)(const char *category, const char *message, void *arg),
				   void *arg);

/*
 * A child came back out of the code that forked it, into code not its
 * own (docs/PROTOCOL.md, end: "escaped"): into is "main" (the driver's
 * copy of the main program), "target" (its parent's target) or "server"
 * (the fork server's loop); d what it raised, NULL when it returned.
 * Appends the record to the file $PROCSPEC_ESCAPES names, if set.
 */
PR_EXTERN void pr_escape_note(const char *into, const struct pr_diag *d);

/*
 * fn(1) before and fn(0) after each stretch of work that CPython does in
 * a background thread (the executor's manager thread and queue feeder
 * thread), which libprocref does inside the calls of the thread that
 * called it; stretches do not nest.  For fault injection that tells the
 * stepping thread's calls from background work (procspec's psfiu.h,
 * psfiu_background).  NULL removes it.
 */
PR_EXTERN void pr_set_background_hook(void (*fn)(int on));

/* ---- values ----------------------------------------------------------- */

enum pr_kind {
	PR_NONE,
	PR_BOOL,
	PR_INT,
	PR_FLOAT,
	PR_STR,
	PR_BYTES,
	PR_TUPLE,
	PR_LIST,
	PR_DICT,
	PR_PROCESS,  /* Process, _MainProcess, _ParentProcess */
	PR_AUTHKEY,  /* process.AuthenticationString */
	PR_FUNCTION, /* a function, or the Process class */
	PR_METHOD,   /* a method bound to a process object */
	PR_OBJECT    /* any other object: executors, futures, exceptions,
			 * gates, worker handles (executor.c, task.c) */
};

/*
 * Values are reference counted.  Constructors return a new reference, or
 * NULL when memory runs out; those taking items consume them, also when
 * they fail.
 */
PR_EXTERN pr_value *pr_incref(pr_value *v);
PR_EXTERN void pr_decref(pr_value *v); /* NULL is ignored */
PR_EXTERN enum pr_kind pr_kind(const pr_value *v);

PR_EXTERN pr_value *pr_none(void);
PR_EXTERN pr_value *pr_bool(int b);
PR_EXTERN pr_value *pr_int(int64_t i);
/* An int from decimal text of any size: 0, PR_EVALUE for text that is not
 * [+-]digits, or PR_EMEMORY. */
PR_EXTERN int pr_int_parse(const char *text, pr_value **out);
PR_EXTERN pr_value *pr_float(double f);
PR_EXTERN pr_value *pr_str(const char *utf8, size_t len); /* valid UTF-8 */
PR_EXTERN pr_value *pr_bytes(const void *data, size_t len);
PR_EXTERN pr_value *pr_tuple(pr_value **items, size_t n);
PR_EXTERN pr_value *pr_list(pr_value **items, size_t n);
/* A dict from n key/value pairs (kv[2i], kv[2i+1]) inserted in order, a
 * repeated key keeping its place and taking the later value; TypeError
 * "unhashable type: 'list'" as Python raises it. */
PR_EXTERN int pr_dict(pr_value **kv, size_t n, pr_value **out, struct pr_diag *d);

/* The bytes of a str (UTF-8), bytes or authkey; NULL for other kinds. */
PR_EXTERN const char *pr_data(const pr_value *v, size_t *len);
/* bool(v) */
PR_EXTERN int pr_truth(const pr_value *v);
/* a == b, as Python compares them (1 or 0); a is b is a pointer comparison */
PR_EXTERN int pr_equal(const pr_value *a, const pr_value *b);
/* a OP b for OP one of == != < <= > >= in, not in: *out 1 or 0, or
 * Python's exception (TypeError for an ordering Python 3 refuses) */
PR_EXTERN int pr_compare(pr_value *a, const char *op, pr_value *b, int *out, struct pr_diag *d);
/* The number of items of a tuple, list or dict, 0 for other kinds; item i
 * of a tuple or list (borrowed), NULL past the end or for other kinds. */
PR_EXTERN size_t pr_len(const pr_value *v);
PR_EXTERN pr_value *pr_item(const pr_value *v, size_t i);

/* repr(v) and str(v) as malloc'ed, NUL-terminated text; *len (if not NULL)
 * gets the length, which for str() may count NUL bytes.  0 or PR_EMEMORY. */
PR_EXTERN int pr_repr(pr_value *v, char **out, size_t *len);
PR_EXTERN int pr_str_of(pr_value *v, char **out, size_t *len);

/* ---- functions, attributes, calls ------------------------------------- */

/*
 * A function with a Python signature:
 *   name(params[0..nrequired-1], <more params, optional>, *args,
 *        <kwonly params, optional>, **kwargs)
 * pr_call() binds arguments as CPython 3.11 does, with its TypeError
 * messages, then calls fn with argv holding, in order: the nparams values
 * (NULL for an optional one not passed), the nkwonly values (NULL when not
 * passed), the *args tuple if varargs, the **kwargs dict if varkw.  self
 * is the bound object for a method, else NULL.  fn returns 0 with a new
 * reference in *result, or fails.
 */
typedef struct pr_func {
	const char *name; /* __qualname__ */
	const char *const *params;
	unsigned nparams;
	unsigned nrequired;
	const char *const *kwonly;
	unsigned nkwonly;
	unsigned varargs;
	unsigned varkw;
	int (*fn)(pr_value *self, pr_value **argv, pr_value **result, struct pr_diag *d);
} pr_func;
/* A function value for f, which must outlive every value made from it. */
PR_EXTERN pr_value *pr_function(const pr_func *f);
/* The pr_func behind a function or bound method; NULL for other kinds. */
PR_EXTERN const pr_func *pr_function_of(const pr_value *v);
/* The object a method is bound to (borrowed); NULL if v is no method. */
PR_EXTERN pr_value *pr_method_self(const pr_value *v);

/* The module-level names of multiprocessing a scenario sees: "Process",
 * "current_process", "parent_process", "active_children", "cpu_count",
 * "get_start_method", "set_start_method", the executor's, the builtins
 * "len", "type", "isinstance", "int", "str", "bytes", and the modules "gc"
 * and "connection" (only their collect() and wait()); NULL for any other
 * name, one the profile lacks (or no memory). */
PR_EXTERN pr_value *pr_global(const char *name);
/* A child behaviour, child.NAME in a scenario ("blocks", "exits", ...);
 * NULL when there is no such behaviour. */
PR_EXTERN pr_value *pr_behaviour(const char *name);

/* class NAME(Process) whose run() is run(*args), a behaviour from
 * pr_behaviour(); with run NULL, one that keeps Process.run (the target).
 * name is a str value; args a sequence or NULL for ().  *out is the
 * class: call it as the Process class. */
PR_EXTERN int pr_subclass(pr_value *name, pr_value *run, pr_value *args, pr_value **out,
			  struct pr_diag *d);

/* An instance of a class NAME whose __call__(self, *args, **kwargs) is
 * call(*args, **kwargs), call a behaviour from pr_behaviour(): a target
 * that is a callable object.  name is a str value. */
PR_EXTERN int pr_callable_object(pr_value *name, pr_value *call, pr_value **out, struct pr_diag *d);

/* getattr(obj, name), setattr(obj, name, v), func(*args, **kwargs).
 * Arguments are borrowed; *out is a new reference. */
PR_EXTERN int pr_getattr(pr_value *obj, const char *name, pr_value **out, struct pr_diag *d);
PR_EXTERN int pr_setattr(pr_value *obj, const char *name, pr_value *v, struct pr_diag *d);
PR_EXTERN int pr_call(pr_value *func, pr_value *const *args, size_t nargs,
		      const char *const *kwnames, pr_value *const *kwargs, size_t nkw,
		      pr_value **out, struct pr_diag *d);

/* Whether ForkingPickler.dumps(v) succeeds: 0, or its exception. */
PR_EXTERN int pr_pickle_check(pr_value *v, struct pr_diag *d);

/* ---- process objects, for a driver ------------------------------------ */

/* p.start(): BaseProcess.start, checks and all, as pr_call() on the bound
 * method runs it. */
PR_EXTERN int pr_process_start(pr_value *p, struct pr_diag *d);

/* The pid of the child a process object started, 0 when it has none (not
 * a process object, never started, or closed). */
PR_EXTERN pid_t pr_process_pid(const pr_value *v);

/*
 * The read end of a pipe that child.blocks() reads in the child proc
 * starts, and in every process that child starts in turn (the gate of
 * docs/PROTOCOL.md).  The fd stays the caller's.  -EINVAL if proc is not a
 * process object.
 */
PR_EXTERN int pr_process_set_gate(pr_value *proc, int fd);

/* ---- executors (executor.c, task.c) ----------------------------------- */

/*
 * concurrent.futures.ProcessPoolExecutor, with futures, map() iterators
 * and exceptions as values.  The class is pr_global("ProcessPoolExecutor")
 * (with "get_context", "list" and "next"); its methods and the futures'
 * are reached with pr_getattr() and pr_call() as Python code reaches
 * them.  Workers are process objects of the library, started with the
 * executor's context (fork, spawn through procref-child, forkserver).
 * The executor's manager runs inside the calls on the executor and its
 * futures: nothing happens in the background between two calls.
 */
PR_EXTERN pr_value *pr_executor_class(void);
PR_EXTERN int pr_is_executor(const pr_value *v);
PR_EXTERN int pr_is_future(const pr_value *v);
/* ex.submit(fn, *args): a future, or the exception submit() raises. */
PR_EXTERN int pr_executor_submit(pr_value *ex, pr_value *fn, pr_value *const *args, size_t nargs,
				 pr_value **future, struct pr_diag *d);
/* ex.shutdown(wait=, cancel_futures=) */
PR_EXTERN int pr_executor_shutdown(pr_value *ex, int wait, int cancel_futures, struct pr_diag *d);
/* f.result(timeout) and f.exception(timeout), timeout < 0 for None:
 * what it returns (a new reference) or raises. */
PR_EXTERN int pr_future_result(pr_value *f, double timeout, pr_value **out, struct pr_diag *d);
PR_EXTERN int pr_future_exception(pr_value *f, double timeout, pr_value **out, struct pr_diag *d);
/* f.cancel(); "pending", "running", "cancelled" or "finished" (NULL for
 * what is no future). */
PR_EXTERN int pr_future_cancel(pr_value *f);
PR_EXTERN const char *pr_future_state(pr_value *f);
/*
 * The harness's settles(ex) (spec: executor.md): shut ex down as
 * shutdown(wait=True) would and wait at most timeout_ms for its manager
 * and workers to finish: *settles 1 if they did.  If not, the executor
 * is forgotten: the exit hook (or pr_executor_fini()) kills and reaps its
 * workers first, and otherwise leaves it alone.
 */
PR_EXTERN int pr_executor_settles(pr_value *ex, int timeout_ms, int *settles, struct pr_diag *d);
/* concurrent.futures.process._python_exit(): join every executor's
 * manager, which finishes the pending work first.  Run it before
 * pr_exit_function(), as interpreter exit does. */
PR_EXTERN int pr_executor_exit_hook(struct pr_diag *d);
/* Release every executor's state (after the exit hook). */
PR_EXTERN void pr_executor_fini(void);
/* cause(x): "TYPE: str(cause)" of an exception or a future's exception,
 * or "None", as a str. */
PR_EXTERN int pr_cause(pr_value *x, pr_value **out, struct pr_diag *d);

/* task.NAME, a task behaviour; NULL when there is none. */
PR_EXTERN pr_value *pr_task(const char *name);
/* A threading.Lock() look-alike: pickling it fails as CPython's does. */
PR_EXTERN pr_value *pr_unpicklable(void);
/* The pid of a worker handle, 0 for any other value. */
PR_EXTERN pid_t pr_worker_pid(const pr_value *v);

/*
 * Gates for executor tasks (spec: executor.md, Gates for executors): two
 * FIFOs in a private directory of this process, held open O_RDWR by it.
 * pr_gate_started() waits at most timeout_ms for a task to announce
 * itself and gives a handle of its worker (TimeoutError "no task started
 * on the gate" otherwise); pr_gate_release() lets one task go on;
 * pr_gates_release_all() lets every task go, now and later;
 * pr_gates_fini() closes and removes everything.  pr_gates_fd() tells
 * whether fd is one of the gates' own.
 */
PR_EXTERN int pr_gate_new(pr_value **out, struct pr_diag *d);
PR_EXTERN int pr_is_gate(const pr_value *v);
PR_EXTERN int pr_gate_started(pr_value *gate, int timeout_ms, pr_value **worker, struct pr_diag *d);
PR_EXTERN int pr_gate_release(pr_value *gate, struct pr_diag *d);
PR_EXTERN void pr_gates_release_all(void);
PR_EXTERN void pr_gates_fini(void);
PR_EXTERN int pr_gates_fd(int fd);

#ifdef __cplusplus
}
#endif

#endif

/*
 * libprocref's private declarations, shared between its .c files and
 * nothing else.  Names used across files carry the pr__ prefix.
 */
#ifndef PROCREF_INTERNAL_H
#define PROCREF_INTERNAL_H

#include <stdarg.h>
#include <stdint.h>
#include <sys/types.h>

#include "procref.h"
#include "util.h"

/* ---- version profiles (profile.c) -------------------------------------- */

/*
 * Which CPython release libprocref behaves as.  Each switch is 1 where the
 * release has the behaviour of 3.11, 0 where it has the older one; the one
 * table that sets them, with the CPython change behind each, is in
 * profile.c.  Code asks `if (pr__profile.repr_info)`, never for a version.
 */
struct pr_profile {
	const char *name;       /* what pr_set_profile() took: "3.8", "3.11-O" */
	unsigned version;       /* 0x0308 for 3.8 */
	int asserts;            /* assert statements run (not python -O) */
	int daemon_kwarg;       /* Process(daemon=...), and _config['daemon'] */
	int sentinel;           /* the Process.sentinel property */
	int close_kill;         /* Process.close(), Process.kill(), _closed */
	int parent_process;     /* parent_process(), _ParentProcess */
	int repr_info;          /* <Process name=... pid=... parent=... status> */
	int exit_code_attr;     /* _bootstrap reads SystemExit.code, not .args */
	int forkserver_waitpid; /* the forkserver reports its children's wait status */
	int spawn_vfork;        /* spawnv_passfds goes through vfork, then fork */
	int c_int_message;      /* OverflowError reads "Python int too large to convert to C int" */
	int bootstrap_threads;  /* _bootstrap ends in threading._shutdown() */
	int fork_atexit;        /* fork and forkserver children run atexit handlers */
	int fork_threads_warning; /* os.fork() warns when the process has threads */
	int bytes_type;           /* bytes is a type of its own, not str (Python 3) */
	/* concurrent.futures (executor.c, task.c) */
	int ex_initializer;      /* mp_context=, initializer=, initargs= */
	int ex_cancel_futures;   /* shutdown(cancel_futures=) */
	int ex_mtpc;             /* max_tasks_per_child= */
	int ex_on_demand;        /* spawn/forkserver workers start one per submit */
	int ex_safe_queue;       /* pickling errors fail the future, not the pool */
	int ex_invalid_state;    /* set_exception() on a cancelled future raises */
	int ex_result_or_cancel; /* map()'s iterator cancels what timed out */
	int ex_posonly_fn;       /* submit(fn, /, ...) */
	int ex_wakeup_pipe;      /* _ThreadWakeup: a pipe of its own wakes the manager */
	int ex_wakeup_first;     /* the constructor makes it before the queues */
	int ex_shutdown_wakeup;  /* shutdown() wakes the manager even if none runs */
	int pickle_quoted;       /* "cannot pickle '_thread.lock' object" */
	int exc_repr_compact;    /* ValueError('x'), not ValueError('x',) */
	int qualname_errors;     /* "ProcessPoolExecutor.submit() missing ..." */
	int py3_arg_errors;      /* "takes 1 positional argument but 2 were given" */
	int float_index_message; /* "'float' object cannot be interpreted as an integer" */
	/* a Process object as an argument of another (process.c) */
	int popen_finalizer;  /* a started process's Popen holds a weakref: it does not pickle */
	int weakref_qualname; /* the weakref type is named 'weakref.ReferenceType' */
	int weakref_repr_qualname; /* a weakref's repr names its target's type in full */
	int plain_functions;       /* Process.terminate is a function, not an unbound method */
	/* CPython bugs the release has (profile.c, bugs[]) */
	int bug_wakeup_closed; /* bpo-39098: shutdown(wait=False) kills the manager */
	int bug_107219;        /* gh-107219: a cancelled future kills a breaking manager */
	int bug_132969;        /* gh-132969: a worker exit after shutdown(wait=False) */
};
extern struct pr_profile pr__profile;

/* ---- growable text (sbuf.c) -------------------------------------------- */

/* Appends never fail visibly: a failed allocation sets oom, later appends
 * do nothing, and pr__sb_finish() reports PR_EMEMORY. */
struct sbuf {
	char *p;
	size_t len, cap;
	int oom;
};
/* clang-format off */
#define SBUF_INIT { NULL, 0, 0, 0 }
/* clang-format on */
void pr__sb_put(struct sbuf *sb, const void *data, size_t len);
void pr__sb_puts(struct sbuf *sb, const char *s);
void pr__sb_putc(struct sbuf *sb, char c);
void pr__sb_printf(struct sbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Hand the NUL-terminated text to *out (the caller frees it), or release
 * it and return PR_EMEMORY. */
int pr__sb_finish(struct sbuf *sb, char **out, size_t *len);
void pr__sb_release(struct sbuf *sb);

/* ---- values (value.c) -------------------------------------------------- */

struct pr_process;
struct pr_objtype;

struct pr_value {
	long refcnt; /* < 0: immortal (None, True, False) */
	enum pr_kind kind;
	pr_value *gc_prev, *gc_next; /* containers only, see gc.c */
	long gc_refs;
	union {
		int b;
		struct {
			int64_t small;
			char *big; /* canonical decimal text outside int64 */
		} i;
		double f;
		struct {
			char *data; /* NUL-terminated as a convenience */
			size_t len;
		} s; /* str (UTF-8), bytes, authkey */
		struct {
			pr_value **items; /* dict: key, value, key, ... */
			size_t len;       /* dict: the number of pairs */
		} seq;
		struct pr_process *proc;
		struct {
			const struct pr_objtype *type;
			void *data;
		} obj; /* PR_OBJECT */
		struct {
			const pr_func *func;
			pr_value *self; /* PR_METHOD: the bound object */
			int is_class;   /* the Process class, not a function */
		} fn;
	} u;
};

/* A zeroed value of kind with one reference, tracked if a container. */
pr_value *pr__value_new(enum pr_kind kind);
void pr__value_repr(pr_value *v, struct sbuf *sb);
void pr__value_str(pr_value *v, struct sbuf *sb);
/* type(v).__name__ */
const char *pr__type_name(const pr_value *v);
/* a == b as a dict lookup decides it (identity, then equality) */
int pr__value_eq(const pr_value *a, const pr_value *b);
/* hash(v) would not raise: 0, or TypeError "unhashable type: 'list'" */
int pr__value_hashable(const pr_value *v, struct pr_diag *d);
/* An int or bool as a C int, as os._exit() converts its argument. */
int pr__value_as_cint(const pr_value *v, int *out, struct pr_diag *d);
/* The OverflowError message of an int v that is no C int, for a C int argument. */
const char *pr__cint_overflow(const pr_value *v);
/* float(v) for an int, bool or float. */
int pr__value_as_double(const pr_value *v, double *out, struct pr_diag *d);
/* list(v): an array of new references, or "'int' object is not iterable". */
int pr__value_iter(pr_value *v, pr_value ***items, size_t *n, struct pr_diag *d);
void pr__items_free(pr_value **items, size_t n);
/* tuple(v), dict(v), and AuthenticationString(v), that is bytes(v) */
int pr__value_to_tuple(pr_value *v, pr_value **out, struct pr_diag *d);
int pr__value_to_dict(pr_value *v, pr_value **out, struct pr_diag *d);
int pr__value_to_authkey(pr_value *v, pr_value **out, struct pr_diag *d);
pr_value *pr__authkey(const void *data, size_t len);
int pr__is_int(const pr_value *v); /* int or bool */
pr_value *pr__method(const pr_func *func, pr_value *self);
pr_value *pr__class(const pr_func *init);
void pr__float_repr(double x, struct sbuf *sb);

/*
 * The class of a PR_OBJECT: what value.c, attr.c and wire.c ask of it.
 * Every hook but name and repr may be NULL: no such behaviour (free: the
 * data is not freed; getattr: no attributes; pickle: picklable; wire:
 * cannot cross to a child).
 */
struct pr_objtype {
	const char *name; /* type(v).__name__ */
	void (*free)(void *data);
	void (*repr)(pr_value *v, struct sbuf *sb);
	void (*str)(pr_value *v, struct sbuf *sb); /* NULL: repr */
	int (*getattr)(pr_value *v, const char *name, pr_value **out, struct pr_diag *d);
	int (*pickle)(pr_value *v, struct pr_diag *d);
	int (*wire)(struct sbuf *sb, pr_value *v);
	/* a class: calling the object runs this __init__ with self the class
	 * (process_init makes an instance of it) */
	const pr_func *(*init)(void);
	/* an instance with __call__: calling it runs this with self the
	 * object (instance.c) */
	const pr_func *call;
	/* type(v).__name__ when it is the object's own (NULL: name) */
	const char *(*type_name)(const pr_value *v);
};
/* A new object of type t owning data (freed with t->free if this fails). */
pr_value *pr__object_new(const struct pr_objtype *t, void *data);
/* v's data if v is an object of type t, else NULL. */
void *pr__object_data(const pr_value *v, const struct pr_objtype *t);

/* str.isprintable() for one code point (unicode.c) */
int pr__unicode_printable(uint32_t c);

/* ---- Pipe() and its connections (connection.c), weakref.ref (weakref.c) */

pr_value *pr__pipe_global(void);
/* a Connection on fd, which it owns, as rebuild_connection() makes one in
 * a child; NULL when out of memory (fd closed) */
pr_value *pr__connection_from_fd(int fd, int readable, int writable);
/* Popen.duplicate_for_child(fd) while pr__wire_pass_begin() is in force:
 * fd goes to the child with the description, which carries *handle, how
 * the child finds it (spawn: the fd itself, kept open across exec;
 * forkserver: its index among the fds sent, from base).  PR_EUNSUPPORTED
 * at any other time (an executor's task, a queue). */
int pr__wire_pass_fd(int fd, uint64_t *handle);
void pr__wire_pass_begin(int by_index, size_t base);
/* the fds passed since pr__wire_pass_begin(), in order */
const int *pr__wire_passed(size_t *n);
void pr__wire_pass_end(void);
/* In a child, before pr__wire_load(): the fds it inherited by index
 * (forkserver), or NULL: a handle is the fd (spawn). */
void pr__wire_set_inherited(const int *fds, size_t n);
int pr__wire_inherited_fd(uint64_t handle);
/* v's fd if v is an open Connection (0), 1 if v is none, or OSError
 * "handle is closed" */
int pr__connection_fd(const pr_value *v, int *fd, struct pr_diag *d);
const pr_func *pr__weakref_ref_func(void);
/* whether any weak reference lives, and clear those to v, which goes */
int pr__weakref_any(void);
void pr__weakref_clear(const pr_value *v);

/* ---- the cycle collector (gc.c) ---------------------------------------- */

void pr__gc_track(pr_value *v);
void pr__gc_untrack(pr_value *v);
/* fn(r, arg) for every value r that v references directly */
void pr__value_visit(pr_value *v, void (*fn)(pr_value *, void *), void *arg);

/* ---- calls (call.c) ---------------------------------------------------- */

/* self._target(*self._args, **self._kwargs): args a tuple, kwargs a dict
 * or NULL. */
int pr__call_with(pr_value *func, pr_value *args, pr_value *kwargs, pr_value **out,
		  struct pr_diag *d);

/* ---- process objects (process.c, popen_fork.c) ------------------------- */

struct pr_popen;

/* A Popen class: popen_fork.Popen (popen_fork.c), popen_spawn_posix.Popen
 * (popen_spawn.c), popen_forkserver.Popen (forkserver.c). */
struct pr_start_method {
	const char *name;
	/* Popen.__init__(process_obj): start the child, fill *po */
	int (*launch)(struct pr_popen *po, pr_value *proc, struct pr_diag *d);
	/* Popen.poll(flag) when the class overrides it (forkserver);
	 * NULL: popen_fork's waitpid() */
	int (*poll)(struct pr_popen *po, int flag, int64_t *rc);
};

extern const struct pr_start_method pr__fork_method;
extern const struct pr_start_method pr__spawn_method;
extern const struct pr_start_method pr__forkserver_method;

struct pr_popen {
	const struct pr_start_method *method;
	pid_t pid;
	int has_returncode; /* returncode is not None */
	int64_t returncode; /* 64 bits: 3.6's fork server passes any code */
	int sentinel;       /* parent_r */
	int parent_w;
	int finalized; /* Finalize(util.close_fds) has run */
};

/* Popen.poll(flag): 1 with *rc once the exit code is known, 0 for None;
 * an OSError from waitpid() is swallowed, as CPython does. */
int pr__popen_poll(struct pr_popen *po, int flag, int64_t *rc);
/* Popen.wait(timeout), timeout NULL for None: 1 with *rc, 0 for None. */
int pr__popen_wait(struct pr_popen *po, pr_value *timeout, int64_t *rc, struct pr_diag *d);
int pr__popen_send_signal(struct pr_popen *po, int sig, struct pr_diag *d);
/* Popen.close(): the finalizer, closing the sentinel and parent_w once */
int pr__popen_close(struct pr_popen *po, struct pr_diag *d);
/* multiprocessing.connection.wait([fd], timeout), timeout a number:
 * 1 when fd is ready, 0 when the time ran out. */
int pr__wait_fd(int fd, pr_value *timeout, struct pr_diag *d);
/* The cleanup of a Popen._launch: close the ends of a pipe still open
 * (-1 for one already closed or handed on), as util.close_fds does. */
void pr__close_pipe(const int p[2]);

enum proc_kind { PROC_BASE, PROC_MAIN, PROC_PARENT };

struct pr_attr {
	char *name;
	pr_value *value;
};

struct pr_process {
	enum proc_kind kind;
	int64_t *identity; /* _identity */
	size_t nidentity;
	pr_value *name;         /* _name: any value, only the setter checks */
	pr_value *daemon;       /* _config['daemon'], NULL when absent */
	pr_value *authkey;      /* _config['authkey'], NULL when absent */
	pid_t parent_pid;       /* _parent_pid, 0 for None */
	pr_value *parent_name;  /* _parent_name */
	struct pr_popen *popen; /* _popen, NULL for None */
	int closed;             /* _closed */
	int target_deleted;     /* start() ran `del self._target, ...` */
	pr_value *target, *args, *kwargs;
	int sentinel;          /* _sentinel, -1 when the attribute is absent */
	pid_t pid;             /* _ParentProcess._pid */
	struct pr_attr *attrs; /* what else the instance __dict__ holds */
	size_t nattrs;
	int gate;      /* the driver's gate read end, -1 when none */
	pr_value *cls; /* type(self) when a subclass() made it, else NULL */
};

/* What process.py and util.py keep in module globals. */
struct pr_runtime {
	int initialized;
	pr_value *current;   /* _current_process */
	pr_value *running;   /* the process whose run() runs here, borrowed
			      * (p.run() in the main program: its gate is
			      * the behaviours' own) */
	pr_value *parent;    /* _parent_process, NULL for None */
	pr_value **children; /* _children, in insertion order */
	size_t nchildren, capchildren;
	int64_t counter; /* the next value of _process_counter */
	int exiting;     /* util._exiting */
	const struct pr_start_method *method;
	void (*after_fork)(void *);
	void *after_fork_arg;
	void (*warn)(const char *category, const char *message, void *arg);
	void *warn_arg;
	int exits_by_sys_exit;      /* a spawn child: spawn_main ends in sys.exit(code) */
	const char *exit_overflow;  /* _bootstrap's code does not fit os._exit()'s C int: why */
	int64_t exit_overflow_code; /* that code, when it fits an int64 (else -1) */
	char **atexit;              /* child.atexit_writes texts, in registration order */
	size_t natexit;
	void *threads; /* the non-daemon threads behaviours left running (behaviour.c) */
	int spawning;  /* get_spawning_popen() is set: an authkey pickles */
};
extern struct pr_runtime pr__rt;

/* ValueError('cannot find context for %r' % method) (executor.c) */
int pr__bad_context(pr_value *method, struct pr_diag *d);

void pr__process_free(pr_value *v);
void pr__process_visit(pr_value *v, void (*fn)(pr_value *, void *), void *arg);
void pr__process_clear(pr_value *v);
void pr__process_repr(pr_value *v, struct sbuf *sb);
const char *pr__process_type_name(const pr_value *v);
int pr__process_getattr(pr_value *obj, const char *name, pr_value **out, struct pr_diag *d);
/* Process.NAME for a method NAME: 1 and *out, 0 when NAME is no method,
 * or an error */
int pr__process_class_getattr(const char *name, pr_value **out, struct pr_diag *d);
int pr__process_setattr(pr_value *obj, const char *name, pr_value *v, struct pr_diag *d);
int pr__process_pickle_check(pr_value *v, struct pr_diag *d);
/* _MainProcess or _ParentProcess, not a Process */
int pr__process_is_main_or_parent(const pr_value *v);
/* TypeError: a weakref does not pickle, in the profile's words */
int pr__weakref_pickle_error(struct pr_diag *d);
void pr__children_discard(pr_value *p);
/* a _ParentProcess(name, pid, sentinel) */
pr_value *pr__parent_process_new(pr_value *name, pid_t pid, int sentinel);
/* isinstance(v, Process) for a process object v: a Process, not a
 * _MainProcess (but for 2.7's, a subclass), a _ParentProcess nor a
 * context's ForkProcess */
int pr__process_is_instance(const pr_value *v);
/* The builtins and module functions of builtin.c by name, NULL for others */
pr_value *pr__builtin_global(const char *name);

/* Classes subclass() made (subclass.c): whether v is one, its name, its
 * method `name` when it overrides it (NULL: the base's), and one read
 * back from the wire after its tag 'C'. */
int pr__is_subclass(const pr_value *v);
const char *pr__subclass_name(const pr_value *cls);
const pr_func *pr__subclass_method(const pr_value *cls, const char *name);
int pr__subclass_from_wire(const char **p, const char *end, pr_value **out);
/* A callable object (instance.c) from its wire form, after the 'O' */
int pr__callable_object_from_wire(const char **p, const char *end, pr_value **out);
/* A context's Process class (get_context('spawn').Process), and the start
 * method a class fixes (NULL: the default context's, at start()) */
pr_value *pr__context_class(const struct pr_start_method *m);
const struct pr_start_method *pr__subclass_start_method(const pr_value *cls);

/* The Process class's __init__ in the profile in force, for pr__class()
 * and the behaviours that create processes. */
const pr_func *pr__process_init(void);

/* ---- the child side (bootstrap.c) -------------------------------------- */

/* BaseProcess._bootstrap in a freshly forked child; returns the status
 * for _exit(). */
int pr__bootstrap(pr_value *proc, int parent_sentinel);
/* atexit._clear(), atexit._run_exitfuncs() for the child.atexit_writes
 * handlers; threading._shutdown() for the threads of child.leaves_thread
 * (behaviour.c) */
void pr__atexit_clear(void);
void pr__atexit_run(void);
void pr__threads_join(void);
void pr__threads_forget(void);

/* ---- spawn and forkserver (wire.c, popen_spawn.c, spawn_main.c,
 * forkserver.c) --------------------------------------------------------- */

/* A value (NULL too) onto sb; PR_EUNSUPPORTED for a kind that cannot go. */
int pr__wire_put(struct sbuf *sb, pr_value *v);
/* The preparation data and process description of proc, with fds[3]
 * (gate, stdout, stderr: fd numbers or slots, -1 for none). */
int pr__wire_describe(struct sbuf *sb, pr_value *proc, const int fds[3]);
/* The other side: spawn.prepare() into the running library, then a new
 * process object in *out and the three fds. */
int pr__wire_load(const char *data, size_t len, pr_value **out, int fds[3], struct pr_diag *d);
/* The pieces of the format, for the executor's call and result items
 * (executor.c): get functions advance *p, fail with PR_EVALUE past end. */
void pr__wire_put_u64(struct sbuf *sb, uint64_t n);
void pr__wire_put_blob(struct sbuf *sb, const void *data, size_t len);
int pr__wire_get(const char **p, const char *end, pr_value **out);
int pr__wire_get_u64(const char **p, const char *end, uint64_t *n);
int pr__wire_get_blob(const char **p, const char *end, const char **data, size_t *len);
/* The objects the executor sends (tag 'G' gate, 'W' worker handle, 'E'
 * exception, task.c), after their tag. */
int pr__wire_get_object(char tag, const char **p, const char *end, pr_value **out);
/* A task behaviour or the executor's worker function by its __qualname__
 * ("task.returns", "_process_worker"); NULL for any other name. */
pr_value *pr__task_by_name(const char *name);
/* multiprocessing.set_executable(path): exec'd as given, unchecked */
int pr__set_program_executable(const char *path);
/* A bare Process object, for a description to fill. */
pr_value *pr__process_new(void);
/* The most arguments pr__child_start() passes on. */
#define PR__CHILD_MAX_ARGS 4
/*
 * spawn.get_command_line() run through util.spawnv_passfds(): procref-child
 * (pr_get_executable()) with the profile's flag, then args (NULL-ended, at
 * most PR__CHILD_MAX_ARGS), with only fds 0-2 and fds[0..nfds-1] open.
 * *out is its pid.  Fails, d filled, when there is no program to run
 * (FileNotFoundError naming it) or nothing could be started; a failed exec
 * is not an error (CPython's way: the child exits 255).
 */
int pr__child_start(char *const args[], const int *fds, size_t nfds, pid_t *out, struct pr_diag *d);
int pr__spawnv_passfds(const char *path, char *const argv[], const int *fds, size_t nfds,
		       pid_t *out);
/* The exception a failed write of the process data raises (BufferedWriter's
 * words for EAGAIN). */
int pr__diag_data_write(struct pr_diag *d, int err);
int pr__write_all(int fd, const void *buf, size_t len);
int pr__spawn_pickle_check(pr_value *proc, struct pr_diag *d);
int pr__spawn_payload(pr_value *proc, const int fds[3], struct sbuf *sb, struct pr_diag *d);
/* spawn._main(fd, parent_sentinel) in a child; the exit status. */
/* *bootstrapped (may be NULL) tells whether the child got as far as
 * _bootstrap, or failed before it (spawn._main's prepare/unpickle). */
int pr__spawn_child(int fd, int parent_sentinel, int *bootstrapped, const int *inherited,
		    size_t ninherited);
/* forkserver.main(); the exit status. */
int pr__forkserver_main(int listener, int alive_r, const char *address);

/* ---- sys.stdout and sys.stderr (stream.c) ------------------------------ */

/* sys.stdout is block-buffered (fd 1 is a file or pipe here) and
 * sys.stderr line-buffered, as CPython 3.9+ sets them up when they are no
 * terminals. */
enum { PR_STDOUT, PR_STDERR };
int pr__stream_write(int which, const char *data, size_t len);
int pr__stream_flush(int which);
/* sys.stdout or sys.stderr replaced by a stream that writes nowhere */
void pr__stream_break(int which, int removed);
/* whether it was replaced by None, not by a closed stream */
int pr__stream_removed(int which);
/* util._flush_std_streams() */
int pr__flush_std_streams(void);
void pr__streams_fini(void);

/* ---- errors (error.c) -------------------------------------------------- */

/* SystemExit(*args) into d: .code is None without args, else args[0]. */
int pr__diag_system_exit(struct pr_diag *d, pr_value *code, int has_args);
/* d for a message given with its length (it may hold NUL bytes). */
int pr__diag_setn(struct pr_diag *d, int code, const char *type, const char *msg, size_t len);
int pr__diag_vset(struct pr_diag *d, int code, const char *type, const char *fmt, va_list ap);

#endif

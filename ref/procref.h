/*
 * libprocref: a reference implementation in C of the process lifecycle of
 * Python's multiprocessing (CPython 3.11, Lib/multiprocessing/process.py,
 * popen_fork.py, util._exit_function), fork start method.
 *
 * Values are reference-counted Python-like objects (pr_value).  Every call
 * that can fail returns 0 or a negative code (PR_E* below, or -errno for a
 * failed system call) and fills a caller-owned struct pr_exc with the
 * Python exception CPython would raise: its class name and str().
 */
#ifndef PROCREF_H
#define PROCREF_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* X(NAME, value, Python exception class) */
#define PR_ERRNO_MAP(X)                                 \
	X(PR_EASSERT,    -2001, "AssertionError")       \
	X(PR_EVALUE,     -2002, "ValueError")           \
	X(PR_ETYPE,      -2003, "TypeError")            \
	X(PR_EATTR,      -2004, "AttributeError")       \
	X(PR_EOVERFLOW,  -2005, "OverflowError")        \
	X(PR_ENAME,      -2006, "NameError")            \
	X(PR_ERUNTIME,   -2007, "RuntimeError")

enum pr_errno {
#define PR_ENUM_(n, v, c) n = v,
	PR_ERRNO_MAP(PR_ENUM_)
#undef PR_ENUM_
};

struct pr_exc {
	int code;		/* 0 when nothing was raised */
	char type[40];		/* "AssertionError", "ProcessLookupError", ... */
	char msg[512];		/* str() of the exception */
};

/* Raise: fill e with code's class (for -errno, CPython's OSError subclass and
 * "[Errno N] strerror" unless fmt is given) and return code. */
int pr_raise(struct pr_exc *e, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Raise an exception of any named class (a child behaviour's). */
int pr_raise_named(struct pr_exc *e, const char *type, const char *msg);

/* ---- values ---------------------------------------------------------- */

enum pr_kind {
	PR_NONE, PR_BOOL, PR_INT, PR_FLOAT, PR_STR, PR_BYTES, PR_TUPLE, PR_LIST, PR_DICT,
	PR_PROCESS, PR_BEHAVIOUR, PR_AUTHKEY,
};

struct pr_process;

struct pr_value {
	enum pr_kind kind;
	int refs;
	long long i;		/* BOOL, INT */
	double f;		/* FLOAT */
	char *s;		/* STR (UTF-8), BYTES, AUTHKEY; BEHAVIOUR: its name */
	size_t len;
	struct pr_value **items;	/* TUPLE, LIST; DICT: key, value, ... */
	size_t n;
	struct pr_process *proc;	/* PROCESS */
};

struct pr_value *pr_none(void);
struct pr_value *pr_bool(bool b);
struct pr_value *pr_int(long long i);
struct pr_value *pr_float(double f);
struct pr_value *pr_str(const char *s, size_t len);
struct pr_value *pr_bytes(const void *s, size_t len, enum pr_kind kind);	/* BYTES or AUTHKEY */
struct pr_value *pr_seq(enum pr_kind kind, size_t n);	/* TUPLE, LIST, DICT: items zeroed */
struct pr_value *pr_behaviour(const char *name);
struct pr_value *pr_ref(struct pr_value *v);
void pr_unref(struct pr_value *v);

bool pr_truthy(const struct pr_value *v);
/* repr() and str(), malloc'd (NULL only when out of memory). */
char *pr_repr(const struct pr_value *v);
char *pr_str_of(const struct pr_value *v);

/* ---- processes ------------------------------------------------------- */

/* Set up the calling process as a main program (_MainProcess): a fresh
 * authkey, counter and children.  Call once per scenario process. */
int pr_init(struct pr_exc *e);

/* Process(group, target, name, args, kwargs, daemon): any argument may be
 * NULL for its default.  *out is a new PR_PROCESS value. */
int pr_process_new(struct pr_value *group, struct pr_value *target, struct pr_value *name,
		   struct pr_value *args, struct pr_value *kwargs, struct pr_value *daemon,
		   struct pr_value **out, struct pr_exc *e);

int pr_process_start(struct pr_process *p, struct pr_exc *e);
/* timeout: NULL (or None) waits for ever. */
int pr_process_join(struct pr_process *p, struct pr_value *timeout, struct pr_exc *e);
int pr_process_is_alive(struct pr_process *p, bool *alive, struct pr_exc *e);
int pr_process_terminate(struct pr_process *p, struct pr_exc *e);
int pr_process_kill(struct pr_process *p, struct pr_exc *e);
int pr_process_close(struct pr_process *p, struct pr_exc *e);
/* Attribute read (name, daemon, pid, ident, exitcode, sentinel, authkey) and write
 * (name, daemon, authkey). *out is a new reference. */
int pr_process_getattr(struct pr_process *p, const char *attr, struct pr_value **out,
		       struct pr_exc *e);
int pr_process_setattr(struct pr_process *p, const char *attr, struct pr_value *v,
		       struct pr_exc *e);

struct pr_value *pr_current_process(void);	/* new reference */
struct pr_value *pr_parent_process(void);	/* new reference, None in the main program */
int pr_active_children(struct pr_value **out, struct pr_exc *e);	/* a new list */

/* util._exit_function: terminate daemonic children, join the others. */
void pr_exit_function(void);
/* Drop every process the library itself holds on to (the children set). */
void pr_release_all(void);

/* pickle as multiprocessing would send it: 0, or TypeError for an authkey. */
int pr_pickle_check(const struct pr_value *v, struct pr_exc *e);

/* ---- hooks for a driver ---------------------------------------------- */

/* A fd inherited through every process p starts (the scenario's gate):
 * set on p; a process created inside a child inherits its creator's. */
void pr_process_set_gate(struct pr_process *p, int read_fd);
int pr_current_gate(void);
/* Called first thing in every child after fork, before the target runs. */
void pr_set_after_fork(void (*fn)(void *), void *arg);

/* ---- child behaviours (child.* in scenarios) --------------------------- */

/* True if name is a behaviour libprocref provides. */
bool pr_behaviour_exists(const char *name);

#endif

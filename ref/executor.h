/*
 * libprocref's private declarations for concurrent.futures: the executor
 * (executor.c) and the objects its scenarios hand around (task.c).
 */
#ifndef PROCREF_EXECUTOR_H
#define PROCREF_EXECUTOR_H

#include "internal.h"

/* The class task.raises_unpicklable() raises (tools/pydriver.py's). */
#define PR__UNPICKLABLE_CLASS "TwoArgError"

/* ---- exceptions as values (task.c) ------------------------------------- */

/* An exception of class type with args (a tuple, consumed); str() as
 * BaseException.__str__.  NULL when memory runs out. */
pr_value *pr__exc_new(const char *type, pr_value *args);
/* type(message), or type() for NULL or "" */
pr_value *pr__exc_msg(const char *type, const char *message);
/* The exception a diag describes. */
pr_value *pr__exc_from_diag(const struct pr_diag *d);
/* raise v: its class and str() into d; returns the code. */
int pr__exc_raise(pr_value *v, struct pr_diag *d);
int pr__is_exc(const pr_value *v);
const char *pr__exc_type(const pr_value *v);
/* v.__cause__ = cause (consumed); the cause, borrowed, or NULL. */
void pr__exc_set_cause(pr_value *v, pr_value *cause);
pr_value *pr__exc_cause(const pr_value *v);
/* traceback.format_exception_only's line: "Type: message\n" */
void pr__exc_line(struct sbuf *sb, const char *type, const char *message, size_t len);
/* A whole traceback of d raised in function where. */
void pr__exc_traceback(struct sbuf *sb, const char *where, const struct pr_diag *d);

/* ---- task.c ------------------------------------------------------------ */

pr_value *pr__worker_new(pid_t pid);
/* The TypeError pickling a lock raises, worded for the profile. */
int pr__pickle_error_lock(struct pr_diag *d);
/* In a forked worker: close the scenario's gate fds. */
void pr__gates_after_fork(void);
/* Set by task.raises_unpicklable() in the worker, cleared by the worker
 * loop when it sends the exception. */
extern int pr__raised_unpicklable;

/* ---- executor.c -------------------------------------------------------- */

/* "_process_worker" and "_process_chunk" by name, for the wire; NULL for
 * other names. */
pr_value *pr__executor_function(const char *name);
/* Let every executor's manager catch up, as their threads would while the
 * caller waits for something else (a gate). */
void pr__executors_pump(void);
/* ProcessPoolExecutor, get_context, list, next; NULL for other names. */
pr_value *pr__executor_global(const char *name);

#endif

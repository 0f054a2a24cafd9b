/*
 * The process object: multiprocessing.process.BaseProcess with
 * popen_fork.Popen, as CPython 3.11 has them.  Each function follows the
 * CPython method it is named after, check for check, in the same order,
 * with the same exception class and message.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "procref.h"

enum pr_ptype { PR_T_PROCESS, PR_T_MAIN, PR_T_PARENT };

/* popen_fork.Popen */
struct pr_popen {
	pid_t pid;
	bool has_returncode;
	int returncode;
	int sentinel;		/* parent_r */
	int parent_w;		/* kept open until close(), as the Finalize does */
};

struct pr_process {
	enum pr_ptype type;
	struct pr_value *self;	/* the PR_PROCESS value that owns this (weak) */
	long *identity;
	size_t n_identity;
	struct pr_value *name;
	pid_t parent_pid;	/* 0 for None */
	char *parent_name;
	struct pr_value *daemon;	/* _config['daemon'], NULL when unset */
	struct pr_value *authkey;	/* _config['authkey'] */
	struct pr_value *target, *args, *kwargs;
	bool closed;
	struct pr_popen *popen;
	bool has_sentinel;
	int sentinel;		/* _sentinel */
	pid_t pid;		/* _ParentProcess._pid */
	int gate;		/* the scenario's gate, inherited by children */
};

/* Module state of multiprocessing.process, per process. */
static struct pr_value *current;	/* _current_process */
static struct pr_value *parent;	/* _parent_process, NULL for None */
static long counter = 1;		/* _process_counter */
static struct pr_value **children;	/* _children */
static size_t n_children;
static void (*after_fork_fn)(void *);
static void *after_fork_arg;

/* Names of signal exit codes, as CPython 3.11's _exitcode_to_name has them. */
static const char *const signames[65] = {
	[1] = "SIGHUP", [2] = "SIGINT", [3] = "SIGQUIT", [4] = "SIGILL", [5] = "SIGTRAP",
	[6] = "SIGABRT", [7] = "SIGBUS", [8] = "SIGFPE", [9] = "SIGKILL", [10] = "SIGUSR1",
	[11] = "SIGSEGV", [12] = "SIGUSR2", [13] = "SIGPIPE", [14] = "SIGALRM", [15] = "SIGTERM",
	[16] = "SIGSTKFLT", [17] = "SIGCHLD", [18] = "SIGCONT", [19] = "SIGSTOP", [20] = "SIGTSTP",
	[21] = "SIGTTIN", [22] = "SIGTTOU", [23] = "SIGURG", [24] = "SIGXCPU", [25] = "SIGXFSZ",
	[26] = "SIGVTALRM", [27] = "SIGPROF", [28] = "SIGWINCH", [29] = "SIGPOLL", [30] = "SIGPWR",
	[31] = "SIGSYS", [34] = "SIGRTMIN", [64] = "SIGRTMAX",
};

/* ---- exceptions ---- */

static const char *oserror_class(int err)
{
	switch (err) {
	case EAGAIN: return "BlockingIOError";
	case ECHILD: return "ChildProcessError";
	case ESRCH: return "ProcessLookupError";
	case EPERM: case EACCES: return "PermissionError";
	case EINTR: return "InterruptedError";
	case ENOENT: return "FileNotFoundError";
	case EEXIST: return "FileExistsError";
	case EPIPE: case ESHUTDOWN: return "BrokenPipeError";
	case ECONNREFUSED: return "ConnectionRefusedError";
	case ECONNRESET: return "ConnectionResetError";
	case ETIMEDOUT: return "TimeoutError";
	case EISDIR: return "IsADirectoryError";
	case ENOTDIR: return "NotADirectoryError";
	}
	return "OSError";
}

int pr_raise(struct pr_exc *e, int code, const char *fmt, ...)
{
	va_list ap;
	const char *cls = NULL;

	e->code = code;
	switch (code) {
#define PR_CLS_(n, v, c) case n: cls = c; break;
	PR_ERRNO_MAP(PR_CLS_)
#undef PR_CLS_
	}
	if (!cls)
		cls = oserror_class(-code);
	snprintf(e->type, sizeof(e->type), "%s", cls);
	if (fmt) {
		va_start(ap, fmt);
		vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
		va_end(ap);
	} else if (code < 0 && code > -2000) {
		snprintf(e->msg, sizeof(e->msg), "[Errno %d] %s", -code, strerror(-code));
	} else {
		e->msg[0] = '\0';
	}
	return code;
}

int pr_raise_named(struct pr_exc *e, const char *type, const char *msg)
{
	e->code = PR_ERUNTIME;
	snprintf(e->type, sizeof(e->type), "%s", type);
	snprintf(e->msg, sizeof(e->msg), "%s", msg);
	return e->code;
}

static int no_memory(struct pr_exc *e)
{
	e->code = -ENOMEM;
	snprintf(e->type, sizeof(e->type), "MemoryError");
	e->msg[0] = '\0';
	return -ENOMEM;
}

void pr__write_all(int fd, const char *s, size_t n)
{
	ssize_t w;

	while (n) {
		do w = write(fd, s, n); while (w == -1 && errno == EINTR);
		if (w <= 0)
			return;
		s += w;
		n -= (size_t)w;
	}
}

/* ---- objects ---- */

static struct pr_value *process_value(enum pr_ptype type)
{
	struct pr_value *v = pr_seq(PR_PROCESS, 0);
	struct pr_process *p;

	if (!v)
		return NULL;
	p = calloc(1, sizeof(*p));
	if (!p) {
		pr_unref(v);
		return NULL;
	}
	p->type = type;
	p->self = v;
	p->gate = -1;
	p->sentinel = -1;
	v->proc = p;
	return v;
}

static void popen_close(struct pr_popen *po)
{
	if (!po)
		return;
	if (po->sentinel >= 0)
		close(po->sentinel);
	if (po->parent_w >= 0)
		close(po->parent_w);
	free(po);
}

void pr__process_free(struct pr_process *p)
{
	if (!p)
		return;
	/* What the Popen finalizer does when the object is collected. */
	popen_close(p->popen);
	free(p->identity);
	pr_unref(p->name);
	free(p->parent_name);
	pr_unref(p->daemon);
	pr_unref(p->authkey);
	pr_unref(p->target);
	pr_unref(p->args);
	pr_unref(p->kwargs);
	free(p);
}

int pr_init(struct pr_exc *e)
{
	unsigned char key[32];
	struct pr_process *m;
	size_t got = 0;
	ssize_t r;

	pr_release_all();
	pr_unref(current);
	pr_unref(parent);
	current = parent = NULL;
	counter = 1;
	while (got < sizeof(key)) {
		r = getrandom(key + got, sizeof(key) - got, 0);
		if (r < 0 && errno != EINTR)
			return pr_raise(e, -errno, NULL);
		if (r > 0)
			got += (size_t)r;
	}
	current = process_value(PR_T_MAIN);
	if (!current)
		return no_memory(e);
	m = current->proc;
	m->name = pr_str("MainProcess", 11);
	m->authkey = pr_bytes(key, sizeof(key), PR_AUTHKEY);
	if (!m->name || !m->authkey)
		return no_memory(e);
	return 0;
}

void pr_release_all(void)
{
	size_t i;

	for (i = 0; i < n_children; i++)
		pr_unref(children[i]);
	free(children);
	children = NULL;
	n_children = 0;
}

static void children_add(struct pr_value *v)
{
	size_t i;
	struct pr_value **c;

	for (i = 0; i < n_children; i++)
		if (children[i] == v)
			return;
	c = realloc(children, (n_children + 1) * sizeof(*c));
	if (!c)
		return;
	children = c;
	children[n_children++] = pr_ref(v);
}

static void children_discard(struct pr_value *v)
{
	size_t i;

	for (i = 0; i < n_children; i++) {
		if (children[i] == v) {
			memmove(children + i, children + i + 1, (n_children - i - 1) * sizeof(*children));
			n_children--;
			pr_unref(v);
			return;
		}
	}
}

/* ---- popen_fork.Popen ---- */

/* Popen.poll(flag): swallows waitpid's OSError and answers None, as CPython does. */
static bool popen_poll(struct pr_popen *po, int flag)
{
	int st;
	pid_t r;

	if (!po->has_returncode) {
		do r = waitpid(po->pid, &st, flag); while (r == -1 && errno == EINTR);
		if (r == po->pid) {
			po->has_returncode = true;
			po->returncode = WIFSIGNALED(st) ? -WTERMSIG(st) : WEXITSTATUS(st);
		}
	}
	return po->has_returncode;
}

/* Popen.wait(timeout); timeout < 0 means None. */
static bool popen_wait(struct pr_popen *po, double timeout)
{
	struct pollfd pfd = { .fd = po->sentinel, .events = POLLIN };
	struct timespec t0, t1;
	int r, ms;

	if (po->has_returncode)
		return true;
	if (timeout >= 0) {
		/* multiprocessing.connection.wait([sentinel], timeout) */
		clock_gettime(CLOCK_MONOTONIC, &t0);
		for (;;) {
			clock_gettime(CLOCK_MONOTONIC, &t1);
			ms = (int)((timeout - ((double)(t1.tv_sec - t0.tv_sec) +
					       (double)(t1.tv_nsec - t0.tv_nsec) / 1e9)) * 1000.0 + 0.999);
			r = poll(&pfd, 1, ms < 0 ? 0 : ms);
			if (r >= 0 || errno != EINTR)
				break;
		}
		if (r <= 0)
			return false;
	}
	return popen_poll(po, timeout == 0.0 ? WNOHANG : 0);
}

/* Popen._send_signal */
static int popen_send_signal(struct pr_popen *po, int sig, struct pr_exc *e)
{
	if (po->has_returncode)
		return 0;
	if (kill(po->pid, sig) == 0 || errno == ESRCH)
		return 0;
	{
		int err = errno;

		if (!popen_wait(po, 0.1))
			return pr_raise(e, -err, NULL);
	}
	return 0;
}

/* ---- _bootstrap, in the child ---- */

static void print_exception(const char *name, const struct pr_exc *x)
{
	struct pr_sb b = PR_SB_INIT;
	char *s;

	pr__sb_printf(&b, "Process %s:\nTraceback (most recent call last):\n"
		      "  File \"<procref>\", line 1, in run\n%s%s%s\n", name, x->type,
		      x->msg[0] ? ": " : "", x->msg);
	s = pr__sb_done(&b);
	if (s)
		pr__write_all(2, s, strlen(s));
	free(s);
}

static int bootstrap(struct pr_value *self, int parent_sentinel)
{
	struct pr_process *p = self->proc, *pp;
	struct pr_outcome out = { 0 };
	struct pr_value *old = current;
	char *name;
	int code = 0, fd;

	counter = 1;
	/* The children set is the parent's: forget it without touching them. */
	free(children);
	children = NULL;
	n_children = 0;
	/* util._close_stdin */
	fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		dup2(fd, 0);
		close(fd);
	}
	current = pr_ref(self);
	pr_unref(old);
	pr_unref(parent);
	parent = process_value(PR_T_PARENT);
	if (parent) {
		pp = parent->proc;
		pp->name = pr_str(p->parent_name, strlen(p->parent_name));
		pp->pid = p->parent_pid;
		pp->sentinel = parent_sentinel;
		pp->has_sentinel = true;
	}
	if (after_fork_fn)
		after_fork_fn(after_fork_arg);
	if (p->target && p->target->kind == PR_BEHAVIOUR)
		pr__behaviour_run(p->target->s, p->args, p->kwargs, &out);
	/* util._exit_function runs in the finally: before the exit code is chosen. */
	pr_exit_function();
	if (out.kind == PR_OUT_SYSTEMEXIT) {
		struct pr_value *c = out.code;

		if (!c || c->kind == PR_NONE) {
			code = 0;
		} else if (c->kind == PR_INT || c->kind == PR_BOOL) {
			code = (int)c->i;
		} else {
			name = pr_str_of(c);
			if (name) {
				pr__write_all(2, name, strlen(name));
				pr__write_all(2, "\n", 1);
			}
			free(name);
			code = 1;
		}
		pr_unref(out.code);
	} else if (out.kind == PR_OUT_EXCEPTION) {
		name = pr_str_of(p->name);
		print_exception(name ? name : "?", &out.exc);
		free(name);
		code = 1;
	}
	return code;
}

/* ---- BaseProcess ---- */

static int check_closed(struct pr_process *p, struct pr_exc *e)
{
	if (p->closed)
		return pr_raise(e, PR_EVALUE, "process object is closed");
	return 0;
}

int pr_process_new(struct pr_value *group, struct pr_value *target, struct pr_value *name,
		   struct pr_value *args, struct pr_value *kwargs, struct pr_value *daemon,
		   struct pr_value **out, struct pr_exc *e)
{
	struct pr_process *cur = current->proc, *p;
	struct pr_value *v;
	struct pr_sb b = PR_SB_INIT;
	size_t i;
	char *s;

	if (group && group->kind != PR_NONE)
		return pr_raise(e, PR_EASSERT, "group argument must be None for now");
	if (args && args->kind != PR_TUPLE && args->kind != PR_LIST)
		return pr_raise(e, PR_ETYPE, "'%s' object is not iterable",
				args->kind == PR_INT ? "int" : args->kind == PR_NONE ? "NoneType" :
				args->kind == PR_FLOAT ? "float" : args->kind == PR_BOOL ? "bool" :
				"object");
	if (kwargs && kwargs->kind != PR_DICT && kwargs->kind != PR_NONE)
		return pr_raise(e, PR_ETYPE, "cannot convert dictionary update sequence element #0 to a sequence");
	v = process_value(PR_T_PROCESS);
	if (!v)
		return no_memory(e);
	p = v->proc;
	p->identity = calloc(cur->n_identity + 1, sizeof(*p->identity));
	if (!p->identity)
		goto nomem;
	for (i = 0; i < cur->n_identity; i++)
		p->identity[i] = cur->identity[i];
	p->identity[cur->n_identity] = counter++;	/* next(_process_counter) */
	p->n_identity = cur->n_identity + 1;
	p->daemon = pr_ref(cur->daemon);	/* _config.copy() */
	p->authkey = pr_ref(cur->authkey);
	p->gate = cur->gate;
	p->parent_pid = getpid();
	s = pr_str_of(cur->name);
	p->parent_name = s;
	p->target = target && target->kind != PR_NONE ? pr_ref(target) : NULL;
	if (args) {
		p->args = pr_seq(PR_TUPLE, args->n);	/* tuple(args) */
		for (i = 0; p->args && i < args->n; i++)
			p->args->items[i] = pr_ref(args->items[i]);
	} else {
		p->args = pr_seq(PR_TUPLE, 0);
	}
	p->kwargs = kwargs && kwargs->kind == PR_DICT ? pr_ref(kwargs) : NULL;
	if (name && pr_truthy(name)) {
		p->name = pr_ref(name);
	} else {
		pr__sb_add(&b, "Process-", 8);
		for (i = 0; i < p->n_identity; i++)
			pr__sb_printf(&b, "%s%ld", i ? ":" : "", p->identity[i]);
		s = pr__sb_done(&b);
		p->name = s ? pr_str(s, strlen(s)) : NULL;
		free(s);
	}
	if (!p->parent_name || !p->args || !p->name)
		goto nomem;
	if (daemon && daemon->kind != PR_NONE) {
		pr_unref(p->daemon);
		p->daemon = pr_ref(daemon);
	}
	*out = v;
	return 0;
nomem:
	pr_unref(v);
	return no_memory(e);
}

int pr_process_start(struct pr_process *p, struct pr_exc *e)
{
	int pr_[2] = { -1, -1 }, cw[2] = { -1, -1 }, r, err;
	struct pr_popen *po;
	size_t i;
	pid_t pid;

	r = check_closed(p, e);
	if (r)
		return r;
	if (p->popen)
		return pr_raise(e, PR_EASSERT, "cannot start a process twice");
	if (p->parent_pid != getpid())
		return pr_raise(e, PR_EASSERT, "can only start a process object created by current process");
	if (current->proc->daemon && pr_truthy(current->proc->daemon))
		return pr_raise(e, PR_EASSERT, "daemonic processes are not allowed to have children");
	/* _cleanup() */
	for (i = n_children; i-- > 0;)
		if (popen_poll(children[i]->proc->popen, WNOHANG))
			children_discard(children[i]);
	/* Popen._launch: os.pipe() is pipe2(O_CLOEXEC) */
	if (pipe2(pr_, O_CLOEXEC) || pipe2(cw, O_CLOEXEC)) {
		err = errno;
		goto fail;
	}
	po = calloc(1, sizeof(*po));
	if (!po) {
		err = ENOMEM;
		goto fail;
	}
	pid = fork();
	if (pid < 0) {
		/* CPython 3.11 leaks the four pipe fds here; libprocref closes them. */
		err = errno;
		free(po);
		goto fail;
	}
	if (pid == 0) {
		free(po);	/* the parent's bookkeeping, not the child's */
		close(pr_[0]);
		close(cw[1]);
		_exit(bootstrap(p->self, cw[0]) & 0xff);
	}
	close(pr_[1]);
	close(cw[0]);
	po->pid = pid;
	po->sentinel = pr_[0];
	po->parent_w = cw[1];
	p->popen = po;
	p->sentinel = pr_[0];
	p->has_sentinel = true;
	/* del self._target, self._args, self._kwargs */
	pr_unref(p->target);
	pr_unref(p->args);
	pr_unref(p->kwargs);
	p->target = p->args = p->kwargs = NULL;
	children_add(p->self);
	return 0;
fail:
	for (i = 0; i < 2; i++) {
		if (pr_[i] >= 0)
			close(pr_[i]);
		if (cw[i] >= 0)
			close(cw[i]);
	}
	return pr_raise(e, -err, NULL);
}

static double timeout_of(struct pr_value *t, struct pr_exc *e, int *r)
{
	*r = 0;
	if (!t || t->kind == PR_NONE)
		return -1.0;
	if (t->kind == PR_INT || t->kind == PR_BOOL)
		return t->i < 0 ? 0.0 : (double)t->i;
	if (t->kind == PR_FLOAT)
		return t->f < 0 ? 0.0 : t->f;
	*r = pr_raise(e, PR_ETYPE, "'<' not supported between instances of 'str' and 'int'");
	return 0;
}

int pr_process_join(struct pr_process *p, struct pr_value *timeout, struct pr_exc *e)
{
	double t;
	int r = check_closed(p, e);

	if (r)
		return r;
	if (p->parent_pid != getpid())
		return pr_raise(e, PR_EASSERT, "can only join a child process");
	if (!p->popen)
		return pr_raise(e, PR_EASSERT, "can only join a started process");
	t = timeout_of(timeout, e, &r);
	if (r)
		return r;
	if (popen_wait(p->popen, t))
		children_discard(p->self);
	return 0;
}

int pr_process_is_alive(struct pr_process *p, bool *alive, struct pr_exc *e)
{
	int r = check_closed(p, e);

	if (r)
		return r;
	if (p->self == current) {
		*alive = true;
		return 0;
	}
	if (p->type == PR_T_PARENT) {
		struct pollfd pfd = { .fd = p->sentinel, .events = POLLIN };

		*alive = poll(&pfd, 1, 0) == 0;
		return 0;
	}
	if (p->parent_pid != getpid())
		return pr_raise(e, PR_EASSERT, "can only test a child process");
	if (!p->popen) {
		*alive = false;
		return 0;
	}
	*alive = !popen_poll(p->popen, WNOHANG);
	if (!*alive)
		children_discard(p->self);
	return 0;
}

static int send_signal(struct pr_process *p, int sig, const char *meth, struct pr_exc *e)
{
	int r = check_closed(p, e);

	if (r)
		return r;
	if (!p->popen)
		return pr_raise(e, PR_EATTR, "'NoneType' object has no attribute '%s'", meth);
	return popen_send_signal(p->popen, sig, e);
}

int pr_process_terminate(struct pr_process *p, struct pr_exc *e)
{
	return send_signal(p, SIGTERM, "terminate", e);
}

int pr_process_kill(struct pr_process *p, struct pr_exc *e)
{
	return send_signal(p, SIGKILL, "kill", e);
}

int pr_process_close(struct pr_process *p, struct pr_exc *e)
{
	if (p->type == PR_T_MAIN)
		return 0;	/* _MainProcess.close does nothing */
	if (p->popen) {
		if (!popen_poll(p->popen, WNOHANG))
			return pr_raise(e, PR_EVALUE, "Cannot close a process while it is still running. "
					"You should first call join() or terminate().");
		popen_close(p->popen);
		p->popen = NULL;
		p->has_sentinel = false;
		p->sentinel = -1;
		children_discard(p->self);
	}
	p->closed = true;
	return 0;
}

static struct pr_value *pid_value(pid_t pid)
{
	return pid ? pr_int(pid) : pr_none();
}

int pr_process_getattr(struct pr_process *p, const char *attr, struct pr_value **out,
		       struct pr_exc *e)
{
	int r;

	*out = NULL;
	if (!strcmp(attr, "name")) {
		*out = pr_ref(p->name);
	} else if (!strcmp(attr, "daemon")) {
		*out = p->daemon ? pr_ref(p->daemon) : pr_bool(false);
	} else if (!strcmp(attr, "authkey")) {
		if (!p->authkey)
			return pr_raise(e, -ENOENT, "KeyError: 'authkey'");
		*out = pr_ref(p->authkey);
	} else if (!strcmp(attr, "exitcode")) {
		if ((r = check_closed(p, e)))
			return r;
		*out = p->popen && popen_poll(p->popen, WNOHANG) ? pr_int(p->popen->returncode) : pr_none();
	} else if (!strcmp(attr, "pid") || !strcmp(attr, "ident")) {
		if ((r = check_closed(p, e)))
			return r;
		if (p->self == current)
			*out = pr_int(getpid());
		else if (p->type == PR_T_PARENT)
			*out = pid_value(p->pid);
		else
			*out = p->popen ? pr_int(p->popen->pid) : pr_none();
	} else if (!strcmp(attr, "sentinel")) {
		if ((r = check_closed(p, e)))
			return r;
		if (!p->has_sentinel)
			return pr_raise(e, PR_EVALUE, "process not started");
		*out = pr_int(p->sentinel);
	} else {
		return pr_raise(e, PR_EATTR, "'%s' object has no attribute '%s'",
				p->type == PR_T_MAIN ? "_MainProcess" :
				p->type == PR_T_PARENT ? "_ParentProcess" : "Process", attr);
	}
	return *out ? 0 : no_memory(e);
}

int pr_process_setattr(struct pr_process *p, const char *attr, struct pr_value *v,
		       struct pr_exc *e)
{
	struct pr_value *key;
	size_t i;

	if (!strcmp(attr, "name")) {
		if (v->kind != PR_STR)
			return pr_raise(e, PR_EASSERT, "name must be a string");
		pr_unref(p->name);
		p->name = pr_ref(v);
	} else if (!strcmp(attr, "daemon")) {
		if (p->popen)
			return pr_raise(e, PR_EASSERT, "process has already started");
		pr_unref(p->daemon);
		p->daemon = pr_ref(v);
	} else if (!strcmp(attr, "authkey")) {
		/* AuthenticationString(authkey) is bytes(authkey) */
		if (v->kind == PR_BYTES || v->kind == PR_AUTHKEY) {
			key = pr_bytes(v->s, v->len, PR_AUTHKEY);
		} else if (v->kind == PR_INT || v->kind == PR_BOOL) {
			if (v->i < 0)
				return pr_raise(e, PR_EVALUE, "negative count");
			key = pr_seq(PR_NONE, 0);
			pr_unref(key);
			key = NULL;
			{
				char *z = calloc((size_t)v->i + 1, 1);

				if (!z)
					return no_memory(e);
				key = pr_bytes(z, (size_t)v->i, PR_AUTHKEY);
				free(z);
			}
		} else if (v->kind == PR_STR) {
			return pr_raise(e, PR_ETYPE, "string argument without an encoding");
		} else if (v->kind == PR_TUPLE || v->kind == PR_LIST) {
			char *z = malloc(v->n + 1);

			if (!z)
				return no_memory(e);
			for (i = 0; i < v->n; i++) {
				if (v->items[i]->kind != PR_INT || v->items[i]->i < 0 || v->items[i]->i > 255) {
					free(z);
					return pr_raise(e, v->items[i]->kind == PR_INT ? PR_EVALUE : PR_ETYPE,
							v->items[i]->kind == PR_INT ? "bytes must be in range(0, 256)" :
							"'%s' object cannot be interpreted as an integer",
							v->items[i]->kind == PR_STR ? "str" : "object");
				}
				z[i] = (char)v->items[i]->i;
			}
			key = pr_bytes(z, v->n, PR_AUTHKEY);
			free(z);
		} else {
			return pr_raise(e, PR_ETYPE, "cannot convert '%s' object to bytes",
					v->kind == PR_FLOAT ? "float" : v->kind == PR_NONE ? "NoneType" :
					"object");
		}
		if (!key)
			return no_memory(e);
		pr_unref(p->authkey);
		p->authkey = key;
	} else {
		return pr_raise(e, PR_EATTR, "property '%s' of 'Process' object has no setter", attr);
	}
	return 0;
}

void pr__process_repr(struct pr_sb *b, const struct pr_process *p)
{
	const char *status;
	bool has_exit = false;
	int code = 0;

	if (p->self == current)
		status = "started";
	else if (p->closed)
		status = "closed";
	else if (p->parent_pid != getpid())
		status = "unknown";
	else if (!p->popen)
		status = "initial";
	else if (popen_poll(p->popen, WNOHANG)) {
		status = "stopped";
		has_exit = true;
		code = p->popen->returncode;
	} else {
		status = "started";
	}
	pr__sb_printf(b, "<%s name=", p->type == PR_T_MAIN ? "_MainProcess" :
		      p->type == PR_T_PARENT ? "_ParentProcess" : "Process");
	pr__repr_into(b, p->name);
	if (p->popen)
		pr__sb_printf(b, " pid=%d", (int)p->popen->pid);
	if (p->parent_pid)
		pr__sb_printf(b, " parent=%d", (int)p->parent_pid);
	else
		pr__sb_add(b, " parent=None", 12);
	pr__sb_printf(b, " %s", status);
	if (has_exit) {
		if (code < 0 && -code <= 64 && signames[-code])
			pr__sb_printf(b, " exitcode=-%s", signames[-code]);
		else
			pr__sb_printf(b, " exitcode=%d", code);
	}
	if (p->daemon && pr_truthy(p->daemon))
		pr__sb_add(b, " daemon", 7);
	pr__sb_add(b, ">", 1);
}

struct pr_value *pr_current_process(void)
{
	return pr_ref(current);
}

struct pr_value *pr_parent_process(void)
{
	return parent ? pr_ref(parent) : pr_none();
}

int pr_active_children(struct pr_value **out, struct pr_exc *e)
{
	struct pr_value *l;
	size_t i;

	for (i = n_children; i-- > 0;)
		if (popen_poll(children[i]->proc->popen, WNOHANG))
			children_discard(children[i]);
	l = pr_seq(PR_LIST, n_children);
	if (!l)
		return no_memory(e);
	for (i = 0; i < n_children; i++)
		l->items[i] = pr_ref(children[i]);
	*out = l;
	return 0;
}

void pr_exit_function(void)
{
	struct pr_value *l = NULL;
	struct pr_exc e;
	size_t i;

	if (pr_active_children(&l, &e) == 0) {
		for (i = 0; i < l->n; i++)
			if (l->items[i]->proc->daemon && pr_truthy(l->items[i]->proc->daemon))
				popen_send_signal(l->items[i]->proc->popen, SIGTERM, &e);
		pr_unref(l);
	}
	if (pr_active_children(&l, &e) == 0) {
		for (i = 0; i < l->n; i++)
			pr_process_join(l->items[i]->proc, NULL, &e);
		pr_unref(l);
	}
}

int pr_pickle_check(const struct pr_value *v, struct pr_exc *e)
{
	size_t i;
	int r;

	if (v->kind == PR_AUTHKEY || v->kind == PR_PROCESS)
		return pr_raise(e, PR_ETYPE, "Pickling an AuthenticationString object is "
				"disallowed for security reasons");
	for (i = 0; i < v->n; i++)
		if ((r = pr_pickle_check(v->items[i], e)))
			return r;
	return 0;
}

void pr_process_set_gate(struct pr_process *p, int read_fd)
{
	p->gate = read_fd;
}

int pr_current_gate(void)
{
	return current ? current->proc->gate : -1;
}

void pr_set_after_fork(void (*fn)(void *), void *arg)
{
	after_fork_fn = fn;
	after_fork_arg = arg;
}

/*
 * Process objects: multiprocessing.process.BaseProcess, _MainProcess and
 * _ParentProcess as CPython 3.11 has them (Lib/multiprocessing/process.py),
 * and the module's functions.  Each method follows the CPython method of
 * the same name check for check, in the same order, with the same class
 * and message.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/wait.h>
#include <unistd.h>

#include "internal.h"
#include "executor.h"

/* type(self).__name__ for what multiprocessing.Process creates; the
 * default name is built from it ('Process-1'). */
#define PROCESS_CLASS "Process"

struct pr_runtime pr__rt;

/* ---- the object ------------------------------------------------------- */

static pr_value *process_alloc(enum proc_kind kind)
{
	pr_value *v;
	struct pr_process *p = calloc(1, sizeof *p);

	if (p == NULL)
		return NULL;
	if ((v = pr__value_new(PR_PROCESS)) == NULL) {
		free(p);
		return NULL;
	}
	p->kind = kind;
	p->sentinel = -1;
	p->gate = -1;
	v->u.proc = p;
	return v;
}

pr_value *pr__process_new(void)
{
	return process_alloc(PROC_BASE);
}

static void attrs_free(struct pr_process *p)
{
	size_t i;

	for (i = 0; i < p->nattrs; i++) {
		free(p->attrs[i].name);
		pr_decref(p->attrs[i].value);
	}
	free(p->attrs);
	p->attrs = NULL;
	p->nattrs = 0;
}

/* The values a process object holds a reference to, but for its attrs: what clear drops
 * and visit reports (the tp_clear/tp_traverse pair of a Python object). */
#define PROCESS_NREFS 8

static void process_refs(const struct pr_process *p, pr_value *refs[PROCESS_NREFS])
{
	refs[0] = p->name;
	refs[1] = p->daemon;
	refs[2] = p->authkey;
	refs[3] = p->parent_name;
	refs[4] = p->target;
	refs[5] = p->args;
	refs[6] = p->kwargs;
	refs[7] = p->cls;
}

void pr__process_clear(pr_value *v)
{
	struct pr_process *p = v->u.proc;
	pr_value *drop[PROCESS_NREFS];
	size_t i;

	/* detach first: a decref below may come back to this object */
	process_refs(p, drop);
	p->name = p->daemon = p->authkey = p->parent_name = NULL;
	p->target = p->args = p->kwargs = p->cls = NULL;
	attrs_free(p);
	for (i = 0; i < ARRAY_SIZE(drop); i++)
		pr_decref(drop[i]);
}

void pr__process_free(pr_value *v)
{
	struct pr_process *p = v->u.proc;

	if (p == NULL)
		return;
	/* the Popen's Finalize(util.close_fds) when the object goes away */
	if (p->popen != NULL) {
		pr__popen_close(p->popen, NULL);
		free(p->popen);
	}
	pr__process_clear(v);
	free(p->identity);
	free(p);
	v->u.proc = NULL;
}

void pr__process_visit(pr_value *v, void (*fn)(pr_value *, void *), void *arg)
{
	struct pr_process *p = v->u.proc;
	pr_value *refs[PROCESS_NREFS];
	size_t i;

	process_refs(p, refs);
	for (i = 0; i < ARRAY_SIZE(refs); i++)
		if (refs[i] != NULL)
			fn(refs[i], arg);
	for (i = 0; i < p->nattrs; i++)
		fn(p->attrs[i].value, arg);
}

const char *pr__process_type_name(const pr_value *v)
{
	switch (v->u.proc->kind) {
	case PROC_MAIN:
		return "_MainProcess";
	case PROC_PARENT:
		return "_ParentProcess";
	default:
		return v->u.proc->cls != NULL ? pr__subclass_name(v->u.proc->cls) : PROCESS_CLASS;
	}
}

static int is_current(const pr_value *v)
{
	return v == pr__rt.current;
}

/* self._config.get('daemon', False) */
static int daemon_truth(const struct pr_process *p)
{
	return p->daemon != NULL && pr_truth(p->daemon);
}

static int check_closed(const struct pr_process *p, struct pr_diag *d)
{
	if (p->closed)
		return pr_diag(d, PR_EVALUE, "process object is closed");
	return 0;
}

/* ---- _children and process._cleanup() --------------------------------- */

static int children_add(pr_value *v)
{
	pr_value **c;
	size_t i, cap;

	for (i = 0; i < pr__rt.nchildren; i++)
		if (pr__rt.children[i] == v)
			return 0;
	if (pr__rt.nchildren == pr__rt.capchildren) {
		cap = pr__rt.capchildren ? 2 * pr__rt.capchildren : 8;
		c = realloc(pr__rt.children, cap * sizeof *c);
		if (c == NULL)
			return PR_EMEMORY;
		pr__rt.children = c;
		pr__rt.capchildren = cap;
	}
	pr__rt.children[pr__rt.nchildren++] = pr_incref(v);
	return 0;
}

void pr__children_discard(pr_value *v)
{
	size_t i;

	for (i = 0; i < pr__rt.nchildren; i++)
		if (pr__rt.children[i] == v) {
			memmove(pr__rt.children + i, pr__rt.children + i + 1,
				(pr__rt.nchildren - i - 1) * sizeof *pr__rt.children);
			pr__rt.nchildren--;
			pr_decref(v);
			return;
		}
}

/* process._cleanup(): forget the children that have finished */
static void cleanup(void)
{
	size_t i = 0;
	int64_t rc;

	while (i < pr__rt.nchildren) {
		pr_value *c = pr__rt.children[i];

		if (pr__popen_poll(c->u.proc->popen, WNOHANG, &rc))
			pr__children_discard(c);
		else
			i++;
	}
}

/* list(_children) after _cleanup(): new references */
static int active_children(pr_value ***out, size_t *n)
{
	pr_value **list;
	size_t i;

	cleanup();
	if ((list = calloc(pr__rt.nchildren + 1, sizeof *list)) == NULL)
		return PR_EMEMORY;
	for (i = 0; i < pr__rt.nchildren; i++)
		list[i] = pr_incref(pr__rt.children[i]);
	*out = list;
	*n = pr__rt.nchildren;
	return 0;
}

/* ---- library state ---------------------------------------------------- */

int pr_init(struct pr_diag *d)
{
	unsigned char key[32];
	struct pr_process *m;
	size_t got = 0;
	ssize_t n;
	pr_value *v;

	if (pr__rt.initialized)
		return 0;
	/* process.py at import: AuthenticationString(os.urandom(32)) */
	while (got < sizeof key) {
		do
			n = getrandom(key + got, sizeof key - got, 0);
		while (n == -1 && errno == EINTR);
		if (n < 0)
			return pr_diag(d, -errno, NULL);
		got += (size_t)n;
	}
	if ((v = process_alloc(PROC_MAIN)) == NULL)
		return pr_diag(d, PR_EMEMORY, NULL);
	m = v->u.proc;
	m->name = pr_str("MainProcess", 11);
	m->authkey = pr__authkey(key, sizeof key);
	if (m->name == NULL || m->authkey == NULL) {
		pr_decref(v);
		return pr_diag(d, PR_EMEMORY, NULL);
	}
	pr__rt.current = v;
	pr__rt.parent = NULL;
	pr__rt.counter = 1;
	pr__rt.exiting = 0;
	pr__rt.method = &pr__fork_method;
	pr__rt.initialized = 1;
	return 0;
}

void pr_fini(void)
{
	size_t i;

	pr__flush_std_streams();
	for (i = 0; i < pr__rt.nchildren; i++)
		pr_decref(pr__rt.children[i]);
	free(pr__rt.children);
	pr_decref(pr__rt.current);
	pr_decref(pr__rt.parent);
	memset(&pr__rt, 0, sizeof pr__rt);
	pr_gc_collect();
	pr__streams_fini();
}

int pr_set_start_method(const char *method, struct pr_diag *d)
{
	pr_value *name;
	int r;

	if (strcmp(method, "fork") == 0) {
		pr__rt.method = &pr__fork_method;
		return 0;
	}
	if (strcmp(method, "spawn") == 0) {
		pr__rt.method = &pr__spawn_method;
		return 0;
	}
	if (strcmp(method, "forkserver") == 0) {
		pr__rt.method = &pr__forkserver_method;
		return 0;
	}
	/* context.py, BaseContext.get_context */
	if ((name = pr_str(method, strlen(method))) == NULL)
		return pr_diag(d, PR_EMEMORY, NULL);
	r = pr__bad_context(name, d);
	pr_decref(name);
	return r;
}

void pr_set_warning_hook(void (*fn)(const char *category, const char *message, void *arg),
			 void *arg)
{
	pr__rt.warn = fn;
	pr__rt.warn_arg = arg;
}

void pr_set_after_fork(void (*fn)(void *arg), void *arg)
{
	pr__rt.after_fork = fn;
	pr__rt.after_fork_arg = arg;
}

pid_t pr_process_pid(const pr_value *v)
{
	if (v->kind != PR_PROCESS || v->u.proc->popen == NULL)
		return 0;
	return v->u.proc->popen->pid;
}

int pr_process_set_gate(pr_value *proc, int fd)
{
	if (proc->kind != PR_PROCESS)
		return -EINVAL;
	proc->u.proc->gate = fd;
	return 0;
}

/* ---- BaseProcess.__init__ --------------------------------------------- */

static int process_init(pr_value *self, pr_value **argv, pr_value **out, struct pr_diag *d)
{
	pr_value *group = argv[0], *target = argv[1], *name = argv[2];
	pr_value *args = argv[3], *kwargs = argv[4];
	pr_value *daemon = pr__profile.daemon_kwarg ? argv[5] : NULL;
	struct pr_process *cur = pr__rt.current->u.proc, *p;
	struct sbuf sb = SBUF_INIT;
	pr_value *v, *empty = NULL;
	size_t i;
	int r;

	if (pr__profile.asserts && group != NULL && group->kind != PR_NONE)
		return pr_diag(d, PR_EASSERTION, "group argument must be None for now");
	if ((v = process_alloc(PROC_BASE)) == NULL)
		return pr_diag(d, PR_EMEMORY, NULL);
	p = v->u.proc;
	/* self: the class called, when subclass() made it */
	if (self != NULL && pr__is_subclass(self))
		p->cls = pr_incref(self);
	if ((p->identity = calloc(cur->nidentity + 1, sizeof *p->identity)) == NULL)
		goto oom;
	for (i = 0; i < cur->nidentity; i++)
		p->identity[i] = cur->identity[i];
	/* next(_process_counter): taken even if a later check raises */
	p->identity[cur->nidentity] = pr__rt.counter++;
	p->nidentity = cur->nidentity + 1;
	/* _current_process._config.copy() */
	p->daemon = pr_incref(cur->daemon);
	p->authkey = pr_incref(cur->authkey);
	p->parent_pid = getpid();
	p->parent_name = pr_incref(cur->name);
	p->target = pr_incref(target != NULL ? target : pr_none());
	if (args == NULL) {
		if ((empty = pr_tuple(NULL, 0)) == NULL)
			goto oom;
		args = empty;
	}
	r = pr__value_to_tuple(args, &p->args, d);
	pr_decref(empty);
	empty = NULL;
	if (r < 0)
		goto fail;
	if (kwargs == NULL) {
		if ((r = pr_dict(NULL, 0, &empty, d)) < 0)
			goto fail;
		kwargs = empty;
	}
	r = pr__value_to_dict(kwargs, &p->kwargs, d);
	pr_decref(empty);
	if (r < 0)
		goto fail;
	/* name or type(self).__name__ + '-' + ':'.join(...) */
	if (name != NULL && pr_truth(name)) {
		p->name = pr_incref(name);
	} else {
		pr__sb_printf(&sb, "%s-", pr__process_type_name(v));
		for (i = 0; i < p->nidentity; i++)
			pr__sb_printf(&sb, "%s%" PRId64, i ? ":" : "", p->identity[i]);
		if (sb.oom || (p->name = pr_str(sb.p, sb.len)) == NULL) {
			pr__sb_release(&sb);
			goto oom;
		}
		pr__sb_release(&sb);
	}
	/* if daemon is not None: self.daemon = daemon (the setter, whose
	 * check cannot fail before start) */
	if (daemon != NULL && daemon->kind != PR_NONE) {
		pr_decref(p->daemon);
		p->daemon = pr_incref(daemon);
	}
	*out = v;
	return 0;
oom:
	r = pr_diag(d, PR_EMEMORY, NULL);
fail:
	pr_decref(v);
	return r;
}

static const char *const init_params[] = { "group", "target", "name", "args", "kwargs" };
static const char *const init_kwonly[] = { "daemon" };

static const pr_func process_init_3 = {
	.name = "BaseProcess.__init__",
	.params = init_params,
	.nparams = 5,
	.kwonly = init_kwonly,
	.nkwonly = 1,
	.fn = process_init,
};

/* 2.7: __init__(self, group=None, target=None, name=None, args=(),
 * kwargs={}), no daemon; its TypeErrors name the function "__init__" */
static const pr_func process_init_2 = {
	.name = "__init__",
	.params = init_params,
	.nparams = 5,
	.fn = process_init,
};

const pr_func *pr__process_init(void)
{
	return pr__profile.daemon_kwarg ? &process_init_3 : &process_init_2;
}

pr_value *pr__parent_process_new(pr_value *name, pid_t pid, int sentinel)
{
	pr_value *v = process_alloc(PROC_PARENT);

	if (v == NULL)
		return NULL;
	v->u.proc->name = pr_incref(name);
	v->u.proc->pid = pid;
	v->u.proc->sentinel = sentinel;
	return v;
}

/* ---- methods ---------------------------------------------------------- */

int pr_process_start(pr_value *self, struct pr_diag *d)
{
	struct pr_process *p;
	struct pr_popen *po;
	int r;

	if (self->kind != PR_PROCESS)
		return pr_diag(d, PR_ETYPE, "'%s' object is not a process", pr__type_name(self));
	p = self->u.proc;
	if ((r = check_closed(p, d)) < 0)
		return r;
	if (pr__profile.asserts && p->popen != NULL)
		return pr_diag(d, PR_EASSERTION, "cannot start a process twice");
	if (pr__profile.asserts && p->parent_pid != getpid())
		return pr_diag(d, PR_EASSERTION,
			       "can only start a process "
			       "object created by current process");
	if (pr__profile.asserts && daemon_truth(pr__rt.current->u.proc))
		return pr_diag(d, PR_EASSERTION,
			       "daemonic processes are not "
			       "allowed to have children");
	cleanup();
	/* self._Popen(self): context.Process._Popen asks the default
	 * context at start() time which Popen class to use; a context's
	 * class (SpawnProcess) has its own */
	if ((po = calloc(1, sizeof *po)) == NULL)
		return pr_diag(d, PR_EMEMORY, NULL);
	po->method = p->cls != NULL && pr__subclass_start_method(p->cls) != NULL ?
			     pr__subclass_start_method(p->cls) :
			     pr__rt.method;
	po->sentinel = po->parent_w = -1;
	if ((r = po->method->launch(po, self, d)) < 0) {
		free(po);
		return r;
	}
	/* python -O, a second start(): the child was forked again, and the
	 * old Popen, dropped, runs its finalizer (closing its fds) with its
	 * child never waited for */
	if (p->popen != NULL) {
		pr__popen_close(p->popen, NULL);
		free(p->popen);
	}
	p->popen = po;
	p->sentinel = po->sentinel;
	/* del self._target, self._args, self._kwargs (bpo-30775); a second
	 * time (python -O), the del raises and _children.add() never runs */
	if (p->target_deleted)
		return pr_diag(d, PR_EATTRIBUTE,
			       "'%s' object has no attribute "
			       "'_target'",
			       pr__process_type_name(self));
	pr_decref(p->target);
	pr_decref(p->args);
	pr_decref(p->kwargs);
	p->target = p->args = p->kwargs = NULL;
	p->target_deleted = 1;
	if (children_add(self) < 0)
		return pr_diag(d, PR_EMEMORY, NULL);
	return 0;
}

static int m_start(pr_value *self, pr_value **argv, pr_value **out, struct pr_diag *d)
{
	(void)argv;
	(void)out;
	return pr_process_start(self, d);
}

/* terminate() and kill(): self._popen.terminate() on a None _popen is an
 * AttributeError, as in CPython */
static int send_signal(pr_value *self, int sig, const char *what, struct pr_diag *d)
{
	struct pr_process *p = self->u.proc;
	int r;

	if ((r = check_closed(p, d)) < 0)
		return r;
	if (p->popen == NULL)
		return pr_diag(d, PR_EATTRIBUTE,
			       "'NoneType' object has no "
			       "attribute '%s'",
			       what);
	return pr__popen_send_signal(p->popen, sig, d);
}

static int m_terminate(pr_value *self, pr_value **argv, pr_value **out, struct pr_diag *d)
{
	(void)argv;
	(void)out;
	return send_signal(self, SIGTERM, "terminate", d);
}

static int m_kill(pr_value *self, pr_value **argv, pr_value **out, struct pr_diag *d)
{
	(void)argv;
	(void)out;
	return send_signal(self, SIGKILL, "kill", d);
}

static int join(pr_value *self, pr_value *timeout, struct pr_diag *d)
{
	struct pr_process *p = self->u.proc;
	int64_t rc;
	int r;

	if ((r = check_closed(p, d)) < 0)
		return r;
	if (pr__profile.asserts && p->parent_pid != getpid())
		return pr_diag(d, PR_EASSERTION, "can only join a child process");
	if (pr__profile.asserts && p->popen == NULL)
		return pr_diag(d, PR_EASSERTION, "can only join a started process");
	/* python -O: self._popen.wait(timeout) on None */
	if (p->popen == NULL)
		return pr_diag(d, PR_EATTRIBUTE,
			       "'NoneType' object has no "
			       "attribute 'wait'");
	if ((r = pr__popen_wait(p->popen, timeout, &rc, d)) < 0)
		return r;
	if (r == 1)
		pr__children_discard(self);
	return 0;
}

static int m_join(pr_value *self, pr_value **argv, pr_value **out, struct pr_diag *d)
{
	(void)out;
	return join(self, argv[0], d);
}

static int m_is_alive(pr_value *self, pr_value **argv, pr_value **out, struct pr_diag *d)
{
	struct pr_process *p = self->u.proc;
	int64_t rc;
	int r;

	(void)argv;
	if ((r = check_closed(p, d)) < 0)
		return r;
	if (is_current(self)) {
		*out = pr_bool(1);
		return 0;
	}
	if (pr__profile.asserts && p->parent_pid != getpid())
		return pr_diag(d, PR_EASSERTION, "can only test a child process");
	if (p->popen == NULL) {
		*out = pr_bool(0);
		return 0;
	}
	if (!pr__popen_poll(p->popen, WNOHANG, &rc)) {
		*out = pr_bool(1);
		return 0;
	}
	pr__children_discard(self);
	*out = pr_bool(0);
	return 0;
}

static int m_close(pr_value *self, pr_value **argv, pr_value **out, struct pr_diag *d)
{
	struct pr_process *p = self->u.proc;
	int64_t rc;
	int r;

	(void)argv;
	(void)out;
	if (p->popen != NULL) {
		if (!pr__popen_poll(p->popen, WNOHANG, &rc))
			return pr_diag(d, PR_EVALUE,
				       "Cannot close a process "
				       "while it is still running. You should "
				       "first call join() or terminate().");
		if ((r = pr__popen_close(p->popen, d)) < 0)
			return r;
		free(p->popen);
		p->popen = NULL;
		p->sentinel = -1;
		pr__children_discard(self);
	}
	p->closed = 1;
	return 0;
}

/* _MainProcess.close(): pass */
static int main_close(pr_value *self, pr_value **argv, pr_value **out, struct pr_diag *d)
{
	(void)self;
	(void)argv;
	(void)out;
	(void)d;
	return 0;
}

static int m_run(pr_value *self, pr_value **argv, pr_value **out, struct pr_diag *d)
{
	struct pr_process *p = self->u.proc;
	pr_value *result = NULL, *running;
	int r;

	(void)argv;
	(void)out;
	if (p->kind != PROC_BASE || p->target_deleted)
		return pr_diag(d, PR_EATTRIBUTE,
			       "'%s' object has no attribute "
			       "'_target'",
			       pr__process_type_name(self));
	if (!pr_truth(p->target))
		return 0;
	running = pr__rt.running;
	pr__rt.running = self;
	r = pr__call_with(p->target, p->args, p->kwargs, &result, d);
	pr__rt.running = running;
	pr_decref(result);
	return r;
}

/* _ParentProcess.is_alive(): not wait([self._sentinel], timeout=0) */
static int parent_is_alive(pr_value *self, pr_value **argv, pr_value **out, struct pr_diag *d)
{
	pr_value *zero = pr_int(0);
	int r;

	(void)argv;
	if (zero == NULL)
		return pr_diag(d, PR_EMEMORY, NULL);
	r = pr__wait_fd(self->u.proc->sentinel, zero, d);
	pr_decref(zero);
	if (r < 0)
		return r;
	*out = pr_bool(r == 0);
	return 0;
}

/* _ParentProcess.join(timeout=None): wait([self._sentinel], timeout) */
static int parent_join(pr_value *self, pr_value **argv, pr_value **out, struct pr_diag *d)
{
	int r;

	(void)out;
	if (argv[0] == NULL || argv[0]->kind == PR_NONE)
		r = pr__wait_fd(self->u.proc->sentinel, NULL, d);
	else
		r = pr__wait_fd(self->u.proc->sentinel, argv[0], d);
	return r < 0 ? r : 0;
}

static const char *const no_params[] = { NULL };
static const char *const join_params[] = { "timeout" };

/* clang-format off */
#define METHOD(qualname, f) { .name = qualname, .params = no_params, .fn = f }
#define JOIN(qualname, f) \
	{ .name = qualname, .params = join_params, .nparams = 1, .fn = f }
/* clang-format on */

static const pr_func base_methods[] = {
	METHOD("BaseProcess.close", m_close),
	METHOD("BaseProcess.is_alive", m_is_alive),
	JOIN("BaseProcess.join", m_join),
	METHOD("BaseProcess.kill", m_kill),
	METHOD("BaseProcess.run", m_run),
	METHOD("BaseProcess.start", m_start),
	METHOD("BaseProcess.terminate", m_terminate),
};
/* BaseProcess.__repr__, for what calls it by name (child.calls) */
static int m_repr(pr_value *self, pr_value **argv, pr_value **out, struct pr_diag *d)
{
	struct sbuf sb = SBUF_INIT;
	char *text;
	size_t len;
	int r;

	(void)argv;
	pr__process_repr(self, &sb);
	if ((r = pr__sb_finish(&sb, &text, &len)) < 0)
		return pr_diag(d, r, NULL);
	*out = pr_str(text, len);
	free(text);
	return *out ? 0 : pr_diag(d, PR_EMEMORY, NULL);
}

static const pr_func repr_method = METHOD("BaseProcess.__repr__", m_repr);
static const pr_func main_close_method = METHOD("_MainProcess.close", main_close);
static const pr_func parent_is_alive_method = METHOD("_ParentProcess.is_alive", parent_is_alive);
static const pr_func parent_join_method = JOIN("_ParentProcess.join", parent_join);

/* The method name is looked up on type(self), as Python's MRO does. */
static const pr_func *find_method(const struct pr_process *p, const char *name)
{
	const char *dot;
	size_t i;

	if (p->kind == PROC_MAIN && strcmp(name, "close") == 0)
		return &main_close_method;
	if (p->kind == PROC_PARENT && strcmp(name, "is_alive") == 0)
		return &parent_is_alive_method;
	if (p->kind == PROC_PARENT && strcmp(name, "join") == 0)
		return &parent_join_method;
	if (!pr__profile.close_kill && (strcmp(name, "close") == 0 || strcmp(name, "kill") == 0))
		return NULL;
	for (i = 0; i < ARRAY_SIZE(base_methods); i++) {
		dot = strchr(base_methods[i].name, '.');
		if (strcmp(dot + 1, name) == 0)
			return &base_methods[i];
	}
	return NULL;
}

/*
 * Methods read from the class, Process.terminate(p): a plain function whose
 * first parameter is self, as BaseProcess.terminate is in CPython.  The
 * call binds self like any argument (its TypeError names
 * BaseProcess.terminate()), then runs the method on it.
 */
static const char *const self_params[] = { "self" };
static const char *const self_join_params[] = { "self", "timeout" };

static int unbound_call(pr_value *self, pr_value **argv, pr_value **out, struct pr_diag *d,
			const char *name)
{
	const pr_func *m;

	(void)self;
	/* the missing self, bound by hand: its words changed twice */
	if (argv[0] == NULL && !pr__profile.plain_functions)
		return pr_diag(d, PR_ETYPE,
			       "unbound method %s() must be called with "
			       "Process instance as first argument (got nothing instead)",
			       name);
	if (argv[0] == NULL)
		return pr_diag(d, PR_ETYPE,
			       "%s%s() missing 1 required positional "
			       "argument: 'self'",
			       pr__profile.qualname_errors ? "BaseProcess." : "", name);
	if (argv[0]->kind != PR_PROCESS || (m = find_method(argv[0]->u.proc, name)) == NULL)
		return pr_diag(d, PR_EUNSUPPORTED,
			       "libprocref does not model Process.%s "
			       "called on a '%s' object",
			       name, pr__type_name(argv[0]));
	return m->fn(argv[0], argv + 1, out, d);
}

/* clang-format off */
#define UNBOUND(meth)                                                              \
	static int u_##meth(pr_value *self, pr_value **argv, pr_value **out,       \
			    struct pr_diag *d)                                     \
	{                                                                          \
		return unbound_call(self, argv, out, d, #meth);                    \
	}
UNBOUND(close)
UNBOUND(is_alive)
UNBOUND(join)
UNBOUND(kill)
UNBOUND(run)
UNBOUND(start)
UNBOUND(terminate)
#undef UNBOUND
#define UMETHOD(meth) { .name = "BaseProcess." #meth, .params = self_params,       \
			.nparams = 1, .fn = u_##meth }
static const pr_func unbound_methods[] = {
	UMETHOD(close),
	UMETHOD(is_alive),
	{ .name = "BaseProcess.join", .params = self_join_params, .nparams = 2,
	  .fn = u_join },
	UMETHOD(kill),
	UMETHOD(run),
	UMETHOD(start),
	UMETHOD(terminate),
};
#undef UMETHOD
/* clang-format on */

int pr__process_class_getattr(const char *name, pr_value **out, struct pr_diag *d)
{
	size_t i;

	if (!pr__profile.close_kill && (strcmp(name, "close") == 0 || strcmp(name, "kill") == 0))
		return 0;
	for (i = 0; i < ARRAY_SIZE(unbound_methods); i++) {
		if (strcmp(strchr(unbound_methods[i].name, '.') + 1, name) == 0) {
			*out = pr_function(&unbound_methods[i]);
			return *out ? 1 : pr_diag(d, PR_EMEMORY, NULL);
		}
	}
	return 0;
}

/* ---- attributes ------------------------------------------------------- */

/* Attributes CPython's objects have that procref does not expose. */
static int is_private_attr(const char *name)
{
	static const char *const names[] = {
		"_Popen",        "_after_fork", "_args",     "_bootstrap", "_check_closed",
		"_closed",       "_config",     "_identity", "_kwargs",    "_name",
		"_parent_name",  "_parent_pid", "_pid",      "_popen",     "_sentinel",
		"_start_method", "_target",
	};
	size_t i, n = strlen(name);

	if (n >= 4 && strncmp(name, "__", 2) == 0 && strcmp(name + n - 2, "__") == 0)
		return 1;
	for (i = 0; i < ARRAY_SIZE(names); i++)
		if (strcmp(names[i], name) == 0)
			return 1;
	return 0;
}

static struct pr_attr *find_attr(struct pr_process *p, const char *name)
{
	size_t i;

	for (i = 0; i < p->nattrs; i++)
		if (strcmp(p->attrs[i].name, name) == 0)
			return &p->attrs[i];
	return NULL;
}

static int poll_value(struct pr_popen *po, pr_value **out, struct pr_diag *d)
{
	int64_t rc;

	if (!pr__popen_poll(po, WNOHANG, &rc)) {
		*out = pr_none();
		return 0;
	}
	*out = pr_int(rc);
	return *out ? 0 : pr_diag(d, PR_EMEMORY, NULL);
}

/* The properties, which as data descriptors come before the instance
 * __dict__: 1 if name is one (and *out or d is set), 0 if not. */
static int get_property(pr_value *obj, const char *name, pr_value **out, struct pr_diag *d, int *r)
{
	struct pr_process *p = obj->u.proc;

	*r = 0;
	if (strcmp(name, "name") == 0) {
		*out = pr_incref(p->name != NULL ? p->name : pr_none());
	} else if (strcmp(name, "daemon") == 0) {
		*out = pr_incref(p->daemon != NULL ? p->daemon : pr_bool(0));
	} else if (strcmp(name, "authkey") == 0) {
		/* self._config['authkey']: _ParentProcess's config is {} */
		if (p->authkey == NULL)
			*r = pr_diag_raise(d, "KeyError", "'authkey'");
		else
			*out = pr_incref(p->authkey);
	} else if (strcmp(name, "exitcode") == 0) {
		if ((*r = check_closed(p, d)) == 0) {
			if (p->popen == NULL)
				*out = pr_none();
			else
				*r = poll_value(p->popen, out, d);
		}
	} else if (strcmp(name, "ident") == 0 || strcmp(name, "pid") == 0) {
		if (p->kind == PROC_PARENT) {
			/* _ParentProcess.ident: return self._pid */
			*out = pr_int(p->pid);
		} else if ((*r = check_closed(p, d)) < 0) {
			return 1;
		} else if (is_current(obj)) {
			*out = pr_int(getpid());
		} else if (p->popen == NULL) {
			/* self._popen and self._popen.pid */
			*out = pr_none();
		} else {
			*out = pr_int(p->popen->pid);
		}
		if (*r == 0 && *out == NULL)
			*r = pr_diag(d, PR_EMEMORY, NULL);
	} else if (strcmp(name, "sentinel") == 0 && pr__profile.sentinel) {
		if ((*r = check_closed(p, d)) < 0)
			return 1;
		if (p->sentinel < 0)
			*r = pr_diag(d, PR_EVALUE, "process not started");
		else if ((*out = pr_int(p->sentinel)) == NULL)
			*r = pr_diag(d, PR_EMEMORY, NULL);
	} else {
		return 0;
	}
	return 1;
}

/* What getting or setting one of the is_private_attr() names raises */
static int unmodelled_attr(const char *name, struct pr_diag *d)
{
	return pr_diag(d, PR_EUNSUPPORTED,
		       "libprocref does not model "
		       "the attribute %s of a process object",
		       name);
}

/* ---- the private attributes CPython's tests read (_popen, _config) ---- */

/* A Popen object, as p._popen reads it: only its type and repr are
 * modelled.  Its data is the start method (static), never the popen
 * itself, which close() frees. */
static void popen_repr(pr_value *v, struct sbuf *sb)
{
	const struct pr_start_method *m = v->u.obj.data;

	if (!pr__profile.parent_process && !pr__profile.daemon_kwarg)
		pr__sb_printf(sb, "<multiprocessing.forking.Popen object at %#" PRIxPTR ">",
			      (uintptr_t)v);
	else
		pr__sb_printf(sb, "<multiprocessing.popen_%s.Popen object at %#" PRIxPTR ">",
			      strcmp(m->name, "spawn") == 0 ? "spawn_posix" : m->name,
			      (uintptr_t)v);
}

static const struct pr_objtype popen_type = {
	.name = "Popen",
	.repr = popen_repr,
};

/* p._popen: None before start() and after close(), else its Popen */
static int get_popen(struct pr_process *p, pr_value **out, struct pr_diag *d)
{
	if (p->popen == NULL) {
		*out = pr_none();
		return 0;
	}
	*out = pr__object_new(&popen_type, (void *)p->popen->method);
	return *out ? 0 : pr_diag(d, PR_EMEMORY, NULL);
}

/* p._config: a copy of the parent's ({'authkey': ..., 'semprefix': '/mp'}),
 * then 'daemon' once the daemon setter ran (3.3's process.py) */
static int get_config(struct pr_process *p, pr_value **out, struct pr_diag *d)
{
	pr_value *kv[6];
	size_t n = 0, i;

	if (p->authkey != NULL) {
		kv[n++] = pr_str("authkey", 7);
		kv[n++] = pr_incref(p->authkey);
	}
	kv[n++] = pr_str("semprefix", 9);
	kv[n++] = pr_str("/mp", 3);
	if (p->daemon != NULL) {
		kv[n++] = pr_str("daemon", 6);
		kv[n++] = pr_incref(p->daemon);
	}

	for (i = 0; i < n; i++)
		if (kv[i] == NULL) {
			while (n > 0)
				pr_decref(kv[--n]);
			return pr_diag(d, PR_EMEMORY, NULL);
		}
	return pr_dict(kv, n / 2, out, d);
}

int pr__process_getattr(pr_value *obj, const char *name, pr_value **out, struct pr_diag *d)
{
	struct pr_process *p = obj->u.proc;
	const pr_func *m;
	struct pr_attr *a;
	int r;

	if (get_property(obj, name, out, d, &r))
		return r;
	if (strcmp(name, "_popen") == 0 && p->kind != PROC_PARENT)
		return get_popen(p, out, d);
	if (strcmp(name, "_config") == 0 && p->kind != PROC_PARENT && pr__profile.daemon_kwarg)
		return get_config(p, out, d);
	if (strcmp(name, "__repr__") == 0) {
		*out = pr__method(&repr_method, obj);
		return *out ? 0 : pr_diag(d, PR_EMEMORY, NULL);
	}
	if (is_private_attr(name))
		return unmodelled_attr(name, d);
	if ((a = find_attr(p, name)) != NULL) {
		*out = pr_incref(a->value);
		return 0;
	}
	if ((p->cls != NULL && (m = pr__subclass_method(p->cls, name)) != NULL) ||
	    (m = find_method(p, name)) != NULL) {
		*out = pr__method(m, obj);
		return *out ? 0 : pr_diag(d, PR_EMEMORY, NULL);
	}
	return pr_diag(d, PR_EATTRIBUTE, "'%s' object has no attribute '%s'",
		       pr__process_type_name(obj), name);
}

int pr__process_setattr(pr_value *obj, const char *name, pr_value *v, struct pr_diag *d)
{
	struct pr_process *p = obj->u.proc;
	struct pr_attr *a, *grown;
	pr_value *key;
	int r;

	if (strcmp(name, "name") == 0) {
		/* 2.7: isinstance(name, basestring), bytes among them */
		if (pr__profile.asserts && v->kind != PR_STR &&
		    (pr__profile.bytes_type || v->kind != PR_BYTES))
			return pr_diag(d, PR_EASSERTION, "name must be a string");
		pr_decref(p->name);
		p->name = pr_incref(v);
		return 0;
	}
	if (strcmp(name, "daemon") == 0) {
		if (pr__profile.asserts && p->popen != NULL)
			return pr_diag(d, PR_EASSERTION, "process has already started");
		pr_decref(p->daemon);
		p->daemon = pr_incref(v);
		return 0;
	}
	if (strcmp(name, "authkey") == 0) {
		if ((r = pr__value_to_authkey(v, &key, d)) < 0)
			return r;
		pr_decref(p->authkey);
		p->authkey = key;
		return 0;
	}
	/* `pid = ident` re-binds one property object, whose name is then
	 * the last one set: 'pid' */
	if (strcmp(name, "exitcode") == 0 || strcmp(name, "sentinel") == 0 ||
	    strcmp(name, "ident") == 0 || strcmp(name, "pid") == 0)
		return pr_diag(d, PR_EATTRIBUTE,
			       "property '%s' of '%s' object "
			       "has no setter",
			       strcmp(name, "ident") == 0 ? "pid" : name,
			       pr__process_type_name(obj));
	if (is_private_attr(name))
		return unmodelled_attr(name, d);
	if ((a = find_attr(p, name)) != NULL) {
		pr_decref(a->value);
		a->value = pr_incref(v);
		return 0;
	}
	grown = realloc(p->attrs, (p->nattrs + 1) * sizeof *grown);
	if (grown == NULL)
		return pr_diag(d, PR_EMEMORY, NULL);
	p->attrs = grown;
	if ((grown[p->nattrs].name = strdup(name)) == NULL)
		return pr_diag(d, PR_EMEMORY, NULL);
	grown[p->nattrs++].value = pr_incref(v);
	return 0;
}

/* ---- repr ------------------------------------------------------------- */

/* process._exitcode_to_name as CPython 3.11 builds it on Linux: for the
 * aliases (SIGIOT, SIGCLD, SIGIO) the name iterated last wins. */
static const char *exitcode_name(int64_t code)
{
	static const struct {
		int sig;
		const char *name;
	} names[] = {
		{ SIGHUP, "SIGHUP" },       { SIGINT, "SIGINT" },       { SIGQUIT, "SIGQUIT" },
		{ SIGILL, "SIGILL" },       { SIGTRAP, "SIGTRAP" },     { SIGABRT, "SIGABRT" },
		{ SIGBUS, "SIGBUS" },       { SIGFPE, "SIGFPE" },       { SIGKILL, "SIGKILL" },
		{ SIGUSR1, "SIGUSR1" },     { SIGSEGV, "SIGSEGV" },     { SIGUSR2, "SIGUSR2" },
		{ SIGPIPE, "SIGPIPE" },     { SIGALRM, "SIGALRM" },     { SIGTERM, "SIGTERM" },
		{ SIGSTKFLT, "SIGSTKFLT" }, { SIGCHLD, "SIGCHLD" },     { SIGCONT, "SIGCONT" },
		{ SIGSTOP, "SIGSTOP" },     { SIGTSTP, "SIGTSTP" },     { SIGTTIN, "SIGTTIN" },
		{ SIGTTOU, "SIGTTOU" },     { SIGURG, "SIGURG" },       { SIGXCPU, "SIGXCPU" },
		{ SIGXFSZ, "SIGXFSZ" },     { SIGVTALRM, "SIGVTALRM" }, { SIGPROF, "SIGPROF" },
		{ SIGWINCH, "SIGWINCH" },   { SIGPOLL, "SIGPOLL" },     { SIGPWR, "SIGPWR" },
		{ SIGSYS, "SIGSYS" },
	};
	size_t i;

	if (code >= 0)
		return NULL;
	for (i = 0; i < ARRAY_SIZE(names); i++)
		if (names[i].sig == -code)
			return names[i].name;
	if (-code == SIGRTMIN)
		return "SIGRTMIN";
	if (-code == SIGRTMAX)
		return "SIGRTMAX";
	return NULL;
}

void pr__process_repr(pr_value *v, struct sbuf *sb)
{
	struct pr_process *p = v->u.proc;
	const char *status, *signame;
	int has_exitcode = 0;
	int64_t rc = 0;

	if (is_current(v)) {
		status = "started";
	} else if (p->closed) {
		status = "closed";
	} else if (p->parent_pid != getpid()) {
		status = "unknown";
	} else if (p->popen == NULL) {
		status = "initial";
	} else {
		has_exitcode = pr__popen_poll(p->popen, WNOHANG, &rc);
		status = has_exitcode ? "stopped" : "started";
	}
	if (!pr__profile.repr_info) {
		/* before 3.8: '<%s(%s, %s%s)>' % (type(self).__name__,
		 * self._name, status, self.daemon and ' daemon' or '') */
		pr__sb_printf(sb, "<%s(", pr__process_type_name(v));
		pr__value_str(p->name != NULL ? p->name : pr_none(), sb);
		pr__sb_printf(sb, ", %s", status);
		if (has_exitcode && rc != 0) {
			if ((signame = exitcode_name(rc)) != NULL)
				pr__sb_printf(sb, "[%s]", signame);
			else
				pr__sb_printf(sb, "[%lld]", (long long)rc);
		}
		pr__sb_printf(sb, "%s)>", daemon_truth(p) ? " daemon" : "");
		return;
	}
	pr__sb_printf(sb, "<%s name=", pr__process_type_name(v));
	pr__value_repr(p->name != NULL ? p->name : pr_none(), sb);
	if (p->popen != NULL)
		pr__sb_printf(sb, " pid=%ld", (long)p->popen->pid);
	if (p->parent_pid != 0)
		pr__sb_printf(sb, " parent=%ld", (long)p->parent_pid);
	else
		pr__sb_puts(sb, " parent=None");
	pr__sb_printf(sb, " %s", status);
	if (has_exitcode) {
		if ((signame = exitcode_name(rc)) != NULL)
			pr__sb_printf(sb, " exitcode=-%s", signame);
		else
			pr__sb_printf(sb, " exitcode=%lld", (long long)rc);
	}
	if (daemon_truth(p))
		pr__sb_puts(sb, " daemon");
	pr__sb_putc(sb, '>');
}

/* ---- pickling --------------------------------------------------------- */

int pr__process_is_main_or_parent(const pr_value *v)
{
	return v->u.proc->kind != PROC_BASE;
}

int pr__weakref_pickle_error(struct pr_diag *d)
{
	const char *type = pr__profile.weakref_qualname ? "weakref.ReferenceType" : "weakref";

	if (!pr__profile.pickle_quoted)
		return pr_diag(d, PR_ETYPE, "can't pickle %s objects", type);
	return pr_diag(d, PR_ETYPE, "cannot pickle '%s' object", type);
}

int pr__process_pickle_check(pr_value *v, struct pr_diag *d)
{
	struct pr_process *p = v->u.proc;
	size_t i;
	int r;

	/* save_global(type(obj)) comes before the state, and process.py
	 * deletes _MainProcess from its module */
	if (p->kind == PROC_MAIN)
		return pr_diag_raise(d, "PicklingError",
				     "Can't pickle <class "
				     "'multiprocessing.process._MainProcess'>: "
				     "attribute lookup _MainProcess on "
				     "multiprocessing.process failed");
	/* then __dict__ in order: _identity, _config (with the authkey) */
	if (p->authkey != NULL && (r = pr_pickle_check(p->authkey, d)) < 0)
		return r;
	/* _popen: from 3.7 its Finalize holds a weakref */
	if (p->popen != NULL && pr__profile.popen_finalizer)
		return pr__weakref_pickle_error(d);
	if (p->name != NULL && (r = pr_pickle_check(p->name, d)) < 0)
		return r;
	for (i = 0; i < p->nattrs; i++)
		if ((r = pr_pickle_check(p->attrs[i].value, d)) < 0)
			return r;
	return 0;
}

/* ---- module functions ------------------------------------------------- */

static int f_current_process(pr_value *self, pr_value **argv, pr_value **out, struct pr_diag *d)
{
	(void)self;
	(void)argv;
	(void)d;
	*out = pr_incref(pr__rt.current);
	return 0;
}

static int f_parent_process(pr_value *self, pr_value **argv, pr_value **out, struct pr_diag *d)
{
	(void)self;
	(void)argv;
	(void)d;
	*out = pr_incref(pr__rt.parent != NULL ? pr__rt.parent : pr_none());
	return 0;
}

static int f_active_children(pr_value *self, pr_value **argv, pr_value **out, struct pr_diag *d)
{
	pr_value **list;
	size_t n;

	(void)self;
	(void)argv;
	if (active_children(&list, &n) < 0)
		return pr_diag(d, PR_EMEMORY, NULL);
	*out = pr_list(list, n);
	free(list);
	return *out ? 0 : pr_diag(d, PR_EMEMORY, NULL);
}

static const pr_func module_functions[] = {
	{ .name = "active_children", .params = no_params, .fn = f_active_children },
	{ .name = "current_process", .params = no_params, .fn = f_current_process },
	{ .name = "parent_process", .params = no_params, .fn = f_parent_process },
};

pr_value *pr_global(const char *name)
{
	pr_value *v;
	size_t i;

	if (strcmp(name, "Process") == 0)
		return pr__class(pr__process_init());
	if (!pr__profile.parent_process && strcmp(name, "parent_process") == 0)
		return NULL;
	for (i = 0; i < ARRAY_SIZE(module_functions); i++)
		if (strcmp(module_functions[i].name, name) == 0)
			return pr_function(&module_functions[i]);
	if ((v = pr__builtin_global(name)) != NULL)
		return v;
	return pr__executor_global(name);
}

int pr__process_is_instance(const pr_value *v)
{
	const struct pr_process *p = v->u.proc;

	/* a context's ForkProcess derives from BaseProcess, not from Process */
	if (p->cls != NULL && pr__subclass_start_method(p->cls) != NULL)
		return 0;
	return p->kind == PROC_BASE || (p->kind == PROC_MAIN && !pr__profile.daemon_kwarg);
}

/* ---- util._exit_function ---------------------------------------------- */

int pr_exit_function(struct pr_diag *d)
{
	pr_value **list = NULL;
	size_t n = 0, i;
	int r = 0;

	/* the main program's exit joins its non-daemon threads
	 * (threading._shutdown) before the atexit hooks run this */
	if (pr__rt.current != NULL && pr__rt.current->u.proc->kind == PROC_MAIN)
		pr__threads_join();

	if (pr__rt.exiting || pr__rt.current == NULL)
		return 0;
	pr__rt.exiting = 1;
	/* _run_finalizers(0): procref registers none */
	if ((r = active_children(&list, &n)) < 0) {
		r = pr_diag(d, r, NULL);
		goto out;
	}
	for (i = 0; i < n; i++)
		if (daemon_truth(list[i]->u.proc) &&
		    (r = pr__popen_send_signal(list[i]->u.proc->popen, SIGTERM, d)) < 0)
			goto out;
	pr__items_free(list, n);
	list = NULL;
	if ((r = active_children(&list, &n)) < 0) {
		r = pr_diag(d, r, NULL);
		goto out;
	}
	for (i = 0; i < n; i++)
		if ((r = join(list[i], NULL, d)) < 0)
			goto out;
out:
	pr__items_free(list, n);
	return r;
}

/*
 * What CPython's own tests of multiprocessing (Lib/test/_test_multiprocessing.py)
 * read besides the Process API: the builtins len, type and isinstance with
 * the classes int, str and bytes, the module functions cpu_count,
 * get_start_method and set_start_method (context.py, DefaultContext), and
 * gc.collect() and connection.wait() (connection.py, wait on sentinels).
 * pr_global() hands them out; harness/vocab.def names them.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

/* ---- type objects ------------------------------------------------------- */

/* A class as type(x) returns it; its data is the static name. */
static void type_repr(pr_value *v, struct sbuf *sb)
{
	pr__sb_printf(sb, "<class '%s'>", (const char *)v->u.obj.data);
}

static int type_getattr(pr_value *v, const char *name, pr_value **out, struct pr_diag *d)
{
	const char *n = v->u.obj.data;

	if (strcmp(name, "__name__") != 0)
		return pr_diag(d, PR_EUNSUPPORTED, "libprocref does not model type.%s", name);
	*out = pr_str(n, strlen(n));
	return *out ? 0 : pr_diag(d, PR_EMEMORY, NULL);
}

static const struct pr_objtype type_type = {
	.name = "type",
	.repr = type_repr,
	.getattr = type_getattr,
};

static pr_value *type_object(const char *name)
{
	return pr__object_new(&type_type, (void *)name);
}

/* ---- the builtins ------------------------------------------------------- */

static const char *const one_param[] = { "obj" };
static const char *const two_params[] = { "obj", "class_or_tuple" };

/* type(x) */
static int b_type(pr_value *self, pr_value **argv, pr_value **out, struct pr_diag *d)
{
	(void)self;
	if (argv[0]->kind == PR_PROCESS && argv[0]->u.proc->cls != NULL) {
		*out = pr_incref(argv[0]->u.proc->cls);
		return 0;
	}
	*out = type_object(pr__type_name(argv[0]));
	return *out ? 0 : pr_diag(d, PR_EMEMORY, NULL);
}

/* len(x) */
static int b_len(pr_value *self, pr_value **argv, pr_value **out, struct pr_diag *d)
{
	pr_value *v = argv[0];
	size_t n;

	(void)self;
	switch (v->kind) {
	case PR_STR:
		/* code points: the UTF-8 bytes that start one */
		n = 0;
		for (size_t i = 0; i < v->u.s.len; i++)
			n += ((unsigned char)v->u.s.data[i] & 0xc0) != 0x80;
		break;
	case PR_BYTES:
	case PR_AUTHKEY:
		n = v->u.s.len;
		break;
	case PR_TUPLE:
	case PR_LIST:
	case PR_DICT:
		n = pr_len(v);
		break;
	default:
		return pr_diag(d, PR_ETYPE, "object of type '%s' has no len()", pr__type_name(v));
	}
	*out = pr_int((int64_t)n);
	return *out ? 0 : pr_diag(d, PR_EMEMORY, NULL);
}

/* Whether v is an instance of the class named cls, as CPython's classes
 * nest: bool under int, AuthenticationString under bytes, and on 2.7
 * (no bytes type of its own) str and bytes one class, _MainProcess a
 * Process. */
static int instance_of(const pr_value *v, const char *cls)
{
	int py2 = !pr__profile.bytes_type;

	if (strcmp(cls, "int") == 0)
		return v->kind == PR_INT || v->kind == PR_BOOL;
	if (strcmp(cls, "str") == 0 || strcmp(cls, "bytes") == 0) {
		if (py2)
			return v->kind == PR_STR || v->kind == PR_BYTES || v->kind == PR_AUTHKEY;
		return strcmp(cls, "str") == 0 ? v->kind == PR_STR :
						 v->kind == PR_BYTES || v->kind == PR_AUTHKEY;
	}
	if (strcmp(cls, "Process") == 0)
		return v->kind == PR_PROCESS && pr__process_is_instance(v);
	return 0;
}

/* isinstance(x, C), C the Process class or a type object */
static int b_isinstance(pr_value *self, pr_value **argv, pr_value **out, struct pr_diag *d)
{
	pr_value *cls = argv[1];
	const char *name;

	(void)self;
	if (pr__is_subclass(cls)) {
		*out = pr_bool(argv[0]->kind == PR_PROCESS && argv[0]->u.proc->cls == cls);
		return 0;
	}
	if (cls->kind == PR_FUNCTION && cls->u.fn.is_class)
		name = "Process";
	else if (pr__object_data(cls, &type_type) != NULL)
		name = cls->u.obj.data;
	else
		return pr_diag(d, PR_ETYPE,
			       "isinstance() arg 2 must be a type, a tuple of types, or a union");
	*out = pr_bool(instance_of(argv[0], name));
	return 0;
}

/* ---- module functions ---------------------------------------------------- */

static const char *const no_params[] = { NULL };
static const char *const allow_none_params[] = { "allow_none" };
static const char *const set_params[] = { "method", "force" };
static const char *const executable_params[] = { "executable" };

/* multiprocessing.cpu_count(): os.cpu_count(), sysconf's online CPUs */
static int m_cpu_count(pr_value *self, pr_value **argv, pr_value **out, struct pr_diag *d)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	(void)self;
	(void)argv;
	if (n < 1)
		return pr_diag(d, PR_EEXCEPTION, "cannot determine number of cpus");
	*out = pr_int(n);
	return *out ? 0 : pr_diag(d, PR_EMEMORY, NULL);
}

/* get_start_method(allow_none=False): the context's name; set_start_method
 * keeps one always, as the driver sets the scenario's method with force */
static int m_get_start_method(pr_value *self, pr_value **argv, pr_value **out, struct pr_diag *d)
{
	const char *name = pr__rt.method->name;

	(void)self;
	(void)argv;
	*out = pr_str(name, strlen(name));
	return *out ? 0 : pr_diag(d, PR_EMEMORY, NULL);
}

/* get_all_start_methods(): Linux's, default first (context.py; every
 * release from 3.4 has fork, spawn and forkserver there) */
static int m_get_all_start_methods(pr_value *self, pr_value **argv, pr_value **out,
				   struct pr_diag *d)
{
	static const char *const names[] = { "fork", "spawn", "forkserver" };
	pr_value *items[ARRAY_SIZE(names)];
	size_t i;

	(void)self;
	(void)argv;
	for (i = 0; i < ARRAY_SIZE(names); i++)
		if ((items[i] = pr_str(names[i], strlen(names[i]))) == NULL) {
			pr__items_free(items, i);
			return pr_diag(d, PR_EMEMORY, NULL);
		}
	*out = pr_list(items, ARRAY_SIZE(names));
	return *out ? 0 : pr_diag(d, PR_EMEMORY, NULL);
}

/* set_executable(executable): spawn.set_executable(), what spawn and the
 * fork server exec; checked no more than CPython checks it (an exec that
 * fails is a child exiting 255) */
static int m_set_executable(pr_value *self, pr_value **argv, pr_value **out, struct pr_diag *d)
{
	pr_value *path = argv[0];
	int r;

	(void)self;
	if (path->kind != PR_STR || memchr(path->u.s.data, '\0', path->u.s.len) != NULL)
		return pr_diag(d, PR_EUNSUPPORTED,
			       "libprocref's set_executable() takes a str without NULs");
	if ((r = pr__set_program_executable(path->u.s.data)) < 0)
		return pr_diag(d, r, NULL);
	*out = pr_none();
	return 0;
}

/* set_start_method(method, force=False), context.py DefaultContext */
static int m_set_start_method(pr_value *self, pr_value **argv, pr_value **out, struct pr_diag *d)
{
	pr_value *method = argv[0];
	int force = argv[1] != NULL && pr_truth(argv[1]);
	int r;

	(void)self;
	if (!force)
		return pr_diag_raise(d, "RuntimeError", "context has already been set");
	if (method->kind == PR_NONE) {
		/* _actual_context = None: the next use takes the default, fork */
		pr__rt.method = &pr__fork_method;
		*out = pr_none();
		return 0;
	}
	if (method->kind == PR_STR && memchr(method->u.s.data, '\0', method->u.s.len) == NULL &&
	    (strcmp(method->u.s.data, "fork") == 0 || strcmp(method->u.s.data, "spawn") == 0 ||
	     strcmp(method->u.s.data, "forkserver") == 0)) {
		if ((r = pr_set_start_method(method->u.s.data, d)) < 0)
			return r;
		*out = pr_none();
		return 0;
	}
	return pr__bad_context(method, d);
}

/* ---- gc and connection: modules only called as NAME.FUNC(...) ---------- */

/* gc.collect(): libprocref's cycle collector; None, since how many
 * objects it found is no behaviour of the implementation */
static int g_collect(pr_value *self, pr_value **argv, pr_value **out, struct pr_diag *d)
{
	(void)self;
	(void)argv;
	(void)d;
	pr_gc_collect();
	*out = pr_none();
	return 0;
}

static const char *const wait_params[] = { "object_list", "timeout" };

/* connection.wait(object_list, timeout=None) on POSIX: poll() the fds, and
 * return those that are ready, in the list's order (selectors'
 * PollSelector reports them so) */
static int c_wait(pr_value *self, pr_value **argv, pr_value **out, struct pr_diag *d)
{
	pr_value **items = NULL, **ready = NULL;
	struct pollfd *fds = NULL;
	size_t n = 0, i, k = 0;
	double timeout = -1;
	int r, ms, forever = 1;

	(void)self;
	if (argv[1] != NULL && argv[1]->kind != PR_NONE) {
		if ((r = pr__value_as_double(argv[1], &timeout, d)) < 0)
			return r;
		forever = 0;
	}
	if ((r = pr__value_iter(argv[0], &items, &n, d)) < 0)
		return r;
	fds = calloc(n + 1, sizeof *fds);
	ready = calloc(n + 1, sizeof *ready);
	if (fds == NULL || ready == NULL) {
		r = pr_diag(d, PR_EMEMORY, NULL);
		goto out;
	}
	for (i = 0; i < n; i++) {
		int fd;

		if ((r = pr__connection_fd(items[i], &fd, d)) < 0)
			goto out;
		if (r == 1 &&
		    (items[i]->kind != PR_INT || (r = pr__value_as_cint(items[i], &fd, d)) < 0)) {
			r = pr_diag(d, PR_EUNSUPPORTED,
				    "libprocref's connection.wait() takes sentinels (ints) and "
				    "connections only");
			goto out;
		}
		fds[i].fd = fd;
		fds[i].events = POLLIN;
	}
	/* None waits forever; a timeout <= 0 polls once (the selector's
	 * select(timeout) takes a negative one as 0) */
	ms = forever       ? -1 :
	     timeout <= 0  ? 0 :
	     timeout > 1e6 ? 1000000000 :
			     (int)ceil(timeout * 1000);
	do
		r = poll(fds, n, ms);
	while (r < 0 && errno == EINTR);
	if (r < 0) {
		r = pr_diag(d, -errno, NULL);
		goto out;
	}
	for (i = 0; i < n; i++)
		if (fds[i].revents)
			ready[k++] = pr_incref(items[i]);
	*out = pr_list(ready, k);
	r = *out ? 0 : pr_diag(d, PR_EMEMORY, NULL);
	if (r < 0) {
		pr__items_free(ready, k);
		ready = NULL;
	}
out:
	free(ready);
	free(fds);
	pr__items_free(items, n);
	return r;
}

static const pr_func gc_collect_func = { .name = "collect", .params = no_params, .fn = g_collect };
static const pr_func wait_func = {
	.name = "wait", .params = wait_params, .nparams = 2, .nrequired = 1, .fn = c_wait
};

/* A module object: its data is the function its one attribute names. */
static int namespace_getattr(pr_value *v, const char *name, pr_value **out, struct pr_diag *d)
{
	const pr_func *f = v->u.obj.data;

	if (strcmp(name, f->name) != 0)
		return pr_diag(d, PR_EUNSUPPORTED, "libprocref does not model %s.%s",
			       f == &wait_func             ? "connection" :
			       f == pr__weakref_ref_func() ? "weakref" :
							     "gc",
			       name);
	*out = pr_function(f);
	return *out ? 0 : pr_diag(d, PR_EMEMORY, NULL);
}

static void namespace_repr(pr_value *v, struct sbuf *sb)
{
	pr__sb_puts(sb, v->u.obj.data == &wait_func ? "<module 'multiprocessing.connection'>" :
			v->u.obj.data == pr__weakref_ref_func() ? "<module 'weakref'>" :
								  "<module 'gc' (built-in)>");
}

static const struct pr_objtype module_type = {
	.name = "module",
	.repr = namespace_repr,
	.getattr = namespace_getattr,
};

static const pr_func builtins[] = {
	{ .name = "cpu_count", .params = no_params, .fn = m_cpu_count },
	{ .name = "get_all_start_methods", .params = no_params, .fn = m_get_all_start_methods },
	{ .name = "get_start_method",
	  .params = allow_none_params,
	  .nparams = 1,
	  .fn = m_get_start_method },
	{ .name = "isinstance",
	  .params = two_params,
	  .nparams = 2,
	  .nrequired = 2,
	  .fn = b_isinstance },
	{ .name = "len", .params = one_param, .nparams = 1, .nrequired = 1, .fn = b_len },
	{ .name = "set_executable",
	  .params = executable_params,
	  .nparams = 1,
	  .nrequired = 1,
	  .fn = m_set_executable },
	{ .name = "set_start_method",
	  .params = set_params,
	  .nparams = 2,
	  .nrequired = 1,
	  .fn = m_set_start_method },
	{ .name = "type", .params = one_param, .nparams = 1, .nrequired = 1, .fn = b_type },
};

pr_value *pr__builtin_global(const char *name)
{
	size_t i;

	if (strcmp(name, "int") == 0 || strcmp(name, "str") == 0 || strcmp(name, "bytes") == 0)
		return type_object(strcmp(name, "int") == 0 ? "int" :
				   strcmp(name, "str") == 0 ? "str" :
							      "bytes");
	if (strcmp(name, "gc") == 0)
		return pr__object_new(&module_type, (void *)&gc_collect_func);
	if (strcmp(name, "weakref") == 0)
		return pr__object_new(&module_type, (void *)pr__weakref_ref_func());
	if (strcmp(name, "Pipe") == 0)
		return pr__pipe_global();
	if (strcmp(name, "connection") == 0)
		return pr__profile.sentinel ? pr__object_new(&module_type, (void *)&wait_func) :
					      NULL;
	if (!pr__profile.daemon_kwarg &&
	    (strcmp(name, "get_start_method") == 0 || strcmp(name, "set_start_method") == 0 ||
	     strcmp(name, "get_all_start_methods") == 0 || strcmp(name, "set_executable") == 0))
		return NULL; /* 2.7: no contexts */
	for (i = 0; i < ARRAY_SIZE(builtins); i++)
		if (strcmp(builtins[i].name, name) == 0)
			return pr_function(&builtins[i]);
	return NULL;
}

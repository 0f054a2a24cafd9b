/*
 * Process subclasses: what a program's own
 *
 *     class Worker(multiprocessing.Process):
 *         def run(self):
 *             behaviour(*args)
 *
 * does to a process's lifecycle.  The class names the process
 * ('Worker-1') and shows in its repr; its run() replaces the target, in
 * the child and when called in the parent; Process.run(p), read from the
 * base class, still runs the target.  A class without run keeps the
 * target.  The class is an object whose data is its name and run; it
 * crosses to a spawned child by value, as procspec's Python driver
 * pickles the classes it makes (its run is a behaviour, pickled by
 * reference).  The contexts' classes (get_context('spawn').Process is
 * SpawnProcess) are objects of the same kind that fix a start method.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static const char *const no_params[] = { NULL };

struct subclass {
	const char *module;                   /* __module__: "__main__", or a context's */
	const struct pr_start_method *method; /* a context's Process: its method */
	pr_value *name;                       /* str: __name__, __qualname__ */
	pr_value *run;                        /* a behaviour, NULL: BaseProcess.run */
	pr_value *args;                       /* tuple: what run is called with */
	pr_func run_func;                     /* NAME.run, the override */
	char *run_qualname;
};

static int subclass_run(pr_value *self, pr_value **argv, pr_value **out, struct pr_diag *d);

static void subclass_free(void *data)
{
	struct subclass *c = data;

	pr_decref(c->name);
	pr_decref(c->run);
	pr_decref(c->args);
	free(c->run_qualname);
	free(c);
}

/* type.__repr__: the module is __main__, where the class would be written,
 * or multiprocessing.context for a context's */
static void subclass_repr(pr_value *v, struct sbuf *sb)
{
	struct subclass *c = v->u.obj.data;

	pr__sb_printf(sb, "<class '%s.%s'>", c->module, c->name->u.s.data);
}

/* Worker.__name__; Worker.terminate and the other methods of the base,
 * read from the class as Process.terminate is */
static int subclass_getattr(pr_value *v, const char *name, pr_value **out, struct pr_diag *d)
{
	struct subclass *c = v->u.obj.data;
	int r;

	if (strcmp(name, "__name__") == 0 || strcmp(name, "__qualname__") == 0) {
		*out = pr_incref(c->name);
		return 0;
	}
	if (strcmp(name, "run") == 0 && c->run != NULL)
		return pr_diag(d, PR_EUNSUPPORTED,
			       "libprocref does not model %s.run read from the class",
			       c->name->u.s.data);
	if ((r = pr__process_class_getattr(name, out, d)) != 0)
		return r < 0 ? r : 0;
	return pr_diag(d, PR_EATTRIBUTE, "type object '%s' has no attribute '%s'",
		       c->name->u.s.data, name);
}

/* 'C', the name, run ('-' for none), args; 'K' and the method's name for a
 * context's class */
static int subclass_wire(struct sbuf *sb, pr_value *v)
{
	struct subclass *c = v->u.obj.data;
	int r;

	if (c->method != NULL) {
		pr__sb_putc(sb, 'K');
		pr__wire_put_blob(sb, c->method->name, strlen(c->method->name));
		return 0;
	}
	pr__sb_putc(sb, 'C');
	pr__wire_put_blob(sb, c->name->u.s.data, c->name->u.s.len);
	if ((r = pr__wire_put(sb, c->run)) < 0)
		return r;
	return pr__wire_put(sb, c->args);
}

static const struct pr_objtype subclass_type = {
	.name = "type",
	.free = subclass_free,
	.repr = subclass_repr,
	.getattr = subclass_getattr,
	.wire = subclass_wire,
	.init = pr__process_init, /* a class: calling it makes an instance */
};

int pr_subclass(pr_value *name, pr_value *run, pr_value *args, pr_value **out, struct pr_diag *d)
{
	struct subclass *c;
	pr_value *empty = NULL;
	int r;

	*out = NULL;
	if (name == NULL || name->kind != PR_STR || name->u.s.len == 0 ||
	    memchr(name->u.s.data, '\0', name->u.s.len) != NULL)
		return pr_diag(d, PR_ETYPE, "subclass(): the name is a non-empty str");
	if (run != NULL && run->kind == PR_NONE)
		run = NULL;
	if (run != NULL && run->kind != PR_FUNCTION)
		return pr_diag(d, PR_ETYPE, "subclass(): run is a behaviour");
	if (args == NULL) {
		if ((empty = pr_tuple(NULL, 0)) == NULL)
			return pr_diag(d, PR_EMEMORY, NULL);
		args = empty;
	}
	if ((c = calloc(1, sizeof *c)) == NULL) {
		pr_decref(empty);
		return pr_diag(d, PR_EMEMORY, NULL);
	}
	c->module = "__main__";
	c->name = pr_incref(name);
	c->run = run != NULL ? pr_incref(run) : NULL;
	/* its TypeErrors name it Worker.run from 3.10, run before */
	if ((c->run_qualname = malloc(name->u.s.len + 5)) == NULL) {
		pr_decref(empty);
		subclass_free(c);
		return pr_diag(d, PR_EMEMORY, NULL);
	}
	memcpy(c->run_qualname, name->u.s.data, name->u.s.len);
	memcpy(c->run_qualname + name->u.s.len, ".run", 5);
	c->run_func.name = c->run_qualname;
	c->run_func.params = no_params;
	c->run_func.fn = subclass_run;
	r = pr__value_to_tuple(args, &c->args, d);
	pr_decref(empty);
	if (r < 0) {
		subclass_free(c);
		return r;
	}
	*out = pr__object_new(&subclass_type, c);
	return *out ? 0 : pr_diag(d, PR_EMEMORY, NULL);
}

/*
 * A context's Process class (context.py: ForkProcess, SpawnProcess,
 * ForkServerProcess): named for its method, starting its children with it
 * whatever the default, one object per method as the module has one class.
 */
pr_value *pr__context_class(const struct pr_start_method *m)
{
	static pr_value *classes[3];
	static const char *const names[] = { "ForkProcess", "SpawnProcess", "ForkServerProcess" };
	size_t i = m == &pr__fork_method ? 0 : m == &pr__spawn_method ? 1 : 2;
	struct pr_diag d = PR_DIAG_INIT;
	pr_value *name;

	if (classes[i] == NULL) {
		if ((name = pr_str(names[i], strlen(names[i]))) == NULL)
			return NULL;
		if (pr_subclass(name, NULL, NULL, &classes[i], &d) == 0) {
			struct subclass *c = classes[i]->u.obj.data;

			c->module = "multiprocessing.context";
			c->method = m;
		}
		pr_decref(name);
		pr_diag_clear(&d);
	}
	return classes[i] != NULL ? pr_incref(classes[i]) : NULL;
}

const struct pr_start_method *pr__subclass_start_method(const pr_value *cls)
{
	const struct subclass *c = pr__object_data(cls, &subclass_type);

	return c != NULL ? c->method : NULL;
}

int pr__is_subclass(const pr_value *v)
{
	return pr__object_data(v, &subclass_type) != NULL;
}

const char *pr__subclass_name(const pr_value *cls)
{
	const struct subclass *c = pr__object_data(cls, &subclass_type);

	return c->name->u.s.data;
}

/* The override: run(self) is behaviour(*args); the behaviour's own code
 * does not read self */
static int subclass_run(pr_value *self, pr_value **argv, pr_value **out, struct pr_diag *d)
{
	const struct subclass *c = pr__object_data(self->u.proc->cls, &subclass_type);
	pr_value *kwargs = NULL, *result = NULL, *running;
	int r;

	(void)argv;
	(void)out;
	if ((r = pr_dict(NULL, 0, &kwargs, d)) < 0)
		return r;
	running = pr__rt.running;
	pr__rt.running = self;
	r = pr__call_with(c->run, c->args, kwargs, &result, d);
	pr__rt.running = running;
	pr_decref(kwargs);
	pr_decref(result);
	return r;
}

const pr_func *pr__subclass_method(const pr_value *cls, const char *name)
{
	const struct subclass *c = pr__object_data(cls, &subclass_type);

	if (c != NULL && c->run != NULL && strcmp(name, "run") == 0)
		return &c->run_func;
	return NULL;
}

int pr__subclass_from_wire(const char **p, const char *end, pr_value **out)
{
	const char *data;
	size_t len;
	pr_value *name = NULL, *run = NULL, *args = NULL;
	struct pr_diag d = PR_DIAG_INIT;
	int r;

	*out = NULL;
	if ((r = pr__wire_get_blob(p, end, &data, &len)) < 0 ||
	    (r = pr__wire_get(p, end, &run)) < 0 || (r = pr__wire_get(p, end, &args)) < 0)
		goto out;
	if ((name = pr_str(data, len)) == NULL) {
		r = PR_EMEMORY;
		goto out;
	}
	r = pr_subclass(name, run, args, out, &d);
	pr_diag_clear(&d);
	if (r < 0)
		r = r == PR_EMEMORY ? r : PR_EVALUE;
out:
	pr_decref(name);
	pr_decref(run);
	pr_decref(args);
	return r;
}

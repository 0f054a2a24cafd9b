/*
 * Callable objects: what a program's own
 *
 *     class Dummy:
 *         def __call__(self, *args):
 *             return behaviour(*args)
 *
 *     p = Process(target=Dummy(), args=...)
 *
 * does when an instance is a process's target.  The instance is an object
 * whose data is its class's name and the behaviour; it crosses to a
 * spawned child by value, as procspec's Python driver pickles the classes
 * it makes (the behaviour by reference).  Its repr is object.__repr__,
 * '<__main__.Dummy object at 0x...>', and type(c).__name__ is 'Dummy'.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

struct instance {
	pr_value *name; /* str: the class's __name__ */
	pr_value *call; /* a behaviour: what __call__ runs */
};

static void instance_free(void *data)
{
	struct instance *c = data;

	pr_decref(c->name);
	pr_decref(c->call);
	free(c);
}

static void instance_repr(pr_value *v, struct sbuf *sb)
{
	struct instance *c = v->u.obj.data;

	pr__sb_printf(sb, "<__main__.%s object at %p>", c->name->u.s.data, (void *)v);
}

static const char *instance_type_name(const pr_value *v)
{
	const struct instance *c = v->u.obj.data;

	return c->name->u.s.data;
}

/* 'O', the name, the behaviour */
static int instance_wire(struct sbuf *sb, pr_value *v)
{
	struct instance *c = v->u.obj.data;

	pr__sb_putc(sb, 'O');
	pr__wire_put_blob(sb, c->name->u.s.data, c->name->u.s.len);
	return pr__wire_put(sb, c->call);
}

/* __call__(self, *args, **kwargs): the behaviour with those arguments */
static int instance_call(pr_value *self, pr_value **argv, pr_value **out, struct pr_diag *d)
{
	const struct instance *c = self->u.obj.data;

	return pr__call_with(c->call, argv[0], argv[1], out, d);
}

static const char *const no_params[] = { NULL };
static const pr_func call_func = {
	.name = "__call__", .params = no_params, .varargs = 1, .varkw = 1, .fn = instance_call
};

static const struct pr_objtype instance_type = {
	.name = "object",
	.free = instance_free,
	.repr = instance_repr,
	.wire = instance_wire,
	.call = &call_func,
	.type_name = instance_type_name,
};

int pr_callable_object(pr_value *name, pr_value *call, pr_value **out, struct pr_diag *d)
{
	struct instance *c;

	*out = NULL;
	if (name == NULL || name->kind != PR_STR || name->u.s.len == 0 ||
	    memchr(name->u.s.data, '\0', name->u.s.len) != NULL)
		return pr_diag(d, PR_ETYPE, "callable_object(): the name is a non-empty str");
	if (call == NULL || call->kind != PR_FUNCTION || call->u.fn.is_class)
		return pr_diag(d, PR_ETYPE, "callable_object(): call is a behaviour");
	if ((c = calloc(1, sizeof *c)) == NULL)
		return pr_diag(d, PR_EMEMORY, NULL);
	c->name = pr_incref(name);
	c->call = pr_incref(call);
	*out = pr__object_new(&instance_type, c);
	return *out ? 0 : pr_diag(d, PR_EMEMORY, NULL);
}

int pr__callable_object_from_wire(const char **p, const char *end, pr_value **out)
{
	struct pr_diag d = PR_DIAG_INIT;
	pr_value *name = NULL, *call = NULL;
	const char *data;
	size_t len;
	int r;

	*out = NULL;
	if ((r = pr__wire_get_blob(p, end, &data, &len)) < 0 ||
	    (r = pr__wire_get(p, end, &call)) < 0)
		goto out;
	if ((name = pr_str(data, len)) == NULL) {
		r = PR_EMEMORY;
		goto out;
	}
	r = pr_callable_object(name, call, out, &d);
	pr_diag_clear(&d);
	if (r < 0)
		r = r == PR_EMEMORY ? r : PR_EVALUE;
out:
	pr_decref(name);
	pr_decref(call);
	return r;
}

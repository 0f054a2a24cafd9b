/*
 * weakref.ref(obj), as CPython's tests use it on process objects and
 * targets (test_close, test_lose_target_ref): calling the reference gives
 * the object while it lives, None once it was freed.  What can be
 * referenced is what CPython's types allow: processes, functions, methods
 * and other objects, not None, numbers, strings or containers ("cannot
 * create weak reference to 'int' object").  Every live reference is on
 * one list; freeing a value clears the references to it (value.c).
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

struct weakref {
	pr_value *target; /* borrowed; NULL once it was freed */
	struct weakref *prev, *next;
};

static struct weakref *refs;

void pr__weakref_clear(const pr_value *v)
{
	struct weakref *w;

	for (w = refs; w != NULL; w = w->next)
		if (w->target == v)
			w->target = NULL;
}

int pr__weakref_any(void)
{
	return refs != NULL;
}

static void weakref_free(void *data)
{
	struct weakref *w = data;

	if (w->prev != NULL)
		w->prev->next = w->next;
	else
		refs = w->next;
	if (w->next != NULL)
		w->next->prev = w->prev;
	free(w);
}

/* the module of the target's class: a subclass() or callable_object()
 * class is __main__'s, Process and its context classes
 * multiprocessing.context's, _MainProcess and _ParentProcess
 * multiprocessing.process's */
static const char *target_module(const pr_value *v)
{
	if (v->kind == PR_PROCESS)
		return v->u.proc->cls != NULL && pr__is_subclass(v->u.proc->cls) ? "__main__." :
		       pr__type_name(v)[0] == '_' ? "multiprocessing.process." :
						    "multiprocessing.context.";
	return v->kind == PR_OBJECT && v->u.obj.type->call != NULL ? "__main__." : "";
}

/* <weakref at 0x...; to 'Process' at 0x...>, the type's full name from
 * 3.13; <weakref at 0x...; dead> */
static void weakref_repr(pr_value *v, struct sbuf *sb)
{
	const struct weakref *w = v->u.obj.data;
	const char *module = "";

	if (w->target == NULL) {
		pr__sb_printf(sb, "<weakref at %p; dead>", (void *)v);
		return;
	}
	if (pr__profile.weakref_repr_qualname)
		module = target_module(w->target);
	pr__sb_printf(sb, "<weakref at %p; to '%s%s' at %p>", (void *)v, module,
		      pr__type_name(w->target), (void *)w->target);
}

static const char *weakref_type_name(const pr_value *v)
{
	(void)v;
	return pr__profile.bytes_type ? "ReferenceType" : "weakref";
}

/* __call__(): the object, or None */
static int weakref_call(pr_value *self, pr_value **argv, pr_value **out, struct pr_diag *d)
{
	const struct weakref *w = self->u.obj.data;

	(void)argv;
	(void)d;
	*out = w->target != NULL ? pr_incref(w->target) : pr_none();
	return 0;
}

static const char *const no_params[] = { NULL };
static const pr_func call_func = { .name = "__call__", .params = no_params, .fn = weakref_call };

static const struct pr_objtype weakref_type = {
	.name = "weakref",
	.free = weakref_free,
	.repr = weakref_repr,
	.call = &call_func,
	.type_name = weakref_type_name,
};

static const char *const ref_params[] = { "object" };

static int w_ref(pr_value *self, pr_value **argv, pr_value **out, struct pr_diag *d)
{
	pr_value *v = argv[0];
	struct weakref *w;

	(void)self;
	switch (v->kind) {
	case PR_PROCESS:
	case PR_FUNCTION:
	case PR_METHOD:
	case PR_OBJECT:
		break;
	default:
		return pr_diag(d, PR_ETYPE, "cannot create weak reference to '%s' object",
			       pr__type_name(v));
	}
	if ((w = calloc(1, sizeof *w)) == NULL)
		return pr_diag(d, PR_EMEMORY, NULL);
	w->target = v;
	w->next = refs;
	if (refs != NULL)
		refs->prev = w;
	refs = w;
	*out = pr__object_new(&weakref_type, w);
	return *out ? 0 : pr_diag(d, PR_EMEMORY, NULL);
}

static const pr_func ref_func = {
	.name = "ref", .params = ref_params, .nparams = 1, .nrequired = 1, .fn = w_ref
};

const pr_func *pr__weakref_ref_func(void)
{
	return &ref_func;
}

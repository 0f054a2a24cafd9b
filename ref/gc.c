/*
 * A cycle collector for the only cycles scenario values can form: process
 * objects reaching themselves through an attribute (p.daemon = p, or
 * p.x = q; q.x = p).  CPython's cyclic GC frees such objects and so runs
 * their Popen finalizers, closing the sentinels; this does the same with
 * CPython's algorithm (Modules/gcmodule.c): what references from outside
 * the tracked containers keep alive stays, the rest is garbage.
 * Containers are immutable here, so every cycle passes through a process
 * object, and clearing those breaks them all.
 */
#include <stdlib.h>

#include "internal.h"

static pr_value *gc_list; /* every live container, newest first */

void pr__gc_track(pr_value *v)
{
	v->gc_prev = NULL;
	v->gc_next = gc_list;
	if (gc_list != NULL)
		gc_list->gc_prev = v;
	gc_list = v;
}

void pr__gc_untrack(pr_value *v)
{
	if (v->gc_prev != NULL)
		v->gc_prev->gc_next = v->gc_next;
	else if (gc_list == v)
		gc_list = v->gc_next;
	if (v->gc_next != NULL)
		v->gc_next->gc_prev = v->gc_prev;
	v->gc_prev = v->gc_next = NULL;
}

static int is_tracked(const pr_value *v)
{
	switch (v->kind) {
	case PR_TUPLE:
	case PR_LIST:
	case PR_DICT:
	case PR_PROCESS:
	case PR_METHOD:
		return v->refcnt > 0;
	default:
		return 0;
	}
}

void pr__value_visit(pr_value *v, void (*fn)(pr_value *, void *), void *arg)
{
	size_t i, n;

	switch (v->kind) {
	case PR_TUPLE:
	case PR_LIST:
	case PR_DICT:
		n = v->kind == PR_DICT ? 2 * v->u.seq.len : v->u.seq.len;
		for (i = 0; i < n; i++)
			fn(v->u.seq.items[i], arg);
		break;
	case PR_METHOD:
		fn(v->u.fn.self, arg);
		break;
	case PR_PROCESS:
		pr__process_visit(v, fn, arg);
		break;
	default:
		break;
	}
}

static void subtract_ref(pr_value *r, void *arg)
{
	(void)arg;
	if (r != NULL && is_tracked(r))
		r->gc_refs--;
}

static void mark_reachable(pr_value *r, void *arg)
{
	int *changed = arg;

	if (r != NULL && is_tracked(r) && r->gc_refs == 0) {
		r->gc_refs = 1;
		*changed = 1;
	}
}

void pr_gc_collect(void)
{
	pr_value *v, **garbage;
	size_t n = 0, i;
	int changed = 1;

	for (v = gc_list; v != NULL; v = v->gc_next)
		v->gc_refs = v->refcnt;
	for (v = gc_list; v != NULL; v = v->gc_next)
		pr__value_visit(v, subtract_ref, NULL);
	/* gc_refs > 0: referenced from outside; mark everything those reach
	 * with 1, which leaves 0 on the garbage. */
	for (v = gc_list; v != NULL; v = v->gc_next)
		if (v->gc_refs > 0)
			v->gc_refs = 1;
	while (changed) {
		changed = 0;
		for (v = gc_list; v != NULL; v = v->gc_next)
			if (v->gc_refs > 0)
				pr__value_visit(v, mark_reachable, &changed);
	}
	for (v = gc_list; v != NULL; v = v->gc_next)
		if (v->gc_refs == 0 && v->kind == PR_PROCESS)
			n++;
	if (n == 0 || (garbage = calloc(n, sizeof *garbage)) == NULL)
		return;
	n = 0;
	for (v = gc_list; v != NULL; v = v->gc_next)
		if (v->gc_refs == 0 && v->kind == PR_PROCESS)
			garbage[n++] = pr_incref(v);
	for (i = 0; i < n; i++)
		pr__process_clear(garbage[i]);
	for (i = 0; i < n; i++)
		pr_decref(garbage[i]);
	free(garbage);
}

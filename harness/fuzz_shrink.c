#include "fuzz_shrink.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ast.h"
#include "fuzz_gen.h"
#include "proc.h"

struct shrink {
	struct ps_scenario *cur;
	unsigned method;
	ps_fuzz_repro_fn repro;
	void *ctx;
	double deadline;
	const volatile sig_atomic_t *stop;
	size_t tries;
	struct ps_diag *d;
	int err;
};

static bool out_of_time(const struct shrink *s)
{
	return s->err || (s->stop && *s->stop) || ps_now() > s->deadline;
}

/*
 * Try the scenario made of steps[0..n) (sharing s->cur's statements): if it
 * is valid and still shows the finding, it becomes s->cur.
 */
static bool try_steps(struct shrink *s, struct ps_stmt **steps, size_t n)
{
	struct ps_scenario view = *s->cur, *cand = NULL;
	char *text;
	bool same = false;

	if (out_of_time(s))
		return false;
	view.steps = steps;
	view.n_steps = n;
	text = ps_fuzz_scenario_text(&view, NULL, s->method, NULL);
	if (!text) {
		s->err = ps_diag(s->d, -ENOMEM, "out of memory");
		return false;
	}
	if (ps_fuzz_parse(text, "shrink", &cand, NULL) || !ps_fuzz_model_check(cand, NULL, 0)) {
		free(text);
		ps_scenario_free(cand);
		return false;
	}
	s->tries++;
	s->err = s->repro(s->ctx, text, &same, s->d);
	free(text);
	if (s->err || !same) {
		ps_scenario_free(cand);
		return false;
	}
	ps_scenario_free(s->cur);
	s->cur = cand;
	return true;
}

static bool try_current(struct shrink *s)
{
	struct ps_stmt **copy = malloc((s->cur->n_steps + 1) * sizeof(*copy));
	bool ok;

	if (!copy) {
		s->err = ps_diag(s->d, -ENOMEM, "out of memory");
		return false;
	}
	memcpy(copy, s->cur->steps, s->cur->n_steps * sizeof(*copy));
	ok = try_steps(s, copy, s->cur->n_steps);
	free(copy);
	return ok;
}

/* Drop chunks of size n/2, n/4, ... 1 (ddmin's complement step). */
static bool drop_chunks(struct shrink *s)
{
	struct ps_stmt **keep;
	size_t size, i, k, n;
	bool any = false;

	for (size = s->cur->n_steps / 2 ? s->cur->n_steps / 2 : 1; size >= 1; size /= 2) {
		for (i = 0; i < s->cur->n_steps && !out_of_time(s);) {
			n = s->cur->n_steps;
			keep = malloc((n + 1) * sizeof(*keep));
			if (!keep) {
				s->err = ps_diag(s->d, -ENOMEM, "out of memory");
				return any;
			}
			for (k = 0; k < n; k++)
				keep[k] = s->cur->steps[k];
			memmove(keep + i, keep + (i + size < n ? i + size : n),
				(n - (i + size < n ? i + size : n)) * sizeof(*keep));
			if (try_steps(s, keep, n - (i + size < n ? size : n - i)))
				any = true; /* the same i now holds what followed */
			else
				i += size;
			free(keep);
		}
		if (size == 1)
			break;
	}
	return any;
}

static bool mentions(const struct ps_expr *e, const char *var)
{
	size_t i;

	if (!e)
		return false;
	if (e->kind == PS_X_VAR && !strcmp(e->text, var))
		return true;
	if (mentions(e->object, var))
		return true;
	for (i = 0; i < e->n_items; i++)
		if (mentions(e->items[i], var))
			return true;
	for (i = 0; i < e->n_kw; i++)
		if (mentions(e->kw[i].value, var))
			return true;
	return false;
}

/* Drop a process: its assignment and every statement that names it. */
static bool drop_processes(struct shrink *s)
{
	bool any = false;
	size_t i, k, n;

	for (i = 0; i < s->cur->n_steps && !out_of_time(s); i++) {
		struct ps_stmt **keep;
		char var[64];

		if (s->cur->steps[i]->kind != PS_S_ASSIGN)
			continue;
		snprintf(var, sizeof(var), "%s", s->cur->steps[i]->target);
		keep = malloc((s->cur->n_steps + 1) * sizeof(*keep));
		if (!keep) {
			s->err = ps_diag(s->d, -ENOMEM, "out of memory");
			return any;
		}
		for (k = n = 0; k < s->cur->n_steps; k++) {
			const struct ps_stmt *st = s->cur->steps[k];

			if ((st->target && !strcmp(st->target, var)) || mentions(st->object, var) ||
			    mentions(st->value, var))
				continue;
			keep[n++] = s->cur->steps[k];
		}
		if (try_steps(s, keep, n)) {
			any = true;
			i = (size_t)-1; /* start over on the new scenario */
		}
		free(keep);
	}
	return any;
}

/* Every expression node of the scenario, in order, for the literal pass. */
static void collect(struct ps_expr *e, struct ps_expr ***out, size_t *n, size_t *cap)
{
	size_t i;

	if (!e)
		return;
	if (*n == *cap) {
		struct ps_expr **nb = realloc(*out, (*cap ? *cap * 2 : 32) * sizeof(*nb));

		if (!nb)
			return;
		*out = nb;
		*cap = *cap ? *cap * 2 : 32;
	}
	(*out)[(*n)++] = e;
	collect(e->object, out, n, cap);
	for (i = 0; i < e->n_items; i++)
		collect(e->items[i], out, n, cap);
	for (i = 0; i < e->n_kw; i++)
		collect(e->kw[i].value, out, n, cap);
}

/* Try the scenario with node e's text replaced by t (an INT, FLOAT, STR or BYTES node). */
static bool try_text(struct shrink *s, struct ps_expr *e, const char *t, size_t len)
{
	char *old = e->text, *nt = malloc(len + 1);
	size_t old_len = e->len;
	bool ok;

	if (!nt)
		return false;
	memcpy(nt, t, len);
	nt[len] = '\0';
	if (old_len == len && !memcmp(old, nt, len)) {
		free(nt);
		return false;
	}
	e->text = nt;
	e->len = len;
	ok = try_current(
		s); /* on success s->cur is a fresh parse: e (and nt) went with the old one */
	if (!ok) {
		e->text = old;
		e->len = old_len;
		free(nt);
		return false;
	}
	free(old);
	return true;
}

/* Try without item i of a sequence, or keyword argument i of a call. */
static bool try_drop_item(struct shrink *s, struct ps_expr *e, size_t i, bool kw)
{
	bool ok;

	if (kw) {
		struct ps_kwarg saved = e->kw[i];

		memmove(e->kw + i, e->kw + i + 1, (e->n_kw - i - 1) * sizeof(*e->kw));
		e->n_kw--;
		ok = try_current(s);
		if (!ok) {
			memmove(e->kw + i + 1, e->kw + i, (e->n_kw - i) * sizeof(*e->kw));
			e->kw[i] = saved;
			e->n_kw++;
		} else {
			free(saved.name);
			ps_expr_free(saved.value);
		}
		return ok;
	}
	{
		struct ps_expr *saved = e->items[i];

		memmove(e->items + i, e->items + i + 1, (e->n_items - i - 1) * sizeof(*e->items));
		e->n_items--;
		ok = try_current(s);
		if (!ok) {
			memmove(e->items + i + 1, e->items + i,
				(e->n_items - i) * sizeof(*e->items));
			e->items[i] = saved;
			e->n_items++;
		} else {
			ps_expr_free(saved);
		}
		return ok;
	}
}

/*
 * One simplification of one node; true when it was kept (s->cur then is a
 * new parse, and the caller starts its walk again).
 */
static bool simplify_node(struct shrink *s, struct ps_expr *e)
{
	size_t i;

	switch (e->kind) {
	case PS_X_INT:
		if (try_text(s, e, "0", 1) || try_text(s, e, "1", 1))
			return true;
		if (e->len > 2) {
			size_t neg = e->text[0] == '-';
			size_t half = neg + (e->len - neg + 1) / 2;

			if (try_text(s, e, e->text, half) ||
			    (neg && try_text(s, e, e->text + 1, e->len - 1)))
				return true;
		}
		return false;
	case PS_X_FLOAT:
		return try_text(s, e, "0.0", 3) || try_text(s, e, "1.0", 3);
	case PS_X_STR:
	case PS_X_BYTES:
		if (e->len == 0)
			return false;
		return try_text(s, e, "", 0) ||
		       (e->len > 1 && try_text(s, e, e->text, e->len / 2)) ||
		       try_text(s, e, "x", 1);
	case PS_X_TUPLE:
	case PS_X_LIST:
		for (i = e->n_items; i-- > 0;)
			if (try_drop_item(s, e, i, false))
				return true;
		return false;
	case PS_X_CALL:
		for (i = e->n_kw; i-- > 0;)
			if (try_drop_item(s, e, i, true))
				return true;
		return false;
	default:
		return false;
	}
}

static bool simplify_literals(struct shrink *s)
{
	bool any = false, again = true;

	while (again && !out_of_time(s)) {
		struct ps_expr **nodes = NULL;
		size_t n = 0, cap = 0, i, k;

		again = false;
		for (k = 0; k < s->cur->n_steps; k++) {
			collect(s->cur->steps[k]->object, &nodes, &n, &cap);
			collect(s->cur->steps[k]->value, &nodes, &n, &cap);
		}
		for (i = 0; i < n && !out_of_time(s); i++) {
			if (simplify_node(s, nodes[i])) {
				any = again = true;
				break; /* the nodes belonged to the old parse */
			}
		}
		free(nodes);
	}
	return any;
}

int ps_fuzz_shrink(const char *text, unsigned method, ps_fuzz_repro_fn repro, void *ctx,
		   double deadline, const volatile sig_atomic_t *stop, char **out, size_t *tries,
		   struct ps_diag *d)
{
	struct shrink s = { NULL, method, repro, ctx, deadline, stop, 0, d, 0 };
	bool progress = true;
	int r;

	*out = NULL;
	r = ps_fuzz_parse(text, "shrink", &s.cur, d);
	if (r)
		return r;
	while (progress && !out_of_time(&s)) {
		progress = drop_chunks(&s);
		progress = drop_processes(&s) || progress;
		progress = simplify_literals(&s) || progress;
	}
	*tries = s.tries;
	if (s.err) {
		ps_scenario_free(s.cur);
		return s.err;
	}
	*out = ps_fuzz_scenario_text(s.cur, NULL, method, NULL);
	ps_scenario_free(s.cur);
	return *out ? 0 : ps_diag(d, -ENOMEM, "out of memory");
}

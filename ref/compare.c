/*
 * Rich comparisons and membership: the operators != < <= > >= in and
 * not in (== is pr_equal), as CPython's objects answer them for the values
 * a scenario can hold.  Numbers order by value (bool is an int), str by
 * code point (its UTF-8 bytes order the same way), bytes by byte, tuples
 * and lists item by item; any other pair raises Python 3's TypeError
 * ("'<' not supported between instances of 'int' and 'str'").  Python 2.7
 * orders every pair (by type name when the types differ): libprocref does
 * not model that, and says so.  `in` looks in tuples, lists, dict keys
 * and, for a str or bytes on its left, substrings.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

static int is_number(const pr_value *v)
{
	return v->kind == PR_BOOL || v->kind == PR_INT || v->kind == PR_FLOAT;
}

static int is_bytes(const pr_value *v)
{
	return v->kind == PR_BYTES || v->kind == PR_AUTHKEY ||
	       (!pr__profile.bytes_type && v->kind == PR_STR);
}

/* An int's decimal text: its own for a big one, or printed into buf */
static const char *int_text(const pr_value *v, char buf[24])
{
	if (v->kind == PR_INT && v->u.i.big != NULL)
		return v->u.i.big;
	snprintf(buf, 24, "%" PRId64, v->kind == PR_BOOL ? (int64_t)v->u.b : v->u.i.small);
	return buf;
}

/* -1, 0, 1 for two ints of any size, from their canonical decimal text */
static int int_cmp(const pr_value *a, const pr_value *b)
{
	char ba[24], bb[24];
	const char *x = int_text(a, ba), *y = int_text(b, bb);
	int neg = x[0] == '-', c;
	size_t lx, ly;

	if (neg != (y[0] == '-'))
		return neg ? -1 : 1;
	x += neg;
	y += neg;
	lx = strlen(x);
	ly = strlen(y);
	c = lx != ly ? (lx < ly ? -1 : 1) : strcmp(x, y);
	c = c < 0 ? -1 : c > 0;
	return neg ? -c : c;
}

/* 2^53: every int below it in size is exact as a double */
#define EXACT_DOUBLE 9007199254740992.0

/*
 * Order two numbers: -1, 0, 1, or 2 when a float is NaN (every comparison
 * false); PR_EUNSUPPORTED for a float against an int too large to be exact
 * as a double.
 */
static int number_cmp(const pr_value *a, const pr_value *b, int *c, struct pr_diag *d)
{
	double x, y;

	if (a->kind != PR_FLOAT && b->kind != PR_FLOAT) {
		*c = int_cmp(a, b);
		return 0;
	}
	if ((a->kind == PR_INT && a->u.i.big) || (b->kind == PR_INT && b->u.i.big) ||
	    (a->kind == PR_INT && fabs((double)a->u.i.small) >= EXACT_DOUBLE) ||
	    (b->kind == PR_INT && fabs((double)b->u.i.small) >= EXACT_DOUBLE))
		return pr_diag(d, PR_EUNSUPPORTED,
			       "libprocref does not compare a float with an int beyond 2**53");
	x = a->kind == PR_FLOAT ? a->u.f : a->kind == PR_BOOL ? a->u.b : (double)a->u.i.small;
	y = b->kind == PR_FLOAT ? b->u.f : b->kind == PR_BOOL ? b->u.b : (double)b->u.i.small;
	*c = isnan(x) || isnan(y) ? 2 : x < y ? -1 : x > y;
	return 0;
}

static int bytes_cmp(const pr_value *a, const pr_value *b)
{
	size_t n = a->u.s.len < b->u.s.len ? a->u.s.len : b->u.s.len;
	int c = memcmp(a->u.s.data, b->u.s.data, n);

	if (c == 0)
		return a->u.s.len < b->u.s.len ? -1 : a->u.s.len > b->u.s.len;
	return c < 0 ? -1 : 1;
}

static int not_supported(const char *op, const pr_value *a, const pr_value *b, struct pr_diag *d)
{
	if (!pr__profile.bytes_type)
		return pr_diag(d, PR_EUNSUPPORTED,
			       "libprocref does not model Python 2's ordering of '%s' and '%s'",
			       pr__type_name(a), pr__type_name(b));
	return pr_diag(d, PR_ETYPE, "'%s' not supported between instances of '%s' and '%s'", op,
		       pr__type_name(a), pr__type_name(b));
}

/* -1, 0, 1 (2: unordered, a NaN) for a op b, or the exception */
static int order(const char *op, const pr_value *a, const pr_value *b, int *c, struct pr_diag *d)
{
	size_t i, n;

	if (is_number(a) && is_number(b))
		return number_cmp(a, b, c, d);
	if (is_bytes(a) && is_bytes(b)) {
		*c = bytes_cmp(a, b);
		return 0;
	}
	if (a->kind == PR_STR && b->kind == PR_STR) {
		*c = bytes_cmp(a, b); /* UTF-8 orders as the code points do */
		return 0;
	}
	if (a->kind != b->kind || (a->kind != PR_TUPLE && a->kind != PR_LIST))
		return not_supported(op, a, b, d);
	/* the first items that differ decide; else the lengths */
	n = a->u.seq.len < b->u.seq.len ? a->u.seq.len : b->u.seq.len;
	for (i = 0; i < n; i++)
		if (!pr__value_eq(a->u.seq.items[i], b->u.seq.items[i]))
			return order(op, a->u.seq.items[i], b->u.seq.items[i], c, d);
	*c = a->u.seq.len < b->u.seq.len ? -1 : a->u.seq.len > b->u.seq.len;
	return 0;
}

/* x in container */
static int contains(const pr_value *x, const pr_value *c, int *yes, struct pr_diag *d)
{
	size_t i, step = 1, n;

	*yes = 0;
	switch (c->kind) {
	case PR_TUPLE:
	case PR_LIST:
	case PR_DICT:
		/* a dict's keys: its items are key, value, key, value, ... */
		if (c->kind == PR_DICT) {
			int r = pr__value_hashable(x, d);

			if (r < 0)
				return r;
			step = 2;
		}
		n = c->kind == PR_DICT ? 2 * c->u.seq.len : c->u.seq.len;
		for (i = 0; i < n && !*yes; i += step)
			*yes = c->u.seq.items[i] == x || pr__value_eq(x, c->u.seq.items[i]);
		return 0;
	case PR_STR:
	case PR_BYTES:
	case PR_AUTHKEY:
		if ((c->kind == PR_STR && pr__profile.bytes_type) ? x->kind != PR_STR :
								    !is_bytes(x)) {
			if (c->kind == PR_STR)
				return pr_diag(
					d, PR_ETYPE,
					"'in <string>' requires string as left operand, not %s",
					pr__type_name(x));
			return pr_diag(d, PR_EUNSUPPORTED,
				       "libprocref does not model 'in' for a '%s' in bytes",
				       pr__type_name(x));
		}
		*yes = x->u.s.len == 0 ||
		       memmem(c->u.s.data, c->u.s.len, x->u.s.data, x->u.s.len) != NULL;
		return 0;
	default:
		return pr_diag(d, PR_ETYPE, "argument of type '%s' is not iterable",
			       pr__type_name(c));
	}
}

int pr_compare(pr_value *a, const char *op, pr_value *b, int *out, struct pr_diag *d)
{
	int c = 0, r;

	*out = 0;
	if (strcmp(op, "==") == 0 || strcmp(op, "!=") == 0) {
		*out = pr__value_eq(a, b) == (op[0] == '=');
		return 0;
	}
	if (strcmp(op, "in") == 0 || strcmp(op, "not in") == 0) {
		if ((r = contains(a, b, &c, d)) < 0)
			return r;
		*out = c == (op[0] == 'i');
		return 0;
	}
	if (strcmp(op, "<") != 0 && strcmp(op, "<=") != 0 && strcmp(op, ">") != 0 &&
	    strcmp(op, ">=") != 0)
		return pr_diag(d, PR_EUNSUPPORTED, "unknown comparison '%s'", op);
	if ((r = order(op, a, b, &c, d)) < 0)
		return r;
	if (c == 2) /* NaN: every ordering is false */
		return 0;
	*out = op[0] == '<' ? (op[1] ? c <= 0 : c < 0) : (op[1] ? c >= 0 : c > 0);
	return 0;
}

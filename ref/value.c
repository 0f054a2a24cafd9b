/* Python-like values: construction, reference counts, repr() and str(). */
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "procref.h"
#include "internal.h"

static struct pr_value *alloc(enum pr_kind kind)
{
	struct pr_value *v = calloc(1, sizeof(*v));

	if (v) {
		v->kind = kind;
		v->refs = 1;
	}
	return v;
}

struct pr_value *pr_none(void) { return alloc(PR_NONE); }

struct pr_value *pr_bool(bool b)
{
	struct pr_value *v = alloc(PR_BOOL);

	if (v)
		v->i = b;
	return v;
}

struct pr_value *pr_int(long long i)
{
	struct pr_value *v = alloc(PR_INT);

	if (v)
		v->i = i;
	return v;
}

struct pr_value *pr_float(double f)
{
	struct pr_value *v = alloc(PR_FLOAT);

	if (v)
		v->f = f;
	return v;
}

struct pr_value *pr_bytes(const void *s, size_t len, enum pr_kind kind)
{
	struct pr_value *v = alloc(kind);

	if (!v)
		return NULL;
	v->s = malloc(len + 1);
	if (!v->s) {
		free(v);
		return NULL;
	}
	memcpy(v->s, s, len);
	v->s[len] = '\0';
	v->len = len;
	return v;
}

struct pr_value *pr_str(const char *s, size_t len) { return pr_bytes(s, len, PR_STR); }

struct pr_value *pr_behaviour(const char *name)
{
	return pr_bytes(name, strlen(name), PR_BEHAVIOUR);
}

struct pr_value *pr_seq(enum pr_kind kind, size_t n)
{
	struct pr_value *v = alloc(kind);

	if (!v)
		return NULL;
	v->items = calloc(n ? n : 1, sizeof(*v->items));
	if (!v->items) {
		free(v);
		return NULL;
	}
	v->n = n;
	return v;
}

struct pr_value *pr_ref(struct pr_value *v)
{
	if (v)
		v->refs++;
	return v;
}

void pr_unref(struct pr_value *v)
{
	size_t i;

	if (!v || --v->refs > 0)
		return;
	for (i = 0; i < v->n; i++)
		pr_unref(v->items[i]);
	free(v->items);
	free(v->s);
	if (v->kind == PR_PROCESS)
		pr__process_free(v->proc);
	free(v);
}

bool pr_truthy(const struct pr_value *v)
{
	switch (v->kind) {
	case PR_NONE: return false;
	case PR_BOOL: case PR_INT: return v->i != 0;
	case PR_FLOAT: return v->f != 0.0;
	case PR_STR: case PR_BYTES: case PR_AUTHKEY: return v->len != 0;
	case PR_TUPLE: case PR_LIST: return v->n != 0;
	case PR_DICT: return v->n != 0;
	case PR_PROCESS: case PR_BEHAVIOUR: return true;
	}
	return true;
}

/* ---- a small string builder ---- */

void pr__sb_add(struct pr_sb *b, const char *s, size_t n)
{
	char *p;

	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 64;

		while (cap < b->len + n + 1)
			cap *= 2;
		p = realloc(b->s, cap);
		if (!p) {
			b->oom = true;
			return;
		}
		b->s = p;
		b->cap = cap;
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
}

void pr__sb_printf(struct pr_sb *b, const char *fmt, ...)
{
	char tmp[256], *big = NULL;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n < sizeof(tmp)) {
		pr__sb_add(b, tmp, (size_t)n);
		return;
	}
	va_start(ap, fmt);
	if (vasprintf(&big, fmt, ap) >= 0)
		pr__sb_add(b, big, strlen(big));
	va_end(ap);
	free(big);
}

char *pr__sb_done(struct pr_sb *b)
{
	if (b->oom) {
		free(b->s);
		return NULL;
	}
	if (!b->s)
		return strdup("");
	return b->s;
}

/* str.isprintable() for the characters scenarios use; see harness/ast.c. */
static bool printable(uint32_t c)
{
	if (c < 0x20 || c == 0x7f || (c >= 0x80 && c <= 0xa0) || c == 0xad)
		return false;
	if ((c >= 0x200b && c <= 0x200f) || (c >= 0x2028 && c <= 0x202e) ||
	    (c >= 0x2060 && c <= 0x2064) || c == 0xfeff || (c >= 0xd800 && c <= 0xdfff))
		return false;
	return true;
}

static void repr_text(struct pr_sb *b, const char *str, size_t len, bool bytes)
{
	const unsigned char *s = (const unsigned char *)str;
	bool sq = memchr(s, '\'', len) != NULL, dq = memchr(s, '"', len) != NULL;
	char q = sq && !dq ? '"' : '\'';
	size_t i = 0, n, k;
	uint32_t c;

	if (bytes)
		pr__sb_add(b, "b", 1);
	pr__sb_add(b, &q, 1);
	while (i < len) {
		c = s[i];
		n = 1;
		if (!bytes && c >= 0x80) {
			n = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
			if (i + n > len)
				n = 1;
			c &= 0x7f >> n;
			for (k = 1; k < n; k++)
				c = (c << 6) | (s[i + k] & 0x3f);
		}
		if (c == (uint32_t)q || c == '\\')
			pr__sb_printf(b, "\\%c", (char)c);
		else if (c == '\n')
			pr__sb_add(b, "\\n", 2);
		else if (c == '\r')
			pr__sb_add(b, "\\r", 2);
		else if (c == '\t')
			pr__sb_add(b, "\\t", 2);
		else if (bytes ? (c < 0x20 || c >= 0x7f) : !printable(c))
			pr__sb_printf(b, c < 0x100 ? "\\x%02x" : c < 0x10000 ? "\\u%04x" : "\\U%08x", c);
		else
			pr__sb_add(b, str + i, n);
		i += n;
	}
	pr__sb_add(b, &q, 1);
}

/* float.__repr__: the shortest digits that round-trip, Python's layout. */
static void repr_float(struct pr_sb *b, double x)
{
	char tmp[64], digits[32];
	int prec, exp10, decpt, nd = 0, i;
	char *e, *q;

	if (isnan(x)) {
		pr__sb_add(b, "nan", 3);
		return;
	}
	if (isinf(x)) {
		pr__sb_printf(b, "%sinf", x < 0 ? "-" : "");
		return;
	}
	for (prec = 1; prec <= 17; prec++) {
		snprintf(tmp, sizeof(tmp), "%.*e", prec - 1, x);
		if (strtod(tmp, NULL) == x)
			break;
	}
	q = tmp;
	if (*q == '-') {
		pr__sb_add(b, "-", 1);
		q++;
	}
	e = strchr(q, 'e');
	exp10 = atoi(e + 1);
	for (; q < e; q++)
		if (*q != '.')
			digits[nd++] = *q;
	while (nd > 1 && digits[nd - 1] == '0')
		nd--;
	digits[nd] = '\0';
	if (nd == 1 && digits[0] == '0')
		exp10 = 0;
	decpt = exp10 + 1;
	if (decpt > -4 && decpt <= 16) {
		if (decpt <= 0) {
			pr__sb_add(b, "0.", 2);
			for (i = 0; i < -decpt; i++)
				pr__sb_add(b, "0", 1);
			pr__sb_add(b, digits, (size_t)nd);
		} else if (decpt >= nd) {
			pr__sb_add(b, digits, (size_t)nd);
			for (i = nd; i < decpt; i++)
				pr__sb_add(b, "0", 1);
			pr__sb_add(b, ".0", 2);
		} else {
			pr__sb_add(b, digits, (size_t)decpt);
			pr__sb_add(b, ".", 1);
			pr__sb_add(b, digits + decpt, (size_t)(nd - decpt));
		}
	} else {
		pr__sb_add(b, digits, 1);
		if (nd > 1) {
			pr__sb_add(b, ".", 1);
			pr__sb_add(b, digits + 1, (size_t)(nd - 1));
		}
		pr__sb_printf(b, "e%c%02d", decpt - 1 < 0 ? '-' : '+', abs(decpt - 1));
	}
}

void pr__repr_into(struct pr_sb *b, const struct pr_value *v)
{
	size_t i;

	switch (v->kind) {
	case PR_NONE:
		pr__sb_add(b, "None", 4);
		break;
	case PR_BOOL:
		pr__sb_printf(b, "%s", v->i ? "True" : "False");
		break;
	case PR_INT:
		pr__sb_printf(b, "%lld", v->i);
		break;
	case PR_FLOAT:
		repr_float(b, v->f);
		break;
	case PR_STR:
		repr_text(b, v->s, v->len, false);
		break;
	case PR_BYTES:
	case PR_AUTHKEY:
		repr_text(b, v->s, v->len, true);
		break;
	case PR_TUPLE:
	case PR_LIST:
		pr__sb_add(b, v->kind == PR_TUPLE ? "(" : "[", 1);
		for (i = 0; i < v->n; i++) {
			if (i)
				pr__sb_add(b, ", ", 2);
			pr__repr_into(b, v->items[i]);
		}
		if (v->kind == PR_TUPLE && v->n == 1)
			pr__sb_add(b, ",", 1);
		pr__sb_add(b, v->kind == PR_TUPLE ? ")" : "]", 1);
		break;
	case PR_DICT:
		pr__sb_add(b, "{", 1);
		for (i = 0; i + 1 < v->n; i += 2) {
			if (i)
				pr__sb_add(b, ", ", 2);
			pr__repr_into(b, v->items[i]);
			pr__sb_add(b, ": ", 2);
			pr__repr_into(b, v->items[i + 1]);
		}
		pr__sb_add(b, "}", 1);
		break;
	case PR_BEHAVIOUR:
		/* a module-level function; the address is normalised away */
		pr__sb_printf(b, "<function %s at 0x%012lx>", v->s, (unsigned long)(uintptr_t)v);
		break;
	case PR_PROCESS:
		pr__process_repr(b, v->proc);
		break;
	}
}

char *pr_repr(const struct pr_value *v)
{
	struct pr_sb b = PR_SB_INIT;

	pr__repr_into(&b, v);
	return pr__sb_done(&b);
}

char *pr_str_of(const struct pr_value *v)
{
	if (v->kind == PR_STR)
		return strdup(v->s);
	return pr_repr(v);
}

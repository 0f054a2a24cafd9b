/*
 * Python literal values: construction, reference counting, repr() and str()
 * byte-identical to CPython 3.11's, truth, equality, and the conversions
 * process.py makes (tuple(args), dict(kwargs), AuthenticationString(key)).
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static pr_value none_value = { -1, PR_NONE, NULL, NULL, 0, { 0 } };
static pr_value true_value = { -1, PR_BOOL, NULL, NULL, 0, { 1 } };
static pr_value false_value = { -1, PR_BOOL, NULL, NULL, 0, { 0 } };

static pr_value *value_new(enum pr_kind kind)
{
	pr_value *v = calloc(1, sizeof *v);

	if (v == NULL)
		return NULL;
	v->refcnt = 1;
	v->kind = kind;
	switch (kind) {
	case PR_TUPLE:
	case PR_LIST:
	case PR_DICT:
	case PR_PROCESS:
	case PR_METHOD:
		pr__gc_track(v);
		break;
	default:
		break;
	}
	return v;
}

pr_value *pr_incref(pr_value *v)
{
	if (v != NULL && v->refcnt >= 0)
		v->refcnt++;
	return v;
}

void pr__items_free(pr_value **items, size_t n)
{
	size_t i;

	if (items == NULL)
		return;
	for (i = 0; i < n; i++)
		pr_decref(items[i]);
	free(items);
}

static void value_free(pr_value *v)
{
	if (pr__weakref_any())
		pr__weakref_clear(v);
	switch (v->kind) {
	case PR_INT:
		free(v->u.i.big);
		break;
	case PR_STR:
	case PR_BYTES:
	case PR_AUTHKEY:
		free(v->u.s.data);
		break;
	case PR_TUPLE:
	case PR_LIST:
		pr__gc_untrack(v);
		pr__items_free(v->u.seq.items, v->u.seq.len);
		break;
	case PR_DICT:
		pr__gc_untrack(v);
		pr__items_free(v->u.seq.items, 2 * v->u.seq.len);
		break;
	case PR_PROCESS:
		pr__gc_untrack(v);
		pr__process_free(v);
		break;
	case PR_METHOD:
		pr__gc_untrack(v);
		pr_decref(v->u.fn.self);
		break;
	case PR_OBJECT:
		if (v->u.obj.type->free != NULL)
			v->u.obj.type->free(v->u.obj.data);
		break;
	default:
		break;
	}
	free(v);
}

pr_value *pr__value_new(enum pr_kind kind)
{
	return value_new(kind);
}

void pr_decref(pr_value *v)
{
	if (v == NULL || v->refcnt < 0)
		return;
	if (--v->refcnt == 0)
		value_free(v);
}

enum pr_kind pr_kind(const pr_value *v)
{
	return v->kind;
}

pr_value *pr_none(void)
{
	return &none_value;
}

pr_value *pr_bool(int b)
{
	return b ? &true_value : &false_value;
}

pr_value *pr_int(int64_t i)
{
	pr_value *v = value_new(PR_INT);

	if (v != NULL)
		v->u.i.small = i;
	return v;
}

int pr_int_parse(const char *text, pr_value **out)
{
	const char *p = text, *digits;
	int neg = 0;
	long long x;
	size_t n;
	pr_value *v;

	if (*p == '-' || *p == '+')
		neg = *p++ == '-';
	if (*p < '0' || *p > '9')
		return PR_EVALUE;
	for (digits = p; *p >= '0' && *p <= '9'; p++)
		;
	if (*p != '\0')
		return PR_EVALUE;
	while (*digits == '0' && digits[1] != '\0')
		digits++;
	if (strcmp(digits, "0") == 0)
		neg = 0;
	if ((v = value_new(PR_INT)) == NULL)
		return PR_EMEMORY;
	errno = 0;
	x = strtoll(text, NULL, 10);
	if (errno != ERANGE) {
		v->u.i.small = x;
		*out = v;
		return 0;
	}
	n = strlen(digits);
	if ((v->u.i.big = malloc(n + 2)) == NULL) {
		pr_decref(v);
		return PR_EMEMORY;
	}
	snprintf(v->u.i.big, n + 2, "%s%s", neg ? "-" : "", digits);
	*out = v;
	return 0;
}

pr_value *pr_float(double f)
{
	pr_value *v = value_new(PR_FLOAT);

	if (v != NULL)
		v->u.f = f;
	return v;
}

static pr_value *data_new(enum pr_kind kind, const void *data, size_t len)
{
	pr_value *v = value_new(kind);

	if (v == NULL)
		return NULL;
	if (len == SIZE_MAX || (v->u.s.data = malloc(len + 1)) == NULL) {
		free(v);
		return NULL;
	}
	if (len)
		memcpy(v->u.s.data, data, len);
	v->u.s.data[len] = '\0';
	v->u.s.len = len;
	return v;
}

pr_value *pr_str(const char *utf8, size_t len)
{
	return data_new(PR_STR, utf8, len);
}

pr_value *pr_bytes(const void *data, size_t len)
{
	return data_new(PR_BYTES, data, len);
}

pr_value *pr__authkey(const void *data, size_t len)
{
	return data_new(PR_AUTHKEY, data, len);
}

static pr_value *seq_new(enum pr_kind kind, pr_value **items, size_t n)
{
	pr_value *v = value_new(kind);
	size_t i;

	if (v != NULL && n && (v->u.seq.items = calloc(n, sizeof *items)) == NULL) {
		pr_decref(v);
		v = NULL;
	}
	if (v == NULL) {
		for (i = 0; i < n; i++)
			pr_decref(items[i]);
		return NULL;
	}
	for (i = 0; i < n; i++)
		v->u.seq.items[i] = items[i];
	v->u.seq.len = n;
	return v;
}

pr_value *pr_tuple(pr_value **items, size_t n)
{
	return seq_new(PR_TUPLE, items, n);
}

pr_value *pr_list(pr_value **items, size_t n)
{
	return seq_new(PR_LIST, items, n);
}

int pr_dict(pr_value **kv, size_t n, pr_value **out, struct pr_diag *d)
{
	pr_value *v = NULL;
	size_t i, j, len = 0;
	int r = 0;

	for (i = 0; i < n && r == 0; i++)
		r = pr__value_hashable(kv[2 * i], d);
	if (r < 0)
		goto fail;
	if ((v = value_new(PR_DICT)) == NULL)
		goto oom;
	if (n && (v->u.seq.items = calloc(2 * n, sizeof *kv)) == NULL)
		goto oom;
	for (i = 0; i < n; i++) {
		for (j = 0; j < len; j++)
			if (pr__value_eq(v->u.seq.items[2 * j], kv[2 * i]))
				break;
		if (j < len) {
			pr_decref(kv[2 * i]);
			pr_decref(v->u.seq.items[2 * j + 1]);
			v->u.seq.items[2 * j + 1] = kv[2 * i + 1];
		} else {
			v->u.seq.items[2 * len] = kv[2 * i];
			v->u.seq.items[2 * len + 1] = kv[2 * i + 1];
			v->u.seq.len = ++len;
		}
	}
	*out = v;
	return 0;
oom:
	r = pr_diag(d, PR_EMEMORY, NULL);
fail:
	pr_decref(v);
	/* the references are consumed, the array stays the caller's */
	for (i = 0; i < 2 * n; i++)
		pr_decref(kv[i]);
	return r;
}

const char *pr_data(const pr_value *v, size_t *len)
{
	switch (v->kind) {
	case PR_STR:
	case PR_BYTES:
	case PR_AUTHKEY:
		if (len != NULL)
			*len = v->u.s.len;
		return v->u.s.data;
	default:
		return NULL;
	}
}

size_t pr_len(const pr_value *v)
{
	switch (v->kind) {
	case PR_TUPLE:
	case PR_LIST:
	case PR_DICT:
		return v->u.seq.len;
	default:
		return 0;
	}
}

pr_value *pr_item(const pr_value *v, size_t i)
{
	if ((v->kind != PR_TUPLE && v->kind != PR_LIST) || i >= v->u.seq.len)
		return NULL;
	return v->u.seq.items[i];
}

int pr__is_int(const pr_value *v)
{
	return v->kind == PR_INT || v->kind == PR_BOOL;
}

int pr_truth(const pr_value *v)
{
	switch (v->kind) {
	case PR_NONE:
		return 0;
	case PR_BOOL:
		return v->u.b;
	case PR_INT:
		return v->u.i.big != NULL || v->u.i.small != 0;
	case PR_FLOAT:
		return v->u.f != 0.0;
	case PR_STR:
	case PR_BYTES:
	case PR_AUTHKEY:
		return v->u.s.len != 0;
	case PR_TUPLE:
	case PR_LIST:
	case PR_DICT:
		return v->u.seq.len != 0;
	default:
		return 1;
	}
}

const char *pr__type_name(const pr_value *v)
{
	switch (v->kind) {
	case PR_NONE:
		return "NoneType";
	case PR_BOOL:
		return "bool";
	case PR_INT:
		return v->u.i.big != NULL && !pr__profile.bytes_type ? "long" : "int";
	case PR_FLOAT:
		return "float";
	case PR_STR:
		return "str";
	case PR_BYTES:
		return "bytes";
	case PR_TUPLE:
		return "tuple";
	case PR_LIST:
		return "list";
	case PR_DICT:
		return "dict";
	case PR_PROCESS:
		return pr__process_type_name(v);
	case PR_AUTHKEY:
		return "AuthenticationString";
	case PR_FUNCTION:
		return v->u.fn.is_class ? "type" : "function";
	case PR_METHOD:
		return "method";
	case PR_OBJECT:
		if (v->u.obj.type->type_name != NULL)
			return v->u.obj.type->type_name(v);
		return v->u.obj.type->name;
	}
	return "object";
}

/* ---- repr ------------------------------------------------------------- */

/*
 * float.__repr__ (Python/pystrtod.c, format_float_short, mode 0 and 'r'):
 * the shortest digits that read back as x, positional when
 * -4 < decpt <= 16, else d.ddde+XX with at least two exponent digits.
 */
void pr__float_repr(double x, struct sbuf *sb)
{
	char buf[40], digits[24];
	int prec, exp10, ndigits = 0, decpt, i;
	const char *p;

	if (isnan(x)) {
		pr__sb_puts(sb, "nan");
		return;
	}
	if (isinf(x)) {
		pr__sb_puts(sb, x > 0 ? "inf" : "-inf");
		return;
	}
	for (prec = 1; prec < 17; prec++) {
		snprintf(buf, sizeof buf, "%.*e", prec - 1, x);
		if (strtod(buf, NULL) == x)
			break;
	}
	if (prec == 17)
		snprintf(buf, sizeof buf, "%.16e", x);
	p = buf;
	if (*p == '-') {
		pr__sb_putc(sb, '-');
		p++;
	}
	for (; *p != 'e'; p++)
		if (*p >= '0' && *p <= '9')
			digits[ndigits++] = *p;
	exp10 = atoi(p + 1);
	while (ndigits > 1 && digits[ndigits - 1] == '0')
		ndigits--;
	digits[ndigits] = '\0';
	decpt = x == 0.0 ? 1 : exp10 + 1;
	if (decpt > -4 && decpt <= 16) {
		if (decpt <= 0) {
			pr__sb_puts(sb, "0.");
			for (i = 0; i < -decpt; i++)
				pr__sb_putc(sb, '0');
			pr__sb_puts(sb, digits);
		} else if (decpt >= ndigits) {
			pr__sb_puts(sb, digits);
			for (i = ndigits; i < decpt; i++)
				pr__sb_putc(sb, '0');
			pr__sb_puts(sb, ".0");
		} else {
			pr__sb_put(sb, digits, (size_t)decpt);
			pr__sb_putc(sb, '.');
			pr__sb_puts(sb, digits + decpt);
		}
		return;
	}
	pr__sb_putc(sb, digits[0]);
	if (ndigits > 1) {
		pr__sb_putc(sb, '.');
		pr__sb_puts(sb, digits + 1);
	}
	pr__sb_printf(sb, "e%c%02d", decpt - 1 < 0 ? '-' : '+', abs(decpt - 1));
}

/* One UTF-8 sequence; a byte that starts no valid one decodes as itself. */
static size_t utf8_decode(const unsigned char *s, size_t len, uint32_t *cp)
{
	size_t n, i;
	uint32_t c;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if ((s[0] & 0xe0) == 0xc0) {
		n = 2;
		c = s[0] & 0x1f;
	} else if ((s[0] & 0xf0) == 0xe0) {
		n = 3;
		c = s[0] & 0x0f;
	} else if ((s[0] & 0xf8) == 0xf0) {
		n = 4;
		c = s[0] & 0x07;
	} else {
		goto invalid;
	}
	if (n > len)
		goto invalid;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			goto invalid;
		c = c << 6 | (s[i] & 0x3f);
	}
	*cp = c;
	return n;
invalid:
	*cp = s[0];
	return 1;
}

/* The escapes str and bytes reprs share (unicode_repr and PyBytes_Repr):
 * the quote and the backslash, \t, \n and \r. 1 when c was written. */
static int repr_escape(uint32_t c, char quote, struct sbuf *sb)
{
	if (c == (uint32_t)(unsigned char)quote || c == '\\') {
		pr__sb_putc(sb, '\\');
		pr__sb_putc(sb, (char)c);
	} else if (c == '\t') {
		pr__sb_puts(sb, "\\t");
	} else if (c == '\n') {
		pr__sb_puts(sb, "\\n");
	} else if (c == '\r') {
		pr__sb_puts(sb, "\\r");
	} else {
		return 0;
	}
	return 1;
}

/* str.__repr__ (Objects/unicodeobject.c, unicode_repr): single quotes
 * unless the text holds ' and no ". */
static void str_repr(const char *data, size_t len, struct sbuf *sb)
{
	const unsigned char *s = (const unsigned char *)data;
	char quote = '\'';
	size_t i, n;
	uint32_t c;

	if (memchr(data, '\'', len) && !memchr(data, '"', len))
		quote = '"';
	pr__sb_putc(sb, quote);
	for (i = 0; i < len; i += n) {
		n = utf8_decode(s + i, len - i, &c);
		if (repr_escape(c, quote, sb))
			continue;
		if (c < 0x20 || c == 0x7f) {
			pr__sb_printf(sb, "\\x%02x", c);
		} else if (c < 0x7f || pr__unicode_printable(c)) {
			pr__sb_put(sb, s + i, n);
		} else if (c <= 0xff) {
			pr__sb_printf(sb, "\\x%02x", c);
		} else if (c <= 0xffff) {
			pr__sb_printf(sb, "\\u%04x", c);
		} else {
			pr__sb_printf(sb, "\\U%08x", c);
		}
	}
	pr__sb_putc(sb, quote);
}

/* bytes.__repr__ (Objects/bytesobject.c, PyBytes_Repr); in 2.7, where
 * bytes is str, string_repr (Objects/stringobject.c): no b prefix */
static void bytes_repr(const char *data, size_t len, struct sbuf *sb)
{
	const unsigned char *s = (const unsigned char *)data;
	char quote = '\'';
	size_t i;

	if (memchr(data, '\'', len) && !memchr(data, '"', len))
		quote = '"';
	if (pr__profile.bytes_type)
		pr__sb_putc(sb, 'b');
	pr__sb_putc(sb, quote);
	for (i = 0; i < len; i++) {
		unsigned char c = s[i];

		if (repr_escape(c, quote, sb))
			continue;
		if (c < 0x20 || c >= 0x7f) {
			pr__sb_printf(sb, "\\x%02x", c);
		} else {
			pr__sb_putc(sb, (char)c);
		}
	}
	pr__sb_putc(sb, quote);
}

void pr__value_repr(pr_value *v, struct sbuf *sb)
{
	size_t i;

	switch (v->kind) {
	case PR_NONE:
		pr__sb_puts(sb, "None");
		break;
	case PR_BOOL:
		pr__sb_puts(sb, v->u.b ? "True" : "False");
		break;
	case PR_INT:
		if (v->u.i.big != NULL)
			pr__sb_puts(sb, v->u.i.big);
		else
			pr__sb_printf(sb, "%" PRId64, v->u.i.small);
		/* 2.7: beyond sys.maxint an int is a long, whose repr says so */
		if (v->u.i.big != NULL && !pr__profile.bytes_type)
			pr__sb_putc(sb, 'L');
		break;
	case PR_FLOAT:
		pr__float_repr(v->u.f, sb);
		break;
	case PR_STR:
		/* 2.7: a '...' literal is a byte string, repr()'d as one */
		if (pr__profile.bytes_type)
			str_repr(v->u.s.data, v->u.s.len, sb);
		else
			bytes_repr(v->u.s.data, v->u.s.len, sb);
		break;
	case PR_BYTES:
	case PR_AUTHKEY:
		bytes_repr(v->u.s.data, v->u.s.len, sb);
		break;
	case PR_TUPLE:
	case PR_LIST:
		pr__sb_putc(sb, v->kind == PR_TUPLE ? '(' : '[');
		for (i = 0; i < v->u.seq.len; i++) {
			if (i)
				pr__sb_puts(sb, ", ");
			pr__value_repr(v->u.seq.items[i], sb);
		}
		if (v->kind == PR_TUPLE && v->u.seq.len == 1)
			pr__sb_putc(sb, ',');
		pr__sb_putc(sb, v->kind == PR_TUPLE ? ')' : ']');
		break;
	case PR_DICT:
		pr__sb_putc(sb, '{');
		for (i = 0; i < v->u.seq.len; i++) {
			if (i)
				pr__sb_puts(sb, ", ");
			pr__value_repr(v->u.seq.items[2 * i], sb);
			pr__sb_puts(sb, ": ");
			pr__value_repr(v->u.seq.items[2 * i + 1], sb);
		}
		pr__sb_putc(sb, '}');
		break;
	case PR_PROCESS:
		pr__process_repr(v, sb);
		break;
	case PR_FUNCTION:
		if (v->u.fn.is_class)
			pr__sb_puts(sb, "<class 'multiprocessing.context.Process'>");
		else
			pr__sb_printf(sb, "<function %s at 0x%" PRIxPTR ">", v->u.fn.func->name,
				      (uintptr_t)v->u.fn.func);
		break;
	case PR_METHOD:
		pr__sb_printf(sb, "<bound method %s of ", v->u.fn.func->name);
		pr__value_repr(v->u.fn.self, sb);
		pr__sb_putc(sb, '>');
		break;
	case PR_OBJECT:
		v->u.obj.type->repr(v, sb);
		break;
	}
}

void pr__value_str(pr_value *v, struct sbuf *sb)
{
	/* 2.7: str() of a byte string is itself */
	if (v->kind == PR_STR ||
	    (!pr__profile.bytes_type && (v->kind == PR_BYTES || v->kind == PR_AUTHKEY)))
		pr__sb_put(sb, v->u.s.data, v->u.s.len);
	else if (v->kind == PR_OBJECT && v->u.obj.type->str != NULL)
		v->u.obj.type->str(v, sb);
	else if (v->kind == PR_INT && v->u.i.big != NULL)
		pr__sb_puts(sb, v->u.i.big); /* no 2.7 'L': str(long) */
	else
		pr__value_repr(v, sb);
}

int pr_repr(pr_value *v, char **out, size_t *len)
{
	struct sbuf sb = SBUF_INIT;

	pr__value_repr(v, &sb);
	return pr__sb_finish(&sb, out, len);
}

int pr_str_of(pr_value *v, char **out, size_t *len)
{
	struct sbuf sb = SBUF_INIT;

	pr__value_str(v, &sb);
	return pr__sb_finish(&sb, out, len);
}

/* ---- equality --------------------------------------------------------- */

static int is_number(const pr_value *v)
{
	return v->kind == PR_BOOL || v->kind == PR_INT || v->kind == PR_FLOAT;
}

static int int_eq_float(const pr_value *i, double f)
{
	char buf[400];

	/* integral: beyond 2**52 every double is */
	if (!isfinite(f) ||
	    ((f < 4503599627370496.0 && f > -4503599627370496.0) && f != (double)(long long)f))
		return 0;
	if (i->kind == PR_BOOL)
		return f == (double)i->u.b;
	if (i->u.i.big == NULL) {
		if (f < -9223372036854775808.0 || f >= 9223372036854775808.0)
			return 0;
		return (int64_t)f == i->u.i.small;
	}
	/* an integral double prints exactly with %.0f */
	snprintf(buf, sizeof buf, "%.0f", f);
	return strcmp(buf, i->u.i.big) == 0;
}

static int number_eq(const pr_value *a, const pr_value *b)
{
	int64_t x, y;

	if (a->kind == PR_FLOAT && b->kind == PR_FLOAT)
		return a->u.f == b->u.f;
	if (a->kind == PR_FLOAT)
		return int_eq_float(b, a->u.f);
	if (b->kind == PR_FLOAT)
		return int_eq_float(a, b->u.f);
	if ((a->kind == PR_INT && a->u.i.big) || (b->kind == PR_INT && b->u.i.big))
		return a->kind == PR_INT && b->kind == PR_INT && a->u.i.big && b->u.i.big &&
		       strcmp(a->u.i.big, b->u.i.big) == 0;
	x = a->kind == PR_BOOL ? a->u.b : a->u.i.small;
	y = b->kind == PR_BOOL ? b->u.b : b->u.i.small;
	return x == y;
}

int pr__value_eq(const pr_value *a, const pr_value *b)
{
	size_t i, n;

	if (a == b)
		return 1;
	if (is_number(a) && is_number(b))
		return number_eq(a, b);
	if ((a->kind == PR_BYTES || a->kind == PR_AUTHKEY ||
	     (!pr__profile.bytes_type && a->kind == PR_STR)) &&
	    (b->kind == PR_BYTES || b->kind == PR_AUTHKEY ||
	     (!pr__profile.bytes_type && b->kind == PR_STR)))
		return a->u.s.len == b->u.s.len &&
		       memcmp(a->u.s.data, b->u.s.data, a->u.s.len) == 0;
	if (a->kind != b->kind)
		return 0;
	switch (a->kind) {
	case PR_STR:
		return a->u.s.len == b->u.s.len &&
		       memcmp(a->u.s.data, b->u.s.data, a->u.s.len) == 0;
	case PR_TUPLE:
	case PR_LIST:
	case PR_DICT:
		if (a->u.seq.len != b->u.seq.len)
			return 0;
		n = a->kind == PR_DICT ? 2 * a->u.seq.len : a->u.seq.len;
		for (i = 0; i < n; i++)
			if (!pr__value_eq(a->u.seq.items[i], b->u.seq.items[i]))
				return 0;
		return 1;
	case PR_FUNCTION:
		return a->u.fn.func == b->u.fn.func && a->u.fn.is_class == b->u.fn.is_class;
	case PR_METHOD:
		return a->u.fn.func == b->u.fn.func && a->u.fn.self == b->u.fn.self;
	default:
		return 0;
	}
}

int pr_equal(const pr_value *a, const pr_value *b)
{
	return pr__value_eq(a, b);
}

int pr__value_hashable(const pr_value *v, struct pr_diag *d)
{
	size_t i;
	int r;

	if (v->kind == PR_LIST || v->kind == PR_DICT)
		return pr_diag(d, PR_ETYPE, "unhashable type: '%s'", pr__type_name(v));
	if (v->kind == PR_TUPLE)
		for (i = 0; i < v->u.seq.len; i++)
			if ((r = pr__value_hashable(v->u.seq.items[i], d)) < 0)
				return r;
	return 0;
}

/* ---- conversions ------------------------------------------------------ */

/*
 * 3.8 parses a C int argument with _PyLong_AsInt.  Before, the 'i' format
 * of PyArg_Parse took PyLong_AsLong first (2.7's PyInt_AsLong says the
 * same), then checked the range itself (Python/getargs.c, convertsimple).
 */
const char *pr__cint_overflow(const pr_value *v)
{
	if (pr__profile.c_int_message)
		return "Python int too large to convert to C int";
	if (v->u.i.big != NULL)
		return "Python int too large to convert to C long";
	return v->u.i.small > 0 ? "signed integer is greater than maximum" :
				  "signed integer is less than minimum";
}

int pr__value_as_cint(const pr_value *v, int *out, struct pr_diag *d)
{
	if (v->kind == PR_BOOL) {
		*out = v->u.b;
		return 0;
	}
	if (v->kind != PR_INT)
		return pr_diag(d, PR_ETYPE, "'%s' object cannot be interpreted as an integer",
			       pr__type_name(v));
	if (v->u.i.big != NULL || v->u.i.small > INT32_MAX || v->u.i.small < INT32_MIN)
		return pr_diag(d, PR_EOVERFLOW, "%s", pr__cint_overflow(v));
	*out = (int)v->u.i.small;
	return 0;
}

int pr__value_as_double(const pr_value *v, double *out, struct pr_diag *d)
{
	switch (v->kind) {
	case PR_BOOL:
		*out = v->u.b;
		return 0;
	case PR_FLOAT:
		*out = v->u.f;
		return 0;
	case PR_INT:
		if (v->u.i.big == NULL) {
			*out = (double)v->u.i.small;
			return 0;
		}
		*out = strtod(v->u.i.big, NULL);
		if (isinf(*out))
			return pr_diag(d, PR_EOVERFLOW, "int too large to convert to float");
		return 0;
	default:
		return pr_diag(d, PR_ETYPE, "must be real number, not %s", pr__type_name(v));
	}
}

static int iter_string(pr_value *v, pr_value ***items, size_t *n)
{
	const unsigned char *s = (const unsigned char *)v->u.s.data;
	pr_value **out;
	size_t i, k = 0, step;
	uint32_t c;

	if ((out = calloc(v->u.s.len + 1, sizeof *out)) == NULL)
		return PR_EMEMORY;
	for (i = 0; i < v->u.s.len; i += step) {
		step = utf8_decode(s + i, v->u.s.len - i, &c);
		if ((out[k] = pr_str((const char *)s + i, step)) == NULL) {
			pr__items_free(out, k);
			return PR_EMEMORY;
		}
		k++;
	}
	*items = out;
	*n = k;
	return 0;
}

int pr__value_iter(pr_value *v, pr_value ***items, size_t *n, struct pr_diag *d)
{
	pr_value **out = NULL;
	size_t i, len;
	int bytes = v->kind == PR_BYTES || v->kind == PR_AUTHKEY;

	switch (v->kind) {
	case PR_STR:
		if (iter_string(v, items, n) < 0)
			return pr_diag(d, PR_EMEMORY, NULL);
		return 0;
	case PR_BYTES:
	case PR_AUTHKEY:
	case PR_TUPLE:
	case PR_LIST:
	case PR_DICT:
		len = bytes ? v->u.s.len : v->u.seq.len;
		if ((out = calloc(len + 1, sizeof *out)) == NULL)
			return pr_diag(d, PR_EMEMORY, NULL);
		for (i = 0; i < len; i++) {
			if (bytes)
				out[i] = pr_int((unsigned char)v->u.s.data[i]);
			else if (v->kind == PR_DICT)
				out[i] = pr_incref(v->u.seq.items[2 * i]);
			else
				out[i] = pr_incref(v->u.seq.items[i]);
			if (out[i] == NULL) {
				pr__items_free(out, i);
				return pr_diag(d, PR_EMEMORY, NULL);
			}
		}
		*items = out;
		*n = len;
		return 0;
	default:
		return pr_diag(d, PR_ETYPE, "'%s' object is not iterable", pr__type_name(v));
	}
}

int pr__value_to_tuple(pr_value *v, pr_value **out, struct pr_diag *d)
{
	pr_value **items;
	size_t n;
	int r;

	if (v->kind == PR_TUPLE) {
		*out = pr_incref(v);
		return 0;
	}
	if ((r = pr__value_iter(v, &items, &n, d)) < 0)
		return r;
	*out = pr_tuple(items, n);
	free(items);
	return *out ? 0 : pr_diag(d, PR_EMEMORY, NULL);
}

/* dict(v): a dict is copied, anything else must iterate over pairs
 * (Objects/dictobject.c, PyDict_MergeFromSeq2). */
int pr__value_to_dict(pr_value *v, pr_value **out, struct pr_diag *d)
{
	pr_value **items = NULL, **kv = NULL, **pair = NULL;
	size_t n = 0, i, k = 0, npair = 0;
	int r;

	if (v->kind == PR_DICT) {
		n = v->u.seq.len;
		if ((kv = calloc(2 * n + 1, sizeof *kv)) == NULL)
			return pr_diag(d, PR_EMEMORY, NULL);
		for (i = 0; i < 2 * n; i++)
			kv[i] = pr_incref(v->u.seq.items[i]);
		r = pr_dict(kv, n, out, d);
		free(kv);
		return r;
	}
	if ((r = pr__value_iter(v, &items, &n, d)) < 0)
		return r;
	if ((kv = calloc(2 * n + 1, sizeof *kv)) == NULL) {
		r = pr_diag(d, PR_EMEMORY, NULL);
		goto out;
	}
	for (i = 0; i < n; i++) {
		if ((r = pr__value_iter(items[i], &pair, &npair, d)) < 0) {
			if (r == PR_ETYPE)
				r = pr_diag(d, PR_ETYPE,
					    "cannot convert "
					    "dictionary update sequence "
					    "element #%zu to a sequence",
					    i);
			pair = NULL;
			npair = 0;
			goto out;
		}
		if (npair != 2) {
			r = pr_diag(d, PR_EVALUE,
				    "dictionary update sequence "
				    "element #%zu has length %zu; 2 is "
				    "required",
				    i, npair);
			goto out;
		}
		if ((r = pr__value_hashable(pair[0], d)) < 0)
			goto out;
		kv[k++] = pair[0];
		kv[k++] = pair[1];
		free(pair);
		pair = NULL;
		npair = 0;
	}
	r = pr_dict(kv, n, out, d);
	k = 0;
out:
	pr__items_free(pair, npair);
	pr__items_free(items, n);
	if (kv != NULL) {
		for (i = 0; i < k; i++)
			pr_decref(kv[i]);
		free(kv);
	}
	return r;
}

/* AuthenticationString(v), which is bytes.__new__ (Objects/bytesobject.c,
 * bytes_new_impl): str refused, an int a count of zero bytes, bytes copied,
 * anything else iterated as ints in range(256). */
int pr__value_to_authkey(pr_value *v, pr_value **out, struct pr_diag *d)
{
	pr_value **items = NULL;
	size_t n = 0, i;
	unsigned char *buf = NULL;
	int r, byte;

	switch (v->kind) {
	case PR_STR:
		/* 2.7: a '...' literal is a byte string, bytes(s) is s */
		if (!pr__profile.bytes_type) {
			*out = pr__authkey(v->u.s.data, v->u.s.len);
			return *out ? 0 : pr_diag(d, PR_EMEMORY, NULL);
		}
		return pr_diag(d, PR_ETYPE, "string argument without an encoding");
	case PR_BOOL:
	case PR_INT:
		if (v->kind == PR_INT && v->u.i.big != NULL)
			return pr_diag(d, PR_EOVERFLOW,
				       "cannot fit 'int' into "
				       "an index-sized integer");
		if (v->kind == PR_INT && v->u.i.small < 0)
			return pr_diag(d, PR_EVALUE, "negative count");
		n = v->kind == PR_BOOL ? (size_t)v->u.b : (size_t)v->u.i.small;
		/* PyBytes_FromStringAndSize's MemoryError for what cannot be
		 * had */
		if ((uint64_t)n >= (uint64_t)INT64_MAX - 64 || (buf = calloc(n + 1, 1)) == NULL)
			return pr_diag(d, PR_EMEMORY, NULL);
		*out = pr__authkey(buf, n);
		free(buf);
		return *out ? 0 : pr_diag(d, PR_EMEMORY, NULL);
	case PR_BYTES:
	case PR_AUTHKEY:
		*out = pr__authkey(v->u.s.data, v->u.s.len);
		return *out ? 0 : pr_diag(d, PR_EMEMORY, NULL);
	case PR_TUPLE:
	case PR_LIST:
	case PR_DICT:
		break;
	default:
		return pr_diag(d, PR_ETYPE, "cannot convert '%s' object to bytes",
			       pr__type_name(v));
	}
	if ((r = pr__value_iter(v, &items, &n, d)) < 0)
		return r;
	if ((buf = malloc(n + 1)) == NULL) {
		r = pr_diag(d, PR_EMEMORY, NULL);
		goto out;
	}
	for (i = 0; i < n; i++) {
		if (!pr__is_int(items[i])) {
			r = pr_diag(d, PR_ETYPE,
				    "'%s' object cannot be "
				    "interpreted as an integer",
				    pr__type_name(items[i]));
			goto out;
		}
		if (items[i]->kind == PR_BOOL)
			byte = items[i]->u.b;
		else if (items[i]->u.i.big != NULL || items[i]->u.i.small < 0 ||
			 items[i]->u.i.small > 255)
			byte = -1;
		else
			byte = (int)items[i]->u.i.small;
		if (byte < 0) {
			r = pr_diag(d, PR_EVALUE, "bytes must be in range(0, 256)");
			goto out;
		}
		buf[i] = (unsigned char)byte;
	}
	*out = pr__authkey(buf, n);
	r = *out ? 0 : pr_diag(d, PR_EMEMORY, NULL);
out:
	free(buf);
	pr__items_free(items, n);
	return r;
}

/* ---- functions and methods -------------------------------------------- */

pr_value *pr_function(const pr_func *f)
{
	pr_value *v = value_new(PR_FUNCTION);

	if (v != NULL)
		v->u.fn.func = f;
	return v;
}

pr_value *pr__class(const pr_func *init)
{
	pr_value *v = pr_function(init);

	if (v != NULL)
		v->u.fn.is_class = 1;
	return v;
}

const pr_func *pr_function_of(const pr_value *v)
{
	return v->kind == PR_FUNCTION || v->kind == PR_METHOD ? v->u.fn.func : NULL;
}

pr_value *pr_method_self(const pr_value *v)
{
	return v->kind == PR_METHOD ? v->u.fn.self : NULL;
}

pr_value *pr__object_new(const struct pr_objtype *t, void *data)
{
	pr_value *v = value_new(PR_OBJECT);

	if (v == NULL) {
		if (t->free != NULL && data != NULL)
			t->free(data);
		return NULL;
	}
	v->u.obj.type = t;
	v->u.obj.data = data;
	return v;
}

void *pr__object_data(const pr_value *v, const struct pr_objtype *t)
{
	return v != NULL && v->kind == PR_OBJECT && v->u.obj.type == t ? v->u.obj.data : NULL;
}

pr_value *pr__method(const pr_func *func, pr_value *self)
{
	pr_value *v = value_new(PR_METHOD);

	if (v == NULL)
		return NULL;
	v->u.fn.func = func;
	v->u.fn.self = pr_incref(self);
	return v;
}

#include "ast.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

void ps_expr_free(struct ps_expr *e)
{
	size_t i;

	if (!e)
		return;
	free(e->text);
	ps_expr_free(e->object);
	for (i = 0; i < e->n_items; i++)
		ps_expr_free(e->items[i]);
	free(e->items);
	for (i = 0; i < e->n_kw; i++) {
		free(e->kw[i].name);
		ps_expr_free(e->kw[i].value);
	}
	free(e->kw);
	free(e);
}

bool ps_stmt_applies(const struct ps_stmt *s, unsigned version)
{
	if (!s->gate)
		return true;
	return s->below ? version < s->gate : version >= s->gate;
}

void ps_stmt_free(struct ps_stmt *s)
{
	if (!s)
		return;
	free(s->target);
	free(s->target2);
	free(s->attr);
	ps_expr_free(s->object);
	ps_expr_free(s->value);
	free(s);
}

/* Decode one UTF-8 sequence at s (len > 0); returns its length, *cp the code point. */
static size_t utf8_decode(const unsigned char *s, size_t len, uint32_t *cp)
{
	size_t n, i;
	uint32_t c = s[0];

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	n = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 0;
	if (n == 0 || n > len) {
		*cp = 0xfffd;
		return 1;
	}
	c &= 0x7f >> n;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80) {
			*cp = 0xfffd;
			return 1;
		}
		c = (c << 6) | (s[i] & 0x3f);
	}
	*cp = c;
	return n;
}

/*
 * str.isprintable() for the code points a scenario is likely to hold.
 * CPython consults the full Unicode database; this covers the control,
 * format and separator characters of Latin-1 and General Punctuation, and
 * treats the rest of the non-ASCII range as printable.
 */
static bool printable(uint32_t c)
{
	if (c < 0x20 || c == 0x7f)
		return false;
	if (c >= 0x80 && c <= 0xa0)
		return false;
	if (c == 0xad || (c >= 0x200b && c <= 0x200f) || (c >= 0x2028 && c <= 0x202e) ||
	    (c >= 0x2060 && c <= 0x2064) || c == 0xfeff || (c >= 0xd800 && c <= 0xdfff))
		return false;
	return true;
}

int ps_pyrepr_append(struct ps_buf *b, const char *str, size_t len, bool is_bytes)
{
	const unsigned char *s = (const unsigned char *)str;
	bool squote = memchr(s, '\'', len) != NULL, dquote = memchr(s, '"', len) != NULL;
	char q = squote && !dquote ? '"' : '\'';
	size_t i = 0, n;
	uint32_t c;

	if (is_bytes)
		ps_buf_addc(b, 'b');
	ps_buf_addc(b, q);
	while (i < len) {
		if (is_bytes) {
			c = s[i];
			n = 1;
		} else {
			n = utf8_decode(s + i, len - i, &c);
		}
		if (c == (uint32_t)q || c == '\\')
			ps_buf_addf(b, "\\%c", (char)c);
		else if (c == '\n')
			ps_buf_adds(b, "\\n");
		else if (c == '\r')
			ps_buf_adds(b, "\\r");
		else if (c == '\t')
			ps_buf_adds(b, "\\t");
		else if (is_bytes ? (c < 0x20 || c >= 0x7f) : !printable(c))
			ps_buf_addf(b,
				    c < 0x100   ? "\\x%02x" :
				    c < 0x10000 ? "\\u%04x" :
						  "\\U%08x",
				    c);
		else
			ps_buf_add(b, s + i, n);
		i += n;
	}
	ps_buf_addc(b, q);
	return ps_buf_oom(b) ? -1 : 0;
}

static void unparse(struct ps_buf *b, const struct ps_expr *e);

static void unparse_seq(struct ps_buf *b, struct ps_expr *const *items, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (i)
			ps_buf_adds(b, ", ");
		unparse(b, items[i]);
	}
}

/*
 * The object of an attribute: "1.real" would lex as the float "1." and a
 * name, so an int gets a space, as Lib/ast.py's visit_Attribute writes it.
 */
static void unparse_object(struct ps_buf *b, const struct ps_expr *e)
{
	if (e->kind == PS_X_COMPARE || e->kind == PS_X_NOT) {
		ps_buf_addc(b, '(');
		unparse(b, e);
		ps_buf_addc(b, ')');
		return;
	}
	unparse(b, e);
	if (e->kind == PS_X_INT)
		ps_buf_addc(b, ' ');
}

/* An operand of ==, is: a comparison or a not inside one is bracketed,
 * as Python's precedence needs. */
static void unparse_operand(struct ps_buf *b, const struct ps_expr *e)
{
	if (e->kind == PS_X_COMPARE || e->kind == PS_X_NOT) {
		ps_buf_addc(b, '(');
		unparse(b, e);
		ps_buf_addc(b, ')');
	} else {
		unparse(b, e);
	}
}

static void unparse(struct ps_buf *b, const struct ps_expr *e)
{
	size_t i;

	switch (e->kind) {
	case PS_X_NONE:
		ps_buf_adds(b, "None");
		break;
	case PS_X_BOOL:
		ps_buf_adds(b, e->b ? "True" : "False");
		break;
	case PS_X_FLOAT:
		/* Lib/ast.py, _Unparser: infinity is written _INFSTR, "1e309". */
		if (!strcmp(e->text, "inf") || !strcmp(e->text, "-inf")) {
			ps_buf_adds(b, e->text[0] == '-' ? "-1e309" : "1e309");
			break;
		}
		/* fall through */
	case PS_X_INT:
	case PS_X_VAR:
	case PS_X_GLOBAL:
		ps_buf_adds(b, e->text);
		break;
	case PS_X_STR:
	case PS_X_BYTES:
		ps_pyrepr_append(b, e->text, e->len, e->kind == PS_X_BYTES);
		break;
	case PS_X_TUPLE:
		ps_buf_addc(b, '(');
		unparse_seq(b, e->items, e->n_items);
		if (e->n_items == 1)
			ps_buf_addc(b, ',');
		ps_buf_addc(b, ')');
		break;
	case PS_X_LIST:
		ps_buf_addc(b, '[');
		unparse_seq(b, e->items, e->n_items);
		ps_buf_addc(b, ']');
		break;
	case PS_X_DICT:
		ps_buf_addc(b, '{');
		for (i = 0; i + 1 < e->n_items; i += 2) {
			if (i)
				ps_buf_adds(b, ", ");
			unparse(b, e->items[i]);
			ps_buf_adds(b, ": ");
			unparse(b, e->items[i + 1]);
		}
		ps_buf_addc(b, '}');
		break;
	case PS_X_BEHAVIOUR:
		ps_buf_addf(b, "child.%s", e->text);
		break;
	case PS_X_TASK:
		ps_buf_addf(b, "task.%s", e->text);
		break;
	case PS_X_GETATTR:
		unparse_object(b, e->object);
		ps_buf_addf(b, ".%s", e->text);
		break;
	case PS_X_CALL:
		unparse(b, e->object);
		ps_buf_addc(b, '(');
		unparse_seq(b, e->items, e->n_items);
		for (i = 0; i < e->n_kw; i++) {
			if (i || e->n_items)
				ps_buf_adds(b, ", ");
			ps_buf_addf(b, "%s=", e->kw[i].name);
			unparse(b, e->kw[i].value);
		}
		ps_buf_addc(b, ')');
		break;
	case PS_X_COMPARE:
		unparse_operand(b, e->items[0]);
		ps_buf_addf(b, " %s ", e->text);
		unparse_operand(b, e->items[1]);
		break;
	case PS_X_NOT:
		ps_buf_adds(b, "not ");
		unparse(b, e->object);
		break;
	}
}

char *ps_expr_unparse(const struct ps_expr *e)
{
	struct ps_buf b = PS_BUF_INIT;

	unparse(&b, e);
	return ps_buf_detach(&b);
}

char *ps_stmt_unparse(const struct ps_stmt *s)
{
	struct ps_buf b = PS_BUF_INIT;

	if (s->gate)
		ps_buf_addf(&b, "if sys.version_info %s (%u, %u): ", s->below ? "<" : ">=",
			    s->gate >> 8, s->gate & 0xff);
	switch (s->kind) {
	case PS_S_ASSIGN:
		if (s->target2)
			ps_buf_addf(&b, "%s, %s = ", s->target, s->target2);
		else
			ps_buf_addf(&b, "%s = ", s->target);
		break;
	case PS_S_SETATTR:
		unparse_object(&b, s->object);
		ps_buf_addf(&b, ".%s = ", s->attr);
		break;
	case PS_S_EXPR:
		break;
	}
	unparse(&b, s->value);
	return ps_buf_detach(&b);
}

static json_t *tagged(const char *tag, json_t *v)
{
	json_t *o;

	if (!v)
		return NULL;
	o = json_object();
	if (!o || json_object_set_new(o, tag, v)) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *expr_json(const struct ps_expr *e);

static json_t *seq_json(struct ps_expr *const *items, size_t n)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; a && i < n; i++) {
		if (json_array_append_new(a, expr_json(items[i]))) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

static json_t *expr_json(const struct ps_expr *e)
{
	json_t *o, *kw, *pair;
	struct ps_buf hex = PS_BUF_INIT;
	size_t i;
	char *s;

	switch (e->kind) {
	case PS_X_NONE:
		return tagged("none", json_null());
	case PS_X_BOOL:
		return tagged("bool", json_boolean(e->b));
	case PS_X_INT:
		return tagged("int", json_string(e->text));
	case PS_X_FLOAT:
		return tagged("float", json_string(e->text));
	case PS_X_STR:
		return tagged("str", json_stringn(e->text, e->len));
	case PS_X_BYTES:
		for (i = 0; i < e->len; i++)
			ps_buf_addf(&hex, "%02x", (unsigned char)e->text[i]);
		s = ps_buf_detach(&hex);
		o = s ? tagged("bytes", json_string(s)) : NULL;
		free(s);
		return o;
	case PS_X_TUPLE:
		return tagged("tuple", seq_json(e->items, e->n_items));
	case PS_X_LIST:
		return tagged("list", seq_json(e->items, e->n_items));
	case PS_X_DICT:
		o = json_array();
		for (i = 0; o && i + 1 < e->n_items; i += 2) {
			pair = json_pack("[oo]", expr_json(e->items[i]),
					 expr_json(e->items[i + 1]));
			if (json_array_append_new(o, pair)) {
				json_decref(o);
				o = NULL;
			}
		}
		return tagged("dict", o);
	case PS_X_VAR:
		return tagged("var", json_string(e->text));
	case PS_X_GLOBAL:
		return tagged("global", json_string(e->text));
	case PS_X_BEHAVIOUR:
		return tagged("behaviour", json_string(e->text));
	case PS_X_TASK:
		return tagged("task", json_string(e->text));
	case PS_X_GETATTR:
		return tagged("getattr", json_pack("{s:o, s:s}", "object", expr_json(e->object),
						   "attr", e->text));
	case PS_X_CALL:
		kw = json_array();
		for (i = 0; kw && i < e->n_kw; i++) {
			pair = json_pack("[so]", e->kw[i].name, expr_json(e->kw[i].value));
			if (json_array_append_new(kw, pair)) {
				json_decref(kw);
				kw = NULL;
			}
		}
		return tagged("call",
			      json_pack("{s:o, s:o, s:o}", "func", expr_json(e->object), "args",
					seq_json(e->items, e->n_items), "kwargs", kw));
	case PS_X_COMPARE:
		return tagged("compare",
			      json_pack("{s:s, s:o, s:o}", "op", e->text, "left",
					expr_json(e->items[0]), "right", expr_json(e->items[1])));
	case PS_X_NOT:
		return tagged("not", expr_json(e->object));
	}
	return NULL;
}

json_t *ps_stmt_to_json(const struct ps_stmt *s)
{
	switch (s->kind) {
	case PS_S_ASSIGN:
		if (s->target2)
			return tagged("assign",
				      json_pack("{s:[s, s], s:o}", "target", s->target, s->target2,
						"value", expr_json(s->value)));
		return tagged("assign", json_pack("{s:s, s:o}", "target", s->target, "value",
						  expr_json(s->value)));
	case PS_S_SETATTR:
		return tagged("setattr",
			      json_pack("{s:o, s:s, s:o}", "object", expr_json(s->object), "attr",
					s->attr, "value", expr_json(s->value)));
	case PS_S_EXPR:
		return tagged("expr", expr_json(s->value));
	}
	return NULL;
}

/*
 * The scenario parser: a hand-written lexer and recursive-descent parser for
 * the Python subset of docs/SCENARIOS.md.  The first error stops the parse
 * and is reported as "file:line:col: message", the line, and a caret.
 */
#include "scenario.h"
#include "fault.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "file.h"
#include "util.h"
#include "vocab.h"

/* The scenario namespace (docs/PROTOCOL.md, "Globals"): harness verbs included. */
static const char *const globals[] = {
#define GLOBAL(name, how)     name,
#define VERB(name, args, ref) name,
#include "vocab.def"
};

/* The child.* behaviours (docs/PROTOCOL.md, "Child behaviours"). */
static const char *const behaviours[] = {
#define CHILD(name, ref) name,
#include "vocab.def"
};

/* The task.* behaviours for executors (docs/PROTOCOL.md, "Task behaviours"). */
static const char *const tasks[] = {
#define TASK(name, ref) name,
#include "vocab.def"
};

static const char *const method_names[] = { "fork", "spawn", "forkserver" };

enum tok_kind { T_EOF, T_NEWLINE, T_NAME, T_INT, T_FLOAT, T_STR, T_BYTES, T_OP };

/* The comparison operators, as struct tok's op */
enum { OP_EQ = 'E', OP_NE = 'N', OP_GE = 'G', OP_GT = '>', OP_LE = 'l', OP_LT = 'L' };

/* An operator token's text, for messages */
static const char *op_text(const char *op)
{
	switch (*op) {
	case OP_EQ:
		return "==";
	case OP_NE:
		return "!=";
	case OP_GE:
		return ">=";
	case OP_GT:
		return ">";
	case OP_LE:
		return "<=";
	case OP_LT:
		return "<";
	}
	return op;
}

struct tok {
	enum tok_kind kind;
	int line, col;
	size_t off; /* byte offset of its first character */
	char op;    /* T_OP */
	char *text; /* T_NAME, numbers (canonical), strings (decoded) */
	size_t len;
};

struct parser {
	const char *path, *src;
	size_t len, pos;
	int line, col;
	int depth;      /* bracket nesting: newlines inside are white space */
	int nest;       /* depth of the expression being parsed, up to MAX_NEST */
	struct tok tok; /* the current token */
	bool failed;
	struct ps_diag *d;
	char **vars; /* variables bound so far */
	size_t n_vars;
};

static bool in_table(const char *const *table, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!strcmp(table[i], name))
			return true;
	return false;
}

#define IN_TABLE(t, name) in_table(t, ARRAY_SIZE(t), name)

const char *ps_method_name(unsigned method)
{
	size_t i;

	for (i = 0; i < 3; i++)
		if (method == 1u << i)
			return method_names[i];
	return NULL;
}

unsigned ps_method_parse(const char *name)
{
	size_t i;

	for (i = 0; i < 3; i++)
		if (!strcmp(name, method_names[i]))
			return 1u << i;
	return 0;
}

/*
 * How deep an expression may nest (brackets, attributes, calls): the AST is
 * freed, unparsed and turned into JSON recursively.  CPython's tokenizer
 * stops at 200 nested brackets (MAXLEVEL).
 */
#define MAX_NEST 200

#define QUOTE_MAX 256 /* bytes of a long line quoted around an error */

/* Report an error at line:col (the first one wins). */
static void fail_at(struct parser *p, int line, int col, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void fail_at(struct parser *p, int line, int col, const char *fmt, ...)
{
	char msg[512];
	const char *ls, *le, *nul, *cb, *ws, *we, *c;
	va_list ap;
	int l = 1, i, n;
	struct ps_buf b = PS_BUF_INIT;
	char *s;

	if (p->failed)
		return;
	p->failed = true;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	size_t off = 0, end;

	while (l < line && off < p->len) {
		if (p->src[off++] == '\n')
			l++;
	}
	end = off;
	while (end < p->len && p->src[end] != '\n')
		end++;
	ls = p->src + off;
	le = p->src + end;
	if (le > ls && le[-1] == '\r')
		le--;
	if ((nul = memchr(ls, '\0', (size_t)(le - ls))))
		le = nul;
	/* The byte under the caret: col counts characters, as advance() does. */
	for (cb = ls, i = 1; i < col && cb < le; cb++)
		if (((unsigned char)*cb & 0xc0) != 0x80)
			i++;
	/*
	 * Quote a long line as a window around the caret, "..." for what is cut,
	 * so that the caret line always fits in d->msg.
	 */
	ws = ls;
	we = le;
	if (le - ls > QUOTE_MAX) {
		/* Cut between characters: a UTF-8 character is at most 4 bytes. */
		ws = cb - ls > QUOTE_MAX / 2 ? cb - QUOTE_MAX / 2 : ls;
		for (i = 0; i < 3 && ws > ls && ((unsigned char)*ws & 0xc0) == 0x80; i++)
			ws--;
		we = le - ws > QUOTE_MAX ? ws + QUOTE_MAX : le;
		for (i = 0; i < 3 && we < le && ((unsigned char)*we & 0xc0) == 0x80; i++)
			we++;
	}
	ps_buf_addf(&b, "%s:%d:%d: %s\n%s%.*s%s\n", p->path, line, col, msg, ws > ls ? "..." : "",
		    (int)(we - ws), ws, we < le ? "..." : "");
	n = (ws > ls ? 3 : 0) + (col - 1);
	for (c = ls; c < ws; c++)
		if (((unsigned char)*c & 0xc0) != 0x80)
			n--;
	for (i = 0; i < n; i++)
		ps_buf_addc(&b, ' ');
	ps_buf_addc(&b, '^');
	s = ps_buf_detach(&b);
	ps_diag(p->d, PS_EPARSE, "%s", s ? s : msg);
	free(s);
}

#define FAIL_TOK(p, ...) fail_at(p, (p)->tok.line, (p)->tok.col, __VA_ARGS__)

/* ---- lexer ----------------------------------------------------------- */

static int peekc(const struct parser *p, size_t ahead)
{
	return p->pos + ahead < p->len ? (unsigned char)p->src[p->pos + ahead] : -1;
}

static void advance(struct parser *p, size_t n)
{
	while (n-- && p->pos < p->len) {
		unsigned char c = (unsigned char)p->src[p->pos++];

		if (c == '\n') {
			p->line++;
			p->col = 1;
		} else if ((c & 0xc0) != 0x80) {
			p->col++; /* columns count characters, not UTF-8 bytes */
		}
	}
}

static bool is_ident_start(int c)
{
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_ident(int c)
{
	return is_ident_start(c) || (c >= '0' && c <= '9');
}

static int digit_value(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'Z')
		return c - 'A' + 10;
	return 99;
}

/*
 * Convert digits (in base) to canonical decimal text, of any size: the limbs
 * hold base-1e9 chunks, least significant first.
 */
static char *digits_to_decimal(const char *digits, int base, bool neg)
{
	uint32_t *limb = NULL;
	size_t n = 0, i, nd = strlen(digits);
	struct ps_buf b = PS_BUF_INIT;
	char *out = NULL;

	limb = calloc(nd + 1, sizeof(*limb));
	if (!limb)
		return NULL;
	for (; *digits; digits++) {
		uint64_t carry = (uint64_t)digit_value(*digits);

		for (i = 0; i < n; i++) {
			uint64_t v = (uint64_t)limb[i] * (uint64_t)base + carry;

			limb[i] = (uint32_t)(v % 1000000000u);
			carry = v / 1000000000u;
		}
		if (carry)
			limb[n++] = (uint32_t)carry;
	}
	if (n == 0) {
		ps_buf_addc(&b, '0');
	} else {
		if (neg)
			ps_buf_addc(&b, '-');
		ps_buf_addf(&b, "%u", limb[n - 1]);
		for (i = n - 1; i-- > 0;)
			ps_buf_addf(&b, "%09u", limb[i]);
	}
	out = ps_buf_detach(&b);
	free(limb);
	return out;
}

/* Python's repr() of a finite or infinite double: shortest round-trip digits. */
static char *float_repr(double x)
{
	char tmp[64], digits[32];
	struct ps_buf b = PS_BUF_INIT;
	int prec, exp10 = 0, decpt, nd = 0, i;
	char *e, *q;

	if (isnan(x))
		return strdup("nan");
	if (isinf(x))
		return strdup(x < 0 ? "-inf" : "inf");
	for (prec = 1; prec <= 17; prec++) {
		snprintf(tmp, sizeof(tmp), "%.*e", prec - 1, x);
		if (strtod(tmp, NULL) == x)
			break;
	}
	q = tmp;
	if (*q == '-') {
		ps_buf_addc(&b, '-');
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
			ps_buf_adds(&b, "0.");
			for (i = 0; i < -decpt; i++)
				ps_buf_addc(&b, '0');
			ps_buf_adds(&b, digits);
		} else if (decpt >= nd) {
			ps_buf_adds(&b, digits);
			for (i = nd; i < decpt; i++)
				ps_buf_addc(&b, '0');
			ps_buf_adds(&b, ".0");
		} else {
			ps_buf_add(&b, digits, (size_t)decpt);
			ps_buf_addc(&b, '.');
			ps_buf_adds(&b, digits + decpt);
		}
	} else {
		ps_buf_addc(&b, digits[0]);
		if (nd > 1) {
			ps_buf_addc(&b, '.');
			ps_buf_adds(&b, digits + 1);
		}
		ps_buf_addf(&b, "e%c%02d", decpt - 1 < 0 ? '-' : '+', abs(decpt - 1));
	}
	return ps_buf_detach(&b);
}

static void lex_number(struct parser *p, bool neg)
{
	struct tok *t = &p->tok;
	struct ps_buf clean = PS_BUF_INIT;
	int base = 10, c;
	bool is_float = false, last_digit = false;
	size_t start = p->pos;
	char *text = NULL;

	if (peekc(p, 0) == '0' && strchr("xXoObB", peekc(p, 1) > 0 ? peekc(p, 1) : ' ')) {
		c = peekc(p, 1);
		base = (c == 'x' || c == 'X') ? 16 : (c == 'o' || c == 'O') ? 8 : 2;
		advance(p, 2);
		for (;;) {
			c = peekc(p, 0);
			if (c == '_' && digit_value(peekc(p, 1)) < base) {
				advance(p, 1);
				continue;
			}
			if (!is_ident(c))
				break;
			if (digit_value(c) >= base) {
				fail_at(p, p->line, p->col, "invalid digit '%c' in %s literal", c,
					base == 16 ? "hexadecimal" :
					base == 8  ? "octal" :
						     "binary");
				goto out;
			}
			ps_buf_addc(&clean, (char)c);
			advance(p, 1);
		}
		if (clean.len == 0) {
			fail_at(p, t->line, t->col, "invalid %s literal",
				base == 16 ? "hexadecimal" :
				base == 8  ? "octal" :
					     "binary");
			goto out;
		}
	} else {
		for (;;) {
			c = peekc(p, 0);
			if (c >= '0' && c <= '9') {
				ps_buf_addc(&clean, (char)c);
				last_digit = true;
			} else if (c == '_' && last_digit && peekc(p, 1) >= '0' &&
				   peekc(p, 1) <= '9') {
				last_digit = false;
			} else if (c == '.' && !is_float &&
				   !strchr(clean.data ? clean.data : "", 'e')) {
				is_float = true;
				ps_buf_addc(&clean, '.');
				last_digit = false;
			} else if ((c == 'e' || c == 'E') &&
				   !strchr(clean.data ? clean.data : "", 'e')) {
				int d = peekc(p, 1);

				if (d == '+' || d == '-') {
					ps_buf_addc(&clean, 'e');
					ps_buf_addc(&clean, (char)d);
					advance(p, 1);
				} else {
					ps_buf_addc(&clean, 'e');
				}
				if (!(peekc(p, 1) >= '0' && peekc(p, 1) <= '9')) {
					fail_at(p, t->line, t->col, "invalid float literal");
					goto out;
				}
				is_float = true;
				last_digit = false;
			} else {
				break;
			}
			advance(p, 1);
		}
		if (is_ident(peekc(p, 0))) {
			fail_at(p, t->line, t->col, "invalid decimal literal");
			goto out;
		}
		if (!is_float && clean.len > 1 && clean.data[0] == '0' &&
		    strspn(clean.data, "0") != clean.len) {
			fail_at(p, t->line, t->col,
				"leading zeros in decimal integer literals are "
				"not permitted; use an 0o prefix for octal integers");
			goto out;
		}
	}
	if (ps_buf_oom(&clean)) {
		fail_at(p, t->line, t->col, "out of memory");
		goto out;
	}
	if (is_float) {
		double v = strtod(clean.data, NULL);

		text = float_repr(neg ? -v : v);
		t->kind = T_FLOAT;
	} else {
		/*
		 * Ints travel as decimal text (docs/PROTOCOL.md), and CPython's
		 * int() of text stops at 4300 digits; the first check also keeps
		 * the quadratic conversion cheap.
		 */
		if (clean.len <= 4300 * 4)
			text = digits_to_decimal(clean.data, base, neg);
		if (clean.len > 4300 * 4 || (text && strlen(text) - neg > 4300)) {
			free(text);
			fail_at(p, t->line, t->col,
				"integer literal too large: more than %d decimal "
				"digits, the most CPython's int() reads from text",
				4300);
			goto out;
		}
		t->kind = T_INT;
	}
	if (!text) {
		fail_at(p, t->line, t->col, "out of memory");
		goto out;
	}
	t->text = text;
	t->len = strlen(text);
	(void)start;
out:
	ps_buf_release(&clean);
}

static void add_utf8(struct ps_buf *b, uint32_t c)
{
	if (c < 0x80) {
		ps_buf_addc(b, (char)c);
	} else if (c < 0x800) {
		ps_buf_addc(b, (char)(0xc0 | (c >> 6)));
		ps_buf_addc(b, (char)(0x80 | (c & 0x3f)));
	} else if (c < 0x10000) {
		ps_buf_addc(b, (char)(0xe0 | (c >> 12)));
		ps_buf_addc(b, (char)(0x80 | ((c >> 6) & 0x3f)));
		ps_buf_addc(b, (char)(0x80 | (c & 0x3f)));
	} else {
		ps_buf_addc(b, (char)(0xf0 | (c >> 18)));
		ps_buf_addc(b, (char)(0x80 | ((c >> 12) & 0x3f)));
		ps_buf_addc(b, (char)(0x80 | ((c >> 6) & 0x3f)));
		ps_buf_addc(b, (char)(0x80 | (c & 0x3f)));
	}
}

/* A quoted string at p->pos (the quote); is_bytes for a b'' literal. */
static void lex_string(struct parser *p, bool is_bytes)
{
	struct tok *t = &p->tok;
	struct ps_buf b = PS_BUF_INIT;
	int q = peekc(p, 0), c, i, n;
	uint32_t v;

	if (peekc(p, 1) == q && peekc(p, 2) == q) {
		fail_at(p, p->line, p->col, "triple-quoted strings are not supported");
		return;
	}
	advance(p, 1);
	for (;;) {
		c = peekc(p, 0);
		if (c == -1 || c == '\n') {
			fail_at(p, t->line, t->col, "unterminated string literal");
			goto out;
		}
		if (c == q) {
			advance(p, 1);
			break;
		}
		if (is_bytes && c >= 0x80) {
			fail_at(p, p->line, p->col,
				"bytes can only contain ASCII literal characters");
			goto out;
		}
		if (c != '\\') {
			ps_buf_addc(&b, (char)c);
			advance(p, 1);
			continue;
		}
		c = peekc(p, 1);
		switch (c) {
		case '\\':
		case '\'':
		case '"':
			ps_buf_addc(&b, (char)c);
			advance(p, 2);
			continue;
		case 'n':
			ps_buf_addc(&b, '\n');
			advance(p, 2);
			continue;
		case 't':
			ps_buf_addc(&b, '\t');
			advance(p, 2);
			continue;
		case 'r':
			ps_buf_addc(&b, '\r');
			advance(p, 2);
			continue;
		case 'a':
			ps_buf_addc(&b, '\a');
			advance(p, 2);
			continue;
		case 'b':
			ps_buf_addc(&b, '\b');
			advance(p, 2);
			continue;
		case 'f':
			ps_buf_addc(&b, '\f');
			advance(p, 2);
			continue;
		case 'v':
			ps_buf_addc(&b, '\v');
			advance(p, 2);
			continue;
		case 'x':
		case 'u':
		case 'U':
			n = c == 'x' ? 2 : c == 'u' ? 4 : 8;
			if (is_bytes && c != 'x') {
				ps_buf_addc(&b, '\\'); /* Python keeps unknown escapes in bytes */
				advance(p, 1);
				continue;
			}
			v = 0;
			for (i = 0; i < n; i++) {
				int dv = digit_value(peekc(p, 2 + (size_t)i));

				if (dv > 15) {
					fail_at(p, p->line, p->col, "truncated \\%c%s escape", c,
						n == 2 ? "XX" :
						n == 4 ? "XXXX" :
							 "XXXXXXXX");
					goto out;
				}
				v = v * 16 + (uint32_t)dv;
			}
			if (v > 0x10ffff) {
				fail_at(p, p->line, p->col, "illegal Unicode character");
				goto out;
			}
			if (!is_bytes && v >= 0xd800 && v <= 0xdfff) {
				fail_at(p, p->line, p->col,
					"surrogate code points are not supported");
				goto out;
			}
			if (is_bytes)
				ps_buf_addc(&b, (char)v);
			else
				add_utf8(&b, v);
			advance(p, 2 + (size_t)n);
			continue;
		case 'N':
			if (!is_bytes) {
				fail_at(p, p->line, p->col, "\\N{...} escapes are not supported");
				goto out;
			}
			break;
		default:
			if (c >= '0' && c <= '7') {
				v = 0;
				for (i = 0; i < 3 && peekc(p, 1 + (size_t)i) >= '0' &&
					    peekc(p, 1 + (size_t)i) <= '7';
				     i++)
					v = v * 8 + (uint32_t)(peekc(p, 1 + (size_t)i) - '0');
				if (is_bytes)
					ps_buf_addc(&b, (char)(v & 0xff));
				else
					add_utf8(&b, v);
				advance(p, 1 + (size_t)i);
				continue;
			}
			if (c == -1 || c == '\n') {
				fail_at(p, t->line, t->col, "unterminated string literal");
				goto out;
			}
			break;
		}
		/* Python keeps an unknown escape as it is, backslash included. */
		ps_buf_addc(&b, '\\');
		advance(p, 1);
	}
	if (ps_buf_oom(&b)) {
		fail_at(p, t->line, t->col, "out of memory");
		goto out;
	}
	t->kind = is_bytes ? T_BYTES : T_STR;
	t->len = b.len;
	t->text = ps_buf_detach(&b);
	return;
out:
	ps_buf_release(&b);
}

/* Move to the next token; errors set p->failed and leave T_EOF. */
static void next(struct parser *p)
{
	struct tok *t = &p->tok;
	bool crlf;
	int c;

	free(t->text);
	memset(t, 0, sizeof(*t));
	if (p->failed) {
		t->kind = T_EOF;
		return;
	}
	/* "\r\n" is one newline, as Python's universal newlines read it. */
	for (;;) {
		c = peekc(p, 0);
		crlf = c == '\r' && peekc(p, 1) == '\n';
		if (c == ' ' || c == '\t' || (c == '\r' && !crlf) || c == '\f') {
			advance(p, 1);
		} else if (c == '#') {
			while (peekc(p, 0) != -1 && peekc(p, 0) != '\n' &&
			       !(peekc(p, 0) == '\r' && peekc(p, 1) == '\n'))
				advance(p, 1);
		} else if (c == '\\' && peekc(p, 1) == '\n') {
			advance(p, 2); /* explicit line joining */
		} else if (c == '\\' && peekc(p, 1) == '\r' && peekc(p, 2) == '\n') {
			advance(p, 3);
		} else if ((c == '\n' || crlf) && p->depth > 0) {
			advance(p, crlf ? 2 : 1);
		} else {
			break;
		}
	}
	t->line = p->line;
	t->col = p->col;
	t->off = p->pos;
	if (c == -1) {
		t->kind = T_EOF;
	} else if (c == '\n' || crlf) {
		t->kind = T_NEWLINE;
		advance(p, crlf ? 2 : 1);
	} else if ((c >= '0' && c <= '9') ||
		   (c == '.' && peekc(p, 1) >= '0' && peekc(p, 1) <= '9')) {
		lex_number(p, false);
	} else if (c == '\'' || c == '"') {
		lex_string(p, false);
	} else if (is_ident_start(c)) {
		size_t s = p->pos, n;

		while (is_ident(peekc(p, 0)))
			advance(p, 1);
		n = p->pos - s;
		c = peekc(p, 0);
		if (c == '\'' || c == '"') {
			if (n == 1 && (p->src[s] == 'b' || p->src[s] == 'B')) {
				lex_string(p, true);
				return;
			}
			if (n == 1 && (p->src[s] == 'u' || p->src[s] == 'U')) {
				lex_string(p, false);
				return;
			}
			if (n <= 2) {
				fail_at(p, t->line, t->col, "string prefix '%.*s' is not supported",
					(int)n, p->src + s);
				t->kind = T_EOF;
				return;
			}
		}
		t->kind = T_NAME;
		t->text = strndup(p->src + s, n);
		t->len = n;
		if (!t->text)
			fail_at(p, t->line, t->col, "out of memory");
	} else if ((c == '=' || c == '>' || c == '<' || c == '!') && peekc(p, 1) == '=') {
		t->kind = T_OP; /* "==", "!=", ">=", "<=" */
		t->op = c == '=' ? OP_EQ : c == '!' ? OP_NE : c == '>' ? OP_GE : OP_LE;
		advance(p, 2);
	} else if ((c == '<' || c == '>') && peekc(p, 1) != c) {
		t->kind = T_OP; /* "<" and ">"; "<<" and ">>" are no operators here */
		t->op = c == '<' ? OP_LT : OP_GT;
		advance(p, 1);
	} else if (strchr("()[]{},.=:-", c)) {
		t->kind = T_OP;
		t->op = (char)c;
		advance(p, 1);
		if (c == '(' || c == '[' || c == '{')
			p->depth++;
		else if ((c == ')' || c == ']' || c == '}') && p->depth > 0)
			p->depth--;
	} else if (c >= 0x80) {
		fail_at(p, t->line, t->col, "invalid non-ASCII character in a name");
		t->kind = T_EOF;
	} else {
		fail_at(p, t->line, t->col, "unexpected character '%c'%s", c,
			strchr("+*/%<>!&|^~@;", c) ?
				": operators are not part of the scenario language" :
				"");
		t->kind = T_EOF;
	}
	if (p->failed)
		t->kind = T_EOF;
}

static bool is_op(const struct parser *p, char op)
{
	return p->tok.kind == T_OP && p->tok.op == op;
}

static const char *tok_desc(const struct tok *t)
{
	switch (t->kind) {
	case T_EOF:
		return "end of file";
	case T_NEWLINE:
		return "end of line";
	case T_NAME:
		return "name";
	case T_INT:
	case T_FLOAT:
		return "number";
	case T_STR:
	case T_BYTES:
		return "string";
	case T_OP:
		break;
	}
	return "operator";
}

static bool expect_op(struct parser *p, char op, const char *what)
{
	if (is_op(p, op)) {
		next(p);
		return true;
	}
	if (p->tok.kind == T_OP) {
		char found[2] = { p->tok.op, '\0' };

		FAIL_TOK(p, "expected '%c' %s, found '%s'", op, what, op_text(found));
	} else
		FAIL_TOK(p, "expected '%c' %s, found %s", op, what, tok_desc(&p->tok));
	return false;
}

/* ---- parser ---------------------------------------------------------- */

static struct ps_expr *new_expr(struct parser *p, enum ps_expr_kind kind, int line, int col)
{
	struct ps_expr *e = calloc(1, sizeof(*e));

	if (!e) {
		fail_at(p, line, col, "out of memory");
		return NULL;
	}
	e->kind = kind;
	e->line = line;
	e->col = col;
	return e;
}

/*
 * Arrays grow by doubling, their capacity implicit: the next power of two
 * from 4 up, so that a 200,000-element list is not 200,000 reallocs (and
 * as many copies under ASan).  Room is needed when n is 0 or a power of two >= 4.
 */
static bool full(size_t n)
{
	return n < 4 ? n == 0 : (n & (n - 1)) == 0;
}

static size_t grown(size_t n)
{
	return n < 4 ? 4 : 2 * n;
}

static bool push_item(struct parser *p, struct ps_expr *e, struct ps_expr *item)
{
	struct ps_expr **items = !full(e->n_items) ?
					 e->items :
					 realloc(e->items, grown(e->n_items) * sizeof(*items));

	if (!items) {
		ps_expr_free(item);
		fail_at(p, e->line, e->col, "out of memory");
		return false;
	}
	e->items = items;
	e->items[e->n_items++] = item;
	return true;
}

static bool is_var(const struct parser *p, const char *name)
{
	size_t i;

	for (i = 0; i < p->n_vars; i++)
		if (!strcmp(p->vars[i], name))
			return true;
	return false;
}

static struct ps_expr *parse_expr(struct parser *p);

/* Take the current token's text into e. */
static void take_text(struct parser *p, struct ps_expr *e)
{
	e->text = p->tok.text;
	e->len = p->tok.len;
	p->tok.text = NULL;
}

static struct ps_expr *parse_name(struct parser *p)
{
	struct tok *t = &p->tok;
	int line = t->line, col = t->col;
	struct ps_expr *e;

	if (!strcmp(t->text, "None") || !strcmp(t->text, "True") || !strcmp(t->text, "False")) {
		e = new_expr(p, t->text[0] == 'N' ? PS_X_NONE : PS_X_BOOL, line, col);
		if (e)
			e->b = t->text[0] == 'T';
		next(p);
		return e;
	}
	if (!strcmp(t->text, "child")) {
		next(p);
		if (!is_op(p, '.')) {
			fail_at(p, line, col, "'child' needs a behaviour: child.NAME");
			return NULL;
		}
		next(p);
		if (p->tok.kind != T_NAME) {
			FAIL_TOK(p, "expected a behaviour name after 'child.'");
			return NULL;
		}
		if (!IN_TABLE(behaviours, p->tok.text)) {
			FAIL_TOK(p, "unknown child behaviour 'child.%s'", p->tok.text);
			return NULL;
		}
		e = new_expr(p, PS_X_BEHAVIOUR, line, col);
		if (e)
			take_text(p, e);
		next(p);
		return e;
	}
	if (!strcmp(t->text, "task")) {
		next(p);
		if (!is_op(p, '.')) {
			fail_at(p, line, col, "'task' needs a behaviour: task.NAME");
			return NULL;
		}
		next(p);
		if (p->tok.kind != T_NAME) {
			FAIL_TOK(p, "expected a task behaviour name after 'task.'");
			return NULL;
		}
		if (!IN_TABLE(tasks, p->tok.text)) {
			FAIL_TOK(p, "unknown task behaviour 'task.%s'", p->tok.text);
			return NULL;
		}
		e = new_expr(p, PS_X_TASK, line, col);
		if (e)
			take_text(p, e);
		next(p);
		return e;
	}
	if (is_var(p, t->text)) {
		e = new_expr(p, PS_X_VAR, line, col);
	} else if (IN_TABLE(globals, t->text)) {
		e = new_expr(p, PS_X_GLOBAL, line, col);
	} else {
		FAIL_TOK(p, "unknown name '%s'", t->text);
		return NULL;
	}
	if (e)
		take_text(p, e);
	next(p);
	return e;
}

/* The arguments of a call, after '('. */
static bool parse_call_args(struct parser *p, struct ps_expr *call)
{
	struct ps_kwarg *kw;
	size_t i;

	while (!is_op(p, ')') && !p->failed) {
		/* NAME '=' starts a keyword argument; peek at the raw source. */
		if (p->tok.kind == T_NAME) {
			size_t q = p->pos;

			while (q < p->len && (p->src[q] == ' ' || p->src[q] == '\t'))
				q++;
			if (q < p->len && p->src[q] == '=' &&
			    (q + 1 >= p->len || p->src[q + 1] != '=')) {
				char *name = p->tok.text;
				int line = p->tok.line, col = p->tok.col;

				for (i = 0; i < call->n_kw; i++) {
					if (!strcmp(call->kw[i].name, name)) {
						FAIL_TOK(p, "keyword argument repeated: %s", name);
						return false;
					}
				}
				p->tok.text = NULL;
				next(p); /* the name */
				next(p); /* '=' */
				kw = realloc(call->kw, (call->n_kw + 1) * sizeof(*kw));
				if (!kw) {
					free(name);
					fail_at(p, line, col, "out of memory");
					return false;
				}
				call->kw = kw;
				kw[call->n_kw].name = name;
				kw[call->n_kw].value = NULL;
				call->n_kw++;
				kw[call->n_kw - 1].value = parse_expr(p);
				if (!kw[call->n_kw - 1].value)
					return false;
				goto sep;
			}
		}
		if (call->n_kw) {
			FAIL_TOK(p, "positional argument follows keyword argument");
			return false;
		}
		{
			struct ps_expr *arg = parse_expr(p);

			if (!arg || !push_item(p, call, arg))
				return false;
		}
	sep:
		if (is_op(p, ','))
			next(p);
		else if (!is_op(p, ')'))
			return expect_op(p, ')', "to close the call");
	}
	return !p->failed && expect_op(p, ')', "to close the call");
}

/* Elements up to the closing bracket; dict: key ':' value pairs. */
static bool parse_elements(struct parser *p, struct ps_expr *e, char close, bool dict,
			   bool *trailing_comma)
{
	struct ps_expr *x;

	*trailing_comma = false;
	while (!is_op(p, close) && !p->failed) {
		x = parse_expr(p);
		if (!x || !push_item(p, e, x))
			return false;
		if (dict) {
			if (!expect_op(p, ':', "between a dict key and its value"))
				return false;
			x = parse_expr(p);
			if (!x || !push_item(p, e, x))
				return false;
		}
		*trailing_comma = false;
		if (is_op(p, ',')) {
			*trailing_comma = true;
			next(p);
		} else if (!is_op(p, close)) {
			char what[32];

			snprintf(what, sizeof(what), "or ',' here");
			return expect_op(p, close, what);
		}
	}
	return !p->failed && expect_op(p, close, "to close the brackets");
}

/* One more level of nesting for the expression being parsed; false past MAX_NEST. */
static bool nest(struct parser *p)
{
	if (++p->nest <= MAX_NEST)
		return true;
	FAIL_TOK(p, "expression nested too deeply (more than %d levels)", MAX_NEST);
	return false;
}

static struct ps_expr *parse_atom(struct parser *p)
{
	struct tok *t = &p->tok;
	int line = t->line, col = t->col;
	struct ps_expr *e = NULL;
	bool comma;

	switch (t->kind) {
	case T_NAME:
		return parse_name(p);
	case T_INT:
	case T_FLOAT:
		e = new_expr(p, t->kind == T_INT ? PS_X_INT : PS_X_FLOAT, line, col);
		if (e)
			take_text(p, e);
		next(p);
		return e;
	case T_STR:
	case T_BYTES:
		e = new_expr(p, t->kind == T_STR ? PS_X_STR : PS_X_BYTES, line, col);
		if (!e)
			return NULL;
		take_text(p, e);
		next(p);
		/* Adjacent literals concatenate, as in Python; str and bytes do not mix. */
		while (p->tok.kind == T_STR || p->tok.kind == T_BYTES) {
			char *s;

			if ((p->tok.kind == T_BYTES) != (e->kind == PS_X_BYTES)) {
				FAIL_TOK(p, "cannot mix bytes and nonbytes literals");
				ps_expr_free(e);
				return NULL;
			}
			s = realloc(e->text, e->len + p->tok.len + 1);
			if (!s) {
				FAIL_TOK(p, "out of memory");
				ps_expr_free(e);
				return NULL;
			}
			memcpy(s + e->len, p->tok.text, p->tok.len + 1);
			e->text = s;
			e->len += p->tok.len;
			next(p);
		}
		return e;
	case T_OP:
		break;
	case T_EOF:
	case T_NEWLINE:
		FAIL_TOK(p, "expected an expression, found %s", tok_desc(t));
		return NULL;
	}
	switch (t->op) {
	case '-':
		next(p);
		if (p->tok.kind != T_INT && p->tok.kind != T_FLOAT) {
			FAIL_TOK(p, "'-' is allowed only before a number");
			return NULL;
		}
		e = new_expr(p, p->tok.kind == T_INT ? PS_X_INT : PS_X_FLOAT, line, col);
		if (!e)
			return NULL;
		if (p->tok.text[0] == '-' || !strcmp(p->tok.text, "0")) {
			take_text(p, e); /* -0 is 0; "--1" cannot happen */
		} else if (e->kind == PS_X_FLOAT && !strcmp(p->tok.text, "nan")) {
			take_text(p, e);
		} else {
			size_t n = p->tok.len;

			e->text = malloc(n + 2);
			if (!e->text) {
				ps_expr_free(e);
				fail_at(p, line, col, "out of memory");
				return NULL;
			}
			e->text[0] = '-';
			memcpy(e->text + 1, p->tok.text, n + 1);
			e->len = n + 1;
		}
		next(p);
		return e;
	case '(':
		if (!nest(p))
			return NULL;
		next(p);
		e = new_expr(p, PS_X_TUPLE, line, col);
		if (!e || !parse_elements(p, e, ')', false, &comma)) {
			ps_expr_free(e);
			return NULL;
		}
		if (e->n_items == 1 && !comma) { /* (x) is x */
			struct ps_expr *inner = e->items[0];

			e->n_items = 0;
			ps_expr_free(e);
			return inner;
		}
		return e;
	case '[':
	case '{':
		if (!nest(p))
			return NULL;
		e = new_expr(p, t->op == '[' ? PS_X_LIST : PS_X_DICT, line, col);
		next(p);
		if (!e || !parse_elements(p, e, e->kind == PS_X_LIST ? ']' : '}',
					  e->kind == PS_X_DICT, &comma)) {
			ps_expr_free(e);
			return NULL;
		}
		return e;
	default: {
		char found[2] = { t->op, '\0' };

		FAIL_TOK(p, "unexpected '%s'", op_text(found));
		return NULL;
	}
	}
}

static struct ps_expr *parse_trailers(struct parser *p)
{
	struct ps_expr *e = parse_atom(p), *x;

	while (e && !p->failed) {
		/* Here, not in parse_name(), so that (child.NAME).x is refused too. */
		if (e->kind == PS_X_BEHAVIOUR && (is_op(p, '(') || is_op(p, '.'))) {
			FAIL_TOK(p,
				 "a child behaviour is a target, not something to %s: "
				 "write target=child.%s",
				 is_op(p, '(') ? "call" : "read", e->text);
			break;
		}
		if (e->kind == PS_X_TASK && (is_op(p, '(') || is_op(p, '.'))) {
			FAIL_TOK(p,
				 "a task behaviour is a function to submit, not something to %s: "
				 "write ex.submit(task.%s, ...)",
				 is_op(p, '(') ? "call" : "read", e->text);
			break;
		}
		if ((is_op(p, '.') || is_op(p, '(')) && !nest(p))
			break;
		if (is_op(p, '.')) {
			next(p);
			if (p->tok.kind != T_NAME) {
				FAIL_TOK(p, "expected an attribute name after '.'");
				break;
			}
			x = new_expr(p, PS_X_GETATTR, e->line, e->col);
			if (!x)
				break;
			take_text(p, x);
			x->object = e;
			e = x;
			next(p);
		} else if (is_op(p, '(')) {
			/* a variable: a class subclass() made, or what it holds */
			if (e->kind != PS_X_GLOBAL && e->kind != PS_X_GETATTR &&
			    e->kind != PS_X_VAR) {
				FAIL_TOK(p, "only scenario functions, methods and variables can be "
					    "called");
				break;
			}
			next(p);
			x = new_expr(p, PS_X_CALL, e->line, e->col);
			if (!x)
				break;
			x->object = e;
			e = x;
			if (!parse_call_args(p, e))
				break;
		} else if (is_op(p, '[')) {
			FAIL_TOK(p, "subscripts are not part of the scenario language");
			break;
		} else {
			return e;
		}
	}
	ps_expr_free(e);
	return NULL;
}

static bool is_name(const struct parser *p, const char *name)
{
	return p->tok.kind == T_NAME && !strcmp(p->tok.text, name);
}

/* The comparison operator at the parser's token, or NULL */
static const char *compare_op(const struct parser *p)
{
	static const char ops[] = { OP_EQ, OP_NE, OP_LT, OP_LE, OP_GT, OP_GE };
	size_t i;

	if (p->tok.kind == T_OP)
		for (i = 0; i < sizeof(ops); i++)
			if (p->tok.op == ops[i])
				return op_text(&p->tok.op);
	if (is_name(p, "is"))
		return "is";
	if (is_name(p, "in"))
		return "in";
	if (is_name(p, "not"))
		return "not in";
	return NULL;
}

/*
 * A comparison: OPERAND [OP OPERAND], OP one of == != < <= > >= is, is not,
 * in, not in; never chained.
 */
static struct ps_expr *parse_compare(struct parser *p)
{
	struct ps_expr *e = parse_trailers(p), *x, *right;
	int line, col;
	const char *op;

	if (!e || p->failed)
		return e;
	if (!(op = compare_op(p)))
		return e;
	line = p->tok.line;
	col = p->tok.col;
	next(p);
	if (!strcmp(op, "is") && is_name(p, "not")) {
		op = "is not";
		next(p);
	} else if (!strcmp(op, "not in")) {
		if (!is_name(p, "in")) {
			FAIL_TOK(p, "expected 'in' after 'not' in a comparison");
			ps_expr_free(e);
			return NULL;
		}
		next(p);
	}
	if (!(x = new_expr(p, PS_X_COMPARE, e->line, e->col)) || !(x->text = strdup(op)) ||
	    !push_item(p, x, e)) {
		if (x && !x->text)
			fail_at(p, line, col, "out of memory");
		if (!x || !x->n_items)
			ps_expr_free(e);
		ps_expr_free(x);
		return NULL;
	}
	x->len = strlen(op);
	if (is_name(p, "not")) {
		FAIL_TOK(p, "'not' after '%s' needs brackets: %s (not ...)", op, op);
		ps_expr_free(x);
		return NULL;
	}
	right = parse_trailers(p);
	if (!right || !push_item(p, x, right)) {
		ps_expr_free(x);
		return NULL;
	}
	if (compare_op(p)) {
		FAIL_TOK(p, "chained comparisons are not part of the scenario language: "
			    "use brackets");
		ps_expr_free(x);
		return NULL;
	}
	return x;
}

/* An expression: 'not' EXPR, or a comparison. */
static struct ps_expr *parse_expr(struct parser *p)
{
	int n = p->nest, line = p->tok.line, col = p->tok.col;
	struct ps_expr *e, *x;

	if (is_name(p, "not")) {
		if (!nest(p))
			return NULL;
		next(p);
		e = parse_expr(p);
		p->nest = n;
		if (!e)
			return NULL;
		if (!(x = new_expr(p, PS_X_NOT, line, col))) {
			ps_expr_free(e);
			return NULL;
		}
		x->object = e;
		return x;
	}
	e = parse_compare(p);
	p->nest = n;
	return e;
}

static bool add_var(struct parser *p, const char *name)
{
	char **v;

	if (is_var(p, name))
		return true;
	v = realloc(p->vars, (p->n_vars + 1) * sizeof(*v));
	if (v) {
		p->vars = v;
		v[p->n_vars] = strdup(name);
	}
	if (!v || !v[p->n_vars]) {
		FAIL_TOK(p, "out of memory");
		return false;
	}
	p->n_vars++;
	return true;
}

static bool at_line_end(struct parser *p)
{
	if (p->tok.kind == T_NEWLINE || p->tok.kind == T_EOF)
		return true;
	if (p->tok.kind == T_OP && p->tok.op == ':')
		FAIL_TOK(p, "unexpected ':' (a header line must come before the first statement)");
	else if (p->tok.kind == T_OP) {
		char found[2] = { p->tok.op, '\0' };

		FAIL_TOK(p, "unexpected '%s' after the statement", op_text(found));
	} else
		FAIL_TOK(p, "unexpected %s after the statement: one statement per line",
			 tok_desc(&p->tok));
	return false;
}

/* A number of a release in a gate: 0-255, as PY() packs it. */
static bool gate_number(struct parser *p, unsigned *out)
{
	char *end;
	unsigned long v;

	if (p->tok.kind != T_INT || p->tok.text[0] == '-') {
		FAIL_TOK(p, "expected a release number, as in (3, 8)");
		return false;
	}
	v = strtoul(p->tok.text, &end, 10);
	if (*end || v > 255) {
		FAIL_TOK(p, "release number %s out of range (0 to 255)", p->tok.text);
		return false;
	}
	*out = (unsigned)v;
	next(p);
	return true;
}

/*
 * `if sys.version_info >= (X, Y): ` or `if sys.version_info < (X, Y): `
 * before a statement on the same line: the step runs only on the releases
 * it applies to (docs/SCENARIOS.md, Steps for some releases only).  The
 * current token is `if`; leaves it at the statement.
 */
static bool parse_gate(struct parser *p, struct ps_stmt *s)
{
	static const char usage[] =
		"a step's gate reads `if sys.version_info >= (X, Y): STATEMENT` "
		"or `if sys.version_info < (X, Y): STATEMENT`";
	unsigned major, minor;
	int line = p->tok.line;

	next(p);
	if (!is_name(p, "sys")) {
		FAIL_TOK(p, "%s", usage);
		return false;
	}
	next(p);
	if (!is_op(p, '.')) {
		FAIL_TOK(p, "%s", usage);
		return false;
	}
	next(p);
	if (!is_name(p, "version_info")) {
		FAIL_TOK(p, "%s", usage);
		return false;
	}
	next(p);
	if (!is_op(p, OP_GE) && !is_op(p, OP_LT)) {
		FAIL_TOK(p, "%s", usage);
		return false;
	}
	s->below = is_op(p, OP_LT);
	next(p);
	if (!expect_op(p, '(', "before the release, as in (3, 8)") || !gate_number(p, &major) ||
	    !expect_op(p, ',', "between the major and minor numbers") || !gate_number(p, &minor) ||
	    !expect_op(p, ')', "after the release, as in (3, 8)"))
		return false;
	if (major < 2 || (major == 2 && minor < 7)) {
		fail_at(p, line, 1, "no CPython before 2.7 is a profile or golden set: (%u, %u)",
			major, minor);
		return false;
	}
	s->gate = major << 8 | minor;
	if (!is_op(p, ':')) {
		FAIL_TOK(p, "expected ':' after the gate, then the statement on the same line");
		return false;
	}
	next(p);
	if (p->tok.kind == T_NEWLINE || p->tok.kind == T_EOF) {
		FAIL_TOK(p, "expected the gated statement on the same line as its gate");
		return false;
	}
	if (is_name(p, "if")) {
		FAIL_TOK(p, "a step has one gate");
		return false;
	}
	return true;
}

/* One statement, the current token being its first. */
static bool is_global(const struct ps_expr *e, const char *name);

static bool assignable(struct parser *p, const char *n)
{
	if (IN_TABLE(globals, n) || !strcmp(n, "child") || !strcmp(n, "task") ||
	    !strcmp(n, "None") || !strcmp(n, "True") || !strcmp(n, "False") || !strcmp(n, "not") ||
	    !strcmp(n, "is") || !strcmp(n, "if") || !strcmp(n, "sys")) {
		FAIL_TOK(p, "cannot assign to '%s'", n);
		return false;
	}
	return true;
}

/*
 * `a, b = Pipe(...)`: the one unpacking the language has, of the two
 * connections of a pipe.  Called at the first name when a ',' follows it;
 * leaves s an assignment, or s->kind PS_S_EXPR (0) and p where it was when
 * the line is something else (a tuple expression: `a, b` is an error
 * there, as a bare tuple is).  False on an error.
 */
static bool parse_unpack(struct parser *p, struct ps_stmt *s)
{
	size_t q = p->pos;
	const struct ps_expr *v;
	int line = p->tok.line, col = p->tok.col;

	while (q < p->len && (p->src[q] == ' ' || p->src[q] == '\t'))
		q++;
	q++; /* the ',' */
	while (q < p->len && (p->src[q] == ' ' || p->src[q] == '\t'))
		q++;
	if (q >= p->len || !(isalpha((unsigned char)p->src[q]) || p->src[q] == '_'))
		return true;
	while (q < p->len && (isalnum((unsigned char)p->src[q]) || p->src[q] == '_'))
		q++;
	while (q < p->len && (p->src[q] == ' ' || p->src[q] == '\t'))
		q++;
	if (q >= p->len || p->src[q] != '=' || (q + 1 < p->len && p->src[q + 1] == '='))
		return true;
	if (!assignable(p, p->tok.text))
		return false;
	s->target = p->tok.text;
	p->tok.text = NULL;
	next(p); /* the ',' */
	next(p);
	if (!assignable(p, p->tok.text))
		return false;
	if (!strcmp(p->tok.text, s->target)) {
		FAIL_TOK(p, "'%s' is assigned twice", s->target);
		return false;
	}
	s->target2 = p->tok.text;
	p->tok.text = NULL;
	next(p);
	next(p); /* the '=' */
	s->kind = PS_S_ASSIGN;
	if (!(s->value = parse_expr(p)) || !at_line_end(p))
		return false;
	v = s->value;
	if (v->kind != PS_X_CALL || !is_global(v->object, "Pipe")) {
		fail_at(p, line, col,
			"only a Pipe() is unpacked: a, b = Pipe() (or Pipe(duplex=False))");
		return false;
	}
	return add_var(p, s->target) && add_var(p, s->target2);
}

static struct ps_stmt *parse_stmt(struct parser *p)
{
	struct ps_stmt *s = calloc(1, sizeof(*s));
	struct ps_expr *lhs = NULL;
	size_t q;

	if (!s) {
		FAIL_TOK(p, "out of memory");
		return NULL;
	}
	s->line = p->tok.line;
	if (p->tok.col != 1) {
		FAIL_TOK(p, "unexpected indent");
		goto fail;
	}
	if (is_name(p, "if") && !parse_gate(p, s))
		goto fail;
	/* NAME '=' binds a variable. */
	if (p->tok.kind == T_NAME) {
		q = p->pos;
		while (q < p->len && (p->src[q] == ' ' || p->src[q] == '\t'))
			q++;
		if (q < p->len && p->src[q] == ':') {
			fail_at(p, p->tok.line, p->tok.col + (int)(q - p->tok.off),
				"unexpected ':' "
				"(a header line must come before the first statement)");
			goto fail;
		}
		if (q < p->len && p->src[q] == ',' && !parse_unpack(p, s))
			goto fail;
		if (s->kind == PS_S_ASSIGN)
			return s;
		if (q < p->len && p->src[q] == '=' && (q + 1 >= p->len || p->src[q + 1] != '=')) {
			if (!assignable(p, p->tok.text))
				goto fail;
			s->kind = PS_S_ASSIGN;
			s->target = p->tok.text;
			p->tok.text = NULL;
			next(p);
			next(p);
			s->value = parse_expr(p);
			if (!s->value || !at_line_end(p))
				goto fail;
			if (!add_var(p, s->target))
				goto fail;
			return s;
		}
	}
	lhs = parse_expr(p);
	if (!lhs)
		goto fail;
	if (is_op(p, '=')) {
		if (lhs->kind != PS_X_GETATTR) {
			fail_at(p, lhs->line, lhs->col,
				"cannot assign to %s: only NAME = ... "
				"and x.attr = ... are statements",
				lhs->kind == PS_X_CALL ? "a call" : "a literal");
			goto fail;
		}
		next(p);
		s->kind = PS_S_SETATTR;
		s->object = lhs->object;
		s->attr = lhs->text;
		lhs->object = NULL;
		lhs->text = NULL;
		ps_expr_free(lhs);
		lhs = NULL;
		s->value = parse_expr(p);
		if (!s->value || !at_line_end(p))
			goto fail;
		return s;
	}
	if (!at_line_end(p))
		goto fail;
	s->kind = PS_S_EXPR;
	s->value = lhs;
	return s;
fail:
	ps_expr_free(lhs);
	ps_stmt_free(s);
	return NULL;
}

static bool push_str(char ***v, size_t *n, const char *s, size_t len)
{
	char **nv = realloc(*v, (*n + 1) * sizeof(**v));

	if (!nv)
		return false;
	*v = nv;
	if (!(nv[*n] = strndup(s, len)))
		return false;
	(*n)++;
	return true;
}

/*
 * The header: comment lines, blank lines and "key: value" lines, up to the
 * first statement.  Leaves p at the start of the first statement's line.
 */
static bool parse_header(struct parser *p, struct ps_scenario *sc)
{
	bool seen_tags = false, seen_methods = false, in_lead = true;

	while (p->pos < p->len) {
		const char *ls = p->src + p->pos, *le, *s, *colon;
		size_t n;

		le = memchr(ls, '\n', p->len - p->pos);
		if (!le)
			le = p->src + p->len;
		s = ls;
		while (s < le && (*s == ' ' || *s == '\t' || *s == '\r'))
			s++;
		if (s == le) {
			in_lead = in_lead && !sc->summary; /* a blank line ends the block */
			advance(p, (size_t)(le - ls) + 1);
			continue;
		}
		if (*s == '#') {
			if (in_lead) {
				/* The leading comment block, joined into one line. */
				const char *c = s + 1, *e = le;
				size_t had = sc->summary ? strlen(sc->summary) : 0;
				char *sum;

				while (c < e && *c == ' ')
					c++;
				while (e > c && (e[-1] == ' ' || e[-1] == '\r'))
					e--;
				sum = realloc(sc->summary, had + (size_t)(e - c) + 2);
				if (!sum)
					return false;
				if (had && e > c)
					sum[had++] = ' ';
				memcpy(sum + had, c, (size_t)(e - c));
				sum[had + (size_t)(e - c)] = '\0';
				sc->summary = sum;
			}
			advance(p, (size_t)(le - ls) + 1);
			continue;
		}
		in_lead = false;
		n = 0;
		while (s + n < le && (is_ident(s[n])))
			n++;
		colon = s + n;
		if (s != ls || n == 0 || colon >= le || *colon != ':')
			return true; /* the first statement */
		if ((n == 4 && !strncmp(s, "tags", 4)) || (n == 7 && !strncmp(s, "methods", 7))) {
			bool methods = n == 7;
			bool *seen = methods ? &seen_methods : &seen_tags;
			const char *w = colon + 1, *we;

			if (*seen) {
				fail_at(p, p->line, 1, "'%.*s:' given twice", (int)n, s);
				return false;
			}
			*seen = true;
			if (methods)
				sc->methods = 0;
			for (;;) {
				while (w < le &&
				       (*w == ' ' || *w == '\t' || *w == ',' || *w == '\r'))
					w++;
				if (w >= le || *w == '#')
					break;
				we = w;
				while (we < le && *we != ' ' && *we != '\t' && *we != ',' &&
				       *we != '\r')
					we++;
				if (methods) {
					char name[16];
					unsigned m = 0;

					if ((size_t)(we - w) < sizeof(name)) {
						memcpy(name, w, (size_t)(we - w));
						name[we - w] = '\0';
						m = ps_method_parse(name);
					}
					if (!m) {
						fail_at(p, p->line, (int)(w - ls) + 1,
							"unknown start method '%.*s' (known: fork spawn forkserver)",
							(int)(we - w), w);
						return false;
					}
					sc->methods |= m;
				} else if (!push_str(&sc->tags, &sc->n_tags, w, (size_t)(we - w))) {
					fail_at(p, p->line, 1, "out of memory");
					return false;
				}
				w = we;
			}
			if (methods && !sc->methods) {
				fail_at(p, p->line, (int)(colon - ls) + 2,
					"'methods:' needs at least one of fork spawn forkserver");
				return false;
			}
		} else {
			fail_at(p, p->line, 1, "unknown header key '%.*s' (known: tags, methods)",
				(int)n, s);
			return false;
		}
		advance(p, (size_t)(le - ls) + 1);
	}
	return true;
}

/*
 * The first byte of s that does not start a well-formed UTF-8 character
 * (no overlong forms, no surrogates, nothing past U+10FFFF), NULL if none:
 * the protocol's JSON, like CPython reading source, takes UTF-8 only.
 */
static const char *invalid_utf8(const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s, *end = u + len;
	uint32_t v, min;
	size_t n, i;

	while (u < end) {
		if (*u < 0x80) {
			u++;
			continue;
		}
		if (*u >= 0xc2 && *u <= 0xdf)
			n = 2, v = *u & 0x1f, min = 0x80;
		else if (*u >= 0xe0 && *u <= 0xef)
			n = 3, v = *u & 0x0f, min = 0x800;
		else if (*u >= 0xf0 && *u <= 0xf4)
			n = 4, v = *u & 0x07, min = 0x10000;
		else
			return (const char *)u;
		if ((size_t)(end - u) < n)
			return (const char *)u;
		for (i = 1; i < n; i++) {
			if ((u[i] & 0xc0) != 0x80)
				return (const char *)u;
			v = v << 6 | (u[i] & 0x3f);
		}
		if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
			return (const char *)u;
		u += n;
	}
	return NULL;
}

static bool is_global(const struct ps_expr *e, const char *name)
{
	return e && e->kind == PS_X_GLOBAL && !strcmp(e->text, name);
}

/* SIGNAME's number, 0 when Linux has no such signal (glibc 2.32 names them). */
static int signal_number(const char *name)
{
	const char *abbrev;
	int sig;

	if (strncmp(name, "SIG", 3))
		return 0;
	for (sig = 1; sig < 65; sig++)
		if ((abbrev = sigabbrev_np(sig)) && !strcmp(abbrev, name + 3))
			return sig;
	return 0;
}

/* A check of one expression: the offending node with msg filled, or NULL. */
typedef const struct ps_expr *(*expr_check)(const struct ps_expr *e, char *msg, size_t size);

/* check applied to what e holds: its object, arguments and keyword values */
static const struct ps_expr *check_within(const struct ps_expr *e, expr_check check, char *msg,
					  size_t size)
{
	const struct ps_expr *bad;
	size_t i;

	if ((bad = check(e->object, msg, size)))
		return bad;
	for (i = 0; i < e->n_items; i++)
		if ((bad = check(e->items[i], msg, size)))
			return bad;
	for (i = 0; i < e->n_kw; i++)
		if ((bad = check(e->kw[i].value, msg, size)))
			return bad;
	return NULL;
}

/* How many positional arguments the executor verbs with arguments take, none
 * by keyword (vocab.def's NOARGS verbs are checked by ps_fault_check). */
static const struct {
	const char *name;
	size_t args;
	const char *usage;
} exec_verbs[] = {
	{ "cause", 1, "cause(x) takes one argument, an exception or a future" },
	{ "kill", 2, "kill(w, sig) takes a worker handle and a signal: kill(w, signal.SIGKILL)" },
	{ "settles", 1, "settles(ex) takes one argument, an executor" },
	{ "started", 1, "started(g) takes one argument, a gate" },
};

/*
 * signal.NAME must name a signal Linux has, `signal` is read only that way,
 * and the executor verbs get their argument counts: a slip is a parse error
 * at its column, not a driver error mid-run.
 */
static const struct ps_expr *check_exec(const struct ps_expr *e, char *msg, size_t size)
{
	size_t i;

	if (!e)
		return NULL;
	if (e->kind == PS_X_GETATTR && is_global(e->object, "signal")) {
		if (!signal_number(e->text)) {
			snprintf(msg, size, "unknown signal 'signal.%s'", e->text);
			return e;
		}
		return NULL;
	}
	if (is_global(e, "signal")) {
		snprintf(msg, size, "signal is only used as signal.NAME");
		return e;
	}
	if (e->kind == PS_X_CALL && e->object->kind == PS_X_GLOBAL) {
		for (i = 0; i < sizeof(exec_verbs) / sizeof(exec_verbs[0]); i++) {
			if (!strcmp(e->object->text, exec_verbs[i].name) &&
			    (e->n_items != exec_verbs[i].args || e->n_kw)) {
				snprintf(msg, size, "%s", exec_verbs[i].usage);
				return e;
			}
		}
	}
	return check_within(e, check_exec, msg, size);
}

/*
 * The forms of CPython's own test assertions (vocab.def, issue 16 block):
 * gc only as gc.collect(), connection only as connection.wait(...), type
 * only as type(x).__name__ (the class's repr differs between
 * implementations), isinstance(x, C) with C one of Process, int, str,
 * bytes, which are used nowhere else, and len(x).  parent: the expression
 * e is in (NULL at the top).
 */
static const struct ps_expr *check_forms(const struct ps_expr *e, const struct ps_expr *parent,
					 char *msg, size_t size);

/* check_forms() over a call's arguments, positional and keyword */
static const struct ps_expr *check_arg_forms(const struct ps_expr *e, char *msg, size_t size)
{
	const struct ps_expr *bad;
	size_t i;

	for (i = 0; i < e->n_items; i++)
		if ((bad = check_forms(e->items[i], e, msg, size)))
			return bad;
	for (i = 0; i < e->n_kw; i++)
		if ((bad = check_forms(e->kw[i].value, e, msg, size)))
			return bad;
	return NULL;
}

static const struct ps_expr *check_forms(const struct ps_expr *e, const struct ps_expr *parent,
					 char *msg, size_t size)
{
	static const char *const classes[] = { "Process", "int", "str", "bytes" };
	const struct ps_expr *bad;
	size_t i;

	if (!e)
		return NULL;
	if (is_global(e, "gc") &&
	    !(parent && parent->kind == PS_X_GETATTR && !strcmp(parent->text, "collect"))) {
		snprintf(msg, size, "gc is only used as gc.collect()");
		return e;
	}
	if (is_global(e, "connection") &&
	    !(parent && parent->kind == PS_X_GETATTR && !strcmp(parent->text, "wait"))) {
		snprintf(msg, size,
			 "connection is only used as connection.wait(objects, timeout=T)");
		return e;
	}
	if (is_global(e, "weakref") &&
	    !(parent && parent->kind == PS_X_GETATTR && !strcmp(parent->text, "ref"))) {
		snprintf(msg, size, "weakref is only used as weakref.ref(x)");
		return e;
	}
	if (is_global(e, "Pipe")) {
		snprintf(msg, size,
			 "Pipe() is only unpacked: a, b = Pipe() (or Pipe(duplex=False))");
		return e;
	}
	if (e->kind == PS_X_GETATTR && is_global(e->object, "weakref")) {
		if (strcmp(e->text, "ref")) {
			snprintf(msg, size, "weakref is only used as weakref.ref(x)");
			return e;
		}
		if (!parent || parent->kind != PS_X_CALL || parent->object != e ||
		    parent->n_items != 1 || parent->n_kw) {
			snprintf(msg, size, "weakref.ref(x) takes one argument");
			return parent && parent->kind == PS_X_CALL ? parent : e;
		}
		return NULL;
	}
	if (e->kind == PS_X_GETATTR &&
	    (is_global(e->object, "gc") || is_global(e->object, "connection"))) {
		bool gc = is_global(e->object, "gc");

		if (!parent || parent->kind != PS_X_CALL || parent->object != e) {
			snprintf(msg, size, "%s.%s is only called", e->object->text, e->text);
			return e;
		}
		if (gc && (parent->n_items || parent->n_kw)) {
			snprintf(msg, size, "gc.collect() takes no arguments here");
			return parent;
		}
		if (!gc && (parent->n_items != 1 || parent->n_kw > 1 ||
			    (parent->n_kw && strcmp(parent->kw[0].name, "timeout")))) {
			snprintf(msg, size,
				 "connection.wait(objects, timeout=T) takes a list of sentinels "
				 "and an optional timeout");
			return parent;
		}
		return NULL; /* the module itself is checked */
	}
	if (e->kind == PS_X_CALL && is_global(e->object, "type")) {
		if (e->n_items != 1 || e->n_kw) {
			snprintf(msg, size, "type(x) takes one argument");
			return e;
		}
		if (!parent || parent->kind != PS_X_GETATTR || strcmp(parent->text, "__name__")) {
			snprintf(msg, size,
				 "type(x) is only read as type(x).__name__ (a class's repr() "
				 "differs between implementations)");
			return e;
		}
	} else if (is_global(e, "type") &&
		   !(parent && parent->kind == PS_X_CALL && parent->object == e)) {
		snprintf(msg, size, "type is only used as type(x).__name__");
		return e;
	}
	if (e->kind == PS_X_CALL && is_global(e->object, "executable") &&
	    !(parent && parent->kind == PS_X_CALL && is_global(parent->object, "set_executable") &&
	      parent->n_items == 1 && parent->items[0] == e)) {
		snprintf(msg, size,
			 "executable() is only given to set_executable(): the path is each "
			 "implementation's own");
		return e;
	}
	if (e->kind == PS_X_CALL && is_global(e->object, "set_executable") &&
	    (e->n_items != 1 || e->n_kw)) {
		snprintf(msg, size, "set_executable(path) takes one argument");
		return e;
	}
	if (e->kind == PS_X_CALL && is_global(e->object, "len") && (e->n_items != 1 || e->n_kw)) {
		snprintf(msg, size, "len(x) takes one argument");
		return e;
	}
	if (e->kind == PS_X_CALL && is_global(e->object, "isinstance")) {
		if (e->n_items != 2 || e->n_kw ||
		    !(e->items[1]->kind == PS_X_VAR ||
		      (e->items[1]->kind == PS_X_GLOBAL && IN_TABLE(classes, e->items[1]->text)))) {
			snprintf(msg, size,
				 "isinstance(x, C) takes an object and one of Process, int, str, "
				 "bytes or a subclass() variable");
			return e;
		}
		if ((bad = check_forms(e->items[0], e, msg, size)))
			return bad;
		return check_forms(e->object, e, msg, size);
	}
	for (i = 1; i < ARRAY_SIZE(classes); i++) {
		if (is_global(e, classes[i])) {
			snprintf(msg, size, "%s is only used as isinstance(x, %s)", classes[i],
				 classes[i]);
			return e;
		}
	}
	if ((bad = check_forms(e->object, e, msg, size)))
		return bad;
	return check_arg_forms(e, msg, size);
}

/* ---- signals and received processes (docs/SCENARIOS.md, Signals) ---- */

/* A signal argument: signal.NAME (check_exec checks the name) or an int
 * literal from 1 to 64 */
static bool is_signal_arg(const struct ps_expr *e)
{
	long n;

	if (e->kind == PS_X_GETATTR && is_global(e->object, "signal"))
		return true;
	if (e->kind != PS_X_INT)
		return false;
	n = strtol(e->text, NULL, 10);
	return n >= 1 && n <= 64;
}

/* A decimal integer literal from 1 to 99999 (a count of lines) */
static bool is_positive_int(const struct ps_expr *e)
{
	long n;

	if (e->kind != PS_X_INT)
		return false;
	n = strtol(e->text, NULL, 10);
	return n >= 1 && n <= 99999;
}

static bool is_uncatchable(const struct ps_expr *e)
{
	int sig = e->kind == PS_X_GETATTR ? signal_number(e->text) : (int)strtol(e->text, NULL, 10);

	return sig == SIGKILL || sig == SIGSTOP;
}

/* The keyword argument `name` of call e, or NULL */
static const struct ps_expr *kwarg(const struct ps_expr *e, const char *name)
{
	size_t i;

	for (i = 0; i < e->n_kw; i++)
		if (!strcmp(e->kw[i].name, name))
			return e->kw[i].value;
	return NULL;
}

/* args=(...) given to child.ignores or child.handles: (sig,) and (sig, code) */
static const struct ps_expr *check_signal_target(const struct ps_expr *e, char *msg, size_t size)
{
	const struct ps_expr *target = kwarg(e,
					     is_global(e->object, "subclass") ? "run" : "target");
	const struct ps_expr *args = kwarg(e, "args");
	bool handles;
	size_t want;

	if (!target || target->kind != PS_X_BEHAVIOUR ||
	    (strcmp(target->text, "ignores") && strcmp(target->text, "handles")))
		return NULL;
	handles = !strcmp(target->text, "handles");
	want = handles ? 2 : 1;
	if (!args || args->kind != PS_X_TUPLE || args->n_items != want ||
	    !is_signal_arg(args->items[0])) {
		snprintf(msg, size, "child.%s takes %s: args=(signal.NAME%s)", target->text,
			 handles ? "a signal and an exit code" : "a signal",
			 handles ? ", CODE" : ",");
		return args ? args : target;
	}
	if (is_uncatchable(args->items[0])) {
		snprintf(msg, size, "child.%s: SIGKILL and SIGSTOP cannot be %s", target->text,
			 handles ? "caught" : "ignored");
		return args->items[0];
	}
	return NULL;
}

/*
 * send_signal(target, sig): target a variable, 'forkserver' or
 * current_process(), sig a signal; ready(p): one variable; and what
 * child.ignores and child.handles are given.
 */
static const struct ps_expr *check_signals(const struct ps_expr *e, char *msg, size_t size)
{
	const struct ps_expr *bad, *t;

	if (!e)
		return NULL;
	if (e->kind == PS_X_CALL && is_global(e->object, "send_signal")) {
		if (e->n_items != 2 || e->n_kw) {
			snprintf(msg, size,
				 "send_signal(target, sig) takes a process, 'forkserver' or "
				 "current_process(), and a signal: send_signal(p, signal.SIGTERM)");
			return e;
		}
		t = e->items[0];
		if (!(t->kind == PS_X_VAR ||
		      (t->kind == PS_X_STR && t->len == 10 && !memcmp(t->text, "forkserver", 10)) ||
		      (t->kind == PS_X_CALL && is_global(t->object, "current_process") &&
		       !t->n_items && !t->n_kw))) {
			snprintf(msg, size,
				 "send_signal(): the target is a process variable, 'forkserver' "
				 "or current_process()");
			return t;
		}
		if (!is_signal_arg(e->items[1])) {
			snprintf(msg, size, "send_signal(): the signal is signal.NAME or 1 to 64");
			return e->items[1];
		}
	}
	if (e->kind == PS_X_CALL && is_global(e->object, "ready")) {
		if (e->n_items < 1 || e->n_items > 2 || e->n_kw || e->items[0]->kind != PS_X_VAR) {
			snprintf(msg, size,
				 "ready(p) takes a process variable, and ready(p, n) a number "
				 "of lines");
			return e;
		}
		if (e->n_items == 2 && !is_positive_int(e->items[1])) {
			snprintf(msg, size, "ready(p, n): n is an integer from 1");
			return e->items[1];
		}
	}
	if (e->kind == PS_X_CALL && (bad = check_signal_target(e, msg, size)))
		return bad;
	return check_within(e, check_signals, msg, size);
}

/* A class name: an ASCII identifier, as a program's own class would have */
static bool is_class_name(const struct ps_expr *e)
{
	size_t i;

	if (e->kind != PS_X_STR || e->len == 0 || e->len > 64 ||
	    (e->text[0] >= '0' && e->text[0] <= '9'))
		return false;
	for (i = 0; i < e->len; i++) {
		char c = e->text[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_'))
			return false;
	}
	return true;
}

/*
 * subclass(NAME, run=child.X, args=(...)): NAME a class name, run a child
 * behaviour, args a tuple; subclass(NAME) alone keeps Process.run(), the
 * target.  docs/SCENARIOS.md, Subclasses.
 */
static const struct ps_expr *check_subclass(const struct ps_expr *e, char *msg, size_t size)
{
	size_t i;

	if (!e)
		return NULL;
	if (e->kind == PS_X_CALL && is_global(e->object, "subclass")) {
		if (e->n_items != 1 || !is_class_name(e->items[0])) {
			snprintf(msg, size,
				 "subclass(NAME, run=child.X, args=(...)) takes a class name, an "
				 "identifier in a string");
			return e->n_items ? e->items[0] : e;
		}
		for (i = 0; i < e->n_kw; i++) {
			const struct ps_kwarg *k = &e->kw[i];

			if (!strcmp(k->name, "run") && k->value->kind != PS_X_BEHAVIOUR) {
				snprintf(msg, size,
					 "subclass(): run= is a child behaviour, child.NAME");
				return k->value;
			}
			if (!strcmp(k->name, "args") && k->value->kind != PS_X_TUPLE) {
				snprintf(msg, size, "subclass(): args= is a tuple, (...)");
				return k->value;
			}
			if (strcmp(k->name, "run") && strcmp(k->name, "args")) {
				snprintf(msg, size, "subclass() takes the keywords run= and args=");
				return k->value;
			}
		}
		if (kwarg(e, "args") && !kwarg(e, "run")) {
			snprintf(msg, size, "subclass(): args= goes with run=");
			return kwarg(e, "args");
		}
	}
	if (e->kind == PS_X_CALL && is_global(e->object, "callable_object")) {
		const struct ps_expr *call = kwarg(e, "call");

		if (e->n_items != 1 || !is_class_name(e->items[0])) {
			snprintf(msg, size,
				 "callable_object(NAME, call=child.X) takes a class name, an "
				 "identifier in a string");
			return e->n_items ? e->items[0] : e;
		}
		if (e->n_kw != 1 || !call) {
			snprintf(msg, size, "callable_object() takes one keyword, call=child.X");
			return e->n_kw ? e->kw[0].value : e;
		}
		if (call->kind != PS_X_BEHAVIOUR) {
			snprintf(msg, size,
				 "callable_object(): call= is a child behaviour, child.NAME");
			return call;
		}
	}
	return check_within(e, check_subclass, msg, size);
}

/* Pipe(duplex=True): one argument at most, positional or duplex= */
static const struct ps_expr *check_pipe(const struct ps_expr *e, char *msg, size_t size)
{
	if (e->n_items + e->n_kw > 1 || (e->n_kw && strcmp(e->kw[0].name, "duplex"))) {
		snprintf(msg, size, "Pipe() takes one argument at most, duplex=");
		return e;
	}
	return check_arg_forms(e, msg, size);
}

/* The fault and executor verbs' arguments are checked here, so a bad site,
 * errno or signal is a parse error at its column rather than a driver error
 * mid-run. */
static bool check_verbs(struct parser *p, const struct ps_stmt *s)
{
	const struct ps_expr *bad;
	char msg[400];

	bad = ps_fault_check(s->value, msg, sizeof(msg));
	if (!bad)
		bad = ps_fault_check(s->object, msg, sizeof(msg));
	if (!bad)
		bad = check_exec(s->value, msg, sizeof(msg));
	if (!bad)
		bad = check_exec(s->object, msg, sizeof(msg));
	if (!bad && s->target2) /* a, b = Pipe(...): its arguments */
		bad = check_pipe(s->value, msg, sizeof(msg));
	else if (!bad)
		bad = check_forms(s->value, NULL, msg, sizeof(msg));
	if (!bad)
		bad = check_forms(s->object, NULL, msg, sizeof(msg));
	if (!bad)
		bad = check_signals(s->value, msg, sizeof(msg));
	if (!bad)
		bad = check_signals(s->object, msg, sizeof(msg));
	if (!bad)
		bad = check_subclass(s->value, msg, sizeof(msg));
	if (!bad)
		bad = check_subclass(s->object, msg, sizeof(msg));
	if (bad) {
		fail_at(p, bad->line, bad->col, "%s", msg);
		return false;
	}
	return true;
}

int ps_scenario_parse(const char *path, const char *src, size_t len, struct ps_scenario **out,
		      struct ps_diag *d)
{
	struct parser p = { 0 };
	struct ps_scenario *sc = calloc(1, sizeof(*sc));
	struct ps_stmt *s, **steps;
	const char *nul;
	int r = 0;
	size_t i;

	p.path = path;
	p.src = src;
	p.len = len;
	p.line = 1;
	p.col = 1;
	p.d = d;
	if (sc)
		sc->path = strdup(path);
	if (!sc || !sc->path) {
		r = ps_diag(d, -ENOMEM, "%s: out of memory", path);
		goto out;
	}
	sc->methods = PS_M_ALL;
	if ((nul = memchr(src, '\0', len))) {
		advance(&p, (size_t)(nul - src));
		fail_at(&p, p.line, p.col, "not a text file (it holds a NUL byte)");
		goto fail;
	}
	if ((nul = invalid_utf8(src, len))) {
		advance(&p, (size_t)(nul - src));
		fail_at(&p, p.line, p.col, "invalid UTF-8 (byte 0x%02x): scenarios are UTF-8 text",
			(unsigned char)*nul);
		goto fail;
	}
	if (!parse_header(&p, sc))
		goto fail;
	if (!sc->summary && !(sc->summary = strdup("")))
		goto fail;
	next(&p);
	while (!p.failed && p.tok.kind != T_EOF) {
		if (p.tok.kind == T_NEWLINE) {
			next(&p);
			continue;
		}
		s = parse_stmt(&p);
		if (!s)
			goto fail;
		if (!check_verbs(&p, s)) {
			ps_stmt_free(s);
			goto fail;
		}
		steps = !full(sc->n_steps) ?
				sc->steps :
				realloc(sc->steps, grown(sc->n_steps) * sizeof(*steps));
		if (!steps) {
			ps_stmt_free(s);
			fail_at(&p, p.line, p.col, "out of memory");
			goto fail;
		}
		sc->steps = steps;
		sc->steps[sc->n_steps++] = s;
		if (p.tok.kind == T_NEWLINE)
			next(&p);
	}
	if (p.failed)
		goto fail;
	if (sc->n_steps == 0) {
		fail_at(&p, p.line, p.col, "the scenario has no statements");
		goto fail;
	}
	*out = sc;
	sc = NULL;
	goto out;
fail:
	r = d && d->code ? d->code : PS_EPARSE;
	if (!p.failed)
		r = ps_diag(d, -ENOMEM, "%s: out of memory", path);
out:
	free(p.tok.text);
	for (i = 0; i < p.n_vars; i++)
		free(p.vars[i]);
	free(p.vars);
	ps_scenario_free(sc);
	return r;
}

/* The id of a scenario: its path below root without ".scn". */
static char *scenario_id(const char *path, const char *root)
{
	char *rp = realpath(path, NULL), *rr = root ? realpath(root, NULL) : NULL, *id;
	const char *s = path, *base;
	size_t n;

	if (rp && rr && !strncmp(rp, rr, strlen(rr)) && rp[strlen(rr)] == '/')
		s = rp + strlen(rr) + 1;
	else if ((base = strrchr(path, '/')))
		s = base + 1;
	n = strlen(s);
	if (n > 4 && !strcmp(s + n - 4, ".scn"))
		n -= 4;
	id = strndup(s, n);
	free(rp);
	free(rr);
	return id;
}

int ps_scenario_load(const char *path, const char *root, struct ps_scenario **out,
		     struct ps_diag *d)
{
	char *src = NULL;
	size_t len = 0, bom;
	int r;

	r = ps_file_read(path, &src, &len);
	if (r)
		return ps_diag(d, r, "%s: cannot read: %s", path, strerror(-r));
	/* a UTF-8 byte order mark, as editors on Windows write it: Python's
	 * tokenizer skips it, and so does this */
	bom = len >= 3 && !memcmp(src, "\xef\xbb\xbf", 3) ? 3 : 0;
	r = ps_scenario_parse(path, src + bom, len - bom, out, d);
	if (!r && !((*out)->id = scenario_id(path, root))) {
		ps_scenario_free(*out);
		*out = NULL;
		r = ps_diag(d, -ENOMEM, "%s: out of memory", path);
	}
	free(src);
	return r;
}

void ps_scenario_free(struct ps_scenario *sc)
{
	size_t i;

	if (!sc)
		return;
	for (i = 0; i < sc->n_steps; i++)
		ps_stmt_free(sc->steps[i]);
	free(sc->steps);
	for (i = 0; i < sc->n_tags; i++)
		free(sc->tags[i]);
	free(sc->tags);
	free(sc->path);
	free(sc->id);
	free(sc->summary);
	free(sc);
}

/*
 * Optional features, and what in a scenario uses each (harness/vocab.def,
 * FEATURE): an attribute, a global, a child or task behaviour, or a keyword
 * argument of a call.
 */
static const struct {
	const char *name;
	enum ps_vocab_use use;
	const char *what; /* an attribute, a global or a behaviour */
	const char *kw;   /* KEYWORD: the keyword argument of a call of `what` */
} features[] = {
#define FEATURE(name, since, use, what, kw) { name, use, what, kw },
#include "vocab.def"
};

/* The variables that hold a Pipe() connection at a step: their
 * attributes (close, ...) are a connection's, not a process's features. */
struct conn_vars {
	const char *names[16];
	size_t n;
};

static bool is_conn_var(const struct conn_vars *cv, const struct ps_expr *e)
{
	size_t i;

	for (i = 0; e && e->kind == PS_X_VAR && i < cv->n; i++)
		if (!strcmp(cv->names[i], e->text))
			return true;
	return false;
}

/* st binds its targets: a Pipe() unpacking adds both, any other assignment
 * takes its name out */
static void conn_vars_bind(struct conn_vars *cv, const struct ps_stmt *st)
{
	size_t i;

	if (st->kind != PS_S_ASSIGN)
		return;
	for (i = 0; i < cv->n; i++)
		if (!strcmp(cv->names[i], st->target) ||
		    (st->target2 && !strcmp(cv->names[i], st->target2)))
			cv->names[i--] = cv->names[--cv->n];
	if (st->target2 && cv->n + 2 <= ARRAY_SIZE(cv->names)) {
		cv->names[cv->n++] = st->target;
		cv->names[cv->n++] = st->target2;
	}
}

static bool uses(const struct ps_expr *e, size_t i, const struct conn_vars *cv)
{
	size_t k;

	switch (features[i].use) {
	case ATTR:
		return e->kind == PS_X_GETATTR && e->text && !strcmp(e->text, features[i].what) &&
		       !is_conn_var(cv, e->object);
	case GLOBAL:
		return is_global(e, features[i].what);
	case CHILD:
		return e->kind == PS_X_BEHAVIOUR && e->text && !strcmp(e->text, features[i].what);
	case TASK: /* what NULL: any task behaviour */
		return e->kind == PS_X_TASK && e->text &&
		       (!features[i].what || !strcmp(e->text, features[i].what));
	case OPERATOR:
		if (e->kind == PS_X_NOT)
			return !strcmp(features[i].what, "not");
		return e->kind == PS_X_COMPARE &&
		       !strncmp(e->text, features[i].what, strlen(features[i].what));
	case KEYWORD:
		if (e->kind != PS_X_CALL)
			return false;
		if (!is_global(e->object, features[i].what) &&
		    !(e->object->kind == PS_X_GETATTR && e->object->text &&
		      !strcmp(e->object->text, features[i].what)))
			return false;
		for (k = 0; k < e->n_kw; k++)
			if (!strcmp(e->kw[k].name, features[i].kw))
				return true;
		return false;
	}
	return false;
}

static void scan(const struct ps_expr *e, bool *used, const struct conn_vars *cv)
{
	size_t i;

	if (!e)
		return;
	for (i = 0; i < ARRAY_SIZE(features); i++)
		if (uses(e, i, cv))
			used[i] = true;
	scan(e->object, used, cv);
	for (i = 0; i < e->n_items; i++)
		scan(e->items[i], used, cv);
	for (i = 0; i < e->n_kw; i++)
		scan(e->kw[i].value, used, cv);
}

size_t ps_scenario_features(const struct ps_scenario *sc, const char *out[PS_MAX_FEATURES])
{
	return ps_scenario_features_on(sc, 0, out);
}

bool ps_scenario_gated(const struct ps_scenario *sc)
{
	size_t i;

	for (i = 0; i < sc->n_steps; i++)
		if (sc->steps[i]->gate)
			return true;
	return false;
}

size_t ps_scenario_features_on(const struct ps_scenario *sc, unsigned version,
			       const char *out[PS_MAX_FEATURES])
{
	bool used[ARRAY_SIZE(features)] = { false };
	struct conn_vars cv = { .n = 0 };
	size_t i, j, n = 0;

	for (i = 0; i < sc->n_steps; i++) {
		const struct ps_stmt *st = sc->steps[i];

		if (version && !ps_stmt_applies(st, version))
			continue;

		scan(st->value, used, &cv);
		scan(st->object, used, &cv);
		for (j = 0; j < ARRAY_SIZE(features); j++)
			if (st->kind == PS_S_SETATTR && features[j].use == ATTR &&
			    !strcmp(st->attr, features[j].what) && !is_conn_var(&cv, st->object))
				used[j] = true;
		conn_vars_bind(&cv, st);
	}
	for (i = 0; i < ARRAY_SIZE(features) && n < PS_MAX_FEATURES; i++) {
		bool dup = false;

		for (j = 0; j < n; j++)
			dup = dup || !strcmp(out[j], features[i].name);
		if (used[i] && !dup)
			out[n++] = features[i].name;
	}
	return n;
}

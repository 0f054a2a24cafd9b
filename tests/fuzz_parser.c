/*
 * libFuzzer target for the scenario parser (harness/scenario.c, ast.c).
 *
 * Every input either parses or fails with the diagnostic scenario.h
 * promises: "path:line:col: message", the offending line, a caret under
 * col.  A parse that succeeds must give statements that unparse, have a
 * JSON form, and whose canonical text (one statement per line) parses again
 * to the same statements and the same text: the canonical form is a fixed
 * point.  A broken invariant prints what broke and abort()s, so libFuzzer
 * saves the input.  ASan, UBSan and LeakSanitizer catch the rest.
 *
 * Built and run by tools/fuzz-parser (make fuzz-parser).  To replay one
 * input: build/fuzz/fuzz_parser FILE.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ast.h"
#include "buf.h"
#include "diag.h"
#include "scenario.h"

#define PATH "fuzz.scn"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void broken(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));

static void broken(const char *fmt, ...)
{
	va_list ap;

	fputs("\nfuzz_parser: INVARIANT BROKEN: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}

/* Columns count characters: every byte but a UTF-8 continuation byte, as advance() does. */
static size_t count_chars(const char *s, size_t n)
{
	size_t i, c = 0;

	for (i = 0; i < n; i++)
		if (((unsigned char)s[i] & 0xc0) != 0x80)
			c++;
	return c;
}

/* Read a decimal number >= 1 at *s, leaving *s after it; 0 if there is none. */
static long read_pos(const char **s)
{
	long v = 0;

	if (**s < '1' || **s > '9')
		return 0;
	while (**s >= '0' && **s <= '9' && v < 100000000)
		v = v * 10 + (*(*s)++ - '0');
	return v;
}

/*
 * Is q (n bytes, shown over a caret after `spaces` spaces) line l (len
 * bytes) with the caret under byte cb, or `past` columns after the end of l
 * (the error was at a '\r' not shown)?  Either the whole line, or a window
 * of it with "..." standing for what was cut at either end.
 */
static bool quotes(const char *q, size_t n, size_t spaces, const char *l, size_t len, size_t cb,
		   size_t past)
{
	size_t pre, suf, o, k;
	const char *w, *x;

	if (n == len && !memcmp(q, l, len) && spaces == count_chars(l, cb) + past)
		return true;
	/* A line may itself start or end with "...": try each reading. */
	for (k = 0; k < 4; k++) {
		pre = k & 1 ? 3 : 0;
		suf = k & 2 ? 3 : 0;
		if (n < pre + suf || memcmp(q, "...", pre) || memcmp(q + n - suf, "...", suf))
			continue;
		x = q + pre;
		for (o = 0; o + n - pre - suf <= len; o = (size_t)(w - l) + 1) {
			w = memmem(l + o, len - o, x, n - pre - suf);
			if (!w)
				break;
			if (((w > l) == (pre > 0)) &&
			    ((w + n - pre - suf < l + len) == (suf > 0)) && w <= l + cb &&
			    l + cb <= w + n - pre - suf &&
			    spaces == pre + count_chars(w, (size_t)(l + cb - w)) + past)
				return true;
		}
	}
	return false;
}

/*
 * A failed parse: PS_EPARSE, nothing stored in *out, and d->msg exactly
 * "PATH:line:col: message\n<source line `line`>\n<spaces>^", where line is
 * one of the file's lines (the empty one after a final newline counts) and
 * col at most one past its last character.  The line is quoted without a
 * trailing '\r', only up to a NUL, and whole or as a window around col with
 * "..." for the cut ends; the caret stands under col either way (or at col
 * past the end when the error is at a '\r' that is not shown).
 */
static void check_failure(const char *src, size_t len, int r, const struct ps_scenario *out,
			  const struct ps_scenario *sentinel, const struct ps_diag *d)
{
	const char *m = d->msg, *nl1, *nl2, *ls, *le, *nul, *caret;
	size_t off, cb, chars, spaces;
	long line, col, l;

	if (r != PS_EPARSE)
		broken("ps_scenario_parse returned %d (%s), not PS_EPARSE: %s", r, ps_strerror(r),
		       m);
	if (d->code != r)
		broken("diag code %d differs from the returned %d", d->code, r);
	if (out != sentinel)
		broken("*out was written on failure");
	if (strncmp(m, PATH ":", strlen(PATH ":")))
		broken("diagnostic does not start with \"" PATH ":\": %s", m);
	m += strlen(PATH ":");
	line = read_pos(&m);
	if (!line || *m++ != ':')
		broken("diagnostic has no line >= 1: %s", d->msg);
	col = read_pos(&m);
	if (!col || strncmp(m, ": ", 2))
		broken("diagnostic has no col >= 1: %s", d->msg);

	nl1 = strchr(d->msg, '\n');
	nl2 = nl1 ? strchr(nl1 + 1, '\n') : NULL;
	if (!nl2 || strchr(nl2 + 1, '\n'))
		broken("diagnostic is not three lines (message, source, caret); it is %zu bytes, "
		       "d->msg holds %zu: %s",
		       strlen(d->msg), sizeof(d->msg), d->msg);
	caret = nl2 + 1;
	spaces = strspn(caret, " ");
	if (strcmp(caret + spaces, "^"))
		broken("the last line is not spaces and a caret: %s", d->msg);

	for (off = 0, l = 1; l < line && off < len; off++)
		if (src[off] == '\n')
			l++;
	if (l < line)
		broken("line %ld is past the end of the file (%ld lines): %s", line, l, d->msg);
	ls = src + off;
	le = memchr(ls, '\n', len - off);
	if (!le)
		le = src + len;
	chars = count_chars(ls, (size_t)(le - ls));
	if ((size_t)col - 1 > chars)
		broken("col %ld is past the end of line %ld (%zu characters): %s", col, line, chars,
		       d->msg);
	for (cb = 0; count_chars(ls, cb) < (size_t)col - 1; cb++)
		;
	if (le > ls && le[-1] == '\r')
		le--;
	if ((nul = memchr(ls, '\0', (size_t)(le - ls))))
		le = nul; /* a C string quotes up to a NUL */
	if (ls + cb > le)
		cb = (size_t)(le - ls);
	if (!quotes(nl1 + 1, (size_t)(nl2 - nl1 - 1), spaces, ls, (size_t)(le - ls), cb,
		    (size_t)col - 1 - count_chars(ls, cb)))
		broken("diagnostic does not quote line %ld with the caret under col %ld: %s", line,
		       col, d->msg);
}

/*
 * The canonical text of sc, one statement per line; each statement's JSON
 * goes into json[i].  Checks that every statement unparses to one line and
 * has a JSON form.
 */
static char *canonical(const struct ps_scenario *sc, json_t **json, const char *which)
{
	struct ps_buf b = PS_BUF_INIT;
	size_t i;
	char *u;

	for (i = 0; i < sc->n_steps; i++) {
		u = ps_stmt_unparse(sc->steps[i]);
		if (!u)
			broken("%s: ps_stmt_unparse returned NULL for statement %zu (line %d)",
			       which, i + 1, sc->steps[i]->line);
		if (strchr(u, '\n'))
			broken("%s: statement %zu unparses to more than one line: %s", which, i + 1,
			       u);
		json[i] = ps_stmt_to_json(sc->steps[i]);
		if (!json[i])
			broken("%s: ps_stmt_to_json returned NULL for statement %zu (line %d): %s",
			       which, i + 1, sc->steps[i]->line, u);
		ps_buf_adds(&b, u);
		ps_buf_addc(&b, '\n');
		free(u);
	}
	u = ps_buf_detach(&b);
	if (!u)
		broken("out of memory");
	return u;
}

/* A successful parse: sane header fields, then the fixed point of the canonical form. */
static void check_success(const struct ps_scenario *sc)
{
	struct ps_diag d = PS_DIAG_INIT;
	struct ps_scenario *again = NULL;
	json_t **json = NULL, **json2 = NULL;
	char *text = NULL, *text2 = NULL, *a, *b;
	size_t i;
	int r;

	if (!sc)
		broken("parse succeeded and left *out NULL");
	if (!sc->path || strcmp(sc->path, PATH) || !sc->summary)
		broken("path or summary missing");
	if (!sc->methods || (sc->methods & ~(unsigned)PS_M_ALL))
		broken("methods 0x%x is not a non-empty set of start methods", sc->methods);
	if (!sc->n_steps)
		broken("parse succeeded with no statements");
	for (i = 0; i < sc->n_steps; i++)
		if (sc->steps[i]->line < 1 || (i && sc->steps[i]->line <= sc->steps[i - 1]->line))
			broken("statement %zu starts on line %d, after statement %zu on line %d",
			       i + 1, sc->steps[i]->line, i, i ? sc->steps[i - 1]->line : 0);

	json = calloc(sc->n_steps, sizeof(*json));
	json2 = calloc(sc->n_steps, sizeof(*json2));
	if (!json || !json2)
		broken("out of memory");
	text = canonical(sc, json, "original");
	r = ps_scenario_parse(PATH, text, strlen(text), &again, &d);
	if (r)
		broken("the canonical text does not parse again:\n%s---\n%s", text, d.msg);
	if (again->n_steps != sc->n_steps)
		broken("the canonical text parses to %zu statements, not %zu:\n%s", again->n_steps,
		       sc->n_steps, text);
	text2 = canonical(again, json2, "re-parsed");
	if (strcmp(text, text2))
		broken("the canonical form is not a fixed point:\nfirst:  %ssecond: %s", text,
		       text2);
	for (i = 0; i < sc->n_steps; i++) {
		if (json_equal(json[i], json2[i]))
			continue;
		a = json_dumps(json[i], JSON_ENCODE_ANY);
		b = json_dumps(json2[i], JSON_ENCODE_ANY);
		broken("statement %zu means something else once re-parsed from its canonical "
		       "text %s\noriginal:  %s\nre-parsed: %s",
		       i + 1, ps_stmt_unparse(sc->steps[i]), a ? a : "?", b ? b : "?");
	}

	for (i = 0; i < sc->n_steps; i++) {
		json_decref(json[i]);
		json_decref(json2[i]);
	}
	free(json);
	free(json2);
	free(text);
	free(text2);
	ps_scenario_free(again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct ps_scenario sentinel;
	struct ps_diag d = PS_DIAG_INIT;
	struct ps_scenario *sc = &sentinel;
	const char *src = (const char *)data;
	int r;

	r = ps_scenario_parse(PATH, src, size, &sc, &d);
	if (r) {
		check_failure(src, size, r, sc, &sentinel, &d);
		return 0;
	}
	check_success(sc);
	ps_scenario_free(sc);
	return 0;
}

#include "matrix.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "file.h"
#include "proc.h"
#include "report.h"
#include "run.h"

static const struct {
	const char *word, *meaning;
} verdicts[] = {
#define PS_V_ROW_(name, word, msg) { word, msg },
	PS_VERDICT_MAP(PS_V_ROW_)
#undef PS_V_ROW_
};

static int verdict_of(const char *word)
{
	int v;

	for (v = 0; v < PS_V_COUNT; v++)
		if (!strcmp(verdicts[v].word, word))
			return v;
	return -1;
}

/*
 * A JSON string from text that may not be valid UTF-8 (a transcript is what
 * a child wrote): jansson refuses those, so invalid bytes become '?'.
 */
static json_t *jstr(const char *s)
{
	json_t *j;
	char *copy;
	size_t i, n;

	if (!s)
		return json_null();
	j = json_string(s);
	if (j)
		return j;
	n = strlen(s);
	copy = malloc(n + 1);
	if (!copy)
		return NULL;
	for (i = 0; i < n;) {
		unsigned char c = (unsigned char)s[i];
		size_t len = c < 0x80           ? 1 :
			     (c & 0xe0) == 0xc0 ? 2 :
			     (c & 0xf0) == 0xe0 ? 3 :
			     (c & 0xf8) == 0xf0 ? 4 :
						  0;
		json_t *probe;
		char seq[5];

		if (len > 1 && i + len <= n) {
			memcpy(seq, s + i, len);
			seq[len] = '\0';
			probe = json_string(seq);
			if (probe) {
				json_decref(probe);
				memcpy(copy + i, seq, len);
				i += len;
				continue;
			}
		}
		copy[i++] = len == 1 && c != 0x7f ? (char)c : '?';
	}
	copy[n] = '\0';
	j = json_string(copy);
	free(copy);
	return j;
}

int ps_matrix_init(struct ps_matrix *m)
{
	m->impls = json_array();
	m->rows = json_array();
	m->index = json_object();
	m->signatures = NULL;
	if (!m->impls || !m->rows || !m->index) {
		ps_matrix_release(m);
		return -ENOMEM;
	}
	return 0;
}

int ps_matrix_column(struct ps_matrix *m, const char *id, const char *label,
		     const char *implementation, const char *golden, const char *expect)
{
	json_t *c = json_object();

	if (!c || json_object_set_new(c, "id", jstr(id)) ||
	    json_object_set_new(c, "label", jstr(label)) ||
	    json_object_set_new(c, "implementation", jstr(implementation)) ||
	    json_object_set_new(c, "golden", jstr(golden)) ||
	    json_object_set_new(c, "expectations", jstr(expect)) ||
	    json_array_append_new(m->impls, c))
		return -ENOMEM;
	return (int)json_array_size(m->impls) - 1;
}

void ps_matrix_column_error(struct ps_matrix *m, int col, const char *why, double seconds)
{
	json_t *c = json_array_get(m->impls, (size_t)col);

	json_object_set_new(c, "error", jstr(why));
	ps_matrix_column_seconds(m, col, seconds);
}

void ps_matrix_column_seconds(struct ps_matrix *m, int col, double seconds)
{
	json_object_set_new(json_array_get(m->impls, (size_t)col), "seconds",
			    json_real((double)(long long)(seconds * 100 + 0.5) / 100));
}

/* The row of (id, method), appended when new; NULL when out of memory. */
static json_t *row_of(struct ps_matrix *m, const char *id, const char *method)
{
	struct ps_buf key = PS_BUF_INIT;
	json_t *n, *row = NULL;

	ps_buf_addf(&key, "%s [%s]", id, method);
	if (ps_buf_oom(&key))
		return NULL;
	n = json_object_get(m->index, key.data);
	if (n) {
		row = json_array_get(m->rows, (size_t)json_integer_value(n));
	} else {
		row = json_pack("{s:s, s:s, s:[]}", "scenario", id, "method", method, "cells");
		if (row &&
		    (json_object_set_new(m->index, key.data,
					 json_integer((json_int_t)json_array_size(m->rows))) ||
		     json_array_append_new(m->rows, row)))
			row = NULL;
	}
	ps_buf_release(&key);
	return row;
}

/* Set cells[col] = cell, padding with nulls (cells no column has reported yet). */
static int set_cell(json_t *row, size_t col, json_t *cell)
{
	json_t *cells = json_object_get(row, "cells");

	if (!cell)
		return -ENOMEM;
	while (json_array_size(cells) <= col)
		if (json_array_append_new(cells, json_null()))
			return -ENOMEM;
	return json_array_set_new(cells, col, cell) ? -ENOMEM : 0;
}

int ps_matrix_add(struct ps_matrix *m, int col, const char *id, const char *method,
		  const struct ps_job_result *res)
{
	json_t *row = row_of(m, id, method), *cell;
	bool broken = ps_verdict_failed(res->verdict) && !res->diff;

	if (!row)
		return -ENOMEM;
	cell = json_object();
	if (!cell)
		return -ENOMEM;
	json_object_set_new(cell, "verdict", json_string(ps_verdict_word(res->verdict)));
	if (res->detail)
		json_object_set_new(cell, "detail", jstr(res->detail));
	if (res->where)
		json_object_set_new(cell, "where", jstr(res->where));
	if (res->diff)
		json_object_set_new(cell, "diff", jstr(res->diff));
	/* what it printed, where there is no diff to say how it went wrong */
	if (broken && res->text && *res->text)
		json_object_set_new(cell, "transcript", jstr(res->text));
	json_object_set_new(cell, "seconds",
			    json_real((double)(long long)(res->seconds * 1000 + 0.5) / 1000));
	return set_cell(row, (size_t)col, cell);
}

json_t *ps_matrix_column_export(const struct ps_matrix *m, int col)
{
	json_t *rows = json_array(), *row, *cell,
	       *part = json_pack("{s:O, s:o}", "column", json_array_get(m->impls, (size_t)col),
				 "rows", rows);
	size_t i;

	if (!part)
		return NULL;
	json_array_foreach(m->rows, i, row) {
		cell = json_array_get(json_object_get(row, "cells"), (size_t)col);
		if (!cell || json_is_null(cell))
			continue;
		if (json_array_append_new(rows, json_pack("{s:O, s:O, s:O}", "scenario",
							  json_object_get(row, "scenario"),
							  "method", json_object_get(row, "method"),
							  "cell", cell))) {
			json_decref(part);
			return NULL;
		}
	}
	return part;
}

int ps_matrix_column_import(struct ps_matrix *m, json_t *part)
{
	json_t *column = json_object_get(part, "column"), *rows = json_object_get(part, "rows");
	json_t *item, *row;
	const char *sc, *me;
	size_t i, col = json_array_size(m->impls);

	if (!json_is_object(column) || !json_is_array(rows))
		return -EINVAL;
	json_array_foreach(rows, i, item) {
		sc = json_string_value(json_object_get(item, "scenario"));
		me = json_string_value(json_object_get(item, "method"));
		if (!sc || !me || !json_is_object(json_object_get(item, "cell")))
			return -EINVAL;
	}
	if (json_array_append(m->impls, column))
		return -ENOMEM;
	json_array_foreach(rows, i, item) {
		row = row_of(m, json_string_value(json_object_get(item, "scenario")),
			     json_string_value(json_object_get(item, "method")));
		if (!row || set_cell(row, col, json_incref(json_object_get(item, "cell"))))
			return -ENOMEM;
	}
	return (int)col;
}

static void matrix_add(struct ps_report *rep, const struct ps_report_item *it)
{
	struct ps_matrix_sink *k = rep->sink;
	int r = ps_matrix_add(k->m, k->col, it->id, it->method, it->res);

	if (r && !k->err)
		k->err = r;
}

static void matrix_finish(struct ps_report *rep, const struct ps_report_totals *t)
{
	struct ps_matrix_sink *k = rep->sink;

	(void)t;
	ps_matrix_column_seconds(k->m, k->col, ps_now() - k->t0);
}

const struct ps_reporter ps_reporter_matrix = { "matrix", matrix_add, matrix_finish };

/* Copy at most max bytes of a line into b, on a UTF-8 boundary, with "…" when cut. */
static void add_clipped(struct ps_buf *b, const char *s, size_t len, size_t max)
{
	if (len <= max) {
		ps_buf_add(b, s, len);
		return;
	}
	while (max > 0 && ((unsigned char)s[max] & 0xc0) == 0x80)
		max--;
	ps_buf_add(b, s, max);
	ps_buf_adds(b, "\xe2\x80\xa6");
}

/* One side of a signature: the line clipped, or "(nothing)". */
static void clip(struct ps_buf *b, const char *s, size_t len, size_t max)
{
	if (s)
		add_clipped(b, s, len, max);
	else
		ps_buf_adds(b, "(nothing)");
}

/* "--- end: fds_leaked=0 children_left=1" -> "fds_leaked=0 children_left=1" */
static const char *end_line(const char *s, size_t *len)
{
	if (*len >= 9 && !strncmp(s, "--- end: ", 9)) {
		*len -= 9;
		return s + 9;
	}
	return s;
}

/* Whether the digit run s[0..len) occurs as a whole run of digits in t. */
static bool has_number(const char *t, size_t tlen, const char *s, size_t len)
{
	size_t i;

	for (i = 0; i + len <= tlen; i++)
		if (!memcmp(t + i, s, len) && (i == 0 || !isdigit((unsigned char)t[i - 1])) &&
		    (i + len == tlen || !isdigit((unsigned char)t[i + len])))
			return true;
	return false;
}

/*
 * Append a, each number in it that other also holds written as N: numbers
 * on both sides ("exitcode=3" -> "stopped[3]") are incidental to the
 * divergence and would split one root cause into a line per value, while
 * those on one side only ("0 -> 1") are the divergence itself.
 */
static void add_shared_as_n(struct ps_buf *b, const char *a, size_t alen, const char *other,
			    size_t olen)
{
	size_t i = 0, run;

	while (i < alen) {
		for (run = 0; i + run < alen && isdigit((unsigned char)a[i + run]); run++)
			;
		if (run && (i == 0 || !isdigit((unsigned char)a[i - 1])) &&
		    has_number(other, olen, a + i, run)) {
			ps_buf_addc(b, 'N');
			i += run;
		} else if (run) {
			ps_buf_add(b, a + i, run);
			i += run;
		} else {
			ps_buf_addc(b, a[i++]);
		}
	}
}

/* "step 3 (line 9): " or "step 3: " at the start of s: its length, or 0. */
static size_t step_prefix(const char *s)
{
	const char *p = s;

	if (strncmp(p, "step ", 5))
		return 0;
	for (p += 5; isdigit((unsigned char)*p); p++)
		;
	if (!strncmp(p, " (line ", 7)) {
		for (p += 7; isdigit((unsigned char)*p); p++)
			;
		if (*p++ != ')')
			return 0;
	}
	return !strncmp(p, ": ", 2) ? (size_t)(p + 2 - s) : 0;
}

char *ps_matrix_signature(const char *verdict, const char *diff, const char *detail,
			  const char *where)
{
	const char *line, *nl, *stmt = NULL, *minus = NULL, *plus = NULL;
	size_t stmt_len = 0, minus_len = 0, plus_len = 0, i;
	struct ps_buf b = PS_BUF_INIT, lhs = PS_BUF_INIT, rhs = PS_BUF_INIT;
	bool in_hunk = false, changed = false;

	for (line = diff; line && *line; line = nl ? nl + 1 : NULL) {
		nl = strchr(line, '\n');
		size_t len = nl ? (size_t)(nl - line) : strlen(line);

		if (!strncmp(line, "@@", 2)) {
			if (changed)
				break;
			in_hunk = true;
			continue;
		}
		if (!in_hunk || len == 0)
			continue;
		if (line[0] == ' ') {
			if (changed)
				break;
			if (len > 5 && !strncmp(line + 1, ">>> ", 4)) {
				stmt = line + 5;
				stmt_len = len - 5;
			}
		} else if (line[0] == '-' || line[0] == '+') {
			changed = true;
			if (line[0] == '-' && !minus) {
				minus = line + 1;
				minus_len = len - 1;
			} else if (line[0] == '+' && !plus) {
				plus = line + 1;
				plus_len = len - 1;
			}
		}
	}
	if (changed) {
		bool at_end = (minus && !strncmp(minus, "--- end", 7)) ||
			      (plus && !strncmp(plus, "--- end", 7));

		if (at_end) {
			ps_buf_adds(&b, "at the end");
			if (minus)
				minus = end_line(minus, &minus_len);
			if (plus)
				plus = end_line(plus, &plus_len);
		} else if (stmt) {
			add_clipped(&b, stmt, stmt_len, 80);
		} else if (where && strstr(where, "): ")) {
			/* the statement is further up than the hunk's context reaches */
			stmt = strstr(where, "): ") + 3;
			add_clipped(&b, stmt, strcspn(stmt, "\n"), 80);
		} else {
			ps_buf_adds(&b, "at the start");
		}
		ps_buf_adds(&b, ": ");
		clip(&lhs, minus, minus_len, 100);
		clip(&rhs, plus, plus_len, 100);
		if (ps_buf_oom(&lhs) || ps_buf_oom(&rhs)) {
			ps_buf_release(&lhs);
			ps_buf_release(&rhs);
			ps_buf_release(&b);
			return NULL;
		}
		add_shared_as_n(&b, lhs.data, lhs.len, rhs.data, rhs.len);
		ps_buf_adds(&b, " \xe2\x86\x92 "); /* → */
		add_shared_as_n(&b, rhs.data, rhs.len, lhs.data, lhs.len);
		ps_buf_release(&lhs);
		ps_buf_release(&rhs);
		return ps_buf_detach(&b);
	}
	/*
	 * No diff: the verdict and the first line of why, without the step it
	 * happened at (the same failure at different steps of different
	 * scenarios is one cause), long numbers (pids, times) as N.
	 */
	ps_buf_adds(&b, verdict);
	if (detail && *detail) {
		detail += step_prefix(detail);
		size_t len = strcspn(detail, "\n"), run;

		ps_buf_adds(&b, ": ");
		if (len > 120)
			for (len = 120; len > 0 && ((unsigned char)detail[len] & 0xc0) == 0x80;
			     len--)
				; /* never half a UTF-8 sequence */
		for (i = 0; i < len; i += run) {
			for (run = 0; i + run < len && isdigit((unsigned char)detail[i + run]);
			     run++)
				;
			if (run >= 4) {
				ps_buf_addc(&b, 'N');
			} else if (run) {
				ps_buf_add(&b, detail + i, run);
			} else {
				run = 1;
				ps_buf_addc(&b, detail[i]);
			}
		}
	}
	return ps_buf_detach(&b);
}

static int by_count(const void *a, const void *b)
{
	json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
	json_int_t cx = json_integer_value(json_object_get(x, "count"));
	json_int_t cy = json_integer_value(json_object_get(y, "count"));

	if (cx != cy)
		return cx > cy ? -1 : 1;
	return strcmp(json_string_value(json_object_get(x, "signature")),
		      json_string_value(json_object_get(y, "signature")));
}

int ps_matrix_finish(struct ps_matrix *m)
{
	size_t ncol = json_array_size(m->impls), nrow = json_array_size(m->rows), r, c, i, nsig;
	json_t *bysig = json_object(), *list = json_array(), **sorted = NULL;
	unsigned(*counts)[PS_V_COUNT] = calloc(ncol ? ncol : 1, sizeof(*counts));
	int ret = -ENOMEM;

	if (!bysig || !list || !counts)
		goto out;
	for (r = 0; r < nrow; r++) {
		json_t *row = json_array_get(m->rows, r);

		for (c = 0; c < ncol; c++) {
			json_t *cells = json_object_get(row, "cells"),
			       *cell = json_array_get(cells, c);
			json_t *col = json_array_get(m->impls, c), *g, *pair;
			const char *word, *err = json_string_value(json_object_get(col, "error"));
			char *sig;
			int v;

			if (!json_is_object(cell)) {
				cell = err ? json_pack("{s:s, s:o}", "verdict",
						       ps_verdict_word(PS_V_DRIVER), "detail",
						       jstr(err)) :
					     json_pack("{s:s, s:s}", "verdict",
						       ps_verdict_word(PS_V_NOTRUN), "detail",
						       "not run for this implementation");
				if (set_cell(row, c, cell))
					goto out;
			}
			word = json_string_value(json_object_get(cell, "verdict"));
			v = verdict_of(word);
			if (v >= 0)
				counts[c][v]++;
			if (v == PS_V_PASS || v == PS_V_NOTRUN || v == PS_V_UNSUPPORTED)
				continue;
			sig = ps_matrix_signature(
				word, json_string_value(json_object_get(cell, "diff")),
				json_string_value(json_object_get(cell, "detail")),
				json_string_value(json_object_get(cell, "where")));
			if (!sig)
				goto out;
			json_object_set_new(cell, "signature", jstr(sig));
			g = json_object_get(bysig, sig);
			if (!g) {
				g = json_pack("{s:o, s:i, s:{}, s:[], s:[]}", "signature",
					      jstr(sig), "count", 0, "verdicts", "implementations",
					      "cells");
				if (!g || json_object_set(bysig, sig, g) ||
				    json_array_append_new(list, g)) {
					free(sig);
					goto out;
				}
			}
			free(sig);
			json_object_set_new(
				g, "count",
				json_integer(json_integer_value(json_object_get(g, "count")) + 1));
			json_object_set_new(
				json_object_get(g, "verdicts"), word,
				json_integer(json_integer_value(json_object_get(
						     json_object_get(g, "verdicts"), word)) +
					     1));
			pair = json_pack("[i, i]", (json_int_t)r, (json_int_t)c);
			if (!pair || json_array_append_new(json_object_get(g, "cells"), pair))
				goto out;
			json_t *impls = json_object_get(g, "implementations");
			json_t *label = json_object_get(col, "id");
			bool seen = false;

			for (i = 0; i < json_array_size(impls); i++)
				seen = seen || json_equal(json_array_get(impls, i), label);
			if (!seen && json_array_append(impls, label))
				goto out;
		}
	}
	/* Per column: counts, and the score: matches over what applies to it. */
	for (c = 0; c < ncol; c++) {
		json_t *col = json_array_get(m->impls, c), *cj = json_object();
		unsigned applicable = 0, v;

		if (!cj)
			goto out;
		for (v = 0; v < PS_V_COUNT; v++) {
			json_object_set_new(cj, verdicts[v].word, json_integer(counts[c][v]));
			if (v != PS_V_NOTRUN && v != PS_V_UNSUPPORTED)
				applicable += counts[c][v];
		}
		json_object_set_new(col, "counts", cj);
		json_object_set_new(
			col, "score",
			json_pack(
				"{s:i, s:i, s:i, s:o}", "pass", counts[c][PS_V_PASS], "xfail",
				counts[c][PS_V_XFAIL], "applicable", applicable, "percent",
				applicable ?
					json_real((double)(long long)(1000.0 * counts[c][PS_V_PASS] /
									      applicable +
								      0.5) /
						  10) :
					json_null()));
	}
	/* Most frequent first, then by text, so that the order is stable. */
	nsig = json_array_size(list);
	sorted = calloc(nsig ? nsig : 1, sizeof(*sorted));
	m->signatures = json_array();
	if (!sorted || !m->signatures)
		goto out;
	for (i = 0; i < nsig; i++)
		sorted[i] = json_array_get(list, i);
	qsort(sorted, nsig, sizeof(*sorted), by_count);
	for (i = 0; i < nsig; i++)
		if (json_array_append(m->signatures, sorted[i]))
			goto out;
	ret = 0;
out:
	free(sorted);
	free(counts);
	json_decref(bysig);
	json_decref(list);
	return ret;
}

bool ps_matrix_failed(const struct ps_matrix *m)
{
	size_t r, c;

	for (r = 0; r < json_array_size(m->rows); r++) {
		json_t *cells = json_object_get(json_array_get(m->rows, r), "cells");

		for (c = 0; c < json_array_size(cells); c++) {
			int v = verdict_of(json_string_value(
				json_object_get(json_array_get(cells, c), "verdict")));

			if (v < 0 || ps_verdict_failed((enum ps_verdict)v))
				return true;
		}
	}
	return false;
}

/*
 * The page, harness/matrix.html: CSS and script inline, the data in a JSON
 * script element where the template says @MATRIX_DATA@.  Embedded at build
 * time as the array matrix_html (the Makefile's rule for matrix_html.h).
 */
#include "matrix_html.h"

#define DATA_MARK "@MATRIX_DATA@"

/* json text safe inside a <script> element: no '<' at all, so no "</script" and no "<!--" */
static void add_script_json(struct ps_buf *b, const char *s)
{
	const char *lt;

	while ((lt = strchr(s, '<'))) {
		ps_buf_add(b, s, (size_t)(lt - s));
		ps_buf_adds(b, "\\u003c");
		s = lt + 1;
	}
	ps_buf_adds(b, s);
}

int ps_matrix_write(const struct ps_matrix *m, const char *dir, struct ps_diag *d)
{
	struct ps_buf path = PS_BUF_INIT, page = PS_BUF_INIT;
	char stamp[64], host[256] = "localhost";
	json_t *root = NULL, *vs = json_array();
	time_t now = time(NULL);
	const unsigned char *mark;
	char *text = NULL;
	int r = -ENOMEM, v;

	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
	gethostname(host, sizeof(host) - 1);
	for (v = 0; vs && v < PS_V_COUNT; v++)
		json_array_append_new(vs, json_pack("{s:s, s:s, s:b}", "word", verdicts[v].word,
						    "meaning", verdicts[v].meaning, "failure",
						    ps_verdict_failed((enum ps_verdict)v)));
	/*
	 * format 1: implementations (columns: id, label, implementation,
	 * golden, expectations, counts, score, seconds, error), rows
	 * (scenario, method, cells[] in column order: verdict, detail, where,
	 * diff, transcript, signature, seconds), signatures (most frequent
	 * first: signature, count, verdicts, implementations, cells as [row,
	 * column]), verdicts (word, meaning, failure).
	 */
	root = json_pack("{s:i, s:s, s:s, s:s, s:b, s:O, s:O, s:O, s:o}", "format", 1, "generated",
			 stamp, "host", host, "rows_are", "one per scenario and start method",
			 "failed", ps_matrix_failed(m), "implementations", m->impls, "rows",
			 m->rows, "signatures", m->signatures ? m->signatures : json_array(),
			 "verdicts", vs);
	vs = NULL;
	if (!root)
		goto oom;
	text = json_dumps(root, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
	if (!text)
		goto oom;
	ps_buf_addf(&path, "%s/matrix.json", dir);
	if (ps_buf_oom(&path))
		goto oom;
	r = ps_file_write_atomic(path.data, text, strlen(text), false);
	if (r) {
		r = ps_diag(d, r, "cannot write %s: %s", path.data, strerror(-r));
		goto out;
	}
	free(text);
	text = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (!text)
		goto oom;
	mark = memmem(matrix_html, sizeof(matrix_html), DATA_MARK, strlen(DATA_MARK));
	if (!mark) {
		r = ps_diag(d, PS_EUSAGE, "the embedded matrix.html has no %s", DATA_MARK);
		goto out;
	}
	ps_buf_add(&page, (const char *)matrix_html, (size_t)(mark - matrix_html));
	add_script_json(&page, text);
	mark += strlen(DATA_MARK);
	ps_buf_add(&page, (const char *)mark, sizeof(matrix_html) - (size_t)(mark - matrix_html));
	ps_buf_release(&path);
	ps_buf_addf(&path, "%s/matrix.html", dir);
	if (ps_buf_oom(&page) || ps_buf_oom(&path))
		goto oom;
	r = ps_file_write_atomic(path.data, page.data, page.len, false);
	if (r)
		r = ps_diag(d, r, "cannot write %s: %s", path.data, strerror(-r));
	goto out;
oom:
	r = ps_diag(d, -ENOMEM, "out of memory");
out:
	json_decref(vs);
	json_decref(root);
	free(text);
	ps_buf_release(&path);
	ps_buf_release(&page);
	return r;
}

void ps_matrix_release(struct ps_matrix *m)
{
	json_decref(m->impls);
	json_decref(m->rows);
	json_decref(m->index);
	json_decref(m->signatures);
	m->impls = m->rows = m->index = m->signatures = NULL;
}

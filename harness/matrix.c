#include "matrix.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "file.h"
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
		size_t len = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 :
			     (c & 0xf8) == 0xf0 ? 4 : 0;
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

	if (!c || json_object_set_new(c, "id", jstr(id)) || json_object_set_new(c, "label", jstr(label)) ||
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
		if (row && (json_object_set_new(m->index, key.data, json_integer((json_int_t)json_array_size(m->rows))) ||
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
	json_object_set_new(cell, "seconds", json_real((double)(long long)(res->seconds * 1000 + 0.5) / 1000));
	return set_cell(row, (size_t)col, cell);
}

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
static void add_shared_as_n(struct ps_buf *b, const char *a, size_t alen, const char *other, size_t olen)
{
	size_t i = 0, run;

	while (i < alen) {
		for (run = 0; i + run < alen && isdigit((unsigned char)a[i + run]); run++)
			;
		if (run && (i == 0 || !isdigit((unsigned char)a[i - 1])) && has_number(other, olen, a + i, run)) {
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
		bool at_end = (minus && !strncmp(minus, "--- end", 7)) || (plus && !strncmp(plus, "--- end", 7));

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
		ps_buf_adds(&b, " \xe2\x86\x92 ");	/* → */
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
			for (len = 120; len > 0 && ((unsigned char)detail[len] & 0xc0) == 0x80; len--)
				;	/* never half a UTF-8 sequence */
		for (i = 0; i < len; i += run) {
			for (run = 0; i + run < len && isdigit((unsigned char)detail[i + run]); run++)
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
	unsigned (*counts)[PS_V_COUNT] = calloc(ncol ? ncol : 1, sizeof(*counts));
	int ret = -ENOMEM;

	if (!bysig || !list || !counts)
		goto out;
	for (r = 0; r < nrow; r++) {
		json_t *row = json_array_get(m->rows, r);

		for (c = 0; c < ncol; c++) {
			json_t *cells = json_object_get(row, "cells"), *cell = json_array_get(cells, c);
			json_t *col = json_array_get(m->impls, c), *g, *pair;
			const char *word, *err = json_string_value(json_object_get(col, "error"));
			char *sig;
			int v;

			if (!json_is_object(cell)) {
				cell = err ? json_pack("{s:s, s:o}", "verdict", ps_verdict_word(PS_V_DRIVER),
						       "detail", jstr(err)) :
				       json_pack("{s:s, s:s}", "verdict", ps_verdict_word(PS_V_NOTRUN),
						 "detail", "not run for this implementation");
				if (set_cell(row, c, cell))
					goto out;
			}
			word = json_string_value(json_object_get(cell, "verdict"));
			v = verdict_of(word);
			if (v >= 0)
				counts[c][v]++;
			if (v == PS_V_PASS || v == PS_V_NOTRUN || v == PS_V_UNSUPPORTED)
				continue;
			sig = ps_matrix_signature(word, json_string_value(json_object_get(cell, "diff")),
						  json_string_value(json_object_get(cell, "detail")),
						  json_string_value(json_object_get(cell, "where")));
			if (!sig)
				goto out;
			json_object_set_new(cell, "signature", jstr(sig));
			g = json_object_get(bysig, sig);
			if (!g) {
				g = json_pack("{s:o, s:i, s:{}, s:[], s:[]}", "signature", jstr(sig), "count", 0,
					      "verdicts", "implementations", "cells");
				if (!g || json_object_set(bysig, sig, g) || json_array_append_new(list, g)) {
					free(sig);
					goto out;
				}
			}
			free(sig);
			json_object_set_new(g, "count",
					    json_integer(json_integer_value(json_object_get(g, "count")) + 1));
			json_object_set_new(json_object_get(g, "verdicts"), word,
					    json_integer(json_integer_value(json_object_get(
						    json_object_get(g, "verdicts"), word)) + 1));
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
		json_object_set_new(col, "score", json_pack("{s:i, s:i, s:i, s:o}", "pass",
							    counts[c][PS_V_PASS], "xfail", counts[c][PS_V_XFAIL],
							    "applicable", applicable, "percent",
							    applicable ? json_real((double)(long long)(1000.0 *
								counts[c][PS_V_PASS] / applicable + 0.5) / 10) :
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
			int v = verdict_of(json_string_value(json_object_get(json_array_get(cells, c), "verdict")));

			if (v < 0 || ps_verdict_failed((enum ps_verdict)v))
				return true;
		}
	}
	return false;
}

/* The page: CSS and script inline, the data in a JSON script element between them. */
static const char html_head[] =
	"<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
	"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
	"<title>procspec conformance matrix</title>\n<style>\n"
	"body{font:14px/1.4 system-ui,sans-serif;margin:0;color:#222;background:#fff}\n"
	"header{padding:10px 16px;background:#f4f4f4;border-bottom:1px solid #ddd}\n"
	"h1{font-size:18px;margin:0 0 4px}h2{font-size:15px;margin:18px 0 6px}\n"
	"main{padding:0 16px 45vh}\n"
	"table{border-collapse:collapse}\n"
	"th,td{border:1px solid #ddd;padding:2px 6px;text-align:left}\n"
	"#scores td,#scores th{white-space:nowrap}\n"
	"#matrix thead th{position:sticky;top:0;background:#fafafa;z-index:1;vertical-align:bottom;"
	"font-weight:normal;white-space:nowrap}\n"
	"#matrix th.impl b{display:block}#matrix th.impl span{display:block;color:#666;font-size:12px}\n"
	"#matrix td{white-space:nowrap}\n"
	"#matrix tbody td:first-child{position:sticky;left:0;background:#fff}\n"
	"#matrix thead th:first-child{left:0;z-index:2}\n"
	"#matrix td.cell{cursor:pointer;text-align:center;font:12px ui-monospace,monospace}\n"
	"#matrix td.cell:hover{filter:brightness(.93)}\n"
	".v-pass{background:#e3f3e3;color:#1a5e1a}.v-xfail{background:#fff1c9;color:#6d5100}\n"
	".v-skip,.v-unsupported{background:#f1f1f1;color:#888}\n"
	".bad{background:#f9d6d6;color:#a00;font-weight:bold}\n"
	"td.sel{outline:2px solid #05c;outline-offset:-2px}\n"
	"#panel{position:fixed;z-index:10;left:0;right:0;bottom:0;max-height:42vh;overflow:auto;background:#fff;"
	"border-top:2px solid #05c;padding:8px 16px;box-shadow:0 -2px 8px rgba(0,0,0,.15)}\n"
	"#panel[hidden]{display:none}#panel h3{margin:4px 0;font-size:15px}\n"
	"#panel dl{display:grid;grid-template-columns:max-content auto;gap:2px 12px;margin:4px 0}\n"
	"#panel dt{color:#666}#panel dd{margin:0}\n"
	"pre{background:#f7f7f7;padding:6px;margin:4px 0;overflow:auto}\n"
	"pre .add{color:#0a6e0a}pre .del{color:#b00}pre .hunk{color:#05c}\n"
	"#signatures li{margin:3px 0}#signatures .count{font-weight:bold}\n"
	"#signatures code{background:#f4f4f4;padding:0 3px}\n"
	"#signatures a{font-size:12px;margin-right:8px;color:#05c;cursor:pointer;text-decoration:underline}\n"
	".muted{color:#777}\n"
	"</style>\n</head>\n<body>\n"
	"<header><h1>procspec conformance matrix</h1><div id=\"meta\"></div></header>\n<main>\n"
	"<h2>Scores</h2>\n<table id=\"scores\"><thead><tr><th>implementation</th><th>golden set</th>"
	"<th>driver says</th><th>score</th><th>verdicts</th><th>seconds</th></tr></thead><tbody></tbody></table>\n"
	"<p class=\"muted\">Score: cells that match golden over the cells that apply (all but skip and "
	"unsupported); expected divergences (xfail) are listed, not counted as matches.</p>\n"
	"<h2>Divergences by signature</h2>\n<ol id=\"signatures\"></ol>\n"
	"<h2>Scenarios</h2>\n<p><label><input type=\"checkbox\" id=\"only-diff\"> only rows where "
	"some implementation does not pass</label> <span class=\"muted\">Click a cell for its diff.</span></p>\n"
	"<table id=\"matrix\"><thead></thead><tbody></tbody></table>\n</main>\n"
	"<div id=\"panel\" hidden><button id=\"close\" style=\"float:right\">close</button>"
	"<div id=\"panel-body\"></div></div>\n"
	"<script id=\"data\" type=\"application/json\">";

static const char html_tail[] =
	"</script>\n<script>\n"
	"(function () {\n"
	"'use strict';\n"
	"var D = JSON.parse(document.getElementById('data').textContent);\n"
	"var V = {};\n"
	"D.verdicts.forEach(function (v) { V[v.word] = v; });\n"
	"function el(tag, cls, text) {\n"
	"  var e = document.createElement(tag);\n"
	"  if (cls) e.className = cls;\n"
	"  if (text !== undefined && text !== null) e.textContent = text;\n"
	"  return e;\n"
	"}\n"
	"function cls(word) {\n"
	"  return V[word] && V[word].failure ? 'bad' : 'v-' + word;\n"
	"}\n"
	"var meta = document.getElementById('meta');\n"
	"meta.textContent = D.rows.length + ' rows (one per scenario and start method) \\u00d7 ' +\n"
	"  D.implementations.length + ' implementations, generated ' + D.generated + ' on ' + D.host +\n"
	"  (D.failed ? ' \\u2014 some cells fail' : ' \\u2014 every cell passes or is expected');\n"
	"var sb = document.querySelector('#scores tbody');\n"
	"D.implementations.forEach(function (im) {\n"
	"  var tr = el('tr'), s = im.score, parts = [];\n"
	"  tr.appendChild(el('td', null, im.id + (im.label !== im.id ? ' (' + im.label + ')' : '')));\n"
	"  tr.appendChild(el('td', null, im.golden || 'none'));\n"
	"  tr.appendChild(el('td', null, im.error ? 'did not start: ' + im.error : im.implementation));\n"
	"  tr.appendChild(el('td', null, s.pass + '/' + s.applicable +\n"
	"    (s.percent === null ? '' : ' (' + s.percent + '%)')));\n"
	"  Object.keys(im.counts).forEach(function (w) { if (im.counts[w]) parts.push(im.counts[w] + ' ' + w); });\n"
	"  tr.appendChild(el('td', null, parts.join(', ')));\n"
	"  tr.appendChild(el('td', null, im.seconds === undefined ? '' : String(im.seconds)));\n"
	"  sb.appendChild(tr);\n"
	"});\n"
	"var head = document.querySelector('#matrix thead'), hr = el('tr');\n"
	"hr.appendChild(el('th', null, 'scenario'));\n"
	"hr.appendChild(el('th', null, 'method'));\n"
	"D.implementations.forEach(function (im) {\n"
	"  var th = el('th', 'impl');\n"
	"  th.appendChild(el('b', null, im.id));\n"
	"  th.appendChild(el('span', null, im.golden || 'no golden set'));\n"
	"  th.appendChild(el('span', null, im.score.percent === null ? '\\u2014' : im.score.percent + '%'));\n"
	"  th.title = im.error ? im.error : im.implementation;\n"
	"  hr.appendChild(th);\n"
	"});\n"
	"head.appendChild(hr);\n"
	"var body = document.querySelector('#matrix tbody'), cellAt = [];\n"
	"D.rows.forEach(function (row, r) {\n"
	"  var tr = el('tr');\n"
	"  tr.dataset.row = r;\n"
	"  tr.appendChild(el('td', null, row.scenario));\n"
	"  tr.appendChild(el('td', null, row.method));\n"
	"  cellAt.push([]);\n"
	"  var allgood = true;\n"
	"  row.cells.forEach(function (c, i) {\n"
	"    var td = el('td', 'cell ' + cls(c.verdict), c.verdict);\n"
	"    td.dataset.row = r;\n"
	"    td.dataset.col = i;\n"
	"    td.dataset.verdict = c.verdict;\n"
	"    td.tabIndex = 0;\n"
	"    td.title = D.implementations[i].id + ': ' + (c.signature || c.detail || V[c.verdict].meaning);\n"
	"    if (c.verdict !== 'pass' && c.verdict !== 'skip') allgood = false;\n"
	"    cellAt[r].push(td);\n"
	"    tr.appendChild(td);\n"
	"  });\n"
	"  tr.dataset.allgood = allgood ? '1' : '0';\n"
	"  body.appendChild(tr);\n"
	"});\n"
	"var panel = document.getElementById('panel'), pb = document.getElementById('panel-body'), sel = null;\n"
	"function diffPre(text) {\n"
	"  var pre = el('pre', 'diff');\n"
	"  text.split('\\n').forEach(function (l) {\n"
	"    var c = l.charAt(0) === '@' ? 'hunk' : (l.charAt(0) === '+' && l.slice(0, 3) !== '+++') ? 'add' :\n"
	"      (l.charAt(0) === '-' && l.slice(0, 3) !== '---') ? 'del' : null;\n"
	"    pre.appendChild(el('span', c, l + '\\n'));\n"
	"  });\n"
	"  return pre;\n"
	"}\n"
	"function show(r, i) {\n"
	"  var row = D.rows[r], c = row.cells[i], im = D.implementations[i], dl = el('dl');\n"
	"  function item(k, v) { if (v === undefined || v === null || v === '') return;\n"
	"    dl.appendChild(el('dt', null, k)); dl.appendChild(el('dd', null, v)); }\n"
	"  if (sel) sel.classList.remove('sel');\n"
	"  sel = cellAt[r][i];\n"
	"  sel.classList.add('sel');\n"
	"  pb.textContent = '';\n"
	"  pb.appendChild(el('h3', null, im.id + ' \\u2014 ' + row.scenario + ' [' + row.method + ']'));\n"
	"  item('verdict', c.verdict + ': ' + (V[c.verdict] ? V[c.verdict].meaning : ''));\n"
	"  item('golden set', im.golden);\n"
	"  item('implementation', im.implementation);\n"
	"  item(c.verdict === 'xfail' || c.verdict === 'XPASS' ? 'expectation' : 'detail', c.detail);\n"
	"  item('where', c.where);\n"
	"  item('signature', c.signature);\n"
	"  pb.appendChild(dl);\n"
	"  if (c.diff) pb.appendChild(diffPre(c.diff));\n"
	"  if (c.transcript) { pb.appendChild(el('div', 'muted', 'transcript:'));\n"
	"    pb.appendChild(el('pre', 'transcript', c.transcript)); }\n"
	"  if (!c.diff && !c.transcript && c.verdict !== 'pass')\n"
	"    pb.appendChild(el('p', 'muted', 'no transcript diff for this cell'));\n"
	"  panel.hidden = false;\n"
	"}\n"
	"body.addEventListener('click', function (e) {\n"
	"  var td = e.target.closest('td.cell');\n"
	"  if (td) show(+td.dataset.row, +td.dataset.col);\n"
	"});\n"
	"body.addEventListener('keydown', function (e) {\n"
	"  var td = e.target.closest('td.cell');\n"
	"  if (td && (e.key === 'Enter' || e.key === ' ')) { e.preventDefault(); show(+td.dataset.row, +td.dataset.col); }\n"
	"});\n"
	"document.getElementById('close').addEventListener('click', function () { panel.hidden = true; });\n"
	"document.addEventListener('keydown', function (e) { if (e.key === 'Escape') panel.hidden = true; });\n"
	"document.getElementById('only-diff').addEventListener('change', function (e) {\n"
	"  var only = e.target.checked;\n"
	"  Array.prototype.forEach.call(body.rows, function (tr) {\n"
	"    tr.hidden = only && tr.dataset.allgood === '1';\n"
	"  });\n"
	"});\n"
	"var sl = document.getElementById('signatures');\n"
	"if (!D.signatures.length) sl.appendChild(el('li', 'muted', 'none: every cell passes or is skipped'));\n"
	"D.signatures.forEach(function (s) {\n"
	"  var li = el('li'), kinds = [];\n"
	"  Object.keys(s.verdicts).forEach(function (w) { kinds.push(s.verdicts[w] + ' ' + w); });\n"
	"  li.appendChild(el('span', 'count', s.count + '\\u00d7 '));\n"
	"  li.appendChild(el('code', null, s.signature));\n"
	"  li.appendChild(el('span', 'muted', ' ' + kinds.join(', ') + ' in ' + s.implementations.join(', ')));\n"
	"  var where = el('div');\n"
	"  s.cells.forEach(function (rc, k) {\n"
	"    var a = el('a', null, D.implementations[rc[1]].id + ': ' + D.rows[rc[0]].scenario + ' [' +\n"
	"      D.rows[rc[0]].method + ']');\n"
	"    a.tabIndex = 0;\n"
	"    if (k >= 8) a.hidden = true;\n"
	"    a.addEventListener('click', function () { show(rc[0], rc[1]);\n"
	"      cellAt[rc[0]][rc[1]].scrollIntoView({block: 'center', inline: 'center'}); });\n"
	"    where.appendChild(a);\n"
	"  });\n"
	"  if (s.cells.length > 8) {\n"
	"    var more = el('a', null, '\\u2026 ' + (s.cells.length - 8) + ' more');\n"
	"    more.addEventListener('click', function () {\n"
	"      Array.prototype.forEach.call(where.querySelectorAll('a[hidden]'), function (a) { a.hidden = false; });\n"
	"      more.remove(); });\n"
	"    where.appendChild(more);\n"
	"  }\n"
	"  li.appendChild(where);\n"
	"  sl.appendChild(li);\n"
	"});\n"
	"document.body.dataset.ready = '1';\n"
	"})();\n"
	"</script>\n</body>\n</html>\n";

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
	char *text = NULL;
	int r = -ENOMEM, v;

	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
	gethostname(host, sizeof(host) - 1);
	for (v = 0; vs && v < PS_V_COUNT; v++)
		json_array_append_new(vs, json_pack("{s:s, s:s, s:b}", "word", verdicts[v].word, "meaning",
						    verdicts[v].meaning, "failure",
						    ps_verdict_failed((enum ps_verdict)v)));
	/*
	 * format 1: implementations (columns: id, label, implementation,
	 * golden, expectations, counts, score, seconds, error), rows
	 * (scenario, method, cells[] in column order: verdict, detail, where,
	 * diff, transcript, signature, seconds), signatures (most frequent
	 * first: signature, count, verdicts, implementations, cells as [row,
	 * column]), verdicts (word, meaning, failure).
	 */
	root = json_pack("{s:i, s:s, s:s, s:s, s:b, s:O, s:O, s:O, s:o}", "format", 1, "generated", stamp,
			 "host", host, "rows_are", "one per scenario and start method",
			 "failed", ps_matrix_failed(m), "implementations", m->impls, "rows", m->rows,
			 "signatures", m->signatures ? m->signatures : json_array(), "verdicts", vs);
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
	ps_buf_adds(&page, html_head);
	add_script_json(&page, text);
	ps_buf_adds(&page, html_tail);
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

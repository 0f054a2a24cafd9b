#include "merge.h"
#include "options.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "buf.h"
#include "commands.h"
#include "diag.h"
#include "file.h"
#include "matrix.h"
#include "scenario.h"
#include "util.h"

/* What the three merges share: where the merged report goes, and the parts. */
struct parts {
	const char *cmd;    /* "fuzz", "matrix", "sweep": for messages */
	const char *report; /* --report, or NULL for the command's default */
	char **paths;       /* the report file of each part */
	json_t **docs;
	size_t n;
};

/* clang-format off */
#define PARTS_INIT(cmd) { cmd, NULL, NULL, NULL, 0 }
/* clang-format on */

static void parts_release(struct parts *p)
{
	size_t i;

	for (i = 0; i < p->n; i++) {
		free(p->paths[i]);
		json_decref(p->docs[i]);
	}
	free(p->paths);
	free(p->docs);
	p->paths = NULL;
	p->docs = NULL;
	p->n = 0;
}

static bool is_dir(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static int same_campaign(const struct parts *p, const char *const *keys, size_t nkeys,
			 struct ps_diag *d)
{
	size_t i, k;

	for (i = 1; i < p->n; i++)
		for (k = 0; k < nkeys; k++) {
			json_t *a = json_object_get(p->docs[0], keys[k]);
			json_t *b = json_object_get(p->docs[i], keys[k]);
			char *sa, *sb;
			int r;

			if (a && b && json_equal(a, b))
				continue;
			sa = a ? json_dumps(a, JSON_ENCODE_ANY) : NULL;
			sb = b ? json_dumps(b, JSON_ENCODE_ANY) : NULL;
			r = ps_diag(d, PS_EUSAGE,
				    "%s has %s %s but %s has %s: not parts of one campaign",
				    p->paths[0], keys[k], sa ? sa : "(none)", p->paths[i],
				    sb ? sb : "(none)");
			free(sa);
			free(sb);
			return r;
		}
	return 0;
}

/*
 * argv: merge [--report DIR] DIR-OR-FILE...; each DIR stands for DIR/name.
 * Loads every part and checks that they agree on keys (same_campaign).  0;
 * 1 for --help (printed), with *code set to PS_EXIT_OK; 2 for an option error
 * (printed); or a negative code with d filled.
 */
static int parts_load(struct parts *p, int argc, char **argv, const char *name,
		      const char *const *keys, size_t nkeys, int *code, struct ps_diag *d)
{
	char cmd[32], usage[160], summary[400];
	const struct ps_command_help help = { cmd, usage, summary };
	const struct ps_option opts[] = {
		PS_OPT_REPORT(&p->report, "where the merged report goes (the command's default)"),
		PS_OPT_END(),
	};
	struct ps_strv args = PS_STRV_INIT;
	json_error_t je;
	size_t i;
	int r;

	snprintf(cmd, sizeof(cmd), "%s merge", p->cmd);
	snprintf(usage, sizeof(usage), "usage: procspec %s merge [--report DIR] DIR...", p->cmd);
	snprintf(summary, sizeof(summary),
		 "  Combines the %s of the parts of one campaign (each DIR a report\n"
		 "  directory, or the file itself) into DIR/%s under --report; parts of\n"
		 "  different campaigns, or that overlap, are refused (exit 2).",
		 name, name);
	r = ps_options_parse(&help, opts, argc, argv, &args, NULL, d);
	if (r == PS_OPT_HELP_SHOWN) {
		r = 1;
		*code = PS_EXIT_OK;
	} else if (r) {
		/* the parser's message names the command already */
		fprintf(stderr, "%s\n", d->msg);
		r = 2;
	}
	if (r)
		goto out;
	p->paths = calloc(args.n + 1, sizeof(*p->paths));
	p->docs = calloc(args.n + 1, sizeof(*p->docs));
	if (!p->paths || !p->docs) {
		r = ps_diag(d, -ENOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < args.n; i++) {
		const char *a = args.v[i];

		if (is_dir(a) ? asprintf(&p->paths[p->n], "%s/%s", a, name) < 0 :
				!(p->paths[p->n] = strdup(a))) {
			r = ps_diag(d, -ENOMEM, "out of memory");
			goto out;
		}
		p->docs[p->n] = json_load_file(p->paths[p->n], 0, &je);
		if (!p->docs[p->n]) {
			r = ps_diag(d, PS_EUSAGE, "%s:%d:%d: %s", p->paths[p->n], je.line,
				    je.column, je.text);
			p->n++;
			goto out;
		}
		p->n++;
		if (!json_is_object(p->docs[p->n - 1])) {
			r = ps_diag(d, PS_EUSAGE, "%s: not a %s report", p->paths[p->n - 1], name);
			goto out;
		}
	}
	if (!p->n)
		r = ps_diag(d, PS_EUSAGE,
			    "no parts to merge (usage: procspec %s merge [--report DIR] "
			    "DIR...)",
			    p->cmd);
	else
		r = same_campaign(p, keys, nkeys, d);
out:
	ps_strv_release(&args);
	return r;
}

/* Write root as JSON to dir/name atomically, with a final newline.  0 or a code in d. */
static int write_json(json_t *root, const char *dir, const char *name, size_t flags,
		      struct ps_diag *d)
{
	struct ps_buf path = PS_BUF_INIT, text = PS_BUF_INIT;
	char *s = json_dumps(root, flags);
	int r;

	ps_buf_addf(&path, "%s/%s", dir, name);
	if (s) {
		ps_buf_adds(&text, s);
		ps_buf_addc(&text, '\n');
	}
	if (!s || ps_buf_oom(&path) || ps_buf_oom(&text)) {
		r = ps_diag(d, -ENOMEM, "out of memory");
		goto out;
	}
	r = ps_file_write_atomic(path.data, text.data, text.len, false);
	if (r)
		ps_diag(d, r, "cannot write %s: %s", path.data, strerror(-r));
	else
		printf("wrote %s\n", path.data);
out:
	free(s);
	ps_buf_release(&path);
	ps_buf_release(&text);
	return r;
}

static json_int_t int_of(json_t *o, const char *key)
{
	return json_integer_value(json_object_get(o, key));
}

/* Add src[key] to dst[key], both integers. */
static void add_int(json_t *dst, json_t *src, const char *key)
{
	json_object_set_new(dst, key, json_integer(int_of(dst, key) + int_of(src, key)));
}

/* Byte i of the path s came from, s + ".scn" (len: strlen(s)), 0 past its end. */
static unsigned char path_at(const char *s, size_t len, size_t i)
{
	return i < len ? (unsigned char)s[i] : i - len < 4 ? (unsigned char)".scn"[i - len] : 0;
}

/*
 * The order of one run's rows: scenario files sorted by path (discover.c),
 * so "a-b" comes before "a" as "a-b.scn" does before "a.scn"; then fork,
 * spawn, forkserver.
 */
static int scenario_method_cmp(const char *sa, const char *ma, const char *sb, const char *mb)
{
	size_t la = strlen(sa), lb = strlen(sb), i;

	for (i = 0;; i++) {
		unsigned char x = path_at(sa, la, i), y = path_at(sb, lb, i);

		if (x != y)
			return x < y ? -1 : 1;
		if (!x)
			break;
	}
	return (int)ps_method_parse(ma ? ma : "") - (int)ps_method_parse(mb ? mb : "");
}

/* --- fuzz ------------------------------------------------------------------ */

/* The indices a report ran: start + stride * j for j < count. */
struct range {
	uint64_t start, stride, count;
};

static uint64_t gcd_u64(uint64_t a, uint64_t b)
{
	while (b) {
		uint64_t t = a % b;

		a = b;
		b = t;
	}
	return a;
}

static bool range_has(const struct range *r, uint64_t x)
{
	return r->count && x >= r->start && (x - r->start) % r->stride == 0 &&
	       (x - r->start) / r->stride < r->count;
}

static uint64_t range_last(const struct range *r)
{
	return r->start + r->stride * (r->count - 1);
}

/*
 * Whether two ranges share an index: none when their starts differ by what
 * no multiple of the strides' gcd bridges; otherwise the window both span
 * is walked on the sparser one.
 */
static bool ranges_meet(const struct range *a, const struct range *b)
{
	const struct range *w = a->stride >= b->stride ? a : b, *o = w == a ? b : a;
	uint64_t lo, hi, x, g;

	if (!a->count || !b->count)
		return false;
	g = gcd_u64(a->stride, b->stride);
	if ((a->start > b->start ? a->start - b->start : b->start - a->start) % g)
		return false;
	lo = a->start > b->start ? a->start : b->start;
	hi = range_last(a) < range_last(b) ? range_last(a) : range_last(b);
	if (lo > hi)
		return false;
	x = w->start;
	if (x < lo)
		x += (lo - x + w->stride - 1) / w->stride * w->stride;
	for (; x <= hi; x += w->stride)
		if (range_has(o, x))
			return true;
	return false;
}

/* The ranges of report doc appended to *v.  PS_EUSAGE when it has none or a bad one. */
static int ranges_of(json_t *doc, const char *path, struct range **v, size_t *n, struct ps_diag *d)
{
	json_t *a = json_object_get(doc, "ranges"), *x;
	size_t i;

	if (!json_is_array(a))
		return ps_diag(d, PS_EUSAGE,
			       "%s: no index ranges (a report from before 'fuzz --shard'): "
			       "cannot tell which scenarios it covers",
			       path);
	json_array_foreach(a, i, x) {
		json_int_t st = int_of(x, "start"), sd = int_of(x, "stride"),
			   ct = int_of(x, "count");
		struct range *nv;

		if (!json_is_integer(json_object_get(x, "start")) || st < 0 || sd < 1 || ct < 0)
			return ps_diag(d, PS_EUSAGE,
				       "%s: ranges[%zu]: expected start >= 0, stride >= 1, "
				       "count >= 0",
				       path, i);
		if (!ct)
			continue;
		nv = realloc(*v, (*n + 1) * sizeof(*nv));
		if (!nv)
			return ps_diag(d, -ENOMEM, "out of memory");
		*v = nv;
		nv[*n].start = (uint64_t)st;
		nv[*n].stride = (uint64_t)sd;
		nv[(*n)++].count = (uint64_t)ct;
	}
	return 0;
}

static int by_start(const void *a, const void *b)
{
	const struct range *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

/*
 * The merged ranges as JSON: one contiguous range when the disjoint parts
 * fill one (as N shards of one --runs do), else each part's, by start.
 */
static json_t *ranges_json(struct range *v, size_t n)
{
	uint64_t total = 0, lo = UINT64_MAX, hi = 0;
	json_t *a = json_array();
	size_t i;

	for (i = 0; i < n; i++) {
		total += v[i].count;
		if (v[i].start < lo)
			lo = v[i].start;
		if (range_last(&v[i]) > hi)
			hi = range_last(&v[i]);
	}
	if (n && hi - lo + 1 == total) {
		v[0].start = lo;
		v[0].stride = 1;
		v[0].count = total;
		n = 1;
	}
	qsort(v, n, sizeof(*v), by_start);
	for (i = 0; a && i < n; i++)
		json_array_append_new(a, json_pack("{s:I, s:I, s:I}", "start",
						   (json_int_t)v[i].start, "stride",
						   (json_int_t)(v[i].count > 1 ? v[i].stride : 1),
						   "count", (json_int_t)v[i].count));
	return a;
}

/* The index of a finding's "first": "SEED:INDEX". */
static uint64_t first_index(json_t *f)
{
	const char *s = json_string_value(json_object_get(f, "first")), *colon;

	colon = s ? strchr(s, ':') : NULL;
	return colon ? strtoull(colon + 1, NULL, 10) : UINT64_MAX;
}

static int by_first(const void *a, const void *b)
{
	uint64_t x = first_index(*(json_t *const *)a), y = first_index(*(json_t *const *)b);

	return x < y ? -1 : x > y;
}

/* A field that makes two fuzz reports parts of one campaign. */
static const char *const campaign_keys[] = {
	"seed", "impl", "against", "faults", "max_steps", "max_procs", "methods", "kind",
};

/* Fold the findings and known signatures of every part into root. */
static int fuzz_fold(const struct parts *p, json_t *root, unsigned *n_new, struct ps_diag *d)
{
	json_t *bysig = json_object(), *known = json_array(), *byglob = json_object(),
	       *out = json_array();
	json_t **sorted = NULL, *f, *v;
	const char *sig;
	size_t i, k, n = 0;
	int r = -ENOMEM;

	if (!bysig || !known || !byglob || !out)
		goto out;
	for (i = 0; i < p->n; i++) {
		json_array_foreach(json_object_get(p->docs[i], "findings"), k, f) {
			json_t *have;

			sig = json_string_value(json_object_get(f, "signature"));
			if (!sig) {
				r = ps_diag(d, PS_EUSAGE, "%s: findings[%zu] has no signature",
					    p->paths[i], k);
				goto out;
			}
			have = json_object_get(bysig, sig);
			if (!have) {
				if (json_object_set_new(bysig, sig, json_deep_copy(f)))
					goto out;
				continue;
			}
			v = json_integer(int_of(have, "count") + int_of(f, "count"));
			if (first_index(f) < first_index(have)) {
				/* the part that met it first holds the first scenario and its file */
				if (json_object_set_new(bysig, sig, json_deep_copy(f)))
					goto out;
				have = json_object_get(bysig, sig);
			}
			json_object_set_new(have, "count", v);
			if (json_is_true(json_object_get(f, "known")))
				json_object_set(have, "known", json_true());
		}
		json_array_foreach(json_object_get(p->docs[i], "known"), k, f) {
			const char *glob = json_string_value(json_object_get(f, "signature"));
			json_t *have = glob ? json_object_get(byglob, glob) : NULL;

			if (!glob)
				continue;
			if (have) {
				add_int(have, f, "count");
			} else {
				have = json_deep_copy(f);
				if (!have || json_object_set(byglob, glob, have) ||
				    json_array_append_new(known, have))
					goto out;
			}
		}
	}
	sorted = calloc(json_object_size(bysig) + 1, sizeof(*sorted));
	if (!sorted)
		goto out;
	json_object_foreach(bysig, sig, f)
		sorted[n++] = f;
	qsort(sorted, n, sizeof(*sorted), by_first);
	*n_new = 0;
	for (i = 0; i < n; i++) {
		if (!json_is_true(json_object_get(sorted[i], "known")))
			(*n_new)++;
		if (json_array_append(out, sorted[i]))
			goto out;
	}
	json_object_set(root, "findings", out);
	json_object_set(root, "known", known);
	r = 0;
out:
	free(sorted);
	json_decref(bysig);
	json_decref(byglob);
	json_decref(known);
	json_decref(out);
	return r;
}

int ps_merge_fuzz(int argc, char **argv)
{
	struct parts p = PARTS_INIT("fuzz");
	struct ps_diag d = PS_DIAG_INIT;
	struct range *rg = NULL;
	json_t *root = NULL, *from = NULL, *f;
	size_t n_rg = 0, i, k, first_of_part;
	unsigned n_new = 0;
	double secs = 0;
	bool interrupted = false;
	int r, code = PS_EXIT_ERROR;

	if ((r = parts_load(&p, argc, argv, "fuzz.json", campaign_keys, ARRAY_SIZE(campaign_keys),
			    &code, &d)))
		goto out;
	for (i = 0; i < p.n; i++) {
		first_of_part = n_rg;
		if ((r = ranges_of(p.docs[i], p.paths[i], &rg, &n_rg, &d)))
			goto out;
		for (k = 0; k < first_of_part; k++) {
			size_t j;

			for (j = first_of_part; j < n_rg; j++)
				if (ranges_meet(&rg[k], &rg[j])) {
					r = ps_diag(&d, PS_EUSAGE,
						    "%s and an earlier part (%s...) both ran "
						    "scenario indices from %" PRIu64
						    " (stride %" PRIu64 "): "
						    "overlapping parts",
						    p.paths[i], p.paths[0], rg[j].start,
						    rg[j].stride);
					goto out;
				}
		}
	}
	root = json_deep_copy(p.docs[0]);
	from = json_array();
	if (!root || !from) {
		r = ps_diag(&d, -ENOMEM, "out of memory");
		goto out;
	}
	json_object_set_new(root, "runs", json_integer(0));
	json_object_set_new(root, "hits", json_integer(0));
	json_object_set_new(root, "flaky", json_integer(0));
	json_object_set_new(root, "jobs", json_integer(0));
	for (i = 0; i < p.n; i++) {
		json_t *doc = p.docs[i], *shard = json_object_get(doc, "shard");

		add_int(root, doc, "runs");
		add_int(root, doc, "hits");
		add_int(root, doc, "flaky");
		add_int(root, doc, "jobs");
		secs += json_number_value(json_object_get(doc, "seconds"));
		interrupted = interrupted || json_is_true(json_object_get(doc, "interrupted"));
		if (json_is_null(json_object_get(root, "golden_set")) ||
		    !json_object_get(root, "golden_set"))
			json_object_set(root, "golden_set", json_object_get(doc, "golden_set"));
		json_array_append_new(
			from, json_pack("{s:s, s:O?}", "report", p.paths[i], "shard", shard));
	}
	/* seconds: the parts' own, added (machine time, not wall time) */
	json_object_set_new(root, "seconds", json_real(secs));
	json_object_set_new(root, "runs_per_second",
			    json_real(secs > 0 ? (double)int_of(root, "runs") / secs : 0.0));
	json_object_set_new(root, "interrupted", json_boolean(interrupted));
	json_object_set_new(root, "ranges", ranges_json(rg, n_rg));
	json_object_del(root, "shard");
	json_object_set(root, "merged_from", from);
	if ((r = fuzz_fold(&p, root, &n_new, &d)))
		goto out;
	printf("fuzz merge: %zu part(s), %" JSON_INTEGER_FORMAT " runs, seed %" JSON_INTEGER_FORMAT
	       ": %u new finding(s), %zu known, %" JSON_INTEGER_FORMAT " flaky\n",
	       p.n, int_of(root, "runs"), int_of(root, "seed"), n_new,
	       json_array_size(json_object_get(root, "findings")) - n_new, int_of(root, "flaky"));
	json_array_foreach(json_object_get(root, "findings"), i, f)
		printf("  %-5s %s  x%" JSON_INTEGER_FORMAT "  first %s\n",
		       json_is_true(json_object_get(f, "known")) ? "known" : "NEW",
		       json_string_value(json_object_get(f, "signature")), int_of(f, "count"),
		       json_string_value(json_object_get(f, "first")));
	r = write_json(root, p.report ? p.report : "reports/fuzz", "fuzz.json",
		       JSON_INDENT(1) | JSON_SORT_KEYS, &d);
	if (!r)
		code = n_new ? PS_EXIT_FAIL : PS_EXIT_OK;
out:
	if (r < 0)
		fprintf(stderr, "procspec fuzz merge: %s\n", d.msg);
	free(rg);
	json_decref(root);
	json_decref(from);
	parts_release(&p);
	return code;
}

/* --- matrix ---------------------------------------------------------------- */

/*
 * Records in `seen` that the part at `path` holds the row "scenario [method]":
 * a row that two parts hold means the shards overlapped, and a merge of them
 * would count it twice. `verb` says what the part did with it ("hold", "swept").
 */
static int claim_row(json_t *seen, const char *sc, const char *me, const char *path,
		     const char *verb, struct ps_diag *d)
{
	struct ps_buf key = PS_BUF_INIT;
	int r = 0;

	ps_buf_addf(&key, "%s [%s]", sc, me);
	if (ps_buf_oom(&key)) {
		r = ps_diag(d, -ENOMEM, "out of memory");
		goto out;
	}
	if (json_object_get(seen, key.data)) {
		r = ps_diag(d, PS_EUSAGE, "%s and %s both %s %s: overlapping parts",
			    json_string_value(json_object_get(seen, key.data)), path, verb,
			    key.data);
		goto out;
	}
	json_object_set_new(seen, key.data, json_string(path));
out:
	ps_buf_release(&key);
	return r;
}

static int by_row(const void *a, const void *b)
{
	json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;

	return scenario_method_cmp(json_string_value(json_object_get(x, "scenario")),
				   json_string_value(json_object_get(x, "method")),
				   json_string_value(json_object_get(y, "scenario")),
				   json_string_value(json_object_get(y, "method")));
}

/* Column c of part i matches the first part's: id, label, golden set, expectations. */
static int same_column(const struct parts *p, size_t i, size_t c, struct ps_diag *d)
{
	static const char *const keys[] = { "id", "label", "golden", "expectations",
					    "implementation" };
	json_t *a = json_array_get(json_object_get(p->docs[0], "implementations"), c);
	json_t *b = json_array_get(json_object_get(p->docs[i], "implementations"), c);
	size_t k;

	for (k = 0; k < ARRAY_SIZE(keys); k++) {
		json_t *x = json_object_get(a, keys[k]), *y = json_object_get(b, keys[k]);

		/* a column whose driver never started has no implementation to compare */
		if (k == 4 && (json_object_get(a, "error") || json_object_get(b, "error")))
			continue;
		if (!(x ? y && json_equal(x, y) : !y))
			return ps_diag(d, PS_EUSAGE,
				       "%s: column %zu (%s) is not %s's (%s differs): "
				       "not parts of one matrix",
				       p->paths[i], c + 1,
				       json_string_value(json_object_get(b, "id")), p->paths[0],
				       keys[k]);
	}
	return 0;
}

int ps_merge_matrix(int argc, char **argv)
{
	struct parts p = PARTS_INIT("matrix");
	struct ps_diag d = PS_DIAG_INIT;
	struct ps_matrix m = PS_MATRIX_INIT;
	json_t *seen = NULL, **rows = NULL, *impls, *row, *col;
	size_t ncol, nrows = 0, cap = 0, i, k, c;
	int r, code = PS_EXIT_ERROR;

	if ((r = parts_load(&p, argc, argv, "matrix.json", NULL, 0, &code, &d)))
		goto out;
	impls = json_object_get(p.docs[0], "implementations");
	ncol = json_array_size(impls);
	r = ps_matrix_init(&m);
	if (!r)
		seen = json_object();
	if (r || !seen) {
		r = ps_diag(&d, -ENOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < p.n; i++) {
		if (json_array_size(json_object_get(p.docs[i], "implementations")) != ncol) {
			r = ps_diag(&d, PS_EUSAGE,
				    "%s has %zu columns, %s %zu: not parts of one matrix",
				    p.paths[i],
				    json_array_size(json_object_get(p.docs[i], "implementations")),
				    p.paths[0], ncol);
			goto out;
		}
		for (c = 0; c < ncol; c++)
			if ((r = same_column(&p, i, c, &d)))
				goto out;
		cap += json_array_size(json_object_get(p.docs[i], "rows"));
	}
	rows = calloc(cap + 1, sizeof(*rows));
	if (!rows) {
		r = ps_diag(&d, -ENOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < p.n; i++) {
		json_array_foreach(json_object_get(p.docs[i], "rows"), k, row) {
			const char *sc = json_string_value(json_object_get(row, "scenario"));
			const char *me = json_string_value(json_object_get(row, "method"));
			json_t *cells = json_object_get(row, "cells"), *cell;
			size_t j;

			if (!sc || !me || json_array_size(cells) != ncol) {
				r = ps_diag(&d, PS_EUSAGE,
					    "%s: rows[%zu]: expected a scenario, a method and "
					    "%zu cells",
					    p.paths[i], k, ncol);
				goto out;
			}
			if ((r = claim_row(seen, sc, me, p.paths[i], "hold", &d)))
				goto out;
			rows[nrows] = json_deep_copy(row);
			if (!rows[nrows]) {
				r = ps_diag(&d, -ENOMEM, "out of memory");
				goto out;
			}
			/* computed again by ps_matrix_finish, over the merged rows */
			json_array_foreach(json_object_get(rows[nrows], "cells"), j, cell)
				json_object_del(cell, "signature");
			nrows++;
		}
	}
	qsort(rows, nrows, sizeof(*rows), by_row);
	for (i = 0; i < nrows; i++) {
		struct ps_buf key = PS_BUF_INIT;

		ps_buf_addf(&key, "%s [%s]",
			    json_string_value(json_object_get(rows[i], "scenario")),
			    json_string_value(json_object_get(rows[i], "method")));
		if (ps_buf_oom(&key) ||
		    json_object_set_new(m.index, key.data, json_integer((json_int_t)i)) ||
		    json_array_append(m.rows, rows[i])) {
			ps_buf_release(&key);
			r = ps_diag(&d, -ENOMEM, "out of memory");
			goto out;
		}
		ps_buf_release(&key);
	}
	json_array_foreach(impls, c, col) {
		json_t *nc = json_deep_copy(col);
		double secs = 0;

		if (!nc || json_array_append_new(m.impls, nc)) {
			r = ps_diag(&d, -ENOMEM, "out of memory");
			goto out;
		}
		json_object_del(nc, "counts");
		json_object_del(nc, "score");
		for (i = 0; i < p.n; i++) {
			json_t *pc = json_array_get(json_object_get(p.docs[i], "implementations"),
						    c);

			secs += json_number_value(json_object_get(pc, "seconds"));
			if (!json_object_get(nc, "error") && json_object_get(pc, "error"))
				json_object_set(nc, "error", json_object_get(pc, "error"));
			if (json_is_null(json_object_get(nc, "implementation")))
				json_object_set(nc, "implementation",
						json_object_get(pc, "implementation"));
		}
		ps_matrix_column_seconds(&m, (int)c, secs);
	}
	if (ps_matrix_finish(&m)) {
		r = ps_diag(&d, -ENOMEM, "out of memory");
		goto out;
	}
	printf("matrix merge: %zu part(s), %zu rows\n", p.n, nrows);
	json_array_foreach(m.impls, c, col) {
		json_t *s = json_object_get(col, "score");

		printf("%s vs %s: %" JSON_INTEGER_FORMAT "/%" JSON_INTEGER_FORMAT
		       " pass, %" JSON_INTEGER_FORMAT " xfail\n",
		       json_string_value(json_object_get(col, "id")),
		       json_is_string(json_object_get(col, "golden")) ?
			       json_string_value(json_object_get(col, "golden")) :
			       "no golden set",
		       int_of(s, "pass"), int_of(s, "applicable"), int_of(s, "xfail"));
	}
	r = ps_matrix_write(&m, p.report ? p.report : "reports", &d);
	if (!r) {
		printf("wrote %s/matrix.json and %s/matrix.html\n", p.report ? p.report : "reports",
		       p.report ? p.report : "reports");
		code = ps_matrix_failed(&m) ? PS_EXIT_FAIL : PS_EXIT_OK;
	}
out:
	if (r < 0)
		fprintf(stderr, "procspec matrix merge: %s\n", d.msg);
	for (i = 0; rows && i < nrows; i++)
		json_decref(rows[i]);
	free(rows);
	json_decref(seen);
	ps_matrix_release(&m);
	parts_release(&p);
	return code;
}

/* --- sweep ----------------------------------------------------------------- */

/* The columns of sweep's summary.txt: its kinds (cmd_sweep.c, KIND_MAP), in that order. */
static const char *const sweep_kinds[] = {
	"unreached", "absorbed", "raised", "silent", "leak", "orphan", "hang", "crash",
};

static int by_finding(const void *a, const void *b)
{
	json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
	int c = by_row(a, b);

	if (!c)
		c = strcmp(json_string_value(json_object_get(x, "site")),
			   json_string_value(json_object_get(y, "site")));
	if (!c)
		c = int_of(x, "n") < int_of(y, "n") ? -1 : int_of(x, "n") > int_of(y, "n");
	if (!c)
		c = strcmp(json_string_value(json_object_get(x, "mode")),
			   json_string_value(json_object_get(y, "mode")));
	return c;
}

/* Sort a JSON array in place with cmp over its elements. */
static int sort_array(json_t *a, int (*cmp)(const void *, const void *))
{
	size_t n = json_array_size(a), i;
	json_t **v = calloc(n + 1, sizeof(*v));

	if (!v)
		return -ENOMEM;
	for (i = 0; i < n; i++)
		v[i] = json_incref(json_array_get(a, i));
	qsort(v, n, sizeof(*v), cmp);
	json_array_clear(a);
	for (i = 0; i < n; i++)
		json_array_append_new(a, v[i]);
	free(v);
	return 0;
}

/* 0 when x has a string under every key, so that it can be sorted and keyed. */
/*
 * Entry i of the array `array` in the part at `path` must have a string under
 * each of keys: 0, or PS_EUSAGE with d saying what it should have held (`want`).
 */
static int check_strings(json_t *x, const char *const *keys, size_t n, const char *path,
			 const char *array, size_t i, const char *want, struct ps_diag *d)
{
	size_t k;

	for (k = 0; k < n; k++)
		if (!json_is_string(json_object_get(x, keys[k])))
			return ps_diag(d, PS_EUSAGE, "%s: %s[%zu]: expected %s", path, array, i,
				       want);
	return 0;
}

static int sweep_summary(json_t *root, const char *dir, struct ps_diag *d)
{
	struct ps_buf txt = PS_BUF_INIT, path = PS_BUF_INIT;
	const char *site;
	json_t *o;
	size_t k;
	int r;

	ps_buf_addf(&txt, "procspec sweep: %s (%s)\n%-26s",
		    json_string_value(json_object_get(root, "label")),
		    json_string_value(json_object_get(root, "implementation")), "site");
	for (k = 0; k < ARRAY_SIZE(sweep_kinds); k++)
		ps_buf_addf(&txt, " %9s", sweep_kinds[k]);
	ps_buf_addf(&txt, " %9s\n", "expected");
	json_object_foreach(json_object_get(root, "sites"), site, o) {
		if (!int_of(o, "runs"))
			continue;
		ps_buf_addf(&txt, "%-26s", site);
		for (k = 0; k < ARRAY_SIZE(sweep_kinds); k++)
			ps_buf_addf(&txt, " %9" JSON_INTEGER_FORMAT, int_of(o, sweep_kinds[k]));
		ps_buf_addf(&txt, " %9" JSON_INTEGER_FORMAT "\n", int_of(o, "expected"));
	}
	ps_buf_addf(&path, "%s/summary.txt", dir);
	if (ps_buf_oom(&txt) || ps_buf_oom(&path)) {
		r = ps_diag(d, -ENOMEM, "out of memory");
		goto out;
	}
	fputs(txt.data, stdout);
	r = ps_file_write_atomic(path.data, txt.data, txt.len, false);
	if (r)
		ps_diag(d, r, "cannot write %s: %s", path.data, strerror(-r));
out:
	ps_buf_release(&txt);
	ps_buf_release(&path);
	return r;
}

int ps_merge_sweep(int argc, char **argv)
{
	static const char *const keys[] = { "implementation", "label" };
	static const char *const row_keys[] = { "scenario", "method" };
	static const char *const finding_keys[] = { "scenario", "method", "site", "mode" };
	struct parts p = PARTS_INIT("sweep");
	struct ps_diag d = PS_DIAG_INIT;
	json_t *root = NULL, *seen = NULL, *runs = NULL, *findings = NULL, *sites = NULL, *x, *o;
	struct ps_buf dir = PS_BUF_INIT;
	const char *site, *field;
	size_t i, k;
	unsigned long broken = 0;
	int r, code = PS_EXIT_ERROR;

	if ((r = parts_load(&p, argc, argv, "sweep.json", keys, ARRAY_SIZE(keys), &code, &d)))
		goto out;
	root = json_deep_copy(p.docs[0]);
	seen = json_object();
	runs = json_array();
	findings = json_array();
	sites = json_object();
	if (!root || !seen || !runs || !findings || !sites) {
		r = ps_diag(&d, -ENOMEM, "out of memory");
		goto out;
	}
	json_object_set_new(root, "runs", json_integer(0));
	for (i = 0; i < p.n; i++) {
		json_t *doc = p.docs[i];

		if (!json_is_array(json_object_get(doc, "scenarios"))) {
			r = ps_diag(&d, PS_EUSAGE,
				    "%s: no list of scenario runs (a report from before "
				    "'sweep merge'): cannot tell which scenarios it covers",
				    p.paths[i]);
			goto out;
		}
		json_array_foreach(json_object_get(doc, "scenarios"), k, x) {
			if ((r = check_strings(x, row_keys, ARRAY_SIZE(row_keys), p.paths[i],
					       "scenarios", k, "a scenario and a method", &d)))
				goto out;
			if ((r = claim_row(seen, json_string_value(json_object_get(x, "scenario")),
					   json_string_value(json_object_get(x, "method")),
					   p.paths[i], "swept", &d)))
				goto out;
			json_array_append(runs, x);
		}
		json_array_foreach(json_object_get(doc, "findings"), k, x) {
			if ((r = check_strings(x, finding_keys, ARRAY_SIZE(finding_keys),
					       p.paths[i], "findings", k,
					       "scenario, method, site and mode", &d)))
				goto out;
			if (json_is_null(json_object_get(x, "expected")) ||
			    !json_object_get(x, "expected"))
				broken++;
			json_array_append(findings, x);
		}
		json_object_foreach(json_object_get(doc, "sites"), site, o) {
			json_t *have = json_object_get(sites, site), *v;

			if (!have) {
				json_object_set_new(sites, site, json_deep_copy(o));
				continue;
			}
			json_object_foreach(o, field, v)
				if (json_is_integer(v))
					add_int(have, o, field);
		}
		add_int(root, doc, "runs");
	}
	if (sort_array(runs, by_row) || sort_array(findings, by_finding)) {
		r = ps_diag(&d, -ENOMEM, "out of memory");
		goto out;
	}
	json_object_set(root, "scenarios", runs);
	json_object_set(root, "findings", findings);
	json_object_set(root, "sites", sites);
	if (p.report)
		ps_buf_adds(&dir, p.report);
	else
		ps_buf_addf(&dir, "reports/sweep/%s",
			    json_string_value(json_object_get(root, "label")));
	if (ps_buf_oom(&dir)) {
		r = ps_diag(&d, -ENOMEM, "out of memory");
		goto out;
	}
	printf("sweep merge: %zu part(s), %zu scenario run(s), %" JSON_INTEGER_FORMAT
	       " faulted run(s), "
	       "%lu unexpected finding(s)\n",
	       p.n, json_array_size(runs), int_of(root, "runs"), broken);
	r = sweep_summary(root, dir.data, &d);
	if (!r)
		r = write_json(root, dir.data, "sweep.json", JSON_INDENT(2) | JSON_SORT_KEYS, &d);
	if (!r)
		code = broken ? PS_EXIT_FAIL : PS_EXIT_OK;
out:
	if (r < 0)
		fprintf(stderr, "procspec sweep merge: %s\n", d.msg);
	ps_buf_release(&dir);
	json_decref(root);
	json_decref(seen);
	json_decref(runs);
	json_decref(findings);
	json_decref(sites);
	parts_release(&p);
	return code;
}

/*
 * procspec sweep: fail every wrapped call of every scenario in turn, as
 * SQLite's anomaly tests do, and check after each run what must hold
 * whatever failed.
 *
 * For each scenario and method, a first run counts how often each fault
 * site is called (the driver's ended.faults).  Then, for every site called
 * and every N from 1 to that count, the scenario runs again with
 * fault(SITE, count=1, after=N-1) in front (the Nth call fails once), and
 * again with count=None (the Nth call and every later one fail).  Each run
 * is classified:
 *
 *   unreached  the fault never fired (the run took another path)
 *   absorbed   it fired and the transcript is the fault-free one: recovered
 *   raised     it fired and a step raised that did not before: surfaced
 *   silent     it fired and the outcome changed with no exception
 *   leak       more fds left open than the fault-free run left
 *   orphan     more children left behind than the fault-free run left
 *   hang       a step or the end missed its time limit
 *   crash      the driver or the scenario process died, or broke protocol
 *
 * The last five break an invariant.  A break the implementation is known
 * to make on purpose is listed in its expectations file with the set
 * field "sweep/KIND/SITE" (globs), and reported as expected.
 *
 * --thread step|background sweeps the calls of one kind of work only: the
 * counts are those the driver gives per thread (ended.faults, the third
 * and fourth numbers), the faults are armed with thread="step" or
 * thread="background", and an expectation names the break
 * "sweep/KIND/SITE@step" or "sweep/KIND/SITE@background", or, for a break
 * whatever the thread, "sweep/KIND/SITE".
 */
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "buf.h"
#include "commands.h"
#include "expect.h"
#include "fault.h"
#include "file.h"
#include "merge.h"
#include "outdir.h"
#include "pool.h"
#include "proc.h"
#include "suite.h"

static const struct ps_command_help help = {
	"sweep",
	"usage: procspec sweep [PATH...] --impl IMPL [options]\n"
	"       procspec sweep merge [--report DIR] DIR...   (the parts' reports into one)\n"
	"  Fails each fault site's Nth call in every scenario, once and from then on,\n"
	"  and checks that nothing hangs, crashes, leaks or fails silently.",
	NULL,
};

/* clang-format off */
#define KIND_MAP(X)                                  \
	X(K_UNREACHED, "unreached", false)           \
	X(K_ABSORBED,  "absorbed",  false)           \
	X(K_RAISED,    "raised",    false)           \
	X(K_SILENT,    "silent",    true)            \
	X(K_LEAK,      "leak",      true)            \
	X(K_ORPHAN,    "orphan",    true)            \
	X(K_HANG,      "hang",      true)            \
	X(K_CRASH,     "crash",     true)

enum kind {
#define K_ENUM_(k, word, broken) k,
	KIND_MAP(K_ENUM_)
#undef K_ENUM_
	K_COUNT
};
/* clang-format on */

static const char *const kind_words[] = {
#define K_WORD_(k, word, broken) word,
	KIND_MAP(K_WORD_)
#undef K_WORD_
};

static const bool kind_broken[] = {
#define K_BROKEN_(k, word, broken) broken,
	KIND_MAP(K_BROKEN_)
#undef K_BROKEN_
};

/* A scenario under a method, and its fault-free run. */
struct base {
	size_t scenario;
	unsigned method;
	bool ok;            /* the fault-free run finished */
	char *text;         /* its transcript, without the end line */
	json_t *raised;     /* per step: what it raised, "" for nothing */
	long fds, children; /* what it left behind */
	json_t *calls;      /* {"site": calls} */
	char *why;          /* when !ok */
};

/* One faulted run. */
struct trial {
	size_t base;
	const char *site;
	long n;
	bool persistent;
};

struct ctx {
	struct ps_suite *s;
	struct base *bases;
	size_t n_bases;
	struct trial *trials;
	size_t n_trials;
	const char **sites;
	size_t n_sites;
	long max_n;
	int scope; /* thread=: 0 any, 1 step, 2 background (ps_fault_scope) */
	bool phase2;
	struct ps_expect expect;
	/* the summary */
	unsigned long per_site[64][K_COUNT], expected[64];
	unsigned long total[K_COUNT], expected_total, runs;
	json_t *findings;
	const char *repro_dir;
	bool tty;
	size_t done;
};

static int site_index(const struct ctx *c, const char *site)
{
	size_t i;

	for (i = 0; i < c->n_sites; i++)
		if (!strcmp(c->sites[i], site))
			return (int)i;
	return -1;
}

/* The scenario with `fault(...)` in front, as text the parser takes back. */
static char *variant_text(const struct ps_scenario *sc, const struct trial *t, int scope)
{
	const struct ps_fault_site *site = ps_fault_site_find(t->site);
	struct ps_buf b = PS_BUF_INIT;
	size_t i;
	char *st;

	ps_buf_addf(&b, "# %s, with the %ld%s call of %s%s%s failing%s\n", sc->id, t->n,
		    t->n == 1 ? "st" :
		    t->n == 2 ? "nd" :
		    t->n == 3 ? "rd" :
				"th",
		    t->site, scope ? " in the thread scope " : "",
		    scope ? ps_fault_scope_name(scope) : "",
		    t->persistent ? ", and every later one" : "");
	ps_buf_addf(&b, "methods: %s\n\n", "fork spawn forkserver");
	ps_buf_addf(&b, "fault(\"%s\", errno=errno.%s, count=%s, after=%ld", t->site,
		    ps_fault_errno_name(site->errnos[0]), t->persistent ? "None" : "1", t->n - 1);
	if (scope)
		ps_buf_addf(&b, ", thread='%s'", ps_fault_scope_name(scope));
	ps_buf_addf(&b, ")\n");
	for (i = 0; i < sc->n_steps; i++) {
		if (!(st = ps_stmt_unparse(sc->steps[i]))) {
			ps_buf_release(&b);
			return NULL;
		}
		ps_buf_addf(&b, "%s\n", st);
		free(st);
	}
	return ps_buf_detach(&b);
}

/* Transcript text without its "--- end" line, and per step what it raised
 * ("" for nothing), as a JSON array. */
static void split_outcome(const struct ps_outcome *o, size_t skip, char **text, json_t **raised)
{
	const char *end;
	size_t i;

	*text = NULL;
	if (o->text) {
		const char *t = o->text;

		/* skip the first `skip` statements (the fault line) */
		for (i = 0; i < skip && t; i++) {
			t = strstr(t, "\n>>> ");
			t = t ? t + 1 : NULL;
		}
		if (t) {
			end = strstr(t, "--- end");
			*text = strndup(t, end ? (size_t)(end - t) : strlen(t));
		}
	}
	*raised = json_array();
	for (i = skip; i < o->t.n_entries; i++)
		json_array_append_new(*raised, json_string(o->t.entries[i].kind == PS_R_RAISED &&
									   o->t.entries[i].value ?
								   o->t.entries[i].value :
								   ""));
}

static bool broke_off(enum ps_verdict v)
{
	return v == PS_V_CRASH || v == PS_V_PROTO || v == PS_V_DRIVER || v == PS_V_TIMEOUT;
}

/* Phase 1, in a worker: the fault-free run with call counts. */
static int base_job(struct ctx *c, struct ps_runner *rn, const struct base *b,
		    struct ps_job_result *res, struct ps_diag *d)
{
	const struct ps_scenario *sc = c->s->scenarios[b->scenario];
	struct ps_outcome o;
	char *text;
	json_t *x, *raised;
	int r;

	if ((r = ps_run_scenario(rn, sc, b->method, &o, d)))
		return r;
	res->verdict = o.verdict;
	res->detail = o.detail;
	o.detail = NULL;
	split_outcome(&o, 0, &text, &raised);
	x = json_pack("{s:s?, s:o?, s:I, s:I, s:O?}", "text", text, "raised", raised, "fds",
		      (json_int_t)o.t.fds_leaked, "children", (json_int_t)o.t.children_left,
		      "calls", o.faults);
	res->extra = x ? json_dumps(x, JSON_COMPACT) : NULL;
	json_decref(x);
	free(text);
	ps_outcome_release(&o);
	return 0;
}

/* Phase 2, in a worker: one faulted run, classified. */
static int trial_job(struct ctx *c, struct ps_runner *rn, const struct trial *t,
		     struct ps_job_result *res, struct ps_diag *d)
{
	const struct base *b = &c->bases[t->base];
	struct ps_scenario *v = NULL;
	struct ps_outcome o;
	struct ps_diag pd = PS_DIAG_INIT;
	char *src = variant_text(c->s->scenarios[b->scenario], t, c->scope), *text = NULL;
	json_t *raised = NULL;
	enum kind k;
	long fired = 0;
	size_t i;
	int r;
	json_t *x;

	if (!src)
		return ps_diag(d, -ENOMEM, "out of memory");
	if (ps_scenario_parse(c->s->scenarios[b->scenario]->id, src, strlen(src), &v, &pd)) {
		/* the canonical text always parses back; this is a harness bug */
		r = ps_diag(d, PS_EPARSE, "sweep: the faulted scenario does not parse: %s", pd.msg);
		free(src);
		return r;
	}
	free(v->id);
	v->id = strdup(c->s->scenarios[b->scenario]->id);
	if ((r = ps_run_scenario(rn, v, b->method, &o, d))) {
		ps_scenario_free(v);
		free(src);
		return r;
	}
	x = o.faults ? json_object_get(o.faults, t->site) : NULL;
	fired = x ? (long)json_integer_value(json_array_get(x, 1)) : 0;
	split_outcome(&o, 1, &text, &raised);
	if (o.verdict == PS_V_TIMEOUT) {
		k = K_HANG;
	} else if (broke_off(o.verdict)) {
		k = K_CRASH;
	} else if (o.t.children_left > b->children) {
		k = K_ORPHAN;
	} else if (o.t.fds_leaked > b->fds) {
		k = K_LEAK;
	} else if (fired == 0) {
		k = K_UNREACHED;
	} else if (text && b->text && !strcmp(text, b->text)) {
		k = K_ABSORBED;
	} else {
		/* surfaced: a step raised where the fault-free run did not, or
		 * raised something else */
		k = K_SILENT;
		for (i = 0; i < json_array_size(raised); i++) {
			const char *now = json_string_value(json_array_get(raised, i));
			const char *before = json_string_value(json_array_get(b->raised, i));

			if (now && *now && (!before || strcmp(now, before)))
				k = K_RAISED;
		}
	}
	res->verdict = o.verdict;
	res->detail = o.detail;
	o.detail = NULL;
	x = json_pack("{s:i, s:I, s:I, s:I}", "kind", (int)k, "fired", (json_int_t)fired, "fds",
		      (json_int_t)o.t.fds_leaked, "children", (json_int_t)o.t.children_left);
	res->extra = x ? json_dumps(x, JSON_COMPACT) : NULL;
	json_decref(x);
	if (kind_broken[k]) {
		res->text = o.text; /* for the report */
		o.text = NULL;
		res->diff = src; /* the reproducer */
		src = NULL;
	}
	free(text);
	json_decref(raised);
	free(src);
	ps_outcome_release(&o);
	ps_scenario_free(v);
	return 0;
}

static int job(void *vctx, struct ps_runner *rn, const struct ps_job *j, struct ps_job_result *res,
	       struct ps_diag *d)
{
	struct ctx *c = vctx;

	return c->phase2 ? trial_job(c, rn, &c->trials[j->scenario], res, d) :
			   base_job(c, rn, &c->bases[j->scenario], res, d);
}

static void progress(struct ctx *c, size_t total)
{
	if (c->tty)
		fprintf(stderr, "\r\033[Ksweep: %zu/%zu runs", ++c->done, total);
}

static bool base_done(void *vctx, size_t index, const struct ps_job *j, struct ps_job_result *res)
{
	struct ctx *c = vctx;
	struct base *b = &c->bases[j->scenario];
	json_t *x = res->extra ? json_loads(res->extra, 0, NULL) : NULL;

	(void)index;
	progress(c, c->n_bases);
	b->ok = x && !broke_off(res->verdict);
	if (x) {
		b->text = json_string_value(json_object_get(x, "text")) ?
				  strdup(json_string_value(json_object_get(x, "text"))) :
				  NULL;
		b->raised = json_incref(json_object_get(x, "raised"));
		b->fds = (long)json_integer_value(json_object_get(x, "fds"));
		b->children = (long)json_integer_value(json_object_get(x, "children"));
		b->calls = json_incref(json_object_get(x, "calls"));
	}
	if (!b->ok)
		b->why = strdup(res->detail ? res->detail : ps_verdict_word(res->verdict));
	json_decref(x);
	return true;
}

static char *slug(const char *s)
{
	char *out = strdup(s), *p;

	for (p = out; p && *p; p++)
		if (*p == '/' || *p == ' ')
			*p = '-';
	return out;
}

static bool trial_done(void *vctx, size_t index, const struct ps_job *j, struct ps_job_result *res)
{
	struct ctx *c = vctx;
	const struct trial *t = &c->trials[j->scenario];
	const struct base *b = &c->bases[t->base];
	const char *id = c->s->scenarios[b->scenario]->id, *mname = ps_method_name(b->method);
	json_t *x = res->extra ? json_loads(res->extra, 0, NULL) : NULL;
	const struct ps_expect_entry *e = NULL;
	char set[300], *repro = NULL;
	enum kind k = x ? (enum kind)json_integer_value(json_object_get(x, "kind")) : K_CRASH;
	int si = site_index(c, t->site);

	(void)index;
	progress(c, c->n_trials);
	c->runs++;
	if (k >= K_COUNT)
		k = K_CRASH;
	if (kind_broken[k]) {
		/* a scoped break: its own entry first, then one for any thread */
		snprintf(set, sizeof(set), "sweep/%s/%s%s%s", kind_words[k], t->site,
			 c->scope ? "@" : "", c->scope ? ps_fault_scope_name(c->scope) : "");
		e = ps_expect_match(&c->expect, id, mname, set);
		if (!e && c->scope) {
			snprintf(set, sizeof(set), "sweep/%s/%s", kind_words[k], t->site);
			e = ps_expect_match(&c->expect, id, mname, set);
		}
	}
	if (e) {
		c->expected[si]++;
		c->expected_total++;
	} else {
		c->per_site[si][k]++;
		c->total[k]++;
	}
	if (kind_broken[k]) {
		char *sid = slug(id), *ssite = slug(t->site);

		if (c->repro_dir && sid && ssite && res->diff &&
		    asprintf(&repro, "%s/%s--%s--%s-%ld%s.scn", c->repro_dir, sid, mname, ssite,
			     t->n, t->persistent ? "-on" : "") >= 0)
			ps_file_write_atomic(repro, res->diff, strlen(res->diff), false);
		json_array_append_new(
			c->findings,
			json_pack(
				"{s:s, s:s, s:s, s:I, s:s, s:s, s:s?, s:s?, s:s?, s:s?, s:I, s:I}",
				"scenario", id, "method", mname, "site", t->site, "n",
				(json_int_t)t->n, "mode", t->persistent ? "from-n-on" : "once",
				"kind", kind_words[k], "expected", e ? e->reason : NULL, "detail",
				res->detail, "transcript", res->text, "reproducer", repro,
				"fds_leaked",
				(json_int_t)json_integer_value(json_object_get(x, "fds")),
				"children_left",
				(json_int_t)json_integer_value(json_object_get(x, "children"))));
		if (!e) {
			if (c->tty)
				fprintf(stderr, "\r\033[K");
			printf("%-7s %s [%s] %s call %ld%s%s%s\n", kind_words[k], id, mname,
			       t->site, t->n, t->persistent ? " and later" : "",
			       res->detail ? ": " : "", res->detail ? res->detail : "");
		}
		free(sid);
		free(ssite);
		free(repro);
	}
	json_decref(x);
	return true;
}

/* The options of sweep, into s and c. */
static int options(struct ps_suite *s, struct ctx *c, int argc, char **argv, bool *list,
		   bool *count, struct ps_diag *d)
{
	struct ps_strv globs = PS_STRV_INIT;
	unsigned max_n = 64;
	const char *thread = NULL;
	const struct ps_option opts[] = {
		PS_OPT_IMPL(&s->impl_spec, "the implementation, as for run"),
		PS_OPT_LIST(0, "site", &globs, "GLOB",
			    "fault sites to sweep; repeatable (default: all but\n"
			    "posix/io/oc/close, whose failpoint leaks the fd itself)"),
		PS_OPT_FLAG(0, "list-sites", list,
			    "list the fault sites with their errnos, and exit"),
		PS_OPT_FLAG(0, "count", count,
			    "only count each site's calls per start method, "
			    "fault-free"),
		PS_OPT_INT(0, "max-n", &max_n, "N", 1, 1e9,
			   "fail at most the first N calls of a site (64)"),
		PS_OPT_STRING(0, "thread", &thread, "T",
			      "the calls of one thread scope: any (default), step (the\n"
			      "stepping thread) or background (the executor's threads)"),
		PS_OPT_METHOD(&s->methods, "fork, spawn or forkserver; repeatable"),
		PS_OPT_PATTERN(&s->patterns),
		PS_OPT_TAG(&s->tags),
		PS_OPT_SHARD(&s->select),
		PS_OPT_JOBS(&s->jobs, "worker processes (default: CPUs)"),
		PS_OPT_EXPECT(&s->expect_path, "known breaks (default: expectations/<impl>.txt)"),
		PS_OPT_REPORT(&s->report_dir, "report directory (default: reports/sweep/<impl>; '' "
					      "for none)"),
		PS_OPT_TIMEOUT(&s->step_timeout),
		PS_OPT_END(),
	};
	int r = ps_suite_parse(s, &help, opts, argc, argv, d);

	/* the sites the globs choose replace them (choose_sites) */
	c->sites = (const char **)globs.v;
	c->n_sites = globs.n;
	c->max_n = max_n;
	if (!r && thread && (c->scope = ps_fault_scope(thread)) < 0) {
		c->scope = 0;
		return ps_diag(d, PS_EUSAGE,
			       "procspec sweep: --thread takes any, step or background, not '%s'",
			       thread);
	}
	if (r || *list)
		return r;
	return ps_suite_finish(s, &help, d);
}

/* The sites the globs choose, in table order. */
static int choose_sites(struct ctx *c, struct ps_diag *d)
{
	const char **globs = c->sites, **v = NULL;
	const struct ps_fault_site *s;
	size_t n_globs = c->n_sites, i, k, n = 0;

	for (i = 0; (s = ps_fault_site_at(i)); i++) {
		/* On Linux close() releases the fd even when it reports an
		 * error, but a failpoint returns before closing: what a sweep
		 * of close finds is the injection's leak.  Only on request. */
		bool take = n_globs == 0 && strcmp(s->name, "posix/io/oc/close");

		for (k = 0; k < n_globs && !take; k++)
			take = fnmatch(globs[k], s->name, 0) == 0;
		if (!take)
			continue;
		const char **nv = realloc(v, (n + 1) * sizeof(*v));

		if (!nv) {
			free(v);
			free(globs);
			c->sites = NULL;
			c->n_sites = 0;
			return ps_diag(d, -ENOMEM, "out of memory");
		}
		v = nv;
		v[n++] = s->name;
	}
	free(globs);
	c->sites = v;
	c->n_sites = n;
	if (!n)
		return ps_diag(
			d, PS_EUSAGE,
			"procspec sweep: no fault site matches --site (--list-sites lists them)");
	return 0;
}

static void list_sites(void)
{
	const struct ps_fault_site *s;
	size_t i, k;

	for (i = 0; (s = ps_fault_site_at(i)); i++) {
		printf("%-26s %-9s", s->name, s->lib);
		for (k = 0; s->errnos[k]; k++)
			printf("%s%s", k ? " " : "", ps_fault_errno_name(s->errnos[k]));
		printf("\n");
	}
}

static int write_reports(struct ctx *c, const char *dir, const char *implementation,
			 const char *label)
{
	json_t *sites = json_object(), *root;
	struct ps_buf txt = PS_BUF_INIT;
	char *path = NULL, *s;
	size_t i, k;
	int r = 0;

	ps_buf_addf(&txt, "procspec sweep: %s (%s)%s%s\n%-26s", label, implementation,
		    c->scope ? ", thread scope " : "",
		    c->scope ? ps_fault_scope_name(c->scope) : "", "site");
	for (k = 0; k < K_COUNT; k++)
		ps_buf_addf(&txt, " %9s", kind_words[k]);
	ps_buf_addf(&txt, " %9s\n", "expected");
	for (i = 0; i < c->n_sites; i++) {
		json_t *o = json_object();
		unsigned long runs = c->expected[i];

		for (k = 0; k < K_COUNT; k++) {
			json_object_set_new(o, kind_words[k],
					    json_integer((json_int_t)c->per_site[i][k]));
			runs += c->per_site[i][k];
		}
		json_object_set_new(o, "expected", json_integer((json_int_t)c->expected[i]));
		json_object_set_new(o, "runs", json_integer((json_int_t)runs));
		json_object_set_new(sites, c->sites[i], o);
		if (!runs)
			continue;
		ps_buf_addf(&txt, "%-26s", c->sites[i]);
		for (k = 0; k < K_COUNT; k++)
			ps_buf_addf(&txt, " %9lu", c->per_site[i][k]);
		ps_buf_addf(&txt, " %9lu\n", c->expected[i]);
	}
	printf("%s", txt.data ? txt.data : "");
	if (!dir || !*dir)
		goto out;
	/* scenarios: what this sweep covered, so that 'sweep merge' can refuse overlapping parts */
	root = json_pack("{s:s, s:s, s:s, s:I, s:o, s:O, s:o}", "implementation", implementation,
			 "label", label, "thread", ps_fault_scope_name(c->scope), "runs",
			 (json_int_t)c->runs, "sites", sites, "findings", c->findings, "scenarios",
			 json_array());
	for (i = 0; root && i < c->n_bases; i++)
		json_array_append_new(json_object_get(root, "scenarios"),
				      json_pack("{s:s, s:s}", "scenario",
						c->s->scenarios[c->bases[i].scenario]->id, "method",
						ps_method_name(c->bases[i].method)));
	sites = NULL;
	s = root ? json_dumps(root, JSON_INDENT(2) | JSON_SORT_KEYS) : NULL;
	json_decref(root);
	if ((r = ps_mkdirs(dir)) == 0 && s && asprintf(&path, "%s/sweep.json", dir) >= 0) {
		r = ps_file_write_atomic(path, s, strlen(s), false);
		free(path);
		path = NULL;
	}
	free(s);
	if (!r && asprintf(&path, "%s/summary.txt", dir) >= 0)
		r = ps_file_write_atomic(path, txt.data ? txt.data : "", txt.len, false);
	free(path);
	if (r)
		fprintf(stderr, "procspec sweep: writing %s: %s\n", dir, strerror(-r));
	else
		printf("report: %s/sweep.json\n", dir);
out:
	json_decref(sites);
	ps_buf_release(&txt);
	return r;
}

/* The calls of site in a fault-free run, in the sweep's thread scope:
 * ended.faults' [calls, failed, in the stepping thread, in background]. */
static long site_calls(const struct ctx *c, const struct base *b, const char *site)
{
	json_t *x = json_object_get(b->calls, site);

	return x ? (long)json_integer_value(
			   json_array_get(x, c->scope ? 1 + (size_t)c->scope : 0)) :
		   0;
}

/* Whether the driver counted the calls of every site per thread scope. */
static bool counts_scopes(const struct ctx *c)
{
	const char *site;
	json_t *x;
	size_t i;

	for (i = 0; i < c->n_bases; i++)
		json_object_foreach(c->bases[i].calls, site, x)
			if (json_array_size(x) < 4)
				return false;
	return true;
}

/* --count: calls per site and method over the fault-free runs, and in how
 * many scenarios each site is reached. */
static int print_counts(struct ctx *c, const char *label, const char *implementation)
{
	unsigned m;
	size_t i, k;
	int mi, failed = 0;

	printf("%s (%s): calls of each site%s%s in %zu fault-free run(s) (scenarios reaching "
	       "it)\n%-26s",
	       label, implementation, c->scope ? " in the thread scope " : "",
	       c->scope ? ps_fault_scope_name(c->scope) : "", c->n_bases, "site");
	for (m = PS_M_FORK; m <= PS_M_FORKSERVER; m <<= 1)
		printf(" %16s", ps_method_name(m));
	printf("\n");
	for (k = 0; k < c->n_sites; k++) {
		long calls[3] = { 0, 0, 0 }, where[3] = { 0, 0, 0 };

		for (i = 0; i < c->n_bases; i++) {
			long n = site_calls(c, &c->bases[i], c->sites[k]);

			mi = c->bases[i].method == PS_M_FORK  ? 0 :
			     c->bases[i].method == PS_M_SPAWN ? 1 :
								2;
			calls[mi] += n;
			where[mi] += n > 0;
		}
		if (!calls[0] && !calls[1] && !calls[2])
			continue;
		printf("%-26s", c->sites[k]);
		for (mi = 0; mi < 3; mi++)
			printf(" %8ld (%5ld)", calls[mi], where[mi]);
		printf("\n");
	}
	for (i = 0; i < c->n_bases; i++)
		if (!c->bases[i].ok) {
			printf("%-7s %s [%s] the fault-free run did not finish: %s\n", "skip",
			       c->s->scenarios[c->bases[i].scenario]->id,
			       ps_method_name(c->bases[i].method), c->bases[i].why);
			failed = 1;
		}
	return failed ? PS_EXIT_FAIL : PS_EXIT_OK;
}

int ps_cmd_sweep(int argc, char **argv)
{
	struct ps_suite s;
	struct ps_diag d = PS_DIAG_INIT;
	struct ctx c;
	struct ps_job *jobs = NULL;
	char *expect_path = NULL, *report_dir = NULL, *repro = NULL, *implementation = NULL;
	char *label = NULL;
	size_t i, k, n, cap;
	unsigned m, methods;
	bool list = false, count_only = false;
	int r, code = PS_EXIT_ERROR;
	unsigned long broken = 0;

	if (argc > 1 && !strcmp(argv[1], "merge"))
		return ps_merge_sweep(argc - 1, argv + 1);
	memset(&c, 0, sizeof(c));
	ps_suite_init(&s);
	r = options(&s, &c, argc, argv, &list, &count_only, &d);
	if (r == PS_OPT_HELP_SHOWN || (!r && list)) {
		if (list)
			list_sites();
		free(c.sites);
		ps_suite_release(&s);
		return PS_EXIT_OK;
	}
	if (r || choose_sites(&c, &d)) {
		fprintf(stderr, "%s\n", d.msg);
		free(c.sites);
		ps_suite_release(&s);
		return PS_EXIT_ERROR;
	}
	c.s = &s;
	c.tty = isatty(2);
	c.findings = json_array();
	r = ps_suite_load(&s, &d);
	if (!r)
		r = ps_runner_ready(&s.runner, &d);
	if (r) {
		fprintf(stderr, "procspec sweep: %s\n", d.msg);
		goto out;
	}
	if (!ps_driver_has(s.runner.drv, "faults")) {
		fprintf(stderr,
			"procspec sweep: %s offers no \"faults\" feature: it is not running under "
			"procspec's fault library (docs/PROTOCOL.md, Faults)\n",
			s.impl.label);
		goto out;
	}
	implementation = strdup(s.runner.drv->implementation);
	expect_path = s.expect_path ? strdup(s.expect_path) : ps_expect_default_path(s.impl.label);
	if (!expect_path || ps_expect_load(expect_path, &c.expect, &d)) {
		fprintf(stderr, "procspec sweep: %s\n", expect_path ? d.msg : "out of memory");
		goto out;
	}
	if (s.report_dir)
		report_dir = strdup(s.report_dir);
	else if (!(label = ps_outdir_component(s.impl.label)) ||
		 asprintf(&report_dir, "reports/sweep/%s", label) < 0)
		report_dir = NULL;
	if (report_dir && *report_dir && asprintf(&repro, "%s/repro", report_dir) >= 0) {
		ps_mkdirs(repro);
		c.repro_dir = repro;
	}
	/* workers start their own drivers; this one only said hello */
	ps_runner_release(&s.runner);
	s.runner.count_faults = 1;

	/* phase 1: every scenario and method, fault-free, counting calls */
	for (i = 0; i < s.n_scenarios; i++) {
		methods = ps_suite_methods(&s, s.scenarios[i]);
		for (m = PS_M_FORK; m <= PS_M_FORKSERVER; m <<= 1)
			if (methods & m) {
				struct base *v = realloc(c.bases, (c.n_bases + 1) * sizeof(*v));

				if (!v)
					goto nomem;
				c.bases = v;
				memset(&c.bases[c.n_bases], 0, sizeof(*v));
				c.bases[c.n_bases].scenario = i;
				c.bases[c.n_bases++].method = m;
			}
	}
	if (!(jobs = calloc(c.n_bases + 1, sizeof(*jobs))))
		goto nomem;
	for (i = 0; i < c.n_bases; i++)
		jobs[i].scenario = i;
	printf("procspec sweep: %s (%s): %zu scenario run(s), %zu site(s)\n", s.impl.label,
	       implementation, c.n_bases, c.n_sites);
	fflush(stdout);
	if ((r = ps_pool_run(jobs, c.n_bases, s.jobs, 0, &s.runner, job, base_done, &c, &d))) {
		fprintf(stderr, "procspec sweep: %s\n", d.msg);
		goto out;
	}

	if (c.scope && !counts_scopes(&c)) {
		fprintf(stderr,
			"procspec sweep: %s counts no calls per thread (no \"faults.thread\" "
			"feature: docs/PROTOCOL.md, Faults)\n",
			s.impl.label);
		goto out;
	}
	if (count_only) {
		code = print_counts(&c, s.impl.label, implementation);
		goto out;
	}

	/* phase 2: the Nth call of each site called, once and from then on */
	cap = 0;
	for (i = 0; i < c.n_bases; i++) {
		if (!c.bases[i].ok) {
			printf("%-7s %s [%s] the fault-free run did not finish: %s\n", "skip",
			       s.scenarios[c.bases[i].scenario]->id,
			       ps_method_name(c.bases[i].method), c.bases[i].why);
			continue;
		}
		for (k = 0; k < c.n_sites; k++) {
			long ncalls = site_calls(&c, &c.bases[i], c.sites[k]);

			for (n = 1; (long)n <= ncalls && (long)n <= c.max_n; n++) {
				for (int pers = 0; pers < 2; pers++) {
					if (c.n_trials == cap) {
						struct trial *v;

						cap = cap ? 2 * cap : 256;
						if (!(v = realloc(c.trials, cap * sizeof(*v))))
							goto nomem;
						c.trials = v;
					}
					c.trials[c.n_trials++] = (struct trial){ i, c.sites[k],
										 (long)n, pers };
				}
			}
		}
	}
	free(jobs);
	if (!(jobs = calloc(c.n_trials + 1, sizeof(*jobs))))
		goto nomem;
	for (i = 0; i < c.n_trials; i++)
		jobs[i].scenario = i;
	printf("procspec sweep: %zu faulted run(s)\n", c.n_trials);
	fflush(stdout);
	c.phase2 = true;
	c.done = 0;
	if ((r = ps_pool_run(jobs, c.n_trials, s.jobs, 0, &s.runner, job, trial_done, &c, &d))) {
		fprintf(stderr, "procspec sweep: %s\n", d.msg);
		goto out;
	}
	if (c.tty)
		fprintf(stderr, "\r\033[K");
	write_reports(&c, report_dir, implementation, s.impl.label);
	for (k = 0; k < K_COUNT; k++)
		if (kind_broken[k])
			broken += c.total[k];
	printf("%s: %lu faulted run(s): %lu raised, %lu absorbed, %lu unreached; "
	       "%lu broke an invariant, %lu of them expected\n",
	       s.impl.label, c.runs, c.total[K_RAISED], c.total[K_ABSORBED], c.total[K_UNREACHED],
	       broken + c.expected_total, c.expected_total);
	code = broken ? PS_EXIT_FAIL : PS_EXIT_OK;
	goto out;
nomem:
	fprintf(stderr, "procspec sweep: out of memory\n");
out:
	for (i = 0; i < c.n_bases; i++) {
		free(c.bases[i].text);
		json_decref(c.bases[i].raised);
		free(c.bases[i].why);
		json_decref(c.bases[i].calls);
	}
	free(c.bases);
	free(c.trials);
	free(c.sites);
	free(jobs);
	free(expect_path);
	free(report_dir);
	free(label);
	free(repro);
	free(implementation);
	json_decref(c.findings);
	ps_expect_release(&c.expect);
	ps_suite_release(&s);
	return code;
}

#include "play.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "buf.h"
#include "golden.h"
#include "impl.h"
#include "report.h"

/* "diverges at step N (line L): STMT", from the first line where the texts differ. */
static char *where_diverged(const struct ps_scenario *sc, const char *expected, const char *actual)
{
	const char *a = expected, *b = actual, *stmt = NULL;
	size_t step = 0;
	struct ps_buf out = PS_BUF_INIT;

	for (;;) {
		const char *na = strchr(a, '\n'), *nb = strchr(b, '\n');
		size_t la = na ? (size_t)(na - a) : strlen(a),
		       lb = nb ? (size_t)(nb - b) : strlen(b);

		if (!strncmp(b, ">>> ", 4)) {
			step++;
			stmt = b;
		}
		if (la != lb || memcmp(a, b, la) || !na || !nb)
			break;
		a = na + 1;
		b = nb + 1;
	}
	if (!strncmp(b, "--- end", 7) || !strncmp(a, "--- end", 7))
		ps_buf_adds(&out, "diverges at the end of the scenario");
	else if (step && step <= sc->n_steps)
		ps_buf_addf(&out, "diverges at step %zu (line %d): %.*s", step,
			    sc->steps[step - 1]->line, (int)strcspn(stmt + 4, "\n"), stmt + 4);
	else
		ps_buf_adds(&out, "diverges");
	return ps_buf_detach(&out);
}

static bool dir_exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* In a worker: run one entry and judge it against golden and the expectations. */
static int run_job(void *vctx, struct ps_runner *rn, const struct ps_job *job,
		   struct ps_job_result *res, struct ps_diag *d)
{
	struct ps_play *p = vctx;
	struct ps_suite *s = p->s;
	const struct ps_play_entry *en = &p->entries[job->scenario];
	const struct ps_scenario *sc = s->scenarios[en->scenario];
	const char *mname = ps_method_name(en->method);
	const struct ps_expect_entry *x;
	struct ps_outcome o;
	char *gpath = NULL, *expected = NULL, label[256];
	int r, oom = 0;

	if (en->pre != PS_V_PASS) {
		res->verdict = en->pre;
		res->detail = en->why ? strdup(en->why) : NULL;
		return 0;
	}
	r = ps_run_scenario(rn, sc, en->method, &o, d);
	if (r)
		return r;
	res->verdict = o.verdict;
	res->seconds = o.seconds;
	res->text = o.text;
	res->detail = o.detail;
	o.text = o.detail = NULL;
	ps_outcome_release(&o);
	if (s->golden_set && (res->verdict == PS_V_PASS || res->verdict == PS_V_LEAK ||
			      res->verdict == PS_V_ORPHAN)) {
		gpath = ps_golden_path(s->golden_dir, s->golden_set, mname, sc->id);
		r = gpath ? ps_golden_read(gpath, &expected, d) :
			    ps_diag(d, -ENOMEM, "out of memory");
		if (r == PS_ENOGOLD) {
			res->verdict = PS_V_NOGOLDEN;
			free(res->detail);
			res->detail = strdup(d->msg);
			r = 0;
		} else if (!r) {
			snprintf(label, sizeof(label), "actual (%s)", s->impl.label);
			res->diff = ps_diff_unified(expected, res->text ? res->text : "", gpath,
						    label, &oom);
			if (res->diff) {
				res->verdict = PS_V_FAIL;
				res->where = where_diverged(sc, expected,
							    res->text ? res->text : "");
			}
		}
		free(gpath);
		free(expected);
		if (r)
			return r;
	}
	x = ps_expect_match(&p->expect, sc->id, mname, s->golden_set);
	if (x && (res->verdict == PS_V_FAIL || res->verdict == PS_V_LEAK ||
		  res->verdict == PS_V_ORPHAN || (x->hangs && res->verdict == PS_V_TIMEOUT))) {
		res->verdict = PS_V_XFAIL;
		free(res->detail);
		if (asprintf(&res->detail, "%s (%s:%d)", x->reason, x->path, x->line) < 0)
			res->detail = NULL;
	} else if (x && res->verdict == PS_V_PASS && !x->racy) {
		res->verdict = PS_V_XPASS;
		if (asprintf(&res->detail,
			     "listed as an expected divergence at %s:%d (%s), but it "
			     "matches: remove the entry",
			     x->path, x->line, x->reason) < 0)
			res->detail = NULL;
	}
	return 0;
}

/* "1-18, 20": the repetitions (0-based in v[0..n)) as 1-based ranges. */
static void add_ranges(struct ps_buf *b, const size_t *v, size_t n)
{
	size_t i, j;

	for (i = 0; i < n; i = j + 1) {
		for (j = i; j + 1 < n && v[j + 1] == v[j] + 1; j++)
			;
		ps_buf_addf(b, "%s%zu", i ? ", " : "", v[i] + 1);
		if (j > i)
			ps_buf_addf(b, "%s%zu", j == i + 1 ? ", " : "-", v[j] + 1);
	}
}

static bool same_outcome(const struct ps_job_result *a, const struct ps_job_result *b)
{
	return a->verdict == b->verdict && !strcmp(a->text ? a->text : "", b->text ? b->text : "");
}

static void move_result(struct ps_job_result *to, struct ps_job_result *from)
{
	*to = *from;
	memset(from, 0, sizeof(*from));
}

/*
 * The p->n_reps repetitions of entry en as one result, into *out: the first
 * when they agree (their time summed), else FLAKY.  A repetition never
 * handed out (--max-failures) does not count.  Under a racy expectation a
 * mix of passes and expected divergences is that race, already explained:
 * the expected divergence is reported.
 */
static void combine(struct ps_play *p, const struct ps_play_entry *en, struct ps_job_result *out)
{
	const struct ps_scenario *sc = p->s->scenarios[en->scenario];
	const struct ps_expect_entry *x;
	struct ps_job_result *r = p->reps;
	size_t i, k, nv = 0, first = p->n_reps, *variant, *members, n_members, ran = 0;
	struct ps_buf text = PS_BUF_INIT, diff = PS_BUF_INIT, why = PS_BUF_INIT, lab0 = PS_BUF_INIT,
		      labk = PS_BUF_INIT;
	double seconds = 0;
	bool racy_only = true;
	json_t *variants;
	char *d;
	int oom = 0;

	variant = calloc(p->n_reps, sizeof(*variant)); /* repetition -> variant index */
	members = calloc(p->n_reps, sizeof(*members));
	for (i = 0; i < p->n_reps; i++) {
		seconds += r[i].seconds;
		if (r[i].verdict == PS_V_NOTRUN && en->pre == PS_V_PASS)
			continue; /* never handed out */
		ran++;
		if (first == p->n_reps)
			first = i;
	}
	if (first == p->n_reps || !variant || !members)
		first = 0;
	/* variant of each repetition: the first repetition with its outcome */
	for (i = first; variant && i < p->n_reps; i++) {
		variant[i] = i;
		for (k = first; k < i; k++)
			if (variant[k] == k && same_outcome(&r[k], &r[i])) {
				variant[i] = k;
				break;
			}
		if (variant[i] == i && !(r[i].verdict == PS_V_NOTRUN && en->pre == PS_V_PASS))
			nv++;
		if (r[i].verdict != PS_V_PASS && r[i].verdict != PS_V_XFAIL &&
		    !(r[i].verdict == PS_V_NOTRUN && en->pre == PS_V_PASS))
			racy_only = false;
	}
	x = ps_expect_match(&p->expect, sc->id, ps_method_name(en->method), p->s->golden_set);
	if (nv <= 1 || !variant || !members) {
		move_result(out, &r[first]);
		out->seconds = seconds;
		goto done;
	}
	if (x && x->racy && racy_only) {
		for (i = first; i < p->n_reps && r[i].verdict != PS_V_XFAIL; i++)
			;
		move_result(out, &r[i < p->n_reps ? i : first]);
		out->seconds = seconds;
		if (out->detail && asprintf(&d, "%s; it varies between the %zu repetitions",
					    out->detail, ran) >= 0) {
			free(out->detail);
			out->detail = d;
		}
		goto done;
	}

	/* FLAKY: every distinct outcome, with the repetitions that gave it */
	memset(out, 0, sizeof(*out));
	out->verdict = PS_V_FLAKY;
	out->seconds = seconds;
	variants = json_array();
	ps_buf_addf(&why, "%zu repetitions gave %zu different outcomes:", ran, nv);
	for (i = first; i < p->n_reps; i++) {
		json_t *reps = json_array();

		if (variant[i] != i || (r[i].verdict == PS_V_NOTRUN && en->pre == PS_V_PASS))
			continue;
		n_members = 0;
		for (k = i; k < p->n_reps; k++)
			if (variant[k] == i &&
			    !(r[k].verdict == PS_V_NOTRUN && en->pre == PS_V_PASS)) {
				members[n_members++] = k;
				json_array_append_new(reps, json_integer((json_int_t)k + 1));
			}
		ps_buf_adds(&why, i == first ? " " : "; ");
		ps_buf_adds(&why, n_members > 1 ? "repetitions " : "repetition ");
		add_ranges(&why, members, n_members);
		ps_buf_addf(&why, ": %s", ps_verdict_word(r[i].verdict));
		if (r[i].where || r[i].detail)
			ps_buf_addf(&why, " (%s)", r[i].where ? r[i].where : r[i].detail);

		ps_buf_addf(&text, "%s### %s ", i == first ? "" : "\n",
			    n_members > 1 ? "repetitions" : "repetition");
		add_ranges(&text, members, n_members);
		ps_buf_addf(&text, ": %s\n%s", ps_verdict_word(r[i].verdict),
			    r[i].text ? r[i].text : "");

		if (i != first) {
			ps_buf_release(&lab0);
			ps_buf_release(&labk);
			ps_buf_addf(&lab0, "repetition %zu (%s)", first + 1,
				    ps_verdict_word(r[first].verdict));
			ps_buf_addf(&labk, "repetition %zu (%s)", i + 1,
				    ps_verdict_word(r[i].verdict));
			d = ps_diff_unified(r[first].text ? r[first].text : "",
					    r[i].text ? r[i].text : "", lab0.data, labk.data, &oom);
			if (d)
				ps_buf_adds(&diff, d);
			if (!out->where && d)
				out->where = where_diverged(sc, r[first].text ? r[first].text : "",
							    r[i].text ? r[i].text : "");
			free(d);
		}
		if (variants && reps)
			json_array_append_new(variants,
					      json_pack("{s:O, s:s, s:s?, s:s?, s:s?, s:s?}",
							"repetitions", reps, "verdict",
							ps_verdict_word(r[i].verdict), "detail",
							r[i].detail, "where", r[i].where, "diff",
							r[i].diff, "transcript", r[i].text));
		json_decref(reps);
	}
	if (!out->where)
		out->where = strdup("the verdicts differ between repetitions");
	out->detail = ps_buf_detach(&why);
	out->text = ps_buf_detach(&text);
	out->diff = diff.len ? ps_buf_detach(&diff) : NULL;
	out->extra = variants ? json_dumps(variants, JSON_COMPACT) : NULL;
	json_decref(variants);
done:
	ps_buf_release(&text);
	ps_buf_release(&diff);
	ps_buf_release(&why);
	ps_buf_release(&lab0);
	ps_buf_release(&labk);
	free(variant);
	free(members);
}

/* In the parent, in order: hand the result on, and say whether to go on. */
static bool job_done(void *vctx, size_t index, const struct ps_job *job, struct ps_job_result *res)
{
	struct ps_play *p = vctx;
	const struct ps_play_entry *en = &p->entries[job->scenario];
	struct ps_job_result one;
	bool more;
	size_t i;

	(void)index;
	if (p->repeat > 1) {
		move_result(&p->reps[p->n_reps++], res);
		if (p->n_reps < p->repeat)
			return true;
		combine(p, en, &one);
		for (i = 0; i < p->n_reps; i++)
			ps_job_result_release(&p->reps[i]);
		p->n_reps = 0;
		more = p->fn(p->ctx, p->s->scenarios[en->scenario], ps_method_name(en->method),
			     &one);
		if (ps_verdict_failed(one.verdict))
			p->failures++;
		ps_job_result_release(&one);
		return more && (!p->s->max_failures || p->failures < p->s->max_failures);
	}
	more = p->fn(p->ctx, p->s->scenarios[en->scenario], ps_method_name(en->method), res);
	if (ps_verdict_failed(res->verdict))
		p->failures++;
	return more && (!p->s->max_failures || p->failures < p->s->max_failures);
}

int ps_play_init(struct ps_play *p, struct ps_suite *s, struct ps_diag *d)
{
	struct ps_buf b = PS_BUF_INIT;
	char *expect_path = NULL;
	unsigned m, drv_methods, version;
	size_t i, cap;
	int r;

	memset(p, 0, sizeof(*p));
	p->s = s;
	r = ps_runner_ready(&s->runner, d); /* the hello: methods and features */
	if (r)
		return r;
	if (s->expect_path)
		expect_path = strdup(s->expect_path);
	else
		expect_path = ps_expect_default_path(s->impl.label);
	if (!expect_path)
		return ps_diag(d, -ENOMEM, "out of memory");
	r = ps_expect_load(expect_path, &p->expect, d);
	free(expect_path);
	if (r)
		return r;
	if (s->expect_path && !p->expect.path)
		return ps_diag(d, PS_EUSAGE, "--expect %s: no such file", s->expect_path);

	/* A golden set that is not there (a typo, a run from another
	 * directory) would skip everything and pass: an input error. */
	if (s->golden_set) {
		ps_buf_addf(&b, "%s/%s", s->golden_dir, s->golden_set);
		r = ps_buf_oom(&b) ? -ENOMEM : dir_exists(b.data) ? 0 : PS_ENOGOLD;
		if (r)
			r = ps_diag(d, r, "no golden set %s (--golden-dir, --golden)", b.data);
		ps_buf_release(&b);
		if (r)
			return r;
	}

	/* Every scenario under every method that applies, in a fixed order;
	 * with --repeat, each run's repetitions one after the other. */
	p->repeat = s->repeat ? s->repeat : 1;
	cap = s->n_scenarios * 3 + 1;
	p->entries = calloc(cap, sizeof(*p->entries));
	p->jobs = calloc(cap * p->repeat, sizeof(*p->jobs));
	p->reps = calloc(p->repeat, sizeof(*p->reps));
	if (!p->reps)
		return ps_diag(d, -ENOMEM, "out of memory");
	p->implementation = strdup(s->runner.drv->implementation);
	if (!p->entries || !p->jobs || !p->implementation)
		return ps_diag(d, -ENOMEM, "out of memory");
	drv_methods = s->runner.drv->methods;
	version = ps_impl_version(s->runner.drv);
	for (i = 0; i < s->n_scenarios; i++) {
		const struct ps_scenario *sc = s->scenarios[i];
		const char *feat[PS_MAX_FEATURES];
		size_t nf = ps_scenario_features_on(sc, version, feat), k;

		for (m = 1; m <= PS_M_FORKSERVER; m <<= 1) {
			struct ps_play_entry *en = &p->entries[p->n];

			if (!(sc->methods & m) || (s->methods && !(s->methods & m)))
				continue;
			en->scenario = i;
			en->method = m;
			en->pre = PS_V_PASS;
			if (!(drv_methods & m)) {
				en->pre = PS_V_NOTRUN;
				en->why = strdup("the implementation has no such start method");
			} else if (!version && ps_scenario_gated(sc)) {
				/* its gates need the release the driver follows */
				en->pre = PS_V_UNSUPPORTED;
				en->why = strdup(
					"needs the CPython release the implementation "
					"follows (hello \"follows\"), for its gated steps");
			} else if (s->golden_set) {
				ps_buf_addf(&b, "%s/%s/%s", s->golden_dir, s->golden_set,
					    ps_method_name(m));
				if (!ps_buf_oom(&b) && !dir_exists(b.data)) {
					en->pre = PS_V_NOTRUN;
					if (asprintf(&en->why, "no golden set %s", b.data) < 0)
						en->why = NULL;
				}
				ps_buf_release(&b);
			}
			for (k = 0; k < nf && en->pre == PS_V_PASS; k++) {
				if (!ps_driver_has(s->runner.drv, feat[k])) {
					en->pre = PS_V_UNSUPPORTED;
					if (asprintf(&en->why, "needs %s", feat[k]) < 0)
						en->why = NULL;
				}
			}
			for (k = 0; k < p->repeat; k++) {
				p->jobs[p->n_jobs].scenario = p->n;
				p->jobs[p->n_jobs].method = m;
				p->n_jobs++;
			}
			p->n++;
		}
	}
	/* Workers start their own drivers; this one only said hello, with
	 * the fault libraries so as to say whether it has faults.  Theirs
	 * are lean: a scenario that uses no fault runs without them. */
	ps_runner_release(&s->runner);
	s->runner.lean = true;
	return 0;
}

int ps_play_run(struct ps_play *p, ps_play_fn fn, void *ctx, struct ps_diag *d)
{
	p->fn = fn;
	p->ctx = ctx;
	p->failures = 0;
	p->n_reps = 0;
	return ps_pool_run(p->jobs, p->n_jobs, p->s->jobs, 0, &p->s->runner, run_job, job_done, p,
			   d);
}

void ps_play_release(struct ps_play *p)
{
	size_t i;

	for (i = 0; p->entries && i < p->n; i++)
		free(p->entries[i].why);
	for (i = 0; p->reps && i < p->n_reps; i++)
		ps_job_result_release(&p->reps[i]);
	free(p->reps);
	free(p->entries);
	free(p->jobs);
	free(p->implementation);
	ps_expect_release(&p->expect);
	memset(p, 0, sizeof(*p));
}

#include "play.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "buf.h"
#include "golden.h"
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

/* In the parent, in order: hand the result on, and say whether to go on. */
static bool job_done(void *vctx, size_t index, const struct ps_job *job, struct ps_job_result *res)
{
	struct ps_play *p = vctx;
	const struct ps_play_entry *en = &p->entries[job->scenario];
	bool more;

	(void)index;
	more = p->fn(p->ctx, p->s->scenarios[en->scenario], ps_method_name(en->method), res);
	if (ps_verdict_failed(res->verdict))
		p->failures++;
	return more && (!p->s->max_failures || p->failures < p->s->max_failures);
}

int ps_play_init(struct ps_play *p, struct ps_suite *s, struct ps_diag *d)
{
	struct ps_buf b = PS_BUF_INIT;
	char *expect_path = NULL;
	unsigned m, drv_methods;
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

	/* Every scenario under every method that applies, in a fixed order. */
	cap = s->n_scenarios * 3 + 1;
	p->entries = calloc(cap, sizeof(*p->entries));
	p->jobs = calloc(cap, sizeof(*p->jobs));
	p->implementation = strdup(s->runner.drv->implementation);
	if (!p->entries || !p->jobs || !p->implementation)
		return ps_diag(d, -ENOMEM, "out of memory");
	drv_methods = s->runner.drv->methods;
	for (i = 0; i < s->n_scenarios; i++) {
		const struct ps_scenario *sc = s->scenarios[i];
		const char *feat[PS_MAX_FEATURES];
		size_t nf = ps_scenario_features(sc, feat), k;

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
			p->jobs[p->n].scenario = p->n;
			p->jobs[p->n].method = m;
			p->n++;
		}
	}
	/* Workers start their own drivers; this one only said hello. */
	ps_runner_release(&s->runner);
	return 0;
}

int ps_play_run(struct ps_play *p, ps_play_fn fn, void *ctx, struct ps_diag *d)
{
	p->fn = fn;
	p->ctx = ctx;
	p->failures = 0;
	return ps_pool_run(p->jobs, p->n, p->s->jobs, 0, &p->s->runner, run_job, job_done, p, d);
}

void ps_play_release(struct ps_play *p)
{
	size_t i;

	for (i = 0; p->entries && i < p->n; i++)
		free(p->entries[i].why);
	free(p->entries);
	free(p->jobs);
	free(p->implementation);
	ps_expect_release(&p->expect);
	memset(p, 0, sizeof(*p));
}

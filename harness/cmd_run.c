/* procspec run: play scenarios through an implementation and compare with golden. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "buf.h"
#include "commands.h"
#include "expect.h"
#include "golden.h"
#include "pool.h"
#include "proc.h"
#include "report.h"
#include "suite.h"

static const char usage[] =
	"usage: procspec run [PATH...] --impl IMPL [--golden SET] [options]\n"
	"  IMPL: ref | python:INTERPRETER[:MODULE] | cmd:PROGRAM [ARG...]\n"
	"  --golden SET        compare with golden/SET/<method>/ (without it, only crashes,\n"
	"                      hangs and leaks fail)\n"
	"  --golden-dir DIR    where golden sets live (golden)\n"
	"  --method M          fork, spawn or forkserver; repeatable (default: all that apply)\n"
	"  -k PATTERN          scenario ids matching a glob, or containing a text; repeatable\n"
	"  --tag TAG           scenarios with this tag; repeatable\n"
	"  --shard K/N         the K-th of N shards (also TEST_TOTAL_SHARDS/TEST_SHARD_INDEX)\n"
	"  -j N                worker processes, each with its own driver (default: CPUs)\n"
	"  --max-failures N    stop handing out scenarios after N failures\n"
	"  --expect FILE       expected divergences (default: expectations/<impl>.txt)\n"
	"  --report DIR        report directory (default: reports/<impl>; '' for none)\n"
	"  --timeout S         seconds per driver reply (10, times PROCSPEC_TIMEOUT_MULTIPLIER)\n"
	"  -v                  print every transcript";

/* One line of the run: a scenario under a method, and why it does not run, if it does not. */
struct entry {
	size_t scenario;
	unsigned method;
	enum ps_verdict pre;	/* PS_V_PASS: to be run; otherwise NOTRUN or UNSUPPORTED */
	char *why;
};

struct ctx {
	struct ps_suite *s;
	struct entry *entries;
	struct ps_expect expect;
	struct ps_report rep;
	unsigned failures;
};

/* "diverges at step N (line L): STMT", from the first line where the texts differ. */
static char *where_diverged(const struct ps_scenario *sc, const char *expected, const char *actual)
{
	const char *a = expected, *b = actual, *stmt = NULL;
	size_t step = 0;
	struct ps_buf out = PS_BUF_INIT;

	for (;;) {
		const char *na = strchr(a, '\n'), *nb = strchr(b, '\n');
		size_t la = na ? (size_t)(na - a) : strlen(a), lb = nb ? (size_t)(nb - b) : strlen(b);

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
		ps_buf_addf(&out, "diverges at step %zu (line %d): %.*s", step, sc->steps[step - 1]->line,
			    (int)strcspn(stmt + 4, "\n"), stmt + 4);
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
	struct ctx *c = vctx;
	struct ps_suite *s = c->s;
	const struct entry *en = &c->entries[job->scenario];
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
		r = gpath ? ps_golden_read(gpath, &expected, d) : ps_diag(d, -ENOMEM, "out of memory");
		if (r == PS_ENOGOLD) {
			res->verdict = PS_V_NOGOLDEN;
			free(res->detail);
			res->detail = strdup(d->msg);
			r = 0;
		} else if (!r) {
			snprintf(label, sizeof(label), "actual (%s)", s->impl.label);
			res->diff = ps_diff_unified(expected, res->text ? res->text : "", gpath, label, &oom);
			if (res->diff) {
				res->verdict = PS_V_FAIL;
				res->where = where_diverged(sc, expected, res->text ? res->text : "");
			}
		}
		free(gpath);
		free(expected);
		if (r)
			return r;
	}
	x = ps_expect_match(&c->expect, sc->id, mname, s->golden_set);
	if (x && (res->verdict == PS_V_FAIL || res->verdict == PS_V_LEAK ||
	  res->verdict == PS_V_ORPHAN)) {
		res->verdict = PS_V_XFAIL;
		free(res->detail);
		if (asprintf(&res->detail, "%s (%s:%d)", x->reason, x->path, x->line) < 0)
			res->detail = NULL;
	} else if (x && res->verdict == PS_V_PASS && !x->racy) {
		res->verdict = PS_V_XPASS;
		if (asprintf(&res->detail, "listed as an expected divergence at %s:%d (%s), but it "
			     "matches: remove the entry", x->path, x->line, x->reason) < 0)
			res->detail = NULL;
	}
	return 0;
}

/* In the parent, in order: report, and say whether to go on. */
static bool job_done(void *vctx, size_t index, const struct ps_job *job, struct ps_job_result *res)
{
	struct ctx *c = vctx;
	const struct entry *en = &c->entries[job->scenario];

	(void)index;
	ps_report_add(&c->rep, c->s->scenarios[en->scenario]->id, ps_method_name(en->method), res);
	if (ps_verdict_failed(res->verdict))
		c->failures++;
	return !c->s->max_failures || c->failures < c->s->max_failures;
}

int ps_cmd_run(int argc, char **argv)
{
	struct ps_suite s;
	struct ps_diag d = PS_DIAG_INIT;
	struct ctx c;
	struct ps_buf b = PS_BUF_INIT;
	struct ps_job *jobs = NULL;
	char *report_dir = NULL, *expect_path = NULL, *implementation = NULL;
	unsigned m, drv_methods;
	size_t i, n = 0, cap;
	int r, code = PS_EXIT_ERROR;

	memset(&c, 0, sizeof(c));
	r = ps_suite_options(&s, argc, argv, usage, true, false, &d);
	if (r) {
		fprintf(stderr, "%s\n", d.msg);
		ps_suite_release(&s);
		return PS_EXIT_ERROR;
	}
	c.s = &s;
	signal(SIGPIPE, SIG_IGN);
	ps_proc_subreaper();
	ps_proc_guard();
	r = ps_suite_load(&s, &d);
	if (!r)
		r = ps_runner_ready(&s.runner, &d);	/* the hello: methods and features */
	if (r) {
		fprintf(stderr, "procspec run: %s\n", d.msg);
		goto out;
	}
	if (s.expect_path) {
		expect_path = strdup(s.expect_path);
	} else {
		expect_path = ps_expect_default_path(s.impl.label);
	}
	if (!expect_path || ps_expect_load(expect_path, &c.expect, &d)) {
		fprintf(stderr, "procspec run: %s\n", d.msg);
		goto out;
	}
	if (s.expect_path && !c.expect.path) {
		fprintf(stderr, "procspec run: --expect %s: no such file\n", s.expect_path);
		goto out;
	}

	/* Every scenario under every method that applies, in a fixed order. */
	cap = s.n_scenarios * 3 + 1;
	c.entries = calloc(cap, sizeof(*c.entries));
	jobs = calloc(cap, sizeof(*jobs));
	if (!c.entries || !jobs) {
		fprintf(stderr, "procspec run: out of memory\n");
		goto out;
	}
	drv_methods = s.runner.drv->methods;
	for (i = 0; i < s.n_scenarios; i++) {
		const struct ps_scenario *sc = s.scenarios[i];
		const char *feat[PS_MAX_FEATURES];
		size_t nf = ps_scenario_features(sc, feat), k;

		for (m = 1; m <= PS_M_FORKSERVER; m <<= 1) {
			struct entry *en = &c.entries[n];

			if (!(sc->methods & m) || (s.methods && !(s.methods & m)))
				continue;
			en->scenario = i;
			en->method = m;
			en->pre = PS_V_PASS;
			if (!(drv_methods & m)) {
				en->pre = PS_V_NOTRUN;
				en->why = strdup("the implementation has no such start method");
			} else if (s.golden_set) {
				ps_buf_addf(&b, "%s/%s/%s", s.golden_dir, s.golden_set, ps_method_name(m));
				if (!ps_buf_oom(&b) && !dir_exists(b.data)) {
					en->pre = PS_V_NOTRUN;
					if (asprintf(&en->why, "no golden set %s", b.data) < 0)
						en->why = NULL;
				}
				ps_buf_release(&b);
			}
			for (k = 0; k < nf && en->pre == PS_V_PASS; k++) {
				if (!ps_driver_has(s.runner.drv, feat[k])) {
					en->pre = PS_V_UNSUPPORTED;
					if (asprintf(&en->why, "needs %s", feat[k]) < 0)
						en->why = NULL;
				}
			}
			jobs[n].scenario = n;
			jobs[n].method = m;
			n++;
		}
	}
	implementation = strdup(s.runner.drv->implementation);
	/* Workers start their own drivers; this one only said hello. */
	ps_runner_release(&s.runner);

	if (s.report_dir)
		report_dir = *s.report_dir ? strdup(s.report_dir) : NULL;
	else if (ps_buf_addf(&b, "reports/%s", s.impl.label) == 0)
		report_dir = ps_buf_detach(&b);
	ps_report_init(&c.rep, s.impl.label, s.golden_set, report_dir, stdout, n, s.verbose);
	printf("procspec: %s (%s) against %s%s: %zu scenario(s), %zu run(s), %u worker(s)\n",
	       s.impl.label, implementation ? implementation : "?",
	       s.golden_set ? "golden set " : "invariants only", s.golden_set ? s.golden_set : "",
	       s.n_scenarios, n, s.jobs < n ? s.jobs : (unsigned)(n ? n : 1));
	fflush(stdout);
	r = ps_pool_run(jobs, n, s.jobs, &s.runner, run_job, job_done, &c, &d);
	if (r) {
		fprintf(stderr, "procspec run: %s\n", d.msg);
		ps_report_release(&c.rep);
		goto out;
	}
	code = ps_report_finish(&c.rep, implementation);
	if (c.rep.write_err)
		code = PS_EXIT_ERROR;
	ps_report_release(&c.rep);
out:
	for (i = 0; c.entries && i < n; i++)
		free(c.entries[i].why);
	free(c.entries);
	free(jobs);
	free(implementation);
	free(report_dir);
	free(expect_path);
	ps_expect_release(&c.expect);
	ps_suite_release(&s);
	return code;
}

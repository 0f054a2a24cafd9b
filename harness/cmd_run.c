/* procspec run: play scenarios through an implementation and compare with golden. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "commands.h"
#include "outdir.h"
#include "play.h"
#include "proc.h"
#include "report.h"
#include "suite.h"

static const struct ps_command_help help = {
	"run",
	"usage: procspec run [PATH...] --impl IMPL [--golden SET] [options]\n"
	"  IMPL: ref[@X.Y[-O]] | cpython-X.Y[-O] | pypy3 | billiard | multiprocess |\n"
	"        loky | loky-reusable | pebble |\n"
	"        python:INTERPRETER[:MODULE] | cmd:PROGRAM [ARG...]",
	NULL,
};

struct ctx {
	struct ps_report rep;
};

/* The options of run, into s. */
static int options(struct ps_suite *s, int argc, char **argv, struct ps_diag *d)
{
	const struct ps_option opts[] = {
		PS_OPT_IMPL(&s->impl_spec, "the implementation under test (IMPL above)"),
		PS_OPT_GOLDEN(&s->golden_set),
		PS_OPT_GOLDEN_DIR(&s->golden_dir),
		PS_OPT_METHOD(&s->methods, "fork, spawn or forkserver; repeatable "
					   "(default: all that apply)"),
		PS_OPT_PATTERN(&s->patterns),
		PS_OPT_TAG(&s->tags),
		PS_OPT_SHARD(&s->select),
		PS_OPT_JOBS(&s->jobs, "worker processes, each with its own driver (default: CPUs)"),
		PS_OPT_INT(0, "max-failures", &s->max_failures, "N", 0, 1e9,
			   "stop handing out scenarios after N failures"),
		PS_OPT_INT(0, "repeat", &s->repeat, "N", 1, 10000,
			   "play each scenario N times per method; one whose verdicts\n"
			   "or transcripts differ between them is FLAKY (1)"),
		PS_OPT_EXPECT(&s->expect_path,
			      "expected divergences (default: expectations/<impl>.txt)"),
		PS_OPT_REPORT(&s->report_dir,
			      "report directory (default: reports/<impl>; '' for none)"),
		PS_OPT_TIMEOUT(&s->step_timeout),
		PS_OPT_VERBOSE(&s->verbose, "print every transcript"),
		PS_OPT_END(),
	};

	return ps_suite_options(s, &help, opts, argc, argv, d);
}

/* In the parent, in order: report. */
static bool job_done(void *vctx, const struct ps_scenario *sc, const char *method,
		     struct ps_job_result *res)
{
	struct ctx *c = vctx;

	ps_report_add(&c->rep, sc->id, method, res);
	return true;
}

int ps_cmd_run(int argc, char **argv)
{
	struct ps_suite s;
	struct ps_diag d = PS_DIAG_INIT;
	struct ps_play p;
	struct ctx c;
	struct ps_buf b = PS_BUF_INIT;
	char *report_dir = NULL, *golden_auto = NULL, *label = NULL;
	int r, code = PS_EXIT_ERROR, lock_fd = -1;

	memset(&c, 0, sizeof(c));
	memset(&p, 0, sizeof(p));
	ps_suite_init(&s);
	r = options(&s, argc, argv, &d);
	if (r) {
		ps_suite_release(&s);
		return ps_options_exit(r, &d);
	}
	r = ps_suite_load(&s, &d);
	if (!r)
		r = ps_runner_ready(&s.runner,
				    &d); /* the hello: methods, features, what it follows */
	if (!r && s.golden_set && !strcmp(s.golden_set, "auto")) {
		r = ps_impl_golden_auto(s.runner.drv, s.golden_dir, &golden_auto, &d);
		s.golden_set = golden_auto;
	}
	if (!r)
		r = ps_play_init(&p, &s, &d);
	if (r) {
		fprintf(stderr, "procspec run: %s\n", d.msg);
		goto out;
	}

	if (s.report_dir)
		report_dir = *s.report_dir ? strdup(s.report_dir) : NULL;
	else if ((label = ps_outdir_component(s.impl.label)) &&
		 ps_buf_addf(&b, "reports/%s", label) == 0)
		report_dir = ps_buf_detach(&b);
	/* One run per report directory, and its files only (RELIABILITY.md) */
	if (report_dir && (ps_outdir_lock(report_dir, true, &lock_fd, &d) ||
			   (r = ps_outdir_clear_report(report_dir)))) {
		if (r)
			ps_diag(&d, r, "%s: clearing what an earlier run left: %s", report_dir,
				strerror(-r));
		fprintf(stderr, "procspec run: %s\n", d.msg);
		goto out;
	}
	ps_report_init(&c.rep, s.impl.label, s.golden_set, report_dir, stdout, p.n, s.verbose);
	printf("procspec: %s (%s) against %s%s: %zu scenario(s), %zu run(s)", s.impl.label,
	       p.implementation, s.golden_set ? "golden set " : "invariants only",
	       s.golden_set ? s.golden_set : "", s.n_scenarios, p.n);
	if (p.repeat > 1)
		printf(" played %u times each", p.repeat);
	printf(", %u worker(s)\n",
	       s.jobs < p.n_jobs ? s.jobs : (unsigned)(p.n_jobs ? p.n_jobs : 1));
	fflush(stdout);
	r = ps_play_run(&p, job_done, &c, &d);
	if (r) {
		fprintf(stderr, "procspec run: %s\n", d.msg);
		ps_report_release(&c.rep);
		goto out;
	}
	code = ps_report_finish(&c.rep, p.implementation);
	if (c.rep.write_err)
		code = PS_EXIT_ERROR;
	ps_report_release(&c.rep);
out:
	ps_play_release(&p);
	free(report_dir);
	free(label);
	if (lock_fd >= 0)
		close(lock_fd);
	free(golden_auto);
	ps_suite_release(&s);
	return code;
}

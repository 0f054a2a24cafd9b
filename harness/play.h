/*
 * Playing a suite: every scenario of a loaded suite under every start method
 * that applies, through the suite's implementation, judged against its
 * golden set and its expectations.  Shared by `procspec run` (one
 * implementation, reported as it goes) and `procspec matrix` (many, side by
 * side); what happens to each result is the caller's.
 */
#ifndef PS_PLAY_H
#define PS_PLAY_H

#include <stdbool.h>
#include <stddef.h>

#include "diag.h"
#include "expect.h"
#include "pool.h"
#include "suite.h"

/* One run: a scenario under a method, and why it does not run, if it does not. */
struct ps_play_entry {
	size_t scenario;     /* index into the suite's scenarios */
	unsigned method;     /* one enum ps_method bit */
	enum ps_verdict pre; /* PS_V_PASS: to be run; otherwise NOTRUN or UNSUPPORTED */
	char *why;
};

/*
 * Called in the parent, in the suite's fixed order, once per run; return
 * false to stop handing out runs (the rest come back as "not run").
 */
typedef bool (*ps_play_fn)(void *ctx, const struct ps_scenario *sc, const char *method,
			   struct ps_job_result *res);

struct ps_play {
	struct ps_suite *s;
	struct ps_expect expect; /* the implementation's expected divergences */
	struct ps_play_entry *entries;
	struct ps_job *jobs;
	size_t n;                   /* runs */
	size_t n_jobs;              /* n times repeat */
	char *implementation;       /* the driver's hello.implementation */
	unsigned failures;          /* so far, for --max-failures */
	unsigned repeat;            /* plays per entry (run --repeat); jobs hold each one */
	struct ps_job_result *reps; /* the repetitions of the entry being reported */
	size_t n_reps;
	ps_play_fn fn;
	void *ctx;
};

/*
 * Prepare the runs of s, which ps_suite_load() has loaded: say hello to the
 * driver (unless already done), load the expectations (s->expect_path, or
 * expectations/<label>.txt when it exists), and list every scenario under
 * every method within --method, each marked as not run when the driver
 * lacks the method or s->golden_set has no such method, and as unsupported
 * when the driver lacks a feature the scenario uses.  s->golden_set must be
 * final.  The hello driver is stopped: workers start their own.  On
 * failure d says why, worded for "procspec CMD: " to precede it.
 */
int ps_play_init(struct ps_play *p, struct ps_suite *s, struct ps_diag *d);

/*
 * Run the runs on s->jobs workers, calling fn for each result in order.
 * With s->repeat above 1 each run is played that many times and fn gets
 * one result for them all: the first when every repetition gave the same
 * verdict and transcript, else PS_V_FLAKY with every distinct transcript
 * (text), the diffs between them (diff) and each variant as JSON (extra).
 * Stops handing out runs after s->max_failures failures when it is set.
 * 0, or a negative code (d filled) for a harness error.
 */
int ps_play_run(struct ps_play *p, ps_play_fn fn, void *ctx, struct ps_diag *d);

void ps_play_release(struct ps_play *p);

#endif

/*
 * Parallel runs.  Jobs are handed out one at a time to N worker processes
 * (forked copies of the harness, each with its own warm driver), so a slow
 * scenario never holds up the others; results come back over a pipe and are
 * handed to the caller strictly in job order, so output and reports are the
 * same whatever the scheduling.  Every worker is a subreaper and sweeps what
 * its drivers leave behind.
 */
#ifndef PS_POOL_H
#define PS_POOL_H

#include <stdbool.h>
#include <stddef.h>

#include "diag.h"
#include "run.h"

struct ps_job {
	size_t scenario; /* index into the caller's scenario list */
	unsigned method; /* one enum ps_method bit */
};

/* What a worker reports for a job.  All strings malloc'd, may be NULL. */
struct ps_job_result {
	enum ps_verdict verdict;
	char *text;   /* the normalised transcript */
	char *detail; /* why, for anything but a pass */
	char *diff;   /* against golden, when it diverged */
	char *where;  /* "diverges at step N (line L): ..." */
	char *extra;  /* the command's own data, as JSON text */
	double seconds;
};

/* Run in a worker: fill *res for job.  0, or a negative code for a harness error. */
typedef int (*ps_job_fn)(void *ctx, struct ps_runner *rn, const struct ps_job *job,
			 struct ps_job_result *res, struct ps_diag *d);
/* Called in the parent, in job order, once per job; return false to stop handing out jobs. */
typedef bool (*ps_done_fn)(void *ctx, size_t index, const struct ps_job *job,
			   struct ps_job_result *res);

/*
 * Each worker, and so its drivers and everything they start, on a CPU of
 * its own (when there are at least as many CPUs as workers, and two
 * workers or more).  A scenario is a chain of processes that wake one
 * another (harness, driver, scenario process, children); on one CPU each
 * wake-up is a switch, across CPUs an interprocessor interrupt, which on a
 * virtual machine costs ten times as much (make bench).  A pinned worker
 * also yields on wake-ups (proc.h, ps_proc_yield_on_wakeup), so that its
 * drivers run until they block and it takes their replies in bulk.
 */
#define PS_POOL_PIN 1u

/*
 * Run jobs[0..n) on `workers` processes, with flags (PS_POOL_*).  A job never handed out (because
 * done returned false) is reported with verdict PS_V_NOTRUN and detail
 * "not run".  Returns 0, or a negative code (d filled) when a worker failed.
 */
int ps_pool_run(const struct ps_job *jobs, size_t n, unsigned workers, unsigned flags,
		struct ps_runner *proto, ps_job_fn fn, ps_done_fn done, void *ctx,
		struct ps_diag *d);

void ps_job_result_release(struct ps_job_result *r);

#endif

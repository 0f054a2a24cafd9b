/*
 * Reporting a run, all from the same results: the console (a progress line
 * on a terminal, plain lines otherwise, colour only on a terminal and never
 * with NO_COLOR), and under the report directory results.json (for tools),
 * results.tap (TAP version 14, the diff in YAML diagnostics), junit.xml (one
 * testcase per scenario and method, the diff in the failure body), and every
 * scenario's actual transcript and diff.  Every file is written atomically.
 * The console ends with "LABEL: N passed, N failed, N skipped".
 *
 * Each of these outputs is a reporter: one struct ps_reporter of output
 * functions, as Check's srunner output functions (check_log.c), called in
 * turn for every result and once at the end.  The conformance matrix is one
 * too (matrix.h, ps_reporter_matrix).  Adding an output is one reporter and
 * one line in a list.
 */
#ifndef PS_REPORT_H
#define PS_REPORT_H

#include <stdbool.h>
#include <stdio.h>

#include <jansson.h>

#include "buf.h"
#include "pool.h"

struct ps_report;

/* One result, as every reporter sees it. */
struct ps_report_item {
	size_t n;       /* 1 for the first result of the run */
	const char *id; /* scenario id */
	const char *method;
	const struct ps_job_result *res;
};

/* The end of a run, as every reporter sees it. */
struct ps_report_totals {
	const char *implementation; /* the driver's hello, or NULL */
	unsigned failed;            /* failing results, errors included */
	unsigned errors;            /* of those, the driver's (verdicts from PS_V_DRIVER on) */
	unsigned skipped;           /* not applicable or unsupported */
};

struct ps_reporter {
	const char *name;
	/* a result, in the order of the scenarios; NULL: nothing to do */
	void (*add)(struct ps_report *rep, const struct ps_report_item *it);
	/* after the last result: the summary, the files; NULL: nothing to do */
	void (*finish)(struct ps_report *rep, const struct ps_report_totals *t);
};

/* The reporters of a run, in the order they are called. */
extern const struct ps_reporter ps_reporter_console;     /* rep->out */
extern const struct ps_reporter ps_reporter_transcripts; /* DIR/METHOD/ID.actual, .diff */
extern const struct ps_reporter ps_reporter_junit;       /* DIR/junit.xml, $XML_OUTPUT_FILE */
extern const struct ps_reporter ps_reporter_tap;         /* DIR/results.tap */
extern const struct ps_reporter ps_reporter_json;        /* DIR/results.json */

/* NULL-terminated: what ps_report_init() chooses, every reporter above. */
extern const struct ps_reporter *const ps_report_run_reporters[];

struct ps_report {
	const struct ps_reporter *const *reporters; /* NULL-terminated */
	void *sink;              /* what a reporter writes into besides files (matrix.h) */
	const char *label;       /* implementation label */
	const char *against;     /* golden set, or NULL */
	const char *dir;         /* report directory, or NULL for none */
	const char *junit_extra; /* a second JUnit path (Bazel's XML_OUTPUT_FILE), or NULL */
	FILE *out;               /* console */
	bool tty, color, verbose;
	size_t total, done;
	unsigned counts[PS_V_COUNT];
	double seconds;
	json_t *results; /* array */
	json_t *skips;   /* "method: reason" -> count */
	struct ps_buf tap, junit;
	int write_err; /* first failure writing a report file, -errno */
};

/* out is the console; total the number of results to come.  Reporters: every one of a run. */
void ps_report_init(struct ps_report *rep, const char *label, const char *against, const char *dir,
		    FILE *out, size_t total, bool verbose);

/* One scenario under one method. */
void ps_report_add(struct ps_report *rep, const char *id, const char *method,
		   const struct ps_job_result *res);

/* Every reporter's end: the summary, the report files.  Returns 0, or 1 when anything failed. */
int ps_report_finish(struct ps_report *rep, const char *implementation);

void ps_report_release(struct ps_report *rep);

/* Whether a verdict makes the run fail. */
bool ps_verdict_failed(enum ps_verdict v);

#endif

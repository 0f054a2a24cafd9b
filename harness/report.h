/*
 * Reporting a run, all from the same results: the console (a progress line
 * on a terminal, plain lines otherwise, colour only on a terminal and never
 * with NO_COLOR), and under the report directory results.json (for tools),
 * results.tap (TAP version 14, the diff in YAML diagnostics), junit.xml (one
 * testcase per scenario and method, the diff in the failure body), and every
 * scenario's actual transcript and diff.  Every file is written atomically.
 * The console ends with "LABEL: N passed, N failed, N skipped".
 */
#ifndef PS_REPORT_H
#define PS_REPORT_H

#include <stdbool.h>
#include <stdio.h>

#include <jansson.h>

#include "buf.h"
#include "pool.h"

struct ps_report {
	const char *label;	/* implementation label */
	const char *against;	/* golden set, or NULL */
	const char *dir;	/* report directory, or NULL for none */
	const char *junit_extra;	/* a second JUnit path (Bazel's XML_OUTPUT_FILE), or NULL */
	FILE *out;		/* console */
	bool tty, color, verbose;
	size_t total, done;
	unsigned counts[PS_V_COUNT];
	double seconds;
	json_t *results;	/* array */
	json_t *skips;		/* "method: reason" -> count */
	struct ps_buf tap, junit;
	int write_err;		/* first failure writing a report file, -errno */
};

/* out is the console; total the number of results to come. */
void ps_report_init(struct ps_report *rep, const char *label, const char *against,
		    const char *dir, FILE *out, size_t total, bool verbose);

/* One scenario under one method. */
void ps_report_add(struct ps_report *rep, const char *id, const char *method,
		   const struct ps_job_result *res);

/* Print the summary and write the report files.  Returns 0, or 1 when anything failed. */
int ps_report_finish(struct ps_report *rep, const char *implementation);

void ps_report_release(struct ps_report *rep);

/* Whether a verdict makes the run fail. */
bool ps_verdict_failed(enum ps_verdict v);

#endif

/*
 * Reporting a run: one console line per scenario and method (with the diff
 * or the reason under a failure), the closing summary line, and the files
 * under the report directory: results.json, and for every scenario its
 * actual transcript and, when it diverged, the diff.  Every file is written
 * atomically.
 */
#ifndef PS_REPORT_H
#define PS_REPORT_H

#include <stdbool.h>
#include <stdio.h>

#include <jansson.h>

#include "run.h"

struct ps_report {
	const char *label;	/* implementation label */
	const char *against;	/* golden set, or NULL */
	const char *dir;	/* report directory, or NULL for none */
	FILE *out;		/* console */
	unsigned counts[PS_V_COUNT];
	json_t *results;	/* array */
	json_t *skips;		/* "method: reason" -> count */
	int write_err;		/* first failure writing a report file, -errno */
};

void ps_report_init(struct ps_report *rep, const char *label, const char *against,
		    const char *dir, FILE *out);

/* One scenario under one method; diff may be NULL. */
void ps_report_add(struct ps_report *rep, const char *id, const char *method,
		   const struct ps_outcome *o, const char *diff, const char *where, bool verbose);

/* Print the summary line and write results.json.  Returns the run's exit code: 0 or 1. */
int ps_report_finish(struct ps_report *rep, const char *implementation);

void ps_report_release(struct ps_report *rep);

#endif

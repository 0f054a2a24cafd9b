/*
 * The protocol checker behind `procspec driver-check`: runs a driver through
 * every message of docs/PROTOCOL.md and its edge cases, one numbered check
 * at a time, and says for each what the protocol requires and, when the
 * driver gets it wrong, the line it sent and what was expected instead.
 *
 * A check is MUST (the harness cannot work with a driver that gets it
 * wrong: a failure) or SHOULD (the harness copes, but a port should not
 * rely on it: a warning).  A driver that hangs, breaks the framing or dies
 * is killed with its process group and the next check gets a fresh one;
 * after two time-outs the checks that need a driver are skipped rather than
 * waited for again.  Nothing the driver started is left running.
 */
#ifndef PS_CONFORM_H
#define PS_CONFORM_H

#include <stdbool.h>
#include <stdio.h>

#include "diag.h"

struct ps_conform_opts {
	char **argv;          /* the driver's argv, NULL-terminated */
	const char *method;   /* behaviours run under it; NULL: fork if declared, else the first */
	double timeout;       /* seconds per reply, already scaled */
	double hello_timeout; /* seconds for the hello, already scaled */
	bool verbose;         /* show every exchange, not only a failure's */
	FILE *out;            /* where the check lines go */
};

struct ps_conform_summary {
	int ok, fail, warn, skip;
	double seconds;
};

/*
 * Run every check against the driver o->argv, printing one line per check
 * (and the detail of each failure and warning) to o->out.  Returns 0 with
 * *s filled whatever the driver did; a negative code only for a harness
 * failure (d says why).  The caller decides the exit code from s->fail.
 */
int ps_conform_run(const struct ps_conform_opts *o, struct ps_conform_summary *s,
		   struct ps_diag *d);

#endif

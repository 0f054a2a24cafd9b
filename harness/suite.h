/*
 * A suite: the scenarios named on the command line, each under every start
 * method that applies, played through one implementation.  Shared by the
 * run and capture commands; what to do with each outcome is theirs.
 */
#ifndef PS_SUITE_H
#define PS_SUITE_H

#include <stdbool.h>
#include <stddef.h>

#include "diag.h"
#include "impl.h"
#include "run.h"
#include "scenario.h"
#include "select.h"

/* The longest name in a scenario id: NAME_MAX with room for ".actual.XXXXXX.tmp" */
#define PS_MAX_ID_NAME (255 - (int)sizeof(".actual.XXXXXX.tmp") + 1)

struct ps_suite {
	/* filled by ps_suite_options() */
	struct ps_impl impl;
	unsigned methods;	/* --method bits; 0 when none were given */
	char *const *paths;	/* scenario files and directories */
	size_t n_paths;
	const char *root;	/* scenario ids are relative to this */
	double step_timeout;	/* seconds, unscaled (--timeout) */
	bool verbose;		/* -v: print every transcript */
	/* the command's own options, when it takes them */
	const char *golden_set;
	const char *golden_dir;
	const char *report_dir;
	const char *out_set;
	bool replace;		/* capture --replace: accept the new set */
	struct ps_select select;	/* -k, --tag, --shard (run only) */
	unsigned jobs;		/* -j: worker processes, default the number of CPUs */
	unsigned max_failures;	/* --max-failures: 0 for no limit */
	const char *expect_path;	/* --expect FILE */
	/* filled by ps_suite_load() */
	struct ps_scenario **scenarios;
	size_t n_scenarios;
	struct ps_runner runner;
};

/*
 * Parse argv (getopt_long style, argv[0] the subcommand).  Recognised:
 * --impl SPEC, --method M (repeatable), --timeout S, -v, -j N, -k PATTERN,
 * --tag TAG, --shard K/N and, where the command takes them, --golden SET,
 * --golden-dir DIR, --report DIR, --expect FILE, --max-failures N (run),
 * --set NAME, --replace (capture).  PS_EUSAGE with d filled on bad usage.
 */
int ps_suite_options(struct ps_suite *s, int argc, char **argv, const char *usage,
		     bool takes_golden, bool takes_set, struct ps_diag *d);

/*
 * Discover and parse every scenario (all parse errors are printed to
 * stderr), then keep those the selection options and Bazel's sharding
 * variables choose.
 */
int ps_suite_load(struct ps_suite *s, struct ps_diag *d);

/*
 * The methods to play sc under: the scenario's, within --method when given,
 * within those the driver declared.
 */
unsigned ps_suite_methods(const struct ps_suite *s, const struct ps_scenario *sc);

void ps_suite_release(struct ps_suite *s);

#endif

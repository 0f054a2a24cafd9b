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
#include "options.h"
#include "run.h"
#include "scenario.h"
#include "select.h"

/* The longest name in a scenario id: NAME_MAX with room for ".actual.XXXXXX.tmp" */
#define PS_MAX_ID_NAME (255 - (int)sizeof(".actual.XXXXXX.tmp") + 1)

struct ps_suite {
	/* set by ps_suite_init(), filled from the command's option table */
	const char *impl_spec; /* --impl */
	unsigned methods;      /* --method bits; 0 when none were given */
	double step_timeout;   /* seconds, unscaled (--timeout) */
	bool verbose;          /* -v: print every transcript */
	const char *golden_set;
	const char *golden_dir;
	const char *report_dir;
	const char *out_set;
	bool replace;            /* capture --replace: accept the new set */
	struct ps_strv patterns; /* -k, handed to select by ps_suite_options() */
	struct ps_strv tags;     /* --tag, likewise */
	struct ps_select select; /* -k, --tag, --shard */
	unsigned jobs;           /* -j: worker processes, default the number of CPUs */
	unsigned max_failures;   /* --max-failures: 0 for no limit */
	unsigned repeat;         /* run --repeat: plays of each scenario and method (1) */
	const char *expect_path; /* --expect FILE */
	/* filled by ps_suite_options() */
	struct ps_impl impl;
	struct ps_strv args; /* the arguments that are not options */
	char *const *paths;  /* scenario files and directories */
	size_t n_paths;
	const char *root; /* scenario ids are relative to this */
	/* filled by ps_suite_load() */
	struct ps_scenario **scenarios;
	size_t n_scenarios;
	struct ps_runner runner;
};

/* The defaults: golden/, scenarios/, 10 s per reply, as many workers as CPUs. */
void ps_suite_init(struct ps_suite *s);

/*
 * Parse argv (argv[0] the subcommand) against the command's table, whose
 * destinations are s's fields, then take the paths and parse --impl, which
 * is required.  PS_OPT_HELP_SHOWN after --help; PS_EUSAGE with d filled on
 * bad usage.  s must be released by ps_suite_release() in every case.
 */
int ps_suite_options(struct ps_suite *s, const struct ps_command_help *cmd,
		     const struct ps_option *opts, int argc, char **argv, struct ps_diag *d);
/* The two halves of ps_suite_options(), for a command that looks at its options in between. */
int ps_suite_parse(struct ps_suite *s, const struct ps_command_help *cmd,
		   const struct ps_option *opts, int argc, char **argv, struct ps_diag *d);
int ps_suite_finish(struct ps_suite *s, const struct ps_command_help *cmd, struct ps_diag *d);

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

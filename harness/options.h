/*
 * The one option parser of every subcommand, in the manner of git's
 * parse-options.h: a command declares its options in a table of struct
 * ps_option, ending with PS_OPT_END(); ps_options_parse() fills the
 * destinations, and `--help` / `-h` print the table.  Options shared by
 * several commands are declared once below (PS_OPT_IMPL, PS_OPT_TIMEOUT,
 * ...) and take only their destination.
 *
 * Syntax, as getopt_long's: `--name VALUE`, `--name=VALUE`, `-x VALUE`,
 * `-xVALUE`, flags bundled (`-vx`), options and arguments in any order,
 * `--` ends the options.  No abbreviations: a long name is spelt out.
 */
#ifndef PS_OPTIONS_H
#define PS_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "diag.h"

enum ps_opt_type {
	PS_OPT_END_,      /* ends a table */
	PS_OPT_FLAG_,     /* bool *: set to true */
	PS_OPT_INT_,      /* unsigned *: a decimal integer in [min, max] */
	PS_OPT_U64_,      /* uint64_t *: a decimal integer in [min, max] */
	PS_OPT_DOUBLE_,   /* double *: a finite number in [min, max] (or (min, max]) */
	PS_OPT_STRING_,   /* const char **: the last value given */
	PS_OPT_LIST_,     /* struct ps_strv *: every value given, in order */
	PS_OPT_CALLBACK_, /* cb(opt, value, d) for a value of its own syntax */
};

/* What a list option collects: the values (borrowed from argv), owned array. */
struct ps_strv {
	char **v;
	size_t n;
};

#define PS_STRV_INIT    \
	{               \
		NULL, 0 \
	}

void ps_strv_release(struct ps_strv *sv);

/* A value checked beyond its type: the minimum excluded (a time > 0). */
#define PS_OPTF_GT_MIN 1u

struct ps_option {
	enum ps_opt_type type;
	char short_name;       /* 0: none */
	const char *long_name; /* NULL: none */
	void *value;           /* the destination, of the type's pointer type */
	const char *argh;      /* the value's name in --help ("N", "DIR"); NULL for a flag */
	const char *help;      /* one line or more, '\n'-separated */
	double min, max;       /* INT, U64, DOUBLE: the accepted range */
	unsigned flags;        /* PS_OPTF_* */
	bool *seen;            /* set when the option is given, if not NULL */
	/* CALLBACK: 0, or a negative code with d filled, naming the option */
	int (*cb)(const struct ps_option *opt, const char *arg, struct ps_diag *d);
};

/* The generic forms.  S: short name or 0, L: long name or NULL, V: destination. */
#define PS_OPT_END()                \
	{                           \
		.type = PS_OPT_END_ \
	}
#define PS_OPT_FLAG(S, L, V, H)                                                          \
	{                                                                                \
		.type = PS_OPT_FLAG_, .short_name = (S), .long_name = (L), .value = (V), \
		.help = (H)                                                              \
	}
#define PS_OPT_INT(S, L, V, A, MIN, MAX, H)                                             \
	{                                                                               \
		.type = PS_OPT_INT_, .short_name = (S), .long_name = (L), .value = (V), \
		.argh = (A), .help = (H), .min = (MIN), .max = (MAX)                    \
	}
#define PS_OPT_U64(S, L, V, A, MIN, MAX, H)                                             \
	{                                                                               \
		.type = PS_OPT_U64_, .short_name = (S), .long_name = (L), .value = (V), \
		.argh = (A), .help = (H), .min = (MIN), .max = (MAX)                    \
	}
#define PS_OPT_DOUBLE(S, L, V, A, MIN, MAX, F, H)                                          \
	{                                                                                  \
		.type = PS_OPT_DOUBLE_, .short_name = (S), .long_name = (L), .value = (V), \
		.argh = (A), .help = (H), .min = (MIN), .max = (MAX), .flags = (F)         \
	}
#define PS_OPT_STRING(S, L, V, A, H)                                                       \
	{                                                                                  \
		.type = PS_OPT_STRING_, .short_name = (S), .long_name = (L), .value = (V), \
		.argh = (A), .help = (H)                                                   \
	}
#define PS_OPT_LIST(S, L, V, A, H)                                                       \
	{                                                                                \
		.type = PS_OPT_LIST_, .short_name = (S), .long_name = (L), .value = (V), \
		.argh = (A), .help = (H)                                                 \
	}
#define PS_OPT_CALLBACK(S, L, V, A, CB, H)                                                   \
	{                                                                                    \
		.type = PS_OPT_CALLBACK_, .short_name = (S), .long_name = (L), .value = (V), \
		.argh = (A), .help = (H), .cb = (CB)                                         \
	}

/*
 * Limits on times, in seconds.  A driver reply is waited for in poll()'s
 * int milliseconds, after PROCSPEC_TIMEOUT_MULTIPLIER: 3600 s times 100
 * stays far below INT_MAX ms.  nan, inf and 1e300 are refused, never taken
 * as "no limit".
 */
#define PS_TIMEOUT_MAX         3600.0
#define PS_MULTIPLIER_MAX      100.0
#define PS_SESSION_SECONDS_MAX 1e7

/* The options several commands share, each declared once. */
#define PS_OPT_IMPL(V, H) PS_OPT_STRING('i', "impl", (V), "IMPL", (H))
#define PS_OPT_GOLDEN(V)                                                                \
	PS_OPT_STRING(0, "golden", (V), "SET",                                          \
		      "compare with golden/SET/<method>/ (without it, only crashes,\n"  \
		      "hangs and leaks fail); 'auto': the set of the CPython version\n" \
		      "the implementation follows, from its driver's hello")
#define PS_OPT_GOLDEN_DIR(V) \
	PS_OPT_STRING(0, "golden-dir", (V), "DIR", "where golden sets live (golden)")
#define PS_OPT_REPORT(V, H) PS_OPT_STRING(0, "report", (V), "DIR", (H))
#define PS_OPT_EXPECT(V, H) PS_OPT_STRING(0, "expect", (V), "FILE", (H))
#define PS_OPT_METHOD(V, H) PS_OPT_CALLBACK('m', "method", (V), "M", ps_opt_method, (H))
#define PS_OPT_PATTERN(V)                      \
	PS_OPT_LIST('k', NULL, (V), "PATTERN", \
		    "scenario ids matching a glob, or containing a text; repeatable")
#define PS_OPT_TAG(V) PS_OPT_LIST(0, "tag", (V), "TAG", "scenarios with this tag; repeatable")
#define PS_OPT_SHARD(V)                                       \
	PS_OPT_CALLBACK(0, "shard", (V), "K/N", ps_opt_shard, \
			"the K-th of N shards (also TEST_TOTAL_SHARDS/TEST_SHARD_INDEX)")
#define PS_OPT_JOBS(V, H) PS_OPT_INT('j', "jobs", (V), "N", 1, 4096, (H))
#define PS_OPT_TIMEOUT(V)                                                          \
	PS_OPT_DOUBLE('t', "timeout", (V), "S", 0, PS_TIMEOUT_MAX, PS_OPTF_GT_MIN, \
		      "seconds per driver reply (10, times PROCSPEC_TIMEOUT_MULTIPLIER)")
#define PS_OPT_VERBOSE(V, H) PS_OPT_FLAG('v', "verbose", (V), (H))

/* --method M: ORs M's bit into the unsigned at opt->value. */
int ps_opt_method(const struct ps_option *opt, const char *arg, struct ps_diag *d);
/* --shard K/N: into the struct ps_select at opt->value. */
int ps_opt_shard(const struct ps_option *opt, const char *arg, struct ps_diag *d);

/* How a command describes itself for --help and for its errors. */
struct ps_command_help {
	const char *name;   /* "run": errors read "procspec run: ..." */
	const char *usage;  /* "usage: ..." lines, then any text before the options */
	const char *footer; /* text after the options, or NULL */
};

/* ps_options_parse() results besides 0 and a negative code. */
#define PS_OPT_HELP_SHOWN 1

/*
 * Parse argv[1 .. argc-1] (argv[0] is the command) against opts.  The
 * arguments that are not options go, in order, to args (NULL: none
 * accepted, and one is an error); with stop_at_dashdash, `--` and what
 * follows are left in argv, and *rest points at what follows (NULL when
 * there was no `--`).  `--help` or `-h` prints the help on stdout and
 * returns PS_OPT_HELP_SHOWN.  An unknown option, a missing value or one out
 * of range is PS_EUSAGE with d naming the command and the option.  args
 * must be released by the caller in every case.
 */
int ps_options_parse(const struct ps_command_help *cmd, const struct ps_option *opts, int argc,
		     char **argv, struct ps_strv *args, char ***rest, struct ps_diag *d);

/*
 * The exit code of a command that stops on a nonzero result r of
 * ps_options_parse(): PS_EXIT_OK after --help, else PS_EXIT_ERROR with d's
 * message (which names the command) printed on stderr.
 */
int ps_options_exit(int r, const struct ps_diag *d);

/* The help of a command, from its table. */
void ps_options_usage(FILE *out, const struct ps_command_help *cmd, const struct ps_option *opts);

/*
 * A number of seconds or a multiplier, as an option value or from the
 * environment: the whole text a finite number in [min, max] ((min, max]
 * with PS_OPTF_GT_MIN).  what names it in d ("--timeout").  0 or PS_EUSAGE.
 */
int ps_opt_parse_double(const char *what, const char *text, double min, double max, unsigned flags,
			double *out, struct ps_diag *d);

#endif

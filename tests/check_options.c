/* The option parser (harness/options.h): what is accepted, what is refused and how it is named. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "options.h"
#include "scenario.h"
#include "suites.h"

static const struct ps_command_help cmd = { "demo", "usage: procspec demo [X...]", "the end" };

struct vals {
	bool verbose, quiet, seen_seconds;
	unsigned jobs, methods;
	uint64_t runs;
	double timeout, seconds;
	const char *impl;
	struct ps_strv k;
};

/* Parse the NULL-terminated words after "demo"; positional arguments go to args. */
static int parse(struct vals *v, struct ps_strv *args, char ***rest, struct ps_diag *d, ...)
{
	const struct ps_option opts[] = {
		PS_OPT_IMPL(&v->impl, "the implementation"),
		PS_OPT_VERBOSE(&v->verbose, "say more"),
		PS_OPT_FLAG('q', NULL, &v->quiet, "say less"),
		PS_OPT_JOBS(&v->jobs, "workers"),
		PS_OPT_U64(0, "runs", &v->runs, "N", 1, 1e15, "runs"),
		PS_OPT_TIMEOUT(&v->timeout),
		{ .type = PS_OPT_DOUBLE_,
		  .long_name = "seconds",
		  .value = &v->seconds,
		  .argh = "N",
		  .min = 0,
		  .max = PS_SESSION_SECONDS_MAX,
		  .flags = PS_OPTF_GT_MIN,
		  .seen = &v->seen_seconds,
		  .help = "how long" },
		PS_OPT_PATTERN(&v->k),
		PS_OPT_METHOD(&v->methods, "start method"),
		PS_OPT_END(),
	};
	char *argv[32] = { "demo" };
	int argc = 1;
	va_list ap;
	char *w;

	va_start(ap, d);
	while ((w = va_arg(ap, char *)) && argc < 31)
		argv[argc++] = w;
	va_end(ap);
	memset(v, 0, sizeof(*v));
	v->timeout = 10;
	return ps_options_parse(&cmd, opts, argc, argv, args, rest, d);
}

START_TEST(test_values)
{
	struct ps_diag d = PS_DIAG_INIT;
	struct ps_strv args = PS_STRV_INIT;
	struct vals v;
	int r;

	r = parse(&v, &args, NULL, &d, "a", "--impl", "ref", "-vq", "-j4", "b", "--runs=7",
		  "--timeout", "2.5", "-k", "x*", "-ky", "--method", "spawn", "-m", "fork", NULL);
	ck_assert_msg(r == 0, "parse: %d %s", r, d.msg);
	ck_assert_str_eq(v.impl, "ref");
	ck_assert(v.verbose && v.quiet);
	ck_assert_uint_eq(v.jobs, 4);
	ck_assert_uint_eq(v.runs, 7);
	ck_assert_double_eq(v.timeout, 2.5);
	ck_assert_uint_eq(v.k.n, 2);
	ck_assert_str_eq(v.k.v[0], "x*");
	ck_assert_str_eq(v.k.v[1], "y");
	ck_assert_uint_eq(v.methods, PS_M_SPAWN | PS_M_FORK);
	ck_assert(!v.seen_seconds);
	/* arguments keep their order, wherever the options are */
	ck_assert_uint_eq(args.n, 2);
	ck_assert_str_eq(args.v[0], "a");
	ck_assert_str_eq(args.v[1], "b");
	ps_strv_release(&v.k);
	ps_strv_release(&args);
}
END_TEST

START_TEST(test_dashdash)
{
	struct ps_diag d = PS_DIAG_INIT;
	struct ps_strv args = PS_STRV_INIT;
	struct vals v;
	char **rest;
	int r;

	/* with rest: `--` ends the options and leaves what follows, options or not */
	r = parse(&v, NULL, &rest, &d, "-v", "--", "prog", "--impl", "x", NULL);
	ck_assert_msg(r == 0, "%s", d.msg);
	ck_assert_ptr_nonnull(rest);
	ck_assert_str_eq(rest[0], "prog");
	ck_assert_str_eq(rest[1], "--impl");
	ck_assert_ptr_null(v.impl);
	/* without: what follows `--` is arguments */
	r = parse(&v, &args, NULL, &d, "--", "-v", NULL);
	ck_assert_msg(r == 0, "%s", d.msg);
	ck_assert(!v.verbose);
	ck_assert_uint_eq(args.n, 1);
	ck_assert_str_eq(args.v[0], "-v");
	ps_strv_release(&args);
	/* a command without arguments names the one it was given */
	r = parse(&v, NULL, NULL, &d, "-v", "stray", NULL);
	ck_assert_int_eq(r, PS_EUSAGE);
	ck_assert_str_eq(d.msg, "procspec demo: unexpected argument 'stray'");
}
END_TEST

/* Each of these is refused with exit-2 usage, and the message says what was wrong. */
static const struct {
	const char *words[3];
	const char *msg;
} refused[] = {
	{ { "--frob" }, "procspec demo: unknown option '--frob'" },
	{ { "--frob=1" }, "procspec demo: unknown option '--frob'" },
	{ { "-x" }, "procspec demo: unknown option '-x'" },
	{ { "-vx" }, "procspec demo: unknown option '-x'" },
	{ { "--imp", "ref" }, "procspec demo: unknown option '--imp'" },
	{ { "--impl" }, "procspec demo: option '--impl' needs a value (IMPL)" },
	{ { "-j" }, "procspec demo: option '-j' needs a value (N)" },
	{ { "--verbose=yes" }, "procspec demo: option '--verbose' takes no value" },
	{ { "-j", "0" }, "procspec demo: -j '0': expected a number from 1 to 4096" },
	{ { "--jobs", "4x" }, "procspec demo: --jobs '4x': expected a number from 1 to 4096" },
	{ { "--jobs", "-1" }, "procspec demo: --jobs '-1': expected a number from 1 to 4096" },
	{ { "--jobs", "" }, "procspec demo: --jobs '': expected a number from 1 to 4096" },
	{ { "--runs", "99999999999999999999999" }, "procspec demo: --runs '9999999999" },
	{ { "--timeout", "nan" }, "procspec demo: --timeout 'nan': expected a number above 0" },
	{ { "--timeout", "inf" }, "procspec demo: --timeout 'inf': expected a number above 0" },
	{ { "--timeout", "-inf" }, "procspec demo: --timeout '-inf': expected a number above 0" },
	{ { "--timeout", "1e300" }, "procspec demo: --timeout '1e300': expected a number above 0" },
	{ { "--timeout", "1e999" }, "procspec demo: --timeout '1e999': expected a number above 0" },
	{ { "--timeout", "0" }, "procspec demo: --timeout '0': expected a number above 0" },
	{ { "-t", "3601" },
	  "procspec demo: -t '3601': expected a number above 0 and at most 3600" },
	{ { "--timeout", "1s" }, "procspec demo: --timeout '1s'" },
	{ { "--seconds", "nan" }, "procspec demo: --seconds 'nan'" },
	{ { "--seconds", "0" }, "procspec demo: --seconds '0'" },
	{ { "--method", "vfork" }, "procspec demo: --method vfork: unknown start method" },
};

START_TEST(test_refused)
{
	struct ps_diag d = PS_DIAG_INIT;
	struct vals v;
	int r;

	r = parse(&v, NULL, NULL, &d, refused[_i].words[0], refused[_i].words[1],
		  refused[_i].words[2], NULL);
	ck_assert_msg(r == PS_EUSAGE, "%s %s: returned %d, want PS_EUSAGE", refused[_i].words[0],
		      refused[_i].words[1] ? refused[_i].words[1] : "", r);
	ck_assert_msg(!strncmp(d.msg, refused[_i].msg, strlen(refused[_i].msg)),
		      "got '%s', want it to begin '%s'", d.msg, refused[_i].msg);
	ps_strv_release(&v.k);
}
END_TEST

START_TEST(test_limits_kept)
{
	struct ps_diag d = PS_DIAG_INIT;
	struct vals v;

	ck_assert_int_eq(parse(&v, NULL, NULL, &d, "--timeout", "3600", "--seconds", "1e-3", NULL),
			 0);
	ck_assert_double_eq(v.timeout, 3600);
	ck_assert(v.seen_seconds);
	ck_assert_double_eq(v.seconds, 1e-3);
	ck_assert_int_eq(parse(&v, NULL, NULL, &d, "-j", "4096", NULL), 0);
	ck_assert_uint_eq(v.jobs, 4096);
}
END_TEST

START_TEST(test_env_double)
{
	struct ps_diag d = PS_DIAG_INIT;
	double x = -1;

	ck_assert_int_eq(
		ps_opt_parse_double("M", "1e308", 0, PS_MULTIPLIER_MAX, PS_OPTF_GT_MIN, &x, &d),
		PS_EUSAGE);
	ck_assert_str_eq(d.msg, "M '1e308': expected a number above 0 and at most 100");
	ck_assert_int_eq(ps_opt_parse_double("M", "fast", 0, 100, PS_OPTF_GT_MIN, &x, &d),
			 PS_EUSAGE);
	ck_assert_int_eq(ps_opt_parse_double("M", " 4", 0, 100, PS_OPTF_GT_MIN, &x, &d), 0);
	ck_assert_double_eq(x, 4);
	ck_assert_int_eq(ps_opt_parse_double("M", "0", 0, 100, 0, &x, &d), 0);
	ck_assert_double_eq(x, 0);
}
END_TEST

START_TEST(test_help)
{
	const struct ps_option opts[] = {
		PS_OPT_IMPL(NULL, "the implementation"),
		PS_OPT_GOLDEN(NULL),
		PS_OPT_PATTERN(NULL),
		PS_OPT_STRING(0, "a-rather-long-option", NULL, "VALUE", "wrapped below"),
		PS_OPT_END(),
	};
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	ck_assert_ptr_nonnull(f);
	ps_options_usage(f, &cmd, opts);
	fclose(f);
	ck_assert_str_eq(
		buf, "usage: procspec demo [X...]\n"
		     "  -i, --impl IMPL     the implementation\n"
		     "  --golden SET        compare with golden/SET/<method>/ (without it, only "
		     "crashes,\n"
		     "                      hangs and leaks fail); 'auto': the set of the CPython "
		     "version\n"
		     "                      the implementation follows, from its driver's hello\n"
		     "  -k PATTERN          scenario ids matching a glob, or containing a text; "
		     "repeatable\n"
		     "  --a-rather-long-option VALUE\n"
		     "                      wrapped below\n"
		     "  -h, --help          this help\n"
		     "the end\n");
	free(buf);
}
END_TEST

Suite *options_suite(void)
{
	const struct ps_test tests[] = { PS_TEST(test_values),
					 PS_TEST(test_dashdash),
					 PS_LOOP(test_refused, ARRAY_SIZE(refused)),
					 PS_TEST(test_limits_kept),
					 PS_TEST(test_env_double),
					 PS_TEST(test_help) };
	const struct ps_case cases[] = {
		{ PS_CASE("parse", tests) },
	};

	return ps_suite("options", cases, ARRAY_SIZE(cases));
}

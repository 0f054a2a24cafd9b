/* One Check suite per module under test; check_main.c runs them all. */
#ifndef PS_TESTS_SUITES_H
#define PS_TESTS_SUITES_H

#include <check.h>
#include <stddef.h>

#include "util.h"

/* A test of a case; loops > 0 runs it once for each _i in [0, loops) */
struct ps_test {
	const TTest *test;
	int loops;
};
#define PS_TEST(t)     \
	{              \
		(t), 0 \
	}
#define PS_LOOP(t, n)         \
	{                     \
		(t), (int)(n) \
	}

/* One TCase: a checked fixture (NULL: none), a timeout in seconds (0: Check's) */
struct ps_case {
	const char *name;
	SFun setup, teardown;
	int timeout;
	const struct ps_test *tests;
	size_t ntests;
};

/* A case's name and table of tests, in a struct ps_case initializer */
#define PS_CASE(n, t) .name = (n), .tests = (t), .ntests = ARRAY_SIZE(t)

/* The suite NAME, a TCase for each of CASES (tests/check_util.c) */
Suite *ps_suite(const char *name, const struct ps_case *cases, size_t ncases);

Suite *scenario_suite(void);    /* tests/check_scenario.c: the parser */
Suite *normalize_suite(void);   /* tests/check_normalize.c */
Suite *golden_suite(void);      /* tests/check_golden.c: the differ */
Suite *fault_suite(void);       /* tests/check_fault.c: the fault library and verbs */
Suite *procref_suite(void);     /* tests/check_procref.c: libprocref */
Suite *options_suite(void);     /* tests/check_options.c: the option parser */
Suite *report_suite(void);      /* tests/check_report.c: the reporter interface */
Suite *reliability_suite(void); /* tests/check_reliability.c: hostile input to the plumbing */
Suite *executor_suite(void);    /* tests/check_executor.c: its executor */

/* The checked fixture's setup of a test of libprocref: pr_init() on SIGTERM's default */
void ps_procref_setup(void);

#endif

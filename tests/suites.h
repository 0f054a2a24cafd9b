/* One Check suite per module under test; check_main.c runs them all. */
#ifndef PS_TESTS_SUITES_H
#define PS_TESTS_SUITES_H

#include <check.h>

Suite *scenario_suite(void);    /* tests/check_scenario.c: the parser */
Suite *normalize_suite(void);   /* tests/check_normalize.c */
Suite *golden_suite(void);      /* tests/check_golden.c: the differ */
Suite *fault_suite(void);       /* tests/check_fault.c: the fault library and verbs */
Suite *procref_suite(void);     /* tests/check_procref.c: libprocref */
Suite *options_suite(void);     /* tests/check_options.c: the option parser */
Suite *report_suite(void);      /* tests/check_report.c: the reporter interface */
Suite *reliability_suite(void); /* tests/check_reliability.c: hostile input to the plumbing */
Suite *executor_suite(void);    /* tests/check_executor.c: its executor */

#endif

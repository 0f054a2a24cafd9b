/* Runs every Check suite; CK_FORK and CK_RUN_SUITE work as usual. */
#include <stdlib.h>

#include "suites.h"

int main(void)
{
	SRunner *sr = srunner_create(scenario_suite());
	int failed;

	srunner_add_suite(sr, normalize_suite());
	srunner_add_suite(sr, golden_suite());
	srunner_add_suite(sr, fault_suite());
	srunner_add_suite(sr, procref_suite());
	srunner_add_suite(sr, options_suite());
	srunner_add_suite(sr, report_suite());
	srunner_add_suite(sr, reliability_suite());
	srunner_add_suite(sr, executor_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

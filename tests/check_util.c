/* What the suites of tests/ share: building a Suite from tables of its tests, fixtures. */
#include <check.h>
#include <signal.h>
#include <stddef.h>

#include "procref.h"
#include "suites.h"

/* Check runs the tests of a case in the order they are added: the table's order */
static TCase *ps_tcase(const struct ps_case *c)
{
	TCase *tc = tcase_create(c->name);
	size_t i;

	if (c->setup || c->teardown)
		tcase_add_checked_fixture(tc, c->setup, c->teardown);
	if (c->timeout > 0)
		tcase_set_timeout(tc, c->timeout);
	for (i = 0; i < c->ntests; i++) {
		if (c->tests[i].loops > 0)
			tcase_add_loop_test(tc, c->tests[i].test, 0, c->tests[i].loops);
		else
			tcase_add_test(tc, c->tests[i].test);
	}
	return tc;
}

Suite *ps_suite(const char *name, const struct ps_case *cases, size_t ncases)
{
	Suite *s = suite_create(name);
	size_t i;

	for (i = 0; i < ncases; i++)
		suite_add_tcase(s, ps_tcase(&cases[i]));
	return s;
}

void ps_procref_setup(void)
{
	struct pr_diag d = PR_DIAG_INIT;

	/* Check's test process hands a SIGTERM on to its whole process
	 * group; a child that terminate() reaches must just die */
	signal(SIGTERM, SIG_DFL);
	ck_assert_int_eq(pr_init(&d), 0);
	pr_diag_clear(&d);
}

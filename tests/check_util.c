/* What every suite of tests/ shares: building a Suite from tables of its tests. */
#include <check.h>
#include <stddef.h>

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

/* Golden files: paths, headers, reading without the header, and the unified diff. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "file.h"
#include "golden.h"
#include "suites.h"

static char *diff(const char *a, const char *b)
{
	int oom = 0;
	char *d = ps_diff_unified(a, b, "golden", "actual", &oom);

	ck_assert_int_eq(oom, 0);
	return d;
}

START_TEST(test_equal_is_no_diff)
{
	ck_assert_ptr_null(diff("a\nb\n", "a\nb\n"));
	ck_assert_ptr_null(diff("", ""));
}
END_TEST

START_TEST(test_one_line_changed)
{
	char *d = diff(
		">>> p = Process()\n>>> p.start()\n>>> p.exitcode\n0\n>>> p\n<P>\n--- end\n",
		">>> p = Process()\n>>> p.start()\n>>> p.exitcode\n1\n>>> p\n<P>\n--- end\n");

	ck_assert_str_eq(d, "--- golden\n+++ actual\n@@ -1,7 +1,7 @@\n"
			    " >>> p = Process()\n >>> p.start()\n >>> p.exitcode\n-0\n+1\n"
			    " >>> p\n <P>\n --- end\n");
	free(d);
}
END_TEST

START_TEST(test_hunks_and_context)
{
	char *d = diff("1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n11\n12\n13\n14\n15\n16\n",
		       "1\n2\nthree\n4\n5\n6\n7\n8\n9\n10\n11\n12\n13\n14\n15\n16\n17\n");

	ck_assert_str_eq(d, "--- golden\n+++ actual\n"
			    "@@ -1,6 +1,6 @@\n 1\n 2\n-3\n+three\n 4\n 5\n 6\n"
			    "@@ -14,3 +14,4 @@\n 14\n 15\n 16\n+17\n");
	free(d);
}
END_TEST

START_TEST(test_missing_newline)
{
	char *d = diff("a\n", "a");

	ck_assert_str_eq(
		d,
		"--- golden\n+++ actual\n@@ -1,1 +1,1 @@\n-a\n+a\n\\ No newline at end of file\n");
	free(d);
	d = diff("", "x\n");
	ck_assert_str_eq(d, "--- golden\n+++ actual\n@@ -0,0 +1,1 @@\n+x\n");
	free(d);
}
END_TEST

START_TEST(test_paths_and_header)
{
	char *p = ps_golden_path("golden", "cpython-3.11", "fork", "lifecycle/start-twice");
	char *h = ps_golden_header("CPython 3.8.18",
				   "/home/someone/.pyenv/versions/3.8.18/bin/python",
				   "multiprocessing", "lifecycle/start-twice", "fork");

	ck_assert_str_eq(p, "golden/cpython-3.11/fork/lifecycle/start-twice.out");
	ck_assert_str_eq(h, "# procspec golden transcript: captured from CPython 3.8.18 "
			    "(pyenv 3.8.18, module multiprocessing)\n"
			    "# scenario: lifecycle/start-twice  method: fork\n");
	free(p);
	free(h);
}
END_TEST

/* The header names where the interpreter came from, never a home directory. */
START_TEST(test_origin)
{
	static const struct {
		const char *impl, *exe, *os, *want;
	} cases[] = {
		{ "CPython 3.11.2", "/usr/bin/python3", "Debian", "Debian python3 3.11.2" },
		{ "CPython 3.11.2", "/usr/bin/python3", "", "system python3 3.11.2" },
		{ "CPython 3.8.18", "/root/.pyenv/versions/3.8.18/bin/python", "Debian",
		  "pyenv 3.8.18" },
		{ "PyPy 7.3.11 (Python 3.9.16)", "/usr/bin/pypy3", "Debian",
		  "Debian pypy3 7.3.11" },
		{ "billiard 4.1.0 on CPython 3.11.2", "/usr/bin/python3", "Debian",
		  "Debian python3 3.11.2" },
		{ "CPython 3.12.1", "/opt/py/bin/python3.12", "Debian", "python3.12 3.12.1" },
		{ "CPython 3.12.1", "", "Debian", "?" },
	};
	size_t i;
	char *o;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		o = ps_golden_origin(cases[i].impl, cases[i].exe, cases[i].os);
		ck_assert_str_eq(o, cases[i].want);
		free(o);
	}
}
END_TEST

START_TEST(test_read_strips_header)
{
	char dir[] = "/tmp/procspec-golden-XXXXXX", path[256];
	struct ps_diag d = PS_DIAG_INIT;
	const char *body = "# captured from X\n# scenario: s\n>>> p\n# not a header\n";
	char *got = NULL;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/set/fork/a/b.out", dir);
	ck_assert_int_eq(ps_file_write_atomic(path, body, strlen(body), true), 0);
	ck_assert_int_eq(ps_golden_read(path, &got, &d), 0);
	ck_assert_str_eq(got, ">>> p\n# not a header\n");
	free(got);
	snprintf(path, sizeof(path), "%s/set/fork/a/missing.out", dir);
	ck_assert_int_eq(ps_golden_read(path, &got, &d), PS_ENOGOLD);
	snprintf(path, sizeof(path), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(path), 0);
}
END_TEST

Suite *golden_suite(void)
{
	const struct ps_test tests[] = {
		PS_TEST(test_equal_is_no_diff),  PS_TEST(test_one_line_changed),
		PS_TEST(test_hunks_and_context), PS_TEST(test_missing_newline),
		PS_TEST(test_paths_and_header),  PS_TEST(test_origin),
		PS_TEST(test_read_strips_header)
	};
	const struct ps_case cases[] = {
		{ PS_CASE("diff", tests) },
	};

	return ps_suite("golden", cases, ARRAY_SIZE(cases));
}

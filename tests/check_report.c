/* The reporter interface (harness/report.h): what every reporter is given, in which order. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"
#include "suites.h"

/* What the recording reporter saw, in rep->sink. */
struct seen {
	char log[512];
	struct ps_report_totals t;
	int finishes;
};

static void rec_add(struct ps_report *rep, const struct ps_report_item *it)
{
	struct seen *s = rep->sink;
	size_t n = strlen(s->log);

	snprintf(s->log + n, sizeof(s->log) - n, "%zu %s [%s] %s\n", it->n, it->id, it->method,
		 ps_verdict_word(it->res->verdict));
}

static void rec_finish(struct ps_report *rep, const struct ps_report_totals *t)
{
	struct seen *s = rep->sink;

	s->t = *t;
	s->finishes++;
}

static const struct ps_reporter recorder = { "recorder", rec_add, rec_finish };
static const struct ps_reporter add_only = { "add-only", rec_add, NULL };

START_TEST(test_every_reporter_in_turn)
{
	static const struct ps_reporter *const two[] = { &recorder, &add_only, NULL };
	struct ps_job_result pass = { .verdict = PS_V_PASS }, fail = { .verdict = PS_V_FAIL };
	struct ps_job_result crash = { .verdict = PS_V_CRASH }, skip = { .verdict = PS_V_NOTRUN };
	struct ps_report rep;
	struct seen s = { "", { 0 }, 0 };
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	ck_assert_ptr_nonnull(f);
	ps_report_init(&rep, "lbl", NULL, NULL, f, 4, false);
	ck_assert_ptr_eq(rep.reporters, ps_report_run_reporters);
	rep.reporters = two;
	rep.sink = &s;
	ps_report_add(&rep, "a/x", "fork", &pass);
	ps_report_add(&rep, "a/y", "spawn", &fail);
	ps_report_add(&rep, "a/z", "fork", &crash);
	ps_report_add(&rep, "a/w", "forkserver", &skip);
	ck_assert_int_eq(ps_report_finish(&rep, "impl 1"), 1);
	/* each result to each reporter, in order, numbered from 1 */
	ck_assert_str_eq(s.log, "1 a/x [fork] pass\n1 a/x [fork] pass\n"
				"2 a/y [spawn] FAIL\n2 a/y [spawn] FAIL\n"
				"3 a/z [fork] CRASH\n3 a/z [fork] CRASH\n"
				"4 a/w [forkserver] skip\n4 a/w [forkserver] skip\n");
	ck_assert_int_eq(s.finishes, 1);
	ck_assert_str_eq(s.t.implementation, "impl 1");
	ck_assert_uint_eq(s.t.failed, 2);
	ck_assert_uint_eq(s.t.errors, 1);
	ck_assert_uint_eq(s.t.skipped, 1);
	ps_report_release(&rep);
	fclose(f);
	/* the console is a reporter like the others: not in the list, nothing printed */
	ck_assert_uint_eq(len, 0);
	free(out);
}
END_TEST

START_TEST(test_run_reporters_console)
{
	struct ps_job_result pass = { .verdict = PS_V_PASS, .text = "t\n", .seconds = 0.5 };
	struct ps_report rep;
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	ck_assert_ptr_nonnull(f);
	/* no report directory: the console alone writes anything */
	ps_report_init(&rep, "lbl", "set", NULL, f, 1, false);
	rep.junit_extra = NULL; /* whatever $XML_OUTPUT_FILE says */
	ps_report_add(&rep, "a/x", "fork", &pass);
	ck_assert_int_eq(ps_report_finish(&rep, NULL), 0);
	ck_assert_int_eq(rep.write_err, 0);
	ps_report_release(&rep);
	fclose(f);
	ck_assert_str_eq(out, "pass     a/x [fork] 0.50s\nlbl: 1 passed, 0 failed, 0 skipped\n");
	free(out);
}
END_TEST

Suite *report_suite(void)
{
	const struct ps_test tests[] = { PS_TEST(test_every_reporter_in_turn),
					 PS_TEST(test_run_reporters_console) };
	const struct ps_case cases[] = {
		{ PS_CASE("reporters", tests) },
	};

	return ps_suite("report", cases, ARRAY_SIZE(cases));
}

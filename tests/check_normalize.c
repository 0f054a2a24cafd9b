/* The normaliser: placeholders for what differs between runs, and the transcript text. */
#include <stdlib.h>
#include <string.h>

#include "normalize.h"
#include "suites.h"

static struct ps_transcript t;

static void setup(void)
{
	t = (struct ps_transcript)PS_TRANSCRIPT_INIT;
	ck_assert_int_eq(ps_transcript_pid(&t, "main", 4100), 0);
	ck_assert_int_eq(ps_transcript_pid(&t, "p", 4123), 0);
	t.authkey = strdup("b'\\x8f\\x01secret'");
}

static void teardown(void)
{
	ps_transcript_release(&t);
}

static void norm_is(const char *in, const char *want)
{
	char *got = ps_normalize_value(&t, in);

	ck_assert_str_eq(got, want);
	free(got);
}

START_TEST(test_pids)
{
	norm_is("<Process name='Process-1' pid=4123 parent=4100 started>",
		"<Process name='Process-1' pid=<p> parent=<main> started>");
	norm_is("4123", "<p>");
	norm_is("<Process name='Process-1:1' pid=9999 parent=4123 started daemon>",
		"<Process name='Process-1:1' pid=<pid> parent=<p> started daemon>");
	/* numbers that are not pids stay: exit codes, names, parts of longer tokens */
	norm_is("<Process name='Process-4123' parent=4100 stopped exitcode=-15>",
		"<Process name='Process-4123' parent=<main> stopped exitcode=-15>");
	norm_is("41230 x4123 4123.5 4123", "41230 x4123 4123.5 <p>");
	norm_is("", "");
}
END_TEST

START_TEST(test_variable_name_wins_over_main)
{
	ck_assert_int_eq(ps_transcript_pid(&t, "q", 4100), 0);
	norm_is("4100", "<q>");
}
END_TEST

/* Worker handles: two variables holding one reused worker's pid print the
 * name bound first, whatever the order the driver lists them in later. */
START_TEST(test_worker_first_bound_name_wins)
{
	ck_assert_int_eq(ps_transcript_pid(&t, "w1", 5000), 0);
	ck_assert_int_eq(ps_transcript_pid(&t, "w2", 5000), 0);
	ck_assert_int_eq(ps_transcript_pid(&t, "w1", 5000), 0);
	ck_assert_int_eq(ps_transcript_pid(&t, "w3", 5001), 0);
	norm_is("<worker pid=5000>", "<worker pid=<w1>>");
	norm_is("<worker pid=5001>", "<worker pid=<w3>>");
}
END_TEST

START_TEST(test_authkey_and_addresses)
{
	norm_is("b'\\x8f\\x01secret'", "<authkey>");
	norm_is("<function blocks at 0x7f3a2c1b0e50>", "<function blocks at 0x<addr>>");
	norm_is("0x1f 0xdeadbeef", "0x1f 0x<addr>");
}
END_TEST

START_TEST(test_render)
{
	char *text;

	ps_transcript_add(&t, strdup("p = Process(target=child.blocks)"), PS_R_NONE, NULL, false);
	ps_transcript_add(&t, strdup("p.start()"), PS_R_RAISED,
			  strdup("AssertionError: cannot start a process twice"), false);
	ps_transcript_add(&t, strdup("p.sentinel"), PS_R_REPR, strdup("7"), true);
	ps_transcript_add(&t, strdup("p.pid"), PS_R_REPR, strdup("4123"), false);
	ps_transcript_add(
		&t, strdup("stderr(p)"), PS_R_TEXT,
		strdup("Process Process-1:\nTraceback (most recent call last):\n"
		       "  File \"/usr/lib/python3.11/multiprocessing/process.py\", line 314, in _bootstrap\n"
		       "    self.run()\n    ^^^^^^^^^^\n"
		       "  File \"/x/pydriver.py\", line 80, in raises\nValueError: boom\n"),
		false);
	ps_transcript_add(&t, strdup("stdout(p)"), PS_R_TEXT, strdup("a\n\nb"), false);
	ps_transcript_add(&t, strdup("stdout(p)"), PS_R_TEXT, strdup(""), false);
	t.ended = true;
	t.fds_leaked = 2;
	text = ps_transcript_render(&t);
	ck_assert_str_eq(text, ">>> p = Process(target=child.blocks)\n"
			       ">>> p.start()\n"
			       "AssertionError: cannot start a process twice\n"
			       ">>> p.sentinel\n"
			       "<fd>\n"
			       ">>> p.pid\n"
			       "<p>\n"
			       ">>> stderr(p)\n"
			       "| Process Process-1:\n"
			       "| Traceback (most recent call last):\n"
			       "|   ...\n"
			       "| ValueError: boom\n"
			       ">>> stdout(p)\n"
			       "| a\n"
			       "|\n"
			       "| b\n"
			       "\\ no newline at end\n"
			       ">>> stdout(p)\n"
			       "--- end: fds_leaked=2 children_left=0\n");
	free(text);
}
END_TEST

Suite *normalize_suite(void)
{
	const struct ps_test tests[] = { PS_TEST(test_pids),
					 PS_TEST(test_variable_name_wins_over_main),
					 PS_TEST(test_worker_first_bound_name_wins),
					 PS_TEST(test_authkey_and_addresses),
					 PS_TEST(test_render) };
	const struct ps_case cases[] = {
		{ PS_CASE("normalize", tests), .setup = setup, .teardown = teardown },
	};

	return ps_suite("normalize", cases, ARRAY_SIZE(cases));
}

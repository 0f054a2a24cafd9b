/* libprocref: its state machine, errors and repr, as CPython 3.11 has them.
 * Check runs each test in a child of its own, so library state starts fresh. */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "procref.h"
#include "suites.h"

static struct pr_exc e;

static struct pr_value *new_process(const char *behaviour, struct pr_value *args, bool daemon)
{
	struct pr_value *t = pr_behaviour(behaviour), *d = daemon ? pr_bool(true) : NULL, *p = NULL;

	ck_assert_int_eq(pr_process_new(NULL, t, NULL, args, NULL, d, &p, &e), 0);
	pr_unref(t);
	pr_unref(d);
	pr_unref(args);
	return p;
}

static char *repr_pidless(struct pr_value *v)
{
	/* replace this process's pid and the child's with fixed text */
	char *s = pr_repr(v), *out = malloc(strlen(s) + 64), *q = out, me[16];
	const char *r = s;

	snprintf(me, sizeof(me), "%d", (int)getpid());
	while (*r) {
		if (!strncmp(r, "pid=", 4)) {
			q += sprintf(q, "pid=N");
			r += 4;
			while (*r >= '0' && *r <= '9')
				r++;
		} else if (!strncmp(r, me, strlen(me))) {
			q += sprintf(q, "ME");
			r += strlen(me);
		} else {
			*q++ = *r++;
		}
	}
	*q = '\0';
	free(s);
	return out;
}

static void repr_is(struct pr_value *v, const char *want)
{
	char *got = repr_pidless(v);

	ck_assert_str_eq(got, want);
	free(got);
}

static void raises(int r, const char *type, const char *msg)
{
	ck_assert_int_ne(r, 0);
	ck_assert_str_eq(e.type, type);
	ck_assert_str_eq(e.msg, msg);
}

static struct pr_value *exitcode(struct pr_value *p)
{
	struct pr_value *v = NULL;

	ck_assert_int_eq(pr_process_getattr(p->proc, "exitcode", &v, &e), 0);
	return v;
}

static void setup(void)
{
	/* A child inherits its parent's handlers, as after os.fork(); the test
	 * runner's own SIGTERM handler would make a terminated child kill its
	 * group, so children here start from the default, as in Python. */
	signal(SIGTERM, SIG_DFL);
	ck_assert_int_eq(pr_init(&e), 0);
}

START_TEST(test_lifecycle_reprs)
{
	struct pr_value *p = new_process("returns", NULL, false), *c;

	repr_is(p, "<Process name='Process-1' parent=ME initial>");
	ck_assert_int_eq(pr_process_start(p->proc, &e), 0);
	ck_assert_int_eq(pr_process_join(p->proc, NULL, &e), 0);
	repr_is(p, "<Process name='Process-1' pid=N parent=ME stopped exitcode=0>");
	c = exitcode(p);
	ck_assert_int_eq(c->i, 0);
	pr_unref(c);
	ck_assert_int_eq(pr_process_close(p->proc, &e), 0);
	repr_is(p, "<Process name='Process-1' parent=ME closed>");
	pr_unref(p);
	c = pr_current_process();
	repr_is(c, "<_MainProcess name='MainProcess' parent=None started>");
	pr_unref(c);
}
END_TEST

START_TEST(test_daemon_and_counter)
{
	struct pr_value *p = new_process("returns", NULL, true), *q = new_process("returns", NULL, false);

	repr_is(p, "<Process name='Process-1' parent=ME initial daemon>");
	repr_is(q, "<Process name='Process-2' parent=ME initial>");
	pr_unref(p);
	pr_unref(q);
}
END_TEST

START_TEST(test_lifecycle_errors)
{
	struct pr_value *p = new_process("returns", NULL, false), *v = NULL, *one = pr_int(1);

	raises(pr_process_join(p->proc, NULL, &e), "AssertionError", "can only join a started process");
	raises(pr_process_getattr(p->proc, "sentinel", &v, &e), "ValueError", "process not started");
	raises(pr_process_terminate(p->proc, &e), "AttributeError",
	       "'NoneType' object has no attribute 'terminate'");
	raises(pr_process_setattr(p->proc, "name", one, &e), "AssertionError", "name must be a string");
	ck_assert_int_eq(pr_process_start(p->proc, &e), 0);
	raises(pr_process_start(p->proc, &e), "AssertionError", "cannot start a process twice");
	raises(pr_process_setattr(p->proc, "daemon", one, &e), "AssertionError",
	       "process has already started");
	ck_assert_int_eq(pr_process_join(p->proc, NULL, &e), 0);
	ck_assert_int_eq(pr_process_close(p->proc, &e), 0);
	ck_assert_int_eq(pr_process_close(p->proc, &e), 0);	/* twice is fine */
	raises(pr_process_start(p->proc, &e), "ValueError", "process object is closed");
	raises(pr_process_getattr(p->proc, "exitcode", &v, &e), "ValueError", "process object is closed");
	raises(pr_process_getattr(p->proc, "pid", &v, &e), "ValueError", "process object is closed");
	pr_unref(one);
	pr_unref(p);
}
END_TEST

/* A blocked child: its gate is a pipe we hold the write end of. */
START_TEST(test_close_running_then_signals)
{
	struct pr_value *p = new_process("blocks", NULL, false), *q, *c;
	int g[2];
	bool alive;

	ck_assert_int_eq(pipe2(g, O_CLOEXEC), 0);
	pr_process_set_gate(p->proc, g[0]);
	ck_assert_int_eq(pr_process_start(p->proc, &e), 0);
	raises(pr_process_close(p->proc, &e), "ValueError",
	       "Cannot close a process while it is still running. "
	       "You should first call join() or terminate().");
	ck_assert_int_eq(pr_process_is_alive(p->proc, &alive, &e), 0);
	ck_assert(alive);
	ck_assert_int_eq(pr_process_terminate(p->proc, &e), 0);
	ck_assert_int_eq(pr_process_join(p->proc, NULL, &e), 0);
	repr_is(p, "<Process name='Process-1' pid=N parent=ME stopped exitcode=-SIGTERM>");
	c = exitcode(p);
	ck_assert_int_eq(c->i, -15);
	pr_unref(c);

	q = new_process("blocks", NULL, true);
	pr_process_set_gate(q->proc, g[0]);
	ck_assert_int_eq(pr_process_start(q->proc, &e), 0);
	ck_assert_int_eq(pr_process_kill(q->proc, &e), 0);
	ck_assert_int_eq(pr_process_join(q->proc, NULL, &e), 0);
	repr_is(q, "<Process name='Process-2' pid=N parent=ME stopped exitcode=-SIGKILL daemon>");
	close(g[0]);
	close(g[1]);
	pr_unref(p);
	pr_unref(q);
}
END_TEST

START_TEST(test_join_timeout_on_blocked_child)
{
	struct pr_value *p = new_process("blocks", NULL, false), *t = pr_float(0.05), *c;
	int g[2];
	bool alive;

	ck_assert_int_eq(pipe2(g, O_CLOEXEC), 0);
	pr_process_set_gate(p->proc, g[0]);
	ck_assert_int_eq(pr_process_start(p->proc, &e), 0);
	ck_assert_int_eq(pr_process_join(p->proc, t, &e), 0);
	ck_assert_int_eq(pr_process_is_alive(p->proc, &alive, &e), 0);
	ck_assert(alive);
	c = exitcode(p);
	ck_assert_int_eq(c->kind, PR_NONE);
	pr_unref(c);
	ck_assert_int_eq(write(g[1], "r", 1), 1);	/* release */
	ck_assert_int_eq(pr_process_join(p->proc, NULL, &e), 0);
	c = exitcode(p);
	ck_assert_int_eq(c->i, 0);
	pr_unref(c);
	close(g[0]);
	close(g[1]);
	pr_unref(t);
	pr_unref(p);
}
END_TEST

/* sys.exit(code) in the child, by kind of code: _bootstrap's mapping. */
static const struct {
	const char *what;
	int want;
} exits[] = {
	{ "noarg", 0 }, { "None", 0 }, { "0", 0 }, { "3", 3 }, { "256", 0 }, { "-1", 255 },
	{ "True", 1 }, { "'msg'", 1 }, { "3.5", 1 }, { "(1, 2)", 1 },
};

START_TEST(test_systemexit_codes)
{
	struct pr_value *args, *code = NULL, *p, *c;
	const char *w = exits[_i].what;

	if (!strcmp(w, "noarg")) {
		args = pr_seq(PR_TUPLE, 0);
	} else {
		if (!strcmp(w, "None"))
			code = pr_none();
		else if (!strcmp(w, "True"))
			code = pr_bool(true);
		else if (w[0] == '\'')
			code = pr_str("msg", 3);
		else if (!strcmp(w, "3.5"))
			code = pr_float(3.5);
		else if (w[0] == '(') {
			code = pr_seq(PR_TUPLE, 2);
			code->items[0] = pr_int(1);
			code->items[1] = pr_int(2);
		} else
			code = pr_int(atoi(w));
		args = pr_seq(PR_TUPLE, 1);
		args->items[0] = code;
	}
	p = new_process("exits", args, false);
	{
		/* the child writes non-int codes to stderr: keep them out of the test log */
		int saved = fcntl(2, F_DUPFD_CLOEXEC, 3), null = open("/dev/null", O_WRONLY | O_CLOEXEC);

		dup2(null, 2);
		ck_assert_int_eq(pr_process_start(p->proc, &e), 0);
		dup2(saved, 2);
		close(saved);
		close(null);
	}
	ck_assert_int_eq(pr_process_join(p->proc, NULL, &e), 0);
	c = exitcode(p);
	ck_assert_msg(c->i == exits[_i].want, "sys.exit(%s): exitcode %lld, want %d", w, c->i,
		      exits[_i].want);
	pr_unref(c);
	pr_unref(p);
}
END_TEST

static void value_repr_is(struct pr_value *v, const char *want)
{
	char *got = pr_repr(v);

	ck_assert_str_eq(got, want);
	free(got);
	pr_unref(v);
}

START_TEST(test_value_reprs)
{
	struct pr_value *t;

	value_repr_is(pr_str("it's", 4), "\"it's\"");
	value_repr_is(pr_str("a'\"b", 4), "'a\\'\"b'");
	value_repr_is(pr_str("tab\tnl\n\x01", 8), "'tab\\tnl\\n\\x01'");
	value_repr_is(pr_str("\xc3\xa9", 2), "'\xc3\xa9'");
	value_repr_is(pr_bytes("\x00" "ab\xff", 4, PR_BYTES), "b'\\x00ab\\xff'");
	value_repr_is(pr_float(3.5), "3.5");
	value_repr_is(pr_float(1.0), "1.0");
	value_repr_is(pr_float(1e16), "1e+16");
	value_repr_is(pr_float(1e-5), "1e-05");
	value_repr_is(pr_float(0.1), "0.1");
	value_repr_is(pr_bool(false), "False");
	t = pr_seq(PR_TUPLE, 1);
	t->items[0] = pr_int(1);
	value_repr_is(t, "(1,)");
	value_repr_is(pr_seq(PR_TUPLE, 0), "()");
}
END_TEST

START_TEST(test_authkey_pickling_refused)
{
	struct pr_value *c = pr_current_process(), *k = NULL, *s = pr_str("x", 1);

	ck_assert_int_eq(pr_process_getattr(c->proc, "authkey", &k, &e), 0);
	ck_assert_uint_eq(k->len, 32);
	raises(pr_pickle_check(k, &e), "TypeError",
	       "Pickling an AuthenticationString object is disallowed for security reasons");
	ck_assert_int_eq(pr_pickle_check(s, &e), 0);
	pr_unref(k);
	pr_unref(c);
	pr_unref(s);
}
END_TEST

Suite *procref_suite(void)
{
	Suite *s = suite_create("procref");
	TCase *tc = tcase_create("process");

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, test_lifecycle_reprs);
	tcase_add_test(tc, test_daemon_and_counter);
	tcase_add_test(tc, test_lifecycle_errors);
	tcase_add_test(tc, test_close_running_then_signals);
	tcase_add_test(tc, test_join_timeout_on_blocked_child);
	tcase_add_loop_test(tc, test_systemexit_codes, 0, sizeof(exits) / sizeof(exits[0]));
	tcase_add_test(tc, test_value_reprs);
	tcase_add_test(tc, test_authkey_pickling_refused);
	suite_add_tcase(s, tc);
	return s;
}

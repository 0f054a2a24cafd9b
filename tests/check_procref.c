/*
 * libprocref: values and their repr(), the process state machine, every
 * exception message, the child side (exit codes, streams, gates) and the
 * fd hygiene of a start.  Expected texts are CPython 3.11's.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "procref.h"
#include "suites.h"
#include "util.h"
#include "vocab.h"

/* ---- helpers ---------------------------------------------------------- */

static void teardown(void)
{
	struct pr_diag d = PR_DIAG_INIT;

	pr_exit_function(&d);
	pr_diag_clear(&d);
	pr_fini();
}

/* repr(v), consuming v */
static char *repr_take(pr_value *v)
{
	char *s = NULL;

	ck_assert_ptr_nonnull(v);
	ck_assert_int_eq(pr_repr(v, &s, NULL), 0);
	pr_decref(v);
	return s;
}

#define ck_assert_repr(v, expected)               \
	do {                                      \
		char *got_ = repr_take(v);        \
		ck_assert_str_eq(got_, expected); \
		free(got_);                       \
	} while (0)

static void ck_repr_of(pr_value *v, const char *expected)
{
	ck_assert_repr(pr_incref(v), expected);
}

static pr_value *str(const char *s)
{
	return pr_str(s, strlen(s));
}

static pr_value *tuple2(pr_value *a, pr_value *b)
{
	pr_value *items[2] = { a, b };

	return pr_tuple(items, b != NULL ? 2 : a != NULL ? 1 : 0);
}

/* Check that the last call raised type: message, and reset d. */
static void ck_raised(int r, struct pr_diag *d, const char *type, const char *message)
{
	ck_assert_int_lt(r, 0);
	ck_assert_int_eq(d->code, r);
	ck_assert_ptr_nonnull(d->type);
	ck_assert_str_eq(d->type, type);
	ck_assert_str_eq(d->message, message);
	pr_diag_clear(d);
}

/* getattr(p, NAME) raises AttributeError: 'Process' object has no attribute 'NAME' */
static void ck_no_attribute(pr_value *p, const char *name)
{
	struct pr_diag d = PR_DIAG_INIT;
	pr_value *v = NULL;
	char want[128];

	snprintf(want, sizeof want, "'Process' object has no attribute '%s'", name);
	ck_raised(pr_getattr(p, name, &v, &d), &d, "AttributeError", want);
	ck_assert_ptr_null(v);
}

/* setattr(obj, name, v), consuming v */
static int setattr_take(pr_value *obj, const char *name, pr_value *v, struct pr_diag *d)
{
	int r = pr_setattr(obj, name, v, d);

	pr_decref(v);
	return r;
}

/* obj.name(*args) with new references in *out (None when unused) */
static int callm(pr_value *obj, const char *name, pr_value **args, size_t nargs, pr_value **out,
		 struct pr_diag *d)
{
	pr_value *m = NULL, *res = NULL;
	int r;

	if ((r = pr_getattr(obj, name, &m, d)) < 0)
		return r;
	r = pr_call(m, args, nargs, NULL, NULL, 0, &res, d);
	pr_decref(m);
	if (out != NULL)
		*out = res;
	else
		pr_decref(res);
	return r;
}

static void ok(pr_value *obj, const char *name)
{
	struct pr_diag d = PR_DIAG_INIT;
	int r = callm(obj, name, NULL, 0, NULL, &d);

	if (r < 0)
		ck_abort_msg("%s() raised %s: %s", name, d.type, d.message);
}

static pr_value *getattr_ok(pr_value *obj, const char *name)
{
	struct pr_diag d = PR_DIAG_INIT;
	pr_value *v = NULL;

	if (pr_getattr(obj, name, &v, &d) < 0)
		ck_abort_msg("%s raised %s: %s", name, d.type, d.message);
	return v;
}

/* OBJ.NAME() raises TYPE with MESSAGE */
static void ck_call_raises(pr_value *obj, const char *name, const char *type, const char *message)
{
	struct pr_diag d = PR_DIAG_INIT;

	ck_raised(callm(obj, name, NULL, 0, NULL, &d), &d, type, message);
}

/* Process(target=child.BEHAVIOUR, args=ARGS, **extra) */
static pr_value *process(const char *behaviour, pr_value *args, const char *kw, pr_value *kwval)
{
	const char *names[3] = { "target", "args", kw };
	pr_value *vals[3], *cls = pr_global("Process"), *p = NULL;
	struct pr_diag d = PR_DIAG_INIT;
	size_t n = 1;

	vals[0] = behaviour ? pr_behaviour(behaviour) : pr_none();
	ck_assert_ptr_nonnull(vals[0]);
	if (args != NULL)
		vals[n++] = args;
	else
		names[1] = kw;
	if (kw != NULL)
		vals[n++] = kwval;
	if (pr_call(cls, NULL, 0, names, vals, n, &p, &d) < 0)
		ck_abort_msg("Process() raised %s: %s", d.type, d.message);
	pr_decref(vals[0]);
	pr_decref(args);
	pr_decref(kwval);
	pr_decref(cls);
	return p;
}

/* Process(K0=V0, K1=V1), whose result or exception it returns as pr_call() */
static int process_kw(const char *k0, pr_value *v0, const char *k1, pr_value *v1, pr_value **out,
		      struct pr_diag *d)
{
	const char *names[2] = { k0, k1 };
	pr_value *vals[2] = { v0, v1 }, *cls = pr_global("Process");
	int r = pr_call(cls, NULL, 0, names, vals, 2, out, d);

	pr_decref(v0);
	pr_decref(v1);
	pr_decref(cls);
	return r;
}

/* Process(target=child.blocks), started, held on a new gate (a pipe whose
 * read end the child waits on) until the test lets it go */
static pr_value *started_on_gate(int gate[2])
{
	pr_value *p = process("blocks", NULL, NULL, NULL);

	ck_assert_int_eq(pipe2(gate, O_CLOEXEC), 0);
	ck_assert_int_eq(pr_process_set_gate(p, gate[0]), 0);
	ok(p, "start");
	return p;
}

static void close_gate(const int gate[2])
{
	close(gate[0]);
	close(gate[1]);
}

static pr_value *current(void)
{
	pr_value *f = pr_global("current_process"), *cp = NULL;
	struct pr_diag d = PR_DIAG_INIT;

	ck_assert_int_eq(pr_call(f, NULL, 0, NULL, NULL, 0, &cp, &d), 0);
	pr_decref(f);
	return cp;
}

static long exitcode(pr_value *p)
{
	pr_value *v = getattr_ok(p, "exitcode");
	char *s = repr_take(v);
	long code = strtol(s, NULL, 10);

	free(s);
	return code;
}

/* Run p with fd 2 on a temporary file; what the child wrote there. */
static char *run_capturing_stderr(pr_value *p)
{
	char path[] = "/tmp/check-procref-XXXXXX", *buf;
	int fd = mkostemp(path, O_CLOEXEC), saved = fcntl(2, F_DUPFD_CLOEXEC, 3);
	ssize_t n;

	ck_assert_int_ge(fd, 0);
	unlink(path);
	ck_assert_int_ge(dup2(fd, 2), 0);
	ok(p, "start");
	ck_assert_int_ge(dup2(saved, 2), 0);
	close(saved);
	ok(p, "join");
	buf = calloc(1, 4096);
	n = pread(fd, buf, 4095, 0);
	ck_assert_int_ge(n, 0);
	close(fd);
	return buf;
}

/* ---- values ----------------------------------------------------------- */

START_TEST(test_str_repr)
{
	ck_assert_repr(str("abc"), "'abc'");
	ck_assert_repr(str("it's"), "\"it's\"");
	ck_assert_repr(str("say \"hi\""), "'say \"hi\"'");
	ck_assert_repr(str("both ' and \""), "'both \\' and \"'");
	ck_assert_repr(str("t\tn\nr\rb\\"), "'t\\tn\\nr\\rb\\\\'");
	ck_assert_repr(pr_str("\0\x1f\x7f", 3), "'\\x00\\x1f\\x7f'");
	/* printable non-ASCII stays, the rest is escaped by size */
	ck_assert_repr(str("\xc3\xa9\xc2\xa0\xc2\xad\xe2\x80\x8b\xe4\xb8\xad"),
		       "'\xc3\xa9\\xa0\\xad\\u200b\xe4\xb8\xad'");
	ck_assert_repr(str("\xf0\x9f\x98\x80\xf3\xa0\x80\x81"), "'\xf0\x9f\x98\x80\\U000e0001'");
	ck_assert_repr(str(""), "''");
}
END_TEST

START_TEST(test_bytes_repr)
{
	ck_assert_repr(pr_bytes("abc", 3), "b'abc'");
	ck_assert_repr(pr_bytes("it's", 4), "b\"it's\"");
	ck_assert_repr(pr_bytes("a'\"", 3), "b'a\\'\"'");
	ck_assert_repr(pr_bytes("\0\xff\x7f\t\n\r\\", 7), "b'\\x00\\xff\\x7f\\t\\n\\r\\\\'");
	ck_assert_repr(pr_bytes("", 0), "b''");
}
END_TEST

START_TEST(test_float_repr)
{
	static const struct {
		double f;
		const char *repr;
	} cases[] = {
		{ 3.5, "3.5" },
		{ 1.0, "1.0" },
		{ 1e16, "1e+16" },
		{ 1e15, "1000000000000000.0" },
		{ 1e-05, "1e-05" },
		{ 0.0001, "0.0001" },
		{ 0.1, "0.1" },
		{ -0.0, "-0.0" },
		{ 0.0, "0.0" },
		{ 1e300, "1e+300" },
		{ 2.5e-300, "2.5e-300" },
		{ 123456789.123456789, "123456789.12345679" },
		{ 0.30000000000000004, "0.30000000000000004" },
		{ 1.5e16, "1.5e+16" },
		{ -2.5, "-2.5" },
		{ 5e-324, "5e-324" },
		{ 1.7976931348623157e308, "1.7976931348623157e+308" },
		{ 1.0 / 0.0, "inf" },
		{ -1.0 / 0.0, "-inf" },
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++)
		ck_assert_repr(pr_float(cases[i].f), cases[i].repr);
	ck_assert_repr(pr_float(0.0 / 0.0), "nan");
}
END_TEST

START_TEST(test_int_repr)
{
	pr_value *v = NULL;

	ck_assert_repr(pr_int(-5), "-5");
	ck_assert_int_eq(pr_int_parse("123456789012345678901234567890", &v), 0);
	ck_assert_repr(v, "123456789012345678901234567890");
	ck_assert_int_eq(pr_int_parse("-0009223372036854775808", &v), 0);
	ck_assert_repr(v, "-9223372036854775808");
	ck_assert_int_eq(pr_int_parse("-9223372036854775809", &v), 0);
	ck_assert_repr(v, "-9223372036854775809");
	ck_assert_int_eq(pr_int_parse("-0", &v), 0);
	ck_assert_repr(v, "0");
	ck_assert_int_eq(pr_int_parse("12x", &v), PR_EVALUE);
	ck_assert_int_eq(pr_int_parse("", &v), PR_EVALUE);
}
END_TEST

START_TEST(test_container_repr)
{
	struct pr_diag d = PR_DIAG_INIT;
	pr_value *kv[6], *v = NULL, *items[3];

	ck_assert_repr(pr_tuple(NULL, 0), "()");
	ck_assert_repr(tuple2(pr_int(1), NULL), "(1,)");
	ck_assert_repr(tuple2(pr_int(1), pr_int(2)), "(1, 2)");
	items[0] = pr_int(1);
	items[1] = str("a");
	items[2] = tuple2(pr_bool(1), NULL);
	ck_assert_repr(pr_list(items, 3), "[1, 'a', (True,)]");
	ck_assert_repr(pr_list(NULL, 0), "[]");
	ck_assert_repr(pr_none(), "None");
	ck_assert_repr(pr_bool(0), "False");
	/* {1: 'a', 1.0: 'b', True: 'c'}: one key, the first, last value */
	kv[0] = pr_int(1);
	kv[1] = str("a");
	kv[2] = pr_float(1.0);
	kv[3] = str("b");
	kv[4] = pr_bool(1);
	kv[5] = str("c");
	ck_assert_int_eq(pr_dict(kv, 3, &v, &d), 0);
	ck_assert_repr(v, "{1: 'c'}");
	kv[0] = pr_list(NULL, 0);
	kv[1] = pr_int(2);
	ck_raised(pr_dict(kv, 1, &v, &d), &d, "TypeError", "unhashable type: 'list'");
}
END_TEST

START_TEST(test_str_of)
{
	char *s = NULL;
	size_t len = 0;
	pr_value *v = pr_str("a\0b", 3);

	ck_assert_int_eq(pr_str_of(v, &s, &len), 0);
	ck_assert_uint_eq(len, 3);
	ck_assert_int_eq(memcmp(s, "a\0b", 3), 0);
	free(s);
	pr_decref(v);
	v = pr_bytes("x", 1);
	ck_assert_int_eq(pr_str_of(v, &s, NULL), 0);
	ck_assert_str_eq(s, "b'x'");
	free(s);
	pr_decref(v);
}
END_TEST

START_TEST(test_errno_types)
{
	static const struct {
		int err;
		const char *type;
	} cases[] = {
		{ EAGAIN, "BlockingIOError" },   { ECHILD, "ChildProcessError" },
		{ ESRCH, "ProcessLookupError" }, { EPERM, "PermissionError" },
		{ EACCES, "PermissionError" },   { EINTR, "InterruptedError" },
		{ ENOENT, "FileNotFoundError" }, { EEXIST, "FileExistsError" },
		{ EPIPE, "BrokenPipeError" },    { EINVAL, "OSError" },
		{ ENOMEM, "OSError" },           { EMFILE, "OSError" },
	};
	struct pr_diag d = PR_DIAG_INIT;
	char want[128];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		snprintf(want, sizeof want, "[Errno %d] %s", cases[i].err, strerror(cases[i].err));
		ck_raised(pr_diag(&d, -cases[i].err, NULL), &d, cases[i].type, want);
	}
	ck_raised(pr_diag(&d, -EAGAIN, NULL), &d, "BlockingIOError",
		  "[Errno 11] Resource temporarily unavailable");
	ck_assert_str_eq(pr_error_type(PR_EASSERTION), "AssertionError");
	ck_assert_ptr_null(pr_error_type(PR_EUNSUPPORTED));
}
END_TEST

/* ---- construction and the state machine -------------------------------- */

START_TEST(test_construct_errors)
{
	struct pr_diag d = PR_DIAG_INIT;
	pr_value *cls = pr_global("Process"), *p = NULL, *v[7];
	const char *kw[2];
	size_t i;

	kw[0] = "group";
	v[0] = pr_int(1);
	ck_raised(pr_call(cls, NULL, 0, kw, v, 1, &p, &d), &d, "AssertionError",
		  "group argument must be None for now");
	kw[0] = "args";
	ck_raised(pr_call(cls, NULL, 0, kw, v, 1, &p, &d), &d, "TypeError",
		  "'int' object is not iterable");
	kw[0] = "foo";
	ck_raised(pr_call(cls, NULL, 0, kw, v, 1, &p, &d), &d, "TypeError",
		  "BaseProcess.__init__() got an unexpected keyword argument "
		  "'foo'");
	for (i = 1; i < 7; i++)
		v[i] = pr_none();
	ck_raised(pr_call(cls, v + 1, 6, NULL, NULL, 0, &p, &d), &d, "TypeError",
		  "BaseProcess.__init__() takes from 1 to 6 "
		  "positional arguments but 7 were given");
	kw[0] = "daemon";
	ck_raised(pr_call(cls, v + 1, 6, kw, v, 1, &p, &d), &d, "TypeError",
		  "BaseProcess.__init__() takes from 1 to 6 positional "
		  "arguments but 7 positional arguments (and 1 keyword-only "
		  "argument) were given");
	kw[0] = "group";
	ck_raised(pr_call(cls, v + 1, 1, kw, v + 1, 1, &p, &d), &d, "TypeError",
		  "BaseProcess.__init__() got multiple values for "
		  "argument 'group'");
	pr_decref(v[0]);
	pr_decref(cls);
}
END_TEST

START_TEST(test_naming)
{
	pr_value *a = process(NULL, NULL, NULL, NULL);
	pr_value *b = process(NULL, NULL, "name", pr_int(0));
	pr_value *c = process(NULL, NULL, "name", pr_int(3));
	char want[128];

	snprintf(want, sizeof want,
		 "<Process name='Process-1' parent=%d "
		 "initial>",
		 getpid());
	ck_repr_of(a, want);
	/* a false name takes the default; the number is used either way */
	snprintf(want, sizeof want,
		 "<Process name='Process-2' parent=%d "
		 "initial>",
		 getpid());
	ck_repr_of(b, want);
	snprintf(want, sizeof want, "<Process name=3 parent=%d initial>", getpid());
	ck_repr_of(c, want);
	pr_decref(a);
	pr_decref(b);
	pr_decref(c);
}
END_TEST

START_TEST(test_setters)
{
	struct pr_diag d = PR_DIAG_INIT;
	pr_value *p = process(NULL, NULL, NULL, NULL), *v;
	char want[128];

	ck_raised(setattr_take(p, "name", pr_int(3), &d), &d, "AssertionError",
		  "name must be a string");
	v = str("n");
	ck_assert_int_eq(pr_setattr(p, "name", v, &d), 0);
	pr_decref(v);
	v = pr_int(0);
	ck_assert_int_eq(pr_setattr(p, "daemon", v, &d), 0);
	pr_decref(v);
	ck_assert_repr(getattr_ok(p, "daemon"), "0");
	v = pr_list(NULL, 0);
	ck_assert_int_eq(pr_setattr(p, "daemon", v, &d), 0);
	pr_decref(v);
	snprintf(want, sizeof want, "<Process name='n' parent=%d initial>", getpid());
	ck_repr_of(p, want);
	v = pr_bool(1);
	ck_assert_int_eq(pr_setattr(p, "daemon", v, &d), 0);
	snprintf(want, sizeof want,
		 "<Process name='n' parent=%d initial "
		 "daemon>",
		 getpid());
	ck_repr_of(p, want);
	ck_raised(pr_setattr(p, "exitcode", v, &d), &d, "AttributeError",
		  "property 'exitcode' of 'Process' object has no setter");
	ck_raised(pr_setattr(p, "ident", v, &d), &d, "AttributeError",
		  "property 'pid' of 'Process' object has no setter");
	/* AuthenticationString(x) is bytes(x) */
	ck_raised(setattr_take(p, "authkey", str("abc"), &d), &d, "TypeError",
		  "string argument without an encoding");
	ck_raised(setattr_take(p, "authkey", pr_int(-1), &d), &d, "ValueError", "negative count");
	ck_raised(setattr_take(p, "authkey", pr_float(1.5), &d), &d, "TypeError",
		  "cannot convert 'float' object to bytes");
	v = pr_int(3);
	ck_assert_int_eq(pr_setattr(p, "authkey", v, &d), 0);
	pr_decref(v);
	ck_assert_repr(getattr_ok(p, "authkey"), "b'\\x00\\x00\\x00'");
	ck_no_attribute(p, "nope");
	pr_decref(p);
}
END_TEST

START_TEST(test_unstarted_errors)
{
	struct pr_diag d = PR_DIAG_INIT;
	pr_value *p = process("returns", NULL, NULL, NULL), *v = NULL, *x;

	ck_raised(pr_getattr(p, "sentinel", &v, &d), &d, "ValueError", "process not started");
	ck_call_raises(p, "join", "AssertionError", "can only join a started process");
	ck_call_raises(p, "terminate", "AttributeError",
		       "'NoneType' object has no attribute 'terminate'");
	ck_call_raises(p, "kill", "AttributeError", "'NoneType' object has no attribute 'kill'");
	ck_assert_repr(getattr_ok(p, "exitcode"), "None");
	ck_assert_repr(getattr_ok(p, "pid"), "None");
	ck_assert_int_eq(callm(p, "is_alive", NULL, 0, &v, &d), 0);
	ck_assert_repr(v, "False");
	x = pr_int(1);
	ck_raised(callm(p, "start", &x, 1, NULL, &d), &d, "TypeError",
		  "BaseProcess.start() takes 1 positional argument but 2 were "
		  "given");
	pr_decref(x);
	/* close() before start: closed, and everything but a few raises */
	ok(p, "close");
	ok(p, "close");
	ck_call_raises(p, "start", "ValueError", "process object is closed");
	ck_call_raises(p, "join", "ValueError", "process object is closed");
	ck_call_raises(p, "is_alive", "ValueError", "process object is closed");
	ck_raised(pr_getattr(p, "pid", &v, &d), &d, "ValueError", "process object is closed");
	pr_decref(p);
}
END_TEST

START_TEST(test_main_process)
{
	struct pr_diag d = PR_DIAG_INIT;
	pr_value *m = current(), *v = NULL, *f;
	char want[32];

	ck_repr_of(m, "<_MainProcess name='MainProcess' parent=None started>");
	ck_assert_repr(getattr_ok(m, "exitcode"), "None");
	snprintf(want, sizeof want, "%d", getpid());
	ck_assert_repr(getattr_ok(m, "pid"), want);
	ck_call_raises(m, "start", "AssertionError",
		       "can only start a process object created by current process");
	ck_call_raises(m, "join", "AssertionError", "can only join a child process");
	ok(m, "close");
	ck_raised(pr_pickle_check(m, &d), &d, "PicklingError",
		  "Can't pickle <class 'multiprocessing.process._MainProcess'>: "
		  "attribute lookup _MainProcess on multiprocessing.process "
		  "failed");
	f = pr_global("parent_process");
	ck_assert_int_eq(pr_call(f, NULL, 0, NULL, NULL, 0, &v, &d), 0);
	ck_assert_repr(v, "None");
	pr_decref(f);
	v = getattr_ok(m, "authkey");
	ck_raised(pr_pickle_check(v, &d), &d, "TypeError",
		  "Pickling an AuthenticationString object is disallowed for "
		  "security reasons");
	pr_decref(v);
	/* a daemonic current process may not start children */
	v = pr_bool(1);
	ck_assert_int_eq(pr_setattr(m, "daemon", v, &d), 0);
	f = process("returns", NULL, NULL, NULL);
	ck_assert_repr(getattr_ok(f, "daemon"), "True");
	ck_call_raises(f, "start", "AssertionError",
		       "daemonic processes are not allowed to have children");
	pr_decref(f);
	pr_decref(m);
}
END_TEST

/* started, blocked on a gate, then stopped; every repr on the way */
START_TEST(test_lifecycle_reprs)
{
	struct pr_diag d = PR_DIAG_INIT;
	int gate[2];
	pr_value *p = started_on_gate(gate), *v = NULL;
	char want[160];
	pid_t pid;

	pid = pr_process_pid(p);
	ck_assert_int_gt(pid, 0);
	snprintf(want, sizeof want,
		 "<Process name='Process-1' pid=%d "
		 "parent=%d started>",
		 pid, getpid());
	ck_repr_of(p, want);
	ck_call_raises(p, "start", "AssertionError", "cannot start a process twice");
	ck_call_raises(p, "close", "ValueError",
		       "Cannot close a process while it is still running. You should "
		       "first call join() or terminate().");
	v = pr_float(0.05);
	ck_assert_int_eq(callm(p, "join", &v, 1, NULL, &d), 0);
	pr_decref(v);
	ck_assert_repr(getattr_ok(p, "exitcode"), "None");
	ck_assert_int_eq(write(gate[1], "r", 1), 1);
	ok(p, "join");
	ck_assert_int_eq(exitcode(p), 0);
	snprintf(want, sizeof want,
		 "<Process name='Process-1' pid=%d "
		 "parent=%d stopped exitcode=0>",
		 pid, getpid());
	ck_repr_of(p, want);
	ok(p, "close");
	snprintf(want, sizeof want,
		 "<Process name='Process-1' parent=%d "
		 "closed>",
		 getpid());
	ck_repr_of(p, want);
	ck_assert_int_eq(pr_process_pid(p), 0);
	close_gate(gate);
	pr_decref(p);
}
END_TEST

START_TEST(test_signal_names)
{
	pr_value *p, *q;
	int gate[2];
	char want[160];

	ck_assert_int_eq(pipe2(gate, O_CLOEXEC), 0);
	p = process("blocks", NULL, "daemon", pr_bool(1));
	q = process("blocks", NULL, NULL, NULL);
	pr_process_set_gate(p, gate[0]);
	pr_process_set_gate(q, gate[0]);
	ok(p, "start");
	ok(q, "start");
	ok(p, "terminate");
	ok(q, "kill");
	ok(p, "join");
	ok(q, "join");
	snprintf(want, sizeof want,
		 "<Process name='Process-1' pid=%d "
		 "parent=%d stopped exitcode=-SIGTERM daemon>",
		 pr_process_pid(p), getpid());
	ck_repr_of(p, want);
	snprintf(want, sizeof want,
		 "<Process name='Process-2' pid=%d "
		 "parent=%d stopped exitcode=-SIGKILL>",
		 pr_process_pid(q), getpid());
	ck_repr_of(q, want);
	ck_assert_int_eq(exitcode(q), -9);
	/* a second signal after the exit code is known does nothing */
	ok(q, "kill");
	close_gate(gate);
	pr_decref(p);
	pr_decref(q);
}
END_TEST

START_TEST(test_join_timeout_errors)
{
	struct pr_diag d = PR_DIAG_INIT;
	int gate[2];
	pr_value *p = started_on_gate(gate), *t = str("x");

	ck_raised(callm(p, "join", &t, 1, NULL, &d), &d, "TypeError",
		  "unsupported operand type(s) for +: 'float' and 'str'");
	pr_decref(t);
	t = pr_int(3000000);
	ck_raised(callm(p, "join", &t, 1, NULL, &d), &d, "OverflowError", "timeout is too large");
	pr_decref(t);
	t = pr_float(1.0 / 0.0);
	ck_raised(callm(p, "join", &t, 1, NULL, &d), &d, "OverflowError",
		  "cannot convert float infinity to integer");
	pr_decref(t);
	t = pr_float(0.0 / 0.0);
	ck_raised(callm(p, "join", &t, 1, NULL, &d), &d, "ValueError",
		  "cannot convert float NaN to integer");
	pr_decref(t);
	t = pr_int(-1);
	ck_assert_int_eq(callm(p, "join", &t, 1, NULL, &d), 0);
	pr_decref(t);
	ck_assert_int_eq(write(gate[1], "r", 1), 1);
	ok(p, "join");
	/* once the exit code is known, the timeout is not even looked at */
	t = str("x");
	ck_assert_int_eq(callm(p, "join", &t, 1, NULL, &d), 0);
	pr_decref(t);
	close_gate(gate);
	pr_decref(p);
}
END_TEST

/* ---- the child side ---------------------------------------------------- */

static long exit_of(pr_value *args)
{
	pr_value *p = process("exits", args, NULL, NULL);
	long code;

	ok(p, "start");
	ok(p, "join");
	code = exitcode(p);
	pr_decref(p);
	return code;
}

START_TEST(test_system_exit_codes)
{
	pr_value *p;
	char *err;

	ck_assert_int_eq(exit_of(pr_tuple(NULL, 0)), 0);
	ck_assert_int_eq(exit_of(tuple2(pr_none(), NULL)), 0);
	ck_assert_int_eq(exit_of(tuple2(pr_int(3), NULL)), 3);
	ck_assert_int_eq(exit_of(tuple2(pr_bool(1), NULL)), 1);
	ck_assert_int_eq(exit_of(tuple2(pr_bool(0), NULL)), 0);
	ck_assert_int_eq(exit_of(tuple2(pr_int(256), NULL)), 0);
	ck_assert_int_eq(exit_of(tuple2(pr_int(-1), NULL)), 255);
	/* sys.exit((5,)) is SystemExit(5) */
	ck_assert_int_eq(exit_of(tuple2(tuple2(pr_int(5), NULL), NULL)), 5);
	/* anything else: str(code) on stderr, exit code 1 */
	p = process("exits", tuple2(str("msg"), NULL), NULL, NULL);
	err = run_capturing_stderr(p);
	ck_assert_str_eq(err, "msg\n");
	ck_assert_int_eq(exitcode(p), 1);
	free(err);
	pr_decref(p);
	p = process("exits", tuple2(tuple2(pr_int(1), pr_float(2.5)), NULL), NULL, NULL);
	err = run_capturing_stderr(p);
	ck_assert_str_eq(err, "(1, 2.5)\n");
	free(err);
	pr_decref(p);
}
END_TEST

START_TEST(test_uncaught_exception)
{
	pr_value *p = process("raises", tuple2(str("ValueError"), str("boom")), NULL, NULL);
	char *err = run_capturing_stderr(p);

	ck_assert_str_eq(err, "Process Process-1:\n"
			      "Traceback (most recent call last):\n"
			      "  File \"<procref>\", line 1, in run\n"
			      "ValueError: boom\n");
	ck_assert_int_eq(exitcode(p), 1);
	free(err);
	pr_decref(p);
	p = process("raises", tuple2(str("KeyError"), NULL), NULL, NULL);
	err = run_capturing_stderr(p);
	ck_assert_str_eq(err, "Process Process-2:\n"
			      "Traceback (most recent call last):\n"
			      "  File \"<procref>\", line 1, in run\n"
			      "KeyError: ''\n");
	free(err);
	pr_decref(p);
	/* an empty message shows the class alone */
	p = process("raises", tuple2(str("RuntimeError"), NULL), NULL, NULL);
	err = run_capturing_stderr(p);
	ck_assert_str_eq(strstr(err, "in run\n") + 7, "RuntimeError\n");
	free(err);
	pr_decref(p);
	p = process("os_exit", tuple2(pr_int(300), NULL), NULL, NULL);
	ok(p, "start");
	ok(p, "join");
	ck_assert_int_eq(exitcode(p), 44);
	pr_decref(p);
}
END_TEST

static int hook_fd = -1;

static void hook(void *arg)
{
	(void)arg;
	if (write(hook_fd, "h", 1) != 1)
		_exit(3);
}

/* The child runs the after-fork hook and gets only the fds meant for it:
 * its sentinel pipes are close-on-exec, and close() drops both. */
START_TEST(test_fork_fds)
{
	pr_value *p = process("returns", NULL, NULL, NULL), *s;
	int pipefd[2], sentinel, flags;
	char c = 0, *text;

	ck_assert_int_eq(pipe2(pipefd, O_CLOEXEC), 0);
	hook_fd = pipefd[1];
	pr_set_after_fork(hook, NULL);
	ok(p, "start");
	s = getattr_ok(p, "sentinel");
	text = repr_take(s);
	sentinel = atoi(text);
	free(text);
	flags = fcntl(sentinel, F_GETFD);
	ck_assert_int_ge(flags, 0);
	ck_assert(flags & FD_CLOEXEC);
	ok(p, "join");
	ck_assert_int_eq(read(pipefd[0], &c, 1), 1);
	ck_assert_int_eq(c, 'h');
	ok(p, "close");
	ck_assert_int_eq(fcntl(sentinel, F_GETFD), -1);
	ck_assert_int_eq(errno, EBADF);
	pr_set_after_fork(NULL, NULL);
	close(pipefd[0]);
	close(pipefd[1]);
	pr_decref(p);
}
END_TEST

/* The fds open in this process, as a bitmap over the first 1024. */
static void open_fds(unsigned char set[1024])
{
	int fd;

	for (fd = 0; fd < 1024; fd++)
		set[fd] = fcntl(fd, F_GETFD) >= 0;
}

static int report_fd = -1;

/* A target that writes the child's open fds (1024 bytes) to report_fd */
static int list_fds(pr_value *self, pr_value **argv, pr_value **out, struct pr_diag *d)
{
	unsigned char set[1024];

	(void)self;
	(void)argv;
	(void)out;
	open_fds(set);
	if (write(report_fd, set, sizeof set) != (ssize_t)sizeof set)
		return pr_diag(d, -errno, NULL);
	return 0;
}

static const char *const no_params[] = { NULL };
static const pr_func list_fds_func = { .name = "list_fds", .params = no_params, .fn = list_fds };

/* A child inherits what the parent had, plus its own ends of the two
 * sentinel pipes (child_r, child_w), and nothing of the parent's ends. */
START_TEST(test_child_fds)
{
	unsigned char before[1024], after[1024], child[1024];
	pr_value *target = pr_function(&list_fds_func), *p = NULL;
	pr_value *cls = pr_global("Process");
	const char *kw[1] = { "target" };
	struct pr_diag d = PR_DIAG_INIT;
	int report[2], fd, parent_new = 0, child_new = 0;

	ck_assert_int_eq(pipe2(report, O_CLOEXEC), 0);
	report_fd = report[1];
	ck_assert_int_eq(pr_call(cls, NULL, 0, kw, &target, 1, &p, &d), 0);
	pr_decref(cls);
	pr_decref(target);
	open_fds(before);
	ok(p, "start");
	open_fds(after);
	ck_assert_int_eq(read(report[0], child, sizeof child), (ssize_t)sizeof child);
	ok(p, "join");
	ck_assert_int_eq(exitcode(p), 0);
	for (fd = 0; fd < 1024; fd++) {
		if (after[fd] && !before[fd]) {
			parent_new++;
			ck_assert_msg(!child[fd],
				      "the child has the parent's "
				      "pipe end %d",
				      fd);
			ck_assert(fcntl(fd, F_GETFD) & FD_CLOEXEC);
		}
		if (child[fd] && !before[fd])
			child_new++;
		if (before[fd])
			ck_assert_msg(child[fd], "fd %d was not inherited", fd);
	}
	ck_assert_int_eq(parent_new, 2);
	ck_assert_int_eq(child_new, 2);
	ok(p, "close");
	open_fds(after);
	ck_assert_int_eq(memcmp(before, after, sizeof before), 0);
	close(report[0]);
	close(report[1]);
	pr_decref(p);
}
END_TEST

/* A process object kept alive only by a cycle is freed by the collector,
 * and its Popen finalizer closes the sentinel. */
START_TEST(test_gc_closes_sentinel)
{
	struct pr_diag d = PR_DIAG_INIT;
	pr_value *p = process("returns", NULL, NULL, NULL), *s;
	int sentinel;
	char *text;

	ok(p, "start");
	ok(p, "join");
	s = getattr_ok(p, "sentinel");
	text = repr_take(s);
	sentinel = atoi(text);
	free(text);
	ck_assert_int_eq(pr_setattr(p, "me", p, &d), 0);
	pr_decref(p);
	ck_assert_int_ge(fcntl(sentinel, F_GETFD), 0);
	pr_gc_collect();
	ck_assert_int_eq(fcntl(sentinel, F_GETFD), -1);
}
END_TEST

/* util._exit_function: daemonic children terminated, the rest joined */
START_TEST(test_exit_function)
{
	struct pr_diag d = PR_DIAG_INIT;
	pr_value *dmn = process("blocks", NULL, "daemon", pr_bool(1));
	pr_value *reg = process("exits", tuple2(pr_int(7), NULL), NULL, NULL);
	pr_value *f = pr_global("active_children"), *list = NULL;
	int gate[2];

	ck_assert_int_eq(pipe2(gate, O_CLOEXEC), 0);
	pr_process_set_gate(dmn, gate[0]);
	ok(dmn, "start");
	ok(reg, "start");
	ck_assert_int_eq(pr_exit_function(&d), 0);
	ck_assert_int_eq(exitcode(dmn), -SIGTERM);
	ck_assert_int_eq(exitcode(reg), 7);
	ck_assert_int_eq(pr_call(f, NULL, 0, NULL, NULL, 0, &list, &d), 0);
	ck_assert_repr(list, "[]");
	/* once per process */
	ck_assert_int_eq(pr_exit_function(&d), 0);
	close_gate(gate);
	pr_decref(f);
	pr_decref(dmn);
	pr_decref(reg);
}
END_TEST

START_TEST(test_start_method)
{
	struct pr_diag d = PR_DIAG_INIT;

	ck_assert_int_eq(pr_set_start_method("fork", &d), 0);
	ck_raised(pr_set_start_method("nope", &d), &d, "ValueError",
		  "cannot find context for 'nope'");
	ck_assert_int_eq(pr_set_start_method("spawn", &d), 0);
	ck_assert_int_eq(pr_set_start_method("forkserver", &d), 0);
	ck_assert_int_eq(pr_set_start_method("fork", &d), 0);
	pr_diag_clear(&d);
}
END_TEST

/* STYLE.md 5: a spawn child (a fresh image) inherits only fds 0-2, its
 * gate, and its own ends of the two pipes (child_r, kept as the parent
 * sentinel, and child_w, which it holds until it exits): neither a stray
 * inheritable fd of the parent nor any close-on-exec one.  procref-child
 * lists what it was born with when PROCREF_CHILD_LIST_FDS is set. */
START_TEST(test_spawn_child_fds)
{
	char path[] = "/tmp/check-procref-XXXXXX", buf[512], *tok, *save;
	pr_value *p = process("returns", NULL, NULL, NULL);
	struct pr_diag d = PR_DIAG_INIT;
	int out = mkostemp(path, O_CLOEXEC), saved, gate[2], stray, fd;
	int own = 0, n;

	ck_assert_int_ge(out, 0);
	unlink(path);
	ck_assert_int_eq(pr_set_start_method("spawn", &d), 0);
	ck_assert_int_eq(pipe2(gate, O_CLOEXEC), 0);
	/* inheritable, as fds from outside may be: the child must not
	 * get it all the same (close_fds=True) */
	stray = open("/dev/null", O_RDONLY);
	ck_assert_int_ge(stray, 0);
	pr_process_set_gate(p, gate[0]);
	ck_assert_int_eq(setenv("PROCREF_CHILD_LIST_FDS", "1", 1), 0);
	saved = fcntl(1, F_DUPFD_CLOEXEC, 3);
	ck_assert_int_ge(dup2(out, 1), 0);
	ok(p, "start");
	ck_assert_int_ge(dup2(saved, 1), 0);
	close(saved);
	unsetenv("PROCREF_CHILD_LIST_FDS");
	ok(p, "join");
	ck_assert_int_eq(exitcode(p), 0);
	n = (int)pread(out, buf, sizeof buf - 1, 0);
	ck_assert_int_gt(n, 0);
	buf[n] = '\0';
	ck_assert_msg(strncmp(buf, "0 1 2 ", 6) == 0, "child fds: %s", buf);
	for (tok = strtok_r(buf + 6, " \n", &save); tok != NULL;
	     tok = strtok_r(NULL, " \n", &save)) {
		fd = atoi(tok);
		if (fd == gate[0])
			continue;
		ck_assert_msg(fd != stray && fd != gate[1], "the child inherited fd %d", fd);
		/* child_r and child_w: the parent closed them after start */
		ck_assert_msg(fcntl(fd, F_GETFD) == -1,
			      "the child has fd %d, "
			      "which the parent still holds",
			      fd);
		own++;
	}
	ck_assert_int_eq(own, 2);
	close(stray);
	close(out);
	close_gate(gate);
	pr_decref(p);
}
END_TEST

/* A procref-child that exists but cannot be exec'd (ENOEXEC): as in
 * CPython, util.spawnv_passfds() never reads _posixsubprocess's error
 * pipe, so the child exits 255 and start() succeeds; nothing is left
 * behind. */
START_TEST(test_spawn_exec_error)
{
	unsigned char before[1024], after[1024];
	char path[] = "/tmp/check-procref-XXXXXX";
	pr_value *p = process("returns", NULL, NULL, NULL);
	struct pr_diag d = PR_DIAG_INIT;
	int fd = mkostemp(path, O_CLOEXEC);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd,
			       "\x7f"
			       "not an executable\n",
			       19),
			 19);
	close(fd);
	ck_assert_int_eq(chmod(path, 0700), 0);
	ck_assert_int_eq(pr_set_start_method("spawn", &d), 0);
	ck_assert_int_eq(setenv("PROCREF_CHILD", path, 1), 0);
	open_fds(before);
	ok(p, "start");
	ck_assert_int_gt(pr_process_pid(p), 0);
	ok(p, "join");
	ck_assert_int_eq(exitcode(p), 255);
	ok(p, "close");
	open_fds(after);
	unsetenv("PROCREF_CHILD");
	unlink(path);
	ck_assert_int_eq(memcmp(before, after, sizeof before), 0);
	ck_assert_int_eq(waitpid(-1, NULL, WNOHANG), -1);
	ck_assert_int_eq(errno, ECHILD);
	pr_decref(p);
}
END_TEST

/* No procref-child at all is libprocref's own failure, not CPython's: start()
 * raises FileNotFoundError naming the path (spawn and forkserver alike),
 * starts nothing, leaves no fd behind, and the process can start later. */
START_TEST(test_missing_child)
{
	static const char *const methods[] = { "spawn", "forkserver" };
	unsigned char before[1024], after[1024];
	struct pr_diag d = PR_DIAG_INIT;
	pr_value *p;
	size_t i;

	for (i = 0; i < 2; i++) {
		p = process("returns", NULL, NULL, NULL);
		ck_assert_int_eq(pr_set_start_method(methods[i], &d), 0);
		ck_assert_int_eq(setenv("PROCREF_CHILD", "/nonexistent/procref-child", 1), 0);
		open_fds(before);
		ck_call_raises(p, "start", "FileNotFoundError",
			       "[Errno 2] No such file or directory: '/nonexistent/procref-child' "
			       "(libprocref's procref-child: install it, set PROCREF_CHILD or call "
			       "pr_set_executable())");
		open_fds(after);
		ck_assert_int_eq(memcmp(before, after, sizeof before), 0);
		ck_assert_int_eq(pr_process_pid(p), 0);
		ck_assert_int_eq(waitpid(-1, NULL, WNOHANG), -1);
		/* a directory is no program either */
		ck_assert_int_eq(setenv("PROCREF_CHILD", "/tmp", 1), 0);
		ck_call_raises(p, "start", "PermissionError",
			       "[Errno 13] Permission denied: '/tmp' (libprocref's procref-child: "
			       "install it, set PROCREF_CHILD or call pr_set_executable())");
		unsetenv("PROCREF_CHILD");
		ok(p, "start");
		ok(p, "join");
		ck_assert_int_eq(exitcode(p), 0);
		pr_decref(p);
		pr_forkserver_stop();
	}
}
END_TEST

/* multiprocessing.set_executable(): pr_set_executable() wins over
 * $PROCREF_CHILD, NULL goes back to the search, and the default is the
 * procref-child beside this program (build/). */
START_TEST(test_set_executable)
{
	char self[PATH_MAX], path[PATH_MAX], *slash;
	struct pr_diag d = PR_DIAG_INIT;
	pr_value *p = process("returns", NULL, NULL, NULL);
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);

	ck_assert_int_gt(n, 0);
	self[n] = '\0';
	slash = strrchr(self, '/');
	ck_assert_ptr_nonnull(slash);
	strcpy(slash + 1, "procref-child");
	ck_assert_int_eq(pr_get_executable(path, sizeof path), 0);
	ck_assert_str_eq(path, self);
	ck_assert_int_eq(setenv("PROCREF_CHILD", "/nonexistent/procref-child", 1), 0);
	ck_assert_int_eq(pr_get_executable(path, sizeof path), 0);
	ck_assert_str_eq(path, "/nonexistent/procref-child");
	ck_assert_int_eq(pr_set_executable(self), 0);
	ck_assert_int_eq(pr_get_executable(path, sizeof path), 0);
	ck_assert_str_eq(path, self);
	ck_assert_int_eq(pr_get_executable(path, 4), -ENAMETOOLONG);
	ck_assert_int_eq(pr_set_start_method("spawn", &d), 0);
	ok(p, "start");
	ok(p, "join");
	ck_assert_int_eq(exitcode(p), 0);
	ck_assert_int_eq(pr_set_executable(NULL), 0);
	ck_assert_int_eq(pr_get_executable(path, sizeof path), 0);
	ck_assert_str_eq(path, "/nonexistent/procref-child");
	unsetenv("PROCREF_CHILD");
	pr_decref(p);
}
END_TEST

START_TEST(test_version)
{
	char want[32];

	snprintf(want, sizeof want, "%d.%d.%d", PR_VERSION_MAJOR, PR_VERSION_MINOR,
		 PR_VERSION_PATCH);
	ck_assert_str_eq(pr_version_string(), want);
	ck_assert_uint_eq(pr_version(), PR_VERSION_HEX);
	ck_assert_uint_eq(pr_version() >> 16, PR_VERSION_MAJOR);
}
END_TEST

/* The ppid field of /proc/PID/stat. */
static long ppid_of(pid_t pid)
{
	char path[64], buf[512], *p;
	long ppid = -1;
	FILE *f;

	snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
	if ((f = fopen(path, "re")) == NULL)
		return -1;
	if (fgets(buf, sizeof buf, f) != NULL && (p = strrchr(buf, ')')) != NULL)
		sscanf(p + 1, " %*c %ld", &ppid);
	fclose(f);
	return ppid;
}

/* forkserver: the child is the server's, not ours; exitcode and
 * terminate() still work through the status pipe (popen_forkserver.Popen
 * .poll), and stopping the server leaves nothing running. */
START_TEST(test_forkserver_child)
{
	struct pr_diag d = PR_DIAG_INIT;
	pr_value *p, *q;
	int gate[2];
	long ppid;

	ck_assert_int_eq(pr_set_start_method("forkserver", &d), 0);
	ck_assert_int_eq(pipe2(gate, O_CLOEXEC), 0);
	p = process("blocks", NULL, NULL, NULL);
	q = process("blocks", NULL, NULL, NULL);
	pr_process_set_gate(p, gate[0]);
	pr_process_set_gate(q, gate[0]);
	ok(p, "start");
	ok(q, "start");
	ppid = ppid_of(pr_process_pid(p));
	ck_assert_int_gt(ppid, 1);
	ck_assert_int_ne(ppid, getpid());
	ck_assert_int_eq(ppid_of(ppid), getpid());
	ck_assert_int_eq(ppid_of(pr_process_pid(q)), ppid);
	/* one byte each: either may be the one terminate() meets */
	ck_assert_int_eq(write(gate[1], "rr", 2), 2);
	ok(q, "terminate");
	ok(p, "join");
	ok(q, "join");
	ck_assert_int_eq(exitcode(q) == 0 || exitcode(q) == -SIGTERM, 1);
	ck_assert_int_eq(exitcode(p) == 0 || exitcode(p) == -SIGTERM, 1);
	pr_forkserver_stop();
	ck_assert_int_eq(kill((pid_t)ppid, 0), -1);
	ck_assert_int_eq(errno, ESRCH);
	close_gate(gate);
	pr_decref(p);
	pr_decref(q);
}
END_TEST

/* ---- version profiles ------------------------------------------------ */

/* back to the default after each test, for CK_FORK=no */
static void teardown_profile(void)
{
	teardown();
	ck_assert_int_eq(pr_set_profile("3.11", NULL), 0);
}

START_TEST(test_profile_names)
{
	struct pr_diag d = PR_DIAG_INIT;
	const char *feat[48];

	ck_assert_str_eq(pr_profile_name(), "3.11");
	/* with the executor's: every one of them in 3.11, the 16 of CPython's
	 * own test assertions (vocab.def, issue 16) and threading.native_id */
	ck_assert_int_eq(pr_profile_features(feat, 48), 28);
	ck_raised(pr_set_profile("3.5", &d), &d, "ValueError",
		  "unknown "
		  "profile '3.5' (one of 2.7, 3.6 ... 3.13, optionally with -O: "
		  "3.11-O)");
	ck_assert_int_eq(pr_set_profile("3.11-X", &d), PR_EVALUE);
	pr_diag_clear(&d);
	ck_assert_int_eq(pr_set_profile("", &d), PR_EVALUE);
	pr_diag_clear(&d);
	ck_assert_str_eq(pr_profile_name(), "3.11");
	ck_assert_int_eq(pr_set_profile("3.13-O", &d), 0);
	ck_assert_str_eq(pr_profile_name(), "3.13-O");
	/* the hello's features (vocab.def's order): close and kill from 3.7,
	 * parent_process from 3.8, sentinel from 3.3; the executor from 3.2,
	 * map's timeout from 3.2, mp_context and initializer from 3.7,
	 * cancel_futures from 3.9; Process from 2.6 */
	ck_assert_int_eq(pr_set_profile("3.7", &d), 0);
	ck_assert_int_eq(pr_profile_features(feat, 48), 8 + 16);
	ck_assert_str_eq(feat[0], "Executor.initializer");
	ck_assert_str_eq(feat[1], "Executor.map_timeout");
	ck_assert_str_eq(feat[2], "Executor.mp_context");
	ck_assert_str_eq(feat[3], "Process");
	ck_assert_str_eq(feat[4], "Process.close");
	ck_assert_str_eq(feat[5], "Process.kill");
	ck_assert_str_eq(feat[6], "Process.sentinel");
	ck_assert_str_eq(feat[7], "ProcessPoolExecutor");
	ck_assert_int_eq(pr_set_profile("3.9", &d), 0);
	/* and threading.native_id from 3.8 */
	ck_assert_int_eq(pr_profile_features(feat, 48), 10 + 16 + 1);
	ck_assert_str_eq(feat[0], "Executor.cancel_futures");
	ck_assert_int_eq(pr_set_profile("3.6", &d), 0);
	ck_assert_int_eq(pr_profile_features(feat, 48), 4 + 16);
	ck_assert_str_eq(feat[0], "Executor.map_timeout");
	ck_assert_str_eq(feat[1], "Process");
	ck_assert_str_eq(feat[2], "Process.sentinel");
	ck_assert_str_eq(feat[3], "ProcessPoolExecutor");
	ck_assert_int_eq(pr_set_profile("2.7", &d), 0);
	ck_assert_int_eq(pr_profile_features(feat, 48),
			 1 + 13); /* no _config, connection.wait, start_method */
	ck_assert_str_eq(feat[0], "Process");
}
END_TEST

/* Argument errors: the bare name before 3.10, 2.7's counts before 3.0. */
START_TEST(test_profile_arg_errors)
{
	struct pr_diag d = PR_DIAG_INIT;
	pr_value *cls = pr_global("Process"), *p = NULL, *q = NULL, *v[7], *one = pr_int(1);
	const char *kw[1] = { "group" };
	size_t i;

	for (i = 0; i < 7; i++)
		v[i] = pr_none();
	ck_assert_int_eq(pr_set_profile("3.9", &d), 0);
	ck_raised(pr_call(cls, v, 6, NULL, NULL, 0, &p, &d), &d, "TypeError",
		  "__init__() takes from 1 to 6 positional arguments but 7 were given");
	p = process("returns", NULL, NULL, NULL);
	ck_raised(callm(p, "start", &one, 1, NULL, &d), &d, "TypeError",
		  "start() takes 1 positional argument but 2 were given");
	ck_assert_int_eq(pr_set_profile("2.7", &d), 0);
	/* too many before the keywords, and keywords count */
	ck_raised(pr_call(cls, v, 6, kw, v, 1, &q, &d), &d, "TypeError",
		  "__init__() takes at most 6 arguments (8 given)");
	ck_raised(pr_call(cls, v, 1, kw, v, 1, &q, &d), &d, "TypeError",
		  "__init__() got multiple values for keyword argument 'group'");
	ck_raised(callm(p, "start", &one, 1, NULL, &d), &d, "TypeError",
		  "start() takes exactly 1 argument (2 given)");
	ck_raised(callm(p, "join", v, 2, NULL, &d), &d, "TypeError",
		  "join() takes at most 2 arguments (3 given)");
	for (i = 0; i < 7; i++)
		pr_decref(v[i]);
	pr_decref(p);
	pr_decref(one);
	pr_decref(cls);
}
END_TEST

/* libprocref has every module global and child behaviour of
 * harness/vocab.def, under the table's name, and each feature of a CPython
 * release from that release on. */
START_TEST(test_vocabulary)
{
	static const char *const globals[] = {
#define GLOBAL(name, how) how != ATTRS ? name : NULL,
#include "vocab.def"
	};
	static const char *const behaviours[] = {
#define CHILD(name, ref) name,
#include "vocab.def"
	};
	static const char *const tasks[] = {
#define TASK(name, ref) name,
#include "vocab.def"
	};
	static const struct {
		const char *name;
		unsigned since;
	} features[] = {
#define FEATURE(name, since, use, what, kw) { name, since },
#include "vocab.def"
	};
	static const int releases[][2] = {
		{ 2, 7 },  { 3, 6 },  { 3, 7 },  { 3, 8 },  { 3, 9 },
		{ 3, 10 }, { 3, 11 }, { 3, 12 }, { 3, 13 },
	};
	const char *feat[48];
	size_t i, k, n, r;
	pr_value *v;

	for (i = 0; i < ARRAY_SIZE(globals); i++) {
		if (!globals[i])
			continue;
		v = pr_global(globals[i]);
		ck_assert_msg(v != NULL, "no global %s", globals[i]);
		pr_decref(v);
	}
	for (i = 0; i < ARRAY_SIZE(behaviours); i++) {
		v = pr_behaviour(behaviours[i]);
		ck_assert_msg(v != NULL, "no behaviour child.%s", behaviours[i]);
		ck_assert_str_eq(pr_function_of(v)->name, behaviours[i]);
		pr_decref(v);
	}
	for (i = 0; i < ARRAY_SIZE(tasks); i++) {
		v = pr_task(tasks[i]);
		ck_assert_msg(v != NULL, "no behaviour task.%s", tasks[i]);
		pr_decref(v);
	}
	for (r = 0; r < ARRAY_SIZE(releases); r++) {
		unsigned version = (unsigned)releases[r][0] << 8 | (unsigned)releases[r][1];
		char profile[16];

		snprintf(profile, sizeof(profile), "%d.%d", releases[r][0], releases[r][1]);
		ck_assert_int_eq(pr_set_profile(profile, NULL), 0);
		n = pr_profile_features(feat, ARRAY_SIZE(feat));
		for (i = 0; i < ARRAY_SIZE(features); i++) {
			for (k = 0; k < n && strcmp(feat[k], features[i].name); k++)
				;
			ck_assert_msg((k < n) ==
					      (features[i].since && features[i].since <= version),
				      "%s %s in profile %s", features[i].name,
				      k < n ? "listed" : "not listed", profile);
		}
	}
}
END_TEST

/* 3.7's BaseProcess.__repr__: '<Process(name, status daemon)>' */
START_TEST(test_profile_repr_37)
{
	pr_value *p, *q, *r;
	int gate[2];

	ck_assert_int_eq(pr_set_profile("3.7", NULL), 0);
	ck_assert_int_eq(pipe2(gate, O_CLOEXEC), 0);
	p = process("exits", tuple2(pr_int(2), NULL), NULL, NULL);
	q = process("blocks", NULL, "daemon", pr_bool(1));
	r = process("returns", NULL, NULL, NULL);
	pr_process_set_gate(q, gate[0]);
	ck_repr_of(p, "<Process(Process-1, initial)>");
	ck_repr_of(q, "<Process(Process-2, initial daemon)>");
	ok(p, "start");
	ok(q, "start");
	ok(r, "start");
	ok(p, "join");
	ok(r, "join");
	ck_repr_of(p, "<Process(Process-1, stopped[2])>");
	ck_repr_of(q, "<Process(Process-2, started daemon)>");
	ck_repr_of(r, "<Process(Process-3, stopped)>");
	ok(q, "terminate");
	ok(q, "join");
	ck_repr_of(q, "<Process(Process-2, stopped[SIGTERM] daemon)>");
	ok(r, "close");
	ck_repr_of(r, "<Process(Process-3, closed)>");
	close_gate(gate);
	pr_decref(p);
	pr_decref(q);
	pr_decref(r);
}
END_TEST

/* before 3.9, _bootstrap reads SystemExit.args: sys.exit() exits 1 and
 * sys.exit((1, 2)) exits args[0] without a word; 2.7 has no daemon= and
 * no close(); 3.6 no close() either */
START_TEST(test_profile_old_releases)
{
	struct pr_diag d = PR_DIAG_INIT;
	pr_value *p, *v = NULL;
	char *err;
	int r;

	ck_assert_int_eq(pr_set_profile("3.8", NULL), 0);
	ck_assert_int_eq(exit_of(pr_tuple(NULL, 0)), 1);
	ck_assert_int_eq(exit_of(tuple2(pr_none(), NULL)), 1);
	ck_assert_int_eq(exit_of(tuple2(pr_int(3), NULL)), 3);
	p = process("exits", tuple2(tuple2(pr_int(1), pr_float(2.5)), NULL), NULL, NULL);
	err = run_capturing_stderr(p);
	ck_assert_str_eq(err, "");
	ck_assert_int_eq(exitcode(p), 1);
	free(err);
	pr_decref(p);

	ck_assert_int_eq(pr_set_profile("3.6", NULL), 0);
	p = process("returns", NULL, NULL, NULL);
	ck_no_attribute(p, "close");
	pr_decref(p);

	ck_assert_int_eq(pr_set_profile("2.7", NULL), 0);
	r = process_kw("target", pr_behaviour("returns"), "daemon", pr_bool(1), &v, &d);
	ck_raised(r, &d, "TypeError",
		  "__init__() got an unexpected keyword argument "
		  "'daemon'");
	p = process("returns", NULL, NULL, NULL);
	ck_no_attribute(p, "sentinel");
	pr_decref(p);
}
END_TEST

/* python -O: the assert statements of process.py are gone */
START_TEST(test_profile_optimized)
{
	struct pr_diag d = PR_DIAG_INIT;
	pr_value *p, *v = NULL;
	int null, saved, r;

	ck_assert_int_eq(pr_set_profile("3.11-O", NULL), 0);
	r = process_kw("group", pr_int(1), "target", pr_behaviour("returns"), &p, &d);
	ck_assert_int_eq(r, 0);
	ck_assert_int_eq(setattr_take(p, "name", pr_int(1), &d), 0);
	ck_assert_repr(getattr_ok(p, "name"), "1");
	ck_call_raises(p, "join", "AttributeError", "'NoneType' object has no attribute 'wait'");
	ok(p, "start");
	ck_assert_int_eq(setattr_take(p, "daemon", pr_bool(1), &d), 0);
	ok(p, "join");
	ck_assert_int_eq(exitcode(p), 0);
	/* a second start() forks again, then `del self._target` raises;
	 * the new child's run() fails on it too, and writes so to fd 2 */
	null = open("/dev/null", O_WRONLY | O_CLOEXEC);
	saved = fcntl(2, F_DUPFD_CLOEXEC, 3);
	ck_assert_int_ge(dup2(null, 2), 0);
	r = callm(p, "start", NULL, 0, &v, &d);
	ck_assert_int_ge(dup2(saved, 2), 0);
	close(saved);
	close(null);
	ck_raised(r, &d, "AttributeError", "'Process' object has no attribute '_target'");
	pr_decref(v);
	ok(p, "join");
	ck_assert_int_eq(exitcode(p), 1);
	pr_decref(p);
}
END_TEST

Suite *procref_suite(void)
{
	const struct ps_test values[] = { PS_TEST(test_str_repr),       PS_TEST(test_bytes_repr),
					  PS_TEST(test_float_repr),     PS_TEST(test_int_repr),
					  PS_TEST(test_container_repr), PS_TEST(test_str_of),
					  PS_TEST(test_errno_types) };
	const struct ps_test objects[] = {
		PS_TEST(test_construct_errors), PS_TEST(test_naming),
		PS_TEST(test_setters),          PS_TEST(test_unstarted_errors),
		PS_TEST(test_main_process),     PS_TEST(test_start_method),
		PS_TEST(test_version)
	};
	const struct ps_test children[] = {
		PS_TEST(test_lifecycle_reprs),     PS_TEST(test_signal_names),
		PS_TEST(test_join_timeout_errors), PS_TEST(test_system_exit_codes),
		PS_TEST(test_uncaught_exception),  PS_TEST(test_fork_fds),
		PS_TEST(test_child_fds),           PS_TEST(test_spawn_child_fds),
		PS_TEST(test_spawn_exec_error),    PS_TEST(test_missing_child),
		PS_TEST(test_set_executable),      PS_TEST(test_forkserver_child),
		PS_TEST(test_gc_closes_sentinel),  PS_TEST(test_exit_function)
	};
	const struct ps_test profiles[] = {
		PS_TEST(test_profile_names),        PS_TEST(test_vocabulary),
		PS_TEST(test_profile_repr_37),      PS_TEST(test_profile_arg_errors),
		PS_TEST(test_profile_old_releases), PS_TEST(test_profile_optimized)
	};
	const struct ps_case cases[] = {
		{ PS_CASE("values", values), .setup = ps_procref_setup, .teardown = teardown },
		{ PS_CASE("objects", objects), .setup = ps_procref_setup, .teardown = teardown },
		{ PS_CASE("children", children), .setup = ps_procref_setup, .teardown = teardown,
		  .timeout = 20 },
		{ PS_CASE("profiles", profiles), .setup = ps_procref_setup,
		  .teardown = teardown_profile, .timeout = 20 },
	};

	return ps_suite("procref", cases, ARRAY_SIZE(cases));
}

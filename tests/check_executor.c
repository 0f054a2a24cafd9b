/*
 * libprocref's ProcessPoolExecutor: what a user of concurrent.futures
 * sees (results, exceptions and their messages, future states and
 * reprs, the causes of remote errors), under each start method and the
 * release profiles whose behaviour differs, and that nothing is left
 * behind: no fd, no child.  Expected texts are CPython's, per release.
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "procref.h"
#include "suites.h"

static const char broken_msg[] = "A process in the process pool was "
				 "terminated abruptly while the future was running or pending.";
static const char unusable_msg[] = "A child process terminated abruptly, "
				   "the process pool is not usable anymore";

static void teardown(void)
{
	struct pr_diag d = PR_DIAG_INIT;

	pr_gates_release_all();
	pr_executor_exit_hook(&d);
	pr_diag_clear(&d);
	pr_exit_function(&d);
	pr_diag_clear(&d);
	pr_forkserver_stop();
	pr_gates_fini();
	pr_executor_fini();
	pr_fini();
}

static void profile(const char *name)
{
	struct pr_diag d = PR_DIAG_INIT;

	ck_assert_int_eq(pr_set_profile(name, &d), 0);
	pr_diag_clear(&d);
}

static void method(const char *name)
{
	struct pr_diag d = PR_DIAG_INIT;

	ck_assert_int_eq(pr_set_start_method(name, &d), 0);
	pr_diag_clear(&d);
}

static long open_fds(void)
{
	DIR *dir = opendir("/proc/self/fd");
	struct dirent *e;
	long n = 0;

	ck_assert_ptr_nonnull(dir);
	while ((e = readdir(dir)) != NULL)
		n += e->d_name[0] != '.';
	closedir(dir);
	return n - 1; /* the directory's own */
}

/* No child of this process left, running or unreaped. */
static void ck_no_child(void)
{
	siginfo_t si;

	errno = 0;
	ck_assert_int_eq(waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT), -1);
	ck_assert_int_eq(errno, ECHILD);
}

static char *repr_of(pr_value *v)
{
	char *s = NULL;

	ck_assert_int_eq(pr_repr(v, &s, NULL), 0);
	return s;
}

static void ck_repr(pr_value *v, const char *expected)
{
	char *s = repr_of(v);

	ck_assert_str_eq(s, expected);
	free(s);
}

/* repr() up to its first " at 0x", and what follows the address */
static void ck_future_repr(pr_value *f, const char *state)
{
	char *s = repr_of(f), *at = strstr(s, " at 0x"), *sp;

	ck_assert_ptr_nonnull(at);
	sp = strchr(at + 4, ' ');
	ck_assert_ptr_nonnull(sp);
	ck_assert_int_eq(strncmp(s, "<Future", 7), 0);
	ck_assert_str_eq(sp + 1, state);
	free(s);
}

static void ck_raised(int r, struct pr_diag *d, const char *type, const char *message)
{
	ck_assert_int_lt(r, 0);
	ck_assert_ptr_nonnull(d->type);
	ck_assert_str_eq(d->type, type);
	ck_assert_str_eq(d->message, message);
	pr_diag_clear(d);
}

/* ProcessPoolExecutor(max_workers=n, **kw) */
static pr_value *executor_kw(long n, const char *kw, pr_value *kwval, struct pr_diag *d, int *r)
{
	const char *names[2] = { "max_workers", kw };
	pr_value *vals[2], *cls = pr_executor_class(), *ex = NULL;

	vals[0] = pr_int(n);
	vals[1] = kwval;
	*r = pr_call(cls, NULL, 0, names, vals, kw ? 2 : 1, &ex, d);
	pr_decref(vals[0]);
	pr_decref(kwval);
	pr_decref(cls);
	return ex;
}

static pr_value *executor(long n)
{
	struct pr_diag d = PR_DIAG_INIT;
	int r;
	pr_value *ex = executor_kw(n, NULL, NULL, &d, &r);

	if (r < 0)
		ck_abort_msg("ProcessPoolExecutor() raised %s: %s", d.type, d.message);
	return ex;
}

/* ex.submit(task.NAME, *args), consuming args */
static pr_value *submit(pr_value *ex, const char *task, pr_value *a, pr_value *b)
{
	struct pr_diag d = PR_DIAG_INIT;
	pr_value *fn = pr_task(task), *f = NULL, *args[2] = { a, b };

	ck_assert_ptr_nonnull(fn);
	if (pr_executor_submit(ex, fn, args, b ? 2 : a ? 1 : 0, &f, &d) < 0)
		ck_abort_msg("submit raised %s: %s", d.type, d.message);
	pr_decref(fn);
	pr_decref(a);
	pr_decref(b);
	return f;
}

static void shutdown_ok(pr_value *ex)
{
	struct pr_diag d = PR_DIAG_INIT;

	ck_assert_int_eq(pr_executor_shutdown(ex, 1, 0, &d), 0);
}

static pr_value *str(const char *s)
{
	return pr_str(s, strlen(s));
}

/* ---- results, under each start method ------------------------------- */

static void results_under(const char *m)
{
	struct pr_diag d = PR_DIAG_INIT;
	pr_value *ex, *f, *v = NULL, *fn;
	long before;
	int r;

	method(m);
	before = open_fds();
	ex = executor(2);
	f = submit(ex, "returns", pr_int(7), NULL);
	ck_assert_int_eq(pr_future_result(f, -1, &v, &d), 0);
	ck_repr(v, "7");
	ck_future_repr(f, "state=finished returned int>");
	pr_decref(v);
	pr_decref(f);
	/* a worker handle comes back from the worker */
	f = submit(ex, "pid", NULL, NULL);
	ck_assert_int_eq(pr_future_result(f, -1, &v, &d), 0);
	ck_assert_int_gt(pr_worker_pid(v), 0);
	ck_assert_int_ne(pr_worker_pid(v), getpid());
	pr_decref(v);
	pr_decref(f);
	shutdown_ok(ex);
	fn = pr_task("returns");
	r = pr_executor_submit(ex, fn, NULL, 0, &f, &d);
	ck_raised(r, &d, "RuntimeError", "cannot schedule new futures after shutdown");
	pr_decref(fn);
	pr_decref(ex);
	pr_forkserver_stop();
	ck_assert_int_eq(open_fds(), before);
	ck_no_child();
}

START_TEST(test_results_fork)
{
	results_under("fork");
}
END_TEST

START_TEST(test_results_spawn)
{
	results_under("spawn");
}
END_TEST

START_TEST(test_results_forkserver)
{
	results_under("forkserver");
}
END_TEST

/* ---- a task raises: the exception, its repr, its remote cause ------- */

START_TEST(test_task_raises)
{
	struct pr_diag d = PR_DIAG_INIT;
	pr_value *ex = executor(1), *f, *v = NULL, *c = NULL;
	int r;

	f = submit(ex, "raises", str("ValueError"), str("boom"));
	r = pr_future_result(f, -1, &v, &d);
	ck_raised(r, &d, "ValueError", "boom");
	ck_assert_int_eq(pr_future_exception(f, -1, &v, &d), 0);
	ck_repr(v, "ValueError('boom')");
	pr_decref(v);
	ck_future_repr(f, "state=finished raised ValueError>");
	ck_assert_int_eq(pr_cause(f, &c, &d), 0);
	ck_assert_str_eq(pr_data(c, NULL), "_RemoteTraceback: \n\"\"\"\n"
					   "Traceback (most recent call last):\n"
					   "  File \"<procref>\", line 0, in _process_worker\n"
					   "ValueError: boom\n\"\"\"");
	pr_decref(c);
	pr_decref(f);
	/* sys.exit() in a task is the future's exception; the pool lives */
	f = submit(ex, "exits", pr_int(3), NULL);
	ck_assert_int_eq(pr_future_exception(f, -1, &v, &d), 0);
	ck_repr(v, "SystemExit(3)");
	pr_decref(v);
	pr_decref(f);
	f = submit(ex, "returns", str("ok"), NULL);
	ck_assert_int_eq(pr_future_result(f, -1, &v, &d), 0);
	ck_repr(v, "'ok'");
	pr_decref(v);
	pr_decref(f);
	shutdown_ok(ex);
	pr_decref(ex);
	ck_no_child();
}
END_TEST

/* 3.6 shows one argument with a comma */
START_TEST(test_exception_repr_36)
{
	struct pr_diag d = PR_DIAG_INIT;
	pr_value *ex, *f, *v = NULL;

	profile("3.6");
	ex = executor(1);
	f = submit(ex, "raises", str("ValueError"), str("boom"));
	ck_assert_int_eq(pr_future_exception(f, -1, &v, &d), 0);
	ck_repr(v, "ValueError('boom',)");
	pr_decref(v);
	pr_decref(f);
	shutdown_ok(ex);
	pr_decref(ex);
}
END_TEST

/* ---- a worker dies: BrokenProcessPool ------------------------------ */

static void killed_under(const char *m)
{
	struct pr_diag d = PR_DIAG_INIT;
	pr_value *ex, *g = NULL, *w = NULL, *f1, *f2, *v = NULL, *fn;
	long before;
	int r;

	method(m);
	before = open_fds();
	ex = executor(1);
	ck_assert_int_eq(pr_gate_new(&g, &d), 0);
	f1 = submit(ex, "blocks", pr_incref(g), NULL);
	f2 = submit(ex, "returns", pr_int(2), NULL);
	ck_assert_int_eq(pr_gate_started(g, 20000, &w, &d), 0);
	ck_assert_int_eq(kill(pr_worker_pid(w), SIGKILL), 0);
	r = pr_future_result(f1, -1, &v, &d);
	ck_raised(r, &d, "BrokenProcessPool", broken_msg);
	r = pr_future_result(f2, -1, &v, &d);
	ck_raised(r, &d, "BrokenProcessPool", broken_msg);
	ck_future_repr(f1, "state=finished raised BrokenProcessPool>");
	fn = pr_task("returns");
	r = pr_executor_submit(ex, fn, NULL, 0, &v, &d);
	ck_raised(r, &d, "BrokenProcessPool", unusable_msg);
	ck_assert_int_eq(pr_cause(f1, &v, &d), 0);
	ck_assert_str_eq(pr_data(v, NULL), "None");
	pr_decref(v);
	shutdown_ok(ex);
	pr_decref(fn);
	pr_decref(f1);
	pr_decref(f2);
	pr_decref(w);
	pr_decref(g);
	pr_decref(ex);
	pr_gates_fini();
	pr_forkserver_stop();
	ck_assert_int_eq(open_fds(), before);
	ck_no_child();
}

START_TEST(test_killed_fork)
{
	killed_under("fork");
}
END_TEST

START_TEST(test_killed_spawn)
{
	killed_under("spawn");
}
END_TEST

START_TEST(test_killed_forkserver)
{
	killed_under("forkserver");
}
END_TEST

/* ---- cancel, running, timeouts ------------------------------------- */

START_TEST(test_cancel_pending)
{
	struct pr_diag d = PR_DIAG_INIT;
	pr_value *ex = executor(1), *g = NULL, *w = NULL, *f[4], *v = NULL;
	int r, i;

	ck_assert_int_eq(pr_gate_new(&g, &d), 0);
	f[0] = submit(ex, "blocks", pr_incref(g), str("done"));
	for (i = 1; i < 4; i++)
		f[i] = submit(ex, "returns", pr_int(i), NULL);
	ck_assert_int_eq(pr_gate_started(g, 20000, &w, &d), 0);
	ck_assert_str_eq(pr_future_state(f[0]), "running");
	ck_assert_int_eq(pr_future_cancel(f[0]), 0);
	/* index 2N+1 cannot have reached the call queue */
	ck_assert_int_eq(pr_future_cancel(f[3]), 1);
	ck_assert_int_eq(pr_future_cancel(f[3]), 1);
	ck_future_repr(f[3], "state=cancelled>");
	r = pr_future_result(f[3], -1, &v, &d);
	ck_raised(r, &d, "CancelledError", "");
	r = pr_future_result(f[0], 0, &v, &d);
	ck_raised(r, &d, "TimeoutError", "");
	ck_assert_int_eq(pr_gate_release(g, &d), 0);
	ck_assert_int_eq(pr_future_result(f[0], -1, &v, &d), 0);
	ck_repr(v, "'done'");
	pr_decref(v);
	shutdown_ok(ex);
	ck_assert_str_eq(pr_future_state(f[1]), "finished");
	for (i = 0; i < 4; i++)
		pr_decref(f[i]);
	pr_decref(w);
	pr_decref(g);
	pr_decref(ex);
	ck_no_child();
}
END_TEST

/* gh-107219: a cancelled future meets a broken pool: on 3.8-3.11 the
 * manager dies and the futures after it never resolve; 3.12 fixed it */
static void gh107219(const char *release, int fixed)
{
	struct pr_diag d = PR_DIAG_INIT;
	pr_value *ex, *g = NULL, *w = NULL, *f[6], *v = NULL;
	int r, i, ok = 0;

	profile(release);
	ex = executor(1);
	ck_assert_int_eq(pr_gate_new(&g, &d), 0);
	f[0] = submit(ex, "blocks", pr_incref(g), NULL);
	for (i = 1; i < 6; i++)
		f[i] = submit(ex, "returns", pr_int(i), NULL);
	ck_assert_int_eq(pr_gate_started(g, 20000, &w, &d), 0);
	ck_assert_int_eq(pr_future_cancel(f[4]), 1);
	ck_assert_int_eq(kill(pr_worker_pid(w), SIGKILL), 0);
	r = pr_future_result(f[0], -1, &v, &d);
	ck_raised(r, &d, "BrokenProcessPool", broken_msg);
	r = pr_future_result(f[5], 0, &v, &d);
	if (fixed)
		ck_raised(r, &d, "BrokenProcessPool", broken_msg);
	else
		ck_raised(r, &d, "TimeoutError", "");
	ck_assert_int_eq(pr_executor_settles(ex, 10000, &ok, &d), 0);
	ck_assert_int_eq(ok, 1);
	for (i = 0; i < 6; i++)
		pr_decref(f[i]);
	pr_decref(w);
	pr_decref(g);
	pr_decref(ex);
}

START_TEST(test_gh107219_38)
{
	gh107219("3.8", 0);
}
END_TEST

START_TEST(test_gh107219_312)
{
	gh107219("3.12", 1);
}
END_TEST

/* ---- pickling errors, worded per release --------------------------- */

static void unpicklable_argument(const char *release, const char *message)
{
	struct pr_diag d = PR_DIAG_INIT;
	pr_value *ex, *f, *v = NULL;
	int r;

	profile(release);
	ex = executor(1);
	f = submit(ex, "returns", pr_unpicklable(), NULL);
	r = pr_future_result(f, -1, &v, &d);
	ck_raised(r, &d, "TypeError", message);
	pr_decref(f);
	f = submit(ex, "returns_unpicklable", NULL, NULL);
	r = pr_future_result(f, -1, &v, &d);
	ck_raised(r, &d, "TypeError", message);
	pr_decref(f);
	shutdown_ok(ex);
	pr_decref(ex);
}

START_TEST(test_unpicklable_37)
{
	unpicklable_argument("3.7", "can't pickle _thread.lock objects");
}
END_TEST

START_TEST(test_unpicklable_311)
{
	unpicklable_argument("3.11", "cannot pickle '_thread.lock' object");
}
END_TEST

/* an exception the parent cannot unpickle breaks the pool, with the
 * unpickling error as the cause */
START_TEST(test_unpicklable_exception)
{
	struct pr_diag d = PR_DIAG_INIT;
	pr_value *ex = executor(1), *f, *v = NULL;
	int r;

	f = submit(ex, "raises_unpicklable", NULL, NULL);
	r = pr_future_result(f, -1, &v, &d);
	ck_raised(r, &d, "BrokenProcessPool", broken_msg);
	ck_assert_int_eq(pr_cause(f, &v, &d), 0);
	ck_assert_ptr_nonnull(strstr(pr_data(v, NULL), "\nTypeError: TwoArgError."
						       "__init__() missing 1 required positional "
						       "argument: 'b'\n'''"));
	pr_decref(v);
	pr_decref(f);
	shutdown_ok(ex);
	pr_decref(ex);
}
END_TEST

/* ---- the constructor's checks ------------------------------------- */

START_TEST(test_constructor_errors)
{
	struct pr_diag d = PR_DIAG_INIT;
	pr_value *ex;
	int r;

	ex = executor_kw(0, NULL, NULL, &d, &r);
	ck_raised(r, &d, "ValueError", "max_workers must be greater than 0");
	ex = executor_kw(1, "initializer", pr_int(5), &d, &r);
	ck_raised(r, &d, "TypeError", "initializer must be a callable");
	ex = executor_kw(1, "mp_context", str("fork"), &d, &r);
	ck_raised(r, &d, "AttributeError", "'str' object has no attribute 'get_start_method'");
	ex = executor_kw(1, "max_tasks_per_child", pr_int(0), &d, &r);
	ck_raised(r, &d, "ValueError", "max_tasks_per_child must be >= 1");
	ex = executor_kw(1, "frob", pr_int(0), &d, &r);
	ck_raised(r, &d, "TypeError",
		  "ProcessPoolExecutor.__init__() got an "
		  "unexpected keyword argument 'frob'");
	profile("3.8");
	ex = executor_kw(1, "max_tasks_per_child", pr_int(1), &d, &r);
	ck_raised(r, &d, "TypeError",
		  "__init__() got an unexpected keyword argument "
		  "'max_tasks_per_child'");
	ck_assert_ptr_null(ex);
}
END_TEST

/* ---- max_tasks_per_child, map --------------------------------------- */

START_TEST(test_max_tasks_per_child)
{
	struct pr_diag d = PR_DIAG_INIT;
	pr_value *ex, *f, *v = NULL;
	pid_t pids[3];
	int r, i;

	method("spawn");
	ex = executor_kw(1, "max_tasks_per_child", pr_int(1), &d, &r);
	ck_assert_int_eq(r, 0);
	for (i = 0; i < 3; i++) {
		f = submit(ex, "pid", NULL, NULL);
		ck_assert_int_eq(pr_future_result(f, -1, &v, &d), 0);
		pids[i] = pr_worker_pid(v);
		pr_decref(v);
		pr_decref(f);
	}
	ck_assert_int_ne(pids[0], pids[1]);
	ck_assert_int_ne(pids[1], pids[2]);
	shutdown_ok(ex);
	pr_decref(ex);
	ck_no_child();
}
END_TEST

START_TEST(test_map)
{
	const char *names[1] = { "chunksize" };
	struct pr_diag d = PR_DIAG_INIT;
	pr_value *ex = executor(2), *m = NULL, *it = NULL, *list, *v = NULL;
	pr_value *args[2], *kw[1], *items[3];
	int r;

	items[0] = pr_int(1);
	items[1] = pr_int(2);
	items[2] = pr_int(3);
	args[0] = pr_task("returns");
	args[1] = pr_list(items, 3);
	kw[0] = pr_int(2);
	ck_assert_int_eq(pr_getattr(ex, "map", &m, &d), 0);
	ck_assert_int_eq(pr_call(m, args, 2, names, kw, 1, &it, &d), 0);
	list = pr_global("list");
	ck_assert_int_eq(pr_call(list, &it, 1, NULL, NULL, 0, &v, &d), 0);
	ck_repr(v, "[1, 2, 3]");
	pr_decref(v);
	pr_decref(kw[0]);
	kw[0] = pr_int(0);
	r = pr_call(m, args, 2, names, kw, 1, &v, &d);
	ck_raised(r, &d, "ValueError", "chunksize must be >= 1.");
	pr_decref(kw[0]);
	pr_decref(list);
	pr_decref(it);
	pr_decref(m);
	pr_decref(args[0]);
	pr_decref(args[1]);
	shutdown_ok(ex);
	pr_decref(ex);
}
END_TEST

/* shutdown(wait=False) on a pool of one worker busy with f0 (held by
 * the gate g, started as w says) while f1 is still pending; the gate
 * is let go after the shutdown */
struct nowait {
	pr_value *ex, *g, *w, *f0, *f1;
};

static void shutdown_nowait_pending(struct nowait *n)
{
	struct pr_diag d = PR_DIAG_INIT;

	n->g = n->w = NULL;
	n->ex = executor(1);
	ck_assert_int_eq(pr_gate_new(&n->g, &d), 0);
	n->f0 = submit(n->ex, "blocks", pr_incref(n->g), NULL);
	n->f1 = submit(n->ex, "returns", pr_int(1), NULL);
	ck_assert_int_eq(pr_gate_started(n->g, 20000, &n->w, &d), 0);
	ck_assert_int_eq(pr_executor_shutdown(n->ex, 0, 0, &d), 0);
	ck_assert_int_eq(pr_gate_release(n->g, &d), 0);
}

/* ... and once the pool is settled or forgotten, no child is left */
static void nowait_free(struct nowait *n)
{
	pr_decref(n->f0);
	pr_decref(n->f1);
	pr_decref(n->w);
	pr_decref(n->g);
	pr_decref(n->ex);
	ck_no_child();
}

/* 3.7/3.8: shutdown(wait=False) with work pending kills the manager
 * (bpo-39098): the pending future never resolves, the pool never
 * settles; settles() then forgets it, and after the exit hook nothing is
 * left */
START_TEST(test_shutdown_nowait_38)
{
	struct pr_diag d = PR_DIAG_INIT;
	struct nowait n;
	pr_value *v = NULL;
	int r, ok = 1;

	profile("3.8");
	shutdown_nowait_pending(&n);
	r = pr_future_result(n.f1, 0.5, &v, &d);
	ck_raised(r, &d, "TimeoutError", "");
	ck_assert_int_eq(pr_executor_settles(n.ex, 1000, &ok, &d), 0);
	ck_assert_int_eq(ok, 0);
	ck_assert_int_eq(pr_executor_exit_hook(&d), 0); /* kills what it forgot */
	nowait_free(&n);
}
END_TEST

START_TEST(test_shutdown_nowait_311)
{
	struct pr_diag d = PR_DIAG_INIT;
	struct nowait n;
	pr_value *v = NULL;
	int ok = 0;

	shutdown_nowait_pending(&n);
	ck_assert_int_eq(pr_future_result(n.f1, -1, &v, &d), 0);
	ck_repr(v, "1");
	pr_decref(v);
	ck_assert_int_eq(pr_executor_settles(n.ex, 10000, &ok, &d), 0);
	ck_assert_int_eq(ok, 1);
	nowait_free(&n);
}
END_TEST

Suite *executor_suite(void)
{
	const struct ps_test tests[] = { PS_TEST(test_results_fork),
					 PS_TEST(test_results_spawn),
					 PS_TEST(test_results_forkserver),
					 PS_TEST(test_task_raises),
					 PS_TEST(test_exception_repr_36),
					 PS_TEST(test_killed_fork),
					 PS_TEST(test_killed_spawn),
					 PS_TEST(test_killed_forkserver),
					 PS_TEST(test_cancel_pending),
					 PS_TEST(test_gh107219_38),
					 PS_TEST(test_gh107219_312),
					 PS_TEST(test_unpicklable_37),
					 PS_TEST(test_unpicklable_311),
					 PS_TEST(test_unpicklable_exception),
					 PS_TEST(test_constructor_errors),
					 PS_TEST(test_max_tasks_per_child),
					 PS_TEST(test_map),
					 PS_TEST(test_shutdown_nowait_38),
					 PS_TEST(test_shutdown_nowait_311) };
	const struct ps_case cases[] = {
		{ PS_CASE("executor", tests), .setup = ps_procref_setup, .teardown = teardown,
		  .timeout = 60 },
	};

	return ps_suite("executor", cases, ARRAY_SIZE(cases));
}

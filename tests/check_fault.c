/*
 * The fault library (build/libprocspec-fiu.so) and the fault verbs' checks.
 * The library is dlopen()ed rather than preloaded: its pipe2 is then called
 * by name, and reaches libc's through RTLD_NEXT exactly as when preloaded.
 * It is never dlclose()d: libfiu's failpoint table stays reachable (each
 * test runs in a child of its own).
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fault.h"
#include "suites.h"

struct fiu {
	void *h;
	int (*pipe2)(int *, int);
	int (*begin)(void);
	int (*arm)(const char *, int, long, long);
	void (*clear)(void);
	void (*active)(int);
	int (*arm_in)(const char *, int, long, long, int);
	void (*background)(int);
	void (*exempt)(int);
	long (*calls_in)(unsigned, int);
	const char *(*site)(unsigned);
};

/* psfiu.h's scopes */
enum { ANY, STEP, BACKGROUND };

static struct fiu fiu_open(void)
{
	char path[PATH_MAX], *slash;
	ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - 32);
	struct fiu f;

	ck_assert_int_gt(n, 0);
	path[n] = '\0';
	slash = strrchr(path, '/');
	ck_assert_ptr_nonnull(slash);
	strcpy(slash + 1, "libprocspec-fiu.so");
	f.h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	ck_assert_msg(f.h != NULL, "dlopen %s: %s", path, dlerror());
	*(void **)&f.pipe2 = dlsym(f.h, "pipe2");
	*(void **)&f.begin = dlsym(f.h, "psfiu_begin");
	*(void **)&f.arm = dlsym(f.h, "psfiu_arm");
	*(void **)&f.clear = dlsym(f.h, "psfiu_clear");
	*(void **)&f.active = dlsym(f.h, "psfiu_active");
	*(void **)&f.arm_in = dlsym(f.h, "psfiu_arm_in");
	*(void **)&f.background = dlsym(f.h, "psfiu_background");
	*(void **)&f.exempt = dlsym(f.h, "psfiu_exempt");
	*(void **)&f.calls_in = dlsym(f.h, "psfiu_calls_in");
	*(void **)&f.site = dlsym(f.h, "psfiu_site");
	ck_assert(f.pipe2 && f.begin && f.arm && f.clear && f.active);
	ck_assert(f.arm_in && f.background && f.exempt && f.calls_in && f.site);
	ck_assert_int_eq(f.begin(), 0);
	return f;
}

static void ok_pipe(struct fiu *f)
{
	int fds[2] = { -1, -1 };

	ck_assert_int_eq(f->pipe2(fds, O_CLOEXEC), 0);
	ck_assert_int_ge(fds[0], 0);
	ck_assert_int_ge(fds[1], 0);
	ck_assert_int_eq(fcntl(fds[0], F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	ck_assert_int_eq(write(fds[1], "x", 1), 1);
	close(fds[0]);
	close(fds[1]);
}

static void failed_pipe(struct fiu *f, int err)
{
	int fds[2] = { -7, -7 };

	errno = 0;
	ck_assert_int_eq(f->pipe2(fds, O_CLOEXEC), -1);
	ck_assert_msg(errno == err, "errno %d (%s), expected %d (%s)", errno, strerror(errno), err,
		      strerror(err));
	ck_assert_int_eq(fds[0], -7); /* untouched */
}

START_TEST(test_pipe2_fails_with_given_errno)
{
	struct fiu f = fiu_open();

	ck_assert_int_eq(f.arm("posix/io/oc/pipe2", EMFILE, 1, 0), 0);
	f.active(1);
	failed_pipe(&f, EMFILE);
	ok_pipe(&f); /* count=1: the next call goes through */
	ck_assert_int_eq(f.arm("posix/io/oc/pipe2", ENFILE, 1, 0), 0);
	failed_pipe(&f, ENFILE);
}
END_TEST

START_TEST(test_pipe2_untouched_when_off)
{
	struct fiu f = fiu_open();

	ok_pipe(&f); /* nothing armed */
	ck_assert_int_eq(f.arm("posix/io/oc/pipe2", EMFILE, -1, 0), 0);
	f.active(0); /* armed but not in a step: the driver's own calls */
	ok_pipe(&f);
	f.active(1);
	failed_pipe(&f, EMFILE);
	failed_pipe(&f, EMFILE); /* count < 0: every call */
	f.clear();
	ok_pipe(&f);
}
END_TEST

START_TEST(test_after_and_count)
{
	struct fiu f = fiu_open();

	ck_assert_int_eq(f.arm("posix/io/oc/pipe2", EMFILE, 2, 1), 0);
	f.active(1);
	ok_pipe(&f); /* after=1 lets one pass */
	failed_pipe(&f, EMFILE);
	failed_pipe(&f, EMFILE);
	ok_pipe(&f); /* count=2 spent */
}
END_TEST

START_TEST(test_arm_checks_site_and_errno)
{
	struct fiu f = fiu_open();

	ck_assert_int_eq(f.arm("posix/io/oc/nosuch", EMFILE, 1, 0), -ENOENT);
	ck_assert_int_eq(f.arm("posix/io/oc/pipe2", ESRCH, 1, 0), -EINVAL);
	ck_assert_int_eq(f.arm("posix/proc/kill", ESRCH, 1, 0), 0);
}
END_TEST

/* pipe2 in a thread of its own: 0, or the errno it failed with */
struct other {
	struct fiu *f;
	int exempt;
	int err;
};

static void *other_pipe(void *arg)
{
	struct other *o = arg;
	int fds[2];

	if (o->exempt)
		o->f->exempt(1);
	o->err = 0;
	if (o->f->pipe2(fds, O_CLOEXEC) < 0) {
		o->err = errno;
	} else {
		close(fds[0]);
		close(fds[1]);
	}
	return NULL;
}

static int in_other_thread(struct fiu *f, int exempt)
{
	struct other o = { f, exempt, -1 };
	pthread_t t;

	ck_assert_int_eq(pthread_create(&t, NULL, other_pipe, &o), 0);
	ck_assert_int_eq(pthread_join(t, NULL), 0);
	return o.err;
}

static unsigned pipe2_site(struct fiu *f)
{
	unsigned i;

	for (i = 0; f->site(i); i++)
		if (!strcmp(f->site(i), "posix/io/oc/pipe2"))
			return i;
	ck_abort_msg("no pipe2 site");
	return 0;
}

/* A background fault fails another thread's call, and the stepping
 * thread's only inside declared background work; a step fault the other
 * way round.  A library that ignored the scope fails the first ok_pipe. */
START_TEST(test_thread_scopes)
{
	struct fiu f = fiu_open();
	unsigned i = pipe2_site(&f);

	ck_assert_int_eq(f.arm_in("posix/io/oc/pipe2", EMFILE, -1, 0, BACKGROUND), 0);
	f.active(1); /* this thread is the stepping thread */
	ok_pipe(&f);
	ck_assert_int_eq(in_other_thread(&f, 0), EMFILE);
	ck_assert_int_eq(in_other_thread(&f, 1), 0); /* a driver's own thread */
	f.background(1);
	failed_pipe(&f, EMFILE);
	f.background(0);
	ok_pipe(&f);
	/* background work meets its faults between steps too */
	f.active(0);
	ck_assert_int_eq(in_other_thread(&f, 0), EMFILE);
	f.active(1);

	ck_assert_int_eq(f.arm_in("posix/io/oc/pipe2", EMFILE, -1, 0, STEP), 0);
	failed_pipe(&f, EMFILE);
	ck_assert_int_eq(in_other_thread(&f, 0), 0);
	f.background(1);
	ok_pipe(&f);
	f.background(0);
	f.active(0);
	ok_pipe(&f); /* a step fault needs a step */

	/* in a step outside background work: 3 of this thread's calls;
	 * background: 2 in declared stretches and 3 of other threads (not
	 * the exempt thread's) */
	ck_assert_int_eq(f.calls_in(i, STEP), 3);
	ck_assert_int_eq(f.calls_in(i, BACKGROUND), 5);
	ck_assert_int_eq(f.arm_in("posix/io/oc/pipe2", EMFILE, 1, 0, 3), -EINVAL);
}
END_TEST

/* after= counts only the calls of the fault's own scope. */
START_TEST(test_thread_scope_after)
{
	struct fiu f = fiu_open();

	ck_assert_int_eq(f.arm_in("posix/io/oc/pipe2", EMFILE, 1, 1, BACKGROUND), 0);
	f.active(1);
	ok_pipe(&f);
	ok_pipe(&f); /* not background: does not use up after=1 */
	ck_assert_int_eq(in_other_thread(&f, 0), 0);
	ck_assert_int_eq(in_other_thread(&f, 0), EMFILE);
	ck_assert_int_eq(in_other_thread(&f, 0), 0);
}
END_TEST

START_TEST(test_sites_table)
{
	const struct ps_fault_site *s, *prev = NULL;
	size_t i;

	for (i = 0; (s = ps_fault_site_at(i)); i++) {
		ck_assert_int_ne(s->errnos[0], 0);
		if (prev)
			ck_assert_msg(strcmp(prev->name, s->name) < 0, "%s after %s", s->name,
				      prev->name);
		prev = s;
	}
	ck_assert_uint_ge(i, 20);
	ck_assert_ptr_nonnull(ps_fault_site_find("posix/proc/fork"));
	ck_assert_ptr_null(ps_fault_site_find("posix/proc/frok"));
	ck_assert_int_eq(ps_fault_errno("EAGAIN"), EAGAIN);
	ck_assert_int_eq(ps_fault_errno("EWHATEVER"), 0);
	ck_assert_str_eq(ps_fault_errno_name(EMFILE), "EMFILE");
}
END_TEST

Suite *fault_suite(void)
{
	const struct ps_test tests[] = { PS_TEST(test_pipe2_fails_with_given_errno),
					 PS_TEST(test_pipe2_untouched_when_off),
					 PS_TEST(test_after_and_count),
					 PS_TEST(test_arm_checks_site_and_errno),
					 PS_TEST(test_thread_scopes),
					 PS_TEST(test_thread_scope_after),
					 PS_TEST(test_sites_table) };
	const struct ps_case cases[] = {
		{ PS_CASE("preload", tests) },
	};

	return ps_suite("fault", cases, ARRAY_SIZE(cases));
}

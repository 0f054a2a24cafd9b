/* Hostile input to the harness's own plumbing: untrusted text, a pool that cannot start. */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "buf.h"
#include "pool.h"
#include "suites.h"

static char *esc(const char *s)
{
	char *e = ps_text_escape(s);

	ck_assert_ptr_nonnull(e);
	return e;
}

START_TEST(test_text_escape)
{
	char *e;

	e = esc("plain\ttext\nwith é and 😀 \\x");
	ck_assert_str_eq(e, "plain\ttext\nwith é and 😀 \\x");
	free(e);
	e = esc("\xff\xfe \x1b[31mred\x1b[0m \xc2\x9b \xe0\x80\x80 \xed\xa0\x80 \xc3");
	ck_assert_str_eq(e, "\\xff\\xfe \\x1b[31mred\\x1b[0m \\xc2\\x9b \\xe0\\x80\\x80 "
			    "\\xed\\xa0\\x80 \\xc3");
	free(e);
}
END_TEST

static int job_nothing(void *ctx, struct ps_runner *rn, const struct ps_job *job,
		       struct ps_job_result *res, struct ps_diag *d)
{
	(void)ctx, (void)rn, (void)job, (void)d;
	res->verdict = PS_V_PASS;
	return 0;
}

static bool done_nothing(void *ctx, size_t index, const struct ps_job *job,
			 struct ps_job_result *res)
{
	(void)ctx, (void)index, (void)job, (void)res;
	return true;
}

/*
 * A pool whose second worker cannot get its pipes (EMFILE) fails with a
 * message, closes what it opened, and leaves the caller's fd 0 alone: the
 * slots never filled are not fd 0.
 */
START_TEST(test_pool_start_failure_keeps_fds)
{
	struct ps_job jobs[8];
	struct ps_runner rn;
	struct ps_diag d = PS_DIAG_INIT;
	struct rlimit rl, low;
	bool was_open[16];
	int low_fd, fd, r;

	memset(jobs, 0, sizeof(jobs));
	memset(&rn, 0, sizeof(rn));
	if (fcntl(0, F_GETFD) < 0)
		ck_assert_int_eq(open("/dev/null", O_RDONLY), 0);
	low_fd = dup(0); /* the lowest free fd */
	ck_assert_int_ge(low_fd, 0);
	ck_assert_int_lt(low_fd, 8);
	close(low_fd);
	for (fd = 0; fd < 16; fd++)
		was_open[fd] = fcntl(fd, F_GETFD) >= 0;
	ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
	/* worker 0 holds two of four fds; worker 1 gets its job pipe but not
	 * its result pipe */
	low = rl;
	low.rlim_cur = (rlim_t)low_fd + 5;
	ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &low), 0);
	r = ps_pool_run(jobs, 8, 4, 0, &rn, job_nothing, done_nothing, NULL, &d);
	setrlimit(RLIMIT_NOFILE, &rl);
	ck_assert_int_eq(r, -EMFILE);
	ck_assert_msg(strstr(d.msg, "pipe2"), "message: %s", d.msg);
	ck_assert_msg(fcntl(0, F_GETFD) >= 0, "fd 0 was closed");
	for (fd = 0; fd < 16; fd++)
		ck_assert_msg((fcntl(fd, F_GETFD) >= 0) == was_open[fd],
			      "fd %d: open %d before, %s after", fd, was_open[fd],
			      fcntl(fd, F_GETFD) >= 0 ? "open" : "closed");
}
END_TEST

Suite *reliability_suite(void)
{
	const struct ps_test tests[] = { PS_TEST(test_text_escape),
					 PS_TEST(test_pool_start_failure_keeps_fds) };
	const struct ps_case cases[] = {
		{ PS_CASE("core", tests) },
	};

	return ps_suite("reliability", cases, ARRAY_SIZE(cases));
}

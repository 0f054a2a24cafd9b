/*
 * multiprocessing.popen_fork.Popen (CPython 3.11), and the part of
 * multiprocessing.connection.wait() it uses: the fork start method.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

/* math.ceil() for a finite double, without libm (the Makefile links
 * none): beyond 2**52 every double is an integer already. */
static double ceil_double(double x)
{
	double t;

	if (x >= 4503599627370496.0 || x <= -4503599627370496.0)
		return x;
	t = (double)(long long)x;
	return t < x ? t + 1.0 : t;
}

static double monotonic(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * Popen._launch: two pipes (parent_r/child_w, child_r/parent_w), then
 * fork.  The child closes parent_r and parent_w and runs _bootstrap; the
 * parent closes child_w and child_r and keeps parent_r as the sentinel.
 *
 * Deliberate difference: when a pipe or fork() fails, CPython 3.11 leaks
 * the pipe fds it already made (the exception leaves _launch before any
 * Finalize exists); libprocref closes them.
 */
/* The threads of this process: /proc/self/stat's 20th field, as 3.12's
 * os.fork() counts them (warn_about_fork_with_threads); 0 if unknown */
static long os_threads(void)
{
	char buf[1024], *p;
	long n = 0;
	ssize_t len;
	int fd, field;

	if ((fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC)) < 0)
		return 0;
	do
		len = read(fd, buf, sizeof buf - 1);
	while (len < 0 && errno == EINTR);
	close(fd);
	if (len <= 0)
		return 0;
	buf[len] = '\0';
	/* "pid (comm) state ...": comm may hold spaces and parens; field 3,
	 * the state, follows the last ')' */
	if ((p = strrchr(buf, ')')) == NULL)
		return 0;
	for (field = 2; *p != '\0' && field < 20; p++)
		if (*p == ' ')
			field++;
	if (field == 20)
		n = strtol(p, NULL, 10);
	return n;
}

/* os.fork()'s DeprecationWarning from 3.12, to the warning hook */
static void warn_fork_with_threads(void)
{
	char msg[160];

	if (!pr__profile.fork_threads_warning || pr__rt.warn == NULL || os_threads() <= 1)
		return;
	snprintf(msg, sizeof msg,
		 "This process (pid=%ld) is multi-threaded, use of fork() may lead to "
		 "deadlocks in the child.",
		 (long)getpid());
	pr__rt.warn("DeprecationWarning", msg, pr__rt.warn_arg);
}

static int fork_launch(struct pr_popen *po, pr_value *proc, struct pr_diag *d)
{
	int p1[2] = { -1, -1 }, p2[2] = { -1, -1 };
	int r;
	pid_t pid;

	/* Popen.__init__: util._flush_std_streams(); 2.7's forking.Popen
	 * calls sys.stdout.flush() and sys.stderr.flush() itself, so one set
	 * to None raises out of start() before anything is forked */
	if (!pr__profile.bytes_type &&
	    (pr__stream_removed(PR_STDOUT) || pr__stream_removed(PR_STDERR)))
		return pr_diag_raise(d, "AttributeError",
				     "'NoneType' object has no attribute 'flush'");
	if ((r = pr__flush_std_streams()) < 0)
		return pr_diag(d, r, NULL);
	po->has_returncode = 0;
	/* child_r, parent_w: the child's parent sentinel, from 3.8 (bpo-36388,
	 * parent_process()); before, only the one pipe */
	if (pipe2(p1, O_CLOEXEC) < 0 || (pr__profile.parent_process && pipe2(p2, O_CLOEXEC) < 0)) {
		r = -errno;
		goto fail;
	}
	warn_fork_with_threads();
	pid = fork();
	if (pid < 0) {
		r = -errno;
		goto fail;
	}
	if (pid == 0) {
		/* os.register_at_fork(after_in_child=...) hooks run inside
		 * os.fork(), before anything else */
		if (pr__rt.after_fork != NULL)
			pr__rt.after_fork(pr__rt.after_fork_arg);
		/* no thread survives fork; 3.13 clears atexit too */
		pr__threads_forget();
		pr__atexit_clear();
		close(p1[0]);
		if (p2[1] >= 0)
			close(p2[1]);
		r = pr__bootstrap(proc, p2[0]);
		/* 2.7's forking.Popen flushes sys.stdout and sys.stderr
		 * itself after _bootstrap, outside any handler: one set to
		 * None raises out of start() in this child */
		if (!pr__profile.bytes_type &&
		    (pr__stream_removed(PR_STDOUT) || pr__stream_removed(PR_STDERR)))
			return pr_diag_raise(d, "AttributeError",
					     "'NoneType' object has no attribute 'flush'");
		/* 3.13: finally: atexit._run_exitfuncs(); os._exit(code) */
		if (pr__profile.fork_atexit)
			pr__atexit_run();
		if (pr__rt.exit_overflow) {
			/* os._exit(code) raised OverflowError: it leaves _launch
			 * and start() in this child, into whatever called start()
			 * (a grandchild's copy of its parent's target) */
			const char *why = pr__rt.exit_overflow;

			pr__rt.exit_overflow = NULL;
			return pr_diag(d, PR_EOVERFLOW, "%s", why);
		}
		free(po);
		_exit(r);
	}
	close(p1[1]);
	if (p2[0] >= 0)
		close(p2[0]);
	po->pid = pid;
	po->sentinel = p1[0];
	po->parent_w = p2[1];
	po->finalized = 0;
	return 0;
fail:
	if (p1[0] >= 0) {
		close(p1[0]);
		close(p1[1]);
	}
	if (p2[0] >= 0) {
		close(p2[0]);
		close(p2[1]);
	}
	return pr_diag(d, r, NULL);
}

const struct pr_start_method pr__fork_method = {
	.name = "fork",
	.launch = fork_launch,
};

int pr__popen_poll(struct pr_popen *po, int flag, int64_t *rc)
{
	pid_t r;
	int st;

	if (po->method->poll != NULL)
		return po->method->poll(po, flag, rc);
	if (!po->has_returncode) {
		do
			r = waitpid(po->pid, &st, flag);
		while (r == -1 && errno == EINTR);
		/* except OSError: return None ("Child process not yet
		 * created. See #1731717") */
		if (r == -1)
			return 0;
		if (r == po->pid) {
			po->has_returncode = 1;
			/* os.waitstatus_to_exitcode() */
			po->returncode = WIFSIGNALED(st) ? -WTERMSIG(st) : WEXITSTATUS(st);
		}
	}
	if (po->has_returncode)
		*rc = po->returncode;
	return po->has_returncode;
}

/*
 * selectors.PollSelector.select(timeout) for one fd, as
 * multiprocessing.connection.wait() calls it, with select.poll.poll()'s
 * conversion of the timeout and its PEP 475 retry on EINTR.
 * 1: ready, 0: timed out.
 */
static int select_once(int fd, int forever, double timeout, struct pr_diag *d)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	double ms_d, deadline;
	int ms, r;

	if (forever) {
		ms = -1;
	} else if (timeout <= 0) {
		ms = 0;
	} else {
		/* math.ceil(timeout * 1e3) */
		ms_d = timeout * 1e3;
		if (isnan(ms_d))
			return pr_diag(d, PR_EVALUE, "cannot convert float NaN to integer");
		if (isinf(ms_d))
			return pr_diag(d, PR_EOVERFLOW,
				       "cannot convert float "
				       "infinity to integer");
		ms_d = ceil_double(ms_d);
		/* _PyTime_FromMillisecondsObject, then the C int check */
		if (ms_d > 9223372036854.0)
			return pr_diag(d, PR_EOVERFLOW,
				       "timestamp too large to "
				       "convert to C _PyTime_t");
		if (ms_d > INT_MAX)
			return pr_diag(d, PR_EOVERFLOW, "timeout is too large");
		ms = (int)ms_d;
	}
	deadline = monotonic() + ms / 1e3;
	for (;;) {
		r = poll(&pfd, 1, ms);
		if (r >= 0)
			return r > 0;
		if (errno != EINTR)
			return pr_diag(d, -errno, NULL);
		if (forever)
			continue;
		ms_d = ceil_double((deadline - monotonic()) * 1e3);
		if (ms_d < 0)
			return 0;
		ms = (int)ms_d;
	}
}

int pr__wait_fd(int fd, pr_value *timeout, struct pr_diag *d)
{
	double t, deadline = 0;
	int r;

	if (timeout == NULL) {
		do
			r = select_once(fd, 1, 0, d);
		while (r == 0);
		return r;
	}
	/* deadline = time.monotonic() + timeout */
	if (timeout->kind != PR_INT && timeout->kind != PR_BOOL && timeout->kind != PR_FLOAT)
		return pr_diag(d, PR_ETYPE,
			       "unsupported operand type(s) for +: "
			       "'float' and '%s'",
			       pr__type_name(timeout));
	if ((r = pr__value_as_double(timeout, &t, d)) < 0)
		return r;
	deadline = monotonic() + t;
	for (;;) {
		if ((r = select_once(fd, 0, t, d)) != 0)
			return r;
		t = deadline - monotonic();
		if (t < 0)
			return 0;
	}
}

int pr__popen_wait(struct pr_popen *po, pr_value *timeout, int64_t *rc, struct pr_diag *d)
{
	int r, flag = 0;
	double t;

	if (po->has_returncode) {
		*rc = po->returncode;
		return 1;
	}
	if (timeout != NULL && timeout->kind != PR_NONE) {
		if ((r = pr__wait_fd(po->sentinel, timeout, d)) <= 0)
			return r;
		/* self.poll(os.WNOHANG if timeout == 0.0 else 0) */
		if (pr__value_as_double(timeout, &t, NULL) == 0 && t == 0.0)
			flag = WNOHANG;
	}
	return pr__popen_poll(po, flag, rc);
}

/* Popen._send_signal: ProcessLookupError ignored; any other OSError
 * raised unless the child turns out to be gone within 0.1 s */
int pr__popen_send_signal(struct pr_popen *po, int sig, struct pr_diag *d)
{
	pr_value *tenth;
	int64_t rc;
	int err, r;

	if (po->has_returncode)
		return 0;
	if (kill(po->pid, sig) == 0)
		return 0;
	err = errno;
	if (err == ESRCH)
		return 0;
	if ((tenth = pr_float(0.1)) == NULL)
		return pr_diag(d, PR_EMEMORY, NULL);
	r = pr__popen_wait(po, tenth, &rc, d);
	pr_decref(tenth);
	if (r < 0)
		return r;
	if (r == 0)
		return pr_diag(d, -err, NULL);
	return 0;
}

void pr__close_pipe(const int p[2])
{
	if (p[0] >= 0)
		close(p[0]);
	if (p[1] >= 0)
		close(p[1]);
}

/* Popen.close() runs the Finalize(util.close_fds, (parent_r, parent_w)):
 * once, stopping at the first os.close() that raises. */
int pr__popen_close(struct pr_popen *po, struct pr_diag *d)
{
	if (po->finalized)
		return 0;
	po->finalized = 1;
	if (po->sentinel >= 0 && close(po->sentinel) < 0)
		return pr_diag(d, -errno, NULL);
	if (po->parent_w >= 0 && close(po->parent_w) < 0)
		return pr_diag(d, -errno, NULL);
	return 0;
}

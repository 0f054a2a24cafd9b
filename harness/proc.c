#include "proc.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tmp.h"
#include "util.h"

void ps_exit_from_status(int status, struct ps_exit *e)
{
	e->code = 0;
	e->sig = 0;
	if (WIFEXITED(status)) {
		e->kind = PS_CHILD_EXITED;
		e->code = WEXITSTATUS(status);
	} else if (WIFSIGNALED(status)) {
		e->kind = PS_CHILD_SIGNALLED;
		e->sig = WTERMSIG(status);
	} else {
		e->kind = PS_CHILD_RUNNING;
	}
}

const char *ps_exit_describe(const struct ps_exit *e, char *buf, size_t size)
{
	switch (e->kind) {
	case PS_CHILD_EXITED:
		snprintf(buf, size, "exit code %d", e->code);
		break;
	case PS_CHILD_SIGNALLED:
		snprintf(buf, size, "signal %d (SIG%s)", e->sig,
			 sigabbrev_np(e->sig) ? sigabbrev_np(e->sig) : "?");
		break;
	case PS_CHILD_RUNNING:
		snprintf(buf, size, "still running");
		break;
	}
	return buf;
}

int ps_proc_subreaper(void)
{
	return prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) ? -errno : 0;
}

double ps_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double ps_scaled(double seconds)
{
	const char *m = getenv("PROCSPEC_TIMEOUT_MULTIPLIER");
	double k = m ? strtod(m, NULL) : 1.0;

	return seconds * (k > 0 ? k : 1.0);
}

/* The scheduling policy spawned programs get back, once this process has
 * changed its own (-1: unchanged). */
static int spawn_policy = -1;
static struct sched_param spawn_param;

int ps_proc_yield_on_wakeup(void)
{
	struct sched_param batch = { 0 };
	int policy = sched_getscheduler(0);

	if (policy < 0 || sched_getparam(0, &spawn_param))
		return -errno;
	if (policy == SCHED_BATCH)
		return 0;
	if (sched_setscheduler(0, SCHED_BATCH, &batch))
		return -errno;
	spawn_policy = policy;
	return 0;
}

int ps_proc_spawn(char *const argv[], char *const envp[], int in_fd, int out_fd, int err_fd,
		  pid_t *pid, struct ps_diag *d)
{
	int errpipe[2] = { -1, -1 }, child_errno = 0, r;
	ssize_t n;
	pid_t p;

	if (pipe2(errpipe, O_CLOEXEC))
		return ps_diag(d, -errno, "pipe2: %s", strerror(errno));
	p = fork();
	if (p < 0) {
		r = -errno;
		close(errpipe[0]);
		close(errpipe[1]);
		return ps_diag(d, r, "fork: %s", strerror(-r));
	}
	if (p == 0) {
		/* Only async-signal-safe calls from here to exec. */
		struct sigaction sa;
		sigset_t none;
		int s;

		setpgid(0, 0);
		if (spawn_policy >= 0)
			sched_setscheduler(0, spawn_policy, &spawn_param);
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = SIG_DFL;
		for (s = 1; s < NSIG; s++)
			sigaction(s, &sa, NULL);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		if (dup2(in_fd, 0) < 0 || dup2(out_fd, 1) < 0 || dup2(err_fd, 2) < 0)
			goto fail;
		execvpe(argv[0], argv, envp ? envp : environ);
	fail:
		child_errno = errno;
		do
			n = write(errpipe[1], &child_errno, sizeof(child_errno));
		while (n == -1 && errno == EINTR);
		_exit(127);
	}
	/* Both sides set the group, so neither races the other. */
	setpgid(p, p);
	close(errpipe[1]);
	do
		n = read(errpipe[0], &child_errno, sizeof(child_errno));
	while (n == -1 && errno == EINTR);
	close(errpipe[0]);
	if (n == (ssize_t)sizeof(child_errno)) {
		do
			r = waitpid(p, NULL, 0);
		while (r == -1 && errno == EINTR);
		return ps_diag(d, -child_errno, "cannot run %s: %s", argv[0],
			       strerror(child_errno));
	}
	*pid = p;
	return 0;
}

void ps_proc_kill_group(pid_t pid, double grace, struct ps_exit *e)
{
	double deadline = ps_now() + grace;
	int status, r;

	e->kind = PS_CHILD_RUNNING;
	r = waitpid(pid, &status, WNOHANG);
	if (r == pid) {
		ps_exit_from_status(status, e);
		killpg(pid, SIGKILL);
		return;
	}
	killpg(pid, SIGTERM);
	while (ps_now() < deadline) {
		r = waitpid(pid, &status, WNOHANG);
		if (r == pid) {
			ps_exit_from_status(status, e);
			break;
		}
		if (r < 0 && errno != EINTR)
			break;
		usleep(2000);
	}
	killpg(pid, SIGKILL);
	if (e->kind == PS_CHILD_RUNNING) {
		do
			r = waitpid(pid, &status, 0);
		while (r == -1 && errno == EINTR);
		if (r == pid)
			ps_exit_from_status(status, e);
	}
}

/*
 * The sweep runs in signal handlers too, so it is written with
 * async-signal-safe calls only: open, getdents64, read, close, kill,
 * waitpid, nanosleep; no stdio, no malloc.
 */

/* Parent pid from /proc/<pid>/stat, -1 if gone; *zombie tells a reapable one. */
static pid_t ppid_of(const char *pid, bool *zombie)
{
	char path[64] = "/proc/", buf[512], *s = NULL;
	size_t i = 6, k;
	ssize_t n;
	long ppid = 0;
	int fd;

	for (k = 0; pid[k] && i < sizeof(path) - 8; k++)
		path[i++] = pid[k];
	memcpy(path + i, "/stat", 6);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	do
		n = read(fd, buf, sizeof(buf) - 1);
	while (n == -1 && errno == EINTR);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	for (k = 0; k < (size_t)n; k++) /* the command name may hold spaces and parens */
		if (buf[k] == ')')
			s = buf + k;
	if (!s || s + 4 >= buf + n)
		return -1;
	*zombie = s[2] == 'Z';
	for (s += 4; *s >= '0' && *s <= '9'; s++) /* ") S ppid" */
		ppid = ppid * 10 + (*s - '0');
	return (pid_t)ppid;
}

#define GUARD_MAX 64
static volatile sig_atomic_t guard_groups[GUARD_MAX];
static volatile sig_atomic_t guard_workers[GUARD_MAX];

/* A driver or a worker this process still holds: not the sweep's to kill. */
static bool guarded(pid_t p)
{
	size_t i;

	for (i = 0; i < GUARD_MAX; i++)
		if (guard_groups[i] == p || guard_workers[i] == p)
			return true;
	return false;
}

int ps_proc_sweep(void)
{
	struct timespec pause = { 0, 1000000 };
	char buf[8192];
	pid_t self = getpid();
	int killed = 0, round, fd, found;
	long n, off;

	for (round = 0; round < 50; round++) {
		found = 0;
		fd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0)
			break;
		while ((n = syscall(SYS_getdents64, fd, buf, sizeof(buf))) > 0) {
			for (off = 0; off < n;) {
				struct ps_dirent64 *de = (struct ps_dirent64 *)(buf + off);
				bool zombie = false;
				pid_t p = 0;
				const char *c;

				off += de->d_reclen;
				if (de->d_name[0] < '1' || de->d_name[0] > '9')
					continue;
				if (ppid_of(de->d_name, &zombie) != self)
					continue;
				for (c = de->d_name; *c >= '0' && *c <= '9'; c++)
					p = p * 10 + (*c - '0');
				/* A live driver of this process (a fuzz worker holds
				 * two, and drops one) is its owner's to stop, and so
				 * is the wait status of one that died. */
				if (guarded(p))
					continue;
				if (zombie) {
					while (waitpid(p, NULL, WNOHANG) == -1 && errno == EINTR)
						;
				} else if (kill(p, SIGKILL) == 0) {
					found++;
					killed++;
				}
			}
		}
		close(fd);
		if (!found)
			break;
		nanosleep(&pause, NULL);
	}
	return killed;
}

static void guard_set(volatile sig_atomic_t *v, pid_t pid, bool add)
{
	size_t i;

	for (i = 0; i < GUARD_MAX; i++) {
		if (add && v[i] == 0) {
			v[i] = pid;
			return;
		}
		if (!add && v[i] == pid) {
			v[i] = 0;
			return;
		}
	}
}

void ps_proc_guard_group(pid_t pgid, bool add)
{
	guard_set(guard_groups, pgid, add);
}

void ps_proc_guard_worker(pid_t pid, bool add)
{
	guard_set(guard_workers, pid, add);
}

/*
 * Kill the drivers' groups, have the workers do the same and wait for them,
 * then sweep what was reparented to this subreaper (a driver's daemons in
 * sessions of their own), and only then die of the signal.
 */
static void on_signal(int sig)
{
	struct timespec pause = { 0, 10000000 };
	size_t i;
	int r, tick, left;

	for (i = 0; i < GUARD_MAX; i++) {
		if (guard_groups[i] > 0)
			killpg(guard_groups[i], SIGKILL);
		if (guard_workers[i] > 0)
			kill(guard_workers[i], sig);
	}
	/* A worker may take the signal for a first one (two signals pending at
	 * once are one), set its flag and go on waiting for a job: 2 s to
	 * finish, then SIGKILL; what it leaves comes back to this subreaper
	 * and the sweep. */
	for (tick = 0; tick < 200; tick++) {
		left = 0;
		for (i = 0; i < GUARD_MAX; i++) {
			if (guard_workers[i] <= 0)
				continue;
			r = waitpid(guard_workers[i], NULL, WNOHANG);
			if (r == 0 || (r == -1 && errno == EINTR))
				left++;
			else
				guard_workers[i] = 0;
		}
		if (!left)
			break;
		nanosleep(&pause, NULL);
	}
	for (i = 0; i < GUARD_MAX; i++) {
		if (guard_workers[i] > 0) {
			kill(guard_workers[i], SIGKILL);
			do
				r = waitpid(guard_workers[i], NULL, 0);
			while (r == -1 && errno == EINTR);
		}
	}
	ps_proc_sweep();
	ps_tmp_remove_all();
	signal(sig, SIG_DFL);
	raise(sig);
}

void ps_proc_on_interrupts(void (*handler)(int))
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = handler;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}

void ps_proc_guard(void)
{
	ps_proc_on_interrupts(on_signal);
}

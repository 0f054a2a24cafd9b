/*
 * multiprocessing.popen_spawn_posix.Popen (CPython 3.11), with the parts
 * of spawn.py and util.spawnv_passfds() it uses: the spawn start method.
 * The child is a fresh program image, procref-child (ref/child/), which
 * reads the process description from a pipe and runs the same _bootstrap
 * as a fork child.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "internal.h"

/* The child side of spawnv_passfds: async-signal-safe calls only, and no
 * writes to memory, since under vfork it is the parent's. */
static void spawn_child(const char *path, char *const argv[], const int *fds, size_t nfds,
			int errfd)
{
	unsigned fd;
	size_t i;
	int err;

	if (close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
		for (fd = 3; fd < 4096; fd++)
			fcntl((int)fd, F_SETFD, FD_CLOEXEC);
	for (i = 0; i < nfds; i++)
		if (fcntl(fds[i], F_SETFD, 0) < 0)
			break;
	if (i == nfds)
		execv(path, argv);
	err = errno;
	(void)!write(errfd, &err, sizeof err);
	/* the exec failed: nothing this child holds is its own (the fd table
	 * is the child's even under vfork) */
	close_range(3, ~0U, 0);
	_exit(255);
}

/*
 * util.spawnv_passfds(path, argv, passfds): start a child with only fds
 * 0-2 and passfds open (_posixsubprocess.fork_exec with close_fds=True),
 * through vfork() from 3.10 on, falling back to fork() when vfork() fails
 * (bpo-47151), fork() before.  As in CPython, the error pipe is made and
 * closed unread: a failed exec is not raised, the child exits 255 and
 * start() goes on.  *out is the pid.
 */
int pr__spawnv_passfds(const char *path, char *const argv[], const int *fds, size_t nfds,
		       pid_t *out)
{
	int errpipe[2], err;
	pid_t pid = -1;

	*out = 0;
	if (pipe2(errpipe, O_CLOEXEC) < 0)
		return -errno;
	if (pr__profile.spawn_vfork) {
		pid = vfork();
		if (pid == 0)
			spawn_child(path, argv, fds, nfds, errpipe[1]);
	}
	if (pid < 0) {
		pid = fork();
		if (pid == 0)
			spawn_child(path, argv, fds, nfds, errpipe[1]);
	}
	err = errno;
	close(errpipe[1]);
	/* vfork returns once the child has exec'd or died; a fork child
	 * (the fallback, or vfork under valgrind, which makes it a fork) is
	 * waited for the same way, on the close-on-exec pipe, so that
	 * terminate() right after start() never meets a child between fork
	 * and exec.  poll(), not read(): the read failpoint is the
	 * implementation's, and CPython makes no such read. */
	if (pid > 0) {
		struct pollfd pfd = { .fd = errpipe[0], .events = POLLIN };
		char buf[16];
		int n;

		for (;;) {
			do
				n = poll(&pfd, 1, -1);
			while (n < 0 && errno == EINTR);
			if (n < 0 || (pfd.revents & POLLHUP) ||
			    (pfd.revents & (POLLERR | POLLNVAL)))
				break;
			if ((pfd.revents & POLLIN) &&
			    syscall(SYS_read, errpipe[0], buf, sizeof buf) <= 0)
				break;
		}
	}
	close(errpipe[0]);
	if (pid < 0)
		return -err;
	*out = pid;
	return 0;
}

/* The exception of `with open(fd, 'wb') as f: f.write(data)` failing with
 * -err: the BufferedWriter reports EAGAIN in words of its own. */
int pr__diag_data_write(struct pr_diag *d, int err)
{
	if (err == -EAGAIN)
		return pr_diag(d, err, "[Errno %d] write could not complete without blocking",
			       EAGAIN);
	return pr_diag(d, err, NULL);
}

/* All of buf to fd.  A reader that went away gives -EPIPE, not SIGPIPE:
 * CPython ignores SIGPIPE and raises BrokenPipeError. */
int pr__write_all(int fd, const void *buf, size_t len)
{
	sigset_t pipe_set, old;
	const struct timespec zero = { 0, 0 };
	const char *p = buf;
	int r = 0;
	ssize_t n;

	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	sigprocmask(SIG_BLOCK, &pipe_set, &old);
	while (len > 0) {
		do
			n = write(fd, p, len);
		while (n == -1 && errno == EINTR);
		if (n < 0) {
			r = -errno;
			break;
		}
		p += n;
		len -= (size_t)n;
	}
	if (r == -EPIPE && !sigismember(&old, SIGPIPE))
		sigtimedwait(&pipe_set, NULL, &zero);
	sigprocmask(SIG_SETMASK, &old, NULL);
	return r;
}

/*
 * What reduction.dump(process_obj) would refuse before anything starts:
 * the state a spawn or forkserver child gets.  The process's own authkey
 * pickles while a Popen is spawning (AuthenticationString.__reduce__).
 */
int pr__spawn_pickle_check(pr_value *proc, struct pr_diag *d)
{
	struct pr_process *p = proc->u.proc;
	pr_value *parts[4] = { p->target, p->name, p->args, p->kwargs };
	size_t i;
	int r;

	/* __dict__ order: _config, _parent_pid, _parent_name, _popen, ...:
	 * a second start() (asserts gone under -O) meets the first Popen,
	 * whose Finalize holds a weakref */
	if (p->popen != NULL)
		return pr__weakref_pickle_error(d);
	/* a Process object among the arguments pickles its authkey too:
	 * get_spawning_popen() is set while this one is dumped */
	pr__rt.spawning = 1;
	r = 0;
	for (i = 0; i < 4 && r == 0; i++)
		if (parts[i] != NULL)
			r = pr_pickle_check(parts[i], d);
	for (i = 0; i < p->nattrs && r == 0; i++)
		r = pr_pickle_check(p->attrs[i].value, d);
	pr__rt.spawning = 0;
	return r;
}

/* The description as the data pipe carries it: its length, then it. */
int pr__spawn_payload(pr_value *proc, const int fds[3], struct sbuf *sb, struct pr_diag *d)
{
	uint64_t len = 0;
	int r;

	pr__sb_put(sb, &len, sizeof len);
	if ((r = pr__wire_describe(sb, proc, fds)) < 0) {
		pr__sb_release(sb);
		if (r == PR_EUNSUPPORTED)
			return pr_diag(d, r,
				       "libprocref cannot send this value "
				       "to a spawned child");
		return pr_diag(d, r, NULL);
	}
	len = sb->len - sizeof len;
	memcpy(sb->p, &len, sizeof len);
	return 0;
}

/*
 * Popen._launch: the preparation data and the process object go into a
 * buffer first (nothing is started if they do not pickle); then two pipes
 * (parent_r/child_w, child_r/parent_w), the child spawned with child_r,
 * child_w and the gate passed; the parent keeps parent_r as the sentinel
 * and parent_w open (the child's parent_process() sentinel), writes the
 * data to parent_w and closes child_r and child_w.  The child keeps
 * child_w open until it exits, so the sentinel reads EOF then.
 *
 * Deliberate difference: no resource tracker is started (libprocref
 * creates no named resources for it to track).
 */
static int spawn_launch(struct pr_popen *po, pr_value *proc, struct pr_diag *d)
{
	struct sbuf sb = SBUF_INIT;
	int p1[2] = { -1, -1 }, p2[2] = { -1, -1 };
	int gate = proc->u.proc->gate, fds[3] = { gate, -1, -1 };
	int *pass = NULL, r;
	const int *dup;
	size_t ndup, npass;
	char handle[32];
	char *args[] = { "--multiprocessing-fork", handle, NULL };
	pid_t pid;

	if ((r = pr__flush_std_streams()) < 0)
		return pr_diag(d, r, NULL);
	po->has_returncode = 0;
	if ((r = pr__spawn_pickle_check(proc, d)) < 0)
		return r;
	/* the connections among the arguments: duplicate_for_child() */
	pr__wire_pass_begin(0, 0);
	if ((r = pr__spawn_payload(proc, fds, &sb, d)) < 0)
		goto out;
	dup = pr__wire_passed(&ndup);
	if ((pass = calloc(3 + ndup, sizeof *pass)) == NULL) {
		r = pr_diag(d, PR_EMEMORY, NULL);
		goto out;
	}
	if (pipe2(p1, O_CLOEXEC) < 0 || pipe2(p2, O_CLOEXEC) < 0) {
		r = pr_diag(d, -errno, NULL);
		goto out;
	}
	/* spawn.get_command_line(tracker_fd=..., pipe_handle=child_r) */
	snprintf(handle, sizeof handle, "pipe_handle=%d", p2[0]);
	npass = 0;
	pass[npass++] = p2[0];
	pass[npass++] = p1[1];
	if (gate >= 0)
		pass[npass++] = gate;
	if (ndup > 0)
		memcpy(pass + npass, dup, ndup * sizeof *dup);
	npass += ndup;
	if ((r = pr__child_start(args, pass, npass, &pid, d)) < 0)
		goto out;
	po->pid = pid;
	po->sentinel = p1[0];
	po->parent_w = p2[1];
	po->finalized = 0;
	p1[0] = p2[1] = -1;
	/* with open(parent_w, 'wb', closefd=False) as f: f.write(...) */
	if ((r = pr__write_all(po->parent_w, sb.p, sb.len)) < 0) {
		/* the exception leaves start() with the child started and
		 * the finalizer registered: close what it would */
		pr__popen_close(po, NULL);
		r = pr__diag_data_write(d, r);
		goto out;
	}
	/* before 3.8 (bpo-36388) the file closed parent_w (closefd=True) and
	 * the finalizer closed only the sentinel */
	if (!pr__profile.parent_process) {
		close(po->parent_w);
		po->parent_w = -1;
	}
	r = 0;
out:
	pr__wire_pass_end();
	free(pass);
	pr__sb_release(&sb);
	pr__close_pipe(p1);
	pr__close_pipe(p2);
	return r;
}

const struct pr_start_method pr__spawn_method = {
	.name = "spawn",
	.launch = spawn_launch,
};

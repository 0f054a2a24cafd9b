/*
 * multiprocessing.forkserver and popen_forkserver.Popen (CPython 3.11):
 * the forkserver start method.  The first start() runs a server
 * (procref-child --forkserver) that listens on a unix socket; each start()
 * connects, passes the child's pipe ends and fds with SCM_RIGHTS, and the
 * server forks the child, writes its pid to the status pipe and, once it
 * has reaped it, its exit code.  The server exits when the "alive" pipe
 * whose write end the starting process (and each forkserver child) holds
 * reads EOF.
 */
#include <errno.h>
#include <stdint.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "internal.h"

#define MAXFDS_TO_SEND 256

/* ForkServer's state in this process: _forkserver_pid,
 * _forkserver_alive_fd, _forkserver_address (and the temp dir holding
 * it, util.get_temp_dir()) */
static struct {
	pid_t pid;
	int alive_w;
	char dir[80];
	char address[108];
} fs = { 0, -1, "", "" };

static void remove_address(const char *address)
{
	char dir[108], *slash;

	if (address[0] == '\0')
		return;
	unlink(address);
	snprintf(dir, sizeof dir, "%s", address);
	if ((slash = strrchr(dir, '/')) != NULL) {
		*slash = '\0';
		rmdir(dir);
	}
}

void pr_forkserver_stop(void)
{
	pid_t r;
	int st;

	if (fs.alive_w >= 0)
		close(fs.alive_w);
	fs.alive_w = -1;
	if (fs.pid > 0) {
		do
			r = waitpid(fs.pid, &st, 0);
		while (r == -1 && errno == EINTR);
	}
	fs.pid = 0;
	remove_address(fs.address);
	fs.address[0] = '\0';
}

/* ForkServer.ensure_running() */
static int ensure_running(struct pr_diag *d)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	static unsigned serial;
	int listener = -1, alive[2] = { -1, -1 }, pass[2], r;
	char lfd[32], afd[32];
	char *args[] = { "--forkserver", lfd, afd, fs.address, NULL };
	const char *tmp;
	pid_t pid, w;
	int st;

	if (fs.pid > 0) {
		/* pid, status = os.waitpid(self._forkserver_pid, os.WNOHANG):
		 * an error propagates out of start() (ChildProcessError for
		 * ECHILD), the server is kept */
		do
			w = waitpid(fs.pid, &st, WNOHANG);
		while (w == -1 && errno == EINTR);
		if (w < 0)
			return pr_diag(d, -errno, NULL);
		if (w == 0)
			return 0;
		close(fs.alive_w);
		fs.alive_w = -1;
		fs.pid = 0;
		remove_address(fs.address);
		fs.address[0] = '\0';
	}
	/* connection.arbitrary_address('AF_UNIX'): a name in a private
	 * temp dir, made where util.get_temp_dir() makes it: tempfile's
	 * $TMPDIR, else /tmp.  One too long for a socket address (CPython
	 * fails there with "AF_UNIX path too long") falls back to /tmp. */
	tmp = getenv("TMPDIR");
	if (!tmp || *tmp != '/' ||
	    strlen(tmp) + sizeof("/pymp-XXXXXX/listener-4194304-4294967295") > sizeof sa.sun_path)
		tmp = "/tmp";
	snprintf(fs.dir, sizeof fs.dir, "%s/pymp-XXXXXX", tmp);
	if (mkdtemp(fs.dir) == NULL)
		return pr_diag(d, -errno, NULL);
	if ((size_t)snprintf(fs.address, sizeof fs.address, "%s/listener-%d-%u", fs.dir,
			     (int)getpid(), serial++) >= sizeof sa.sun_path) {
		r = pr_diag(d, -ENAMETOOLONG, NULL);
		goto fail;
	}
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", fs.address);
	if ((listener = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
	    bind(listener, (struct sockaddr *)&sa, sizeof sa) < 0 || chmod(fs.address, 0600) < 0 ||
	    listen(listener, 128) < 0 || pipe2(alive, O_CLOEXEC) < 0) {
		r = pr_diag(d, -errno, NULL);
		goto fail;
	}
	/* forkserver.py's cmd: main(listener_fd, alive_r, preload), with
	 * the interpreter's flags first (spawn.get_executable() and
	 * util._args_from_interpreter_flags()) */
	snprintf(lfd, sizeof lfd, "listener=%d", listener);
	snprintf(afd, sizeof afd, "alive=%d", alive[0]);
	pass[0] = listener;
	pass[1] = alive[0];
	if ((r = pr__child_start(args, pass, 2, &pid, d)) < 0)
		goto fail;
	close(listener);
	close(alive[0]);
	fs.alive_w = alive[1];
	fs.pid = pid;
	return 0;
fail:
	if (listener >= 0)
		close(listener);
	if (alive[0] >= 0) {
		close(alive[0]);
		close(alive[1]);
	}
	remove_address(fs.address);
	fs.address[0] = '\0';
	return r;
}

/* The message reduction.sendfds and recvfds exchange: one byte, and the
 * fds as SCM_RIGHTS in a control buffer sized for the most either side
 * passes. The struct points into itself: it is filled in place. */
struct fds_msg {
	char byte;
	struct iovec iov;
	struct msghdr msg;
	/* last: clang folds CMSG_SPACE() as a GNU extension, allowed only
	 * for the last member of a struct */
	union {
		char buf[CMSG_SPACE(sizeof(int) * (MAXFDS_TO_SEND + 1))];
		struct cmsghdr align;
	} u;
};

static void fds_msg_init(struct fds_msg *m, size_t controllen)
{
	memset(m, 0, sizeof *m);
	m->iov.iov_base = &m->byte;
	m->iov.iov_len = 1;
	m->msg.msg_iov = &m->iov;
	m->msg.msg_iovlen = 1;
	m->msg.msg_control = m->u.buf;
	m->msg.msg_controllen = controllen;
}

/* reduction.sendfds(sock, fds): one byte, the fds as SCM_RIGHTS */
static int send_fds(int sock, const int *fds, size_t n)
{
	struct fds_msg m;
	struct cmsghdr *c;
	ssize_t r;

	fds_msg_init(&m, CMSG_SPACE(sizeof(int) * n));
	m.byte = (char)(n % 256);
	c = CMSG_FIRSTHDR(&m.msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int) * n);
	memcpy(CMSG_DATA(c), fds, sizeof(int) * n);
	do
		r = sendmsg(sock, &m.msg, MSG_NOSIGNAL);
	while (r == -1 && errno == EINTR);
	return r < 0 ? -errno : 0;
}

/* reduction.recvfds(sock, size): the fds, close-on-exec; 0 on EOF */
static ssize_t recv_fds(int sock, int *fds, size_t max)
{
	struct fds_msg m;
	struct cmsghdr *c;
	ssize_t r;
	size_t n = 0;

	fds_msg_init(&m, sizeof m.u.buf);
	do
		r = recvmsg(sock, &m.msg, MSG_CMSG_CLOEXEC);
	while (r == -1 && errno == EINTR);
	if (r < 0)
		return -errno;
	for (c = CMSG_FIRSTHDR(&m.msg); c != NULL; c = CMSG_NXTHDR(&m.msg, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		if (n > max)
			n = max;
		memcpy(fds, CMSG_DATA(c), n * sizeof(int));
	}
	return (ssize_t)n;
}

/* forkserver.read_signed(fd): 8 bytes, or PR_EVALUE ("unexpected EOF") */
static int read_signed(int fd, int64_t *out)
{
	char buf[8];
	size_t got = 0;
	ssize_t n;

	while (got < sizeof buf) {
		do
			n = read(fd, buf + got, sizeof buf - got);
		while (n == -1 && errno == EINTR);
		if (n < 0)
			return -errno;
		if (n == 0)
			return PR_EVALUE;
		got += (size_t)n;
	}
	memcpy(out, buf, sizeof buf);
	return 0;
}

/*
 * ForkServer.connect_to_new_process(fds): (status_r, data_w).  The server
 * gets [child_r, child_w, alive_w] + fds.  (CPython also sends the
 * resource tracker's fd; libprocref runs none.)
 */
static int connect_to_new_process(const int *extra, size_t nextra, int *status_r, int *data_w,
				  struct pr_diag *d)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int client = -1, p1[2] = { -1, -1 }, p2[2] = { -1, -1 };
	int all[MAXFDS_TO_SEND], r;
	size_t i;

	if ((r = ensure_running(d)) < 0)
		return r;
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", fs.address);
	if ((client = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
	    connect(client, (struct sockaddr *)&sa, sizeof sa) < 0 || pipe2(p1, O_CLOEXEC) < 0 ||
	    pipe2(p2, O_CLOEXEC) < 0) {
		r = -errno;
		goto out;
	}
	all[0] = p2[0];
	all[1] = p1[1];
	all[2] = fs.alive_w;
	for (i = 0; i < nextra; i++)
		all[3 + i] = extra[i];
	if ((r = send_fds(client, all, 3 + nextra)) < 0)
		goto out;
	*status_r = p1[0];
	*data_w = p2[1];
	p1[0] = p2[1] = -1;
out:
	if (client >= 0)
		close(client);
	pr__close_pipe(p1);
	pr__close_pipe(p2);
	return r < 0 ? pr_diag(d, r, NULL) : 0;
}

/*
 * popen_forkserver.Popen._launch: the data first (nothing is started if
 * it does not pickle), then a connection to the server; a duplicate of
 * the data pipe's write end is kept as the child's parent sentinel, and
 * the sentinel is the status pipe, from which the child's pid is read
 * at once.  The gate and fds 1 and 2 travel with the request, as
 * tools/pydriver.py sends them (duplicate_for_child).
 */
static int forkserver_launch(struct pr_popen *po, pr_value *proc, struct pr_diag *d)
{
	struct sbuf sb = SBUF_INIT;
	int gate = proc->u.proc->gate;
	int extra[MAXFDS_TO_SEND], slots[3], n = 0, status_r = -1, w = -1, r;
	const int *dup;
	size_t ndup;
	int64_t pid;

	if ((r = pr__flush_std_streams()) < 0)
		return pr_diag(d, r, NULL);
	po->has_returncode = 0;
	if ((r = pr__spawn_pickle_check(proc, d)) < 0)
		return r;
	slots[0] = -1;
	if (gate >= 0) {
		slots[0] = n;
		extra[n++] = gate;
	}
	slots[1] = n;
	extra[n++] = 1;
	slots[2] = n;
	extra[n++] = 2;
	/* the connections among the arguments, by index from here on */
	pr__wire_pass_begin(1, (size_t)n);
	if ((r = pr__spawn_payload(proc, slots, &sb, d)) < 0)
		goto out;
	dup = pr__wire_passed(&ndup);
	if (ndup > MAXFDS_TO_SEND - 3 - (size_t)n) {
		r = pr_diag(d, PR_EVALUE, "too many fds");
		goto out;
	}
	if (ndup > 0)
		memcpy(extra + n, dup, ndup * sizeof *dup);
	n += (int)ndup;
	if ((r = connect_to_new_process(extra, (size_t)n, &status_r, &w, d)) < 0)
		goto out;
	po->sentinel = status_r;
	po->finalized = 0;
	/* from 3.8 (bpo-36388) a duplicate of the data pipe is kept as the
	 * child's parent sentinel */
	po->parent_w = -1;
	if (pr__profile.parent_process && (po->parent_w = fcntl(w, F_DUPFD_CLOEXEC, 0)) < 0) {
		r = pr_diag(d, -errno, NULL);
		pr__popen_close(po, NULL);
		goto out;
	}
	if ((r = pr__write_all(w, sb.p, sb.len)) < 0) {
		r = pr__diag_data_write(d, r);
		pr__popen_close(po, NULL);
		goto out;
	}
	close(w);
	w = -1;
	if ((r = read_signed(status_r, &pid)) < 0) {
		r = r == PR_EVALUE ? pr_diag_raise(d, "EOFError", "unexpected EOF") :
				     pr_diag(d, r, NULL);
		pr__popen_close(po, NULL);
		goto out;
	}
	po->pid = (pid_t)pid;
	r = 0;
out:
	pr__wire_pass_end();
	pr__sb_release(&sb);
	if (w >= 0)
		close(w);
	return r;
}

/* popen_forkserver.Popen.poll(flag): the exit code is what the server
 * writes to the sentinel once it has reaped the child; 255 if it never
 * comes (the server died) */
static int forkserver_poll(struct pr_popen *po, int flag, int64_t *rc)
{
	pr_value *zero = NULL;
	int64_t code;
	int r;

	if (!po->has_returncode) {
		if (flag == WNOHANG && (zero = pr_int(0)) == NULL)
			return 0;
		r = pr__wait_fd(po->sentinel, zero, NULL);
		pr_decref(zero);
		if (r <= 0)
			return 0;
		po->has_returncode = 1;
		po->returncode = read_signed(po->sentinel, &code) < 0 ? 255 : code;
	}
	*rc = po->returncode;
	return 1;
}

const struct pr_start_method pr__forkserver_method = {
	.name = "forkserver",
	.launch = forkserver_launch,
	.poll = forkserver_poll,
};

/* ---- the server ---------------------------------------------------------- */

static int sig_w = -1;

static void sigchld_handler(int sig)
{
	int saved = errno;
	ssize_t n;

	(void)sig;
	n = write(sig_w, "", 1);
	(void)n;
	errno = saved;
}

struct served {
	pid_t pid;
	int child_w;
};

static void write_signed(int fd, int64_t v)
{
	pr__write_all(fd, &v, sizeof v);
}

/*
 * _serve_one before 3.7: write_unsigned(child_w, code) after _bootstrap.
 * Nothing is written when the child failed before _bootstrap (the
 * exception leaves _serve_one, os._exit(1)) or when struct.pack('Q')
 * refuses a negative code (its traceback goes to stderr).  Returns the
 * code to _exit with.
 */
static int report_own_code(int status_w, int bootstrapped, int code)
{
	static const char err[] = "Traceback (most recent call last):\n"
				  "  File \"<procref>\", line 1, in _serve_one\n"
				  "struct.error: argument out of range\n";
	uint64_t u = (uint64_t)code;

	if (!bootstrapped)
		return 1;
	/* a code beyond os._exit()'s C int still packs as 'Q' when it is
	 * not negative (the exit status is the 1 _serve_one's caller set);
	 * procref knows it up to an int64 only */
	if (pr__rt.exit_overflow) {
		pr__rt.exit_overflow = NULL;
		code = pr__rt.exit_overflow_code >= 0 ? 1 : -1;
		u = (uint64_t)pr__rt.exit_overflow_code;
	}
	if (code < 0) {
		/* the struct.error leaves _serve_one into forkserver.main's
		 * `except Exception: sys.excepthook(...)`: the server's loop */
		struct pr_diag e = PR_DIAG_INIT;

		pr__stream_write(PR_STDERR, err, sizeof(err) - 1);
		pr__flush_std_streams();
		pr_diag_raise(&e, "error", "argument out of range");
		pr_escape_note("server", &e);
		pr_diag_clear(&e);
		return 1;
	}
	pr__write_all(status_w, &u, sizeof(u));
	return code;
}

/*
 * From 3.7 the server's child ends in os._exit(code) after _serve_one; a
 * code beyond a C int makes it raise OverflowError out of the serving
 * code, through forkserver.main, to the top of the server's program: the
 * interpreter prints the traceback and exits 1.  The child has escaped
 * into the fork server (pr_escape_note).
 */
static int escape_into_server(void)
{
	static const char tb[] = "Traceback (most recent call last):\n"
				 "  File \"<procref>\", line 1, in main\n";
	struct pr_diag d = PR_DIAG_INIT;
	struct sbuf sb = SBUF_INIT;

	const char *why = pr__rt.exit_overflow;

	pr__rt.exit_overflow = NULL;
	pr_diag(&d, PR_EOVERFLOW, "%s", why);
	pr__sb_put(&sb, tb, sizeof(tb) - 1);
	pr__sb_printf(&sb, "%s: ", d.type ? d.type : "OverflowError");
	pr__sb_put(&sb, d.message, d.message_len);
	pr__sb_putc(&sb, '\n');
	if (!sb.oom)
		pr__stream_write(PR_STDERR, sb.p, sb.len);
	pr__sb_release(&sb);
	pr__flush_std_streams();
	pr_escape_note("server", &d);
	pr_diag_clear(&d);
	return 1;
}

/*
 * forkserver.main(listener_fd, alive_r): serve until alive_r reads EOF.
 * Each request's child runs spawn._main on child_r (_serve_one).
 */
int pr__forkserver_main(int listener, int alive_r, const char *address)
{
	struct sigaction sa_chld = { .sa_handler = sigchld_handler };
	struct sigaction sa_ign = { .sa_handler = SIG_IGN };
	struct sigaction old_chld, old_int;
	struct served *served = NULL, *grown;
	size_t nserved = 0, cap = 0, i;
	struct pollfd pfd[3];
	int sig[2], fds[MAXFDS_TO_SEND + 1], conn, st, code, status = 0;
	ssize_t nfds, k;
	pid_t pid;
	char buf[256];

	fcntl(listener, F_SETFD, FD_CLOEXEC);
	fcntl(alive_r, F_SETFD, FD_CLOEXEC);
	if (pipe2(sig, O_CLOEXEC | O_NONBLOCK) < 0)
		return 1;
	sig_w = sig[1];
	sigaction(SIGCHLD, &sa_chld, &old_chld);
	sigaction(SIGINT, &sa_ign, &old_int);
	/* Python ignores SIGPIPE: a gone requester is BrokenPipeError */
	sigaction(SIGPIPE, &sa_ign, NULL);
	for (;;) {
		pfd[0] = (struct pollfd){ .fd = listener, .events = POLLIN };
		pfd[1] = (struct pollfd){ .fd = alive_r, .events = POLLIN };
		pfd[2] = (struct pollfd){ .fd = sig[0], .events = POLLIN };
		if (poll(pfd, 3, -1) < 0) {
			if (errno == EINTR)
				continue;
			status = 1;
			break;
		}
		if (pfd[1].revents)
			break; /* EOF: raise SystemExit */
		if (pfd[2].revents) {
			while (read(sig[0], buf, sizeof buf) > 0)
				;
			while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
				for (i = 0; i < nserved; i++)
					if (served[i].pid == pid)
						break;
				if (i == nserved)
					continue;
				code = WIFSIGNALED(st) ? -WTERMSIG(st) : WEXITSTATUS(st);
				write_signed(served[i].child_w, code);
				close(served[i].child_w);
				served[i] = served[--nserved];
			}
		}
		if (!pfd[0].revents)
			continue;
		conn = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
		if (conn < 0)
			continue;
		nfds = recv_fds(conn, fds, MAXFDS_TO_SEND + 1);
		close(conn);
		if (nfds < 3) {
			for (k = 0; k < nfds; k++)
				close(fds[k]);
			continue;
		}
		if (nserved == cap) {
			cap = cap ? 2 * cap : 16;
			if ((grown = realloc(served, cap * sizeof *served)) == NULL) {
				status = 1;
				break;
			}
			served = grown;
		}
		pid = fork();
		if (pid == 0) {
			/* _serve_one: the old handlers back, the server's fds
			 * closed; fds[2] is the requester's alive_w, which
			 * the child keeps (_forkserver_alive_fd) */
			sigaction(SIGCHLD, &old_chld, NULL);
			sigaction(SIGINT, &old_int, NULL);
			close(listener);
			close(alive_r);
			if (pr__profile.forkserver_waitpid)
				close(fds[1]);
			close(sig[0]);
			close(sig[1]);
			for (i = 0; i < nserved; i++)
				close(served[i].child_w);
			free(served);
			{
				int ran = 0;

				/* _serve_one before 3.7: write_unsigned(child_w, os.getpid())
				 * first, so the pid always comes before the code */
				if (!pr__profile.forkserver_waitpid)
					write_signed(fds[1], getpid());
				code = pr__spawn_child(fds[0], fds[0], &ran, fds + 3,
						       (size_t)(nfds - 3));
				/* 3.13: finally: atexit._run_exitfuncs();
				 * os._exit(code) */
				if (pr__profile.fork_atexit)
					pr__atexit_run();
				if (!pr__profile.forkserver_waitpid)
					code = report_own_code(fds[1], ran, code);
				else if (pr__rt.exit_overflow)
					code = escape_into_server();
			}
			close(fds[0]);
			close(fds[2]);
			pr_fini();
			_exit(code);
		}
		if (pid > 0 && !pr__profile.forkserver_waitpid) {
			/* before 3.7 the child writes its own pid and code; the
			 * server reaps it without a word */
			close(fds[1]);
		} else if (pid > 0) {
			write_signed(fds[1], pid);
			served[nserved].pid = pid;
			served[nserved].child_w = fds[1];
			nserved++;
		} else {
			close(fds[1]);
		}
		close(fds[0]);
		for (k = 2; k < nfds; k++)
			close(fds[k]);
	}
	for (i = 0; i < nserved; i++)
		close(served[i].child_w);
	free(served);
	close(sig[0]);
	close(sig[1]);
	close(listener);
	close(alive_r);
	remove_address(address);
	return status;
}

pid_t pr_forkserver_pid(void)
{
	return fs.pid > 0 ? fs.pid : 0;
}

int pr_forkserver_alive_fd(void)
{
	return fs.pid > 0 ? fs.alive_w : -1;
}

/*
 * The child side of spawn and forkserver: spawn.spawn_main() and
 * spawn._main() (Lib/multiprocessing/spawn.py), and the entry point of
 * procref-child, the program both start methods run.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

static void cloexec(int fd)
{
	int fl = fcntl(fd, F_GETFD);

	if (fl >= 0)
		fcntl(fd, F_SETFD, fl | FD_CLOEXEC);
}

static int read_all(int fd, void *buf, size_t len)
{
	char *p = buf;
	ssize_t n;

	while (len > 0) {
		do
			n = read(fd, p, len);
		while (n == -1 && errno == EINTR);
		if (n < 0)
			return -errno;
		if (n == 0)
			return PR_EVALUE;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* An exception outside _bootstrap: Python's own top-level report, then
 * exit status 1. */
static int uncaught(const struct pr_diag *d)
{
	struct sbuf sb = SBUF_INIT;

	pr__sb_puts(&sb, "Traceback (most recent call last):\n"
			 "  File \"<procref>\", line 1, in <module>\n");
	pr__sb_puts(&sb, d->type != NULL ? d->type : "RuntimeError");
	if (d->message_len) {
		pr__sb_puts(&sb, ": ");
		pr__sb_put(&sb, d->message, d->message_len);
	}
	pr__sb_putc(&sb, '\n');
	if (!sb.oom)
		pr__stream_write(PR_STDERR, sb.p, sb.len);
	pr__sb_release(&sb);
	pr__flush_std_streams();
	return 1;
}

/*
 * spawn._main(fd, parent_sentinel): read the preparation data and the
 * process object from fd, prepare() (which may raise before the target
 * runs: a name that is no str), then self._bootstrap(parent_sentinel).
 * inherited maps the description's fd slots (forkserver) or is NULL
 * (spawn: the slots hold fd numbers).  Returns the exit status.
 */
int pr__spawn_child(int fd, int parent_sentinel, int *bootstrapped, const int *inherited,
		    size_t ninherited)
{
	struct pr_diag d = PR_DIAG_INIT;
	pr_value *proc = NULL;
	uint64_t len;
	char *data = NULL;
	int fds[3], i, r, status;

	if ((r = read_all(fd, &len, sizeof len)) < 0 || (len > (1u << 30) && (r = PR_EVALUE) < 0) ||
	    ((data = malloc(len ? len : 1)) == NULL && (r = PR_EMEMORY) < 0) ||
	    (r = read_all(fd, data, len)) < 0) {
		pr_diag(&d, r, r == PR_EVALUE ? "unexpected EOF" : NULL);
		free(data);
		status = uncaught(&d);
		pr_diag_clear(&d);
		return status;
	}
	/* a connection among the arguments: its fd by index among what the
	 * fork server sent, or (spawn) the fd itself, kept open across exec */
	pr__wire_set_inherited(inherited, ninherited);
	r = pr__wire_load(data, len, &proc, fds, &d);
	pr__wire_set_inherited(NULL, 0);
	free(data);
	if (r < 0) {
		status = uncaught(&d);
		pr_diag_clear(&d);
		return status;
	}
	if (inherited != NULL) {
		for (i = 0; i < 3; i++)
			fds[i] = fds[i] >= 0 && (size_t)fds[i] < ninherited ? inherited[fds[i]] :
									      -1;
		/* the requester's stdio, which a child of the server would
		 * not otherwise see (tools/pydriver.py's _apply_stdio) */
		for (i = 1; i < 3; i++) {
			if (fds[i] >= 0 && fds[i] != i) {
				dup2(fds[i], i);
				close(fds[i]);
			}
		}
	}
	if (fds[0] >= 0) {
		cloexec(fds[0]);
		proc->u.proc->gate = fds[0];
	}
	if (bootstrapped != NULL)
		*bootstrapped = 1;
	/* spawn_main() ends in sys.exit(exitcode); the fork server's child in
	 * os._exit(code) */
	pr__rt.exits_by_sys_exit = inherited == NULL;
	status = pr__bootstrap(proc, parent_sentinel);
	pr_decref(proc);
	/* spawn_main's sys.exit(): interpreter exit waits for the threads
	 * left running, then runs the atexit handlers */
	if (pr__rt.exits_by_sys_exit) {
		pr__threads_join();
		pr__atexit_run();
	}
	return status;
}

/* Test-only (tests/check_procref.c): with PROCREF_CHILD_LIST_FDS set, the
 * child first writes the fds it was born with to stdout, "0 1 2 ...\n". */
static void list_fds(void)
{
	struct sbuf sb = SBUF_INIT;
	DIR *dir = opendir("/proc/self/fd");
	struct dirent *e;

	if (dir == NULL)
		return;
	while ((e = readdir(dir)) != NULL) {
		if (e->d_name[0] < '0' || e->d_name[0] > '9' || atoi(e->d_name) == dirfd(dir))
			continue;
		pr__sb_printf(&sb, "%s%s", sb.len ? " " : "", e->d_name);
	}
	closedir(dir);
	pr__sb_putc(&sb, '\n');
	if (!sb.oom)
		pr__stream_write(PR_STDOUT, sb.p, sb.len);
	pr__sb_release(&sb);
	pr__stream_flush(PR_STDOUT);
}

static int arg_int(const char *arg, const char *key, int *out)
{
	size_t n = strlen(key);
	char *end;
	long v;

	if (strncmp(arg, key, n) != 0 || arg[n] != '=')
		return -1;
	errno = 0;
	v = strtol(arg + n + 1, &end, 10);
	if (errno || *end || v < 0 || v > 1 << 20)
		return -1;
	*out = (int)v;
	return 0;
}

int pr_child_main(int argc, char **argv)
{
	struct pr_diag d = PR_DIAG_INIT;
	int fd, alive, status;

	if (getenv("PROCREF_CHILD_LIST_FDS") != NULL)
		list_fds();
	/* what was passed (the pipes, the gate, child_w which this program
	 * never names) is close-on-exec from here on, as every fd of ours */
	close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
	/* the interpreter flags: the version profile of the parent */
	if (argc >= 3 && strcmp(argv[1], "--profile") == 0) {
		if (pr_set_profile(argv[2], &d) < 0) {
			fprintf(stderr, "procref-child: %s\n", d.message);
			pr_diag_clear(&d);
			return 2;
		}
		argc -= 2;
		argv += 2;
	}
	if (pr_init(&d) < 0) {
		fprintf(stderr, "procref-child: %s\n", d.message);
		pr_diag_clear(&d);
		return 1;
	}
	if (argc == 3 && strcmp(argv[1], "--multiprocessing-fork") == 0 &&
	    arg_int(argv[2], "pipe_handle", &fd) == 0) {
		/* spawn_main: parent_sentinel = os.dup(pipe_handle), and
		 * _main closes pipe_handle once read; keeping the one fd is
		 * the same thing with one fewer number */
		cloexec(fd);
		status = pr__spawn_child(fd, fd, NULL, NULL, 0);
		close(fd);
	} else if (argc == 5 && strcmp(argv[1], "--forkserver") == 0 &&
		   arg_int(argv[2], "listener", &fd) == 0 &&
		   arg_int(argv[3], "alive", &alive) == 0) {
		status = pr__forkserver_main(fd, alive, argv[4]);
	} else {
		fprintf(stderr, "usage: procref-child [--profile X.Y] "
				"--multiprocessing-fork pipe_handle=FD\n"
				"       procref-child [--profile X.Y] --forkserver "
				"listener=FD alive=FD ADDRESS\n"
				"(started by libprocref's spawn and forkserver start "
				"methods)\n");
		status = 2;
	}
	pr_fini();
	return status;
}

/*
 * bench/pyfresh: a driver (docs/PROTOCOL.md) that relays every line to an
 * inner driver, either one inner driver for the whole session (warm) or a
 * fresh one for each scenario (fresh).  With tools/pydriver.py as the inner
 * driver, "fresh" is what the Python driver would cost without its zygote:
 * every scenario pays for an interpreter start-up, the imports and the
 * interpreter's exit; "warm" pays the same relay and nothing else, so the
 * two differ only in that.
 *
 * usage: pyfresh warm|fresh PROGRAM [ARG...]
 *
 * The hello the harness sees is the first inner driver's.  In fresh mode
 * that driver is then closed, and each scenario starts a new one when its
 * first request (begin) arrives: the start-up falls inside the scenario's
 * time.  After the inner driver's `exited`, its stdin is closed and it is
 * waited for before anything else is read, as a harness would wait for an
 * interpreter that played one scenario.
 *
 * Exit 0 on EOF from the harness, 1 when an inner driver cannot be started,
 * breaks the framing or dies between scenarios.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

extern char **environ;

/* Bytes read from one fd, not yet relayed: complete lines first. */
struct linebuf {
	char *buf;
	size_t len, cap;
};
/* clang-format off */
#define LINEBUF_INIT { NULL, 0, 0 }
/* clang-format on */

struct inner {
	pid_t pid; /* 0 when there is none */
	int in_w;  /* its stdin */
	int out_r; /* its stdout */
	struct linebuf rb;
};
/* clang-format off */
#define INNER_INIT { 0, -1, -1, LINEBUF_INIT }
/* clang-format on */

static char **inner_argv;
static bool fresh;

static int write_all(int fd, const char *s, size_t n)
{
	ssize_t w;

	while (n) {
		do
			w = write(fd, s, n);
		while (w == -1 && errno == EINTR);
		if (w < 0)
			return -errno;
		s += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Read once from fd into lb.  1 when bytes came, 0 on EOF, or -errno. */
static int linebuf_fill(struct linebuf *lb, int fd)
{
	ssize_t n;
	char *nb;

	if (lb->cap - lb->len < 65536) {
		nb = realloc(lb->buf, lb->cap * 2 + 65536);
		if (!nb)
			return -ENOMEM;
		lb->buf = nb;
		lb->cap = lb->cap * 2 + 65536;
	}
	do
		n = read(fd, lb->buf + lb->len, lb->cap - lb->len);
	while (n == -1 && errno == EINTR);
	if (n < 0)
		return -errno;
	lb->len += (size_t)n;
	return n > 0;
}

/* The length of the first complete line in lb, newline included; 0 if none. */
static size_t linebuf_line(const struct linebuf *lb)
{
	const char *nl = lb->len ? memchr(lb->buf, '\n', lb->len) : NULL;

	return nl ? (size_t)(nl - lb->buf) + 1 : 0;
}

static void linebuf_drop(struct linebuf *lb, size_t n)
{
	memmove(lb->buf, lb->buf + n, lb->len - n);
	lb->len -= n;
}

/* The "op" of a protocol line, copied into op (empty when there is none). */
static void line_op(const char *line, size_t n, char *op, size_t opsz)
{
	json_t *o = json_loadb(line, n, 0, NULL);
	const char *s = json_string_value(json_object_get(o, "op"));

	snprintf(op, opsz, "%s", s ? s : "");
	json_decref(o);
}

/*
 * Start an inner driver and read its hello into in->rb (left there, the
 * first line).  0, or -errno with a message on stderr.
 */
static int inner_start(struct inner *in)
{
	int to[2] = { -1, -1 }, from[2] = { -1, -1 }, r;
	posix_spawn_file_actions_t fa;
	size_t n;

	if (pipe2(to, O_CLOEXEC) || pipe2(from, O_CLOEXEC)) {
		r = -errno;
		goto out;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, to[0], 0);
	posix_spawn_file_actions_adddup2(&fa, from[1], 1);
	r = -posix_spawnp(&in->pid, inner_argv[0], &fa, NULL, inner_argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (r) {
		in->pid = 0;
		goto out;
	}
	in->in_w = to[1];
	in->out_r = from[0];
	to[1] = from[0] = -1;
	in->rb.len = 0;
	while ((n = linebuf_line(&in->rb)) == 0) {
		r = linebuf_fill(&in->rb, in->out_r);
		if (r <= 0) {
			r = r ? r : -EPIPE;
			goto out;
		}
	}
	r = 0;
out:
	if (to[0] >= 0)
		close(to[0]);
	if (to[1] >= 0)
		close(to[1]);
	if (from[0] >= 0)
		close(from[0]);
	if (from[1] >= 0)
		close(from[1]);
	if (r)
		fprintf(stderr, "pyfresh: cannot start %s: %s\n", inner_argv[0], strerror(-r));
	return r;
}

/* Close the inner driver's stdin and wait for it to exit.  Its exit status. */
static int inner_stop(struct inner *in)
{
	int st = 0;
	pid_t w;

	if (in->in_w >= 0)
		close(in->in_w);
	if (in->pid > 0) {
		do
			w = waitpid(in->pid, &st, 0);
		while (w == -1 && errno == EINTR);
	}
	if (in->out_r >= 0)
		close(in->out_r);
	in->pid = 0;
	in->in_w = in->out_r = -1;
	in->rb.len = 0;
	return st;
}

/* Start an inner driver for a scenario and drop its hello.  0 or -errno. */
static int inner_ensure(struct inner *in)
{
	int r;

	if (in->pid > 0)
		return 0;
	r = inner_start(in);
	if (!r)
		linebuf_drop(&in->rb, linebuf_line(&in->rb));
	return r;
}

/* Relay every complete line the inner driver has sent to the harness.
 * 0, or -errno.  In fresh mode, `exited` retires the inner driver. */
static int relay_replies(struct inner *in)
{
	char op[32];
	size_t n;
	int r;

	while (in->pid > 0 && (n = linebuf_line(&in->rb)) > 0) {
		r = write_all(1, in->rb.buf, n);
		if (r)
			return r;
		line_op(in->rb.buf, n, op, sizeof(op));
		linebuf_drop(&in->rb, n);
		if (fresh && !strcmp(op, "exited"))
			inner_stop(in);
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct linebuf req = LINEBUF_INIT;
	struct inner in = INNER_INIT;
	struct pollfd pfd[2];
	int r, rc = 1;
	size_t n;

	if (argc < 3 || (strcmp(argv[1], "warm") && strcmp(argv[1], "fresh"))) {
		fprintf(stderr, "usage: %s warm|fresh PROGRAM [ARG...]\n", argv[0]);
		return 2;
	}
	fresh = !strcmp(argv[1], "fresh");
	inner_argv = argv + 2;
	if (inner_start(&in))
		goto out;
	n = linebuf_line(&in.rb);
	if (write_all(1, in.rb.buf, n))
		goto out;
	linebuf_drop(&in.rb, n);
	if (fresh)
		inner_stop(&in);
	for (;;) {
		pfd[0] = (struct pollfd){ .fd = 0, .events = POLLIN };
		pfd[1] = (struct pollfd){ .fd = in.out_r, .events = POLLIN };
		do
			r = poll(pfd, 2, -1);
		while (r == -1 && errno == EINTR);
		if (r < 0)
			goto out;
		if (pfd[1].revents) {
			r = linebuf_fill(&in.rb, in.out_r);
			if (r <= 0) {
				fprintf(stderr, "pyfresh: the inner driver went away\n");
				inner_stop(&in);
				goto out;
			}
			if (relay_replies(&in))
				goto out;
		}
		if (pfd[0].revents) {
			r = linebuf_fill(&req, 0);
			if (r < 0)
				goto out;
			if (r == 0) {
				rc = 0;
				goto out;
			}
			while ((n = linebuf_line(&req)) > 0) {
				if (inner_ensure(&in) || write_all(in.in_w, req.buf, n))
					goto out;
				linebuf_drop(&req, n);
			}
		}
	}
out:
	inner_stop(&in);
	free(in.rb.buf);
	free(req.buf);
	return rc;
}

#include "driver.h"
#include "fault.h"

#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "buf.h"
#include "scenario.h"
#include "tmp.h"

/* Read what the driver wrote to stderr so far into the ring. */
static void drain_stderr(struct ps_driver *drv)
{
	char buf[16384];
	ssize_t n, i;

	if (drv->log_fd < 0)
		return;
	for (;;) {
		do
			n = read(drv->log_fd, buf, sizeof(buf));
		while (n == -1 && errno == EINTR);
		if (n <= 0) {
			if (n == 0) { /* every writer is gone */
				close(drv->log_fd);
				drv->log_fd = -1;
			}
			return;
		}
		drv->log_total += (unsigned long long)n;
		for (i = 0; i < n; i++) {
			drv->log[drv->log_at++] = buf[i];
			if (drv->log_at == sizeof(drv->log)) {
				drv->log_at = 0;
				drv->log_wrapped = true;
			}
		}
	}
}

char *ps_driver_stderr_tail(struct ps_driver *drv, size_t max)
{
	struct ps_buf b = PS_BUF_INIT;
	size_t have, start, i;
	char *raw;

	drain_stderr(drv);
	have = drv->log_wrapped ? sizeof(drv->log) : drv->log_at;
	if (have > max)
		have = max;
	raw = malloc(have + 1);
	if (!raw)
		return NULL;
	start = (drv->log_at + sizeof(drv->log) - have) % sizeof(drv->log);
	for (i = 0; i < have; i++)
		raw[i] = drv->log[(start + i) % sizeof(drv->log)];
	if (drv->log_total > have)
		ps_buf_addf(&b, "[... %llu earlier bytes not kept]\n", drv->log_total - have);
	/* Whatever the driver wrote: it goes into JSON reports and onto a
	 * terminal, so invalid UTF-8 and control bytes are escaped. */
	ps_buf_add_text(&b, raw, have);
	free(raw);
	return ps_buf_detach(&b);
}

bool ps_driver_pending(struct ps_driver *drv)
{
	struct pollfd pfd = { .fd = drv->from_fd, .events = POLLIN };

	return drv->rlen > 0 || (poll(&pfd, 1, 0) == 1 && pfd.revents);
}

static bool listed(const struct ps_driver *drv, const char *name)
{
	size_t i;

	for (i = 0; i < json_array_size(drv->features); i++) {
		const char *f = json_string_value(json_array_get(drv->features, i));

		if (f && !strcmp(f, name))
			return true;
	}
	return false;
}

bool ps_driver_has(const struct ps_driver *drv, const char *name)
{
	if (!drv->features || listed(drv, name))
		return true;
	/* "Process" came within protocol 1, after drivers that list features
	 * without it: a list that leaves it out lacks it only if it names
	 * ProcessPoolExecutor (an executor-only driver: loky, pebble) */
	return !strcmp(name, "Process") && !listed(drv, "ProcessPoolExecutor");
}

/*
 * Quote a received line for a message: at most 200 bytes, control bytes and
 * every byte from 0x80 escaped, so the message is ASCII whatever the driver
 * sent (it goes into JSON reports, which must be UTF-8).
 */
static void quote_line(struct ps_buf *b, const char *s, size_t n)
{
	size_t i, lim = n > 200 ? 200 : n;

	for (i = 0; i < lim; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c >= 0x7f || c == '\\')
			ps_buf_addf(b, "\\x%02x", c);
		else
			ps_buf_addc(b, (char)c);
	}
	if (n > lim)
		ps_buf_addf(b, "... (%zu bytes)", n);
}

/* Fill d for a driver that closed its stdout: how it ended and what it said. */
static int driver_gone(struct ps_driver *drv, struct ps_diag *d)
{
	char how[64], *tail;
	int status, r;

	/* It closed stdout; give it a moment to finish exiting before we ask. */
	for (r = 0; r < 200; r++) {
		if (waitpid(drv->pid, &status, WNOHANG) == drv->pid) {
			ps_exit_from_status(status, &drv->exit);
			break;
		}
		usleep(1000);
	}
	tail = ps_driver_stderr_tail(drv, 2000);
	r = ps_diag(d, PS_EDRIVER, "driver ended (%s) before it answered%s%s",
		    ps_exit_describe(&drv->exit, how, sizeof(how)),
		    tail && *tail ? "; its stderr ends with:\n" : "", tail ? tail : "");
	free(tail);
	return r;
}

/*
 * Write what is queued for the driver, as far as the pipe takes it without
 * waiting.  0, or -errno.  A driver that is gone (EPIPE) drops the queue:
 * its end shows in what is read from it.
 */
static int flush_out(struct ps_driver *drv)
{
	ssize_t n;

	while (drv->out_at < drv->out.len) {
		do
			n = write(drv->to_fd, drv->out.data + drv->out_at,
				  drv->out.len - drv->out_at);
		while (n == -1 && errno == EINTR);
		if (n < 0) {
			if (errno == EAGAIN)
				return 0;
			n = -errno;
			drv->out.len = drv->out_at = 0;
			return (int)n;
		}
		drv->out_at += (size_t)n;
	}
	drv->out.len = drv->out_at = 0;
	return 0;
}

int ps_driver_recv(struct ps_driver *drv, double timeout, json_t **msg, struct ps_diag *d)
{
	double deadline = ps_now() + timeout;
	struct pollfd pfd[4] = {
		{ .fd = drv->from_fd, .events = POLLIN },
		{ .fd = -1, .events = POLLIN },
		{ .fd = drv->pidfd, .events = POLLIN },
		{ .fd = -1, .events = POLLOUT },
	};
	json_error_t jerr;
	char *nl;
	ssize_t n;
	int r;

	*msg = NULL;
	flush_out(drv); /* what was queued; the rest goes as the pipe takes it */
	for (;;) {
		nl = drv->rlen ? memchr(drv->rbuf, '\n', drv->rlen) : NULL;
		if (nl)
			break;
		if (drv->rlen > PS_MAX_LINE) {
			struct ps_buf b = PS_BUF_INIT;
			char *q;

			quote_line(&b, drv->rbuf, drv->rlen);
			q = ps_buf_detach(&b);
			r = ps_diag(d, PS_EPROTO, "driver sent a line longer than %u bytes: %s",
				    PS_MAX_LINE, q ? q : "");
			free(q);
			return r;
		}
		double left = deadline - ps_now();

		if (left <= 0)
			return ps_diag(d, PS_ETIMEOUT, "no answer from the driver within %.1f s",
				       timeout);
		pfd[1].fd = drv->log_fd;
		pfd[3].fd = drv->out_at < drv->out.len ? drv->to_fd : -1;
		r = poll(pfd, 4, (int)(left * 1000) + 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return ps_diag(d, -errno, "poll: %s", strerror(errno));
		if (pfd[1].revents)
			drain_stderr(drv);
		if (pfd[3].revents)
			flush_out(drv); /* a driver gone shows on its stdout */
		if (!(pfd[0].revents & (POLLIN | POLLHUP | POLLERR))) {
			/* It died, but a child of its keeps its stdout open: no EOF
			 * will come, so its exit is the answer. */
			if (pfd[2].revents & POLLIN)
				return driver_gone(drv, d);
			continue;
		}
		if (drv->rcap - drv->rlen < 65536) {
			size_t cap = drv->rcap ? drv->rcap * 2 : 131072;
			char *nb = realloc(drv->rbuf, cap);

			if (!nb)
				return ps_diag(d, -ENOMEM, "out of memory");
			drv->rbuf = nb;
			drv->rcap = cap;
		}
		do
			n = read(drv->from_fd, drv->rbuf + drv->rlen, drv->rcap - drv->rlen);
		while (n == -1 && errno == EINTR);
		if (n < 0)
			return ps_diag(d, -errno, "reading from the driver: %s", strerror(errno));
		if (n == 0) {
			if (drv->rlen) {
				struct ps_buf b = PS_BUF_INIT;
				char *q;

				quote_line(&b, drv->rbuf, drv->rlen);
				q = ps_buf_detach(&b);
				r = ps_diag(d, PS_EPROTO,
					    "driver ended in the middle of a line: %s", q ? q : "");
				free(q);
				return r;
			}
			return driver_gone(drv, d);
		}
		drv->rlen += (size_t)n;
	}
	size_t len = (size_t)(nl - drv->rbuf);

	*msg = json_loadb(drv->rbuf, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!*msg || !json_is_object(*msg) || !json_is_string(json_object_get(*msg, "op"))) {
		struct ps_buf b = PS_BUF_INIT;
		char *q;

		quote_line(&b, drv->rbuf, len);
		q = ps_buf_detach(&b);
		r = ps_diag(d, PS_EPROTO, "driver sent %s: %s",
			    !*msg                 ? "a line that is not JSON" :
			    !json_is_object(*msg) ? "JSON that is not an object" :
						    "a message without a string \"op\"",
			    q ? q : "");
		free(q);
		json_decref(*msg);
		*msg = NULL;
	} else {
		r = 0;
	}
	memmove(drv->rbuf, nl + 1, drv->rlen - len - 1);
	drv->rlen -= len + 1;
	return r;
}

int ps_driver_queue(struct ps_driver *drv, json_t *msg, struct ps_diag *d)
{
	char *s = json_dumps(msg, JSON_COMPACT | JSON_ENSURE_ASCII);

	if (!s)
		return ps_diag(d, -ENOMEM, "out of memory");
	ps_buf_adds(&drv->out, s);
	ps_buf_addc(&drv->out, '\n');
	free(s);
	if (ps_buf_oom(&drv->out))
		return ps_diag(d, -ENOMEM, "out of memory");
	return 0;
}

int ps_driver_queue_line(struct ps_driver *drv, const char *line, struct ps_diag *d)
{
	if (ps_buf_adds(&drv->out, line) || ps_buf_oom(&drv->out))
		return ps_diag(d, -ENOMEM, "out of memory");
	return 0;
}

int ps_driver_send(struct ps_driver *drv, json_t *msg, struct ps_diag *d)
{
	int r = ps_driver_queue(drv, msg, d);

	if (!r && (r = flush_out(drv)))
		return ps_diag(d, r, "writing to the driver: %s", strerror(-r));
	return r;
}

static int read_hello(struct ps_driver *drv, double timeout, struct ps_diag *d)
{
	json_t *h = NULL, *m;
	size_t i;
	int r;

	r = ps_driver_recv(drv, timeout, &h, d);
	if (r == PS_ETIMEOUT)
		return ps_diag(d, r, "driver sent no hello within %.1f s", timeout);
	if (r)
		return r;
	if (strcmp(json_string_value(json_object_get(h, "op")), "hello")) {
		r = ps_diag(d, PS_EPROTO, "driver's first message is not a hello (op \"%s\")",
			    json_string_value(json_object_get(h, "op")));
		goto out;
	}
	if (!json_is_integer(json_object_get(h, "protocol")) ||
	    json_integer_value(json_object_get(h, "protocol")) != PS_PROTOCOL_VERSION) {
		r = ps_diag(d, PS_EPROTO, "driver speaks protocol %s; this harness speaks %d",
			    json_is_integer(json_object_get(h, "protocol")) ? "another version" :
									      "no known version",
			    PS_PROTOCOL_VERSION);
		goto out;
	}
	if (!json_is_string(json_object_get(h, "implementation"))) {
		r = ps_diag(d, PS_EPROTO, "driver's hello has no \"implementation\" string");
		goto out;
	}
	m = json_object_get(h, "methods");
	if (!json_is_array(m)) {
		r = ps_diag(d, PS_EPROTO, "driver's hello has no \"methods\" list");
		goto out;
	}
	for (i = 0; i < json_array_size(m); i++) {
		const char *name = json_string_value(json_array_get(m, i));

		drv->methods |= name ? ps_method_parse(name) : 0;
	}
	drv->hello = h;
	h = NULL;
	drv->implementation = json_string_value(json_object_get(drv->hello, "implementation"));
	drv->executable = json_string_value(json_object_get(drv->hello, "executable"));
	drv->module = json_string_value(json_object_get(drv->hello, "module"));
	drv->features = json_object_get(drv->hello, "features");
	drv->pipelined = json_is_true(json_object_get(drv->hello, "pipelined"));
	if (drv->features && !json_is_array(drv->features)) {
		r = ps_diag(d, PS_EPROTO, "driver's hello has a \"features\" that is not a list");
		json_decref(drv->hello);
		drv->hello = NULL;
		drv->features = NULL;
		goto out;
	}
	if (!drv->executable)
		drv->executable = "";
	if (!drv->module)
		drv->module = "";
out:
	json_decref(h);
	return r;
}

int ps_driver_start(char *const argv[], double timeout, bool faults, struct ps_driver **out,
		    struct ps_diag *d)
{
	struct ps_driver *drv = calloc(1, sizeof(*drv));
	int in[2] = { -1, -1 }, outp[2] = { -1, -1 }, errp[2] = { -1, -1 }, r;
	char **env;

	if (!drv)
		return ps_diag(d, -ENOMEM, "out of memory");
	drv->pid = -1;
	drv->to_fd = drv->from_fd = drv->pidfd = -1;
	drv->with_faults = faults;
	drv->log_fd = -1;
	/* Only the harness's end of the stderr pipe is non-blocking: the
	 * driver's writes to a full pipe must wait, not fail with EAGAIN. */
	if (pipe2(in, O_CLOEXEC) || pipe2(outp, O_CLOEXEC) || pipe2(errp, O_CLOEXEC) ||
	    fcntl(errp[0], F_SETFL, O_NONBLOCK)) {
		r = ps_diag(d, -errno, "pipe2: %s", strerror(errno));
		goto fail;
	}
	drv->log_fd = errp[0];
	/* Requests are written without waiting (ps_driver_send). */
	if (fcntl(in[1], F_SETFL, O_NONBLOCK)) {
		r = ps_diag(d, -errno, "fcntl: %s", strerror(errno));
		goto fail;
	}
	/* A private TMPDIR: what the driver and its scenario processes leave
	 * there (CPython's pymp-XXXXXX of a killed forkserver) goes with it. */
	char dir[PATH_MAX], **fenv = faults ? ps_fault_env() : NULL;

	r = ps_tmp_driver_dir(dir, sizeof(dir));
	if (r) {
		ps_fault_env_free(fenv);
		r = ps_diag(d, r, "a temporary directory for the driver: %s", strerror(-r));
		goto fail;
	}
	env = ps_tmp_env(fenv, dir);
	ps_fault_env_free(fenv);
	if (!env || !(drv->tmpdir = strdup(dir))) {
		ps_tmp_remove(dir);
		ps_fault_env_free(env);
		r = ps_diag(d, -ENOMEM, "out of memory");
		goto fail;
	}
	r = ps_proc_spawn(argv, env, in[0], outp[1], errp[1], &drv->pid, d);
	ps_fault_env_free(env);
	if (r)
		goto fail;
	ps_proc_guard_group(drv->pid, true);
	drv->pidfd = (int)syscall(SYS_pidfd_open, drv->pid, 0); /* -1 before Linux 5.3 */
	if (drv->pidfd >= 0)
		fcntl(drv->pidfd, F_SETFD, FD_CLOEXEC);
	close(in[0]);
	close(outp[1]);
	close(errp[1]);
	in[0] = outp[1] = errp[1] = -1;
	drv->to_fd = in[1];
	drv->from_fd = outp[0];
	r = read_hello(drv, timeout, d);
	if (r)
		goto fail;
	*out = drv;
	return 0;
fail:
	if (in[0] >= 0)
		close(in[0]);
	if (outp[1] >= 0)
		close(outp[1]);
	if (errp[1] >= 0)
		close(errp[1]);
	if (drv->to_fd < 0 && in[1] >= 0)
		close(in[1]);
	if (drv->from_fd < 0 && outp[0] >= 0)
		close(outp[0]);
	ps_driver_stop(drv, 0.5);
	return r;
}

void ps_driver_stop(struct ps_driver *drv, double grace)
{
	double deadline;
	int status, r;

	if (!drv)
		return;
	if (drv->to_fd >= 0)
		close(drv->to_fd);
	if (drv->pid > 0 && drv->exit.kind == PS_CHILD_RUNNING) {
		/* EOF on stdin asks a well-behaved driver to exit by itself. */
		deadline = ps_now() + grace;
		for (;;) {
			r = waitpid(drv->pid, &status, WNOHANG);
			if (r == drv->pid) {
				ps_exit_from_status(status, &drv->exit);
				killpg(drv->pid, SIGKILL);
				break;
			}
			if (ps_now() >= deadline) {
				ps_proc_kill_group(drv->pid, ps_scaled(1.0), &drv->exit);
				break;
			}
			usleep(1000);
		}
	} else if (drv->pid > 0) {
		killpg(drv->pid, SIGKILL);
	}
	if (drv->pid > 0)
		ps_proc_guard_group(drv->pid, false);
	if (drv->from_fd >= 0)
		close(drv->from_fd);
	if (drv->log_fd >= 0)
		close(drv->log_fd);
	if (drv->pidfd >= 0)
		close(drv->pidfd);
	if (drv->tmpdir)
		ps_tmp_remove(drv->tmpdir);
	free(drv->tmpdir);
	json_decref(drv->hello);
	free(drv->rbuf);
	ps_buf_release(&drv->out);
	free(drv);
}

#include "conform.h"
#include "fault.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "buf.h"
#include "driver.h"
#include "proc.h"
#include "scenario.h"
#include "tmp.h"
#include "util.h"

enum level { MUST, SHOULD };

/*
 * A rule that holds for every reply of a kind (every result echoes its id,
 * every end gets ended...): observed throughout the run, reported once at
 * the end with the first offence.
 */
struct tally {
	unsigned seen, bad;
	char *first; /* the first offence, as detail lines */
};

enum { T_ID, T_RESULT, T_PIDS, T_ENDED, T_EXITED, T_COUNT };

/* After this many time-outs the checks that need a driver are skipped:
 * a driver that hangs would otherwise cost a time limit per check. */
#define MAX_TIMEOUTS 2

struct ck {
	const struct ps_conform_opts *o;
	struct ps_conform_summary *sum;
	struct ps_driver *drv;  /* NULL between a breakage and the next check */
	json_t *hello;          /* the current driver's hello */
	unsigned methods;       /* the start methods it declared (enum ps_method) */
	const char *method;     /* the one behaviours run under */
	const char *cur_method; /* of a per-method check */
	bool py2;               /* a Python 2 implementation: its reprs differ */
	bool parent_feature;    /* it has parent_process() */
	bool executor_feature;  /* it has ProcessPoolExecutor */
	bool thread_feature;    /* it has faults.thread */
	ino_t in_ino, out_ino;  /* the two protocol pipes */
	int timeouts;
	bool no_hello;    /* the first driver said no hello: nothing to check */
	int n;            /* checks reported so far */
	int eof_status;   /* how session.eof's driver ended, -1 if it did not */
	double t0;        /* when the current check began */
	const char *name; /* the current check */
	bool failed, skipped;
	struct ps_buf detail; /* why it failed or was skipped */
	struct ps_buf log;    /* every exchange of the check, for -v */
	/* the scenario in progress */
	bool in_scn;
	long main_pid;
	char *authkey;
	long long next_id;
	char *sent;        /* the last request line */
	char *raw;         /* the last line received, as the driver sent it */
	char *why;         /* why the last receive failed */
	struct ps_buf src; /* the scenario text so far: the parser needs its bindings */
	bool quiet;        /* failures go to quiet_buf, not to the check (for tallies) */
	struct ps_buf quiet_buf;
	struct tally t[T_COUNT];
	json_t *escaped; /* "escaped" of the last ended, NULL when it had none */
};

/* ---- reporting --------------------------------------------------------- */

/* A line quoted for a message: at most 300 bytes, control bytes and
 * non-ASCII escaped as \xNN, so a message is one readable ASCII line. */
static void quote(struct ps_buf *b, const char *s)
{
	size_t i, n = s ? strlen(s) : 0, lim = n > 300 ? 300 : n;

	if (!s) {
		ps_buf_adds(b, "(nothing)");
		return;
	}
	for (i = 0; i < lim; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch < 0x20 || ch >= 0x7f)
			ps_buf_addf(b, "\\x%02x", ch);
		else
			ps_buf_addc(b, (char)ch);
	}
	if (n > lim)
		ps_buf_addf(b, "... (%zu bytes in all)", n);
}

static void bad(struct ck *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void bad(struct ck *c, const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;

	struct ps_buf *b = c->quiet ? &c->quiet_buf : &c->detail;

	if (!c->quiet)
		c->failed = true;
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	if (c->quiet) {
		ps_buf_adds(b, s ? s : "(out of memory)");
		free(s);
		return;
	}
	ps_buf_adds(b, "       ");
	for (const char *p = s ? s : "(out of memory)"; *p; p++) {
		ps_buf_addc(b, *p);
		if (*p == '\n' && p[1])
			ps_buf_adds(b, "         | ");
	}
	if (!s || !*s || s[strlen(s) - 1] != '\n')
		ps_buf_addc(b, '\n');
	free(s);
}

/* The failure of the last exchange: what was sent, what came, what should have. */
static void miss(struct ck *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void miss(struct ck *c, const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;

	/* a check skipped for a feature the driver lacks misses nothing more */
	if (c->skipped)
		return;
	c->failed = true;
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	ps_buf_adds(&c->detail, "       sent:     ");
	quote(&c->detail, c->sent);
	ps_buf_adds(&c->detail, "\n       got:      ");
	quote(&c->detail, c->raw);
	ps_buf_addf(&c->detail, "\n       expected: %s\n", s ? s : "(out of memory)");
	free(s);
}

static void skip(struct ck *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void skip(struct ck *c, const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;

	c->skipped = true;
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	ps_buf_addf(&c->detail, "       %s\n", s ? s : "(out of memory)");
	free(s);
}

static void logline(struct ck *c, const char *dir, const char *line)
{
	if (!c->o->verbose)
		return;
	ps_buf_addf(&c->log, "       %s ", dir);
	quote(&c->log, line);
	ps_buf_addc(&c->log, '\n');
}

/* Record one observation of a run-wide rule; detail (taken) describes an offence, NULL none. */
static void tally(struct ck *c, int which, char *offence)
{
	struct tally *t = &c->t[which];

	t->seen++;
	if (!offence)
		return;
	t->bad++;
	if (!t->first) {
		struct ps_buf b = PS_BUF_INIT;

		ps_buf_addf(&b, "       first in check %s: %s\n       sent:     ", c->name,
			    offence);
		quote(&b, c->sent);
		ps_buf_adds(&b, "\n       got:      ");
		quote(&b, c->raw);
		ps_buf_addc(&b, '\n');
		t->first = ps_buf_detach(&b);
	}
	free(offence);
}

static char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));

static char *fmt(const char *f, ...)
{
	va_list ap;
	char *s = NULL;

	va_start(ap, f);
	if (vasprintf(&s, f, ap) < 0)
		s = strdup("(out of memory)");
	va_end(ap);
	return s;
}

/* ---- the driver -------------------------------------------------------- */

static void drop_driver(struct ck *c)
{
	if (!c->drv)
		return;
	ps_driver_stop(c->drv, 0);
	c->drv = NULL;
	c->in_scn = false;
	ps_proc_sweep();
}

/*
 * Start the driver without reading anything: unlike ps_driver_start, which
 * refuses a bad hello, the checker wants the hello line as it was sent.
 */
static int spawn_driver(struct ck *c, struct ps_diag *d)
{
	struct ps_driver *drv = calloc(1, sizeof(*drv));
	int in[2] = { -1, -1 }, outp[2] = { -1, -1 }, errp[2] = { -1, -1 }, r;
	struct stat st;
	char **env, **fenv;

	if (!drv)
		return ps_diag(d, -ENOMEM, "out of memory");
	drv->pid = -1;
	drv->to_fd = drv->from_fd = drv->pidfd = drv->log_fd = -1;
	if (pipe2(in, O_CLOEXEC) || pipe2(outp, O_CLOEXEC) || pipe2(errp, O_CLOEXEC) ||
	    fcntl(errp[0], F_SETFL, O_NONBLOCK)) {
		r = ps_diag(d, -errno, "pipe2: %s", strerror(errno));
		goto fail;
	}
	drv->log_fd = errp[0];
	errp[0] = -1;
	/* the same environment as a run: under the fault preloads, and
	 * without what ps_tmp_env() drops (PYTHONUNBUFFERED: a machine that
	 * sets it would see a child's unflushed output that a run loses);
	 * TMPDIR stays where it was */
	fenv = ps_fault_env();
	env = fenv ? ps_tmp_env(fenv, getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp") : NULL;
	ps_fault_env_free(fenv);
	if (!env) {
		r = ps_diag(d, -ENOMEM, "out of memory");
		goto fail;
	}
	r = ps_proc_spawn(c->o->argv, env, in[0], outp[1], errp[1], &drv->pid, d);
	ps_fault_env_free(env);
	if (r)
		goto fail;
	ps_proc_guard_group(drv->pid, true);
	drv->pidfd = (int)syscall(SYS_pidfd_open, drv->pid, 0);
	if (drv->pidfd >= 0)
		fcntl(drv->pidfd, F_SETFD, FD_CLOEXEC);
	drv->to_fd = in[1];
	drv->from_fd = outp[0];
	in[1] = outp[0] = -1;
	c->in_ino = fstat(drv->to_fd, &st) == 0 ? st.st_ino : 0;
	c->out_ino = fstat(drv->from_fd, &st) == 0 ? st.st_ino : 0;
	c->drv = drv;
	drv = NULL;
fail:
	for (int i = 0; i < 2; i++) {
		if (in[i] >= 0)
			close(in[i]);
		if (outp[i] >= 0)
			close(outp[i]);
		if (errp[i] >= 0)
			close(errp[i]);
	}
	if (drv)
		ps_driver_stop(drv, 0);
	return r;
}

/*
 * Wait until the driver's read buffer holds a whole line (1), the driver
 * closed its stdout or died (0), or timeout passed (-1).  Then
 * ps_driver_recv frames and parses exactly as a run does.
 */
static int fill_line(struct ps_driver *drv, double timeout)
{
	double deadline = ps_now() + timeout, left;
	struct pollfd pfd[3];
	ssize_t n;
	int r;

	for (;;) {
		if ((drv->rlen && memchr(drv->rbuf, '\n', drv->rlen)) || drv->rlen > PS_MAX_LINE)
			return 1;
		left = deadline - ps_now();
		if (left <= 0)
			return -1;
		pfd[0] = (struct pollfd){ .fd = drv->from_fd, .events = POLLIN };
		pfd[1] = (struct pollfd){ .fd = drv->log_fd, .events = POLLIN };
		pfd[2] = (struct pollfd){ .fd = drv->pidfd, .events = POLLIN };
		r = poll(pfd, 3, (int)(left * 1000) + 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return 0;
		if (pfd[1].revents)
			free(ps_driver_stderr_tail(drv, 0)); /* drains it into the ring */
		if (pfd[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			if (drv->rcap - drv->rlen < 65536) {
				size_t cap = drv->rcap ? drv->rcap * 2 : 131072;
				char *nb = realloc(drv->rbuf, cap);

				if (!nb)
					return 0;
				drv->rbuf = nb;
				drv->rcap = cap;
			}
			do
				n = read(drv->from_fd, drv->rbuf + drv->rlen,
					 drv->rcap - drv->rlen);
			while (n == -1 && errno == EINTR);
			if (n <= 0)
				return 0;
			drv->rlen += (size_t)n;
			continue;
		}
		if (pfd[2].revents & POLLIN)
			return 0;
	}
}

/*
 * Read one message within timeout into *msg; c->raw keeps the line as sent.
 * False when the driver did not answer properly: the check fails saying
 * how, and the driver is dropped (a fresh one serves the next check).
 */
static bool recv_msg(struct ck *c, double timeout, json_t **msg, const char *when)
{
	struct ps_diag d = PS_DIAG_INIT;
	char *nl;
	int r;

	*msg = NULL;
	free(c->raw);
	c->raw = NULL;
	if (!c->drv)
		return false;
	r = fill_line(c->drv, timeout);
	free(c->why);
	c->why = NULL;
	if (r < 0) {
		c->timeouts++;
		c->why = fmt("no %s within %.1f s", when, timeout);
		if (!c->quiet) {
			ps_buf_adds(&c->detail, "       sent:     ");
			quote(&c->detail, c->sent);
			ps_buf_addc(&c->detail, '\n');
		}
		bad(c,
		    "got:      nothing: no %s within %.1f s (the time limit); "
		    "the driver is killed",
		    when, timeout);
		drop_driver(c);
		return false;
	}
	nl = c->drv->rlen ? memchr(c->drv->rbuf, '\n', c->drv->rlen) : NULL;
	if (nl)
		c->raw = strndup(c->drv->rbuf, (size_t)(nl - c->drv->rbuf));
	logline(c, "<", c->raw);
	r = ps_driver_recv(c->drv, 1.0, msg, &d);
	if (r) {
		if (!c->quiet) {
			ps_buf_adds(&c->detail, "       sent:     ");
			quote(&c->detail, c->sent);
			if (c->raw) {
				ps_buf_adds(&c->detail, "\n       got:      ");
				quote(&c->detail, c->raw);
			}
			ps_buf_addc(&c->detail, '\n');
		}
		bad(c, "expected: %s; %s", when, d.msg);
		c->why = fmt("%s: %s", when,
			     d.code == PS_EDRIVER ? "the driver died" : "a broken line");
		drop_driver(c);
		return false;
	}
	return true;
}

/* Send line and its newline in one write where the pipe allows. */
static bool send_line(struct ck *c, const char *line)
{
	size_t len = strlen(line), off = 0;
	char *buf;
	ssize_t n;

	free(c->sent);
	c->sent = strdup(line);
	if (!c->drv)
		return false;
	logline(c, ">", line);
	if (!(buf = malloc(len + 1))) {
		bad(c, "out of memory in the checker");
		return false;
	}
	memcpy(buf, line, len);
	buf[len++] = '\n';
	while (off < len) {
		do
			n = write(c->drv->to_fd, buf + off, len - off);
		while (n == -1 && errno == EINTR);
		if (n < 0) {
			bad(c, "could not write to the driver (%s): it closed its stdin or died",
			    strerror(errno));
			free(buf);
			drop_driver(c);
			return false;
		}
		off += (size_t)n;
	}
	free(buf);
	return true;
}

/* Send msg (taken). */
static bool send_msg(struct ck *c, json_t *msg)
{
	char *s = msg ? json_dumps(msg, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
	bool ok;

	json_decref(msg);
	if (!s) {
		bad(c, "out of memory in the checker");
		return false;
	}
	ok = send_line(c, s);
	free(s);
	return ok;
}

static const char *op_of(json_t *msg)
{
	const char *op = json_string_value(json_object_get(msg, "op"));

	return op ? op : "";
}

/* Take what the hello says that later checks need. */
static void take_hello(struct ck *c, json_t *h)
{
	json_t *m = json_object_get(h, "methods"), *f = json_object_get(h, "features");
	const char *impl = json_string_value(json_object_get(h, "implementation"));
	size_t i;

	json_decref(c->hello);
	c->hello = json_incref(h);
	c->methods = 0;
	for (i = 0; i < json_array_size(m); i++)
		c->methods |= json_string_value(json_array_get(m, i)) ?
				      ps_method_parse(json_string_value(json_array_get(m, i))) :
				      0;
	c->py2 = impl && (!strncmp(impl, "CPython 2.", 10) || strstr(impl, "(Python 2."));
	c->parent_feature = !json_is_array(f);
	c->executor_feature = !json_is_array(f);
	c->thread_feature = !json_is_array(f);
	for (i = 0; i < json_array_size(f); i++) {
		const char *name = json_string_value(json_array_get(f, i));

		if (name && !strcmp(name, "parent_process"))
			c->parent_feature = true;
		if (name && !strcmp(name, "ProcessPoolExecutor"))
			c->executor_feature = true;
		if (name && !strcmp(name, "faults.thread"))
			c->thread_feature = true;
	}
	if (!c->o->method)
		c->method = c->methods & PS_M_FORK || !c->methods ?
				    "fork" :
				    ps_method_name(c->methods & -c->methods);
}

/* A driver for the next check: the one there is, or a fresh one after a breakage. */
static bool need_driver(struct ck *c)
{
	struct ps_diag d = PS_DIAG_INIT;
	json_t *h = NULL;

	if (c->drv)
		return true;
	if (c->no_hello) {
		skip(c, "the driver never said hello (check 1)");
		return false;
	}
	if (c->timeouts >= MAX_TIMEOUTS) {
		skip(c, "the driver missed the time limit %d times; not waiting for it again",
		     c->timeouts);
		return false;
	}
	if (spawn_driver(c, &d)) {
		bad(c, "cannot start the driver: %s", d.msg);
		return false;
	}
	free(c->sent);
	c->sent = strdup("(nothing: a fresh driver was started)");
	if (!recv_msg(c, c->o->hello_timeout, &h, "hello"))
		return false;
	if (strcmp(op_of(h), "hello")) {
		miss(c, "a hello from the fresh driver");
		json_decref(h);
		drop_driver(c);
		return false;
	}
	take_hello(c, h);
	json_decref(h);
	return true;
}

/* ---- scenarios --------------------------------------------------------- */

static bool scn_begin(struct ck *c, const char *method)
{
	json_t *msg = NULL;
	char id[128];
	bool ok = false;

	if (!need_driver(c))
		return false;
	snprintf(id, sizeof(id), "driver-check/%s", c->name);
	if (!send_msg(c, json_pack("{s:s, s:s, s:s}", "op", "begin", "scenario", id, "method",
				   method)) ||
	    !recv_msg(c, c->o->timeout, &msg, "begun"))
		return false;
	if (strcmp(op_of(msg), "begun") || !json_is_integer(json_object_get(msg, "main_pid")) ||
	    json_integer_value(json_object_get(msg, "main_pid")) <= 0 ||
	    !json_is_string(json_object_get(msg, "authkey"))) {
		miss(c,
		     "{\"op\":\"begun\",\"main_pid\":PID,\"authkey\":\"b'...'\"} (PID a positive integer)");
		if (!strcmp(op_of(msg), "begun"))
			drop_driver(c); /* a scenario of unknown state */
		goto out;
	}
	c->main_pid = (long)json_integer_value(json_object_get(msg, "main_pid"));
	free(c->authkey);
	c->authkey = strdup(json_string_value(json_object_get(msg, "authkey")));
	c->in_scn = true;
	c->next_id = 101;
	ps_buf_release(&c->src);
	ok = true;
out:
	json_decref(msg);
	return ok;
}

/*
 * The JSON of one statement: raw JSON when src starts with {", else a line
 * of scenario text, parsed after the scenario's earlier lines (so that the
 * names they bound are known) exactly as `procspec run` parses it.
 */
static bool declares_one(struct ck *c, const char *name)
{
	json_t *f = c->hello ? json_object_get(c->hello, "features") : NULL;
	size_t i;

	if (!json_is_array(f))
		return true;
	for (i = 0; i < json_array_size(f); i++)
		if (!strcmp(json_string_value(json_array_get(f, i)) ?: "", name))
			return true;
	return false;
}

/*
 * A statement using a feature the driver's hello does not declare is never
 * sent: the check is skipped, as a scenario using it is "unsupported" (an
 * executor-only driver has no Process, 2.7 no Process.close).
 */
static bool features_declared(struct ck *c, const struct ps_scenario *sc)
{
	const char *used[PS_MAX_FEATURES];
	size_t n = ps_scenario_features(sc, used), i;

	for (i = 0; i < n; i++)
		if (!declares_one(c, used[i])) {
			skip(c, "the driver does not declare the %s feature", used[i]);
			return false;
		}
	return true;
}

static json_t *stmt_json(struct ck *c, const char *src)
{
	struct ps_diag d = PS_DIAG_INIT;
	struct ps_scenario *sc = NULL;
	json_error_t jerr;
	json_t *j = NULL;

	if (!strncmp(src, "{\"", 2)) {
		j = json_loads(src, 0, &jerr);
		if (!j)
			bad(c, "checker bug: bad JSON %s: %s", src, jerr.text);
		return j;
	}
	ps_buf_addf(&c->src, "%s\n", src);
	if (ps_buf_oom(&c->src) ||
	    ps_scenario_parse("driver-check", c->src.data, c->src.len, &sc, &d) || !sc->n_steps) {
		bad(c, "checker bug: cannot parse %s: %s", src, d.msg);
		ps_scenario_free(sc);
		return NULL;
	}
	if (features_declared(c, sc))
		j = ps_stmt_to_json(sc->steps[sc->n_steps - 1]);
	ps_scenario_free(sc);
	return j;
}

/* The offence in a result's envelope and body, NULL if none. */
static char *result_shape(json_t *msg)
{
	json_t *v = json_object_get(msg, "value"), *r = json_object_get(msg, "raised"),
	       *e = json_object_get(msg, "error");
	int n = (v != NULL) + (r != NULL) + (e != NULL);

	if (n != 1)
		return fmt(
			"a result has exactly one of \"value\", \"raised\" and \"error\"; this one has %d",
			n);
	if (v && !json_is_null(v) &&
	    !(json_is_object(v) && json_object_size(v) == 1 &&
	      (json_is_string(json_object_get(v, "repr")) ||
	       json_is_string(json_object_get(v, "text")))))
		return fmt("\"value\" is null, {\"repr\": STRING} or {\"text\": STRING}");
	if (r && !(json_is_string(json_object_get(r, "type")) &&
		   *json_string_value(json_object_get(r, "type")) &&
		   json_is_string(json_object_get(r, "message"))))
		return fmt("\"raised\" is {\"type\": NAME, \"message\": STRING}");
	if (e && !json_is_string(e))
		return fmt("\"error\" is a string");
	return NULL;
}

static char *pids_shape(json_t *msg)
{
	json_t *pids = json_object_get(msg, "pids"), *pid;
	const char *name;

	if (!json_is_object(pids))
		return fmt(
			"every result carries \"pids\", an object (empty when no process is bound)");
	json_object_foreach(pids, name, pid)
		if (!json_is_integer(pid) || json_integer_value(pid) <= 0)
			return fmt(
				"\"pids\" maps variable names to positive integers; \"%s\" is not",
				name);
	return NULL;
}

/*
 * One step: the result (a new reference), or NULL when the step broke the
 * scenario (the check has failed then).  The run-wide rules are tallied.
 */
static json_t *step(struct ck *c, const char *src)
{
	json_t *stmt, *msg = NULL;
	long long id;

	if (!c->in_scn || !c->drv)
		return NULL;
	if (!(stmt = stmt_json(c, src)))
		return NULL;
	id = c->next_id;
	c->next_id += 7; /* not 1, 2, 3: an id must be echoed, not counted */
	if (!send_msg(c, json_pack("{s:s, s:I, s:o}", "op", "step", "id", (json_int_t)id, "stmt",
				   stmt)) ||
	    !recv_msg(c, c->o->timeout, &msg, "result"))
		return NULL;
	if (!strcmp(op_of(msg), "exited")) {
		miss(c, "a result (the scenario process died in place of answering this step)");
		c->in_scn = false;
		json_decref(msg);
		return NULL;
	}
	if (strcmp(op_of(msg), "result")) {
		miss(c, "{\"op\":\"result\",\"id\":%lld,...}", id);
		json_decref(msg);
		return NULL;
	}
	tally(c, T_ID,
	      json_is_integer(json_object_get(msg, "id")) &&
			      json_integer_value(json_object_get(msg, "id")) == id ?
		      NULL :
		      fmt("the result of step id %lld does not carry \"id\":%lld", id, id));
	tally(c, T_RESULT, result_shape(msg));
	tally(c, T_PIDS, pids_shape(msg));
	return msg;
}

/* What a result holds, as text for a message. */
static const char *kind_of(json_t *msg)
{
	json_t *v = json_object_get(msg, "value");

	if (json_object_get(msg, "error"))
		return "error";
	if (json_object_get(msg, "raised"))
		return "raised";
	if (json_is_null(v))
		return "null";
	if (json_object_get(v, "repr"))
		return "repr";
	if (json_object_get(v, "text"))
		return "text";
	return "?";
}

/*
 * Step src and expect a value of kind ("null", "repr", "text"); *s gets
 * the string (malloc'd) for repr and text.  False (the check failed) otherwise.
 */
static bool value(struct ck *c, const char *src, const char *kind, char **s)
{
	json_t *msg = step(c, src);
	const char *v;

	if (s)
		*s = NULL;
	if (!msg)
		return false;
	if (strcmp(kind_of(msg), kind)) {
		miss(c, "%s",
		     !strcmp(kind, "null") ? "\"value\":null" :
		     !strcmp(kind, "repr") ? "\"value\":{\"repr\":...}" :
					     "\"value\":{\"text\":...}");
		json_decref(msg);
		return false;
	}
	v = json_string_value(json_object_get(json_object_get(msg, "value"), kind));
	if (s && v)
		*s = strdup(v);
	json_decref(msg);
	return true;
}

static bool null(struct ck *c, const char *src)
{
	return value(c, src, "null", NULL);
}

/* s as a JSON string literal, malloc'd. */
static char *jq(const char *s)
{
	json_t *j = json_string(s);
	char *q = j ? json_dumps(j, JSON_ENCODE_ANY | JSON_ENSURE_ASCII) : NULL;

	json_decref(j);
	return q ? q : strdup(s);
}

/* Step src and expect the repr want. */
static bool repr(struct ck *c, const char *src, const char *want)
{
	char *s, *w;
	bool ok;

	if (!value(c, src, "repr", &s))
		return false;
	ok = s && !strcmp(s, want);
	if (!ok) {
		w = jq(want);
		miss(c, "\"value\":{\"repr\":%s}", w);
		free(w);
	}
	free(s);
	return ok;
}

static bool text(struct ck *c, const char *src, const char *want)
{
	char *s, *q;
	bool ok;

	if (!value(c, src, "text", &s))
		return false;
	ok = s && !strcmp(s, want);
	if (!ok) {
		q = jq(want);
		miss(c, "\"value\":{\"text\":%s}", q);
		free(q);
	}
	free(s);
	return ok;
}

/* Step src and expect "error" in the result. */
static bool error_result(struct ck *c, const char *src)
{
	json_t *msg = step(c, src);
	bool ok;

	if (!msg)
		return false;
	ok = json_is_string(json_object_get(msg, "error"));
	if (!ok)
		miss(c, "a result with \"error\": MESSAGE (the driver cannot carry this step out)");
	json_decref(msg);
	return ok;
}

/* The driver is still usable: a plain step works. */
static bool still_usable(struct ck *c)
{
	return repr(c, "1", "1");
}

/*
 * End the scenario: ended, then exited.  *fds and *left get fds_leaked and
 * children_left (-1 unknown) when not NULL.
 */
static bool scn_end2(struct ck *c, long *fds, long *left)
{
	json_t *msg = NULL;
	bool ok = false;

	if (fds)
		*fds = -1;
	if (left)
		*left = -1;
	if (!c->in_scn || !c->drv)
		return false;
	c->in_scn = false;
	if (!send_msg(c, json_pack("{s:s}", "op", "end")))
		return false;
	/* What goes wrong from here on is the business of end.ended and
	 * end.exited, not of the check that happened to end a scenario. */
	c->quiet = true;
	if (!recv_msg(c, c->o->timeout, &msg, "ended")) {
		tally(c, T_ENDED, fmt("end got no ended: %s", c->why ? c->why : "?"));
		goto out;
	}
	if (strcmp(op_of(msg), "ended")) {
		tally(c, T_ENDED, fmt("end gets {\"op\":\"ended\",...}"));
		if (strcmp(op_of(msg), "exited"))
			drop_driver(c); /* else it died at end: the driver goes on */
		goto out;
	}
	if (!json_is_integer(json_object_get(msg, "fds_leaked")) ||
	    !json_is_integer(json_object_get(msg, "children_left"))) {
		tally(c, T_ENDED,
		      fmt("ended carries \"fds_leaked\" and \"children_left\", both integers"));
	} else {
		tally(c, T_ENDED, NULL);
		json_decref(c->escaped);
		c->escaped = json_incref(json_object_get(msg, "escaped"));
		if (fds)
			*fds = (long)json_integer_value(json_object_get(msg, "fds_leaked"));
		if (left)
			*left = (long)json_integer_value(json_object_get(msg, "children_left"));
	}
	json_decref(msg);
	msg = NULL;
	free(c->sent);
	c->sent = strdup("(nothing more: exited follows ended unasked)");
	if (!recv_msg(c, c->o->timeout, &msg, "exited after ended")) {
		tally(c, T_EXITED,
		      fmt("ended was not followed by exited: %s", c->why ? c->why : "?"));
		goto out;
	}
	if (strcmp(op_of(msg), "exited") || (!json_is_integer(json_object_get(msg, "code")) &&
					     !json_is_integer(json_object_get(msg, "signal")))) {
		tally(c, T_EXITED,
		      fmt("{\"op\":\"exited\",\"code\":C} (or \"signal\":S) once the "
			  "scenario process is gone"));
		drop_driver(c);
		goto out;
	}
	if (!json_is_integer(json_object_get(msg, "code")) ||
	    json_integer_value(json_object_get(msg, "code"))) {
		tally(c, T_EXITED,
		      fmt("{\"op\":\"exited\",\"code\":0}: the scenario process exits with "
			  "code 0 after a clean end"));
		goto out;
	}
	tally(c, T_EXITED, NULL);
	ok = true;
out:
	c->quiet = false;
	ps_buf_release(&c->quiet_buf);
	json_decref(msg);
	return ok;
}

static bool scn_end(struct ck *c, long *left)
{
	return scn_end2(c, NULL, left);
}

/* A line that arrives within seconds though nothing was asked: malloc'd, NULL if none. */
static char *unasked(struct ck *c, double seconds)
{
	if (!c->drv)
		return NULL;
	if (fill_line(c->drv, seconds) == 1 || c->drv->rlen) {
		char *nl = memchr(c->drv->rbuf, '\n', c->drv->rlen);

		return strndup(c->drv->rbuf, nl ? (size_t)(nl - c->drv->rbuf) : c->drv->rlen);
	}
	return NULL;
}

/* Start p (bound by the caller), join it and check its exit code and captured streams. */
static void run_child(struct ck *c, const char *assign, const char *code, const char *out,
		      const char *err)
{
	if (!null(c, assign) || !null(c, "p.start()") || !null(c, "p.join()"))
		return;
	if (code && !repr(c, "p.exitcode", code))
		return;
	if (out && !text(c, "stdout(p)", out))
		return;
	if (err)
		text(c, "stderr(p)", err);
}

/* ---- the checks: hello ------------------------------------------------- */

/* The first driver is started by ps_conform_run: one that cannot be started is a usage error. */
static void ck_hello(struct ck *c)
{
	json_t *h = NULL;

	free(c->sent);
	c->sent = strdup("(nothing: the driver speaks first)");
	c->no_hello = true;
	if (!recv_msg(c, c->o->hello_timeout, &h, "hello"))
		return;
	if (strcmp(op_of(h), "hello")) {
		miss(c, "{\"op\":\"hello\",...} as the first line");
	} else {
		take_hello(c, h);
		c->no_hello = false;
	}
	json_decref(h);
}

static bool have_hello(struct ck *c)
{
	if (!c->hello)
		skip(c, "no hello to look at");
	return c->hello != NULL;
}

static void ck_hello_protocol(struct ck *c)
{
	json_t *p;

	if (!have_hello(c))
		return;
	p = json_object_get(c->hello, "protocol");
	if (!json_is_integer(p) || json_integer_value(p) != PS_PROTOCOL_VERSION)
		miss(c, "\"protocol\":%d (an integer); the harness refuses any other version",
		     PS_PROTOCOL_VERSION);
}

static void ck_hello_implementation(struct ck *c)
{
	json_t *s;

	if (!have_hello(c))
		return;
	s = json_object_get(c->hello, "implementation");
	if (!json_is_string(s) || !*json_string_value(s))
		miss(c,
		     "\"implementation\": the exact name and version of what is driven, a non-empty string");
}

static void ck_hello_methods(struct ck *c)
{
	json_t *m;
	size_t i;

	if (!have_hello(c))
		return;
	m = json_object_get(c->hello, "methods");
	if (!json_is_array(m) || !json_array_size(m)) {
		miss(c,
		     "\"methods\": a non-empty list of start methods, from \"fork\", \"spawn\", \"forkserver\"");
		return;
	}
	for (i = 0; i < json_array_size(m); i++) {
		const char *s = json_string_value(json_array_get(m, i));

		if (!s || !ps_method_parse(s)) {
			miss(c,
			     "every entry of \"methods\" one of \"fork\", \"spawn\", \"forkserver\"; entry %zu is not",
			     i);
			return;
		}
	}
}

static void ck_hello_features(struct ck *c)
{
	json_t *f;
	size_t i;

	if (!have_hello(c))
		return;
	f = json_object_get(c->hello, "features");
	if (!f)
		return;
	if (!json_is_array(f)) {
		miss(c,
		     "\"features\" absent (= all of them) or a list of strings; the harness refuses anything else");
		return;
	}
	for (i = 0; i < json_array_size(f); i++)
		if (!json_is_string(json_array_get(f, i))) {
			miss(c, "every entry of \"features\" a string; entry %zu is not", i);
			return;
		}
}

static void ck_hello_features_known(struct ck *c)
{
	static const char *const known[] = {
#define FEATURE(name, since, use, what, kw) name,
#include "vocab.def"
	};
	struct ps_buf names = PS_BUF_INIT;
	json_t *f;
	size_t i, k;

	if (!have_hello(c))
		return;
	f = json_object_get(c->hello, "features");
	for (i = 0; i < json_array_size(f); i++) {
		const char *s = json_string_value(json_array_get(f, i));

		for (k = 0; s && k < ARRAY_SIZE(known) && strcmp(s, known[k]); k++)
			;
		if (s && k == ARRAY_SIZE(known)) {
			/* the table's names, each once (a feature's lines are adjacent) */
			for (k = 0; k < ARRAY_SIZE(known); k++)
				if (!k || strcmp(known[k], known[k - 1]))
					ps_buf_addf(&names, "%s%s", k ? ", " : "", known[k]);
			miss(c,
			     "feature names from the table (%s); \"%s\" is unknown to the "
			     "harness, which ignores it",
			     ps_buf_oom(&names) ? "?" : names.data, s);
			break;
		}
	}
	ps_buf_release(&names);
}

static void ck_hello_fields(struct ck *c)
{
	static const char *const names[] = { "driver", "executable", "module" };
	size_t i;

	if (!have_hello(c))
		return;
	for (i = 0; i < 3; i++)
		if (!json_is_string(json_object_get(c->hello, names[i]))) {
			miss(c,
			     "\"%s\": a string (it goes into the header of captured golden files)",
			     names[i]);
			return;
		}
}

static void ck_hello_alone(struct ck *c)
{
	char *extra;

	if (!c->drv) {
		skip(c, "the driver is gone");
		return;
	}
	free(c->sent);
	c->sent = strdup("(nothing yet)");
	extra = unasked(c, 0.3);
	if (extra) {
		free(c->raw);
		c->raw = extra;
		miss(c, "nothing: the driver writes nothing unasked except its hello");
		drop_driver(c);
	}
}

/* ---- the checks: fds --------------------------------------------------- */

/* Whether fd of pid is one of the protocol pipes: "request"/"reply", or NULL. */
static const char *protocol_fd(struct ck *c, long pid, const char *fd)
{
	char path[64], link[128];
	ssize_t n;
	unsigned long ino;

	snprintf(path, sizeof(path), "/proc/%ld/fd/%s", pid, fd);
	n = readlink(path, link, sizeof(link) - 1);
	if (n <= 0)
		return NULL;
	link[n] = '\0';
	if (sscanf(link, "pipe:[%lu]", &ino) != 1)
		return NULL;
	return ino == c->in_ino ? "request" : ino == c->out_ino ? "reply" : NULL;
}

static void fds_0_1(struct ck *c, long pid, const char *who)
{
	const char *which;

	if ((which = protocol_fd(c, pid, "0")))
		bad(c,
		    "fd 0 of %s (pid %ld) is still the %s pipe: a child that reads stdin would eat "
		    "requests; expected /dev/null",
		    who, pid, which);
	if ((which = protocol_fd(c, pid, "1")))
		bad(c,
		    "fd 1 of %s (pid %ld) is still the %s pipe: a child that writes to stdout would "
		    "corrupt the protocol stream; expected /dev/null",
		    who, pid, which);
}

static void ck_fds_driver(struct ck *c)
{
	if (!need_driver(c))
		return;
	fds_0_1(c, c->drv->pid, "the driver");
}

static void ck_fds_scenario(struct ck *c)
{
	if (!scn_begin(c, c->method))
		return;
	fds_0_1(c, c->main_pid, "the scenario process");
}

/* The protocol fds pid holds, as "the request pipe as its fd 3, ...", NULL when none or gone. */
static char *held_fds(struct ck *c, long pid)
{
	struct ps_buf b = PS_BUF_INIT;
	char path[64];
	struct dirent *e;
	const char *which;
	DIR *dir;

	snprintf(path, sizeof(path), "/proc/%ld/fd", pid);
	if (!(dir = opendir(path)))
		return NULL;
	while ((e = readdir(dir)))
		if (e->d_name[0] != '.' && (which = protocol_fd(c, pid, e->d_name)))
			ps_buf_addf(&b, "%sthe %s pipe as its fd %s", b.len ? ", " : "", which,
				    e->d_name);
	closedir(dir);
	return ps_buf_detach(&b);
}

static void ck_fds_child(struct ck *c)
{
	char *pid = NULL, *held = NULL;
	double until;

	if (!scn_begin(c, c->method) || !null(c, "p = Process(target=child.blocks)") ||
	    !null(c, "p.start()") || !value(c, "p.pid", "repr", &pid))
		goto out;
	/* A child may hold them for a moment after fork (CPython closes them in
	 * an after-fork hook, in the child's _bootstrap): only a child that
	 * still holds them once it has had time to reach its gate fails. */
	until = ps_now() + ps_scaled(1.0);
	while ((free(held), held = held_fds(c, atol(pid))) && *held && ps_now() < until)
		usleep(5000);
	if (held && *held)
		bad(c,
		    "the child (pid %s) still holds %s: a child must close the protocol fds right "
		    "after fork",
		    pid, held);
	null(c, "release(p)");
	null(c, "p.join()");
out:
	free(held);
	free(pid);
}

static void ck_fds_stdout_stream(struct ck *c)
{
	char *extra;
	json_t *msg;

	if (!scn_begin(c, c->method))
		return;
	/* child.writes called in the scenario process itself: its fd 1 must
	 * lead to the driver's own files, never to the reply pipe.  Whatever
	 * the result (a driver may refuse to run a behaviour there), it must
	 * be the next line. */
	msg = step(c, "{\"expr\":{\"call\":{\"func\":{\"behaviour\":\"writes\"},\"args\":"
		      "[{\"str\":\"PROCSPEC-STRAY-LINE\\n\"}],\"kwargs\":[]}}}");
	json_decref(msg);
	if (!c->in_scn)
		return;
	run_child(c, "p = Process(target=child.writes, args=('PROCSPEC-CHILD-LINE\\n',))", "0",
		  "PROCSPEC-CHILD-LINE\n", NULL);
	if (c->drv && (extra = unasked(c, 0.2))) {
		free(c->raw);
		c->raw = extra;
		miss(c,
		     "nothing more: output of the scenario process or of a child reached the protocol stream");
		drop_driver(c);
	}
}

/* ---- the checks: begin ------------------------------------------------- */

static void ck_begin_method(struct ck *c)
{
	unsigned m = ps_method_parse(c->cur_method);

	if (!c->hello || !(c->methods & m)) {
		skip(c, "the driver does not declare %s", c->cur_method);
		return;
	}
	if (!scn_begin(c, c->cur_method))
		return;
	run_child(c, "p = Process(target=child.returns)", "0", NULL, NULL);
	scn_end(c, NULL);
}

static void ck_begin_undeclared(struct ck *c)
{
	const char *m = "no-such-method";
	json_t *msg = NULL;
	unsigned bit;

	/* a real method the driver lacks; a name no driver has when it declared
	 * none (hello.methods says so already) */
	for (bit = PS_M_FORK; c->methods && bit <= PS_M_FORKSERVER; bit <<= 1)
		if (!(c->methods & bit)) {
			m = ps_method_name(bit);
			break;
		}
	if (!need_driver(c) ||
	    !send_msg(c, json_pack("{s:s, s:s, s:s}", "op", "begin", "scenario",
				   "driver-check/begin.undeclared-method", "method", m)) ||
	    !recv_msg(c, c->o->timeout, &msg, "reply to begin"))
		return;
	if (strcmp(op_of(msg), "error") || !json_is_string(json_object_get(msg, "message"))) {
		miss(c, "{\"op\":\"error\",\"message\":...}: the driver did not declare \"%s\"", m);
		if (!strcmp(op_of(msg), "begun")) {
			c->in_scn = true;
			scn_end(c, NULL);
		} else if (strcmp(op_of(msg), "exited")) {
			drop_driver(c);
		}
		json_decref(msg);
		return;
	}
	json_decref(msg);
	/* and the driver takes the next begin */
	if (scn_begin(c, c->method) && still_usable(c))
		scn_end(c, NULL);
}

/* ---- the checks: statements and expressions ---------------------------- */

static void ck_stmt_assign(struct ck *c)
{
	if (scn_begin(c, c->method) && null(c, "x = 5"))
		null(c, "y = Process(target=child.returns)");
}

static void ck_stmt_setattr(struct ck *c)
{
	if (scn_begin(c, c->method) && null(c, "p = Process(target=child.returns)") &&
	    null(c, "p.name = 'renamed'"))
		repr(c, "p.name", "'renamed'");
}

static void ck_stmt_expr(struct ck *c)
{
	if (scn_begin(c, c->method) && repr(c, "256", "256"))
		null(c, "None");
}

/* Step each src of pairs {src, repr} in turn, up to the first that fails. */
static void reprs(struct ck *c, const char *const (*pairs)[2], size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (pairs[i][1] ? !repr(c, pairs[i][0], pairs[i][1]) : !null(c, pairs[i][0]))
			return;
}

static void ck_expr_literals(struct ck *c)
{
	const char *const pairs[][2] = {
		{ "None", NULL },
		{ "True", "True" },
		{ "False", "False" },
		{ "-7", "-7" },
		{ "123456789012345678901234567890",
		  c->py2 ? "123456789012345678901234567890L" : "123456789012345678901234567890" },
		{ "3.5", "3.5" },
		{ "1e999", "inf" },
		{ "'msg'", "'msg'" },
		{ "\"it's\"", "\"it's\"" },
		{ "''", "''" },
		{ "b'key'", c->py2 ? "'key'" : "b'key'" },
	};

	if (scn_begin(c, c->method))
		reprs(c, pairs, ARRAY_SIZE(pairs));
}

static void ck_expr_containers(struct ck *c)
{
	static const char *const pairs[][2] = {
		{ "()", "()" },
		{ "(1,)", "(1,)" },
		{ "(1, 'a')", "(1, 'a')" },
		{ "[]", "[]" },
		{ "[1, 'a']", "[1, 'a']" },
		{ "{}", "{}" },
		{ "{'a': 1}", "{'a': 1}" },
		{ "([1], {'k': (2,)})", "([1], {'k': (2,)})" },
	};

	if (scn_begin(c, c->method))
		reprs(c, pairs, ARRAY_SIZE(pairs));
}

static void ck_expr_var(struct ck *c)
{
	if (scn_begin(c, c->method) && null(c, "x = 'v'") && repr(c, "x", "'v'") &&
	    null(c, "x = (x, 2)"))
		repr(c, "x", "('v', 2)");
}

static void ck_expr_global(struct ck *c)
{
	char *s = NULL;

	if (!scn_begin(c, c->method) || !value(c, "current_process()", "repr", &s))
		goto out;
	if (!s || !strstr(s, "MainProcess")) {
		miss(c,
		     "the repr of the scenario process's current_process(), naming 'MainProcess'");
		goto out;
	}
	if (!value(c, "Process", "repr", NULL) || !repr(c, "active_children()", "[]"))
		goto out;
	if (c->parent_feature)
		null(c, "parent_process()");
out:
	free(s);
}

static void ck_expr_behaviour(struct ck *c)
{
	if (scn_begin(c, c->method))
		value(c, "child.returns", "repr", NULL);
}

static void ck_expr_getattr(struct ck *c)
{
	if (scn_begin(c, c->method) && null(c, "p = Process(target=child.returns)") &&
	    null(c, "p.exitcode") && repr(c, "p.daemon", "False"))
		repr(c, "p.name", "'Process-1'");
}

static void ck_expr_call(struct ck *c)
{
	if (scn_begin(c, c->method) &&
	    null(c, "p = Process(target=child.returns, name='custom', args=())") &&
	    repr(c, "p.name", "'custom'") &&
	    null(c, "q = Process(None, child.returns, 'positional')"))
		repr(c, "q.name", "'positional'");
}

/* ---- the checks: child behaviours -------------------------------------- */

static void ck_child_returns(struct ck *c)
{
	if (scn_begin(c, c->method))
		run_child(c, "p = Process(target=child.returns)", "0", "", "");
}

static void ck_child_blocks(struct ck *c)
{
	if (scn_begin(c, c->method) && null(c, "p = Process(target=child.blocks)") &&
	    null(c, "p.start()") && null(c, "p.join(timeout=0.2)") &&
	    repr(c, "p.is_alive()", "True") && null(c, "p.exitcode") && null(c, "release(p)") &&
	    null(c, "p.join()"))
		repr(c, "p.exitcode", "0");
}

static void ck_child_exits_int(struct ck *c)
{
	if (scn_begin(c, c->method))
		run_child(c, "p = Process(target=child.exits, args=(3,))", "3", NULL, "");
}

/* sys.exit() and sys.exit(None): 1 before CPython 3.9, 0 from 3.9 on (bpo-35244); the same for both. */
static void ck_child_exits_none(struct ck *c)
{
	char *a = NULL, *b = NULL;

	if (!scn_begin(c, c->method))
		return;
	run_child(c, "p = Process(target=child.exits)", NULL, NULL, "");
	if (!value(c, "p.exitcode", "repr", &a))
		goto out;
	if (strcmp(a, "0") && strcmp(a, "1")) {
		miss(c, "{\"repr\":\"0\"} (CPython 3.9 on) or {\"repr\":\"1\"} (before 3.9)");
		goto out;
	}
	run_child(c, "p = Process(target=child.exits, args=(None,))", NULL, NULL, "");
	if (value(c, "p.exitcode", "repr", &b) && strcmp(a, b))
		miss(c, "{\"repr\":\"%s\"}, the same exit code as child.exits() gave", a);
out:
	free(a);
	free(b);
}

static void ck_child_exits_str(struct ck *c)
{
	if (scn_begin(c, c->method))
		run_child(c, "p = Process(target=child.exits, args=('msg',))", "1", NULL, "msg\n");
}

static void ck_child_exits_float(struct ck *c)
{
	if (scn_begin(c, c->method))
		run_child(c, "p = Process(target=child.exits, args=(3.5,))", "1", NULL, "3.5\n");
}

static void ck_child_exits_bool(struct ck *c)
{
	if (!scn_begin(c, c->method))
		return;
	run_child(c, "p = Process(target=child.exits, args=(True,))", "1", NULL, "");
	run_child(c, "p = Process(target=child.exits, args=(False,))", "0", NULL, "");
}

static void ck_child_exits_tuple(struct ck *c)
{
	/* its stderr changed in 3.9 (nothing before, "(1, 2)" since): not compared */
	if (scn_begin(c, c->method))
		run_child(c, "p = Process(target=child.exits, args=((1, 2),))", "1", NULL, NULL);
}

static void ck_child_os_exit(struct ck *c)
{
	if (scn_begin(c, c->method))
		run_child(c, "p = Process(target=child.os_exit, args=(7,))", "7", "", "");
}

static void ck_child_raises(struct ck *c)
{
	char *err = NULL;
	size_t n;

	if (!scn_begin(c, c->method))
		return;
	run_child(c, "p = Process(target=child.raises, args=('ValueError', 'boom'))", "1", NULL,
		  NULL);
	if (!value(c, "stderr(p)", "text", &err))
		return;
	n = strlen(err);
	if (!strstr(err, "Process Process-1:\n") ||
	    !strstr(err, "Traceback (most recent call last):\n") || n < 17 ||
	    strcmp(err + n - 17, "ValueError: boom\n"))
		miss(c,
		     "the text BaseProcess._bootstrap prints: \"Process Process-1:\", "
		     "\"Traceback (most recent call last):\", ..., ending \"ValueError: boom\\n\"");
	free(err);
}

static void ck_child_starts_child(struct ck *c)
{
	char *out = NULL;

	if (!scn_begin(c, c->method))
		return;
	run_child(c, "p = Process(target=child.starts_child, args=(child.returns,))", "0", NULL,
		  "");
	if (!value(c, "stdout(p)", "text", &out))
		return;
	if (strncmp(out, "<Process", 8) || !strstr(out, "Process-1:1") ||
	    strchr(out, '\n') != out + strlen(out) - 1)
		miss(c,
		     "one line, repr(q) of the grandchild: \"<Process name='Process-1:1' ...>\\n\"");
	free(out);
}

static void ck_child_reports(struct ck *c)
{
	static const char *const labels[] = {
		"current_process(): ", "parent_process(): ", "parent_process().pid: ",
		"current_process().daemon: ", "current_process().authkey: "
	};
	char *out = NULL, *line, *nl, want[64];
	size_t i;

	if (!scn_begin(c, c->method))
		return;
	run_child(c, "p = Process(target=child.reports)", "0", NULL, "");
	if (!value(c, "stdout(p)", "text", &out))
		return;
	for (i = 0, line = out; i < 5; i++, line = nl + 1) {
		nl = strchr(line, '\n');
		if (!nl || strncmp(line, labels[i], strlen(labels[i]))) {
			miss(c, "five lines; line %zu starts \"%s\"", i + 1, labels[i]);
			goto out;
		}
		*nl = '\0';
		line += strlen(labels[i]);
		if (i == 0 && !strstr(line, "Process-1"))
			miss(c, "line 1: the child's current_process(), naming 'Process-1'");
		snprintf(want, sizeof(want), "%ld", c->main_pid);
		if (i == 2 && c->parent_feature && strcmp(line, want))
			miss(c, "line 3: parent_process().pid: %s, the main_pid of begun", want);
		if (i == 3 && strcmp(line, "False"))
			miss(c, "line 4: current_process().daemon: False");
		if (i == 4 && c->authkey && strcmp(line, c->authkey))
			miss(c, "line 5: the authkey begun gave (a child inherits it): %s",
			     c->authkey);
	}
	if (*line)
		miss(c, "exactly five lines");
out:
	free(out);
}

static void ck_child_writes(struct ck *c)
{
	if (scn_begin(c, c->method))
		run_child(c, "p = Process(target=child.writes, args=('out line\\n', 'err text'))",
			  "0", "out line\n", "err text");
}

/* ---- the checks: signals and targets other than child.* ------------- */

/* The type of the exception a step raised, or false */
static bool raises(struct ck *c, const char *src, const char *type)
{
	json_t *msg = step(c, src);
	const char *t;
	bool ok;

	if (!msg)
		return false;
	t = json_string_value(json_object_get(json_object_get(msg, "raised"), "type"));
	ok = t && !strcmp(t, type);
	if (!ok)
		miss(c, "\"raised\":{\"type\":\"%s\",...}", type);
	json_decref(msg);
	return ok;
}

static void ck_child_ignores(struct ck *c)
{
	if (scn_begin(c, c->method) &&
	    null(c, "p = Process(target=child.ignores, args=(signal.SIGTERM,))") &&
	    null(c, "p.start()") && null(c, "ready(p)") && null(c, "p.terminate()") &&
	    null(c, "p.join(0.2)") && repr(c, "p.is_alive()", "True") && null(c, "p.kill()") &&
	    null(c, "p.join()") && repr(c, "p.exitcode", "-9"))
		text(c, "stdout(p)", "ready\n");
}

static void ck_child_handles(struct ck *c)
{
	if (scn_begin(c, c->method) &&
	    null(c, "p = Process(target=child.handles, args=(signal.SIGTERM, 3))") &&
	    null(c, "p.start()") && null(c, "ready(p)") && null(c, "p.terminate()") &&
	    null(c, "p.join()") && repr(c, "p.exitcode", "3"))
		text(c, "stdout(p)", "ready\ncaught 15\n");
}

static void ck_child_calls(struct ck *c)
{
	char *out = NULL;

	if (!scn_begin(c, c->method) || !null(c, "p = Process(target=child.blocks)") ||
	    !null(c, "q = Process(target=child.calls, args=(p, 'is_alive', 'terminate'))") ||
	    !null(c, "q.start()") || !null(c, "q.join()") || !repr(c, "q.exitcode", "0") ||
	    !value(c, "stdout(q)", "text", &out))
		return;
	/* is_alive() asserts (False under python -O); terminate() finds no Popen */
	if (!out || strncmp(out, "is_alive(): ", 12) ||
	    !strstr(out, "\nterminate(): <raised AttributeError: 'NoneType' object has no "
			 "attribute 'terminate'>\n"))
		miss(c, "two lines, \"is_alive(): ...\" and \"terminate(): <raised AttributeError: "
			"'NoneType' object has no attribute 'terminate'>\"");
	free(out);
}

static void ck_verb_send_signal(struct ck *c)
{
	if (scn_begin(c, c->method) && null(c, "p = Process(target=child.blocks)") &&
	    null(c, "p.start()") && null(c, "send_signal(p, signal.SIGUSR1)") &&
	    null(c, "p.join()") && repr(c, "p.exitcode", "-10") &&
	    raises(c, "send_signal(current_process(), signal.SIGINT)", "KeyboardInterrupt"))
		repr(c, "p.is_alive()", "False");
}

static void ck_verb_subclass(struct ck *c)
{
	if (scn_begin(c, c->method) &&
	    null(c, "Worker = subclass('Worker', run=child.exits, args=(5,))") &&
	    null(c, "p = Worker(target=child.exits, args=(3,))") &&
	    repr(c, "type(p).__name__", "'Worker'") && repr(c, "isinstance(p, Process)", "True") &&
	    null(c, "p.start()") && null(c, "p.join()") && repr(c, "p.exitcode", "5") &&
	    null(c, "Plain = subclass('Plain')") &&
	    null(c, "q = Plain(target=child.exits, args=(4,))") && null(c, "q.start()") &&
	    null(c, "q.join()"))
		repr(c, "q.exitcode", "4");
}

static void ck_call_class_method(struct ck *c)
{
	if (scn_begin(c, c->method) && null(c, "p = Process(target=child.blocks)") &&
	    null(c, "Process.start(p)") && repr(c, "Process.is_alive(p)", "True") &&
	    null(c, "Process.terminate(p)") && null(c, "Process.join(p)"))
		repr(c, "p.exitcode", "-15");
}

static void ck_call_run(struct ck *c)
{
	if (scn_begin(c, c->method) && null(c, "p = Process(target=child.exits, args=(3,))") &&
	    raises(c, "p.run()", "SystemExit"))
		null(c, "p.exitcode");
}

/* ---- the checks: pids, raised, errors ---------------------------------- */

static void ck_pids(struct ck *c)
{
	json_t *msg;
	char *pid = NULL, want[32];
	json_int_t got;

	if (!scn_begin(c, c->method) || !null(c, "p = Process(target=child.blocks)") ||
	    !(msg = step(c, "p.start()")))
		goto out;
	got = json_integer_value(json_object_get(json_object_get(msg, "pids"), "p"));
	if (got <= 0)
		miss(c, "\"pids\":{\"p\":PID}: p is bound to a started process");
	json_decref(msg);
	if (got <= 0 || !value(c, "p.pid", "repr", &pid))
		goto out;
	snprintf(want, sizeof(want), "%lld", (long long)got);
	if (strcmp(pid, want)) {
		miss(c, "p.pid == %s, the pid \"pids\" gave for p", want);
		goto out;
	}
	if (!null(c, "release(p)") || !(msg = step(c, "p.join()")))
		goto out;
	if (json_integer_value(json_object_get(json_object_get(msg, "pids"), "p")) != got)
		miss(c, "\"pids\":{\"p\":%s}: still reported once the process has ended", want);
	json_decref(msg);
out:
	free(pid);
}

static void ck_raised(struct ck *c)
{
	json_t *msg;
	const char *type, *m;

	if (!scn_begin(c, c->method) ||
	    !(msg = step(c, "p = Process(target=child.returns, frobnicate=1)")))
		return;
	type = json_string_value(json_object_get(json_object_get(msg, "raised"), "type"));
	m = json_string_value(json_object_get(json_object_get(msg, "raised"), "message"));
	if (!type || strcmp(type, "TypeError") || !m || !strstr(m, "frobnicate"))
		miss(c,
		     "\"raised\":{\"type\":\"TypeError\",\"message\":\"...unexpected keyword argument "
		     "'frobnicate'\"}");
	json_decref(msg);
}

static void ck_raised_start_twice(struct ck *c)
{
	json_t *msg;

	if (!scn_begin(c, c->method) || !null(c, "p = Process(target=child.blocks)") ||
	    !null(c, "p.start()") || !(msg = step(c, "p.start()")))
		return;
	if (!json_object_get(msg, "raised"))
		miss(c,
		     "\"raised\":{\"type\":...,\"message\":...} (CPython: AssertionError: cannot start "
		     "a process twice)");
	json_decref(msg);
	if (repr(c, "p.is_alive()", "True") && null(c, "release(p)"))
		null(c, "p.join()");
}

static void ck_error_unknown_global(struct ck *c)
{
	if (scn_begin(c, c->method) &&
	    error_result(
		    c,
		    "{\"expr\":{\"call\":{\"func\":{\"global\":\"frobnicate\"},\"args\":[],\"kwargs\":[]}}}"))
		still_usable(c);
}

static void ck_error_unknown_behaviour(struct ck *c)
{
	if (scn_begin(c, c->method) &&
	    error_result(
		    c,
		    "{\"assign\":{\"target\":\"p\",\"value\":{\"call\":{\"func\":{\"global\":"
		    "\"Process\"},\"args\":[],\"kwargs\":[[\"target\",{\"behaviour\":\"frobnicate\"}]]}}}}"))
		still_usable(c);
}

static void ck_error_unknown_expr(struct ck *c)
{
	if (scn_begin(c, c->method) && error_result(c, "{\"expr\":{\"frobnicate\":1}}"))
		still_usable(c);
}

static void ck_error_malformed(struct ck *c)
{
	json_t *msg = NULL;

	if (!scn_begin(c, c->method) || !error_result(c, "{\"frobnicate\":{}}") ||
	    !error_result(c, "{\"assign\":{\"target\":5}}") ||
	    !error_result(c, "{\"expr\":{\"int\":\"not a number\"}}"))
		return;
	/* a step without "stmt" at all */
	if (!send_line(c, "{\"op\":\"step\",\"id\":999}") ||
	    !recv_msg(c, c->o->timeout, &msg, "result"))
		return;
	if (strcmp(op_of(msg), "result") || !json_is_string(json_object_get(msg, "error")))
		miss(c, "{\"op\":\"result\",\"id\":999,\"error\":...,\"pids\":{}}");
	if (!strcmp(op_of(msg), "exited"))
		c->in_scn = false;
	json_decref(msg);
	still_usable(c);
}

/* Send line and expect {"op":"error","message":...}. */
static bool op_error(struct ck *c, const char *line)
{
	json_t *msg = NULL;
	bool ok;

	if (!send_line(c, line) || !recv_msg(c, c->o->timeout, &msg, "error reply"))
		return false;
	ok = !strcmp(op_of(msg), "error") && json_is_string(json_object_get(msg, "message"));
	if (!ok)
		miss(c, "{\"op\":\"error\",\"message\":...}");
	if (!strcmp(op_of(msg), "exited"))
		c->in_scn = false;
	json_decref(msg);
	return ok;
}

static void ck_error_unknown_op(struct ck *c)
{
	if (!scn_begin(c, c->method) || !op_error(c, "{\"op\":\"frobnicate\",\"id\":7}") ||
	    !still_usable(c) || !scn_end(c, NULL))
		return;
	/* between scenarios, the driver itself answers */
	if (op_error(c, "{\"op\":\"frobnicate\"}") && scn_begin(c, c->method))
		still_usable(c);
}

static void ck_error_not_json(struct ck *c)
{
	if (scn_begin(c, c->method) && op_error(c, "this is not JSON"))
		still_usable(c);
}

static void ck_error_out_of_place(struct ck *c)
{
	json_t *msg = NULL;

	if (!need_driver(c) ||
	    !send_line(c, "{\"op\":\"step\",\"id\":5,\"stmt\":{\"expr\":{\"int\":\"1\"}}}") ||
	    !recv_msg(c, c->o->timeout, &msg, "error reply"))
		return;
	if (!(!strcmp(op_of(msg), "result") && json_is_string(json_object_get(msg, "error"))) &&
	    !(!strcmp(op_of(msg), "error")))
		miss(c,
		     "an error reply: {\"op\":\"result\",\"id\":5,\"error\":...} or {\"op\":\"error\",...}");
	json_decref(msg);
	if (scn_begin(c, c->method))
		still_usable(c);
}

/* ---- the checks: end and the session ----------------------------------- */

static void ck_end_releases(struct ck *c)
{
	long left;

	if (!scn_begin(c, c->method) || !null(c, "p = Process(target=child.blocks)") ||
	    !null(c, "p.start()"))
		return;
	if (scn_end(c, &left) && left > 0)
		bad(c,
		    "ended says children_left=%ld: end releases every gate, so the blocked child "
		    "returns and the exit path joins it",
		    left);
}

static void ck_end_clean(struct ck *c)
{
	long fds, left;

	if (!scn_begin(c, c->method) || !null(c, "p = Process(target=child.returns)") ||
	    !null(c, "p.start()") || !null(c, "p.join()") || !scn_end2(c, &fds, &left))
		return;
	if (fds > 0 || left > 0) /* -1: a malformed ended, end.ended's business */
		bad(c,
		    "ended says fds_leaked=%ld, children_left=%ld; a scenario whose child was joined "
		    "leaves nothing (expected 0 and 0)",
		    fds, left);
}

static void ck_second_scenario(struct ck *c)
{
	if (!scn_begin(c, c->method) || !null(c, "p = Process(target=child.returns)") ||
	    !repr(c, "p.name", "'Process-1'") || !scn_end(c, NULL))
		return;
	/* a fresh scenario process: the name counter starts again */
	if (scn_begin(c, c->method) && null(c, "p = Process(target=child.returns)"))
		repr(c, "p.name", "'Process-1'");
}

static void ck_fresh_process(struct ck *c)
{
	long first;

	if (!scn_begin(c, c->method))
		return;
	first = c->main_pid;
	if (!scn_end(c, NULL) || !scn_begin(c, c->method))
		return;
	if (c->main_pid == first || c->main_pid == c->drv->pid)
		bad(c,
		    "main_pid %ld: each scenario runs in a fresh scenario process, neither the driver "
		    "(pid %ld) nor the previous scenario's (pid %ld)",
		    c->main_pid, (long)c->drv->pid, first);
}

/*
 * A driver that declares "pipelined" is sent two whole scenarios in one
 * write, the second begin among them, and must answer every request in
 * order.  A scenario process that reads ahead through a buffer of its own
 * takes the second begin with it when it exits, and the zygote never sees
 * it.
 */
static void ck_pipelined(struct ck *c)
{
	static const char *const srcs[] = { "p = Process(target=child.returns)", "p.start()",
					    "p.join()", "p.exitcode" };
	static const char *const want[] = { NULL, NULL, NULL, "0" };
	const size_t n = ARRAY_SIZE(srcs);
	json_t *pl, *stmt, *msg = NULL, *req;
	struct ps_buf all = PS_BUF_INIT;
	const char *v;
	char *line, id[128];
	size_t k, i;

	if (!need_driver(c))
		return;
	pl = json_object_get(c->hello, "pipelined");
	if (pl && !json_is_boolean(pl)) {
		free(c->raw);
		c->raw = json_dumps(c->hello, JSON_COMPACT | JSON_ENSURE_ASCII);
		miss(c, "\"pipelined\": true or false");
		return;
	}
	if (!json_is_true(pl)) {
		skip(c, "the driver does not declare \"pipelined\"");
		return;
	}
	for (k = 0; k < 2; k++) {
		snprintf(id, sizeof(id), "driver-check/%s-%zu", c->name, k + 1);
		req = json_pack("{s:s, s:s, s:s}", "op", "begin", "scenario", id, "method",
				c->method);
		ps_buf_release(&c->src);
		for (i = 0; i <= n + 1 && req; i++) {
			line = json_dumps(req, JSON_COMPACT | JSON_ENSURE_ASCII);
			json_decref(req);
			ps_buf_addf(&all, "%s%s", all.len ? "\n" : "", line ? line : "");
			free(line);
			req = i == n ? json_pack("{s:s}", "op", "end") :
			      i > n  ? NULL :
			      (stmt = stmt_json(c, srcs[i])) ?
				      json_pack("{s:s, s:I, s:o}", "op", "step", "id",
						(json_int_t)(301 + 10 * k + i), "stmt", stmt) :
				      NULL;
			if (!req && i < n) {
				ps_buf_release(&all);
				return; /* stmt_json said why */
			}
		}
	}
	ps_buf_release(&c->src);
	if (ps_buf_oom(&all) || !send_line(c, all.data)) {
		ps_buf_release(&all);
		return;
	}
	ps_buf_release(&all);
	for (k = 0; k < 2; k++) {
		if (!recv_msg(c, c->o->timeout, &msg, k ? "the second scenario's begun" : "begun"))
			return;
		if (strcmp(op_of(msg), "begun")) {
			miss(c,
			     "{\"op\":\"begun\",...} for the %s scenario: every request of a whole "
			     "scenario sent at once gets its reply, in order",
			     k ? "second" : "first");
			goto broken;
		}
		for (i = 0; i < n; i++) {
			json_decref(msg);
			if (!recv_msg(c, c->o->timeout, &msg, "result"))
				return;
			v = json_string_value(
				json_object_get(json_object_get(msg, "value"), "repr"));
			if (strcmp(op_of(msg), "result") ||
			    json_integer_value(json_object_get(msg, "id")) !=
				    (json_int_t)(301 + 10 * k + i) ||
			    (want[i] ? !v || strcmp(v, want[i]) :
				       !json_is_null(json_object_get(msg, "value")))) {
				miss(c, "the result of step id %zu (%s): %s", 301 + 10 * k + i,
				     srcs[i],
				     want[i] ? "\"value\":{\"repr\":\"0\"}" : "\"value\":null");
				goto broken;
			}
		}
		json_decref(msg);
		if (!recv_msg(c, c->o->timeout, &msg, "ended") || strcmp(op_of(msg), "ended")) {
			if (msg)
				miss(c, "{\"op\":\"ended\",...} for the %s scenario",
				     k ? "second" : "first");
			goto broken;
		}
		json_decref(msg);
		if (!recv_msg(c, c->o->timeout, &msg, "exited") || strcmp(op_of(msg), "exited")) {
			if (msg)
				miss(c, "{\"op\":\"exited\",...} after ended");
			goto broken;
		}
		json_decref(msg);
		msg = NULL;
	}
	return;
broken:
	json_decref(msg);
	drop_driver(c); /* replies may still be on their way */
}

/* Close the driver's stdin; wait up to seconds for it to exit.  1 exited (st set), 0 not. */
static int eof_wait(struct ck *c, double seconds, int *st)
{
	double deadline = ps_now() + seconds;
	pid_t r;

	close(c->drv->to_fd);
	c->drv->to_fd = -1;
	free(c->sent);
	c->sent = strdup("(EOF: the harness closed the driver's stdin)");
	logline(c, ">", c->sent);
	while (ps_now() < deadline) {
		free(ps_driver_stderr_tail(c->drv, 0));
		r = waitpid(c->drv->pid, st, WNOHANG);
		if (r == c->drv->pid) {
			ps_exit_from_status(*st, &c->drv->exit);
			return 1;
		}
		usleep(2000);
	}
	return 0;
}

/* Whether pid runs (a zombie does not). */
static bool alive(long pid)
{
	char path[64], buf[512], *p;
	FILE *f;
	bool r = false;

	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	if (!(f = fopen(path, "re")))
		return false;
	if (fgets(buf, sizeof(buf), f) && (p = strrchr(buf, ')')) && p[1] == ' ')
		r = p[2] != 'Z' && p[2] != 'X';
	fclose(f);
	return r;
}

static void ck_eof_in_scenario(struct ck *c)
{
	char *pid = NULL;
	double limit = c->o->timeout, until;
	int st;

	if (!scn_begin(c, c->method) || !null(c, "p = Process(target=child.blocks)") ||
	    !null(c, "p.start()") || !value(c, "p.pid", "repr", &pid))
		goto out;
	if (!eof_wait(c, limit, &st)) {
		bad(c,
		    "the driver was still running %.1f s (the time limit) after EOF in the middle of a scenario "
		    "(expected: the scenario process cleans up as end does, and the driver exits)",
		    limit);
	} else {
		until = ps_now() + ps_scaled(1.0);
		while (alive(atol(pid)) && ps_now() < until)
			usleep(5000);
		if (alive(atol(pid)))
			bad(c,
			    "the blocked child (pid %s) outlived the driver: when the scenario process "
			    "goes, its gates close and every blocked child returns",
			    pid);
	}
out:
	free(pid);
	drop_driver(c);
}

static void ck_eof(struct ck *c)
{
	double limit = c->o->timeout;
	char how[64];
	int st;

	c->eof_status = -1;
	if (!need_driver(c))
		return;
	if (!eof_wait(c, limit, &st)) {
		bad(c,
		    "the driver was still running %.1f s (the time limit) after EOF on its stdin between scenarios "
		    "(expected: it exits with code 0)",
		    limit);
		drop_driver(c);
		return;
	}
	c->eof_status = st;
	if (!WIFEXITED(st) || WEXITSTATUS(st))
		bad(c, "after EOF the driver ended with %s; expected exit code 0",
		    ps_exit_describe(&c->drv->exit, how, sizeof(how)));
}

static void ck_nothing_left(struct ck *c)
{
	int n;

	if (!c->drv || c->eof_status < 0) {
		skip(c, "the driver did not exit on EOF");
		drop_driver(c);
		return;
	}
	/* what the driver started and left running has been reparented to
	 * this subreaper by now: the sweep counts it (zombies aside) */
	usleep(50000);
	n = ps_proc_sweep();
	if (n)
		bad(c, "%d process(es) the driver started were still running after it exited", n);
	ps_driver_stop(c->drv, 0);
	c->drv = NULL;
}

/* ---- the checks: executors ---------------------------------------------- */

/* An executor scenario under the check's method, or a skip for a driver without one. */
static bool exec_begin(struct ck *c)
{
	if (have_hello(c) && !c->executor_feature) {
		skip(c, "the driver does not declare the ProcessPoolExecutor feature");
		return false;
	}
	return scn_begin(c, c->method) && null(c, "ex = ProcessPoolExecutor(max_workers=1)");
}

static void ck_exec_returns(struct ck *c)
{
	if (exec_begin(c) && repr(c, "ex.submit(task.returns, 42).result()", "42") &&
	    repr(c, "ex.submit(task.returns, v='kw').result()", "'kw'"))
		null(c, "ex.shutdown()");
}

/* started(g) gives the handle of the worker that announced itself: a live
 * process other than the scenario's, listed in "pids" under its variable. */
static void ck_exec_gate(struct ck *c)
{
	json_t *msg, *pid;
	char want[64];
	long w;

	if (!exec_begin(c) || !null(c, "g = gate()") ||
	    !null(c, "f = ex.submit(task.blocks, g, 'done')") || !(msg = step(c, "w = started(g)")))
		return;
	pid = json_object_get(json_object_get(msg, "pids"), "w");
	if (strcmp(kind_of(msg), "null") || !json_is_integer(pid) || json_integer_value(pid) <= 0 ||
	    json_integer_value(pid) == c->main_pid) {
		miss(c,
		     "\"value\":null and \"pids\":{\"w\":PID,...}, PID the worker's (not main_pid %ld)",
		     c->main_pid);
		json_decref(msg);
		return;
	}
	w = (long)json_integer_value(pid);
	json_decref(msg);
	if (kill((pid_t)w, 0) && errno == ESRCH) {
		bad(c, "started(g) named pid %ld, which is not a running process", w);
		return;
	}
	snprintf(want, sizeof(want), "<worker pid=%ld>", w);
	if (repr(c, "w", want) && repr(c, "f.running()", "True") && repr(c, "f.done()", "False") &&
	    null(c, "release(g)") && repr(c, "f.result()", "'done'") &&
	    repr(c, "ex.submit(task.pid).result()", want))
		null(c, "ex.shutdown()");
}

static void ck_exec_raises(struct ck *c)
{
	json_t *msg;
	const char *type, *m;
	char *t = NULL;

	if (!exec_begin(c) || !null(c, "f = ex.submit(task.raises, 'ValueError', 'boom')") ||
	    !(msg = step(c, "f.result()")))
		return;
	type = json_string_value(json_object_get(json_object_get(msg, "raised"), "type"));
	m = json_string_value(json_object_get(json_object_get(msg, "raised"), "message"));
	if (!type || strcmp(type, "ValueError") || !m || strcmp(m, "boom")) {
		miss(c, "\"raised\":{\"type\":\"ValueError\",\"message\":\"boom\"}");
		json_decref(msg);
		return;
	}
	json_decref(msg);
	if (!value(c, "cause(f)", "text", &t))
		return;
	/* the verb's contract: 'TYPE: str(cause)', the worker's traceback in
	 * it; CPython's own form is executor.cause-format's */
	if (!t || !strstr(t, ": ") || strcspn(t, ": \n") != (size_t)(strstr(t, ": ") - t) ||
	    !strstr(t, "ValueError: boom"))
		miss(c, "\"value\":{\"text\":\"TYPE: ...ValueError: boom...\"}");
	else if (repr(c, "ex.submit(task.returns, 1).result()", "1"))
		null(c, "ex.shutdown()");
	free(t);
}

/* cause(f) in CPython's words: a _RemoteTraceback quoting the worker's
 * traceback in triple quotes (concurrent/futures/process.py) */
static void ck_exec_cause_format(struct ck *c)
{
	static const char head[] =
		"_RemoteTraceback: \n\"\"\"\nTraceback (most recent call last):\n";
	static const char tail[] = "\nValueError: boom\n\"\"\"";
	char *t = NULL;

	if (!exec_begin(c) || !null(c, "f = ex.submit(task.raises, 'ValueError', 'boom')") ||
	    !value(c, "cause(f)", "text", &t))
		return;
	if (!t || strncmp(t, head, strlen(head)) || strlen(t) < strlen(tail) ||
	    strcmp(t + strlen(t) - strlen(tail), tail))
		miss(c,
		     "\"value\":{\"text\":\"_RemoteTraceback: \\n\\\"\\\"\\\"\\nTraceback (most recent "
		     "call last):\\n...\\nValueError: boom\\n\\\"\\\"\\\"\"}");
	free(t);
}

static void ck_exec_settles(struct ck *c)
{
	if (exec_begin(c) && repr(c, "ex.submit(task.returns, 1).result()", "1"))
		repr(c, "settles(ex)", "True");
}

static void ck_exec_end(struct ck *c)
{
	long left;

	if (!exec_begin(c) || !null(c, "g = gate()") || !null(c, "f = ex.submit(task.blocks, g)") ||
	    !null(c, "f2 = ex.submit(task.returns, 2)") || !null(c, "w = started(g)"))
		return;
	if (scn_end(c, &left) && left > 0)
		bad(c,
		    "ended says children_left=%ld: end releases every executor gate and runs the "
		    "executor exit hook, which drains the pool and joins its workers",
		    left);
}

/* ---- the forms of CPython's own test assertions (vocab.def, issue 16) -- */

/* Whether the hello declares every feature named (a NULL-ended list); a
 * hello without "features" has them all.  Skips the check when not. */
static bool declares(struct ck *c, const char *const *names)
{
	json_t *f;
	size_t i, k;

	if (!have_hello(c))
		return false;
	f = json_object_get(c->hello, "features");
	if (!json_is_array(f))
		return true;
	for (k = 0; names[k]; k++) {
		for (i = 0; i < json_array_size(f); i++)
			if (!strcmp(json_string_value(json_array_get(f, i)) ?: "", names[k]))
				break;
		if (i == json_array_size(f)) {
			skip(c, "the driver does not declare the %s feature", names[k]);
			return false;
		}
	}
	return true;
}

static void ck_forms_compare(struct ck *c)
{
	static const char *const need[] = { "operator.eq", "operator.is", "operator.not", NULL };

	if (!declares(c, need) || !scn_begin(c, c->method) ||
	    !null(c, "p = Process(target=child.returns)"))
		return;
	if (repr(c, "p.exitcode is None", "True") && repr(c, "p.exitcode is not None", "False") &&
	    repr(c, "p.name == 'Process-1'", "True") && repr(c, "not p.daemon", "True") &&
	    repr(c, "current_process() is current_process()", "True") &&
	    repr(c, "not (1 == 2)", "True"))
		repr(c, "[1, (2, 'a')] == [1, (2, 'a')]", "True");
}

static void ck_forms_builtins(struct ck *c)
{
	static const char *const need[] = { "builtin.len", "builtin.type", "builtin.isinstance",
					    NULL };

	if (!declares(c, need) || !scn_begin(c, c->method) ||
	    !null(c, "p = Process(target=child.returns)"))
		return;
	if (repr(c, "len(current_process().authkey)", "32") &&
	    repr(c, "type(p).__name__", "'Process'") &&
	    repr(c, "type(current_process()).__name__", "'_MainProcess'") &&
	    repr(c, "isinstance(p, Process)", "True") && repr(c, "isinstance(1, int)", "True"))
		repr(c, "isinstance('1', bytes)", "False");
}

static void ck_forms_operators(struct ck *c)
{
	static const char *const need[] = { "operator.ne", "operator.order", "operator.in", NULL };

	if (!declares(c, need) || !scn_begin(c, c->method) ||
	    !null(c, "p = Process(target=child.returns)"))
		return;
	if (repr(c, "1 != 2", "True") && repr(c, "1 < 2.5", "True") && repr(c, "2 <= 2", "True") &&
	    repr(c, "'b' > 'a'", "True") && repr(c, "(1, 2) >= (1, 3)", "False") &&
	    repr(c, "p in [p]", "True") && repr(c, "p not in (1, 2)", "True") &&
	    repr(c, "'ro' in 'Process'", "True"))
		repr(c, "p != p", "False");
}

static void ck_forms_contexts(struct ck *c)
{
	static const char *const need[] = { "start_method", "builtin.type", NULL };

	if (!declares(c, need) || !scn_begin(c, c->method))
		return;
	if (repr(c, "get_context('spawn').Process.__name__", "'SpawnProcess'") &&
	    repr(c, "type(get_context('forkserver')).__name__", "'ForkServerContext'") &&
	    null(c, "set_executable(executable())") &&
	    null(c, "p = get_context('spawn').Process(target=child.exits, args=(4,))") &&
	    repr(c, "p.name", "'SpawnProcess-1'") && null(c, "p.start()") && null(c, "p.join()"))
		repr(c, "p.exitcode", "4");
}

static void ck_forms_start_method(struct ck *c)
{
	static const char *const need[] = { "start_method", NULL };
	char want[32];
	json_t *msg;
	const char *type;

	snprintf(want, sizeof(want), "'%s'", c->method);
	if (!declares(c, need) || !scn_begin(c, c->method) ||
	    !repr(c, "get_start_method()", want) || !(msg = step(c, "set_start_method('spawn')")))
		return;
	type = json_string_value(json_object_get(json_object_get(msg, "raised"), "type"));
	if (!type || strcmp(type, "RuntimeError"))
		miss(c, "\"raised\":{\"type\":\"RuntimeError\",\"message\":\"context has already "
			"been set\"}");
	json_decref(msg);
	if (repr(c, "get_start_method()", want) &&
	    repr(c, "get_context('spawn').get_start_method()", "'spawn'") &&
	    null(c, "set_start_method('spawn', force=True)"))
		repr(c, "get_start_method()", "'spawn'");
}

static void ck_forms_wait(struct ck *c)
{
	static const char *const need[] = { "connection.wait", "gc.collect", "operator.eq", NULL };

	if (!declares(c, need) || !scn_begin(c, c->method) ||
	    !null(c, "p = Process(target=child.blocks)") || !null(c, "p.start()"))
		return;
	if (repr(c, "connection.wait([p.sentinel], timeout=0)", "[]") && null(c, "release(p)") &&
	    repr(c, "connection.wait([p.sentinel], timeout=10) == [p.sentinel]", "True") &&
	    null(c, "p.join()"))
		null(c, "gc.collect()");
}

/* a, b = Pipe(): two connections; what one end sends, the other's recv()
 * gives, and connection.wait() finds the end with data */
static void ck_forms_pipe(struct ck *c)
{
	static const char *const need[] = { "Pipe", "connection.wait", "operator.eq", NULL };

	if (!declares(c, need) || !scn_begin(c, c->method) || !null(c, "a, b = Pipe()") ||
	    !repr(c, "connection.wait([a, b], timeout=0)", "[]") || !null(c, "b.send(None)") ||
	    !repr(c, "connection.wait([a, b], timeout=10) == [a]", "True") ||
	    !repr(c, "a.poll()", "True") || !null(c, "a.recv()") || !repr(c, "a.poll()", "False") ||
	    !null(c, "a.close()"))
		return;
	if (repr(c, "a.closed", "True") && repr(c, "b.closed", "False") &&
	    null(c, "c, d = Pipe(duplex=False)"))
		repr(c, "(c.readable, c.writable, d.readable, d.writable)",
		     "(True, False, False, True)");
}

/* weakref.ref(p): p while the scenario holds it; None once the scenario
 * dropped it and collected: the driver's own bookkeeping keeps no process
 * object alive (CPython's test_close) */
static void ck_forms_weakref(struct ck *c)
{
	static const char *const need[] = { "weakref.ref", "gc.collect", "operator.is", NULL };

	if (!declares(c, need) || !scn_begin(c, c->method) ||
	    !null(c, "p = Process(target=child.returns)") || !null(c, "wr = weakref.ref(p)") ||
	    !repr(c, "wr() is p", "True") || !null(c, "p = None") || !null(c, "gc.collect()"))
		return;
	repr(c, "wr() is None", "True");
}

/* child.uppercases(conn): a connection crosses to the child under the
 * scenario's method, and the child answers over it */
static void ck_child_uppercases(struct ck *c)
{
	static const char *const need[] = { "Pipe", NULL };

	if (!declares(c, need) || !scn_begin(c, c->method) || !null(c, "cc, pc = Pipe()") ||
	    !null(c, "p = Process(target=child.uppercases, args=(cc,))") || !null(c, "p.start()") ||
	    !null(c, "pc.send('hello, 1')") || !repr(c, "pc.recv()", "'HELLO, 1'") ||
	    !null(c, "pc.send(None)") || !null(c, "p.join()"))
		return;
	repr(c, "p.exitcode", "0");
}

/* cpu_count(), get_all_start_methods(), p._popen and p._config as CPython's
 * tests read them; a child whose unflushed output os._exit() loses, and
 * one whose non-daemon thread outlives its target (_bootstrap waits) */
static void ck_forms_module(struct ck *c)
{
	static const char *const need[] = { "start_method",
					    "Process._popen",
					    "Process._config",
					    "operator.in",
					    "operator.is",
					    "operator.order",
					    NULL };

	if (!declares(c, need) || !scn_begin(c, c->method) ||
	    !repr(c, "cpu_count() >= 1", "True") ||
	    !repr(c, "'fork' in get_all_start_methods()", "True") ||
	    !null(c, "p = Process(target=child.writes_unflushed, args=('lost', 3))") ||
	    !repr(c, "p._popen is None", "True") || !repr(c, "'authkey' in p._config", "True") ||
	    !null(c, "p.start()") || !repr(c, "p._popen is None", "False") ||
	    !null(c, "p.join()") || !repr(c, "p.exitcode", "3") || !text(c, "stdout(p)", ""))
		return;
	if (null(c, "t = Process(target=child.leaves_thread, args=('late\\n',))") &&
	    null(c, "t.start()") && null(c, "release(t)") && null(c, "t.join()") &&
	    repr(c, "t.exitcode", "0"))
		text(c, "stdout(t)", "late\n");
}

/* ---- the checks: escaped children ---------------------------------------- */

/*
 * fork: sys.exit(2**31) makes os._exit() raise OverflowError in the child
 * (a C int), and the child comes back out of p.start() into the driver's
 * copy of the main program.  Whatever it exits with, ended reports it.
 */
static void ck_escaped(struct ck *c)
{
	json_t *e = NULL;
	const char *process = NULL, *into = NULL, *type = NULL;
	char *got;

	if (c->methods && !(c->methods & PS_M_FORK)) {
		skip(c, "the driver has no fork start method");
		return;
	}
	json_decref(c->escaped);
	c->escaped = NULL;
	if (!scn_begin(c, "fork") ||
	    !null(c, "p = Process(target=child.exits, args=(2147483648,))") ||
	    !null(c, "p.start()") || !null(c, "p.join()") || !scn_end2(c, NULL, NULL))
		return;
	if (json_array_size(c->escaped) == 1 && (e = json_array_get(c->escaped, 0)) != NULL) {
		process = json_string_value(json_object_get(e, "process"));
		into = json_string_value(json_object_get(e, "into"));
		type = json_string_value(json_object_get(json_object_get(e, "raised"), "type"));
	}
	if (process && into && type && !strcmp(process, "Process-1") && !strcmp(into, "main") &&
	    !strcmp(type, "OverflowError"))
		return;
	got = c->escaped ? json_dumps(c->escaped, JSON_COMPACT) : NULL;
	bad(c,
	    "ended carries \"escaped\":[{\"process\":\"Process-1\",\"into\":\"main\","
	    "\"raised\":{\"type\":\"OverflowError\",...}}] (os._exit(2**31) raised in the child, "
	    "which came back out of p.start()); it carries %s",
	    got ? got : "no \"escaped\"");
	free(got);
}

/* ---- the checks: atexit, broken stdio, threads, children in turn ------- */

static void ck_child_starts_thread(struct ck *c)
{
	if (scn_begin(c, c->method))
		run_child(c, "p = Process(target=child.starts_thread, args=('from a thread\\n',))",
			  "0", "from a thread\n", "");
}

static void ck_child_breaks_stdio(struct ck *c)
{
	if (scn_begin(c, c->method))
		run_child(c, "p = Process(target=child.breaks_stdio, args=('stdout', 'close'))",
			  "0", NULL, "");
}

static void ck_child_starts_children(struct ck *c)
{
	char *out = NULL, *second;

	if (!scn_begin(c, c->method))
		return;
	run_child(c, "p = Process(target=child.starts_children, args=(child.returns, 2))", "0",
		  NULL, "");
	if (!value(c, "stdout(p)", "text", &out))
		return;
	second = strchr(out, '\n');
	if (strncmp(out, "<Process", 8) || !strstr(out, "Process-1:1") || !second ||
	    strncmp(second + 1, "<Process", 8) || !strstr(second, "Process-1:2") ||
	    strchr(second + 1, '\n') != out + strlen(out) - 1)
		miss(c, "two lines, the reprs of Process-1:1 and Process-1:2, each stopped");
	free(out);
}

/* whether the handler runs depends on the release and the method (fork:
 * from 3.13; spawn: always; forkserver: never): either answer passes */
static void ck_child_atexit_writes(struct ck *c)
{
	char *out = NULL;

	if (!scn_begin(c, c->method))
		return;
	run_child(c, "p = Process(target=child.atexit_writes, args=('atexit\\n',))", "0", NULL, "");
	if (!value(c, "stdout(p)", "text", &out))
		return;
	if (strcmp(out, "") && strcmp(out, "atexit\n"))
		miss(c, "stdout(p) either empty or the handler's \"atexit\\n\"");
	free(out);
}

/* an instance of a class with __call__ is a target: called with the
 * process's args in the child */
static void ck_forms_callable_object(struct ck *c)
{
	static const char *const need[] = { "builtin.type", NULL };

	if (declares(c, need) && scn_begin(c, c->method) &&
	    null(c, "c = callable_object('Dummy', call=child.exits)") &&
	    repr(c, "type(c).__name__", "'Dummy'"))
		run_child(c, "p = Process(target=c, args=(6,))", "6", NULL, NULL);
}

/* a grandchild's parent_process() while its parent runs, and after the
 * scenario terminates it: ready(p, n) waits for its lines */
static void ck_child_starts_watcher(struct ck *c)
{
	static const char *const need[] = { "parent_process", NULL };
	char *out = NULL;
	const char *alive = "parent_process().is_alive(): True\n";
	const char *dead = "parent_process().is_alive(): False\n";

	if (!declares(c, need) || !scn_begin(c, c->method) ||
	    !null(c, "p = Process(target=child.starts_watcher)") || !null(c, "p.start()") ||
	    !null(c, "ready(p, 3)") || !null(c, "p.terminate()") || !null(c, "p.join()") ||
	    !repr(c, "p.exitcode", "-15") || !null(c, "ready(p, 4)") ||
	    !value(c, "stdout(p)", "text", &out))
		return;
	if (strncmp(out, "parent_process(): <_ParentProcess name='Process-1'", 50) ||
	    !strstr(out, alive) || strlen(out) < strlen(dead) ||
	    strcmp(out + strlen(out) - strlen(dead), dead))
		miss(c, "four lines: parent_process(), its pid, is_alive() True, then after "
			"terminate() is_alive() False");
	free(out);
}

/* "fds: N", N a plausible count, then it blocks until released */
static void ck_child_counts_fds(struct ck *c)
{
	char *out = NULL, *end = NULL;
	long n = -1;

	if (!scn_begin(c, c->method) || !null(c, "p = Process(target=child.counts_fds)") ||
	    !null(c, "p.start()") || !null(c, "ready(p)") || !repr(c, "p.is_alive()", "True") ||
	    !value(c, "stdout(p)", "text", &out))
		return;
	if (!strncmp(out, "fds: ", 5))
		n = strtol(out + 5, &end, 10);
	if (n < 3 || !end || strcmp(end, "\n"))
		miss(c, "\"fds: N\\n\", N at least 3 (stdin, stdout, stderr)");
	free(out);
	if (null(c, "release(p)") && null(c, "p.join()"))
		repr(c, "p.exitcode", "0");
}

/* the child's own view of its args, kwargs and pid */
static void ck_child_echoes(struct ck *c)
{
	char *out = NULL, *pid = NULL, *want = NULL;

	if (!scn_begin(c, c->method))
		return;
	run_child(c, "p = Process(target=child.echoes, args=(1, 'x'), kwargs={'k': [2]})", "0",
		  NULL, NULL);
	if (!value(c, "stdout(p)", "text", &out) || !value(c, "p.pid", "repr", &pid))
		goto out;
	if (asprintf(&want, "args: (1, 'x')\nkwargs: {'k': [2]}\npid: %s\n", pid) < 0)
		want = NULL;
	if (!want || strcmp(out, want))
		miss(c, "\"args: (1, 'x')\\nkwargs: {'k': [2]}\\npid: \" and p.pid");
out:
	free(want);
	free(pid);
	free(out);
}

/* a process tree in the order it ran, and many children at once */
static void ck_child_recurses_many(struct ck *c)
{
	if (!scn_begin(c, c->method))
		return;
	run_child(c, "p = Process(target=child.recurses, args=(1,))", "0",
		  "Process-1\nProcess-1:1\nProcess-1:2\n", "");
	if (!c->failed)
		run_child(c, "p = Process(target=child.starts_many, args=(3,))", "0",
			  "exitcodes: [0]\nexitcodes: [-15]\n", "");
}

/* the child's own start method, and its main thread's native id */
static void ck_child_reports_method(struct ck *c)
{
	static const char *const need[] = { "start_method", NULL };
	static const char *const native[] = { "threading.native_id", NULL };
	char want[64];

	snprintf(want, sizeof(want), "get_start_method(): '%s'\n", c->method);
	if (!declares(c, need) || !scn_begin(c, c->method))
		return;
	run_child(c, "p = Process(target=child.reports_start_method)", "0", want, "");
	if (!c->failed && declares_one(c, native[0]))
		run_child(c, "p = Process(target=child.reports_native_id)", "0",
			  "main_thread().native_id == get_native_id(): True\n", "");
}

/* warnings_seen(): a list; under fork with a second thread in the
 * scenario process, 3.12+ lists os.fork()'s DeprecationWarning */
static void ck_verb_warnings_seen(struct ck *c)
{
	char *seen = NULL;

	if (!scn_begin(c, c->method) || !repr(c, "warnings_seen()", "[]") ||
	    !null(c, "t = Process(target=child.leaves_thread, args=('',))") || !null(c, "t.run()"))
		return;
	run_child(c, "p = Process(target=child.returns)", "0", NULL, NULL);
	if (c->failed || !null(c, "release(t)") || !value(c, "warnings_seen()", "repr", &seen))
		return;
	if (strcmp(seen, "[]") &&
	    (strcmp(c->method, "fork") ||
	     !strstr(seen, "'DeprecationWarning: This process (pid=") ||
	     !strstr(seen,
		     ") is multi-threaded, use of fork() may lead to deadlocks in the child.'")))
		miss(c, "[] or, forking with a thread running (3.12+), ['DeprecationWarning: This "
			"process (pid=N) is multi-threaded, use of fork() may lead to deadlocks in "
			"the child.']");
	free(seen);
}

/* ---- the checks: thread-scoped faults ------------------------------------ */

/* fault(..., thread=): a site armed for background work spares the
 * stepping thread's own calls (start()'s pipes), and one armed for the
 * stepping thread meets them.  A driver that ignores the scope fails the
 * first start(). */
static void ck_fault_thread(struct ck *c)
{
	json_t *msg;
	const char *type;

	if (have_hello(c) && !c->thread_feature) {
		skip(c, "the driver does not declare the faults.thread feature");
		return;
	}
	if (!scn_begin(c, c->method) ||
	    !null(c, "fault(\"posix/io/oc/pipe2\", errno=errno.EMFILE, count=None, "
		     "thread=\"background\")") ||
	    !null(c, "p = Process(target=child.returns)"))
		return;
	if (!(msg = step(c, "p.start()")))
		return;
	if (strcmp(kind_of(msg), "null")) {
		miss(c, "\"value\":null: a fault armed with thread=\"background\" never fails a "
			"call the stepping thread makes itself");
		json_decref(msg);
		return;
	}
	json_decref(msg);
	if (!null(c, "p.join()") || !null(c, "faults_clear()") ||
	    !null(c, "fault(\"posix/io/oc/pipe2\", errno=errno.EMFILE, thread=\"step\")") ||
	    !null(c, "q = Process(target=child.returns)") || !(msg = step(c, "q.start()")))
		return;
	type = json_string_value(json_object_get(json_object_get(msg, "raised"), "type"));
	if (!type || strcmp(type, "OSError"))
		miss(c, "\"raised\":{\"type\":\"OSError\",...} (EMFILE): a fault armed with "
			"thread=\"step\" fails the stepping thread's next pipe2()");
	json_decref(msg);
}

/* ---- the table --------------------------------------------------------- */

struct check {
	const char *name;
	enum level level;
	const char *section; /* of docs/PROTOCOL.md */
	const char *says;    /* what the protocol requires, in a line */
	void (*fn)(struct ck *c);
	int tally; /* a run-wide rule (T_*), reported from the tally; -1 otherwise */
};

static const struct check checks[] = {
	{ "hello", MUST, "Transport; hello",
	  "the driver's first line, within the hello time limit, is {\"op\":\"hello\",...}",
	  ck_hello, -1 },
	{ "hello.protocol", MUST, "hello", "\"protocol\" is the integer 1", ck_hello_protocol, -1 },
	{ "hello.implementation", MUST, "hello",
	  "\"implementation\" names what is driven, with its version", ck_hello_implementation,
	  -1 },
	{ "hello.methods", MUST, "hello",
	  "\"methods\" lists the start methods it supports, from fork, spawn, forkserver",
	  ck_hello_methods, -1 },
	{ "hello.features", MUST, "hello", "\"features\", if present, is a list of strings",
	  ck_hello_features, -1 },
	{ "hello.features-known", SHOULD, "hello", "every feature is one the harness knows",
	  ck_hello_features_known, -1 },
	{ "hello.fields", SHOULD, "hello", "\"driver\", \"executable\" and \"module\" are strings",
	  ck_hello_fields, -1 },
	{ "hello.alone", MUST, "Transport", "the driver writes nothing unasked except its hello",
	  ck_hello_alone, -1 },
	{ "fds.driver", SHOULD, "Transport",
	  "the driver's fds 0 and 1 no longer carry the protocol", ck_fds_driver, -1 },
	{ "fds.scenario", MUST, "Transport",
	  "the scenario process's fds 0 and 1 are not the protocol pipes", ck_fds_scenario, -1 },
	{ "fds.child", MUST, "Transport",
	  "a child started by the implementation holds no protocol fd", ck_fds_child, -1 },
	{ "fds.stdout-stream", MUST, "Transport; Output streams",
	  "what the scenario process or a child writes to stdout never reaches the protocol stream",
	  ck_fds_stdout_stream, -1 },
	{ "begin.fork", MUST, "begin / begun",
	  "begin gets begun (integer main_pid, string authkey) and the method works",
	  ck_begin_method, -1 },
	{ "begin.spawn", MUST, "begin / begun",
	  "begin gets begun (integer main_pid, string authkey) and the method works",
	  ck_begin_method, -1 },
	{ "begin.forkserver", MUST, "begin / begun",
	  "begin gets begun (integer main_pid, string authkey) and the method works",
	  ck_begin_method, -1 },
	{ "begin.undeclared-method", MUST, "begin / begun; Errors and edge cases",
	  "a begin with a method the driver did not declare gets {\"op\":\"error\"}, and the driver goes on",
	  ck_begin_undeclared, -1 },
	{ "stmt.assign", MUST, "Statements", "an assign binds a variable; its value is null",
	  ck_stmt_assign, -1 },
	{ "stmt.setattr", MUST, "Statements", "a setattr sets an attribute; its value is null",
	  ck_stmt_setattr, -1 },
	{ "stmt.expr", MUST, "Statements",
	  "an expr statement gives the repr of its value (null for None)", ck_stmt_expr, -1 },
	{ "expr.literals", MUST, "Statements",
	  "none, bool, int (any size), float (inf too), str and bytes give Python's repr",
	  ck_expr_literals, -1 },
	{ "expr.containers", MUST, "Statements", "tuple, list and dict give Python's repr",
	  ck_expr_containers, -1 },
	{ "expr.var", MUST, "Statements", "var reads a variable bound by an earlier assign",
	  ck_expr_var, -1 },
	{ "expr.global", MUST, "Globals",
	  "the scenario globals: Process, current_process, parent_process, active_children",
	  ck_expr_global, -1 },
	{ "expr.behaviour", MUST, "Child behaviours", "a behaviour is a value of its own",
	  ck_expr_behaviour, -1 },
	{ "expr.getattr", MUST, "Statements", "getattr reads an attribute", ck_expr_getattr, -1 },
	{ "expr.call", MUST, "Statements", "call passes positional and keyword arguments",
	  ck_expr_call, -1 },
	{ "child.returns", MUST, "Child behaviours", "child.returns(): exitcode 0, nothing written",
	  ck_child_returns, -1 },
	{ "child.blocks", MUST, "Child behaviours; Gates",
	  "child.blocks() waits until release(p), then exits 0", ck_child_blocks, -1 },
	{ "child.exits-int", MUST, "Child behaviours",
	  "child.exits(3): exitcode 3, nothing on stderr", ck_child_exits_int, -1 },
	{ "child.exits-none", MUST, "Child behaviours",
	  "child.exits() and child.exits(None): both 0 (CPython 3.9 on) or both 1 (before)",
	  ck_child_exits_none, -1 },
	{ "child.exits-str", MUST, "Child behaviours",
	  "child.exits('msg'): exitcode 1, 'msg' and a newline on stderr", ck_child_exits_str, -1 },
	{ "child.exits-float", MUST, "Child behaviours",
	  "child.exits(3.5): exitcode 1, '3.5' on stderr", ck_child_exits_float, -1 },
	{ "child.exits-bool", MUST, "Child behaviours",
	  "child.exits(True): exitcode 1; child.exits(False): 0", ck_child_exits_bool, -1 },
	{ "child.exits-tuple", MUST, "Child behaviours", "child.exits((1, 2)): exitcode 1",
	  ck_child_exits_tuple, -1 },
	{ "child.os_exit", MUST, "Child behaviours",
	  "child.os_exit(7): exitcode 7, nothing written", ck_child_os_exit, -1 },
	{ "child.raises", MUST, "Child behaviours",
	  "child.raises('ValueError', 'boom'): exitcode 1, the traceback on stderr",
	  ck_child_raises, -1 },
	{ "child.starts_child", MUST, "Child behaviours",
	  "child.starts_child(t): writes repr(q) and a newline, exits 0", ck_child_starts_child,
	  -1 },
	{ "child.reports", MUST, "Child behaviours",
	  "child.reports(): the five labelled lines, the authkey inherited", ck_child_reports, -1 },
	{ "child.writes", MUST, "Child behaviours; Output streams",
	  "child.writes(out, err): stdout(p) and stderr(p) give them as text", ck_child_writes,
	  -1 },
	{ "child.ignores", MUST, "Child behaviours; Signals",
	  "child.ignores(SIGTERM): 'ready', terminate() leaves it alive, kill() gives -9",
	  ck_child_ignores, -1 },
	{ "child.handles", MUST, "Child behaviours; Signals",
	  "child.handles(SIGTERM, 3): 'ready', terminate() runs the handler: 'caught 15', exitcode 3",
	  ck_child_handles, -1 },
	{ "child.calls", MUST, "Child behaviours; Signals",
	  "child.calls(p, ...) on an unstarted Process received as an argument: one line per method",
	  ck_child_calls, -1 },
	{ "verb.send_signal", MUST, "Signals",
	  "send_signal(p, SIGUSR1) gives exitcode -10; to current_process(), SIGINT raises "
	  "KeyboardInterrupt",
	  ck_verb_send_signal, -1 },
	{ "call.class-method", MUST, "Globals",
	  "Process.start(p), Process.is_alive(p), Process.terminate(p) act on p: exitcode -15",
	  ck_call_class_method, -1 },
	{ "call.run", MUST, "Globals",
	  "p.run() runs the target in the scenario process: child.exits(3) raises SystemExit there",
	  ck_call_run, -1 },
	{ "executor.returns", MUST, "Executors; Task behaviours",
	  "a task's value comes back through the pool: ex.submit(task.returns, 42).result() is 42",
	  ck_exec_returns, -1 },
	{ "executor.gate", MUST, "Executors; Gates for executors",
	  "started(g) waits for a blocked task and names its worker (in pids); release(g) lets it return",
	  ck_exec_gate, -1 },
	{ "executor.raises", MUST, "Executors; Verbs",
	  "a task that raises gives the exception, and cause(f) 'TYPE: ...' with its traceback",
	  ck_exec_raises, -1 },
	{ "executor.settles", MUST, "Executors; settles", "settles(ex) is True on a healthy pool",
	  ck_exec_settles, -1 },
	{ "executor.end", MUST, "end / ended / exited; Executors",
	  "end releases executor gates and drains the pool: children_left is 0", ck_exec_end, -1 },
	{ "forms.compare", MUST, "Statements",
	  "==, is, is not and not evaluate as in Python (x is None, current_process() is itself)",
	  ck_forms_compare, -1 },
	{ "forms.builtins", MUST, "Statements; Globals",
	  "len, type(x).__name__ and isinstance give Python's answers", ck_forms_builtins, -1 },
	{ "forms.start-method", MUST, "Globals",
	  "get_start_method() names the method; set_start_method without force raises "
	  "RuntimeError, with force it sets",
	  ck_forms_start_method, -1 },
	{ "forms.wait", MUST, "Globals",
	  "connection.wait() on a sentinel: [] while the child runs, the sentinel once it exited; "
	  "gc.collect() is None",
	  ck_forms_wait, -1 },
	{ "pids.bound", MUST, "step / result",
	  "\"pids\" maps a started process's variable to its pid, also after it ended", ck_pids,
	  -1 },
	{ "raised", MUST, "step / result", "an exception is \"raised\" with its type and str()",
	  ck_raised, -1 },
	{ "raised.start-twice", MUST, "step / result",
	  "a second p.start() raises, and the running child is left alone", ck_raised_start_twice,
	  -1 },
	{ "error.unknown-global", MUST, "step / result; Errors and edge cases",
	  "an unknown global gets a result with \"error\", and the driver goes on",
	  ck_error_unknown_global, -1 },
	{ "error.unknown-behaviour", MUST, "step / result; Errors and edge cases",
	  "an unknown behaviour gets a result with \"error\", and the driver goes on",
	  ck_error_unknown_behaviour, -1 },
	{ "error.unknown-expression", MUST, "step / result; Errors and edge cases",
	  "an unknown expression kind gets a result with \"error\"", ck_error_unknown_expr, -1 },
	{ "error.malformed-statement", MUST, "step / result; Errors and edge cases",
	  "a malformed or missing statement gets a result with \"error\"", ck_error_malformed, -1 },
	{ "error.unknown-op", MUST, "Errors and edge cases",
	  "an unknown op gets {\"op\":\"error\"}, in a scenario and between scenarios",
	  ck_error_unknown_op, -1 },
	{ "error.not-json", SHOULD, "Errors and edge cases",
	  "a line that is not a JSON object gets {\"op\":\"error\"}", ck_error_not_json, -1 },
	{ "error.out-of-place", SHOULD, "Errors and edge cases",
	  "a step with no scenario in progress gets an error reply", ck_error_out_of_place, -1 },
	{ "end.releases-gates", MUST, "end / ended / exited",
	  "end releases every gate: a blocked child returns, children_left is 0", ck_end_releases,
	  -1 },
	{ "end.clean", SHOULD, "end / ended / exited",
	  "a scenario whose child was joined ends with fds_leaked=0, children_left=0", ck_end_clean,
	  -1 },
	{ "session.second-scenario", MUST, "Session",
	  "a second scenario in the same driver starts afresh (Process-1 again)",
	  ck_second_scenario, -1 },
	{ "session.fresh-process", SHOULD, "Session",
	  "each scenario runs in a fresh scenario process", ck_fresh_process, -1 },
	{ "session.pipelined", MUST, "Transport; hello",
	  "a driver that declares \"pipelined\" answers two whole scenarios sent in one write, in order",
	  ck_pipelined, -1 },
	{ "session.eof-in-scenario", SHOULD, "Errors and edge cases; Gates",
	  "EOF mid-scenario: the driver exits and no blocked child outlives it", ck_eof_in_scenario,
	  -1 },
	{ "session.eof", MUST, "Session; Errors and edge cases",
	  "EOF on stdin between scenarios: the driver exits 0 promptly", ck_eof, -1 },
	{ "session.nothing-left", SHOULD, "Session",
	  "once the driver has exited, nothing it started is left running", ck_nothing_left, -1 },
	{ "step.id", MUST, "Errors and edge cases", "every result echoes the id of its step", NULL,
	  T_ID },
	{ "step.result", MUST, "step / result",
	  "every result has exactly one of value (null, repr, text), raised, error", NULL,
	  T_RESULT },
	{ "step.pids", MUST, "step / result; Errors and edge cases",
	  "every result carries \"pids\", an object of integer pids", NULL, T_PIDS },
	{ "end.ended", MUST, "end / ended / exited",
	  "end gets ended with integer fds_leaked and children_left", NULL, T_ENDED },
	{ "end.exited", MUST, "end / ended / exited; Errors and edge cases",
	  "after ended, exited with code 0 follows unasked", NULL, T_EXITED },
	{ "end.escaped", MUST, "end / ended / exited",
	  "fork: a child whose os._exit(2**31) raises comes back out of start(): ended's "
	  "\"escaped\" names it",
	  ck_escaped, -1 },
	{ "child.starts_thread", MUST, "Child behaviours",
	  "child.starts_thread(out): the thread's text in stdout(p), exitcode 0",
	  ck_child_starts_thread, -1 },
	{ "child.breaks_stdio", MUST, "Child behaviours",
	  "child.breaks_stdio('stdout', 'close'): a closed sys.stdout, exitcode 0, stderr empty",
	  ck_child_breaks_stdio, -1 },
	{ "child.starts_children", MUST, "Child behaviours",
	  "child.starts_children(t, 2): Process-1:1, then Process-1:2, each joined and reported",
	  ck_child_starts_children, -1 },
	{ "child.atexit_writes", MUST, "Child behaviours",
	  "child.atexit_writes(out): exitcode 0; stdout(p) empty or out, by release and method",
	  ck_child_atexit_writes, -1 },
	{ "faults.thread", MUST, "Faults",
	  "fault(thread=\"background\") spares the stepping thread; thread=\"step\" meets it",
	  ck_fault_thread, -1 },
	{ "verb.subclass", MUST, "Subclasses",
	  "subclass('Worker', run=child.exits, args=(5,)): its run() replaces the target, exitcode "
	  "5, type(p).__name__ 'Worker'; subclass('Plain') keeps the target",
	  ck_verb_subclass, -1 },
	{ "forms.operators", MUST, "Statements",
	  "!=, <, <=, >, >= on numbers, str and tuples, in and not in on lists, tuples and str, "
	  "!= on a process",
	  ck_forms_operators, -1 },
	{ "forms.contexts", MUST, "Globals",
	  "a context's Process class (SpawnProcess) starts with its method whatever the default, "
	  "after set_executable(executable())",
	  ck_forms_contexts, -1 },
	{ "executor.cause-format", SHOULD, "Executors; Verbs",
	  "cause(f) of a task that raised is CPython's _RemoteTraceback, the traceback in triple "
	  "quotes",
	  ck_exec_cause_format, -1 },
	{ "forms.callable-object", MUST, "Targets",
	  "callable_object('Dummy', call=child.exits) is a target called with the process's args: "
	  "exitcode 6, type(c).__name__ 'Dummy'",
	  ck_forms_callable_object, -1 },
	{ "child.starts_watcher", MUST, "Child behaviours; Signals",
	  "a grandchild's parent_process().is_alive() is True, then False once its parent is "
	  "terminated; ready(p, n) waits for n lines",
	  ck_child_starts_watcher, -1 },
	{ "child.counts_fds", MUST, "Child behaviours",
	  "child.counts_fds(): \"fds: N\" while it blocks, exitcode 0 once released",
	  ck_child_counts_fds, -1 },
	{ "child.echoes", MUST, "Child behaviours",
	  "child.echoes(1, 'x', k=[2]): the child's args, kwargs and os.getpid() == p.pid",
	  ck_child_echoes, -1 },
	{ "child.recurses", MUST, "Child behaviours",
	  "child.recurses(1): Process-1, Process-1:1, Process-1:2 in turn; child.starts_many(3): "
	  "exit codes [0], then [-15]",
	  ck_child_recurses_many, -1 },
	{ "child.reports_start_method", MUST, "Child behaviours",
	  "the child's own get_start_method() is the scenario's method; its main thread has its "
	  "own native id (3.8+)",
	  ck_child_reports_method, -1 },
	{ "verb.warnings_seen", MUST, "Globals",
	  "warnings_seen() is [] at first; after a fork with a second thread running, [] or "
	  "(3.12+, fork) os.fork()'s DeprecationWarning",
	  ck_verb_warnings_seen, -1 },
	{ "forms.pipe", MUST, "Globals",
	  "a, b = Pipe(): b.send(None) makes connection.wait([a, b]) give [a] and a.recv() None; "
	  "close(), closed, and a one-way pipe's readable/writable",
	  ck_forms_pipe, -1 },
	{ "forms.weakref", MUST, "Globals",
	  "weakref.ref(p)() is p; once the scenario drops p and collects, None (the driver keeps "
	  "no process object alive)",
	  ck_forms_weakref, -1 },
	{ "child.uppercases", MUST, "Child behaviours",
	  "child.uppercases(cc): the connection reaches the child, which sends 'hello, 1' back "
	  "as 'HELLO, 1' and exits 0 after None",
	  ck_child_uppercases, -1 },
	{ "forms.module", MUST, "Globals",
	  "cpu_count() >= 1, 'fork' in get_all_start_methods(), p._popen None before start() only, "
	  "'authkey' in p._config; child.writes_unflushed('lost', 3) exits 3 with nothing on "
	  "stdout; child.leaves_thread's thread writes after release(t), and t exits 0",
	  ck_forms_module, -1 },
};

/* ---- the run ----------------------------------------------------------- */

static void report(struct ck *c, const struct check *k)
{
	FILE *out = c->o->out;
	const char *word;

	c->n++;
	if (c->skipped && !c->failed) {
		word = "skip";
		c->sum->skip++;
	} else if (c->failed) {
		word = k->level == MUST ? "FAIL" : "warn";
		if (k->level == MUST)
			c->sum->fail++;
		else
			c->sum->warn++;
	} else {
		word = "ok";
		c->sum->ok++;
	}
	fprintf(out, "%-4s %2d %-26s %s\n", word, c->n, k->name, k->says);
	if (c->failed)
		fprintf(out, "       requires: PROTOCOL.md, %s (%s)\n", k->section,
			k->level == MUST ? "MUST" : "SHOULD");
	if (c->failed || c->skipped)
		fputs(c->detail.data ? c->detail.data : "", out);
	if (c->o->verbose && !c->skipped) {
		fprintf(out, "       (%.2f s)\n", ps_now() - c->t0);
		fputs(c->log.data ? c->log.data : "", out);
	}
	fflush(out);
}

static void run_tally(struct ck *c, const struct check *k)
{
	struct tally *t = &c->t[k->tally];

	if (!t->seen) {
		skip(c, "no reply of this kind was seen");
	} else if (t->bad) {
		bad(c, "%u of %u replies break this rule", t->bad, t->seen);
		ps_buf_adds(&c->detail, t->first);
	}
}

int ps_conform_run(const struct ps_conform_opts *o, struct ps_conform_summary *s, struct ps_diag *d)
{
	struct ck c = { 0 };
	double t0 = ps_now();
	size_t i;

	memset(s, 0, sizeof(*s));
	c.o = o;
	c.sum = s;
	c.method = o->method ? o->method : "fork";
	if (spawn_driver(&c, d))
		return d->code;
	for (i = 0; i < ARRAY_SIZE(checks); i++) {
		const struct check *k = &checks[i];

		c.name = k->name;
		c.failed = c.skipped = false;
		ps_buf_release(&c.detail);
		ps_buf_release(&c.log);
		if (!strncmp(k->name, "begin.", 6))
			c.cur_method = k->name + 6;
		c.t0 = ps_now();
		if (k->fn)
			k->fn(&c);
		else
			run_tally(&c, k);
		if (c.in_scn)
			scn_end(&c, NULL);
		report(&c, k);
	}
	drop_driver(&c);
	ps_proc_sweep();
	for (i = 0; i < T_COUNT; i++)
		free(c.t[i].first);
	ps_buf_release(&c.detail);
	ps_buf_release(&c.log);
	ps_buf_release(&c.src);
	ps_buf_release(&c.quiet_buf);
	json_decref(c.hello);
	json_decref(c.escaped);
	free(c.authkey);
	free(c.sent);
	free(c.raw);
	free(c.why);
	s->seconds = ps_now() - t0;
	return 0;
}

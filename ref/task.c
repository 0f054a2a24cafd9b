/*
 * What executor scenarios hand to workers and get back
 * (/work/spec/executor.md, docs/PROTOCOL.md): exception objects with
 * their __cause__, gates that travel by path, worker handles, an
 * unpicklable lock, and the task behaviours task.NAME.  Each follows
 * tools/pydriver.py's object of the same name, the one golden
 * transcripts come from.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "executor.h"

/* ---- exceptions -------------------------------------------------------- */

struct exc {
	char *type;     /* the class name */
	int code;       /* PR_E* for a diag, PR_EEXCEPTION when unmapped */
	pr_value *args; /* a tuple */
	char *message;  /* str(exc) */
	size_t message_len;
	pr_value *cause; /* __cause__, NULL for None */
};

static void exc_free(void *data)
{
	struct exc *e = data;

	free(e->type);
	free(e->message);
	pr_decref(e->args);
	pr_decref(e->cause);
	free(e);
}

/* BaseException.__repr__: Type(args...), 3.6 with a comma after one */
static void exc_repr(pr_value *v, struct sbuf *sb)
{
	struct exc *e = v->u.obj.data;
	size_t i, n = pr_len(e->args);

	pr__sb_printf(sb, "%s(", e->type);
	for (i = 0; i < n; i++) {
		if (i)
			pr__sb_puts(sb, ", ");
		pr__value_repr(pr_item(e->args, i), sb);
	}
	if (n == 1 && !pr__profile.exc_repr_compact)
		pr__sb_putc(sb, ',');
	pr__sb_putc(sb, ')');
}

static void exc_str(pr_value *v, struct sbuf *sb)
{
	struct exc *e = v->u.obj.data;

	pr__sb_put(sb, e->message, e->message_len);
}

static int exc_getattr(pr_value *v, const char *name, pr_value **out, struct pr_diag *d)
{
	struct exc *e = v->u.obj.data;

	if (strcmp(name, "args") == 0) {
		*out = pr_incref(e->args);
		return 0;
	}
	if (strcmp(name, "__cause__") == 0) {
		*out = e->cause != NULL ? pr_incref(e->cause) : pr_none();
		return 0;
	}
	return pr_diag(d, PR_EUNSUPPORTED,
		       "libprocref does not model "
		       "%s.%s",
		       e->type, name);
}

static const struct pr_objtype exc_type = {
	.name = "BaseException",
	.free = exc_free,
	.repr = exc_repr,
	.str = exc_str,
	.getattr = exc_getattr,
};

/* The code a class name raises with, for the diag. */
static int code_of(const char *type)
{
	static const struct {
		const char *type;
		int code;
	} map[] = {
		{ "AssertionError", PR_EASSERTION }, { "ValueError", PR_EVALUE },
		{ "TypeError", PR_ETYPE },           { "AttributeError", PR_EATTRIBUTE },
		{ "RuntimeError", PR_ERUNTIME },     { "SystemExit", PR_ESYSTEM_EXIT },
	};
	size_t i;

	for (i = 0; i < sizeof map / sizeof *map; i++)
		if (strcmp(map[i].type, type) == 0)
			return map[i].code;
	return PR_EEXCEPTION;
}

pr_value *pr__exc_new(const char *type, pr_value *args)
{
	struct exc *e = calloc(1, sizeof *e);
	struct sbuf sb = SBUF_INIT;
	size_t n = args != NULL ? pr_len(args) : 0;

	if (e == NULL || args == NULL || (e->type = strdup(type)) == NULL) {
		pr_decref(args);
		free(e);
		return NULL;
	}
	e->code = code_of(type);
	e->args = args;
	/* BaseException.__str__: '', str(args[0]) or str(args);
	 * KeyError.__str__: repr(args[0]) */
	if (n == 1 && strcmp(type, "KeyError") == 0)
		pr__value_repr(pr_item(args, 0), &sb);
	else if (n == 1)
		pr__value_str(pr_item(args, 0), &sb);
	else if (n > 1)
		pr__value_repr(args, &sb);
	if (pr__sb_finish(&sb, &e->message, &e->message_len) < 0) {
		exc_free(e);
		return NULL;
	}
	return pr__object_new(&exc_type, e);
}

pr_value *pr__exc_msg(const char *type, const char *message)
{
	pr_value *s, *args;

	if (message == NULL || *message == '\0')
		return pr__exc_new(type, pr_tuple(NULL, 0));
	if ((s = pr_str(message, strlen(message))) == NULL)
		return NULL;
	args = pr_tuple(&s, 1);
	return pr__exc_new(type, args);
}

/* UTF-8 for code point c into out; how many bytes */
static size_t utf8_put(uint32_t c, char *out)
{
	if (c < 0x80) {
		out[0] = (char)c;
		return 1;
	}
	if (c < 0x800) {
		out[0] = (char)(0xc0 | c >> 6);
		out[1] = (char)(0x80 | (c & 0x3f));
		return 2;
	}
	if (c < 0x10000) {
		out[0] = (char)(0xe0 | c >> 12);
		out[1] = (char)(0x80 | (c >> 6 & 0x3f));
		out[2] = (char)(0x80 | (c & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | c >> 18);
	out[1] = (char)(0x80 | (c >> 12 & 0x3f));
	out[2] = (char)(0x80 | (c >> 6 & 0x3f));
	out[3] = (char)(0x80 | (c & 0x3f));
	return 4;
}

/*
 * The str whose repr() text is (what KeyError.__str__ shows, and so what
 * a KeyError's diag carries: child.raises, process.c), or NULL when text
 * is no such repr: the escapes str.__repr__ writes (\\, \', \", \n,
 * \r, \t, \xNN, \uNNNN, \UNNNNNNNN) between matching quotes.
 */
static pr_value *str_from_repr(const char *text, size_t len)
{
	char *buf, q;
	size_t i, n = 0, k, digits;
	uint32_t c;
	pr_value *v;

	if (len < 2 || (text[0] != '\'' && text[0] != '"') || text[len - 1] != text[0])
		return NULL;
	q = text[0];
	if ((buf = malloc(len * 2)) == NULL)
		return NULL;
	for (i = 1; i < len - 1; i++) {
		if (text[i] == q)
			goto bad;
		if (text[i] != '\\') {
			buf[n++] = text[i];
			continue;
		}
		if (++i >= len - 1)
			goto bad;
		switch (text[i]) {
		case '\\':
		case '\'':
		case '"':
			buf[n++] = text[i];
			continue;
		case 'n':
			buf[n++] = '\n';
			continue;
		case 'r':
			buf[n++] = '\r';
			continue;
		case 't':
			buf[n++] = '\t';
			continue;
		case 'x':
			digits = 2;
			break;
		case 'u':
			digits = 4;
			break;
		case 'U':
			digits = 8;
			break;
		default:
			goto bad;
		}
		for (c = 0, k = 0; k < digits; k++) {
			char h = ++i < len - 1 ? text[i] : '\0';

			if (h >= '0' && h <= '9')
				c = c * 16 + (uint32_t)(h - '0');
			else if (h >= 'a' && h <= 'f')
				c = c * 16 + (uint32_t)(h - 'a' + 10);
			else
				goto bad;
		}
		if (c > 0x10ffff)
			goto bad;
		n += utf8_put(c, buf + n);
	}
	v = pr_str(buf, n);
	free(buf);
	return v;
bad:
	free(buf);
	return NULL;
}

pr_value *pr__exc_from_diag(const struct pr_diag *d)
{
	const char *type = d->type != NULL ? d->type : "SystemError";
	pr_value *items[2] = { NULL, NULL }, *v;
	size_t n = 0;
	const char *colon;

	if (d->code == PR_ESYSTEM_EXIT) {
		/* sys.exit(code) is PyErr_SetObject(SystemExit, code): a tuple
		 * is the args themselves, SystemExit(*code) */
		if (d->exit_code != NULL && d->exit_code->kind == PR_TUPLE)
			return pr__exc_new("SystemExit", pr_incref(d->exit_code));
		if (d->exit_code != NULL && d->exit_code->kind != PR_NONE)
			items[n++] = pr_incref(d->exit_code);
	} else if (d->code >= PR_ERRNO_MIN && d->code < 0) {
		/* OSError(errno, strerror): str() is "[Errno N] text" */
		colon = d->message != NULL ? strstr(d->message, "] ") : NULL;
		items[n++] = pr_int(-d->code);
		items[n++] = colon != NULL ? pr_str(colon + 2, strlen(colon + 2)) : pr_str("", 0);
	} else if (d->type != NULL && strcmp(d->type, "KeyError") == 0 && d->message != NULL &&
		   (items[0] = str_from_repr(d->message, d->message_len)) != NULL) {
		/* KeyError(key): the diag holds str(), which is repr(key) */
		n++;
	} else {
		items[n++] = pr_str(d->message ? d->message : "", d->message ? d->message_len : 0);
	}
	if ((n > 0 && items[0] == NULL) || (n > 1 && items[1] == NULL)) {
		pr_decref(items[0]);
		pr_decref(items[1]);
		return NULL;
	}
	v = pr__exc_new(type, pr_tuple(items, n));
	if (v != NULL && d->code >= PR_ERRNO_MIN && d->code < 0) {
		struct exc *e = v->u.obj.data;
		char *m = malloc(d->message_len + 1);

		if (m != NULL) {
			memcpy(m, d->message, d->message_len);
			m[d->message_len] = '\0';
			free(e->message);
			e->message = m;
			e->message_len = d->message_len;
		}
		e->code = d->code;
	}
	return v;
}

int pr__exc_raise(pr_value *v, struct pr_diag *d)
{
	struct exc *e = pr__object_data(v, &exc_type);

	if (e == NULL)
		return pr_diag(d, PR_EUNSUPPORTED, "not an exception");
	/* SystemExit.code: None, args[0], or args itself when there are more */
	if (e->code == PR_ESYSTEM_EXIT)
		return pr__diag_system_exit(d,
					    pr_len(e->args) > 1  ? e->args :
					    pr_len(e->args) == 1 ? pr_item(e->args, 0) :
								   NULL,
					    pr_len(e->args) > 0);
	return pr__diag_setn(d, e->code, e->type, e->message, e->message_len);
}

int pr__is_exc(const pr_value *v)
{
	return pr__object_data(v, &exc_type) != NULL;
}

const char *pr__exc_type(const pr_value *v)
{
	struct exc *e = pr__object_data(v, &exc_type);

	return e != NULL ? e->type : NULL;
}

void pr__exc_set_cause(pr_value *v, pr_value *cause)
{
	struct exc *e = pr__object_data(v, &exc_type);

	if (e == NULL) {
		pr_decref(cause);
		return;
	}
	pr_decref(e->cause);
	e->cause = cause;
}

pr_value *pr__exc_cause(const pr_value *v)
{
	struct exc *e = pr__object_data(v, &exc_type);

	return e != NULL ? e->cause : NULL;
}

void pr__exc_line(struct sbuf *sb, const char *type, const char *message, size_t len)
{
	pr__sb_puts(sb, type);
	if (len > 0) {
		pr__sb_puts(sb, ": ");
		pr__sb_put(sb, message, len);
	}
	pr__sb_putc(sb, '\n');
}

void pr__exc_traceback(struct sbuf *sb, const char *where, const struct pr_diag *d)
{
	pr__sb_puts(sb, "Traceback (most recent call last):\n");
	pr__sb_printf(sb, "  File \"<procref>\", line 0, in %s\n", where);
	pr__exc_line(sb, d->type ? d->type : "SystemError", d->message,
		     d->message ? d->message_len : 0);
}

/* ---- worker handles ---------------------------------------------------- */

static void worker_repr(pr_value *v, struct sbuf *sb)
{
	pr__sb_printf(sb, "<worker pid=%ld>", (long)(intptr_t)v->u.obj.data);
}

static int worker_wire(struct sbuf *sb, pr_value *v)
{
	pr__sb_putc(sb, 'W');
	pr__wire_put_u64(sb, (uint64_t)(intptr_t)v->u.obj.data);
	return 0;
}

/* type(w).__name__ is the Python driver's class's, _Worker (PROTOCOL.md,
 * Executors): a future's repr names it ("returned _Worker") */
static const struct pr_objtype worker_type = {
	.name = "_Worker",
	.repr = worker_repr,
	.wire = worker_wire,
};

pr_value *pr__worker_new(pid_t pid)
{
	return pr__object_new(&worker_type, (void *)(intptr_t)pid);
}

pid_t pr_worker_pid(const pr_value *v)
{
	return v != NULL && pr__object_data(v, &worker_type) != NULL ?
		       (pid_t)(intptr_t)v->u.obj.data :
		       0;
}

/* ---- the unpicklable lock ---------------------------------------------- */

static int one_lock; /* a distinct address per program, as id() */

static void lock_repr(pr_value *v, struct sbuf *sb)
{
	pr__sb_printf(sb, "<unlocked _thread.lock object at %#" PRIxPTR ">", (uintptr_t)v);
}

/* object.__reduce_ex__ on a type without __reduce__ (copyreg._reduce_ex
 * before 3.8) */
int pr__pickle_error_lock(struct pr_diag *d)
{
	if (pr__profile.pickle_quoted)
		return pr_diag(d, PR_ETYPE, "cannot pickle '_thread.lock' object");
	return pr_diag(d, PR_ETYPE, "can't pickle _thread.lock objects");
}

static int lock_pickle(pr_value *v, struct pr_diag *d)
{
	(void)v;
	return pr__pickle_error_lock(d);
}

static const struct pr_objtype lock_type = {
	.name = "lock",
	.repr = lock_repr,
	.pickle = lock_pickle,
};

pr_value *pr_unpicklable(void)
{
	return pr__object_new(&lock_type, &one_lock);
}

/* ---- gates ------------------------------------------------------------- */

struct gate {
	unsigned index;
	char *go, *ready;    /* the FIFOs' paths */
	int go_fd, ready_fd; /* the scenario process's, -1 elsewhere */
};

static struct {
	char *dir;        /* this process's private directory */
	pid_t owner;      /* who made it: only the owner removes it */
	pr_value **gates; /* every gate this process made */
	size_t n;
} gates;

static void gate_free(void *data)
{
	struct gate *g = data;

	if (g->go_fd >= 0)
		close(g->go_fd);
	if (g->ready_fd >= 0)
		close(g->ready_fd);
	free(g->go);
	free(g->ready);
	free(g);
}

static void gate_repr(pr_value *v, struct sbuf *sb)
{
	struct gate *g = v->u.obj.data;

	pr__sb_printf(sb, "<gate %u>", g->index);
}

static int gate_wire(struct sbuf *sb, pr_value *v)
{
	struct gate *g = v->u.obj.data;

	pr__sb_putc(sb, 'G');
	pr__wire_put_u64(sb, g->index);
	pr__wire_put_blob(sb, g->go, strlen(g->go));
	pr__wire_put_blob(sb, g->ready, strlen(g->ready));
	return 0;
}

static const struct pr_objtype gate_type = {
	.name = "Gate",
	.free = gate_free,
	.repr = gate_repr,
	.wire = gate_wire,
};

static pr_value *gate_value(unsigned index, const char *go, size_t golen, const char *ready,
			    size_t readylen)
{
	struct gate *g = calloc(1, sizeof *g);

	if (g == NULL)
		return NULL;
	g->index = index;
	g->go_fd = g->ready_fd = -1;
	g->go = strndup(go, golen);
	g->ready = strndup(ready, readylen);
	if (g->go == NULL || g->ready == NULL) {
		gate_free(g);
		return NULL;
	}
	return pr__object_new(&gate_type, g);
}

int pr_gate_new(pr_value **out, struct pr_diag *d)
{
	const char *tmp = getenv("TMPDIR");
	char path[4096], go[4200], ready[4200];
	pr_value *v = NULL, **grown;
	struct gate *g;
	int r;

	*out = NULL;
	if (gates.dir == NULL || gates.owner != getpid()) {
		snprintf(path, sizeof path, "%s/procref-gates-XXXXXX",
			 tmp != NULL && *tmp ? tmp : "/tmp");
		if (mkdtemp(path) == NULL)
			return pr_diag(d, -errno, NULL);
		free(gates.dir);
		if ((gates.dir = strdup(path)) == NULL) {
			rmdir(path);
			return pr_diag(d, PR_EMEMORY, NULL);
		}
		gates.owner = getpid();
	}
	snprintf(go, sizeof go, "%s/%zu.go", gates.dir, gates.n);
	snprintf(ready, sizeof ready, "%s/%zu.ready", gates.dir, gates.n);
	if (mkfifo(go, 0600) < 0 || mkfifo(ready, 0600) < 0) {
		r = pr_diag(d, -errno, NULL);
		unlink(go);
		return r;
	}
	grown = realloc(gates.gates, (gates.n + 1) * sizeof *grown);
	if (grown == NULL ||
	    (v = gate_value((unsigned)gates.n, go, strlen(go), ready, strlen(ready))) == NULL) {
		if (grown != NULL)
			gates.gates = grown;
		unlink(go);
		unlink(ready);
		return pr_diag(d, PR_EMEMORY, NULL);
	}
	gates.gates = grown;
	g = v->u.obj.data;
	/* O_RDWR: neither open blocks, and a task reading go gets EOF once
	 * this process is gone (spec: Gates for executors) */
	if ((g->go_fd = open(go, O_RDWR | O_CLOEXEC)) < 0 ||
	    (g->ready_fd = open(ready, O_RDWR | O_CLOEXEC)) < 0) {
		r = pr_diag(d, -errno, NULL);
		pr_decref(v);
		unlink(go);
		unlink(ready);
		return r;
	}
	gates.gates[gates.n++] = pr_incref(v);
	*out = v;
	return 0;
}

int pr__wire_get_object(char tag, const char **p, const char *end, pr_value **out)
{
	const char *go, *ready;
	size_t golen, readylen;
	uint64_t n;

	*out = NULL;
	if (pr__wire_get_u64(p, end, &n) < 0)
		return PR_EVALUE;
	if (tag == 'W') {
		*out = pr__worker_new((pid_t)n);
		return *out ? 0 : PR_EMEMORY;
	}
	if (tag != 'G' || pr__wire_get_blob(p, end, &go, &golen) < 0 ||
	    pr__wire_get_blob(p, end, &ready, &readylen) < 0)
		return PR_EVALUE;
	*out = gate_value((unsigned)n, go, golen, ready, readylen);
	return *out ? 0 : PR_EMEMORY;
}

int pr_is_gate(const pr_value *v)
{
	return pr__object_data(v, &gate_type) != NULL;
}

static int monotonic_ms(int64_t *ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	*ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	return 0;
}

int pr_gate_started(pr_value *gate, int timeout_ms, pr_value **worker, struct pr_diag *d)
{
	struct gate *g = pr__object_data(gate, &gate_type);
	unsigned char buf[4];
	size_t got = 0;
	int64_t now, deadline;
	struct pollfd pfd;
	ssize_t n;
	int r;

	*worker = NULL;
	if (g == NULL || g->ready_fd < 0)
		return pr_diag(d, PR_EUNSUPPORTED,
			       "started(): not a gate of "
			       "this scenario");
	monotonic_ms(&now);
	deadline = now + timeout_ms;
	while (got < sizeof buf) {
		/* the managers hand the task to a worker meanwhile */
		pr__executors_pump();
		pfd.fd = g->ready_fd;
		pfd.events = POLLIN;
		monotonic_ms(&now);
		do
			r = poll(&pfd, 1,
				 now >= deadline     ? 0 :
				 deadline - now > 10 ? 10 :
						       (int)(deadline - now));
		while (r == -1 && errno == EINTR);
		if (r < 0)
			return pr_diag(d, -errno, NULL);
		if (r == 0 && now >= deadline)
			return pr_diag_raise(d, "TimeoutError", "no task started on the gate");
		if (r == 0)
			continue;
		do
			n = read(g->ready_fd, buf + got, sizeof buf - got);
		while (n == -1 && errno == EINTR);
		if (n < 0)
			return pr_diag(d, -errno, NULL);
		got += (size_t)n;
	}
	*worker = pr__worker_new(
		(pid_t)(buf[0] | buf[1] << 8 | buf[2] << 16 | (uint32_t)buf[3] << 24));
	return *worker ? 0 : pr_diag(d, PR_EMEMORY, NULL);
}

int pr_gate_release(pr_value *gate, struct pr_diag *d)
{
	struct gate *g = pr__object_data(gate, &gate_type);
	ssize_t n;

	if (g == NULL || g->go_fd < 0)
		return pr_diag(d, PR_EUNSUPPORTED,
			       "release(): the gate is "
			       "already closed");
	do
		n = write(g->go_fd, "r", 1);
	while (n == -1 && errno == EINTR);
	return n < 0 ? pr_diag(d, -errno, NULL) : 0;
}

void pr_gates_release_all(void)
{
	size_t i;
	struct gate *g;

	for (i = 0; i < gates.n; i++) {
		g = gates.gates[i]->u.obj.data;
		if (g->go_fd >= 0)
			close(g->go_fd);
		g->go_fd = -1;
	}
}

void pr__gates_after_fork(void)
{
	size_t i;
	struct gate *g;

	for (i = 0; i < gates.n; i++) {
		g = gates.gates[i]->u.obj.data;
		if (g->go_fd >= 0)
			close(g->go_fd);
		if (g->ready_fd >= 0)
			close(g->ready_fd);
		g->go_fd = g->ready_fd = -1;
	}
}

void pr_gates_fini(void)
{
	size_t i;
	struct gate *g;

	for (i = 0; i < gates.n; i++) {
		g = gates.gates[i]->u.obj.data;
		if (gates.owner == getpid()) {
			unlink(g->go);
			unlink(g->ready);
		}
		pr_decref(gates.gates[i]);
	}
	free(gates.gates);
	if (gates.dir != NULL && gates.owner == getpid())
		rmdir(gates.dir);
	free(gates.dir);
	memset(&gates, 0, sizeof gates);
}

int pr_gates_fd(int fd)
{
	size_t i;
	struct gate *g;

	for (i = 0; i < gates.n; i++) {
		g = gates.gates[i]->u.obj.data;
		if (g->go_fd == fd || g->ready_fd == fd)
			return 1;
	}
	return 0;
}

/* ---- task behaviours --------------------------------------------------- */

int pr__raised_unpicklable;

static int behave(const char *name, pr_value **args, size_t nargs, pr_value **out,
		  struct pr_diag *d)
{
	pr_value *fn = pr_behaviour(name);
	int r;

	if (fn == NULL)
		return pr_diag(d, PR_EMEMORY, NULL);
	r = pr_call(fn, args, nargs, NULL, NULL, 0, out, d);
	pr_decref(fn);
	return r;
}

/* task.returns(v=None) */
static int t_returns(pr_value *self, pr_value **argv, pr_value **out, struct pr_diag *d)
{
	(void)self;
	(void)d;
	*out = pr_incref(argv[0] != NULL ? argv[0] : pr_none());
	return 0;
}

/* task.pid(): a handle of the worker running it */
static int t_pid(pr_value *self, pr_value **argv, pr_value **out, struct pr_diag *d)
{
	(void)self;
	(void)argv;
	*out = pr__worker_new(getpid());
	return *out ? 0 : pr_diag(d, PR_EMEMORY, NULL);
}

/* task.blocks(g, v=None): announce this pid on g's ready FIFO, then wait
 * for one byte on its go FIFO; EOF (the scenario process is gone, or
 * end let every gate go) returns too */
static int t_blocks(pr_value *self, pr_value **argv, pr_value **out, struct pr_diag *d)
{
	struct gate *g = pr__object_data(argv[0], &gate_type);
	uint32_t pid = (uint32_t)getpid();
	unsigned char buf[4] = { pid & 0xff, pid >> 8 & 0xff, pid >> 16 & 0xff, pid >> 24 & 0xff };
	ssize_t n;
	char byte;
	int fd, flags;

	(void)self;
	if (g == NULL)
		return pr_diag(d, PR_ETYPE, "task.blocks(): %s is not a gate",
			       pr__type_name(argv[0]));
	/* O_NONBLOCK: no reader (the scenario is gone) fails with ENXIO
	 * instead of blocking; then there is no one to wait for */
	fd = open(g->ready, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd >= 0) {
		do
			n = write(fd, buf, sizeof buf);
		while (n == -1 && errno == EINTR);
		close(fd);
		fd = open(g->go, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	}
	if (fd >= 0 && (flags = fcntl(fd, F_GETFL)) >= 0 &&
	    fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) == 0) {
		do
			n = read(fd, &byte, 1);
		while (n == -1 && errno == EINTR);
	}
	if (fd >= 0)
		close(fd);
	*out = pr_incref(argv[1] != NULL ? argv[1] : pr_none());
	return 0;
}

/* task.raises(name, message='') */
static int t_raises(pr_value *self, pr_value **argv, pr_value **out, struct pr_diag *d)
{
	(void)self;
	return behave("raises", argv, argv[1] != NULL ? 2 : 1, out, d);
}

/* task.exits(*code) */
static int t_exits(pr_value *self, pr_value **argv, pr_value **out, struct pr_diag *d)
{
	(void)self;
	return behave("exits", argv[0]->u.seq.items, argv[0]->u.seq.len, out, d);
}

/* task.os_exit(n) */
static int t_os_exit(pr_value *self, pr_value **argv, pr_value **out, struct pr_diag *d)
{
	(void)self;
	return behave("os_exit", argv, 1, out, d);
}

/* task.kills_self(sig): os.kill(os.getpid(), sig) */
static int t_kills_self(pr_value *self, pr_value **argv, pr_value **out, struct pr_diag *d)
{
	int sig, r;

	(void)self;
	(void)out;
	if ((r = pr__value_as_cint(argv[0], &sig, d)) < 0)
		return r;
	if (kill(getpid(), sig) < 0)
		return pr_diag(d, -errno, NULL);
	return 0;
}

/* task.returns_unpicklable(): a lock */
static int t_returns_unpicklable(pr_value *self, pr_value **argv, pr_value **out, struct pr_diag *d)
{
	(void)self;
	(void)argv;
	*out = pr_unpicklable();
	return *out ? 0 : pr_diag(d, PR_EMEMORY, NULL);
}

/* task.raises_unpicklable(): raise TwoArgError('unpicklable', 2), whose
 * __init__(self, a, b) makes pickle's cls(*args) fail in the parent;
 * the worker marks the exception it sends (executor.c) */
static int t_raises_unpicklable(pr_value *self, pr_value **argv, pr_value **out, struct pr_diag *d)
{
	(void)self;
	(void)argv;
	(void)out;
	pr__raised_unpicklable = 1;
	return pr_diag_raise(d, PR__UNPICKLABLE_CLASS, "unpicklable");
}

/* task.writes(out='', err='') */
static int t_writes(pr_value *self, pr_value **argv, pr_value **out, struct pr_diag *d)
{
	pr_value *args[2];

	(void)self;
	args[0] = argv[0] != NULL ? argv[0] : NULL;
	args[1] = argv[1] != NULL ? argv[1] : NULL;
	if (args[0] == NULL && args[1] == NULL)
		return behave("writes", args, 0, out, d);
	if (args[0] == NULL) {
		pr_value *empty = pr_str("", 0);
		int r;

		if (empty == NULL)
			return pr_diag(d, PR_EMEMORY, NULL);
		args[0] = empty;
		r = behave("writes", args, 2, out, d);
		pr_decref(empty);
		return r;
	}
	return behave("writes", args, args[1] != NULL ? 2 : 1, out, d);
}

static const char *const no_params[] = { NULL };
static const char *const v_params[] = { "v" };
static const char *const blocks_params[] = { "g", "v" };
static const char *const raises_params[] = { "name", "message" };
static const char *const n_params[] = { "n" };
static const char *const sig_params[] = { "sig" };
static const char *const writes_params[] = { "out", "err" };

static const pr_func task_blocks = {
	.name = "task.blocks", .params = blocks_params, .nparams = 2, .nrequired = 1, .fn = t_blocks
};
static const pr_func task_exits = {
	.name = "task.exits", .params = no_params, .varargs = 1, .fn = t_exits
};
static const pr_func task_kills_self = { .name = "task.kills_self",
					 .params = sig_params,
					 .nparams = 1,
					 .nrequired = 1,
					 .fn = t_kills_self };
static const pr_func task_os_exit = {
	.name = "task.os_exit", .params = n_params, .nparams = 1, .nrequired = 1, .fn = t_os_exit
};
static const pr_func task_pid = { .name = "task.pid", .params = no_params, .fn = t_pid };
static const pr_func task_raises = {
	.name = "task.raises", .params = raises_params, .nparams = 2, .nrequired = 1, .fn = t_raises
};
static const pr_func task_raises_unpicklable = { .name = "task.raises_unpicklable",
						 .params = no_params,
						 .fn = t_raises_unpicklable };
static const pr_func task_returns = {
	.name = "task.returns", .params = v_params, .nparams = 1, .fn = t_returns
};
static const pr_func task_returns_unpicklable = { .name = "task.returns_unpicklable",
						  .params = no_params,
						  .fn = t_returns_unpicklable };
static const pr_func task_writes = {
	.name = "task.writes", .params = writes_params, .nparams = 2, .fn = t_writes
};

/* task.NAME: the names are harness/vocab.def's, the functions above */
static const struct {
	const char *name;
	const pr_func *func;
} tasks[] = {
#define TASK(name, ref) { name, &ref },
#include "vocab.def"
};

pr_value *pr_task(const char *name)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(tasks); i++)
		if (strcmp(tasks[i].name, name) == 0)
			return pr_function(tasks[i].func);
	return NULL;
}

pr_value *pr__task_by_name(const char *name)
{
	if (strncmp(name, "task.", 5) == 0)
		return pr_task(name + 5);
	return pr__executor_function(name);
}

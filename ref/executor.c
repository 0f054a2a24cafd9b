/*
 * concurrent.futures.ProcessPoolExecutor (Lib/concurrent/futures/process.py
 * and _base.py) over libprocref's process objects and start methods.
 *
 * CPython's design, kept: a call queue of max_workers + 1 items between
 * the pending work items and the workers; a manager that moves work into
 * it, reads results and watches every worker's sentinel, and breaks the
 * pool when a worker dies (_ExecutorManagerThread); workers that run
 * _process_worker, with the initializer, max_tasks_per_child and the
 * pickling of call and result items.
 *
 * What differs, and why no scenario can tell: libprocref is not
 * thread-safe, so the manager is not a thread but a loop that runs in
 * the caller whenever the caller enters the executor or one of its
 * futures (a submit, a result(), shutdown(), the exit hook), and blocks
 * only where CPython's caller would block on the manager.  Each worker
 * connects to the executor over its own AF_UNIX SOCK_SEQPACKET
 * connection (an abstract address, so spawn and forkserver workers find
 * it by name) and is handed the next call item when it is idle: an item
 * is "in the call queue" from the moment the manager moves it there until
 * a worker takes it, as with CPython's shared pipe.  Items and results
 * cross in libprocref's wire format (wire.c) in place of pickles.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "executor.h"

#define EXTRA_QUEUED_CALLS 1 /* process.py */

static const char broken_pool_msg[] =
	"A process in the process pool was terminated abruptly while the "
	"future was running or pending.";
static const char not_usable_msg[] =
	"A child process terminated abruptly, the process pool is not usable "
	"anymore";

enum fstate { PENDING, RUNNING, CANCELLED, CANCELLED_AND_NOTIFIED, FINISHED };

struct core;

struct future {
	enum fstate state;
	pr_value *result;    /* FINISHED, returned */
	pr_value *exception; /* FINISHED, raised */
	struct core *core;   /* the executor whose manager resolves it */
};

/* _WorkItem */
struct work {
	int64_t id;
	pr_value *future;
	pr_value *fn, *args, *kwargs;
	int chunk; /* map(): args is a list of argument tuples */
};

/* a worker process, as the manager knows it */
struct wproc {
	pr_value *proc;
	pid_t pid;
	int conn; /* -1 until it has said hello, and after EOF */
	int busy; /* it holds a call item */
	int stop; /* a None sentinel is due */
};

enum thread_state { T_NONE, T_RUNNING, T_EXITED, T_DIED };

/* The executor's state: what ProcessPoolExecutor and its
 * _ExecutorManagerThread share.  Lives in the registry until pr_fini. */
struct core {
	struct core *next;
	int max_workers;
	const struct pr_start_method *method;
	pr_value *initializer, *initargs;
	int64_t max_tasks;   /* 0 for None */
	int dynamic;         /* _safe_to_dynamically_spawn_children */
	int exec_alive;      /* the executor object still exists */
	int shutdown_thread; /* _shutdown_thread */
	int cancel_pending;  /* _cancel_pending_futures */
	const char *broken;  /* _broken */
	enum thread_state thread;
	int idle; /* _idle_worker_semaphore */
	int64_t queue_count;
	struct work *pending; /* _pending_work_items, in insertion order */
	size_t npending, cappending;
	int64_t *ids; /* _work_ids */
	size_t nids, capids;
	int64_t *callq; /* the call queue: moved, not yet taken */
	size_t ncallq;
	size_t stuck;        /* 3.6: items whose pickling failed in the feeder */
	struct wproc *procs; /* _processes */
	size_t nprocs, capprocs;
	int processes_none; /* shutdown(wait=False) set _processes = None */
	int wakeup_closed;  /* 3.7/3.8: shutdown(wait=False) closed it */
	int wakeup_dropped; /* 3.9+: shutdown() set the executor's to None */
	int listen_fd;
	int wakeup[2];    /* _ThreadWakeup; 3.6: the result queue's pipe */
	int queues[2][2]; /* the call and result queues' pipes (core_channels) */
	struct sockaddr_un addr;
	socklen_t addrlen;
	char name[64];        /* the abstract address, printable */
	int forgotten;        /* settles() gave up on it */
	int thread_forgotten; /* shutdown() set _executor_manager_thread = None */
};

static struct core *cores;  /* _threads_wakeups, and every other one */
static int global_shutdown; /* _global_shutdown */

static void (*background_hook)(int on);

void pr_set_background_hook(void (*fn)(int on))
{
	background_hook = fn;
}

/* ---- small helpers ----------------------------------------------------- */

static void close_fd(int *fd);

/* the queues' pipes: what join_executor_internals closes with the queues */
static void close_queues(struct core *c)
{
	close_fd(&c->queues[0][0]);
	close_fd(&c->queues[0][1]);
	close_fd(&c->queues[1][0]);
	close_fd(&c->queues[1][1]);
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static int call_method(pr_value *obj, const char *name, struct pr_diag *d)
{
	pr_value *m = NULL, *res = NULL;
	int r;

	if ((r = pr_getattr(obj, name, &m, d)) < 0)
		return r;
	r = pr_call(m, NULL, 0, NULL, NULL, 0, &res, d);
	pr_decref(m);
	pr_decref(res);
	return r;
}

static int send_msg(int fd, const struct sbuf *sb)
{
	ssize_t n;

	if (sb->oom)
		return PR_EMEMORY;
	do
		n = send(fd, sb->p, sb->len, MSG_NOSIGNAL);
	while (n == -1 && errno == EINTR);
	return n < 0 ? -errno : 0;
}

/* One message, malloc'ed: 1, 0 for EOF, -errno. */
static int recv_msg(int fd, char **out, size_t *len)
{
	ssize_t n;
	char *buf;

	*out = NULL;
	do
		n = recv(fd, NULL, 0, MSG_PEEK | MSG_TRUNC);
	while (n == -1 && errno == EINTR);
	if (n <= 0)
		return n == 0 ? 0 : -errno;
	if ((buf = malloc((size_t)n + 1)) == NULL)
		return -ENOMEM;
	/* read(), as Connection._recv_bytes() reads a result: the read
	 * failpoint meets it as it meets CPython's */
	do
		n = read(fd, buf, (size_t)n);
	while (n == -1 && errno == EINTR);
	if (n <= 0) {
		free(buf);
		return n == 0 ? 0 : -errno;
	}
	*out = buf;
	*len = (size_t)n;
	return 1;
}

/* ---- futures (_base.Future) ------------------------------------------- */

static const char *const state_names[] = { "pending", "running", "cancelled", "cancelled",
					   "finished" };

static void future_free(void *data)
{
	struct future *f = data;

	pr_decref(f->result);
	pr_decref(f->exception);
	free(f);
}

/* Future.__repr__ */
static void future_repr(pr_value *v, struct sbuf *sb)
{
	struct future *f = v->u.obj.data;

	pr__sb_printf(sb, "<Future at %#" PRIxPTR " state=%s", (uintptr_t)v, state_names[f->state]);
	if (f->state == FINISHED && f->exception != NULL)
		pr__sb_printf(sb, " raised %s", pr__exc_type(f->exception));
	else if (f->state == FINISHED)
		pr__sb_printf(sb, " returned %s", pr__type_name(f->result));
	pr__sb_putc(sb, '>');
}

static int future_getattr(pr_value *v, const char *name, pr_value **out, struct pr_diag *d);

static const struct pr_objtype future_type = {
	.name = "Future",
	.free = future_free,
	.repr = future_repr,
	.getattr = future_getattr,
};

static pr_value *future_new(struct core *c)
{
	struct future *f = calloc(1, sizeof *f);

	if (f == NULL)
		return NULL;
	f->core = c;
	return pr__object_new(&future_type, f);
}

static struct future *fut(pr_value *v)
{
	return pr__object_data(v, &future_type);
}

static int done_state(enum fstate s)
{
	return s == CANCELLED || s == CANCELLED_AND_NOTIFIED || s == FINISHED;
}

/* Future.set_running_or_notify_cancel: 1 if it now runs */
static int set_running_or_notify_cancel(pr_value *v)
{
	struct future *f = fut(v);

	if (f->state == CANCELLED) {
		f->state = CANCELLED_AND_NOTIFIED;
		return 0;
	}
	f->state = RUNNING;
	return 1;
}

/* Future.set_result / set_exception: -1 where 3.8+ raises
 * InvalidStateError (a done future); 3.6 and 3.7 overwrite */
static int set_outcome(pr_value *v, pr_value *result, pr_value *exception)
{
	struct future *f = fut(v);

	if (done_state(f->state) && pr__profile.ex_invalid_state)
		return -1;
	pr_decref(f->result);
	pr_decref(f->exception);
	f->result = pr_incref(result);
	f->exception = pr_incref(exception);
	f->state = FINISHED;
	return 0;
}

/* Future.cancel */
static int future_cancel(pr_value *v)
{
	struct future *f = fut(v);

	if (f->state == RUNNING || f->state == FINISHED)
		return 0;
	if (f->state == PENDING)
		f->state = CANCELLED;
	return 1;
}

/* ---- the manager (_ExecutorManagerThread) ----------------------------- */

static int manager_iterate(struct core *c, int timeout_ms);

static struct work *find_work(struct core *c, int64_t id, size_t *at)
{
	size_t i;

	for (i = 0; i < c->npending; i++)
		if (c->pending[i].id == id) {
			if (at != NULL)
				*at = i;
			return &c->pending[i];
		}
	return NULL;
}

static void work_release(struct work *w)
{
	pr_decref(w->future);
	pr_decref(w->fn);
	pr_decref(w->args);
	pr_decref(w->kwargs);
}

/* del pending_work_items[id] */
static void pop_work(struct core *c, size_t at)
{
	work_release(&c->pending[at]);
	memmove(&c->pending[at], &c->pending[at + 1], (c->npending - at - 1) * sizeof *c->pending);
	c->npending--;
}

static int pop_id(int64_t *q, size_t *n, int64_t *id)
{
	if (*n == 0)
		return 0;
	*id = q[0];
	memmove(q, q + 1, (*n - 1) * sizeof *q);
	(*n)--;
	return 1;
}

/* _RemoteTraceback(text) */
static pr_value *remote_traceback(const char *quote, const char *tb, size_t len)
{
	struct sbuf sb = SBUF_INIT;
	pr_value *s, *args;
	char *text = NULL;
	size_t n;

	pr__sb_printf(&sb, "\n%s\n", quote);
	pr__sb_put(&sb, tb, len);
	pr__sb_puts(&sb, quote);
	if (pr__sb_finish(&sb, &text, &n) < 0)
		return NULL;
	s = pr_str(text, n);
	free(text);
	if (s == NULL)
		return NULL;
	args = pr_tuple(&s, 1);
	return pr__exc_new("_RemoteTraceback", args);
}

/* The call item for w onto sb: 0, or the pickling error in d. */
static int put_call_item(struct sbuf *sb, struct work *w, struct pr_diag *d)
{
	int r;

	if ((r = pr_pickle_check(w->fn, d)) < 0 || (r = pr_pickle_check(w->args, d)) < 0 ||
	    (w->kwargs != NULL && (r = pr_pickle_check(w->kwargs, d)) < 0))
		return r;
	pr__sb_putc(sb, 'C');
	pr__wire_put_u64(sb, (uint64_t)w->id);
	pr__sb_putc(sb, (char)w->chunk);
	if (pr__wire_put(sb, w->fn) < 0 || pr__wire_put(sb, w->args) < 0 ||
	    pr__wire_put(sb, w->kwargs) < 0)
		return pr_diag(d, PR_ETYPE, "cannot pickle '%s' object", pr__type_name(w->fn));
	return sb->oom ? pr_diag(d, PR_EMEMORY, NULL) : 0;
}

/*
 * _SafeQueue._on_queue_feeder_error: the future fails with the pickling
 * error, its cause the feeder's traceback between \"\"\" lines.  3.6
 * (no _SafeQueue): Queue._feed prints the traceback and the item stays
 * RUNNING forever, its slot taken.
 */
static void feeder_error(struct core *c, size_t at, struct pr_diag *e)
{
	struct sbuf tb = SBUF_INIT;
	pr_value *exc;

	pr__sb_puts(&tb, "Traceback (most recent call last):\n");
	pr__sb_puts(&tb, "  File \"<procref>\", line 0, in _feed\n");
	pr__exc_line(&tb, e->type ? e->type : "TypeError", e->message, e->message_len);
	if (!pr__profile.ex_safe_queue) {
		if (!tb.oom)
			pr__write_all(2, tb.p, tb.len);
		pr__sb_release(&tb);
		c->stuck++;
		return;
	}
	exc = pr__exc_from_diag(e);
	if (exc != NULL && !tb.oom)
		pr__exc_set_cause(exc, remote_traceback("\"\"\"", tb.p, tb.len));
	pr__sb_release(&tb);
	if (exc != NULL)
		set_outcome(c->pending[at].future, NULL, exc);
	pr_decref(exc);
	pop_work(c, at);
}

/* _add_call_item_to_queue; the pickling happens here, where CPython's
 * feeder thread does it right after */
static void add_call_items(struct core *c)
{
	struct pr_diag e = PR_DIAG_INIT;
	struct sbuf sb = SBUF_INIT;
	struct work *w;
	int64_t id;
	size_t at;

	while (c->ncallq + c->stuck < (size_t)c->max_workers + EXTRA_QUEUED_CALLS &&
	       pop_id(c->ids, &c->nids, &id)) {
		if ((w = find_work(c, id, &at)) == NULL)
			continue;
		if (!set_running_or_notify_cancel(w->future)) {
			pop_work(c, at);
			continue;
		}
		if (put_call_item(&sb, w, &e) < 0) {
			feeder_error(c, at, &e);
			pr_diag_clear(&e);
			pr__sb_release(&sb);
			continue;
		}
		pr__sb_release(&sb);
		c->callq[c->ncallq++] = id;
	}
}

static struct wproc *proc_by_pid(struct core *c, pid_t pid)
{
	size_t i;

	for (i = 0; i < c->nprocs; i++)
		if (c->procs[i].pid == pid)
			return &c->procs[i];
	return NULL;
}

/* The next call item to an idle worker that has said hello. */
static void hand_out(struct core *c)
{
	struct sbuf sb = SBUF_INIT;
	struct pr_diag e = PR_DIAG_INIT;
	struct wproc *p;
	struct work *w;
	int64_t id;
	size_t i;

	for (i = 0; i < c->nprocs && c->ncallq > 0; i++) {
		p = &c->procs[i];
		if (p->conn < 0 || p->busy || p->stop)
			continue;
		if (!pop_id(c->callq, &c->ncallq, &id) || (w = find_work(c, id, NULL)) == NULL)
			continue;
		if (put_call_item(&sb, w, &e) == 0 && send_msg(p->conn, &sb) == 0)
			p->busy = 1;
		pr_diag_clear(&e);
		pr__sb_release(&sb);
	}
}

/* A worker that connected: its hello names its pid. */
static void accept_workers(struct core *c)
{
	struct wproc *p;
	uint64_t pid;
	const char *q;
	char *msg;
	size_t len;
	int fd;

	for (;;) {
		do
			fd = accept4(c->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		while (fd == -1 && errno == EINTR);
		if (fd < 0)
			return;
		/* blocking: the hello was sent right after connect */
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
		q = NULL;
		if (recv_msg(fd, &msg, &len) == 1 && len >= 9 && msg[0] == 'H') {
			q = msg + 1;
			pr__wire_get_u64(&q, msg + len, &pid);
		}
		p = q != NULL ? proc_by_pid(c, (pid_t)pid) : NULL;
		free(msg);
		if (p == NULL || p->conn >= 0) {
			close(fd);
			continue;
		}
		p->conn = fd;
		if (p->stop) {
			struct sbuf sb = SBUF_INIT;

			pr__sb_putc(&sb, 'S');
			send_msg(fd, &sb);
			pr__sb_release(&sb);
		}
	}
}

static int alive(struct wproc *p)
{
	struct pr_popen *po = p->proc->u.proc->popen;
	int64_t rc;

	return po != NULL && pr__popen_poll(po, WNOHANG, &rc) == 0;
}

/* Whether a worker that has not said hello may still do so: alive, and
 * under fork and spawn its sentinel not at EOF (a waitpid() that fails
 * reads as "not exited", as in CPython; the sentinel tells the truth).
 * A forkserver sentinel carries the pid first: its poll() decides. */
static int may_connect(struct core *c, struct wproc *p)
{
	struct pr_popen *po = p->proc->u.proc->popen;
	struct pollfd q;

	if (!alive(p))
		return 0;
	if (c->method == &pr__forkserver_method || po->sentinel < 0)
		return 1;
	q.fd = po->sentinel;
	q.events = POLLIN;
	return poll(&q, 1, 0) <= 0;
}

/* Popen.terminate() on every worker still there; -1 when one raised
 * (a kill() that failed for a worker still running), which ends
 * CPython's manager thread there */
static int terminate_all(struct core *c)
{
	struct pr_diag e = PR_DIAG_INIT;
	size_t i;
	int r;

	for (i = 0; i < c->nprocs; i++) {
		r = call_method(c->procs[i].proc, "terminate", &e);
		pr_diag_clear(&e);
		if (r < 0)
			return -1;
	}
	return 0;
}

static void forget_proc(struct core *c, size_t i)
{
	close_fd(&c->procs[i].conn);
	pr_decref(c->procs[i].proc);
	memmove(&c->procs[i], &c->procs[i + 1], (c->nprocs - i - 1) * sizeof *c->procs);
	c->nprocs--;
}

/*
 * join_executor_internals: a None sentinel to every worker (shutdown_workers),
 * close the queues and the wakeup, join every worker.  A worker still
 * starting gets its sentinel when it says hello.
 */
static void join_internals(struct core *c)
{
	struct pr_diag e = PR_DIAG_INIT;
	struct pollfd pfd;
	struct sbuf sb = SBUF_INIT;
	size_t i;
	int waiting;

	pr__sb_putc(&sb, 'S');
	for (i = 0; i < c->nprocs; i++) {
		c->procs[i].stop = 1;
		if (c->procs[i].conn >= 0)
			send_msg(c->procs[i].conn, &sb);
	}
	pr__sb_release(&sb);
	/* a worker that has not connected yet is still to be told */
	do {
		accept_workers(c);
		waiting = 0;
		for (i = 0; i < c->nprocs; i++)
			if (c->procs[i].conn < 0 && may_connect(c, &c->procs[i]))
				waiting = 1;
		if (waiting) {
			pfd.fd = c->listen_fd;
			pfd.events = POLLIN;
			poll(&pfd, 1, 50);
		}
	} while (waiting && c->listen_fd >= 0);
	close_fd(&c->wakeup[0]);
	close_fd(&c->wakeup[1]);
	close_queues(c);
	while (c->nprocs > 0) {
		call_method(c->procs[0].proc, "join", &e);
		pr_diag_clear(&e);
		forget_proc(c, 0);
	}
	close_fd(&c->listen_fd);
	c->ncallq = 0;
}

/* The manager thread ends with an exception (CPython prints it through
 * threading.excepthook, when it happens: not in a transcript). */
static void manager_dies(struct core *c)
{
	c->thread = T_DIED;
}

/* _terminate_broken(cause) */
static void terminate_broken(struct core *c, pr_value *cause)
{
	pr_value *bpe;
	size_t i;

	if (c->exec_alive) {
		c->broken = not_usable_msg;
		c->shutdown_thread = 1;
	}
	bpe = pr__exc_msg("BrokenProcessPool", broken_pool_msg);
	if (bpe != NULL && cause != NULL)
		pr__exc_set_cause(bpe, pr_incref(cause));
	for (i = 0; i < c->npending; i++) {
		if (set_outcome(c->pending[i].future, NULL, bpe) < 0 && pr__profile.bug_107219) {
			/* gh-107219: InvalidStateError out of the loop; the
			 * futures after this one never resolve */
			pr_decref(bpe);
			manager_dies(c);
			return;
		}
	}
	pr_decref(bpe);
	while (c->npending > 0)
		pop_work(c, c->npending - 1);
	if (terminate_all(c) < 0) {
		/* the exception leaves the manager thread: nothing is joined
		 * or closed, the workers left are never told to stop */
		manager_dies(c);
		return;
	}
	join_internals(c);
	c->thread = T_EXITED;
}

static int spawn_process(struct core *c, struct pr_diag *d);

/* _adjust_process_count */
static int adjust_process_count(struct core *c, struct pr_diag *d)
{
	int r;

	if (pr__profile.ex_on_demand) {
		if (c->idle > 0) {
			c->idle--;
			return 0;
		}
		if (c->nprocs < (size_t)c->max_workers)
			return spawn_process(c, d);
		return 0;
	}
	while (c->nprocs < (size_t)c->max_workers)
		if ((r = spawn_process(c, d)) < 0)
			return r;
	return 0;
}

static int is_shutting_down(struct core *c)
{
	return global_shutdown || !c->exec_alive || c->shutdown_thread;
}

/* flag_executor_shutting_down: cancel_futures cancels what is pending */
static void flag_shutting_down(struct core *c)
{
	size_t i;

	if (!c->exec_alive)
		return;
	c->shutdown_thread = 1;
	if (!c->cancel_pending)
		return;
	for (i = c->npending; i > 0; i--)
		if (future_cancel(c->pending[i - 1].future))
			pop_work(c, i - 1);
	c->nids = 0;
	c->cancel_pending = 0;
}

/* The result message of a worker: process_result_item, and the exit of a
 * worker that reached max_tasks_per_child. */
static void process_result(struct core *c, struct wproc *p, const char *msg, size_t len)
{
	const char *q = msg + 1, *end = msg + len, *type, *tb;
	pr_value *value = NULL, *args = NULL, *exc = NULL, *cause = NULL;
	struct pr_diag e = PR_DIAG_INIT;
	size_t typelen, tblen, at;
	uint64_t id;
	char kind, *tname;
	int exiting, unpicklable;
	pid_t pid = p->pid;

	p->busy = 0;
	if (pr__wire_get_u64(&q, end, &id) < 0 || end - q < 2)
		return;
	exiting = *q++;
	kind = *q++;
	if (kind == 'v') {
		pr__wire_get(&q, end, &value);
	} else if (pr__wire_get_blob(&q, end, &type, &typelen) == 0 &&
		   pr__wire_get(&q, end, &args) == 0 &&
		   pr__wire_get_blob(&q, end, &tb, &tblen) == 0 && q < end) {
		unpicklable = *q;
		if (unpicklable) {
			/* result_reader.recv() raises: the pool breaks, with
			 * the unpickling traceback as the cause (3.6: the
			 * manager dies and nothing ever resolves) */
			struct sbuf sb = SBUF_INIT;

			pr_decref(args);
			if (!pr__profile.ex_safe_queue) {
				manager_dies(c);
				return;
			}
			pr__sb_puts(&sb, "Traceback (most recent call last):\n");
			pr__sb_puts(&sb, "  File \"<procref>\", line 0, in "
					 "wait_result_broken_or_wakeup\n");
			pr__sb_printf(&sb,
				      "TypeError: %s__init__() missing 1 "
				      "required positional argument: 'b'\n",
				      pr__profile.qualname_errors ? PR__UNPICKLABLE_CLASS "." : "");
			cause = sb.oom ? NULL : remote_traceback("'''", sb.p, sb.len);
			pr__sb_release(&sb);
			terminate_broken(c, cause);
			pr_decref(cause);
			return;
		}
		if ((tname = strndup(type, typelen)) != NULL &&
		    (exc = pr__exc_new(tname, args)) != NULL)
			pr__exc_set_cause(exc, remote_traceback("\"\"\"", tb, tblen));
		else
			pr_decref(args);
		free(tname);
	}
	if (find_work(c, (int64_t)id, &at) != NULL) {
		if (exc != NULL || value != NULL)
			set_outcome(c->pending[at].future, value, exc);
		pop_work(c, at);
	}
	pr_decref(value);
	pr_decref(exc);
	if (!exiting) {
		if (c->exec_alive && pr__profile.ex_on_demand)
			c->idle++;
		return;
	}
	/* p = self.processes.pop(result_item.exit_pid); p.join() */
	for (at = 0; at < c->nprocs && c->procs[at].pid != pid; at++)
		;
	if (at < c->nprocs) {
		call_method(c->procs[at].proc, "join", &e);
		pr_diag_clear(&e);
		forget_proc(c, at);
	}
	if (!c->exec_alive)
		return;
	if (c->processes_none) {
		/* gh-132969: _adjust_process_count's len(self._processes)
		 * on None, unless an idle worker is counted first */
		if (c->idle > 0) {
			c->idle--;
			return;
		}
		if (pr__profile.bug_132969)
			manager_dies(c);
		return;
	}
	if (adjust_process_count(c, &e) < 0)
		manager_dies(c);
	pr_diag_clear(&e);
}

/*
 * One turn of _ExecutorManagerThread.run: move work into the call queue,
 * wait (at most timeout_ms, -1 forever) for a result, a wakeup or a
 * worker's end, act on it.  Returns 1 if anything happened, 0 if the
 * time ran out, -1 once the manager is gone.
 */
/* The cause of a BrokenProcessPool whose result read failed with err:
 * format_exception() of the OSError, as a _RemoteTraceback */
static pr_value *read_error_cause(int err)
{
	struct sbuf sb = SBUF_INIT;
	pr_value *cause;

	pr__sb_puts(&sb, "Traceback (most recent call last):\n");
	pr__sb_puts(&sb, "  File \"<procref>\", line 0, in wait_result_broken_or_wakeup\n");
	pr__sb_printf(&sb, "%s: [Errno %d] %s\n", pr_error_type(-err), err, strerror(err));
	cause = sb.oom ? NULL : remote_traceback("'''", sb.p, sb.len);
	pr__sb_release(&sb);
	return cause;
}

static int manager_iterate_in(struct core *c, int timeout_ms)
{
	struct pollfd *pfd;
	size_t i, n = 0, nconn, k;
	int r, woke = 0, got_result = 0;
	char *msg;
	size_t len;
	char buf[64];

	if (c->thread != T_RUNNING)
		return -1;
	if (c->wakeup_closed && c->npending > 0) {
		/* bpo-39098: waiting on the closed wakeup raises OSError:
		 * handle is closed */
		manager_dies(c);
		return -1;
	}
	add_call_items(c);
	accept_workers(c);
	hand_out(c);
	if ((pfd = calloc(2 * c->nprocs + 2, sizeof *pfd)) == NULL)
		return 0;
	pfd[n].fd = c->wakeup[0];
	pfd[n++].events = POLLIN;
	pfd[n].fd = c->listen_fd;
	pfd[n++].events = POLLIN;
	for (i = 0; i < c->nprocs; i++) {
		pfd[n].fd = c->procs[i].conn;
		pfd[n++].events = POLLIN;
	}
	nconn = n;
	for (i = 0; i < c->nprocs; i++) {
		struct pr_popen *po = c->procs[i].proc->u.proc->popen;

		pfd[n].fd = po != NULL ? po->sentinel : -1;
		pfd[n++].events = POLLIN;
	}
	do
		r = poll(pfd, n, timeout_ms);
	while (r == -1 && errno == EINTR);
	if (r <= 0) {
		free(pfd);
		return 0;
	}
	if (pfd[1].revents) {
		accept_workers(c);
		woke = 1;
	}
	/* result_reader first: a result that came before the worker's end;
	 * one result a round, as wait_result_broken_or_wakeup() reads one */
	for (k = 2; k < nconn && !got_result; k++) {
		struct wproc *p = &c->procs[k - 2];

		if (!pfd[k].revents || p->conn != pfd[k].fd)
			continue;
		r = recv_msg(p->conn, &msg, &len);
		if (r < 0 && r != -ECONNRESET) {
			/* result_reader.recv() raises: is_broken with the
			 * OSError as the cause (3.6: the manager dies) */
			pr_value *cause;

			free(pfd);
			if (!pr__profile.ex_safe_queue) {
				manager_dies(c);
				return -1;
			}
			cause = read_error_cause(-r);
			terminate_broken(c, cause);
			pr_decref(cause);
			return 1;
		}
		if (r <= 0) {
			close_fd(&p->conn);
			woke = 1;
			continue;
		}
		if (msg[0] == 'R') {
			process_result(c, p, msg, len);
			got_result = 1;
		} else {
			woke = 1;
		}
		free(msg);
	}
	if (pfd[0].revents) {
		/* _ThreadWakeup.clear() after the result (3.6: the result
		 * queue's recv()): an error other than "empty" raises out of
		 * the manager thread */
		ssize_t got;

		do
			got = read(c->wakeup[0], buf, sizeof buf);
		while (got == (ssize_t)sizeof buf || (got < 0 && errno == EINTR));
		if (got < 0 && errno != EAGAIN) {
			free(pfd);
			manager_dies(c);
			return -1;
		}
		woke = 1;
	}
	if (got_result) {
		free(pfd);
		goto after_result;
	}
	if (!woke) {
		for (k = nconn; k < n; k++)
			if (pfd[k].revents) {
				/* a worker ended without a word */
				free(pfd);
				terminate_broken(c, NULL);
				return 1;
			}
	}
	free(pfd);
after_result:
	if (c->thread != T_RUNNING)
		return 1;
	hand_out(c);
	if (is_shutting_down(c)) {
		flag_shutting_down(c);
		add_call_items(c);
		hand_out(c);
		if (c->npending == 0) {
			join_internals(c);
			c->thread = T_EXITED;
		}
	}
	return 1;
}

/* One round of the manager, as the background work it is in CPython
 * (pr_set_background_hook). */
static int manager_iterate(struct core *c, int timeout_ms)
{
	int r;

	if (c->thread != T_RUNNING)
		return -1;
	if (background_hook != NULL)
		background_hook(1);
	r = manager_iterate_in(c, timeout_ms);
	if (background_hook != NULL)
		background_hook(0);
	return r;
}

/* Let the manager catch up with what is ready now. */
static void manager_pump(struct core *c)
{
	int n = 0;

	if (c == NULL)
		return;
	while (c->thread == T_RUNNING && manager_iterate(c, 0) > 0 && n++ < 1000)
		;
}

void pr__executors_pump(void)
{
	struct core *c;

	for (c = cores; c != NULL; c = c->next)
		if (!c->forgotten)
			manager_pump(c);
}

/* The manager until done(arg) or deadline (ms, -1 none); 1 if done. */
static int manager_wait(struct core *c, int (*done)(void *), void *arg, int64_t deadline)
{
	int64_t left;
	int nap = 1;

	for (;;) {
		if (done(arg))
			return 1;
		left = deadline < 0 ? -1 : deadline - now_ms();
		if (deadline >= 0 && left <= 0)
			return done(arg);
		if (c != NULL && c->thread == T_RUNNING) {
			manager_iterate(c, left < 0 || left > 1000 ? 1000 : (int)left);
		} else {
			/* No manager will change it, but a worker may still exit
			 * (done() reaps it): look again after 1, 2, 4 ... 64 ms,
			 * so that a pool that settles 5 ms from now is seen
			 * settled then, not a second later. */
			poll(NULL, 0, left >= 0 && left < nap ? (int)left : nap);
			if (nap < 64)
				nap *= 2;
		}
	}
}

/* _ThreadWakeup.wakeup() (3.6: _result_queue.put(None)): one write, whose
 * error the caller raises as submit() and shutdown() do; -errno */
static int wakeup(struct core *c)
{
	ssize_t n = 0;

	if (c->wakeup[1] >= 0) {
		do
			n = write(c->wakeup[1], "", 1);
		while (n == -1 && errno == EINTR);
	}
	return n < 0 && errno != EAGAIN ? -errno : 0;
}

/* ---- starting workers -------------------------------------------------- */

static const pr_func process_worker_func;

/* The socket the workers connect to, before the first of them starts
 * (core_channels says why the raw system call). */
static int listen_socket(struct core *c, struct pr_diag *d)
{
	if (c->listen_fd >= 0)
		return 0;
	c->listen_fd = (int)syscall(SYS_socket, AF_UNIX,
				    SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (c->listen_fd < 0 || bind(c->listen_fd, (struct sockaddr *)&c->addr, c->addrlen) < 0 ||
	    listen(c->listen_fd, 64) < 0) {
		close_fd(&c->listen_fd);
		return pr_diag(d, -errno, NULL);
	}
	return 0;
}

/* _spawn_process: Process(target=_process_worker, args=(...)).start(),
 * with the executor's context */
static int spawn_process(struct core *c, struct pr_diag *d)
{
	static const char *const kw[] = { "target", "args" };
	const struct pr_start_method *saved = pr__rt.method;
	pr_value *cls = NULL, *proc = NULL, *target = NULL, *args = NULL;
	pr_value *items[4] = { NULL, NULL, NULL, NULL }, *kwv[2];
	struct wproc *grown;
	int r;

	if ((r = listen_socket(c, d)) < 0)
		return r;
	items[0] = pr_str(c->name, strlen(c->name));
	items[1] = pr_incref(c->initializer ? c->initializer : pr_none());
	items[2] = pr_incref(c->initargs ? c->initargs : pr_none());
	items[3] = c->max_tasks ? pr_int(c->max_tasks) : pr_none();
	args = pr_tuple(items, 4);
	target = pr_function(&process_worker_func);
	cls = pr__class(pr__process_init());
	if (args == NULL || target == NULL || cls == NULL) {
		r = pr_diag(d, PR_EMEMORY, NULL);
		goto out;
	}
	kwv[0] = target;
	kwv[1] = args;
	if ((r = pr_call(cls, NULL, 0, kw, kwv, 2, &proc, d)) < 0)
		goto out;
	grown = realloc(c->procs, (c->nprocs + 1) * sizeof *grown);
	if (grown == NULL) {
		r = pr_diag(d, PR_EMEMORY, NULL);
		goto out;
	}
	c->procs = grown;
	pr__rt.method = c->method;
	r = pr_process_start(proc, d);
	pr__rt.method = saved;
	if (r < 0)
		goto out;
	c->procs[c->nprocs].proc = pr_incref(proc);
	c->procs[c->nprocs].pid = pr_process_pid(proc);
	c->procs[c->nprocs].conn = -1;
	c->procs[c->nprocs].busy = 0;
	c->procs[c->nprocs].stop = 0;
	c->nprocs++;
out:
	pr_decref(proc);
	pr_decref(cls);
	pr_decref(target);
	pr_decref(args);
	return r;
}

/* ---- the worker (_process_worker) ------------------------------------- */

/* What a worker inherits by fork and must not keep: the scenario's gate
 * fds, and every executor's listening socket, wakeup and connections. */
static void worker_after_fork(void)
{
	struct core *c;
	size_t i;

	pr__gates_after_fork();
	for (c = cores; c != NULL; c = c->next) {
		close_fd(&c->listen_fd);
		close_fd(&c->wakeup[0]);
		close_fd(&c->wakeup[1]);
		close_queues(c);
		for (i = 0; i < c->nprocs; i++)
			close_fd(&c->procs[i].conn);
	}
}

/* The exception part of a result item, for the diag the call raised. */
static void put_exception(struct sbuf *sb, const struct pr_diag *e, const char *where)
{
	struct sbuf tb = SBUF_INIT;
	pr_value *exc = pr__exc_from_diag(e);
	pr_value *args = NULL;

	pr__sb_putc(sb, 'e');
	pr__wire_put_blob(sb, e->type ? e->type : "SystemError",
			  strlen(e->type ? e->type : "SystemError"));
	if (exc != NULL)
		pr_getattr(exc, "args", &args, NULL);
	if (args == NULL || pr__wire_put(sb, args) < 0) {
		pr_decref(args);
		args = pr_tuple(NULL, 0);
		pr__wire_put(sb, args);
	}
	pr_decref(args);
	pr_decref(exc);
	pr__exc_traceback(&tb, where, e);
	pr__wire_put_blob(sb, tb.p ? tb.p : "", tb.len);
	pr__sb_release(&tb);
	pr__sb_putc(sb, (char)pr__raised_unpicklable);
	pr__raised_unpicklable = 0;
}

/* r = call_item.fn(*args, **kwargs), or _process_chunk(fn, chunk) */
static int run_call(pr_value *fn, pr_value *args, pr_value *kwargs, int chunk, pr_value **out,
		    struct pr_diag *d)
{
	pr_value **results;
	size_t i, n;
	int r = 0;

	if (!chunk)
		return pr__call_with(fn, args, kwargs, out, d);
	n = pr_len(args);
	if ((results = calloc(n + 1, sizeof *results)) == NULL)
		return pr_diag(d, PR_EMEMORY, NULL);
	for (i = 0; i < n && r == 0; i++)
		r = pr__call_with(fn, pr_item(args, i), NULL, &results[i], d);
	if (r < 0) {
		pr__items_free(results, i);
		return r;
	}
	*out = pr_list(results, n);
	free(results);
	return *out ? 0 : pr_diag(d, PR_EMEMORY, NULL);
}

/* _sendback_result: the result, or the error pickling it (3.7+; 3.6:
 * the worker dies of it) */
static int send_result(int fd, uint64_t id, int exiting, pr_value *value,
		       const struct pr_diag *raised, struct pr_diag *d)
{
	struct sbuf sb = SBUF_INIT;
	struct pr_diag e = PR_DIAG_INIT;
	int r = 0;

	pr__sb_putc(&sb, 'R');
	pr__wire_put_u64(&sb, id);
	pr__sb_putc(&sb, (char)exiting);
	if (raised != NULL) {
		put_exception(&sb, raised, "_process_worker");
	} else if (pr_pickle_check(value, &e) < 0 ||
		   (pr__sb_putc(&sb, 'v'), pr__wire_put(&sb, value) < 0)) {
		if (e.code == 0)
			pr_diag(&e, PR_ETYPE, "cannot pickle '%s' object", pr__type_name(value));
		if (!pr__profile.ex_safe_queue) {
			/* the exception leaves _process_worker: the
			 * process's traceback and exit code 1 */
			pr__sb_release(&sb);
			r = pr__diag_setn(d, e.code, e.type, e.message, e.message_len);
			pr_diag_clear(&e);
			return r;
		}
		pr__sb_release(&sb);
		pr__sb_putc(&sb, 'R');
		pr__wire_put_u64(&sb, id);
		pr__sb_putc(&sb, (char)exiting);
		put_exception(&sb, &e, "_sendback_result");
	}
	pr_diag_clear(&e);
	send_msg(fd, &sb);
	pr__sb_release(&sb);
	return r;
}

/*
 * _process_worker(address, initializer, initargs, max_tasks): in the
 * worker process, the initializer (its failure logged as CPython's
 * LOGGER.critical does, then return), then call items until None.
 */
static int process_worker(pr_value *self, pr_value **argv, pr_value **out, struct pr_diag *d)
{
	pr_value *address = argv[0], *initializer = argv[1], *initargs = argv[2];
	pr_value *fn = NULL, *args = NULL, *kwargs = NULL, *res = NULL;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct pr_diag e = PR_DIAG_INIT;
	struct sbuf sb = SBUF_INIT;
	int64_t max_tasks = 0, done = 0;
	const char *q, *end;
	uint64_t id;
	size_t len;
	char *msg;
	int fd = -1, r = 0, chunk, exiting;

	(void)self;
	(void)out;
	worker_after_fork();
	if (argv[3] != NULL && argv[3]->kind == PR_INT)
		max_tasks = argv[3]->u.i.small;
	if (initializer->kind != PR_NONE) {
		pr_value *ia = initargs->kind == PR_NONE ? NULL : initargs;
		pr_value *empty = ia == NULL ? pr_tuple(NULL, 0) : NULL;

		r = pr__call_with(initializer, ia ? ia : empty, NULL, &res, &e);
		pr_decref(empty);
		pr_decref(res);
		res = NULL;
		if (r < 0) {
			pr__sb_puts(&sb, "Exception in initializer:\n");
			pr__exc_traceback(&sb, "_process_worker", &e);
			pr__flush_std_streams();
			if (!sb.oom)
				pr__write_all(2, sb.p, sb.len);
			pr__sb_release(&sb);
			pr_diag_clear(&e);
			return 0;
		}
	}
	if ((fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0)) < 0)
		return pr_diag(d, -errno, NULL);
	memcpy(sa.sun_path + 1, address->u.s.data, address->u.s.len);
	if (connect(fd, (struct sockaddr *)&sa,
		    (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + address->u.s.len)) <
	    0) {
		r = pr_diag(d, -errno, NULL);
		goto out;
	}
	pr__sb_putc(&sb, 'H');
	pr__wire_put_u64(&sb, (uint64_t)getpid());
	send_msg(fd, &sb);
	pr__sb_release(&sb);
	for (;;) {
		if (recv_msg(fd, &msg, &len) != 1)
			break; /* the executor is gone */
		if (msg[0] == 'S') {
			/* result_queue.put(os.getpid()) */
			free(msg);
			pr__sb_putc(&sb, 'X');
			pr__wire_put_u64(&sb, (uint64_t)getpid());
			send_msg(fd, &sb);
			pr__sb_release(&sb);
			break;
		}
		q = msg + 1;
		end = msg + len;
		if (msg[0] != 'C' || pr__wire_get_u64(&q, end, &id) < 0 || q >= end) {
			free(msg);
			continue;
		}
		chunk = *q++;
		if (pr__wire_get(&q, end, &fn) < 0 || pr__wire_get(&q, end, &args) < 0 ||
		    pr__wire_get(&q, end, &kwargs) < 0 || fn == NULL || args == NULL) {
			free(msg);
			pr_decref(fn);
			pr_decref(args);
			pr_decref(kwargs);
			fn = args = kwargs = NULL;
			continue;
		}
		free(msg);
		exiting = max_tasks > 0 && ++done >= max_tasks;
		r = run_call(fn, args, kwargs, chunk, &res, &e);
		pr__flush_std_streams();
		r = send_result(fd, id, exiting, res, r < 0 ? &e : NULL, d);
		pr_diag_clear(&e);
		pr_decref(res);
		pr_decref(fn);
		pr_decref(args);
		pr_decref(kwargs);
		res = fn = args = kwargs = NULL;
		if (r < 0 || exiting)
			break;
	}
out:
	close_fd(&fd);
	return r;
}

static const char *const worker_params[] = { "address", "initializer", "initargs", "max_tasks" };
static const pr_func process_worker_func = {
	.name = "_process_worker",
	.params = worker_params,
	.nparams = 4,
	.nrequired = 4,
	.fn = process_worker,
};

pr_value *pr__executor_function(const char *name)
{
	if (strcmp(name, "_process_worker") == 0)
		return pr_function(&process_worker_func);
	return NULL;
}

/* ---- contexts (get_context) ------------------------------------------ */

static void context_repr(pr_value *v, struct sbuf *sb)
{
	const struct pr_start_method *m = v->u.obj.data;
	const char *cls = strcmp(m->name, "fork") == 0  ? "ForkContext" :
			  strcmp(m->name, "spawn") == 0 ? "SpawnContext" :
							  "ForkServerContext";

	pr__sb_printf(sb, "<multiprocessing.context.%s object at %#" PRIxPTR ">", cls,
		      (uintptr_t)v);
}

static int context_getattr(pr_value *v, const char *name, pr_value **out, struct pr_diag *d);

/* context.py's ForkContext, SpawnContext and ForkServerContext */
static const struct pr_objtype context_types[3] = {
	{ .name = "ForkContext", .repr = context_repr, .getattr = context_getattr },
	{ .name = "SpawnContext", .repr = context_repr, .getattr = context_getattr },
	{ .name = "ForkServerContext", .repr = context_repr, .getattr = context_getattr },
};

/* v's start method if v is a context, else NULL */
static const struct pr_start_method *context_method(const pr_value *v)
{
	size_t i;
	void *m;

	for (i = 0; i < ARRAY_SIZE(context_types); i++)
		if ((m = pr__object_data(v, &context_types[i])) != NULL)
			return m;
	return NULL;
}

/* BaseContext.get_start_method(allow_none=False): its _name */
static int ctx_get_start_method(pr_value *self, pr_value **argv, pr_value **out, struct pr_diag *d)
{
	const struct pr_start_method *m = self->u.obj.data;

	(void)argv;
	*out = pr_str(m->name, strlen(m->name));
	return *out ? 0 : pr_diag(d, PR_EMEMORY, NULL);
}

/* BaseContext.set_start_method(method, force=False): a concrete context
 * refuses */
static int ctx_set_start_method(pr_value *self, pr_value **argv, pr_value **out, struct pr_diag *d)
{
	(void)self;
	(void)argv;
	(void)out;
	return pr_diag(d, PR_EVALUE, "cannot set start method of concrete context");
}

static int ctx_get_context(pr_value *self, pr_value **argv, pr_value **out, struct pr_diag *d);

static const char *const allow_none_params[] = { "allow_none" };
static const char *const set_method_params[] = { "method", "force" };
static const char *const method_params[] = { "method" };

static const pr_func context_methods[] = {
	{ .name = "BaseContext.get_context",
	  .params = method_params,
	  .nparams = 1,
	  .fn = ctx_get_context },
	{ .name = "BaseContext.get_start_method",
	  .params = allow_none_params,
	  .nparams = 1,
	  .fn = ctx_get_start_method },
	{ .name = "BaseContext.set_start_method",
	  .params = set_method_params,
	  .nparams = 2,
	  .nrequired = 1,
	  .fn = ctx_set_start_method },
};

static int context_getattr(pr_value *v, const char *name, pr_value **out, struct pr_diag *d)
{
	const struct pr_start_method *m = v->u.obj.data;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(context_methods); i++)
		if (strcmp(context_methods[i].name + strlen("BaseContext."), name) == 0) {
			*out = pr__method(&context_methods[i], v);
			return *out ? 0 : pr_diag(d, PR_EMEMORY, NULL);
		}
	if (strcmp(name, "_name") == 0) {
		*out = pr_str(m->name, strlen(m->name));
		return *out ? 0 : pr_diag(d, PR_EMEMORY, NULL);
	}
	if (strcmp(name, "Process") == 0) {
		*out = pr__context_class(m);
		return *out ? 0 : pr_diag(d, PR_EMEMORY, NULL);
	}
	return pr_diag(d, PR_EUNSUPPORTED, "libprocref does not model %s.%s", v->u.obj.type->name,
		       name);
}

/* The one context object of each start method, as context.py's
 * _concrete_contexts holds them: get_context('fork') is get_context('fork') */
static pr_value *context_of(const struct pr_start_method *m)
{
	static pr_value *contexts[3];
	size_t i = m == &pr__fork_method ? 0 : m == &pr__spawn_method ? 1 : 2;

	if (contexts[i] == NULL)
		contexts[i] = pr__object_new(&context_types[i], (void *)m);
	return contexts[i] != NULL ? pr_incref(contexts[i]) : NULL;
}

static const char *const name_params[] = { "method" };

/* ValueError('cannot find context for %r' % method) */
int pr__bad_context(pr_value *method, struct pr_diag *d)
{
	struct sbuf sb = SBUF_INIT;
	char *text = NULL;
	int r;

	pr__value_repr(method, &sb);
	if ((r = pr__sb_finish(&sb, &text, NULL)) < 0)
		return pr_diag(d, r, NULL);
	r = pr_diag(d, PR_EVALUE, "cannot find context for %s", text);
	free(text);
	return r;
}

/* multiprocessing.get_context(method=None) */
static int g_get_context(pr_value *self, pr_value **argv, pr_value **out, struct pr_diag *d)
{
	const struct pr_start_method *m = pr__rt.method;
	const char *name;

	(void)self;
	if (argv[0] != NULL && argv[0]->kind != PR_NONE) {
		name = argv[0]->kind == PR_STR ? argv[0]->u.s.data : "";
		if (strcmp(name, "fork") == 0)
			m = &pr__fork_method;
		else if (strcmp(name, "spawn") == 0)
			m = &pr__spawn_method;
		else if (strcmp(name, "forkserver") == 0)
			m = &pr__forkserver_method;
		else
			return pr__bad_context(argv[0], d);
	}
	*out = context_of(m);
	return *out ? 0 : pr_diag(d, PR_EMEMORY, NULL);
}

/* BaseContext.get_context(method=None): itself, or the named one */
static int ctx_get_context(pr_value *self, pr_value **argv, pr_value **out, struct pr_diag *d)
{
	if (argv[0] == NULL || argv[0]->kind == PR_NONE) {
		*out = pr_incref(self);
		return 0;
	}
	return g_get_context(NULL, argv, out, d);
}

/* ---- the executor object --------------------------------------------- */

static void executor_free(void *data)
{
	struct core *c = data;

	/* the weakref callback: the manager finishes the work and leaves */
	c->exec_alive = 0;
	(void)wakeup(c); /* an exception in a weakref callback is ignored */
}

static void executor_repr(pr_value *v, struct sbuf *sb)
{
	pr__sb_printf(sb,
		      "<concurrent.futures.process.ProcessPoolExecutor "
		      "object at %#" PRIxPTR ">",
		      (uintptr_t)v);
}

static int executor_getattr(pr_value *v, const char *name, pr_value **out, struct pr_diag *d);

static const struct pr_objtype executor_type = {
	.name = "ProcessPoolExecutor",
	.free = executor_free,
	.repr = executor_repr,
	.getattr = executor_getattr,
};

static struct core *core_of(pr_value *v)
{
	return pr__object_data(v, &executor_type);
}

static void core_free(struct core *c)
{
	size_t i;

	for (i = 0; i < c->npending; i++)
		work_release(&c->pending[i]);
	free(c->pending);
	free(c->ids);
	free(c->callq);
	while (c->nprocs > 0)
		forget_proc(c, c->nprocs - 1);
	free(c->procs);
	close_fd(&c->listen_fd);
	close_fd(&c->wakeup[0]);
	close_fd(&c->wakeup[1]);
	close_queues(c);
	pr_decref(c->initializer);
	pr_decref(c->initargs);
	free(c);
}

static int is_callable(const pr_value *v)
{
	return v->kind == PR_FUNCTION || v->kind == PR_METHOD;
}

/*
 * The channels the constructor makes, in CPython's order for the profile:
 * _ThreadWakeup's pipe (3.7+; first from 3.9), the call queue's and the
 * result queue's pipes (os.pipe(), under each Connection of Pipe(duplex=
 * False)), so that a fault on the constructor's Nth pipe2() meets the same
 * call in libprocref as in CPython.  The queues' pipes carry nothing here:
 * items and results cross the socket the workers connect to, which is
 * made when the first worker starts, with the raw system call, so that it
 * meets no fault site CPython does not and the constructor leaves the fds
 * CPython's does (on 3.6 the result queue's pipe is the wakeup, as
 * CPython puts None on the result queue to wake its manager).
 */
static int core_channels(struct core *c, struct pr_diag *d)
{
	unsigned char rnd[8];
	size_t len;

	if (pr__profile.ex_wakeup_first && pipe2(c->wakeup, O_CLOEXEC | O_NONBLOCK) < 0)
		return pr_diag(d, -errno, NULL);
	if (pipe2(c->queues[0], O_CLOEXEC) < 0 || pipe2(c->queues[1], O_CLOEXEC) < 0)
		return pr_diag(d, -errno, NULL);
	if (!pr__profile.ex_wakeup_pipe) {
		memcpy(c->wakeup, c->queues[1], sizeof c->wakeup);
		c->queues[1][0] = c->queues[1][1] = -1;
		if (fcntl(c->wakeup[0], F_SETFL, O_NONBLOCK) < 0 ||
		    fcntl(c->wakeup[1], F_SETFL, O_NONBLOCK) < 0)
			return pr_diag(d, -errno, NULL);
	} else if (!pr__profile.ex_wakeup_first && pipe2(c->wakeup, O_CLOEXEC | O_NONBLOCK) < 0) {
		return pr_diag(d, -errno, NULL);
	}
	if (getrandom(rnd, sizeof rnd, GRND_NONBLOCK) != (ssize_t)sizeof rnd)
		memset(rnd, 0, sizeof rnd);
	snprintf(c->name, sizeof c->name,
		 "procref-executor-%ld-%p-%02x%02x%02x"
		 "%02x",
		 (long)getpid(), (void *)c, rnd[0], rnd[1], rnd[2], rnd[3]);
	len = strlen(c->name);
	c->addr.sun_family = AF_UNIX;
	memcpy(c->addr.sun_path + 1, c->name, len);
	c->addrlen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + len);
	return 0;
}

static long cpu_count(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n > 0 ? n : 1;
}

/*
 * ProcessPoolExecutor.__init__(max_workers=None, mp_context=None,
 * initializer=None, initargs=(), *, max_tasks_per_child=None), its checks
 * in CPython's order for the profile.
 */
static int executor_init(pr_value *self, pr_value **argv, pr_value **out, struct pr_diag *d)
{
	pr_value *max_workers = argv[0], *ctx = NULL, *init = NULL;
	pr_value *initargs = NULL, *mtpc = NULL;
	const struct pr_start_method *m = pr__rt.method;
	struct core *c;
	double mw = 0;
	int r, is_float = 0;

	(void)self;
	if (pr__profile.ex_initializer) {
		ctx = argv[1];
		init = argv[2];
		initargs = argv[3];
		if (pr__profile.ex_mtpc)
			mtpc = argv[4];
	}
	if (ctx != NULL && ctx->kind == PR_NONE)
		ctx = NULL;
	if (init != NULL && init->kind == PR_NONE)
		init = NULL;
	if (mtpc != NULL && mtpc->kind == PR_NONE)
		mtpc = NULL;
	if (max_workers != NULL && max_workers->kind != PR_NONE) {
		if (max_workers->kind == PR_FLOAT) {
			is_float = 1;
			mw = max_workers->u.f;
		} else if (pr__is_int(max_workers)) {
			mw = max_workers->kind == PR_BOOL ?
				     max_workers->u.b :
			     max_workers->u.i.big ?
				     (max_workers->u.i.big[0] == '-' ? -1e300 : 1e300) :
				     (double)max_workers->u.i.small;
		} else {
			return pr_diag(d, PR_ETYPE,
				       "'<=' not supported between "
				       "instances of '%s' and 'int'",
				       pr__type_name(max_workers));
		}
		if (mw <= 0)
			return pr_diag(d, PR_EVALUE, "max_workers must be greater than 0");
		if (mw > 100000)
			return pr_diag(d, PR_EUNSUPPORTED,
				       "libprocref does not "
				       "model %g workers",
				       mw);
	} else {
		mw = (double)cpu_count();
	}
	/* mp_context: 3.11 defaults to spawn for max_tasks_per_child */
	if (ctx == NULL && mtpc != NULL)
		m = &pr__spawn_method;
	if (ctx != NULL) {
		if (context_method(ctx) == NULL)
			return pr_diag(d, PR_EATTRIBUTE,
				       "'%s' object has no "
				       "attribute '%s'",
				       pr__type_name(ctx),
				       pr__profile.ex_on_demand ? "get_start_method" : "Lock");
		m = ctx->u.obj.data;
	}
	if (init != NULL && !is_callable(init))
		return pr_diag(d, PR_ETYPE, "initializer must be a callable");
	if (mtpc != NULL) {
		if (!pr__is_int(mtpc))
			return pr_diag(d, PR_ETYPE, "max_tasks_per_child must be an integer");
		if ((mtpc->kind == PR_BOOL && !mtpc->u.b) ||
		    (mtpc->kind == PR_INT &&
		     (mtpc->u.i.big ? mtpc->u.i.big[0] == '-' : mtpc->u.i.small <= 0)))
			return pr_diag(d, PR_EVALUE, "max_tasks_per_child must be >= 1");
		if (m == &pr__fork_method)
			return pr_diag(d, PR_EVALUE,
				       "max_tasks_per_child is "
				       "incompatible with the 'fork' "
				       "multiprocessing start method; supply "
				       "a different mp_context.");
	}
	/* the call queue's BoundedSemaphore(max_workers + 1) */
	if (is_float)
		return pr_diag(d, PR_ETYPE,
			       pr__profile.float_index_message ?
				       "'float' object cannot be interpreted as an "
				       "integer" :
				       "integer argument expected, got float");
	if ((c = calloc(1, sizeof *c)) == NULL)
		return pr_diag(d, PR_EMEMORY, NULL);
	c->listen_fd = c->wakeup[0] = c->wakeup[1] = -1;
	c->queues[0][0] = c->queues[0][1] = c->queues[1][0] = c->queues[1][1] = -1;
	c->max_workers = (int)mw;
	c->method = m;
	c->dynamic = pr__profile.ex_on_demand && m != &pr__fork_method;
	c->initializer = pr_incref(init);
	c->initargs = pr_incref(initargs);
	c->max_tasks = mtpc == NULL          ? 0 :
		       mtpc->kind == PR_BOOL ? 1 :
		       mtpc->u.i.big         ? INT64_MAX :
					       mtpc->u.i.small;
	c->exec_alive = 1;
	c->callq = calloc((size_t)c->max_workers + EXTRA_QUEUED_CALLS, sizeof *c->callq);
	if (c->callq == NULL) {
		core_free(c);
		return pr_diag(d, PR_EMEMORY, NULL);
	}
	if ((r = core_channels(c, d)) < 0) {
		core_free(c);
		return r;
	}
	c->next = cores;
	cores = c;
	*out = pr__object_new(&executor_type, c);
	if (*out == NULL) {
		c->exec_alive = 0;
		return pr_diag(d, PR_EMEMORY, NULL);
	}
	return 0;
}

/* _start_executor_manager_thread (3.6-3.8 _start_queue_management_thread) */
static int start_manager(struct core *c, struct pr_diag *d)
{
	int r;

	if (c->thread != T_NONE)
		return 0;
	if (!pr__profile.ex_on_demand) {
		if ((r = adjust_process_count(c, d)) < 0)
			return r;
	} else if (!c->dynamic) {
		/* _launch_processes */
		while (c->nprocs < (size_t)c->max_workers)
			if ((r = spawn_process(c, d)) < 0)
				return r;
	}
	c->thread = T_RUNNING;
	return 0;
}

static int grow(void **p, size_t *cap, size_t need, size_t size)
{
	void *g;
	size_t n = *cap ? *cap : 8;

	if (need <= *cap)
		return 0;
	while (n < need)
		n *= 2;
	if ((g = realloc(*p, n * size)) == NULL)
		return -1;
	*p = g;
	*cap = n;
	return 0;
}

/* the checks at the top of submit() */
static int submit_check(struct core *c, struct pr_diag *d)
{
	if (c->broken != NULL)
		return pr__diag_setn(d, PR_EEXCEPTION, "BrokenProcessPool", c->broken,
				     strlen(c->broken));
	if (c->shutdown_thread)
		return pr_diag(d, PR_ERUNTIME, "cannot schedule new futures after shutdown");
	if (global_shutdown && pr__profile.ex_on_demand)
		return pr_diag(d, PR_ERUNTIME,
			       "cannot schedule new futures "
			       "after interpreter shutdown");
	return 0;
}

static int do_submit(struct core *c, pr_value *fn, pr_value *args, pr_value *kwargs, int chunk,
		     pr_value **out, struct pr_diag *d)
{
	struct work *w;
	pr_value *f;
	int r;

	*out = NULL;
	if ((r = submit_check(c, d)) < 0)
		return r;
	if (grow((void **)&c->pending, &c->cappending, c->npending + 1, sizeof *c->pending) < 0 ||
	    grow((void **)&c->ids, &c->capids, c->nids + 1, sizeof *c->ids) < 0 ||
	    (f = future_new(c)) == NULL)
		return pr_diag(d, PR_EMEMORY, NULL);
	w = &c->pending[c->npending++];
	w->id = c->queue_count;
	w->future = pr_incref(f);
	w->fn = pr_incref(fn);
	w->args = pr_incref(args);
	w->kwargs = kwargs != NULL && pr_len(kwargs) ? pr_incref(kwargs) : NULL;
	w->chunk = chunk;
	c->ids[c->nids++] = c->queue_count++;
	/* the wakeup comes before any worker or manager starts: when it
	 * raises, the work item stays registered, as below */
	r = wakeup(c);
	if (r < 0)
		r = pr_diag(d, r, NULL);
	else if (c->dynamic)
		r = adjust_process_count(c, d);
	if (r == 0)
		r = start_manager(c, d);
	if (r < 0) {
		/* the work item stays registered: it runs when a later
		 * submit() starts the workers (CPython does the same) */
		pr_decref(f);
		return r;
	}
	manager_pump(c);
	*out = f;
	return 0;
}

static const char *meth_name(const char *name)
{
	return pr__profile.qualname_errors ? name : strchr(name, '.') + 1;
}

/* A new dict of kwargs without the key "fn" (3.6-3.8's kwargs.pop('fn')). */
static int without_fn(pr_value *kwargs, pr_value **out, struct pr_diag *d)
{
	pr_value **kv;
	size_t i, n = 0, len = pr_len(kwargs);

	if ((kv = calloc(2 * len + 1, sizeof *kv)) == NULL)
		return pr_diag(d, PR_EMEMORY, NULL);
	for (i = 0; i < len; i++) {
		pr_value *k = kwargs->u.seq.items[2 * i];

		if (k->kind == PR_STR && strcmp(k->u.s.data, "fn") == 0)
			continue;
		kv[2 * n] = pr_incref(k);
		kv[2 * n + 1] = pr_incref(kwargs->u.seq.items[2 * i + 1]);
		n++;
	}
	i = (size_t)pr_dict(kv, n, out, d);
	free(kv);
	return (int)i;
}

/*
 * submit(fn, /, *args, **kwargs).  3.6-3.8 also take submit(fn=f) (3.8
 * warns), and 3.7-3.8 word a missing fn their own way
 * (ProcessPoolExecutor.submit(*args, **kwargs)).
 */
static int ex_submit(pr_value *self, pr_value **argv, pr_value **out, struct pr_diag *d)
{
	struct core *c = core_of(self);
	pr_value *args = argv[0], *kwargs = argv[1], *fn = NULL;
	pr_value *rest = NULL, *kw = NULL, **items = NULL;
	size_t i, n = pr_len(args);
	int r;

	for (i = 0; n == 0 && !pr__profile.ex_posonly_fn && i < pr_len(kwargs); i++) {
		pr_value *k = kwargs->u.seq.items[2 * i];

		if (k->kind == PR_STR && strcmp(k->u.s.data, "fn") == 0)
			fn = kwargs->u.seq.items[2 * i + 1];
	}
	if (n == 0 && fn == NULL) {
		if (pr__profile.version == 0x0307 || pr__profile.version == 0x0308)
			return pr_diag(d, PR_ETYPE,
				       "submit expected at least 1 "
				       "positional argument, got 0");
		return pr_diag(d, PR_ETYPE,
			       "%s() missing 1 required positional "
			       "argument: 'fn'",
			       meth_name("ProcessPoolExecutor.submit"));
	}
	if (fn == NULL) {
		fn = pr_item(args, 0);
		kw = pr_incref(kwargs);
	} else if ((r = without_fn(kwargs, &kw, d)) < 0) {
		return r;
	}
	if ((items = calloc(n + 1, sizeof *items)) == NULL) {
		r = pr_diag(d, PR_EMEMORY, NULL);
		goto out;
	}
	for (i = n ? 1 : 0; i < n; i++)
		items[i - 1] = pr_incref(pr_item(args, i));
	if ((rest = pr_tuple(items, n ? n - 1 : 0)) == NULL) {
		r = pr_diag(d, PR_EMEMORY, NULL);
		goto out;
	}
	r = do_submit(c, fn, rest, kw, 0, out, d);
out:
	free(items);
	pr_decref(rest);
	pr_decref(kw);
	return r;
}

/* ---- map -------------------------------------------------------------- */

struct mapiter {
	pr_value **fs; /* the futures left, in order */
	size_t nfs, next;
	pr_value *chunk; /* the list being yielded from */
	size_t chunkpos;
	int64_t end_time; /* -1: no timeout */
	int finished;
};

static void mapiter_free(void *data)
{
	struct mapiter *m = data;
	size_t i;

	for (i = m->next; i < m->nfs; i++)
		pr_decref(m->fs[i]);
	free(m->fs);
	pr_decref(m->chunk);
	free(m);
}

static void mapiter_repr(pr_value *v, struct sbuf *sb)
{
	pr__sb_printf(sb,
		      "<generator object _chain_from_iterable_of_lists at "
		      "%#" PRIxPTR ">",
		      (uintptr_t)v);
}

static const struct pr_objtype mapiter_type = {
	.name = "generator",
	.free = mapiter_free,
	.repr = mapiter_repr,
};

static int future_result(pr_value *f, pr_value *timeout, int want_exc, pr_value **out,
			 struct pr_diag *d);

/* the generator's finally: cancel what is left */
static void mapiter_close(struct mapiter *m)
{
	size_t i;

	for (i = m->next; i < m->nfs; i++) {
		future_cancel(m->fs[i]);
		pr_decref(m->fs[i]);
	}
	m->next = m->nfs;
	m->finished = 1;
}

/* next(it): 1 with *out, 0 at the end (StopIteration), or an error */
static int mapiter_next(pr_value *it, pr_value **out, struct pr_diag *d)
{
	struct mapiter *m = pr__object_data(it, &mapiter_type);
	pr_value *f, *timeout = NULL, *res = NULL;
	int r;

	for (;;) {
		if (m->chunk != NULL && m->chunkpos < pr_len(m->chunk)) {
			*out = pr_incref(pr_item(m->chunk, m->chunkpos++));
			return 1;
		}
		pr_decref(m->chunk);
		m->chunk = NULL;
		if (m->finished || m->next >= m->nfs) {
			m->finished = 1;
			return 0;
		}
		f = m->fs[m->next++];
		if (m->end_time >= 0 &&
		    (timeout = pr_float((double)(m->end_time - now_ms()) / 1000.0)) == NULL) {
			pr_decref(f);
			return pr_diag(d, PR_EMEMORY, NULL);
		}
		r = future_result(f, timeout, 0, &res, d);
		pr_decref(timeout);
		timeout = NULL;
		/* _result_or_cancel (3.10+): fut.cancel() in a finally */
		if (pr__profile.ex_result_or_cancel)
			future_cancel(f);
		pr_decref(f);
		if (r < 0) {
			mapiter_close(m);
			return r;
		}
		m->chunk = res;
		m->chunkpos = 0;
	}
}

/* map(fn, *iterables, timeout=None, chunksize=1) */
static int ex_map(pr_value *self, pr_value **argv, pr_value **out, struct pr_diag *d)
{
	struct core *c = core_of(self);
	pr_value *fn = argv[0], *timeout = argv[1], *chunksize = argv[2];
	pr_value *iterables = argv[3], ***cols = NULL, **row = NULL, *f;
	pr_value **chunkitems = NULL;
	struct mapiter *m = NULL;
	size_t ncols = pr_len(iterables), *lens = NULL, n = SIZE_MAX, i, j, k;
	int64_t cs = 1;
	double t;
	int r = 0;

	*out = NULL;
	if (chunksize != NULL) {
		if (!pr__is_int(chunksize))
			return pr_diag(d, PR_ETYPE,
				       "'<' not supported between "
				       "instances of '%s' and 'int'",
				       pr__type_name(chunksize));
		cs = chunksize->kind == PR_BOOL ? chunksize->u.b :
		     chunksize->u.i.big         ? (chunksize->u.i.big[0] == '-' ? -1 : INT64_MAX) :
						  chunksize->u.i.small;
	}
	if (cs < 1)
		return pr_diag(d, PR_EVALUE, "chunksize must be >= 1.");
	if ((m = calloc(1, sizeof *m)) == NULL)
		return pr_diag(d, PR_EMEMORY, NULL);
	m->end_time = -1;
	if (timeout != NULL && timeout->kind != PR_NONE) {
		if ((r = pr__value_as_double(timeout, &t, d)) < 0)
			goto out;
		m->end_time = now_ms() + (int64_t)(t * 1000);
	}
	cols = calloc(ncols + 1, sizeof *cols);
	lens = calloc(ncols + 1, sizeof *lens);
	if (cols == NULL || lens == NULL) {
		r = pr_diag(d, PR_EMEMORY, NULL);
		goto out;
	}
	for (i = 0; i < ncols; i++) {
		if ((r = pr__value_iter(pr_item(iterables, i), &cols[i], &lens[i], d)) < 0)
			goto out;
		if (lens[i] < n)
			n = lens[i];
	}
	if (ncols == 0)
		n = 0;
	if ((m->fs = calloc(n + 1, sizeof *m->fs)) == NULL) {
		r = pr_diag(d, PR_EMEMORY, NULL);
		goto out;
	}
	/* _get_chunks: tuples of chunksize argument tuples */
	for (i = 0; i < n; i += (size_t)cs) {
		size_t len = n - i < (size_t)cs ? n - i : (size_t)cs;
		pr_value *chunk;

		if ((chunkitems = calloc(len + 1, sizeof *chunkitems)) == NULL) {
			r = pr_diag(d, PR_EMEMORY, NULL);
			goto out;
		}
		for (k = 0; k < len; k++) {
			if ((row = calloc(ncols + 1, sizeof *row)) == NULL) {
				r = pr_diag(d, PR_EMEMORY, NULL);
				pr__items_free(chunkitems, k);
				chunkitems = NULL;
				goto out;
			}
			for (j = 0; j < ncols; j++)
				row[j] = pr_incref(cols[j][i + k]);
			chunkitems[k] = pr_tuple(row, ncols);
			free(row);
			row = NULL;
		}
		chunk = pr_list(chunkitems, len);
		free(chunkitems);
		chunkitems = NULL;
		if (chunk == NULL) {
			r = pr_diag(d, PR_EMEMORY, NULL);
			goto out;
		}
		r = do_submit(c, fn, chunk, NULL, 1, &f, d);
		pr_decref(chunk);
		if (r < 0)
			goto out;
		m->fs[m->nfs++] = f;
	}
	*out = pr__object_new(&mapiter_type, m);
	m = NULL;
	if (*out == NULL)
		r = pr_diag(d, PR_EMEMORY, NULL);
out:
	for (i = 0; cols != NULL && i < ncols; i++)
		pr__items_free(cols[i], lens[i]);
	free(cols);
	free(lens);
	if (m != NULL)
		mapiter_free(m);
	return r;
}

/* ---- shutdown, __enter__, __exit__ ----------------------------------- */

static int thread_gone(void *arg)
{
	return ((struct core *)arg)->thread != T_RUNNING;
}

/*
 * ProcessPoolExecutor.shutdown.  Every release from 3.6 on ends it with
 * _executor_manager_thread = None (3.6-3.8: _queue_management_thread) and
 * drops the thread's wakeup, so a second shutdown() only sets the flags: it
 * neither wakes the manager nor waits for it, even with wait=True after a
 * shutdown(wait=False).  A wakeup that raises leaves both in place.
 */
static int do_shutdown(struct core *c, int wait, int cancel_futures, struct pr_diag *d)
{
	int forgot = c->thread_forgotten;
	int r;

	c->cancel_pending = cancel_futures;
	c->shutdown_thread = 1;
	/* 3.9+: the executor's _ThreadWakeup, until the first shutdown()
	 * drops it, whether a manager runs or not; before, only a running
	 * manager is woken */
	if ((pr__profile.ex_shutdown_wakeup ? !c->wakeup_dropped :
					      c->thread != T_NONE && !forgot) &&
	    (r = wakeup(c)) < 0)
		return pr_diag(d, r, NULL);
	/* dropped at the end of a shutdown() that did not raise */
	c->wakeup_dropped = 1;
	c->thread_forgotten = 1;
	if (c->thread == T_RUNNING && wait && !forgot)
		manager_wait(c, thread_gone, c, -1);
	if (!wait && pr__profile.ex_on_demand)
		c->processes_none = 1;
	if (!wait && c->thread == T_RUNNING && pr__profile.bug_wakeup_closed)
		c->wakeup_closed = 1;
	return 0;
}

static int ex_shutdown(pr_value *self, pr_value **argv, pr_value **out, struct pr_diag *d)
{
	struct core *c = core_of(self);
	int wait = argv[0] == NULL || pr_truth(argv[0]);
	int cancel = pr__profile.ex_cancel_futures && argv[1] != NULL && pr_truth(argv[1]);

	(void)out;
	manager_pump(c);
	return do_shutdown(c, wait, cancel, d);
}

static int ex_enter(pr_value *self, pr_value **argv, pr_value **out, struct pr_diag *d)
{
	(void)argv;
	(void)d;
	*out = pr_incref(self);
	return 0;
}

/* __exit__: self.shutdown(wait=True); return False */
static int ex_exit(pr_value *self, pr_value **argv, pr_value **out, struct pr_diag *d)
{
	int r;

	(void)argv;
	if ((r = do_shutdown(core_of(self), 1, 0, d)) < 0)
		return r;
	*out = pr_bool(0);
	return 0;
}

static const char *const no_params[] = { NULL };
static const char *const init_params[] = { "max_workers", "mp_context", "initializer", "initargs" };
static const char *const init_kwonly[] = { "max_tasks_per_child" };
static const char *const map_params[] = { "fn" };
static const char *const map_kwonly[] = { "timeout", "chunksize" };
static const char *const shutdown_params[] = { "wait" };
static const char *const shutdown_kwonly[] = { "cancel_futures" };
static const char *const exit_params[] = { "exc_type", "exc_val", "exc_tb" };

/* The methods, named as 3.10+ name them in argument errors and as
 * 3.6-3.9 do ([1]). */
#define EXECUTOR_METHODS(Q)                                                                     \
	{ .name = Q "submit", .params = no_params, .varargs = 1, .varkw = 1, .fn = ex_submit }, \
		{ .name = Q "map",                                                              \
		  .params = map_params,                                                         \
		  .nparams = 1,                                                                 \
		  .nrequired = 1,                                                               \
		  .kwonly = map_kwonly,                                                         \
		  .nkwonly = 2,                                                                 \
		  .varargs = 1,                                                                 \
		  .fn = ex_map },                                                               \
		{ .name = Q "shutdown",                                                         \
		  .params = shutdown_params,                                                    \
		  .nparams = 1,                                                                 \
		  .kwonly = shutdown_kwonly,                                                    \
		  .nkwonly = 1,                                                                 \
		  .fn = ex_shutdown },                                                          \
		{ .name = Q "shutdown",                                                         \
		  .params = shutdown_params,                                                    \
		  .nparams = 1,                                                                 \
		  .fn = ex_shutdown },                                                          \
		{ .name = Q "__enter__", .params = no_params, .fn = ex_enter },                 \
	{                                                                                       \
		.name = Q "__exit__", .params = exit_params, .nparams = 3, .nrequired = 3,      \
		.fn = ex_exit                                                                   \
	}

static const pr_func executor_methods[2][6] = {
	{ EXECUTOR_METHODS("ProcessPoolExecutor.") },
	{ EXECUTOR_METHODS("") },
};

static int executor_getattr(pr_value *v, const char *name, pr_value **out, struct pr_diag *d)
{
	const pr_func *m = executor_methods[!pr__profile.qualname_errors];
	size_t i;

	for (i = 0; i < 6; i++) {
		const char *dot = strrchr(m[i].name, '.');

		if (strcmp(dot ? dot + 1 : m[i].name, name) != 0)
			continue;
		/* shutdown(cancel_futures=) from 3.9 */
		if (strcmp(name, "shutdown") == 0 &&
		    (m[i].nkwonly > 0) != pr__profile.ex_cancel_futures)
			continue;
		*out = pr__method(&m[i], v);
		return *out ? 0 : pr_diag(d, PR_EMEMORY, NULL);
	}
	if (name[0] == '_')
		return pr_diag(d, PR_EUNSUPPORTED,
			       "libprocref does not model "
			       "ProcessPoolExecutor.%s",
			       name);
	return pr_diag(d, PR_EATTRIBUTE,
		       "'ProcessPoolExecutor' object has no "
		       "attribute '%s'",
		       name);
}

static const pr_func executor_class[3] = {
	{ .name = "ProcessPoolExecutor.__init__",
	  .params = init_params,
	  .nparams = 4,
	  .kwonly = init_kwonly,
	  .nkwonly = 1,
	  .fn = executor_init },
	{ .name = "__init__", .params = init_params, .nparams = 4, .fn = executor_init },
	{ .name = "__init__", .params = init_params, .nparams = 1, .fn = executor_init },
};

/* ---- future methods ------------------------------------------------- */

struct wait_arg {
	pr_value *f;
};

static int future_done(void *arg)
{
	return done_state(fut(arg)->state);
}

/* Future.result(timeout) / Future.exception(timeout) */
static int future_result(pr_value *v, pr_value *timeout, int want_exc, pr_value **out,
			 struct pr_diag *d)
{
	struct future *f = fut(v);
	int64_t deadline = -1;
	double t;
	int r;

	manager_pump(f->core);
	if (timeout != NULL && timeout->kind != PR_NONE) {
		if ((r = pr__value_as_double(timeout, &t, d)) < 0)
			return r;
		deadline = now_ms() + (t > 0 ? (int64_t)(t * 1000) : 0);
	}
	if (!done_state(f->state))
		manager_wait(f->core, future_done, v, deadline);
	if (f->state == CANCELLED || f->state == CANCELLED_AND_NOTIFIED)
		return pr__diag_setn(d, PR_EEXCEPTION, "CancelledError", "", 0);
	if (f->state != FINISHED)
		return pr__diag_setn(d, PR_EEXCEPTION, "TimeoutError", "", 0);
	if (want_exc) {
		*out = pr_incref(f->exception ? f->exception : pr_none());
		return 0;
	}
	if (f->exception != NULL)
		return pr__exc_raise(f->exception, d);
	*out = pr_incref(f->result);
	return 0;
}

static int f_result(pr_value *self, pr_value **argv, pr_value **out, struct pr_diag *d)
{
	return future_result(self, argv[0], 0, out, d);
}

static int f_exception(pr_value *self, pr_value **argv, pr_value **out, struct pr_diag *d)
{
	return future_result(self, argv[0], 1, out, d);
}

static int f_cancel(pr_value *self, pr_value **argv, pr_value **out, struct pr_diag *d)
{
	(void)argv;
	(void)d;
	manager_pump(fut(self)->core);
	*out = pr_bool(future_cancel(self));
	return 0;
}

static int f_cancelled(pr_value *self, pr_value **argv, pr_value **out, struct pr_diag *d)
{
	enum fstate s;

	(void)argv;
	(void)d;
	manager_pump(fut(self)->core);
	s = fut(self)->state;
	*out = pr_bool(s == CANCELLED || s == CANCELLED_AND_NOTIFIED);
	return 0;
}

static int f_running(pr_value *self, pr_value **argv, pr_value **out, struct pr_diag *d)
{
	(void)argv;
	(void)d;
	manager_pump(fut(self)->core);
	*out = pr_bool(fut(self)->state == RUNNING);
	return 0;
}

static int f_done(pr_value *self, pr_value **argv, pr_value **out, struct pr_diag *d)
{
	(void)argv;
	(void)d;
	manager_pump(fut(self)->core);
	*out = pr_bool(done_state(fut(self)->state));
	return 0;
}

static const char *const timeout_params[] = { "timeout" };

static const pr_func future_methods[] = {
	{ .name = "Future.cancel", .params = no_params, .fn = f_cancel },
	{ .name = "Future.cancelled", .params = no_params, .fn = f_cancelled },
	{ .name = "Future.done", .params = no_params, .fn = f_done },
	{ .name = "Future.exception", .params = timeout_params, .nparams = 1, .fn = f_exception },
	{ .name = "Future.result", .params = timeout_params, .nparams = 1, .fn = f_result },
	{ .name = "Future.running", .params = no_params, .fn = f_running },
};

static int future_getattr(pr_value *v, const char *name, pr_value **out, struct pr_diag *d)
{
	size_t i;

	for (i = 0; i < sizeof future_methods / sizeof *future_methods; i++)
		if (strcmp(future_methods[i].name + 7, name) == 0) {
			*out = pr__method(&future_methods[i], v);
			return *out ? 0 : pr_diag(d, PR_EMEMORY, NULL);
		}
	if (name[0] == '_' || strcmp(name, "add_done_callback") == 0 ||
	    strncmp(name, "set_", 4) == 0)
		return pr_diag(d, PR_EUNSUPPORTED,
			       "libprocref does not model "
			       "Future.%s",
			       name);
	return pr_diag(d, PR_EATTRIBUTE,
		       "'Future' object has no attribute "
		       "'%s'",
		       name);
}

/* ---- list(), next() -------------------------------------------------- */

static const char *const x_params[] = { "x" };

static int g_list(pr_value *self, pr_value **argv, pr_value **out, struct pr_diag *d)
{
	pr_value **items = NULL, **grown, *item;
	size_t n = 0, cap = 0;
	int r;

	(void)self;
	if (pr__object_data(argv[0], &mapiter_type) == NULL) {
		if ((r = pr__value_iter(argv[0], &items, &n, d)) < 0)
			return r;
		*out = pr_list(items, n);
		free(items);
		return *out ? 0 : pr_diag(d, PR_EMEMORY, NULL);
	}
	while ((r = mapiter_next(argv[0], &item, d)) == 1) {
		if (n == cap) {
			cap = cap ? 2 * cap : 8;
			if ((grown = realloc(items, cap * sizeof *grown)) == NULL) {
				pr_decref(item);
				pr__items_free(items, n);
				return pr_diag(d, PR_EMEMORY, NULL);
			}
			items = grown;
		}
		items[n++] = item;
	}
	if (r < 0) {
		pr__items_free(items, n);
		return r;
	}
	*out = pr_list(items, n);
	free(items);
	return *out ? 0 : pr_diag(d, PR_EMEMORY, NULL);
}

static int g_next(pr_value *self, pr_value **argv, pr_value **out, struct pr_diag *d)
{
	int r;

	(void)self;
	if (pr__object_data(argv[0], &mapiter_type) == NULL)
		return pr_diag(d, PR_ETYPE, "'%s' object is not an iterator",
			       pr__type_name(argv[0]));
	if ((r = mapiter_next(argv[0], out, d)) < 0)
		return r;
	if (r == 0)
		return pr__diag_setn(d, PR_EEXCEPTION, "StopIteration", "", 0);
	return 0;
}

static const pr_func global_funcs[] = {
	{ .name = "get_context", .params = name_params, .nparams = 1, .fn = g_get_context },
	{ .name = "list", .params = x_params, .nparams = 1, .nrequired = 1, .fn = g_list },
	{ .name = "next", .params = x_params, .nparams = 1, .nrequired = 1, .fn = g_next },
};

pr_value *pr__executor_global(const char *name)
{
	size_t i;

	if (strcmp(name, "ProcessPoolExecutor") == 0) {
		pr_value *cls = pr__class(&executor_class[pr__profile.ex_mtpc        ? 0 :
							  pr__profile.ex_initializer ? 1 :
										       2]);

		return cls;
	}
	for (i = 0; i < sizeof global_funcs / sizeof *global_funcs; i++)
		if (strcmp(global_funcs[i].name, name) == 0)
			return pr_function(&global_funcs[i]);
	return NULL;
}

/* ---- the public API ------------------------------------------------- */

int pr_is_executor(const pr_value *v)
{
	return core_of((pr_value *)v) != NULL;
}

int pr_is_future(const pr_value *v)
{
	return fut((pr_value *)v) != NULL;
}

int pr_executor_shutdown(pr_value *ex, int wait, int cancel_futures, struct pr_diag *d)
{
	struct core *c = core_of(ex);

	if (c == NULL)
		return pr_diag(d, PR_ETYPE, "not an executor");
	manager_pump(c);
	return do_shutdown(c, wait, cancel_futures, d);
}

int pr_executor_submit(pr_value *ex, pr_value *fn, pr_value *const *args, size_t nargs,
		       pr_value **future, struct pr_diag *d)
{
	struct core *c = core_of(ex);
	pr_value *tuple, **items;
	size_t i;
	int r;

	*future = NULL;
	if (c == NULL)
		return pr_diag(d, PR_ETYPE, "not an executor");
	if ((items = calloc(nargs + 1, sizeof *items)) == NULL)
		return pr_diag(d, PR_EMEMORY, NULL);
	for (i = 0; i < nargs; i++)
		items[i] = pr_incref(args[i]);
	tuple = pr_tuple(items, nargs);
	free(items);
	if (tuple == NULL)
		return pr_diag(d, PR_EMEMORY, NULL);
	r = do_submit(c, fn, tuple, NULL, 0, future, d);
	pr_decref(tuple);
	return r;
}

/* The C entry points of Future.result() and Future.exception(): a negative timeout is
 * timeout=None. want_exc picks which of the two, as future_result() takes it. */
static int future_result_c(pr_value *f, double timeout, int want_exc, pr_value **out,
			   struct pr_diag *d)
{
	pr_value *t = NULL;
	int r;

	*out = NULL;
	if (fut(f) == NULL)
		return pr_diag(d, PR_ETYPE, "not a future");
	if (timeout >= 0 && (t = pr_float(timeout)) == NULL)
		return pr_diag(d, PR_EMEMORY, NULL);
	r = future_result(f, t, want_exc, out, d);
	pr_decref(t);
	return r;
}

int pr_future_result(pr_value *f, double timeout, pr_value **out, struct pr_diag *d)
{
	return future_result_c(f, timeout, 0, out, d);
}

int pr_future_exception(pr_value *f, double timeout, pr_value **out, struct pr_diag *d)
{
	return future_result_c(f, timeout, 1, out, d);
}

int pr_future_cancel(pr_value *f)
{
	if (fut(f) == NULL)
		return 0;
	manager_pump(fut(f)->core);
	return future_cancel(f);
}

const char *pr_future_state(pr_value *f)
{
	if (fut(f) == NULL)
		return NULL;
	manager_pump(fut(f)->core);
	return state_names[fut(f)->state];
}

int pr_cause(pr_value *x, pr_value **out, struct pr_diag *d)
{
	pr_value *exc = x, *cause;
	struct sbuf sb = SBUF_INIT;
	char *text = NULL;
	size_t len;
	int r;

	*out = NULL;
	if (fut(x) != NULL) {
		if ((r = future_result(x, NULL, 1, &exc, d)) < 0)
			return r;
	} else {
		pr_incref(exc);
	}
	if (!pr__is_exc(exc) && !(exc->kind == PR_NONE && fut(x) != NULL)) {
		pr_decref(exc);
		return pr_diag(d, PR_EUNSUPPORTED, "cause(): not an exception or a future");
	}
	/* a future that did not raise: its exception() is None, which has no cause */
	cause = pr__is_exc(exc) ? pr__exc_cause(exc) : NULL;
	if (cause == NULL) {
		pr__sb_puts(&sb, "None");
	} else {
		pr__sb_printf(&sb, "%s: ", pr__exc_type(cause));
		pr__value_str(cause, &sb);
	}
	pr_decref(exc);
	if ((r = pr__sb_finish(&sb, &text, &len)) < 0)
		return pr_diag(d, r, NULL);
	*out = pr_str(text, len);
	free(text);
	return *out ? 0 : pr_diag(d, PR_EMEMORY, NULL);
}

static int settled(void *arg)
{
	struct core *c = arg;
	size_t i;

	if (c->thread == T_RUNNING)
		return 0;
	for (i = 0; i < c->nprocs; i++)
		if (alive(&c->procs[i]))
			return 0;
	return 1;
}

int pr_executor_settles(pr_value *ex, int timeout_ms, int *settles, struct pr_diag *d)
{
	struct core *c = core_of(ex);

	*settles = 0;
	if (c == NULL)
		return pr_diag(d, PR_EUNSUPPORTED, "settles(): not an executor");
	c->shutdown_thread = 1;
	if (c->thread != T_NONE)
		(void)wakeup(c);
	*settles = manager_wait(c, settled, c, now_ms() + timeout_ms);
	if (*settles)
		return 0;
	/* forget it: never join its manager; its workers are killed by
	 * the exit path (pr_executor_exit_hook), as the Python driver does */
	c->forgotten = 1;
	c->thread = T_DIED;
	return 0;
}

/* The workers of an executor settles() forgot: killed, reaped, and no
 * more children of the scenario. */
static void kill_forgotten(struct core *c)
{
	size_t i;
	int64_t rc;

	for (i = 0; i < c->nprocs; i++) {
		struct pr_popen *po = c->procs[i].proc->u.proc->popen;

		if (po != NULL && pr__popen_poll(po, WNOHANG, &rc) == 0) {
			kill(po->pid, SIGKILL);
			pr__popen_wait(po, NULL, &rc, NULL);
		}
		pr__children_discard(c->procs[i].proc);
	}
}

/*
 * concurrent.futures.process._python_exit: flag the interpreter shutdown,
 * wake every manager, join them.
 */
int pr_executor_exit_hook(struct pr_diag *d)
{
	struct core *c;

	(void)d;
	for (c = cores; c != NULL; c = c->next)
		if (c->forgotten)
			kill_forgotten(c);
	global_shutdown = 1;
	for (c = cores; c != NULL; c = c->next)
		if (c->thread == T_RUNNING && !c->forgotten)
			(void)wakeup(c);
	for (c = cores; c != NULL; c = c->next)
		if (c->thread == T_RUNNING && !c->forgotten)
			manager_wait(c, thread_gone, c, -1);
	return 0;
}

void pr_executor_fini(void)
{
	struct core *c;

	while ((c = cores) != NULL) {
		cores = c->next;
		if (c->forgotten)
			kill_forgotten(c);
		core_free(c);
	}
	global_shutdown = 0;
}

pr_value *pr_executor_class(void)
{
	return pr__executor_global("ProcessPoolExecutor");
}

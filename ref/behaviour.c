/*
 * The child behaviours, child.NAME in a scenario (docs/PROTOCOL.md, Child
 * behaviours): module-level functions that every driver provides and that
 * behave identically everywhere.  Each follows tools/pydriver.py's
 * function of the same name, the one golden transcripts come from.
 */
#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "internal.h"

static const char *const no_params[] = { NULL };

/* The gate of this process, or, in a program running p.run() itself, p's:
 * the behaviours a target runs wait on the gate of the process object
 * whose run() they are in */
static int own_gate(void)
{
	int gate = pr__rt.current->u.proc->gate;

	if (gate < 0 && pr__rt.running != NULL)
		gate = pr__rt.running->u.proc->gate;
	return gate;
}

static int write_text(int which, pr_value *text, struct pr_diag *d)
{
	int r;

	/* 2.7's file.write(s) takes str, which bytes is */
	if (!pr__profile.bytes_type && text->kind != PR_STR && text->kind != PR_BYTES)
		return pr_diag(d, PR_ETYPE, "expected a string or other character buffer object");
	/* TextIOWrapper.write(s): "write() argument must be str, not int" */
	if (pr__profile.bytes_type && text->kind != PR_STR)
		return pr_diag(d, PR_ETYPE, "write() argument must be str, not %s",
			       pr__type_name(text));
	if ((r = pr__stream_write(which, text->u.s.data, text->u.s.len)) < 0)
		return pr_diag(d, r, NULL);
	return 0;
}

static int flush(int which, struct pr_diag *d)
{
	int r = pr__stream_flush(which);

	return r < 0 ? pr_diag(d, r, NULL) : 0;
}

/* child.returns(): return None at once */
static int b_returns(pr_value *self, pr_value **argv, pr_value **out, struct pr_diag *d)
{
	(void)self;
	(void)argv;
	(void)out;
	(void)d;
	return 0;
}

/* child.blocks(): one byte from this process's gate, or EOF once every
 * write end is closed (the scenario process ended or died) */
static int b_blocks(pr_value *self, pr_value **argv, pr_value **out, struct pr_diag *d)
{
	int fd = own_gate();
	char byte;
	ssize_t n;

	(void)self;
	(void)argv;
	(void)out;
	if (fd < 0)
		return pr_diag(d, PR_ERUNTIME,
			       "child.blocks(): this process "
			       "has no gate (its process object was never "
			       "bound to a scenario variable)");
	do
		n = read(fd, &byte, 1);
	while (n == -1 && errno == EINTR);
	if (n < 0)
		return pr_diag(d, -errno, NULL);
	return 0;
}

/*
 * child.exits(*code): sys.exit(*code).  sys.exit(arg) raises
 * PyErr_SetObject(SystemExit, arg), which makes the exception's args ()
 * for None and arg itself for a tuple: SystemExit.code is then None for
 * no args, args[0] for one, the tuple for more.
 */
static int b_exits(pr_value *self, pr_value **argv, pr_value **out, struct pr_diag *d)
{
	pr_value *code = argv[0], *arg;

	(void)self;
	(void)out;
	if (code->u.seq.len > 1)
		return pr_diag(d, PR_ETYPE,
			       "exit expected at most 1 argument, "
			       "got %zu",
			       code->u.seq.len);
	arg = code->u.seq.len ? code->u.seq.items[0] : pr_none();
	if (arg->kind == PR_TUPLE && arg->u.seq.len <= 1)
		arg = arg->u.seq.len ? arg->u.seq.items[0] : pr_none();
	if (arg->kind == PR_NONE)
		return pr__diag_system_exit(d, NULL, 0);
	return pr__diag_system_exit(d, arg, 1);
}

/* child.os_exit(n): os._exit(n), nothing flushed */
static int b_os_exit(pr_value *self, pr_value **argv, pr_value **out, struct pr_diag *d)
{
	int status, r;

	(void)self;
	(void)out;
	if ((r = pr__value_as_cint(argv[0], &status, d)) < 0)
		return r;
	_exit(status);
}

static const char *const raisable[] = {
	"ValueError", "RuntimeError", "TypeError",         "KeyError",
	"OSError",    "Exception",    "KeyboardInterrupt", "SystemError",
};

/* child.raises(name, message=''): raise getattr(builtins, name)(message),
 * for the classes tools/pydriver.py allows */
static int b_raises(pr_value *self, pr_value **argv, pr_value **out, struct pr_diag *d)
{
	pr_value *name = argv[0], *message = argv[1], *empty = NULL;
	struct sbuf sb = SBUF_INIT;
	const char *cls = NULL;
	char *text = NULL;
	size_t i, len;
	int r;

	(void)self;
	(void)out;
	for (i = 0; i < ARRAY_SIZE(raisable) && !cls; i++)
		if (name->kind == PR_STR && strlen(raisable[i]) == name->u.s.len &&
		    strcmp(raisable[i], name->u.s.data) == 0)
			cls = raisable[i];
	if (cls == NULL) {
		pr__value_repr(name, &sb);
		if ((r = pr__sb_finish(&sb, &text, NULL)) < 0)
			return pr_diag(d, r, NULL);
		r = pr_diag(d, PR_EVALUE,
			    "child.raises(): unsupported exception "
			    "class %s (one of ValueError, RuntimeError, "
			    "TypeError, KeyError, OSError, Exception, "
			    "KeyboardInterrupt, SystemError)",
			    text);
		free(text);
		return r;
	}
	/* str(cls(message)): KeyError.__str__ shows repr(message) */
	if (message == NULL && (message = empty = pr_str("", 0)) == NULL)
		return pr_diag(d, PR_EMEMORY, NULL);
	if (strcmp(cls, "KeyError") == 0)
		pr__value_repr(message, &sb);
	else
		pr__value_str(message, &sb);
	pr_decref(empty);
	if ((r = pr__sb_finish(&sb, &text, &len)) < 0)
		return pr_diag(d, r, NULL);
	r = pr__diag_setn(d,
			  strcmp(cls, "ValueError") == 0   ? PR_EVALUE :
			  strcmp(cls, "TypeError") == 0    ? PR_ETYPE :
			  strcmp(cls, "RuntimeError") == 0 ? PR_ERUNTIME :
							     PR_EEXCEPTION,
			  cls, text, len);
	free(text);
	return r;
}

/* q.start() in a behaviour: a grandchild that comes back out of it has
 * escaped into its parent's target (in the main program, the driver
 * records it itself) */
static int start_from_target(pr_value *start, pr_value **res, struct pr_diag *d)
{
	pid_t pid = getpid();
	int in_child = pr__rt.current->u.proc->kind != PROC_MAIN;
	int r = pr_call(start, NULL, 0, NULL, NULL, 0, res, d);

	if (getpid() != pid && in_child)
		pr_escape_note("target", r < 0 ? d : NULL);
	return r;
}

/* child.starts_child(target, args=(), daemon=None):
 *   q = type(current_process())(target=target, args=args)
 *   if daemon is not None: q.daemon = daemon
 *   q.start(); print(repr(q)), flushed
 * q inherits this process's gate. */
/* type(current_process()), as the Python driver takes it for the children
 * a child starts: the class this child was made from (a subclass() or a
 * context's class); Process for a plain child and in the scenario process,
 * whose _MainProcess it falls back from */
static pr_value *current_class(void)
{
	pr_value *cls = pr__rt.current->u.proc->cls;

	return cls != NULL ? pr_incref(cls) : pr__class(pr__process_init());
}

static int b_starts_child(pr_value *self, pr_value **argv, pr_value **out, struct pr_diag *d)
{
	static const char *const kw[] = { "target", "args" };
	pr_value *cls = NULL, *q = NULL, *start = NULL, *res = NULL;
	pr_value *kwv[2], *empty = NULL;
	struct sbuf sb = SBUF_INIT;
	int r;

	(void)self;
	(void)out;
	if (argv[1] == NULL && (empty = pr_tuple(NULL, 0)) == NULL)
		return pr_diag(d, PR_EMEMORY, NULL);
	kwv[0] = argv[0];
	kwv[1] = argv[1] != NULL ? argv[1] : empty;
	if ((cls = current_class()) == NULL) {
		r = pr_diag(d, PR_EMEMORY, NULL);
		goto out;
	}
	if ((r = pr_call(cls, NULL, 0, kw, kwv, 2, &q, d)) < 0)
		goto out;
	if (argv[2] != NULL && argv[2]->kind != PR_NONE &&
	    (r = pr_setattr(q, "daemon", argv[2], d)) < 0)
		goto out;
	q->u.proc->gate = own_gate();
	if ((r = pr_getattr(q, "start", &start, d)) < 0 ||
	    (r = start_from_target(start, &res, d)) < 0)
		goto out;
	pr__value_repr(q, &sb);
	pr__sb_putc(&sb, '\n');
	if (sb.oom) {
		r = pr_diag(d, PR_EMEMORY, NULL);
		goto out;
	}
	if ((r = pr__stream_write(PR_STDOUT, sb.p, sb.len)) < 0 ||
	    (r = pr__stream_flush(PR_STDOUT)) < 0)
		r = pr_diag(d, r, NULL);
out:
	pr__sb_release(&sb);
	pr_decref(res);
	pr_decref(start);
	pr_decref(q);
	pr_decref(cls);
	pr_decref(empty);
	return r;
}

/* 'label: repr(value)', or '<raised Type: message>' when getting the
 * value raises */
static void report_line(struct sbuf *sb, const char *label, int r, pr_value *v,
			const struct pr_diag *d)
{
	pr__sb_printf(sb, "%s: ", label);
	if (r == 0) {
		pr__value_repr(v, sb);
	} else {
		pr__sb_printf(sb, "<raised %s: ", d->type ? d->type : "?");
		pr__sb_put(sb, d->message, d->message_len);
		pr__sb_putc(sb, '>');
	}
	pr__sb_putc(sb, '\n');
}

/* child.reports(): five 'label: repr' lines about this process, written
 * at once and flushed */
static int b_reports(pr_value *self, pr_value **argv, pr_value **out, struct pr_diag *d)
{
	pr_value *cp = pr__rt.current, *pp, *v = NULL;
	struct sbuf sb = SBUF_INIT;
	struct pr_diag e = PR_DIAG_INIT;
	int r;

	(void)self;
	(void)argv;
	(void)out;
	pp = pr__rt.parent != NULL ? pr__rt.parent : pr_none();
	report_line(&sb, "current_process()", 0, cp, NULL);
	report_line(&sb, "parent_process()", 0, pp, NULL);
	r = pr_getattr(pp, "pid", &v, &e);
	report_line(&sb, "parent_process().pid", r, v, &e);
	pr_decref(v);
	v = NULL;
	pr_diag_clear(&e);
	r = pr_getattr(cp, "daemon", &v, &e);
	report_line(&sb, "current_process().daemon", r, v, &e);
	pr_decref(v);
	v = NULL;
	pr_diag_clear(&e);
	r = pr_getattr(cp, "authkey", &v, &e);
	report_line(&sb, "current_process().authkey", r, v, &e);
	pr_decref(v);
	pr_diag_clear(&e);
	if (sb.oom) {
		pr__sb_release(&sb);
		return pr_diag(d, PR_EMEMORY, NULL);
	}
	r = pr__stream_write(PR_STDOUT, sb.p, sb.len);
	pr__sb_release(&sb);
	if (r < 0)
		return pr_diag(d, r, NULL);
	return flush(PR_STDOUT, d);
}

/* child.writes(out='', err=''): out to stdout, err to stderr, each
 * flushed; a stream whose text is not given is not touched */
static int b_writes(pr_value *self, pr_value **argv, pr_value **out, struct pr_diag *d)
{
	int r;

	(void)self;
	(void)out;
	if (argv[0] != NULL &&
	    ((r = write_text(PR_STDOUT, argv[0], d)) < 0 || (r = flush(PR_STDOUT, d)) < 0))
		return r;
	if (argv[1] != NULL &&
	    ((r = write_text(PR_STDERR, argv[1], d)) < 0 || (r = flush(PR_STDERR, d)) < 0))
		return r;
	return 0;
}

/* ---- what CPython's tests and real programs do in a child: atexit,
 * broken stdio, threads, several children in turn, unflushed output ---- */

/* out as a C string of its own, for a handler or a thread */
static int dup_text(pr_value *out, char **text, struct pr_diag *d)
{
	if (out != NULL && out->kind != PR_STR)
		return pr_diag(d, PR_ETYPE, "write() argument must be str, not %s",
			       pr__type_name(out));
	*text = out != NULL ? strndup(out->u.s.data, out->u.s.len) : strdup("");
	return *text == NULL ? pr_diag(d, PR_EMEMORY, NULL) : 0;
}

static void write_flushed(const char *text)
{
	pr__stream_write(PR_STDOUT, text, strlen(text));
	pr__stream_flush(PR_STDOUT);
}

void pr__atexit_clear(void)
{
	size_t i;

	for (i = 0; i < pr__rt.natexit; i++)
		free(pr__rt.atexit[i]);
	free(pr__rt.atexit);
	pr__rt.atexit = NULL;
	pr__rt.natexit = 0;
}

/* atexit._run_exitfuncs(): last registered first */
void pr__atexit_run(void)
{
	while (pr__rt.natexit > 0) {
		char *text = pr__rt.atexit[--pr__rt.natexit];

		write_flushed(text);
		free(text);
	}
	pr__atexit_clear();
}

/* child.atexit_writes(out=''): atexit.register(write out, flushed) */
static int b_atexit_writes(pr_value *self, pr_value **argv, pr_value **out, struct pr_diag *d)
{
	char *text, **grown;
	int r;

	(void)self;
	(void)out;
	if ((r = dup_text(argv[0], &text, d)) < 0)
		return r;
	if ((grown = realloc(pr__rt.atexit, (pr__rt.natexit + 1) * sizeof(*grown))) == NULL) {
		free(text);
		return pr_diag(d, PR_EMEMORY, NULL);
	}
	pr__rt.atexit = grown;
	grown[pr__rt.natexit++] = text;
	return 0;
}

/* child.breaks_stdio(name, action): sys.stdout or sys.stderr becomes a
 * closed io.StringIO ('close') or None ('remove').  Nothing writes to it
 * afterwards, and util._flush_std_streams() swallows what its flush()
 * raises: the stream's pending text is dropped with the old object. */
static int b_breaks_stdio(pr_value *self, pr_value **argv, pr_value **out, struct pr_diag *d)
{
	pr_value *name = argv[0], *action = argv[1];
	int which;

	(void)self;
	(void)out;
	if (name->kind != PR_STR || action->kind != PR_STR ||
	    (strcmp(name->u.s.data, "stdout") && strcmp(name->u.s.data, "stderr")) ||
	    (strcmp(action->u.s.data, "close") && strcmp(action->u.s.data, "remove")))
		return pr_diag(d, PR_EVALUE,
			       "child.breaks_stdio(): name is stdout or stderr, action close "
			       "or remove");
	which = strcmp(name->u.s.data, "stdout") == 0 ? PR_STDOUT : PR_STDERR;
	pr__stream_break(which, strcmp(action->u.s.data, "remove") == 0);
	return 0;
}

struct thread_arg {
	char *text;
	int gate; /* -1: write at once */
};

static void *thread_main(void *p)
{
	struct thread_arg *a = p;
	char byte;
	ssize_t n;

	/* the raw system call, not read(): under the fault library's
	 * preloads read() goes through libfiu's lock, and a fork in the main
	 * thread while this thread is in there (the next step, a thread just
	 * started) would leave the child a held lock to deadlock on */
	if (a->gate >= 0) {
		do
			n = syscall(SYS_read, a->gate, &byte, 1);
		while (n == -1 && errno == EINTR);
	}
	write_flushed(a->text);
	return NULL;
}

/* The argument block is the starter's to free, after the join (or, in a
 * forked child, where the thread does not exist, at once) */
static void thread_arg_free(struct thread_arg *a)
{
	if (a != NULL)
		free(a->text);
	free(a);
}

static int thread_start(pr_value *text_v, int gate, pthread_t *t, struct thread_arg **argp,
			struct pr_diag *d)
{
	struct thread_arg *a = malloc(sizeof(*a));
	int r;

	if (a == NULL)
		return pr_diag(d, PR_EMEMORY, NULL);
	a->gate = gate;
	if ((r = dup_text(text_v, &a->text, d)) < 0) {
		free(a);
		return r;
	}
	if ((r = pthread_create(t, NULL, thread_main, a)) != 0) {
		free(a->text);
		free(a);
		/* threading.Thread.start(): "can't start new thread" */
		return pr_diag(d, PR_ERUNTIME, "can't start new thread");
	}
	*argp = a;
	return 0;
}

/* child.starts_thread(out=''): a thread writes out, flushed; joined */
static int b_starts_thread(pr_value *self, pr_value **argv, pr_value **out, struct pr_diag *d)
{
	struct thread_arg *a;
	pthread_t t;
	int r;

	(void)self;
	(void)out;
	if ((r = thread_start(argv[0], -1, &t, &a, d)) < 0)
		return r;
	pthread_join(t, NULL);
	thread_arg_free(a);
	return 0;
}

/* The non-daemon threads child.leaves_thread left running */
struct threads {
	pthread_t *t;
	struct thread_arg **a;
	size_t n;
};

/* After fork: the threads were the parent's; only their records came */
void pr__threads_forget(void)
{
	struct threads *ts = pr__rt.threads;

	size_t i;

	if (ts != NULL) {
		for (i = 0; i < ts->n; i++)
			thread_arg_free(ts->a[i]);
		free(ts->a);
		free(ts->t);
		free(ts);
	}
	pr__rt.threads = NULL;
}

void pr__threads_join(void)
{
	struct threads *ts = pr__rt.threads;
	size_t i;

	if (ts == NULL)
		return;
	for (i = 0; i < ts->n; i++) {
		pthread_join(ts->t[i], NULL);
		thread_arg_free(ts->a[i]);
	}
	free(ts->a);
	free(ts->t);
	free(ts);
	pr__rt.threads = NULL;
}

/* child.leaves_thread(out=''): a non-daemon thread waits on the gate,
 * then writes out, flushed; the child returns at once */
static int b_leaves_thread(pr_value *self, pr_value **argv, pr_value **out, struct pr_diag *d)
{
	struct threads *ts = pr__rt.threads;
	int gate = own_gate();
	struct thread_arg **args;
	pthread_t *grown;
	int r;

	(void)self;
	(void)out;
	if (gate < 0)
		return pr_diag(d, PR_ERUNTIME, "child.leaves_thread(): this process has no gate");
	if (ts == NULL && (ts = pr__rt.threads = calloc(1, sizeof(*ts))) == NULL)
		return pr_diag(d, PR_EMEMORY, NULL);
	if ((grown = realloc(ts->t, (ts->n + 1) * sizeof(*grown))) == NULL)
		return pr_diag(d, PR_EMEMORY, NULL);
	ts->t = grown;
	if ((args = realloc(ts->a, (ts->n + 1) * sizeof(*args))) == NULL)
		return pr_diag(d, PR_EMEMORY, NULL);
	ts->a = args;
	if ((r = thread_start(argv[0], gate, &ts->t[ts->n], &ts->a[ts->n], d)) < 0)
		return r;
	ts->n++;
	return 0;
}

/* child.starts_children(target, n=2): n children in turn, each started,
 * joined, and its repr() and a newline written, flushed */
static int b_starts_children(pr_value *self, pr_value **argv, pr_value **out, struct pr_diag *d)
{
	static const char *const kw[] = { "target" };
	pr_value *cls = NULL, *q = NULL, *fn = NULL, *res = NULL;
	struct sbuf sb = SBUF_INIT;
	int64_t n = 2, i;
	int r = 0;

	(void)self;
	(void)out;
	if (argv[1] != NULL && (argv[1]->kind != PR_INT || argv[1]->u.i.big != NULL))
		return pr_diag(d, PR_ETYPE, "'%s' object cannot be interpreted as an integer",
			       pr__type_name(argv[1]));
	if (argv[1] != NULL)
		n = argv[1]->u.i.small;
	if ((cls = pr__class(pr__process_init())) == NULL)
		return pr_diag(d, PR_EMEMORY, NULL);
	for (i = 0; i < n && r == 0; i++) {
		if ((r = pr_call(cls, NULL, 0, kw, argv, 1, &q, d)) < 0)
			break;
		q->u.proc->gate = own_gate();
		if ((r = pr_getattr(q, "start", &fn, d)) == 0 &&
		    (r = start_from_target(fn, &res, d)) == 0) {
			pr_decref(fn);
			pr_decref(res);
			fn = res = NULL;
			if ((r = pr_getattr(q, "join", &fn, d)) == 0)
				r = pr_call(fn, NULL, 0, NULL, NULL, 0, &res, d);
		}
		if (r == 0) {
			pr__value_repr(q, &sb);
			pr__sb_putc(&sb, '\n');
			if (sb.oom)
				r = pr_diag(d, PR_EMEMORY, NULL);
			else if ((r = pr__stream_write(PR_STDOUT, sb.p, sb.len)) < 0 ||
				 (r = pr__stream_flush(PR_STDOUT)) < 0)
				r = pr_diag(d, r, NULL);
			pr__sb_release(&sb);
		}
		pr_decref(fn);
		pr_decref(res);
		pr_decref(q);
		fn = res = q = NULL;
	}
	pr_decref(cls);
	return r;
}

/* child.writes_unflushed(out='', n=0): out to the block-buffered stdout,
 * then os._exit(n): nothing flushed */
static int b_writes_unflushed(pr_value *self, pr_value **argv, pr_value **out, struct pr_diag *d)
{
	int status = 0, r;

	(void)self;
	(void)out;
	if (argv[0] != NULL && (r = write_text(PR_STDOUT, argv[0], d)) < 0)
		return r;
	if (argv[1] != NULL && (r = pr__value_as_cint(argv[1], &status, d)) < 0)
		return r;
	_exit(status);
}

static const char *const out_params[] = { "out" };
static const char *const breaks_stdio_params[] = { "name", "action" };
static const char *const starts_children_params[] = { "target", "n" };
static const char *const writes_unflushed_params[] = { "out", "n" };

static const pr_func child_atexit_writes = {
	.name = "atexit_writes", .params = out_params, .nparams = 1, .fn = b_atexit_writes
};
static const pr_func child_breaks_stdio = { .name = "breaks_stdio",
					    .params = breaks_stdio_params,
					    .nparams = 2,
					    .nrequired = 2,
					    .fn = b_breaks_stdio };
static const pr_func child_leaves_thread = {
	.name = "leaves_thread", .params = out_params, .nparams = 1, .fn = b_leaves_thread
};
static const pr_func child_starts_children = { .name = "starts_children",
					       .params = starts_children_params,
					       .nparams = 2,
					       .nrequired = 1,
					       .fn = b_starts_children };
static const pr_func child_starts_thread = {
	.name = "starts_thread", .params = out_params, .nparams = 1, .fn = b_starts_thread
};
static const pr_func child_writes_unflushed = { .name = "writes_unflushed",
						.params = writes_unflushed_params,
						.nparams = 2,
						.fn = b_writes_unflushed };

static const char *const os_exit_params[] = { "n" };
static const char *const raises_params[] = { "name", "message" };
static const char *const starts_child_params[] = { "target", "args", "daemon" };
static const char *const writes_params[] = { "out", "err" };

static const pr_func child_blocks = { .name = "blocks", .params = no_params, .fn = b_blocks };
static const pr_func child_exits = {
	.name = "exits", .params = no_params, .varargs = 1, .fn = b_exits
};
static const pr_func child_os_exit = {
	.name = "os_exit", .params = os_exit_params, .nparams = 1, .nrequired = 1, .fn = b_os_exit
};
static const pr_func child_raises = {
	.name = "raises", .params = raises_params, .nparams = 2, .nrequired = 1, .fn = b_raises
};
static const pr_func child_reports = { .name = "reports", .params = no_params, .fn = b_reports };
static const pr_func child_returns = { .name = "returns", .params = no_params, .fn = b_returns };
static const pr_func child_starts_child = { .name = "starts_child",
					    .params = starts_child_params,
					    .nparams = 3,
					    .nrequired = 1,
					    .fn = b_starts_child };
static const pr_func child_writes = {
	.name = "writes", .params = writes_params, .nparams = 2, .fn = b_writes
};

/* ---- signals, and a Process object received (child.calls) ------------ */

/* text to stdout, flushed */
static int say(const char *text, size_t len, struct pr_diag *d)
{
	int r;

	if ((r = pr__stream_write(PR_STDOUT, text, len)) < 0 ||
	    (r = pr__stream_flush(PR_STDOUT)) < 0)
		return pr_diag(d, r, NULL);
	return 0;
}

static int signal_param(pr_value *v, int *sig, struct pr_diag *d)
{
	int r;

	if ((r = pr__value_as_cint(v, sig, d)) < 0)
		return r;
	if (*sig < 1 || *sig > 64 || *sig == SIGKILL || *sig == SIGSTOP)
		return pr_diag(d, PR_EVALUE, "signal number out of range");
	return 0;
}

static volatile sig_atomic_t caught_signal;

static void note_signal(int sig)
{
	caught_signal = sig;
}

/*
 * "ready", then child.blocks()'s wait; 1 when a handled signal ended it.
 * sig (0: none) is blocked from before "ready" is written until ppoll()
 * unblocks it atomically, so a signal sent as soon as "ready" is read can
 * never land between a check of caught_signal and the wait, where it would
 * be lost and the child would wait for ever.  CPython has no such window:
 * its handler runs between the bytecodes that lead to os.read().
 */
static int ready_then_block(int sig, struct pr_diag *d)
{
	int fd = own_gate();
	sigset_t block, old;
	struct pollfd pfd;
	char byte;
	int r, n;

	if (fd < 0)
		return pr_diag(d, PR_ERUNTIME,
			       "this process has no gate (its process object "
			       "was never bound to a scenario variable)");
	sigemptyset(&block);
	if (sig > 0)
		sigaddset(&block, sig);
	sigprocmask(SIG_BLOCK, &block, &old);
	r = say("ready\n", 6, d);
	while (r == 0) {
		pfd = (struct pollfd){ .fd = fd, .events = POLLIN };
		n = ppoll(&pfd, 1, NULL, &old);
		if (n > 0) {
			do
				n = (int)read(fd, &byte, 1);
			while (n < 0 && errno == EINTR);
			r = n < 0 ? pr_diag(d, -errno, NULL) : 0;
			break;
		}
		if (n < 0 && errno != EINTR)
			r = pr_diag(d, -errno, NULL);
		else if (caught_signal)
			r = 1;
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	return r;
}

/* child.ignores(sig): signal.signal(sig, SIG_IGN), "ready" on stdout,
 * then as child.blocks() */
static int b_ignores(pr_value *self, pr_value **argv, pr_value **out, struct pr_diag *d)
{
	int sig, r;

	(void)self;
	(void)out;
	if ((r = signal_param(argv[0], &sig, d)) < 0)
		return r;
	if (signal(sig, SIG_IGN) == SIG_ERR)
		return pr_diag(d, -errno, NULL);
	r = ready_then_block(0, d);
	return r < 0 ? r : 0;
}

/* child.handles(sig, code): a handler for sig that writes "caught N" and
 * calls sys.exit(code); "ready" on stdout, then as child.blocks() */
static int b_handles(pr_value *self, pr_value **argv, pr_value **out, struct pr_diag *d)
{
	struct sigaction sa;
	char line[32];
	int sig, r;

	(void)self;
	(void)out;
	if ((r = signal_param(argv[0], &sig, d)) < 0)
		return r;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = note_signal; /* no SA_RESTART: the read sees EINTR */
	sigemptyset(&sa.sa_mask);
	caught_signal = 0;
	if (sigaction(sig, &sa, NULL) < 0)
		return pr_diag(d, -errno, NULL);
	if ((r = ready_then_block(sig, d)) <= 0)
		return r;
	snprintf(line, sizeof line, "caught %d\n", (int)caught_signal);
	if ((r = say(line, strlen(line), d)) < 0)
		return r;
	return pr__diag_system_exit(d, argv[1], 1);
}

/* child.calls(proc, *names): for each name, "NAME(): repr(result)" or
 * "NAME(): <raised TYPE: message>" of getattr(proc, name)() */
static int b_calls(pr_value *self, pr_value **argv, pr_value **out, struct pr_diag *d)
{
	pr_value *names = argv[1], *m = NULL, *res = NULL;
	struct pr_diag e = PR_DIAG_INIT;
	struct sbuf sb = SBUF_INIT;
	const char *name;
	char *text;
	size_t i, len;
	int r = 0;

	(void)self;
	(void)out;
	for (i = 0; i < names->u.seq.len && r == 0; i++) {
		if (names->u.seq.items[i]->kind != PR_STR)
			return pr_diag(d, PR_ETYPE, "attribute name must be string");
		name = pr_data(names->u.seq.items[i], &len);
		if ((r = pr_getattr(argv[0], name, &m, &e)) == 0) {
			r = pr_call(m, NULL, 0, NULL, NULL, 0, &res, &e);
			pr_decref(m);
		}
		if (r < 0 && (e.code == PR_EUNSUPPORTED || e.code == PR_EMEMORY)) {
			r = pr_diag(d, e.code, "%s", e.message ? e.message : "");
			break;
		}
		pr__sb_printf(&sb, "%s(): ", name);
		if (r == 0) {
			pr__value_repr(res, &sb);
		} else {
			pr__sb_printf(&sb, "<raised %s: ", e.type ? e.type : "?");
			pr__sb_put(&sb, e.message ? e.message : "", e.message_len);
			pr__sb_putc(&sb, '>');
		}
		pr__sb_putc(&sb, '\n');
		pr_decref(res);
		res = NULL;
		pr_diag_clear(&e);
		r = 0;
	}
	pr_diag_clear(&e);
	if (r < 0) {
		pr__sb_release(&sb);
		return r;
	}
	if ((r = pr__sb_finish(&sb, &text, &len)) < 0)
		return pr_diag(d, r, NULL);
	r = say(text, len, d);
	free(text);
	return r;
}

static const char *const calls_params[] = { "proc" };
static const char *const handles_params[] = { "sig", "code" };
static const char *const ignores_params[] = { "sig" };
static const pr_func child_calls = { .name = "calls",
				     .params = calls_params,
				     .nparams = 1,
				     .nrequired = 1,
				     .varargs = 1,
				     .fn = b_calls };
static const pr_func child_handles = {
	.name = "handles", .params = handles_params, .nparams = 2, .nrequired = 2, .fn = b_handles
};
static const pr_func child_ignores = {
	.name = "ignores", .params = ignores_params, .nparams = 1, .nrequired = 1, .fn = b_ignores
};

/* ---- a child that outlives its parent, and a child's open fds -------- */

/* "label: repr(self.NAME())" or the exception it raised, into sb */
static void report_call(struct sbuf *sb, const char *label, pr_value *self, const char *name)
{
	struct pr_diag e = PR_DIAG_INIT;
	pr_value *m = NULL, *v = NULL;
	int r;

	if ((r = pr_getattr(self, name, &m, &e)) == 0)
		r = pr_call(m, NULL, 0, NULL, NULL, 0, &v, &e);
	report_line(sb, label, r, v, &e);
	pr_decref(v);
	pr_decref(m);
	pr_diag_clear(&e);
}

/* A bound of seconds times PROCSPEC_TIMEOUT_MULTIPLIER (at least 1), as
 * the drivers' own waits */
static double scaled_seconds(double seconds)
{
	const char *m = getenv("PROCSPEC_TIMEOUT_MULTIPLIER");
	double f = m != NULL ? atof(m) : 1.0;

	return seconds * (f > 1.0 ? f : 1.0);
}

static int say_sb(struct sbuf *sb, struct pr_diag *d)
{
	char *text;
	size_t len;
	int r;

	if ((r = pr__sb_finish(sb, &text, &len)) < 0)
		return pr_diag(d, r, NULL);
	r = say(text, len, d);
	free(text);
	return r;
}

/* child.watches_parent(): parent_process(), its pid and is_alive(); then
 * parent_process().join(10 s, scaled) and is_alive() again */
static int b_watches_parent(pr_value *self, pr_value **argv, pr_value **out, struct pr_diag *d)
{
	pr_value *pp = pr__rt.parent != NULL ? pr__rt.parent : pr_none();
	pr_value *v = NULL, *join = NULL, *timeout = NULL, *res = NULL;
	struct pr_diag e = PR_DIAG_INIT;
	struct sbuf sb = SBUF_INIT;
	int r;

	(void)self;
	(void)argv;
	(void)out;
	report_line(&sb, "parent_process()", 0, pp, NULL);
	r = pr_getattr(pp, "pid", &v, &e);
	report_line(&sb, "parent_process().pid", r, v, &e);
	pr_decref(v);
	pr_diag_clear(&e);
	report_call(&sb, "parent_process().is_alive()", pp, "is_alive");
	if ((r = say_sb(&sb, d)) < 0)
		return r;
	if ((timeout = pr_float(scaled_seconds(10))) == NULL)
		return pr_diag(d, PR_EMEMORY, NULL);
	if ((r = pr_getattr(pp, "join", &join, d)) == 0)
		r = pr_call(join, &timeout, 1, NULL, NULL, 0, &res, d);
	pr_decref(res);
	pr_decref(join);
	pr_decref(timeout);
	if (r < 0)
		return r;
	report_call(&sb, "parent_process().is_alive()", pp, "is_alive");
	return say_sb(&sb, d);
}

/* child.starts_watcher(): q = Process(target=child.watches_parent);
 * q.start(); then child.blocks()'s wait, writing nothing itself */
static int b_starts_watcher(pr_value *self, pr_value **argv, pr_value **out, struct pr_diag *d)
{
	static const char *const kw[] = { "target" };
	pr_value *cls = NULL, *q = NULL, *start = NULL, *res = NULL, *target;
	int r;

	(void)self;
	(void)argv;
	(void)out;
	if (own_gate() < 0)
		return pr_diag(d, PR_ERUNTIME, "child.starts_watcher(): this process has no gate");
	if ((target = pr_behaviour("watches_parent")) == NULL ||
	    (cls = pr__class(pr__process_init())) == NULL) {
		pr_decref(target);
		return pr_diag(d, PR_EMEMORY, NULL);
	}
	if ((r = pr_call(cls, NULL, 0, kw, &target, 1, &q, d)) == 0) {
		q->u.proc->gate = own_gate();
		if ((r = pr_getattr(q, "start", &start, d)) == 0)
			r = start_from_target(start, &res, d);
	}
	pr_decref(res);
	pr_decref(start);
	pr_decref(q);
	pr_decref(cls);
	pr_decref(target);
	if (r < 0)
		return r;
	return b_blocks(NULL, NULL, NULL, d);
}

/* child.counts_fds(): "fds: N", N the file descriptors this process has
 * open; then child.blocks()'s wait */
static int b_counts_fds(pr_value *self, pr_value **argv, pr_value **out, struct pr_diag *d)
{
	struct dirent *ent;
	char line[32];
	long n = 0;
	DIR *dir;
	int r;

	(void)self;
	(void)argv;
	(void)out;
	if (own_gate() < 0)
		return pr_diag(d, PR_ERUNTIME, "child.counts_fds(): this process has no gate");
	if ((dir = opendir("/proc/self/fd")) == NULL)
		return pr_diag(d, -errno, NULL);
	while ((ent = readdir(dir)) != NULL)
		n += ent->d_name[0] != '.';
	closedir(dir);
	/* os.listdir() counts the directory's own fd too, and takes it off */
	snprintf(line, sizeof line, "fds: %ld\n", n - 1);
	if ((r = say(line, strlen(line), d)) < 0)
		return r;
	return b_blocks(NULL, NULL, NULL, d);
}

/* conn.method(arg): a new reference in *out */
static int conn_call(pr_value *conn, const char *method, pr_value *arg, pr_value **out,
		     struct pr_diag *d)
{
	pr_value *f = NULL;
	int r;

	*out = NULL;
	if ((r = pr_getattr(conn, method, &f, d)) < 0)
		return r;
	r = pr_call(f, arg != NULL ? &arg : NULL, arg != NULL, NULL, NULL, 0, out, d);
	pr_decref(f);
	return r;
}

/* child.uppercases(conn): for s in iter(conn.recv, None): conn.send(s
 * with its ASCII letters upper-cased, a str; anything else as it came);
 * then conn.close(), as _TestSubclassingProcess's _UpperCaser does */
static int b_uppercases(pr_value *self, pr_value **argv, pr_value **out, struct pr_diag *d)
{
	pr_value *v = NULL, *up, *none = NULL;
	char *text;
	size_t len, i;
	int r;

	(void)self;
	(void)out;
	for (;;) {
		if ((r = conn_call(argv[0], "recv", NULL, &v, d)) < 0)
			return r;
		if (pr_kind(v) == PR_NONE)
			break;
		up = pr_incref(v);
		if (pr_kind(v) == PR_STR) {
			const char *s = pr_data(v, &len);

			pr_decref(up);
			if ((text = malloc(len + 1)) == NULL) {
				pr_decref(v);
				return pr_diag(d, PR_EMEMORY, NULL);
			}
			for (i = 0; i < len; i++)
				text[i] = s[i] >= 'a' && s[i] <= 'z' ? (char)(s[i] - 'a' + 'A') :
								       s[i];
			up = pr_str(text, len);
			free(text);
			if (up == NULL) {
				pr_decref(v);
				return pr_diag(d, PR_EMEMORY, NULL);
			}
		}
		pr_decref(v);
		r = conn_call(argv[0], "send", up, &none, d);
		pr_decref(up);
		pr_decref(none);
		if (r < 0)
			return r;
	}
	pr_decref(v);
	r = conn_call(argv[0], "close", NULL, &none, d);
	pr_decref(none);
	return r;
}

static const char *const uppercases_params[] = { "conn" };
static const pr_func child_uppercases = { .name = "uppercases",
					  .params = uppercases_params,
					  .nparams = 1,
					  .nrequired = 1,
					  .fn = b_uppercases };
static const pr_func child_counts_fds = { .name = "counts_fds",
					  .params = no_params,
					  .fn = b_counts_fds };
static const pr_func child_starts_watcher = { .name = "starts_watcher",
					      .params = no_params,
					      .fn = b_starts_watcher };
static const pr_func child_watches_parent = { .name = "watches_parent",
					      .params = no_params,
					      .fn = b_watches_parent };

/* ---- a child's own view of what it was given; runs of many children -- */

/* child.echoes(*args, **kwargs): "args: ...", "kwargs: ..." and "pid: N" */
static int b_echoes(pr_value *self, pr_value **argv, pr_value **out, struct pr_diag *d)
{
	struct sbuf sb = SBUF_INIT;

	(void)self;
	(void)out;
	pr__sb_printf(&sb, "args: ");
	pr__value_repr(argv[0], &sb);
	pr__sb_printf(&sb, "\nkwargs: ");
	pr__value_repr(argv[1], &sb);
	pr__sb_printf(&sb, "\npid: %ld\n", (long)getpid());
	return say_sb(&sb, d);
}

/* child.reports_start_method(): "get_start_method(): ..." */
static int b_reports_start_method(pr_value *self, pr_value **argv, pr_value **out,
				  struct pr_diag *d)
{
	struct pr_diag e = PR_DIAG_INIT;
	struct sbuf sb = SBUF_INIT;
	pr_value *f, *v = NULL;
	int r;

	(void)self;
	(void)argv;
	(void)out;
	if ((f = pr_global("get_start_method")) == NULL)
		return pr_diag(d, PR_EMEMORY, NULL);
	r = pr_call(f, NULL, 0, NULL, NULL, 0, &v, &e);
	report_line(&sb, "get_start_method()", r, v, &e);
	pr_decref(v);
	pr_decref(f);
	pr_diag_clear(&e);
	return say_sb(&sb, d);
}

/* q = type(current_process())(target=target, args=args); q.start(), with
 * this process's gate; *q is the new process */
static int start_one(pr_value *target, pr_value *args, pr_value **q, struct pr_diag *d)
{
	static const char *const kw[] = { "target", "args" };
	pr_value *kwv[2] = { target, args };
	pr_value *cls, *fn = NULL, *res = NULL;
	int r;

	*q = NULL;
	if ((cls = current_class()) == NULL)
		return pr_diag(d, PR_EMEMORY, NULL);
	r = pr_call(cls, NULL, 0, kw, kwv, args != NULL ? 2 : 1, q, d);
	pr_decref(cls);
	if (r < 0)
		return r;
	(*q)->u.proc->gate = own_gate();
	if ((r = pr_getattr(*q, "start", &fn, d)) == 0)
		r = start_from_target(fn, &res, d);
	pr_decref(fn);
	pr_decref(res);
	return r;
}

/* name() of q: q.join(), q.terminate(), ... */
static int call_method(pr_value *q, const char *name, struct pr_diag *d)
{
	pr_value *fn = NULL, *res = NULL;
	int r;

	if ((r = pr_getattr(q, name, &fn, d)) == 0)
		r = pr_call(fn, NULL, 0, NULL, NULL, 0, &res, d);
	pr_decref(fn);
	pr_decref(res);
	return r;
}

/* child.recurses(depth=2): its name; then, if depth > 0, two children in
 * turn with child.recurses(depth - 1), each started and joined */
static int b_recurses(pr_value *self, pr_value **argv, pr_value **out, struct pr_diag *d)
{
	pr_value *name = NULL, *target = NULL, *args = NULL, *next, *q = NULL;
	struct sbuf sb = SBUF_INIT;
	int depth = 2, r, i;

	(void)self;
	(void)out;
	if (argv[0] != NULL && (r = pr__value_as_cint(argv[0], &depth, d)) < 0)
		return r;
	if ((r = pr_getattr(pr__rt.current, "name", &name, d)) < 0)
		return r;
	/* current_process().name + '\n': a name that is not a str (a
	 * Process(name=3) keeps what it was given) raises, as in the driver's
	 * Python (found by fuzz, ref@3.9 against CPython 3.9, seed 20261215
	 * index 9159); in 2.7 bytes is str */
	if (name->kind != PR_STR && (name->kind != PR_BYTES || pr__profile.bytes_type)) {
		r = name->kind == PR_BYTES ?
			    pr_diag(d, PR_ETYPE, "can't concat str to bytes") :
			    pr_diag(d, PR_ETYPE,
				    "unsupported operand type(s) for +: '%s' and 'str'",
				    pr__type_name(name));
		pr_decref(name);
		return r;
	}
	pr__value_str(name, &sb);
	pr_decref(name);
	pr__sb_putc(&sb, '\n');
	if ((r = say_sb(&sb, d)) < 0 || depth <= 0)
		return r;
	if ((target = pr_behaviour("recurses")) == NULL || (next = pr_int(depth - 1)) == NULL ||
	    (args = pr_tuple(&next, 1)) == NULL) {
		pr_decref(target);
		return pr_diag(d, PR_EMEMORY, NULL);
	}
	for (i = 0; i < 2 && r == 0; i++) {
		if ((r = start_one(target, args, &q, d)) == 0)
			r = call_method(q, "join", d);
		pr_decref(q);
		q = NULL;
	}
	pr_decref(args);
	pr_decref(target);
	return r;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

/* "exitcodes: [...]": the distinct exit codes of procs, sorted */
static int say_exitcodes(pr_value **procs, int64_t n, struct pr_diag *d)
{
	struct sbuf sb = SBUF_INIT;
	int64_t *codes, i, k = 0;
	pr_value *v;
	char *text;
	int r = 0;

	if ((codes = calloc((size_t)n + 1, sizeof *codes)) == NULL)
		return pr_diag(d, PR_EMEMORY, NULL);
	for (i = 0; i < n && r == 0; i++) {
		v = NULL;
		if ((r = pr_getattr(procs[i], "exitcode", &v, d)) == 0) {
			if (pr_repr(v, &text, NULL) == 0) {
				codes[k++] = strtoll(text, NULL, 10);
				free(text);
			}
		}
		pr_decref(v);
	}
	if (r < 0) {
		free(codes);
		return r;
	}
	qsort(codes, (size_t)k, sizeof *codes, cmp_i64);
	pr__sb_printf(&sb, "exitcodes: [");
	for (i = 0; i < k; i++)
		if (i == 0 || codes[i] != codes[i - 1])
			pr__sb_printf(&sb, "%s%lld", i ? ", " : "", (long long)codes[i]);
	pr__sb_printf(&sb, "]\n");
	free(codes);
	return say_sb(&sb, d);
}

/* child.starts_many(n): n children of child.returns started, then all
 * joined; n of child.blocks started, all terminated, all joined; the
 * distinct exit codes of each round */
static int b_starts_many(pr_value *self, pr_value **argv, pr_value **out, struct pr_diag *d)
{
	static const char *const targets[] = { "returns", "blocks" };
	pr_value **procs, *target;
	int64_t n, i, started;
	int round, r = 0, n_c;

	(void)self;
	(void)out;
	if ((r = pr__value_as_cint(argv[0], &n_c, d)) < 0)
		return r;
	if (n_c < 1 || n_c > 1000)
		return pr_diag(d, PR_EVALUE, "child.starts_many(): n is from 1 to 1000");
	n = n_c;
	if ((procs = calloc((size_t)n, sizeof *procs)) == NULL)
		return pr_diag(d, PR_EMEMORY, NULL);
	for (round = 0; round < 2 && r == 0; round++) {
		if ((target = pr_behaviour(targets[round])) == NULL) {
			r = pr_diag(d, PR_EMEMORY, NULL);
			break;
		}
		for (started = 0; started < n && r == 0; started++)
			r = start_one(target, NULL, &procs[started], d);
		pr_decref(target);
		for (i = 0; i < started && r == 0 && round == 1; i++)
			r = call_method(procs[i], "terminate", d);
		for (i = 0; i < started && r == 0; i++)
			r = call_method(procs[i], "join", d);
		if (r == 0)
			r = say_exitcodes(procs, n, d);
		for (i = 0; i < started; i++) {
			pr_decref(procs[i]);
			procs[i] = NULL;
		}
	}
	free(procs);
	return r;
}

/* child.reports_native_id(): whether the child's main thread has the
 * child's own id (Linux: the main thread's tid is the pid) */
static int b_reports_native_id(pr_value *self, pr_value **argv, pr_value **out, struct pr_diag *d)
{
	const char *yes = "main_thread().native_id == get_native_id(): True\n";
	const char *no = "main_thread().native_id == get_native_id(): False\n";
	int same = (pid_t)syscall(SYS_gettid) == getpid();

	(void)self;
	(void)argv;
	(void)out;
	return say(same ? yes : no, strlen(same ? yes : no), d);
}

static const char *const recurses_params[] = { "depth" };
static const char *const starts_many_params[] = { "n" };
static const pr_func child_echoes = {
	.name = "echoes", .params = no_params, .varargs = 1, .varkw = 1, .fn = b_echoes
};
static const pr_func child_recurses = {
	.name = "recurses", .params = recurses_params, .nparams = 1, .fn = b_recurses
};
static const pr_func child_reports_native_id = { .name = "reports_native_id",
						 .params = no_params,
						 .fn = b_reports_native_id };
static const pr_func child_reports_start_method = { .name = "reports_start_method",
						    .params = no_params,
						    .fn = b_reports_start_method };
static const pr_func child_starts_many = { .name = "starts_many",
					   .params = starts_many_params,
					   .nparams = 1,
					   .nrequired = 1,
					   .fn = b_starts_many };

/* child.NAME: the names are harness/vocab.def's, the functions above */
static const struct {
	const char *name;
	const pr_func *f;
} behaviours[] = {
#define CHILD(name, ref) { name, &ref },
#include "vocab.def"
};

pr_value *pr_behaviour(const char *name)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(behaviours); i++)
		if (strcmp(behaviours[i].name, name) == 0)
			return pr_function(behaviours[i].f);
	return NULL;
}

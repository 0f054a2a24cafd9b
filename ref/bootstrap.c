/*
 * The child side of a start: BaseProcess._bootstrap (Lib/multiprocessing/
 * process.py) as it runs in a forked child, and the exit status that
 * popen_fork.Popen._launch hands to os._exit().
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

/* util._close_stdin: reading stdin in a child gives EOF.  (CPython wraps
 * a fresh /dev/null fd in sys.stdin and leaves fd 0 as it was; procref has
 * no sys.stdin object, so it puts /dev/null on fd 0 itself.) */
static void close_stdin(void)
{
	struct stat st;
	int fd;

	/* Already /dev/null (the drivers make sure of it): skip the path
	 * lookup, a sixth of a child's cost in make bench. */
	if (fstat(0, &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 3))
		return;
	fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return;
	if (fd != 0) {
		dup2(fd, 0);
		close(fd);
	}
}

static void write_err(const char *s, size_t len)
{
	pr__stream_write(PR_STDERR, s, len);
}

/* 'Process %s:\n' % self.name, then traceback.print_exc(): procref has no
 * frames to show, so one stands for them (the harness collapses frame
 * lines), and the last line is what format_exception_only() gives. */
static void print_exception(pr_value *self, const struct pr_diag *d)
{
	struct sbuf sb = SBUF_INIT;
	/* what the driver could not carry out (a harness verb called in a
	 * child) is tools/pydriver.py's DriverError */
	const char *type = d->type != NULL ? d->type : "DriverError";

	pr__sb_puts(&sb, "Process ");
	pr__value_str(self->u.proc->name != NULL ? self->u.proc->name : pr_none(), &sb);
	pr__sb_puts(&sb, ":\n");
	if (!sb.oom)
		write_err(sb.p, sb.len);
	pr__sb_release(&sb);
	pr__sb_puts(&sb, "Traceback (most recent call last):\n"
			 "  File \"<procref>\", line 1, in run\n");
	pr__sb_puts(&sb, type);
	if (d->message_len) {
		pr__sb_puts(&sb, ": ");
		pr__sb_put(&sb, d->message, d->message_len);
	}
	pr__sb_putc(&sb, '\n');
	if (!sb.oom)
		write_err(sb.p, sb.len);
	pr__sb_release(&sb);
}

/* except SystemExit as e: the exit status for e.code */
static int system_exit_status(const struct pr_diag *d)
{
	struct sbuf sb = SBUF_INIT;
	pr_value *code = d->exit_code;
	int status;

	if (!pr__profile.exit_code_attr) {
		/* before 3.9: `if not e.args: exitcode = 1`, else e.args[0].
		 * code is None for no args, args[0] for one, and args itself
		 * for more: a tuple of two or more was args.  (A one-item
		 * tuple holding such a tuple, sys.exit(((1, 2),)), has the
		 * same code and is taken as args too.) */
		if (code == NULL || code->kind == PR_NONE)
			return 1;
		if (code->kind == PR_TUPLE && code->u.seq.len >= 2)
			code = code->u.seq.items[0];
	} else if (code == NULL || code->kind == PR_NONE) {
		return 0;
	}
	if (pr__is_int(code)) {
		/* A spawn child ends in sys.exit(code): the interpreter takes
		 * (int)PyLong_AsLong(code), and -1 (255) when it does not fit
		 * a C long (Python/pythonrun.c, _Py_HandleSystemExit). */
		if (pr__rt.exits_by_sys_exit && code->kind == PR_INT)
			return code->u.i.big != NULL ? -1 :
						       (int)(uint32_t)(uint64_t)code->u.i.small;
		/* os._exit(code) takes a C int; a larger code makes
		 * os._exit() raise OverflowError in CPython's child, outside
		 * any handler of _bootstrap: the fork start method raises it
		 * out of start() in the child (popen_fork.c); elsewhere the
		 * child exits 1. */
		if (pr__value_as_cint(code, &status, NULL) < 0) {
			pr__rt.exit_overflow = pr__cint_overflow(code);
			pr__rt.exit_overflow_code = code->kind == PR_INT && code->u.i.big == NULL ?
							    code->u.i.small :
							    -1;
			return 1;
		}
		return status;
	}
	/* sys.stderr.write(str(e.code) + '\n') */
	pr__value_str(code, &sb);
	pr__sb_putc(&sb, '\n');
	if (!sb.oom)
		write_err(sb.p, sb.len);
	pr__sb_release(&sb);
	return 1;
}

/*
 * python -O, a second start() of one object (BaseProcess.start without its
 * asserts forks again): this child's run() fails at once on the _target
 * that the first start() deleted.  CPython's child takes milliseconds to
 * get there and print the traceback, and the golden transcripts
 * (lifecycle/start-twice, start-after-join in cpython-3.11-O) still see it
 * running two steps later; procref's child would be gone before the next
 * step.  It stands in for CPython's work with a pause: a model of time,
 * not synchronisation, the one place libprocref has one.
 */
#define RESTART_CHILD_PAUSE_NS 200000000L

static void restart_child_pause(void)
{
	struct timespec ts = { 0, RESTART_CHILD_PAUSE_NS };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

int pr__bootstrap(pr_value *self, int parent_sentinel)
{
	struct pr_process *p = self->u.proc;
	struct pr_diag d = PR_DIAG_INIT, fin = PR_DIAG_INIT;
	pr_value *old, *run = NULL, *result = NULL, *parent;
	int r, status = 0;
	size_t i;

	/* if self._start_method is not None:
	 *     context._force_start_method(self._start_method)
	 * a context's class (SpawnProcess) makes its method the child's */
	if (p->cls != NULL && pr__subclass_start_method(p->cls) != NULL)
		pr__rt.method = pr__subclass_start_method(p->cls);
	/* _process_counter = itertools.count(1); _children = set() */
	pr__rt.counter = 1;
	for (i = 0; i < pr__rt.nchildren; i++)
		pr_decref(pr__rt.children[i]);
	pr__rt.nchildren = 0;
	close_stdin();
	if (p->target_deleted)
		restart_child_pause();
	old = pr__rt.current;
	pr__rt.current = pr_incref(self);
	parent = pr__parent_process_new(p->parent_name, p->parent_pid, parent_sentinel);
	pr_decref(pr__rt.parent);
	pr__rt.parent = parent;
	pr_decref(old);
	if (parent == NULL) {
		r = pr_diag(&d, PR_EMEMORY, NULL);
	} else {
		/* try: self.run() finally: util._exit_function() */
		r = pr_getattr(self, "run", &run, &d);
		if (r == 0)
			r = pr_call(run, NULL, 0, NULL, NULL, 0, &result, &d);
	}
	pr_decref(run);
	pr_decref(result);
	if (pr_exit_function(&fin) < 0) {
		/* an exception in the finally replaces the first */
		pr_diag_clear(&d);
		d = fin;
		r = fin.code;
		fin = (struct pr_diag)PR_DIAG_INIT;
	}
	if (r == 0) {
		status = 0;
	} else if (r == PR_ESYSTEM_EXIT) {
		status = system_exit_status(&d);
	} else {
		status = 1;
		print_exception(self, &d);
	}
	pr_diag_clear(&d);
	pr_diag_clear(&fin);
	/* finally: threading._shutdown() (3.7+) */
	if (pr__profile.bootstrap_threads)
		pr__threads_join();
	/* util._flush_std_streams(); if that raises, _launch's
	 * os._exit(code) runs with code still 1 */
	if (pr__flush_std_streams() < 0)
		return 1;
	return status;
}

/*
 * bench/prstart: what one Process(target=child.returns).start() + join()
 * costs through libprocref, the child's side included (_bootstrap, the
 * behaviour, util._exit_function), against the floor (bench_floor(), the
 * same system calls with no library around them) timed in turns with it in
 * the same process, so that both fork the same address space.
 *
 * Built twice (bench.mk): prstart linked as build/procref-driver is, and
 * prstart-now with -z now.  Without it, every child binds afresh each libc
 * function the parent never called (open, dup2, _exit, ...): the binding
 * is written into the child's copy of the GOT and dies with it.
 *
 * usage: prstart ITERATIONS
 * Prints "floor MEDIAN MEAN P10" and "libprocref MEDIAN MEAN P10", ns per
 * start + join.  Exit 0, 1 with the Python exception when libprocref
 * raises, 2 on a usage error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "procref.h"

struct bench {
	pr_value *cls;    /* Process */
	pr_value *target; /* child.returns */
	struct pr_diag d;
};
/* clang-format off */
#define BENCH_INIT { NULL, NULL, PR_DIAG_INIT }
/* clang-format on */

static int bench_init(struct bench *b)
{
	int r = pr_init(&b->d);

	if (r)
		return r;
	b->cls = pr_global("Process");
	b->target = pr_behaviour("returns");
	if (!b->cls || !b->target)
		return pr_diag(&b->d, PR_EMEMORY, "no Process or child.returns");
	return 0;
}

static void bench_release(struct bench *b)
{
	pr_decref(b->target);
	pr_decref(b->cls);
	pr_diag_clear(&b->d);
	pr_fini();
}

/* The Python exception libprocref raised, or what else r is. */
static void bench_print_error(const struct bench *b, int r)
{
	if (!b->d.code)
		fprintf(stderr, "prstart: %s\n", strerror(-r));
	else
		fprintf(stderr, "prstart: %s: %.*s\n", b->d.type ? b->d.type : "error",
			(int)b->d.message_len, b->d.message ? b->d.message : "");
}

/* obj.NAME(), the result dropped.  0 or libprocref's error. */
static int call_method(pr_value *obj, const char *name, struct pr_diag *d)
{
	pr_value *m = NULL, *res = NULL;
	int r;

	r = pr_getattr(obj, name, &m, d);
	if (r)
		goto out;
	r = pr_call(m, NULL, 0, NULL, NULL, 0, &res, d);
out:
	pr_decref(res);
	pr_decref(m);
	return r;
}

/* p = Process(target=child.returns); p.start(); p.join().  0 or
 * libprocref's error, in b->d. */
static int start_join(void *arg)
{
	static const char *const kwnames[] = { "target" };
	struct bench *b = arg;
	pr_value *p = NULL;
	int r;

	r = pr_call(b->cls, NULL, 0, kwnames, &b->target, 1, &p, &b->d);
	if (r)
		goto out;
	r = call_method(p, "start", &b->d);
	if (r)
		goto out;
	r = call_method(p, "join", &b->d);
out:
	pr_decref(p);
	return r;
}

int main(int argc, char **argv)
{
	struct bench b = BENCH_INIT;
	const struct bench_op ops[] = {
		{ "floor", bench_floor, NULL },
		{ "libprocref", start_join, &b },
	};
	long n = bench_iterations(argc, argv);
	int r;

	if (n < 0)
		return 2;
	r = bench_init(&b);
	if (!r)
		r = bench_loop(n, ops, 2);
	if (r)
		bench_print_error(&b, r);
	bench_release(&b);
	return r ? 1 : 0;
}

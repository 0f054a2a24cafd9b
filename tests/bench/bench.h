/* What the benchmark programs in tests/bench/ share. */
#ifndef BENCH_H
#define BENCH_H

#include <stddef.h>

/* One thing to time: fn(arg) returns 0 or a negative code. */
struct bench_op {
	const char *name;
	int (*fn)(void *arg);
	void *arg;
};

/*
 * Time ops[0..nops-1] in turn, one call of each per round: n / 10 rounds
 * (at least 10) to warm up, then n rounds, every call timed alone on
 * CLOCK_MONOTONIC.  Taking turns call by call, the ops share whatever the
 * machine is doing meanwhile, so their ratio holds on a busy machine even
 * when their absolute figures do not.  Prints one line per op on stdout,
 * "NAME MEDIAN MEAN P10" in ns per call.  0, the first error an op
 * returned, or -ENOMEM.
 */
int bench_loop(long n, const struct bench_op *ops, size_t nops);

/*
 * The floor: what one Process.start() + join() costs the OS.  The two
 * pipes of popen_fork.Popen._launch (os.pipe() is pipe2(O_CLOEXEC)), fork,
 * a child that only _exit()s, waitpid, the four ends closed.  arg is
 * unused.  0 or -errno.
 */
int bench_floor(void *arg);

/* ITERATIONS from argv, or -1 (with the usage on stderr). */
long bench_iterations(int argc, char **argv);

#endif

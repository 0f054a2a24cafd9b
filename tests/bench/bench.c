#include "bench.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

static void report(const char *name, int64_t *ns, long n)
{
	double median, sum = 0;
	long i;

	for (i = 0; i < n; i++)
		sum += (double)ns[i];
	qsort(ns, (size_t)n, sizeof(*ns), cmp_i64);
	median = n % 2 ? (double)ns[n / 2] : ((double)ns[n / 2 - 1] + (double)ns[n / 2]) / 2;
	printf("%s %.0f %.0f %.0f\n", name, median, sum / (double)n, (double)ns[n / 10]);
}

int bench_loop(long n, const struct bench_op *ops, size_t nops)
{
	long i, warm = n / 10 < 10 ? 10 : n / 10;
	int64_t *ns = NULL, t0;
	size_t k;
	int r = 0;

	ns = malloc((size_t)n * nops * sizeof(*ns));
	if (!ns)
		return -ENOMEM;
	for (i = 0; i < warm; i++)
		for (k = 0; k < nops; k++)
			if ((r = ops[k].fn(ops[k].arg)))
				goto out;
	for (i = 0; i < n; i++)
		for (k = 0; k < nops; k++) {
			t0 = now_ns();
			if ((r = ops[k].fn(ops[k].arg)))
				goto out;
			ns[k * (size_t)n + (size_t)i] = now_ns() - t0;
		}
	for (k = 0; k < nops; k++)
		report(ops[k].name, ns + k * (size_t)n, n);
	if (fflush(stdout))
		r = -errno;
out:
	free(ns);
	return r;
}

/*
 * The child exits through a pointer to _exit taken when the program is
 * loaded.  A call through the PLT would be bound lazily (without -z now),
 * and the binding is written into the child's copy of the GOT, so every
 * child would look _exit up again: ld.so work, not OS work.
 */
static void (*const volatile exit_now)(int) = _exit;

int bench_floor(void *arg)
{
	int sent[2] = { -1, -1 }, cw[2] = { -1, -1 }, st, r = 0, i;
	pid_t pid, w;

	(void)arg;
	if (pipe2(sent, O_CLOEXEC) || pipe2(cw, O_CLOEXEC)) {
		r = -errno;
		goto out;
	}
	pid = fork();
	if (pid < 0) {
		r = -errno;
		goto out;
	}
	if (pid == 0)
		exit_now(0);
	do
		w = waitpid(pid, &st, 0);
	while (w == -1 && errno == EINTR);
	if (w != pid)
		r = -errno;
out:
	for (i = 0; i < 2; i++) {
		if (sent[i] >= 0)
			close(sent[i]);
		if (cw[i] >= 0)
			close(cw[i]);
	}
	return r;
}

long bench_iterations(int argc, char **argv)
{
	long n = argc == 2 ? strtol(argv[1], NULL, 10) : 0;

	if (n <= 0) {
		fprintf(stderr, "usage: %s ITERATIONS\n", argv[0]);
		return -1;
	}
	return n;
}

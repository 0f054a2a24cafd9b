/*
 * bench/floor: the floor alone (bench_floor(), bench.h) in a process that
 * holds nothing else, to show what the machine itself costs.
 *
 * usage: floor ITERATIONS
 * Prints "floor MEDIAN MEAN P10", ns per iteration.  Exit 0, 1 when a
 * system call fails, 2 on a usage error.
 */
#include <stdio.h>
#include <string.h>

#include "bench.h"

int main(int argc, char **argv)
{
	static const struct bench_op ops[] = { { "floor", bench_floor, NULL } };
	long n = bench_iterations(argc, argv);
	int r;

	if (n < 0)
		return 2;
	r = bench_loop(n, ops, 1);
	if (r) {
		fprintf(stderr, "floor: %s\n", strerror(-r));
		return 1;
	}
	return 0;
}

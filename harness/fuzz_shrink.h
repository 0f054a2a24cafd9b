/*
 * Shrinking a finding: delta debugging over a generated scenario while it
 * still shows the same signature.  Every candidate is printed, parsed and
 * judged by the generator's model before it is run, so a shrunk scenario is
 * as valid (and as free of races) as a generated one.
 */
#ifndef PS_FUZZ_SHRINK_H
#define PS_FUZZ_SHRINK_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

#include "diag.h"

/* Whether the scenario text still shows the finding: *same set; 0 or a harness error. */
typedef int (*ps_fuzz_repro_fn)(void *ctx, const char *text, bool *same, struct ps_diag *d);

/*
 * Reduce text (canonical, one start method) to a smaller scenario that
 * repro still accepts: drop chunks of statements, drop every statement of a
 * process, simplify literals toward the smallest (0, '', (), fewer keyword
 * arguments), until nothing more helps, the CLOCK_MONOTONIC deadline passes
 * or *stop is set.  *out gets the smallest text found (text itself at
 * worst), with no comment lines; *tries the number of candidates run.
 */
int ps_fuzz_shrink(const char *text, unsigned method, ps_fuzz_repro_fn repro, void *ctx,
		   double deadline, const volatile sig_atomic_t *stop, char **out, size_t *tries,
		   struct ps_diag *d);

#endif

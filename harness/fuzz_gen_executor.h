/*
 * The fuzz generator's ProcessPoolExecutor scenarios (docs/FUZZING.md,
 * Executor scenarios): a model of one executor, its futures, gates, worker
 * handles and map iterators, that accepts a statement only when its outcome
 * cannot depend on timing (docs/SCENARIOS.md, Executor scenarios).  The
 * Process generator (fuzz_gen.c) hands an index over to it, and its model
 * check over to this one for a scenario that uses an executor.
 */
#ifndef PS_FUZZ_GEN_EXECUTOR_H
#define PS_FUZZ_GEN_EXECUTOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "diag.h"
#include "fuzz_gen.h"
#include "scenario.h"

/* Whether scenario (seed, index) is an executor one under o (its kind and the drivers' features). */
bool ps_fuzz_exec_pick(const struct ps_fuzz_gen_opts *o, uint64_t seed, uint64_t index);

/* The executor scenario (seed, index): as ps_fuzz_generate. */
int ps_fuzz_exec_generate(const struct ps_fuzz_gen_opts *o, uint64_t seed, uint64_t index,
			  char **text, unsigned *method, struct ps_diag *d);

/* Whether sc uses an executor, a gate or a task behaviour: this model judges it. */
bool ps_fuzz_exec_is_executor(const struct ps_scenario *sc);

/* As ps_fuzz_model_check, for an executor scenario. */
bool ps_fuzz_exec_model_check(const struct ps_scenario *sc, char *why, size_t size);

/* The executor features a driver lacks, as PS_FUZZ_EX_* bits, from its hello. */
struct ps_driver;
unsigned ps_fuzz_exec_missing(const struct ps_driver *drv);

#endif

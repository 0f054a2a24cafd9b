/*
 * The fuzz generator: random but valid scenarios from a model of the
 * process lifecycle (docs/FUZZING.md).
 *
 * A scenario is a function of (seed, index) alone: a self-contained
 * xoshiro256** stream seeded through splitmix64, never rand(), so a seed
 * means the same scenarios on every machine, whatever -j or timing.
 *
 * The model knows each process variable's state (initial, blocked,
 * running-or-finished, finished, closed) and accepts a statement only when
 * its outcome cannot depend on timing: no is_alive() on a child that may or
 * may not have exited yet, no join() on a child that can never finish, no
 * active_children() listing two children (its order is a set's).  The same
 * model judges a parsed scenario (ps_fuzz_model_check), so the shrinker only
 * ever tries scenarios the generator could have written.
 */
#ifndef PS_FUZZ_GEN_H
#define PS_FUZZ_GEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "diag.h"
#include "driver.h"
#include "scenario.h"

struct ps_fuzz_rng {
	uint64_t s[4];
};

/* The stream of scenario index under seed; independent of every other index. */
void ps_fuzz_rng_seed(struct ps_fuzz_rng *r, uint64_t seed, uint64_t index);
uint64_t ps_fuzz_rng_next(struct ps_fuzz_rng *r);

/* What --kind asks for: Process scenarios, executor ones, or a mix (fuzz_gen_executor.h). */
enum ps_fuzz_kind { PS_FUZZ_KIND_ALL, PS_FUZZ_KIND_PROCESS, PS_FUZZ_KIND_EXECUTOR };

/* Executor features a driver lacks (ps_fuzz_gen_opts.ex_missing): never generated. */
#define PS_FUZZ_EX_EXECUTOR       0x01u /* ProcessPoolExecutor itself */
#define PS_FUZZ_EX_CANCEL_FUTURES 0x02u /* shutdown(cancel_futures=), 3.9 */
#define PS_FUZZ_EX_MTPC           0x04u /* max_tasks_per_child=, 3.11 */
#define PS_FUZZ_EX_INITIALIZER    0x08u /* initializer=, initargs=, 3.7 */
#define PS_FUZZ_EX_MP_CONTEXT     0x10u /* mp_context=, 3.7 */

struct ps_fuzz_gen_opts {
	unsigned methods;    /* enum ps_method bits to draw from (fork when 0) */
	unsigned max_steps;  /* statements per scenario, at most */
	unsigned max_procs;  /* process variables per scenario, at most (<= 5) */
	bool faults;         /* arm failpoints at random steps (fault(), faults_clear()) */
	unsigned kind;       /* enum ps_fuzz_kind */
	unsigned ex_missing; /* PS_FUZZ_EX_* bits: what either driver lacks */
	/*
	 * Optional features (harness/vocab.def) one of the two drivers' hellos
	 * does not declare: no statement that uses one is generated, since
	 * the driver would answer it "unsupported", not as its interpreter.
	 */
	const char *lacking[PS_MAX_FEATURES];
	size_t n_lacking;
};

/* clang-format off */
#define PS_FUZZ_GEN_OPTS_INIT { PS_M_FORK, 12, 3, false, PS_FUZZ_KIND_ALL, 0, { NULL }, 0 }
/* clang-format on */

/* Add to o->lacking each optional feature drv's hello does not declare. */
void ps_fuzz_gen_lacking(struct ps_fuzz_gen_opts *o, const struct ps_driver *drv);

/*
 * The scenario (seed, index): its canonical text (header comment, methods
 * line, one statement a line, as the parser prints them), malloc'd in *text,
 * and its one start method in *method.  The text has gone through
 * ps_scenario_parse and the model; a failure there is a bug of the
 * generator, reported as PS_EPARSE with d filled.
 */
int ps_fuzz_generate(const struct ps_fuzz_gen_opts *o, uint64_t seed, uint64_t index, char **text,
		     unsigned *method, struct ps_diag *d);

/*
 * Whether the model accepts sc: every statement is one it knows and its
 * outcome is fixed whatever the timing.  On refusal, why (may be NULL)
 * gets the reason.
 */
bool ps_fuzz_model_check(const struct ps_scenario *sc, char *why, size_t size);

/*
 * The canonical text of sc: the comment lines of comment (each line gets
 * "# "), "methods: M", a blank line, the statements.  malloc'd, NULL when out
 * of memory.
 */
char *ps_fuzz_scenario_text(const struct ps_scenario *sc, const char *comment, unsigned method,
			    const char *tags);

/* Parse text as a generated scenario with id "fuzz/<id>". 0 or PS_EPARSE / -ENOMEM (d filled). */
int ps_fuzz_parse(const char *text, const char *id, struct ps_scenario **out, struct ps_diag *d);

#endif

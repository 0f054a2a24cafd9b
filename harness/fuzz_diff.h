/*
 * One differential run: a scenario played on two implementations, the two
 * normalised transcripts compared and each side checked for the invariants
 * (no crash, no hang, no fd leaked, no child left).  What differs is
 * summed up in a signature, so that many hits of one bug group as one
 * finding (docs/FUZZING.md, "Signatures").
 */
#ifndef PS_FUZZ_DIFF_H
#define PS_FUZZ_DIFF_H

#include "run.h"
#include "scenario.h"

struct ps_fuzz_check {
	char *signature;       /* NULL when the two agree and both kept the invariants */
	char *diff;            /* a unified diff B -> A, or the failing side's detail */
	char *text_a, *text_b; /* the normalised transcripts (may be NULL) */
	enum ps_verdict va, vb;
};

/* clang-format off */
#define PS_FUZZ_CHECK_INIT { NULL, NULL, NULL, NULL, PS_V_PASS, PS_V_PASS }
/* clang-format on */

/*
 * Play sc under method on a, then on b; fill *c.  la and lb label the two
 * sides in signatures and diffs.  Returns 0, or a negative code (d filled)
 * when a driver cannot be started at all.
 */
int ps_fuzz_check_run(struct ps_runner *a, struct ps_runner *b, const char *la, const char *lb,
		      const struct ps_scenario *sc, unsigned method, struct ps_fuzz_check *c,
		      struct ps_diag *d);

void ps_fuzz_check_release(struct ps_fuzz_check *c);

/* "Process()", ".start()", ".exitcode", ".name =", "repr", "release()", ... for statement text. */
char *ps_fuzz_stmt_verb(const char *stmt);

#endif

/*
 * Failpoints in generated scenarios (procspec fuzz --faults): the sites and
 * their errnos come from the one site table (harness/fault.h,
 * tools/fiu/sites.def), so the fuzzer arms exactly what drivers can.
 */
#ifndef PS_FUZZ_FAULT_H
#define PS_FUZZ_FAULT_H

#include <stdbool.h>

#include "ast.h"
#include "buf.h"
#include "fuzz_gen.h"

/* Append a random fault(SITE, errno=errno.E, count=N, after=K) statement to b. */
void ps_fuzz_fault_gen(struct ps_fuzz_rng *r, struct ps_buf *b);

/* Whether call is a fault(...) call the harness accepts (ps_fault_check). */
bool ps_fuzz_fault_call_ok(const struct ps_expr *call);

#endif

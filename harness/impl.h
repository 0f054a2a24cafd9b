/*
 * Implementations under test, named on the command line (--impl) and turned
 * into the argv of their driver:
 *
 *   ref                          procref-driver, built beside this program
 *   ref@X.Y[-O]                  the same, behaving as CPython X.Y (python -O)
 *   python:INTERP[:MODULE]       INTERP tools/pydriver.py --module MODULE;
 *                                INTERP may carry flags: "python3 -O"
 *   cmd:PROGRAM [ARG...]         any driver, words split on spaces
 */
#ifndef PS_IMPL_H
#define PS_IMPL_H

#include "diag.h"

struct ps_impl {
	char *spec;		/* as given */
	char *label;		/* short name for reports: "ref", "python3", ... */
	char **argv;		/* NULL-terminated */
	int is_ref;		/* the reference implementation (never a golden source) */
};

/* Parse spec. PS_EUSAGE with d filled when it is not one of the forms above. */
int ps_impl_parse(const char *spec, struct ps_impl *impl, struct ps_diag *d);
void ps_impl_release(struct ps_impl *impl);

/* The directory procspec's own files live in (the parent of build/), malloc'd. */
char *ps_home(void);

#endif

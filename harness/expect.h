/*
 * Expectations: the known, explained differences between an implementation
 * and a golden set.  A divergence listed here is reported as expected
 * (xfail), and a listed scenario that stops diverging is reported as an
 * unexpected pass (XPASS, a failure), so the list cannot rot.
 *
 * One entry per line, '#' starts a comment:
 *
 *   SCENARIO-GLOB METHOD SET [racy] [hangs]: reason
 *
 * All three are globs (fnmatch): '*' for any method or set.  Example:
 *
 *   faults/fork-eagain fork cpython-3.11: CPython leaks the two pipes when fork() fails
 *
 * "include FILE" takes FILE's entries too (FILE relative to this one), so
 * ref@3.9.txt can share what ref.txt says of every version.
 *
 * 'racy' marks a divergence that depends on a race in the implementation
 * (a child that outlives its parent, say): the run is xfail when it
 * diverges and a plain pass when the race went the golden way, never XPASS.
 *
 * 'hangs' marks a scenario on which the implementation never answers a
 * step (a future that never resolves, a pool that never settles: pebble's
 * when its initializer fails): a TIMEOUT is then the expected divergence,
 * as a FAIL, LEAK or ORPHAN is.  A hang is still bounded by the reply time
 * limit, and a run that matches golden is an XPASS unless racy too.
 */
#ifndef PS_EXPECT_H
#define PS_EXPECT_H

#include <stddef.h>

#include "diag.h"

struct ps_expect_entry {
	char *pattern, *method, *set, *reason;
	char *path; /* the file it is listed in */
	int line;
	int racy;  /* may also match: a pass is no XPASS */
	int hangs; /* a TIMEOUT is expected too */
};

struct ps_expect {
	char *path;
	struct ps_expect_entry *v;
	size_t n;
};

/* Load path; a missing file is an empty list.  Errors read file:line:col. */
int ps_expect_load(const char *path, struct ps_expect *x, struct ps_diag *d);

/* expectations/LABEL.txt; for a release's label without a file of its own
 * (ref@3.9, cpython-3.9, and their -O forms), its family's: ref-O.txt or
 * cpython-O.txt for -O, then ref.txt or cpython.txt.  malloc'd, NULL when
 * out of memory. */
char *ps_expect_default_path(const char *label);

/* The entry that covers (id, method, set), or NULL. */
const struct ps_expect_entry *ps_expect_match(const struct ps_expect *x, const char *id,
					      const char *method, const char *set);

void ps_expect_release(struct ps_expect *x);

#endif

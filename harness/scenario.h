/*
 * Scenario files: the header (tags, methods), the leading comment, and the
 * statements, parsed into the AST of ast.h.  The language is described in
 * docs/SCENARIOS.md.
 */
#ifndef PS_SCENARIO_H
#define PS_SCENARIO_H

#include <stdbool.h>
#include <stddef.h>

#include "ast.h"
#include "diag.h"

/* Start methods, as a bit set. */
enum ps_method {
	PS_M_FORK = 1 << 0,
	PS_M_SPAWN = 1 << 1,
	PS_M_FORKSERVER = 1 << 2,
	PS_M_ALL = PS_M_FORK | PS_M_SPAWN | PS_M_FORKSERVER,
};

struct ps_scenario {
	char *path;    /* as given */
	char *id;      /* path below the scenarios root, without .scn */
	char *summary; /* first line of the leading comment, "" if none */
	char **tags;
	size_t n_tags;
	unsigned methods; /* enum ps_method bits */
	struct ps_stmt **steps;
	size_t n_steps;
};

/*
 * Parse src (len bytes, the contents of the file at path) into *out.
 * On failure returns PS_EPARSE (or -ENOMEM) and d->msg reads
 * "path:line:col: message\n<the line>\n<caret>".  *out is set only on success.
 */
int ps_scenario_parse(const char *path, const char *src, size_t len, struct ps_scenario **out,
		      struct ps_diag *d);

/* Read and parse the file at path; id is taken relative to root (may be NULL). */
int ps_scenario_load(const char *path, const char *root, struct ps_scenario **out,
		     struct ps_diag *d);

void ps_scenario_free(struct ps_scenario *sc);

/*
 * The optional features a scenario uses: API that not every implementation
 * or CPython version has ("Process.close", "Process.kill", "parent_process",
 * "Process.sentinel", "ProcessPoolExecutor", "Executor.mp_context", ...;
 * docs/PROTOCOL.md, hello).  Sets out[i] to static
 * names and returns how many (at most PS_MAX_FEATURES).
 */
#define PS_MAX_FEATURES 16
size_t ps_scenario_features(const struct ps_scenario *sc, const char *out[PS_MAX_FEATURES]);
/* The same, leaving out the steps a gate keeps from CPython release version
 * (PY(major, minor) of harness/vocab.h; 0: every step). */
size_t ps_scenario_features_on(const struct ps_scenario *sc, unsigned version,
			       const char *out[PS_MAX_FEATURES]);
/* Whether any step is gated by version (`if sys.version_info ...:`). */
bool ps_scenario_gated(const struct ps_scenario *sc);

/* "fork", "spawn", "forkserver" for one method bit; NULL otherwise. */
const char *ps_method_name(unsigned method);
/* The bit of a method name, 0 if unknown. */
unsigned ps_method_parse(const char *name);

#endif

/*
 * Golden transcripts: where they live, their capture header, and the
 * comparison with an actual transcript as a unified diff.
 */
#ifndef PS_GOLDEN_H
#define PS_GOLDEN_H

#include "diag.h"

/* "<root>/<set>/<method>/<id>.out", malloc'd. */
char *ps_golden_path(const char *root, const char *set, const char *method, const char *id);

/*
 * The header of a captured file: two "# " lines naming the interpreter (its
 * version and origin, ps_golden_origin()), the module, the scenario and the
 * method.  malloc'd.
 */
char *ps_golden_header(const char *implementation, const char *executable, const char *module,
		       const char *id, const char *method);

/*
 * Where an interpreter came from, without the capturing machine's paths:
 * "pyenv 3.8.18" for a pyenv build, "Debian python3 3.11.2" for the
 * system's (os_name, from /etc/os-release, "system" when empty), else the
 * program's name and version ("pypy3 7.3.11"); "?" for no executable.
 * implementation is the driver's hello ("CPython 3.11.2").  malloc'd.
 */
char *ps_golden_origin(const char *implementation, const char *executable, const char *os_name);

/*
 * Read a golden file without its header (the leading "# " lines).
 * PS_ENOGOLD when it does not exist, -errno on other failures.
 */
int ps_golden_read(const char *path, char **body, struct ps_diag *d);

/*
 * A unified diff (3 lines of context) from expected to actual, with the two
 * labels on its "---"/"+++" lines; NULL when the texts are equal or memory
 * ran out (*oom tells which).
 */
char *ps_diff_unified(const char *expected, const char *actual, const char *label_expected,
		      const char *label_actual, int *oom);

#endif

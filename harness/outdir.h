/*
 * Directories procspec writes whole runs into: report directories and
 * golden sets.  One writer at a time (flock), and a report directory holds
 * the files of one run only.
 */
#ifndef PS_OUTDIR_H
#define PS_OUTDIR_H

#include <stdbool.h>

#include "diag.h"

/*
 * Take dir for this process (created first when create): an exclusive
 * flock on the directory, held until *fd is closed (at exit at the
 * latest).  PS_EUSAGE, d saying so, when another procspec holds it: two
 * runs into one report directory, or two captures into one golden
 * directory, would mix their files.
 */
int ps_outdir_lock(const char *dir, bool create, int *fd, struct ps_diag *d);

/*
 * Remove from a locked report directory what an earlier run wrote there:
 * results.json, results.tap, junit.xml, the .actual and .diff files under
 * fork/, spawn/ and forkserver/, and temporary files (*.tmp) a killed run
 * left.  Nothing else is touched.  0, or -errno of the first failure.
 */
int ps_outdir_clear_report(const char *dir);

/*
 * label as one path component: every byte but [A-Za-z0-9._+@-] as '_',
 * and no leading '.', so that an implementation label (--impl
 * "python:python3 -X/../../x") cannot name a path elsewhere.  malloc'd.
 */
char *ps_outdir_component(const char *label);

#endif

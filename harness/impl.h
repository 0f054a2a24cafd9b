/*
 * Implementations under test, named on the command line (--impl) and turned
 * into the argv of their driver:
 *
 *   ref                          procref-driver, built beside this program
 *   ref@X.Y[-O]                  the same, behaving as CPython X.Y (python -O)
 *   python:INTERP[:MODULE]       INTERP tools/pydriver.py --module MODULE;
 *                                INTERP may carry flags: "python3 -O"
 *   cmd:PROGRAM [ARG...]         any driver, words split on spaces
 *
 * and short ids for the implementations a Debian machine has, each standing
 * for one of the forms above and labelled as that form would be, so that
 * expectations/<label>.txt is the same file whichever name is used:
 *
 *   pypy3          python:/usr/bin/pypy3                      label pypy3
 *   billiard       python:/usr/bin/python3:billiard           label python3-billiard
 *   multiprocess   python:/usr/bin/python3:multiprocess       label python3-multiprocess
 *   loky           python:/usr/bin/python3:loky               label python3-loky
 *   loky-reusable  python:/usr/bin/python3:loky-reusable      label python3-loky-reusable
 *   pebble         python:/usr/bin/python3:pebble             label python3-pebble
 *                  (executor-only peers: pydriver's adapters for joblib's
 *                  vendored loky and for pebble.ProcessPool)
 *   cpython-X.Y    python:/usr/bin/pythonX.Y, or else the newest
 *                  ~/.pyenv/versions/X.Y.Z/bin/python ($PYENV_ROOT)  label cpython-X.Y
 *   cpython-X.Y-O  the same under python -O                   label cpython-X.Y-O
 *
 * A short id whose interpreter is missing is a usage error that names the
 * path it looked for.
 */
#ifndef PS_IMPL_H
#define PS_IMPL_H

#include "diag.h"
#include "driver.h"

struct ps_impl {
	char *spec;  /* as given */
	char *label; /* short name for reports: "ref", "python3", ... */
	char **argv; /* NULL-terminated */
	int is_ref;  /* the reference implementation (never a golden source) */
};

/* Parse spec. PS_EUSAGE with d filled when it is not one of the forms above. */
int ps_impl_parse(const char *spec, struct ps_impl *impl, struct ps_diag *d);
void ps_impl_release(struct ps_impl *impl);

/*
 * --golden auto: the golden set of the CPython version the driver says it
 * follows, in *set (malloc'd).  The version is the hello's optional
 * "follows" ("3.9", "3.11-O"; docs/PROTOCOL.md) or else the first "Python
 * X.Y" in its "implementation" ("CPython 3.11.2", "PyPy 7.3.11 (Python
 * 3.9.16)", "procref 0.2 (CPython 3.11-O semantics)").  -O picks
 * cpython-X.Y-O when golden_dir has it, cpython-X.Y otherwise.  PS_EUSAGE
 * when no version can be read or no such set exists.
 */
/*
 * The CPython release the driver follows, PY(major, minor) as
 * harness/vocab.h numbers them, from the same hello fields as --golden auto;
 * 0 when it names none.  A step's gate (`if sys.version_info >= (3, 8):`)
 * is decided by it.
 */
unsigned ps_impl_version(const struct ps_driver *drv);

int ps_impl_golden_auto(const struct ps_driver *drv, const char *golden_dir, char **set,
			struct ps_diag *d);

/*
 * Whether impl can run here without starting its driver: its program
 * exists and, for python: forms, the interpreter imports the module.
 * 0, or a negative code with d saying what is missing.
 */
int ps_impl_present(const struct ps_impl *impl, struct ps_diag *d);

#endif

/*
 * Where procspec's data (scenarios/, golden/, expectations/,
 * tools/pydriver.py) and helpers (procref-driver, the fault library) are:
 * in the source tree it was built in, or where make install put them.
 */
#ifndef PS_PATHS_H
#define PS_PATHS_H

/*
 * The data directory: $PROCSPEC_DATADIR when set; else the source tree
 * holding the running program (build/procspec, build/asan/procspec); else
 * DATADIR/procspec as installed, found relative to the program first (an
 * install moved or staged under DESTDIR), then at its configured path;
 * else ".".  Decided once; never NULL.
 */
const char *ps_datadir(void);

/*
 * rel ("scenarios", "golden", "expectations") inside the data directory:
 * rel itself when the data directory is the current directory (a run
 * from the source tree names files as it always has), else a path that
 * lives as long as the program.  Never NULL (rel on allocation failure).
 */
const char *ps_data(const char *rel);

/*
 * A helper program or library, malloc'd: name ("procref-driver",
 * "libprocspec-fiu.so") beside the running program if it is there (a
 * build tree); else the installed one, relative to the program first, then
 * at its configured path; else the path beside the program (for a message
 * naming what is missing).  NULL when memory runs out.
 */
char *ps_helper(const char *name);

#endif

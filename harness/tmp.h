/*
 * Temporary directories the harness owns: one private TMPDIR per driver,
 * removed when the driver is stopped, so that what a driver or its
 * scenario processes leave there (CPython's and libprocref's pymp-XXXXXX,
 * capture files) goes with it, also when the harness is interrupted.
 *
 * Every directory is named PREFIX.<pid>.XXXXXX after the harness process
 * that owns the run (a pool's workers share their parent's pid), so that a
 * later start can tell the leftovers of a harness that was killed by
 * SIGKILL (its pid is gone) from those of a run still going on beside it.
 */
#ifndef PS_TMP_H
#define PS_TMP_H

#include <stddef.h>

#define PS_TMP_DRIVER_PREFIX "procspec-drv"

/* The pid the harness's directories are named after: this process, or the
 * parent whose pool it works in.  Call before forking workers. */
void ps_tmp_init(void);

/*
 * Make a private directory PS_TMP_DRIVER_PREFIX.<pid>.XXXXXX under $TMPDIR
 * (or /tmp) into out, and remember it for ps_tmp_remove_all.  Stale ones of
 * dead harnesses there are removed first, once per place and process.
 * 0 or -errno.
 */
int ps_tmp_driver_dir(char *out, size_t size);

/*
 * A new environment: env (NULL: this process's) with TMPDIR set to dir.
 * Free with ps_fault_env_free.  NULL when out of memory.
 */
char **ps_tmp_env(char *const *env, const char *dir);

/* Remember path (a directory of the run's own) for ps_tmp_remove_all. */
void ps_tmp_guard(const char *path);

/* rm -rf path, and forget it.  Async-signal-safe. */
void ps_tmp_remove(const char *path);

/*
 * Remove the directories this very process made and has not removed yet:
 * a pool worker's, before it exits with drivers of its caller's still up.
 */
void ps_tmp_remove_own(void);

/*
 * Remove every directory remembered, and every PS_TMP_DRIVER_PREFIX
 * directory of this run under the places they were made (the workers'
 * too).  Async-signal-safe: for signal handlers.
 */
void ps_tmp_remove_all(void);

/*
 * Remove the directories named prefix.<pid>.* in dir whose pid is no
 * longer alive: what a harness killed by SIGKILL left.
 */
void ps_tmp_remove_stale(const char *dir, const char *prefix);

#endif

/*
 * Fault sites and the fault verbs of the scenario language.  The sites are
 * tools/fiu/sites.def, shared with the preload library, so the harness
 * checks a scenario against exactly what the drivers can arm:
 *
 *   fault("posix/proc/fork", errno=errno.EAGAIN, count=1, after=0, thread="any")
 *
 * fails the next `count` calls (None: every call) of the site after letting
 * `after` pass, from the next step on, in the scenario process, made by any
 * thread, the stepping thread only ("step") or background work only
 * ("background": the executor's manager and feeder threads, and what
 * libprocref declares it does in their stead); tools/fiu/psfiu.h says where
 * a fault applies.
 */
#ifndef PS_FAULT_H
#define PS_FAULT_H

#include <stddef.h>

#include "ast.h"

struct ps_fault_site {
	const char *name;
	const char *lib; /* "libfiu" or "procspec": whose preload wraps it */
	int errnos[16];  /* zero-terminated; the first is the default */
};

/* The i-th site in name order, or NULL past the last. */
const struct ps_fault_site *ps_fault_site_at(size_t i);

/* The site called name, or NULL. */
const struct ps_fault_site *ps_fault_site_find(const char *name);

/* The errno called name ("EAGAIN"), or 0. */
int ps_fault_errno(const char *name);

/* thread= of fault(): "any" 0, "step" 1, "background" 2 (psfiu.h's
 * PSFIU_* values), or -1 for another name; and back, NULL past the last. */
int ps_fault_scope(const char *name);
const char *ps_fault_scope_name(int scope);

/* "EAGAIN" for EAGAIN; NULL if unknown. */
const char *ps_fault_errno_name(int err);

/*
 * The environment a driver runs in: this one, with LD_PRELOAD naming
 * procspec's fault library (beside this program, or installed: ps_helper())
 * and libfiu's POSIX preload (PROCSPEC_FIU_PRELOAD, default
 * /usr/lib/fiu/fiu_posix_preload.so) ahead of any LD_PRELOAD already set,
 * and LD_BIND_NOW=1 unless LD_BIND_NOW is set already.  NULL when either
 * library is missing or PROCSPEC_NO_FAULTS is set: the driver then runs
 * without them and offers no "faults" feature.  Free with
 * ps_fault_env_free().
 */
char **ps_fault_env(void);
void ps_fault_env_free(char **env);

/*
 * Check a use of the fault verbs or of errno in e (any expression): a call
 * of fault, faults_clear, fds_leaked or children_left with the right
 * arguments, errno.NAME with a known NAME.  Returns the expression that is
 * wrong and fills msg, or NULL when e is fine.
 */
const struct ps_expr *ps_fault_check(const struct ps_expr *e, char *msg, size_t size);

#endif

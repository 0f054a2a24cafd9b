/*
 * procspec's fault control, on libfiu.  build/libprocspec-fiu.so is
 * LD_PRELOADed into every driver, together with libfiu's own POSIX preload
 * (/usr/lib/fiu/fiu_posix_preload.so).  It wraps the lifecycle calls libfiu
 * does not (pipe, pipe2, dup, dup2, dup3, socketpair, execve and its
 * relatives, posix_spawn, vfork) as libfiu failpoints, and gives drivers
 * one small API to arm any site of tools/fiu/sites.def, so that every driver,
 * in any language, arms a fault the same way and meets it at the same call.
 * A driver finds these with dlsym(RTLD_DEFAULT, ...) (ctypes.CDLL(None) in
 * Python); when they are absent the driver does not offer the "faults"
 * feature.
 *
 * Where a fault applies.  Failpoints are armed in the scenario process and
 * apply to its own calls only, while a step is being evaluated
 * (psfiu_active): never to the driver's protocol work, never in a child once
 * it runs its target.  The one exception is posix/proc/execve, which by its
 * nature is called in a child between fork and exec: it applies in the
 * scenario process's direct children too.  The state lives in a page shared
 * with the scenario process's descendants until they exec, so a vfork or
 * fork child's exec consumes the same count and its calls are seen.
 *
 * Which thread.  A site may be armed for one kind of work only
 * (psfiu_arm_in): the stepping thread's own calls (PSFIU_STEP: the thread
 * that turned faults on with psfiu_active), or background work
 * (PSFIU_BACKGROUND: any other thread of the scenario process, such as
 * CPython's executor manager and queue feeder threads, and any call made
 * while the calling thread has declared background work with
 * psfiu_background, as libprocref's manager, which runs inside the
 * stepping thread's calls, does).  Calls that do not match the scope are
 * neither failed nor counted against `after`.  Background work meets its
 * faults (and is counted by psfiu_calls_in) whenever it runs, between
 * steps too: those threads run on their own schedule, and a fault armed
 * for them must not depend on whether a step happened to be running.
 * PSFIU_ANY and PSFIU_STEP faults apply only while a step runs.  A thread
 * a driver starts for its own work (a bounded wait) calls psfiu_exempt(1)
 * first: none of its calls is failed or counted.
 */
#ifndef PSFIU_H
#define PSFIU_H

/* Start a scenario: forget every armed site and every count, and make the
 * calling process the one faults apply to.  0, or -errno. */
int psfiu_begin(void);

/* Fail the calls of site name after letting `after` pass: the next `count`
 * of them, or all of them when count < 0, with errno err.  0, -ENOENT for a
 * name that is not a site, -EINVAL for an errno the call cannot return. */
int psfiu_arm(const char *name, int err, long count, long after);

/* Where an armed site fails calls (psfiu_arm_in), and which calls
 * psfiu_calls_in counts. */
#define PSFIU_ANY        0 /* every thread: psfiu_arm */
#define PSFIU_STEP       1 /* the stepping thread, outside declared background work */
#define PSFIU_BACKGROUND 2 /* other threads, and declared background work */

/* psfiu_arm, for the calls of one scope only; -EINVAL for another scope. */
int psfiu_arm_in(const char *name, int err, long count, long after, int scope);

/* The calling thread starts (on) or ends (!on) work that CPython does in a
 * background thread (the executor's manager or feeder); nests. */
void psfiu_background(int on);

/* The calling thread is the driver's own (on) or not: no fault applies to
 * it, in any scope. */
void psfiu_exempt(int on);

/* Disarm every site. */
void psfiu_clear(void);

/* Whether armed sites fail now: on while a step runs, off for the driver's
 * own work. */
void psfiu_active(int on);

/* Count the calls of every site from now on (for procspec sweep). */
void psfiu_count_all(void);

/* The i-th site's name, or NULL past the last; its calls seen while active
 * and the number of them failed.  */
const char *psfiu_site(unsigned i);
long psfiu_calls(unsigned i);
long psfiu_fired(unsigned i);
/* Its calls seen while active in one scope (PSFIU_ANY: psfiu_calls). */
long psfiu_calls_in(unsigned i, int scope);

#endif

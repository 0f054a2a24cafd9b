/*
 * Child processes of the harness: spawning in a process group of their own,
 * the one outcome type for how a child ended, deadlines, and the sweep that
 * leaves nothing behind.  The harness is a subreaper, so whatever a driver
 * starts, even in a new session, comes back to it when its parent dies.
 */
#ifndef PS_PROC_H
#define PS_PROC_H

#include <stdbool.h>
#include <sys/types.h>

#include "diag.h"

enum ps_exit_kind {
	PS_CHILD_RUNNING,   /* not reaped yet */
	PS_CHILD_EXITED,    /* exited with code */
	PS_CHILD_SIGNALLED, /* killed by signal sig */
};

struct ps_exit {
	enum ps_exit_kind kind;
	int code;
	int sig;
};

/* The one place a wait status becomes an outcome. */
void ps_exit_from_status(int status, struct ps_exit *e);
/* "exit code 3", "signal 11 (SIGSEGV)", "still running". */
const char *ps_exit_describe(const struct ps_exit *e, char *buf, size_t size);

/* Make this process a child subreaper (PR_SET_CHILD_SUBREAPER). 0 or -errno. */
int ps_proc_subreaper(void);

/*
 * This process and the threads it makes from now on yield on wake-ups
 * (SCHED_BATCH): woken by a reply, it does not preempt the driver that
 * wrote it, and takes the replies in bulk when the driver blocks.  For a
 * worker that shares its CPU with its drivers (pool.h, PS_POOL_PIN).  What
 * ps_proc_spawn starts afterwards gets back the policy this process had.
 * 0 or -errno.
 */
int ps_proc_yield_on_wakeup(void);

/*
 * Start argv[0] (searched in PATH) in a new process group with the given
 * fds as its 0, 1 and 2, and envp as its environment (NULL: this one's).
 * An exec failure travels back over a close-on-exec
 * pipe and is returned as -errno with d filled.  On success *pid is the child.
 */
int ps_proc_spawn(char *const argv[], char *const envp[], int in_fd, int out_fd, int err_fd,
		  pid_t *pid, struct ps_diag *d);

/*
 * End process group pgid led by pid: SIGTERM to the group, up to grace
 * seconds for pid to exit, then SIGKILL to the group; reap pid.  *e gets how
 * pid ended (it may have ended already: then the group is still swept).
 */
void ps_proc_kill_group(pid_t pid, double grace, struct ps_exit *e);

/*
 * SIGKILL every process whose parent is this one (what escaped a process
 * group and was reparented to the subreaper) and reap every zombie child.
 * Returns how many processes it had to kill.
 */
int ps_proc_sweep(void);

/*
 * Interrupts: after ps_proc_guard(), SIGINT, SIGTERM and SIGHUP first kill
 * every registered process group (SIGKILL) and forward the signal to every
 * registered worker, then end the harness with that signal, so that Ctrl-C
 * on a run leaves nothing behind even with a driver that ignores its stdin
 * closing.  Registration is async-signal-safe and bounded (64 of each).
 */
void ps_proc_guard(void);
/* The handler for the signals that interrupt a run: SIGINT, SIGTERM, SIGHUP. */
void ps_proc_on_interrupts(void (*handler)(int));
void ps_proc_guard_group(pid_t pgid, bool add);
void ps_proc_guard_worker(pid_t pid, bool add);

/* CLOCK_MONOTONIC seconds. */
double ps_now(void);

/* PROCSPEC_TIMEOUT_MULTIPLIER (default 1) times seconds. */
double ps_scaled(double seconds);

#endif

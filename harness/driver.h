/*
 * A running driver program and the framing of the driver protocol
 * (docs/PROTOCOL.md): JSON Lines over its stdin and stdout, each reply under
 * a deadline.  Its stderr comes over a pipe that is drained whenever the
 * harness waits for the driver, into a ring that keeps the last
 * PS_STDERR_KEEP bytes, shown when something goes wrong: a driver that
 * floods stderr costs neither memory nor disk.
 */
#ifndef PS_DRIVER_H
#define PS_DRIVER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <jansson.h>

#include "buf.h"
#include "diag.h"
#include "proc.h"

#define PS_PROTOCOL_VERSION 1
#define PS_MAX_LINE         (1u << 20)
#define PS_STDERR_KEEP      65536
#define PS_MAX_PIDS         4096 /* variables a result may bind ("pids") */

struct ps_driver {
	pid_t pid;                /* the driver, leader of its own process group */
	int to_fd;                /* its stdin */
	int from_fd;              /* its stdout */
	int pidfd;                /* readable once it has exited (pidfd_open), or -1 */
	int log_fd;               /* read end of its stderr, non-blocking */
	char log[PS_STDERR_KEEP]; /* the last bytes of its stderr, a ring */
	size_t log_at;            /* where the next byte goes */
	bool log_wrapped;
	unsigned long long log_total; /* bytes it wrote to stderr in all */
	char *rbuf;                   /* bytes read but not yet consumed */
	size_t rlen, rcap;
	struct ps_buf out;          /* requests sent but not yet written (to_fd is non-blocking) */
	size_t out_at;              /* how much of out was written */
	json_t *hello;              /* the hello message */
	const char *implementation; /* hello.implementation, owned by hello */
	const char *executable;     /* hello.executable, "" if absent */
	const char *module;         /* hello.module, "" if absent */
	unsigned methods;           /* hello.methods as enum ps_method bits */
	json_t *features;           /* hello.features (borrowed from hello), NULL: has them all */
	bool pipelined;             /* hello.pipelined: requests may go before the replies */
	struct ps_exit exit;        /* how it ended, once stopped */
	char *tmpdir;               /* its private TMPDIR (tmp.h), removed when it is stopped */
	bool with_faults;           /* started asking for the fault libraries (ps_fault_env()) */
};

/*
 * Start argv as a driver and read its hello within timeout seconds: with
 * the fault libraries preloaded (ps_fault_env(), where this machine has
 * them) when faults is true, else in this environment as it is, and so
 * with no "faults" feature.  Fails with PS_EPROTO when the hello is
 * missing, malformed or of another protocol version, PS_ETIMEOUT when it
 * does not come; d says which.
 */
int ps_driver_start(char *const argv[], double timeout, bool faults, struct ps_driver **out,
		    struct ps_diag *d);

/*
 * Send one message.  It is written at once as far as the pipe takes it;
 * the rest goes while ps_driver_recv waits, so that a driver that is busy
 * writing replies never deadlocks against a harness writing requests.
 * 0, or -errno (-EPIPE when the driver is gone).
 */
int ps_driver_send(struct ps_driver *drv, json_t *msg, struct ps_diag *d);
/* The same, but only queued: it goes with the next send or receive, so that
 * requests sent together cost one write. */
int ps_driver_queue(struct ps_driver *drv, json_t *msg, struct ps_diag *d);
/* The same for a message already encoded: line is one protocol line with its newline. */
int ps_driver_queue_line(struct ps_driver *drv, const char *line, struct ps_diag *d);

/*
 * Read one message within timeout seconds into *msg (a new reference).
 * PS_ETIMEOUT, PS_EPROTO (not JSON, not an object, no "op", a line over
 * PS_MAX_LINE: d quotes the offending line), PS_EDRIVER (EOF: the driver
 * exited; d says how, with the tail of its stderr).
 */
int ps_driver_recv(struct ps_driver *drv, double timeout, json_t **msg, struct ps_diag *d);

/*
 * Whether the driver sent something not read yet, or closed its stdout:
 * a look without waiting, for a line nobody asked for.
 */
bool ps_driver_pending(struct ps_driver *drv);

/* Whether the driver declared the optional feature name (or declared none at all). */
bool ps_driver_has(const struct ps_driver *drv, const char *name);

/* The last max bytes the driver wrote to stderr, malloc'd ("" when none). */
char *ps_driver_stderr_tail(struct ps_driver *drv, size_t max);

/*
 * Stop the driver: close its stdin, give it grace seconds to exit, then
 * kill its process group; reap it; remove its TMPDIR; free everything.
 * NULL is allowed.
 */
void ps_driver_stop(struct ps_driver *drv, double grace);

#endif

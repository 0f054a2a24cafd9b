/*
 * procref-driver's private declarations: the driver protocol
 * (docs/PROTOCOL.md) over libprocref.
 */
#ifndef PROCREF_DRIVER_H
#define PROCREF_DRIVER_H

#include <stddef.h>
#include <sys/types.h>

#include <jansson.h>

#include "procref.h"
#include "util.h"

#define DRV_MAX_LINE        (1u << 20) /* PROTOCOL.md: no longer line */
#define DRV_HIGH_FD         100        /* where the protocol fds are moved to */
#define DRV_SCENARIO_FAILED 70         /* scenario process status on a driver bug */

/* Process-wide state, set up in the zygote and inherited by fork. */
struct drv_state {
	int proto_in, proto_out;  /* the protocol, close-on-exec */
	int saved_out, saved_err; /* the driver's own fds 1 and 2 */
	pid_t zygote_pid;
	pid_t scenario_pid; /* 0 outside a scenario process */
	/* shared by the zygote and the scenario process: [0] a request is
	 * being answered, [1] ended was sent */
	volatile unsigned char *shared;
};
extern struct drv_state drv;

/* ---- proto.c ---------------------------------------------------------- */

/* The memory shared with the scenario processes forked after this:
 * drv.shared and the read buffer (the zygote and a scenario process take
 * turns on the protocol fd).  0 or -errno. */
int drv_shared_init(void);
void drv_shared_fini(void);
/* One request line without its newline, malloc'ed and NUL-terminated.
 * 1: a line; 0: EOF; DRV_TOO_LONG: a line over DRV_MAX_LINE (consumed);
 * -errno. */
#define DRV_TOO_LONG 2
int drv_read_line(char **line, size_t *len);
/* Send msg as one line and release it.  0 or -errno. */
int drv_send(json_t *msg);
/* {"op":"error","message":...} */
int drv_send_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The error reply to req: a step gets a result with "error", anything
 * else op error. */
int drv_reply_error(json_t *req, const char *message);
/* A JSON string for text that may not be valid UTF-8: each byte that
 * starts no valid sequence becomes "\xNN" (Python's backslashreplace);
 * under a 2.7 profile each ill-formed sequence becomes U+FFFD ('replace'). */
json_t *drv_json_text(const char *s, size_t len);
/* The same as malloc'ed, NUL-terminated text; its length in *outlen. */
char *drv_backslashreplace(const char *s, size_t len, size_t *outlen);
/* Diagnostics to stderr, the harness's log. */
void drv_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- scenario.c ------------------------------------------------------- */

/* In the zygote, before its first scenario process: list the fds every
 * scenario process begins with.  0 or -errno. */
int drv_scenario_prepare(void);
void drv_scenario_fini(void);
/* The scenario process, from begin to end: returns its exit status. */
int drv_scenario_main(json_t *begin);

/* ---- eval.c ----------------------------------------------------------- */

struct drv_scenario;
struct fdset;

/* Carry out one statement (PROTOCOL.md, Statements).  0 with *out (a new
 * reference, NULL for an assignment), or an error in d: PR_EUNSUPPORTED
 * for what the driver cannot carry out, anything else a raised
 * exception. */
int drv_exec(struct drv_scenario *s, json_t *stmt, pr_value **out, struct pr_diag *d);

/* ---- verbs.c and the scenario's records --------------------------------- */

/* A process object bound to a scenario variable, with its gate and
 * capture files (made at binding, never inside start()). */
struct drv_record {
	pr_value *weak; /* weakref.ref(process): the scenario's references
			 * decide when the object goes, as in CPython's
			 * test_close; the driver's do not keep it */
	pid_t pid;      /* remembered: pid raises once closed */
	int gate_r, gate_w;
	int out_fd, err_fd;
};

struct drv_var {
	char *name;
	pr_value *value;
};

struct drv_scenario {
	struct drv_var *vars;
	size_t nvars;
	struct drv_record *recs;
	size_t nrecs;
	pr_value **texts; /* values stdout()/stderr() made: "text" */
	size_t ntexts;
	pr_value *current;             /* current_process() */
	unsigned serial;               /* for capture file names */
	const struct fdset *begin_fds; /* open at begin (scenario.c) */
	int count_faults;              /* begin asked for every site's call counts */
	int stop_on_error;             /* begin asked: after an error, carry no step out */
	int stopped;                   /* a step got an error reply, and stop_on_error */
	char escapes[256];             /* $PROCSPEC_ESCAPES: escaped children's records */
	int escaped;                   /* this process is a child that came back out of start() */
};

struct drv_record *drv_record_of(struct drv_scenario *s, pr_value *obj);
/* Give obj a gate and capture files: PR_EUNSUPPORTED on failure. */
int drv_register(struct drv_scenario *s, pr_value *obj, struct pr_diag *d);
void drv_note_pid(struct drv_record *rec);
/* The harness verbs of harness/vocab.def, each defined beside its C
 * function (verbs.c, faults.c) under the name the table gives it. */
#define VERB(name, args, ref) extern const pr_func ref;
#include "vocab.def"
/* A harness verb (vocab.def); NULL for any other name. */
pr_value *drv_verb(const char *name);
/* Whether func is a harness verb: the driver's own work, run with faults
 * inactive. */
int drv_is_verb(pr_value *func);
/* Whether v was made by stdout() or stderr(). */
int drv_is_text(struct drv_scenario *s, pr_value *v);
/* The scenario that the verbs act on. */
extern struct drv_scenario *drv_current_scenario;

/* libprocref's warnings (pr_set_warning_hook), kept in the scenario
 * process for warnings_seen(); drv_warnings_clear() forgets them */
void drv_note_warning(const char *category, const char *message, void *arg);
void drv_warnings_clear(void);

/* ---- faults.c --------------------------------------------------------- */

/* Find procspec's fault library in this process: 1 if it is there. */
int drv_faults_init(void);
/* Whether it has thread scopes (psfiu_arm_in): the "faults.thread" feature;
 * libprocref's background work is then declared to it. */
int drv_faults_threads(void);
/* At begin, in the scenario process: faults apply to it from now on;
 * count: count every site's calls for the ended reply.  0 or -errno. */
int drv_faults_begin(int count);
/* Armed faults fail calls only while on: during the implementation's own
 * work in a step, never the driver's. */
void drv_faults_active(int on);
/* At end: disarm everything before the exit path. */
void drv_faults_end(void);
/* {"site": [calls, fired], ...} for the sites called, or NULL. */
json_t *drv_faults_counts(void);
/* errno.NAME; 0 if unknown. */
int drv_errno_value(const char *name);

/* scenario.c: fds open beyond the baseline, not counting the records' gates
 * and capture files nor the fork server's; -1 if /proc cannot be read. */
long drv_fds_leaked(struct drv_scenario *s);
/* Children of the scenario process, running or unreaped, the fork server
 * left out. */
long drv_children_left(void);

#endif

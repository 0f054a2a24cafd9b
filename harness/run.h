/*
 * The runner: plays one scenario, for one start method, through a driver,
 * and collects its transcript.  A driver is started on first use and kept
 * warm across scenarios; one that times out, breaks the protocol or dies is
 * killed with its process group, the leftovers are swept, and the next
 * scenario gets a fresh driver.
 */
#ifndef PS_RUN_H
#define PS_RUN_H

#include "diag.h"
#include "driver.h"
#include "impl.h"
#include "normalize.h"
#include "scenario.h"

/*
 * What happened to one scenario under one start method.  Everything from
 * PS_V_FAIL on is a failure: it makes the run exit 1.
 */
/* clang-format off */
#define PS_VERDICT_MAP(X)                                               \
	X(PS_V_PASS,        "pass",        "matches golden")             \
	X(PS_V_XFAIL,       "xfail",       "an expected divergence")     \
	X(PS_V_NOTRUN,      "skip",        "not applicable")             \
	X(PS_V_UNSUPPORTED, "unsupported", "needs what the implementation lacks") \
	X(PS_V_FAIL,        "FAIL",        "diverges from golden")       \
	X(PS_V_FLAKY,       "FLAKY",       "differs between repetitions (--repeat)") \
	X(PS_V_XPASS,       "XPASS",       "an expected divergence no longer diverges") \
	X(PS_V_NOGOLDEN,    "NOGOLDEN",    "no golden file")             \
	X(PS_V_LEAK,        "LEAK",        "left fds open")               \
	X(PS_V_ORPHAN,      "ORPHAN",      "left children running or unreaped") \
	X(PS_V_DRIVER,      "ERROR",       "driver could not carry a step out") \
	X(PS_V_PROTO,       "PROTO",       "driver broke the protocol")  \
	X(PS_V_TIMEOUT,     "TIMEOUT",     "time limit exceeded")        \
	X(PS_V_CRASH,       "CRASH",       "driver or scenario process died")

enum ps_verdict {
#define PS_V_ENUM_(name, word, msg) name,
	PS_VERDICT_MAP(PS_V_ENUM_)
#undef PS_V_ENUM_
	PS_V_COUNT
};
/* clang-format on */

const char *ps_verdict_word(enum ps_verdict v);

struct ps_runner {
	const struct ps_impl *impl;
	struct ps_driver *drv; /* NULL until first use, and after a failure */
	double step_timeout;   /* seconds per reply, already scaled */
	double hello_timeout;
	int count_faults; /* ask for every fault site's call counts (sweep) */
	/* Start drivers without the fault libraries, and a scenario that uses
	 * faults on one started with them: a scenario process and its children
	 * run faster without the preloads (ps_driver_start).  A runner that
	 * only asks for the hello (ps_runner_ready) always has them. */
	bool lean;
};

struct ps_outcome {
	enum ps_verdict verdict; /* PASS, LEAK, ORPHAN or one of the failures; FAIL and
					 * NOGOLDEN are the caller's to decide */
	struct ps_transcript t;
	char *text;   /* the rendered transcript, NULL if the run broke off early */
	char *detail; /* why, for anything but PASS; NULL otherwise */
	double seconds;
	json_t *faults; /* ended.faults: {"site": [calls, fired]}, or NULL */
};

/*
 * Run sc under method.  Returns 0 with *o filled whatever the scenario did,
 * or a negative code when the driver cannot be started at all (d says why),
 * which is a harness error, not a scenario outcome.
 */
int ps_run_scenario(struct ps_runner *rn, const struct ps_scenario *sc, unsigned method,
		    struct ps_outcome *o, struct ps_diag *d);

/*
 * sc's step requests, encoded once for runs of the same scenario on several
 * drivers at a time (fuzz plays each on two): lines[i] is step i + 1 as a
 * protocol line, newline included.
 */
struct ps_wire {
	char **lines;
	size_t n;
};

int ps_wire_encode(const struct ps_scenario *sc, struct ps_wire *w, struct ps_diag *d);
void ps_wire_release(struct ps_wire *w);
/* ps_run_scenario with the steps already encoded (w from ps_wire_encode of sc, or NULL). */
int ps_run_scenario_wire(struct ps_runner *rn, const struct ps_scenario *sc,
			 const struct ps_wire *w, unsigned method, struct ps_outcome *o,
			 struct ps_diag *d);

/* The driver's hello, starting it if needed (for headers and method lists). */
int ps_runner_ready(struct ps_runner *rn, struct ps_diag *d);

void ps_outcome_release(struct ps_outcome *o);
void ps_runner_release(struct ps_runner *rn);

#endif

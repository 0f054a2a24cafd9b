#include "run.h"

#include <errno.h>
#include <stdlib.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "impl.h"
#include "proc.h"

const char *ps_verdict_word(enum ps_verdict v)
{
	static const char *const words[] = {
#define PS_V_WORD_(name, word, msg) word,
		PS_VERDICT_MAP(PS_V_WORD_)
#undef PS_V_WORD_
	};

	return v < PS_V_COUNT ? words[v] : "?";
}

int ps_runner_ready(struct ps_runner *rn, struct ps_diag *d)
{
	if (rn->drv)
		return 0;
	return ps_driver_start(rn->impl->argv, rn->hello_timeout, true, &rn->drv, d);
}

static bool uses_faults(const struct ps_scenario *sc)
{
	const char *feat[PS_MAX_FEATURES];
	size_t n = ps_scenario_features(sc, feat), i;

	for (i = 0; i < n; i++)
		if (!strcmp(feat[i], "faults"))
			return true;
	return false;
}

/* A driver for sc: on a lean runner, one without the fault libraries
 * unless sc uses faults, the driver in hand stopped when it is the other
 * kind (scenarios come grouped by directory: a worker switches a few
 * times in a run, not at every scenario). */
static int runner_ready_for(struct ps_runner *rn, const struct ps_scenario *sc, struct ps_diag *d)
{
	bool faults = !rn->lean || rn->count_faults || uses_faults(sc);

	if (rn->drv && rn->drv->with_faults != faults)
		ps_runner_release(rn);
	if (rn->drv)
		return 0;
	return ps_driver_start(rn->impl->argv, rn->hello_timeout, faults, &rn->drv, d);
}

/* Kill the driver and everything it left; the next scenario starts afresh. */
static void drop_driver(struct ps_runner *rn)
{
	ps_driver_stop(rn->drv, 0);
	rn->drv = NULL;
	ps_proc_sweep();
}

void ps_runner_release(struct ps_runner *rn)
{
	if (rn->drv) {
		ps_driver_stop(rn->drv, ps_scaled(5.0));
		rn->drv = NULL;
	}
	ps_proc_sweep();
}

void ps_outcome_release(struct ps_outcome *o)
{
	ps_transcript_release(&o->t);
	json_decref(o->faults);
	free(o->text);
	free(o->detail);
	memset(o, 0, sizeof(*o));
}

static void set_verdict(struct ps_outcome *o, enum ps_verdict v, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void set_verdict(struct ps_outcome *o, enum ps_verdict v, const char *fmt, ...)
{
	va_list ap;
	char *s;

	if (o->verdict != PS_V_PASS)
		return; /* the first failure is the one to report */
	o->verdict = v;
	va_start(ap, fmt);
	s = NULL;
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	free(o->detail);
	o->detail = s;
}

/* The verdict for a failed receive. */
static void recv_failed(struct ps_outcome *o, int r, const char *when, const struct ps_diag *d)
{
	set_verdict(o,
		    r == PS_ETIMEOUT ? PS_V_TIMEOUT :
		    r == PS_EPROTO   ? PS_V_PROTO :
				       PS_V_CRASH,
		    "%s: %s", when, d->msg);
}

/*
 * Whether an "exited" says how the scenario process ended: an integer
 * "code" or an integer "signal" (PROTOCOL.md).  Anything else ("code":"139",
 * neither) must not pass for exit code 0.
 */
static bool exited_well_formed(json_t *msg)
{
	return json_is_integer(json_object_get(msg, "code")) !=
	       json_is_integer(json_object_get(msg, "signal"));
}

__attribute__((format(printf, 3, 4))) static void bad_message(struct ps_outcome *o, json_t *msg,
							      const char *fmt, ...);

/* "exited" in place of a reply: the scenario process died. */
static void exited_early(struct ps_outcome *o, json_t *msg, const char *when)
{
	json_t *sig = json_object_get(msg, "signal");

	if (!exited_well_formed(msg))
		bad_message(o, msg, "%s: exited needs an integer \"code\" or \"signal\"", when);
	else if (json_is_integer(sig))
		set_verdict(o, PS_V_CRASH, "%s: the scenario process died by signal %lld (SIG%s)",
			    when, json_integer_value(sig),
			    sigabbrev_np((int)json_integer_value(sig)) ?
				    sigabbrev_np((int)json_integer_value(sig)) :
				    "?");
	else
		set_verdict(o, PS_V_CRASH, "%s: the scenario process exited with code %lld", when,
			    json_integer_value(json_object_get(msg, "code")));
}

static bool op_is(json_t *msg, const char *op)
{
	return !strcmp(json_string_value(json_object_get(msg, "op")), op);
}

static char *line_of(json_t *msg)
{
	return json_dumps(msg, JSON_COMPACT | JSON_ENSURE_ASCII);
}

static void bad_message(struct ps_outcome *o, json_t *msg, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void bad_message(struct ps_outcome *o, json_t *msg, const char *fmt, ...)
{
	char *why = NULL, *line = line_of(msg);
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&why, fmt, ap) < 0)
		why = NULL;
	va_end(ap);
	set_verdict(o, PS_V_PROTO, "%s: %s", why ? why : "bad message", line ? line : "");
	free(why);
	free(line);
}

/* Take a result message into the transcript. Returns false if the run must stop. */
static bool take_result(struct ps_outcome *o, const struct ps_stmt *st, json_t *msg, size_t id,
			unsigned version)
{
	json_t *pids = json_object_get(msg, "pids"), *v, *raised, *err;
	const char *name, *s;
	enum ps_result_kind kind = PS_R_NONE;
	char *stmt = NULL, *value = NULL;
	json_t *pid;

	if (!op_is(msg, "result") ||
	    json_integer_value(json_object_get(msg, "id")) != (json_int_t)id) {
		bad_message(o, msg, "step %zu: expected its result", id);
		return false;
	}
	if (json_object_size(pids) > PS_MAX_PIDS) {
		/* A scenario binds a handful of names; tens of thousands would
		 * cost minutes of matching outside every time limit. */
		set_verdict(o, PS_V_PROTO, "step %zu: \"pids\" binds %zu names, more than %d", id,
			    json_object_size(pids), PS_MAX_PIDS);
		return false;
	}
	if (json_is_object(pids)) {
		json_object_foreach(pids, name, pid) {
			if (!json_is_integer(pid)) {
				bad_message(o, msg, "step %zu: pid of %s is not an integer", id,
					    name);
				return false;
			}
			if (ps_transcript_pid(&o->t, name, (long)json_integer_value(pid)))
				return false;
		}
	} else if (pids) {
		bad_message(o, msg, "step %zu: \"pids\" is not an object", id);
		return false;
	}
	err = json_object_get(msg, "error");
	raised = json_object_get(msg, "raised");
	v = json_object_get(msg, "value");
	if (err) {
		set_verdict(o, PS_V_DRIVER,
			    "step %zu (line %d): the driver could not carry it out: %s", id,
			    st->line,
			    json_is_string(err) ? json_string_value(err) : "(no message)");
		return false;
	}
	if (raised) {
		const char *type = json_string_value(json_object_get(raised, "type"));
		const char *m = json_string_value(json_object_get(raised, "message"));

		if (!type || !m) {
			bad_message(o, msg,
				    "step %zu: \"raised\" needs string \"type\" and \"message\"",
				    id);
			return false;
		}
		kind = PS_R_RAISED;
		value = *m ? NULL : strdup(type);
		if (*m && asprintf(&value, "%s: %s", type, m) < 0)
			value = NULL;
	} else if (json_is_object(v) && (s = json_string_value(json_object_get(v, "repr")))) {
		kind = PS_R_REPR;
		value = strdup(s);
	} else if (json_is_object(v) && (s = json_string_value(json_object_get(v, "text")))) {
		kind = PS_R_TEXT;
		value = strdup(s);
	} else if (!json_is_null(v)) {
		bad_message(o, msg,
			    "step %zu: a result needs \"value\" (null, {\"repr\"} or "
			    "{\"text\"}), \"raised\" or \"error\"",
			    id);
		return false;
	}
	if (!ps_stmt_applies(st, version)) {
		/* a step its gate keeps from this release: a None went in its
		 * place (step_request), and the transcript says so, in words of
		 * the gate alone, so that the releases it skips read the same */
		free(value);
		kind = PS_R_REPR;
		value = NULL;
		if (asprintf(&value,
			     st->below ? "(skipped: %u.%u or later)" : "(skipped: before %u.%u)",
			     st->gate >> 8, st->gate & 0xff) < 0)
			value = NULL;
	}
	stmt = ps_stmt_unparse(st);
	if (!stmt || (kind != PS_R_NONE && !value)) {
		free(stmt);
		free(value);
		return false;
	}
	return ps_transcript_add(&o->t, stmt, kind, value,
				 st->kind == PS_S_EXPR && st->value->kind == PS_X_GETATTR &&
					 !strcmp(st->value->text, "sentinel")) == 0;
}

/*
 * Send req (taking it; NULL means out of memory), or with queue only queue
 * it to go with the next.  False, with the verdict set, if it could not go.
 */
static bool post(struct ps_runner *rn, json_t *req, bool queue, const char *when,
		 struct ps_outcome *o)
{
	struct ps_diag rd = PS_DIAG_INIT;
	int r;

	if (!req) {
		set_verdict(o, PS_V_CRASH, "%s: out of memory in the harness", when);
		return false;
	}
	r = (queue ? ps_driver_queue : ps_driver_send)(rn->drv, req, &rd);
	json_decref(req);
	if (r) {
		set_verdict(o, PS_V_CRASH, "%s: %s", when, rd.msg);
		return false;
	}
	return true;
}

/* Queue a step already encoded.  False, with the verdict set, if it could not go. */
static bool post_line(struct ps_runner *rn, const char *line, const char *when,
		      struct ps_outcome *o)
{
	struct ps_diag rd = PS_DIAG_INIT;

	if (ps_driver_queue_line(rn->drv, line, &rd)) {
		set_verdict(o, PS_V_CRASH, "%s: %s", when, rd.msg);
		return false;
	}
	return true;
}

/* Read the reply due for when into *reply.  False, with the verdict set, if none came. */
static bool reply_to(struct ps_runner *rn, const char *when, json_t **reply, struct ps_outcome *o)
{
	struct ps_diag rd = PS_DIAG_INIT;
	int r;

	r = ps_driver_recv(rn->drv, rn->step_timeout, reply, &rd);
	if (r) {
		recv_failed(o, r, when, &rd);
		return false;
	}
	return true;
}

/*
 * Send req and read the reply into *reply.  False, with the verdict set,
 * when the driver did not answer: the caller then drops the driver.
 */
static bool exchange(struct ps_runner *rn, json_t *req, const char *when, json_t **reply,
		     struct ps_outcome *o)
{
	*reply = NULL;
	return post(rn, req, false, when, o) && reply_to(rn, when, reply, o);
}

/*
 * A pipelined driver was sent every step and end at once: read and drop
 * the replies to the n requests still unanswered when the scenario stopped
 * early (a step the driver could not carry out, or the scenario process
 * gone: then each later request has one reply, an error).  *gone: an
 * "exited" was among them, so end has no ended to come.  False if the
 * replies did not come.
 */
static bool drain(struct ps_runner *rn, size_t n, bool *gone, struct ps_outcome *o)
{
	json_t *msg;

	for (; n > 0; n--) {
		if (!reply_to(rn, "after the scenario stopped", &msg, o))
			return false;
		*gone = *gone || op_is(msg, "exited");
		json_decref(msg);
	}
	return true;
}

/* The release the driver follows, for the steps' gates (impl.h). */
static unsigned runner_version(const struct ps_runner *rn)
{
	return rn && rn->drv ? ps_impl_version(rn->drv) : 0;
}

/*
 * Step i's request.  A step its gate keeps from the driver's release goes as
 * the statement None, which every driver evaluates to nothing, so that the
 * ids and replies stay one per step.
 */
static json_t *step_request(const struct ps_runner *rn, const struct ps_scenario *sc, size_t i)
{
	json_t *stmt = ps_stmt_applies(sc->steps[i], runner_version(rn)) ?
			       ps_stmt_to_json(sc->steps[i]) :
			       json_pack("{s:{s:n}}", "expr", "none");

	return stmt ? json_pack("{s:s, s:I, s:o}", "op", "step", "id", (json_int_t)(i + 1), "stmt",
				stmt) :
		      NULL;
}

void ps_wire_release(struct ps_wire *w)
{
	size_t i;

	for (i = 0; w->lines && i < w->n; i++)
		free(w->lines[i]);
	free(w->lines);
	w->lines = NULL;
	w->n = 0;
}

int ps_wire_encode(const struct ps_scenario *sc, struct ps_wire *w, struct ps_diag *d)
{
	json_t *req;
	char *s;
	size_t i, len;

	w->n = 0;
	if (!(w->lines = calloc(sc->n_steps + 1, sizeof(*w->lines))))
		return ps_diag(d, -ENOMEM, "out of memory");
	for (i = 0; i < sc->n_steps; i++) {
		req = step_request(NULL, sc, i);
		s = req ? json_dumps(req, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
		json_decref(req);
		len = s ? strlen(s) : 0;
		if (s)
			w->lines[i] = malloc(len + 2);
		if (!w->lines[i]) {
			free(s);
			ps_wire_release(w);
			return ps_diag(d, -ENOMEM, "out of memory");
		}
		memcpy(w->lines[i], s, len);
		memcpy(w->lines[i] + len, "\n", 2);
		free(s);
		w->n++;
	}
	return 0;
}

int ps_run_scenario(struct ps_runner *rn, const struct ps_scenario *sc, unsigned method,
		    struct ps_outcome *o, struct ps_diag *d)
{
	return ps_run_scenario_wire(rn, sc, NULL, method, o, d);
}

/* How a phase of a scenario left it (play() below). */
enum phase {
	PH_NEXT,   /* go on with the next phase */
	PH_DONE,   /* the scenario is over: render its transcript */
	PH_STOP,   /* stopped, with the verdict set; the driver is in step */
	PH_BROKEN, /* stopped, with the verdict set; the driver is out of step */
	PH_NOMEM,  /* the harness ran out of memory */
};

/*
 * begin, and for a pipelined driver every step and end with it: one
 * wake-up for the driver instead of one per request (PROTOCOL.md, hello).
 */
static enum phase play_begin(struct ps_runner *rn, const struct ps_scenario *sc,
			     const struct ps_wire *w, unsigned method, struct ps_outcome *o)
{
	static const char sending[] = "sending the scenario";
	bool pipelined = rn->drv->pipelined, gone = false, sent;
	long pid;
	json_t *req, *msg = NULL;
	enum phase ph = PH_BROKEN;
	size_t i;

	/* stop_on_error: the steps sent behind one the driver could not carry
	 * out must not run (PROTOCOL.md, begin): one of them may wait for ever
	 * for a child the failed step should have let go */
	req = json_pack("{s:s, s:s, s:s, s:o*, s:o*}", "op", "begin", "scenario", sc->id, "method",
			ps_method_name(method), "count_faults",
			rn->count_faults ? json_true() : NULL, "stop_on_error",
			pipelined ? json_true() : NULL);
	if (!post(rn, req, pipelined, "begin", o))
		goto out;
	if (w && w->n != sc->n_steps)
		w = NULL;
	for (i = 0; pipelined && i <= sc->n_steps; i++) {
		if (w && i < sc->n_steps)
			sent = post_line(rn, w->lines[i], sending, o);
		else if (i < sc->n_steps)
			sent = post(rn, step_request(rn, sc, i), true, sending, o);
		else
			sent = post(rn, json_pack("{s:s}", "op", "end"), true, sending, o);
		if (!sent)
			goto out;
	}
	if (!reply_to(rn, "begin", &msg, o))
		goto out;
	if (op_is(msg, "error")) {
		const char *m = json_string_value(json_object_get(msg, "message"));

		set_verdict(o, PS_V_DRIVER, "begin: %s", m ? m : "(no message)");
		/* no scenario: every step and end has an error for reply */
		if (!pipelined || drain(rn, sc->n_steps + 1, &gone, o))
			ph = PH_STOP;
		goto out;
	}
	if (!op_is(msg, "begun") || !json_is_integer(json_object_get(msg, "main_pid"))) {
		bad_message(o, msg, "begin: expected begun with an integer main_pid");
		goto out;
	}
	ph = PH_NOMEM;
	pid = (long)json_integer_value(json_object_get(msg, "main_pid"));
	if (ps_transcript_pid(&o->t, "main", pid))
		goto out;
	if (json_string_value(json_object_get(msg, "authkey"))) {
		o->t.authkey = strdup(json_string_value(json_object_get(msg, "authkey")));
		if (!o->t.authkey)
			goto out;
	}
	ph = PH_NEXT;
out:
	json_decref(msg);
	return ph;
}

/* Every step's result into the transcript. */
static enum phase play_steps(struct ps_runner *rn, const struct ps_scenario *sc,
			     struct ps_outcome *o)
{
	bool pipelined = rn->drv->pipelined, gone = false, got;
	json_t *msg = NULL;
	enum phase ph = PH_BROKEN;
	char when[64];
	size_t i;

	for (i = 0; i < sc->n_steps; i++) {
		snprintf(when, sizeof(when), "step %zu (line %d)", i + 1, sc->steps[i]->line);
		if (pipelined)
			got = reply_to(rn, when, &msg, o);
		else
			got = exchange(rn, step_request(rn, sc, i), when, &msg, o);
		if (!got)
			goto out;
		if (op_is(msg, "exited")) {
			exited_early(o, msg, when);
			if (o->verdict == PS_V_PROTO)
				goto out; /* the driver is out of step */
			/* each later step and end: one error reply */
			if (!pipelined || drain(rn, sc->n_steps - i, &gone, o))
				ph = PH_DONE;
			goto out;
		}
		if (!take_result(o, sc->steps[i], msg, i + 1, runner_version(rn))) {
			if (o->verdict == PS_V_PASS) {
				ph = PH_NOMEM;
				goto out;
			}
			if (o->verdict == PS_V_PROTO)
				goto out;
			/* a driver error: end the scenario properly */
			if (pipelined && !drain(rn, sc->n_steps - i - 1, &gone, o))
				goto out;
			if (gone) { /* end was answered by an error */
				if (drain(rn, 1, &gone, o))
					ph = PH_DONE;
				goto out;
			}
			break;
		}
		json_decref(msg);
		msg = NULL;
	}
	ph = PH_NEXT;
out:
	json_decref(msg);
	return ph;
}

/* ended's "escaped" (PROTOCOL.md, end) into the transcript: 0, -EINVAL
 * when it is malformed, -ENOMEM. */
static int read_escaped(struct ps_outcome *o, json_t *list)
{
	json_t *item, *raised, *type, *message;
	const char *process, *into;
	size_t i;
	int r;

	if (!list)
		return 0;
	if (!json_is_array(list))
		return -EINVAL;
	json_array_foreach(list, i, item) {
		process = json_string_value(json_object_get(item, "process"));
		into = json_string_value(json_object_get(item, "into"));
		raised = json_object_get(item, "raised");
		type = json_object_get(raised, "type");
		message = json_object_get(raised, "message");
		if (!process || !into ||
		    (raised && !json_is_null(raised) &&
		     (!json_is_string(type) || !json_is_string(message))))
			return -EINVAL;
		r = ps_transcript_escaped(&o->t, process, into, json_string_value(type),
					  json_string_value(message));
		if (r)
			return r;
	}
	return 0;
}

/* end, its ended, and the exit of the scenario process; then the invariants. */
static enum phase play_end(struct ps_runner *rn, struct ps_outcome *o)
{
	struct ps_diag rd = PS_DIAG_INIT;
	json_t *msg = NULL;
	enum phase ph = PH_BROKEN;
	bool got;
	int r;

	if (rn->drv->pipelined)
		got = reply_to(rn, "end", &msg, o);
	else
		got = exchange(rn, json_pack("{s:s}", "op", "end"), "end", &msg, o);
	if (!got)
		goto out;
	if (op_is(msg, "exited")) {
		exited_early(o, msg, "end");
		ph = PH_DONE;
		if (o->verdict == PS_V_PROTO)
			ph = PH_BROKEN;
		goto out;
	}
	if (!op_is(msg, "ended") || !json_is_integer(json_object_get(msg, "fds_leaked")) ||
	    !json_is_integer(json_object_get(msg, "children_left"))) {
		bad_message(o, msg,
			    "end: expected ended with integer fds_leaked and children_left");
		goto out;
	}
	if ((r = read_escaped(o, json_object_get(msg, "escaped"))) != 0) {
		if (r == -EINVAL)
			bad_message(
				o, msg,
				"end: \"escaped\" must be a list of {\"process\": str, \"into\": "
				"\"main\", \"target\" or \"server\", \"raised\": {\"type\": str, "
				"\"message\": str} or absent}");
		else
			set_verdict(o, PS_V_CRASH, "end: out of memory in the harness");
		goto out;
	}
	o->t.ended = true;
	o->t.fds_leaked = (long)json_integer_value(json_object_get(msg, "fds_leaked"));
	o->t.children_left = (long)json_integer_value(json_object_get(msg, "children_left"));
	if (json_is_object(json_object_get(msg, "faults")))
		o->faults = json_incref(json_object_get(msg, "faults"));
	json_decref(msg);
	msg = NULL;
	r = ps_driver_recv(rn->drv, rn->step_timeout, &msg, &rd);
	if (r) {
		recv_failed(o, r, "after end", &rd);
		goto out;
	}
	if (!op_is(msg, "exited")) {
		bad_message(o, msg, "after end: expected exited");
		goto out;
	}
	if (!exited_well_formed(msg) || json_is_integer(json_object_get(msg, "signal")) ||
	    json_integer_value(json_object_get(msg, "code")) != 0)
		exited_early(o, msg, "exit of the scenario process");
	if (o->verdict == PS_V_PROTO)
		goto out;
	/* Nothing may follow exited unasked: a line already here belongs to
	 * this scenario, not to the next one's begin. */
	if (ps_driver_pending(rn->drv)) {
		set_verdict(o, PS_V_PROTO, "after exited: driver sent a line nobody asked for");
		goto out;
	}
	/* the invariants, each a failure of its own kind */
	if (o->t.children_left)
		set_verdict(o, PS_V_ORPHAN,
			    "the scenario left %ld child(ren) running or unreaped%s",
			    o->t.children_left, o->t.fds_leaked ? " (and fds open)" : "");
	else if (o->t.fds_leaked)
		set_verdict(o, PS_V_LEAK, "the scenario left %ld fd(s) open", o->t.fds_leaked);
	ph = PH_DONE;
out:
	json_decref(msg);
	return ph;
}

/* One scenario on a ready driver, into o; the driver dropped if it broke. */
static void play(struct ps_runner *rn, const struct ps_scenario *sc, const struct ps_wire *w,
		 unsigned method, struct ps_outcome *o)
{
	enum phase ph;

	ph = play_begin(rn, sc, w, method, o);
	if (ph == PH_NEXT)
		ph = play_steps(rn, sc, o);
	if (ph == PH_NEXT)
		ph = play_end(rn, o);
	if (ph == PH_DONE) {
		o->text = ps_transcript_render(&o->t);
		if (!o->text)
			ph = PH_NOMEM;
	}
	if (ph == PH_NOMEM)
		set_verdict(o, PS_V_CRASH, "out of memory in the harness");
	if (!o->text)
		o->text = ps_transcript_render(&o->t); /* what there is, for the diff */
	if (ph == PH_BROKEN || ph == PH_NOMEM)
		drop_driver(rn);
}

int ps_run_scenario_wire(struct ps_runner *rn, const struct ps_scenario *sc,
			 const struct ps_wire *w, unsigned method, struct ps_outcome *o,
			 struct ps_diag *d)
{
	double t0 = ps_now();
	int r;

	memset(o, 0, sizeof(*o));
	if (rn->drv && ps_driver_pending(rn->drv)) {
		/* A line that came after the last scenario ended: not this
		 * scenario's business; it plays on a fresh driver. */
		fprintf(stderr,
			"procspec: the driver sent a line nobody asked for after a scenario "
			"had ended; starting it afresh\n");
		drop_driver(rn);
	}
	r = runner_ready_for(rn, sc, d);
	if (!r) {
		if (ps_scenario_gated(sc))
			w = NULL; /* encoded without a driver: its gates undecided */
		play(rn, sc, w, method, o);
		o->seconds = ps_now() - t0;
	}
	return r;
}

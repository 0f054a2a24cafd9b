#include "fuzz_gen.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ast.h"
#include "buf.h"
#include "fuzz_fault.h"
#include "fuzz_gen_executor.h"
#include "util.h"

/* --- the random stream ------------------------------------------------- */

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

void ps_fuzz_rng_seed(struct ps_fuzz_rng *r, uint64_t seed, uint64_t index)
{
	uint64_t x = seed;
	size_t i;

	/* Two rounds of splitmix64 keep (seed, index) and (seed + 1, index - 1) apart. */
	x = splitmix64(&x) ^ index;
	for (i = 0; i < 4; i++)
		r->s[i] = splitmix64(&x);
}

static uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

uint64_t ps_fuzz_rng_next(struct ps_fuzz_rng *r)
{
	uint64_t *s = r->s, out = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return out;
}

/* Uniform in [0, n), n > 0 (the modulo bias is irrelevant here, and fixed). */
static unsigned below(struct ps_fuzz_rng *r, unsigned n)
{
	return (unsigned)(ps_fuzz_rng_next(r) % n);
}

static bool chance(struct ps_fuzz_rng *r, unsigned percent)
{
	return below(r, 100) < percent;
}

/* Index into weights[0..n) drawn by weight. */
static unsigned weighted(struct ps_fuzz_rng *r, const unsigned *w, unsigned n)
{
	unsigned total = 0, i, x;

	for (i = 0; i < n; i++)
		total += w[i];
	if (!total)
		return 0;
	x = below(r, total);
	for (i = 0; i < n; i++) {
		if (x < w[i])
			return i;
		x -= w[i];
	}
	return n - 1;
}

/* --- the model ------------------------------------------------------- */

enum pstate {
	ST_UNBOUND,
	ST_DEAD, /* its construction raised: the name is bound in the text only */
	ST_INIT,
	ST_BLOCKED, /* started, and cannot finish before release() or a signal */
	ST_RUNNING, /* started, may or may not have finished by now */
	ST_DONE,    /* joined */
	ST_CLOSED,
	ST_POISON, /* a fault met it: started or not is unknown */
};

#define MAX_VARS 12

struct pvar {
	char name[16];
	enum pstate st;
	bool direct_blocks;   /* target=child.blocks, no arguments */
	bool sc;              /* target=child.starts_child */
	int sc_depth;         /* 1: the grandchild runs the leaf; 2: one more level */
	bool sc_leaf_blocks;  /* the leaf is child.blocks and every level below is non-daemonic */
	bool sc_inner_daemon; /* the grandchild is daemonic */
	bool escapes;         /* child.exits(N), N beyond a C int: under fork it
			       * escapes into the caller of _bootstrap (os._exit
			       * raises), which a daemonic process may not live
			       * to do: its parent's exit terminates it */
	bool daemon;          /* truthiness of p.daemon */
	unsigned credit;      /* release() bytes waiting in the gate */
	bool out_ok, err_ok;  /* stdout(p) / stderr(p) are fixed once it is joined */
	bool tree_blocked;    /* blocked in its exit path, joining its own child */
	bool handler;         /* target=child.handles(SIGTERM, N): 'ready', then the gate */
	bool ready;           /* ready(p) came back since start(): the handler is in place */
	bool ignorer;         /* the handler is child.ignores(SIGINT) */
};

struct model {
	struct pvar v[MAX_VARS];
	size_t n;
	/* the one class subclass() made, if any: its variable, whether its
	 * run() overrides the target, and then what its instances run */
	char sub_name[16];
	bool sub_overrides;
	struct pvar sub_proto;
	/* the one callable object callable_object() made, if any: its
	 * variable and the behaviour its __call__ runs */
	char call_name[16];
	char call_beh[24];
	bool armed;      /* a fault is armed */
	bool fault_used; /* the armed fault has had its one statement */
};

enum opk {
	K_SUBCLASS,
	K_CREATE,
	K_START,
	K_JOIN,
	K_JOIN_T,
	K_RELEASE,
	K_TERM,
	K_SIGNAL, /* send_signal(p, SIGTERM or SIGKILL): as K_TERM, on a blocked child only */
	K_READY,  /* ready(p): the handler of child.handles is in place */
	K_CLOSE,
	K_ALIVE,
	K_EXITCODE,
	K_REPR,
	K_STDOUT,
	K_STDERR,
	K_STABLE,
	K_STABLE_STARTED,
	K_SET_DAEMON,
	K_SET_OTHER,
	K_ACTIVE,
	K_GLOBAL,
	K_FAULT,
	K_CLEAR,
	K_FDQ,
	K_CHQ,
};

struct op {
	enum opk k;
	int var; /* index into the model, -1 for none */
	/* K_CREATE */
	bool raises;
	struct pvar proto;
	/* K_JOIN_T */
	double timeout;
	/* K_SET_DAEMON */
	bool truthy;
	/* K_SIGNAL: SIGINT, which a child.ignores(SIGINT) ignores */
	bool sigint;
};

static int find_var(const struct model *m, const char *name)
{
	size_t i;

	for (i = 0; i < m->n; i++)
		if (!strcmp(m->v[i].name, name))
			return (int)i;
	return -1;
}

static int add_var(struct model *m, const char *name)
{
	int i = find_var(m, name);

	if (i >= 0)
		return i;
	if (m->n >= MAX_VARS || strlen(name) >= sizeof(m->v[0].name))
		return -1;
	memset(&m->v[m->n], 0, sizeof(m->v[0]));
	strcpy(m->v[m->n].name, name);
	return (int)m->n++;
}

static bool live(enum pstate s)
{
	return s != ST_UNBOUND && s != ST_DEAD;
}

/*
 * Apply op to m.  False when its outcome could depend on timing, it could
 * hang, or the model does not know it: the statement is refused and m may
 * be half-changed (callers work on a copy).
 */
static bool model_apply(struct model *m, const struct op *op, const char **why)
{
	struct pvar *p = op->var >= 0 ? &m->v[op->var] : NULL;
	size_t i;
	unsigned blocked = 0;
	bool had_credit;

#define REFUSE(msg)           \
	do {                  \
		*why = msg;   \
		return false; \
	} while (0)
	if (op->k == K_SUBCLASS) {
		/* decode recorded the class, refusing a second one */
		if (m->armed)
			REFUSE("a class is made before any fault");
		return true;
	}
	if (op->k == K_FAULT) {
		if (m->armed)
			REFUSE("a fault is armed already");
		m->armed = true;
		m->fault_used = false;
		return true;
	}
	if (op->k == K_CLEAR) {
		m->armed = false;
		return true;
	}
	if (m->armed) {
		/* One statement on one process meets the fault; then faults_clear(). */
		static const enum opk hit[] = { K_START, K_JOIN,  K_JOIN_T,
						K_TERM,  K_CLOSE, K_EXITCODE };
		bool ok = false;

		for (i = 0; i < ARRAY_SIZE(hit); i++)
			ok = ok || op->k == hit[i];
		if (!ok || !p || m->fault_used)
			REFUSE("only one statement on a process while a fault is armed");
		m->fault_used = true;
	}
	if (op->k == K_CREATE) {
		if (p->st != ST_UNBOUND)
			REFUSE("a name bound twice");
		if (op->raises) {
			p->st = ST_DEAD;
			return true;
		}
		{
			char name[16];

			memcpy(name, p->name, sizeof(name));
			*p = op->proto;
			memcpy(p->name, name, sizeof(name));
		}
		p->st = ST_INIT;
		return true;
	}
	if (p && !live(p->st))
		REFUSE("a name whose construction raised or that is unbound");
	if (p && p->st == ST_POISON) {
		if (op->k == K_STABLE || op->k == K_SET_OTHER || op->k == K_RELEASE)
			return true;
		REFUSE("a process a fault met may or may not have started");
	}
	switch (op->k) {
	case K_START:
		if (p->st != ST_INIT)
			break; /* raises, whatever the state */
		if (p->escapes && p->daemon)
			REFUSE("a daemonic child whose exit escapes: the exit may end it first");
		had_credit = p->credit > 0;
		p->ready = false;
		if (p->direct_blocks || p->handler ||
		    (p->sc && !p->daemon && p->sc_leaf_blocks && !p->sc_inner_daemon)) {
			if (p->credit) {
				p->credit--;
				p->st = ST_RUNNING;
			} else {
				p->st = ST_BLOCKED;
				p->tree_blocked = !p->direct_blocks && !p->handler;
			}
		} else {
			p->st = ST_RUNNING;
		}
		/*
		 * child.starts_child writes repr(q) after q.start(): "started" only
		 * while q cannot finish, so not once a release() can reach q.
		 */
		p->out_ok = !p->sc || p->daemon ||
			    (p->sc_depth == 1 && p->sc_leaf_blocks && !had_credit);
		p->err_ok = !(p->sc && !p->daemon && p->sc_inner_daemon && !p->sc_leaf_blocks);
		break;
	case K_JOIN:
		if (p->st == ST_BLOCKED)
			REFUSE("join() on a child that cannot finish");
		if (p->st == ST_RUNNING)
			p->st = ST_DONE;
		break;
	case K_JOIN_T:
		if (op->timeout > 0.2)
			REFUSE("a long timed join");
		if (p->st == ST_RUNNING && op->timeout > 0)
			REFUSE("a timed join on a child that may finish meanwhile");
		break;
	case K_RELEASE:
		if (p->sc)
			p->out_ok = false; /* q may finish before p writes its repr */
		if (p->st == ST_BLOCKED)
			p->st = ST_RUNNING;
		else
			p->credit++;
		break;
	case K_READY:
		/* ready(p) waits (bounded) for the child's 'ready' line */
		if (!p->handler || p->st != ST_BLOCKED)
			REFUSE("ready() of a child that is not a handler held on its gate");
		p->ready = true;
		break;
	case K_SIGNAL:
		/* the harness verb signals a pid: never one that has exited
		 * (it may be reaped and reused), never an unstarted one */
		if (p->st != ST_BLOCKED)
			REFUSE("send_signal() to a child that is not held on its gate");
		if (op->sigint) {
			/* ignored, once the child has said it set SIG_IGN */
			if (!p->ignorer || !p->ready)
				REFUSE("SIGINT to a child not known to ignore it");
			break;
		}
		/* fall through */
	case K_TERM:
		if (p->st == ST_RUNNING)
			REFUSE("a signal to a child that may have finished");
		if (p->st == ST_BLOCKED && p->handler && !p->ready)
			REFUSE("a signal that may come before the handler is in place");
		if (p->st == ST_BLOCKED) {
			if (p->tree_blocked)
				REFUSE("a signal to a child whose own child would be orphaned");
			p->st = ST_RUNNING;
		}
		break;
	case K_CLOSE:
		if (p->st == ST_RUNNING)
			REFUSE("close() on a child that may have finished");
		if (p->st == ST_INIT || p->st == ST_DONE)
			p->st = ST_CLOSED;
		break;
	case K_ALIVE:
	case K_EXITCODE:
	case K_REPR:
		if (p->st == ST_RUNNING)
			REFUSE("a state read of a child that may have finished");
		break;
	case K_STDOUT:
	case K_STDERR:
		if (p->st == ST_RUNNING || (p->st == ST_BLOCKED && !p->direct_blocks))
			REFUSE("output of a child still writing");
		if ((p->st == ST_DONE || p->st == ST_CLOSED) &&
		    !(op->k == K_STDOUT ? p->out_ok : p->err_ok))
			REFUSE("output whose order or completeness is a race");
		break;
	case K_STABLE:
	case K_STABLE_STARTED:
	case K_SET_OTHER:
		break;
	case K_SET_DAEMON:
		if (p->st == ST_INIT)
			p->daemon = op->truthy;
		break;
	case K_ACTIVE:
		for (i = 0; i < m->n; i++) {
			if (m->v[i].st == ST_RUNNING || m->v[i].st == ST_POISON)
				REFUSE("active_children() with a child that may have finished");
			blocked += m->v[i].st == ST_BLOCKED;
		}
		/* membership (op->truthy) does not see the order */
		if (blocked > 1 && !op->truthy)
			REFUSE("active_children() lists a set: its order is not fixed");
		break;
	case K_FDQ:
		for (i = 0; i < m->n; i++)
			if (live(m->v[i].st) && m->v[i].st != ST_INIT && m->v[i].st != ST_CLOSED)
				REFUSE("fds_leaked() while a started process object holds fds");
		break;
	case K_CHQ:
		for (i = 0; i < m->n; i++)
			if (m->v[i].st == ST_BLOCKED || m->v[i].st == ST_RUNNING ||
			    m->v[i].st == ST_POISON)
				REFUSE("children_left() while a child may be running");
		break;
	case K_GLOBAL:
		break;
	default:
		REFUSE("unknown statement");
	}
	if (m->armed && p)
		p->st = ST_POISON;
	return true;
#undef REFUSE
}

/* --- reading a parsed statement as an op --------------------------------- */

static bool literal_truth(const struct ps_expr *e, bool *truthy)
{
	switch (e->kind) {
	case PS_X_NONE:
		*truthy = false;
		return true;
	case PS_X_BOOL:
		*truthy = e->b;
		return true;
	case PS_X_INT:
		*truthy = strcmp(e->text, "0") != 0;
		return true;
	case PS_X_FLOAT:
		*truthy = strtod(e->text, NULL) != 0;
		return true;
	case PS_X_STR:
	case PS_X_BYTES:
		*truthy = e->len != 0;
		return true;
	case PS_X_TUPLE:
	case PS_X_LIST:
	case PS_X_DICT:
		*truthy = e->n_items != 0;
		return true;
	default:
		return false;
	}
}

/* A literal: a kind literal_truth knows, holding (a tuple, list or dict) only literals. */
static bool is_literal(const struct ps_expr *e)
{
	bool truthy;
	size_t i;

	if (!literal_truth(e, &truthy))
		return false;
	for (i = 0; i < e->n_items; i++)
		if (!is_literal(e->items[i]))
			return false;
	return true;
}

static const struct ps_expr *kwarg(const struct ps_expr *call, const char *name)
{
	size_t i;

	for (i = 0; i < call->n_kw; i++)
		if (!strcmp(call->kw[i].name, name))
			return call->kw[i].value;
	return NULL;
}

static bool is_seq(const struct ps_expr *e)
{
	return e && (e->kind == PS_X_TUPLE || e->kind == PS_X_LIST);
}

/* child.exits(N) whose N is an int beyond a C int: os._exit(N) raises. */
static bool exit_escapes(const struct ps_expr *tgt, const struct ps_expr *args)
{
	const struct ps_expr *n = args && args->n_items == 1 ? args->items[0] : NULL;
	long long v;
	char *end;

	if (!tgt || tgt->kind != PS_X_BEHAVIOUR || strcmp(tgt->text, "exits") || !n ||
	    n->kind != PS_X_INT)
		return false;
	errno = 0;
	v = strtoll(n->text, &end, 10);
	return errno == ERANGE || *end || v < INT_MIN || v > INT_MAX;
}

/*
 * The grandchild of child.starts_child(TARGET, ARGS=(), DAEMON=None), from
 * the Process's args and kwargs.
 */
static bool decode_starts_child(const struct ps_expr *args, const struct ps_expr *kwargs,
				struct pvar *pv)
{
	const struct ps_expr *tgt = args && args->n_items > 0 ? args->items[0] : NULL;
	const struct ps_expr *targs = args && args->n_items > 1 ? args->items[1] : NULL;
	const struct ps_expr *dm = args && args->n_items > 2 ? args->items[2] : NULL;
	bool inner_daemon = false, t;
	size_t i;

	if (args && args->n_items > 3)
		return false;
	if (kwargs) {
		if (kwargs->kind != PS_X_DICT)
			return false;
		for (i = 0; i + 1 < kwargs->n_items; i += 2) {
			if (kwargs->items[i]->kind != PS_X_STR ||
			    strcmp(kwargs->items[i]->text, "daemon") || dm)
				return false;
			dm = kwargs->items[i + 1];
		}
	}
	if (dm) {
		if (!literal_truth(dm, &t))
			return false;
		inner_daemon = t;
	}
	if (targs && !is_seq(targs))
		return false;
	pv->sc = true;
	pv->sc_depth = 1;
	pv->sc_inner_daemon = inner_daemon;
	if (inner_daemon && exit_escapes(tgt, targs))
		return false; /* whether it escapes before its parent ends it is a race */
	if (!tgt || tgt->kind != PS_X_BEHAVIOUR)
		return tgt == NULL || is_literal(tgt);
	for (i = 0; targs && i < targs->n_items; i++)
		if (!is_literal(targs->items[i]) && targs->items[i]->kind != PS_X_BEHAVIOUR &&
		    targs->items[i]->kind != PS_X_TUPLE)
			return false;
	if (!strcmp(tgt->text, "blocks")) {
		pv->sc_leaf_blocks = !targs || targs->n_items == 0;
	} else if (!strcmp(tgt->text, "starts_child")) {
		/* one level more: child.starts_child, (child.blocks,) only */
		pv->sc_depth = 2;
		pv->sc_leaf_blocks = !inner_daemon && targs && targs->n_items == 1 &&
				     targs->items[0]->kind == PS_X_BEHAVIOUR &&
				     !strcmp(targs->items[0]->text, "blocks");
	} else {
		for (i = 0; targs && i < targs->n_items; i++)
			if (!is_literal(targs->items[i]))
				return false;
	}
	return true;
}

static bool decode_create(const struct ps_expr *call, struct op *op)
{
	static const char *const known[] = { "group", "target", "name", "args", "kwargs", "daemon" };
	const struct ps_expr *tgt = kwarg(call, "target"), *args = kwarg(call, "args");
	const struct ps_expr *group = kwarg(call, "group"), *dm = kwarg(call, "daemon");
	const struct ps_expr *kw = kwarg(call, "kwargs"), *name = kwarg(call, "name");
	size_t i, k;
	bool t;

	if (call->n_items)
		return false;
	for (i = 0; i < call->n_kw; i++) {
		bool ok = false;

		for (k = 0; k < ARRAY_SIZE(known); k++)
			ok = ok || !strcmp(call->kw[i].name, known[k]);
		if (!ok)
			return false;
	}
	memset(&op->proto, 0, sizeof(op->proto));
	op->k = K_CREATE;
	if (group && group->kind != PS_X_NONE) {
		op->raises = is_literal(group); /* BaseProcess.__init__: assert group is None */
		return op->raises;
	}
	if ((args && !is_seq(args)) || (name && !is_literal(name)))
		return false;
	if (dm) {
		if (!literal_truth(dm, &t))
			return false;
		op->proto.daemon = t;
	}
	if (!tgt || tgt->kind == PS_X_NONE)
		return !kw && (!args || args->n_items == 0 || is_literal(args));
	if (tgt->kind != PS_X_BEHAVIOUR)
		return false;
	if (!strcmp(tgt->text, "starts_child"))
		return decode_starts_child(args, kw, &op->proto);
	if (kw)
		return false;
	/* child.handles(signal.SIGTERM, N): 'ready', then held on its gate;
	 * SIGTERM then makes it exit N */
	/* child.ignores(signal.SIGINT): 'ready', then held on its gate, deaf
	 * to SIGINT */
	if (!strcmp(tgt->text, "ignores")) {
		op->proto.handler = op->proto.ignorer =
			args && args->n_items == 1 && args->items[0]->kind == PS_X_GETATTR &&
			!strcmp(args->items[0]->text, "SIGINT") &&
			args->items[0]->object->kind == PS_X_GLOBAL &&
			!strcmp(args->items[0]->object->text, "signal");
		return op->proto.handler;
	}
	if (!strcmp(tgt->text, "handles")) {
		op->proto.handler = args && args->n_items == 2 &&
				    args->items[0]->kind == PS_X_GETATTR &&
				    !strcmp(args->items[0]->text, "SIGTERM") &&
				    args->items[0]->object->kind == PS_X_GLOBAL &&
				    !strcmp(args->items[0]->object->text, "signal") &&
				    args->items[1]->kind == PS_X_INT && args->items[1]->len <= 2;
		return op->proto.handler;
	}
	/* child.starts_children(child.returns or child.exits, N): N children
	 * in turn, each joined before the next: it ends by itself */
	if (!strcmp(tgt->text, "starts_children"))
		return args && args->n_items == 2 && args->items[0]->kind == PS_X_BEHAVIOUR &&
		       (!strcmp(args->items[0]->text, "returns") ||
			!strcmp(args->items[0]->text, "exits")) &&
		       args->items[1]->kind == PS_X_INT && args->items[1]->len == 1;
	for (i = 0; args && i < args->n_items; i++)
		if (!is_literal(args->items[i]))
			return false;
	op->proto.direct_blocks = !strcmp(tgt->text, "blocks") && (!args || args->n_items == 0);
	op->proto.escapes = exit_escapes(tgt, args);
	return true;
}

static bool is_var(const struct ps_expr *e, const struct model *m, int *var)
{
	if (!e || e->kind != PS_X_VAR)
		return false;
	*var = find_var(m, e->text);
	return *var >= 0;
}

static bool is_global_call(const struct ps_expr *e, const char *name)
{
	return e->kind == PS_X_CALL && e->object->kind == PS_X_GLOBAL &&
	       !strcmp(e->object->text, name);
}

/* An argument of pickles(): a literal, or an authkey. */
static bool pickles_arg(const struct ps_expr *e, const struct model *m)
{
	int v;

	if (is_literal(e))
		return true;
	if (e->kind != PS_X_GETATTR || strcmp(e->text, "authkey"))
		return false;
	return is_var(e->object, m, &v) ||
	       (e->object->kind == PS_X_CALL && e->object->n_items == 0 && e->object->n_kw == 0 &&
		is_global_call(e->object, "current_process"));
}

static bool decode_method(const struct ps_expr *call, int var, struct op *op)
{
	const char *mname = call->object->text;
	size_t nargs = call->n_items + call->n_kw;
	const struct ps_expr *t = NULL;

	op->var = var;
	if (!strcmp(mname, "join")) {
		if (nargs == 0) {
			op->k = K_JOIN;
			return true;
		}
		if (nargs > 1 || (call->n_kw && strcmp(call->kw[0].name, "timeout"))) {
			op->k = K_STABLE; /* TypeError before anything happens */
			return true;
		}
		t = call->n_items ? call->items[0] : call->kw[0].value;
		if (t->kind == PS_X_NONE) {
			op->k = K_JOIN;
			return true;
		}
		if (t->kind != PS_X_INT && t->kind != PS_X_FLOAT)
			return false;
		op->k = K_JOIN_T;
		op->timeout = strtod(t->text, NULL);
		return !isnan(op->timeout);
	}
	if (nargs) {
		/* start(1), is_alive(1), ...: TypeError from the call itself */
		static const char *const m0[] = { "start", "terminate", "kill", "close",
						  "is_alive" };
		size_t i;

		for (i = 0; i < ARRAY_SIZE(m0); i++)
			if (!strcmp(mname, m0[i])) {
				op->k = K_STABLE;
				return true;
			}
		return false;
	}
	if (!strcmp(mname, "start"))
		op->k = K_START;
	else if (!strcmp(mname, "terminate") || !strcmp(mname, "kill"))
		op->k = K_TERM;
	else if (!strcmp(mname, "close"))
		op->k = K_CLOSE;
	else if (!strcmp(mname, "is_alive"))
		op->k = K_ALIVE;
	else
		return false;
	return true;
}

/* The op of statement s, reading names against m (new names are added). */
/*
 * NAME = subclass('NAME') keeps the target; subclass('NAME', run=child.X,
 * args=(...)) makes instances that run child.X(*args) whatever their
 * target: the model takes the class's run as their target.  Decoding the
 * class records it in m (a copy, for a candidate).
 */
static bool decode_subclass(const struct ps_stmt *s, const struct ps_expr *e, struct model *m,
			    struct op *op)
{
	const struct ps_expr *run = kwarg(e, "run"), *args = kwarg(e, "args");
	struct ps_kwarg kw[2];
	struct ps_expr as_process = *e;
	struct op tmp;

	if (m->sub_name[0] || find_var(m, s->target) >= 0 ||
	    strlen(s->target) >= sizeof(m->sub_name))
		return false;
	op->k = K_SUBCLASS;
	snprintf(m->sub_name, sizeof(m->sub_name), "%s", s->target);
	m->sub_overrides = run != NULL;
	memset(&m->sub_proto, 0, sizeof(m->sub_proto));
	if (!run)
		return e->n_kw == 0;
	/* what Process(target=RUN, args=ARGS) would model */
	kw[0].name = (char *)"target";
	kw[0].value = (struct ps_expr *)run;
	kw[1].name = (char *)"args";
	kw[1].value = (struct ps_expr *)args;
	as_process.items = NULL;
	as_process.n_items = 0;
	as_process.kw = kw;
	as_process.n_kw = args ? 2 : 1;
	memset(&tmp, 0, sizeof(tmp));
	if (!decode_create(&as_process, &tmp) || tmp.raises || tmp.proto.sc)
		return false;
	m->sub_proto = tmp.proto;
	return true;
}

/* NAME(...) of the class: as Process(...), or with the class's run as the
 * target (and no target, args or kwargs of its own) when it overrides */
static bool decode_sub_create(const struct ps_stmt *s, const struct ps_expr *e, struct model *m,
			      struct op *op)
{
	bool daemon;

	op->var = add_var(m, s->target);
	if (op->var < 0 || !decode_create(e, op))
		return false;
	if (!m->sub_overrides || op->raises)
		return true;
	if (kwarg(e, "target") || kwarg(e, "args") || kwarg(e, "kwargs"))
		return false;
	daemon = op->proto.daemon;
	op->proto = m->sub_proto;
	op->proto.daemon = daemon;
	return true;
}

/* The behaviours a callable object may run: those whose outcome a
 * Process(target=child.X, args=(literals)) decodes, and that take the
 * arguments gen_call_args() writes */
static const char *const call_behaviours[] = { "returns", "exits",  "raises",
					       "writes",  "echoes", "os_exit" };

/* NAME = callable_object('Call', call=child.X): recorded in m, a process
 * whose target it is models as Process(target=child.X, ...) */
static bool decode_callable(const struct ps_stmt *s, const struct ps_expr *e, struct model *m,
			    struct op *op)
{
	const struct ps_expr *call = kwarg(e, "call");
	size_t i;
	bool known = false;

	if (m->call_name[0] || find_var(m, s->target) >= 0 ||
	    (m->sub_name[0] && !strcmp(m->sub_name, s->target)) ||
	    strlen(s->target) >= sizeof(m->call_name) || !call || call->kind != PS_X_BEHAVIOUR ||
	    strlen(call->text) >= sizeof(m->call_beh))
		return false;
	for (i = 0; i < ARRAY_SIZE(call_behaviours); i++)
		known = known || !strcmp(call->text, call_behaviours[i]);
	if (!known)
		return false;
	op->k = K_SUBCLASS; /* a definition: no process, none before a fault */
	snprintf(m->call_name, sizeof(m->call_name), "%s", s->target);
	snprintf(m->call_beh, sizeof(m->call_beh), "%s", call->text);
	return true;
}

/* Process(...) whose target may be the callable object: decoded as the
 * same call with target=child.X */
/*
 * Process(target=child.calls, args=(p, 'is_alive', 'join')): p an earlier
 * process variable; both methods raise in the child whatever p's state
 * (not a child of the caller, not started, or closed), and p crosses to it
 * by pickle under spawn and forkserver, which a started process refuses
 * (3.7+) at start(): read as Process(target=child.returns), the model
 * knowing nothing else of p.
 */
static bool decode_calls(const struct ps_expr *e, const struct model *m, struct op *op)
{
	const struct ps_expr *args = kwarg(e, "args");
	struct ps_kwarg kw[8];
	struct ps_expr as_returns, beh;
	size_t i, k;
	int v;

	if (!args || args->kind != PS_X_TUPLE || args->n_items < 2 || e->n_kw > ARRAY_SIZE(kw) ||
	    kwarg(e, "kwargs") || args->items[0]->kind != PS_X_VAR ||
	    (v = find_var(m, args->items[0]->text)) < 0 || v == op->var)
		return false;
	for (i = 1; i < args->n_items; i++)
		if (args->items[i]->kind != PS_X_STR || (strcmp(args->items[i]->text, "is_alive") &&
							 strcmp(args->items[i]->text, "join")))
			return false;
	memset(&beh, 0, sizeof(beh));
	beh.kind = PS_X_BEHAVIOUR;
	beh.text = (char *)"returns";
	beh.len = 7;
	as_returns = *e;
	for (i = k = 0; i < e->n_kw; i++) {
		if (!strcmp(e->kw[i].name, "args"))
			continue;
		kw[k] = e->kw[i];
		if (!strcmp(kw[k].name, "target"))
			kw[k].value = &beh;
		k++;
	}
	as_returns.kw = kw;
	as_returns.n_kw = k;
	return decode_create(&as_returns, op);
}

static bool decode_create_calling(const struct ps_expr *e, const struct model *m, struct op *op)
{
	const struct ps_expr *tgt = kwarg(e, "target");
	struct ps_kwarg kw[8];
	struct ps_expr as_behaviour, beh;
	size_t i;

	if (tgt && tgt->kind == PS_X_BEHAVIOUR && !strcmp(tgt->text, "calls"))
		return decode_calls(e, m, op);

	if (!tgt || tgt->kind != PS_X_VAR || !m->call_name[0] || strcmp(tgt->text, m->call_name))
		return decode_create(e, op);
	if (e->n_kw > ARRAY_SIZE(kw))
		return false;
	memset(&beh, 0, sizeof(beh));
	beh.kind = PS_X_BEHAVIOUR;
	beh.text = (char *)m->call_beh;
	beh.len = strlen(m->call_beh);
	as_behaviour = *e;
	for (i = 0; i < e->n_kw; i++) {
		kw[i] = e->kw[i];
		if (!strcmp(kw[i].name, "target"))
			kw[i].value = &beh;
	}
	as_behaviour.kw = kw;
	return decode_create(&as_behaviour, op);
}

static bool decode(const struct ps_stmt *s, struct model *m, struct op *op)
{
	const struct ps_expr *e = s->value;
	int v;
	bool t;

	memset(op, 0, sizeof(*op));
	op->var = -1;
	/* not x, x is None, x is not None: as x (gen_on_var) */
	while (s->kind == PS_S_EXPR && e->kind == PS_X_NOT)
		e = e->object;
	if (s->kind == PS_S_EXPR && e->kind == PS_X_COMPARE && strcmp(e->text, "==") &&
	    (e->items[1]->kind == PS_X_NONE ||
	     (e->items[1]->kind == PS_X_INT && strcmp(e->text, "in") && strcmp(e->text, "not in"))))
		e = e->items[0];
	/* p in active_children(): as active_children(), in any order */
	if (s->kind == PS_S_EXPR && e->kind == PS_X_COMPARE &&
	    (!strcmp(e->text, "in") || !strcmp(e->text, "not in")) && is_var(e->items[0], m, &v) &&
	    is_global_call(e->items[1], "active_children") && !e->items[1]->n_items &&
	    !e->items[1]->n_kw) {
		op->k = K_ACTIVE;
		op->truthy = true;
		return true;
	}
	if (s->kind == PS_S_ASSIGN) {
		if (is_global_call(e, "subclass"))
			return decode_subclass(s, e, m, op);
		if (is_global_call(e, "callable_object"))
			return decode_callable(s, e, m, op);
		if (e->kind == PS_X_CALL && e->object->kind == PS_X_VAR && m->sub_name[0] &&
		    !strcmp(e->object->text, m->sub_name))
			return decode_sub_create(s, e, m, op);
		if (!is_global_call(e, "Process"))
			return false;
		op->var = add_var(m, s->target);
		return op->var >= 0 && decode_create_calling(e, m, op);
	}
	if (s->kind == PS_S_SETATTR) {
		if (!is_var(s->object, m, &v))
			return false;
		op->var = v;
		if (!strcmp(s->attr, "daemon")) {
			op->k = K_SET_DAEMON;
			if (!literal_truth(e, &t))
				return false;
			op->truthy = t;
			return true;
		}
		op->k = K_SET_OTHER;
		return (!strcmp(s->attr, "name") || !strcmp(s->attr, "authkey")) && is_literal(e);
	}
	if (is_var(e, m, &v)) {
		op->k = K_REPR;
		op->var = v;
		return true;
	}
	/* type(x).__name__ and isinstance(x, Process) of a process variable
	 * or of current_process(): reads that never raise (gen_on_var,
	 * gen_global) */
	if ((e->kind == PS_X_GETATTR && !strcmp(e->text, "__name__") &&
	     is_global_call(e->object, "type") && e->object->n_items == 1 && !e->object->n_kw) ||
	    (is_global_call(e, "isinstance") && e->n_items == 2 && !e->n_kw &&
	     e->items[1]->kind == PS_X_GLOBAL && !strcmp(e->items[1]->text, "Process"))) {
		const struct ps_expr *x = e->kind == PS_X_GETATTR ? e->object->items[0] :
								    e->items[0];

		if (is_var(x, m, &v)) {
			op->k = K_STABLE;
			op->var = v;
			return true;
		}
		op->k = K_GLOBAL;
		return is_global_call(x, "current_process") && !x->n_items && !x->n_kw;
	}
	/* 'daemon' in p._config: a read that never raises (set by the
	 * daemon setter and daemon=, 3.3+) */
	if (s->kind == PS_S_EXPR && e->kind == PS_X_COMPARE && !strcmp(e->text, "in") &&
	    e->items[0]->kind == PS_X_STR && e->items[1]->kind == PS_X_GETATTR &&
	    !strcmp(e->items[1]->text, "_config") && is_var(e->items[1]->object, m, &v)) {
		op->k = K_STABLE;
		op->var = v;
		return true;
	}
	/* send_signal(p, signal.SIGTERM or SIGKILL), as p.terminate() */
	if (is_global_call(e, "send_signal") && e->n_items == 2 && !e->n_kw &&
	    is_var(e->items[0], m, &v) && e->items[1]->kind == PS_X_GETATTR &&
	    e->items[1]->object->kind == PS_X_GLOBAL &&
	    !strcmp(e->items[1]->object->text, "signal") &&
	    (!strcmp(e->items[1]->text, "SIGTERM") || !strcmp(e->items[1]->text, "SIGKILL") ||
	     !strcmp(e->items[1]->text, "SIGINT"))) {
		op->k = K_SIGNAL;
		op->var = v;
		op->sigint = !strcmp(e->items[1]->text, "SIGINT");
		return true;
	}
	/* connection.wait([p.sentinel], timeout=0) == [p.sentinel]: a state
	 * read, as p.exitcode (the sentinel's fd is each driver's own, so only
	 * the comparison is written) */
	if (s->kind == PS_S_EXPR && e->kind == PS_X_COMPARE && !strcmp(e->text, "==") &&
	    e->items[0]->kind == PS_X_CALL && e->items[0]->object->kind == PS_X_GETATTR &&
	    !strcmp(e->items[0]->object->text, "wait") &&
	    e->items[0]->object->object->kind == PS_X_GLOBAL &&
	    !strcmp(e->items[0]->object->object->text, "connection") && e->items[0]->n_items == 1 &&
	    e->items[0]->items[0]->kind == PS_X_LIST && e->items[0]->items[0]->n_items == 1 &&
	    e->items[0]->items[0]->items[0]->kind == PS_X_GETATTR &&
	    !strcmp(e->items[0]->items[0]->items[0]->text, "sentinel") &&
	    is_var(e->items[0]->items[0]->items[0]->object, m, &v)) {
		op->k = K_EXITCODE;
		op->var = v;
		return true;
	}
	/* the module functions as the forms stream writes them (gen_global):
	 * nothing in the model changes; set_start_method() without force
	 * raises, set_executable() sets the path the driver already uses */
	if ((e->kind == PS_X_CALL && e->object->kind == PS_X_GETATTR &&
	     !strcmp(e->object->text, "get_start_method") && !e->n_items && !e->n_kw &&
	     is_global_call(e->object->object, "get_context") && e->object->object->n_items == 1 &&
	     e->object->object->items[0]->kind == PS_X_STR) ||
	    (is_global_call(e, "set_start_method") && e->n_items == 1 && !e->n_kw &&
	     e->items[0]->kind == PS_X_STR) ||
	    (is_global_call(e, "set_executable") && e->n_items == 1 && !e->n_kw &&
	     is_global_call(e->items[0], "executable") && !e->items[0]->n_items) ||
	    (s->kind == PS_S_EXPR && e->kind == PS_X_CALL && is_global_call(e, "cpu_count") &&
	     !e->n_items && !e->n_kw)) {
		op->k = K_GLOBAL;
		return true;
	}
	/* gc.collect(); len(active_children()) as active_children() */
	if (e->kind == PS_X_CALL && e->object->kind == PS_X_GETATTR &&
	    !strcmp(e->object->text, "collect") && e->object->object->kind == PS_X_GLOBAL &&
	    !strcmp(e->object->object->text, "gc") && !e->n_items && !e->n_kw) {
		op->k = K_GLOBAL;
		return true;
	}
	if (is_global_call(e, "len") && e->n_items == 1 && !e->n_kw &&
	    is_global_call(e->items[0], "active_children") && !e->items[0]->n_items &&
	    !e->items[0]->n_kw) {
		op->k = K_ACTIVE;
		op->truthy = true; /* a count: the order does not matter */
		return true;
	}
	if (e->kind == PS_X_GETATTR) {
		if (is_var(e->object, m, &v)) {
			static const char *const stable[] = { "name", "daemon", "authkey", "foo",
							      "_popen" };
			static const char *const started[] = { "pid", "ident", "sentinel" };
			size_t i;

			op->var = v;
			if (!strcmp(e->text, "exitcode")) {
				op->k = K_EXITCODE;
				return true;
			}
			for (i = 0; i < ARRAY_SIZE(stable); i++)
				if (!strcmp(e->text, stable[i])) {
					op->k = K_STABLE;
					return true;
				}
			for (i = 0; i < ARRAY_SIZE(started); i++)
				if (!strcmp(e->text, started[i])) {
					op->k = K_STABLE_STARTED;
					return true;
				}
			return false;
		}
		if (e->object->kind == PS_X_CALL && is_global_call(e->object, "current_process") &&
		    e->object->n_items == 0 && e->object->n_kw == 0) {
			op->k = K_GLOBAL;
			return !strcmp(e->text, "name") || !strcmp(e->text, "daemon") ||
			       !strcmp(e->text, "pid") || !strcmp(e->text, "authkey");
		}
		return false;
	}
	if (e->kind != PS_X_CALL)
		return false;
	if (e->object->kind == PS_X_GETATTR && is_var(e->object->object, m, &v))
		return decode_method(e, v, op);
	/* Process.terminate(p): the method read from the class, p its self */
	if (e->object->kind == PS_X_GETATTR && e->object->object->kind == PS_X_GLOBAL &&
	    !strcmp(e->object->object->text, "Process") && e->n_items >= 1 &&
	    is_var(e->items[0], m, &v)) {
		struct ps_expr unbound = *e;

		unbound.items = e->items + 1;
		unbound.n_items = e->n_items - 1;
		return decode_method(&unbound, v, op);
	}
	if (e->object->kind != PS_X_GLOBAL)
		return false;
	if (is_global_call(e, "ready") && e->n_items == 1 && !e->n_kw &&
	    is_var(e->items[0], m, &op->var)) {
		op->k = K_READY;
		return true;
	}
	if (is_global_call(e, "release") || is_global_call(e, "stdout") ||
	    is_global_call(e, "stderr")) {
		if (e->n_items != 1 || e->n_kw || !is_var(e->items[0], m, &op->var))
			return false;
		op->k = e->object->text[0] == 'r' ? K_RELEASE :
			e->object->text[3] == 'o' ? K_STDOUT :
						    K_STDERR;
		return true;
	}
	if (e->n_items == 0 && e->n_kw == 0) {
		/* The globals called with no arguments, and what each does to the model. */
		static const struct {
			const char *name;
			enum opk k;
		} noarg[] = {
			{ "current_process", K_GLOBAL },  { "parent_process", K_GLOBAL },
			{ "get_start_method", K_GLOBAL }, { "active_children", K_ACTIVE },
			{ "warnings_seen", K_GLOBAL },    { "faults_clear", K_CLEAR },
			{ "fds_leaked", K_FDQ },          { "children_left", K_CHQ },
		};
		size_t i;

		for (i = 0; i < ARRAY_SIZE(noarg); i++)
			if (is_global_call(e, noarg[i].name)) {
				op->k = noarg[i].k;
				return true;
			}
		return false;
	}
	if (is_global_call(e, "pickles")) {
		op->k = K_GLOBAL;
		return e->n_items == 1 && e->n_kw == 0 && pickles_arg(e->items[0], m);
	}
	if (is_global_call(e, "fault")) {
		op->k = K_FAULT;
		return ps_fuzz_fault_call_ok(e);
	}
	return false;
}

bool ps_fuzz_model_check(const struct ps_scenario *sc, char *why, size_t size)
{
	struct model m;
	struct op op;
	const char *reason = "";
	size_t i;

	if (ps_fuzz_exec_is_executor(sc))
		return ps_fuzz_exec_model_check(sc, why, size);
	memset(&m, 0, sizeof(m));
	for (i = 0; i < sc->n_steps; i++) {
		if (!decode(sc->steps[i], &m, &op))
			reason = "a statement the model does not know";
		else if (model_apply(&m, &op, &reason))
			continue;
		if (why)
			snprintf(why, size, "line %d: %s", sc->steps[i]->line, reason);
		return false;
	}
	if (m.armed) {
		if (why)
			snprintf(why, size, "a fault is still armed at the end");
		return false;
	}
	return true;
}

/* --- generating -------------------------------------------------------- */

static const char *const proc_names[] = { "p", "q", "r", "s", "t" };

/* The salt of the subclass stream (the executor generator has its own). */
#define SUBCLASS_SALT 0x5abc1a55c1a55ULL
#define CALLABLE_SALT 0xca11ab1e0b1ec7ULL
#define FORMS_SALT    0xf0e5f0e5f0e5ULL

/* A short string from an alphabet that exercises repr(): quotes, escapes, non-ASCII. */
static void gen_text(struct ps_fuzz_rng *r, struct ps_buf *b, unsigned maxlen)
{
	static const char *const alpha[] = {
		"a",
		"b",
		"x",
		"Z",
		"0",
		"7",
		" ",
		"-",
		"_",
		"\n",
		"\t",
		"'",
		"\"",
		"\\",
		"\xc3\xa9",
		"\xe6\x97\xa5",
		"\xf0\x9f\x99\x82",
		"%",
		"{",
		"\r",
		"\x01",
	};
	struct ps_buf s = PS_BUF_INIT;
	unsigned n = below(r, maxlen + 1), i;

	for (i = 0; i < n; i++)
		ps_buf_adds(&s, alpha[below(r, ARRAY_SIZE(alpha))]);
	ps_pyrepr_append(b, s.data ? s.data : "", s.len, false);
	ps_buf_release(&s);
}

/* An int from every size class: small, byte edges, int32 and int64 edges, huge. */
static void gen_int(struct ps_fuzz_rng *r, struct ps_buf *b)
{
	static const char *const edges[] = {
		"0",
		"1",
		"2",
		"3",
		"127",
		"128",
		"255",
		"256",
		"257",
		"-1",
		"-2",
		"-128",
		"-255",
		"-256",
		"-257",
		"65535",
		"65536",
		"2147483647",
		"2147483648",
		"-2147483648",
		"-2147483649",
		"4294967295",
		"4294967296",
		"9223372036854775807",
		"9223372036854775808",
		"-9223372036854775808",
		"18446744073709551616",
	};
	unsigned k = below(r, 10), i, n;

	if (k < 4) {
		ps_buf_addf(b, "%u", below(r, 4));
	} else if (k < 6) {
		ps_buf_addf(b, "%u", below(r, 300));
	} else if (k < 9) {
		ps_buf_adds(b, edges[below(r, ARRAY_SIZE(edges))]);
	} else {
		n = 10 + below(r, 30);
		if (chance(r, 30))
			ps_buf_addc(b, '-');
		ps_buf_addc(b, (char)('1' + below(r, 9)));
		for (i = 1; i < n; i++)
			ps_buf_addc(b, (char)('0' + below(r, 10)));
	}
}

/* Any value sys.exit() might be given. */
static void gen_exit_value(struct ps_fuzz_rng *r, struct ps_buf *b)
{
	static const char *const floats[] = { "0.0", "1.0", "3.5", "-1.5", "1e+300", "2.5e-05" };

	switch (below(r, 12)) {
	case 0:
		ps_buf_adds(b, "None");
		break;
	case 1:
		ps_buf_adds(b, chance(r, 50) ? "True" : "False");
		break;
	case 2:
		gen_text(r, b, 6);
		break;
	case 3:
		ps_buf_adds(b, floats[below(r, ARRAY_SIZE(floats))]);
		break;
	case 4:
		ps_buf_adds(b, chance(r, 50) ? "(1, 2)" : chance(r, 50) ? "()" : "(3,)");
		break;
	case 5:
		ps_buf_adds(b, chance(r, 50) ? "[1]" : "b'x'");
		break;
	default:
		gen_int(r, b);
		break;
	}
}

static const char *const exc_names[] = {
	"ValueError", "RuntimeError", "TypeError",         "KeyError",
	"OSError",    "Exception",    "KeyboardInterrupt", "SystemError",
};

/*
 * In place of child.returns, now and then (from the forms stream rf, so
 * that the main stream draws what it did): a behaviour of CPython's own
 * tests that ends by itself (issue 16), with literal arguments.
 */
static void gen_later_behaviour(struct ps_fuzz_rng *rf, struct ps_buf *tgt, struct ps_buf *args)
{
	switch (below(rf, 10)) {
	case 9:
		ps_buf_adds(tgt, "child.ignores");
		ps_buf_adds(args, "signal.SIGINT,");
		break;
	case 7:
		ps_buf_adds(tgt, "child.handles");
		ps_buf_addf(args, "signal.SIGTERM, %u,", below(rf, 4));
		break;
	case 8:
		ps_buf_adds(tgt, "child.starts_children");
		ps_buf_addf(args, "child.%s, %u,", below(rf, 2) ? "returns" : "exits",
			    1 + below(rf, 2));
		break;
	case 6:
		ps_buf_adds(tgt, "child.breaks_stdio");
		ps_buf_addf(args, "'%s', '%s',", below(rf, 2) ? "stdout" : "stderr",
			    below(rf, 2) ? "close" : "remove");
		break;
	case 0:
		ps_buf_adds(tgt, "child.atexit_writes");
		gen_text(rf, args, 6);
		ps_buf_addc(args, ',');
		break;
	case 1:
		ps_buf_adds(tgt, "child.writes_unflushed");
		gen_text(rf, args, 6);
		ps_buf_addf(args, ", %u,", below(rf, 3));
		break;
	case 2:
		ps_buf_adds(tgt, "child.starts_thread");
		gen_text(rf, args, 6);
		ps_buf_addc(args, ',');
		break;
	case 3:
		ps_buf_adds(tgt, "child.reports_start_method");
		break;
	case 4:
		ps_buf_addf(tgt, "child.recurses");
		ps_buf_addf(args, "%u,", below(rf, 2));
		break;
	default:
		ps_buf_adds(tgt, "child.reports_native_id");
		break;
	}
}

/* "child.NAME" and its args tuple text (without parentheses) for a child
 * behaviour; rf, when not NULL, the forms stream (gen_later_behaviour). */
static void gen_behaviour(struct ps_fuzz_rng *r, struct ps_buf *tgt, struct ps_buf *args,
			  struct ps_buf *kw, bool leaf_only, struct ps_fuzz_rng *rf)
{
	static const unsigned w[] = { 3, 4, 5, 2, 2, 2, 1, 3 };
	unsigned k = weighted(r, w, leaf_only ? 7 : 8);

	switch (k) {
	case 0:
		if (rf && below(rf, 3) == 0)
			gen_later_behaviour(rf, tgt, args);
		else
			ps_buf_adds(tgt, "child.returns");
		break;
	case 1:
		ps_buf_adds(tgt, "child.blocks");
		break;
	case 2:
		ps_buf_adds(tgt, "child.exits");
		if (chance(r, 90)) {
			gen_exit_value(r, args);
			ps_buf_addc(args, ',');
		}
		break;
	case 3:
		ps_buf_adds(tgt, "child.os_exit");
		gen_int(r, args);
		ps_buf_addc(args, ',');
		break;
	case 4:
		ps_buf_adds(tgt, "child.raises");
		ps_buf_addf(args, "'%s',", exc_names[below(r, ARRAY_SIZE(exc_names))]);
		if (chance(r, 60)) {
			gen_text(r, args, 6);
			ps_buf_addc(args, ',');
		}
		break;
	case 5:
		ps_buf_adds(tgt, "child.writes");
		gen_text(r, args, 8);
		ps_buf_addc(args, ',');
		if (chance(r, 70)) {
			gen_text(r, args, 8);
			ps_buf_addc(args, ',');
		}
		break;
	case 6:
		ps_buf_adds(tgt, "child.reports");
		break;
	default: {
		struct ps_buf it = PS_BUF_INIT, ia = PS_BUF_INIT;

		ps_buf_adds(tgt, "child.starts_child");
		if (chance(r, 15)) {
			ps_buf_adds(args, "child.starts_child, (child.blocks,),");
			break;
		}
		if (chance(r, 45))
			ps_buf_adds(&it, "child.blocks");
		else
			gen_behaviour(r, &it, &ia, NULL, true, NULL);
		ps_buf_addf(args, "%s,", it.data);
		if (ia.len || chance(r, 30)) {
			ps_buf_addf(args, " (%s),", ia.data ? ia.data : "");
			if (chance(r, 40))
				ps_buf_adds(args, chance(r, 50) ? " True," :
						  chance(r, 50) ? " False," :
								  " None,");
			else if (kw && chance(r, 30))
				ps_buf_adds(kw, chance(r, 50) ? "{'daemon': True}" :
								"{'daemon': False}");
		}
		ps_buf_release(&it);
		ps_buf_release(&ia);
		break;
	}
	}
}

static void gen_daemon_value(struct ps_fuzz_rng *r, struct ps_buf *b)
{
	static const char *const v[] = { "True", "False", "None", "1", "0", "'yes'", "''" };

	ps_buf_adds(b, v[chance(r, 70) ? below(r, 2) : below(r, 7)]);
}

static void gen_create(struct ps_fuzz_rng *r, struct ps_buf *b, const char *var, bool raising,
		       const char *cls, bool overrides, struct ps_fuzz_rng *rf)
{
	struct ps_buf tgt = PS_BUF_INIT, args = PS_BUF_INIT, kw = PS_BUF_INIT;

	if (raising) {
		ps_buf_addf(b, "%s = %s(group=%s, target=child.returns)", var, cls,
			    chance(r, 50) ? "1" : "'g'");
		return;
	}
	ps_buf_addf(b, "%s = %s(", var, cls);
	if (overrides) {
		/* the class's run() is what runs: no target of its own */
		ps_buf_adds(b, "name=");
		gen_text(r, b, 6);
		if (chance(r, 30)) {
			ps_buf_adds(b, ", daemon=");
			gen_daemon_value(r, b);
		}
		ps_buf_addc(b, ')');
		return;
	} else if (chance(r, 4)) {
		ps_buf_adds(b, "target=None");
	} else {
		gen_behaviour(r, &tgt, &args, &kw, false, rf);
		ps_buf_addf(b, "target=%s", tgt.data);
		if (args.len)
			ps_buf_addf(b, chance(r, 10) ? ", args=[%s]" : ", args=(%s)", args.data);
		if (kw.len)
			ps_buf_addf(b, ", kwargs=%s", kw.data);
	}
	if (chance(r, 20)) {
		ps_buf_adds(b, ", name=");
		if (chance(r, 20))
			gen_int(r, b);
		else
			gen_text(r, b, 6);
	}
	if (chance(r, 20)) {
		ps_buf_adds(b, ", daemon=");
		gen_daemon_value(r, b);
	}
	ps_buf_addc(b, ')');
	ps_buf_release(&tgt);
	ps_buf_release(&args);
	ps_buf_release(&kw);
}

/* The scenario's one class (PROTOCOL.md, Subclasses): Plain keeps the
 * target, Worker's run() is a behaviour of its own. */
static void gen_subclass(struct ps_fuzz_rng *r, struct ps_buf *b, bool *overrides)
{
	struct ps_buf tgt = PS_BUF_INIT, args = PS_BUF_INIT, kw = PS_BUF_INIT;

	*overrides = chance(r, 60);
	if (*overrides)
		gen_behaviour(r, &tgt, &args, &kw, false, NULL);
	if (!*overrides || kw.len) {
		*overrides = false;
		ps_buf_adds(b, "Plain = subclass('Plain')");
	} else {
		ps_buf_addf(b, "Worker = subclass('Worker', run=%s", tgt.data);
		if (args.len)
			ps_buf_addf(b, ", args=(%s)", args.data);
		ps_buf_addc(b, ')');
	}
	ps_buf_release(&tgt);
	ps_buf_release(&args);
	ps_buf_release(&kw);
}

/* The scenario's one callable object (PROTOCOL.md, Subclasses): an
 * instance whose __call__ is one of call_behaviours */
static void gen_callable(struct ps_fuzz_rng *r, struct ps_buf *b)
{
	ps_buf_addf(b, "c = callable_object('Call', call=child.%s)",
		    call_behaviours[below(r, ARRAY_SIZE(call_behaviours))]);
}

/* VAR = Process(target=c, args=(...)): arguments that suit beh */
static void gen_create_calling(struct ps_fuzz_rng *r, struct ps_buf *b, const char *var,
			       const struct model *m)
{
	struct ps_buf args = PS_BUF_INIT;
	unsigned i, n;

	if (!strcmp(m->call_beh, "exits")) {
		if (chance(r, 90)) {
			gen_exit_value(r, &args);
			ps_buf_addc(&args, ',');
		}
	} else if (!strcmp(m->call_beh, "os_exit")) {
		gen_int(r, &args);
		ps_buf_addc(&args, ',');
	} else if (!strcmp(m->call_beh, "raises")) {
		ps_buf_addf(&args, "'%s',", exc_names[below(r, ARRAY_SIZE(exc_names))]);
	} else if (!strcmp(m->call_beh, "writes")) {
		gen_text(r, &args, 8);
		ps_buf_addc(&args, ',');
	} else if (!strcmp(m->call_beh, "echoes")) {
		for (i = 0, n = below(r, 4); i < n; i++) {
			if (chance(r, 50))
				gen_int(r, &args);
			else
				gen_text(r, &args, 6);
			ps_buf_addc(&args, ',');
		}
	}
	ps_buf_addf(b, "%s = Process(target=%s", var, m->call_name);
	if (args.len)
		ps_buf_addf(b, ", args=(%s)", args.data);
	if (chance(r, 20)) {
		ps_buf_adds(b, ", daemon=");
		gen_daemon_value(r, b);
	}
	ps_buf_addc(b, ')');
	ps_buf_release(&args);
}

/* A statement on process variable var, drawn with weights that suit its state. */
static void gen_on_var(struct ps_fuzz_rng *r, struct ps_fuzz_rng *rs, struct ps_fuzz_rng *rf,
		       struct ps_buf *b, const struct pvar *pv)
{
	enum {
		START,
		JOIN,
		JOIN_T,
		RELEASE,
		TERM,
		CLOSE,
		ALIVE,
		EXITCODE,
		REPR,
		OUT,
		ERR,
		ATTR,
		SET_DAEMON,
		SET_NAME,
		BADARG,
		N_KINDS
	};
	static const unsigned w_init[N_KINDS] = { 12, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 1, 1 };
	static const unsigned w_blocked[N_KINDS] = { 1, 0, 2, 8, 3, 1, 2, 2, 2, 1, 1, 2, 1, 1, 1 };
	static const unsigned w_running[N_KINDS] = { 1, 12, 1, 1, 0, 0, 0, 0, 0, 0, 0, 2, 1, 1, 1 };
	static const unsigned w_done[N_KINDS] = { 1, 1, 1, 1, 1, 3, 2, 5, 4, 3, 4, 2, 1, 1, 1 };
	static const unsigned w_other[N_KINDS] = { 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1 };
	static const char *const attrs[] = { "name",    "daemon",   "pid",      "ident",
					     "authkey", "sentinel", "exitcode", "foo" };
	/* The statements with nothing drawn but the variable they act on. */
	static const char *const fixed[N_KINDS] = {
		[START] = "%s.start()",    [RELEASE] = "release(%s)",  [CLOSE] = "%s.close()",
		[ALIVE] = "%s.is_alive()", [EXITCODE] = "%s.exitcode", [REPR] = "%s",
		[OUT] = "stdout(%s)",      [ERR] = "stderr(%s)",
	};
	const unsigned *w = pv->st == ST_INIT    ? w_init :
			    pv->st == ST_BLOCKED ? w_blocked :
			    pv->st == ST_RUNNING ? w_running :
			    pv->st == ST_DONE    ? w_done :
						   w_other;
	const char *v = pv->name;
	unsigned k = weighted(r, w, N_KINDS);

	/* a child.handles held on its gate: half the time, ready(p) first, so
	 * that a signal may follow (the model refuses one before it) */
	if (pv->handler && pv->st == ST_BLOCKED && !pv->ready && below(rf, 2) == 0) {
		ps_buf_addf(b, "ready(%s)", v);
		return;
	}
	/* one that ignores SIGINT, ready: now and then the signal it ignores */
	if (pv->ignorer && pv->st == ST_BLOCKED && pv->ready && below(rf, 3) == 0) {
		ps_buf_addf(b, "send_signal(%s, signal.SIGINT)", v);
		return;
	}

	/* the same reads as CPython's tests assert them (vocab.def, issue 16):
	 * decode() reads them as the plain ones */
	if ((k == ALIVE || k == EXITCODE) && chance(r, 25)) {
		/* the variant from the second stream, so that the main one,
		 * and every scenario that meets none of this, stays as it was;
		 * an ordering only where the exit code is an int (3: None
		 * does not order; 2.7 orders it below every int) */
		static const char *const ec[] = { "%s.exitcode != 0", "%s.exitcode < 0",
						  "%s.exitcode >= 1" };
		unsigned x = below(rs, 4);

		if (k == ALIVE && x == 1 && below(rf, 3) == 0)
			ps_buf_addf(b, "connection.wait([%s.sentinel], timeout=0) == [%s.sentinel]",
				    v, v);
		else if (k == ALIVE)
			ps_buf_addf(b, x == 0 ? "%s in active_children()" : "not %s.is_alive()", v);
		else if (x == 0 || (pv->st != ST_DONE && x > 1))
			ps_buf_addf(b, "%s.exitcode is None", v);
		else
			ps_buf_addf(b, ec[x - 1], v);
		return;
	}
	if (fixed[k]) {
		ps_buf_addf(b, fixed[k], v);
		return;
	}
	switch (k) {
	case JOIN:
		ps_buf_addf(b, chance(r, 10) ? "%s.join(None)" : "%s.join()", v);
		break;
	case JOIN_T: {
		/* A positive timeout is only drawn where the child cannot finish
		 * meanwhile (see K_JOIN_T), so its length changes nothing but the
		 * time spent waiting: a millisecond or two, not tens. */
		static const char *const t[] = { "0",     "0.0",       "-1",
						 "0.001", "timeout=0", "timeout=0.002" };

		ps_buf_addf(b, "%s.join(%s)", v, t[below(r, ARRAY_SIZE(t))]);
		break;
	}
	case TERM: {
		/* p.terminate(), or Process.terminate(p), the method read from the class;
		 * now and then, from the forms stream, the harness's send_signal()
		 * with the same signal, to a child held on its gate */
		const char *how = chance(r, 50) ? "terminate" : "kill";

		if (pv->st == ST_BLOCKED && below(rf, 4) == 0)
			ps_buf_addf(b, "send_signal(%s, signal.%s)", v,
				    how[0] == 't' ? "SIGTERM" : "SIGKILL");
		else if (chance(r, 20))
			ps_buf_addf(b, "Process.%s(%s)", how, v);
		else
			ps_buf_addf(b, "%s.%s()", v, how);
		break;
	}
	case ATTR: {
		/* now and then, from the forms stream, what CPython's tests
		 * read of a process instead (issue 16): its class's name, its
		 * class, whether it has a Popen; decode() takes them as reads
		 * that never raise */
		static const char *const forms[] = { "type(%s).__name__", "isinstance(%s, Process)",
						     "%s._popen is None",
						     "'daemon' in %s._config" };
		unsigned a = below(r, ARRAY_SIZE(attrs));

		if (below(rf, 4) == 0)
			ps_buf_addf(b, forms[below(rf, ARRAY_SIZE(forms))], v);
		else
			ps_buf_addf(b, "%s.%s", v, attrs[a]);
		break;
	}
	case SET_DAEMON:
		ps_buf_addf(b, "%s.daemon = ", v);
		gen_daemon_value(r, b);
		break;
	case SET_NAME:
		if (chance(r, 25)) {
			ps_buf_addf(b, "%s.authkey = b'k'", v);
		} else {
			ps_buf_addf(b, "%s.name = ", v);
			if (chance(r, 20))
				gen_int(r, b);
			else
				gen_text(r, b, 6);
		}
		break;
	default: {
		static const char *const m[] = { "start(1)", "is_alive(0)", "join(1, 2)",
						 "close(None)", "terminate(1)" };

		ps_buf_addf(b, "%s.%s", v, m[below(r, ARRAY_SIZE(m))]);
		break;
	}
	}
}

static void gen_global(struct ps_fuzz_rng *r, struct ps_fuzz_rng *rf, struct ps_buf *b,
		       const struct model *m, bool faults)
{
	/* what CPython's tests ask of the module and the scenario process
	 * (issue 16), now and then in place of a current_process() read,
	 * from the forms stream */
	static const char *const forms[] = {
		"get_start_method()",
		"type(current_process()).__name__",
		"isinstance(current_process(), Process)",
		"gc.collect()",
		"len(active_children())",
		"get_context('spawn').get_start_method()",
		"set_start_method('fork')", /* RuntimeError: context has already been set */
		"cpu_count() >= 1",
		"set_executable(executable())",
		"warnings_seen()",
	};
	static const char *const g[] = {
		"current_process()",        "current_process().name",
		"current_process().daemon", "current_process().pid",
		"parent_process()",         "active_children()",
		"active_children()",        "pickles(current_process().authkey)",
		"pickles(b'plain')",        "pickles(1)",
		"children_left()",          "fds_leaked()",
	};
	unsigned n = faults ? 12 : 10, k = below(r, n + 1);
	size_t i;

	if (k < 4 && below(rf, 3) == 0) {
		ps_buf_adds(b, forms[below(rf, ARRAY_SIZE(forms))]);
		return;
	}
	if (k == n) {
		for (i = 0; i < m->n; i++) {
			if (live(m->v[i].st)) {
				ps_buf_addf(b, "pickles(%s.authkey)", m->v[i].name);
				return;
			}
		}
		k = 0;
	}
	ps_buf_adds(b, g[k]);
}

void ps_fuzz_gen_lacking(struct ps_fuzz_gen_opts *o, const struct ps_driver *drv)
{
	static const char *const names[] = {
#define FEATURE(name, since, use, what, kw) name,
#include "vocab.def"
	};
	size_t i, k;

	for (i = 0; i < ARRAY_SIZE(names); i++) {
		bool listed = false;

		for (k = 0; k < o->n_lacking; k++)
			listed = listed || !strcmp(o->lacking[k], names[i]);
		/* without --faults the drivers run without the preloads, and
		 * no fault is generated anyway */
		if (!o->faults && !strcmp(names[i], "faults"))
			continue;
		if (!listed && o->n_lacking < ARRAY_SIZE(o->lacking) &&
		    !ps_driver_has(drv, names[i]))
			o->lacking[o->n_lacking++] = names[i];
	}
}

/* The first feature sc uses that a driver lacks (o->lacking), or NULL. */
static const char *lacking_feature(const struct ps_fuzz_gen_opts *o, const struct ps_scenario *sc)
{
	const char *used[PS_MAX_FEATURES];
	size_t n = o->n_lacking ? ps_scenario_features(sc, used) : 0, i, k;

	for (i = 0; i < n; i++)
		for (k = 0; k < o->n_lacking; k++)
			if (!strcmp(used[i], o->lacking[k]))
				return used[i];
	return NULL;
}

/*
 * Parse one candidate statement against the scenario so far: its op, or
 * false, also when it uses a feature a driver lacks.
 */
static bool candidate_op(const struct ps_fuzz_gen_opts *o, const char *prefix, const char *stmt,
			 struct model *m, struct op *op)
{
	struct ps_buf b = PS_BUF_INIT;
	struct ps_scenario *sc = NULL;
	bool ok;

	ps_buf_adds(&b, prefix);
	ps_buf_adds(&b, stmt);
	ps_buf_addc(&b, '\n');
	if (ps_buf_oom(&b) || ps_scenario_parse("candidate", b.data, b.len, &sc, NULL)) {
		ps_buf_release(&b);
		return false;
	}
	ok = sc->n_steps > 0 && !lacking_feature(o, sc) &&
	     decode(sc->steps[sc->n_steps - 1], m, op);
	ps_scenario_free(sc);
	ps_buf_release(&b);
	return ok;
}

char *ps_fuzz_scenario_text(const struct ps_scenario *sc, const char *comment, unsigned method,
			    const char *tags)
{
	struct ps_buf b = PS_BUF_INIT;
	const char *c = comment, *nl;
	size_t i;

	while (c && *c) {
		nl = strchr(c, '\n');
		ps_buf_adds(&b, "# ");
		ps_buf_add(&b, c, nl ? (size_t)(nl - c) : strlen(c));
		ps_buf_addc(&b, '\n');
		c = nl ? nl + 1 : c + strlen(c);
	}
	if (tags)
		ps_buf_addf(&b, "tags: %s\n", tags);
	ps_buf_addf(&b, "methods: %s\n\n", ps_method_name(method));
	for (i = 0; i < sc->n_steps; i++) {
		char *s = ps_stmt_unparse(sc->steps[i]);

		if (!s) {
			ps_buf_release(&b);
			return NULL;
		}
		ps_buf_adds(&b, s);
		ps_buf_addc(&b, '\n');
		free(s);
	}
	if (ps_buf_oom(&b)) {
		ps_buf_release(&b);
		return NULL;
	}
	return ps_buf_detach(&b);
}

int ps_fuzz_parse(const char *text, const char *id, struct ps_scenario **out, struct ps_diag *d)
{
	int r = ps_scenario_parse(id, text, strlen(text), out, d);

	if (r)
		return r;
	free((*out)->id);
	if (asprintf(&(*out)->id, "fuzz/%s", id) < 0) {
		(*out)->id = NULL;
		ps_scenario_free(*out);
		*out = NULL;
		return ps_diag(d, -ENOMEM, "out of memory");
	}
	return 0;
}

/* An opening statement, a class or a callable object the scenario then
 * uses: added to body when the model takes it */
static void gen_opening(const struct ps_fuzz_gen_opts *o, const char *head, const char *stmt,
			struct model *m, struct ps_buf *body)
{
	struct model trial = *m;
	const char *reason = NULL;
	struct op op;

	if (candidate_op(o, head, stmt, &trial, &op) && model_apply(&trial, &op, &reason)) {
		*m = trial;
		ps_buf_adds(body, stmt);
		ps_buf_addc(body, '\n');
	}
}

int ps_fuzz_generate(const struct ps_fuzz_gen_opts *o, uint64_t seed, uint64_t index, char **text,
		     unsigned *method, struct ps_diag *d)
{
	struct ps_fuzz_rng r, rs, rc, rf;
	struct model m, trial;
	struct ps_buf body = PS_BUF_INIT, head = PS_BUF_INIT, stmt = PS_BUF_INIT;
	struct ps_scenario *sc = NULL;
	unsigned methods = o->methods ? o->methods : PS_M_FORK, pick[3], n_pick = 0, bit;
	unsigned steps, n = 0, attempts, procs = 0, bad = 0;
	unsigned max_procs = o->max_procs < 1 ? 1 : o->max_procs > 5 ? 5 : o->max_procs;
	char why[256], id[64];
	struct op op;
	int ret = 0;

	if (ps_fuzz_exec_pick(o, seed, index))
		return ps_fuzz_exec_generate(o, seed, index, text, method, d);
	*text = NULL;
	ps_fuzz_rng_seed(&r, seed, index);
	for (bit = PS_M_FORK; bit <= PS_M_FORKSERVER; bit <<= 1)
		if (methods & bit)
			pick[n_pick++] = bit;
	*method = pick[below(&r, n_pick)];
	steps = 1 + below(&r, o->max_steps ? o->max_steps : 1);
	memset(&m, 0, sizeof(m));
	ps_buf_addf(&head, "methods: %s\n\n", ps_method_name(*method));
	/* One scenario in eight makes a Process subclass first and creates
	 * some of its processes from it, drawing from a stream of its own, so
	 * that the other scenarios of a seed stay what they were. */
	ps_fuzz_rng_seed(&rs, seed ^ SUBCLASS_SALT, index);
	if (below(&rs, 8) == 0) {
		bool overrides;

		gen_subclass(&rs, &stmt, &overrides);
		if (!ps_buf_oom(&stmt))
			gen_opening(o, head.data, stmt.data, &m, &body);
	}
	/* One in eight makes a callable object, and some processes take it
	 * as their target, from a third stream of its own */
	ps_fuzz_rng_seed(&rc, seed ^ CALLABLE_SALT, index);
	ps_fuzz_rng_seed(&rf, seed ^ FORMS_SALT, index);
	if (below(&rc, 8) == 0) {
		ps_buf_release(&stmt);
		gen_callable(&rc, &stmt);
		if (!ps_buf_oom(&stmt))
			gen_opening(o, head.data, stmt.data, &m, &body);
	}
	for (attempts = 0; n < steps && attempts < steps * 20; attempts++) {
		bool must_clear = m.armed && m.fault_used;
		unsigned k = below(&r, 100);

		ps_buf_release(&stmt);
		if (must_clear) {
			ps_buf_adds(&stmt, "faults_clear()");
		} else if (m.armed) {
			size_t i = below(&r, (unsigned)m.n ? (unsigned)m.n : 1);

			if (m.n && live(m.v[i].st))
				gen_on_var(&r, &rs, &rf, &stmt, &m.v[i]);
			else
				ps_buf_adds(&stmt, "faults_clear()");
		} else if (procs == 0 || (procs < max_procs && k < 15)) {
			char tmp[16];
			bool raising = chance(&r, 4);
			size_t other;

			if (raising)
				snprintf(tmp, sizeof(tmp), "bad%u", bad + 1);
			else
				snprintf(tmp, sizeof(tmp), "%s", proc_names[procs]);
			other = m.n ? below(&rf, (unsigned)m.n) : 0;
			if (!raising && m.n > 0 && below(&rf, 10) == 0 && live(m.v[other].st) &&
			    m.v[other].st != ST_POISON)
				/* a Process object as an argument (forms stream) */
				ps_buf_addf(
					&stmt,
					"%s = Process(target=child.calls, args=(%s, 'is_alive', "
					"'join'))",
					tmp, m.v[other].name);
			else if (m.sub_name[0] && !raising && chance(&rs, 60))
				gen_create(&rs, &stmt, tmp, false, m.sub_name, m.sub_overrides,
					   NULL);
			else if (m.call_name[0] && !raising && chance(&rc, 50))
				gen_create_calling(&rc, &stmt, tmp, &m);
			else
				gen_create(&r, &stmt, tmp, raising, "Process", false, &rf);
		} else if (o->faults && k < 25) {
			ps_fuzz_fault_gen(&r, &stmt);
		} else if (k < 32) {
			gen_global(&r, &rf, &stmt, &m, o->faults);
		} else {
			size_t i, live_n = 0, pickn;

			for (i = 0; i < m.n; i++)
				live_n += live(m.v[i].st);
			if (!live_n)
				continue;
			pickn = below(&r, (unsigned)live_n);
			for (i = 0; i < m.n; i++)
				if (live(m.v[i].st) && pickn-- == 0)
					break;
			gen_on_var(&r, &rs, &rf, &stmt, &m.v[i]);
		}
		if (ps_buf_oom(&stmt) || ps_buf_oom(&body))
			goto nomem;
		trial = m;
		{
			struct ps_buf prefix = PS_BUF_INIT;
			const char *reason = NULL;
			size_t i;
			bool ok;

			/* The parser needs only the names bound so far, not the
			 * statements that bound them: parsing the whole prefix for
			 * every candidate made generation quadratic. */
			ps_buf_adds(&prefix, head.data);
			if (m.sub_name[0])
				ps_buf_addf(&prefix, "%s = None\n", m.sub_name);
			if (m.call_name[0])
				ps_buf_addf(&prefix, "%s = None\n", m.call_name);
			for (i = 0; i < m.n; i++)
				ps_buf_addf(&prefix, "%s = None\n", m.v[i].name);
			ok = !ps_buf_oom(&prefix) &&
			     candidate_op(o, prefix.data, stmt.data, &trial, &op) &&
			     model_apply(&trial, &op, &reason);
			ps_buf_release(&prefix);
			if (!ok)
				continue;
		}
		if (op.k == K_CREATE)
			*(op.raises ? &bad : &procs) += 1;
		m = trial;
		ps_buf_adds(&body, stmt.data);
		ps_buf_addc(&body, '\n');
		n++;
	}
	if (m.armed)
		ps_buf_adds(&body, "faults_clear()\n");
	ps_buf_adds(&head, body.data ? body.data : "");
	if (ps_buf_oom(&head))
		goto nomem;
	snprintf(id, sizeof(id), "%llu-%llu", (unsigned long long)seed, (unsigned long long)index);
	ret = ps_fuzz_parse(head.data, id, &sc, d);
	if (ret)
		goto out;
	if (lacking_feature(o, sc)) {
		ret = ps_diag(d, PS_EPARSE,
			      "generator bug: scenario %s uses %s, which a driver lacks\n%s", id,
			      lacking_feature(o, sc), head.data);
		goto out;
	}
	if (!ps_fuzz_model_check(sc, why, sizeof(why))) {
		ret = ps_diag(d, PS_EPARSE,
			      "generator bug: scenario %s refused by its own model: %s\n%s", id,
			      why, head.data);
		goto out;
	}
	{
		char comment[128];

		snprintf(comment, sizeof(comment), "procspec fuzz: seed %llu index %llu",
			 (unsigned long long)seed, (unsigned long long)index);
		*text = ps_fuzz_scenario_text(sc, comment, *method, NULL);
	}
	if (!*text)
		goto nomem;
	goto out;
nomem:
	ret = ps_diag(d, -ENOMEM, "out of memory");
out:
	ps_scenario_free(sc);
	ps_buf_release(&body);
	ps_buf_release(&head);
	ps_buf_release(&stmt);
	return ret;
}

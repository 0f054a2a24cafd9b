#include "fuzz_gen_executor.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ast.h"
#include "buf.h"
#include "driver.h"
#include "fuzz_fault.h"
#include "util.h"

/*
 * One executor scenario in four, under --kind all.  The kind of an index is
 * drawn from a stream of its own, so that a Process scenario is the same
 * text at the same index whatever the kind.
 */
#define EXECUTOR_PERCENT 25
#define KIND_SALT        0x6578656375746f72ull /* "executor" */

/* --- drawing ------------------------------------------------------------ */

static unsigned below(struct ps_fuzz_rng *r, unsigned n)
{
	return (unsigned)(ps_fuzz_rng_next(r) % n);
}

static bool chance(struct ps_fuzz_rng *r, unsigned percent)
{
	return below(r, 100) < percent;
}

static const char *pick(struct ps_fuzz_rng *r, const char *const *v, size_t n)
{
	return v[below(r, (unsigned)n)];
}

#define PICK(r, v) pick((r), (v), ARRAY_SIZE(v))

bool ps_fuzz_exec_pick(const struct ps_fuzz_gen_opts *o, uint64_t seed, uint64_t index)
{
	struct ps_fuzz_rng r;

	if (o->ex_missing & PS_FUZZ_EX_EXECUTOR)
		return false;
	if (o->kind == PS_FUZZ_KIND_EXECUTOR)
		return true;
	if (o->kind != PS_FUZZ_KIND_ALL)
		return false;
	ps_fuzz_rng_seed(&r, seed ^ KIND_SALT, index);
	return chance(&r, EXECUTOR_PERCENT);
}

unsigned ps_fuzz_exec_missing(const struct ps_driver *drv)
{
	static const struct {
		const char *feature;
		unsigned bit;
	} f[] = {
		{ "ProcessPoolExecutor", PS_FUZZ_EX_EXECUTOR },
		{ "Executor.cancel_futures", PS_FUZZ_EX_CANCEL_FUTURES },
		{ "Executor.max_tasks_per_child", PS_FUZZ_EX_MTPC },
		{ "Executor.initializer", PS_FUZZ_EX_INITIALIZER },
		{ "Executor.mp_context", PS_FUZZ_EX_MP_CONTEXT },
	};
	unsigned missing = 0;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(f); i++)
		if (!ps_driver_has(drv, f[i].feature))
			missing |= f[i].bit;
	return missing;
}

/* --- the model ------------------------------------------------------------ */

#define MAX_FUT   48
#define MAX_GATE  16
#define MAX_ITER  8
#define MAX_NAMES 64

enum task {
	T_NONE, /* not a task the model knows */
	T_RET,
	T_RAISE,
	T_EXIT,
	T_WRITES,
	T_PID,
	T_BLOCKS,
	T_BREAK,      /* takes its worker down or makes the result unreadable: the pool breaks */
	T_UNPICK_RES, /* its result fails to pickle: the future fails, the pool lives */
	T_UNPICK_ARG, /* an argument fails to pickle in the feeder thread: likewise */
};

enum fst {
	F_OPEN,        /* not known to have finished */
	F_DONE,        /* its result() or exception() came back */
	F_CANCELLED,   /* cancel() returned True */
	F_CANCEL_SOON, /* certainly pending when shutdown(cancel_futures=True) was called */
	F_TAINTED,     /* may or may not have been cancelled by cancel_futures: never read */
};

struct fut {
	enum task task;
	int gate; /* T_BLOCKS: its gate */
	enum fst st;
	bool settled_only; /* after settles(): read only with timeout=0 */
	bool killed;       /* its worker was killed while it ran */
	bool ran;          /* known to have run in a worker */
};

struct gate {
	int fut; /* the one future whose task holds it, -1 */
	bool released, seen;
};

struct iter {
	size_t first, n, next;
	bool finished;
};

enum vkind { V_EX, V_POISON, V_GATE, V_FUT, V_WORKER, V_ITER };

struct var {
	char name[16];
	enum vkind k;
	int idx; /* the future, gate or iterator; for a worker, its future or -1 */
};

enum exst { EX_NONE, EX_OPEN, EX_NOWAIT, EX_SHUT, EX_SETTLED };
enum init { I_NONE, I_QUIET, I_WRITES, I_RAISES };

struct model {
	struct var v[MAX_NAMES];
	size_t nv;
	struct fut f[MAX_FUT];
	size_t nf;
	struct gate g[MAX_GATE];
	size_t ng;
	struct iter it[MAX_ITER];
	size_t nit;
	enum exst ex;
	unsigned n, mtpc;
	enum init init;
	bool used;         /* a call on ex may have started workers */
	bool any_cancel;   /* a cancel() came out True: no breaking after it (gh-107219) */
	bool broken_known; /* a future showed BrokenProcessPool */
	int break_at;      /* the future whose run breaks the pool, -1 */
	bool armed, fault_used;
};

static void model_init(struct model *m)
{
	memset(m, 0, sizeof(*m));
	m->break_at = -1;
}

static struct var *find(struct model *m, const char *name)
{
	size_t i;

	for (i = 0; i < m->nv; i++)
		if (!strcmp(m->v[i].name, name))
			return &m->v[i];
	return NULL;
}

static bool bind(struct model *m, const char *name, enum vkind k, int idx)
{
	if (find(m, name) || m->nv >= MAX_NAMES || strlen(name) >= sizeof(m->v[0].name))
		return false;
	snprintf(m->v[m->nv].name, sizeof(m->v[0].name), "%s", name);
	m->v[m->nv].k = k;
	m->v[m->nv].idx = idx;
	m->nv++;
	return true;
}

static bool cancelled(const struct fut *f)
{
	return f->st == F_CANCELLED || f->st == F_CANCEL_SOON;
}

/* Future i will hold a worker until a release() that has not happened. */
static bool will_block(const struct model *m, size_t i)
{
	const struct fut *f = &m->f[i];

	if (f->task != T_BLOCKS || f->killed || f->st == F_DONE || cancelled(f))
		return false;
	if (m->g[f->gate].released)
		return false;
	return m->break_at < 0 || (int)i < m->break_at; /* after the break it never runs */
}

/* Future i runs in a worker, held on its gate: started(g) saw it, no release yet. */
static bool blocked(const struct model *m, size_t i)
{
	const struct fut *f = &m->f[i];

	return f->task == T_BLOCKS && !f->killed && f->st == F_OPEN && m->g[f->gate].seen &&
	       !m->g[f->gate].released;
}

/*
 * Whether future i finishes without another release().  A worker is
 * counted on only once: with max_workers=2, whether a second worker exists
 * depends on when earlier tasks finished (the idle-worker semaphore of 3.9+
 * counts finished tasks, not idle workers), so any future held on a gate
 * before i may keep it waiting.
 */
static bool completable(const struct model *m, size_t i)
{
	size_t j, limit = i;

	if (m->broken_known || m->ex == EX_SHUT)
		return true;
	if (will_block(m, i))
		return false;
	if (m->break_at >= 0 && (int)i > m->break_at)
		limit = (size_t)m->break_at; /* it fails once the break is reached */
	for (j = 0; j < limit; j++)
		if (will_block(m, j))
			return false;
	return true;
}

/*
 * Future i is certainly still pending: all N workers are held on gates, and
 * at least N+1 uncancelled futures were submitted after the last of them
 * and before i (the call queue holds max_workers + 1 items; SCENARIOS.md).
 * One whose arguments do not pickle does not count: the queue's feeder
 * thread fails it and frees its place, and the manager then moves the next
 * pending future in, at a time of its own (_on_queue_feeder_error wakes it;
 * found by fuzz, seed 20261204 index 79: cancel() True on CPython, False
 * on libprocref).
 */
static bool sure_pending(const struct model *m, size_t i)
{
	size_t j, nb = 0, maxb = 0, after = 0;

	if (m->f[i].st != F_OPEN || m->break_at >= 0 || m->broken_known)
		return false;
	if (m->ex != EX_OPEN && m->ex != EX_NOWAIT)
		return false;
	for (j = 0; j < m->nf; j++)
		if (blocked(m, j)) {
			nb++;
			maxb = j;
		}
	if (nb != m->n || i <= maxb)
		return false;
	for (j = maxb + 1; j < i; j++) {
		if (m->f[j].st == F_TAINTED)
			return false;
		after += !cancelled(&m->f[j]) && m->f[j].task != T_UNPICK_ARG;
	}
	return after >= m->n + 1;
}

/* Future i's result came back: with one worker, every future before it finished first. */
static void finish(struct model *m, size_t i)
{
	size_t j;

	m->f[i].st = F_DONE;
	if (m->break_at >= 0 && (int)i >= m->break_at)
		m->broken_known = true;
	else if (m->f[i].task != T_UNPICK_ARG)
		m->f[i].ran = true;
	/* a future whose arguments do not pickle is failed by the call
	 * queue's feeder as it comes to it, whatever the worker is doing:
	 * the ones before it may still run (found by fuzz, seed 20261206
	 * index 1605: f0.exception(timeout=0) raised TimeoutError or not) */
	if (m->n != 1 || m->f[i].task == T_UNPICK_ARG)
		return;
	for (j = 0; j < i; j++) {
		if (m->f[j].st != F_OPEN || m->f[j].settled_only)
			continue;
		m->f[j].st = F_DONE;
		if ((m->break_at < 0 || (int)j < m->break_at) && m->f[j].task != T_UNPICK_ARG)
			m->f[j].ran = true;
	}
}

#define REFUSE(msg)           \
	do {                  \
		*why = msg;   \
		return false; \
	} while (0)

static bool read_future(struct model *m, size_t i, bool t0, const char **why)
{
	struct fut *f = &m->f[i];
	size_t j;

	if (f->st == F_DONE || f->st == F_CANCELLED)
		return true;
	if (f->st == F_TAINTED)
		REFUSE("a future cancel_futures may or may not have cancelled");
	if (f->st == F_CANCEL_SOON) {
		if (t0)
			REFUSE("timeout=0 on a future the manager is cancelling");
		for (j = 0; j < m->nf; j++)
			if (m->f[j].st == F_CANCEL_SOON)
				m->f[j].st = F_CANCELLED; /* cancelled together, in one loop */
		return true;
	}
	if (t0) {
		if (f->settled_only || blocked(m, i) || sure_pending(m, i))
			return true;
		REFUSE("timeout=0 on a future that may be finishing");
	}
	if (f->settled_only)
		REFUSE("a future after settles() is read with timeout=0 only");
	if (m->ex == EX_NOWAIT)
		REFUSE("a future after shutdown(wait=False) is read after settles() only");
	if (!completable(m, i))
		REFUSE("result() of a future that cannot finish");
	finish(m, i);
	return true;
}

/* --- reading expressions ---------------------------------------------------- */

static const char *const exc_names[] = {
	"ValueError", "RuntimeError", "TypeError",         "KeyError",
	"OSError",    "Exception",    "KeyboardInterrupt", "SystemError",
};

static bool is_global(const struct ps_expr *e, const char *name)
{
	return e && e->kind == PS_X_GLOBAL && !strcmp(e->text, name);
}

static bool is_gcall(const struct ps_expr *e, const char *name)
{
	return e && e->kind == PS_X_CALL && is_global(e->object, name);
}

static bool literal(const struct ps_expr *e)
{
	size_t i;

	switch (e->kind) {
	case PS_X_NONE:
	case PS_X_BOOL:
	case PS_X_INT:
	case PS_X_FLOAT:
	case PS_X_STR:
	case PS_X_BYTES:
		return true;
	case PS_X_TUPLE:
	case PS_X_LIST:
	case PS_X_DICT:
		for (i = 0; i < e->n_items; i++)
			if (!literal(e->items[i]))
				return false;
		return true;
	default:
		return false;
	}
}

static bool is_str(const struct ps_expr *e)
{
	return e->kind == PS_X_STR;
}

static bool is_exc_name(const struct ps_expr *e)
{
	size_t i;

	if (!is_str(e))
		return false;
	for (i = 0; i < ARRAY_SIZE(exc_names); i++)
		if (!strcmp(e->text, exc_names[i]))
			return true;
	return false;
}

static bool is_signal(const struct ps_expr *e)
{
	return e->kind == PS_X_GETATTR && is_global(e->object, "signal") &&
	       (!strcmp(e->text, "SIGKILL") || !strcmp(e->text, "SIGTERM"));
}

static bool is_unpicklable(const struct ps_expr *e)
{
	return is_gcall(e, "unpicklable") && !e->n_items && !e->n_kw;
}

/* A variable of kind k: its model entry, or NULL. */
static struct var *var_of(struct model *m, const struct ps_expr *e, enum vkind k)
{
	struct var *v;

	if (!e || e->kind != PS_X_VAR)
		return NULL;
	v = find(m, e->text);
	return v && v->k == k ? v : NULL;
}

/* e is a call of method name on a variable of kind k: the variable. */
static struct var *method_of(struct model *m, const struct ps_expr *e, enum vkind k,
			     const char *name)
{
	if (!e || e->kind != PS_X_CALL || e->object->kind != PS_X_GETATTR ||
	    strcmp(e->object->text, name))
		return NULL;
	return var_of(m, e->object->object, k);
}

static const struct ps_expr *kwarg(const struct ps_expr *call, const char *name)
{
	size_t i;

	for (i = 0; i < call->n_kw; i++)
		if (!strcmp(call->kw[i].name, name))
			return call->kw[i].value;
	return NULL;
}

static bool only_kw(const struct ps_expr *call, const char *const *names, size_t n)
{
	size_t i, k;

	for (i = 0; i < call->n_kw; i++) {
		for (k = 0; k < n && strcmp(call->kw[i].name, names[k]); k++)
			;
		if (k == n)
			return false;
	}
	return true;
}

/*
 * The task a submit of fn(args, kw) runs (args from index first of call's
 * items).  *gate: the gate of task.blocks.
 */
static enum task decode_task(struct model *m, const struct ps_expr *call, size_t first, int *gate)
{
	const struct ps_expr *fn = call->n_items > first ? call->items[first] : NULL;
	struct ps_expr *const *a = call->items + first + 1;
	size_t na = call->n_items > first ? call->n_items - first - 1 : 0, i;
	const char *t;
	struct var *g;
	bool unpick = false;

	*gate = -1;
	if (!fn || fn->kind != PS_X_TASK)
		return T_NONE;
	t = fn->text;
	for (i = 0; i < na; i++)
		unpick = unpick || is_unpicklable(a[i]);
	for (i = 0; i < call->n_kw; i++)
		unpick = unpick || is_unpicklable(call->kw[i].value);
	if (unpick) {
		/* pickling fails before the task runs: its other arguments do not matter */
		for (i = 0; i < na; i++)
			if (!is_unpicklable(a[i]) && !literal(a[i]))
				return T_NONE;
		for (i = 0; i < call->n_kw; i++)
			if (!is_unpicklable(call->kw[i].value) && !literal(call->kw[i].value))
				return T_NONE;
		return T_UNPICK_ARG;
	}
	if (call->n_kw && (strcmp(t, "returns") || call->n_kw > 1 || strcmp(call->kw[0].name, "v")))
		return T_NONE;
	if (!strcmp(t, "returns"))
		return na + call->n_kw <= 1 && (na == 0 || literal(a[0])) &&
				       (!call->n_kw || literal(call->kw[0].value)) ?
			       T_RET :
			       T_NONE;
	if (!strcmp(t, "raises"))
		return na >= 1 && na <= 2 && is_exc_name(a[0]) && (na < 2 || is_str(a[1])) ?
			       T_RAISE :
			       T_NONE;
	if (!strcmp(t, "exits"))
		return na <= 1 && (na == 0 || literal(a[0])) ? T_EXIT : T_NONE;
	if (!strcmp(t, "os_exit"))
		return na == 1 && a[0]->kind == PS_X_INT && a[0]->len <= 4 ? T_BREAK : T_NONE;
	if (!strcmp(t, "kills_self"))
		return na == 1 && is_signal(a[0]) ? T_BREAK : T_NONE;
	if (!strcmp(t, "raises_unpicklable"))
		return na == 0 ? T_BREAK : T_NONE;
	if (!strcmp(t, "returns_unpicklable"))
		return na == 0 ? T_UNPICK_RES : T_NONE;
	if (!strcmp(t, "pid"))
		return na == 0 ? T_PID : T_NONE;
	if (!strcmp(t, "writes")) {
		for (i = 0; i < na; i++)
			if (!is_str(a[i]))
				return T_NONE;
		return na <= 2 ? T_WRITES : T_NONE;
	}
	if (!strcmp(t, "blocks")) {
		if (na < 1 || na > 2 || !(g = var_of(m, a[0], V_GATE)) ||
		    (na == 2 && !literal(a[1])))
			return T_NONE;
		*gate = g->idx;
		return T_BLOCKS;
	}
	return T_NONE;
}

/* A new future of task t (gate g) on ex, named or not (-1: the model is full). */
static int add_future(struct model *m, enum task t, int g)
{
	if (m->nf >= MAX_FUT)
		return -1;
	memset(&m->f[m->nf], 0, sizeof(m->f[0]));
	m->f[m->nf].task = t;
	m->f[m->nf].gate = g;
	if (g >= 0)
		m->g[g].fut = (int)m->nf;
	return (int)m->nf++;
}

/*
 * Whether a submit on ex raises at the call (shut down or broken), and with
 * a message that is fixed: not while a break may or may not have been seen
 * by the manager (BrokenProcessPool, or the RuntimeError of a shutdown).
 */
static bool submit_raises(const struct model *m)
{
	if (m->break_at >= 0 && !m->broken_known)
		return false;
	return m->ex == EX_NOWAIT || m->ex == EX_SHUT || m->ex == EX_SETTLED || m->broken_known;
}

/*
 * With max_tasks_per_child, a worker that exits is replaced only if the
 * idle-worker semaphore is 0 when the manager looks, and that semaphore
 * counts finished tasks less the submits that took one (3.11
 * _adjust_process_count; gh-115634): a task submitted while another is
 * still out may find no worker at all, and wait for ever.  So a submit
 * there waits until every earlier future is known to be finished, as
 * mtpc-one.scn and mtpc-two.scn do.
 */
static bool turnover_safe(const struct model *m)
{
	size_t j;

	if (!m->mtpc)
		return true;
	for (j = 0; j < m->nf; j++)
		if (m->f[j].st != F_DONE && m->f[j].st != F_CANCELLED)
			return false;
	return true;
}

/* A submit on ex of task t that returns a future: the future, or -1 with why. */
static int submit(struct model *m, enum task t, int g, const char **why)
{
	int i;

	if (t == T_NONE) {
		*why = "a task the model does not know";
		return -1;
	}
	if (m->ex != EX_OPEN || m->broken_known) {
		*why = "a submit that raises, bound to a name";
		return -1;
	}
	if (m->break_at >= 0) {
		*why = "a submit while the pool may be breaking";
		return -1;
	}
	if (g >= 0 && m->g[g].fut >= 0) {
		*why = "a gate held by two tasks";
		return -1;
	}
	if (!turnover_safe(m)) {
		*why = "a submit with max_tasks_per_child while a task is out (gh-115634)";
		return -1;
	}
	if ((t == T_BREAK || t == T_PID) && m->n != 1) {
		*why = "a worker's identity or death with more than one worker";
		return -1;
	}
	if (t == T_BREAK && m->mtpc) {
		*why = "a worker's death among replaced ones";
		return -1;
	}
	if (t == T_BREAK && m->any_cancel) {
		*why = "a broken pool after a cancel() (gh-107219)";
		return -1;
	}
	if (t == T_UNPICK_ARG && m->init == I_RAISES && !m->used) {
		/* the feeder fails it, or the manager breaks the pool first
		 * (found by fuzz, seed 15 index 3): a race */
		*why = "an unpicklable first task on a pool whose initializer raises";
		return -1;
	}
	i = add_future(m, t, g);
	if (i < 0) {
		*why = "too many futures";
		return -1;
	}
	if (t == T_BREAK || (m->init == I_RAISES && !m->used))
		m->break_at = i;
	m->used = true;
	return i;
}

/*
 * ex.map(fn, iterables..., chunksize=K): the task each future runs and how
 * many futures (chunks); *raises_now when the call itself raises
 * (chunksize < 1).  False when the model does not know the call.
 */
static bool decode_map(const struct model *m, const struct ps_expr *call, bool allow_chunk,
		       enum task *t, size_t *nfut, bool *raises_now)
{
	static const char *const kws[] = { "chunksize" };
	const struct ps_expr *fn = call->n_items ? call->items[0] : NULL,
			     *cs = kwarg(call, "chunksize");
	size_t i, k, items = (size_t)-1, chunk = 1, nit = call->n_items ? call->n_items - 1 : 0;

	(void)m;
	*raises_now = false;
	if (!fn || fn->kind != PS_X_TASK || nit < 1 || nit > 2 || !only_kw(call, kws, 1))
		return false;
	if (cs) {
		if (!allow_chunk || cs->kind != PS_X_INT || cs->len > 2)
			return false;
		if (cs->text[0] == '-' || !strcmp(cs->text, "0")) {
			*raises_now = true;
			*t = T_NONE;
			*nfut = 0;
			return true;
		}
		chunk = (size_t)atoi(cs->text);
	}
	for (i = 1; i < call->n_items; i++) {
		const struct ps_expr *it = call->items[i];

		if (it->kind != PS_X_LIST && it->kind != PS_X_TUPLE)
			return false;
		for (k = 0; k < it->n_items; k++) {
			if (!literal(it->items[k]))
				return false;
			if (!strcmp(fn->text, "writes") && !is_str(it->items[k]))
				return false;
			if (!strcmp(fn->text, "raises") &&
			    !(i == 1 ? is_exc_name(it->items[k]) : is_str(it->items[k])))
				return false;
		}
		if (it->n_items < items)
			items = it->n_items;
	}
	if (!strcmp(fn->text, "returns"))
		*t = nit == 1 ? T_RET : T_RAISE; /* returns(a, b): TypeError */
	else if (!strcmp(fn->text, "raises"))
		*t = T_RAISE;
	else if (!strcmp(fn->text, "writes"))
		*t = T_WRITES;
	else
		return false;
	*nfut = (items + chunk - 1) / chunk;
	return true;
}

/* The futures of a map call: -1 with why, else the index of the first. */
static long map_futures(struct model *m, enum task t, size_t n, const char **why)
{
	size_t k;
	long first = (long)m->nf;

	if (m->ex != EX_OPEN || m->break_at >= 0) {
		*why = "a map that may raise, or on a pool that may be breaking";
		return -1;
	}
	if (m->nf + n > MAX_FUT) {
		*why = "too many futures";
		return -1;
	}
	if (!turnover_safe(m) || (m->mtpc && n > 1)) {
		*why = "a map with max_tasks_per_child while a task is out (gh-115634)";
		return -1;
	}
	/* which of its submits sees the pool broken is a race: list() raises the
	 * manager's "terminated abruptly while the future was running or
	 * pending" or a later submit's "not usable anymore" (found by fuzz, seed
	 * 20261212 indices 353 and 2186, ref@3.7 and ref@3.8) */
	if (n > 1 && m->init == I_RAISES && !m->used) {
		*why = "a map of several items on a pool whose initializer raises";
		return -1;
	}
	for (k = 0; k < n; k++)
		add_future(m, t, -1);
	/* the first work starts the worker, whose raising initializer breaks
	 * the pool, as a submit's does (found by fuzz, seed 20261205 index
	 * 3367: a later submit raised or was failed by the manager, a race) */
	if (n && m->init == I_RAISES && !m->used)
		m->break_at = (int)first;
	if (n)
		m->used = true;
	return first;
}

/* Every future that may still run has run: shutdown(wait=True) returned. */
static void all_finished(struct model *m)
{
	size_t j;

	for (j = 0; j < m->nf; j++) {
		if (m->f[j].st != F_OPEN || m->f[j].settled_only)
			continue;
		m->f[j].st = F_DONE;
		if ((m->break_at < 0 || (int)j < m->break_at) && m->f[j].task != T_UNPICK_ARG)
			m->f[j].ran = true;
	}
	if (m->break_at >= 0)
		m->broken_known = true;
}

/* Nothing will hang a shutdown(wait=True): every future may finish. */
static bool drains(const struct model *m)
{
	size_t j;

	for (j = 0; j < m->nf; j++)
		if (will_block(m, j) || m->f[j].st == F_CANCEL_SOON)
			return false;
	return true;
}

static bool do_shutdown(struct model *m, bool wait, bool cancel, const char **why)
{
	size_t j;

	if (m->ex == EX_SHUT || m->ex == EX_SETTLED)
		return true; /* nothing left to do */
	if (m->ex == EX_NOWAIT) {
		/* shutdown(wait=False) forgot the manager thread: this waits for nothing */
		if (cancel)
			REFUSE("cancel_futures while a forgotten manager may still be cancelling");
		return true;
	}
	if (cancel && m->break_at >= 0 && !m->broken_known)
		REFUSE("cancel_futures on a pool that may be breaking (gh-107219)");
	/* whether the manager handles a break before shutdown(wait=False)
	 * drops it is a race (3.7/3.8 also close the wakeup under it,
	 * bpo-39098: the generator draws no shutdown(wait=False) there) */
	if (!wait && m->break_at >= 0 && !m->broken_known)
		REFUSE("shutdown(wait=False) on a pool that may be breaking (bpo-39098)");
	if (wait) {
		if (!drains(m))
			REFUSE("shutdown(wait=True) with a task that cannot finish");
		if (cancel)
			for (j = 0; j < m->nf; j++)
				if (m->f[j].st == F_OPEN && !m->f[j].settled_only)
					m->f[j].st = F_TAINTED; /* cancelled, or run before it */
		all_finished(m);
		m->ex = EX_SHUT;
		return true;
	}
	if (m->mtpc)
		REFUSE("shutdown(wait=False) with max_tasks_per_child (gh-132969)");
	if (cancel) {
		bool soon[MAX_FUT];

		for (j = 0; j < m->nf; j++)
			soon[j] = sure_pending(m, j);
		for (j = 0; j < m->nf; j++) {
			if (m->f[j].st != F_OPEN || blocked(m, j))
				continue;
			m->f[j].st = soon[j] ? F_CANCEL_SOON : F_TAINTED;
		}
	}
	m->ex = EX_NOWAIT;
	return true;
}

/* What a worker wrote is complete and in a fixed order. */
static bool output_complete(const struct model *m)
{
	bool ran = false;
	size_t j;

	if (m->n != 1 || m->mtpc)
		return false; /* two workers interleave; a replacement's output is not captured */
	for (j = 0; j < m->nf; j++) {
		const struct fut *f = &m->f[j];

		ran = ran || f->ran;
		if (f->task != T_WRITES)
			continue;
		if (f->st == F_TAINTED || f->settled_only)
			return false;
		if (f->st == F_OPEN && m->ex != EX_SHUT)
			return false;
	}
	if (m->ex == EX_SHUT || m->ex == EX_NONE || !m->used)
		return true;
	if (m->init == I_WRITES && !ran)
		return false; /* the initializer may not have run yet */
	if (m->init == I_RAISES && !m->broken_known)
		return false; /* its traceback is written as the worker dies */
	return true;
}

/*
 * ProcessPoolExecutor(...)'s keywords: what the model knows.  For the
 * executor bound to ex (*n, *mtpc, *init filled), max_workers must be 1 or
 * 2 and nothing may raise; an unbound one may be anything the parser takes.
 */
static bool decode_ctor(const struct ps_expr *call, bool bound, unsigned *n, unsigned *mtpc,
			enum init *init)
{
	static const char *const kws[] = { "max_workers", "mp_context", "initializer", "initargs",
					   "max_tasks_per_child" };
	const struct ps_expr *mw = kwarg(call, "max_workers"), *ctx = kwarg(call, "mp_context");
	const struct ps_expr *in = kwarg(call, "initializer"), *ia = kwarg(call, "initargs");
	const struct ps_expr *mt = kwarg(call, "max_tasks_per_child");
	size_t i;

	if (call->n_items || !only_kw(call, kws, ARRAY_SIZE(kws)))
		return false;
	if (ctx && !literal(ctx) &&
	    !(is_gcall(ctx, "get_context") && ctx->n_items == 1 && !ctx->n_kw &&
	      is_str(ctx->items[0])))
		return false;
	if (in && !literal(in) && in->kind != PS_X_TASK)
		return false;
	if ((ia && !literal(ia)) || (mw && !literal(mw)) || (mt && !literal(mt)))
		return false;
	if (!bound)
		return true;
	if (!mw || mw->kind != PS_X_INT || (strcmp(mw->text, "1") && strcmp(mw->text, "2")))
		return false;
	*n = (unsigned)atoi(mw->text);
	*mtpc = 0;
	if (mt) {
		if (mt->kind != PS_X_INT || mt->len != 1 || mt->text[0] < '1' || mt->text[0] > '3')
			return false;
		*mtpc = (unsigned)(mt->text[0] - '0');
	}
	if (ctx) {
		const char *c = ctx->kind == PS_X_CALL ? ctx->items[0]->text : "";

		if (strcmp(c, "fork") && strcmp(c, "spawn") && strcmp(c, "forkserver"))
			return false;
		if (*mtpc && !strcmp(c, "fork"))
			return false; /* ValueError: a bound name that is not bound */
	}
	if (*mtpc && *n != 1)
		return false; /* which worker a task lands on, and when one is replaced */
	*init = I_NONE;
	if (in) {
		size_t na = ia ? ia->n_items : 0;

		if (in->kind != PS_X_TASK || (ia && ia->kind != PS_X_TUPLE))
			return false;
		if (!strcmp(in->text, "raises")) {
			*init = I_RAISES;
		} else if (!strcmp(in->text, "returns")) {
			*init = na <= 1 ? I_QUIET : I_RAISES;
		} else if (!strcmp(in->text, "writes")) {
			for (i = 0; i < na; i++)
				if (!is_str(ia->items[i]))
					return false;
			*init = na <= 2 ? I_WRITES : I_RAISES;
		} else {
			return false;
		}
		if (*init == I_RAISES && (*n != 1 || *mtpc))
			return false; /* which futures the break takes is a race */
	}
	return true;
}

static bool is_timeout0(const struct ps_expr *call, bool *t0)
{
	const struct ps_expr *t;

	*t0 = false;
	if (call->n_items + call->n_kw > 1)
		return false;
	if (call->n_kw && strcmp(call->kw[0].name, "timeout"))
		return false;
	t = call->n_items ? call->items[0] : call->n_kw ? call->kw[0].value : NULL;
	if (!t || t->kind == PS_X_NONE)
		return true;
	if ((t->kind != PS_X_INT && t->kind != PS_X_FLOAT) || strtod(t->text, NULL) != 0)
		return false;
	*t0 = true;
	return true;
}

/* f.result() or f.exception(), with or without timeout=0, on future var fv. */
static bool future_read(struct model *m, const struct ps_expr *e, struct var **fv, bool *t0)
{
	if (!(*fv = method_of(m, e, V_FUT, "result")) &&
	    !(*fv = method_of(m, e, V_FUT, "exception")))
		return false;
	return is_timeout0(e, t0);
}

/* ex.submit(...).result(): the submit call, or NULL. */
static const struct ps_expr *submit_result(struct model *m, const struct ps_expr *e)
{
	const struct ps_expr *inner;

	if (!e || e->kind != PS_X_CALL || e->object->kind != PS_X_GETATTR ||
	    strcmp(e->object->text, "result") || e->n_items || e->n_kw)
		return NULL;
	inner = e->object->object;
	return method_of(m, inner, V_EX, "submit") ? inner : NULL;
}

/*
 * The one failpoint an executor scenario arms: the first pipe2() of the
 * constructor, _ThreadWakeup's (3.6: the call queue's), which libprocref
 * makes first too.  Past it the two make other calls (CPython: two more
 * pipes, the queues' semaphores through sem_open(), a lazy import of
 * multiprocessing.synchronize; libprocref: a listening socket in place of
 * the queues' pipes), so a later call failing shows only that they differ.
 */
static bool ctor_fault(const struct ps_expr *e)
{
	const struct ps_expr *after = kwarg(e, "after");

	if (!e->n_items || !is_str(e->items[0]) || strcmp(e->items[0]->text, "posix/io/oc/pipe2"))
		return false;
	return !after || (after->kind == PS_X_INT && !strcmp(after->text, "0"));
}

/* The statement's effect on the model: false (why set) when it is refused. */
static bool step(struct model *m, const struct ps_stmt *s, const char **why)
{
	const struct ps_expr *e = s->value, *call;
	struct var *v, *w;
	enum task t;
	int g, i;
	bool t0, now;
	size_t nfut, j;

	*why = "a statement the model does not know";
	if (s->kind == PS_S_SETATTR)
		return false;
	if (is_gcall(e, "fault") && s->kind == PS_S_EXPR) {
		if (m->armed)
			REFUSE("a fault is armed already");
		if (!(m->ex == EX_NONE || m->ex == EX_SHUT || (m->ex == EX_OPEN && !m->used)))
			REFUSE("a fault while an executor's threads may run");
		if (!ps_fuzz_fault_call_ok(e) || !ctor_fault(e))
			REFUSE("a fault other than the constructor's first pipe2()");
		m->armed = true;
		m->fault_used = false;
		return true;
	}
	if (is_gcall(e, "faults_clear") && s->kind == PS_S_EXPR && !e->n_items && !e->n_kw) {
		m->armed = false;
		return true;
	}
	if (m->armed) {
		/* One constructor meets the fault; what it leaves is never used again. */
		if (m->fault_used || !is_gcall(e, "ProcessPoolExecutor") ||
		    !decode_ctor(e, false, NULL, NULL, NULL))
			REFUSE("only one executor constructor while a fault is armed");
		m->fault_used = true;
		return s->kind == PS_S_EXPR || bind(m, s->target, V_POISON, -1);
	}
	if (s->kind == PS_S_ASSIGN) {
		if (find(m, s->target))
			REFUSE("a name bound twice");
		if (is_gcall(e, "ProcessPoolExecutor")) {
			if (m->ex != EX_NONE)
				REFUSE("a second executor");
			if (!decode_ctor(e, true, &m->n, &m->mtpc, &m->init))
				return false;
			m->ex = EX_OPEN;
			return bind(m, s->target, V_EX, 0);
		}
		if (is_gcall(e, "gate") && !e->n_items && !e->n_kw) {
			if (m->ng >= MAX_GATE)
				REFUSE("too many gates");
			m->g[m->ng].fut = -1;
			m->g[m->ng].released = m->g[m->ng].seen = false;
			return bind(m, s->target, V_GATE, (int)m->ng++);
		}
		if (is_gcall(e, "started") && e->n_items == 1 && !e->n_kw) {
			struct gate *gt;

			if (!(v = var_of(m, e->items[0], V_GATE)))
				return false;
			gt = &m->g[v->idx];
			if (gt->fut < 0 || gt->seen)
				REFUSE("started() on a gate no new task holds");
			i = gt->fut;
			if (m->f[i].task != T_BLOCKS || m->f[i].st != F_OPEN || m->ex != EX_OPEN)
				REFUSE("started() on a task that may never run");
			if (m->break_at >= 0 && i >= m->break_at)
				REFUSE("started() on a task the break fails");
			for (j = 0; j < (size_t)i; j++)
				if (will_block(m, j))
					REFUSE("started() on a task behind one held on a gate");
			gt->seen = true;
			m->f[i].ran = true;
			return bind(m, s->target, V_WORKER, i);
		}
		if ((v = method_of(m, e, V_EX, "submit"))) {
			t = decode_task(m, e, 0, &g);
			i = submit(m, t, g, why);
			return i >= 0 && bind(m, s->target, V_FUT, i);
		}
		if ((call = submit_result(m, e))) {
			t = decode_task(m, call, 0, &g);
			if (t != T_PID)
				REFUSE("a result bound to a name that is not a worker handle");
			i = submit(m, t, g, why);
			if (i < 0 || !read_future(m, (size_t)i, false, why))
				return false;
			return bind(m, s->target, V_WORKER, -1);
		}
		if (future_read(m, e, &v, &t0)) {
			if (m->f[v->idx].task != T_PID || t0 || strcmp(e->object->text, "result"))
				REFUSE("a result bound to a name that is not a worker handle");
			if (m->f[v->idx].st != F_OPEN || m->f[v->idx].settled_only ||
			    (m->break_at >= 0 && v->idx >= m->break_at))
				REFUSE("a worker handle bound from a future that may have failed");
			if (!read_future(m, (size_t)v->idx, false, why))
				return false;
			return bind(m, s->target, V_WORKER, -1);
		}
		if ((v = method_of(m, e, V_EX, "map"))) {
			long first;

			if (m->nit >= MAX_ITER || !decode_map(m, e, false, &t, &nfut, &now) || now)
				return false;
			first = map_futures(m, t, nfut, why);
			if (first < 0)
				return false;
			m->it[m->nit].first = (size_t)first;
			m->it[m->nit].n = nfut;
			m->it[m->nit].next = 0;
			m->it[m->nit].finished = false;
			return bind(m, s->target, V_ITER, (int)m->nit++);
		}
		return false;
	}
	/* an expression statement */
	if (e->kind == PS_X_VAR) {
		v = find(m, e->text);
		if (!v || v->k == V_POISON || v->k == V_GATE)
			REFUSE("the repr of a gate, or of what a fault met");
		/* <worker pid=<w1>> or <w2>: with two workers, which one took the
		 * task is a race (found by fuzz, ref@3.9 against CPython 3.9,
		 * seed 20261211 index 5998) */
		if (v->k == V_WORKER && m->n > 1)
			REFUSE("the repr of a worker handle with more than one worker");
		if (v->k != V_FUT)
			return true;
		i = v->idx;
		if (m->f[i].st == F_DONE || m->f[i].st == F_CANCELLED || blocked(m, (size_t)i) ||
		    sure_pending(m, (size_t)i))
			return true;
		REFUSE("the repr of a future whose state may change");
	}
	if (is_gcall(e, "ProcessPoolExecutor"))
		return decode_ctor(e, false, NULL, NULL, NULL);
	if (is_gcall(e, "release") && e->n_items == 1 && !e->n_kw) {
		if (!(v = var_of(m, e->items[0], V_GATE)))
			return false;
		for (j = 0; j < m->nf; j++)
			if (m->f[j].st == F_CANCEL_SOON)
				REFUSE("release() before the manager has cancelled");
		m->g[v->idx].released = true;
		return true;
	}
	if (is_gcall(e, "kill") && e->n_items == 2 && !e->n_kw) {
		if (!(w = var_of(m, e->items[0], V_WORKER)) || !is_signal(e->items[1]))
			return false;
		i = w->idx;
		if (i < 0 || !blocked(m, (size_t)i))
			REFUSE("kill() of a worker that may have finished its task");
		if (m->ex != EX_OPEN || m->n != 1 || m->mtpc || m->any_cancel || m->break_at >= 0)
			REFUSE("kill() where which futures break is a race");
		m->f[i].killed = true;
		m->break_at = i;
		return true;
	}
	if (is_gcall(e, "settles") && e->n_items == 1 && !e->n_kw) {
		if (!var_of(m, e->items[0], V_EX))
			return false;
		if (!drains(m))
			REFUSE("settles() with a task that cannot finish");
		for (j = 0; j < m->nf; j++)
			if (m->f[j].st == F_OPEN || m->f[j].st == F_CANCEL_SOON) {
				m->f[j].st = F_OPEN;
				m->f[j].settled_only = true;
			}
		if (m->ex == EX_OPEN)
			m->used = true;
		m->ex = EX_SETTLED;
		return true;
	}
	if ((is_gcall(e, "stdout") || is_gcall(e, "stderr")) && e->n_items == 1 && !e->n_kw) {
		if (!var_of(m, e->items[0], V_EX))
			return false;
		if (!output_complete(m))
			REFUSE("output of workers that may still write");
		return true;
	}
	if (is_gcall(e, "cause") && e->n_items == 1 && !e->n_kw) {
		if (!(v = var_of(m, e->items[0], V_FUT)))
			return false;
		if (m->f[v->idx].st != F_DONE)
			REFUSE("cause() of a future not known to be done");
		return true;
	}
	if (is_gcall(e, "children_left") && !e->n_items && !e->n_kw) {
		if (m->ex == EX_NONE || m->ex == EX_SHUT || m->ex == EX_SETTLED ||
		    (m->ex == EX_OPEN && !m->used))
			return true;
		REFUSE("children_left() while workers may be exiting");
	}
	if (is_gcall(e, "list") && e->n_items == 1 && !e->n_kw &&
	    method_of(m, e->items[0], V_EX, "map")) {
		long first;

		if (!decode_map(m, e->items[0], true, &t, &nfut, &now))
			return false;
		if (now || submit_raises(m))
			return true; /* raises at the call (or maps nothing) */
		first = map_futures(m, t, nfut, why);
		if (first < 0)
			return false;
		for (j = (size_t)first; j < m->nf; j++)
			if (!completable(m, j))
				REFUSE("list(map()) behind a task held on a gate");
		for (j = (size_t)first; j < m->nf; j++)
			finish(m, j); /* the rest of a raising map is cancelled or runs */
		return true;
	}
	if (is_gcall(e, "next") && e->n_items == 1 && !e->n_kw) {
		struct iter *it;
		size_t k;

		if (!(v = var_of(m, e->items[0], V_ITER)))
			return false;
		it = &m->it[v->idx];
		if (it->finished || it->next >= it->n)
			return true; /* StopIteration */
		k = it->first + it->next;
		if (m->f[k].st == F_TAINTED || m->f[k].settled_only)
			REFUSE("next() on a future cancel_futures or settles() left unknown");
		if (m->ex == EX_NOWAIT && m->f[k].st == F_OPEN)
			REFUSE("next() after shutdown(wait=False)");
		if (m->f[k].st == F_OPEN && !completable(m, k))
			REFUSE("next() on a task that cannot finish");
		if (m->f[k].st == F_OPEN)
			finish(m, k);
		it->next++;
		if (m->f[k].task == T_RAISE || (m->break_at >= 0 && (int)k >= m->break_at) ||
		    m->f[k].st == F_CANCELLED) {
			/* the iterator is finished; it cancels what is left, or it runs */
			for (j = k + 1; j < it->first + it->n; j++)
				if (m->f[j].st == F_OPEN && completable(m, j))
					finish(m, j);
				else if (m->f[j].st == F_OPEN)
					REFUSE("a map iterator whose rest may or may not be cancelled");
			it->finished = true;
		}
		return true;
	}
	if ((v = method_of(m, e, V_EX, "submit"))) {
		if (!e->n_items && !e->n_kw)
			return true; /* TypeError: no function */
		if (decode_task(m, e, 0, &g) == T_NONE || !submit_raises(m))
			REFUSE("a future printed as soon as it is submitted");
		return true;
	}
	if ((call = submit_result(m, e))) {
		t = decode_task(m, call, 0, &g);
		if (t == T_NONE)
			return false;
		if (submit_raises(m))
			return true;
		i = submit(m, t, g, why);
		return i >= 0 && read_future(m, (size_t)i, false, why);
	}
	if ((v = method_of(m, e, V_EX, "map"))) {
		if (!decode_map(m, e, true, &t, &nfut, &now))
			return false;
		if (now || submit_raises(m))
			return true;
		REFUSE("a bare map() that submits");
	}
	if ((v = method_of(m, e, V_EX, "shutdown"))) {
		static const char *const kws[] = { "wait", "cancel_futures" };
		const struct ps_expr *wt = kwarg(e, "wait"), *cf = kwarg(e, "cancel_futures");

		if (e->n_items || !only_kw(e, kws, 2) || (wt && wt->kind != PS_X_BOOL) ||
		    (cf && cf->kind != PS_X_BOOL))
			return false;
		return do_shutdown(m, !wt || wt->b, cf && cf->b, why);
	}
	if ((v = method_of(m, e, V_EX, "__enter__")))
		return !e->n_items && !e->n_kw;
	if ((v = method_of(m, e, V_EX, "__exit__"))) {
		if (e->n_items != 3 || e->n_kw)
			return false;
		for (j = 0; j < 3; j++)
			if (e->items[j]->kind != PS_X_NONE)
				return false;
		return do_shutdown(m, true, false, why);
	}
	if (future_read(m, e, &v, &t0))
		return read_future(m, (size_t)v->idx, t0, why);
	if ((v = method_of(m, e, V_FUT, "cancel")) && !e->n_items && !e->n_kw) {
		i = v->idx;
		if (m->f[i].st == F_DONE || m->f[i].st == F_CANCELLED || blocked(m, (size_t)i))
			return true;
		if (!sure_pending(m, (size_t)i))
			REFUSE("cancel() of a future that may be running or done");
		m->f[i].st = F_CANCELLED;
		m->any_cancel = true;
		return true;
	}
	if (((v = method_of(m, e, V_FUT, "done")) || (v = method_of(m, e, V_FUT, "running")) ||
	     (v = method_of(m, e, V_FUT, "cancelled"))) &&
	    !e->n_items && !e->n_kw) {
		i = v->idx;
		if (m->f[i].st == F_DONE || m->f[i].st == F_CANCELLED || blocked(m, (size_t)i) ||
		    sure_pending(m, (size_t)i))
			return true;
		REFUSE("the state of a future that may change");
	}
	return false;
}

/* --- judging a parsed scenario ------------------------------------------------ */

static bool uses_executor(const struct ps_expr *e)
{
	static const char *const g[] = {
		"ProcessPoolExecutor", "gate", "started", "settles", "kill", "cause", "unpicklable"
	};
	size_t i;

	if (!e)
		return false;
	if (e->kind == PS_X_TASK)
		return true;
	if (e->kind == PS_X_GLOBAL)
		for (i = 0; i < ARRAY_SIZE(g); i++)
			if (!strcmp(e->text, g[i]))
				return true;
	if (uses_executor(e->object))
		return true;
	for (i = 0; i < e->n_items; i++)
		if (uses_executor(e->items[i]))
			return true;
	for (i = 0; i < e->n_kw; i++)
		if (uses_executor(e->kw[i].value))
			return true;
	return false;
}

bool ps_fuzz_exec_is_executor(const struct ps_scenario *sc)
{
	size_t i;

	for (i = 0; i < sc->n_steps; i++)
		if (uses_executor(sc->steps[i]->value) || uses_executor(sc->steps[i]->object))
			return true;
	return false;
}

bool ps_fuzz_exec_model_check(const struct ps_scenario *sc, char *why, size_t size)
{
	struct model m;
	const char *reason = "";
	size_t i;

	model_init(&m);
	for (i = 0; i < sc->n_steps; i++) {
		if (step(&m, sc->steps[i], &reason))
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

/* --- generating ---------------------------------------------------------------- */

struct gen {
	struct ps_fuzz_rng r;
	const struct ps_fuzz_gen_opts *o;
	unsigned method;
	struct model m;
	unsigned n_fut, n_gate, n_work, n_iter;
};

static bool has(const struct gen *G, unsigned bit)
{
	return !(G->o->ex_missing & bit);
}

/* Pickling outcomes as 3.7+ has them (3.6 hangs: bpo-31699); initializer= came with them. */
static bool pickling_ok(const struct gen *G)
{
	return has(G, PS_FUZZ_EX_INITIALIZER);
}

/* Whether a future of m runs a task whose argument does not pickle. */
static bool unpicklable_arg_out(const struct model *m)
{
	size_t j;

	for (j = 0; j < m->nf; j++)
		if (m->f[j].task == T_UNPICK_ARG)
			return true;
	return false;
}

static void gen_value(struct gen *G, struct ps_buf *b)
{
	static const char *const v[] = {
		"None",    "True",     "0",          "1",
		"42",      "-7",       "2147483648", "10000000000000000000000",
		"3.5",     "''",       "'done'",     "'caf\\xe9'",
		"'a\\nb'", "b'x'",     "(1, 'a')",   "()",
		"[1, 2]",  "{'k': 1}",
	};

	ps_buf_adds(b, PICK(&G->r, v));
}

static void gen_str(struct gen *G, struct ps_buf *b)
{
	static const char *const v[] = { "''",         "'x'",          "'out\\n'",        "'a b'",
					 "'\\xe9\\n'", "'no newline'", "'two\\nlines\\n'" };

	ps_buf_adds(b, PICK(&G->r, v));
}

static const char *gen_exc(struct gen *G)
{
	return PICK(&G->r, exc_names);
}

/* An unused gate's name, or NULL. */
static const char *free_gate(struct gen *G)
{
	size_t i;

	for (i = 0; i < G->m.nv; i++)
		if (G->m.v[i].k == V_GATE && G->m.g[G->m.v[i].idx].fut < 0)
			return G->m.v[i].name;
	return NULL;
}

/* A gate a task holds and started() has not seen (unseen) or release() not reached. */
static const char *held_gate(struct gen *G, bool unseen)
{
	size_t i;

	for (i = 0; i < G->m.nv; i++) {
		const struct gate *gt = &G->m.g[G->m.v[i].idx];

		if (G->m.v[i].k == V_GATE && gt->fut >= 0 && (unseen ? !gt->seen : !gt->released))
			return G->m.v[i].name;
	}
	return NULL;
}

/* "task.NAME, args" for a submit; task.blocks on a free gate when blocking. */
static void gen_task(struct gen *G, struct ps_buf *b, bool blocking)
{
	static const unsigned w[] = { 10, 5, 4, 4, 3, 1, 1, 1, 1, 1 };
	const char *g = blocking ? free_gate(G) : NULL;
	unsigned total = 0, i, k;

	if (g && chance(&G->r, 70)) {
		ps_buf_addf(b, "task.blocks, %s", g);
		if (chance(&G->r, 50)) {
			ps_buf_adds(b, ", ");
			gen_value(G, b);
		}
		return;
	}
	for (i = 0; i < ARRAY_SIZE(w); i++)
		total += w[i];
	k = below(&G->r, total);
	for (i = 0; i < ARRAY_SIZE(w) && k >= w[i]; i++)
		k -= w[i];
	switch (i) {
	case 0:
		ps_buf_adds(b, "task.returns");
		if (chance(&G->r, 85)) {
			ps_buf_adds(b, chance(&G->r, 15) ? ", v=" : ", ");
			gen_value(G, b);
		}
		break;
	case 1:
		ps_buf_addf(b, "task.raises, '%s'", gen_exc(G));
		if (chance(&G->r, 70)) {
			ps_buf_adds(b, ", ");
			gen_str(G, b);
		}
		break;
	case 2:
		ps_buf_adds(b, "task.exits");
		if (chance(&G->r, 80)) {
			ps_buf_adds(b, ", ");
			gen_value(G, b);
		}
		break;
	case 3:
		ps_buf_adds(b, "task.writes");
		if (chance(&G->r, 90)) {
			ps_buf_adds(b, ", ");
			gen_str(G, b);
			if (chance(&G->r, 60)) {
				ps_buf_adds(b, ", ");
				gen_str(G, b);
			}
		}
		break;
	case 4:
		ps_buf_adds(b, "task.pid");
		break;
	case 5:
		ps_buf_addf(b, "task.os_exit, %u", below(&G->r, 4));
		break;
	case 6:
		ps_buf_addf(b, "task.kills_self, signal.%s",
			    chance(&G->r, 50) ? "SIGKILL" : "SIGTERM");
		break;
	case 7:
		ps_buf_adds(b, pickling_ok(G) ? "task.returns_unpicklable" : "task.returns, 1");
		break;
	case 8:
		ps_buf_adds(b, pickling_ok(G) ? "task.raises_unpicklable" : "task.returns, 2");
		break;
	default:
		/* before 3.9 (cancel_futures' release) the feeder thread that
		 * fails to pickle an argument drops its work item without
		 * waking the manager (bpo-39104, fixed by python/cpython#17670):
		 * a shutdown() or the interpreter's exit that came first then
		 * waits for ever, which one comes first being a race; found by
		 * fuzz, ref@3.7 against CPython 3.7, seed 20261213 indices
		 * 1272 and 1565 (submit then shutdown at once hangs CPython
		 * 3.7.16 in 59 of 60 runs outside the driver) */
		ps_buf_adds(b, pickling_ok(G) && has(G, PS_FUZZ_EX_CANCEL_FUTURES) ?
				       "task.returns, unpicklable()" :
				       "task.returns, 3");
		break;
	}
}

static void gen_ctor(struct gen *G, struct ps_buf *b, const char *name)
{
	unsigned n = chance(&G->r, 75) ? 1 : 2;
	bool mtpc = n == 1 && has(G, PS_FUZZ_EX_MTPC) && chance(&G->r, 15);

	ps_buf_addf(b, "%s = ProcessPoolExecutor(max_workers=%u", name, n);
	if (has(G, PS_FUZZ_EX_MP_CONTEXT) && chance(&G->r, 15)) {
		const char *c = ps_method_name(G->method);

		if (mtpc && !strcmp(c, "fork"))
			c = "spawn";
		ps_buf_addf(b, ", mp_context=get_context('%s')", c);
	}
	if (has(G, PS_FUZZ_EX_INITIALIZER) && chance(&G->r, 20)) {
		switch (below(&G->r, 3)) {
		case 0:
			ps_buf_adds(b, ", initializer=task.returns, initargs=(1,)");
			break;
		case 1:
			ps_buf_adds(b, ", initializer=task.writes, initargs=(");
			gen_str(G, b);
			ps_buf_adds(b, chance(&G->r, 50) ? ",)" : ", 'init err\\n')");
			break;
		default:
			if (n == 1 && !mtpc)
				ps_buf_addf(b, ", initializer=task.raises, initargs=('%s', 'init')",
					    gen_exc(G));
			break;
		}
	}
	if (mtpc)
		ps_buf_addf(b, ", max_tasks_per_child=%u", 1 + below(&G->r, 3));
	ps_buf_addc(b, ')');
}

/* A constructor call that raises (or makes an executor nobody uses). */
static void gen_bad_ctor(struct gen *G, struct ps_buf *b)
{
	static const char *const plain[] = {
		"ProcessPoolExecutor(max_workers=0)",    "ProcessPoolExecutor(max_workers=-1)",
		"ProcessPoolExecutor(max_workers='2')",  "ProcessPoolExecutor(max_workers=2.5)",
		"ProcessPoolExecutor(max_workers=None)",
	};
	unsigned k = below(&G->r, 5);

	if (k == 1 && has(G, PS_FUZZ_EX_INITIALIZER)) {
		ps_buf_adds(b, "ProcessPoolExecutor(max_workers=1, initializer=5)");
	} else if (k == 2 && has(G, PS_FUZZ_EX_MP_CONTEXT)) {
		ps_buf_adds(b, "ProcessPoolExecutor(max_workers=1, mp_context='fork')");
	} else if (k == 3 && has(G, PS_FUZZ_EX_MTPC)) {
		ps_buf_adds(b,
			    chance(&G->r, 50) ?
				    "ProcessPoolExecutor(max_workers=1, max_tasks_per_child=0)" :
				    "ProcessPoolExecutor(max_workers=1, max_tasks_per_child='1')");
	} else {
		ps_buf_adds(b, PICK(&G->r, plain));
	}
}

/* fault() on the constructor's first pipe2() (ctor_fault). */
static void gen_ctor_fault(struct gen *G, struct ps_buf *b)
{
	static const char *const e[] = { "EMFILE", "ENFILE", "EINVAL" };

	ps_buf_addf(b, "fault('posix/io/oc/pipe2', errno=errno.%s, count=%s, after=0)",
		    PICK(&G->r, e), chance(&G->r, 70) ? "1" : "None");
}

/* The name of a random variable of kind k, or NULL. */
static const char *any_var(struct gen *G, enum vkind k)
{
	size_t i, n = 0, at;

	for (i = 0; i < G->m.nv; i++)
		n += G->m.v[i].k == k;
	if (!n)
		return NULL;
	at = below(&G->r, (unsigned)n);
	for (i = 0; i < G->m.nv; i++)
		if (G->m.v[i].k == k && at-- == 0)
			return G->m.v[i].name;
	return NULL;
}

static void gen_map(struct gen *G, struct ps_buf *b, bool chunks)
{
	unsigned k = below(&G->r, 3), n = below(&G->r, 5), i;

	ps_buf_adds(b, "ex.map(");
	if (k == 0) {
		ps_buf_adds(b, "task.returns, [");
		for (i = 0; i < n; i++) {
			ps_buf_adds(b, i ? ", " : "");
			gen_value(G, b);
		}
		ps_buf_adds(b, "]");
	} else if (k == 1) {
		ps_buf_adds(b, "task.raises, [");
		for (i = 0; i < n; i++)
			ps_buf_addf(b, "%s'%s'", i ? ", " : "", gen_exc(G));
		ps_buf_adds(b, "]");
		if (chance(&G->r, 50)) {
			ps_buf_adds(b, ", [");
			for (i = 0; i < n; i++) {
				ps_buf_adds(b, i ? ", " : "");
				gen_str(G, b);
			}
			ps_buf_adds(b, "]");
		}
	} else {
		ps_buf_adds(b, "task.writes, [");
		for (i = 0; i < n; i++) {
			ps_buf_adds(b, i ? ", " : "");
			gen_str(G, b);
		}
		ps_buf_adds(b, "]");
	}
	if (chunks && chance(&G->r, 40))
		ps_buf_addf(b, ", chunksize=%u", below(&G->r, 4));
	ps_buf_addc(b, ')');
}

/* One candidate statement, drawn with weights that suit the model's state. */
static void gen_stmt(struct gen *G, struct ps_buf *b)
{
	const char *f = any_var(G, V_FUT), *g = any_var(G, V_GATE), *w = any_var(G, V_WORKER);
	const char *it = any_var(G, V_ITER);
	unsigned k = below(&G->r, 100);

	if (G->m.armed) {
		if (G->m.fault_used)
			ps_buf_adds(b, "faults_clear()");
		else
			ps_buf_addf(b, "exf%u = ProcessPoolExecutor(max_workers=%u)", G->n_fut,
				    1 + below(&G->r, 2));
		return;
	}
	if (G->m.ex == EX_NONE) {
		if (G->o->faults && chance(&G->r, 30)) {
			gen_ctor_fault(G, b);
			return;
		}
		if (chance(&G->r, 10)) {
			gen_bad_ctor(G, b);
			return;
		}
		gen_ctor(G, b, "ex");
		return;
	}
	if (free_gate(G) && chance(&G->r, 50)) {
		ps_buf_addf(b, "f%u = ex.submit(task.blocks, %s)", G->n_fut, free_gate(G));
	} else if (held_gate(G, true) && chance(&G->r, 50)) {
		ps_buf_addf(b, "w%u = started(%s)", G->n_work + 1, held_gate(G, true));
	} else if (k < 22) {
		ps_buf_addf(b, "f%u = ex.submit(", G->n_fut);
		gen_task(G, b, true);
		ps_buf_addc(b, ')');
	} else if (k < 30) {
		if (held_gate(G, true) && chance(&G->r, 85))
			ps_buf_addf(b, "w%u = started(%s)", G->n_work + 1, held_gate(G, true));
		else if (!free_gate(G))
			ps_buf_addf(b, "g%u = gate()", G->n_gate + 1);
		else
			ps_buf_addf(b, "f%u = ex.submit(task.blocks, %s)", G->n_fut, free_gate(G));
	} else if (k < 36 && held_gate(G, false)) {
		ps_buf_addf(b, "release(%s)", chance(&G->r, 90) ? held_gate(G, false) : g);
	} else if (k < 52 && f) {
		static const char *const reads[] = {
			"%s.result()",
			"%s.result()",
			"%s.exception()",
			"%s.result(timeout=0)",
			"%s.exception(timeout=0)",
			"%s.done()",
			"%s.running()",
			"%s.cancelled()",
			"%s.cancel()",
			"%s",
			"cause(%s)",
			"%s.result(0)",
		};

		if (chance(&G->r, 8))
			ps_buf_addf(b, "w%u = %s.result()", G->n_work + 1, f);
		else
			ps_buf_addf(b, PICK(&G->r, reads), f);
	} else if (k < 56) {
		ps_buf_adds(b, "ex.submit(");
		gen_task(G, b, false);
		ps_buf_adds(b, ").result()");
	} else if (k < 60 && w) {
		if (chance(&G->r, 50))
			ps_buf_adds(b, w);
		else
			ps_buf_addf(b, "kill(%s, signal.%s)", w,
				    chance(&G->r, 70) ? "SIGKILL" : "SIGTERM");
	} else if (k < 66) {
		static const char *const sd[] = {
			"ex.shutdown()",
			"ex.shutdown(wait=True)",
			"ex.shutdown(wait=False)",
			"ex.shutdown(cancel_futures=True)",
			"ex.shutdown(wait=False, cancel_futures=True)",
			"ex.__exit__(None, None, None)",
			"settles(ex)",
		};
		const char *s = PICK(&G->r, sd);

		if (strstr(s, "cancel_futures") && !has(G, PS_FUZZ_EX_CANCEL_FUTURES))
			s = "ex.shutdown()";
		/* cancel_futures with a work item that failed to pickle may
		 * deadlock the manager (gh-116685; found by fuzz, ref@3.9
		 * against CPython 3.9, seed 20261215 index 16870: the exit
		 * waited for ever, once) */
		if (strstr(s, "cancel_futures") && unpicklable_arg_out(&G->m))
			s = "ex.shutdown()";
		/* before 3.9 (the release that brought cancel_futures) a
		 * shutdown(wait=False) closes the manager's wakeup under it
		 * (bpo-39098), and the interpreter's exit may then wait for
		 * ever: found by fuzz, ref@3.7 against CPython 3.7, seed
		 * 20261211 index 2, shrunk to a list(ex.map(...)) that raised
		 * and a shutdown(wait=False); CPython 3.7 hung in 3 of 6 runs,
		 * ref@3.7 in all */
		if (strstr(s, "wait=False") && !has(G, PS_FUZZ_EX_CANCEL_FUTURES))
			s = "ex.shutdown()";
		ps_buf_adds(b, s);
	} else if (k < 72) {
		if (chance(&G->r, 70)) {
			ps_buf_adds(b, "list(");
			gen_map(G, b, true);
			ps_buf_addc(b, ')');
		} else {
			ps_buf_addf(b, "it%u = ", G->n_iter + 1);
			gen_map(G, b, false);
		}
	} else if (k < 76 && it) {
		ps_buf_addf(b, chance(&G->r, 85) ? "next(%s)" : "%s", it);
	} else if (k < 80) {
		ps_buf_adds(b, chance(&G->r, 50) ? "stdout(ex)" : "stderr(ex)");
	} else if (k < 84) {
		static const char *const misc[] = {
			"ex",
			"ex.__enter__()",
			"children_left()",
			"ex.submit()",
			"ex.submit(task.returns, 1)",
			"ex.map(task.returns, [1], chunksize=0)",
		};

		ps_buf_adds(b, PICK(&G->r, misc));
	} else if (k < 87) {
		gen_bad_ctor(G, b);
	} else if (k < 92 && G->o->faults) {
		gen_ctor_fault(G, b);
	} else if (f) {
		ps_buf_addf(b, chance(&G->r, 50) ? "%s.result()" : "%s.cancel()", f);
	} else {
		ps_buf_addf(b, "f%u = ex.submit(task.returns, %u)", G->n_fut, below(&G->r, 9));
	}
}

/* Parse stmt after the names bound so far, and apply it to a copy of the model. */
static bool try_stmt(struct gen *G, const char *head, const char *stmt, struct model *trial)
{
	struct ps_buf b = PS_BUF_INIT;
	struct ps_scenario *sc = NULL;
	const char *why;
	size_t i;
	bool ok;

	ps_buf_adds(&b, head);
	for (i = 0; i < G->m.nv; i++)
		ps_buf_addf(&b, "%s = None\n", G->m.v[i].name);
	ps_buf_adds(&b, stmt);
	ps_buf_addc(&b, '\n');
	if (ps_buf_oom(&b) || ps_scenario_parse("candidate", b.data, b.len, &sc, NULL)) {
		ps_buf_release(&b);
		return false;
	}
	*trial = G->m;
	ok = sc->n_steps > 0 && step(trial, sc->steps[sc->n_steps - 1], &why);
	ps_scenario_free(sc);
	ps_buf_release(&b);
	return ok;
}

int ps_fuzz_exec_generate(const struct ps_fuzz_gen_opts *o, uint64_t seed, uint64_t index,
			  char **text, unsigned *method, struct ps_diag *d)
{
	struct model trial;
	struct gen G;
	struct ps_buf head = PS_BUF_INIT, body = PS_BUF_INIT, stmt = PS_BUF_INIT;
	struct ps_scenario *sc = NULL;
	unsigned methods = o->methods ? o->methods : PS_M_FORK, choice[3], n_choice = 0, bit;
	unsigned steps, n = 0, attempts;
	char why[256], id[64], comment[128];
	int ret = 0;

	*text = NULL;
	memset(&G, 0, sizeof(G));
	G.o = o;
	model_init(&G.m);
	ps_fuzz_rng_seed(&G.r, seed ^ KIND_SALT, index ^ KIND_SALT);
	for (bit = PS_M_FORK; bit <= PS_M_FORKSERVER; bit <<= 1)
		if (methods & bit)
			choice[n_choice++] = bit;
	G.method = *method = choice[below(&G.r, n_choice)];
	steps = 3 + below(&G.r, o->max_steps ? o->max_steps + 6 : 1);
	ps_buf_addf(&head, "methods: %s\n\n", ps_method_name(*method));
	for (attempts = 0; n < steps && attempts < steps * 40; attempts++) {
		size_t nv = G.m.nv;

		if ((G.m.ex == EX_SHUT || G.m.ex == EX_SETTLED) && !G.m.armed && chance(&G.r, 30))
			break; /* little is left to see on a pool that is shut down */
		ps_buf_release(&stmt);
		gen_stmt(&G, &stmt);
		if (ps_buf_oom(&stmt))
			goto nomem;
		if (!try_stmt(&G, head.data, stmt.data, &trial))
			continue;
		G.m = trial;
		if (G.m.nv > nv) {
			/* the name it bound: count it, so that the next one is new */
			const char *nm = G.m.v[nv].name;

			G.n_fut += nm[0] == 'f' || !strncmp(nm, "exf", 3);
			G.n_gate += nm[0] == 'g';
			G.n_work += nm[0] == 'w';
			G.n_iter += nm[0] == 'i';
		}
		ps_buf_adds(&body, stmt.data);
		ps_buf_addc(&body, '\n');
		n++;
	}
	if (G.m.armed)
		ps_buf_adds(&body, "faults_clear()\n");
	ps_buf_adds(&head, body.data ? body.data : "");
	if (ps_buf_oom(&head) || ps_buf_oom(&body))
		goto nomem;
	snprintf(id, sizeof(id), "%llu-%llu", (unsigned long long)seed, (unsigned long long)index);
	ret = ps_fuzz_parse(head.data, id, &sc, d);
	if (ret)
		goto out;
	if (!ps_fuzz_exec_model_check(sc, why, sizeof(why))) {
		ret = ps_diag(
			d, PS_EPARSE,
			"generator bug: executor scenario %s refused by its own model: %s\n%s", id,
			why, head.data);
		goto out;
	}
	snprintf(comment, sizeof(comment), "procspec fuzz: seed %llu index %llu",
		 (unsigned long long)seed, (unsigned long long)index);
	*text = ps_fuzz_scenario_text(sc, comment, *method, NULL);
	if (!*text)
		goto nomem;
	goto out;
nomem:
	ret = ps_diag(d, -ENOMEM, "out of memory");
out:
	ps_scenario_free(sc);
	ps_buf_release(&head);
	ps_buf_release(&body);
	ps_buf_release(&stmt);
	return ret;
}

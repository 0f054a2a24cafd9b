#include "fuzz_diff.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ast.h"
#include "buf.h"
#include "golden.h"

void ps_fuzz_check_release(struct ps_fuzz_check *c)
{
	free(c->signature);
	free(c->diff);
	free(c->text_a);
	free(c->text_b);
	memset(c, 0, sizeof(*c));
}

static bool word_char(char c)
{
	return isalnum((unsigned char)c) || c == '_';
}

static size_t ident_len(const char *s)
{
	size_t n = 0;

	while (word_char(s[n]))
		n++;
	return n;
}

char *ps_fuzz_stmt_verb(const char *s)
{
	struct ps_buf b = PS_BUF_INIT;
	size_t n = ident_len(s), m;

	if (n == 0) {
		ps_buf_adds(&b, "?");
	} else if (s[n] == '(') {
		ps_buf_add(&b, s, n);
		ps_buf_adds(&b, "()");
	} else if (!strncmp(s + n, " = ", 3)) {
		ps_buf_adds(&b, strstr(s + n, "Process(") == s + n + 3 ? "Process()" : "=");
	} else if (s[n] == '.') {
		m = ident_len(s + n + 1);
		ps_buf_addc(&b, '.');
		ps_buf_add(&b, s + n + 1, m);
		if (s[n + 1 + m] == '(')
			ps_buf_adds(&b, "()");
		else if (!strncmp(s + n + 1 + m, " = ", 3))
			ps_buf_adds(&b, " =");
	} else {
		ps_buf_adds(&b, "repr");
	}
	return ps_buf_detach(&b);
}

/* Append s[0..n), with "<x>" (a scenario variable's pid placeholder) as "<v>", cut at 100 bytes. */
static void add_span(struct ps_buf *b, const char *s, size_t n)
{
	size_t i, out = 0;

	if (n == 0) {
		ps_buf_adds(b, "(nothing)");
		return;
	}
	for (i = 0; i < n && out < 100; i++, out++) {
		if (s[i] == '<' && i + 2 < n + 1 && islower((unsigned char)s[i + 1]) &&
		    s[i + 2] == '>') {
			ps_buf_adds(b, "<v>");
			i += 2;
			continue;
		}
		ps_buf_addc(b, s[i] == '\n' ? ' ' : s[i]);
	}
	if (i < n)
		ps_buf_adds(b, "...");
}

static const char *line_end(const char *s)
{
	const char *nl = strchr(s, '\n');

	return nl ? nl : s + strlen(s);
}

/*
 * "DIFF VERB: EXPECTED -> ACTUAL": the statement whose output first differs
 * and the differing words of the first differing line, B's then A's.
 */
static char *diff_signature(const char *tb, const char *ta)
{
	const char *e = tb, *a = ta, *stmt = NULL, *ee, *ae;
	struct ps_buf b = PS_BUF_INIT;
	size_t le, la, p = 0, s = 0;
	char *verb;

	for (;;) {
		ee = line_end(e);
		ae = line_end(a);
		le = (size_t)(ee - e);
		la = (size_t)(ae - a);
		if (le != la || memcmp(e, a, le))
			break;
		if (!*ee || !*ae)
			break;
		if (!strncmp(e, ">>> ", 4))
			stmt = e + 4;
		e = ee + 1;
		a = ae + 1;
	}
	if (!strncmp(e, ">>> ", 4) && !strncmp(a, ">>> ", 4))
		stmt = e + 4;
	if (!strncmp(e, ">>> ", 4) != !strncmp(a, ">>> ", 4) ||
	    !strncmp(e, "--- end", 7) != !strncmp(a, "--- end", 7)) {
		/* One side printed output where the other went on: that output is the difference. */
		bool e_next = !strncmp(e, ">>> ", 4) || !strncmp(e, "--- end", 7);

		verb = stmt ? ps_fuzz_stmt_verb(stmt) : strdup("?");
		ps_buf_addf(&b, "DIFF %s: ", verb ? verb : "?");
		add_span(&b, e_next ? "" : e, e_next ? 0 : le);
		ps_buf_adds(&b, " -> ");
		add_span(&b, e_next ? a : "", e_next ? la : 0);
		free(verb);
		return ps_buf_detach(&b);
	}
	while (p < le && p < la && e[p] == a[p])
		p++;
	while (s < le - p && s < la - p && e[le - 1 - s] == a[la - 1 - s])
		s++;
	while (p > 0 && word_char(e[p - 1]))
		p--;
	while (s > 0 && word_char(e[le - s]))
		s--;
	if (!strncmp(e, "--- end", 7) || !strncmp(a, "--- end", 7))
		verb = strdup("end");
	else
		verb = stmt ? ps_fuzz_stmt_verb(stmt) : strdup("?");
	ps_buf_addf(&b, "DIFF %s: ", verb ? verb : "?");
	add_span(&b, e + p, le - p - s);
	ps_buf_adds(&b, " -> ");
	add_span(&b, a + p, la - p - s);
	free(verb);
	return ps_buf_detach(&b);
}

/* The verb of the step a side stopped at: the one after its last transcript entry. */
static char *broken_at(const struct ps_scenario *sc, const struct ps_outcome *o)
{
	size_t k = o->t.n_entries;
	char *text, *verb;

	if (o->verdict == PS_V_LEAK || o->verdict == PS_V_ORPHAN || k >= sc->n_steps)
		return strdup("end");
	text = ps_stmt_unparse(sc->steps[k]);
	verb = text ? ps_fuzz_stmt_verb(text) : NULL;
	free(text);
	return verb;
}

static char *invariant_signature(const struct ps_scenario *sc, const struct ps_outcome *o,
				 const char *who)
{
	struct ps_buf b = PS_BUF_INIT;
	char *verb;

	ps_buf_addf(&b, "%s on %s: ", ps_verdict_word(o->verdict), who);
	if (o->verdict == PS_V_LEAK || o->verdict == PS_V_ORPHAN) {
		/* The counts tell one leak from another (CPython's 4 fds of a failed fork, 2 of a failed pipe). */
		if (o->t.fds_leaked)
			ps_buf_addf(&b, "%ld fds", o->t.fds_leaked);
		if (o->t.children_left)
			ps_buf_addf(&b, "%s%ld children", o->t.fds_leaked ? " and " : "",
				    o->t.children_left);
		return ps_buf_detach(&b);
	}
	verb = broken_at(sc, o);
	ps_buf_addf(&b, "at %s", verb ? verb : "?");
	free(verb);
	return ps_buf_detach(&b);
}

struct side {
	struct ps_runner *rn;
	const struct ps_scenario *sc;
	const struct ps_wire *w;
	unsigned method;
	struct ps_outcome o;
	struct ps_diag d;
	int r;
};

static void *run_side(void *arg)
{
	struct side *s = arg;

	s->r = ps_run_scenario_wire(s->rn, s->sc, s->w, s->method, &s->o, &s->d);
	return NULL;
}

/*
 * The thread that plays side A, made once per process and kept: a thread
 * per scenario cost a clone, a stack and their teardown every time.  After
 * a fork the child has no such thread, hence the owner's pid.
 */
static struct {
	pid_t owner;
	sem_t go, done;
	struct side *job;
} helper;

static void *helper_main(void *arg)
{
	(void)arg;
	for (;;) {
		while (sem_wait(&helper.go) && errno == EINTR)
			;
		run_side(helper.job);
		sem_post(&helper.done);
	}
	return NULL;
}

static bool helper_ready(void)
{
	sigset_t all, old;
	pthread_t t;
	int r;

	if (helper.owner == getpid())
		return true;
	if (sem_init(&helper.go, 0, 0))
		return false;
	if (sem_init(&helper.done, 0, 0)) {
		sem_destroy(&helper.go);
		return false;
	}
	/* signals are the main thread's business (fuzz's Ctrl-C) */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	r = pthread_create(&t, NULL, helper_main, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r) {
		sem_destroy(&helper.go);
		sem_destroy(&helper.done);
		return false;
	}
	pthread_detach(t);
	helper.owner = getpid();
	return true;
}

/* Whether this process may run on one CPU only (a pinned worker, pool.h). */
static bool on_one_cpu(void)
{
	static pid_t asked;
	static bool one;
	cpu_set_t set;

	if (asked != getpid()) {
		one = sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) == 1;
		asked = getpid();
	}
	return one;
}

/*
 * Both sides at once, A on a thread of its own: each side spends most of a
 * scenario waiting for its driver's replies, so playing them one after the
 * other left the CPUs idle half the time (-j 2 did what -j 4 does this way,
 * make bench).  The drivers are started here first, one after the other, so
 * that only the exchanges with two different drivers run concurrently.
 * Except on a worker that has one CPU of its own (pool.h, PS_POOL_PIN):
 * there the two sides could only take turns on it, and one after the other
 * they switch less (about 7% more scenarios a second, make bench).
 */
static int run_both(struct ps_runner *a, struct ps_runner *b, const struct ps_scenario *sc,
		    unsigned method, struct ps_outcome *oa, struct ps_outcome *ob,
		    struct ps_diag *d)
{
	struct ps_wire w = { NULL, 0 };
	struct side sa = { a, sc, &w, method, { 0 }, PS_DIAG_INIT, 0 };
	struct side sb = { b, sc, &w, method, { 0 }, PS_DIAG_INIT, 0 };
	bool threaded;
	int r;

	r = ps_runner_ready(a, d);
	if (!r)
		r = ps_runner_ready(b, d);
	if (!r)
		r = ps_wire_encode(sc, &w, d); /* once for both sides */
	if (r)
		return r;
	threaded = !on_one_cpu() && helper_ready();
	if (threaded) {
		helper.job = &sa;
		sem_post(&helper.go);
	} else {
		run_side(&sa);
	}
	run_side(&sb);
	if (threaded)
		while (sem_wait(&helper.done) && errno == EINTR)
			;
	ps_wire_release(&w);
	if (sa.r || sb.r) {
		if (!sa.r)
			ps_outcome_release(&sa.o);
		if (!sb.r)
			ps_outcome_release(&sb.o);
		return ps_diag(d, sa.r ? sa.r : sb.r, "%s", sa.r ? sa.d.msg : sb.d.msg);
	}
	*oa = sa.o;
	*ob = sb.o;
	return 0;
}

int ps_fuzz_check_run(struct ps_runner *a, struct ps_runner *b, const char *la, const char *lb,
		      const struct ps_scenario *sc, unsigned method, struct ps_fuzz_check *c,
		      struct ps_diag *d)
{
	struct ps_outcome oa, ob;
	char na[64], nb[64];
	int r, oom = 0;

	memset(c, 0, sizeof(*c));
	memset(&oa, 0, sizeof(oa));
	memset(&ob, 0, sizeof(ob));
	r = run_both(a, b, sc, method, &oa, &ob, d);
	if (r)
		return r;
	if (!strcmp(la, lb)) {
		snprintf(na, sizeof(na), "%s(A)", la);
		snprintf(nb, sizeof(nb), "%s(B)", lb);
	} else {
		snprintf(na, sizeof(na), "%s", la);
		snprintf(nb, sizeof(nb), "%s", lb);
	}
	c->va = oa.verdict;
	c->vb = ob.verdict;
	c->text_a = oa.text;
	c->text_b = ob.text;
	oa.text = ob.text = NULL;
	if (oa.verdict != PS_V_PASS || ob.verdict != PS_V_PASS) {
		const struct ps_outcome *o = oa.verdict != PS_V_PASS ? &oa : &ob;
		bool both = oa.verdict == ob.verdict && c->text_a && c->text_b &&
			    !strcmp(c->text_a, c->text_b);

		c->signature = invariant_signature(sc, o, both ? "both" : o == &oa ? na : nb);
		if (asprintf(&c->diff, "%s: %s%s%s", o == &oa ? na : nb, o->detail ? o->detail : "",
			     both ? "" : "\n", "") < 0)
			c->diff = NULL;
		if (!both && c->text_a && c->text_b) {
			char *u = ps_diff_unified(c->text_b, c->text_a, nb, na, &oom);

			if (u) {
				char *all = NULL;

				if (asprintf(&all, "%s%s", c->diff ? c->diff : "", u) >= 0) {
					free(c->diff);
					c->diff = all;
				}
				free(u);
			}
		}
	} else if (c->text_a && c->text_b && strcmp(c->text_a, c->text_b)) {
		c->signature = diff_signature(c->text_b, c->text_a);
		c->diff = ps_diff_unified(c->text_b, c->text_a, nb, na, &oom);
	}
	ps_outcome_release(&oa);
	ps_outcome_release(&ob);
	if ((c->va != PS_V_PASS || c->vb != PS_V_PASS || c->diff) && !c->signature) {
		ps_fuzz_check_release(c);
		return ps_diag(d, -ENOMEM, "out of memory");
	}
	return 0;
}

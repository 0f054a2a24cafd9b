/*
 * procspec fuzz: a session of generated scenarios, each run on two
 * implementations at once (docs/FUZZING.md).  Workers of the pool keep both
 * drivers warm; every divergence is rerun before it counts, grouped by its
 * signature, then the first scenario of each new signature is shrunk, in
 * parallel, and written to the findings directory with the golden of the
 * reference interpreter when that is a real CPython.
 */
#include <errno.h>
#include <fnmatch.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "buf.h"
#include "commands.h"
#include "file.h"
#include "fuzz_diff.h"
#include "fuzz_gen.h"
#include "fuzz_gen_executor.h"
#include "fuzz_shrink.h"
#include "golden.h"
#include "merge.h"
#include "options.h"
#include "pool.h"
#include "proc.h"
#include "select.h"
#include "util.h"

static const struct ps_command_help help = {
	"fuzz",
	"usage: procspec fuzz [--impl A] [--against B] [--seed S] [--seconds N | --runs N]\n"
	"                     [options]\n"
	"       procspec fuzz --dump N [--seed S] [--start I] [generator options]\n"
	"       procspec fuzz --replay SEED:INDEX [--impl A] [--against B] [generator options]\n"
	"       procspec fuzz merge [--report DIR] DIR...   (shards' reports into one)",
	"  exit: 0 nothing new found, 1 new findings, 2 error; stopped by SIGINT, SIGTERM or\n"
	"  SIGHUP: 128 + the signal (130, 143, 129), with the report kept",
};

#define DEFAULT_AGAINST "python:/usr/bin/python3"

struct finding {
	char *signature;
	unsigned long long count;
	uint64_t index; /* of the first scenario that showed it */
	char *text;     /* that scenario */
	char *diff;
	bool known;
	/* after shrinking */
	char *shrunk;
	char *golden; /* B's transcript of the shrunk scenario, with its header */
	char *shrunk_diff;
	unsigned long tries;
	char *path, *golden_path;
	size_t steps;
};

struct known {
	char *glob, *reason;
	unsigned long long count;
};

struct fuzz {
	struct ps_impl ia, ib;
	struct ps_runner ra, rb;
	struct ps_fuzz_gen_opts gen;
	uint64_t seed;
	unsigned long long runs; /* 0: until --seconds */
	struct ps_select shard;  /* shard_total 0: the whole campaign */
	double seconds;
	unsigned jobs, max_findings;
	unsigned pin; /* PS_POOL_PIN, unless --no-pin */
	double step_timeout, shrink_seconds;
	const char *found_dir, *golden_dir, *golden_set, *report_dir, *known_path;
	/* the session */
	double t0, last_status;
	bool tty, stopped_by_time;
	unsigned long long ran, flaky, hits; /* hits: runs that showed a finding */
	struct finding *f;
	size_t n_f, n_new;
	struct known *known;
	size_t n_known;
};

static volatile sig_atomic_t interrupted;
static struct timespec interrupted_at;

/*
 * The first signal stops the session cleanly; a second one ends it at once,
 * unless it comes within a second of the first: timeout(1) signals the
 * harness and then its whole process group, so one timeout is two signals.
 */
static void on_interrupt(int sig)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	if (interrupted) {
		if (now.tv_sec - interrupted_at.tv_sec < 1 ||
		    (now.tv_sec - interrupted_at.tv_sec == 1 &&
		     now.tv_nsec < interrupted_at.tv_nsec))
			return;
		ps_proc_guard();
		raise(sig);
		return;
	}
	interrupted_at = now;
	interrupted = sig;
}

static const char *const kind_names[] = { "all", "process", "executor" };

/* --kind: which scenarios the generator writes (enum ps_fuzz_kind). */
static int opt_kind(const struct ps_option *opt, const char *arg, struct ps_diag *d)
{
	unsigned k;

	for (k = 0; k < ARRAY_SIZE(kind_names); k++)
		if (!strcmp(arg, kind_names[k])) {
			*(unsigned *)opt->value = k;
			return 0;
		}
	return ps_diag(d, PS_EUSAGE, "--kind %s: expected process, executor or all", arg);
}

static int parse_u64(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *end || *s == '-')
		return -1;
	*out = v;
	return 0;
}

static const char *side_label(const struct ps_impl *i)
{
	return i->label;
}

static int load_known(struct fuzz *fz, struct ps_diag *d)
{
	char *src = NULL, *line, *save = NULL;
	size_t len;
	int r;

	if (!fz->known_path || !*fz->known_path)
		return 0;
	r = ps_file_read(fz->known_path, &src, &len);
	if (r == -ENOENT && !strcmp(fz->known_path, "expectations/fuzz.txt"))
		return 0;
	if (r)
		return ps_diag(d, r, "%s: %s", fz->known_path, strerror(-r));
	for (line = strtok_r(src, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *bar = strstr(line, " | ");
		struct known *nk;

		if (!*line || *line == '#')
			continue;
		if (!bar) {
			free(src);
			return ps_diag(d, PS_EUSAGE, "%s: expected 'SIGNATURE-GLOB | reason': %s",
				       fz->known_path, line);
		}
		*bar = '\0';
		nk = realloc(fz->known, (fz->n_known + 1) * sizeof(*nk));
		if (!nk)
			break;
		fz->known = nk;
		nk[fz->n_known].glob = strdup(line);
		nk[fz->n_known].reason = strdup(bar + 3);
		nk[fz->n_known].count = 0;
		fz->n_known++;
	}
	free(src);
	return 0;
}

static struct known *known_match(struct fuzz *fz, const char *sig)
{
	size_t i;

	for (i = 0; i < fz->n_known; i++)
		if (fz->known[i].glob && !fnmatch(fz->known[i].glob, sig, 0))
			return &fz->known[i];
	return NULL;
}

/* --- one run, in a worker -------------------------------------------------- */

static int run_text(struct fuzz *fz, struct ps_runner *ra, const char *text, const char *id,
		    unsigned method, struct ps_fuzz_check *c, struct ps_diag *d)
{
	struct ps_scenario *sc = NULL;
	int r = ps_fuzz_parse(text, id, &sc, d);

	if (r)
		return r;
	r = ps_fuzz_check_run(ra, &fz->rb, side_label(&fz->ia), side_label(&fz->ib), sc, method, c,
			      d);
	ps_scenario_free(sc);
	return r;
}

/*
 * A job: generate scenario (seed, index), run it on both; a divergence is
 * run again and counts (PS_V_FAIL) only when the same signature comes back,
 * otherwise it is flaky (PS_V_XFAIL).  text: the signature; where: the
 * scenario; diff: what differed.
 */
static int fuzz_job(void *ctx, struct ps_runner *rn, const struct ps_job *job,
		    struct ps_job_result *res, struct ps_diag *d)
{
	struct fuzz *fz = ctx;
	struct ps_fuzz_check c = PS_FUZZ_CHECK_INIT, c2 = PS_FUZZ_CHECK_INIT;
	char *text = NULL, id[64];
	unsigned method;
	double t0 = ps_now();
	int r;

	r = ps_fuzz_generate(&fz->gen, fz->seed, job->scenario, &text, &method, d);
	if (r)
		return r;
	snprintf(id, sizeof(id), "%" PRIu64 "-%zu", fz->seed, job->scenario);
	r = run_text(fz, rn, text, id, method, &c, d);
	if (!r && c.signature)
		r = run_text(fz, rn, text, id, method, &c2, d);
	if (r)
		goto out;
	res->verdict = PS_V_PASS;
	if (c.signature) {
		res->verdict = c2.signature && !strcmp(c.signature, c2.signature) ? PS_V_FAIL :
										    PS_V_XFAIL;
		res->text = c.signature;
		res->diff = c.diff;
		res->where = text;
		c.signature = c.diff = NULL;
		text = NULL;
	}
	res->seconds = ps_now() - t0;
out:
	free(text);
	ps_fuzz_check_release(&c);
	ps_fuzz_check_release(&c2);
	return r;
}

/*
 * The campaign index of this shard's jth scenario: shard K of N takes
 * K-1, K-1+N, K-1+2N, ..., so that N shards of --runs R are the indices
 * of one run of --runs N*R, whatever R.
 */
static size_t shard_index(const struct fuzz *fz, uint64_t j)
{
	if (fz->shard.shard_total < 2)
		return (size_t)j;
	return (size_t)(fz->shard.shard_index + j * fz->shard.shard_total);
}

static void status(struct fuzz *fz, bool final)
{
	double t = ps_now() - fz->t0;

	if (!fz->tty)
		return;
	if (!final && t - fz->last_status < 0.2)
		return;
	fz->last_status = t;
	fprintf(stderr,
		"\r\033[Kfuzz: %llu runs, %.0f/s, %llu findings, %zu signatures (%zu new), "
		"%llu flaky, %.0fs",
		fz->ran, t > 0 ? (double)fz->ran / t : 0.0, fz->hits, fz->n_f, fz->n_new, fz->flaky,
		t);
	if (final)
		fputc('\n', stderr);
	fflush(stderr);
}

static bool fuzz_done(void *ctx, size_t index, const struct ps_job *job, struct ps_job_result *res)
{
	struct fuzz *fz = ctx;
	size_t i;

	(void)index;
	if (res->verdict == PS_V_NOTRUN)
		return false;
	fz->ran++;
	if (res->verdict == PS_V_XFAIL && fz->flaky++ < 10) {
		/* Not a finding, but a race in the model or an implementation: say which. */
		if (fz->tty)
			fprintf(stderr, "\r\033[K");
		printf("flaky (did not reproduce): %s (%" PRIu64 ":%zu)\n",
		       res->text ? res->text : "?", fz->seed, job->scenario);
		fflush(stdout);
	}
	if (res->verdict == PS_V_FAIL && res->text) {
		fz->hits++;
		for (i = 0; i < fz->n_f && strcmp(fz->f[i].signature, res->text); i++)
			;
		if (i == fz->n_f) {
			struct finding *nf = realloc(fz->f, (fz->n_f + 1) * sizeof(*nf));
			struct known *k = known_match(fz, res->text);

			if (nf) {
				fz->f = nf;
				memset(&nf[i], 0, sizeof(nf[i]));
				nf[i].signature = res->text;
				nf[i].text = res->where;
				nf[i].diff = res->diff;
				nf[i].index = job->scenario;
				nf[i].known = k != NULL;
				res->text = res->where = res->diff = NULL;
				fz->n_f++;
				if (!k) {
					fz->n_new++;
					if (fz->tty)
						fprintf(stderr, "\r\033[K");
					printf("new: %s (%" PRIu64 ":%zu)\n", nf[i].signature,
					       fz->seed, job->scenario);
					fflush(stdout);
				}
			}
		}
		if (i < fz->n_f) {
			struct known *k = known_match(fz, fz->f[i].signature);

			fz->f[i].count++;
			if (k)
				k->count++;
		}
	}
	status(fz, false);
	if (interrupted)
		return false;
	if (fz->seconds > 0 && ps_now() - fz->t0 >= fz->seconds) {
		fz->stopped_by_time = true;
		return false;
	}
	if (fz->max_findings && fz->n_new >= fz->max_findings)
		return false;
	return true;
}

/* --- shrinking, in a worker ------------------------------------------------- */

struct repro {
	struct fuzz *fz;
	struct ps_runner *ra;
	const char *signature;
	unsigned method;
};

static int repro_fn(void *ctx, const char *text, bool *same, struct ps_diag *d)
{
	struct repro *rp = ctx;
	struct ps_fuzz_check c = PS_FUZZ_CHECK_INIT;
	int r = run_text(rp->fz, rp->ra, text, "shrink", rp->method, &c, d);

	*same = !r && c.signature && !strcmp(c.signature, rp->signature);
	ps_fuzz_check_release(&c);
	return r;
}

static unsigned text_method(const char *text)
{
	const char *m = strstr(text, "\nmethods: ");

	if (!m)
		return PS_M_FORK;
	m += strlen("\nmethods: ");
	return !strncmp(m, "spawn", 5)       ? PS_M_SPAWN :
	       !strncmp(m, "forkserver", 10) ? PS_M_FORKSERVER :
					       PS_M_FORK;
}

/*
 * A shrink job: text gets the shrunk scenario, where B's golden transcript
 * (with its header, when B kept the invariants), diff the shrunk diff,
 * detail "TRIES".
 */
static int shrink_job(void *ctx, struct ps_runner *rn, const struct ps_job *job,
		      struct ps_job_result *res, struct ps_diag *d)
{
	struct fuzz *fz = ctx;
	struct finding *f = &fz->f[job->scenario];
	struct repro rp = { fz, rn, f->signature, text_method(f->text) };
	struct ps_fuzz_check c = PS_FUZZ_CHECK_INIT;
	char *out = NULL;
	size_t tries = 0;
	double t0 = ps_now();
	int r;

	if (fz->shrink_seconds > 0) {
		r = ps_fuzz_shrink(f->text, rp.method, repro_fn, &rp, t0 + fz->shrink_seconds,
				   &interrupted, &out, &tries, d);
		if (r)
			return r;
	} else if (!(out = strdup(f->text))) {
		return ps_diag(d, -ENOMEM, "out of memory");
	}
	r = run_text(fz, rn, out, "found", rp.method, &c, d);
	if (r) {
		free(out);
		return r;
	}
	res->verdict = c.signature && !strcmp(c.signature, f->signature) ? PS_V_FAIL : PS_V_XFAIL;
	res->text = out;
	res->diff = c.diff;
	c.diff = NULL;
	if (fz->rb.drv && c.text_b &&
	    (c.vb == PS_V_PASS || c.vb == PS_V_LEAK || c.vb == PS_V_ORPHAN)) {
		char *h = ps_golden_header(fz->rb.drv->implementation, fz->rb.drv->executable,
					   fz->rb.drv->module, "found/NAME",
					   ps_method_name(rp.method));

		if (h && asprintf(&res->where, "%s%s", h, c.text_b) < 0)
			res->where = NULL;
		free(h);
	}
	if (asprintf(&res->detail, "%zu", tries) < 0)
		res->detail = NULL;
	res->seconds = ps_now() - t0;
	ps_fuzz_check_release(&c);
	return 0;
}

static bool shrink_done(void *ctx, size_t index, const struct ps_job *job,
			struct ps_job_result *res)
{
	struct fuzz *fz = ctx;
	struct finding *f = &fz->f[job->scenario];

	(void)index;
	if (res->verdict == PS_V_NOTRUN)
		return true;
	if (res->verdict == PS_V_XFAIL)
		fprintf(stderr,
			"procspec fuzz: %s: the shrunk scenario no longer shows it; keeping "
			"the first one\n",
			f->signature);
	f->shrunk = res->verdict == PS_V_FAIL ? res->text : strdup(f->text);
	if (res->verdict == PS_V_FAIL)
		res->text = NULL;
	f->golden = res->where;
	f->shrunk_diff = res->diff;
	f->tries = res->detail ? strtoul(res->detail, NULL, 10) : 0;
	res->where = res->diff = NULL;
	return true;
}

/* --- writing findings ------------------------------------------------------- */

static char *slug_of(const char *sig)
{
	struct ps_buf b = PS_BUF_INIT;
	bool dash = false;
	const char *s;

	for (s = sig; *s && b.len < 60; s++) {
		char c = *s;

		if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
			ps_buf_addc(&b, c);
			dash = false;
		} else if (c >= 'A' && c <= 'Z') {
			ps_buf_addc(&b, (char)(c - 'A' + 'a'));
			dash = false;
		} else if (!dash && b.len) {
			ps_buf_addc(&b, '-');
			dash = true;
		}
	}
	while (b.len && b.data[b.len - 1] == '-')
		b.data[--b.len] = '\0';
	if (!b.len)
		ps_buf_adds(&b, "finding");
	return ps_buf_detach(&b);
}

static size_t count_steps(const char *text)
{
	const char *s = strstr(text, "\n\n");
	size_t n = 0;

	for (s = s ? s + 2 : text; *s; s++)
		n += *s == '\n';
	return n;
}

/* B's golden set: --golden-set, or cpython-X.Y[-O] from its hello. */
static char *golden_set_of(struct fuzz *fz, const char *implementation)
{
	int major, minor;
	char *set = NULL;
	size_t i;
	bool opt = false;

	if (fz->golden_set)
		return strdup(fz->golden_set);
	if (!implementation || sscanf(implementation, "CPython %d.%d", &major, &minor) != 2)
		return NULL;
	for (i = 0; fz->ib.argv[i]; i++)
		opt = opt || !strcmp(fz->ib.argv[i], "-O");
	if (asprintf(&set, "cpython-%d.%d%s", major, minor, opt ? "-O" : "") < 0)
		return NULL;
	return set;
}

static int write_finding(struct fuzz *fz, struct finding *f, size_t nth, const char *set)
{
	struct ps_buf b = PS_BUF_INIT;
	char *slug = slug_of(f->signature), *id = NULL, *golden = NULL, *at;
	const char *body = f->shrunk ? f->shrunk : f->text;
	int r = 0;

	if (!slug)
		return -ENOMEM;
	/* Two signatures with one slug: the later one gets a number. */
	{
		size_t i;

		for (i = 0; i < nth; i++) {
			char *other = slug_of(fz->f[i].signature);

			if (other && !strcmp(other, slug) && fz->f[i].path) {
				char *s2 = NULL;

				if (asprintf(&s2, "%s-%zu", slug, nth + 1) >= 0) {
					free(slug);
					slug = s2;
				}
			}
			free(other);
		}
	}
	while (!strncmp(body, "# ", 2) && (at = strchr(body, '\n')))
		body = at + 1; /* the generator's own comment: ours replaces it */
	ps_buf_addf(&b, "# %s and %s differ: %s\n", side_label(&fz->ia), side_label(&fz->ib),
		    f->signature);
	ps_buf_addf(&b,
		    "# Found by procspec fuzz --impl %s --against %s, seed %" PRIu64
		    " index %" PRIu64 " (--replay %" PRIu64 ":%" PRIu64
		    "), %llu hit(s); shrunk from "
		    "%zu to %zu statements.\n",
		    fz->ia.spec, fz->ib.spec, fz->seed, f->index, fz->seed, f->index, f->count,
		    count_steps(f->text), count_steps(body));
	ps_buf_addf(&b, "# signature: %s\n", f->signature);
	ps_buf_adds(&b, "tags: found\n");
	ps_buf_adds(&b, body);
	if (asprintf(&f->path, "%s/%s.scn", fz->found_dir, slug) < 0 || ps_buf_oom(&b)) {
		f->path = NULL;
		r = -ENOMEM;
		goto out;
	}
	f->steps = count_steps(body);
	r = ps_file_write_atomic(f->path, b.data, b.len, true);
	if (r) {
		fprintf(stderr, "procspec fuzz: cannot write %s: %s\n", f->path, strerror(-r));
		goto out;
	}
	if (set && f->golden && (at = strstr(f->golden, "found/NAME"))) {
		if (asprintf(&id, "found/%s", slug) < 0 ||
		    asprintf(&golden, "%.*sfound/%s%s", (int)(at - f->golden), f->golden, slug,
			     at + strlen("found/NAME")) < 0) {
			r = -ENOMEM;
			goto out;
		}
		f->golden_path = ps_golden_path(fz->golden_dir, set,
						ps_method_name(text_method(body)), id);
		if (!f->golden_path) {
			r = -ENOMEM;
			goto out;
		}
		r = ps_file_write_atomic(f->golden_path, golden, strlen(golden), true);
		if (r)
			fprintf(stderr, "procspec fuzz: cannot write %s: %s\n", f->golden_path,
				strerror(-r));
	}
out:
	free(slug);
	free(id);
	free(golden);
	ps_buf_release(&b);
	return r;
}

static int write_report(struct fuzz *fz, double secs, const char *set)
{
	json_t *j, *fa, *ka;
	char *path = NULL, *s = NULL, first[64], methods[64];
	size_t i;
	unsigned m;
	int r = 0;

	if (!fz->report_dir || !*fz->report_dir)
		return 0;
	fa = json_array();
	ka = json_array();
	for (i = 0; i < fz->n_f; i++) {
		struct finding *f = &fz->f[i];

		snprintf(first, sizeof(first), "%" PRIu64 ":%" PRIu64, fz->seed, f->index);
		json_array_append_new(
			fa, json_pack("{s:s, s:I, s:s, s:b, s:s?, s:s?, s:I, s:s?}", "signature",
				      f->signature, "count", (json_int_t)f->count, "first", first,
				      "known", f->known, "file", f->path, "golden", f->golden_path,
				      "steps", (json_int_t)f->steps, "diff",
				      f->shrunk_diff ? f->shrunk_diff : f->diff));
	}
	for (i = 0; i < fz->n_known; i++)
		json_array_append_new(ka,
				      json_pack("{s:s?, s:s?, s:I}", "signature", fz->known[i].glob,
						"reason", fz->known[i].reason, "count",
						(json_int_t)fz->known[i].count));
	methods[0] = '\0';
	for (m = PS_M_FORK; m <= PS_M_FORKSERVER; m <<= 1)
		if (fz->gen.methods & m)
			snprintf(methods + strlen(methods), sizeof(methods) - strlen(methods),
				 "%s%s", methods[0] ? " " : "", ps_method_name(m));
	/* What a merge needs: the indices run, start + stride * j for j < count (merge.h). */
	j = json_pack(
		"{s:i, s:s, s:s, s:I, s:I, s:f, s:f, s:i, s:b, s:s, s:i, s:i, s:I, s:b, s:s?, s:o,"
		" s:o, s:I, s:s, s:[{s:I, s:I, s:I}]}",
		"format", 1, "impl", fz->ia.spec, "against", fz->ib.spec, "seed",
		(json_int_t)fz->seed, "runs", (json_int_t)fz->ran, "seconds", secs,
		"runs_per_second", secs > 0 ? (double)fz->ran / secs : 0.0, "jobs", (int)fz->jobs,
		"faults", fz->gen.faults, "kind", kind_names[fz->gen.kind], "max_steps",
		(int)fz->gen.max_steps, "max_procs", (int)fz->gen.max_procs, "flaky",
		(json_int_t)fz->flaky, "interrupted", interrupted != 0, "golden_set", set,
		"findings", fa, "known", ka, "hits", (json_int_t)fz->hits, "methods", methods,
		"ranges", "start", (json_int_t)shard_index(fz, 0), "stride",
		(json_int_t)(fz->shard.shard_total > 1 ? fz->shard.shard_total : 1), "count",
		(json_int_t)fz->ran);
	if (j && fz->shard.shard_total > 1) {
		snprintf(first, sizeof(first), "%u/%u", fz->shard.shard_index + 1,
			 fz->shard.shard_total);
		json_object_set_new(j, "shard", json_string(first));
	}
	s = j ? json_dumps(j, JSON_INDENT(1) | JSON_SORT_KEYS) : NULL;
	json_decref(j);
	if (!s || asprintf(&path, "%s/fuzz.json", fz->report_dir) < 0) {
		free(s);
		return -ENOMEM;
	}
	{
		size_t n = strlen(s);
		char *s2 = realloc(s, n + 2);

		if (s2) {
			s = s2;
			s[n] = '\n';
			s[n + 1] = '\0';
		}
	}
	r = ps_file_write_atomic(path, s, strlen(s), false);
	if (r)
		fprintf(stderr, "procspec fuzz: cannot write %s: %s\n", path, strerror(-r));
	else
		printf("report: %s\n", path);
	free(path);
	free(s);
	return r;
}

/* --- the commands ----------------------------------------------------------- */

/*
 * The drivers' temporary files (a capture file per stream of every process
 * variable) on tmpfs: creating and unlinking inodes on ext4 was a fifth of a
 * ref-against-ref session's time (perf, make bench).  Only when the user has
 * not chosen a TMPDIR.  Each driver gets a private directory there
 * (tmp.h), removed with it, so nothing is left for the session to remove.
 */
static void fast_tmpdir(void)
{
	if (!getenv("TMPDIR") && access("/dev/shm", W_OK) == 0)
		setenv("TMPDIR", "/dev/shm", 1);
}

static int dump(struct fuzz *fz, uint64_t start, uint64_t n)
{
	struct ps_diag d = PS_DIAG_INIT;
	uint64_t i;

	for (i = start; i < start + n; i++) {
		char *text = NULL;
		unsigned method;

		if (ps_fuzz_generate(&fz->gen, fz->seed, i, &text, &method, &d)) {
			fprintf(stderr, "procspec fuzz: %s\n", d.msg);
			return PS_EXIT_ERROR;
		}
		printf("%s%s", i > start ? "\n" : "", text);
		free(text);
	}
	return fflush(stdout) ? PS_EXIT_ERROR : PS_EXIT_OK;
}

static int replay(struct fuzz *fz, uint64_t index)
{
	struct ps_diag d = PS_DIAG_INIT;
	struct ps_fuzz_check c = PS_FUZZ_CHECK_INIT;
	char *text = NULL, id[64];
	unsigned method;
	int code = PS_EXIT_ERROR;

	if (ps_fuzz_generate(&fz->gen, fz->seed, index, &text, &method, &d)) {
		fprintf(stderr, "procspec fuzz: %s\n", d.msg);
		return PS_EXIT_ERROR;
	}
	fputs(text, stdout);
	snprintf(id, sizeof(id), "%" PRIu64 "-%" PRIu64, fz->seed, index);
	if (run_text(fz, &fz->ra, text, id, method, &c, &d)) {
		fprintf(stderr, "procspec fuzz: %s\n", d.msg);
		goto out;
	}
	printf("\n--- %s (%s)\n%s", side_label(&fz->ia), ps_verdict_word(c.va),
	       c.text_a ? c.text_a : "");
	if (c.signature) {
		printf("\n--- %s (%s)\n%s", side_label(&fz->ib), ps_verdict_word(c.vb),
		       c.text_b ? c.text_b : "");
		printf("\nsignature: %s\n%s%s", c.signature, c.diff ? c.diff : "",
		       c.diff && c.diff[strlen(c.diff) - 1] != '\n' ? "\n" : "");
		code = PS_EXIT_FAIL;
	} else {
		printf("\n%s and %s agree\n", side_label(&fz->ia), side_label(&fz->ib));
		code = PS_EXIT_OK;
	}
out:
	free(text);
	ps_fuzz_check_release(&c);
	ps_runner_release(&fz->ra);
	ps_runner_release(&fz->rb);
	return code;
}

static void fuzz_release(struct fuzz *fz)
{
	size_t i;

	for (i = 0; i < fz->n_f; i++) {
		struct finding *f = &fz->f[i];

		free(f->signature);
		free(f->text);
		free(f->diff);
		free(f->shrunk);
		free(f->golden);
		free(f->shrunk_diff);
		free(f->path);
		free(f->golden_path);
	}
	free(fz->f);
	for (i = 0; i < fz->n_known; i++) {
		free(fz->known[i].glob);
		free(fz->known[i].reason);
	}
	free(fz->known);
	ps_impl_release(&fz->ia);
	ps_impl_release(&fz->ib);
}

static int session(struct fuzz *fz)
{
	struct ps_diag d = PS_DIAG_INIT;
	struct ps_job *jobs = NULL;
	const size_t batch = 100000;
	char *set = NULL;
	double secs;
	size_t i, n, n_shrink = 0;
	uint64_t base = 0;
	int r = 0, code = PS_EXIT_ERROR;

	printf("procspec fuzz: %s against %s, seed %" PRIu64 ", %s, -j %u%s", fz->ia.label,
	       fz->ib.label, fz->seed, fz->runs ? "a number of runs" : "for a time", fz->jobs,
	       fz->gen.faults ? ", with faults" : "");
	if (fz->shard.shard_total > 1)
		printf(", shard %u/%u", fz->shard.shard_index + 1, fz->shard.shard_total);
	printf("\n");
	for (i = 0; i < fz->gen.n_lacking; i++)
		printf("%s%s", i ? ", " : "not generated (a driver's hello lacks it): ",
		       fz->gen.lacking[i]);
	if (fz->gen.n_lacking)
		printf("\n");
	fflush(stdout);
	jobs = calloc(batch, sizeof(*jobs));
	if (!jobs)
		goto out;
	fz->t0 = ps_now();
	while (!interrupted) {
		n = batch;
		if (fz->runs && fz->runs - base < n)
			n = (size_t)(fz->runs - base);
		if (!n)
			break;
		for (i = 0; i < n; i++) {
			jobs[i].scenario = shard_index(fz, base + i);
			jobs[i].method = PS_M_FORK;
		}
		r = ps_pool_run(jobs, n, fz->jobs, fz->pin, &fz->ra, fuzz_job, fuzz_done, fz, &d);
		if (r) {
			fprintf(stderr, "\nprocspec fuzz: %s\n", d.msg);
			break;
		}
		base += n;
		if (fz->stopped_by_time || (fz->max_findings && fz->n_new >= fz->max_findings))
			break;
	}
	secs = ps_now() - fz->t0;
	status(fz, true);
	/* Shrink the first scenario of every new signature, in parallel. */
	for (i = 0; i < fz->n_f; i++)
		if (!fz->f[i].known)
			jobs[n_shrink++].scenario = i;
	if (n_shrink && !r) {
		if (!interrupted && fz->shrink_seconds > 0)
			printf("shrinking %zu finding(s)...\n", n_shrink);
		fflush(stdout);
		r = ps_pool_run(jobs, n_shrink, fz->jobs, fz->pin, &fz->ra, shrink_job, shrink_done,
				fz, &d);
		if (r)
			fprintf(stderr, "procspec fuzz: %s\n", d.msg);
		if (!strncmp(fz->ib.spec, "python:", 7) || fz->golden_set) {
			struct ps_runner hb = fz->rb;

			if (ps_runner_ready(&hb, &d) == 0)
				set = golden_set_of(fz, hb.drv->implementation);
			ps_runner_release(&hb);
		}
		for (i = 0; i < fz->n_f; i++)
			if (!fz->f[i].known)
				write_finding(fz, &fz->f[i], i, set);
	}
	printf("fuzz: %llu runs in %.1f s (%.1f/s), seed %" PRIu64
	       ": %zu new finding(s), %zu known, "
	       "%llu flaky\n",
	       fz->ran, secs, secs > 0 ? (double)fz->ran / secs : 0.0, fz->seed, fz->n_new,
	       fz->n_f - fz->n_new, fz->flaky);
	for (i = 0; i < fz->n_f; i++) {
		struct finding *f = &fz->f[i];

		printf("  %-5s %s  x%llu  first %" PRIu64 ":%" PRIu64 "%s%s%s\n",
		       f->known ? "known" : "NEW", f->signature, f->count, fz->seed, f->index,
		       f->path ? "  -> " : "", f->path ? f->path : "",
		       f->golden_path ? " (+ golden)" : "");
	}
	write_report(fz, secs, set);
	code = interrupted ? 128 + interrupted :
	       r           ? PS_EXIT_ERROR :
	       fz->n_new   ? PS_EXIT_FAIL :
			     PS_EXIT_OK;
	if (interrupted)
		printf("fuzz: interrupted; what was found is kept\n");
out:
	free(jobs);
	free(set);
	return code;
}

/*
 * --faults needs both drivers to carry out the fault verbs: a driver that
 * cannot would make every run an error on its side.  Try one arm and clear
 * on each, before the session.
 */
static int probe_faults(struct fuzz *fz)
{
	static const char probe[] =
		"methods: fork\n\n"
		"fault('posix/proc/fork', errno=errno.EAGAIN, count=1, after=0)\nfaults_clear()\n";
	struct ps_runner *sides[2] = { &fz->ra, &fz->rb };
	struct ps_diag d = PS_DIAG_INIT;
	struct ps_scenario *sc = NULL;
	size_t i;
	int r = ps_fuzz_parse(probe, "faults-probe", &sc, &d);

	for (i = 0; !r && i < 2; i++) {
		struct ps_runner rn = *sides[i];
		struct ps_outcome o;

		r = ps_run_scenario(&rn, sc, PS_M_FORK, &o, &d);
		if (!r) {
			if (o.verdict != PS_V_PASS)
				r = ps_diag(&d, PS_EDRIVER, "--faults: %s cannot arm a fault: %s",
					    rn.impl->label,
					    o.detail ? o.detail : ps_verdict_word(o.verdict));
			ps_outcome_release(&o);
		}
		ps_runner_release(&rn);
	}
	if (r)
		fprintf(stderr, "procspec fuzz: %s\n", d.msg);
	ps_scenario_free(sc);
	return r;
}

/*
 * What the generator may use: the optional features both drivers' hellos
 * declare (docs/FUZZING.md, Generated scenarios), and of the executor's, what
 * both declare: a driver without ProcessPoolExecutor gets Process scenarios
 * only (and --kind executor is refused), one before 3.9 no cancel_futures,
 * and so on (fuzz_gen_executor.c).  Each driver is started once for both.
 */
static int probe_features(struct fuzz *fz)
{
	struct ps_runner *sides[2] = { &fz->ra, &fz->rb };
	struct ps_diag d = PS_DIAG_INIT;
	size_t i;
	int r = 0;

	for (i = 0; !r && i < 2; i++) {
		struct ps_runner rn = *sides[i];

		r = ps_runner_ready(&rn, &d);
		if (!r && (fz->gen.methods & ~rn.drv->methods))
			r = ps_diag(&d, PS_EUSAGE, "--method %s: %s's hello does not declare it",
				    ps_method_name(fz->gen.methods & ~rn.drv->methods &
						   -(fz->gen.methods & ~rn.drv->methods)),
				    rn.impl->label);
		if (!r) {
			ps_fuzz_gen_lacking(&fz->gen, rn.drv);
			fz->gen.ex_missing |= ps_fuzz_exec_missing(rn.drv);
		}
		ps_runner_release(&rn);
	}
	if (r) {
		fprintf(stderr, "procspec fuzz: %s\n", d.msg);
		return r;
	}
	if (fz->gen.kind == PS_FUZZ_KIND_EXECUTOR && (fz->gen.ex_missing & PS_FUZZ_EX_EXECUTOR)) {
		fprintf(stderr,
			"procspec fuzz: --kind executor: %s or %s has no ProcessPoolExecutor\n",
			fz->ia.label, fz->ib.label);
		return PS_EUSAGE;
	}
	return 0;
}

int ps_cmd_fuzz(int argc, char **argv)
{
	struct fuzz fz;
	struct ps_diag d = PS_DIAG_INIT;
	struct ps_fuzz_gen_opts gen = PS_FUZZ_GEN_OPTS_INIT;
	const char *impl = "ref", *against = DEFAULT_AGAINST, *replay_arg = NULL;
	uint64_t dump_n = 0, start = 0, replay_index = 0;
	bool seed_set = false, dumping = false;
	unsigned methods = 0;
	long nproc = sysconf(_SC_NPROCESSORS_ONLN);
	int r, code = PS_EXIT_ERROR;
	bool no_pin = false;
	const struct ps_option opts[] = {
		PS_OPT_IMPL(&impl, "the implementation under test (default ref)"),
		PS_OPT_STRING(0, "against", &against, "B",
			      "the one it is compared with (default python:/usr/bin/python3)"),
		{ .type = PS_OPT_U64_,
		  .long_name = "seed",
		  .value = &fz.seed,
		  .argh = "S",
		  .min = 0,
		  .max = (double)UINT64_MAX,
		  .seen = &seed_set,
		  .help = "the session's seed (default: from the clock, printed)" },
		PS_OPT_DOUBLE(0, "seconds", &fz.seconds, "N", 0, PS_SESSION_SECONDS_MAX,
			      PS_OPTF_GT_MIN,
			      "run for N seconds (default 60 unless --runs is given)"),
		PS_OPT_U64(0, "runs", &fz.runs, "N", 1, 1e15, "run N scenarios, indices 0 .. N-1"),
		PS_OPT_CALLBACK(
			0, "shard", &fz.shard, "K/N", ps_opt_shard,
			"the K-th of N disjoint parts of the campaign: indices K-1, K-1+N,\n"
			"K-1+2N, ... (--runs counts this shard's; also TEST_TOTAL_SHARDS,\n"
			"TEST_SHARD_INDEX); 'procspec fuzz merge' combines the reports"),
		PS_OPT_JOBS(
			&fz.jobs,
			"worker processes, each with both drivers warm "
			"(default: CPUs);\neach on a CPU of its own when there are as many CPUs"),
		PS_OPT_FLAG(0, "no-pin", &no_pin, "let the scheduler place the workers"),
		PS_OPT_METHOD(&methods, "fork, spawn or forkserver; repeatable (default fork)"),
		PS_OPT_FLAG(0, "faults", &gen.faults, "arm failpoints at random steps"),
		PS_OPT_CALLBACK(0, "kind", &gen.kind, "K", opt_kind,
				"process, executor or all (default: all, one executor\n"
				"scenario in four where both drivers have ProcessPoolExecutor)"),
		PS_OPT_INT(0, "max-steps", &gen.max_steps, "N", 1, 200,
			   "statements per scenario, at most (12)"),
		PS_OPT_INT(0, "max-procs", &gen.max_procs, "N", 1, 5,
			   "processes per scenario, at most (3, up to 5)"),
		PS_OPT_INT(0, "max-findings", &fz.max_findings, "N", 0, 1e9,
			   "stop once N new signatures are found"),
		PS_OPT_STRING(0, "found-dir", &fz.found_dir, "DIR",
			      "where shrunk findings go (scenarios/found)"),
		PS_OPT_STRING(0, "golden-dir", &fz.golden_dir, "DIR",
			      "where their golden files go (golden), when B is python:"),
		PS_OPT_STRING(0, "golden-set", &fz.golden_set, "SET",
			      "the golden set they go to (default: from B's version, cpython-X.Y)"),
		PS_OPT_STRING(0, "known", &fz.known_path, "FILE",
			      "known signatures, 'GLOB | reason' a line (expectations/fuzz.txt)"),
		PS_OPT_REPORT(&fz.report_dir, "where fuzz.json goes (reports/fuzz; '' for none)"),
		PS_OPT_DOUBLE(0, "shrink-seconds", &fz.shrink_seconds, "N", 0,
			      PS_SESSION_SECONDS_MAX, 0,
			      "time to shrink each finding (60); 0: no shrinking"),
		PS_OPT_TIMEOUT(&fz.step_timeout),
		{ .type = PS_OPT_U64_,
		  .long_name = "dump",
		  .value = &dump_n,
		  .argh = "N",
		  .min = 0,
		  .max = 1e15,
		  .seen = &dumping,
		  .help = "print the scenarios of indices I .. I+N-1 and exit" },
		PS_OPT_U64(0, "start", &start, "I", 0, 1e15, "the first index --dump prints (0)"),
		PS_OPT_STRING(0, "replay", &replay_arg, "SEED:INDEX",
			      "run one scenario of a session again, and show its diff"),
		PS_OPT_END(),
	};

	if (argc > 1 && !strcmp(argv[1], "merge"))
		return ps_merge_fuzz(argc - 1, argv + 1);
	memset(&fz, 0, sizeof(fz));
	fz.jobs = nproc > 0 ? (unsigned)nproc : 1;
	fz.pin = PS_POOL_PIN;
	fz.step_timeout = 10.0;
	fz.shrink_seconds = 60.0;
	fz.found_dir = "scenarios/found";
	fz.golden_dir = "golden";
	fz.report_dir = "reports/fuzz";
	fz.known_path = "expectations/fuzz.txt";
	r = ps_options_parse(&help, opts, argc, argv, NULL, NULL, &d);
	if (r)
		return ps_options_exit(r, &d);
	if (no_pin)
		fz.pin = 0;
	gen.methods = methods ? methods : PS_M_FORK;
	fz.gen = gen;
	if (replay_arg) {
		const char *colon = strchr(replay_arg, ':');
		char seed[32];

		if (!colon || (size_t)(colon - replay_arg) >= sizeof(seed))
			goto bad_replay;
		memcpy(seed, replay_arg, (size_t)(colon - replay_arg));
		seed[colon - replay_arg] = '\0';
		if (parse_u64(seed, &fz.seed) || parse_u64(colon + 1, &replay_index))
			goto bad_replay;
		seed_set = true;
	}
	if (!seed_set) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		fz.seed = ((uint64_t)ts.tv_sec * 1000003u) ^ (uint64_t)ts.tv_nsec ^
			  ((uint64_t)getpid() << 32);
		fz.seed %= 1000000000000ull; /* short enough to type again */
	}
	/* Without drivers named, --dump starts none: ref and the default
	 * CPython declare every feature.  With them, it prints what a session
	 * of those two runs (probe_features). */
	if (dumping && !strcmp(impl, "ref") && !strcmp(against, DEFAULT_AGAINST))
		return dump(&fz, start, dump_n);
	if (!dumping && !replay_arg && ps_select_bazel(&fz.shard, &d)) {
		fprintf(stderr, "procspec fuzz: %s\n", d.msg);
		return PS_EXIT_ERROR;
	}
	if (!fz.runs && fz.seconds == 0)
		fz.seconds = 60;
	if (ps_impl_parse(impl, &fz.ia, &d) || ps_impl_parse(against, &fz.ib, &d)) {
		fprintf(stderr, "procspec fuzz: %s\n", d.msg);
		goto out;
	}
	if (load_known(&fz, &d)) {
		fprintf(stderr, "procspec fuzz: %s\n", d.msg);
		goto out;
	}
	fz.ra.impl = &fz.ia;
	fz.rb.impl = &fz.ib;
	fz.ra.step_timeout = fz.rb.step_timeout = ps_scaled(fz.step_timeout);
	fz.ra.hello_timeout = fz.rb.hello_timeout = ps_scaled(30.0);
	fz.tty = isatty(STDERR_FILENO);
	if (!gen.faults && !getenv("PROCSPEC_NO_FAULTS"))
		setenv("PROCSPEC_NO_FAULTS", "1",
		       1); /* the preloads cost 40% of a run (make bench) */
	ps_proc_on_interrupts(on_interrupt);
	if (gen.faults && !dumping && probe_faults(&fz) != 0)
		goto out;
	fast_tmpdir();
	if (probe_features(&fz) != 0)
		goto out;
	code = dumping    ? dump(&fz, start, dump_n) :
	       replay_arg ? replay(&fz, replay_index) :
			    session(&fz);
out:
	fuzz_release(&fz);
	return code;
bad_replay:
	fprintf(stderr, "procspec fuzz: --replay %s: expected SEED:INDEX\n", replay_arg);
	return PS_EXIT_ERROR;
}

/* procspec matrix: several implementations over the same scenarios, side by side. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "buf.h"
#include "commands.h"
#include "file.h"
#include "matrix.h"
#include "merge.h"
#include "paths.h"
#include "play.h"
#include "proc.h"
#include "report.h"
#include "tmp.h"
#include "util.h"

static const struct ps_command_help help = {
	"matrix",
	"usage: procspec matrix [PATH...] [--impl ID[=SET]]... [options]\n"
	"       procspec matrix merge [--report DIR] DIR...   (the parts' reports into one)\n"
	"Runs every implementation over the scenarios, each against the golden set of the\n"
	"CPython version it follows (from its driver's hello, as --golden auto), applies\n"
	"its expectations/<label>.txt, and writes DIR/matrix.json and DIR/matrix.html:\n"
	"one row per scenario and start method, one column per implementation.",
	"Exit status: 0 when every cell passes, is an expected divergence or does not apply;\n"
	"1 when any cell fails; 2 on usage errors.",
};

/* One column to be: the id as given, the spec it names, and a forced golden set. */
struct column {
	const char *id;
	char *spec;
	char *set; /* from ID=SET, or NULL for the set it follows */
};

/* A column as it plays: the matrix's sink first, so that rep->sink is both. */
struct ctx {
	struct ps_matrix_sink sink;
	const char *id;
	const char *set;
};

static bool dir_exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* "cpython-X.Y" or "cpython-X.Y-O": its version as a sortable number, or -1. */
static long set_rank(const char *name)
{
	const char *v = name + 8;
	char *e;
	long x, y;

	if (strncmp(name, "cpython-", 8) || !isdigit((unsigned char)*v))
		return -1;
	x = strtol(v, &e, 10);
	if (*e != '.' || !isdigit((unsigned char)e[1]))
		return -1;
	y = strtol(e + 1, &e, 10);
	if (*e && strcmp(e, "-O"))
		return -1;
	return (x * 1000 + y) * 2 + (*e ? 1 : 0);
}

static int by_rank(const void *a, const void *b)
{
	long x = set_rank(*(char *const *)a), y = set_rank(*(char *const *)b);

	return x < y ? -1 : x > y;
}

/* The default columns: ref, cpython-<each set in golden_dir>, pypy3, billiard, multiprocess,
 * and the executor peers loky, loky-reusable and pebble. */
static int default_ids(const char *golden_dir, char ***out, size_t *n)
{
	static const char *const fixed_head[] = { "ref" };
	static const char *const fixed_tail[] = { "pypy3", "billiard",      "multiprocess",
						  "loky",  "loky-reusable", "pebble" };
	DIR *dir = opendir(golden_dir);
	struct dirent *de;
	char **v = NULL, **nv;
	size_t k = 0, i, nsets = 0;

	*out = NULL;
	*n = 0;
	v = calloc(2, sizeof(*v));
	if (!v)
		goto oom;
	for (i = 0; i < 1; i++)
		if (!(v[k++] = strdup(fixed_head[i])))
			goto oom;
	while (dir && (de = readdir(dir))) {
		if (set_rank(de->d_name) < 0)
			continue;
		nv = realloc(v, (k + 2) * sizeof(*v));
		if (!nv)
			goto oom;
		v = nv;
		if (!(v[k++] = strdup(de->d_name)))
			goto oom;
		nsets++;
	}
	qsort(v + 1, nsets, sizeof(*v), by_rank);
	for (i = 0; i < ARRAY_SIZE(fixed_tail); i++) {
		nv = realloc(v, (k + 1) * sizeof(*v));
		if (!nv)
			goto oom;
		v = nv;
		if (!(v[k++] = strdup(fixed_tail[i])))
			goto oom;
	}
	if (dir)
		closedir(dir);
	*out = v;
	*n = k;
	return 0;
oom:
	if (dir)
		closedir(dir);
	for (i = 0; i < k; i++)
		free(v[i]);
	free(v);
	return -ENOMEM;
}

/*
 * ID=SET: split off SET when it reads as a set name (no spaces or slashes)
 * and golden_dir has it, so a cmd: spec's own "--opt=x" stays whole.
 * PS_EUSAGE for a short id (no ':') with a set golden_dir does not have.
 */
static int split_set(const char *id, const char *golden_dir, struct column *c, struct ps_diag *d)
{
	const char *eq = strrchr(id, '='), *p;
	struct ps_buf b = PS_BUF_INIT;
	bool name = eq && eq > id && eq[1];

	c->id = id;
	for (p = eq ? eq + 1 : ""; name && *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr("._-@", *p))
			name = false;
	if (name) {
		ps_buf_addf(&b, "%s/%s", golden_dir, eq + 1);
		if (ps_buf_oom(&b))
			return ps_diag(d, -ENOMEM, "out of memory");
		if (!dir_exists(b.data)) {
			if (!memchr(id, ':', (size_t)(eq - id))) {
				ps_diag(d, PS_EUSAGE, "--impl %s: no golden set %s", id, b.data);
				ps_buf_release(&b);
				return PS_EUSAGE;
			}
			name = false;
		}
		ps_buf_release(&b);
	}
	c->spec = name ? strndup(id, (size_t)(eq - id)) : strdup(id);
	c->set = name ? strdup(eq + 1) : NULL;
	if (!c->spec || (name && !c->set))
		return ps_diag(d, -ENOMEM, "out of memory");
	return 0;
}

static bool cell_done(void *vctx, const struct ps_scenario *sc, const char *method,
		      struct ps_job_result *res)
{
	ps_report_add(vctx, sc->id, method, res);
	return true;
}

/* The console of a column: a progress line on a terminal. */
static void console_add(struct ps_report *rep, const struct ps_report_item *it)
{
	const struct ctx *c = rep->sink;

	if (rep->tty) {
		fprintf(stdout, "\r\033[K[%zu/%zu] %s: %s [%s]", it->n, rep->total, c->id, it->id,
			it->method);
		fflush(stdout);
	}
}

/*
 * Then one line: "ref (procref 0.2 ...) vs cpython-3.11: 213/213 pass
 * (100.0%), 0 xfail, 0 failed, 0 skipped, 2.1s".
 */
static void console_finish(struct ps_report *rep, const struct ps_report_totals *t)
{
	const struct ctx *c = rep->sink;
	const unsigned *counts = rep->counts;
	unsigned v, applicable = (unsigned)rep->done - t->skipped;

	if (rep->tty)
		fputs("\r\033[K", stdout);
	printf("%s (%s) vs %s: %u/%u pass", c->id, t->implementation,
	       c->set ? c->set : "no golden set", counts[PS_V_PASS], applicable);
	if (applicable)
		printf(" (%.1f%%)", 100.0 * counts[PS_V_PASS] / applicable);
	printf(", %u xfail, %u failed", counts[PS_V_XFAIL], t->failed);
	if (t->failed) {
		const char *sep = " (";

		for (v = PS_V_FAIL; v < PS_V_COUNT; v++)
			if (counts[v]) {
				printf("%s%u %s", sep, counts[v],
				       ps_verdict_word((enum ps_verdict)v));
				sep = ", ";
			}
		printf(")");
	}
	printf(", %u skipped, %.1fs\n", t->skipped, ps_now() - c->sink.t0);
	fflush(stdout);
}

static const struct ps_reporter matrix_console = { "matrix-console", console_add, console_finish };

/* A column's reporters: its cells into the matrix, then its line on the console. */
static const struct ps_reporter *const column_reporters[] = {
	&ps_reporter_matrix,
	&matrix_console,
	NULL,
};

/* A copy of the array of sv, its strings shared. */
static int strv_dup(const struct ps_strv *sv, char ***v, size_t *n)
{
	*v = NULL;
	*n = 0;
	if (!sv->n)
		return 0;
	*v = malloc(sv->n * sizeof(**v));
	if (!*v)
		return -ENOMEM;
	memcpy(*v, sv->v, sv->n * sizeof(**v));
	*n = sv->n;
	return 0;
}

/* Play one column, with the options of tmpl; a column that cannot start is recorded, not fatal. */
static int play_column(struct ps_matrix *m, struct column *col, const struct ps_suite *tmpl,
		       const char *golden_dir, struct ps_diag *d)
{
	struct ps_suite s;
	struct ps_play p;
	struct ps_report rep;
	struct ctx c;
	struct ps_strv pat = { tmpl->select.patterns, tmpl->select.n_patterns };
	struct ps_strv tags = { tmpl->select.tags, tmpl->select.n_tags };
	char *set = NULL;
	double t0 = ps_now();
	int r, ci = -1;

	memset(&p, 0, sizeof(p));
	memset(&c, 0, sizeof(c));
	ps_suite_init(&s);
	s.impl_spec = col->spec;
	s.methods = tmpl->methods;
	s.step_timeout = tmpl->step_timeout;
	s.jobs = tmpl->jobs;
	s.select.shard_index = tmpl->select.shard_index;
	s.select.shard_total = tmpl->select.shard_total;
	/* each column's suite owns its arrays, as one parsed from a command line does */
	r = strv_dup(&tmpl->args, &s.args.v, &s.args.n);
	if (!r)
		r = strv_dup(&pat, &s.select.patterns, &s.select.n_patterns);
	if (!r)
		r = strv_dup(&tags, &s.select.tags, &s.select.n_tags);
	if (r) {
		r = ps_diag(d, r, "out of memory");
		goto out;
	}
	r = ps_suite_finish(&s, &help, d);
	if (!r)
		r = ps_suite_load(&s, d);
	if (r)
		goto out; /* the same for every column: the caller stops */
	s.golden_dir = golden_dir;
	r = ps_runner_ready(&s.runner, d);
	if (!r && col->set)
		set = strdup(col->set);
	else if (!r)
		r = ps_impl_golden_auto(s.runner.drv, golden_dir, &set, d);
	s.golden_set = set;
	if (!r)
		r = ps_play_init(&p, &s, d);
	ci = ps_matrix_column(m, col->id, s.impl.label,
			      s.runner.drv ? s.runner.drv->implementation : p.implementation, set,
			      p.expect.path);
	if (ci < 0) {
		r = ps_diag(d, -ENOMEM, "out of memory");
		goto out;
	}
	if (r) {
		/* The driver never said hello, or no golden set fits: a column of errors. */
		printf("%s: ERROR: %s\n", col->id, d->msg);
		ps_matrix_column_error(m, ci, d->msg, ps_now() - t0);
		r = 0;
		goto out;
	}
	c.sink.m = m;
	c.sink.col = ci;
	c.sink.t0 = t0;
	c.id = col->id;
	c.set = set;
	ps_report_init(&rep, s.impl.label, set, NULL, stdout, p.n, false);
	rep.reporters = column_reporters;
	rep.sink = &c;
	r = ps_play_run(&p, cell_done, &rep, d);
	if (!r && c.sink.err)
		r = ps_diag(d, c.sink.err, "out of memory");
	if (r) {
		if (rep.tty)
			fputs("\r\033[K", stdout);
		printf("%s: ERROR: %s\n", col->id, d->msg);
		ps_matrix_column_error(m, ci, d->msg, ps_now() - t0);
		r = 0;
	} else {
		ps_report_finish(&rep, p.implementation);
	}
	ps_report_release(&rep);
out:
	ps_play_release(&p);
	ps_suite_release(&s);
	free(set);
	return r;
}

/*
 * Side by side: each column plays in a process of its own (forked from
 * this one, so the suite's options and the loaded scenarios are shared),
 * at most `at_once` of them at a time, each with its own pool of workers.
 * A column's console lines go to a memfd and its cells to another, as
 * ps_matrix_column_export JSON; this process takes them in column order,
 * so the console and the report are the same as when the columns play one
 * after the other.  The point: an implementation waiting on a timer, on a
 * fresh interpreter's start-up or on its driver's hello leaves the CPUs
 * to the others.
 */
struct side {
	pid_t pid;
	int out_fd;  /* the column's console */
	int json_fd; /* its cells, or {"error": ...} when it could not play */
	bool done;
	int status;
};

static void side_close(struct side *c)
{
	if (c->out_fd >= 0)
		close(c->out_fd);
	if (c->json_fd >= 0)
		close(c->json_fd);
	c->out_fd = c->json_fd = -1;
}

/* In the column's process: play it, write its part, and never return. */
static void side_child(struct side *c, struct column *col, const struct ps_suite *tmpl,
		       const char *golden_dir)
{
	struct ps_matrix one = PS_MATRIX_INIT;
	struct ps_diag d = PS_DIAG_INIT;
	json_t *part = NULL;
	char *text = NULL;
	int r, code = PS_EXIT_ERROR;

	if (dup2(c->out_fd, STDOUT_FILENO) < 0)
		_exit(PS_EXIT_ERROR);
	r = ps_matrix_init(&one) ? ps_diag(&d, -ENOMEM, "out of memory") : 0;
	if (!r)
		r = play_column(&one, col, tmpl, golden_dir, &d);
	if (!r && !(part = ps_matrix_column_export(&one, 0)))
		r = ps_diag(&d, -ENOMEM, "out of memory");
	if (r)
		part = json_pack("{s:s}", "error", d.msg);
	text = part ? json_dumps(part, JSON_COMPACT) : NULL;
	if (text && !ps_write_all(c->json_fd, text, strlen(text)) && !r)
		code = PS_EXIT_OK;
	free(text);
	json_decref(part);
	ps_matrix_release(&one);
	fflush(stdout);
	ps_tmp_remove_own();
	_exit(code);
}

static int side_start(struct side *c, struct column *col, const struct ps_suite *tmpl,
		      const char *golden_dir, struct ps_diag *d)
{
	c->out_fd = memfd_create("procspec-matrix-console", MFD_CLOEXEC);
	c->json_fd = memfd_create("procspec-matrix-column", MFD_CLOEXEC);
	if (c->out_fd < 0 || c->json_fd < 0) {
		side_close(c);
		return ps_diag(d, -errno, "memfd_create: %s", strerror(errno));
	}
	fflush(NULL); /* nothing buffered may be written twice */
	c->pid = fork();
	if (c->pid < 0) {
		side_close(c);
		return ps_diag(d, -errno, "fork: %s", strerror(errno));
	}
	if (c->pid == 0)
		side_child(c, col, tmpl, golden_dir);
	ps_proc_guard_worker(c->pid, true);
	return 0;
}

/* The whole of fd from its start, NUL-terminated; NULL when out of memory. */
static char *slurp(int fd)
{
	struct ps_buf b = PS_BUF_INIT;
	char chunk[65536];
	off_t off = 0;
	ssize_t n;

	for (;;) {
		n = pread(fd, chunk, sizeof(chunk), off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		ps_buf_add(&b, chunk, (size_t)n);
		off += n;
	}
	return ps_buf_detach(&b);
}

/* Take in a finished column: its console lines, then its cells.  0 or negative (d filled). */
static int side_take(struct ps_matrix *m, struct side *c, const char *id, struct ps_diag *d)
{
	char *out = slurp(c->out_fd), *text = slurp(c->json_fd);
	json_t *part = text ? json_loads(text, 0, NULL) : NULL;
	const char *err = json_string_value(json_object_get(part, "error"));
	int r = 0;

	if (out)
		fputs(out, stdout);
	fflush(stdout);
	if (!out || !text)
		r = ps_diag(d, -ENOMEM, "out of memory");
	else if (err)
		r = ps_diag(d, PS_EUSAGE, "%s", err);
	else if (!part || !WIFEXITED(c->status) || WEXITSTATUS(c->status) != PS_EXIT_OK) {
		char why[64];
		struct ps_exit e;

		ps_exit_from_status(c->status, &e);
		r = ps_diag(d, PS_EUSAGE, "column %s: its process ended with %s and no result", id,
			    ps_exit_describe(&e, why, sizeof(why)));
	} else if ((r = ps_matrix_column_import(m, part)) < 0)
		r = ps_diag(d, r, "column %s: %s", id,
			    r == -ENOMEM ? "out of memory" : "a malformed result");
	else
		r = 0;
	json_decref(part);
	free(out);
	free(text);
	side_close(c);
	return r;
}

static int play_side_by_side(struct ps_matrix *m, struct column *cols, size_t n, unsigned at_once,
			     const struct ps_suite *tmpl, const char *golden_dir, struct ps_diag *d)
{
	struct side *c = calloc(n + 1, sizeof(*c));
	size_t started = 0, taken = 0, running = 0, i;
	int r = 0, st;
	pid_t pid;

	if (!c)
		return ps_diag(d, -ENOMEM, "out of memory");
	for (i = 0; i < n; i++) {
		c[i].pid = -1;
		c[i].out_fd = c[i].json_fd = -1;
	}
	ps_tmp_init(); /* the columns' drivers' directories are named after this process */
	while (taken < n) {
		while (!r && running < at_once && started < n) {
			r = side_start(&c[started], &cols[started], tmpl, golden_dir, d);
			if (r)
				break;
			started++;
			running++;
		}
		/* what is finished, in column order */
		while (!r && taken < started && c[taken].done)
			r = side_take(m, &c[taken], cols[taken].id, d), taken++;
		if (r || taken == n)
			break;
		pid = waitpid(-1, &st, 0);
		if (pid < 0 && errno == EINTR)
			continue;
		if (pid < 0) {
			r = ps_diag(d, -errno, "waitpid: %s", strerror(errno));
			break;
		}
		for (i = taken; i < started; i++)
			if (c[i].pid == pid && !c[i].done) {
				ps_proc_guard_worker(pid, false);
				c[i].done = true;
				c[i].status = st;
				running--;
			}
		/* anything else was reparented to this subreaper, and is now reaped */
	}
	/* on an error, the columns still playing are stopped */
	for (i = taken; i < started; i++) {
		if (!c[i].done) {
			kill(c[i].pid, SIGTERM);
			while (waitpid(c[i].pid, &st, 0) < 0 && errno == EINTR)
				;
			ps_proc_guard_worker(c[i].pid, false);
		}
		side_close(&c[i]);
	}
	if (r)
		ps_proc_sweep();
	free(c);
	return r;
}

/* The golden set and expectations are each column's own. */
static int per_column(const struct ps_option *opt, const char *arg, struct ps_diag *d)
{
	(void)arg;
	return ps_diag(d, PS_EUSAGE,
		       "--%s: each implementation has its own golden set and "
		       "expectations (force a set with --impl ID=SET)",
		       opt->long_name);
}

/* The options of matrix: the columns into ids, the rest into tmpl, each column's template. */
static int options(struct ps_suite *tmpl, struct ps_strv *ids, const char **report,
		   unsigned *columns, int argc, char **argv, struct ps_diag *d)
{
	const struct ps_option opts[] = {
		PS_OPT_LIST(
			'i', "impl", ids, "ID",
			"as for 'procspec run --impl': ref, ref@X.Y[-O], cpython-X.Y[-O],\npypy3, billiard, multiprocess, loky, loky-reusable, pebble,\n"
			"python:..., cmd:...; "
			"repeatable.\nWithout it: ref, every local CPython with a golden set\n"
			"(cpython-X.Y, cpython-X.Y-O), pypy3, billiard, multiprocess,\n"
			"loky, loky-reusable and pebble (executor scenarios only),\n"
			"each missing one reported as 'SKIP: ID: why'\n"
			"--impl ID=SET compares ID with golden set SET instead\n"
			"(ref@3.8=cpython-3.11)"),
		PS_OPT_REPORT(report,
			      "where matrix.json and matrix.html go (reports; '' for none)"),
		PS_OPT_GOLDEN_DIR(&tmpl->golden_dir),
		PS_OPT_METHOD(&tmpl->methods, "fork, spawn or forkserver; repeatable "
					      "(default: all that apply)"),
		PS_OPT_PATTERN(&tmpl->patterns),
		PS_OPT_TAG(&tmpl->tags),
		PS_OPT_SHARD(&tmpl->select),
		PS_OPT_JOBS(&tmpl->jobs, "worker processes per implementation (default: CPUs)"),
		PS_OPT_INT(0, "columns", columns, "N", 1, 64,
			   "implementations played at once, each with its own\n"
			   "workers (default 1: one after the other)"),
		PS_OPT_TIMEOUT(&tmpl->step_timeout),
		PS_OPT_CALLBACK(0, "golden", NULL, "SET", per_column,
				"not taken: each column has the set it follows "
				"(ID=SET forces one)"),
		PS_OPT_CALLBACK(0, "expect", NULL, "FILE", per_column,
				"not taken: each column has its expectations/<label>.txt"),
		PS_OPT_END(),
	};

	return ps_suite_parse(tmpl, &help, opts, argc, argv, d);
}

int ps_cmd_matrix(int argc, char **argv)
{
	struct ps_diag d = PS_DIAG_INIT;
	struct ps_matrix m = PS_MATRIX_INIT;
	struct column *cols = NULL;
	struct ps_suite tmpl;
	struct ps_strv ids = PS_STRV_INIT;
	const char *report = "reports", *golden_dir;
	char **defaults = NULL;
	size_t n_ids = 0, n_cols = 0, n_defaults = 0, i, nsig;
	int r, code = PS_EXIT_ERROR;
	unsigned columns = 1;

	if (argc > 1 && !strcmp(argv[1], "merge"))
		return ps_merge_matrix(argc - 1, argv + 1);
	ps_suite_init(&tmpl);
	r = options(&tmpl, &ids, &report, &columns, argc, argv, &d);
	if (r == PS_OPT_HELP_SHOWN) {
		code = PS_EXIT_OK;
		goto out;
	}
	if (r) {
		fprintf(stderr, "%s\n", d.msg);
		goto out;
	}
	golden_dir = tmpl.golden_dir;
	n_ids = ids.n;

	/* The columns: as given (a bad one is a usage error), or what this machine has. */
	if (!n_ids) {
		if (default_ids(golden_dir, &defaults, &n_defaults)) {
			fprintf(stderr, "procspec matrix: out of memory\n");
			goto out;
		}
	}
	cols = calloc((n_ids ? n_ids : n_defaults) + 1, sizeof(*cols));
	if (!cols) {
		fprintf(stderr, "procspec matrix: out of memory\n");
		goto out;
	}
	for (i = 0; i < (n_ids ? n_ids : n_defaults); i++) {
		struct column *c = &cols[n_cols];
		struct ps_impl impl;

		r = split_set(n_ids ? ids.v[i] : defaults[i], golden_dir, c, &d);
		if (!r) {
			r = ps_impl_parse(c->spec, &impl, &d);
			if (!r && !n_ids)
				r = ps_impl_present(&impl, &d);
			if (!r)
				ps_impl_release(&impl);
		}
		if (r && n_ids) {
			fprintf(stderr, "procspec matrix: %s\n", d.msg);
			n_cols++;
			goto out;
		}
		if (r) {
			printf("SKIP: %s: %s\n", c->id, d.msg);
			free(c->spec);
			free(c->set);
			memset(c, 0, sizeof(*c));
			continue;
		}
		n_cols++;
	}
	fflush(stdout);
	if (ps_matrix_init(&m)) {
		fprintf(stderr, "procspec matrix: out of memory\n");
		goto out;
	}
	for (i = 0; columns == 1 && i < n_cols; i++) {
		r = play_column(&m, &cols[i], &tmpl, golden_dir, &d);
		if (r) {
			fprintf(stderr, "procspec matrix: %s\n", d.msg);
			goto out;
		}
	}
	if (columns > 1) {
		r = play_side_by_side(&m, cols, n_cols, columns, &tmpl, golden_dir, &d);
		if (r) {
			fprintf(stderr, "procspec matrix: %s\n", d.msg);
			goto out;
		}
	}
	if (ps_matrix_finish(&m)) {
		fprintf(stderr, "procspec matrix: out of memory\n");
		goto out;
	}
	nsig = json_array_size(m.signatures);
	if (nsig)
		printf("divergences by signature (%zu):\n", nsig);
	for (i = 0; i < nsig && i < 15; i++) {
		json_t *g = json_array_get(m.signatures, i),
		       *impls = json_object_get(g, "implementations");
		size_t k;

		printf("  %4lld x %s  [",
		       (long long)json_integer_value(json_object_get(g, "count")),
		       json_string_value(json_object_get(g, "signature")));
		for (k = 0; k < json_array_size(impls); k++)
			printf("%s%s", k ? " " : "", json_string_value(json_array_get(impls, k)));
		printf("]\n");
	}
	if (nsig > 15)
		printf("  ... %zu more in the report\n", nsig - 15);
	code = ps_matrix_failed(&m) ? PS_EXIT_FAIL : PS_EXIT_OK;
	if (*report) {
		r = ps_matrix_write(&m, report, &d);
		if (r) {
			fprintf(stderr, "procspec matrix: %s\n", d.msg);
			code = PS_EXIT_ERROR;
		} else {
			printf("wrote %s/matrix.json and %s/matrix.html\n", report, report);
		}
	}
	fflush(stdout);
out:
	for (i = 0; cols && i < n_cols; i++) {
		free(cols[i].spec);
		free(cols[i].set);
	}
	for (i = 0; i < n_defaults; i++)
		free(defaults[i]);
	free(defaults);
	free(cols);
	ps_strv_release(&ids);
	ps_suite_release(&tmpl);
	ps_matrix_release(&m);
	return code;
}

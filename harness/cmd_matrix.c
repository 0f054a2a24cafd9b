/* procspec matrix: several implementations over the same scenarios, side by side. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "commands.h"
#include "matrix.h"
#include "merge.h"
#include "play.h"
#include "proc.h"
#include "report.h"
#include "util.h"

static const char usage[] =
	"usage: procspec matrix [PATH...] [--impl ID[=SET]]... [options]\n"
	"       procspec matrix merge [--report DIR] DIR...   (the parts' reports into one)\n"
	"Runs every implementation over the scenarios, each against the golden set of the\n"
	"CPython version it follows (from its driver's hello, as --golden auto), applies\n"
	"its expectations/<label>.txt, and writes DIR/matrix.json and DIR/matrix.html:\n"
	"one row per scenario and start method, one column per implementation.\n"
	"  --impl ID           as for 'procspec run --impl': ref, ref@X.Y[-O], cpython-X.Y[-O],\n"
	"                      pypy3, billiard, multiprocess, python:..., cmd:...; repeatable.\n"
	"                      Without it: ref, every local CPython with a golden set\n"
	"                      (cpython-X.Y, cpython-X.Y-O), pypy3, billiard and multiprocess,\n"
	"                      each missing one reported as 'SKIP: ID: why'\n"
	"  --impl ID=SET       compare ID with golden set SET instead (ref@3.8=cpython-3.11)\n"
	"  --report DIR        where matrix.json and matrix.html go (reports; '' for none)\n"
	"  --golden-dir DIR    where golden sets live (golden)\n"
	"  --method M          fork, spawn or forkserver; repeatable (default: all that apply)\n"
	"  -k PATTERN, --tag TAG, --shard K/N   select scenarios, as for run\n"
	"  -j N                worker processes per implementation (default: CPUs)\n"
	"  --timeout S         seconds per driver reply (10, times PROCSPEC_TIMEOUT_MULTIPLIER)\n"
	"Exit status: 0 when every cell passes, is an expected divergence or does not apply;\n"
	"1 when any cell fails; 2 on usage errors.";

/* One column to be: the id as given, the spec it names, and a forced golden set. */
struct column {
	const char *id;
	char *spec;
	char *set;	/* from ID=SET, or NULL for the set it follows */
};

/* What the console needs while a column plays. */
struct ctx {
	struct ps_matrix *m;
	int col;
	const char *id;
	size_t done, total;
	bool tty;		/* a progress line, on a terminal only */
	unsigned counts[PS_V_COUNT];
	int err;
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

/* The default columns: ref, cpython-<each set in golden_dir>, pypy3, billiard, multiprocess. */
static int default_ids(const char *golden_dir, char ***out, size_t *n)
{
	static const char *const fixed_head[] = { "ref" };
	static const char *const fixed_tail[] = { "pypy3", "billiard", "multiprocess" };
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
	struct ctx *c = vctx;
	int r = ps_matrix_add(c->m, c->col, sc->id, method, res);

	if (r && !c->err)
		c->err = r;
	c->counts[res->verdict]++;
	if (c->tty) {
		fprintf(stdout, "\r\033[K[%zu/%zu] %s: %s [%s]", ++c->done, c->total, c->id, sc->id, method);
		fflush(stdout);
	}
	return true;
}

/* "ref (procref 0.1 ...) vs cpython-3.11: 213/213 pass (100.0%), 0 xfail, 0 failed, 0 skipped, 2.1s" */
static void summary(const char *id, const char *implementation, const char *set,
		    const unsigned counts[PS_V_COUNT], double seconds)
{
	unsigned v, failed = 0, skipped = counts[PS_V_NOTRUN] + counts[PS_V_UNSUPPORTED], all = 0;
	unsigned applicable;

	for (v = 0; v < PS_V_COUNT; v++) {
		all += counts[v];
		if (ps_verdict_failed((enum ps_verdict)v))
			failed += counts[v];
	}
	applicable = all - skipped;
	printf("%s (%s) vs %s: %u/%u pass", id, implementation, set ? set : "no golden set",
	       counts[PS_V_PASS], applicable);
	if (applicable)
		printf(" (%.1f%%)", 100.0 * counts[PS_V_PASS] / applicable);
	printf(", %u xfail, %u failed", counts[PS_V_XFAIL], failed);
	if (failed) {
		const char *sep = " (";

		for (v = PS_V_FAIL; v < PS_V_COUNT; v++)
			if (counts[v]) {
				printf("%s%u %s", sep, counts[v], ps_verdict_word((enum ps_verdict)v));
				sep = ", ";
			}
		printf(")");
	}
	printf(", %u skipped, %.1fs\n", skipped, seconds);
	fflush(stdout);
}

/* Play one column; a column that cannot start is recorded, not fatal. */
static int play_column(struct ps_matrix *m, struct column *col, int argc, char **argv,
		       const char *golden_dir, struct ps_diag *d)
{
	struct ps_suite s;
	struct ps_play p;
	struct ctx c;
	char *set = NULL, **av;
	double t0 = ps_now();
	int r, ci = -1;

	memset(&p, 0, sizeof(p));
	memset(&c, 0, sizeof(c));
	memset(&s, 0, sizeof(s));
	/* a copy per column: getopt permutes what it parses, and the suite keeps pointers into it */
	av = calloc((size_t)argc + 1, sizeof(*av));
	if (!av)
		return ps_diag(d, -ENOMEM, "out of memory");
	memcpy(av, argv, (size_t)argc * sizeof(*av));
	av[2] = col->spec;
	r = ps_suite_options(&s, argc, av, usage, true, false, d);
	if (!r)
		r = ps_suite_load(&s, d);
	if (r)
		goto out;	/* the same for every column: the caller stops */
	s.golden_dir = golden_dir;
	r = ps_runner_ready(&s.runner, d);
	if (!r && col->set)
		set = strdup(col->set);
	else if (!r)
		r = ps_impl_golden_auto(s.runner.drv, golden_dir, &set, d);
	s.golden_set = set;
	if (!r)
		r = ps_play_init(&p, &s, d);
	ci = ps_matrix_column(m, col->id, s.impl.label, s.runner.drv ? s.runner.drv->implementation :
			      p.implementation, set, p.expect.path);
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
	c.m = m;
	c.col = ci;
	c.id = col->id;
	c.total = p.n;
	c.tty = isatty(STDOUT_FILENO);
	r = ps_play_run(&p, cell_done, &c, d);
	if (c.tty)
		fputs("\r\033[K", stdout);
	if (!r && c.err)
		r = ps_diag(d, c.err, "out of memory");
	if (r) {
		printf("%s: ERROR: %s\n", col->id, d->msg);
		ps_matrix_column_error(m, ci, d->msg, ps_now() - t0);
		r = 0;
		goto out;
	}
	ps_matrix_column_seconds(m, ci, ps_now() - t0);
	summary(col->id, p.implementation, set, c.counts, ps_now() - t0);
out:
	ps_play_release(&p);
	ps_suite_release(&s);
	free(set);
	free(av);
	return r;
}

int ps_cmd_matrix(int argc, char **argv)
{
	struct ps_diag d = PS_DIAG_INIT;
	struct ps_matrix m = PS_MATRIX_INIT;
	struct column *cols = NULL;
	const char **ids = NULL, *report = "reports", *golden_dir = "golden";
	char **rest = NULL, **defaults = NULL;
	size_t n_ids = 0, n_cols = 0, n_defaults = 0, i, nsig;
	int nrest = 3, r, code = PS_EXIT_ERROR;

	if (argc > 1 && !strcmp(argv[1], "merge"))
		return ps_merge_matrix(argc - 1, argv + 1);
	/* Take --impl (repeatable) and --report; the rest is run's option syntax. */
	rest = calloc((size_t)argc + 4, sizeof(*rest));
	ids = calloc((size_t)argc + 1, sizeof(*ids));
	if (!rest || !ids) {
		fprintf(stderr, "procspec matrix: out of memory\n");
		goto out;
	}
	rest[0] = argv[0];
	rest[1] = "--impl";
	for (i = 1; i < (size_t)argc; i++) {
		const char *a = argv[i];
		bool last = i + 1 == (size_t)argc;

		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			puts(usage);
			code = PS_EXIT_OK;
			goto out;
		} else if (!strcmp(a, "--impl") || !strcmp(a, "-i") || !strcmp(a, "--report")) {
			if (last) {
				fprintf(stderr, "procspec matrix: %s needs a value\n%s\n", a, usage);
				goto out;
			}
			if (!strcmp(a, "--report"))
				report = argv[++i];
			else
				ids[n_ids++] = argv[++i];
		} else if (!strncmp(a, "--impl=", 7)) {
			ids[n_ids++] = a + 7;
		} else if (!strncmp(a, "--report=", 9)) {
			report = a + 9;
		} else if (!strcmp(a, "--golden") || !strncmp(a, "--golden=", 9) || !strcmp(a, "--expect") ||
			   !strncmp(a, "--expect=", 9) || !strncmp(a, "--max-failures", 14)) {
			fprintf(stderr, "procspec matrix: %s: each implementation has its own golden set and "
				"expectations (force a set with --impl ID=SET)\n%s\n", a, usage);
			goto out;
		} else {
			if (!strcmp(a, "--golden-dir") && !last)
				golden_dir = argv[i + 1];
			else if (!strncmp(a, "--golden-dir=", 13))
				golden_dir = a + 13;
			rest[nrest++] = argv[i];
			/* an option's value is copied as it is, even when it looks like --impl */
			if (!last && (!strcmp(a, "-k") || !strcmp(a, "--tag") || !strcmp(a, "--method") ||
				      !strcmp(a, "-m") || !strcmp(a, "--timeout") || !strcmp(a, "-t") ||
				      !strcmp(a, "-j") || !strcmp(a, "--jobs") || !strcmp(a, "--shard") ||
				      !strcmp(a, "--golden-dir")))
				rest[nrest++] = argv[++i];
		}
	}
	rest[2] = "ref";	/* each column puts its own spec here */

	signal(SIGPIPE, SIG_IGN);
	ps_proc_subreaper();
	ps_proc_guard();

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

		r = split_set(n_ids ? ids[i] : defaults[i], golden_dir, c, &d);
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
	for (i = 0; i < n_cols; i++) {
		r = play_column(&m, &cols[i], nrest, rest, golden_dir, &d);
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
		json_t *g = json_array_get(m.signatures, i), *impls = json_object_get(g, "implementations");
		size_t k;

		printf("  %4lld x %s  [", (long long)json_integer_value(json_object_get(g, "count")),
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
	free(rest);
	free(ids);
	ps_matrix_release(&m);
	return code;
}

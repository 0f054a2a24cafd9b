/*
 * procspec drift: where CPython's own behaviour changed between captured
 * versions and start methods.  For every scenario, the golden transcripts of
 * every set and method are grouped by content; a scenario with more than one
 * group is listed, with which sets and methods give which transcript and a
 * diff between the groups.  Written as Markdown to reports/drift.md, or to
 * the path given with --out (golden/DRIFT.md when the golden sets change).
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "buf.h"
#include "commands.h"
#include "file.h"
#include "golden.h"
#include "options.h"
#include "scenario.h"

static const struct ps_command_help help = {
	"drift",
	"usage: procspec drift [--golden-dir DIR] [--out FILE]\n"
	"  lists, as Markdown, the scenarios whose golden transcripts differ between\n"
	"  golden sets or start methods",
	NULL,
};

struct item {
	char *id, *set, *method, *body;
	int group;
};

struct items {
	struct item *v;
	size_t n, cap;
};

/* "cpython-3.10" after "cpython-3.9": digit runs compare as numbers. */
static int natural_cmp(const char *a, const char *b)
{
	while (*a && *b) {
		if (*a >= '0' && *a <= '9' && *b >= '0' && *b <= '9') {
			char *ea, *eb;
			unsigned long x = strtoul(a, &ea, 10), y = strtoul(b, &eb, 10);

			if (x != y)
				return x < y ? -1 : 1;
			a = ea;
			b = eb;
			continue;
		}
		if (*a != *b)
			return (unsigned char)*a - (unsigned char)*b;
		a++;
		b++;
	}
	return (unsigned char)*a - (unsigned char)*b;
}

static int method_rank(const char *m)
{
	unsigned bit = ps_method_parse(m);

	return bit == PS_M_FORK ? 0 : bit == PS_M_SPAWN ? 1 : 2;
}

static int item_cmp(const void *pa, const void *pb)
{
	const struct item *a = pa, *b = pb;
	int c = strcmp(a->id, b->id);

	if (c)
		return c;
	if ((c = natural_cmp(a->set, b->set)))
		return c;
	return method_rank(a->method) - method_rank(b->method);
}

static int walk(const char *dir, const char *set, const char *method, const char *rel,
		struct items *out)
{
	struct ps_buf b = PS_BUF_INIT;
	struct dirent *de;
	struct stat st;
	DIR *d;
	int r = 0;

	ps_buf_addf(&b, "%s%s%s", dir, *rel ? "/" : "", rel);
	d = ps_buf_oom(&b) ? NULL : opendir(b.data);
	if (!d) {
		ps_buf_release(&b);
		return 0;
	}
	while (!r && (de = readdir(d))) {
		struct ps_buf path = PS_BUF_INIT, sub = PS_BUF_INIT;
		size_t n = strlen(de->d_name);

		if (de->d_name[0] == '.')
			continue;
		ps_buf_addf(&path, "%s/%s", b.data, de->d_name);
		ps_buf_addf(&sub, "%s%s%s", rel, *rel ? "/" : "", de->d_name);
		if (ps_buf_oom(&path) || ps_buf_oom(&sub)) {
			r = -ENOMEM;
		} else if (stat(path.data, &st) == 0 && S_ISDIR(st.st_mode)) {
			r = walk(dir, set, method, sub.data, out);
		} else if (n > 4 && !strcmp(de->d_name + n - 4, ".out")) {
			struct item it = { 0 };

			if (out->n == out->cap) {
				size_t cap = out->cap ? out->cap * 2 : 256;
				struct item *nv = realloc(out->v, cap * sizeof(*nv));

				if (!nv) {
					r = -ENOMEM;
					goto next;
				}
				out->v = nv;
				out->cap = cap;
			}
			it.id = strndup(sub.data, sub.len - 4);
			it.set = strdup(set);
			it.method = strdup(method);
			if (!it.id || !it.set || !it.method ||
			    ps_golden_read(path.data, &it.body, NULL)) {
				free(it.id);
				free(it.set);
				free(it.method);
				r = -ENOMEM;
				goto next;
			}
			out->v[out->n++] = it;
		}
	next:
		ps_buf_release(&path);
		ps_buf_release(&sub);
	}
	closedir(d);
	ps_buf_release(&b);
	return r;
}

static int load(const char *root, struct items *out)
{
	struct dirent *set, *m;
	DIR *d = opendir(root), *sd;
	int r = 0;

	if (!d)
		return -errno;
	while (!r && (set = readdir(d))) {
		struct ps_buf b = PS_BUF_INIT;

		if (set->d_name[0] == '.')
			continue;
		ps_buf_addf(&b, "%s/%s", root, set->d_name);
		sd = ps_buf_oom(&b) ? NULL : opendir(b.data);
		while (sd && !r && (m = readdir(sd))) {
			struct ps_buf md = PS_BUF_INIT;

			if (!ps_method_parse(m->d_name))
				continue;
			ps_buf_addf(&md, "%s/%s", b.data, m->d_name);
			r = ps_buf_oom(&md) ? -ENOMEM :
					      walk(md.data, set->d_name, m->d_name, "", out);
			ps_buf_release(&md);
		}
		if (sd)
			closedir(sd);
		ps_buf_release(&b);
	}
	closedir(d);
	return r;
}

/* "cpython-3.6 (fork spawn), cpython-3.7 (fork)" for group g of items [a, z). */
static void who(struct ps_buf *o, const struct item *v, size_t a, size_t z, int g)
{
	const char *last = NULL;
	size_t i;

	for (i = a; i < z; i++) {
		if (v[i].group != g)
			continue;
		if (!last || strcmp(last, v[i].set)) {
			ps_buf_addf(o, "%s%s (%s", last ? "), " : "", v[i].set, v[i].method);
			last = v[i].set;
		} else {
			ps_buf_addf(o, " %s", v[i].method);
		}
	}
	if (last)
		ps_buf_addc(o, ')');
}

int ps_cmd_drift(int argc, char **argv)
{
	const char *root = "golden", *outpath = "reports/drift.md";
	const struct ps_option opts[] = {
		PS_OPT_GOLDEN_DIR(&root),
		PS_OPT_STRING(0, "out", &outpath, "FILE",
			      "where the Markdown goes (reports/drift.md)"),
		PS_OPT_END(),
	};
	struct items it = { 0 };
	struct ps_buf o = PS_BUF_INIT;
	size_t a, z, i, scenarios = 0, drifting = 0;
	struct ps_diag d = PS_DIAG_INIT;
	int r, code = PS_EXIT_ERROR;

	r = ps_options_parse(&help, opts, argc, argv, NULL, NULL, &d);
	if (r)
		return ps_options_exit(r, &d);
	r = load(root, &it);
	if (r) {
		fprintf(stderr, "procspec drift: %s: %s\n", root, strerror(-r));
		goto out;
	}
	if (it.n)
		qsort(it.v, it.n, sizeof(*it.v), item_cmp);
	ps_buf_adds(&o,
		    "# Where CPython's behaviour differs between versions and start methods\n\n");
	ps_buf_addf(
		&o,
		"Made by `procspec drift` from the golden sets in `%s/`. A scenario is listed "
		"when its transcript is not the same in every set and start method that has it; "
		"a set without the scenario (an interpreter that lacks what it needs) is not a "
		"difference. Transcripts are normalised, so only behaviour counts.\n",
		root);
	for (a = 0; a < it.n; a = z) {
		int groups = 0, g;

		for (z = a; z < it.n && !strcmp(it.v[z].id, it.v[a].id); z++) {
			it.v[z].group = -1;
			for (i = a; i < z; i++) {
				if (!strcmp(it.v[i].body, it.v[z].body)) {
					it.v[z].group = it.v[i].group;
					break;
				}
			}
			if (it.v[z].group < 0)
				it.v[z].group = groups++;
		}
		scenarios++;
		if (groups < 2)
			continue;
		drifting++;
		ps_buf_addf(&o, "\n## %s\n\n", it.v[a].id);
		for (g = 0; g < groups; g++) {
			ps_buf_addf(&o, "- **%c**: ", 'A' + (g % 26));
			who(&o, it.v, a, z, g);
			ps_buf_adds(&o, "\n");
		}
		for (g = 1; g < groups; g++) {
			const char *first = NULL, *other = NULL;
			char la[8], lb[8], *diff;
			int oom = 0;

			for (i = a; i < z; i++) {
				if (it.v[i].group == 0 && !first)
					first = it.v[i].body;
				if (it.v[i].group == g && !other)
					other = it.v[i].body;
			}
			snprintf(la, sizeof(la), "%c", 'A');
			snprintf(lb, sizeof(lb), "%c", 'A' + (g % 26));
			diff = ps_diff_unified(first, other, la, lb, &oom);
			ps_buf_addf(&o, "\n```diff\n%s```\n", diff ? diff : "");
			free(diff);
		}
	}
	ps_buf_addf(&o, "\n%zu of %zu scenarios differ somewhere.\n", drifting, scenarios);
	if (ps_buf_oom(&o)) {
		fprintf(stderr, "procspec drift: out of memory\n");
		goto out;
	}
	r = ps_file_write_atomic(outpath, o.data, o.len, true);
	if (r) {
		fprintf(stderr, "procspec drift: cannot write %s: %s\n", outpath, strerror(-r));
		goto out;
	}
	printf("drift: %zu of %zu scenarios differ between sets or methods; written to %s\n",
	       drifting, scenarios, outpath);
	code = PS_EXIT_OK;
out:
	for (i = 0; i < it.n; i++) {
		free(it.v[i].id);
		free(it.v[i].set);
		free(it.v[i].method);
		free(it.v[i].body);
	}
	free(it.v);
	ps_buf_release(&o);
	return code;
}

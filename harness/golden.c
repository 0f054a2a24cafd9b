#include "golden.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "file.h"

char *ps_golden_path(const char *root, const char *set, const char *method, const char *id)
{
	struct ps_buf b = PS_BUF_INIT;

	ps_buf_addf(&b, "%s/%s/%s/%s.out", root, set, method, id);
	return ps_buf_detach(&b);
}

char *ps_golden_origin(const char *implementation, const char *executable, const char *os_name)
{
	struct ps_buf b = PS_BUF_INIT;
	const char *impl = implementation, *on, *ver, *end, *base, *pyenv;

	if (!*executable) {
		ps_buf_adds(&b, "?");
		return ps_buf_detach(&b);
	}
	/* "CPython 3.11.2", "PyPy 7.3.11 (Python 3.9.16)", "billiard 4.1 on CPython 3.11.2":
	 * the interpreter's version is the word after its name */
	while ((on = strstr(impl, " on ")))
		impl = on + 4;
	ver = strchr(impl, ' ');
	ver = ver ? ver + 1 : "?";
	end = ver + strcspn(ver, " ");
	base = strrchr(executable, '/');
	base = base ? base + 1 : executable;
	if ((pyenv = strstr(executable, "/.pyenv/versions/"))) {
		pyenv += strlen("/.pyenv/versions/");
		ps_buf_addf(&b, "pyenv %.*s", (int)strcspn(pyenv, "/"), pyenv);
	} else if (!strncmp(executable, "/usr/bin/", 9) || !strncmp(executable, "/bin/", 5)) {
		ps_buf_addf(&b, "%s %s %.*s", os_name && *os_name ? os_name : "system", base,
			    (int)(end - ver), ver);
	} else {
		ps_buf_addf(&b, "%s %.*s", base, (int)(end - ver), ver);
	}
	return ps_buf_detach(&b);
}

/* The first word of /etc/os-release's NAME ("Debian" of "Debian GNU/Linux"), into out. */
static void os_name(char *out, size_t size)
{
	char line[256], *v;
	FILE *f = fopen("/etc/os-release", "re");

	out[0] = '\0';
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "NAME=", 5))
			continue;
		v = line + 5 + (line[5] == '"');
		snprintf(out, size, "%.*s", (int)strcspn(v, " \"\n"), v);
		break;
	}
	fclose(f);
}

char *ps_golden_header(const char *implementation, const char *executable, const char *module,
		       const char *id, const char *method)
{
	struct ps_buf b = PS_BUF_INIT;
	char os[64], *origin;

	os_name(os, sizeof(os));
	origin = ps_golden_origin(implementation, executable, os);
	ps_buf_addf(&b, "# procspec golden transcript: captured from %s (%s, module %s)\n",
		    implementation, origin ? origin : "?", *module ? module : "?");
	free(origin);
	ps_buf_addf(&b, "# scenario: %s  method: %s\n", id, method);
	return ps_buf_detach(&b);
}

int ps_golden_read(const char *path, char **body, struct ps_diag *d)
{
	char *src = NULL, *s;
	size_t len;
	int r;

	r = ps_file_read(path, &src, &len);
	if (r == -ENOENT)
		return ps_diag(d, PS_ENOGOLD, "%s: no golden file", path);
	if (r)
		return ps_diag(d, r, "%s: %s", path, strerror(-r));
	s = src;
	while (s[0] == '#' && s[1] == ' ') {
		char *nl = strchr(s, '\n');

		s = nl ? nl + 1 : s + strlen(s);
	}
	memmove(src, s, strlen(s) + 1);
	*body = src;
	return 0;
}

struct lines {
	const char **at; /* start of each line */
	size_t *len;     /* its length, newline included */
	size_t n;
};

static int split(const char *s, struct lines *l)
{
	size_t cap = 16;

	l->n = 0;
	l->at = malloc(cap * sizeof(*l->at));
	l->len = malloc(cap * sizeof(*l->len));
	if (!l->at || !l->len)
		return -ENOMEM;
	while (*s) {
		const char *nl = strchr(s, '\n');
		size_t n = nl ? (size_t)(nl - s) + 1 : strlen(s);

		if (l->n == cap) {
			const char **a;
			size_t *ln;

			cap *= 2;
			a = realloc(l->at, cap * sizeof(*a));
			if (!a)
				return -ENOMEM;
			l->at = a;
			ln = realloc(l->len, cap * sizeof(*ln));
			if (!ln)
				return -ENOMEM;
			l->len = ln;
		}
		l->at[l->n] = s;
		l->len[l->n++] = n;
		s += n;
	}
	return 0;
}

static bool line_eq(const struct lines *a, size_t i, const struct lines *b, size_t j)
{
	return a->len[i] == b->len[j] && !memcmp(a->at[i], b->at[j], a->len[i]);
}

static void add_line(struct ps_buf *out, char mark, const char *s, size_t n)
{
	ps_buf_addc(out, mark);
	ps_buf_add(out, s, n);
	if (n == 0 || s[n - 1] != '\n')
		ps_buf_adds(out, "\n\\ No newline at end of file\n");
}

/*
 * The edit script comes from an LCS table over the lines between the common
 * prefix and suffix; transcripts are short, so O(n*m) is cheap, and the
 * table is bounded: past 4096 lines on either side the middle is shown as
 * one replaced block.
 */
char *ps_diff_unified(const char *expected, const char *actual, const char *label_expected,
		      const char *label_actual, int *oom)
{
	struct lines a = { 0 }, b = { 0 };
	struct ps_buf out = PS_BUF_INIT;
	uint32_t *lcs = NULL;
	char *ops = NULL; /* ' ', '-', '+' */
	size_t pre = 0, suf = 0, n, m, i, j, k, nops = 0;
	char *res = NULL;

	*oom = 0;
	if (!strcmp(expected, actual))
		return NULL;
	if (split(expected, &a) || split(actual, &b))
		goto nomem;
	while (pre < a.n && pre < b.n && line_eq(&a, pre, &b, pre))
		pre++;
	while (suf < a.n - pre && suf < b.n - pre && line_eq(&a, a.n - 1 - suf, &b, b.n - 1 - suf))
		suf++;
	n = a.n - pre - suf;
	m = b.n - pre - suf;
	ops = malloc(a.n + b.n + 1);
	if (!ops)
		goto nomem;
	for (k = 0; k < pre; k++)
		ops[nops++] = ' ';
	if (n <= 4096 && m <= 4096) {
		lcs = calloc((n + 1) * (m + 1), sizeof(*lcs));
		if (!lcs)
			goto nomem;
#define L(x, y) lcs[(x) * (m + 1) + (y)]
		for (i = n; i-- > 0;)
			for (j = m; j-- > 0;)
				L(i, j) = line_eq(&a, pre + i, &b, pre + j) ? L(i + 1, j + 1) + 1 :
					  L(i + 1, j) >= L(i, j + 1)        ? L(i + 1, j) :
									      L(i, j + 1);
		i = j = 0;
		while (i < n || j < m) {
			if (i < n && j < m && line_eq(&a, pre + i, &b, pre + j)) {
				ops[nops++] = ' ';
				i++;
				j++;
			} else if (j >= m || (i < n && L(i + 1, j) >= L(i, j + 1))) {
				ops[nops++] = '-';
				i++;
			} else {
				ops[nops++] = '+';
				j++;
			}
		}
#undef L
	} else {
		for (k = 0; k < n; k++)
			ops[nops++] = '-';
		for (k = 0; k < m; k++)
			ops[nops++] = '+';
	}
	for (k = 0; k < suf; k++)
		ops[nops++] = ' ';

	ps_buf_addf(&out, "--- %s\n+++ %s\n", label_expected, label_actual);
	/* Hunks: runs of changes with up to 3 lines of context, joined when close. */
	k = 0;
	while (k < nops) {
		size_t start, end, ai = 0, bi = 0, x, acount = 0, bcount = 0, as, bs;

		while (k < nops && ops[k] == ' ')
			k++;
		if (k == nops)
			break;
		start = k >= 3 ? k - 3 : 0;
		end = k;
		for (;;) {
			while (end < nops && ops[end] != ' ')
				end++;
			x = end;
			while (x < nops && ops[x] == ' ' && x - end < 7)
				x++;
			if (x < nops && ops[x] != ' ' && x - end < 7)
				end = x;
			else
				break;
		}
		end = end + 3 < nops ? end + 3 : nops;
		for (x = 0; x < start; x++) {
			ai += ops[x] != '+';
			bi += ops[x] != '-';
		}
		as = ai;
		bs = bi;
		for (x = start; x < end; x++) {
			acount += ops[x] != '+';
			bcount += ops[x] != '-';
		}
		ps_buf_addf(&out, "@@ -%zu,%zu +%zu,%zu @@\n", acount ? as + 1 : as, acount,
			    bcount ? bs + 1 : bs, bcount);
		for (x = start; x < end; x++) {
			if (ops[x] == ' ') {
				add_line(&out, ' ', a.at[ai], a.len[ai]);
				ai++;
				bi++;
			} else if (ops[x] == '-') {
				add_line(&out, '-', a.at[ai], a.len[ai]);
				ai++;
			} else {
				add_line(&out, '+', b.at[bi], b.len[bi]);
				bi++;
			}
		}
		k = end;
	}
	res = ps_buf_detach(&out);
	if (!res)
		*oom = 1;
	goto out;
nomem:
	*oom = 1;
	ps_buf_release(&out);
out:
	free(a.at);
	free(a.len);
	free(b.at);
	free(b.len);
	free(lcs);
	free(ops);
	return res;
}

#include "expect.h"

#include <errno.h>
#include <fnmatch.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "file.h"
#include "paths.h"
#include "outdir.h"

static char *word(const char **s, const char *end)
{
	const char *b;

	while (*s < end && (**s == ' ' || **s == '\t'))
		(*s)++;
	b = *s;
	while (*s < end && **s != ' ' && **s != '\t' && **s != ':')
		(*s)++;
	return *s > b ? strndup(b, (size_t)(*s - b)) : NULL;
}

static int load(const char *path, struct ps_expect *x, int depth, struct ps_diag *d);

/* "include FILE": FILE's entries, FILE relative to the including file. */
static int include(const char *path, int line, const char *p, const char *le, struct ps_expect *x,
		   int depth, struct ps_diag *d)
{
	const char *slash = strrchr(path, '/');
	char *name = strndup(p, (size_t)(le - p)), *full = NULL;
	int r;

	if (!name)
		return ps_diag(d, -ENOMEM, "out of memory");
	if (depth > 8) {
		r = ps_diag(d, PS_EPARSE, "%s:%d:1: includes nest too deep", path, line);
	} else if (asprintf(&full, "%.*s%s", slash && name[0] != '/' ? (int)(slash - path + 1) : 0,
			    path, name) < 0) {
		r = ps_diag(d, -ENOMEM, "out of memory");
		full = NULL;
	} else if (access(full, F_OK) != 0) {
		r = ps_diag(d, PS_EPARSE, "%s:%d:9: include %s: no such file", path, line, name);
	} else {
		r = load(full, x, depth + 1, d);
	}
	free(name);
	free(full);
	return r;
}

int ps_expect_load(const char *path, struct ps_expect *x, struct ps_diag *d)
{
	memset(x, 0, sizeof(*x));
	return load(path, x, 0, d);
}

static int load(const char *path, struct ps_expect *x, int depth, struct ps_diag *d)
{
	char *src = NULL;
	const char *s, *ls, *le, *p;
	size_t len;
	int r, line = 0;

	r = ps_file_read(path, &src, &len);
	if (r == -ENOENT)
		return 0;
	if (r)
		return ps_diag(d, r, "%s: %s", path, strerror(-r));
	if (!x->path)
		x->path = strdup(path);
	for (s = src; *s; s = le + (*le == '\n')) {
		struct ps_expect_entry e = { 0 }, *nv;

		ls = s;
		le = strchr(s, '\n');
		if (!le)
			le = s + strlen(s);
		line++;
		p = ls;
		while (p < le && (*p == ' ' || *p == '\t'))
			p++;
		if (p == le || *p == '#')
			continue;
		if (!strncmp(p, "include ", 8)) {
			if ((r = include(path, line, p + 8, le, x, depth, d)))
				goto bad;
			continue;
		}
		e.line = line;
		e.path = strdup(path);
		e.pattern = word(&p, le);
		e.method = word(&p, le);
		e.set = word(&p, le);
		while (p < le && (*p == ' ' || *p == '\t'))
			p++;
		for (;;) {
			int *flag = NULL;
			size_t n = 0;

			if (p + 4 <= le && !strncmp(p, "racy", 4))
				flag = &e.racy, n = 4;
			else if (p + 5 <= le && !strncmp(p, "hangs", 5))
				flag = &e.hangs, n = 5;
			if (!flag || *flag ||
			    !(p + n == le || p[n] == ' ' || p[n] == '\t' || p[n] == ':'))
				break;
			*flag = 1;
			p += n;
			while (p < le && (*p == ' ' || *p == '\t'))
				p++;
		}
		if (!e.pattern || !e.method || !e.set || p >= le || *p != ':') {
			r = ps_diag(
				d, PS_EPARSE,
				"%s:%d:%d: expected 'SCENARIO METHOD SET [racy] [hangs]: reason'",
				path, line, (int)(p - ls) + 1);
			goto bad;
		}
		p++;
		while (p < le && (*p == ' ' || *p == '\t'))
			p++;
		if (p == le) {
			r = ps_diag(d, PS_EPARSE, "%s:%d:%d: every expectation needs its reason",
				    path, line, (int)(p - ls) + 1);
			goto bad;
		}
		e.reason = strndup(p, (size_t)(le - p));
		nv = realloc(x->v, (x->n + 1) * sizeof(*nv));
		if (!nv || !e.reason || !e.path) {
			r = ps_diag(d, -ENOMEM, "out of memory");
			goto bad;
		}
		x->v = nv;
		x->v[x->n++] = e;
		continue;
	bad:
		free(e.path);
		free(e.pattern);
		free(e.method);
		free(e.set);
		free(e.reason);
		free(src);
		ps_expect_release(x);
		return r;
	}
	free(src);
	return 0;
}

const struct ps_expect_entry *ps_expect_match(const struct ps_expect *x, const char *id,
					      const char *method, const char *set)
{
	size_t i;

	for (i = 0; i < x->n; i++) {
		const struct ps_expect_entry *e = &x->v[i];

		if (fnmatch(e->pattern, id, 0) == 0 && fnmatch(e->method, method, 0) == 0 &&
		    (!strcmp(e->set, "*") || (set && fnmatch(e->set, set, 0) == 0)))
			return e;
	}
	return NULL;
}

void ps_expect_release(struct ps_expect *x)
{
	size_t i;

	for (i = 0; i < x->n; i++) {
		free(x->v[i].path);
		free(x->v[i].pattern);
		free(x->v[i].method);
		free(x->v[i].set);
		free(x->v[i].reason);
	}
	free(x->v);
	free(x->path);
	memset(x, 0, sizeof(*x));
}

/* expectations/ + n bytes of label + suffix + .txt, or NULL out of memory. */
static char *expect_path(const char *label, int n, const char *suffix)
{
	char *path;

	if (asprintf(&path, "%s/%.*s%s.txt", ps_data("expectations"), n, label, suffix) < 0)
		return NULL;
	return path;
}

/*
 * A label that names a release (ref@3.8, ref@3.11-O, cpython-3.8,
 * cpython-3.11-O) without a file of its own shares its family's: BASE-O.txt
 * for an -O label, then BASE.txt, BASE being ref or cpython.  Every
 * CPython leaks the same fds when fork() fails, so one file says it once.
 */
char *ps_expect_default_path(const char *impl_label)
{
	/* the label is the user's text: one path component, never a path */
	char *label = ps_outdir_component(impl_label);
	const char *at;
	size_t len;
	bool opt;
	char *cand[3] = { NULL, NULL, NULL }, *path = NULL;
	int base = 0;
	size_t i;

	if (!label)
		return NULL;
	at = strchr(label, '@');
	len = strlen(label);
	opt = len > 2 && !strcmp(label + len - 2, "-O");
	if (at)
		base = (int)(at - label);
	else if (!strncmp(label, "cpython-", 8) && label[8] >= '0' && label[8] <= '9')
		base = 7;
	cand[0] = expect_path(label, (int)len, "");
	if (base && opt)
		cand[1] = expect_path(label, base, "-O");
	if (base)
		cand[2] = expect_path(label, base, "");
	if (!cand[0] || (base && opt && !cand[1]) || (base && !cand[2]))
		goto out; /* out of memory */
	for (i = 0; !path && i < 3; i++)
		if (cand[i] && access(cand[i], F_OK) == 0)
			path = cand[i];
	if (!path)
		path = cand[0]; /* none there: an empty list */
out:
	for (i = 0; i < 3; i++)
		if (cand[i] != path)
			free(cand[i]);
	free(label);
	return path;
}

#include "discover.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "buf.h"

static int push(struct ps_paths *p, const char *s)
{
	char **v = realloc(p->v, (p->n + 1) * sizeof(*v));

	if (!v)
		return -ENOMEM;
	p->v = v;
	if (!(v[p->n] = strdup(s)))
		return -ENOMEM;
	p->n++;
	return 0;
}

/* The directories a walk has entered, by device and inode. */
struct seen {
	struct {
		dev_t dev;
		ino_t ino;
	} * v;
	size_t n;
};

/* 1 if st's directory was entered already, else 0 after noting it; -ENOMEM. */
static int seen_before(struct seen *s, const struct stat *st)
{
	size_t i;
	void *v;

	for (i = 0; i < s->n; i++)
		if (s->v[i].dev == st->st_dev && s->v[i].ino == st->st_ino)
			return 1;
	if (!(v = realloc(s->v, (s->n + 1) * sizeof(*s->v))))
		return -ENOMEM;
	s->v = v;
	s->v[s->n].dev = st->st_dev;
	s->v[s->n++].ino = st->st_ino;
	return 0;
}

/*
 * Every *.scn regular file under dir.  Symbolic links are followed, but each
 * real directory is entered once, so a link loop ends; a FIFO or a device
 * named *.scn is not a scenario file and is left alone.
 */
static int walk(const char *dir, struct ps_paths *out, struct seen *seen, struct ps_diag *d)
{
	DIR *dp = opendir(dir);
	struct dirent *de;
	struct stat st;
	int r = 0;

	if (!dp)
		return ps_diag(d, -errno, "%s: %s", dir, strerror(errno));
	while (!r && (de = readdir(dp))) {
		struct ps_buf b = PS_BUF_INIT;
		char *path;
		size_t n = strlen(de->d_name);

		if (de->d_name[0] == '.')
			continue;
		ps_buf_addf(&b, "%s/%s", dir, de->d_name);
		path = ps_buf_detach(&b);
		if (!path) {
			r = ps_diag(d, -ENOMEM, "out of memory");
			break;
		}
		if (stat(path, &st))
			st.st_mode = 0; /* a dangling link: neither */
		if (S_ISDIR(st.st_mode)) {
			r = seen_before(seen, &st);
			if (r == 0)
				r = walk(path, out, seen, d);
			else if (r == 1)
				r = 0;
			else
				r = ps_diag(d, r, "out of memory");
		} else if (n > 4 && !strcmp(de->d_name + n - 4, ".scn") && S_ISREG(st.st_mode)) {
			r = push(out, path) ? ps_diag(d, -ENOMEM, "out of memory") : 0;
		}
		free(path);
	}
	closedir(dp);
	return r;
}

static int cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int ps_discover(char *const *paths, size_t n, struct ps_paths *out, struct ps_diag *d)
{
	struct seen seen = { NULL, 0 };
	struct stat st;
	size_t i, j;
	int r = 0;

	out->v = NULL;
	out->n = 0;
	for (i = 0; !r && i < n; i++) {
		if (stat(paths[i], &st))
			r = ps_diag(d, -errno, "%s: %s", paths[i], strerror(errno));
		else if (S_ISDIR(st.st_mode))
			r = seen_before(&seen, &st) < 0 ? ps_diag(d, -ENOMEM, "out of memory") :
							  walk(paths[i], out, &seen, d);
		else if (!S_ISREG(st.st_mode))
			r = ps_diag(d, PS_EUSAGE, "%s: not a regular file", paths[i]);
		else
			r = push(out, paths[i]) ? ps_diag(d, -ENOMEM, "out of memory") : 0;
	}
	free(seen.v);
	if (r) {
		ps_paths_release(out);
		return r;
	}
	if (out->n)
		qsort(out->v, out->n, sizeof(*out->v), cmp);
	for (i = j = 0; i < out->n; i++) {
		if (j && !strcmp(out->v[j - 1], out->v[i]))
			free(out->v[i]);
		else
			out->v[j++] = out->v[i];
	}
	out->n = j;
	return 0;
}

void ps_paths_release(struct ps_paths *p)
{
	size_t i;

	for (i = 0; i < p->n; i++)
		free(p->v[i]);
	free(p->v);
	p->v = NULL;
	p->n = 0;
}

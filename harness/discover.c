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

static int walk(const char *dir, struct ps_paths *out, struct ps_diag *d)
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
		if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
			r = walk(path, out, d);
		else if (n > 4 && !strcmp(de->d_name + n - 4, ".scn"))
			r = push(out, path) ? ps_diag(d, -ENOMEM, "out of memory") : 0;
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
	struct stat st;
	size_t i, j;
	int r = 0;

	out->v = NULL;
	out->n = 0;
	for (i = 0; !r && i < n; i++) {
		if (stat(paths[i], &st))
			r = ps_diag(d, -errno, "%s: %s", paths[i], strerror(errno));
		else if (S_ISDIR(st.st_mode))
			r = walk(paths[i], out, d);
		else
			r = push(out, paths[i]) ? ps_diag(d, -ENOMEM, "out of memory") : 0;
	}
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

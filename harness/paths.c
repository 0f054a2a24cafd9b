#include "paths.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "install_paths.h"

/* The directory of the running program, "" when /proc cannot say. */
static const char *exe_dir(void)
{
	static char dir[PATH_MAX];
	static int done;
	char *slash;
	ssize_t n;

	if (done)
		return dir;
	done = 1;
	n = readlink("/proc/self/exe", dir, sizeof(dir) - 1);
	if (n <= 0) {
		dir[0] = '\0';
		return dir;
	}
	dir[n] = '\0';
	slash = strrchr(dir, '/');
	if (slash)
		*slash = '\0';
	return dir;
}

static int exists(const char *dir, const char *rel)
{
	char path[PATH_MAX];

	if (snprintf(path, sizeof(path), "%s/%s", dir, rel) >= (int)sizeof(path))
		return 0;
	return access(path, F_OK) == 0;
}

/* <tree>/build/procspec, or <tree>/build/<variant>/procspec for sanitizer
 * builds: the first ancestor holding tools/pydriver.py and scenarios/. */
static int source_tree(char *out, size_t size)
{
	char dir[PATH_MAX], *slash;
	int up;

	snprintf(dir, sizeof(dir), "%s", exe_dir());
	for (up = 0; up < 3; up++) {
		slash = strrchr(dir, '/');
		if (!slash || slash == dir)
			return 0;
		*slash = '\0';
		if (exists(dir, "tools/pydriver.py") && exists(dir, "scenarios")) {
			snprintf(out, size, "%s", dir);
			return 1;
		}
	}
	return 0;
}

const char *ps_datadir(void)
{
	static char dir[PATH_MAX];
	const char *env = getenv("PROCSPEC_DATADIR");
	int n = 0;

	if (dir[0])
		return dir;
	if (!env || !*env)
		env = getenv("PROCSPEC_HOME"); /* its older name */
	if (env && *env)
		n = snprintf(dir, sizeof(dir), "%s", env);
	else if (!source_tree(dir, sizeof(dir))) {
		if (exe_dir()[0] && exists(exe_dir(), PS_INSTALLED_DATADIR_REL "/scenarios"))
			n = snprintf(dir, sizeof(dir), "%s/%s", exe_dir(),
				     PS_INSTALLED_DATADIR_REL);
		else if (access(PS_INSTALLED_DATADIR, F_OK) == 0)
			n = snprintf(dir, sizeof(dir), "%s", PS_INSTALLED_DATADIR);
	}
	if (n < 0 || (size_t)n >= sizeof(dir) || !dir[0])
		snprintf(dir, sizeof(dir), ".");
	return dir;
}

static int is_cwd(const char *dir)
{
	char *a = realpath(dir, NULL), *b = realpath(".", NULL);
	int same = a && b && !strcmp(a, b);

	free(a);
	free(b);
	return same;
}

const char *ps_data(const char *rel)
{
	/* a handful of names, each resolved once */
	static struct {
		const char *rel;
		char *path;
	} cache[8];
	static int here = -1;
	struct ps_buf b = PS_BUF_INIT;
	size_t i;

	if (here < 0)
		here = is_cwd(ps_datadir());
	if (here)
		return rel;
	for (i = 0; i < sizeof(cache) / sizeof(cache[0]) && cache[i].rel; i++)
		if (!strcmp(cache[i].rel, rel))
			return cache[i].path;
	if (i == sizeof(cache) / sizeof(cache[0]))
		return rel;
	ps_buf_addf(&b, "%s/%s", ps_datadir(), rel);
	if (!(cache[i].path = ps_buf_detach(&b)))
		return rel;
	cache[i].rel = rel;
	return cache[i].path;
}

char *ps_helper(const char *name)
{
	const char *dir = exe_dir(), *rel = NULL, *abs = NULL;
	struct ps_buf b = PS_BUF_INIT;

	if (!strcmp(name, "procref-driver")) {
		rel = PS_INSTALLED_DRIVER_REL;
		abs = PS_INSTALLED_DRIVER;
	} else if (!strcmp(name, "libprocspec-fiu.so")) {
		rel = PS_INSTALLED_FIULIB_REL;
		abs = PS_INSTALLED_FIULIB;
	}
	if (!*dir)
		dir = "build";
	if (!exists(dir, name) && rel && exists(dir, rel))
		ps_buf_addf(&b, "%s/%s", dir, rel);
	else if (!exists(dir, name) && abs && access(abs, F_OK) == 0)
		ps_buf_adds(&b, abs);
	else
		ps_buf_addf(&b, "%s/%s", dir, name);
	return ps_buf_detach(&b);
}

#include "tmp.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "util.h"

#define GUARD_MAX 64
#define PATH_LEN  512

/* Written only outside signal handlers, read by them. */
static pid_t owner;
static char guarded[GUARD_MAX][PATH_LEN];
static pid_t guarded_by[GUARD_MAX]; /* the process that made each */
static char bases[4][PATH_LEN];     /* where driver directories were made */

void ps_tmp_init(void)
{
	if (!owner)
		owner = getpid();
}

static size_t copy(char *dst, size_t size, const char *src)
{
	size_t n = strlen(src);

	if (n >= size)
		return 0;
	memcpy(dst, src, n + 1);
	return n;
}

void ps_tmp_guard(const char *path)
{
	size_t i;

	for (i = 0; i < GUARD_MAX; i++) {
		if (!guarded[i][0] && copy(guarded[i], PATH_LEN, path)) {
			guarded_by[i] = getpid();
			return;
		}
	}
}

/* rm -rf of name in dirfd, depth-limited; only async-signal-safe calls. */
static void remove_at(int dirfd, const char *name, int depth)
{
	char buf[4096];
	long n, off;
	int fd;

	if (unlinkat(dirfd, name, 0) == 0 || (errno != EISDIR && errno != EPERM) || depth > 32)
		goto rmdir;
	fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return;
	while ((n = syscall(SYS_getdents64, fd, buf, sizeof(buf))) > 0) {
		for (off = 0; off < n;) {
			struct ps_dirent64 *de = (struct ps_dirent64 *)(buf + off);

			off += de->d_reclen;
			if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
				remove_at(fd, de->d_name, depth + 1);
		}
	}
	close(fd);
rmdir:
	unlinkat(dirfd, name, AT_REMOVEDIR);
}

void ps_tmp_remove_own(void)
{
	pid_t self = getpid();
	size_t i;

	for (i = 0; i < GUARD_MAX; i++) {
		if (guarded[i][0] && guarded_by[i] == self) {
			remove_at(AT_FDCWD, guarded[i], 0);
			guarded[i][0] = '\0';
		}
	}
}

void ps_tmp_remove(const char *path)
{
	size_t i;

	if (!path || !*path)
		return;
	remove_at(AT_FDCWD, path, 0);
	for (i = 0; i < GUARD_MAX; i++)
		if (!strcmp(guarded[i], path))
			guarded[i][0] = '\0';
}

/* pid in "prefix.<pid>.XXXXXX", or 0 when name is not one of those. */
static pid_t pid_in(const char *name, const char *prefix)
{
	size_t n = strlen(prefix);
	const char *s;
	long pid = 0;

	if (strncmp(name, prefix, n) || name[n] != '.')
		return 0;
	for (s = name + n + 1; *s >= '0' && *s <= '9' && pid < INT_MAX / 10; s++)
		pid = pid * 10 + (*s - '0');
	return *s == '.' ? (pid_t)pid : 0;
}

/* Remove prefix.<pid>.* in dir for the pid given, or for every dead pid when pid is 0. */
static void remove_named(const char *dir, const char *prefix, pid_t pid)
{
	char buf[4096];
	long n, off;
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return;
	while ((n = syscall(SYS_getdents64, fd, buf, sizeof(buf))) > 0) {
		for (off = 0; off < n;) {
			struct ps_dirent64 *de = (struct ps_dirent64 *)(buf + off);
			pid_t p = pid_in(de->d_name, prefix);

			off += de->d_reclen;
			if (p <= 0 || (pid ? p != pid : kill(p, 0) == 0 || errno != ESRCH))
				continue;
			remove_at(fd, de->d_name, 0);
		}
	}
	close(fd);
}

void ps_tmp_remove_stale(const char *dir, const char *prefix)
{
	remove_named(dir, prefix, 0);
}

void ps_tmp_remove_all(void)
{
	size_t i;

	for (i = 0; i < GUARD_MAX; i++)
		if (guarded[i][0])
			remove_at(AT_FDCWD, guarded[i], 0);
	for (i = 0; i < sizeof(bases) / sizeof(bases[0]); i++)
		if (bases[i][0] && owner)
			remove_named(bases[i], PS_TMP_DRIVER_PREFIX, owner);
}

int ps_tmp_driver_dir(char *out, size_t size)
{
	const char *base = getenv("TMPDIR");
	size_t i;

	if (!base || !*base)
		base = "/tmp";
	ps_tmp_init();
	/* A place new to this process: first what dead harnesses left there */
	for (i = 0; i < sizeof(bases) / sizeof(bases[0]); i++) {
		if (!strcmp(bases[i], base))
			break;
		if (!bases[i][0]) {
			ps_tmp_remove_stale(base, PS_TMP_DRIVER_PREFIX);
			copy(bases[i], PATH_LEN, base);
			break;
		}
	}
	if ((size_t)snprintf(out, size, "%s/%s.%ld.XXXXXX", base, PS_TMP_DRIVER_PREFIX,
			     (long)owner) >= size)
		return -ENAMETOOLONG;
	if (!mkdtemp(out))
		return -errno;
	ps_tmp_guard(out);
	return 0;
}

char **ps_tmp_env(char *const *env, const char *dir)
{
	char *const *src = env ? env : environ;
	char **out;
	size_t n = 0, i, k = 0;

	while (src[n])
		n++;
	if (!(out = calloc(n + 2, sizeof(*out))))
		return NULL;
	for (i = 0; i < n; i++) {
		if (!strncmp(src[i], "TMPDIR=", 7))
			continue;
		/* CPython's default on a file, block-buffered stdout, whatever
		 * the machine sets: else what a child loses in os._exit()
		 * (streams/unflushed-before-os-exit) depends on it */
		if (!strncmp(src[i], "PYTHONUNBUFFERED=", 17))
			continue;
		if (!(out[k++] = strdup(src[i])))
			goto fail;
	}
	if (asprintf(&out[k], "TMPDIR=%s", dir) < 0) {
		out[k] = NULL;
		goto fail;
	}
	return out;
fail:
	for (i = 0; out[i]; i++)
		free(out[i]);
	free(out);
	return NULL;
}

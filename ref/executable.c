/*
 * multiprocessing.set_executable() and spawn.get_command_line(): which
 * program the spawn and forkserver start methods run, and its command
 * line, one builder for both (Lib/multiprocessing/spawn.py; forkserver.py
 * builds its own from the same parts).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "install_paths.h"
#include "internal.h"

/* set_executable()'s path; "" for none */
static char executable[PATH_MAX];
/* set by the program (multiprocessing.set_executable), not by the library's
 * user: exec'd as given, as CPython does, with no check */
static int program_set;

static int copy_path(char *buf, size_t size, const char *path)
{
	if (strlen(path) >= size)
		return -ENAMETOOLONG;
	strcpy(buf, path);
	return 0;
}

int pr_set_executable(const char *path)
{
	if (path == NULL)
		path = "";
	program_set = 0;
	return copy_path(executable, sizeof executable, path);
}

int pr__set_program_executable(const char *path)
{
	int r = copy_path(executable, sizeof executable, path);

	program_set = r == 0;
	return r;
}

int pr_get_executable(char *buf, size_t size)
{
	const char *env = getenv("PROCREF_CHILD");
	char *slash;
	ssize_t n;

	if (executable[0] != '\0')
		return copy_path(buf, size, executable);
	if (env != NULL && *env != '\0')
		return copy_path(buf, size, env);
	/* beside the program running libprocref: build/procref-driver and
	 * build/check_procspec in a build tree, and procref-child itself,
	 * whose children start children of their own */
	n = readlink("/proc/self/exe", buf, size - 1);
	if (n > 0) {
		buf[n] = '\0';
		slash = strrchr(buf, '/');
		if (slash != NULL && (size_t)(slash - buf) + sizeof "/procref-child" <= size) {
			strcpy(slash, "/procref-child");
			if (access(buf, F_OK) == 0)
				return 0;
		}
	}
	return copy_path(buf, size, PR_INSTALLED_CHILD);
}

/*
 * Refuse a program that cannot run before starting anything.  CPython
 * never meets this (sys.executable is the interpreter running), and a
 * failed exec of the child is not raised by spawnv_passfds (the child
 * exits 255, popen_spawn_posix.py), so without this check a missing
 * procref-child would show only as exit code 255.  An exec that fails for
 * another reason (a fault, ENOEXEC) still goes CPython's way.
 */
static int check_executable(const char *path, struct pr_diag *d)
{
	struct stat st;
	int err = 0;

	if (stat(path, &st) < 0)
		err = errno;
	else if (!S_ISREG(st.st_mode) || access(path, X_OK) < 0)
		err = EACCES;
	if (err == 0)
		return 0;
	return pr_diag(d, -err,
		       "[Errno %d] %s: '%s' (libprocref's procref-child: "
		       "install it, set PROCREF_CHILD or call pr_set_executable())",
		       err, strerror(err), path);
}

int pr__child_start(char *const args[], const int *fds, size_t nfds, pid_t *out, struct pr_diag *d)
{
	char path[PATH_MAX], profile[32];
	char *argv[PR__CHILD_MAX_ARGS + 4];
	size_t n = 0, i;
	int r;

	*out = 0;
	if ((r = pr_get_executable(path, sizeof path)) < 0)
		return pr_diag(d, r, NULL);
	if (!program_set && (r = check_executable(path, d)) < 0)
		return r;
	/* the interpreter's flags come first, as get_command_line() passes
	 * them (util._args_from_interpreter_flags): here, the profile */
	snprintf(profile, sizeof profile, "%s", pr_profile_name());
	argv[n++] = path;
	argv[n++] = "--profile";
	argv[n++] = profile;
	for (i = 0; args[i] != NULL && i < PR__CHILD_MAX_ARGS; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	if ((r = pr__spawnv_passfds(path, argv, fds, nfds, out)) < 0)
		return pr_diag(d, r, NULL);
	return 0;
}

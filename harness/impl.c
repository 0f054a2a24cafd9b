#include "impl.h"

#include <ctype.h>
#include <fcntl.h>
#include <stdbool.h>
#include <errno.h>
#include <glob.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "buf.h"
#include "paths.h"
#include "proc.h"
#include "util.h"

static int parse_spec(const char *spec, struct ps_impl *impl, struct ps_diag *d);

static int push(struct ps_impl *impl, size_t *n, const char *s, size_t len)
{
	char **v = realloc(impl->argv, (*n + 2) * sizeof(*v));

	if (!v)
		return -ENOMEM;
	impl->argv = v;
	v[*n] = strndup(s, len);
	if (!v[*n])
		return -ENOMEM;
	v[++*n] = NULL;
	return 0;
}

/* The newest $PYENV_ROOT (~/.pyenv) versions/X.Y.Z/bin/python, malloc'd, or NULL. */
static char *pyenv_python(const char *xy)
{
	const char *root = getenv("PYENV_ROOT"), *home = getenv("HOME");
	struct ps_buf b = PS_BUF_INIT;
	char *found = NULL;
	glob_t g;
	size_t i, len = strlen(xy);

	if (root && *root)
		ps_buf_addf(&b, "%s/versions/%s.*/bin/python", root, xy);
	else
		ps_buf_addf(&b, "%s/.pyenv/versions/%s.*/bin/python",
			    home && *home ? home : "/root", xy);
	if (ps_buf_oom(&b) || glob(b.data, 0, NULL, &g) != 0) {
		ps_buf_release(&b);
		return NULL;
	}
	/* "3.1" must not find 3.10: the character after "X.Y." is a digit of the patch level */
	for (i = 0; i < g.gl_pathc; i++) {
		const char *v = strstr(g.gl_pathv[i], "/versions/") + 10;

		if (!strncmp(v, xy, len) && v[len] == '.' && isdigit((unsigned char)v[len + 1]) &&
		    access(g.gl_pathv[i], X_OK) == 0) {
			free(found);
			found = strdup(g.gl_pathv[i]); /* glob sorts: the last is the newest */
		}
	}
	globfree(&g);
	ps_buf_release(&b);
	return found;
}

/*
 * The short ids: pypy3, billiard, multiprocess, the executor peers (loky,
 * loky-reusable, pebble: tools/pydriver.py's adapters, named as its
 * --module) and cpython-X.Y[-O], turned
 * into the python: spec they stand for (*canon, malloc'd) and, where the
 * label the spec would give is not the id's own, the label (*label).
 * Neither is set for a spec that is no short id.
 */
static int resolve_alias(const char *spec, char **canon, char **label, struct ps_diag *d)
{
	static const struct {
		const char *id, *interp, *module, *package;
	} fixed[] = {
		{ "billiard", "/usr/bin/python3", "billiard", "python3-billiard" },
		{ "multiprocess", "/usr/bin/python3", "multiprocess", "python3-multiprocess" },
		{ "loky", "/usr/bin/python3", "loky", "python3-joblib" },
		{ "loky-reusable", "/usr/bin/python3", "loky-reusable", "python3-joblib" },
		{ "pebble", "/usr/bin/python3", "pebble", "python3-pebble" },
		{ "pypy3", "/usr/bin/pypy3", NULL, "pypy3" },
	};
	char xy[16], path[64], *interp = NULL;
	const char *v, *e;
	size_t i;
	bool opt;
	int r;

	*canon = *label = NULL;
	for (i = 0; i < ARRAY_SIZE(fixed); i++) {
		if (strcmp(spec, fixed[i].id))
			continue;
		if (access(fixed[i].interp, X_OK))
			return ps_diag(d, PS_EUSAGE,
				       "--impl %s: %s not found (Debian's %s package provides it)",
				       spec, fixed[i].interp, fixed[i].package);
		if (asprintf(canon, "python:%s%s%s", fixed[i].interp, fixed[i].module ? ":" : "",
			     fixed[i].module ? fixed[i].module : "") < 0)
			return ps_diag(d, -ENOMEM, "out of memory");
		return 0;
	}
	if (strncmp(spec, "cpython-", 8))
		return 0;
	/* cpython-X.Y or cpython-X.Y-O */
	v = spec + 8;
	for (e = v; isdigit((unsigned char)*e); e++)
		;
	if (e == v || *e != '.' || !isdigit((unsigned char)e[1]))
		goto bad;
	for (e++; isdigit((unsigned char)*e); e++)
		;
	opt = !strcmp(e, "-O");
	if ((*e && !opt) || (size_t)(e - v) >= sizeof(xy))
		goto bad;
	snprintf(xy, sizeof(xy), "%.*s", (int)(e - v), v);
	snprintf(path, sizeof(path), "/usr/bin/python%s", xy);
	if (access(path, X_OK) == 0)
		interp = strdup(path);
	else if (!(interp = pyenv_python(xy)))
		return ps_diag(d, PS_EUSAGE,
			       "--impl %s: no local CPython %s (neither %s nor "
			       "~/.pyenv/versions/%s.*/bin/python)",
			       spec, xy, path, xy);
	r = interp && asprintf(canon, "python:%s%s", interp, opt ? " -O" : "") >= 0 ? 0 : -ENOMEM;
	free(interp);
	if (!r)
		*label = strdup(spec);
	if (r || !*label) {
		free(*canon);
		*canon = NULL;
		return ps_diag(d, -ENOMEM, "out of memory");
	}
	return 0;
bad:
	return ps_diag(d, PS_EUSAGE, "--impl %s: expected cpython-X.Y or cpython-X.Y-O", spec);
}

int ps_impl_parse(const char *spec, struct ps_impl *impl, struct ps_diag *d)
{
	char *canon = NULL, *alias_label = NULL;
	int r;

	memset(impl, 0, sizeof(*impl));
	r = resolve_alias(spec, &canon, &alias_label, d);
	if (r)
		return r;
	r = parse_spec(canon ? canon : spec, impl, d);
	free(canon);
	if (!r && !(impl->spec = strdup(spec)))
		r = ps_diag(d, -ENOMEM, "out of memory");
	if (!r && alias_label) {
		free(impl->label);
		impl->label = alias_label;
		alias_label = NULL;
	}
	free(alias_label);
	if (r)
		ps_impl_release(impl);
	return r;
}

/* The forms of impl.h, without the short ids; impl->spec is the caller's to set. */
static int parse_spec(const char *spec, struct ps_impl *impl, struct ps_diag *d)
{
	char *home = NULL, *path = NULL;
	const char *interp, *colon, *module, *s, *base;
	struct ps_buf b = PS_BUF_INIT;
	size_t n = 0;
	int r = -ENOMEM;

	if (!(home = strdup(ps_datadir())))
		goto fail;
	if (!strcmp(spec, "ref") || !strncmp(spec, "ref@", 4)) {
		/* The driver built beside this program (build/ or build/asan/),
		 * or installed. */
		path = ps_helper("procref-driver");
		if (!path || push(impl, &n, path, strlen(path)))
			goto fail;
		/* ref@X.Y[-O]: libprocref behaving as CPython X.Y (with -O) does */
		if (spec[3] == '@' &&
		    (push(impl, &n, "--profile", 9) || push(impl, &n, spec + 4, strlen(spec + 4))))
			goto fail;
		if (!(impl->label = strdup(spec)))
			goto fail;
		impl->is_ref = 1;
	} else if (!strncmp(spec, "python:", 7)) {
		interp = spec + 7;
		colon = strchr(interp, ':');
		module = colon ? colon + 1 : "multiprocessing";
		if ((colon ? (size_t)(colon - interp) : strlen(interp)) == 0 || !*module) {
			r = ps_diag(d, PS_EUSAGE, "--impl %s: expected python:INTERPRETER[:MODULE]",
				    spec);
			goto fail;
		}
		/* "INTERP -O -X dev": the interpreter's own flags come before the script */
		const char *iend = colon ? colon : interp + strlen(interp), *w = interp, *we;

		ps_buf_addf(&b, "%s/tools/pydriver.py", home);
		path = ps_buf_detach(&b);
		if (!path)
			goto fail;
		while (w < iend) {
			while (w < iend && *w == ' ')
				w++;
			for (we = w; we < iend && *we != ' '; we++)
				;
			if (we > w && push(impl, &n, w, (size_t)(we - w)))
				goto fail;
			w = we;
		}
		if (push(impl, &n, path, strlen(path)) || push(impl, &n, "--module", 8) ||
		    push(impl, &n, module, strlen(module)))
			goto fail;
		base = strrchr(impl->argv[0], '/');
		base = base ? base + 1 : impl->argv[0];
		ps_buf_adds(&b, base);
		for (size_t k = 1; impl->argv[k] && impl->argv[k] != impl->argv[n - 3]; k++)
			ps_buf_adds(&b, impl->argv[k][0] == '-' ? impl->argv[k] : "");
		if (strcmp(module, "multiprocessing"))
			ps_buf_addf(&b, "-%s", module);
		if (!(impl->label = ps_buf_detach(&b)))
			goto fail;
	} else if (!strncmp(spec, "cmd:", 4)) {
		for (s = spec + 4; *s;) {
			while (*s == ' ')
				s++;
			if (!*s)
				break;
			const char *e = strchr(s, ' ');

			if (push(impl, &n, s, e ? (size_t)(e - s) : strlen(s)))
				goto fail;
			s = e ? e : s + strlen(s);
		}
		if (n == 0) {
			r = ps_diag(d, PS_EUSAGE, "--impl %s: expected cmd:PROGRAM [ARG...]", spec);
			goto fail;
		}
		base = strrchr(impl->argv[0], '/');
		if (!(impl->label = strdup(base ? base + 1 : impl->argv[0])))
			goto fail;
	} else {
		r = ps_diag(d, PS_EUSAGE,
			    "--impl %s: unknown implementation (expected ref[@X.Y[-O]], "
			    "cpython-X.Y[-O], pypy3, billiard, multiprocess, loky, "
			    "loky-reusable, pebble, "
			    "python:INTERPRETER[:MODULE] or cmd:PROGRAM [ARG...])",
			    spec);
		goto fail;
	}
	free(home);
	free(path);
	return 0;
fail:
	if (r == -ENOMEM)
		ps_diag(d, r, "out of memory");
	free(home);
	free(path);
	ps_buf_release(&b);
	ps_impl_release(impl);
	return r;
}

void ps_impl_release(struct ps_impl *impl)
{
	size_t i;

	for (i = 0; impl->argv && impl->argv[i]; i++)
		free(impl->argv[i]);
	free(impl->argv);
	free(impl->spec);
	free(impl->label);
	memset(impl, 0, sizeof(*impl));
}

/*
 * "X.Y" and whether "-O" follows it, from the first "Python X.Y" in text
 * ("CPython 3.11.2", "PyPy 7.3.11 (Python 3.9.16)", "procref 0.2 (CPython
 * 3.11-O semantics)") or from a bare "X.Y[-O]".  false when there is none.
 */
static bool python_version(const char *text, char xy[16], bool *opt)
{
	const char *v = text, *e;

	if (!isdigit((unsigned char)*v)) {
		v = strstr(text, "Python ");
		while (v && !isdigit((unsigned char)v[7]))
			v = strstr(v + 7, "Python ");
		if (!v)
			return false;
		v += 7;
	}
	for (e = v; isdigit((unsigned char)*e); e++)
		;
	if (*e != '.' || !isdigit((unsigned char)e[1]))
		return false;
	for (e++; isdigit((unsigned char)*e); e++)
		;
	if ((size_t)(e - v) >= 16)
		return false;
	snprintf(xy, 16, "%.*s", (int)(e - v), v);
	while (*e == '.' || isdigit((unsigned char)*e)) /* the patch level */
		e++;
	*opt = !strncmp(e, "-O", 2);
	return true;
}

unsigned ps_impl_version(const struct ps_driver *drv)
{
	const char *follows = json_string_value(json_object_get(drv->hello, "follows"));
	unsigned major, minor;
	char xy[16];
	bool opt;

	if (!python_version(follows ? follows : drv->implementation, xy, &opt) ||
	    sscanf(xy, "%u.%u", &major, &minor) != 2 || major > 255 || minor > 255)
		return 0;
	return major << 8 | minor;
}

static bool set_exists(const char *golden_dir, const char *set)
{
	struct ps_buf b = PS_BUF_INIT;
	struct stat st;
	bool yes;

	ps_buf_addf(&b, "%s/%s", golden_dir, set);
	yes = !ps_buf_oom(&b) && stat(b.data, &st) == 0 && S_ISDIR(st.st_mode);
	ps_buf_release(&b);
	return yes;
}

int ps_impl_golden_auto(const struct ps_driver *drv, const char *golden_dir, char **set,
			struct ps_diag *d)
{
	const char *follows = json_string_value(json_object_get(drv->hello, "follows"));
	char xy[16], name[40];
	bool opt = false;

	*set = NULL;
	if (!python_version(follows ? follows : drv->implementation, xy, &opt))
		return ps_diag(
			d, PS_EUSAGE,
			"--golden auto: cannot tell which CPython version %s '%s' "
			"follows (%s); name the set (run --golden SET, matrix --impl ID=SET)",
			follows ? "the hello's \"follows\"" : "the implementation",
			follows ? follows : drv->implementation,
			follows ? "expected X.Y or X.Y-O" :
				  "its hello has no \"follows\" and names no Python version");
	snprintf(name, sizeof(name), "cpython-%s-O", xy);
	if (!opt || !set_exists(golden_dir, name))
		snprintf(name, sizeof(name), "cpython-%s", xy); /* no -O set: the plain one */
	if (!set_exists(golden_dir, name))
		return ps_diag(d, PS_EUSAGE,
			       "--golden auto: %s follows CPython %s%s, and there is no "
			       "golden set %s/%s",
			       drv->implementation, xy, opt ? " -O" : "", golden_dir, name);
	*set = strdup(name);
	return *set ? 0 : ps_diag(d, -ENOMEM, "out of memory");
}

int ps_impl_present(const struct ps_impl *impl, struct ps_diag *d)
{
	const char *module = NULL, *interp = impl->argv[0];
	char **argv = NULL;
	size_t i, n = 0;
	pid_t pid, w;
	int null = -1, st, r;

	for (i = 0; impl->argv[i]; i++)
		if (!strcmp(impl->argv[i], "--module") && impl->argv[i + 1])
			module = impl->argv[i + 1];
	if (strchr(interp, '/') && access(interp, X_OK))
		return ps_diag(d, -errno, "%s: %s", interp, strerror(errno));
	if (!module)
		return 0;
	/* the interpreter, its flags and pydriver.py --module MODULE --check:
	 * the driver knows which modules it drives, and the executor peers
	 * (loky, pebble) are no module of that name */
	for (; impl->argv[n] && !strstr(impl->argv[n], "pydriver.py"); n++)
		;
	if (!impl->argv[n])
		return 0;
	argv = calloc(n + 5, sizeof(*argv));
	if (!argv)
		return ps_diag(d, -ENOMEM, "out of memory");
	for (i = 0; i <= n; i++)
		argv[i] = impl->argv[i];
	argv[n + 1] = "--module";
	argv[n + 2] = (char *)module;
	argv[n + 3] = "--check";
	null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null < 0) {
		r = ps_diag(d, -errno, "/dev/null: %s", strerror(errno));
		goto out;
	}
	r = ps_proc_spawn(argv, NULL, null, null, null, &pid, d);
	if (r)
		goto out;
	do
		w = waitpid(pid, &st, 0);
	while (w == -1 && errno == EINTR);
	if (w != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
		r = ps_diag(d, PS_EDRIVER, "%s cannot import %s", interp, module);
out:
	if (null >= 0)
		close(null);
	free(argv);
	return r;
}

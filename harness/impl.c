#include "impl.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"

char *ps_home(void)
{
	const char *env = getenv("PROCSPEC_HOME");
	char exe[PATH_MAX], probe[PATH_MAX + 32], *slash;
	ssize_t n;
	int up;

	if (env && *env)
		return strdup(env);
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return strdup(".");
	exe[n] = '\0';
	/* <home>/build/procspec, or <home>/build/<variant>/procspec for sanitizer builds */
	for (up = 0; up < 3; up++) {
		slash = strrchr(exe, '/');
		if (!slash || slash == exe)
			break;
		*slash = '\0';
		snprintf(probe, sizeof(probe), "%s/tools/pydriver.py", exe);
		if (up >= 1 && access(probe, F_OK) == 0)
			return strdup(exe);
	}
	return strdup(".");
}

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

int ps_impl_parse(const char *spec, struct ps_impl *impl, struct ps_diag *d)
{
	char *home = NULL, *path = NULL;
	const char *interp, *colon, *module, *s, *base;
	struct ps_buf b = PS_BUF_INIT;
	size_t n = 0;
	int r = -ENOMEM;

	memset(impl, 0, sizeof(*impl));
	if (!(impl->spec = strdup(spec)) || !(home = ps_home()))
		goto fail;
	if (!strcmp(spec, "ref") || !strncmp(spec, "ref@", 4)) {
		/* The driver built beside this program (build/ or build/asan/). */
		char exe[PATH_MAX], *slash;
		ssize_t len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

		exe[len > 0 ? len : 0] = '\0';
		slash = strrchr(exe, '/');
		if (slash)
			*slash = '\0';
		ps_buf_addf(&b, "%s/procref-driver", slash ? exe : "build");
		path = ps_buf_detach(&b);
		if (!path || push(impl, &n, path, strlen(path)))
			goto fail;
		/* ref@X.Y[-O]: libprocref behaving as CPython X.Y (with -O) does */
		if (spec[3] == '@' && (push(impl, &n, "--profile", 9) || push(impl, &n, spec + 4, strlen(spec + 4))))
			goto fail;
		if (!(impl->label = strdup(spec)))
			goto fail;
		impl->is_ref = 1;
	} else if (!strncmp(spec, "python:", 7)) {
		interp = spec + 7;
		colon = strchr(interp, ':');
		module = colon ? colon + 1 : "multiprocessing";
		if ((colon ? (size_t)(colon - interp) : strlen(interp)) == 0 || !*module) {
			r = ps_diag(d, PS_EUSAGE, "--impl %s: expected python:INTERPRETER[:MODULE]", spec);
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
		r = ps_diag(d, PS_EUSAGE, "--impl %s: unknown implementation (expected ref, "
			    "python:INTERPRETER[:MODULE] or cmd:PROGRAM [ARG...])", spec);
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

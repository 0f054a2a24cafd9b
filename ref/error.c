/*
 * Error codes and the diagnostic struct: what Python would raise.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static const char empty[] = "";
static const char memory_error[] = "MemoryError";

static const struct {
	int code;
	const char *type;
} error_types[] = {
#define X(name, type) { PR_E##name, type },
	PR_ERROR_MAP(X)
#undef X
};

/* CPython's errno -> OSError subclass table (Objects/exceptions.c,
 * _PyExc_InitState, the ADD_ERRNO lines). */
static const struct {
	int err;
	const char *type;
} errno_types[] = {
	{ EAGAIN, "BlockingIOError" },
	{ EALREADY, "BlockingIOError" },
	{ EINPROGRESS, "BlockingIOError" },
	{ EWOULDBLOCK, "BlockingIOError" },
	{ EPIPE, "BrokenPipeError" },
	{ ESHUTDOWN, "BrokenPipeError" },
	{ ECHILD, "ChildProcessError" },
	{ ECONNABORTED, "ConnectionAbortedError" },
	{ ECONNREFUSED, "ConnectionRefusedError" },
	{ ECONNRESET, "ConnectionResetError" },
	{ EEXIST, "FileExistsError" },
	{ ENOENT, "FileNotFoundError" },
	{ EISDIR, "IsADirectoryError" },
	{ ENOTDIR, "NotADirectoryError" },
	{ EINTR, "InterruptedError" },
	{ EACCES, "PermissionError" },
	{ EPERM, "PermissionError" },
	{ ESRCH, "ProcessLookupError" },
	{ ETIMEDOUT, "TimeoutError" },
};

const char *pr_error_type(int code)
{
	size_t i;

	if (code >= PR_ERRNO_MIN && code < 0) {
		for (i = 0; i < ARRAY_SIZE(errno_types); i++)
			if (errno_types[i].err == -code)
				return errno_types[i].type;
		return "OSError";
	}
	for (i = 0; i < ARRAY_SIZE(error_types); i++)
		if (error_types[i].code == code)
			return error_types[i].type;
	return NULL;
}

static void free_text(char *p)
{
	if (p != empty && p != memory_error)
		free(p);
}

void pr_diag_clear(struct pr_diag *d)
{
	if (d == NULL)
		return;
	free_text(d->type);
	free_text(d->message);
	pr_decref(d->exit_code);
	d->code = 0;
	d->type = NULL;
	d->message = NULL;
	d->message_len = 0;
	d->exit_code = NULL;
}

/* Out of memory while describing an error: say MemoryError without
 * allocating anything. */
static int diag_oom(struct pr_diag *d)
{
	pr_diag_clear(d);
	d->code = PR_EMEMORY;
	d->type = (char *)memory_error;
	d->message = (char *)empty;
	return PR_EMEMORY;
}

int pr__diag_setn(struct pr_diag *d, int code, const char *type, const char *msg, size_t len)
{
	char *t = NULL, *m = NULL;

	if (d == NULL)
		return code;
	if (type != NULL && (t = strdup(type)) == NULL)
		return diag_oom(d);
	if ((m = malloc(len + 1)) == NULL) {
		free(t);
		return diag_oom(d);
	}
	if (len)
		memcpy(m, msg, len);
	m[len] = '\0';
	pr_diag_clear(d);
	d->code = code;
	d->type = t;
	d->message = m;
	d->message_len = len;
	return code;
}

int pr__diag_vset(struct pr_diag *d, int code, const char *type, const char *fmt, va_list ap)
{
	char errbuf[256];
	char *m = NULL;
	int n, r;

	if (d == NULL)
		return code;
	if (fmt == NULL) {
		if (code >= PR_ERRNO_MIN && code < 0) {
			/* OSError.__str__: "[Errno %d] %s" */
			snprintf(errbuf, sizeof errbuf, "[Errno %d] %s", -code, strerror(-code));
			return pr__diag_setn(d, code, type, errbuf, strlen(errbuf));
		}
		return pr__diag_setn(d, code, type, "", 0);
	}
	n = vasprintf(&m, fmt, ap);
	if (n < 0)
		return diag_oom(d);
	r = pr__diag_setn(d, code, type, m, (size_t)n);
	free(m);
	return r;
}

int pr_diag(struct pr_diag *d, int code, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = pr__diag_vset(d, code, pr_error_type(code), fmt, ap);
	va_end(ap);
	return r;
}

int pr_diag_raise(struct pr_diag *d, const char *type, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = pr__diag_vset(d, PR_EEXCEPTION, type, fmt, ap);
	va_end(ap);
	return r;
}

/* SystemExit(*args): .code is None without arguments, else args[0]; str()
 * is '' without arguments, else str(args[0]). */
int pr__diag_system_exit(struct pr_diag *d, pr_value *code, int has_args)
{
	struct sbuf sb = SBUF_INIT;
	char *text = NULL;
	size_t len = 0;
	int r;

	if (d == NULL)
		return PR_ESYSTEM_EXIT;
	if (has_args && code != NULL)
		pr__value_str(code, &sb);
	if (pr__sb_finish(&sb, &text, &len) < 0)
		return diag_oom(d);
	r = pr__diag_setn(d, PR_ESYSTEM_EXIT, "SystemExit", text, len);
	free(text);
	if (r == PR_ESYSTEM_EXIT)
		d->exit_code = pr_incref(has_args ? code : pr_none());
	return r;
}

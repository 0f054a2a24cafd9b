#include "fault.h"

#include <errno.h>
#include <stdbool.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "util.h"
#include "vocab.h"
#include "paths.h"

extern char **environ;

#define LIBFIU               "libfiu"
#define PROCSPEC             "procspec"
#define SITE(name, who, ...) { name, who, { __VA_ARGS__ } },
static const struct ps_fault_site sites[] = {
#include "../tools/fiu/sites.def"
};
#undef SITE

#define N_SITES ARRAY_SIZE(sites)

const struct ps_fault_site *ps_fault_site_at(size_t i)
{
	return i < N_SITES ? &sites[i] : NULL;
}

const struct ps_fault_site *ps_fault_site_find(const char *name)
{
	size_t i;

	for (i = 0; i < N_SITES; i++)
		if (!strcmp(sites[i].name, name))
			return &sites[i];
	return NULL;
}

static const char *const scopes[] = { "any", "step", "background" };

int ps_fault_scope(const char *name)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(scopes); i++)
		if (!strcmp(scopes[i], name))
			return (int)i;
	return -1;
}

const char *ps_fault_scope_name(int scope)
{
	return scope >= 0 && (size_t)scope < ARRAY_SIZE(scopes) ? scopes[scope] : NULL;
}

/* glibc names every errno it knows (strerrorname_np, glibc 2.32). */
const char *ps_fault_errno_name(int err)
{
	return err > 0 ? strerrorname_np(err) : NULL;
}

int ps_fault_errno(const char *name)
{
	const char *n;
	int e;

	for (e = 1; e < 4096; e++)
		if ((n = strerrorname_np(e)) && !strcmp(n, name))
			return e;
	return 0;
}

static bool is_global(const struct ps_expr *e, const char *name)
{
	return e && e->kind == PS_X_GLOBAL && !strcmp(e->text, name);
}

static bool is_int(const struct ps_expr *e, long min)
{
	return e->kind == PS_X_INT && e->text[0] != '-' && strlen(e->text) < 10 &&
	       strtol(e->text, NULL, 10) >= min;
}

#define BAD(e, ...)                               \
	do {                                      \
		snprintf(msg, size, __VA_ARGS__); \
		return (e);                       \
	} while (0)

static const struct ps_expr *check_fault_call(const struct ps_expr *e, char *msg, size_t size)
{
	const struct ps_fault_site *site;
	const struct ps_expr *name, *v;
	int err, k;
	size_t i;

	if (e->n_items != 1 || e->items[0]->kind != PS_X_STR)
		BAD(e,
		    "fault() takes the site's name as a string: fault(\"posix/proc/fork\", errno=errno.EAGAIN)");
	name = e->items[0];
	if (!(site = ps_fault_site_find(name->text)))
		BAD(name, "unknown fault site '%s' (procspec sweep --list-sites lists them)",
		    name->text);
	for (i = 0; i < e->n_kw; i++) {
		v = e->kw[i].value;
		if (!strcmp(e->kw[i].name, "errno")) {
			if (v->kind != PS_X_GETATTR || !is_global(v->object, "errno"))
				BAD(v, "errno= takes errno.NAME");
			err = ps_fault_errno(v->text);
			for (k = 0; err && site->errnos[k] && site->errnos[k] != err; k++)
				;
			if (err && !site->errnos[k]) {
				char list[256] = "";

				for (k = 0; site->errnos[k]; k++)
					snprintf(list + strlen(list), sizeof(list) - strlen(list),
						 "%s%s", k ? ", " : "",
						 ps_fault_errno_name(site->errnos[k]));
				BAD(v, "%s cannot fail with %s (it can with %s)", site->name,
				    v->text, list);
			}
		} else if (!strcmp(e->kw[i].name, "count")) {
			if (v->kind != PS_X_NONE && !is_int(v, 1))
				BAD(v,
				    "count= takes a number of calls from 1, or None for every call");
		} else if (!strcmp(e->kw[i].name, "after")) {
			if (!is_int(v, 0))
				BAD(v, "after= takes a number of calls from 0");
		} else if (!strcmp(e->kw[i].name, "thread")) {
			if (v->kind != PS_X_STR || ps_fault_scope(v->text) < 0)
				BAD(v,
				    "thread= takes 'any', 'step' (the stepping thread) or 'background' (the executor's threads)");
		} else {
			BAD(v, "fault() has no argument '%s' (errno=, count=, after=, thread=)",
			    e->kw[i].name);
		}
	}
	return NULL;
}

/* The globals only ever read as NAME.ATTR, and the verbs that take no arguments. */
static const struct {
	const char *name;
	bool attrs, noargs;
} shapes[] = {
#define GLOBAL(name, how)     { name, how == ATTRS, false },
#define VERB(name, args, ref) { name, false, args == NOARGS },
#include "vocab.def"
};

const struct ps_expr *ps_fault_check(const struct ps_expr *e, char *msg, size_t size)
{
	const struct ps_expr *bad;
	size_t i;

	if (!e)
		return NULL;
	if (e->kind == PS_X_GETATTR && is_global(e->object, "errno")) {
		if (!ps_fault_errno(e->text))
			BAD(e, "unknown errno 'errno.%s'", e->text);
		return NULL;
	}
	for (i = 0; i < ARRAY_SIZE(shapes); i++) {
		if (!shapes[i].attrs)
			continue;
		if (e->kind == PS_X_GETATTR && is_global(e->object, shapes[i].name))
			return NULL;
		if (is_global(e, shapes[i].name))
			BAD(e, "%s is only used as %s.NAME", shapes[i].name, shapes[i].name);
	}
	if (e->kind == PS_X_CALL && is_global(e->object, "fault")) {
		if ((bad = check_fault_call(e, msg, size)))
			return bad;
	} else if (e->kind == PS_X_CALL && e->object->kind == PS_X_GLOBAL) {
		for (i = 0; i < ARRAY_SIZE(shapes); i++)
			if (shapes[i].noargs && !strcmp(e->object->text, shapes[i].name) &&
			    (e->n_items || e->n_kw))
				BAD(e, "%s() takes no arguments", shapes[i].name);
	}
	if (e->kind != PS_X_CALL || !is_global(e->object, "fault"))
		if ((bad = ps_fault_check(e->object, msg, size)))
			return bad;
	for (i = 0; i < e->n_items; i++)
		if ((bad = ps_fault_check(e->items[i], msg, size)))
			return bad;
	for (i = 0; i < e->n_kw; i++)
		if ((bad = ps_fault_check(e->kw[i].value, msg, size)))
			return bad;
	return NULL;
}

char **ps_fault_env(void)
{
	const char *fiu = getenv("PROCSPEC_FIU_PRELOAD"), *old = getenv("LD_PRELOAD");
	char *lib, **env = NULL;
	struct ps_buf b = PS_BUF_INIT;
	size_t n = 0, i, k = 0;

	if (getenv("PROCSPEC_NO_FAULTS") && *getenv("PROCSPEC_NO_FAULTS"))
		return NULL;
	if (!fiu || !*fiu)
		fiu = "/usr/lib/fiu/fiu_posix_preload.so";
	if (!(lib = ps_helper("libprocspec-fiu.so")))
		return NULL;
	ps_buf_addf(&b, "LD_PRELOAD=%s", lib);
	free(lib);
	if (access(b.data + strlen("LD_PRELOAD="), R_OK) || access(fiu, R_OK)) {
		ps_buf_release(&b);
		return NULL;
	}
	ps_buf_addf(&b, ":%s", fiu);
	if (old && *old)
		ps_buf_addf(&b, ":%s", old);
	while (environ[n])
		n++;
	if (!(env = calloc(n + 3, sizeof(*env))))
		goto fail;
	if (!(env[k++] = ps_buf_detach(&b)))
		goto fail;
	/* The preloads are bound lazily, and each binding made in a forked
	 * process dies with it: every scenario process and child would look
	 * the same symbols up again, faulting in the symbol tables' pages
	 * (about 11 page faults per scenario on libprocref, make bench). */
	if (!getenv("LD_BIND_NOW") && !(env[k++] = strdup("LD_BIND_NOW=1")))
		goto fail;
	for (i = 0; i < n; i++)
		if (strncmp(environ[i], "LD_PRELOAD=", 11) && !(env[k++] = strdup(environ[i])))
			goto fail;
	return env;
fail:
	ps_buf_release(&b);
	ps_fault_env_free(env);
	return NULL;
}

void ps_fault_env_free(char **env)
{
	size_t i;

	for (i = 0; env && env[i]; i++)
		free(env[i]);
	free(env);
}

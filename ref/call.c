/*
 * Calls: binding arguments to a signature with CPython 3.11's TypeError
 * messages (Python/ceval.c: initialize_locals, too_many_positional,
 * missing_arguments, format_missing), and dispatch on what is called.
 * The profile changes the words: the bare name before 3.10
 * (qualname_errors), 2.7's argument counts (py3_arg_errors).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define MAX_SLOTS 16

/* The name argument errors give f: its __qualname__ from 3.10, the bare name before. */
static const char *err_name(const pr_func *f)
{
	const char *dot = strrchr(f->name, '.');

	return pr__profile.qualname_errors || !dot ? f->name : dot + 1;
}

/*
 * 2.7's count error (Python/ceval.c PyEval_EvalCodeEx): every argument
 * counts, self and keywords too; "at most" when there are defaults, "at
 * least" for missing ones when there are defaults or *args.
 */
static int count_error_2(const pr_func *f, const char *bound, size_t n, size_t given,
			 struct pr_diag *d)
{
	return pr_diag(d, PR_ETYPE, "%s() takes %s %zu argument%s (%zu given)", err_name(f), bound,
		       n, n == 1 ? "" : "s", given);
}

static int too_many_positional(const pr_func *f, int is_method, size_t given, size_t kwonly_given,
			       struct pr_diag *d)
{
	size_t argcount = f->nparams + (size_t)is_method;
	size_t defcount = f->nparams - f->nrequired;
	char sig[64], kwsig[96] = "";
	int plural;

	if (defcount) {
		plural = 1;
		snprintf(sig, sizeof sig, "from %zu to %zu", argcount - defcount, argcount);
	} else {
		plural = argcount != 1;
		snprintf(sig, sizeof sig, "%zu", argcount);
	}
	if (kwonly_given)
		snprintf(kwsig, sizeof kwsig,
			 " positional argument%s (and %zu "
			 "keyword-only argument%s)",
			 given != 1 ? "s" : "", kwonly_given, kwonly_given != 1 ? "s" : "");
	return pr_diag(d, PR_ETYPE, "%s() takes %s positional argument%s but %zu%s %s given",
		       err_name(f), sig, plural ? "s" : "", given, kwsig,
		       given == 1 && !kwonly_given ? "was" : "were");
}

/* "'a'", "'a' and 'b'", "'a', 'b', and 'c'" */
static int missing_arguments(const pr_func *f, int is_method, pr_value **argv, struct pr_diag *d)
{
	struct sbuf sb = SBUF_INIT;
	const char *names[MAX_SLOTS];
	size_t i, n = 0;
	char *text = NULL;
	int r;

	if (!pr__profile.py3_arg_errors) {
		for (i = 0; i < f->nparams; i++)
			n += argv[i] != NULL;
		return count_error_2(
			f, f->varargs || f->nrequired < f->nparams ? "at least" : "exactly",
			f->nrequired + (size_t)is_method, n + (size_t)is_method, d);
	}

	for (i = 0; i < f->nrequired && n < MAX_SLOTS; i++)
		if (argv[i] == NULL)
			names[n++] = f->params[i];
	for (i = 0; i < n; i++) {
		if (i > 0 && n > 2)
			pr__sb_puts(&sb, ", ");
		if (i > 0 && i == n - 1)
			pr__sb_puts(&sb, n > 2 ? "and " : " and ");
		pr__sb_printf(&sb, "'%s'", names[i]);
	}
	if ((r = pr__sb_finish(&sb, &text, NULL)) < 0)
		return pr_diag(d, r, NULL);
	r = pr_diag(d, PR_ETYPE,
		    "%s() missing %zu required positional "
		    "argument%s: %s",
		    err_name(f), n, n == 1 ? "" : "s", text);
	free(text);
	return r;
}

/*
 * Bind as initialize_locals does, in its order: positional arguments,
 * then keywords (unexpected, repeated), then the count of positional
 * arguments, then the missing ones.  argv gets new references.
 */
static int bind(const pr_func *f, int is_method, pr_value *const *args, size_t nargs,
		const char *const *kwnames, pr_value *const *kwargs, size_t nkw, pr_value **argv,
		struct pr_diag *d)
{
	size_t nslots = f->nparams + f->nkwonly + f->varargs + f->varkw;
	size_t i, j, npos, nextra, kwonly_given = 0, nvarkw = 0;
	size_t varargs_slot = f->nparams + f->nkwonly;
	size_t varkw_slot = varargs_slot + f->varargs;
	pr_value **extra = NULL, **kv = NULL;
	int r = 0;

	for (i = 0; i < nslots; i++)
		argv[i] = NULL;
	npos = nargs < f->nparams ? nargs : f->nparams;
	for (i = 0; i < npos; i++)
		argv[i] = pr_incref(args[i]);
	if (f->varargs) {
		nextra = nargs - npos;
		if (nextra && (extra = calloc(nextra, sizeof *extra)) == NULL)
			goto oom;
		for (i = 0; i < nextra; i++)
			extra[i] = pr_incref(args[npos + i]);
		argv[varargs_slot] = pr_tuple(extra, nextra);
		free(extra);
		if (argv[varargs_slot] == NULL)
			goto oom;
	}
	if (!pr__profile.py3_arg_errors && nargs > f->nparams && !f->varargs) {
		r = count_error_2(f, f->nrequired < f->nparams ? "at most" : "exactly",
				  f->nparams + (size_t)is_method, nargs + (size_t)is_method + nkw,
				  d);
		goto fail;
	}
	if (f->varkw && nkw && (kv = calloc(2 * nkw, sizeof *kv)) == NULL)
		goto oom;
	for (j = 0; j < nkw; j++) {
		size_t slot = SIZE_MAX;

		if (is_method && strcmp(kwnames[j], "self") == 0) {
			r = pr_diag(d, PR_ETYPE, "%s() got multiple values for %sargument 'self'",
				    err_name(f), pr__profile.py3_arg_errors ? "" : "keyword ");
			goto fail;
		}
		for (i = 0; i < f->nparams && slot == SIZE_MAX; i++)
			if (strcmp(f->params[i], kwnames[j]) == 0)
				slot = i;
		for (i = 0; i < f->nkwonly && slot == SIZE_MAX; i++)
			if (strcmp(f->kwonly[i], kwnames[j]) == 0)
				slot = f->nparams + i;
		if (slot == SIZE_MAX && f->varkw) {
			kv[2 * nvarkw] = pr_str(kwnames[j], strlen(kwnames[j]));
			kv[2 * nvarkw + 1] = pr_incref(kwargs[j]);
			if (kv[2 * nvarkw++] == NULL)
				goto oom;
			continue;
		}
		if (slot == SIZE_MAX) {
			r = pr_diag(d, PR_ETYPE,
				    "%s() got an unexpected "
				    "keyword argument '%s'",
				    err_name(f), kwnames[j]);
			goto fail;
		}
		if (argv[slot] != NULL) {
			r = pr_diag(d, PR_ETYPE, "%s() got multiple values for %sargument '%s'",
				    err_name(f), pr__profile.py3_arg_errors ? "" : "keyword ",
				    kwnames[j]);
			goto fail;
		}
		argv[slot] = pr_incref(kwargs[j]);
		if (slot >= f->nparams)
			kwonly_given++;
	}
	if (nargs > f->nparams && !f->varargs) {
		r = too_many_positional(f, is_method, nargs + (size_t)is_method, kwonly_given, d);
		goto fail;
	}
	for (i = 0; i < f->nrequired; i++)
		if (argv[i] == NULL) {
			r = missing_arguments(f, is_method, argv, d);
			goto fail;
		}
	if (f->varkw) {
		r = pr_dict(kv, nvarkw, &argv[varkw_slot], d);
		nvarkw = 0;
		if (r < 0)
			goto fail;
	}
	free(kv);
	return 0;
oom:
	r = pr_diag(d, PR_EMEMORY, NULL);
fail:
	for (i = 0; i < 2 * nvarkw; i++)
		pr_decref(kv[i]);
	free(kv);
	for (i = 0; i < nslots; i++) {
		pr_decref(argv[i]);
		argv[i] = NULL;
	}
	return r;
}

int pr_call(pr_value *func, pr_value *const *args, size_t nargs, const char *const *kwnames,
	    pr_value *const *kwargs, size_t nkw, pr_value **out, struct pr_diag *d)
{
	const pr_func *f;
	pr_value *argv[MAX_SLOTS], *self = NULL;
	int is_method, r;
	size_t i, nslots;

	switch (func->kind) {
	case PR_FUNCTION:
		f = func->u.fn.func;
		/* type.__call__ runs __init__, whose signature counts self */
		is_method = func->u.fn.is_class;
		break;
	case PR_METHOD:
		f = func->u.fn.func;
		self = func->u.fn.self;
		is_method = 1;
		break;
	case PR_OBJECT:
		if (func->u.obj.type->init != NULL) {
			/* a class: its __init__, with self the class */
			f = func->u.obj.type->init();
			self = func;
			is_method = 1;
			break;
		}
		if (func->u.obj.type->call != NULL) {
			f = func->u.obj.type->call;
			self = func;
			is_method = 0; /* bound: self is no parameter */
			break;
		}
		/* fall through */
	default:
		return pr_diag(d, PR_ETYPE, "'%s' object is not callable", pr__type_name(func));
	}
	nslots = f->nparams + f->nkwonly + f->varargs + f->varkw;
	if (nslots > MAX_SLOTS)
		return pr_diag(d, PR_EUNSUPPORTED, "%s(): too many parameters", err_name(f));
	if ((r = bind(f, is_method, args, nargs, kwnames, kwargs, nkw, argv, d)) < 0)
		return r;
	*out = NULL;
	r = f->fn(self, argv, out, d);
	for (i = 0; i < nslots; i++)
		pr_decref(argv[i]);
	if (r < 0) {
		pr_decref(*out);
		*out = NULL;
	} else if (*out == NULL) {
		*out = pr_none();
	}
	return r;
}

/* self._target(*self._args, **self._kwargs) */
int pr__call_with(pr_value *func, pr_value *args, pr_value *kwargs, pr_value **out,
		  struct pr_diag *d)
{
	const char **names = NULL;
	pr_value **values = NULL;
	size_t i, nkw = kwargs != NULL ? kwargs->u.seq.len : 0;
	int r;

	/* a call to what is not callable fails before ** is looked at */
	if (func->kind != PR_FUNCTION && func->kind != PR_METHOD &&
	    !(func->kind == PR_OBJECT && (func->u.obj.type->call || func->u.obj.type->init)))
		nkw = 0;
	if (nkw && ((names = calloc(nkw, sizeof *names)) == NULL ||
		    (values = calloc(nkw, sizeof *values)) == NULL)) {
		r = pr_diag(d, PR_EMEMORY, NULL);
		goto out;
	}
	for (i = 0; i < nkw; i++) {
		pr_value *k = kwargs->u.seq.items[2 * i];

		if (k->kind != PR_STR) {
			r = pr_diag(d, PR_ETYPE, "keywords must be strings");
			goto out;
		}
		names[i] = k->u.s.data;
		values[i] = kwargs->u.seq.items[2 * i + 1];
	}
	r = pr_call(func, args->u.seq.items, args->u.seq.len, (const char *const *)names, values,
		    nkw, out, d);
out:
	free(names);
	free(values);
	return r;
}

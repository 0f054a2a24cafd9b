/*
 * Statements and expressions of a step (docs/PROTOCOL.md, Statements),
 * evaluated as Python evaluates the scenario line they came from, with
 * tools/pydriver.py's checks of their shape.
 */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "driver.h"

/* json.dumps(node), cut at 200 characters, for messages */
static char *shorten(json_t *node)
{
	char *s = json_dumps(node, JSON_ENCODE_ANY);

	if (s != NULL && strlen(s) > 200)
		strcpy(s + 200, "...");
	return s;
}

static int malformed(struct pr_diag *d, const char *what, json_t *node)
{
	char *s = shorten(node);
	int r = pr_diag(d, PR_EUNSUPPORTED, "malformed %s: %s", what, s ? s : "?");

	free(s);
	return r;
}

static int eval(struct drv_scenario *s, json_t *node, pr_value **out, struct pr_diag *d);

/* "malformed KIND BODY: WHY" as pydriver words it, WHY ending in the
 * repr() of the text when quote is set */
static int malformed_literal(struct pr_diag *d, const char *kind, json_t *body, const char *why,
			     int quote)
{
	const char *text = json_string_value(body);
	pr_value *v = NULL;
	char *s = shorten(body), *q = NULL;
	int r;

	if (quote && text != NULL && (v = pr_str(text, json_string_length(body))) != NULL &&
	    pr_repr(v, &q, NULL) < 0)
		q = NULL;
	r = pr_diag(d, PR_EUNSUPPORTED, "malformed %s %s: %s%s%s", kind, s ? s : "?", why,
		    q ? ": " : "", q ? q : "");
	pr_decref(v);
	free(q);
	free(s);
	return r;
}

static const char *need_string(json_t *body, const char *what, struct pr_diag *d)
{
	if (!json_is_string(body)) {
		malformed(d, what, body);
		return NULL;
	}
	return json_string_value(body);
}

static json_t *field(json_t *body, const char *key, const char *what, struct pr_diag *d)
{
	json_t *v = json_is_object(body) ? json_object_get(body, key) : NULL;
	char *s;

	if (v == NULL) {
		s = shorten(body);
		pr_diag(d, PR_EUNSUPPORTED, "malformed %s: no '%s' in %s", what, key, s ? s : "?");
		free(s);
	}
	return v;
}

static int ev_int(json_t *body, pr_value **out, struct pr_diag *d)
{
	int r;

	if (json_is_integer(body)) {
		*out = pr_int(json_integer_value(body));
		return *out ? 0 : pr_diag(d, PR_EMEMORY, NULL);
	}
	if (!json_is_string(body))
		return malformed(d, "int", body);
	r = pr_int_parse(json_string_value(body), out);
	if (r == PR_EVALUE) {
		r = malformed_literal(d, "int", body,
				      "invalid literal for int() "
				      "with base 10",
				      1);
	} else if (r < 0) {
		r = pr_diag(d, r, NULL);
	}
	return r;
}

static int ev_float(json_t *body, pr_value **out, struct pr_diag *d)
{
	const char *text;
	char *end;
	double f;

	if ((text = need_string(body, "float", d)) == NULL)
		return d->code;
	errno = 0;
	f = strtod(text, &end);
	if (end == text || *end != '\0')
		return malformed_literal(d, "float", body,
					 "could not convert "
					 "string to float",
					 1);
	*out = pr_float(f);
	return *out ? 0 : pr_diag(d, PR_EMEMORY, NULL);
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int ev_bytes(json_t *body, pr_value **out, struct pr_diag *d)
{
	const char *hex;
	unsigned char *buf;
	size_t i, n;
	int hi, lo;

	if ((hex = need_string(body, "bytes", d)) == NULL)
		return d->code;
	n = json_string_length(body);
	if (n % 2)
		return malformed_literal(d, "bytes", body, "Odd-length string", 0);
	if ((buf = malloc(n / 2 + 1)) == NULL)
		return pr_diag(d, PR_EMEMORY, NULL);
	for (i = 0; i < n; i += 2) {
		if ((hi = hexval(hex[i])) < 0 || (lo = hexval(hex[i + 1])) < 0) {
			free(buf);
			return malformed_literal(d, "bytes", body, "Non-hexadecimal digit found",
						 0);
		}
		buf[i / 2] = (unsigned char)(hi << 4 | lo);
	}
	*out = pr_bytes(buf, n / 2);
	free(buf);
	return *out ? 0 : pr_diag(d, PR_EMEMORY, NULL);
}

/* The items of a JSON list, evaluated left to right. */
static int eval_list(struct drv_scenario *s, json_t *body, const char *what, pr_value ***items,
		     size_t *n, struct pr_diag *d)
{
	pr_value **v;
	size_t i, len;
	int r;

	if (!json_is_array(body))
		return malformed(d, what, body);
	len = json_array_size(body);
	if ((v = calloc(len + 1, sizeof *v)) == NULL)
		return pr_diag(d, PR_EMEMORY, NULL);
	for (i = 0; i < len; i++)
		if ((r = eval(s, json_array_get(body, i), &v[i], d)) < 0) {
			while (i > 0)
				pr_decref(v[--i]);
			free(v);
			return r;
		}
	*items = v;
	*n = len;
	return 0;
}

static int ev_seq(struct drv_scenario *s, json_t *body, int tuple, pr_value **out,
		  struct pr_diag *d)
{
	pr_value **items;
	size_t n;
	int r;

	if ((r = eval_list(s, body, tuple ? "tuple" : "list", &items, &n, d)) < 0)
		return r;
	*out = tuple ? pr_tuple(items, n) : pr_list(items, n);
	free(items);
	return *out ? 0 : pr_diag(d, PR_EMEMORY, NULL);
}

/* {k: v, ...}: each key and value evaluated, then stored, in order; an
 * unhashable key raises when it is stored */
static int ev_dict(struct drv_scenario *s, json_t *body, pr_value **out, struct pr_diag *d)
{
	pr_value **kv, *probe[2], *tmp;
	json_t *pair;
	size_t i, n, k = 0;
	int r = 0;

	if (!json_is_array(body))
		return malformed(d, "dict", body);
	n = json_array_size(body);
	if ((kv = calloc(2 * n + 1, sizeof *kv)) == NULL)
		return pr_diag(d, PR_EMEMORY, NULL);
	for (i = 0; i < n; i++) {
		pair = json_array_get(body, i);
		if (!json_is_array(pair) || json_array_size(pair) != 2) {
			r = malformed(d, "dict item", pair);
			goto fail;
		}
		if ((r = eval(s, json_array_get(pair, 0), &kv[k], d)) < 0)
			goto fail;
		k++;
		if ((r = eval(s, json_array_get(pair, 1), &kv[k], d)) < 0)
			goto fail;
		k++;
		/* a one-pair dict checks the key as the store would */
		probe[0] = pr_incref(kv[k - 2]);
		probe[1] = pr_incref(kv[k - 1]);
		if ((r = pr_dict(probe, 1, &tmp, d)) < 0)
			goto fail;
		pr_decref(tmp);
	}
	r = pr_dict(kv, n, out, d);
	free(kv);
	return r;
fail:
	while (k > 0)
		pr_decref(kv[--k]);
	free(kv);
	return r;
}

static int ev_var(struct drv_scenario *s, json_t *body, pr_value **out, struct pr_diag *d)
{
	const char *name;
	size_t i;

	if ((name = need_string(body, "var", d)) == NULL)
		return d->code;
	for (i = 0; i < s->nvars; i++)
		if (strcmp(s->vars[i].name, name) == 0) {
			*out = pr_incref(s->vars[i].value);
			return 0;
		}
	/* the harness's parser rejects names never bound: this one's
	 * assignment raised */
	return pr_diag(d, PR_ENAME, "name '%s' is not defined", name);
}

static int ev_global(json_t *body, pr_value **out, struct pr_diag *d)
{
	const char *name;

	if ((name = need_string(body, "global", d)) == NULL)
		return d->code;
	if ((*out = pr_global(name)) != NULL || (*out = drv_verb(name)) != NULL)
		return 0;
	return pr_diag(d, PR_EUNSUPPORTED, "unknown global '%s'", name);
}

static int ev_behaviour(json_t *body, pr_value **out, struct pr_diag *d)
{
	const char *name;

	if ((name = need_string(body, "behaviour", d)) == NULL)
		return d->code;
	if ((*out = pr_behaviour(name)) == NULL)
		return pr_diag(d, PR_EUNSUPPORTED, "unknown behaviour child.%s", name);
	return 0;
}

static int ev_task(json_t *body, pr_value **out, struct pr_diag *d)
{
	const char *name;

	if ((name = need_string(body, "task", d)) == NULL)
		return d->code;
	if ((*out = pr_task(name)) == NULL)
		return pr_diag(d, PR_EUNSUPPORTED, "unknown task task.%s", name);
	return 0;
}

/* signal.NAME: the number, as Python's signal module has it */
static int signal_value(const char *name)
{
	const char *abbrev;
	int sig;

	if (strncmp(name, "SIG", 3) != 0)
		return 0;
	for (sig = 1; sig < NSIG; sig++)
		if ((abbrev = sigabbrev_np(sig)) != NULL && strcmp(abbrev, name + 3) == 0)
			return sig;
	return 0;
}

static int ev_getattr(struct drv_scenario *s, json_t *body, pr_value **out, struct pr_diag *d)
{
	json_t *obj_node, *attr_node;
	pr_value *obj;
	const char *attr;
	int r;

	if ((obj_node = field(body, "object", "getattr", d)) == NULL)
		return d->code;
	/* errno.NAME: the number, as Python's errno module has it */
	if (json_is_string(json_object_get(obj_node, "global")) &&
	    strcmp(json_string_value(json_object_get(obj_node, "global")), "errno") == 0 &&
	    (attr_node = field(body, "attr", "getattr", d)) != NULL &&
	    (attr = need_string(attr_node, "getattr attr", d)) != NULL) {
		int e = drv_errno_value(attr);

		if (e == 0)
			return pr_diag_raise(d, "AttributeError",
					     "module 'errno' has no attribute '%s'", attr);
		*out = pr_int(e);
		return 0;
	}
	if (json_is_string(json_object_get(obj_node, "global")) &&
	    strcmp(json_string_value(json_object_get(obj_node, "global")), "signal") == 0 &&
	    (attr_node = field(body, "attr", "getattr", d)) != NULL &&
	    (attr = need_string(attr_node, "getattr attr", d)) != NULL) {
		int sig = signal_value(attr);

		if (sig == 0)
			return pr_diag_raise(d, "AttributeError",
					     "module 'signal' has no attribute '%s'", attr);
		*out = pr_int(sig);
		return 0;
	}
	if ((r = eval(s, obj_node, &obj, d)) < 0)
		return r;
	if ((attr_node = field(body, "attr", "getattr", d)) == NULL ||
	    (attr = need_string(attr_node, "getattr attr", d)) == NULL) {
		pr_decref(obj);
		return d->code;
	}
	/* a property may call into the implementation: exitcode polls */
	drv_faults_active(1);
	r = pr_getattr(obj, attr, out, d);
	drv_faults_active(0);
	pr_decref(obj);
	return r;
}

static int set_stdio(int out_fd, int err_fd, const char *what, struct pr_diag *d)
{
	if (dup2(out_fd, 1) < 0 || dup2(err_fd, 2) < 0)
		return pr_diag(d, PR_EUNSUPPORTED,
			       "cannot point fds 1 and 2 %s: "
			       "[Errno %d] %s",
			       what, errno, strerror(errno));
	return 0;
}

/*
 * func(*args, **kwargs).  p.start() for a bound process object runs with
 * fds 1 and 2 on p's capture files, which the child inherits
 * (PROTOCOL.md, Output streams).
 */
static int call(struct drv_scenario *s, pr_value *func, pr_value **args, size_t nargs,
		const char **names, pr_value **kwargs, size_t nkw, pr_value **out,
		struct pr_diag *d)
{
	const pr_func *f = pr_function_of(func);
	pr_value *self = pr_method_self(func);
	struct drv_record *rec = NULL;
	const char *dot;
	int r;

	if (f != NULL && self != NULL) {
		dot = strrchr(f->name, '.');
		/* p.start(), and every method of an executor (its workers
		 * start inside submit, map or __init__) */
		if (strcmp(dot ? dot + 1 : f->name, "start") == 0 || pr_is_executor(self))
			rec = drv_record_of(s, self);
	}
	if (rec == NULL && drv_is_verb(func))
		return pr_call(func, args, nargs, names, kwargs, nkw, out, d);
	if (rec == NULL) {
		drv_faults_active(1);
		r = pr_call(func, args, nargs, names, kwargs, nkw, out, d);
		drv_faults_active(0);
		return r;
	}
	if ((r = set_stdio(rec->out_fd, rec->err_fd, "at the capture files", d)) < 0) {
		set_stdio(drv.saved_out, drv.saved_err, "back", NULL);
		return r;
	}
	drv_faults_active(1);
	r = pr_call(func, args, nargs, names, kwargs, nkw, out, d);
	drv_faults_active(0);
	drv_note_pid(rec);
	if (set_stdio(drv.saved_out, drv.saved_err, "back after start()", r < 0 ? NULL : d) < 0 &&
	    r == 0) {
		pr_decref(*out);
		*out = NULL;
		r = d->code;
	}
	return r;
}

static int ev_call(struct drv_scenario *s, json_t *body, pr_value **out, struct pr_diag *d)
{
	pr_value *func = NULL, **args = NULL, **kwargs = NULL;
	const char **names = NULL;
	json_t *node, *kw, *item;
	size_t nargs = 0, nkw = 0, i, j;
	int r;

	if ((node = field(body, "func", "call", d)) == NULL)
		return d->code;
	if ((r = eval(s, node, &func, d)) < 0)
		return r;
	if ((node = field(body, "args", "call", d)) == NULL) {
		r = d->code;
		goto out;
	}
	if ((r = eval_list(s, node, "call args", &args, &nargs, d)) < 0)
		goto out;
	if ((kw = field(body, "kwargs", "call", d)) == NULL) {
		r = d->code;
		goto out;
	}
	if (!json_is_array(kw)) {
		r = malformed(d, "call kwargs", kw);
		goto out;
	}
	names = calloc(json_array_size(kw) + 1, sizeof *names);
	kwargs = calloc(json_array_size(kw) + 1, sizeof *kwargs);
	if (names == NULL || kwargs == NULL) {
		r = pr_diag(d, PR_EMEMORY, NULL);
		goto out;
	}
	json_array_foreach(kw, i, item) {
		if (!json_is_array(item) || json_array_size(item) != 2 ||
		    !json_is_string(json_array_get(item, 0))) {
			r = malformed(d, "keyword argument", item);
			goto out;
		}
		names[nkw] = json_string_value(json_array_get(item, 0));
		for (j = 0; j < nkw; j++)
			if (strcmp(names[j], names[nkw]) == 0) {
				r = pr_diag(d, PR_EUNSUPPORTED,
					    "keyword argument "
					    "repeated: %s",
					    names[nkw]);
				goto out;
			}
		if ((r = eval(s, json_array_get(item, 1), &kwargs[nkw], d)) < 0)
			goto out;
		nkw++;
	}
	r = call(s, func, args, nargs, names, kwargs, nkw, out, d);
out:
	for (i = 0; i < nkw; i++)
		pr_decref(kwargs[i]);
	for (i = 0; i < nargs; i++)
		pr_decref(args[i]);
	free(kwargs);
	free(names);
	free(args);
	pr_decref(func);
	return r;
}

/* left OP right: both sides evaluated, left first; `is` compares the
 * objects themselves, the rest are libprocref's pr_compare */
static int ev_compare(struct drv_scenario *s, json_t *body, pr_value **out, struct pr_diag *d)
{
	json_t *node;
	pr_value *left = NULL, *right = NULL;
	const char *op;
	int r, yes;

	if ((node = field(body, "op", "compare", d)) == NULL ||
	    (op = need_string(node, "compare op", d)) == NULL)
		return d->code;

	if ((node = field(body, "left", "compare", d)) == NULL)
		return d->code;
	if ((r = eval(s, node, &left, d)) < 0)
		return r;
	if ((node = field(body, "right", "compare", d)) == NULL) {
		pr_decref(left);
		return d->code;
	}
	if ((r = eval(s, node, &right, d)) < 0) {
		pr_decref(left);
		return r;
	}
	if (strcmp(op, "is") == 0 || strcmp(op, "is not") == 0) {
		yes = (left == right) == (op[2] == '\0');
		r = 0;
	} else {
		r = pr_compare(left, op, right, &yes, d);
	}
	pr_decref(left);
	pr_decref(right);
	if (r < 0)
		return r;
	*out = pr_bool(yes);
	return 0;
}

static int eval(struct drv_scenario *s, json_t *node, pr_value **out, struct pr_diag *d)
{
	const char *kind;
	json_t *body;

	*out = NULL;
	if (!json_is_object(node) || json_object_size(node) != 1)
		return malformed(d, "expression", node);
	kind = json_object_iter_key(json_object_iter(node));
	body = json_object_iter_value(json_object_iter(node));
	if (strcmp(kind, "none") == 0) {
		*out = pr_none();
		return 0;
	}
	if (strcmp(kind, "bool") == 0) {
		if (!json_is_boolean(body))
			return malformed(d, "bool", body);
		*out = pr_bool(json_is_true(body));
		return 0;
	}
	if (strcmp(kind, "int") == 0)
		return ev_int(body, out, d);
	if (strcmp(kind, "float") == 0)
		return ev_float(body, out, d);
	if (strcmp(kind, "str") == 0) {
		if (need_string(body, "str", d) == NULL)
			return d->code;
		*out = pr_str(json_string_value(body), json_string_length(body));
		return *out ? 0 : pr_diag(d, PR_EMEMORY, NULL);
	}
	if (strcmp(kind, "bytes") == 0)
		return ev_bytes(body, out, d);
	if (strcmp(kind, "tuple") == 0 || strcmp(kind, "list") == 0)
		return ev_seq(s, body, kind[0] == 't', out, d);
	if (strcmp(kind, "dict") == 0)
		return ev_dict(s, body, out, d);
	if (strcmp(kind, "var") == 0)
		return ev_var(s, body, out, d);
	if (strcmp(kind, "global") == 0)
		return ev_global(body, out, d);
	if (strcmp(kind, "behaviour") == 0)
		return ev_behaviour(body, out, d);
	if (strcmp(kind, "task") == 0)
		return ev_task(body, out, d);
	if (strcmp(kind, "getattr") == 0)
		return ev_getattr(s, body, out, d);
	if (strcmp(kind, "call") == 0)
		return ev_call(s, body, out, d);
	if (strcmp(kind, "compare") == 0)
		return ev_compare(s, body, out, d);
	if (strcmp(kind, "not") == 0) {
		pr_value *v;
		int r = eval(s, body, &v, d);

		if (r < 0)
			return r;
		*out = pr_bool(!pr_truth(v));
		pr_decref(v);
		return 0;
	}
	return pr_diag(d, PR_EUNSUPPORTED, "unknown expression kind '%s'", kind);
}

/* A process object the scenario has not seen, which is not the main or
 * the parent process, gets its records when first bound. */
static int is_new_process(struct drv_scenario *s, pr_value *v)
{
	return ((pr_kind(v) == PR_PROCESS && v != s->current) || pr_is_executor(v)) &&
	       drv_record_of(s, v) == NULL;
}

static int bind(struct drv_scenario *s, const char *name, pr_value *v, struct pr_diag *d)
{
	struct drv_var *grown;
	size_t i;

	for (i = 0; i < s->nvars; i++)
		if (strcmp(s->vars[i].name, name) == 0) {
			pr_decref(s->vars[i].value);
			s->vars[i].value = pr_incref(v);
			return 0;
		}
	grown = realloc(s->vars, (s->nvars + 1) * sizeof *grown);
	if (grown == NULL)
		return pr_diag(d, PR_EMEMORY, NULL);
	s->vars = grown;
	if ((grown[s->nvars].name = strdup(name)) == NULL)
		return pr_diag(d, PR_EMEMORY, NULL);
	grown[s->nvars++].value = pr_incref(v);
	return 0;
}

/* a, b = VALUE: Python's unpacking of a tuple or list into names, each
 * bound in turn; what else Python would unpack is not in the language */
static int assign_unpack(struct drv_scenario *s, json_t *targets, json_t *body, struct pr_diag *d)
{
	pr_value *value = NULL;
	json_t *node;
	size_t i, n = json_array_size(targets);
	int r;

	for (i = 0; i < n; i++)
		if (need_string(json_array_get(targets, i), "assign target", d) == NULL)
			return d->code;
	if ((node = field(body, "value", "assign", d)) == NULL)
		return d->code;
	if ((r = eval(s, node, &value, d)) < 0)
		return r;
	if (pr_kind(value) != PR_TUPLE && pr_kind(value) != PR_LIST)
		r = pr_diag(d, PR_EUNSUPPORTED, "the ref driver unpacks tuples and lists only");
	else if (pr_len(value) < n)
		r = pr_diag(d, PR_EVALUE, "not enough values to unpack (expected %zu, got %zu)", n,
			    pr_len(value));
	else if (pr_len(value) > n)
		r = pr_diag(d, PR_EVALUE, "too many values to unpack (expected %zu)", n);
	for (i = 0; r == 0 && i < n; i++)
		r = bind(s, json_string_value(json_array_get(targets, i)), pr_item(value, i), d);
	pr_decref(value);
	return r;
}

int drv_exec(struct drv_scenario *s, json_t *stmt, pr_value **out, struct pr_diag *d)
{
	json_t *body, *node;
	const char *kind, *name;
	pr_value *value = NULL, *obj = NULL;
	int r;

	*out = NULL;
	if (!json_is_object(stmt) || json_object_size(stmt) != 1)
		return malformed(d, "statement", stmt);
	kind = json_object_iter_key(json_object_iter(stmt));
	body = json_object_iter_value(json_object_iter(stmt));
	if (strcmp(kind, "expr") == 0)
		return eval(s, body, out, d);
	if (strcmp(kind, "assign") == 0) {
		if ((node = field(body, "target", "assign", d)) == NULL)
			return d->code;
		if (json_is_array(node))
			return assign_unpack(s, node, body, d);
		if ((name = need_string(node, "assign target", d)) == NULL)
			return d->code;
		if ((node = field(body, "value", "assign", d)) == NULL)
			return d->code;
		if ((r = eval(s, node, &value, d)) < 0)
			return r;
		if (is_new_process(s, value))
			r = drv_register(s, value, d);
		if (r == 0)
			r = bind(s, name, value, d);
		pr_decref(value);
		return r;
	}
	if (strcmp(kind, "setattr") == 0) {
		/* Python evaluates the right-hand side before the target */
		if ((node = field(body, "value", "setattr", d)) == NULL)
			return d->code;
		if ((r = eval(s, node, &value, d)) < 0)
			return r;
		if ((node = field(body, "object", "setattr", d)) == NULL) {
			r = d->code;
			goto out;
		}
		if ((r = eval(s, node, &obj, d)) < 0)
			goto out;
		if ((node = field(body, "attr", "setattr", d)) == NULL ||
		    (name = need_string(node, "setattr attr", d)) == NULL) {
			r = d->code;
			goto out;
		}
		drv_faults_active(1);
		r = pr_setattr(obj, name, value, d);
		drv_faults_active(0);
	out:
		pr_decref(obj);
		pr_decref(value);
		return r;
	}
	return pr_diag(d, PR_EUNSUPPORTED, "unknown statement kind '%s'", kind);
}

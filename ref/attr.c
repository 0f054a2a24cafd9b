/*
 * getattr(), setattr() and pickling for every kind of value.  Process
 * objects have their own rules (process.c); for the rest, procref knows
 * which attribute names CPython's types have, so that a name no type has
 * raises CPython's AttributeError, and one procref does not model is a
 * driver error rather than a wrong answer.
 */
#include <string.h>

#include "internal.h"

/* The public attributes of the built-in types, from dir() in 3.11. */
/* clang-format off */
static const char *const int_attrs[] = {
	"as_integer_ratio", "bit_count", "bit_length", "conjugate",
	"denominator", "from_bytes", "imag", "numerator", "real", "to_bytes",
	NULL
};
static const char *const float_attrs[] = {
	"as_integer_ratio", "conjugate", "fromhex", "hex", "imag",
	"is_integer", "real", NULL
};
static const char *const str_attrs[] = {
	"capitalize", "casefold", "center", "count", "encode", "endswith",
	"expandtabs", "find", "format", "format_map", "index", "isalnum",
	"isalpha", "isascii", "isdecimal", "isdigit", "isidentifier",
	"islower", "isnumeric", "isprintable", "isspace", "istitle",
	"isupper", "join", "ljust", "lower", "lstrip", "maketrans",
	"partition", "removeprefix", "removesuffix", "replace", "rfind",
	"rindex", "rjust", "rpartition", "rsplit", "rstrip", "split",
	"splitlines", "startswith", "strip", "swapcase", "title",
	"translate", "upper", "zfill", NULL
};
static const char *const bytes_attrs[] = {
	"capitalize", "center", "count", "decode", "endswith", "expandtabs",
	"find", "fromhex", "hex", "index", "isalnum", "isalpha", "isascii",
	"isdigit", "islower", "isspace", "istitle", "isupper", "join",
	"ljust", "lower", "lstrip", "maketrans", "partition",
	"removeprefix", "removesuffix", "replace", "rfind", "rindex",
	"rjust", "rpartition", "rsplit", "rstrip", "split", "splitlines",
	"startswith", "strip", "swapcase", "title", "translate", "upper",
	"zfill", NULL
};
static const char *const tuple_attrs[] = { "count", "index", NULL };
static const char *const list_attrs[] = {
	"append", "clear", "copy", "count", "extend", "index", "insert",
	"pop", "remove", "reverse", "sort", NULL
};
static const char *const dict_attrs[] = {
	"clear", "copy", "fromkeys", "get", "items", "keys", "pop",
	"popitem", "setdefault", "update", "values", NULL
};
static const char *const class_attrs[] = {
	"authkey", "close", "daemon", "exitcode", "ident", "is_alive", "join",
	"kill", "name", "pid", "run", "sentinel", "start", "terminate", NULL
};
static const char *const no_attrs[] = { NULL };
/* clang-format on */

static const char *const *attrs_of(const pr_value *v)
{
	switch (v->kind) {
	case PR_BOOL:
	case PR_INT:
		return int_attrs;
	case PR_FLOAT:
		return float_attrs;
	case PR_STR:
		return str_attrs;
	case PR_BYTES:
	case PR_AUTHKEY:
		return bytes_attrs;
	case PR_TUPLE:
		return tuple_attrs;
	case PR_LIST:
		return list_attrs;
	case PR_DICT:
		return dict_attrs;
	case PR_FUNCTION:
		return v->u.fn.is_class ? class_attrs : no_attrs;
	default:
		return no_attrs;
	}
}

static int has_attr(const pr_value *v, const char *name)
{
	const char *const *a;
	size_t n = strlen(name);

	if (n >= 4 && strncmp(name, "__", 2) == 0 && strcmp(name + n - 2, "__") == 0)
		return 1;
	for (a = attrs_of(v); *a != NULL; a++)
		if (strcmp(*a, name) == 0)
			return 1;
	return 0;
}

static int no_such_attr(const pr_value *v, const char *name, struct pr_diag *d)
{
	if (v->kind == PR_FUNCTION && v->u.fn.is_class)
		return pr_diag(d, PR_EATTRIBUTE,
			       "type object '%s' has no "
			       "attribute '%s'",
			       "Process", name);
	/* a bound method passes unknown names on to its function */
	return pr_diag(d, PR_EATTRIBUTE, "'%s' object has no attribute '%s'",
		       v->kind == PR_METHOD ? "function" : pr__type_name(v), name);
}

int pr_getattr(pr_value *obj, const char *name, pr_value **out, struct pr_diag *d)
{
	*out = NULL;
	if (obj->kind == PR_PROCESS)
		return pr__process_getattr(obj, name, out, d);
	if (obj->kind == PR_OBJECT && obj->u.obj.type->getattr != NULL)
		return obj->u.obj.type->getattr(obj, name, out, d);
	if (obj->kind == PR_FUNCTION && obj->u.fn.is_class &&
	    pr_function_of(obj) == pr__process_init()) {
		int r = pr__process_class_getattr(name, out, d);

		if (r != 0)
			return r < 0 ? r : 0;
	}
	if (has_attr(obj, name))
		return pr_diag(d, PR_EUNSUPPORTED,
			       "libprocref does not model "
			       "%s.%s",
			       pr__type_name(obj), name);
	return no_such_attr(obj, name, d);
}

int pr_setattr(pr_value *obj, const char *name, pr_value *v, struct pr_diag *d)
{
	if (obj->kind == PR_PROCESS)
		return pr__process_setattr(obj, name, v, d);
	/* functions, the class and AuthenticationString instances take new
	 * attributes in CPython; procref keeps none */
	if (has_attr(obj, name) || obj->kind == PR_FUNCTION || obj->kind == PR_AUTHKEY)
		return pr_diag(d, PR_EUNSUPPORTED,
			       "libprocref does not model "
			       "setting %s.%s",
			       pr__type_name(obj), name);
	return no_such_attr(obj, name, d);
}

/*
 * ForkingPickler.dumps(v): literals, functions and the class pickle
 * (functions and classes by reference); an AuthenticationString refuses
 * outside a spawning Popen, and so does any process object, whose
 * _config holds one.
 */
int pr_pickle_check(pr_value *v, struct pr_diag *d)
{
	size_t i, n;
	int r;

	switch (v->kind) {
	case PR_AUTHKEY:
		/* AuthenticationString.__reduce__: only while spawning */
		if (pr__rt.spawning)
			return 0;
		return pr_diag(d, PR_ETYPE,
			       "Pickling an AuthenticationString "
			       "object is disallowed for security reasons");
	case PR_PROCESS:
		return pr__process_pickle_check(v, d);
	case PR_OBJECT:
		return v->u.obj.type->pickle != NULL ? v->u.obj.type->pickle(v, d) : 0;
	case PR_METHOD:
		/* a bound method reduces to getattr(self, name) */
		return pr_pickle_check(v->u.fn.self, d);
	case PR_TUPLE:
	case PR_LIST:
	case PR_DICT:
		n = v->kind == PR_DICT ? 2 * v->u.seq.len : v->u.seq.len;
		for (i = 0; i < n; i++)
			if ((r = pr_pickle_check(v->u.seq.items[i], d)) < 0)
				return r;
		return 0;
	default:
		return 0;
	}
}

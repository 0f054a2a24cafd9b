/*
 * The scenario AST: statements and expressions of the Python subset that
 * scenarios are written in (docs/SCENARIOS.md), their canonical text, and
 * their JSON form for the driver protocol (docs/PROTOCOL.md, "Statements").
 */
#ifndef PS_AST_H
#define PS_AST_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

enum ps_expr_kind {
	PS_X_NONE,
	PS_X_BOOL,
	PS_X_INT,       /* text: canonical decimal, maybe with '-' */
	PS_X_FLOAT,     /* text: Python repr() of the value */
	PS_X_STR,       /* text/len: the UTF-8 bytes of the string */
	PS_X_BYTES,     /* text/len: the raw bytes */
	PS_X_TUPLE,     /* items */
	PS_X_LIST,      /* items */
	PS_X_DICT,      /* items: key, value, key, value, ... */
	PS_X_VAR,       /* text: variable name */
	PS_X_GLOBAL,    /* text: one of the scenario globals */
	PS_X_BEHAVIOUR, /* text: the NAME of child.NAME */
	PS_X_TASK,      /* text: the NAME of task.NAME (executor tasks) */
	PS_X_GETATTR,   /* object, text: attribute name */
	PS_X_CALL,      /* object: the callee; items: positional args; kw */
	PS_X_COMPARE,   /* text: "==", "is" or "is not"; items: the two operands */
	PS_X_NOT,       /* object: the operand of `not` */
};

struct ps_kwarg {
	char *name;
	struct ps_expr *value;
};

struct ps_expr {
	enum ps_expr_kind kind;
	int line, col; /* where it starts in the scenario file, 1-based */
	bool b;        /* PS_X_BOOL */
	char *text;    /* see enum; NUL-terminated, may hold NULs for STR/BYTES */
	size_t len;    /* length of text */
	struct ps_expr *object;
	struct ps_expr **items;
	size_t n_items;
	struct ps_kwarg *kw;
	size_t n_kw;
};

enum ps_stmt_kind {
	PS_S_EXPR,    /* value */
	PS_S_ASSIGN,  /* target = value */
	PS_S_SETATTR, /* object.attr = value (object and attr from a GETATTR) */
};

/*
 * A step gated by version, `if sys.version_info >= (3, 8): STMT` (or `<`):
 * gate is PY(3, 8) as harness/vocab.h numbers releases, 0 for a step that
 * always runs; below is true for `<`.
 */
struct ps_stmt {
	enum ps_stmt_kind kind;
	int line; /* first line of the statement */
	unsigned gate;
	bool below;
	char *target;           /* PS_S_ASSIGN */
	char *target2;          /* PS_S_ASSIGN: target, target2 = value (Pipe()), or NULL */
	struct ps_expr *object; /* PS_S_SETATTR */
	char *attr;             /* PS_S_SETATTR */
	struct ps_expr *value;
};

/* Whether a step runs on CPython release version (PY(major, minor)). */
bool ps_stmt_applies(const struct ps_stmt *s, unsigned version);

void ps_expr_free(struct ps_expr *e);
void ps_stmt_free(struct ps_stmt *s);

/*
 * Canonical Python text of a statement or expression: what the transcript
 * shows after ">>> ".  Returns a malloc'd string, or NULL when out of memory.
 */
char *ps_stmt_unparse(const struct ps_stmt *s);
char *ps_expr_unparse(const struct ps_expr *e);

/* The protocol's JSON form of a statement (a new reference), NULL when out
 * of memory.  A gated step's is its statement's: the harness, not the
 * driver, decides whether it runs (docs/SCENARIOS.md, Steps for some
 * releases only). */
json_t *ps_stmt_to_json(const struct ps_stmt *s);

/* Append Python's repr() of a str (is_bytes false) or bytes value to a buffer. */
struct ps_buf;
int ps_pyrepr_append(struct ps_buf *b, const char *s, size_t len, bool is_bytes);

#endif

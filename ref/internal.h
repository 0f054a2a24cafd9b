/* libprocref's private interfaces between its modules. */
#ifndef PROCREF_INTERNAL_H
#define PROCREF_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "procref.h"

struct pr_sb {
	char *s;
	size_t len, cap;
	bool oom;
};

#define PR_SB_INIT { NULL, 0, 0, false }

void pr__sb_add(struct pr_sb *b, const char *s, size_t n);
void pr__sb_printf(struct pr_sb *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
char *pr__sb_done(struct pr_sb *b);
void pr__repr_into(struct pr_sb *b, const struct pr_value *v);

void pr__process_free(struct pr_process *p);
void pr__process_repr(struct pr_sb *b, const struct pr_process *p);

/* How a target ended, as _bootstrap sees it. */
enum pr_outcome_kind { PR_OUT_RETURN, PR_OUT_SYSTEMEXIT, PR_OUT_EXCEPTION };

struct pr_outcome {
	enum pr_outcome_kind kind;
	struct pr_value *code;	/* SYSTEMEXIT: its code (owned) */
	struct pr_exc exc;	/* EXCEPTION */
};

/* Run behaviour name with args (a tuple) and kwargs (a dict or NULL) in a child. */
void pr__behaviour_run(const char *name, struct pr_value *args, struct pr_value *kwargs,
		       struct pr_outcome *out);

/* Write all of s to fd, retrying on EINTR. */
void pr__write_all(int fd, const char *s, size_t n);

#endif

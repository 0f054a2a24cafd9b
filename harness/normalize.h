/*
 * Transcripts: what a scenario did, step by step, as raw driver results, and
 * their normalised doctest-shaped text (docs/SCENARIOS.md, "Transcripts").
 */
#ifndef PS_NORMALIZE_H
#define PS_NORMALIZE_H

#include <stdbool.h>
#include <stddef.h>

enum ps_result_kind {
	PS_R_NONE,   /* the statement's value was None, or it bound a name */
	PS_R_REPR,   /* value: a repr() */
	PS_R_TEXT,   /* value: captured text (stdout / stderr) */
	PS_R_RAISED, /* value: "Type: message", or "Type" */
};

struct ps_entry {
	char *stmt; /* canonical statement text */
	enum ps_result_kind kind;
	char *value;
	bool sentinel; /* the statement reads an attribute named sentinel */
};

struct ps_pid {
	char *name; /* scenario variable, or "main" */
	long pid;
};

struct ps_transcript {
	struct ps_entry *entries;
	size_t n_entries;
	struct ps_pid *pids;
	size_t n_pids;
	char *authkey; /* repr of the main process's authkey, or NULL */
	bool ended;    /* the end line is known */
	long fds_leaked, children_left;
	/* the children that came back into code not their own (ended's
	 * "escaped"), each its "--- escaped: ..." line without the prefix */
	char **escaped;
	size_t n_escaped;
};

/* clang-format off */
#define PS_TRANSCRIPT_INIT { NULL, 0, NULL, 0, NULL, false, 0, 0, NULL, 0 }
/* clang-format on */

/* Append an entry (taking stmt and value). 0 or -ENOMEM (then both are freed). */
int ps_transcript_add(struct ps_transcript *t, char *stmt, enum ps_result_kind kind, char *value,
		      bool sentinel);
/* Record that variable name holds pid (the last report wins). 0 or -ENOMEM. */
int ps_transcript_pid(struct ps_transcript *t, const char *name, long pid);
/* Record an escaped child (PROTOCOL.md, end): process is its name, into
 * "main", "target" or "server", type and message what it escaped raising
 * (type NULL: nothing).  0, -EINVAL for another into, or -ENOMEM. */
int ps_transcript_escaped(struct ps_transcript *t, const char *process, const char *into,
			  const char *type, const char *message);
void ps_transcript_release(struct ps_transcript *t);

/* Normalise one value: pids, authkey, addresses.  malloc'd, NULL when out of memory. */
char *ps_normalize_value(const struct ps_transcript *t, const char *value);

/* The whole normalised transcript text.  malloc'd, NULL when out of memory. */
char *ps_transcript_render(const struct ps_transcript *t);

#endif

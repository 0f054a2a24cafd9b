/*
 * The conformance matrix: the results of several implementations over the
 * same scenarios, side by side.  One row per scenario and start method
 * (golden transcripts are per method, so a cell holds exactly one verdict),
 * one column per implementation, each judged against the golden set of the
 * CPython version it follows.  Every cell that is neither a pass nor a skip
 * gets a signature, a short stable text of how it diverged, so that one
 * root cause across many cells reads as one line.
 *
 * Written as reports/matrix.json (for tools; format below, in
 * ps_matrix_write) and reports/matrix.html (one self-contained page: inline
 * CSS and JS, the data inline, no external assets, works from file://).
 */
#ifndef PS_MATRIX_H
#define PS_MATRIX_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "diag.h"
#include "pool.h"
#include "report.h"

struct ps_matrix {
	json_t *impls;      /* array of column objects */
	json_t *rows;       /* array of {"scenario", "method", "cells": [...]} */
	json_t *index;      /* "scenario [method]" -> row number */
	json_t *signatures; /* filled by ps_matrix_finish() */
};

/* clang-format off */
#define PS_MATRIX_INIT { NULL, NULL, NULL, NULL }
/* clang-format on */

int ps_matrix_init(struct ps_matrix *m);

/*
 * A new column.  id as given on the command line, label the report name
 * (expectations/<label>.txt), implementation the driver's hello, golden the
 * set compared with (NULL when none), expect the expectations file used (NULL
 * when none).  Returns the column number, or -ENOMEM.
 */
int ps_matrix_column(struct ps_matrix *m, const char *id, const char *label,
		     const char *implementation, const char *golden, const char *expect);

/* The column could not run at all (its driver never said hello): every cell is ERROR, why. */
void ps_matrix_column_error(struct ps_matrix *m, int col, const char *why, double seconds);

/* Wall-clock seconds the column took. */
void ps_matrix_column_seconds(struct ps_matrix *m, int col, double seconds);

/* One cell: scenario id under method for column col. */
int ps_matrix_add(struct ps_matrix *m, int col, const char *id, const char *method,
		  const struct ps_job_result *res);

/*
 * Column col alone, for another process to take in: {"column": {...},
 * "rows": [{"scenario", "method", "cell"}...]}, rows in the order they came.
 * NULL when out of memory.
 */
json_t *ps_matrix_column_export(const struct ps_matrix *m, int col);

/*
 * Append a column ps_matrix_column_export made (in another process), its
 * rows merged into m's by scenario and method, new ones appended.  Returns
 * the column number, -ENOMEM, or -EINVAL when part is not such a column.
 */
int ps_matrix_column_import(struct ps_matrix *m, json_t *part);

/*
 * The matrix as a reporter of a run (report.h): each result a cell of one
 * column, and at the run's end the column's seconds.  rep->sink points at a
 * struct ps_matrix_sink (or a struct that begins with one).
 */
struct ps_matrix_sink {
	struct ps_matrix *m;
	int col;
	double t0; /* when the column started, ps_now() */
	int err;   /* the first failure to add a cell, or 0 */
};

extern const struct ps_reporter ps_reporter_matrix;

/*
 * After the last cell: fill cells no column reported, count verdicts and
 * scores per column, group divergences by signature.
 */
int ps_matrix_finish(struct ps_matrix *m);

/*
 * The signature of a cell that is neither a pass nor a skip, malloc'd: from
 * a diff, "STATEMENT: EXPECTED → ACTUAL" at the first differing lines
 * ("p.exitcode: 0 → 1", "stderr(p): | (1, 2) → (nothing)"), numbers that
 * both sides hold written as N, the statement taken from where ("diverges
 * at step N (line L): STMT") when the diff's context does not reach it;
 * otherwise the verdict and the first line of its detail without its
 * "step N (line L): " prefix, long numbers as N.  Stable across runs:
 * nothing in it depends on timing, pids, paths or the step it happened at.
 */
char *ps_matrix_signature(const char *verdict, const char *diff, const char *detail,
			  const char *where);

/*
 * Write dir/matrix.json and dir/matrix.html, each atomically.  0, or a
 * negative code with d filled.
 */
int ps_matrix_write(const struct ps_matrix *m, const char *dir, struct ps_diag *d);

/* Whether any cell makes the matrix fail (a verdict from PS_V_FAIL on). */
bool ps_matrix_failed(const struct ps_matrix *m);

void ps_matrix_release(struct ps_matrix *m);

#endif

#include "suite.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "discover.h"
#include "paths.h"
#include "driver.h"
#include "proc.h"

void ps_suite_init(struct ps_suite *s)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	memset(s, 0, sizeof(*s));
	s->golden_dir = ps_data("golden");
	s->root = ps_data("scenarios");
	s->step_timeout = 10.0;
	s->repeat = 1;
	s->jobs = n > 0 ? (unsigned)n : 1;
}

int ps_suite_parse(struct ps_suite *s, const struct ps_command_help *cmd,
		   const struct ps_option *opts, int argc, char **argv, struct ps_diag *d)
{
	int r = ps_options_parse(cmd, opts, argc, argv, &s->args, NULL, d);

	/* select owns the lists from here on */
	s->select.patterns = s->patterns.v;
	s->select.n_patterns = s->patterns.n;
	s->select.tags = s->tags.v;
	s->select.n_tags = s->tags.n;
	s->patterns = (struct ps_strv)PS_STRV_INIT;
	s->tags = (struct ps_strv)PS_STRV_INIT;
	return r;
}

int ps_suite_options(struct ps_suite *s, const struct ps_command_help *cmd,
		     const struct ps_option *opts, int argc, char **argv, struct ps_diag *d)
{
	int r = ps_suite_parse(s, cmd, opts, argc, argv, d);

	return r ? r : ps_suite_finish(s, cmd, d);
}

int ps_suite_finish(struct ps_suite *s, const struct ps_command_help *cmd, struct ps_diag *d)
{
	static char *default_paths[1];

	default_paths[0] = (char *)s->root;
	if (!s->impl_spec)
		return ps_diag(d, PS_EUSAGE,
			       "procspec %s: --impl is required "
			       "('procspec %s --help' describes it)",
			       cmd->name, cmd->name);
	if (s->args.n) {
		s->paths = s->args.v;
		s->n_paths = s->args.n;
	} else {
		s->paths = default_paths;
		s->n_paths = 1;
	}
	return ps_impl_parse(s->impl_spec, &s->impl, d);
}

static int cmp_id(const void *a, const void *b)
{
	return strcmp((*(struct ps_scenario *const *)a)->id, (*(struct ps_scenario *const *)b)->id);
}

/*
 * Every statement must fit one protocol line (PS_MAX_LINE) as a request: a
 * 10 MB string or a 200,000-element list is the scenario's fault, reported
 * as file:line:col before anything runs, not blamed on the driver.
 */
static int check_sizes(const struct ps_suite *s, struct ps_diag *d)
{
	size_t i, k, len;
	int r = 0;

	for (i = 0; i < s->n_scenarios && !r; i++) {
		const struct ps_scenario *sc = s->scenarios[i];

		for (k = 0; k < sc->n_steps && !r; k++) {
			json_t *j = ps_stmt_to_json(sc->steps[k]);
			char *line = j ? json_dumps(j, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
			char *text;

			json_decref(j);
			if (!line)
				return ps_diag(d, -ENOMEM, "out of memory");
			len = strlen(line);
			free(line);
			if (len < PS_MAX_LINE)
				continue;
			text = ps_stmt_unparse(sc->steps[k]);
			r = ps_diag(d, PS_EPARSE,
				    "%s:%d:1: statement too long: %zu bytes as a request, "
				    "over the protocol's %u-byte line\n%.72s...",
				    sc->path, sc->steps[k]->line, len, PS_MAX_LINE,
				    text ? text : "");
			free(text);
		}
	}
	return r;
}

/*
 * Ids name golden and report files: each must fit a file name with its
 * longest suffix (".actual.XXXXXX.tmp"), and no two may be the same (two
 * files outside scenarios/ with one base name would overwrite each other's
 * golden files and reports).  Found before anything runs: exit 2.
 */
static int check_ids(const struct ps_suite *s, struct ps_diag *d)
{
	struct ps_scenario **v;
	const char *c, *start;
	size_t i;
	int r = 0;

	for (i = 0; i < s->n_scenarios; i++) {
		/* the id goes into JSON, XML and terminals: UTF-8 without controls */
		char *e = ps_text_escape(s->scenarios[i]->id);

		if (!e)
			return ps_diag(d, -ENOMEM, "out of memory");
		r = strcmp(e, s->scenarios[i]->id) ?
			    ps_diag(d, PS_EUSAGE,
				    "%s: the name is not UTF-8 text, which reports (JSON, "
				    "XML) need; rename the file",
				    e) :
			    0;
		free(e);
		if (r)
			return r;
		for (start = c = s->scenarios[i]->id;; c++) {
			if (*c && *c != '/')
				continue;
			if (c - start > PS_MAX_ID_NAME)
				return ps_diag(d, PS_EUSAGE,
					       "%s: a name of %zu bytes; its report files need "
					       "it to be at most %d",
					       s->scenarios[i]->path, (size_t)(c - start),
					       PS_MAX_ID_NAME);
			if (!*c)
				break;
			start = c + 1;
		}
	}
	r = check_sizes(s, d);
	if (r || s->n_scenarios < 2)
		return r;
	if (!(v = malloc(s->n_scenarios * sizeof(*v))))
		return ps_diag(d, -ENOMEM, "out of memory");
	memcpy(v, s->scenarios, s->n_scenarios * sizeof(*v));
	qsort(v, s->n_scenarios, sizeof(*v), cmp_id);
	for (i = 1; i < s->n_scenarios && !r; i++)
		if (!strcmp(v[i - 1]->id, v[i]->id))
			r = ps_diag(d, PS_EUSAGE,
				    "%s and %s: both have the id %s (files outside "
				    "scenarios/ are named by their base name); rename one",
				    v[i - 1]->path, v[i]->path, v[i]->id);
	free(v);
	return r;
}

int ps_suite_load(struct ps_suite *s, struct ps_diag *d)
{
	struct ps_paths files = { 0 };
	struct ps_diag pd = PS_DIAG_INIT;
	struct ps_scenario *sc;
	size_t i, bad = 0;
	int r;

	r = ps_discover(s->paths, s->n_paths, &files, d);
	if (r)
		return r;
	if (files.n == 0) {
		ps_paths_release(&files);
		return ps_diag(d, PS_EUSAGE, "no scenario files (*.scn) found");
	}
	s->scenarios = calloc(files.n, sizeof(*s->scenarios));
	if (!s->scenarios) {
		ps_paths_release(&files);
		return ps_diag(d, -ENOMEM, "out of memory");
	}
	for (i = 0; i < files.n; i++) {
		r = ps_scenario_load(files.v[i], s->root, &sc, &pd);
		if (r) {
			fprintf(stderr, "%s\n", pd.msg);
			bad++;
			continue;
		}
		s->scenarios[s->n_scenarios++] = sc;
	}
	ps_paths_release(&files);
	if (bad)
		return ps_diag(d, PS_EPARSE, "%zu scenario file(s) could not be parsed", bad);
	r = check_ids(s, d);
	if (r)
		return r;
	r = ps_select_bazel(&s->select, d);
	if (r)
		return r;
	ps_select_apply(&s->select, s->scenarios, &s->n_scenarios);
	/* -k or --tag that match nothing: a typo, not a passing run.  (An
	 * empty shard is fine: CI may shard wider than the suite.) */
	if (!s->n_scenarios && (s->select.n_patterns || s->select.n_tags))
		return ps_diag(d, PS_EUSAGE, "no scenario matches -k/--tag");
	s->runner.impl = &s->impl;
	s->runner.step_timeout = ps_scaled(s->step_timeout);
	s->runner.hello_timeout = ps_scaled(30.0);
	return 0;
}

unsigned ps_suite_methods(const struct ps_suite *s, const struct ps_scenario *sc)
{
	unsigned m = sc->methods;

	if (s->methods)
		m &= s->methods;
	if (s->runner.drv)
		m &= s->runner.drv->methods;
	return m;
}

void ps_suite_release(struct ps_suite *s)
{
	size_t i;

	ps_runner_release(&s->runner);
	for (i = 0; i < s->n_scenarios; i++)
		ps_scenario_free(s->scenarios[i]);
	free(s->scenarios);
	ps_impl_release(&s->impl);
	ps_select_release(&s->select);
	ps_strv_release(&s->args);
	ps_strv_release(&s->patterns);
	ps_strv_release(&s->tags);
	s->scenarios = NULL;
	s->n_scenarios = 0;
}

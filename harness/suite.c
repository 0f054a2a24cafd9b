#include "suite.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "discover.h"
#include "paths.h"
#include "proc.h"

void ps_suite_init(struct ps_suite *s)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	memset(s, 0, sizeof(*s));
	s->golden_dir = ps_data("golden");
	s->root = ps_data("scenarios");
	s->step_timeout = 10.0;
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
		return ps_diag(d, PS_EUSAGE, "procspec %s: --impl is required "
			       "('procspec %s --help' describes it)", cmd->name, cmd->name);
	if (s->args.n) {
		s->paths = s->args.v;
		s->n_paths = s->args.n;
	} else {
		s->paths = default_paths;
		s->n_paths = 1;
	}
	return ps_impl_parse(s->impl_spec, &s->impl, d);
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
	r = ps_select_bazel(&s->select, d);
	if (r)
		return r;
	ps_select_apply(&s->select, s->scenarios, &s->n_scenarios);
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

/* procspec run: play scenarios through an implementation and compare with golden. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "buf.h"
#include "commands.h"
#include "golden.h"
#include "proc.h"
#include "report.h"
#include "suite.h"

static const char usage[] =
	"usage: procspec run [PATH...] --impl IMPL [--method M]... [--golden SET]\n"
	"                    [--golden-dir DIR] [--report DIR] [--timeout S] [-v]\n"
	"  IMPL: ref | python:INTERPRETER[:MODULE] | cmd:PROGRAM [ARG...]\n"
	"  Without --golden, transcripts are checked only for crashes, hangs and leaks.";

/* "diverges at step N (line L): STMT", from the first line where the texts differ. */
static char *where_diverged(const struct ps_scenario *sc, const char *expected, const char *actual)
{
	const char *a = expected, *b = actual, *stmt = NULL;
	size_t step = 0;
	struct ps_buf out = PS_BUF_INIT;

	for (;;) {
		const char *na = strchr(a, '\n'), *nb = strchr(b, '\n');
		size_t la = na ? (size_t)(na - a) : strlen(a), lb = nb ? (size_t)(nb - b) : strlen(b);

		if (!strncmp(b, ">>> ", 4)) {
			step++;
			stmt = b;
		}
		if (la != lb || memcmp(a, b, la) || !na || !nb)
			break;
		a = na + 1;
		b = nb + 1;
	}
	if (!strncmp(b, "--- end", 7) || !strncmp(a, "--- end", 7))
		ps_buf_adds(&out, "diverges at the end of the scenario");
	else if (step && step <= sc->n_steps)
		ps_buf_addf(&out, "diverges at step %zu (line %d): %.*s", step, sc->steps[step - 1]->line,
			    (int)strcspn(stmt + 4, "\n"), stmt + 4);
	else
		ps_buf_adds(&out, "diverges");
	return ps_buf_detach(&out);
}

static bool dir_exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int ps_cmd_run(int argc, char **argv)
{
	struct ps_suite s;
	struct ps_diag d = PS_DIAG_INIT;
	struct ps_report rep;
	struct ps_buf b = PS_BUF_INIT;
	char *report_dir = NULL;
	int r, code = PS_EXIT_ERROR;
	size_t i;
	unsigned m, methods;

	r = ps_suite_options(&s, argc, argv, usage, true, false, &d);
	if (r) {
		fprintf(stderr, "%s\n", d.msg);
		ps_suite_release(&s);
		return PS_EXIT_ERROR;
	}
	signal(SIGPIPE, SIG_IGN);
	ps_proc_subreaper();
	r = ps_suite_load(&s, &d);
	if (!r)
		r = ps_runner_ready(&s.runner, &d);
	if (r) {
		fprintf(stderr, "procspec run: %s\n", d.msg);
		goto out;
	}
	if (s.report_dir)
		report_dir = *s.report_dir ? strdup(s.report_dir) : NULL;
	else if (ps_buf_addf(&b, "reports/%s", s.impl.label) == 0)
		report_dir = ps_buf_detach(&b);
	ps_report_init(&rep, s.impl.label, s.golden_set, report_dir, stdout);
	printf("procspec: %s (%s) against %s%s, %zu scenario(s)\n", s.impl.label,
	       s.runner.drv->implementation, s.golden_set ? "golden set " : "invariants only",
	       s.golden_set ? s.golden_set : "", s.n_scenarios);

	for (i = 0; i < s.n_scenarios; i++) {
		const struct ps_scenario *sc = s.scenarios[i];

		methods = ps_suite_methods(&s, sc);
		for (m = 1; m <= PS_M_FORKSERVER; m <<= 1) {
			const char *mname = ps_method_name(m);
			struct ps_outcome o;
			char *gpath = NULL, *gdir = NULL, *expected = NULL, *diff = NULL, *where = NULL;
			int oom = 0;

			if (!(sc->methods & m) || (s.methods && !(s.methods & m)))
				continue;
			memset(&o, 0, sizeof(o));
			if (!(methods & m)) {
				o.verdict = PS_V_NOTRUN;
				o.detail = strdup("the implementation has no such start method");
				ps_report_add(&rep, sc->id, mname, &o, NULL, NULL, false);
				ps_outcome_release(&o);
				continue;
			}
			if (s.golden_set) {
				ps_buf_addf(&b, "%s/%s/%s", s.golden_dir, s.golden_set, mname);
				gdir = ps_buf_detach(&b);
				if (gdir && !dir_exists(gdir)) {
					o.verdict = PS_V_NOTRUN;
					if (asprintf(&o.detail, "no golden set %s", gdir) < 0)
						o.detail = NULL;
					ps_report_add(&rep, sc->id, mname, &o, NULL, NULL, false);
					ps_outcome_release(&o);
					free(gdir);
					continue;
				}
				free(gdir);
			}
			r = ps_run_scenario(&s.runner, sc, m, &o, &d);
			if (r) {
				fprintf(stderr, "procspec run: %s\n", d.msg);
				ps_report_release(&rep);
				goto out;
			}
			if (s.golden_set && (o.verdict == PS_V_PASS || o.verdict == PS_V_LEAK)) {
				gpath = ps_golden_path(s.golden_dir, s.golden_set, mname, sc->id);
				r = gpath ? ps_golden_read(gpath, &expected, &d) : -ENOMEM;
				if (r == PS_ENOGOLD) {
					o.verdict = PS_V_NOGOLDEN;
					o.detail = strdup(d.msg);
				} else if (r) {
					fprintf(stderr, "procspec run: %s\n", d.msg);
					free(gpath);
					ps_outcome_release(&o);
					ps_report_release(&rep);
					goto out;
				} else {
					char label[256];

					snprintf(label, sizeof(label), "actual (%s)", s.impl.label);
					diff = ps_diff_unified(expected, o.text ? o.text : "", gpath, label, &oom);
					if (diff) {
						o.verdict = PS_V_FAIL;
						where = where_diverged(sc, expected, o.text ? o.text : "");
					}
				}
			}
			ps_report_add(&rep, sc->id, mname, &o, diff, where, s.verbose);
			free(gpath);
			free(expected);
			free(diff);
			free(where);
			ps_outcome_release(&o);
		}
	}
	code = ps_report_finish(&rep, s.runner.drv ? s.runner.drv->implementation : NULL);
	if (rep.write_err)
		code = PS_EXIT_ERROR;
	ps_report_release(&rep);
out:
	free(report_dir);
	ps_suite_release(&s);
	return code;
}

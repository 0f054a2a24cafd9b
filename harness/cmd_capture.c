/*
 * procspec capture: play scenarios through a real interpreter and write its
 * transcripts as a golden set.  Golden files come only from here.  A file is
 * written only when its scenario ran cleanly, and atomically; a failed run
 * leaves the set as it was.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "commands.h"
#include "file.h"
#include "golden.h"
#include "proc.h"
#include "suite.h"

static const char usage[] =
	"usage: procspec capture [PATH...] --impl python:INTERPRETER[:MODULE] --set NAME\n"
	"                        [--method M]... [--golden-dir DIR] [--dry-run] [-v]\n"
	"  writes DIR/NAME/<method>/<scenario>.out (DIR defaults to golden)";

int ps_cmd_capture(int argc, char **argv)
{
	struct ps_suite s;
	struct ps_diag d = PS_DIAG_INIT;
	int r, code = PS_EXIT_ERROR;
	size_t i, written = 0, same = 0, failed = 0;
	unsigned m, methods;

	r = ps_suite_options(&s, argc, argv, usage, true, true, &d);
	if (!r && !s.out_set)
		r = ps_diag(&d, PS_EUSAGE, "procspec capture: --set is required\n%s", usage);
	if (!r && s.impl.is_ref)
		r = ps_diag(&d, PS_EUSAGE, "procspec capture: golden files come from real "
			    "interpreters, never from the reference implementation");
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
		fprintf(stderr, "procspec capture: %s\n", d.msg);
		goto out;
	}
	printf("procspec: capturing %s from %s (%s)\n", s.out_set, s.runner.drv->implementation,
	       s.runner.drv->executable);
	for (i = 0; i < s.n_scenarios; i++) {
		const struct ps_scenario *sc = s.scenarios[i];

		methods = ps_suite_methods(&s, sc);
		for (m = 1; m <= PS_M_FORKSERVER; m <<= 1) {
			struct ps_outcome o;
			struct ps_buf b = PS_BUF_INIT;
			char *path = NULL, *header = NULL, *old = NULL;
			const char *mname = ps_method_name(m);
			size_t oldlen;

			if (!(methods & m))
				continue;
			r = ps_run_scenario(&s.runner, sc, m, &o, &d);
			if (r) {
				fprintf(stderr, "procspec capture: %s\n", d.msg);
				goto out;
			}
			if (o.verdict != PS_V_PASS && o.verdict != PS_V_LEAK) {
				/* A leak is CPython's behaviour and is recorded; anything else is not. */
				printf("%-8s %s [%s]: not captured\n", ps_verdict_word(o.verdict), sc->id, mname);
				if (o.detail)
					printf("    %s\n", o.detail);
				failed++;
				ps_outcome_release(&o);
				continue;
			}
			path = ps_golden_path(s.golden_dir, s.out_set, mname, sc->id);
			header = ps_golden_header(s.runner.drv->implementation, s.runner.drv->executable,
						  s.runner.drv->module, sc->id, mname);
			ps_buf_adds(&b, header ? header : "");
			ps_buf_adds(&b, o.text);
			if (!path || !header || ps_buf_oom(&b)) {
				fprintf(stderr, "procspec capture: out of memory\n");
				goto next_fail;
			}
			if (ps_file_read(path, &old, &oldlen) == 0 && oldlen == b.len &&
			    !memcmp(old, b.data, oldlen)) {
				same++;
			} else if (s.dry_run) {
				printf("changed  %s [%s] (dry run: %s not written)\n", sc->id, mname, path);
				written++;
			} else if ((r = ps_file_write_atomic(path, b.data, b.len))) {
				fprintf(stderr, "procspec capture: cannot write %s: %s\n", path, strerror(-r));
				goto next_fail;
			} else {
				printf("wrote    %s\n", path);
				written++;
			}
			if (s.verbose)
				fputs(o.text, stdout);
			free(old);
			free(path);
			free(header);
			ps_buf_release(&b);
			ps_outcome_release(&o);
			continue;
next_fail:
			free(old);
			free(path);
			free(header);
			ps_buf_release(&b);
			ps_outcome_release(&o);
			goto out;
		}
	}
	printf("capture: %zu written, %zu unchanged, %zu not captured\n", written, same, failed);
	code = failed ? PS_EXIT_FAIL : PS_EXIT_OK;
out:
	ps_suite_release(&s);
	return code;
}

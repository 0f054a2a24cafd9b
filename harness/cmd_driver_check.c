/* procspec driver-check: run a driver through the protocol, check by check (conform.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "conform.h"
#include "impl.h"
#include "options.h"
#include "proc.h"
#include "scenario.h"

static const struct ps_command_help help = {
	"driver-check",
	"usage: procspec driver-check [options] (--impl IMPL | -- PROGRAM [ARG...])\n"
	"  Runs a driver through every message of docs/PROTOCOL.md and its edge cases,\n"
	"  one numbered check a line (ok, FAIL: a MUST broken, warn: a SHOULD broken,\n"
	"  skip), with what it sent, what came back and what was expected.\n"
	"  IMPL: ref | ref@X.Y[-O] | python:INTERPRETER[:MODULE] | cmd:PROGRAM [ARG...]",
	"  Options go before --: everything after it is the driver's command line.\n"
	"  Exit status: 0 every MUST check passes, 1 one fails, 2 usage error.\n"
	"  docs/PORTING.md walks through writing a driver.",
};

int ps_cmd_driver_check(int argc, char **argv)
{
	struct ps_conform_opts o = { .out = stdout };
	struct ps_conform_summary sum;
	struct ps_impl impl = { 0 };
	struct ps_diag d = PS_DIAG_INIT;
	const char *spec = NULL;
	char **cmd = NULL;
	double timeout = 10;
	unsigned methods = 0;
	int i, r, code = PS_EXIT_ERROR;
	const struct ps_option opts[] = {
		PS_OPT_IMPL(&spec, "the driver, as for run (IMPL above)"),
		PS_OPT_METHOD(&methods, "the start method the behaviours run under (default: fork\n"
					"if declared, else the first the driver declares)"),
		PS_OPT_TIMEOUT(&timeout),
		PS_OPT_VERBOSE(&o.verbose, "show every line sent and received, for every check"),
		PS_OPT_END(),
	};

	r = ps_options_parse(&help, opts, argc, argv, NULL, &cmd, &d);
	if (r == PS_OPT_HELP_SHOWN)
		return PS_EXIT_OK;
	if (!r && methods & (methods - 1))
		r = ps_diag(&d, PS_EUSAGE, "procspec driver-check: --method: one start method");
	if (r) {
		fprintf(stderr, "%s\n", d.msg);
		return PS_EXIT_ERROR;
	}
	if (methods)
		o.method = ps_method_name(methods);
	if (!!spec == !!(cmd && *cmd)) {
		fprintf(stderr,
			"procspec driver-check: give the driver as --impl IMPL or as "
			"-- PROGRAM [ARG...] ('procspec driver-check --help' describes them)\n");
		return PS_EXIT_ERROR;
	}
	if (spec) {
		if (ps_impl_parse(spec, &impl, &d)) {
			fprintf(stderr, "procspec driver-check: %s\n", d.msg);
			return PS_EXIT_ERROR;
		}
		o.argv = impl.argv;
	} else {
		o.argv = cmd;
	}
	o.timeout = ps_scaled(timeout);
	o.hello_timeout = ps_scaled(30);
	printf("procspec driver-check:");
	for (i = 0; o.argv[i]; i++)
		printf(" %s", o.argv[i]);
	printf("\n");
	fflush(stdout);
	if (ps_conform_run(&o, &sum, &d)) {
		fprintf(stderr, "procspec driver-check: %s\n", d.msg);
		goto out;
	}
	printf("driver-check: %d checks: %d ok, %d FAIL, %d warn, %d skipped in %.1f s\n",
	       sum.ok + sum.fail + sum.warn + sum.skip, sum.ok, sum.fail, sum.warn, sum.skip,
	       sum.seconds);
	if (sum.fail)
		printf("driver-check: FAIL: %d MUST check(s) of docs/PROTOCOL.md fail\n", sum.fail);
	else
		printf("driver-check: PASS: every MUST check passes%s\n",
		       sum.warn ? " (see the warnings)" : "");
	code = sum.fail ? PS_EXIT_FAIL : PS_EXIT_OK;
out:
	ps_impl_release(&impl);
	return code;
}

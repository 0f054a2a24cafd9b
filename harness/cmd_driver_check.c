/* procspec driver-check: run a driver through the protocol, check by check (conform.h). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "conform.h"
#include "impl.h"
#include "proc.h"
#include "scenario.h"

static const char usage[] =
	"usage: procspec driver-check [options] (--impl IMPL | -- PROGRAM [ARG...])\n"
	"  Runs a driver through every message of docs/PROTOCOL.md and its edge cases,\n"
	"  one numbered check a line (ok, FAIL: a MUST broken, warn: a SHOULD broken,\n"
	"  skip), with what it sent, what came back and what was expected.\n"
	"  IMPL: ref | ref@X.Y[-O] | python:INTERPRETER[:MODULE] | cmd:PROGRAM [ARG...]\n"
	"  --method M          start method the behaviours run under (default: fork if\n"
	"                      declared, else the first the driver declares)\n"
	"  --timeout S         seconds per driver reply (10, times PROCSPEC_TIMEOUT_MULTIPLIER)\n"
	"  -v                  show every line sent and received, for every check\n"
	"  Options go before --: everything after it is the driver's command line.\n"
	"  Exit status: 0 every MUST check passes, 1 one fails, 2 usage error.\n"
	"  docs/PORTING.md walks through writing a driver.";

int ps_cmd_driver_check(int argc, char **argv)
{
	struct ps_conform_opts o = { .out = stdout };
	struct ps_conform_summary sum;
	struct ps_impl impl = { 0 };
	struct ps_diag d = PS_DIAG_INIT;
	const char *spec = NULL;
	char **cmd = NULL, *end;
	double timeout = 10;
	int i, code = PS_EXIT_ERROR;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			puts(usage);
			return PS_EXIT_OK;
		} else if (!strcmp(argv[i], "--")) {
			cmd = argv + i + 1;
			break;
		} else if (!strcmp(argv[i], "--impl") && i + 1 < argc) {
			spec = argv[++i];
		} else if (!strcmp(argv[i], "--method") && i + 1 < argc) {
			o.method = argv[++i];
			if (!ps_method_parse(o.method)) {
				fprintf(stderr, "procspec driver-check: --method %s: expected fork, spawn or forkserver\n",
					o.method);
				return PS_EXIT_ERROR;
			}
		} else if (!strcmp(argv[i], "--timeout") && i + 1 < argc) {
			timeout = strtod(argv[++i], &end);
			if (*end || timeout <= 0) {
				fprintf(stderr, "procspec driver-check: --timeout %s: expected a number of seconds\n",
					argv[i]);
				return PS_EXIT_ERROR;
			}
		} else if (!strcmp(argv[i], "-v")) {
			o.verbose = true;
		} else {
			fprintf(stderr, "procspec driver-check: unexpected argument '%s'\n%s\n", argv[i], usage);
			return PS_EXIT_ERROR;
		}
	}
	if (!!spec == !!(cmd && *cmd)) {
		fprintf(stderr, "procspec driver-check: give the driver as --impl IMPL or as -- PROGRAM [ARG...]\n%s\n",
			usage);
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
	signal(SIGPIPE, SIG_IGN);
	ps_proc_subreaper();
	ps_proc_guard();
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
	       sum.ok + sum.fail + sum.warn + sum.skip, sum.ok, sum.fail, sum.warn, sum.skip, sum.seconds);
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

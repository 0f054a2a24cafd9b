/* procspec: the subcommand table, and what every command shares around it. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "commands.h"
#include "util.h"
#include "options.h"
#include "proc.h"

/* What a command needs before it runs, as git.c's RUN_SETUP flags. */
enum {
	/* starts drivers: SIGPIPE ignored (a dead driver's pipe is an error
	 * return, not a death), the harness a subreaper, and
	 * PROCSPEC_TIMEOUT_MULTIPLIER checked */
	CMD_DRIVERS = 1 << 0,
	/* SIGINT, SIGTERM and SIGHUP kill every driver's group, then the harness
	 * by the same signal (proc.h, ps_proc_guard); without it the command
	 * catches them itself and exits 128 + the signal */
	CMD_GUARD = 1 << 1,
};

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
	unsigned flags;
	const char *help;
} commands[] = {
	{ "capture", ps_cmd_capture, CMD_DRIVERS | CMD_GUARD,
	  "capture golden transcripts from a real interpreter" },
	{ "drift", ps_cmd_drift, 0, "list where CPython's behaviour differs between golden sets" },
	{ "driver-check", ps_cmd_driver_check, CMD_DRIVERS | CMD_GUARD,
	  "run a driver through the protocol and say what it gets wrong" },
	{ "fuzz", ps_cmd_fuzz, CMD_DRIVERS,
	  "generated scenarios run on two implementations; findings shrunk" },
	{ "list", ps_cmd_list, 0, "list scenarios with their methods, tags and summary" },
	{ "matrix", ps_cmd_matrix, CMD_DRIVERS | CMD_GUARD,
	  "run several implementations side by side, write a conformance matrix" },
	{ "run", ps_cmd_run, CMD_DRIVERS | CMD_GUARD,
	  "run scenarios through an implementation, compare with golden" },
	{ "sweep", ps_cmd_sweep, CMD_DRIVERS | CMD_GUARD,
	  "fail every fault site's Nth call in turn, check the invariants" },
	{ "vocabulary", ps_cmd_vocabulary, 0, "list the protocol's names (harness/vocab.def)" },
};

static int usage(FILE *out)
{
	size_t i;

	fprintf(out, "usage: procspec COMMAND [ARGS]\n\ncommands:\n");
	for (i = 0; i < ARRAY_SIZE(commands); i++)
		fprintf(out, "  %-13s %s\n", commands[i].name, commands[i].help);
	fprintf(out, "\n'procspec COMMAND --help' shows a command's options.\n");
	return out == stdout ? PS_EXIT_OK : PS_EXIT_ERROR;
}

/*
 * A closed stdout would be reused by the first file opened, and what the
 * command prints would land in it (a report, a golden file): refuse to
 * start instead.
 */
static int stdout_open(const char *name)
{
	if (fcntl(STDOUT_FILENO, F_GETFD) != -1)
		return 0;
	fprintf(stderr, "procspec %s: standard output is closed\n", name);
	return -1;
}

/*
 * Everything printed reached stdout, as git.c's run_builtin checks: a full
 * disk or /dev/full is an error, exit 2.  A reader that went away (a pipe
 * into head) is not: the output was wanted only so far.
 */
static int stdout_written(const char *name)
{
	struct stat st;

	if (fstat(STDOUT_FILENO, &st) == 0 && (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode)))
		return 0;
	errno = 0;
	if (fflush(stdout) == 0 && !ferror(stdout) && fclose(stdout) == 0)
		return 0;
	fprintf(stderr, "procspec %s: cannot write standard output%s%s\n", name, errno ? ": " : "",
		errno ? strerror(errno) : "");
	return -1;
}

/* The shared prologue of the commands that start drivers. */
static int drivers_setup(const char *name, unsigned flags)
{
	struct ps_diag d = PS_DIAG_INIT;
	const char *k = getenv("PROCSPEC_TIMEOUT_MULTIPLIER");
	double x;

	/* unset or empty: 1; anything else must be a multiplier, never a way to turn limits off */
	if (k && *k &&
	    ps_opt_parse_double("PROCSPEC_TIMEOUT_MULTIPLIER", k, 0, PS_MULTIPLIER_MAX,
				PS_OPTF_GT_MIN, &x, &d)) {
		fprintf(stderr, "procspec %s: %s\n", name, d.msg);
		return -1;
	}
	signal(SIGPIPE, SIG_IGN);
	ps_proc_subreaper();
	if (flags & CMD_GUARD)
		ps_proc_guard();
	return 0;
}

int main(int argc, char **argv)
{
	size_t i;
	int code;

	if (argc < 2)
		return usage(stderr);
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		if (stdout_open("--help"))
			return PS_EXIT_ERROR;
		usage(stdout);
		return stdout_written("--help") ? PS_EXIT_ERROR : PS_EXIT_OK;
	}
	for (i = 0; i < ARRAY_SIZE(commands); i++) {
		if (strcmp(argv[1], commands[i].name))
			continue;
		if (stdout_open(commands[i].name))
			exit(PS_EXIT_ERROR);
		if ((commands[i].flags & CMD_DRIVERS) &&
		    drivers_setup(commands[i].name, commands[i].flags))
			exit(PS_EXIT_ERROR);
		code = commands[i].fn(argc - 1, argv + 1);
		if (stdout_written(commands[i].name))
			code = PS_EXIT_ERROR;
		exit(code);
	}
	fprintf(stderr, "procspec: unknown command '%s'\n", argv[1]);
	return usage(stderr);
}

/* procspec: the subcommand table. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "util.h"

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *help;
} commands[] = {
	{ "capture", ps_cmd_capture, "capture golden transcripts from a real interpreter" },
	{ "drift", ps_cmd_drift, "list where CPython's behaviour differs between golden sets" },
	{ "driver-check", ps_cmd_driver_check, "run a driver through the protocol and say what it gets wrong" },
	{ "fuzz", ps_cmd_fuzz, "generated scenarios run on two implementations; findings shrunk" },
	{ "list", ps_cmd_list, "list scenarios with their methods, tags and summary" },
	{ "matrix", ps_cmd_matrix, "run several implementations side by side, write a conformance matrix" },
	{ "run", ps_cmd_run, "run scenarios through an implementation, compare with golden" },
	{ "sweep", ps_cmd_sweep, "fail every fault site's Nth call in turn, check the invariants" },
	{ "vocabulary", ps_cmd_vocabulary, "list the protocol's names (harness/vocab.def)" },
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

int main(int argc, char **argv)
{
	size_t i;

	if (argc < 2)
		return usage(stderr);
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help"))
		return usage(stdout);
	for (i = 0; i < ARRAY_SIZE(commands); i++)
		if (!strcmp(argv[1], commands[i].name))
			exit(commands[i].fn(argc - 1, argv + 1));
	fprintf(stderr, "procspec: unknown command '%s'\n", argv[1]);
	return usage(stderr);
}

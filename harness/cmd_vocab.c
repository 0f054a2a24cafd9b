/*
 * procspec vocabulary: the protocol's names from harness/vocab.def, one
 * "KIND NAME" a line (global, verb, child, task, feature), in the table's
 * order.  `tools/pydriver.py --vocabulary` prints the same, so a test can
 * hold the two to one vocabulary (tests/vocab.sh).
 */
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "util.h"

static const struct {
	const char *kind, *name;
} names[] = {
#define GLOBAL(name, how) { "global", name },
#define VERB(name, args, ref) { "verb", name },
#define CHILD(name, ref) { "child", name },
#define TASK(name, ref) { "task", name },
#define FEATURE(name, since, use, what, kw) { "feature", name },
#include "vocab.def"
};

int ps_cmd_vocabulary(int argc, char **argv)
{
	size_t i;

	(void)argv;
	if (argc > 1) {
		fprintf(argc == 2 && !strcmp(argv[1], "--help") ? stdout : stderr,
			"usage: procspec vocabulary\n\n"
			"Lists the names of harness/vocab.def, one 'KIND NAME' a line.\n");
		return argc == 2 && !strcmp(argv[1], "--help") ? PS_EXIT_OK : PS_EXIT_ERROR;
	}
	for (i = 0; i < ARRAY_SIZE(names); i++)
		/* a feature has a line per use, adjacent: name it once */
		if (!i || strcmp(names[i].kind, names[i - 1].kind) ||
		    strcmp(names[i].name, names[i - 1].name))
			printf("%s %s\n", names[i].kind, names[i].name);
	if (fflush(stdout) || ferror(stdout)) {
		perror("procspec vocabulary: stdout");
		return PS_EXIT_ERROR;
	}
	return PS_EXIT_OK;
}

/*
 * procspec vocabulary: the protocol's names from harness/vocab.def, one
 * "KIND NAME" a line (global, verb, child, task, feature), in the table's
 * order.  `tools/pydriver.py --vocabulary` prints the same, so a test can
 * hold the two to one vocabulary (tests/vocab.sh).
 */
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "options.h"
#include "util.h"

static const struct {
	const char *kind, *name;
} names[] = {
#define GLOBAL(name, how)                   { "global", name },
#define VERB(name, args, ref)               { "verb", name },
#define CHILD(name, ref)                    { "child", name },
#define TASK(name, ref)                     { "task", name },
#define FEATURE(name, since, use, what, kw) { "feature", name },
#include "vocab.def"
};

static const struct ps_command_help help = {
	"vocabulary",
	"usage: procspec vocabulary\n"
	"  the names of harness/vocab.def, one 'KIND NAME' a line (global, verb, child,\n"
	"  task, feature); tools/pydriver.py --vocabulary prints the same",
	NULL,
};

int ps_cmd_vocabulary(int argc, char **argv)
{
	const struct ps_option opts[] = { PS_OPT_END() };
	struct ps_diag d = PS_DIAG_INIT;
	struct ps_strv args = PS_STRV_INIT;
	size_t i;
	int r;

	r = ps_options_parse(&help, opts, argc, argv, &args, NULL, &d);
	if (!r && args.n)
		r = ps_diag(&d, PS_EUSAGE, "procspec vocabulary: unexpected argument '%s'",
			    args.v[0]);
	ps_strv_release(&args);
	if (r)
		return ps_options_exit(r, &d);
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

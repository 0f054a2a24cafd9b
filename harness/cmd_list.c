/* procspec list: the scenarios, their methods and tags, and what each shows. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "commands.h"
#include "discover.h"
#include "paths.h"
#include "options.h"
#include "scenario.h"

static const struct ps_command_help help = {
	"list",
	"usage: procspec list [PATH...]\n"
	"  every scenario under PATH (scenarios): id, start methods, [tags] and summary",
	NULL,
};

int ps_cmd_list(int argc, char **argv)
{
	char *default_paths[] = { (char *)ps_data("scenarios") };
	struct ps_diag d = PS_DIAG_INIT;
	struct ps_paths files = { 0 };
	struct ps_scenario *sc;
	struct ps_strv args = PS_STRV_INIT;
	const struct ps_option opts[] = { PS_OPT_END() };
	char *id, *summary;
	bool tty = isatty(STDOUT_FILENO);
	int r, code = PS_EXIT_OK;
	size_t i, j;
	unsigned m;

	r = ps_options_parse(&help, opts, argc, argv, &args, NULL, &d);
	if (r) {
		ps_strv_release(&args);
		return ps_options_exit(r, &d);
	}
	if (ps_discover(args.n ? args.v : default_paths, args.n ? args.n : 1, &files, &d)) {
		fprintf(stderr, "procspec list: %s\n", d.msg);
		ps_strv_release(&args);
		return PS_EXIT_ERROR;
	}
	for (i = 0; i < files.n; i++) {
		if (ps_scenario_load(files.v[i], default_paths[0], &sc, &d)) {
			fprintf(stderr, "%s\n", d.msg);
			code = PS_EXIT_ERROR;
			continue;
		}
		/* a comment or file name holding escape sequences must not
		 * drive the terminal */
		id = tty ? ps_text_escape(sc->id) : NULL;
		summary = tty ? ps_text_escape(sc->summary) : NULL;
		printf("%-40s", id ? id : sc->id);
		for (m = 1; m <= PS_M_FORKSERVER; m <<= 1)
			printf(" %-10s", sc->methods & m ? ps_method_name(m) : "-");
		printf(" [");
		for (j = 0; j < sc->n_tags; j++)
			printf("%s%s", j ? " " : "", sc->tags[j]);
		printf("] %s\n", summary ? summary : sc->summary);
		free(id);
		free(summary);
		ps_scenario_free(sc);
	}
	ps_paths_release(&files);
	ps_strv_release(&args);
	return code;
}

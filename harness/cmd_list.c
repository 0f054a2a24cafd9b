/* procspec list: the scenarios, their methods and tags, and what each shows. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "commands.h"
#include "discover.h"
#include "scenario.h"

int ps_cmd_list(int argc, char **argv)
{
	static char *default_paths[] = { "scenarios" };
	struct ps_diag d = PS_DIAG_INIT;
	struct ps_paths files = { 0 };
	struct ps_scenario *sc;
	char *id, *summary;
	bool tty = isatty(STDOUT_FILENO);
	int code = PS_EXIT_OK;
	size_t i, j;
	unsigned m;

	if (argc > 1 && argv[1][0] == '-') {
		fprintf(stderr, "usage: procspec list [PATH...]\n");
		return PS_EXIT_ERROR;
	}
	if (ps_discover(argc > 1 ? argv + 1 : default_paths, argc > 1 ? (size_t)argc - 1 : 1,
			&files, &d)) {
		fprintf(stderr, "procspec list: %s\n", d.msg);
		return PS_EXIT_ERROR;
	}
	for (i = 0; i < files.n; i++) {
		if (ps_scenario_load(files.v[i], "scenarios", &sc, &d)) {
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
	return code;
}

/* Finding scenario files: paths given on the command line, or scenarios/. */
#ifndef PS_DISCOVER_H
#define PS_DISCOVER_H

#include <stddef.h>

#include "diag.h"

struct ps_paths {
	char **v;
	size_t n;
};

/*
 * Every *.scn file named in paths (files as they are, directories searched
 * recursively), sorted and without duplicates, into *out.  A path that does
 * not exist is an error (-ENOENT, d names it).
 */
int ps_discover(char *const *paths, size_t n, struct ps_paths *out, struct ps_diag *d);
void ps_paths_release(struct ps_paths *p);

#endif

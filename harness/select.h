/*
 * Choosing which scenarios run: -k PATTERN on scenario ids, --tag, and
 * sharding, either --shard K/N or Bazel's test sharding protocol
 * (TEST_TOTAL_SHARDS, TEST_SHARD_INDEX, TEST_SHARD_STATUS_FILE).  Sharding
 * splits the sorted scenario list round-robin, so each scenario lands in
 * exactly one shard whatever its methods.
 */
#ifndef PS_SELECT_H
#define PS_SELECT_H

#include <stdbool.h>
#include <stddef.h>

#include "diag.h"
#include "scenario.h"

struct ps_select {
	char **patterns; /* -k: fnmatch globs, or substrings when no glob character */
	size_t n_patterns;
	char **tags; /* --tag: a scenario needs one of them */
	size_t n_tags;
	unsigned shard_index; /* 0-based */
	unsigned shard_total; /* 0 or 1: no sharding */
};

/* Parse "K/N" (1 <= K <= N) into s.  PS_EUSAGE when malformed. */
int ps_select_shard(struct ps_select *s, const char *arg, struct ps_diag *d);

/*
 * Take TEST_TOTAL_SHARDS / TEST_SHARD_INDEX from the environment when set
 * (unless --shard was given) and touch TEST_SHARD_STATUS_FILE to tell Bazel
 * that sharding is supported.  PS_EUSAGE for inconsistent values.
 */
int ps_select_bazel(struct ps_select *s, struct ps_diag *d);

/* Keep only the selected scenarios (freeing the others), order unchanged. */
void ps_select_apply(const struct ps_select *s, struct ps_scenario **v, size_t *n);

void ps_select_release(struct ps_select *s);

#endif

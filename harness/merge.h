/*
 * Merging the reports of one campaign run in parts: `procspec fuzz merge`,
 * `procspec matrix merge` and `procspec sweep merge`, each over the report
 * directories (or the report files) of its shards, so that N machines or CI
 * jobs can run one campaign and one report comes out (docs/FUZZING.md).
 *
 * A merge refuses, with exit 2, parts that are not of one campaign or that
 * overlap, since adding their counts would then count something twice:
 *
 *   fuzz    the same seed, implementations and generator options (faults,
 *           max_steps, max_procs, methods); every report lists the indices
 *           it ran as arithmetic ranges {start, stride, count} (--shard K/N
 *           with --runs R: start K-1, stride N, count R), and no index may
 *           be in two of them.  Findings are grouped by signature, their
 *           counts added, the first scenario (and its shrunk file) kept from
 *           the part with the lowest index, so the merged report is the one
 *           a single run over the same indices writes, timings aside.
 *   matrix  the same columns (id, label, golden set) in the same order; a
 *           row (scenario, method) in two parts is an overlap.  Rows are put
 *           back in the order one run gives them (scenario files sorted,
 *           then fork, spawn, forkserver), and the signatures, counts and
 *           scores are computed again.
 *   sweep   the same implementation; a scenario run (scenario, method) in two
 *           parts is an overlap.  Site counts are added; findings are listed
 *           by scenario, method, site and call.
 *
 * The merged report is written atomically to --report DIR (the command's
 * usual report directory by default).  Exit 0 when the merged report holds
 * nothing new, 1 when it does (a new fuzz finding, a failed matrix cell, a
 * broken sweep run that no expectation explains), 2 on usage or input errors.
 */
#ifndef PS_MERGE_H
#define PS_MERGE_H

/* argv[0] is "merge"; the rest: [--report DIR] DIR-OR-FILE... */
int ps_merge_fuzz(int argc, char **argv);
int ps_merge_matrix(int argc, char **argv);
int ps_merge_sweep(int argc, char **argv);

#endif

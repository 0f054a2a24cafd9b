#!/bin/bash
# Campaigns in parts, as CI runs them: 4 shards of a fuzz campaign merged
# give the report of one run over the same indices (same findings, same
# counts, timings aside), Bazel's sharding variables give the same shard as
# --shard, and a matrix and a sweep split in halves merge into the whole.
# Merging parts of different campaigns, or parts that overlap, is refused.
# usage: tests/shard.sh [build/procspec]
set -u
cd "$(dirname "$0")/.."
PROCSPEC=${1:-build/procspec}
tmp=$(mktemp -d /tmp/procspec-shard.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
. tests/testlib.sh
export PROCSPEC_TIMEOUT_MULTIPLIER=${PROCSPEC_TIMEOUT_MULTIPLIER:-4}

# The fields of a report that do not depend on timing or on where the parts ran.
same() {
	python3 - "$@" <<'EOF'
import json, sys
kind, a, b = sys.argv[1:4]
def load(path):
    d = json.load(open(path))
    for k in ('seconds', 'runs_per_second', 'jobs', 'merged_from', 'shard', 'generated', 'host'):
        d.pop(k, None)
    if kind == 'fuzz':
        for f in d['findings']:
            f.pop('file', None)      # each part writes its own findings directory
            f.pop('golden', None)
    if kind == 'matrix':
        for c in d['implementations']:
            c.pop('seconds', None)
        for r in d['rows']:
            for c in r['cells']:
                c.pop('seconds', None)
    if kind == 'sweep':
        for f in d['findings']:
            f.pop('reproducer', None)
    return d
x, y = load(a), load(b)
if x != y:
    print(json.dumps(x, indent=1, sort_keys=True)[:3000])
    print('--- differs from ---')
    print(json.dumps(y, indent=1, sort_keys=True)[:3000])
    sys.exit(1)
EOF
}

# 1. Fuzz: ref as 3.6 against ref as 3.11 diverges often, so findings repeat
# (seed 6: none of its first 200 scenarios waits out a time limit).
printf 'DIFF .join()* | known in this test, to check that known counts add up\n' >"$tmp/known"
fuzz() {
	"$PROCSPEC" fuzz --impl ref@3.6 --against ref --seed 6 -j 2 --known "$tmp/known" \
		--shrink-seconds 0 --found-dir "$tmp/found-$1" --report "$tmp/$1" "${@:2}"
}
run "fuzz: one run of --runs 200" 1 fuzz whole --runs 200
for k in 1 2 3 4; do
	run "fuzz: shard $k/4 of --runs 50" 1 fuzz s$k --runs 50 --shard $k/4 || true
	[ $k = 2 ] && check "fuzz: shard 2/4 says so" has ', shard 2/4'
done
check "fuzz: shard 2/4 ran indices 1, 5, 9, ..." python3 -c "
import json, sys
d = json.load(open('$tmp/s2/fuzz.json'))
sys.exit(not (d['shard'] == '2/4' and d['ranges'] == [{'start': 1, 'stride': 4, 'count': 50}]
              and all(int(f['first'].split(':')[1]) % 4 == 1 for f in d['findings'])))"
if run "fuzz merge of the 4 shards" 1 "$PROCSPEC" fuzz merge --report "$tmp/merged" \
	"$tmp/s1" "$tmp/s2" "$tmp/s3/fuzz.json" "$tmp/s4"; then
	check "fuzz merge: the same report as one run (findings, counts, known, ranges)" \
		same fuzz "$tmp/merged/fuzz.json" "$tmp/whole/fuzz.json"
	check "fuzz merge: there was something to add up" python3 -c "
import json, sys
d = json.load(open('$tmp/merged/fuzz.json'))
sys.exit(not (len(d['findings']) >= 3 and any(f['count'] > 1 for f in d['findings'])
              and d['known'][0]['count'] > 0 and d['runs'] == 200))"
fi
run "fuzz merge: a shard twice is refused" 2 "$PROCSPEC" fuzz merge --report "$tmp/m2" \
	"$tmp/s1" "$tmp/s2" "$tmp/s1" && check "fuzz merge: says they overlap" has "overlapping parts"
run "fuzz merge: a shard against the whole is refused" 2 "$PROCSPEC" fuzz merge --report "$tmp/m2" \
	"$tmp/whole" "$tmp/s3" && check "fuzz merge: says so" has "overlapping parts"
run "fuzz: shard 1/4 of another seed" 1 "$PROCSPEC" fuzz --impl ref@3.6 --against ref --seed 8 \
	-j 2 --runs 10 --shard 1/4 --shrink-seconds 0 --found-dir "$tmp/found-o" \
	--report "$tmp/other"
run "fuzz merge: another seed is refused" 2 "$PROCSPEC" fuzz merge --report "$tmp/m2" \
	"$tmp/s2" "$tmp/other" &&
	check "fuzz merge: says it is another campaign" has "not parts of one campaign"
check "fuzz merge: nothing written when refused" test ! -e "$tmp/m2/fuzz.json"
run "fuzz: --shard 5/4 is a usage error" 2 "$PROCSPEC" fuzz --shard 5/4 --runs 1 --impl ref \
	--against ref
if TEST_TOTAL_SHARDS=4 TEST_SHARD_INDEX=1 TEST_SHARD_STATUS_FILE="$tmp/status" \
	run "fuzz: Bazel's TEST_SHARD_INDEX=1 of 4" 1 fuzz bazel --runs 50; then
	check "fuzz: Bazel's shard is --shard 2/4" same fuzz "$tmp/bazel/fuzz.json" "$tmp/s2/fuzz.json"
	check "fuzz: TEST_SHARD_STATUS_FILE is touched" test -e "$tmp/status"
fi

# COMMAND (matrix or sweep, a function of that name running it) over the
# whole selection and over its halves 1/2 and 2/2, each exiting WANT, into
# $tmp/Xwhole, Xh1 and Xh2; then `procspec COMMAND merge` of the halves, in
# the order given (h1 h2 or h2 h1), into $tmp/Xmerged: its status is ours.
halves() {
	local cmd=$1 want=$2 x=$3
	run "$cmd: the whole selection" "$want" "$cmd" "${x}whole"
	run "$cmd: half 1/2" "$want" "$cmd" "${x}h1" --shard 1/2
	run "$cmd: half 2/2" "$want" "$cmd" "${x}h2" --shard 2/2
	run "$cmd merge of the halves" "$want" "$PROCSPEC" "$cmd" merge --report "$tmp/${x}merged" \
		"$tmp/$x$4" "$tmp/$x$5"
}

# 2. Matrix: halves of a small selection, merged, are the whole.  The
# selection is fixed, not a glob the corpus grows into, so that each half
# keeps rows where ref as 3.8 diverges from the 3.11 set (sys.exit(None),
# sys.exit() and a tuple code changed in 3.9) and exits 1.
SEL=()
for s in 256 beyond-c-int empty-str false float int negative noarg none str true tuple zero; do
	SEL+=("scenarios/exitcode/sys-exit-$s.scn")
done
matrix() {
	"$PROCSPEC" matrix --impl ref --impl ref@3.8=cpython-3.11 "${SEL[@]}" -j 2 \
		--report "$tmp/$1" "${@:2}"
}
# (the halves merged in the other order: merge must not depend on it)
if halves matrix 1 m h2 h1; then
	check "matrix merge: the same matrix.json as the whole (rows, cells, signatures, scores)" \
		same matrix "$tmp/mmerged/matrix.json" "$tmp/mwhole/matrix.json"
	check "matrix merge: the page is written with the merged data" \
		grep -q '"rows_are"' "$tmp/mmerged/matrix.html"
	check "matrix merge: the halves were halves" python3 -c "
import json, sys
n = [len(json.load(open('$tmp/%s/matrix.json' % h))['rows']) for h in ('mh1', 'mh2', 'mwhole')]
sys.exit(not (n[0] and n[1] and n[0] + n[1] == n[2]))"
fi
run "matrix merge: a half twice is refused" 2 "$PROCSPEC" matrix merge --report "$tmp/mm2" \
	"$tmp/mh1" "$tmp/mh1" && check "matrix merge: says they overlap" has "overlapping parts"
run "matrix: other columns" 0 "$PROCSPEC" matrix --impl ref "${SEL[@]}" --shard 2/2 \
	--report "$tmp/mo"
run "matrix merge: other columns are refused" 2 "$PROCSPEC" matrix merge --report "$tmp/mm2" \
	"$tmp/mh1" "$tmp/mo" &&
	check "matrix merge: says it is another matrix" has "not parts of one matrix"

# 3. Sweep: halves merged are the whole.
sweep() {
	"$PROCSPEC" sweep scenarios/lifecycle/start-twice.scn scenarios/lifecycle/returns.scn \
		scenarios/exitcode/sys-exit-int.scn --impl ref --site 'posix/proc/fork' \
		--method fork --report "$tmp/$1" "${@:2}"
}
if halves sweep 0 s h1 h2; then
	check "sweep merge: the same sweep.json as the whole" \
		same sweep "$tmp/smerged/sweep.json" "$tmp/swhole/sweep.json"
	check "sweep merge: summary.txt has the site's row" \
		grep -q '^posix/proc/fork ' "$tmp/smerged/summary.txt"
fi
run "sweep merge: overlapping parts are refused" 2 "$PROCSPEC" sweep merge --report "$tmp/sm2" \
	"$tmp/swhole" "$tmp/sh2" && check "sweep merge: says they overlap" has "overlapping parts"
run "sweep merge: a file that is not JSON" 2 "$PROCSPEC" sweep merge --report "$tmp/sm2" \
	"$tmp/sh1/summary.txt" && check "sweep merge: file:line:col" has "summary.txt:1:"

echo "# shard: $pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]

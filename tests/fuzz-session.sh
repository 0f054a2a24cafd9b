#!/bin/bash
# procspec fuzz as a user sees it: a seed means the same scenarios byte for
# byte, executor scenarios are generated and all parse and agree between two
# runs of the reference, a planted divergence (tests/drivers/planted/exitcode3: the ref driver
# reporting exit code 3 as 4) is found and shrunk to a few statements,
# --replay reruns exactly one scenario, Ctrl-C keeps the report, and -j N
# puts each worker on a CPU of its own.
# usage: tests/fuzz-session.sh [build/procspec]
set -u
cd "$(dirname "$0")/.."
PROCSPEC=${1:-build/procspec}
REFDRV=$(dirname "$PROCSPEC")/procref-driver
tmp=$(mktemp -d /tmp/procspec-fuzz.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
. tests/testlib.sh
PLANTED="cmd:tests/drivers/planted/exitcode3 $REFDRV"

# 1. The same seed twice: the same scenarios, byte for byte; another seed: others.
"$PROCSPEC" fuzz --dump 300 --seed 4242 >"$tmp/a" 2>"$tmp/out"
"$PROCSPEC" fuzz --dump 300 --seed 4242 >"$tmp/b" 2>>"$tmp/out"
"$PROCSPEC" fuzz --dump 300 --seed 4243 >"$tmp/c" 2>>"$tmp/out"
check "--dump: the same seed gives byte-identical scenarios" cmp -s "$tmp/a" "$tmp/b"
check "--dump: 300 scenarios were printed" test "$(grep -c '^# procspec fuzz: seed 4242 index' "$tmp/a")" -eq 300
check "--dump: another seed gives other scenarios" test "$(cmp -s "$tmp/a" "$tmp/c"; echo $?)" -eq 1
"$PROCSPEC" fuzz --dump 5 --seed 4242 --start 100 >"$tmp/d" 2>>"$tmp/out"
check "--start: index 100 is the same scenario as the 101st of a full dump" \
	cmp -s <(awk '/^# procspec fuzz: seed 4242 index 100$/,/^$/' "$tmp/a" | sed '/^$/d') \
	<(awk '/^# procspec fuzz: seed 4242 index 100$/,/^$/' "$tmp/d" | sed '/^$/d')

# Every generated scenario is valid scenario text: procspec list parses them all.
mkdir -p "$tmp/scn"
awk -v dir="$tmp/scn" '/^# procspec fuzz: seed/ { f = dir "/" $7 ".scn" } { print > f }' "$tmp/a"
"$PROCSPEC" list "$tmp/scn" >"$tmp/out" 2>&1
check "every generated scenario parses (procspec list)" test $? -eq 0 -a "$(wc -l <"$tmp/out")" -ge 300

# 1b. Executor scenarios: --kind executor writes only them, every one parses,
# --kind all mixes them in at about one in four without changing the Process
# scenarios of the other indices, and a few agree when played on ref twice.
"$PROCSPEC" fuzz --dump 300 --seed 4242 --kind executor >"$tmp/ex" 2>>"$tmp/out"
check "--kind executor: 300 executor scenarios were printed" \
	test "$(awk 'BEGIN { RS = "" } /ProcessPoolExecutor\(/ { n++ } END { print n + 0 }' "$tmp/ex")" -eq 300
rm -rf "$tmp/exscn" && mkdir -p "$tmp/exscn"
awk -v dir="$tmp/exscn" '/^# procspec fuzz: seed/ { f = dir "/" $7 ".scn" } { print > f }' "$tmp/ex"
"$PROCSPEC" list "$tmp/exscn" >"$tmp/out" 2>&1
check "every generated executor scenario parses (procspec list)" \
	test $? -eq 0 -a "$(wc -l <"$tmp/out")" -ge 300
for kind in process all; do
	"$PROCSPEC" fuzz --dump 400 --seed 4242 --kind $kind >"$tmp/kind-$kind" 2>>"$tmp/out"
done
check "--kind all: between 1 in 6 and 1 in 3 scenarios are executor ones" \
	python3 -c "
import sys
n = sum('ProcessPoolExecutor(' in b for b in open('$tmp/kind-all').read().split('\n\n# procspec fuzz'))
sys.exit(not 400 // 6 <= n <= 400 // 3)"
check "--kind all: an index that is a Process scenario is the same one as under --kind process" \
	python3 -c "
import sys
def split(path):
    return open(path).read().split('\n\n# procspec fuzz')
a, p = split('$tmp/kind-all'), split('$tmp/kind-process')
same = [x == y for x, y in zip(a, p) if 'ProcessPoolExecutor(' not in x and 'task.' not in x]
sys.exit(not (len(a) == len(p) == 400 and same and all(same)))"
"$PROCSPEC" fuzz --impl ref --against ref --kind executor --runs 6 -j 1 --seed 7 \
	--known '' --shrink-seconds 0 --found-dir "$tmp/found-ex" --report "$tmp/exrep" >"$tmp/out" 2>&1
rc=$?
check "--kind executor on ref against ref: 6 runs, nothing found (exit $rc)" \
	python3 -c "import json,sys; d=json.load(open('$tmp/exrep/fuzz.json')); sys.exit(not ($rc == 0 and d['runs'] == 6 and d['kind'] == 'executor' and not d['findings'] and d['flaky'] == 0))"

# 2. The planted divergence: found within 60 s with a fixed seed, shrunk to <= 5 statements.
start=$(date +%s)
"$PROCSPEC" fuzz --impl "$PLANTED" --against ref --seed 1 --seconds 60 --max-findings 1 -j 2 \
	--found-dir "$tmp/found" --report "$tmp/rep" --known '' >"$tmp/out" 2>&1
rc=$?
took=$(($(date +%s) - start))
check "a session that finds something exits 1" test $rc -eq 1
found=$(ls "$tmp"/found/*.scn 2>/dev/null | head -1)
check "the finding is written to --found-dir" test -n "$found"
check "its signature is the planted one: exit code 3 reported as 4" \
	grep -q '^# signature: DIFF [^:]*: 3 -> 4$' "${found:-/dev/null}"
steps=$(grep -v '^#' "${found:-/dev/null}" | grep -v '^[a-z]*: ' | grep -c .)
check "it is shrunk to at most 5 statements (has $steps)" test "$steps" -ge 1 -a "$steps" -le 5
check "the session, shrinking included, took at most 60 s ($took s)" test "$took" -le 60
check "the report names it with its seed:index" \
	python3 -c "import json,sys; d=json.load(open('$tmp/rep/fuzz.json')); f=d['findings'][0]; sys.exit(not (d['seed']==1 and f['first'].startswith('1:') and f['file'].endswith('.scn') and f['count']>=1))"
"$PROCSPEC" run "$found" --impl "$PLANTED" --report '' >"$tmp/out" 2>&1
check "the shrunk file is a scenario procspec run accepts" test $? -eq 0

# 3. --replay SEED:INDEX reruns exactly that scenario and shows the divergence.
first=$(python3 -c "import json; print(json.load(open('$tmp/rep/fuzz.json'))['findings'][0]['first'])" 2>/dev/null)
"$PROCSPEC" fuzz --impl "$PLANTED" --against ref --replay "${first:-1:0}" >"$tmp/out" 2>&1
check "--replay of the finding exits 1" test $? -eq 1
check "--replay shows the signature" grep -q '^signature: DIFF [^:]*: 3 -> 4$' "$tmp/out"
"$PROCSPEC" fuzz --dump 1 --seed "${first%%:*}" --start "${first#*:}" >"$tmp/one" 2>/dev/null
check "--replay runs exactly the scenario --dump prints for that index" \
	cmp -s "$tmp/one" <(sed -n "1,$(wc -l <"$tmp/one")p" "$tmp/out")
"$PROCSPEC" fuzz --against ref --replay 1:0 >"$tmp/out" 2>&1
check "--replay of an agreeing scenario exits 0" test $? -eq 0
"$PROCSPEC" fuzz --replay nonsense >"$tmp/out" 2>&1
check "--replay with a bad argument is a usage error (exit 2)" test $? -eq 2

# 4. Ctrl-C stops cleanly: exit 130, the report is written and says so.
"$PROCSPEC" fuzz --impl ref --against ref --seconds 60 -j 2 --report "$tmp/int" \
	--found-dir "$tmp/found-int" >"$tmp/out" 2>&1 &
pid=$!
sleep 3
kill -INT $pid
wait $pid
rc=$?
check "SIGINT ends the session with exit 130" test $rc -eq 130
check "SIGINT keeps the report, marked interrupted, with the runs so far" \
	python3 -c "import json,sys; d=json.load(open('$tmp/int/fuzz.json')); sys.exit(not (d['interrupted'] and d['runs'] > 0))"

# 5. -j 2 on two CPUs or more: each worker, drivers included, on a CPU of its
# own, and the drivers under the scheduling policy procspec itself had.
cat >"$tmp/where" <<'EOF'
#!/bin/sh
# Say where this driver runs, then be the reference driver.
echo "$(awk '/^Cpus_allowed_list/ { print $2 }' /proc/$$/status) $(chrt -p $$ | head -n1 | sed 's/.*: //')" >>"$WHERE_LOG"
exec "$@"
EOF
chmod +x "$tmp/where"
allowed=$(awk '/^Cpus_allowed_list/ { print $2 }' /proc/self/status)
if [ "$(nproc)" -lt 2 ] || ! command -v chrt >/dev/null; then
	echo "ok - pinned workers # SKIP fewer than 2 CPUs, or no chrt"
else
	mine=$(chrt -p $$ | head -n1 | sed 's/.*: //')
	WHERE_LOG="$tmp/pinned" "$PROCSPEC" fuzz --impl "cmd:$tmp/where $REFDRV" --against ref \
		--runs 40 -j 2 --seed 3 --known '' --report '' >"$tmp/out" 2>&1
	check "-j 2: two drivers, on two different single CPUs" \
		test "$(cut -d' ' -f1 "$tmp/pinned" | sort -u | grep -cE '^[0-9]+$')" -eq 2
	check "-j 2: the drivers run under procspec's own policy ($mine), not the workers' SCHED_BATCH" \
		test "$(cut -d' ' -f2- "$tmp/pinned" | sort -u)" = "$mine"
	WHERE_LOG="$tmp/free" "$PROCSPEC" fuzz --impl "cmd:$tmp/where $REFDRV" --against ref \
		--runs 40 -j 2 --seed 3 --known '' --report '' --no-pin >"$tmp/out" 2>&1
	check "--no-pin: the drivers may run on every CPU procspec may ($allowed)" \
		test "$(cut -d' ' -f1 "$tmp/free" | sort -u)" = "$allowed"
fi

# 6. The generator writes only what both hellos declare: ref@3.6 has no
# parent_process() (3.8) and no Process.kill (3.7), so a session of it
# against itself never calls them (it did, and both sides failed alike).
"$PROCSPEC" fuzz --impl ref@3.6 --against ref@3.6 --seed 11 --runs 40 -j 1 --known '' \
	--report '' --shrink-seconds 0 --found-dir "$tmp/found-36" >"$tmp/out" 2>&1
rc=$?
check "ref@3.6 against itself: nothing found (exit $rc)" test $rc -eq 0
check "the session names the features it does not generate" \
	grep -q '^not generated (a driver.s hello lacks it): .*Process.kill.*parent_process' "$tmp/out"

# 7. A worker holds a driver for each side; dropping one (this driver
# exits mid-scenario, every time) must leave the other alone.  It did not:
# the sweep after the drop killed every child of the worker, ref's driver
# with it, so the replay that confirms a finding failed differently and
# every finding read as flaky (and a session could end on "driver ended
# before it answered").
"$PROCSPEC" fuzz --impl ref --against "cmd:$(cd "$(dirname "$0")" && pwd)/drivers/hostile/exit-mid-scenario" \
	--runs 6 --seed 1 -j 1 --kind process --known '' --report '' --shrink-seconds 0 \
	--found-dir "$tmp/found-drop" >"$tmp/out" 2>&1
rc=$?
check "a side's driver dropped: the session goes on (exit $rc)" test $rc -eq 1
check "a side's driver dropped: 6 findings, all on that side, none flaky" \
	test "$(grep -c '^  NEW   CRASH on exit-mid-scenario' "$tmp/out"):$(grep -c 'flaky (did not' "$tmp/out")" = 6:0

echo "fuzz-session: $pass passed, $fail failed"
[ $fail -eq 0 ]

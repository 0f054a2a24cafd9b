#!/bin/bash
# run --repeat: a scenario whose plays differ is FLAKY in every report, with
# each distinct transcript kept, and fails the run; one whose plays agree is
# reported once, as it is.  The nondeterminism is planted
# (tests/drivers/planted/alternate: exit code 3 reported as 4 in every second
# play), so the test cannot pass by luck.
# usage: tests/repeat.sh [build/procspec]
set -u
cd "$(dirname "$0")/.."
PROCSPEC=${1:-build/procspec}
REFDRV=$(dirname "$PROCSPEC")/procref-driver
export PROCSPEC_REF_DRIVER=$REFDRV
tmp=$(mktemp -d /tmp/procspec-repeat.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
. tests/testlib.sh

if [ ! -x /usr/bin/python3 ]; then
	skip "run --repeat" "no /usr/bin/python3 for tests/drivers/planted/alternate"
	echo "# $pass passed, $fail failed, $skip skipped"
	exit 0
fi
ALT="cmd:tests/drivers/planted/alternate $REFDRV"
FLAKY=scenarios/exitcode/sys-exit-int.scn   # exit code 3: changed in every second play
STEADY=scenarios/exitcode/sys-exit-false.scn # no 3 anywhere: every play the same

# 1. The planted driver really alternates: without --repeat, two scenarios
# played one after the other on one driver (sys-exit-false sorts first), the
# second diverges.
run "alternate: one play of each, the second diverges" 1 "$PROCSPEC" run "$STEADY" "$FLAKY" \
	--impl "$ALT" --golden cpython-3.11 --method fork -j 1 --report ''
check "the second play is a plain FAIL" has "FAIL     exitcode/sys-exit-int [fork]"

# 2. Plays that differ: FLAKY, exit 1, every report says so.
run "--repeat 4 on plays that differ exits 1" 1 "$PROCSPEC" run "$FLAKY" --impl "$ALT" \
	--golden cpython-3.11 --method fork --repeat 4 -j 1 --report "$tmp/flaky"
check "the console says FLAKY, naming the repetitions of each outcome" \
	sh -c "grep -q '^FLAKY    exitcode/sys-exit-int \[fork\]' '$tmp/out' &&
	       grep -q 'repetitions 1, 3: pass; repetitions 2, 4: FAIL' '$tmp/out'"
check "the summary counts it as FLAKY and failed" \
	sh -c "grep -q '^alternate: 1 FLAKY$' '$tmp/out' && \
	       grep -q '^alternate: 0 passed, 1 failed, 0 skipped$' '$tmp/out'"
check "the run header says how many plays" grep -q 'played 4 times each' "$tmp/out"
check "the actual file keeps both transcripts" \
	sh -c "f='$tmp/flaky/fork/exitcode/sys-exit-int.actual'; \
	       grep -q '^### repetitions 1, 3: pass$' \"\$f\" && grep -q '^### repetitions 2, 4: FAIL$' \"\$f\" && \
	       grep -qx 3 \"\$f\" && grep -qx 4 \"\$f\""
check "the diff is between the two transcripts" \
	sh -c "grep -q '^--- repetition 1 (pass)' '$tmp/flaky/fork/exitcode/sys-exit-int.diff' && \
	       grep -q '^+4$' '$tmp/flaky/fork/exitcode/sys-exit-int.diff'"
check "results.json: verdict FLAKY, counted, with both variants" \
	python3 -c "
import json, sys
r = json.load(open('$tmp/flaky/results.json'))
x = r['results'][0]
v = x['variants']
sys.exit(not (x['verdict'] == 'FLAKY' and r['counts']['FLAKY'] == 1 and len(v) == 2
              and v[0]['repetitions'] == [1, 3] and v[1]['repetitions'] == [2, 4]
              and v[0]['verdict'] == 'pass' and v[1]['verdict'] == 'FAIL'
              and 'exitcode=4' in v[1]['transcript']))"
check "results.tap: not ok, verdict FLAKY" \
	sh -c "grep -q '^not ok 1 - exitcode/sys-exit-int \[fork\]' '$tmp/flaky/results.tap' && \
	       grep -q '^  verdict: FLAKY$' '$tmp/flaky/results.tap'"
check "junit.xml: a failure of type FLAKY" \
	sh -c "grep -q 'failures=\"1\"' '$tmp/flaky/junit.xml' && grep -q '<failure type=\"FLAKY\"' '$tmp/flaky/junit.xml'"
if command -v xmllint >/dev/null; then
	check "junit.xml still validates" sh -c "xmllint --noout --schema tests/junit.xsd '$tmp/flaky/junit.xml' 2>/dev/null"
else
	skip "junit.xml still validates" "no xmllint"
fi

# 3. Plays that agree: reported once, a pass, exit 0.
run "--repeat 4 on plays that agree exits 0" 0 "$PROCSPEC" run "$STEADY" --impl "$ALT" \
	--golden cpython-3.11 --method fork --repeat 4 -j 1 --report "$tmp/steady"
check "a deterministic scenario is a pass, not FLAKY" \
	sh -c "grep -q '^pass     exitcode/sys-exit-false \[fork\]' '$tmp/out' && ! grep -q FLAKY '$tmp/out' && \
	       grep -q '\"verdict\": \"pass\"' '$tmp/steady/results.json' && \
	       ! grep -q '###' '$tmp/steady/fork/exitcode/sys-exit-false.actual'"

# 4. Every play the same failure is that failure, not FLAKY.
mkdir -p "$tmp/golden/cpython-3.11/fork/exitcode"
sed 's/exitcode=0>/exitcode=9>/' golden/cpython-3.11/fork/exitcode/sys-exit-false.out \
	>"$tmp/golden/cpython-3.11/fork/exitcode/sys-exit-false.out"
run "--repeat 3 on a failure every time exits 1" 1 "$PROCSPEC" run "$STEADY" --impl ref \
	--golden cpython-3.11 --golden-dir "$tmp/golden" --method fork --repeat 3 -j 2 --report ''
check "a steady divergence stays a FAIL, not FLAKY" \
	sh -c "grep -q '^FAIL     exitcode/sys-exit-false \[fork\]' '$tmp/out' && ! grep -q FLAKY '$tmp/out'"

# 5. Bad counts are usage errors.
run "--repeat 0 is a usage error" 2 "$PROCSPEC" run "$STEADY" --impl ref --repeat 0 --report ''
run "--repeat x is a usage error" 2 "$PROCSPEC" run "$STEADY" --impl ref --repeat x --report ''
ok "--repeat 0 and x are refused"

echo "# $pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]

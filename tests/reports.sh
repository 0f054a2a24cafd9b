#!/bin/bash
# The runner as CI sees it: parallel runs give the same reports, shards cover
# every scenario once, TAP reads in prove, JUnit validates, expectations and
# selection behave, and nothing is coloured off a terminal.
# usage: tests/reports.sh [build/procspec]
set -u
cd "$(dirname "$0")/.."
PROCSPEC=${1:-build/procspec}
export PROCSPEC_REF_DRIVER=$(dirname "$PROCSPEC")/procref-driver
tmp=$(mktemp -d /tmp/procspec-reports.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
. tests/testlib.sh
strip_times() { sed -E 's/[0-9]+\.[0-9]+s?//g; s/(time|timestamp)="[^"]*"//g; s/duration_ms: [0-9]+//; s/"seconds": [0-9.e+-]+//; s/[0-9]+ worker\(s\)//'; }

# 1. -j 1 and -j 2 give the same console output and reports, durations aside.
for j in 1 2; do
	"$PROCSPEC" run --impl ref --golden cpython-3.11 -j $j --report "$tmp/j$j" >"$tmp/console$j" 2>&1
done
same=true
for f in results.json results.tap junit.xml; do
	cmp -s <(strip_times <"$tmp/j1/$f") <(strip_times <"$tmp/j2/$f") || same=false
done
cmp -s <(strip_times <"$tmp/console1") <(strip_times <"$tmp/console2") || same=false
check "-j 1 and -j 2 give identical reports apart from durations" $same

# 2. Shards: every scenario in exactly one of 3, by --shard and by Bazel's variables.
ids() { grep -o '"scenario": "[^"]*"' "$1" | sort -u; }
"$PROCSPEC" run --impl ref --method fork --report "$tmp/all" >/dev/null 2>&1
for k in 1 2 3; do
	"$PROCSPEC" run --impl ref --method fork --shard $k/3 --report "$tmp/s$k" >/dev/null 2>&1
	TEST_TOTAL_SHARDS=3 TEST_SHARD_INDEX=$((k - 1)) TEST_SHARD_STATUS_FILE="$tmp/status$k" \
		XML_OUTPUT_FILE="$tmp/bazel$k.xml" \
		"$PROCSPEC" run --impl ref --method fork --report "$tmp/b$k" >/dev/null 2>&1
done
check "--shard K/3 covers every scenario exactly once" \
	cmp -s <(ids "$tmp/all/results.json") <(cat "$tmp"/s[123]/results.json | grep -o '"scenario": "[^"]*"' | sort)
check "TEST_TOTAL_SHARDS/TEST_SHARD_INDEX cover every scenario exactly once" \
	cmp -s <(ids "$tmp/all/results.json") <(cat "$tmp"/b[123]/results.json | grep -o '"scenario": "[^"]*"' | sort)
check "Bazel's status file is touched and XML_OUTPUT_FILE written" \
	test -e "$tmp/status1" -a -s "$tmp/bazel1.xml"
check "a shard is a real subset" test "$(ids "$tmp/s1/results.json" | wc -l)" -lt "$(ids "$tmp/all/results.json" | wc -l)"
"$PROCSPEC" run --impl ref --shard 4/3 >"$tmp/out" 2>&1
check "--shard 4/3 is a usage error" test $? -eq 2

# 3. A run with failures, skips and expected divergences: TAP for prove, JUnit for xmllint.
cp -r golden "$tmp/golden"
sed -i 's/^AssertionError: cannot start a process twice$/AssertionError: changed/' \
	"$tmp/golden/cpython-3.11/fork/lifecycle/start-twice.out"
sed -i 's/^0$/7/' "$tmp/golden/cpython-3.11/fork/lifecycle/returns.out"
printf '# a known difference\nlifecycle/returns fork cpython-3.11: planted by tests/reports.sh\ninclude %s/expectations/ref.txt\n' \
	"$PWD" >"$tmp/expect.txt"
PROCSPEC_TAP_VERSION=13 "$PROCSPEC" run --impl ref --golden cpython-3.11 --golden-dir "$tmp/golden" \
	--expect "$tmp/expect.txt" --report "$tmp/mixed" >"$tmp/out" 2>&1
check "a divergence fails the run" test $? -eq 1
check "a listed divergence is an expected one (xfail)" grep -q '^xfail    lifecycle/returns \[fork\]' "$tmp/out"
check "the divergence is a FAIL with its diff" grep -q '^FAIL     lifecycle/start-twice \[fork\]' "$tmp/out"
if command -v prove >/dev/null; then
	prove -e cat "$tmp/mixed/results.tap" >"$tmp/out" 2>&1
	check "prove reads the TAP without complaint" \
		sh -c "! grep -qi 'parse error' '$tmp/out' && grep -q 'Failed 1/[0-9]' '$tmp/out'"
else
	skip "prove reads the TAP" "no prove"
fi
check "the TAP carries the diff in YAML" grep -q '^  diff: |$' "$tmp/mixed/results.tap"
check "TAP 14 is the default" sh -c "head -1 '$tmp/j1/results.tap' | grep -qx 'TAP version 14'"
if command -v xmllint >/dev/null; then
	check "JUnit XML validates against tests/junit.xsd" \
		xmllint --noout --schema tests/junit.xsd "$tmp/mixed/junit.xml" "$tmp/j1/junit.xml" "$tmp/bazel1.xml"
else
	skip "JUnit XML validates" "no xmllint"
fi
check "JUnit has the diff in the failure body" grep -q -- '-AssertionError: changed' "$tmp/mixed/junit.xml"

# 4. An expectation that no longer diverges is an unexpected pass, and fails the run.
printf 'lifecycle/join-twice * *: pretend it diverges\n' >"$tmp/stale.txt"
"$PROCSPEC" run scenarios/lifecycle/join-twice.scn --impl ref --golden cpython-3.11 \
	--expect "$tmp/stale.txt" --report "" >"$tmp/out" 2>&1
check "a stale expectation is an XPASS and exits 1" sh -c "[ $? -eq 1 ] && grep -q '^XPASS' '$tmp/out'"
printf 'lifecycle/join-twice fork cpython-3.11\n' >"$tmp/broken.txt"
"$PROCSPEC" run --impl ref --expect "$tmp/broken.txt" --report "" >"$tmp/out" 2>&1
check "an expectation without a reason is an input error with file:line:col" \
	sh -c "[ $? -eq 2 ] && grep -q 'broken.txt:1:.*reason' '$tmp/out'"
printf 'lifecycle/join-twice * * racy: pretend a race makes it diverge\n' >"$tmp/racy.txt"
"$PROCSPEC" run scenarios/lifecycle/join-twice.scn --impl ref --golden cpython-3.11 \
	--expect "$tmp/racy.txt" --report "" >"$tmp/out" 2>&1
check "a racy expectation that matches golden is a pass, not an XPASS" \
	sh -c "[ $? -eq 0 ] && grep -q '^pass     lifecycle/join-twice' '$tmp/out' && ! grep -q '^XPASS' '$tmp/out'"
printf 'lifecycle/returns fork cpython-3.11 racy: planted by tests/reports.sh\n' >"$tmp/racy.txt"
"$PROCSPEC" run scenarios/lifecycle/returns.scn --impl ref --golden cpython-3.11 --golden-dir "$tmp/golden" \
	--method fork --expect "$tmp/racy.txt" --report "" >"$tmp/out" 2>&1
check "a racy expectation that diverges is an xfail" \
	sh -c "[ $? -eq 0 ] && grep -q '^xfail    lifecycle/returns \[fork\]' '$tmp/out'"
printf 'lifecycle/returns fork cpython-3.11 racy hangs: planted by tests/reports.sh\n' >"$tmp/hangs.txt"
"$PROCSPEC" run scenarios/lifecycle/returns.scn --impl ref --golden cpython-3.11 --golden-dir "$tmp/golden" \
	--method fork --expect "$tmp/hangs.txt" --report "" >"$tmp/out" 2>&1
check "'racy hangs' parses, and such an expectation covers a divergence too" \
	sh -c "[ $? -eq 0 ] && grep -q '^xfail    lifecycle/returns \[fork\]' '$tmp/out'"
printf 'lifecycle/returns fork cpython-3.11 hangs hangs: twice\n' >"$tmp/hangs.txt"
"$PROCSPEC" run scenarios/lifecycle/returns.scn --impl ref --expect "$tmp/hangs.txt" --report "" >"$tmp/out" 2>&1
check "a flag given twice is an input error with file:line:col" \
	sh -c "[ $? -eq 2 ] && grep -q 'hangs.txt:1:.*racy\] \[hangs\]' '$tmp/out'"

# 5. --max-failures stops handing out work.
"$PROCSPEC" run --impl ref --golden cpython-3.11 --golden-dir "$tmp/golden" --method fork -j 1 \
	--max-failures 1 --report "$tmp/maxf" >"$tmp/out" 2>&1
check "--max-failures 1 stops after the first failure" \
	sh -c "grep -q 'stopped early' '$tmp/out' && [ \$(grep -c '^FAIL' '$tmp/out') -eq 1 ]"

# 6. Selection.
"$PROCSPEC" run --impl ref -k 'exitcode/sys-exit-*' --method fork --report "" >"$tmp/out" 2>&1
# the counts come from the corpus, which grows: every sys-exit-* file, and
# every file tagged signals whose methods line names fork
n=$(ls scenarios/exitcode/sys-exit-*.scn | wc -l)
check "-k GLOB selects by scenario id ($n)" grep -q " $n passed, 0 failed" "$tmp/out"
"$PROCSPEC" run --impl ref --tag signals --method fork --report "" >"$tmp/out" 2>&1
n=$(grep -l '^tags:.*\bsignals\b' scenarios/*/*.scn | xargs grep -l '^methods:.*\bfork\b' | wc -l)
check "--tag selects by tag ($n)" grep -q " $n passed, 0 failed" "$tmp/out"

# 7. Unsupported features are neither a pass nor a fail.
"$PROCSPEC" run --impl cmd:tests/drivers/nofeatures --golden cpython-3.11 --method fork --report "$tmp/nf" \
	>"$tmp/out" 2>&1
check "scenarios needing an undeclared feature are unsupported" \
	sh -c "[ $? -eq 0 ] && grep -q 'unsupported: needs Process.close' '$tmp/out'"

# 8. No colour off a terminal, nor with NO_COLOR.
check "no escape codes off a terminal" sh -c "! grep -q \$'\\033' '$tmp/console1'"

echo "reports: $pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]

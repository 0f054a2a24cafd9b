#!/bin/bash
# End-to-end checks of the procspec command: exit codes, diagnostics, diffs,
# reports, capture, and what it does with broken drivers.
# usage: tests/harness.sh [build/procspec]
set -u
cd "$(dirname "$0")/.."
PROCSPEC=${1:-build/procspec}
PYTHON=${PYTHON:-/usr/bin/python3}
GOLDEN=cpython-3.11
tmp=$(mktemp -d /tmp/procspec-test.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

. tests/testlib.sh

# 1. A golden set with one line changed: exit 1, a diff naming scenario and step.
cp -r golden "$tmp/golden"
g=$tmp/golden/$GOLDEN/fork/lifecycle/start-twice.out
sed -i 's/^AssertionError: cannot start a process twice$/AssertionError: cannot start twice/' "$g"
# (fork only: the ref driver has spawn and forkserver too, whose golden
# files are left as they are)
if run "divergence exits 1" 1 "$PROCSPEC" run scenarios/lifecycle/start-twice.scn --impl ref \
	--method fork --golden $GOLDEN --golden-dir "$tmp/golden" --report "$tmp/rep"; then
	if has "FAIL     lifecycle/start-twice [fork]" && has "diverges at step 3 (line" &&
	   has ": p.start()" && has "-AssertionError: cannot start twice" &&
	   has "+AssertionError: cannot start a process twice" && has "--- $g" &&
	   has "ref: 0 passed, 1 failed"; then
		ok "divergence shows the scenario, the step and a unified diff"
	else
		bad "divergence shows the scenario, the step and a unified diff"
	fi
	if [ -s "$tmp/rep/fork/lifecycle/start-twice.diff" ] &&
	   grep -q '"verdict": "FAIL"' "$tmp/rep/results.json" &&
	   [ -z "$(find "$tmp/rep" -name '*.tmp')" ]; then
		ok "divergence is written to the report directory"
	else
		bad "divergence is written to the report directory"
	fi
fi
run "the untouched golden set matches" 0 "$PROCSPEC" run scenarios/lifecycle/start-twice.scn \
	--impl ref --golden $GOLDEN --report "" && ok "the untouched golden set matches"

# 2. A malformed scenario: file:line:col, the line, a caret; exit 2; nothing runs.
mkdir -p "$tmp/scn/bad"
printf '# broken\ntags: x\n\np = Proces(target=child.blocks)\np.start()\n' >"$tmp/scn/bad/typo.scn"
if run "a malformed scenario exits 2" 2 "$PROCSPEC" run "$tmp/scn/bad" --impl ref; then
	if [ "$(sed -n 1p "$tmp/out")" = "$tmp/scn/bad/typo.scn:4:5: unknown name 'Proces'" ] &&
	   [ "$(sed -n 2p "$tmp/out")" = "p = Proces(target=child.blocks)" ] &&
	   [ "$(sed -n 3p "$tmp/out")" = "    ^" ]; then
		ok "a malformed scenario reports file:line:col, the line and a caret"
	else
		bad "a malformed scenario reports file:line:col, the line and a caret"
	fi
fi

# 3. A scenario without a golden file fails rather than passing.
mkdir -p "$tmp/scn/new" "$tmp/golden2/$GOLDEN/fork"
printf '# new\np = Process(target=child.returns)\np.start()\np.join()\np.exitcode\n' \
	>"$tmp/scn/new/fresh.scn"
run "a missing golden file exits 1" 1 "$PROCSPEC" run "$tmp/scn/new" --impl ref --golden $GOLDEN \
	--golden-dir "$tmp/golden2" --report "" && has "NOGOLDEN" && ok "a missing golden file is reported, not passed"

# 4. Usage errors exit 2.
run "unknown --impl" 2 "$PROCSPEC" run --impl pypy && has "unknown implementation" && ok "unknown --impl exits 2"
run "missing --impl" 2 "$PROCSPEC" run && has "--impl is required" && ok "missing --impl exits 2"
run "missing interpreter" 2 "$PROCSPEC" run --impl python:/nonexistent/python && has "cannot run" &&
	ok "a missing interpreter exits 2"
run "unknown method" 2 "$PROCSPEC" run --impl ref --method vfork && ok "an unknown --method exits 2"
run "capture from ref" 2 "$PROCSPEC" capture --impl ref --set x && has "never from the reference" &&
	ok "capture refuses the reference implementation"
run "unknown command" 2 "$PROCSPEC" frobnicate && ok "an unknown command exits 2"

# 5. Broken drivers: reported as such, killed, nothing left behind.
run "garbage driver" 1 "$PROCSPEC" run scenarios/lifecycle/returns.scn --impl "cmd:tests/drivers/garbage" \
	--report "" && has "PROTO" && has "this is not json" && ok "a driver that prints non-JSON is a protocol error, quoted"
run "old protocol" 2 "$PROCSPEC" run scenarios/lifecycle/returns.scn --impl "cmd:tests/drivers/oldproto" \
	--report "" && has "this harness speaks 1" && ok "a driver of another protocol version is refused"
start=$(date +%s)
run "hanging driver" 1 env PROCSPEC_TIMEOUT_MULTIPLIER=1 "$PROCSPEC" run scenarios/lifecycle/returns.scn \
	scenarios/lifecycle/target-none.scn --impl "cmd:tests/drivers/hang" --timeout 1 --report "" &&
	has "TIMEOUT  lifecycle/returns" && has "TIMEOUT  lifecycle/target-none" &&
	[ $(($(date +%s) - start)) -lt 20 ] && ok "a hanging driver times out, each scenario on a fresh driver"
if pgrep -f "procspec-test-hang" >/dev/null; then
	bad "a hanging driver leaves nothing running"
	pkill -f "procspec-test-hang"
else
	ok "a hanging driver leaves nothing running"
fi

# 6. Capture: two captures in a row are byte-identical, and every file says where it came from.
if [ -x "$PYTHON" ]; then
	for n in 1 2; do
		run "capture $n" 0 "$PROCSPEC" capture scenarios/lifecycle scenarios/exitcode \
			--impl "python:$PYTHON" --set t --method fork --golden-dir "$tmp/cap$n" || break
	done
	if [ -d "$tmp/cap2" ] && diff -r "$tmp/cap1" "$tmp/cap2" >"$tmp/out" &&
	   [ "$(find "$tmp/cap1" -name '*.out' | wc -l)" -gt 20 ]; then
		ok "two captures in a row are byte-identical"
	else
		bad "two captures in a row are byte-identical"
	fi
	if [ -z "$(find "$tmp/cap1" -name '*.out' -exec sh -c 'head -1 "$1" | grep -q "captured from CPython" || echo "$1"' _ {} \;)" ]; then
		ok "captured files carry a header naming the interpreter"
	else
		bad "captured files carry a header naming the interpreter"
	fi
	# A changed transcript is shown, and replaces the old one only when asked.
	f=$tmp/cap1/t/fork/lifecycle/start-twice.out
	sed -i 's/^True$/False/' "$f"
	run "capture over a changed set" 0 "$PROCSPEC" capture scenarios/lifecycle/start-twice.scn \
		--impl "python:$PYTHON" --set t --method fork --golden-dir "$tmp/cap1" &&
		has "changed  $f" && has "-False" && has "+True" && grep -qx False "$f" &&
		ok "capture shows a change and leaves the old set alone without --replace"
	run "capture --replace" 0 "$PROCSPEC" capture scenarios/lifecycle/start-twice.scn \
		--impl "python:$PYTHON" --set t --method fork --golden-dir "$tmp/cap1" --replace &&
		grep -qx True "$f" && [ ! -e "$tmp/cap1/.t.new" ] &&
		ok "capture --replace moves the new transcript in and clears the staging set"
else
	skip "two captures in a row are byte-identical" "no interpreter at $PYTHON"
fi

echo "harness: $pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]

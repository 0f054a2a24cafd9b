#!/bin/bash
# A driver that declares "pipelined" is sent each scenario whole, and every
# way a scenario can stop early still leaves the stream in step: each request
# already sent gets its one reply, the harness reads them all, and the next
# scenario runs on the same driver.  tests/drivers/pipelined/driver.py plays
# each way on purpose, as the scenario's name says.
# usage: tests/pipelined.sh [build/procspec]
set -u
cd "$(dirname "$0")/.."
PROCSPEC=${1:-build/procspec}
DRIVER=tests/drivers/pipelined/driver.py
tmp=$(mktemp -d /tmp/procspec-pipelined.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

. tests/testlib.sh

if ! command -v python3 >/dev/null; then
	skip "pipelined driver" "no python3 to run $DRIVER"
	echo "pipelined: $pass passed, $fail failed, $skip skipped"
	exit 0
fi

mkdir "$tmp/scn"
for name in 1-ok 2-begin-error 3-step-error 4-dies 5-dies-unasked 6-ok; do
	printf '# %s\nmethods: fork\n\np = Process(target=child.returns)\np.start()\np.join()\np.exitcode\n' \
		"$name" >"$tmp/scn/$name.scn"
done

if run "the run ends with failures, not an error" 1 env PIPELINED_LOG="$tmp/log" \
	"$PROCSPEC" run "$tmp"/scn/*.scn --impl "cmd:$DRIVER" -j 1 --report ''; then
	ok "the run ends with failures, not an error"
fi
verdict() {	# verdict NAME WORD [DETAIL]
	if ! grep -qE "^$2 +$1 \[fork\]" "$tmp/out"; then
		bad "$1: $2"
	elif [ -n "${3:-}" ] && ! has "$3"; then
		bad "$1: $2 saying \"$3\""
	else
		ok "$1: $2${3:+ saying \"$3\"}"
	fi
}
verdict 1-ok pass
verdict 2-begin-error ERROR "begin: cannot begin, on purpose"
verdict 3-step-error ERROR "step 2 (line 5): the driver could not carry it out: cannot, on purpose"
verdict 4-dies CRASH "step 2 (line 5): the scenario process exited with code 9"
verdict 5-dies-unasked CRASH "step 2 (line 5): the scenario process exited with code 9"
verdict 6-ok pass
check "after a step error, end is still answered (ended in the transcript)" \
	has "--- end: fds_leaked=0 children_left=0"

# One driver served every scenario: no request came before its last start.
last_start=$(grep -n '^start ' "$tmp/log" | tail -n1 | cut -d: -f1)
first_req=$(grep -n '"op"' "$tmp/log" | head -n1 | cut -d: -f1)
check "one driver served all six scenarios (none was replaced)" \
	test -n "$last_start" -a -n "$first_req" -a "${last_start:-0}" -lt "${first_req:-0}"
ops=$(grep -o '^{"op":"[a-z]*"' "$tmp/log" | cut -d'"' -f4 | tr '\n' ' ')
want=$(for _ in 1 2 3 4 5 6; do printf 'begin step step step step end '; done)
check "each scenario was sent whole, every request once" test "$ops" = "$want"

# A step the driver cannot carry out ends the scenario at once.  A driver
# carries on after an error (PROTOCOL.md), so without begin's stop_on_error
# the steps sent behind it would run, and here the failed step is the
# release() that the join() behind it waits for: join() would block until
# the reply time limit (120 s here, times PROCSPEC_TIMEOUT_MULTIPLIER), the
# drain would time out and the driver be replaced.  Both drivers pipeline.
mkdir "$tmp/blk"
printf '%s\n' "# release(1) cannot be carried out; p.join() would wait for ever" \
	'methods: fork' '' 'p = Process(target=child.blocks)' 'p.start()' 'release(1)' \
	'p.join()' 'p.exitcode' >"$tmp/blk/1-step-error-blocks.scn"
printf '%s\n' '# the same driver runs the next scenario' 'methods: fork' '' \
	'p = Process(target=child.returns)' 'p.start()' 'p.join()' 'p.exitcode' >"$tmp/blk/2-ok.scn"
for impl in ref python:/usr/bin/python3; do
	if [ "$impl" != ref ] && [ ! -x /usr/bin/python3 ]; then
		skip "$impl: a step error ends the scenario at once" "no /usr/bin/python3"
		continue
	fi
	t0=$(date +%s)
	run "$impl: a step error ends the run with a failure" 1 timeout -s INT 60 \
		"$PROCSPEC" run "$tmp"/blk/*.scn --impl "$impl" -j 1 --timeout 120 --report '' ||
		continue
	t1=$(date +%s)
	check "$impl: a step error ends the scenario at once ($((t1 - t0)) s, under 60)" \
		test $((t1 - t0)) -lt 60
	verdict 1-step-error-blocks ERROR "step 3 (line 6): the driver could not carry it out"
	check "$impl: the steps behind it were answered, then end (no TIMEOUT, ended)" \
		eval '! grep -q TIMEOUT "$tmp/out" && has "--- end: fds_leaked=0 children_left=0"'
	verdict 2-ok pass
done

echo "pipelined: $pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]

#!/bin/bash
# Soak: procspec fuzz interrupted at random moments, N times in a row (50 by
# default; make test runs 5).  Each round is ended by one of timeout(1)
# (SIGTERM to the harness and its process group, SIGKILL 30 s later), a
# SIGINT or a SIGTERM to the harness alone, after 0.5 to 4 s.  Every time the
# harness must finish within the grace period, by itself, and leave:
#   - fuzz.json in its report directory, saying it was interrupted, and no
#     *.tmp beside it;
#   - none of its private temporary directories (procspec-drv.PID.*, the
#     drivers' TMPDIRs, where pymp-* and capture files go) in /tmp or
#     /dev/shm;
#   - no process of the run alive (its environment carries a marker).
# usage: tests/soak.sh [build/procspec] [N]
set -u
cd "$(dirname "$0")/.." || exit 2
PROCSPEC=${1:-build/procspec}
N=${2:-${SOAK_ROUNDS:-50}}
GRACE=30	# timeout -k: what the harness has to finish after the signal
tmp=$(mktemp -d /tmp/procspec-soak.XXXXXX)
mark=procspec-soak-$$-$RANDOM

. tests/testlib.sh	# ok, bad, marked, cleanup
trap cleanup EXIT

if [ ! -x "$PROCSPEC" ]; then
	echo "soak.sh: no $PROCSPEC (make all)" >&2
	exit 2
fi

# The harness's pid: the procspec child of pid $1 (timeout), waiting for it to exist.
child_of() {
	local c
	for _ in $(seq 50); do
		c=$(ps -o pid= --ppid "$1" 2>/dev/null | head -1 | tr -d ' ')
		[ -n "$c" ] && { echo "$c"; return; }
		sleep 0.1
	done
}

for round in $(seq "$N"); do
	modes=(timeout INT TERM)
	mode=${modes[RANDOM % 3]}
	delay=$((5 + RANDOM % 36))	# tenths of a second
	delay=$((delay / 10)).$((delay % 10))
	rep=$tmp/rep-$round tok=$mark-$round
	what="round $round ($mode after $delay s)"
	start=$(date +%s)
	if [ "$mode" = timeout ]; then
		env PROCSPEC_SOAK_MARK="$tok" timeout -k "$GRACE" "$delay" "$PROCSPEC" fuzz --against ref \
			--runs 100000 -j 2 --method fork --method forkserver --seed "$round" --known '' \
			--shrink-seconds 0 --found-dir "$tmp/found" --report "$rep" >"$tmp/out" 2>&1 &
		tpid=$!
		pid=$(child_of "$tpid")
	else
		env PROCSPEC_SOAK_MARK="$tok" timeout -k 5 $((GRACE + 60)) "$PROCSPEC" fuzz --against ref \
			--runs 100000 -j 2 --method fork --method forkserver --seed "$round" --known '' \
			--shrink-seconds 0 --found-dir "$tmp/found" --report "$rep" >"$tmp/out" 2>&1 &
		tpid=$!
		pid=$(child_of "$tpid")
		sleep "$delay"
		[ -n "$pid" ] && kill -"$mode" "$pid" 2>/dev/null
	fi
	wait "$tpid" 2>/dev/null
	code=$?
	took=$(($(date +%s) - start))
	left=""
	for _ in $(seq 20); do
		left=$(marked "$tok")
		[ -z "$left" ] && break
		sleep 0.1
	done
	stray=$(ls -d /tmp/procspec-drv."${pid:-none}".* /dev/shm/procspec-drv."${pid:-none}".* 2>/dev/null)
	problems=""
	[ -n "$pid" ] || problems+=" the harness never started;"
	[ "$code" -eq 137 ] && problems+=" it had to be killed (exit $code after $took s);"
	grep -q '"interrupted": *true' "$rep/fuzz.json" 2>/dev/null ||
		problems+=" no $rep/fuzz.json saying it was interrupted;"
	[ -z "$(find "$rep" -name '*.tmp' 2>/dev/null)" ] || problems+=" *.tmp left in the report directory;"
	[ -z "$stray" ] || problems+=" temporary directories left: $stray;"
	if [ -n "$left" ]; then
		problems+=" processes left alive (now killed): $left;"
		for p in $left; do kill -KILL "$p" 2>/dev/null; done
	fi
	if [ -z "$problems" ]; then
		ok "$what: exit $code in $took s, report written, nothing left"
	else
		bad "$what:$problems" "$tmp/out"
	fi
done

echo "soak: $pass passed, $fail failed"
[ "$fail" -eq 0 ]

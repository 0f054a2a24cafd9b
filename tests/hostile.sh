#!/bin/bash
# Hostile drivers (tests/drivers/hostile/): each behaves, then misbehaves at
# one point.  Whatever a driver does, procspec must report the documented
# outcome for every scenario, exit 1 (2 for a harness error at start-up),
# finish in bounded time, keep its own memory and the disk it holds bounded,
# never make a driver's own writes fail, and leave no process of the run
# alive, also when the harness itself is killed by SIGTERM or SIGHUP mid-run.
# usage: tests/hostile.sh [build/procspec]
#        HOSTILE_DRIVERS="huge-line stderr-flood" tests/hostile.sh   (only those)
#
# Every run carries a marker in its environment, PROCSPEC_HOSTILE_MARK, which
# the harness, the drivers and everything they start inherit (a daemon in a
# new session too), so "nothing of the run is alive" is a scan of
# /proc/*/environ for it, and the sampler finds the run's processes the same
# way.  Leftovers are listed, then killed by pid.  A driver that can only
# see a failure from the inside (stderr-flood) notes it in $HOSTILE_STATE.
set -u
cd "$(dirname "$0")/.." || exit 2
PROCSPEC=${1:-build/procspec}
DRIVERS=tests/drivers/hostile
SCENARIOS=(scenarios/lifecycle/returns.scn scenarios/lifecycle/target-none.scn)
STEP_TIMEOUT=2			# --timeout: two scenarios, each well under 30 s in all
MAX_SECONDS=30			# timeout x runs + the SIGTERM grace, with room to spare
HELLO_SECONDS=40		# the harness waits 30 s for a hello, whatever --timeout says
# Every time limit of the harness is scaled by PROCSPEC_TIMEOUT_MULTIPLIER
# (a whole number here); so are the bounds this script puts on it.
MULT=${PROCSPEC_TIMEOUT_MULTIPLIER:-1}
[[ $MULT =~ ^[1-9][0-9]*$ ]] || MULT=1
MAX_SECONDS=$((MAX_SECONDS * MULT)) HELLO_SECONDS=$((HELLO_SECONDS * MULT))
SCALED_STEP=$((STEP_TIMEOUT * MULT))	# as the harness reports it
MAX_RSS_KB=$((100 * 1024))	# the harness's own peak RSS
MAX_FILE_BYTES=$((64 * 1048576))	# disk the run may hold at any moment (stderr logs)
tmp=$(mktemp -d /tmp/procspec-hostile.XXXXXX)
mark=procspec-hostile-$$-$RANDOM
procspec_exe=$(readlink -f "$PROCSPEC")
# One worker where the harness has several, so that the second scenario must
# be played by a fresh driver after the first one's was dropped.
JOBS=()
"$PROCSPEC" run --help 2>&1 | grep -qE '^ +-j(, --jobs)? N' && JOBS=(-j 1)
method_leaks=""

ulimit -c 0	# segv-mid-scenario must not drop a core file into the tree

. tests/testlib.sh	# ok, bad, skip, has, marked, cleanup

# collect_leftovers TOKEN: what the harness killed is gone by the time it
# exits; allow a moment for anything still dying, then every process still
# marked with TOKEN is a leftover: added to $leftovers, and killed.
collect_leftovers() {
	local p procs=""
	for _ in $(seq 10); do
		procs=$(marked "$1")
		[ -z "$procs" ] && break
		sleep 0.1
	done
	for p in $procs; do
		leftovers+="$p ($(tr '\0' ' ' </proc/"$p"/cmdline 2>/dev/null | sed 's/ $//')) "
		kill -KILL "$p" 2>/dev/null
	done
}

trap cleanup EXIT

# Bytes of disk held by the regular files the processes $@ have open, each
# file counted once: allocated blocks, so a sparse file counts what it uses.
held_bytes() {
	local p
	for p in "$@"; do
		stat -L -c '%d:%i %b %B %F' /proc/"$p"/fd/* 2>/dev/null
	done | awk '$4 == "regular" && !seen[$1]++ { s += $2 * $3 } END { printf "%d\n", s }'
}

# Peak RSS in kB (VmHWM) of the harness's own processes among $@.
harness_hwm() {
	local p m=0 v
	for p in "$@"; do
		[ "$(readlink /proc/"$p"/exe 2>/dev/null)" = "$procspec_exe" ] || continue
		v=$(awk '/^VmHWM:/ { print $2 }' /proc/"$p"/status 2>/dev/null)
		[ -n "$v" ] && [ "$v" -gt "$m" ] && m=$v
	done
	echo "$m"
}

tmp_used() { df -P -k /tmp | awk 'NR == 2 { print $3 }'; }

# run_driver NAME LIMIT: run both scenarios through the driver, output in
# $tmp/out.  Sets code, secs, rss_kb (from /usr/bin/time, else sampled),
# hwm_kb (sampled), held_max (bytes), tmp_grew (kB of /tmp at the peak over
# the start), tmp_after (kB over the start once it is over), leftovers (pids
# and command lines of what is still alive).  The run is killed if it takes
# more than twice LIMIT, so that this script never hangs.
run_driver() {
	local name=$1 limit=$2 tok=$mark-$1 t0 now pid procs h b u tmp0 p
	local -a timecmd=()

	[ -x /usr/bin/time ] && timecmd=(/usr/bin/time -f %M -o "$tmp/rss")
	rm -f "$tmp/rss" "$tmp/state"
	hwm_kb=0 held_max=0 tmp_grew=0 leftovers=""
	tmp0=$(tmp_used)
	t0=$(date +%s%N)
	env PROCSPEC_HOSTILE_MARK="$tok" HOSTILE_STATE="$tmp/state" \
		"${timecmd[@]}" "$PROCSPEC" run "${SCENARIOS[@]}" \
		--impl "cmd:$DRIVERS/$name" --timeout "$STEP_TIMEOUT" --report "" "${JOBS[@]}" >"$tmp/out" 2>&1 &
	pid=$!
	while kill -0 "$pid" 2>/dev/null; do
		procs=$(marked "$tok")
		# shellcheck disable=SC2086
		h=$(harness_hwm $procs)
		# shellcheck disable=SC2086
		b=$(held_bytes $procs)
		u=$(($(tmp_used) - tmp0))
		[ "$h" -gt "$hwm_kb" ] && hwm_kb=$h
		[ "$b" -gt "$held_max" ] && held_max=$b
		[ "$u" -gt "$tmp_grew" ] && tmp_grew=$u
		now=$(date +%s%N)
		if [ $(((now - t0) / 1000000000)) -ge $((2 * limit)) ]; then
			echo "hostile.sh: $name still running after $((2 * limit)) s: killed" >>"$tmp/out"
			for p in $procs; do kill -KILL "$p" 2>/dev/null; done
		fi
		sleep 0.05
	done
	wait "$pid"
	code=$?
	secs=$((($(date +%s%N) - t0) / 1000000))
	secs=$((secs / 1000)).$(printf '%03d' $((secs % 1000)))
	rss_kb=$hwm_kb
	[ -s "$tmp/rss" ] && rss_kb=$(tail -1 "$tmp/rss")
	collect_leftovers "$tok"
	tmp_after=$(($(tmp_used) - tmp0))
}

# hostile NAME CODE WORD DETAIL [LIMIT]: run the driver and check it all.
# WORD is the verdict each scenario must get under fork ("" when the run
# must not get that far); DETAIL a string the report must contain.
hostile() {
	local name=$1 want=$2 word=$3 detail=$4 limit=${5:-$MAX_SECONDS} sc id missing=""

	if [ -n "${HOSTILE_DRIVERS:-}" ] && [[ " $HOSTILE_DRIVERS " != *" $name "* ]]; then
		return
	fi
	if [ ! -x "$DRIVERS/$name" ]; then
		skip "$name" "no driver $DRIVERS/$name"
		return
	fi
	run_driver "$name" "$limit"
	if [ "$code" -eq "$want" ]; then
		ok "$name: exit status $code"
	else
		bad "$name: exit status $code, want $want" "$tmp/out"
	fi
	if [ -n "$word" ]; then
		for sc in "${SCENARIOS[@]}"; do
			id=${sc#scenarios/}
			id=${id%.scn}
			grep -qE "^$word +$id \[fork\]" "$tmp/out" || missing+=" $id"
		done
		if [ -z "$missing" ]; then
			ok "$name: $word for each scenario, each on a fresh driver"
		else
			bad "$name: no $word for$missing" "$tmp/out"
		fi
		# The drivers announce fork only: nothing may run under another method.
		if grep -qE '^[A-Za-z]+ +lifecycle/[a-z-]+ \[(spawn|forkserver)\] [0-9.]+s' "$tmp/out"; then
			method_leaks+=" $name"
		fi
	fi
	if has "$detail"; then
		ok "$name: the report says \"$detail\""
	else
		bad "$name: the report does not say \"$detail\"" "$tmp/out"
	fi
	if awk -v s="$secs" -v l="$limit" 'BEGIN { exit !(s < l) }'; then
		ok "$name: finished in ${secs} s (< $limit s)"
	else
		bad "$name: took ${secs} s (limit $limit s)" "$tmp/out"
	fi
	if [ "$rss_kb" -lt "$MAX_RSS_KB" ]; then
		ok "$name: harness peak RSS ${rss_kb} kB (< $MAX_RSS_KB kB)"
	else
		bad "$name: harness peak RSS ${rss_kb} kB (limit $MAX_RSS_KB kB; sampled VmHWM ${hwm_kb} kB)"
	fi
	if [ "$held_max" -lt "$MAX_FILE_BYTES" ] && [ "$tmp_grew" -lt $((MAX_FILE_BYTES / 1024)) ]; then
		ok "$name: the run held at most $held_max bytes of files, /tmp grew at most $tmp_grew kB"
	else
		bad "$name: the run held up to $held_max bytes of open files (limit $MAX_FILE_BYTES); /tmp grew by up to $tmp_grew kB, $tmp_after kB once it was over"
	fi
	if [ -z "$leftovers" ]; then
		ok "$name: nothing of the run is left alive"
	else
		bad "$name: left alive (now killed): $leftovers"
	fi
	if grep -q HOSTILE_STATE "$DRIVERS/$name"; then
		if [ ! -s "$tmp/state" ]; then
			ok "$name: no write of the driver's to its stderr failed"
		else
			bad "$name: the driver's writes to its stderr failed" "$tmp/state"
		fi
	fi
}

# interrupted SIG NAME: a run of driver NAME gets SIG once the driver has
# left a daemon (a session leader of its own); the harness must die of it and
# take everything it started along, daemon included.
interrupted() {
	local sig=$1 name=$2 tok=$mark-$2-$1 pid p procs daemon="" leftovers=""

	[ -n "${HOSTILE_DRIVERS:-}" ] && [[ " $HOSTILE_DRIVERS " != *" $name "* ]] && return
	env PROCSPEC_HOSTILE_MARK="$tok" "$PROCSPEC" run "${SCENARIOS[@]}" --impl "cmd:$DRIVERS/$name" \
		--timeout 30 --report "" >"$tmp/out" 2>&1 &
	pid=$!
	for _ in $(seq 100); do
		for p in $(marked "$tok"); do
			# field 6 of /proc/P/stat is the session; the daemon leads its own
			[ "$(awk '{ sub(/.*\) /, ""); print $4 }' /proc/"$p"/stat 2>/dev/null)" = "$p" ] && daemon=$p
		done
		[ -n "$daemon" ] && break
		sleep 0.1
	done
	# stderr to /dev/null: no "Hangup" notice from bash when it reaps the job
	{
		kill -"$sig" "$pid"
		for _ in $(seq 100); do
			kill -0 "$pid" || break
			sleep 0.1
		done
		if kill -0 "$pid"; then
			bad "$name, SIG$sig to the harness: it is still running 10 s later (killed)" "$tmp/out"
			kill -KILL "$pid"
		fi
		wait "$pid"
	} 2>/dev/null
	collect_leftovers "$tok"
	if [ -z "$daemon" ]; then
		bad "$name, SIG$sig to the harness: the driver left no daemon to check (see below)" "$tmp/out"
	elif [ -z "$leftovers" ]; then
		ok "$name, SIG$sig to the harness mid-run: nothing of the run is left alive"
	else
		bad "$name, SIG$sig to the harness mid-run: left alive (now killed): $leftovers"
	fi
}

if [ ! -x "$PROCSPEC" ]; then
	echo "hostile.sh: no $PROCSPEC (make all)" >&2
	exit 2
fi

#       driver                   exit/word  what the report must say
hostile hang-before-hello        2 ""       "driver sent no hello within" "$HELLO_SECONDS"
hostile hang-mid-step            1 TIMEOUT  "step 1 (line 6): no answer from the driver within $SCALED_STEP.0 s"
hostile segv-mid-scenario        1 CRASH    "step 2 (line 7): driver ended (signal 11 (SIGSEGV))"
hostile exit-mid-scenario        1 CRASH    "step 2 (line 7): driver ended (exit code 0)"
hostile segv-child-holds-stdout  1 CRASH    "SIGSEGV"
hostile malformed-result         1 PROTO    "step 1 (line 6): driver sent a line that is not JSON"
hostile huge-line                1 PROTO    "driver sent a line longer than 1048576 bytes"
hostile non-utf8-line            1 PROTO    "step 1 (line 6): driver sent a line that is not JSON"
hostile stderr-flood             1 TIMEOUT  "end: no answer from the driver"
hostile daemon-hang              1 TIMEOUT  "step 1 (line 6): no answer from the driver"
hostile daemon-behaves           0 pass     "0 failed"
hostile setsid-chain             1 TIMEOUT  "step 1 (line 6): no answer from the driver"
hostile ignore-term              1 TIMEOUT  "step 1 (line 6): no answer from the driver"
hostile stderr-non-utf8-death    1 CRASH    'dying: \xff\xfe \x1b[31mred\x1b[0m'
hostile huge-pids                1 PROTO    "step 1: \"pids\" binds 70000 names, more than 4096" 15
hostile exited-string-code       1 PROTO    "exited needs an integer \"code\" or \"signal\""
hostile exited-no-code           1 PROTO    "step 2 (line 7): exited needs an integer"

# late_reply: the late-reply driver's unsolicited line after the first
# scenario's exited is that scenario's protocol error; the second scenario,
# innocent, passes on a fresh driver.
late_reply() {
	[ -n "${HOSTILE_DRIVERS:-}" ] && [[ " $HOSTILE_DRIVERS " != *" late-reply "* ]] && return
	rm -f "$tmp/state.late"
	run_driver late-reply "$MAX_SECONDS"
	if [ "$code" -eq 1 ] && grep -qE '^PROTO +lifecycle/returns \[fork\]' "$tmp/out" &&
	   has "after exited: driver sent a line nobody asked for" &&
	   grep -qE '^pass +lifecycle/target-none \[fork\]' "$tmp/out"; then
		ok "late-reply: PROTO for the scenario it belongs to, the next one passes"
	else
		bad "late-reply: exit $code; want PROTO for lifecycle/returns, pass for lifecycle/target-none"
	fi
	if [ -z "$leftovers" ]; then
		ok "late-reply: nothing of the run is left alive"
	else
		bad "late-reply: left alive (now killed): $leftovers"
	fi
}

late_reply

# Not SIGINT: bash starts a background job with SIGINT ignored, and an
# ignored signal stays ignored across exec, so a harness without a handler
# of its own would survive it here, and only here.
interrupted TERM daemon-hang
interrupted HUP daemon-hang

if [ -z "$method_leaks" ]; then
	ok "no scenario ran under a start method its driver did not announce"
else
	bad "scenarios ran under spawn/forkserver, which their driver does not announce:$method_leaks"
fi

echo "hostile: $pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]

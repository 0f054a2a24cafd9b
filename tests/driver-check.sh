#!/bin/bash
# procspec driver-check: it passes on both real drivers (build/procref-driver
# and tools/pydriver.py), and for each deliberate mistake of the broken test
# driver (tests/drivers/broken/driver.py --mistake NAME) it exits 1 and names
# the check that mistake breaks, with the part of the message that shows it.
# Every run carries a marker in its environment, so that "nothing was left
# running" is a scan of /proc/*/environ for it (as tests/hostile.sh does).
# usage: tests/driver-check.sh [build/procspec]
set -u
cd "$(dirname "$0")/.." || exit 2
PROCSPEC=${1:-build/procspec}
PYTHON=${PYTHON:-/usr/bin/python3}
BROKEN=tests/drivers/broken/driver.py
TIMEOUT=2	# --timeout for the broken driver: three mistakes are hangs
JOBS=3		# broken-driver runs at once: most of a hang is waiting
tmp=$(mktemp -d /tmp/procspec-dcheck.XXXXXX)
mark=procspec-dcheck-$$-$RANDOM

. tests/testlib.sh
trap cleanup EXIT

# check NAME ARGS...: run driver-check, output in $tmp/NAME.out, status in $tmp/NAME.rc
check() {
	local name=$1
	shift
	env PROCSPEC_DCHECK_MARK="$mark" "$PROCSPEC" driver-check "$@" >"$tmp/$name.out" 2>&1
	echo $? >"$tmp/$name.rc"
}

# The lines of check CHECK in output file F: its status line and its detail.
block() {
	awk -v c="$2" '$3 == c && /^(ok|FAIL|warn|skip) / { on = 1; print; next }
		on && /^ / { print; next } { on = 0 }' "$1"
}

# passes NAME: driver-check exited 0, said PASS and failed no check.
passes() {
	local out=$tmp/$1.out rc
	rc=$(cat "$tmp/$1.rc")
	if [ "$rc" = 0 ] && grep -q '^driver-check: PASS' "$out" && ! grep -q '^FAIL ' "$out"; then
		ok "$1: every MUST check passes ($(grep -o '[0-9]* ok, [0-9]* FAIL, [0-9]* warn, [0-9]* skipped in [0-9.]* s' "$out"))"
	else
		bad "$1: exit status $rc, expected 0 and PASS" "$out"
	fi
}

# --- usage ---------------------------------------------------------------
"$PROCSPEC" driver-check >"$tmp/usage.out" 2>&1
rc=$?
if [ $rc = 2 ] && grep -q 'give the driver as --impl IMPL or as -- PROGRAM' "$tmp/usage.out"; then
	ok "no driver given: exit status 2 and says how to give one"
else
	bad "no driver given: exit status $rc, expected 2" "$tmp/usage.out"
fi
"$PROCSPEC" driver-check --impl ref --method threads >"$tmp/usage.out" 2>&1
rc=$?
[ $rc = 2 ] && ok "--method threads: exit status 2" || bad "--method threads: exit status $rc, expected 2" "$tmp/usage.out"
if "$PROCSPEC" driver-check --help | grep -q '^usage: procspec driver-check' &&
   "$PROCSPEC" --help | grep -q '^  driver-check '; then
	ok "driver-check --help, and procspec --help lists it"
else
	bad "driver-check missing from --help"
fi

# --- the real drivers ----------------------------------------------------
check ref --impl ref
passes ref
if [ -x "$PYTHON" ]; then
	check python --impl "python:$PYTHON"
	passes python
else
	skip "python" "no interpreter $PYTHON"
fi

# --- an executor-only peer: the Process checks are skipped, not failed ------
if [ -x "$PYTHON" ] && "$PYTHON" tools/pydriver.py --module pebble --check >/dev/null 2>&1; then
	check pebble --impl pebble
	passes pebble
	n=$(grep -c '^skip ' "$tmp/pebble.out")
	if [ "$n" -gt 20 ] && grep -q '^       the driver does not declare the Process feature' \
		"$tmp/pebble.out" && grep -q '^ok  *[0-9]* executor.returns ' "$tmp/pebble.out"; then
		ok "pebble: $n checks skipped (no Process feature), the executor checks run"
	else
		bad "pebble: expected the Process checks skipped ($n) and executor.returns ok" \
			"$tmp/pebble.out"
	fi
else
	skip "pebble" "no python3-pebble for $PYTHON (tools/install-deps installs it)"
fi

# --- the broken driver ---------------------------------------------------
# mistake | the check that must FAIL | what its detail must show
table=$(cat <<'EOF'
hello-protocol-2|hello.protocol|"protocol":2,
hello-no-methods|hello.methods|"methods":[],
no-fd-move|fds.stdout-stream|got:      PROCSPEC-STRAY-LINE
id-mismatch|step.id|does not carry "id":101
error-as-crash|error.unknown-global|got:      {"op":"exited","code":1}
missing-pids|pids.bound|expected: "pids":{"p":PID}
ended-not-integer|end.ended|"fds_leaked":"0"
no-exited|end.exited|ended was not followed by exited: no exited after ended within
eof-hangs|session.eof|after EOF on its stdin between scenarios
unknown-op-silent|error.unknown-op|got:      nothing: no error reply within
wrong-exitcode-for-sys-exit-str|child.exits-str|expected: "value":{"repr":"1"}
text-as-repr|child.writes|"value":{"repr":"'out line
begin-undeclared-accepted|begin.undeclared-method|got:      {"op":"begun"
pipelined-buffered|session.pipelined|for the second scenario: every request of a whole scenario
EOF
)

if ! command -v python3 >/dev/null; then
	skip "broken driver" "no python3 to run $BROKEN"
else
	# The interpreter python3 names, once: a version manager's shim (pyenv)
	# costs a shell script per start, and driver-check starts the broken
	# driver again and again.
	py3=$(python3 -c 'import sys; print(sys.executable)')
	# every mistake the driver has is in the table, and only those
	listed=$("$py3" "$BROKEN" --list | awk '$1 != "none" { print $1 }' | sort)
	tabled=$(printf '%s\n' "$table" | cut -d'|' -f1 | sort)
	if [ "$listed" = "$tabled" ]; then
		ok "the table covers the $(echo "$listed" | wc -l) mistakes of $BROKEN"
	else
		bad "the table and $BROKEN --list differ: $(diff <(echo "$listed") <(echo "$tabled") | grep '^[<>]' | tr '\n' ' ')"
	fi
	for m in none $tabled; do
		while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do wait -n; done
		check "broken-$m" --timeout "$TIMEOUT" -- "$py3" "$BROKEN" --mistake "$m" &
	done
	wait
	passes broken-none
	while IFS='|' read -r m name key; do
		out=$tmp/broken-$m.out
		rc=$(cat "$tmp/broken-$m.rc")
		block "$out" "$name" >"$tmp/block"
		if [ "$rc" != 1 ]; then
			bad "$m: exit status $rc, expected 1" "$out"
		elif ! grep -q "^FAIL  *[0-9]* $name " "$tmp/block"; then
			bad "$m: no FAIL for check $name" "$out"
		elif ! grep -qF -- "$key" "$tmp/block"; then
			bad "$m: check $name does not show: $key" "$tmp/block"
		else
			ok "$m: FAIL $name, showing: $key"
		fi
	done <<<"$table"
fi

# --- nothing left --------------------------------------------------------
sleep 0.2
left=$(marked "$mark")
if [ -z "$left" ]; then
	ok "no process of any run is left"
else
	bad "processes left running: $(for p in $left; do tr '\0' ' ' </proc/"$p"/cmdline 2>/dev/null; echo; done)"
fi

echo "driver-check: $pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]

#!/bin/bash
# The command line every subcommand shares: --help on stdout with exit 0 for
# each command `procspec --help` lists, an unknown option named with exit 2,
# the options the README shows accepted by the command it shows them with;
# numbers that would switch a time limit off refused (exit 2); a write error
# on stdout is exit 2; and a command stopped by SIGINT, SIGTERM or SIGHUP
# ends with 128 + the signal, whichever command it is.
# usage: tests/help.sh [build/procspec]
set -u
cd "$(dirname "$0")/.." || exit 2
PROCSPEC=${1:-build/procspec}
tmp=$(mktemp -d /tmp/procspec-help.XXXXXX)
mark=procspec-help-$$-$RANDOM

. tests/testlib.sh
trap cleanup EXIT

if [ ! -x "$PROCSPEC" ]; then
	echo "help.sh: no $PROCSPEC (make all)" >&2
	exit 2
fi

# --- every command's --help and unknown options ---------------------------
"$PROCSPEC" --help >"$tmp/top" 2>"$tmp/err"
check "procspec --help exits 0 with nothing on stderr" test $? -eq 0 -a ! -s "$tmp/err"
commands=$(sed -n '/^commands:$/,/^$/{ s/^  \([a-z][a-z-]*\) .*/\1/p; }' "$tmp/top")
check "procspec --help lists the commands" test "$(echo $commands | wc -w)" -ge 8

for c in $commands; do
	"$PROCSPEC" "$c" --help >"$tmp/$c.help" 2>"$tmp/err"
	rc=$?
	if [ $rc -eq 0 ] && [ ! -s "$tmp/err" ] && head -n1 "$tmp/$c.help" | grep -q "^usage: procspec $c" &&
	   grep -q -- '-h, --help' "$tmp/$c.help"; then
		ok "$c --help: exit 0, its usage and options on stdout"
	else
		bad "$c --help: exit $rc, or no usage on stdout" "$tmp/$c.help"
	fi
	"$PROCSPEC" "$c" -h >"$tmp/out" 2>&1
	check "$c -h is --help" cmp -s "$tmp/out" "$tmp/$c.help"
	# the option before and after an argument: both are options
	for args in "--frob" "--frob=1"; do
		run "$c $args" 2 "$PROCSPEC" "$c" $args &&
			check "$c $args: exit 2, naming the option" has "procspec $c: unknown option '--frob'"
	done
done
run "unknown command" 2 "$PROCSPEC" frob && has "unknown command 'frob'" &&
	ok "an unknown command exits 2, naming it"

# --- the README's examples use only options their command has -------------
# Each `procspec COMMAND ...` in README.md (code blocks and `inline` code):
# every option on it must be in COMMAND --help.
grep -o 'procspec [a-z-][a-z-]*[^`#]*' README.md | sed 's/  *$//' | sort -u >"$tmp/readme"
nreadme=0
while read -r _ c rest; do
	[ -f "$tmp/$c.help" ] || continue
	for o in $(echo " $rest" | grep -oE "[ ](--[a-z][a-z-]*|-[a-zA-Z])\b" | sed 's/^ //'); do
		nreadme=$((nreadme + 1))
		if ! grep -qE -- "(^|[ ,])$o([ ,=]|$)" "$tmp/$c.help"; then
			bad "README.md shows 'procspec $c ... $o', which $c --help does not list" "$tmp/$c.help"
		fi
	done
done <"$tmp/readme"
check "README.md: the $nreadme options of its procspec lines are all in their command's --help" \
	test "$nreadme" -gt 20

# --- numbers that would switch a limit off (issue 13, item 4) -------------
one=scenarios/lifecycle/returns.scn
for t in nan inf -inf 1e300 0 -1 10x ""; do
	run "run --timeout '$t'" 2 "$PROCSPEC" run $one --impl ref --report "" --timeout "$t" &&
		check "run --timeout '$t' is refused, naming it" has "procspec run: --timeout '$t'"
done
run "run --timeout 3600" 0 "$PROCSPEC" run $one --impl ref --report "" --timeout 3600 -j 1 &&
	ok "run --timeout 3600 is taken"
for k in 1e308 nan inf junk 0 -2; do
	run "PROCSPEC_TIMEOUT_MULTIPLIER=$k" 2 env PROCSPEC_TIMEOUT_MULTIPLIER="$k" "$PROCSPEC" run $one \
		--impl ref --report "" &&
		check "PROCSPEC_TIMEOUT_MULTIPLIER=$k is refused, naming it" \
			has "procspec run: PROCSPEC_TIMEOUT_MULTIPLIER '$k'"
done
# (bounded: on a harness that took them, these would run once and exit 0)
for s in nan 0 inf 1e300; do
	run "fuzz --seconds $s" 2 timeout 60 "$PROCSPEC" fuzz --impl ref --against ref --runs 1 \
		--seconds "$s" --report "" --found-dir "$tmp/found" &&
		check "fuzz --seconds $s is refused, naming it" has "procspec fuzz: --seconds '$s'"
done
# (an interpreter that works: one that does not would fail the capture anyway)
if [ -x /usr/bin/python3 ]; then
	run "capture --set ''" 2 "$PROCSPEC" capture $one --impl python:/usr/bin/python3 -m fork \
		--set "" --golden-dir "$tmp/g" && has "procspec capture: --set '': a plain name" &&
		check "capture --set '' is refused, and writes nothing" test ! -e "$tmp/g"
else
	skip "capture --set ''" "no /usr/bin/python3"
fi
run "driver-check --timeout nan" 2 "$PROCSPEC" driver-check --impl ref --timeout nan &&
	ok "driver-check --timeout nan is refused"

# --- stdout that cannot be written (issue 13, item 10) --------------------
if [ -w /dev/full ]; then
	"$PROCSPEC" list >/dev/full 2>"$tmp/out"
	rc=$?
	check "list >/dev/full: exit 2 ($rc), saying why" \
		test $rc -eq 2 -a -n "$(grep 'procspec list: cannot write standard output' "$tmp/out")"
	"$PROCSPEC" run --help >/dev/full 2>"$tmp/out"
	check "run --help >/dev/full: exit 2" test $? -eq 2
else
	skip "list >/dev/full" "no writable /dev/full"
fi
"$PROCSPEC" list >&- 2>"$tmp/out"
rc=$?
check "list with stdout closed: exit 2 ($rc), saying why" \
	test $rc -eq 2 -a -n "$(grep 'procspec list: standard output is closed' "$tmp/out")"

# --- one exit status for a signal (issue 13, item 21) ---------------------
# stopped SIG CODE NAME CMD...: CMD runs in the background until it has
# printed a line; then SIG; it must end within 20 s with exit status CODE.
stopped() {
	local sig=$1 want=$2 name=$3 pid rc
	shift 3
	env PROCSPEC_HELP_MARK="$mark" "$@" >"$tmp/sig.out" 2>&1 &
	pid=$!
	for _ in $(seq 200); do
		[ -s "$tmp/sig.out" ] && break
		sleep 0.05
	done
	sleep 0.5
	{
		kill -"$sig" "$pid"
		for _ in $(seq 200); do
			kill -0 "$pid" || break
			sleep 0.1
		done
		kill -0 "$pid" && kill -KILL "$pid"
		wait "$pid"
		rc=$?
	} 2>/dev/null
	if [ "$rc" -eq "$want" ]; then
		ok "$name stopped by SIG$sig exits $want"
	else
		bad "$name stopped by SIG$sig exits $rc, want $want" "$tmp/sig.out"
	fi
}
for s in INT:130 TERM:143 HUP:129; do
	stopped "${s%:*}" "${s#*:}" fuzz "$PROCSPEC" fuzz --impl ref --against ref --seconds 60 -j 1 \
		--report "$tmp/fuzz-${s%:*}" --found-dir "$tmp/found"
	stopped "${s%:*}" "${s#*:}" run "$PROCSPEC" run $one --impl cmd:tests/drivers/hostile/hang-mid-step \
		--timeout 60 --report ""
done
left=$(marked "$mark")
check "nothing of the stopped commands is left running" test -z "$left"

echo "help: $pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]

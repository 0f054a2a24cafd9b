#!/bin/bash
# What procspec promises in docs/RELIABILITY.md, one check (or a few) per
# promise: hostile scenario trees and files, runs that select nothing,
# interrupted and concurrent writers of golden sets and reports, temporary
# directories, limits.  Each names the item of issue 13 it holds to.
# usage: tests/reliability.sh [build/procspec]
set -u
cd "$(dirname "$0")/.." || exit 2
PROCSPEC=${1:-build/procspec}
PYTHON=${PYTHON:-/usr/bin/python3}
tmp=$(mktemp -d /tmp/procspec-reliability.XXXXXX)
mark=procspec-reliability-$$-$RANDOM

. tests/testlib.sh	# ok, bad, skip, run, has, check, marked, cleanup
trap cleanup EXIT

if [ ! -x "$PROCSPEC" ]; then
	echo "reliability.sh: no $PROCSPEC (make all)" >&2
	exit 2
fi

# bounded CMD...: CMD under timeout, so that a hang is a failure, not a hung test.
bounded() { timeout -k 5 20 "$@"; }

# exits NAME CODE TEXT CMD...: ok when CMD exits CODE and its output holds
# TEXT (any output when TEXT is ""), else bad with the output.
exits() {
	local name=$1 want=$2 text=$3 code
	shift 3
	"$@" >"$tmp/out" 2>&1
	code=$?
	if [ "$code" -eq "$want" ] && { [ -z "$text" ] || has "$text"; }; then
		ok "$name"
	else
		bad "$name (exit $code, want $want${text:+, saying \"$text\"})"
	fi
}

# wait_for TOKEN PATTERN: up to 20 s for a process marked TOKEN whose command
# line matches PATTERN; its pid on stdout.
wait_for() {
	local p
	for _ in $(seq 200); do
		for p in $(marked "$1"); do
			tr '\0' ' ' 2>/dev/null </proc/"$p"/cmdline | grep -q -- "$2" && { echo "$p"; return 0; }
		done
		sleep 0.1
	done
	return 1
}

# stop_run PID TOKEN: SIGTERM to the harness PID, then up to 10 s for it and
# every process marked TOKEN to be gone; what is left is killed.  0 if none was.
stop_run() {
	local p left
	kill -TERM "$1" 2>/dev/null
	for _ in $(seq 100); do
		left=$(marked "$2")
		[ -z "$left" ] && break
		sleep 0.1
	done
	for p in $left; do kill -KILL "$p" 2>/dev/null; done
	wait "$1" 2>/dev/null
	[ -z "$left" ]
}

# ---- item 16: each driver has a private TMPDIR, removed with it -------------
mkdir -p "$tmp/scn16" "$tmp/t16"
printf 'methods: forkserver\n\np = Process(target=child.blocks)\np.start()\np.join()\n' \
	>"$tmp/scn16/blocks.scn"
tmp16() {	# tmp16 LABEL IMPL FORKSERVER-PATTERN
	local tok=$mark-16-$1 pid fs drvdir
	rm -rf "$tmp/t16" && mkdir -p "$tmp/t16"
	env TMPDIR="$tmp/t16" PROCSPEC_RELIABILITY_MARK="$tok" "$PROCSPEC" run "$tmp/scn16/blocks.scn" \
		--impl "$2" --method forkserver --timeout 60 --report "" >"$tmp/out" 2>&1 &
	pid=$!
	fs=$(wait_for "$tok" "$3")
	sleep 0.5	# the forkserver makes its pymp-* after it starts
	drvdir=$(ls -d "$tmp"/t16/procspec-drv.* 2>/dev/null | head -1)
	if [ -n "$fs" ] && [ -n "$drvdir" ] && [ -n "$(find "$drvdir" -name 'pymp-*')" ]; then
		ok "$1: the forkserver's pymp-* is in the driver's private TMPDIR under \$TMPDIR"
	else
		bad "$1: no pymp-* in a private procspec-drv.* under \$TMPDIR ($(find "$tmp/t16" | tr '\n' ' '))"
	fi
	if stop_run "$pid" "$tok" && [ -z "$(ls -A "$tmp/t16")" ]; then
		ok "$1: SIGTERM mid-scenario leaves nothing in \$TMPDIR, no process"
	else
		bad "$1: SIGTERM mid-scenario left: $(find "$tmp/t16" | tr '\n' ' ') $(marked "$tok")"
	fi
}
tmp16 ref ref "--forkserver"
if [ -x "$PYTHON" ]; then
	tmp16 python3 "python:$PYTHON" "from multiprocessing.forkserver import main"
else
	skip "python3: a private TMPDIR for CPython" "no $PYTHON"
fi

# ---- item 17: leftovers of a harness killed by SIGKILL go at the next start --
sh -c 'exit 0' & dead=$!
wait "$dead"
mkdir -p "$tmp/t17/procspec-drv.$dead.AbCdEf/pymp-x" "$tmp/t17/procspec-drv.$$.AbCdEf"
: >"$tmp/t17/procspec-drv.$dead.AbCdEf/pymp-x/listener-1-0"
bounded env TMPDIR="$tmp/t17" "$PROCSPEC" run scenarios/lifecycle/returns.scn --impl ref \
	--method fork --report "" >"$tmp/out" 2>&1
if [ ! -e "$tmp/t17/procspec-drv.$dead.AbCdEf" ] && [ -d "$tmp/t17/procspec-drv.$$.AbCdEf" ]; then
	ok "a start removes a dead harness's temporary directories, not a live one's"
else
	bad "stale temporary directories: $(ls "$tmp/t17" | tr '\n' ' ')"
fi

# ---- item 3: symlink loops, FIFOs and devices in scenario trees ------------
mkdir -p "$tmp/scn3/a/b"
cp scenarios/lifecycle/returns.scn "$tmp/scn3/a/b/"
ln -s .. "$tmp/scn3/a/b/up"		# one loop
ln -s ../.. "$tmp/scn3/a/b/upup"	# two loops
exits "list with two link loops ends" 0 "returns" bounded "$PROCSPEC" list "$tmp/scn3"
check "list with link loops lists the scenario once ($(grep -c returns "$tmp/out"))" \
	test "$(grep -c returns "$tmp/out")" -eq 1
exits "run with link loops ends" 0 "" bounded "$PROCSPEC" run "$tmp/scn3" --impl ref --method fork \
	--report ""
check "run with link loops plays the scenario once" test "$(grep -c '^pass ' "$tmp/out")" -eq 1
mkfifo "$tmp/scn3/a/fifo.scn"
exits "a FIFO named *.scn in a tree is not read (list ends)" 0 "" \
	bounded "$PROCSPEC" list "$tmp/scn3"
exits "run FIFO.scn: exit 2, not a regular file" 2 "not a regular file" \
	bounded "$PROCSPEC" run "$tmp/scn3/a/fifo.scn" --impl ref --report ""
exits "run /dev/zero: exit 2 at once, not a regular file" 2 "not a regular file" \
	bounded "$PROCSPEC" run /dev/zero --impl ref --report ""

# ---- item 6: a run that selects nothing, or a golden set that is not there --
exits "--golden with a set that does not exist: exit 2, named" 2 "no golden set golden/cpython-typo" \
	bounded "$PROCSPEC" run scenarios/lifecycle/returns.scn --impl ref --golden cpython-typo \
	--report ""
abs=$PWD exe=$(readlink -f "$PROCSPEC")
# From another directory procspec finds its data beside its program (or in
# PROCSPEC_DATADIR); a data directory without the golden set is exit 2.
(cd "$tmp" && bounded "$exe" run "$abs/scenarios/lifecycle/returns.scn" --impl ref \
	--golden cpython-3.11 --report "" >"$tmp/out" 2>&1)
check "a run from another directory finds the tree's golden set ($?)" test $? -eq 0
mkdir -p "$tmp/nodata"
(cd "$tmp" && PROCSPEC_DATADIR="$tmp/nodata" bounded "$exe" run \
	"$abs/scenarios/lifecycle/returns.scn" --impl ref --golden cpython-3.11 --report "" \
	>"$tmp/out" 2>&1)
check "a data directory without the golden set: exit 2 ($?)" test $? -eq 2
exits "-k matching nothing: exit 2" 2 "no scenario matches" \
	bounded "$PROCSPEC" run --impl ref -k 'no-such-scenario*' --report ""
exits "--tag matching nothing: exit 2" 2 "no scenario matches" \
	bounded "$PROCSPEC" run --impl ref --tag no-such-tag --report ""

# ---- items 12, 14, 15, 17: report directories ------------------------------
rep=$tmp/rep
cp -r golden "$tmp/golden14"
sed -i 's/^AssertionError: cannot start a process twice$/AssertionError: changed/' \
	"$tmp/golden14/cpython-3.11/fork/lifecycle/start-twice.out"
bounded "$PROCSPEC" run scenarios/lifecycle/start-twice.scn --impl ref --method fork \
	--golden cpython-3.11 --golden-dir "$tmp/golden14" --report "$rep" >"$tmp/out" 2>&1
: >"$rep/results.json.AbCdEf.tmp"
: >"$rep/fork/lifecycle/gone.actual.AbCdEf.tmp"
: >"$rep/notes.txt"
if [ -s "$rep/fork/lifecycle/start-twice.diff" ]; then
	bounded "$PROCSPEC" run scenarios/lifecycle/start-twice.scn --impl ref --method fork \
		--golden cpython-3.11 --report "$rep" >"$tmp/out" 2>&1
	check "a passing run removes the .diff of an earlier failing one (item 14)" \
		test ! -e "$rep/fork/lifecycle/start-twice.diff"
	check "a run removes the *.tmp a killed run left in its report directory (item 17)" \
		test -z "$(find "$rep" -name '*.tmp')"
	check "a run leaves files of its own in the report directory alone" test -e "$rep/notes.txt"
else
	bad "a failing run wrote no .diff to clear"
fi
# a second run into a report directory in use: exit 2 (item 12)
tok=$mark-12
env PROCSPEC_RELIABILITY_MARK="$tok" "$PROCSPEC" run "$tmp/scn16/blocks.scn" --impl ref \
	--method forkserver --timeout 60 --report "$tmp/rep12" >"$tmp/out12" 2>&1 &
first=$!
wait_for "$tok" "--forkserver" >/dev/null
exits "a second run into a report directory in use: exit 2, nothing mixed (item 12)" 2 \
	"in use by another procspec run" \
	bounded "$PROCSPEC" run scenarios/lifecycle/returns.scn --impl ref --method fork --report "$tmp/rep12"
stop_run "$first" "$tok"
# the implementation's label is one path component (item 15)
mkdir -p "$tmp/w15/a/b"
if [ -x "$PYTHON" ]; then
	(cd "$tmp/w15/a/b" && bounded "$exe" run "$abs/scenarios/lifecycle/returns.scn" \
		--impl "python:$PYTHON -X/../../../escape" --method fork >"$tmp/out" 2>&1)
	check "an --impl label with ../ writes its report under ./reports, nowhere else (item 15)" \
		test -z "$(find "$tmp/w15" -name escape)" -a -n "$(ls "$tmp/w15/a/b/reports" 2>/dev/null)"
else
	skip "an --impl label with ../ (item 15)" "no $PYTHON"
fi

# ---- items 12, 13, 15: golden sets -----------------------------------------
# snapshot DIR: every file under DIR with its checksum
snapshot() { (cd "$1" 2>/dev/null && find . -type f -print0 | sort -z | xargs -0r sha1sum); }
OLD_IMPL="python:$PYTHON:multiprocess" NEW_IMPL="python:$PYTHON"
OLD_SCN=(scenarios/lifecycle/returns.scn scenarios/lifecycle/target-none.scn scenarios/lifecycle/start-twice.scn)
NEW_SCN=(scenarios/lifecycle/returns.scn scenarios/lifecycle/target-none.scn scenarios/exitcode/os-exit.scn
	scenarios/exitcode/sys-exit-int.scn)
if [ -x "$PYTHON" ] && "$PYTHON" -c 'import multiprocess' 2>/dev/null; then
	g=$tmp/g13
	mkdir -p "$g"
	bounded "$PROCSPEC" capture "${OLD_SCN[@]}" --impl "$OLD_IMPL" --set s --method fork \
		--golden-dir "$g" >"$tmp/out" 2>&1
	snapshot "$g/s" >"$tmp/old.sum"
	cp -a "$g" "$tmp/g13-old"
	bounded "$PROCSPEC" capture "${NEW_SCN[@]}" --impl "$NEW_IMPL" --set s --method fork \
		--golden-dir "$g" --replace >"$tmp/out" 2>&1
	snapshot "$g/s" >"$tmp/new.sum"
	if [ "$(wc -l <"$tmp/old.sum")" -eq 3 ] && [ "$(wc -l <"$tmp/new.sum")" -eq 5 ] &&
	   ! cmp -s <(grep returns "$tmp/old.sum") <(grep returns "$tmp/new.sum"); then
		ok "capture --replace: the old set's other files kept, the recaptured ones changed"
	else
		bad "capture --replace: old $(wc -l <"$tmp/old.sum") files, new $(wc -l <"$tmp/new.sum")"
	fi
	# Kill the capture at every rename and link it makes, one after the
	# other (strace counts each system call on its own): the set is the old
	# one or the new one, never a mix (item 13).
	if command -v strace >/dev/null; then
		mixed="" kills=0
		for sc in rename link renameat2; do
			k=0
			while [ "$k" -lt 40 ]; do
				k=$((k + 1))
				rm -rf "$g" && cp -a "$tmp/g13-old" "$g"
				{
					# LeakSanitizer cannot run under ptrace: off for
					# the traced runs of an ASan build
					env PROCSPEC_RELIABILITY_MARK="$mark-13" \
						ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
						timeout -k 5 60 strace -o /dev/null \
						-e trace=$sc -e inject=$sc:signal=KILL:when=$k \
						"$PROCSPEC" capture "${NEW_SCN[@]}" --impl "$NEW_IMPL" --set s \
						--method fork --golden-dir "$g" --replace >"$tmp/out" 2>&1
				} 2>/dev/null
				code=$?
				for p in $(marked "$mark-13"); do kill -KILL "$p" 2>/dev/null; done
				snapshot "$g/s" >"$tmp/now.sum"
				if ! cmp -s "$tmp/now.sum" "$tmp/old.sum" && ! cmp -s "$tmp/now.sum" "$tmp/new.sum"; then
					mixed+=" $sc#$k"
				fi
				[ "$code" -eq 0 ] && break	# no K-th call: the capture ran to its end
				kills=$((kills + 1))
			done
		done
		# and the next capture starts from what the killed one left
		bounded "$PROCSPEC" capture "${NEW_SCN[@]}" --impl "$NEW_IMPL" --set s --method fork \
			--golden-dir "$g" --replace >"$tmp/out" 2>&1
		if [ -z "$mixed" ] && [ "$kills" -ge 3 ] && [ "$code" -eq 0 ] &&
		   cmp -s <(snapshot "$g/s") "$tmp/new.sum" && [ -z "$(ls -A "$g" | grep -v '^s$')" ]; then
			ok "capture --replace killed at each of its $kills renames and links: old set or new, never a mix"
		else
			bad "capture --replace killed at rename/link number(s)$mixed: a mixed set ($kills kills, last exit $code; $(ls -A "$g" | tr '\n' ' '))"
		fi
	else
		skip "capture killed at every file (item 13)" "no strace"
	fi
	# two captures into one golden directory at once: the second exits 2 (item 12)
	tok=$mark-12c
	env PROCSPEC_RELIABILITY_MARK="$tok" "$PROCSPEC" capture "$tmp/scn16/blocks.scn" --impl "$NEW_IMPL" \
		--set s2 --method forkserver --timeout 60 --golden-dir "$g" >"$tmp/out12" 2>&1 &
	first=$!
	wait_for "$tok" "from multiprocessing.forkserver import main" >/dev/null
	exits "a second capture into a golden directory in use: exit 2 (item 12)" 2 \
		"in use by another procspec run" bounded "$PROCSPEC" capture "${NEW_SCN[@]}" \
		--impl "$NEW_IMPL" --set s --method fork --golden-dir "$g"
	stop_run "$first" "$tok"
else
	skip "capture: atomic swap, lock (items 12, 13)" "no $PYTHON with multiprocess"
fi
mkdir -p "$tmp/g15"
exits "capture --set '': exit 2 (item 15)" 2 "" \
	bounded "$PROCSPEC" capture scenarios/lifecycle/returns.scn --impl "python:$PYTHON" --set '' \
	--golden-dir "$tmp/g15"
exits "capture --golden-dir '': exit 2 (item 15)" 2 "" \
	bounded "$PROCSPEC" capture scenarios/lifecycle/returns.scn --impl "python:$PYTHON" --set x \
	--golden-dir ''
check "nothing was written for them" test -z "$(ls -A "$tmp/g15")"

# ---- item 11: a name too long for its report files; item 15: one id, two files
mkdir -p "$tmp/scn11" "$tmp/scn15/a" "$tmp/scn15/b"
long=$(printf 'n%.0s' $(seq 251))
cp scenarios/lifecycle/returns.scn "$tmp/scn11/$long.scn"
exits "a 251-byte scenario name: exit 2 before anything runs (item 11)" 2 "a name of 251 bytes" \
	bounded "$PROCSPEC" run "$tmp/scn11" --impl ref --method fork --report "$tmp/rep11"
cp scenarios/lifecycle/returns.scn "$tmp/scn15/a/same.scn"
cp scenarios/lifecycle/target-none.scn "$tmp/scn15/b/same.scn"
exits "two files outside scenarios/ with one base name: exit 2 (item 15)" 2 "both have the id same" \
	bounded "$PROCSPEC" run "$tmp/scn15" --impl ref --method fork --report ""

# ---- item 8: hostile file names in reports -------------------------------
mkdir -p "$tmp/scn8/x"
cp scenarios/lifecycle/returns.scn "$tmp/scn8/x/fail # TODO.scn"
bounded "$PROCSPEC" run "$tmp/scn8/x/fail # TODO.scn" --impl "cmd:tests/drivers/hostile/exit-mid-scenario" \
	--report "$tmp/rep8" >"$tmp/out" 2>&1
code=$?
if [ "$code" -eq 1 ] && grep -q '^not ok 1 - fail \\# TODO \[fork\]$' "$tmp/rep8/results.tap" 2>/dev/null &&
   ! grep -q '^not ok.* # TODO' "$tmp/rep8/results.tap"; then
	ok "a failing 'fail # TODO.scn' is 'not ok' with '\\#' in TAP, no TODO (item 8)"
else
	bad "'fail # TODO.scn': exit $code, TAP: $(grep '^not ok\|^ok' "$tmp/rep8/results.tap" 2>/dev/null)"
fi
mkdir -p "$tmp/scn8b"
cp scenarios/lifecycle/returns.scn "$tmp/scn8b/bad$(printf '\377')name.scn"
exits "a file name with byte 0xff: exit 2 before anything runs, named escaped (item 8)" 2 'bad\xffname' \
	bounded "$PROCSPEC" run "$tmp/scn8b" --impl ref --method fork --report "$tmp/rep8b"
check "... and no report was written for it" test ! -e "$tmp/rep8b/junit.xml"

# ---- item 18: the ref driver under a low ulimit -n ---------------------------
for n in 103 64; do
	exits "ulimit -n $n: the ref driver plays lifecycle/ and matches golden (item 18)" 0 "0 failed" \
		bash -c "ulimit -n $n && exec timeout -k 5 120 $PROCSPEC run scenarios/lifecycle --impl ref \
			--golden cpython-3.11 -j 1 --report ''"
done

# ---- item 7: statements over the protocol's line limit are input errors ------
mkdir -p "$tmp/scn7"
{ printf "methods: fork\n\nx = '"; head -c $((2 << 20)) /dev/zero | tr '\0' a; printf "'\n"; } \
	>"$tmp/scn7/big-str.scn"
{ printf "methods: fork\n\nx = ("; yes 0, | head -n 200000 | tr -d '\n'; printf "0)\n"; } \
	>"$tmp/scn7/big-list.scn"
for f in big-str big-list; do
	exits "$f: a statement over 1 MiB as a request is file:line:col, exit 2 (item 7)" 2 \
		"$tmp/scn7/$f.scn:3:1: statement too long" \
		bounded "$PROCSPEC" run "$tmp/scn7/$f.scn" --impl ref --report ""
done

# ---- item 20: terminal escapes from scenario files; a UTF-8 BOM -------------
mkdir -p "$tmp/scn20"
{ printf '# sets the title \033]0;pwned\007 and \033[2J clears\n'; cat scenarios/lifecycle/returns.scn; } \
	>"$tmp/scn20/esc.scn"
if command -v script >/dev/null; then
	# script(1) gives list a terminal for its stdout
	timeout -k 5 20 script -qec "$PROCSPEC list $tmp/scn20" /dev/null >"$tmp/out" 2>&1
	if has 'sets the title \x1b]0;pwned\x07 and \x1b[2J clears' && ! grep -q "$(printf '\033]0;')" "$tmp/out"; then
		ok "list on a terminal shows a comment's escape sequences escaped (item 20)"
	else
		bad "list on a terminal passed escape sequences through"
	fi
else
	skip "list on a terminal (item 20)" "no script(1)"
fi
printf '\357\273\277' >"$tmp/scn20/bom.scn"
cat scenarios/lifecycle/returns.scn >>"$tmp/scn20/bom.scn"
exits "a scenario starting with a UTF-8 BOM is read as without it (item 20)" 0 "1 passed" \
	bounded "$PROCSPEC" run "$tmp/scn20/bom.scn" --impl ref --method fork --report ""

echo "reliability: $pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]

#!/bin/bash
# Fault injection end to end: the preloads reach both drivers, a fault scenario
# reads the same on libprocref and CPython but for CPython's leak, the
# invariants are verdicts of their own, and procspec sweep finds what it must.
# usage: tests/faults.sh [build/procspec]
set -u
cd "$(dirname "$0")/.."
PROCSPEC=${1:-build/procspec}
PYTHON=${PYTHON:-/usr/bin/python3}
tmp=$(mktemp -d /tmp/procspec-faults.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

. tests/testlib.sh

# 1. libprocref meets the fault and closes what CPython leaks.
if run "ref: fork fails at start()" 0 "$PROCSPEC" run scenarios/faults/fork-leaks-pipes.scn \
	--impl ref --report '' -v; then
	check "ref: the failed fork raises BlockingIOError and leaks nothing" \
		bash -c "grep -qF 'BlockingIOError: [Errno 11] Resource temporarily unavailable' '$tmp/out' &&
			 grep -qF -- '--- end: fds_leaked=0 children_left=0' '$tmp/out'"
fi

# 2. Against the golden set, that difference is the listed expectation.
if run "ref against golden: the leak is an expected divergence" 0 "$PROCSPEC" run \
	scenarios/faults/fork-leaks-pipes.scn --impl ref --golden cpython-3.11 --report ''; then
	check "ref: xfail names expectations/ref.txt" has "expectations/ref.txt:"
fi

# 3. CPython meets the same fault at the same step, and its leak is a LEAK.
if [ -x "$PYTHON" ]; then
	if run "python3: the leak is a LEAK verdict" 1 "$PROCSPEC" run scenarios/faults/fork-leaks-pipes.scn \
		--impl "python:$PYTHON" --expect /dev/null --report ''; then
		check "python3: LEAK names the 4 fds" has "the scenario left 4 fd(s) open"
	fi
else
	skip "python3: the leak is a LEAK verdict" "no $PYTHON"
fi

# 3b. A release's label without a file of its own reads its family's: the
# leak every CPython has is said once, in expectations/cpython.txt.
if [ -x "$PYTHON" ]; then
	ver=$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
	if run "cpython-$ver: the leak is expected" 0 "$PROCSPEC" run \
		scenarios/faults/fork-leaks-pipes.scn --impl "cpython-$ver" --golden auto --report ''; then
		check "cpython-$ver: xfail names expectations/cpython.txt" has "expectations/cpython.txt:"
	fi
else
	skip "cpython-X.Y: the leak is expected" "no $PYTHON"
fi

# 4. A child left behind is an ORPHAN, not a LEAK.
cat >"$tmp/orphan.scn" <<'SCN'
# start twice under -O semantics drops the first child, never to be reaped
p = Process(target=child.blocks)
p.start()
p.start()
release(p)
release(p)
p.join()
SCN
if run "a child left behind is ORPHAN" 1 "$PROCSPEC" run "$tmp/orphan.scn" --impl ref@3.11-O \
	--method fork --expect /dev/null --report ''; then
	check "ORPHAN says how many children" has "child(ren) running or unreaped"
fi
# ... and under -O CPython does that on purpose: ref@X.Y-O reads ref-O.txt
if run "ref@3.11-O: start() twice under -O is expected" 0 "$PROCSPEC" run \
	scenarios/lifecycle/start-twice.scn --impl ref@3.11-O --golden cpython-3.11-O --method fork \
	--report ''; then
	check "ref@3.11-O: xfail names expectations/ref-O.txt" has "expectations/ref-O.txt:"
fi

# 5. Without the fault library, fault scenarios are unsupported, not failed.
if PROCSPEC_NO_FAULTS=1 run "no fault library: unsupported" 0 "$PROCSPEC" run \
	scenarios/faults/fork-eagain.scn --impl ref --report ''; then
	check "no fault library: reported as unsupported" has "unsupported"
fi
PROCSPEC_NO_FAULTS=1 run "sweep refuses a driver without faults" 2 "$PROCSPEC" sweep \
	scenarios/lifecycle/returns.scn --impl ref --report '' &&
	check "sweep says why" has 'offers no "faults" feature'

# 6. sweep: every call of a site, once and from then on.
if run "sweep of fork on ref" 0 "$PROCSPEC" sweep scenarios/lifecycle/start-twice.scn \
	--impl ref --site 'posix/proc/fork' --method fork --report "$tmp/sw"; then
	check "sweep: fork's one call, once and from then on, both raised" \
		python3 -c "
import json, sys
d = json.load(open('$tmp/sw/sweep.json'))
s = d['sites']['posix/proc/fork']
sys.exit(not (d['runs'] == 2 and s['raised'] == 2 and s['runs'] == 2 and d['findings'] == []))"
	check "sweep: summary.txt has a row for the site" grep -q '^posix/proc/fork ' "$tmp/sw/summary.txt"
fi
if [ -x "$PYTHON" ]; then
	if run "sweep finds CPython's fd leak" 1 "$PROCSPEC" sweep scenarios/lifecycle/returns.scn \
		--impl "python:$PYTHON" --site posix/proc/fork --method fork --expect /dev/null \
		--report "$tmp/swpy"; then
		check "sweep: the leak is reported with a reproducer" python3 -c "
import json, sys
d = json.load(open('$tmp/swpy/sweep.json'))
f = [x for x in d['findings'] if x['kind'] == 'leak' and x['site'] == 'posix/proc/fork']
sys.exit(not (f and f[0]['fds_leaked'] == 4 and open(f[0]['reproducer']).read().startswith('#')))"
	fi
else
	skip "sweep finds CPython's fd leak" "no $PYTHON"
fi

# 7. Thread scopes: a kill() fault for background work reaches the manager's
# break-up (the pool never settles); the same fault for the stepping thread
# does not (it settles).  A driver that ignored the scope would read the same
# in both.
for impl in ref "python:$PYTHON"; do
	if [ "$impl" != ref ] && [ ! -x "$PYTHON" ]; then
		skip "$impl: thread scopes" "no $PYTHON"
		continue
	fi
	if run "$impl: a background kill() fault breaks the break-up" 0 "$PROCSPEC" run \
		scenarios/faults/executor-breakup-kill-eperm.scn --impl "$impl" --method fork \
		--report '' -v; then
		check "$impl: thread=background: the pool never settles" \
			bash -c "grep -A1 -F '>>> settles(ex)' '$tmp/out' | grep -qx '    False'"
	fi
	if run "$impl: a step kill() fault spares the manager" 0 "$PROCSPEC" run \
		scenarios/faults/executor-breakup-kill-step-scope.scn --impl "$impl" --method fork \
		--report '' -v; then
		check "$impl: thread=step: the pool settles" \
			bash -c "grep -A1 -F '>>> settles(ex)' '$tmp/out' | grep -qx '    True'"
	fi
done

# 7b. sweep --thread counts and fails the calls of one scope only: the
# worker's kill() at break-up is the manager's, never the stepping thread's.
if run "sweep --thread background reaches the manager's kill()" 0 "$PROCSPEC" sweep \
	scenarios/executor/kill-running.scn --impl ref --thread background --site posix/proc/kill \
	--method fork --report "$tmp/swbg"; then
	check "sweep --thread background: kill() swept, the scope in sweep.json" python3 -c "
import json, sys
d = json.load(open('$tmp/swbg/sweep.json'))
s = d['sites']['posix/proc/kill']
sys.exit(not (d['thread'] == 'background' and s['runs'] == 2 and s['unreached'] == 0))"
fi
if run "sweep --thread step: no kill() in the stepping thread" 0 "$PROCSPEC" sweep \
	scenarios/executor/kill-running.scn --impl ref --thread step --site posix/proc/kill \
	--method fork --report "$tmp/swst"; then
	check "sweep --thread step: nothing to sweep" python3 -c "
import json, sys
d = json.load(open('$tmp/swst/sweep.json'))
sys.exit(not (d['thread'] == 'step' and d['runs'] == 0))"
fi

# 8. Bad input.
run "sweep: --thread main" 2 "$PROCSPEC" sweep --impl ref --thread main &&
	check "sweep: --thread names the scopes" has "--thread takes any, step or background"
printf 'fault("posix/proc/kill", thread="main")\n' >"$tmp/badthread.scn"
run "a fault with an unknown thread scope" 2 "$PROCSPEC" run "$tmp/badthread.scn" --impl ref &&
	check "the error has file:line:col" has "badthread.scn:1:33: thread= takes 'any', 'step'"
run "sweep: unknown site" 2 "$PROCSPEC" sweep --impl ref --site 'posix/nope/*' &&
	check "sweep: says no site matches" has "no fault site matches"
run "sweep: --max-n 0" 2 "$PROCSPEC" sweep --impl ref --max-n 0 &&
	check "sweep: --max-n needs a number from 1" has "expected a number from 1"
printf 'fault("posix/io/oc/pipe2", errno=errno.ESRCH)\n' >"$tmp/bad.scn"
run "a fault with an errno the call cannot return" 2 "$PROCSPEC" run "$tmp/bad.scn" --impl ref &&
	check "the error has file:line:col" has "bad.scn:1:34: posix/io/oc/pipe2 cannot fail with ESRCH"

echo "faults: $pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]

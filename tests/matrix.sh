#!/bin/bash
# procspec matrix as its users see it: a reduced matrix (the reference, the
# local python3, and the reference forced against the wrong golden set, so
# that some cells fail), its JSON, the short implementation ids and
# --golden auto, and the page in headless Chromium (tests/matrix_browser.py).
# The reduced matrix is kept in build/reports/matrix, with the page's
# screenshot beside it.
# usage: tests/matrix.sh [build/procspec]
set -u
cd "$(dirname "$0")/.."
PROCSPEC=${1:-build/procspec}
PYTHON=${PYTHON:-/usr/bin/python3}
export PROCSPEC_REF_DRIVER=$(dirname "$PROCSPEC")/procref-driver
tmp=$(mktemp -d /tmp/procspec-matrix.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
. tests/testlib.sh
out=$(dirname "$PROCSPEC")/reports/matrix
# json FILE PYTHON-EXPRESSION: true when the expression over d (the parsed file) holds
json() { python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); sys.exit(0 if eval(sys.argv[2]) else 1)' "$1" "$2"; }

# 1. Usage: help, and clear errors for what cannot be run.
"$PROCSPEC" matrix --help >"$tmp/out" 2>&1
check "matrix --help exits 0 and documents ID=SET" test $? -eq 0 -a -n "$(grep -e '--impl ID=SET' "$tmp/out")"
"$PROCSPEC" matrix --impl nosuch >"$tmp/out" 2>&1
check "an unknown implementation is a usage error" test $? -eq 2 -a -n "$(grep 'unknown implementation' "$tmp/out")"
"$PROCSPEC" matrix --impl cpython-1.1 >"$tmp/out" 2>&1
check "a CPython that is not here is a usage error naming where it looked" \
	test $? -eq 2 -a -n "$(grep 'no local CPython 1.1 (neither /usr/bin/python1.1' "$tmp/out")"
"$PROCSPEC" matrix --impl ref=cpython-0.0 >"$tmp/out" 2>&1
check "ID=SET with a set that does not exist is a usage error" test $? -eq 2 -a -n "$(grep 'no golden set' "$tmp/out")"
"$PROCSPEC" matrix --impl ref --golden cpython-3.11 >"$tmp/out" 2>&1
check "--golden is refused: each implementation has its own set" test $? -eq 2
PYENV_ROOT=$tmp/none "$PROCSPEC" run --impl cpython-3.6 -k returns >"$tmp/out" 2>&1
check "run --impl cpython-X.Y without that interpreter fails clearly" \
	test $? -eq 2 -a -n "$(grep 'no local CPython 3.6' "$tmp/out")"

# 2. --golden auto takes the set from the driver's hello.
"$PROCSPEC" run --impl ref@3.8 --golden auto -k exitcode/sys-exit-none --report '' >"$tmp/out" 2>&1
check "run --golden auto: ref@3.8 is compared with cpython-3.8" \
	test $? -eq 0 -a -n "$(grep 'against golden set cpython-3.8:' "$tmp/out")"
"$PROCSPEC" run --impl ref@3.11-O --golden auto -k exitcode/sys-exit-none --report '' >"$tmp/out" 2>&1
check "run --golden auto: ref@3.11-O is compared with cpython-3.11-O" \
	grep -q 'against golden set cpython-3.11-O:' "$tmp/out"
if [ -x "$PYTHON" ]; then
	v=$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
	if [ -d "golden/cpython-$v-O" ]; then
		"$PROCSPEC" run --impl "python:$PYTHON -O" --golden auto -k exitcode/sys-exit-none --report '' >"$tmp/out" 2>&1
		check "run --golden auto: python -O is compared with cpython-$v-O (hello.follows)" \
			grep -q "against golden set cpython-$v-O:" "$tmp/out"
	fi
else
	skip "--golden auto on python -O" "no $PYTHON"
fi

# 3. The reduced matrix: ref, the local python3, and ref@3.8 against 3.11's set.
impls=(--impl ref)
[ -x "$PYTHON" ] && impls+=(--impl "python:$PYTHON") || skip "matrix column python:$PYTHON" "no such interpreter"
impls+=(--impl ref@3.8=cpython-3.11)
rm -rf "$out"
"$PROCSPEC" matrix "${impls[@]}" -k exitcode/sys-exit -k lifecycle/start-twice -k lifecycle/returns \
	-j 2 --report "$out" >"$tmp/out" 2>&1
rc=$?
check "a matrix with failing cells exits 1" test $rc -eq 1
check "the console has one summary line per implementation" \
	test "$(grep -c -E '^(ref|python:[^ ]*|ref@3\.8=cpython-3\.11) \(.*\) vs cpython-3\.11: [0-9]+/[0-9]+ pass' "$tmp/out")" -eq $((${#impls[@]} / 2))
check "the console groups divergences by signature" grep -q '^ *[0-9]* x p.exitcode: 0 → 1  \[ref@3.8=cpython-3.11\]' "$tmp/out"
check "matrix.json and matrix.html are written, and no temporary file is left" \
	test -s "$out/matrix.json" -a -s "$out/matrix.html" -a -z "$(ls "$out" | grep -v -E '^matrix\.(json|html)$')"
"$PROCSPEC" run --impl ref --golden cpython-3.11 -k exitcode/sys-exit -k lifecycle/start-twice -k lifecycle/returns \
	--report "$tmp/run" >/dev/null 2>&1
check "one row per scenario and method, as procspec run counts them" \
	json "$out/matrix.json" "len(d['rows']) == $(grep -c '"scenario":' "$tmp/run/results.json") and len(d['rows']) > 10"
check "one column per implementation, each with the set it was compared with" \
	json "$out/matrix.json" "[(i['id'], i['golden']) for i in d['implementations']][::len(d['implementations'])-1] == [('ref', 'cpython-3.11'), ('ref@3.8=cpython-3.11', 'cpython-3.11')]"
check "every row has a cell per implementation" \
	json "$out/matrix.json" "all(len(r['cells']) == len(d['implementations']) for r in d['rows'])"
check "the reference passes everywhere, with a 100% score" \
	json "$out/matrix.json" "all(r['cells'][0]['verdict'] == 'pass' for r in d['rows']) and d['implementations'][0]['score']['percent'] == 100"
check "sys.exit() under 3.8 semantics fails against 3.11, with its diff" \
	json "$out/matrix.json" "[c['verdict'] for r in d['rows'] if r['scenario'] == 'exitcode/sys-exit-none' for c in r['cells'][-1:]] == ['FAIL'] * 3 and all('-0' in r['cells'][-1]['diff'].splitlines() and '+1' in r['cells'][-1]['diff'].splitlines() for r in d['rows'] if r['scenario'] == 'exitcode/sys-exit-none')"
check "the score counts matches over cells that apply" \
	json "$out/matrix.json" "all(i['score']['pass'] == i['counts']['pass'] and i['score']['applicable'] == len(d['rows']) - i['counts']['skip'] - i['counts']['unsupported'] for i in d['implementations'])"
check "one signature line holds every cell of one root cause" \
	json "$out/matrix.json" "any(s['signature'] == 'p.exitcode: 0 → 1' and s['count'] == len(s['cells']) >= 6 and s['implementations'] == ['ref@3.8=cpython-3.11'] and all(d['rows'][r]['cells'][c]['signature'] == s['signature'] for r, c in s['cells']) for s in d['signatures'])"
check "signatures are sorted, most frequent first" \
	json "$out/matrix.json" "[s['count'] for s in d['signatures']] == sorted((s['count'] for s in d['signatures']), reverse=True)"
check "the page is self-contained: no external scripts, styles or links" \
	test -z "$(grep -o -i -E '<(script|link|img|iframe)[^>]* (src|href)=' "$out/matrix.html")"

# 3b. Side by side (--columns): each implementation in a process of its own,
# taken in column order, so the report and the console are those of the
# columns played one after the other; timings aside.
"$PROCSPEC" matrix "${impls[@]}" -k exitcode/sys-exit -k lifecycle/start-twice -k lifecycle/returns \
	-j 1 --columns 3 --report "$tmp/side" >"$tmp/side.out" 2>&1
rc=$?
check "--columns 3: the same exit status (1)" test $rc -eq 1
check "--columns 3: the same matrix.json, timings aside" python3 - "$out/matrix.json" "$tmp/side/matrix.json" <<'EOF'
import json, sys
def strip(path):
    d = json.load(open(path))
    d.pop('generated')
    for i in d['implementations']:
        i.pop('seconds', None)
    for r in d['rows']:
        for c in r['cells']:
            c.pop('seconds', None)
    return d
sys.exit(0 if strip(sys.argv[1]) == strip(sys.argv[2]) else 1)
EOF
check "--columns 3: the console's lines in the same order, timings aside" \
	test "$(sed -E 's/[0-9.]+s$//' "$tmp/out")" = "$(sed -E "s/[0-9.]+s$//; s|$tmp/side|$out|g" "$tmp/side.out")"
"$PROCSPEC" matrix --impl ref --impl cmd:/bin/false --impl ref@3.8 -k exitcode/sys-exit-none \
	--columns 3 --report "$tmp/side-broken" >"$tmp/out3" 2>&1
check "--columns 3: a driver that never starts is its column's errors, the others run" \
	json "$tmp/side-broken/matrix.json" "d['implementations'][1]['error'] and [r['cells'][0]['verdict'] + r['cells'][2]['verdict'] for r in d['rows']] == ['passpass'] * len(d['rows'])"

# 4. Every cell passing or expected: exit 0; ref@3.8 alone follows 3.8.
"$PROCSPEC" matrix --impl ref --impl ref@3.8 -k exitcode/sys-exit-none --report "$tmp/ok" >"$tmp/out" 2>&1
check "a matrix where every cell passes exits 0" test $? -eq 0
check "without =SET each implementation gets the set it follows" \
	json "$tmp/ok/matrix.json" "[i['golden'] for i in d['implementations']] == ['cpython-3.11', 'cpython-3.8'] and d['signatures'] == []"

# An implementation whose driver never starts is a column of errors, not the end of the matrix.
"$PROCSPEC" matrix --impl cmd:/bin/false --impl ref -k exitcode/sys-exit-none --report "$tmp/broken" >"$tmp/out" 2>&1
check "a driver that never starts fails the matrix, the others still run" \
	test $? -eq 1 -a -n "$(grep '^cmd:/bin/false: ERROR: driver ended' "$tmp/out")" -a -n "$(grep '^ref (.*3/3 pass' "$tmp/out")"
check "its column says why in every cell" \
	json "$tmp/broken/matrix.json" "d['implementations'][0]['error'] and all(r['cells'][0]['verdict'] == 'ERROR' and r['cells'][1]['verdict'] == 'pass' for r in d['rows'])"

# 5. Without --impl: every local implementation, SKIP for what is missing.
mkdir -p "$tmp/golden"
for s in golden/cpython-*; do ln -s "$PWD/$s" "$tmp/golden/"; done
mkdir -p "$tmp/golden/cpython-3.99/fork"
PYENV_ROOT=$tmp/none "$PROCSPEC" matrix -k lifecycle/returns --method fork --golden-dir "$tmp/golden" \
	--report "$tmp/default" >"$tmp/out" 2>&1
check "without --impl, a missing implementation is a visible SKIP line" \
	grep -q '^SKIP: cpython-3.99: --impl cpython-3.99: no local CPython 3.99' "$tmp/out"
check "without --impl, the columns are ref and what this machine has, none of the skipped" \
	python3 - "$tmp/default/matrix.json" "$tmp/out" <<'EOF'
import json, re, sys
d = json.load(open(sys.argv[1]))
ids = [i['id'] for i in d['implementations']]
skipped = re.findall(r'^SKIP: (\S+):', open(sys.argv[2]).read(), re.M)
sets = sorted(s[len('golden/'):] for s in __import__('glob').glob('golden/cpython-*'))
want = ['ref'] + [s for s in sets] + ['cpython-3.99', 'pypy3', 'billiard', 'multiprocess',
                                     'loky', 'loky-reusable', 'pebble']
sys.exit(0 if ids[0] == 'ref' and sorted(ids + skipped) == sorted(want) and not set(ids) & set(skipped) else 1)
EOF
# The executor peers: a column each, or a visible SKIP (python3-joblib,
# python3-pebble missing); a Process scenario is unsupported on them
# (loky-reusable has no fork at all: its fork cells are 'skip').
for peer in loky:unsupported loky-reusable:skip pebble:unsupported; do
	want=${peer#*:} peer=${peer%%:*}
	if grep -q "^SKIP: $peer:" "$tmp/out"; then
		skip "the $peer column" "$(grep -m1 "^SKIP: $peer:" "$tmp/out" | sed 's/^SKIP: //')"
	else
		check "without --impl, $peer is a column and lifecycle/returns [fork] is '$want' on it" \
			json "$tmp/default/matrix.json" \
			"[r['cells'][[i['id'] for i in d['implementations']].index('$peer')]['verdict'] for r in d['rows']] == ['$want']"
	fi
done

# 6. The page in a real browser.
python3 tests/matrix_browser.py "$out/matrix.html" >"$tmp/out" 2>&1
rc=$?
sed 's/^/    /' "$tmp/out"
if [ $rc -eq 77 ]; then
	skip "the page in headless Chromium" "$(grep -m1 '^SKIP:' "$tmp/out" | sed 's/^SKIP: //')"
else
	check "the page in headless Chromium shows the matrix and a FAIL cell's diff" test $rc -eq 0
	check "the screenshot is beside the page" test -s "$out/matrix.png"
fi

echo "matrix: $pass passed, $fail failed, $skip skipped"
[ $fail -eq 0 ]

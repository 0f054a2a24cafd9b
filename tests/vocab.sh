#!/bin/bash
# One protocol vocabulary: tools/pydriver.py knows exactly the globals, verbs,
# behaviours and features of harness/vocab.def, as `procspec vocabulary`
# lists them.  A name added to one side only is a driver that fails every
# scenario using it, or a feature the harness ignores.
# usage: tests/vocab.sh [build/procspec]
set -u
cd "$(dirname "$0")/.."
PROCSPEC=${1:-build/procspec}
PY=${PYTHON:-python3}
tmp=$(mktemp -d /tmp/procspec-vocab.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

. tests/testlib.sh

# same A B: the sorted "KIND NAME" lines of A and B are the same set, once each
same() {
	sort "$1" >"$tmp/a.sorted"
	sort "$2" >"$tmp/b.sorted"
	if ! diff -u --label vocab.def --label pydriver.py "$tmp/a.sorted" "$tmp/b.sorted" >"$tmp/out"; then
		return 1
	fi
	uniq -d "$tmp/a.sorted" >"$tmp/out"
	uniq -d "$tmp/b.sorted" >>"$tmp/out"
	[ ! -s "$tmp/out" ]
}

if run "procspec vocabulary" 0 "$PROCSPEC" vocabulary; then
	cp "$tmp/out" "$tmp/table"
	if grep -qvE '^(global|verb|child|task|feature) [A-Za-z_][A-Za-z_.]*$' "$tmp/table"; then
		bad "procspec vocabulary: one 'KIND NAME' a line" "$tmp/table"
	else
		ok "procspec vocabulary: one 'KIND NAME' a line"
	fi
fi
if run "procspec vocabulary --help" 0 "$PROCSPEC" vocabulary --help; then
	check "procspec vocabulary --help: usage, exit 0" has "usage: procspec vocabulary"
fi
if run "procspec vocabulary with an argument" 2 "$PROCSPEC" vocabulary extra; then
	check "procspec vocabulary with an argument: usage, exit 2" has "usage: procspec vocabulary"
fi

if ! command -v "$PY" >/dev/null; then
	skip "pydriver.py declares the table's names" "no $PY to run tools/pydriver.py"
else
	if run "pydriver.py --vocabulary" 0 "$PY" tools/pydriver.py --vocabulary; then
		cp "$tmp/out" "$tmp/py"
		if same "$tmp/table" "$tmp/py"; then
			ok "pydriver.py declares the table's names, each once"
		else
			bad "pydriver.py declares the table's names, each once"
		fi
	fi
	# The comparison itself: a driver with a verb more and a behaviour less differs.
	sed -e "s/^    'writes': writes,\$//" \
	    -e "s/^    'stdout': stdout,\$/&\n    'spare': stdout,/" tools/pydriver.py >"$tmp/pydriver.py"
	if "$PY" "$tmp/pydriver.py" --vocabulary >"$tmp/py2" 2>&1 && ! same "$tmp/table" "$tmp/py2" &&
	   grep -qx -- '+verb spare' "$tmp/out" && grep -qx -- '-child writes' "$tmp/out"; then
		ok "a name gained or lost on one side is found"
	else
		bad "a name gained or lost on one side is found"
	fi
fi

echo "vocab: $pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]

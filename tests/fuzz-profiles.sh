#!/bin/bash
# Each version profile of libprocref against its own CPython on generated
# scenarios: a short differential session per profile (ref@X against the
# local CPython X) with a fixed seed and a fixed number of runs, so the same
# scenarios every time.  Anything new (a divergence, a hang, a leak not in
# expectations/fuzz.txt) fails; a CPython that is not installed is a visible
# SKIP.  The ten-minute sessions behind these are in docs/FUZZING.md.
# usage: tests/fuzz-profiles.sh [build/procspec] [RUNS]
set -u
cd "$(dirname "$0")/.."
PROCSPEC=${1:-build/procspec}
RUNS=${2:-${FUZZ_PROFILE_RUNS:-4}}
SEED=${FUZZ_PROFILE_SEED:-20261202}
tmp=$(mktemp -d /tmp/procspec-fuzzprof.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
. tests/testlib.sh

# The interpreter of release X.Y: the pyenv build, and Debian's for 3.11.
interpreter() {
	local p

	if [ "$1" = 3.11 ] && [ -x /usr/bin/python3 ]; then
		echo /usr/bin/python3
		return
	fi
	for p in "${PYENV_ROOT:-$HOME/.pyenv}"/versions/"$1".*/bin/python; do
		[ -x "$p" ] && { echo "$p"; return; }
	done
}

for v in 2.7 3.6 3.7 3.8 3.9 3.10 3.11 3.12 3.13; do
	py=$(interpreter "$v")
	if [ -z "$py" ]; then
		skip "ref@$v against CPython $v: $RUNS scenarios, seed $SEED" "no CPython $v here"
		continue
	fi
	"$PROCSPEC" fuzz --impl "ref@$v" --against "python:$py" --seed "$SEED" --runs "$RUNS" -j 1 \
		--shrink-seconds 0 --report "$tmp/rep-$v" --found-dir "$tmp/found-$v" \
		--golden-dir "$tmp/golden-$v" >"$tmp/out" 2>&1
	rc=$?
	check "ref@$v against $py: $RUNS scenarios, seed $SEED, nothing new (exit $rc)" test $rc -eq 0
done

echo "fuzz-profiles: $pass passed, $fail failed, $skip skipped"
[ $fail -eq 0 ]

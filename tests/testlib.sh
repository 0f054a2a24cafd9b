# The helpers every shell test shares; source it after setting $tmp.
#   ok NAME / skip NAME WHY              count and print one TAP-like line
#   bad NAME [FILE]                      the same for a failure, showing FILE
#                                        (default $tmp/out) if it exists
#   run NAME WANT_CODE CMD...            run CMD, output in $tmp/out; 0 when it exits WANT_CODE
#   has TEXT                             $tmp/out holds TEXT
#   check NAME CMD...                    ok or bad as CMD succeeds
#   marked MARK                          pids of live processes whose environment holds MARK
#   cleanup                              kill what is marked with $mark, remove $tmp
#                                        (for tests that mark their runs: trap cleanup EXIT)
pass=0 fail=0 skip=0

ok() { pass=$((pass + 1)); echo "ok - $1"; }
bad() {
	local f=${2:-$tmp/out}

	fail=$((fail + 1)); echo "not ok - $1"
	[ -f "$f" ] && sed 's/^/    | /' "$f" | cut -c1-240 | head -40
}
skip() { skip=$((skip + 1)); echo "ok - $1 # SKIP $2"; }

run() {
	local name=$1 want=$2 code
	shift 2
	"$@" >"$tmp/out" 2>&1
	code=$?
	if [ "$code" -ne "$want" ]; then
		bad "$name (exit $code, want $want)"
		return 1
	fi
	return 0
}

has() { grep -qF -- "$1" "$tmp/out"; }
check() { if "${@:2}"; then ok "$1"; else bad "$1"; fi; }

marked() {
	grep -lsF -- "$1" /proc/[0-9]*/environ 2>/dev/null | sed 's|^/proc/\([0-9]*\)/environ$|\1|'
}

cleanup() {
	local p

	for p in $(marked "$mark"); do kill -KILL "$p" 2>/dev/null; done
	rm -rf "$tmp"
}

# The helpers every shell test shares; source it after setting $tmp.
#   ok NAME / bad NAME / skip NAME WHY   count and print one TAP-like line
#   run NAME WANT_CODE CMD...            run CMD, output in $tmp/out; 0 when it exits WANT_CODE
#   has TEXT                             $tmp/out holds TEXT
#   check NAME CMD...                    ok or bad as CMD succeeds
pass=0 fail=0 skip=0

ok() { pass=$((pass + 1)); echo "ok - $1"; }
bad() {
	fail=$((fail + 1)); echo "not ok - $1"
	[ -f "$tmp/out" ] && sed 's/^/    | /' "$tmp/out" | head -40
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

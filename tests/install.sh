#!/bin/bash
# make install, used as someone outside the tree would: stage an install
# (make install DESTDIR=... PREFIX=/usr, built in a build directory of its
# own), then, with nothing but what was staged: pkg-config finds procref;
# the shared library exports exactly ref/procref.sym; the C and C++
# programs of docs/LIBRARY.md (taken from the page, so it cannot rot) build
# static and shared and run fork, spawn and forkserver children, printing
# what the page says; a missing procref-child fails start() as documented;
# procspec runs the suite against golden from another directory on the
# staged data; the man pages render; make uninstall removes every file.
# usage: tests/install.sh [BUILD_DIR]   (default build/install-check)
set -u
cd "$(dirname "$0")/.." || exit 2
build=${1:-build/install-check}
tmp=$(mktemp -d /tmp/procspec-install.XXXXXX)
stage=$tmp/stage
mark=procspec-install-$$-$RANDOM

. tests/testlib.sh
trap cleanup EXIT

# expect NAME CONDITION...: ok when the shell condition (one string) holds
expect() { if eval "$2"; then ok "$1"; else bad "$1"; fi; }

# A plain build whatever make runs this (make asan hands its compiler and
# sanitizer flags down, in MAKEFLAGS and the environment): the install is
# checked as users get it.
mk() { env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u CC -u CFLAGS -u EXTRA_CFLAGS -u LDFLAGS \
	make --no-print-directory -j2 B="$build" PREFIX=/usr DESTDIR="$stage" "$@"; }

if ! run "make install DESTDIR=... PREFIX=/usr" 0 mk install; then
	echo "install: $pass passed, $fail failed, $skip skipped"
	exit 1
fi
ok "make install DESTDIR=... PREFIX=/usr"

u=$stage/usr
missing=
for f in bin/procspec include/procref.h include/procref_version.h lib/libprocref.a \
	lib/libprocref.so lib/libprocref.so.0 lib/pkgconfig/procref.pc \
	libexec/procref/procref-child libexec/procref/procref-driver \
	lib/procspec/libprocspec-fiu.so share/procspec/tools/pydriver.py \
	share/procspec/scenarios/lifecycle/start-twice.scn \
	share/procspec/golden/cpython-3.11/fork/lifecycle/start-twice.out \
	share/procspec/expectations/ref.txt share/man/man1/procspec.1 share/man/man3/procref.3; do
	[ -e "$u/$f" ] || missing="$missing $f"
done
check "every file is installed under PREFIX${missing:+ (missing:$missing)}" [ -z "$missing" ]

# --- pkg-config, soname, exported symbols --------------------------------
export PKG_CONFIG_SYSROOT_DIR=$stage PKG_CONFIG_LIBDIR=$u/lib/pkgconfig PKG_CONFIG_PATH=
part() { sed -n "s/^#define PR_VERSION_$1 //p" ref/procref_version.h; }
major=$(part MAJOR)
version=$major.$(part MINOR).$(part PATCH)
flags=$(pkg-config --cflags --libs procref 2>"$tmp/out" | sed 's/ *$//')
check "pkg-config --cflags --libs procref: $flags" [ "$flags" = "-I$u/include -L$u/lib -lprocref" ]
check "pkg-config --modversion procref is $version" \
	[ "$(pkg-config --modversion procref)" = "$version" ]
cflags=$(pkg-config --cflags procref)
libs=$(pkg-config --libs procref)

readelf -d "$u/lib/libprocref.so" >"$tmp/out" 2>&1
check "the shared library's soname is libprocref.so.$major" has "[libprocref.so.$major]"
expect "libprocref.so -> libprocref.so.$major -> libprocref.so.$version" \
	'[ "$(readlink "$u/lib/libprocref.so")" = "libprocref.so.$major" ] &&
	 [ "$(readlink "$u/lib/libprocref.so.$major")" = "libprocref.so.$version" ]'
nm -D --defined-only "$u/lib/libprocref.so" | awk '{ print $3 }' | sort >"$tmp/exported"
grep -v '^#' ref/procref.sym | sort >"$tmp/listed"
if diff -u "$tmp/listed" "$tmp/exported" >"$tmp/out"; then
	ok "nm -D lists exactly ref/procref.sym ($(wc -l <"$tmp/listed") symbols)"
else
	bad "nm -D differs from ref/procref.sym (an ABI change: update the list and the version)"
fi

# --- the programs of docs/LIBRARY.md -------------------------------------
block() {
	awk -v fence="\`\`\`$1" '$0 == fence { on = 1; next } /^```/ { on = 0 } on' docs/LIBRARY.md
}
mkdir -p "$tmp/src" "$tmp/elsewhere"
block c >"$tmp/src/example.c"
block cpp >"$tmp/src/example.cpp"
block output | sed "s/^libprocref .*/libprocref $version/" >"$tmp/expected"
expect "docs/LIBRARY.md has a C program, a C++ program and their output" \
	'[ -s "$tmp/src/example.c" ] && [ -s "$tmp/src/example.cpp" ] && [ -s "$tmp/expected" ]'

# build NAME static|shared COMPILER ARGS...: an example program in $tmp/NAME
build() {
	local name=$1 how=$2 lib=$libs

	shift 2
	[ "$how" = static ] && lib="-Wl,-Bstatic $libs -Wl,-Bdynamic"
	# shellcheck disable=SC2086
	"$@" -Wall -Wextra -Werror $cflags -o "$tmp/$name" $lib >"$tmp/out" 2>&1
}

child=$u/libexec/procref/procref-child
for how in shared static; do
	for lang in c c-as-c++ c++; do
		name=$lang-$how
		case $lang in
		c) build "$name" $how cc -std=c11 "$tmp/src/example.c" ;;
		c-as-c++) build "$name" $how c++ -x c++ "$tmp/src/example.c" -x none ;;
		c++) build "$name" $how c++ -std=c++11 "$tmp/src/example.cpp" ;;
		esac || { bad "$name: the example builds against the staged libprocref"; continue; }
		readelf -d "$tmp/$name" >"$tmp/out" 2>&1
		if [ "$how" = shared ]; then
			expect "$name: builds, needing libprocref.so.$major" 'has "[libprocref.so.$major]"'
		else
			expect "$name: builds with libprocref linked in" '! has libprocref'
		fi
		(cd "$tmp/elsewhere" && env PROCSPEC_INSTALL_MARK="$mark" PROCREF_CHILD="$child" \
			LD_LIBRARY_PATH="$u/lib" timeout 60 "$tmp/$name") >"$tmp/$name.out" 2>&1
		code=$?
		if [ "$code" -eq 0 ] && diff -u "$tmp/expected" "$tmp/$name.out" >"$tmp/out"; then
			ok "$name: fork, spawn and forkserver children start, join and exit as documented"
		else
			echo "exit $code" >>"$tmp/out"
			bad "$name: its output is the documented one"
		fi
	done
done

# No procref-child where the library looks: start() fails, naming the path.
if [ -e /usr/libexec/procref/procref-child ]; then
	skip "a missing procref-child fails start()" "/usr/libexec/procref/procref-child is installed here"
else
	(cd "$tmp/elsewhere" && env -u PROCREF_CHILD PROCSPEC_INSTALL_MARK="$mark" timeout 60 \
		"$tmp/c-static") >"$tmp/out" 2>&1
	code=$?
	want="start: FileNotFoundError: [Errno 2] No such file or directory:"
	want="$want '/usr/libexec/procref/procref-child'"
	expect "a missing procref-child: start() raises FileNotFoundError naming it (exit $code)" \
		'[ "$code" -eq 1 ] && has "hello from a fork child" && has "$want"'
fi

# --- procspec from another directory, on the staged data -----------------
(cd "$tmp/elsewhere" && env -u PROCSPEC_DATADIR -u PROCREF_CHILD PROCSPEC_INSTALL_MARK="$mark" \
	"$u/bin/procspec" run --impl ref --golden cpython-3.11 -j 2 --report out) >"$tmp/out" 2>&1
code=$?
expect "procspec run --impl ref --golden cpython-3.11 passes from another directory (exit $code)" \
	'[ "$code" -eq 0 ] && grep -q "^ref: [1-9][0-9]* passed, 0 failed" "$tmp/out" &&
	 [ -s "$tmp/elsewhere/out/results.json" ]'
if [ -x /usr/bin/python3 ]; then
	(cd "$tmp/elsewhere" && env PROCSPEC_INSTALL_MARK="$mark" "$u/bin/procspec" run \
		--impl python:/usr/bin/python3 --golden cpython-3.11 -k lifecycle/start-twice --report '') \
		>"$tmp/out" 2>&1
	code=$?
	expect "procspec runs the staged pydriver.py from another directory (exit $code)" \
		'[ "$code" -eq 0 ] && grep -q "^python3: [1-9][0-9]* passed, 0 failed" "$tmp/out"'
else
	skip "procspec runs the staged pydriver.py" "no /usr/bin/python3"
fi
# PROCSPEC_DATADIR: another data directory, here one holding one scenario
mkdir -p "$tmp/alt/scenarios/mine"
cp scenarios/lifecycle/start-twice.scn "$tmp/alt/scenarios/mine/"
(cd "$tmp/elsewhere" && PROCSPEC_DATADIR=$tmp/alt "$u/bin/procspec" list) >"$tmp/out" 2>&1
expect "PROCSPEC_DATADIR overrides the installed data directory" \
	'[ "$(wc -l <"$tmp/out")" -eq 1 ] && grep -q "^mine/start-twice " "$tmp/out"'

# --- man pages -----------------------------------------------------------
if command -v groff >/dev/null 2>&1; then
	for page in man1/procspec.1 man3/procref.3; do
		groff -man -Tutf8 -ww -z "$u/share/man/$page" >"$tmp/out" 2>&1
		check "man $page renders without warnings" [ ! -s "$tmp/out" ]
	done
else
	skip "man pages render" "no groff"
fi

# --- uninstall -----------------------------------------------------------
run "make uninstall" 0 mk uninstall && ok "make uninstall"
find "$stage" ! -type d >"$tmp/out"
check "make uninstall leaves no file behind" [ ! -s "$tmp/out" ]

left=$(marked "$mark")
check "no process of any run is left" [ -z "$left" ]

echo "install: $pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]

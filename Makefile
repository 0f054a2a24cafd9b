# procspec: one flat GNU Makefile. Local overrides go in config.mak.
#
#   make run       install what is missing, build, run the suite against the
#                  reference implementation and the local python3, write reports
#   make check     unit and harness tests, the suite against golden (ref) and live
#                  (python3); then the ref driver under memcheck, and the C paths
#                  (test-core) under ASan+UBSan
#   make check-full  the full matrix (exits non-zero on any unexplained divergence),
#                  then every test under ASan+UBSan
#   make matrix    every implementation on this machine side by side:
#                  reports/matrix.json and reports/matrix.html
#   make golden    capture golden/cpython-X.Y/fork from $(GOLDEN_PYTHON), show what
#                  changed; REPLACE=1 to accept it
#   make replay    every golden set replayed live on its local interpreter
#   make valgrind  the ref driver over the whole suite under memcheck
#   make asan      everything rebuilt with ASan+UBSan, then test-core under it
#                  (ASAN_TESTS=test for every test)
#   make bench     start-up costs side by side, written to reports/bench.json
#   make fuzz-parser  libFuzzer on the scenario parser for FUZZ_SECONDS (60)
#   make install   libprocref (static and shared), procref.h, procref.pc,
#                  procref-child, procspec with its drivers and data, the man
#                  pages, under PREFIX (/usr/local); DESTDIR stages it.
#                  make uninstall removes the same.
#   make format    clang-format every C source and header in place (.clang-format);
#                  make format-check (run first by make check) fails on any difference

CC       ?= cc
CFLAGS   ?= -O2 -g
WARN      = -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE $(WARN) $(CFLAGS) $(EXTRA_CFLAGS) -MMD -MP
LDLIBS_JSON = -ljansson
LDLIBS_CHECK = $(shell pkg-config --libs check 2>/dev/null || echo -lcheck -lsubunit -lm -lrt -pthread)
PYTHON   ?= /usr/bin/python3
GOLDEN_PYTHON ?= /usr/bin/python3
GOLDEN_SET ?= cpython-3.11
# make bench-compare A=X B=Y names two builds to compare (tests/bench/bench.mk),
# so there B is not the build directory.
ifneq ($(filter bench-compare,$(MAKECMDGOALS)),)
BENCH_CMP_A := $(A)
BENCH_CMP_B := $(B)
override B := build
endif
B        ?= build
CHECK_FUZZ_SECONDS ?= 60
# scenarios per version profile in make check's differential sessions
# (tests/fuzz-profiles.sh: ref@X against CPython X, a fixed seed)
FUZZ_PROFILE_RUNS ?= 4


# Where make install puts things (GNU's directory variables, upper case as
# libuv's and Check's builds take them).  The library and procspec look for
# procref-child, their helpers and data there, so the paths are compiled in
# (build/gen/install_paths.h): give the same values to the build and to the
# install.  DESTDIR only stages (make install DESTDIR=/tmp/stage PREFIX=/usr).
PREFIX     ?= /usr/local
BINDIR     ?= $(PREFIX)/bin
LIBDIR     ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
LIBEXECDIR ?= $(PREFIX)/libexec
DATADIR    ?= $(PREFIX)/share
MANDIR     ?= $(DATADIR)/man
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
INSTALL    ?= install

-include config.mak

HARNESS_SRC = $(sort $(wildcard harness/*.c))
HARNESS_LIB = $(filter-out harness/main.c,$(HARNESS_SRC))
REF_SRC     = $(sort $(wildcard ref/*.c))
DRIVER_SRC  = $(sort $(wildcard ref/driver/*.c))
CHILD_SRC   = $(sort $(wildcard ref/child/*.c))
TEST_SRC    = $(sort $(wildcard tests/check_*.c))

obj = $(patsubst %.c,$(B)/obj/%.o,$(1))
pic = $(patsubst %.c,$(B)/pic/%.o,$(1))

PROCSPEC = $(B)/procspec
REFDRV   = $(B)/procref-driver
REFCHILD = $(B)/procref-child
LIBREF   = $(B)/libprocref.a
CHECKBIN = $(B)/check_procspec
FIULIB   = $(B)/libprocspec-fiu.so
GEN      = $(B)/gen

# The version is procref_version.h's: the shared library is
# libprocref.so.MAJOR.MINOR.PATCH, its soname libprocref.so.MAJOR.
pr_version_part = $(shell sed -n 's/^\#define PR_VERSION_$(1) //p' ref/procref_version.h)
PR_MAJOR := $(call pr_version_part,MAJOR)
VERSION  := $(PR_MAJOR).$(call pr_version_part,MINOR).$(call pr_version_part,PATCH)
SONAME    = libprocref.so.$(PR_MAJOR)
LIBREF_SO = $(B)/libprocref.so.$(VERSION)

all: $(PROCSPEC) $(REFDRV) $(REFCHILD) $(LIBREF) $(FIULIB)

$(B)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -I$(GEN) -Iref -Iharness -c -o $@ $<

# libprocref exports only what procref.h marks PR_EXTERN (its pr__ names
# stay inside, also when the static library is linked into a shared one).
$(call obj,$(REF_SRC)): ALL_CFLAGS += -fvisibility=hidden

# The matrix page (harness/matrix.html) as a C array, embedded in matrix.c.
$(B)/gen/matrix_html.h: harness/matrix.html
	@mkdir -p $(@D)
	{ echo '/* generated from harness/matrix.html by the Makefile */'; \
	  echo 'static const unsigned char matrix_html[] = {'; \
	  od -An -v -tx1 $< | sed 's/ *\([0-9a-f][0-9a-f]\)/0x\1,/g'; \
	  echo '};'; } >$@.tmp && mv $@.tmp $@
$(B)/obj/harness/matrix.o: $(B)/gen/matrix_html.h

$(LIBREF): $(call obj,$(REF_SRC))
	@rm -f $@
	$(AR) rcs $@ $^

# The shared library, from position-independent objects of its own.
$(B)/pic/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -fPIC -fvisibility=hidden -I$(GEN) -Iref -Iharness -c -o $@ $<

# -z defs: every symbol it needs resolved at link time, except in a
# sanitizer build, whose runtime only the program links.
$(LIBREF_SO): $(call pic,$(REF_SRC))
	$(CC) $(ALL_CFLAGS) -shared -Wl,-soname,$(SONAME) \
	  $(if $(findstring -fsanitize,$(LDFLAGS)),,-Wl,-z,defs) -o $@ $^ $(LDFLAGS)

$(B)/$(SONAME): $(LIBREF_SO)
	ln -sf $(notdir $<) $@

$(B)/libprocref.so: $(B)/$(SONAME)
	ln -sf $(notdir $<) $@

shared: $(B)/libprocref.so

# The install paths, compiled into ref/executable.c and harness/paths.c.
# Rewritten only when they change (git's GIT-CFLAGS), so that a plain make
# rebuilds nothing.  The _REL paths are the same places relative to BINDIR:
# procspec finds its helpers and data through them when the whole install
# is moved or staged under DESTDIR.
$(GEN)/install_paths.h: FORCE
	@mkdir -p $(@D)
	@rel() { realpath -m --relative-to="$(BINDIR)" "$$1"; }; { \
	  echo '/* generated by the Makefile from its directory variables */'; \
	  echo '#define PR_INSTALLED_CHILD "$(LIBEXECDIR)/procref/procref-child"'; \
	  echo '#define PS_INSTALLED_DATADIR "$(DATADIR)/procspec"'; \
	  echo "#define PS_INSTALLED_DATADIR_REL \"$$(rel "$(DATADIR)/procspec")\""; \
	  echo '#define PS_INSTALLED_DRIVER "$(LIBEXECDIR)/procref/procref-driver"'; \
	  echo "#define PS_INSTALLED_DRIVER_REL \"$$(rel "$(LIBEXECDIR)/procref/procref-driver")\""; \
	  echo '#define PS_INSTALLED_FIULIB "$(LIBDIR)/procspec/libprocspec-fiu.so"'; \
	  echo "#define PS_INSTALLED_FIULIB_REL \"$$(rel "$(LIBDIR)/procspec/libprocspec-fiu.so")\""; \
	} >$@.tmp
	@if cmp -s $@.tmp $@; then rm -f $@.tmp; else mv $@.tmp $@; fi

$(B)/obj/ref/executable.o $(B)/pic/ref/executable.o $(B)/obj/harness/paths.o: $(GEN)/install_paths.h

$(PROCSPEC): $(call obj,$(HARNESS_SRC))
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(LDFLAGS) $(LDLIBS_JSON)

# -z now: every child of the driver would otherwise redo the lazy binding of
# each libc call the parent never made (a fifth of a child's cost, make bench).
# jansson is linked in statically: five mappings fewer to copy at every fork
# and tear down at every exit, and no lazy binding of its calls either.
$(REFDRV): $(call obj,$(DRIVER_SRC)) $(LIBREF)
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(LDFLAGS) -Wl,-z,now -Wl,-Bstatic $(LDLIBS_JSON) -Wl,-Bdynamic -ldl

# what spawn and forkserver exec, found next to the program running
# libprocref (or at $PROCREF_CHILD)
$(REFCHILD): $(call obj,$(CHILD_SRC)) $(LIBREF)
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(LDFLAGS) -Wl,-z,now

# The fault library is preloaded into every driver, CPython included, so it is
# built without the sanitizers of an ASan build: their runtime must come
# first in a process, and an uninstrumented interpreter has none.
$(FIULIB): tools/fiu/preload.c tools/fiu/sites.def tools/fiu/psfiu.h
	@mkdir -p $(@D)
	$(CC) -std=c11 -D_GNU_SOURCE $(WARN) -O2 -g -fPIC -shared -fvisibility=hidden \
	  -Itools/fiu -o $@ tools/fiu/preload.c -lfiu -ldl

$(CHECKBIN): $(call obj,$(TEST_SRC) $(HARNESS_LIB)) $(LIBREF) | $(REFCHILD) $(FIULIB)
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(LDFLAGS) $(LDLIBS_JSON) $(LDLIBS_CHECK) -ldl

-include $(shell find $(B)/obj $(B)/pic -name '*.d' 2>/dev/null)

# ---- installing ----------------------------------------------------------

$(B)/procref.pc: ref/procref.pc.in ref/procref_version.h $(GEN)/install_paths.h
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' \
	  -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' -e 's|@LIBEXECDIR@|$(LIBEXECDIR)|' \
	  -e 's|@VERSION@|$(VERSION)|' ref/procref.pc.in >$@.tmp && mv $@.tmp $@

# Each man page from one markdown source, by a script of ours (no pandoc).
MANPAGES = $(B)/man/procspec.1 $(B)/man/procref.3

$(B)/man/%: docs/%.md tools/md2man ref/procref_version.h
	@mkdir -p $(@D)
	tools/md2man --version $(VERSION) $< >$@.tmp && mv $@.tmp $@

man: $(MANPAGES)

# procspec's data: what `procspec run` reads, found at DATADIR/procspec.
DATA_DIRS = scenarios golden expectations

install: all shared $(B)/procref.pc $(MANPAGES)
	$(INSTALL) -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCLUDEDIR) \
	  $(DESTDIR)$(PKGCONFIGDIR) $(DESTDIR)$(LIBEXECDIR)/procref $(DESTDIR)$(LIBDIR)/procspec \
	  $(DESTDIR)$(DATADIR)/procspec/tools $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man3
	$(INSTALL) -m 644 ref/procref.h ref/procref_version.h $(DESTDIR)$(INCLUDEDIR)
	$(INSTALL) -m 644 $(LIBREF) $(DESTDIR)$(LIBDIR)/libprocref.a
	$(INSTALL) -m 755 $(LIBREF_SO) $(DESTDIR)$(LIBDIR)
	ln -sf $(notdir $(LIBREF_SO)) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(LIBDIR)/libprocref.so
	$(INSTALL) -m 644 $(B)/procref.pc $(DESTDIR)$(PKGCONFIGDIR)
	$(INSTALL) -m 755 $(REFCHILD) $(REFDRV) $(DESTDIR)$(LIBEXECDIR)/procref
	$(INSTALL) -m 755 $(PROCSPEC) $(DESTDIR)$(BINDIR)
	$(INSTALL) -m 644 $(FIULIB) $(DESTDIR)$(LIBDIR)/procspec
	cd $(DESTDIR)$(DATADIR)/procspec && rm -rf $(DATA_DIRS)
	cp -R $(DATA_DIRS) $(DESTDIR)$(DATADIR)/procspec
	chmod -R u+w,go-w,a+rX $(addprefix $(DESTDIR)$(DATADIR)/procspec/,$(DATA_DIRS))
	$(INSTALL) -m 644 tools/pydriver.py $(DESTDIR)$(DATADIR)/procspec/tools
	$(INSTALL) -m 644 $(B)/man/procspec.1 $(DESTDIR)$(MANDIR)/man1
	$(INSTALL) -m 644 $(B)/man/procref.3 $(DESTDIR)$(MANDIR)/man3

uninstall:
	rm -f $(DESTDIR)$(INCLUDEDIR)/procref.h $(DESTDIR)$(INCLUDEDIR)/procref_version.h \
	  $(DESTDIR)$(LIBDIR)/libprocref.a $(DESTDIR)$(LIBDIR)/libprocref.so \
	  $(DESTDIR)$(LIBDIR)/$(SONAME) $(DESTDIR)$(LIBDIR)/$(notdir $(LIBREF_SO)) \
	  $(DESTDIR)$(PKGCONFIGDIR)/procref.pc $(DESTDIR)$(BINDIR)/procspec \
	  $(DESTDIR)$(LIBEXECDIR)/procref/procref-child $(DESTDIR)$(LIBEXECDIR)/procref/procref-driver \
	  $(DESTDIR)$(LIBDIR)/procspec/libprocspec-fiu.so \
	  $(DESTDIR)$(MANDIR)/man1/procspec.1 $(DESTDIR)$(MANDIR)/man3/procref.3
	rm -rf $(DESTDIR)$(DATADIR)/procspec
	rmdir $(DESTDIR)$(LIBEXECDIR)/procref $(DESTDIR)$(LIBDIR)/procspec 2>/dev/null || true

include tests/bench/bench.mk
include tests/fuzz.mk

# --- the two commands ---------------------------------------------------
# Both install what is missing first, then build in a sub-make, so that the
# build sees the freshly installed libraries.

deps:
	@tools/install-deps

run: deps
	@$(MAKE) --no-print-directory all
	@rc=0; \
	$(PROCSPEC) run --impl ref --golden $(GOLDEN_SET) --report reports/ref || rc=1; \
	if [ -x "$(PYTHON)" ]; then \
	  $(PROCSPEC) run --impl python:$(PYTHON) --golden $(GOLDEN_SET) --report reports/python3 || rc=1; \
	else echo "SKIP: live run on $(PYTHON): no such interpreter"; fi; \
	exit $$rc

# make check: the formatting, the tests, then the same under memcheck and
# under ASan+UBSan, then a minute of the parser under libFuzzer.  test-core
# runs once, in the ASan+UBSan build (make asan): run on the plain build
# first as well, it took make check past its 20 minutes on a 2-core machine,
# and the plain build's C paths are run by everything else here (the
# profiles, the sessions, the corpus under memcheck).  make test runs it.
check: deps
	@$(MAKE) --no-print-directory format-check
	@$(MAKE) --no-print-directory all $(CHECKBIN)
	@$(MAKE) --no-print-directory test-profiles test-more
	@$(MAKE) --no-print-directory valgrind
	@$(MAKE) --no-print-directory asan
	@$(MAKE) --no-print-directory fuzz-parser FUZZ_SECONDS=$(CHECK_FUZZ_SECONDS)

test: test-core test-profiles test-more

# The C paths of the harness and of libprocref: what make asan runs again
# under ASan+UBSan.
test-core: all $(CHECKBIN)
	$(CHECKBIN)
	tests/harness.sh $(PROCSPEC)
	tests/hostile.sh $(PROCSPEC)
	tests/faults.sh $(PROCSPEC)
	tests/driver-check.sh $(PROCSPEC)
	tests/pipelined.sh $(PROCSPEC)
	tests/reliability.sh $(PROCSPEC)
	$(PROCSPEC) run --impl ref --golden $(GOLDEN_SET) --report $(B)/reports/ref

# libprocref as every captured CPython, under every method the set has (under
# ASan+UBSan in make check-full only: the same C paths as ref above, eleven
# times over, which would take make check past its time budget)
test-profiles: all
	@for v in $(patsubst golden/cpython-%/fork,%,$(wildcard golden/cpython-*/fork)); do \
	  $(PROCSPEC) run --impl ref@$$v --golden cpython-$$v --report '' >$(B)/profile-$$v.log 2>&1 && \
	  tail -n1 $(B)/profile-$$v.log || { cat $(B)/profile-$$v.log; exit 1; }; done

# The rest: reports, sessions, the page, the install, the live interpreter.
test-more: all $(CHECKBIN)
	tests/reports.sh $(PROCSPEC)
	tests/repeat.sh $(PROCSPEC)
	tests/fuzz-session.sh $(PROCSPEC)
	tests/fuzz-profiles.sh $(PROCSPEC) $(FUZZ_PROFILE_RUNS)
	tests/shard.sh $(PROCSPEC)
	tests/matrix.sh $(PROCSPEC)
	tests/vocab.sh $(PROCSPEC)
	tests/install.sh $(B)/install-check
	tests/help.sh $(PROCSPEC)
	@# golden/DRIFT.md is generated: it must be what procspec drift writes now
	@$(PROCSPEC) drift --out $(B)/DRIFT.md >/dev/null && cmp -s golden/DRIFT.md $(B)/DRIFT.md || \
	  { echo "golden/DRIFT.md is stale: build/procspec drift --out golden/DRIFT.md"; exit 1; }
	tests/soak.sh $(PROCSPEC) 5
	@if [ -x "$(PYTHON)" ]; then \
	  echo "$(PROCSPEC) run --impl python:$(PYTHON) --golden $(GOLDEN_SET)"; \
	  $(PROCSPEC) run --impl python:$(PYTHON) --golden $(GOLDEN_SET) --report $(B)/reports/python3; \
	else echo "SKIP: live run on $(PYTHON): no such interpreter"; fi

# The full matrix as a test: every implementation on this machine over every
# scenario, each divergence explained in expectations/ (README.md, The
# conformance matrix).  Slow: on a 2-core machine shared with other builds
# (load 14) 8 of its 14 columns took 31 minutes, so about an hour in all.
# Then every test under ASan+UBSan, where make check runs test-core only.
check-full: all
	$(PROCSPEC) matrix --report $(B)/reports/matrix-full
	@$(MAKE) --no-print-directory asan ASAN_TESTS=test

# Every implementation this machine has (procspec matrix without --impl).
matrix: deps
	@$(MAKE) --no-print-directory all
	$(PROCSPEC) matrix --report reports

golden: deps
	@$(MAKE) --no-print-directory all
	REPLACE=$(REPLACE) tools/capture-golden $(GOLDEN_PYTHON)

# Every golden set replayed live on the local interpreter it came from.
replay: deps
	@$(MAKE) --no-print-directory all
	tools/replay-golden

valgrind: deps
	@$(MAKE) --no-print-directory all
	tools/valgrind-suite $(PROCSPEC) $(REFDRV)

# ASan+UBSan over the C paths (test-core); make check-full runs every test.
ASAN_TESTS ?= test-core
asan: deps
	$(MAKE) --no-print-directory B=build/asan CC=clang \
	  EXTRA_CFLAGS="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer" \
	  LDFLAGS="-fsanitize=address,undefined" $(ASAN_TESTS)

# Every C source and header of the tree, found without git so that a tarball
# can be checked too (STYLE.md 17).
FORMAT_SRC = $(sort $(wildcard harness/*.[ch] ref/*.[ch] ref/*/*.[ch] tests/*.[ch] \
	       tests/*/*.[ch] tools/*/*.[ch]))

format:
	clang-format -i $(FORMAT_SRC)

format-check:
	clang-format --dry-run --Werror $(FORMAT_SRC)

.PHONY: format format-check

clean:
	rm -rf build

FORCE:

.PHONY: all deps run check check-full test test-core test-profiles test-more matrix golden replay valgrind asan clean shared man install \
	uninstall FORCE

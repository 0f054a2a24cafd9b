# procspec: one flat GNU Makefile. Local overrides go in config.mak.
#
#   make run       install what is missing, build, run the suite against the
#                  reference implementation and the local python3, write reports
#   make check     unit and harness tests, the suite against golden (ref) and live
#                  (python3); then the ref driver under memcheck, and all of it under ASan
#   make matrix    every implementation on this machine side by side:
#                  reports/matrix.json and reports/matrix.html
#   make golden    capture golden/cpython-X.Y/fork from $(GOLDEN_PYTHON), show what
#                  changed; REPLACE=1 to accept it
#   make replay    every golden set replayed live on its local interpreter
#   make valgrind  the ref driver over the whole suite under memcheck
#   make asan      everything rebuilt with ASan+UBSan, unit tests and suite
#   make bench     start-up costs side by side, written to reports/bench.json
#   make fuzz-parser  libFuzzer on the scenario parser for FUZZ_SECONDS (60)
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

-include config.mak

HARNESS_SRC = $(sort $(wildcard harness/*.c))
HARNESS_LIB = $(filter-out harness/main.c,$(HARNESS_SRC))
REF_SRC     = $(sort $(wildcard ref/*.c))
DRIVER_SRC  = $(sort $(wildcard ref/driver/*.c))
CHILD_SRC   = $(sort $(wildcard ref/child/*.c))
TEST_SRC    = $(sort $(wildcard tests/check_*.c))

obj = $(patsubst %.c,$(B)/obj/%.o,$(1))

PROCSPEC = $(B)/procspec
REFDRV   = $(B)/procref-driver
REFCHILD = $(B)/procref-child
LIBREF   = $(B)/libprocref.a
CHECKBIN = $(B)/check_procspec
FIULIB   = $(B)/libprocspec-fiu.so

all: $(PROCSPEC) $(REFDRV) $(REFCHILD) $(LIBREF) $(FIULIB)

$(B)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -Iref -Iharness -c -o $@ $<

$(LIBREF): $(call obj,$(REF_SRC))
	@rm -f $@
	$(AR) rcs $@ $^

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

-include $(shell find $(B)/obj -name '*.d' 2>/dev/null)

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
# under ASan+UBSan, then a minute of the parser under libFuzzer.
check: deps
	@$(MAKE) --no-print-directory format-check
	@$(MAKE) --no-print-directory test
	@$(MAKE) --no-print-directory valgrind
	@$(MAKE) --no-print-directory asan
	@$(MAKE) --no-print-directory fuzz-parser FUZZ_SECONDS=$(CHECK_FUZZ_SECONDS)

test: all $(CHECKBIN)
	$(CHECKBIN)
	tests/harness.sh $(PROCSPEC)
	tests/reports.sh $(PROCSPEC)
	tests/fuzz-session.sh $(PROCSPEC)
	tests/shard.sh $(PROCSPEC)
	tests/matrix.sh $(PROCSPEC)
	tests/hostile.sh $(PROCSPEC)
	tests/faults.sh $(PROCSPEC)
	tests/driver-check.sh $(PROCSPEC)
	tests/pipelined.sh $(PROCSPEC)
	tests/vocab.sh $(PROCSPEC)
	$(PROCSPEC) run --impl ref --golden $(GOLDEN_SET) --report $(B)/reports/ref
	@# libprocref as every captured CPython, under every method the set has
	@for v in $(patsubst golden/cpython-%/fork,%,$(wildcard golden/cpython-*/fork)); do \
	  $(PROCSPEC) run --impl ref@$$v --golden cpython-$$v --report '' >$(B)/profile-$$v.log 2>&1 && \
	  tail -n1 $(B)/profile-$$v.log || { cat $(B)/profile-$$v.log; exit 1; }; done
	@if [ -x "$(PYTHON)" ]; then \
	  echo "$(PROCSPEC) run --impl python:$(PYTHON) --golden $(GOLDEN_SET)"; \
	  $(PROCSPEC) run --impl python:$(PYTHON) --golden $(GOLDEN_SET) --report $(B)/reports/python3; \
	else echo "SKIP: live run on $(PYTHON): no such interpreter"; fi

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

asan: deps
	$(MAKE) --no-print-directory B=build/asan CC=clang \
	  EXTRA_CFLAGS="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer" \
	  LDFLAGS="-fsanitize=address,undefined" test

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

.PHONY: all deps run check test matrix golden replay valgrind asan clean

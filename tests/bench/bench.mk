# make bench: start-up costs side by side (tests/bench/run says what and how),
# a table on stdout and reports/bench.json.  Figures only: it never fails on
# a slow machine, only when something cannot run.  Included by the Makefile.
#
#   BENCH_REPEAT   rounds of every measurement (default 3)
#   BENCH_PYTHON   the interpreter whose driver is measured (default /usr/bin/python3)
#   BENCH_FUZZ_RUNS  scenarios of the ref-against-ref fuzz session, -j 2 (default 4000)
#   BENCH_MATRIX   1: also the full matrix, once per round (minutes)
#
# make bench-compare A=REV-OR-BUILD-DIR [B=REV-OR-BUILD-DIR]: the two builds
# measured in interleaved rounds, B/A per figure with a 95% interval (B: this
# tree's build by default; A and B are not the build directory here, see the
# Makefile).  reports/bench-compare.json.
#   BENCH_COMPARE_REPEAT  rounds (default 6)
#   BENCH_COMPARE_FUZZ_RUNS  scenarios of each fuzz session (default 1000)
#   BENCH_FIGURES  which figures (default floor,libprocref,ref_suite,ref_corpus,ref_corpus_untimed,py_warm,fuzz_ref)

BENCH_REPEAT ?= 3
BENCH_PYTHON ?= /usr/bin/python3
BENCH_FUZZ_RUNS ?= 4000
BENCH_MATRIX ?=
BENCH_COMPARE_REPEAT ?= 6
BENCH_COMPARE_FUZZ_RUNS ?= 1000
BENCH_FIGURES ?= floor,libprocref,ref_suite,ref_corpus,ref_corpus_untimed,py_warm,fuzz_ref
BENCH_B = $(B)/bench
BENCH_BINS = $(BENCH_B)/floor $(BENCH_B)/prstart $(BENCH_B)/prstart-lazy $(BENCH_B)/pyfresh

# Objects come from the Makefile's pattern rule, under $(B)/obj/tests/bench/.
$(BENCH_B)/floor: $(call obj,tests/bench/floor.c tests/bench/bench.c)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(LDFLAGS)

# Linked as $(REFDRV) is (-z now), so that its children bind symbols as the driver's do.
$(BENCH_B)/prstart: $(call obj,tests/bench/prstart.c tests/bench/bench.c) $(LIBREF)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(LDFLAGS) -Wl,-z,now

# The same linked lazily, the default, for comparison: every child redoes
# the lazy binding of each libc call the parent never made.
$(BENCH_B)/prstart-lazy: $(call obj,tests/bench/prstart.c tests/bench/bench.c) $(LIBREF)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(LDFLAGS)

$(BENCH_B)/pyfresh: $(call obj,tests/bench/pyfresh.c)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(LDFLAGS) $(LDLIBS_JSON)

bench-programs: $(BENCH_BINS)

bench: all $(BENCH_BINS)
	tests/bench/run --build $(B) --repeat $(BENCH_REPEAT) --python $(BENCH_PYTHON) \
	  --golden $(GOLDEN_SET) --fuzz-runs $(BENCH_FUZZ_RUNS) --json reports/bench.json \
	  $(if $(filter 1,$(BENCH_MATRIX)),--matrix)

bench-compare: all $(BENCH_BINS)
	@test -n "$(BENCH_CMP_A)" || { echo "usage: make bench-compare A=REV-OR-BUILD-DIR [B=...]"; exit 2; }
	tests/bench/run --compare "$(BENCH_CMP_A)" "$(or $(BENCH_CMP_B),$(B))" \
	  --repeat $(BENCH_COMPARE_REPEAT) --python $(BENCH_PYTHON) --golden $(GOLDEN_SET) \
	  --fuzz-runs $(BENCH_COMPARE_FUZZ_RUNS) --figures $(BENCH_FIGURES) \
	  --json reports/bench-compare.json

.PHONY: bench bench-programs bench-compare

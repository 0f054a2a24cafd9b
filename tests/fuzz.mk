# make fuzz-parser: the scenario parser under libFuzzer with ASan+UBSan
# (tests/fuzz_parser.c), run by tools/fuzz-parser for $(FUZZ_SECONDS).
# Included by the Makefile; uses its HARNESS_LIB, WARN, LDLIBS_JSON and B.
#
# The harness is rebuilt into $(FUZZ_DIR)/obj with coverage instrumentation
# and kept in an archive, so that the target links only the modules the
# parser needs and libFuzzer counts coverage in those alone.

FUZZ_CC      ?= clang
FUZZ_CFLAGS  ?= -O1 -g
FUZZ_SAN      = -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_SECONDS ?= 60
FUZZ_DIR      = $(B)/fuzz
FUZZ_ALL_CFLAGS = -std=c11 -D_GNU_SOURCE $(WARN) $(FUZZ_CFLAGS) $(FUZZ_SAN) -MMD -MP

FUZZ_PARSER  = $(FUZZ_DIR)/fuzz_parser
FUZZ_LIB     = $(FUZZ_DIR)/libharness.a
fuzz_obj     = $(patsubst %.c,$(FUZZ_DIR)/obj/%.o,$(1))

$(FUZZ_DIR)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_ALL_CFLAGS) -Iharness -I$(B)/gen -c -o $@ $<
$(FUZZ_DIR)/obj/harness/matrix.o: $(B)/gen/matrix_html.h

$(FUZZ_LIB): $(call fuzz_obj,$(HARNESS_LIB))
	@rm -f $@
	$(AR) rcs $@ $^

$(FUZZ_PARSER): $(call fuzz_obj,tests/fuzz_parser.c) $(FUZZ_LIB)
	$(FUZZ_CC) $(FUZZ_ALL_CFLAGS) -o $@ $^ $(LDLIBS_JSON)

# The script checks for clang and libFuzzer, builds $(FUZZ_PARSER) through
# this file, and runs it; it exits non-zero when libFuzzer finds anything.
fuzz-parser:
	@MAKE="$(MAKE)" B="$(B)" FUZZ_SECONDS="$(FUZZ_SECONDS)" FUZZ_CC="$(FUZZ_CC)" tools/fuzz-parser

-include $(shell find $(FUZZ_DIR)/obj -name '*.d' 2>/dev/null)

.PHONY: fuzz-parser

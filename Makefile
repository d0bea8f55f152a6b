# mixdesk: build, run, test. `make run` and `make test` do all the set-up on a fresh Debian machine.
CC ?= cc
CFLAGS ?= -O2 -g
PREFIX ?= /usr/local
DESTDIR ?=
BUILD ?= build

PKGS := jack liblo json-c sndfile libebur128 samplerate lilv-0
TEST_PKGS := cmocka

# pkg-config is asked lazily, so `make deps` works before anything is installed
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS))
PKG_LIBS = $(shell pkg-config --libs $(PKGS))
TEST_LIBS = $(shell pkg-config --libs $(TEST_PKGS))

# -fvect-cost-model=cheap: let GCC vectorise loops that need a runtime alias check (the DSP's block loops);
# clang (the fuzz build) has no such flag
VECT_FLAGS = $(if $(findstring clang,$(CC)),,-fvect-cost-model=cheap)
override CFLAGS += -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow -Wno-unused-parameter -pthread \
	-fno-math-errno $(VECT_FLAGS) -I. $(PKG_CFLAGS)
LDLIBS = $(PKG_LIBS) -lm -ldl -pthread

# the library: the engine (model, mixer, DSP, audio engine), control, sessions and the offline renderer;
# the JACK host (tools/jack/) is not in it: only the live program and the end-to-end tests link it
CORE_SRC := $(wildcard engine/*.c engine/*/*.c control/*.c sessions/*.c tools/render/*.c)
CORE_OBJ := $(CORE_SRC:%.c=$(BUILD)/%.o)
HOST_OBJ := $(BUILD)/tools/jack/jackhost.o
HEADERS := $(wildcard */*.h */*/*.h)
# tools/: one file per program; mixdesk-SUB.c are the subcommands linked into mixdesk
SUBCMD_SRC := $(wildcard tools/mixdesk-render.c tools/mixdesk-check.c)
SUBCMD_OBJ := $(SUBCMD_SRC:%.c=$(BUILD)/%.o)
TOOL_SRC := $(filter-out tools/mixdesk.c $(SUBCMD_SRC),$(wildcard tools/*.c))
TOOLS := $(TOOL_SRC:tools/%.c=$(BUILD)/%)
TEST_SRC := $(wildcard tests/test_*.c)
TESTS := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)
TESTLIB_OBJ := $(patsubst %.c,$(BUILD)/%.o,$(filter-out $(TEST_SRC),$(wildcard tests/*.c)))
# fuzz targets (tests/fuzz/fuzz_NAME.c, seeds in tests/fuzz/NAME/): libFuzzer programs for `make fuzz`, and
# plain objects for test_fuzz_corpus, which replays every kept input in the normal suite
FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_OBJ := $(FUZZ_SRC:%.c=$(BUILD)/%.o)
FUZZ_SECONDS ?= 60
FUZZ_CFLAGS := -O1 -g -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
BENCH_SRC := $(wildcard tests/bench/*.c)
BENCHES := $(BENCH_SRC:tests/bench/%.c=$(BUILD)/bench/%)

# keep the objects of test programs and tools (make would delete them as intermediates, rebuild them every
# run, and print its "rm" after the test summary, which must be the run's last line)
.SECONDARY:

.PHONY: all deps check-pkgs demo-audio run test test-only asan bench fuzz fuzz-bins format install clean
all: check-pkgs $(BUILD)/mixdesk $(TOOLS)

deps:
	@sh tools/deps.sh

check-pkgs:
	@for p in $(PKGS) $(TEST_PKGS); do pkg-config --exists $$p || { \
	  echo "mixdesk: pkg-config cannot find '$$p'; run 'make deps' (or: sh tools/deps.sh --print)" >&2; exit 1; }; done

# made afresh each time: `ar r` into the old archive would keep the objects of files that were removed
$(BUILD)/libmixdesk.a: $(CORE_OBJ) Makefile
	@mkdir -p $(@D)
	@rm -f $@
	$(AR) rcs $@ $(CORE_OBJ)

$(BUILD)/%.o: %.c $(HEADERS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/mixdesk: $(BUILD)/tools/mixdesk.o $(SUBCMD_OBJ) $(HOST_OBJ) $(BUILD)/libmixdesk.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/%: $(BUILD)/tools/%.o $(BUILD)/libmixdesk.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/%: $(BUILD)/tests/%.o $(TESTLIB_OBJ) $(HOST_OBJ) $(BUILD)/libmixdesk.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(TEST_LIBS)

$(BUILD)/tests/test_fuzz_corpus: $(BUILD)/tests/test_fuzz_corpus.o $(FUZZ_OBJ) $(TESTLIB_OBJ) $(HOST_OBJ) \
	$(BUILD)/libmixdesk.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(TEST_LIBS)

$(BUILD)/fuzz/%: tests/fuzz/%.c $(BUILD)/libmixdesk.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -DMD_LIBFUZZER -fsanitize=fuzzer -o $@ $^ $(LDLIBS)

$(BUILD)/bench/%: tests/bench/%.c $(TESTLIB_OBJ) $(BUILD)/libmixdesk.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(TEST_LIBS)

# the demo session's sources are generated, not committed
sessions/audio/.done: $(BUILD)/mkdemo
	$(BUILD)/mkdemo sessions/audio
	@touch $@

demo-audio: all sessions/audio/.done

# run: install what is missing, build, start a JACK server if none runs, start the engine on the demo session
run: deps
	@$(MAKE) --no-print-directory demo-audio
	@sh tools/run-demo.sh $(BUILD)

test: deps
	@$(MAKE) --no-print-directory test-only

# the tests use the demo session too (its sources are generated, not committed)
test-only: all $(TESTS) sessions/audio/.done
	@sh tests/run.sh $(BUILD) $(TESTS)

# the whole suite under AddressSanitizer and UndefinedBehaviorSanitizer (leaks inside plugins' own libraries
# are theirs: tests/lsan.supp)
asan:
	@LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp $(MAKE) --no-print-directory BUILD=build-asan \
	  CFLAGS="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" \
	  LDFLAGS="-fsanitize=address,undefined" test-only

# libFuzzer (clang) under ASan and UBSan: each target for FUZZ_SECONDS (default 60), from its seed corpus
fuzz: deps
	@$(MAKE) --no-print-directory BUILD=build-fuzz CC=clang CFLAGS="$(FUZZ_CFLAGS)" fuzz-bins
	@sh tests/fuzz/run.sh build-fuzz $(FUZZ_SECONDS)

fuzz-bins: $(FUZZ_SRC:tests/fuzz/%.c=$(BUILD)/fuzz/%)

bench:
	@sh tools/deps.sh --bench
	@$(MAKE) --no-print-directory all $(BENCHES)
	@sh tests/bench/run.sh $(BUILD)

format:
	clang-format -i $(wildcard */*.c */*.h */*/*.c */*/*.h)

install: all
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 755 $(BUILD)/mixdesk $(TOOLS) $(DESTDIR)$(PREFIX)/bin/

clean:
	rm -rf build build-asan build-fuzz

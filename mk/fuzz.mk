# mk/fuzz.mk: libFuzzer targets (issue #6), included by the top Makefile.
#
#   make fuzz          each target for FUZZ_SECONDS (default 60) from the seeds,
#                      the regressions and the corpus kept in build/fuzz/corpus/
#   make fuzz-ci       replays every seed and regression input, then fuzzes each
#                      target for FUZZ_CI_RUNS inputs (40000) from FUZZ_CI_SEED (1),
#                      at most FUZZ_CI_SECONDS (120); part of `make test`
#   make fuzz-build    builds build/fuzz/fuzz_request and build/fuzz/fuzz_policy
#   make fuzz-cov      line coverage of src/ by the corpus (llvm-cov), per file
#
# Targets: tests/fuzz/fuzz_request.c (bytes -> hw_handler_mutate -> answer,
# with the patch-applies and idempotency property check) and
# tests/fuzz/fuzz_policy.c (the policy file parser). Seeds are in
# tests/fuzz/seeds/<target>/, dictionaries in tests/fuzz/dict/, and every
# crash found becomes tests/fuzz/regressions/<target>/<name>. New corpus
# entries and crash artifacts stay under build/fuzz/ (not committed).
# Long run for a report:  make fuzz FUZZ_SECONDS=600

FUZZ_CC         ?= $(shell command -v clang-14 2>/dev/null || command -v clang 2>/dev/null || echo clang)
FUZZ_SECONDS    ?= 60
FUZZ_CI_SECONDS ?= 120
FUZZ_CI_RUNS    ?= 40000
FUZZ_CI_SEED    ?= 1
FUZZ_TARGETS    := request policy
FUZZ_DIR        := build/fuzz
FUZZ_LLVM_BIN   ?= /usr/lib/llvm-14/bin

# The top Makefile's flags (HW_*: -std=c11, -pthread, warnings, pkg-config's
# paths, hardening) with the sanitizers in place of _FORTIFY_SOURCE; the
# user's CPPFLAGS/CFLAGS/LDFLAGS come after them, as everywhere.
FUZZ_SAN      := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
FUZZ_CPPFLAGS  = $(HW_CPPFLAGS) $(CPPFLAGS)
FUZZ_CFLAGS    = -std=c11 -pthread $(HW_HARDEN) $(FUZZ_SAN) $(CFLAGS)
FUZZ_LDFLAGS   = $(FUZZ_CFLAGS) -fsanitize=fuzzer $(HW_LDFLAGS) $(LDFLAGS)
# src/ is compiled with the tree's warnings but not -Werror: a clang-only
# warning in someone else's module must not stop the fuzzers from building.
FUZZ_SRC_WARN := $(HW_WARN)
FUZZ_WARN      = $(HW_WARN) $(HW_WERROR)
FUZZ_LIB_OBJ  := $(LIB_SRC:src/%.c=$(FUZZ_DIR)/obj/%.o)
FUZZ_SUPPORT  := $(FUZZ_DIR)/tests/fuzz_common.o $(FUZZ_DIR)/tests/testutil.o
FUZZ_BINS     := $(FUZZ_TARGETS:%=$(FUZZ_DIR)/fuzz_%)
FUZZ_OPTS     := -timeout=10 -rss_limit_mb=2048 -print_final_stats=1

.PHONY: fuzz fuzz-ci fuzz-build fuzz-replay fuzz-open fuzz-cov
EXTRA_TESTS += fuzz-ci

fuzz-build: $(FUZZ_BINS)

# Keep the objects between runs (they are intermediates of a pattern rule).
.SECONDARY: $(FUZZ_LIB_OBJ) $(FUZZ_SUPPORT) $(FUZZ_TARGETS:%=$(FUZZ_DIR)/tests/fuzz_%.o)

$(FUZZ_DIR)/obj/%.o: src/%.c
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CPPFLAGS) $(FUZZ_SRC_WARN) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

$(FUZZ_DIR)/tests/%.o: tests/fuzz/%.c
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CPPFLAGS) $(FUZZ_WARN) $(FUZZ_CFLAGS) -c -o $@ $<

# The unit tests' independent json-patch v4 applier, reused by the oracle.
$(FUZZ_DIR)/tests/testutil.o: tests/unit/testutil.c
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CPPFLAGS) -DHW_TEST_DATA='"$(CURDIR)/tests/data"' $(FUZZ_WARN) $(FUZZ_CFLAGS) -c -o $@ $<

$(FUZZ_DIR)/fuzz_%: $(FUZZ_DIR)/tests/fuzz_%.o $(FUZZ_SUPPORT) $(FUZZ_LIB_OBJ)
	$(FUZZ_CC) $(FUZZ_LDFLAGS) -o $@ $^ $(PKG_LIBS) $(CHECK_LIBS) $(LDLIBS)

# Every seed and regression input once, as individual files (a directory
# argument would make libFuzzer treat it as a corpus to grow).
fuzz-replay: $(FUZZ_BINS)
	@set -e; for t in $(FUZZ_TARGETS); do \
	  files=$$(find tests/fuzz/seeds/$$t tests/fuzz/regressions/$$t -type f 2>/dev/null | sort); \
	  n=$$(printf '%s\n' "$$files" | grep -c . || true); \
	  echo "fuzz-replay: $$t: $$n inputs (seeds and regressions)"; \
	  [ "$$n" -gt 0 ] || continue; \
	  printf '%s\n' "$$files" | xargs -n 200 $(FUZZ_DIR)/fuzz_$$t -runs=1 $(FUZZ_OPTS) \
	    >$(FUZZ_DIR)/replay-$$t.log 2>&1 || { tail -40 $(FUZZ_DIR)/replay-$$t.log; exit 1; }; \
	done

# The reproducers of reported, still open bugs (regressions/<target>/open-*),
# replayed with their properties made fatal: each line says whether the bug
# is still there. When one reads "fixed", drop its FZ_KNOWN tolerance in
# tests/fuzz and rename the file without "open-".
fuzz-open: $(FUZZ_BINS)
	@for t in $(FUZZ_TARGETS); do \
	  for f in $$(find tests/fuzz/regressions/$$t -name 'open-*' -type f 2>/dev/null | sort); do \
	    if HW_FUZZ_STRICT=1 $(FUZZ_DIR)/fuzz_$$t -runs=1 $$f >$(FUZZ_DIR)/open.log 2>&1; then \
	      echo "fixed      $$f"; \
	    else \
	      echo "still open $$f: $$(grep -a -m1 'fuzz property failed\|ERROR:' $(FUZZ_DIR)/open.log | cut -c1-160)"; \
	    fi; \
	  done; \
	done

# One bounded run per target: $(1) seconds at most, new inputs to the corpus
# directory $(2)/<target>, libFuzzer options $(3); crashes go to
# build/fuzz/artifacts/. A failure prints the report's head, the input in
# base64 when small (so a CI log alone reproduces it) and the failed property
# last. The summary line is kept in build/fuzz/<target>.log and printed.
define fuzz_run
	@set -e; for t in $(FUZZ_TARGETS); do \
	  mkdir -p $(2)/$$t $(FUZZ_DIR)/artifacts; \
	  echo "fuzz: $$t for at most $(1) s $(3)"; \
	  if ! $(FUZZ_DIR)/fuzz_$$t $(FUZZ_OPTS) -max_total_time=$(1) $(3) \
	      -dict=tests/fuzz/dict/$$t.dict -artifact_prefix=$(FUZZ_DIR)/artifacts/$$t- \
	      $(2)/$$t tests/fuzz/seeds/$$t $$(test -d tests/fuzz/regressions/$$t && echo tests/fuzz/regressions/$$t) \
	      >$(FUZZ_DIR)/$$t.log 2>&1; then \
	    grep -a -v '^#[0-9]' $(FUZZ_DIR)/$$t.log | grep -a -m1 -A30 'fuzz property failed\|ERROR:' || \
	      grep -a -v '^#[0-9]' $(FUZZ_DIR)/$$t.log | tail -60; \
	    a=$$(sed -n 's/.*Test unit written to \(.*\)$$/\1/p' $(FUZZ_DIR)/$$t.log | tail -1); \
	    if [ -n "$$a" ] && [ -f "$$a" ] && [ $$(wc -c <"$$a") -le 65536 ]; then \
	      echo "fuzz: the input, base64 (decode with base64 -d):"; base64 -w 100 "$$a"; \
	    fi; \
	    echo "fuzz: $$t FAILED: $$(grep -a -m1 'fuzz property failed\|ERROR:\|SUMMARY:' $(FUZZ_DIR)/$$t.log | cut -c1-300)"; \
	    echo "fuzz: the input is $${a:-in $(FUZZ_DIR)/artifacts/} (add it to tests/fuzz/regressions/$$t/)"; \
	    exit 1; \
	  fi; \
	  tests/fuzz/summary.sh $$t $(FUZZ_DIR)/$$t.log $(2)/$$t; \
	done
endef

# make fuzz explores: a new random seed each run, the corpus kept between runs.
fuzz: $(FUZZ_BINS) fuzz-replay
	$(call fuzz_run,$(FUZZ_SECONDS),$(FUZZ_DIR)/corpus,)

# make fuzz-ci gates a commit, so it explores as little by chance as
# libFuzzer allows: a fixed seed, a fixed number of runs, no corpus reload and
# an empty corpus each time. The inputs then stay close to the same ones from
# run to run (not identical: a few branches depend on time, such as the
# latency histogram's, and coverage steers the mutations), and a failure
# prints its input, so a CI failure is reproduced from its log. Exploring is
# `make fuzz`'s job (random seed, corpus kept), run for minutes before a
# change to the request path or the policy parser lands.
fuzz-ci: $(FUZZ_BINS) fuzz-replay
	@rm -rf $(FUZZ_DIR)/ci-corpus
	$(call fuzz_run,$(FUZZ_CI_SECONDS),$(FUZZ_DIR)/ci-corpus,-seed=$(FUZZ_CI_SEED) -runs=$(FUZZ_CI_RUNS) -reload=0)

# Source-based line coverage of the corpus (seeds + build/fuzz/corpus),
# reported for the request path's modules.
FUZZ_COV_DIR := $(FUZZ_DIR)/cov
FUZZ_COV_SRC := $(wildcard src/review.c src/scan.c src/handler.c src/policy.c src/patch.c \
                  src/policyfile.c src/buf.c src/error.c)
.SECONDARY: $(LIB_SRC:src/%.c=$(FUZZ_COV_DIR)/obj/%.o) $(FUZZ_COV_DIR)/tests/fuzz_common.o \
            $(FUZZ_COV_DIR)/tests/testutil.o $(FUZZ_TARGETS:%=$(FUZZ_COV_DIR)/tests/fuzz_%.o)
$(FUZZ_COV_DIR)/obj/%.o: src/%.c
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CPPFLAGS) $(FUZZ_SRC_WARN) $(FUZZ_CFLAGS) -fprofile-instr-generate -fcoverage-mapping -c -o $@ $<
$(FUZZ_COV_DIR)/tests/%.o: tests/fuzz/%.c
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CPPFLAGS) $(FUZZ_WARN) $(FUZZ_CFLAGS) -c -o $@ $<
$(FUZZ_COV_DIR)/tests/testutil.o: tests/unit/testutil.c
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CPPFLAGS) -DHW_TEST_DATA='"$(CURDIR)/tests/data"' $(FUZZ_WARN) $(FUZZ_CFLAGS) -c -o $@ $<
$(FUZZ_COV_DIR)/fuzz_%: $(FUZZ_COV_DIR)/tests/fuzz_%.o $(FUZZ_COV_DIR)/tests/fuzz_common.o \
		$(FUZZ_COV_DIR)/tests/testutil.o $(LIB_SRC:src/%.c=$(FUZZ_COV_DIR)/obj/%.o)
	$(FUZZ_CC) $(FUZZ_LDFLAGS) -fprofile-instr-generate -o $@ $^ $(PKG_LIBS) $(CHECK_LIBS) $(LDLIBS)

fuzz-cov: $(FUZZ_TARGETS:%=$(FUZZ_COV_DIR)/fuzz_%)
	@set -e; for t in $(FUZZ_TARGETS); do \
	  rm -f $(FUZZ_COV_DIR)/$$t.profraw; mkdir -p $(FUZZ_DIR)/corpus/$$t; \
	  find tests/fuzz/seeds/$$t tests/fuzz/regressions/$$t $(FUZZ_DIR)/corpus/$$t -type f 2>/dev/null \
	    | LLVM_PROFILE_FILE=$(FUZZ_COV_DIR)/$$t.%p.profraw xargs -n 500 $(FUZZ_COV_DIR)/fuzz_$$t -runs=1 >/dev/null 2>&1; \
	  $(FUZZ_LLVM_BIN)/llvm-profdata merge -sparse $(FUZZ_COV_DIR)/$$t.*.profraw -o $(FUZZ_COV_DIR)/$$t.profdata; \
	  rm -f $(FUZZ_COV_DIR)/$$t.*.profraw; \
	  echo "== fuzz-cov: $$t (corpus $$(find $(FUZZ_DIR)/corpus/$$t -type f | wc -l) + seeds)"; \
	  $(FUZZ_LLVM_BIN)/llvm-cov report $(FUZZ_COV_DIR)/fuzz_$$t -instr-profile=$(FUZZ_COV_DIR)/$$t.profdata \
	    $(FUZZ_COV_SRC); \
	done

-include $(FUZZ_LIB_OBJ:.o=.d) $(FUZZ_DIR)/tests/fuzz_request.d $(FUZZ_DIR)/tests/fuzz_policy.d $(FUZZ_DIR)/tests/fuzz_common.d

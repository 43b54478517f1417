# mk/bench.mk - benchmark targets (issue #7), included by the top Makefile.
#
#   make bench           hookwarden vs nginx (the TLS limit) and the Go peer, one table
#   make bench-scaling   hookwarden alone: body size and connection count
#   make bench-all       both
#
# Settings are environment variables of tests/bench/bench.sh, e.g.
#   make bench DURATION=10 ROUNDS=3 SCENARIOS='c32$$'
# The shared bench kit is $(HW_SHARED)/bench (default: ../shared beside the repo).
# Scratch, logs and the table go to $$BENCH_DIR (default: a new /tmp/hookwarden-bench.*).

HW_BENCH_TOP := $(patsubst %/,%,$(dir $(abspath $(lastword $(MAKEFILE_LIST)))))/..
HW_BENCH_SH := $(abspath $(HW_BENCH_TOP))/tests/bench/bench.sh

.PHONY: bench bench-scaling bench-all

bench: all
	bash $(HW_BENCH_SH) main

bench-scaling: all
	bash $(HW_BENCH_SH) scaling

bench-all: all
	bash $(HW_BENCH_SH) all

# The handler alone on the labelled 4 KB review (no TLS, no HTTP): us/request.
HW_SHARED ?= $(abspath $(HW_BENCH_TOP)/../shared)
.PHONY: bench-micro
$(BUILD)/bench-micro: tests/bench/micro.c $(LIB)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LIB) $(PKG_LIBS)
$(BUILD)/review-4k-labelled.json:
	python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); r["request"]["object"]["metadata"].setdefault("labels",{})["hookwarden.io/migration"]="true"; json.dump(r,open(sys.argv[2],"w"),separators=(",",":"))' \
	  $(HW_SHARED)/bench/review-4k.json $@
bench-micro: $(BUILD)/bench-micro $(BUILD)/review-4k-labelled.json
	$(BUILD)/bench-micro $(BUILD)/review-4k-labelled.json 200000

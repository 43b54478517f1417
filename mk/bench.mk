# mk/bench.mk - benchmark targets (issues #7, #14), included by the top Makefile.
#
#   make bench           hookwarden vs libmicrohttpd alone (mhd-fixed), nginx (the TLS
#                        limit) and the Go peer, 3 rounds, one table and issue #14's
#                        targets
#   make bench-scaling   hookwarden alone: body size and connection count
#   make bench-all       both
#   make bench-micro     the handler alone on the labelled 4 KB review (no TLS, no HTTP)
#
# Settings are environment variables of tests/bench/bench.sh, e.g.
#   make bench DURATION=10 ROUNDS=1 SCENARIOS='c32$$'
# Everything comes from the repository: the kit (run.sh, nginx-serve.sh, the peers)
# in tests/bench/, the bodies in tests/data/bench/. Debian's nginx, wrk, h2load and
# Go are installed when run as root. Scratch, logs and the table go to $$BENCH_DIR
# (default: a new /tmp/hookwarden-bench.*).

HW_BENCH_TOP := $(patsubst %/,%,$(dir $(abspath $(lastword $(MAKEFILE_LIST)))))/..
HW_BENCH_SH := $(abspath $(HW_BENCH_TOP))/tests/bench/bench.sh
MHD_FIXED   := $(BUILD)/bench/mhd-fixed

.PHONY: bench bench-scaling bench-all bench-micro

bench: all $(MHD_FIXED)
	MHD_FIXED_BIN=$(abspath $(MHD_FIXED)) bash $(HW_BENCH_SH) main

bench-scaling: all
	bash $(HW_BENCH_SH) scaling

bench-all: all $(MHD_FIXED)
	MHD_FIXED_BIN=$(abspath $(MHD_FIXED)) bash $(HW_BENCH_SH) all

# The libmicrohttpd peer: the project's hardening, warnings and -Werror, but
# not its -D_GNU_SOURCE (the peer defines it itself) nor its include paths.
$(MHD_FIXED): tests/bench/peers/mhd-fixed/mhd-fixed.c | pkg-check
	@mkdir -p $(@D)
	$(CC) $(PKG_CFLAGS) $(HW_FORTIFY) $(CPPFLAGS) $(HW_ALL_LDFLAGS) -o $@ $< \
	  $(shell $(PKG_CONFIG) --libs libmicrohttpd jansson libcrypto) $(LDLIBS)

# The handler alone on the labelled 4 KB review (no TLS, no HTTP): us/request.
$(BUILD)/bench-micro: tests/bench/micro.c $(LIB) | pkg-check
	$(CC) $(HW_ALL_CPPFLAGS) $(HW_ALL_LDFLAGS) -o $@ $< $(LIB) $(PKG_LIBS) $(LDLIBS)
$(BUILD)/review-4k-labelled.json: tests/data/bench/review-4k.json tests/bench/bodies.py
	python3 tests/bench/bodies.py variant $< $@ --label
bench-micro: $(BUILD)/bench-micro $(BUILD)/review-4k-labelled.json
	$(BUILD)/bench-micro $(BUILD)/review-4k-labelled.json 200000

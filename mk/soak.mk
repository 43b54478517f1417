# mk/soak.mk: load and soak (issue #6), included by the top Makefile.
#
#   make soak       SOAK_REQUESTS (default 1,000,000) admission requests, mixed
#                   valid and invalid, keep-alive and fresh connections; passes
#                   with zero failed requests and a flat RSS (report printed and
#                   kept in build/soak/report-N.txt)
#   make soak-ci    the same with SOAK_CI_REQUESTS (default 100,000); in `make test`
#
# Driver: tests/soak/soakload.c (OpenSSL, closed loop, SOAK_THREADS=8
# connections at a time); script: tests/soak/soak.sh (its header lists the knobs).

SOAK_REQUESTS    ?= 1000000
SOAK_CI_REQUESTS ?= 100000
SOAK_LOAD        := build/soak/soakload

.PHONY: soak soak-ci
EXTRA_TESTS += soak-ci

$(SOAK_LOAD): tests/soak/soakload.c | pkg-check
	@mkdir -p $(@D)
	$(CC) $(HW_ALL_CPPFLAGS) $(HW_ALL_LDFLAGS) -o $@ $< \
	  $(shell $(PKG_CONFIG) --libs libssl libcrypto) $(LDLIBS)

soak: all $(SOAK_LOAD)
	tests/soak/soak.sh $(SOAK_REQUESTS) $(BIN)

soak-ci: all $(SOAK_LOAD)
	tests/soak/soak.sh $(SOAK_CI_REQUESTS) $(BIN)

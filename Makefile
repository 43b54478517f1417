# hookwarden: one GNU Makefile. `make` builds build/hookwarden; `make test`
# runs every suite (unit, golden, end to end, sanitizers, valgrind, deploy).
# SAN=1 builds with ASan+UBSan into build/san/.

VERSION    := 0.1.0
PREFIX     ?= /usr/local
DESTDIR    ?=
CC         ?= cc
PKG_CONFIG ?= pkg-config

LIBS_PC    := libmicrohttpd gnutls jansson libssl libcrypto yaml-0.1
PKG_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(LIBS_PC) 2>/dev/null)
PKG_LIBS   := $(shell $(PKG_CONFIG) --libs $(LIBS_PC) 2>/dev/null)
CHECK_LIBS := $(shell $(PKG_CONFIG) --libs check 2>/dev/null)

WARN := -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes \
        -Wmissing-prototypes -Wformat=2 -Wvla -Werror
HARDEN := -fstack-protector-strong -fPIE
CPPFLAGS += -Iinclude -D_GNU_SOURCE -DHW_VERSION='"$(VERSION)"' -MMD -MP
CFLAGS   ?= -O2 -g
CFLAGS   += -std=c11 -pthread $(WARN) $(PKG_CFLAGS)
LDFLAGS  += -pthread -pie -Wl,-z,relro,-z,now

ifeq ($(SAN),1)
BUILD    := build/san
CFLAGS   += -O1 -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS  += -fsanitize=address,undefined
else
BUILD    := build
CPPFLAGS += -D_FORTIFY_SOURCE=2
CFLAGS   += $(HARDEN)
endif

LIB_SRC  := $(filter-out src/main.c,$(wildcard src/*.c))
LIB_OBJ  := $(LIB_SRC:src/%.c=$(BUILD)/obj/%.o)
MAIN_OBJ := $(BUILD)/obj/main.o
LIB      := $(BUILD)/libhookwarden.a
BIN      := $(BUILD)/hookwarden

TEST_SRC := $(wildcard tests/unit/*.c)
SUITES   := $(sort $(wildcard tests/unit/check_*.c))
TEST_OBJ := $(TEST_SRC:tests/unit/%.c=$(BUILD)/tests/%.o)
TEST_BIN := $(BUILD)/check_hookwarden

.PHONY: all deps run test test-unit test-e2e test-san test-valgrind install clean
all: $(BIN)

# Installs missing Debian packages (as root); a no-op when all are there.
deps:
	mk/install-deps.sh test

# Development server: built-in default policy, certificates in certs/dev,
# https://127.0.0.1:8443/mutate. Stop with Ctrl-C.
run:
	mk/install-deps.sh build
	$(MAKE) all
	@test -f certs/dev/tls.crt || $(BIN) gen-certs --dir certs/dev --service hookwarden --namespace hookwarden --loopback
	exec $(BIN) serve --tls-cert-file certs/dev/tls.crt --tls-private-key-file certs/dev/tls.key \
	  --bind-address 127.0.0.1 --port 8443 --shutdown-grace-period 0

$(BUILD)/obj/%.o: src/%.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

$(BUILD)/tests/%.o: tests/unit/%.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) -I$(BUILD)/tests -DHW_TEST_DATA='"$(CURDIR)/tests/data"' $(CFLAGS) -c -o $@ $<

# The runner's suite list: one SUITE(hw_suite_x) per tests/unit/check_x.c.
$(BUILD)/tests/suites.inc: $(SUITES) Makefile
	@mkdir -p $(@D)
	@for f in $(SUITES); do n=$$(basename $$f .c); echo "SUITE(hw_suite_$${n#check_})"; done > $@.tmp
	@cmp -s $@.tmp $@ || mv $@.tmp $@; rm -f $@.tmp
$(BUILD)/tests/main.o: $(BUILD)/tests/suites.inc

$(LIB): $(LIB_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

$(BIN): $(MAIN_OBJ) $(LIB)
	$(CC) $(LDFLAGS) -o $@ $(MAIN_OBJ) $(LIB) $(PKG_LIBS)

$(TEST_BIN): $(TEST_OBJ) $(LIB)
	$(CC) $(LDFLAGS) -o $@ $(TEST_OBJ) $(LIB) $(PKG_LIBS) $(CHECK_LIBS)

# Fragments add EXTRA_TESTS and their own targets (bench, fuzz, deploy).
-include mk/*.mk

# Every suite, in the order a failure is cheapest to read.
test: deps
	$(MAKE) test-unit test-e2e test-san test-valgrind $(EXTRA_TESTS)

test-unit: $(TEST_BIN)
	CK_FORK=yes $(TEST_BIN)

test-e2e: $(BIN)
	tests/e2e/run.sh $(BIN)

test-san:
	$(MAKE) SAN=1 build/san/check_hookwarden build/san/hookwarden
	ASAN_OPTIONS=detect_leaks=1 CK_FORK=no build/san/check_hookwarden
	HW_E2E_QUICK=1 tests/e2e/run.sh build/san/hookwarden

test-valgrind: $(TEST_BIN)
	CK_FORK=no valgrind -q --error-exitcode=1 --leak-check=full \
	  --show-leak-kinds=definite,indirect,possible --errors-for-leak-kinds=definite,indirect,possible \
	  $(TEST_BIN)

install: $(BIN)
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/bin/hookwarden

clean:
	rm -rf build

-include $(LIB_OBJ:.o=.d) $(MAIN_OBJ:.o=.d) $(TEST_OBJ:.o=.d)

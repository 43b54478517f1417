# hookwarden: one GNU Makefile. `make` builds build/hookwarden; `make check`
# runs the quick tier (unit + golden, the build's flags, the repository
# standing alone); `make test` installs what it needs and runs every suite.
# SAN=1 builds with ASan+UBSan into build/san/.
#
# Flags: the project's own are in HW_* variables and always on; the user's
# CPPFLAGS, CFLAGS, LDFLAGS and LDLIBS come after them, so `make CFLAGS=-O1`
# (how distribution packaging calls make) changes optimisation and keeps
# -std=c11, -pthread, the warnings, pkg-config's paths and the hardening.
# -Werror is on by default (development and CI); packagers turn it off with
# `make WERROR=0`.

VERSION    := 0.1.0
PREFIX     ?= /usr/local
DESTDIR    ?=
CC         ?= cc
PKG_CONFIG ?= pkg-config
CFLAGS     ?= -O2 -g
WERROR     ?= 1

# pkg-config module:Debian package, for every library linked (HW_PC) and the
# unit tests' (HW_PC_TEST); mk/pkg-check.sh stops the build naming the package.
HW_PC      := libmicrohttpd:libmicrohttpd-dev gnutls:libgnutls28-dev jansson:libjansson-dev \
              libssl:libssl-dev libcrypto:libssl-dev yaml-0.1:libyaml-dev
HW_PC_TEST := check:check
PKG_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(foreach m,$(HW_PC),$(firstword $(subst :, ,$(m)))) 2>/dev/null)
PKG_LIBS   := $(shell $(PKG_CONFIG) --libs $(foreach m,$(HW_PC),$(firstword $(subst :, ,$(m)))) 2>/dev/null)
CHECK_LIBS := $(shell $(PKG_CONFIG) --libs check 2>/dev/null)

HW_WARN     := -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes \
               -Wmissing-prototypes -Wformat=2 -Wvla
HW_WERROR   := $(if $(filter 1,$(WERROR)),-Werror)
# Expanded where used, so that a VERSION set later (mk/*.mk) is the one built in.
HW_CPPFLAGS  = -Iinclude -D_GNU_SOURCE -DHW_VERSION='"$(VERSION)"' -MMD -MP $(PKG_CFLAGS)
HW_CFLAGS   := -std=c11 -pthread $(HW_WARN) $(HW_WERROR)
# Hardening, on every compile and link line. -fcf-protection exists on x86
# only. _FORTIFY_SOURCE needs optimisation (glibc warns without it, which
# -Werror makes fatal) and is replaced by the sanitizers in SAN=1 and fuzz
# builds.
HW_CF_PROT  := $(shell $(CC) -fcf-protection -Werror -x c -c /dev/null -o /dev/null 2>/dev/null && echo -fcf-protection)
HW_HARDEN   := -fstack-protector-strong -fstack-clash-protection $(HW_CF_PROT) -fPIE
HW_OPT      := $(lastword $(filter -O%,$(CFLAGS)))
HW_FORTIFY  := $(if $(filter-out -O0,$(HW_OPT)),-D_FORTIFY_SOURCE=2)
HW_LDFLAGS  := -pthread -pie -Wl,-z,relro -Wl,-z,now -Wl,-z,noexecstack

ifeq ($(SAN),1)
BUILD       := build/san
# After the user's CFLAGS, so that the sanitizer build keeps its -O1.
HW_SAN      := -O1 -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
HW_BUILD_CPPFLAGS :=
else
BUILD       := build
HW_SAN      :=
HW_BUILD_CPPFLAGS := $(HW_FORTIFY)
endif

# The complete lines: the project's flags first, the user's after them.
HW_ALL_CPPFLAGS = $(HW_CPPFLAGS) $(HW_BUILD_CPPFLAGS) $(CPPFLAGS)
HW_ALL_CFLAGS   = $(HW_CFLAGS) $(HW_HARDEN) $(CFLAGS) $(HW_SAN)
HW_ALL_LDFLAGS  = $(HW_ALL_CFLAGS) $(HW_LDFLAGS) $(LDFLAGS)

LIB_SRC  := $(filter-out src/main.c,$(wildcard src/*.c))
LIB_OBJ  := $(LIB_SRC:src/%.c=$(BUILD)/obj/%.o)
MAIN_OBJ := $(BUILD)/obj/main.o
LIB      := $(BUILD)/libhookwarden.a
BIN      := $(BUILD)/hookwarden

TEST_SRC := $(wildcard tests/unit/*.c)
SUITES   := $(sort $(wildcard tests/unit/check_*.c))
TEST_OBJ := $(TEST_SRC:tests/unit/%.c=$(BUILD)/tests/%.o)
TEST_BIN := $(BUILD)/check_hookwarden

.PHONY: all deps run check check-flags check-alone test test-unit test-e2e test-san \
        test-valgrind test-readme install clean pkg-check pkg-check-test
all: $(BIN)

# Installs missing Debian packages (as root); a no-op when all are there.
deps:
	mk/install-deps.sh test

# Stops before the first compile when pkg-config cannot find a library,
# naming the Debian package that provides it.
pkg-check:
	@mk/pkg-check.sh '$(PKG_CONFIG)' $(HW_PC)
pkg-check-test:
	@mk/pkg-check.sh '$(PKG_CONFIG)' $(HW_PC) $(HW_PC_TEST)

# Development server: built-in default policy, certificates in certs/dev,
# https://127.0.0.1:8443/mutate. Stop with Ctrl-C.
run:
	mk/install-deps.sh build
	$(MAKE) all
	@test -f certs/dev/tls.crt || $(BIN) gen-certs --dir certs/dev --service hookwarden --namespace hookwarden --loopback
	exec $(BIN) serve --tls-cert-file certs/dev/tls.crt --tls-private-key-file certs/dev/tls.key \
	  --bind-address 127.0.0.1 --port 8443 --shutdown-grace-period 0

$(BUILD)/obj/%.o: src/%.c | pkg-check
	@mkdir -p $(@D)
	$(CC) $(HW_ALL_CPPFLAGS) $(HW_ALL_CFLAGS) -c -o $@ $<

$(BUILD)/tests/%.o: tests/unit/%.c | pkg-check-test
	@mkdir -p $(@D)
	$(CC) $(HW_ALL_CPPFLAGS) -I$(BUILD)/tests -DHW_TEST_DATA='"$(CURDIR)/tests/data"' $(HW_ALL_CFLAGS) -c -o $@ $<

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
	$(CC) $(HW_ALL_LDFLAGS) -o $@ $(MAIN_OBJ) $(LIB) $(PKG_LIBS) $(LDLIBS)

$(TEST_BIN): $(TEST_OBJ) $(LIB)
	$(CC) $(HW_ALL_LDFLAGS) -o $@ $(TEST_OBJ) $(LIB) $(PKG_LIBS) $(CHECK_LIBS) $(LDLIBS)

# Fragments add EXTRA_TESTS and their own targets (bench, fuzz, deploy).
-include mk/*.mk

# The quick tier: unit and golden suites, the build's flags, the repository
# standing alone. No root, no network, no installs; seconds, not minutes.
check:
	$(MAKE) test-unit
	$(MAKE) check-flags
	$(MAKE) check-alone

# Every suite, in the order a failure is cheapest to read; installs what the
# suites need first (make deps, as root).
test: deps
	$(MAKE) check test-e2e test-readme test-san test-valgrind $(EXTRA_TESTS)

test-unit: $(TEST_BIN)
	CK_FORK=yes $(TEST_BIN)

# `make -n CFLAGS=-O1` keeps the project's flags on every compile and link line.
check-flags:
	tests/build/flags.sh

# No tracked file reaches outside the repository.
check-alone:
	tests/build/alone.sh

# The README's "Try it" curl example, as printed, against a real server.
test-readme: $(BIN)
	tests/build/readme.sh $(BIN)

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

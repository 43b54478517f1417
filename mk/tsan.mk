# mk/tsan.mk: ThreadSanitizer (issue #16), included by the top Makefile.
#
#   make test-tsan     the unit suites and the quick end-to-end suite on a
#                      -fsanitize=thread build in build/tsan/; part of `make test`
#
# The server has threads that share state on purpose: the acceptor and the
# worker daemons (connection counts and tracks), the reload thread and the
# workers (policy and credential swaps), the lingering-close thread, and
# shutdown. A data race among them, or a teardown that frees what another
# thread still uses, stops the run (halt_on_error=1). libmicrohttpd, GnuTLS
# and OpenSSL are not instrumented: their locks are seen (pthread calls are
# intercepted), their atomics are not; tests/tsan.supp names what that
# leaves TSan unable to follow, each entry with its reason.

TSAN_DIR      := build/tsan
TSAN_FLAGS    := -fsanitize=thread -fno-omit-frame-pointer -g -O1
TSAN_CPPFLAGS := -Iinclude -D_GNU_SOURCE -DHW_VERSION='"$(VERSION)"' -MMD -MP
TSAN_CFLAGS   := -std=c11 -pthread $(PKG_CFLAGS) $(TSAN_FLAGS) $(WARN) $(HW_WARN)
TSAN_LIB_OBJ  := $(LIB_SRC:src/%.c=$(TSAN_DIR)/obj/%.o)
TSAN_TEST_OBJ := $(TEST_SRC:tests/unit/%.c=$(TSAN_DIR)/tests/%.o)
TSAN_ENV      := TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 suppressions=$(CURDIR)/tests/tsan.supp"

.PHONY: test-tsan tsan-build
EXTRA_TESTS += test-tsan

tsan-build: $(TSAN_DIR)/hookwarden $(TSAN_DIR)/check_hookwarden

$(TSAN_DIR)/obj/%.o: src/%.c
	@mkdir -p $(@D)
	$(CC) $(TSAN_CPPFLAGS) $(TSAN_CFLAGS) -c -o $@ $<

$(TSAN_DIR)/tests/%.o: tests/unit/%.c
	@mkdir -p $(@D)
	$(CC) $(TSAN_CPPFLAGS) -I$(TSAN_DIR)/tests -DHW_TEST_DATA='"$(CURDIR)/tests/data"' $(TSAN_CFLAGS) -c -o $@ $<

$(TSAN_DIR)/tests/suites.inc: $(SUITES)
	@mkdir -p $(@D)
	@for f in $(SUITES); do n=$$(basename $$f .c); echo "SUITE(hw_suite_$${n#check_})"; done > $@.tmp
	@cmp -s $@.tmp $@ || mv $@.tmp $@; rm -f $@.tmp
$(TSAN_DIR)/tests/main.o: $(TSAN_DIR)/tests/suites.inc

$(TSAN_DIR)/hookwarden: $(TSAN_DIR)/obj/main.o $(TSAN_LIB_OBJ)
	$(CC) $(TSAN_FLAGS) -pthread -o $@ $^ $(PKG_LIBS)

$(TSAN_DIR)/check_hookwarden: $(TSAN_TEST_OBJ) $(TSAN_LIB_OBJ)
	$(CC) $(TSAN_FLAGS) -pthread -o $@ $^ $(PKG_LIBS) $(CHECK_LIBS)

test-tsan: tsan-build
	$(TSAN_ENV) CK_FORK=no $(TSAN_DIR)/check_hookwarden
	$(TSAN_ENV) HW_E2E_QUICK=1 tests/e2e/run.sh $(TSAN_DIR)/hookwarden

-include $(TSAN_LIB_OBJ:.o=.d) $(TSAN_TEST_OBJ:.o=.d) $(TSAN_DIR)/obj/main.d

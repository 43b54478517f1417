/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Shared by the libFuzzer targets: the property check of one answer from
 * hw_handler_mutate(). It is the fuzzers' oracle, not a second webhook:
 * it decides nothing about Jobs, it only checks what kube-apiserver would
 * check (envelope, uid echo, patch encoding, patch applies with json-patch
 * v4 semantics, printable warnings) and that the webhook is idempotent
 * (the policy applied to its own output adds no further patch).
 */
#ifndef HOOKWARDEN_FUZZ_COMMON_H
#define HOOKWARDEN_FUZZ_COMMON_H

#include <stddef.h>

#include "hookwarden/policy.h"

/* Prints "fuzz property failed: ..." and aborts (libFuzzer keeps the input). */
void fz_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#define FZ_ASSERT(cond, ...)                                                                   \
    do {                                                                                       \
        if (!(cond))                                                                           \
            fz_fail(__VA_ARGS__);                                                              \
    } while (0)

/*
 * A property that fails today because of a bug reported to src/'s owners
 * and not yet fixed (tests/fuzz/README.md lists them, with their
 * reproducers in tests/fuzz/regressions/<target>/open-<id>-*). It is
 * tolerated, so fuzzing goes on finding new problems, unless
 * HW_FUZZ_STRICT=1 (make fuzz-open) makes it fatal like any other.
 */
#define FZ_KNOWN(id, cond, ...)                                                                \
    do {                                                                                       \
        if (!(cond) && fz_strict())                                                            \
            fz_fail("known open finding " id ": " __VA_ARGS__);                                \
    } while (0)

/* 1 when HW_FUZZ_STRICT=1 is set. */
int fz_strict(void);

/*
 * Runs the handler on body (len bytes) with policy p and checks every
 * property of the answer; on a patch, applies it to request.object, runs
 * the handler on the result and checks that no patch comes back. Returns
 * the HTTP status the handler answered (for callers that count outcomes).
 */
int fz_check_review(const struct hw_policy *p, const char *body, size_t len);

/* 1 when s (n bytes) is well-formed UTF-8. */
int fz_utf8_ok(const char *s, size_t n);

/* Quietens the log (the handler logs nothing, but the policy loader may). */
void fz_init(void);

#endif

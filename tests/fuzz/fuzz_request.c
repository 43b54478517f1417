/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for the whole request path: bytes -> hw_handler_mutate()
 * (decode, policy, patch, encode) -> answer, under three policies (the
 * built-in default, one that enforces and merges everything and warns on
 * every rule, one that denies on every rule), with fuzz_common.c's
 * property check on each answer: envelope, uid echo, patch encoding, the
 * patch applies to request.object, and the policy applied to the patched
 * object asks for nothing more. It also answers every input through both
 * decoders (the scanner's fast skeleton and jansson's full parse) and
 * aborts unless the two answers are byte-identical.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "hookwarden/handler.h"
#include "hookwarden/policy.h"
#include "hookwarden/review.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char busy_policy[] =
    "{\"hook\":{\"events\":{\"mode\":\"enforce\",\"value\":\"pre-install,pre-upgrade\"},"
    "\"deletePolicy\":{\"mode\":\"enforce\",\"value\":\"before-hook-creation,hook-succeeded\"},"
    "\"weight\":{\"mode\":\"enforce\",\"value\":\"-5\"}},"
    "\"restartPolicy\":{\"mode\":\"enforce\",\"value\":\"Never\"},"
    "\"imagePullSecrets\":{\"mode\":\"merge\",\"names\":[\"registry-credentials\",\"mirror\"]},"
    "\"job\":{\"backoffLimit\":{\"mode\":\"enforce\",\"value\":1},"
    "\"activeDeadlineSeconds\":{\"mode\":\"add\",\"value\":240},"
    "\"ttlSecondsAfterFinished\":{\"mode\":\"enforce\",\"value\":3600}},"
    "\"rules\":{\"not-a-hook\":\"%s\",\"unknown-hook-value\":\"%s\","
    "\"ttl-after-finished\":{\"action\":\"%s\",\"minSeconds\":60},\"delete-policy\":\"%s\","
    "\"active-deadline\":{\"action\":\"%s\",\"helmTimeoutSeconds\":300},"
    "\"long-lived-sidecar\":{\"action\":\"%s\",\"containers\":[\"istio-proxy\","
    "\"cloud-sql-proxy\"]}}}";

static struct hw_policy *policies[3];

static struct hw_policy *
busy(const char *action)
{
    char text[sizeof(busy_policy) + 64];
    struct hw_error err = {0};
    struct hw_policy *p;

    snprintf(text, sizeof(text), busy_policy, action, action, action, action, action, action);
    p = hw_policy_parse(text, strlen(text), "fuzz-busy", NULL, &err);
    if (p == NULL) {
        fprintf(stderr, "fuzz_request: busy policy: %s\n", err.msg);
        abort();
    }
    return p;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    struct hw_error err = {0};

    (void)argc, (void)argv;
    fz_init();
    policies[0] = hw_policy_new_default(NULL, &err);
    if (policies[0] == NULL) {
        fprintf(stderr, "fuzz_request: default policy: %s\n", err.msg);
        abort();
    }
    policies[1] = busy("warn");
    policies[2] = busy("deny");
    return 0;
}

/* The fast decode must answer exactly as the full parse does. */
static void
same_as_full_parse(const struct hw_policy *p, const char *data, size_t size)
{
    struct hw_response fast = {0}, full = {0};

    hw_handler_mutate_with(p, data, size, 0, &fast);
    hw_handler_mutate_with(p, data, size, HW_REVIEW_FULL, &full);
    if (fast.status != full.status || fast.body_len != full.body_len ||
        memcmp(fast.body, full.body, fast.body_len) != 0) {
        fprintf(stderr, "fuzz_request: fast and full decode differ:\nfast %d %.*s\nfull %d %.*s\n",
                fast.status, (int)fast.body_len, fast.body, full.status, (int)full.body_len, full.body);
        abort();
    }
    hw_response_clear(&fast);
    hw_response_clear(&full);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    for (size_t i = 0; i < 3; i++) {
        fz_check_review(policies[i], (const char *)data, size);
        same_as_full_parse(policies[i], (const char *)data, size);
    }
    return 0;
}

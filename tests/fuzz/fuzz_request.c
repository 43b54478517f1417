/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for the whole request path: bytes -> hw_handler_mutate()
 * (decode, policy, patch, encode) -> answer, under three policies (the
 * built-in default, one that enforces and merges everything and warns on
 * every rule, one that denies on every rule), with fuzz_common.c's
 * property check on each answer: envelope, uid echo, patch encoding, the
 * patch applies to request.object, and the policy applied to the patched
 * object asks for nothing more.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "hookwarden/policy.h"

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

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    for (size_t i = 0; i < 3; i++)
        fz_check_review(policies[i], (const char *)data, size);
    return 0;
}

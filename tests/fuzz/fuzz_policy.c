/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for the policy file parser: bytes -> hw_policy_check()
 * and hw_policy_parse(). Properties: the two agree (a policy builds exactly
 * when the check reports no problem), every problem is reported as
 * "source:line:col: message", and the refusal message the reload log
 * carries is valid UTF-8. A policy that builds is then run over a few
 * AdmissionReviews with fuzz_common.c's full property check, so strange but
 * valid policies (enforce modes, odd hook values, long lists) must still
 * give patches that apply and are idempotent.
 */
#include <ctype.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "hookwarden/buf.h"
#include "hookwarden/policy.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REVIEW_HEAD                                                                             \
    "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":{"     \
    "\"uid\":\"7d4b8f2e-0000-4000-8000-000000000001\","                                       \
    "\"kind\":{\"group\":\"batch\",\"version\":\"v1\",\"kind\":\"Job\"},"

/* Reviews that reach every mutation and lint path of the default label. */
static const char *const reviews[] = {
    /* A release Job, not a hook: OnFailure, ttl 0, a sidecar, no deadline. */
    REVIEW_HEAD
    "\"operation\":\"CREATE\",\"namespace\":\"app\",\"object\":{\"apiVersion\":\"batch/v1\","
    "\"kind\":\"Job\",\"metadata\":{\"name\":\"migrate\",\"namespace\":\"app\",\"labels\":{"
    "\"hookwarden.io/migration\":\"true\"},\"annotations\":{\"meta.helm.sh/release-name\":\"app\"}},"
    "\"spec\":{\"ttlSecondsAfterFinished\":0,\"backoffLimit\":6,\"template\":{\"spec\":{"
    "\"restartPolicy\":\"OnFailure\",\"containers\":[{\"name\":\"m\",\"image\":\"atlas\"},"
    "{\"name\":\"istio-proxy\",\"image\":\"istio/proxyv2\"}]}}}}}}",
    /* A hook with odd values and an existing pull secret; no annotations map. */
    REVIEW_HEAD
    "\"operation\":\"CREATE\",\"namespace\":\"kube-system\",\"object\":{\"metadata\":{"
    "\"generateName\":\"m-\",\"labels\":{\"hookwarden.io/migration\":\"yes\",\"team\":\"db\"}},"
    "\"spec\":{\"activeDeadlineSeconds\":600,\"template\":{\"spec\":{\"imagePullSecrets\":["
    "{\"name\":\"registry-credentials\"}],\"containers\":[{\"name\":\"m\"}]}}}}}}",
    /* An UPDATE with hook annotations and nulls, as Helm renders them. */
    REVIEW_HEAD
    "\"operation\":\"UPDATE\",\"namespace\":\"db\",\"object\":{\"metadata\":{\"name\":\"m\","
    "\"labels\":{\"hookwarden.io/migration\":\"true\"},\"annotations\":{\"helm.sh/hook\":"
    "\"pre-upgrade, post-nothing\",\"helm.sh/hook-delete-policy\":\"hook-succeeded\","
    "\"helm.sh/hook-weight\":\"3\"}},\"spec\":{\"backoffLimit\":null,\"template\":{\"metadata\":"
    "null,\"spec\":{\"restartPolicy\":\"Never\",\"imagePullSecrets\":null,\"containers\":[]}}}},"
    "\"oldObject\":{\"metadata\":{\"name\":\"m\"}}}}",
};

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    fz_init();
    return 0;
}

/*
 * Each report line: "fuzz:LINE:COL: message\n", one per problem. Returns 1
 * when that holds, 0 when some line is not located (a continuation: a key,
 * value or jansson token from the file with a newline in it, reported), -1
 * when the report is wrong in another way.
 */
static int
report_shape(const struct hw_buf *report, int problems)
{
    const char *s = report->data ? report->data : "";
    int located = 0, other = 0;

    while (*s != '\0') {
        const char *nl = strchr(s, '\n');
        int line = 0, col = 0, used = 0;

        if (nl == NULL)
            return -1;
        if (sscanf(s, "fuzz:%d:%d: %n", &line, &col, &used) == 2 && used > 0 && line >= 1 &&
            col >= 0 && s + used < nl)
            located++;
        else if (located == 0)
            return -1;
        else
            other++;
        s = nl + 1;
    }
    if (other == 0)
        return located == problems ? 1 : -1;
    return located <= problems && problems <= located + other ? 0 : -1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    struct hw_error err = {0};
    struct hw_policy *p;
    struct hw_buf report;
    int problems, shape;

    hw_buf_init(&report, 0);
    problems = hw_policy_check(text, size, "fuzz", &report);
    shape = report_shape(&report, problems);
    FZ_ASSERT(shape >= 0, "check report is not one located line per problem (%d): %s", problems,
              report.data ? report.data : "");
    FZ_ASSERT(shape == 1,
             "a control character from the file breaks the check report: %s", report.data);
    hw_buf_free(&report);
    p = hw_policy_parse(text, size, "fuzz", NULL, &err);
    FZ_ASSERT((p != NULL) == (problems == 0), "check reports %d problems but parse %s", problems,
              p ? "succeeds" : "fails");
    if (p == NULL) {
        FZ_ASSERT(err.code == HW_EINVAL && strncmp(err.msg, "fuzz:", 5) == 0,
                  "refusal without a located message: %s", err.msg);
        FZ_ASSERT(fz_utf8_ok(err.msg, strlen(err.msg)),
                 "refusal message is not valid UTF-8 (the reload log drops it): %s", err.msg);
        return 0;
    }
    for (size_t i = 0; i < sizeof(reviews) / sizeof(reviews[0]); i++)
        fz_check_review(p, reviews[i], strlen(reviews[i]));
    hw_policy_unref(p);
    return 0;
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * handler: bytes in, {status, content type, body} out. It decodes the
 * AdmissionReview, runs the policy, builds the patch and encodes the answer,
 * and fills a summary for the request log and metrics. No HTTP-library or
 * JSON-library types cross this header: the server, the offline tools and
 * the tests drive exactly this function.
 */
#ifndef HOOKWARDEN_HANDLER_H
#define HOOKWARDEN_HANDLER_H

#include <stddef.h>

#include "hookwarden/error.h"
#include "hookwarden/policy.h"

enum hw_decision {
    HW_DECISION_ALLOWED = 0,  /* allowed, nothing to change */
    HW_DECISION_MUTATED,      /* allowed with a patch */
    HW_DECISION_DENIED,       /* allowed: false */
    HW_DECISION_ERROR         /* not an answer: a 4xx/5xx */
};

struct hw_response {
    int status;                   /* HTTP status */
    const char *content_type;     /* static */
    char *body;                   /* new: free with hw_response_clear() */
    size_t body_len;
    /* Summary for the log line and metrics (never the object body). */
    enum hw_decision decision;
    int operation;                /* enum hw_operation, or -1 when not decoded */
    size_t patch_ops;
    size_t n_warnings;
    size_t n_findings;
    struct {
        int rule;                 /* enum hw_rule */
        int action;               /* enum hw_action */
    } findings[HW_OUTCOME_MAX];
    char uid[64];
    char kind[64];
    char namespace_[64];
    char name[254];
    char error[HW_ERROR_MSG_MAX]; /* for 4xx/5xx: what was wrong */
    /* For the log line: the rules that fired as a JSON object, one key per
     * rule with its strongest action ({"not-a-hook":"warn"}), "" when none;
     * and the denial message sent to kube-apiserver, "" unless denied. */
    char rules[HW_RULE_COUNT * 48 + 4];
    char message[HW_DENY_MAX];
    /* The policy file's per-namespace overrides that applied, by index, as
     * a JSON array ("[0,2]"); "" when none did or the Job was not selected. */
    char overrides[HW_POLICY_OVERRIDES_MAX * 4 + 3];
};

/* Answers one AdmissionReview (body, len). Never fails: any problem
 * becomes a 4xx/5xx response with a JSON Status body naming it. res must
 * be zeroed, initialised (hw_response_init) or hold a previous response
 * (it is cleared first). */
void hw_handler_mutate(const struct hw_policy *policy, const char *body, size_t len,
                       struct hw_response *res);

/* The same with HW_REVIEW_* decode flags: HW_REVIEW_FULL makes jansson
 * parse the whole body (the reference the fast path is tested against). */
void hw_handler_mutate_with(const struct hw_policy *policy, const char *body, size_t len,
                            unsigned decode, struct hw_response *res);

/* Fills res with an error answer: status from code, a Kubernetes Status body. */
void hw_handler_error(enum hw_error_code code, const char *message, struct hw_response *res);

/* Fills res with a fixed text body (probes, metrics). text is copied. */
void hw_handler_text(int status, const char *content_type, const char *text, size_t len,
                     struct hw_response *res);

const char *hw_handler_decision_name(enum hw_decision d);

/* An empty response, allocating nothing: for a res not zeroed. */
void hw_response_init(struct hw_response *res);

/* Frees the body and empties the summary (counts and texts); res may be
 * reused. */
void hw_response_clear(struct hw_response *res);

#endif

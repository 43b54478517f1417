/* SPDX-License-Identifier: Apache-2.0 */
/*
 * handler: the request path between bytes and bytes: review decode, policy,
 * patch, review encode. Errors become Kubernetes Status bodies with the
 * status from error.c's table, so kube-apiserver and curl users both see a
 * message naming the problem. It does no I/O and holds no state.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hookwarden/handler.h"
#include "hookwarden/patch.h"
#include "hookwarden/review.h"
#include "hookwarden/text.h"

#define RESPONSE_MAX (4u * 1024 * 1024)

static const char *const decision_names[] = {"allowed", "mutated", "denied", "error"};

const char *
hw_handler_decision_name(enum hw_decision d)
{
    return (size_t)d < 4 ? decision_names[d] : "unknown";
}

/* Empty summary: counts and the first byte of each text (a response is
 * some 3.5 KiB, cleared several times per request). */
static void
reset(struct hw_response *res)
{
    res->status = 0;
    res->content_type = NULL;
    res->body_len = 0;
    res->decision = HW_DECISION_ALLOWED;
    res->operation = -1;
    res->patch_ops = res->n_warnings = res->n_findings = 0;
    res->uid[0] = res->kind[0] = res->namespace_[0] = res->name[0] = '\0';
    res->error[0] = res->rules[0] = res->message[0] = res->overrides[0] = '\0';
}

void
hw_response_init(struct hw_response *res)
{
    res->body = NULL;
    reset(res);
}

void
hw_response_clear(struct hw_response *res)
{
    free(res->body);
    res->body = NULL;
    reset(res);
}

/* Copies src, cut to dstsz - 1 bytes at the last complete UTF-8 character. */
static void
copy_field(char *dst, size_t dstsz, const char *src)
{
    size_t n = src != NULL ? hw_text_cut(src, strlen(src), dstsz - 1) : 0;

    if (n > 0)
        memcpy(dst, src, n);
    dst[n] = '\0';
}

void
hw_handler_text(int status, const char *content_type, const char *text, size_t len,
                struct hw_response *res)
{
    free(res->body);
    res->body = malloc(len + 1);
    res->status = status;
    res->content_type = content_type;
    res->body_len = 0;
    if (res->body == NULL) {
        res->status = 500;
        return;
    }
    memcpy(res->body, text, len);
    res->body[len] = '\0';
    res->body_len = len;
}

void
hw_handler_error(enum hw_error_code code, const char *message, struct hw_response *res)
{
    struct hw_buf b;
    int status = hw_error_http_status(code);

    hw_buf_init(&b, 0);
    copy_field(res->error, sizeof(res->error), message);
    res->decision = HW_DECISION_ERROR;
    if (hw_buf_append_str(&b, "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},"
                              "\"status\":\"Failure\",\"message\":") != 0 ||
        hw_buf_append_json_string(&b, message, strlen(message)) != 0 ||
        hw_buf_printf(&b, ",\"reason\":\"%s\",\"code\":%d}\n", hw_error_reason(code), status) != 0) {
        hw_buf_free(&b);
        hw_handler_text(500, "text/plain", "out of memory\n", 14, res);
        return;
    }
    free(res->body);
    res->status = status;
    res->content_type = "application/json";
    res->body = hw_buf_steal(&b, &res->body_len);
}

/* Appends text at dst + used (dstsz bytes in all), cut to fit with its NUL;
 * the new length. For the short ASCII names of rules and actions. */
static size_t
append_text(char *dst, size_t dstsz, size_t used, const char *text)
{
    size_t n = strlen(text);

    if (used >= dstsz)
        return used;
    if (n > dstsz - used - 1)
        n = dstsz - used - 1;
    memcpy(dst + used, text, n);
    dst[used + n] = '\0';
    return used + n;
}

/* Valid auditAnnotations keys: a name part, <= 63, alnum at both ends. */
static void
audit_lists(const struct hw_outcome *oc, char *mutated, size_t msz, char (*keys)[64],
            const char **vals, size_t *n)
{
    size_t used = 0;

    *n = 0;
    mutated[0] = '\0';
    for (size_t i = 0; i < oc->n_changes; i++) {
        size_t w = strlen(oc->changes[i]) + (i > 0);

        if (w >= msz - used)
            break;
        if (i > 0)
            mutated[used] = ',';
        memcpy(mutated + used + (i > 0), oc->changes[i], w - (i > 0) + 1);
        used += w;
    }
    /* The stored template is immutable: say which fields the policy would
     * change, on every answer about this Job (the same value each time). */
    if (oc->stale[0] != '\0') {
        memcpy(keys[*n], "stale-template", sizeof("stale-template"));
        vals[(*n)++] = oc->stale;
    }
    /* One key per rule: a rule may find twice; the stronger action wins. */
    for (int r = 0; r < HW_RULE_COUNT; r++) {
        int action = -1;

        for (size_t i = 0; i < oc->n_findings; i++) {
            if ((int)oc->findings[i].rule == r && (int)oc->findings[i].action > action)
                action = (int)oc->findings[i].action;
        }
        if (action < 0)
            continue;
        append_text(keys[*n], 64, 0, "finding.");
        append_text(keys[*n], 64, 8, hw_policy_rule_name((enum hw_rule)r));
        vals[*n] = hw_policy_action_name((enum hw_action)action);
        (*n)++;
    }
}

/* res->rules: {"rule":"action",...} in rule order, strongest action per
 * rule (as the audit annotations); rule and action names are plain ASCII. */
static void
rules_text(const struct hw_outcome *oc, struct hw_response *res)
{
    size_t used = 0;

    res->rules[0] = '\0';
    for (int r = 0; r < HW_RULE_COUNT; r++) {
        int action = -1;

        for (size_t i = 0; i < oc->n_findings; i++) {
            if ((int)oc->findings[i].rule == r && (int)oc->findings[i].action > action)
                action = (int)oc->findings[i].action;
        }
        if (action < 0)
            continue;
        /* Sized for every rule with its longest action and the "}". */
        used = append_text(res->rules, sizeof(res->rules), used, used ? ",\"" : "{\"");
        used = append_text(res->rules, sizeof(res->rules), used, hw_policy_rule_name((enum hw_rule)r));
        used = append_text(res->rules, sizeof(res->rules), used, "\":\"");
        used = append_text(res->rules, sizeof(res->rules), used,
                           hw_policy_action_name((enum hw_action)action));
        used = append_text(res->rules, sizeof(res->rules), used, "\"");
    }
    if (used > 0)
        append_text(res->rules, sizeof(res->rules), used, "}");
}

/* The overrides that applied: res->overrides as "[0,2]", and the audit
 * annotation's value "0,2" into audit. */
static void
overrides_text(const struct hw_outcome *oc, struct hw_response *res, char *audit, size_t asz)
{
    size_t used = 0, aused = 0;

    res->overrides[0] = audit[0] = '\0';
    for (size_t i = 0; i < oc->n_overrides; i++) {
        int w = snprintf(res->overrides + used, sizeof(res->overrides) - used, "%s%u",
                         i ? "," : "[", (unsigned)oc->overrides[i]);
        int a = snprintf(audit + aused, asz - aused, "%s%u", i ? "," : "",
                         (unsigned)oc->overrides[i]);

        if (w < 0 || (size_t)w >= sizeof(res->overrides) - used - 1 || a < 0 ||
            (size_t)a >= asz - aused)
            break;
        used += (size_t)w;
        aused += (size_t)a;
    }
    if (used > 0)
        memcpy(res->overrides + used, "]", 2);
}

static void
fill_summary(const struct hw_review *rv, const struct hw_outcome *oc, struct hw_response *res)
{
    res->operation = (int)rv->operation;
    copy_field(res->uid, sizeof(res->uid), rv->uid);
    copy_field(res->kind, sizeof(res->kind), rv->kind);
    copy_field(res->namespace_, sizeof(res->namespace_), rv->namespace_);
    copy_field(res->name, sizeof(res->name), rv->name);
    res->n_warnings = oc->n_warnings;
    res->n_findings = oc->n_findings;
    for (size_t i = 0; i < oc->n_findings; i++) {
        res->findings[i].rule = (int)oc->findings[i].rule;
        res->findings[i].action = (int)oc->findings[i].action;
    }
    rules_text(oc, res);
}

void
hw_handler_mutate(const struct hw_policy *policy, const char *body, size_t len,
                  struct hw_response *res)
{
    hw_handler_mutate_with(policy, body, len, 0, res);
}

void
hw_handler_mutate_with(const struct hw_policy *policy, const char *body, size_t len,
                       unsigned decode, struct hw_response *res)
{
    struct hw_review rv;
    struct hw_outcome oc;
    struct hw_patch *patch = NULL;
    struct hw_answer ans = {0};
    struct hw_error err = {0};
    struct hw_buf out, ptext;
    const char *warnings[HW_OUTCOME_MAX], *akeys[HW_OUTCOME_MAX + 3], *avals[HW_OUTCOME_MAX + 3];
    char keys[HW_OUTCOME_MAX + 1][64], mutated[256], overrides[HW_POLICY_OVERRIDES_MAX * 4];
    size_t n_audit = 0;

    hw_response_clear(res);
    hw_buf_init(&out, RESPONSE_MAX);
    hw_buf_init(&ptext, RESPONSE_MAX);
    /* A typical answer fits: one allocation each instead of three. A
     * failure here shows again, and is handled, where the text is written. */
    (void)hw_buf_reserve(&out, 1024);
    (void)hw_buf_reserve(&ptext, 512);
    memset(&rv, 0, sizeof(rv));
    if (hw_review_decode(body, len, hw_policy_read_plan(policy), decode | hw_policy_review_needs(policy),
                         &rv, &err) != 0)
        goto fail;
    patch = hw_patch_new();
    if (patch == NULL) {
        hw_error_set(&err, HW_EINTERNAL, "out of memory");
        goto fail;
    }
    {
        struct hw_target t = {rv.operation, rv.group, rv.kind_version, rv.kind, rv.subresource,
                              rv.namespace_, rv.old_object};

        if (hw_policy_apply(policy, &t, rv.object, patch, &oc, &err) != 0)
            goto fail;
    }
    fill_summary(&rv, &oc, res);
    for (size_t i = 0; i < oc.n_warnings; i++)
        warnings[i] = oc.warnings[i];
    ans.warnings = warnings;
    ans.n_warnings = oc.n_warnings;
    audit_lists(&oc, mutated, sizeof(mutated), keys, avals + 1, &n_audit);
    for (size_t i = 0; i < n_audit; i++)
        akeys[i + 1] = keys[i];
    /* Which per-namespace overrides decided this answer, for the audit log. */
    overrides_text(&oc, res, overrides, sizeof(overrides));
    if (overrides[0] != '\0') {
        akeys[n_audit + 1] = "overrides";
        avals[n_audit + 1] = overrides;
        n_audit++;
    }
    if (oc.denied) {
        ans.allowed = 0;
        ans.status_code = 403;
        ans.status_reason = "Forbidden";
        ans.status_message = oc.deny_message;
        res->decision = HW_DECISION_DENIED;
        copy_field(res->message, sizeof(res->message), oc.deny_message);
    } else {
        ans.allowed = 1;
        res->decision = HW_DECISION_ALLOWED;
        if (hw_patch_count(patch) > 0) {
            if (hw_patch_dump(patch, &ptext, &err) != 0)
                goto fail;
            ans.patch = ptext.data;
            ans.patch_len = ptext.len;
            res->patch_ops = hw_patch_count(patch);
            res->decision = HW_DECISION_MUTATED;
        }
    }
    /* "mutated" only when there is a patch, so a reinvocation (no patch)
     * never writes the key again with another value. */
    if (res->decision == HW_DECISION_MUTATED && mutated[0] != '\0') {
        akeys[0] = "mutated";
        avals[0] = mutated;
        ans.audit_keys = akeys;
        ans.audit_values = avals;
        ans.n_audit = n_audit + 1;
    } else {
        ans.audit_keys = akeys + 1;
        ans.audit_values = avals + 1;
        ans.n_audit = n_audit;
    }
    if (hw_review_encode(&rv, &ans, &out, &err) != 0 || hw_buf_append(&out, "\n", 1) != 0)
        goto fail;
    res->status = 200;
    res->content_type = "application/json";
    res->body = hw_buf_steal(&out, &res->body_len);
    goto out;
fail:
    if (*rv.uid != '\0') {  /* decoded: a review without a uid is refused */
        res->operation = (int)rv.operation;
        copy_field(res->uid, sizeof(res->uid), rv.uid);
        copy_field(res->kind, sizeof(res->kind), rv.kind);
        copy_field(res->namespace_, sizeof(res->namespace_), rv.namespace_);
        copy_field(res->name, sizeof(res->name), rv.name);
    }
    hw_handler_error(err.code != HW_OK ? err.code : HW_EINTERNAL,
                     err.msg[0] ? err.msg : "internal error", res);
out:
    hw_buf_free(&out);
    hw_buf_free(&ptext);
    hw_patch_free(patch);
    hw_review_clear(&rv);
}

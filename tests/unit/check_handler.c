/* SPDX-License-Identifier: Apache-2.0 */
/*
 * handler: golden cases. Each tests/data/review/<case>/ holds request.json,
 * an optional policy.json and expected.json: the HTTP status and the body,
 * with response.patch shown decoded. They are compared as JSON. To write a
 * new case's expected.json, run with HW_GOLDEN_WRITE=1 and review it. Each
 * is answered under a memory budget, as the server does, and must leave no
 * JSON value behind in the budget's arena.
 */
#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hookwarden/budget.h"
#include "hookwarden/handler.h"
#include "testutil.h"

#define GOLDEN HW_TEST_DATA "/review"

static char cases[64][256];
static int n_cases;

static void
list_cases(void)
{
    struct dirent *e;
    DIR *d = opendir(GOLDEN);

    n_cases = 0;
    while (d != NULL && (e = readdir(d)) != NULL && n_cases < 64) {
        if (e->d_name[0] != '.')
            snprintf(cases[n_cases++], sizeof(cases[0]), "%s", e->d_name);
    }
    if (d != NULL)
        closedir(d);
}

static int
b64val(int c)
{
    const char *tbl = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const char *p = c ? strchr(tbl, c) : NULL;

    return p ? (int)(p - tbl) : -1;
}

/* Strict padded standard base64 decode; NULL when not. */
static json_t *
decode_patch(const char *s)
{
    size_t n = strlen(s), o = 0;
    char *out;
    json_t *j;

    if (n % 4 != 0)
        return NULL;
    out = malloc(n);
    for (size_t i = 0; i < n; i += 4) {
        int a = b64val(s[i]), b = b64val(s[i + 1]), c = s[i + 2] == '=' ? 0 : b64val(s[i + 2]),
            d = s[i + 3] == '=' ? 0 : b64val(s[i + 3]);

        if (a < 0 || b < 0 || c < 0 || d < 0) {
            free(out);
            return NULL;
        }
        out[o++] = (char)(a << 2 | b >> 4);
        if (s[i + 2] != '=')
            out[o++] = (char)((b & 15) << 4 | c >> 2);
        if (s[i + 3] != '=')
            out[o++] = (char)((c & 3) << 6 | d);
    }
    j = json_loadb(out, o, 0, NULL);
    free(out);
    return j;
}

static struct hw_policy *
case_policy(const char *dir)
{
    char path[600];
    size_t len;
    char *text;
    struct hw_policy *p;
    struct hw_error err = {0};

    snprintf(path, sizeof(path), "%s/policy.json", dir);
    text = tu_read(path, &len);
    p = text ? hw_policy_parse(text, len, path, NULL, &err) : hw_policy_new_default(NULL, &err);
    ck_assert_msg(p != NULL, "%s: %s", dir, err.msg);
    free(text);
    return p;
}

START_TEST(test_handler_golden_case)
{
    char dir[400], path[600];
    struct hw_response res = {0};
    struct hw_budget budget;
    struct hw_policy *p;
    json_t *body, *resp, *actual, *expected;
    size_t len;
    char *request;

    snprintf(dir, sizeof(dir), "%s/%s", GOLDEN, cases[_i]);
    p = case_policy(dir);
    snprintf(path, sizeof(path), "%s/request.json", dir);
    request = tu_read(path, &len);
    ck_assert_ptr_nonnull(request);
    hw_budget_install();
    hw_budget_begin(&budget, 64u << 20);
    hw_handler_mutate(p, request, len, &res);
    hw_budget_end(&budget);
    ck_assert_uint_eq(hw_budget_arena_live(), 0);
    ck_assert_uint_eq(budget.used, 0);
    body = json_loadb(res.body, res.body_len, 0, NULL);
    ck_assert_msg(body != NULL, "%s: body is not JSON", cases[_i]);
    resp = json_object_get(body, "response");
    if (json_object_get(resp, "patch") != NULL) {
        json_t *ops = decode_patch(json_string_value(json_object_get(resp, "patch")));

        ck_assert_msg(ops != NULL, "%s: patch is not padded base64 of JSON", cases[_i]);
        json_object_set_new(resp, "patch", ops);
    }
    actual = json_pack("{s:i, s:o}", "status", res.status, "body", body);
    snprintf(path, sizeof(path), "%s/expected.json", dir);
    if (getenv("HW_GOLDEN_WRITE") != NULL && access(path, F_OK) != 0)
        json_dump_file(actual, path, JSON_INDENT(1) | JSON_SORT_KEYS);
    expected = tu_json(path);
    ck_assert_msg(json_equal(actual, expected), "%s differs:\n%s", cases[_i],
                  json_dumps(actual, JSON_INDENT(1) | JSON_SORT_KEYS));
    json_decref(actual);
    json_decref(expected);
    free(request);
    hw_response_clear(&res);
    hw_policy_unref(p);
}
END_TEST

START_TEST(test_handler_summary_names_the_request_for_the_log)
{
    char *request = tu_read(GOLDEN "/create-airflow-v1/request.json", NULL);
    struct hw_policy *p = hw_policy_new_default(NULL, NULL);
    struct hw_response res = {0};

    hw_handler_mutate(p, request, strlen(request), &res);
    ck_assert_int_eq(res.status, 200);
    ck_assert_int_eq(res.decision, HW_DECISION_MUTATED);
    ck_assert_int_eq(res.operation, 0);
    ck_assert_str_eq(res.kind, "Job");
    ck_assert_str_eq(res.namespace_, "airflow");
    ck_assert_str_eq(res.name, "airflow-run-airflow-migrations");
    ck_assert_int_eq(res.patch_ops, 3);
    ck_assert_int_eq(res.n_warnings, 1);
    hw_response_clear(&res);
    hw_policy_unref(p);
    free(request);
}
END_TEST

START_TEST(test_handler_errors_are_kubernetes_status_bodies)
{
    struct hw_response res = {0};
    json_t *j;

    hw_handler_error(HW_ETOOBIG, "request body is over the limit", &res);
    ck_assert_int_eq(res.status, 413);
    ck_assert_int_eq(res.decision, HW_DECISION_ERROR);
    ck_assert_str_eq(res.content_type, "application/json");
    j = json_loadb(res.body, res.body_len, 0, NULL);
    ck_assert_str_eq(json_string_value(json_object_get(j, "kind")), "Status");
    ck_assert_str_eq(json_string_value(json_object_get(j, "reason")), "RequestEntityTooLarge");
    ck_assert_int_eq(json_integer_value(json_object_get(j, "code")), 413);
    ck_assert_str_eq(json_string_value(json_object_get(j, "message")), "request body is over the limit");
    json_decref(j);
    hw_response_clear(&res);
}
END_TEST

START_TEST(test_handler_writes_one_audit_key_per_rule)
{
    const char *text = "{\"rules\":{\"unknown-hook-value\":\"warn\"}}";
    struct hw_policy *p = hw_policy_parse(text, strlen(text), "p", NULL, NULL);
    json_t *job = json_loads("{\"apiVersion\":\"batch/v1\",\"kind\":\"Job\",\"metadata\":{\"name\":\"j\","
                             "\"labels\":{\"hookwarden.io/migration\":\"true\"},\"annotations\":{"
                             "\"helm.sh/hook\":\"pre-instal\",\"helm.sh/hook-delete-policy\":\"on-success\"}},"
                             "\"spec\":{\"template\":{\"spec\":{\"restartPolicy\":\"Never\"}}}}", 0, NULL);
    char *body = tu_review(job, "CREATE", "admission.k8s.io/v1", NULL);
    struct hw_response res = {0};
    const char *first;

    hw_handler_mutate(p, body, strlen(body), &res);
    ck_assert_int_eq(res.n_findings, 2);  /* an unknown event and an unknown delete policy */
    first = strstr(res.body, "\"finding.unknown-hook-value\"");
    ck_assert_ptr_nonnull(first);
    ck_assert_ptr_null(strstr(first + 1, "\"finding.unknown-hook-value\""));
    hw_response_clear(&res);
    free(body);
    json_decref(job);
    hw_policy_unref(p);
}
END_TEST

START_TEST(test_handler_summary_carries_rules_and_denial_message_for_the_log)
{
    char *request = tu_read(GOLDEN "/create-zitadel-ttl-zero-denied/request.json", NULL);
    struct hw_policy *p = case_policy(GOLDEN "/create-zitadel-ttl-zero-denied");
    struct hw_policy *d = hw_policy_new_default(NULL, NULL);
    struct hw_response res = {0};
    json_t *rules, *body;

    hw_handler_mutate(p, request, strlen(request), &res);
    ck_assert_int_eq(res.decision, HW_DECISION_DENIED);
    rules = json_loads(res.rules, 0, NULL);
    ck_assert_msg(rules != NULL, "rules is not JSON: %s", res.rules);
    ck_assert_str_eq(json_string_value(json_object_get(rules, "ttl-after-finished")), "deny");
    /* The message is the one kube-apiserver shows the user, word for word. */
    body = json_loadb(res.body, res.body_len, 0, NULL);
    ck_assert_str_eq(res.message, json_string_value(json_object_get(
                                      json_object_get(json_object_get(body, "response"), "status"), "message")));
    ck_assert_ptr_nonnull(strstr(res.message, "ttl-after-finished"));
    json_decref(body);
    json_decref(rules);
    /* Allowed with no rule firing: both empty. */
    hw_handler_mutate(d, request, strlen(request), &res);
    ck_assert_int_ne(res.decision, HW_DECISION_DENIED);
    ck_assert_str_eq(res.message, "");
    ck_assert_str_eq(res.rules, "");
    hw_response_clear(&res);
    hw_policy_unref(p);
    hw_policy_unref(d);
    free(request);
}
END_TEST

/* A response reused for the next request (the server keeps one per
 * connection) carries nothing of the previous one into the log line. */
START_TEST(test_handler_summary_of_a_reused_response_starts_empty)
{
    static const char policy[] = "{\"overrides\":[{\"namespaces\":[\"zitadel\"],"
                                 "\"rules\":{\"ttl-after-finished\":\"deny\"}}]}";
    char *request = tu_read(GOLDEN "/create-zitadel-ttl-zero-denied/request.json", NULL);
    struct hw_policy *p = hw_policy_parse(policy, strlen(policy), "p.json", NULL, NULL);
    struct hw_response res = {0};

    ck_assert_ptr_nonnull(p);
    hw_handler_mutate(p, request, strlen(request), &res);
    ck_assert_int_eq(res.decision, HW_DECISION_DENIED);
    ck_assert_str_eq(res.overrides, "[0]");
    ck_assert_str_ne(res.rules, "");
    hw_handler_mutate(p, "{", 1, &res);
    ck_assert_int_eq(res.decision, HW_DECISION_ERROR);
    ck_assert_str_eq(res.overrides, "");
    ck_assert_str_eq(res.rules, "");
    ck_assert_str_eq(res.message, "");
    ck_assert_str_eq(res.uid, "");
    hw_response_clear(&res);
    hw_policy_unref(p);
    free(request);
}
END_TEST

START_TEST(test_handler_summary_names_a_warning_rule_without_a_message)
{
    char *request = tu_read(GOLDEN "/create-posthog-not-a-hook-warns/request.json", NULL);
    struct hw_policy *p = hw_policy_new_default(NULL, NULL);
    struct hw_response res = {0};

    hw_handler_mutate(p, request, strlen(request), &res);
    ck_assert_int_ne(res.decision, HW_DECISION_DENIED);
    ck_assert_str_eq(res.rules, "{\"not-a-hook\":\"warn\"}");
    ck_assert_str_eq(res.message, "");
    hw_response_clear(&res);
    hw_policy_unref(p);
    free(request);
}
END_TEST

Suite *hw_suite_handler(void);

Suite *
hw_suite_handler(void)
{
    Suite *s = suite_create("handler");
    TCase *tc = tcase_create("golden");

    list_cases();
    tcase_add_loop_test(tc, test_handler_golden_case, 0, n_cases);
    tcase_add_test(tc, test_handler_summary_names_the_request_for_the_log);
    tcase_add_test(tc, test_handler_errors_are_kubernetes_status_bodies);
    tcase_add_test(tc, test_handler_writes_one_audit_key_per_rule);
    tcase_add_test(tc, test_handler_summary_carries_rules_and_denial_message_for_the_log);
    tcase_add_test(tc, test_handler_summary_names_a_warning_rule_without_a_message);
    tcase_add_test(tc, test_handler_summary_of_a_reused_response_starts_empty);
    suite_add_tcase(s, tc);
    return s;
}

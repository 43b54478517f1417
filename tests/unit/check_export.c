/* SPDX-License-Identifier: Apache-2.0 */
/*
 * export and cel: the objects `hookwarden export admission-policy` writes
 * (which, when, their names, bindings, actions), the refusals, the
 * describe round trip the exporter reads the policy through, CEL literals,
 * and a guard against drift: every text the webhook writes for a rule must
 * appear in the export word for word. That the exported CEL decides as the
 * webhook does is proven by tests/deploy/native (make test-native), which
 * evaluates it.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "hookwarden/cel.h"
#include "hookwarden/export.h"
#include "hookwarden/yaml.h"
#include "testutil.h"

struct exported {
    struct hw_buf out, notes;
    struct hw_yaml_stream *s;
    int rc;
    struct hw_error err;
};

static void
export_policy(const char *text, const char *name, struct exported *e)
{
    struct hw_policy *p = tu_policy(text);
    struct hw_export_options opt = {.name = name};

    memset(e, 0, sizeof(*e));
    hw_buf_init(&e->out, 0);
    hw_buf_init(&e->notes, 0);
    e->rc = hw_export_admission_policy(p, &opt, &e->out, &e->notes, &e->err);
    if (e->rc == 0) {
        hw_buf_append(&e->out, "", 1);
        e->s = hw_yaml_parse(e->out.data, e->out.len - 1, "export", &e->err);
        ck_assert_msg(e->s != NULL, "export is not YAML: %s", e->err.msg);
    }
    hw_policy_unref(p);
}

static void
exported_free(struct exported *e)
{
    hw_yaml_free(e->s);
    hw_buf_free(&e->out);
    hw_buf_free(&e->notes);
}

/* The document of kind and name, or NULL. */
static const json_t *
doc(const struct exported *e, const char *kind, const char *name)
{
    for (size_t i = 0; e->s != NULL && i < e->s->n_docs; i++) {
        const json_t *v = e->s->docs[i].value;

        if (strcmp(json_string_value(json_object_get(v, "kind")), kind) == 0 &&
            strcmp(json_string_value(json_object_get(json_object_get(v, "metadata"), "name")), name) == 0)
            return v;
    }
    return NULL;
}

static const json_t *
spec(const json_t *v, const char *key)
{
    return json_object_get(json_object_get(v, "spec"), key);
}

START_TEST(test_export_default_policy_is_a_mutating_policy_and_a_warn_policy)
{
    struct exported e;
    const json_t *map, *vap, *vb;

    export_policy(NULL, NULL, &e);
    ck_assert_int_eq(e.rc, 0);
    ck_assert_uint_eq(e.s->n_docs, 4);
    map = doc(&e, "MutatingAdmissionPolicy", "hookwarden");
    ck_assert_ptr_nonnull(map);
    ck_assert_str_eq(json_string_value(json_object_get(map, "apiVersion")), "admissionregistration.k8s.io/v1");
    ck_assert_str_eq(json_string_value(spec(map, "reinvocationPolicy")), "IfNeeded");
    ck_assert_str_eq(json_string_value(spec(map, "failurePolicy")), "Fail");
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(spec(map, "mutations"), 0), "patchType")),
                     "JSONPatch");
    ck_assert_ptr_nonnull(doc(&e, "MutatingAdmissionPolicyBinding", "hookwarden"));
    vap = doc(&e, "ValidatingAdmissionPolicy", "hookwarden");
    vb = doc(&e, "ValidatingAdmissionPolicyBinding", "hookwarden");
    ck_assert_ptr_nonnull(vap);
    ck_assert_ptr_nonnull(vb);
    ck_assert_str_eq(json_string_value(json_array_get(spec(vb, "validationActions"), 0)), "Warn");
    ck_assert_ptr_null(doc(&e, "ValidatingAdmissionPolicy", "hookwarden-deny"));
    /* Only not-a-hook is on by default: the stale template, its finding, its audit. */
    ck_assert_uint_eq(json_array_size(spec(vap, "validations")), 2);
    ck_assert_uint_eq(json_array_size(spec(vap, "auditAnnotations")), 2);
    exported_free(&e);
}
END_TEST

START_TEST(test_export_deny_rule_adds_a_deny_policy_bound_with_deny)
{
    struct exported e;
    const json_t *vap, *vb, *v;

    export_policy("{\"rules\":{\"ttl-after-finished\":\"deny\"}}", "mig", &e);
    ck_assert_int_eq(e.rc, 0);
    ck_assert_uint_eq(e.s->n_docs, 6);
    vap = doc(&e, "ValidatingAdmissionPolicy", "mig-deny");
    vb = doc(&e, "ValidatingAdmissionPolicyBinding", "mig-deny");
    ck_assert_ptr_nonnull(vap);
    ck_assert_ptr_nonnull(vb);
    ck_assert_str_eq(json_string_value(spec(vb, "policyName")), "mig-deny");
    ck_assert_str_eq(json_string_value(json_array_get(spec(vb, "validationActions"), 0)), "Deny");
    v = json_array_get(spec(vap, "validations"), 0);
    ck_assert_str_eq(json_string_value(json_object_get(v, "reason")), "Forbidden");
    ck_assert_str_eq(json_string_value(json_object_get(v, "messageExpression")), "variables.deny_message");
    /* The Warn policy still carries the ratchet's warning and note for it. */
    ck_assert_ptr_nonnull(strstr(e.out.data, "rule ttl-after-finished is not enforced on this update: "
                                              "the stored Job already broke it"));
    exported_free(&e);
}
END_TEST

START_TEST(test_export_scope_is_label_selector_and_namespace_conditions)
{
    struct exported e;
    const json_t *map, *req, *conds;

    export_policy("{\"selector\":{\"labelKey\":\"example.com/m\",\"labelValues\":[]},"
                  "\"namespaces\":{\"include\":[\"a\",\"b\"],\"exclude\":[\"c\"]}}", NULL, &e);
    ck_assert_int_eq(e.rc, 0);
    map = doc(&e, "MutatingAdmissionPolicy", "hookwarden");
    req = json_array_get(json_object_get(json_object_get(spec(map, "matchConstraints"), "objectSelector"),
                                         "matchExpressions"), 0);
    ck_assert_str_eq(json_string_value(json_object_get(req, "key")), "example.com/m");
    ck_assert_str_eq(json_string_value(json_object_get(req, "operator")), "Exists");
    conds = spec(map, "matchConditions");
    ck_assert_uint_eq(json_array_size(conds), 3);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(conds, 0), "name")), "namespace-included");
    ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(json_array_get(conds, 0), "expression")),
                                 " in ['a', 'b']"));
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(conds, 1), "name")),
                     "namespace-not-excluded");
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(conds, 2), "expression")),
                     "!has(object.metadata.deletionTimestamp)");
    exported_free(&e);
}
END_TEST

START_TEST(test_export_all_off_has_no_validating_policy_but_keeps_the_template)
{
    struct exported e;
    const json_t *map;

    export_policy("{\"hook\":{\"events\":{\"mode\":\"off\"},\"deletePolicy\":{\"mode\":\"off\"}},"
                  "\"restartPolicy\":{\"mode\":\"off\"},\"rules\":{\"not-a-hook\":\"off\"}}", NULL, &e);
    ck_assert_int_eq(e.rc, 0);
    ck_assert_uint_eq(e.s->n_docs, 2);
    map = doc(&e, "MutatingAdmissionPolicy", "hookwarden");
    /* UPDATE keeps restartPolicy and imagePullSecrets as stored, whatever the modes. */
    ck_assert_uint_eq(json_array_size(spec(map, "mutations")), 2);
    exported_free(&e);
}
END_TEST

START_TEST(test_export_refuses_a_bad_name_and_writes_nothing)
{
    static const char *const bad[] = {"Bad", "-a", "a-", "a.b", "",
                                      "a234567890123456789012345678901234567890x"};
    struct exported e;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        export_policy(NULL, bad[i], &e);
        ck_assert_int_eq(e.rc, -1);
        ck_assert_int_eq(e.err.code, HW_EINVAL);
        ck_assert_ptr_nonnull(strstr(e.err.msg, "--name"));
        ck_assert_uint_eq(e.out.len, 0);
        exported_free(&e);
    }
    ck_assert(hw_export_name_ok("a234567890123456789012345678901234567890"));
}
END_TEST

/* Per-namespace overrides: one set of objects per distinct effective
 * policy, each for the namespaces whose matching overrides give it. */
#define TEAMS "{\"imagePullSecrets\":{\"names\":[\"regcred\"]},\"overrides\":[" \
    "{\"namespaces\":[\"team-a-*\"],\"imagePullSecrets\":{\"names\":[\"a-pull\"]}}," \
    "{\"namespaces\":[\"team-b-*\"],\"imagePullSecrets\":{\"names\":[\"b-pull\"]}}," \
    "{\"namespaces\":[\"prod-*\",\"payments\"],\"rules\":{\"not-a-hook\":\"deny\"}}]}"

static const char *
condition(const json_t *policy, const char *name)
{
    size_t i;
    const json_t *c;

    json_array_foreach(spec(policy, "matchConditions"), i, c) {
        if (strcmp(json_string_value(json_object_get(c, "name")), name) == 0)
            return json_string_value(json_object_get(c, "expression"));
    }
    return NULL;
}

START_TEST(test_export_overrides_give_one_set_per_distinct_policy)
{
    static const char *const sets[] = {"hookwarden", "hookwarden-o0", "hookwarden-o1", "hookwarden-o2",
                                       "hookwarden-o0-2", "hookwarden-o1-2"};
    struct exported e;
    size_t maps = 0;

    export_policy(TEAMS, NULL, &e);
    ck_assert_int_eq(e.rc, 0);
    for (size_t i = 0; i < e.s->n_docs; i++) {
        const json_t *v = e.s->docs[i].value;

        ck_assert_str_eq(json_string_value(json_object_get(json_object_get(json_object_get(v, "metadata"),
                                                                           "labels"), "hookwarden.io/export")),
                         "hookwarden");
        maps += strcmp(json_string_value(json_object_get(v, "kind")), "MutatingAdmissionPolicy") == 0;
    }
    /* Teams a and b replace each other's list: {0,1} gives {1}'s policy. */
    ck_assert_uint_eq(maps, 6);
    for (size_t i = 0; i < 6; i++) {
        const json_t *map = doc(&e, "MutatingAdmissionPolicy", sets[i]);
        const char *cond;

        ck_assert_msg(map != NULL, "no MutatingAdmissionPolicy %s", sets[i]);
        cond = condition(map, "namespace-overrides");
        ck_assert_ptr_nonnull(cond);
        ck_assert_ptr_nonnull(strstr(cond, ".matches('^(?:prod-.*|payments)$')"));
        ck_assert_ptr_nonnull(doc(&e, "ValidatingAdmissionPolicy", sets[i]));
    }
    /* The base set is for namespaces no override matches. */
    ck_assert_ptr_nonnull(strstr(condition(doc(&e, "MutatingAdmissionPolicy", "hookwarden"), "namespace-overrides"),
                                 "(!(has(request.namespace)"));
    /* Only the sets with prod's override deny. */
    ck_assert_ptr_nonnull(doc(&e, "ValidatingAdmissionPolicy", "hookwarden-o2-deny"));
    ck_assert_ptr_nonnull(doc(&e, "ValidatingAdmissionPolicy", "hookwarden-o1-2-deny"));
    ck_assert_ptr_null(doc(&e, "ValidatingAdmissionPolicy", "hookwarden-deny"));
    ck_assert_ptr_null(doc(&e, "MutatingAdmissionPolicy", "hookwarden-o0-1"));
    exported_free(&e);
}
END_TEST

START_TEST(test_export_refuses_more_overrides_than_it_can_combine)
{
    char text[2048];
    size_t used = (size_t)snprintf(text, sizeof(text), "{\"overrides\":[");
    struct exported e;

    for (int i = 0; i < 9; i++)
        used += (size_t)snprintf(text + used, sizeof(text) - used,
                                 "%s{\"namespaces\":[\"team-%d\"],\"restartPolicy\":{\"mode\":\"add\"}}",
                                 i ? "," : "", i);
    snprintf(text + used, sizeof(text) - used, "]}");
    export_policy(text, NULL, &e);
    ck_assert_int_eq(e.rc, -1);
    ck_assert_int_eq(e.err.code, HW_EINVAL);
    ck_assert_msg(strstr(e.err.msg, "overrides: 9 entries") != NULL, "%s", e.err.msg);
    ck_assert_uint_eq(e.out.len, 0);
    exported_free(&e);
}
END_TEST

START_TEST(test_export_notes_say_what_reads_differently)
{
    struct exported e;

    export_policy(NULL, NULL, &e);
    ck_assert_ptr_nonnull(strstr(e.notes.data, "no warning channel"));
    /* not-a-hook depends on the final Job only: nothing reads differently. */
    ck_assert_ptr_null(strstr(e.notes.data, "rules.not-a-hook"));
    ck_assert_ptr_null(strstr(e.notes.data, "at most 16"));
    exported_free(&e);
    export_policy("{\"hook\":{\"events\":{\"mode\":\"off\"}},\"rules\":{\"not-a-hook\":\"deny\","
                  "\"unknown-hook-value\":\"deny\",\"delete-policy\":\"deny\",\"ttl-after-finished\":\"deny\","
                  "\"active-deadline\":\"deny\",\"long-lived-sidecar\":\"deny\"}}", NULL, &e);
    ck_assert_ptr_null(strstr(e.notes.data, "rules.not-a-hook"));
    ck_assert_ptr_nonnull(strstr(e.notes.data, "up to 17 warnings"));
    exported_free(&e);
}
END_TEST

/* ---- the webhook's texts, word for word ---- */

struct text_case {
    const char *annotations, *spec_json, *fragments[3];
};

/* Each fragment must be in a warning the webhook gives this Job (so a
 * change to policy.c's wording fails here) and in the export's CEL. */
static const struct text_case text_cases[] = {
    {"{\"meta.helm.sh/release-name\":\"r\"}", "{}",
     {"not a Helm hook: Helm installed it as a release resource, and any helm.sh/hook on it is inert; "
      "set the hook in the chart"}},
    {"{\"meta.helm.sh/release-name\":\"r\",\"helm.sh/hook\":\"post-install\"}", "{}",
     {"not a Helm hook: Helm installed it as a release resource, and any helm.sh/hook on it is inert; "
      "set the hook in the chart"}},
    {"{\"helm.sh/hook\":\"pre-install,later\"}", "{}",
     {"helm.sh/hook has unknown event \"", "\": Helm skips this Job entirely"}},
    {"{\"helm.sh/hook\":\"pre-install\",\"helm.sh/hook-delete-policy\":\"soon\"}", "{}",
     {"helm.sh/hook-delete-policy has unknown value \"", "\": Helm ignores it",
      "hook-delete-policy lacks before-hook-creation: a failed run blocks the next upgrade"}},
    {"{}", "{\"ttlSecondsAfterFinished\":0}",
     {"ttlSecondsAfterFinished ", " may delete the Job before Helm sees it finish"}},
    {"{}", "{}", {"activeDeadlineSeconds is not set: a hung migration runs into Helm's 300s timeout"}},
    {"{}", "{\"activeDeadlineSeconds\":900}",
     {"activeDeadlineSeconds ", " is not below Helm's 300s timeout: Helm gives up first"}},
};

static int
webhook_warns(const struct hw_outcome *oc, const char *fragment)
{
    for (size_t i = 0; i < oc->n_warnings; i++) {
        if (strstr(oc->warnings[i], fragment) != NULL)
            return 1;
    }
    return 0;
}

/* Every string of the exported objects, one per line. */
static void
strings_of(const json_t *v, struct hw_buf *out)
{
    size_t i;
    const char *k;
    const json_t *e;

    if (json_is_string(v)) {
        hw_buf_append_str(out, json_string_value(v));
        hw_buf_append(out, "\n", 1);
    }
    json_array_foreach(v, i, e)
        strings_of(e, out);
    if (json_is_object(v)) {
        json_object_foreach((json_t *)v, k, e)
            strings_of(e, out);
    }
}

/* fragment as it reads inside a CEL string literal. */
static int
in_cel(const char *text, const char *fragment)
{
    struct hw_buf lit;
    int found;

    hw_buf_init(&lit, 0);
    hw_cel_string(&lit, fragment, strlen(fragment));
    lit.data[lit.len - 1] = '\0';  /* the closing quote */
    found = strstr(text, lit.data + 1) != NULL;
    hw_buf_free(&lit);
    return found;
}

START_TEST(test_export_carries_the_webhooks_rule_texts)
{
    static const char all_warn[] =
        "{\"rules\":{\"not-a-hook\":\"warn\",\"unknown-hook-value\":\"warn\",\"delete-policy\":\"warn\","
        "\"ttl-after-finished\":\"warn\",\"active-deadline\":\"warn\",\"long-lived-sidecar\":\"warn\"}}";
    const struct text_case *tc = &text_cases[_i];
    struct hw_policy *p = tu_policy(all_warn);
    struct hw_target t = {HW_OP_CREATE, "batch", "v1", "Job", "", "default", NULL};
    struct hw_patch *patch = hw_patch_new();
    struct hw_outcome oc;
    struct exported e;
    struct hw_buf text;
    json_t *job = tu_json("jobs/airflow-migrate.json"), *meta = json_object_get(job, "metadata");
    json_t *extra = json_loads(tc->spec_json, 0, NULL);

    json_object_set_new(meta, "labels", json_pack("{s:s}", "hookwarden.io/migration", "true"));
    json_object_set_new(meta, "annotations", json_loads(tc->annotations, 0, NULL));
    json_object_del(json_object_get(job, "spec"), "ttlSecondsAfterFinished");
    json_object_update(json_object_get(job, "spec"), extra);
    ck_assert_int_eq(hw_policy_apply(p, &t, job, patch, &oc, NULL), 0);
    export_policy(all_warn, NULL, &e);
    hw_buf_init(&text, 0);
    for (size_t i = 0; i < e.s->n_docs; i++)
        strings_of(e.s->docs[i].value, &text);
    hw_buf_append(&text, "", 1);
    for (size_t i = 0; i < 3 && tc->fragments[i] != NULL; i++) {
        ck_assert_msg(webhook_warns(&oc, tc->fragments[i]), "the webhook no longer writes: %s",
                      tc->fragments[i]);
        ck_assert_msg(in_cel(text.data, tc->fragments[i]), "the export does not write: %s", tc->fragments[i]);
    }
    hw_buf_free(&text);
    exported_free(&e);
    json_decref(extra);
    json_decref(job);
    hw_patch_free(patch);
    hw_policy_unref(p);
}
END_TEST

/* ---- the describe round trip and CEL text ---- */

START_TEST(test_describe_is_a_policy_file_equal_in_effect)
{
    struct hw_policy *p = tu_policy("{\"imagePullSecrets\":{\"names\":[\"a\",\"b\"]},\"job\":{\"backoffLimit\":"
                                 "{\"mode\":\"enforce\",\"value\":2}},\"rules\":{\"ttl-after-finished\":"
                                 "{\"action\":\"deny\",\"minSeconds\":30}}}");
    json_t *d = hw_policy_to_json(p, NULL), *d2;
    char *text = json_dumps(d, 0);
    struct hw_policy *q = tu_policy(text);

    d2 = hw_policy_to_json(q, NULL);
    ck_assert(json_equal(d, d2));
    ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(json_object_get(d, "rules"),
                                                                       "ttl-after-finished"), "minSeconds")), 30);
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(d, "imagePullSecrets"), "mode")), "merge");
    free(text);
    json_decref(d);
    json_decref(d2);
    hw_policy_unref(p);
    hw_policy_unref(q);
}
END_TEST

START_TEST(test_cel_string_escapes_quotes_backslashes_and_controls)
{
    struct hw_buf b;

    hw_buf_init(&b, 0);
    ck_assert_int_eq(hw_cel_string(&b, "a'b\\c\n\x01\x7f\xc2\x85\xc3\xa9", 12), 0);
    hw_buf_append(&b, "", 1);
    ck_assert_str_eq(b.data, "'a\\'b\\\\c\\u000a\\u0001\\u007f\\u0085\xc3\xa9'");
    hw_buf_free(&b);
}
END_TEST

/* The deepest string a Job's containers can hold, in the Job schema the
 * stand-in pins; the export's walk for a way to stop must reach it. */
static int
depth(const json_t *defs, const json_t *n, int budget)
{
    const char *ref = json_string_value(json_object_get(n, "$ref"));
    const json_t *v;
    const char *k;
    int best = -1;

    if (budget == 0)
        return -1;
    if (ref != NULL)
        return depth(defs, json_object_get(defs, ref), budget - 1);
    if (json_is_string(json_object_get(n, "type")) && strcmp(json_string_value(json_object_get(n, "type")), "string") == 0)
        return 0;
    if ((v = json_object_get(n, "items")) != NULL && depth(defs, v, budget - 1) >= 0)
        best = 1 + depth(defs, v, budget - 1);
    json_object_foreach(json_object_get(n, "properties"), k, v) {
        int d = depth(defs, v, budget - 1);

        if (d >= 0 && d + 1 > best)
            best = d + 1;
    }
    if ((v = json_object_get(n, "additionalProperties")) != NULL && json_is_object(v)) {
        int d = depth(defs, v, budget - 1);

        if (d >= 0 && d + 1 > best)
            best = d + 1;
    }
    return best;
}

START_TEST(test_export_stop_walk_reaches_the_deepest_container_string)
{
    json_t *schema = tu_json(HW_TEST_DATA "/../apiserver/schema/job-v1.schema.json");
    json_t *list = json_pack("{s:s, s:{s:s}}", "type", "array", "items", "$ref", "core/v1.Container");
    struct exported e;
    char needle[32];
    int d = depth(json_object_get(schema, "definitions"), list, 40);

    ck_assert_int_ge(d, 7);
    export_policy("{\"rules\":{\"long-lived-sidecar\":\"warn\"}}", NULL, &e);
    snprintf(needle, sizeof(needle), ".exists(v%d, ", d);
    ck_assert_msg(strstr(e.out.data, needle) != NULL, "the walk does not reach depth %d", d);
    exported_free(&e);
    json_decref(list);
    json_decref(schema);
}
END_TEST

Suite *hw_suite_export(void);

Suite *
hw_suite_export(void)
{
    Suite *s = suite_create("export");
    TCase *tc = tcase_create("export");

    tcase_add_test(tc, test_export_default_policy_is_a_mutating_policy_and_a_warn_policy);
    tcase_add_test(tc, test_export_deny_rule_adds_a_deny_policy_bound_with_deny);
    tcase_add_test(tc, test_export_scope_is_label_selector_and_namespace_conditions);
    tcase_add_test(tc, test_export_all_off_has_no_validating_policy_but_keeps_the_template);
    tcase_add_test(tc, test_export_refuses_a_bad_name_and_writes_nothing);
    tcase_add_test(tc, test_export_overrides_give_one_set_per_distinct_policy);
    tcase_add_test(tc, test_export_refuses_more_overrides_than_it_can_combine);
    tcase_add_test(tc, test_export_notes_say_what_reads_differently);
    tcase_add_loop_test(tc, test_export_carries_the_webhooks_rule_texts, 0,
                        (int)(sizeof(text_cases) / sizeof(text_cases[0])));
    tcase_add_test(tc, test_describe_is_a_policy_file_equal_in_effect);
    tcase_add_test(tc, test_cel_string_escapes_quotes_backslashes_and_controls);
    tcase_add_test(tc, test_export_stop_walk_reaches_the_deepest_container_string);
    suite_add_tcase(s, tc);
    return s;
}

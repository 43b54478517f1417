/* SPDX-License-Identifier: Apache-2.0 */
/*
 * policylayer: per-namespace overrides. Namespace patterns; each override
 * key reaching exactly its field (the field table against the schema);
 * overrides in file order after the command line; the effective policy for
 * a namespace through the webhook's handler (secrets, denials, the audit
 * annotation and log field naming the overrides), on CREATE and on UPDATE
 * of a Job that predates the override; the policy written back as a
 * document and read again; the read-only view export builds on.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "hookwarden/handler.h"
#include "hookwarden/policy.h"
#include "testutil.h"

#define TEAMS_YAML HW_TEST_DATA "/../../docs/policy-teams.yaml"
#define TEAMS_JSON HW_TEST_DATA "/policy/teams.json"

static struct hw_policy *
parse_ok(const char *text, const char *source, const struct hw_policy_overrides *ov)
{
    struct hw_error err = {0};
    struct hw_policy *p = hw_policy_parse(text, strlen(text), source, ov, &err);

    ck_assert_msg(p != NULL, "%s", err.msg);
    return p;
}

static struct hw_policy *
load_ok(const char *path)
{
    struct hw_error err = {0};
    struct hw_policy *p = hw_policy_load(path, NULL, &err);

    ck_assert_msg(p != NULL, "%s", err.msg);
    return p;
}

/* ---- patterns ---- */

static const struct {
    const char *pattern, *ns;
    int match;
} globs[] = {
    {"team-a-*", "team-a-api", 1}, {"team-a-*", "team-a-", 1},   {"team-a-*", "team-b-api", 0},
    {"team-a-*", "team-a", 0},     {"*-prod", "team-a-prod", 1}, {"*-prod", "prod", 0},
    {"payments", "payments", 1},   {"payments", "payments-2", 0}, {"*", "anything", 1},
    {"a*b*c", "aXXbYYc", 1},       {"a*b*c", "abcbc", 1},        {"a*b*c", "acb", 0},
    {"?", "a", 1},                 {"?", "ab", 0},               {"team-?", "team-1", 1},
    {"**x", "x", 1},               {"*a*", "bab", 1},            {"*a*", "bbb", 0},
};

START_TEST(test_policylayer_patterns_match_names_with_star_and_question_mark)
{
    ck_assert_msg(hw_policy_glob_is_match(globs[_i].pattern, globs[_i].ns) == globs[_i].match,
                  "%s vs %s", globs[_i].pattern, globs[_i].ns);
}
END_TEST

/* Every pattern that can never match a namespace name is refused; the
 * others load. */
static const struct {
    const char *pattern;
    int ok;
} reachable[] = {
    {"team-a-*", 1}, {"*", 1},    {"?", 1},      {"*-*", 1},     {"*-prod", 1}, {"a", 1},
    {"Team-A-*", 0}, {"-x", 0},   {"x-", 0},     {"*-", 0},      {"-*", 0},     {"a.b", 0},
    {"team_a", 0},   {"", 0},     {"a b", 0},
    {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 1},  /* 63 */
    {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 0}, /* 64 */
    {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa*", 1},
    {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa?-", 0},
};

START_TEST(test_policylayer_check_refuses_a_pattern_that_can_never_match)
{
    char text[300];
    struct hw_error err = {0};
    struct hw_policy *p;

    snprintf(text, sizeof(text), "{\"overrides\":[{\"namespaces\":[\"%s\"]}]}", reachable[_i].pattern);
    p = hw_policy_parse(text, strlen(text), "p.json", NULL, &err);
    ck_assert_msg((p != NULL) == reachable[_i].ok, "%s: %s", reachable[_i].pattern, err.msg);
    if (p == NULL)
        ck_assert_msg(strstr(err.msg, "p.json:1:30: namespace pattern \"") != NULL &&
                          strstr(err.msg, "can never match a namespace name") != NULL,
                      "%s", err.msg);
    hw_policy_unref(p);
}
END_TEST

/* ---- the file's overrides refused ---- */

static const struct {
    const char *text, *error;
} bad[] = {
    {"{\"overrides\":{}}", "p.json:1:2: /overrides must be a list of overrides"},
    {"{\"overrides\":[[]]}", "p.json:1:15: /overrides/0 must be an object with namespaces"},
    {"{\"overrides\":[{\"rules\":{}}]}", "p.json:1:15: /overrides/0 needs namespaces"},
    {"{\"overrides\":[{\"namespaces\":\"a\"}]}", "p.json:1:16: /overrides/0/namespaces must be an array"},
    {"{\"overrides\":[{\"namespaces\":[]}]}", "p.json:1:16: /overrides/0/namespaces is empty"},
    {"{\"overrides\":[{\"namespaces\":[1]}]}", "p.json:1:30: /overrides/0/namespaces/0 must be a string"},
    {"{\"overrides\":[{\"namespaces\":[\"a\"],\"imagePullSecret\":{}}]}",
     "p.json:1:35: unknown key \"imagePullSecret\" in /overrides/0"},
    {"{\"overrides\":[{\"namespaces\":[\"a\"],\"selector\":{}}]}",
     "p.json:1:35: an override cannot set selector"},
    {"{\"overrides\":[{\"namespaces\":[\"a\"],\"overrides\":[]}]}", "p.json:1:35: overrides do not nest"},
    {"{\"overrides\":[{\"namespaces\":[\"a\"],\"namespaces\":[\"b\"]}]}", "p.json:1:46: duplicate object key"},
    {"{\"overrides\":[{\"namespaces\":[\"a\"],\"rules\":{\"not-a-hook\":\"loud\"}}]}",
     "p.json:1:44: /overrides/0/rules/not-a-hook must be one of off, warn, deny"},
    {"{\"overrides\":[{\"namespaces\":[\"a\"]},{\"namespaces\":[\"b\"],\"imagePullSecrets\":{\"names\":[\"B\"]}}]}",
     "p.json:1:85: \"B\" is not a valid Secret name"},
    {"{\"overrides\":[{\"namespaces\":[\"a\"],\"job\":{\"backoffLimit\":{\"value\":-1}}}]}",
     "p.json:1:58: /overrides/0/job/backoffLimit must be between 0 and 2147483647"},
    {"{\"namespaces\":{\"include\":[\"a\",\"b\"]},\"overrides\":[{\"namespaces\":[\"c*\"]}]}",
     "p.json:1:65: namespace pattern \"c*\" matches none of namespaces.include"},
    {"{\"namespaces\":{\"exclude\":[\"b\"]},\"overrides\":[{\"namespaces\":[\"b\"]}]}",
     "p.json:1:61: namespace \"b\" is in namespaces.exclude"},
};

START_TEST(test_policylayer_refuses_bad_overrides_naming_line_and_column)
{
    struct hw_error err = {0};
    struct hw_policy *p = hw_policy_parse(bad[_i].text, strlen(bad[_i].text), "p.json", NULL, &err);

    ck_assert_ptr_null(p);
    ck_assert_msg(strncmp(err.msg, bad[_i].error, strlen(bad[_i].error)) == 0, "case %d:\n got  %s\n want %s",
                  _i, err.msg, bad[_i].error);
}
END_TEST

START_TEST(test_policylayer_refuses_more_than_the_most_overrides)
{
    struct hw_buf text;
    struct hw_error err = {0};
    struct hw_policy *p;

    hw_buf_init(&text, 0);
    hw_buf_append_str(&text, "{\"overrides\":[");
    for (int i = 0; i <= HW_POLICY_OVERRIDES_MAX; i++)
        hw_buf_printf(&text, "%s{\"namespaces\":[\"n%d\"]}", i ? "," : "", i);
    hw_buf_append_str(&text, "]}");
    p = hw_policy_parse(text.data, text.len, "p.json", NULL, &err);
    ck_assert_ptr_null(p);
    ck_assert_str_eq(err.msg, "p.json:1:2: /overrides has more than 256 entries");
    hw_buf_free(&text);
}
END_TEST

/* ---- each key reaches its field, and only it ---- */

/* An override key and what the effective policy's document then says. */
static const struct {
    const char *set_path, *set_value;    /* written in the override */
    const char *show_path, *show_value;  /* changed in hw_policy_to_json() */
} keys[] = {
    {"/hook/events/mode", "\"enforce\"", NULL, NULL},
    {"/hook/events/value", "\"pre-upgrade\"", NULL, NULL},
    {"/hook/deletePolicy/mode", "\"enforce\"", NULL, NULL},
    {"/hook/deletePolicy/value", "\"hook-failed\"", NULL, NULL},
    {"/hook/weight/mode", "\"add\"", NULL, NULL},
    {"/hook/weight/value", "\"-3\"", NULL, NULL},
    {"/restartPolicy/mode", "\"add\"", NULL, NULL},
    {"/restartPolicy/value", "\"OnFailure\"", NULL, NULL},
    {"/imagePullSecrets/mode", "\"off\"", NULL, NULL},
    {"/imagePullSecrets/names", "[\"x1\",\"x2\"]", NULL, NULL},
    {"/job/backoffLimit/mode", "\"enforce\"", NULL, NULL},
    {"/job/backoffLimit/value", "2", NULL, NULL},
    {"/job/activeDeadlineSeconds/mode", "\"add\"", NULL, NULL},
    {"/job/activeDeadlineSeconds/value", "99", NULL, NULL},
    {"/job/ttlSecondsAfterFinished/mode", "\"enforce\"", NULL, NULL},
    {"/job/ttlSecondsAfterFinished/value", "7", NULL, NULL},
    {"/rules/not-a-hook", "\"deny\"", NULL, NULL},
    {"/rules/unknown-hook-value", "{\"action\":\"warn\"}", "/rules/unknown-hook-value", "\"warn\""},
    {"/rules/ttl-after-finished", "\"deny\"", "/rules/ttl-after-finished/action", "\"deny\""},
    {"/rules/ttl-after-finished/minSeconds", "30", NULL, NULL},
    {"/rules/delete-policy", "\"warn\"", NULL, NULL},
    {"/rules/active-deadline/action", "\"deny\"", NULL, NULL},
    {"/rules/active-deadline/helmTimeoutSeconds", "900", NULL, NULL},
    {"/rules/long-lived-sidecar/action", "\"warn\"", NULL, NULL},
    {"/rules/long-lived-sidecar/containers", "[\"envoy\"]", NULL, NULL},
};

/* Sets v (taken) at a path of plain keys, making objects on the way. */
static void
put(json_t *doc, const char *path, json_t *v)
{
    char key[128];

    for (;;) {
        size_t n = strcspn(path + 1, "/");
        json_t *next;

        memcpy(key, path + 1, n);
        key[n] = '\0';
        path += 1 + n;
        if (*path == '\0') {
            json_object_set_new(doc, key, v);
            return;
        }
        if ((next = json_object_get(doc, key)) == NULL) {
            next = json_object();
            json_object_set_new(doc, key, next);
        }
        doc = next;
    }
}

/* The leaves of a policy document, as "/a/b" paths (lists are leaves). */
static size_t
leaves(const json_t *doc, const char *prefix, char (*out)[128], size_t n)
{
    const char *k;
    const json_t *v;
    size_t count = 0;
    char path[128];

    json_object_foreach((json_t *)doc, k, v) {
        snprintf(path, sizeof(path), "%s/%s", prefix, k);
        if (json_is_object(v))
            count += leaves(v, path, out + count, n - count);
        else if (count < n)
            snprintf(out[count++], 128, "%s", path);
    }
    return count;
}

START_TEST(test_policylayer_each_override_key_sets_exactly_its_field)
{
    const char *show_path = keys[_i].show_path ? keys[_i].show_path : keys[_i].set_path;
    const char *show_value = keys[_i].show_value ? keys[_i].show_value : keys[_i].set_value;
    json_t *file = json_pack("{s:[{s:[s]}]}", "overrides", "namespaces", "t");
    struct hw_policy *p, *eff, *other;
    json_t *want, *got, *base;
    char *text, *g, *w;

    put(json_array_get(json_object_get(file, "overrides"), 0), keys[_i].set_path,
        json_loads(keys[_i].set_value, JSON_DECODE_ANY, NULL));
    text = json_dumps(file, 0);
    p = parse_ok(text, "p.json", NULL);
    eff = hw_policy_for_namespace(p, "t", NULL);
    other = hw_policy_for_namespace(p, "u", NULL);
    {
        struct hw_policy *d = hw_policy_new_default(NULL, NULL);

        want = hw_policy_to_json(d, NULL);
        base = hw_policy_to_json(d, NULL);
        hw_policy_unref(d);
    }
    put(want, show_path, json_loads(show_value, JSON_DECODE_ANY, NULL));
    got = hw_policy_to_json(eff, NULL);
    g = json_dumps(got, JSON_SORT_KEYS);
    w = json_dumps(want, JSON_SORT_KEYS);
    ck_assert_msg(!json_equal(want, base), "case %d changes nothing", _i);
    ck_assert_msg(json_equal(got, want), "%s:\n got  %s\n want %s", keys[_i].set_path, g, w);
    json_decref(got);
    /* A namespace the override does not name gets the base layer. */
    got = hw_policy_to_json(other, NULL);
    ck_assert(json_equal(got, base));
    free(g);
    free(w);
    free(text);
    json_decref(got);
    json_decref(want);
    json_decref(base);
    json_decref(file);
    hw_policy_unref(eff);
    hw_policy_unref(other);
    hw_policy_unref(p);
}
END_TEST

/* The table above covers every key an override may set. */
START_TEST(test_policylayer_every_per_namespace_key_is_tested)
{
    struct hw_policy *d = hw_policy_new_default(NULL, NULL);
    json_t *doc = hw_policy_to_json(d, NULL);
    char paths[64][128];
    size_t n = leaves(doc, "", paths, 64), per_namespace = 0;

    for (size_t i = 0; i < n; i++) {
        int found = 0;

        if (strncmp(paths[i], "/selector/", 10) == 0 || strncmp(paths[i], "/namespaces/", 12) == 0)
            continue;
        per_namespace++;
        for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]) && !found; k++)
            found = strcmp(keys[k].show_path ? keys[k].show_path : keys[k].set_path, paths[i]) == 0;
        ck_assert_msg(found, "no test sets %s in an override", paths[i]);
    }
    ck_assert_uint_eq(per_namespace, sizeof(keys) / sizeof(keys[0]));
    json_decref(doc);
    hw_policy_unref(d);
}
END_TEST

/* ---- the webhook's answers ---- */

/* A labelled release Job (Helm's stamp, no helm.sh/hook) in namespace ns. */
static json_t *
release_job(const char *ns, const char *const *pulls)
{
    json_t *job = json_pack("{s:s, s:s, s:{s:s, s:s, s:{s:s}, s:{s:s}}, s:{s:{s:{s:s, s:[{s:s, s:s}]}}}}",
                            "apiVersion", "batch/v1", "kind", "Job", "metadata", "name", "migrate",
                            "namespace", ns, "labels", "hookwarden.io/migration", "true",
                            "annotations", "meta.helm.sh/release-name", "app", "spec", "template",
                            "spec", "restartPolicy", "Never", "containers", "name", "m", "image",
                            "atlas");

    if (pulls != NULL) {
        json_t *list = json_array();

        for (size_t i = 0; pulls[i] != NULL; i++)
            json_array_append_new(list, json_pack("{s:s}", "name", pulls[i]));
        json_object_set_new(json_object_get(json_object_get(json_object_get(job, "spec"), "template"),
                                            "spec"), "imagePullSecrets", list);
    }
    return job;
}

/* "a,b": the pull Secrets of the Job's pod template. */
static void
pull_names(const json_t *job, char *out, size_t n)
{
    const json_t *list = json_object_get(
        json_object_get(json_object_get(json_object_get(job, "spec"), "template"), "spec"),
        "imagePullSecrets");
    const json_t *e;
    size_t i, used = 0;

    out[0] = '\0';
    json_array_foreach(list, i, e)
        used += (size_t)snprintf(out + used, n - used, "%s%s", i ? "," : "",
                                 json_string_value(json_object_get(e, "name")));
}

/* The worked example: what each namespace's release Job gets, from the
 * YAML file and from its JSON form. */
static const struct {
    const char *ns;
    const char *pulls;      /* imagePullSecrets after admission; NULL: denied */
    const char *overrides;  /* the handler's summary */
} teams[] = {
    {"dev", "regcred", ""},
    {"team-a-api", "team-a-pull", "[0]"},
    {"team-b-web", "team-b-pull,regcred", "[1]"},
    {"prod-shop", NULL, "[2]"},
    {"payments", NULL, "[2]"},
    {"team-a-prod", NULL, "[0,2]"},
    {"payments-eu", "regcred", ""},
};

START_TEST(test_policylayer_each_team_namespace_gets_its_layers)
{
    for (int f = 0; f < 2; f++) {
        struct hw_policy *p = load_ok(f ? TEAMS_JSON : TEAMS_YAML);
        json_t *job = release_job(teams[_i].ns, NULL);
        struct hw_target t = {HW_OP_CREATE, "batch", "v1", "Job", "", teams[_i].ns, NULL};
        struct hw_patch *patch = hw_patch_new();
        struct hw_outcome oc;
        char got[256];

        ck_assert_int_eq(hw_policy_apply(p, &t, job, patch, &oc, NULL), 0);
        ck_assert_int_eq(oc.selected, 1);
        ck_assert_int_eq(oc.denied, teams[_i].pulls == NULL);
        ck_assert_int_eq(oc.n_findings, 1);
        ck_assert_int_eq(oc.findings[0].rule, HW_RULE_NOT_A_HOOK);
        ck_assert_int_eq(oc.findings[0].action, teams[_i].pulls ? HW_ACTION_WARN : HW_ACTION_DENY);
        if (teams[_i].pulls != NULL) {
            pull_names(job, got, sizeof(got));
            ck_assert_str_eq(got, teams[_i].pulls);
        } else {
            ck_assert_ptr_nonnull(strstr(oc.deny_message, "Job \"" ));
            ck_assert_ptr_nonnull(strstr(oc.deny_message, "violates rule not-a-hook"));
        }
        snprintf(got, sizeof(got), "%s", oc.n_overrides ? "[" : "");
        for (size_t i = 0; i < oc.n_overrides; i++)
            snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s%u%s", i ? "," : "",
                     (unsigned)oc.overrides[i], i + 1 == oc.n_overrides ? "]" : "");
        ck_assert_str_eq(got, teams[_i].overrides);
        json_decref(job);
        hw_patch_free(patch);
        hw_policy_unref(p);
    }
}
END_TEST

/* The answer names the overrides: the audit annotation kube-apiserver
 * records, and the summary the admission log line carries. */
START_TEST(test_policylayer_answer_names_the_overrides_that_applied)
{
    struct hw_policy *p = load_ok(TEAMS_YAML);
    json_t *job = release_job("team-a-prod", NULL), *body, *audit;
    char *review = tu_review(job, "CREATE", "admission.k8s.io/v1", NULL);
    struct hw_response res = {0};

    hw_handler_mutate(p, review, strlen(review), &res);
    ck_assert_int_eq(res.status, 200);
    ck_assert_int_eq(res.decision, HW_DECISION_DENIED);
    ck_assert_str_eq(res.overrides, "[0,2]");
    body = json_loads(res.body, 0, NULL);
    audit = json_object_get(json_object_get(body, "response"), "auditAnnotations");
    ck_assert_str_eq(json_string_value(json_object_get(audit, "overrides")), "0,2");
    ck_assert_str_eq(json_string_value(json_object_get(audit, "finding.not-a-hook")), "deny");
    json_decref(body);
    free(review);
    json_decref(job);
    /* No override: no key, and an empty summary. */
    job = release_job("dev", NULL);
    review = tu_review(job, "CREATE", "admission.k8s.io/v1", NULL);
    hw_handler_mutate(p, review, strlen(review), &res);
    ck_assert_int_eq(res.decision, HW_DECISION_MUTATED);
    ck_assert_str_eq(res.overrides, "");
    body = json_loads(res.body, 0, NULL);
    audit = json_object_get(json_object_get(body, "response"), "auditAnnotations");
    ck_assert_ptr_null(json_object_get(audit, "overrides"));
    json_decref(body);
    free(review);
    json_decref(job);
    hw_response_clear(&res);
    hw_policy_unref(p);
}
END_TEST

/*
 * An override that changes for a namespace is a policy change for the Jobs
 * already there: on UPDATE the stored pod template stays (it is immutable)
 * and says what it lacks, and a rule the override turned to deny ratchets.
 */
START_TEST(test_policylayer_update_of_a_job_from_before_the_override_keeps_its_template)
{
    static const char *const old_pulls[] = {"regcred", NULL};
    struct hw_policy *p = load_ok(TEAMS_YAML);
    json_t *old = release_job("team-a-prod", old_pulls), *job = json_deep_copy(old);
    struct hw_target t = {HW_OP_UPDATE, "batch", "v1", "Job", "", "team-a-prod", old};
    struct hw_patch *patch = hw_patch_new();
    struct hw_outcome oc;
    char got[128];

    json_object_set_new(json_object_get(json_object_get(job, "metadata"), "labels"), "tier", json_string("db"));
    ck_assert_int_eq(hw_policy_apply(p, &t, job, patch, &oc, NULL), 0);
    ck_assert_int_eq(oc.denied, 0);
    ck_assert_str_eq(oc.stale, "imagePullSecrets");
    pull_names(job, got, sizeof(got));
    ck_assert_str_eq(got, "regcred");
    ck_assert_int_eq(oc.n_findings, 1);
    ck_assert_int_eq(oc.findings[0].waived, 1);
    ck_assert_int_eq(oc.n_overrides, 2);
    for (size_t i = 0; i < hw_patch_count(patch); i++)
        ck_assert_ptr_null(strstr(json_string_value(json_object_get(json_array_get(hw_patch_ops(patch), i),
                                                                    "path")), "/spec/template"));
    json_decref(old);
    json_decref(job);
    hw_patch_free(patch);
    hw_policy_unref(p);
}
END_TEST

/* A rule an override turns on reads what the base layer's rules did not:
 * the fast decoder must keep the containers for it. */
START_TEST(test_policylayer_a_rule_on_only_in_an_override_still_sees_the_containers)
{
    const char *text = "overrides:\n"
                       "  - namespaces: [mesh-*]\n"
                       "    rules: {long-lived-sidecar: warn, not-a-hook: \"off\"}\n";
    struct hw_policy *p = parse_ok(text, "p.yaml", NULL);
    struct hw_response res = {0};

    for (int i = 0; i < 2; i++) {
        json_t *job = release_job(i ? "mesh-a" : "plain", NULL), *c;
        char *review;

        c = json_object_get(json_object_get(json_object_get(json_object_get(job, "spec"), "template"),
                                            "spec"), "containers");
        json_array_append_new(c, json_pack("{s:s, s:s}", "name", "istio-proxy", "image", "istio/proxyv2"));
        review = tu_review(job, "CREATE", "admission.k8s.io/v1", NULL);
        hw_handler_mutate(p, review, strlen(review), &res);
        ck_assert_int_eq(res.status, 200);
        if (i) {
            ck_assert_int_eq(res.n_findings, 1);
            ck_assert_int_eq(res.findings[0].rule, HW_RULE_SIDECAR);
        } else {
            /* In other namespaces not-a-hook warns, as the default says. */
            ck_assert_int_eq(res.n_findings, 1);
            ck_assert_int_eq(res.findings[0].rule, HW_RULE_NOT_A_HOOK);
        }
        free(review);
        json_decref(job);
    }
    hw_response_clear(&res);
    hw_policy_unref(p);
}
END_TEST

/* ---- layers: file order, after the command line ---- */

START_TEST(test_policylayer_later_overrides_win_and_lists_replace)
{
    const char *text = "{\"imagePullSecrets\":{\"names\":[\"base\"]},\"overrides\":["
                       "{\"namespaces\":[\"a-*\"],\"imagePullSecrets\":{\"names\":[\"one\",\"two\"]},"
                       "\"restartPolicy\":{\"value\":\"OnFailure\"}},"
                       "{\"namespaces\":[\"*-x\"],\"imagePullSecrets\":{\"names\":[\"three\"]}}]}";
    struct hw_policy *p = parse_ok(text, "p.json", NULL);
    static const struct {
        const char *ns, *pulls, *restart;
    } want[] = {
        {"a-x", "three", "OnFailure"}, {"a-y", "one,two", "OnFailure"}, {"b-x", "three", "Never"},
        {"b-y", "base", "Never"},
    };

    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        struct hw_policy *e = hw_policy_for_namespace(p, want[i].ns, NULL);
        json_t *doc = hw_policy_to_json(e, NULL), *names;
        char got[64] = "";

        names = json_object_get(json_object_get(doc, "imagePullSecrets"), "names");
        for (size_t k = 0; k < json_array_size(names); k++)
            snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s%s", k ? "," : "",
                     json_string_value(json_array_get(names, k)));
        ck_assert_str_eq(got, want[i].pulls);
        ck_assert_str_eq(json_string_value(json_object_get(json_object_get(doc, "restartPolicy"), "value")),
                         want[i].restart);
        json_decref(doc);
        hw_policy_unref(e);
    }
    hw_policy_unref(p);
}
END_TEST

/* Flags replace the file's base layer; the overrides apply after them, but
 * none turns the hook annotations back on under --hook-annotations=false. */
START_TEST(test_policylayer_overrides_apply_after_the_command_line)
{
    static const char *const flag_pulls[] = {"from-flag"};
    const char *text = "overrides:\n"
                       "  - namespaces: [team-a-*]\n"
                       "    imagePullSecrets: {names: [team-a-pull]}\n"
                       "    hook: {events: {mode: enforce}, weight: {mode: add, value: \"-1\"}}\n";
    struct hw_policy_overrides ov = {.pull_secrets = flag_pulls, .n_pull_secrets = 1,
                                     .no_hook_annotations = 1};
    struct hw_policy *p = parse_ok(text, "p.yaml", &ov);
    static const struct {
        const char *ns, *pulls;
    } want[] = {{"dev", "from-flag"}, {"team-a-api", "team-a-pull"}};

    for (size_t i = 0; i < 2; i++) {
        json_t *job = release_job(want[i].ns, NULL), *ann;
        struct hw_target t = {HW_OP_CREATE, "batch", "v1", "Job", "", want[i].ns, NULL};
        struct hw_patch *patch = hw_patch_new();
        struct hw_outcome oc;
        char got[64];

        ck_assert_int_eq(hw_policy_apply(p, &t, job, patch, &oc, NULL), 0);
        pull_names(job, got, sizeof(got));
        ck_assert_str_eq(got, want[i].pulls);
        ann = json_object_get(json_object_get(job, "metadata"), "annotations");
        ck_assert_ptr_null(json_object_get(ann, "helm.sh/hook"));
        ck_assert_ptr_null(json_object_get(ann, "helm.sh/hook-weight"));
        json_decref(job);
        hw_patch_free(patch);
    }
    hw_policy_unref(p);
}
END_TEST

/* ---- the policy as a document ---- */

static const char *const documents[] = {
    NULL, "/../../docs/policy-example.json", "/../../docs/policy-example.yaml",
    "/../../docs/policy-teams.yaml", "/policy/teams.json", "/../../deploy/base/policy.yaml",
};

/* Written back and read again, a policy is the same policy; the built-in
 * default comes back as the default document, key for key. */
START_TEST(test_policylayer_policy_written_back_reads_as_the_same_policy)
{
    char path[512];
    struct hw_policy *p, *q;
    json_t *a, *b;
    char *text;

    if (documents[_i] == NULL) {
        p = hw_policy_new_default(NULL, NULL);
    } else {
        snprintf(path, sizeof(path), "%s%s", HW_TEST_DATA, documents[_i]);
        p = load_ok(path);
    }
    a = hw_policy_to_json(p, NULL);
    text = json_dumps(a, JSON_INDENT(2));
    q = parse_ok(text, "shown.json", NULL);
    b = hw_policy_to_json(q, NULL);
    ck_assert_msg(json_equal(a, b), "%s", text);
    ck_assert_uint_eq(hw_policy_override_count(q), hw_policy_override_count(p));
    if (documents[_i] == NULL) {
        json_t *def = json_loads(hw_policy_default_text(), 0, NULL);

        ck_assert(json_equal(a, def));
        json_decref(def);
    }
    free(text);
    json_decref(a);
    json_decref(b);
    hw_policy_unref(p);
    hw_policy_unref(q);
}
END_TEST

/* ---- the read-only view ---- */

START_TEST(test_policylayer_view_lists_overrides_their_patterns_and_places)
{
    struct hw_policy *p = load_ok(TEAMS_YAML), *e;
    const char *const *pats;
    size_t n, which[8], k;
    struct hw_error err = {0};
    char where[600];

    ck_assert_uint_eq(hw_policy_override_count(p), 3);
    pats = hw_policy_override_namespaces(p, 2, &n);
    ck_assert_uint_eq(n, 3);
    ck_assert_str_eq(pats[0], "prod-*");
    ck_assert_str_eq(pats[1], "*-prod");
    ck_assert_str_eq(pats[2], "payments");
    ck_assert_ptr_null(hw_policy_override_namespaces(p, 3, &n));
    ck_assert_uint_eq(n, 0);
    snprintf(where, sizeof(where), "%s:16:5", TEAMS_YAML);
    ck_assert_str_eq(hw_policy_override_where(p, 0), where);
    ck_assert_int_eq(hw_policy_override_has_namespace(p, 2, "team-a-prod"), 1);
    ck_assert_int_eq(hw_policy_override_has_namespace(p, 1, "team-a-prod"), 0);
    k = hw_policy_overrides_for(p, "team-a-prod", which);
    ck_assert_uint_eq(k, 2);
    ck_assert_uint_eq(which[0], 0);
    ck_assert_uint_eq(which[1], 2);
    ck_assert_int_eq(hw_policy_has_namespace(p, "anything"), 1);
    /* Any order of overrides may be asked for; an unknown one is refused. */
    which[0] = 2;
    which[1] = 0;
    e = hw_policy_with_overrides(p, which, 2, &err);
    ck_assert_ptr_nonnull(e);
    ck_assert_uint_eq(hw_policy_override_count(e), 0);
    hw_policy_unref(e);
    which[0] = 3;
    ck_assert_ptr_null(hw_policy_with_overrides(p, which, 1, &err));
    ck_assert_str_eq(err.msg, "no override 3: the policy has 3");
    hw_policy_unref(p);
}
END_TEST

Suite *hw_suite_policylayer(void);

Suite *
hw_suite_policylayer(void)
{
    Suite *s = suite_create("policylayer");
    TCase *tc = tcase_create("file");

    tcase_add_loop_test(tc, test_policylayer_patterns_match_names_with_star_and_question_mark, 0,
                        sizeof(globs) / sizeof(globs[0]));
    tcase_add_loop_test(tc, test_policylayer_check_refuses_a_pattern_that_can_never_match, 0,
                        sizeof(reachable) / sizeof(reachable[0]));
    tcase_add_loop_test(tc, test_policylayer_refuses_bad_overrides_naming_line_and_column, 0,
                        sizeof(bad) / sizeof(bad[0]));
    tcase_add_test(tc, test_policylayer_refuses_more_than_the_most_overrides);
    tcase_add_loop_test(tc, test_policylayer_each_override_key_sets_exactly_its_field, 0,
                        sizeof(keys) / sizeof(keys[0]));
    tcase_add_test(tc, test_policylayer_every_per_namespace_key_is_tested);
    suite_add_tcase(s, tc);

    tc = tcase_create("answers");
    tcase_add_loop_test(tc, test_policylayer_each_team_namespace_gets_its_layers, 0,
                        sizeof(teams) / sizeof(teams[0]));
    tcase_add_test(tc, test_policylayer_answer_names_the_overrides_that_applied);
    tcase_add_test(tc, test_policylayer_update_of_a_job_from_before_the_override_keeps_its_template);
    tcase_add_test(tc, test_policylayer_a_rule_on_only_in_an_override_still_sees_the_containers);
    tcase_add_test(tc, test_policylayer_later_overrides_win_and_lists_replace);
    tcase_add_test(tc, test_policylayer_overrides_apply_after_the_command_line);
    suite_add_tcase(s, tc);

    tc = tcase_create("view");
    tcase_add_loop_test(tc, test_policylayer_policy_written_back_reads_as_the_same_policy, 0,
                        sizeof(documents) / sizeof(documents[0]));
    tcase_add_test(tc, test_policylayer_view_lists_overrides_their_patterns_and_places);
    suite_add_tcase(s, tc);
    return s;
}

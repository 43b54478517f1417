/* SPDX-License-Identifier: Apache-2.0 */
/* policy: selection, every mutation mode, every lint rule and action, the
 * messages chart authors see, and idempotency (applied to its own output,
 * the policy changes nothing). */
#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hookwarden/policy.h"
#include "testutil.h"

struct run {
    struct hw_outcome oc;
    json_t *obj;    /* patched in place */
    json_t *ops;    /* the patch */
    int rc;
};

static enum hw_operation
operation(const char *op)
{
    return strcmp(op, "UPDATE") == 0 ? HW_OP_UPDATE : strcmp(op, "DELETE") == 0 ? HW_OP_DELETE
           : strcmp(op, "CONNECT") == 0 ? HW_OP_CONNECT : HW_OP_CREATE;
}

/* Applies p to job (an UPDATE of the stored object old when old is set). */
static void
run_with(const struct hw_policy *p, const char *old, const char *job, const char *op, struct run *r)
{
    struct hw_target t = {operation(op), "batch", "v1", "Job", "", "default", NULL};
    struct hw_patch *patch = hw_patch_new();
    const char *why = NULL;
    json_t *orig, *applied, *stored = NULL;

    if (old != NULL) {
        stored = json_loads(old, JSON_ALLOW_NUL, NULL);
        ck_assert_msg(stored != NULL, "bad stored job: %s", old);
        t.old_object = stored;
    }
    r->obj = json_loads(job, JSON_ALLOW_NUL, NULL);
    ck_assert_msg(r->obj != NULL, "bad test job: %s", job);
    orig = json_deep_copy(r->obj);
    r->rc = hw_policy_apply(p, &t, r->obj, patch, &r->oc, NULL);
    json_decref(stored);
    r->ops = json_deep_copy(hw_patch_ops(patch));
    /* Every patch applies to the object it came from and yields the result. */
    applied = tu_apply_patch(orig, r->ops, &why);
    ck_assert_msg(applied != NULL, "patch does not apply: %s", why);
    ck_assert(json_equal(applied, r->obj));
    json_decref(applied);
    json_decref(orig);
    hw_patch_free(patch);
}

static void
run(const struct hw_policy *p, const char *job, const char *op, struct run *r)
{
    run_with(p, strcmp(op, "UPDATE") == 0 ? job : NULL, job, op, r);
}

static void
run_free(struct run *r)
{
    json_decref(r->obj);
    json_decref(r->ops);
}

/* Applies p again to r->obj and asserts nothing changes. */
static void
assert_idempotent(const struct hw_policy *p, const struct run *r)
{
    char *text = json_dumps(r->obj, JSON_COMPACT);
    struct run again;

    run(p, text, "CREATE", &again);
    ck_assert_msg(json_array_size(again.ops) == 0, "second pass changed: %s",
                  json_dumps(again.ops, JSON_COMPACT));
    run_free(&again);
    free(text);
}

static const char *
ann(const struct run *r, const char *key)
{
    return json_string_value(
        json_object_get(json_object_get(json_object_get(r->obj, "metadata"), "annotations"), key));
}

static const char *
restart(const struct run *r)
{
    return json_string_value(json_object_get(
        json_object_get(json_object_get(json_object_get(r->obj, "spec"), "template"), "spec"),
        "restartPolicy"));
}

static int
has_warning(const struct run *r, const char *part)
{
    for (size_t i = 0; i < r->oc.n_warnings; i++) {
        if (strstr(r->oc.warnings[i], part) != NULL)
            return 1;
    }
    return 0;
}

#define LABELLED "\"labels\":{\"hookwarden.io/migration\":\"true\"}"
#define TEMPLATE(rp) "\"template\":{\"spec\":{\"restartPolicy\":\"" rp "\",\"containers\":[{\"name\":\"m\",\"image\":\"atlas\"}]}}"
#define JOB(meta, spec) "{\"apiVersion\":\"batch/v1\",\"kind\":\"Job\",\"metadata\":{\"name\":\"db-migrate\"," meta "},\"spec\":{" spec "}}"

/* ---- selection ---- */

static const struct {
    const char *job, *op;
    const char *kind, *version;
    int selected;
} select_cases[] = {
    {JOB(LABELLED, TEMPLATE("Never")), "CREATE", "Job", "v1", 1},
    {JOB(LABELLED, TEMPLATE("Never")), "UPDATE", "Job", "v1", 1},
    {JOB(LABELLED, TEMPLATE("Never")), "DELETE", "Job", "v1", 0},
    {JOB(LABELLED, TEMPLATE("Never")), "CONNECT", "Job", "v1", 0},
    {JOB("\"labels\":{\"app\":\"x\"}", TEMPLATE("Never")), "CREATE", "Job", "v1", 0},
    {JOB("\"labels\":{\"hookwarden.io/migration\":\"false\"}", TEMPLATE("Never")), "CREATE", "Job", "v1", 0},
    {JOB("\"labels\":{\"hookwarden.io/migration\":true}", TEMPLATE("Never")), "CREATE", "Job", "v1", 0},
    {JOB("\"annotations\":{\"hookwarden.io/migration\":\"true\"}", TEMPLATE("Never")), "CREATE", "Job", "v1", 0},
    {JOB(LABELLED, TEMPLATE("Never")), "CREATE", "CronJob", "v1", 0},
    {JOB(LABELLED, TEMPLATE("Never")), "CREATE", "Job", "v1beta1", 0},
};

START_TEST(test_policy_selects_only_labelled_batch_v1_jobs_on_create_and_update)
{
    struct hw_policy *p = tu_policy(NULL);
    struct hw_target t = {operation(select_cases[_i].op), "batch", select_cases[_i].version,
                          select_cases[_i].kind, "", "ns", NULL};
    struct hw_patch *patch = hw_patch_new();
    struct hw_outcome oc;
    json_t *obj = json_loads(select_cases[_i].job, 0, NULL);

    t.old_object = obj;
    ck_assert_int_eq(hw_policy_apply(p, &t, obj, patch, &oc, NULL), 0);
    ck_assert_int_eq(oc.selected, select_cases[_i].selected);
    if (!select_cases[_i].selected)
        ck_assert_int_eq(hw_patch_count(patch), 0);
    json_decref(obj);
    hw_patch_free(patch);
    hw_policy_unref(p);
}
END_TEST

START_TEST(test_policy_default_adds_hook_annotations_and_sets_never_with_a_warning)
{
    struct hw_policy *p = tu_policy(NULL);
    struct run r;

    run(p, JOB(LABELLED, TEMPLATE("OnFailure")), "CREATE", &r);
    ck_assert_str_eq(ann(&r, "helm.sh/hook"), "pre-install,pre-upgrade");
    ck_assert_str_eq(ann(&r, "helm.sh/hook-delete-policy"), "before-hook-creation,hook-succeeded");
    ck_assert_ptr_null(ann(&r, "helm.sh/hook-weight"));
    ck_assert_str_eq(restart(&r), "Never");
    ck_assert_int_eq(r.oc.n_warnings, 1);
    ck_assert_int_eq(r.oc.n_replaced, 1);
    ck_assert_str_eq(r.oc.warnings[0],
                     "restartPolicy OnFailure replaced by Never: a failed migration must not restart in place");
    /* No imagePullSecrets are configured by default. */
    ck_assert_ptr_null(json_object_get(json_object_get(json_object_get(json_object_get(r.obj, "spec"),
                                                                       "template"), "spec"),
                                       "imagePullSecrets"));
    ck_assert_int_eq(json_array_size(r.ops), 3);
    assert_idempotent(p, &r);
    run_free(&r);
    hw_policy_unref(p);
}
END_TEST

START_TEST(test_policy_keeps_the_charts_own_hook_values)
{
    struct hw_policy *p = tu_policy(NULL);
    struct run r;

    run(p, JOB(LABELLED ",\"annotations\":{\"helm.sh/hook\":\"post-install\",\"helm.sh/hook-delete-policy\":\"hook-succeeded\"}",
               TEMPLATE("Never")), "CREATE", &r);
    ck_assert_str_eq(ann(&r, "helm.sh/hook"), "post-install");
    ck_assert_str_eq(ann(&r, "helm.sh/hook-delete-policy"), "hook-succeeded");
    ck_assert_int_eq(json_array_size(r.ops), 0);
    ck_assert_int_eq(r.oc.n_warnings, 0);
    run_free(&r);
    hw_policy_unref(p);
}
END_TEST

START_TEST(test_policy_warns_about_a_release_resource_that_is_not_a_hook)
{
    struct hw_policy *p = tu_policy(NULL);
    struct run r, h;

    run(p, JOB(LABELLED ",\"annotations\":{\"meta.helm.sh/release-name\":\"shop\"}", TEMPLATE("Never")),
        "CREATE", &r);
    ck_assert(has_warning(&r, "not a Helm hook"));
    ck_assert(has_warning(&r, "set the hook in the chart"));
    ck_assert_int_eq(r.oc.n_findings, 1);
    ck_assert_int_eq(r.oc.findings[0].rule, HW_RULE_NOT_A_HOOK);
    ck_assert_int_eq(r.oc.denied, 0);
    /* Helm stamps release resources only, after it sorted hooks: a
     * helm.sh/hook next to the stamp came too late to make a hook. */
    run(p, JOB(LABELLED ",\"annotations\":{\"meta.helm.sh/release-name\":\"shop\",\"helm.sh/hook\":\"pre-install\"}",
               TEMPLATE("Never")), "CREATE", &h);
    ck_assert_int_eq(h.oc.n_findings, 1);
    ck_assert_int_eq(h.oc.findings[0].rule, HW_RULE_NOT_A_HOOK);
    ck_assert(has_warning(&h, "not a Helm hook: Helm installed it as a release resource, and any "
                              "helm.sh/hook on it is inert; set the hook in the chart"));
    run_free(&h);
    /* A hook: helm.sh/hook and no release stamp. */
    run(p, JOB(LABELLED ",\"annotations\":{\"helm.sh/hook\":\"pre-install\"}", TEMPLATE("Never")), "CREATE", &h);
    ck_assert_int_eq(h.oc.n_findings, 0);
    run_free(&r);
    run_free(&h);
    hw_policy_unref(p);
}
END_TEST

START_TEST(test_policy_merges_pull_secrets_after_existing_ones_never_twice)
{
    static const char *const secrets[] = {"registry-credentials", "mirror", "registry-credentials"};
    struct hw_policy_overrides ov = {.pull_secrets = secrets, .n_pull_secrets = 3};
    struct hw_policy *p = hw_policy_new_default(&ov, NULL);
    struct run r;
    json_t *list;

    ck_assert_ptr_nonnull(p);
    run(p, JOB(LABELLED, "\"template\":{\"spec\":{\"restartPolicy\":\"Never\",\"imagePullSecrets\":"
                         "[{\"name\":\"chart-own\"},{\"name\":\"mirror\"}],\"containers\":[]}}"),
        "CREATE", &r);
    list = json_object_get(json_object_get(json_object_get(json_object_get(r.obj, "spec"), "template"),
                                           "spec"), "imagePullSecrets");
    ck_assert_int_eq(json_array_size(list), 3);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(list, 0), "name")), "chart-own");
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(list, 1), "name")), "mirror");
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(list, 2), "name")),
                     "registry-credentials");
    assert_idempotent(p, &r);
    run_free(&r);
    hw_policy_unref(p);
}
END_TEST

START_TEST(test_policy_label_override_changes_the_selector)
{
    struct hw_policy_overrides ov = {.label_key = "example.com/db", .label_value = "migrate"};
    struct hw_policy *p = hw_policy_new_default(&ov, NULL);
    struct run a, b;

    run(p, JOB("\"labels\":{\"example.com/db\":\"migrate\"}", TEMPLATE("Never")), "CREATE", &a);
    run(p, JOB(LABELLED, TEMPLATE("Never")), "CREATE", &b);
    ck_assert_int_eq(a.oc.selected, 1);
    ck_assert_int_eq(b.oc.selected, 0);
    run_free(&a);
    run_free(&b);
    hw_policy_unref(p);
}
END_TEST

/* ---- modes ---- */

static const struct {
    const char *policy, *job;
    const char *key;       /* annotation checked, or NULL for restartPolicy */
    const char *want;      /* expected value (NULL: absent) */
    size_t ops;
    const char *warning;   /* substring expected in a warning, or NULL for none */
} mode_cases[] = {
    /* enforce replaces a different value with a warning */
    {"{\"hook\":{\"events\":{\"mode\":\"enforce\"}}}",
     JOB(LABELLED ",\"annotations\":{\"helm.sh/hook\":\"post-install\"}", TEMPLATE("Never")),
     "helm.sh/hook", "pre-install,pre-upgrade", 2, "helm.sh/hook post-install replaced by pre-install,pre-upgrade"},
    /* enforce treats Helm-equivalent spellings as equal */
    {"{\"hook\":{\"events\":{\"mode\":\"enforce\"}}}",
     JOB(LABELLED ",\"annotations\":{\"helm.sh/hook\":\" Pre-Upgrade , pre-install\"}", TEMPLATE("Never")),
     "helm.sh/hook", " Pre-Upgrade , pre-install", 1, NULL},
    /* off leaves it absent */
    {"{\"hook\":{\"events\":{\"mode\":\"off\"},\"deletePolicy\":{\"mode\":\"off\"}}}",
     JOB(LABELLED, TEMPLATE("Never")), "helm.sh/hook", NULL, 0, NULL},
    /* weight, when on, is added where absent */
    {"{\"hook\":{\"weight\":{\"mode\":\"add\",\"value\":\"-5\"}}}",
     JOB(LABELLED ",\"annotations\":{\"a\":\"b\"}", TEMPLATE("Never")), "helm.sh/hook-weight", "-5", 3, NULL},
    {"{\"hook\":{\"weight\":{\"mode\":\"enforce\",\"value\":\"-5\"}}}",
     JOB(LABELLED ",\"annotations\":{\"helm.sh/hook-weight\":\"3\"}", TEMPLATE("Never")), "helm.sh/hook-weight", "-5", 3,
     "helm.sh/hook-weight 3 replaced by -5"},
    /* deletePolicy enforce */
    {"{\"hook\":{\"deletePolicy\":{\"mode\":\"enforce\"}}}",
     JOB(LABELLED ",\"annotations\":{\"helm.sh/hook-delete-policy\":\"hook-succeeded\"}", TEMPLATE("Never")),
     "helm.sh/hook-delete-policy", "before-hook-creation,hook-succeeded", 2, "replaced by before-hook-creation"},
    /* restartPolicy add keeps the chart's value */
    {"{\"restartPolicy\":{\"mode\":\"add\"}}", JOB(LABELLED, TEMPLATE("OnFailure")), NULL, "OnFailure", 2, NULL},
    {"{\"restartPolicy\":{\"mode\":\"add\"}}",
     JOB(LABELLED, "\"template\":{\"spec\":{\"containers\":[]}}"), NULL, "Never", 3, NULL},
    {"{\"restartPolicy\":{\"mode\":\"off\"}}", JOB(LABELLED, TEMPLATE("OnFailure")), NULL, "OnFailure", 2, NULL},
    {"{\"restartPolicy\":{\"mode\":\"enforce\",\"value\":\"OnFailure\"}}", JOB(LABELLED, TEMPLATE("Never")), NULL,
     "OnFailure", 3, "restartPolicy Never replaced by OnFailure"},
    /* missing spec.template.spec is created */
    {NULL, JOB(LABELLED, "\"backoffLimit\":1"), NULL, "Never", 3, NULL},
};

START_TEST(test_policy_modes_add_enforce_and_off)
{
    struct hw_policy *p = tu_policy(mode_cases[_i].policy);
    struct run r;
    const char *got;

    run(p, mode_cases[_i].job, "CREATE", &r);
    got = mode_cases[_i].key ? ann(&r, mode_cases[_i].key) : restart(&r);
    if (mode_cases[_i].want == NULL)
        ck_assert_ptr_null(got);
    else
        ck_assert_msg(got != NULL && strcmp(got, mode_cases[_i].want) == 0, "case %d: got %s", _i,
                      got ? got : "(absent)");
    ck_assert_msg(json_array_size(r.ops) == mode_cases[_i].ops, "case %d: %zu ops: %s", _i,
                  json_array_size(r.ops), json_dumps(r.ops, JSON_COMPACT));
    if (mode_cases[_i].warning)
        ck_assert_msg(has_warning(&r, mode_cases[_i].warning), "case %d: no warning \"%s\"", _i,
                      mode_cases[_i].warning);
    else
        ck_assert_msg(r.oc.n_warnings == 0, "case %d: unexpected warning %s", _i, r.oc.warnings[0]);
    assert_idempotent(p, &r);
    run_free(&r);
    hw_policy_unref(p);
}
END_TEST

static const struct {
    const char *policy, *spec;
    const char *field;
    long long want;   /* -1: absent */
    const char *warning;
} job_cases[] = {
    {"{\"job\":{\"backoffLimit\":{\"mode\":\"enforce\",\"value\":1}}}", TEMPLATE("Never") ",\"backoffLimit\":6",
     "backoffLimit", 1, "backoffLimit 6 replaced by 1"},
    {"{\"job\":{\"backoffLimit\":{\"mode\":\"add\",\"value\":1}}}", TEMPLATE("Never") ",\"backoffLimit\":6",
     "backoffLimit", 6, NULL},
    {"{\"job\":{\"backoffLimit\":{\"mode\":\"add\",\"value\":1}}}", TEMPLATE("Never") ",\"backoffLimit\":null",
     "backoffLimit", 1, NULL},
    {"{\"job\":{\"activeDeadlineSeconds\":{\"mode\":\"add\",\"value\":200}}}", TEMPLATE("Never"),
     "activeDeadlineSeconds", 200, NULL},
    {"{\"job\":{\"ttlSecondsAfterFinished\":{\"mode\":\"enforce\",\"value\":600}}}",
     TEMPLATE("Never") ",\"ttlSecondsAfterFinished\":0", "ttlSecondsAfterFinished", 600,
     "ttlSecondsAfterFinished 0 replaced by 600"},
    {NULL, TEMPLATE("Never") ",\"backoffLimit\":6", "backoffLimit", 6, NULL},
    {NULL, TEMPLATE("Never"), "activeDeadlineSeconds", -1, NULL},
};

START_TEST(test_policy_job_settings_default_or_enforce)
{
    char job[1024];
    struct hw_policy *p = tu_policy(job_cases[_i].policy);
    struct run r;
    const json_t *v;

    snprintf(job, sizeof(job), JOB(LABELLED ",\"annotations\":{\"helm.sh/hook\":\"pre-install\","
                                   "\"helm.sh/hook-delete-policy\":\"before-hook-creation\"}", "%s"),
             job_cases[_i].spec);
    run(p, job, "CREATE", &r);
    v = json_object_get(json_object_get(r.obj, "spec"), job_cases[_i].field);
    if (job_cases[_i].want < 0)
        ck_assert_ptr_null(v);
    else
        ck_assert_int_eq(json_integer_value(v), job_cases[_i].want);
    if (job_cases[_i].warning)
        ck_assert(has_warning(&r, job_cases[_i].warning));
    else
        ck_assert_int_eq(r.oc.n_warnings, 0);
    assert_idempotent(p, &r);
    run_free(&r);
    hw_policy_unref(p);
}
END_TEST

START_TEST(test_policy_namespaces_include_and_exclude)
{
    struct hw_policy *p = tu_policy("{\"namespaces\":{\"include\":[\"apps\",\"db\"],\"exclude\":[\"db\"]}}");
    static const struct {
        const char *ns;
        int selected;
    } cases[] = {{"apps", 1}, {"db", 0}, {"other", 0}};

    for (size_t i = 0; i < 3; i++) {
        struct hw_target t = {HW_OP_CREATE, "batch", "v1", "Job", "", cases[i].ns, NULL};
        struct hw_patch *patch = hw_patch_new();
        struct hw_outcome oc;
        json_t *obj = json_loads(JOB(LABELLED, TEMPLATE("Never")), 0, NULL);

        ck_assert_int_eq(hw_policy_apply(p, &t, obj, patch, &oc, NULL), 0);
        ck_assert_msg(oc.selected == cases[i].selected, "namespace %s", cases[i].ns);
        json_decref(obj);
        hw_patch_free(patch);
    }
    hw_policy_unref(p);
}
END_TEST

/* ---- lint rules ---- */

#define HOOK_ANN(h, d) ",\"annotations\":{\"helm.sh/hook\":\"" h "\",\"helm.sh/hook-delete-policy\":\"" d "\"}"
#define SIDECAR_TEMPLATE(extra) "\"template\":{\"spec\":{\"restartPolicy\":\"Never\",\"containers\":[" \
    "{\"name\":\"migrate\",\"image\":\"arigaio/atlas\"" extra "},{\"name\":\"cloud-sql-proxy\"," \
    "\"image\":\"gcr.io/cloud-sql-connectors/cloud-sql-proxy:2.8\"}]}}"

static const struct {
    const char *rule;
    const char *meta, *spec;
    enum hw_rule expect;   /* HW_RULE_COUNT: no finding */
    const char *warning;
} rule_cases[] = {
    {"unknown-hook-value", LABELLED HOOK_ANN("pre-instal", "before-hook-creation"), TEMPLATE("Never") ",\"activeDeadlineSeconds\":100",
     HW_RULE_UNKNOWN_HOOK_VALUE, "helm.sh/hook has unknown event \"pre-instal\": Helm skips this Job entirely"},
    {"unknown-hook-value", LABELLED HOOK_ANN("pre-install,", "before-hook-creation"), TEMPLATE("Never"),
     HW_RULE_UNKNOWN_HOOK_VALUE, "unknown event \"\""},
    {"unknown-hook-value", LABELLED HOOK_ANN("pre-install", "before-hook-creation,on-success"), TEMPLATE("Never"),
     HW_RULE_UNKNOWN_HOOK_VALUE, "helm.sh/hook-delete-policy has unknown value \"on-success\""},
    {"unknown-hook-value", LABELLED HOOK_ANN("PRE-INSTALL, test-success", "Hook-Failed"), TEMPLATE("Never"),
     HW_RULE_COUNT, NULL},
    {"ttl-after-finished", LABELLED HOOK_ANN("pre-install", "before-hook-creation"),
     TEMPLATE("Never") ",\"ttlSecondsAfterFinished\":0", HW_RULE_TTL, "ttlSecondsAfterFinished 0 may delete the Job"},
    {"ttl-after-finished", LABELLED HOOK_ANN("pre-install", "before-hook-creation"),
     TEMPLATE("Never") ",\"ttlSecondsAfterFinished\":30", HW_RULE_COUNT, NULL},
    {"delete-policy", LABELLED HOOK_ANN("pre-install", "hook-succeeded"), TEMPLATE("Never"),
     HW_RULE_DELETE_POLICY, "hook-delete-policy lacks before-hook-creation"},
    {"delete-policy", LABELLED HOOK_ANN("pre-install", "hook-succeeded, Before-Hook-Creation"), TEMPLATE("Never"),
     HW_RULE_COUNT, NULL},
    {"active-deadline", LABELLED HOOK_ANN("pre-install", "before-hook-creation"), TEMPLATE("Never"),
     HW_RULE_ACTIVE_DEADLINE, "activeDeadlineSeconds is not set"},
    {"active-deadline", LABELLED HOOK_ANN("pre-install", "before-hook-creation"),
     TEMPLATE("Never") ",\"activeDeadlineSeconds\":300", HW_RULE_ACTIVE_DEADLINE, "is not below Helm's 300s timeout"},
    {"active-deadline", LABELLED HOOK_ANN("pre-install", "before-hook-creation"),
     TEMPLATE("Never") ",\"activeDeadlineSeconds\":299", HW_RULE_COUNT, NULL},
    {"long-lived-sidecar", LABELLED HOOK_ANN("pre-install", "before-hook-creation"), SIDECAR_TEMPLATE(""),
     HW_RULE_SIDECAR, "container cloud-sql-proxy looks like a long-lived sidecar"},
    {"long-lived-sidecar", LABELLED HOOK_ANN("pre-install", "before-hook-creation"),
     SIDECAR_TEMPLATE(",\"command\":[\"sh\",\"-c\",\"atlas migrate apply; curl -X POST localhost:9091/quitquitquit\"]"),
     HW_RULE_COUNT, NULL},
    {"long-lived-sidecar", LABELLED HOOK_ANN("pre-install", "before-hook-creation"), TEMPLATE("Never"),
     HW_RULE_COUNT, NULL},
};

static struct hw_policy *
rule_policy(const char *rule, const char *action)
{
    char text[256];

    snprintf(text, sizeof(text), "{\"rules\":{\"not-a-hook\":\"off\",\"%s\":\"%s\"}}", rule, action);
    return tu_policy(text);
}

START_TEST(test_policy_lint_rules_warn)
{
    char job[2048];
    struct hw_policy *p = rule_policy(rule_cases[_i].rule, "warn");
    struct run r;

    snprintf(job, sizeof(job), JOB("%s", "%s"), rule_cases[_i].meta, rule_cases[_i].spec);
    run(p, job, "CREATE", &r);
    ck_assert_int_eq(r.oc.denied, 0);
    if (rule_cases[_i].expect == HW_RULE_COUNT) {
        ck_assert_msg(r.oc.n_findings == 0, "case %d: unexpected %s", _i,
                      r.oc.n_warnings ? r.oc.warnings[0] : "finding");
    } else {
        ck_assert_int_eq(r.oc.n_findings, 1);
        ck_assert_int_eq(r.oc.findings[0].rule, rule_cases[_i].expect);
        ck_assert_int_eq(r.oc.findings[0].action, HW_ACTION_WARN);
        ck_assert_msg(has_warning(&r, rule_cases[_i].warning), "case %d: warnings lack \"%s\": %s", _i,
                      rule_cases[_i].warning, r.oc.n_warnings ? r.oc.warnings[0] : "none");
        /* The finding carries its own text, the warning's (cut to 120). */
        ck_assert_int_eq(strncmp(r.oc.findings[0].message, r.oc.warnings[r.oc.n_replaced], 100), 0);
    }
    run_free(&r);
    hw_policy_unref(p);
}
END_TEST

START_TEST(test_policy_lint_rules_deny_naming_job_rule_and_fix)
{
    char job[2048];
    struct hw_policy *p = rule_policy(rule_cases[_i].rule, "deny");
    struct run r;

    snprintf(job, sizeof(job), JOB("%s", "%s"), rule_cases[_i].meta, rule_cases[_i].spec);
    run(p, job, "CREATE", &r);
    if (rule_cases[_i].expect == HW_RULE_COUNT) {
        ck_assert_int_eq(r.oc.denied, 0);
    } else {
        ck_assert_int_eq(r.oc.denied, 1);
        ck_assert_int_eq(r.oc.n_warnings, 0);
        ck_assert_msg(strstr(r.oc.deny_message, "Job \"default/db-migrate\"") != NULL, "%s", r.oc.deny_message);
        ck_assert(strstr(r.oc.deny_message, rule_cases[_i].rule) != NULL);
        ck_assert(strstr(r.oc.deny_message, ". Fix: ") != NULL);
        ck_assert(strstr(r.oc.deny_message, rule_cases[_i].warning) != NULL);
        ck_assert(strstr(r.oc.findings[0].message, rule_cases[_i].warning) != NULL);
        ck_assert(strstr(r.oc.findings[0].message, ". Fix: ") != NULL);
    }
    run_free(&r);
    hw_policy_unref(p);
}
END_TEST

START_TEST(test_policy_lint_rules_off_report_nothing)
{
    char job[2048];
    struct hw_policy *p = rule_policy(rule_cases[_i].rule, "off");
    struct run r;

    snprintf(job, sizeof(job), JOB("%s", "%s"), rule_cases[_i].meta, rule_cases[_i].spec);
    run(p, job, "CREATE", &r);
    ck_assert_int_eq(r.oc.n_findings, 0);
    ck_assert_int_eq(r.oc.denied, 0);
    run_free(&r);
    hw_policy_unref(p);
}
END_TEST

START_TEST(test_policy_several_denials_are_joined_in_one_message)
{
    struct hw_policy *p = tu_policy("{\"rules\":{\"ttl-after-finished\":\"deny\",\"active-deadline\":\"deny\"}}");
    struct run r;

    run(p, JOB(LABELLED HOOK_ANN("pre-install", "before-hook-creation"), TEMPLATE("Never") ",\"ttlSecondsAfterFinished\":0"),
        "CREATE", &r);
    ck_assert_int_eq(r.oc.denied, 1);
    ck_assert_int_eq(r.oc.n_findings, 2);
    ck_assert(strstr(r.oc.deny_message, "ttl-after-finished") < strstr(r.oc.deny_message, "; Job"));
    ck_assert(strstr(r.oc.deny_message, "active-deadline") != NULL);
    run_free(&r);
    hw_policy_unref(p);
}
END_TEST

/* ---- UPDATE: existing Jobs stay updatable ---- */

#define HOOKS ",\"annotations\":{\"helm.sh/hook\":\"pre-install,pre-upgrade\"," \
    "\"helm.sh/hook-delete-policy\":\"before-hook-creation,hook-succeeded\"}"
#define PULL_TEMPLATE(rp, pulls) "\"template\":{\"spec\":{\"restartPolicy\":\"" rp "\"," \
    "\"imagePullSecrets\":[" pulls "],\"containers\":[{\"name\":\"m\",\"image\":\"atlas\"}]}}"
#define SECRET(n) "{\"name\":\"" n "\"}"

static const json_t *
template_of(const json_t *job)
{
    return json_object_get(json_object_get(job, "spec"), "template");
}

/* The pod template after the patch is exactly the stored one. */
static void
assert_template_is(const struct run *r, const char *stored)
{
    json_t *old = json_loads(stored, 0, NULL);

    ck_assert_ptr_nonnull(old);
    ck_assert_msg(json_equal(template_of(r->obj), template_of(old)), "template changed: %s",
                  json_dumps(template_of(r->obj), JSON_COMPACT));
    json_decref(old);
}

static struct hw_policy *
secrets_policy(size_t n)
{
    static const char *const secrets[] = {"regcred", "mirror"};
    struct hw_policy_overrides ov = {.pull_secrets = secrets, .n_pull_secrets = n};
    struct hw_policy *p = hw_policy_new_default(&ov, NULL);

    ck_assert_ptr_nonnull(p);
    return p;
}

START_TEST(test_policy_update_restores_the_stored_never_that_helm3_reasserts)
{
    static const char stored[] = JOB(LABELLED HOOKS, PULL_TEMPLATE("Never", SECRET("regcred")));
    struct hw_policy *p = secrets_policy(1);
    struct run r;

    run_with(p, stored, JOB(LABELLED HOOKS, PULL_TEMPLATE("OnFailure", SECRET("regcred"))), "UPDATE", &r);
    assert_template_is(&r, stored);
    ck_assert_int_eq(json_array_size(r.ops), 1);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(r.ops, 0), "op")), "replace");
    ck_assert(has_warning(&r, "restartPolicy OnFailure kept as Never: the pod template of an existing Job"));
    ck_assert_str_eq(r.oc.stale, "");
    run_free(&r);
    hw_policy_unref(p);
}
END_TEST

/* Created before hookwarden (or while it failed open): OnFailure, no pull
 * secret. A finalizer, a relabel or the GC's update must not touch the
 * template, and the Job's metadata still gets the hook annotations. */
START_TEST(test_policy_update_of_a_legacy_job_never_changes_its_template)
{
    static const char stored[] = JOB("\"labels\":{\"app\":\"shop\"}", TEMPLATE("OnFailure"));
    static const char *const updates[] = {
        JOB(LABELLED, TEMPLATE("OnFailure")),
        JOB(LABELLED ",\"finalizers\":[\"foregroundDeletion\"]", TEMPLATE("OnFailure")),
    };
    struct hw_policy *p = secrets_policy(1);

    for (size_t i = 0; i < 2; i++) {
        struct run r;

        run_with(p, stored, updates[i], "UPDATE", &r);
        assert_template_is(&r, stored);
        ck_assert_str_eq(ann(&r, "helm.sh/hook"), "pre-install,pre-upgrade");
        ck_assert_str_eq(r.oc.stale, "restartPolicy,imagePullSecrets");
        ck_assert_int_eq(r.oc.n_warnings, 1);
        ck_assert_str_eq(r.oc.warnings[0], "pod template predates the policy "
                                           "(restartPolicy,imagePullSecrets): it is immutable; "
                                           "recreate the Job to apply it");
        ck_assert_uint_le(strlen(r.oc.warnings[0]), HW_WARNING_MAX);
        run_free(&r);
    }
    hw_policy_unref(p);
}
END_TEST

START_TEST(test_policy_update_after_a_second_secret_keeps_the_stored_list)
{
    static const char stored[] = JOB(LABELLED HOOKS, PULL_TEMPLATE("Never", SECRET("regcred")));
    struct hw_policy *p = secrets_policy(2);
    struct run r;

    run_with(p, stored, stored, "UPDATE", &r);
    ck_assert_int_eq(json_array_size(r.ops), 0);
    ck_assert_str_eq(r.oc.stale, "imagePullSecrets");
    ck_assert(has_warning(&r, "predates the policy (imagePullSecrets)"));
    run_free(&r);
    /* The same Job created now gets both. */
    run(p, stored, "CREATE", &r);
    ck_assert_int_eq(json_array_size(r.ops), 1);
    run_free(&r);
    hw_policy_unref(p);
}
END_TEST

START_TEST(test_policy_update_puts_back_a_pull_secret_list_the_update_changed)
{
    static const char with[] = JOB(LABELLED HOOKS, PULL_TEMPLATE("Never", SECRET("regcred")));
    static const char without[] = JOB(LABELLED HOOKS, TEMPLATE("Never"));
    struct hw_policy *p = secrets_policy(1);
    struct run r;

    run_with(p, with, JOB(LABELLED HOOKS, PULL_TEMPLATE("Never", SECRET("x") "," SECRET("regcred"))),
             "UPDATE", &r);
    assert_template_is(&r, with);
    ck_assert(has_warning(&r, "imagePullSecrets kept as stored"));
    run_free(&r);
    run_with(p, without, JOB(LABELLED HOOKS, PULL_TEMPLATE("Never", SECRET("regcred"))), "UPDATE", &r);
    assert_template_is(&r, without);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(r.ops, 0), "op")), "remove");
    run_free(&r);
    hw_policy_unref(p);
}
END_TEST

START_TEST(test_policy_update_that_drops_the_label_only_keeps_the_template)
{
    static const char stored[] = JOB(LABELLED HOOKS, TEMPLATE("Never"));
    struct hw_policy *p = tu_policy("{\"rules\":{\"active-deadline\":\"deny\"}}");
    struct run r;

    run_with(p, stored, JOB("\"labels\":{\"app\":\"x\"}", TEMPLATE("OnFailure")), "UPDATE", &r);
    assert_template_is(&r, stored);
    ck_assert_ptr_null(ann(&r, "helm.sh/hook"));
    ck_assert_int_eq(r.oc.n_findings, 0);
    ck_assert_int_eq(r.oc.denied, 0);
    run_free(&r);
    hw_policy_unref(p);
}
END_TEST

START_TEST(test_policy_leaves_an_object_being_deleted_alone)
{
    static const char deleting[] =
        JOB(LABELLED ",\"deletionTimestamp\":\"2026-11-30T10:00:00Z\",\"annotations\":"
            "{\"meta.helm.sh/release-name\":\"shop\"}", TEMPLATE("OnFailure"));
    struct hw_policy *p = tu_policy("{\"rules\":{\"not-a-hook\":\"deny\",\"active-deadline\":\"deny\"}}");
    struct run r;

    run_with(p, deleting, deleting, "UPDATE", &r);
    ck_assert_int_eq(json_array_size(r.ops), 0);
    ck_assert_int_eq(r.oc.n_warnings, 0);
    ck_assert_int_eq(r.oc.n_findings, 0);
    ck_assert_int_eq(r.oc.denied, 0);
    ck_assert_int_eq(r.oc.deleting, 1);
    run_free(&r);
    hw_policy_unref(p);
}
END_TEST

START_TEST(test_policy_update_leaves_job_settings_the_update_does_not_change)
{
    static const char stored[] = JOB(LABELLED HOOKS, TEMPLATE("Never"));
    struct hw_policy *p = tu_policy("{\"job\":{\"activeDeadlineSeconds\":{\"mode\":\"enforce\",\"value\":600}}}");
    struct run r;

    /* A relabel of a running Job must not give it a deadline it may already be past. */
    run_with(p, stored, stored, "UPDATE", &r);
    ck_assert_int_eq(json_array_size(r.ops), 0);
    run_free(&r);
    /* A value the update brings is held to the policy. */
    run_with(p, stored, JOB(LABELLED HOOKS, TEMPLATE("Never") ",\"activeDeadlineSeconds\":9000"), "UPDATE", &r);
    ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(r.obj, "spec"), "activeDeadlineSeconds")), 600);
    ck_assert(has_warning(&r, "activeDeadlineSeconds 9000 replaced by 600"));
    run_free(&r);
    hw_policy_unref(p);
}
END_TEST

/* Ratcheting: on UPDATE a deny rule denies only what the update introduces. */
START_TEST(test_policy_update_denies_only_a_violation_the_update_introduces)
{
    static const char clean[] = JOB(LABELLED HOOK_ANN("pre-install", "before-hook-creation"),
                                    TEMPLATE("Never") ",\"activeDeadlineSeconds\":100");
    char job[2048];
    struct hw_policy *p = rule_policy(rule_cases[_i].rule, "deny");
    struct run r;

    if (rule_cases[_i].expect == HW_RULE_COUNT) {
        hw_policy_unref(p);
        return;
    }
    snprintf(job, sizeof(job), JOB("%s", "%s"), rule_cases[_i].meta, rule_cases[_i].spec);
    run_with(p, job, job, "UPDATE", &r);
    ck_assert_msg(r.oc.denied == 0, "case %d: denied an update the stored Job already broke: %s", _i,
                  r.oc.deny_message);
    ck_assert_int_eq(r.oc.n_findings, 1);
    ck_assert_int_eq(r.oc.findings[0].action, HW_ACTION_WARN);
    ck_assert_int_eq(r.oc.findings[0].waived, 1);
    ck_assert(has_warning(&r, rule_cases[_i].warning));
    ck_assert(has_warning(&r, "is not enforced on this update: the stored Job already broke it"));
    run_free(&r);
    run_with(p, clean, job, "UPDATE", &r);
    ck_assert_msg(r.oc.denied == 1, "case %d: the update introduced the violation", _i);
    ck_assert_int_eq(r.oc.findings[0].waived, 0);
    run_free(&r);
    run_with(p, job, clean, "UPDATE", &r);
    ck_assert_int_eq(r.oc.n_findings, 0);
    run_free(&r);
    hw_policy_unref(p);
}
END_TEST

START_TEST(test_policy_not_a_hook_deny_ratchets_on_update_and_denies_on_create)
{
    static const char release[] = JOB(LABELLED ",\"annotations\":{\"meta.helm.sh/release-name\":\"shop\"}",
                                      TEMPLATE("OnFailure"));
    struct hw_policy *p = tu_policy("{\"rules\":{\"not-a-hook\":\"deny\"}}");
    struct run r;

    run(p, release, "CREATE", &r);
    ck_assert_int_eq(r.oc.denied, 1);
    ck_assert(strstr(r.oc.deny_message, "violates rule not-a-hook") != NULL);
    run_free(&r);
    /* A release Job whose helm.sh/hook came after Helm sorted (a Helm 3
     * post-renderer, a webhook, an edit) is denied too, saying why. */
    run(p, JOB(LABELLED ",\"annotations\":{\"meta.helm.sh/release-name\":\"shop\",\"helm.sh/hook\":"
               "\"pre-install,pre-upgrade\"}", TEMPLATE("Never")), "CREATE", &r);
    ck_assert_int_eq(r.oc.denied, 1);
    ck_assert_msg(strstr(r.oc.deny_message, "any helm.sh/hook on it is inert; set the hook in the chart. "
                                            "Fix: ") != NULL, "%s", r.oc.deny_message);
    ck_assert(strstr(r.oc.deny_message, "Helm sorts hooks before a Helm 3 post-renderer") != NULL);
    ck_assert(strstr(r.oc.deny_message, "useHelmHooks") != NULL);
    ck_assert(strstr(r.oc.deny_message, "Helm 4 post-renderer") != NULL);
    run_free(&r);
    /* The same legacy Job, stored before the rule existed, being relabelled. */
    run_with(p, release, release, "UPDATE", &r);
    ck_assert_int_eq(r.oc.denied, 0);
    ck_assert(has_warning(&r, "not a Helm hook"));
    ck_assert(has_warning(&r, "rule not-a-hook is not enforced on this update"));
    assert_template_is(&r, release);
    run_free(&r);
    hw_policy_unref(p);
}
END_TEST

START_TEST(test_policy_add_mode_treats_the_defaulted_always_as_absent)
{
    struct hw_policy *p = tu_policy("{\"restartPolicy\":{\"mode\":\"add\",\"value\":\"Never\"}}");
    struct run r;

    run(p, JOB(LABELLED, TEMPLATE("Always")), "CREATE", &r);
    ck_assert_str_eq(restart(&r), "Never");
    ck_assert(has_warning(&r, "restartPolicy Always replaced by Never"));
    run_free(&r);
    run(p, JOB(LABELLED, TEMPLATE("OnFailure")), "CREATE", &r);
    ck_assert_str_eq(restart(&r), "OnFailure");
    run_free(&r);
    hw_policy_unref(p);
}
END_TEST

/* A value with an embedded NUL is the different string it is. */
START_TEST(test_policy_compares_strings_with_embedded_nul_by_length)
{
    struct hw_policy *p = tu_policy("{\"imagePullSecrets\":{\"names\":[\"regcred\"]},"
                                 "\"rules\":{\"unknown-hook-value\":\"warn\"}}");
    struct run r;
    const json_t *pulls;

    run(p, JOB(LABELLED HOOK_ANN("pre-install\\u0000x", "before-hook-creation"),
               PULL_TEMPLATE("Never\\u0000x", SECRET("regcred\\u0000x"))), "CREATE", &r);
    ck_assert_str_eq(restart(&r), "Never");
    ck_assert_uint_eq(json_string_length(json_object_get(json_object_get(template_of(r.obj), "spec"),
                                                         "restartPolicy")), 5);
    ck_assert(has_warning(&r, "restartPolicy Never?x replaced by Never"));
    pulls = json_object_get(json_object_get(template_of(r.obj), "spec"), "imagePullSecrets");
    ck_assert_int_eq(json_array_size(pulls), 2);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(pulls, 1), "name")), "regcred");
    /* Helm would read the event "pre-install\0x": unknown, so the Job is skipped. */
    ck_assert(has_warning(&r, "helm.sh/hook has unknown event \"pre-install?x\""));
    run_free(&r);
    hw_policy_unref(p);
}
END_TEST

/* ---- every fixture, with the example policy: short printable warnings, idempotent ---- */

static int
printable(const char *s)
{
    for (; *s; s++) {
        if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
            return 0;
    }
    return 1;
}

START_TEST(test_policy_every_fixture_converges_with_short_printable_warnings)
{
    static const char *const policies[] = {NULL, HW_TEST_DATA "/../../docs/policy-example.json"};
    char dirpath[4096];
    struct dirent *e;
    DIR *d;
    int n = 0;
    struct hw_policy *p;

    if (policies[_i] == NULL) {
        p = tu_policy(NULL);
    } else {
        char *text = tu_read(policies[_i], NULL);

        ck_assert_ptr_nonnull(text);
        p = tu_policy(text);
        free(text);
    }
    snprintf(dirpath, sizeof(dirpath), "%s/jobs", HW_TEST_DATA);
    d = opendir(dirpath);
    ck_assert_ptr_nonnull(d);
    while ((e = readdir(d)) != NULL) {
        char path[8192], *text;
        json_t *job;
        struct run r;

        if (strstr(e->d_name, ".json") == NULL)
            continue;
        snprintf(path, sizeof(path), "%s/%s", dirpath, e->d_name);
        job = tu_json(path);
        json_object_set_new(json_object_get(job, "metadata"), "labels",
                            json_pack("{s:s}", "hookwarden.io/migration", "true"));
        text = json_dumps(job, JSON_COMPACT);
        run(p, text, "CREATE", &r);
        ck_assert_msg(r.rc == 0, "%s refused", e->d_name);
        ck_assert_str_eq(restart(&r), "Never");
        ck_assert_ptr_nonnull(ann(&r, "helm.sh/hook"));
        for (size_t i = 0; i < r.oc.n_warnings; i++) {
            ck_assert_msg(strlen(r.oc.warnings[i]) <= 120, "%s: long warning", e->d_name);
            ck_assert_msg(printable(r.oc.warnings[i]), "%s: unprintable warning", e->d_name);
        }
        if (!r.oc.denied)
            assert_idempotent(p, &r);
        run_free(&r);
        json_decref(job);
        free(text);
        n++;
    }
    closedir(d);
    ck_assert_int_eq(n, 11);
    hw_policy_unref(p);
}
END_TEST

Suite *hw_suite_policy(void);

Suite *
hw_suite_policy(void)
{
    Suite *s = suite_create("policy");
    TCase *tc = tcase_create("core");
    int nrules = (int)(sizeof(rule_cases) / sizeof(rule_cases[0]));

    tcase_add_loop_test(tc, test_policy_selects_only_labelled_batch_v1_jobs_on_create_and_update, 0,
                        sizeof(select_cases) / sizeof(select_cases[0]));
    tcase_add_test(tc, test_policy_default_adds_hook_annotations_and_sets_never_with_a_warning);
    tcase_add_test(tc, test_policy_keeps_the_charts_own_hook_values);
    tcase_add_test(tc, test_policy_update_restores_the_stored_never_that_helm3_reasserts);
    tcase_add_test(tc, test_policy_update_of_a_legacy_job_never_changes_its_template);
    tcase_add_test(tc, test_policy_update_after_a_second_secret_keeps_the_stored_list);
    tcase_add_test(tc, test_policy_update_puts_back_a_pull_secret_list_the_update_changed);
    tcase_add_test(tc, test_policy_update_that_drops_the_label_only_keeps_the_template);
    tcase_add_test(tc, test_policy_leaves_an_object_being_deleted_alone);
    tcase_add_test(tc, test_policy_update_leaves_job_settings_the_update_does_not_change);
    tcase_add_test(tc, test_policy_not_a_hook_deny_ratchets_on_update_and_denies_on_create);
    tcase_add_test(tc, test_policy_add_mode_treats_the_defaulted_always_as_absent);
    tcase_add_test(tc, test_policy_compares_strings_with_embedded_nul_by_length);
    tcase_add_test(tc, test_policy_warns_about_a_release_resource_that_is_not_a_hook);
    tcase_add_test(tc, test_policy_merges_pull_secrets_after_existing_ones_never_twice);
    tcase_add_test(tc, test_policy_label_override_changes_the_selector);
    tcase_add_loop_test(tc, test_policy_modes_add_enforce_and_off, 0,
                        sizeof(mode_cases) / sizeof(mode_cases[0]));
    tcase_add_loop_test(tc, test_policy_job_settings_default_or_enforce, 0,
                        sizeof(job_cases) / sizeof(job_cases[0]));
    tcase_add_test(tc, test_policy_namespaces_include_and_exclude);
    tcase_add_loop_test(tc, test_policy_lint_rules_warn, 0, nrules);
    tcase_add_loop_test(tc, test_policy_lint_rules_deny_naming_job_rule_and_fix, 0, nrules);
    tcase_add_loop_test(tc, test_policy_lint_rules_off_report_nothing, 0, nrules);
    tcase_add_loop_test(tc, test_policy_update_denies_only_a_violation_the_update_introduces, 0, nrules);
    tcase_add_test(tc, test_policy_several_denials_are_joined_in_one_message);
    tcase_add_loop_test(tc, test_policy_every_fixture_converges_with_short_printable_warnings, 0, 2);
    suite_add_tcase(s, tc);
    return s;
}

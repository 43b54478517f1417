/* SPDX-License-Identifier: Apache-2.0 */
/* policyfile: strict loading (duplicates, unknown keys, types, Helm values)
 * with line and column, in JSON and in YAML, --check reporting every
 * problem, the command line's values over the file. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "hookwarden/handler.h"
#include "hookwarden/policy.h"
#include "hookwarden/yaml.h"
#include "testutil.h"

static const struct {
    const char *text;
    const char *error;   /* expected first problem, "file:line:col: message" prefix */
} bad_cases[] = {
    {"{\"selector\":{}, \"selector\":{}}", "p.json:1:26: duplicate object key near '\"selector\"'"},
    {"{\n  \"selektor\": {}\n}", "p.json:2:3: unknown key \"selektor\" in the policy"},
    {"{\"hook\":{\"events\":{\"mode\":\"add\",\"value\":\"pre-instal\"}}}", "p.json:1:33: hook events \"pre-instal\" include one Helm does not know"},
    {"{\"hook\":{\"deletePolicy\":{\"value\":\"on-success\"}}}", "p.json:1:26: delete policy \"on-success\""},
    {"{\"hook\":{\"events\":{\"mode\":\"sometimes\"}}}", "p.json:1:20: /hook/events/mode \"sometimes\" is not one of add, enforce, off"},
    {"{\"hook\":{\"weight\":{\"value\":\"five\"}}}", "p.json:1:20: hook weight \"five\" is not an integer"},
    {"{\"restartPolicy\":{\"value\":\"Always\"}}", "p.json:1:19: restartPolicy \"Always\" is not valid for a Job"},
    {"{\"imagePullSecrets\":{\"mode\":\"add\"}}", "p.json:1:22: /imagePullSecrets/mode \"add\" is not one of merge, off"},
    {"{\"imagePullSecrets\":{\"names\":[\"Bad_Name\"]}}", "p.json:1:31: \"Bad_Name\" is not a valid Secret name"},
    {"{\"imagePullSecrets\":{\"names\":\"x\"}}", "p.json:1:22: /imagePullSecrets/names must be an array of strings"},
    {"{\"selector\":{\"labelKey\":\"not a key\"}}", "p.json:1:14: \"not a key\" is not a valid label key"},
    {"{\"job\":{\"backoffLimit\":{\"value\":-1}}}", "p.json:1:25: /job/backoffLimit must be between 0 and"},
    {"{\"job\":{\"activeDeadlineSeconds\":{\"value\":0}}}", "p.json:1:34: /job/activeDeadlineSeconds must be between 1"},
    {"{\"rules\":{\"no-such-rule\":\"warn\"}}", "p.json:1:11: unknown rule \"no-such-rule\""},
    {"{\"rules\":{\"not-a-hook\":\"loud\"}}", "p.json:1:11: /rules/not-a-hook must be one of off, warn, deny"},
    {"{\"rules\":{\"ttl-after-finished\":{\"action\":\"warn\",\"maxSeconds\":1}}}", "p.json:1:49: unknown key \"maxSeconds\" in /rules/ttl-after-finished"},
    {"[]", "p.json:1:1: a policy must be a JSON object"},
    {"{\"namespaces\":{\"include\":[\"Kube_System\"]}}", "p.json:1:27: \"Kube_System\" is not a valid namespace name"},
    {"{", "p.json:1:1: string or '}' expected near end of file"},
};

START_TEST(test_policyfile_refuses_bad_files_naming_line_and_column)
{
    struct hw_error err = {0};
    struct hw_policy *p = hw_policy_parse(bad_cases[_i].text, strlen(bad_cases[_i].text), "p.json",
                                          NULL, &err);

    ck_assert_ptr_null(p);
    ck_assert_int_eq(err.code, HW_EINVAL);
    ck_assert_msg(strncmp(err.msg, bad_cases[_i].error, strlen(bad_cases[_i].error)) == 0,
                  "case %d:\n got  %s\n want %s", _i, err.msg, bad_cases[_i].error);
}
END_TEST

/* The same strictness in YAML, with positions in the YAML text. */
static const struct {
    const char *text;
    const char *error;
} bad_yaml[] = {
    {"selector: {}\nselector: {}\n", "p.yaml:2:1: duplicate key \"selector\""},
    {"# comment\nselektor: {}\n", "p.yaml:2:1: unknown key \"selektor\" in the policy"},
    {"hook:\n  events:\n    mode: add\n    value: pre-instal\n",
     "p.yaml:4:5: hook events \"pre-instal\" include one Helm does not know"},
    {"hook: {events: {mode: sometimes}}\n", "p.yaml:1:17: /hook/events/mode \"sometimes\" is not one of add, enforce, off"},
    {"restartPolicy:\n  value: Always\n", "p.yaml:2:3: restartPolicy \"Always\" is not valid for a Job"},
    {"imagePullSecrets:\n  names:\n    - Bad_Name\n", "p.yaml:3:7: \"Bad_Name\" is not a valid Secret name"},
    {"job:\n  backoffLimit: {value: -1}\n", "p.yaml:2:18: /job/backoffLimit must be between 0 and"},
    {"job:\n  backoffLimit: {value: 1.0}\n", "p.yaml:2:18: /job/backoffLimit/value must be an integer"},
    {"rules:\n  not-a-hook: loud\n", "p.yaml:2:3: /rules/not-a-hook must be one of off, warn, deny"},
    {"- a\n", "p.yaml:1:1: a policy must be a YAML mapping"},
    {"", "p.yaml:1:1: the policy file is empty: write {} for the built-in default policy"},
    {"# only a comment\n", "p.yaml:1:1: the policy file is empty"},
    {"rules: {}\n---\nhook: {}\n", "p.yaml:3:1: a policy file is one YAML document; this is the second"},
    {"rules: [\n", "p.yaml:2:1: did not find expected node content"},
    /* YAML's booleans and numbers where the schema wants a string: the
     * message says how to write it. */
    {"hook:\n  weight: {mode: off}\n",
     "p.yaml:2:12: /hook/weight/mode must be a string (YAML reads a plain off, on, yes or no as a "
     "boolean: write the word in quotes, e.g. \"off\")"},
    {"hook:\n  weight: {value: -5}\n",
     "p.yaml:2:12: /hook/weight/value must be a string (YAML reads -5 as a number: write \"-5\")"},
    {"rules:\n  delete-policy: no\n",
     "p.yaml:2:3: /rules/delete-policy must be off, warn, deny or an object with an action (YAML reads"},
    {"rules:\n  ttl-after-finished: {action: off}\n",
     "p.yaml:2:24: /rules/ttl-after-finished/action must be one of off, warn, deny (YAML reads"},
    {"selector:\n  labelValues: [yes]\n", "p.yaml:2:17: /selector/labelValues/0 must be a string (YAML reads"},
    /* A value an alias or a merge key brought has no position of its own:
     * the message points at the key that holds it. */
    {"hook:\n  events: {mode: add}\n  deletePolicy: {mode: sometimes}\n  weight: &w {value: x}\n"
     "restartPolicy: *w\n",
     "p.yaml:3:18: /hook/deletePolicy/mode \"sometimes\""},
    {"restartPolicy:\n  <<: {mode: sometimes}\n", "p.yaml:1:1: /restartPolicy/mode \"sometimes\""},
    /* Overrides, in YAML as in JSON. */
    {"overrides:\n  - namespaces: [\"team-a-*\"]\n    imagePullSecret:\n      names: [team-a-pull]\n",
     "p.yaml:3:5: unknown key \"imagePullSecret\" in /overrides/0"},
};

START_TEST(test_policyfile_refuses_bad_yaml_naming_line_and_column)
{
    struct hw_error err = {0};
    struct hw_policy *p = hw_policy_parse(bad_yaml[_i].text, strlen(bad_yaml[_i].text), "p.yaml",
                                          NULL, &err);

    ck_assert_ptr_null(p);
    ck_assert_int_eq(err.code, HW_EINVAL);
    ck_assert_msg(strncmp(err.msg, bad_yaml[_i].error, strlen(bad_yaml[_i].error)) == 0,
                  "case %d:\n got  %s\n want %s", _i, err.msg, bad_yaml[_i].error);
}
END_TEST

/* The report from an aliased value: every problem, each at its own key or
 * at the alias. */
START_TEST(test_policyfile_check_reports_every_yaml_problem)
{
    const char *text = "hook:\n"
                       "  events: &e {mode: sometimes}\n"
                       "  deletePolicy: *e\n"
                       "rules:\n"
                       "  not-a-hook: loud\n"
                       "  bogus: warn\n";
    struct hw_buf report;

    hw_buf_init(&report, 0);
    ck_assert_int_eq(hw_policy_check(text, strlen(text), "p.yml", &report), 4);
    ck_assert_ptr_nonnull(strstr(report.data, "p.yml:2:15: /hook/events/mode \"sometimes\""));
    ck_assert_ptr_nonnull(strstr(report.data, "p.yml:3:3: /hook/deletePolicy/mode \"sometimes\""));
    ck_assert_ptr_nonnull(strstr(report.data, "p.yml:5:3: /rules/not-a-hook must be one of"));
    ck_assert_ptr_nonnull(strstr(report.data, "p.yml:6:3: unknown rule \"bogus\""));
    hw_buf_free(&report);
}
END_TEST

/* JSON or YAML: by the name, else by the first character. */
START_TEST(test_policyfile_reads_yaml_by_name_or_content)
{
    static const struct {
        const char *text, *source;
        int ok;
    } cases[] = {
        {"rules: {not-a-hook: deny}", "policy", 1},       /* no '{': YAML */
        {"rules: {not-a-hook: deny}", "p.yaml", 1},
        {"rules: {not-a-hook: deny}", "p.yml", 1},
        {"rules: {not-a-hook: deny}", "p.json", 0},       /* .json is JSON, whatever it holds */
        {"{\"rules\": {\"not-a-hook\": \"deny\"}}", "policy", 1},
        {"  {\"rules\": {\"not-a-hook\": \"deny\"}}", "p.yaml", 1},  /* JSON is YAML too */
        {"{rules: {not-a-hook: deny}}", "policy", 0},      /* '{' first: JSON */
        {"{rules: {not-a-hook: deny}}", "p.yaml", 1},
    };
    struct hw_error err = {0};

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct hw_policy *p = hw_policy_parse(cases[i].text, strlen(cases[i].text), cases[i].source,
                                              NULL, &err);

        ck_assert_msg((p != NULL) == cases[i].ok, "case %zu: %s", i, err.msg);
        hw_policy_unref(p);
        hw_error_clear(&err);
    }
}
END_TEST

/* Two files, one policy: compared as the complete documents they build. */
static void
assert_same_policy(const char *a_path, const char *b_path)
{
    struct hw_error err = {0};
    struct hw_policy *a = hw_policy_load(a_path, NULL, &err), *b;
    json_t *ja, *jb;
    char *ta, *tb;

    ck_assert_msg(a != NULL, "%s", err.msg);
    b = hw_policy_load(b_path, NULL, &err);
    ck_assert_msg(b != NULL, "%s", err.msg);
    ja = hw_policy_to_json(a, NULL);
    jb = hw_policy_to_json(b, NULL);
    ta = json_dumps(ja, JSON_INDENT(1));
    tb = json_dumps(jb, JSON_INDENT(1));
    ck_assert_msg(json_equal(ja, jb), "%s:\n%s\n%s:\n%s", a_path, ta, b_path, tb);
    free(ta);
    free(tb);
    json_decref(ja);
    json_decref(jb);
    hw_policy_unref(a);
    hw_policy_unref(b);
}

START_TEST(test_policyfile_yaml_example_is_the_json_example)
{
    assert_same_policy(HW_TEST_DATA "/../../docs/policy-example.json",
                       HW_TEST_DATA "/../../docs/policy-example.yaml");
    assert_same_policy(HW_TEST_DATA "/../../docs/policy-teams.yaml", HW_TEST_DATA "/policy/teams.json");
}
END_TEST

START_TEST(test_policyfile_check_reports_every_problem)
{
    const char *text = "{\n"
                       "  \"selektor\": {},\n"
                       "  \"hook\": {\"events\": {\"value\": \"pre-upgrad\"}},\n"
                       "  \"rules\": {\"not-a-hook\": \"loud\", \"bogus\": \"warn\"}\n"
                       "}\n";
    struct hw_buf report;
    int n;

    hw_buf_init(&report, 0);
    n = hw_policy_check(text, strlen(text), "p.json", &report);
    ck_assert_int_eq(n, 4);
    ck_assert_ptr_nonnull(strstr(report.data, "p.json:2:3: unknown key \"selektor\""));
    ck_assert_ptr_nonnull(strstr(report.data, "p.json:3:23: hook events \"pre-upgrad\""));
    ck_assert_ptr_nonnull(strstr(report.data, "p.json:4:13: /rules/not-a-hook must be one of"));
    ck_assert_ptr_nonnull(strstr(report.data, "p.json:4:35: unknown rule \"bogus\""));
    hw_buf_free(&report);
}
END_TEST

START_TEST(test_policyfile_example_in_docs_is_valid_and_comments_are_ignored)
{
    size_t len;
    char *text = tu_read(HW_TEST_DATA "/../../docs/policy-example.json", &len);
    struct hw_buf report;

    ck_assert_ptr_nonnull(text);
    hw_buf_init(&report, 0);
    ck_assert_msg(hw_policy_check(text, len, "policy-example.json", &report) == 0, "%s",
                  report.data ? report.data : "");
    hw_buf_free(&report);
    free(text);
}
END_TEST

START_TEST(test_policyfile_empty_object_equals_the_built_in_default)
{
    struct hw_policy *a = hw_policy_parse("{}", 2, "p.json", NULL, NULL);
    struct hw_policy *b = hw_policy_new_default(NULL, NULL);
    const char *job = "{\"apiVersion\":\"batch/v1\",\"kind\":\"Job\",\"metadata\":{\"name\":\"j\","
                      "\"labels\":{\"hookwarden.io/migration\":\"true\"},\"annotations\":"
                      "{\"meta.helm.sh/release-name\":\"r\"}},\"spec\":{\"template\":{\"spec\":"
                      "{\"restartPolicy\":\"OnFailure\"}}}}";
    struct hw_target t = {HW_OP_CREATE, "batch", "v1", "Job", "", "ns", NULL};
    struct hw_outcome oa, ob;
    struct hw_patch *pa = hw_patch_new(), *pb = hw_patch_new();
    json_t *ja = json_loads(job, 0, NULL), *jb = json_loads(job, 0, NULL);

    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_nonnull(b);
    ck_assert_str_eq(hw_policy_source(a), "p.json");
    ck_assert_str_eq(hw_policy_source(b), "built-in default");
    ck_assert_int_eq(hw_policy_apply(a, &t, ja, pa, &oa, NULL), 0);
    ck_assert_int_eq(hw_policy_apply(b, &t, jb, pb, &ob, NULL), 0);
    ck_assert(json_equal(hw_patch_ops(pa), hw_patch_ops(pb)));
    ck_assert_int_eq(oa.n_warnings, 2);
    ck_assert_int_eq(ob.n_warnings, 2);
    json_decref(ja);
    json_decref(jb);
    hw_patch_free(pa);
    hw_patch_free(pb);
    hw_policy_unref(a);
    hw_policy_unref(b);
}
END_TEST

#define BASE_POLICY HW_TEST_DATA "/../../deploy/base/policy.yaml"

/* deploy/ ships the policy as YAML; read as hookwarden reads it, it is the
 * built-in default document, key for key. */
START_TEST(test_policyfile_deploy_base_policy_is_the_built_in_default_key_for_key)
{
    size_t len;
    char *text = tu_read(BASE_POLICY, &len);
    struct hw_error err = {0};
    struct hw_yaml_stream *s;
    json_t *def = json_loads(hw_policy_default_text(), 0, NULL);
    char *a, *b;

    ck_assert_ptr_nonnull(text);
    ck_assert_ptr_nonnull(def);
    s = hw_yaml_parse(text, len, "policy.yaml", &err);
    ck_assert_msg(s != NULL, "%s", err.msg);
    ck_assert_uint_eq(s->n_docs, 1);
    a = json_dumps(s->docs[0].value, JSON_SORT_KEYS | JSON_INDENT(1));
    b = json_dumps(def, JSON_SORT_KEYS | JSON_INDENT(1));
    ck_assert_msg(json_equal(s->docs[0].value, def), "deploy/base/policy.yaml:\n%s\nbuilt-in default:\n%s",
                  a, b);
    free(a);
    free(b);
    free(text);
    hw_yaml_free(s);
    json_decref(def);
}
END_TEST

/* And it decides the same: the fixture Jobs, labelled, and the stored
 * reviews get byte-identical answers from the file and the default. */
static const char *const base_cases[] = {
    "jobs/airflow-migrate.json", "jobs/gitlab-migrate.json", "jobs/harbor-migrate.json",
    "jobs/hydra-migrate.json", "jobs/kong-migrate.json", "jobs/mastodon-migrate.json",
    "jobs/posthog-migrate.json", "jobs/redash-migrate.json", "jobs/sentry-migrate.json",
    "jobs/temporal-migrate.json", "jobs/zitadel-migrate.json", "reviews/create-airflow-v1.json",
    "reviews/create-dryrun-temporal-v1.json", "reviews/update-airflow-v1.json",
};

START_TEST(test_policyfile_deploy_base_policy_answers_like_the_built_in_default)
{
    struct hw_error err = {0};
    struct hw_policy *file = hw_policy_load(BASE_POLICY, NULL, &err);
    struct hw_policy *def = hw_policy_new_default(NULL, NULL);
    struct hw_response ra = {0}, rb = {0};
    char path[512], *body;

    ck_assert_msg(file != NULL, "%s", err.msg);
    snprintf(path, sizeof(path), "%s/%s", HW_TEST_DATA, base_cases[_i]);
    if (strncmp(base_cases[_i], "jobs/", 5) == 0) {
        json_t *job = tu_json(path), *labels;

        ck_assert_ptr_nonnull(job);
        labels = json_object_get(json_object_get(job, "metadata"), "labels");
        if (!json_is_object(labels)) {
            labels = json_object();
            json_object_set_new(json_object_get(job, "metadata"), "labels", labels);
        }
        json_object_set_new(labels, "hookwarden.io/migration", json_string("true"));
        body = tu_review(job, "CREATE", "admission.k8s.io/v1", NULL);
        json_decref(job);
    } else {
        body = tu_read(path, NULL);
    }
    ck_assert_ptr_nonnull(body);
    hw_handler_mutate(file, body, strlen(body), &ra);
    hw_handler_mutate(def, body, strlen(body), &rb);
    ck_assert_int_eq(ra.status, 200);
    ck_assert_int_eq(ra.body_len, rb.body_len);
    ck_assert_msg(memcmp(ra.body, rb.body, ra.body_len) == 0, "%s: %s\nvs\n%s", base_cases[_i], ra.body,
                  rb.body);
    hw_response_clear(&ra);
    hw_response_clear(&rb);
    free(body);
    hw_policy_unref(file);
    hw_policy_unref(def);
}
END_TEST

START_TEST(test_policyfile_flags_override_the_file)
{
    static const char *const secrets[] = {"from-flag"};
    struct hw_policy_overrides ov = {.label_key = "team.example.com/migrate", .label_value = "yes",
                                     .pull_secrets = secrets, .n_pull_secrets = 1};
    const char *text = "{\"selector\":{\"labelKey\":\"a\",\"labelValues\":[\"b\"]},"
                       "\"imagePullSecrets\":{\"mode\":\"off\",\"names\":[\"from-file\"]}}";
    struct hw_policy *p = hw_policy_parse(text, strlen(text), "p.json", &ov, NULL);
    struct hw_target t = {HW_OP_CREATE, "batch", "v1", "Job", "", "ns", NULL};
    struct hw_outcome oc;
    struct hw_patch *patch = hw_patch_new();
    json_t *job = json_loads("{\"metadata\":{\"labels\":{\"team.example.com/migrate\":\"yes\"},"
                             "\"annotations\":{}},\"spec\":{\"template\":{\"spec\":{\"restartPolicy\":\"Never\"}}}}",
                             0, NULL);
    json_t *list;

    ck_assert_ptr_nonnull(p);
    ck_assert_int_eq(hw_policy_apply(p, &t, job, patch, &oc, NULL), 0);
    ck_assert_int_eq(oc.selected, 1);
    list = json_object_get(json_object_get(json_object_get(json_object_get(job, "spec"), "template"),
                                           "spec"), "imagePullSecrets");
    ck_assert_int_eq(json_array_size(list), 1);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(list, 0), "name")), "from-flag");
    json_decref(job);
    hw_patch_free(patch);
    hw_policy_unref(p);
}
END_TEST

START_TEST(test_policyfile_refuses_invalid_overrides)
{
    static const char *const bad[] = {"UPPER"};
    struct hw_policy_overrides a = {.label_key = "bad key", .label_value = "x"};
    struct hw_policy_overrides b = {.pull_secrets = bad, .n_pull_secrets = 1};
    struct hw_error err = {0};

    ck_assert_ptr_null(hw_policy_new_default(&a, &err));
    ck_assert_ptr_nonnull(strstr(err.msg, "--label bad key=x is not a valid label selector"));
    hw_error_clear(&err);
    ck_assert_ptr_null(hw_policy_new_default(&b, &err));
    ck_assert_ptr_nonnull(strstr(err.msg, "--image-pull-secret \"UPPER\""));
}
END_TEST

START_TEST(test_policyfile_load_names_a_missing_file)
{
    struct hw_error err = {0};

    ck_assert_ptr_null(hw_policy_load("/nonexistent/policy.json", NULL, &err));
    ck_assert_str_eq(err.msg, "policy file /nonexistent/policy.json: cannot open: No such file or directory");
}
END_TEST

Suite *hw_suite_policyfile(void);

Suite *
hw_suite_policyfile(void)
{
    Suite *s = suite_create("policyfile");
    TCase *tc = tcase_create("core");

    tcase_add_loop_test(tc, test_policyfile_refuses_bad_files_naming_line_and_column, 0,
                        sizeof(bad_cases) / sizeof(bad_cases[0]));
    tcase_add_test(tc, test_policyfile_check_reports_every_problem);
    tcase_add_loop_test(tc, test_policyfile_refuses_bad_yaml_naming_line_and_column, 0,
                        sizeof(bad_yaml) / sizeof(bad_yaml[0]));
    tcase_add_test(tc, test_policyfile_check_reports_every_yaml_problem);
    tcase_add_test(tc, test_policyfile_reads_yaml_by_name_or_content);
    tcase_add_test(tc, test_policyfile_yaml_example_is_the_json_example);
    tcase_add_test(tc, test_policyfile_example_in_docs_is_valid_and_comments_are_ignored);
    tcase_add_test(tc, test_policyfile_empty_object_equals_the_built_in_default);
    tcase_add_test(tc, test_policyfile_deploy_base_policy_is_the_built_in_default_key_for_key);
    tcase_add_loop_test(tc, test_policyfile_deploy_base_policy_answers_like_the_built_in_default, 0,
                        sizeof(base_cases) / sizeof(base_cases[0]));
    tcase_add_test(tc, test_policyfile_flags_override_the_file);
    tcase_add_test(tc, test_policyfile_refuses_invalid_overrides);
    tcase_add_test(tc, test_policyfile_load_names_a_missing_file);
    suite_add_tcase(s, tc);
    return s;
}

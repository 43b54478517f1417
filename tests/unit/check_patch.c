/* SPDX-License-Identifier: Apache-2.0 */
/* patch: RFC 6901 escaping and op building from every starting shape. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "hookwarden/patch.h"
#include "testutil.h"

static const struct {
    const char *key, *escaped;
} escapes[] = {
    {"helm.sh/hook", "helm.sh~1hook"},
    {"a~b", "a~0b"},
    {"~/", "~0~1"},
    {"/~", "~1~0"},
    {"plain", "plain"},
    {"", ""},
    {"a//b", "a~1~1b"},
    {"~1", "~01"},
};

START_TEST(test_patch_escapes_slash_and_tilde_in_keys)
{
    struct hw_buf b;

    hw_buf_init(&b, 0);
    ck_assert_int_eq(hw_patch_escape(&b, escapes[_i].key, strlen(escapes[_i].key)), 0);
    ck_assert_str_eq(b.data, escapes[_i].escaped);
    hw_buf_free(&b);
}
END_TEST

/* Each case: a starting document, what to set, the expected ops. */
static const struct {
    const char *name, *doc, *ops;
} set_cases[] = {
    {"missing map is added whole", "{\"metadata\":{\"name\":\"j\"}}",
     "[{\"op\":\"add\",\"path\":\"/metadata/annotations\",\"value\":{\"helm.sh/hook\":\"x\"}}]"},
    {"null map is added whole", "{\"metadata\":{\"annotations\":null}}",
     "[{\"op\":\"add\",\"path\":\"/metadata/annotations\",\"value\":{\"helm.sh/hook\":\"x\"}}]"},
    {"existing map gets a single key", "{\"metadata\":{\"annotations\":{\"a\":\"b\"}}}",
     "[{\"op\":\"add\",\"path\":\"/metadata/annotations/helm.sh~1hook\",\"value\":\"x\"}]"},
    {"existing key is replaced", "{\"metadata\":{\"annotations\":{\"helm.sh/hook\":\"y\"}}}",
     "[{\"op\":\"replace\",\"path\":\"/metadata/annotations/helm.sh~1hook\",\"value\":\"x\"}]"},
    {"null key is added", "{\"metadata\":{\"annotations\":{\"helm.sh/hook\":null}}}",
     "[{\"op\":\"add\",\"path\":\"/metadata/annotations/helm.sh~1hook\",\"value\":\"x\"}]"},
    {"missing grandparent is added whole", "{}",
     "[{\"op\":\"add\",\"path\":\"/metadata\",\"value\":{\"annotations\":{\"helm.sh/hook\":\"x\"}}}]"},
    {"null grandparent is added whole", "{\"metadata\":null}",
     "[{\"op\":\"add\",\"path\":\"/metadata\",\"value\":{\"annotations\":{\"helm.sh/hook\":\"x\"}}}]"},
};

START_TEST(test_patch_set_creates_parents_only_when_absent_or_null)
{
    static const char *const path[] = {"metadata", "annotations", "helm.sh/hook"};
    json_t *doc = json_loads(set_cases[_i].doc, 0, NULL), *want, *after;
    struct hw_patch *p = hw_patch_new();
    struct hw_error err = {0};
    const char *why = NULL;
    json_t *orig = json_deep_copy(doc);

    ck_assert_int_eq(hw_patch_set(p, doc, path, 3, json_string("x"), &err), 0);
    want = json_loads(set_cases[_i].ops, 0, NULL);
    ck_assert_msg(json_equal(hw_patch_ops(p), want), "%s: got %s", set_cases[_i].name,
                  json_dumps(hw_patch_ops(p), JSON_COMPACT));
    /* The ops apply to the original and give the in-memory result. */
    after = tu_apply_patch(orig, hw_patch_ops(p), &why);
    ck_assert_msg(after != NULL, "%s: %s", set_cases[_i].name, why);
    ck_assert(json_equal(after, doc));
    json_decref(after);
    json_decref(orig);
    json_decref(want);
    json_decref(doc);
    hw_patch_free(p);
}
END_TEST

START_TEST(test_patch_second_key_goes_into_the_map_the_first_created)
{
    static const char *const a[] = {"metadata", "annotations", "helm.sh/hook"};
    static const char *const b[] = {"metadata", "annotations", "helm.sh/hook-delete-policy"};
    json_t *doc = json_loads("{\"metadata\":{}}", 0, NULL);
    struct hw_patch *p = hw_patch_new();
    json_t *ops;

    ck_assert_int_eq(hw_patch_set(p, doc, a, 3, json_string("pre-install"), NULL), 0);
    ck_assert_int_eq(hw_patch_set(p, doc, b, 3, json_string("hook-succeeded"), NULL), 0);
    ops = (json_t *)hw_patch_ops(p);
    ck_assert_int_eq(json_array_size(ops), 2);
    /* The first op's value must not have been changed by the second. */
    ck_assert_int_eq(json_object_size(json_object_get(json_array_get(ops, 0), "value")), 1);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(ops, 1), "path")),
                     "/metadata/annotations/helm.sh~1hook-delete-policy");
    json_decref(doc);
    hw_patch_free(p);
}
END_TEST

START_TEST(test_patch_append_adds_the_array_when_missing_and_appends_otherwise)
{
    static const char *const path[] = {"spec", "template", "spec", "imagePullSecrets"};
    json_t *doc = json_loads("{\"spec\":{\"template\":{\"spec\":{}}}}", 0, NULL);
    struct hw_patch *p = hw_patch_new();
    const json_t *ops;

    ck_assert_int_eq(hw_patch_append(p, doc, path, 4, json_pack("{s:s}", "name", "a"), NULL), 0);
    ck_assert_int_eq(hw_patch_append(p, doc, path, 4, json_pack("{s:s}", "name", "b"), NULL), 0);
    ops = hw_patch_ops(p);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(ops, 0), "path")),
                     "/spec/template/spec/imagePullSecrets");
    ck_assert(json_is_array(json_object_get(json_array_get(ops, 0), "value")));
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(ops, 1), "path")),
                     "/spec/template/spec/imagePullSecrets/-");
    ck_assert_int_eq(json_array_size(json_object_get(
                         json_object_get(json_object_get(json_object_get(doc, "spec"), "template"),
                                         "spec"), "imagePullSecrets")), 2);
    json_decref(doc);
    hw_patch_free(p);
}
END_TEST

/* The list found is another document's too (review.h): a longer copy
 * replaces it in doc, and it stays as it was. */
START_TEST(test_patch_append_leaves_the_array_it_found_as_it_was)
{
    static const char *const path[] = {"spec", "imagePullSecrets"};
    json_t *shared = json_pack("[{s:s}]", "name", "chart");
    json_t *doc = json_pack("{s:{s:O}}", "spec", "imagePullSecrets", shared);
    struct hw_patch *p = hw_patch_new();
    json_t *got;

    ck_assert_int_eq(hw_patch_append(p, doc, path, 2, json_pack("{s:s}", "name", "a"), NULL), 0);
    got = json_object_get(json_object_get(doc, "spec"), "imagePullSecrets");
    ck_assert_int_eq(json_array_size(got), 2);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(got, 1), "name")), "a");
    ck_assert_int_eq(json_array_size(shared), 1);
    json_decref(shared);
    json_decref(doc);
    hw_patch_free(p);
}
END_TEST

START_TEST(test_patch_append_below_a_missing_parent_adds_parent_with_array)
{
    static const char *const path[] = {"spec", "template", "spec", "imagePullSecrets"};
    json_t *doc = json_loads("{\"spec\":{}}", 0, NULL);
    struct hw_patch *p = hw_patch_new();
    json_t *want = json_loads("[{\"op\":\"add\",\"path\":\"/spec/template\",\"value\":"
                              "{\"spec\":{\"imagePullSecrets\":[{\"name\":\"a\"}]}}}]", 0, NULL);

    ck_assert_int_eq(hw_patch_append(p, doc, path, 4, json_pack("{s:s}", "name", "a"), NULL), 0);
    ck_assert(json_equal(hw_patch_ops(p), want));
    json_decref(want);
    json_decref(doc);
    hw_patch_free(p);
}
END_TEST

START_TEST(test_patch_refuses_a_parent_of_the_wrong_type)
{
    static const char *const path[] = {"metadata", "annotations", "k"};
    json_t *doc = json_loads("{\"metadata\":{\"annotations\":\"oops\"}}", 0, NULL);
    struct hw_patch *p = hw_patch_new();
    struct hw_error err = {0};

    ck_assert_int_eq(hw_patch_set(p, doc, path, 3, json_string("v"), &err), -1);
    ck_assert_int_eq(err.code, HW_EINVAL);
    ck_assert_str_eq(err.msg, "object field /metadata/annotations is a string, expected an object");
    ck_assert_int_eq(hw_patch_count(p), 0);
    json_decref(doc);
    hw_patch_free(p);
}
END_TEST

START_TEST(test_patch_refuses_appending_to_a_non_array)
{
    static const char *const path[] = {"spec", "imagePullSecrets"};
    json_t *doc = json_loads("{\"spec\":{\"imagePullSecrets\":{}}}", 0, NULL);
    struct hw_patch *p = hw_patch_new();
    struct hw_error err = {0};

    ck_assert_int_eq(hw_patch_append(p, doc, path, 2, json_string("v"), &err), -1);
    ck_assert_int_eq(err.code, HW_EINVAL);
    json_decref(doc);
    hw_patch_free(p);
}
END_TEST

START_TEST(test_patch_dump_is_a_compact_json_array)
{
    static const char *const path[] = {"a"};
    json_t *doc = json_object();
    struct hw_patch *p = hw_patch_new();
    struct hw_buf b;

    hw_buf_init(&b, 0);
    ck_assert_int_eq(hw_patch_set(p, doc, path, 1, json_integer(1), NULL), 0);
    ck_assert_int_eq(hw_patch_dump(p, &b, NULL), 0);
    ck_assert_str_eq(b.data, "[{\"op\":\"add\",\"path\":\"/a\",\"value\":1}]");
    hw_buf_free(&b);
    json_decref(doc);
    hw_patch_free(p);
}
END_TEST

Suite *hw_suite_patch(void);

Suite *
hw_suite_patch(void)
{
    Suite *s = suite_create("patch");
    TCase *tc = tcase_create("core");

    tcase_add_loop_test(tc, test_patch_escapes_slash_and_tilde_in_keys, 0,
                        sizeof(escapes) / sizeof(escapes[0]));
    tcase_add_loop_test(tc, test_patch_set_creates_parents_only_when_absent_or_null, 0,
                        sizeof(set_cases) / sizeof(set_cases[0]));
    tcase_add_test(tc, test_patch_second_key_goes_into_the_map_the_first_created);
    tcase_add_test(tc, test_patch_append_adds_the_array_when_missing_and_appends_otherwise);
    tcase_add_test(tc, test_patch_append_leaves_the_array_it_found_as_it_was);
    tcase_add_test(tc, test_patch_append_below_a_missing_parent_adds_parent_with_array);
    tcase_add_test(tc, test_patch_refuses_a_parent_of_the_wrong_type);
    tcase_add_test(tc, test_patch_refuses_appending_to_a_non_array);
    tcase_add_test(tc, test_patch_dump_is_a_compact_json_array);
    suite_add_tcase(s, tc);
    return s;
}

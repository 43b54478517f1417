/* SPDX-License-Identifier: Apache-2.0 */
/*
 * scan: the fast decode must answer exactly as jansson's full parse does.
 * Differential over every fixture Job (labelled or not, CREATE and UPDATE,
 * v1 and v1beta1, three policies), the real-shaped reviews, the golden requests,
 * the bench bodies, and deterministic corruptions of each (truncations,
 * byte flips, inserted escapes); plus the scanner's own accept/decline table.
 */
#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hookwarden/handler.h"
#include "hookwarden/scan.h"
#include "testutil.h"

static const struct {
    const char *text;
    int valid;  /* 1: the scanner accepts (jansson must too) */
} scan_cases[] = {
    {"{}", 1}, {"[]", 1}, {"\"x\"", 1}, {"0", 1}, {"-0.5e-3", 1}, {" true ", 1}, {"null", 1},
    {"{\"a\":[1,2,{\"b\":null}],\"c\":\"\\u00e9\\n\\/\"}", 1},
    {"\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"", 1},
    {"\"\\u0000\"", 1},
    {"123456789012345678", 1},
    {"", 0}, {" ", 0}, {"{", 0}, {"{\"a\"}", 0}, {"{\"a\":}", 0}, {"{\"a\":1,}", 0}, {"[1,]", 0},
    {"01", 0}, {"1.", 0}, {".5", 0}, {"+1", 0}, {"1e", 0}, {"-", 0}, {"tru", 0}, {"nulls", 0},
    {"\"\x01\"", 0}, {"\"\\x\"", 0}, {"\"\\u12\"", 0}, {"\"\xc0\xaf\"", 0}, {"\"\xed\xa0\x80\"", 0},
    {"\"\xf4\x90\x80\x80\"", 0}, {"\"\xff\"", 0}, {"{} x", 0}, {"\xef\xbb\xbf{}", 0},
    /* Declined although valid: jansson decides these. */
    {"\"\\ud83d\\ude00\"", 0}, {"1234567890123456789", 0}, {"1e400", 0},
    {"{\"a\\u0000b\":1}", 0}, {"{\"a\\\\u0000b\":1}", 1},
    {"{\"k:{\\\"name\\\":\\\"x\\\"}\":{}}", 1},
};

START_TEST(test_scan_accepts_only_what_jansson_reads_the_same)
{
    const char *t = scan_cases[_i].text;
    json_t *j = json_loadb(t, strlen(t), JSON_ALLOW_NUL | JSON_DECODE_ANY, NULL);

    ck_assert_msg(hw_scan_validate(t, strlen(t)) == (scan_cases[_i].valid ? 0 : -1), "case %d", _i);
    if (scan_cases[_i].valid)
        ck_assert_msg(j != NULL, "scanner accepted what jansson refuses: case %d", _i);
    json_decref(j);
}
END_TEST

/* The point of the scanner: real reviews take the fast path. */
START_TEST(test_scan_accepts_every_real_shaped_review)
{
    static const char *const files[] = {"reviews/create-airflow-v1.json", "reviews/update-airflow-v1.json",
                                        "reviews/create-dryrun-temporal-v1.json", "bench/review-4k.json",
                                        "bench/review-8k.json"};
    char path[4096];

    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        size_t len;
        char *body;

        snprintf(path, sizeof(path), "%s/%s", HW_TEST_DATA, files[i]);
        body = tu_read(path, &len);
        ck_assert_ptr_nonnull(body);
        ck_assert_msg(hw_scan_validate(body, len) == 0, "%s declined: slow path", files[i]);
        free(body);
    }
}
END_TEST

START_TEST(test_scan_declines_nesting_past_its_limit)
{
    char *deep = malloc(4003);

    memset(deep, '[', 2000);
    memset(deep + 2000, ']', 2000);
    ck_assert_int_eq(hw_scan_validate(deep, 4000), -1);
    ck_assert_int_eq(hw_scan_validate(deep + 1000, 2000), 0);
    free(deep);
}
END_TEST

/* ---- the differential ---- */

static struct hw_policy *policies[3];
static long compared, corrupted;

static void
same_answer(const char *body, size_t len, const char *what)
{
    for (int i = 0; i < 3; i++) {
        struct hw_response fast = {0}, full = {0};

        hw_handler_mutate_with(policies[i], body, len, 0, &fast);
        hw_handler_mutate_with(policies[i], body, len, HW_REVIEW_FULL, &full);
        ck_assert_msg(fast.status == full.status && fast.body_len == full.body_len &&
                      memcmp(fast.body, full.body, fast.body_len) == 0,
                      "%s (policy %d): fast %d %.*s\nfull %d %.*s", what, i, fast.status,
                      (int)fast.body_len, fast.body, full.status, (int)full.body_len, full.body);
        hw_response_clear(&fast);
        hw_response_clear(&full);
        compared++;
    }
}

/* The body, then deterministic corruptions of it. */
static void
same_answer_and_corruptions(const char *body, size_t len, const char *what)
{
    char *m = malloc(len + 8);
    static const char flips[] = {'"', '\\', '{', '}', '[', ']', ',', ':', ' ', 'x', '\x80', '\0'};

    same_answer(body, len, what);
    for (size_t k = 1; k <= 7; k++) {
        size_t at = len * k / 8;

        same_answer(body, at, "truncated");
        for (size_t f = 0; f < sizeof(flips); f++) {
            memcpy(m, body, len);
            m[at] = flips[f];
            same_answer(m, len, "byte flipped");
            corrupted++;
        }
        /* Escapes where the policy looks: a letter, and a NUL (which
         * jansson refuses in object keys but accepts in values). */
        memcpy(m, body, at);
        memcpy(m + at, "\\u0041", 6);
        memcpy(m + at + 6, body + at, len - at);
        same_answer(m, len + 6, "escape inserted");
        memcpy(m + at, "\\u0000", 6);
        same_answer(m, len + 6, "NUL escape inserted");
    }
    free(m);
}

static void
with_job(json_t *job, const char *op, const char *version, int labelled)
{
    json_t *j = json_deep_copy(job), *meta = json_object_get(j, "metadata");
    json_t *old = NULL;
    char *body;

    if (labelled)
        json_object_set_new(meta, "labels", json_pack("{s:s}", "hookwarden.io/migration", "true"));
    if (strcmp(op, "UPDATE") == 0)
        old = json_deep_copy(j);
    body = tu_review(j, op, version, old);
    same_answer_and_corruptions(body, strlen(body), "fixture");
    free(body);
    json_decref(old);
    json_decref(j);
}

/* Sets job[path] to a string of n bytes (NULs included). */
static void
set_bytes(json_t *job, const char *const *path, size_t depth, const char *bytes, size_t n)
{
    json_t *cur = job;

    for (size_t i = 0; i + 1 < depth; i++) {
        json_t *next = json_object_get(cur, path[i]);

        if (!json_is_object(next)) {
            next = json_object();
            json_object_set_new(cur, path[i], next);
        }
        cur = next;
    }
    json_object_set_new(cur, path[depth - 1], json_stringn(bytes, n));
}

/* A NUL inside the values the policy compares: both decoders must read the
 * different string it is, on CREATE and on UPDATE (in either object). */
static void
with_nul_values(json_t *job, const char *version)
{
    static const char *const restart[] = {"spec", "template", "spec", "restartPolicy"};
    static const char *const hook[] = {"metadata", "annotations", "helm.sh/hook"};
    static const char *const release[] = {"metadata", "annotations", "meta.helm.sh/release-name"};
    static const char *const label[] = {"metadata", "labels", "hookwarden.io/migration"};
    json_t *j = json_deep_copy(job), *old = json_deep_copy(job), *pulls;
    char *body;

    set_bytes(j, label, 3, "true", 4);
    set_bytes(old, label, 3, "true\0", 5);
    set_bytes(j, restart, 4, "Never\0x", 7);
    set_bytes(old, restart, 4, "Never\0", 6);
    set_bytes(j, hook, 3, "pre-install\0x", 13);
    set_bytes(j, release, 3, "r\0", 2);
    pulls = json_pack("[{s:s%}]", "name", "a\0x", (size_t)3);
    json_object_set_new(json_object_get(json_object_get(json_object_get(j, "spec"), "template"), "spec"),
                        "imagePullSecrets", pulls);
    body = tu_review(j, "CREATE", version, NULL);
    same_answer(body, strlen(body), "NUL values on CREATE");
    free(body);
    body = tu_review(j, "UPDATE", version, old);
    same_answer(body, strlen(body), "NUL values on UPDATE");
    free(body);
    json_decref(old);
    json_decref(j);
}

START_TEST(test_scan_fast_decode_answers_like_jansson_on_every_fixture)
{
    static const char *const versions[] = {"admission.k8s.io/v1", "admission.k8s.io/v1beta1"};
    char dirpath[4096];
    struct dirent *e;
    DIR *d;
    int jobs = 0;

    snprintf(dirpath, sizeof(dirpath), "%s/jobs", HW_TEST_DATA);
    d = opendir(dirpath);
    ck_assert_ptr_nonnull(d);
    while ((e = readdir(d)) != NULL) {
        char path[8192];
        json_t *job;

        if (strstr(e->d_name, ".json") == NULL)
            continue;
        snprintf(path, sizeof(path), "%s/%s", dirpath, e->d_name);
        job = tu_json(path);
        for (int v = 0; v < 2; v++) {
            with_job(job, "CREATE", versions[v], 1);
            with_job(job, "UPDATE", versions[v], 1);
            with_job(job, "CREATE", versions[v], 0);
            with_nul_values(job, versions[v]);
        }
        json_decref(job);
        jobs++;
    }
    closedir(d);
    ck_assert_int_eq(jobs, 11);
}
END_TEST

static void
file_case(const char *path)
{
    size_t len;
    char *body = tu_read(path, &len);

    ck_assert_msg(body != NULL, "cannot read %s", path);
    same_answer_and_corruptions(body, len, path);
    free(body);
}

START_TEST(test_scan_fast_decode_answers_like_jansson_on_reviews_and_goldens)
{
    static const char *const fixtures[] = {"reviews/create-airflow-v1.json", "reviews/update-airflow-v1.json",
                                         "reviews/create-dryrun-temporal-v1.json", "bench/review-4k.json",
                                         "bench/review-8k.json"};
    char path[8192];
    struct dirent *e;
    DIR *d;

    for (size_t i = 0; i < sizeof(fixtures) / sizeof(fixtures[0]); i++) {
        snprintf(path, sizeof(path), "%s/%s", HW_TEST_DATA, fixtures[i]);
        file_case(path);
    }
    d = opendir(HW_TEST_DATA "/review");
    ck_assert_ptr_nonnull(d);
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof(path), "%s/review/%s/request.json", HW_TEST_DATA, e->d_name);
        file_case(path);
    }
    closedir(d);
    ck_assert_int_gt(compared, 1000);
}
END_TEST

static void
setup(void)
{
    char *example = tu_read(HW_TEST_DATA "/../../docs/policy-example.json", NULL);
    const char *sidecar = "{\"rules\":{\"long-lived-sidecar\":\"deny\",\"not-a-hook\":\"deny\"},"
                          "\"imagePullSecrets\":{\"names\":[\"a\",\"b\"]}}";

    policies[0] = hw_policy_new_default(NULL, NULL);
    policies[1] = hw_policy_parse(example, strlen(example), "example", NULL, NULL);
    policies[2] = hw_policy_parse(sidecar, strlen(sidecar), "sidecar", NULL, NULL);
    ck_assert(policies[0] && policies[1] && policies[2]);
    free(example);
}

static void
teardown(void)
{
    for (int i = 0; i < 3; i++)
        hw_policy_unref(policies[i]);
}

Suite *hw_suite_scan(void);

Suite *
hw_suite_scan(void)
{
    Suite *s = suite_create("scan");
    TCase *tc = tcase_create("scanner");
    TCase *diff = tcase_create("differential");

    tcase_add_loop_test(tc, test_scan_accepts_only_what_jansson_reads_the_same, 0,
                        sizeof(scan_cases) / sizeof(scan_cases[0]));
    tcase_add_test(tc, test_scan_declines_nesting_past_its_limit);
    tcase_add_test(tc, test_scan_accepts_every_real_shaped_review);
    tcase_add_checked_fixture(diff, setup, teardown);
    tcase_set_timeout(diff, 600);
    tcase_add_test(diff, test_scan_fast_decode_answers_like_jansson_on_every_fixture);
    tcase_add_test(diff, test_scan_fast_decode_answers_like_jansson_on_reviews_and_goldens);
    suite_add_tcase(s, tc);
    suite_add_tcase(s, diff);
    return s;
}

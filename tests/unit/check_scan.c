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
#include "hookwarden/patch.h"
#include "hookwarden/policy.h"
#include "hookwarden/review.h"
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

/* Strings are scanned eight bytes at a time: every kind of byte, at every
 * position within and across two words, gets jansson's verdict. */
START_TEST(test_scan_judges_each_byte_wherever_it_falls_in_a_word)
{
    static const char *const inner[] = {"\\n", "\\u00e9", "\\", "\x01", "\x1f", " ", "\x7f",
                                        "\xc3\xa9", "\xc3", "\xe2\x82\xac", "\xed\xa0\x80",
                                        "\"", "\xff", "\\x"};
    char text[64];
    long checked = 0;

    for (size_t k = 0; k < sizeof(inner) / sizeof(inner[0]); k++) {
        for (int before = 0; before <= 17; before++) {
            for (int after = 0; after <= 9; after += 3) {
                int n = snprintf(text, sizeof(text), "\"%.*s%s%.*s\"", before, "abcdefghijklmnopq",
                                 inner[k], after, "rstuvwxyz");
                json_t *j = json_loadb(text, (size_t)n, JSON_ALLOW_NUL | JSON_DECODE_ANY, NULL);

                ck_assert_msg(hw_scan_validate(text, (size_t)n) == (j != NULL ? 0 : -1),
                              "%s: scanner %d, jansson %s", text, hw_scan_validate(text, (size_t)n),
                              j != NULL ? "accepts" : "refuses");
                json_decref(j);
                checked++;
            }
        }
    }
    ck_assert_int_eq(checked, 14 * 18 * 4);
}
END_TEST

/* ---- twins: the stored object compared, not scanned, where it repeats ---- */

/* request.object and request.oldObject with the same fields below them;
 * the parents index twin_below, -1 the object itself. */
static const char *const twin_below[] = {"metadata", "labels", "name", "spec", "backoffLimit",
                                         "template", "list"};
static const int twin_parent[] = {-1, 0, 0, -1, 3, 3, 3};

static size_t
twin_fields(struct hw_scan_field *f, int twinned)
{
    size_t n = 0;

    f[n++] = (struct hw_scan_field){"request", -1, 0, 0, 0, -1};
    for (int r = 0; r < 2; r++) {
        int root = (int)n;

        f[n++] = (struct hw_scan_field){r ? "oldObject" : "object", 0, 0, 0, 0, -1};
        for (size_t i = 0; i < sizeof(twin_below) / sizeof(twin_below[0]); i++) {
            int parent = twin_parent[i] < 0 ? root : root + 1 + twin_parent[i];

            f[n++] = (struct hw_scan_field){twin_below[i], parent, 0, 0, 0, -1};
        }
    }
    ck_assert_int_eq(hw_scan_link(f, n), 0);
    if (twinned)
        ck_assert_int_eq(hw_scan_twin(f, n, 1, 1 + (int)(n - 1) / 2), 0);
    return n;
}

/* The scanner finds the same with twins as without, or refuses the same. */
static void
same_found(const char *text, size_t len)
{
    struct hw_scan_field plain[32], twinned[32];
    struct hw_scan_range a[32], b[32];
    size_t n = twin_fields(plain, 0);
    int ra, rb;

    twin_fields(twinned, 1);
    ra = hw_scan_extract(text, len, plain, n, a);
    rb = hw_scan_extract(text, len, twinned, n, b);
    ck_assert_msg(ra == rb, "%.*s: %d without twins, %d with", (int)len, text, ra, rb);
    for (size_t i = 0; ra == 0 && i < n; i++)
        ck_assert_msg(a[i].len == b[i].len && (a[i].len == 0 || a[i].p == b[i].p),
                      "%.*s: field %zu (%s) found at %td+%zu without twins, %td+%zu with",
                      (int)len, text, i, plain[i].name, a[i].len ? a[i].p - text : -1, a[i].len,
                      b[i].len ? b[i].p - text : -1, b[i].len);
}

START_TEST(test_scan_twin_finds_what_scanning_finds)
{
    static const char *const pairs[][2] = {
        /* equal, then differing at each level, in values the twin may prefix */
        {"{\"metadata\":{\"name\":\"j\",\"labels\":{\"a\":\"1\"}},\"spec\":{\"backoffLimit\":1,"
         "\"template\":{\"spec\":{\"x\":[1,2]}},\"list\":[{\"a\":1}]}}", NULL},
        {"{\"metadata\":{\"name\":\"j\",\"labels\":{\"a\":\"1\"}},\"spec\":{\"backoffLimit\":1}}",
         "{\"metadata\":{\"name\":\"j\",\"labels\":{\"a\":\"12\"}},"
         "\"spec\":{\"backoffLimit\":12}}"},
        {"{\"spec\":{\"backoffLimit\":1,\"list\":[1]}}",
         "{\"spec\":{\"backoffLimit\":1,\"list\":[1,2]}}"},
        {"{\"spec\":{\"list\":[1]}}", "{\"spec\":{\"list\":[1]},\"extra\":0}"},
        {"{\"spec\":{\"template\":{}}}", "{\"spec\":{\"template\":{} }}"},
        {"{\"spec\":{\"template\":{}}}", "{ \"spec\" : { \"template\" : {} } }"},
        {"{\"metadata\":{\"labels\":{}}}", "{\"metadata\":{\"labels\":[]}}"},
        {"{\"metadata\":{\"labels\":{\"a\":1}}}",
         "{\"metadata\":{\"labels\":{\"a\":1},\"labels\":{\"b\":2}}}"},
        {"{\"metadata\":{\"name\":\"j\",\"name\":\"k\"},\"metadata\":{\"labels\":{}}}", NULL},
        {"{\"spec\":{\"template\":{\"a\":\"\\u00e9\\n\"}}}", NULL},
        {"{\"spec\":{\"template\":{\"a\":\"caf\xc3\xa9\"}}}", NULL},
        {"{\"metadata\":{}}", "null"},
        {"[]", "[]"},
        {"{}", "{}"},
    };
    char text[1024], m[1024];
    long found = 0;

    for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
        const char *obj = pairs[i][0], *old = pairs[i][1] ? pairs[i][1] : pairs[i][0];

        /* object first, oldObject first, and object given twice */
        for (int order = 0; order < 3; order++) {
            int n;

            if (order == 0)
                n = snprintf(text, sizeof(text), "{\"request\":{\"object\":%s,\"oldObject\":%s}}",
                             obj, old);
            else if (order == 1)
                n = snprintf(text, sizeof(text), "{\"request\":{\"oldObject\":%s,\"object\":%s}}",
                             old, obj);
            else
                n = snprintf(text, sizeof(text),
                             "{\"request\":{\"object\":%s,\"oldObject\":%s,\"object\":%s}}", old,
                             old, obj);

            ck_assert_int_lt(n, (int)sizeof(text));
            same_found(text, (size_t)n);
            /* Every byte of the text flipped, and the text cut at every
             * length (in a buffer of that size, for the sanitizers). */
            for (int at = 0; at < n; at++) {
                static const char flips[] = {'"', '\\', '{', '}', '[', ']', ',', '1', ' ', '\x80'};
                char *cut = malloc((size_t)at + 1);

                memcpy(cut, text, (size_t)at);
                same_found(cut, (size_t)at);
                free(cut);
                for (size_t k = 0; k < sizeof(flips); k++) {
                    memcpy(m, text, (size_t)n);
                    m[at] = flips[k];
                    same_found(m, (size_t)n);
                    found++;
                }
            }
        }
    }
    ck_assert_int_gt(found, 10000);
}
END_TEST

START_TEST(test_scan_twin_takes_only_subtrees_alike)
{
    struct hw_scan_field f[32];
    size_t n = twin_fields(f, 0);
    const int old = 1 + (int)(n - 1) / 2;

    ck_assert_int_eq(hw_scan_twin(f, n, 1, 1), -1);           /* itself */
    ck_assert_int_eq(hw_scan_twin(f, n, 0, 1), -1);           /* not at the same depth */
    ck_assert_int_eq(hw_scan_twin(f, n, 1, (int)n), -1);      /* out of the table */
    ck_assert_int_eq(hw_scan_twin(f, n, 2, old + 1), 0);      /* the two metadata */
    ck_assert_int_eq(f[2].twin, old + 1);
    ck_assert_int_eq(f[old + 2].twin, 3);                     /* labels below them */
    f[old + 2].name = "label";
    ck_assert_int_eq(hw_scan_link(f, n), 0);
    ck_assert_int_eq(hw_scan_twin(f, n, 1, old), -1);         /* a name differs below */
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(f[i].twin == -1, "field %zu keeps a twin after a refusal", i);
    f[old + 2].name = "labels";
    f[old + 7].parent = old + 6;                              /* the last field moved down */
    ck_assert_int_eq(hw_scan_link(f, n), 0);
    ck_assert_int_eq(hw_scan_twin(f, n, 1, old), -1);
}
END_TEST

/* ---- the differential ---- */

/* The differential's three, and for the read set a fourth that enforces
 * every setting (the hook weight too) and warns on every rule. */
static struct hw_policy *policies[4];
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

/* tu_review's UPDATE with oldObject before object in the text (jansson
 * writes members in the order they were added). */
static char *
review_old_first(const json_t *job, const json_t *old, const char *version)
{
    char *text = tu_review(job, "UPDATE", version, old);
    json_t *rv = json_loads(text, 0, NULL), *req = json_object_get(rv, "request");
    json_t *obj = json_incref(json_object_get(req, "object"));

    json_object_del(req, "object");
    json_object_set_new(req, "object", obj);
    free(text);
    text = json_dumps(rv, JSON_COMPACT);
    ck_assert_msg(strstr(text, "\"oldObject\"") != NULL &&
                      strstr(text, "\"oldObject\"") < strstr(text, "\"object\""),
                  "oldObject does not come first: %s", text);
    json_decref(rv);
    return text;
}

/*
 * UPDATEs whose stored object repeats the new one in some parts and not in
 * others (where the scanner compares instead of scanning), either object
 * first in the text, with their corruptions.
 */
static void
with_stored_variants(json_t *job, const char *version)
{
    static const char *const label[] = {"metadata", "labels", "hookwarden.io/migration"};
    static const char *const version_path[] = {"metadata", "resourceVersion"};
    static const char *const restart[] = {"spec", "template", "spec", "restartPolicy"};
    static const char *const hook[] = {"metadata", "annotations", "helm.sh/hook"};
    json_t *j = json_deep_copy(job);

    set_bytes(j, label, 3, "true", 4);
    json_object_set_new(json_object_get(j, "spec"), "backoffLimit", json_integer(1));
    for (int v = 0; v < 5; v++) {
        json_t *old = json_deep_copy(j);
        char *body;

        if (v == 0)
            set_bytes(old, version_path, 2, "41", 2);
        else if (v == 1)
            set_bytes(old, label, 3, "false", 5);
        else if (v == 2)
            set_bytes(old, restart, 4, "OnFailure", 9);
        else if (v == 3)
            json_object_set_new(json_object_get(old, "spec"), "backoffLimit", json_integer(12));
        else
            set_bytes(old, hook, 3, "pre-upgrade", 11);
        body = tu_review(j, "UPDATE", version, old);
        same_answer_and_corruptions(body, strlen(body), "stored object in part the same");
        free(body);
        body = review_old_first(j, old, version);
        same_answer_and_corruptions(body, strlen(body), "stored object first");
        free(body);
        json_decref(old);
    }
    json_decref(j);
}

/* Calls fn on each fixture Job (tests/data/jobs/NAME.json, a copy fn may
 * change); returns how many there were. */
static int
each_fixture_job(void (*fn)(json_t *job, const char *name))
{
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
        fn(job, path);
        json_decref(job);
        jobs++;
    }
    closedir(d);
    return jobs;
}

static void
fixture_differential(json_t *job, const char *name)
{
    static const char *const versions[] = {"admission.k8s.io/v1", "admission.k8s.io/v1beta1"};

    (void)name;
    for (int v = 0; v < 2; v++) {
        with_job(job, "CREATE", versions[v], 1);
        with_job(job, "UPDATE", versions[v], 1);
        with_job(job, "CREATE", versions[v], 0);
        with_nul_values(job, versions[v]);
        with_stored_variants(job, versions[v]);
    }
}

START_TEST(test_scan_fast_decode_answers_like_jansson_on_every_fixture)
{
    ck_assert_int_eq(each_fixture_job(fixture_differential), 11);
}
END_TEST

/*
 * The fast decoder builds the stored object's unchanged values once and
 * gives both objects the same ones (review.c): the policy must replace
 * what it changes in object, never change a value in place, or oldObject
 * would change with it. Each review is decoded, oldObject written out,
 * the policy applied, and oldObject written out again.
 */
static void
stored_object_kept(const char *body, const char *what)
{
    for (int i = 0; i < 4; i++) {
        struct hw_review rv;
        struct hw_error err = {0};
        struct hw_outcome oc;
        struct hw_patch *patch = hw_patch_new();
        char *before, *after;

        memset(&rv, 0, sizeof(rv));
        ck_assert_int_eq(hw_review_decode(body, strlen(body), hw_policy_read_plan(policies[i]),
                                          hw_policy_review_needs(policies[i]), &rv, &err),
                         0);
        ck_assert_ptr_nonnull(rv.old_object);
        before = json_dumps(rv.old_object, JSON_COMPACT | JSON_SORT_KEYS);
        {
            struct hw_target t = {rv.operation, rv.group, rv.kind_version, rv.kind,
                                  rv.subresource, rv.namespace_, rv.old_object};

            ck_assert_int_eq(hw_policy_apply(policies[i], &t, rv.object, patch, &oc, &err), 0);
        }
        after = json_dumps(rv.old_object, JSON_COMPACT | JSON_SORT_KEYS);
        ck_assert_msg(strcmp(before, after) == 0,
                      "%s (policy %d, %zu changes): oldObject %s became %s", what, i,
                      hw_patch_count(patch), before, after);
        free(before);
        free(after);
        hw_patch_free(patch);
        hw_review_clear(&rv);
    }
}

static void
stored_object_kept_for(json_t *job, const char *name)
{
    static const char *const label[] = {"metadata", "labels", "hookwarden.io/migration"};
    json_t *old;
    char *body;

    set_bytes(job, label, 3, "true", 4);
    /* A list the policy's secrets are added to. */
    json_object_set_new(
        json_object_get(json_object_get(json_object_get(job, "spec"), "template"), "spec"),
        "imagePullSecrets", json_pack("[{s:s}]", "name", "chart-secret"));
    old = json_deep_copy(job);
    /* The same Job stored; kube-apiserver never sends oldObject on a
     * CREATE, but the decoder takes one. */
    body = tu_review(job, "UPDATE", "admission.k8s.io/v1", old);
    stored_object_kept(body, name);
    free(body);
    body = tu_review(job, "CREATE", "admission.k8s.io/v1", old);
    stored_object_kept(body, name);
    free(body);
    /* The label dropped: only the template is kept from the stored Job. */
    json_object_del(json_object_get(job, "metadata"), "labels");
    body = tu_review(job, "UPDATE", "admission.k8s.io/v1", old);
    stored_object_kept(body, name);
    free(body);
    json_decref(old);
}

START_TEST(test_policy_leaves_the_stored_object_as_decoded)
{
    ck_assert_int_eq(each_fixture_job(stored_object_kept_for), 11);
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

/* ---- the read set: the policy reads only what it declares ---- */

/* What review.c reads in an object itself, beside the policy's declaration. */
static const struct hw_review_path review_reads[] = {
    {{"apiVersion"}, 0}, {{"kind"}, 0}, {{"metadata", "name"}, 0},
};

/* Member key of the object at prefix[0..depth): 2 declared whole, 1 on the
 * way to a declared path, 0 not declared. */
static int
declared(const char *const *prefix, size_t depth, const char *key)
{
    size_t n_policy, best = 0;
    const struct hw_review_path *policy = hw_policy_reads(&n_policy);

    for (size_t i = 0; i < n_policy + 3; i++) {
        const char *const *name = i < n_policy ? policy[i].name : review_reads[i - n_policy].name;
        size_t k = 0;

        while (k < depth && name[k] != NULL && strcmp(name[k], prefix[k]) == 0)
            k++;
        if (k == depth && name[depth] != NULL && strcmp(name[depth], key) == 0)
            best = name[depth + 1] == NULL ? 2 : best > 1 ? best : 1;
    }
    return (int)best;
}

/* Every member of obj that no declared path reaches is dropped (drop) or
 * replaced by a value of another type, and every object on the way gets a
 * member no path names: what the policy reads must not change. */
static void
chaff(json_t *obj, const char **prefix, size_t depth, int drop)
{
    const char *key;
    json_t *v;
    void *tmp;

    if (!json_is_object(obj))
        return;
    json_object_foreach_safe(obj, tmp, key, v) {
        int d = declared(prefix, depth, key);

        if (d == 1 && depth + 1 < HW_REVIEW_PATH_MAX) {
            prefix[depth] = key;
            chaff(v, prefix, depth + 1, drop);
        } else if (d == 0 && drop) {
            json_object_del(obj, key);
        } else if (d == 0) {
            json_object_set_new(obj, key, json_is_string(v) ? json_integer(7) : json_string("chaff"));
        }
    }
    if (!drop)
        json_object_set_new(obj, "hookwarden-chaff", json_pack("{s:[i]}", "x", 1));
}

static long chaffed;

/* Without request.namespace and request.name, and with a generateName for
 * the objects' name: the policy then names the Job from the object. */
static void
bare(json_t *root)
{
    json_t *req = json_object_get(root, "request");
    const char *which[] = {"object", "oldObject"};

    json_object_del(req, "namespace");
    json_object_del(req, "name");
    for (int i = 0; i < 2; i++) {
        json_t *meta = json_object_get(json_object_get(req, which[i]), "metadata");

        if (json_is_object(meta)) {
            json_object_del(meta, "name");
            json_object_set_new(meta, "generateName", json_string("migrate-"));
            if (json_object_get(meta, "namespace") == NULL)
                json_object_set_new(meta, "namespace", json_string("from-the-object"));
        }
    }
}

/* The review's answers with its objects as sent and chaffed both ways agree
 * (as sent, and bare). */
static void
same_answer_chaffed_as(json_t *root, const char *what)
{
    char *orig = json_dumps(root, JSON_COMPACT), *text;

    for (int drop = 0; drop < 2; drop++) {
        json_t *c = json_deep_copy(root), *creq = json_object_get(c, "request");
        const char *prefix[HW_REVIEW_PATH_MAX];

        chaff(json_object_get(creq, "object"), prefix, 0, drop);
        chaff(json_object_get(creq, "oldObject"), prefix, 0, drop);
        text = json_dumps(c, JSON_COMPACT);
        for (int i = 0; i < 4; i++) {
            struct hw_response a = {0}, b = {0};

            hw_handler_mutate_with(policies[i], orig, strlen(orig), HW_REVIEW_FULL, &a);
            hw_handler_mutate_with(policies[i], text, strlen(text), HW_REVIEW_FULL, &b);
            ck_assert_msg(a.status == b.status && a.body_len == b.body_len &&
                              memcmp(a.body, b.body, a.body_len) == 0,
                          "%s (policy %d, %s): an undeclared path changed the answer:\n%.*s\n%.*s", what,
                          i, drop ? "dropped" : "retyped", (int)a.body_len, a.body, (int)b.body_len, b.body);
            hw_response_clear(&a);
            hw_response_clear(&b);
            chaffed++;
        }
        free(text);
        json_decref(c);
    }
    free(orig);
}

static void
same_answer_chaffed(const char *body, size_t len, const char *what)
{
    json_t *root = json_loadb(body, len, 0, NULL);

    if (json_is_object(json_object_get(root, "request"))) {
        same_answer_chaffed_as(root, what);
        bare(root);
        same_answer_chaffed_as(root, what);
    }
    json_decref(root);
}

/* A labelled fixture Job as CREATE and UPDATE, then with what no chart here
 * has: a sidecar and a hook weight. */
static void
chaffed_job(json_t *job, const char *name)
{
    json_t *labels = json_object_get(json_object_get(job, "metadata"), "labels");
    char *body;

    if (!json_is_object(labels))
        json_object_set_new(json_object_get(job, "metadata"), "labels", labels = json_object());
    json_object_set_new(labels, "hookwarden.io/migration", json_string("true"));
    body = tu_review(job, "CREATE", "admission.k8s.io/v1", NULL);
    same_answer_chaffed(body, strlen(body), name);
    free(body);
    body = tu_review(job, "UPDATE", "admission.k8s.io/v1", job);
    same_answer_chaffed(body, strlen(body), name);
    free(body);
    json_array_append_new(json_object_get(json_object_get(json_object_get(json_object_get(
                              job, "spec"), "template"), "spec"), "containers"),
                          json_pack("{s:s, s:s}", "name", "istio-proxy", "image", "istio/proxyv2"));
    json_object_set_new(json_object_get(job, "metadata"), "annotations",
                        json_pack("{s:s}", "helm.sh/hook-weight", "3"));
    body = tu_review(job, "CREATE", "admission.k8s.io/v1", NULL);
    same_answer_chaffed(body, strlen(body), name);
    free(body);
}

START_TEST(test_policy_decisions_ignore_every_undeclared_path)
{
    static const char *const files[] = {"reviews/create-airflow-v1.json", "reviews/update-airflow-v1.json",
                                        "reviews/create-dryrun-temporal-v1.json", "bench/review-4k.json"};
    char path[8192];
    struct dirent *e;
    DIR *d;

    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        size_t len;
        char *body;

        snprintf(path, sizeof(path), "%s/%s", HW_TEST_DATA, files[i]);
        body = tu_read(path, &len);
        ck_assert_ptr_nonnull(body);
        same_answer_chaffed(body, len, files[i]);
        free(body);
    }
    d = opendir(HW_TEST_DATA "/review");
    ck_assert_ptr_nonnull(d);
    while ((e = readdir(d)) != NULL) {
        size_t len;
        char *body;

        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof(path), "%s/review/%s/request.json", HW_TEST_DATA, e->d_name);
        body = tu_read(path, &len);
        if (body != NULL)
            same_answer_chaffed(body, len, path);
        free(body);
    }
    closedir(d);
    ck_assert_int_eq(each_fixture_job(chaffed_job), 11);
    ck_assert_int_ge(chaffed, 500);
}
END_TEST

static void
setup(void)
{
    char *example = tu_read(HW_TEST_DATA "/../../docs/policy-example.json", NULL);
    const char *sidecar = "{\"rules\":{\"long-lived-sidecar\":\"deny\",\"not-a-hook\":\"deny\"},"
                          "\"imagePullSecrets\":{\"names\":[\"a\",\"b\"]}}";
    const char *busy =
        "{\"hook\":{\"events\":{\"mode\":\"enforce\",\"value\":\"pre-install\"},"
        "\"deletePolicy\":{\"mode\":\"enforce\",\"value\":\"hook-succeeded\"},"
        "\"weight\":{\"mode\":\"enforce\",\"value\":\"-5\"}},"
        "\"job\":{\"backoffLimit\":{\"mode\":\"enforce\",\"value\":1},"
        "\"activeDeadlineSeconds\":{\"mode\":\"enforce\",\"value\":240},"
        "\"ttlSecondsAfterFinished\":{\"mode\":\"enforce\",\"value\":30}},"
        "\"rules\":{\"not-a-hook\":\"warn\",\"unknown-hook-value\":\"warn\",\"delete-policy\":\"warn\","
        "\"long-lived-sidecar\":\"warn\"}}";

    policies[0] = hw_policy_new_default(NULL, NULL);
    policies[1] = hw_policy_parse(example, strlen(example), "example", NULL, NULL);
    policies[2] = hw_policy_parse(sidecar, strlen(sidecar), "sidecar", NULL, NULL);
    policies[3] = hw_policy_parse(busy, strlen(busy), "busy", NULL, NULL);
    ck_assert(policies[0] && policies[1] && policies[2] && policies[3]);
    free(example);
}

static void
teardown(void)
{
    for (int i = 0; i < 4; i++)
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
    tcase_add_test(tc, test_scan_judges_each_byte_wherever_it_falls_in_a_word);
    tcase_add_test(tc, test_scan_accepts_every_real_shaped_review);
    tcase_add_test(tc, test_scan_twin_finds_what_scanning_finds);
    tcase_add_test(tc, test_scan_twin_takes_only_subtrees_alike);
    tcase_add_checked_fixture(diff, setup, teardown);
    tcase_set_timeout(diff, 600);
    tcase_add_test(diff, test_scan_fast_decode_answers_like_jansson_on_every_fixture);
    tcase_add_test(diff, test_scan_fast_decode_answers_like_jansson_on_reviews_and_goldens);
    tcase_add_test(diff, test_policy_decisions_ignore_every_undeclared_path);
    tcase_add_test(diff, test_policy_leaves_the_stored_object_as_decoded);
    suite_add_tcase(s, tc);
    suite_add_tcase(s, diff);
    return s;
}

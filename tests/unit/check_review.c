/* SPDX-License-Identifier: Apache-2.0 */
/* review: AdmissionReview decode (what is accepted, what is refused and
 * how it is named) and encode (the response shape kube-apiserver checks). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hookwarden/policy.h"
#include "hookwarden/review.h"
#include "hookwarden/text.h"
#include "testutil.h"

/* The fast decoder's table as the webhook uses it: built from the policy's
 * declaration of what it reads. */
#define PLAN hw_policy_read_plan(NULL)

#define REQ(body) "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":" body "}"
#define JOB "{\"apiVersion\":\"batch/v1\",\"kind\":\"Job\",\"metadata\":{\"name\":\"m\"}}"
#define KIND "\"kind\":{\"group\":\"batch\",\"version\":\"v1\",\"kind\":\"Job\"}"

static const struct {
    const char *body;
    const char *error;  /* NULL: accepted; else a substring of the message */
} decode_cases[] = {
    {"", "request body is empty"},
    {"{", "invalid JSON at line 1"},
    {"[]", "body is not a JSON object"},
    {"\"x\"", "body is not a JSON object"},
    {"{\"kind\":\"AdmissionReview\",\"request\":{}}", "apiVersion (missing) is not supported"},
    {"{\"apiVersion\":\"admission.k8s.io/v2\",\"kind\":\"AdmissionReview\"}", "apiVersion \"admission.k8s.io/v2\""},
    {"{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"Review\"}", "kind \"Review\" is not supported"},
    {"{\"apiVersion\":\"admission.k8s.io/v1\"}", "kind (missing)"},
    {"{\"apiVersion\":1,\"kind\":\"AdmissionReview\"}", "apiVersion must be a string"},
    {"{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\"}", "has no request"},
    {REQ("null"), "has no request"},
    {REQ("[]"), "request must be an object"},
    {REQ("{\"operation\":\"CREATE\"}"), "request.uid is missing"},
    {REQ("{\"uid\":\"\",\"operation\":\"CREATE\"}"), "request.uid is missing"},
    {REQ("{\"uid\":7}"), "request.uid must be a string"},
    {REQ("{\"uid\":\"u\"}"), "request.operation (missing)"},
    {REQ("{\"uid\":\"u\",\"operation\":\"PATCH\"}"), "request.operation \"PATCH\""},
    {REQ("{\"uid\":\"u\",\"operation\":\"CREATE\"," KIND "}"), "request.object is missing on CREATE"},
    {REQ("{\"uid\":\"u\",\"operation\":\"CREATE\"," KIND ",\"object\":null}"), "request.object is missing"},
    {REQ("{\"uid\":\"u\",\"operation\":\"CREATE\"," KIND ",\"object\":[1]}"), "request.object must be an object"},
    {REQ("{\"uid\":\"u\",\"operation\":\"CREATE\"," KIND ",\"object\":\"job\"}"), "request.object must be an object"},
    {REQ("{\"uid\":\"u\",\"operation\":\"UPDATE\"," KIND ",\"object\":" JOB ",\"oldObject\":3}"), "request.oldObject must be"},
    {REQ("{\"uid\":\"u\",\"operation\":\"CREATE\",\"kind\":\"Job\",\"object\":" JOB "}"), "request.kind must be an object"},
    {REQ("{\"uid\":\"u\",\"operation\":\"CREATE\"," KIND ",\"object\":" JOB ",\"dryRun\":\"yes\"}"), "request.dryRun must be a boolean"},
    {REQ("{\"uid\":\"u\",\"operation\":\"CREATE\"," KIND ",\"object\":" JOB "}") " trailing", "invalid JSON"},
    {REQ("{\"uid\":\"u\",\"operation\":\"CREATE\"," KIND ",\"object\":" JOB "}"), NULL},
    {REQ("{\"uid\":\"u\",\"operation\":\"DELETE\"," KIND ",\"object\":null,\"oldObject\":" JOB "}"), NULL},
    {REQ("{\"uid\":\"u\",\"operation\":\"CONNECT\"," KIND "}"), NULL},
    {REQ("{\"uid\":\"u\",\"operation\":\"CREATE\",\"object\":" JOB "}"), NULL},
    {"{\"apiVersion\":\"admission.k8s.io/v1beta1\",\"kind\":\"AdmissionReview\",\"request\":"
     "{\"uid\":\"u\",\"operation\":\"UPDATE\"," KIND ",\"object\":" JOB ",\"oldObject\":" JOB "}}", NULL},
    /* kube-apiserver always sends the stored object on UPDATE. */
    {REQ("{\"uid\":\"u\",\"operation\":\"UPDATE\"," KIND ",\"object\":" JOB "}"), "oldObject is missing on UPDATE"},
    {REQ("{\"uid\":\"u\",\"operation\":\"UPDATE\"," KIND ",\"object\":" JOB ",\"oldObject\":null}"),
     "oldObject is missing on UPDATE"},
    /* An escaped NUL in an envelope string is not the string before it. */
    {"{\"apiVersion\":\"admission.k8s.io/v1\\u0000\",\"kind\":\"AdmissionReview\"}", "apiVersion contains a NUL"},
    {"{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\\u0000x\"}", "kind contains a NUL"},
    {REQ("{\"uid\":\"u\",\"operation\":\"CREATE\\u0000\"," KIND ",\"object\":" JOB "}"), "operation contains a NUL"},
    {REQ("{\"uid\":\"u\\u0000\",\"operation\":\"CREATE\"," KIND ",\"object\":" JOB "}"), "uid contains a NUL"},
    {REQ("{\"uid\":\"u\",\"operation\":\"CREATE\",\"kind\":{\"group\":\"batch\",\"version\":\"v1\","
         "\"kind\":\"Job\\u0000\"},\"object\":" JOB "}"), "request.kind.kind contains a NUL"},
    {REQ("{\"uid\":\"u\",\"operation\":\"CREATE\"," KIND ",\"subResource\":\"\\u0000\",\"object\":" JOB "}"),
     "subResource contains a NUL"},
};

START_TEST(test_review_decode_accepts_or_names_the_problem)
{
    struct hw_review rv;
    struct hw_error err = {0};
    /* Both decoders: the fast skeleton (_i even) and jansson's full parse. */
    unsigned mode = _i % 2 ? HW_REVIEW_FULL : 0;
    const char *body = decode_cases[_i / 2].body;
    int rc = hw_review_decode(body, strlen(body), PLAN, mode, &rv, &err);

    if (decode_cases[_i / 2].error == NULL) {
        ck_assert_msg(rc == 0, "case %d refused: %s", _i / 2, err.msg);
        ck_assert_str_eq(rv.uid, "u");
    } else {
        ck_assert_int_eq(rc, -1);
        ck_assert_int_eq(err.code, HW_EINVAL);
        ck_assert_msg(strstr(err.msg, decode_cases[_i / 2].error) != NULL, "case %d: \"%s\" lacks \"%s\"",
                      _i / 2, err.msg, decode_cases[_i / 2].error);
    }
    hw_review_clear(&rv);
}
END_TEST

/* A message longer than its buffer quotes what was sent: cut, it must end
 * before a character, not inside one (it goes into the answer and the log
 * as UTF-8). The quoted value is shifted a byte at a time so that the cut
 * falls at each place in characters of two, three and four bytes. */
START_TEST(test_review_error_message_cut_ends_on_a_character)
{
    static const char *const chars[] = {"\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80"};
    struct hw_review rv;
    char body[2048];

    for (size_t c = 0; c < 3; c++) {
        for (size_t shift = 0; shift < 4; shift++) {
            struct hw_error err = {0};
            size_t n = 0, len;

            n += (size_t)snprintf(body, sizeof(body),
                                  "{\"kind\":\"AdmissionReview\",\"apiVersion\":\"%.*s", (int)shift,
                                  "xxx");
            while (n < 1200)
                n += (size_t)snprintf(body + n, sizeof(body) - n, "%s", chars[c]);
            n += (size_t)snprintf(body + n, sizeof(body) - n, "\",\"request\":{}}");
            ck_assert_int_eq(hw_review_decode(body, n, PLAN, 0, &rv, &err), -1);
            ck_assert_int_eq(err.code, HW_EINVAL);
            len = strlen(err.msg);
            ck_assert_msg(len >= sizeof(err.msg) - 4, "not cut: %zu bytes", len);
            for (size_t i = 0; i < len;) {
                size_t k = hw_text_utf8_char(err.msg + i, len - i);

                ck_assert_msg(k > 0, "char %zu shift %zu: not UTF-8 at byte %zu of %zu", c, shift,
                              i, len);
                i += k;
            }
        }
    }
}
END_TEST

/* jansson skips a raw NUL after a number or a literal; JSON has none. */
START_TEST(test_review_refuses_a_raw_nul_byte_anywhere)
{
    static const char body[] = REQ("{\"uid\":\"u\",\"operation\":\"CREATE\"," KIND ",\"dryRun\":false\0,"
                                   "\"object\":" JOB "}");
    struct hw_review rv;
    struct hw_error err = {0};

    for (unsigned mode = 0; mode <= HW_REVIEW_FULL; mode += HW_REVIEW_FULL) {
        ck_assert_int_eq(hw_review_decode(body, sizeof(body) - 1, PLAN, mode, &rv, &err), -1);
        ck_assert_int_eq(err.code, HW_EINVAL);
        ck_assert_msg(strstr(err.msg, "a NUL byte at offset") != NULL, "%s", err.msg);
        memset(&err, 0, sizeof(err));
    }
}
END_TEST

START_TEST(test_review_decodes_the_fields_the_policy_needs_from_a_real_review)
{
    char path[4096];
    size_t len;
    char *body;
    struct hw_review rv;
    struct hw_error err = {0};

    snprintf(path, sizeof(path), "%s/reviews/create-dryrun-temporal-v1.json", HW_TEST_DATA);
    body = tu_read(path, &len);
    ck_assert_ptr_nonnull(body);
    ck_assert_int_eq(hw_review_decode(body, len, PLAN, 0, &rv, &err), 0);
    ck_assert_int_eq(rv.version, HW_REVIEW_V1);
    ck_assert_int_eq(rv.operation, HW_OP_CREATE);
    ck_assert_str_eq(rv.group, "batch");
    ck_assert_str_eq(rv.kind_version, "v1");
    ck_assert_str_eq(rv.kind, "Job");
    ck_assert_str_eq(rv.namespace_, "temporal");
    ck_assert_int_eq(rv.dry_run, 1);
    ck_assert_ptr_nonnull(rv.object);
    ck_assert_ptr_null(rv.old_object);
    hw_review_clear(&rv);
    free(body);
}
END_TEST

/* UPDATE: the stored object's fields the policy reads come through the
 * fast decoder as they do through jansson. */
START_TEST(test_review_decodes_the_stored_object_on_update)
{
    static const char *const paths[][4] = {
        {"spec", "template", "spec", "restartPolicy"}, {"spec", "template", "spec", "imagePullSecrets"},
        {"metadata", "labels", NULL, NULL}, {"metadata", "annotations", "helm.sh/hook", NULL},
        {"metadata", "annotations", "helm.sh/hook-delete-policy", NULL},
        {"spec", "backoffLimit", NULL, NULL},
    };
    struct hw_review fast, full;
    size_t len;
    char *body = tu_read("reviews/update-airflow-v1.json", &len);

    ck_assert_ptr_nonnull(body);
    ck_assert_int_eq(hw_review_decode(body, len, PLAN, 0, &fast, NULL), 0);
    ck_assert_int_eq(hw_review_decode(body, len, NULL, 0, &full, NULL), 0);
    ck_assert_ptr_nonnull(fast.old_object);
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        const json_t *a = fast.old_object, *b = full.old_object;

        for (size_t k = 0; k < 4 && paths[i][k] != NULL; k++) {
            a = json_object_get(a, paths[i][k]);
            b = json_object_get(b, paths[i][k]);
        }
        ck_assert_msg(a != NULL && json_equal(a, b), "oldObject field %zu differs", i);
    }
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(json_object_get(json_object_get(
                         fast.old_object, "spec"), "template"), "spec"), "restartPolicy")), "Never");
    hw_review_clear(&fast);
    hw_review_clear(&full);
    free(body);
}
END_TEST

/* The skeleton holds the declared paths and their parents, nothing else. */
START_TEST(test_review_fast_decode_builds_only_the_declared_paths)
{
    static const struct hw_review_path paths[] = {
        {{"metadata", "annotations", "a/b"}, 0}, {{"metadata", "labels"}, 0},
        {{"spec", "template", "spec", "containers"}, HW_REVIEW_NEED_CONTAINERS},
    };
    const char *body = REQ("{\"uid\":\"u\",\"operation\":\"CREATE\"," KIND ",\"object\":"
                           "{\"apiVersion\":\"batch/v1\",\"kind\":\"Job\",\"metadata\":{\"name\":\"m\","
                           "\"uid\":\"x\",\"labels\":{\"l1\":\"1\",\"l2\":\"2\"},\"annotations\":"
                           "{\"a/b\":\"1\",\"c\":\"2\"}},\"spec\":{\"parallelism\":1,\"template\":"
                           "{\"spec\":{\"containers\":[{}],\"volumes\":[]}}}}}");
    struct hw_review_plan plan;
    struct hw_review rv;
    struct hw_error err = {0};
    const json_t *meta, *pod;

    ck_assert_int_eq(hw_review_plan_build(&plan, paths, 3, &err), 0);
    for (unsigned need = 0; need <= HW_REVIEW_NEED_CONTAINERS; need++) {
        ck_assert_int_eq(hw_review_decode(body, strlen(body), &plan, need, &rv, &err), 0);
        meta = json_object_get(rv.object, "metadata");
        ck_assert_uint_eq(json_object_size(meta), 3);  /* name (review.c's own), labels, annotations */
        ck_assert_uint_eq(json_object_size(json_object_get(meta, "labels")), 2);
        ck_assert_uint_eq(json_object_size(json_object_get(meta, "annotations")), 1);
        ck_assert_str_eq(json_string_value(json_object_get(json_object_get(meta, "annotations"), "a/b")),
                         "1");
        ck_assert_uint_eq(json_object_size(json_object_get(rv.object, "spec")), 1);
        pod = json_object_get(json_object_get(json_object_get(rv.object, "spec"), "template"), "spec");
        ck_assert_uint_eq(json_object_size(pod), need);  /* containers only when needed */
        hw_review_clear(&rv);
    }
}
END_TEST

/* A declaration that cannot be one table is refused, naming why. */
START_TEST(test_review_plan_refuses_paths_that_overlap_or_overflow)
{
    static const struct hw_review_path below[] = {{{"metadata", "labels"}, 0},
                                                  {{"metadata", "labels", "x"}, 0}};
    static const struct hw_review_path above[] = {{{"metadata", "labels", "x"}, 0},
                                                  {{"metadata", "labels"}, 0}};
    static const struct hw_review_path empty[] = {{{NULL}, 0}};
    static const struct hw_review_path deep[] = {{{"a", "b", "c", "d", "e", "f"}, 0}};
    struct hw_review_path many[HW_SCAN_MAX_FIELDS];
    static char names[HW_SCAN_MAX_FIELDS][16];
    struct hw_review_plan plan;
    struct hw_error err = {0};

    ck_assert_int_eq(hw_review_plan_build(&plan, below, 2, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "goes on below"));
    memset(&err, 0, sizeof(err));
    ck_assert_int_eq(hw_review_plan_build(&plan, above, 2, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "ends where another goes on"));
    ck_assert_int_eq(hw_review_plan_build(&plan, empty, 1, NULL), -1);
    ck_assert_int_eq(hw_review_plan_build(&plan, deep, 1, NULL), -1);
    for (int i = 0; i < HW_SCAN_MAX_FIELDS; i++) {
        snprintf(names[i], sizeof(names[i]), "k%d", i);
        many[i] = (struct hw_review_path){{names[i]}, 0};
    }
    memset(&err, 0, sizeof(err));
    ck_assert_int_eq(hw_review_plan_build(&plan, many, HW_SCAN_MAX_FIELDS / 2, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "decoder fields"));
    ck_assert_ptr_nonnull(hw_policy_read_plan(NULL));
}
END_TEST

START_TEST(test_review_derives_kind_from_the_object_when_request_kind_is_absent)
{
    const char *body = REQ("{\"uid\":\"u\",\"operation\":\"CREATE\",\"object\":" JOB "}");
    struct hw_review rv;

    ck_assert_int_eq(hw_review_decode(body, strlen(body), PLAN, 0, &rv, NULL), 0);
    ck_assert_str_eq(rv.group, "batch");
    ck_assert_str_eq(rv.kind_version, "v1");
    ck_assert_str_eq(rv.kind, "Job");
    ck_assert_str_eq(rv.name, "m");
    hw_review_clear(&rv);
}
END_TEST

/* Reviews both decoders accept, and whether the fast decoder reads the
 * envelope from the scanner's ranges (1) or takes the long way (0). */
static const struct {
    const char *body;
    int fast;
} envelope_cases[] = {
    {REQ("{\"uid\":\"u\",\"operation\":\"CREATE\"," KIND ",\"object\":" JOB "}"), 1},
    {REQ("{\"object\":" JOB ",\"name\":\"n\",\"namespace\":\"ns\",\"dryRun\":true,"
         "\"subResource\":\"status\"," KIND ",\"operation\":\"UPDATE\",\"oldObject\":" JOB
         ",\"uid\":\"u\"}"), 1},
    {REQ("{\"uid\":\"u\",\"operation\":\"CREATE\",\"object\":" JOB "}"), 1},  /* kind derived */
    {REQ("{\"uid\":\"u\",\"operation\":\"CREATE\",\"kind\":null,\"name\":null,\"dryRun\":null,"
         "\"object\":{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"generateName\":\"g-\"}}}"), 1},
    {REQ("{\"uid\":\"u\",\"operation\":\"CREATE\",\"kind\":{\"version\":\"v1\",\"kind\":\"Pod\","
         "\"group\":null},\"dryRun\":false,\"object\":" JOB "}"), 1},
    {REQ("{\"uid\":\"u\",\"operation\":\"DELETE\"," KIND ",\"object\":null,\"oldObject\":" JOB "}"), 1},
    {REQ("{\"uid\":\"u\",\"operation\":\"CONNECT\",\"kind\":{}}"), 1},
    {"{\"apiVersion\":\"admission.k8s.io/v1beta1\",\"kind\":\"AdmissionReview\",\"request\":"
     "{\"uid\":\"u\",\"operation\":\"CREATE\"," KIND ",\"object\":" JOB "}}", 1},
    /* Spaces and newlines between tokens. */
    {"{ \"apiVersion\" : \"admission.k8s.io/v1\" ,\n \"kind\":\"AdmissionReview\", \"request\" : { "
     "\"uid\" :\"u\" , \"operation\": \"CREATE\" , \"object\" : " JOB " } }\n", 1},
    /* A repeated key: the last one counts, as in jansson and kube's decoder. */
    {"{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":{\"uid\":7},"
     "\"request\":{\"uid\":\"u\",\"operation\":\"CREATE\",\"uid\":\"v\",\"object\":" JOB "}}", 1},
    /* Escapes, and strings too long for rv.text: the long way. */
    {REQ("{\"uid\":\"u\\/1\",\"operation\":\"CREATE\"," KIND ",\"object\":" JOB "}"), 0},
    {"{\"apiVersion\":\"admission.k8s.io\\/v1\",\"kind\":\"AdmissionReview\",\"request\":"
     "{\"uid\":\"u\",\"operation\":\"CREATE\",\"object\":" JOB "}}", 0},
    {REQ("{\"uid\":\"u\",\"operation\":\"CREATE\",\"kind\":{\"group\":\"b\\u0061tch\",\"version\":"
         "\"v1\",\"kind\":\"Job\"},\"object\":" JOB "}"), 0},
    {NULL, 0},  /* the long name, built below */
};

static void
assert_same_string(const char *fast, const char *full, const char *what, int i)
{
    ck_assert_msg(strcmp(fast, full) == 0, "case %d: %s \"%s\" (fast) != \"%s\"", i, what, fast, full);
}

/* The envelope read from the scanner's ranges fills the review exactly as
 * jansson's decode does; anything unusual takes the long way. */
START_TEST(test_review_fast_envelope_fills_the_review_as_jansson_does)
{
    size_t n = sizeof(envelope_cases) / sizeof(envelope_cases[0]);

    for (size_t i = 0; i < n; i++) {
        char long_body[2048], name[HW_REVIEW_TEXT + 8];
        const char *body = envelope_cases[i].body;
        struct hw_review fast, full;
        struct hw_error err = {0};

        if (body == NULL) {
            memset(name, 'n', sizeof(name) - 1);
            name[sizeof(name) - 1] = '\0';
            snprintf(long_body, sizeof(long_body),
                     REQ("{\"uid\":\"u\",\"operation\":\"CREATE\",\"name\":\"%s\"," KIND
                         ",\"object\":" JOB "}"),
                     name);
            body = long_body;
        }
        ck_assert_msg(hw_review_decode(body, strlen(body), PLAN, 0, &fast, &err) == 0, "case %zu: %s", i,
                      err.msg);
        ck_assert_int_eq(hw_review_decode(body, strlen(body), PLAN, HW_REVIEW_FULL, &full, &err), 0);
        ck_assert_msg((fast.root == NULL) == envelope_cases[i].fast, "case %zu: fast envelope %s", i,
                      fast.root == NULL ? "used" : "not used");
        ck_assert_int_eq(fast.version, full.version);
        ck_assert_int_eq(fast.operation, full.operation);
        ck_assert_int_eq(fast.dry_run, full.dry_run);
        assert_same_string(fast.uid, full.uid, "uid", (int)i);
        assert_same_string(fast.group, full.group, "group", (int)i);
        assert_same_string(fast.kind_version, full.kind_version, "version", (int)i);
        assert_same_string(fast.kind, full.kind, "kind", (int)i);
        assert_same_string(fast.subresource, full.subresource, "subResource", (int)i);
        assert_same_string(fast.namespace_, full.namespace_, "namespace", (int)i);
        assert_same_string(fast.name, full.name, "name", (int)i);
        /* The skeleton keeps the read paths of the whole object. */
        ck_assert_int_eq(fast.object == NULL, full.object == NULL);
        ck_assert_int_eq(fast.old_object == NULL, full.old_object == NULL);
        ck_assert(fast.object == NULL || json_equal(json_object_get(fast.object, "metadata"),
                                                    json_object_get(full.object, "metadata")));
        hw_review_clear(&fast);
        hw_review_clear(&full);
    }
}
END_TEST

static json_t *
encode(const char *version, const struct hw_answer *ans)
{
    char body[512];
    struct hw_review rv;
    struct hw_buf out;
    json_t *j;

    snprintf(body, sizeof(body),
             "{\"apiVersion\":\"%s\",\"kind\":\"AdmissionReview\",\"request\":{\"uid\":\"a\\\"b\","
             "\"operation\":\"CREATE\"," KIND ",\"object\":" JOB "}}", version);
    ck_assert_int_eq(hw_review_decode(body, strlen(body), PLAN, 0, &rv, NULL), 0);
    hw_buf_init(&out, 0);
    ck_assert_int_eq(hw_review_encode(&rv, ans, &out, NULL), 0);
    j = json_loads(out.data, 0, NULL);
    ck_assert_ptr_nonnull(j);
    hw_buf_free(&out);
    hw_review_clear(&rv);
    return j;
}

START_TEST(test_review_answers_in_the_version_received_with_uid_echoed)
{
    static const char *const versions[] = {"admission.k8s.io/v1", "admission.k8s.io/v1beta1"};
    struct hw_answer ans = {.allowed = 1};
    json_t *j = encode(versions[_i], &ans), *resp = json_object_get(j, "response");

    ck_assert_str_eq(json_string_value(json_object_get(j, "apiVersion")), versions[_i]);
    ck_assert_str_eq(json_string_value(json_object_get(j, "kind")), "AdmissionReview");
    ck_assert_str_eq(json_string_value(json_object_get(resp, "uid")), "a\"b");
    ck_assert(json_is_true(json_object_get(resp, "allowed")));
    /* Nothing to change: neither patch nor patchType. */
    ck_assert_ptr_null(json_object_get(resp, "patch"));
    ck_assert_ptr_null(json_object_get(resp, "patchType"));
    ck_assert_ptr_null(json_object_get(resp, "status"));
    json_decref(j);
}
END_TEST

START_TEST(test_review_sends_patch_as_padded_base64_with_patch_type)
{
    static const char *const patches[] = {"[]", "[1]", "[12]", "[{\"op\":\"add\"}]"};
    static const char *const b64[] = {"W10=", "WzFd", "WzEyXQ==", "W3sib3AiOiJhZGQifV0="};
    struct hw_answer ans = {.allowed = 1, .patch = patches[_i], .patch_len = strlen(patches[_i])};
    json_t *j = encode("admission.k8s.io/v1", &ans), *resp = json_object_get(j, "response");

    ck_assert_str_eq(json_string_value(json_object_get(resp, "patchType")), "JSONPatch");
    ck_assert_str_eq(json_string_value(json_object_get(resp, "patch")), b64[_i]);
    json_decref(j);
}
END_TEST

START_TEST(test_review_denial_carries_status_code_message_and_warnings)
{
    const char *w[] = {"first", "second \"quoted\""};
    const char *k[] = {"finding.not-a-hook"}, *v[] = {"deny"};
    struct hw_answer ans = {.allowed = 0, .status_code = 403, .status_reason = "Forbidden",
                            .status_message = "Job \"x\" violates rule", .warnings = w,
                            .n_warnings = 2, .audit_keys = k, .audit_values = v, .n_audit = 1,
                            .patch = "[1]", .patch_len = 3};
    json_t *j = encode("admission.k8s.io/v1", &ans), *resp = json_object_get(j, "response");
    json_t *st = json_object_get(resp, "status");

    ck_assert(json_is_false(json_object_get(resp, "allowed")));
    ck_assert_int_eq(json_integer_value(json_object_get(st, "code")), 403);
    ck_assert_str_eq(json_string_value(json_object_get(st, "message")), "Job \"x\" violates rule");
    ck_assert_str_eq(json_string_value(json_object_get(st, "reason")), "Forbidden");
    ck_assert_str_eq(json_string_value(json_array_get(json_object_get(resp, "warnings"), 1)),
                     "second \"quoted\"");
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(resp, "auditAnnotations"),
                                                       "finding.not-a-hook")), "deny");
    /* A denial never carries a patch; the Status is under "status" only. */
    ck_assert_ptr_null(json_object_get(resp, "patch"));
    ck_assert_ptr_null(json_object_get(resp, "result"));
    json_decref(j);
}
END_TEST

START_TEST(test_review_json_strings_escape_control_characters)
{
    struct hw_buf b;

    hw_buf_init(&b, 0);
    ck_assert_int_eq(hw_buf_append_json_string(&b, "a\n\t\x01\\\"", 6), 0);
    ck_assert_str_eq(b.data, "\"a\\n\\t\\u0001\\\\\\\"\"");
    hw_buf_free(&b);
}
END_TEST

Suite *hw_suite_review(void);

Suite *
hw_suite_review(void)
{
    Suite *s = suite_create("review");
    TCase *tc = tcase_create("core");

    tcase_add_loop_test(tc, test_review_decode_accepts_or_names_the_problem, 0,
                        2 * sizeof(decode_cases) / sizeof(decode_cases[0]));
    tcase_add_test(tc, test_review_refuses_a_raw_nul_byte_anywhere);
    tcase_add_test(tc, test_review_error_message_cut_ends_on_a_character);
    tcase_add_test(tc, test_review_decodes_the_fields_the_policy_needs_from_a_real_review);
    tcase_add_test(tc, test_review_decodes_the_stored_object_on_update);
    tcase_add_test(tc, test_review_derives_kind_from_the_object_when_request_kind_is_absent);
    tcase_add_test(tc, test_review_fast_envelope_fills_the_review_as_jansson_does);
    tcase_add_test(tc, test_review_fast_decode_builds_only_the_declared_paths);
    tcase_add_test(tc, test_review_plan_refuses_paths_that_overlap_or_overflow);
    tcase_add_loop_test(tc, test_review_answers_in_the_version_received_with_uid_echoed, 0, 2);
    tcase_add_loop_test(tc, test_review_sends_patch_as_padded_base64_with_patch_type, 0, 4);
    tcase_add_test(tc, test_review_denial_carries_status_code_message_and_warnings);
    tcase_add_test(tc, test_review_json_strings_escape_control_characters);
    suite_add_tcase(s, tc);
    return s;
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The fuzzers' oracle: every property kube-apiserver relies on, checked on
 * one answer of hw_handler_mutate(), plus idempotency (the policy applied to
 * its own output asks for nothing more). Patches are applied with the unit
 * tests' independent json-patch v4 applier (tests/unit/testutil.c), which
 * shares no code with src/patch.c. A failed property aborts, so libFuzzer
 * records the input as a crash.
 */
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../unit/testutil.h"
#include "fuzz_common.h"
#include "hookwarden/handler.h"
#include "hookwarden/log.h"

void
fz_fail(const char *fmt, ...)
{
    va_list ap;

    fputs("fuzz property failed: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    abort();
}

int
fz_strict(void)
{
    static int strict = -1;

    if (strict < 0) {
        const char *e = getenv("HW_FUZZ_STRICT");

        strict = e != NULL && strcmp(e, "1") == 0;
    }
    return strict;
}

void
fz_init(void)
{
    /* A fixed hash seed keeps object iteration, and so coverage, stable. */
    json_object_seed(1);
    hw_log_set_level(HW_LOG_OFF);
}

/* Well-formed UTF-8; with no_controls, also no rune that Go's
 * unicode.IsControl reports (C0, DEL, C1): the rule kube-apiserver's
 * NewWarningHeader applies before it drops a warning without a word. */
static int
utf8_check(const char *s, size_t n, int no_controls)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;

    while (i < n) {
        size_t k;
        unsigned c = u[i];
        unsigned long cp;

        if (c < 0x80) {
            if (no_controls && (c < 0x20 || c == 0x7F))
                return 0;
            i++;
            continue;
        }
        if (c >= 0xC2 && c <= 0xDF)
            k = 1, cp = c & 0x1F;
        else if (c >= 0xE0 && c <= 0xEF)
            k = 2, cp = c & 0x0F;
        else if (c >= 0xF0 && c <= 0xF4)
            k = 3, cp = c & 0x07;
        else
            return 0;
        for (size_t j = 1; j <= k; j++) {
            if (i + j >= n || (u[i + j] & 0xC0) != 0x80)
                return 0;
            cp = (cp << 6) | (u[i + j] & 0x3F);
        }
        if ((k == 2 && cp < 0x800) || (k == 3 && (cp < 0x10000 || cp > 0x10FFFF)) ||
            (cp >= 0xD800 && cp <= 0xDFFF))
            return 0;
        if (no_controls && cp <= 0x9F)
            return 0;
        i += k + 1;
    }
    return 1;
}

/* Well-formed UTF-8 (what a JSON encoder accepts). */
int
fz_utf8_ok(const char *s, size_t n)
{
    return utf8_check(s, n, 0);
}

static int
b64val(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

/* Strict padded standard base64, as Go's encoding/json decodes []byte. */
static char *
b64_decode(const char *s, size_t n, size_t *outlen)
{
    char *out;
    size_t o = 0;

    if (n == 0 || n % 4 != 0)
        return NULL;
    out = malloc(n / 4 * 3 + 1);
    if (out == NULL)
        fz_fail("out of memory");
    for (size_t i = 0; i < n; i += 4) {
        int v[4], pad = 0;

        for (int j = 0; j < 4; j++) {
            if (s[i + j] == '=' && i + 4 == n && j >= 2) {
                v[j] = 0;
                pad++;
            } else if (pad > 0 || (v[j] = b64val((unsigned char)s[i + j])) < 0) {
                free(out);
                return NULL;
            }
        }
        out[o++] = (char)((v[0] << 2) | (v[1] >> 4));
        if (pad < 2)
            out[o++] = (char)(((v[1] & 15) << 4) | (v[2] >> 2));
        if (pad < 1)
            out[o++] = (char)(((v[2] & 3) << 6) | v[3]);
    }
    out[o] = '\0';
    *outlen = o;
    return out;
}

/* auditAnnotations key: a qualified-name part, <= 63, alnum at both ends. */
static int
audit_key_ok(const char *k)
{
    size_t n = strlen(k);

    if (n == 0 || n > 63)
        return 0;
    for (size_t i = 0; i < n; i++) {
        int alnum = (k[i] >= 'a' && k[i] <= 'z') || (k[i] >= 'A' && k[i] <= 'Z') ||
                    (k[i] >= '0' && k[i] <= '9');

        if (!alnum && ((i == 0 || i == n - 1) || !strchr("-_.", k[i])))
            return 0;
    }
    return 1;
}

static void
check_summary(const struct hw_response *res)
{
    /* These go to the request log through json_pack, which refuses
     * invalid UTF-8 and then drops every field of the line. */
    FZ_ASSERT(fz_utf8_ok(res->uid, strlen(res->uid)) && fz_utf8_ok(res->kind, strlen(res->kind)) &&
                 fz_utf8_ok(res->namespace_, strlen(res->namespace_)) &&
                 fz_utf8_ok(res->name, strlen(res->name)),
             "a summary field (uid, kind, namespace, name) is cut inside a UTF-8 sequence");
    FZ_ASSERT(fz_utf8_ok(res->error, strlen(res->error)),
             "the error message is not valid UTF-8: %s", res->error);
}

/* A copy of s with each byte of an invalid UTF-8 sequence replaced by '?'. */
static char *
utf8_scrub(const char *s, size_t n)
{
    char *c = malloc(n + 1);

    if (c == NULL)
        fz_fail("out of memory");
    memcpy(c, s, n);
    c[n] = '\0';
    for (size_t i = 0; i < n; i++) {
        size_t k = 1;

        if ((unsigned char)c[i] < 0x80)
            continue;
        while (k <= 4 && i + k <= n && !fz_utf8_ok(c + i, k))
            k++;
        if (k > 4 || i + k > n)
            c[i] = '?';
        else
            i += k - 1;
    }
    return c;
}

static int
member_is(const json_t *obj, const char *key, const char *want)
{
    const char *s = json_string_value(json_object_get(obj, key));

    return s != NULL && strcmp(s, want) == 0;
}

static void
check_error_answer(const struct hw_response *res)
{
    json_error_t e;
    json_t *st;
    const char *msg;
    char *text;

    FZ_ASSERT(res->status == 400, "error answer with status %d (only 400 expected from bytes): %s",
              res->status, res->error);
    FZ_ASSERT(res->decision == HW_DECISION_ERROR, "status %d but decision %d", res->status,
              (int)res->decision);
    FZ_ASSERT(res->error[0] != '\0', "error answer without a message");
    FZ_ASSERT(fz_utf8_ok(res->body, res->body_len),
             "the Status body is not valid UTF-8: %.200s", res->body);
    text = utf8_scrub(res->body, res->body_len);
    st = json_loadb(text, res->body_len, 0, &e);
    free(text);
    FZ_ASSERT(st != NULL, "error body is not JSON (%s): %.200s", e.text, res->body);
    msg = json_string_value(json_object_get(st, "message"));
    FZ_ASSERT(member_is(st, "kind", "Status") && member_is(st, "apiVersion", "v1") &&
                  member_is(st, "status", "Failure"),
              "error body is not a v1 Status: %.200s", res->body);
    FZ_ASSERT(json_integer_value(json_object_get(st, "code")) == res->status,
              "Status code differs from the HTTP status");
    FZ_ASSERT(msg != NULL && msg[0] != '\0', "Status without a message");
    json_decref(st);
}

static void
check_warnings(const json_t *w)
{
    size_t i;
    const json_t *e;

    if (w == NULL)
        return;
    FZ_ASSERT(json_is_array(w) && json_array_size(w) > 0 && json_array_size(w) <= HW_OUTCOME_MAX,
              "warnings is not a non-empty array of at most %d", HW_OUTCOME_MAX);
    json_array_foreach(w, i, e) {
        const char *s = json_string_value(e);
        size_t n = json_string_length(e);

        FZ_ASSERT(s != NULL && n > 0 && n <= HW_WARNING_MAX, "warning %zu empty or over %d bytes",
                  i, HW_WARNING_MAX);
        FZ_ASSERT(utf8_check(s, n, 1),
                  "warning %zu is not UTF-8 or has a control character: kube-apiserver "
                  "drops it: %.200s", i, s);
        FZ_ASSERT(strncmp(s, "Warning:", 8) != 0, "warning with a Warning: prefix");
    }
}

static void
check_audit(const json_t *a)
{
    const char *k;
    json_t *v;

    if (a == NULL)
        return;
    FZ_ASSERT(json_is_object(a), "auditAnnotations is not an object");
    json_object_foreach((json_t *)a, k, v) {
        FZ_ASSERT(audit_key_ok(k), "auditAnnotations key \"%s\" would be dropped", k);
        FZ_ASSERT(json_is_string(v), "auditAnnotations value is not a string");
    }
}

/* Only annotations and the Job spec are ours to change; never identity. */
static void
check_ops(const json_t *ops)
{
    size_t i;
    const json_t *op;

    FZ_ASSERT(json_is_array(ops) && json_array_size(ops) > 0, "patch is not a non-empty array");
    json_array_foreach(ops, i, op) {
        const char *kind = json_string_value(json_object_get(op, "op"));
        const char *path = json_string_value(json_object_get(op, "path"));

        FZ_ASSERT(kind != NULL && (strcmp(kind, "add") == 0 || strcmp(kind, "replace") == 0 ||
                                   strcmp(kind, "remove") == 0),
                  "op %zu is not add, replace or remove", i);
        /* A remove only ever puts an UPDATE's template back as stored. */
        if (strcmp(kind, "remove") == 0)
            FZ_ASSERT(path != NULL && (strcmp(path, "/spec/template/spec/imagePullSecrets") == 0 ||
                                       strcmp(path, "/spec/template/spec/restartPolicy") == 0),
                      "op %zu removes %s", i, path ? path : "(no path)");
        else
            FZ_ASSERT(json_object_get(op, "value") != NULL, "op %zu has no value", i);
        FZ_ASSERT(path != NULL && (strncmp(path, "/metadata/annotations", 21) == 0 ||
                                   strncmp(path, "/spec/", 6) == 0 || strcmp(path, "/spec") == 0),
                  "op %zu touches %s", i, path ? path : "(no path)");
    }
}

static int check_review(const struct hw_policy *p, const char *body, size_t len, int again);

static const json_t *
template_field(const json_t *obj, const char *key)
{
    const json_t *v = json_object_get(
        json_object_get(json_object_get(json_object_get(obj, "spec"), "template"), "spec"), key);

    return json_is_null(v) ? NULL : v;
}

/* Job validation refuses an UPDATE whose pod template differs from the
 * stored one: what we manage there must come out exactly as stored. */
static void
check_template_kept(const json_t *req, const json_t *patched)
{
    static const char *const keys[] = {"restartPolicy", "imagePullSecrets"};
    const json_t *old = json_object_get(req, "oldObject");
    const char *op = json_string_value(json_object_get(req, "operation"));

    if (!json_is_object(old) || op == NULL || strcmp(op, "UPDATE") != 0)
        return;
    for (size_t i = 0; i < 2; i++) {
        const json_t *now = template_field(patched, keys[i]), *was = template_field(old, keys[i]);

        FZ_ASSERT(now == was || (now != NULL && was != NULL && json_equal(now, was)),
                  "UPDATE leaves spec.template.spec.%s unlike the stored object's", keys[i]);
    }
}

/* Applies the patch to request.object, asks again, expects no patch. */
static void
check_idempotent(const struct hw_policy *p, json_t *req_root, const json_t *ops)
{
    json_t *req = json_object_get(req_root, "request");
    const json_t *obj = json_object_get(req, "object");
    const char *why = "?";
    json_t *patched, *again;
    char *text;

    patched = tu_apply_patch(obj, ops, &why);
    FZ_ASSERT(patched != NULL, "the patch does not apply to request.object: %s", why);
    FZ_ASSERT(!json_equal(patched, obj), "the patch changes nothing");
    check_template_kept(req, patched);
    again = json_deep_copy(req_root);
    FZ_ASSERT(again != NULL, "out of memory");
    json_object_set_new(json_object_get(again, "request"), "object", patched);
    text = json_dumps(again, JSON_COMPACT | JSON_ENCODE_ANY);
    FZ_ASSERT(text != NULL, "cannot serialise the patched review");
    check_review(p, text, strlen(text), 1);
    free(text);
    json_decref(again);
}

static void
check_answer(const struct hw_policy *p, const struct hw_response *res, const char *body,
             size_t len, int again)
{
    json_error_t e;
    json_t *in, *out, *r, *ops = NULL;
    const json_t *patch, *ptype, *allowed;
    const char *op;

    in = json_loadb(body, len, JSON_ALLOW_NUL | JSON_DECODE_ANY, &e);
    FZ_ASSERT(in != NULL, "answered 200 to a body that is not JSON");
    out = json_loadb(res->body, res->body_len, 0, &e);
    FZ_ASSERT(out != NULL, "answer is not JSON (%s): %.300s", e.text, res->body);
    FZ_ASSERT(json_equal(json_object_get(out, "kind"), json_object_get(in, "kind")) &&
                  json_equal(json_object_get(out, "apiVersion"), json_object_get(in, "apiVersion")),
              "answer is not an AdmissionReview in the version received");
    r = json_object_get(out, "response");
    FZ_ASSERT(json_is_object(r), "answer without a response");
    {
        const json_t *iu = json_object_get(json_object_get(in, "request"), "uid");

        FZ_ASSERT(json_equal(json_object_get(r, "uid"), iu),
                  "response.uid is not request.uid byte for byte");
    }
    allowed = json_object_get(r, "allowed");
    FZ_ASSERT(json_is_boolean(allowed), "response.allowed is not a boolean");
    patch = json_object_get(r, "patch");
    ptype = json_object_get(r, "patchType");
    FZ_ASSERT((patch == NULL) == (ptype == NULL), "patch and patchType do not travel together");
    check_warnings(json_object_get(r, "warnings"));
    check_audit(json_object_get(r, "auditAnnotations"));
    if (!json_is_true(allowed)) {
        const json_t *st = json_object_get(r, "status");

        FZ_ASSERT(res->decision == HW_DECISION_DENIED, "allowed:false but decision %d",
                  (int)res->decision);
        FZ_ASSERT(patch == NULL, "a denial carries a patch");
        FZ_ASSERT(json_integer_value(json_object_get(st, "code")) >= 400 &&
                      json_string_length(json_object_get(st, "message")) > 0,
                  "a denial without a status code >= 400 and a message");
        FZ_ASSERT(fz_utf8_ok(json_string_value(json_object_get(st, "message")),
                          json_string_length(json_object_get(st, "message"))),
                  "denial message is not valid UTF-8");
    }
    if (patch != NULL) {
        size_t plen = 0;
        char *ptext;

        FZ_ASSERT(!again, "the policy applied to its own output asks for more: %.*s",
                  (int)json_string_length(patch), json_string_value(patch));
        FZ_ASSERT(json_is_string(ptype) && strcmp(json_string_value(ptype), "JSONPatch") == 0,
                  "patchType is not \"JSONPatch\"");
        FZ_ASSERT(res->decision == HW_DECISION_MUTATED, "a patch but decision %d",
                  (int)res->decision);
        op = json_string_value(json_object_get(json_object_get(in, "request"), "operation"));
        FZ_ASSERT(op != NULL && (strcmp(op, "CREATE") == 0 || strcmp(op, "UPDATE") == 0),
                  "a patch on %s (kube-apiserver answers 500)", op ? op : "?");
        ptext = json_is_string(patch)
                    ? b64_decode(json_string_value(patch), json_string_length(patch), &plen)
                    : NULL;
        FZ_ASSERT(ptext != NULL, "patch is not padded standard base64");
        /* JSON_ALLOW_NUL: on UPDATE the patch copies stored values back,
         * and a stored string may hold \u0000 (imagePullSecrets names are
         * not validated); kube-apiserver's decoder accepts it. */
        ops = json_loadb(ptext, plen, JSON_ALLOW_NUL, &e);
        free(ptext);
        FZ_ASSERT(ops != NULL, "patch is not JSON: %s", e.text);
        check_ops(ops);
        FZ_ASSERT(res->patch_ops == json_array_size(ops), "summary patch_ops %zu, patch has %zu",
                  res->patch_ops, json_array_size(ops));
        check_idempotent(p, in, ops);
    } else {
        FZ_ASSERT(res->decision != HW_DECISION_MUTATED && res->patch_ops == 0,
                  "decision mutated without a patch");
    }
    json_decref(ops);
    json_decref(out);
    json_decref(in);
}

static int
check_review(const struct hw_policy *p, const char *body, size_t len, int again)
{
    struct hw_response res = {0};
    int status;

    hw_response_clear(&res);
    hw_handler_mutate(p, body, len, &res);
    FZ_ASSERT(res.body != NULL && res.body_len > 0 && res.body[res.body_len] == '\0' &&
                  strlen(res.body) == res.body_len,
              "answer body missing, empty or not NUL-terminated");
    FZ_ASSERT(res.content_type != NULL && strcmp(res.content_type, "application/json") == 0,
              "answer content type is not application/json");
    check_summary(&res);
    if (res.status == 200) {
        check_answer(p, &res, body, len, again);
    } else {
        FZ_ASSERT(!again, "the policy applied to its own output fails with %d: %s", res.status,
                  res.error);
        check_error_answer(&res);
    }
    status = res.status;
    hw_response_clear(&res);
    return status;
}

int
fz_check_review(const struct hw_policy *p, const char *body, size_t len)
{
    return check_review(p, body, len, 0);
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * review: AdmissionReview decode and encode. Decoding is strict about the
 * envelope (apiVersion, kind, request, uid, operation, object type) and
 * tolerant about everything kube-apiserver really sends inside the object
 * (nulls, \u0026 escapes, absent empty maps). Encoding writes the response
 * text directly: the answer is small and its shape fixed.
 */
#include <stdlib.h>
#include <string.h>

#include "hookwarden/review.h"
#include "hookwarden/scan.h"

static const char *const version_names[] = {"admission.k8s.io/v1", "admission.k8s.io/v1beta1"};
static const char *const op_names[] = {"CREATE", "UPDATE", "DELETE", "CONNECT"};

const char *
hw_review_operation_name(enum hw_operation op)
{
    return (size_t)op < 4 ? op_names[op] : "UNKNOWN";
}

const char *
hw_review_version_name(enum hw_review_version v)
{
    return (size_t)v < 2 ? version_names[v] : "UNKNOWN";
}

/* Every field as after a clear: nothing decoded, strings "". The text
 * buffers are not read before they are written. */
static void
review_reset(struct hw_review *rv)
{
    rv->root = rv->object = rv->old_object = NULL;
    rv->version = HW_REVIEW_V1;
    rv->operation = HW_OP_CREATE;
    rv->uid = rv->group = rv->kind_version = rv->kind = "";
    rv->subresource = rv->namespace_ = rv->name = "";
    rv->dry_run = 0;
    rv->derived_group[0] = rv->text[0] = '\0';
}

void
hw_review_clear(struct hw_review *rv)
{
    json_decref(rv->root);
    if (rv->root == NULL) {  /* the fast decode's, owned */
        json_decref(rv->object);
        json_decref(rv->old_object);
    }
    review_reset(rv);
}

/* Optional string member: "" when absent or null; -1 when another type. */
static int
opt_string(const json_t *obj, const char *key, const char *where, const char **out,
           struct hw_error *err)
{
    const json_t *v = json_object_get(obj, key);

    *out = "";
    if (v == NULL || json_is_null(v))
        return 0;
    if (!json_is_string(v)) {
        hw_error_set(err, HW_EINVAL, "%s.%s must be a string", where, key);
        return -1;
    }
    /* Compared as C strings below: "Job\u0000x" must not pass for "Job". */
    if (strlen(json_string_value(v)) != json_string_length(v)) {
        hw_error_set(err, HW_EINVAL, "%s.%s contains a NUL character", where, key);
        return -1;
    }
    *out = json_string_value(v);
    return 0;
}

static int
decode_envelope(struct hw_review *rv, struct hw_error *err)
{
    const char *api, *kind;
    size_t i;

    if (!json_is_object(rv->root)) {
        hw_error_set(err, HW_EINVAL, "body is not a JSON object: expected an AdmissionReview");
        return -1;
    }
    if (opt_string(rv->root, "apiVersion", "AdmissionReview", &api, err) != 0 ||
        opt_string(rv->root, "kind", "AdmissionReview", &kind, err) != 0)
        return -1;
    for (i = 0; i < 2; i++) {
        if (strcmp(api, version_names[i]) == 0)
            break;
    }
    if (i == 2) {
        hw_error_set(err, HW_EINVAL,
                     "apiVersion %s%s%s is not supported: expected admission.k8s.io/v1 or "
                     "admission.k8s.io/v1beta1",
                     *api ? "\"" : "", *api ? api : "(missing)", *api ? "\"" : "");
        return -1;
    }
    rv->version = (enum hw_review_version)i;
    if (strcmp(kind, "AdmissionReview") != 0) {
        hw_error_set(err, HW_EINVAL, "kind %s%s%s is not supported: expected AdmissionReview",
                     *kind ? "\"" : "", *kind ? kind : "(missing)", *kind ? "\"" : "");
        return -1;
    }
    return 0;
}

/* Without request.kind (kube-apiserver always sends it), the kind the
 * object names. */
static void
derive_kind(struct hw_review *rv)
{
    const char *api = "", *slash;

    if (rv->object != NULL) {
        opt_string(rv->object, "apiVersion", "request.object", &api, NULL);
        opt_string(rv->object, "kind", "request.object", &rv->kind, NULL);
    }
    slash = strchr(api, '/');
    rv->kind_version = slash ? slash + 1 : api;
    if (slash != NULL && (size_t)(slash - api) < sizeof(rv->derived_group)) {
        memcpy(rv->derived_group, api, (size_t)(slash - api));
        rv->derived_group[slash - api] = '\0';
        rv->group = rv->derived_group;
    }
}

/* Without request.name (a generateName CREATE), the object's. */
static void
name_from_object(struct hw_review *rv)
{
    const json_t *meta;

    if (*rv->name != '\0' || rv->object == NULL)
        return;
    meta = json_object_get(rv->object, "metadata");
    if (json_is_object(meta))
        opt_string(meta, "name", "request.object.metadata", &rv->name, NULL);
}

static int
decode_kind(struct hw_review *rv, const json_t *req, struct hw_error *err)
{
    const json_t *k = json_object_get(req, "kind");

    if (k == NULL || json_is_null(k)) {
        derive_kind(rv);
        return 0;
    }
    if (!json_is_object(k)) {
        hw_error_set(err, HW_EINVAL, "request.kind must be an object with group, version and kind");
        return -1;
    }
    if (opt_string(k, "group", "request.kind", &rv->group, err) != 0 ||
        opt_string(k, "version", "request.kind", &rv->kind_version, err) != 0 ||
        opt_string(k, "kind", "request.kind", &rv->kind, err) != 0)
        return -1;
    return 0;
}

static int
decode_request(struct hw_review *rv, struct hw_error *err)
{
    const json_t *req, *obj, *old, *dry;
    const char *op;
    size_t i;

    req = json_object_get(rv->root, "request");
    if (req == NULL || json_is_null(req)) {
        hw_error_set(err, HW_EINVAL, "AdmissionReview has no request");
        return -1;
    }
    if (!json_is_object(req)) {
        hw_error_set(err, HW_EINVAL, "request must be an object");
        return -1;
    }
    if (opt_string(req, "uid", "request", &rv->uid, err) != 0)
        return -1;
    if (*rv->uid == '\0') {
        hw_error_set(err, HW_EINVAL, "request.uid is missing or empty");
        return -1;
    }
    if (opt_string(req, "operation", "request", &op, err) != 0)
        return -1;
    for (i = 0; i < 4; i++) {
        if (strcmp(op, op_names[i]) == 0)
            break;
    }
    if (i == 4) {
        hw_error_set(err, HW_EINVAL,
                     "request.operation %s%s%s is not one of CREATE, UPDATE, DELETE, CONNECT",
                     *op ? "\"" : "", *op ? op : "(missing)", *op ? "\"" : "");
        return -1;
    }
    rv->operation = (enum hw_operation)i;
    if (opt_string(req, "subResource", "request", &rv->subresource, err) != 0 ||
        opt_string(req, "namespace", "request", &rv->namespace_, err) != 0 ||
        opt_string(req, "name", "request", &rv->name, err) != 0)
        return -1;
    dry = json_object_get(req, "dryRun");
    if (dry != NULL && !json_is_null(dry) && !json_is_boolean(dry)) {
        hw_error_set(err, HW_EINVAL, "request.dryRun must be a boolean");
        return -1;
    }
    rv->dry_run = json_is_true(dry);
    obj = json_object_get(req, "object");
    if (obj != NULL && !json_is_null(obj) && !json_is_object(obj)) {
        hw_error_set(err, HW_EINVAL, "request.object must be an object or null");
        return -1;
    }
    rv->object = json_is_object(obj) ? (json_t *)obj : NULL;
    old = json_object_get(req, "oldObject");
    if (old != NULL && !json_is_null(old) && !json_is_object(old)) {
        hw_error_set(err, HW_EINVAL, "request.oldObject must be an object or null");
        return -1;
    }
    rv->old_object = json_is_object(old) ? (json_t *)old : NULL;
    if (rv->object == NULL && (rv->operation == HW_OP_CREATE || rv->operation == HW_OP_UPDATE)) {
        hw_error_set(err, HW_EINVAL, "request.object is missing on %s", op);
        return -1;
    }
    /* kube-apiserver always sends the stored object on UPDATE; without it
     * the answer could change an immutable pod template. */
    if (rv->old_object == NULL && rv->operation == HW_OP_UPDATE) {
        hw_error_set(err, HW_EINVAL, "request.oldObject is missing on UPDATE");
        return -1;
    }
    if (decode_kind(rv, req, err) != 0)
        return -1;
    name_from_object(rv);
    return 0;
}

/* ---- the skeleton: only what the envelope checks and the caller reads ---- */

#define JSON_FLAGS (JSON_ALLOW_NUL | JSON_DECODE_ANY)

/* The envelope's fields, first in every plan. */
enum field {
    F_API, F_KIND, F_REQ,
    R_UID, R_OP, R_KIND, R_SUB, R_NS, R_NAME, R_DRY, R_OBJ, R_OLD,
    K_GROUP, K_VERSION, K_KIND,
    N_ENVELOPE
};

static const struct hw_scan_field envelope[N_ENVELOPE] = {
    [F_API] = {"apiVersion", -1, 0, 0, 0, -1}, [F_KIND] = {"kind", -1, 0, 0, 0, -1},
    [F_REQ] = {"request", -1, 0, 0, 0, -1}, [R_UID] = {"uid", F_REQ, 0, 0, 0, -1},
    [R_OP] = {"operation", F_REQ, 0, 0, 0, -1}, [R_KIND] = {"kind", F_REQ, 0, 0, 0, -1},
    [R_SUB] = {"subResource", F_REQ, 0, 0, 0, -1}, [R_NS] = {"namespace", F_REQ, 0, 0, 0, -1},
    [R_NAME] = {"name", F_REQ, 0, 0, 0, -1}, [R_DRY] = {"dryRun", F_REQ, 0, 0, 0, -1},
    [R_OBJ] = {"object", F_REQ, 0, 0, 0, -1}, [R_OLD] = {"oldObject", F_REQ, 0, 0, 0, -1},
    [K_GROUP] = {"group", R_KIND, 0, 0, 0, -1}, [K_VERSION] = {"version", R_KIND, 0, 0, 0, -1},
    [K_KIND] = {"kind", R_KIND, 0, 0, 0, -1},
};

/* What decode_kind() and decode_request() read in the object themselves. */
static const struct hw_review_path own_reads[] = {
    {{"apiVersion"}, 0}, {{"kind"}, 0}, {{"metadata", "name"}, 0},
};

/* The field named name under parent, adding it when absent; -1 when full. */
static int
plan_child(struct hw_review_plan *plan, int parent, const char *name)
{
    for (size_t i = (size_t)parent + 1; i < plan->n; i++) {
        if (plan->fields[i].parent == parent && strcmp(plan->fields[i].name, name) == 0)
            return (int)i;
    }
    if (plan->n == HW_SCAN_MAX_FIELDS)
        return -1;
    plan->fields[plan->n] = (struct hw_scan_field){name, parent, -1, -1, 0, -1};
    plan->need[plan->n] = 0;
    return (int)plan->n++;
}

static int
has_children(const struct hw_review_plan *plan, int f)
{
    for (size_t i = (size_t)f + 1; i < plan->n; i++) {
        if (plan->fields[i].parent == f)
            return 1;
    }
    return 0;
}

/* Adds one path under root; ends marks the fields where a path ended. */
static int
plan_path(struct hw_review_plan *plan, int root, const struct hw_review_path *path,
          unsigned char *ends, struct hw_error *err)
{
    int f = root;
    size_t depth = 0;

    while (depth < HW_REVIEW_PATH_MAX && path->name[depth] != NULL) {
        if (f != root && ends[f]) {
            hw_error_set(err, HW_EINTERNAL, "read path %s.%s goes on below a path that ends there",
                         path->name[0], path->name[depth]);
            return -1;
        }
        if ((f = plan_child(plan, f, path->name[depth++])) < 0) {
            hw_error_set(err, HW_EINTERNAL, "read paths need more than %d decoder fields",
                         HW_SCAN_MAX_FIELDS);
            return -1;
        }
    }
    if (depth == 0 || depth == HW_REVIEW_PATH_MAX || has_children(plan, f)) {
        hw_error_set(err, HW_EINTERNAL, "read path %s is empty, too long, or ends where another goes on",
                     depth ? path->name[0] : "(empty)");
        return -1;
    }
    /* Read always by one path: always. */
    plan->need[f] = ends[f] && (plan->need[f] == 0 || path->need == 0) ? 0 : plan->need[f] | path->need;
    ends[f] = 1;
    return 0;
}

int
hw_review_plan_build(struct hw_review_plan *plan, const struct hw_review_path *paths, size_t n,
                     struct hw_error *err)
{
    unsigned char ends[HW_SCAN_MAX_FIELDS] = {0};
    const int roots[2] = {R_OBJ, R_OLD};

    memcpy(plan->fields, envelope, sizeof(envelope));
    memset(plan->need, 0, sizeof(plan->need));
    plan->n = N_ENVELOPE;
    for (int r = 0; r < 2; r++) {
        for (size_t i = 0; i < sizeof(own_reads) / sizeof(own_reads[0]); i++) {
            if (plan_path(plan, roots[r], &own_reads[i], ends, err) != 0)
                goto fail;
        }
        for (size_t i = 0; i < n; i++) {
            if (plan_path(plan, roots[r], &paths[i], ends, err) != 0)
                goto fail;
        }
    }
    /* The stored object repeats most of the new one: compared, not scanned. */
    if (hw_scan_link(plan->fields, plan->n) == 0 &&
        hw_scan_twin(plan->fields, plan->n, R_OBJ, R_OLD) == 0)
        return 0;
    hw_error_set(err, HW_EINTERNAL, "read paths do not link into a decoder table");
fail:
    plan->n = 0;
    return -1;
}

/*
 * A value of text the scanner validated, built directly with jansson's
 * constructors: no lexer, no stream. Strings with escapes and reals, whose
 * decoding is jansson's business, go through json_loadb one by one.
 */
static json_t *value_of(const char **p, const char *end);

static void
skip_blank(const char **p, const char *end)
{
    while (*p < end && (**p == ' ' || **p == '\n' || **p == '\r' || **p == '\t'))
        (*p)++;
}

static json_t *
string_of(const char **p, const char *end)
{
    const char *start = *p + 1, *q = memchr(start, '"', (size_t)(end - start));

    /* No backslash before the first quote: it closes the string. */
    if (q != NULL && memchr(start, '\\', (size_t)(q - start)) == NULL) {
        *p = q + 1;
        return json_stringn_nocheck(start, (size_t)(q - start));  /* UTF-8 already checked */
    }
    for (q = start; q < end && *q != '"'; q++) {
        if (*q == '\\')
            q++;
    }
    *p = q + 1;
    return json_loadb(start - 1, (size_t)(q + 1 - (start - 1)), JSON_FLAGS, NULL);
}

static json_t *
number_of(const char **p, const char *end)
{
    const char *start = *p;
    char digits[24];
    int integer = 1;

    /* strchr() would match the terminating NUL too: test the byte first. */
    while (*p < end && **p != '\0' && strchr("-+.eE0123456789", **p) != NULL) {
        if (**p == '.' || **p == 'e' || **p == 'E')
            integer = 0;
        (*p)++;
    }
    if (integer && *p - start < 19) {
        memcpy(digits, start, (size_t)(*p - start));
        digits[*p - start] = '\0';
        return json_integer(strtoll(digits, NULL, 10));
    }
    return json_loadb(start, (size_t)(*p - start), JSON_FLAGS, NULL);
}

static json_t *
container_of(const char **p, const char *end)
{
    int is_object = **p == '{';
    json_t *c = is_object ? json_object() : json_array();

    (*p)++;
    skip_blank(p, end);
    while (c != NULL && *p < end && **p != '}' && **p != ']') {
        json_t *key = NULL, *v;

        if (is_object) {
            key = string_of(p, end);
            skip_blank(p, end);
            (*p)++;  /* the colon */
        }
        v = value_of(p, end);
        if (v == NULL || (is_object ? (key == NULL ||
                                       json_object_setn_new_nocheck(c, json_string_value(key),
                                                                    json_string_length(key), v) != 0)
                                    : json_array_append_new(c, v) != 0)) {
            json_decref(key);
            json_decref(c);
            return NULL;
        }
        json_decref(key);
        skip_blank(p, end);
        if (*p < end && **p == ',') {
            (*p)++;
            skip_blank(p, end);
        }
    }
    (*p)++;
    return c;
}

static json_t *
value_of(const char **p, const char *end)
{
    skip_blank(p, end);
    if (*p >= end)
        return NULL;
    switch (**p) {
    case '{':
    case '[': return container_of(p, end);
    case '"': return string_of(p, end);
    case 't': *p += 4; return json_true();
    case 'f': *p += 5; return json_false();
    case 'n': *p += 4; return json_null();
    default: return number_of(p, end);
    }
}

static json_t *
leaf(struct hw_scan_range v)
{
    const char *p = v.p;

    return value_of(&p, v.p + v.len);
}

/*
 * Builds field f (-1: the whole body) from the ranges the scanner found: an
 * object with fields of its own in the plan becomes an object of just
 * those (the ones need wants), anything else is parsed whole. NULL means
 * "parse everything instead". made[] holds the values parsed whole so far,
 * by field: one whose twin (the same path in the other object) was parsed
 * from the same bytes is that value again, so the stored object's
 * unchanged values are built once and shared. Whoever changes object must
 * replace a value, not change it in place (hw_patch does).
 */
static json_t *
build(const struct hw_review_plan *plan, int f, const struct hw_scan_range *r, unsigned need,
      json_t **made)
{
    struct hw_scan_range v = f < 0 ? r[plan->n] : r[f];
    int first = f < 0 ? 0 : plan->fields[f].child;
    json_t *obj;

    if (hw_scan_type(v) != '{' || first < 0) {
        int t = f < 0 ? -1 : plan->fields[f].twin;

        if (t >= 0 && made[t] != NULL && r[t].len == v.len && memcmp(r[t].p, v.p, v.len) == 0)
            return json_incref(made[t]);
        obj = leaf(v);
        if (f >= 0)
            made[f] = obj;
        return obj;
    }
    obj = json_object();
    for (int i = first; obj != NULL && i >= 0; i = plan->fields[i].sibling) {
        json_t *child;

        if (r[i].len == 0 || (plan->need[i] != 0 && !(plan->need[i] & need)))
            continue;
        child = build(plan, i, r, need, made);
        if (child == NULL ||
            json_object_setn_new_nocheck(obj, plan->fields[i].name, plan->fields[i].len, child) != 0) {
            json_decref(obj);
            return NULL;
        }
    }
    return obj;
}

/* v is the string lit, written without escapes. */
static int
is_text(struct hw_scan_range v, const char *lit)
{
    size_t n = strlen(lit);

    return v.len == n + 2 && v.p[0] == '"' && memcmp(v.p + 1, lit, n) == 0;
}

/* Which of the n names v is, without escapes; n when none. */
static size_t
text_index(struct hw_scan_range v, const char *const *names, size_t n)
{
    size_t i = 0;

    while (i < n && !is_text(v, names[i]))
        i++;
    return i;
}

/* A string without escapes (copied into rv->text from *used on), or null
 * or absent (""); -1 for anything else, or when rv->text is full. */
static int
text_of(struct hw_review *rv, size_t *used, struct hw_scan_range v, const char **out)
{
    size_t n;

    *out = "";
    if (v.len == 0 || v.p[0] == 'n')
        return 0;
    n = v.len - 2;
    if (v.p[0] != '"' || memchr(v.p + 1, '\\', n) != NULL || n >= sizeof(rv->text) - *used)
        return -1;
    memcpy(rv->text + *used, v.p + 1, n);
    rv->text[*used + n] = '\0';
    *out = rv->text + *used;
    *used += n + 1;
    return 0;
}

/* Absent, null, or of type t. */
static int
absent_or(struct hw_scan_range v, char t)
{
    return v.len == 0 || v.p[0] == 'n' || v.p[0] == t;
}

/*
 * The envelope straight from the scanner's ranges, when it is the one
 * kube-apiserver sends: every field of its type, strings without escapes
 * and short enough for rv->text. Only object and oldObject are built
 * (owned by rv; root stays NULL). -1 sends the caller the long way, a
 * skeleton of the whole body through decode_envelope() and
 * decode_request(), which also words every error: both ways fill rv alike.
 */
static int
fast_envelope(struct hw_review *rv, const struct hw_review_plan *plan,
              const struct hw_scan_range *r, unsigned need)
{
    size_t used = 0, v, op;
    json_t *made[HW_SCAN_MAX_FIELDS];

    if (hw_scan_type(r[plan->n]) != '{' || hw_scan_type(r[F_REQ]) != '{' ||
        !is_text(r[F_KIND], "AdmissionReview"))
        return -1;
    v = text_index(r[F_API], version_names, 2);
    op = text_index(r[R_OP], op_names, 4);
    if (v == 2 || op == 4)
        return -1;
    rv->version = (enum hw_review_version)v;
    rv->operation = (enum hw_operation)op;
    if (text_of(rv, &used, r[R_UID], &rv->uid) != 0 || *rv->uid == '\0' ||
        text_of(rv, &used, r[R_SUB], &rv->subresource) != 0 ||
        text_of(rv, &used, r[R_NS], &rv->namespace_) != 0 ||
        text_of(rv, &used, r[R_NAME], &rv->name) != 0)
        return -1;
    if (!absent_or(r[R_DRY], 't') && hw_scan_type(r[R_DRY]) != 'f')
        return -1;
    rv->dry_run = hw_scan_type(r[R_DRY]) == 't';
    if (!absent_or(r[R_OBJ], '{') || !absent_or(r[R_OLD], '{') || !absent_or(r[R_KIND], '{') ||
        (hw_scan_type(r[R_OBJ]) != '{' && (op == HW_OP_CREATE || op == HW_OP_UPDATE)) ||
        (hw_scan_type(r[R_OLD]) != '{' && op == HW_OP_UPDATE))
        return -1;
    if (hw_scan_type(r[R_KIND]) == '{' &&
        (text_of(rv, &used, r[K_GROUP], &rv->group) != 0 ||
         text_of(rv, &used, r[K_VERSION], &rv->kind_version) != 0 ||
         text_of(rv, &used, r[K_KIND], &rv->kind) != 0))
        return -1;
    memset(made, 0, plan->n * sizeof(made[0]));
    if ((hw_scan_type(r[R_OBJ]) == '{' &&
         (rv->object = build(plan, R_OBJ, r, need, made)) == NULL) ||
        (hw_scan_type(r[R_OLD]) == '{' &&
         (rv->old_object = build(plan, R_OLD, r, need, made)) == NULL)) {
        json_decref(rv->object);
        return -1;
    }
    if (hw_scan_type(r[R_KIND]) != '{')
        derive_kind(rv);
    name_from_object(rv);
    return 0;
}

int
hw_review_decode(const char *body, size_t len, const struct hw_review_plan *plan, unsigned need,
                 struct hw_review *rv, struct hw_error *err)
{
    struct hw_scan_range r[HW_SCAN_MAX_FIELDS + 1];
    json_error_t jerr;
    const char *nul;

    review_reset(rv);
    if (len == 0) {
        hw_error_set(err, HW_EINVAL, "request body is empty: expected an AdmissionReview");
        return -1;
    }
    /* JSON text has no raw NUL, but jansson skips one after a number or a
     * literal ("1\0" parses): refuse it before either parser looks. */
    nul = memchr(body, '\0', len);
    if (nul != NULL) {
        hw_error_set(err, HW_EINVAL, "invalid JSON: a NUL byte at offset %zu", (size_t)(nul - body));
        return -1;
    }
    if (plan != NULL && plan->n > 0 && !(need & HW_REVIEW_FULL) &&
        hw_scan_extract(body, len, plan->fields, plan->n, r) == 0) {
        json_t *made[HW_SCAN_MAX_FIELDS];
        size_t ws = 0;

        while (ws < len && (body[ws] == ' ' || body[ws] == '\t' || body[ws] == '\r' || body[ws] == '\n'))
            ws++;
        r[plan->n].p = body + ws;  /* the whole value, for build(-1) */
        r[plan->n].len = len - ws;
        if (fast_envelope(rv, plan, r, need) == 0)
            return 0;
        review_reset(rv);
        memset(made, 0, plan->n * sizeof(made[0]));
        rv->root = build(plan, -1, r, need, made);
    }
    /* NUL is valid JSON (\u0000) and Go accepts it; comparisons that matter
     * use lengths. Duplicate keys: last wins, as in kube's decoder. */
    if (rv->root == NULL)
        rv->root = json_loadb(body, len, JSON_FLAGS, &jerr);
    if (rv->root == NULL) {
        /* jansson quotes the token it stopped at ("near '...'"): a piece of
         * the body, which may be a secret, so it stays out of the answer. */
        char *near = strstr(jerr.text, " near ");

        if (near != NULL)
            *near = '\0';
        hw_error_set(err, HW_EINVAL, "invalid JSON at line %d, column %d: %s", jerr.line,
                     jerr.column, jerr.text);
        return -1;
    }
    if (decode_envelope(rv, err) != 0 || decode_request(rv, err) != 0) {
        hw_review_clear(rv);
        return -1;
    }
    return 0;
}

/* The denial's metav1.Status, under "status": the JSON name of
 * AdmissionResponse.Result, the only key kube-apiserver reads. */
static int
encode_status(struct hw_buf *out, const struct hw_answer *ans)
{
    const char *msg = ans->status_message ? ans->status_message : "";

    if (hw_buf_printf(out, ",\"status\":{\"code\":%d,\"status\":\"Failure\",\"message\":",
                      ans->status_code >= 400 ? ans->status_code : 403) != 0 ||
        hw_buf_append_json_string(out, msg, strlen(msg)) != 0)
        return -1;
    if (ans->status_reason != NULL &&
        (hw_buf_append_str(out, ",\"reason\":") != 0 ||
         hw_buf_append_json_string(out, ans->status_reason, strlen(ans->status_reason)) != 0))
        return -1;
    return hw_buf_append(out, "}", 1);
}

static int
encode_lists(struct hw_buf *out, const struct hw_answer *ans)
{
    if (ans->n_warnings > 0) {
        if (hw_buf_append_str(out, ",\"warnings\":[") != 0)
            return -1;
        for (size_t i = 0; i < ans->n_warnings; i++) {
            if ((i > 0 && hw_buf_append(out, ",", 1) != 0) ||
                hw_buf_append_json_string(out, ans->warnings[i], strlen(ans->warnings[i])) != 0)
                return -1;
        }
        if (hw_buf_append(out, "]", 1) != 0)
            return -1;
    }
    if (ans->n_audit > 0) {
        if (hw_buf_append_str(out, ",\"auditAnnotations\":{") != 0)
            return -1;
        for (size_t i = 0; i < ans->n_audit; i++) {
            if ((i > 0 && hw_buf_append(out, ",", 1) != 0) ||
                hw_buf_append_json_string(out, ans->audit_keys[i], strlen(ans->audit_keys[i])) != 0 ||
                hw_buf_append(out, ":", 1) != 0 ||
                hw_buf_append_json_string(out, ans->audit_values[i], strlen(ans->audit_values[i])) != 0)
                return -1;
        }
        if (hw_buf_append(out, "}", 1) != 0)
            return -1;
    }
    return 0;
}

int
hw_review_encode(const struct hw_review *rv, const struct hw_answer *ans, struct hw_buf *out,
                 struct hw_error *err)
{
    if (hw_buf_append_str(out, "{\"kind\":\"AdmissionReview\",\"apiVersion\":\"") != 0 ||
        hw_buf_append_str(out, version_names[rv->version]) != 0 ||
        hw_buf_append_str(out, "\",\"response\":{\"uid\":") != 0 ||
        hw_buf_append_json_string(out, rv->uid, strlen(rv->uid)) != 0 ||
        hw_buf_append_str(out, ans->allowed ? ",\"allowed\":true" : ",\"allowed\":false") != 0)
        goto fail;
    if (!ans->allowed && encode_status(out, ans) != 0)
        goto fail;
    if (ans->allowed && ans->patch != NULL && ans->patch_len > 0 &&
        (hw_buf_append_str(out, ",\"patchType\":\"JSONPatch\",\"patch\":\"") != 0 ||
         hw_buf_append_base64(out, (const unsigned char *)ans->patch, ans->patch_len) != 0 ||
         hw_buf_append(out, "\"", 1) != 0))
        goto fail;
    if (encode_lists(out, ans) != 0 || hw_buf_append_str(out, "}}") != 0)
        goto fail;
    return 0;
fail:
    hw_error_set(err, HW_EINTERNAL, "response does not fit the output buffer");
    return -1;
}

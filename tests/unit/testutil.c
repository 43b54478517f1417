/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Test helpers: file loading and a small JSON Patch applier with the
 * semantics of evanphx/json-patch v4 as kube-apiserver calls it (add needs
 * the parent; add on an existing key replaces; replace of a missing key in
 * an existing object adds; "-" appends). It shares no code with patch.c,
 * so it checks our output independently.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

char *
tu_read(const char *rel, size_t *len)
{
    char path[4096];
    FILE *f;
    char *buf;
    long n;

    if (rel[0] == '/')
        snprintf(path, sizeof(path), "%s", rel);
    else
        snprintf(path, sizeof(path), "%s/%s", HW_TEST_DATA, rel);
    f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc((size_t)n + 1);
    if (buf != NULL && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    if (buf != NULL) {
        buf[n] = '\0';
        if (len)
            *len = (size_t)n;
    }
    return buf;
}

json_t *
tu_json(const char *path)
{
    json_error_t e;
    char full[4096];
    json_t *j;

    if (path[0] == '/')
        snprintf(full, sizeof(full), "%s", path);
    else
        snprintf(full, sizeof(full), "%s/%s", HW_TEST_DATA, path);
    j = json_load_file(full, 0, &e);
    ck_assert_msg(j != NULL, "cannot load %s: %s", full, e.text);
    return j;
}

/* Splits a pointer into unescaped segments; returns count or -1. */
static int
segments(const char *ptr, char segs[][256], int max)
{
    int n = 0;

    if (ptr[0] == '\0')
        return 0;
    if (ptr[0] != '/')
        return -1;
    ptr++;
    for (;;) {
        size_t k = 0;

        if (n == max)
            return -1;
        while (*ptr && *ptr != '/') {
            if (ptr[0] == '~' && ptr[1] == '1') {
                segs[n][k++] = '/';
                ptr += 2;
            } else if (ptr[0] == '~' && ptr[1] == '0') {
                segs[n][k++] = '~';
                ptr += 2;
            } else {
                segs[n][k++] = *ptr++;
            }
            if (k >= 255)
                return -1;
        }
        segs[n++][k] = '\0';
        if (*ptr == '\0')
            return n;
        ptr++;
    }
}

static int
apply_one(json_t *doc, const json_t *op, const char **why)
{
    const char *kind = json_string_value(json_object_get(op, "op"));
    const char *path = json_string_value(json_object_get(op, "path"));
    json_t *value = json_object_get(op, "value"), *parent = doc;
    char segs[32][256];
    int n;

    if (kind == NULL || path == NULL || (n = segments(path, segs, 32)) <= 0) {
        *why = "bad op or path";
        return -1;
    }
    for (int i = 0; i < n - 1; i++) {
        json_t *next = json_is_object(parent) ? json_object_get(parent, segs[i])
                       : json_is_array(parent) ? json_array_get(parent, (size_t)atoi(segs[i]))
                                               : NULL;
        if (next == NULL) {
            *why = "doc is missing path";
            return -1;
        }
        parent = next;
    }
    if (strcmp(kind, "add") == 0 || strcmp(kind, "replace") == 0) {
        if (value == NULL) {
            *why = "no value";
            return -1;
        }
        if (json_is_object(parent))
            return json_object_set(parent, segs[n - 1], value);
        if (json_is_array(parent)) {
            if (strcmp(segs[n - 1], "-") == 0 && strcmp(kind, "add") == 0)
                return json_array_append(parent, value);
            if (strcmp(kind, "add") == 0)
                return json_array_insert(parent, (size_t)atoi(segs[n - 1]), value);
            return json_array_set(parent, (size_t)atoi(segs[n - 1]), value);
        }
        *why = "parent is not a container";
        return -1;
    }
    if (strcmp(kind, "remove") == 0) {
        /* v4: removing a key that is not there is an error. */
        if (json_is_object(parent) && json_object_get(parent, segs[n - 1]) != NULL)
            return json_object_del(parent, segs[n - 1]);
        if (json_is_array(parent) && (size_t)atoi(segs[n - 1]) < json_array_size(parent))
            return json_array_remove(parent, (size_t)atoi(segs[n - 1]));
        *why = "Unable to remove nonexistent key";
        return -1;
    }
    *why = "unsupported op";
    return -1;
}

json_t *
tu_apply_patch(const json_t *doc, const json_t *patch, const char **why)
{
    json_t *copy = json_deep_copy(doc);
    size_t i;
    const json_t *op;

    json_array_foreach(patch, i, op) {
        if (apply_one(copy, op, why) != 0) {
            json_decref(copy);
            return NULL;
        }
    }
    return copy;
}

char *
tu_review(const json_t *job, const char *operation, const char *version, const json_t *old)
{
    const char *ns = json_string_value(json_object_get(json_object_get(job, "metadata"), "namespace"));
    json_t *rv = json_pack("{s:s, s:s, s:{s:s, s:{s:s, s:s, s:s}, s:s, s:s, s:O, s:O, s:b}}",
                           "kind", "AdmissionReview", "apiVersion", version, "request", "uid",
                           "0f3f1c2e-1111-2222-3333-444455556666", "kind", "group", "batch", "version",
                           "v1", "kind", "Job", "operation", operation, "namespace", ns ? ns : "default",
                           "object", job, "oldObject", old ? old : json_null(), "dryRun", 0);
    char *s = json_dumps(rv, JSON_COMPACT);

    json_decref(rv);
    return s;
}

struct hw_policy *
tu_policy(const char *text)
{
    struct hw_error err = {0};
    struct hw_policy *p = text ? hw_policy_parse(text, strlen(text), "test.json", NULL, &err)
                               : hw_policy_new_default(NULL, &err);

    ck_assert_msg(p != NULL, "policy refused: %s", err.msg);
    return p;
}

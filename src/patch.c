/* SPDX-License-Identifier: Apache-2.0 */
/*
 * patch: records JSON Patch operations and applies each to the in-memory
 * document as it goes. It knows nothing of Jobs or policy; policy.c says
 * what to set, this module says how to say it so kube-apiserver's json-patch
 * accepts it. It does not apply patches from elsewhere (tests carry their
 * own applier to check our output independently).
 */
#include <stdlib.h>
#include <string.h>

#include "hookwarden/patch.h"

/* An operation as recorded: its value a copy, since the document keeps
 * changing after it (a map the patch added receives later keys). */
struct op {
    const char *name;  /* "add", "replace" or "remove" */
    char *path;
    json_t *value;     /* NULL for "remove" */
};

struct hw_patch {
    struct op *ops;
    size_t n, cap;
    json_t *view;  /* hw_patch_ops()'s array, built when asked */
};

struct hw_patch *
hw_patch_new(void)
{
    return calloc(1, sizeof(struct hw_patch));
}

void
hw_patch_free(struct hw_patch *p)
{
    if (p == NULL)
        return;
    for (size_t i = 0; i < p->n; i++) {
        free(p->ops[i].path);
        json_decref(p->ops[i].value);
    }
    free(p->ops);
    json_decref(p->view);
    free(p);
}

size_t
hw_patch_count(const struct hw_patch *p)
{
    return p->n;
}

const json_t *
hw_patch_ops(struct hw_patch *p)
{
    json_decref(p->view);
    p->view = json_array();
    for (size_t i = 0; i < p->n && p->view != NULL; i++) {
        json_t *o = json_pack("{s:s, s:s}", "op", p->ops[i].name, "path", p->ops[i].path);

        if (o != NULL && p->ops[i].value != NULL)
            json_object_set_new(o, "value", json_deep_copy(p->ops[i].value));
        if (json_array_append_new(p->view, o) != 0) {
            json_decref(p->view);
            p->view = NULL;
        }
    }
    return p->view;
}

int
hw_patch_escape(struct hw_buf *out, const char *key, size_t len)
{
    size_t start = 0;

    for (size_t i = 0; i < len; i++) {
        const char *esc = key[i] == '~' ? "~0" : key[i] == '/' ? "~1" : NULL;

        if (esc == NULL)
            continue;
        if (hw_buf_append(out, key + start, i - start) != 0 || hw_buf_append(out, esc, 2) != 0)
            return -1;
        start = i + 1;
    }
    return hw_buf_append(out, key + start, len - start);
}

/* Appends "/a/b~1c" for the first n segments, then "/" last when not NULL. */
static int
write_pointer(struct hw_buf *b, const char *const *path, size_t n, const char *last)
{
    for (size_t i = 0; i < n; i++) {
        if (hw_buf_append(b, "/", 1) != 0 || hw_patch_escape(b, path[i], strlen(path[i])) != 0)
            return -1;
    }
    if (last != NULL && (hw_buf_append(b, "/", 1) != 0 || hw_buf_append_str(b, last) != 0))
        return -1;
    return 0;
}

/* The pointer as a new string: written on the stack and copied into one
 * allocation of its size, or, when longer, into a growing buffer. */
static char *
pointer_new(const char *const *path, size_t n, const char *last)
{
    char text[512], *ptr;
    struct hw_buf b;

    hw_buf_init_fixed(&b, text, sizeof(text));
    if (write_pointer(&b, path, n, last) == 0) {
        if ((ptr = malloc(b.len + 1)) != NULL)
            memcpy(ptr, b.data, b.len + 1);
        return ptr;
    }
    hw_buf_init(&b, 0);
    if (write_pointer(&b, path, n, last) == 0)
        return hw_buf_steal(&b, NULL);
    hw_buf_free(&b);
    return NULL;
}

/* Records {op, path[, value]}; value NULL for "remove". Takes path. A
 * scalar value is shared (nothing changes one in place); a container is
 * copied. */
static int
record(struct hw_patch *p, const char *name, char *path, json_t *value, struct hw_error *err)
{
    struct op *o;

    if (path == NULL) {
        hw_error_set(err, HW_EINTERNAL, "out of memory building a patch path");
        return -1;
    }
    if (p->n == p->cap) {
        size_t cap = p->cap ? 2 * p->cap : 4;
        struct op *grown = realloc(p->ops, cap * sizeof(*grown));

        if (grown == NULL)
            goto nomem;
        p->ops = grown;
        p->cap = cap;
    }
    o = &p->ops[p->n];
    o->name = name;
    o->path = path;
    o->value = NULL;
    if (value != NULL) {
        o->value = json_is_object(value) || json_is_array(value) ? json_deep_copy(value)
                                                                 : json_incref(value);
        if (o->value == NULL)
            goto nomem;
    }
    p->n++;
    return 0;
nomem:
    free(path);
    hw_error_set(err, HW_EINTERNAL, "out of memory building a patch");
    return -1;
}

static const char *
type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a number";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    default: return "null";
    }
}

/*
 * Walks to the parent of path[n-1]. When a segment is missing or null, the
 * remaining path is built around value as nested objects and added there
 * whole; *added tells the caller the work is done (value consumed).
 */
static json_t *
walk_parent(struct hw_patch *p, json_t *doc, const char *const *path, size_t n, json_t **value,
            int *added, struct hw_error *err)
{
    json_t *cur = doc;

    *added = 0;
    for (size_t i = 0; i + 1 < n; i++) {
        json_t *next = json_object_get(cur, path[i]);

        if (next == NULL || json_is_null(next)) {
            json_t *v = *value;

            /* Wrap the value from the leaf up to the first missing key. */
            for (size_t j = n - 1; j > i; j--) {
                json_t *wrap = json_object();

                if (wrap == NULL || json_object_set_new(wrap, path[j], v) != 0) {
                    json_decref(wrap);
                    *value = NULL;
                    hw_error_set(err, HW_EINTERNAL, "out of memory building a patch");
                    return NULL;
                }
                v = wrap;
            }
            *value = NULL;
            if (json_object_set_new(cur, path[i], v) != 0 ||
                record(p, "add", pointer_new(path, i + 1, NULL), v, err) != 0)
                return NULL;
            *added = 1;
            return cur;
        }
        if (!json_is_object(next)) {
            char *ptr = pointer_new(path, i + 1, NULL);

            hw_error_set(err, HW_EINVAL, "object field %s is %s, expected an object",
                         ptr ? ptr : "?", type_name(next));
            free(ptr);
            return NULL;
        }
        cur = next;
    }
    return cur;
}

int
hw_patch_set(struct hw_patch *p, json_t *doc, const char *const *path, size_t n, json_t *value,
             struct hw_error *err)
{
    json_t *parent, *old;
    int added, rc = -1;

    if (value == NULL || n == 0 || !json_is_object(doc)) {
        hw_error_set(err, HW_EINTERNAL, "bad patch_set call");
        goto out;
    }
    parent = walk_parent(p, doc, path, n, &value, &added, err);
    if (parent == NULL || added) {
        rc = parent == NULL ? -1 : 0;
        goto out;
    }
    old = json_object_get(parent, path[n - 1]);
    if (record(p, old != NULL && !json_is_null(old) ? "replace" : "add", pointer_new(path, n, NULL),
               value, err) != 0)
        goto out;
    if (json_object_set(parent, path[n - 1], value) != 0) {
        hw_error_set(err, HW_EINTERNAL, "out of memory applying a patch");
        goto out;
    }
    rc = 0;
out:
    json_decref(value);
    return rc;
}

int
hw_patch_append(struct hw_patch *p, json_t *doc, const char *const *path, size_t n, json_t *value,
                struct hw_error *err)
{
    json_t *parent, *arr, *fresh = NULL;
    int added, rc = -1;

    if (value == NULL || n == 0 || !json_is_object(doc)) {
        hw_error_set(err, HW_EINTERNAL, "bad patch_append call");
        goto out;
    }
    /* The array to add whole, should the leaf or a parent be missing. */
    fresh = json_array();
    if (fresh == NULL || json_array_append(fresh, value) != 0) {
        hw_error_set(err, HW_EINTERNAL, "out of memory building a patch");
        goto out;
    }
    parent = walk_parent(p, doc, path, n, &fresh, &added, err);
    if (parent == NULL || added) {
        rc = parent == NULL ? -1 : 0;
        goto out;
    }
    arr = json_object_get(parent, path[n - 1]);
    if (arr == NULL || json_is_null(arr)) {
        if (record(p, "add", pointer_new(path, n, NULL), fresh, err) != 0)
            goto out;
        if (json_object_set_new(parent, path[n - 1], fresh) != 0) {
            fresh = NULL;
            hw_error_set(err, HW_EINTERNAL, "out of memory applying a patch");
            goto out;
        }
        fresh = NULL;
        rc = 0;
        goto out;
    }
    if (!json_is_array(arr)) {
        char *ptr = pointer_new(path, n, NULL);

        hw_error_set(err, HW_EINVAL, "object field %s is %s, expected an array", ptr ? ptr : "?",
                     type_name(arr));
        free(ptr);
        goto out;
    }
    if (record(p, "add", pointer_new(path, n, "-"), value, err) != 0)
        goto out;
    /* A longer copy replaces the list, which another document may share
     * (review.c gives oldObject the values it has alike). */
    json_decref(fresh);
    fresh = json_copy(arr);
    if (fresh == NULL || json_array_append(fresh, value) != 0 ||
        json_object_set(parent, path[n - 1], fresh) != 0) {
        hw_error_set(err, HW_EINTERNAL, "out of memory applying a patch");
        goto out;
    }
    rc = 0;
out:
    json_decref(fresh);
    json_decref(value);
    return rc;
}

int
hw_patch_remove(struct hw_patch *p, json_t *doc, const char *const *path, size_t n,
                struct hw_error *err)
{
    json_t *parent = doc;

    for (size_t i = 0; i + 1 < n && parent != NULL; i++)
        parent = json_object_get(parent, path[i]);
    if (n == 0 || !json_is_object(parent) || json_object_get(parent, path[n - 1]) == NULL)
        return 0;
    if (record(p, "remove", pointer_new(path, n, NULL), NULL, err) != 0)
        return -1;
    json_object_del(parent, path[n - 1]);
    return 0;
}

static int
append_dumped(const char *text, size_t len, void *out)
{
    return hw_buf_append(out, text, len);
}

/* A value: strings and integers written here, containers by jansson,
 * straight into out (jansson's own text would come from its allocator,
 * the request's arena, which free() must not see). */
static int
dump_value(struct hw_buf *out, const json_t *v)
{
    if (json_is_string(v))
        return hw_buf_append_json_string(out, json_string_value(v), json_string_length(v));
    if (json_is_integer(v))
        return hw_buf_append_int(out, json_integer_value(v));
    return json_dump_callback(v, append_dumped, out, JSON_COMPACT | JSON_ENCODE_ANY);
}

int
hw_patch_dump(const struct hw_patch *p, struct hw_buf *out, struct hw_error *err)
{
    if (hw_buf_append(out, "[", 1) != 0)
        goto fail;
    for (size_t i = 0; i < p->n; i++) {
        const struct op *o = &p->ops[i];

        if (hw_buf_append_str(out, i ? ",{\"op\":\"" : "{\"op\":\"") != 0 ||
            hw_buf_append_str(out, o->name) != 0 || hw_buf_append_str(out, "\",\"path\":") != 0 ||
            hw_buf_append_json_string(out, o->path, strlen(o->path)) != 0)
            goto fail;
        if (o->value != NULL &&
            (hw_buf_append_str(out, ",\"value\":") != 0 || dump_value(out, o->value) != 0))
            goto fail;
        if (hw_buf_append(out, "}", 1) != 0)
            goto fail;
    }
    if (hw_buf_append(out, "]", 1) == 0)
        return 0;
fail:
    hw_error_set(err, HW_EINTERNAL, "patch does not fit the response buffer");
    return -1;
}

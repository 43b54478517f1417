/* SPDX-License-Identifier: Apache-2.0 */
/*
 * patch: builds an RFC 6902 JSON Patch against the raw object, the way
 * kube-apiserver's json-patch (evanphx v4) will apply it. Each call both
 * records an operation and applies it to the in-memory document, so the
 * next call sees the result: a map the patch created receives single keys,
 * never a second whole-map add. The rules it follows:
 *  - paths are RFC 6901 pointers, "~" written "~0" and "/" written "~1";
 *  - a missing or null parent is added whole, with the value inside it;
 *  - an existing map receives single keys, never a replacement;
 *  - arrays are appended to with "/-" after the caller checked for dups;
 *  - the document's values are replaced, never changed in place (a longer
 *    copy replaces an array appended to): another document may share them
 *    (review.h);
 *  - "remove" only through hw_patch_remove, which the policy uses solely to
 *    put an UPDATE's pod template back to the stored one.
 */
#ifndef HOOKWARDEN_PATCH_H
#define HOOKWARDEN_PATCH_H

#include <jansson.h>
#include <stddef.h>

#include "hookwarden/buf.h"
#include "hookwarden/error.h"

struct hw_patch;

/* New empty patch; NULL when out of memory. Free with hw_patch_free(). */
struct hw_patch *hw_patch_new(void);
void hw_patch_free(struct hw_patch *p);

/* Number of operations recorded. */
size_t hw_patch_count(const struct hw_patch *p);

/*
 * Sets doc[path] = value: "replace" when the key holds a non-null value,
 * otherwise "add", creating every missing or null parent as an object.
 * path is n segments (unescaped keys). Takes ownership of value, also on
 * failure. Fails with HW_EINVAL when a parent exists but is not an object.
 */
int hw_patch_set(struct hw_patch *p, json_t *doc, const char *const *path, size_t n,
                 json_t *value, struct hw_error *err);

/*
 * Appends value to the array doc[path], adding the array (and parents) when
 * it is missing or null. Takes ownership of value, also on failure. Fails
 * with HW_EINVAL when doc[path] exists but is not an array.
 */
int hw_patch_append(struct hw_patch *p, json_t *doc, const char *const *path, size_t n,
                    json_t *value, struct hw_error *err);

/*
 * Removes doc[path] ("remove"); nothing is recorded when it is absent, so
 * the op always applies. path is n segments (unescaped keys).
 */
int hw_patch_remove(struct hw_patch *p, json_t *doc, const char *const *path, size_t n,
                    struct hw_error *err);

/* Appends the RFC 6901 escape of key (len bytes) to out; -1 when out is full. */
int hw_patch_escape(struct hw_buf *out, const char *key, size_t len);

/* Serialises the patch as a compact JSON array into out. */
int hw_patch_dump(const struct hw_patch *p, struct hw_buf *out, struct hw_error *err);

/* The operations as a JSON array (for tests and tools; the answer is
 * written by hw_patch_dump), built at each call and valid until the next
 * call or hw_patch_free(); NULL when out of memory. */
const json_t *hw_patch_ops(struct hw_patch *p);

#endif

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * scan: a validating JSON scanner that allocates nothing. It accepts a text
 * only when jansson (json_loadb with JSON_ALLOW_NUL | JSON_DECODE_ANY) would
 * accept it and read every value the same way; where it cannot be sure
 * cheaply (surrogate escapes, numbers near the limits of long long or
 * double, nesting near jansson's 2048 levels) it declines, and the caller
 * parses the whole text with jansson instead. After validation it walks
 * objects member by member, handing out byte ranges, so the caller parses
 * with jansson only the values it needs.
 */
#ifndef HOOKWARDEN_SCAN_H
#define HOOKWARDEN_SCAN_H

#include <stddef.h>

struct hw_scan_range {
    const char *p;
    size_t len;
};

/* 0 when text is one JSON value (surrounded by whitespace only) that
 * jansson reads identically; -1 when invalid or not certain. */
int hw_scan_validate(const char *text, size_t len);

/* Iterates the members of a validated object value. */
struct hw_scan_iter {
    const char *p, *end;
};

/* Starts at value (which must be an object); -1 when it is not one. */
int hw_scan_object_begin(struct hw_scan_range value, struct hw_scan_iter *it);

/*
 * Next member: key is the raw text between the quotes (escapes as written),
 * value the value's bytes. Returns 1 for a member, 0 at the end.
 * *escaped is set when the key contains a backslash.
 */
int hw_scan_object_next(struct hw_scan_iter *it, struct hw_scan_range *key, int *escaped,
                        struct hw_scan_range *value);

/* The first byte of a validated value: '{', '[', '"', 't', 'f', 'n' or a digit or '-'. */
static inline char
hw_scan_type(struct hw_scan_range v)
{
    return v.len ? v.p[0] : '\0';
}

#endif

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * scan: a validating JSON scanner that allocates nothing. It accepts a text
 * only when jansson (json_loadb with JSON_ALLOW_NUL | JSON_DECODE_ANY) would
 * accept it and read every value the same way; where it cannot be sure
 * cheaply (surrogate escapes, numbers near the limits of long long or
 * double, nesting near jansson's 2048 levels) it declines, and the caller
 * parses the whole text with jansson instead. In the same single pass it
 * records where the fields the caller asked for are, so the caller parses
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

/*
 * A field to find while validating: member name of the object that is the
 * value of field `parent` (-1: the top-level value). Fields form a tree;
 * a parent must come before its children in the array. child and sibling
 * link the tree for the scanner (hw_scan_link fills them): a key is looked
 * up among its object's fields only.
 */
struct hw_scan_field {
    const char *name;
    int parent;
    int child;     /* first field whose parent this is, -1 none */
    int sibling;   /* next field with the same parent, -1 none */
    size_t len;    /* strlen(name) */
    int twin;      /* the field tracked for the same path in another object, -1 none */
};

#define HW_SCAN_MAX_FIELDS 128

/* Fills child, sibling and len of fields[0..n), and sets no twins; -1 when
 * a parent does not come before its children (or fields[0] is not a
 * top-level field). */
int hw_scan_link(struct hw_scan_field *fields, size_t n);

/*
 * Makes the linked fields a and b twins, and their children pairwise, all
 * the way down: the two subtrees must name the same fields in the same
 * order, and a and b sit at the same depth. A container whose bytes repeat
 * those of its twin's value, found earlier in the same text, is then
 * compared rather than scanned (on an UPDATE the stored object mostly
 * repeats the new one), and what was found inside the twin is found at
 * the same offsets inside it. -1 when the subtrees differ, or a and b
 * are not two fields at one depth; no field has a twin then.
 */
int hw_scan_twin(struct hw_scan_field *fields, size_t n, int a, int b);

/*
 * hw_scan_validate, recording on the way the value range of every field it
 * finds (len 0 when absent); fields are linked (hw_scan_link), and twinned
 * where the caller chose (hw_scan_twin). A repeated key replaces the
 * earlier value and forgets what was found inside it, as jansson keeps the
 * last. Returns -1 as hw_scan_validate does, and also when a key on the
 * tracked paths has an escape (the caller then parses everything).
 */
int hw_scan_extract(const char *text, size_t len, const struct hw_scan_field *fields, size_t n,
                    struct hw_scan_range *out);

/* The first byte of a validated value: '{', '[', '"', 't', 'f', 'n' or a digit or '-'. */
static inline char
hw_scan_type(struct hw_scan_range v)
{
    return v.len ? v.p[0] : '\0';
}

#endif

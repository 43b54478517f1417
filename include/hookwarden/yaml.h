/* SPDX-License-Identifier: Apache-2.0 */
/*
 * yaml: a stream of YAML (or JSON) documents in, jansson values out, and
 * back. hw_yaml_parse() reads every document with libyaml and types plain
 * scalars the way Kubernetes tools do (sigs.k8s.io/yaml over go-yaml v2,
 * YAML 1.1 as Kubernetes uses it): true/false/yes/no/on/off, null/~/empty,
 * integers (decimal, 0x, 0o, 0b, 0755 octal, underscores) and floats become
 * JSON types; quoted and block scalars stay strings. Anchors and aliases are
 * expanded as copies under a budget, merge keys (<<) are applied with
 * explicit keys winning, and duplicate keys, complex keys, unknown tags,
 * .inf/.nan and nesting deeper than HW_YAML_MAX_DEPTH are refused with
 * "source:line:column: problem". On request it also lists where each key
 * and sequence item starts, so a caller that judges the values (the policy
 * file) can name a line and column. Each document keeps its byte range in the
 * input, so hw_yaml_write() copies unchanged documents byte for byte and
 * re-emits only the changed ones, in block style, with every string that
 * would be read back as another type quoted. It knows nothing about
 * Kubernetes objects or the policy.
 */
#ifndef HOOKWARDEN_YAML_H
#define HOOKWARDEN_YAML_H

#include <jansson.h>
#include <stddef.h>

#include "hookwarden/buf.h"
#include "hookwarden/error.h"

#define HW_YAML_MAX_INPUT (64u << 20)   /* bytes in one stream */
#define HW_YAML_MAX_DEPTH 256           /* nested mappings and sequences */
#define HW_YAML_ALIAS_NODES 100000      /* nodes aliases may add beyond the stream's own */

/* One document of a stream. The documents tile the input: docs[0].start is
 * 0, each end is the next start, the last end is the input's length. */
struct hw_yaml_doc {
    json_t *value;          /* owned by the stream; JSON null for an empty document */
    size_t start, end;      /* the document's bytes: its "---", comments and content */
    size_t root_start;      /* where the root node begins (after "---" and comments) */
    size_t root_end;        /* where it ends; [root_end, end) is kept on re-emission */
    unsigned line;          /* 1-based line of the root node, for messages */
    int changed;            /* set by the caller: hw_yaml_write() re-emits value */
};

/* Where a mapping key or a sequence item starts, for messages about a
 * value read from it (HW_YAML_POSITIONS). */
struct hw_yaml_pos {
    char *path;             /* owned: "/spec/containers/0/name": keys and indexes
                             * joined by '/', not escaped; "" is never listed */
    size_t doc;             /* index of the document in docs */
    unsigned line, col;     /* 1-based; col counts characters */
};

struct hw_yaml_stream {
    struct hw_yaml_doc *docs;  /* owned */
    size_t n_docs;             /* 0 for an empty or comment-only stream */
    struct hw_yaml_pos *pos;   /* owned; with HW_YAML_POSITIONS, in input order */
    size_t n_pos;
};

/* hw_yaml_parse_with() flags. */
#define HW_YAML_POSITIONS 1u    /* record every key's and item's position; keys
                                 * merged in by "<<", and what an alias copies,
                                 * have none (their mapping or the alias does) */

/*
 * Parses text (len bytes of UTF-8, at most HW_YAML_MAX_INPUT) into a new
 * stream (free with hw_yaml_free()). source names the input in messages.
 * NULL on failure, with err (HW_EINVAL, or HW_ETOOBIG) holding
 * "source:line:column: problem".
 */
struct hw_yaml_stream *hw_yaml_parse(const char *text, size_t len, const char *source,
                                     struct hw_error *err);

/* The same with HW_YAML_* flags (0 is hw_yaml_parse()). */
struct hw_yaml_stream *hw_yaml_parse_with(const char *text, size_t len, const char *source,
                                          unsigned flags, struct hw_error *err);

/* Frees the stream and its values. Accepts NULL. */
void hw_yaml_free(struct hw_yaml_stream *s);

/*
 * Appends value to out as one YAML document: block style, no "---", ending
 * in a newline. Empty maps and lists are written {} and []; multi-line
 * strings as literal blocks where YAML allows. Fails (HW_ETOOBIG) when out
 * is full, or HW_EINVAL when a real is not finite.
 */
int hw_yaml_emit(const json_t *value, struct hw_buf *out, struct hw_error *err);

/*
 * Appends the stream s, parsed from text (len bytes), to out: a document
 * whose changed flag is clear is copied byte for byte; a changed one keeps
 * its leading "---" and comments, its root is re-emitted from value, and
 * what followed the root (a "..." marker) is kept.
 */
int hw_yaml_write(const char *text, size_t len, const struct hw_yaml_stream *s,
                  struct hw_buf *out, struct hw_error *err);

#endif

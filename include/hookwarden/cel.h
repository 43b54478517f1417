/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cel: writing CEL source text (cel.dev, as kube-apiserver's admission
 * policies read it): string literals that survive any content, list
 * literals, and the few expression patterns the exporter repeats (Go's
 * printable rules, cuts on a UTF-8 character, a bounded walk of nested
 * values). It only writes text; it evaluates nothing and knows nothing of
 * Jobs or policies.
 */
#ifndef HOOKWARDEN_CEL_H
#define HOOKWARDEN_CEL_H

#include <jansson.h>
#include <stddef.h>

#include "hookwarden/buf.h"

/* Appends s (len bytes of UTF-8) as a single-quoted CEL string literal:
 * quotes and backslashes escaped, C0 controls, DEL and C1 controls
 * (U+0080-U+009F) written as \u escapes, so the text is one printable line.
 * Returns 0, or -1 when out stays unchanged because it is full. */
int hw_cel_string(struct hw_buf *out, const char *s, size_t len);

/* Appends ['a', 'b'] for a JSON array of strings (borrowed); [] when empty. */
int hw_cel_string_list(struct hw_buf *out, const json_t *strings);

/*
 * Appends an expression that is the string expression x with every
 * character Go's unicode.IsControl calls a control (C0, DEL, C1) replaced
 * by '?', as hookwarden's warnings print object values (text.c,
 * hw_text_printable). Its cost grows with x: cut x first.
 */
int hw_cel_printable(struct hw_buf *out, const char *x);

/*
 * Appends an expression for the string expression x (evaluated more than
 * once: pass a variable) cut to at
 * most max bytes of UTF-8 on a character boundary when it is longer than
 * limit bytes, followed by ellipsis (may be "") after a cut. limit >= max.
 */
int hw_cel_cut(struct hw_buf *out, const char *x, unsigned limit, unsigned max, const char *ellipsis);

/*
 * Appends an expression that is true when the value x (any JSON value from
 * the object) is a string containing one of the needles, or a list or map
 * holding such a string at most depth levels down. Strings are read up to
 * their first NUL, as C's strstr() reads them.
 */
int hw_cel_deep_contains(struct hw_buf *out, const char *x, const char *const *needles,
                         size_t n_needles, unsigned depth);

#endif

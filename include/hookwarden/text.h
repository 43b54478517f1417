/* SPDX-License-Identifier: Apache-2.0 */
/*
 * text: UTF-8 helpers for text that leaves hookwarden in a bounded field
 * (warnings, log fields, messages quoting object values). Cuts fall on
 * character boundaries, and what kube-apiserver would refuse in a warning
 * (control characters, invalid UTF-8) is replaced. Pure functions, no
 * allocation.
 */
#ifndef HOOKWARDEN_TEXT_H
#define HOOKWARDEN_TEXT_H

#include <stddef.h>

/* Length of the valid UTF-8 character at s (n > 0 bytes left): 1 to 4, or 0
 * when the bytes there are not one (overlongs and surrogates included). */
size_t hw_text_utf8_char(const char *s, size_t n);

/* The length of the longest prefix of s (len bytes) that is at most max
 * bytes and does not end inside a valid UTF-8 character. */
size_t hw_text_cut(const char *s, size_t len, size_t max);

/*
 * Copies s (len bytes, any content, NULs included) into dst as printable
 * UTF-8: C0 and C1 control characters, DEL and bytes that are not valid
 * UTF-8 become '?'. At most max bytes are written (cut on a character;
 * max < dstsz), then a NUL. Returns 1 when s was cut, else 0.
 */
int hw_text_printable(char *dst, size_t dstsz, const char *s, size_t len, size_t max);

#endif

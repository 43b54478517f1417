/* SPDX-License-Identifier: Apache-2.0 */
/*
 * buf: a growable byte buffer with a hard maximum. Every buffer that grows
 * from untrusted input has one; appending past it fails instead of growing.
 * The data is always NUL-terminated for convenience (not counted in len).
 */
#ifndef HOOKWARDEN_BUF_H
#define HOOKWARDEN_BUF_H

#include <stddef.h>

struct hw_buf {
    char *data;  /* owned; NULL until the first append */
    size_t len;
    size_t cap;
    size_t max;  /* 0 means no limit (only for trusted, bounded content) */
    int fixed;   /* data is the caller's storage (hw_buf_init_fixed): never grown or freed */
};

/* Initialises b with limit max (0 = unlimited). Allocates nothing. */
void hw_buf_init(struct hw_buf *b, size_t max);

/* Initialises b over the caller's storage (size bytes, borrowed while b is
 * used): appends past size - 1 bytes fail instead of allocating, and
 * hw_buf_free only empties b. For hot paths that must not allocate. */
void hw_buf_init_fixed(struct hw_buf *b, char *storage, size_t size);

/* Makes room for extra more bytes now (within the limit), so that
 * appending them never reallocates. 0, or -1 past the limit or out of memory. */
int hw_buf_reserve(struct hw_buf *b, size_t extra);

/* Appends; 0 on success, -1 when the limit would be passed or memory is out. */
int hw_buf_append(struct hw_buf *b, const void *data, size_t len);
int hw_buf_append_str(struct hw_buf *b, const char *s);
int hw_buf_printf(struct hw_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Appends v in decimal, without printf. */
int hw_buf_append_int(struct hw_buf *b, long long v);

/* Appends s (len bytes, any content) as a quoted JSON string. */
int hw_buf_append_json_string(struct hw_buf *b, const char *s, size_t len);

/* Appends the padded standard base64 of data. */
int hw_buf_append_base64(struct hw_buf *b, const unsigned char *data, size_t len);

/* Hands the data to the caller (free() it); b is left empty. Never NULL on
 * success: an empty buffer yields an allocated "". NULL when out of memory,
 * and for a fixed buffer (its data is not the caller's to free). */
char *hw_buf_steal(struct hw_buf *b, size_t *len);

/* Frees the data and empties b. Accepts NULL. */
void hw_buf_free(struct hw_buf *b);

#endif

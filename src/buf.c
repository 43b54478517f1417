/* SPDX-License-Identifier: Apache-2.0 */
/*
 * buf: bounded growable byte buffer. Growth doubles; the limit is checked
 * before any allocation so an oversized request never allocates its size.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hookwarden/buf.h"
#include "hookwarden/text.h"

void
hw_buf_init(struct hw_buf *b, size_t max)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max;
    b->fixed = 0;
}

void
hw_buf_init_fixed(struct hw_buf *b, char *storage, size_t size)
{
    b->data = storage;
    b->len = 0;
    b->cap = size;
    b->max = size > 0 ? size - 1 : 0;
    b->fixed = 1;
    if (size > 0)
        storage[0] = '\0';
}

static int
buf_reserve(struct hw_buf *b, size_t extra)
{
    size_t need, cap;
    char *p;

    if (extra > (size_t)-1 - b->len - 1)
        return -1;
    need = b->len + extra + 1;
    if (b->max != 0 && b->len + extra > b->max)
        return -1;
    if (need <= b->cap)
        return 0;
    if (b->fixed)
        return -1;  /* the caller's storage: never grown */
    cap = b->cap ? b->cap : 256;
    while (cap < need)
        cap = cap > (size_t)-1 / 2 ? need : cap * 2;
    p = realloc(b->data, cap);
    if (p == NULL)
        return -1;
    b->data = p;
    b->cap = cap;
    return 0;
}

int
hw_buf_reserve(struct hw_buf *b, size_t extra)
{
    return buf_reserve(b, extra);
}

int
hw_buf_append(struct hw_buf *b, const void *data, size_t len)
{
    if (buf_reserve(b, len) != 0)
        return -1;
    if (len > 0)
        memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
    return 0;
}

int
hw_buf_append_str(struct hw_buf *b, const char *s)
{
    return hw_buf_append(b, s, strlen(s));
}

int
hw_buf_printf(struct hw_buf *b, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || buf_reserve(b, (size_t)n) != 0)
        return -1;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}

int
hw_buf_append_int(struct hw_buf *b, long long v)
{
    char digits[24], *p = digits + sizeof(digits);
    unsigned long long u = v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v;

    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u > 0);
    if (v < 0)
        *--p = '-';
    return hw_buf_append(b, p, (size_t)(digits + sizeof(digits) - p));
}

char *
hw_buf_steal(struct hw_buf *b, size_t *len)
{
    char *p;

    if (b->fixed)
        return NULL;
    if (b->data == NULL) {
        if (buf_reserve(b, 0) != 0)
            return NULL;
        b->data[0] = '\0';
    }
    p = b->data;
    if (len != NULL)
        *len = b->len;
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    return p;
}

void
hw_buf_free(struct hw_buf *b)
{
    if (b == NULL)
        return;
    if (b->fixed) {
        b->len = 0;
        return;
    }
    free(b->data);
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

/* How many bytes at s (len) need no escaping: printable ASCII but the
 * quote and the backslash; eight at a time (a byte's high bit flags it). */
static size_t
plain_run(const unsigned char *s, size_t len)
{
    const uint64_t ones = 0x0101010101010101ull, high = 0x8080808080808080ull;
    size_t i = 0;

    for (; len - i >= 8; i += 8) {
        uint64_t w, q, b;

        memcpy(&w, s + i, 8);
        q = w ^ (ones * '"');
        b = w ^ (ones * '\\');
        if ((((q - ones) & ~q) | ((b - ones) & ~b) | ((w - ones * 0x20) & ~w) | w) & high)
            break;
    }
    while (i < len && s[i] >= 0x20 && s[i] < 0x80 && s[i] != '"' && s[i] != '\\')
        i++;
    return i;
}

int
hw_buf_append_json_string(struct hw_buf *out, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *u = (const unsigned char *)s;
    size_t start = 0, plain = plain_run(u, len);

    /* The common case: nothing to escape, one copy. */
    if (plain == len) {
        if (buf_reserve(out, len + 2) != 0)
            return -1;
        out->data[out->len] = '"';
        memcpy(out->data + out->len + 1, s, len);
        out->data[out->len + 1 + len] = '"';
        out->len += len + 2;
        out->data[out->len] = '\0';
        return 0;
    }
    if (hw_buf_append(out, "\"", 1) != 0)
        return -1;
    for (size_t i = plain; i < len; i++) {
        unsigned char c = u[i];
        char esc[6];
        size_t n = 2;

        if (c >= 0x80) {
            /* Text cut to a field's size, or sent that way, may not be UTF-8:
             * JSON must be, so a broken sequence becomes U+FFFD. */
            size_t k = hw_text_utf8_char(s + i, len - i);

            if (k > 0) {
                i += k - 1;
                continue;
            }
            if (hw_buf_append(out, s + start, i - start) != 0 || hw_buf_append(out, "\\ufffd", 6) != 0)
                return -1;
            start = i + 1;
            continue;
        }
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        esc[0] = '\\';
        switch (c) {
        case '"': esc[1] = '"'; break;
        case '\\': esc[1] = '\\'; break;
        case '\n': esc[1] = 'n'; break;
        case '\r': esc[1] = 'r'; break;
        case '\t': esc[1] = 't'; break;
        default:
            esc[1] = 'u';
            esc[2] = '0';
            esc[3] = '0';
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 15];
            n = 6;
        }
        if (hw_buf_append(out, s + start, i - start) != 0 || hw_buf_append(out, esc, n) != 0)
            return -1;
        start = i + 1;
    }
    if (hw_buf_append(out, s + start, len - start) != 0)
        return -1;
    return hw_buf_append(out, "\"", 1);
}

int
hw_buf_append_base64(struct hw_buf *out, const unsigned char *data, size_t len)
{
    static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t n = (len + 2) / 3 * 4;
    char *q;

    if (len > ((size_t)-1 - 2) / 4 || buf_reserve(out, n) != 0)
        return -1;
    q = out->data + out->len;
    /* Whole groups of three bytes, then the last one or two with padding. */
    for (; len >= 3; len -= 3, data += 3, q += 4) {
        unsigned v = (unsigned)data[0] << 16 | (unsigned)data[1] << 8 | data[2];

        q[0] = tbl[v >> 18];
        q[1] = tbl[(v >> 12) & 63];
        q[2] = tbl[(v >> 6) & 63];
        q[3] = tbl[v & 63];
    }
    if (len > 0) {
        unsigned v = (unsigned)data[0] << 16 | (len == 2 ? (unsigned)data[1] << 8 : 0);

        q[0] = tbl[v >> 18];
        q[1] = tbl[(v >> 12) & 63];
        q[2] = len == 2 ? tbl[(v >> 6) & 63] : '=';
        q[3] = '=';
    }
    out->len += n;
    out->data[out->len] = '\0';
    return 0;
}

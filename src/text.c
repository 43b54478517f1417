/* SPDX-License-Identifier: Apache-2.0 */
/*
 * text: UTF-8 validation, cutting and printable copies. The rules are Go's
 * utf8.ValidString and unicode.IsControl, which kube-apiserver applies to
 * warnings (a warning that breaks them is dropped without a word). It does
 * not escape for JSON: buf.c does that.
 */
#include "hookwarden/text.h"

size_t
hw_text_utf8_char(const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t len;
    unsigned v;

    if (u[0] < 0x80)
        return 1;
    if (u[0] < 0xC2 || u[0] > 0xF4)
        return 0;
    len = u[0] >= 0xF0 ? 4 : u[0] >= 0xE0 ? 3 : 2;
    if (len > n)
        return 0;
    v = u[0] & (len == 4 ? 0x07 : len == 3 ? 0x0F : 0x1F);
    for (size_t i = 1; i < len; i++) {
        if ((u[i] & 0xC0) != 0x80)
            return 0;
        v = v << 6 | (u[i] & 0x3F);
    }
    if ((len == 3 && v < 0x800) || (len == 4 && v < 0x10000) || (v >= 0xD800 && v <= 0xDFFF) ||
        v > 0x10FFFF)
        return 0;
    return len;
}

size_t
hw_text_cut(const char *s, size_t len, size_t max)
{
    size_t i = 0;

    if (len <= max)
        return len;
    while (i < max) {
        size_t k = hw_text_utf8_char(s + i, len - i);

        if (k == 0)
            k = 1;  /* not UTF-8: a byte is a byte */
        if (i + k > max)
            break;
        i += k;
    }
    return i;
}

/* A control character for Go's unicode.IsControl: C0, DEL, C1 (U+0080-U+009F). */
static int
is_control(const unsigned char *u, size_t k)
{
    return (k == 1 && (u[0] < 0x20 || u[0] == 0x7F)) || (k == 2 && u[0] == 0xC2 && u[1] < 0xA0);
}

int
hw_text_printable(char *dst, size_t dstsz, const char *s, size_t len, size_t max)
{
    size_t i = 0, o = 0;

    if (max >= dstsz)
        max = dstsz - 1;
    while (i < len) {
        size_t k = hw_text_utf8_char(s + i, len - i);
        size_t out = k == 0 || is_control((const unsigned char *)s + i, k) ? 1 : k;

        if (o + out > max)
            break;
        if (out == 1 && (k != 1 || is_control((const unsigned char *)s + i, k)))
            dst[o] = '?';
        else
            for (size_t j = 0; j < out; j++)
                dst[o + j] = s[i + j];
        o += out;
        i += k == 0 ? 1 : k;
    }
    dst[o] = '\0';
    return i < len;
}

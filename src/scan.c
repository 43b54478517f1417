/* SPDX-License-Identifier: Apache-2.0 */
/*
 * scan: validation and navigation over raw JSON bytes, for the request
 * path's fast decode. Validation mirrors jansson 2.14's lexer: the same
 * grammar, the same UTF-8 rules (no overlongs, no surrogates, nothing past
 * U+10FFFF), no raw control characters in strings, \u0000 allowed. It is
 * deliberately stricter where matching jansson exactly would cost: any
 * surrogate escape, integers of 19 digits or more, reals whose magnitude
 * could overflow a double, and nesting past 1024 make it decline. Declining
 * is always safe: the caller then lets jansson parse everything.
 */
#include <string.h>

#include "hookwarden/scan.h"

#define SCAN_MAX_DEPTH 1024

struct scanner {
    const unsigned char *p, *end;
    int depth;
};

static void
skip_ws(struct scanner *s)
{
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\n' || *s->p == '\r' || *s->p == '\t'))
        s->p++;
}

static int
hexval(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
        return (c | 0x20) - 'a' + 10;
    return -1;
}

/* One UTF-8 sequence starting at s->p (a byte >= 0x80), as jansson checks it. */
static int
utf8_seq(struct scanner *s)
{
    const unsigned char *p = s->p;
    unsigned c = p[0], n, v;

    if (c >= 0xC2 && c <= 0xDF)
        n = 2, v = c & 0x1F;
    else if (c >= 0xE0 && c <= 0xEF)
        n = 3, v = c & 0x0F;
    else if (c >= 0xF0 && c <= 0xF4)
        n = 4, v = c & 0x07;
    else
        return -1;
    if ((size_t)(s->end - p) < n)
        return -1;
    for (unsigned i = 1; i < n; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return -1;
        v = (v << 6) | (p[i] & 0x3F);
    }
    /* overlong, surrogate or out of range */
    if ((n == 3 && v < 0x800) || (n == 4 && v < 0x10000) || (v >= 0xD800 && v <= 0xDFFF) ||
        v > 0x10FFFF)
        return -1;
    s->p += n;
    return 0;
}

static int
scan_string(struct scanner *s)
{
    s->p++;  /* opening quote */
    for (;;) {
        unsigned char c;

        /* The common case: printable ASCII. */
        while (s->p < s->end && (c = *s->p) >= 0x20 && c < 0x80 && c != '"' && c != '\\')
            s->p++;
        if (s->p >= s->end)
            return -1;
        c = *s->p;
        if (c == '"') {
            s->p++;
            return 0;
        }
        if (c < 0x20)
            return -1;  /* raw control characters are invalid */
        if (c >= 0x80) {
            if (utf8_seq(s) != 0)
                return -1;
            continue;
        }
        /* backslash */
        if (s->end - s->p < 2)
            return -1;
        c = s->p[1];
        if (c == 'u') {
            int v = 0;

            if (s->end - s->p < 6)
                return -1;
            for (int i = 2; i < 6; i++) {
                int h = hexval(s->p[i]);

                if (h < 0)
                    return -1;
                v = v << 4 | h;
            }
            if (v >= 0xD800 && v <= 0xDFFF)
                return -1;  /* surrogates: let jansson judge the pair */
            s->p += 6;
        } else if (strchr("\"\\/bfnrt", c) != NULL && c != '\0') {
            s->p += 2;
        } else {
            return -1;
        }
    }
}

static int
scan_digits(struct scanner *s, size_t *count)
{
    const unsigned char *start = s->p;

    while (s->p < s->end && *s->p >= '0' && *s->p <= '9')
        s->p++;
    *count = (size_t)(s->p - start);
    return *count > 0 ? 0 : -1;
}

static int
scan_number(struct scanner *s)
{
    size_t intd, fracd = 0, expd = 0;
    int real = 0;
    long exp = 0;

    if (*s->p == '-')
        s->p++;
    if (s->p >= s->end)
        return -1;
    if (*s->p == '0') {
        s->p++;
        intd = 1;
        if (s->p < s->end && *s->p >= '0' && *s->p <= '9')
            return -1;  /* leading zero */
    } else if (scan_digits(s, &intd) != 0) {
        return -1;
    }
    if (s->p < s->end && *s->p == '.') {
        s->p++;
        if (scan_digits(s, &fracd) != 0)
            return -1;
        real = 1;
    }
    if (s->p < s->end && (*s->p == 'e' || *s->p == 'E')) {
        int neg = 0;
        const unsigned char *e;

        s->p++;
        if (s->p < s->end && (*s->p == '+' || *s->p == '-'))
            neg = *s->p++ == '-';
        e = s->p;
        if (scan_digits(s, &expd) != 0 || expd > 4)
            return -1;  /* five exponent digits: not worth being sure */
        for (; e < s->p; e++)
            exp = exp * 10 + (*e - '0');
        if (neg)
            exp = -exp;
        real = 1;
    }
    if (!real)
        return intd <= 18 ? 0 : -1;  /* 19 digits may overflow long long */
    /* A magnitude of at most 10^300 cannot overflow a double. */
    return (long)intd + exp <= 300 && fracd + intd < 4096 ? 0 : -1;
}

static int scan_value(struct scanner *s);

static int
scan_container(struct scanner *s, unsigned char close)
{
    if (++s->depth > SCAN_MAX_DEPTH)
        return -1;
    s->p++;
    skip_ws(s);
    if (s->p < s->end && *s->p == close) {
        s->p++;
        s->depth--;
        return 0;
    }
    for (;;) {
        if (close == '}') {
            if (s->p >= s->end || *s->p != '"' || scan_string(s) != 0)
                return -1;
            skip_ws(s);
            if (s->p >= s->end || *s->p != ':')
                return -1;
            s->p++;
        }
        if (scan_value(s) != 0)
            return -1;
        skip_ws(s);
        if (s->p >= s->end)
            return -1;
        if (*s->p == ',') {
            s->p++;
            skip_ws(s);
            continue;
        }
        if (*s->p != close)
            return -1;
        s->p++;
        s->depth--;
        return 0;
    }
}

static int
literal(struct scanner *s, const char *word, size_t n)
{
    if ((size_t)(s->end - s->p) < n || memcmp(s->p, word, n) != 0)
        return -1;
    s->p += n;
    return 0;
}

static int
scan_value(struct scanner *s)
{
    skip_ws(s);
    if (s->p >= s->end)
        return -1;
    switch (*s->p) {
    case '{': return scan_container(s, '}');
    case '[': return scan_container(s, ']');
    case '"': return scan_string(s);
    case 't': return literal(s, "true", 4);
    case 'f': return literal(s, "false", 5);
    case 'n': return literal(s, "null", 4);
    default:
        if (*s->p == '-' || (*s->p >= '0' && *s->p <= '9'))
            return scan_number(s);
        return -1;
    }
}

int
hw_scan_validate(const char *text, size_t len)
{
    struct scanner s = {(const unsigned char *)text, (const unsigned char *)text + len, 0};

    if (scan_value(&s) != 0)
        return -1;
    skip_ws(&s);
    return s.p == s.end ? 0 : -1;
}

/* ---- navigation over validated text: no checks, only structure ---- */

static const char *
skip_string(const char *p, const char *end)
{
    for (p++; p < end; p++) {
        const char *q = memchr(p, '"', (size_t)(end - p));
        const char *b;

        if (q == NULL)
            return end;
        /* Count the backslashes before the quote: odd means escaped. */
        b = q;
        while (b > p && b[-1] == '\\')
            b--;
        if (((q - b) & 1) == 0)
            return q + 1;
        p = q;
    }
    return end;
}

/* Bytes that end a number or literal in validated text. */
static const unsigned char scalar_end[256] = {
    [','] = 1, [']'] = 1, ['}'] = 1, [' '] = 1, ['\n'] = 1, ['\r'] = 1, ['\t'] = 1, [':'] = 1,
};

static const char *
skip_value(const char *p, const char *end)
{
    int depth = 0;

    do {
        while (p < end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t' || *p == ',' ||
                           *p == ':'))
            p++;
        if (p >= end)
            return end;
        switch (*p) {
        case '"':
            p = skip_string(p, end);
            break;
        case '{':
        case '[':
            depth++;
            p++;
            break;
        case '}':
        case ']':
            depth--;
            p++;
            break;
        default:
            while (p < end && !scalar_end[(unsigned char)*p])
                p++;
        }
        /* Inside a container, keep going until it closes. */
    } while (depth > 0);
    return p;
}

static const char *
ws(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t'))
        p++;
    return p;
}

int
hw_scan_object_begin(struct hw_scan_range value, struct hw_scan_iter *it)
{
    if (value.len == 0 || value.p[0] != '{')
        return -1;
    it->p = value.p + 1;
    it->end = value.p + value.len;
    return 0;
}

int
hw_scan_object_next(struct hw_scan_iter *it, struct hw_scan_range *key, int *escaped,
                    struct hw_scan_range *value)
{
    const char *p = ws(it->p, it->end), *k, *v;

    if (p < it->end && *p == ',')
        p = ws(p + 1, it->end);
    if (p >= it->end || *p != '"')
        return 0;
    k = p + 1;
    p = skip_string(p, it->end);
    key->p = k;
    key->len = (size_t)(p - 1 - k);
    *escaped = memchr(k, '\\', key->len) != NULL;
    p = ws(p, it->end);
    p = ws(p + 1, it->end);  /* the colon */
    v = p;
    p = skip_value(p, it->end);
    value->p = v;
    value->len = (size_t)(p - v);
    it->p = p;
    return 1;
}

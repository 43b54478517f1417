/* SPDX-License-Identifier: Apache-2.0 */
/*
 * scan: validation of raw JSON bytes, recording where the requested fields
 * are, for the request path's fast decode. Validation mirrors jansson 2.14's lexer: the same
 * grammar, the same UTF-8 rules (no overlongs, no surrogates, nothing past
 * U+10FFFF), no raw control characters in strings, \u0000 allowed. It is
 * deliberately stricter where matching jansson exactly would cost: any
 * surrogate escape, integers of 19 digits or more, reals whose magnitude
 * could overflow a double, and nesting past 1024 make it decline. Declining
 * is always safe: the caller then lets jansson parse everything.
 */
#include <stdint.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "hookwarden/scan.h"

#define SCAN_MAX_DEPTH 1024

struct scanner {
    const unsigned char *p, *end;
    int depth;
    const struct hw_scan_field *fields;  /* NULL when nothing is tracked */
    size_t n;
    struct hw_scan_range *out;
};

/* Whitespace: none at all between tokens of what kube-apiserver sends,
 * so the first test is the one that usually answers. */
static inline __attribute__((always_inline)) void
skip_ws(struct scanner *s)
{
    while (s->p < s->end && *s->p <= ' ' &&
           (*s->p == ' ' || *s->p == '\n' || *s->p == '\r' || *s->p == '\t'))
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

/* 1 for bytes that stand for themselves in a string: printable ASCII
 * other than the quote and the backslash. */
static const unsigned char plain[256] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
};

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
/* The high bit of each byte of w that is not plain (see above): a quote, a
 * backslash, a control character or a byte >= 0x80. Borrows can flag more
 * bytes, but only after the first truly flagged one, which is the lowest:
 * the first in memory on a little-endian machine. */
static uint64_t
special_bytes(uint64_t w)
{
    const uint64_t ones = 0x0101010101010101ull, high = 0x8080808080808080ull;
    uint64_t q = w ^ (ones * '"'), b = w ^ (ones * '\\');

    return (((q - ones) & ~q) | ((b - ones) & ~b) | ((w - ones * 0x20) & ~w) | w) & high;
}

/* Skips the plain bytes at s->p, sixteen at a time with SSE2 (every x86-64
 * has it), then eight at a time. */
static inline __attribute__((always_inline)) void
skip_plain(struct scanner *s)
{
#ifdef __SSE2__
    const __m128i quote = _mm_set1_epi8('"'), backslash = _mm_set1_epi8('\\');
    const __m128i space = _mm_set1_epi8(0x20);

    while (s->end - s->p >= 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)s->p);
        /* As signed bytes, below 0x20 is a control character or >= 0x80. */
        int m = _mm_movemask_epi8(_mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote),
                                                            _mm_cmpeq_epi8(v, backslash)),
                                               _mm_cmplt_epi8(v, space)));

        if (m != 0) {
            s->p += __builtin_ctz((unsigned)m);
            return;
        }
        s->p += 16;
    }
#endif
    while (s->end - s->p >= 8) {
        uint64_t w, m;

        memcpy(&w, s->p, 8);
        m = special_bytes(w);
        if (m != 0) {
            s->p += __builtin_ctzll(m) >> 3;
            return;
        }
        s->p += 8;
    }
    while (s->p < s->end && plain[*s->p])
        s->p++;
}
#else
static inline void
skip_plain(struct scanner *s)
{
    while (s->p < s->end && plain[*s->p])
        s->p++;
}
#endif

/* A string from its opening quote; *escaped tells whether it held a
 * backslash escape. */
static inline __attribute__((always_inline)) int
scan_string(struct scanner *s, int *escaped)
{
    *escaped = 0;
    s->p++;  /* opening quote */
    for (;;) {
        unsigned char c;

        skip_plain(s);
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
        *escaped = 1;
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

static int scan_value(struct scanner *s, int track);

/* The field named by the key just scanned (quotes at k-1 and s->p-1) in
 * the object tracked as parent; -1 when none. */
static int
field_of(const struct scanner *s, int parent, const unsigned char *k, size_t klen)
{
    int i = parent < 0 ? 0 : s->fields[parent].child;

    for (; i >= 0; i = s->fields[i].sibling) {
        const char *name = s->fields[i].name;

        /* Raw key bytes hold no NUL, so strncmp stops inside both. */
        if (name[0] == (char)k[0] && strncmp(name, (const char *)k, klen) == 0 && name[klen] == '\0')
            return i;
    }
    return -1;
}

/*
 * Keys with escapes are common (managedFields' "k:{\"name\":\"x\"}"), but
 * jansson refuses \u0000 in a key, and where fields are tracked an escaped
 * key might spell one of them: decline those two cases.
 */
static int
key_escapes(const unsigned char *k, size_t len, int tracked)
{
    for (size_t i = 0; i < len; i++) {
        if (k[i] != '\\')
            continue;
        if (tracked)
            return -1;
        if (i + 5 < len && k[i + 1] == 'u' && memcmp(k + i + 2, "0000", 4) == 0)
            return -1;
        i += k[i + 1] == 'u' ? 5 : 1;
    }
    return 0;
}

/* A repeated key: forget everything found below field f. */
static void
forget_below(struct scanner *s, int f)
{
    for (size_t i = (size_t)f + 1; i < s->n; i++) {
        int p = s->fields[i].parent;

        while (p > f)
            p = s->fields[p].parent;
        if (p == f)
            s->out[i].len = 0;
    }
}

/* track: the field whose object this is (-1 the top level), or -3 none. */
static int
scan_container(struct scanner *s, unsigned char close, int track)
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
        int f = -3;

        if (close == '}') {
            const unsigned char *k = s->p + 1;
            int escaped;

            if (s->p >= s->end || *s->p != '"' || scan_string(s, &escaped) != 0)
                return -1;
            if (escaped && key_escapes(k, (size_t)(s->p - 1 - k), track != -3) != 0)
                return -1;
            if (track != -3) {
                f = field_of(s, track, k, (size_t)(s->p - 1 - k));
                /* Only a repeated key can have found anything below it. */
                if (f >= 0 && s->out[f].len != 0)
                    forget_below(s, f);
            }
            skip_ws(s);
            if (s->p >= s->end || *s->p != ':')
                return -1;
            s->p++;
            skip_ws(s);
        }
        {
            const unsigned char *v = s->p;
            int escaped;

            /* Most values are strings: no detour through scan_value. */
            if (v < s->end && *v == '"' ? scan_string(s, &escaped) != 0
                                        : scan_value(s, f >= 0 ? f : -3) != 0)
                return -1;
            if (f >= 0) {
                s->out[f].p = (const char *)v;
                s->out[f].len = (size_t)(s->p - v);
            }
        }
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
scan_value(struct scanner *s, int track)
{
    skip_ws(s);
    if (s->p >= s->end)
        return -1;
    switch (*s->p) {
    case '{': return scan_container(s, '}', track);
    case '[': return scan_container(s, ']', -3);
    case '"': {
        int escaped;

        return scan_string(s, &escaped);
    }
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
hw_scan_link(struct hw_scan_field *fields, size_t n)
{
    int last_root = -1;

    if (n > 0 && fields[0].parent != -1)
        return -1;
    for (size_t i = 0; i < n; i++)
        fields[i].child = fields[i].sibling = -1;
    /* Backwards, so that each list keeps the table's order. */
    for (size_t i = n; i-- > 0;) {
        int p = fields[i].parent;

        if (p >= (int)i || p < -1)
            return -1;
        if (p == -1) {
            fields[i].sibling = last_root;
            last_root = (int)i;
        } else {
            fields[i].sibling = fields[p].child;
            fields[p].child = (int)i;
        }
    }
    return 0;
}

int
hw_scan_validate(const char *text, size_t len)
{
    return hw_scan_extract(text, len, NULL, 0, NULL);
}

int
hw_scan_extract(const char *text, size_t len, const struct hw_scan_field *fields, size_t n,
                struct hw_scan_range *out)
{
    struct scanner s = {(const unsigned char *)text, (const unsigned char *)text + len, 0,
                        fields, n, out};

    for (size_t i = 0; i < n; i++)
        out[i].len = 0;
    if (scan_value(&s, fields != NULL ? -1 : -3) != 0)
        return -1;
    skip_ws(&s);
    return s.p == s.end ? 0 : -1;
}

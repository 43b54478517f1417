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
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "hookwarden/scan.h"

#define SCAN_MAX_DEPTH 1024

/*
 * The position is passed and returned rather than kept in the scanner: a
 * pointer that lives in a register, not in memory that every call can
 * reach, saves a load and a store on almost every byte test. Each
 * function returns where it stopped, or NULL when the text is refused.
 */
struct scanner {
    const unsigned char *end;
    int depth;
    const struct hw_scan_field *fields;  /* NULL when nothing is tracked */
    size_t n;
    struct hw_scan_range *out;
};

/* Whitespace: none at all between tokens of what kube-apiserver sends,
 * so the first test is the one that usually answers. */
static inline __attribute__((always_inline)) const unsigned char *
skip_ws(const unsigned char *p, const unsigned char *end)
{
    while (p < end && *p <= ' ' && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t'))
        p++;
    return p;
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

/* One UTF-8 sequence starting at p (a byte >= 0x80), as jansson checks it. */
static const unsigned char *
utf8_seq(const unsigned char *p, const unsigned char *end)
{
    unsigned c = p[0], n, v;

    if (c >= 0xC2 && c <= 0xDF)
        n = 2, v = c & 0x1F;
    else if (c >= 0xE0 && c <= 0xEF)
        n = 3, v = c & 0x0F;
    else if (c >= 0xF0 && c <= 0xF4)
        n = 4, v = c & 0x07;
    else
        return NULL;
    if ((size_t)(end - p) < n)
        return NULL;
    for (unsigned i = 1; i < n; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return NULL;
        v = (v << 6) | (p[i] & 0x3F);
    }
    /* overlong, surrogate or out of range */
    if ((n == 3 && v < 0x800) || (n == 4 && v < 0x10000) || (v >= 0xD800 && v <= 0xDFFF) ||
        v > 0x10FFFF)
        return NULL;
    return p + n;
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

#ifdef __SSE2__

/* Skips the plain bytes at p: sixteen at a time (every x86-64 has SSE2),
 * the last few of the text one by one. */
static inline __attribute__((always_inline)) const unsigned char *
skip_plain(const unsigned char *p, const unsigned char *end)
{
    const __m128i quote = _mm_set1_epi8('"'), backslash = _mm_set1_epi8('\\');
    const __m128i space = _mm_set1_epi8(0x20);

    while (end - p >= 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
        /* As signed bytes, below 0x20 is a control character or >= 0x80. */
        int m = _mm_movemask_epi8(_mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote),
                                                            _mm_cmpeq_epi8(v, backslash)),
                                               _mm_cmplt_epi8(v, space)));

        if (m != 0)
            return p + __builtin_ctz((unsigned)m);
        p += 16;
    }
    while (p < end && plain[*p])
        p++;
    return p;
}

#elif defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__

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

/* Skips the plain bytes at p, eight at a time. */
static inline const unsigned char *
skip_plain(const unsigned char *p, const unsigned char *end)
{
    while (end - p >= 8) {
        uint64_t w, m;

        memcpy(&w, p, 8);
        m = special_bytes(w);
        if (m != 0)
            return p + (__builtin_ctzll(m) >> 3);
        p += 8;
    }
    while (p < end && plain[*p])
        p++;
    return p;
}

#else

static inline const unsigned char *
skip_plain(const unsigned char *p, const unsigned char *end)
{
    while (p < end && plain[*p])
        p++;
    return p;
}

#endif

/* An escape from its backslash; the caller saw two bytes left. */
static const unsigned char *
escape(const unsigned char *p, const unsigned char *end)
{
    unsigned char c = p[1];
    int v = 0;

    if (c != 'u')
        return c != '\0' && strchr("\"\\/bfnrt", c) != NULL ? p + 2 : NULL;
    if (end - p < 6)
        return NULL;
    for (int i = 2; i < 6; i++) {
        int h = hexval(p[i]);

        if (h < 0)
            return NULL;
        v = v << 4 | h;
    }
    /* Surrogates: let jansson judge the pair. */
    return v >= 0xD800 && v <= 0xDFFF ? NULL : p + 6;
}

/* A string from its opening quote; *escaped tells whether it held a
 * backslash escape. */
static inline __attribute__((always_inline)) const unsigned char *
scan_string(const unsigned char *p, const unsigned char *end, int *escaped)
{
    *escaped = 0;
    p++;  /* opening quote */
    for (;;) {
        unsigned char c;

        p = skip_plain(p, end);
        if (p >= end)
            return NULL;
        c = *p;
        if (c == '"')
            return p + 1;
        if (c < 0x20)
            return NULL;  /* raw control characters are invalid */
        if (c >= 0x80) {
            p = utf8_seq(p, end);
        } else if (end - p >= 2) {  /* a backslash */
            *escaped = 1;
            p = escape(p, end);
        } else {
            return NULL;
        }
        if (p == NULL)
            return NULL;
    }
}

static const unsigned char *
scan_digits(const unsigned char *p, const unsigned char *end, size_t *count)
{
    const unsigned char *start = p;

    while (p < end && *p >= '0' && *p <= '9')
        p++;
    *count = (size_t)(p - start);
    return *count > 0 ? p : NULL;
}

static const unsigned char *
scan_number(const unsigned char *p, const unsigned char *end)
{
    size_t intd, fracd = 0, expd = 0;
    int real = 0;
    long exp = 0;

    if (*p == '-')
        p++;
    if (p >= end)
        return NULL;
    if (*p == '0') {
        p++;
        intd = 1;
        if (p < end && *p >= '0' && *p <= '9')
            return NULL;  /* leading zero */
    } else if ((p = scan_digits(p, end, &intd)) == NULL) {
        return NULL;
    }
    if (p < end && *p == '.') {
        if ((p = scan_digits(p + 1, end, &fracd)) == NULL)
            return NULL;
        real = 1;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        int neg = 0;
        const unsigned char *e;

        p++;
        if (p < end && (*p == '+' || *p == '-'))
            neg = *p++ == '-';
        e = p;
        if ((p = scan_digits(p, end, &expd)) == NULL || expd > 4)
            return NULL;  /* five exponent digits: not worth being sure */
        for (; e < p; e++)
            exp = exp * 10 + (*e - '0');
        if (neg)
            exp = -exp;
        real = 1;
    }
    if (!real)
        return intd <= 18 ? p : NULL;  /* 19 digits may overflow long long */
    /* A magnitude of at most 10^300 cannot overflow a double. */
    return (long)intd + exp <= 300 && fracd + intd < 4096 ? p : NULL;
}

static const unsigned char *scan_value(struct scanner *s, const unsigned char *p, int track);

/* The field named by the key k (klen bytes, no escapes) in the object
 * tracked as parent; -1 when none. */
static int
field_of(const struct scanner *s, int parent, const unsigned char *k, size_t klen)
{
    int i = parent < 0 ? 0 : s->fields[parent].child;

    for (; i >= 0; i = s->fields[i].sibling) {
        if (s->fields[i].len == klen && memcmp(s->fields[i].name, k, klen) == 0)
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

/* What was found inside field f's twin, found delta bytes on inside f. */
static void
found_as_twin(struct scanner *s, int f, ptrdiff_t delta)
{
    for (int c = s->fields[f].child; c >= 0; c = s->fields[c].sibling) {
        const struct hw_scan_range *t = &s->out[s->fields[c].twin];

        s->out[c].p = t->len != 0 ? t->p + delta : NULL;
        s->out[c].len = t->len;
        found_as_twin(s, c, delta);
    }
}

/*
 * The container at p when its bytes repeat the value already found for
 * field f's twin: p past it, with what was found inside the twin found at
 * the same offsets inside it; NULL otherwise, and the caller scans it. The
 * twin's value was validated whole and a container ends where its own
 * bytes say, so the same bytes are the same valid value, at the same
 * depth.
 */
static const unsigned char *
repeat_of_twin(struct scanner *s, int f, const unsigned char *p)
{
    const struct hw_scan_range *t = &s->out[s->fields[f].twin];

    if (t->len == 0 || (size_t)(s->end - p) < t->len || (*p != '{' && *p != '[') ||
        memcmp(p, t->p, t->len) != 0)
        return NULL;
    found_as_twin(s, f, (const char *)p - t->p);
    return p + t->len;
}

/* p at the byte c, after any whitespace before it; NULL when another byte
 * comes. The compact case, c right there, is tested first. */
static inline __attribute__((always_inline)) const unsigned char *
at(const unsigned char *p, const unsigned char *end, unsigned char c)
{
    if (p < end && *p == c)
        return p;
    p = skip_ws(p, end);
    return p < end && *p == c ? p : NULL;
}

/* A value at p (no whitespace before it): strings, most values, without a call. */
static inline __attribute__((always_inline)) const unsigned char *
member(struct scanner *s, const unsigned char *p, int track)
{
    int escaped;

    if (p < s->end && *p == '"')
        return scan_string(p, s->end, &escaped);
    return scan_value(s, p, track);
}

/* After a member: p past its ',' (*more set) or past the close, or NULL. */
static inline __attribute__((always_inline)) const unsigned char *
after_member(const unsigned char *p, const unsigned char *end, unsigned char close, int *more)
{
    if (p >= end || *p != ',')
        p = skip_ws(p, end);
    if (p >= end)
        return NULL;
    *more = *p == ',';
    return *more || *p == close ? p + 1 : NULL;
}

/* Past a container's opening byte: p at its first member (*more set), or
 * past its close when it is empty; NULL when nested too deep. */
static inline __attribute__((always_inline)) const unsigned char *
open_container(struct scanner *s, const unsigned char *p, unsigned char close, int *more)
{
    if (++s->depth > SCAN_MAX_DEPTH)
        return NULL;
    p = skip_ws(p + 1, s->end);
    *more = p >= s->end || *p != close;
    return *more ? p : p + 1;
}

/* An object from its '{'. track: the field whose object this is (-1 the
 * top level), or -3 none. */
static const unsigned char *
scan_object(struct scanner *s, const unsigned char *p, int track)
{
    const unsigned char *end = s->end;
    int more;

    if ((p = open_container(s, p, '}', &more)) == NULL)
        return NULL;
    while (more) {
        const unsigned char *k, *v, *q;
        int escaped, f = -3;

        if ((p = at(p, end, '"')) == NULL)
            return NULL;
        k = p + 1;
        if ((p = scan_string(p, end, &escaped)) == NULL)
            return NULL;
        if (escaped && key_escapes(k, (size_t)(p - 1 - k), track != -3) != 0)
            return NULL;
        if (track != -3) {
            f = field_of(s, track, k, (size_t)(p - 1 - k));
            /* Only a repeated key can have found anything below it. */
            if (f >= 0 && s->out[f].len != 0)
                forget_below(s, f);
        }
        if ((p = at(p, end, ':')) == NULL)
            return NULL;
        v = p = skip_ws(p + 1, end);
        if (f >= 0 && s->fields[f].twin >= 0 && (q = repeat_of_twin(s, f, p)) != NULL)
            p = q;
        else if ((p = member(s, p, f >= 0 ? f : -3)) == NULL)
            return NULL;
        if (f >= 0) {
            s->out[f].p = (const char *)v;
            s->out[f].len = (size_t)(p - v);
        }
        if ((p = after_member(p, end, '}', &more)) == NULL)
            return NULL;
    }
    s->depth--;
    return p;
}

/* An array from its '['; nothing inside one is tracked. */
static const unsigned char *
scan_array(struct scanner *s, const unsigned char *p)
{
    const unsigned char *end = s->end;
    int more;

    if ((p = open_container(s, p, ']', &more)) == NULL)
        return NULL;
    while (more) {
        p = skip_ws(p, end);
        if ((p = member(s, p, -3)) == NULL || (p = after_member(p, end, ']', &more)) == NULL)
            return NULL;
    }
    s->depth--;
    return p;
}

static const unsigned char *
literal(const unsigned char *p, const unsigned char *end, const char *word, size_t n)
{
    if ((size_t)(end - p) < n || memcmp(p, word, n) != 0)
        return NULL;
    return p + n;
}

/* A value at p (no whitespace before it). */
static const unsigned char *
scan_value(struct scanner *s, const unsigned char *p, int track)
{
    const unsigned char *end = s->end;
    int escaped;

    if (p >= end)
        return NULL;
    switch (*p) {
    case '{': return scan_object(s, p, track);
    case '[': return scan_array(s, p);
    case '"': return scan_string(p, end, &escaped);
    case 't': return literal(p, end, "true", 4);
    case 'f': return literal(p, end, "false", 5);
    case 'n': return literal(p, end, "null", 4);
    default:
        if (*p == '-' || (*p >= '0' && *p <= '9'))
            return scan_number(p, end);
        return NULL;
    }
}

int
hw_scan_link(struct hw_scan_field *fields, size_t n)
{
    int last_root = -1;

    if (n > 0 && fields[0].parent != -1)
        return -1;
    for (size_t i = 0; i < n; i++) {
        fields[i].child = fields[i].sibling = fields[i].twin = -1;
        fields[i].len = strlen(fields[i].name);
    }
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

static int
depth_of(const struct hw_scan_field *fields, int f)
{
    int depth = 0;

    for (; f >= 0; f = fields[f].parent)
        depth++;
    return depth;
}

static int
twin_below(struct hw_scan_field *fields, int a, int b)
{
    int ca = fields[a].child, cb = fields[b].child;

    fields[a].twin = b;
    fields[b].twin = a;
    for (; ca >= 0 && cb >= 0; ca = fields[ca].sibling, cb = fields[cb].sibling) {
        if (fields[ca].len != fields[cb].len || strcmp(fields[ca].name, fields[cb].name) != 0 ||
            twin_below(fields, ca, cb) != 0)
            return -1;
    }
    return ca == cb ? 0 : -1;  /* both lists ended together */
}

int
hw_scan_twin(struct hw_scan_field *fields, size_t n, int a, int b)
{
    /* At the same depth, neither holds the other. */
    if (a < 0 || b < 0 || (size_t)a >= n || (size_t)b >= n || a == b ||
        depth_of(fields, a) != depth_of(fields, b))
        return -1;
    if (twin_below(fields, a, b) == 0)
        return 0;
    for (size_t i = 0; i < n; i++)
        fields[i].twin = -1;
    return -1;
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
    struct scanner s = {(const unsigned char *)text + len, 0, fields, n, out};
    const unsigned char *p;

    for (size_t i = 0; i < n; i++)
        out[i].len = 0;
    p = scan_value(&s, skip_ws((const unsigned char *)text, s.end), fields != NULL ? -1 : -3);
    return p != NULL && skip_ws(p, s.end) == s.end ? 0 : -1;
}

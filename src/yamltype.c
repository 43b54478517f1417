/* SPDX-License-Identifier: Apache-2.0 */
/*
 * yamltype: how go-yaml v2 (sigs.k8s.io/yaml, so Helm and kubectl) types a
 * plain scalar, after its resolve.go: null, YAML 1.1 booleans in their
 * three cases, integers in decimal, 0x, 0o, 0b and 0755 octal with _
 * separators, floats, and everything else a string; and the shortest text
 * of a real. The loader (yaml.c) applies it; the emitter (yamlemit.c) quotes
 * strings that it would read as something else.
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "yaml_impl.h"

static const char *const null_words[] = {"", "~", "null", "Null", "NULL"};
static const char *const true_words[] = {"y", "Y", "yes", "Yes", "YES", "on", "On",
                                         "ON", "true", "True", "TRUE"};
static const char *const false_words[] = {"n", "N", "no", "No", "NO", "off", "Off",
                                          "OFF", "false", "False", "FALSE"};
static const char *const nonfinite_words[] = {".nan", ".NaN", ".NAN", ".inf", ".Inf", ".INF",
                                              "+.inf", "+.Inf", "+.INF", "-.inf", "-.Inf", "-.INF"};

static int
in_words(const char *s, size_t len, const char *const *words, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (strlen(words[i]) == len && memcmp(words[i], s, len) == 0)
            return 1;
    }
    return 0;
}

#define IN_WORDS(s, len, w) in_words(s, len, w, sizeof(w) / sizeof(w[0]))

static int
digit_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return 99;
}

/*
 * Go's strconv.ParseInt(s, 0, 64), then ParseUint for an unsigned value
 * past int64 (returned as a real, the closest JSON can hold here).
 * Returns 1 when s is an integer.
 */
static int
parse_go_int(const char *s, struct scalar *out)
{
    unsigned long long v = 0, limit;
    int neg = 0, sign = 0, base = 10, any = 0;

    if (*s == '+' || *s == '-') {
        neg = *s++ == '-';
        sign = 1;
    }
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
        base = 16, s += 2;
    else if (s[0] == '0' && (s[1] == 'o' || s[1] == 'O'))
        base = 8, s += 2;
    else if (s[0] == '0' && (s[1] == 'b' || s[1] == 'B'))
        base = 2, s += 2;
    else if (s[0] == '0' && s[1] != '\0')
        base = 8, s += 1;
    for (; *s != '\0'; s++, any = 1) {
        int d = digit_value(*s);

        if (d >= base || v > (~0ull - (unsigned)d) / (unsigned)base)
            return 0;
        v = v * (unsigned)base + (unsigned)d;
    }
    if (!any)
        return 0;
    limit = neg ? (1ull << 63) : (1ull << 63) - 1;
    if (v <= limit) {
        out->kind = SK_INT;
        out->integer = neg ? (long long)(0 - v) : (long long)v;
        return 1;
    }
    if (sign)
        return 0;
    out->kind = SK_REAL;
    out->real = (double)v;
    return 1;
}

/* go-yaml v2's yamlStyleFloat: ^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$ */
static int
yaml_style_float(const char *s)
{
    size_t n = 0;

    if (*s == '+' || *s == '-')
        s++;
    if (*s == '.') {
        for (s++; *s >= '0' && *s <= '9'; s++)
            n++;
        if (n == 0)
            return 0;
    } else {
        for (; *s >= '0' && *s <= '9'; s++)
            n++;
        if (n == 0)
            return 0;
        if (*s == '.')
            for (s++; *s >= '0' && *s <= '9'; s++) {
            }
    }
    if (*s == 'e' || *s == 'E') {
        n = 0;
        s++;
        if (*s == '+' || *s == '-')
            s++;
        for (; *s >= '0' && *s <= '9'; s++)
            n++;
        if (n == 0)
            return 0;
    }
    return *s == '\0';
}

static int
parse_real(const char *s, struct scalar *out)
{
    char *end;
    double d;

    errno = 0;
    d = strtod(s, &end);
    /* Go's ParseFloat fails on overflow, and go-yaml then keeps a string. */
    if (*end != '\0' || isinf(d))
        return 0;
    out->kind = SK_REAL;
    out->real = d;
    return 1;
}

/* Numbers: the first character decides, as in go-yaml's resolveTable. */
static void
resolve_number(const char *s, size_t len, struct scalar *out)
{
    char plain[256];
    size_t n = 0;

    if (len >= sizeof(plain))
        return;
    if (s[0] == '.') {
        memcpy(plain, s, len);
        plain[len] = '\0';
        if (yaml_style_float(plain))
            parse_real(plain, out);
        return;
    }
    for (size_t i = 0; i < len; i++) {
        if (s[i] != '_')
            plain[n++] = s[i];
    }
    plain[n] = '\0';
    if (parse_go_int(plain, out))
        return;
    if (yaml_style_float(plain))
        parse_real(plain, out);
}

/* Types a plain, untagged scalar. out->kind stays SK_STRING when it is one. */
void
yaml_resolve_plain(const char *s, size_t len, struct scalar *out)
{
    memset(out, 0, sizeof(*out));
    if (IN_WORDS(s, len, null_words))
        out->kind = SK_NULL;
    else if (IN_WORDS(s, len, true_words))
        out->kind = SK_BOOL, out->boolean = 1;
    else if (IN_WORDS(s, len, false_words))
        out->kind = SK_BOOL;
    else if (IN_WORDS(s, len, nonfinite_words))
        out->kind = SK_NONFINITE;
    else if (len == 2 && s[0] == '<' && s[1] == '<')
        out->kind = SK_MERGE;
    else if (len > 0 && ((s[0] >= '0' && s[0] <= '9') || s[0] == '+' || s[0] == '-' || s[0] == '.'))
        resolve_number(s, len, out);
}

/* The shortest "%g" text that reads back as d. */
void
yaml_shortest_real(double d, char *buf, size_t n)
{
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, n, "%.*g", prec, d);
        if (strtod(buf, NULL) == d)
            return;
    }
}

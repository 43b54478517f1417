/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cel: CEL source text for the exporter. Literals are written so that any
 * policy string round-trips (quotes, backslashes and control characters
 * escaped, the rest kept as UTF-8), and the repeated patterns use only what
 * kube-apiserver's CEL environment has had since before admission policies
 * went GA: the standard macros and functions, bytes(), and the strings
 * extension (split, join, substring; k8s.io/apiserver
 * pkg/cel/environment/base.go: ext.Strings version 2 since 1.29). It
 * evaluates nothing.
 */
#include <stdio.h>
#include <string.h>

#include "hookwarden/cel.h"

int
hw_cel_string(struct hw_buf *out, const char *s, size_t len)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t start = 0;

    if (hw_buf_append(out, "'", 1) != 0)
        return -1;
    for (size_t i = 0; i < len; i++) {
        char esc[8];

        if (u[i] == '\'' || u[i] == '\\')
            snprintf(esc, sizeof(esc), "\\%c", u[i]);
        else if (u[i] < 0x20 || u[i] == 0x7f)
            snprintf(esc, sizeof(esc), "\\u%04x", u[i]);
        else if (u[i] == 0xc2 && i + 1 < len && u[i + 1] >= 0x80 && u[i + 1] < 0xa0)
            snprintf(esc, sizeof(esc), "\\u%04x", u[i + 1]);
        else
            continue;
        if (hw_buf_append(out, s + start, i - start) != 0 || hw_buf_append_str(out, esc) != 0)
            return -1;
        if (u[i] == 0xc2)
            i++;
        start = i + 1;
    }
    if (hw_buf_append(out, s + start, len - start) != 0)
        return -1;
    return hw_buf_append(out, "'", 1);
}

int
hw_cel_string_list(struct hw_buf *out, const json_t *strings)
{
    size_t i;
    const json_t *v;

    if (hw_buf_append(out, "[", 1) != 0)
        return -1;
    json_array_foreach(strings, i, v) {
        if ((i > 0 && hw_buf_append(out, ", ", 2) != 0) ||
            hw_cel_string(out, json_string_value(v), json_string_length(v)) != 0)
            return -1;
    }
    return hw_buf_append(out, "]", 1);
}

int
hw_cel_printable(struct hw_buf *out, const char *x)
{
    /* One character at a time (split('') gives Go's runes): C0 and DEL
     * are one byte each, C1 two; each becomes one '?'. */
    return hw_buf_printf(out, "%s.split('').map(c, c < ' ' || (c >= '\\u007f' && c < '\\u00a0') ? '?' : c)"
                         ".join('')", x);
}

int
hw_cel_cut(struct hw_buf *out, const char *x, unsigned limit, unsigned max, const char *ellipsis)
{
    /* The longest prefix of at most max bytes: all-ASCII strings are cut
     * at max characters; otherwise the candidates run from max characters
     * down to max/4 (four bytes each at most), so one always fits. */
    if (hw_buf_printf(out, "(size(bytes(%s)) <= %u ? %s : %s.substring(0, size(bytes(%s)) == size(%s) ? %u : [",
                      x, limit, x, x, x, x, max) != 0)
        return -1;
    for (unsigned k = max; k >= max / 4 && k > 0; k--) {
        if (hw_buf_printf(out, "%s%u", k == max ? "" : ", ", k) != 0)
            return -1;
    }
    if (hw_buf_printf(out, "].filter(k, k <= size(%s) && size(bytes(%s.substring(0, k))) <= %u)[0]) + ",
                      x, x, max) != 0 ||
        hw_cel_string(out, ellipsis, strlen(ellipsis)) != 0)
        return -1;
    return hw_buf_append_str(out, ")");
}

/* x's text up to its first NUL contains one of the needles. */
static int
leaf(struct hw_buf *out, const char *x, const char *const *needles, size_t n)
{
    if (hw_buf_append_str(out, "(") != 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (hw_buf_printf(out, "%s%s.split('\\u0000')[0].contains(", i ? " || " : "", x) != 0 ||
            hw_cel_string(out, needles[i], strlen(needles[i])) != 0 || hw_buf_append_str(out, ")") != 0)
            return -1;
    }
    return hw_buf_append_str(out, n == 0 ? "false)" : ")");
}

int
hw_cel_deep_contains(struct hw_buf *out, const char *x, const char *const *needles,
                     size_t n_needles, unsigned depth)
{
    char v[16];

    if (depth == 0) {
        if (hw_buf_printf(out, "(type(%s) == string && ", x) != 0 ||
            leaf(out, x, needles, n_needles) != 0)
            return -1;
        return hw_buf_append_str(out, ")");
    }
    /* A map's values and a list's items, one level down; other types
     * (numbers, booleans, null) hold no string. */
    snprintf(v, sizeof(v), "v%u", depth);
    if (hw_buf_printf(out, "(type(%s) == string ? ", x) != 0 || leaf(out, x, needles, n_needles) != 0 ||
        hw_buf_printf(out, " : (type(%s) == map ? %s.map(k%u, %s[k%u]) : (type(%s) == list ? %s : []))"
                      ".exists(%s, ", x, x, depth, x, depth, x, x, v) != 0 ||
        hw_cel_deep_contains(out, v, needles, n_needles, depth - 1) != 0)
        return -1;
    return hw_buf_append_str(out, "))");
}

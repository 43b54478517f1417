/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What yaml.c (the loader) and yamlemit.c (the emitter and writer) share:
 * go-yaml v2's typing of plain scalars, which the loader applies and the
 * emitter must defeat by quoting, and the shortest text of a real. Not a
 * contract: the module's header is include/hookwarden/yaml.h.
 */
#ifndef HOOKWARDEN_YAML_IMPL_H
#define HOOKWARDEN_YAML_IMPL_H

#include <stddef.h>

enum scalar_kind { SK_STRING, SK_NULL, SK_BOOL, SK_INT, SK_REAL, SK_NONFINITE, SK_MERGE };

struct scalar {
    enum scalar_kind kind;
    int boolean;
    long long integer;
    double real;
};

/* How go-yaml v2 reads the plain scalar s (len bytes). */
void yaml_resolve_plain(const char *s, size_t len, struct scalar *out);

/* The shortest text that reads back as d. */
void yaml_shortest_real(double d, char *buf, size_t n);

#endif

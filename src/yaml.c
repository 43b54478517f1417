/* SPDX-License-Identifier: Apache-2.0 */
/*
 * yaml: the only libyaml user. The loader walks libyaml's event stream with
 * an explicit stack (no recursion on untrusted depth) and builds jansson
 * values typed the way sigs.k8s.io/yaml (go-yaml v2) types them, so a
 * manifest means here what it means to Helm and kubectl. It records where
 * every document and its root node lie in the input (and, when asked,
 * where every key and sequence item starts, by path), converting libyaml's
 * character indexes to byte offsets, so the writer can copy untouched
 * documents exactly. Plain scalars are typed by yamltype.c; the emitter
 * and writer are in yamlemit.c. Nothing here knows about Kubernetes kinds
 * or the policy.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "hookwarden/yaml.h"
#include "yaml_impl.h"

#define TAG_PREFIX "tag:yaml.org,2002:"

/* ---- character index -> byte offset ---- */

/* libyaml's marks count characters; the documents' ranges are bytes. */
struct posmap {
    const char *text;
    size_t len;
    int ascii;
    size_t chars, bytes;  /* a cursor: moves forward, restarts when asked backward */
};

static size_t
utf8_width(unsigned char c)
{
    if (c < 0x80)
        return 1;
    if ((c & 0xE0) == 0xC0)
        return 2;
    if ((c & 0xF0) == 0xE0)
        return 3;
    if ((c & 0xF8) == 0xF0)
        return 4;
    return 1;
}

static size_t
byte_at(struct posmap *pm, size_t index)
{
    if (pm->ascii)
        return index < pm->len ? index : pm->len;
    if (index < pm->chars)
        pm->chars = pm->bytes = 0;
    while (pm->chars < index && pm->bytes < pm->len) {
        pm->bytes += utf8_width((unsigned char)pm->text[pm->bytes]);
        pm->chars++;
    }
    return pm->bytes < pm->len ? pm->bytes : pm->len;
}

/* ---- the loader ---- */

struct anchor {
    char *name;
    json_t *value;   /* a reference; aliases get deep copies */
    size_t nodes;    /* how many nodes a copy adds */
};

struct frame {
    json_t *node;
    int is_map;
    char *key;             /* pending key of a mapping, owned; NULL when a key is next */
    int key_is_merge;
    yaml_mark_t key_mark;
    json_t *merges;        /* mappings named by "<<", merged when the mapping ends */
    char *anchor;          /* owned */
    size_t nodes_at_start; /* nodes + alias_nodes when it started */
    yaml_mark_t start_mark;
    size_t path_len;       /* its path is loader.path[0, path_len); SIZE_MAX: none */
};

#define PATH_BYTES 1024    /* longer paths get no position */

struct loader {
    yaml_parser_t parser;
    const char *source;
    struct posmap pm;
    struct hw_error *err;
    struct frame stack[HW_YAML_MAX_DEPTH];
    size_t depth;
    struct anchor *anchors;
    size_t n_anchors, cap_anchors;
    size_t nodes, alias_nodes;       /* in the whole stream */
    struct hw_yaml_stream *out;
    size_t docs_cap;
    struct hw_yaml_doc *doc;         /* the document being read */
    unsigned flags;                  /* HW_YAML_* */
    char path[PATH_BYTES];           /* the innermost frame's path, and scratch after it */
    size_t pos_cap;
};

static int
fail_at(struct loader *ld, yaml_mark_t mark, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* "tag:yaml.org,2002:map" is written "!!map" in YAML; show it that way. */
static const char *
short_tag(const char *tag, char *buf, size_t n)
{
    if (strncmp(tag, TAG_PREFIX, strlen(TAG_PREFIX)) == 0)
        snprintf(buf, n, "!!%s", tag + strlen(TAG_PREFIX));
    else
        snprintf(buf, n, "%s", tag);
    return buf;
}

static int
fail_at(struct loader *ld, yaml_mark_t mark, const char *fmt, ...)
{
    char msg[HW_ERROR_MSG_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    hw_error_set(ld->err, HW_EINVAL, "%s:%zu:%zu: %s", ld->source, mark.line + 1, mark.column + 1,
                 msg);
    return -1;
}

static int
oom(struct loader *ld)
{
    hw_error_set(ld->err, HW_EINTERNAL, "%s: out of memory", ld->source);
    return -1;
}

static const struct anchor *
find_anchor(const struct loader *ld, const char *name)
{
    /* The latest definition wins: YAML lets an anchor be redefined. */
    for (size_t i = ld->n_anchors; i > 0; i--) {
        if (strcmp(ld->anchors[i - 1].name, name) == 0)
            return &ld->anchors[i - 1];
    }
    return NULL;
}

static int
add_anchor(struct loader *ld, const char *name, json_t *value, size_t nodes)
{
    struct anchor *a;

    if (ld->n_anchors == ld->cap_anchors) {
        size_t cap = ld->cap_anchors ? ld->cap_anchors * 2 : 16;
        void *p = realloc(ld->anchors, cap * sizeof(*a));

        if (p == NULL)
            return oom(ld);
        ld->anchors = p;
        ld->cap_anchors = cap;
    }
    a = &ld->anchors[ld->n_anchors];
    if ((a->name = strdup(name)) == NULL)
        return oom(ld);
    a->value = json_incref(value);
    a->nodes = nodes;
    ld->n_anchors++;
    return 0;
}

static void
clear_anchors(struct loader *ld)
{
    for (size_t i = 0; i < ld->n_anchors; i++) {
        free(ld->anchors[i].name);
        json_decref(ld->anchors[i].value);
    }
    ld->n_anchors = 0;
}

/* Keys become strings the way sigs.k8s.io/yaml converts them. */
static char *
key_string(struct loader *ld, const json_t *v, yaml_mark_t mark)
{
    char buf[64];

    switch (json_typeof(v)) {
    case JSON_STRING:
        if (strlen(json_string_value(v)) != json_string_length(v)) {
            fail_at(ld, mark, "map key contains a NUL character");
            return NULL;
        }
        return strdup(json_string_value(v));
    case JSON_INTEGER:
        snprintf(buf, sizeof(buf), "%lld", (long long)json_integer_value(v));
        return strdup(buf);
    case JSON_REAL:
        yaml_shortest_real(json_real_value(v), buf, sizeof(buf));
        return strdup(buf);
    case JSON_TRUE:
    case JSON_FALSE:
        return strdup(json_is_true(v) ? "true" : "false");
    case JSON_NULL:
        fail_at(ld, mark, "null map key: a key must be a string");
        return NULL;
    default:
        fail_at(ld, mark, "complex map key: a key must be a scalar");
        return NULL;
    }
}

static int
add_merge(struct loader *ld, struct frame *f, json_t *v, yaml_mark_t mark)
{
    size_t i;
    json_t *e;

    if (f->merges == NULL && (f->merges = json_array()) == NULL) {
        json_decref(v);
        return oom(ld);
    }
    if (json_is_object(v))
        return json_array_append_new(f->merges, v) == 0 ? 0 : oom(ld);
    if (json_is_array(v)) {
        json_array_foreach(v, i, e) {
            if (!json_is_object(e)) {
                json_decref(v);
                return fail_at(ld, mark, "merge key \"<<\" needs a mapping or a list of mappings");
            }
            json_array_append(f->merges, e);
        }
        json_decref(v);
        return 0;
    }
    json_decref(v);
    return fail_at(ld, mark, "merge key \"<<\" needs a mapping or a list of mappings");
}

/* ---- positions (HW_YAML_POSITIONS) ---- */

/*
 * Writes the path of the node being added under the innermost frame into
 * ld->path after the frame's own path, and returns its length: the
 * frame's path and "/KEY" (a mapping whose key was read) or "/INDEX" (a
 * sequence). SIZE_MAX when positions are off or the node has no path (a
 * key itself, a "<<" merge's value, a path too long).
 */
static size_t
child_path(struct loader *ld)
{
    const struct frame *f;
    size_t base;
    int n;

    if (!(ld->flags & HW_YAML_POSITIONS))
        return SIZE_MAX;
    if (ld->depth == 0)
        return 0;
    f = &ld->stack[ld->depth - 1];
    base = f->path_len;
    if (base == SIZE_MAX || (f->is_map && (f->key == NULL || f->key_is_merge)))
        return SIZE_MAX;
    if (f->is_map)
        n = snprintf(ld->path + base, sizeof(ld->path) - base, "/%s", f->key);
    else
        n = snprintf(ld->path + base, sizeof(ld->path) - base, "/%zu", json_array_size(f->node));
    return n < 0 || (size_t)n >= sizeof(ld->path) - base ? SIZE_MAX : base + (size_t)n;
}

/* Records ld->path[0, len) at mark; nothing for SIZE_MAX or the root. */
static int
record(struct loader *ld, size_t len, yaml_mark_t mark)
{
    struct hw_yaml_stream *s = ld->out;
    struct hw_yaml_pos *p;

    if (len == SIZE_MAX || len == 0)
        return 0;
    if (s->n_pos == ld->pos_cap) {
        size_t cap = ld->pos_cap ? ld->pos_cap * 2 : 64;
        void *v = realloc(s->pos, cap * sizeof(*p));

        if (v == NULL)
            return oom(ld);
        s->pos = v;
        ld->pos_cap = cap;
    }
    p = &s->pos[s->n_pos];
    if ((p->path = strndup(ld->path, len)) == NULL)
        return oom(ld);
    p->doc = s->n_docs - 1;
    p->line = (unsigned)mark.line + 1;
    p->col = (unsigned)mark.column + 1;
    s->n_pos++;
    return 0;
}

/* A sequence item is recorded where it starts (a key, in add_value). */
static int
record_item(struct loader *ld, yaml_mark_t mark)
{
    if (ld->depth == 0 || ld->stack[ld->depth - 1].is_map)
        return 0;
    return record(ld, child_path(ld), mark);
}

/* Puts a finished value (a new reference) where it belongs. */
static int
add_value(struct loader *ld, json_t *v, int is_merge_key, yaml_mark_t mark)
{
    struct frame *f;
    int rc;

    if (v == NULL)
        return oom(ld);
    if (ld->depth == 0) {
        ld->doc->value = v;
        return 0;
    }
    f = &ld->stack[ld->depth - 1];
    if (!f->is_map)
        return json_array_append_new(f->node, v) == 0 ? 0 : oom(ld);
    if (f->key == NULL) {
        f->key = key_string(ld, v, mark);
        f->key_is_merge = is_merge_key;
        f->key_mark = mark;
        json_decref(v);
        if (f->key == NULL)
            return ld->err && ld->err->code ? -1 : oom(ld);
        return record(ld, child_path(ld), mark);
    }
    if (f->key_is_merge) {
        rc = add_merge(ld, f, v, mark);
    } else if (json_object_get(f->node, f->key) != NULL) {
        json_decref(v);
        rc = fail_at(ld, f->key_mark, "duplicate key \"%.80s\"", f->key);
    } else {
        rc = json_object_set_new(f->node, f->key, v) == 0 ? 0 : oom(ld);
    }
    free(f->key);
    f->key = NULL;
    return rc;
}

/* !!binary: go-yaml decodes padded standard base64 (whitespace allowed)
 * to a string; JSON can only carry it when that string is UTF-8. */
static json_t *
binary_scalar(struct loader *ld, const char *s, size_t len, yaml_mark_t mark)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char *out = malloc(len / 4 * 3 + 3);
    size_t n = 0, seen = 0, pad = 0;
    unsigned long acc = 0;
    int bad = 0;
    json_t *v = NULL;

    if (out == NULL)
        return NULL;
    for (size_t i = 0; i < len && !bad; i++) {
        const char *p = s[i] != '\0' ? strchr(alphabet, s[i]) : NULL;

        if (s[i] == ' ' || s[i] == '\n' || s[i] == '\r' || s[i] == '\t')
            continue;
        bad = (p == NULL && s[i] != '=') || (p != NULL && pad > 0);
        pad += s[i] == '=';
        acc = acc << 6 | (unsigned long)(p != NULL ? p - alphabet : 0);
        if (++seen % 4 == 0) {
            out[n++] = (char)(acc >> 16 & 0xff);
            out[n++] = (char)(acc >> 8 & 0xff);
            out[n++] = (char)(acc & 0xff);
            acc = 0;
        }
    }
    bad |= seen % 4 != 0 || pad > 2;
    if (!bad && (v = json_stringn(out, n - pad)) == NULL)
        bad = 1;
    if (bad)
        fail_at(ld, mark, "!!binary value is not padded base64 of UTF-8 text");
    free(out);
    return v;
}

/* The value of a tagged scalar. */
static json_t *
tagged_scalar(struct loader *ld, const char *tag, const char *s, size_t len, yaml_mark_t mark)
{
    struct scalar sc;
    char buf[96];
    const char *t = strncmp(tag, TAG_PREFIX, strlen(TAG_PREFIX)) == 0 ? tag + strlen(TAG_PREFIX) : NULL;

    if (strcmp(tag, "!") == 0 || (t && (strcmp(t, "str") == 0 || strcmp(t, "timestamp") == 0)))
        return json_stringn(s, len);
    if (t && strcmp(t, "binary") == 0)
        return binary_scalar(ld, s, len, mark);
    yaml_resolve_plain(s, len, &sc);
    if (t && strcmp(t, "int") == 0 && sc.kind == SK_INT)
        return json_integer(sc.integer);
    if (t && strcmp(t, "float") == 0 && (sc.kind == SK_INT || sc.kind == SK_REAL))
        return json_real(sc.kind == SK_INT ? (double)sc.integer : sc.real);
    if (t && strcmp(t, "bool") == 0 && sc.kind == SK_BOOL)
        return json_boolean(sc.boolean);
    if (t && strcmp(t, "null") == 0 && sc.kind == SK_NULL)
        return json_null();
    if (t && (strcmp(t, "int") == 0 || strcmp(t, "float") == 0 || strcmp(t, "bool") == 0 ||
              strcmp(t, "null") == 0))
        fail_at(ld, mark, "cannot read \"%.40s\" as !!%s", s, t);
    else
        fail_at(ld, mark, "unsupported tag %s on a scalar", short_tag(tag, buf, sizeof(buf)));
    return NULL;
}

static int
on_scalar(struct loader *ld, const yaml_event_t *ev)
{
    const char *s = (const char *)ev->data.scalar.value, *tag = (const char *)ev->data.scalar.tag;
    size_t len = ev->data.scalar.length;
    struct scalar sc = {SK_STRING, 0, 0, 0};
    json_t *v;

    if (record_item(ld, ev->start_mark) != 0)
        return -1;
    if (tag != NULL) {
        if ((v = tagged_scalar(ld, tag, s, len, ev->start_mark)) == NULL)
            return ld->err && ld->err->code ? -1 : oom(ld);
    } else {
        if (ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE)
            yaml_resolve_plain(s, len, &sc);
        if (sc.kind == SK_NONFINITE)
            return fail_at(ld, ev->start_mark, "%.10s is not a JSON number", s);
        v = sc.kind == SK_NULL   ? json_null()
            : sc.kind == SK_BOOL ? json_boolean(sc.boolean)
            : sc.kind == SK_INT  ? json_integer(sc.integer)
            : sc.kind == SK_REAL ? json_real(sc.real)
                                 : json_stringn(s, len);
        if (v == NULL)
            return fail_at(ld, ev->start_mark, "scalar is not valid UTF-8");
    }
    ld->nodes++;
    if (ev->data.scalar.anchor != NULL &&
        add_anchor(ld, (const char *)ev->data.scalar.anchor, v, 1) != 0) {
        json_decref(v);
        return -1;
    }
    return add_value(ld, v, sc.kind == SK_MERGE, ev->start_mark);
}

static int
on_alias(struct loader *ld, const yaml_event_t *ev)
{
    const struct anchor *a = find_anchor(ld, (const char *)ev->data.alias.anchor);

    if (a == NULL)
        return fail_at(ld, ev->start_mark, "unknown anchor *%.80s", ev->data.alias.anchor);
    if (record_item(ld, ev->start_mark) != 0)
        return -1;
    /* A budget against "billion laughs": aliases may add at most the stream's
     * own size plus a fixed allowance. */
    if (ld->alias_nodes + a->nodes > HW_YAML_ALIAS_NODES + ld->nodes)
        return fail_at(ld, ev->start_mark, "aliases expand to too many nodes (more than %u beyond "
                                           "the input's own)", HW_YAML_ALIAS_NODES);
    ld->alias_nodes += a->nodes;
    /* A copy, so that changing one place never changes another. */
    return add_value(ld, json_deep_copy(a->value), 0, ev->start_mark);
}

static int
on_start(struct loader *ld, const yaml_event_t *ev, int is_map)
{
    const char *tag = (const char *)(is_map ? ev->data.mapping_start.tag : ev->data.sequence_start.tag);
    const char *anchor = (const char *)(is_map ? ev->data.mapping_start.anchor
                                               : ev->data.sequence_start.anchor);
    struct frame *f;
    size_t path_len;
    char buf[96];

    if (tag != NULL && strcmp(tag, "!") != 0 &&
        strcmp(tag, is_map ? TAG_PREFIX "map" : TAG_PREFIX "seq") != 0)
        return fail_at(ld, ev->start_mark, "unsupported tag %s on a %s",
                       short_tag(tag, buf, sizeof(buf)), is_map ? "mapping" : "sequence");
    if (ld->depth == HW_YAML_MAX_DEPTH)
        return fail_at(ld, ev->start_mark, "nested deeper than %d levels", HW_YAML_MAX_DEPTH);
    if (record_item(ld, ev->start_mark) != 0)
        return -1;
    path_len = child_path(ld);
    f = &ld->stack[ld->depth];
    memset(f, 0, sizeof(*f));
    f->path_len = path_len;
    f->is_map = is_map;
    f->start_mark = ev->start_mark;
    f->nodes_at_start = ld->nodes + ld->alias_nodes;
    ld->nodes++;
    if ((f->node = is_map ? json_object() : json_array()) == NULL ||
        (anchor != NULL && (f->anchor = strdup(anchor)) == NULL)) {
        json_decref(f->node);
        return oom(ld);
    }
    ld->depth++;
    return 0;
}

static void
frame_clear(struct frame *f)
{
    json_decref(f->node);
    json_decref(f->merges);
    free(f->key);
    free(f->anchor);
    memset(f, 0, sizeof(*f));
}

/* Explicit keys win over merged ones; earlier merged mappings over later. */
static void
apply_merges(struct frame *f)
{
    size_t i;
    json_t *m, *v;
    const char *k;

    json_array_foreach(f->merges, i, m) {
        json_object_foreach(m, k, v) {
            if (json_object_get(f->node, k) == NULL)
                json_object_set(f->node, k, v);
        }
    }
}

static int
on_end(struct loader *ld)
{
    struct frame f = ld->stack[--ld->depth];
    int rc = 0;

    memset(&ld->stack[ld->depth], 0, sizeof(ld->stack[0]));
    if (f.is_map)
        apply_merges(&f);
    /* A copy of it costs every node inside, aliases' copies included. */
    if (f.anchor != NULL)
        rc = add_anchor(ld, f.anchor, f.node, ld->nodes + ld->alias_nodes - f.nodes_at_start);
    if (rc == 0) {
        rc = add_value(ld, f.node, 0, f.start_mark);
        f.node = NULL;
    }
    frame_clear(&f);
    return rc;
}

/* ---- the parse driver ---- */

static int
begin_doc(struct loader *ld, const yaml_event_t *ev)
{
    struct hw_yaml_stream *s = ld->out;
    size_t start = s->n_docs == 0 ? 0 : byte_at(&ld->pm, ev->start_mark.index);

    if (s->n_docs == ld->docs_cap) {
        size_t cap = ld->docs_cap ? ld->docs_cap * 2 : 8;
        void *p = realloc(s->docs, cap * sizeof(s->docs[0]));

        if (p == NULL)
            return oom(ld);
        s->docs = p;
        ld->docs_cap = cap;
    }
    if (s->n_docs > 0)
        s->docs[s->n_docs - 1].end = start;
    ld->doc = &s->docs[s->n_docs++];
    memset(ld->doc, 0, sizeof(*ld->doc));
    ld->doc->start = ld->doc->root_start = ld->doc->root_end = start;
    ld->doc->end = ld->pm.len;
    return 0;
}

static int
end_doc(struct loader *ld)
{
    /* Anchors do not cross documents. */
    clear_anchors(ld);
    if (ld->doc->value == NULL && (ld->doc->value = json_null()) == NULL)
        return oom(ld);
    ld->doc = NULL;
    return 0;
}

/* Records where the root node starts and ends, in bytes. */
static void
track_root(struct loader *ld, const yaml_event_t *ev, int before)
{
    yaml_event_type_t t = ev->type;

    if (ld->depth != 0 || ld->doc == NULL)
        return;
    if (before && (t == YAML_SCALAR_EVENT || t == YAML_ALIAS_EVENT ||
                   t == YAML_SEQUENCE_START_EVENT || t == YAML_MAPPING_START_EVENT)) {
        ld->doc->root_start = byte_at(&ld->pm, ev->start_mark.index);
        ld->doc->line = (unsigned)ev->start_mark.line + 1;
    } else if (!before && (t == YAML_SCALAR_EVENT || t == YAML_ALIAS_EVENT ||
                           t == YAML_SEQUENCE_END_EVENT || t == YAML_MAPPING_END_EVENT)) {
        ld->doc->root_end = byte_at(&ld->pm, ev->end_mark.index);
    }
}

static int
on_event(struct loader *ld, const yaml_event_t *ev)
{
    int rc = 0;

    track_root(ld, ev, 1);
    switch (ev->type) {
    case YAML_DOCUMENT_START_EVENT:
        return begin_doc(ld, ev);
    case YAML_DOCUMENT_END_EVENT:
        return end_doc(ld);
    case YAML_SCALAR_EVENT:
        rc = on_scalar(ld, ev);
        break;
    case YAML_ALIAS_EVENT:
        rc = on_alias(ld, ev);
        break;
    case YAML_SEQUENCE_START_EVENT:
    case YAML_MAPPING_START_EVENT:
        return on_start(ld, ev, ev->type == YAML_MAPPING_START_EVENT);
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT:
        rc = on_end(ld);
        break;
    default:
        return 0;
    }
    if (rc == 0)
        track_root(ld, ev, 0);
    return rc;
}

/* libyaml's reader reports a byte offset; the scanner and parser a mark. */
static int
parser_error(struct loader *ld)
{
    const yaml_parser_t *p = &ld->parser;
    yaml_mark_t m = p->problem_mark;

    if (p->error == YAML_MEMORY_ERROR)
        return oom(ld);
    if (p->error == YAML_READER_ERROR) {
        memset(&m, 0, sizeof(m));
        for (size_t i = 0; i < p->problem_offset && i < ld->pm.len; i++) {
            if (ld->pm.text[i] == '\n')
                m.line++, m.column = 0;
            else if (((unsigned char)ld->pm.text[i] & 0xC0) != 0x80)
                m.column++;
        }
        return fail_at(ld, m, "%s", p->problem ? p->problem : "cannot read the input");
    }
    if (p->context != NULL)
        return fail_at(ld, m, "%s (%s at line %zu, column %zu)", p->problem ? p->problem : "error",
                       p->context, p->context_mark.line + 1, p->context_mark.column + 1);
    return fail_at(ld, m, "%s", p->problem ? p->problem : "invalid YAML");
}

static void
loader_clear(struct loader *ld)
{
    while (ld->depth > 0)
        frame_clear(&ld->stack[--ld->depth]);
    clear_anchors(ld);
    free(ld->anchors);
    yaml_parser_delete(&ld->parser);
}

static int
load(struct loader *ld)
{
    yaml_event_t ev;
    int done = 0, rc = 0;

    while (rc == 0 && !done) {
        if (!yaml_parser_parse(&ld->parser, &ev))
            return parser_error(ld);
        done = ev.type == YAML_STREAM_END_EVENT;
        rc = on_event(ld, &ev);
        yaml_event_delete(&ev);
    }
    return rc;
}

struct hw_yaml_stream *
hw_yaml_parse(const char *text, size_t len, const char *source, struct hw_error *err)
{
    return hw_yaml_parse_with(text, len, source, 0, err);
}

struct hw_yaml_stream *
hw_yaml_parse_with(const char *text, size_t len, const char *source, unsigned flags,
                   struct hw_error *err)
{
    struct loader *ld = NULL;
    struct hw_yaml_stream *s = NULL;
    int rc = -1;

    if (len > HW_YAML_MAX_INPUT) {
        hw_error_set(err, HW_ETOOBIG, "%s: larger than %u MiB", source, HW_YAML_MAX_INPUT >> 20);
        return NULL;
    }
    if ((ld = calloc(1, sizeof(*ld))) == NULL || (s = calloc(1, sizeof(*s))) == NULL ||
        !yaml_parser_initialize(&ld->parser)) {
        hw_error_set(err, HW_EINTERNAL, "%s: out of memory", source);
        goto out;
    }
    ld->source = source;
    ld->flags = flags;
    ld->err = err;
    ld->out = s;
    ld->pm.text = text;
    ld->pm.len = len;
    ld->pm.ascii = 1;
    for (size_t i = 0; i < len && ld->pm.ascii; i++)
        ld->pm.ascii = (unsigned char)text[i] < 0x80;
    /* UTF-8 only, so that marks map to bytes; a BOM then counts as one character. */
    yaml_parser_set_encoding(&ld->parser, YAML_UTF8_ENCODING);
    yaml_parser_set_input_string(&ld->parser, (const unsigned char *)text, len);
    rc = load(ld);
out:
    if (ld != NULL)
        loader_clear(ld);
    free(ld);
    if (rc != 0) {
        hw_yaml_free(s);
        s = NULL;
    }
    return s;
}

void
hw_yaml_free(struct hw_yaml_stream *s)
{
    if (s == NULL)
        return;
    for (size_t i = 0; i < s->n_docs; i++)
        json_decref(s->docs[i].value);
    for (size_t i = 0; i < s->n_pos; i++)
        free(s->pos[i].path);
    free(s->docs);
    free(s->pos);
    free(s);
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * yamlemit: the other half of the yaml module. The emitter turns a value
 * back into block YAML with libyaml and quotes every string that a YAML 1.1
 * reader (go-yaml v2) would take for another type; the writer copies the
 * documents nobody changed byte for byte and re-emits the rest. Loading is
 * yaml.c's job.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "hookwarden/yaml.h"
#include "yaml_impl.h"

struct emitter {
    yaml_emitter_t em;
    struct hw_buf *out;
};

static int
write_out(void *data, unsigned char *buffer, size_t size)
{
    struct emitter *e = data;

    return hw_buf_append(e->out, buffer, size) == 0;
}

static int
emit(struct emitter *e, yaml_event_t *ev, struct hw_error *err)
{
    if (yaml_emitter_emit(&e->em, ev))
        return 0;
    if (e->em.error == YAML_WRITER_ERROR)
        hw_error_set(err, HW_ETOOBIG, "YAML output is larger than the limit");
    else
        hw_error_set(err, HW_EINTERNAL, "cannot emit YAML: %s",
                     e->em.problem ? e->em.problem : "out of memory");
    return -1;
}

/* A string a YAML 1.1 reader would not read back as this string if plain:
 * null, bool, number, merge key, or a date (typed by other YAML readers). */
static int
would_mistype(const char *s, size_t len)
{
    struct scalar sc;

    if (len >= 250 && (s[0] == '.' || s[0] == '+' || s[0] == '-' || (s[0] >= '0' && s[0] <= '9')))
        return 1;
    if (len >= 5 && s[4] == '-' && s[0] >= '0' && s[0] <= '9' && s[1] >= '0' && s[1] <= '9' &&
        s[2] >= '0' && s[2] <= '9' && s[3] >= '0' && s[3] <= '9')
        return 1;
    if (len == 1 && s[0] == '=')
        return 1;
    yaml_resolve_plain(s, len, &sc);
    return sc.kind != SK_STRING;
}

static int
emit_scalar(struct emitter *e, const char *s, size_t len, int plain_ok, yaml_scalar_style_t style,
            struct hw_error *err)
{
    yaml_event_t ev;

    if (!yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)s, (int)len, plain_ok, 1,
                                      style)) {
        hw_error_set(err, HW_EINTERNAL, "out of memory");
        return -1;
    }
    return emit(e, &ev, err);
}

static int
emit_string(struct emitter *e, const char *s, size_t len, int is_key, struct hw_error *err)
{
    /* libyaml falls back to double quotes where a literal block is not allowed. */
    yaml_scalar_style_t style = !is_key && memchr(s, '\n', len) != NULL ? YAML_LITERAL_SCALAR_STYLE
                                                                        : YAML_ANY_SCALAR_STYLE;

    if (len > INT32_MAX) {
        hw_error_set(err, HW_ETOOBIG, "string too long for YAML output");
        return -1;
    }
    return emit_scalar(e, s, len, !would_mistype(s, len), style, err);
}

/* The shortest text that reads back as d, and reads back as a float. */
static int
format_real(double d, char *buf, size_t n, struct hw_error *err)
{
    if (!isfinite(d)) {
        hw_error_set(err, HW_EINVAL, "a number is not finite");
        return -1;
    }
    yaml_shortest_real(d, buf, n);
    if (strpbrk(buf, ".e") == NULL)
        strncat(buf, ".0", n - strlen(buf) - 1);
    return 0;
}

static int emit_node(struct emitter *e, const json_t *v, size_t depth, struct hw_error *err);

static int
emit_container(struct emitter *e, const json_t *v, size_t depth, struct hw_error *err)
{
    int is_map = json_is_object(v);
    size_t n = is_map ? json_object_size(v) : json_array_size(v), i;
    int flow = n == 0;  /* {} and [] */
    const char *k;
    json_t *x;
    yaml_event_t ev;

    if (is_map)
        yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1, flow ? YAML_FLOW_MAPPING_STYLE
                                                                    : YAML_BLOCK_MAPPING_STYLE);
    else
        yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1, flow ? YAML_FLOW_SEQUENCE_STYLE
                                                                      : YAML_BLOCK_SEQUENCE_STYLE);
    if (emit(e, &ev, err) != 0)
        return -1;
    if (is_map) {
        json_object_foreach((json_t *)v, k, x) {
            if (emit_string(e, k, strlen(k), 1, err) != 0 || emit_node(e, x, depth + 1, err) != 0)
                return -1;
        }
        yaml_mapping_end_event_initialize(&ev);
    } else {
        json_array_foreach(v, i, x) {
            if (emit_node(e, x, depth + 1, err) != 0)
                return -1;
        }
        yaml_sequence_end_event_initialize(&ev);
    }
    return emit(e, &ev, err);
}

static int
emit_node(struct emitter *e, const json_t *v, size_t depth, struct hw_error *err)
{
    char num[64];

    if (depth > HW_YAML_MAX_DEPTH) {
        hw_error_set(err, HW_EINVAL, "nested deeper than %d levels", HW_YAML_MAX_DEPTH);
        return -1;
    }
    switch (json_typeof(v)) {
    case JSON_OBJECT:
    case JSON_ARRAY:
        return emit_container(e, v, depth, err);
    case JSON_STRING:
        return emit_string(e, json_string_value(v), json_string_length(v), 0, err);
    case JSON_INTEGER:
        snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(v));
        return emit_scalar(e, num, strlen(num), 1, YAML_PLAIN_SCALAR_STYLE, err);
    case JSON_REAL:
        if (format_real(json_real_value(v), num, sizeof(num), err) != 0)
            return -1;
        return emit_scalar(e, num, strlen(num), 1, YAML_PLAIN_SCALAR_STYLE, err);
    case JSON_TRUE:
    case JSON_FALSE:
        return emit_scalar(e, json_is_true(v) ? "true" : "false", json_is_true(v) ? 4 : 5, 1,
                           YAML_PLAIN_SCALAR_STYLE, err);
    default:
        return emit_scalar(e, "null", 4, 1, YAML_PLAIN_SCALAR_STYLE, err);
    }
}

int
hw_yaml_emit(const json_t *value, struct hw_buf *out, struct hw_error *err)
{
    struct emitter e = {.out = out};
    yaml_event_t ev;
    int rc = -1;

    if (!yaml_emitter_initialize(&e.em)) {
        hw_error_set(err, HW_EINTERNAL, "out of memory");
        return -1;
    }
    yaml_emitter_set_output(&e.em, write_out, &e);
    yaml_emitter_set_unicode(&e.em, 1);
    yaml_emitter_set_width(&e.em, -1);  /* never fold long strings */
    yaml_emitter_set_indent(&e.em, 2);
    yaml_emitter_set_break(&e.em, YAML_LN_BREAK);
    yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING);
    if (emit(&e, &ev, err) != 0)
        goto out;
    yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1);
    if (emit(&e, &ev, err) != 0 || emit_node(&e, value, 0, err) != 0)
        goto out;
    yaml_document_end_event_initialize(&ev, 1);
    if (emit(&e, &ev, err) != 0)
        goto out;
    yaml_stream_end_event_initialize(&ev);
    if (emit(&e, &ev, err) != 0)
        goto out;
    rc = yaml_emitter_flush(&e.em) ? 0 : -1;
    if (rc != 0)
        hw_error_set(err, HW_ETOOBIG, "YAML output is larger than the limit");
out:
    yaml_emitter_delete(&e.em);
    return rc;
}

/* ---- the writer ---- */

static int
copy(struct hw_buf *out, const char *p, size_t n, struct hw_error *err)
{
    if (hw_buf_append(out, p, n) == 0)
        return 0;
    hw_error_set(err, HW_ETOOBIG, "output is larger than the limit");
    return -1;
}

static int
write_changed(const char *text, const struct hw_yaml_doc *d, struct hw_buf *out,
              struct hw_error *err)
{
    size_t head = d->root_start - d->start;

    if (copy(out, text + d->start, head, err) != 0)
        return -1;
    /* "--- {...}" on one line: the block form starts on the next. */
    if (head > 0 && text[d->root_start - 1] != '\n' && copy(out, "\n", 1, err) != 0)
        return -1;
    if (hw_yaml_emit(d->value, out, err) != 0)
        return -1;
    return copy(out, text + d->root_end, d->end - d->root_end, err);
}

int
hw_yaml_write(const char *text, size_t len, const struct hw_yaml_stream *s, struct hw_buf *out,
              struct hw_error *err)
{
    if (s->n_docs == 0)
        return copy(out, text, len, err);
    for (size_t i = 0; i < s->n_docs; i++) {
        const struct hw_yaml_doc *d = &s->docs[i];

        if (!d->changed ? copy(out, text + d->start, d->end - d->start, err) != 0
                        : write_changed(text, d, out, err) != 0)
            return -1;
    }
    return 0;
}

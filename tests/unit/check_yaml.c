/* SPDX-License-Identifier: Apache-2.0 */
/*
 * yaml: scalar typing against what sigs.k8s.io/yaml makes of the same text,
 * errors with line and column, aliases, merge keys and limits, document
 * byte ranges and byte-exact copying, and emitter round trips over tricky
 * strings and every chart Job in tests/data/jobs.
 */
#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hookwarden/yaml.h"
#include "testutil.h"

/* Parses text; fails the test on error. */
static struct hw_yaml_stream *
parse_ok(const char *text, size_t len)
{
    struct hw_error err = {0};
    struct hw_yaml_stream *s = hw_yaml_parse(text, len, "t.yaml", &err);

    ck_assert_msg(s != NULL, "parse failed: %s", err.msg);
    return s;
}

static void
assert_json(const json_t *got, const char *want_text)
{
    json_error_t je;
    json_t *want = json_loads(want_text, JSON_DECODE_ANY, &je);
    char *g = json_dumps(got, JSON_COMPACT | JSON_ENCODE_ANY | JSON_SORT_KEYS);

    ck_assert_msg(want != NULL, "bad expectation %s: %s", want_text, je.text);
    ck_assert_msg(json_equal(got, want), "got %s, want %s", g, want_text);
    free(g);
    json_decref(want);
}

/* ---- typing ---- */

static const struct {
    const char *yaml, *json;
} typing[] = {
    {"a: true", "{\"a\":true}"},         {"a: True", "{\"a\":true}"},
    {"a: yes", "{\"a\":true}"},          {"a: ON", "{\"a\":true}"},
    {"a: y", "{\"a\":true}"},            {"a: no", "{\"a\":false}"},
    {"a: Off", "{\"a\":false}"},         {"a: n", "{\"a\":false}"},
    {"a: FALSE", "{\"a\":false}"},       {"a: null", "{\"a\":null}"},
    {"a: ~", "{\"a\":null}"},            {"a:", "{\"a\":null}"},
    {"a: 42", "{\"a\":42}"},             {"a: -7", "{\"a\":-7}"},
    {"a: +7", "{\"a\":7}"},              {"a: 0x1F", "{\"a\":31}"},
    {"a: 0o17", "{\"a\":15}"},           {"a: 0755", "{\"a\":493}"},
    {"a: 0b101", "{\"a\":5}"},           {"a: 1_000", "{\"a\":1000}"},
    {"a: 00", "{\"a\":0}"},              {"a: -9223372036854775808", "{\"a\":-9223372036854775808}"},
    {"a: 1.5", "{\"a\":1.5}"},           {"a: .5", "{\"a\":0.5}"},
    {"a: 1e3", "{\"a\":1000.0}"},        {"a: 1.", "{\"a\":1.0}"},
    {"a: -2.5e-3", "{\"a\":-0.0025}"},   {"a: 08", "{\"a\":8.0}"},
    {"a: 12345678901234567890", "{\"a\":1.2345678901234567e19}"},
    {"a: 1e400", "{\"a\":\"1e400\"}"},   {"a: 1.31.2", "{\"a\":\"1.31.2\"}"},
    {"a: 2001-12-14", "{\"a\":\"2001-12-14\"}"},
    {"a: 12:30:00", "{\"a\":\"12:30:00\"}"},
    {"a: 0x", "{\"a\":\"0x\"}"},         {"a: 0b2", "{\"a\":\"0b2\"}"},
    {"a: \"true\"", "{\"a\":\"true\"}"}, {"a: 'yes'", "{\"a\":\"yes\"}"},
    {"a: \"42\"", "{\"a\":\"42\"}"},     {"a: ''", "{\"a\":\"\"}"},
    {"a: !!str 42", "{\"a\":\"42\"}"},   {"a: !!str true", "{\"a\":\"true\"}"},
    {"a: !!int \"42\"", "{\"a\":42}"},   {"a: !!float 2", "{\"a\":2.0}"},
    {"a: !!bool \"on\"", "{\"a\":true}"}, {"a: !!null ''", "{\"a\":null}"},
    {"a: !!binary aGVs\n  bG8=", "{\"a\":\"hello\"}"},
    {"a: ! 42", "{\"a\":\"42\"}"},
    {"a: |\n  x\n  y\n", "{\"a\":\"x\\ny\\n\"}"},
    {"a: |-\n  x\n", "{\"a\":\"x\"}"},
    {"a: |+\n  x\n\n", "{\"a\":\"x\\n\\n\"}"},
    {"a: >\n  x\n  y\n\n  z\n", "{\"a\":\"x y\\nz\\n\"}"},
    {"a: |2\n   x\n", "{\"a\":\" x\\n\"}"},
    {"a: plain\n  continued", "{\"a\":\"plain continued\"}"},
    {"a: b # comment", "{\"a\":\"b\"}"}, {"a: 'b # text'", "{\"a\":\"b # text\"}"},
    {"a: 'it''s'", "{\"a\":\"it's\"}"},  {"a: \"t\\tn\\n\\u00e9\"", "{\"a\":\"t\\tn\\n\\u00e9\"}"},
    {"1: a", "{\"1\":\"a\"}"},           {"true: a", "{\"true\":\"a\"}"},
    {"on: a", "{\"true\":\"a\"}"},       {"0x10: a", "{\"16\":\"a\"}"},
    {"'<<': 1", "{\"<<\":1}"},           {"a: <<", "{\"a\":\"<<\"}"},
    {"- 1\n- [2, {b: c}]", "[1,[2,{\"b\":\"c\"}]]"},
    {"{\"a\": [1, 2.5, true, null, \"\\/x\"]}", "{\"a\":[1,2.5,true,null,\"/x\"]}"},
    {"a: &x {b: 1}\nc: *x", "{\"a\":{\"b\":1},\"c\":{\"b\":1}}"},
    {"a: &x 1\na2: &x 2\nb: *x", "{\"a\":1,\"a2\":2,\"b\":2}"},
    {"b: &b {x: 1, z: 1}\nc:\n  <<: *b\n  x: 2", "{\"b\":{\"x\":1,\"z\":1},\"c\":{\"x\":2,\"z\":1}}"},
    {"a: &a {x: 1}\nb: &b {x: 2, z: 3}\nc: {<<: [*a, *b]}",
     "{\"a\":{\"x\":1},\"b\":{\"x\":2,\"z\":3},\"c\":{\"x\":1,\"z\":3}}"},
    {"a: !!map {b: 1}\nc: !!seq [1]", "{\"a\":{\"b\":1},\"c\":[1]}"},
    {"a: {}\nb: []", "{\"a\":{},\"b\":[]}"},
};

START_TEST(test_yaml_types_scalars_as_sigs_k8s_yaml_does)
{
    struct hw_yaml_stream *s = parse_ok(typing[_i].yaml, strlen(typing[_i].yaml));

    ck_assert_uint_eq(s->n_docs, 1);
    assert_json(s->docs[0].value, typing[_i].json);
    hw_yaml_free(s);
}
END_TEST

/* ---- errors ---- */

static const struct {
    const char *yaml, *message;
} bad[] = {
    {"a: 1\na: 2\n", "t.yaml:2:1: duplicate key \"a\""},
    {"{\"a\": 1, \"a\": 2}\n", "t.yaml:1:10: duplicate key \"a\""},
    {"a: *nope\n", "t.yaml:1:4: unknown anchor *nope"},
    {"x: &a [*a]\n", "t.yaml:1:8: unknown anchor *a"},
    {"a: .inf\n", "t.yaml:1:4: .inf is not a JSON number"},
    {"x: [-.Inf]\n", "t.yaml:1:5: -.Inf is not a JSON number"},
    {"a: !foo x\n", "t.yaml:1:4: unsupported tag !foo on a scalar"},
    {"b: !!seq {a: 1}\n", "t.yaml:1:4: unsupported tag !!seq on a mapping"},
    {"a: !!int x\n", "t.yaml:1:4: cannot read \"x\" as !!int"},
    {"a: !!binary \"%%\"\n", "t.yaml:1:4: !!binary value is not padded base64 of UTF-8 text"},
    {"? [a]\n: 1\n", "t.yaml:1:3: complex map key: a key must be a scalar"},
    {"~: 1\n", "t.yaml:1:1: null map key: a key must be a string"},
    {"<<: 1\n", "t.yaml:1:5: merge key \"<<\" needs a mapping or a list of mappings"},
    {"a: [1, 2\n", "t.yaml:2:1: did not find expected ',' or ']' (while parsing a flow sequence "
                   "at line 1, column 4)"},
    {"a:\n  b: 1\n c: 2\n", "t.yaml:3:2: did not find expected key (while parsing a block mapping "
                            "at line 1, column 1)"},
    {"a: b: c\n", "t.yaml:1:5: mapping values are not allowed in this context"},
    {"key: \"bad \\q\"\n", "t.yaml:1:11: found unknown escape character (while parsing a quoted "
                           "scalar at line 1, column 6)"},
    {"a: \x01\n", "t.yaml:1:4: control characters are not allowed"},
    {"a: \xff\n", "t.yaml:1:4: invalid leading UTF-8 octet"},
    {"\xc3\xa9: 1\n---\n\xc3\xa9t\xc3\xa9: [\n", "t.yaml:4:1: did not find expected node content "
                                                 "(while parsing a flow node at line 4, column 1)"},
    {"k: [\xc3\xa9\xc3\xa9, *x]\n", "t.yaml:1:9: unknown anchor *x"},
};

START_TEST(test_yaml_rejects_bad_input_with_line_and_column)
{
    struct hw_error err = {0};
    struct hw_yaml_stream *s = hw_yaml_parse(bad[_i].yaml, strlen(bad[_i].yaml), "t.yaml", &err);

    ck_assert_ptr_null(s);
    ck_assert_int_eq(err.code, HW_EINVAL);
    ck_assert_str_eq(err.msg, bad[_i].message);
}
END_TEST

/* ---- positions ---- */

/* "path@line:col" of every recorded position, joined by spaces. */
static void
positions(const struct hw_yaml_stream *s, char *out, size_t n)
{
    size_t used = 0;

    out[0] = '\0';
    for (size_t i = 0; i < s->n_pos && used < n; i++)
        used += (size_t)snprintf(out + used, n - used, "%s%zu%s@%u:%u", i ? " " : "",
                                 s->pos[i].doc, s->pos[i].path, s->pos[i].line, s->pos[i].col);
}

START_TEST(test_yaml_positions_name_every_key_and_item_by_path)
{
    static const char text[] =
        "# a comment\n"
        "a:\n"
        "  b: 1\n"
        "  \"c d\": [x, {e: f}]\n"
        "seq:\n"
        "  - one\n"
        "  - k: v\n"
        "m: &m {p: q}\n"
        "al: *m\n"
        "o:\n"
        "  <<: *m\n"
        "  r: s\n"
        "---\n"
        "é: [1]\n";
    struct hw_error err = {0};
    struct hw_yaml_stream *s = hw_yaml_parse_with(text, strlen(text), "t.yaml", HW_YAML_POSITIONS, &err);
    char got[1024];

    ck_assert_msg(s != NULL, "%s", err.msg);
    positions(s, got, sizeof(got));
    /* Keys merged in by "<<" and what an alias copies have no position of
     * their own; the alias (al) and the mapping (o) do. Columns count
     * characters, as the messages do. */
    ck_assert_str_eq(got, "0/a@2:1 0/a/b@3:3 0/a/c d@4:3 0/a/c d/0@4:11 0/a/c d/1@4:14 "
                          "0/a/c d/1/e@4:15 0/seq@5:1 0/seq/0@6:5 0/seq/1@7:5 0/seq/1/k@7:5 "
                          "0/m@8:1 0/m/p@8:8 0/al@9:1 0/o@10:1 0/o/r@12:3 1/é@14:1 1/é/0@14:5");
    hw_yaml_free(s);
    /* Without the flag, nothing is recorded. */
    s = parse_ok(text, strlen(text));
    ck_assert_uint_eq(s->n_pos, 0);
    ck_assert_ptr_null(s->pos);
    hw_yaml_free(s);
}
END_TEST

/* ---- aliases, limits ---- */

START_TEST(test_yaml_expands_aliases_as_independent_copies)
{
    static const char text[] = "a: &x {labels: {k: v}}\nb: *x\n";
    struct hw_yaml_stream *s = parse_ok(text, strlen(text));
    json_t *b = json_object_get(s->docs[0].value, "b");

    json_object_set_new(json_object_get(b, "labels"), "new", json_true());
    assert_json(s->docs[0].value, "{\"a\":{\"labels\":{\"k\":\"v\"}},"
                                  "\"b\":{\"labels\":{\"k\":\"v\",\"new\":true}}}");
    hw_yaml_free(s);
}
END_TEST

START_TEST(test_yaml_refuses_billion_laughs)
{
    static const char text[] =
        "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
        "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
        "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
        "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
        "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
        "f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
        "g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]\n"
        "h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g, *g]\n"
        "i: &i [*h, *h, *h, *h, *h, *h, *h, *h, *h, *h]\n";
    struct hw_error err = {0};

    ck_assert_ptr_null(hw_yaml_parse(text, strlen(text), "t.yaml", &err));
    ck_assert_str_eq(err.msg, "t.yaml:5:36: aliases expand to too many nodes (more than 100000 "
                              "beyond the input's own)");
}
END_TEST

/* n nested flow sequences: "[[[...]]]". */
static char *
nested(size_t n)
{
    char *t = malloc(2 * n + 2);

    memset(t, '[', n);
    memset(t + n, ']', n);
    t[2 * n] = '\n';
    t[2 * n + 1] = '\0';
    return t;
}

START_TEST(test_yaml_refuses_nesting_deeper_than_the_limit)
{
    char *ok = nested(HW_YAML_MAX_DEPTH), *deep = nested(HW_YAML_MAX_DEPTH + 1);
    struct hw_error err = {0};
    struct hw_yaml_stream *s = parse_ok(ok, strlen(ok));

    hw_yaml_free(s);
    ck_assert_ptr_null(hw_yaml_parse(deep, strlen(deep), "t.yaml", &err));
    ck_assert_str_eq(err.msg, "t.yaml:1:257: nested deeper than 256 levels");
    free(ok);
    free(deep);
}
END_TEST

START_TEST(test_yaml_refuses_input_over_the_size_limit)
{
    struct hw_error err = {0};

    /* The length is checked before the text is read. */
    ck_assert_ptr_null(hw_yaml_parse("", (size_t)HW_YAML_MAX_INPUT + 1, "big.yaml", &err));
    ck_assert_int_eq(err.code, HW_ETOOBIG);
    ck_assert_str_eq(err.msg, "big.yaml: larger than 64 MiB");
}
END_TEST

/* ---- documents and byte ranges ---- */

static const char stream_text[] =
    "# prelude comment\n"
    "---\n"
    "# Source: chart/templates/cm.yaml\n"
    "apiVersion: v1\n"
    "kind: ConfigMap\n"
    "data: {k: \"\xc3\xa9t\xc3\xa9\"}   # trailing\n"
    "---\n"
    "# Source: chart/templates/empty.yaml\n"
    "---\n"
    "{\"kind\": \"Job\", \"n\": 1}\n"
    "...\n"
    "---\n"
    "- a\n";

START_TEST(test_yaml_splits_documents_into_ranges_that_tile_the_input)
{
    struct hw_yaml_stream *s = parse_ok(stream_text, strlen(stream_text));
    const char *t = stream_text;

    ck_assert_uint_eq(s->n_docs, 4);
    ck_assert_uint_eq(s->docs[0].start, 0);
    for (size_t i = 0; i + 1 < s->n_docs; i++)
        ck_assert_uint_eq(s->docs[i].end, s->docs[i + 1].start);
    ck_assert_uint_eq(s->docs[3].end, strlen(t));
    ck_assert_int_eq(strncmp(t + s->docs[0].root_start, "apiVersion", 10), 0);
    ck_assert_uint_eq(s->docs[0].line, 4);
    ck_assert(json_is_null(s->docs[1].value));
    ck_assert_int_eq(strncmp(t + s->docs[2].root_start, "{\"kind\"", 7), 0);
    ck_assert_int_eq(strncmp(t + s->docs[2].root_end, "\n...\n", 5), 0);
    ck_assert_int_eq(strncmp(t + s->docs[3].start, "---\n- a", 7), 0);
    assert_json(s->docs[0].value, "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\","
                                  "\"data\":{\"k\":\"\\u00e9t\\u00e9\"}}");
    hw_yaml_free(s);
}
END_TEST

static const char *const verbatim[] = {
    "",
    "# only a comment\n",
    "\n\n# comments\n   # and blank lines\n",
    "---\n---\n",
    stream_text,
    "a: 1\r\n---\r\nb: 2\r\n",
    "\xef\xbb\xbf" "a: \xc3\xa9\n---\nb: 2\n",
    "%YAML 1.1\n---\na: 1\n...\n%YAML 1.1\n---\nb: 2\n",
    "a: 1",
};

START_TEST(test_yaml_write_copies_unchanged_streams_byte_for_byte)
{
    const char *t = verbatim[_i];
    struct hw_yaml_stream *s = parse_ok(t, strlen(t));
    struct hw_buf out;
    struct hw_error err = {0};

    hw_buf_init(&out, 0);
    ck_assert_int_eq(hw_yaml_write(t, strlen(t), s, &out, &err), 0);
    ck_assert_uint_eq(out.len, strlen(t));
    ck_assert_int_eq(memcmp(out.data ? out.data : "", t, out.len), 0);
    hw_buf_free(&out);
    hw_yaml_free(s);
}
END_TEST

START_TEST(test_yaml_write_reemits_only_changed_documents)
{
    struct hw_yaml_stream *s = parse_ok(stream_text, strlen(stream_text));
    struct hw_buf out;
    struct hw_error err = {0};
    static const char want[] =
        "# prelude comment\n"
        "---\n"
        "# Source: chart/templates/cm.yaml\n"
        "apiVersion: v1\n"
        "kind: ConfigMap\n"
        "data:\n"
        "  k: \xc3\xa9t\xc3\xa9\n"
        "  added: 'true'\n"
        "---\n"
        "# Source: chart/templates/empty.yaml\n"
        "---\n"
        "kind: Job\n"
        "'n': 2\n"
        "\n...\n"
        "---\n"
        "- a\n";

    json_object_set_new(json_object_get(s->docs[0].value, "data"), "added", json_string("true"));
    json_object_set_new(s->docs[2].value, "n", json_integer(2));
    s->docs[0].changed = s->docs[2].changed = 1;
    hw_buf_init(&out, 0);
    ck_assert_int_eq(hw_yaml_write(stream_text, strlen(stream_text), s, &out, &err), 0);
    ck_assert_str_eq(out.data, want);
    hw_buf_free(&out);
    hw_yaml_free(s);
}
END_TEST

START_TEST(test_yaml_write_starts_a_changed_root_on_its_own_line)
{
    static const char text[] = "--- {a: 1}\n";
    struct hw_yaml_stream *s = parse_ok(text, strlen(text));
    struct hw_buf out;
    struct hw_error err = {0};

    s->docs[0].changed = 1;
    hw_buf_init(&out, 0);
    ck_assert_int_eq(hw_yaml_write(text, strlen(text), s, &out, &err), 0);
    ck_assert_str_eq(out.data, "--- \na: 1\n\n");
    hw_buf_free(&out);
    hw_yaml_free(s);
}
END_TEST

START_TEST(test_yaml_parses_a_large_chart_quickly)
{
    static const char doc[] = "---\n# Source: c/templates/cm.yaml\napiVersion: v1\nkind: ConfigMap\n"
                              "metadata: {name: cm}\ndata:\n  a: |\n    line\n    line\n  b: \"x\"\n";
    struct hw_buf in, out;
    struct hw_yaml_stream *s;
    struct hw_error err = {0};

    hw_buf_init(&in, 0);
    hw_buf_init(&out, 0);
    for (int i = 0; i < 20000; i++)
        ck_assert_int_eq(hw_buf_append(&in, doc, sizeof(doc) - 1), 0);
    s = parse_ok(in.data, in.len);
    ck_assert_uint_eq(s->n_docs, 20000);
    ck_assert_int_eq(hw_yaml_write(in.data, in.len, s, &out, &err), 0);
    ck_assert_uint_eq(out.len, in.len);
    hw_yaml_free(s);
    hw_buf_free(&in);
    hw_buf_free(&out);
}
END_TEST

/* ---- emitter ---- */

static const char *const tricky[] = {
    "true", "True", "yes", "on", "Off", "y", "n", "null", "~", "", "<<", "=", "0", "42", "-1",
    "+1", "0755", "0x1F", "0b1", "0o7", "1_000", "1e3", "1.5", ".5", "1.", "08", ".inf", "-.Inf",
    ".nan", "2001-12-14", "2001-12-14T21:59:43Z", "12:30", "- a", "-", ": x", "a: b", "a #b", "#c",
    "'q'", "\"dq\"", "@at", "`bt", "%pct", "!bang", "&amp", "*star", "{", "}", "[", "]", ",", "?",
    "|", ">", "  leading", "trailing ", "tab\there", "multi\nline\n", "multi\nno newline",
    "\nleading newline", "trailing newlines\n\n", "  indented\nblock\n", "trail \nspace\n",
    "\xc3\xa9t\xc3\xa9 \xf0\x9f\x98\x80", "cr\r\n", "bell\a", "del\x7f", "nbsp\xc2\xa0",
    "line\xe2\x80\xa8sep", "atlas migrate apply --dir file:///src/ -u $DB_URL", "http://x:80/#f",
    "a,b", "pre-install,pre-upgrade", "1.31.2", "v1", "---", "...", "--- x",
};

START_TEST(test_yaml_emit_round_trips_tricky_strings)
{
    const char *str = tricky[_i];
    json_t *v = json_pack("{s:s, s:s, s:[s]}", "k", str, str[0] ? str : "empty", "v", "l", str);
    struct hw_buf out;
    struct hw_error err = {0};
    struct hw_yaml_stream *s;

    hw_buf_init(&out, 0);
    ck_assert_int_eq(hw_yaml_emit(v, &out, &err), 0);
    s = parse_ok(out.data, out.len);
    ck_assert_uint_eq(s->n_docs, 1);
    ck_assert_msg(json_equal(v, s->docs[0].value), "%s did not round-trip:\n%.1500s", str, out.data);
    hw_yaml_free(s);
    hw_buf_free(&out);
    json_decref(v);
}
END_TEST

START_TEST(test_yaml_emit_quotes_strings_that_would_change_type)
{
    static const struct {
        const char *value, *want;
    } cases[] = {
        {"true", "k: 'true'\n"}, {"1", "k: '1'\n"}, {"", "k: ''\n"}, {"null", "k: 'null'\n"},
        {"0755", "k: '0755'\n"}, {"2001-12-14", "k: '2001-12-14'\n"}, {"on", "k: 'on'\n"},
        {"1.31.2", "k: 1.31.2\n"}, {"pre-install,pre-upgrade", "k: pre-install,pre-upgrade\n"},
        {"x\ny\n", "k: |\n  x\n  y\n"}, {"x\ny", "k: |-\n  x\n  y\n"},
        {"trail \nspace\n", "k: \"trail \\nspace\\n\"\n"},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *v = json_pack("{s:s}", "k", cases[i].value);
        struct hw_buf out;
        struct hw_error err = {0};

        hw_buf_init(&out, 0);
        ck_assert_int_eq(hw_yaml_emit(v, &out, &err), 0);
        ck_assert_str_eq(out.data, cases[i].want);
        hw_buf_free(&out);
        json_decref(v);
    }
}
END_TEST

START_TEST(test_yaml_emit_writes_numbers_that_read_back_with_their_type)
{
    json_t *v = json_pack("{s:I, s:f, s:f, s:f, s:b, s:n, s:{}, s:[]}", "int", (json_int_t)-42,
                          "real", 1.5, "whole", 8.0, "big", 1e300, "bool", 1, "nil", "map", "list");
    struct hw_buf out;
    struct hw_error err = {0};
    struct hw_yaml_stream *s;

    hw_buf_init(&out, 0);
    ck_assert_int_eq(hw_yaml_emit(v, &out, &err), 0);
    ck_assert_str_eq(out.data, "int: -42\nreal: 1.5\nwhole: 8.0\nbig: 1e+300\nbool: true\n"
                               "nil: null\nmap: {}\nlist: []\n");
    s = parse_ok(out.data, out.len);
    ck_assert(json_equal(v, s->docs[0].value));
    hw_yaml_free(s);
    hw_buf_free(&out);
    json_decref(v);
}
END_TEST

START_TEST(test_yaml_emit_fails_cleanly_when_the_output_is_full)
{
    json_t *v = json_pack("{s:s}", "key", "a value longer than the limit");
    struct hw_buf out;
    struct hw_error err = {0};

    hw_buf_init(&out, 8);
    ck_assert_int_eq(hw_yaml_emit(v, &out, &err), -1);
    ck_assert_int_eq(err.code, HW_ETOOBIG);
    hw_buf_free(&out);
    json_decref(v);
}
END_TEST

/* ---- fixtures ---- */

static void
for_each_fixture(void (*fn)(const char *path, const char *name))
{
    char dir[4096], path[8192];
    DIR *d;
    struct dirent *e;
    int n = 0;

    snprintf(dir, sizeof(dir), "%s/jobs", HW_TEST_DATA);
    d = opendir(dir);
    ck_assert_msg(d != NULL, "cannot open %s", dir);
    while ((e = readdir(d)) != NULL) {
        if (strstr(e->d_name, ".json") == NULL)
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        fn(path, e->d_name);
        n++;
    }
    closedir(d);
    ck_assert_int_ge(n, 11);
}

static void
fixture_round_trip(const char *path, const char *name)
{
    json_t *job = tu_json(path);
    size_t len;
    char *text = tu_read(path, &len);
    struct hw_buf out;
    struct hw_error err = {0};
    struct hw_yaml_stream *as_json, *as_yaml;

    /* JSON is YAML: the fixture's own text reads as the same value. */
    as_json = parse_ok(text, len);
    ck_assert_msg(json_equal(job, as_json->docs[0].value), "%s read as YAML differs", name);
    hw_buf_init(&out, 0);
    ck_assert_int_eq(hw_yaml_emit(job, &out, &err), 0);
    as_yaml = parse_ok(out.data, out.len);
    ck_assert_msg(json_equal(job, as_yaml->docs[0].value), "%s emitted differs:\n%.1500s", name, out.data);
    hw_yaml_free(as_yaml);
    hw_yaml_free(as_json);
    hw_buf_free(&out);
    free(text);
    json_decref(job);
}

START_TEST(test_yaml_round_trips_every_fixture_job)
{
    for_each_fixture(fixture_round_trip);
}
END_TEST

Suite *hw_suite_yaml(void);

Suite *
hw_suite_yaml(void)
{
    Suite *s = suite_create("yaml");
    TCase *t = tcase_create("load");

    tcase_add_loop_test(t, test_yaml_types_scalars_as_sigs_k8s_yaml_does, 0,
                        sizeof(typing) / sizeof(typing[0]));
    tcase_add_loop_test(t, test_yaml_rejects_bad_input_with_line_and_column, 0,
                        sizeof(bad) / sizeof(bad[0]));
    tcase_add_test(t, test_yaml_positions_name_every_key_and_item_by_path);
    tcase_add_test(t, test_yaml_expands_aliases_as_independent_copies);
    tcase_add_test(t, test_yaml_refuses_billion_laughs);
    tcase_add_test(t, test_yaml_refuses_nesting_deeper_than_the_limit);
    tcase_add_test(t, test_yaml_refuses_input_over_the_size_limit);
    suite_add_tcase(s, t);

    t = tcase_create("stream");
    tcase_add_test(t, test_yaml_splits_documents_into_ranges_that_tile_the_input);
    tcase_add_loop_test(t, test_yaml_write_copies_unchanged_streams_byte_for_byte, 0,
                        sizeof(verbatim) / sizeof(verbatim[0]));
    tcase_add_test(t, test_yaml_write_reemits_only_changed_documents);
    tcase_add_test(t, test_yaml_write_starts_a_changed_root_on_its_own_line);
    tcase_add_test(t, test_yaml_parses_a_large_chart_quickly);
    tcase_set_timeout(t, 60);
    suite_add_tcase(s, t);

    t = tcase_create("emit");
    tcase_add_loop_test(t, test_yaml_emit_round_trips_tricky_strings, 0,
                        sizeof(tricky) / sizeof(tricky[0]));
    tcase_add_test(t, test_yaml_emit_quotes_strings_that_would_change_type);
    tcase_add_test(t, test_yaml_emit_writes_numbers_that_read_back_with_their_type);
    tcase_add_test(t, test_yaml_emit_fails_cleanly_when_the_output_is_full);
    tcase_add_test(t, test_yaml_round_trips_every_fixture_job);
    suite_add_tcase(s, t);
    return s;
}

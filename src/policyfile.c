/* SPDX-License-Identifier: Apache-2.0 */
/*
 * policyfile: builds policy snapshots from policy files, JSON or YAML (by
 * the name: .json, .yaml or .yml; otherwise a file whose first character
 * is '{' is JSON). The built-in default is a JSON document parsed by the
 * same code as a user's file, so the two cannot drift; a file overlays it
 * key by key, then the command line replaces what it names, and the file's
 * per-namespace overrides are compiled for policylayer.c to apply after
 * both. Each document is parsed once, here, with the position of every key
 * (JSON: a scanner over the text; YAML: the yaml module's positions), so
 * policyschema.c can report each problem at FILE:LINE:COLUMN. It decides
 * nothing about objects; that is policy.c.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hookwarden/file.h"
#include "hookwarden/text.h"
#include "hookwarden/yaml.h"
#include "policy_impl.h"

#define POLICY_FILE_MAX HW_POLICY_FILE_MAX

struct scan;

static void scan_adv(struct scan *sc);
static void scan_ws(struct scan *sc);
static void scan_string(struct scan *sc, char *out, size_t outsz);
static void posmap_add(struct policy_posmap *pm, const char *path, int line, int col);
static void scan_value(struct scan *sc, char *path, size_t plen, size_t pcap);
static void posmap_build(struct policy_posmap *pm, const char *text, size_t len);
static void posmap_free(struct policy_posmap *pm);
static void text_problem(struct policy_vctx *v, const char *msg);
static int is_yaml(const char *source, const char *text, size_t len);
static json_t *parse_json(struct policy_vctx *v, const char *text, size_t len);
static int take_positions(struct policy_vctx *v, struct hw_yaml_stream *st);
static json_t *parse_yaml(struct policy_vctx *v, const char *text, size_t len);
static json_t *parse_doc(struct policy_vctx *v, const char *text, size_t len);
static int flag_pull_secrets(struct policy_settings *s, const struct hw_policy_overrides *ov,
                             json_t *hold, struct hw_error *err);
static int flag_label(struct policy_settings *s, const struct hw_policy_overrides *ov,
                      json_t *hold, struct hw_error *err);
static int apply_flags(struct hw_policy *p, const struct hw_policy_overrides *ov,
                       struct hw_error *err);
static unsigned review_needs(const struct hw_policy *p);
static int read_text(struct policy_vctx *v, struct hw_policy *p, int slot, const char *text,
                     size_t len);
static struct hw_policy *build(const char *text, size_t len, const char *source,
                               const struct hw_policy_overrides *ov, struct hw_buf *report,
                               struct hw_error *err, int *problems);

static const char default_policy[] =
    "{"
    "\"selector\":{\"labelKey\":\"hookwarden.io/migration\",\"labelValues\":[\"true\"]},"
    "\"namespaces\":{\"include\":[],\"exclude\":[]},"
    "\"hook\":{"
    "\"events\":{\"mode\":\"add\",\"value\":\"pre-install,pre-upgrade\"},"
    "\"deletePolicy\":{\"mode\":\"add\",\"value\":\"before-hook-creation,hook-succeeded\"},"
    "\"weight\":{\"mode\":\"off\",\"value\":\"0\"}},"
    "\"restartPolicy\":{\"mode\":\"enforce\",\"value\":\"Never\"},"
    "\"imagePullSecrets\":{\"mode\":\"merge\",\"names\":[]},"
    "\"job\":{"
    "\"backoffLimit\":{\"mode\":\"off\",\"value\":0},"
    "\"activeDeadlineSeconds\":{\"mode\":\"off\",\"value\":240},"
    "\"ttlSecondsAfterFinished\":{\"mode\":\"off\",\"value\":3600}},"
    "\"rules\":{"
    "\"not-a-hook\":\"warn\","
    "\"unknown-hook-value\":\"off\","
    "\"ttl-after-finished\":{\"action\":\"off\",\"minSeconds\":1},"
    "\"delete-policy\":\"off\","
    "\"active-deadline\":{\"action\":\"off\",\"helmTimeoutSeconds\":300},"
    "\"long-lived-sidecar\":{\"action\":\"off\",\"containers\":[\"istio-proxy\","
    "\"cloud-sql-proxy\",\"cloudsql-proxy\",\"linkerd-proxy\",\"vault-agent\"]}}"
    "}";

/* ---- key positions: path -> line:column, for messages ---- */

struct scan {
    const char *s;
    size_t len, i;
    int line, col;
    struct policy_posmap *pm;
    int depth;
};

static void
scan_adv(struct scan *sc)
{
    if (sc->s[sc->i] == '\n') {
        sc->line++;
        sc->col = 1;
    } else if (((unsigned char)sc->s[sc->i] & 0xC0) != 0x80) {
        sc->col++;
    }
    sc->i++;
}

static void
scan_ws(struct scan *sc)
{
    while (sc->i < sc->len && isspace((unsigned char)sc->s[sc->i]))
        scan_adv(sc);
}

/* Copies a JSON string's raw content (escapes kept: keys in policies are plain). */
static void
scan_string(struct scan *sc, char *out, size_t outsz)
{
    size_t n = 0;

    scan_adv(sc);  /* opening quote */
    while (sc->i < sc->len && sc->s[sc->i] != '"') {
        if (sc->s[sc->i] == '\\' && sc->i + 1 < sc->len) {
            if (out && n + 1 < outsz)
                out[n++] = sc->s[sc->i];
            scan_adv(sc);
        }
        if (out && n + 1 < outsz)
            out[n++] = sc->s[sc->i];
        scan_adv(sc);
    }
    if (sc->i < sc->len)
        scan_adv(sc);
    if (out)
        out[n] = '\0';
}

static void
posmap_add(struct policy_posmap *pm, const char *path, int line, int col)
{
    if (pm->n == pm->cap) {
        size_t cap = pm->cap ? pm->cap * 2 : 64;
        struct policy_pos *v = realloc(pm->v, cap * sizeof(*v));

        if (v == NULL)
            return;
        pm->v = v;
        pm->cap = cap;
    }
    pm->v[pm->n].path = strdup(path);
    if (pm->v[pm->n].path == NULL)
        return;
    pm->v[pm->n].line = line;
    pm->v[pm->n].col = col;
    pm->n++;
}

static void
scan_value(struct scan *sc, char *path, size_t plen, size_t pcap)
{
    char c;

    scan_ws(sc);
    if (sc->i >= sc->len || ++sc->depth > 64)
        return;
    c = sc->s[sc->i];
    if (c == '{' || c == '[') {
        size_t idx = 0;

        scan_adv(sc);
        for (;;) {
            char key[128];
            int line, col, n;

            scan_ws(sc);
            if (sc->i >= sc->len || sc->s[sc->i] == '}' || sc->s[sc->i] == ']') {
                if (sc->i < sc->len)
                    scan_adv(sc);
                break;
            }
            if (c == '{') {
                line = sc->line;
                col = sc->col;
                scan_string(sc, key, sizeof(key));
                n = snprintf(path + plen, pcap - plen, "/%s", key);
                if (n > 0 && (size_t)n < pcap - plen)
                    posmap_add(sc->pm, path, line, col);
                scan_ws(sc);
                if (sc->i < sc->len)
                    scan_adv(sc);  /* colon */
            } else {
                n = snprintf(path + plen, pcap - plen, "/%zu", idx++);
                if (n > 0 && (size_t)n < pcap - plen)
                    posmap_add(sc->pm, path, sc->line, sc->col);
            }
            if (n > 0 && (size_t)n < pcap - plen)
                scan_value(sc, path, plen + (size_t)n, pcap);
            else
                scan_value(sc, path, plen, pcap);
            path[plen] = '\0';
            scan_ws(sc);
            if (sc->i < sc->len && sc->s[sc->i] == ',')
                scan_adv(sc);
        }
    } else if (c == '"') {
        scan_string(sc, NULL, 0);
    } else {
        /* strchr() would also match the terminating NUL: a raw NUL byte is
         * part of the scalar, not a delimiter. */
        while (sc->i < sc->len &&
               (sc->s[sc->i] == '\0' || strchr(",]} \t\r\n", sc->s[sc->i]) == NULL))
            scan_adv(sc);
    }
    sc->depth--;
}

static void
posmap_build(struct policy_posmap *pm, const char *text, size_t len)
{
    struct scan sc = {text, len, 0, 1, 1, pm, 0};
    char path[512] = "";

    scan_value(&sc, path, 0, sizeof(path));
}

static void
posmap_free(struct policy_posmap *pm)
{
    for (size_t i = 0; i < pm->n; i++)
        free(pm->v[i].path);
    free(pm->v);
}

/* A problem found before there is a document: the position is in msg.
 * Parsers quote what they stopped at (a YAML key cut to 80 bytes, say):
 * the report stays one line of valid UTF-8 whatever that was. */
static void
text_problem(struct policy_vctx *v, const char *msg)
{
    char clean[HW_ERROR_MSG_MAX];

    hw_text_printable(clean, sizeof(clean), msg, strlen(msg), sizeof(clean) - 1);
    v->problems++;
    hw_error_set(v->err, HW_EINVAL, "%s", clean);
    if (v->report)
        hw_buf_printf(v->report, "%s\n", clean);
}

/*
 * JSON or YAML? By the name first (.json; .yaml or .yml), then by the
 * content: a JSON policy is an object, so its first character is '{'.
 * YAML that starts with '{' is flow-style YAML, which JSON syntax reads too.
 */
static int
is_yaml(const char *source, const char *text, size_t len)
{
    size_t n = strlen(source), i = 0;

    if (n >= 5 && strcmp(source + n - 5, ".json") == 0)
        return 0;
    if ((n >= 5 && strcmp(source + n - 5, ".yaml") == 0) ||
        (n >= 4 && strcmp(source + n - 4, ".yml") == 0))
        return 1;
    while (i < len && isspace((unsigned char)text[i]))
        i++;
    return i == len || text[i] != '{';
}

static json_t *
parse_json(struct policy_vctx *v, const char *text, size_t len)
{
    json_error_t jerr;
    json_t *doc;
    char msg[HW_ERROR_MSG_MAX];

    doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (doc == NULL) {
        /* jansson quotes the bytes it stopped at: keep the report one
         * printable line whatever they are. */
        for (char *c = jerr.text; *c; c++) {
            if ((unsigned char)*c < 0x20 || (unsigned char)*c >= 0x7f)
                *c = '?';
        }
        snprintf(msg, sizeof(msg), "%s:%d:%d: %s", v->source, jerr.line, jerr.column, jerr.text);
        text_problem(v, msg);
        return NULL;
    }
    posmap_build(&v->pm, text, len);
    return doc;
}

/* The positions the YAML reader recorded become the document's posmap. */
static int
take_positions(struct policy_vctx *v, struct hw_yaml_stream *st)
{
    v->pm.v = calloc(st->n_pos ? st->n_pos : 1, sizeof(*v->pm.v));
    if (v->pm.v == NULL)
        return -1;
    v->pm.cap = st->n_pos;
    for (size_t i = 0; i < st->n_pos; i++) {
        v->pm.v[i].path = st->pos[i].path;
        v->pm.v[i].line = (int)st->pos[i].line;
        v->pm.v[i].col = (int)st->pos[i].col;
        st->pos[i].path = NULL;
    }
    v->pm.n = st->n_pos;
    return 0;
}

static json_t *
parse_yaml(struct policy_vctx *v, const char *text, size_t len)
{
    struct hw_error yerr = {0};
    struct hw_yaml_stream *st;
    json_t *doc = NULL;
    char msg[HW_ERROR_MSG_MAX];

    v->yaml = 1;
    st = hw_yaml_parse_with(text, len, v->source, HW_YAML_POSITIONS, &yerr);
    if (st == NULL) {
        text_problem(v, yerr.msg);
        return NULL;
    }
    if (st->n_docs == 0 || json_is_null(st->docs[0].value)) {
        snprintf(msg, sizeof(msg), "%s:1:1: the policy file is empty: write {} for the built-in "
                 "default policy", v->source);
        text_problem(v, msg);
    } else if (st->n_docs > 1) {
        snprintf(msg, sizeof(msg), "%s:%u:1: a policy file is one YAML document; this is the "
                 "second", v->source, st->docs[1].line);
        text_problem(v, msg);
    } else if (take_positions(v, st) != 0) {
        hw_error_set(v->err, HW_EINTERNAL, "out of memory");
        v->problems++;
    } else {
        doc = json_incref(st->docs[0].value);
    }
    hw_yaml_free(st);
    return doc;
}

/* Parses a policy file's text, JSON or YAML, recording its keys' positions;
 * reports a syntax problem with its position. */
static json_t *
parse_doc(struct policy_vctx *v, const char *text, size_t len)
{
    char msg[HW_ERROR_MSG_MAX];

    if (len > POLICY_FILE_MAX) {
        snprintf(msg, sizeof(msg), "%s:1:1: policy file is larger than %d bytes", v->source,
                 POLICY_FILE_MAX);
        text_problem(v, msg);
        return NULL;
    }
    return is_yaml(v->source, text, len) ? parse_yaml(v, text, len) : parse_json(v, text, len);
}

/* --image-pull-secret: copied into hold, which the snapshot keeps. */
static int
flag_pull_secrets(struct policy_settings *s, const struct hw_policy_overrides *ov, json_t *hold,
                  struct hw_error *err)
{
    json_t *names = json_array();

    if (names == NULL || json_object_set_new(hold, "names", names) != 0) {
        hw_error_set(err, HW_EINTERNAL, "out of memory");
        return -1;
    }
    if (ov->n_pull_secrets > POLICY_LIST_MAX) {
        hw_error_set(err, HW_EINVAL, "at most %d --image-pull-secret flags", POLICY_LIST_MAX);
        return -1;
    }
    s->pull_secrets.n = 0;
    for (size_t i = 0; i < ov->n_pull_secrets; i++) {
        if (!policy_is_secret_name(ov->pull_secrets[i])) {
            hw_error_set(err, HW_EINVAL, "--image-pull-secret \"%s\" is not a valid Secret name",
                         ov->pull_secrets[i]);
            return -1;
        }
        json_array_append_new(names, json_string(ov->pull_secrets[i]));
        s->pull_secrets.v[s->pull_secrets.n++] = json_string_value(json_array_get(names, i));
    }
    s->pull_mode = HW_MODE_ADD;
    return 0;
}

/* --label KEY=VALUE: copied into hold, which the snapshot keeps. */
static int
flag_label(struct policy_settings *s, const struct hw_policy_overrides *ov, json_t *hold,
           struct hw_error *err)
{
    if (!policy_is_label_key(ov->label_key) || ov->label_value == NULL ||
        !policy_is_label_value(ov->label_value)) {
        hw_error_set(err, HW_EINVAL, "--label %s=%s is not a valid label selector", ov->label_key,
                     ov->label_value ? ov->label_value : "");
        return -1;
    }
    json_object_set_new(hold, "key", json_string(ov->label_key));
    json_object_set_new(hold, "value", json_string(ov->label_value));
    s->label_key = json_string_value(json_object_get(hold, "key"));
    s->label_values.v[0] = json_string_value(json_object_get(hold, "value"));
    s->label_values.n = s->label_values.v[0] != NULL;
    return s->label_key != NULL && s->label_values.n == 1 ? 0 : -1;
}

/* The command line's values replace the file's base layer; the file's
 * per-namespace overrides still apply after them, except that with
 * --hook-annotations=false no override turns the hook.* modes back on. */
static int
apply_flags(struct hw_policy *p, const struct hw_policy_overrides *ov, struct hw_error *err)
{
    json_t *hold;

    if (ov == NULL)
        return 0;
    /* Strings are copied into a document the snapshot owns, so a snapshot
     * never borrows from argv or a caller's buffer. */
    if ((hold = json_object()) == NULL) {
        hw_error_set(err, HW_EINTERNAL, "out of memory");
        return -1;
    }
    /* docs[1] may hold the file; chain the flags' copies under it. */
    if (p->docs[1] == NULL)
        p->docs[1] = hold;
    else if (json_object_set_new(p->docs[1], "hookwarden:overrides", hold) != 0)
        return -1;
    if (ov->label_key != NULL && flag_label(&p->base, ov, hold, err) != 0)
        return -1;
    if (ov->n_pull_secrets > 0 && flag_pull_secrets(&p->base, ov, hold, err) != 0)
        return -1;
    /* Helm 3 sorts hooks before its post-renderer runs: an annotation added
     * there would only hide the Job from not-a-hook. */
    if (ov->no_hook_annotations) {
        p->base.hook_events.mode = p->base.hook_delete.mode = p->base.hook_weight.mode = HW_MODE_OFF;
        for (size_t i = 0; i < p->n_overrides; i++)
            p->overrides[i].set &= ~policy_fields_hook_modes();
    }
    return 0;
}

/* Which parts of a review the rules read: any layer may turn a rule on. */
static unsigned
review_needs(const struct hw_policy *p)
{
    unsigned long long sidecar = policy_fields_rule_action(HW_RULE_SIDECAR);
    int on = p->base.actions[HW_RULE_SIDECAR] != HW_ACTION_OFF;

    for (size_t i = 0; i < p->n_overrides; i++)
        on |= (p->overrides[i].set & sidecar) &&
              p->overrides[i].values.actions[HW_RULE_SIDECAR] != HW_ACTION_OFF;
    return on ? HW_REVIEW_NEED_CONTAINERS : 0;
}

/* Reads one document (the default or a file) over p; 0 when it had no problem. */
static int
read_text(struct policy_vctx *v, struct hw_policy *p, int slot, const char *text, size_t len)
{
    p->docs[slot] = parse_doc(v, text, len);
    if (p->docs[slot] != NULL) {
        policy_read_doc(v, p->docs[slot], &p->base);
        if (policy_read_overrides(v, p->docs[slot], p) != 0)
            v->problems++;
    }
    posmap_free(&v->pm);
    return v->problems == 0 ? 0 : -1;
}

static struct hw_policy *
build(const char *text, size_t len, const char *source, const struct hw_policy_overrides *ov,
      struct hw_buf *report, struct hw_error *err, int *problems)
{
    struct policy_vctx dv = {.source = "built-in default", .base = "", .err = err};
    struct policy_vctx fv = {.source = source, .base = "", .report = report, .err = err};
    struct hw_policy *p;

    p = calloc(1, sizeof(*p));
    if (p == NULL) {
        hw_error_set(err, HW_EINTERNAL, "out of memory");
        return NULL;
    }
    atomic_init(&p->refs, 1);
    p->source = strdup(text ? source : "built-in default");
    if (p->source == NULL || read_text(&dv, p, 0, default_policy, sizeof(default_policy) - 1) != 0)
        goto fail;
    if (text != NULL) {
        int rc = read_text(&fv, p, 1, text, len);

        if (problems != NULL)
            *problems = fv.problems;
        if (rc != 0)
            goto fail;
    }
    if (apply_flags(p, ov, err) != 0)
        goto fail;
    p->review_needs = review_needs(p);
    return p;
fail:
    hw_policy_unref(p);
    return NULL;
}

const char *
hw_policy_default_text(void)
{
    return default_policy;
}

struct hw_policy *
hw_policy_new_default(const struct hw_policy_overrides *ov, struct hw_error *err)
{
    return build(NULL, 0, NULL, ov, NULL, err, NULL);
}

struct hw_policy *
hw_policy_parse(const char *text, size_t len, const char *source,
                const struct hw_policy_overrides *ov, struct hw_error *err)
{
    return build(text ? text : "", text ? len : 0, source ? source : "policy", ov, NULL, err, NULL);
}

struct hw_policy *
hw_policy_load(const char *path, const struct hw_policy_overrides *ov, struct hw_error *err)
{
    struct hw_policy *p;
    struct hw_buf b;

    if (hw_file_read(path, "policy file", HW_POLICY_FILE_MAX, &b, err) != 0)
        return NULL;
    p = hw_policy_parse(b.data ? b.data : "", b.len, path, ov, err);
    hw_buf_free(&b);
    return p;
}

int
hw_policy_check(const char *text, size_t len, const char *source, struct hw_buf *report)
{
    struct hw_policy *p;
    int problems = 0;

    p = build(text ? text : "", text ? len : 0, source ? source : "policy", NULL, report, NULL,
              &problems);
    hw_policy_unref(p);
    return problems;
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * policyfile: builds policy snapshots from JSON. The built-in default is a
 * JSON document parsed by the same code as a user's file, so the two cannot
 * drift; a file overlays it key by key, then command-line overrides win.
 * Files are strict: duplicate keys, unknown keys, wrong types and values
 * Helm would not understand are refused, each reported with the line and
 * column of the key (keys starting with "//" are comments). It decides
 * nothing about objects; that is policy.c.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy_impl.h"

#define POLICY_FILE_MAX (1024 * 1024)

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

struct pos {
    char *path;
    int line, col;
};

struct posmap {
    struct pos *v;
    size_t n, cap;
};

struct scan {
    const char *s;
    size_t len, i;
    int line, col;
    struct posmap *pm;
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
posmap_add(struct posmap *pm, const char *path, int line, int col)
{
    if (pm->n == pm->cap) {
        size_t cap = pm->cap ? pm->cap * 2 : 64;
        struct pos *v = realloc(pm->v, cap * sizeof(*v));

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

static void scan_value(struct scan *sc, char *path, size_t plen, size_t pcap);

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
        while (sc->i < sc->len && !strchr(",]} \t\r\n", sc->s[sc->i]))
            scan_adv(sc);
    }
    sc->depth--;
}

static void
posmap_build(struct posmap *pm, const char *text, size_t len)
{
    struct scan sc = {text, len, 0, 1, 1, pm, 0};
    char path[512] = "";

    scan_value(&sc, path, 0, sizeof(path));
}

static void
posmap_free(struct posmap *pm)
{
    for (size_t i = 0; i < pm->n; i++)
        free(pm->v[i].path);
    free(pm->v);
}

/* ---- validation context ---- */

struct vctx {
    const char *source;
    struct posmap pm;
    struct hw_buf *report;  /* NULL when only the first problem matters */
    struct hw_error *err;
    int problems;
};

static void
problem(struct vctx *v, const char *path, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void
problem(struct vctx *v, const char *path, const char *fmt, ...)
{
    char msg[400];
    int line = 1, col = 1;
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    /* Keys come from the file: one problem stays on one report line. */
    for (char *c = msg; *c; c++) {
        if ((unsigned char)*c < 0x20 || *c == 0x7f)
            *c = '?';
    }
    for (size_t i = 0; i < v->pm.n; i++) {
        if (strcmp(v->pm.v[i].path, path) == 0) {
            line = v->pm.v[i].line;
            col = v->pm.v[i].col;
            break;
        }
    }
    v->problems++;
    hw_error_set(v->err, HW_EINVAL, "%s:%d:%d: %s", v->source, line, col, msg);
    if (v->report != NULL)
        hw_buf_printf(v->report, "%s:%d:%d: %s\n", v->source, line, col, msg);
}

/* Reports keys of obj (at path) that are not in allowed; NULL-terminated. */
static void
check_keys(struct vctx *v, const json_t *obj, const char *path, const char *const *allowed)
{
    const char *key;
    const json_t *val;
    char sub[640];

    json_object_foreach((json_t *)obj, key, val) {
        int ok = strncmp(key, "//", 2) == 0;

        for (size_t i = 0; !ok && allowed[i] != NULL; i++)
            ok = strcmp(key, allowed[i]) == 0;
        if (!ok) {
            snprintf(sub, sizeof(sub), "%s/%s", path, key);
            problem(v, sub, "unknown key \"%s\" in %s", key, path[0] ? path : "the policy");
        }
    }
}

/* Returns the member key of obj if present (non-null), else NULL; reports
 * a wrong type. type is a JSON_* constant; JSON_INTEGER also takes no real. */
static const json_t *
member(struct vctx *v, const json_t *obj, const char *path, const char *key, json_type type,
       const char *what)
{
    const json_t *m = json_object_get(obj, key);
    char sub[640];

    if (m == NULL)
        return NULL;
    if (json_typeof(m) != type && !(type == JSON_TRUE && json_is_boolean(m))) {
        snprintf(sub, sizeof(sub), "%s/%s", path, key);
        problem(v, sub, "%s/%s must be %s", path, key, what);
        return NULL;
    }
    return m;
}

static int
is_dns_label(const char *s, size_t max)
{
    size_t n = strlen(s);

    if (n == 0 || n > max || !isalnum((unsigned char)s[0]) || !isalnum((unsigned char)s[n - 1]))
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (!islower((unsigned char)s[i]) && !isdigit((unsigned char)s[i]) && s[i] != '-' &&
            s[i] != '.')
            return 0;
    }
    return 1;
}

/* Kubernetes label value (and label key name part): <=63, alnum ends, -_. inside. */
static int
is_label_value(const char *s)
{
    size_t n = strlen(s);

    if (n == 0)
        return 1;
    if (n > 63 || !isalnum((unsigned char)s[0]) || !isalnum((unsigned char)s[n - 1]))
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (!isalnum((unsigned char)s[i]) && !strchr("-_.", s[i]))
            return 0;
    }
    return 1;
}

static int
is_label_key(const char *s)
{
    const char *slash = strchr(s, '/');
    char prefix[254];

    if (slash == NULL)
        return s[0] != '\0' && is_label_value(s);
    if ((size_t)(slash - s) >= sizeof(prefix) || slash == s)
        return 0;
    memcpy(prefix, s, (size_t)(slash - s));
    prefix[slash - s] = '\0';
    return is_dns_label(prefix, 253) && slash[1] != '\0' && is_label_value(slash + 1);
}

static void
read_strlist(struct vctx *v, const json_t *arr, const char *path, struct policy_strlist *out,
             int (*valid)(const char *), const char *what)
{
    size_t i;
    const json_t *e;
    char sub[640];

    out->n = 0;
    json_array_foreach(arr, i, e) {
        snprintf(sub, sizeof(sub), "%s/%zu", path, i);
        if (!json_is_string(e) || strlen(json_string_value(e)) != json_string_length(e)) {
            problem(v, sub, "%s must be a string", sub);
            continue;
        }
        if (valid != NULL && !valid(json_string_value(e))) {
            problem(v, sub, "\"%s\" is not a valid %s", json_string_value(e), what);
            continue;
        }
        if (out->n == POLICY_LIST_MAX) {
            problem(v, sub, "%s has more than %d entries", path, POLICY_LIST_MAX);
            return;
        }
        out->v[out->n++] = json_string_value(e);
    }
}

static int
is_namespace(const char *s)
{
    return is_dns_label(s, 63) && strchr(s, '.') == NULL;
}

static int
is_secret_name(const char *s)
{
    return is_dns_label(s, 253);
}

static int
mode_of(struct vctx *v, const json_t *obj, const char *path, int merge_word, enum hw_mode *mode)
{
    const json_t *m = member(v, obj, path, "mode", JSON_STRING, "a string");
    const char *s;
    char sub[640];

    if (m == NULL)
        return 0;
    s = json_string_value(m);
    if (strcmp(s, "off") == 0)
        *mode = HW_MODE_OFF;
    else if (!merge_word && strcmp(s, "add") == 0)
        *mode = HW_MODE_ADD;
    else if (!merge_word && strcmp(s, "enforce") == 0)
        *mode = HW_MODE_ENFORCE;
    else if (merge_word && strcmp(s, "merge") == 0)
        *mode = HW_MODE_ADD;
    else {
        snprintf(sub, sizeof(sub), "%s/mode", path);
        problem(v, sub, "%s/mode \"%s\" is not one of %s", path, s,
                merge_word ? "merge, off" : "add, enforce, off");
        return -1;
    }
    return 0;
}

static const char *const setting_keys[] = {"mode", "value", NULL};

/* A Helm list value: every comma-separated part must be known to Helm. */
static int
helm_list_ok(const char *s, int (*known)(const char *, size_t))
{
    const char *p = s;

    for (;;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        const char *a = p;

        while (len > 0 && isspace((unsigned char)*a)) {
            a++;
            len--;
        }
        while (len > 0 && isspace((unsigned char)a[len - 1]))
            len--;
        if (!known(a, len))
            return 0;
        if (end == NULL)
            return 1;
        p = end + 1;
    }
}

enum str_kind { STR_EVENTS, STR_DELETE, STR_WEIGHT, STR_RESTART };

static void
read_str_setting(struct vctx *v, const json_t *parent, const char *ppath, const char *key,
                 enum str_kind kind, struct policy_str *out)
{
    const json_t *obj = member(v, parent, ppath, key, JSON_OBJECT, "an object with mode and value");
    const json_t *val;
    char path[512], sub[640];
    const char *s;

    if (obj == NULL)
        return;
    snprintf(path, sizeof(path), "%s/%s", ppath, key);
    check_keys(v, obj, path, setting_keys);
    mode_of(v, obj, path, 0, &out->mode);
    val = member(v, obj, path, "value", JSON_STRING, "a string");
    if (val == NULL)
        return;
    s = json_string_value(val);
    snprintf(sub, sizeof(sub), "%s/value", path);
    switch (kind) {
    case STR_EVENTS:
        if (!helm_list_ok(s, policy_is_known_event)) {
            problem(v, sub, "hook events \"%s\" include one Helm does not know (Helm would skip the "
                    "Job); use pre-install, post-install, pre-upgrade, post-upgrade, pre-delete, "
                    "post-delete, pre-rollback, post-rollback, test", s);
            return;
        }
        break;
    case STR_DELETE:
        if (!helm_list_ok(s, policy_is_known_delete_policy)) {
            problem(v, sub, "delete policy \"%s\" includes a value Helm does not know; use "
                    "before-hook-creation, hook-succeeded, hook-failed", s);
            return;
        }
        break;
    case STR_WEIGHT: {
        char *end;

        errno = 0;
        (void)strtol(s, &end, 10);
        if (s[0] == '\0' || *end != '\0' || errno != 0 || isspace((unsigned char)s[0])) {
            problem(v, sub, "hook weight \"%s\" is not an integer (Helm would read it as 0)", s);
            return;
        }
        break;
    }
    case STR_RESTART:
        if (strcmp(s, "Never") != 0 && strcmp(s, "OnFailure") != 0) {
            problem(v, sub, "restartPolicy \"%s\" is not valid for a Job: use Never or OnFailure", s);
            return;
        }
        break;
    }
    out->value = s;
}

static void
read_int_setting(struct vctx *v, const json_t *parent, const char *ppath, const char *key,
                 long long min, struct policy_int *out)
{
    const json_t *obj = member(v, parent, ppath, key, JSON_OBJECT, "an object with mode and value");
    const json_t *val;
    char path[512], sub[640];

    if (obj == NULL)
        return;
    snprintf(path, sizeof(path), "%s/%s", ppath, key);
    check_keys(v, obj, path, setting_keys);
    mode_of(v, obj, path, 0, &out->mode);
    val = member(v, obj, path, "value", JSON_INTEGER, "an integer");
    if (val == NULL)
        return;
    snprintf(sub, sizeof(sub), "%s/value", path);
    if (json_integer_value(val) < min || json_integer_value(val) > 2147483647) {
        problem(v, sub, "%s must be between %lld and 2147483647", path, min);
        return;
    }
    out->value = json_integer_value(val);
}

static void
read_selector(struct vctx *v, const json_t *doc, struct hw_policy *p)
{
    static const char *const keys[] = {"labelKey", "labelValues", NULL};
    const json_t *sel = member(v, doc, "", "selector", JSON_OBJECT, "an object"), *m;

    if (sel == NULL)
        return;
    check_keys(v, sel, "/selector", keys);
    m = member(v, sel, "/selector", "labelKey", JSON_STRING, "a string");
    if (m != NULL) {
        if (!is_label_key(json_string_value(m)))
            problem(v, "/selector/labelKey", "\"%s\" is not a valid label key",
                    json_string_value(m));
        else
            p->label_key = json_string_value(m);
    }
    m = member(v, sel, "/selector", "labelValues", JSON_ARRAY, "an array of strings");
    if (m != NULL)
        read_strlist(v, m, "/selector/labelValues", &p->label_values, is_label_value,
                     "label value");
}

static void
read_namespaces(struct vctx *v, const json_t *doc, struct hw_policy *p)
{
    static const char *const keys[] = {"include", "exclude", NULL};
    const json_t *ns = member(v, doc, "", "namespaces", JSON_OBJECT, "an object"), *m;

    if (ns == NULL)
        return;
    check_keys(v, ns, "/namespaces", keys);
    if ((m = member(v, ns, "/namespaces", "include", JSON_ARRAY, "an array of strings")) != NULL)
        read_strlist(v, m, "/namespaces/include", &p->ns_include, is_namespace, "namespace name");
    if ((m = member(v, ns, "/namespaces", "exclude", JSON_ARRAY, "an array of strings")) != NULL)
        read_strlist(v, m, "/namespaces/exclude", &p->ns_exclude, is_namespace, "namespace name");
}

static void
read_settings(struct vctx *v, const json_t *doc, struct hw_policy *p)
{
    static const char *const hook_keys[] = {"events", "deletePolicy", "weight", NULL};
    static const char *const ips_keys[] = {"mode", "names", NULL};
    static const char *const job_keys[] = {"backoffLimit", "activeDeadlineSeconds",
                                           "ttlSecondsAfterFinished", NULL};
    const json_t *o, *m;

    if ((o = member(v, doc, "", "hook", JSON_OBJECT, "an object")) != NULL) {
        check_keys(v, o, "/hook", hook_keys);
        read_str_setting(v, o, "/hook", "events", STR_EVENTS, &p->hook_events);
        read_str_setting(v, o, "/hook", "deletePolicy", STR_DELETE, &p->hook_delete);
        read_str_setting(v, o, "/hook", "weight", STR_WEIGHT, &p->hook_weight);
    }
    read_str_setting(v, doc, "", "restartPolicy", STR_RESTART, &p->restart_policy);
    if ((o = member(v, doc, "", "imagePullSecrets", JSON_OBJECT, "an object")) != NULL) {
        check_keys(v, o, "/imagePullSecrets", ips_keys);
        mode_of(v, o, "/imagePullSecrets", 1, &p->pull_mode);
        if ((m = member(v, o, "/imagePullSecrets", "names", JSON_ARRAY, "an array of strings")))
            read_strlist(v, m, "/imagePullSecrets/names", &p->pull_secrets, is_secret_name,
                         "Secret name");
    }
    if ((o = member(v, doc, "", "job", JSON_OBJECT, "an object")) != NULL) {
        check_keys(v, o, "/job", job_keys);
        read_int_setting(v, o, "/job", "backoffLimit", 0, &p->backoff_limit);
        read_int_setting(v, o, "/job", "activeDeadlineSeconds", 1, &p->active_deadline);
        read_int_setting(v, o, "/job", "ttlSecondsAfterFinished", 0, &p->ttl);
    }
}

static int
action_of(struct vctx *v, const json_t *val, const char *path, enum hw_action *out)
{
    const char *s = json_string_value(val);

    for (int i = 0; s != NULL && i < 3; i++) {
        if (strcmp(s, hw_policy_action_name((enum hw_action)i)) == 0) {
            *out = (enum hw_action)i;
            return 0;
        }
    }
    problem(v, path, "%s must be one of off, warn, deny", path);
    return -1;
}

static void
read_rule_params(struct vctx *v, const json_t *obj, const char *path, enum hw_rule r,
                 struct hw_policy *p)
{
    static const char *const ttl_keys[] = {"action", "minSeconds", NULL};
    static const char *const ads_keys[] = {"action", "helmTimeoutSeconds", NULL};
    static const char *const car_keys[] = {"action", "containers", NULL};
    static const char *const plain_keys[] = {"action", NULL};
    const json_t *m;
    char sub[640];

    switch (r) {
    case HW_RULE_TTL:
        check_keys(v, obj, path, ttl_keys);
        if ((m = member(v, obj, path, "minSeconds", JSON_INTEGER, "an integer")) != NULL) {
            snprintf(sub, sizeof(sub), "%s/minSeconds", path);
            if (json_integer_value(m) < 0 || json_integer_value(m) > 2147483647)
                problem(v, sub, "%s must be between 0 and 2147483647", sub);
            else
                p->ttl_min_seconds = json_integer_value(m);
        }
        break;
    case HW_RULE_ACTIVE_DEADLINE:
        check_keys(v, obj, path, ads_keys);
        if ((m = member(v, obj, path, "helmTimeoutSeconds", JSON_INTEGER, "an integer")) != NULL) {
            snprintf(sub, sizeof(sub), "%s/helmTimeoutSeconds", path);
            if (json_integer_value(m) < 1 || json_integer_value(m) > 2147483647)
                problem(v, sub, "%s must be between 1 and 2147483647", sub);
            else
                p->helm_timeout_seconds = json_integer_value(m);
        }
        break;
    case HW_RULE_SIDECAR:
        check_keys(v, obj, path, car_keys);
        if ((m = member(v, obj, path, "containers", JSON_ARRAY, "an array of strings")) != NULL) {
            snprintf(sub, sizeof(sub), "%s/containers", path);
            read_strlist(v, m, sub, &p->sidecars, NULL, "container name");
        }
        break;
    default:
        check_keys(v, obj, path, plain_keys);
    }
}

static void
read_rules(struct vctx *v, const json_t *doc, struct hw_policy *p)
{
    const json_t *rules = member(v, doc, "", "rules", JSON_OBJECT, "an object"), *val;
    const char *key;
    char path[512];

    if (rules == NULL)
        return;
    json_object_foreach((json_t *)rules, key, val) {
        int r;

        if (strncmp(key, "//", 2) == 0)
            continue;
        snprintf(path, sizeof(path), "/rules/%s", key);
        for (r = 0; r < HW_RULE_COUNT; r++) {
            if (strcmp(key, hw_policy_rule_name((enum hw_rule)r)) == 0)
                break;
        }
        if (r == HW_RULE_COUNT) {
            problem(v, path, "unknown rule \"%s\"; rules are not-a-hook, unknown-hook-value, "
                    "ttl-after-finished, delete-policy, active-deadline, long-lived-sidecar", key);
            continue;
        }
        if (json_is_string(val)) {
            action_of(v, val, path, &p->actions[r]);
        } else if (json_is_object(val)) {
            const json_t *a = json_object_get(val, "action");
            char sub[640];

            snprintf(sub, sizeof(sub), "%s/action", path);
            if (a != NULL)
                action_of(v, a, sub, &p->actions[r]);
            read_rule_params(v, val, path, (enum hw_rule)r, p);
        } else {
            problem(v, path, "%s must be off, warn, deny or an object with an action", path);
        }
    }
}

static void
read_doc(struct vctx *v, const json_t *doc, struct hw_policy *p)
{
    static const char *const top[] = {"selector", "namespaces", "hook", "restartPolicy",
                                      "imagePullSecrets", "job", "rules", NULL};

    if (!json_is_object(doc)) {
        problem(v, "", "a policy must be a JSON object");
        return;
    }
    check_keys(v, doc, "", top);
    read_selector(v, doc, p);
    read_namespaces(v, doc, p);
    read_settings(v, doc, p);
    read_rules(v, doc, p);
}

/* Parses text into a document; reports a syntax problem with its position. */
static json_t *
parse_doc(struct vctx *v, const char *text, size_t len)
{
    json_error_t jerr;
    json_t *doc;

    if (len > POLICY_FILE_MAX) {
        v->problems++;
        hw_error_set(v->err, HW_EINVAL, "%s: policy file is larger than %d bytes", v->source,
                     POLICY_FILE_MAX);
        if (v->report)
            hw_buf_printf(v->report, "%s:1:1: policy file is larger than %d bytes\n", v->source,
                          POLICY_FILE_MAX);
        return NULL;
    }
    doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (doc == NULL) {
        /* jansson quotes the bytes it stopped at: keep the report one
         * printable line whatever they are. */
        for (char *c = jerr.text; *c; c++) {
            if ((unsigned char)*c < 0x20 || (unsigned char)*c >= 0x7f)
                *c = '?';
        }
        v->problems++;
        hw_error_set(v->err, HW_EINVAL, "%s:%d:%d: %s", v->source, jerr.line, jerr.column,
                     jerr.text);
        if (v->report)
            hw_buf_printf(v->report, "%s:%d:%d: %s\n", v->source, jerr.line, jerr.column,
                          jerr.text);
        return NULL;
    }
    posmap_build(&v->pm, text, len);
    return doc;
}

static int
apply_overrides(struct hw_policy *p, const struct hw_policy_overrides *ov, struct hw_error *err)
{
    json_t *hold;

    if (ov == NULL)
        return 0;
    /* Override strings are copied into a document the snapshot owns, so a
     * snapshot never borrows from argv or a caller's buffer. */
    hold = json_object();
    if (hold == NULL)
        return -1;
    if (ov->label_key != NULL) {
        if (!is_label_key(ov->label_key) || ov->label_value == NULL ||
            !is_label_value(ov->label_value)) {
            hw_error_set(err, HW_EINVAL, "--label %s=%s is not a valid label selector",
                         ov->label_key, ov->label_value ? ov->label_value : "");
            json_decref(hold);
            return -1;
        }
        json_object_set_new(hold, "key", json_string(ov->label_key));
        json_object_set_new(hold, "value", json_string(ov->label_value));
        p->label_key = json_string_value(json_object_get(hold, "key"));
        p->label_values.v[0] = json_string_value(json_object_get(hold, "value"));
        p->label_values.n = 1;
    }
    if (ov->n_pull_secrets > 0) {
        json_t *names = json_array();

        json_object_set_new(hold, "names", names);
        if (ov->n_pull_secrets > POLICY_LIST_MAX) {
            hw_error_set(err, HW_EINVAL, "at most %d --image-pull-secret flags", POLICY_LIST_MAX);
            json_decref(hold);
            return -1;
        }
        p->pull_secrets.n = 0;
        for (size_t i = 0; i < ov->n_pull_secrets; i++) {
            if (!is_secret_name(ov->pull_secrets[i])) {
                hw_error_set(err, HW_EINVAL, "--image-pull-secret \"%s\" is not a valid Secret name",
                             ov->pull_secrets[i]);
                json_decref(hold);
                return -1;
            }
            json_array_append_new(names, json_string(ov->pull_secrets[i]));
            p->pull_secrets.v[p->pull_secrets.n++] = json_string_value(json_array_get(names, i));
        }
        p->pull_mode = HW_MODE_ADD;
    }
    /* Helm 3 sorts hooks before its post-renderer runs: an annotation added
     * there would only hide the Job from not-a-hook. */
    if (ov->no_hook_annotations)
        p->hook_events.mode = p->hook_delete.mode = p->hook_weight.mode = HW_MODE_OFF;
    /* docs[1] may hold the file; chain the overrides under it. */
    if (p->docs[1] == NULL)
        p->docs[1] = hold;
    else
        json_object_set_new(p->docs[1], "hookwarden:overrides", hold);
    return 0;
}

static struct hw_policy *
build(const char *text, size_t len, const char *source, const struct hw_policy_overrides *ov,
      struct hw_buf *report, struct hw_error *err, int *problems)
{
    struct vctx dv = {"built-in default", {0}, NULL, err, 0};
    struct vctx fv = {source, {0}, report, err, 0};
    struct hw_policy *p;

    p = calloc(1, sizeof(*p));
    if (p == NULL) {
        hw_error_set(err, HW_EINTERNAL, "out of memory");
        return NULL;
    }
    atomic_init(&p->refs, 1);
    p->source = strdup(text ? source : "built-in default");
    p->docs[0] = parse_doc(&dv, default_policy, sizeof(default_policy) - 1);
    if (p->source == NULL || p->docs[0] == NULL)
        goto fail;
    read_doc(&dv, p->docs[0], p);
    posmap_free(&dv.pm);
    if (dv.problems != 0)
        goto fail;
    if (text != NULL) {
        p->docs[1] = parse_doc(&fv, text, len);
        if (p->docs[1] != NULL)
            read_doc(&fv, p->docs[1], p);
        posmap_free(&fv.pm);
        if (problems != NULL)
            *problems = fv.problems;
        if (fv.problems != 0)
            goto fail;
    }
    if (apply_overrides(p, ov, err) != 0)
        goto fail;
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
    struct hw_policy *p = NULL;
    struct hw_buf b;
    char chunk[8192];
    size_t n;
    FILE *f;

    hw_buf_init(&b, POLICY_FILE_MAX + 1);
    f = fopen(path, "rb");
    if (f == NULL) {
        hw_error_set(err, HW_EINVAL, "%s: cannot open policy file: %s", path, strerror(errno));
        return NULL;
    }
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        if (hw_buf_append(&b, chunk, n) != 0) {
            hw_error_set(err, HW_EINVAL, "%s: policy file is larger than %d bytes", path,
                         POLICY_FILE_MAX);
            goto out;
        }
    }
    if (ferror(f)) {
        hw_error_set(err, HW_EINVAL, "%s: cannot read policy file: %s", path, strerror(errno));
        goto out;
    }
    p = hw_policy_parse(b.data ? b.data : "", b.len, path, ov, err);
out:
    fclose(f);
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

/* ---- describing a snapshot ---- */

static json_t *
strlist_json(const struct policy_strlist *l)
{
    json_t *a = json_array();

    for (size_t i = 0; a != NULL && i < l->n; i++) {
        if (json_array_append_new(a, json_string(l->v[i])) != 0) {
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

static const char *
mode_name(enum hw_mode mode, int merge_word)
{
    if (mode == HW_MODE_OFF)
        return "off";
    if (merge_word)
        return "merge";
    return mode == HW_MODE_ADD ? "add" : "enforce";
}

static json_t *
str_setting_json(const struct policy_str *s)
{
    return json_pack("{s:s, s:s}", "mode", mode_name(s->mode, 0), "value", s->value);
}

static json_t *
int_setting_json(const struct policy_int *s)
{
    return json_pack("{s:s, s:I}", "mode", mode_name(s->mode, 0), "value", (json_int_t)s->value);
}

static json_t *
rules_json(const struct hw_policy *p)
{
    json_t *rules = json_object();

    for (int r = 0; rules != NULL && r < HW_RULE_COUNT; r++) {
        json_t *rule = json_pack("{s:s}", "action", hw_policy_action_name(p->actions[r]));

        if (rule != NULL && r == HW_RULE_TTL)
            json_object_set_new(rule, "minSeconds", json_integer(p->ttl_min_seconds));
        else if (rule != NULL && r == HW_RULE_ACTIVE_DEADLINE)
            json_object_set_new(rule, "helmTimeoutSeconds", json_integer(p->helm_timeout_seconds));
        else if (rule != NULL && r == HW_RULE_SIDECAR)
            json_object_set_new(rule, "containers", strlist_json(&p->sidecars));
        if (rule == NULL || json_object_set_new(rules, hw_policy_rule_name((enum hw_rule)r), rule) != 0) {
            json_decref(rules);
            return NULL;
        }
    }
    return rules;
}

json_t *
hw_policy_describe(const struct hw_policy *p)
{
    /* json_pack's "o" takes the references and fails (freeing them) as a
     * whole when one is NULL, so a failed allocation anywhere gives NULL. */
    return json_pack(
        "{s:{s:s, s:o}, s:{s:o, s:o}, s:{s:o, s:o, s:o}, s:o, s:{s:s, s:o},"
        " s:{s:o, s:o, s:o}, s:o}",
        "selector", "labelKey", p->label_key, "labelValues", strlist_json(&p->label_values),
        "namespaces", "include", strlist_json(&p->ns_include), "exclude", strlist_json(&p->ns_exclude),
        "hook", "events", str_setting_json(&p->hook_events), "deletePolicy",
        str_setting_json(&p->hook_delete), "weight", str_setting_json(&p->hook_weight),
        "restartPolicy", str_setting_json(&p->restart_policy),
        "imagePullSecrets", "mode", mode_name(p->pull_mode, 1), "names", strlist_json(&p->pull_secrets),
        "job", "backoffLimit", int_setting_json(&p->backoff_limit), "activeDeadlineSeconds",
        int_setting_json(&p->active_deadline), "ttlSecondsAfterFinished", int_setting_json(&p->ttl),
        "rules", rules_json(p));
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * policyschema: the policy file's schema, read from a parsed document into
 * settings. Every key is checked as it is read: unknown keys, wrong types,
 * values Helm or Kubernetes would not accept, and override entries (their
 * namespace patterns must be able to match a namespace the policy applies
 * to; they may not set selector or nest overrides). Each problem is
 * reported at the line and column of its key, from the positions the
 * document's reader recorded (JSON or YAML, policyfile.c). Keys starting
 * with "//" are comments. Where a YAML plain scalar was typed as a boolean
 * or a number but the schema wants a string, the message says how to quote
 * it. It neither parses text nor decides anything about objects.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hookwarden/text.h"
#include "policy_impl.h"

enum str_kind { STR_EVENTS, STR_DELETE, STR_WEIGHT, STR_RESTART };

static void position_of(const struct policy_vctx *v, const char *path, int *line, int *col);
static void problem(struct policy_vctx *v, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void where(const struct policy_vctx *v, const char *path, char *out, size_t outsz);
static const char *yaml_hint(const struct policy_vctx *v, const json_t *got, char *buf, size_t n);
static void check_keys(struct policy_vctx *v, const json_t *obj, const char *path,
                       const char *const *allowed);
static const json_t *member(struct policy_vctx *v, const json_t *obj, const char *path,
                            const char *key, json_type type, const char *what);
static int is_dns_label(const char *s, size_t max);
static void read_strlist(struct policy_vctx *v, const json_t *arr, const char *path,
                         struct policy_strlist *out, int (*valid)(const char *), const char *what);
static int mode_of(struct policy_vctx *v, const json_t *obj, const char *path, int merge_word,
                   enum hw_mode *mode);
static int helm_list_ok(const char *s, int (*known)(const char *, size_t));
static int str_valid(enum str_kind kind, const char *s, char *why, size_t n);
static void read_str_setting(struct policy_vctx *v, const json_t *parent, const char *ppath,
                             const char *key, enum str_kind kind, struct policy_str *out);
static void read_int_setting(struct policy_vctx *v, const json_t *parent, const char *ppath,
                             const char *key, long long min, struct policy_int *out);
static void read_selector(struct policy_vctx *v, const json_t *doc, struct policy_settings *p);
static void read_namespaces(struct policy_vctx *v, const json_t *doc, struct policy_settings *p);
static void read_settings(struct policy_vctx *v, const json_t *doc, struct policy_settings *p);
static int action_of(struct policy_vctx *v, const json_t *val, const char *path,
                     enum hw_action *out);
static void read_rule_int(struct policy_vctx *v, const json_t *obj, const char *path,
                          const char *key, long long min, long long *out);
static void read_rule_params(struct policy_vctx *v, const json_t *obj, const char *path,
                             enum hw_rule r, struct policy_settings *p);
static void read_rules(struct policy_vctx *v, const json_t *doc, struct policy_settings *p);
static void check_pattern(struct policy_vctx *v, const char *path, const char *pat,
                          const struct policy_settings *base);
static void read_patterns(struct policy_vctx *v, const json_t *entry, struct policy_override *o,
                          const struct policy_settings *base);
static void read_override(struct policy_vctx *v, const json_t *entry, struct policy_override *o,
                          const struct policy_settings *base);

/* ---- problems ---- */

/* Where path (or, failing that, its nearest recorded parent: keys an alias
 * or a YAML merge brought have none of their own) was written. */
static void
position_of(const struct policy_vctx *v, const char *path, int *line, int *col)
{
    char p[640];
    char *slash;

    snprintf(p, sizeof(p), "%s", path);
    *line = *col = 1;
    for (;;) {
        for (size_t i = 0; i < v->pm.n; i++) {
            if (strcmp(v->pm.v[i].path, p) == 0) {
                *line = v->pm.v[i].line;
                *col = v->pm.v[i].col;
                return;
            }
        }
        if ((slash = strrchr(p, '/')) == NULL)
            return;
        *slash = '\0';
    }
}

/* Reports a problem at path's position ("source:line:col: message"). */
static void
problem(struct policy_vctx *v, const char *path, const char *fmt, ...)
{
    char raw[480], msg[480];
    int line, col;
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(raw, sizeof(raw), fmt, ap);
    va_end(ap);
    /* Keys come from the file: one problem stays on one report line, of
     * valid UTF-8 even where the message was cut inside a character. */
    hw_text_printable(msg, sizeof(msg), raw, strlen(raw), sizeof(msg) - 1);
    position_of(v, path, &line, &col);
    v->problems++;
    hw_error_set(v->err, HW_EINVAL, "%s:%d:%d: %s", v->source, line, col, msg);
    if (v->report != NULL)
        hw_buf_printf(v->report, "%s:%d:%d: %s\n", v->source, line, col, msg);
}

/* "source:line:col" of path, into out. */
static void
where(const struct policy_vctx *v, const char *path, char *out, size_t outsz)
{
    int line, col;

    position_of(v, path, &line, &col);
    snprintf(out, outsz, "%s:%d:%d", v->source, line, col);
}

/* What a YAML author may have meant when the schema wants a string: go-yaml
 * (and so hookwarden) types plain off/on/yes/no and numbers. The hint goes
 * after a message, into buf; "" for JSON. */
static const char *
yaml_hint(const struct policy_vctx *v, const json_t *got, char *buf, size_t n)
{
    buf[0] = '\0';
    if (!v->yaml)
        return buf;
    if (json_is_boolean(got))
        snprintf(buf, n, " (YAML reads a plain off, on, yes or no as a boolean: write the word "
                 "in quotes, e.g. \"off\")");
    else if (json_is_integer(got))
        snprintf(buf, n, " (YAML reads %lld as a number: write \"%lld\")",
                 (long long)json_integer_value(got), (long long)json_integer_value(got));
    else if (json_is_real(got))
        snprintf(buf, n, " (YAML reads a plain number as a number: write it in quotes)");
    return buf;
}

/* Reports keys of obj (at path) that are not in allowed; NULL-terminated. */
static void
check_keys(struct policy_vctx *v, const json_t *obj, const char *path, const char *const *allowed)
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
member(struct policy_vctx *v, const json_t *obj, const char *path, const char *key, json_type type,
       const char *what)
{
    const json_t *m = json_object_get(obj, key);
    char sub[640], hint[160];

    if (m == NULL)
        return NULL;
    if (json_typeof(m) != type && !(type == JSON_TRUE && json_is_boolean(m))) {
        snprintf(sub, sizeof(sub), "%s/%s", path, key);
        problem(v, sub, "%s/%s must be %s%s", path, key, what,
                type == JSON_STRING ? yaml_hint(v, m, hint, sizeof(hint)) : "");
        return NULL;
    }
    return m;
}

/* ---- names ---- */

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
int
policy_is_label_value(const char *s)
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

int
policy_is_label_key(const char *s)
{
    const char *slash = strchr(s, '/');
    char prefix[254];

    if (slash == NULL)
        return s[0] != '\0' && policy_is_label_value(s);
    if ((size_t)(slash - s) >= sizeof(prefix) || slash == s)
        return 0;
    memcpy(prefix, s, (size_t)(slash - s));
    prefix[slash - s] = '\0';
    return is_dns_label(prefix, 253) && slash[1] != '\0' && policy_is_label_value(slash + 1);
}

int
policy_is_namespace(const char *s)
{
    return is_dns_label(s, 63) && strchr(s, '.') == NULL;
}

int
policy_is_secret_name(const char *s)
{
    return is_dns_label(s, 253);
}

static void
read_strlist(struct policy_vctx *v, const json_t *arr, const char *path, struct policy_strlist *out,
             int (*valid)(const char *), const char *what)
{
    size_t i;
    const json_t *e;
    char sub[640], hint[160];

    out->n = 0;
    json_array_foreach(arr, i, e) {
        snprintf(sub, sizeof(sub), "%s/%zu", path, i);
        if (!json_is_string(e) || strlen(json_string_value(e)) != json_string_length(e)) {
            problem(v, sub, "%s must be a string%s", sub, yaml_hint(v, e, hint, sizeof(hint)));
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

/* ---- settings ---- */

static int
mode_of(struct policy_vctx *v, const json_t *obj, const char *path, int merge_word, enum hw_mode *mode)
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

/* 1 when s is a valid value of kind; else 0 with the reason in why. */
static int
str_valid(enum str_kind kind, const char *s, char *why, size_t n)
{
    char *end;

    switch (kind) {
    case STR_EVENTS:
        if (helm_list_ok(s, policy_is_known_event))
            return 1;
        snprintf(why, n, "hook events \"%s\" include one Helm does not know (Helm would skip the "
                 "Job); use pre-install, post-install, pre-upgrade, post-upgrade, pre-delete, "
                 "post-delete, pre-rollback, post-rollback, test", s);
        return 0;
    case STR_DELETE:
        if (helm_list_ok(s, policy_is_known_delete_policy))
            return 1;
        snprintf(why, n, "delete policy \"%s\" includes a value Helm does not know; use "
                 "before-hook-creation, hook-succeeded, hook-failed", s);
        return 0;
    case STR_WEIGHT:
        errno = 0;
        (void)strtol(s, &end, 10);
        if (s[0] != '\0' && *end == '\0' && errno == 0 && !isspace((unsigned char)s[0]))
            return 1;
        snprintf(why, n, "hook weight \"%s\" is not an integer (Helm would read it as 0)", s);
        return 0;
    case STR_RESTART:
        if (strcmp(s, "Never") == 0 || strcmp(s, "OnFailure") == 0)
            return 1;
        snprintf(why, n, "restartPolicy \"%s\" is not valid for a Job: use Never or OnFailure", s);
        return 0;
    }
    return 1;
}

static void
read_str_setting(struct policy_vctx *v, const json_t *parent, const char *ppath, const char *key,
                 enum str_kind kind, struct policy_str *out)
{
    const json_t *obj = member(v, parent, ppath, key, JSON_OBJECT, "an object with mode and value");
    const json_t *val;
    char path[512], sub[640], why[400];

    if (obj == NULL)
        return;
    snprintf(path, sizeof(path), "%s/%s", ppath, key);
    check_keys(v, obj, path, setting_keys);
    mode_of(v, obj, path, 0, &out->mode);
    val = member(v, obj, path, "value", JSON_STRING, "a string");
    if (val == NULL)
        return;
    snprintf(sub, sizeof(sub), "%s/value", path);
    if (!str_valid(kind, json_string_value(val), why, sizeof(why))) {
        problem(v, sub, "%s", why);
        return;
    }
    out->value = json_string_value(val);
}

static void
read_int_setting(struct policy_vctx *v, const json_t *parent, const char *ppath, const char *key,
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
read_selector(struct policy_vctx *v, const json_t *doc, struct policy_settings *p)
{
    static const char *const keys[] = {"labelKey", "labelValues", NULL};
    const json_t *sel = member(v, doc, "", "selector", JSON_OBJECT, "an object"), *m;

    if (sel == NULL)
        return;
    check_keys(v, sel, "/selector", keys);
    m = member(v, sel, "/selector", "labelKey", JSON_STRING, "a string");
    if (m != NULL) {
        if (!policy_is_label_key(json_string_value(m)))
            problem(v, "/selector/labelKey", "\"%s\" is not a valid label key",
                    json_string_value(m));
        else
            p->label_key = json_string_value(m);
    }
    m = member(v, sel, "/selector", "labelValues", JSON_ARRAY, "an array of strings");
    if (m != NULL)
        read_strlist(v, m, "/selector/labelValues", &p->label_values, policy_is_label_value,
                     "label value");
}

static void
read_namespaces(struct policy_vctx *v, const json_t *doc, struct policy_settings *p)
{
    static const char *const keys[] = {"include", "exclude", NULL};
    const json_t *ns = member(v, doc, "", "namespaces", JSON_OBJECT, "an object"), *m;

    if (ns == NULL)
        return;
    check_keys(v, ns, "/namespaces", keys);
    if ((m = member(v, ns, "/namespaces", "include", JSON_ARRAY, "an array of strings")) != NULL)
        read_strlist(v, m, "/namespaces/include", &p->ns_include, policy_is_namespace,
                     "namespace name");
    if ((m = member(v, ns, "/namespaces", "exclude", JSON_ARRAY, "an array of strings")) != NULL)
        read_strlist(v, m, "/namespaces/exclude", &p->ns_exclude, policy_is_namespace,
                     "namespace name");
}

/* hook, restartPolicy, imagePullSecrets and job of doc, at v->base. */
static void
read_settings(struct policy_vctx *v, const json_t *doc, struct policy_settings *p)
{
    static const char *const hook_keys[] = {"events", "deletePolicy", "weight", NULL};
    static const char *const ips_keys[] = {"mode", "names", NULL};
    static const char *const job_keys[] = {"backoffLimit", "activeDeadlineSeconds",
                                           "ttlSecondsAfterFinished", NULL};
    const json_t *o, *m;
    char path[512], sub[640];

    if ((o = member(v, doc, v->base, "hook", JSON_OBJECT, "an object")) != NULL) {
        snprintf(path, sizeof(path), "%s/hook", v->base);
        check_keys(v, o, path, hook_keys);
        read_str_setting(v, o, path, "events", STR_EVENTS, &p->hook_events);
        read_str_setting(v, o, path, "deletePolicy", STR_DELETE, &p->hook_delete);
        read_str_setting(v, o, path, "weight", STR_WEIGHT, &p->hook_weight);
    }
    read_str_setting(v, doc, v->base, "restartPolicy", STR_RESTART, &p->restart_policy);
    if ((o = member(v, doc, v->base, "imagePullSecrets", JSON_OBJECT, "an object")) != NULL) {
        snprintf(path, sizeof(path), "%s/imagePullSecrets", v->base);
        check_keys(v, o, path, ips_keys);
        mode_of(v, o, path, 1, &p->pull_mode);
        snprintf(sub, sizeof(sub), "%s/names", path);
        if ((m = member(v, o, path, "names", JSON_ARRAY, "an array of strings")))
            read_strlist(v, m, sub, &p->pull_secrets, policy_is_secret_name, "Secret name");
    }
    if ((o = member(v, doc, v->base, "job", JSON_OBJECT, "an object")) != NULL) {
        snprintf(path, sizeof(path), "%s/job", v->base);
        check_keys(v, o, path, job_keys);
        read_int_setting(v, o, path, "backoffLimit", 0, &p->backoff_limit);
        read_int_setting(v, o, path, "activeDeadlineSeconds", 1, &p->active_deadline);
        read_int_setting(v, o, path, "ttlSecondsAfterFinished", 0, &p->ttl);
    }
}

/* ---- rules ---- */

static int
action_of(struct policy_vctx *v, const json_t *val, const char *path, enum hw_action *out)
{
    const char *s = json_string_value(val);
    char hint[160];

    for (int i = 0; s != NULL && i < 3; i++) {
        if (strcmp(s, hw_policy_action_name((enum hw_action)i)) == 0) {
            *out = (enum hw_action)i;
            return 0;
        }
    }
    problem(v, path, "%s must be one of off, warn, deny%s", path, yaml_hint(v, val, hint, sizeof(hint)));
    return -1;
}

/* A rule parameter: an integer from min to 2147483647 at obj's key. */
static void
read_rule_int(struct policy_vctx *v, const json_t *obj, const char *path, const char *key,
              long long min, long long *out)
{
    const json_t *m = member(v, obj, path, key, JSON_INTEGER, "an integer");
    char sub[640];

    if (m == NULL)
        return;
    snprintf(sub, sizeof(sub), "%s/%s", path, key);
    if (json_integer_value(m) < min || json_integer_value(m) > 2147483647)
        problem(v, sub, "%s must be between %lld and 2147483647", sub, min);
    else
        *out = json_integer_value(m);
}

static void
read_rule_params(struct policy_vctx *v, const json_t *obj, const char *path, enum hw_rule r,
                 struct policy_settings *p)
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
        read_rule_int(v, obj, path, "minSeconds", 0, &p->ttl_min_seconds);
        break;
    case HW_RULE_ACTIVE_DEADLINE:
        check_keys(v, obj, path, ads_keys);
        read_rule_int(v, obj, path, "helmTimeoutSeconds", 1, &p->helm_timeout_seconds);
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
read_rules(struct policy_vctx *v, const json_t *doc, struct policy_settings *p)
{
    const json_t *rules = member(v, doc, v->base, "rules", JSON_OBJECT, "an object"), *val;
    const char *key;
    char path[512], hint[160];

    if (rules == NULL)
        return;
    json_object_foreach((json_t *)rules, key, val) {
        int r;

        if (strncmp(key, "//", 2) == 0)
            continue;
        snprintf(path, sizeof(path), "%s/rules/%s", v->base, key);
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
            problem(v, path, "%s must be off, warn, deny or an object with an action%s", path,
                    yaml_hint(v, val, hint, sizeof(hint)));
        }
    }
}

/* ---- the document and its overrides ---- */

void
policy_read_doc(struct policy_vctx *v, const json_t *doc, struct policy_settings *p)
{
    static const char *const top[] = {"selector", "namespaces", "hook", "restartPolicy",
                                      "imagePullSecrets", "job", "rules", "overrides", NULL};

    if (!json_is_object(doc)) {
        problem(v, "", v->yaml ? "a policy must be a YAML mapping" : "a policy must be a JSON object");
        return;
    }
    v->base = "";
    check_keys(v, doc, "", top);
    read_selector(v, doc, p);
    read_namespaces(v, doc, p);
    read_settings(v, doc, p);
    read_rules(v, doc, p);
}

/* A pattern of an override must match some namespace the policy applies to. */
static void
check_pattern(struct policy_vctx *v, const char *path, const char *pat,
              const struct policy_settings *base)
{
    size_t i;

    if (!policy_glob_can_match(pat)) {
        problem(v, path, "namespace pattern \"%s\" can never match a namespace name (lower-case "
                "letters, digits and '-', at most 63, starting and ending with a letter or "
                "digit; '*' matches any run, '?' one character)", pat);
        return;
    }
    for (i = 0; i < base->ns_include.n && !policy_glob_match(pat, base->ns_include.v[i]); i++) {
    }
    if (base->ns_include.n > 0 && i == base->ns_include.n)
        problem(v, path, "namespace pattern \"%s\" matches none of namespaces.include: the "
                "override would never apply", pat);
    else if (strpbrk(pat, "*?") == NULL && policy_list_has(&base->ns_exclude, pat))
        problem(v, path, "namespace \"%s\" is in namespaces.exclude: the override would never "
                "apply", pat);
}

static void
read_patterns(struct policy_vctx *v, const json_t *entry, struct policy_override *o,
              const struct policy_settings *base)
{
    const json_t *m = member(v, entry, v->base, "namespaces", JSON_ARRAY,
                             "an array of namespace names or patterns");
    const json_t *e;
    char path[512], sub[640];
    size_t i;

    snprintf(path, sizeof(path), "%s/namespaces", v->base);
    if (m == NULL) {
        if (json_object_get(entry, "namespaces") == NULL)
            problem(v, v->base, "%s needs namespaces: the names or patterns (\"team-a-*\") of "
                    "the namespaces it applies to", v->base);
        return;
    }
    if (json_array_size(m) == 0)
        problem(v, path, "%s is empty: the override would never apply", path);
    read_strlist(v, m, path, &o->namespaces, NULL, NULL);
    json_array_foreach(m, i, e) {
        snprintf(sub, sizeof(sub), "%s/%zu", path, i);
        if (json_is_string(e) && strlen(json_string_value(e)) == json_string_length(e))
            check_pattern(v, sub, json_string_value(e), base);
    }
}

/* One entry of "overrides", at v->base ("/overrides/N"). */
static void
read_override(struct policy_vctx *v, const json_t *entry, struct policy_override *o,
              const struct policy_settings *base)
{
    static const char *const keys[] = {"namespaces", "hook", "restartPolicy", "imagePullSecrets",
                                       "job", "rules", "selector", "overrides", NULL};
    char sub[640];

    if (!json_is_object(entry)) {
        problem(v, v->base, "%s must be an object with namespaces and the keys to change",
                v->base);
        return;
    }
    read_patterns(v, entry, o, base);
    check_keys(v, entry, v->base, keys);
    snprintf(sub, sizeof(sub), "%s/selector", v->base);
    if (json_object_get(entry, "selector") != NULL)
        problem(v, sub, "an override cannot set selector: the opt-in label is the same in every "
                "namespace (use namespaces.exclude, or rules, for a namespace that differs)");
    snprintf(sub, sizeof(sub), "%s/overrides", v->base);
    if (json_object_get(entry, "overrides") != NULL)
        problem(v, sub, "overrides do not nest: list every override at the top level");
    o->values = *base;
    read_settings(v, entry, &o->values);
    read_rules(v, entry, &o->values);
    o->set = policy_fields_given(entry);
    where(v, v->base, o->where, sizeof(o->where));
}

int
policy_read_overrides(struct policy_vctx *v, const json_t *doc, struct hw_policy *p)
{
    const json_t *list = json_object_get(doc, "overrides"), *e;
    char base[64];
    size_t i;

    if (list == NULL || !json_is_object(doc))
        return 0;
    if (!json_is_array(list)) {
        problem(v, "/overrides", "/overrides must be a list of overrides, each with namespaces");
        return 0;
    }
    if (json_array_size(list) > HW_POLICY_OVERRIDES_MAX) {
        problem(v, "/overrides", "/overrides has more than %d entries", HW_POLICY_OVERRIDES_MAX);
        return 0;
    }
    if (json_array_size(list) == 0)
        return 0;
    p->overrides = calloc(json_array_size(list), sizeof(*p->overrides));
    if (p->overrides == NULL) {
        hw_error_set(v->err, HW_EINTERNAL, "out of memory");
        return -1;
    }
    p->n_overrides = json_array_size(list);
    json_array_foreach(list, i, e) {
        snprintf(base, sizeof(base), "/overrides/%zu", i);
        v->base = base;
        read_override(v, e, &p->overrides[i], &p->base);
    }
    v->base = "";
    return 0;
}

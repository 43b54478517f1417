/* SPDX-License-Identifier: Apache-2.0 */
/*
 * policy: the decision function. Given a snapshot and a Job it selects,
 * sets what the platform wants set (hook annotations, restartPolicy,
 * imagePullSecrets, Job settings) through the patch builder, then lints the
 * result against Helm's rules. Messages are written here, for chart
 * authors: a warning says what and why in one short printable line; a
 * denial names the Job, the rule and the fix. Building snapshots from JSON
 * is policyfile.c's job.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy_impl.h"

static const char *const rule_names[HW_RULE_COUNT] = {
    "not-a-hook", "unknown-hook-value", "ttl-after-finished",
    "delete-policy", "active-deadline", "long-lived-sidecar",
};
static const char *const action_names[] = {"off", "warn", "deny"};

static const char *const helm_events[] = {
    "pre-install", "post-install", "pre-delete", "post-delete", "pre-upgrade",
    "post-upgrade", "pre-rollback", "post-rollback", "test", "test-success",
};
static const char *const helm_delete_policies[] = {
    "hook-succeeded", "hook-failed", "before-hook-creation",
};

#define ANN_HOOK "helm.sh/hook"
#define ANN_DELETE "helm.sh/hook-delete-policy"
#define ANN_WEIGHT "helm.sh/hook-weight"
#define ANN_RELEASE "meta.helm.sh/release-name"

const char *
hw_policy_rule_name(enum hw_rule rule)
{
    return (size_t)rule < HW_RULE_COUNT ? rule_names[rule] : "unknown";
}

const char *
hw_policy_action_name(enum hw_action action)
{
    return (size_t)action < 3 ? action_names[action] : "unknown";
}

const char *
hw_policy_source(const struct hw_policy *p)
{
    return p->source;
}

unsigned
hw_policy_review_needs(const struct hw_policy *p)
{
    return p->actions[HW_RULE_SIDECAR] != HW_ACTION_OFF ? HW_REVIEW_NEED_CONTAINERS : 0;
}

struct hw_policy *
hw_policy_ref(struct hw_policy *p)
{
    if (p != NULL)
        atomic_fetch_add_explicit(&p->refs, 1, memory_order_relaxed);
    return p;
}

void
hw_policy_unref(struct hw_policy *p)
{
    if (p == NULL || atomic_fetch_sub_explicit(&p->refs, 1, memory_order_acq_rel) != 1)
        return;
    json_decref(p->docs[0]);
    json_decref(p->docs[1]);
    free(p->source);
    free(p);
}

/* Compares one comma-separated part, Helm-style: trimmed, case-insensitive. */
static int
word_in(const char *s, size_t len, const char *const *words, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (strlen(words[i]) == len && strncasecmp(s, words[i], len) == 0)
            return 1;
    }
    return 0;
}

int
policy_is_known_event(const char *s, size_t len)
{
    return word_in(s, len, helm_events, sizeof(helm_events) / sizeof(helm_events[0]));
}

int
policy_is_known_delete_policy(const char *s, size_t len)
{
    return word_in(s, len, helm_delete_policies,
                   sizeof(helm_delete_policies) / sizeof(helm_delete_policies[0]));
}

/*
 * Iterates the parts of a Helm list value: *pos starts at 0; each call sets
 * part and len to the next trimmed part and returns 1, or returns 0 at the end.
 */
static int
next_part(const char *s, size_t *pos, const char **part, size_t *len)
{
    size_t i = *pos, end;

    if (i == (size_t)-1)
        return 0;
    end = i;
    while (s[end] != '\0' && s[end] != ',')
        end++;
    /* Like Go's strings.Split: "a," has a final empty part, "" has one. */
    *pos = s[end] == ',' ? end + 1 : (size_t)-1;
    while (i < end && isspace((unsigned char)s[i]))
        i++;
    while (end > i && isspace((unsigned char)s[end - 1]))
        end--;
    *part = s + i;
    *len = end - i;
    return 1;
}

/* 1 when every part of a is in b and every part of b is in a (Helm's view). */
static int
same_helm_list(const char *a, const char *b)
{
    const char *pa, *pb;
    size_t ia = 0, la, ib, lb;
    int found;

    for (int pass = 0; pass < 2; pass++) {
        const char *x = pass ? b : a, *y = pass ? a : b;

        ia = 0;
        while (next_part(x, &ia, &pa, &la)) {
            found = 0;
            ib = 0;
            while (!found && next_part(y, &ib, &pb, &lb))
                found = la == lb && strncasecmp(pa, pb, la) == 0;
            if (!found)
                return 0;
        }
    }
    return 1;
}

/* ---- outcome helpers ---- */

/* Appends a warning, made printable and cut to HW_WARNING_MAX bytes on a
 * UTF-8 boundary: kube-apiserver silently drops a warning with a control
 * character or invalid UTF-8. */
static void
warn(struct hw_outcome *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
warn(struct hw_outcome *out, const char *fmt, ...)
{
    char tmp[512];
    char *w;
    va_list ap;
    size_t n;

    if (out->n_warnings >= HW_OUTCOME_MAX)
        return;
    va_start(ap, fmt);
    vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    for (char *c = tmp; *c; c++) {
        if ((unsigned char)*c < 0x20 || *c == 0x7f || (unsigned char)*c >= 0x80)
            *c = '?';
    }
    n = strlen(tmp);
    if (n > HW_WARNING_MAX) {
        n = HW_WARNING_MAX;
        memcpy(tmp + n - 3, "...", 3);
    }
    w = out->warnings[out->n_warnings++];
    memcpy(w, tmp, n);
    w[n] = '\0';
}

static void
changed(struct hw_outcome *out, const char *what)
{
    if (out->n_changes < HW_OUTCOME_MAX)
        out->changes[out->n_changes++] = what;
}

/* Quotes an object-supplied value for a message: printable, at most 40 bytes. */
static const char *
shown(const char *s, char *buf, size_t bufsz)
{
    size_t n = 0;

    for (; s[n] != '\0' && n + 4 < bufsz && n < 40; n++)
        buf[n] = ((unsigned char)s[n] < 0x20 || (unsigned char)s[n] >= 0x7f) ? '?' : s[n];
    if (s[n] != '\0' && n >= 3) {
        memcpy(buf + n - 3, "...", 3);
    }
    buf[n] = '\0';
    return buf;
}

struct finding_text {
    const char *warning;  /* short, for the warning line */
    const char *fix;      /* for the denial message */
};

/* Records a finding of rule and, by its action, a warning or a denial. */
static void
finding(const struct hw_policy *p, struct hw_outcome *out, const char *job, enum hw_rule rule,
        const char *problem, const char *fix)
{
    enum hw_action action = p->actions[rule];
    size_t used;

    if (action == HW_ACTION_OFF)
        return;
    if (out->n_findings < HW_OUTCOME_MAX) {
        out->findings[out->n_findings].rule = rule;
        out->findings[out->n_findings].action = action;
        snprintf(out->findings[out->n_findings].message,
                 sizeof(out->findings[out->n_findings].message), "%s%s%s", problem,
                 action == HW_ACTION_DENY ? ". Fix: " : "", action == HW_ACTION_DENY ? fix : "");
        out->n_findings++;
    }
    if (action == HW_ACTION_WARN) {
        warn(out, "%s", problem);
        return;
    }
    used = strlen(out->deny_message);
    snprintf(out->deny_message + used, sizeof(out->deny_message) - used,
             "%sJob %s violates rule %s: %s. Fix: %s", out->denied ? "; " : "", job,
             rule_names[rule], problem, fix);
    out->denied = 1;
}

/* ---- selection ---- */

static const char *
meta_string(const json_t *obj, const char *map, const char *key)
{
    const json_t *m = json_object_get(json_object_get(obj, "metadata"), map);

    return json_string_value(json_object_get(m, key));
}

static int
list_has(const struct policy_strlist *l, const char *s)
{
    for (size_t i = 0; i < l->n; i++) {
        if (strcmp(l->v[i], s) == 0)
            return 1;
    }
    return 0;
}

static int
selects(const struct hw_policy *p, const struct hw_target *t, const json_t *object)
{
    const json_t *label;
    const char *ns;

    if (t->operation != HW_OP_CREATE && t->operation != HW_OP_UPDATE)
        return 0;
    if (strcmp(t->group, "batch") != 0 || strcmp(t->version, "v1") != 0 ||
        strcmp(t->kind, "Job") != 0 || t->subresource[0] != '\0' || !json_is_object(object))
        return 0;
    label = json_object_get(json_object_get(json_object_get(object, "metadata"), "labels"),
                            p->label_key);
    if (!json_is_string(label) || strlen(json_string_value(label)) != json_string_length(label))
        return 0;
    if (p->label_values.n > 0 && !list_has(&p->label_values, json_string_value(label)))
        return 0;
    ns = t->namespace_;
    if (ns == NULL || ns[0] == '\0') {
        const json_t *n = json_object_get(json_object_get(object, "metadata"), "namespace");

        ns = json_is_string(n) ? json_string_value(n) : "";
    }
    if (list_has(&p->ns_exclude, ns))
        return 0;
    return p->ns_include.n == 0 || list_has(&p->ns_include, ns);
}

/* ---- mutation ---- */

static const char *const path_annotations[] = {"metadata", "annotations", NULL};

static int
set_annotation(const struct hw_policy *p, json_t *obj, struct hw_patch *patch,
               struct hw_outcome *out, const struct policy_str *want, const char *key,
               int helm_list, const char *what, struct hw_error *err)
{
    const char *path[3] = {path_annotations[0], path_annotations[1], key};
    const json_t *cur;
    char b1[48], b2[48];

    (void)p;
    if (want->mode == HW_MODE_OFF)
        return 0;
    cur = json_object_get(json_object_get(json_object_get(obj, "metadata"), "annotations"), key);
    if (cur != NULL && !json_is_null(cur)) {
        const char *have = json_string_value(cur);

        if (want->mode == HW_MODE_ADD)
            return 0;
        if (have != NULL && (helm_list ? same_helm_list(have, want->value)
                                       : strcmp(have, want->value) == 0))
            return 0;
        out->n_replaced++;
        warn(out, "%s %s replaced by %s (platform policy)", key,
             have ? shown(have, b1, sizeof(b1)) : "(not a string)", shown(want->value, b2, sizeof(b2)));
    }
    changed(out, what);
    return hw_patch_set(patch, obj, path, 3, json_string(want->value), err);
}

static int
set_restart_policy(const struct hw_policy *p, json_t *obj, struct hw_patch *patch,
                   struct hw_outcome *out, struct hw_error *err)
{
    static const char *const path[] = {"spec", "template", "spec", "restartPolicy"};
    const json_t *cur;
    char b1[48];

    if (p->restart_policy.mode == HW_MODE_OFF)
        return 0;
    cur = json_object_get(
        json_object_get(json_object_get(json_object_get(obj, "spec"), "template"), "spec"),
        "restartPolicy");
    if (cur != NULL && !json_is_null(cur)) {
        const char *have = json_string_value(cur);

        if (p->restart_policy.mode == HW_MODE_ADD ||
            (have != NULL && strcmp(have, p->restart_policy.value) == 0))
            return 0;
        out->n_replaced++;
        warn(out, "restartPolicy %s replaced by %s: a failed migration must not restart in place",
             have ? shown(have, b1, sizeof(b1)) : "(not a string)", p->restart_policy.value);
    }
    changed(out, "restartPolicy");
    return hw_patch_set(patch, obj, path, 4, json_string(p->restart_policy.value), err);
}

static int
has_pull_secret(const json_t *list, const char *name)
{
    size_t i;
    const json_t *e;

    json_array_foreach(list, i, e) {
        const char *n = json_string_value(json_object_get(e, "name"));

        if (n != NULL && strcmp(n, name) == 0)
            return 1;
    }
    return 0;
}

static int
merge_pull_secrets(const struct hw_policy *p, json_t *obj, struct hw_patch *patch,
                   struct hw_outcome *out, struct hw_error *err)
{
    static const char *const path[] = {"spec", "template", "spec", "imagePullSecrets"};
    int any = 0;

    if (p->pull_mode == HW_MODE_OFF)
        return 0;
    for (size_t i = 0; i < p->pull_secrets.n; i++) {
        /* Re-read each time: the previous append may have created the list. */
        const json_t *list = json_object_get(
            json_object_get(json_object_get(json_object_get(obj, "spec"), "template"), "spec"),
            "imagePullSecrets");

        if (has_pull_secret(list, p->pull_secrets.v[i]))
            continue;
        if (hw_patch_append(patch, obj, path, 4, json_pack("{s:s}", "name", p->pull_secrets.v[i]),
                            err) != 0)
            return -1;
        any = 1;
    }
    if (any)
        changed(out, "imagePullSecrets");
    return 0;
}

static int
set_job_int(json_t *obj, struct hw_patch *patch, struct hw_outcome *out,
            const struct policy_int *want, const char *key, struct hw_error *err)
{
    const char *path[2] = {"spec", key};
    const json_t *cur;

    if (want->mode == HW_MODE_OFF)
        return 0;
    cur = json_object_get(json_object_get(obj, "spec"), key);
    if (cur != NULL && !json_is_null(cur)) {
        if (want->mode == HW_MODE_ADD ||
            (json_is_integer(cur) && json_integer_value(cur) == want->value))
            return 0;
        out->n_replaced++;
        if (json_is_integer(cur))
            warn(out, "%s %lld replaced by %lld (platform policy)", key,
                 (long long)json_integer_value(cur), want->value);
        else
            warn(out, "%s replaced by %lld (platform policy)", key, want->value);
    }
    changed(out, key);
    return hw_patch_set(patch, obj, path, 2, json_integer(want->value), err);
}

/* ---- lint ---- */

/* The first part of a Helm list value that known() rejects, made
 * printable into buf; NULL when every part is known. */
static const char *
first_unknown(const char *value, int (*known)(const char *, size_t), char *buf, size_t bufsz)
{
    const char *part;
    size_t pos = 0, len;
    char w[48];

    while (value != NULL && next_part(value, &pos, &part, &len)) {
        if (known(part, len))
            continue;
        snprintf(w, sizeof(w), "%.*s", (int)(len < 40 ? len : 40), part);
        return shown(w, buf, bufsz);
    }
    return NULL;
}

static void
lint_hook_values(const struct hw_policy *p, const json_t *obj, struct hw_outcome *out,
                 const char *job)
{
    const char *bad;
    char msg[160], b[48];

    bad = first_unknown(meta_string(obj, "annotations", ANN_HOOK), policy_is_known_event, b,
                        sizeof(b));
    if (bad != NULL) {
        snprintf(msg, sizeof(msg), "helm.sh/hook has unknown event \"%s\": Helm skips this Job entirely",
                 bad);
        finding(p, out, job, HW_RULE_UNKNOWN_HOOK_VALUE, msg,
                "use only pre-install, post-install, pre-upgrade, post-upgrade, pre-delete, "
                "post-delete, pre-rollback, post-rollback or test in helm.sh/hook");
    }
    bad = first_unknown(meta_string(obj, "annotations", ANN_DELETE), policy_is_known_delete_policy,
                        b, sizeof(b));
    if (bad != NULL) {
        snprintf(msg, sizeof(msg), "helm.sh/hook-delete-policy has unknown value \"%s\": Helm ignores it",
                 bad);
        finding(p, out, job, HW_RULE_UNKNOWN_HOOK_VALUE, msg,
                "use only before-hook-creation, hook-succeeded or hook-failed in "
                "helm.sh/hook-delete-policy");
    }
}

static void
lint_delete_policy(const struct hw_policy *p, const json_t *obj, struct hw_outcome *out,
                   const char *job)
{
    const char *del = meta_string(obj, "annotations", ANN_DELETE), *part;
    size_t pos = 0, len;

    /* Without the annotation Helm defaults to before-hook-creation. */
    if (meta_string(obj, "annotations", ANN_HOOK) == NULL || del == NULL)
        return;
    while (next_part(del, &pos, &part, &len)) {
        if (len == 20 && strncasecmp(part, "before-hook-creation", 20) == 0)
            return;
    }
    finding(p, out, job, HW_RULE_DELETE_POLICY,
            "hook-delete-policy lacks before-hook-creation: a failed run blocks the next upgrade",
            "add before-hook-creation to helm.sh/hook-delete-policy, e.g. "
            "\"before-hook-creation,hook-succeeded\"");
}

static void
lint_job_settings(const struct hw_policy *p, const json_t *obj, struct hw_outcome *out,
                  const char *job)
{
    const json_t *spec = json_object_get(obj, "spec");
    const json_t *ttl = json_object_get(spec, "ttlSecondsAfterFinished");
    const json_t *ads = json_object_get(spec, "activeDeadlineSeconds");
    char msg[160], fix[200];

    if (json_is_integer(ttl) && json_integer_value(ttl) < p->ttl_min_seconds) {
        snprintf(msg, sizeof(msg),
                 "ttlSecondsAfterFinished %lld may delete the Job before Helm sees it finish",
                 (long long)json_integer_value(ttl));
        snprintf(fix, sizeof(fix),
                 "remove ttlSecondsAfterFinished (the hook delete policy cleans up) or set it to "
                 "at least %lld",
                 p->ttl_min_seconds);
        finding(p, out, job, HW_RULE_TTL, msg, fix);
    }
    if (!json_is_integer(ads)) {
        snprintf(msg, sizeof(msg),
                 "activeDeadlineSeconds is not set: a hung migration runs into Helm's %llds timeout",
                 p->helm_timeout_seconds);
        snprintf(fix, sizeof(fix), "set spec.activeDeadlineSeconds below Helm's --timeout (%llds)",
                 p->helm_timeout_seconds);
        finding(p, out, job, HW_RULE_ACTIVE_DEADLINE, msg, fix);
    } else if (json_integer_value(ads) >= p->helm_timeout_seconds) {
        snprintf(msg, sizeof(msg),
                 "activeDeadlineSeconds %lld is not below Helm's %llds timeout: Helm gives up first",
                 (long long)json_integer_value(ads), p->helm_timeout_seconds);
        snprintf(fix, sizeof(fix), "set spec.activeDeadlineSeconds below Helm's --timeout (%llds)",
                 p->helm_timeout_seconds);
        finding(p, out, job, HW_RULE_ACTIVE_DEADLINE, msg, fix);
    }
}

/* Does any container mention the quitquitquit endpoint or flag that proxies
 * (cloud-sql-proxy --quitquitquit, istio /quitquitquit) use to stop? */
static int
mentions_stop(const json_t *v)
{
    size_t i;
    const char *k;
    const json_t *e;

    switch (json_typeof(v)) {
    case JSON_STRING:
        return strstr(json_string_value(v), "quitquitquit") != NULL ||
               strstr(json_string_value(v), "EXIT_ON_ZERO_ACTIVE_CONNECTIONS") != NULL;
    case JSON_ARRAY:
        json_array_foreach(v, i, e) {
            if (mentions_stop(e))
                return 1;
        }
        return 0;
    case JSON_OBJECT:
        json_object_foreach((json_t *)v, k, e) {
            if (mentions_stop(e))
                return 1;
        }
        return 0;
    default:
        return 0;
    }
}

static void
lint_sidecars(const struct hw_policy *p, const json_t *obj, struct hw_outcome *out,
              const char *job)
{
    const json_t *containers = json_object_get(
        json_object_get(json_object_get(json_object_get(obj, "spec"), "template"), "spec"),
        "containers");
    const json_t *c;
    size_t i;
    char msg[160], fix[240], b[48];

    if (p->actions[HW_RULE_SIDECAR] == HW_ACTION_OFF || json_array_size(containers) < 2 ||
        mentions_stop(containers))
        return;
    json_array_foreach(containers, i, c) {
        const char *name = json_string_value(json_object_get(c, "name"));
        const char *image = json_string_value(json_object_get(c, "image"));

        if (i == 0)
            continue;
        for (size_t s = 0; s < p->sidecars.n; s++) {
            if ((name && strstr(name, p->sidecars.v[s])) || (image && strstr(image, p->sidecars.v[s]))) {
                snprintf(msg, sizeof(msg),
                         "container %s looks like a long-lived sidecar: the Job would never complete",
                         shown(name ? name : "?", b, sizeof(b)));
                snprintf(fix, sizeof(fix),
                         "run it as a native sidecar (an initContainer with restartPolicy: Always), "
                         "disable injection for this Job, or stop it when the migration ends "
                         "(e.g. cloud-sql-proxy --quitquitquit)");
                finding(p, out, job, HW_RULE_SIDECAR, msg, fix);
                return;
            }
        }
    }
}

static int
mutate(const struct hw_policy *p, json_t *obj, struct hw_patch *patch, struct hw_outcome *out,
       struct hw_error *err)
{
    if (set_annotation(p, obj, patch, out, &p->hook_events, ANN_HOOK, 1, "hook", err) != 0 ||
        set_annotation(p, obj, patch, out, &p->hook_delete, ANN_DELETE, 1, "hook-delete-policy",
                       err) != 0 ||
        set_annotation(p, obj, patch, out, &p->hook_weight, ANN_WEIGHT, 0, "hook-weight", err) != 0 ||
        set_restart_policy(p, obj, patch, out, err) != 0 ||
        merge_pull_secrets(p, obj, patch, out, err) != 0 ||
        set_job_int(obj, patch, out, &p->backoff_limit, "backoffLimit", err) != 0 ||
        set_job_int(obj, patch, out, &p->active_deadline, "activeDeadlineSeconds", err) != 0 ||
        set_job_int(obj, patch, out, &p->ttl, "ttlSecondsAfterFinished", err) != 0)
        return -1;
    return 0;
}

int
hw_policy_apply(const struct hw_policy *p, const struct hw_target *t, json_t *object,
                struct hw_patch *patch, struct hw_outcome *out, struct hw_error *err)
{
    const json_t *meta;
    const char *name, *ns;
    char job[160];
    int release_not_hook;

    memset(out, 0, sizeof(*out));
    if (!selects(p, t, object))
        return 0;
    out->selected = 1;
    meta = json_object_get(object, "metadata");
    if (meta != NULL && !json_is_null(meta) && !json_is_object(meta)) {
        hw_error_set(err, HW_EINVAL, "object field /metadata is not an object");
        return -1;
    }
    name = json_string_value(json_object_get(meta, "name"));
    ns = t->namespace_ && t->namespace_[0] ? t->namespace_
                                            : json_string_value(json_object_get(meta, "namespace"));
    if (name == NULL || name[0] == '\0')
        name = json_string_value(json_object_get(meta, "generateName"));
    snprintf(job, sizeof(job), "\"%s%s%s\"", ns && ns[0] ? ns : "", ns && ns[0] ? "/" : "",
             name ? name : "(unnamed)");

    /* Decided on the request as sent: Helm stamps release resources, not hooks. */
    release_not_hook = meta_string(object, "annotations", ANN_RELEASE) != NULL &&
                       meta_string(object, "annotations", ANN_HOOK) == NULL;
    if (mutate(p, object, patch, out, err) != 0)
        return -1;
    if (release_not_hook)
        finding(p, out, job, HW_RULE_NOT_A_HOOK,
                "not a Helm hook: this Job runs with the rollout and blocks the next upgrade; "
                "set helm.sh/hook in the chart",
                "make it a hook in the chart: annotate the Job helm.sh/hook: pre-install,pre-upgrade "
                "(many charts have a value such as useHelmHooks), or render the chart through "
                "\"hookwarden render\" as a Helm 4 post-renderer");
    lint_hook_values(p, object, out, job);
    lint_delete_policy(p, object, out, job);
    lint_job_settings(p, object, out, job);
    lint_sidecars(p, object, out, job);
    return 0;
}

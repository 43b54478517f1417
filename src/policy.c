/* SPDX-License-Identifier: Apache-2.0 */
/*
 * policy: the decision function. Given a snapshot and a Job it selects (the
 * same in every namespace), it takes the settings for the Job's namespace
 * (the base layer, or the matching overrides laid over it: policylayer.c),
 * sets what the platform wants set (hook annotations, restartPolicy,
 * imagePullSecrets, Job settings) through the patch builder, then lints the
 * result against Helm's rules. On UPDATE it judges only what the update
 * changes: the pod template keeps the stored values (it is immutable), Job
 * settings the update leaves alone stay, and a rule denies only what the
 * stored Job did not already break. Objects being deleted are left alone.
 * Messages are written here, for chart authors: a warning says what and why
 * in one short printable line; a denial names the Job, the rule and the fix.
 * Strings from the object are compared with their lengths: "Never\u0000x" is
 * not Never. Building snapshots from files is policyfile.c's job.
 */
#include <ctype.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hookwarden/text.h"
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

/* Everything one decision reads and writes. */
struct decision {
    const struct policy_settings *s;  /* the effective settings for the Job's namespace */
    struct hw_outcome *out;
    char job[160];               /* "ns/name", quoted, for denial messages */
    unsigned *stored_rules;      /* set: only collect the rules that fire (bit per rule) */
    unsigned waived;             /* rules the stored Job already broke: deny becomes warn */
};

enum selection {
    SELECT_NONE = 0,
    SELECT_TEMPLATE,   /* UPDATE that removes the label: keep the stored template only */
    SELECT_ALL
};

/* ---- table of contents: the static functions, in the order they appear ---- */

static void build_read_plan(void);
static const char *str_of(const json_t *v, size_t *len);
static int str_is(const json_t *v, const char *lit);
static const json_t *present(const json_t *v);
static const json_t *get_path(const json_t *obj, const char *const *path, size_t n);
static const json_t *annotation(const json_t *obj, const char *key);
static int word_in(const char *s, size_t len, const char *const *words, size_t n);
static int next_part(const char *s, size_t len, size_t *pos, const char **part, size_t *plen);
static int same_helm_list(const char *a, size_t alen, const char *b, size_t blen);
static void warn(struct hw_outcome *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void changed(struct hw_outcome *out, const char *what);
static const char *shown(const json_t *v, char *buf, size_t bufsz);
static void finding(struct decision *d, enum hw_rule rule, const char *problem, const char *fix);
static int list_has(const struct policy_strlist *l, const char *s);
static int labelled(const struct policy_settings *p, const json_t *object);
static const char *namespace_of(const struct hw_target *t, const json_t *object);
static enum selection selects(const struct policy_settings *p, const struct hw_target *t,
                              const char *ns, const json_t *object);
static int set_annotation(struct decision *d, json_t *obj, struct hw_patch *patch,
                          const struct policy_str *want, const char *key, int helm_list,
                          const char *what, struct hw_error *err);
static int set_restart_policy(struct decision *d, json_t *obj, struct hw_patch *patch,
                              struct hw_error *err);
static int has_pull_secret(const json_t *list, const char *name);
static int merge_pull_secrets(struct decision *d, json_t *obj, struct hw_patch *patch,
                              struct hw_error *err);
static int keep_field(struct decision *d, json_t *obj, const json_t *old, const char *const *path,
                      const char *what, struct hw_patch *patch, struct hw_error *err);
static void stale_template(const struct policy_settings *p, const json_t *old, struct hw_outcome *out);
static int keep_template(struct decision *d, json_t *obj, const json_t *old, struct hw_patch *patch,
                         struct hw_error *err);
static int set_job_int(struct decision *d, json_t *obj, const json_t *old, struct hw_patch *patch,
                       const struct policy_int *want, const char *key, struct hw_error *err);
static const char *first_unknown(const json_t *value, int (*known)(const char *, size_t), char *buf,
                                 size_t bufsz);
static void lint_hook_values(struct decision *d, const json_t *obj);
static void lint_delete_policy(struct decision *d, const json_t *obj);
static void lint_job_settings(struct decision *d, const json_t *obj);
static int mentions_stop(const json_t *v);
static void lint_sidecars(struct decision *d, const json_t *obj);
static void lint_not_a_hook(struct decision *d, const json_t *obj);
static int mutate(struct decision *d, const struct hw_target *t, json_t *obj, struct hw_patch *patch,
                  struct hw_error *err);
static void lint(struct decision *d, const json_t *obj);
static void name_job(struct decision *d, const struct hw_target *t, const json_t *object);
static void outcome_reset(struct hw_outcome *out);

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
    return p->review_needs;
}

/*
 * Every path hw_policy_apply() reads in an object (request.object, and
 * request.oldObject on UPDATE), below the object. The fast decoder builds
 * these and nothing else (review.c builds its table from this list), and
 * tests/unit/check_scan.c fails when a decision changes with anything
 * outside them. Labels are read whole: the opt-in label's key comes from
 * the policy file.
 */
static const struct hw_review_path reads[] = {
    {{"metadata", "name"}, 0},
    {{"metadata", "namespace"}, 0},
    {{"metadata", "generateName"}, 0},
    {{"metadata", "labels"}, 0},
    {{"metadata", "annotations", ANN_HOOK}, 0},
    {{"metadata", "annotations", ANN_DELETE}, 0},
    {{"metadata", "annotations", ANN_WEIGHT}, 0},
    {{"metadata", "annotations", ANN_RELEASE}, 0},
    {{"metadata", "deletionTimestamp"}, 0},
    {{"spec", "backoffLimit"}, 0},
    {{"spec", "activeDeadlineSeconds"}, 0},
    {{"spec", "ttlSecondsAfterFinished"}, 0},
    {{"spec", "template", "spec", "restartPolicy"}, 0},
    {{"spec", "template", "spec", "imagePullSecrets"}, 0},
    {{"spec", "template", "spec", "containers"}, HW_REVIEW_NEED_CONTAINERS},  /* long-lived-sidecar */
};

static struct hw_review_plan read_plan;
static int read_plan_ok;

static void
build_read_plan(void)
{
    read_plan_ok = hw_review_plan_build(&read_plan, reads, sizeof(reads) / sizeof(reads[0]), NULL) == 0;
}

const struct hw_review_plan *
hw_policy_read_plan(const struct hw_policy *p)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;

    (void)p;
    pthread_once(&once, build_read_plan);
    return read_plan_ok ? &read_plan : NULL;
}

const struct hw_review_path *
hw_policy_reads(size_t *n)
{
    *n = sizeof(reads) / sizeof(reads[0]);
    return reads;
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
    free(p->overrides);
    free(p->source);
    free(p);
}

/* ---- strings, compared with their lengths ---- */

/* The bytes of a string value and their count; NULL (len 0) for anything else. */
static const char *
str_of(const json_t *v, size_t *len)
{
    *len = json_is_string(v) ? json_string_length(v) : 0;
    return json_string_value(v);
}

/* v is a string of exactly lit's bytes: an embedded NUL makes it another string. */
static int
str_is(const json_t *v, const char *lit)
{
    size_t n = strlen(lit);

    return json_is_string(v) && json_string_length(v) == n &&
           memcmp(json_string_value(v), lit, n) == 0;
}

/* Absent and null are the same to kube-apiserver's typed decoding. */
static const json_t *
present(const json_t *v)
{
    return json_is_null(v) ? NULL : v;
}

static const json_t *
get_path(const json_t *obj, const char *const *path, size_t n)
{
    for (size_t i = 0; i < n && obj != NULL; i++)
        obj = json_object_get(obj, path[i]);
    return present(obj);
}

static const json_t *
annotation(const json_t *obj, const char *key)
{
    return present(json_object_get(json_object_get(json_object_get(obj, "metadata"), "annotations"),
                                   key));
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
 * Iterates the parts of a Helm list value s (len bytes): *pos starts at 0;
 * each call sets part and plen to the next trimmed part and returns 1, or
 * returns 0 at the end. A NUL is an ordinary byte of a part, as in Go.
 */
static int
next_part(const char *s, size_t len, size_t *pos, const char **part, size_t *plen)
{
    size_t i = *pos, end;

    if (i == (size_t)-1)
        return 0;
    end = i;
    while (end < len && s[end] != ',')
        end++;
    /* Like Go's strings.Split: "a," has a final empty part, "" has one. */
    *pos = end < len ? end + 1 : (size_t)-1;
    while (i < end && isspace((unsigned char)s[i]))
        i++;
    while (end > i && isspace((unsigned char)s[end - 1]))
        end--;
    *part = s + i;
    *plen = end - i;
    return 1;
}

/* 1 when every part of a is in b and every part of b is in a (Helm's view). */
static int
same_helm_list(const char *a, size_t alen, const char *b, size_t blen)
{
    const char *pa, *pb;
    size_t ia, la, ib, lb;
    int found;

    for (int pass = 0; pass < 2; pass++) {
        const char *x = pass ? b : a, *y = pass ? a : b;
        size_t xlen = pass ? blen : alen, ylen = pass ? alen : blen;

        ia = 0;
        while (next_part(x, xlen, &ia, &pa, &la)) {
            found = 0;
            ib = 0;
            while (!found && next_part(y, ylen, &ib, &pb, &lb))
                found = la == lb && strncasecmp(pa, pb, la) == 0;
            if (!found)
                return 0;
        }
    }
    return 1;
}

/* ---- outcome helpers ---- */

/* Appends a warning: printable UTF-8 (kube-apiserver silently drops a
 * warning with a control character or invalid UTF-8), cut to
 * HW_WARNING_MAX bytes on a character boundary with "..." at the end. */
static void
warn(struct hw_outcome *out, const char *fmt, ...)
{
    char tmp[512];
    char *w;
    va_list ap;
    int n;

    if (out->n_warnings >= HW_OUTCOME_MAX)
        return;
    va_start(ap, fmt);
    n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    w = out->warnings[out->n_warnings++];
    if (hw_text_printable(w, HW_WARNING_MAX + 1, tmp, strlen(tmp), HW_WARNING_MAX)) {
        size_t keep = hw_text_cut(w, strlen(w), HW_WARNING_MAX - 3);

        memcpy(w + keep, "...", 4);
    }
}

static void
changed(struct hw_outcome *out, const char *what)
{
    if (out->n_changes < HW_OUTCOME_MAX)
        out->changes[out->n_changes++] = what;
}

/* Quotes an object-supplied value for a message: printable, at most 40 bytes. */
static const char *
shown(const json_t *v, char *buf, size_t bufsz)
{
    size_t len;
    const char *s = str_of(v, &len);

    if (s == NULL)
        return "(not a string)";
    if (hw_text_printable(buf, bufsz, s, len, 40)) {
        size_t keep = hw_text_cut(buf, strlen(buf), 37);

        memcpy(buf + keep, "...", 4);
    }
    return buf;
}

/* Records a finding of rule and, by its action, a warning or a denial. */
static void
finding(struct decision *d, enum hw_rule rule, const char *problem, const char *fix)
{
    struct hw_outcome *out = d->out;
    enum hw_action action = d->s->actions[rule];
    int waived = action == HW_ACTION_DENY && (d->waived & 1u << rule);
    size_t used;

    if (action == HW_ACTION_OFF)
        return;
    if (d->stored_rules != NULL) {
        *d->stored_rules |= 1u << rule;
        return;
    }
    if (waived)
        action = HW_ACTION_WARN;
    if (out->n_findings < HW_OUTCOME_MAX) {
        out->findings[out->n_findings].rule = rule;
        out->findings[out->n_findings].action = action;
        out->findings[out->n_findings].waived = waived;
        snprintf(out->findings[out->n_findings].message,
                 sizeof(out->findings[out->n_findings].message), "%s%s%s", problem,
                 action == HW_ACTION_DENY ? ". Fix: " : "", action == HW_ACTION_DENY ? fix : "");
        out->n_findings++;
    }
    if (action == HW_ACTION_WARN) {
        warn(out, "%s", problem);
        if (waived)
            warn(out, "rule %s is not enforced on this update: the stored Job already broke it",
                 rule_names[rule]);
        return;
    }
    used = strlen(out->deny_message);
    snprintf(out->deny_message + used, sizeof(out->deny_message) - used,
             "%sJob %s violates rule %s: %s. Fix: %s", out->denied ? "; " : "", d->job,
             rule_names[rule], problem, fix);
    out->denied = 1;
}

/* ---- selection ---- */

static int
list_has(const struct policy_strlist *l, const char *s)
{
    for (size_t i = 0; i < l->n; i++) {
        if (strcmp(l->v[i], s) == 0)
            return 1;
    }
    return 0;
}

/* The object carries the opt-in label with a selected value. */
static int
labelled(const struct policy_settings *p, const json_t *object)
{
    const json_t *label = json_object_get(
        json_object_get(json_object_get(object, "metadata"), "labels"), p->label_key);

    if (!json_is_string(label) || strlen(json_string_value(label)) != json_string_length(label))
        return 0;
    return p->label_values.n == 0 || list_has(&p->label_values, json_string_value(label));
}

/* The request's namespace, else the object's, else "". */
static const char *
namespace_of(const struct hw_target *t, const json_t *object)
{
    const json_t *n;

    if (t->namespace_ != NULL && t->namespace_[0] != '\0')
        return t->namespace_;
    n = json_object_get(json_object_get(object, "metadata"), "namespace");
    return json_is_string(n) ? json_string_value(n) : "";
}

static enum selection
selects(const struct policy_settings *p, const struct hw_target *t, const char *ns,
        const json_t *object)
{
    if (t->operation != HW_OP_CREATE && t->operation != HW_OP_UPDATE)
        return SELECT_NONE;
    if (strcmp(t->group, "batch") != 0 || strcmp(t->version, "v1") != 0 ||
        strcmp(t->kind, "Job") != 0 || t->subresource[0] != '\0' || !json_is_object(object))
        return SELECT_NONE;
    if (list_has(&p->ns_exclude, ns) || (p->ns_include.n > 0 && !list_has(&p->ns_include, ns)))
        return SELECT_NONE;
    if (labelled(p, object))
        return SELECT_ALL;
    /* kube-apiserver's objectSelector matches the old labels too: an update
     * that drops the label still reaches us, and must still be valid. */
    if (t->operation == HW_OP_UPDATE && labelled(p, t->old_object))
        return SELECT_TEMPLATE;
    return SELECT_NONE;
}

/* ---- mutation ---- */

static const char *const path_restart[] = {"spec", "template", "spec", "restartPolicy"};
static const char *const path_pull[] = {"spec", "template", "spec", "imagePullSecrets"};

static int
set_annotation(struct decision *d, json_t *obj, struct hw_patch *patch,
               const struct policy_str *want, const char *key, int helm_list, const char *what,
               struct hw_error *err)
{
    const char *path[3] = {"metadata", "annotations", key};
    const json_t *cur;
    const char *have;
    size_t len;
    char b1[48], b2[48];

    if (want->mode == HW_MODE_OFF)
        return 0;
    cur = annotation(obj, key);
    if (cur != NULL) {
        if (want->mode == HW_MODE_ADD)
            return 0;
        have = str_of(cur, &len);
        if (have != NULL && (helm_list ? same_helm_list(have, len, want->value, strlen(want->value))
                                       : str_is(cur, want->value)))
            return 0;
        d->out->n_replaced++;
        hw_text_printable(b2, sizeof(b2), want->value, strlen(want->value), 40);
        warn(d->out, "%s %s replaced by %s (platform policy)", key, shown(cur, b1, sizeof(b1)), b2);
    }
    changed(d->out, what);
    return hw_patch_set(patch, obj, path, 3, json_string(want->value), err);
}

/* CREATE: the policy's restartPolicy. Job validation refuses Always, which
 * is what kube-apiserver's defaulting made of a chart that left it out:
 * "add" treats it as absent. */
static int
set_restart_policy(struct decision *d, json_t *obj, struct hw_patch *patch, struct hw_error *err)
{
    const struct policy_str *want = &d->s->restart_policy;
    const json_t *cur;
    char b1[48];

    if (want->mode == HW_MODE_OFF)
        return 0;
    cur = get_path(obj, path_restart, 4);
    if (cur != NULL) {
        if (str_is(cur, want->value) || (want->mode == HW_MODE_ADD && !str_is(cur, "Always")))
            return 0;
        d->out->n_replaced++;
        warn(d->out, "restartPolicy %s replaced by %s: a failed migration must not restart in place",
             shown(cur, b1, sizeof(b1)), want->value);
    }
    changed(d->out, "restartPolicy");
    return hw_patch_set(patch, obj, path_restart, 4, json_string(want->value), err);
}

static int
has_pull_secret(const json_t *list, const char *name)
{
    size_t i;
    const json_t *e;

    json_array_foreach(list, i, e) {
        if (str_is(json_object_get(e, "name"), name))
            return 1;
    }
    return 0;
}

/* CREATE: appends each policy secret the template does not list yet. */
static int
merge_pull_secrets(struct decision *d, json_t *obj, struct hw_patch *patch, struct hw_error *err)
{
    const struct policy_settings *p = d->s;
    int any = 0;

    if (p->pull_mode == HW_MODE_OFF)
        return 0;
    for (size_t i = 0; i < p->pull_secrets.n; i++) {
        /* Re-read each time: the previous append may have created the list. */
        if (has_pull_secret(get_path(obj, path_pull, 4), p->pull_secrets.v[i]))
            continue;
        if (hw_patch_append(patch, obj, path_pull, 4, json_pack("{s:s}", "name", p->pull_secrets.v[i]),
                            err) != 0)
            return -1;
        any = 1;
    }
    if (any)
        changed(d->out, "imagePullSecrets");
    return 0;
}

/* UPDATE: puts one pod-template field back to its stored value. */
static int
keep_field(struct decision *d, json_t *obj, const json_t *old, const char *const *path,
           const char *what, struct hw_patch *patch, struct hw_error *err)
{
    const json_t *cur = get_path(obj, path, 4), *was = get_path(old, path, 4);
    char b1[48], b2[48];

    if (cur == was || (cur != NULL && was != NULL && json_equal(cur, was)))
        return 0;
    if (path == path_restart)
        warn(d->out, "restartPolicy %s kept as %s: the pod template of an existing Job cannot change",
             cur ? shown(cur, b1, sizeof(b1)) : "(none)", was ? shown(was, b2, sizeof(b2)) : "(none)");
    else
        warn(d->out, "imagePullSecrets kept as stored: the pod template of an existing Job cannot change");
    changed(d->out, what);
    if (was == NULL)
        return hw_patch_remove(patch, obj, path, 4, err);
    return hw_patch_set(patch, obj, path, 4, json_deep_copy(was), err);
}

/* What the current policy would change in a stored pod template, as
 * "restartPolicy,imagePullSecrets" in out->stale ("" when nothing). */
static void
stale_template(const struct policy_settings *p, const json_t *old, struct hw_outcome *out)
{
    const json_t *restart = get_path(old, path_restart, 4), *pulls = get_path(old, path_pull, 4);
    const struct policy_str *want = &p->restart_policy;
    int stale_restart = 0, stale_pull = 0;

    if (want->mode != HW_MODE_OFF)
        stale_restart = !str_is(restart, want->value) &&
                        (want->mode == HW_MODE_ENFORCE || restart == NULL || str_is(restart, "Always"));
    for (size_t i = 0; p->pull_mode != HW_MODE_OFF && i < p->pull_secrets.n; i++)
        stale_pull |= !has_pull_secret(pulls, p->pull_secrets.v[i]);
    snprintf(out->stale, sizeof(out->stale), "%s%s%s", stale_restart ? "restartPolicy" : "",
             stale_restart && stale_pull ? "," : "", stale_pull ? "imagePullSecrets" : "");
}

/* UPDATE: the stored template's managed fields, and one warning when the
 * stored template itself is not what the policy would write. */
static int
keep_template(struct decision *d, json_t *obj, const json_t *old, struct hw_patch *patch,
              struct hw_error *err)
{
    if (keep_field(d, obj, old, path_restart, "restartPolicy", patch, err) != 0 ||
        keep_field(d, obj, old, path_pull, "imagePullSecrets", patch, err) != 0)
        return -1;
    stale_template(d->s, old, d->out);
    if (d->out->stale[0] != '\0')
        warn(d->out, "pod template predates the policy (%s): it is immutable; recreate the Job to apply it",
             d->out->stale);
    return 0;
}

/* Sets a Job setting. On UPDATE (old set) a value the update leaves as
 * stored stays: changing a running Job's deadline or TTL from a label
 * change could end it. */
static int
set_job_int(struct decision *d, json_t *obj, const json_t *old, struct hw_patch *patch,
            const struct policy_int *want, const char *key, struct hw_error *err)
{
    const char *path[2] = {"spec", key};
    const json_t *cur = get_path(obj, path, 2);

    if (want->mode == HW_MODE_OFF)
        return 0;
    if (old != NULL) {
        const json_t *was = get_path(old, path, 2);

        if (cur == was || (cur != NULL && was != NULL && json_equal(cur, was)))
            return 0;
    }
    if (cur != NULL) {
        if (want->mode == HW_MODE_ADD || (json_is_integer(cur) && json_integer_value(cur) == want->value))
            return 0;
        d->out->n_replaced++;
        if (json_is_integer(cur))
            warn(d->out, "%s %lld replaced by %lld (platform policy)", key,
                 (long long)json_integer_value(cur), want->value);
        else
            warn(d->out, "%s replaced by %lld (platform policy)", key, want->value);
    }
    changed(d->out, key);
    return hw_patch_set(patch, obj, path, 2, json_integer(want->value), err);
}

/* ---- lint ---- */

/* The first part of a Helm list value that known() rejects, made
 * printable into buf; NULL when every part is known. */
static const char *
first_unknown(const json_t *value, int (*known)(const char *, size_t), char *buf, size_t bufsz)
{
    const char *part, *s;
    size_t pos = 0, len, plen;

    s = str_of(value, &len);
    while (s != NULL && next_part(s, len, &pos, &part, &plen)) {
        if (known(part, plen))
            continue;
        hw_text_printable(buf, bufsz, part, plen, 40);
        return buf;
    }
    return NULL;
}

static void
lint_hook_values(struct decision *d, const json_t *obj)
{
    const char *bad;
    char msg[160], b[48];

    bad = first_unknown(annotation(obj, ANN_HOOK), policy_is_known_event, b, sizeof(b));
    if (bad != NULL) {
        snprintf(msg, sizeof(msg), "helm.sh/hook has unknown event \"%s\": Helm skips this Job entirely",
                 bad);
        finding(d, HW_RULE_UNKNOWN_HOOK_VALUE, msg,
                "use only pre-install, post-install, pre-upgrade, post-upgrade, pre-delete, "
                "post-delete, pre-rollback, post-rollback or test in helm.sh/hook");
    }
    bad = first_unknown(annotation(obj, ANN_DELETE), policy_is_known_delete_policy, b, sizeof(b));
    if (bad != NULL) {
        snprintf(msg, sizeof(msg), "helm.sh/hook-delete-policy has unknown value \"%s\": Helm ignores it",
                 bad);
        finding(d, HW_RULE_UNKNOWN_HOOK_VALUE, msg,
                "use only before-hook-creation, hook-succeeded or hook-failed in "
                "helm.sh/hook-delete-policy");
    }
}

static void
lint_delete_policy(struct decision *d, const json_t *obj)
{
    const json_t *del = annotation(obj, ANN_DELETE);
    const char *s, *part;
    size_t pos = 0, len, plen;

    /* Without the annotation Helm defaults to before-hook-creation. */
    if (annotation(obj, ANN_HOOK) == NULL || del == NULL)
        return;
    s = str_of(del, &len);
    while (s != NULL && next_part(s, len, &pos, &part, &plen)) {
        if (plen == 20 && strncasecmp(part, "before-hook-creation", 20) == 0)
            return;
    }
    finding(d, HW_RULE_DELETE_POLICY,
            "hook-delete-policy lacks before-hook-creation: a failed run blocks the next upgrade",
            "add before-hook-creation to helm.sh/hook-delete-policy, e.g. "
            "\"before-hook-creation,hook-succeeded\"");
}

static void
lint_job_settings(struct decision *d, const json_t *obj)
{
    const struct policy_settings *p = d->s;
    const json_t *spec = json_object_get(obj, "spec");
    const json_t *ttl = json_object_get(spec, "ttlSecondsAfterFinished");
    const json_t *ads = json_object_get(spec, "activeDeadlineSeconds");
    char msg[160], fix[200];

    /* The messages are written only for a rule that is on. */
    if (p->actions[HW_RULE_TTL] != HW_ACTION_OFF && json_is_integer(ttl) &&
        json_integer_value(ttl) < p->ttl_min_seconds) {
        snprintf(msg, sizeof(msg),
                 "ttlSecondsAfterFinished %lld may delete the Job before Helm sees it finish",
                 (long long)json_integer_value(ttl));
        snprintf(fix, sizeof(fix),
                 "remove ttlSecondsAfterFinished (the hook delete policy cleans up) or set it to "
                 "at least %lld",
                 p->ttl_min_seconds);
        finding(d, HW_RULE_TTL, msg, fix);
    }
    if (p->actions[HW_RULE_ACTIVE_DEADLINE] == HW_ACTION_OFF)
        return;
    if (!json_is_integer(ads)) {
        snprintf(msg, sizeof(msg),
                 "activeDeadlineSeconds is not set: a hung migration runs into Helm's %llds timeout",
                 p->helm_timeout_seconds);
        snprintf(fix, sizeof(fix), "set spec.activeDeadlineSeconds below Helm's --timeout (%llds)",
                 p->helm_timeout_seconds);
        finding(d, HW_RULE_ACTIVE_DEADLINE, msg, fix);
    } else if (json_integer_value(ads) >= p->helm_timeout_seconds) {
        snprintf(msg, sizeof(msg),
                 "activeDeadlineSeconds %lld is not below Helm's %llds timeout: Helm gives up first",
                 (long long)json_integer_value(ads), p->helm_timeout_seconds);
        snprintf(fix, sizeof(fix), "set spec.activeDeadlineSeconds below Helm's --timeout (%llds)",
                 p->helm_timeout_seconds);
        finding(d, HW_RULE_ACTIVE_DEADLINE, msg, fix);
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
lint_sidecars(struct decision *d, const json_t *obj)
{
    const struct policy_settings *p = d->s;
    const json_t *containers = json_object_get(
        json_object_get(json_object_get(json_object_get(obj, "spec"), "template"), "spec"),
        "containers");
    const json_t *c;
    size_t i;
    char msg[160], b[48];

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
                         shown(json_object_get(c, "name"), b, sizeof(b)));
                finding(d, HW_RULE_SIDECAR, msg,
                        "run it as a native sidecar (an initContainer with restartPolicy: Always), "
                        "disable injection for this Job, or stop it when the migration ends "
                        "(e.g. cloud-sql-proxy --quitquitquit)");
                return;
            }
        }
    }
}

/*
 * Helm stamps meta.helm.sh/release-name on release resources only (hooks
 * are built without it), after it sorted hooks from the rendered manifest:
 * a Job carrying it is not a hook, whatever helm.sh/hook says. A hook
 * annotation next to it came too late (a Helm 3 post-renderer, a webhook,
 * this one included, or an edit), so the message says so in every case:
 * the verdict and its text depend only on the Job as it ends up, which a
 * native validating policy sees too (export.c).
 */
static void
lint_not_a_hook(struct decision *d, const json_t *obj)
{
    if (annotation(obj, ANN_RELEASE) == NULL)
        return;
    finding(d, HW_RULE_NOT_A_HOOK,
            "not a Helm hook: Helm installed it as a release resource, and any helm.sh/hook on it "
            "is inert; set the hook in the chart",
            "make it a hook in the chart: annotate the Job helm.sh/hook: pre-install,pre-upgrade "
            "(many charts have a value such as useHelmHooks), or render the chart through "
            "\"hookwarden render\" as a Helm 4 post-renderer; Helm sorts hooks before a Helm 3 "
            "post-renderer, a webhook or an edit can add helm.sh/hook");
}

/* ---- the decision ---- */

static int
mutate(struct decision *d, const struct hw_target *t, json_t *obj, struct hw_patch *patch,
       struct hw_error *err)
{
    const struct policy_settings *p = d->s;
    const json_t *old = t->operation == HW_OP_UPDATE ? t->old_object : NULL;

    if (set_annotation(d, obj, patch, &p->hook_events, ANN_HOOK, 1, "hook", err) != 0 ||
        set_annotation(d, obj, patch, &p->hook_delete, ANN_DELETE, 1, "hook-delete-policy", err) != 0 ||
        set_annotation(d, obj, patch, &p->hook_weight, ANN_WEIGHT, 0, "hook-weight", err) != 0)
        return -1;
    if (old == NULL && (set_restart_policy(d, obj, patch, err) != 0 ||
                        merge_pull_secrets(d, obj, patch, err) != 0))
        return -1;
    if (set_job_int(d, obj, old, patch, &p->backoff_limit, "backoffLimit", err) != 0 ||
        set_job_int(d, obj, old, patch, &p->active_deadline, "activeDeadlineSeconds", err) != 0 ||
        set_job_int(d, obj, old, patch, &p->ttl, "ttlSecondsAfterFinished", err) != 0)
        return -1;
    return 0;
}

/* Every rule over obj. */
static void
lint(struct decision *d, const json_t *obj)
{
    lint_not_a_hook(d, obj);
    lint_hook_values(d, obj);
    lint_delete_policy(d, obj);
    lint_job_settings(d, obj);
    lint_sidecars(d, obj);
}

static void
name_job(struct decision *d, const struct hw_target *t, const json_t *object)
{
    const json_t *meta = json_object_get(object, "metadata");
    const char *name, *ns;

    name = json_string_value(json_object_get(meta, "name"));
    ns = t->namespace_ && t->namespace_[0] ? t->namespace_
                                            : json_string_value(json_object_get(meta, "namespace"));
    if (name == NULL || name[0] == '\0')
        name = json_string_value(json_object_get(meta, "generateName"));
    /* "ns/name", quoted, cut to fit as snprintf would: on every selected
     * request, so without printf. */
    {
        const char *parts[] = {"\"", ns && ns[0] ? ns : "", ns && ns[0] ? "/" : "",
                               name ? name : "(unnamed)", "\""};
        size_t used = 0;

        for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
            size_t n = strlen(parts[i]);

            if (n > sizeof(d->job) - 1 - used)
                n = sizeof(d->job) - 1 - used;
            memcpy(d->job + used, parts[i], n);
            used += n;
        }
        d->job[used] = '\0';
    }
}

/* out from scratch: counts and flags zero, texts empty. The text arrays
 * (12 KiB) are written before they are read, so only their first bytes
 * are cleared: zeroing them all made a sixth of a request's cache misses
 * on writes (callgrind). */
static void
outcome_reset(struct hw_outcome *out)
{
    out->selected = out->deleting = out->denied = 0;
    out->n_warnings = out->n_replaced = out->n_findings = out->n_changes = 0;
    out->stale[0] = '\0';
    out->deny_message[0] = '\0';
    out->n_overrides = 0;
}

int
hw_policy_apply(const struct hw_policy *p, const struct hw_target *t, json_t *object,
                struct hw_patch *patch, struct hw_outcome *out, struct hw_error *err)
{
    struct policy_settings scratch;
    struct decision d = {.out = out};
    const json_t *old = t->operation == HW_OP_UPDATE ? t->old_object : NULL;
    const char *ns = namespace_of(t, object);
    enum selection sel;

    outcome_reset(out);
    /* Selection is the same in every namespace: overrides cannot change it. */
    sel = selects(&p->base, t, ns, object);
    if (sel == SELECT_NONE)
        return 0;
    /* An object being deleted only loses finalizers: nothing to add or judge. */
    if (present(json_object_get(json_object_get(object, "metadata"), "deletionTimestamp")) != NULL) {
        out->deleting = 1;
        return 0;
    }
    out->selected = 1;
    d.s = policy_settings_for(p, ns, &scratch, out->overrides, &out->n_overrides);
    name_job(&d, t, object);
    if (old != NULL && keep_template(&d, object, old, patch, err) != 0)
        return -1;
    if (sel == SELECT_TEMPLATE)
        return 0;
    if (old != NULL) {
        /* Ratcheting: a rule the stored Job already broke only warns. */
        struct decision stored = d;

        stored.stored_rules = &d.waived;
        lint(&stored, old);
    }
    if (mutate(&d, t, object, patch, err) != 0)
        return -1;
    lint(&d, object);
    return 0;
}

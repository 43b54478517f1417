/* SPDX-License-Identifier: Apache-2.0 */
/*
 * policy: the decision function. Given a snapshot and a Job it selects (the
 * same in every namespace), it takes the settings for the Job's namespace
 * (the base layer, or the matching overrides laid over it: policylayer.c),
 * sets what the platform wants set (hook annotations, restartPolicy,
 * imagePullSecrets, Job settings) through the patch builder, then lints the
 * result against Helm's rules (policylint.c). On UPDATE it judges only what the update
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


enum selection {
    SELECT_NONE = 0,
    SELECT_TEMPLATE,   /* UPDATE that removes the label: keep the stored template only */
    SELECT_ALL
};

/* ---- table of contents: the static functions, in the order they appear ---- */

static void build_read_plan(void);
static int str_is(const json_t *v, const char *lit);
static const json_t *present(const json_t *v);
static const json_t *get_path(const json_t *obj, const char *const *path, size_t n);
static int word_in(const char *s, size_t len, const char *const *words, size_t n);
static int same_helm_list(const char *a, size_t alen, const char *b, size_t blen);
static void warn(struct hw_outcome *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void changed(struct hw_outcome *out, const char *what);
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
static int mutate(struct decision *d, const struct hw_target *t, json_t *obj, struct hw_patch *patch,
                  struct hw_error *err);
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
const char *
policy_str_of(const json_t *v, size_t *len)
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

const json_t *
policy_annotation(const json_t *obj, const char *key)
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
int
policy_next_part(const char *s, size_t len, size_t *pos, const char **part, size_t *plen)
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
        while (policy_next_part(x, xlen, &ia, &pa, &la)) {
            found = 0;
            ib = 0;
            while (!found && policy_next_part(y, ylen, &ib, &pb, &lb))
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
const char *
policy_shown(const json_t *v, char *buf, size_t bufsz)
{
    size_t len;
    const char *s = policy_str_of(v, &len);

    if (s == NULL)
        return "(not a string)";
    if (hw_text_printable(buf, bufsz, s, len, 40)) {
        size_t keep = hw_text_cut(buf, strlen(buf), 37);

        memcpy(buf + keep, "...", 4);
    }
    return buf;
}

/* Records a finding of rule and, by its action, a warning or a denial. */
void
policy_finding(struct decision *d, enum hw_rule rule, const char *problem, const char *fix)
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

int
policy_list_has(const struct policy_strlist *l, const char *s)
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
    return p->label_values.n == 0 || policy_list_has(&p->label_values, json_string_value(label));
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
    if (policy_list_has(&p->ns_exclude, ns) || (p->ns_include.n > 0 && !policy_list_has(&p->ns_include, ns)))
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
    cur = policy_annotation(obj, key);
    if (cur != NULL) {
        if (want->mode == HW_MODE_ADD)
            return 0;
        have = policy_str_of(cur, &len);
        if (have != NULL && (helm_list ? same_helm_list(have, len, want->value, strlen(want->value))
                                       : str_is(cur, want->value)))
            return 0;
        d->out->n_replaced++;
        hw_text_printable(b2, sizeof(b2), want->value, strlen(want->value), 40);
        warn(d->out, "%s %s replaced by %s (platform policy)", key, policy_shown(cur, b1, sizeof(b1)), b2);
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
             policy_shown(cur, b1, sizeof(b1)), want->value);
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
             cur ? policy_shown(cur, b1, sizeof(b1)) : "(none)", was ? policy_shown(was, b2, sizeof(b2)) : "(none)");
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
        policy_lint(&stored, old);
    }
    if (mutate(&d, t, object, patch, err) != 0)
        return -1;
    policy_lint(&d, object);
    return 0;
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * policylint: the rules, Helm's and the platform's, over a Job as policy.c
 * leaves it (or as it is stored, for ratcheting): not a hook, unknown hook
 * values, a delete policy without before-hook-creation, Job settings that
 * fight Helm's wait (TTL, active deadline), long-lived sidecars. Each
 * finding goes to policy_finding(), which warns, denies or, for a stored
 * Job, only records that the rule fired. Strings from the object are
 * compared with their lengths, as everywhere in the policy module.
 */
#include <stdio.h>
#include <string.h>

#include "hookwarden/text.h"
#include "policy_impl.h"

/* ---- table of contents: the static functions, in the order they appear ---- */
static int rule_off(const struct decision *d, enum hw_rule rule);
static const char *first_unknown(const json_t *value, int (*known)(const char *, size_t),
                                 char *buf, size_t bufsz);
static void lint_hook_values(struct decision *d, const json_t *obj);
static void lint_delete_policy(struct decision *d, const json_t *obj);
static void lint_job_settings(struct decision *d, const json_t *obj);
static int mentions_stop(const json_t *v);
static void lint_sidecars(struct decision *d, const json_t *obj);
static void lint_not_a_hook(struct decision *d, const json_t *obj);

/* ---- lint ---- */

/* A rule that is off finds nothing (policy_finding() would drop it): its
 * reads of the object are skipped. */
static int
rule_off(const struct decision *d, enum hw_rule rule)
{
    return d->s->actions[rule] == HW_ACTION_OFF;
}

/* The first part of a Helm list value that known() rejects, made
 * printable into buf; NULL when every part is known. */
static const char *
first_unknown(const json_t *value, int (*known)(const char *, size_t), char *buf, size_t bufsz)
{
    const char *part, *s;
    size_t pos = 0, len, plen;

    s = policy_str_of(value, &len);
    while (s != NULL && policy_next_part(s, len, &pos, &part, &plen)) {
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

    if (rule_off(d, HW_RULE_UNKNOWN_HOOK_VALUE))
        return;
    bad = first_unknown(policy_annotation(obj, ANN_HOOK), policy_is_known_event, b, sizeof(b));
    if (bad != NULL) {
        snprintf(msg, sizeof(msg), "helm.sh/hook has unknown event \"%s\": Helm skips this Job entirely",
                 bad);
        policy_finding(d, HW_RULE_UNKNOWN_HOOK_VALUE, msg,
                "use only pre-install, post-install, pre-upgrade, post-upgrade, pre-delete, "
                "post-delete, pre-rollback, post-rollback or test in helm.sh/hook");
    }
    bad = first_unknown(policy_annotation(obj, ANN_DELETE), policy_is_known_delete_policy, b, sizeof(b));
    if (bad != NULL) {
        snprintf(msg, sizeof(msg), "helm.sh/hook-delete-policy has unknown value \"%s\": Helm ignores it",
                 bad);
        policy_finding(d, HW_RULE_UNKNOWN_HOOK_VALUE, msg,
                "use only before-hook-creation, hook-succeeded or hook-failed in "
                "helm.sh/hook-delete-policy");
    }
}

static void
lint_delete_policy(struct decision *d, const json_t *obj)
{
    const json_t *del;
    const char *s, *part;
    size_t pos = 0, len, plen;

    if (rule_off(d, HW_RULE_DELETE_POLICY))
        return;
    /* Without the annotation Helm defaults to before-hook-creation. */
    del = policy_annotation(obj, ANN_DELETE);
    if (policy_annotation(obj, ANN_HOOK) == NULL || del == NULL)
        return;
    s = policy_str_of(del, &len);
    while (s != NULL && policy_next_part(s, len, &pos, &part, &plen)) {
        if (plen == 20 && strncasecmp(part, "before-hook-creation", 20) == 0)
            return;
    }
    policy_finding(d, HW_RULE_DELETE_POLICY,
            "hook-delete-policy lacks before-hook-creation: a failed run blocks the next upgrade",
            "add before-hook-creation to helm.sh/hook-delete-policy, e.g. "
            "\"before-hook-creation,hook-succeeded\"");
}

static void
lint_job_settings(struct decision *d, const json_t *obj)
{
    const struct policy_settings *p = d->s;
    const json_t *spec, *ttl, *ads;
    char msg[160], fix[200];

    if (rule_off(d, HW_RULE_TTL) && rule_off(d, HW_RULE_ACTIVE_DEADLINE))
        return;
    spec = json_object_get(obj, "spec");
    ttl = json_object_get(spec, "ttlSecondsAfterFinished");
    ads = json_object_get(spec, "activeDeadlineSeconds");
    if (!rule_off(d, HW_RULE_TTL) && json_is_integer(ttl) && json_integer_value(ttl) < p->ttl_min_seconds) {
        snprintf(msg, sizeof(msg),
                 "ttlSecondsAfterFinished %lld may delete the Job before Helm sees it finish",
                 (long long)json_integer_value(ttl));
        snprintf(fix, sizeof(fix),
                 "remove ttlSecondsAfterFinished (the hook delete policy cleans up) or set it to "
                 "at least %lld",
                 p->ttl_min_seconds);
        policy_finding(d, HW_RULE_TTL, msg, fix);
    }
    if (rule_off(d, HW_RULE_ACTIVE_DEADLINE))
        return;
    if (!json_is_integer(ads)) {
        snprintf(msg, sizeof(msg),
                 "activeDeadlineSeconds is not set: a hung migration runs into Helm's %llds timeout",
                 p->helm_timeout_seconds);
        snprintf(fix, sizeof(fix), "set spec.activeDeadlineSeconds below Helm's --timeout (%llds)",
                 p->helm_timeout_seconds);
        policy_finding(d, HW_RULE_ACTIVE_DEADLINE, msg, fix);
    } else if (json_integer_value(ads) >= p->helm_timeout_seconds) {
        snprintf(msg, sizeof(msg),
                 "activeDeadlineSeconds %lld is not below Helm's %llds timeout: Helm gives up first",
                 (long long)json_integer_value(ads), p->helm_timeout_seconds);
        snprintf(fix, sizeof(fix), "set spec.activeDeadlineSeconds below Helm's --timeout (%llds)",
                 p->helm_timeout_seconds);
        policy_finding(d, HW_RULE_ACTIVE_DEADLINE, msg, fix);
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
    const json_t *containers, *c;
    size_t i;
    char msg[160], b[48];

    if (rule_off(d, HW_RULE_SIDECAR))
        return;
    containers = json_object_get(
        json_object_get(json_object_get(json_object_get(obj, "spec"), "template"), "spec"),
        "containers");
    if (json_array_size(containers) < 2 || mentions_stop(containers))
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
                         policy_shown(json_object_get(c, "name"), b, sizeof(b)));
                policy_finding(d, HW_RULE_SIDECAR, msg,
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
    if (rule_off(d, HW_RULE_NOT_A_HOOK) || policy_annotation(obj, ANN_RELEASE) == NULL)
        return;
    policy_finding(d, HW_RULE_NOT_A_HOOK,
            "not a Helm hook: Helm installed it as a release resource, and any helm.sh/hook on it "
            "is inert; set the hook in the chart",
            "make it a hook in the chart: annotate the Job helm.sh/hook: pre-install,pre-upgrade "
            "(many charts have a value such as useHelmHooks), or render the chart through "
            "\"hookwarden render\" as a Helm 4 post-renderer; Helm sorts hooks before a Helm 3 "
            "post-renderer, a webhook or an edit can add helm.sh/hook");
}

/* Every rule over obj. */
void
policy_lint(struct decision *d, const json_t *obj)
{
    lint_not_a_hook(d, obj);
    lint_hook_values(d, obj);
    lint_delete_policy(d, obj);
    lint_job_settings(d, obj);
    lint_sidecars(d, obj);
}

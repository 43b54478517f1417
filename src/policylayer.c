/* SPDX-License-Identifier: Apache-2.0 */
/*
 * policylayer: the policy's fields as one table, and what is built on it.
 * Each settable field of the policy document has a row: its path in the
 * document, its kind and where it lives in struct policy_settings. From
 * that one table come which fields a document (the file's base layer or
 * one override) gives, the overlay of an override's fields onto the layers
 * before it (a copy of the fields it sets: nothing is parsed per request),
 * and the policy written back as a complete policy document (hookwarden
 * policy show, and the export of the policy to other forms). It also owns
 * namespace patterns ('*' any run, '?' one character) and the read-only
 * view of the overrides that include/hookwarden/policy.h promises. It
 * reads no text; policyfile.c and policyschema.c do.
 */
#include <ctype.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy_impl.h"

enum field_kind {
    F_MODE,     /* enum hw_mode: add, enforce, off */
    F_MERGE,    /* enum hw_mode: merge (ADD), off */
    F_STR,      /* const char * */
    F_INT,      /* long long */
    F_LIST,     /* struct policy_strlist */
    F_ACTION    /* enum hw_action: the rule at path, a string or {"action": ...} */
};

struct field {
    const char *path;
    enum field_kind kind;
    size_t offset;
    int per_namespace;  /* an override may set it */
    int plain;          /* F_ACTION of a rule without parameters: written as a string */
};

#define AT(m) offsetof(struct policy_settings, m)

/* In the built-in default document's order, so that the document written
 * back reads like it. */
static const struct field fields[] = {
    {"/selector/labelKey", F_STR, AT(label_key), 0, 0},
    {"/selector/labelValues", F_LIST, AT(label_values), 0, 0},
    {"/namespaces/include", F_LIST, AT(ns_include), 0, 0},
    {"/namespaces/exclude", F_LIST, AT(ns_exclude), 0, 0},
    {"/hook/events/mode", F_MODE, AT(hook_events.mode), 1, 0},
    {"/hook/events/value", F_STR, AT(hook_events.value), 1, 0},
    {"/hook/deletePolicy/mode", F_MODE, AT(hook_delete.mode), 1, 0},
    {"/hook/deletePolicy/value", F_STR, AT(hook_delete.value), 1, 0},
    {"/hook/weight/mode", F_MODE, AT(hook_weight.mode), 1, 0},
    {"/hook/weight/value", F_STR, AT(hook_weight.value), 1, 0},
    {"/restartPolicy/mode", F_MODE, AT(restart_policy.mode), 1, 0},
    {"/restartPolicy/value", F_STR, AT(restart_policy.value), 1, 0},
    {"/imagePullSecrets/mode", F_MERGE, AT(pull_mode), 1, 0},
    {"/imagePullSecrets/names", F_LIST, AT(pull_secrets), 1, 0},
    {"/job/backoffLimit/mode", F_MODE, AT(backoff_limit.mode), 1, 0},
    {"/job/backoffLimit/value", F_INT, AT(backoff_limit.value), 1, 0},
    {"/job/activeDeadlineSeconds/mode", F_MODE, AT(active_deadline.mode), 1, 0},
    {"/job/activeDeadlineSeconds/value", F_INT, AT(active_deadline.value), 1, 0},
    {"/job/ttlSecondsAfterFinished/mode", F_MODE, AT(ttl.mode), 1, 0},
    {"/job/ttlSecondsAfterFinished/value", F_INT, AT(ttl.value), 1, 0},
    {"/rules/not-a-hook", F_ACTION, AT(actions[HW_RULE_NOT_A_HOOK]), 1, 1},
    {"/rules/unknown-hook-value", F_ACTION, AT(actions[HW_RULE_UNKNOWN_HOOK_VALUE]), 1, 1},
    {"/rules/ttl-after-finished", F_ACTION, AT(actions[HW_RULE_TTL]), 1, 0},
    {"/rules/ttl-after-finished/minSeconds", F_INT, AT(ttl_min_seconds), 1, 0},
    {"/rules/delete-policy", F_ACTION, AT(actions[HW_RULE_DELETE_POLICY]), 1, 1},
    {"/rules/active-deadline", F_ACTION, AT(actions[HW_RULE_ACTIVE_DEADLINE]), 1, 0},
    {"/rules/active-deadline/helmTimeoutSeconds", F_INT, AT(helm_timeout_seconds), 1, 0},
    {"/rules/long-lived-sidecar", F_ACTION, AT(actions[HW_RULE_SIDECAR]), 1, 0},
    {"/rules/long-lived-sidecar/containers", F_LIST, AT(sidecars), 1, 0},
};

#define N_FIELDS (sizeof(fields) / sizeof(fields[0]))
#define ALL_FIELDS ((1ull << N_FIELDS) - 1)

_Static_assert(N_FIELDS < 64, "the field bits are one unsigned long long");

static size_t
field_size(enum field_kind kind)
{
    switch (kind) {
    case F_MODE:
    case F_MERGE:
        return sizeof(enum hw_mode);
    case F_STR:
        return sizeof(const char *);
    case F_INT:
        return sizeof(long long);
    case F_LIST:
        return sizeof(struct policy_strlist);
    case F_ACTION:
        return sizeof(enum hw_action);
    }
    return 0;
}

/* The value at a path of plain keys ("/a/b"), or NULL. */
static const json_t *
get_at(const json_t *doc, const char *path)
{
    char key[128];

    while (doc != NULL && *path == '/') {
        size_t n = strcspn(path + 1, "/");

        if (n >= sizeof(key))
            return NULL;
        memcpy(key, path + 1, n);
        key[n] = '\0';
        doc = json_object_get(doc, key);
        path += 1 + n;
    }
    return doc;
}

unsigned long long
policy_fields_given(const json_t *doc)
{
    unsigned long long set = 0;

    for (size_t i = 0; i < N_FIELDS; i++) {
        const json_t *v = get_at(doc, fields[i].path);
        int given = v != NULL && fields[i].per_namespace;

        /* A rule's action is given as "warn" or as {"action": "warn"}. */
        if (fields[i].kind == F_ACTION)
            given = json_is_string(v) || json_object_get(v, "action") != NULL;
        given &= fields[i].per_namespace;
        if (given)
            set |= 1ull << i;
    }
    return set;
}

unsigned long long
policy_fields_hook_modes(void)
{
    unsigned long long set = 0;

    for (size_t i = 0; i < N_FIELDS; i++) {
        if (fields[i].kind == F_MODE && strncmp(fields[i].path, "/hook/", 6) == 0)
            set |= 1ull << i;
    }
    return set;
}

unsigned long long
policy_fields_rule_action(enum hw_rule rule)
{
    for (size_t i = 0; i < N_FIELDS; i++) {
        if (fields[i].kind == F_ACTION && fields[i].offset == AT(actions[0]) + rule * sizeof(enum hw_action))
            return 1ull << i;
    }
    return 0;
}

void
policy_overlay(struct policy_settings *dst, const struct policy_settings *src,
               unsigned long long set)
{
    for (size_t i = 0; set != 0 && i < N_FIELDS; i++, set >>= 1) {
        if (set & 1)
            memcpy((char *)dst + fields[i].offset, (const char *)src + fields[i].offset,
                   field_size(fields[i].kind));
    }
}

/* ---- namespace patterns ---- */

int
policy_glob_match(const char *pat, const char *s)
{
    const char *star = NULL, *resume = NULL;

    /* Greedy with one backtrack point: the last '*' seen takes one more
     * character each time the rest fails. Linear in practice, at most
     * quadratic, on names of at most 63 bytes. */
    while (*s != '\0') {
        if (*pat == '*') {
            star = pat++;
            resume = s;
        } else if (*pat == '?' || *pat == *s) {
            pat++;
            s++;
        } else if (star != NULL) {
            pat = star + 1;
            s = ++resume;
        } else {
            return 0;
        }
    }
    while (*pat == '*')
        pat++;
    return *pat == '\0';
}

int
policy_glob_can_match(const char *pat)
{
    char name[66];
    size_t n = 0, len = strlen(pat);

    /* The shortest candidate: '?' as 'a', '*' as nothing, except that a
     * '*' at either end gives an 'a' where the name would otherwise start
     * or end with '-'. If that is no valid name, none is. */
    if (len == 0)
        return 0;
    name[n++] = 'a';
    for (size_t i = 0; i < len; i++) {
        if (pat[i] == '*')
            continue;
        if (n == sizeof(name) - 2)
            return 0;
        name[n++] = pat[i] == '?' ? 'a' : pat[i];
    }
    if (pat[len - 1] == '*' && (n == 1 || !isalnum((unsigned char)name[n - 1])))
        name[n++] = 'a';
    name[n] = '\0';
    if (pat[0] == '*' && (n == 1 || !isalnum((unsigned char)name[1])))
        return policy_is_namespace(name);
    return n > 1 && policy_is_namespace(name + 1);
}

static int
override_matches(const struct policy_override *o, const char *ns)
{
    for (size_t i = 0; i < o->namespaces.n; i++) {
        if (policy_glob_match(o->namespaces.v[i], ns))
            return 1;
    }
    return 0;
}

const struct policy_settings *
policy_settings_for(const struct hw_policy *p, const char *ns, struct policy_settings *scratch,
                    unsigned short *which, size_t *n_which)
{
    size_t n = 0;

    for (size_t i = 0; i < p->n_overrides; i++) {
        if (override_matches(&p->overrides[i], ns))
            which[n++] = (unsigned short)i;
    }
    *n_which = n;
    if (n == 0)
        return &p->base;
    *scratch = p->base;
    for (size_t k = 0; k < n; k++)
        policy_overlay(scratch, &p->overrides[which[k]].values, p->overrides[which[k]].set);
    return scratch;
}

/* ---- the read-only view (policy.h) ---- */

size_t
hw_policy_override_count(const struct hw_policy *p)
{
    return p->n_overrides;
}

const char *const *
hw_policy_override_namespaces(const struct hw_policy *p, size_t i, size_t *n)
{
    *n = i < p->n_overrides ? p->overrides[i].namespaces.n : 0;
    return i < p->n_overrides ? p->overrides[i].namespaces.v : NULL;
}

const char *
hw_policy_override_where(const struct hw_policy *p, size_t i)
{
    return i < p->n_overrides ? p->overrides[i].where : "";
}

int
hw_policy_override_has_namespace(const struct hw_policy *p, size_t i, const char *ns)
{
    return i < p->n_overrides && override_matches(&p->overrides[i], ns);
}

int
hw_policy_glob_is_match(const char *pattern, const char *ns)
{
    return policy_glob_match(pattern, ns);
}

size_t
hw_policy_overrides_for(const struct hw_policy *p, const char *ns, size_t *which)
{
    size_t n = 0;

    for (size_t i = 0; i < p->n_overrides; i++) {
        if (override_matches(&p->overrides[i], ns))
            which[n++] = i;
    }
    return n;
}

struct hw_policy *
hw_policy_with_overrides(const struct hw_policy *p, const size_t *which, size_t n,
                         struct hw_error *err)
{
    struct hw_policy *q;

    for (size_t k = 0; k < n; k++) {
        if (which[k] >= p->n_overrides) {
            hw_error_set(err, HW_EINVAL, "no override %zu: the policy has %zu", which[k],
                         p->n_overrides);
            return NULL;
        }
    }
    if ((q = calloc(1, sizeof(*q))) == NULL || (q->source = strdup(p->source)) == NULL) {
        free(q);
        hw_error_set(err, HW_EINTERNAL, "out of memory");
        return NULL;
    }
    atomic_init(&q->refs, 1);
    /* The settings borrow their strings from the documents: hold them too. */
    q->docs[0] = json_incref(p->docs[0]);
    q->docs[1] = json_incref(p->docs[1]);
    q->base = p->base;
    for (size_t k = 0; k < n; k++)
        policy_overlay(&q->base, &p->overrides[which[k]].values, p->overrides[which[k]].set);
    q->review_needs = q->base.actions[HW_RULE_SIDECAR] != HW_ACTION_OFF ? HW_REVIEW_NEED_CONTAINERS : 0;
    return q;
}

struct hw_policy *
hw_policy_for_namespace(const struct hw_policy *p, const char *ns, struct hw_error *err)
{
    size_t *which = calloc(p->n_overrides ? p->n_overrides : 1, sizeof(*which));
    struct hw_policy *q;

    if (which == NULL) {
        hw_error_set(err, HW_EINTERNAL, "out of memory");
        return NULL;
    }
    q = hw_policy_with_overrides(p, which, hw_policy_overrides_for(p, ns, which), err);
    free(which);
    return q;
}

int
hw_policy_has_namespace(const struct hw_policy *p, const char *ns)
{
    return !policy_list_has(&p->base.ns_exclude, ns) &&
           (p->base.ns_include.n == 0 || policy_list_has(&p->base.ns_include, ns));
}

/* ---- the policy as a document ---- */

/* Sets value (taken) at path in root, making the objects on the way. */
static int
set_at(json_t *root, const char *path, json_t *value)
{
    char key[128];
    json_t *next;

    for (;;) {
        size_t n = strcspn(path + 1, "/");

        if (value == NULL || n >= sizeof(key)) {
            json_decref(value);
            return -1;
        }
        memcpy(key, path + 1, n);
        key[n] = '\0';
        path += 1 + n;
        if (*path == '\0')
            return json_object_set_new(root, key, value);
        next = json_object_get(root, key);
        if (next == NULL) {
            if ((next = json_object()) == NULL || json_object_set_new(root, key, next) != 0) {
                json_decref(value);
                return -1;
            }
        }
        root = next;
    }
}

static json_t *
field_json(const struct field *f, const struct policy_settings *s)
{
    const char *at = (const char *)s + f->offset;
    static const char *const modes[] = {"off", "add", "enforce"};
    const struct policy_strlist *l;
    json_t *a;

    switch (f->kind) {
    case F_MODE:
        return json_string(modes[*(const enum hw_mode *)at]);
    case F_MERGE:
        return json_string(*(const enum hw_mode *)at == HW_MODE_OFF ? "off" : "merge");
    case F_STR:
        return json_string(*(const char *const *)at);
    case F_INT:
        return json_integer(*(const long long *)at);
    case F_ACTION:
        return json_string(hw_policy_action_name(*(const enum hw_action *)at));
    case F_LIST:
        l = (const struct policy_strlist *)at;
        if ((a = json_array()) == NULL)
            return NULL;
        for (size_t i = 0; i < l->n; i++) {
            if (json_array_append_new(a, json_string(l->v[i])) != 0) {
                json_decref(a);
                return NULL;
            }
        }
        return a;
    }
    return NULL;
}

/* The fields in set of s, into root (which may hold other keys). */
static int
settings_json(json_t *root, const struct policy_settings *s, unsigned long long set)
{
    char path[128];

    for (size_t i = 0; i < N_FIELDS; i++) {
        const struct field *f = &fields[i];

        if (!(set & 1ull << i))
            continue;
        snprintf(path, sizeof(path), "%s%s", f->path, f->kind == F_ACTION && !f->plain ? "/action" : "");
        if (set_at(root, path, field_json(f, s)) != 0)
            return -1;
    }
    return 0;
}

static json_t *
override_json(const struct policy_override *o)
{
    json_t *j = json_object(), *ns = json_array();

    if (j == NULL || ns == NULL || json_object_set_new(j, "namespaces", ns) != 0) {
        json_decref(j);
        return NULL;
    }
    for (size_t i = 0; i < o->namespaces.n; i++) {
        if (json_array_append_new(ns, json_string(o->namespaces.v[i])) != 0) {
            json_decref(j);
            return NULL;
        }
    }
    if (settings_json(j, &o->values, o->set & ALL_FIELDS) != 0) {
        json_decref(j);
        return NULL;
    }
    return j;
}

json_t *
hw_policy_to_json(const struct hw_policy *p, struct hw_error *err)
{
    json_t *root = json_object(), *list = NULL;

    if (root == NULL || settings_json(root, &p->base, ALL_FIELDS) != 0)
        goto fail;
    if (p->n_overrides > 0) {
        if ((list = json_array()) == NULL || json_object_set_new(root, "overrides", list) != 0)
            goto fail;
        for (size_t i = 0; i < p->n_overrides; i++) {
            if (json_array_append_new(list, override_json(&p->overrides[i])) != 0)
                goto fail;
        }
    }
    return root;
fail:
    json_decref(root);
    hw_error_set(err, HW_EINTERNAL, "out of memory");
    return NULL;
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The policy snapshot's layout, shared by the policy module's files:
 * policy.c (deciding), policylint.c (the rules over a Job, for policy.c),
 * policyfile.c (building snapshots from documents),
 * policyschema.c (reading a document's keys) and policylayer.c (the field
 * table, per-namespace overrides, the policy as a document). Not
 * installed, not a contract: everything outside these files uses
 * include/hookwarden/policy.h. Strings are borrowed from the JSON documents
 * the snapshot holds.
 */
#ifndef HOOKWARDEN_POLICY_IMPL_H
#define HOOKWARDEN_POLICY_IMPL_H

#include <stdatomic.h>

#include "hookwarden/buf.h"
#include "hookwarden/policy.h"

#define POLICY_LIST_MAX 64

struct policy_strlist {
    const char *v[POLICY_LIST_MAX];
    size_t n;
};

struct policy_str {
    enum hw_mode mode;
    const char *value;
};

struct policy_int {
    enum hw_mode mode;
    long long value;
};

/* What one layer of policy says: the built-in default overlaid by the
 * file's base layer and the flags, and, per override, the same with that
 * override's keys. Plain data: copied by value, strings borrowed. */
struct policy_settings {
    const char *label_key;
    struct policy_strlist label_values;  /* empty: any value */
    struct policy_strlist ns_include;    /* empty: every namespace */
    struct policy_strlist ns_exclude;
    struct policy_str hook_events, hook_delete, hook_weight, restart_policy;
    enum hw_mode pull_mode;              /* OFF or ADD (merge) */
    struct policy_strlist pull_secrets;
    struct policy_int backoff_limit, active_deadline, ttl;
    enum hw_action actions[HW_RULE_COUNT];
    long long ttl_min_seconds;
    long long helm_timeout_seconds;
    struct policy_strlist sidecars;
};

/* One entry of the file's "overrides", compiled: the fields it sets (bits
 * of policylayer.c's field table) with their values. */
struct policy_override {
    struct policy_strlist namespaces;  /* globs: '*' any run, '?' one character */
    unsigned long long set;            /* policy_field bits this override sets */
    struct policy_settings values;     /* read over a copy of the base; only set counts */
    char where[288];                   /* "FILE:LINE:COL" of the entry, for messages */
};

struct hw_policy {
    atomic_int refs;
    json_t *docs[2];                   /* the default document and the file, held */
    char *source;
    struct policy_settings base;       /* default, file, flags */
    struct policy_override *overrides; /* owned, n_overrides of them, file order */
    size_t n_overrides;
    unsigned review_needs;             /* HW_REVIEW_NEED_* of base and every override */
};

/* ---- policyschema.c: reading a parsed document into settings ---- */

/* Where a key or item was written: "/a/b/0" (keys unescaped). */
struct policy_pos {
    char *path;
    int line, col;
};

struct policy_posmap {
    struct policy_pos *v;
    size_t n, cap;
};

/* One document being read: its name, the positions of its keys, where
 * problems go. */
struct policy_vctx {
    const char *source;
    const char *base;             /* path of the part being read: "" or "/overrides/N" */
    int yaml;                     /* read from YAML: messages say how to quote */
    struct policy_posmap pm;
    struct hw_buf *report;        /* NULL when only the first problem matters */
    struct hw_error *err;
    int problems;
};

/* Reads a policy document's base layer (every key but overrides) over p. */
void policy_read_doc(struct policy_vctx *v, const json_t *doc, struct policy_settings *p);

/* Reads and compiles doc's "overrides" into p->overrides, checking each
 * pattern against p->base's namespaces. -1 only when out of memory. */
int policy_read_overrides(struct policy_vctx *v, const json_t *doc, struct hw_policy *p);

int policy_is_label_key(const char *s);
int policy_is_label_value(const char *s);
int policy_is_namespace(const char *s);
int policy_is_secret_name(const char *s);

/* ---- policylayer.c: the field table, globs, overlays, the policy as JSON ---- */

/* The bits of the fields an override entry (already validated) gives a
 * value; only fields an override may set count. */
unsigned long long policy_fields_given(const json_t *entry);

/* The bits of the hook.* modes (--hook-annotations=false keeps them off). */
unsigned long long policy_fields_hook_modes(void);

/* The bit of a rule's action. */
unsigned long long policy_fields_rule_action(enum hw_rule rule);

/* Copies the fields in set from src to dst. */
void policy_overlay(struct policy_settings *dst, const struct policy_settings *src,
                    unsigned long long set);

/* 1 when a namespace name pattern matches ns. */
/* s is one of l's strings. */
int policy_list_has(const struct policy_strlist *l, const char *s);

int policy_glob_match(const char *pattern, const char *ns);

/* 1 when some valid namespace name matches the pattern. */
int policy_glob_can_match(const char *pattern);

/*
 * The settings for namespace ns: &p->base when no override matches, else
 * scratch, filled with the base and every matching override in file order.
 * The matching overrides' indexes go to which (room for n_overrides).
 */
const struct policy_settings *policy_settings_for(const struct hw_policy *p, const char *ns,
                                                  struct policy_settings *scratch,
                                                  unsigned short *which, size_t *n_which);

/* Helm's vocabulary (pkg/release/hook.go), shared by validation and lint. */
int policy_is_known_event(const char *s, size_t len);
int policy_is_known_delete_policy(const char *s, size_t len);

/* One decision's state, and the helpers policy.c and policylint.c share. */

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

const char *policy_str_of(const json_t *v, size_t *len);
const json_t *policy_annotation(const json_t *obj, const char *key);
int policy_next_part(const char *s, size_t len, size_t *pos, const char **part, size_t *plen);
const char *policy_shown(const json_t *v, char *buf, size_t bufsz);
void policy_finding(struct decision *d, enum hw_rule rule, const char *problem, const char *fix);

/* policylint.c: every rule over obj (policy.c's lint), findings into d. */
void policy_lint(struct decision *d, const json_t *obj);

#endif

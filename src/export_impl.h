/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The exporter's shared state, for its three files: export.c (the policy
 * accessors and expression helpers below, selection, the object stream,
 * per-namespace overrides and the entry points), exportmutate.c (the
 * mutating policy's mutations) and exportrules.c (the rules' variables and
 * texts, the validating policies).
 * Not installed, not a contract: everything outside these files uses
 * include/hookwarden/export.h.
 */
#ifndef HOOKWARDEN_EXPORT_IMPL_H
#define HOOKWARDEN_EXPORT_IMPL_H

#include <jansson.h>
#include <stddef.h>

#include "hookwarden/buf.h"
#include "hookwarden/policy.h"

#define ANN_HOOK "helm.sh/hook"
#define ANN_DELETE "helm.sh/hook-delete-policy"
#define ANN_WEIGHT "helm.sh/hook-weight"
#define ANN_RELEASE "meta.helm.sh/release-name"

/* One finding the webhook can make, in policy.c's lint order. */
struct slot {
    const char *rule;   /* the policy's rule name */
    const char *var;    /* its variables: f_VAR, o_VAR, p_VAR, x_VAR */
};

extern const struct slot gen_slots[];
extern const size_t gen_n_slots;

struct gen {
    const json_t *d;        /* hw_policy_to_json() of the policy exported, borrowed */
    const char *name;       /* this set's objects: NAME, or NAME-oI-J for overrides I and J */
    const char *export;     /* --name, the label every object carries */
    const char *ns_cond;    /* CEL: the namespaces this set is for; NULL: every one */
    const struct hw_policy *p;  /* the policy exported, for its overrides' patterns */
    struct hw_buf b;        /* the expression being written */
    int failed;             /* an append failed: everything after is moot */
};

/* export.c: the policy document */
const json_t *gen_at(const json_t *d, const char *a, const char *b);
const char *gen_mode_of(const json_t *setting);
const char *gen_value_of(const json_t *setting);
int gen_is(const char *a, const char *b);
const char *gen_action(const struct gen *g, const char *rule);
long long gen_rule_int(const struct gen *g, const char *rule, const char *key);
int gen_rule_on(const struct gen *g, const char *rule);

/* export.c: writing CEL into g->b */
void gen_put(struct gen *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void gen_lit(struct gen *g, const char *s);
void gen_check(struct gen *g, int rc);
json_t *gen_take(struct gen *g);
void gen_add_keyed(struct gen *g, json_t *list, const char *name_key, const char *key, const char *name);
void gen_add_named(struct gen *g, json_t *list, const char *key, const char *name);
void gen_words_rx(struct gen *g, const char *const *words, size_t n);
void gen_has_ann(struct gen *g, const char *o, const char *key);
void gen_ann(struct gen *g, const char *o, const char *key);
void gen_namespace_expr(struct gen *g);
void gen_override_matches(struct gen *g, const struct hw_policy *p, size_t i);

/* exportmutate.c: the mutations, a JSON list */
json_t *gen_mutations(struct gen *g);

/* exportrules.c */
void gen_job_variables(struct gen *g, json_t *vars);
void gen_rule_variables(struct gen *g, json_t *vars, const char *want);
int gen_stale_variables(struct gen *g, json_t *vars);
void gen_validation(struct gen *g, json_t *list, const char *message, const char *message_expression);
json_t *gen_warn_validations(struct gen *g, int stale);
json_t *gen_audit_annotations(struct gen *g, int stale);
void gen_deny_variables(struct gen *g, json_t *vars);

#endif

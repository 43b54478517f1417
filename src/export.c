/* SPDX-License-Identifier: Apache-2.0 */
/*
 * export: hw_policy_apply() written as kube-apiserver's own admission
 * policies. The policy is read through hw_policy_to_json(); every decision
 * policy.c makes is spelt in CEL against the same object: the
 * MutatingAdmissionPolicy's mutations are policy.c's patch operations in its
 * order (the stored pod template first, then annotations, CREATE's
 * restartPolicy and pull secrets, the Job settings), each a JSONPatch list
 * that is empty when nothing is to change, so a reinvocation changes
 * nothing; the ValidatingAdmissionPolicies lint the final object as
 * policy.c does after its patch, with the ratchet read from oldObject and
 * the webhook's warning and denial texts. What kube-apiserver does around
 * the calls (matching, the JSON Patch library, defaulting, the prefixes on
 * messages) is its own; docs/native-policy.md lists where the user sees a
 * difference. It writes YAML and decides nothing about objects.
 *
 * Sources read (kubernetes/kubernetes, staging/src/k8s.io/apiserver/pkg/):
 * admission/plugin/policy/mutating/{compilation,dispatcher}.go and
 * patch/json_patch.go (mutations in order, each applied with json-patch v4
 * and defaulted; object and oldObject are dyn), admission/plugin/policy/
 * validating/{dispatcher,validator}.go (the first denial's message only,
 * messages trimmed and refused when multi-line, audit keys NAME/KEY),
 * admission/plugin/cel/compile.go (variables, JSONPatch and
 * jsonpatch.escapeKey in mutations only), cel/library/{jsonpatch,regex}.go.
 *
 * Table of contents: policy accessors; expression helpers; selection;
 * the object stream; per-namespace overrides and the public entry points.
 * The mutations are exportmutate.c's, the rules' variables and texts and
 * the validating policies' validations exportrules.c's; the three share
 * export_impl.h.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hookwarden/cel.h"
#include "hookwarden/export.h"
#include "hookwarden/yaml.h"
#include "export_impl.h"

#define WS "[ \\t\\n\\v\\f\\r]"          /* C's isspace(), as a regex class */
#define API "admissionregistration.k8s.io/v1"

/* ---- policy accessors ---- */

const json_t *
gen_at(const json_t *d, const char *a, const char *b)
{
    const json_t *v = json_object_get(d, a);

    return b != NULL ? json_object_get(v, b) : v;
}

const char *
gen_mode_of(const json_t *setting)
{
    return json_string_value(json_object_get(setting, "mode"));
}

const char *
gen_value_of(const json_t *setting)
{
    return json_string_value(json_object_get(setting, "value"));
}

int
gen_is(const char *a, const char *b)
{
    return a != NULL && strcmp(a, b) == 0;
}

/* A rule is "ACTION" or {"action": ACTION, parameters...} in the document. */
const char *
gen_action(const struct gen *g, const char *rule)
{
    const json_t *r = gen_at(g->d, "rules", rule);

    return json_is_string(r) ? json_string_value(r) : json_string_value(gen_at(r, "action", NULL));
}

long long
gen_rule_int(const struct gen *g, const char *rule, const char *key)
{
    return json_integer_value(gen_at(gen_at(g->d, "rules", rule), key, NULL));
}

int
gen_rule_on(const struct gen *g, const char *rule)
{
    return !gen_is(gen_action(g, rule), "off");
}

/* ---- expression helpers ---- */

void
gen_put(struct gen *g, const char *fmt, ...)
{
    char tmp[4096];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (g->failed || n < 0 || (size_t)n >= sizeof(tmp) || hw_buf_append(&g->b, tmp, (size_t)n) != 0)
        g->failed = 1;
}

/* A CEL string literal. */
void
gen_lit(struct gen *g, const char *s)
{
    if (!g->failed && hw_cel_string(&g->b, s, strlen(s)) != 0)
        g->failed = 1;
}

void
gen_check(struct gen *g, int rc)
{
    if (rc != 0)
        g->failed = 1;
}

/* The expression written so far, as a new JSON string; starts the next. */
json_t *
gen_take(struct gen *g)
{
    json_t *s = g->failed ? NULL : json_stringn(g->b.data ? g->b.data : "", g->b.len);

    g->b.len = 0;
    if (s == NULL)
        g->failed = 1;
    return s;
}

/* Appends {NAME_KEY: name, KEY: the expression written} to list. */
void
gen_add_keyed(struct gen *g, json_t *list, const char *name_key, const char *key, const char *name)
{
    json_t *e = gen_take(g);

    if (e == NULL || json_array_append_new(list, json_pack("{s:s, s:o}", name_key, name, key, e)) != 0)
        g->failed = 1;
}

void
gen_add_named(struct gen *g, json_t *list, const char *key, const char *name)
{
    gen_add_keyed(g, list, "name", key, name);
}

/* r'^WS*(?:w1|w2)WS*$': one comma part of a Helm list, trimmed by C's
 * isspace() and lower-cased by lowerAscii(), is one of words. */
void
gen_words_rx(struct gen *g, const char *const *words, size_t n)
{
    gen_put(g, "r'^" WS "*(?:");
    for (size_t i = 0; i < n; i++)
        gen_put(g, "%s%s", i ? "|" : "", words[i]);
    gen_put(g, ")" WS "*$'");
}

/* (has(o.metadata.annotations) && KEY in o.metadata.annotations) */
void
gen_has_ann(struct gen *g, const char *o, const char *key)
{
    gen_put(g, "(has(%s.metadata.annotations) && ", o);
    gen_lit(g, key);
    gen_put(g, " in %s.metadata.annotations)", o);
}

void
gen_ann(struct gen *g, const char *o, const char *key)
{
    gen_put(g, "%s.metadata.annotations[", o);
    gen_lit(g, key);
    gen_put(g, "]");
}

/* ---- selection ---- */

/* policy.c labelled(): the label is there, with no NUL, and one of the
 * selected values when there are any. */
static void
labelled(struct gen *g, const char *o)
{
    const json_t *sel = gen_at(g->d, "selector", NULL);
    const char *key = json_string_value(gen_at(sel, "labelKey", NULL));
    const json_t *values = gen_at(sel, "labelValues", NULL);

    gen_put(g, "(has(%s.metadata.labels) && ", o);
    gen_lit(g, key);
    gen_put(g, " in %s.metadata.labels && %s.metadata.labels[", o, o);
    gen_lit(g, key);
    if (json_array_size(values) == 0) {
        gen_put(g, "].contains('\\u0000') == false)");
        return;
    }
    gen_put(g, "] in ");
    gen_check(g, hw_cel_string_list(&g->b, values));
    gen_put(g, ")");
}

/* The variables every policy starts with: policy.c selects(). */
static json_t *
selection_variables(struct gen *g)
{
    json_t *vars = json_array();

    if (vars == NULL) {
        g->failed = 1;
        return NULL;
    }
    labelled(g, "object");
    gen_add_named(g, vars, "expression", "labelled");
    gen_put(g, "request.operation == 'UPDATE'");
    gen_add_named(g, vars, "expression", "update");
    /* kube's objectSelector also matches on the old labels: an UPDATE
     * that drops the label only keeps the stored template. */
    gen_put(g, "variables.labelled || (variables.update && ");
    labelled(g, "oldObject");
    gen_put(g, ")");
    gen_add_named(g, vars, "expression", "selected");
    return vars;
}

/* The request's namespace, else the object's (policy.c selects()). */
void
gen_namespace_expr(struct gen *g)
{
    gen_put(g, "(has(request.namespace) && request.namespace != '' ? request.namespace : "
           "(has(object.metadata.namespace) ? string(object.metadata.namespace) : ''))");
}

/*
 * The conditions both kinds of policy share: namespaces.include and
 * namespaces.exclude, the namespaces of this set when the policy has
 * per-namespace overrides (write_stream()), and objects being deleted left
 * alone.
 */
static json_t *
match_conditions(struct gen *g)
{
    const json_t *ns = gen_at(g->d, "namespaces", NULL);
    json_t *conds = json_array();

    if (conds == NULL) {
        g->failed = 1;
        return NULL;
    }
    if (json_array_size(gen_at(ns, "include", NULL)) > 0) {
        gen_namespace_expr(g);
        gen_put(g, " in ");
        gen_check(g, hw_cel_string_list(&g->b, gen_at(ns, "include", NULL)));
        gen_add_named(g, conds, "expression", "namespace-included");
    }
    if (json_array_size(gen_at(ns, "exclude", NULL)) > 0) {
        gen_put(g, "!(");
        gen_namespace_expr(g);
        gen_put(g, " in ");
        gen_check(g, hw_cel_string_list(&g->b, gen_at(ns, "exclude", NULL)));
        gen_put(g, ")");
        gen_add_named(g, conds, "expression", "namespace-not-excluded");
    }
    if (g->ns_cond != NULL) {
        gen_put(g, "%s", "");
        if (!g->failed && hw_buf_append_str(&g->b, g->ns_cond) != 0)
            g->failed = 1;
        gen_add_named(g, conds, "expression", "namespace-overrides");
    }
    gen_put(g, "!has(object.metadata.deletionTimestamp)");
    gen_add_named(g, conds, "expression", "not-being-deleted");
    return conds;
}

/* Jobs, CREATE and UPDATE, carrying the opt-in label now or before. */
static json_t *
match_constraints(struct gen *g)
{
    const json_t *sel = gen_at(g->d, "selector", NULL);
    const json_t *values = gen_at(sel, "labelValues", NULL);
    json_t *req;

    req = json_array_size(values) > 0
              ? json_pack("{s:s, s:s, s:O}", "key", json_string_value(gen_at(sel, "labelKey", NULL)),
                          "operator", "In", "values", values)
              : json_pack("{s:s, s:s}", "key", json_string_value(gen_at(sel, "labelKey", NULL)),
                          "operator", "Exists");
    return json_pack("{s:s, s:{}, s:{s:[o]}, s:[{s:[s], s:[s], s:[s, s], s:[s], s:s}]}",
                     "matchPolicy", "Equivalent", "namespaceSelector", "objectSelector",
                     "matchExpressions", req, "resourceRules", "apiGroups", "batch", "apiVersions",
                     "v1", "operations", "CREATE", "UPDATE", "resources", "jobs", "scope",
                     "Namespaced");
}

/* ---- the object stream ---- */

static json_t *
object(const struct gen *g, const char *kind, const char *name, json_t *spec)
{
    return json_pack("{s:s, s:s, s:{s:s, s:{s:s, s:s}}, s:o}", "apiVersion", API, "kind", kind,
                     "metadata", "name", name, "labels", "app.kubernetes.io/managed-by", "hookwarden",
                     "hookwarden.io/export", g->export, "spec", spec);
}

static json_t *
mutating_policy(struct gen *g)
{
    return object(g, "MutatingAdmissionPolicy", g->name,
                  json_pack("{s:s, s:s, s:o, s:o, s:o, s:o}", "failurePolicy", "Fail",
                            "reinvocationPolicy", "IfNeeded", "matchConstraints", match_constraints(g),
                            "matchConditions", match_conditions(g), "variables", selection_variables(g),
                            "mutations", gen_mutations(g)));
}

/* The Warn policy; NULL (and no failure) when it would have nothing to do. */
static json_t *
warn_policy(struct gen *g)
{
    json_t *vars = selection_variables(g), *spec;
    int stale = gen_stale_variables(g, vars), any = stale;

    for (int r = 0; r < HW_RULE_COUNT; r++)
        any |= gen_rule_on(g, hw_policy_rule_name((enum hw_rule)r));
    any |= hw_policy_override_count(g->p) > 0;  /* the overrides audit annotation */
    if (!any) {
        json_decref(vars);
        return NULL;
    }
    gen_rule_variables(g, vars, NULL);
    spec = json_pack("{s:s, s:o, s:o, s:o, s:o, s:o}", "failurePolicy", "Fail", "matchConstraints",
                     match_constraints(g), "matchConditions", match_conditions(g), "variables", vars,
                     "validations", gen_warn_validations(g, stale), "auditAnnotations",
                     gen_audit_annotations(g, stale));
    return object(g, "ValidatingAdmissionPolicy", g->name, spec);
}

/* The Deny policy; NULL when no rule denies. */
static json_t *
deny_policy(struct gen *g, const char *name)
{
    json_t *vars, *list, *spec;
    int any = 0;

    for (int r = 0; r < HW_RULE_COUNT; r++)
        any |= gen_is(gen_action(g, hw_policy_rule_name((enum hw_rule)r)), "deny");
    if (!any)
        return NULL;
    vars = selection_variables(g);
    gen_job_variables(g, vars);
    gen_rule_variables(g, vars, "deny");
    /* A ratchet reads the stored Job's findings of the same rules. */
    gen_deny_variables(g, vars);
    list = json_array();
    gen_put(g, "size(variables.denials) == 0");
    gen_validation(g, list, "hookwarden: the Job violates a rule of the platform policy",
               "variables.deny_message");
    if (json_array_size(list) == 1)
        json_object_set_new(json_array_get(list, 0), "reason", json_string("Forbidden"));
    spec = json_pack("{s:s, s:o, s:o, s:o, s:o}", "failurePolicy", "Fail", "matchConstraints",
                     match_constraints(g), "matchConditions", match_conditions(g), "variables", vars,
                     "validations", list);
    return object(g, "ValidatingAdmissionPolicy", name, spec);
}

static json_t *
binding(const struct gen *g, const char *kind, const char *name, const char *action_name)
{
    json_t *spec = action_name ? json_pack("{s:s, s:[s]}", "policyName", name, "validationActions", action_name)
                               : json_pack("{s:s}", "policyName", name);

    return object(g, kind, name, spec);
}

/* Appends "---", then obj as YAML; takes obj. */
static int
emit(json_t *obj, struct hw_buf *out, struct hw_error *err)
{
    int rc = -1;

    if (obj == NULL) {
        hw_error_set(err, HW_EINTERNAL, "out of memory");
        return -1;
    }
    if (hw_buf_append_str(out, "---\n") == 0 && hw_yaml_emit(obj, out, err) == 0)
        rc = 0;
    else
        hw_error_set(err, HW_ETOOBIG, "export output is larger than the limit");
    json_decref(obj);
    return rc;
}

/* ---- notes and entry points ---- */

static int
count_mode(const struct gen *g, const char *a, const char *const *keys, size_t n, const char *mode)
{
    int c = 0;

    for (size_t i = 0; i < n; i++)
        c += gen_is(gen_mode_of(gen_at(g->d, a, keys[i])), mode);
    return c;
}

/* The most warnings the webhook can give one Job under this policy, where
 * HW_OUTCOME_MAX (16) cuts its list: kept and replaced values come first. */
static int
most_warnings(const struct gen *g)
{
    static const char *const anns[] = {"events", "deletePolicy", "weight"};
    static const char *const ints[] = {"backoffLimit", "activeDeadlineSeconds", "ttlSecondsAfterFinished"};
    int replaced = count_mode(g, "hook", anns, 3, "enforce") + count_mode(g, "job", ints, 3, "enforce");
    int warn = 0, deny = 0, create, update;

    for (size_t i = 0; i < gen_n_slots; i++) {
        warn += gen_is(gen_action(g, gen_slots[i].rule), "warn");
        deny += gen_is(gen_action(g, gen_slots[i].rule), "deny");
    }
    create = replaced + !gen_is(gen_mode_of(gen_at(g->d, "restartPolicy", NULL)), "off") + warn;
    update = 2 + 1 + replaced + warn + 2 * deny;
    return create > update ? create : update;
}

static void
write_notes(const struct gen *g, struct hw_buf *notes)
{
    if (notes == NULL)
        return;
    hw_buf_append_str(notes, "note: a MutatingAdmissionPolicy has no warning channel: the webhook's \"X replaced "
                             "by Y\" and \"X kept as Y\" warnings and its \"mutated\" audit annotation have no "
                             "native twin\n");
    if (most_warnings(g) > 16)
        hw_buf_printf(notes, "note: up to %d warnings per Job under this policy: the webhook sends at most 16 "
                             "(its rule warnings come last), the native policies send every rule warning\n",
                      most_warnings(g));
}

int
hw_export_name_ok(const char *name)
{
    size_t n = name ? strlen(name) : 0;

    if (n == 0 || n > HW_EXPORT_NAME_MAX || !isalnum((unsigned char)name[0]) ||
        !isalnum((unsigned char)name[n - 1]))
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (!(islower((unsigned char)name[i]) || isdigit((unsigned char)name[i]) || name[i] == '-'))
            return 0;
    }
    return 1;
}

/* One set of objects: the policy g->d for the namespaces g->ns_cond. */
static int
write_set(struct gen *g, struct hw_buf *out, struct hw_error *err)
{
    char deny_name[96];
    json_t *objs[6] = {NULL};
    size_t n = 0;
    int rc = 0;

    snprintf(deny_name, sizeof(deny_name), "%s-deny", g->name);
    objs[n++] = mutating_policy(g);
    objs[n++] = binding(g, "MutatingAdmissionPolicyBinding", g->name, NULL);
    if ((objs[n] = warn_policy(g)) != NULL) {
        n++;
        objs[n++] = binding(g, "ValidatingAdmissionPolicyBinding", g->name, "Warn");
    }
    if ((objs[n] = deny_policy(g, deny_name)) != NULL) {
        n++;
        objs[n++] = binding(g, "ValidatingAdmissionPolicyBinding", deny_name, "Deny");
    }
    if (g->failed)
        hw_error_set(err, HW_EINTERNAL, "out of memory while writing the policies");
    for (size_t i = 0; i < n; i++) {
        if (rc == 0 && !g->failed)
            rc = emit(objs[i], out, err);
        else
            json_decref(objs[i]);
    }
    return g->failed ? -1 : rc;
}

/* ---- per-namespace overrides ---- */

/*
 * A namespace gets the base layer and every override with a matching
 * pattern, in file order: one effective policy per subset of the overrides.
 * Each distinct effective policy is exported as its own set of objects,
 * for the namespaces whose matching subset gives it: a matchCondition that
 * is true for exactly those subsets (the matches of every override, as
 * request.namespace.matches()). Subsets are enumerated, so the count is
 * bounded; the set for no override at all keeps the plain NAME.
 */
#define OVERRIDES_MAX 8
#define SUBSETS_MAX (1u << OVERRIDES_MAX)

struct variants {
    size_t n_overrides, n;
    json_t *docs[SUBSETS_MAX];     /* each distinct effective policy, owned */
    unsigned first[SUBSETS_MAX];   /* the smallest subset giving docs[v]: its name */
    unsigned of[SUBSETS_MAX];      /* subset -> index in docs */
};

static void
variants_free(struct variants *vs)
{
    for (size_t v = 0; v < vs->n; v++)
        json_decref(vs->docs[v]);
}

static int
variants_build(const struct hw_policy *p, struct variants *vs, struct hw_error *err)
{
    unsigned subsets;

    vs->n_overrides = hw_policy_override_count(p);
    vs->n = 0;
    if (vs->n_overrides > OVERRIDES_MAX) {
        hw_error_set(err, HW_EINVAL, "overrides: %zu entries; export writes one set of policies per "
                     "combination that can apply and takes at most %d", vs->n_overrides, OVERRIDES_MAX);
        return -1;
    }
    subsets = 1u << vs->n_overrides;
    for (unsigned m = 0; m < subsets; m++) {
        size_t which[OVERRIDES_MAX], k = 0;
        struct hw_policy *eff;
        json_t *doc;
        size_t v;

        for (size_t i = 0; i < vs->n_overrides; i++) {
            if (m & (1u << i))
                which[k++] = i;
        }
        eff = hw_policy_with_overrides(p, which, k, err);
        doc = eff != NULL ? hw_policy_to_json(eff, err) : NULL;
        hw_policy_unref(eff);
        if (doc == NULL)
            return -1;
        for (v = 0; v < vs->n && !json_equal(vs->docs[v], doc); v++)
            ;
        if (v == vs->n) {
            vs->docs[vs->n] = doc;
            vs->first[vs->n++] = m;
        } else {
            json_decref(doc);
        }
        vs->of[m] = (unsigned)v;
    }
    return 0;
}

/* CEL: the request's namespace matches one of override i's patterns (a
 * pattern's '*' is any run, '?' one character; names hold only [a-z0-9-]). */
void
gen_override_matches(struct gen *g, const struct hw_policy *p, size_t i)
{
    size_t n;
    const char *const *pats = hw_policy_override_namespaces(p, i, &n);

    gen_namespace_expr(g);
    gen_put(g, ".matches('^(?:");
    for (size_t k = 0; k < n; k++) {
        gen_put(g, "%s", k ? "|" : "");
        for (const char *c = pats[k]; *c; c++)
            gen_put(g, "%s", *c == '*' ? ".*" : *c == '?' ? "." : (char[]){*c, '\0'});
    }
    gen_put(g, ")$')");
}

/* CEL true exactly in the namespaces whose matching overrides give variant v. */
static char *
variant_condition(struct gen *g, const struct hw_policy *p, const struct variants *vs, size_t v)
{
    int first = 1;

    for (unsigned m = 0; m < (1u << vs->n_overrides); m++) {
        if (vs->of[m] != v)
            continue;
        gen_put(g, first ? "(" : " || (");
        for (size_t i = 0; i < vs->n_overrides; i++) {
            gen_put(g, i ? " && " : "");
            gen_put(g, m & (1u << i) ? "" : "!");
            gen_override_matches(g, p, i);
        }
        gen_put(g, ")");
        first = 0;
    }
    return g->failed ? NULL : hw_buf_steal(&g->b, NULL);
}

/* NAME, or NAME-oI-J-... for the overrides of the variant's first subset. */
static void
variant_name(const struct gen *g, unsigned subset, char *out, size_t outsz)
{
    size_t used = (size_t)snprintf(out, outsz, "%s", g->export);

    for (unsigned i = 0; i < OVERRIDES_MAX && used < outsz; i++) {
        if (subset & (1u << i))
            used += (size_t)snprintf(out + used, outsz - used, "%s%u", used == strlen(g->export) ? "-o" : "-", i);
    }
}

static int
write_stream(struct gen *g, const struct hw_policy *p, const struct variants *vs, struct hw_buf *out,
             struct hw_error *err)
{
    char name[HW_EXPORT_NAME_MAX + 2 * OVERRIDES_MAX + 4];
    int rc = 0;

    hw_buf_printf(out, "# hookwarden %s export admission-policy (%s): native admission policies for\n"
                       "# kube-apiserver 1.36+. Apply with kubectl apply --server-side -f; never with the\n"
                       "# hookwarden webhook for the same Jobs (docs/native-policy.md).\n",
                  HW_VERSION, hw_policy_source(p));
    for (size_t v = 0; rc == 0 && v < vs->n; v++) {
        char *cond = vs->n > 1 ? variant_condition(g, p, vs, v) : NULL;

        if (vs->n > 1 && cond == NULL) {
            hw_error_set(err, HW_EINTERNAL, "out of memory while writing the policies");
            return -1;
        }
        variant_name(g, vs->first[v], name, sizeof(name));
        g->d = vs->docs[v];
        g->name = name;
        g->ns_cond = cond;
        rc = write_set(g, out, err);
        g->ns_cond = NULL;
        free(cond);
    }
    return rc;
}

int
hw_export_admission_policy(const struct hw_policy *p, const struct hw_export_options *opt,
                           struct hw_buf *out, struct hw_buf *notes, struct hw_error *err)
{
    struct gen g = {.export = opt && opt->name ? opt->name : "hookwarden", .p = p};
    struct variants *vs = calloc(1, sizeof(*vs));
    struct hw_buf stream;
    int rc = -1;

    hw_buf_init(&g.b, 0);
    hw_buf_init(&stream, out->max);
    if (vs == NULL) {
        hw_error_set(err, HW_EINTERNAL, "out of memory");
        goto out;
    }
    if (!hw_export_name_ok(g.export)) {
        hw_error_set(err, HW_EINVAL, "--name %.80s: not a DNS label of at most %d characters "
                     "(lower-case letters, digits and '-')", g.export, HW_EXPORT_NAME_MAX);
        goto out;
    }
    if (variants_build(p, vs, err) != 0 || write_stream(&g, p, vs, &stream, err) != 0 ||
        hw_buf_append(out, stream.data, stream.len) != 0)
        goto out;
    for (size_t v = 0; notes != NULL && v < vs->n; v++) {
        struct hw_buf one;

        /* Every set's notes, each line once. */
        hw_buf_init(&one, 0);
        g.d = vs->docs[v];
        write_notes(&g, &one);
        for (char *line = one.data, *nl; line != NULL && *line != '\0'; line = nl + 1) {
            nl = strchr(line, '\n');
            if (nl == NULL)
                break;
            *nl = '\0';
            if (notes->data == NULL || strstr(notes->data, line) == NULL)
                hw_buf_printf(notes, "%s\n", line);
        }
        hw_buf_free(&one);
    }
    rc = 0;
out:
    if (vs != NULL)
        variants_free(vs);
    free(vs);
    hw_buf_free(&stream);
    hw_buf_free(&g.b);
    return rc;
}

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
 * the mutating policy (template, annotations, restartPolicy, pull secrets,
 * Job settings); the rules' variables and texts; the validating policies;
 * the object stream and the public entry points.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hookwarden/cel.h"
#include "hookwarden/export.h"
#include "hookwarden/yaml.h"

#define ANN_HOOK "helm.sh/hook"
#define ANN_DELETE "helm.sh/hook-delete-policy"
#define ANN_WEIGHT "helm.sh/hook-weight"
#define ANN_RELEASE "meta.helm.sh/release-name"
#define WS "[ \\t\\n\\v\\f\\r]"          /* C's isspace(), as a regex class */
#define API "admissionregistration.k8s.io/v1"
#define DENY_MAX 2047                   /* policy.h HW_DENY_MAX less its NUL */
#define STOP_DEPTH 10                   /* see rule_sidecar() */

/* Helm's words (pkg/release/hook.go), as policy.c compares them. */
static const char *const helm_events[] = {
    "pre-install", "post-install", "pre-delete", "post-delete", "pre-upgrade",
    "post-upgrade", "pre-rollback", "post-rollback", "test", "test-success",
};
static const char *const helm_deletes[] = {"hook-succeeded", "hook-failed", "before-hook-creation"};
static const char *const stop_words[] = {"quitquitquit", "EXIT_ON_ZERO_ACTIVE_CONNECTIONS"};

/* The webhook's texts (policy.c); tests/unit/check_export.c compares them. */
static const char txt_release[] =
    "not a Helm hook: Helm installed it as a release resource, and any helm.sh/hook on it "
    "is inert; set the hook in the chart";
static const char fix_release[] =
    "make it a hook in the chart: annotate the Job helm.sh/hook: pre-install,pre-upgrade "
    "(many charts have a value such as useHelmHooks), or render the chart through "
    "\"hookwarden render\" as a Helm 4 post-renderer; Helm sorts hooks before a Helm 3 "
    "post-renderer, a webhook or an edit can add helm.sh/hook";
static const char fix_events[] =
    "use only pre-install, post-install, pre-upgrade, post-upgrade, pre-delete, "
    "post-delete, pre-rollback, post-rollback or test in helm.sh/hook";
static const char fix_deletes[] =
    "use only before-hook-creation, hook-succeeded or hook-failed in helm.sh/hook-delete-policy";
static const char txt_delete_policy[] =
    "hook-delete-policy lacks before-hook-creation: a failed run blocks the next upgrade";
static const char fix_delete_policy[] =
    "add before-hook-creation to helm.sh/hook-delete-policy, e.g. "
    "\"before-hook-creation,hook-succeeded\"";
static const char fix_sidecar[] =
    "run it as a native sidecar (an initContainer with restartPolicy: Always), "
    "disable injection for this Job, or stop it when the migration ends "
    "(e.g. cloud-sql-proxy --quitquitquit)";

/* One finding the webhook can make, in policy.c's lint order. */
struct slot {
    const char *rule;   /* the policy's rule name */
    const char *var;    /* its variables: f_VAR, o_VAR, p_VAR, x_VAR */
};

static const struct slot slots[] = {
    {"not-a-hook", "nah"}, {"unknown-hook-value", "ev"}, {"unknown-hook-value", "del"},
    {"delete-policy", "dp"}, {"ttl-after-finished", "ttl"}, {"active-deadline", "ads"},
    {"long-lived-sidecar", "car"},
};
#define N_SLOTS (sizeof(slots) / sizeof(slots[0]))

struct gen {
    const json_t *d;        /* hw_policy_to_json() of the policy exported, borrowed */
    const char *name;       /* this set's objects: NAME, or NAME-oI-J for overrides I and J */
    const char *export;     /* --name, the label every object carries */
    const char *ns_cond;    /* CEL: the namespaces this set is for; NULL: every one */
    const struct hw_policy *p;  /* the policy exported, for its overrides' patterns */
    struct hw_buf b;        /* the expression being written */
    int failed;             /* an append failed: everything after is moot */
};

static void override_matches(struct gen *g, const struct hw_policy *p, size_t i);

/* ---- policy accessors ---- */

static const json_t *
at(const json_t *d, const char *a, const char *b)
{
    const json_t *v = json_object_get(d, a);

    return b != NULL ? json_object_get(v, b) : v;
}

static const char *
mode_of(const json_t *setting)
{
    return json_string_value(json_object_get(setting, "mode"));
}

static const char *
value_of(const json_t *setting)
{
    return json_string_value(json_object_get(setting, "value"));
}

static int
is(const char *a, const char *b)
{
    return a != NULL && strcmp(a, b) == 0;
}

/* A rule is "ACTION" or {"action": ACTION, parameters...} in the document. */
static const char *
action(const struct gen *g, const char *rule)
{
    const json_t *r = at(g->d, "rules", rule);

    return json_is_string(r) ? json_string_value(r) : json_string_value(at(r, "action", NULL));
}

static long long
rule_int(const struct gen *g, const char *rule, const char *key)
{
    return json_integer_value(at(at(g->d, "rules", rule), key, NULL));
}

static int
rule_on(const struct gen *g, const char *rule)
{
    return !is(action(g, rule), "off");
}

/* ---- expression helpers ---- */

static void put(struct gen *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
put(struct gen *g, const char *fmt, ...)
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
static void
lit(struct gen *g, const char *s)
{
    if (!g->failed && hw_cel_string(&g->b, s, strlen(s)) != 0)
        g->failed = 1;
}

static void
check(struct gen *g, int rc)
{
    if (rc != 0)
        g->failed = 1;
}

/* The expression written so far, as a new JSON string; starts the next. */
static json_t *
take(struct gen *g)
{
    json_t *s = g->failed ? NULL : json_stringn(g->b.data ? g->b.data : "", g->b.len);

    g->b.len = 0;
    if (s == NULL)
        g->failed = 1;
    return s;
}

/* Appends {NAME_KEY: name, KEY: the expression written} to list. */
static void
add_keyed(struct gen *g, json_t *list, const char *name_key, const char *key, const char *name)
{
    json_t *e = take(g);

    if (e == NULL || json_array_append_new(list, json_pack("{s:s, s:o}", name_key, name, key, e)) != 0)
        g->failed = 1;
}

static void
add_named(struct gen *g, json_t *list, const char *key, const char *name)
{
    add_keyed(g, list, "name", key, name);
}

/* r'^WS*(?:w1|w2)WS*$': one comma part of a Helm list, trimmed by C's
 * isspace() and lower-cased by lowerAscii(), is one of words. */
static void
words_rx(struct gen *g, const char *const *words, size_t n)
{
    put(g, "r'^" WS "*(?:");
    for (size_t i = 0; i < n; i++)
        put(g, "%s%s", i ? "|" : "", words[i]);
    put(g, ")" WS "*$'");
}

/* (has(o.metadata.annotations) && KEY in o.metadata.annotations) */
static void
has_ann(struct gen *g, const char *o, const char *key)
{
    put(g, "(has(%s.metadata.annotations) && ", o);
    lit(g, key);
    put(g, " in %s.metadata.annotations)", o);
}

static void
ann(struct gen *g, const char *o, const char *key)
{
    put(g, "%s.metadata.annotations[", o);
    lit(g, key);
    put(g, "]");
}

/* ---- selection ---- */

/* policy.c labelled(): the label is there, with no NUL, and one of the
 * selected values when there are any. */
static void
labelled(struct gen *g, const char *o)
{
    const json_t *sel = at(g->d, "selector", NULL);
    const char *key = json_string_value(at(sel, "labelKey", NULL));
    const json_t *values = at(sel, "labelValues", NULL);

    put(g, "(has(%s.metadata.labels) && ", o);
    lit(g, key);
    put(g, " in %s.metadata.labels && %s.metadata.labels[", o, o);
    lit(g, key);
    if (json_array_size(values) == 0) {
        put(g, "].contains('\\u0000') == false)");
        return;
    }
    put(g, "] in ");
    check(g, hw_cel_string_list(&g->b, values));
    put(g, ")");
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
    add_named(g, vars, "expression", "labelled");
    put(g, "request.operation == 'UPDATE'");
    add_named(g, vars, "expression", "update");
    /* kube's objectSelector also matches on the old labels: an UPDATE
     * that drops the label only keeps the stored template. */
    put(g, "variables.labelled || (variables.update && ");
    labelled(g, "oldObject");
    put(g, ")");
    add_named(g, vars, "expression", "selected");
    return vars;
}

/* The request's namespace, else the object's (policy.c selects()). */
static void
namespace_expr(struct gen *g)
{
    put(g, "(has(request.namespace) && request.namespace != '' ? request.namespace : "
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
    const json_t *ns = at(g->d, "namespaces", NULL);
    json_t *conds = json_array();

    if (conds == NULL) {
        g->failed = 1;
        return NULL;
    }
    if (json_array_size(at(ns, "include", NULL)) > 0) {
        namespace_expr(g);
        put(g, " in ");
        check(g, hw_cel_string_list(&g->b, at(ns, "include", NULL)));
        add_named(g, conds, "expression", "namespace-included");
    }
    if (json_array_size(at(ns, "exclude", NULL)) > 0) {
        put(g, "!(");
        namespace_expr(g);
        put(g, " in ");
        check(g, hw_cel_string_list(&g->b, at(ns, "exclude", NULL)));
        put(g, ")");
        add_named(g, conds, "expression", "namespace-not-excluded");
    }
    if (g->ns_cond != NULL) {
        put(g, "%s", "");
        if (!g->failed && hw_buf_append_str(&g->b, g->ns_cond) != 0)
            g->failed = 1;
        add_named(g, conds, "expression", "namespace-overrides");
    }
    put(g, "!has(object.metadata.deletionTimestamp)");
    add_named(g, conds, "expression", "not-being-deleted");
    return conds;
}

/* Jobs, CREATE and UPDATE, carrying the opt-in label now or before. */
static json_t *
match_constraints(struct gen *g)
{
    const json_t *sel = at(g->d, "selector", NULL);
    const json_t *values = at(sel, "labelValues", NULL);
    json_t *req;

    req = json_array_size(values) > 0
              ? json_pack("{s:s, s:s, s:O}", "key", json_string_value(at(sel, "labelKey", NULL)),
                          "operator", "In", "values", values)
              : json_pack("{s:s, s:s}", "key", json_string_value(at(sel, "labelKey", NULL)),
                          "operator", "Exists");
    return json_pack("{s:s, s:{}, s:{s:[o]}, s:[{s:[s], s:[s], s:[s, s], s:[s], s:s}]}",
                     "matchPolicy", "Equivalent", "namespaceSelector", "objectSelector",
                     "matchExpressions", req, "resourceRules", "apiGroups", "batch", "apiVersions",
                     "v1", "operations", "CREATE", "UPDATE", "resources", "jobs", "scope",
                     "Namespaced");
}

/* ---- the mutating policy ---- */

static void
mutation(struct gen *g, json_t *list)
{
    json_t *e = take(g);

    if (e == NULL || json_array_append_new(list, json_pack("{s:s, s:{s:o}}", "patchType", "JSONPatch",
                                                           "jsonPatch", "expression", e)) != 0)
        g->failed = 1;
}

/* policy.c keep_field(): on UPDATE the template field takes the stored
 * value (removed when the stored Job has none). */
static void
mut_keep(struct gen *g, const char *field)
{
    const char *cur = "object.spec.template.spec", *was = "oldObject.spec.template.spec";

    put(g, "variables.update && variables.selected && !(has(%s.%s)\n"
           "    ? has(%s.%s) && %s.%s == %s.%s\n"
           "    : !has(%s.%s))\n",
        cur, field, was, field, cur, field, was, field, was, field);
    put(g, "? (has(%s.%s)\n"
           "    ? [JSONPatch{op: has(%s.%s) ? 'replace' : 'add', path: '/spec/template/spec/%s',\n"
           "        value: %s.%s}]\n"
           "    : [JSONPatch{op: 'remove', path: '/spec/template/spec/%s'}])\n"
           ": []",
        was, field, cur, field, field, was, field, field);
}

static int
has_string(const json_t *list, const char *s)
{
    size_t i;
    const json_t *v;

    json_array_foreach(list, i, v) {
        if (is(json_string_value(v), s))
            return 1;
    }
    return 0;
}

/* Normalised parts of a Helm list value (trimmed, lower-cased, each once),
 * as a new JSON array of strings. The policy's values are Helm's words, so
 * every part is short. */
static json_t *
helm_parts(const char *value)
{
    json_t *parts = json_array();
    const char *p = value;

    while (parts != NULL) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p), n;
        char word[64];

        while (len > 0 && isspace((unsigned char)*p)) {
            p++;
            len--;
        }
        while (len > 0 && isspace((unsigned char)p[len - 1]))
            len--;
        for (n = 0; n < len && n + 1 < sizeof(word); n++)
            word[n] = (char)tolower((unsigned char)p[n]);
        word[n] = '\0';
        if (!has_string(parts, word) && json_array_append_new(parts, json_string(word)) != 0) {
            json_decref(parts);
            return NULL;
        }
        if (end == NULL)
            break;
        p = end + 1;
    }
    return parts;
}

/* policy.c same_helm_list(): the annotation's parts and the policy's,
 * trimmed and compared without case, are the same set. */
static void
same_helm_list(struct gen *g, const char *key, const char *value)
{
    json_t *parts = helm_parts(value);
    const char *words[64];
    size_t n = 0, i;
    const json_t *w;

    if (parts == NULL) {
        g->failed = 1;
        return;
    }
    json_array_foreach(parts, i, w) {
        if (n < sizeof(words) / sizeof(words[0]))
            words[n++] = json_string_value(w);
    }
    ann(g, "object", key);
    put(g, ".split(',').all(p, p.lowerAscii().matches(");
    words_rx(g, words, n);
    put(g, "))");
    for (i = 0; i < n; i++) {
        put(g, "\n    && ");
        ann(g, "object", key);
        put(g, ".split(',').exists(p, p.lowerAscii().matches(");
        words_rx(g, &words[i], 1);
        put(g, "))");
    }
    json_decref(parts);
}

/* policy.c set_annotation(): add sets an absent key, enforce also replaces
 * another value; the map is added whole when the Job has none. */
static void
mut_annotation(struct gen *g, const char *key, const json_t *setting, int helm_list)
{
    const char *value = value_of(setting);

    put(g, "variables.labelled && !(");
    has_ann(g, "object", key);
    if (is(mode_of(setting), "enforce")) {
        put(g, "\n    && ");
        if (helm_list) {
            same_helm_list(g, key, value);
        } else {
            ann(g, "object", key);
            put(g, " == ");
            lit(g, value);
        }
    }
    put(g, ")\n? (has(object.metadata.annotations)\n"
           "    ? [JSONPatch{op: ");
    lit(g, key);
    put(g, " in object.metadata.annotations ? 'replace' : 'add',\n"
           "        path: '/metadata/annotations/' + jsonpatch.escapeKey(");
    lit(g, key);
    put(g, "), value: ");
    lit(g, value);
    put(g, "}]\n    : [JSONPatch{op: 'add', path: '/metadata/annotations', value: {");
    lit(g, key);
    put(g, ": ");
    lit(g, value);
    put(g, "}}])\n: []");
}

/* policy.c set_restart_policy(), CREATE only: add treats the defaulted
 * Always as absent. */
static void
mut_restart(struct gen *g, const json_t *setting)
{
    const char *f = "object.spec.template.spec.restartPolicy";

    put(g, "variables.labelled && !variables.update && (!has(%s) || %s ", f, f);
    if (is(mode_of(setting), "enforce")) {
        put(g, "!= ");
        lit(g, value_of(setting));
    } else {
        put(g, "== 'Always'");
    }
    put(g, ")\n? [JSONPatch{op: has(%s) ? 'replace' : 'add', path: '/spec/template/spec/restartPolicy',\n"
           "    value: ", f);
    lit(g, value_of(setting));
    put(g, "}]\n: []");
}

/* The policy's pull secret names, each once, in order (a repeated name
 * is found by the webhook's second look). New array. */
static json_t *
pull_names(const struct gen *g)
{
    const json_t *names = at(at(g->d, "imagePullSecrets", NULL), "names", NULL);
    json_t *out = json_array();
    size_t i;
    const json_t *v;

    json_array_foreach(names, i, v) {
        if (out != NULL && !has_string(out, json_string_value(v)))
            json_array_append(out, (json_t *)v);
    }
    return out;
}

/* policy.c merge_pull_secrets(), CREATE only: each name the template lacks,
 * appended by name; the list is added whole when there is none. */
static void
mut_pull(struct gen *g)
{
    const char *f = "object.spec.template.spec.imagePullSecrets";
    json_t *names = pull_names(g);

    put(g, "variables.labelled && !variables.update\n? (has(%s)\n    ? ", f);
    check(g, hw_cel_string_list(&g->b, names));
    put(g, ".filter(n, !%s.exists(e, has(e.name) && e.name == n))\n"
           "        .map(n, JSONPatch{op: 'add', path: '/spec/template/spec/imagePullSecrets/-', value: {'name': n}})\n"
           "    : [JSONPatch{op: 'add', path: '/spec/template/spec/imagePullSecrets', value: ",
        f);
    check(g, hw_cel_string_list(&g->b, names));
    put(g, ".map(n, {'name': n})}])\n: []");
    json_decref(names);
}

/* policy.c set_job_int(): on UPDATE a value the update leaves as stored
 * (absent included) stays. */
static void
mut_job_int(struct gen *g, const char *key, const json_t *setting)
{
    put(g, "variables.labelled\n"
           "&& !(variables.update && (has(object.spec.%s) ? has(oldObject.spec.%s) && "
           "object.spec.%s == oldObject.spec.%s : !has(oldObject.spec.%s)))\n"
           "&& (!has(object.spec.%s)",
        key, key, key, key, key, key);
    if (is(mode_of(setting), "enforce"))
        put(g, " || object.spec.%s != %lld", key, (long long)json_integer_value(at(setting, "value", NULL)));
    put(g, ")\n? [JSONPatch{op: has(object.spec.%s) ? 'replace' : 'add', path: '/spec/%s', value: %lld}]\n: []",
        key, key, (long long)json_integer_value(at(setting, "value", NULL)));
}

static json_t *
mutations(struct gen *g)
{
    static const char *const ints[] = {"backoffLimit", "activeDeadlineSeconds", "ttlSecondsAfterFinished"};
    static const struct { const char *setting, *key; int helm_list; } anns[] = {
        {"events", ANN_HOOK, 1}, {"deletePolicy", ANN_DELETE, 1}, {"weight", ANN_WEIGHT, 0},
    };
    const json_t *pull = at(g->d, "imagePullSecrets", NULL);
    json_t *list = json_array();

    mut_keep(g, "restartPolicy");
    mutation(g, list);
    mut_keep(g, "imagePullSecrets");
    mutation(g, list);
    for (size_t i = 0; i < sizeof(anns) / sizeof(anns[0]); i++) {
        const json_t *setting = at(at(g->d, "hook", NULL), anns[i].setting, NULL);

        if (is(mode_of(setting), "off"))
            continue;
        mut_annotation(g, anns[i].key, setting, anns[i].helm_list);
        mutation(g, list);
    }
    if (!is(mode_of(at(g->d, "restartPolicy", NULL)), "off")) {
        mut_restart(g, at(g->d, "restartPolicy", NULL));
        mutation(g, list);
    }
    if (is(mode_of(pull), "merge") && json_array_size(at(pull, "names", NULL)) > 0) {
        mut_pull(g);
        mutation(g, list);
    }
    for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
        if (is(mode_of(at(g->d, "job", ints[i])), "off"))
            continue;
        mut_job_int(g, ints[i], at(g->d, "job", ints[i]));
        mutation(g, list);
    }
    return list;
}

/* ---- the rules' variables and texts ---- */

static void
var(struct gen *g, json_t *vars, const char *name)
{
    add_named(g, vars, "expression", name);
}

static void
var_text(struct gen *g, json_t *vars, const char *name, const char *text)
{
    lit(g, text);
    var(g, vars, name);
}

/* not-a-hook: the release stamp, on the final Job and on the stored one;
 * one text whatever helm.sh/hook says (policy.c). */
static void
rule_release(struct gen *g, json_t *vars)
{
    put(g, "variables.labelled && ");
    has_ann(g, "object", ANN_RELEASE);
    var(g, vars, "f_nah");
    put(g, "variables.update && ");
    has_ann(g, "oldObject", ANN_RELEASE);
    var(g, vars, "o_nah");
    var_text(g, vars, "p_nah", txt_release);
    var_text(g, vars, "x_nah", fix_release);
}

/* A string variable's first 41 characters: enough to tell whether its
 * printable copy runs past 40 bytes, and all a 40-byte cut can keep. */
static void
head41(struct gen *g, const char *v)
{
    put(g, "(size(%s) > 41 ? %s.substring(0, 41) : %s)", v, v, v);
}

/* unknown-hook-value for one annotation: its parts Helm does not know. */
static void
rule_values(struct gen *g, json_t *vars, const char *v, const char *key,
            const char *const *words, size_t n, const char *before, const char *after,
            const char *fix)
{
    char name[32], ref[48];

    put(g, "(");
    has_ann(g, "object", key);
    put(g, " ? ");
    ann(g, "object", key);
    put(g, ".split(',') : []).filter(p, !p.lowerAscii().matches(");
    words_rx(g, words, n);
    put(g, "))");
    var(g, vars, v);
    put(g, "variables.labelled && size(variables.%s) > 0", v);
    snprintf(name, sizeof(name), "f_%s", v);
    var(g, vars, name);
    put(g, "variables.update && ");
    has_ann(g, "oldObject", key);
    put(g, " && ");
    ann(g, "oldObject", key);
    put(g, ".split(',').exists(p, !p.lowerAscii().matches(");
    words_rx(g, words, n);
    put(g, "))");
    snprintf(name, sizeof(name), "o_%s", v);
    var(g, vars, name);
    /* The first unknown part, trimmed by C's isspace() as policy.c does. */
    put(g, "size(variables.%s) > 0 ? variables.%s[0].find(r'[^ \\t\\n\\v\\f\\r](?:[\\s\\S]*[^ \\t\\n\\v\\f\\r])?') : ''",
        v, v);
    snprintf(name, sizeof(name), "%s_core", v);
    var(g, vars, name);
    snprintf(ref, sizeof(ref), "variables.%s_core", v);
    head41(g, ref);
    snprintf(ref, sizeof(ref), "variables.%s_head", v);
    snprintf(name, sizeof(name), "%s_head", v);
    var(g, vars, name);
    check(g, hw_cel_printable(&g->b, ref));
    snprintf(name, sizeof(name), "%s_print", v);
    var(g, vars, name);
    snprintf(ref, sizeof(ref), "variables.%s_print", v);
    lit(g, before);
    put(g, " + ");
    check(g, hw_cel_cut(&g->b, ref, 40, 40, ""));
    put(g, " + ");
    lit(g, after);
    snprintf(name, sizeof(name), "p_%s", v);
    var(g, vars, name);
    snprintf(name, sizeof(name), "x_%s", v);
    var_text(g, vars, name, fix);
}

/* delete-policy: a hook whose delete policy lacks before-hook-creation. */
static void
delete_policy_on(struct gen *g, const char *o)
{
    static const char *const bhc[] = {"before-hook-creation"};

    has_ann(g, o, ANN_HOOK);
    put(g, " && ");
    has_ann(g, o, ANN_DELETE);
    put(g, " && !");
    ann(g, o, ANN_DELETE);
    put(g, ".split(',').exists(p, p.lowerAscii().matches(");
    words_rx(g, bhc, 1);
    put(g, "))");
}

static void
rule_delete_policy(struct gen *g, json_t *vars)
{
    put(g, "variables.labelled && ");
    delete_policy_on(g, "object");
    var(g, vars, "f_dp");
    put(g, "variables.update && ");
    delete_policy_on(g, "oldObject");
    var(g, vars, "o_dp");
    var_text(g, vars, "p_dp", txt_delete_policy);
    var_text(g, vars, "x_dp", fix_delete_policy);
}

static void
rule_ttl(struct gen *g, json_t *vars)
{
    long long min = rule_int(g, "ttl-after-finished", "minSeconds");
    char fix[160];

    put(g, "variables.labelled && has(object.spec.ttlSecondsAfterFinished) && "
           "object.spec.ttlSecondsAfterFinished < %lld", min);
    var(g, vars, "f_ttl");
    put(g, "variables.update && has(oldObject.spec.ttlSecondsAfterFinished) && "
           "oldObject.spec.ttlSecondsAfterFinished < %lld", min);
    var(g, vars, "o_ttl");
    put(g, "has(object.spec.ttlSecondsAfterFinished) ? 'ttlSecondsAfterFinished ' + "
           "string(object.spec.ttlSecondsAfterFinished) + "
           "' may delete the Job before Helm sees it finish' : ''");
    var(g, vars, "p_ttl");
    snprintf(fix, sizeof(fix), "remove ttlSecondsAfterFinished (the hook delete policy cleans up) or "
             "set it to at least %lld", min);
    var_text(g, vars, "x_ttl", fix);
}

static void
rule_deadline(struct gen *g, json_t *vars)
{
    long long t = rule_int(g, "active-deadline", "helmTimeoutSeconds");
    char a[160], b[80], fix[120];

    put(g, "variables.labelled && (!has(object.spec.activeDeadlineSeconds) || "
           "object.spec.activeDeadlineSeconds >= %lld)", t);
    var(g, vars, "f_ads");
    put(g, "variables.update && (!has(oldObject.spec.activeDeadlineSeconds) || "
           "oldObject.spec.activeDeadlineSeconds >= %lld)", t);
    var(g, vars, "o_ads");
    snprintf(a, sizeof(a), "activeDeadlineSeconds is not set: a hung migration runs into Helm's %llds timeout", t);
    snprintf(b, sizeof(b), " is not below Helm's %llds timeout: Helm gives up first", t);
    put(g, "!has(object.spec.activeDeadlineSeconds) ? ");
    lit(g, a);
    put(g, " : 'activeDeadlineSeconds ' + string(object.spec.activeDeadlineSeconds) + ");
    lit(g, b);
    var(g, vars, "p_ads");
    snprintf(fix, sizeof(fix), "set spec.activeDeadlineSeconds below Helm's --timeout (%llds)", t);
    var_text(g, vars, "x_ads", fix);
}

/* long-lived-sidecar: a container after the first whose name or image
 * holds a pattern (read up to a NUL, as strstr() does), unless some
 * container mentions a way to stop. policy.c's mentions_stop() walks any
 * depth; a Job's containers are typed, and no string in them lies deeper
 * than 7 levels below the list (tests/apiserver/schema/job-v1.schema.json,
 * lifecycle.postStart.httpGet.httpHeaders[].value), so STOP_DEPTH levels
 * see them all. */
static void
sidecar_on(struct gen *g, const char *c)
{
    const json_t *pats = at(at(g->d, "rules", "long-lived-sidecar"), "containers", NULL);

    put(g, "has(%s) && size(%s) >= 2 && !", c, c);
    check(g, hw_cel_deep_contains(&g->b, c, stop_words, 2, STOP_DEPTH));
    put(g, "\n&& %s.exists(c, c != %s[0] && ", c, c);
    check(g, hw_cel_string_list(&g->b, pats));
    put(g, ".exists(s,\n    (has(c.name) && string(c.name).split('\\u0000')[0].contains(s)) ||\n"
           "    (has(c.image) && string(c.image).split('\\u0000')[0].contains(s))))");
}

static void
rule_sidecar(struct gen *g, json_t *vars)
{
    put(g, "variables.labelled && ");
    sidecar_on(g, "object.spec.template.spec.containers");
    var(g, vars, "f_car");
    put(g, "variables.update && ");
    sidecar_on(g, "oldObject.spec.template.spec.containers");
    var(g, vars, "o_car");
    put(g, "variables.f_car ? object.spec.template.spec.containers.filter(c, "
           "c != object.spec.template.spec.containers[0] && ");
    check(g, hw_cel_string_list(&g->b, at(at(g->d, "rules", "long-lived-sidecar"), "containers", NULL)));
    put(g, ".exists(s,\n    (has(c.name) && string(c.name).split('\\u0000')[0].contains(s)) ||\n"
           "    (has(c.image) && string(c.image).split('\\u0000')[0].contains(s)))) : []");
    var(g, vars, "car");
    put(g, "size(variables.car) > 0 && has(variables.car[0].name) ? string(variables.car[0].name) : ''");
    var(g, vars, "car_name");
    check(g, hw_cel_printable(&g->b, "variables.car_name"));
    var(g, vars, "car_print");
    put(g, "'container ' + (size(variables.car) > 0 && has(variables.car[0].name) ? ");
    check(g, hw_cel_cut(&g->b, "variables.car_print", 40, 37, "..."));
    put(g, " : '(not a string)') + ' looks like a long-lived sidecar: the Job would never complete'");
    var(g, vars, "p_car");
    var_text(g, vars, "x_car", fix_sidecar);
}

/* The Job as policy.c's name_job() names it in a denial: "ns/name". */
static void
job_variables(struct gen *g, json_t *vars)
{
    put(g, "string(");
    namespace_expr(g);
    put(g, ")");
    var(g, vars, "ns");
    put(g, "'\"' + variables.ns + (variables.ns != '' ? '/' : '') + "
           "(has(object.metadata.name) && object.metadata.name != '' ? string(object.metadata.name) :\n"
           "  has(object.metadata.generateName) ? string(object.metadata.generateName) : '(unnamed)') + '\"'");
    var(g, vars, "job");
}

/* The variables of every rule whose action is want (or not off when NULL). */
static void
rule_variables(struct gen *g, json_t *vars, const char *want)
{
    static const struct { const char *rule; void (*fn)(struct gen *, json_t *); } fns[] = {
        {"not-a-hook", rule_release}, {"delete-policy", rule_delete_policy},
        {"ttl-after-finished", rule_ttl}, {"active-deadline", rule_deadline},
        {"long-lived-sidecar", rule_sidecar},
    };
    const char *a;

    for (size_t i = 0; i < sizeof(fns) / sizeof(fns[0]); i++) {
        a = action(g, fns[i].rule);
        if (want ? is(a, want) : !is(a, "off"))
            fns[i].fn(g, vars);
    }
    a = action(g, "unknown-hook-value");
    if (want ? is(a, want) : !is(a, "off")) {
        rule_values(g, vars, "ev", ANN_HOOK, helm_events, sizeof(helm_events) / sizeof(helm_events[0]),
                    "helm.sh/hook has unknown event \"", "\": Helm skips this Job entirely", fix_events);
        rule_values(g, vars, "del", ANN_DELETE, helm_deletes, sizeof(helm_deletes) / sizeof(helm_deletes[0]),
                    "helm.sh/hook-delete-policy has unknown value \"", "\": Helm ignores it", fix_deletes);
    }
}

/* The ratchet: the stored Job already broke the slot's rule. */
static void
waived(struct gen *g, const struct slot *s)
{
    if (is(s->rule, "unknown-hook-value"))
        put(g, "(variables.o_ev || variables.o_del)");
    else
        put(g, "variables.o_%s", s->var);
}

/* policy.c stale_template(): what the policy would change in the stored
 * template, "restartPolicy,imagePullSecrets"; "" when nothing. */
static int
stale_variables(struct gen *g, json_t *vars)
{
    const json_t *restart = at(g->d, "restartPolicy", NULL), *pull = at(g->d, "imagePullSecrets", NULL);
    const char *r = "oldObject.spec.template.spec.restartPolicy";
    const char *ps = "oldObject.spec.template.spec.imagePullSecrets";
    int sr = !is(mode_of(restart), "off");
    int sp = is(mode_of(pull), "merge") && json_array_size(at(pull, "names", NULL)) > 0;

    if (!sr && !sp)
        return 0;
    put(g, "variables.update && variables.selected && ");
    if (sr) {
        put(g, "!(has(%s) && %s == ", r, r);
        lit(g, value_of(restart));
        if (is(mode_of(restart), "enforce"))
            put(g, ")");
        else
            put(g, ") && (!has(%s) || %s == 'Always')", r, r);
    } else {
        put(g, "false");
    }
    var(g, vars, "stale_restart");
    put(g, "variables.update && variables.selected && ");
    if (sp) {
        check(g, hw_cel_string_list(&g->b, at(pull, "names", NULL)));
        put(g, ".exists(n, !(has(%s) && %s.exists(e, has(e.name) && e.name == n)))", ps, ps);
    } else {
        put(g, "false");
    }
    var(g, vars, "stale_pull");
    put(g, "(variables.stale_restart ? 'restartPolicy' : '') + "
           "(variables.stale_restart && variables.stale_pull ? ',' : '') + "
           "(variables.stale_pull ? 'imagePullSecrets' : '')");
    var(g, vars, "stale");
    return 1;
}

/* ---- the validating policies ---- */

/* One validation: the expression written, which fails (warns or denies)
 * when false; message_expression may be NULL. */
static void
validation(struct gen *g, json_t *list, const char *message, const char *message_expression)
{
    json_t *e = take(g), *v;

    v = json_pack("{s:o, s:s}", "expression", e, "message", message);
    if (v != NULL && message_expression != NULL &&
        json_object_set_new(v, "messageExpression", json_string(message_expression)) != 0) {
        json_decref(v);
        v = NULL;
    }
    if (v == NULL || json_array_append_new(list, v) != 0)
        g->failed = 1;
}

/* The Warn policy's validations: the stale template, then each finding in
 * policy.c's order; a deny rule the stored Job already broke warns, and
 * says why it does not deny. */
static json_t *
warn_validations(struct gen *g, int stale)
{
    json_t *list = json_array();
    char note[160], what[64], msg[32];

    if (stale) {
        put(g, "variables.stale == ''");
        validation(g, list, "pod template predates the policy: it is immutable; recreate the Job to apply it",
                   "'pod template predates the policy (' + variables.stale + '): it is immutable; "
                   "recreate the Job to apply it'");
    }
    for (size_t i = 0; i < N_SLOTS; i++) {
        const struct slot *s = &slots[i];
        const char *a = action(g, s->rule);

        if (is(a, "off"))
            continue;
        snprintf(what, sizeof(what), "hookwarden rule %s", s->rule);
        snprintf(msg, sizeof(msg), "variables.p_%s", s->var);
        put(g, "!(variables.f_%s", s->var);
        if (is(a, "deny")) {
            put(g, " && ");
            waived(g, s);
        }
        put(g, ")");
        validation(g, list, what, msg);
        if (!is(a, "deny"))
            continue;
        snprintf(note, sizeof(note), "rule %s is not enforced on this update: the stored Job already broke it",
                 s->rule);
        put(g, "!(variables.f_%s && ", s->var);
        waived(g, s);
        put(g, ")");
        validation(g, list, note, NULL);
    }
    return list;
}

/* The webhook's auditAnnotations: stale-template, and finding.RULE with
 * the stronger action of the rule's findings (a waived denial warns). */
static json_t *
audit_annotations(struct gen *g, int stale)
{
    json_t *list = json_array();
    char key[64];

    if (stale) {
        put(g, "variables.stale");
        add_keyed(g, list, "key", "valueExpression", "stale-template");
    }
    if (hw_policy_override_count(g->p) > 0) {
        /* The overrides that apply to a selected Job, "0,2" (handler.c). */
        put(g, "variables.selected ? [");
        for (size_t i = 0; i < hw_policy_override_count(g->p); i++) {
            put(g, "%s", i ? ", " : "");
            override_matches(g, g->p, i);
            put(g, " ? '%zu' : ''", i);
        }
        put(g, "].filter(x, x != '').join(',') : ''");
        add_keyed(g, list, "key", "valueExpression", "overrides");
    }
    for (int r = 0; r < HW_RULE_COUNT; r++) {
        const char *rule = hw_policy_rule_name((enum hw_rule)r), *a = action(g, rule);
        const struct slot *first = NULL;

        if (is(a, "off"))
            continue;
        for (size_t i = 0; i < N_SLOTS; i++) {
            if (!is(slots[i].rule, rule))
                continue;
            put(g, "%svariables.f_%s", first ? " || " : "", slots[i].var);
            if (first == NULL)
                first = &slots[i];
        }
        if (is(a, "deny")) {
            put(g, " ? (");
            waived(g, first);
            put(g, " ? 'warn' : 'deny') : ''");
        } else {
            put(g, " ? 'warn' : ''");
        }
        snprintf(key, sizeof(key), "finding.%s", rule);
        add_keyed(g, list, "key", "valueExpression", key);
    }
    return list;
}

/* The denial: policy.c joins its denials with "; " into HW_DENY_MAX bytes,
 * a cut that can end inside a character (sent as one U+FFFD per byte). */
static void
deny_variables(struct gen *g, json_t *vars)
{
    const char *m = "variables.deny_full";

    put(g, "[]");
    for (size_t i = 0; i < N_SLOTS; i++) {
        if (!is(action(g, slots[i].rule), "deny"))
            continue;
        put(g, "\n+ (variables.f_%s && !", slots[i].var);
        waived(g, &slots[i]);
        put(g, " ? ['Job ' + variables.job + ' violates rule %s: ' + variables.p_%s + '. Fix: ' + "
               "variables.x_%s] : [])", slots[i].rule, slots[i].var, slots[i].var);
    }
    var(g, vars, "denials");
    put(g, "variables.denials.join('; ')");
    var(g, vars, "deny_full");
    /* Characters to drop from DENY_MAX: at most the extra bytes of the
     * multi-byte ones (only object values quoted in a problem have any). */
    put(g, "([");
    for (int k = 0; k <= 63; k++)
        put(g, "%s%d", k ? ", " : "", k);
    put(g, "].filter(k, k <= size(bytes(%s)) - size(%s) && %d - k <= size(%s)\n"
           "    && size(bytes(%s.substring(0, %d - k))) <= %d) + [size(bytes(%s)) - size(%s)])[0]",
        m, m, DENY_MAX, m, m, DENY_MAX, DENY_MAX, m, m);
    var(g, vars, "deny_drop");
    put(g, "size(bytes(%s)) <= %d ? %s :\n"
           "size(bytes(%s)) == size(%s) ? %s.substring(0, %d) :\n"
           "%s.substring(0, %d - variables.deny_drop) + ['', '\\ufffd', '\\ufffd\\ufffd', "
           "'\\ufffd\\ufffd\\ufffd'][%d - size(bytes(%s.substring(0, %d - variables.deny_drop)))]",
        m, DENY_MAX, m, m, m, m, DENY_MAX, m, DENY_MAX, DENY_MAX, m, DENY_MAX);
    var(g, vars, "deny_message");
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
                            "mutations", mutations(g)));
}

/* The Warn policy; NULL (and no failure) when it would have nothing to do. */
static json_t *
warn_policy(struct gen *g)
{
    json_t *vars = selection_variables(g), *spec;
    int stale = stale_variables(g, vars), any = stale;

    for (int r = 0; r < HW_RULE_COUNT; r++)
        any |= rule_on(g, hw_policy_rule_name((enum hw_rule)r));
    any |= hw_policy_override_count(g->p) > 0;  /* the overrides audit annotation */
    if (!any) {
        json_decref(vars);
        return NULL;
    }
    rule_variables(g, vars, NULL);
    spec = json_pack("{s:s, s:o, s:o, s:o, s:o, s:o}", "failurePolicy", "Fail", "matchConstraints",
                     match_constraints(g), "matchConditions", match_conditions(g), "variables", vars,
                     "validations", warn_validations(g, stale), "auditAnnotations",
                     audit_annotations(g, stale));
    return object(g, "ValidatingAdmissionPolicy", g->name, spec);
}

/* The Deny policy; NULL when no rule denies. */
static json_t *
deny_policy(struct gen *g, const char *name)
{
    json_t *vars, *list, *spec;
    int any = 0;

    for (int r = 0; r < HW_RULE_COUNT; r++)
        any |= is(action(g, hw_policy_rule_name((enum hw_rule)r)), "deny");
    if (!any)
        return NULL;
    vars = selection_variables(g);
    job_variables(g, vars);
    rule_variables(g, vars, "deny");
    /* A ratchet reads the stored Job's findings of the same rules. */
    deny_variables(g, vars);
    list = json_array();
    put(g, "size(variables.denials) == 0");
    validation(g, list, "hookwarden: the Job violates a rule of the platform policy",
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
        c += is(mode_of(at(g->d, a, keys[i])), mode);
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

    for (size_t i = 0; i < N_SLOTS; i++) {
        warn += is(action(g, slots[i].rule), "warn");
        deny += is(action(g, slots[i].rule), "deny");
    }
    create = replaced + !is(mode_of(at(g->d, "restartPolicy", NULL)), "off") + warn;
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
static void
override_matches(struct gen *g, const struct hw_policy *p, size_t i)
{
    size_t n;
    const char *const *pats = hw_policy_override_namespaces(p, i, &n);

    namespace_expr(g);
    put(g, ".matches('^(?:");
    for (size_t k = 0; k < n; k++) {
        put(g, "%s", k ? "|" : "");
        for (const char *c = pats[k]; *c; c++)
            put(g, "%s", *c == '*' ? ".*" : *c == '?' ? "." : (char[]){*c, '\0'});
    }
    put(g, ")$')");
}

/* CEL true exactly in the namespaces whose matching overrides give variant v. */
static char *
variant_condition(struct gen *g, const struct hw_policy *p, const struct variants *vs, size_t v)
{
    int first = 1;

    for (unsigned m = 0; m < (1u << vs->n_overrides); m++) {
        if (vs->of[m] != v)
            continue;
        put(g, first ? "(" : " || (");
        for (size_t i = 0; i < vs->n_overrides; i++) {
            put(g, i ? " && " : "");
            put(g, m & (1u << i) ? "" : "!");
            override_matches(g, p, i);
        }
        put(g, ")");
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

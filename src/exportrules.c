/* SPDX-License-Identifier: Apache-2.0 */
/*
 * exportrules: the webhook's rules (policy.c's lint) as the
 * ValidatingAdmissionPolicies' variables, validations and audit
 * annotations: each rule's finding on the final object, its ratchet read
 * from oldObject, the webhook's warning and denial texts, the stale
 * template's warning. The helpers that write CEL and read the policy
 * document are export.c's (export_impl.h).
 */
#include <stdio.h>
#include <string.h>

#include "hookwarden/cel.h"
#include "hookwarden/export.h"
#include "export_impl.h"

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

const struct slot gen_slots[] = {
    {"not-a-hook", "nah"}, {"unknown-hook-value", "ev"}, {"unknown-hook-value", "del"},
    {"delete-policy", "dp"}, {"ttl-after-finished", "ttl"}, {"active-deadline", "ads"},
    {"long-lived-sidecar", "car"},
};
const size_t gen_n_slots = sizeof(gen_slots) / sizeof(gen_slots[0]);

/* ---- the rules' variables and texts ---- */

static void
var(struct gen *g, json_t *vars, const char *name)
{
    gen_add_named(g, vars, "expression", name);
}

static void
var_text(struct gen *g, json_t *vars, const char *name, const char *text)
{
    gen_lit(g, text);
    var(g, vars, name);
}

/* A rule's two firing variables: f_SLOT on the final Job of a labelled
 * request, o_SLOT on the stored Job of an UPDATE (what ratcheting asks);
 * on() writes the rule's condition for the Job named root. */
static void
fires(struct gen *g, json_t *vars, const char *slot, void (*on)(struct gen *g, const char *root))
{
    char name[16];

    gen_put(g, "variables.labelled && ");
    on(g, "object");
    snprintf(name, sizeof(name), "f_%s", slot);
    var(g, vars, name);
    gen_put(g, "variables.update && ");
    on(g, "oldObject");
    snprintf(name, sizeof(name), "o_%s", slot);
    var(g, vars, name);
}

/* not-a-hook: the release stamp, on the final Job and on the stored one;
 * one text whatever helm.sh/hook says (policy.c). */
static void
release_on(struct gen *g, const char *root)
{
    gen_has_ann(g, root, ANN_RELEASE);
}

static void
rule_release(struct gen *g, json_t *vars)
{
    fires(g, vars, "nah", release_on);
    var_text(g, vars, "p_nah", txt_release);
    var_text(g, vars, "x_nah", fix_release);
}

/* A string variable's first 41 characters: enough to tell whether its
 * printable copy runs past 40 bytes, and all a 40-byte cut can keep. */
static void
head41(struct gen *g, const char *v)
{
    gen_put(g, "(size(%s) > 41 ? %s.substring(0, 41) : %s)", v, v, v);
}

/* unknown-hook-value for one annotation: its parts Helm does not know. */
static void
rule_values(struct gen *g, json_t *vars, const char *v, const char *key,
            const char *const *words, size_t n, const char *before, const char *after,
            const char *fix)
{
    char name[32], ref[48];

    gen_put(g, "(");
    gen_has_ann(g, "object", key);
    gen_put(g, " ? ");
    gen_ann(g, "object", key);
    gen_put(g, ".split(',') : []).filter(p, !p.lowerAscii().matches(");
    gen_words_rx(g, words, n);
    gen_put(g, "))");
    var(g, vars, v);
    gen_put(g, "variables.labelled && size(variables.%s) > 0", v);
    snprintf(name, sizeof(name), "f_%s", v);
    var(g, vars, name);
    gen_put(g, "variables.update && ");
    gen_has_ann(g, "oldObject", key);
    gen_put(g, " && ");
    gen_ann(g, "oldObject", key);
    gen_put(g, ".split(',').exists(p, !p.lowerAscii().matches(");
    gen_words_rx(g, words, n);
    gen_put(g, "))");
    snprintf(name, sizeof(name), "o_%s", v);
    var(g, vars, name);
    /* The first unknown part, trimmed by C's isspace() as policy.c does. */
    gen_put(g, "size(variables.%s) > 0 ? variables.%s[0].find(r'[^ \\t\\n\\v\\f\\r](?:[\\s\\S]*[^ \\t\\n\\v\\f\\r])?') : ''",
        v, v);
    snprintf(name, sizeof(name), "%s_core", v);
    var(g, vars, name);
    snprintf(ref, sizeof(ref), "variables.%s_core", v);
    head41(g, ref);
    snprintf(ref, sizeof(ref), "variables.%s_head", v);
    snprintf(name, sizeof(name), "%s_head", v);
    var(g, vars, name);
    gen_check(g, hw_cel_printable(&g->b, ref));
    snprintf(name, sizeof(name), "%s_print", v);
    var(g, vars, name);
    snprintf(ref, sizeof(ref), "variables.%s_print", v);
    gen_lit(g, before);
    gen_put(g, " + ");
    gen_check(g, hw_cel_cut(&g->b, ref, 40, 40, ""));
    gen_put(g, " + ");
    gen_lit(g, after);
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

    gen_has_ann(g, o, ANN_HOOK);
    gen_put(g, " && ");
    gen_has_ann(g, o, ANN_DELETE);
    gen_put(g, " && !");
    gen_ann(g, o, ANN_DELETE);
    gen_put(g, ".split(',').exists(p, p.lowerAscii().matches(");
    gen_words_rx(g, bhc, 1);
    gen_put(g, "))");
}

static void
rule_delete_policy(struct gen *g, json_t *vars)
{
    fires(g, vars, "dp", delete_policy_on);
    var_text(g, vars, "p_dp", txt_delete_policy);
    var_text(g, vars, "x_dp", fix_delete_policy);
}

static void
ttl_on(struct gen *g, const char *root)
{
    gen_put(g, "has(%s.spec.ttlSecondsAfterFinished) && %s.spec.ttlSecondsAfterFinished < %lld",
            root, root, gen_rule_int(g, "ttl-after-finished", "minSeconds"));
}

static void
rule_ttl(struct gen *g, json_t *vars)
{
    long long min = gen_rule_int(g, "ttl-after-finished", "minSeconds");
    char fix[160];

    fires(g, vars, "ttl", ttl_on);
    gen_put(g, "has(object.spec.ttlSecondsAfterFinished) ? 'ttlSecondsAfterFinished ' + "
           "string(object.spec.ttlSecondsAfterFinished) + "
           "' may delete the Job before Helm sees it finish' : ''");
    var(g, vars, "p_ttl");
    snprintf(fix, sizeof(fix), "remove ttlSecondsAfterFinished (the hook delete policy cleans up) or "
             "set it to at least %lld", min);
    var_text(g, vars, "x_ttl", fix);
}

static void
deadline_on(struct gen *g, const char *root)
{
    gen_put(g, "(!has(%s.spec.activeDeadlineSeconds) || %s.spec.activeDeadlineSeconds >= %lld)",
            root, root, gen_rule_int(g, "active-deadline", "helmTimeoutSeconds"));
}

static void
rule_deadline(struct gen *g, json_t *vars)
{
    long long t = gen_rule_int(g, "active-deadline", "helmTimeoutSeconds");
    char a[160], b[80], fix[120];

    fires(g, vars, "ads", deadline_on);
    snprintf(a, sizeof(a), "activeDeadlineSeconds is not set: a hung migration runs into Helm's %llds timeout", t);
    snprintf(b, sizeof(b), " is not below Helm's %llds timeout: Helm gives up first", t);
    gen_put(g, "!has(object.spec.activeDeadlineSeconds) ? ");
    gen_lit(g, a);
    gen_put(g, " : 'activeDeadlineSeconds ' + string(object.spec.activeDeadlineSeconds) + ");
    gen_lit(g, b);
    var(g, vars, "p_ads");
    snprintf(fix, sizeof(fix), "set spec.activeDeadlineSeconds below Helm's --timeout (%llds)", t);
    var_text(g, vars, "x_ads", fix);
}

/* A container c whose name or image contains a word s of the list before
 * it, read up to a NUL as policy.c's strstr() reads it. */
static const char SIDECAR_MATCH[] =
    ".exists(s,\n    (has(c.name) && string(c.name).split('\\u0000')[0].contains(s)) ||\n"
    "    (has(c.image) && string(c.image).split('\\u0000')[0].contains(s)))";

/* long-lived-sidecar: a container after the first whose name or image
 * holds a pattern (read up to a NUL, as strstr() does), unless some
 * container mentions a way to stop. policy.c's mentions_stop() walks any
 * depth; a Job's containers are typed, and no string in them lies deeper
 * than 7 levels below the list (tests/apiserver/schema/job-v1.schema.json,
 * lifecycle.postStart.httpGet.httpHeaders[].value), so STOP_DEPTH levels
 * see them all. */
static void
sidecar_on(struct gen *g, const char *root)
{
    char c[64];

    snprintf(c, sizeof(c), "%s.spec.template.spec.containers", root);
    const json_t *pats = gen_at(gen_at(g->d, "rules", "long-lived-sidecar"), "containers", NULL);

    gen_put(g, "has(%s) && size(%s) >= 2 && !", c, c);
    gen_check(g, hw_cel_deep_contains(&g->b, c, stop_words, 2, STOP_DEPTH));
    gen_put(g, "\n&& %s.exists(c, c != %s[0] && ", c, c);
    gen_check(g, hw_cel_string_list(&g->b, pats));
    gen_put(g, "%s)", SIDECAR_MATCH);
}

static void
rule_sidecar(struct gen *g, json_t *vars)
{
    fires(g, vars, "car", sidecar_on);
    gen_put(g, "variables.f_car ? object.spec.template.spec.containers.filter(c, "
           "c != object.spec.template.spec.containers[0] && ");
    gen_check(g, hw_cel_string_list(&g->b, gen_at(gen_at(g->d, "rules", "long-lived-sidecar"), "containers", NULL)));
    gen_put(g, "%s) : []", SIDECAR_MATCH);
    var(g, vars, "car");
    gen_put(g, "size(variables.car) > 0 && has(variables.car[0].name) ? string(variables.car[0].name) : ''");
    var(g, vars, "car_name");
    gen_check(g, hw_cel_printable(&g->b, "variables.car_name"));
    var(g, vars, "car_print");
    gen_put(g, "'container ' + (size(variables.car) > 0 && has(variables.car[0].name) ? ");
    gen_check(g, hw_cel_cut(&g->b, "variables.car_print", 40, 37, "..."));
    gen_put(g, " : '(not a string)') + ' looks like a long-lived sidecar: the Job would never complete'");
    var(g, vars, "p_car");
    var_text(g, vars, "x_car", fix_sidecar);
}

/* The Job as policy.c's name_job() names it in a denial: "ns/name". */
void
gen_job_variables(struct gen *g, json_t *vars)
{
    gen_put(g, "string(");
    gen_namespace_expr(g);
    gen_put(g, ")");
    var(g, vars, "ns");
    gen_put(g, "'\"' + variables.ns + (variables.ns != '' ? '/' : '') + "
           "(has(object.metadata.name) && object.metadata.name != '' ? string(object.metadata.name) :\n"
           "  has(object.metadata.generateName) ? string(object.metadata.generateName) : '(unnamed)') + '\"'");
    var(g, vars, "job");
}

/* The variables of every rule whose action is want (or not off when NULL). */
void
gen_rule_variables(struct gen *g, json_t *vars, const char *want)
{
    static const struct { const char *rule; void (*fn)(struct gen *, json_t *); } fns[] = {
        {"not-a-hook", rule_release}, {"delete-policy", rule_delete_policy},
        {"ttl-after-finished", rule_ttl}, {"active-deadline", rule_deadline},
        {"long-lived-sidecar", rule_sidecar},
    };
    const char *a;

    for (size_t i = 0; i < sizeof(fns) / sizeof(fns[0]); i++) {
        a = gen_action(g, fns[i].rule);
        if (want ? gen_is(a, want) : !gen_is(a, "off"))
            fns[i].fn(g, vars);
    }
    a = gen_action(g, "unknown-hook-value");
    if (want ? gen_is(a, want) : !gen_is(a, "off")) {
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
    if (gen_is(s->rule, "unknown-hook-value"))
        gen_put(g, "(variables.o_ev || variables.o_del)");
    else
        gen_put(g, "variables.o_%s", s->var);
}

/* policy.c stale_template(): what the policy would change in the stored
 * template, "restartPolicy,imagePullSecrets"; "" when nothing. */
int
gen_stale_variables(struct gen *g, json_t *vars)
{
    const json_t *restart = gen_at(g->d, "restartPolicy", NULL), *pull = gen_at(g->d, "imagePullSecrets", NULL);
    const char *r = "oldObject.spec.template.spec.restartPolicy";
    const char *ps = "oldObject.spec.template.spec.imagePullSecrets";
    int sr = !gen_is(gen_mode_of(restart), "off");
    int sp = gen_is(gen_mode_of(pull), "merge") && json_array_size(gen_at(pull, "names", NULL)) > 0;

    if (!sr && !sp)
        return 0;
    gen_put(g, "variables.update && variables.selected && ");
    if (sr) {
        gen_put(g, "!(has(%s) && %s == ", r, r);
        gen_lit(g, gen_value_of(restart));
        if (gen_is(gen_mode_of(restart), "enforce"))
            gen_put(g, ")");
        else
            gen_put(g, ") && (!has(%s) || %s == 'Always')", r, r);
    } else {
        gen_put(g, "false");
    }
    var(g, vars, "stale_restart");
    gen_put(g, "variables.update && variables.selected && ");
    if (sp) {
        gen_check(g, hw_cel_string_list(&g->b, gen_at(pull, "names", NULL)));
        gen_put(g, ".exists(n, !(has(%s) && %s.exists(e, has(e.name) && e.name == n)))", ps, ps);
    } else {
        gen_put(g, "false");
    }
    var(g, vars, "stale_pull");
    gen_put(g, "(variables.stale_restart ? 'restartPolicy' : '') + "
           "(variables.stale_restart && variables.stale_pull ? ',' : '') + "
           "(variables.stale_pull ? 'imagePullSecrets' : '')");
    var(g, vars, "stale");
    return 1;
}

/* ---- the validating policies ---- */

/* One validation: the expression written, which fails (warns or denies)
 * when false; message_expression may be NULL. */
void
gen_validation(struct gen *g, json_t *list, const char *message, const char *message_expression)
{
    json_t *e = gen_take(g), *v;

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
json_t *
gen_warn_validations(struct gen *g, int stale)
{
    json_t *list = json_array();
    char note[160], what[64], msg[32];

    if (stale) {
        gen_put(g, "variables.stale == ''");
        gen_validation(g, list, "pod template predates the policy: it is immutable; recreate the Job to apply it",
                   "'pod template predates the policy (' + variables.stale + '): it is immutable; "
                   "recreate the Job to apply it'");
    }
    for (size_t i = 0; i < gen_n_slots; i++) {
        const struct slot *s = &gen_slots[i];
        const char *a = gen_action(g, s->rule);

        if (gen_is(a, "off"))
            continue;
        snprintf(what, sizeof(what), "hookwarden rule %s", s->rule);
        snprintf(msg, sizeof(msg), "variables.p_%s", s->var);
        gen_put(g, "!(variables.f_%s", s->var);
        if (gen_is(a, "deny")) {
            gen_put(g, " && ");
            waived(g, s);
        }
        gen_put(g, ")");
        gen_validation(g, list, what, msg);
        if (!gen_is(a, "deny"))
            continue;
        snprintf(note, sizeof(note), "rule %s is not enforced on this update: the stored Job already broke it",
                 s->rule);
        gen_put(g, "!(variables.f_%s && ", s->var);
        waived(g, s);
        gen_put(g, ")");
        gen_validation(g, list, note, NULL);
    }
    return list;
}

/* The webhook's auditAnnotations: stale-template, and finding.RULE with
 * the stronger action of the rule's findings (a waived denial warns). */
json_t *
gen_audit_annotations(struct gen *g, int stale)
{
    json_t *list = json_array();
    char key[64];

    if (stale) {
        gen_put(g, "variables.stale");
        gen_add_keyed(g, list, "key", "valueExpression", "stale-template");
    }
    if (hw_policy_override_count(g->p) > 0) {
        /* The overrides that apply to a selected Job, "0,2" (handler.c). */
        gen_put(g, "variables.selected ? [");
        for (size_t i = 0; i < hw_policy_override_count(g->p); i++) {
            gen_put(g, "%s", i ? ", " : "");
            gen_override_matches(g, g->p, i);
            gen_put(g, " ? '%zu' : ''", i);
        }
        gen_put(g, "].filter(x, x != '').join(',') : ''");
        gen_add_keyed(g, list, "key", "valueExpression", "overrides");
    }
    for (int r = 0; r < HW_RULE_COUNT; r++) {
        const char *rule = hw_policy_rule_name((enum hw_rule)r), *a = gen_action(g, rule);
        const struct slot *first = NULL;

        if (gen_is(a, "off"))
            continue;
        for (size_t i = 0; i < gen_n_slots; i++) {
            if (!gen_is(gen_slots[i].rule, rule))
                continue;
            gen_put(g, "%svariables.f_%s", first ? " || " : "", gen_slots[i].var);
            if (first == NULL)
                first = &gen_slots[i];
        }
        if (gen_is(a, "deny")) {
            gen_put(g, " ? (");
            waived(g, first);
            gen_put(g, " ? 'warn' : 'deny') : ''");
        } else {
            gen_put(g, " ? 'warn' : ''");
        }
        snprintf(key, sizeof(key), "finding.%s", rule);
        gen_add_keyed(g, list, "key", "valueExpression", key);
    }
    return list;
}

/* The denial: policy.c joins its denials with "; " into HW_DENY_MAX bytes,
 * a cut that can end inside a character (sent as one U+FFFD per byte). */
void
gen_deny_variables(struct gen *g, json_t *vars)
{
    const char *m = "variables.deny_full";

    gen_put(g, "[]");
    for (size_t i = 0; i < gen_n_slots; i++) {
        if (!gen_is(gen_action(g, gen_slots[i].rule), "deny"))
            continue;
        gen_put(g, "\n+ (variables.f_%s && !", gen_slots[i].var);
        waived(g, &gen_slots[i]);
        gen_put(g, " ? ['Job ' + variables.job + ' violates rule %s: ' + variables.p_%s + '. Fix: ' + "
               "variables.x_%s] : [])", gen_slots[i].rule, gen_slots[i].var, gen_slots[i].var);
    }
    var(g, vars, "denials");
    gen_put(g, "variables.denials.join('; ')");
    var(g, vars, "deny_full");
    /* Characters to drop from DENY_MAX: at most the extra bytes of the
     * multi-byte ones (only object values quoted in a problem have any). */
    gen_put(g, "([");
    for (int k = 0; k <= 63; k++)
        gen_put(g, "%s%d", k ? ", " : "", k);
    gen_put(g, "].filter(k, k <= size(bytes(%s)) - size(%s) && %d - k <= size(%s)\n"
           "    && size(bytes(%s.substring(0, %d - k))) <= %d) + [size(bytes(%s)) - size(%s)])[0]",
        m, m, DENY_MAX, m, m, DENY_MAX, DENY_MAX, m, m);
    var(g, vars, "deny_drop");
    gen_put(g, "size(bytes(%s)) <= %d ? %s :\n"
           "size(bytes(%s)) == size(%s) ? %s.substring(0, %d) :\n"
           "%s.substring(0, %d - variables.deny_drop) + ['', '\\ufffd', '\\ufffd\\ufffd', "
           "'\\ufffd\\ufffd\\ufffd'][%d - size(bytes(%s.substring(0, %d - variables.deny_drop)))]",
        m, DENY_MAX, m, m, m, m, DENY_MAX, m, DENY_MAX, DENY_MAX, m, DENY_MAX);
    var(g, vars, "deny_message");
}

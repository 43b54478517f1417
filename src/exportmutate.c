/* SPDX-License-Identifier: Apache-2.0 */
/*
 * exportmutate: the MutatingAdmissionPolicy's mutations, policy.c's patch
 * operations in its order: on UPDATE the stored pod template's managed
 * fields first (restartPolicy, imagePullSecrets, as oldObject has them),
 * then the hook annotations (a Helm list compared part by part, as
 * policy.c compares it), CREATE's restartPolicy and pull secrets, the Job
 * settings. Each is a JSONPatch list that is empty when nothing is to
 * change, so a reinvocation changes nothing. The CEL writers are
 * export.c's (export_impl.h).
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "hookwarden/cel.h"
#include "export_impl.h"

/* ---- the mutating policy ---- */

static void
mutation(struct gen *g, json_t *list)
{
    json_t *e = gen_take(g);

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

    gen_put(g, "variables.update && variables.selected && !(has(%s.%s)\n"
           "    ? has(%s.%s) && %s.%s == %s.%s\n"
           "    : !has(%s.%s))\n",
        cur, field, was, field, cur, field, was, field, was, field);
    gen_put(g, "? (has(%s.%s)\n"
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
        if (gen_is(json_string_value(v), s))
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
    gen_ann(g, "object", key);
    gen_put(g, ".split(',').all(p, p.lowerAscii().matches(");
    gen_words_rx(g, words, n);
    gen_put(g, "))");
    for (i = 0; i < n; i++) {
        gen_put(g, "\n    && ");
        gen_ann(g, "object", key);
        gen_put(g, ".split(',').exists(p, p.lowerAscii().matches(");
        gen_words_rx(g, &words[i], 1);
        gen_put(g, "))");
    }
    json_decref(parts);
}

/* policy.c set_annotation(): add sets an absent key, enforce also replaces
 * another value; the map is added whole when the Job has none. */
static void
mut_annotation(struct gen *g, const char *key, const json_t *setting, int helm_list)
{
    const char *value = gen_value_of(setting);

    gen_put(g, "variables.labelled && !(");
    gen_has_ann(g, "object", key);
    if (gen_is(gen_mode_of(setting), "enforce")) {
        gen_put(g, "\n    && ");
        if (helm_list) {
            same_helm_list(g, key, value);
        } else {
            gen_ann(g, "object", key);
            gen_put(g, " == ");
            gen_lit(g, value);
        }
    }
    gen_put(g, ")\n? (has(object.metadata.annotations)\n"
           "    ? [JSONPatch{op: ");
    gen_lit(g, key);
    gen_put(g, " in object.metadata.annotations ? 'replace' : 'add',\n"
           "        path: '/metadata/annotations/' + jsonpatch.escapeKey(");
    gen_lit(g, key);
    gen_put(g, "), value: ");
    gen_lit(g, value);
    gen_put(g, "}]\n    : [JSONPatch{op: 'add', path: '/metadata/annotations', value: {");
    gen_lit(g, key);
    gen_put(g, ": ");
    gen_lit(g, value);
    gen_put(g, "}}])\n: []");
}

/* policy.c set_restart_policy(), CREATE only: add treats the defaulted
 * Always as absent. */
static void
mut_restart(struct gen *g, const json_t *setting)
{
    const char *f = "object.spec.template.spec.restartPolicy";

    gen_put(g, "variables.labelled && !variables.update && (!has(%s) || %s ", f, f);
    if (gen_is(gen_mode_of(setting), "enforce")) {
        gen_put(g, "!= ");
        gen_lit(g, gen_value_of(setting));
    } else {
        gen_put(g, "== 'Always'");
    }
    gen_put(g, ")\n? [JSONPatch{op: has(%s) ? 'replace' : 'add', path: '/spec/template/spec/restartPolicy',\n"
           "    value: ", f);
    gen_lit(g, gen_value_of(setting));
    gen_put(g, "}]\n: []");
}

/* The policy's pull secret names, each once, in order (a repeated name
 * is found by the webhook's second look). New array. */
static json_t *
pull_names(const struct gen *g)
{
    const json_t *names = gen_at(gen_at(g->d, "imagePullSecrets", NULL), "names", NULL);
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

    gen_put(g, "variables.labelled && !variables.update\n? (has(%s)\n    ? ", f);
    gen_check(g, hw_cel_string_list(&g->b, names));
    gen_put(g, ".filter(n, !%s.exists(e, has(e.name) && e.name == n))\n"
           "        .map(n, JSONPatch{op: 'add', path: '/spec/template/spec/imagePullSecrets/-', value: {'name': n}})\n"
           "    : [JSONPatch{op: 'add', path: '/spec/template/spec/imagePullSecrets', value: ",
        f);
    gen_check(g, hw_cel_string_list(&g->b, names));
    gen_put(g, ".map(n, {'name': n})}])\n: []");
    json_decref(names);
}

/* policy.c set_job_int(): on UPDATE a value the update leaves as stored
 * (absent included) stays. */
static void
mut_job_int(struct gen *g, const char *key, const json_t *setting)
{
    gen_put(g, "variables.labelled\n"
           "&& !(variables.update && (has(object.spec.%s) ? has(oldObject.spec.%s) && "
           "object.spec.%s == oldObject.spec.%s : !has(oldObject.spec.%s)))\n"
           "&& (!has(object.spec.%s)",
        key, key, key, key, key, key);
    if (gen_is(gen_mode_of(setting), "enforce"))
        gen_put(g, " || object.spec.%s != %lld", key, (long long)json_integer_value(gen_at(setting, "value", NULL)));
    gen_put(g, ")\n? [JSONPatch{op: has(object.spec.%s) ? 'replace' : 'add', path: '/spec/%s', value: %lld}]\n: []",
        key, key, (long long)json_integer_value(gen_at(setting, "value", NULL)));
}

json_t *
gen_mutations(struct gen *g)
{
    static const char *const ints[] = {"backoffLimit", "activeDeadlineSeconds", "ttlSecondsAfterFinished"};
    static const struct { const char *setting, *key; int helm_list; } anns[] = {
        {"events", ANN_HOOK, 1}, {"deletePolicy", ANN_DELETE, 1}, {"weight", ANN_WEIGHT, 0},
    };
    const json_t *pull = gen_at(g->d, "imagePullSecrets", NULL);
    json_t *list = json_array();

    mut_keep(g, "restartPolicy");
    mutation(g, list);
    mut_keep(g, "imagePullSecrets");
    mutation(g, list);
    for (size_t i = 0; i < sizeof(anns) / sizeof(anns[0]); i++) {
        const json_t *setting = gen_at(gen_at(g->d, "hook", NULL), anns[i].setting, NULL);

        if (gen_is(gen_mode_of(setting), "off"))
            continue;
        mut_annotation(g, anns[i].key, setting, anns[i].helm_list);
        mutation(g, list);
    }
    if (!gen_is(gen_mode_of(gen_at(g->d, "restartPolicy", NULL)), "off")) {
        mut_restart(g, gen_at(g->d, "restartPolicy", NULL));
        mutation(g, list);
    }
    if (gen_is(gen_mode_of(pull), "merge") && json_array_size(gen_at(pull, "names", NULL)) > 0) {
        mut_pull(g);
        mutation(g, list);
    }
    for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
        if (gen_is(gen_mode_of(gen_at(g->d, "job", ints[i])), "off"))
            continue;
        mut_job_int(g, ints[i], gen_at(g->d, "job", ints[i]));
        mutation(g, list);
    }
    return list;
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * render: the offline door to the policy engine. It reads each manifest
 * stream whole (a file or stdin, at most HW_YAML_MAX_INPUT bytes), has the
 * yaml module parse it, and runs hw_policy_apply() over every object, and
 * over every item of a List, exactly as the webhook does for a CREATE.
 * `render` then writes the stream back through hw_yaml_write(): untouched
 * documents byte for byte, changed ones re-emitted; warnings go to stderr,
 * and a denial or a bad object fails the run before anything is written.
 * `lint` writes no manifests: it prints one "file:document:kind/name: rule:
 * action: message" line per finding on stdout, judging each document the
 * way Helm would install it (a document without helm.sh/hook is a release
 * resource, so it carries meta.helm.sh/release-name when the policy looks).
 * Exit codes: 0 done, 1 denied / invalid input / lint failed, 2 could not
 * run (unreadable file, bad policy, output error). It neither parses YAML
 * nor decides anything itself, and it never touches the network.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hookwarden/patch.h"
#include "hookwarden/policy.h"
#include "hookwarden/render.h"
#include "hookwarden/yaml.h"

#define OUTPUT_MAX (4u * HW_YAML_MAX_INPUT)
#define ANN_HOOK "helm.sh/hook"
#define ANN_RELEASE "meta.helm.sh/release-name"

struct run {
    const struct hw_config *cfg;
    struct hw_policy *policy;
    int lint;
    struct hw_buf out;   /* render: everything, written once at the end */
    size_t docs, selected, changed, warnings, denials, errors, invalid;
    int cannot_run;
};

/* What a message is about: "source:document:kind/name". */
struct place {
    const char *source;
    char doc[64];        /* "3", or "3.items[0]" inside a List */
    const char *kind, *name;
};

/* ---- input ---- */

static int
read_input(const char *path, const char *source, struct hw_buf *text, struct hw_error *err)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    char chunk[65536];
    size_t n;
    int rc = 0;

    if (f == NULL) {
        hw_error_set(err, HW_EINVAL, "%s: cannot open: %s", source, strerror(errno));
        return -1;
    }
    while (rc == 0 && (n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        if (hw_buf_append(text, chunk, n) != 0) {
            hw_error_set(err, HW_ETOOBIG, "%s: larger than %u MiB", source, HW_YAML_MAX_INPUT >> 20);
            rc = -1;
        }
    }
    if (rc == 0 && ferror(f)) {
        hw_error_set(err, HW_EINVAL, "%s: cannot read: %s", source, strerror(errno));
        rc = -1;
    }
    if (f != stdin)
        fclose(f);
    return rc;
}

static struct hw_policy *
load_policy(const struct hw_config *cfg, struct hw_error *err)
{
    struct hw_policy_overrides ov;

    hw_config_overrides(cfg, &ov);
    if (cfg->config_file != NULL)
        return hw_policy_load(cfg->config_file, &ov, err);
    return hw_policy_new_default(&ov, err);
}

/* ---- messages ---- */

static void
say(FILE *f, const struct place *pl, const char *rule, const char *action, const char *msg,
    int len)
{
    fprintf(f, "%s:%s:%s/%s: %s: %s%s%.*s\n", pl->source, pl->doc, pl->kind, pl->name, rule,
            action ? action : "", action ? ": " : "", len, msg);
}

static void
lint_report(const struct place *pl, const struct hw_outcome *oc)
{
    /* Values the policy replaced first, then one line per finding. */
    for (size_t i = 0; i < oc->n_replaced && i < oc->n_warnings; i++)
        say(stdout, pl, "policy", "warn", oc->warnings[i], (int)strlen(oc->warnings[i]));
    for (size_t i = 0; i < oc->n_findings; i++) {
        const char *msg = oc->findings[i].message;

        say(stdout, pl, hw_policy_rule_name(oc->findings[i].rule),
            hw_policy_action_name(oc->findings[i].action), msg, (int)strlen(msg));
    }
}

static void
render_report(const struct place *pl, const struct hw_outcome *oc)
{
    for (size_t i = 0; i < oc->n_warnings; i++)
        fprintf(stderr, "%s:%s:%s/%s: warning: %s\n", pl->source, pl->doc, pl->kind, pl->name,
                oc->warnings[i]);
    if (oc->denied)
        fprintf(stderr, "%s:%s:%s/%s: denied: %s\n", pl->source, pl->doc, pl->kind, pl->name,
                oc->deny_message);
}

/* ---- objects ---- */

/*
 * For lint: Helm stamps meta.helm.sh/release-name on every release resource
 * (a document without helm.sh/hook) when it installs it, and the policy's
 * not-a-hook rule looks for exactly that. Changes only lint's own copy.
 */
static void
as_helm_installs_it(json_t *obj)
{
    json_t *meta = json_object_get(obj, "metadata"), *ann;

    if (!json_is_object(meta))
        return;
    ann = json_object_get(meta, "annotations");
    if (ann == NULL || json_is_null(ann)) {
        ann = json_object();
        if (json_object_set_new(meta, "annotations", ann) != 0)
            return;
    }
    if (!json_is_object(ann) || json_object_get(ann, ANN_HOOK) != NULL ||
        json_object_get(ann, ANN_RELEASE) != NULL)
        return;
    json_object_set_new(ann, ANN_RELEASE, json_string("RELEASE-NAME"));
}

/*
 * A Job render turned into a hook (or that already was one) must not carry
 * meta.helm.sh/release-*: Helm writes those only on release resources, so
 * the webhook's not-a-hook rule reads them as "Helm installed this as a
 * release resource". In a rendered stream they can only come from the
 * chart's own templates (PostHog writes them). Returns 1 when it removed any.
 */
static int
unstamp_hook(json_t *obj)
{
    static const char *const keys[] = {ANN_RELEASE, "meta.helm.sh/release-namespace"};
    json_t *ann = json_object_get(json_object_get(obj, "metadata"), "annotations");
    int removed = 0;

    if (!json_is_object(ann) || !json_is_string(json_object_get(ann, ANN_HOOK)))
        return 0;
    for (size_t i = 0; i < 2; i++)
        removed |= json_object_del(ann, keys[i]) == 0;
    return removed;
}

static void
name_of(const json_t *obj, struct place *pl)
{
    const json_t *meta = json_object_get(obj, "metadata");
    const char *name = json_string_value(json_object_get(meta, "name"));

    if (name == NULL || name[0] == '\0')
        name = json_string_value(json_object_get(meta, "generateName"));
    pl->name = name != NULL && name[0] != '\0' ? name : "(unnamed)";
}

/* hw_policy_apply() with a patch of its own; *changed when it recorded any op. */
static int
decide(const struct hw_policy *p, const struct hw_target *t, json_t *obj, struct hw_outcome *oc,
       int *changed, struct hw_error *err)
{
    struct hw_patch *patch = hw_patch_new();
    int rc;

    if (patch == NULL) {
        hw_error_set(err, HW_EINTERNAL, "out of memory");
        return -1;
    }
    rc = hw_policy_apply(p, t, obj, patch, oc, err);
    *changed = rc == 0 && hw_patch_count(patch) > 0;
    hw_patch_free(patch);
    return rc;
}

/* Applies the policy to one object, as a CREATE of it; *changed says whether it changed. */
static int
apply_object(struct run *r, struct place *pl, json_t *obj, int *changed)
{
    const char *api = json_string_value(json_object_get(obj, "apiVersion")), *slash;
    char group[256];
    struct hw_outcome oc;
    struct hw_error err = {0};

    *changed = 0;
    pl->kind = json_string_value(json_object_get(obj, "kind"));
    if (api == NULL || pl->kind == NULL)
        return 0;  /* not a Kubernetes object: left alone */
    /* "batch/v1" is group "batch", version "v1"; "v1" is the core group "". */
    slash = strchr(api, '/');
    snprintf(group, sizeof(group), "%.*s", slash ? (int)(slash - api) : 0, api);
    name_of(obj, pl);
    if (r->lint)
        as_helm_installs_it(obj);
    {
        /* A document's own namespace is where Helm installs it (and so its
         * namespace rules and overrides); one without goes where Helm would
         * put it: --namespace, else $HELM_NAMESPACE (set for plugins), else
         * none. */
        const char *ns = json_string_value(json_object_get(json_object_get(obj, "metadata"),
                                                           "namespace"));
        struct hw_target t = {HW_OP_CREATE, group, slash ? slash + 1 : api, pl->kind, "", "", NULL};

        if (ns == NULL || ns[0] == '\0')
            ns = r->cfg->namespace_ ? r->cfg->namespace_ : getenv("HELM_NAMESPACE");
        t.namespace_ = ns ? ns : "";

        if (decide(r->policy, &t, obj, &oc, changed, &err) != 0) {
            r->errors++;
            fprintf(r->lint ? stdout : stderr, "%s:%s:%s/%s: error: %s\n", pl->source, pl->doc,
                    pl->kind, pl->name, err.msg);
            return -1;
        }
    }
    if (!oc.selected)
        return 0;
    if (!r->lint && r->cfg->hook_annotations && !oc.denied && unstamp_hook(obj)) {
        *changed = 1;
        fprintf(stderr, "%s:%s:%s/%s: note: removed the chart's meta.helm.sh/release-* annotations: "
                        "Helm puts them only on release resources, not on hooks\n",
                pl->source, pl->doc, pl->kind, pl->name);
    }
    r->selected++;
    r->warnings += oc.n_warnings;
    r->denials += oc.denied != 0;
    r->changed += *changed;
    if (r->lint)
        lint_report(pl, &oc);
    else
        render_report(pl, &oc);
    return 0;
}

/* A v1 List (or any *List with items): the policy applies to each item. */
static int
is_list(const json_t *obj)
{
    const char *kind = json_string_value(json_object_get(obj, "kind"));
    size_t n = kind ? strlen(kind) : 0;

    return n >= 4 && strcmp(kind + n - 4, "List") == 0 &&
           json_is_array(json_object_get(obj, "items"));
}

static void
apply_doc(struct run *r, const char *source, size_t index, struct hw_yaml_doc *d)
{
    struct place pl = {source, "", "", "(unnamed)"};
    json_t *items, *item;
    size_t i;
    int changed = 0, one;

    if (!json_is_object(d->value))
        return;  /* empty, comment-only, or not an object: copied as it is */
    if (!is_list(d->value)) {
        snprintf(pl.doc, sizeof(pl.doc), "%zu", index);
        apply_object(r, &pl, d->value, &changed);
        d->changed = changed;
        return;
    }
    items = json_object_get(d->value, "items");
    json_array_foreach(items, i, item) {
        if (!json_is_object(item))
            continue;
        snprintf(pl.doc, sizeof(pl.doc), "%zu.items[%zu]", index, i);
        apply_object(r, &pl, item, &one);
        changed |= one;
    }
    d->changed = changed;
}

/* ---- streams ---- */

static int
append_stream(struct run *r, const char *text, size_t len, const struct hw_yaml_stream *s,
              struct hw_error *err)
{
    /* Files follow one another as documents of one stream. */
    if (r->out.len > 0 && len > 0) {
        if (r->out.data[r->out.len - 1] != '\n' && hw_buf_append(&r->out, "\n", 1) != 0)
            goto full;
        if (strncmp(text, "---", 3) != 0 && hw_buf_append(&r->out, "---\n", 4) != 0)
            goto full;
    }
    return hw_yaml_write(text, len, s, &r->out, err);
full:
    hw_error_set(err, HW_ETOOBIG, "output is larger than %u MiB", OUTPUT_MAX >> 20);
    return -1;
}

static void
run_file(struct run *r, const char *path)
{
    const char *source = strcmp(path, "-") == 0 ? "<stdin>" : path;
    struct hw_buf text;
    struct hw_yaml_stream *s = NULL;
    struct hw_error err = {0};

    hw_buf_init(&text, HW_YAML_MAX_INPUT);
    if (read_input(path, source, &text, &err) != 0) {
        fprintf(stderr, "hookwarden: %s\n", err.msg);
        r->cannot_run = err.code != HW_ETOOBIG;
        r->invalid += err.code == HW_ETOOBIG;
        goto out;
    }
    if ((s = hw_yaml_parse(text.data ? text.data : "", text.len, source, &err)) == NULL) {
        fprintf(stderr, "%s\n", err.msg);
        r->cannot_run = err.code == HW_EINTERNAL;
        r->invalid++;
        goto out;
    }
    for (size_t i = 0; i < s->n_docs; i++)
        apply_doc(r, source, i + 1, &s->docs[i]);
    r->docs += s->n_docs;
    if (!r->lint && append_stream(r, text.data ? text.data : "", text.len, s, &err) != 0) {
        fprintf(stderr, "hookwarden render: %s\n", err.msg);
        r->cannot_run = 1;
    }
out:
    hw_yaml_free(s);
    hw_buf_free(&text);
}

static int
finish_render(struct run *r)
{
    if (r->denials > 0 || r->errors > 0 || r->invalid > 0) {
        fprintf(stderr, "hookwarden render: %zu denied, %zu invalid; nothing written\n",
                r->denials, r->errors + r->invalid);
        return 1;
    }
    if ((r->out.len > 0 && fwrite(r->out.data, 1, r->out.len, stdout) != r->out.len) ||
        fflush(stdout) != 0) {
        fprintf(stderr, "hookwarden render: cannot write the output: %s\n", strerror(errno));
        return 2;
    }
    return 0;
}

static int
finish_lint(struct run *r)
{
    int failed = r->denials > 0 || r->errors > 0 || r->invalid > 0 ||
                 (r->cfg->strict && r->warnings > 0);

    fflush(stdout);
    fprintf(stderr, "hookwarden lint: %zu document%s, %zu selected, %zu warning%s, %zu denied, "
                    "%zu invalid%s\n",
            r->docs, r->docs == 1 ? "" : "s", r->selected, r->warnings, r->warnings == 1 ? "" : "s",
            r->denials, r->errors + r->invalid, failed ? ": failed" : "");
    return failed ? 1 : 0;
}

/* ---- policy show ---- */

/* doc with a "//" comment key first (doc is taken; a new reference back). */
static json_t *
commented(json_t *doc, const char *comment)
{
    json_t *c = json_object();

    if (c == NULL || json_object_set_new(c, "//", json_string(comment)) != 0 ||
        json_object_update(c, doc) != 0) {
        json_decref(c);
        c = NULL;
    }
    json_decref(doc);
    return c;
}

/* "0 (FILE:3:5), 2 (FILE:9:5)" for the overrides that apply in ns. */
static void
applied(const struct hw_policy *p, const char *ns, char *out, size_t n)
{
    size_t which[HW_POLICY_OVERRIDES_MAX], k = hw_policy_overrides_for(p, ns, which), used = 0;

    out[0] = '\0';
    for (size_t i = 0; i < k && used < n; i++)
        used += (size_t)snprintf(out + used, n - used, "%s%zu (%s)", i ? ", " : "", which[i],
                                 hw_policy_override_where(p, which[i]));
}

/* The effective policy for cfg->namespace_, with a comment saying how. */
static json_t *
show_namespace(const struct hw_config *cfg, const struct hw_policy *p, struct hw_error *err)
{
    struct hw_policy *eff = hw_policy_for_namespace(p, cfg->namespace_, err);
    json_t *doc = eff ? hw_policy_to_json(eff, err) : NULL;
    char list[2048], note[2400];

    applied(p, cfg->namespace_, list, sizeof(list));
    if (!hw_policy_has_namespace(p, cfg->namespace_))
        snprintf(note, sizeof(note), "namespace %s is excluded by namespaces.include/exclude: "
                 "the policy leaves its Jobs alone", cfg->namespace_);
    else
        snprintf(note, sizeof(note), "the policy for Jobs in namespace %s: %s%s%s", cfg->namespace_,
                 hw_policy_source(p), list[0] ? ", then overrides " : ", no override applies",
                 list);
    hw_policy_unref(eff);
    return doc ? commented(doc, note) : NULL;
}

/* The base layer and every override as compiled, each override named. */
static json_t *
show_file(const struct hw_policy *p, struct hw_error *err)
{
    json_t *doc = hw_policy_to_json(p, err), *list = json_object_get(doc, "overrides");
    char note[400];

    for (size_t i = 0; i < json_array_size(list); i++) {
        snprintf(note, sizeof(note), "override %zu, %s", i, hw_policy_override_where(p, i));
        json_array_set_new(list, i, commented(json_incref(json_array_get(list, i)), note));
    }
    snprintf(note, sizeof(note), "the policy of %s: every key with its value%s; --namespace NS "
             "shows what a Job in namespace NS gets", hw_policy_source(p),
             hw_policy_override_count(p) ? ", and each override with the keys it sets" : "");
    return doc ? commented(doc, note) : NULL;
}

static int
policy_show(const struct hw_config *cfg)
{
    struct hw_error err = {0};
    struct hw_policy *p = load_policy(cfg, &err);
    json_t *doc = NULL;
    char *text = NULL;
    int rc = 2;

    if (p == NULL)
        goto out;
    doc = cfg->namespace_ ? show_namespace(cfg, p, &err) : show_file(p, &err);
    if (doc == NULL || (text = json_dumps(doc, JSON_INDENT(2))) == NULL) {
        hw_error_set(&err, HW_EINTERNAL, "out of memory");
        goto out;
    }
    if (printf("%s\n", text) < 0 || fflush(stdout) != 0) {
        hw_error_set(&err, HW_EINTERNAL, "cannot write the output: %s", strerror(errno));
        goto out;
    }
    rc = 0;
out:
    if (rc != 0)
        fprintf(stderr, "hookwarden policy show: %s\n", err.msg);
    free(text);
    json_decref(doc);
    hw_policy_unref(p);
    return rc;
}

int
hw_render_main(const struct hw_config *cfg)
{
    struct run r;
    struct hw_error err = {0};
    size_t n = cfg->n_files > 0 ? cfg->n_files : 1;
    int rc;

    if (cfg->command == HW_CMD_POLICY_SHOW)
        return policy_show(cfg);
    memset(&r, 0, sizeof(r));
    r.cfg = cfg;
    r.lint = cfg->command == HW_CMD_LINT;
    if ((r.policy = load_policy(cfg, &err)) == NULL) {
        fprintf(stderr, "hookwarden %s: %s\n", r.lint ? "lint" : "render", err.msg);
        return 2;
    }
    hw_buf_init(&r.out, OUTPUT_MAX);
    for (size_t i = 0; i < n && !r.cannot_run; i++)
        run_file(&r, cfg->n_files > 0 ? cfg->files[i] : "-");
    if (r.cannot_run)
        rc = 2;
    else
        rc = r.lint ? finish_lint(&r) : finish_render(&r);
    hw_buf_free(&r.out);
    hw_policy_unref(r.policy);
    return rc;
}

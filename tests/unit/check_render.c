/* SPDX-License-Identifier: Apache-2.0 */
/*
 * render and lint, driven through hw_render_main() exactly as main() calls
 * it, with stdout and stderr captured. The central check: for every chart
 * stream in tests/data/render/charts (each fixture Job among a ConfigMap, a
 * Service and a Deployment), render's output for the Job equals what the
 * webhook's answer makes of the same Job (the handler's patch applied by
 * the independent applier in testutil), and every other document comes out
 * byte for byte as it went in.
 */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hookwarden/config.h"
#include "hookwarden/handler.h"
#include "hookwarden/render.h"
#include "hookwarden/yaml.h"
#include "testutil.h"

#define PULL_SECRET "registry-credentials"

static const char *const charts[] = {
    "airflow", "gitlab", "harbor", "hydra", "kong", "mastodon",
    "posthog", "redash", "sentry", "temporal", "zitadel",
};

struct cli {
    int rc;
    char *out, *err;
    size_t out_len;
};

static char *
slurp_fd(int fd, size_t *len)
{
    struct hw_buf b;
    char chunk[4096];
    ssize_t n;

    hw_buf_init(&b, 0);
    hw_buf_append(&b, "", 0);  /* NUL-terminated even when empty */
    lseek(fd, 0, SEEK_SET);
    while ((n = read(fd, chunk, sizeof(chunk))) > 0)
        hw_buf_append(&b, chunk, (size_t)n);
    close(fd);
    return hw_buf_steal(&b, len);
}

/* Runs "hookwarden ARGS..." in-process; stdin_path (or NULL) feeds "-". */
static void
run(struct cli *c, const char *stdin_path, const char *const *args)
{
    char *argv[32] = {"hookwarden"};
    int argc = 1, fds[3], saved[3];
    char tmpl[2][32] = {"/tmp/hw-render-o.XXXXXX", "/tmp/hw-render-e.XXXXXX"};
    struct hw_config cfg;
    struct hw_error err = {0};

    for (; args[argc - 1] != NULL; argc++)
        argv[argc] = (char *)args[argc - 1];
    ck_assert_int_eq(hw_config_parse(argc, argv, &cfg, &err), 0);
    fds[1] = mkstemp(tmpl[0]);
    fds[2] = mkstemp(tmpl[1]);
    fds[0] = stdin_path ? open(stdin_path, O_RDONLY) : open("/dev/null", O_RDONLY);
    ck_assert(fds[0] >= 0 && fds[1] >= 0 && fds[2] >= 0);
    unlink(tmpl[0]);
    unlink(tmpl[1]);
    fflush(stdout);
    fflush(stderr);
    for (int i = 0; i < 3; i++) {
        saved[i] = dup(i);
        dup2(fds[i], i);
    }
    c->rc = hw_render_main(&cfg);
    fflush(stdout);
    fflush(stderr);
    for (int i = 0; i < 3; i++) {
        dup2(saved[i], i);
        close(saved[i]);
    }
    clearerr(stdin);
    close(fds[0]);
    c->out = slurp_fd(fds[1], &c->out_len);
    c->err = slurp_fd(fds[2], NULL);
}

static void
cli_clear(struct cli *c)
{
    free(c->out);
    free(c->err);
    memset(c, 0, sizeof(*c));
}

/* A path under tests/data/render; valid for the next seven calls. */
static char *
data_path(const char *rel)
{
    static char paths[8][4096];
    static unsigned next;
    char *path = paths[next++ % 8];

    snprintf(path, sizeof(paths[0]), "%s/render/%s", HW_TEST_DATA, rel);
    return path;
}

static struct hw_yaml_stream *
parse(const char *text, size_t len)
{
    struct hw_error err = {0};
    struct hw_yaml_stream *s = hw_yaml_parse(text, len, "test", &err);

    ck_assert_msg(s != NULL, "cannot parse: %s", err.msg);
    return s;
}

/* ---- what the webhook makes of a Job ---- */

static size_t
b64decode(const char *in, char *out)
{
    static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    unsigned long acc = 0;
    size_t n = 0, bits = 0;

    for (; *in && *in != '='; in++) {
        acc = acc << 6 | (unsigned long)(strchr(a, *in) - a);
        if ((bits += 6) >= 8)
            out[n++] = (char)(acc >> (bits -= 8) & 0xff);
    }
    out[n] = '\0';
    return n;
}

/* The Job after the webhook's answer to a CREATE of it is applied. */
static json_t *
webhook_result(const json_t *job)
{
    const char *secrets[] = {PULL_SECRET};
    struct hw_policy_overrides ov = {.pull_secrets = secrets, .n_pull_secrets = 1};
    struct hw_policy *p = hw_policy_new_default(&ov, NULL);
    struct hw_response res = {0};
    char *body = tu_review(job, "CREATE", "admission.k8s.io/v1", NULL), *ptext;
    json_t *answer, *patch, *result;
    const char *b64, *why = NULL;

    hw_handler_mutate(p, body, strlen(body), &res);
    ck_assert_int_eq(res.status, 200);
    answer = json_loads(res.body, 0, NULL);
    b64 = json_string_value(json_object_get(json_object_get(answer, "response"), "patch"));
    if (b64 == NULL) {
        result = json_deep_copy(job);
    } else {
        ptext = malloc(strlen(b64) + 1);
        b64decode(b64, ptext);
        patch = json_loads(ptext, 0, NULL);
        result = tu_apply_patch(job, patch, &why);
        ck_assert_msg(result != NULL, "patch does not apply: %s", why);
        json_decref(patch);
        free(ptext);
    }
    json_decref(answer);
    hw_response_clear(&res);
    free(body);
    hw_policy_unref(p);
    return result;
}

static int
is_job(const json_t *v)
{
    const char *kind = json_string_value(json_object_get(v, "kind"));

    return kind != NULL && strcmp(kind, "Job") == 0;
}

/* ---- render ---- */

START_TEST(test_render_agrees_with_the_webhook_and_changes_nothing_else)
{
    char rel[128];
    const char *path;
    struct cli c = {0};
    size_t len, jobs = 0;
    char *in;
    struct hw_yaml_stream *si, *so;

    snprintf(rel, sizeof(rel), "charts/%s.yaml", charts[_i]);
    path = data_path(rel);
    in = tu_read(path, &len);
    run(&c, NULL, (const char *[]){"render", "-f", path, "--image-pull-secret", PULL_SECRET, NULL});
    ck_assert_msg(c.rc == 0, "render failed: %s", c.err);
    si = parse(in, len);
    so = parse(c.out, c.out_len);
    ck_assert_uint_eq(si->n_docs, so->n_docs);
    for (size_t i = 0; i < si->n_docs; i++) {
        const struct hw_yaml_doc *a = &si->docs[i], *b = &so->docs[i];

        if (is_job(a->value)) {
            json_t *want = webhook_result(a->value);
            char *got = json_dumps(b->value, JSON_SORT_KEYS | JSON_INDENT(1));
            json_t *ann = json_object_get(json_object_get(want, "metadata"), "annotations");

            /* The one difference: a hook leaves render without the chart's
             * own meta.helm.sh/release-* (Helm never stamps hooks). */
            if (json_object_get(ann, "helm.sh/hook") != NULL) {
                json_object_del(ann, "meta.helm.sh/release-name");
                json_object_del(ann, "meta.helm.sh/release-namespace");
            }

            ck_assert_msg(json_equal(want, b->value), "%s: render differs from the webhook:\n%.1500s",
                          charts[_i], got);
            jobs++;
            free(got);
            json_decref(want);
        } else {
            ck_assert_uint_eq(a->end - a->start, b->end - b->start);
            ck_assert_int_eq(memcmp(in + a->start, c.out + b->start, a->end - a->start), 0);
        }
    }
    ck_assert_uint_eq(jobs, 1);
    hw_yaml_free(si);
    hw_yaml_free(so);
    free(in);
    cli_clear(&c);
}
END_TEST

START_TEST(test_render_leaves_its_own_output_unchanged)
{
    char rel[128], tmp[] = "/tmp/hw-render-again.XXXXXX";
    struct cli first = {0}, second = {0};
    int fd = mkstemp(tmp);

    snprintf(rel, sizeof(rel), "charts/%s.yaml", charts[_i]);
    run(&first, NULL,
        (const char *[]){"render", "-f", data_path(rel), "--image-pull-secret", PULL_SECRET, NULL});
    ck_assert_int_eq(first.rc, 0);
    ck_assert_int_eq(write(fd, first.out, first.out_len), (ssize_t)first.out_len);
    close(fd);
    run(&second, NULL, (const char *[]){"render", "-f", tmp, "--image-pull-secret", PULL_SECRET, NULL});
    ck_assert_int_eq(second.rc, 0);
    ck_assert_str_eq(second.err, "");
    ck_assert_uint_eq(second.out_len, first.out_len);
    ck_assert_int_eq(memcmp(second.out, first.out, first.out_len), 0);
    unlink(tmp);
    cli_clear(&first);
    cli_clear(&second);
}
END_TEST

START_TEST(test_render_makes_the_atlas_job_a_hook_as_the_golden_file_shows)
{
    struct cli c = {0};
    size_t len;
    char *want = tu_read(data_path("atlas/expected.yaml"), &len);

    run(&c, NULL, (const char *[]){"render", "-f", data_path("atlas/input.yaml"),
                                   "--image-pull-secret", PULL_SECRET, NULL});
    ck_assert_int_eq(c.rc, 0);
    ck_assert_str_eq(c.out, want);
    ck_assert_ptr_nonnull(strstr(c.err, ":2:Job/shop-migrate: warning: restartPolicy OnFailure "
                                        "replaced by Never"));
    free(want);
    cli_clear(&c);
}
END_TEST

/* Helm 4's combined post-render input: kyaml's re-serialization, each
 * document carrying postrenderer.helm.sh/postrender-filename. */
START_TEST(test_render_keeps_helm4_postrender_annotations)
{
    struct cli c = {0};
    size_t len;
    char *in = tu_read(data_path("helm4/postrender-input.yaml"), &len);
    struct hw_yaml_stream *si, *so;
    const json_t *ann;

    run(&c, NULL, (const char *[]){"render", "-f", data_path("helm4/postrender-input.yaml"), NULL});
    ck_assert_int_eq(c.rc, 0);
    si = parse(in, len);
    so = parse(c.out, c.out_len);
    ck_assert_uint_eq(so->n_docs, 2);
    ck_assert_int_eq(memcmp(c.out, in, si->docs[0].end), 0);
    ann = json_object_get(json_object_get(so->docs[1].value, "metadata"), "annotations");
    ck_assert_str_eq(json_string_value(json_object_get(ann, "postrenderer.helm.sh/postrender-filename")),
                     "shop/templates/migrate-job.yaml");
    ck_assert_str_eq(json_string_value(json_object_get(ann, "helm.sh/hook")), "pre-install,pre-upgrade");
    hw_yaml_free(si);
    hw_yaml_free(so);
    free(in);
    cli_clear(&c);
}
END_TEST

static const json_t *
job_annotations(const struct hw_yaml_stream *st, size_t doc)
{
    return json_object_get(json_object_get(st->docs[doc].value, "metadata"), "annotations");
}

static const char *
job_restart_policy(const struct hw_yaml_stream *st, size_t doc)
{
    return json_string_value(json_object_get(json_object_get(json_object_get(json_object_get(
        st->docs[doc].value, "spec"), "template"), "spec"), "restartPolicy"));
}

/* Helm 3 runs a post-renderer after it sorted hooks, on release resources
 * only: its wrapper passes --hook-annotations=false, so the output changes
 * only what takes effect there. Helm 4's plugin keeps the annotations. */
START_TEST(test_render_for_helm3_adds_no_hook_annotations)
{
    struct cli h3 = {0}, h4 = {0};
    struct hw_yaml_stream *s3, *s4;

    run(&h3, NULL, (const char *[]){"render", "-f", data_path("atlas/input.yaml"), "--hook-annotations=false",
                                    "--image-pull-secret", PULL_SECRET, NULL});
    run(&h4, NULL, (const char *[]){"render", "-f", data_path("atlas/input.yaml"), "--hook-annotations", "true",
                                    "--image-pull-secret", PULL_SECRET, NULL});
    ck_assert_int_eq(h3.rc, 0);
    ck_assert_int_eq(h4.rc, 0);
    s3 = parse(h3.out, h3.out_len);
    s4 = parse(h4.out, h4.out_len);
    for (size_t i = 0; i < s3->n_docs; i++) {
        if (!is_job(s3->docs[i].value))
            continue;
        ck_assert_ptr_null(json_object_get(job_annotations(s3, i), "helm.sh/hook"));
        ck_assert_ptr_null(json_object_get(job_annotations(s3, i), "helm.sh/hook-delete-policy"));
        ck_assert_str_eq(job_restart_policy(s3, i), "Never");
        ck_assert_ptr_nonnull(strstr(h3.out, PULL_SECRET));
        ck_assert_str_eq(json_string_value(json_object_get(job_annotations(s4, i), "helm.sh/hook")),
                         "pre-install,pre-upgrade");
        ck_assert_str_eq(job_restart_policy(s4, i), "Never");
    }
    hw_yaml_free(s3);
    hw_yaml_free(s4);
    cli_clear(&h3);
    cli_clear(&h4);
}
END_TEST

/* A chart that writes meta.helm.sh/release-* on its own Job (PostHog):
 * render makes it a hook and drops them, so the webhook does not take the
 * hook for a release resource; for Helm 3 (no hook) they stay. */
START_TEST(test_render_drops_the_charts_release_stamp_from_a_job_it_makes_a_hook)
{
    struct cli h3 = {0}, h4 = {0};
    struct hw_yaml_stream *s3, *s4;
    const char *path = data_path("charts/posthog.yaml");
    size_t jobs = 0;

    run(&h4, NULL, (const char *[]){"render", "-f", path, NULL});
    run(&h3, NULL, (const char *[]){"render", "-f", path, "--hook-annotations=false", NULL});
    ck_assert_int_eq(h4.rc, 0);
    ck_assert_int_eq(h3.rc, 0);
    ck_assert_ptr_nonnull(strstr(h4.err, "note: removed the chart's meta.helm.sh/release-* annotations"));
    s3 = parse(h3.out, h3.out_len);
    s4 = parse(h4.out, h4.out_len);
    for (size_t i = 0; i < s4->n_docs; i++) {
        if (!is_job(s4->docs[i].value))
            continue;
        ck_assert_ptr_nonnull(json_object_get(job_annotations(s4, i), "helm.sh/hook"));
        ck_assert_ptr_null(json_object_get(job_annotations(s4, i), "meta.helm.sh/release-name"));
        ck_assert_ptr_nonnull(json_object_get(job_annotations(s3, i), "meta.helm.sh/release-name"));
        jobs++;
    }
    ck_assert_uint_gt(jobs, 0);
    hw_yaml_free(s3);
    hw_yaml_free(s4);
    cli_clear(&h3);
    cli_clear(&h4);
}
END_TEST

START_TEST(test_render_reads_stdin_like_a_file)
{
    struct cli from_file = {0}, from_stdin = {0};
    const char *path = data_path("atlas/input.yaml");

    run(&from_file, NULL, (const char *[]){"render", "-f", path, NULL});
    run(&from_stdin, path, (const char *[]){"render", NULL});
    ck_assert_int_eq(from_stdin.rc, 0);
    ck_assert_str_eq(from_stdin.out, from_file.out);
    ck_assert_ptr_nonnull(strstr(from_stdin.err, "<stdin>:2:Job/shop-migrate: warning: "));
    cli_clear(&from_file);
    cli_clear(&from_stdin);
}
END_TEST

START_TEST(test_render_writes_a_changed_json_object_as_yaml)
{
    char path[4096];
    struct cli c = {0};
    json_t *job, *want;
    struct hw_yaml_stream *s;
    char tmp[] = "/tmp/hw-render-json.XXXXXX";
    int fd = mkstemp(tmp);

    snprintf(path, sizeof(path), "%s/jobs/airflow-migrate.json", HW_TEST_DATA);
    job = tu_json(path);
    json_object_set_new(json_object_get(job, "metadata"), "labels",
                        json_pack("{s:s}", "hookwarden.io/migration", "true"));
    ck_assert_int_eq(json_dumpfd(job, fd, JSON_INDENT(2)), 0);
    close(fd);
    run(&c, NULL, (const char *[]){"render", "-f", tmp, "--image-pull-secret", PULL_SECRET, NULL});
    ck_assert_int_eq(c.rc, 0);
    ck_assert_int_eq(strncmp(c.out, "apiVersion: batch/v1\nkind: Job\n", 31), 0);
    s = parse(c.out, c.out_len);
    want = webhook_result(job);
    ck_assert(json_equal(want, s->docs[0].value));
    json_decref(want);
    json_decref(job);
    hw_yaml_free(s);
    unlink(tmp);
    cli_clear(&c);
}
END_TEST

START_TEST(test_render_applies_the_policy_to_list_items)
{
    struct cli c = {0};
    struct hw_yaml_stream *s;
    json_t *items;

    run(&c, NULL, (const char *[]){"render", "-f", data_path("list.json"), NULL});
    ck_assert_int_eq(c.rc, 0);
    s = parse(c.out, c.out_len);
    items = json_object_get(s->docs[0].value, "items");
    ck_assert_uint_eq(json_array_size(items), 2);
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(json_array_get(items, 0),
                                                                       "data"), "a")), "1");
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(json_object_get(
                         json_array_get(items, 1), "metadata"), "annotations"), "helm.sh/hook")),
                     "pre-install,pre-upgrade");
    ck_assert_ptr_nonnull(strstr(c.err, "list.json:1.items[1]:Job/migrate: warning: "));
    hw_yaml_free(s);
    cli_clear(&c);
}
END_TEST

START_TEST(test_render_copies_streams_without_selected_jobs_byte_for_byte)
{
    static const char *const inputs[] = {"", "# only a comment\n", "---\n---\n",
                                         "lint/clean.yaml"};
    const char *text = inputs[_i];
    char tmp[] = "/tmp/hw-render-same.XXXXXX";
    struct cli c = {0};
    size_t len = 0;
    char *owned = NULL;
    int fd = mkstemp(tmp);

    if (strstr(text, ".yaml") != NULL)
        text = owned = tu_read(data_path(text), &len);
    len = strlen(text);
    ck_assert_int_eq(write(fd, text, len), (ssize_t)len);
    close(fd);
    /* clean.yaml's Job is labelled but already what the default policy wants. */
    run(&c, NULL, (const char *[]){"render", "-f", tmp, NULL});
    ck_assert_int_eq(c.rc, 0);
    ck_assert_uint_eq(c.out_len, len);
    ck_assert_int_eq(memcmp(c.out, text, len), 0);
    unlink(tmp);
    free(owned);
    cli_clear(&c);
}
END_TEST

START_TEST(test_render_joins_several_files_into_one_stream)
{
    struct cli c = {0};
    size_t la, lb;
    char *a = tu_read(data_path("lint/clean.yaml"), &la), *b = tu_read(data_path("charts/kong.yaml"), &lb);
    struct hw_yaml_stream *s;

    /* The second file starts with "---"; the third does not and gets one. */
    run(&c, NULL, (const char *[]){"render", "-f", data_path("lint/clean.yaml"), "-f",
                                   data_path("charts/kong.yaml"), "-f",
                                   data_path("lint/clean.yaml"), NULL});
    ck_assert_int_eq(c.rc, 0);
    ck_assert_int_eq(memcmp(c.out, a, la), 0);
    ck_assert_int_eq(memcmp(c.out + la, "---\n# Source: kong/templates/configmap.yaml\n", 44), 0);
    ck_assert_int_eq(memcmp(c.out + c.out_len - la - 4, "---\n", 4), 0);
    ck_assert_int_eq(memcmp(c.out + c.out_len - la, a, la), 0);
    s = parse(c.out, c.out_len);
    ck_assert_uint_eq(s->n_docs, 1 + 4 + 1);
    ck_assert_int_ne(memcmp(c.out + la, b, lb), 0);  /* kong's Job changed */
    hw_yaml_free(s);
    free(a);
    free(b);
    cli_clear(&c);
}
END_TEST

START_TEST(test_render_fails_on_a_denial_and_writes_nothing)
{
    struct cli c = {0};

    run(&c, NULL, (const char *[]){"render", "--config", data_path("policy-deny.json"), "-f",
                                   data_path("lint/bad-hook.yaml"), NULL});
    ck_assert_int_eq(c.rc, 1);
    ck_assert_uint_eq(c.out_len, 0);
    ck_assert_ptr_nonnull(strstr(c.err, "bad-hook.yaml:2:Job/shop-migrate: denied: Job "
                                        "\"shop/shop-migrate\" violates rule unknown-hook-value: "
                                        "helm.sh/hook has unknown event \"before-install\""));
    ck_assert_ptr_nonnull(strstr(c.err, "hookwarden render: 1 denied, 0 invalid; nothing written\n"));
    cli_clear(&c);
}
END_TEST

START_TEST(test_render_reports_malformed_yaml_with_line_and_column)
{
    struct cli c = {0};
    char want[4200];

    snprintf(want, sizeof(want), "%s:5:2: did not find expected key (while parsing a block "
             "mapping at line 1, column 1)\n", data_path("malformed.yaml"));
    run(&c, NULL, (const char *[]){"render", "-f", data_path("malformed.yaml"), NULL});
    ck_assert_int_eq(c.rc, 1);
    ck_assert_uint_eq(c.out_len, 0);
    ck_assert_int_eq(strncmp(c.err, want, strlen(want)), 0);
    cli_clear(&c);
}
END_TEST

START_TEST(test_render_and_lint_refuse_an_object_the_policy_cannot_patch)
{
    static const char text[] = "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: x\n"
                               "  labels: {hookwarden.io/migration: \"true\"}\n  annotations: oops\n";
    static const char want[] = ":1:Job/x: error: object field /metadata/annotations is a string, "
                               "expected an object\n";
    char tmp[] = "/tmp/hw-render-bad.XXXXXX";
    struct cli c = {0};
    int fd = mkstemp(tmp);

    ck_assert_int_eq(write(fd, text, sizeof(text) - 1), (ssize_t)sizeof(text) - 1);
    close(fd);
    run(&c, NULL, (const char *[]){"render", "-f", tmp, NULL});
    ck_assert_int_eq(c.rc, 1);
    ck_assert_uint_eq(c.out_len, 0);
    ck_assert_ptr_nonnull(strstr(c.err, want));
    cli_clear(&c);
    run(&c, NULL, (const char *[]){"lint", "-f", tmp, NULL});
    ck_assert_int_eq(c.rc, 1);
    ck_assert_ptr_nonnull(strstr(c.out, want));
    cli_clear(&c);
    unlink(tmp);
}
END_TEST

START_TEST(test_render_exits_2_when_it_cannot_run)
{
    struct cli c = {0};

    run(&c, NULL, (const char *[]){"render", "-f", "/nonexistent/chart.yaml", NULL});
    ck_assert_int_eq(c.rc, 2);
    ck_assert_str_eq(c.err, "hookwarden: /nonexistent/chart.yaml: cannot open: No such file or "
                            "directory\n");
    cli_clear(&c);
    run(&c, NULL, (const char *[]){"render", "--config", "/nonexistent/policy.json", NULL});
    ck_assert_int_eq(c.rc, 2);
    ck_assert_uint_eq(c.out_len, 0);
    cli_clear(&c);
}
END_TEST

/* ---- lint ---- */

static const struct {
    const char *file, *config;
    int strict, rc;
    const char *out;
} lint_cases[] = {
    {"lint/clean.yaml", NULL, 1, 0, ""},
    {"atlas/input.yaml", NULL, 0, 0,
     "F:2:Job/shop-migrate: policy: warn: restartPolicy OnFailure replaced by Never: a failed "
     "migration must not restart in place\n"
     "F:2:Job/shop-migrate: not-a-hook: warn: not a Helm hook: Helm installed it as a release "
     "resource, and any helm.sh/hook on it is inert; set the hook in the chart\n"},
    {"atlas/input.yaml", NULL, 1, 1, NULL},
    {"atlas/expected.yaml", NULL, 1, 0, ""},
    {"lint/bad-hook.yaml", "policy-deny.json", 0, 1,
     "F:2:Job/shop-migrate: unknown-hook-value: deny: helm.sh/hook has unknown event "
     "\"before-install\": Helm skips this Job entirely. Fix: use only pre-install, post-install, "
     "pre-upgrade, post-upgrade, pre-delete, post-delete, pre-rollback, post-rollback or test in "
     "helm.sh/hook\n"
     "F:2:Job/shop-migrate: active-deadline: warn: activeDeadlineSeconds is not set: a hung "
     "migration runs into Helm's 300s timeout\n"},
    {"list.json", "policy-deny.json", 0, 1,
     "F:1.items[1]:Job/migrate: policy: warn: restartPolicy OnFailure replaced by Never: a failed "
     "migration must not restart in place\n"
     "F:1.items[1]:Job/migrate: not-a-hook: deny: not a Helm hook: Helm installed it as a "
     "release resource, and any helm.sh/hook on it is inert; set the hook in the chart. Fix: "
     "make it a hook in the chart: annotate the Job helm.sh/hook: pre-install,pre-upgrade (many "
     "charts have a value such as useHelmHooks), or render the chart through \"hookwarden "
     "render\" as a Helm 4 post-renderer; Helm sorts hooks before a Helm 3 post-renderer, a "
     "webhook or an edit can add helm.sh/hook\n"
     "F:1.items[1]:Job/migrate: active-deadline: warn: activeDeadlineSeconds is not set: a hung "
     "migration runs into Helm's 300s timeout\n"},
    {"malformed.yaml", NULL, 0, 1, ""},
};

/* Replaces each "F:" at a line start of tmpl with the file's path. */
static char *
expand(const char *tmpl, const char *file)
{
    struct hw_buf b;

    hw_buf_init(&b, 0);
    hw_buf_append(&b, "", 0);
    for (const char *p = tmpl; *p; p++) {
        if (p[0] == 'F' && p[1] == ':' && (p == tmpl || p[-1] == '\n'))
            hw_buf_append_str(&b, file);
        else
            hw_buf_append(&b, p, 1);
    }
    return hw_buf_steal(&b, NULL);
}

START_TEST(test_lint_prints_one_line_per_finding_and_exits_by_severity)
{
    const char *args[10] = {"lint", "-f", NULL};
    char path[4096], config[4096];
    size_t n = 3;
    struct cli c = {0};

    snprintf(path, sizeof(path), "%s", data_path(lint_cases[_i].file));
    args[2] = path;
    if (lint_cases[_i].config != NULL) {
        snprintf(config, sizeof(config), "%s", data_path(lint_cases[_i].config));
        args[n++] = "--config";
        args[n++] = config;
    }
    if (lint_cases[_i].strict)
        args[n++] = "--strict";
    args[n] = NULL;
    run(&c, NULL, args);
    ck_assert_int_eq(c.rc, lint_cases[_i].rc);
    if (lint_cases[_i].out != NULL) {
        char *want = expand(lint_cases[_i].out, path);

        ck_assert_str_eq(c.out, want);
        free(want);
    }
    ck_assert_ptr_nonnull(strstr(c.err, "hookwarden lint: "));
    cli_clear(&c);
}
END_TEST

START_TEST(test_lint_never_writes_manifests)
{
    struct cli c = {0};

    run(&c, NULL, (const char *[]){"lint", "-f", data_path("charts/kong.yaml"), NULL});
    ck_assert_int_eq(c.rc, 0);
    ck_assert_ptr_null(strstr(c.out, "apiVersion"));
    ck_assert_ptr_nonnull(strstr(c.err, "hookwarden lint: 4 documents, 1 selected, 2 warnings, "
                                        "0 denied, 0 invalid\n"));
    cli_clear(&c);
}
END_TEST

/* ---- per-namespace overrides ---- */

#define TEAMS HW_TEST_DATA "/../../docs/policy-teams.yaml"

/* A stream of two labelled hook Jobs: "a" without a namespace, "b" in
 * team-b-x; hook says whether they carry helm.sh/hook. Returns the path. */
static char *
two_jobs(char *tmpl, int hook)
{
    static const char job[] =
        "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: %s\n%s"
        "  labels: {hookwarden.io/migration: \"true\"}\n%s"
        "spec:\n  template:\n    spec:\n      restartPolicy: Never\n"
        "      containers: [{name: m, image: atlas}]\n";
    const char *ann = hook ? "  annotations: {helm.sh/hook: pre-install}\n" : "";
    FILE *f = fdopen(mkstemp(tmpl), "w");

    ck_assert_ptr_nonnull(f);
    fprintf(f, job, "a", "", ann);
    fprintf(f, "---\n");
    fprintf(f, job, "b", "  namespace: team-b-x\n", ann);
    fclose(f);
    return tmpl;
}

static void
assert_pulls(const json_t *job, const char *want)
{
    const json_t *list = json_object_get(json_object_get(json_object_get(json_object_get(job, "spec"),
                                                                         "template"), "spec"),
                                         "imagePullSecrets");
    char got[128] = "";
    const json_t *e;
    size_t i;

    json_array_foreach(list, i, e)
        snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s%s", i ? "," : "",
                 json_string_value(json_object_get(e, "name")));
    ck_assert_str_eq(got, want);
}

/* render applies the overrides of the namespace a document goes to: its
 * own, else --namespace, else $HELM_NAMESPACE. */
START_TEST(test_render_applies_the_overrides_of_each_documents_namespace)
{
    static const struct {
        const char *flag, *env, *a_pulls;
    } cases[] = {
        {"team-a-api", NULL, "team-a-pull"},
        {NULL, "team-a-api", "team-a-pull"},
        {"dev", "team-a-api", "regcred"},
        {NULL, NULL, "regcred"},
    };
    char tmpl[] = "/tmp/hw-render-ns.XXXXXX";
    char *path = two_jobs(tmpl, 1);

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct cli c = {0};
        struct hw_yaml_stream *s;

        if (cases[i].env)
            setenv("HELM_NAMESPACE", cases[i].env, 1);
        else
            unsetenv("HELM_NAMESPACE");
        if (cases[i].flag)
            run(&c, NULL, (const char *[]){"render", "--config", TEAMS, "-f", path, "--namespace",
                                           cases[i].flag, NULL});
        else
            run(&c, NULL, (const char *[]){"render", "--config", TEAMS, "-f", path, NULL});
        ck_assert_msg(c.rc == 0, "%s", c.err);
        s = parse(c.out, c.out_len);
        ck_assert_uint_eq(s->n_docs, 2);
        assert_pulls(s->docs[0].value, cases[i].a_pulls);
        assert_pulls(s->docs[1].value, "team-b-pull,regcred");
        hw_yaml_free(s);
        cli_clear(&c);
    }
    unsetenv("HELM_NAMESPACE");
    unlink(path);
}
END_TEST

/* lint judges a Job without helm.sh/hook as Helm would install it: a
 * release resource, which the production override denies. */
START_TEST(test_lint_applies_the_overrides_of_the_namespace)
{
    char tmpl[] = "/tmp/hw-lint-ns.XXXXXX";
    char *path = two_jobs(tmpl, 0);
    struct cli c = {0};

    run(&c, NULL, (const char *[]){"lint", "--config", TEAMS, "-f", path, "--namespace", "payments", NULL});
    ck_assert_int_eq(c.rc, 1);
    ck_assert_ptr_nonnull(strstr(c.out, ":1:Job/a: not-a-hook: deny: "));
    ck_assert_ptr_nonnull(strstr(c.out, ":2:Job/b: not-a-hook: warn: "));
    cli_clear(&c);
    run(&c, NULL, (const char *[]){"lint", "--config", TEAMS, "-f", path, "--namespace", "dev", NULL});
    ck_assert_int_eq(c.rc, 0);
    ck_assert_ptr_nonnull(strstr(c.out, ":1:Job/a: not-a-hook: warn: "));
    cli_clear(&c);
    unlink(path);
}
END_TEST

/* What policy show printed is a policy file that builds want exactly. */
static void
reads_back_as(const struct cli *c, const struct hw_policy *want)
{
    struct hw_policy *shown = hw_policy_parse(c->out, c->out_len, "shown.json", NULL, NULL);
    json_t *a, *b;

    ck_assert_ptr_nonnull(shown);
    a = hw_policy_to_json(shown, NULL);
    b = hw_policy_to_json(want, NULL);
    ck_assert(json_equal(a, b));
    json_decref(a);
    json_decref(b);
    hw_policy_unref(shown);
}

/* policy show prints what a namespace gets, as a policy file that reads
 * back as exactly that policy. */
START_TEST(test_policy_show_prints_the_effective_policy_of_a_namespace)
{
    struct cli c = {0};
    struct hw_policy *p, *want;
    json_t *doc;
    char note[600];

    run(&c, NULL, (const char *[]){"policy", "show", "--config", TEAMS, "--namespace", "team-a-prod", NULL});
    ck_assert_msg(c.rc == 0, "%s", c.err);
    doc = json_loads(c.out, 0, NULL);
    ck_assert_ptr_nonnull(doc);
    ck_assert_str_eq(json_string_value(json_array_get(json_object_get(json_object_get(doc, "imagePullSecrets"),
                                                                      "names"), 0)), "team-a-pull");
    ck_assert_uint_eq(json_array_size(json_object_get(json_object_get(doc, "imagePullSecrets"), "names")), 1);
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(doc, "rules"), "not-a-hook")), "deny");
    snprintf(note, sizeof(note), "the policy for Jobs in namespace team-a-prod: %s, then overrides "
             "0 (%s:16:5), 2 (%s:28:5)", TEAMS, TEAMS, TEAMS);
    ck_assert_str_eq(json_string_value(json_object_get(doc, "//")), note);
    p = hw_policy_load(TEAMS, NULL, NULL);
    want = hw_policy_for_namespace(p, "team-a-prod", NULL);
    reads_back_as(&c, want);
    json_decref(doc);
    hw_policy_unref(want);
    cli_clear(&c);

    /* Without --namespace: the base layer and each override as compiled. */
    run(&c, NULL, (const char *[]){"policy", "show", "--config", TEAMS, NULL});
    ck_assert_int_eq(c.rc, 0);
    doc = json_loads(c.out, 0, NULL);
    ck_assert_uint_eq(json_array_size(json_object_get(doc, "overrides")), 3);
    ck_assert_str_eq(json_string_value(json_array_get(json_object_get(json_object_get(doc, "imagePullSecrets"),
                                                                      "names"), 0)), "regcred");
    reads_back_as(&c, p);
    json_decref(doc);
    cli_clear(&c);

    /* The flags count, as in serve and render; a broken file is exit 2. */
    run(&c, NULL, (const char *[]){"policy", "show", "--namespace", "dev", "--image-pull-secret", "flagged", NULL});
    ck_assert_int_eq(c.rc, 0);
    ck_assert_ptr_nonnull(strstr(c.out, "\"flagged\""));
    ck_assert_ptr_nonnull(strstr(c.out, "built-in default, no override applies"));
    cli_clear(&c);
    run(&c, NULL, (const char *[]){"policy", "show", "--config", data_path("malformed.yaml"), NULL});
    ck_assert_int_eq(c.rc, 2);
    ck_assert_uint_eq(c.out_len, 0);
    ck_assert_ptr_nonnull(strstr(c.err, "hookwarden policy show: "));
    cli_clear(&c);
    hw_policy_unref(p);
}
END_TEST

Suite *hw_suite_render(void);

Suite *
hw_suite_render(void)
{
    Suite *s = suite_create("render");
    TCase *t = tcase_create("render");

    tcase_add_loop_test(t, test_render_agrees_with_the_webhook_and_changes_nothing_else, 0,
                        sizeof(charts) / sizeof(charts[0]));
    tcase_add_loop_test(t, test_render_leaves_its_own_output_unchanged, 0,
                        sizeof(charts) / sizeof(charts[0]));
    tcase_add_test(t, test_render_makes_the_atlas_job_a_hook_as_the_golden_file_shows);
    tcase_add_test(t, test_render_keeps_helm4_postrender_annotations);
    tcase_add_test(t, test_render_for_helm3_adds_no_hook_annotations);
    tcase_add_test(t, test_render_drops_the_charts_release_stamp_from_a_job_it_makes_a_hook);
    tcase_add_test(t, test_render_reads_stdin_like_a_file);
    tcase_add_test(t, test_render_writes_a_changed_json_object_as_yaml);
    tcase_add_test(t, test_render_applies_the_policy_to_list_items);
    tcase_add_loop_test(t, test_render_copies_streams_without_selected_jobs_byte_for_byte, 0, 4);
    tcase_add_test(t, test_render_joins_several_files_into_one_stream);
    tcase_add_test(t, test_render_fails_on_a_denial_and_writes_nothing);
    tcase_add_test(t, test_render_reports_malformed_yaml_with_line_and_column);
    tcase_add_test(t, test_render_and_lint_refuse_an_object_the_policy_cannot_patch);
    tcase_add_test(t, test_render_exits_2_when_it_cannot_run);
    tcase_add_test(t, test_render_applies_the_overrides_of_each_documents_namespace);
    tcase_add_test(t, test_policy_show_prints_the_effective_policy_of_a_namespace);
    suite_add_tcase(s, t);

    t = tcase_create("lint");
    tcase_add_loop_test(t, test_lint_prints_one_line_per_finding_and_exits_by_severity, 0,
                        sizeof(lint_cases) / sizeof(lint_cases[0]));
    tcase_add_test(t, test_lint_never_writes_manifests);
    tcase_add_test(t, test_lint_applies_the_overrides_of_the_namespace);
    suite_add_tcase(s, t);
    return s;
}

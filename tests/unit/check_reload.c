/* SPDX-License-Identifier: Apache-2.0 */
/*
 * reload, alone: real files and real pairs, a clock the test moves, and an
 * installer that records what it was given instead of a server. Polls run
 * in the test's thread (hw_reload_poll), except in the thread test.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hookwarden/log.h"
#include "hookwarden/metrics.h"
#include "hookwarden/reload.h"
#include "testutil.h"

static char dir[64];
static char policy_path[160], cert_path[160], key_path[160];  /* borrowed by reload: stable */
static time_t fake_now;
static int installs, refuse_install;
static char installed_sha[100];
static struct hw_policy_overrides no_ov;

static time_t
fake_clock(void)
{
    return fake_now;
}

static int
record_install(void *ctx, const struct hw_certs_pair *pair, struct hw_error *err)
{
    (void)ctx;
    if (refuse_install) {
        hw_error_set(err, HW_EINVAL, "TLS: the installer refused it");
        return -1;
    }
    installs++;
    snprintf(installed_sha, sizeof(installed_sha), "%s", pair->info.sha256);
    return 0;
}

static const char *
at(const char *f)
{
    static char buf[4][160];
    static int k;

    k = (k + 1) % 4;
    snprintf(buf[k], sizeof(buf[k]), "%s/%s", dir, f);
    return buf[k];
}

/* Runs a shell command in which every "@" stands for the test directory. */
static void
sh(const char *tmpl)
{
    char cmd[1024];
    size_t n = 0;

    for (const char *c = tmpl; *c != '\0' && n + sizeof(dir) < sizeof(cmd); c++) {
        if (*c == '@')
            n += (size_t)snprintf(cmd + n, sizeof(cmd) - n, "%s", dir);
        else
            cmd[n++] = *c;
    }
    cmd[n] = '\0';
    ck_assert_msg(system(cmd) == 0, "failed: %s", cmd);
}

static void
write_file(const char *f, const char *text)
{
    FILE *fp = fopen(at(f), "w");

    ck_assert_ptr_nonnull(fp);
    fputs(text, fp);
    fclose(fp);
}

/* Points tls.crt/tls.key at gen/ (as the kubelet swaps a Secret). */
static void
serve_from(const char *gen)
{
    char cmd[512];

    snprintf(cmd, sizeof(cmd), "cp %s/%s/tls.crt %s/tls.crt && cp %s/%s/tls.key %s/tls.key", dir,
             gen, dir, dir, gen, dir);
    ck_assert_int_eq(system(cmd), 0);
}

static void
setup(void)
{
    snprintf(dir, sizeof(dir), "/tmp/hw-reload-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    /* a: gen-certs, notBefore 5 minutes ago, 1 day. b: openssl, notBefore
     * now, 30 days. So there are times when exactly one of them is valid. */
    ck_assert_int_eq(hw_certs_generate(at("a"), "hookwarden", "hookwarden", 1, 1, NULL), 0);
    sh("mkdir -p @/b && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 "
       "-subj /CN=hookwarden.hookwarden.svc -addext subjectAltName=DNS:hookwarden.hookwarden.svc "
       "-keyout @/b/tls.key -out @/b/tls.crt 2>/dev/null");
    serve_from("a");
    write_file("policy.json", "{\"rules\":{\"ttl-after-finished\":\"deny\"}}\n");
    snprintf(policy_path, sizeof(policy_path), "%s/policy.json", dir);
    snprintf(cert_path, sizeof(cert_path), "%s/tls.crt", dir);
    snprintf(key_path, sizeof(key_path), "%s/tls.key", dir);
    hw_log_set_level(HW_LOG_OFF);
    fake_now = time(NULL);
    installs = refuse_install = 0;
    installed_sha[0] = '\0';
    memset(&no_ov, 0, sizeof(no_ov));
}

static void
teardown(void)
{
    sh("rm -rf @");
}

static struct hw_reload *
new_reload(struct hw_certs_pair *pair, struct hw_error *err)
{
    struct hw_reload_options o = {0};
    struct hw_reload *r;

    o.policy_path = policy_path;
    o.overrides = &no_ov;
    o.cert_path = cert_path;
    o.key_path = key_path;
    o.clock = fake_clock;
    r = hw_reload_new(&o, pair, err);
    if (r != NULL)
        hw_reload_set_installer(r, record_install, NULL);
    return r;
}

/* ---- log capture: stderr into a file for the duration of f ---- */

static int saved_stderr = -1;

static void
capture_begin(void)
{
    FILE *f = fopen(at("log.txt"), "w");

    ck_assert_ptr_nonnull(f);
    fflush(stderr);
    saved_stderr = dup(2);
    ck_assert_int_eq(dup2(fileno(f), 2), 2);
    fclose(f);
    hw_log_set_level(HW_LOG_INFO);
}

/* The captured log (new string); stderr is restored. */
static char *
capture_end(void)
{
    char *text;

    hw_log_set_level(HW_LOG_OFF);
    fflush(stderr);
    dup2(saved_stderr, 2);
    close(saved_stderr);
    text = tu_read(at("log.txt"), NULL);
    ck_assert_ptr_nonnull(text);
    return text;
}

static int
count(const char *text, const char *needle)
{
    int n = 0;

    for (const char *p = text; (p = strstr(p, needle)) != NULL; p += strlen(needle))
        n++;
    return n;
}

static char *
metrics_text(void)
{
    struct hw_buf b;
    size_t len;

    hw_buf_init(&b, 0);
    ck_assert_int_eq(hw_metrics_render(&b), 0);
    return hw_buf_steal(&b, &len);
}

static struct hw_certs_info
info_of(const char *gen)
{
    struct hw_certs_pair pair;
    struct hw_certs_info info;
    struct hw_error err = {0};
    char crt[200], key[200];

    snprintf(crt, sizeof(crt), "%s/%s/tls.crt", dir, gen);
    snprintf(key, sizeof(key), "%s/%s/tls.key", dir, gen);
    ck_assert_int_eq(hw_certs_load(crt, key, &pair, &err), 0);
    info = pair.info;
    hw_certs_pair_clear(&pair);
    return info;
}

static char *
read_sha(const char *gen)
{
    return strdup(info_of(gen).sha256);
}

/* ---- tests ---- */

START_TEST(test_reload_starts_with_the_policy_and_pair_and_is_ready)
{
    struct hw_certs_pair pair;
    struct hw_error err = {0};
    struct hw_reload *r = new_reload(&pair, &err);
    struct hw_policy *p;
    char why[160] = "";

    ck_assert_msg(r != NULL, "%s", err.msg);
    ck_assert_ptr_nonnull(pair.key_pem);
    hw_certs_pair_clear(&pair);
    p = hw_reload_policy(r);
    ck_assert_str_eq(hw_policy_source(p), policy_path);
    hw_policy_unref(p);
    ck_assert_int_eq(hw_reload_is_ready(r, why, sizeof(why)), 1);
    hw_reload_poll(r);
    ck_assert_int_eq(installs, 0);  /* nothing changed */
    hw_reload_free(r);
}
END_TEST

START_TEST(test_reload_refuses_to_start_on_a_broken_policy_or_pair_naming_the_file)
{
    struct hw_certs_pair pair;
    struct hw_error err = {0};

    write_file("policy.json", "{\"rules\":{\"nope\":\"deny\"}}");
    ck_assert_ptr_null(new_reload(&pair, &err));
    ck_assert_ptr_nonnull(strstr(err.msg, "policy.json:1:"));
    ck_assert_ptr_null(pair.key_pem);
    write_file("policy.json", "{}");
    hw_error_clear(&err);
    sh("cp @/b/tls.key @/tls.key");
    ck_assert_ptr_null(new_reload(&pair, &err));
    ck_assert_ptr_nonnull(strstr(err.msg, "tls.key does not match certificate"));
}
END_TEST

START_TEST(test_reload_adopts_a_changed_policy_and_keeps_the_old_one_when_broken)
{
    struct hw_certs_pair pair;
    struct hw_error err = {0};
    struct hw_reload *r = new_reload(&pair, &err);
    struct hw_policy *p0, *p1, *p2;
    unsigned long g0, g1;

    hw_certs_pair_clear(&pair);
    p0 = hw_reload_policy(r);
    g0 = hw_reload_policy_generation(r);
    write_file("policy.json", "{\"rules\":{\"ttl-after-finished\":\"warn\"}}\n");
    hw_reload_poll(r);
    p1 = hw_reload_policy(r);
    g1 = hw_reload_policy_generation(r);
    ck_assert_ptr_ne(p0, p1);
    ck_assert_uint_ne(g0, g1);  /* readers that keep a snapshot take the new one */
    write_file("policy.json", "{\"rules\":");
    capture_begin();
    hw_reload_poll(r);
    free(capture_end());
    p2 = hw_reload_policy(r);
    ck_assert_ptr_eq(p1, p2);
    ck_assert_uint_eq(hw_reload_policy_generation(r), g1);
    hw_policy_unref(p0);
    hw_policy_unref(p1);
    hw_policy_unref(p2);
    hw_reload_free(r);
}
END_TEST

/* redis's habit: an error is said when it appears and when it changes,
 * not at every retry; the gauge says when it was last seen. */
START_TEST(test_reload_logs_a_broken_policy_once_while_it_stays_broken)
{
    struct hw_certs_pair pair;
    struct hw_error err = {0};
    struct hw_reload *r = new_reload(&pair, &err);
    char *log, *m, want[120];

    hw_certs_pair_clear(&pair);
    write_file("policy.json", "{\"rules\":");
    capture_begin();
    for (int i = 0; i < 10; i++) {
        fake_now++;
        hw_reload_poll(r);
    }
    write_file("policy.json", "{\"rules\":{\"nope\":\"deny\"}}");
    for (int i = 0; i < 10; i++) {
        fake_now++;
        hw_reload_poll(r);
    }
    write_file("policy.json", "{\"rules\":{\"ttl-after-finished\":\"deny\"}}\n");
    hw_reload_poll(r);
    log = capture_end();
    ck_assert_msg(count(log, "policy reload refused") == 2, "%s", log);
    ck_assert_int_eq(count(log, "unexpected token near end of file"), 1);
    ck_assert_int_eq(count(log, "nope"), 2);  /* refused, then named as the error that ended */
    ck_assert_int_eq(count(log, "policy file is the policy in service again"), 1);
    m = metrics_text();
    snprintf(want, sizeof(want), "hookwarden_reload_last_error_timestamp_seconds{kind=\"policy\"} %lld\n",
             (long long)fake_now);
    ck_assert_msg(strstr(m, want) != NULL, "no \"%s\" in metrics", want);
    free(m);
    free(log);
    hw_reload_free(r);
}
END_TEST

START_TEST(test_reload_retries_a_refused_pair_until_it_is_replaced)
{
    struct hw_certs_pair pair;
    struct hw_error err = {0};
    struct hw_reload *r = new_reload(&pair, &err);
    char *log, *sha_b = read_sha("b");

    hw_certs_pair_clear(&pair);
    /* Half a rotation: b's certificate with a's key, for ten polls. */
    sh("cp @/b/tls.crt @/tls.crt");
    capture_begin();
    for (int i = 0; i < 10; i++)
        hw_reload_poll(r);
    ck_assert_int_eq(installs, 0);
    sh("cp @/b/tls.key @/tls.key");
    hw_reload_poll(r);
    log = capture_end();
    ck_assert_int_eq(installs, 1);
    ck_assert_str_eq(installed_sha, sha_b);
    ck_assert_int_eq(count(log, "certificate reload refused"), 1);
    ck_assert_int_eq(count(log, "does not match certificate"), 1);
    ck_assert_int_eq(count(log, "serving certificate reloaded"), 1);
    free(log);
    free(sha_b);
    hw_reload_free(r);
}
END_TEST

/* An issuer whose clock runs ahead: the new pair's notBefore is in the
 * future. It is not served until it is valid, and then at the next poll
 * without any change to the files. */
START_TEST(test_reload_adopts_a_not_yet_valid_pair_as_soon_as_it_is_valid)
{
    struct hw_certs_pair pair;
    struct hw_error err = {0};
    struct hw_reload *r;
    struct hw_certs_info b = info_of("b");
    char *log, why[160];

    fake_now = b.not_before - 120;  /* a is valid (from 300 s before b), b not yet */
    r = new_reload(&pair, &err);
    hw_certs_pair_clear(&pair);
    serve_from("b");
    capture_begin();
    for (int i = 0; i < 5; i++) {
        fake_now += 10;
        hw_reload_poll(r);
    }
    ck_assert_int_eq(installs, 0);
    ck_assert_int_eq(hw_reload_is_ready(r, why, sizeof(why)), 1);  /* a serves */
    fake_now = b.not_before;
    hw_reload_poll(r);
    log = capture_end();
    ck_assert_int_eq(installs, 1);
    ck_assert_str_eq(installed_sha, b.sha256);
    ck_assert_int_eq(count(log, "new certificate is not valid yet"), 1);
    ck_assert_int_eq(count(log, "\"wait_seconds\":110"), 1);
    ck_assert_int_eq(count(log, "certificate reload refused"), 0);
    ck_assert_int_eq(count(log, "serving certificate reloaded"), 1);
    free(log);
    hw_reload_free(r);
}
END_TEST

/* A missed rotation and a pod restart: the expired pair is loaded, the
 * process is not ready, and the renewed pair is adopted when mounted. */
START_TEST(test_reload_starts_with_an_expired_pair_and_adopts_the_renewed_one)
{
    struct hw_certs_pair pair;
    struct hw_error err = {0};
    struct hw_reload *r;
    char why[160], *sha_b = read_sha("b"), *m;

    fake_now = time(NULL) + 2 * 86400;  /* a (1 day) expired, b (30 days) valid */
    capture_begin();
    r = new_reload(&pair, &err);
    free(capture_end());
    ck_assert_msg(r != NULL, "%s", err.msg);
    ck_assert_ptr_nonnull(pair.cert_pem);
    hw_certs_pair_clear(&pair);
    ck_assert_int_eq(hw_reload_is_ready(r, why, sizeof(why)), 0);
    ck_assert_msg(strncmp(why, "serving certificate expired at 20", 33) == 0, "%s", why);
    m = metrics_text();
    ck_assert_ptr_nonnull(strstr(m, "hookwarden_certificate_expiry_timestamp_seconds 1"));
    free(m);
    hw_reload_poll(r);
    ck_assert_int_eq(installs, 0);
    serve_from("b");
    capture_begin();
    hw_reload_poll(r);
    free(capture_end());
    ck_assert_int_eq(installs, 1);
    ck_assert_str_eq(installed_sha, sha_b);
    ck_assert_int_eq(hw_reload_is_ready(r, why, sizeof(why)), 1);
    free(sha_b);
    hw_reload_free(r);
}
END_TEST

START_TEST(test_reload_does_not_adopt_an_expired_pair_and_says_so_once)
{
    struct hw_certs_pair pair;
    struct hw_error err = {0};
    struct hw_reload *r;
    char *log;

    /* b is served; a (1 day) is mounted but expired by then. */
    serve_from("b");
    fake_now = time(NULL) + 2 * 86400;
    r = new_reload(&pair, &err);
    hw_certs_pair_clear(&pair);
    serve_from("a");
    capture_begin();
    for (int i = 0; i < 5; i++)
        hw_reload_poll(r);
    log = capture_end();
    ck_assert_int_eq(installs, 0);
    ck_assert_int_eq(count(log, "certificate reload refused"), 1);
    ck_assert_int_eq(count(log, "tls.crt expired at "), 1);
    free(log);
    hw_reload_free(r);
}
END_TEST

START_TEST(test_reload_keeps_the_pair_when_the_installer_refuses_it)
{
    struct hw_certs_pair pair;
    struct hw_error err = {0};
    struct hw_reload *r = new_reload(&pair, &err);
    char *log;

    hw_certs_pair_clear(&pair);
    refuse_install = 1;
    serve_from("b");
    capture_begin();
    hw_reload_poll(r);
    hw_reload_poll(r);
    refuse_install = 0;
    hw_reload_poll(r);
    log = capture_end();
    ck_assert_int_eq(count(log, "the installer refused it"), 1);
    ck_assert_int_eq(installs, 1);  /* retried, and taken once it was accepted */
    free(log);
    hw_reload_free(r);
}
END_TEST

START_TEST(test_reload_thread_polls_on_its_own_and_stops)
{
    struct hw_certs_pair pair;
    struct hw_error err = {0};
    struct hw_reload_options o = {0};
    struct hw_reload *r;
    struct hw_policy *p0, *p;
    int changed = 0;

    o.policy_path = policy_path;
    o.overrides = &no_ov;
    o.interval_ms = 5;
    r = hw_reload_new(&o, &pair, &err);
    ck_assert_msg(r != NULL, "%s", err.msg);
    ck_assert_ptr_null(pair.cert_pem);  /* no certificate configured */
    ck_assert_int_eq(hw_reload_start(r, &err), 0);
    p0 = hw_reload_policy(r);
    capture_begin();
    write_file("policy.json", "{\"rules\":{\"ttl-after-finished\":\"warn\"}}\n");
    for (int i = 0; i < 400 && !changed; i++) {
        usleep(5000);
        p = hw_reload_policy(r);
        changed = p != p0;
        hw_policy_unref(p);
    }
    hw_reload_kick(r);
    hw_reload_stop(r);
    hw_reload_stop(r);
    free(capture_end());
    ck_assert_int_eq(changed, 1);
    hw_policy_unref(p0);
    hw_reload_free(r);
}
END_TEST

Suite *hw_suite_reload(void);

Suite *
hw_suite_reload(void)
{
    Suite *s = suite_create("reload");
    TCase *tc = tcase_create("core");

    tcase_set_timeout(tc, 30);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_reload_starts_with_the_policy_and_pair_and_is_ready);
    tcase_add_test(tc, test_reload_refuses_to_start_on_a_broken_policy_or_pair_naming_the_file);
    tcase_add_test(tc, test_reload_adopts_a_changed_policy_and_keeps_the_old_one_when_broken);
    tcase_add_test(tc, test_reload_logs_a_broken_policy_once_while_it_stays_broken);
    tcase_add_test(tc, test_reload_retries_a_refused_pair_until_it_is_replaced);
    tcase_add_test(tc, test_reload_adopts_a_not_yet_valid_pair_as_soon_as_it_is_valid);
    tcase_add_test(tc, test_reload_starts_with_an_expired_pair_and_adopts_the_renewed_one);
    tcase_add_test(tc, test_reload_does_not_adopt_an_expired_pair_and_says_so_once);
    tcase_add_test(tc, test_reload_keeps_the_pair_when_the_installer_refuses_it);
    tcase_add_test(tc, test_reload_thread_polls_on_its_own_and_stops);
    suite_add_tcase(s, tc);
    return s;
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * reload: holds the current policy snapshot (the third piece of global
 * state) and runs the poll thread that re-reads the policy, certificate and
 * key files, compares their bytes with what was last seen, and swaps in a
 * fully built replacement when they changed. Readers take a reference under
 * a mutex held for two instructions; the request path never waits on I/O.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hookwarden/buf.h"
#include "hookwarden/log.h"
#include "hookwarden/metrics.h"
#include "hookwarden/reload.h"
#include "hookwarden/server.h"

#define WATCH_FILE_MAX (2u * 1024 * 1024)

struct seen {
    char *data;
    size_t len;
    int present;
};

static struct {
    pthread_mutex_t lock;          /* guards policy pointer swaps and reads */
    struct hw_policy *policy;
    struct hw_reload_options opts;
    struct hw_server *server;
    pthread_t thread;
    int running;
    int stop;
    int kick;
    pthread_cond_t cond;
    pthread_mutex_t wait_lock;
    struct seen policy_seen, cert_seen, key_seen;
    _Atomic long long not_before, not_after;
} st = {PTHREAD_MUTEX_INITIALIZER, NULL, {0}, NULL, 0, 0, 0, 0, PTHREAD_COND_INITIALIZER,
        PTHREAD_MUTEX_INITIALIZER, {0}, {0}, {0}, 0, 0};

struct hw_policy *
hw_reload_policy(void)
{
    struct hw_policy *p;

    pthread_mutex_lock(&st.lock);
    p = hw_policy_ref(st.policy);
    pthread_mutex_unlock(&st.lock);
    return p;
}

static void
swap_policy(struct hw_policy *p)
{
    struct hw_policy *old;

    pthread_mutex_lock(&st.lock);
    old = st.policy;
    st.policy = p;
    pthread_mutex_unlock(&st.lock);
    hw_policy_unref(old);  /* requests in flight keep their own reference */
}

int
hw_reload_certificate_valid(void)
{
    long long now = (long long)time(NULL);

    return now >= atomic_load(&st.not_before) && now < atomic_load(&st.not_after);
}

/* Reads path whole; returns 0 and fills out (new), -1 with errno-ish text. */
static int
slurp(const char *path, struct seen *out)
{
    struct hw_buf b;
    char chunk[8192];
    size_t n;
    FILE *f;

    memset(out, 0, sizeof(*out));
    f = fopen(path, "rb");
    if (f == NULL)
        return -1;
    hw_buf_init(&b, WATCH_FILE_MAX);
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        if (hw_buf_append(&b, chunk, n) != 0)
            break;
    }
    fclose(f);
    out->data = hw_buf_steal(&b, &out->len);
    out->present = out->data != NULL;
    return out->present ? 0 : -1;
}

static int
same(const struct seen *a, const struct seen *b)
{
    return a->present == b->present && a->len == b->len &&
           (a->len == 0 || memcmp(a->data, b->data, a->len) == 0);
}

static void
seen_free(struct seen *s)
{
    free(s->data);
    memset(s, 0, sizeof(*s));
}

static void
note_certificate(const struct hw_certs_pair *pair, const char *msg)
{
    atomic_store(&st.not_before, (long long)pair->info.not_before);
    atomic_store(&st.not_after, (long long)pair->info.not_after);
    hw_metrics_set_certificate_expiry(pair->info.not_after);
    hw_log(HW_LOG_INFO, msg, "{s:s, s:s, s:s, s:I, s:s}", "subject", pair->info.subject, "sans",
           pair->info.sans, "sha256", pair->info.sha256, "not_after", (json_int_t)pair->info.not_after,
           "file", st.opts.cert_path);
}

int
hw_reload_init(const struct hw_reload_options *opts, struct hw_certs_pair *pair,
               struct hw_error *err)
{
    struct hw_policy *p;

    st.opts = *opts;
    if (st.opts.interval_ms == 0)
        st.opts.interval_ms = 1000;
    if (opts->policy_path != NULL) {
        slurp(opts->policy_path, &st.policy_seen);
        p = hw_policy_load(opts->policy_path, opts->overrides, err);
    } else {
        p = hw_policy_new_default(opts->overrides, err);
    }
    if (p == NULL)
        return -1;
    swap_policy(p);
    if (opts->cert_path != NULL) {
        slurp(opts->cert_path, &st.cert_seen);
        slurp(opts->key_path, &st.key_seen);
        if (hw_certs_load(opts->cert_path, opts->key_path, time(NULL), pair, err) != 0)
            return -1;
        note_certificate(pair, "serving certificate loaded");
        hw_certs_release_memory();
    }
    return 0;
}

static void
check_policy(void)
{
    struct hw_error err = {0};
    struct hw_policy *p;
    struct seen now;

    if (st.opts.policy_path == NULL)
        return;
    if (slurp(st.opts.policy_path, &now) != 0) {
        if (st.policy_seen.present) {
            hw_log(HW_LOG_WARN, "policy file unreadable; keeping the current policy",
                   "{s:s, s:s}", "file", st.opts.policy_path, "error", strerror(errno));
            hw_metrics_reload(HW_RELOAD_POLICY, 0);
            seen_free(&st.policy_seen);
        }
        return;
    }
    if (same(&now, &st.policy_seen)) {
        seen_free(&now);
        return;
    }
    seen_free(&st.policy_seen);
    st.policy_seen = now;
    p = hw_policy_parse(now.data, now.len, st.opts.policy_path, st.opts.overrides, &err);
    if (p == NULL) {
        hw_log(HW_LOG_ERROR, "policy reload refused; keeping the current policy", "{s:s, s:s}",
               "file", st.opts.policy_path, "error", err.msg);
        hw_metrics_reload(HW_RELOAD_POLICY, 0);
        return;
    }
    swap_policy(p);
    hw_metrics_reload(HW_RELOAD_POLICY, 1);
    hw_log(HW_LOG_INFO, "policy reloaded", "{s:s}", "file", st.opts.policy_path);
}

static void
check_certificate(void)
{
    struct hw_certs_pair pair;
    struct hw_error err = {0};
    struct seen cert, key;

    if (st.opts.cert_path == NULL || st.server == NULL)
        return;
    slurp(st.opts.cert_path, &cert);
    slurp(st.opts.key_path, &key);
    if (same(&cert, &st.cert_seen) && same(&key, &st.key_seen)) {
        seen_free(&cert);
        seen_free(&key);
        return;
    }
    seen_free(&st.cert_seen);
    seen_free(&st.key_seen);
    st.cert_seen = cert;
    st.key_seen = key;
    if (hw_certs_load(st.opts.cert_path, st.opts.key_path, time(NULL), &pair, &err) != 0 ||
        hw_server_set_certificate(st.server, &pair, &err) != 0) {
        hw_log(HW_LOG_ERROR, "certificate reload refused; keeping the current certificate",
               "{s:s}", "error", err.msg);
        hw_metrics_reload(HW_RELOAD_CERTIFICATE, 0);
        hw_certs_pair_clear(&pair);
        return;
    }
    hw_metrics_reload(HW_RELOAD_CERTIFICATE, 1);
    note_certificate(&pair, "serving certificate reloaded");
    hw_certs_pair_clear(&pair);
    hw_certs_release_memory();
}

static void *
watch_main(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&st.wait_lock);
    while (!st.stop) {
        struct timespec until;

        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += st.opts.interval_ms / 1000;
        until.tv_nsec += (long)(st.opts.interval_ms % 1000) * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        while (!st.stop && !st.kick &&
               pthread_cond_timedwait(&st.cond, &st.wait_lock, &until) != ETIMEDOUT) {
        }
        st.kick = 0;
        if (st.stop)
            break;
        pthread_mutex_unlock(&st.wait_lock);
        check_policy();
        check_certificate();
        pthread_mutex_lock(&st.wait_lock);
    }
    pthread_mutex_unlock(&st.wait_lock);
    return NULL;
}

int
hw_reload_start(struct hw_server *server, struct hw_error *err)
{
    st.server = server;
    st.stop = 0;
    if (pthread_create(&st.thread, NULL, watch_main, NULL) != 0) {
        hw_error_set(err, HW_EINTERNAL, "cannot start the reload thread");
        return -1;
    }
    st.running = 1;
    return 0;
}

void
hw_reload_now(void)
{
    pthread_mutex_lock(&st.wait_lock);
    st.kick = 1;
    pthread_cond_signal(&st.cond);
    pthread_mutex_unlock(&st.wait_lock);
}

void
hw_reload_stop(void)
{
    if (st.running) {
        pthread_mutex_lock(&st.wait_lock);
        st.stop = 1;
        pthread_cond_signal(&st.cond);
        pthread_mutex_unlock(&st.wait_lock);
        pthread_join(st.thread, NULL);
        st.running = 0;
    }
    swap_policy(NULL);
    seen_free(&st.policy_seen);
    seen_free(&st.cert_seen);
    seen_free(&st.key_seen);
    st.server = NULL;
}

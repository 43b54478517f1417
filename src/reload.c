/* SPDX-License-Identifier: Apache-2.0 */
/*
 * reload: the current policy snapshot and serving-certificate facts, and
 * the poll that replaces them. Each poll reads the files whole and compares
 * them with the content adopted last: equal means nothing to do; different
 * means a candidate, built completely (a policy parsed and validated, a pair
 * checked with OpenSSL) and swapped in only when it is usable. A refused
 * candidate stays a candidate and is looked at again at the next poll, so a
 * pair that is not valid yet is adopted the poll after its notBefore. Errors
 * are logged and counted when they appear or change; every failing poll
 * stamps the last-error gauge. Readers take a policy reference under a
 * mutex held for two instructions; the request path never waits on I/O.
 * Installing a pair is the caller's business (an installer function).
 */
#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hookwarden/buf.h"
#include "hookwarden/file.h"
#include "hookwarden/log.h"
#include "hookwarden/metrics.h"
#include "hookwarden/reload.h"

/* The error last logged for one kind of file (policy, certificate). */
struct problem {
    int active;
    char msg[HW_ERROR_MSG_MAX];
    struct hw_buf bytes;  /* the policy content refused, when a parse refused it */
    int has_bytes;
};

/* A pair on disk that differs from the one in service. */
struct candidate {
    int present;
    struct hw_buf cert, key;        /* file content */
    int ok;                         /* parsed and checked: pair is set */
    struct hw_certs_pair pair;
    char error[HW_ERROR_MSG_MAX];   /* why not, when !ok */
    int waiting_logged;
    struct timespec seen;           /* CLOCK_MONOTONIC, when first read */
};

struct hw_reload {
    struct hw_reload_options opts;
    pthread_mutex_t lock;           /* guards policy, not_before, not_after, have_pair */
    struct hw_policy *policy;
    _Atomic unsigned long generation;  /* +1 at each policy swap */
    time_t not_before, not_after;   /* of the pair in service */
    int have_pair;
    /* Poll state: only the poll (thread or hw_reload_poll) touches it. */
    struct hw_buf policy_bytes, cert_bytes, key_bytes;  /* adopted content */
    struct candidate cand;
    struct problem problems[2];     /* by enum hw_metrics_reload */
    hw_reload_install_fn install;
    void *install_ctx;
    /* The poll thread. */
    pthread_t thread;
    int running;
    pthread_mutex_t wait_lock;      /* guards stop and kick */
    pthread_cond_t cond;            /* waits on CLOCK_MONOTONIC */
    int stop, kick;
};

/* ---- table of contents: the static functions, in order ---- */
static time_t wall_now(const struct hw_reload *r);
static int same(const struct hw_buf *a, const struct hw_buf *b);
static void buf_move(struct hw_buf *dst, struct hw_buf *src);
static void buf_wipe(struct hw_buf *b);
static const char *path_of(const struct hw_reload *r, enum hw_metrics_reload kind);
static void report(struct hw_reload *r, enum hw_metrics_reload kind, const char *msg);
static void settle(struct hw_reload *r, enum hw_metrics_reload kind, int loud);
static void swap_policy(struct hw_reload *r, struct hw_policy *p);
static void consider_policy(struct hw_reload *r, struct hw_buf *text);
static void check_policy(struct hw_reload *r);
static void candidate_clear(struct candidate *c);
static void candidate_set(struct hw_reload *r, struct hw_buf *cert, struct hw_buf *key);
static void log_pair(const struct hw_reload *r, const char *msg, const struct hw_certs_info *info,
                     long long waited);
static void note_served(struct hw_reload *r, const struct hw_certs_info *info);
static void adopt_candidate(struct hw_reload *r);
static void note_waiting(struct hw_reload *r, const char *why);
static int served_expired(struct hw_reload *r);
static void consider_candidate(struct hw_reload *r);
static void check_certificate(struct hw_reload *r);
static int load_policy(struct hw_reload *r, struct hw_error *err);
static int load_pair(struct hw_reload *r, struct hw_certs_pair *pair, struct hw_error *err);
static void *poll_main(void *arg);

static const char *const refused_msg[2] = {
    "policy reload refused; keeping the current policy",
    "certificate reload refused; keeping the current certificate",
};
static const char *const back_msg[2] = {
    "policy file is the policy in service again",
    "certificate files hold the pair in service again",
};

/* ---- small helpers ---- */

static time_t
wall_now(const struct hw_reload *r)
{
    return r->opts.clock != NULL ? r->opts.clock() : time(NULL);
}

static int
same(const struct hw_buf *a, const struct hw_buf *b)
{
    return a->len == b->len && (a->len == 0 || memcmp(a->data, b->data, a->len) == 0);
}

/* Moves src's content into dst (whose old content is wiped and freed). */
static void
buf_move(struct hw_buf *dst, struct hw_buf *src)
{
    if (dst->data != NULL)
        explicit_bzero(dst->data, dst->len);
    hw_buf_free(dst);
    *dst = *src;
    hw_buf_init(src, src->max);
}

/* Frees b, wiping it first: it may hold a private key. */
static void
buf_wipe(struct hw_buf *b)
{
    if (b->data != NULL)
        explicit_bzero(b->data, b->len);
    hw_buf_free(b);
}

static const char *
path_of(const struct hw_reload *r, enum hw_metrics_reload kind)
{
    return kind == HW_RELOAD_POLICY ? r->opts.policy_path : r->opts.cert_path;
}

/* ---- errors: said once, stamped always ---- */

/* A poll found kind unusable for reason msg. Logged and counted when the
 * reason is new; the last-error gauge moves at every failing poll. */
static void
report(struct hw_reload *r, enum hw_metrics_reload kind, const char *msg)
{
    struct problem *pb = &r->problems[kind];

    hw_metrics_reload_error(kind, wall_now(r));
    if (pb->active && strcmp(pb->msg, msg) == 0)
        return;
    pb->active = 1;
    snprintf(pb->msg, sizeof(pb->msg), "%s", msg);
    buf_wipe(&pb->bytes);
    pb->has_bytes = 0;
    hw_metrics_reload(kind, 0);
    hw_log(HW_LOG_ERROR, refused_msg[kind], "{s:s, s:s}", "file", path_of(r, kind), "error", msg);
}

/* kind is fine again. loud: say so, for an error that was logged and
 * whose end no other line reports. */
static void
settle(struct hw_reload *r, enum hw_metrics_reload kind, int loud)
{
    struct problem *pb = &r->problems[kind];

    if (pb->active && loud)
        hw_log(HW_LOG_INFO, back_msg[kind], "{s:s, s:s}", "file", path_of(r, kind),
               "previous_error", pb->msg);
    pb->active = 0;
    buf_wipe(&pb->bytes);
    pb->has_bytes = 0;
}

/* ---- policy ---- */

static void
swap_policy(struct hw_reload *r, struct hw_policy *p)
{
    struct hw_policy *old;

    pthread_mutex_lock(&r->lock);
    old = r->policy;
    r->policy = p;
    atomic_fetch_add_explicit(&r->generation, 1, memory_order_release);
    pthread_mutex_unlock(&r->lock);
    hw_policy_unref(old);  /* requests in flight keep their own reference */
}

unsigned long
hw_reload_policy_generation(struct hw_reload *r)
{
    return atomic_load_explicit(&r->generation, memory_order_acquire);
}

struct hw_policy *
hw_reload_policy(struct hw_reload *r)
{
    struct hw_policy *p;

    pthread_mutex_lock(&r->lock);
    p = hw_policy_ref(r->policy);
    pthread_mutex_unlock(&r->lock);
    return p;
}

/* Parses text and, when it is a valid policy, swaps it in; the problem is
 * reported otherwise. Takes text's content either way. */
static void
consider_policy(struct hw_reload *r, struct hw_buf *text)
{
    struct problem *pb = &r->problems[HW_RELOAD_POLICY];
    struct hw_error err = {0};
    struct hw_policy *p;

    /* The same bytes get the same verdict: not parsed again. */
    if (pb->active && pb->has_bytes && same(text, &pb->bytes)) {
        hw_metrics_reload_error(HW_RELOAD_POLICY, wall_now(r));
        hw_buf_free(text);
        return;
    }
    p = hw_policy_parse(text->data ? text->data : "", text->len, r->opts.policy_path,
                        r->opts.overrides, &err);
    if (p == NULL) {
        report(r, HW_RELOAD_POLICY, err.msg);
        buf_move(&pb->bytes, text);
        pb->has_bytes = 1;
        return;
    }
    swap_policy(r, p);
    buf_move(&r->policy_bytes, text);
    settle(r, HW_RELOAD_POLICY, 0);
    hw_metrics_reload(HW_RELOAD_POLICY, 1);
    hw_log(HW_LOG_INFO, "policy reloaded", "{s:s}", "file", r->opts.policy_path);
}

static void
check_policy(struct hw_reload *r)
{
    struct hw_error err = {0};
    struct hw_buf text;

    if (r->opts.policy_path == NULL)
        return;
    if (hw_file_read(r->opts.policy_path, "policy file", HW_POLICY_FILE_MAX, &text, &err) != 0) {
        report(r, HW_RELOAD_POLICY, err.msg);
        return;
    }
    if (same(&text, &r->policy_bytes)) {
        settle(r, HW_RELOAD_POLICY, 1);
        hw_buf_free(&text);
        return;
    }
    consider_policy(r, &text);
}

/* ---- certificate ---- */

static void
candidate_clear(struct candidate *c)
{
    buf_wipe(&c->cert);
    buf_wipe(&c->key);
    hw_certs_pair_clear(&c->pair);
    memset(c, 0, sizeof(*c));
}

/* Makes cert and key (taken) the candidate and checks them once. */
static void
candidate_set(struct hw_reload *r, struct hw_buf *cert, struct hw_buf *key)
{
    struct candidate *c = &r->cand;
    struct hw_error err = {0};

    candidate_clear(c);
    c->present = 1;
    clock_gettime(CLOCK_MONOTONIC, &c->seen);
    buf_move(&c->cert, cert);
    buf_move(&c->key, key);
    c->ok = hw_certs_parse(c->cert.data ? c->cert.data : "", c->cert.len,
                           c->key.data ? c->key.data : "", c->key.len, r->opts.cert_path,
                           r->opts.key_path, &c->pair, &err) == 0;
    if (!c->ok)
        snprintf(c->error, sizeof(c->error), "%s", err.msg);
    hw_certs_release_memory();
}

/* One line describing a pair; waited < 0 leaves that field out. */
static void
log_pair(const struct hw_reload *r, const char *msg, const struct hw_certs_info *info,
         long long waited)
{
    char nb[32], na[32], validity[80];

    hw_certs_format_time(info->not_before, nb, sizeof(nb));
    hw_certs_format_time(info->not_after, na, sizeof(na));
    snprintf(validity, sizeof(validity), "%s to %s", nb, na);
    if (waited < 0)
        hw_log(HW_LOG_INFO, msg, "{s:s, s:s, s:s, s:I, s:s, s:s}", "subject", info->subject, "sans",
               info->sans, "sha256", info->sha256, "not_after", (json_int_t)info->not_after,
               "validity", validity, "file", r->opts.cert_path);
    else
        hw_log(HW_LOG_INFO, msg, "{s:s, s:s, s:s, s:I, s:s, s:s, s:I}", "subject", info->subject,
               "sans", info->sans, "sha256", info->sha256, "not_after", (json_int_t)info->not_after,
               "validity", validity, "file", r->opts.cert_path, "waited_seconds",
               (json_int_t)waited);
}

/* The pair in service now has info. */
static void
note_served(struct hw_reload *r, const struct hw_certs_info *info)
{
    pthread_mutex_lock(&r->lock);
    r->not_before = info->not_before;
    r->not_after = info->not_after;
    r->have_pair = 1;
    pthread_mutex_unlock(&r->lock);
    hw_metrics_set_certificate_expiry(info->not_after);
}

static void
adopt_candidate(struct hw_reload *r)
{
    struct candidate *c = &r->cand;
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    note_served(r, &c->pair.info);
    settle(r, HW_RELOAD_CERTIFICATE, 0);
    hw_metrics_reload(HW_RELOAD_CERTIFICATE, 1);
    log_pair(r, "serving certificate reloaded", &c->pair.info,
             c->waiting_logged ? (long long)(t.tv_sec - c->seen.tv_sec) : -1);
    buf_move(&r->cert_bytes, &c->cert);
    buf_move(&r->key_bytes, &c->key);
    candidate_clear(c);
}

/* A pair that is not valid yet: logged once, with how long it will wait. */
static void
note_waiting(struct hw_reload *r, const char *why)
{
    struct candidate *c = &r->cand;

    settle(r, HW_RELOAD_CERTIFICATE, 0);
    if (c->waiting_logged)
        return;
    c->waiting_logged = 1;
    hw_log(HW_LOG_INFO, "new certificate is not valid yet; it will be served once it is",
           "{s:s, s:s, s:s, s:I}", "file", r->opts.cert_path, "sha256", c->pair.info.sha256,
           "validity", why, "wait_seconds", (json_int_t)(c->pair.info.not_before - wall_now(r)));
}

/* The pair in service is past its notAfter: anything that will become
 * valid is better. */
static int
served_expired(struct hw_reload *r)
{
    time_t not_after;

    pthread_mutex_lock(&r->lock);
    not_after = r->not_after;
    pthread_mutex_unlock(&r->lock);
    return wall_now(r) > not_after;
}

static void
consider_candidate(struct hw_reload *r)
{
    struct candidate *c = &r->cand;
    struct hw_error err = {0};
    char why[96], msg[HW_ERROR_MSG_MAX];
    enum hw_certs_validity v;

    if (!c->ok) {
        report(r, HW_RELOAD_CERTIFICATE, c->error);
        return;
    }
    v = hw_certs_validity(&c->pair.info, wall_now(r), why, sizeof(why));
    if (v == HW_CERTS_EXPIRED) {
        snprintf(msg, sizeof(msg), "certificate %s %s", r->opts.cert_path, why);
        report(r, HW_RELOAD_CERTIFICATE, msg);
        return;
    }
    if (v == HW_CERTS_NOT_YET_VALID && !served_expired(r)) {
        note_waiting(r, why);
        return;
    }
    if (r->install == NULL)
        hw_error_set(&err, HW_EINTERNAL, "no certificate installer");
    if (r->install == NULL || r->install(r->install_ctx, &c->pair, &err) != 0) {
        report(r, HW_RELOAD_CERTIFICATE, err.msg);
        return;
    }
    adopt_candidate(r);
}

static void
check_certificate(struct hw_reload *r)
{
    struct hw_error err = {0};
    struct hw_buf cert, key;

    if (r->opts.cert_path == NULL)
        return;
    hw_buf_init(&cert, 0);
    hw_buf_init(&key, 0);
    if (hw_file_read(r->opts.cert_path, "certificate", HW_CERTS_FILE_MAX, &cert, &err) != 0 ||
        hw_file_read(r->opts.key_path, "private key", HW_CERTS_FILE_MAX, &key, &err) != 0) {
        hw_buf_free(&cert);
        report(r, HW_RELOAD_CERTIFICATE, err.msg);
        return;
    }
    if (same(&cert, &r->cert_bytes) && same(&key, &r->key_bytes)) {
        candidate_clear(&r->cand);
        settle(r, HW_RELOAD_CERTIFICATE, 1);
    } else {
        if (!r->cand.present || !same(&cert, &r->cand.cert) || !same(&key, &r->cand.key))
            candidate_set(r, &cert, &key);
        consider_candidate(r);
    }
    hw_buf_free(&cert);
    buf_wipe(&key);
}

/* ---- lifecycle ---- */

static int
load_policy(struct hw_reload *r, struct hw_error *err)
{
    struct hw_policy *p;

    if (r->opts.policy_path == NULL) {
        p = hw_policy_new_default(r->opts.overrides, err);
    } else {
        if (hw_file_read(r->opts.policy_path, "policy file", HW_POLICY_FILE_MAX, &r->policy_bytes,
                         err) != 0)
            return -1;
        p = hw_policy_parse(r->policy_bytes.data ? r->policy_bytes.data : "", r->policy_bytes.len,
                            r->opts.policy_path, r->opts.overrides, err);
    }
    if (p == NULL)
        return -1;
    swap_policy(r, p);
    return 0;
}

/* The pair at start: it must be usable; outside its validity window it is
 * still served (not ready) until a renewed one is mounted. */
static int
load_pair(struct hw_reload *r, struct hw_certs_pair *pair, struct hw_error *err)
{
    char why[96];

    if (hw_file_read(r->opts.cert_path, "certificate", HW_CERTS_FILE_MAX, &r->cert_bytes,
                     err) != 0 ||
        hw_file_read(r->opts.key_path, "private key", HW_CERTS_FILE_MAX, &r->key_bytes, err) != 0 ||
        hw_certs_parse(r->cert_bytes.data ? r->cert_bytes.data : "", r->cert_bytes.len,
                       r->key_bytes.data ? r->key_bytes.data : "", r->key_bytes.len,
                       r->opts.cert_path, r->opts.key_path, pair, err) != 0)
        return -1;
    note_served(r, &pair->info);
    log_pair(r, "serving certificate loaded", &pair->info, -1);
    if (hw_certs_validity(&pair->info, wall_now(r), why, sizeof(why)) != HW_CERTS_VALID)
        hw_log(HW_LOG_WARN, "serving certificate is outside its validity window: /readyz fails "
               "until a valid pair is mounted", "{s:s, s:s}", "file", r->opts.cert_path,
               "validity", why);
    hw_certs_release_memory();
    return 0;
}

struct hw_reload *
hw_reload_new(const struct hw_reload_options *opts, struct hw_certs_pair *pair,
              struct hw_error *err)
{
    struct hw_reload *r = calloc(1, sizeof(*r));
    pthread_condattr_t ca;

    memset(pair, 0, sizeof(*pair));
    if (r == NULL) {
        hw_error_set(err, HW_EINTERNAL, "out of memory");
        return NULL;
    }
    r->opts = *opts;
    if (r->opts.interval_ms == 0)
        r->opts.interval_ms = 1000;
    pthread_mutex_init(&r->lock, NULL);
    pthread_mutex_init(&r->wait_lock, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&r->cond, &ca);
    pthread_condattr_destroy(&ca);
    if (load_policy(r, err) != 0 || (r->opts.cert_path != NULL && load_pair(r, pair, err) != 0)) {
        hw_certs_pair_clear(pair);
        hw_reload_free(r);
        return NULL;
    }
    return r;
}

void
hw_reload_set_installer(struct hw_reload *r, hw_reload_install_fn install, void *ctx)
{
    r->install = install;
    r->install_ctx = ctx;
}

void
hw_reload_poll(struct hw_reload *r)
{
    check_policy(r);
    check_certificate(r);
}

static void *
poll_main(void *arg)
{
    struct hw_reload *r = arg;

    pthread_mutex_lock(&r->wait_lock);
    while (!r->stop) {
        struct timespec until;

        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_sec += r->opts.interval_ms / 1000;
        until.tv_nsec += (long)(r->opts.interval_ms % 1000) * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        while (!r->stop && !r->kick &&
               pthread_cond_timedwait(&r->cond, &r->wait_lock, &until) != ETIMEDOUT) {
        }
        r->kick = 0;
        if (r->stop)
            break;
        pthread_mutex_unlock(&r->wait_lock);
        hw_reload_poll(r);
        pthread_mutex_lock(&r->wait_lock);
    }
    pthread_mutex_unlock(&r->wait_lock);
    return NULL;
}

int
hw_reload_start(struct hw_reload *r, struct hw_error *err)
{
    r->stop = 0;
    if (pthread_create(&r->thread, NULL, poll_main, r) != 0) {
        hw_error_set(err, HW_EINTERNAL, "cannot start the reload thread");
        return -1;
    }
    r->running = 1;
    return 0;
}

void
hw_reload_kick(struct hw_reload *r)
{
    pthread_mutex_lock(&r->wait_lock);
    r->kick = 1;
    pthread_cond_signal(&r->cond);
    pthread_mutex_unlock(&r->wait_lock);
}

void
hw_reload_stop(struct hw_reload *r)
{
    if (r == NULL || !r->running)
        return;
    pthread_mutex_lock(&r->wait_lock);
    r->stop = 1;
    pthread_cond_signal(&r->cond);
    pthread_mutex_unlock(&r->wait_lock);
    pthread_join(r->thread, NULL);
    r->running = 0;
}

void
hw_reload_free(struct hw_reload *r)
{
    if (r == NULL)
        return;
    hw_reload_stop(r);
    swap_policy(r, NULL);
    hw_buf_free(&r->policy_bytes);
    hw_buf_free(&r->cert_bytes);
    buf_wipe(&r->key_bytes);
    candidate_clear(&r->cand);
    for (size_t i = 0; i < sizeof(r->problems) / sizeof(r->problems[0]); i++)
        buf_wipe(&r->problems[i].bytes);
    pthread_cond_destroy(&r->cond);
    pthread_mutex_destroy(&r->wait_lock);
    pthread_mutex_destroy(&r->lock);
    free(r);
}

int
hw_reload_is_ready(struct hw_reload *r, char *why, size_t whysz)
{
    struct hw_certs_info info;
    char reason[96];
    int have_policy, have_pair;

    memset(&info, 0, sizeof(info));
    pthread_mutex_lock(&r->lock);
    have_policy = r->policy != NULL;
    have_pair = r->have_pair;
    info.not_before = r->not_before;
    info.not_after = r->not_after;
    pthread_mutex_unlock(&r->lock);
    if (!have_policy) {
        if (why != NULL)
            snprintf(why, whysz, "no policy loaded");
        return 0;
    }
    if (r->opts.cert_path != NULL &&
        (!have_pair ||
         hw_certs_validity(&info, wall_now(r), reason, sizeof(reason)) != HW_CERTS_VALID)) {
        if (why != NULL)
            snprintf(why, whysz, "serving certificate %s", have_pair ? reason : "missing");
        return 0;
    }
    return 1;
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * server: starting and stopping the server, its worker daemons (one
 * libmicrohttpd epoll daemon each, TLS 1.2/1.3 only, whose loop the
 * worker's own thread runs: worker_main) and the optional
 * plain-HTTP metrics listener, and the TLS credentials, chosen per
 * handshake by a GnuTLS callback from the current snapshot and retired,
 * not freed, when a new pair comes. What a worker does with a request is
 * serverhttp.c's; the connections (the acceptor, their exact count, the
 * header deadline, eviction) are serverconn.c's; the three share
 * server_impl.h. The policy and readiness come from a source main wires in
 * (reload.c), so the server calls nothing that calls it back.
 */
#include <errno.h>
#include <fcntl.h>
#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "hookwarden/budget.h"
#include "hookwarden/linger.h"
#include "hookwarden/log.h"
#include "hookwarden/metrics.h"
#include "hookwarden/server.h"
#include "server_impl.h"

#define MAX_CHAIN 8
#define CREDS_RETIRE_SECONDS 300
/* A connection that has not sent a complete request header this long after
 * it was accepted is closed: slow clients cannot hold slots forever. */
#define HEADER_DEADLINE_SECONDS 10
/* TLS 1.2 and 1.3, AEAD ciphers and ECDHE only. */
#define TLS_PRIORITIES                                                                          \
    "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:-CIPHER-ALL:+AES-128-GCM:+AES-256-GCM:"        \
    "+CHACHA20-POLY1305:-MAC-ALL:+AEAD:-KX-ALL:+ECDHE-ECDSA:+ECDHE-RSA:%SERVER_PRECEDENCE"

struct creds {
    gnutls_pcert_st pcert[MAX_CHAIN];
    unsigned n_pcert;
    gnutls_privkey_t key;
    time_t retired_at;
    struct creds *next;  /* retired list */
};

/* ---- table of contents: the static functions, in order ---- */
static int cert_callback(gnutls_session_t session, const gnutls_datum_t *req_ca_dn, int nreqs,
                         const gnutls_pk_algorithm_t *pk_algos, int pk_algos_length,
                         gnutls_pcert_st **pcert, unsigned int *pcert_length,
                         gnutls_privkey_t *pkey);
static void creds_free(struct creds *c);
static struct creds *creds_new(const struct hw_certs_pair *pair, struct hw_error *err);
static void on_mhd_error(void *cls, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
static struct MHD_Daemon *start_worker(struct hw_server *s, struct worker *w, unsigned per_worker);
static void *worker_main(void *arg);
static int start_loop(struct worker *w);
static struct MHD_Daemon *start_plain(struct hw_server *s, struct hw_error *err);
static void apply_defaults(struct hw_server_options *o);
static int start_workers(struct hw_server *s, struct hw_error *err);
static void stop_workers(struct hw_server *s);
static void free_credentials(struct hw_server *s);
static long inflight(struct hw_server *s);

double
server_elapsed(const struct timespec *start)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - start->tv_sec) + (double)(now.tv_nsec - start->tv_nsec) / 1e9;
}

/* ---- TLS credentials ---- */

/*
 * GnuTLS asks for the pair at each handshake. The callback has no user
 * pointer, but libmicrohttpd sets the session's pointer to its connection
 * (it relies on that itself, for PSK), whose socket context is our track,
 * which knows its server: each server serves its own credentials.
 */
static int
cert_callback(gnutls_session_t session, const gnutls_datum_t *req_ca_dn, int nreqs,
              const gnutls_pk_algorithm_t *pk_algos, int pk_algos_length, gnutls_pcert_st **pcert,
              unsigned int *pcert_length, gnutls_privkey_t *pkey)
{
    struct MHD_Connection *conn = gnutls_session_get_ptr(session);
    struct track *t = conn != NULL ? server_track_of(conn) : NULL;
    struct creds *c;

    (void)req_ca_dn, (void)nreqs, (void)pk_algos, (void)pk_algos_length;
    if (t == NULL)
        return -1;
    c = atomic_load_explicit(&t->w->srv->live, memory_order_acquire);
    if (c == NULL)
        return -1;
    *pcert = c->pcert;
    *pcert_length = c->n_pcert;
    *pkey = c->key;
    return 0;
}

static void
creds_free(struct creds *c)
{
    if (c == NULL)
        return;
    for (unsigned i = 0; i < c->n_pcert; i++)
        gnutls_pcert_deinit(&c->pcert[i]);
    gnutls_privkey_deinit(c->key);
    free(c);
}

static struct creds *
creds_new(const struct hw_certs_pair *pair, struct hw_error *err)
{
    gnutls_datum_t cd = {(unsigned char *)pair->cert_pem, (unsigned)pair->cert_len};
    gnutls_datum_t kd = {(unsigned char *)pair->key_pem, (unsigned)pair->key_len};
    struct creds *c;
    int r;

    c = calloc(1, sizeof(*c));
    if (c == NULL) {
        hw_error_set(err, HW_EINTERNAL, "out of memory");
        return NULL;
    }
    c->n_pcert = MAX_CHAIN;
    r = gnutls_pcert_list_import_x509_raw(c->pcert, &c->n_pcert, &cd, GNUTLS_X509_FMT_PEM, 0);
    if (r < 0) {
        c->n_pcert = 0;
        hw_error_set(err, HW_EINVAL, "TLS: cannot use certificate chain: %s", gnutls_strerror(r));
        goto fail;
    }
    if ((r = gnutls_privkey_init(&c->key)) < 0 ||
        (r = gnutls_privkey_import_x509_raw(c->key, &kd, GNUTLS_X509_FMT_PEM, NULL, 0)) < 0) {
        hw_error_set(err, HW_EINVAL, "TLS: cannot use private key: %s", gnutls_strerror(r));
        goto fail;
    }
    return c;
fail:
    creds_free(c);
    return NULL;
}

int
hw_server_set_certificate(struct hw_server *s, const struct hw_certs_pair *pair,
                          struct hw_error *err)
{
    struct creds *c = creds_new(pair, err), *old, **pp;
    time_t now = time(NULL);

    if (c == NULL)
        return -1;
    pthread_mutex_lock(&s->creds_lock);
    old = atomic_exchange_explicit(&s->live, c, memory_order_acq_rel);
    /* A handshake may still hold the old pointers: keep old credentials
     * for a while, freeing only those retired long ago. */
    if (old != NULL) {
        old->retired_at = now;
        old->next = s->retired;
        s->retired = old;
    }
    for (pp = &s->retired; *pp != NULL;) {
        if (now - (*pp)->retired_at > CREDS_RETIRE_SECONDS) {
            struct creds *dead = *pp;

            *pp = dead->next;
            creds_free(dead);
        } else {
            pp = &(*pp)->next;
        }
    }
    pthread_mutex_unlock(&s->creds_lock);
    return 0;
}

/* ---- the worker daemons: start and stop ---- */

static void
on_mhd_error(void *cls, const char *fmt, va_list ap)
{
    char msg[512];
    size_t n;

    (void)cls;
    vsnprintf(msg, sizeof(msg), fmt, ap);
    n = strlen(msg);
    while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        msg[--n] = '\0';
    hw_log(HW_LOG_DEBUG, "libmicrohttpd", "{s:s}", "detail", msg);
}

static struct MHD_Daemon *
start_worker(struct hw_server *s, struct worker *w, unsigned per_worker)
{
    /* The worker's own thread runs the loop (worker_main). */
    unsigned flags = MHD_USE_EPOLL | MHD_USE_TLS | MHD_USE_NO_LISTEN_SOCKET | MHD_USE_ERROR_LOG;
    struct MHD_OptionItem ops[12];
    int n = 0;

    ops[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_PRIORITIES, 0, (void *)TLS_PRIORITIES};
    if (s->opts.client_ca_pem != NULL)
        ops[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_TRUST, 0, (void *)s->opts.client_ca_pem};
    ops[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_LIMIT, per_worker, NULL};
    ops[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_TIMEOUT, s->opts.idle_timeout_seconds, NULL};
    ops[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_MEMORY_LIMIT,
                                       (intptr_t)s->opts.connection_memory, NULL};
    ops[n++] = (struct MHD_OptionItem){MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)&server_on_completed, NULL};
    ops[n++] = (struct MHD_OptionItem){MHD_OPTION_NOTIFY_CONNECTION, (intptr_t)&server_on_connection, w};
    ops[n++] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
    /* The logger first, so that no message goes to MHD's own stderr logger. */
    return MHD_start_daemon(flags, 0, NULL, NULL, &server_on_request, w, MHD_OPTION_EXTERNAL_LOGGER,
                            &on_mhd_error, NULL, MHD_OPTION_HTTPS_CERT_CALLBACK, &cert_callback,
                            MHD_OPTION_ARRAY, ops, MHD_OPTION_END);
}

/*
 * A worker's event loop: gives handed-over connections to its daemon, lets
 * the daemon wait for and do what is ready, and writes the request lines of
 * that pass before it waits again: requests answered together cost one
 * write, and no line waits longer than the pass that answered it. The
 * daemon waits in its own epoll set, where start_loop() put the wake too,
 * so a pass costs one epoll_wait.
 */
static void *
worker_main(void *arg)
{
    struct worker *w = arg;

    hw_log_hold();
    while (!atomic_load(&w->stop)) {
        if (atomic_exchange(&w->woken, 0)) {
            uint64_t count;

            if (read(w->wake, &count, sizeof(count)) < 0) {
                /* EAGAIN: an earlier pass read the count of this write. */
            }
            server_take_handed(w);
        }
        MHD_run_wait(w->daemon, -1);
        hw_log_flush();
    }
    hw_log_flush();
    return NULL;
}

/*
 * The worker's wake joins its daemon's epoll set, edge-triggered, with a
 * NULL data pointer: libmicrohttpd's loop skips such an event (its own
 * shutdown signal is marked so) and returns from MHD_run_wait(). Which of
 * its events woke it, the daemon does not say: the waker sets w->woken
 * first, and the loop reads that flag.
 */
static int
start_loop(struct worker *w)
{
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(w->daemon, MHD_DAEMON_INFO_EPOLL_FD);
    struct epoll_event ev = {.events = EPOLLIN | EPOLLET, .data.ptr = NULL};

    w->wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (di == NULL || w->wake < 0 || epoll_ctl(di->epoll_fd, EPOLL_CTL_ADD, w->wake, &ev) != 0)
        return -1;
    if (pthread_create(&w->thread, NULL, worker_main, w) != 0)
        return -1;
    w->thread_started = 1;
    return 0;
}

/* Wakes w's loop from another thread: the flag first, since the loop reads
 * it once the write has woken the daemon's wait. */
void
server_wake(struct worker *w)
{
    const uint64_t one = 1;

    atomic_store(&w->woken, 1);
    if (write(w->wake, &one, sizeof(one)) < 0) {
        /* An eventfd's counter does not overflow at this rate. */
    }
}

static struct MHD_Daemon *
start_plain(struct hw_server *s, struct hw_error *err)
{
    char host[64];
    const char *colon = strrchr(s->opts.metrics_bind_address, ':');
    unsigned port, bound = 0;
    int fd;

    if (colon == NULL || (size_t)(colon - s->opts.metrics_bind_address) >= sizeof(host) ||
        sscanf(colon + 1, "%u", &port) != 1 || port > 65535) {
        hw_error_set(err, HW_EINVAL, "--metrics-bind-address %s is not HOST:PORT",
                     s->opts.metrics_bind_address);
        return NULL;
    }
    memcpy(host, s->opts.metrics_bind_address, (size_t)(colon - s->opts.metrics_bind_address));
    host[colon - s->opts.metrics_bind_address] = '\0';
    /* "[::1]:9090": the brackets only delimit an IPv6 address. */
    if (host[0] == '[' && host[strlen(host) - 1] == ']') {
        memmove(host, host + 1, strlen(host) - 2);
        host[strlen(host) - 2] = '\0';
    }
    fd = server_listen_on(host[0] ? host : "0.0.0.0", port, &bound, err);
    if (fd < 0)
        return NULL;
    /* Plain HTTP answers probes and metrics only: no TLS, no admission. */
    return MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG, 0,
                            NULL, NULL, &server_on_plain_request, s, MHD_OPTION_EXTERNAL_LOGGER,
                            &on_mhd_error, NULL, MHD_OPTION_LISTEN_SOCKET, fd,
                            MHD_OPTION_CONNECTION_LIMIT, 64u, MHD_OPTION_CONNECTION_TIMEOUT, 10u,
                            MHD_OPTION_END);
}

static void
apply_defaults(struct hw_server_options *o)
{
    long cores = sysconf(_SC_NPROCESSORS_ONLN);

    if (o->bind_address == NULL)
        o->bind_address = "0.0.0.0";
    if (o->max_request_bytes == 0)
        o->max_request_bytes = 8u << 20;
    if (o->max_request_memory == 0)
        o->max_request_memory = o->max_request_bytes > HW_SERVER_MEMORY_MIN ? o->max_request_bytes
                                                                            : HW_SERVER_MEMORY_MIN;
    if (o->connection_memory == 0)
        o->connection_memory = 32 * 1024;
    if (o->connection_limit == 0)
        o->connection_limit = 1024;
    if (o->idle_timeout_seconds == 0)
        o->idle_timeout_seconds = 60;
    if (o->header_deadline_seconds == 0)
        o->header_deadline_seconds = HEADER_DEADLINE_SECONDS;
    if (o->threads == 0)
        o->threads = cores > 0 ? (unsigned)cores : 1;
    if (o->threads > MAX_WORKERS)
        o->threads = MAX_WORKERS;
}

/* The workers: each may take the whole limit and more. The acceptor
 * enforces the total (briefly above it while an evicted connection
 * closes), and no daemon must ever reach its own limit. */
static int
start_workers(struct hw_server *s, struct hw_error *err)
{
    unsigned per = 2 * s->opts.connection_limit + 64;

    s->n_workers = s->opts.threads;
    for (unsigned i = 0; i < s->n_workers; i++) {
        struct worker *w = &s->workers[i];

        w->srv = s;
        w->wake = -1;
        pthread_mutex_init(&w->lock, NULL);
        w->daemon = start_worker(s, w, per);
        if (w->daemon == NULL) {
            hw_error_set(err, HW_EINTERNAL, "cannot start an HTTPS worker (libmicrohttpd)");
            return -1;
        }
        if (start_loop(w) != 0) {
            hw_error_set(err, HW_EINTERNAL, "cannot start an HTTPS worker's loop: %s",
                         strerror(errno));
            return -1;
        }
    }
    return 0;
}

struct hw_server *
hw_server_start(const struct hw_server_options *opts, const struct hw_certs_pair *pair,
                struct hw_error *err)
{
    struct hw_linger_options lo = {0};
    struct hw_server *s;

    /* The workers sit on cache lines of their own. */
    s = aligned_alloc(_Alignof(struct hw_server), sizeof(*s));
    if (s == NULL) {
        hw_error_set(err, HW_EINTERNAL, "out of memory");
        return NULL;
    }
    memset(s, 0, sizeof(*s));
    s->opts = *opts;
    apply_defaults(&s->opts);
    s->listen_fd = s->wake[0] = s->wake[1] = -1;
    pthread_mutex_init(&s->creds_lock, NULL);
    hw_budget_install();
    if (pair != NULL && hw_server_set_certificate(s, pair, err) != 0)
        goto fail;
    s->listen_fd = server_listen_on(s->opts.bind_address, s->opts.port, &s->port, err);
    if (s->listen_fd < 0)
        goto fail;
    if (pipe2(s->wake, O_CLOEXEC) != 0) {
        hw_error_set(err, HW_EINTERNAL, "pipe: %s", strerror(errno));
        goto fail;
    }
    /* A client gets its early answer if it finishes sending within the
     * bounds: a body up to twice the limit, in 10 s. */
    lo.max_bytes = 2 * s->opts.max_request_bytes + (1u << 20);
    if ((s->linger = hw_linger_new(&lo, err)) == NULL || start_workers(s, err) != 0)
        goto fail;
    if (s->opts.metrics_bind_address != NULL && (s->plain = start_plain(s, err)) == NULL)
        goto fail;
    if (pthread_create(&s->acceptor, NULL, server_acceptor_main, s) != 0) {
        hw_error_set(err, HW_EINTERNAL, "cannot start the acceptor thread");
        goto fail;
    }
    s->acceptor_started = 1;
    return s;
fail:
    hw_server_stop(s, 0);
    return NULL;
}

unsigned
hw_server_port(const struct hw_server *s)
{
    return s->port;
}

unsigned
hw_server_connections(struct hw_server *s)
{
    int total = 0;

    for (unsigned i = 0; i < s->n_workers; i++)
        total += atomic_load(&s->workers[i].connections);
    return total > 0 ? (unsigned)total : 0;
}

void
hw_server_begin_shutdown(struct hw_server *s)
{
    atomic_store(&s->draining, 1);
    hw_metrics_set_ready(0);
}

/* Stops the workers; MHD closes their connections, and the connections it
 * never started are forgotten here. */
static void
stop_workers(struct hw_server *s)
{
    atomic_store(&s->stopping, 1);
    for (unsigned i = 0; i < s->n_workers; i++) {
        struct worker *w = &s->workers[i];

        if (w->srv == NULL)
            continue;  /* never started */
        if (w->thread_started) {
            atomic_store(&w->stop, 1);
            server_wake(w);
            pthread_join(w->thread, NULL);
        }
        /* Its thread is gone: MHD closes the connections here. */
        if (w->daemon != NULL)
            MHD_stop_daemon(w->daemon);
        if (w->wake >= 0)
            close(w->wake);
        hw_policy_unref(w->policy);  /* its thread is gone */
        w->policy = NULL;
        server_forget_pending(w);
        pthread_mutex_destroy(&w->lock);
    }
    if (s->plain != NULL)
        MHD_stop_daemon(s->plain);
}

/* Nothing serves TLS any more: the credentials go, under their lock. */
static void
free_credentials(struct hw_server *s)
{
    pthread_mutex_lock(&s->creds_lock);
    creds_free(atomic_exchange(&s->live, NULL));
    while (s->retired != NULL) {
        struct creds *c = s->retired;

        s->retired = c->next;
        creds_free(c);
    }
    pthread_mutex_unlock(&s->creds_lock);
    pthread_mutex_destroy(&s->creds_lock);
}

/* Admissions being handled by the server's workers. */
static long
inflight(struct hw_server *s)
{
    long n = 0;

    for (unsigned i = 0; i < s->n_workers; i++)
        n += atomic_load(&s->workers[i].inflight);
    return n;
}

void
hw_server_stop(struct hw_server *s, unsigned drain_ms)
{
    struct timespec t0;

    if (s == NULL)
        return;
    atomic_store(&s->draining, 1);
    if (s->acceptor_started) {
        if (write(s->wake[1], "x", 1) < 0) {
            /* The pipe cannot be full or closed here. */
        }
        pthread_join(s->acceptor, NULL);
    }
    if (s->listen_fd >= 0)
        close(s->listen_fd);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    while (inflight(s) > 0 && server_elapsed(&t0) * 1000 < drain_ms)
        usleep(5000);
    stop_workers(s);
    hw_linger_free(s->linger);
    if (s->wake[0] >= 0)
        close(s->wake[0]);
    if (s->wake[1] >= 0)
        close(s->wake[1]);
    free_credentials(s);
    free(s);
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * server: the only user of libmicrohttpd and GnuTLS. It owns the listening
 * socket and an acceptor thread that gives each connection to the worker
 * daemon with the fewest connections (MHD_add_connection), the worker
 * daemons themselves (one epoll thread each, TLS 1.2/1.3 only), request
 * routing and limits (404, 405, 415, 413 before the body arrives, the
 * per-request memory budget), the exact count of connections, a lingering
 * close after early answers, and the TLS credentials, chosen per handshake
 * by a GnuTLS callback from the current snapshot. Deciding what to answer
 * is the handler's job; the policy and readiness come from a source main
 * wires in (reload.c), so this file calls nothing that calls it back.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "hookwarden/budget.h"
#include "hookwarden/handler.h"
#include "hookwarden/linger.h"
#include "hookwarden/log.h"
#include "hookwarden/metrics.h"
#include "hookwarden/server.h"

#define MAX_WORKERS 64
#define MAX_CHAIN 8
#define CREDS_RETIRE_SECONDS 300
/* A connection that has not sent a complete request header this long after
 * it was accepted is closed: slow clients cannot hold slots forever. */
#define HEADER_DEADLINE_SECONDS 10
/* At the connection limit, a connection this old that still has not sent a
 * request header makes room for a new one. */
#define EVICT_AFTER_SECONDS 1
/* A connection keeps its body buffer for its next request up to this size;
 * a larger one goes back to malloc when its request ends. */
#define BODY_KEEP_BYTES (16 * 1024)
/* TLS 1.2 and 1.3, AEAD ciphers and ECDHE only. */
#define TLS_PRIORITIES                                                                          \
    "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:-CIPHER-ALL:+AES-128-GCM:+AES-256-GCM:"        \
    "+CHACHA20-POLY1305:-MAC-ALL:+AEAD:-KX-ALL:+ECDHE-ECDSA:+ECDHE-RSA:%SERVER_PRECEDENCE"

enum route { ROUTE_NONE = 0, ROUTE_MUTATE, ROUTE_HEALTHZ, ROUTE_READYZ, ROUTE_METRICS };

struct creds {
    gnutls_pcert_st pcert[MAX_CHAIN];
    unsigned n_pcert;
    gnutls_privkey_t key;
    time_t retired_at;
    struct creds *next;  /* retired list */
};

/* A request, from its header to libmicrohttpd's completion callback. A
 * connection's requests come one after the other, so each connection has
 * one, reused with its body buffer (struct track); only a connection the
 * acceptor does not know gets one of its own. */
struct request {
    enum route route;
    struct hw_buf body;
    size_t received;
    int too_big;
    int inflight;
    int active;                /* between the header and the completion */
    int own;                   /* allocated for this request: freed at completion */
    struct timespec start;
    struct worker *w;          /* whose thread handles it */
};

/* Tracks in order of their start: the oldest at the head. */
struct track_list {
    struct track *head, *tail;
};

enum track_state { TRACK_PENDING = 0, TRACK_WAITING, TRACK_ACTIVE };

/* A connection, from the acceptor's hand-over to libmicrohttpd's close
 * notification. Until MHD reports it started (conn == NULL) it is pending:
 * counted, and known by its descriptor and the socket's inode, so that one
 * MHD closes without a word (it failed to set it up) is noticed. Started,
 * it waits for its first request header, in its worker's waiting list in
 * order of age, so that the header deadline and eviction look at the list's
 * head only; its first header moves it to the active list. */
struct track {
    struct worker *w;
    int fd;
    dev_t dev;
    ino_t ino;
    struct MHD_Connection *conn;
    struct timespec start;
    enum track_state state;   /* which list; under the worker's lock */
    _Atomic int requested;    /* 1 once a request header arrived; 2 once shut down */
    _Atomic int early;        /* answered before its body was read: linger at close */
    struct request rq;        /* the connection's current request (worker thread only) */
    struct track *prev, *next;
};

/* A worker daemon's state, on cache lines of its own: what its thread
 * counts and caches per request is not shared with the other workers. */
struct worker {
    _Alignas(64) struct hw_server *srv;
    struct MHD_Daemon *daemon;
    _Atomic int connections;  /* tracks in the three lists */
    pthread_mutex_t lock;     /* guards the lists against the acceptor */
    struct track_list lists[3];  /* by enum track_state; pending: usually none or one */
    _Atomic long inflight;    /* admissions being handled: what the drain waits for */
    /* The worker thread's own: the policy it answers with and the source's
     * generation it was current at (worker_policy). */
    struct hw_policy *policy;
    unsigned long policy_gen;
};

struct hw_server {
    struct hw_server_options opts;
    int listen_fd;
    int wake[2];
    unsigned port;
    pthread_t acceptor;
    int acceptor_started;
    struct worker workers[MAX_WORKERS];
    unsigned n_workers;
    struct MHD_Daemon *plain;  /* optional metrics listener */
    struct hw_linger *linger;
    _Atomic int draining;
    _Atomic int stopping;      /* workers are being stopped: no lingering */
    _Atomic(struct creds *) live;  /* served to new handshakes */
    pthread_mutex_t creds_lock;  /* writers only; readers load the pointer */
    struct creds *retired;
};

/* ---- table of contents: the static functions, in order ---- */
static double elapsed(const struct timespec *start);
static int cert_callback(gnutls_session_t session, const gnutls_datum_t *req_ca_dn, int nreqs,
                         const gnutls_pk_algorithm_t *pk_algos, int pk_algos_length,
                         gnutls_pcert_st **pcert, unsigned int *pcert_length,
                         gnutls_privkey_t *pkey);
static void creds_free(struct creds *c);
static struct creds *creds_new(const struct hw_certs_pair *pair, struct hw_error *err);
static enum MHD_Result send_response(struct MHD_Connection *conn, struct hw_server *s,
                                     struct hw_response *res, const char *allow);
static enum MHD_Result send_error(struct MHD_Connection *conn, struct hw_server *s,
                                  enum hw_error_code code, const char *msg, const char *allow,
                                  const char *method, const char *url);
static int is_ready(const struct hw_server *s, char *why, size_t whysz);
static enum MHD_Result serve_get(struct MHD_Connection *conn, struct hw_server *s,
                                 enum route route);
static int client_verified(struct MHD_Connection *conn, char *why, size_t whysz);
static enum route route_of(const char *url);
static int is_json(const char *ct);
static int has_body(struct MHD_Connection *conn);
static enum MHD_Result refuse_early(struct MHD_Connection *conn, struct hw_server *s,
                                    enum hw_error_code code, const char *msg, const char *allow,
                                    const char *method, const char *url);
static enum MHD_Result begin(struct MHD_Connection *conn, struct hw_server *s, struct request *rq,
                             const char *url, const char *method);
static void decide(struct hw_server *s, const struct hw_policy *p, const struct request *rq,
                   struct hw_response *res);
static const struct hw_policy *worker_policy(struct worker *w);
static enum MHD_Result finish_mutate(struct MHD_Connection *conn, struct worker *w,
                                     struct request *rq);
static enum MHD_Result cut_off(struct MHD_Connection *conn);
static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls);
static enum MHD_Result on_plain_request(void *cls, struct MHD_Connection *conn, const char *url,
                                        const char *method, const char *version,
                                        const char *upload_data, size_t *upload_data_size,
                                        void **con_cls);
static struct request *request_begin(struct worker *w, struct track *t);
static void request_end(struct request *rq);
static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe);
static int started_before(const struct timespec *a, const struct timespec *b);
static void track_insert(struct worker *w, struct track *t, enum track_state state);
static void track_remove(struct worker *w, struct track *t);
static struct track *pending_of(struct worker *w, int fd);
static struct track *track_of(struct MHD_Connection *conn);
static void close_gracefully(struct hw_server *s, struct track *t);
static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe);
static void mark_requested(struct track *t);
static void cut(struct track *t);
static double age(const struct timespec *now, const struct timespec *start);
static struct track *oldest_waiting(struct worker *w, const struct timespec *now, double older);
static void sweep_deadline(struct hw_server *s);
static int evict_one(struct hw_server *s);
static void forget_vanished(struct hw_server *s, int fd);
static void on_mhd_error(void *cls, const char *fmt, va_list ap);
static int listen_on(const char *addr, unsigned port, unsigned *bound, struct hw_error *err);
static struct worker *least_loaded(struct hw_server *s, int *total);
static void hand_over(struct worker *w, int fd, const struct sockaddr_storage *ss, socklen_t sl);
static void accept_all(struct hw_server *s);
static void *acceptor_main(void *arg);
static struct MHD_Daemon *start_worker(struct hw_server *s, struct worker *w, unsigned per_worker);
static struct MHD_Daemon *start_plain(struct hw_server *s, struct hw_error *err);
static void apply_defaults(struct hw_server_options *o);
static int start_workers(struct hw_server *s, struct hw_error *err);
static void stop_workers(struct hw_server *s);
static void free_credentials(struct hw_server *s);
static long inflight(struct hw_server *s);

static double
elapsed(const struct timespec *start)
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
    struct track *t = conn != NULL ? track_of(conn) : NULL;
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

/* ---- responses ---- */

static enum MHD_Result
send_response(struct MHD_Connection *conn, struct hw_server *s, struct hw_response *res,
              const char *allow)
{
    struct MHD_Response *r;
    enum MHD_Result ret;

    r = MHD_create_response_from_buffer(res->body_len, res->body, MHD_RESPMEM_MUST_FREE);
    if (r == NULL)
        return MHD_NO;
    res->body = NULL;  /* MHD frees it */
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, res->content_type);
    if (allow != NULL)
        MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, allow);
    /* While draining, ask clients to reconnect: elsewhere, once the
     * endpoint is gone. */
    if (atomic_load(&s->draining))
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONNECTION, "close");
    ret = MHD_queue_response(conn, (unsigned)res->status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result
send_error(struct MHD_Connection *conn, struct hw_server *s, enum hw_error_code code,
           const char *msg, const char *allow, const char *method, const char *url)
{
    struct hw_response res = {0};
    enum MHD_Result ret;

    hw_handler_error(code, msg, &res);
    hw_metrics_bad_request(res.status);
    {
        /* The path is the client's: at most 200 bytes of it in the log. */
        char path[201];
        const struct hw_log_field f[] = {
            {"method", 's', method, 0, 0}, {"path", 's', path, 0, 0},
            {"status", 'i', NULL, res.status, 0}, {"error", 's', msg, 0, 0},
        };

        snprintf(path, sizeof(path), "%s", url);
        hw_log_fields(HW_LOG_INFO, "request refused", f, sizeof(f) / sizeof(f[0]));
    }
    ret = send_response(conn, s, &res, allow);
    hw_response_clear(&res);
    return ret;
}

/* 1 when /readyz should answer 200; otherwise why says what is missing. */
static int
is_ready(const struct hw_server *s, char *why, size_t whysz)
{
    snprintf(why, whysz, "ready");
    if (atomic_load(&s->draining)) {
        snprintf(why, whysz, "shutting down");
        return 0;
    }
    return s->opts.ready == NULL || s->opts.ready(s->opts.source_ctx, why, whysz);
}

static enum MHD_Result
serve_get(struct MHD_Connection *conn, struct hw_server *s, enum route route)
{
    struct hw_response res = {0};
    struct hw_buf b;
    enum MHD_Result ret;
    char why[160], text[200];

    if (route == ROUTE_HEALTHZ) {
        hw_handler_text(200, "text/plain; charset=utf-8", "ok\n", 3, &res);
    } else if (route == ROUTE_READYZ) {
        int ready = is_ready(s, why, sizeof(why));

        hw_metrics_set_ready(ready);
        if (ready) {
            hw_handler_text(200, "text/plain; charset=utf-8", "ok\n", 3, &res);
        } else {
            int n = snprintf(text, sizeof(text), "not ready: %s\n", why);

            hw_metrics_bad_request(503);
            hw_handler_text(503, "text/plain; charset=utf-8", text,
                            n > 0 && (size_t)n < sizeof(text) ? (size_t)n : strlen(text), &res);
        }
    } else {
        hw_metrics_set_ready(is_ready(s, why, sizeof(why)));
        hw_buf_init(&b, 0);
        if (hw_metrics_render(&b) != 0) {
            hw_buf_free(&b);
            return MHD_NO;
        }
        res.status = 200;
        res.content_type = "text/plain; version=0.0.4; charset=utf-8";
        res.body = hw_buf_steal(&b, &res.body_len);
    }
    ret = send_response(conn, s, &res, NULL);
    hw_response_clear(&res);
    return ret;
}

/* With --client-ca-file, GnuTLS asked for a certificate during the
 * handshake; accept the request only if one came and chains to that CA. */
static int
client_verified(struct MHD_Connection *conn, char *why, size_t whysz)
{
    const union MHD_ConnectionInfo *ci;
    unsigned int status = 0;
    gnutls_datum_t text;
    int r;

    ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
    if (ci == NULL || ci->tls_session == NULL) {
        snprintf(why, whysz, "no TLS session");
        return 0;
    }
    if (gnutls_certificate_get_peers(ci->tls_session, NULL) == NULL) {
        snprintf(why, whysz, "a client certificate is required");
        return 0;
    }
    r = gnutls_certificate_verify_peers2(ci->tls_session, &status);
    if (r < 0 || status != 0) {
        if (r >= 0 && gnutls_certificate_verification_status_print(status, GNUTLS_CRT_X509, &text, 0) == 0) {
            snprintf(why, whysz, "client certificate rejected: %s", text.data);
            gnutls_free(text.data);
        } else {
            snprintf(why, whysz, "client certificate rejected: %s", gnutls_strerror(r));
        }
        return 0;
    }
    return 1;
}

static enum route
route_of(const char *url)
{
    if (strcmp(url, "/mutate") == 0)
        return ROUTE_MUTATE;
    if (strcmp(url, "/healthz") == 0)
        return ROUTE_HEALTHZ;
    if (strcmp(url, "/readyz") == 0)
        return ROUTE_READYZ;
    if (strcmp(url, "/metrics") == 0)
        return ROUTE_METRICS;
    return ROUTE_NONE;
}

/* application/json, with optional parameters, case-insensitive. */
static int
is_json(const char *ct)
{
    size_t n = strlen("application/json");

    if (ct == NULL || strncasecmp(ct, "application/json", n) != 0)
        return 0;
    return ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ' || ct[n] == '\t';
}

/* The request announces a body (a length other than 0, or chunks). */
static int
has_body(struct MHD_Connection *conn)
{
    const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                 MHD_HTTP_HEADER_CONTENT_LENGTH);

    return (cl != NULL && strtoull(cl, NULL, 10) > 0) ||
           MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                       MHD_HTTP_HEADER_TRANSFER_ENCODING) != NULL;
}

/* An answer before the body is read: the connection closes after it, and
 * the close lingers so that a client still sending reads the answer. */
static enum MHD_Result
refuse_early(struct MHD_Connection *conn, struct hw_server *s, enum hw_error_code code,
             const char *msg, const char *allow, const char *method, const char *url)
{
    struct track *t = track_of(conn);

    if (t != NULL && has_body(conn))
        atomic_store(&t->early, 1);
    return send_error(conn, s, code, msg, allow, method, url);
}

/* The first call for a request: route, method, media type, declared size. */
static enum MHD_Result
begin(struct MHD_Connection *conn, struct hw_server *s, struct request *rq, const char *url,
      const char *method)
{
    const char *ct, *cl;
    char msg[256];

    rq->route = route_of(url);
    /* Probes stay open (the kubelet has no client certificate); admission
     * needs one when a client CA is configured. */
    if (rq->route == ROUTE_MUTATE && s->opts.client_ca_pem != NULL &&
        !client_verified(conn, msg, sizeof(msg)))
        return refuse_early(conn, s, HW_EAUTH, msg, NULL, method, url);
    if (rq->route == ROUTE_NONE) {
        snprintf(msg, sizeof(msg), "no such path %.100s: hookwarden serves POST /mutate, GET "
                 "/healthz, /readyz, /metrics", url);
        return refuse_early(conn, s, HW_ENOTFOUND, msg, NULL, method, url);
    }
    if (rq->route != ROUTE_MUTATE) {
        if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
            snprintf(msg, sizeof(msg), "method %.20s not allowed on %s: use GET", method, url);
            return refuse_early(conn, s, HW_EMETHOD, msg, "GET, HEAD", method, url);
        }
        /* Answered once the request is complete: a response queued before
         * that makes libmicrohttpd close the connection. */
        return MHD_YES;
    }
    if (strcmp(method, "POST") != 0) {
        snprintf(msg, sizeof(msg), "method %.20s not allowed on /mutate: use POST", method);
        return refuse_early(conn, s, HW_EMETHOD, msg, "POST", method, url);
    }
    ct = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
    if (!is_json(ct)) {
        snprintf(msg, sizeof(msg), "Content-Type %.60s%s is not supported: send application/json",
                 ct ? ct : "(missing)", ct && strlen(ct) > 60 ? "..." : "");
        return refuse_early(conn, s, HW_EMEDIA, msg, NULL, method, url);
    }
    cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (cl != NULL && strtoull(cl, NULL, 10) > s->opts.max_request_bytes) {
        snprintf(msg, sizeof(msg), "request body of %.20s bytes is over the limit of %zu bytes", cl,
                 s->opts.max_request_bytes);
        return refuse_early(conn, s, HW_ETOOBIG, msg, NULL, method, url);
    }
    /* The connection's buffer from its last request, emptied. */
    rq->body.len = 0;
    rq->body.max = s->opts.max_request_bytes;
    if (rq->body.data != NULL)
        rq->body.data[0] = '\0';
    /* The declared size at once: a body grown by doubling is copied on
     * the way and can hold twice its size for a moment. */
    if (cl != NULL && hw_buf_reserve(&rq->body, (size_t)strtoull(cl, NULL, 10)) != 0)
        hw_buf_free(&rq->body);
    /* Only admissions count as in flight: they are what a drain waits for. */
    rq->inflight = 1;
    atomic_fetch_add_explicit(&rq->w->inflight, 1, memory_order_relaxed);
    hw_metrics_inflight_add(1);
    return MHD_YES;
}

/* The handler, with the jansson memory it may use bounded: past the
 * budget its allocations fail, and whatever it made of that becomes a 413
 * naming the budget. */
static void
decide(struct hw_server *s, const struct hw_policy *p, const struct request *rq,
       struct hw_response *res)
{
    struct hw_budget budget;
    char msg[256];

    hw_budget_begin(&budget, s->opts.max_request_memory);
    hw_handler_mutate(p, rq->body.data ? rq->body.data : "", rq->body.len, res);
    hw_budget_end(&budget);
    if (!budget.exceeded)
        return;
    hw_metrics_budget_exceeded();
    snprintf(msg, sizeof(msg),
             "request body of %zu bytes holds too many JSON values: decoding it needs more than "
             "the per-request memory budget of %zu bytes (--max-request-memory)",
             rq->body.len, s->opts.max_request_memory);
    hw_handler_error(HW_ETOOBIG, msg, res);
}

/*
 * The policy for the worker's admission, borrowed until its next call.
 * When the source says when its policy changes (a generation), the worker
 * keeps its reference across requests and asks again only after a change:
 * no lock and no count shared with the other workers per request. A policy
 * replaced meanwhile lives until the worker's next admission, or its stop.
 */
static const struct hw_policy *
worker_policy(struct worker *w)
{
    const struct hw_server_options *o = &w->srv->opts;
    unsigned long gen = 0;
    struct hw_policy *old = w->policy;

    if (o->policy == NULL)
        return NULL;
    if (o->policy_generation != NULL) {
        gen = o->policy_generation(o->source_ctx);
        if (old != NULL && gen == w->policy_gen)
            return old;
    }
    /* The generation first: a change after it is seen at the next call. */
    w->policy = o->policy(o->source_ctx);
    w->policy_gen = gen;
    hw_policy_unref(old);
    return w->policy;
}

static enum MHD_Result
finish_mutate(struct MHD_Connection *conn, struct worker *w, struct request *rq)
{
    struct hw_server *s = w->srv;
    const struct hw_policy *p;
    struct hw_response res;
    struct timespec t0;
    enum MHD_Result ret;
    double secs;

    hw_response_init(&res);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    p = worker_policy(w);
    if (p == NULL)
        hw_handler_error(HW_EINTERNAL, "no policy loaded", &res);
    else
        decide(s, p, rq, &res);
    secs = elapsed(&t0);
    if (res.status != 200)
        hw_metrics_bad_request(res.status);
    hw_metrics_admission(&res, secs);
    if (hw_log_enabled(HW_LOG_INFO)) {
        const struct hw_log_field f[] = {
            {"uid", 's', res.uid, 0, 0},
            {"operation", 's',
             res.operation >= 0 ? hw_review_operation_name((enum hw_operation)res.operation) : "", 0, 0},
            {"kind", 's', res.kind, 0, 0},
            {"namespace", 's', res.namespace_, 0, 0},
            {"name", 's', res.name, 0, 0},
            {"decision", 's', hw_handler_decision_name(res.decision), 0, 0},
            {"patch_ops", 'i', NULL, (long long)res.patch_ops, 0},
            {"warnings", 'i', NULL, (long long)res.n_warnings, 0},
            {"status", 'i', NULL, res.status, 0},
            {"duration_ms", 'd', NULL, 0, elapsed(&rq->start) * 1e3},
            {"rules", 'j', res.rules[0] ? res.rules : NULL, 0, 0},
            {"overrides", 'j', res.overrides[0] ? res.overrides : NULL, 0, 0},
            {"message", 's', res.message[0] ? res.message : NULL, 0, 0},
            {"error", 's', res.status != 200 ? res.error : NULL, 0, 0},
        };

        hw_log_fields(HW_LOG_INFO, "admission", f, sizeof(f) / sizeof(f[0]));
    }
    ret = send_response(conn, s, &res, NULL);
    hw_response_clear(&res);
    return ret;
}

/* Ends a connection that sends far more than it may: closed at once,
 * without the lingering close an answered client gets. */
static enum MHD_Result
cut_off(struct MHD_Connection *conn)
{
    struct track *t = track_of(conn);

    if (t != NULL)
        atomic_store(&t->requested, 2);
    return MHD_NO;
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
           const char *version, const char *upload_data, size_t *upload_data_size, void **con_cls)
{
    struct worker *w = cls;
    struct hw_server *s = w->srv;
    struct request *rq = *con_cls;
    char msg[160];

    (void)version;
    if (rq == NULL) {
        struct track *t = track_of(conn);

        if ((rq = request_begin(w, t)) == NULL)
            return MHD_NO;
        *con_cls = rq;
        mark_requested(t);
        return begin(conn, s, rq, url, method);
    }
    if (*upload_data_size > 0 && rq->route != ROUTE_MUTATE) {
        /* A body where none is expected: read and dropped, up to a point. */
        rq->received += *upload_data_size;
        *upload_data_size = 0;
        return rq->received > (1u << 20) ? cut_off(conn) : MHD_YES;
    }
    if (*upload_data_size > 0) {
        rq->received += *upload_data_size;
        if (!rq->too_big && hw_buf_append(&rq->body, upload_data, *upload_data_size) != 0) {
            rq->too_big = 1;
            hw_buf_free(&rq->body);
        }
        *upload_data_size = 0;
        /* A chunked body can only be answered once it ends; one that goes
         * far past the limit is cut off instead of read forever. */
        if (rq->too_big && rq->received > 2 * s->opts.max_request_bytes + (1u << 20))
            return cut_off(conn);
        return MHD_YES;
    }
    if (rq->route != ROUTE_MUTATE)
        return serve_get(conn, s, rq->route);
    if (rq->too_big) {
        snprintf(msg, sizeof(msg), "request body is over the limit of %zu bytes",
                 s->opts.max_request_bytes);
        return send_error(conn, s, HW_ETOOBIG, msg, NULL, method, url);
    }
    return finish_mutate(conn, w, rq);
}

/* The optional plain-HTTP listener: probes and metrics only. */
static enum MHD_Result
on_plain_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                 const char *version, const char *upload_data, size_t *upload_data_size,
                 void **con_cls)
{
    struct hw_server *s = cls;
    enum route route = route_of(url);
    char msg[256];

    (void)version, (void)upload_data;
    if (*con_cls == NULL) {
        *con_cls = conn;  /* first call: answer once any body is read */
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        *upload_data_size = 0;  /* discarded: nothing here takes a body */
        return MHD_YES;
    }
    if (route == ROUTE_NONE || route == ROUTE_MUTATE) {
        snprintf(msg, sizeof(msg), "no such path %.100s on the metrics listener: it serves GET "
                 "/healthz, /readyz, /metrics (admission is HTTPS only)", url);
        return send_error(conn, s, HW_ENOTFOUND, msg, NULL, method, url);
    }
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
        snprintf(msg, sizeof(msg), "method %.20s not allowed on %s: use GET", method, url);
        return send_error(conn, s, HW_EMETHOD, msg, "GET, HEAD", method, url);
    }
    return serve_get(conn, s, route);
}

/* The connection's request, or one of its own for a connection the
 * acceptor does not know (or, defensively, whose request is still on). */
static struct request *
request_begin(struct worker *w, struct track *t)
{
    struct request *rq;

    if (t != NULL && !t->rq.active) {
        rq = &t->rq;
        rq->own = 0;
    } else {
        if ((rq = calloc(1, sizeof(*rq))) == NULL)
            return NULL;
        hw_buf_init(&rq->body, 0);
        rq->own = 1;
    }
    rq->route = ROUTE_NONE;
    rq->received = 0;
    rq->too_big = 0;
    rq->inflight = 0;
    rq->active = 1;
    rq->w = w;
    clock_gettime(CLOCK_MONOTONIC, &rq->start);
    return rq;
}

/* The request is over: it no longer counts, and its body buffer is kept
 * for the connection's next request when it is small. */
static void
request_end(struct request *rq)
{
    if (rq->inflight) {
        atomic_fetch_sub_explicit(&rq->w->inflight, 1, memory_order_relaxed);
        hw_metrics_inflight_add(-1);
        rq->inflight = 0;
    }
    rq->active = 0;
    if (rq->own || rq->body.cap > BODY_KEEP_BYTES)
        hw_buf_free(&rq->body);
    if (rq->own)
        free(rq);
}

static void
on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
             enum MHD_RequestTerminationCode toe)
{
    struct request *rq = *con_cls;

    (void)cls, (void)conn, (void)toe;
    if (rq == NULL)
        return;
    request_end(rq);
    *con_cls = NULL;
}

/* ---- connections: counted from hand-over to close ---- */

static int
started_before(const struct timespec *a, const struct timespec *b)
{
    return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

/* Puts t into w's list for state, in order of start (from the tail: it is
 * almost always the newest). The lists do not count: a connection counts
 * from hand_over() until it is closed or forgotten, whichever list it is
 * in. Caller holds w's lock. */
static void
track_insert(struct worker *w, struct track *t, enum track_state state)
{
    struct track_list *l = &w->lists[state];
    struct track *after = l->tail;

    while (after != NULL && started_before(&t->start, &after->start))
        after = after->prev;
    t->state = state;
    t->prev = after;
    t->next = after != NULL ? after->next : l->head;
    if (t->next != NULL)
        t->next->prev = t;
    else
        l->tail = t;
    if (after != NULL)
        after->next = t;
    else
        l->head = t;
}

/* Takes t out of its list. Caller holds w's lock. */
static void
track_remove(struct worker *w, struct track *t)
{
    struct track_list *l = &w->lists[t->state];

    if (t->prev != NULL)
        t->prev->next = t->next;
    else
        l->head = t->next;
    if (t->next != NULL)
        t->next->prev = t->prev;
    else
        l->tail = t->prev;
    t->prev = t->next = NULL;
}

/* The pending track of descriptor fd in w, or NULL. Caller holds w's lock. */
static struct track *
pending_of(struct worker *w, int fd)
{
    for (struct track *t = w->lists[TRACK_PENDING].head; t != NULL; t = t->next) {
        if (t->fd == fd)
            return t;
    }
    return NULL;
}

/* The track MHD gave this connection at its start, or NULL. */
static struct track *
track_of(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

    return ci != NULL ? ci->socket_context : NULL;
}

/* Closing a socket with the client's bytes unread makes the kernel reset
 * the connection, and a client still sending loses the answer. So the close
 * lingers after an early answer (ours before the body, or libmicrohttpd's
 * 431 or 400 before a request header was complete) and whenever bytes are
 * unread. Not for connections we cut on purpose, nor while stopping. */
static void
close_gracefully(struct hw_server *s, struct track *t)
{
    int unread = 0, fd, requested = atomic_load(&t->requested);

    if (s->linger == NULL || atomic_load(&s->stopping) || requested == 2)
        return;
    if (!atomic_load(&t->early) && requested != 0 &&
        (ioctl(t->fd, FIONREAD, &unread) != 0 || unread <= 0))
        return;
    /* MHD closes its descriptor right after this notification; the
     * duplicate keeps the socket open for the lingering thread. */
    fd = fcntl(t->fd, F_DUPFD_CLOEXEC, 0);
    if (fd >= 0)
        hw_linger_add(s->linger, fd);
}

static void
on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
              enum MHD_ConnectionNotificationCode toe)
{
    struct worker *w = cls;
    const union MHD_ConnectionInfo *ci;
    struct track *t;

    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        pthread_mutex_lock(&w->lock);
        t = ci != NULL ? pending_of(w, ci->connect_fd) : NULL;
        if (t != NULL) {
            track_remove(w, t);
            t->conn = conn;
            track_insert(w, t, TRACK_WAITING);
        }
        pthread_mutex_unlock(&w->lock);
        *socket_context = t;
    } else if (toe == MHD_CONNECTION_NOTIFY_CLOSED) {
        /* Unlinked before MHD closes the socket: the acceptor never touches
         * a descriptor that may have been reused. */
        t = *socket_context;
        if (t == NULL)
            return;
        pthread_mutex_lock(&w->lock);
        track_remove(w, t);
        pthread_mutex_unlock(&w->lock);
        atomic_fetch_sub(&w->connections, 1);
        close_gracefully(w->srv, t);
        /* libmicrohttpd completes a request before it closes its
         * connection; should it ever not, the request ends here. */
        if (t->rq.active)
            request_end(&t->rq);
        hw_buf_free(&t->rq.body);
        free(t);
        *socket_context = NULL;
    }
}

/* A request header of this connection has arrived: the first moves it
 * out of the waiting list (the only time a request takes the lock). */
static void
mark_requested(struct track *t)
{
    if (t == NULL || atomic_load_explicit(&t->requested, memory_order_relaxed) != 0)
        return;
    pthread_mutex_lock(&t->w->lock);
    if (atomic_load(&t->requested) == 0) {
        atomic_store(&t->requested, 1);
        track_remove(t->w, t);
        track_insert(t->w, t, TRACK_ACTIVE);
    }
    pthread_mutex_unlock(&t->w->lock);
}

/* Shuts the waiting connection's socket down; MHD then closes it. Caller
 * holds the worker's lock, so the connection is still open. */
static void
cut(struct track *t)
{
    shutdown(t->fd, SHUT_RDWR);
    atomic_store(&t->requested, 2);
    track_remove(t->w, t);
    track_insert(t->w, t, TRACK_ACTIVE);
}

static double
age(const struct timespec *now, const struct timespec *start)
{
    return (double)(now->tv_sec - start->tv_sec) + (double)(now->tv_nsec - start->tv_nsec) / 1e9;
}

/* The worker's oldest started connection without a request header if it
 * is older than `older` seconds, else NULL: the head of its waiting list.
 * Caller holds the worker's lock. */
static struct track *
oldest_waiting(struct worker *w, const struct timespec *now, double older)
{
    struct track *t = w->lists[TRACK_WAITING].head;

    return t != NULL && age(now, &t->start) >= older ? t : NULL;
}

/* Closes every connection that has sent no request header within the
 * deadline: the heads of the waiting lists, nothing else is looked at. */
static void
sweep_deadline(struct hw_server *s)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    for (unsigned i = 0; i < s->n_workers; i++) {
        struct worker *w = &s->workers[i];
        struct track *t;

        pthread_mutex_lock(&w->lock);
        while ((t = oldest_waiting(w, &now, s->opts.header_deadline_seconds)) != NULL)
            cut(t);
        pthread_mutex_unlock(&w->lock);
    }
}

/* At the limit: closes the oldest connection still waiting for its request
 * header, if one has waited EVICT_AFTER_SECONDS; 1 when one was closed. */
static int
evict_one(struct hw_server *s)
{
    struct worker *best = NULL;
    struct timespec now;
    double best_age = -1;

    clock_gettime(CLOCK_MONOTONIC, &now);
    for (unsigned i = 0; i < s->n_workers; i++) {
        struct worker *w = &s->workers[i];
        struct track *t;

        pthread_mutex_lock(&w->lock);
        t = oldest_waiting(w, &now, EVICT_AFTER_SECONDS);
        if (t != NULL && age(&now, &t->start) > best_age) {
            best_age = age(&now, &t->start);
            best = w;
        }
        pthread_mutex_unlock(&w->lock);
    }
    if (best != NULL) {
        struct track *t;

        pthread_mutex_lock(&best->lock);
        t = oldest_waiting(best, &now, EVICT_AFTER_SECONDS);
        if (t != NULL)
            cut(t);
        pthread_mutex_unlock(&best->lock);
        return t != NULL;
    }
    return 0;
}

/* A pending connection whose descriptor no longer is its socket was closed
 * by MHD without a start notification: libmicrohttpd 0.9.75's
 * new_connection_process_() does that when it cannot allocate the
 * connection's memory pool or finds its own limit reached. Forgets those,
 * and any pending one whose descriptor number accept4() just returned
 * again (fd >= 0), so the count never creeps. */
static void
forget_vanished(struct hw_server *s, int fd)
{
    for (unsigned i = 0; i < s->n_workers; i++) {
        struct worker *w = &s->workers[i];

        pthread_mutex_lock(&w->lock);
        for (struct track *t = w->lists[TRACK_PENDING].head, *next; t != NULL; t = next) {
            struct stat st;

            next = t->next;
            if (t->fd == fd || fstat(t->fd, &st) != 0 || st.st_ino != t->ino ||
                st.st_dev != t->dev) {
                track_remove(w, t);
                atomic_fetch_sub(&w->connections, 1);
                free(t);
            }
        }
        pthread_mutex_unlock(&w->lock);
    }
}

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

/* ---- listening and accepting ---- */

static int
listen_on(const char *addr, unsigned port, unsigned *bound, struct hw_error *err)
{
    struct sockaddr_in6 sa6;
    struct sockaddr_in sa4;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    int fd = -1, one = 1, v6 = strchr(addr, ':') != NULL;

    memset(&sa6, 0, sizeof(sa6));
    memset(&sa4, 0, sizeof(sa4));
    if (v6 ? inet_pton(AF_INET6, addr, &sa6.sin6_addr) != 1 : inet_pton(AF_INET, addr, &sa4.sin_addr) != 1) {
        hw_error_set(err, HW_EINVAL, "bind address %s is not an IP address", addr);
        return -1;
    }
    fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        hw_error_set(err, HW_EINTERNAL, "socket: %s", strerror(errno));
        return -1;
    }
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    sa6.sin6_family = AF_INET6;
    sa6.sin6_port = htons((uint16_t)port);
    sa4.sin_family = AF_INET;
    sa4.sin_port = htons((uint16_t)port);
    if ((v6 ? bind(fd, (struct sockaddr *)&sa6, sizeof(sa6)) : bind(fd, (struct sockaddr *)&sa4, sizeof(sa4))) != 0 ||
        listen(fd, 1024) != 0) {
        hw_error_set(err, HW_EINVAL, "cannot listen on %s:%u: %s", addr, port, strerror(errno));
        close(fd);
        return -1;
    }
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0)
        *bound = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                                : ((struct sockaddr_in *)&ss)->sin_port);
    return fd;
}

static struct worker *
least_loaded(struct hw_server *s, int *total)
{
    static _Atomic unsigned rr;
    unsigned start = atomic_fetch_add(&rr, 1), best = start % s->n_workers;
    int best_n = -1;

    *total = 0;
    for (unsigned i = 0; i < s->n_workers; i++) {
        unsigned k = (start + i) % s->n_workers;
        int n = atomic_load(&s->workers[k].connections);

        *total += n;
        if (best_n < 0 || n < best_n) {
            best_n = n;
            best = k;
        }
    }
    return &s->workers[best];
}

/* Gives an accepted connection to a worker, counted from now: the worker
 * starts it later, and a burst must never push a daemon past its own
 * limit (MHD 0.9.75 can deadlock on that path). Takes fd. */
static void
hand_over(struct worker *w, int fd, const struct sockaddr_storage *ss, socklen_t sl)
{
    struct track *t = calloc(1, sizeof(*t));
    struct stat st;

    if (t == NULL || fstat(fd, &st) != 0) {
        int e = t == NULL ? ENOMEM : errno;

        free(t);
        close(fd);
        hw_log(HW_LOG_WARN, "connection dropped", "{s:s}", "error", strerror(e));
        return;
    }
    t->w = w;
    t->fd = fd;
    t->dev = st.st_dev;
    t->ino = st.st_ino;
    clock_gettime(CLOCK_MONOTONIC, &t->start);
    atomic_fetch_add(&w->connections, 1);
    pthread_mutex_lock(&w->lock);
    track_insert(w, t, TRACK_PENDING);
    pthread_mutex_unlock(&w->lock);
    /* MHD closes the socket itself when it cannot take it. */
    if (MHD_add_connection(w->daemon, fd, (const struct sockaddr *)ss, sl) != MHD_YES) {
        int e = errno;

        /* Still pending unless forget_vanished() saw its descriptor go;
         * only the acceptor forgets, and it is here. */
        pthread_mutex_lock(&w->lock);
        track_remove(w, t);
        pthread_mutex_unlock(&w->lock);
        atomic_fetch_sub(&w->connections, 1);
        free(t);
        hw_log(HW_LOG_WARN, "connection dropped", "{s:s}", "error", strerror(e));
    }
}

/* Accepts what is waiting; at the limit, refuses or evicts. */
static void
accept_all(struct hw_server *s)
{
    for (;;) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof(ss);
        struct worker *w;
        int fd, total;

        fd = accept4(s->listen_fd, (struct sockaddr *)&ss, &sl, SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                hw_log(HW_LOG_WARN, "accept failed", "{s:s}", "error", strerror(errno));
                usleep(10000);  /* let connections close before trying again */
            }
            return;
        }
        forget_vanished(s, fd);
        w = least_loaded(s, &total);
        /* At the limit, a client that has not even sent a request header
         * gives its place up first; only then is the new one refused. */
        if ((unsigned)total >= s->opts.connection_limit && !evict_one(s)) {
            hw_metrics_connection_rejected();
            close(fd);
            continue;
        }
        hand_over(w, fd, &ss, sl);
    }
}

static void *
acceptor_main(void *arg)
{
    struct hw_server *s = arg;

    for (;;) {
        struct pollfd p[2] = {{s->listen_fd, POLLIN, 0}, {s->wake[0], POLLIN, 0}};

        if (poll(p, 2, 1000) < 0 && errno != EINTR)
            break;
        if (p[1].revents != 0)
            break;
        forget_vanished(s, -1);
        sweep_deadline(s);
        accept_all(s);
    }
    return NULL;
}

static struct MHD_Daemon *
start_worker(struct hw_server *s, struct worker *w, unsigned per_worker)
{
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_TLS |
                     MHD_USE_NO_LISTEN_SOCKET | MHD_USE_ITC | MHD_USE_ERROR_LOG;
    struct MHD_OptionItem ops[12];
    int n = 0;

    ops[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_PRIORITIES, 0, (void *)TLS_PRIORITIES};
    if (s->opts.client_ca_pem != NULL)
        ops[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_TRUST, 0, (void *)s->opts.client_ca_pem};
    ops[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_LIMIT, per_worker, NULL};
    ops[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_TIMEOUT, s->opts.idle_timeout_seconds, NULL};
    ops[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_MEMORY_LIMIT,
                                       (intptr_t)s->opts.connection_memory, NULL};
    ops[n++] = (struct MHD_OptionItem){MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)&on_completed, NULL};
    ops[n++] = (struct MHD_OptionItem){MHD_OPTION_NOTIFY_CONNECTION, (intptr_t)&on_connection, w};
    ops[n++] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
    /* The logger first, so that no message goes to MHD's own stderr logger. */
    return MHD_start_daemon(flags, 0, NULL, NULL, &on_request, w, MHD_OPTION_EXTERNAL_LOGGER,
                            &on_mhd_error, NULL, MHD_OPTION_HTTPS_CERT_CALLBACK, &cert_callback,
                            MHD_OPTION_ARRAY, ops, MHD_OPTION_END);
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
    fd = listen_on(host[0] ? host : "0.0.0.0", port, &bound, err);
    if (fd < 0)
        return NULL;
    /* Plain HTTP answers probes and metrics only: no TLS, no admission. */
    return MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG, 0,
                            NULL, NULL, &on_plain_request, s, MHD_OPTION_EXTERNAL_LOGGER,
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
        s->workers[i].srv = s;
        pthread_mutex_init(&s->workers[i].lock, NULL);
        s->workers[i].daemon = start_worker(s, &s->workers[i], per);
        if (s->workers[i].daemon == NULL) {
            hw_error_set(err, HW_EINTERNAL, "cannot start an HTTPS worker (libmicrohttpd)");
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
    s->listen_fd = listen_on(s->opts.bind_address, s->opts.port, &s->port, err);
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
    if (pthread_create(&s->acceptor, NULL, acceptor_main, s) != 0) {
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
        if (w->daemon != NULL)
            MHD_stop_daemon(w->daemon);
        hw_policy_unref(w->policy);  /* its thread is gone */
        w->policy = NULL;
        while (w->lists[TRACK_PENDING].head != NULL) {
            struct track *t = w->lists[TRACK_PENDING].head;

            track_remove(w, t);
            atomic_fetch_sub(&w->connections, 1);
            free(t);
        }
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
    while (inflight(s) > 0 && elapsed(&t0) * 1000 < drain_ms)
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

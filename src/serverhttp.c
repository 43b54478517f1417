/* SPDX-License-Identifier: Apache-2.0 */
/*
 * serverhttp: what the worker daemons do with a request, from its header to
 * its completion: routing (POST /mutate, GET /healthz, /readyz, /metrics),
 * the limits checked before the body is read (404, 405, 415, 413, client
 * certificates), the body's accumulation in the connection's buffer, the
 * handler's answer under the per-request memory budget, the request log
 * line, and the answers themselves. Deciding what to answer is the
 * handler's job (handler.c); the layout is in server_impl.h.
 */
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include "hookwarden/budget.h"
#include "hookwarden/handler.h"
#include "hookwarden/log.h"
#include "hookwarden/metrics.h"
#include "server_impl.h"

/* A connection keeps its body buffer for its next request up to this size;
 * a larger one goes back to malloc when its request ends. */
#define BODY_KEEP_BYTES (16 * 1024)

/* Answers with a body up to this size go out as one TLS record (cork()). */
#define CORK_MAX_BODY 4096

/* ---- table of contents: the static functions, in order ---- */
static void cork(struct MHD_Connection *conn, size_t body_len);
static void push_record(struct track *t);
static void uncork(struct MHD_Connection *conn);
static enum MHD_Result send_response(struct MHD_Connection *conn, struct hw_server *s, struct hw_response *res,
                                     const char *allow);
static enum MHD_Result send_error(struct MHD_Connection *conn, struct hw_server *s, enum hw_error_code code,
                                  const char *msg, const char *allow, const char *method, const char *url);
static int is_ready(const struct hw_server *s, char *why, size_t whysz);
static enum MHD_Result serve_get(struct MHD_Connection *conn, struct hw_server *s, enum route route);
static int client_verified(struct MHD_Connection *conn, char *why, size_t whysz);
static enum route route_of(const char *url);
static int is_json(const char *ct);
static int has_body(struct MHD_Connection *conn);
static enum MHD_Result refuse_early(struct MHD_Connection *conn, struct hw_server *s, enum hw_error_code code,
                                    const char *msg, const char *allow, const char *method, const char *url);
static enum MHD_Result begin(struct MHD_Connection *conn, struct hw_server *s, struct request *rq, const char *url,
                             const char *method);
static void decide(struct hw_server *s, const struct hw_policy *p, const struct request *rq,
                   struct hw_response *res);
static const struct hw_policy *worker_policy(struct worker *w);
static enum MHD_Result finish_mutate(struct MHD_Connection *conn, struct worker *w, struct request *rq);
static enum MHD_Result cut_off(struct MHD_Connection *conn);
static struct request *request_begin(struct worker *w, struct track *t);

/* ---- responses ---- */

/*
 * One TLS record per answer. libmicrohttpd 0.9.75 gives GnuTLS an answer's
 * header and body in two calls, so they went out as two records, each
 * encrypted and sent on its own. Corking the session joins them: GnuTLS
 * keeps what it is given until uncork() sends it as one record with one
 * sendmsg(). server_on_completed() uncorks: libmicrohttpd calls it once it
 * counts the answer as sent, before it closes the connection, whatever
 * the reason for the close. Only small answers are corked: an empty send
 * buffer takes them whole, so the uncork cannot stop half-way unless the
 * client left earlier answers unread.
 *
 * The socket's own cork: libmicrohttpd sets TCP_CORK the first time it
 * sends a header apart from its body, remembers it did, and from then on
 * pushes each answer with TCP_NODELAY, before the completion callback.
 * The record uncork() sends comes after that push, so on a corked socket
 * it would wait for the kernel's 200 ms timer. The first time uncork()
 * finds the socket corked, it takes the cork off, which sends the record;
 * libmicrohttpd believes the cork still on and never sets it again, and
 * each later record leaves with its sendmsg() (TCP_NODELAY is on). Until
 * then uncork() asks (getsockopt); after it, an answer costs one
 * sendmsg() and libmicrohttpd's push, which finds nothing to push.
 */
static void
cork(struct MHD_Connection *conn, size_t body_len)
{
    const union MHD_ConnectionInfo *ci;

    if (body_len > CORK_MAX_BODY)
        return;
    ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
    if (ci != NULL && ci->tls_session != NULL)
        gnutls_record_cork((gnutls_session_t)ci->tls_session);
}

/* After uncork() sent a record on t's socket: gets it off a corked one. */
static void
push_record(struct track *t)
{
    int corked = 0, off = 0, on = 1;
    socklen_t len = sizeof(corked);

    if (t->tcp_uncorked)
        return;
    if (getsockopt(t->fd, IPPROTO_TCP, TCP_CORK, &corked, &len) != 0) {
        setsockopt(t->fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
        return;
    }
    if (corked && setsockopt(t->fd, IPPROTO_TCP, TCP_CORK, &off, sizeof(off)) == 0)
        t->tcp_uncorked = 1;
}

static void
uncork(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *ci;
    struct track *t;
    int sent;

    ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
    if (ci == NULL || ci->tls_session == NULL)
        return;
    if ((sent = gnutls_record_uncork((gnutls_session_t)ci->tls_session, 0)) == 0)
        return;  /* nothing was corked */
    /* Every connection the acceptor handed over has its track; without
     * one, a corked socket would send the record on the kernel's timer. */
    if ((t = server_track_of(conn)) == NULL)
        return;
    if (sent > 0) {
        push_record(t);
        return;
    }
    /* The rest of the answer is stuck in GnuTLS: end the connection
     * rather than leave the client waiting for it. */
    hw_log(HW_LOG_WARN, "connection closed: its answer could not be sent", "{s:s}", "error",
           gnutls_strerror(sent));
    shutdown(t->fd, SHUT_RDWR);
}

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
    if (ret == MHD_YES)
        cork(conn, res->body_len);
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
    struct track *t = server_track_of(conn);

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
    secs = server_elapsed(&t0);
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
            {"duration_ms", 'd', NULL, 0, server_elapsed(&rq->start) * 1e3},
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
    struct track *t = server_track_of(conn);

    if (t != NULL)
        atomic_store(&t->requested, 2);
    return MHD_NO;
}

enum MHD_Result
server_on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
           const char *version, const char *upload_data, size_t *upload_data_size, void **con_cls)
{
    struct worker *w = cls;
    struct hw_server *s = w->srv;
    struct request *rq = *con_cls;
    char msg[160];

    (void)version;
    if (rq == NULL) {
        struct track *t = server_track_of(conn);

        if ((rq = request_begin(w, t)) == NULL)
            return MHD_NO;
        *con_cls = rq;
        server_mark_requested(t);
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
enum MHD_Result
server_on_plain_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
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
void
server_request_end(struct request *rq)
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

void
server_on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
             enum MHD_RequestTerminationCode toe)
{
    struct request *rq = *con_cls;

    (void)cls, (void)toe;
    uncork(conn);
    if (rq == NULL)
        return;
    server_request_end(rq);
    *con_cls = NULL;
}

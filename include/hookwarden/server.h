/* SPDX-License-Identifier: Apache-2.0 */
/*
 * server: HTTPS in front of the handler. One acceptor thread hands each new
 * connection to the least-loaded of N single-threaded libmicrohttpd
 * daemons (N = cores by default), so 4 keep-alive connections from
 * kube-apiserver keep 2 cores busy as well as 32 do. TLS is GnuTLS inside
 * libmicrohttpd; the serving pair is chosen per handshake from the current
 * credentials, so a rotation reaches new handshakes at once and never cuts
 * an established connection. Routes: POST /mutate, GET /healthz, /readyz,
 * /metrics; an optional plain-HTTP listener serves the three GETs. The
 * server does not read files: it asks a source for the current policy and
 * for readiness, and takes credentials when given them.
 */
#ifndef HOOKWARDEN_SERVER_H
#define HOOKWARDEN_SERVER_H

#include <stddef.h>

#include "hookwarden/certs.h"
#include "hookwarden/error.h"
#include "hookwarden/policy.h"

/* The default per-request memory budget: as many bytes of JSON values as
 * the body may have bytes, and at least this much. */
#define HW_SERVER_MEMORY_MIN (4u << 20)

struct hw_server_options {
    const char *bind_address;        /* default "0.0.0.0" */
    unsigned port;                   /* default 8443; 0 picks a free port */
    size_t max_request_bytes;        /* default 8 MiB */
    size_t max_request_memory;       /* JSON values one admission may use; default
                                      * max_request_bytes, at least HW_SERVER_MEMORY_MIN */
    size_t connection_memory;        /* per connection, for the request line and
                                      * headers (libmicrohttpd's pool); default 32 KiB */
    unsigned connection_limit;       /* total, default 1024 */
    unsigned idle_timeout_seconds;   /* default 60 */
    unsigned header_deadline_seconds;  /* a new connection's first request header
                                        * within this, or it is closed; default 10 */
    unsigned threads;                /* worker daemons; 0 = number of cores */
    const char *client_ca_pem;       /* optional: require client certs from this CA */
    size_t client_ca_len;
    const char *metrics_bind_address;  /* optional "HOST:PORT" for plain HTTP */
    /* The source: what the server asks of the rest of the process. Both
     * are called from worker threads, with ctx, until hw_server_stop
     * returns. */
    struct hw_policy *(*policy)(void *ctx);  /* the current policy, referenced; NULL: none */
    /* Optional: a number that changes whenever policy() would return
     * another snapshot. With it, each worker keeps its snapshot between
     * requests and calls policy() only after a change. */
    unsigned long (*policy_generation)(void *ctx);
    int (*ready)(void *ctx, char *why, size_t whysz);  /* 1, or 0 with why; NULL: ready */
    void *source_ctx;
};

struct hw_server;

/* Binds, starts the workers and the acceptor; serves pair (borrowed for
 * the call; NULL: no credentials, every handshake fails, until
 * hw_server_set_certificate). */
struct hw_server *hw_server_start(const struct hw_server_options *opts,
                                  const struct hw_certs_pair *pair, struct hw_error *err);

/* Serves pair (borrowed for the call) to new handshakes from now on. The
 * caller checked it. Thread-safe; not after hw_server_stop has begun. */
int hw_server_set_certificate(struct hw_server *s, const struct hw_certs_pair *pair,
                              struct hw_error *err);

/* /readyz turns 503 and answers ask clients to close; still serving. */
void hw_server_begin_shutdown(struct hw_server *s);

/* Stops accepting, waits up to drain_ms for admissions in flight, stops
 * the workers and frees. Whatever calls hw_server_set_certificate must
 * have stopped first. Accepts NULL. */
void hw_server_stop(struct hw_server *s, unsigned drain_ms);

/* The port bound (useful with port 0 in tests). */
unsigned hw_server_port(const struct hw_server *s);

/* Connections counted against --connection-limit now: handed to a worker
 * and not yet closed. Thread-safe. */
unsigned hw_server_connections(struct hw_server *s);

#endif

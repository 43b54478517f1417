/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The server's layout, shared by its three files: server.c (start and
 * stop, the worker daemons, TLS credentials), serverhttp.c (a request
 * from its header to its answer) and serverconn.c (the connections: the
 * listening socket, the acceptor, the exact count from hand-over to close,
 * the header deadline and eviction).
 * Not installed, not a contract: everything outside these files uses
 * include/hookwarden/server.h.
 */
#ifndef HOOKWARDEN_SERVER_IMPL_H
#define HOOKWARDEN_SERVER_IMPL_H

#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>

#include "hookwarden/buf.h"
#include "hookwarden/error.h"
#include "hookwarden/linger.h"
#include "hookwarden/policy.h"
#include "hookwarden/server.h"

#define MAX_WORKERS 64

enum route { ROUTE_NONE = 0, ROUTE_MUTATE, ROUTE_HEALTHZ, ROUTE_READYZ, ROUTE_METRICS };

struct creds;  /* server.c's: a certificate chain and key served */

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
    struct sockaddr_storage addr;  /* the peer, for MHD_add_connection */
    socklen_t addrlen;
    struct track *handed_next;     /* in the worker's hand-over queue; under its lock */
    enum { HANDED_NO = 0, HANDED_QUEUED, HANDED_ADDING } handed;  /* under the lock */
    struct timespec start;
    enum track_state state;   /* which list; under the worker's lock */
    _Atomic int requested;    /* 1 once a request header arrived; 2 once shut down */
    _Atomic int early;        /* answered before its body was read: linger at close */
    int tcp_uncorked;         /* uncork() took libmicrohttpd's TCP_CORK off (worker thread only) */
    struct request rq;        /* the connection's current request (worker thread only) */
    struct track *prev, *next;
};

/* A worker daemon's state, on cache lines of its own: what its thread
 * counts and caches per request is not shared with the other workers. The
 * worker's thread runs its daemon's event loop (server.c's worker_main):
 * the acceptor queues connections and wakes it through `wake`, and the
 * thread gives them to its daemon itself, so that nothing but that thread
 * ever calls into the daemon while it runs. */
struct worker {
    _Alignas(64) struct hw_server *srv;
    struct MHD_Daemon *daemon;
    pthread_t thread;
    int thread_started;
    int wake;                 /* eventfd in the daemon's epoll set: handed over, or stop */
    _Atomic int woken;        /* set before each write to wake */
    _Atomic int stop;
    _Atomic int connections;  /* tracks in the three lists */
    pthread_mutex_t lock;     /* guards the lists and the queue against the acceptor */
    struct track_list lists[3];  /* by enum track_state; pending: usually none or one */
    struct track *handed_head, *handed_tail;  /* pending, not yet given to MHD */
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

/* server.c */
double server_elapsed(const struct timespec *start);

/* serverhttp.c */
enum MHD_Result server_on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **con_cls);
enum MHD_Result server_on_plain_request(void *cls, struct MHD_Connection *conn, const char *url,
                                        const char *method, const char *version,
                                        const char *upload_data, size_t *upload_data_size,
                                        void **con_cls);
void server_on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe);
void server_request_end(struct request *rq);

/* serverconn.c */
int server_listen_on(const char *addr, unsigned port, unsigned *bound, struct hw_error *err);
void *server_acceptor_main(void *arg);
void server_on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe);
struct track *server_track_of(struct MHD_Connection *conn);
void server_mark_requested(struct track *t);
void server_forget_pending(struct worker *w);
void server_take_handed(struct worker *w);
void server_wake(struct worker *w);

#endif

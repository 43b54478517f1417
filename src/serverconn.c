/* SPDX-License-Identifier: Apache-2.0 */
/*
 * serverconn: the server's connections, from accept to close. It owns the
 * listening socket's acceptor thread, which queues each connection for the
 * worker with the fewest (the worker's thread gives it to its daemon with
 * MHD_add_connection), and the exact count of connections: a connection
 * counts from that hand-over until
 * libmicrohttpd reports it closed, or until the acceptor sees that
 * libmicrohttpd closed it without a word. Each worker keeps its connections
 * in three lists in order of age (pending, waiting for a request header,
 * active), so the header deadline and eviction at the limit look at one
 * list head per worker. The layout is in server_impl.h; answering is
 * serverhttp.c's.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "hookwarden/linger.h"
#include "hookwarden/log.h"
#include "hookwarden/metrics.h"
#include "server_impl.h"

/* At the connection limit, a connection this old that still has not sent a
 * request header makes room for a new one. */
#define EVICT_AFTER_SECONDS 1

/* ---- table of contents: the static functions, in order ---- */
static int started_before(const struct timespec *a, const struct timespec *b);
static void track_insert(struct worker *w, struct track *t, enum track_state state);
static void track_remove(struct worker *w, struct track *t);
static struct track *pending_of(struct worker *w, int fd);
static void close_gracefully(struct hw_server *s, struct track *t);
static void cut(struct track *t);
static double age(const struct timespec *now, const struct timespec *start);
static struct track *oldest_waiting(struct worker *w, const struct timespec *now, double older);
static void sweep_deadline(struct hw_server *s);
static int evict_one(struct hw_server *s);
static void forget_vanished(struct hw_server *s, int fd);
static struct worker *least_loaded(struct hw_server *s, int *total);
static void hand_over(struct worker *w, int fd, const struct sockaddr_storage *ss, socklen_t sl);
static void accept_all(struct hw_server *s);

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
struct track *
server_track_of(struct MHD_Connection *conn)
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

void
server_on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
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
            server_request_end(&t->rq);
        hw_buf_free(&t->rq.body);
        free(t);
        *socket_context = NULL;
    }
}

/* A request header of this connection has arrived: the first moves it
 * out of the waiting list (the only time a request takes the lock). */
void
server_mark_requested(struct track *t)
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
            if (t->handed != HANDED_NO)
                continue;  /* queued, or being added by its worker: not MHD's yet */
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

/* After w's daemon has stopped: the connections it never started (still
 * pending) are forgotten, so the count ends at zero; those still queued
 * were never MHD's, and are closed here. */
void
server_forget_pending(struct worker *w)
{
    while (w->lists[TRACK_PENDING].head != NULL) {
        struct track *t = w->lists[TRACK_PENDING].head;

        if (t->handed == HANDED_QUEUED)
            close(t->fd);
        track_remove(w, t);
        atomic_fetch_sub(&w->connections, 1);
        free(t);
    }
}

/* ---- listening and accepting ---- */

int
server_listen_on(const char *addr, unsigned port, unsigned *bound, struct hw_error *err)
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

/* Gives an accepted connection to a worker, counted from now: queued for
 * its thread, which starts it (server_take_handed), and the thread woken.
 * A burst must never push a daemon past its own limit (MHD 0.9.75 can
 * deadlock on that path). Takes fd. */
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
    memcpy(&t->addr, ss, sl);
    t->addrlen = sl;
    t->handed = HANDED_QUEUED;
    clock_gettime(CLOCK_MONOTONIC, &t->start);
    atomic_fetch_add(&w->connections, 1);
    pthread_mutex_lock(&w->lock);
    track_insert(w, t, TRACK_PENDING);
    if (w->handed_tail != NULL)
        w->handed_tail->handed_next = t;
    else
        w->handed_head = t;
    w->handed_tail = t;
    pthread_mutex_unlock(&w->lock);
    server_wake(w);
}

/* In w's thread: gives the queued connections to its daemon. While one is
 * being added its track is the thread's (forget_vanished() leaves it
 * alone); MHD closes a socket it cannot take, and says so. */
void
server_take_handed(struct worker *w)
{
    struct track *t, *next;

    pthread_mutex_lock(&w->lock);
    t = w->handed_head;
    w->handed_head = w->handed_tail = NULL;
    for (struct track *q = t; q != NULL; q = q->handed_next)
        q->handed = HANDED_ADDING;
    pthread_mutex_unlock(&w->lock);
    for (; t != NULL; t = next) {
        int ok, e;

        next = t->handed_next;
        t->handed_next = NULL;
        ok = MHD_add_connection(w->daemon, t->fd, (const struct sockaddr *)&t->addr, t->addrlen) ==
             MHD_YES;
        e = errno;
        pthread_mutex_lock(&w->lock);
        t->handed = HANDED_NO;
        if (!ok && t->state == TRACK_PENDING) {
            track_remove(w, t);
            atomic_fetch_sub(&w->connections, 1);
            free(t);
        }
        pthread_mutex_unlock(&w->lock);
        if (!ok)
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

void *
server_acceptor_main(void *arg)
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

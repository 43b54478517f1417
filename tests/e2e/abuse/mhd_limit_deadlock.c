/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Reproducer for a libmicrohttpd bug that hookwarden's server.c is exposed
 * to (see docs/security.md, "More connections than the limit"). A daemon
 * set up like a hookwarden worker (internal epoll thread, no listen socket,
 * connections given with MHD_add_connection from another thread) and a
 * connection limit of LIMIT receives LIMIT + 2 connections while its thread
 * is busy in a request handler, so they queue. When the thread runs again
 * it takes LIMIT of them; for the next one libmicrohttpd 0.9.75 logs
 * "Server reached connection limit" and returns without unlocking the
 * mutex it holds, so the one after that blocks the daemon thread for good:
 * no connection of that daemon is ever served again and MHD_stop_daemon()
 * never returns.
 *
 * Prints "deadlock" and exits 1 when the daemon thread is stuck, "ok" and
 * exits 0 when a request on an accepted connection is still answered.
 *   cc -o mhd_limit_deadlock mhd_limit_deadlock.c $(pkg-config --cflags --libs libmicrohttpd) -pthread
 */
#define _GNU_SOURCE
#include <microhttpd.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define LIMIT 4

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static int in_handler, release;
static int limit_logged;

static enum MHD_Result
handler(void *cls, struct MHD_Connection *c, const char *url, const char *method,
        const char *version, const char *data, size_t *size, void **ctx)
{
    static const char ok[] = "ok";
    struct MHD_Response *r;
    enum MHD_Result ret;

    (void)cls, (void)method, (void)version, (void)data, (void)size;
    if (*ctx == NULL) {
        *ctx = c;
        return MHD_YES;
    }
    if (strcmp(url, "/block") == 0) {
        /* Keep the daemon thread busy until the test has queued its burst. */
        pthread_mutex_lock(&lock);
        in_handler = 1;
        pthread_cond_broadcast(&cond);
        while (!release)
            pthread_cond_wait(&cond, &lock);
        pthread_mutex_unlock(&lock);
    }
    r = MHD_create_response_from_buffer(2, (void *)ok, MHD_RESPMEM_PERSISTENT);
    ret = MHD_queue_response(c, 200, r);
    MHD_destroy_response(r);
    return ret;
}

static void
logger(void *cls, const char *fmt, va_list ap)
{
    (void)cls, (void)ap;
    if (strstr(fmt, "connection limit") != NULL)
        limit_logged++;
}

/* A connected socket pair: [0] for MHD, [1] for the client side. */
static void
pair(int sv[2])
{
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
        perror("socketpair");
        exit(2);
    }
}

static int
add(struct MHD_Daemon *d, int fd)
{
    struct sockaddr_storage ss;

    memset(&ss, 0, sizeof(ss));
    ss.ss_family = AF_UNIX;
    return MHD_add_connection(d, fd, (struct sockaddr *)&ss, sizeof(sa_family_t)) == MHD_YES;
}

int
main(void)
{
    static const char get[] = "GET /ping HTTP/1.1\r\nHost: x\r\n\r\n";
    static const char block[] = "GET /block HTTP/1.1\r\nHost: x\r\n\r\n";
    struct MHD_Daemon *d;
    int busy[2], burst[LIMIT + 2][2], answered;
    struct pollfd p;
    char buf[256];

    d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_NO_LISTEN_SOCKET |
                             MHD_USE_ITC | MHD_USE_ERROR_LOG,
                         0, NULL, NULL, &handler, NULL, MHD_OPTION_EXTERNAL_LOGGER, &logger, NULL,
                         MHD_OPTION_CONNECTION_LIMIT, (unsigned)LIMIT, MHD_OPTION_END);
    if (d == NULL) {
        fprintf(stderr, "cannot start the daemon\n");
        return 2;
    }
    /* 1. Block the daemon thread inside a handler. */
    pair(busy);
    add(d, busy[0]);
    if (write(busy[1], block, sizeof(block) - 1) < 0)
        return 2;
    pthread_mutex_lock(&lock);
    while (!in_handler)
        pthread_cond_wait(&cond, &lock);
    pthread_mutex_unlock(&lock);
    /* 2. Queue LIMIT + 2 connections while it cannot run. */
    for (int i = 0; i < LIMIT + 2; i++) {
        pair(burst[i]);
        add(d, burst[i][0]);
    }
    /* 3. Let it run; it processes the queue, past its limit. */
    pthread_mutex_lock(&lock);
    release = 1;
    pthread_cond_broadcast(&cond);
    pthread_mutex_unlock(&lock);
    sleep(1);
    /* 4. Is the daemon thread still serving? Ask on every burst connection:
     * those it accepted must answer, those past the limit are closed. */
    answered = 0;
    for (int i = 0; i < LIMIT + 2; i++) {
        if (send(burst[i][1], get, sizeof(get) - 1, MSG_NOSIGNAL) < 0) {
            /* closed: refused at the limit */
        }
    }
    for (int i = 0; i < LIMIT + 2; i++) {
        ssize_t n;

        p.fd = burst[i][1];
        p.events = POLLIN;
        if (poll(&p, 1, 1000) == 1 && (n = read(burst[i][1], buf, sizeof(buf) - 1)) > 0) {
            buf[n] = '\0';
            answered += strncmp(buf, "HTTP/1.1 200", 12) == 0;
        }
    }
    if (answered > 0) {
        printf("ok: the daemon still serves after connections past its limit of %d were queued "
               "(%d answered; \"connection limit\" logged %d times; %s)\n", LIMIT, answered,
               limit_logged, MHD_get_version());
        MHD_stop_daemon(d);
        return 0;
    }
    printf("deadlock: the daemon thread stopped serving after connections past its limit of %d "
           "were queued (\"connection limit\" logged %d times; %s)\n", LIMIT, limit_logged,
           MHD_get_version());
    fflush(stdout);
    _exit(1);  /* MHD_stop_daemon() would wait for the stuck thread forever */
}

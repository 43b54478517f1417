/* SPDX-License-Identifier: Apache-2.0 */
/*
 * linger: one thread polls the lingering sockets and a wake-up pipe. A
 * socket joins through a small queue under a mutex (hw_linger_add never
 * blocks on the thread), is shut down for writing at once, and leaves when
 * the peer closes it, when it has been silent for idle_ms, when total_ms
 * have passed, or when max_bytes have been dropped: every socket's cost is
 * bounded in time, bytes and count. Intervals use CLOCK_MONOTONIC.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "hookwarden/linger.h"

struct entry {
    int fd;
    long long start_ms, last_ms;  /* CLOCK_MONOTONIC */
    size_t dropped;
};

struct hw_linger {
    struct hw_linger_options opts;
    int wake[2];
    pthread_t thread;
    int started;
    pthread_mutex_t lock;    /* guards queue, n_queue, count and stop */
    int *queue;              /* added, not yet taken by the thread */
    unsigned n_queue;
    unsigned count;          /* queued + lingering */
    int stop;
    struct entry *entries;   /* the thread's own */
    unsigned n_entries;
};

static long long
now_ms(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void
drop(struct hw_linger *l, unsigned i)
{
    close(l->entries[i].fd);
    l->entries[i] = l->entries[--l->n_entries];
    pthread_mutex_lock(&l->lock);
    l->count--;
    pthread_mutex_unlock(&l->lock);
}

/* Reads and discards what fd has; 1 when it is done with (closed, error,
 * or past the byte bound). */
static int
drain(struct hw_linger *l, struct entry *e)
{
    char buf[16384];
    ssize_t n;

    while ((n = read(e->fd, buf, sizeof(buf))) > 0) {
        e->dropped += (size_t)n;
        e->last_ms = now_ms();
        if (e->dropped >= l->opts.max_bytes)
            return 1;
    }
    return n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

/* Moves queued sockets into the entries; 1 when asked to stop. */
static int
take_queue(struct hw_linger *l)
{
    char sink[64];
    int stop;

    while (read(l->wake[0], sink, sizeof(sink)) > 0) {
    }
    pthread_mutex_lock(&l->lock);
    for (unsigned i = 0; i < l->n_queue; i++) {
        struct entry *e = &l->entries[l->n_entries++];

        e->fd = l->queue[i];
        e->start_ms = e->last_ms = now_ms();
        e->dropped = 0;
    }
    l->n_queue = 0;
    stop = l->stop;
    pthread_mutex_unlock(&l->lock);
    return stop;
}

/* Closes the sockets past a time bound; returns ms until the next one. */
static int
expire(struct hw_linger *l)
{
    long long now = now_ms(), next = 1000;

    for (unsigned i = 0; i < l->n_entries;) {
        struct entry *e = &l->entries[i];
        long long left_idle = e->last_ms + l->opts.idle_ms - now;
        long long left_total = e->start_ms + l->opts.total_ms - now;
        long long left = left_idle < left_total ? left_idle : left_total;

        if (left <= 0) {
            drop(l, i);
            continue;
        }
        if (left < next)
            next = left;
        i++;
    }
    return (int)next;
}

static void *
linger_main(void *arg)
{
    struct hw_linger *l = arg;
    struct pollfd *p = calloc(l->opts.max_sockets + 1, sizeof(*p));

    while (p != NULL && !take_queue(l)) {
        int timeout = expire(l);

        p[0] = (struct pollfd){l->wake[0], POLLIN, 0};
        for (unsigned i = 0; i < l->n_entries; i++)
            p[i + 1] = (struct pollfd){l->entries[i].fd, POLLIN, 0};
        if (poll(p, l->n_entries + 1, timeout) <= 0)
            continue;
        /* Backwards: drop() moves the last entry into the hole. */
        for (unsigned i = l->n_entries; i-- > 0;) {
            if (p[i + 1].revents != 0 && drain(l, &l->entries[i]))
                drop(l, i);
        }
    }
    free(p);
    return NULL;
}

struct hw_linger *
hw_linger_new(const struct hw_linger_options *opts, struct hw_error *err)
{
    struct hw_linger *l = calloc(1, sizeof(*l));

    if (l == NULL) {
        hw_error_set(err, HW_EINTERNAL, "out of memory");
        return NULL;
    }
    if (opts != NULL)
        l->opts = *opts;
    l->opts.max_sockets = l->opts.max_sockets ? l->opts.max_sockets : 64;
    l->opts.max_bytes = l->opts.max_bytes ? l->opts.max_bytes : 16u << 20;
    l->opts.idle_ms = l->opts.idle_ms ? l->opts.idle_ms : 2000;
    l->opts.total_ms = l->opts.total_ms ? l->opts.total_ms : 10000;
    l->wake[0] = l->wake[1] = -1;
    pthread_mutex_init(&l->lock, NULL);
    l->queue = calloc(l->opts.max_sockets, sizeof(*l->queue));
    l->entries = calloc(l->opts.max_sockets, sizeof(*l->entries));
    if (l->queue == NULL || l->entries == NULL || pipe2(l->wake, O_CLOEXEC | O_NONBLOCK) != 0 ||
        pthread_create(&l->thread, NULL, linger_main, l) != 0) {
        hw_error_set(err, HW_EINTERNAL, "cannot start the lingering-close thread: %s",
                     strerror(errno));
        hw_linger_free(l);
        return NULL;
    }
    l->started = 1;
    return l;
}

void
hw_linger_add(struct hw_linger *l, int fd)
{
    int queued = 0;

    /* The peer gets a FIN after the answer: it knows the answer is whole. */
    shutdown(fd, SHUT_WR);
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    pthread_mutex_lock(&l->lock);
    if (!l->stop && l->count < l->opts.max_sockets) {
        l->queue[l->n_queue++] = fd;
        l->count++;
        queued = 1;
    }
    pthread_mutex_unlock(&l->lock);
    if (!queued) {
        close(fd);  /* full: bounded beats graceful */
        return;
    }
    if (write(l->wake[1], "x", 1) < 0) {
        /* A full pipe already wakes the thread. */
    }
}

unsigned
hw_linger_count(struct hw_linger *l)
{
    unsigned n;

    pthread_mutex_lock(&l->lock);
    n = l->count;
    pthread_mutex_unlock(&l->lock);
    return n;
}

void
hw_linger_free(struct hw_linger *l)
{
    if (l == NULL)
        return;
    if (l->started) {
        pthread_mutex_lock(&l->lock);
        l->stop = 1;
        pthread_mutex_unlock(&l->lock);
        if (write(l->wake[1], "x", 1) < 0) {
            /* A full pipe already wakes the thread. */
        }
        pthread_join(l->thread, NULL);
    }
    for (unsigned i = 0; i < l->n_entries; i++)
        close(l->entries[i].fd);
    for (unsigned i = 0; i < l->n_queue; i++)
        close(l->queue[i]);
    if (l->wake[0] >= 0)
        close(l->wake[0]);
    if (l->wake[1] >= 0)
        close(l->wake[1]);
    pthread_mutex_destroy(&l->lock);
    free(l->queue);
    free(l->entries);
    free(l);
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * linger: nginx's lingering close. A server that answers before reading the
 * whole request (413 for a declared size, 431 for a header, any early
 * refusal) and then closes a socket with the client's unread bytes in it
 * makes the kernel send a reset, and a client still writing its body loses
 * the answer it was sent. Handing the socket here instead sends a FIN after
 * the answer, then reads and drops whatever the client still sends until
 * it closes, falls silent, or a time or size bound is reached. It knows
 * nothing of HTTP or TLS: it sees a descriptor.
 */
#ifndef HOOKWARDEN_LINGER_H
#define HOOKWARDEN_LINGER_H

#include <stddef.h>

#include "hookwarden/error.h"

struct hw_linger_options {
    unsigned max_sockets;  /* lingering at once; past it a socket is closed at once (default 64) */
    size_t max_bytes;      /* read and dropped per socket before closing (default 16 MiB) */
    unsigned idle_ms;      /* closed when the client sends nothing this long (default 2000) */
    unsigned total_ms;     /* closed this long after it came, whatever happens (default 10000) */
};

struct hw_linger;

/* Starts the lingering thread. opts may be NULL for the defaults. */
struct hw_linger *hw_linger_new(const struct hw_linger_options *opts, struct hw_error *err);

/* Takes ownership of the connected socket fd: shuts down its sending side
 * (the peer sees the end of the answer), then drains it as above and
 * closes it. Never blocks. Thread-safe. */
void hw_linger_add(struct hw_linger *l, int fd);

/* Sockets lingering now (added, not yet closed). Thread-safe. */
unsigned hw_linger_count(struct hw_linger *l);

/* Stops the thread and closes every socket still lingering. Accepts NULL. */
void hw_linger_free(struct hw_linger *l);

#endif

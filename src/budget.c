/* SPDX-License-Identifier: Apache-2.0 */
/*
 * budget: jansson's allocator hooks and a thread-local pointer to the
 * budget of the request the thread is handling. A worker handles one
 * request at a time, so a thread-local pointer is the whole bookkeeping:
 * no lock, no header in front of each block (glibc's malloc_usable_size
 * says what a block costs), and blocks allocated before the hooks were
 * installed are freed like any other.
 */
#include <jansson.h>
#include <malloc.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "hookwarden/budget.h"

/* What malloc spends beyond the usable size of a block: its chunk header. */
#define CHUNK_OVERHEAD 16

static _Thread_local struct hw_budget *current;

static size_t
cost(void *p)
{
    return malloc_usable_size(p) + CHUNK_OVERHEAD;
}

static void *
budget_malloc(size_t size)
{
    struct hw_budget *b = current;
    void *p;

    /* A size that cannot fit is refused before anything is allocated. */
    if (b != NULL && (b->exceeded || size > b->limit - b->used)) {
        b->exceeded = 1;
        return NULL;
    }
    p = malloc(size);
    if (p == NULL || b == NULL)
        return p;
    /* What the block really costs decides; used never passes the limit. */
    if (cost(p) > b->limit - b->used) {
        free(p);
        b->exceeded = 1;
        return NULL;
    }
    b->used += cost(p);
    if (b->used > b->peak)
        b->peak = b->used;
    return p;
}

static void
budget_free(void *p)
{
    struct hw_budget *b = current;

    if (p != NULL && b != NULL) {
        size_t c = cost(p);

        /* A block from before the budget began is not charged to it. */
        b->used = c < b->used ? b->used - c : 0;
    }
    free(p);
}

void
hw_budget_install(void)
{
    static atomic_flag done = ATOMIC_FLAG_INIT;

    if (!atomic_flag_test_and_set(&done))
        json_set_alloc_funcs(budget_malloc, budget_free);
}

void
hw_budget_begin(struct hw_budget *b, size_t limit)
{
    b->limit = limit;
    b->used = 0;
    b->peak = 0;
    b->exceeded = 0;
    current = b;
}

void
hw_budget_end(struct hw_budget *b)
{
    if (current == b)
        current = NULL;
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * budget: jansson's allocator hooks and a thread-local pointer to the
 * budget of the request the thread is handling. A worker handles one
 * request at a time, so a thread-local pointer is the whole bookkeeping:
 * no lock. Small blocks allocated under a budget come from the thread's
 * arena, a 32 KiB region handed out by bumping a pointer and reused as
 * soon as every block in it is freed (a request's JSON values all are,
 * when its answer is written): a request's skeleton, patch and answer then
 * cost no malloc or free. Larger blocks, blocks allocated outside a budget
 * and everything past the arena come from malloc, charged by what glibc's
 * malloc_usable_size says they cost, so blocks allocated before the hooks
 * were installed are freed like any other. A block from the arena must be
 * freed by the thread that allocated it. Under valgrind the arena is not
 * used, so memcheck sees every block (unless HOOKWARDEN_ARENA_UNDER_VALGRIND
 * is set: callgrind profiles of what runs in production); under
 * AddressSanitizer freed arena blocks are poisoned. It does not decide what
 * to answer.
 */
#include <jansson.h>
#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>

#include "hookwarden/budget.h"

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#endif
#endif
#ifndef RUNNING_ON_VALGRIND
#define RUNNING_ON_VALGRIND 0
#endif

#if defined(__SANITIZE_ADDRESS__)
#define BUDGET_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define BUDGET_ASAN 1
#endif
#endif
#ifdef BUDGET_ASAN
#include <sanitizer/asan_interface.h>
#define POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define POISON(p, n) ((void)(p), (void)(n))
#define UNPOISON(p, n) ((void)(p), (void)(n))
#endif

/* What malloc spends beyond the usable size of a block: its chunk header. */
#define CHUNK_OVERHEAD 16
#define ARENA_SIZE (32 * 1024)
#define ARENA_BLOCK_MAX 512  /* larger blocks come from malloc */
#define ARENA_ALIGN 16       /* malloc's alignment; the block's size sits in front */

struct arena {
    char *base;    /* ARENA_SIZE bytes, or NULL until the thread's first use */
    size_t top;    /* bytes handed out */
    size_t live;   /* blocks handed out and not freed */
};

static _Thread_local struct hw_budget *current;
static _Thread_local struct arena arena;
static pthread_key_t arena_key;       /* frees a thread's arena when it exits */
static pthread_once_t arena_once = PTHREAD_ONCE_INIT;
static atomic_int arena_on;           /* set once by hw_budget_install */

static void
arena_key_create(void)
{
    if (pthread_key_create(&arena_key, free) != 0)
        atomic_store_explicit(&arena_on, 0, memory_order_relaxed);
}

static int
in_arena(const void *p)
{
    return arena.base != NULL && (const char *)p >= arena.base &&
           (const char *)p < arena.base + ARENA_SIZE;
}

/* What a block of size bytes (at most ARENA_BLOCK_MAX) takes in the arena. */
static inline size_t
arena_need(size_t size)
{
    return ARENA_ALIGN + ((size + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1));
}

/* Hands out need bytes at the arena's top; the caller saw the room. */
static inline void *
arena_bump(size_t need)
{
    char *h = arena.base + arena.top;

    arena.top += need;
    arena.live++;
    UNPOISON(h, need);
    *(size_t *)(void *)h = need;
    return h + ARENA_ALIGN;
}

/* A block of size bytes from the thread's arena, or NULL when it has no room. */
static void *
arena_alloc(size_t size)
{
    if (arena.base == NULL) {
        pthread_once(&arena_once, arena_key_create);
        if (!atomic_load_explicit(&arena_on, memory_order_relaxed) ||
            (arena.base = malloc(ARENA_SIZE)) == NULL)
            return NULL;
        if (pthread_setspecific(arena_key, arena.base) != 0) {
            free(arena.base);
            arena.base = NULL;
            return NULL;
        }
        POISON(arena.base, ARENA_SIZE);
    }
    if (arena_need(size) > ARENA_SIZE - arena.top)
        return NULL;
    return arena_bump(arena_need(size));
}

/* Gives back arena block p, of need bytes. */
static void
arena_release(void *p, size_t need)
{
    POISON((char *)p - ARENA_ALIGN, need);
    /* Everything handed out is back: the arena starts over. */
    if (--arena.live == 0) {
        arena.top = 0;
        POISON(arena.base, ARENA_SIZE);
    }
}

/* What block p costs: its arena share, or malloc's usable size and header. */
static inline size_t
cost(void *p, int mine)
{
    if (mine)
        return *(size_t *)(void *)((char *)p - ARENA_ALIGN);
    return malloc_usable_size(p) + CHUNK_OVERHEAD;
}

/* Gives back block p, which costs c. */
static inline void
release(void *p, int mine, size_t c)
{
    if (mine)
        arena_release(p, c);
    else
        free(p);
}

/* budget_malloc for everything but a small block the arena has room for. */
static void *
budget_malloc_slow(struct hw_budget *b, size_t size)
{
    void *p = NULL;
    int mine;
    size_t c;

    /* A size that cannot fit is refused before anything is allocated. */
    if (b->exceeded || size > b->limit - b->used) {
        b->exceeded = 1;
        return NULL;
    }
    if (size <= ARENA_BLOCK_MAX)
        p = arena_alloc(size);
    if (p == NULL && (p = malloc(size)) == NULL)
        return NULL;
    /* What the block really costs decides; used never passes the limit. */
    mine = in_arena(p);
    c = cost(p, mine);
    if (c > b->limit - b->used) {
        release(p, mine, c);
        b->exceeded = 1;
        return NULL;
    }
    b->used += c;
    if (b->used > b->peak)
        b->peak = b->used;
    return p;
}

/*
 * Most of a request's blocks are small and fit both the arena and the
 * budget (a request allocates a few hundred): those take a bump of the
 * arena's top, inline. Anything else goes the long way.
 */
static void *
budget_malloc(size_t size)
{
    struct hw_budget *b = current;
    size_t need;

    if (b == NULL)
        return malloc(size);
    if (size > ARENA_BLOCK_MAX || arena.base == NULL || b->exceeded)
        return budget_malloc_slow(b, size);
    need = arena_need(size);
    if (need > ARENA_SIZE - arena.top || need > b->limit - b->used)
        return budget_malloc_slow(b, size);
    b->used += need;
    if (b->used > b->peak)
        b->peak = b->used;
    return arena_bump(need);
}

static void
budget_free(void *p)
{
    struct hw_budget *b = current;
    int mine;
    size_t c;

    if (p == NULL)
        return;
    mine = in_arena(p);
    c = cost(p, mine);
    /* A block from before the budget began is not charged to it. */
    if (b != NULL)
        b->used = c < b->used ? b->used - c : 0;
    release(p, mine, c);
}

void
hw_budget_install(void)
{
    static atomic_flag done = ATOMIC_FLAG_INIT;

    if (!atomic_flag_test_and_set(&done)) {
        atomic_store_explicit(&arena_on,
                              !RUNNING_ON_VALGRIND || getenv("HOOKWARDEN_ARENA_UNDER_VALGRIND") != NULL,
                              memory_order_relaxed);
        json_set_alloc_funcs(budget_malloc, budget_free);
    }
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

size_t
hw_budget_arena_live(void)
{
    return arena.live;
}

int
hw_budget_arena_enabled(void)
{
    return atomic_load_explicit(&arena_on, memory_order_relaxed);
}

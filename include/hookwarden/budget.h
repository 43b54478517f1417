/* SPDX-License-Identifier: Apache-2.0 */
/*
 * budget: a per-request memory budget for JSON values. Parsing costs
 * memory in proportion to the number of values, not bytes (a 3.5 MiB body
 * of tiny keys becomes tens of MiB of jansson objects), so the server
 * charges every jansson allocation a thread makes while it handles a
 * request to that request's budget; past the limit the allocation fails,
 * jansson reports it, and the server answers 413 naming the budget. It
 * does not charge anything but jansson's allocations (the body buffer has
 * its own limit) and does not decide what to answer.
 */
#ifndef HOOKWARDEN_BUDGET_H
#define HOOKWARDEN_BUDGET_H

#include <stddef.h>

/* A budget, owned by the caller (usually on its stack). */
struct hw_budget {
    size_t limit;     /* bytes */
    size_t used;      /* charged now */
    size_t peak;      /* the most charged at once */
    int exceeded;     /* an allocation was refused */
};

/* Routes jansson's allocations through the accounting. Idempotent, and
 * safe at any time: values allocated before it are freed correctly. */
void hw_budget_install(void);

/* From now until hw_budget_end, jansson allocations by the calling thread
 * are charged to b (borrowed until then), and refused past limit bytes.
 * One budget per thread at a time. */
void hw_budget_begin(struct hw_budget *b, size_t limit);

/* Stops charging the calling thread's allocations to b. */
void hw_budget_end(struct hw_budget *b);

/* Blocks of the calling thread's arena not yet freed: 0 after a request
 * whose values were all released (what lets the arena start over). */
size_t hw_budget_arena_live(void);

/* 1 when small values come from the arena: off under valgrind (so memcheck
 * sees every block) unless HOOKWARDEN_ARENA_UNDER_VALGRIND is set. */
int hw_budget_arena_enabled(void);

#endif

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * budget: jansson's allocations charged to the thread's current budget,
 * refused past it, and nobody else's business; the arena small blocks
 * come from is reused only once nothing in it is alive.
 */
#include <check.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hookwarden/budget.h"

/* {"k0":"","k1":"",...}: n small values, far more memory than bytes. */
static char *
many_keys(int n)
{
    char *s = malloc((size_t)n * 16 + 4), *p = s;

    *p++ = '{';
    for (int i = 0; i < n; i++)
        p += sprintf(p, "%s\"k%d\":\"\"", i ? "," : "", i);
    *p++ = '}';
    *p = '\0';
    return s;
}

static void
setup(void)
{
    hw_budget_install();
}

START_TEST(test_budget_refuses_a_parse_past_the_limit_and_releases_what_it_charged)
{
    struct hw_budget b;
    char *text = many_keys(20000);  /* about 200 KB of text */
    json_error_t e;
    json_t *v;

    hw_budget_begin(&b, 256 * 1024);
    v = json_loads(text, 0, &e);
    hw_budget_end(&b);
    ck_assert_ptr_null(v);
    ck_assert_int_eq(b.exceeded, 1);
    ck_assert_uint_le(b.peak, 256 * 1024);
    ck_assert_uint_le(b.used, 1024);  /* jansson freed what it had built */
    free(text);
}
END_TEST

START_TEST(test_budget_counts_a_parse_within_the_limit_and_its_release)
{
    struct hw_budget b;
    char *text = many_keys(20000);
    json_t *v;

    hw_budget_begin(&b, 64u << 20);
    v = json_loads(text, 0, NULL);
    ck_assert_ptr_nonnull(v);
    ck_assert_uint_eq(json_object_size(v), 20000);
    ck_assert_uint_gt(b.used, 20000 * 40);  /* tens of bytes per value, at least */
    json_decref(v);
    hw_budget_end(&b);
    ck_assert_int_eq(b.exceeded, 0);
    ck_assert_uint_gt(b.peak, 20000 * 40);
    ck_assert_uint_le(b.used, 1024);
    free(text);
}
END_TEST

START_TEST(test_budget_charges_nothing_outside_a_budget_and_frees_older_values_safely)
{
    struct hw_budget b;
    char *text = many_keys(20000);
    json_t *before, *v;

    before = json_loads(text, 0, NULL);  /* no budget: unlimited */
    ck_assert_ptr_nonnull(before);
    hw_budget_begin(&b, 1024);
    json_decref(before);  /* a value from before: not charged, no underflow */
    ck_assert_uint_eq(b.used, 0);
    v = json_string("fits");
    ck_assert_ptr_nonnull(v);
    json_decref(v);
    hw_budget_end(&b);
    ck_assert_int_eq(b.exceeded, 0);
    free(text);
}
END_TEST

static void *
parse_elsewhere(void *text)
{
    json_t *v = json_loads(text, 0, NULL);
    size_t n = json_object_size(v);

    json_decref(v);
    return (void *)n;
}

START_TEST(test_budget_is_the_calling_threads_only)
{
    struct hw_budget b;
    char *text = many_keys(20000);
    pthread_t t;
    void *n;

    hw_budget_begin(&b, 1024);
    ck_assert_int_eq(pthread_create(&t, NULL, parse_elsewhere, text), 0);
    ck_assert_int_eq(pthread_join(t, &n), 0);
    hw_budget_end(&b);
    ck_assert_uint_eq((size_t)n, 20000);
    ck_assert_int_eq(b.exceeded, 0);
    free(text);
}
END_TEST

/* A value kept past its request (nothing here does; a bug might) stays
 * intact while later requests allocate and free around it, and the arena
 * starts over once it goes. */
START_TEST(test_budget_arena_keeps_a_value_that_outlives_its_request)
{
    struct hw_budget b;
    json_t *kept, *v;
    size_t live;

    hw_budget_begin(&b, 1u << 20);
    kept = json_pack("{s:s, s:[i, i]}", "name", "kept-across-requests", "n", 1, 2);
    hw_budget_end(&b);
    ck_assert_ptr_nonnull(kept);
    /* With the arena off (under valgrind, so that memcheck sees every
     * block) live stays 0 and only the value's survival is checked. */
    live = hw_budget_arena_live();
    for (int round = 0; round < 50; round++) {
        hw_budget_begin(&b, 1u << 20);
        v = json_pack("{s:s, s:s, s:[s, s]}", "a", "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", "b",
                      "yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy", "c", "z", "w");
        ck_assert_ptr_nonnull(v);
        json_decref(v);
        hw_budget_end(&b);
        ck_assert_uint_eq(b.used, 0);
    }
    ck_assert_str_eq(json_string_value(json_object_get(kept, "name")), "kept-across-requests");
    ck_assert_int_eq(json_integer_value(json_array_get(json_object_get(kept, "n"), 1)), 2);
    ck_assert_uint_eq(hw_budget_arena_live(), live);
    if (hw_budget_arena_enabled())
        ck_assert_uint_gt(live, 0);
    json_decref(kept);  /* after its budget: freed, not charged */
    ck_assert_uint_eq(hw_budget_arena_live(), 0);
}
END_TEST

Suite *hw_suite_budget(void);

Suite *
hw_suite_budget(void)
{
    Suite *s = suite_create("budget");
    TCase *tc = tcase_create("core");

    tcase_add_unchecked_fixture(tc, setup, NULL);
    tcase_add_test(tc, test_budget_refuses_a_parse_past_the_limit_and_releases_what_it_charged);
    tcase_add_test(tc, test_budget_counts_a_parse_within_the_limit_and_its_release);
    tcase_add_test(tc, test_budget_charges_nothing_outside_a_budget_and_frees_older_values_safely);
    tcase_add_test(tc, test_budget_is_the_calling_threads_only);
    tcase_add_test(tc, test_budget_arena_keeps_a_value_that_outlives_its_request);
    suite_add_tcase(s, tc);
    return s;
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * metrics: what several threads count, each in its own shard, is rendered
 * as one total, and the in-flight gauge is the sum of what threads added
 * and took away, whichever thread reads it.
 */
#include <check.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "hookwarden/metrics.h"

#define THREADS 12  /* more than the shards: some threads share one */
#define EACH 1000

/* The value of the exposition line that starts with name (a full series). */
static unsigned long long
value_of(const char *name)
{
    struct hw_buf b;
    const char *line;
    unsigned long long v = 0;

    hw_buf_init(&b, 0);
    ck_assert_int_eq(hw_metrics_render(&b), 0);
    line = strstr(b.data, name);
    ck_assert_msg(line != NULL, "%s not rendered", name);
    v = strtoull(line + strlen(name), NULL, 10);
    hw_buf_free(&b);
    return v;
}

static void *
count(void *arg)
{
    struct hw_response res;

    (void)arg;
    hw_response_init(&res);
    res.operation = 1;  /* UPDATE */
    res.decision = HW_DECISION_MUTATED;
    res.patch_ops = 2;
    for (int i = 0; i < EACH; i++) {
        hw_metrics_inflight_add(1);
        hw_metrics_admission(&res, 0.0003);
    }
    /* In flight until the main thread has looked. */
    return NULL;
}

static void *
finish(void *arg)
{
    (void)arg;
    for (int i = 0; i < EACH; i++)
        hw_metrics_inflight_add(-1);
    return NULL;
}

START_TEST(test_metrics_add_up_what_every_thread_counted)
{
    static const char updates[] =
        "hookwarden_admission_requests_total{operation=\"UPDATE\",decision=\"mutated\"} ";
    static const char bucket[] = "hookwarden_admission_duration_seconds_bucket{le=\"0.0005\"} ";
    unsigned long long u0 = value_of(updates), b0 = value_of(bucket);
    unsigned long long ops0 = value_of("\nhookwarden_patch_operations_total ");
    pthread_t t[THREADS];

    for (int i = 0; i < THREADS; i++)
        ck_assert_int_eq(pthread_create(&t[i], NULL, count, NULL), 0);
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    ck_assert_uint_eq(value_of(updates) - u0, THREADS * EACH);
    ck_assert_uint_eq(value_of(bucket) - b0, THREADS * EACH);
    ck_assert_uint_eq(value_of("\nhookwarden_patch_operations_total ") - ops0, 2 * THREADS * EACH);
    ck_assert_uint_eq(value_of("\nhookwarden_inflight_requests "), THREADS * EACH);
    /* Other threads end them: the gauge is the sum, wherever each step ran. */
    for (int i = 0; i < THREADS; i++)
        ck_assert_int_eq(pthread_create(&t[i], NULL, finish, NULL), 0);
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    ck_assert_uint_eq(value_of("\nhookwarden_inflight_requests "), 0);
}
END_TEST

Suite *hw_suite_metrics(void);

Suite *
hw_suite_metrics(void)
{
    Suite *s = suite_create("metrics");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, test_metrics_add_up_what_every_thread_counted);
    suite_add_tcase(s, tc);
    return s;
}

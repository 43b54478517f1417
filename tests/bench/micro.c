/* SPDX-License-Identifier: Apache-2.0 */
/*
 * micro: the handler alone, in a loop, on one AdmissionReview body; prints
 * microseconds per request without and then with the per-request memory
 * budget (jansson's allocator hooks and arena, as the server runs it), then
 * nanoseconds per metrics update. For profiles (perf, callgrind) of the
 * request path without TLS or HTTP in the way; `make bench-micro` runs it.
 *   usage: micro BODY.json [ITERATIONS] [POLICY.json]
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "hookwarden/budget.h"
#include "hookwarden/handler.h"
#include "hookwarden/metrics.h"

static double
us_since(const struct timespec *t0)
{
    struct timespec t1;

    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) * 1e6 + (double)(t1.tv_nsec - t0->tv_nsec) / 1e3;
}

int
main(int argc, char **argv)
{
    struct hw_response res = {0};
    struct hw_policy *p;
    struct timespec t0, t1;
    long n = argc > 2 ? atol(argv[2]) : 100000;
    char *body;
    long len;
    FILE *f;

    if (argc < 2 || (f = fopen(argv[1], "rb")) == NULL) {
        fprintf(stderr, "usage: micro BODY.json [ITERATIONS] [POLICY.json]\n");
        return 2;
    }
    fseek(f, 0, SEEK_END);
    len = ftell(f);
    rewind(f);
    body = malloc((size_t)len);
    if (body == NULL || fread(body, 1, (size_t)len, f) != (size_t)len)
        return 1;
    fclose(f);
    p = argc > 3 ? hw_policy_load(argv[3], NULL, NULL) : hw_policy_new_default(NULL, NULL);
    if (p == NULL)
        return 1;
    hw_handler_mutate(p, body, (size_t)len, &res);
    printf("status %d, decision %s, %zu ops, %zu response bytes\n", res.status,
           hw_handler_decision_name(res.decision), res.patch_ops, res.body_len);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (long i = 0; i < n; i++)
        hw_handler_mutate(p, body, (size_t)len, &res);
    printf("%.2f us per request over %ld requests (%ld bytes)\n", us_since(&t0) / (double)n, n, len);
    /* As the server calls it: under the request's memory budget. */
    hw_budget_install();
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (long i = 0; i < n; i++) {
        struct hw_budget b;

        hw_budget_begin(&b, 8u << 20);
        hw_handler_mutate(p, body, (size_t)len, &res);
        hw_budget_end(&b);
    }
    printf("%.2f us per request with the memory budget, as the server runs it\n", us_since(&t0) / (double)n);
    /* What counting one request costs: the metrics call the server makes. */
    hw_handler_mutate(p, body, (size_t)len, &res);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (long i = 0; i < n * 10; i++)
        hw_metrics_admission(&res, 1e-5);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    printf("%.1f ns per hw_metrics_admission call over %ld calls\n",
           ((double)(t1.tv_sec - t0.tv_sec) * 1e9 + (double)(t1.tv_nsec - t0.tv_nsec)) / (double)(n * 10),
           n * 10);
    hw_response_clear(&res);
    hw_policy_unref(p);
    free(body);
    return 0;
}

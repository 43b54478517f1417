/* SPDX-License-Identifier: Apache-2.0 */
/*
 * metrics: fixed arrays of atomic counters indexed by small enums, and the
 * renderer that turns them into Prometheus text. Names follow Prometheus
 * conventions: _total for counters, _seconds and base units, a histogram
 * with cumulative buckets. The counters every admission updates are kept in
 * shards, one per thread up to N_SHARDS, each on cache lines of its own:
 * two workers counting their requests do not pass a cache line back and
 * forth; the renderer adds the shards up. Nothing here allocates except
 * the renderer.
 */
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "hookwarden/metrics.h"
#include "hookwarden/policy.h"

#define N_OPS 4
#define N_DECISIONS 4
#define N_BUCKETS 15
#define N_SHARDS 8

/* Up to 10 s, beyond the webhook's 5 s timeoutSeconds: a p99 over that
 * budget must be computable (histogram_quantile cannot see past the last
 * finite bucket). */
static const double buckets[N_BUCKETS] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                          0.05,   0.1,     0.25,   1.0,   2.5,    5.0,   10.0};
static const char *const op_labels[N_OPS] = {"CREATE", "UPDATE", "DELETE", "CONNECT"};
static const int bad_statuses[] = {400, 401, 404, 405, 413, 415, 500, 503};
#define N_BAD (sizeof(bad_statuses) / sizeof(bad_statuses[0]))

/* What every admission updates, per thread. */
struct shard {
    _Alignas(64) _Atomic uint64_t requests[N_OPS + 1][N_DECISIONS];  /* last row: not decoded */
    _Atomic uint64_t hist[N_BUCKETS + 1];               /* last: +Inf */
    _Atomic uint64_t hist_sum_ns;
    _Atomic uint64_t patch_ops;
    _Atomic uint64_t warnings;
    _Atomic uint64_t findings[HW_RULE_COUNT][3];
    _Atomic long inflight;
};

static struct shard shards[N_SHARDS];
static _Atomic unsigned next_shard;
static _Thread_local struct shard *mine;

static struct {
    _Atomic uint64_t bad[N_BAD + 1];                    /* last: other */
    _Atomic uint64_t conn_rejected;
    _Atomic uint64_t reloads[2][2];                     /* [what][ok] */
    _Atomic int64_t reload_error_at[2];                 /* [what]: Unix time, 0 = never */
    _Atomic uint64_t budget_exceeded;
    _Atomic int64_t cert_expiry;
    _Atomic int ready;
} m;

/* The calling thread's shard: threads take them in turn. */
static struct shard *
shard(void)
{
    if (mine == NULL)
        mine = &shards[atomic_fetch_add_explicit(&next_shard, 1, memory_order_relaxed) % N_SHARDS];
    return mine;
}

void
hw_metrics_admission(const struct hw_response *res, double seconds)
{
    struct shard *sh = shard();
    int op = res->operation >= 0 && res->operation < N_OPS ? res->operation : N_OPS;
    int d = (int)res->decision < N_DECISIONS ? (int)res->decision : HW_DECISION_ERROR;
    size_t b = 0;

    atomic_fetch_add_explicit(&sh->requests[op][d], 1, memory_order_relaxed);
    while (b < N_BUCKETS && seconds > buckets[b])
        b++;
    atomic_fetch_add_explicit(&sh->hist[b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&sh->hist_sum_ns, (uint64_t)(seconds * 1e9), memory_order_relaxed);
    if (res->patch_ops > 0)
        atomic_fetch_add_explicit(&sh->patch_ops, res->patch_ops, memory_order_relaxed);
    if (res->n_warnings > 0)
        atomic_fetch_add_explicit(&sh->warnings, res->n_warnings, memory_order_relaxed);
    for (size_t i = 0; i < res->n_findings; i++) {
        int r = res->findings[i].rule, a = res->findings[i].action;

        if (r >= 0 && r < HW_RULE_COUNT && a >= 0 && a < 3)
            atomic_fetch_add_explicit(&sh->findings[r][a], 1, memory_order_relaxed);
    }
}

void
hw_metrics_bad_request(int status)
{
    size_t i = 0;

    while (i < N_BAD && bad_statuses[i] != status)
        i++;
    atomic_fetch_add_explicit(&m.bad[i], 1, memory_order_relaxed);
}

void
hw_metrics_inflight_add(int delta)
{
    atomic_fetch_add_explicit(&shard()->inflight, delta, memory_order_relaxed);
}

void
hw_metrics_connection_rejected(void)
{
    atomic_fetch_add_explicit(&m.conn_rejected, 1, memory_order_relaxed);
}

void
hw_metrics_reload(enum hw_metrics_reload what, int ok)
{
    atomic_fetch_add_explicit(&m.reloads[what ? 1 : 0][ok ? 1 : 0], 1, memory_order_relaxed);
}

void
hw_metrics_reload_error(enum hw_metrics_reload what, time_t when)
{
    atomic_store_explicit(&m.reload_error_at[what ? 1 : 0], (int64_t)when, memory_order_relaxed);
}

void
hw_metrics_budget_exceeded(void)
{
    atomic_fetch_add_explicit(&m.budget_exceeded, 1, memory_order_relaxed);
}

void
hw_metrics_set_certificate_expiry(time_t not_after)
{
    atomic_store(&m.cert_expiry, (int64_t)not_after);
}

void
hw_metrics_set_ready(int ready)
{
    atomic_store(&m.ready, ready);
}

#define LOAD(x) ((unsigned long long)atomic_load_explicit(&(x), memory_order_relaxed))
/* A sharded counter: field is the member's path in struct shard. */
#define SUM(field) sum_shards(offsetof(struct shard, field))

static unsigned long long
sum_shards(size_t offset)
{
    unsigned long long total = 0;

    for (int i = 0; i < N_SHARDS; i++)
        total += atomic_load_explicit((_Atomic uint64_t *)(void *)((char *)&shards[i] + offset),
                                      memory_order_relaxed);
    return total;
}

static long
inflight_now(void)
{
    long total = 0;

    for (int i = 0; i < N_SHARDS; i++)
        total += atomic_load_explicit(&shards[i].inflight, memory_order_relaxed);
    return total;
}

static int
render_requests(struct hw_buf *out)
{
    int rc = hw_buf_append_str(out,
        "# HELP hookwarden_admission_requests_total AdmissionReview requests answered, by "
        "operation and decision.\n"
        "# TYPE hookwarden_admission_requests_total counter\n");

    for (int op = 0; op <= N_OPS; op++) {
        for (int d = 0; d < N_DECISIONS; d++) {
            rc |= hw_buf_printf(out,
                                "hookwarden_admission_requests_total{operation=\"%s\",decision=\"%s\"} %llu\n",
                                op < N_OPS ? op_labels[op] : "none",
                                hw_handler_decision_name((enum hw_decision)d), SUM(requests[op][d]));
        }
    }
    rc |= hw_buf_append_str(out,
        "# HELP hookwarden_admission_duration_seconds Time to decide an AdmissionReview: decode, "
        "policy, patch and encode, once the body has arrived.\n"
        "# TYPE hookwarden_admission_duration_seconds histogram\n");
    {
        unsigned long long cum = 0;

        for (int b = 0; b < N_BUCKETS; b++) {
            cum += SUM(hist[b]);
            rc |= hw_buf_printf(out, "hookwarden_admission_duration_seconds_bucket{le=\"%g\"} %llu\n",
                                buckets[b], cum);
        }
        cum += SUM(hist[N_BUCKETS]);
        rc |= hw_buf_printf(out,
                            "hookwarden_admission_duration_seconds_bucket{le=\"+Inf\"} %llu\n"
                            "hookwarden_admission_duration_seconds_sum %.9f\n"
                            "hookwarden_admission_duration_seconds_count %llu\n",
                            cum, (double)SUM(hist_sum_ns) / 1e9, cum);
    }
    return rc;
}

static int
render_policy(struct hw_buf *out)
{
    int rc = hw_buf_printf(out,
        "# HELP hookwarden_patch_operations_total JSON Patch operations sent.\n"
        "# TYPE hookwarden_patch_operations_total counter\n"
        "hookwarden_patch_operations_total %llu\n"
        "# HELP hookwarden_warnings_total Admission warnings sent.\n"
        "# TYPE hookwarden_warnings_total counter\n"
        "hookwarden_warnings_total %llu\n"
        "# HELP hookwarden_policy_findings_total Lint findings, by rule and action (warn or deny).\n"
        "# TYPE hookwarden_policy_findings_total counter\n",
        SUM(patch_ops), SUM(warnings));

    for (int r = 0; r < HW_RULE_COUNT; r++) {
        for (int a = HW_ACTION_WARN; a <= HW_ACTION_DENY; a++) {
            rc |= hw_buf_printf(out, "hookwarden_policy_findings_total{rule=\"%s\",action=\"%s\"} %llu\n",
                                hw_policy_rule_name((enum hw_rule)r),
                                hw_policy_action_name((enum hw_action)a), SUM(findings[r][a]));
        }
    }
    return rc;
}

static int
render_server(struct hw_buf *out)
{
    int rc = hw_buf_append_str(out,
        "# HELP hookwarden_http_errors_total Requests answered with an error status, by code.\n"
        "# TYPE hookwarden_http_errors_total counter\n");

    for (size_t i = 0; i <= N_BAD; i++) {
        if (i < N_BAD)
            rc |= hw_buf_printf(out, "hookwarden_http_errors_total{code=\"%d\"} %llu\n", bad_statuses[i],
                                LOAD(m.bad[i]));
        else
            rc |= hw_buf_printf(out, "hookwarden_http_errors_total{code=\"other\"} %llu\n", LOAD(m.bad[i]));
    }
    rc |= hw_buf_printf(out,
        "# HELP hookwarden_inflight_requests Admission requests (POST /mutate) being handled now.\n"
        "# TYPE hookwarden_inflight_requests gauge\n"
        "hookwarden_inflight_requests %ld\n"
        "# HELP hookwarden_connections_rejected_total Connections closed at once because the "
        "connection limit was reached.\n"
        "# TYPE hookwarden_connections_rejected_total counter\n"
        "hookwarden_connections_rejected_total %llu\n"
        "# HELP hookwarden_reloads_total Policy and certificate reloads, by result.\n"
        "# TYPE hookwarden_reloads_total counter\n"
        "hookwarden_reloads_total{what=\"policy\",result=\"success\"} %llu\n"
        "hookwarden_reloads_total{what=\"policy\",result=\"failure\"} %llu\n"
        "hookwarden_reloads_total{what=\"certificate\",result=\"success\"} %llu\n"
        "hookwarden_reloads_total{what=\"certificate\",result=\"failure\"} %llu\n"
        "# HELP hookwarden_reload_last_error_timestamp_seconds When a poll last found the policy "
        "or certificate files unusable (kept failing: recent), as a Unix time; 0 if never.\n"
        "# TYPE hookwarden_reload_last_error_timestamp_seconds gauge\n"
        "hookwarden_reload_last_error_timestamp_seconds{kind=\"policy\"} %lld\n"
        "hookwarden_reload_last_error_timestamp_seconds{kind=\"certificate\"} %lld\n"
        "# HELP hookwarden_memory_budget_exceeded_total Admission requests refused with 413 "
        "because decoding and deciding them needed more than the per-request memory budget.\n"
        "# TYPE hookwarden_memory_budget_exceeded_total counter\n"
        "hookwarden_memory_budget_exceeded_total %llu\n"
        "# HELP hookwarden_certificate_expiry_timestamp_seconds notAfter of the serving "
        "certificate, as a Unix time.\n"
        "# TYPE hookwarden_certificate_expiry_timestamp_seconds gauge\n"
        "hookwarden_certificate_expiry_timestamp_seconds %lld\n"
        "# HELP hookwarden_ready 1 when /readyz would answer 200 (as of the last probe or scrape).\n"
        "# TYPE hookwarden_ready gauge\n"
        "hookwarden_ready %d\n"
        "# HELP hookwarden_build_info Build information; the value is always 1.\n"
        "# TYPE hookwarden_build_info gauge\n"
        "hookwarden_build_info{version=\"%s\"} 1\n",
        inflight_now(), LOAD(m.conn_rejected), LOAD(m.reloads[0][1]), LOAD(m.reloads[0][0]),
        LOAD(m.reloads[1][1]), LOAD(m.reloads[1][0]), (long long)atomic_load(&m.reload_error_at[0]),
        (long long)atomic_load(&m.reload_error_at[1]), LOAD(m.budget_exceeded),
        (long long)atomic_load(&m.cert_expiry),
        atomic_load(&m.ready), HW_VERSION);
    return rc;
}

int
hw_metrics_render(struct hw_buf *out)
{
    return render_requests(out) | render_policy(out) | render_server(out) ? -1 : 0;
}

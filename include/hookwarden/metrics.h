/* SPDX-License-Identifier: Apache-2.0 */
/*
 * metrics: the process's counters, one of the three pieces of global state,
 * and their Prometheus text exposition. Every update is a relaxed atomic
 * add on a fixed slot (the per-request ones in the calling thread's
 * shard): no lock, no allocation, no cache line shared between workers
 * on the request path.
 */
#ifndef HOOKWARDEN_METRICS_H
#define HOOKWARDEN_METRICS_H

#include <stddef.h>
#include <time.h>

#include "hookwarden/buf.h"
#include "hookwarden/handler.h"

enum hw_metrics_reload { HW_RELOAD_POLICY = 0, HW_RELOAD_CERTIFICATE };

/* One finished /mutate request (decision, ops, findings) taking seconds. */
void hw_metrics_admission(const struct hw_response *res, double seconds);

/* A request answered with an error status (4xx/5xx) on any path. */
void hw_metrics_bad_request(int status);

/* Mirrors the server's count of admissions being handled right now. */
void hw_metrics_inflight_add(int delta);

/* Connections refused because the limit was reached. */
void hw_metrics_connection_rejected(void);

/* A reload adopted (ok) or refused a changed file: count once per change. */
void hw_metrics_reload(enum hw_metrics_reload what, int ok);

/* A poll found what's files unusable at when (every failing poll). */
void hw_metrics_reload_error(enum hw_metrics_reload what, time_t when);

/* An admission refused because it needed more than its memory budget. */
void hw_metrics_budget_exceeded(void);

void hw_metrics_set_certificate_expiry(time_t not_after);
void hw_metrics_set_ready(int ready);

/* Appends the text exposition (format 0.0.4) to out. */
int hw_metrics_render(struct hw_buf *out);

#endif

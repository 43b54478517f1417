/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The policy snapshot's layout, shared by policy.c (deciding) and
 * policyfile.c (building it from JSON). Not installed, not a contract:
 * everything outside these two files uses include/hookwarden/policy.h.
 * Strings are borrowed from the JSON documents the snapshot holds.
 */
#ifndef HOOKWARDEN_POLICY_IMPL_H
#define HOOKWARDEN_POLICY_IMPL_H

#include <stdatomic.h>

#include "hookwarden/policy.h"

#define POLICY_LIST_MAX 64

struct policy_strlist {
    const char *v[POLICY_LIST_MAX];
    size_t n;
};

struct policy_str {
    enum hw_mode mode;
    const char *value;
};

struct policy_int {
    enum hw_mode mode;
    long long value;
};

struct hw_policy {
    atomic_int refs;
    json_t *docs[2];                   /* the default document and the file, held */
    char *source;
    const char *label_key;
    struct policy_strlist label_values;  /* empty: any value */
    struct policy_strlist ns_include;    /* empty: every namespace */
    struct policy_strlist ns_exclude;
    struct policy_str hook_events, hook_delete, hook_weight, restart_policy;
    enum hw_mode pull_mode;              /* OFF or ADD (merge) */
    struct policy_strlist pull_secrets;
    struct policy_int backoff_limit, active_deadline, ttl;
    enum hw_action actions[HW_RULE_COUNT];
    long long ttl_min_seconds;
    long long helm_timeout_seconds;
    struct policy_strlist sidecars;
};

/* Helm's vocabulary (pkg/release/hook.go), shared by validation and lint. */
int policy_is_known_event(const char *s, size_t len);
int policy_is_known_delete_policy(const char *s, size_t len);

#endif

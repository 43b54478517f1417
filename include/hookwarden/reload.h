/* SPDX-License-Identifier: Apache-2.0 */
/*
 * reload: the policy and certificate sources of a serving process. A
 * reload object holds the current policy snapshot and the facts about the
 * serving certificate, and re-reads the policy, certificate and key files
 * on a poll (Kubernetes swaps a "..data" symlink to update mounted
 * ConfigMaps and Secrets, which breaks file watches) and on demand
 * (SIGHUP). It compares the files with what it adopted, not with what it
 * last saw, so a refused file is tried again at every poll until it is
 * adopted or replaced; a pair that is not valid yet is adopted as soon as
 * it is. An error is logged when it appears and when it changes, not at
 * every poll. It knows nothing of the server: main wires a pair installer
 * into it and gives the server its policy and readiness.
 */
#ifndef HOOKWARDEN_RELOAD_H
#define HOOKWARDEN_RELOAD_H

#include <stddef.h>
#include <time.h>

#include "hookwarden/certs.h"
#include "hookwarden/error.h"
#include "hookwarden/policy.h"

struct hw_reload;

/* Puts a checked pair into service (the server's credentials). pair is
 * borrowed for the call. 0, or -1 with err set and the old pair serving. */
typedef int (*hw_reload_install_fn)(void *ctx, const struct hw_certs_pair *pair,
                                    struct hw_error *err);

struct hw_reload_options {
    const char *policy_path;           /* NULL: built-in default, never reloaded */
    const struct hw_policy_overrides *overrides;  /* borrowed for the object's lifetime */
    const char *cert_path, *key_path;  /* NULL: no certificate */
    unsigned interval_ms;              /* poll interval; 0 means 1000 */
    time_t (*clock)(void);             /* wall clock for validity windows; NULL: time() */
};

/*
 * Loads the policy and, with cert_path, the pair into *pair (caller owns
 * it: hw_certs_pair_clear). Fails like hookwarden does at start, with a
 * message naming the file: a policy or pair that cannot be used at all. A
 * pair outside its validity window is not a failure: it is served, the
 * object is not ready (hw_reload_is_ready), and a renewed pair replaces it.
 * Returns a new object (hw_reload_free) or NULL.
 */
struct hw_reload *hw_reload_new(const struct hw_reload_options *opts, struct hw_certs_pair *pair,
                                struct hw_error *err);

/* Where adopted pairs go. Set it before hw_reload_start or hw_reload_poll;
 * without it a changed pair is never adopted. */
void hw_reload_set_installer(struct hw_reload *r, hw_reload_install_fn install, void *ctx);

/* Starts the poll thread. */
int hw_reload_start(struct hw_reload *r, struct hw_error *err);

/* Checks the files once in the calling thread: the poll thread's work, for
 * callers that run no thread (tests). Not while the thread runs. */
void hw_reload_poll(struct hw_reload *r);

/* Asks the poll thread to check now (SIGHUP). Thread-safe. */
void hw_reload_kick(struct hw_reload *r);

/* Stops and joins the poll thread: when it returns the installer is never
 * called again. Idempotent. */
void hw_reload_stop(struct hw_reload *r);

/* Stops the thread and frees everything. Accepts NULL. Nothing may call
 * hw_reload_policy or hw_reload_is_ready any more. */
void hw_reload_free(struct hw_reload *r);

/* The current policy, referenced (release with hw_policy_unref). Thread-safe. */
struct hw_policy *hw_reload_policy(struct hw_reload *r);

/* A number that changes each time the current policy is replaced, so a
 * reader can keep its reference until then. Thread-safe, lock-free. */
unsigned long hw_reload_policy_generation(struct hw_reload *r);

/* 1 when a policy is loaded and the pair in service is inside its validity
 * window now; otherwise 0 and why (may be NULL) says which and until when.
 * Thread-safe. */
int hw_reload_is_ready(struct hw_reload *r, char *why, size_t whysz);

#endif

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * reload: the current policy snapshot and the watcher that replaces it and
 * the serving certificate when their files change. Kubernetes updates
 * mounted ConfigMaps and Secrets by swapping a "..data" symlink, which
 * breaks file watches, so changes are found by re-reading and comparing
 * content on a short poll, and on demand (SIGHUP). A new snapshot is built
 * completely before it is swapped in; a broken file is logged and counted
 * and the old snapshot keeps serving.
 */
#ifndef HOOKWARDEN_RELOAD_H
#define HOOKWARDEN_RELOAD_H

#include "hookwarden/certs.h"
#include "hookwarden/error.h"
#include "hookwarden/policy.h"

struct hw_server;

struct hw_reload_options {
    const char *policy_path;           /* NULL: built-in default, never reloaded */
    const struct hw_policy_overrides *overrides;  /* borrowed for the process lifetime */
    const char *cert_path, *key_path;  /* NULL: no certificate watching */
    unsigned interval_ms;              /* poll interval, default 1000 */
};

/* Loads the initial policy (and certificate into pair when cert_path is
 * set). Fails like hookwarden would at start: the message names the file. */
int hw_reload_init(const struct hw_reload_options *opts, struct hw_certs_pair *pair,
                   struct hw_error *err);

/* Starts the poll thread; certificate changes go to server. */
int hw_reload_start(struct hw_server *server, struct hw_error *err);

/* Checks the files now (SIGHUP). Thread-safe. */
void hw_reload_now(void);

/* Stops the thread and releases the snapshot. */
void hw_reload_stop(void);

/* The current policy, referenced: release with hw_policy_unref(). */
struct hw_policy *hw_reload_policy(void);

/* 1 when the serving certificate is inside its validity window now. */
int hw_reload_certificate_valid(void);

#endif

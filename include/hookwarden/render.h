/* SPDX-License-Identifier: Apache-2.0 */
/*
 * render: the offline door to the policy engine. `hookwarden render` reads
 * a stream of Kubernetes manifests (multi-document YAML or JSON), applies
 * the same hw_policy_apply() the webhook uses to every document and writes
 * the stream back, changed documents re-emitted; `hookwarden lint` reports
 * findings as file:document:kind/name: rule: message; `hookwarden policy
 * show` prints the policy (for a namespace) as JSON. No network.
 */
#ifndef HOOKWARDEN_RENDER_H
#define HOOKWARDEN_RENDER_H

#include "hookwarden/config.h"

/* Runs render, lint or policy show per cfg->command; returns the process
 * exit code. */
int hw_render_main(const struct hw_config *cfg);

#endif

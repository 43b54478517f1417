/* SPDX-License-Identifier: Apache-2.0 */
/*
 * export: the policy as native admission policies for kube-apiserver 1.36+
 * (admissionregistration.k8s.io/v1). A MutatingAdmissionPolicy and its
 * binding make the webhook's changes with JSON Patch; a
 * ValidatingAdmissionPolicy bound with validationActions [Warn] gives the
 * rule warnings, the stale-template warning and the audit annotations, and
 * one bound with [Deny] gives the denial, with the webhook's messages. The
 * CEL reproduces hw_policy_apply(): selection, UPDATE keeping the stored
 * pod template, ratcheting, objects being deleted left alone, idempotent
 * on reinvocation. A policy with per-namespace overrides gives one such
 * set per distinct effective policy, each for the namespaces that get it.
 * It reads the policy through hw_policy_to_json() and writes YAML; it
 * decides nothing about objects itself.
 */
#ifndef HOOKWARDEN_EXPORT_H
#define HOOKWARDEN_EXPORT_H

#include "hookwarden/buf.h"
#include "hookwarden/error.h"
#include "hookwarden/policy.h"

#define HW_EXPORT_NAME_MAX 40          /* see hw_export_name_ok() */

struct hw_export_options {
    const char *name;                  /* object names; NULL: "hookwarden" (borrowed) */
};

/*
 * A valid --name: a DNS label of at most HW_EXPORT_NAME_MAX characters, so
 * that NAME-deny is one too and kube-apiserver's prefix on each warning
 * ("Validation failed for ValidatingAdmissionPolicy 'NAME' with binding
 * 'NAME': ") keeps the most warnings one Job can get within its 4096-rune
 * budget per response. 1 when valid.
 */
int hw_export_name_ok(const char *name);

/*
 * Appends to out the YAML stream of the objects for policy p (borrowed):
 * MutatingAdmissionPolicy and binding NAME, ValidatingAdmissionPolicy and
 * binding NAME (Warn) when a rule is on or a stored template can be stale,
 * NAME-deny (Deny) when a rule denies; with overrides, the same again for
 * each other combination's policy as NAME-oI-J (at most 8 overrides).
 * Appends to notes (may be NULL) one
 * line per place where what the user reads differs from the webhook's
 * text. Returns 0, or -1 with err set: HW_EINVAL naming the policy key or
 * option that cannot be exported with the webhook's semantics (nothing is
 * written then), HW_ETOOBIG or HW_EINTERNAL.
 */
int hw_export_admission_policy(const struct hw_policy *p, const struct hw_export_options *opt,
                               struct hw_buf *out, struct hw_buf *notes, struct hw_error *err);

#endif

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Helpers shared by the unit suites: reading test data, building a policy,
 * and an independent RFC 6902 applier with kube-apiserver's json-patch v4
 * semantics, used only to check that the patches we emit apply to the
 * object they came from.
 */
#ifndef HOOKWARDEN_TESTUTIL_H
#define HOOKWARDEN_TESTUTIL_H

#include <jansson.h>
#include <stddef.h>

#include "hookwarden/policy.h"

/* Reads HW_TEST_DATA/rel (or an absolute path) whole; NULL on failure. */
char *tu_read(const char *rel, size_t *len);

/* Loads a JSON file (relative to tests/data, or absolute); aborts the test on failure. */
json_t *tu_json(const char *path);

/* Applies patch (an array of ops) to a copy of doc with evanphx v4 rules.
 * Returns the new document, or NULL and sets *why. */
json_t *tu_apply_patch(const json_t *doc, const json_t *patch, const char **why);

/* Wraps a Job in a v1 AdmissionReview request body (new string). */
char *tu_review(const json_t *job, const char *operation, const char *version,
                const json_t *old);

/* The policy that text (JSON) describes, or the built-in default when text
 * is NULL; fails the test when it is refused. */
struct hw_policy *tu_policy(const char *text);

#endif

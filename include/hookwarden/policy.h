/* SPDX-License-Identifier: Apache-2.0 */
/*
 * policy: what to change, warn about or deny for one object. A policy is an
 * immutable, reference-counted snapshot built from the built-in default
 * document, optionally overlaid by a policy file (JSON or YAML) and then by
 * command-line values, and holding the file's per-namespace overrides,
 * compiled: the overrides whose patterns match a Job's namespace are laid
 * over that, in file order, when the Job is judged. hw_policy_apply() is
 * the one decision function the webhook, the offline CLI and the tests
 * share; it changes the object in place through the patch builder, so the
 * caller gets both the patch and the patched object. It does no I/O
 * (loading a file is the one exception, hw_policy_load, used at start and
 * on reload). The read-only view of the overrides at the end of this
 * header is what other forms of the policy (policy show, exports) use.
 */
#ifndef HOOKWARDEN_POLICY_H
#define HOOKWARDEN_POLICY_H

#include <jansson.h>
#include <stddef.h>

#include "hookwarden/buf.h"
#include "hookwarden/error.h"
#include "hookwarden/patch.h"
#include "hookwarden/review.h"

enum hw_mode { HW_MODE_OFF = 0, HW_MODE_ADD, HW_MODE_ENFORCE };
enum hw_action { HW_ACTION_OFF = 0, HW_ACTION_WARN, HW_ACTION_DENY };

enum hw_rule {
    HW_RULE_NOT_A_HOOK = 0,      /* a Helm release resource, not a hook */
    HW_RULE_UNKNOWN_HOOK_VALUE,  /* a hook event or delete policy Helm does not know */
    HW_RULE_TTL,                 /* ttlSecondsAfterFinished too short (0) */
    HW_RULE_DELETE_POLICY,       /* delete policy without before-hook-creation */
    HW_RULE_ACTIVE_DEADLINE,     /* activeDeadlineSeconds missing or not below Helm's timeout */
    HW_RULE_SIDECAR,             /* a long-lived sidecar with no way to stop */
    HW_RULE_COUNT
};

/* Command-line values that replace the file's base layer (the file's
 * per-namespace "overrides" still apply after them; see the end of this
 * header). NULL / 0 = not given. */
struct hw_policy_overrides {
    const char *label_key;             /* with label_value, from --label KEY=VALUE */
    const char *label_value;
    const char *const *pull_secrets;   /* from --image-pull-secret, repeatable */
    size_t n_pull_secrets;
    int no_hook_annotations;           /* --hook-annotations=false: hook.* modes off */
};

struct hw_policy;

#define HW_POLICY_OVERRIDES_MAX 256    /* entries of a policy file's "overrides" */

/* The built-in default policy document, as JSON text (deploy/base/policy.json
 * is equal to it; the tests compare the two). Static. */
const char *hw_policy_default_text(void);

/* The built-in default policy with overrides (ov may be NULL). */
struct hw_policy *hw_policy_new_default(const struct hw_policy_overrides *ov, struct hw_error *err);

/*
 * Builds a policy from a policy file's text. source names it in messages.
 * On failure err holds "source:line:col: problem" for the first problem.
 */
struct hw_policy *hw_policy_parse(const char *text, size_t len, const char *source,
                                  const struct hw_policy_overrides *ov, struct hw_error *err);

/* The largest policy file accepted, in bytes. */
#define HW_POLICY_FILE_MAX (1024 * 1024)

/* Reads path (at most HW_POLICY_FILE_MAX bytes) and parses it. */
struct hw_policy *hw_policy_load(const char *path, const struct hw_policy_overrides *ov,
                                 struct hw_error *err);

/*
 * Checks a policy file's text and appends every problem found to report,
 * one "source:line:col: message" line each. Returns the number of problems.
 */
int hw_policy_check(const char *text, size_t len, const char *source, struct hw_buf *report);

/* Reference counting: a snapshot lives while a request or the server holds it. */
struct hw_policy *hw_policy_ref(struct hw_policy *p);
void hw_policy_unref(struct hw_policy *p);

/* The HW_REVIEW_NEED_* bits this policy's rules read from an object. */
unsigned hw_policy_review_needs(const struct hw_policy *p);

/* The paths of an object hw_policy_apply() reads (*n of them): its
 * declaration, static. */
const struct hw_review_path *hw_policy_reads(size_t *n);

/* The fast decoder's table built from that declaration, once per process;
 * static, or NULL if it could not be built (then decode everything). p
 * may be NULL: every policy reads the same paths. */
const struct hw_review_plan *hw_policy_read_plan(const struct hw_policy *p);

/* Where the policy came from: a file name or "built-in default". Borrowed. */
const char *hw_policy_source(const struct hw_policy *p);

/* Stable rule names ("not-a-hook", ...). Static. */
const char *hw_policy_rule_name(enum hw_rule rule);
const char *hw_policy_action_name(enum hw_action action);

/* What the request is, as far as selection goes. Pointers are borrowed. */
struct hw_target {
    enum hw_operation operation;
    const char *group, *version, *kind, *subresource;
    const char *namespace_;            /* request namespace; "" = use the object's */
    const json_t *old_object;          /* UPDATE: the stored object (required); else unused */
};

#define HW_WARNING_MAX 120             /* kube-apiserver's advice per warning */
#define HW_OUTCOME_MAX 16
#define HW_DENY_MAX 2048

struct hw_outcome {
    int selected;                      /* the policy applies to this object */
    int deleting;                      /* selected, but being deleted: left alone */
    int denied;
    size_t n_warnings;
    char warnings[HW_OUTCOME_MAX][HW_WARNING_MAX + 1];
    size_t n_replaced;                 /* the first n_replaced warnings say a value was replaced */
    size_t n_findings;
    struct {
        enum hw_rule rule;
        enum hw_action action;         /* what it did: a waived denial is a warning */
        int waived;                    /* a deny rule the stored Job already broke (UPDATE) */
        char message[512];             /* the problem; for a denial also ". Fix: ..." */
    } findings[HW_OUTCOME_MAX];
    size_t n_changes;
    const char *changes[HW_OUTCOME_MAX];  /* static names of what was set */
    char stale[64];                    /* UPDATE: stored template fields the policy would
                                        * change, "restartPolicy,imagePullSecrets"; "" */
    char deny_message[HW_DENY_MAX];
    size_t n_overrides;                /* selected: the overrides that applied, */
    unsigned short overrides[HW_POLICY_OVERRIDES_MAX];  /* their indexes, in file order */
};

/*
 * Applies p to object (a Job, changed in place) for target t, recording each
 * change in patch. out is filled from scratch. Returns -1 only when the
 * object cannot be patched (a field of the wrong type: HW_EINVAL) or on
 * internal failure; a denial is a success with out->denied set.
 *
 * On UPDATE (t->old_object set) the pod template's restartPolicy and
 * imagePullSecrets take the stored values, Job settings equal to the stored
 * ones are left alone, and a deny rule that the stored object already broke
 * only warns (findings[].waived). An object with metadata.deletionTimestamp
 * is left alone (out->deleting). A labelled Job whose UPDATE drops the label
 * only has its template kept.
 */
int hw_policy_apply(const struct hw_policy *p, const struct hw_target *t, json_t *object,
                    struct hw_patch *patch, struct hw_outcome *out, struct hw_error *err);

/* 1 when the policy applies in namespace ns at all (namespaces.include and
 * namespaces.exclude). */
int hw_policy_has_namespace(const struct hw_policy *p, const char *ns);

/*
 * ---- Per-namespace overrides, read-only ----
 *
 * A policy file's "overrides" is a list; entry i has namespace patterns
 * and sets some keys of the policy. A Job in namespace NS gets the file's
 * base layer (with the command line's values), then every override with a
 * pattern matching NS, in file order (index order), each replacing the
 * keys it sets. A pattern is a namespace name in which '*' matches any run
 * of characters (also none) and '?' exactly one; nothing else is special.
 * Namespace names hold only [a-z0-9-], so a pattern becomes the regular
 * expression ^...$ with '*' as ".*" and '?' as ".", nothing to escape.
 * Indexes are stable for a snapshot and are what the admission log
 * ("overrides":[0,2]) and the audit annotation (overrides: "0,2") name.
 * The snapshots these functions return are ordinary snapshots without
 * overrides: hw_policy_to_json() writes one as a complete policy document.
 */

/* How many overrides the file has (0 without a file or without the key). */
size_t hw_policy_override_count(const struct hw_policy *p);

/* Override i's namespace patterns, *n of them, in file order. Borrowed:
 * valid while p is referenced. NULL (and *n 0) when i is out of range. */
const char *const *hw_policy_override_namespaces(const struct hw_policy *p, size_t i, size_t *n);

/* Where override i is written, "FILE:LINE:COLUMN". Borrowed, as above. */
const char *hw_policy_override_where(const struct hw_policy *p, size_t i);

/* 1 when override i has a pattern that matches namespace ns. */
int hw_policy_override_has_namespace(const struct hw_policy *p, size_t i, const char *ns);

/* 1 when the namespace pattern matches ns (the rule above). */
int hw_policy_glob_is_match(const char *pattern, const char *ns);

/* The indexes of the overrides that apply in ns, ascending, into which
 * (room for hw_policy_override_count(p)); returns how many. */
size_t hw_policy_overrides_for(const struct hw_policy *p, const char *ns, size_t *which);

/*
 * The effective policy with exactly the overrides which[0..n) laid over
 * the base layer in that order (the webhook uses ascending order): a new
 * snapshot without overrides (release with hw_policy_unref()), sharing p's
 * documents. NULL with HW_EINVAL for an index out of range.
 */
struct hw_policy *hw_policy_with_overrides(const struct hw_policy *p, const size_t *which,
                                           size_t n, struct hw_error *err);

/* The effective policy for namespace ns: what the webhook and render apply
 * to a Job there. A new snapshot, as above. */
struct hw_policy *hw_policy_for_namespace(const struct hw_policy *p, const char *ns,
                                          struct hw_error *err);

/*
 * The snapshot as a complete policy document (new reference): every key of
 * the schema with its value, the command line's values included, and, when
 * p has overrides, "overrides" with each entry's namespaces and exactly the
 * keys it sets. hw_policy_parse() of its text builds the same policy.
 */
json_t *hw_policy_to_json(const struct hw_policy *p, struct hw_error *err);

#endif

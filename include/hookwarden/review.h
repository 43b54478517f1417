/* SPDX-License-Identifier: Apache-2.0 */
/*
 * review: the AdmissionReview codec, admission.k8s.io/v1 and v1beta1.
 * Decoding validates the envelope and exposes borrowed views of the fields
 * the policy needs; encoding writes the answer in the version received,
 * with the uid echoed and the patch as padded standard base64. It decides
 * nothing: what to answer comes from the caller.
 */
#ifndef HOOKWARDEN_REVIEW_H
#define HOOKWARDEN_REVIEW_H

#include <jansson.h>
#include <stddef.h>

#include "hookwarden/buf.h"
#include "hookwarden/error.h"
#include "hookwarden/scan.h"

enum hw_review_version { HW_REVIEW_V1 = 0, HW_REVIEW_V1BETA1 };

enum hw_operation { HW_OP_CREATE = 0, HW_OP_UPDATE, HW_OP_DELETE, HW_OP_CONNECT };

#define HW_REVIEW_TEXT 768

struct hw_review {
    json_t *root;                  /* owned: the parsed body; NULL after the fast decode */
    enum hw_review_version version;
    enum hw_operation operation;
    /* Borrowed from root or text, valid until hw_review_clear(); never NULL ("" when absent). */
    const char *uid;
    const char *group;             /* request.kind.group ("" for core) */
    const char *kind_version;      /* request.kind.version */
    const char *kind;              /* request.kind.kind */
    const char *subresource;
    const char *namespace_;
    const char *name;
    int dry_run;
    /* Borrowed from root, or owned when root is NULL (the fast decode). */
    json_t *object;                /* NULL when absent or null */
    json_t *old_object;            /* the stored object (always set on UPDATE) */
    char derived_group[64];        /* group from object.apiVersion when request.kind is absent */
    char text[HW_REVIEW_TEXT];     /* the fast decode's copies of the envelope's strings */
};

/*
 * A path below request.object (and the same below request.oldObject) that
 * the caller reads: member names from the object down, NULL-terminated.
 * The value at its end is decoded whole; an object on the way keeps only
 * the members that paths name, and its presence and type. need is 0 for a
 * path always read, or an HW_REVIEW_NEED_* bit: the value is then decoded
 * only when the caller's need has that bit. Paths are the caller's
 * declaration of what it reads (policy.c's hw_policy_read_plan).
 */
#define HW_REVIEW_PATH_MAX 6
struct hw_review_path {
    const char *name[HW_REVIEW_PATH_MAX];
    unsigned need;
};

#define HW_REVIEW_NEED_CONTAINERS 0x1u
#define HW_REVIEW_FULL 0x100u     /* parse everything with jansson (tests, render) */

/* The fast decoder's table: the scanner's fields for the envelope, what
 * review.c itself reads in the object (apiVersion, kind, metadata.name)
 * and the caller's paths, under request.object and request.oldObject.
 * Plain data, built once by hw_review_plan_build and then only read. */
struct hw_review_plan {
    struct hw_scan_field fields[HW_SCAN_MAX_FIELDS];
    unsigned need[HW_SCAN_MAX_FIELDS];
    size_t n;
};

/* Compiles paths (n of them, borrowed: the names must outlive plan) into
 * plan. -1 with err when a path is empty or too long, when one path ends
 * where another goes on (the value would be both whole and cut), or when
 * the table would pass HW_SCAN_MAX_FIELDS fields. */
int hw_review_plan_build(struct hw_review_plan *plan, const struct hw_review_path *paths, size_t n,
                         struct hw_error *err);

/*
 * Parses and validates body (len bytes). On success rv owns the parsed
 * document (release with hw_review_clear). On failure rv is cleared and err
 * says what is wrong, with HW_EINVAL for anything the client sent badly:
 * among others a raw NUL byte, an envelope string with an escaped NUL
 * (\u0000), and an UPDATE without oldObject.
 *
 * With a plan (borrowed for the call) and without HW_REVIEW_FULL in need,
 * the body is first validated by the scanner (scan.h) and only the plan's
 * values (those whose need bit is in need) are parsed, into a skeleton
 * that keeps every other key on those paths out but their parents'
 * presence and types in. When the envelope is the usual one (its strings
 * without escapes), its strings are copied straight from the body into
 * rv->text and only object and oldObject become jansson values, owned by
 * rv (root stays NULL). A value parsed whole that the stored object has
 * byte for byte like object is built once and is in both: change object by
 * replacing its values (hw_patch does), never one in place. Answers are
 * the same either way;
 * tests/unit/check_scan.c shows it for every fixture and check_review.c
 * field by field. Without a plan, jansson parses everything.
 */
int hw_review_decode(const char *body, size_t len, const struct hw_review_plan *plan, unsigned need,
                     struct hw_review *rv, struct hw_error *err);

/* Releases what rv owns; rv may be decoded again. Accepts a cleared rv. */
void hw_review_clear(struct hw_review *rv);

/* Names: "CREATE", ...; "admission.k8s.io/v1", ... Static strings. */
const char *hw_review_operation_name(enum hw_operation op);
const char *hw_review_version_name(enum hw_review_version v);

/* The answer to encode. Strings are borrowed for the call. */
struct hw_answer {
    int allowed;
    int status_code;               /* with !allowed: e.g. 403 */
    const char *status_reason;     /* e.g. "Forbidden"; may be NULL */
    const char *status_message;    /* may be NULL */
    const char *patch;             /* JSON array text; NULL or "" = no patch */
    size_t patch_len;
    const char *const *warnings;
    size_t n_warnings;
    const char *const *audit_keys; /* parallel to audit_values */
    const char *const *audit_values;
    size_t n_audit;
};

/* Appends the AdmissionReview response for rv to out. */
int hw_review_encode(const struct hw_review *rv, const struct hw_answer *ans, struct hw_buf *out,
                     struct hw_error *err);


#endif

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * error: the one error record every fallible function fills. A caller owns
 * a struct hw_error, passes it last (or NULL), and reads the first failure
 * set: later failures while unwinding never overwrite the root cause. The
 * codes map, in one table, to the HTTP status a client sees.
 */
#ifndef HOOKWARDEN_ERROR_H
#define HOOKWARDEN_ERROR_H

#include <stddef.h>

enum hw_error_code {
    HW_OK = 0,
    HW_EINVAL,     /* invalid input: 400 */
    HW_EAUTH,      /* no or untrusted client certificate: 401 */
    HW_ENOTFOUND,  /* unknown path: 404 */
    HW_EMETHOD,    /* wrong method: 405 */
    HW_ETOOBIG,    /* body over the limit: 413 */
    HW_EMEDIA,     /* wrong media type: 415 */
    HW_EINTERNAL   /* our fault or the system's: 500 */
};

#define HW_ERROR_MSG_MAX 512

struct hw_error {
    enum hw_error_code code;
    char msg[HW_ERROR_MSG_MAX];
};

/* Sets err unless it is NULL or already holds an error. printf-style; a
 * message longer than msg is cut before a UTF-8 character, not inside. */
void hw_error_set(struct hw_error *err, enum hw_error_code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Clears err for reuse. Accepts NULL. */
void hw_error_clear(struct hw_error *err);

/* The HTTP status for code (200 for HW_OK). */
int hw_error_http_status(enum hw_error_code code);

/* The Kubernetes Status reason for code ("BadRequest", ...). Static. */
const char *hw_error_reason(enum hw_error_code code);

#endif

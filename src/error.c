/* SPDX-License-Identifier: Apache-2.0 */
/*
 * error: first-error-wins recording and the single table that maps error
 * codes to HTTP statuses and Kubernetes Status reasons. It does not log.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "hookwarden/error.h"
#include "hookwarden/text.h"

static const struct {
    int status;
    const char *reason;
} error_table[] = {
    [HW_OK] = {200, ""},
    [HW_EINVAL] = {400, "BadRequest"},
    [HW_EAUTH] = {401, "Unauthorized"},
    [HW_ENOTFOUND] = {404, "NotFound"},
    [HW_EMETHOD] = {405, "MethodNotAllowed"},
    [HW_ETOOBIG] = {413, "RequestEntityTooLarge"},
    [HW_EMEDIA] = {415, "UnsupportedMediaType"},
    [HW_EINTERNAL] = {500, "InternalError"},
};

void
hw_error_set(struct hw_error *err, enum hw_error_code code, const char *fmt, ...)
{
    /* Three bytes over: a character that begins before the cut is whole
     * here, so the cut can fall before it rather than inside it. */
    char text[HW_ERROR_MSG_MAX + 3];
    size_t len;
    va_list ap;

    if (err == NULL || err->code != HW_OK)
        return;
    err->code = code;
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    len = hw_text_cut(text, strlen(text), sizeof(err->msg) - 1);
    memcpy(err->msg, text, len);
    err->msg[len] = '\0';
}

void
hw_error_clear(struct hw_error *err)
{
    if (err == NULL)
        return;
    err->code = HW_OK;
    err->msg[0] = '\0';
}

int
hw_error_http_status(enum hw_error_code code)
{
    if ((size_t)code >= sizeof(error_table) / sizeof(error_table[0]))
        return 500;
    return error_table[code].status;
}

const char *
hw_error_reason(enum hw_error_code code)
{
    if ((size_t)code >= sizeof(error_table) / sizeof(error_table[0]))
        return "InternalError";
    return error_table[code].reason;
}

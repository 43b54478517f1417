/* SPDX-License-Identifier: Apache-2.0 */
/*
 * file: reads a whole file with stdio into a bounded hw_buf, turning errno
 * into text where it happens. The limit is checked as the bytes arrive, so
 * an oversized file never costs more than max bytes of memory.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "hookwarden/file.h"

int
hw_file_read(const char *path, const char *what, size_t max, struct hw_buf *out,
             struct hw_error *err)
{
    char chunk[8192];
    size_t n;
    FILE *f;
    int rc = -1;

    hw_buf_init(out, max);
    f = fopen(path, "rb");
    if (f == NULL) {
        hw_error_set(err, HW_EINVAL, "%s %s: cannot open: %s", what, path, strerror(errno));
        return -1;
    }
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        if (hw_buf_append(out, chunk, n) != 0) {
            hw_error_set(err, HW_EINVAL, "%s %s: larger than %zu bytes", what, path, max);
            goto out;
        }
    }
    if (ferror(f)) {
        hw_error_set(err, HW_EINVAL, "%s %s: cannot read: %s", what, path, strerror(errno));
        goto out;
    }
    rc = 0;
out:
    fclose(f);
    if (rc != 0)
        hw_buf_free(out);
    return rc;
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * file: the one reader of whole files (policy, certificates, keys, CA
 * bundles, manifests). Each caller passes the limit that belongs to what it
 * reads, so a file the poller compares and the loader parses is read the
 * same way. It does not parse, watch or cache anything.
 */
#ifndef HOOKWARDEN_FILE_H
#define HOOKWARDEN_FILE_H

#include <stddef.h>

#include "hookwarden/buf.h"
#include "hookwarden/error.h"

/*
 * Reads path whole into out (initialised here; the caller frees it with
 * hw_buf_free() on success and on failure). what names the file in
 * messages ("policy file", "certificate"). Fails with HW_EINVAL and a
 * message naming what and path when the file cannot be opened or read, or
 * holds more than max bytes. An empty file is read as empty: whether that
 * is an error is the caller's business.
 */
int hw_file_read(const char *path, const char *what, size_t max, struct hw_buf *out,
                 struct hw_error *err);

#endif

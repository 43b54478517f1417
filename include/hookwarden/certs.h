/* SPDX-License-Identifier: Apache-2.0 */
/*
 * certs: the only OpenSSL user. Checks a serving key pair (both files
 * present and PEM, the key unencrypted and matching the certificate, SANs
 * present), says where a time falls in its validity window, describes it
 * for logs and metrics, and generates certificates (a CA and a serving
 * pair for a Service's DNS names). It does not serve TLS: libmicrohttpd
 * (GnuTLS) serves the checked PEM.
 */
#ifndef HOOKWARDEN_CERTS_H
#define HOOKWARDEN_CERTS_H

#include <stddef.h>
#include <time.h>

#include "hookwarden/error.h"

struct hw_certs_info {
    char subject[256];
    char sans[1024];          /* "DNS:a, DNS:b, IP:127.0.0.1" */
    char sha256[100];         /* "AB:CD:..." */
    time_t not_before;
    time_t not_after;
};

/* A checked pair, as PEM text ready for the TLS library. */
struct hw_certs_pair {
    char *cert_pem;           /* owned, NUL-terminated: the certificate chain file */
    size_t cert_len;
    char *key_pem;            /* owned, NUL-terminated: the key re-encoded as PKCS#8 */
    size_t key_len;
    struct hw_certs_info info;
};

/* The largest certificate, key or CA file accepted, in bytes. */
#define HW_CERTS_FILE_MAX (1024 * 1024)

/*
 * Checks a pair given as file contents (cert_name and key_name name them in
 * messages): both PEM, the key unencrypted and matching the certificate,
 * at least one DNS or IP subjectAltName. The validity window is not
 * checked here (see hw_certs_validity): a pair outside it is still a pair.
 * On failure err names the file and the problem. On success pair owns the
 * PEM (hw_certs_pair_clear); it is zeroed on failure.
 */
int hw_certs_parse(const char *cert, size_t cert_len, const char *key, size_t key_len,
                   const char *cert_name, const char *key_name, struct hw_certs_pair *pair,
                   struct hw_error *err);

/* Reads cert_path and key_path (hw_file_read) and checks them as hw_certs_parse. */
int hw_certs_load(const char *cert_path, const char *key_path, struct hw_certs_pair *pair,
                  struct hw_error *err);

enum hw_certs_validity { HW_CERTS_VALID = 0, HW_CERTS_NOT_YET_VALID, HW_CERTS_EXPIRED };

/*
 * Where now falls in info's validity window. When it is outside, why (may
 * be NULL) says so with the date: "expired at 2026-11-27T22:49:29Z" or
 * "is not valid before 2026-11-27T22:49:29Z".
 */
enum hw_certs_validity hw_certs_validity(const struct hw_certs_info *info, time_t now, char *why,
                                         size_t whysz);

/* t as "2026-11-27T22:49:29Z" (UTC) into out, which holds at least 32 bytes. */
void hw_certs_format_time(time_t t, char *out, size_t outsz);

/*
 * OpenSSL runs only at start and on reload, yet loading a pair touches
 * megabytes of libcrypto's code and tables. Drops this process's mapping
 * of OpenSSL's pages that were never written: executable text, and
 * read-only data that is still all the file's (MADV_DONTNEED: nothing is
 * lost, the next use faults them back from the page cache; RELRO pages,
 * written at load, are kept). Best effort.
 */
void hw_certs_release_memory(void);

/* Frees and wipes the key material. Accepts a zeroed pair. */
void hw_certs_pair_clear(struct hw_certs_pair *pair);

/* Reads a CA bundle file (PEM certificates) for client verification. */
int hw_certs_load_ca(const char *path, char **pem, size_t *len, struct hw_error *err);

/*
 * Writes DIR/ca.crt, ca.key, tls.crt, tls.key: an ECDSA P-256 CA and a
 * serving certificate for service, service.ns, service.ns.svc and
 * service.ns.svc.cluster.local, valid for days; with loopback also for
 * localhost and 127.0.0.1 (a development pair). Keys are written 0600. DIR
 * is created when missing.
 */
int hw_certs_generate(const char *dir, const char *service, const char *ns, int days, int loopback,
                      struct hw_error *err);

#endif

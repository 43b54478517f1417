/* SPDX-License-Identifier: Apache-2.0 */
/*
 * certs: the only OpenSSL user. Loads and checks a serving key pair (both
 * files present and PEM, key matches certificate, inside its validity
 * window), describes it for logs and metrics, and generates development
 * certificates (a CA and a serving pair for a Service's DNS names). It
 * does not serve TLS: libmicrohttpd (GnuTLS) serves the checked PEM.
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

/*
 * Reads cert_path and key_path and checks them at time now. On failure err
 * names the file and the problem (missing, not PEM, expired, not yet valid,
 * key does not match). On success pair owns the PEM (hw_certs_pair_clear).
 */
int hw_certs_load(const char *cert_path, const char *key_path, time_t now,
                  struct hw_certs_pair *pair, struct hw_error *err);

/*
 * OpenSSL runs only at start and on reload, yet loading a pair touches
 * megabytes of libcrypto's code. Drops this process's mapping of OpenSSL's
 * executable pages (MADV_DONTNEED on read-only text: nothing is lost, the
 * next reload faults them back from the page cache). Best effort.
 */
void hw_certs_release_memory(void);

/* Frees and wipes the key material. Accepts a zeroed pair. */
void hw_certs_pair_clear(struct hw_certs_pair *pair);

/* Reads a CA bundle file (PEM certificates) for client verification. */
int hw_certs_load_ca(const char *path, char **pem, size_t *len, struct hw_error *err);

/*
 * Writes DIR/ca.crt, ca.key, tls.crt, tls.key: an ECDSA P-256 CA and a
 * serving certificate for service, service.ns, service.ns.svc,
 * service.ns.svc.cluster.local, localhost and 127.0.0.1, valid for days.
 * Keys are written 0600. DIR is created when missing.
 */
int hw_certs_generate(const char *dir, const char *service, const char *ns, int days,
                      struct hw_error *err);

#endif

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * certs: OpenSSL behind plain C types. Loading reads both files with the
 * shared reader, parses them as PEM (never prompting for a passphrase),
 * checks the pair and describes the certificate; the validity window is a
 * separate question, because a pair outside it is still served until a
 * better one arrives. Generating builds an ECDSA P-256 CA and a serving
 * certificate with the SANs kube-apiserver verifies. OpenSSL's error queue
 * is turned into text here, where it happens.
 */
#include <errno.h>
#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hookwarden/buf.h"
#include "hookwarden/certs.h"
#include "hookwarden/file.h"

static const char *
ssl_error_text(void)
{
    static __thread char buf[256];
    unsigned long e = ERR_get_error();

    if (e == 0)
        return "no further detail";
    ERR_error_string_n(e, buf, sizeof(buf));
    ERR_clear_error();
    return buf;
}

/* Reads a PEM file; an empty one is refused here, naming it. */
static int
read_pem(const char *path, const char *what, struct hw_buf *b, struct hw_error *err)
{
    if (hw_file_read(path, what, HW_CERTS_FILE_MAX, b, err) != 0)
        return -1;
    if (b->len == 0) {
        hw_error_set(err, HW_EINVAL, "%s %s: file is empty, expected PEM", what, path);
        hw_buf_free(b);
        return -1;
    }
    return 0;
}

static time_t
asn1_to_time(const ASN1_TIME *t)
{
    struct tm tm;

    memset(&tm, 0, sizeof(tm));
    if (ASN1_TIME_to_tm(t, &tm) != 1)
        return 0;
    return timegm(&tm);
}

static void
describe(X509 *x, struct hw_certs_info *info)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    GENERAL_NAMES *names;
    BIO *bio;
    size_t used = 0;

    memset(info, 0, sizeof(*info));
    bio = BIO_new(BIO_s_mem());
    if (bio != NULL) {
        int n;

        X509_NAME_print_ex(bio, X509_get_subject_name(x), 0, XN_FLAG_RFC2253);
        n = BIO_read(bio, info->subject, sizeof(info->subject) - 1);
        info->subject[n > 0 ? n : 0] = '\0';
        BIO_free(bio);
    }
    names = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
    for (int i = 0; names != NULL && i < sk_GENERAL_NAME_num(names); i++) {
        const GENERAL_NAME *g = sk_GENERAL_NAME_value(names, i);
        char ip[64] = "";
        int w = 0;

        if (g->type == GEN_DNS) {
            w = snprintf(info->sans + used, sizeof(info->sans) - used, "%sDNS:%s",
                         used ? ", " : "", (const char *)ASN1_STRING_get0_data(g->d.dNSName));
        } else if (g->type == GEN_IPADD && ASN1_STRING_length(g->d.iPAddress) == 4) {
            const unsigned char *a = ASN1_STRING_get0_data(g->d.iPAddress);

            snprintf(ip, sizeof(ip), "%u.%u.%u.%u", a[0], a[1], a[2], a[3]);
            w = snprintf(info->sans + used, sizeof(info->sans) - used, "%sIP:%s", used ? ", " : "",
                         ip);
        }
        if (w < 0 || (size_t)w >= sizeof(info->sans) - used)
            break;
        used += (size_t)w;
    }
    GENERAL_NAMES_free(names);
    if (X509_digest(x, EVP_sha256(), md, &mdlen) == 1) {
        for (unsigned int i = 0; i < mdlen && 3 * i + 3 < sizeof(info->sha256); i++)
            snprintf(info->sha256 + 3 * i, 4, "%02X%s", md[i], i + 1 < mdlen ? ":" : "");
    }
    info->not_before = asn1_to_time(X509_get0_notBefore(x));
    info->not_after = asn1_to_time(X509_get0_notAfter(x));
}

/* At least one DNS or IP subjectAltName. */
static int
has_san(X509 *x)
{
    GENERAL_NAMES *names = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
    int found = 0;

    for (int i = 0; names != NULL && i < sk_GENERAL_NAME_num(names) && !found; i++) {
        int type = sk_GENERAL_NAME_value(names, i)->type;

        found = type == GEN_DNS || type == GEN_IPADD;
    }
    GENERAL_NAMES_free(names);
    return found;
}

void
hw_certs_pair_clear(struct hw_certs_pair *pair)
{
    if (pair == NULL)
        return;
    free(pair->cert_pem);
    if (pair->key_pem != NULL)
        OPENSSL_cleanse(pair->key_pem, pair->key_len);
    free(pair->key_pem);
    memset(pair, 0, sizeof(*pair));
}

static char *
key_to_pkcs8(EVP_PKEY *key, size_t *len)
{
    BIO *bio = BIO_new(BIO_s_mem());
    char *data, *out = NULL;
    long n;

    if (bio == NULL)
        return NULL;
    if (PEM_write_bio_PKCS8PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL) == 1) {
        n = BIO_get_mem_data(bio, &data);
        out = malloc((size_t)n + 1);
        if (out != NULL) {
            memcpy(out, data, (size_t)n);
            out[n] = '\0';
            *len = (size_t)n;
        }
    }
    BIO_free_all(bio);  /* BIO_s_mem frees (not cleanses); acceptable for a PEM copy */
    return out;
}

/* OpenSSL asks for a passphrase through this callback when a key is
 * encrypted. Without one it would prompt on the terminal, and --check would
 * block: refuse, and remember that it was asked. */
static int
refuse_passphrase(char *buf, int size, int rwflag, void *asked)
{
    (void)buf, (void)size, (void)rwflag;
    *(int *)asked = 1;
    return -1;
}

static EVP_PKEY *
parse_key(const char *key, size_t key_len, const char *key_name, struct hw_error *err)
{
    BIO *bio = BIO_new_mem_buf(key, (int)key_len);
    EVP_PKEY *pk = NULL;
    int asked = 0;

    if (bio != NULL)
        pk = PEM_read_bio_PrivateKey(bio, NULL, refuse_passphrase, &asked);
    BIO_free(bio);
    if (pk == NULL && asked) {
        ERR_clear_error();
        hw_error_set(err, HW_EINVAL,
                     "private key %s is encrypted (it needs a passphrase): hookwarden does not "
                     "prompt for one; store the key unencrypted, as kubernetes.io/tls Secrets do",
                     key_name);
    } else if (pk == NULL) {
        hw_error_set(err, HW_EINVAL, "private key %s: not a PEM private key (%s)", key_name,
                     ssl_error_text());
    }
    return pk;
}

/* The certificate and key agree, and kube-apiserver has a name to check. */
static int
check_pair(X509 *x, EVP_PKEY *key, const char *cert_name, const char *key_name,
           struct hw_error *err)
{
    if (X509_check_private_key(x, key) != 1) {
        ERR_clear_error();
        hw_error_set(err, HW_EINVAL, "private key %s does not match certificate %s", key_name,
                     cert_name);
        return -1;
    }
    if (!has_san(x)) {
        hw_error_set(err, HW_EINVAL,
                     "certificate %s has no subjectAltName: kube-apiserver checks SANs only (the CN "
                     "is ignored); make it for DNS:<service>.<namespace>.svc (hookwarden gen-certs)",
                     cert_name);
        return -1;
    }
    return 0;
}

int
hw_certs_parse(const char *cert, size_t cert_len, const char *key, size_t key_len,
               const char *cert_name, const char *key_name, struct hw_certs_pair *pair,
               struct hw_error *err)
{
    BIO *bio = NULL;
    X509 *x = NULL;
    EVP_PKEY *pk = NULL;
    int rc = -1;

    memset(pair, 0, sizeof(*pair));
    ERR_clear_error();
    bio = BIO_new_mem_buf(cert, (int)cert_len);
    x = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
    if (x == NULL) {
        hw_error_set(err, HW_EINVAL, "certificate %s: not a PEM certificate (%s)", cert_name,
                     ssl_error_text());
        goto out;
    }
    if ((pk = parse_key(key, key_len, key_name, err)) == NULL ||
        check_pair(x, pk, cert_name, key_name, err) != 0)
        goto out;
    describe(x, &pair->info);
    pair->key_pem = key_to_pkcs8(pk, &pair->key_len);
    pair->cert_pem = malloc(cert_len + 1);
    if (pair->key_pem == NULL || pair->cert_pem == NULL) {
        hw_error_set(err, HW_EINTERNAL, "private key %s: cannot re-encode (%s)", key_name,
                     ssl_error_text());
        goto out;
    }
    memcpy(pair->cert_pem, cert, cert_len);
    pair->cert_pem[cert_len] = '\0';
    pair->cert_len = cert_len;
    rc = 0;
out:
    if (rc != 0)
        hw_certs_pair_clear(pair);
    BIO_free(bio);
    X509_free(x);
    EVP_PKEY_free(pk);
    return rc;
}

int
hw_certs_load(const char *cert_path, const char *key_path, struct hw_certs_pair *pair,
              struct hw_error *err)
{
    struct hw_buf cb = {0}, kb = {0};
    int rc = -1;

    memset(pair, 0, sizeof(*pair));
    if (read_pem(cert_path, "certificate", &cb, err) == 0 &&
        read_pem(key_path, "private key", &kb, err) == 0)
        rc = hw_certs_parse(cb.data, cb.len, kb.data, kb.len, cert_path, key_path, pair, err);
    hw_buf_free(&cb);
    if (kb.data != NULL)
        OPENSSL_cleanse(kb.data, kb.len);
    hw_buf_free(&kb);
    return rc;
}

void
hw_certs_format_time(time_t t, char *out, size_t outsz)
{
    struct tm tm;

    if (gmtime_r(&t, &tm) == NULL || strftime(out, outsz, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(out, outsz, "@%lld", (long long)t);
}

enum hw_certs_validity
hw_certs_validity(const struct hw_certs_info *info, time_t now, char *why, size_t whysz)
{
    char when[32];

    if (now < info->not_before) {
        hw_certs_format_time(info->not_before, when, sizeof(when));
        if (why != NULL)
            snprintf(why, whysz, "is not valid before %s", when);
        return HW_CERTS_NOT_YET_VALID;
    }
    /* notAfter is inclusive (RFC 5280): the certificate is valid during
     * that second and expired after it. */
    if (now > info->not_after) {
        hw_certs_format_time(info->not_after, when, sizeof(when));
        if (why != NULL)
            snprintf(why, whysz, "expired at %s", when);
        return HW_CERTS_EXPIRED;
    }
    return HW_CERTS_VALID;
}

int
hw_certs_load_ca(const char *path, char **pem, size_t *len, struct hw_error *err)
{
    struct hw_buf b;
    BIO *bio;
    X509 *x;

    if (read_pem(path, "client CA", &b, err) != 0)
        return -1;
    bio = BIO_new_mem_buf(b.data, (int)b.len);
    x = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
    BIO_free(bio);
    if (x == NULL) {
        hw_error_set(err, HW_EINVAL, "client CA %s: not a PEM certificate (%s)", path,
                     ssl_error_text());
        hw_buf_free(&b);
        return -1;
    }
    X509_free(x);
    *pem = hw_buf_steal(&b, len);
    return 0;
}

/* Drops [start, end) of an OpenSSL mapping when nothing in it was ever
 * written: its text, and read-only data whose pages Anonymous (copied on
 * write) says are all still the file's. RELRO pages, written at load and
 * then made read-only, show as anonymous and are kept. */
static void
release_mapping(unsigned long start, unsigned long end, const char *perms, long anon_kb)
{
    if (start == 0 || (strcmp(perms, "r-xp") != 0 && !(strcmp(perms, "r--p") == 0 && anon_kb == 0)))
        return;
    madvise((void *)start, end - start, MADV_DONTNEED);
}

void
hw_certs_release_memory(void)
{
    char line[512], perms[8] = "";
    unsigned long start = 0, end = 0;
    long anon = -1;
    FILE *smaps = fopen("/proc/self/smaps", "r");

    if (smaps == NULL)
        return;
    while (fgets(line, sizeof(line), smaps) != NULL) {
        unsigned long a, b;
        char p[8];

        if (sscanf(line, "%lx-%lx %7s", &a, &b, p) == 3) {
            release_mapping(start, end, perms, anon);
            start = 0;
            anon = -1;
            if (strstr(line, "/libcrypto.so") != NULL || strstr(line, "/libssl.so") != NULL) {
                start = a;
                end = b;
                memcpy(perms, p, sizeof(perms));
            }
        } else if (start != 0 && strncmp(line, "Anonymous:", 10) == 0) {
            anon = strtol(line + 10, NULL, 10);
        }
    }
    release_mapping(start, end, perms, anon);
    fclose(smaps);
}

/* ---- generation ---- */

static EVP_PKEY *
new_key(void)
{
    return EVP_EC_gen("P-256");
}

static int
add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509_EXTENSION *ext;
    int ok;

    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
    ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    if (ext == NULL)
        return -1;
    ok = X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
    return ok == 1 ? 0 : -1;
}

static X509 *
new_cert(EVP_PKEY *key, const char *cn, int days)
{
    X509 *x = X509_new();
    BIGNUM *bn = BN_new();
    X509_NAME *name;

    if (x == NULL || bn == NULL || BN_rand(bn, 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) != 1 ||
        BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) == NULL) {
        X509_free(x);
        BN_free(bn);
        return NULL;
    }
    BN_free(bn);
    X509_set_version(x, 2);
    X509_gmtime_adj(X509_getm_notBefore(x), -300);  /* tolerate small clock skew */
    X509_gmtime_adj(X509_getm_notAfter(x), (long)days * 86400);
    X509_set_pubkey(x, key);
    name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1, 0);
    return x;
}

static int
write_pem(const char *dir, const char *file, X509 *x, EVP_PKEY *key, struct hw_error *err)
{
    char path[4096];
    FILE *f;
    int fd, ok;

    snprintf(path, sizeof(path), "%s/%s", dir, file);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, key ? 0600 : 0644);
    if (fd < 0 || (f = fdopen(fd, "w")) == NULL) {
        hw_error_set(err, HW_EINTERNAL, "%s: cannot write: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    ok = key ? PEM_write_PKCS8PrivateKey(f, key, NULL, NULL, 0, NULL, NULL) : PEM_write_X509(f, x);
    if (fclose(f) != 0 || ok != 1) {
        hw_error_set(err, HW_EINTERNAL, "%s: cannot write PEM (%s)", path, ssl_error_text());
        return -1;
    }
    return 0;
}

int
hw_certs_generate(const char *dir, const char *service, const char *ns, int days, int loopback,
                  struct hw_error *err)
{
    EVP_PKEY *ca_key = NULL, *key = NULL;
    X509 *ca = NULL, *x = NULL;
    char san[1024], cn[300];
    int rc = -1;

    if (days < 1 || days > 3650) {
        hw_error_set(err, HW_EINVAL, "--days must be between 1 and 3650");
        return -1;
    }
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        hw_error_set(err, HW_EINTERNAL, "%s: cannot create directory: %s", dir, strerror(errno));
        return -1;
    }
    /* kube-apiserver calls <service>.<ns>.svc; loopback names belong only
     * to a development pair (make run, the tests). */
    snprintf(san, sizeof(san), "DNS:%s,DNS:%s.%s,DNS:%s.%s.svc,DNS:%s.%s.svc.cluster.local%s",
             service, service, ns, service, ns, service, ns,
             loopback ? ",DNS:localhost,IP:127.0.0.1" : "");
    ca_key = new_key();
    key = new_key();
    if (ca_key == NULL || key == NULL)
        goto ssl_fail;
    ca = new_cert(ca_key, "hookwarden-ca", days);
    if (ca == NULL || X509_set_issuer_name(ca, X509_get_subject_name(ca)) != 1 ||
        add_ext(ca, ca, NID_basic_constraints, "critical,CA:TRUE,pathlen:0") != 0 ||
        add_ext(ca, ca, NID_key_usage, "critical,keyCertSign,cRLSign") != 0 ||
        add_ext(ca, ca, NID_subject_key_identifier, "hash") != 0 ||
        X509_sign(ca, ca_key, EVP_sha256()) == 0)
        goto ssl_fail;
    snprintf(cn, sizeof(cn), "%s.%s.svc", service, ns);
    x = new_cert(key, cn, days);
    if (x == NULL || X509_set_issuer_name(x, X509_get_subject_name(ca)) != 1 ||
        add_ext(x, ca, NID_basic_constraints, "critical,CA:FALSE") != 0 ||
        add_ext(x, ca, NID_key_usage, "critical,digitalSignature,keyEncipherment") != 0 ||
        add_ext(x, ca, NID_ext_key_usage, "serverAuth") != 0 ||
        add_ext(x, ca, NID_authority_key_identifier, "keyid:always") != 0 ||
        add_ext(x, ca, NID_subject_alt_name, san) != 0 || X509_sign(x, ca_key, EVP_sha256()) == 0)
        goto ssl_fail;
    if (write_pem(dir, "ca.crt", ca, NULL, err) != 0 || write_pem(dir, "ca.key", NULL, ca_key, err) != 0 ||
        write_pem(dir, "tls.crt", x, NULL, err) != 0 || write_pem(dir, "tls.key", NULL, key, err) != 0)
        goto out;
    rc = 0;
    goto out;
ssl_fail:
    hw_error_set(err, HW_EINTERNAL, "generating certificates failed: %s", ssl_error_text());
out:
    X509_free(ca);
    X509_free(x);
    EVP_PKEY_free(ca_key);
    EVP_PKEY_free(key);
    return rc;
}

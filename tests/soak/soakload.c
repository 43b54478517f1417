/* SPDX-License-Identifier: Apache-2.0 */
/*
 * soakload: a closed-loop HTTPS load driver for the soak test. THREADS
 * threads each keep one connection busy: a connection carries KEEPALIVE
 * requests and is then closed, except every FRESH_EVERY-th connection,
 * which carries one request (a fresh TLS handshake each time). Requests are
 * a fixed deterministic mix of valid AdmissionReviews (a labelled Job that
 * gets a patch, an unlabelled one, a v1beta1 UPDATE, a DELETE) and invalid
 * requests (bad JSON, no uid, wrong media type, unknown path, wrong method),
 * each with the status it must get; valid ones carry a unique uid that the
 * answer must echo. Any other outcome (wrong status, missing uid, I/O error,
 * timeout) is a failure, counted by kind. Prints one line of key=value
 * results and exits 0 when nothing failed.
 *
 *   soakload PORT CA_FILE REQUESTS [THREADS=8] [KEEPALIVE=100] [FRESH_EVERY=10]
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

#define TIMEOUT_SECONDS 10  /* kube-apiserver's default webhook timeout */
#define RESP_MAX 65536
#define LAT_BUCKETS 4096     /* 0.1 ms buckets up to 409.6 ms, then one overflow */

enum kind { K_PATCH = 0, K_PLAIN, K_UPDATE_BETA, K_DELETE, K_BADJSON, K_NOUID, K_MEDIA, K_PATH,
            K_METHOD, K_COUNT };

static const char *const kind_names[K_COUNT] = {
    "valid-patch", "valid-unlabelled", "valid-v1beta1-update", "valid-delete", "invalid-json",
    "invalid-no-uid", "invalid-media-type", "invalid-path", "invalid-method",
};
static const int kind_status[K_COUNT] = {200, 200, 200, 200, 400, 400, 415, 404, 405};
static const int kind_patch[K_COUNT] = {1, 0, 1, 0, 0, 0, 0, 0, 0};

/*
 * One cycle of 100 requests: 80 valid (40 get a patch), 17 invalid bodies
 * (400), and one each of wrong media type, unknown path and wrong method,
 * which MHD answers early and then closes the connection.
 */
static enum kind
kind_of(long i)
{
    static const enum kind valid[8] = {K_PATCH, K_PLAIN, K_PATCH, K_UPDATE_BETA,
                                       K_PATCH, K_DELETE, K_PATCH, K_PLAIN};
    long j = i % 100;

    if (j < 80)
        return j % 10 == 9 ? (j % 20 == 9 ? K_UPDATE_BETA : K_DELETE) : valid[j % 8];
    if (j < 97)
        return j % 2 ? K_BADJSON : K_NOUID;
    return j == 97 ? K_MEDIA : j == 98 ? K_PATH : K_METHOD;
}

#define JOB(labels, restart)                                                                    \
    "{\"apiVersion\":\"batch/v1\",\"kind\":\"Job\",\"metadata\":{\"name\":\"migrate\","        \
    "\"namespace\":\"app\",\"labels\":{" labels "},\"annotations\":{\"meta.helm.sh/release-name\":" \
    "\"app\"}},\"spec\":{\"backoffLimit\":2,\"template\":{\"metadata\":{\"labels\":{\"app\":"    \
    "\"migrate\"}},\"spec\":{\"restartPolicy\":\"" restart "\",\"containers\":[{\"name\":"       \
    "\"migrate\",\"image\":\"arigaio/atlas:0.30\",\"args\":[\"migrate\",\"apply\",\"--dir\","   \
    "\"file:///migrations\",\"--url\",\"$(DATABASE_URL)\"],\"env\":[{\"name\":\"DATABASE_URL\","  \
    "\"valueFrom\":{\"secretKeyRef\":{\"name\":\"db\",\"key\":\"url\"}}}]}]}}}}"
#define LABELLED "\"hookwarden.io/migration\":\"true\""

/* @UID@ is replaced by the request's uid. */
static const char *const bodies[K_COUNT] = {
    "{\"kind\":\"AdmissionReview\",\"apiVersion\":\"admission.k8s.io/v1\",\"request\":{\"uid\":"
    "\"@UID@\",\"kind\":{\"group\":\"batch\",\"version\":\"v1\",\"kind\":\"Job\"},\"operation\":"
    "\"CREATE\",\"namespace\":\"app\",\"object\":" JOB(LABELLED, "OnFailure") "}}",
    "{\"kind\":\"AdmissionReview\",\"apiVersion\":\"admission.k8s.io/v1\",\"request\":{\"uid\":"
    "\"@UID@\",\"kind\":{\"group\":\"batch\",\"version\":\"v1\",\"kind\":\"Job\"},\"operation\":"
    "\"CREATE\",\"namespace\":\"app\",\"object\":" JOB("\"app\":\"x\"", "OnFailure") "}}",
    "{\"kind\":\"AdmissionReview\",\"apiVersion\":\"admission.k8s.io/v1beta1\",\"request\":{\"uid\":"
    "\"@UID@\",\"kind\":{\"group\":\"batch\",\"version\":\"v1\",\"kind\":\"Job\"},\"operation\":"
    "\"UPDATE\",\"namespace\":\"app\",\"object\":" JOB(LABELLED, "OnFailure") ",\"oldObject\":"
    JOB(LABELLED, "Never") "}}",
    "{\"kind\":\"AdmissionReview\",\"apiVersion\":\"admission.k8s.io/v1\",\"request\":{\"uid\":"
    "\"@UID@\",\"kind\":{\"group\":\"batch\",\"version\":\"v1\",\"kind\":\"Job\"},\"operation\":"
    "\"DELETE\",\"namespace\":\"app\",\"object\":null,\"oldObject\":" JOB(LABELLED, "Never") "}}",
    "{\"kind\":\"AdmissionReview\",\"apiVersion\":\"admission.k8s.io/v1\",\"request\":{\"uid\":\"@UID@\"",
    "{\"kind\":\"AdmissionReview\",\"apiVersion\":\"admission.k8s.io/v1\",\"request\":{\"operation\":"
    "\"CREATE\",\"x\":\"@UID@\"}}",
    "{\"uid\":\"@UID@\"}",
    "{\"uid\":\"@UID@\"}",
    "",
};

struct opts {
    int port;
    const char *ca;
    long requests;
    int threads;
    int keepalive;
    int fresh_every;
};

struct stats {
    long sent[K_COUNT];
    long ok[K_COUNT];
    long bad_status, bad_body, io_errors, timeouts, connect_errors;
    long conns, fresh_conns, server_closes;
    long lat[LAT_BUCKETS + 1];
    double lat_max_ms;
    char first_error[256];
};

static struct opts o;
static SSL_CTX *ctx;
static _Atomic long next_request;

static double
now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void note(struct stats *st, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
note(struct stats *st, const char *fmt, ...)
{
    va_list ap;

    if (st->first_error[0] != '\0')
        return;
    va_start(ap, fmt);
    vsnprintf(st->first_error, sizeof(st->first_error), fmt, ap);
    va_end(ap);
}

static SSL *
connect_tls(struct stats *st)
{
    struct sockaddr_in sa;
    struct timeval tv = {TIMEOUT_SECONDS, 0};
    int fd, one = 1;
    SSL *ssl;

    fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return NULL;
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)o.port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        note(st, "connect: %s", strerror(errno));
        close(fd);
        return NULL;
    }
    ssl = SSL_new(ctx);
    if (ssl == NULL) {
        close(fd);
        return NULL;
    }
    SSL_set_fd(ssl, fd);
    SSL_set_tlsext_host_name(ssl, "hookwarden.hookwarden.svc");
    SSL_set1_host(ssl, "hookwarden.hookwarden.svc");
    if (SSL_connect(ssl) != 1) {
        char e[160];

        ERR_error_string_n(ERR_get_error(), e, sizeof(e));
        note(st, "TLS handshake: %s", e);
        SSL_free(ssl);
        close(fd);
        return NULL;
    }
    return ssl;
}

static void
close_tls(SSL *ssl)
{
    int fd;

    if (ssl == NULL)
        return;
    fd = SSL_get_fd(ssl);
    SSL_shutdown(ssl);
    SSL_free(ssl);
    close(fd);
}

static int
write_all(SSL *ssl, const char *p, size_t n)
{
    while (n > 0) {
        int w = SSL_write(ssl, p, (int)(n > 1 << 20 ? 1 << 20 : n));

        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Reads one response; returns the status, or -1 (I/O), -2 (timeout). */
static int
read_response(SSL *ssl, char *buf, size_t *body_off, size_t *len, int *conn_close)
{
    size_t n = 0, want = 0;
    char *end = NULL;

    *conn_close = 0;
    for (;;) {
        int r;

        if (end != NULL && n >= want)
            break;
        if (n >= RESP_MAX - 1)
            return -1;
        r = SSL_read(ssl, buf + n, (int)(RESP_MAX - 1 - n));
        if (r <= 0) {
            int e = SSL_get_error(ssl, r);

            return (e == SSL_ERROR_SYSCALL && (errno == EAGAIN || errno == EWOULDBLOCK)) ? -2 : -1;
        }
        n += (size_t)r;
        buf[n] = '\0';
        if (end == NULL && (end = strstr(buf, "\r\n\r\n")) != NULL) {
            const char *cl = strcasestr(buf, "\r\ncontent-length:");

            *body_off = (size_t)(end + 4 - buf);
            want = *body_off + (cl != NULL && cl < end ? strtoul(cl + 17, NULL, 10) : 0);
            *conn_close = strcasestr(buf, "\r\nconnection: close") != NULL;
        }
    }
    *len = n;
    if (strncmp(buf, "HTTP/1.1 ", 9) != 0)
        return -1;
    return atoi(buf + 9);
}

static size_t
build(char *out, size_t outsz, enum kind k, const char *uid)
{
    char body[16384];
    const char *at = strstr(bodies[k], "@UID@");
    int blen = at == NULL ? snprintf(body, sizeof(body), "%s", bodies[k])
                          : snprintf(body, sizeof(body), "%.*s%s%s", (int)(at - bodies[k]),
                                     bodies[k], uid, at + 5);
    const char *method = k == K_METHOD ? "GET" : "POST";
    const char *path = k == K_PATH ? "/mutate/v2" : "/mutate?timeout=10s";
    const char *ct = k == K_MEDIA ? "text/plain" : "application/json";
    int n;

    if (k == K_METHOD)
        n = snprintf(out, outsz, "GET %s HTTP/1.1\r\nHost: hookwarden.hookwarden.svc:443\r\n"
                     "Accept: application/json, */*\r\n\r\n", path);
    else
        n = snprintf(out, outsz, "%s %s HTTP/1.1\r\nHost: hookwarden.hookwarden.svc:443\r\n"
                     "Content-Type: %s\r\nAccept: application/json, */*\r\nUser-Agent: "
                     "kube-apiserver-admission\r\nContent-Length: %d\r\n\r\n%s",
                     method, path, ct, blen, body);
    return (size_t)n;
}

static void
record_latency(struct stats *st, double ms)
{
    long b = (long)(ms * 10);

    st->lat[b < LAT_BUCKETS ? b : LAT_BUCKETS]++;
    if (ms > st->lat_max_ms)
        st->lat_max_ms = ms;
}

static void *
worker(void *arg)
{
    struct stats *st = arg;
    static _Thread_local char req[32768], resp[RESP_MAX];
    SSL *ssl = NULL;
    int left = 0;
    long conn_no = 0;

    for (;;) {
        long i = atomic_fetch_add(&next_request, 1);
        enum kind k;
        char uid[64];
        size_t rlen, off = 0, len = 0;
        int status, cclose;
        double t0;

        if (i >= o.requests)
            break;
        k = kind_of(i);
        snprintf(uid, sizeof(uid), "soak-%08lx-%ld", (unsigned long)i * 2654435761ul, i);
        if (ssl == NULL || left == 0) {
            close_tls(ssl);
            conn_no++;
            ssl = connect_tls(st);
            if (ssl == NULL) {
                st->connect_errors++;
                st->sent[k]++;
                continue;
            }
            st->conns++;
            left = (o.fresh_every > 0 && conn_no % o.fresh_every == 0) ? 1 : o.keepalive;
            if (left == 1)
                st->fresh_conns++;
        }
        rlen = build(req, sizeof(req), k, uid);
        st->sent[k]++;
        t0 = now_s();
        if (write_all(ssl, req, rlen) != 0) {
            st->io_errors++;
            note(st, "write failed on %s request %ld", kind_names[k], i);
            close_tls(ssl);
            ssl = NULL;
            continue;
        }
        status = read_response(ssl, resp, &off, &len, &cclose);
        record_latency(st, (now_s() - t0) * 1e3);
        left--;
        if (status < 0) {
            if (status == -2)
                st->timeouts++;
            else
                st->io_errors++;
            note(st, "no answer to %s request %ld", kind_names[k], i);
            close_tls(ssl);
            ssl = NULL;
            continue;
        }
        if (status != kind_status[k]) {
            st->bad_status++;
            note(st, "%s request %ld got status %d", kind_names[k], i, status);
        } else if (k <= K_DELETE && (strstr(resp + off, uid) == NULL ||
                                     strstr(resp + off, "\"allowed\":true") == NULL ||
                                     kind_patch[k] != (strstr(resp + off, "\"patch\":") != NULL))) {
            st->bad_body++;
            note(st, "%s request got a wrong answer (%ld)", kind_names[k], i);
        } else if (k > K_DELETE && strstr(resp + off, "\"kind\":\"Status\"") == NULL) {
            st->bad_body++;
            note(st, "%s request got no Status body (%ld)", kind_names[k], i);
        } else {
            st->ok[k]++;
        }
        if (cclose) {
            st->server_closes++;
            close_tls(ssl);
            ssl = NULL;
        }
    }
    close_tls(ssl);
    return NULL;
}

static double
percentile(const struct stats *t, long total, double p)
{
    long want = (long)(p * (double)total), seen = 0;

    for (int b = 0; b <= LAT_BUCKETS; b++) {
        seen += t->lat[b];
        if (seen > want)
            return (b + 1) / 10.0;
    }
    return t->lat_max_ms;
}

int
main(int argc, char **argv)
{
    pthread_t th[256];
    struct stats *st, t;
    long valid_sent = 0, valid_ok = 0, invalid_sent = 0, invalid_ok = 0, total;
    double t0, secs;

    if (argc < 4) {
        fprintf(stderr, "usage: soakload PORT CA_FILE REQUESTS [THREADS] [KEEPALIVE] [FRESH_EVERY]\n");
        return 2;
    }
    o.port = atoi(argv[1]);
    o.ca = argv[2];
    o.requests = atol(argv[3]);
    o.threads = argc > 4 ? atoi(argv[4]) : 8;
    o.keepalive = argc > 5 ? atoi(argv[5]) : 100;
    o.fresh_every = argc > 6 ? atoi(argv[6]) : 10;
    if (o.threads < 1 || o.threads > 256 || o.keepalive < 1) {
        fprintf(stderr, "soakload: bad arguments\n");
        return 2;
    }
    ctx = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    if (SSL_CTX_load_verify_locations(ctx, o.ca, NULL) != 1) {
        fprintf(stderr, "soakload: cannot load %s\n", o.ca);
        return 2;
    }
    /* Full handshakes on fresh connections: no session cache. */
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
    st = calloc((size_t)o.threads, sizeof(*st));
    if (st == NULL)
        return 2;
    t0 = now_s();
    for (int i = 0; i < o.threads; i++)
        pthread_create(&th[i], NULL, worker, &st[i]);
    memset(&t, 0, sizeof(t));
    for (int i = 0; i < o.threads; i++) {
        pthread_join(th[i], NULL);
        for (int k = 0; k < K_COUNT; k++) {
            t.sent[k] += st[i].sent[k];
            t.ok[k] += st[i].ok[k];
        }
        t.bad_status += st[i].bad_status;
        t.bad_body += st[i].bad_body;
        t.io_errors += st[i].io_errors;
        t.timeouts += st[i].timeouts;
        t.connect_errors += st[i].connect_errors;
        t.conns += st[i].conns;
        t.fresh_conns += st[i].fresh_conns;
        t.server_closes += st[i].server_closes;
        for (int b = 0; b <= LAT_BUCKETS; b++)
            t.lat[b] += st[i].lat[b];
        if (st[i].lat_max_ms > t.lat_max_ms)
            t.lat_max_ms = st[i].lat_max_ms;
        if (t.first_error[0] == '\0' && st[i].first_error[0] != '\0')
            memcpy(t.first_error, st[i].first_error, sizeof(t.first_error));
    }
    secs = now_s() - t0;
    for (int k = 0; k < K_COUNT; k++) {
        if (kind_status[k] == 200) {
            valid_sent += t.sent[k];
            valid_ok += t.ok[k];
        } else {
            invalid_sent += t.sent[k];
            invalid_ok += t.ok[k];
        }
    }
    total = valid_sent + invalid_sent;
    printf("requests=%ld seconds=%.1f rps=%.0f valid=%ld valid_ok=%ld valid_failed=%ld invalid=%ld "
           "invalid_answered_as_expected=%ld invalid_failed=%ld bad_status=%ld bad_body=%ld "
           "io_errors=%ld timeouts=%ld connect_errors=%ld connections=%ld fresh_connections=%ld "
           "server_closed=%ld p50_ms=%.1f p99_ms=%.1f max_ms=%.1f\n",
           total, secs, (double)total / secs, valid_sent, valid_ok, valid_sent - valid_ok,
           invalid_sent, invalid_ok, invalid_sent - invalid_ok, t.bad_status, t.bad_body,
           t.io_errors, t.timeouts, t.connect_errors, t.conns, t.fresh_conns, t.server_closes,
           percentile(&t, total, 0.50), percentile(&t, total, 0.99), t.lat_max_ms);
    for (int k = 0; k < K_COUNT; k++)
        printf("  %-22s sent %9ld  as expected (%d) %9ld\n", kind_names[k], t.sent[k],
               kind_status[k], t.ok[k]);
    if (t.first_error[0] != '\0')
        printf("first error: %s\n", t.first_error);
    free(st);
    SSL_CTX_free(ctx);
    return total == valid_ok + invalid_ok ? 0 : 1;
}

/* mhd-fixed: minimal libmicrohttpd HTTPS server for benchmarking the
 * request path: the cost of TLS + HTTP + reading the body, with no JSON work.
 *
 * Reads the whole POST body (copies it into a per-request buffer), then
 *   -H fixed : answers a fixed response loaded from a file (default), or
 *   -H json  : parses the AdmissionReview with jansson, builds a JSONPatch
 *              (label + securityContext for each container lacking one),
 *              base64-encodes it (OpenSSL EVP_EncodeBlock) and answers an
 *              AdmissionReview v1 response built with jansson.
 *
 * Threading modes (-m):
 *   pool   MHD_USE_INTERNAL_POLLING_THREAD|MHD_USE_EPOLL + THREAD_POOL_SIZE (-n)
 *   epoll  MHD_USE_INTERNAL_POLLING_THREAD|MHD_USE_EPOLL, one thread
 *   tpc    MHD_USE_THREAD_PER_CONNECTION|MHD_USE_INTERNAL_POLLING_THREAD (poll)
 *   auto   MHD_USE_AUTO_INTERNAL_THREAD (one thread, or a pool if -n > 1)
 *   reuseport  -n independent single-thread epoll daemons on the same port,
 *          each with its own SO_REUSEPORT listen socket
 *          (MHD_OPTION_LISTENING_ADDRESS_REUSE): the kernel spreads new
 *          connections by hash instead of MHD's accept race
 * -T adds MHD_USE_TURBO.  --plain (-x) serves plain HTTP.
 *
 * Build: mk/bench.mk (`make bench` builds build/bench/mhd-fixed; needs
 * libmicrohttpd-dev libjansson-dev libssl-dev). A benchmark peer written by
 * the team before hookwarden existed, kept as it was measured then.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <stdint.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <jansson.h>
#include <microhttpd.h>
#include <openssl/evp.h>

#define MAX_BODY (1024 * 1024)

struct req {
  size_t len, cap;
  char *buf;
  int too_big;
};

static struct MHD_Response *fixed_resp;
static int use_json;

static char *slurp(const char *path, size_t *len_out) {
  FILE *f = fopen(path, "rb");
  if (!f) { perror(path); exit(1); }
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *b = malloc((size_t)n + 1);
  if (fread(b, 1, (size_t)n, f) != (size_t)n) { perror(path); exit(1); }
  b[n] = 0;
  fclose(f);
  if (len_out) *len_out = (size_t)n;
  return b;
}

static void patch_add(json_t *patch, const char *path, json_t *value) {
  json_array_append_new(patch, json_pack("{s:s,s:s,s:o}", "op", "add", "path", path, "value", value));
}

/* hookwarden-like mutation; returns malloc'd response body or NULL on bad input */
static char *mutate(const char *body, size_t len, size_t *out_len) {
  json_error_t jerr;
  json_t *root = json_loadb(body, len, 0, &jerr);
  if (!root) return NULL;
  json_t *request = json_object_get(root, "request");
  const char *uid = json_string_value(json_object_get(request, "uid"));
  json_t *obj = json_object_get(request, "object");
  if (!uid || !json_is_object(obj)) { json_decref(root); return NULL; }

  json_t *patch = json_array();
  json_t *labels = json_object_get(json_object_get(obj, "metadata"), "labels");
  if (json_is_object(labels))
    patch_add(patch, "/metadata/labels/hookwarden.io~1mutated", json_string("true"));
  else
    patch_add(patch, "/metadata/labels", json_pack("{s:s}", "hookwarden.io/mutated", "true"));

  json_t *pod = json_object_get(json_object_get(json_object_get(obj, "spec"), "template"), "spec");
  json_t *ctrs = json_object_get(pod, "containers");
  size_t i;
  json_t *c;
  json_array_foreach(ctrs, i, c) {
    if (json_object_get(c, "securityContext")) continue;
    char path[96];
    snprintf(path, sizeof path, "/spec/template/spec/containers/%zu/securityContext", i);
    patch_add(patch, path, json_pack("{s:b,s:b}", "allowPrivilegeEscalation", 0, "runAsNonRoot", 1));
  }
  char *pjson = json_dumps(patch, JSON_COMPACT);
  json_decref(patch);
  size_t plen = strlen(pjson);
  char *b64 = malloc(4 * ((plen + 2) / 3) + 1);
  EVP_EncodeBlock((unsigned char *)b64, (const unsigned char *)pjson, (int)plen);
  free(pjson);

  json_t *resp = json_pack("{s:s,s:s,s:{s:s,s:b,s:s,s:s}}",
                           "apiVersion", "admission.k8s.io/v1", "kind", "AdmissionReview",
                           "response", "uid", uid, "allowed", 1, "patchType", "JSONPatch",
                           "patch", b64);
  free(b64);
  char *out = json_dumps(resp, JSON_COMPACT);
  json_decref(resp);
  json_decref(root);
  *out_len = strlen(out);
  return out;
}

static enum MHD_Result send_simple(struct MHD_Connection *c, unsigned code, const char *msg) {
  struct MHD_Response *r = MHD_create_response_from_buffer(strlen(msg), (void *)msg, MHD_RESPMEM_PERSISTENT);
  enum MHD_Result ret = MHD_queue_response(c, code, r);
  MHD_destroy_response(r);
  return ret;
}

static enum MHD_Result ahc(void *cls, struct MHD_Connection *conn, const char *url,
                           const char *method, const char *version, const char *upload_data,
                           size_t *upload_data_size, void **con_cls) {
  (void)cls; (void)url; (void)version;
  struct req *r = *con_cls;
  if (!r) {
    if (strcmp(method, MHD_HTTP_METHOD_POST) != 0)
      return send_simple(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "POST only\n");
    r = calloc(1, sizeof *r);
    const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    size_t hint = cl ? strtoul(cl, NULL, 10) : 0;
    r->cap = (hint && hint <= MAX_BODY) ? hint : 8192;
    r->buf = malloc(r->cap + 1);
    *con_cls = r;
    return MHD_YES;
  }
  if (*upload_data_size) {
    size_t n = *upload_data_size;
    if (r->len + n > MAX_BODY) {
      r->too_big = 1;
    } else {
      if (r->len + n > r->cap) {
        while (r->len + n > r->cap) r->cap *= 2;
        r->buf = realloc(r->buf, r->cap + 1);
      }
      memcpy(r->buf + r->len, upload_data, n);
      r->len += n;
    }
    *upload_data_size = 0;
    return MHD_YES;
  }
  if (r->too_big) return send_simple(conn, MHD_HTTP_CONTENT_TOO_LARGE, "too large\n");
  r->buf[r->len] = 0;
  if (!use_json) return MHD_queue_response(conn, MHD_HTTP_OK, fixed_resp);

  size_t olen;
  char *out = mutate(r->buf, r->len, &olen);
  if (!out) return send_simple(conn, MHD_HTTP_BAD_REQUEST, "bad AdmissionReview\n");
  struct MHD_Response *resp = MHD_create_response_from_buffer(olen, out, MHD_RESPMEM_MUST_FREE);
  MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
  enum MHD_Result ret = MHD_queue_response(conn, MHD_HTTP_OK, resp);
  MHD_destroy_response(resp);
  return ret;
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls,
                      enum MHD_RequestTerminationCode toe) {
  (void)cls; (void)c; (void)toe;
  struct req *r = *con_cls;
  if (r) { free(r->buf); free(r); *con_cls = NULL; }
}

static void usage(void) {
  fprintf(stderr,
          "usage: mhd-fixed [-p port] [-m pool|epoll|tpc|auto|reuseport] [-n threads] [-T] [-x]\n"
          "               [-H fixed|json] [-r fixed_response_file] [-c cert.pem] [-k key.pem]\n"
          "               [-P gnutls_priority]\n");
  exit(2);
}

int main(int argc, char **argv) {
  unsigned port = 8443, pool = 2;
  const char *mode = "pool", *handler = "fixed", *resp_file = "response-600.json";
  const char *cert = "certs/server.crt", *key = "certs/server.key", *prio = NULL;
  int turbo = 0, plain = 0, n_given = 0, o;
  while ((o = getopt(argc, argv, "p:m:n:TxH:r:c:k:P:h")) != -1) {
    switch (o) {
    case 'p': port = (unsigned)atoi(optarg); break;
    case 'm': mode = optarg; break;
    case 'n': pool = (unsigned)atoi(optarg); n_given = 1; break;
    case 'T': turbo = 1; break;
    case 'x': plain = 1; break;
    case 'H': handler = optarg; break;
    case 'r': resp_file = optarg; break;
    case 'c': cert = optarg; break;
    case 'k': key = optarg; break;
    case 'P': prio = optarg; break;
    default: usage();
    }
  }
  use_json = strcmp(handler, "json") == 0;
  if (!use_json) {
    size_t n;
    char *b = slurp(resp_file, &n);
    fixed_resp = MHD_create_response_from_buffer(n, b, MHD_RESPMEM_PERSISTENT);
    MHD_add_response_header(fixed_resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
  }

  unsigned flags = MHD_USE_ERROR_LOG;
  int use_pool = 0;
  if (!strcmp(mode, "pool")) { flags |= MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL; use_pool = 1; }
  else if (!strcmp(mode, "epoll")) flags |= MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL;
  else if (!strcmp(mode, "tpc")) flags |= MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL;
  else if (!strcmp(mode, "auto")) { flags |= MHD_USE_AUTO_INTERNAL_THREAD; use_pool = n_given && pool > 1; }
  else if (!strcmp(mode, "reuseport")) flags |= MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL;
  else usage();
  if (turbo) flags |= MHD_USE_TURBO;
  if (!plain) flags |= MHD_USE_TLS;

  struct MHD_OptionItem opts[16];
  int k = 0;
  char *cert_pem = NULL, *key_pem = NULL;
  if (!plain) {
    cert_pem = slurp(cert, NULL);
    key_pem = slurp(key, NULL);
    opts[k++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0, cert_pem};
    opts[k++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0, key_pem};
    if (prio) opts[k++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_PRIORITIES, 0, (void *)prio};
  }
  int ndaemons = 1;
  if (use_pool) opts[k++] = (struct MHD_OptionItem){MHD_OPTION_THREAD_POOL_SIZE, pool, NULL};
  if (!strcmp(mode, "reuseport")) {
    ndaemons = pool < 1 ? 1 : (pool > 64 ? 64 : (int)pool);
    opts[k++] = (struct MHD_OptionItem){MHD_OPTION_LISTENING_ADDRESS_REUSE, 1, NULL};
  }
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK); /* bench binds 127.0.0.1 only */
  opts[k++] = (struct MHD_OptionItem){MHD_OPTION_SOCK_ADDR, 0, &sa};
  opts[k++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_TIMEOUT, 60, NULL};
  opts[k++] = (struct MHD_OptionItem){MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024, NULL};
  opts[k++] = (struct MHD_OptionItem){MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)completed, NULL};
  opts[k++] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};

  signal(SIGPIPE, SIG_IGN);
  sigset_t ss;
  sigemptyset(&ss);
  sigaddset(&ss, SIGINT);
  sigaddset(&ss, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &ss, NULL); /* MHD threads inherit the mask */

  struct MHD_Daemon *d[64];
  for (int i = 0; i < ndaemons; i++) {
    d[i] = MHD_start_daemon(flags, (uint16_t)port, NULL, NULL, ahc, NULL,
                            MHD_OPTION_ARRAY, opts, MHD_OPTION_END);
    if (!d[i]) { fprintf(stderr, "MHD_start_daemon failed (flags=0x%x)\n", flags); return 1; }
  }
  fprintf(stderr, "mhd-fixed: port %u mode %s%s threads %u daemons %d handler %s %s\n", port, mode,
          turbo ? "+turbo" : "", use_pool ? pool : 1, ndaemons, handler, plain ? "http" : "https");
  int sig;
  sigwait(&ss, &sig);
  for (int i = 0; i < ndaemons; i++) MHD_stop_daemon(d[i]);
  if (fixed_resp) MHD_destroy_response(fixed_resp);
  free(cert_pem);
  free(key_pem);
  return 0;
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * server, alone: a real server on a loopback port with a generated pair,
 * a policy and readiness source written here (no reload object), and curl
 * as the client. The connection count is checked against a real
 * libmicrohttpd failure: a per-connection memory pool too large to
 * allocate makes MHD close a handed-over connection without reporting it.
 */
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "hookwarden/log.h"
#include "hookwarden/metrics.h"
#include "hookwarden/server.h"
#include "testutil.h"

/* MHD's pool allocation must fail, not abort the sanitized test binary. */
const char *__asan_default_options(void);
const char *__tsan_default_options(void);

const char *
__asan_default_options(void)
{
    return "allocator_may_return_null=1";
}

const char *
__tsan_default_options(void)
{
    return "allocator_may_return_null=1";
}

static char dir[64];
static struct hw_certs_pair pair;
static struct hw_policy *policy;
static _Atomic int ready_answer;  /* written by the test, read by workers */

static struct hw_policy *
test_policy(void *ctx)
{
    (void)ctx;
    return hw_policy_ref(policy);
}

static int
test_ready(void *ctx, char *why, size_t whysz)
{
    (void)ctx;
    if (!ready_answer)
        snprintf(why, whysz, "the test says no");
    return ready_answer;
}

static void
setup(void)
{
    char crt[128], key[128];
    struct hw_error err = {0};

    hw_log_set_level(HW_LOG_OFF);
    snprintf(dir, sizeof(dir), "/tmp/hw-server-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    ck_assert_int_eq(hw_certs_generate(dir, "hookwarden", "hookwarden", 2, 1, NULL), 0);
    snprintf(crt, sizeof(crt), "%s/tls.crt", dir);
    snprintf(key, sizeof(key), "%s/tls.key", dir);
    ck_assert_int_eq(hw_certs_load(crt, key, &pair, &err), 0);
    policy = hw_policy_new_default(NULL, &err);
    ck_assert_ptr_nonnull(policy);
    ready_answer = 1;
}

static void
teardown(void)
{
    char cmd[128];

    hw_certs_pair_clear(&pair);
    hw_policy_unref(policy);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    ck_assert_int_eq(system(cmd), 0);
}

static struct hw_server *
start(struct hw_server_options *o)
{
    struct hw_error err = {0};
    struct hw_server *s;

    o->bind_address = "127.0.0.1";
    o->port = 0;
    o->threads = o->threads ? o->threads : 1;
    o->policy = o->policy ? o->policy : test_policy;
    o->ready = test_ready;
    s = hw_server_start(o, &pair, &err);
    ck_assert_msg(s != NULL, "%s", err.msg);
    return s;
}

/* curl against the server: "STATUS BODY" (new string). */
static char *
fetch(struct hw_server *s, const char *path, const char *extra)
{
    char cmd[1024], out[160];
    FILE *p;
    size_t n;

    snprintf(out, sizeof(out), "%s/out", dir);
    snprintf(cmd, sizeof(cmd),
             "curl -s --max-time 10 --cacert %s/ca.crt -o %s -w '%%{http_code}' %s "
             "https://127.0.0.1:%u%s; printf ' '; cat %s 2>/dev/null",
             dir, out, extra ? extra : "", hw_server_port(s), path, out);
    p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    n = fread(cmd, 1, sizeof(cmd) - 1, p);
    cmd[n] = '\0';
    pclose(p);
    return strdup(cmd);
}

static int
tcp_connect(unsigned port)
{
    struct sockaddr_in sa = {0};
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    return fd;
}

/* Waits up to 5 s for the count to be want; returns what it last was. */
static unsigned
settle_at(struct hw_server *s, unsigned want)
{
    unsigned n = hw_server_connections(s);

    for (int i = 0; i < 500 && n != want; i++) {
        usleep(10000);
        n = hw_server_connections(s);
    }
    return n;
}

START_TEST(test_server_answers_probes_and_readiness_from_its_source)
{
    struct hw_server_options o = {0};
    struct hw_server *s = start(&o);
    char *r;

    r = fetch(s, "/healthz", NULL);
    ck_assert_str_eq(r, "200 ok\n");
    free(r);
    r = fetch(s, "/readyz", NULL);
    ck_assert_str_eq(r, "200 ok\n");
    free(r);
    ready_answer = 0;
    r = fetch(s, "/readyz", NULL);
    ck_assert_str_eq(r, "503 not ready: the test says no\n");
    free(r);
    ready_answer = 1;
    hw_server_begin_shutdown(s);
    r = fetch(s, "/readyz", NULL);
    ck_assert_str_eq(r, "503 not ready: shutting down\n");
    free(r);
    hw_server_stop(s, 1000);
}
END_TEST

START_TEST(test_server_decides_with_the_policy_its_source_gives)
{
    struct hw_server_options o = {0};
    struct hw_server *s = start(&o);
    char extra[512], *r;

    snprintf(extra, sizeof(extra), "-H 'Content-Type: application/json' --data-binary @%s/reviews/create-airflow-v1.json",
             HW_TEST_DATA);
    r = fetch(s, "/mutate", extra);
    ck_assert_msg(strncmp(r, "200 ", 4) == 0 && strstr(r, "\"patchType\":\"JSONPatch\"") != NULL, "%s", r);
    free(r);
    hw_server_stop(s, 1000);
}
END_TEST

static struct hw_policy *_Atomic current;
static _Atomic unsigned long generation;

static struct hw_policy *
current_policy(void *ctx)
{
    (void)ctx;
    return hw_policy_ref(atomic_load(&current));
}

static unsigned long
current_generation(void *ctx)
{
    (void)ctx;
    return atomic_load(&generation);
}

/* With a generation, a worker keeps its snapshot between requests and
 * takes the source's new one once the generation changes. */
START_TEST(test_server_keeps_its_policy_until_the_source_generation_changes)
{
    static const char off[] = "{\"hook\":{\"events\":{\"mode\":\"off\",\"value\":\"pre-install\"},"
                              "\"deletePolicy\":{\"mode\":\"off\",\"value\":\"hook-failed\"}},"
                              "\"restartPolicy\":{\"mode\":\"off\",\"value\":\"Never\"}}";
    struct hw_policy *quiet = hw_policy_parse(off, strlen(off), "off", NULL, NULL);
    struct hw_server_options o = {0};
    struct hw_server *s;
    char extra[512], *r[3];

    ck_assert_ptr_nonnull(quiet);
    atomic_store(&current, policy);
    o.threads = 1;
    o.policy = current_policy;
    o.policy_generation = current_generation;
    s = start(&o);
    snprintf(extra, sizeof(extra), "-H 'Content-Type: application/json' --data-binary @%s/reviews/create-airflow-v1.json",
             HW_TEST_DATA);
    r[0] = fetch(s, "/mutate", extra);
    atomic_store(&current, quiet);   /* not announced: the worker keeps its own */
    r[1] = fetch(s, "/mutate", extra);
    atomic_fetch_add(&generation, 1);
    r[2] = fetch(s, "/mutate", extra);
    hw_server_stop(s, 1000);
    ck_assert_msg(strstr(r[0], "\"patchType\":\"JSONPatch\"") != NULL, "%s", r[0]);
    ck_assert_msg(strstr(r[1], "\"patchType\":\"JSONPatch\"") != NULL, "%s", r[1]);
    ck_assert_msg(strncmp(r[2], "200 ", 4) == 0 && strstr(r[2], "patchType") == NULL, "%s", r[2]);
    for (int i = 0; i < 3; i++)
        free(r[i]);
    hw_policy_unref(quiet);
}
END_TEST

/* A crafted body that would cost hundreds of MiB of JSON values is
 * answered 413 naming the budget, and the server goes on answering. */
START_TEST(test_server_refuses_a_request_past_its_memory_budget_with_413)
{
    struct hw_server_options o = {0};
    struct hw_server *s;
    char path[160], extra[512], *r;
    FILE *f;

    o.max_request_memory = 1 << 20;
    s = start(&o);
    snprintf(path, sizeof(path), "%s/many.json", dir);
    f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    /* 60,000 labels: the policy reads labels, so all become values. */
    fputs("{\"kind\":\"AdmissionReview\",\"apiVersion\":\"admission.k8s.io/v1\",\"request\":{\"uid\":\"u\","
          "\"kind\":{\"group\":\"batch\",\"version\":\"v1\",\"kind\":\"Job\"},\"operation\":\"CREATE\","
          "\"object\":{\"metadata\":{\"labels\":{", f);
    for (int i = 0; i < 60000; i++)
        fprintf(f, "%s\"k%d\":\"\"", i ? "," : "", i);
    fputs("}}}}}", f);
    fclose(f);
    snprintf(extra, sizeof(extra), "-H 'Content-Type: application/json' --data-binary @%s", path);
    r = fetch(s, "/mutate", extra);
    ck_assert_msg(strncmp(r, "413 ", 4) == 0 && strstr(r, "per-request memory budget of 1048576 bytes") != NULL &&
                  strstr(r, "\"code\":413") != NULL, "%s", r);
    free(r);
    snprintf(extra, sizeof(extra), "-H 'Content-Type: application/json' --data-binary @%s/reviews/create-airflow-v1.json",
             HW_TEST_DATA);
    r = fetch(s, "/mutate", extra);
    ck_assert_msg(strncmp(r, "200 ", 4) == 0, "%s", r);
    free(r);
    hw_server_stop(s, 1000);
}
END_TEST

START_TEST(test_server_counts_connections_until_they_close)
{
    struct hw_server_options o = {0};
    struct hw_server *s = start(&o);
    int fd[3];

    for (int i = 0; i < 3; i++)
        fd[i] = tcp_connect(hw_server_port(s));
    ck_assert_uint_eq(settle_at(s, 3), 3);
    for (int i = 0; i < 3; i++)
        close(fd[i]);
    ck_assert_uint_eq(settle_at(s, 0), 0);
    hw_server_stop(s, 1000);
}
END_TEST

/*
 * libmicrohttpd 0.9.75 closes a connection it cannot set up (here: its
 * memory pool cannot be allocated) without the start notification; a
 * count decremented only by that notification crept up by one each time
 * until --connection-limit refused everything.
 */
START_TEST(test_server_forgets_a_connection_libmicrohttpd_failed_to_set_up)
{
    struct hw_server_options o = {0};
    struct hw_server *s;

    o.connection_memory = (size_t)1 << 50;
    o.connection_limit = 4;
    s = start(&o);
    for (int i = 0; i < 6; i++) {
        int fd = tcp_connect(hw_server_port(s));
        char c;

        /* MHD closes it: the client reads the end, never an answer. */
        ck_assert_int_le(read(fd, &c, 1), 0);
        close(fd);
        ck_assert_uint_eq(settle_at(s, 0), 0);
    }
    hw_server_stop(s, 1000);
}
END_TEST

/* 1 when the server closed fd within ms milliseconds (end of stream). */
static int
closed_within(int fd, int ms)
{
    struct pollfd p = {fd, POLLIN, 0};
    char c;

    return poll(&p, 1, ms) == 1 && read(fd, &c, 1) <= 0;
}

/*
 * A connection that sends no request header is closed once it is older
 * than the header deadline, and one that is younger is not: the sweep
 * looks at each worker's oldest waiting connections only.
 */
START_TEST(test_server_closes_connections_silent_past_the_header_deadline)
{
    struct hw_server_options o = {0};
    struct hw_server *s;
    int old[2], young[2];

    o.header_deadline_seconds = 2;
    o.threads = 2;
    s = start(&o);
    for (int i = 0; i < 2; i++)
        old[i] = tcp_connect(hw_server_port(s));
    usleep(1500 * 1000);
    for (int i = 0; i < 2; i++)
        ck_assert_msg(!closed_within(old[i], 0), "connection %d closed before the deadline", i);
    for (int i = 0; i < 2; i++)
        young[i] = tcp_connect(hw_server_port(s));
    /* The old ones go between 2 and 3 s (the acceptor sweeps every second). */
    for (int i = 0; i < 2; i++)
        ck_assert_msg(closed_within(old[i], 2500), "old connection %d still open", i);
    for (int i = 0; i < 2; i++)
        ck_assert_msg(!closed_within(young[i], 0), "young connection %d closed early", i);
    for (int i = 0; i < 2; i++)
        ck_assert_msg(closed_within(young[i], 3000), "young connection %d never closed", i);
    ck_assert_uint_eq(settle_at(s, 0), 0);
    for (int i = 0; i < 2; i++) {
        close(old[i]);
        close(young[i]);
    }
    hw_server_stop(s, 1000);
}
END_TEST

static void *
stop_in_thread(void *s)
{
    hw_server_stop(s, 60000);
    return NULL;
}

static int
inflight_metric(void)
{
    struct hw_buf b;
    const char *line;
    int n = -1;

    hw_buf_init(&b, 0);
    ck_assert_int_eq(hw_metrics_render(&b), 0);
    line = strstr(b.data, "\nhookwarden_inflight_requests ");
    if (line != NULL)
        n = atoi(line + strlen("\nhookwarden_inflight_requests "));
    hw_buf_free(&b);
    return n;
}

/*
 * The drain waits on the server's own count of admissions, not on the
 * process-wide gauge: stopping an idle server returns at once while
 * another server in the process has an admission in flight (with the
 * gauge, it waited its whole drain time for a request it did not have).
 */
START_TEST(test_server_drain_waits_for_its_own_admissions_only)
{
    struct hw_server_options oa = {0}, ob = {0};
    struct hw_server *a = start(&oa), *b = start(&ob);
    struct timespec deadline;
    char cmd[256];
    pthread_t t;
    FILE *client;

    snprintf(cmd, sizeof(cmd), "openssl s_client -quiet -no_ign_eof -connect 127.0.0.1:%u >/dev/null 2>&1",
             hw_server_port(a));
    client = popen(cmd, "w");
    ck_assert_ptr_nonnull(client);
    fputs("POST /mutate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
          "Content-Length: 100\r\n\r\n{", client);
    fflush(client);
    for (int i = 0; i < 500 && inflight_metric() != 1; i++)
        usleep(10000);
    ck_assert_int_eq(inflight_metric(), 1);  /* a's admission is in flight */
    ck_assert_int_eq(pthread_create(&t, NULL, stop_in_thread, b), 0);
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += 30;  /* a liveness bound, far below b's 60 s drain */
    ck_assert_int_eq(pthread_timedjoin_np(t, NULL, &deadline), 0);
    pclose(client);
    hw_server_stop(a, 5000);
    ck_assert_int_eq(inflight_metric(), 0);
}
END_TEST

Suite *hw_suite_server(void);

Suite *
hw_suite_server(void)
{
    Suite *s = suite_create("server");
    TCase *tc = tcase_create("core");

    tcase_set_timeout(tc, 60);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_server_answers_probes_and_readiness_from_its_source);
    tcase_add_test(tc, test_server_decides_with_the_policy_its_source_gives);
    tcase_add_test(tc, test_server_keeps_its_policy_until_the_source_generation_changes);
    tcase_add_test(tc, test_server_refuses_a_request_past_its_memory_budget_with_413);
    tcase_add_test(tc, test_server_counts_connections_until_they_close);
    tcase_add_test(tc, test_server_closes_connections_silent_past_the_header_deadline);
    tcase_add_test(tc, test_server_forgets_a_connection_libmicrohttpd_failed_to_set_up);
    tcase_add_test(tc, test_server_drain_waits_for_its_own_admissions_only);
    suite_add_tcase(s, tc);
    return s;
}

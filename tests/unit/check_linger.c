/* SPDX-License-Identifier: Apache-2.0 */
/*
 * linger: real TCP connections on loopback. A server side writes its
 * answer while the client is still sending a large body; handed to the
 * lingering thread, the client finishes sending and reads the answer. The
 * first test shows what a plain close does to the same client.
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "hookwarden/linger.h"

#define BODY (32u << 20)  /* more than loopback socket buffers hold */

struct client {
    int fd;
    int send_errno;   /* 0 when the whole body went out */
    char answer[64];  /* what was read back, up to EOF */
    ssize_t got;
};

/* A connected pair: *server and a client socket. */
static int
tcp_pair(int *server)
{
    struct sockaddr_in sa = {0};
    socklen_t sl = sizeof(sa);
    int l = socket(AF_INET, SOCK_STREAM, 0), c = socket(AF_INET, SOCK_STREAM, 0);

    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(bind(l, (struct sockaddr *)&sa, sizeof(sa)), 0);
    ck_assert_int_eq(listen(l, 4), 0);
    ck_assert_int_eq(getsockname(l, (struct sockaddr *)&sa, &sl), 0);
    ck_assert_int_eq(connect(c, (struct sockaddr *)&sa, sizeof(sa)), 0);
    *server = accept(l, NULL, NULL);
    ck_assert_int_ge(*server, 0);
    close(l);
    return c;
}

/* Sends the whole body, then reads what the server answered. */
static void *
client_main(void *arg)
{
    struct client *c = arg;
    char *body = calloc(1, BODY);
    size_t sent = 0;
    ssize_t n;

    while (sent < BODY) {
        n = send(c->fd, body + sent, BODY - sent, MSG_NOSIGNAL);
        if (n <= 0) {
            c->send_errno = errno;
            break;
        }
        sent += (size_t)n;
    }
    free(body);
    while (c->send_errno == 0 && (n = recv(c->fd, c->answer + c->got,
                                            sizeof(c->answer) - 1 - (size_t)c->got, 0)) > 0)
        c->got += n;
    return NULL;
}

/* The server answers after reading only the first bytes, as an early 413. */
static int
answer_early(struct client *c, pthread_t *t)
{
    char head[4096];
    int s;

    memset(c, 0, sizeof(*c));
    c->fd = tcp_pair(&s);
    pthread_create(t, NULL, client_main, c);
    ck_assert_int_gt(recv(s, head, sizeof(head), 0), 0);
    ck_assert_int_eq(send(s, "HTTP/1.1 413\r\n\r\n", 16, 0), 16);
    return s;
}

START_TEST(test_linger_a_plain_close_resets_a_client_still_sending)
{
    struct client c;
    pthread_t t;

    close(answer_early(&c, &t));
    pthread_join(t, NULL);
    close(c.fd);
    ck_assert_msg(c.send_errno == ECONNRESET || c.send_errno == EPIPE, "errno %d", c.send_errno);
}
END_TEST

START_TEST(test_linger_delivers_the_answer_to_a_client_still_sending)
{
    struct hw_linger_options o = {0};
    struct hw_linger *l;
    struct client c;
    pthread_t t;

    o.max_bytes = 2 * BODY;
    l = hw_linger_new(&o, NULL);
    ck_assert_ptr_nonnull(l);
    hw_linger_add(l, answer_early(&c, &t));
    pthread_join(t, NULL);
    close(c.fd);
    ck_assert_int_eq(c.send_errno, 0);
    ck_assert_str_eq(c.answer, "HTTP/1.1 413\r\n\r\n");
    hw_linger_free(l);
}
END_TEST

static unsigned
settle_at(struct hw_linger *l, unsigned want)
{
    unsigned n = hw_linger_count(l);

    for (int i = 0; i < 500 && n != want; i++) {
        usleep(10000);
        n = hw_linger_count(l);
    }
    return n;
}

START_TEST(test_linger_closes_when_the_client_closes_or_falls_silent)
{
    struct hw_linger_options o = {0};
    struct hw_linger *l;
    int s1, s2, c1, c2;
    char x;

    o.idle_ms = 200;
    l = hw_linger_new(&o, NULL);
    c1 = tcp_pair(&s1);
    c2 = tcp_pair(&s2);
    hw_linger_add(l, s1);
    hw_linger_add(l, s2);
    ck_assert_int_eq(recv(c1, &x, 1, 0), 0);  /* the FIN came at once */
    ck_assert_uint_eq(hw_linger_count(l), 2);
    close(c1);                               /* this one ends it */
    ck_assert_uint_eq(settle_at(l, 1), 1);
    ck_assert_uint_eq(settle_at(l, 0), 0);   /* c2 said nothing for 200 ms */
    close(c2);
    hw_linger_free(l);
}
END_TEST

START_TEST(test_linger_is_bounded_in_bytes_and_sockets)
{
    struct hw_linger_options o = {0};
    struct hw_linger *l;
    struct client c;
    pthread_t t;
    int s[3], cl[3];

    o.max_bytes = 64 * 1024;
    o.max_sockets = 2;
    l = hw_linger_new(&o, NULL);
    hw_linger_add(l, answer_early(&c, &t));
    pthread_join(t, NULL);   /* cut after 64 KiB: the client's send fails */
    close(c.fd);
    ck_assert_int_ne(c.send_errno, 0);
    ck_assert_uint_eq(settle_at(l, 0), 0);
    for (int i = 0; i < 3; i++) {
        cl[i] = tcp_pair(&s[i]);
        hw_linger_add(l, s[i]);
    }
    ck_assert_uint_eq(hw_linger_count(l), 2);  /* the third was closed at once */
    hw_linger_free(l);
    for (int i = 0; i < 3; i++)
        close(cl[i]);
}
END_TEST

Suite *hw_suite_linger(void);

Suite *
hw_suite_linger(void)
{
    Suite *s = suite_create("linger");
    TCase *tc = tcase_create("core");

    signal(SIGPIPE, SIG_IGN);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_linger_a_plain_close_resets_a_client_still_sending);
    tcase_add_test(tc, test_linger_delivers_the_answer_to_a_client_still_sending);
    tcase_add_test(tc, test_linger_closes_when_the_client_closes_or_falls_silent);
    tcase_add_test(tc, test_linger_is_bounded_in_bytes_and_sockets);
    suite_add_tcase(s, tc);
    return s;
}

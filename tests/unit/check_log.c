/* SPDX-License-Identifier: Apache-2.0 */
/*
 * log: lines longer than PIPE_BUF from several threads into a pipe that is
 * read slowly (the container runtime's end of stderr can be) stay whole,
 * and so do the short lines written between them without waiting for each
 * other. A pipe guarantees atomic writes only up to PIPE_BUF (4 KiB); past
 * that a writer that finds the pipe full sleeps, and another writer's bytes
 * can land in the middle of its line. The request line's own formatting
 * (no printf, no allocation) writes what printf would. A worker's held
 * lines go out at its flush, whole and in order.
 */
#include <check.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hookwarden/log.h"

#define WRITERS 4
#define LINES 40
#define FIELD (20 * 1024)
#define SHORT 300

/* Long lines both ways (hw_log_fields, hw_log) and short ones between. */
static void *
writer(void *arg)
{
    char *field = malloc(FIELD + 1);
    const struct hw_log_field f[] = {{"filler", 's', field, 0, 0}};

    memset(field, 'a' + (int)(intptr_t)arg, FIELD);
    field[FIELD] = '\0';
    for (int i = 0; i < LINES; i++) {
        if (i % 3 == 0) {
            hw_log_fields(HW_LOG_INFO, "long line", f, 1);
        } else if (i % 3 == 1) {
            hw_log(HW_LOG_INFO, "long line", "{s:s}", "filler", field);
        } else {
            field[SHORT] = '\0';
            hw_log_fields(HW_LOG_INFO, "short line", f, 1);
            field[SHORT] = field[0];
        }
    }
    free(field);
    return NULL;
}

/* Each line holds one writer's letter only, FIELD or SHORT times, and is
 * JSON-shaped. */
static int
line_whole(const char *line, size_t len)
{
    const char *f = memmem(line, len, "\"filler\":\"", 10);
    size_t want = memmem(line, len, "short line", 10) != NULL ? SHORT : FIELD;
    char c;

    if (f == NULL || line[0] != '{' || line[len - 1] != '}')
        return 0;
    f += strlen("\"filler\":\"");
    c = f[0];
    for (size_t i = 0; i < want; i++) {
        if (f + i >= line + len || f[i] != c)
            return 0;
    }
    return f[want] == '"';
}

START_TEST(test_log_lines_longer_than_pipe_buf_never_interleave)
{
    pthread_t t[WRITERS];
    int p[2], saved = dup(2), lines = 0, broken = 0, joined[WRITERS] = {0};
    size_t cap = (size_t)WRITERS * LINES * (FIELD + 200), len = 0;
    char *all = malloc(cap), chunk[512];
    ssize_t n = 0;

    ck_assert_int_eq(PIPE_BUF, 4096);
    ck_assert_int_eq(pipe(p), 0);
    ck_assert_int_eq(dup2(p[1], 2), 2);
    close(p[1]);
    hw_log_set_level(HW_LOG_INFO);
    for (intptr_t i = 0; i < WRITERS; i++)
        pthread_create(&t[i], NULL, writer, (void *)i);
    /* Slowly at first, in small reads, so that writers find the pipe full;
     * then on until every writer is done and the pipe is empty. */
    fcntl(p[0], F_SETFL, O_NONBLOCK);
    for (int done = 0, k = 0; done < WRITERS || n > 0; k++) {
        struct pollfd pf = {p[0], POLLIN, 0};

        poll(&pf, 1, 10);
        n = read(p[0], chunk, sizeof(chunk));
        if (n > 0) {
            ck_assert_uint_le(len + (size_t)n, cap);
            memcpy(all + len, chunk, (size_t)n);
            len += (size_t)n;
        }
        if (k < 200)
            usleep(1000);
        for (done = 0; done < WRITERS && joined[done]; done++) {
        }
        if (done < WRITERS && pthread_tryjoin_np(t[done], NULL) == 0)
            joined[done] = 1;
    }
    dup2(saved, 2);
    close(saved);
    close(p[0]);
    hw_log_set_level(HW_LOG_INFO);
    for (char *s = all, *e; s < all + len; s = e + 1) {
        e = memchr(s, '\n', (size_t)(all + len - s));
        ck_assert_ptr_nonnull(e);
        lines++;
        broken += !line_whole(s, (size_t)(e - s));
    }
    free(all);
    ck_assert_int_eq(lines, WRITERS * LINES);
    ck_assert_int_eq(broken, 0);
}
END_TEST

/* One line of fields into a pipe, as hw_log_fields writes it. */
static char *
one_line(const struct hw_log_field *f, size_t n)
{
    int p[2], saved = dup(2);
    char *line = calloc(1, 8192);
    ssize_t got;

    ck_assert_int_eq(pipe(p), 0);
    ck_assert_int_eq(dup2(p[1], 2), 2);
    close(p[1]);
    hw_log_fields(HW_LOG_INFO, "fields", f, n);
    dup2(saved, 2);
    close(saved);
    got = read(p[0], line, 8191);
    close(p[0]);
    ck_assert_int_gt(got, 0);
    return line;
}

START_TEST(test_log_request_line_writes_what_printf_would)
{
    static const struct {
        double d;
        const char *text;
    } reals[] = {{0, "0.000"}, {0.0004, "0.000"}, {0.0006, "0.001"}, {1.5, "1.500"},
                 {12.34567, "12.346"}, {999.9999, "1000.000"}, {-2.5, "-2.500"}};
    char want[64], *line;
    json_t *j;

    for (size_t i = 0; i < sizeof(reals) / sizeof(reals[0]); i++) {
        const struct hw_log_field f[] = {{"duration_ms", 'd', NULL, 0, reals[i].d}};

        line = one_line(f, 1);
        snprintf(want, sizeof(want), "\"duration_ms\":%s}\n", reals[i].text);
        ck_assert_msg(strstr(line, want) != NULL, "%g: %s", reals[i].d, line);
        free(line);
    }
    {
        const struct hw_log_field f[] = {
            {"uid", 's', "a\"b\\c\n\x01\xff", 0, 0}, {"skipped", 's', NULL, 0, 0},
            {"min", 'i', NULL, -9223372036854775807LL - 1, 0}, {"zero", 'i', NULL, 0, 0},
            {"rules", 'j', "{\"ttl-after-finished\":\"warn\"}", 0, 0},
        };

        line = one_line(f, sizeof(f) / sizeof(f[0]));
        j = json_loads(line, JSON_DISABLE_EOF_CHECK, NULL);
        ck_assert_ptr_nonnull(j);
        ck_assert_str_eq(json_string_value(json_object_get(j, "uid")), "a\"b\\c\n\x01\xef\xbf\xbd");
        ck_assert_ptr_null(json_object_get(j, "skipped"));
        ck_assert(json_integer_value(json_object_get(j, "min")) == -9223372036854775807LL - 1);
        ck_assert_ptr_nonnull(strstr(line, "\"zero\":0,"));
        ck_assert_str_eq(json_string_value(json_object_get(json_object_get(j, "rules"),
                                                           "ttl-after-finished")), "warn");
        /* "2026-11-30T05:23:06.123456Z" */
        ck_assert_uint_eq(strlen(json_string_value(json_object_get(j, "time"))), 27);
        ck_assert_int_eq(json_string_value(json_object_get(j, "time"))[26], 'Z');
        json_decref(j);
        free(line);
    }
}
END_TEST

/* What a holding thread finds in the pipe at each step. */
struct held_steps {
    int fd;                /* the pipe's read end, non-blocking */
    char before[8192];     /* after three held lines, before the flush */
    char after[8192];      /* after the flush */
    char overflow[32768];  /* twenty 500-byte lines, no flush */
    char rest[32768];      /* the flush after them */
    char mixed[32768];     /* a held line, then one through hw_log, then a long one */
};

static void
drain(int fd, char *out, size_t cap)
{
    size_t len = strlen(out);
    ssize_t n;

    while (len + 1 < cap && (n = read(fd, out + len, cap - 1 - len)) > 0)
        len += (size_t)n;
    out[len] = '\0';
}

static void *
holder(void *arg)
{
    struct held_steps *st = arg;
    char filler[500], seq[16], *big = malloc(6000);
    struct hw_log_field f[] = {{"seq", 's', seq, 0, 0}, {"filler", 's', filler, 0, 0}};

    memset(filler, 'x', sizeof(filler) - 1);
    filler[sizeof(filler) - 1] = '\0';
    memset(big, 'y', 5999);
    big[5999] = '\0';
    hw_log_hold();
    for (int i = 0; i < 3; i++) {
        snprintf(seq, sizeof(seq), "h%d", i);
        hw_log_fields(HW_LOG_INFO, "held", f, 1);
    }
    drain(st->fd, st->before, sizeof(st->before));
    hw_log_flush();
    drain(st->fd, st->after, sizeof(st->after));
    for (int i = 0; i < 20; i++) {
        snprintf(seq, sizeof(seq), "o%02d", i);
        hw_log_fields(HW_LOG_INFO, "held", f, 2);
    }
    drain(st->fd, st->overflow, sizeof(st->overflow));
    hw_log_flush();
    drain(st->fd, st->rest, sizeof(st->rest));
    snprintf(seq, sizeof(seq), "m0");
    hw_log_fields(HW_LOG_INFO, "held", f, 1);
    hw_log(HW_LOG_INFO, "direct", "{s:s}", "seq", "m1");
    snprintf(seq, sizeof(seq), "m2");
    hw_log_fields(HW_LOG_INFO, "held", f, 1);
    f[1].s = big;
    snprintf(seq, sizeof(seq), "m3");
    hw_log_fields(HW_LOG_INFO, "held", f, 2);
    drain(st->fd, st->mixed, sizeof(st->mixed));
    hw_log_flush();
    free(big);
    return NULL;
}

/* The "seq" values of the whole lines in text, in order, space-separated;
 * "BROKEN" for a line that is not JSON. */
static void
seqs_of(const char *text, char *out, size_t cap)
{
    out[0] = '\0';
    for (const char *s = text, *e; *s != '\0'; s = e + 1) {
        json_t *j;

        e = strchr(s, '\n');
        if (e == NULL) {
            strncat(out, "PARTIAL ", cap - strlen(out) - 1);
            return;
        }
        j = json_loadb(s, (size_t)(e - s), 0, NULL);
        strncat(out, j != NULL ? json_string_value(json_object_get(j, "seq")) : "BROKEN",
                cap - strlen(out) - 1);
        strncat(out, " ", cap - strlen(out) - 1);
        json_decref(j);
    }
}

/* A worker's loop holds its request lines and writes them before it waits:
 * nothing until the flush, whole lines in order, at most PIPE_BUF held
 * (more is written as it fills), and a line written another way, or too
 * long to hold, comes after the held ones. */
START_TEST(test_log_held_lines_go_out_at_flush_whole_and_in_order)
{
    struct held_steps *st = calloc(1, sizeof(*st));
    char got[2048], want[2048] = "";
    int p[2], saved = dup(2);
    pthread_t t;

    ck_assert_int_eq(pipe(p), 0);
    fcntl(p[0], F_SETFL, O_NONBLOCK);
    fcntl(p[0], F_SETPIPE_SZ, 1 << 20);
    ck_assert_int_eq(dup2(p[1], 2), 2);
    close(p[1]);
    hw_log_set_level(HW_LOG_INFO);
    st->fd = p[0];
    pthread_create(&t, NULL, holder, st);
    pthread_join(t, NULL);
    dup2(saved, 2);
    close(saved);
    close(p[0]);

    ck_assert_str_eq(st->before, "");
    seqs_of(st->after, got, sizeof(got));
    ck_assert_str_eq(got, "h0 h1 h2 ");
    /* 20 lines of ~600 bytes: some went out when the held ones filled
     * PIPE_BUF, whole; the flush wrote the others. */
    ck_assert_uint_gt(strlen(st->overflow), 0);
    ck_assert_uint_lt(strlen(st->rest), PIPE_BUF);
    {
        size_t a = strlen(st->overflow), b = strlen(st->rest);
        char *both = malloc(a + b + 1);

        memcpy(both, st->overflow, a);
        memcpy(both + a, st->rest, b + 1);
        seqs_of(both, got, sizeof(got));
        free(both);
    }
    for (int i = 0; i < 20; i++)
        snprintf(want + strlen(want), sizeof(want) - strlen(want), "o%02d ", i);
    ck_assert_str_eq(got, want);
    /* m0 held, m1 direct (after m0), m2 held, m3 too long to hold (after m2). */
    seqs_of(st->mixed, got, sizeof(got));
    ck_assert_str_eq(got, "m0 m1 m2 m3 ");
    free(st);
}
END_TEST

Suite *hw_suite_log(void);

Suite *
hw_suite_log(void)
{
    Suite *s = suite_create("log");
    TCase *tc = tcase_create("core");

    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_log_lines_longer_than_pipe_buf_never_interleave);
    tcase_add_test(tc, test_log_request_line_writes_what_printf_would);
    tcase_add_test(tc, test_log_held_lines_go_out_at_flush_whole_and_in_order);
    suite_add_tcase(s, tc);
    return s;
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * log: lines longer than PIPE_BUF from several threads into a pipe that is
 * read slowly (the container runtime's end of stderr can be) stay whole,
 * and so do the short lines written between them without waiting for each
 * other. A pipe guarantees atomic writes only up to PIPE_BUF (4 KiB); past
 * that a writer that finds the pipe full sleeps, and another writer's bytes
 * can land in the middle of its line. The request line's own formatting
 * (no printf, no allocation) writes what printf would.
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

Suite *hw_suite_log(void);

Suite *
hw_suite_log(void)
{
    Suite *s = suite_create("log");
    TCase *tc = tcase_create("core");

    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_log_lines_longer_than_pipe_buf_never_interleave);
    tcase_add_test(tc, test_log_request_line_writes_what_printf_would);
    suite_add_tcase(s, tc);
    return s;
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * log: the log sink, one of the three pieces of global state. It formats a
 * JSON line and writes it whole to stderr with one write(). A pipe keeps a
 * write atomic only up to PIPE_BUF (4 KiB), and past that a writer that
 * finds the pipe full sleeps mid-line while another thread's bytes go in:
 * so a longer line takes a lock exclusively, and lines up to PIPE_BUF take
 * it shared (they never wait for each other, only for a long line being
 * written). The per-request line is built in the thread's own buffer,
 * without allocating or printf. A worker's event loop may hold its lines
 * (hw_log_hold): they gather in that buffer, up to PIPE_BUF, and go out in
 * one write when the loop flushes them before it waits for the next events
 * (the write-before-sleep of redis's append-only file), so a busy worker
 * writes once for the requests it answered together. It does not rotate:
 * the container runtime collects stderr.
 */
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hookwarden/buf.h"
#include "hookwarden/log.h"

static _Atomic int log_level = HW_LOG_INFO;
/* Exclusive for lines longer than PIPE_BUF, shared for the others; writers
 * first, so that a long line is not starved by a stream of short ones. */
static pthread_rwlock_t write_lock = PTHREAD_RWLOCK_WRITER_NONRECURSIVE_INITIALIZER_NP;

static const char *const level_names[] = {"debug", "info", "warn", "error", "off"};

void
hw_log_set_level(enum hw_log_level level)
{
    atomic_store(&log_level, (int)level);
}

enum hw_log_level
hw_log_get_level(void)
{
    return (enum hw_log_level)atomic_load_explicit(&log_level, memory_order_relaxed);
}

int
hw_log_parse_level(const char *name, enum hw_log_level *level)
{
    for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
        if (strcmp(name, level_names[i]) == 0) {
            *level = (enum hw_log_level)i;
            return 0;
        }
    }
    return -1;
}

const char *
hw_log_level_name(enum hw_log_level level)
{
    return (size_t)level < sizeof(level_names) / sizeof(level_names[0]) ? level_names[level] : "?";
}

/* Writes one whole line: partial writes (a long line into a pipe) are
 * continued, and the lock keeps other threads' lines out of the middle. */
static void
emit(const char *line, size_t len)
{
    if (len > PIPE_BUF)
        pthread_rwlock_wrlock(&write_lock);
    else
        pthread_rwlock_rdlock(&write_lock);
    while (len > 0) {
        ssize_t n = write(STDERR_FILENO, line, len);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;  /* nowhere left to report a failing stderr */
        line += n;
        len -= (size_t)n;
    }
    pthread_rwlock_unlock(&write_lock);
}

/* "2026-11-30T05:23:06.123456Z" into out (LOG_TIME_SIZE bytes). The
 * calendar part changes once a second: each thread keeps its last. */
#define LOG_TIME_SIZE 28
static void
log_time(char *out)
{
    static _Thread_local time_t last_sec = -1;
    static _Thread_local char last[20];
    struct timespec ts;
    long us;

    clock_gettime(CLOCK_REALTIME, &ts);
    if (ts.tv_sec != last_sec) {
        struct tm tm;

        gmtime_r(&ts.tv_sec, &tm);
        if (strftime(last, sizeof(last), "%Y-%m-%dT%H:%M:%S", &tm) != 19)
            memcpy(last, "0000-00-00T00:00:00", 20);
        last_sec = ts.tv_sec;
    }
    memcpy(out, last, 19);
    out[19] = '.';
    us = ts.tv_nsec / 1000;
    for (int i = 25; i > 19; i--, us /= 10)
        out[i] = (char)('0' + us % 10);
    memcpy(out + 26, "Z", 2);
}

/* The calling thread's held lines: a worker's requests answered in one
 * pass of its event loop, written together by hw_log_flush(). */
static _Thread_local struct {
    int on;
    size_t len;
    char text[PIPE_BUF];
} held;

void
hw_log_hold(void)
{
    held.on = 1;
}

void
hw_log_flush(void)
{
    if (held.len > 0)
        emit(held.text, held.len);
    held.len = 0;
}

static int
append_dumped(const char *text, size_t len, void *out)
{
    return hw_buf_append(out, text, len);
}

void
hw_log(enum hw_log_level level, const char *msg, const char *fields, ...)
{
    json_t *line = NULL, *extra = NULL;
    char now[LOG_TIME_SIZE];
    struct hw_buf text;
    json_error_t jerr;
    va_list ap;

    if (level < hw_log_get_level() || level >= HW_LOG_OFF)
        return;
    log_time(now);
    line = json_pack("{s:s, s:s, s:s}", "time", now, "level", level_names[level], "msg", msg);
    if (line == NULL)
        return;
    if (fields != NULL) {
        va_start(ap, fields);
        extra = json_vpack_ex(&jerr, 0, fields, ap);
        va_end(ap);
        if (extra != NULL)
            json_object_update(line, extra);
        else
            json_object_set_new(line, "log_error", json_string(jerr.text));
    }
    /* Into our own buffer: jansson's text would come from its allocator,
     * which under a request's budget is the request's arena. */
    hw_buf_init(&text, 0);
    if (json_dump_callback(line, append_dumped, &text,
                           JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6)) == 0 &&
        hw_buf_append(&text, "\n", 1) == 0) {
        hw_log_flush();  /* after the lines this thread holds */
        emit(text.data, text.len);
    }
    hw_buf_free(&text);
    json_decref(extra);
    json_decref(line);
}

/* A real with 3 decimals, as "%.3f" would write it for the durations logged. */
static int
append_millis(struct hw_buf *b, double d)
{
    char text[64];
    long long k;
    int n;

    if (!(d >= 0 && d < 1e15)) {
        n = snprintf(text, sizeof(text), "%.3f", d);
        return n > 0 && (size_t)n < sizeof(text) ? hw_buf_append(b, text, (size_t)n) : -1;
    }
    k = (long long)(d * 1000 + 0.5);
    n = 0;
    if (hw_buf_append_int(b, k / 1000) != 0 || hw_buf_append(b, ".", 1) != 0)
        return -1;
    text[n++] = (char)('0' + k / 100 % 10);
    text[n++] = (char)('0' + k / 10 % 10);
    text[n++] = (char)('0' + k % 10);
    return hw_buf_append(b, text, (size_t)n);
}

static int
append_field(struct hw_buf *b, const struct hw_log_field *f)
{
    if (hw_buf_append(b, ",", 1) != 0 || hw_buf_append_json_string(b, f->key, strlen(f->key)) != 0 ||
        hw_buf_append(b, ":", 1) != 0)
        return -1;
    switch (f->type) {
    case 's': return hw_buf_append_json_string(b, f->s, strlen(f->s));
    case 'j': return hw_buf_append_str(b, f->s);
    case 'i': return hw_buf_append_int(b, f->i);
    default: return append_millis(b, f->d);
    }
}

/* The whole line, newline included, into b: -1 when it does not fit. */
static int
format_line(struct hw_buf *b, enum hw_log_level level, const char *msg,
            const struct hw_log_field *f, size_t n)
{
    char now[LOG_TIME_SIZE];

    log_time(now);
    if (hw_buf_append(b, "{\"time\":\"", 9) != 0 || hw_buf_append(b, now, LOG_TIME_SIZE - 1) != 0 ||
        hw_buf_append(b, "\",\"level\":\"", 11) != 0 || hw_buf_append_str(b, level_names[level]) != 0 ||
        hw_buf_append(b, "\",\"msg\":", 8) != 0 || hw_buf_append_json_string(b, msg, strlen(msg)) != 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if ((f[i].type == 's' || f[i].type == 'j') && f[i].s == NULL)
            continue;
        if (append_field(b, &f[i]) != 0)
            return -1;
    }
    return hw_buf_append(b, "}\n", 2);
}

/*
 * A line of up to PIPE_BUF bytes (every request's, unless its messages are
 * long) is built in the thread's own buffer: no allocation, one write, or
 * none while the thread holds its lines and they still fit. Longer lines
 * are built on the heap, up to 64 KiB, after the held ones.
 */
void
hw_log_fields(enum hw_log_level level, const char *msg, const struct hw_log_field *f, size_t n)
{
    static _Thread_local char line[PIPE_BUF];
    struct hw_buf b;

    if (level < hw_log_get_level() || level >= HW_LOG_OFF)
        return;
    if (held.on) {
        hw_buf_init_fixed(&b, held.text + held.len, sizeof(held.text) - held.len);
        if (format_line(&b, level, msg, f, n) == 0) {
            held.len += b.len;
            return;
        }
        hw_log_flush();
        hw_buf_init_fixed(&b, held.text, sizeof(held.text));
        if (format_line(&b, level, msg, f, n) == 0) {
            held.len = b.len;
            return;
        }
    } else {
        hw_buf_init_fixed(&b, line, sizeof(line));
        if (format_line(&b, level, msg, f, n) == 0) {
            emit(b.data, b.len);
            return;
        }
    }
    hw_buf_init(&b, 64 * 1024);
    if (format_line(&b, level, msg, f, n) == 0)
        emit(b.data, b.len);
    hw_buf_free(&b);
}

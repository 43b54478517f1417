/* SPDX-License-Identifier: Apache-2.0 */
/*
 * log: the log sink, one of the three pieces of global state. It formats a
 * JSON line and writes it whole to stderr under a mutex: a pipe keeps a
 * write atomic only up to PIPE_BUF (4 KiB), and past that a writer that
 * finds the pipe full sleeps mid-line while another thread's bytes go in.
 * It does not rotate or buffer: the container runtime collects stderr.
 */
#include <errno.h>
#include <jansson.h>
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
static pthread_mutex_t write_lock = PTHREAD_MUTEX_INITIALIZER;

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
    pthread_mutex_lock(&write_lock);
    while (len > 0) {
        ssize_t n = write(STDERR_FILENO, line, len);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;  /* nowhere left to report a failing stderr */
        line += n;
        len -= (size_t)n;
    }
    pthread_mutex_unlock(&write_lock);
}

static void
log_time(char *out, size_t outsz)
{
    struct timespec ts;
    struct tm tm;
    size_t n;

    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    n = strftime(out, outsz, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, outsz - n, ".%06ldZ", ts.tv_nsec / 1000);
}

void
hw_log(enum hw_log_level level, const char *msg, const char *fields, ...)
{
    json_t *line = NULL, *extra = NULL;
    char now[40], *text = NULL;
    json_error_t jerr;
    va_list ap;
    size_t len;

    if (level < hw_log_get_level() || level >= HW_LOG_OFF)
        return;
    log_time(now, sizeof(now));
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
    text = json_dumps(line, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6));
    if (text != NULL) {
        len = strlen(text);
        text[len] = '\n';  /* replaces the NUL; we pass the length */
        emit(text, len + 1);
    }
    free(text);
    json_decref(extra);
    json_decref(line);
}

void
hw_log_fields(enum hw_log_level level, const char *msg, const struct hw_log_field *f, size_t n)
{
    char now[40];
    struct hw_buf b;
    int ok;

    if (level < hw_log_get_level() || level >= HW_LOG_OFF)
        return;
    log_time(now, sizeof(now));
    hw_buf_init(&b, 64 * 1024);
    ok = hw_buf_printf(&b, "{\"time\":\"%s\",\"level\":\"%s\",\"msg\":", now, level_names[level]) == 0 &&
         hw_buf_append_json_string(&b, msg, strlen(msg)) == 0;
    for (size_t i = 0; ok && i < n; i++) {
        if ((f[i].type == 's' || f[i].type == 'j') && f[i].s == NULL)
            continue;
        ok = hw_buf_append(&b, ",", 1) == 0 && hw_buf_append_json_string(&b, f[i].key, strlen(f[i].key)) == 0 &&
             hw_buf_append(&b, ":", 1) == 0;
        if (ok && f[i].type == 's')
            ok = hw_buf_append_json_string(&b, f[i].s, strlen(f[i].s)) == 0;
        else if (ok && f[i].type == 'j')
            ok = hw_buf_append_str(&b, f[i].s) == 0;
        else if (ok && f[i].type == 'i')
            ok = hw_buf_printf(&b, "%lld", f[i].i) == 0;
        else if (ok)
            ok = hw_buf_printf(&b, "%.3f", f[i].d) == 0;
    }
    if (ok && hw_buf_append(&b, "}\n", 2) == 0)
        emit(b.data, b.len);
    hw_buf_free(&b);
}

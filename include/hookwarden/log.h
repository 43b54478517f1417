/* SPDX-License-Identifier: Apache-2.0 */
/*
 * log: one JSON object per line on stderr, with time, level, msg and the
 * caller's fields. Fields are given as a jansson json_pack() format and its
 * arguments ("{s:s, s:i}", "uid", uid, "ops", n), so a line is built in one
 * place and written whole under a lock: lines from threads never
 * interleave, whatever their length and even when stderr is a pipe.
 * Never pass object bodies or key material.
 */
#ifndef HOOKWARDEN_LOG_H
#define HOOKWARDEN_LOG_H

#include <stddef.h>

enum hw_log_level { HW_LOG_DEBUG = 0, HW_LOG_INFO, HW_LOG_WARN, HW_LOG_ERROR, HW_LOG_OFF };

/* Sets the minimum level written. Thread-safe. */
void hw_log_set_level(enum hw_log_level level);
enum hw_log_level hw_log_get_level(void);

/* Parses "debug", "info", "warn", "error", "off"; -1 when unknown. */
int hw_log_parse_level(const char *name, enum hw_log_level *level);

/* "debug", "info", ...: static. */
const char *hw_log_level_name(enum hw_log_level level);

/* Writes one line when level is enabled. fields may be NULL for none. */
void hw_log(enum hw_log_level level, const char *msg, const char *fields, ...);

/* A flat field for hw_log_fields: a string (s, may be NULL to omit the
 * field), an integer (i), a real (d, written with 3 decimals) or JSON text
 * written as it is (j, in s; NULL omits it; the caller makes it valid). */
struct hw_log_field {
    const char *key;
    char type;  /* 's', 'i', 'd' or 'j' */
    const char *s;
    long long i;
    double d;
};

/* The same line as hw_log, built without a JSON library: for the one line
 * per request, whose cost is on the request path. */
void hw_log_fields(enum hw_log_level level, const char *msg, const struct hw_log_field *f, size_t n);

/* For an event loop's thread: its lines from now on are held in its
 * buffer (up to PIPE_BUF bytes, then written) until hw_log_flush(), which
 * the loop calls before it waits for events, so that requests answered
 * together cost one write. A line the thread writes any other way goes
 * after the held ones. */
void hw_log_hold(void);
/* Writes the calling thread's held lines, if any. */
void hw_log_flush(void);

#define hw_log_enabled(lvl) ((lvl) >= hw_log_get_level())

#endif

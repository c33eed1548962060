/*
 * log.h - structured logging: one JSON object per line on stderr.
 *
 * Fixed keys: "ts" (RFC 3339 with milliseconds, UTC), "level", "msg", then the caller's key/value
 * pairs in order (docs/design.md §6 names "controller", "object", "reconcileID" where they apply).
 * Messages at a verbosity above the configured -v level are dropped cheaply.
 * Thread-safe: each line is written with one fwrite under stdio's stream lock.
 */
#ifndef FOO_COMMON_LOG_H
#define FOO_COMMON_LOG_H

enum log_level { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG };

/* Sets the -v verbosity: V(n) messages with n > v are dropped. Default 0. Call before threads. */
void log_set_verbosity(int v);
int log_verbosity(void);

/*
 * Writes one line. The variadic part is pairs of const char * (key, value) ending with NULL;
 * values are written as JSON strings. Example:
 *   log_kv(LOG_INFO, "listening", "address", "127.0.0.1:9443", NULL);
 */
void log_kv(enum log_level level, const char *msg, ...) __attribute__((sentinel));

/* printf-style message with no extra keys. */
void log_printf(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_error(...) log_printf(LOG_ERROR, __VA_ARGS__)
#define log_warn(...)  log_printf(LOG_WARN, __VA_ARGS__)
#define log_info(...)  log_printf(LOG_INFO, __VA_ARGS__)
/* Verbose messages, shown with -v N or higher. */
#define log_v(n, ...)                                                                              \
    do {                                                                                           \
        if (log_verbosity() >= (n))                                                                \
            log_printf(LOG_DEBUG, __VA_ARGS__);                                                    \
    } while (0)

#endif

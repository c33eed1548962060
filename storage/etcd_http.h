/*
 * etcd_http.h - private: libcurl calls to etcd's JSON gateway, one connection at a time.
 *
 * An eh_conn is one libcurl easy handle (a kept-alive connection) plus a cursor into the list of
 * endpoints. A request goes to the current endpoint; when it cannot connect there, it tries the
 * next ones (a request that was sent is never repeated elsewhere: a txn that timed out may have
 * been applied). Any failure moves the cursor on, so the next request starts at another endpoint.
 * A connection is used by one thread at a time; different connections are independent.
 *
 * Every request reports its outcome to an eh_health shared by the connections of one store:
 * st_health() reads it (unhealthy while the last attempt failed and none succeeded since).
 */
#ifndef FOO_STORAGE_ETCD_HTTP_H
#define FOO_STORAGE_ETCD_HTTP_H

#include "common/sbuf.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

/* Where and how to reach etcd; the strings are borrowed and must outlive every connection. */
typedef struct eh_target {
    char **endpoints; /* "http://host:port" or "https://host:port", at least one */
    int n_endpoints;
    const char *ca_file, *cert_file, *key_file; /* TLS to etcd; each may be NULL */
    int request_timeout_ms;                     /* whole request, connect included */
    atomic_int *healthy;                        /* 1 after a success, 0 after a failure */
} eh_target;

typedef struct eh_conn eh_conn;

/* A new connection (nothing is connected until the first request). Never NULL (OOM aborts). */
eh_conn *eh_new(const eh_target *t);
void eh_free(eh_conn *c);

/*
 * POSTs body to path ("/v3/kv/txn") and fills *resp with the answer's body and *status with its
 * HTTP status. timeout_ms <= 0 uses the target's request timeout. Returns 0 when an answer came
 * (whatever its status), -ETIMEDOUT when none came in time, -EIO for any other transport failure
 * (logged, with curl's reason in *why when why is non-NULL: a static string).
 */
int eh_post(eh_conn *c, const char *path, const char *body, int timeout_ms, sbuf *resp,
            long *status, const char **why);

/* Called with each complete line of a stream (without its '\n'); return false to stop it. */
typedef bool (*eh_line_fn)(void *ctx, const char *line, size_t len);
/* Called about every 200 ms while a stream is open (housekeeping); return false to stop it. */
typedef bool (*eh_tick_fn)(void *ctx);

/*
 * POSTs body to path and reads the answer as a stream of '\n'-terminated lines (the watch),
 * until the server ends it, a callback returns false, or eh_wake() is called. Lines longer than
 * EJ_MAX_MESSAGE_BYTES end the stream with an error. Returns 0 when a callback or eh_wake()
 * stopped it, -EIO when the connection failed or the server ended the stream (logged).
 */
int eh_stream(eh_conn *c, const char *path, const char *body, eh_line_fn on_line,
              eh_tick_fn on_tick, void *ctx);
/* Interrupts a running eh_stream of c at once. Thread-safe (any thread). */
void eh_wake(eh_conn *c);

/* The endpoint the next request goes to (borrowed), for log messages. */
const char *eh_endpoint(const eh_conn *c);
/* Moves to the next endpoint (after a broken stream). */
void eh_rotate(eh_conn *c);

#endif

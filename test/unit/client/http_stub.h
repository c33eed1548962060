/*
 * http_stub.h - a tiny plain-HTTP/1.1 server thread for client tests of behaviours the real
 * foo-apiserver cannot produce on demand (429 and 5xx with Retry-After, malformed watch
 * streams, huge bodies). It answers each request with the next scripted raw response, then with
 * the fallback; a response containing "Connection: close" closes its connection after writing,
 * and an empty response is never answered (for timeouts).
 * Each accepted connection gets its own thread, so a pooled keep-alive connection never blocks
 * another. Requests are logged as "METHOD PATH" lines and the last raw request is kept.
 */
#ifndef FOO_TEST_CLIENT_HTTP_STUB_H
#define FOO_TEST_CLIENT_HTTP_STUB_H

#include "common/sbuf.h"

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#define STUB_MAX_CONNS 64

typedef struct http_stub {
    int fd;
    int port;
    pthread_t acceptor;
    pthread_mutex_t mu;
    char **script; /* raw responses, owned */
    size_t nscript, next;
    char *fallback; /* owned */
    int requests;
    sbuf log;           /* "METHOD PATH\n" per request */
    char *last_request; /* raw head + body of the last request */
    int conns[STUB_MAX_CONNS];
    pthread_t conn_threads[STUB_MAX_CONNS];
    size_t nconns;
} http_stub;

/* Listens on 127.0.0.1:<free port>; fallback is copied. Asserts on failure (Criterion). */
void stub_start(http_stub *s, const char *fallback);
/* Appends a scripted response (copied). Call before the requests it answers. */
void stub_push(http_stub *s, const char *raw);
/* Closes the listener and every connection, joins the threads, frees. */
void stub_stop(http_stub *s);
/* Number of requests answered so far. */
int stub_requests(http_stub *s);

/* "HTTP/1.1 CODE REASON" + Content-Type JSON + Content-Length + extra header lines + body.
 * extra_headers: "Name: value\r\n" lines or NULL. Caller frees. */
char *stub_response(int code, const char *reason, const char *extra_headers, const char *body);
/* A metav1 Status body for code/reason/message. Caller frees. */
char *stub_status(int code, const char *reason, const char *message);

/* Appends a scripted error answer: stub_response of code with stub_status(code, reason, message)
 * as body, the kube reason doubling as the status line's phrase (clients read only the code). */
void stub_push_status(http_stub *s, int code, const char *reason, const char *message,
                      const char *extra_headers);
/* Appends a 200 JSON answer without Content-Length that closes its connection after body: a
 * watch stream that ends where body does. */
void stub_push_stream(http_stub *s, const char *body);

#endif

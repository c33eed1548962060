/*
 * httpd.h - the controller-manager's small HTTP/1.1 server for /metrics, /healthz and /readyz
 * (docs/controller-manager.md §4.4). Plain HTTP, as controller-runtime serves them by default:
 * Prometheus scrapes and kubelet probes reach it inside the pod's network.
 *
 * One thread runs a poll() loop over the listening socket and at most HTTPD_MAX_CONNS
 * connections. Each connection carries one request: its head is read (at most HH_MAX_HEAD
 * bytes, controllers/http_head.h) within HTTPD_REQUEST_TIMEOUT_MS, answered with
 * "Connection: close", and closed; a body is never read. Only GET and HEAD are served
 * (others: 405 with "Allow: GET, HEAD"); an unknown path is 404, a malformed head 400, a
 * too-long target 414, a too-long head 431, another HTTP version 505. Handlers run on the
 * server's thread, one at a time, so they must be quick (render a page from memory).
 *
 * Thread-safety: httpd_start and httpd_stop from one controlling thread; httpd_port from any.
 */
#ifndef FOO_CONTROLLERS_HTTPD_H
#define FOO_CONTROLLERS_HTTPD_H

#include "common/apierr.h"
#include "common/sbuf.h"

#include <stddef.h>

/* Connections served at once; further ones wait in the kernel's backlog. */
#define HTTPD_MAX_CONNS 32
/* The whole exchange (head in, answer out) must end within this, or the connection is closed. */
#define HTTPD_REQUEST_TIMEOUT_MS 10000

/* What a handler answers: code (default 200), content type (default text/plain), body. */
typedef struct httpd_response {
    int code;
    const char *content_type; /* a static string */
    sbuf body;                /* appended to by the handler; freed by the server */
} httpd_response;

/* Fills resp for one GET or HEAD of the route's path (the query is ignored). */
typedef void (*httpd_handler_fn)(void *ctx, httpd_response *resp);

typedef struct httpd_route {
    const char *path; /* exact match, e.g. "/metrics"; copied */
    httpd_handler_fn fn;
    void *ctx;
} httpd_route;

typedef struct httpd httpd;

/*
 * Splits a bind address as controller-runtime takes it: ":8080" (every interface), "HOST:PORT",
 * "[IPV6]:PORT". Returns 0 with *host (malloc'd; NULL for every interface) and *port (malloc'd
 * digits, 0..65535), 1 when the address is "0" (serving is turned off, controller-runtime's
 * convention), or -EINVAL for anything else. Pure; thread-safe.
 */
int httpd_split_address(const char *address, char **host, char **port);

/*
 * Binds address (httpd_split_address's forms; port 0 = any free port) and starts serving routes
 * (copied) on a new thread. name is for logs ("metrics", "probes"). Returns 0 with *out, 1 with
 * *out NULL when the address is "0" (nothing to serve), or a negative errno with *err (must not
 * be NULL; untouched otherwise) filled: -EINVAL and a 400 BadRequest for a bad address or a host
 * that does not resolve; the bind/listen error (e.g. -EADDRINUSE) or the thread's and a 500
 * InternalError saying what failed.
 */
int httpd_start(const char *address, const httpd_route *routes, size_t nroutes, const char *name,
                httpd **out, api_error *err);

/* The port actually bound (useful with port 0). Thread-safe. */
int httpd_port(const httpd *s);

/* Stops the thread (connections in progress are closed), closes the socket and frees. NULL: no-op.
 */
void httpd_stop(httpd *s);

#endif

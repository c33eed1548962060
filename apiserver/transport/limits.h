/*
 * limits.h - what the transport admits under load (docs/design.md §4.15): requests in flight,
 * watches, and the memory held by request bodies; the 429 answer past them. Pure bookkeeping,
 * no I/O: http.c asks before it serves a request and tells when the response is fully written.
 *
 * Kube's model (the max-in-flight filter, with the exempt priority level of API priority and
 * fairness): read-only requests and mutating requests have separate caps
 * (--max-requests-inflight, --max-mutating-requests-inflight); long-running requests (watches)
 * are counted apart, with their own cap (--max-watches). A request is in flight from its
 * complete head until its response is fully written (or its connection closes). Exempt requests
 * (health checks, system:masters) are always admitted and counted apart, so they never take the
 * seats of others. A cap of 0 means no limit, as in kube.
 *
 * Not thread-safe: one as_limits belongs to one transport and is used on its service thread.
 */
#ifndef FOO_APISERVER_LIMITS_H
#define FOO_APISERVER_LIMITS_H

#include "common/apierr.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The flags (defaults in as_limits_defaults). */
typedef struct as_limits_config {
    int max_requests_inflight;          /* --max-requests-inflight: read-only; 0 = no limit */
    int max_mutating_requests_inflight; /* --max-mutating-requests-inflight; 0 = no limit */
    int max_watches;                    /* --max-watches: open watch streams; 0 = no limit */
    int max_connections;                /* --max-connections: open TLS connections */
    int64_t request_timeout_ms;         /* --request-timeout: the deadline of a whole body */
    size_t max_body_memory;             /* bytes all request bodies in flight may hold */
} as_limits_config;

/* The defaults: 400 / 200 as kube, 2000 watches, 8000 connections, 60 s, 64 MiB
   (docs/design.md §4.15 explains each). */
as_limits_config as_limits_defaults(void);

/* The three kinds of request counted apart (kube's request_kind label for the first two). */
typedef enum as_req_kind {
    AS_KIND_READONLY,
    AS_KIND_MUTATING,
    AS_KIND_WATCH,
    AS_KIND_COUNT
} as_req_kind;

/*
 * What a request counts as: mutating (POST, PUT, PATCH, DELETE); a watch when it is a GET with
 * ?watch true (Go's ParseBool), a deprecated watch path (/api/V/watch/..., /apis/G/V/watch/...)
 * or a WebSocket upgrade; else read-only. path is the decoded path; watch_param NULL when absent.
 */
as_req_kind as_limits_kind(bool mutating, bool get, bool websocket, const char *path,
                           const char *watch_param);

typedef struct as_limits {
    as_limits_config cfg;
    int inflight[AS_KIND_COUNT]; /* admitted under a cap */
    int exempt[AS_KIND_COUNT];   /* admitted as exempt */
    size_t body_bytes;           /* reserved by bodies being read or held */
    uint64_t rejected;           /* requests refused with 429 since the start */
} as_limits;

/* Starts with nothing in flight. cfg is copied. */
void as_limits_init(as_limits *l, const as_limits_config *cfg);

/*
 * Admits a request of kind, counting it, and returns true; or returns false, counting nothing
 * but the rejection, when its kind's cap is reached (the caller answers as_limits_too_many).
 * An exempt request is always admitted. Every true must be paired with one as_limits_release
 * with the same kind and exempt.
 */
bool as_limits_admit(as_limits *l, as_req_kind kind, bool exempt);
/* The request admitted with (kind, exempt) is over: its response is written or it was dropped. */
void as_limits_release(as_limits *l, as_req_kind kind, bool exempt);
/* Requests of kind in flight, exempt ones included (for /metrics). */
int as_limits_inflight(const as_limits *l, as_req_kind kind);

/*
 * Reserves n bytes of the body budget for a body about to be read (its Content-Length, or what
 * a chunked body grew by). Returns true, or false without reserving when the bodies in flight
 * already hold too much (the caller answers as_limits_too_many). A body alone larger than the
 * whole budget is still admitted when no other body holds any: the per-request cap (3 MiB)
 * bounds it, and a budget below it must not refuse every big write forever.
 */
bool as_limits_reserve_body(as_limits *l, size_t n);
/* Gives back n bytes reserved by as_limits_reserve_body. */
void as_limits_release_body(as_limits *l, size_t n);

/*
 * Fills err with kube's overload answer: 429 TooManyRequests, "Too many requests, please try
 * again later.", Retry-After 1 (as_respond_error writes the header and details.retryAfterSeconds).
 */
void as_limits_too_many(api_error *err);

#endif

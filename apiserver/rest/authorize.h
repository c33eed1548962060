/*
 * authorize.h - authorization of a delegated server (not --standalone): kube-apiserver decides,
 * through TokenReview for bearer tokens it issued and SubjectAccessReview for every request
 * (docs/api.md §9.7).
 *
 * Order, as k8s.io/apiserver's delegating authorizer: a non-resource path of
 * --authorization-always-allow-paths (exact, or a prefix when the entry ends in '*') passes;
 * a member of system:masters passes; everything else is what the SubjectAccessReview says, with
 * the attributes of reqinfo.h. A denial is kube's 403 (sar.h's az_forbidden); a review that
 * fails is a 403 too. A bearer token the authentication chain did not know (req->bearer_token)
 * is reviewed first: rejected or unreviewable is a 401.
 *
 * No network call ever runs on the service or compute thread: cached answers are used at once;
 * otherwise the request is parked, the calls run on the delegation's worker threads, and the
 * request is handed back to as_rest_handle (on the compute thread for writes) once decided.
 * A WebSocket upgrade cannot wait (the transport must answer it at once): on a cache miss it
 * gets 503 with Retry-After: 1 while the answer is fetched for its retry.
 */
#ifndef FOO_APISERVER_AUTHORIZE_H
#define FOO_APISERVER_AUTHORIZE_H

#include "apiserver/transport/http.h"
#include "client/rest.h"
#include "common/apierr.h"
#include "common/clock.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct as_delegation_options {
    kc_client *authn_client;  /* TokenReviews go here (borrowed, outlives the delegation) */
    kc_client *authz_client;  /* SubjectAccessReviews go here (borrowed) */
    uint64_t token_ttl_ms;    /* --authentication-token-webhook-cache-ttl */
    uint64_t allowed_ttl_ms;  /* --authorization-webhook-cache-authorized-ttl */
    uint64_t denied_ttl_ms;   /* --authorization-webhook-cache-unauthorized-ttl */
    const char *always_allow; /* --authorization-always-allow-paths, comma-separated */
    int workers;              /* threads making the calls; <= 0 = 4 */
    clk_t *clock;             /* NULL = clk_system() */
} as_delegation_options;

typedef struct as_delegation as_delegation;

/* Starts the delegation (its caches and worker threads). Returns 0 with *out, or -EAGAIN with
   err set. */
int as_delegation_start(const as_delegation_options *o, as_delegation **out, api_error *err);

/* Stops the workers (every queued review still completes and resumes its request) and frees d.
   Call before the transport is freed. NULL is a no-op. */
void as_delegation_stop(as_delegation *d);

/*
 * Decides req (a request being handled, not at its head). Returns true when it may go on now;
 * false when it was answered (401, 403, 503) or parked (then as_rest_handle is called again for
 * it, with req->authorized set, once the reviews are in). Service or compute thread.
 */
bool as_authorize_delegated(as_delegation *d, as_req *req);

/* Counters of the reviews made and answered from the caches, for tests and /metrics. */
typedef struct as_delegation_stats {
    uint64_t token_reviews, token_cache_hits;
    uint64_t access_reviews, access_cache_hits;
} as_delegation_stats;
void as_delegation_stats_get(as_delegation *d, as_delegation_stats *out);

#endif

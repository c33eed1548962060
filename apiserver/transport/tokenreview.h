/*
 * tokenreview.h - bearer-token authentication delegated to kube-apiserver: one TokenReview
 * (authentication.k8s.io/v1) per unknown token, answers cached (docs/api.md §9.6).
 *
 * A token is POSTed as
 *   {"apiVersion":"authentication.k8s.io/v1","kind":"TokenReview","spec":{"token":"..."}}
 * (no audiences). status.authenticated true gives the user of status.user (username, uid, groups,
 * extra) plus system:authenticated; false is a rejection. Both answers are cached for one TTL
 * (kube's --authentication-token-webhook-cache-ttl, 10 s by default), keyed by the SHA-256 of the
 * token; a failed call is not cached, so the next request asks again.
 *
 * Two entry points, for the two threads of the server: tr_lookup_cached() never blocks (the
 * service thread calls it for every request with a token) and tr_authenticate() makes the HTTP
 * call when needed (a worker thread, while the request is parked).
 *
 * The token is a secret: it is never logged, and every copy this module makes is wiped
 * (OPENSSL_cleanse) before it is freed. Every function is thread-safe.
 */
#ifndef FOO_APISERVER_TOKENREVIEW_H
#define FOO_APISERVER_TOKENREVIEW_H

#include "apiserver/transport/authn.h"
#include "client/rest.h"
#include "common/apierr.h"
#include "common/clock.h"

#include <stddef.h>
#include <stdint.h>

#define TR_DEFAULT_TTL_MS 10000 /* --authentication-token-webhook-cache-ttl default */

typedef struct tr_webhook tr_webhook;

typedef struct tr_stats {
    uint64_t calls;  /* TokenReviews POSTed (failed ones included) */
    uint64_t hits;   /* answers taken from the cache */
    uint64_t misses; /* lookups the cache could not answer */
} tr_stats;

/*
 * A TokenReview authenticator calling through client (borrowed: it must outlive the result; its
 * timeouts are the call's), caching answers for ttl_ms (0 = no caching) in at most cache_size
 * entries (0 = TTL_CACHE_DEFAULT_ENTRIES). clock: NULL = clk_system(); borrowed. Never fails.
 */
tr_webhook *tr_new(kc_client *client, uint64_t ttl_ms, clk_t *clock, size_t cache_size);

/* Frees w and its cache. No call may be running. NULL is a no-op. */
void tr_free(tr_webhook *w);

/*
 * The cache alone; never blocks on the network (only on the cache's lock). token is len bytes
 * (not necessarily NUL-terminated; NUL bytes allowed). Returns:
 *   0        authenticated: *out = the user (with system:authenticated), a shared read-only
 *            reference the caller drops with authn_user_free();
 *   -EACCES  the token was rejected (cached): answer 401; *out = NULL;
 *   -ENOENT  not in the cache: call tr_authenticate() on a worker thread; *out = NULL.
 */
int tr_lookup_cached(tr_webhook *w, const char *token, size_t len, authn_user **out);

/*
 * The full lookup: the cache, then, on a miss, one blocking TokenReview through the client, whose
 * answer is cached. Returns 0 (*out as in tr_lookup_cached) or -EACCES (rejected: 401; err, when
 * given, holds a 401 Unauthorized naming status.error when the reviewer gave one), or, when the
 * call failed, -EIO (transport failure, non-2xx answer, credentials) or -EPROTO (a 2xx answer
 * that is not a TokenReview with a status, or authenticated without a username), with err (may
 * be NULL) saying why for the log. Failures are not cached; the caller answers 401 to them too.
 * *out is NULL on every failure. Blocks for up to the client's request timeout. Calls for the same
 * token made while its review runs wait for that review and share its result (one call).
 */
int tr_authenticate(tr_webhook *w, const char *token, size_t len, authn_user **out, api_error *err);

/* A snapshot of the counters. */
void tr_stats_get(tr_webhook *w, tr_stats *out);

#endif

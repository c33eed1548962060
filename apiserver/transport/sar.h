/*
 * sar.h - authorization delegated to kube-apiserver: one SubjectAccessReview
 * (authorization.k8s.io/v1) per distinct set of request attributes, decisions cached
 * (docs/api.md §9.6).
 *
 * The review's spec carries the user (user, uid, groups, extra) and either resourceAttributes
 * {verb, group, version, resource, subresource, name, namespace} or nonResourceAttributes
 * {path, verb}. status.allowed true allows; anything else (status.denied, or no opinion) denies,
 * with status.reason as the reason. Allowed decisions are cached for
 * --authorization-webhook-cache-authorized-ttl, denied ones for -unauthorized-ttl (10 s each by
 * default), keyed by the SHA-256 of the spec's JSON, which is built deterministically (extra keys
 * sorted, as Go marshals a map). A failed call is not cached; the caller denies (403).
 *
 * Who bypasses the review (system:masters, the always-allow paths) is the caller's business.
 * As in tokenreview.h: az_authorize_cached() never blocks (service thread), az_authorize() may
 * call (worker thread). Every function is thread-safe.
 */
#ifndef FOO_APISERVER_SAR_H
#define FOO_APISERVER_SAR_H

#include "apiserver/transport/authn.h"
#include "client/rest.h"
#include "common/apierr.h"
#include "common/clock.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AZ_DEFAULT_TTL_MS 10000 /* both --authorization-webhook-cache-*-ttl defaults */

/*
 * What is being asked (kube's authorizer.Attributes). Borrowed strings; NULL reads as "".
 * A resource request uses verb (get, list, watch, create, update, patch, delete,
 * deletecollection) and group ("" = core) .. namespace ("" = cluster scope); a non-resource
 * request uses path and verb (the lower-case HTTP method).
 */
typedef struct az_attributes {
    const authn_user *user; /* required */
    bool resource_request;
    const char *verb;
    const char *group;
    const char *version;
    const char *resource;
    const char *subresource;
    const char *name;
    const char *namespace;
    const char *path;
} az_attributes;

/* A decision. reason is owned ("" when the reviewer gave none, never NULL after a success). */
typedef struct az_decision {
    bool allowed;
    char *reason;
} az_decision;

/* Frees d->reason and zeroes d. */
void az_decision_clear(az_decision *d);

typedef struct az_authorizer az_authorizer;

typedef struct az_stats {
    uint64_t calls;  /* SubjectAccessReviews POSTed (failed ones included) */
    uint64_t hits;   /* decisions taken from the cache */
    uint64_t misses; /* lookups the cache could not answer */
} az_stats;

/*
 * A SubjectAccessReview authorizer calling through client (borrowed, must outlive it), caching
 * allowed decisions for allowed_ttl_ms and denied ones for denied_ttl_ms (0 = not cached) in at
 * most cache_size entries (0 = TTL_CACHE_DEFAULT_ENTRIES). clock: NULL = clk_system(); borrowed.
 * Never fails.
 */
az_authorizer *az_new(kc_client *client, uint64_t allowed_ttl_ms, uint64_t denied_ttl_ms,
                      clk_t *clock, size_t cache_size);

/* Frees a and its cache. No call may be running. NULL is a no-op. */
void az_free(az_authorizer *a);

/*
 * The cache alone; never blocks on the network. Returns 0 with *out filled (caller clears it) when
 * a decision for these attributes is cached, else -ENOENT (*out zeroed): call az_authorize() on a
 * worker thread.
 */
int az_authorize_cached(az_authorizer *a, const az_attributes *attrs, az_decision *out);

/*
 * The full lookup: the cache, then, on a miss, one blocking SubjectAccessReview whose decision is
 * cached. Returns 0 with *out filled (caller clears it), or, when the call failed, -EIO (transport
 * failure, non-2xx answer, credentials) or -EPROTO (a 2xx answer without a status), with err
 * (may be NULL) saying why for the log and *out zeroed: the caller denies (403). Blocks for up to
 * the client's request timeout.
 */
int az_authorize(az_authorizer *a, const az_attributes *attrs, az_decision *out, api_error *err);

/* A snapshot of the counters. */
void az_stats_get(az_authorizer *a, az_stats *out);

/*
 * The SubjectAccessReview body for attrs, compact JSON, always the same bytes for the same
 * attributes (the cache key is the SHA-256 of its spec). Caller frees. Pure; never fails.
 */
char *az_review_json(const az_attributes *attrs);

/*
 * Fills e with kube's 403 Forbidden for attributes that were denied (responsewriters.Forbidden):
 * reason "Forbidden", details {name, group, kind: resource}, and the message
 *   foos.demo.example.com "x" is forbidden: User "alice" cannot get resource "foos" in API
 *   group "demo.example.com" at the cluster scope
 * (no `"x" ` without a name; `resource "foos/status"` for a subresource; `in the namespace
 * "ns"` when namespaced; `foos is forbidden` in the core group) or, for a non-resource request,
 *   forbidden: User "alice" cannot get path "/metrics"
 * followed by ": <reason>" when reason is neither NULL nor empty. Strings are quoted as Go's %q
 * does. Replaces any error e held.
 */
void az_forbidden(api_error *e, const az_attributes *attrs, const char *reason);

#endif

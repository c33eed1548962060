/*
 * ttl_cache.h - a bounded, thread-safe map from a 32-byte key (a SHA-256 digest) to a value that
 * expires on its own deadline: the memory of the TokenReview and SubjectAccessReview webhooks
 * (docs/api.md §9.6).
 *
 * Bounded because the keys come from clients: an attacker sending random bearer tokens makes one
 * entry per token, so the map holds at most max_entries; inserting into a full map first drops
 * the expired entries, then the oldest one (insertion order).
 *
 * Values are opaque to the cache. The caller gives two callbacks: dup, which makes what a lookup
 * hands out (a copy, or one more reference), and free, which releases a value or what dup made.
 * A lookup therefore returns something the caller owns even if another thread evicts the entry
 * at the same moment. Both callbacks run with the cache's lock held: keep them short and never
 * call back into the cache from them.
 *
 * Time comes from the clk_t given (monotonic reading), so tests expire entries by advancing a
 * fake clock. Every function is thread-safe.
 */
#ifndef FOO_APISERVER_TTL_CACHE_H
#define FOO_APISERVER_TTL_CACHE_H

#include "common/clock.h"

#include <stddef.h>
#include <stdint.h>

#define TTL_CACHE_KEY_LEN         32   /* bytes of a key: one SHA-256 digest */
#define TTL_CACHE_DEFAULT_ENTRIES 4096 /* max_entries when 0 is given */

typedef struct ttl_cache ttl_cache;

typedef struct ttl_cache_ops {
    /* Returns what a hit hands to the caller: a deep copy of value, or value itself with one
       more reference. Must not fail (allocation failure aborts, common/alloc.h). */
    void *(*dup)(void *value);
    /* Releases a stored value (on eviction, replacement, expiry or ttl_cache_free). */
    void (*free)(void *value);
} ttl_cache_ops;

typedef struct ttl_cache_stats {
    uint64_t hits;      /* lookups that found a live entry */
    uint64_t misses;    /* lookups that found nothing, or an expired entry */
    uint64_t evictions; /* live entries dropped to make room (the oldest of a full cache) */
    size_t entries;     /* entries held now (expired ones not yet dropped included) */
} ttl_cache_stats;

/*
 * A new empty cache of at most max_entries entries (0 = TTL_CACHE_DEFAULT_ENTRIES). clock (NULL =
 * clk_system()) and ops are borrowed and must outlive the cache; ops->dup and ops->free are
 * required. Never fails (allocation failure aborts).
 */
ttl_cache *ttl_cache_new(size_t max_entries, clk_t *clock, const ttl_cache_ops *ops);

/* Frees every value (ops->free) and the cache. No other call may be running. NULL is a no-op. */
void ttl_cache_free(ttl_cache *c);

/*
 * Looks key up. Returns 0 with *out = ops->dup(value) (the caller owns it and releases it the way
 * ops->free would) when a live entry exists, or -ENOENT (*out = NULL) when there is none or it
 * has expired (an expired entry is dropped on the way). Counts a hit or a miss.
 */
int ttl_cache_get(ttl_cache *c, const unsigned char key[TTL_CACHE_KEY_LEN], void **out);

/*
 * Stores value under key for ttl_ms milliseconds from now, taking ownership of value (released
 * with ops->free when it leaves the cache). An existing entry of the same key is replaced (its
 * value freed) and becomes the newest. ttl_ms == 0 stores nothing and frees value at once (a
 * zero TTL disables caching, as kube's flags do). A full cache first drops its expired entries,
 * then, if still full, its oldest entry.
 */
void ttl_cache_put(ttl_cache *c, const unsigned char key[TTL_CACHE_KEY_LEN], void *value,
                   uint64_t ttl_ms);

/* A consistent snapshot of the counters. */
void ttl_cache_stats_get(ttl_cache *c, ttl_cache_stats *out);

/* The key of len bytes of data: their SHA-256 digest (common/sha256.h). A pure function; never
   fails (an OpenSSL without SHA-256 aborts the process, as running out of memory does). */
void ttl_cache_key(const void *data, size_t len, unsigned char key[TTL_CACHE_KEY_LEN]);

#endif

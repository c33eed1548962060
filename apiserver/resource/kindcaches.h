/*
 * kindcaches.h - one watch cache per kind of the registry (docs/design.md §4.4): the store's
 * committed events are routed by key to the cache of their kind, and every other cache advances
 * to the same revision, so a Foo watcher neither receives nor is woken for a Lease renewal,
 * while lists and bookmarks of every kind carry the store's current revision.
 *
 * Threads: built before the store starts; as_caches_apply and the observer's callbacks run on
 * the store's writer (or watch) thread;
 * as_caches_of and the wc_* readers on any thread.
 */
#ifndef FOO_APISERVER_KINDCACHES_H
#define FOO_APISERVER_KINDCACHES_H

#include "apiserver/resource/registry.h"
#include "apiserver/resource/watchcache.h"
#include "storage/storage.h"

typedef struct as_caches as_caches;

/* One empty cache per entry of reg (which must outlive the result), each with opt. */
as_caches *as_caches_new(const as_registry *reg, const wc_options *opt);
/* Frees every cache (blobs still referenced elsewhere stay valid). NULL is a no-op. */
void as_caches_free(as_caches *cs);

/* The cache of r, an entry of the registry; NULL for a resource of another registry. */
wc_cache *as_caches_of(const as_caches *cs, const as_resource *r);

/*
 * st_sink_fn (storage.h), ctx = the as_caches: applies the event to the cache of the kind whose
 * key prefix the key has (wc_apply) and advances every other cache to rev (wc_advance). A key of
 * no served kind (stored by a run that served more kinds, e.g. --standalone's built-ins) only
 * advances the caches.
 */
void as_caches_apply(void *ctx, st_event_type type, const char *key, const char *json, size_t len,
                     uint64_t rev);

/* Startup, replaying the store's history (st_history): the event goes to its kind's cache only
   (wc_apply keeps it as history); the other caches are left alone. */
void as_caches_replay(void *ctx, st_event_type type, const char *key, const char *json, size_t len,
                      uint64_t rev);
/* Startup, as wc_load: one stored object into its kind's cache (other keys are skipped). */
void as_caches_load(as_caches *cs, const char *key, const char *json, size_t len, uint64_t rev);
/* Startup, as wc_set_rev and wc_set_oldest, for every cache. */
void as_caches_set_rev(as_caches *cs, uint64_t rev);
void as_caches_set_oldest(as_caches *cs, uint64_t oldest);
/*
 * The store's observer (storage.h st_observer) for these caches, ctx = cs:
 *   progress: every cache advances to rev (wc_advance), so waiting consistent reads proceed;
 *   replace_begin/replace_kv/replace_end: each key goes to its kind's staging set and, at the
 *     end, every cache swaps in its snapshot at rev (wc_replace_*): its history is dropped and
 *     a watcher positioned before rev gets 410 Expired and relists.
 * Called on the store's sink thread, in order with as_caches_apply.
 */
st_observer as_caches_observer(as_caches *cs);

/* wc_set_notify for every cache. */
void as_caches_set_notify(as_caches *cs, void (*fn)(void *ctx), void *ctx);

/* Objects stored under prefix in the cache of r (wc_count). */
size_t as_caches_count(const as_caches *cs, const as_resource *r, const char *prefix);

#endif

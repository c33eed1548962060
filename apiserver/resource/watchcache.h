/*
 * watchcache.h - every current object in memory as serialized JSON, plus a ring of recent events.
 *
 * One cache per kind (kindcaches.h), keyed by storage key ("/demo.example.com/foos/NAME"),
 * ordered by key, so a namespace's objects are one contiguous range (list = prefix range, sorted
 * by namespace and name). Each mirrors the store's single global revision: wc_rev() is the
 * revision of the last event the store committed, whatever kind it touched (wc_advance), so a
 * watcher of one kind never wakes for another kind's events.
 *
 * Objects are immutable, reference-counted blobs: readers take references under a short lock and
 * then splice the bytes into responses without holding it (no re-serialization on GET/LIST).
 *
 * History: the ring keeps at least `min_events` events and at least `min_age_ms` of them (older
 * events are dropped only when both bounds are exceeded), and never more than `max_events`.
 * A watcher starting after revision R can be served iff R >= wc_oldest_rev(); else 410 Expired.
 *
 * Threads: one writer (the storage writer/sink thread) calls wc_apply; any number of readers call
 * the rest concurrently. All functions are thread-safe.
 */
#ifndef FOO_APISERVER_WATCHCACHE_H
#define FOO_APISERVER_WATCHCACHE_H

#include "common/clock.h"
#include "storage/storage.h"

#include <cjson/cJSON.h>

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct wc_blob {
    atomic_int refs;
    _Atomic(cJSON *) labels; /* metadata.labels parsed on first use (wc_blob_labels); owned */
    uint64_t rev;            /* mod revision of this state (for DELETED: the deletion's revision) */
    size_t len;              /* bytes of JSON in data */
    char *key;               /* points into the same allocation */
    char data[];             /* JSON, NUL-terminated */
} wc_blob;

/*
 * Reference counting of blobs (atomic; any thread). wc_blob_ref returns b. wc_blob_unref frees at
 * zero; NULL is ignored by both. A blob never changes once published, so a reference stays valid
 * and readable after the cache replaced or removed the object, and after wc_free.
 */
wc_blob *wc_blob_ref(wc_blob *b);
void wc_blob_unref(wc_blob *b);

/*
 * The object's metadata.labels (an object, possibly empty), parsed from its JSON the first time
 * anybody asks and kept with the blob, so that the label selectors of many watchers and lists do
 * not each parse the whole object again. Borrowed: valid while the caller holds a reference.
 * Thread-safe (two first callers may both parse; one result is kept, the other freed).
 */
const cJSON *wc_blob_labels(wc_blob *b);

typedef struct wc_event {
    st_event_type type;
    uint64_t rev;
    wc_blob *obj;  /* new state (DELETED: final state); the event holds a reference */
    wc_blob *prev; /* previous state, NULL for ADDED; lets selector watches emit DELETED for an
                      object that stops matching */
} wc_event;

typedef struct wc_options {
    int min_events;     /* default 1000 */
    int64_t min_age_ms; /* default 5 minutes */
    int max_events;     /* hard bound; default 20000 */
    clk_t *clock;       /* default clk_system() */
} wc_options;

/* Defaults, in one place. */
wc_options wc_defaults(void);

typedef struct wc_cache wc_cache;

/*
 * Creates an empty cache (rev 0, oldest 0). opt NULL = wc_defaults(); a NULL clock means
 * clk_system(), max_events <= 0 the default, min_events is clamped to [0, max_events] and a
 * negative min_age_ms to 0. The clock must outlive the cache. Never returns NULL: locks that
 * cannot be initialized (only for want of resources) abort, like running out of memory.
 */
wc_cache *wc_new(const wc_options *opt);
/* Frees the cache and its references; blobs still referenced elsewhere stay valid. NULL is a
   no-op. No other call may run concurrently or afterwards. */
void wc_free(wc_cache *c);

/*
 * Startup, before any reader: inserts one object (from st_load), then wc_set_rev() with the
 * store's revision. Events replayed from st_history go through wc_apply as usual; call
 * wc_set_oldest() after that with the oldest servable revision.
 */
void wc_load(wc_cache *c, const char *key, const char *json, size_t len, uint64_t mod_rev);
/* wc_load copies key and json (a later load of the same key replaces it); it touches neither
   the revision nor the ring. wc_set_rev sets wc_rev(); while the ring is empty it also raises
   wc_oldest_rev() to rev (the loaded state is the first servable point). */
void wc_set_rev(wc_cache *c, uint64_t rev);
/*
 * Sets wc_oldest_rev() (up or down), but never below the revision of an event already trimmed
 * from the ring. The caller vouches that the ring holds every event above oldest_rev.
 */
void wc_set_oldest(wc_cache *c, uint64_t oldest_rev);

/*
 * Applies one committed event (signature matches st_sink_fn, ctx = the cache): replaces or
 * removes the object, appends to the ring, trims it, advances wc_rev, then calls the notify hook.
 * The event's obj is a copy of json with blob rev = rev; prev is the replaced or removed blob.
 *
 * Replay: an event with rev <= wc_rev() applied before any newer ("live") event is history: it
 * goes into the ring (prev = the state replayed before it for that key, else NULL) and leaves
 * the objects and wc_rev() alone. After live events, or at or below the newest ring event, such
 * an event is out of order: it is ignored with a warning.
 */
void wc_apply(void *cache, st_event_type type, const char *key, const char *json, size_t len,
              uint64_t rev);

/*
 * Raises wc_rev() to rev (never lowers it) without an event: the store committed revision rev for
 * another kind (one cache per kind, kindcaches.h). Lists and bookmarks then carry the store's
 * revision, as kube's do, and a later event of this kind is live, not replay. Does not call the
 * notify hook. Writer thread, like wc_apply.
 */
void wc_advance(wc_cache *c, uint64_t rev);

/*
 * Replacing the whole state (a backend whose event stream broke past repair: storage.h
 * st_observer.replace_*): wc_replace_begin starts an empty staging set, wc_replace_load adds
 * one object to it (as wc_load; keys in any order), and wc_replace_end(rev) swaps it in at once:
 * readers see either the old state or the new one, never a mix. wc_replace_end also drops every
 * event of the ring and makes rev both wc_rev() and wc_oldest_rev(), so a watcher positioned
 * before rev gets 410 Expired (wc_events_since returns -1) and relists; then it calls the
 * notify hook, which wakes the watchers to notice. A wc_replace_begin while a replacement is
 * staged starts it over. Writer thread, like wc_apply.
 */
void wc_replace_begin(wc_cache *c);
void wc_replace_load(wc_cache *c, const char *key, const char *json, size_t len, uint64_t mod_rev);
void wc_replace_end(wc_cache *c, uint64_t rev);

/*
 * Waits until wc_rev() >= rev, for at most timeout_ms (real monotonic time, even when the cache
 * has a fake clock: nothing else could wake the wait). Returns true when the cache reached rev
 * (at once when it already has), false at the deadline. Blocks: never call it on the service
 * thread. Thread-safe; wc_apply, wc_advance, wc_set_rev and wc_replace_end wake it.
 */
bool wc_wait_rev(wc_cache *c, uint64_t rev, int timeout_ms);

/* Called after each wc_apply (on the writer thread, no lock held, so it may call the readers);
   e.g. wakes the HTTP loop. fn NULL = none. Not called for ignored out-of-order events. */
void wc_set_notify(wc_cache *c, void (*fn)(void *ctx), void *ctx);

/* Current object for key, with a reference the caller must drop; NULL if absent. O(log n). */
wc_blob *wc_get(wc_cache *c, const char *key);

/*
 * Snapshot of every object whose key starts with prefix, in key order, starting after the key
 * `after` (NULL = from the start), at most `limit` (0 = all). *out is a malloc'd array of
 * references (free with wc_snapshot_free). *rev receives the revision of the snapshot, and
 * *remaining how many matching objects follow the returned ones. Returns the count.
 */
size_t wc_list(wc_cache *c, const char *prefix, const char *after, size_t limit, wc_blob ***out,
               uint64_t *rev, size_t *remaining);
/* (prefix NULL = "", rev and remaining may be NULL, *out is NULL when the count is 0.)
   wc_snapshot_free drops the n references and frees the array; NULL is fine. */
void wc_snapshot_free(wc_blob **items, size_t n);

/*
 * Like wc_list, but as the objects were at revision `at` (<= wc_rev()): the current objects with
 * the changes after `at` undone from the event ring. This is what keeps the pages of a paginated
 * list consistent with its first page. Returns the count, or -1 when the ring no longer reaches
 * back to `at` (the caller answers 410 Expired).
 */
ptrdiff_t wc_list_at(wc_cache *c, const char *prefix, const char *after, size_t limit, uint64_t at,
                     wc_blob ***out, size_t *remaining);

/*
 * Copies (with references) up to max events with revision > after into out, in order.
 * Returns the count (0 = nothing new yet), or -1 when `after` is older than the retained
 * history (the caller answers 410 Expired). Free each event with wc_event_release.
 */
int wc_events_since(wc_cache *c, uint64_t after, wc_event *out, int max);
/* Drops the event's references and NULLs them; NULL ev is a no-op. */
void wc_event_release(wc_event *ev);

uint64_t wc_rev(wc_cache *c);                     /* revision of the last applied event */
uint64_t wc_oldest_rev(wc_cache *c);              /* watches from revisions below this get 410 */
size_t wc_count(wc_cache *c, const char *prefix); /* objects under prefix, O(log n) */

#endif

/*
 * watchcache.h - every current object in memory as serialized JSON, plus a ring of recent events.
 *
 * One cache holds every resource, keyed by storage key ("/demo.example.com/foos/NAME"), ordered
 * by key, so a resource's objects are one contiguous range (list = prefix range, sorted by name).
 * It mirrors the store's single global revision: wc_rev() is the revision of the last applied
 * event, whatever resource it touched.
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

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

typedef struct wc_blob {
    atomic_int refs;
    uint64_t rev;   /* mod revision of this state (for DELETED: the deletion's revision) */
    size_t len;     /* bytes of JSON in data */
    char *key;      /* points into the same allocation */
    char data[];    /* JSON, NUL-terminated */
} wc_blob;

/* Reference counting of blobs. wc_blob_unref frees at zero; NULL is ignored. */
wc_blob *wc_blob_ref(wc_blob *b);
void wc_blob_unref(wc_blob *b);

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
    int max_events;     /* hard bound; default 100000 */
    clk_t *clock;       /* default clk_system() */
} wc_options;

/* Defaults, in one place. */
wc_options wc_defaults(void);

typedef struct wc_cache wc_cache;

wc_cache *wc_new(const wc_options *opt);
void wc_free(wc_cache *c);

/*
 * Startup, before any reader: inserts one object (from st_load), then wc_set_rev() with the
 * store's revision. Events replayed from st_history go through wc_apply as usual; call
 * wc_set_oldest() after that with the oldest servable revision.
 */
void wc_load(wc_cache *c, const char *key, const char *json, size_t len, uint64_t mod_rev);
void wc_set_rev(wc_cache *c, uint64_t rev);
void wc_set_oldest(wc_cache *c, uint64_t oldest_rev);

/*
 * Applies one committed event (signature matches st_sink_fn, ctx = the cache): replaces or
 * removes the object, appends to the ring, trims it, advances wc_rev, then calls the notify hook.
 */
void wc_apply(void *cache, st_event_type type, const char *key, const char *json, size_t len,
              uint64_t rev);

/* Called after each wc_apply (on the writer thread); e.g. wakes the HTTP loop. */
void wc_set_notify(wc_cache *c, void (*fn)(void *ctx), void *ctx);

/* Current object for key, with a reference the caller must drop; NULL if absent. */
wc_blob *wc_get(wc_cache *c, const char *key);

/*
 * Snapshot of every object whose key starts with prefix, in key order, starting after the key
 * `after` (NULL = from the start), at most `limit` (0 = all). *out is a malloc'd array of
 * references (free with wc_snapshot_free). *rev receives the revision of the snapshot, and
 * *remaining how many matching objects follow the returned ones. Returns the count.
 */
size_t wc_list(wc_cache *c, const char *prefix, const char *after, size_t limit, wc_blob ***out,
               uint64_t *rev, size_t *remaining);
void wc_snapshot_free(wc_blob **items, size_t n);

/*
 * Copies (with references) up to max events with revision > after into out, in order.
 * Returns the count (0 = nothing new yet), or -1 when `after` is older than the retained
 * history (the caller answers 410 Expired). Free each event with wc_event_release.
 */
int wc_events_since(wc_cache *c, uint64_t after, wc_event *out, int max);
void wc_event_release(wc_event *ev);

uint64_t wc_rev(wc_cache *c);        /* revision of the last applied event */
uint64_t wc_oldest_rev(wc_cache *c); /* watches from revisions below this get 410 */
size_t wc_count(wc_cache *c, const char *prefix);

#endif

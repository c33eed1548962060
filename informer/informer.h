/*
 * informer.h - the controller's cache of one kind: reflector (list + watch), indexed store and
 * shared informer with event handlers (docs/design.md §4.10, docs/controller-machinery.md §3, §4).
 *
 * Data flow: a reflector thread lists (pages of 500) or watch-lists the collection, then watches
 * from the list's resourceVersion; every object is turned into a compact immutable inf_obj
 * (transform applied, e.g. managedFields dropped, then stored as minified JSON plus the few
 * metadata fields the machinery reads) and put in the inf_store; the informer then calls the
 * registered handlers on its own thread, in event order.
 *
 * Guarantees to handlers (stronger than client-go's, so handlers never need to cast or guess):
 *   - on_add is called only for a key the store did not hold, on_update only for a key it held
 *     (old = the previous object), on_delete only for a key it held; so for every key the calls
 *     alternate add (update)* delete, even across relists, reconnects and server restarts.
 *   - A relist (after 410 Gone, an error or a server restart) swaps the store atomically and
 *     reports the difference: on_update for kept keys, on_add for new ones, and
 *     on_delete(final_state_unknown = true) with the last known object for keys that vanished
 *     while the informer was not watching.
 *
 * Time: every timer (backoff, short-watch guard, resync) reads the injectable clock, and every
 * pause goes through an injectable wait function, so unit tests drive them with a fake clock.
 *
 * Errors (docs/design.md §4.8): negative errno-style codes; a constructor returns NULL and fills
 * an api_error (400 BadRequest for bad options, with a message saying which). Allocation failures
 * abort (common/alloc.h).
 */
#ifndef FOO_INFORMER_INFORMER_H
#define FOO_INFORMER_INFORMER_H

#include "client/rest.h"
#include "client/wswatch.h"
#include "common/apierr.h"
#include "common/clock.h"

#include <cjson/cJSON.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- defaults, in one place (client-go's numbers: docs/controller-machinery.md §3) ---- */

#define INF_DEFAULT_PAGE_SIZE           500
#define INF_DEFAULT_BACKOFF_INITIAL_MS  800
#define INF_DEFAULT_BACKOFF_MAX_MS      30000
#define INF_DEFAULT_BACKOFF_FACTOR      2.0
#define INF_DEFAULT_BACKOFF_JITTER      1.0
#define INF_DEFAULT_BACKOFF_RESET_MS    120000
#define INF_DEFAULT_WATCH_TIMEOUT_MIN_S 300
#define INF_DEFAULT_WATCH_TIMEOUT_MAX_S 600
/* The local idle deadline is timeoutSeconds plus this grace (kube-rs #1945). */
#define INF_DEFAULT_IDLE_GRACE_MS 5000
/* A watch closing sooner than this with no event is an error ("very short watch"). */
#define INF_DEFAULT_SHORT_WATCH_MS 1000
/* client-go's minimum resync period. */
#define INF_MIN_RESYNC_MS 1000

/* Names of the built-in indexes of every store. */
#define INF_INDEX_NAMESPACE  "namespace"
#define INF_INDEX_CONTROLLER "controller-uid"

/* ---------------------------------------------------------------------------------------------
 * inf_obj: one cached object, compact and immutable, shared by reference counting.
 * ------------------------------------------------------------------------------------------- */

typedef struct inf_obj inf_obj;

/*
 * Transform hook, applied to every object as it arrives (list page, watch event) before it is
 * compacted: edit obj in place to drop what the cache does not need. Runs on the informer's thread.
 */
typedef void (*inf_transform_fn)(void *ctx, cJSON *obj);

/*
 * The default transform: removes metadata.managedFields and the
 * kubectl.kubernetes.io/last-applied-configuration annotation (and metadata.annotations when it
 * becomes empty). ctx is unused. Thread-safe (touches only obj).
 */
void inf_transform_strip(void *ctx, cJSON *obj);

/*
 * Builds an object from a parsed API object: applies transform (if not NULL) to json in place,
 * extracts the metadata below and keeps the minified JSON. json stays owned by the caller.
 * Returns NULL when json is not an object with a non-empty string metadata.name. The result has
 * one reference. Thread-safe (touches only json).
 */
inf_obj *inf_obj_new(cJSON *json, inf_transform_fn transform, void *transform_ctx);

/* Takes one more reference; returns obj. Thread-safe (atomic count). NULL is allowed. */
inf_obj *inf_obj_ref(inf_obj *obj);
/* Drops one reference, freeing the object with the last one. Thread-safe. NULL is allowed. */
void inf_obj_unref(inf_obj *obj);

/*
 * Accessors. The strings live as long as the object; absent fields read as "" (never NULL).
 * Thread-safe: the object is immutable.
 *   key: "namespace/name", or "name" for a cluster-scoped object (client-go's MetaNamespaceKey).
 *   controller_*: the ownerReference with controller: true, if any.
 */
const char *inf_obj_key(const inf_obj *obj);
const char *inf_obj_namespace(const inf_obj *obj);
const char *inf_obj_name(const inf_obj *obj);
const char *inf_obj_uid(const inf_obj *obj);
const char *inf_obj_resource_version(const inf_obj *obj);
const char *inf_obj_controller_uid(const inf_obj *obj);
const char *inf_obj_controller_kind(const inf_obj *obj);
const char *inf_obj_controller_name(const inf_obj *obj);
const char *inf_obj_controller_api_version(const inf_obj *obj);
/* metadata.generation, 0 when absent. */
int64_t inf_obj_generation(const inf_obj *obj);
/* The compact (transformed, minified) JSON and its length; NUL-terminated. */
const char *inf_obj_json(const inf_obj *obj, size_t *len);
/* A fresh parse of the compact JSON, owned by the caller (cJSON_Delete). NULL only if corrupt. */
cJSON *inf_obj_parse(const inf_obj *obj);
/* Bytes this object occupies (header, strings and JSON), as counted in the store's stats. */
size_t inf_obj_size(const inf_obj *obj);

/* Drops the references of an array returned by the store and frees the array. NULL is fine. */
void inf_objs_free(inf_obj **objs, size_t n);

/* ---------------------------------------------------------------------------------------------
 * inf_store: thread-safe map key -> inf_obj with indexes.
 * ------------------------------------------------------------------------------------------- */

typedef struct inf_store inf_store;

/* The values an index function yields for one object; filled with inf_values_add. */
typedef struct inf_values inf_values;
/* Adds one index value (copied; "" and duplicates are ignored). */
void inf_values_add(inf_values *vals, const char *value);

/*
 * An index function: adds the index values of obj (zero or more). It must be pure (same object,
 * same values), because the store recomputes the values of the old object to unindex it. Called
 * with the store's write lock held or on a private map: it must not call into the store.
 */
typedef void (*inf_index_fn)(void *ctx, const inf_obj *obj, inf_values *vals);

/*
 * A store with the built-in indexes INF_INDEX_NAMESPACE (metadata.namespace; cluster-scoped
 * objects are not indexed) and INF_INDEX_CONTROLLER (uid of the controlling ownerReference).
 */
inf_store *inf_store_new(void);
/* Frees the store and drops its references. Not thread-safe: no other call may be running. */
void inf_store_free(inf_store *s);

/*
 * Adds a user-defined index. Call before the store holds objects (before the informer starts).
 * Returns 0, -EEXIST when the name is taken, -EBUSY when the store is not empty, -ENOSPC
 * beyond 16 indexes, -EINVAL without a name or function. Thread-safe (takes the write lock).
 */
int inf_store_add_index(inf_store *s, const char *name, inf_index_fn fn, void *ctx);

/* The object under key with a new reference (caller unrefs), or NULL. Thread-safe. */
inf_obj *inf_store_get(inf_store *s, const char *key);
/*
 * All objects (each with a new reference) in *out, in no particular order; returns the count.
 * *out is NULL when the store is empty; free with inf_objs_free. Thread-safe (a snapshot).
 */
size_t inf_store_list(inf_store *s, inf_obj ***out);
/*
 * The objects whose index `index` holds value, like inf_store_list. Returns 0 with *out NULL
 * when nothing matches or the index does not exist. Thread-safe.
 */
size_t inf_store_by_index(inf_store *s, const char *index, const char *value, inf_obj ***out);
/* Number of objects, and the sum of inf_obj_size over them. Thread-safe. */
size_t inf_store_count(inf_store *s);
size_t inf_store_bytes(inf_store *s);

/*
 * Writer side (used by the informer; public for tests and for stores fed by hand). Each call is
 * atomic for readers; concurrent writers are serialized, but the caller decides event order.
 *
 * upsert: stores obj under its key, taking the caller's reference; returns the object it
 * replaced (the caller now owns that reference) or NULL.
 * remove: removes key and returns the removed object (caller owns the reference) or NULL.
 */
inf_obj *inf_store_upsert(inf_store *s, inf_obj *obj);
inf_obj *inf_store_remove(inf_store *s, const char *key);

/* One difference found by inf_store_replace. old/new are borrowed for the callback only. */
typedef void (*inf_replace_fn)(void *ctx, const inf_obj *old, const inf_obj *new_obj);

/*
 * Replaces the whole content with objs (taking the n references; the array stays the caller's).
 * The new map and its indexes are built without the lock and swapped in under it, so a reader
 * sees either the old or the new content, never a mix. Then, outside the lock, fn (if not NULL)
 * is called once per difference, first for every new object in array order (old = the object it
 * replaced, or NULL for a new key), then for every key that is gone (new_obj = NULL, old = last
 * known object). When objs holds a key twice, the later one wins. Thread-safe for readers.
 */
void inf_store_replace(inf_store *s, inf_obj **objs, size_t n, inf_replace_fn fn, void *ctx);

/* ---------------------------------------------------------------------------------------------
 * Transport seam: how the reflector reaches the server. inf_transport_kc() is the real one
 * (kc_request / kc_watch); unit tests script a fake one.
 * ------------------------------------------------------------------------------------------- */

typedef struct inf_transport {
    /*
     * GET path. On a 2xx answer returns 0 with *body (malloc'd, NUL-terminated, caller frees)
     * and *len; else a negative code with *err filled as kc_request does (err->code = the HTTP
     * status, 0 for a transport failure).
     */
    int (*get)(void *ctx, const char *path, char **body, size_t *len, api_error *err);
    /* Streams a watch with kc_watch's contract (client/rest.h). */
    int (*watch)(void *ctx, const char *path, int idle_timeout_ms, kc_watch_fn fn, void *fn_ctx,
                 atomic_bool *cancel, api_error *err);
    void *ctx;
} inf_transport;

/* The transport over a REST client (borrowed; it must outlive the informer). */
inf_transport inf_transport_kc(kc_client *c);
/*
 * LISTs over w's REST client, watches over WebSocket on w's event loop (client/wswatch.h).
 * w is borrowed and must outlive the informer.
 */
inf_transport inf_transport_ws(kc_wswatch *w);

/*
 * Pause hook: wait ns nanoseconds unless stop is requested first. Returns false when the
 * reflector should stop. The default (NULL) waits on the informer's condition variable and is
 * woken by inf_stop(); tests pass one that advances a fake clock and returns at once.
 */
typedef bool (*inf_wait_fn)(void *ctx, uint64_t ns);

/* ---------------------------------------------------------------------------------------------
 * Options of a reflector / informer. Get the defaults with inf_options_defaults(), then set
 * path (required) and what you need.
 * ------------------------------------------------------------------------------------------- */

typedef struct inf_options {
    const char *path;           /* collection path, e.g. "/apis/demo.example.com/v1beta1/foos";
                                   copied */
    const char *label_selector; /* NULL or "" = everything; copied */
    const char *field_selector; /* NULL or "" = everything; copied */
    int page_size;              /* LIST limit; 0 = no paging */
    bool watch_list;            /* try watch-list (sendInitialEvents) first; falls back to LIST */
    int64_t resync_ms;          /* 0 = off; else re-deliver on_update(obj, obj) for every object
                                   this often (at least INF_MIN_RESYNC_MS) */
    inf_transform_fn transform; /* NULL = keep objects whole */
    void *transform_ctx;
    int backoff_initial_ms, backoff_max_ms, backoff_reset_ms;
    double backoff_factor, backoff_jitter;
    int watch_timeout_min_s, watch_timeout_max_s; /* timeoutSeconds drawn uniformly in range */
    int idle_grace_ms;
    int short_watch_ms;
    clk_t *clock;     /* NULL = clk_system() */
    inf_wait_fn wait; /* NULL = the informer's interruptible wait */
    void *wait_ctx;
    uint64_t seed;    /* jitter and timeout randomness; 0 = seeded from the clock and address */
    const char *name; /* for logs; NULL = path; copied */
} inf_options;

/* Defaults: client-go's numbers above, page 500, watch-list on, no resync, inf_transform_strip. */
inf_options inf_options_defaults(void);

/* ---------------------------------------------------------------------------------------------
 * Shared informer.
 * ------------------------------------------------------------------------------------------- */

/*
 * Event handlers. Each may be NULL. They run on the informer's thread, one at a time, in event
 * order; objects are borrowed for the call (inf_obj_ref to keep one). A handler may read the
 * store, but should return quickly (enqueue a key): the watch is not read while it runs.
 */
typedef struct inf_handlers {
    void (*on_add)(void *ctx, const inf_obj *obj);
    void (*on_update)(void *ctx, const inf_obj *old_obj, const inf_obj *new_obj);
    /* final_state_unknown: the delete was inferred by a relist; obj is the last known state. */
    void (*on_delete)(void *ctx, const inf_obj *obj, bool final_state_unknown);
    void *ctx;
} inf_handlers;

/* Counters for metrics and benchmarks; all cumulative since inf_informer_new. */
typedef struct inf_stats {
    uint64_t lists;       /* LIST requests (pages count one each) */
    uint64_t relists;     /* store replacements after the first */
    uint64_t watches;     /* watch requests, watch-lists included */
    uint64_t watch_lists; /* watch-list requests */
    uint64_t watch_list_fallbacks;
    uint64_t events_added, events_modified, events_deleted, bookmarks;
    uint64_t expired;          /* 410s seen (list, watch start or ERROR event) */
    uint64_t errors;           /* failures that led to a backoff */
    uint64_t short_watches;    /* watches ended by the short-watch guard */
    uint64_t stall_reconnects; /* watches dropped by the idle deadline */
    uint64_t backoff_ns_total; /* time spent waiting in backoff */
    uint64_t resyncs;
    uint64_t dispatched; /* handler deliveries (add/update/delete), resyncs included */
    size_t store_count, store_bytes;
    uint64_t elapsed_ns; /* clock time since inf_start (0 before), to turn counts into
                            rates: events/s = (added+modified+deleted) / elapsed */
} inf_stats;

typedef struct inf_informer inf_informer;

/*
 * A new informer over a REST client (borrowed, must outlive it). opt->path is required.
 * Returns NULL on bad options (no absolute path, a resync period out of range) and fills *err
 * with a 400 BadRequest saying which (err may be NULL; untouched on success).
 */
inf_informer *inf_informer_new(kc_client *c, const inf_options *opt, api_error *err);
/* The same over any transport (copied; its ctx is borrowed). */
inf_informer *inf_informer_new_transport(const inf_transport *t, const inf_options *opt,
                                         api_error *err);
/* Stops (if running) and frees the informer and its store. No other call may be running. */
void inf_informer_free(inf_informer *inf);

/*
 * Registers handlers (copied). Returns 0, or -EBUSY once the informer was started (client-go
 * replays the store to late handlers; here every handler must be known before the first event).
 * Not thread-safe against inf_start.
 */
int inf_add_handlers(inf_informer *inf, const inf_handlers *h);
/* The informer's store (owned by the informer). Add indexes before inf_start. Thread-safe. */
inf_store *inf_informer_store(inf_informer *inf);

/* Starts the informer's thread. Returns 0, -EALREADY, or -errno from pthread_create. */
int inf_start(inf_informer *inf);
/*
 * Stops the thread and joins it: cancels the watch (kc_watch notices within 100 ms) and any
 * wait. A LIST in flight is not interrupted (it ends at the client's request timeout at worst).
 * Idempotent. Call from a thread other than the informer's (never from a handler).
 */
void inf_stop(inf_informer *inf);
/* True once the first full list (or watch-list snapshot) is in the store and was delivered. */
bool inf_has_synced(inf_informer *inf);
/*
 * Waits (real time) until synced, stop or timeout_ms (< 0 = forever). Returns inf_has_synced().
 * For startup code and integration tests; timing logic never depends on it. Thread-safe.
 */
bool inf_wait_for_sync(inf_informer *inf, int timeout_ms);
/*
 * The resourceVersion the informer is synced to (last event or bookmark), malloc'd, or NULL
 * before the first sync. Thread-safe.
 */
char *inf_last_resource_version(inf_informer *inf);
/* Fills *out. Thread-safe (relaxed counters: each is exact, the set is not one snapshot). */
void inf_get_stats(inf_informer *inf, inf_stats *out);

/* ---------------------------------------------------------------------------------------------
 * Factory: one informer per (path, label selector, field selector), shared by every caller.
 * ------------------------------------------------------------------------------------------- */

typedef struct inf_factory inf_factory;

/* defaults (copied; path/selectors ignored) apply to every informer made; NULL = defaults. */
inf_factory *inf_factory_new(kc_client *c, const inf_options *defaults);
/* The same over any transport (copied; its ctx is borrowed and must outlive the factory), e.g.
 * inf_transport_ws() to run every informer's watch over WebSocket. */
inf_factory *inf_factory_new_transport(const inf_transport *t, const inf_options *defaults);
/*
 * The informer of (path, selectors), created on first request (owned by the factory). Returns
 * NULL on bad options, with *err filled as inf_informer_new says (err may be NULL). Thread-safe.
 */
inf_informer *inf_factory_informer(inf_factory *f, const char *path, const char *label_selector,
                                   const char *field_selector, api_error *err);
/* Starts every informer not yet started. Returns 0 or the first error. Thread-safe. */
int inf_factory_start(inf_factory *f);
/* Waits until every informer has synced; false on timeout (real time; < 0 = forever). */
bool inf_factory_wait_for_sync(inf_factory *f, int timeout_ms);
/* Stops every informer (joined). Thread-safe. */
void inf_factory_stop(inf_factory *f);
/* Stops and frees everything. No other call may be running. */
void inf_factory_free(inf_factory *f);

#endif

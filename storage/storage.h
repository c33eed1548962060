/*
 * storage.h - revisioned storage of serialized Kubernetes objects (the public face of storage/).
 *
 * Model (etcd's): a flat key space ("/demo.example.com/foos/NAME"), one global revision that
 * grows by one per successful write, and per key the revision of its last write (mod_rev), which
 * becomes metadata.resourceVersion. Writes are asynchronous: st_submit() queues a write and
 * returns at once; a writer thread batches every queued write into one transaction (group
 * commit, one fsync per batch), then, in revision order:
 *   1. calls the event sink once per successful write (ADDED/MODIFIED/DELETED),
 *   2. calls each write's done callback (successful or not).
 * So by the time a done callback runs, the sink (the watch cache) already shows the write: a
 * caller that got ST_ECONFLICT can re-read the cache and retry. Nothing here ever blocks the
 * caller's thread on disk.
 *
 * Backends: SQLite (st_sqlite_open, embedded default) and etcd v3 (st_etcd_open, storage/etcd.h:
 * several foo-apiserver replicas on one etcd). With etcd the sink is fed by an etcd watch, so
 * every replica's sink sees every replica's writes, once each and in revision order; a write's
 * done callback still runs only after the sink has shown it.
 */
#ifndef FOO_STORAGE_STORAGE_H
#define FOO_STORAGE_STORAGE_H

#include "common/apierr.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>

/* Result codes: 0 or a negative errno-style value. */
#define ST_OK        0
#define ST_EEXIST    (-EEXIST)    /* create of a key that exists */
#define ST_ENOENT    (-ENOENT)    /* update/delete of a missing key */
#define ST_ECONFLICT (-ESTALE)    /* expect_rev differs from the key's mod_rev */
#define ST_EIO       (-EIO)       /* the backend failed; the write did not happen */
#define ST_ECLOSED   (-ESHUTDOWN) /* submitted after st_close() began */
#define ST_EINVAL    (-EINVAL)    /* malformed write: no key, or obj is not a JSON object */
#define ST_ETOOLARGE (-EFBIG) /* create/update whose stored JSON would pass ST_MAX_OBJECT_BYTES */

/*
 * The largest object a backend stores, serialized, in bytes: etcd's default request limit
 * (1.5 MiB), which bounds kube's objects too. Every backend refuses a create or update past it
 * with ST_ETOOLARGE and consumes no revision; a delete is never refused for size.
 */
#define ST_MAX_OBJECT_BYTES (1536 * 1024)

typedef enum st_op { ST_CREATE, ST_UPDATE, ST_DELETE } st_op;
typedef enum st_event_type { ST_ADDED, ST_MODIFIED, ST_DELETED } st_event_type;

typedef struct st_write st_write;
typedef void (*st_done_fn)(st_write *w);

/*
 * One write. The caller allocates it (st_write_new), fills the inputs and submits it; storage owns
 * it until done() is called, after which the caller owns it again and frees it (st_write_free).
 */
struct st_write {
    /* inputs */
    st_op op;
    char *key;           /* owned */
    cJSON *obj;          /* owned. CREATE/UPDATE: the new object. DELETE: the object's final
                            state, reported in the DELETED event. Before storing, the writer
                            sets obj.metadata.resourceVersion to the new revision (a string). */
    uint64_t expect_rev; /* UPDATE/DELETE: the mod_rev the change was based on; 0 = any */
    st_done_fn done;     /* called on the writer thread; must not block */
    void *arg;           /* for the caller */
    /* outputs, valid in done() */
    int result;   /* ST_OK or an ST_E* code */
    uint64_t rev; /* revision of this write (ST_OK only) */
    char *value;  /* ST_OK: obj serialized as stored (with its resourceVersion); owned */
    size_t value_len;
    /* private to storage */
    st_write *next;
};

/*
 * Allocates a write with the given inputs: key is copied, obj's ownership is taken (obj may be NULL
 * for DELETE: the stored object is then reported as the final state). done, arg and the outputs
 * start zeroed; set done before st_submit(). Never returns NULL (out-of-memory aborts).
 */
st_write *st_write_new(st_op op, const char *key, cJSON *obj, uint64_t expect_rev);
/* Frees w with its key, obj and value. NULL is a no-op. Only the owner (see above) may call it. */
void st_write_free(st_write *w);

/*
 * Event sink, called on the writer thread (or the backend's watch thread) in strictly increasing
 * revision order, once per committed write. value is the serialized object (for DELETED: its final
 * state with the deletion's revision) and is only borrowed for the duration of the call.
 */
typedef void (*st_sink_fn)(void *ctx, st_event_type type, const char *key, const char *value,
                           size_t len, uint64_t rev);
/* Visitor for st_load: one call per stored key, in key order. value is borrowed. */
typedef void (*st_kv_fn)(void *ctx, const char *key, const char *value, size_t len,
                         uint64_t mod_rev);

typedef struct st_store st_store;

typedef struct st_sqlite_options {
    const char *path;     /* database file; created if missing */
    int synchronous_full; /* 1 (default in st_sqlite_defaults): fsync on every commit */
    int max_batch;        /* most writes per transaction; default 256 */
    int history_events;   /* events kept for st_history (survive restarts); default 10000 */
    int busy_timeout_ms;  /* how long a write waits for another process's lock; default 5000 */
} st_sqlite_options;

/* Defaults of the SQLite backend, in one place. */
st_sqlite_options st_sqlite_defaults(const char *path);

/*
 * Opens (creating if needed) a SQLite store in WAL mode. Returns NULL on failure with *err (must
 * not be NULL; untouched on success) filled (docs/design.md §4.8): a 400 BadRequest for invalid
 * options, else a 500 InternalError naming the file, the step that failed and SQLite's reason.
 * The writer thread is not started until st_start().
 */
st_store *st_sqlite_open(const st_sqlite_options *opt, api_error *err);

/*
 * Visits every key starting with prefix ("" = all) with its value, and returns the store's current
 * revision in *rev. Call before st_start() (not thread-safe with writes). Returns 0 or ST_EIO.
 */
int st_load(st_store *s, const char *prefix, st_kv_fn fn, void *ctx, uint64_t *rev);

/*
 * Replays the retained events with revision > after_rev through fn, in order, and returns in
 * *oldest the revision before the first retained event (watchers from a revision below it must
 * get 410 Expired). Call before st_start(). Returns 0 or ST_EIO.
 */
int st_history(st_store *s, uint64_t after_rev, st_sink_fn fn, void *ctx, uint64_t *oldest);

/* Sets the event sink; call before st_start(). */
void st_set_sink(st_store *s, st_sink_fn fn, void *ctx);

/*
 * What a backend whose events come from a remote stream (etcd) tells its observer beyond single
 * events. SQLite never calls these. Every member may be NULL. Called on the thread that calls the
 * sink, in order with the sink's calls.
 */
typedef struct st_observer {
    /* Every write up to rev has been delivered to the sink (an etcd progress notification): a
       cache may advance its revision to rev and send bookmarks for it. */
    void (*progress)(void *ctx, uint64_t rev);
    /* The event stream broke past repair (etcd compacted revisions not yet delivered): what the
       sink was told is replaced by a snapshot at rev: replace_begin(rev), replace_kv once per
       key in key order (mod_rev as in st_load), replace_end(rev). Events then continue from
       rev + 1. A cache drops what it held and its history: watchers positioned before rev must
       get 410 Expired and relist. */
    void (*replace_begin)(void *ctx, uint64_t rev);
    st_kv_fn replace_kv;
    void (*replace_end)(void *ctx, uint64_t rev);
    void *ctx;
} st_observer;

/* Sets the observer (copied); call before st_start(). */
void st_set_observer(st_store *s, const st_observer *obs);

/*
 * The consistent read point: the revision of the newest write acknowledged by any replica
 * before this call (etcd: a linearizable range; SQLite: st_current_rev, at once). A reader that
 * waits until its cache has reached *rev reflects every such write (kube's consistent read from
 * cache). Blocks for at most timeout_ms: never call it on an event-loop thread. Returns 0, or
 * ST_EIO / -ETIMEDOUT with *err (may be NULL) a 503 ServiceUnavailable or 504 Timeout naming the
 * backend's reason. Thread-safe.
 */
int st_sync_rev(st_store *s, int timeout_ms, uint64_t *rev, api_error *err);

/*
 * Whether the backend can serve writes now, for /readyz: 0, or a negative errno with *why (may
 * be NULL) a static string ("etcd unreachable"). Never blocks (it reports the state the
 * backend's own threads last saw). Thread-safe.
 */
int st_health(st_store *s, const char **why);

/* Starts the writer thread. Returns 0 or a negative errno. */
int st_start(st_store *s);

/*
 * Queues a write (w->done must be set). Thread-safe, never blocks on I/O. done() is always called
 * exactly once, with ST_ECLOSED (on the caller's thread, before st_submit returns) if the store is
 * closing. Writes submitted before st_start() wait for it (or for st_close(), which commits them).
 */
void st_submit(st_store *s, st_write *w);

/* The revision of the last committed write. Thread-safe. */
uint64_t st_current_rev(st_store *s);

/*
 * Counters since open, for tests and benchmarks: *commits = transactions committed, *writes =
 * writes that succeeded (ST_OK). writes / commits is the mean group-commit batch size.
 * Thread-safe; either pointer may be NULL.
 */
void st_stats(st_store *s, uint64_t *commits, uint64_t *writes);

/*
 * Commits every write already queued, stops the writer thread and closes the backend. After it
 * returns no callback runs. Not callable from a done callback.
 */
void st_close(st_store *s);

#endif

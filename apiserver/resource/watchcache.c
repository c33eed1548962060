/*
 * watchcache.c - every current object as a shared JSON blob, plus a ring of recent events.
 *
 * Data:
 *   - objs: an array of blob pointers sorted by key (strcmp order). Lookups, inserts and removals
 *     binary-search it; a resource's objects are one contiguous range, so LIST is two binary
 *     searches plus one reference per returned blob. Nothing here parses JSON.
 *   - ring: a circular array of events with the monotonic time each was applied, oldest first,
 *     grown by doubling up to max_events. Revisions in it strictly increase.
 *
 * Locking: `lock` (a writer-preferring rwlock) guards everything readers see: objs, ring, rev and
 * oldest_rev. It is held only for pointer work (binary searches, memmove, reference counting);
 * blobs are built before taking it and released after dropping it. `wmu` serializes writers
 * (wc_apply, wc_load, wc_set_*) and guards the writer-only fields, so the storage writer thread
 * is the only one that ever waits on it in practice. Order: wmu, then lock.
 *
 * Startup replay: after wc_load + wc_set_rev(R), st_history replays events with revisions <= R
 * through wc_apply. Those must not roll the objects back to older states, so an event at or below
 * wc_rev() that arrives before any live event only goes into the ring (its `prev` comes from a
 * shadow index of the states replayed so far). Once live events flow, such an event is a stale
 * duplicate and is dropped with a warning.
 *
 * Revision waits (wc_wait_rev, a consistent read waiting for the cache to catch up with the
 * store): the writer publishes each new revision in `pub_rev` and takes `revmu` to wake the
 * waiters only when some wait (`waiters`), so the common case with no waiter costs two atomic
 * operations. Both are sequentially consistent: a waiter registers, then reads pub_rev; the
 * writer stores pub_rev, then reads waiters; one of the two always sees the other.
 *
 * Replacement (wc_replace_*): the new objects are staged apart and swapped in under the lock,
 * with the ring emptied and the oldest servable revision raised to the snapshot's.
 */
#include "apiserver/resource/watchcache.h"

#include "common/alloc.h"
#include "common/log.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* Defaults (docs/design.md §4.4, docs/api.md D6: at least 1000 events and 5 minutes). */
#define WC_DEFAULT_MIN_EVENTS 1000
#define WC_DEFAULT_MIN_AGE_MS (5 * 60 * 1000)
#define WC_DEFAULT_MAX_EVENTS 20000 /* bounds memory: ~1 KiB per retained event */
/* First capacities; both arrays double from there (the ring up to max_events). */
#define WC_RING_INITIAL_CAP 64
#define WC_OBJS_INITIAL_CAP 64

/* ------------------------------------------------------------------------------------------ */
/* Blobs                                                                                        */

/* One allocation: header, JSON (NUL-terminated), then the key (NUL-terminated). refs = 1. */
static wc_blob *blob_new(const char *key, const char *json, size_t len, uint64_t rev)
{
    size_t klen = strlen(key);
    wc_blob *b = xmalloc(sizeof *b + len + 1 + klen + 1);
    atomic_init(&b->refs, 1);
    atomic_init(&b->labels, NULL);
    b->rev = rev;
    b->len = len;
    memcpy(b->data, json, len);
    b->data[len] = '\0';
    b->key = b->data + len + 1;
    memcpy(b->key, key, klen + 1);
    return b;
}

wc_blob *wc_blob_ref(wc_blob *b)
{
    if (b)
        atomic_fetch_add_explicit(&b->refs, 1, memory_order_relaxed);
    return b;
}

void wc_blob_unref(wc_blob *b)
{
    /* acq_rel: the freeing thread must see every write made by the other holders. */
    if (b && atomic_fetch_sub_explicit(&b->refs, 1, memory_order_acq_rel) == 1) {
        cJSON_Delete(atomic_load_explicit(&b->labels, memory_order_relaxed));
        free(b);
    }
}

const cJSON *wc_blob_labels(wc_blob *b)
{
    cJSON *labels = atomic_load_explicit(&b->labels, memory_order_acquire);
    if (labels)
        return labels;
    cJSON *obj = cJSON_ParseWithLength(b->data, b->len);
    cJSON *meta = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
    labels = cJSON_DetachItemFromObjectCaseSensitive(meta, "labels");
    cJSON_Delete(obj);
    if (!cJSON_IsObject(labels)) {
        cJSON_Delete(labels);
        labels = cJSON_CreateObject();
    }
    cJSON *expected = NULL;
    if (!atomic_compare_exchange_strong_explicit(&b->labels, &expected, labels,
                                                 memory_order_acq_rel, memory_order_acquire)) {
        cJSON_Delete(labels); /* another thread got there first */
        labels = expected;
    }
    return labels;
}

void wc_event_release(wc_event *ev)
{
    if (!ev)
        return;
    wc_blob_unref(ev->obj);
    wc_blob_unref(ev->prev);
    ev->obj = NULL;
    ev->prev = NULL;
}

/* ------------------------------------------------------------------------------------------ */
/* Sorted object array                                                                          */

typedef struct wc_objs {
    wc_blob **v; /* sorted by key; each entry holds one reference */
    size_t n;
    size_t cap;
} wc_objs;

typedef bool (*objs_before_fn)(const char *key, const char *arg, size_t arglen);

/* Index of the first object for which before() is false; before() must hold on a prefix. */
static size_t objs_partition(const wc_objs *o, objs_before_fn before, const char *arg,
                             size_t arglen)
{
    size_t lo = 0, hi = o->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (before(o->v[mid]->key, arg, arglen))
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static bool key_lt(const char *key, const char *arg, size_t arglen)
{
    return strcmp(key, arg) < 0;
}

static bool key_le(const char *key, const char *arg, size_t arglen)
{
    return strcmp(key, arg) <= 0;
}

/* Truncating to the prefix length keeps strcmp order, so this is monotone over the array. */
static bool key_le_prefix(const char *key, const char *prefix, size_t plen)
{
    return strncmp(key, prefix, plen) <= 0;
}

/* [*begin, *end) = the objects whose key starts with prefix. */
static void objs_prefix_range(const wc_objs *o, const char *prefix, size_t *begin, size_t *end)
{
    size_t plen = strlen(prefix);
    *begin = objs_partition(o, key_lt, prefix, plen);
    *end = objs_partition(o, key_le_prefix, prefix, plen);
}

/* Index of key, or -1. */
static ptrdiff_t objs_find(const wc_objs *o, const char *key)
{
    size_t i = objs_partition(o, key_lt, key, 0);
    if (i < o->n && strcmp(o->v[i]->key, key) == 0)
        return (ptrdiff_t)i;
    return -1;
}

/*
 * Stores b (taking over the caller's reference) and returns the blob it replaced, whose reference
 * passes to the caller, or NULL. Keys arriving in order (wc_load) append without searching.
 */
static wc_blob *objs_put(wc_objs *o, wc_blob *b)
{
    size_t i = o->n;
    if (o->n > 0 && strcmp(o->v[o->n - 1]->key, b->key) >= 0) {
        i = objs_partition(o, key_lt, b->key, 0);
        if (strcmp(o->v[i]->key, b->key) == 0) {
            wc_blob *old = o->v[i];
            o->v[i] = b;
            return old;
        }
    }
    if (o->n == o->cap) {
        o->cap = o->cap ? o->cap * 2 : WC_OBJS_INITIAL_CAP;
        o->v = xrealloc(o->v, o->cap * sizeof *o->v);
    }
    memmove(&o->v[i + 1], &o->v[i], (o->n - i) * sizeof *o->v);
    o->v[i] = b;
    o->n++;
    return NULL;
}

/* Removes key and returns its blob (the array's reference passes to the caller), or NULL. */
static wc_blob *objs_take(wc_objs *o, const char *key)
{
    ptrdiff_t at = objs_find(o, key);
    if (at < 0)
        return NULL;
    size_t i = (size_t)at;
    wc_blob *b = o->v[i];
    memmove(&o->v[i], &o->v[i + 1], (o->n - i - 1) * sizeof *o->v);
    o->n--;
    return b;
}

static void objs_clear(wc_objs *o)
{
    for (size_t i = 0; i < o->n; i++)
        wc_blob_unref(o->v[i]);
    free(o->v);
    memset(o, 0, sizeof *o);
}

/* ------------------------------------------------------------------------------------------ */
/* Event ring                                                                                   */

typedef struct wc_slot {
    wc_event ev;
    uint64_t at_ns; /* clk_mono_ns when applied, for the min_age rule */
} wc_slot;

typedef struct wc_ring {
    wc_slot *v;
    size_t cap;
    size_t head; /* index of the oldest event */
    size_t n;
} wc_ring;

static wc_slot *ring_at(const wc_ring *r, size_t i)
{
    return &r->v[(r->head + i) % r->cap];
}

/* Position (0 = oldest) of the first event with revision > after; n if none. */
static size_t ring_first_after(const wc_ring *r, uint64_t after)
{
    size_t lo = 0, hi = r->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (ring_at(r, mid)->ev.rev <= after)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* ------------------------------------------------------------------------------------------ */
/* The cache                                                                                    */

struct wc_cache {
    pthread_rwlock_t lock; /* guards the reader-visible state below */
    pthread_mutex_t wmu;   /* serializes writers; guards the writer-only state */

    /* reader-visible (lock) */
    wc_objs objs;
    wc_ring ring;
    uint64_t rev;
    uint64_t oldest_rev;

    /* writer-only (wmu) */
    uint64_t dropped_rev; /* revision of the newest event trimmed from the ring */
    bool live;            /* an event above the loaded revision was applied: replay is over */
    wc_objs replay;       /* during replay: newest replayed state per key, for prev */
    wc_event *drop;       /* events trimmed under the lock, released after it; ring cap + 1 */
    size_t ndrop;
    void (*notify)(void *ctx);
    void *notify_ctx;
    wc_objs staging; /* wc_replace_*: the snapshot being loaded */

    /* revision waits (see the top) */
    pthread_mutex_t revmu;
    pthread_cond_t revcond;
    _Atomic uint64_t pub_rev;
    atomic_int waiters;

    /* immutable after wc_new */
    size_t min_events;
    size_t max_events;
    uint64_t min_age_ns;
    clk_t *clock;
};

/* Lock failures mean a corrupted lock or a self-deadlock: programming errors, fatal like OOM. */
static void lock_check(int rc, const char *what)
{
    if (rc != 0) {
        log_error("watchcache: %s failed: %s", what, strerror(rc));
        abort();
    }
}

static void rd_lock(wc_cache *c)
{
    lock_check(pthread_rwlock_rdlock(&c->lock), "rdlock");
}

static void wr_lock(wc_cache *c)
{
    lock_check(pthread_rwlock_wrlock(&c->lock), "wrlock");
}

static void rw_unlock(wc_cache *c)
{
    lock_check(pthread_rwlock_unlock(&c->lock), "rwunlock");
}

static void writer_lock(wc_cache *c)
{
    lock_check(pthread_mutex_lock(&c->wmu), "mutex_lock");
}

static void writer_unlock(wc_cache *c)
{
    lock_check(pthread_mutex_unlock(&c->wmu), "mutex_unlock");
}

wc_options wc_defaults(void)
{
    wc_options o = {
        .min_events = WC_DEFAULT_MIN_EVENTS,
        .min_age_ms = WC_DEFAULT_MIN_AGE_MS,
        .max_events = WC_DEFAULT_MAX_EVENTS,
        .clock = clk_system(),
    };
    return o;
}

/* Fills the cache's limits from opt, replacing nonsensical values (see wc_new's contract). */
static void apply_options(wc_cache *c, const wc_options *opt)
{
    wc_options d = wc_defaults();
    const wc_options *o = opt ? opt : &d;
    c->max_events = (size_t)(o->max_events > 0 ? o->max_events : d.max_events);
    c->min_events = o->min_events > 0 ? (size_t)o->min_events : 0;
    if (c->min_events > c->max_events)
        c->min_events = c->max_events;
    c->min_age_ns = o->min_age_ms > 0 ? (uint64_t)o->min_age_ms * CLK_NS_PER_MS : 0;
    c->clock = o->clock ? o->clock : clk_system();
}

static int init_locks(wc_cache *c)
{
    pthread_rwlockattr_t attr;
    int rc = pthread_rwlockattr_init(&attr);
    if (rc != 0)
        return rc;
    /* Readers list continuously; without writer preference they could starve the storage
       writer thread, which blocks every client write. */
    rc = pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    if (rc == 0)
        rc = pthread_rwlock_init(&c->lock, &attr);
    pthread_rwlockattr_destroy(&attr);
    if (rc != 0)
        return rc;
    rc = pthread_mutex_init(&c->wmu, NULL);
    if (rc == 0) {
        rc = pthread_mutex_init(&c->revmu, NULL);
        if (rc != 0)
            pthread_mutex_destroy(&c->wmu);
    }
    if (rc == 0) {
        rc = -clk_mono_cond_init(&c->revcond);
        if (rc != 0) {
            pthread_mutex_destroy(&c->revmu);
            pthread_mutex_destroy(&c->wmu);
        }
    }
    if (rc != 0)
        pthread_rwlock_destroy(&c->lock);
    return rc;
}

wc_cache *wc_new(const wc_options *opt)
{
    wc_cache *c = xcalloc(1, sizeof *c);
    apply_options(c, opt);
    int rc = init_locks(c);
    if (rc != 0) {
        /* Only for want of resources: fatal, like running out of memory (docs/design.md §4.8). */
        log_error("watchcache: lock init failed: %s", strerror(rc));
        abort();
    }
    c->ring.cap = c->max_events < WC_RING_INITIAL_CAP ? c->max_events : WC_RING_INITIAL_CAP;
    c->ring.v = xmalloc(c->ring.cap * sizeof *c->ring.v);
    c->drop = xmalloc((c->ring.cap + 1) * sizeof *c->drop);
    return c;
}

void wc_free(wc_cache *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->ring.n; i++)
        wc_event_release(&ring_at(&c->ring, i)->ev);
    free(c->ring.v);
    free(c->drop);
    objs_clear(&c->objs);
    objs_clear(&c->replay);
    objs_clear(&c->staging);
    pthread_cond_destroy(&c->revcond);
    pthread_mutex_destroy(&c->revmu);
    pthread_mutex_destroy(&c->wmu);
    pthread_rwlock_destroy(&c->lock);
    free(c);
}

/* Makes rev visible to wc_wait_rev and wakes the waiters, if any. Writer only. */
static void publish_rev(wc_cache *c, uint64_t rev)
{
    atomic_store(&c->pub_rev, rev);
    if (atomic_load(&c->waiters) == 0)
        return;
    lock_check(pthread_mutex_lock(&c->revmu), "mutex_lock");
    lock_check(pthread_cond_broadcast(&c->revcond), "cond_broadcast");
    lock_check(pthread_mutex_unlock(&c->revmu), "mutex_unlock");
}

void wc_load(wc_cache *c, const char *key, const char *json, size_t len, uint64_t mod_rev)
{
    wc_blob *b = blob_new(key, json, len, mod_rev);
    writer_lock(c);
    wr_lock(c);
    wc_blob *old = objs_put(&c->objs, b);
    rw_unlock(c);
    writer_unlock(c);
    wc_blob_unref(old);
}

void wc_set_rev(wc_cache *c, uint64_t rev)
{
    writer_lock(c);
    wr_lock(c);
    c->rev = rev;
    /* With no history yet, the loaded state is the first servable point. */
    if (c->ring.n == 0 && c->oldest_rev < rev)
        c->oldest_rev = rev;
    rw_unlock(c);
    publish_rev(c, rev);
    writer_unlock(c);
}

void wc_set_oldest(wc_cache *c, uint64_t oldest_rev)
{
    writer_lock(c);
    wr_lock(c);
    c->oldest_rev = oldest_rev > c->dropped_rev ? oldest_rev : c->dropped_rev;
    rw_unlock(c);
    writer_unlock(c);
}

void wc_set_notify(wc_cache *c, void (*fn)(void *ctx), void *ctx)
{
    writer_lock(c);
    c->notify = fn;
    c->notify_ctx = ctx;
    writer_unlock(c);
}

/*
 * Makes room for one more event: doubles the ring (up to max_events) when it is full. The copy is
 * allocated before taking the lock; only the pointer swap and slot copy happen under it.
 * Writer only (wmu held).
 */
static void ring_reserve(wc_cache *c)
{
    wc_ring *r = &c->ring;
    if (r->n < r->cap || r->cap >= c->max_events)
        return;
    size_t ncap = r->cap * 2 < c->max_events ? r->cap * 2 : c->max_events;
    wc_slot *nv = xmalloc(ncap * sizeof *nv);
    c->drop = xrealloc(c->drop, (ncap + 1) * sizeof *c->drop);
    wr_lock(c);
    for (size_t i = 0; i < r->n; i++)
        nv[i] = *ring_at(r, i);
    wc_slot *old = r->v;
    r->v = nv;
    r->cap = ncap;
    r->head = 0;
    rw_unlock(c);
    free(old);
}

/* Moves the oldest event into the drop list (released after the lock). Lock + wmu held. */
static void ring_drop_oldest(wc_cache *c)
{
    wc_ring *r = &c->ring;
    wc_slot *s = &r->v[r->head];
    c->drop[c->ndrop++] = s->ev;
    if (s->ev.rev > c->dropped_rev)
        c->dropped_rev = s->ev.rev;
    r->head = (r->head + 1) % r->cap;
    r->n--;
}

/* Appends ev (taking its references), then trims by the history rule. Lock + wmu held. */
static void ring_push(wc_cache *c, const wc_event *ev, uint64_t now_ns)
{
    wc_ring *r = &c->ring;
    if (r->n == r->cap) /* ring_reserve ran: full means cap == max_events */
        ring_drop_oldest(c);
    wc_slot *s = &r->v[(r->head + r->n) % r->cap];
    s->ev = *ev;
    s->at_ns = now_ns;
    r->n++;
    /* Drop the oldest only while both bounds (count and age) are exceeded. */
    while (r->n > c->min_events) {
        uint64_t at = r->v[r->head].at_ns;
        if (now_ns <= at || now_ns - at <= c->min_age_ns)
            break;
        ring_drop_oldest(c);
    }
    if (c->dropped_rev > c->oldest_rev)
        c->oldest_rev = c->dropped_rev;
}

/* Updates the objects for a live event and returns the previous state (reference included). */
static wc_blob *apply_to(wc_objs *o, st_event_type type, wc_blob *b)
{
    if (type == ST_DELETED)
        return objs_take(o, b->key);
    return objs_put(o, wc_blob_ref(b));
}

/* Drops the replay index once live events flow. Writer only. */
static void end_replay(wc_cache *c)
{
    c->live = true;
    objs_clear(&c->replay);
}

/* Releases the events trimmed by the last push. Writer only, outside the lock. */
static void release_dropped(wc_cache *c)
{
    for (size_t i = 0; i < c->ndrop; i++)
        wc_event_release(&c->drop[i]);
    c->ndrop = 0;
}

void wc_apply(void *cache, st_event_type type, const char *key, const char *json, size_t len,
              uint64_t rev)
{
    wc_cache *c = cache;
    wc_blob *b = blob_new(key, json, len, rev);
    uint64_t now = clk_mono_ns(c->clock);
    wc_event ev = {.type = type, .rev = rev, .obj = b, .prev = NULL};

    writer_lock(c);
    /* rev, ring and live only change under wmu, so reading them here needs no rwlock. */
    bool replay = rev <= c->rev;
    uint64_t last = c->ring.n ? ring_at(&c->ring, c->ring.n - 1)->ev.rev : 0;
    if ((replay && c->live) || (c->ring.n > 0 && rev <= last)) {
        uint64_t at = c->rev;
        writer_unlock(c);
        log_warn("watchcache: ignored out-of-order event rev %" PRIu64 " for %s (cache at %" PRIu64
                 ")",
                 rev, key, at);
        wc_blob_unref(b);
        return;
    }
    if (replay)
        ev.prev = apply_to(&c->replay, type, b);
    else if (!c->live)
        end_replay(c);
    ring_reserve(c);

    wr_lock(c);
    if (!replay) {
        ev.prev = apply_to(&c->objs, type, b);
        c->rev = rev;
    }
    ring_push(c, &ev, now);
    rw_unlock(c);
    if (!replay)
        publish_rev(c, rev);

    release_dropped(c);
    void (*notify)(void *) = c->notify;
    void *notify_ctx = c->notify_ctx;
    writer_unlock(c);
    if (notify)
        notify(notify_ctx);
}

void wc_advance(wc_cache *c, uint64_t rev)
{
    writer_lock(c);
    if (rev > c->rev) {
        if (!c->live)
            end_replay(c);
        wr_lock(c);
        c->rev = rev;
        rw_unlock(c);
        publish_rev(c, rev);
    }
    writer_unlock(c);
}

void wc_replace_begin(wc_cache *c)
{
    writer_lock(c);
    objs_clear(&c->staging);
    writer_unlock(c);
}

void wc_replace_load(wc_cache *c, const char *key, const char *json, size_t len, uint64_t mod_rev)
{
    wc_blob *b = blob_new(key, json, len, mod_rev);
    writer_lock(c);
    wc_blob_unref(objs_put(&c->staging, b)); /* a repeated key keeps its last state */
    writer_unlock(c);
}

void wc_replace_end(wc_cache *c, uint64_t rev)
{
    writer_lock(c);
    if (!c->live)
        end_replay(c);
    wc_objs old = c->objs;
    wr_lock(c);
    c->objs = c->staging;
    while (c->ring.n > 0)
        ring_drop_oldest(c);
    c->dropped_rev = rev;
    c->rev = rev;
    c->oldest_rev = rev;
    rw_unlock(c);
    memset(&c->staging, 0, sizeof c->staging);
    publish_rev(c, rev);
    release_dropped(c);
    void (*notify)(void *) = c->notify;
    void *notify_ctx = c->notify_ctx;
    writer_unlock(c);
    objs_clear(&old);
    if (notify)
        notify(notify_ctx);
}

bool wc_wait_rev(wc_cache *c, uint64_t rev, int timeout_ms)
{
    if (atomic_load(&c->pub_rev) >= rev)
        return true;
    struct timespec deadline =
        clk_mono_deadline((uint64_t)(timeout_ms > 0 ? timeout_ms : 0) * CLK_NS_PER_MS);
    lock_check(pthread_mutex_lock(&c->revmu), "mutex_lock");
    atomic_fetch_add(&c->waiters, 1);
    int rc = 0;
    while (atomic_load(&c->pub_rev) < rev && rc != ETIMEDOUT) {
        rc = pthread_cond_timedwait(&c->revcond, &c->revmu, &deadline);
        if (rc != 0 && rc != ETIMEDOUT)
            lock_check(rc, "cond_timedwait");
    }
    bool reached = atomic_load(&c->pub_rev) >= rev;
    atomic_fetch_sub(&c->waiters, 1);
    lock_check(pthread_mutex_unlock(&c->revmu), "mutex_unlock");
    return reached;
}

wc_blob *wc_get(wc_cache *c, const char *key)
{
    rd_lock(c);
    ptrdiff_t i = objs_find(&c->objs, key);
    wc_blob *b = i >= 0 ? wc_blob_ref(c->objs.v[i]) : NULL;
    rw_unlock(c);
    return b;
}

size_t wc_list(wc_cache *c, const char *prefix, const char *after, size_t limit, wc_blob ***out,
               uint64_t *rev, size_t *remaining)
{
    size_t begin, end;
    rd_lock(c);
    objs_prefix_range(&c->objs, prefix ? prefix : "", &begin, &end);
    if (after) {
        size_t a = objs_partition(&c->objs, key_le, after, 0);
        begin = a > begin ? a : begin;
        begin = begin < end ? begin : end;
    }
    size_t avail = end - begin;
    size_t n = limit && limit < avail ? limit : avail;
    /* Allocating under the read lock only delays the writer; the size is known only here. */
    wc_blob **items = n ? xmalloc(n * sizeof *items) : NULL;
    for (size_t i = 0; i < n; i++)
        items[i] = wc_blob_ref(c->objs.v[begin + i]);
    if (rev)
        *rev = c->rev;
    rw_unlock(c);
    if (remaining)
        *remaining = avail - n;
    *out = items;
    return n;
}

void wc_snapshot_free(wc_blob **items, size_t n)
{
    for (size_t i = 0; i < n; i++)
        wc_blob_unref(items[i]);
    free(items);
}

/* A key's state at an older revision, recovered from the first event after that revision. */
typedef struct wc_past {
    const char *key;
    wc_blob *state; /* NULL: the key did not exist then */
    size_t seq;     /* ring position, to keep the oldest event per key */
} wc_past;

static int past_cmp(const void *a, const void *b)
{
    const wc_past *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    return c ? c : (x->seq < y->seq ? -1 : x->seq > y->seq);
}

static bool in_range(const char *key, const char *prefix, size_t plen, const char *after)
{
    return strncmp(key, prefix, plen) == 0 && (!after || strcmp(key, after) > 0);
}

/*
 * The states at `at` of the keys in range that changed since: one entry per key, sorted by key.
 * Returns the count, or -1 when the ring cannot tell (a change without its previous state).
 */
static ptrdiff_t collect_past(wc_cache *c, const char *prefix, const char *after, uint64_t at,
                              wc_past **out)
{
    size_t plen = strlen(prefix), first = ring_first_after(&c->ring, at), n = 0;
    wc_past *past = xmalloc((c->ring.n - first + 1) * sizeof *past);
    for (size_t i = first; i < c->ring.n; i++) {
        const wc_event *ev = &ring_at(&c->ring, i)->ev;
        if (!in_range(ev->obj->key, prefix, plen, after))
            continue;
        if (ev->type != ST_ADDED && !ev->prev) {
            free(past);
            return -1;
        }
        past[n++] = (wc_past){ev->obj->key, ev->type == ST_ADDED ? NULL : ev->prev, i};
    }
    qsort(past, n, sizeof *past, past_cmp);
    size_t u = 0;
    for (size_t i = 0; i < n; i++) /* the oldest event of each key says what it was at `at` */
        if (u == 0 || strcmp(past[u - 1].key, past[i].key) != 0)
            past[u++] = past[i];
    *out = past;
    return (ptrdiff_t)u;
}

ptrdiff_t wc_list_at(wc_cache *c, const char *prefix, const char *after, size_t limit, uint64_t at,
                     wc_blob ***out, size_t *remaining)
{
    rd_lock(c);
    if (at < c->oldest_rev) {
        rw_unlock(c);
        return -1;
    }
    wc_past *past;
    ptrdiff_t np = collect_past(c, prefix, after, at, &past);
    if (np < 0) {
        rw_unlock(c);
        return -1;
    }
    size_t begin, end;
    objs_prefix_range(&c->objs, prefix, &begin, &end);
    if (after) {
        size_t a = objs_partition(&c->objs, key_le, after, 0);
        begin = a > begin ? a : begin;
        begin = begin < end ? begin : end;
    }
    /* Merge the current objects with the recovered past states, both sorted by key. */
    wc_blob **items = xmalloc((end - begin + (size_t)np + 1) * sizeof *items);
    size_t n = 0, total = 0, i = begin, j = 0;
    while (i < end || j < (size_t)np) {
        int cmp = i == end ? 1 : j == (size_t)np ? -1 : strcmp(c->objs.v[i]->key, past[j].key);
        wc_blob *b = cmp < 0 ? c->objs.v[i] : past[j].state;
        i += cmp <= 0;
        j += cmp >= 0;
        if (!b)
            continue;
        total++;
        if (!limit || n < limit)
            items[n++] = wc_blob_ref(b);
    }
    rw_unlock(c);
    free(past);
    *remaining = total - n;
    *out = items;
    return (ptrdiff_t)n;
}

int wc_events_since(wc_cache *c, uint64_t after, wc_event *out, int max)
{
    rd_lock(c);
    if (after < c->oldest_rev) {
        rw_unlock(c);
        return -1;
    }
    size_t first = ring_first_after(&c->ring, after);
    size_t n = c->ring.n - first;
    if (max <= 0)
        n = 0;
    else if (n > (size_t)max)
        n = (size_t)max;
    for (size_t i = 0; i < n; i++) {
        const wc_event *ev = &ring_at(&c->ring, first + i)->ev;
        out[i] = *ev;
        wc_blob_ref(ev->obj);
        wc_blob_ref(ev->prev);
    }
    rw_unlock(c);
    return (int)n;
}

uint64_t wc_rev(wc_cache *c)
{
    rd_lock(c);
    uint64_t rev = c->rev;
    rw_unlock(c);
    return rev;
}

uint64_t wc_oldest_rev(wc_cache *c)
{
    rd_lock(c);
    uint64_t rev = c->oldest_rev;
    rw_unlock(c);
    return rev;
}

size_t wc_count(wc_cache *c, const char *prefix)
{
    size_t begin, end;
    rd_lock(c);
    objs_prefix_range(&c->objs, prefix ? prefix : "", &begin, &end);
    rw_unlock(c);
    return end - begin;
}

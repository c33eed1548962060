/*
 * store.c - the informer's indexed cache: key -> inf_obj, plus per index value -> set of keys.
 *
 * One pthread rwlock (writer-preferring, so a steady stream of readers cannot starve the
 * informer) guards the current map. Objects are immutable and reference counted, so a reader
 * leaves the lock with references and never holds it while using an object.
 *
 * A map (st_map) is the hash of entries plus one hash of buckets per index; members of a bucket
 * point at their entry's key, which lives as long as the entry (an update swaps the entry's
 * object, not the entry). Index values are not stored: to unindex, the store calls the pure
 * index function again on the old object, as client-go's indexer does.
 */
#include "informer/internal.h"

#include "common/alloc.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define uthash_malloc(sz)  xmalloc(sz)
#define uthash_free(p, sz) free(p)
#include <uthash.h>

/*
 * An index bucket of two or more keys has its own member table, and most of those stay small (a
 * few objects of a namespace). uthash starts a table at 32 slots (a 512-byte array, more than a
 * cached Foo); starting at one slot costs 16 bytes, and a table still doubles as it grows.
 * uthash reads these two only where a table is made, so redefining them after the include is
 * enough.
 */
#undef HASH_INITIAL_NUM_BUCKETS
#undef HASH_INITIAL_NUM_BUCKETS_LOG2
#define HASH_INITIAL_NUM_BUCKETS      1U
#define HASH_INITIAL_NUM_BUCKETS_LOG2 0U

#define MAX_INDEXES 16

typedef struct st_member {
    UT_hash_handle hh;
    const char *key; /* the entry's key */
} st_member;

/*
 * The keys under one index value. Most values have one key (a controller uid, the Deployment a
 * Foo wants), and a member table costs ~200 bytes even for one member, so a bucket holds its
 * only key inline and makes a table from the second key on. Exactly one of `only` and `members`
 * is set while the bucket exists.
 */
typedef struct st_bucket {
    UT_hash_handle hh;
    const char *only;   /* the single member's key, or NULL */
    st_member *members; /* two or more members, or NULL */
    char value[];
} st_bucket;

typedef struct st_entry {
    UT_hash_handle hh;
    inf_obj *obj;
    char key[];
} st_entry;

typedef struct st_map {
    st_entry *entries;
    st_bucket *buckets[MAX_INDEXES];
    size_t count, bytes;
} st_map;

typedef struct st_index {
    char *name;
    inf_index_fn fn;
    void *ctx;
} st_index;

struct inf_store {
    pthread_rwlock_t lock;
    st_index idx[MAX_INDEXES];
    size_t nidx;
    st_map map;
};

/* ---- index values ---------------------------------------------------------------------- */

void inf_values_add(inf_values *vals, const char *value)
{
    if (!value || !*value)
        return;
    for (size_t i = 0; i < vals->n; i++)
        if (strcmp(vals->v[i], value) == 0)
            return;
    if (vals->n == vals->cap) {
        vals->cap = vals->cap ? 2 * vals->cap : 4;
        vals->v = xrealloc(vals->v, vals->cap * sizeof *vals->v);
    }
    vals->v[vals->n++] = xstrdup(value);
}

void inf_values_clear(inf_values *vals)
{
    for (size_t i = 0; i < vals->n; i++)
        free(vals->v[i]);
    free(vals->v);
    *vals = (inf_values){0};
}

static void index_namespace(void *ctx, const inf_obj *obj, inf_values *vals)
{
    (void)ctx;
    inf_values_add(vals, inf_obj_namespace(obj));
}

static void index_controller(void *ctx, const inf_obj *obj, inf_values *vals)
{
    (void)ctx;
    inf_values_add(vals, inf_obj_controller_uid(obj));
}

/* ---- maps (no locking here; callers hold the lock or own the map) ------------------------ */

static void members_add(st_member **members, const char *key)
{
    st_member *mem = xcalloc(1, sizeof *mem);
    mem->key = key;
    HASH_ADD_KEYPTR(hh, *members, key, strlen(key), mem);
}

static void members_free(st_member **members)
{
    st_member *mem, *tmp;
    HASH_ITER(hh, *members, mem, tmp)
    {
        HASH_DEL(*members, mem);
        free(mem);
    }
}

static void bucket_add(st_map *m, size_t i, const char *value, const char *key)
{
    st_bucket *b;
    HASH_FIND_STR(m->buckets[i], value, b);
    if (!b) {
        size_t n = strlen(value);
        b = xcalloc(1, sizeof *b + n + 1);
        memcpy(b->value, value, n + 1);
        HASH_ADD(hh, m->buckets[i], value[0], n, b);
    }
    if (!b->only && !b->members) {
        b->only = key;
        return;
    }
    if (b->only) { /* the second key: move the first into a table */
        members_add(&b->members, b->only);
        b->only = NULL;
    }
    members_add(&b->members, key);
}

static void bucket_remove(st_map *m, size_t i, const char *value, const char *key)
{
    st_bucket *b;
    HASH_FIND_STR(m->buckets[i], value, b);
    if (!b)
        return;
    if (b->only) {
        if (strcmp(b->only, key) == 0)
            b->only = NULL;
    } else {
        st_member *mem;
        HASH_FIND_STR(b->members, key, mem);
        if (mem) {
            HASH_DEL(b->members, mem);
            free(mem);
        }
        if (HASH_COUNT(b->members) == 1) { /* back to one key: drop the table */
            b->only = b->members->key;
            members_free(&b->members);
        }
    }
    if (!b->only && !b->members) {
        HASH_DEL(m->buckets[i], b);
        free(b);
    }
}

static void map_index(inf_store *s, st_map *m, st_entry *e, bool add)
{
    for (size_t i = 0; i < s->nidx; i++) {
        inf_values vals = {0};
        s->idx[i].fn(s->idx[i].ctx, e->obj, &vals);
        for (size_t j = 0; j < vals.n; j++) {
            if (add)
                bucket_add(m, i, vals.v[j], e->key);
            else
                bucket_remove(m, i, vals.v[j], e->key);
        }
        inf_values_clear(&vals);
    }
}

/* Stores obj (taking its reference); returns the replaced object's reference or NULL. */
static inf_obj *map_put(inf_store *s, st_map *m, inf_obj *obj)
{
    const char *key = inf_obj_key(obj);
    st_entry *e;
    HASH_FIND_STR(m->entries, key, e);
    inf_obj *old = NULL;
    if (e) {
        map_index(s, m, e, false);
        old = e->obj;
        m->bytes -= inf_obj_size(old);
    } else {
        size_t n = strlen(key);
        e = xcalloc(1, sizeof *e + n + 1);
        memcpy(e->key, key, n + 1);
        HASH_ADD(hh, m->entries, key[0], n, e);
        m->count++;
    }
    e->obj = obj;
    m->bytes += inf_obj_size(obj);
    map_index(s, m, e, true);
    return old;
}

/* Removes key; returns the removed object's reference or NULL. */
static inf_obj *map_del(inf_store *s, st_map *m, const char *key)
{
    st_entry *e;
    HASH_FIND_STR(m->entries, key, e);
    if (!e)
        return NULL;
    map_index(s, m, e, false);
    HASH_DEL(m->entries, e);
    inf_obj *old = e->obj;
    m->count--;
    m->bytes -= inf_obj_size(old);
    free(e);
    return old;
}

static void map_free(inf_store *s, st_map *m)
{
    st_entry *e, *etmp;
    HASH_ITER(hh, m->entries, e, etmp)
    {
        HASH_DEL(m->entries, e);
        inf_obj_unref(e->obj);
        free(e);
    }
    for (size_t i = 0; i < s->nidx; i++) {
        st_bucket *b, *btmp;
        HASH_ITER(hh, m->buckets[i], b, btmp)
        {
            members_free(&b->members);
            HASH_DEL(m->buckets[i], b);
            free(b);
        }
    }
    *m = (st_map){0};
}

/* ---- public API -------------------------------------------------------------------------- */

static void add_index_unlocked(inf_store *s, const char *name, inf_index_fn fn, void *ctx)
{
    s->idx[s->nidx].name = xstrdup(name);
    s->idx[s->nidx].fn = fn;
    s->idx[s->nidx].ctx = ctx;
    s->nidx++;
}

inf_store *inf_store_new(void)
{
    inf_store *s = xcalloc(1, sizeof *s);
    pthread_rwlockattr_t attr;
    /* Both calls only fail for invalid arguments (or ENOMEM, which we treat as fatal). */
    if (pthread_rwlockattr_init(&attr) != 0 ||
        pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP) != 0 ||
        pthread_rwlock_init(&s->lock, &attr) != 0)
        abort();
    pthread_rwlockattr_destroy(&attr);
    add_index_unlocked(s, INF_INDEX_NAMESPACE, index_namespace, NULL);
    add_index_unlocked(s, INF_INDEX_CONTROLLER, index_controller, NULL);
    return s;
}

void inf_store_free(inf_store *s)
{
    if (!s)
        return;
    map_free(s, &s->map);
    for (size_t i = 0; i < s->nidx; i++)
        free(s->idx[i].name);
    pthread_rwlock_destroy(&s->lock);
    free(s);
}

static int find_index(const inf_store *s, const char *name)
{
    for (size_t i = 0; i < s->nidx; i++)
        if (strcmp(s->idx[i].name, name) == 0)
            return (int)i;
    return -1;
}

int inf_store_add_index(inf_store *s, const char *name, inf_index_fn fn, void *ctx)
{
    if (!name || !fn)
        return -EINVAL;
    pthread_rwlock_wrlock(&s->lock);
    int rc = 0;
    if (find_index(s, name) >= 0)
        rc = -EEXIST;
    else if (s->map.count > 0)
        rc = -EBUSY;
    else if (s->nidx == MAX_INDEXES)
        rc = -ENOSPC;
    else
        add_index_unlocked(s, name, fn, ctx);
    pthread_rwlock_unlock(&s->lock);
    return rc;
}

inf_obj *inf_store_get(inf_store *s, const char *key)
{
    pthread_rwlock_rdlock(&s->lock);
    st_entry *e;
    HASH_FIND_STR(s->map.entries, key, e);
    inf_obj *obj = e ? inf_obj_ref(e->obj) : NULL;
    pthread_rwlock_unlock(&s->lock);
    return obj;
}

size_t inf_store_list(inf_store *s, inf_obj ***out)
{
    pthread_rwlock_rdlock(&s->lock);
    size_t n = 0;
    *out = NULL;
    if (s->map.count) {
        *out = xmalloc(s->map.count * sizeof **out);
        for (st_entry *e = s->map.entries; e; e = e->hh.next)
            (*out)[n++] = inf_obj_ref(e->obj);
    }
    pthread_rwlock_unlock(&s->lock);
    return n;
}

/* Puts a new reference to the object under key in *slot; returns 1, or 0 if key is absent
 * (never, while members mirror entries). */
static size_t entry_ref(const st_map *m, const char *key, inf_obj **slot)
{
    st_entry *e;
    HASH_FIND_STR(m->entries, key, e);
    if (!e)
        return 0;
    *slot = inf_obj_ref(e->obj);
    return 1;
}

size_t inf_store_by_index(inf_store *s, const char *index, const char *value, inf_obj ***out)
{
    *out = NULL;
    pthread_rwlock_rdlock(&s->lock);
    int i = find_index(s, index);
    st_bucket *b = NULL;
    if (i >= 0 && value)
        HASH_FIND_STR(s->map.buckets[i], value, b);
    size_t n = 0;
    if (b && b->only) {
        *out = xmalloc(sizeof **out);
        n = entry_ref(&s->map, b->only, *out);
    } else if (b) {
        *out = xmalloc(HASH_COUNT(b->members) * sizeof **out);
        for (st_member *mem = b->members; mem; mem = mem->hh.next)
            n += entry_ref(&s->map, mem->key, *out + n);
    }
    pthread_rwlock_unlock(&s->lock);
    return n;
}

size_t inf_store_count(inf_store *s)
{
    pthread_rwlock_rdlock(&s->lock);
    size_t n = s->map.count;
    pthread_rwlock_unlock(&s->lock);
    return n;
}

size_t inf_store_bytes(inf_store *s)
{
    pthread_rwlock_rdlock(&s->lock);
    size_t n = s->map.bytes;
    pthread_rwlock_unlock(&s->lock);
    return n;
}

inf_obj *inf_store_upsert(inf_store *s, inf_obj *obj)
{
    pthread_rwlock_wrlock(&s->lock);
    inf_obj *old = map_put(s, &s->map, obj);
    pthread_rwlock_unlock(&s->lock);
    return old;
}

inf_obj *inf_store_remove(inf_store *s, const char *key)
{
    pthread_rwlock_wrlock(&s->lock);
    inf_obj *old = map_del(s, &s->map, key);
    pthread_rwlock_unlock(&s->lock);
    return old;
}

/*
 * Marks as superseded the earlier array slot holding `dup` (a key listed twice: the later object
 * won in the map, so only the later slot is reported). Rare, so a scan is fine.
 */
static void mark_superseded(inf_obj **objs, size_t upto, const inf_obj *dup, bool *skip)
{
    for (size_t j = 0; j < upto; j++)
        if (objs[j] == dup)
            skip[j] = true;
}

void inf_store_replace(inf_store *s, inf_obj **objs, size_t n, inf_replace_fn fn, void *ctx)
{
    /* Build the new map privately: readers keep the old content meanwhile. */
    st_map fresh = {0};
    bool *skip = xcalloc(n ? n : 1, sizeof *skip);
    for (size_t i = 0; i < n; i++) {
        inf_obj_ref(objs[i]); /* kept for the diff below, whatever writers do meanwhile */
        inf_obj *dup = map_put(s, &fresh, objs[i]);
        if (dup) {
            mark_superseded(objs, i, dup, skip);
            inf_obj_unref(dup);
        }
    }
    pthread_rwlock_wrlock(&s->lock);
    st_map old = s->map;
    s->map = fresh;
    pthread_rwlock_unlock(&s->lock);

    /* The old map is private now: diff against it without the lock. */
    for (size_t i = 0; i < n; i++) {
        if (skip[i])
            continue;
        inf_obj *prev = map_del(s, &old, inf_obj_key(objs[i]));
        if (fn)
            fn(ctx, prev, objs[i]);
        inf_obj_unref(prev);
    }
    for (st_entry *e = old.entries; e; e = e->hh.next)
        if (fn)
            fn(ctx, e->obj, NULL);
    map_free(s, &old);
    for (size_t i = 0; i < n; i++)
        inf_obj_unref(objs[i]);
    free(skip);
}

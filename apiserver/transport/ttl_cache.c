/*
 * ttl_cache.c - a bounded map with per-entry expiry (ttl_cache.h).
 *
 * A chained hash table finds entries; a doubly linked list in insertion order finds the oldest.
 * One mutex guards everything: the critical sections are a bucket walk and a few pointer moves.
 */
#include "apiserver/transport/ttl_cache.h"
#include "common/alloc.h"
#include "common/log.h"
#include "common/sha256.h"

#include <errno.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

typedef struct tc_entry {
    unsigned char key[TTL_CACHE_KEY_LEN];
    void *value;
    uint64_t expires_ns;          /* monotonic time at which the entry stops answering */
    struct tc_entry *bucket_next; /* chain of its bucket */
    struct tc_entry *older;       /* insertion order: towards c->oldest */
    struct tc_entry *newer;
} tc_entry;

struct ttl_cache {
    pthread_mutex_t mu;
    clk_t *clock;
    const ttl_cache_ops *ops;
    size_t max_entries;
    size_t nentries;
    size_t nbuckets; /* a power of two, at least 2 * max_entries */
    tc_entry **buckets;
    tc_entry *oldest, *newest;
    /* No entry expires before this time (a lower bound): a full cache skips its search for
       expired entries until then, so a flood of fresh entries costs no scan per insert. */
    uint64_t earliest_expiry_ns;
    uint64_t secret; /* mixed into bucket indexes, see tc_bucket */
    uint64_t hits, misses, evictions;
};

ttl_cache *ttl_cache_new(size_t max_entries, clk_t *clock, const ttl_cache_ops *ops)
{
    ttl_cache *c = xcalloc(1, sizeof *c);
    pthread_mutex_init(&c->mu, NULL);
    c->clock = clock ? clock : clk_system();
    c->ops = ops;
    c->max_entries = max_entries ? max_entries : TTL_CACHE_DEFAULT_ENTRIES;
    c->nbuckets = 16;
    while (c->nbuckets < 2 * c->max_entries)
        c->nbuckets *= 2;
    c->buckets = xcalloc(c->nbuckets, sizeof *c->buckets);
    c->earliest_expiry_ns = UINT64_MAX;
    /* Without randomness the secret is 0: indexes are then predictable, which costs only speed. */
    if (RAND_bytes((unsigned char *)&c->secret, sizeof c->secret) != 1)
        c->secret = 0;
    return c;
}

void ttl_cache_free(ttl_cache *c)
{
    if (!c)
        return;
    tc_entry *e = c->oldest;
    while (e) {
        tc_entry *next = e->newer;
        c->ops->free(e->value);
        free(e);
        e = next;
    }
    free(c->buckets);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

/*
 * The bucket of a key. Keys are digests of bytes a client chose (its token), and a client can
 * grind tokens whose digests share their low bits; mixing in a per-cache random secret keeps it
 * from piling its entries into one chain.
 */
static size_t tc_bucket(const ttl_cache *c, const unsigned char *key)
{
    uint64_t h = c->secret;
    for (size_t i = 0; i < TTL_CACHE_KEY_LEN; i += sizeof(uint64_t)) {
        uint64_t w;
        memcpy(&w, key + i, sizeof w);
        h = (h ^ w) * 0x9E3779B97F4A7C15ull;
        h ^= h >> 32;
    }
    return (size_t)(h & (c->nbuckets - 1));
}

static tc_entry *tc_find(const ttl_cache *c, const unsigned char *key)
{
    for (tc_entry *e = c->buckets[tc_bucket(c, key)]; e; e = e->bucket_next)
        if (memcmp(e->key, key, TTL_CACHE_KEY_LEN) == 0)
            return e;
    return NULL;
}

static void tc_list_unlink(ttl_cache *c, tc_entry *e)
{
    if (e->older)
        e->older->newer = e->newer;
    else
        c->oldest = e->newer;
    if (e->newer)
        e->newer->older = e->older;
    else
        c->newest = e->older;
    e->older = e->newer = NULL;
}

static void tc_list_append(ttl_cache *c, tc_entry *e)
{
    e->older = c->newest;
    e->newer = NULL;
    if (c->newest)
        c->newest->newer = e;
    else
        c->oldest = e;
    c->newest = e;
}

/* Takes e out of the table and the list and frees it with its value. */
static void tc_remove(ttl_cache *c, tc_entry *e)
{
    tc_entry **pp = &c->buckets[tc_bucket(c, e->key)];
    while (*pp != e)
        pp = &(*pp)->bucket_next;
    *pp = e->bucket_next;
    tc_list_unlink(c, e);
    c->ops->free(e->value);
    free(e);
    c->nentries--;
}

/* Drops every expired entry and makes earliest_expiry_ns exact again. */
static void tc_drop_expired(ttl_cache *c, uint64_t now)
{
    uint64_t earliest = UINT64_MAX;
    tc_entry *e = c->oldest;
    while (e) {
        tc_entry *next = e->newer;
        if (now >= e->expires_ns)
            tc_remove(c, e);
        else if (e->expires_ns < earliest)
            earliest = e->expires_ns;
        e = next;
    }
    c->earliest_expiry_ns = earliest;
}

/* Makes room for one more entry: expired ones first, else the oldest. */
static void tc_make_room(ttl_cache *c, uint64_t now)
{
    if (c->nentries < c->max_entries)
        return;
    if (now >= c->earliest_expiry_ns)
        tc_drop_expired(c, now);
    if (c->nentries < c->max_entries)
        return;
    tc_remove(c, c->oldest);
    c->evictions++;
}

int ttl_cache_get(ttl_cache *c, const unsigned char key[TTL_CACHE_KEY_LEN], void **out)
{
    *out = NULL;
    uint64_t now = clk_mono_ns(c->clock);
    pthread_mutex_lock(&c->mu);
    tc_entry *e = tc_find(c, key);
    if (e && now >= e->expires_ns) {
        tc_remove(c, e);
        e = NULL;
    }
    if (e) {
        *out = c->ops->dup(e->value);
        c->hits++;
    } else {
        c->misses++;
    }
    pthread_mutex_unlock(&c->mu);
    return e ? 0 : -ENOENT;
}

void ttl_cache_put(ttl_cache *c, const unsigned char key[TTL_CACHE_KEY_LEN], void *value,
                   uint64_t ttl_ms)
{
    if (ttl_ms == 0) {
        c->ops->free(value);
        return;
    }
    uint64_t now = clk_mono_ns(c->clock);
    uint64_t ttl_ns = ttl_ms > UINT64_MAX / CLK_NS_PER_MS ? UINT64_MAX : ttl_ms * CLK_NS_PER_MS;
    uint64_t expires = ttl_ns > UINT64_MAX - now ? UINT64_MAX : now + ttl_ns;

    pthread_mutex_lock(&c->mu);
    tc_entry *e = tc_find(c, key);
    if (e) {
        c->ops->free(e->value);
        tc_list_unlink(c, e);
    } else {
        tc_make_room(c, now);
        e = xcalloc(1, sizeof *e);
        memcpy(e->key, key, TTL_CACHE_KEY_LEN);
        size_t b = tc_bucket(c, key);
        e->bucket_next = c->buckets[b];
        c->buckets[b] = e;
        c->nentries++;
    }
    e->value = value;
    e->expires_ns = expires;
    tc_list_append(c, e);
    if (expires < c->earliest_expiry_ns)
        c->earliest_expiry_ns = expires;
    pthread_mutex_unlock(&c->mu);
}

void ttl_cache_stats_get(ttl_cache *c, ttl_cache_stats *out)
{
    pthread_mutex_lock(&c->mu);
    *out = (ttl_cache_stats){
        .hits = c->hits,
        .misses = c->misses,
        .evictions = c->evictions,
        .entries = c->nentries,
    };
    pthread_mutex_unlock(&c->mu);
}

void ttl_cache_key(const void *data, size_t len, unsigned char key[TTL_CACHE_KEY_LEN])
{
    /* Every OpenSSL build has SHA-256. Without it, keys would collide and one token's review
       could answer another's: stop, as for running out of memory. */
    if (sha256(data, len, key) != 0) {
        log_error("SHA-256 is not available from OpenSSL: cannot key the review caches");
        abort();
    }
}

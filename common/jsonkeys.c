#include "common/jsonkeys.h"
#include "common/alloc.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

/*
 * Keys come from clients, so the hash is seeded per process: with uthash's fixed default hash,
 * an attacker could send keys that all land in one bucket and make every lookup linear again.
 */
static uint64_t hash_seed;
static pthread_once_t hash_seed_once = PTHREAD_ONCE_INIT;

static void init_hash_seed(void)
{
    if (getrandom(&hash_seed, sizeof hash_seed, 0) != (ssize_t)sizeof hash_seed)
        hash_seed = (uint64_t)(uintptr_t)&hash_seed ^ 0x9e3779b97f4a7c15u; /* ASLR, at least */
}

/* A seeded 64-bit multiply-xorshift hash of the key bytes, folded to uthash's 32 bits. */
static unsigned jk_hash(const void *key, size_t len)
{
    pthread_once(&hash_seed_once, init_hash_seed);
    const unsigned char *p = key;
    uint64_t h = hash_seed ^ (len * 0xff51afd7ed558ccdu);
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 0x100000001b3u;
        h ^= h >> 29;
    }
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53u;
    h ^= h >> 33;
    return (unsigned)h;
}

/* uthash allocates through the project's wrappers, so out-of-memory has one policy. */
#define uthash_malloc(sz)                    xmalloc(sz)
#define uthash_free(ptr, sz)                 free(ptr)
#define HASH_FUNCTION(keyptr, keylen, hashv) ((hashv) = jk_hash((keyptr), (keylen)))
#include <uthash.h>

typedef struct jk_entry {
    const char *key; /* borrowed: item->string */
    cJSON *item;     /* borrowed */
    UT_hash_handle hh;
} jk_entry;

struct jk_index {
    jk_entry *head; /* uthash table; NULL when empty */
};

jk_index *jk_index_new(void)
{
    return xcalloc(1, sizeof(jk_index));
}

jk_index *jk_index_of(const cJSON *obj)
{
    jk_index *ix = jk_index_new();
    if (!cJSON_IsObject(obj))
        return ix;
    for (cJSON *m = obj->child; m; m = m->next)
        if (m->string)
            jk_index_put(ix, m);
    return ix;
}

cJSON *jk_index_put(jk_index *ix, cJSON *item)
{
    const char *key = item->string;
    size_t n = strlen(key);
    jk_entry *e = NULL;
    HASH_FIND(hh, ix->head, key, n, e);
    if (e) {
        cJSON *previous = e->item;
        e->item = item;
        e->key = key;    /* the old key string may die with the old item: */
        e->hh.key = key; /* equal bytes, so the hash and bucket stay right */
        return previous;
    }
    e = xmalloc(sizeof *e);
    e->key = key;
    e->item = item;
    HASH_ADD_KEYPTR(hh, ix->head, e->key, n, e);
    return NULL;
}

cJSON *jk_index_get(const jk_index *ix, const char *key)
{
    jk_entry *e = NULL;
    HASH_FIND(hh, ix->head, key, strlen(key), e);
    return e ? e->item : NULL;
}

void jk_index_remove(jk_index *ix, const char *key)
{
    jk_entry *e = NULL;
    HASH_FIND(hh, ix->head, key, strlen(key), e);
    if (!e)
        return;
    HASH_DEL(ix->head, e);
    free(e);
}

size_t jk_index_count(const jk_index *ix)
{
    return HASH_COUNT(ix->head);
}

void jk_index_free(jk_index *ix)
{
    if (!ix)
        return;
    jk_entry *e, *tmp;
    HASH_ITER(hh, ix->head, e, tmp)
    {
        HASH_DEL(ix->head, e);
        free(e);
    }
    free(ix);
}

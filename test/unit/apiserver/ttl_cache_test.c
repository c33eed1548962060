/*
 * ttl_cache_test.c - the bounded TTL map of the webhook caches (ttl_cache.h): expiry on a fake
 * clock, replacement, the bound (expired entries go first, then the oldest), owned lookups, and
 * concurrent use.
 */
#include "apiserver/transport/ttl_cache.h"

#include "common/alloc.h"
#include "common/clock.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

/* A refcounted int: lookups hand out references, so a test can check that none leaks. */
typedef struct counted {
    atomic_int refs;
    int v;
} counted;

static atomic_int live_values;

static counted *counted_new(int v)
{
    counted *x = xmalloc(sizeof *x);
    atomic_init(&x->refs, 1);
    x->v = v;
    atomic_fetch_add(&live_values, 1);
    return x;
}

static void *counted_dup(void *p)
{
    atomic_fetch_add(&((counted *)p)->refs, 1);
    return p;
}

static void counted_free(void *p)
{
    counted *x = p;
    if (atomic_fetch_sub(&x->refs, 1) == 1) {
        atomic_fetch_sub(&live_values, 1);
        free(x);
    }
}

static const ttl_cache_ops ops = {.dup = counted_dup, .free = counted_free};

static void key_of(int i, unsigned char key[TTL_CACHE_KEY_LEN])
{
    ttl_cache_key(&i, sizeof i, key);
}

/* The value under key i, or -1 when the lookup misses. */
static int get_int(ttl_cache *c, int i)
{
    unsigned char key[TTL_CACHE_KEY_LEN];
    key_of(i, key);
    void *p = NULL;
    if (ttl_cache_get(c, key, &p) != 0) {
        cr_assert_null(p);
        return -1;
    }
    int v = ((counted *)p)->v;
    counted_free(p);
    return v;
}

static void put_int(ttl_cache *c, int i, int v, uint64_t ttl_ms)
{
    unsigned char key[TTL_CACHE_KEY_LEN];
    key_of(i, key);
    ttl_cache_put(c, key, counted_new(v), ttl_ms);
}

static clk_t *clk;

static void setup(void)
{
    atomic_store(&live_values, 0);
    clk = clk_fake_new(0);
}

static void teardown(void)
{
    clk_fake_free(clk);
    cr_expect_eq(atomic_load(&live_values), 0, "every value released");
}

TestSuite(ttl_cache, .init = setup, .fini = teardown);

Test(ttl_cache, hit_until_the_ttl_then_miss)
{
    ttl_cache *c = ttl_cache_new(0, clk, &ops);
    put_int(c, 1, 100, 10000);
    cr_expect_eq(get_int(c, 1), 100);
    clk_fake_advance_ms(clk, 9999);
    cr_expect_eq(get_int(c, 1), 100, "still live 1 ms before the deadline");
    clk_fake_advance_ms(clk, 1);
    cr_expect_eq(get_int(c, 1), -1, "expired at the deadline");
    cr_expect_eq(get_int(c, 2), -1, "never stored");

    ttl_cache_stats st;
    ttl_cache_stats_get(c, &st);
    cr_expect_eq(st.hits, 2);
    cr_expect_eq(st.misses, 2);
    cr_expect_eq(st.entries, 0, "the expired entry was dropped by the lookup");
    ttl_cache_free(c);
}

Test(ttl_cache, each_entry_has_its_own_ttl)
{
    ttl_cache *c = ttl_cache_new(0, clk, &ops);
    put_int(c, 1, 1, 1000);
    put_int(c, 2, 2, 5000);
    clk_fake_advance_ms(clk, 1000);
    cr_expect_eq(get_int(c, 1), -1);
    cr_expect_eq(get_int(c, 2), 2);
    ttl_cache_free(c);
}

Test(ttl_cache, put_replaces_and_restarts_the_ttl)
{
    ttl_cache *c = ttl_cache_new(0, clk, &ops);
    put_int(c, 1, 1, 1000);
    clk_fake_advance_ms(clk, 900);
    put_int(c, 1, 2, 1000);
    clk_fake_advance_ms(clk, 900);
    cr_expect_eq(get_int(c, 1), 2);
    ttl_cache_stats st;
    ttl_cache_stats_get(c, &st);
    cr_expect_eq(st.entries, 1);
    ttl_cache_free(c);
}

Test(ttl_cache, zero_ttl_stores_nothing)
{
    ttl_cache *c = ttl_cache_new(0, clk, &ops);
    put_int(c, 1, 1, 0);
    cr_expect_eq(get_int(c, 1), -1);
    ttl_cache_free(c);
}

Test(ttl_cache, a_full_cache_drops_the_oldest)
{
    ttl_cache *c = ttl_cache_new(3, clk, &ops);
    for (int i = 1; i <= 3; i++)
        put_int(c, i, i, 10000);
    put_int(c, 4, 4, 10000);
    cr_expect_eq(get_int(c, 1), -1, "the oldest went");
    for (int i = 2; i <= 4; i++)
        cr_expect_eq(get_int(c, i), i);
    ttl_cache_stats st;
    ttl_cache_stats_get(c, &st);
    cr_expect_eq(st.entries, 3);
    cr_expect_eq(st.evictions, 1);
    ttl_cache_free(c);
}

Test(ttl_cache, a_full_cache_drops_expired_entries_before_live_ones)
{
    ttl_cache *c = ttl_cache_new(3, clk, &ops);
    put_int(c, 1, 1, 10000); /* oldest, but live */
    put_int(c, 2, 2, 1000);
    put_int(c, 3, 3, 1000);
    clk_fake_advance_ms(clk, 1000);
    put_int(c, 4, 4, 10000);
    cr_expect_eq(get_int(c, 1), 1, "the oldest live entry stays");
    cr_expect_eq(get_int(c, 4), 4);
    ttl_cache_stats st;
    ttl_cache_stats_get(c, &st);
    cr_expect_eq(st.entries, 2, "both expired entries were dropped");
    cr_expect_eq(st.evictions, 0);
    ttl_cache_free(c);
}

Test(ttl_cache, replacing_makes_an_entry_the_newest)
{
    ttl_cache *c = ttl_cache_new(2, clk, &ops);
    put_int(c, 1, 1, 10000);
    put_int(c, 2, 2, 10000);
    put_int(c, 1, 11, 10000);
    put_int(c, 3, 3, 10000);
    cr_expect_eq(get_int(c, 2), -1, "2 was the oldest after 1 was replaced");
    cr_expect_eq(get_int(c, 1), 11);
    ttl_cache_free(c);
}

Test(ttl_cache, a_lookup_owns_its_value_after_eviction)
{
    ttl_cache *c = ttl_cache_new(1, clk, &ops);
    put_int(c, 1, 42, 10000);
    unsigned char key[TTL_CACHE_KEY_LEN];
    key_of(1, key);
    void *p = NULL;
    cr_assert_eq(ttl_cache_get(c, key, &p), 0);
    put_int(c, 2, 2, 10000); /* evicts entry 1 */
    cr_expect_eq(((counted *)p)->v, 42, "the reference outlives the entry");
    counted_free(p);
    ttl_cache_free(c);
}

Test(ttl_cache, a_flood_of_keys_stays_bounded)
{
    ttl_cache *c = ttl_cache_new(64, clk, &ops);
    for (int i = 0; i < 10000; i++)
        put_int(c, i, i, 10000);
    ttl_cache_stats st;
    ttl_cache_stats_get(c, &st);
    cr_expect_eq(st.entries, 64);
    cr_expect_eq(atomic_load(&live_values), 64);
    cr_expect_eq(get_int(c, 9999), 9999);
    cr_expect_eq(get_int(c, 0), -1);
    ttl_cache_free(c);
}

Test(ttl_cache, key_is_sha256)
{
    unsigned char key[TTL_CACHE_KEY_LEN];
    ttl_cache_key("abc", 3, key);
    /* SHA-256("abc"), FIPS 180-2 appendix B.1 */
    static const unsigned char want[TTL_CACHE_KEY_LEN] = {
        0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41, 0x40,
        0xde, 0x5d, 0xae, 0x22, 0x23, 0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17,
        0x7a, 0x9c, 0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad};
    cr_expect_eq(memcmp(key, want, sizeof want), 0);
}

/* Several threads putting and getting overlapping keys while the fake clock moves: run under
   ASan (and the TSan shim), the point is no crash, no leak, and consistent counters. */
typedef struct worker_arg {
    ttl_cache *c;
    int base;
} worker_arg;

static void *worker(void *p)
{
    worker_arg *a = p;
    for (int i = 0; i < 2000; i++) {
        int k = (a->base + i) % 100;
        put_int(a->c, k, k, 50);
        int v = get_int(a->c, (k + 7) % 100);
        cr_expect(v == -1 || v == (k + 7) % 100);
        if (i % 100 == 0)
            clk_fake_advance_ms(clk, 10);
    }
    return NULL;
}

Test(ttl_cache, concurrent_use)
{
    ttl_cache *c = ttl_cache_new(32, clk, &ops);
    pthread_t t[4];
    worker_arg args[4];
    for (int i = 0; i < 4; i++) {
        args[i] = (worker_arg){c, i * 25};
        cr_assert_eq(pthread_create(&t[i], NULL, worker, &args[i]), 0);
    }
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    ttl_cache_stats st;
    ttl_cache_stats_get(c, &st);
    cr_expect_eq(st.hits + st.misses, 4 * 2000);
    cr_expect_leq(st.entries, 32);
    ttl_cache_free(c);
}

/*
 * The stress test of issue 3: 8 producers and 4 workers share one queue; 100 000 adds over
 * 1000 keys. Checks the two promises that matter to a controller:
 * - never concurrent: a per-key in-flight flag is set by the worker that takes the key; finding
 *   it already set means two workers hold the key at once;
 * - nothing lost: a global sequence orders events. A producer stamps key k with a sequence
 *   number before calling wq_add; a worker stamps k's "last start" after wq_get returns it. Every
 *   add must be followed by a start of the same key, so at the end last_start[k] > last_add[k].
 * Run it under ThreadSanitizer too (-DFOO_TSAN=ON).
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>

#include "wq_test_util.h"

#define PRODUCERS 8
#define WORKERS   4
#define ADDS      100000
#define KEYS      1000

static wq *q;
static atomic_uint_fast64_t seq;
static atomic_uint_fast64_t last_add[KEYS];
static atomic_uint_fast64_t last_start[KEYS];
static atomic_bool in_flight[KEYS];
static atomic_int overlaps;
static atomic_long processed;

static uint64_t next_seq(void)
{
    return atomic_fetch_add(&seq, 1) + 1;
}

/* last_add[k] = max(last_add[k], s): producers race on the same key. */
static void stamp_max(atomic_uint_fast64_t *slot, uint64_t s)
{
    uint_fast64_t cur = atomic_load(slot);
    while (cur < s && !atomic_compare_exchange_weak(slot, &cur, s))
        ;
}

static void *producer_main(void *arg)
{
    unsigned seed = (unsigned)(uintptr_t)arg * 2654435761u + 1;
    char key[16];
    for (int i = 0; i < ADDS / PRODUCERS; i++) {
        int k = (int)(rand_r(&seed) % KEYS);
        snprintf(key, sizeof key, "k%d", k);
        stamp_max(&last_add[k], next_seq());
        wq_add(q, key);
        if (i % 64 == 0)
            sched_yield(); /* let workers interleave on a 2-core machine */
    }
    return NULL;
}

static void *worker_main(void *arg)
{
    char *key;
    while (wq_get(q, &key)) {
        int k = atoi(key + 1);
        if (atomic_exchange(&in_flight[k], true))
            atomic_fetch_add(&overlaps, 1);
        stamp_max(&last_start[k], next_seq());
        if (atomic_fetch_add(&processed, 1) % 16 == 0)
            sched_yield(); /* widen the window in which adds hit a processing key */
        atomic_store(&in_flight[k], false);
        wq_done(q, key);
        free(key);
    }
    return NULL;
}

TestSuite(stress, .init = arm_watchdog);

Test(stress, eight_producers_four_workers_no_overlap_and_nothing_lost)
{
    q = wq_new(NULL);
    cr_assert_not_null(q);
    pthread_t producers[PRODUCERS], workers[WORKERS];
    for (int i = 0; i < WORKERS; i++)
        cr_assert_eq(pthread_create(&workers[i], NULL, worker_main, NULL), 0);
    for (int i = 0; i < PRODUCERS; i++)
        cr_assert_eq(pthread_create(&producers[i], NULL, producer_main, (void *)(uintptr_t)i), 0);
    for (int i = 0; i < PRODUCERS; i++)
        cr_assert_eq(pthread_join(producers[i], NULL), 0);
    /* Plain shutdown: getters still drain what is queued, and a worker that finds its key
     * re-added at done takes it again, so every pending add is processed before they exit. */
    wq_shutdown(q);
    for (int i = 0; i < WORKERS; i++)
        cr_assert_eq(pthread_join(workers[i], NULL), 0);

    cr_assert_eq(atomic_load(&overlaps), 0, "a key was processed by two workers at once");
    int added = 0;
    for (int k = 0; k < KEYS; k++) {
        uint64_t a = atomic_load(&last_add[k]), s = atomic_load(&last_start[k]);
        if (a == 0)
            continue;
        added++;
        cr_assert_gt(s, a, "key k%d added at seq %llu but last started at %llu: add lost", k,
                     (unsigned long long)a, (unsigned long long)s);
    }
    cr_assert_gt(added, KEYS * 9 / 10, "the random keys should cover the key space");
    cr_assert_leq(atomic_load(&processed), ADDS);
    cr_assert_eq(wq_len(q), 0);
    cr_log_info("stress: %ld keys processed for %d adds", atomic_load(&processed), ADDS);
    wq_free(q);
}

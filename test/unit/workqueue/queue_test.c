/* Dedup, dirty/processing, FIFO and shutdown invariants of the queue. */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>

#include "wq_test_util.h"

static clk_t *clk;
static wq *q;

static void setup(void)
{
    arm_watchdog();
    clk = clk_fake_new(0);
    q = new_fake_queue(clk, "test");
}

static void teardown(void)
{
    wq_free(q);
    clk_fake_free(clk);
}

TestSuite(queue, .init = setup, .fini = teardown);

Test(queue, dedups_a_key_added_twice_before_it_is_taken)
{
    wq_add(q, "a");
    wq_add(q, "a");
    cr_assert_eq(wq_len(q), 1);
    expect_get(q, "a");
    cr_assert_eq(wq_len(q), 0);
    wq_done(q, "a");
    cr_assert_eq(wq_len(q), 0, "a done key that was not re-added is not queued again");
}

Test(queue, hands_out_keys_in_fifo_order)
{
    wq_add(q, "c");
    wq_add(q, "a");
    wq_add(q, "b");
    wq_add(q, "a"); /* dedup keeps a's first place */
    expect_get(q, "c");
    expect_get(q, "a");
    expect_get(q, "b");
}

Test(queue, add_during_processing_is_replayed_after_done)
{
    wq_add(q, "a");
    expect_get(q, "a");
    wq_add(q, "a");
    cr_assert_eq(wq_len(q), 0, "a processing key is not queued");
    wq_add(q, "a");
    wq_done(q, "a");
    cr_assert_eq(wq_len(q), 1, "re-queued exactly once at done");
    expect_get(q, "a");
    wq_done(q, "a");
    cr_assert_eq(wq_len(q), 0);
}

Test(queue, never_hands_a_processing_key_to_a_second_worker)
{
    wq_add(q, "a");
    wq_add(q, "b");
    expect_get(q, "a");
    wq_add(q, "a");
    /* The next getter must get b, not the re-added a that is still processing. */
    expect_get(q, "b");
    cr_assert_eq(wq_len(q), 0);
    wq_done(q, "a");
    expect_get(q, "a");
}

Test(queue, done_of_an_unknown_key_is_ignored)
{
    wq_done(q, "nobody");
    wq_add(q, "a");
    wq_done(q, "a"); /* queued, not processing */
    cr_assert_eq(wq_len(q), 1);
    expect_get(q, "a");
}

Test(queue, add_after_shutdown_is_ignored)
{
    wq_shutdown(q);
    wq_add(q, "a");
    wq_add_after(q, "b", 0);
    cr_assert_eq(wq_len(q), 0);
    char *key = (char *)"sentinel";
    cr_assert_not(wq_get(q, &key));
    cr_assert_null(key);
}

Test(queue, getters_drain_queued_keys_after_shutdown)
{
    wq_add(q, "a");
    wq_add(q, "b");
    wq_shutdown(q);
    cr_assert(wq_shutting_down(q));
    expect_get(q, "a");
    expect_get(q, "b");
    char *key = NULL;
    cr_assert_not(wq_get(q, &key));
}

Test(queue, done_after_shutdown_still_replays_a_pending_add)
{
    wq_add(q, "a");
    expect_get(q, "a");
    wq_add(q, "a");
    wq_shutdown(q);
    wq_done(q, "a");
    expect_get(q, "a");
}

/* ---- threads ---- */

typedef struct getter {
    pthread_t tid;
    wq *q;
    atomic_bool returned;
    bool got;
} getter;

static void *getter_main(void *arg)
{
    getter *g = arg;
    char *key = NULL;
    g->got = wq_get(g->q, &key);
    free(key);
    atomic_store(&g->returned, true);
    return NULL;
}

/* Yields (no sleep) until n getters are blocked inside wq_get. */
static void wait_for_blocked_getters(wq *queue, size_t n)
{
    while (wq__getters_waiting(queue) < n)
        sched_yield();
}

Test(queue, shutdown_wakes_every_blocked_getter)
{
    getter g[3];
    for (int i = 0; i < 3; i++) {
        g[i].q = q;
        atomic_init(&g[i].returned, false);
        cr_assert_eq(pthread_create(&g[i].tid, NULL, getter_main, &g[i]), 0);
    }
    wait_for_blocked_getters(q, 3);
    for (int i = 0; i < 3; i++)
        cr_assert_not(atomic_load(&g[i].returned), "a getter returned before shutdown");
    wq_shutdown(q);
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(pthread_join(g[i].tid, NULL), 0);
        cr_assert_not(g[i].got, "woken getters report shutdown");
    }
}

Test(queue, add_wakes_a_blocked_getter)
{
    getter g = {.q = q};
    atomic_init(&g.returned, false);
    cr_assert_eq(pthread_create(&g.tid, NULL, getter_main, &g), 0);
    wait_for_blocked_getters(q, 1);
    wq_add(q, "a");
    cr_assert_eq(pthread_join(g.tid, NULL), 0);
    cr_assert(g.got);
}

typedef struct drainer {
    pthread_t tid;
    wq *q;
    atomic_bool finished;
} drainer;

static void *drainer_main(void *arg)
{
    drainer *d = arg;
    wq_shutdown_with_drain(d->q);
    atomic_store(&d->finished, true);
    return NULL;
}

Test(queue, shutdown_with_drain_waits_until_taken_keys_are_done)
{
    wq_add(q, "a");
    wq_add(q, "b");
    expect_get(q, "a");
    expect_get(q, "b");
    drainer d = {.q = q};
    atomic_init(&d.finished, false);
    cr_assert_eq(pthread_create(&d.tid, NULL, drainer_main, &d), 0);
    /* Once shutting_down is visible the drainer holds or awaits the lock, then waits on
     * processing_count, which stays above zero until both keys are done. */
    while (!wq_shutting_down(q))
        sched_yield();
    wq_done(q, "a");
    cr_assert_not(atomic_load(&d.finished), "drain returned with b still processing");
    wq_done(q, "b");
    cr_assert_eq(pthread_join(d.tid, NULL), 0);
    cr_assert(atomic_load(&d.finished));
}

Test(queue, shutdown_with_drain_returns_at_once_when_nothing_is_processing)
{
    wq_add(q, "a"); /* queued but not taken: drain does not wait for it */
    wq_shutdown_with_drain(q);
    cr_assert(wq_shutting_down(q));
}

/* Delayed adds on a fake clock: ready times, earliest wins, wake-ups. */
#include <pthread.h>
#include <sched.h>

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

TestSuite(delaying, .init = setup, .fini = teardown);

Test(delaying, delayed_key_is_not_ready_before_its_time_and_ready_after)
{
    wq_add_after(q, "a", 100);
    cr_assert_eq(wq_len(q), 0);
    clk_fake_advance_ms(clk, 99);
    cr_assert_eq(wq_tick(q), 0);
    cr_assert_eq(wq_len(q), 0);
    clk_fake_advance_ms(clk, 1);
    cr_assert_eq(wq_tick(q), 1);
    cr_assert_eq(wq_len(q), 1);
    expect_get(q, "a");
}

Test(delaying, earlier_add_after_wins_over_a_later_one)
{
    wq_add_after(q, "a", 100);
    wq_add_after(q, "a", 50);
    clk_fake_advance_ms(clk, 50);
    cr_assert_eq(wq_len(q), 1);
    expect_get(q, "a");
    wq_done(q, "a");
    clk_fake_advance_ms(clk, 50);
    cr_assert_eq(wq_len(q), 0, "the key waited once; the later time was dropped");
}

Test(delaying, later_add_after_does_not_postpone_a_waiting_key)
{
    wq_add_after(q, "a", 50);
    wq_add_after(q, "a", 100);
    clk_fake_advance_ms(clk, 50);
    cr_assert_eq(wq_len(q), 1);
    expect_get(q, "a");
    wq_done(q, "a");
    clk_fake_advance_ms(clk, 100);
    cr_assert_eq(wq_len(q), 0);
}

Test(delaying, delayed_keys_become_ready_in_ready_time_order)
{
    wq_add_after(q, "late", 30);
    wq_add_after(q, "early", 10);
    wq_add_after(q, "tie1", 20);
    wq_add_after(q, "tie2", 20);
    clk_fake_advance_ms(clk, 30);
    cr_assert_eq(wq_tick(q), 4);
    expect_get(q, "early");
    expect_get(q, "tie1");
    expect_get(q, "tie2");
    expect_get(q, "late");
}

Test(delaying, zero_delay_adds_at_once)
{
    wq_add_after(q, "a", 0);
    wq_add_after(q, "b", -5);
    cr_assert_eq(wq_len(q), 2);
}

Test(delaying, ready_delayed_key_that_is_already_dirty_is_deduped)
{
    wq_add_after(q, "a", 10);
    wq_add(q, "a");
    clk_fake_advance_ms(clk, 10);
    cr_assert_eq(wq_len(q), 1);
    expect_get(q, "a");
    cr_assert_eq(wq_len(q), 0);
}

Test(delaying, delayed_keys_are_dropped_at_shutdown)
{
    wq_add_after(q, "a", 10);
    wq_shutdown(q);
    clk_fake_advance_ms(clk, 10);
    cr_assert_eq(wq_tick(q), 0);
    char *key = NULL;
    cr_assert_not(wq_get(q, &key));
}

typedef struct getter {
    wq *q;
    bool got;
    char *key;
} getter;

static void *getter_main(void *arg)
{
    getter *g = arg;
    g->got = wq_get(g->q, &g->key);
    return NULL;
}

Test(delaying, tick_wakes_a_getter_blocked_on_a_delayed_key)
{
    getter g = {.q = q};
    pthread_t tid;
    wq_add_after(q, "a", 1000);
    cr_assert_eq(pthread_create(&tid, NULL, getter_main, &g), 0);
    while (wq__getters_waiting(q) < 1)
        sched_yield();
    clk_fake_advance_ms(clk, 1000);
    cr_assert_eq(wq_tick(q), 1);
    cr_assert_eq(pthread_join(tid, NULL), 0);
    cr_assert(g.got);
    cr_assert_str_eq(g.key, "a");
    free(g.key);
}

Test(delaying, real_clock_getter_wakes_when_the_delay_expires)
{
    /* The only test on the real clock: a 1 ms delay, no sleep in the test itself; the getter's
     * own timed wait must fire without any tick. */
    wq *rq = wq_new(NULL);
    cr_assert_not_null(rq);
    getter g = {.q = rq};
    pthread_t tid;
    wq_add_after(rq, "a", 1);
    cr_assert_eq(pthread_create(&tid, NULL, getter_main, &g), 0);
    cr_assert_eq(pthread_join(tid, NULL), 0);
    cr_assert(g.got);
    cr_assert_str_eq(g.key, "a");
    free(g.key);
    wq_free(rq);
}

/* Rate limiters on a fake clock, and the queue's rate-limited path. */
#include <stdio.h>

#include "wq_test_util.h"

#define MS CLK_NS_PER_MS

static clk_t *clk;

static void setup(void)
{
    arm_watchdog();
    clk = clk_fake_new(0);
}

static void teardown(void)
{
    clk_fake_free(clk);
}

TestSuite(ratelimit, .init = setup, .fini = teardown);

Test(ratelimit, per_item_doubles_from_5ms_and_caps_at_1000s)
{
    wq_ratelimiter *rl = wq_rl_per_item_new(clk, 5, 1000 * 1000);
    uint64_t want = 5 * MS;
    for (int i = 0; i < 25; i++) {
        uint64_t cap = 1000ull * 1000 * MS;
        uint64_t expect = want < cap ? want : cap;
        uint64_t got = wq_rl_when_ns(rl, "a");
        cr_assert_eq(got, expect, "retry %d: got %llu ns, want %llu ns", i, (unsigned long long)got,
                     (unsigned long long)expect);
        cr_assert_eq(wq_rl_retries(rl, "a"), i + 1);
        want *= 2;
        /* The retry comes from the backoff timer: exactly when the backoff ends. */
        clk_fake_advance_ms(clk, (int64_t)(got / MS));
    }
    wq_rl_free(rl);
}

Test(ratelimit, per_item_forget_resets_the_backoff)
{
    wq_ratelimiter *rl = wq_rl_per_item_new(clk, 5, 1000 * 1000);
    cr_assert_eq(wq_rl_when_ns(rl, "a"), 5 * MS);
    clk_fake_advance_ms(clk, 5);
    cr_assert_eq(wq_rl_when_ns(rl, "a"), 10 * MS);
    clk_fake_advance_ms(clk, 10);
    wq_rl_forget(rl, "a");
    cr_assert_eq(wq_rl_retries(rl, "a"), 0);
    cr_assert_eq(wq_rl_when_ns(rl, "a"), 5 * MS);
    wq_rl_free(rl);
}

Test(ratelimit, per_item_keys_back_off_independently)
{
    wq_ratelimiter *rl = wq_rl_per_item_new(clk, 5, 1000 * 1000);
    cr_assert_eq(wq_rl_when_ns(rl, "a"), 5 * MS);
    clk_fake_advance_ms(clk, 5);
    cr_assert_eq(wq_rl_when_ns(rl, "a"), 10 * MS);
    cr_assert_eq(wq_rl_when_ns(rl, "b"), 5 * MS);
    wq_rl_free(rl);
}

Test(ratelimit, premature_retries_do_not_double_the_backoff)
{
    wq_ratelimiter *rl = wq_rl_per_item_new(clk, 5, 1000 * 1000);
    cr_assert_eq(wq_rl_when_ns(rl, "a"), 5 * MS);
    clk_fake_advance_ms(clk, 2);
    /* Two spurious triggers before the backoff ends: the time left, no new failure. */
    cr_assert_eq(wq_rl_when_ns(rl, "a"), 3 * MS);
    cr_assert_eq(wq_rl_when_ns(rl, "a"), 3 * MS);
    cr_assert_eq(wq_rl_retries(rl, "a"), 1);
    clk_fake_advance_ms(clk, 3);
    cr_assert_eq(wq_rl_when_ns(rl, "a"), 10 * MS, "the timer's retry doubles");
    cr_assert_eq(wq_rl_retries(rl, "a"), 2);
    wq_rl_free(rl);
}

Test(ratelimit, bucket_allows_the_burst_then_spaces_by_100ms)
{
    wq_ratelimiter *rl = wq_rl_bucket_new(clk, 10, 100);
    for (int i = 0; i < 100; i++)
        cr_assert_eq(wq_rl_when_ns(rl, "k"), 0, "token %d of the burst", i);
    cr_assert_eq(wq_rl_when_ns(rl, "k"), 100 * MS);
    cr_assert_eq(wq_rl_when_ns(rl, "k"), 200 * MS);
    cr_assert_eq(wq_rl_when_ns(rl, "k"), 300 * MS);
    cr_assert_eq(wq_rl_retries(rl, "k"), 0);
    wq_rl_free(rl);
}

Test(ratelimit, bucket_refills_at_qps_up_to_the_burst)
{
    wq_ratelimiter *rl = wq_rl_bucket_new(clk, 10, 100);
    for (int i = 0; i < 100; i++)
        cr_assert_eq(wq_rl_when_ns(rl, "k"), 0);
    clk_fake_advance_ms(clk, 1000); /* 10 tokens back */
    for (int i = 0; i < 10; i++)
        cr_assert_eq(wq_rl_when_ns(rl, "k"), 0);
    cr_assert_eq(wq_rl_when_ns(rl, "k"), 100 * MS);
    clk_fake_advance_ms(clk, 3600 * 1000); /* an hour idle refills only the burst */
    for (int i = 0; i < 100; i++)
        cr_assert_eq(wq_rl_when_ns(rl, "k"), 0);
    cr_assert_eq(wq_rl_when_ns(rl, "k"), 100 * MS);
    wq_rl_free(rl);
}

Test(ratelimit, max_of_returns_the_longest_child_delay)
{
    wq_ratelimiter *parts[2] = {
        wq_rl_per_item_new(clk, 5, 1000 * 1000),
        wq_rl_bucket_new(clk, 1, 1),
    };
    wq_ratelimiter *rl = wq_rl_max_of_new(parts, 2);
    cr_assert_eq(wq_rl_when_ns(rl, "a"), 5 * MS, "per-item 5 ms beats the bucket's 0");
    cr_assert_eq(wq_rl_when_ns(rl, "b"), 1000 * MS, "bucket 1 s beats per-item 5 ms");
    cr_assert_eq(wq_rl_retries(rl, "a"), 1);
    wq_rl_forget(rl, "a");
    cr_assert_eq(wq_rl_retries(rl, "a"), 0);
    wq_rl_free(rl);
}

Test(ratelimit, default_controller_limiter_is_per_item_until_the_bucket_runs_dry)
{
    wq_ratelimiter *rl = wq_rl_default_controller_new(clk);
    char key[16];
    for (int i = 0; i < 100; i++) {
        snprintf(key, sizeof key, "k%d", i);
        cr_assert_eq(wq_rl_when_ns(rl, key), 5 * MS);
    }
    cr_assert_eq(wq_rl_when_ns(rl, "k100"), 100 * MS);
    wq_rl_free(rl);
}

Test(ratelimit, add_rate_limited_waits_for_the_limiter_delay)
{
    wq *q = new_fake_queue(clk, "test");
    wq_add_rate_limited(q, "a");
    cr_assert_eq(wq_num_requeues(q, "a"), 1);
    clk_fake_advance_ms(clk, 4);
    cr_assert_eq(wq_len(q), 0);
    clk_fake_advance_ms(clk, 1);
    cr_assert_eq(wq_len(q), 1);
    expect_get(q, "a");
    wq_add_rate_limited(q, "a"); /* failed again, from the timer: 10 ms */
    wq_done(q, "a");
    cr_assert_eq(wq_num_requeues(q, "a"), 2);
    clk_fake_advance_ms(clk, 9);
    cr_assert_eq(wq_len(q), 0);
    clk_fake_advance_ms(clk, 1);
    cr_assert_eq(wq_len(q), 1);
    wq_forget(q, "a");
    cr_assert_eq(wq_num_requeues(q, "a"), 0);
    wq_free(q);
}

Test(ratelimit, queue_uses_the_limiter_given_in_options)
{
    wq_options o = wq_defaults();
    o.clock = clk;
    o.ratelimiter = wq_rl_per_item_new(clk, 1000, 1000);
    wq *q = wq_new(&o);
    cr_assert_not_null(q);
    wq_add_rate_limited(q, "a");
    clk_fake_advance_ms(clk, 999);
    cr_assert_eq(wq_len(q), 0);
    clk_fake_advance_ms(clk, 1);
    cr_assert_eq(wq_len(q), 1);
    wq_free(q);
}

/*
 * test_clock.c - the injectable clock (common/clock.h): a fake clock moves only when told, and
 * the real-time helpers for condition variables give normalised CLOCK_MONOTONIC deadlines that a
 * monotonic condition variable honours.
 */
#include "common/clock.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <stdbool.h>
#include <pthread.h>
#include <time.h>

TestSuite(clock);

static int64_t ts_ns(struct timespec t)
{
    return (int64_t)t.tv_sec * (int64_t)CLK_NS_PER_S + t.tv_nsec;
}

Test(clock, a_fake_clock_moves_only_when_advanced)
{
    clk_t *c = clk_fake_new(1000);
    cr_expect_eq(clk_wall_ms(c), 1000);
    cr_expect_eq(clk_mono_ns(c), 0);
    clk_fake_advance_ms(c, 1500);
    cr_expect_eq(clk_wall_ms(c), 2500);
    cr_expect_eq(clk_mono_ns(c), 1500 * CLK_NS_PER_MS);
    clk_fake_free(c);
}

Test(clock, mono_deadlines_are_normalised_and_ns_apart)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    /* 999 999 999 ns forces a carry into tv_sec whatever now's nanoseconds are */
    uint64_t ns[] = {0, 1, CLK_NS_PER_S - 1, CLK_NS_PER_S, 3 * CLK_NS_PER_S + 999999999ull};
    for (size_t i = 0; i < sizeof ns / sizeof ns[0]; i++) {
        struct timespec d = clk_mono_deadline(ns[i]);
        cr_expect(d.tv_nsec >= 0 && d.tv_nsec < (long)CLK_NS_PER_S, "tv_nsec %ld", d.tv_nsec);
        cr_expect_geq(ts_ns(d) - ts_ns(now), (int64_t)ns[i], "at least ns after an earlier now");
    }
}

Test(clock, a_mono_condition_variable_times_out_at_a_past_deadline)
{
    pthread_cond_t cond;
    pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
    cr_assert_eq(clk_mono_cond_init(&cond), 0);
    struct timespec due = clk_mono_deadline(0);
    pthread_mutex_lock(&mu);
    int rc = 0;
    while (rc == 0)
        rc = pthread_cond_timedwait(&cond, &mu, &due);
    pthread_mutex_unlock(&mu);
    cr_expect_eq(rc, ETIMEDOUT);
    pthread_cond_destroy(&cond);
}

typedef struct signaller {
    pthread_mutex_t mu;
    pthread_cond_t cond;
    bool done;
} signaller;

static void *signal_done(void *arg)
{
    signaller *s = arg;
    pthread_mutex_lock(&s->mu);
    s->done = true;
    pthread_cond_signal(&s->cond);
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

/* An hour from now on CLOCK_MONOTONIC is long past on CLOCK_REALTIME (seconds since boot against
 * seconds since 1970): a condition variable on the wrong clock would time out at once. */
Test(clock, a_mono_condition_variable_waits_for_a_future_deadline)
{
    signaller s = {.mu = PTHREAD_MUTEX_INITIALIZER};
    cr_assert_eq(clk_mono_cond_init(&s.cond), 0);
    struct timespec due = clk_mono_deadline(3600 * CLK_NS_PER_S);
    pthread_mutex_lock(&s.mu);
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, signal_done, &s), 0);
    int rc = 0;
    while (!s.done && rc == 0)
        rc = pthread_cond_timedwait(&s.cond, &s.mu, &due);
    pthread_mutex_unlock(&s.mu);
    pthread_join(t, NULL);
    cr_expect_eq(rc, 0, "woken by the signal, not timed out");
    cr_expect(s.done);
    pthread_cond_destroy(&s.cond);
}

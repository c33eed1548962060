/* The reflector's backoff: client-go's numbers, jitter bounds and the reset after healthy time. */
#include "informer/internal.h"

#include <criterion/criterion.h>

#define MS CLK_NS_PER_MS

static inf_backoff make(double jitter, uint64_t seed)
{
    inf_options o = inf_options_defaults();
    o.backoff_jitter = jitter;
    inf_backoff b;
    inf_backoff_init(&b, &o, seed);
    return b;
}

Test(backoff, sequence_doubles_from_800ms_to_the_30s_cap)
{
    inf_backoff b = make(0, 1);
    uint64_t want[] = {800, 1600, 3200, 6400, 12800, 25600, 30000, 30000, 30000};
    uint64_t now = 0;
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        uint64_t d = inf_backoff_next(&b, now);
        cr_assert_eq(d, want[i] * MS, "step %zu: %llu ms", i, (unsigned long long)(d / MS));
        now += d; /* retried right after the wait, failing again */
    }
}

Test(backoff, jitter_stays_within_one_base_above_the_base)
{
    uint64_t bases[] = {800, 1600, 3200, 6400, 12800, 25600, 30000, 30000};
    double lo_frac = 1.0, hi_frac = 0.0;
    for (uint64_t seed = 1; seed <= 200; seed++) {
        inf_backoff b = make(1.0, seed);
        uint64_t now = 0;
        for (size_t i = 0; i < sizeof bases / sizeof bases[0]; i++) {
            uint64_t d = inf_backoff_next(&b, now);
            uint64_t base = bases[i] * MS;
            cr_assert_geq(d, base, "seed %llu step %zu", (unsigned long long)seed, i);
            cr_assert_lt(d, 2 * base, "seed %llu step %zu", (unsigned long long)seed, i);
            double frac = (double)(d - base) / (double)base;
            lo_frac = frac < lo_frac ? frac : lo_frac;
            hi_frac = frac > hi_frac ? frac : hi_frac;
            now += d;
        }
    }
    cr_assert_lt(lo_frac, 0.05, "jitter reaches near 0 (min %f)", lo_frac);
    cr_assert_gt(hi_frac, 0.95, "jitter reaches near 1 (max %f)", hi_frac);
}

Test(backoff, resets_after_two_minutes_without_a_failure)
{
    inf_backoff b = make(0, 1);
    uint64_t now = 0;
    for (int i = 0; i < 5; i++)
        now += inf_backoff_next(&b, now);
    now += 120001 * MS;
    cr_assert_eq(inf_backoff_next(&b, now), 800 * MS);
    cr_assert_eq(inf_backoff_next(&b, now + 1), 1600 * MS);
}

Test(backoff, keeps_growing_when_failures_are_less_than_two_minutes_apart)
{
    inf_backoff b = make(0, 1);
    uint64_t now = 0;
    for (int i = 0; i < 3; i++)
        now += inf_backoff_next(&b, now);
    now += 110000 * MS; /* the last step was taken 3.2 s + 110 s ago */
    cr_assert_eq(inf_backoff_next(&b, now), 6400 * MS);
}

Test(backoff, same_seed_same_sequence)
{
    inf_backoff a = make(1.0, 99), b = make(1.0, 99);
    for (int i = 0; i < 10; i++)
        cr_assert_eq(inf_backoff_next(&a, (uint64_t)i), inf_backoff_next(&b, (uint64_t)i));
}

/*
 * ratelimit.c - the client-side token bucket (qps, burst) of the REST client (rest_internal.h).
 *
 * Like client-go's flowcontrol.NewTokenBucketRateLimiter: the bucket starts full, refills at qps
 * tokens per second up to burst, and a caller that finds it empty reserves the next token (the
 * count goes negative) and waits outside the lock, so waiting callers are served in order and a
 * burst of threads never overshoots the rate.
 */
#include "client/rest_internal.h"

#include <math.h>

void kc_bucket_init(kc_bucket *b, double qps, int burst, clk_t *clock)
{
    pthread_mutex_init(&b->mu, NULL);
    b->enabled = qps > 0;
    b->qps = qps;
    b->burst = burst < 1 ? 1 : burst;
    b->tokens = b->burst;
    b->clock = clock;
    b->last_ns = clk_mono_ns(clock);
}

void kc_bucket_deinit(kc_bucket *b)
{
    pthread_mutex_destroy(&b->mu);
}

uint64_t kc_bucket_reserve_ms(kc_bucket *b)
{
    if (!b->enabled)
        return 0;
    pthread_mutex_lock(&b->mu);
    uint64_t now = clk_mono_ns(b->clock);
    if (now > b->last_ns) {
        b->tokens += (double)(now - b->last_ns) / 1e9 * b->qps;
        if (b->tokens > b->burst)
            b->tokens = b->burst;
        b->last_ns = now;
    }
    b->tokens -= 1;
    double deficit = -b->tokens;
    pthread_mutex_unlock(&b->mu);
    if (deficit <= 0)
        return 0;
    return (uint64_t)ceil(deficit / b->qps * 1000.0);
}

/*
 * backoff.c - the reflector's jittered exponential backoff and its random source.
 *
 * Same numbers and reset rule as client-go's reflector (NewExponentialBackoffManager(800ms, 30s,
 * 2m, 2.0, 1.0)): the cap applies to the base before the jitter, so at the cap a wait lasts
 * 30-60 s, which spreads the retries of many clients. Time is passed in, never read here.
 */
#include "informer/internal.h"

#include <stdint.h>

uint64_t inf_rand_next(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

double inf_rand_unit(uint64_t *state)
{
    return (double)(inf_rand_next(state) >> 11) / (double)(1ull << 53);
}

uint64_t inf_rand_seed(clk_t *clock, const void *salt)
{
    uint64_t s = clk_mono_ns(clock) ^ (uint64_t)clk_wall_ms(clock) ^ (uint64_t)(uintptr_t)salt;
    return s ? s : 1;
}

static uint64_t ms_to_ns(int ms)
{
    return ms > 0 ? (uint64_t)ms * CLK_NS_PER_MS : 0;
}

void inf_backoff_init(inf_backoff *b, const inf_options *opt, uint64_t seed)
{
    *b = (inf_backoff){
        .initial_ns = ms_to_ns(opt->backoff_initial_ms),
        .max_ns = ms_to_ns(opt->backoff_max_ms),
        .reset_ns = ms_to_ns(opt->backoff_reset_ms),
        .factor = opt->backoff_factor >= 1.0 ? opt->backoff_factor : 1.0,
        .jitter = opt->backoff_jitter > 0 ? opt->backoff_jitter : 0,
        .rng = seed,
    };
    b->base_ns = b->initial_ns;
}

uint64_t inf_backoff_next(inf_backoff *b, uint64_t now_ns)
{
    if (b->stepped && now_ns - b->last_ns > b->reset_ns)
        b->base_ns = b->initial_ns; /* healthy for longer than reset: start over */
    b->stepped = true;
    b->last_ns = now_ns;
    uint64_t d = b->base_ns;
    double next = (double)b->base_ns * b->factor;
    b->base_ns = next > (double)b->max_ns ? b->max_ns : (uint64_t)next;
    if (b->jitter > 0)
        d += (uint64_t)((double)d * b->jitter * inf_rand_unit(&b->rng));
    return d;
}

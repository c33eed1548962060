#include "common/clock.h"
#include "common/alloc.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

struct clk {
    bool fake;
    _Atomic uint64_t mono_ns; /* fake only */
    _Atomic int64_t wall_ms;  /* fake only */
};

static clk_t system_clock = {.fake = false};

clk_t *clk_system(void)
{
    return &system_clock;
}

uint64_t clk_mono_ns(clk_t *c)
{
    if (c->fake)
        return atomic_load(&c->mono_ns);
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * CLK_NS_PER_S + (uint64_t)ts.tv_nsec;
}

int64_t clk_wall_ms(clk_t *c)
{
    if (c->fake)
        return atomic_load(&c->wall_ms);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct timespec clk_mono_deadline(uint64_t ns)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    /* Whole seconds and the nanosecond part are added apart so the sum cannot overflow. */
    uint64_t nsec = (uint64_t)ts.tv_nsec + ns % CLK_NS_PER_S;
    ts.tv_sec += (time_t)(ns / CLK_NS_PER_S + nsec / CLK_NS_PER_S);
    ts.tv_nsec = (long)(nsec % CLK_NS_PER_S);
    return ts;
}

int clk_mono_cond_init(pthread_cond_t *cond)
{
    pthread_condattr_t ca;
    int rc = pthread_condattr_init(&ca);
    if (rc != 0)
        return -rc;
    rc = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    if (rc == 0)
        rc = pthread_cond_init(cond, &ca);
    pthread_condattr_destroy(&ca);
    return -rc;
}

clk_t *clk_fake_new(int64_t wall_ms)
{
    clk_t *c = xcalloc(1, sizeof *c);
    c->fake = true;
    atomic_store(&c->wall_ms, wall_ms);
    return c;
}

void clk_fake_advance_ms(clk_t *c, int64_t ms)
{
    atomic_fetch_add(&c->mono_ns, (uint64_t)ms * CLK_NS_PER_MS);
    atomic_fetch_add(&c->wall_ms, ms);
}

void clk_fake_free(clk_t *c)
{
    if (c && c->fake)
        free(c);
}

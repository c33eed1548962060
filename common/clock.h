/*
 * clock.h - injectable time source.
 *
 * Every timer, backoff, lease and timestamp in foo reads time through a clk_t so tests can drive
 * time by hand (clk_fake_*) instead of sleeping. clk_system() is the real clock.
 * A fake clock is thread-safe: advancing it from a test thread while workers read it is allowed.
 */
#ifndef FOO_COMMON_CLOCK_H
#define FOO_COMMON_CLOCK_H

#include <pthread.h>
#include <stdint.h>
#include <time.h>

typedef struct clk clk_t;

/* The process-wide real clock; never freed. */
clk_t *clk_system(void);
/* Monotonic nanoseconds (arbitrary origin) - for durations and deadlines. */
uint64_t clk_mono_ns(clk_t *c);
/* Wall-clock time in milliseconds since the Unix epoch - for timestamps shown to users. */
int64_t clk_wall_ms(clk_t *c);

/*
 * The real CLOCK_MONOTONIC time `ns` nanoseconds from now, as the absolute timespec that
 * pthread_cond_timedwait takes on a condition variable whose condattr clock is CLOCK_MONOTONIC
 * (not for one on the default CLOCK_REALTIME). Reads the system clock, never a clk_t: a fake
 * clock cannot make a thread wake up. Never fails; thread-safe.
 */
struct timespec clk_mono_deadline(uint64_t ns);
/*
 * Initialises *cond with CLOCK_MONOTONIC as the clock of its timed waits, the condition variable
 * clk_mono_deadline's deadlines are for: a wall-clock step cannot stretch or cut such a wait.
 * Returns 0, or a negative errno (-ENOMEM, -EAGAIN) with *cond left uninitialised. The caller
 * destroys it with pthread_cond_destroy.
 */
int clk_mono_cond_init(pthread_cond_t *cond);

/* A fake clock starting at the given wall time (ms since epoch) and monotonic time 0. */
clk_t *clk_fake_new(int64_t wall_ms);
/* Moves both readings of a fake clock forward. */
void clk_fake_advance_ms(clk_t *c, int64_t ms);
void clk_fake_free(clk_t *c);

#define CLK_NS_PER_MS 1000000ull
#define CLK_NS_PER_S  1000000000ull

#endif

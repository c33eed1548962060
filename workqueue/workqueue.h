/*
 * workqueue.h - the rate-limited work queue that feeds a controller's workers.
 *
 * Behaves like client-go's util/workqueue (docs/design.md §4.10,
 * docs/controller-machinery.md §5.1):
 *
 * - Keys are strings, copied in. A key is "dirty" from the moment it is added until a worker
 *   takes it with wq_get(); it is "processing" from wq_get() until wq_done().
 * - Stingy: adding a dirty key again does nothing (the pending work will see the latest state).
 * - Never concurrent: a processing key is never handed to a second worker. Adding it while it
 *   is processing only marks it dirty; wq_done() then puts it back at the tail of the queue.
 * - Fair: dirty keys are handed out in the order they became dirty (FIFO).
 * - Delayed adds (wq_add_after) wait in a min-heap keyed by ready time plus a hash from key to
 *   heap slot; a key waits at most once, and when added again the EARLIEST ready time wins.
 * - Rate-limited adds (wq_add_rate_limited) ask the queue's rate limiter how long to wait.
 * - Shutdown stops intake (adds become no-ops, waiting delayed keys are dropped) and wakes all
 *   getters; keys already queued are still handed out, then wq_get() returns false.
 *
 * Time: every reading comes from the injectable clock of wq_options. Delayed keys become ready
 * inside wq_get() (a getter sleeps on a condition variable until the earliest ready time, read
 * from the clock, or at most max_wait_ms), and in every other queue call. With a fake clock,
 * tests call clk_fake_advance_ms() and then wq_tick(), which promotes the ready keys and wakes
 * getters; no test needs to sleep.
 *
 * Thread-safety: every wq_* function except wq_new/wq_free may be called from any thread at any
 * time; one mutex per queue guards all of its state. Rate limiters are thread-safe too.
 */
#ifndef FOO_WORKQUEUE_WORKQUEUE_H
#define FOO_WORKQUEUE_WORKQUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/clock.h"
#include "common/sbuf.h"

/* ---------------------------------------------------------------------------------------------
 * Rate limiters: how long a key must wait before it is retried.
 * ------------------------------------------------------------------------------------------- */

typedef struct wq_ratelimiter wq_ratelimiter;

/*
 * The interface (a vtable, as client-go's When/Forget/NumRequeues). To write a limiter, embed
 * `wq_ratelimiter` as the first member of your struct and point `ops` at a static table.
 * Implementations must be thread-safe.
 */
typedef struct wq_ratelimiter_ops {
    /* Records one more retry of key and returns how long it must wait, in nanoseconds. */
    uint64_t (*when_ns)(wq_ratelimiter *rl, const char *key);
    /* Forgets key's history (call after a success): its next delay starts from scratch. */
    void (*forget)(wq_ratelimiter *rl, const char *key);
    /* How many failures of key the limiter currently counts. */
    int (*retries)(wq_ratelimiter *rl, const char *key);
    /* Frees the limiter and everything it owns. */
    void (*free)(wq_ratelimiter *rl);
} wq_ratelimiter_ops;

struct wq_ratelimiter {
    const wq_ratelimiter_ops *ops;
};

/* Thin dispatchers over rl->ops. wq_rl_free(NULL) does nothing. */
uint64_t wq_rl_when_ns(wq_ratelimiter *rl, const char *key);
void wq_rl_forget(wq_ratelimiter *rl, const char *key);
int wq_rl_retries(wq_ratelimiter *rl, const char *key);
void wq_rl_free(wq_ratelimiter *rl);

/*
 * Per-key exponential backoff: base_ms, then 2 x base_ms, 4 x base_ms ... capped at max_ms.
 *
 * Time-based (docs/controller-machinery.md §5.2, kubernetes#132805): the limiter remembers when
 * each key's current backoff ends. A when() that arrives before then is a premature retry (an
 * informer event re-ran the key while its backoff was pending): it returns the time still left
 * and does NOT count as a failure, so spurious triggers during an outage cannot push the backoff
 * to the cap. Only a when() at or after the end of the backoff doubles the delay.
 * Memory: one small record per key until forget(). clk is borrowed and must outlive the limiter.
 */
wq_ratelimiter *wq_rl_per_item_new(clk_t *clk, uint64_t base_ms, uint64_t max_ms);

/*
 * Overall token bucket: `burst` tokens, refilled at `qps` per second, shared by all keys.
 * when() reserves one token and returns how long until that token exists (0 while the burst
 * lasts, then 1/qps apart). forget() does nothing and retries() is always 0, as in client-go.
 * qps <= 0 disables the limit (when() is always 0); burst < 1 is treated as 1.
 */
wq_ratelimiter *wq_rl_bucket_new(clk_t *clk, double qps, int burst);

/*
 * Max-of: when() asks every child (so each records the retry) and returns the longest delay;
 * retries() is the largest child count; forget() forgets in every child.
 * Takes ownership of the n children (the array itself is copied, not kept).
 */
wq_ratelimiter *wq_rl_max_of_new(wq_ratelimiter *const *children, size_t n);

/*
 * The default controller limiter: max-of(per-item exponential, token bucket) with the numbers
 * of wq_defaults() (5 ms -> 1000 s; 10 qps, burst 100).
 */
wq_ratelimiter *wq_rl_default_controller_new(clk_t *clk);

/* ---------------------------------------------------------------------------------------------
 * The queue.
 * ------------------------------------------------------------------------------------------- */

typedef struct wq wq;

typedef struct wq_options {
    /* Value of the `name` and `controller` metric labels; copied (NULL: ""). Default "default". */
    const char *name;
    /* Source of all time readings; borrowed, must outlive the queue. Default clk_system(). */
    clk_t *clock;
    /* Limiter for wq_add_rate_limited; the queue takes ownership, even if wq_new fails.
     * Default NULL: a max-of(per-item, bucket) limiter built from the four fields below. */
    wq_ratelimiter *ratelimiter;
    uint64_t backoff_base_ms; /* per-item backoff start; default 5 ms */
    uint64_t backoff_max_ms;  /* per-item backoff cap; default 1000 s */
    double bucket_qps;        /* overall bucket refill rate; default 10 per second */
    int bucket_burst;         /* overall bucket size; default 100 */
    /* Longest a getter sleeps before re-reading the clock while delayed keys wait (a heartbeat
     * that also covers clocks that are not CLOCK_MONOTONIC); default 10 s, as client-go.
     * 0 is taken as 1 ms so a getter never spins. */
    uint64_t max_wait_ms;
} wq_options;

/* The one place where the defaults live. */
wq_options wq_defaults(void);

/*
 * Creates an empty queue. opts may be NULL (all defaults); zero fields of opts are NOT replaced
 * by defaults, so start from wq_defaults() and change what you need.
 * Returns NULL only if the pthread primitives cannot be created (opts->ratelimiter is then
 * freed). Free with wq_free().
 */
wq *wq_new(const wq_options *opts);

/* Frees the queue, its keys and its rate limiter. No other thread may be using the queue: call
 * wq_shutdown (or _with_drain) and join the workers first. wq_free(NULL) does nothing. */
void wq_free(wq *q);

/* Marks key dirty and queues it, following the rules at the top of this file. Copies key.
 * No-op after shutdown. */
void wq_add(wq *q, const char *key);

/* Adds key once delay_ms has passed on the queue's clock (delay_ms <= 0: wq_add at once). If the
 * key already waits, the earlier of the two ready times is kept. Counts one retry in
 * workqueue_retries_total, as client-go does. No-op after shutdown. */
void wq_add_after(wq *q, const char *key, int64_t delay_ms);

/* wq_add_after(key, limiter.when(key)): the retry path after a failed reconcile. */
void wq_add_rate_limited(wq *q, const char *key);

/* Tells the limiter that key succeeded: its backoff restarts from the base. Does not remove a
 * pending delayed add of key. */
void wq_forget(wq *q, const char *key);

/* The limiter's failure count of key. */
int wq_num_requeues(wq *q, const char *key);

/*
 * Blocks until a key is ready or the queue is shut down and has nothing queued.
 * Returns true and stores in *key a heap copy of the key (the caller frees it, after calling
 * wq_done with it); the key is then "processing" until wq_done(). Returns false (and sets *key
 * to NULL) once the queue is shut down and empty: the worker should exit.
 */
bool wq_get(wq *q, char **key);

/* Ends the processing of key started by wq_get(). If key was added meanwhile, it is queued again
 * now (even after shutdown, so the pending work is not lost while draining). Ignores a key that
 * is not processing. */
void wq_done(wq *q, const char *key);

/* Stops intake and wakes every getter; see the top of this file. Idempotent. */
void wq_shutdown(wq *q);

/* wq_shutdown(), then blocks until no key is processing (every key taken has been passed to
 * wq_done). Must not be called from a worker that holds a key, or it waits forever. */
void wq_shutdown_with_drain(wq *q);

/* True once wq_shutdown or wq_shutdown_with_drain has been called. */
bool wq_shutting_down(wq *q);

/* Number of keys queued and ready to be taken (not counting delayed or processing keys). */
size_t wq_len(wq *q);

/* Moves every delayed key whose time has come into the queue and wakes getters for them.
 * Returns how many keys were promoted. Every queue call already does this; tests with a fake
 * clock call it after clk_fake_advance_ms() to wake blocked getters. */
size_t wq_tick(wq *q);

/* ---------------------------------------------------------------------------------------------
 * Metrics: the client-go / controller-runtime workqueue families, labels `controller` and
 * `name` (both set to the queue name), in Prometheus text exposition format 0.0.4:
 *   workqueue_depth (gauge: dirty keys not yet taken), workqueue_adds_total,
 *   workqueue_queue_duration_seconds and workqueue_work_duration_seconds (histograms, buckets
 *   1e-8 s x10 ... 1e3 s, as controller-runtime), workqueue_unfinished_work_seconds,
 *   workqueue_longest_running_processor_seconds (gauges computed at scrape time from the
 *   processing keys), workqueue_retries_total.
 * ------------------------------------------------------------------------------------------- */

/* Appends the families of one queue, with their HELP and TYPE lines, to out. */
void wq_metrics_write(wq *q, sbuf *out);

/* Same for several queues: each family is written once, with one sample set per queue, as a
 * /metrics page must (a repeated TYPE line is invalid). Queues are locked one at a time. */
void wq_metrics_write_many(wq *const *qs, size_t n, sbuf *out);

#endif

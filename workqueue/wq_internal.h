/*
 * wq_internal.h - private to workqueue/: the queue's state, shared by queue.c (dirty/processing
 * FIFO), delaying.c (heap of delayed keys) and metrics.c. Not for use outside this folder,
 * except by the folder's unit tests.
 */
#ifndef FOO_WORKQUEUE_WQ_INTERNAL_H
#define FOO_WORKQUEUE_WQ_INTERNAL_H

#include <pthread.h>
#include <stdlib.h>

#include "common/alloc.h"
#include "workqueue/workqueue.h"

/* uthash allocates its tables through our wrappers, so out-of-memory aborts like everywhere. */
#undef uthash_malloc
#undef uthash_fatal
#define uthash_malloc(sz) xmalloc(sz)
#define uthash_fatal(msg) abort()
#include <uthash.h>

#define WQ_NOT_WAITING SIZE_MAX

/* Histogram buckets of both duration families: 1e-8 s, x10, 12 buckets (controller-runtime's
 * ExponentialBuckets(10e-9, 10, 12)), so the largest finite bucket is 1000 s. */
#define WQ_HIST_BUCKETS 12

typedef struct wq_hist {
    uint64_t counts[WQ_HIST_BUCKETS]; /* per bucket, NOT cumulative; the rest went to +Inf */
    uint64_t count;                   /* all observations */
    uint64_t sum_ns;                  /* sum of observations (584 years before wrapping) */
} wq_hist;

/*
 * One key the queue knows about. It lives in q->items exactly while it is dirty, processing
 * or waiting, and is freed as soon as it is none of the three.
 */
typedef struct wq_item {
    char *key;         /* owned; also the hash key */
    UT_hash_handle hh; /* q->items, by key */

    /* dirty: added and not yet taken by wq_get. Invariant: the item is linked in the FIFO
     * (q->head..q->tail through `next`) exactly when dirty && !processing. */
    bool dirty;
    /* processing: taken by wq_get and not yet passed to wq_done. Never handed out twice. */
    bool processing;
    struct wq_item *next; /* FIFO link, meaningful only while linked */

    /* Delayed add: index in q->heap, or WQ_NOT_WAITING. */
    size_t heap_idx;
    uint64_t ready_ns; /* when it leaves the heap; meaningful while waiting */
    uint64_t heap_seq; /* insertion order, breaks ties between equal ready times (FIFO) */

    uint64_t dirty_ns; /* clock reading when it became dirty: queue_duration starts here */
    uint64_t start_ns; /* clock reading at wq_get: work_duration starts here */
} wq_item;

struct wq {
    /* Lock order: q->mu is the only lock of the queue; rate limiters have their own lock and
     * are never called with q->mu held. */
    pthread_mutex_t mu;
    /* Getters wait here for: a queued key, shutdown, or the earliest delayed key's time. */
    pthread_cond_t cond;
    /* wq_shutdown_with_drain waits here for processing_count to reach 0. */
    pthread_cond_t drained;

    clk_t *clock;         /* borrowed */
    char *name;           /* owned; metrics labels */
    wq_ratelimiter *rl;   /* owned; thread-safe on its own, called without mu */
    uint64_t max_wait_ns; /* getter heartbeat while keys are delayed */

    /* Everything below is guarded by mu. */
    wq_item *items;          /* hash of every live item */
    wq_item *head, *tail;    /* FIFO of dirty && !processing items */
    size_t queued_count;     /* items in the FIFO (wq_len) */
    size_t dirty_count;      /* dirty items, queued or processing (workqueue_depth) */
    size_t processing_count; /* processing items */
    size_t getters_waiting;  /* threads blocked in wq_get (for tests) */
    bool shutting_down;

    /* Min-heap of waiting items by (ready_ns, heap_seq). */
    wq_item **heap;
    size_t heap_len, heap_cap;
    uint64_t heap_next_seq;

    /* Metrics. */
    uint64_t adds_total;
    uint64_t retries_total;
    wq_hist queue_duration;
    wq_hist work_duration;
};

/* queue.c: finds key's item, creating it (not dirty, not processing, not waiting) if asked. */
wq_item *wq__item_lookup(wq *q, const char *key, bool create);
/* queue.c: frees the item if it is no longer dirty, processing or waiting. */
void wq__item_release_if_idle(wq *q, wq_item *it);
/* queue.c: the heart of wq_add for an existing item, mu held, intake open. */
void wq__mark_dirty_locked(wq *q, wq_item *it, uint64_t now_ns);

/* delaying.c: moves ready items from the heap into the queue; mu held. Returns the count. */
size_t wq__promote_ready_locked(wq *q, uint64_t now_ns);
/* delaying.c: wq_add_after with a delay in nanoseconds (the rate limiter's unit). */
void wq__add_after_ns(wq *q, const char *key, uint64_t delay_ns);
/* delaying.c: frees the heap array (items are freed by queue.c). */
void wq__heap_free(wq *q);

/* metrics.c: records one observation. */
void wq__hist_observe(wq_hist *h, uint64_t ns);

/* For tests: how many threads are blocked in wq_get right now. */
size_t wq__getters_waiting(wq *q);

#endif

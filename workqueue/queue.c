/*
 * queue.c - the dirty/processing FIFO: wq_new/free, add, get, done, shutdown, len.
 * The invariants are documented on struct wq_item in wq_internal.h.
 */
#include "workqueue/wq_internal.h"

#include "common/clock.h"

#include <string.h>
#include <time.h>

/* The only place where the queue's default numbers are written down. */
wq_options wq_defaults(void)
{
    return (wq_options){
        .name = "default",
        .clock = clk_system(),
        .ratelimiter = NULL,
        .backoff_base_ms = 5,
        .backoff_max_ms = 1000 * 1000,
        .bucket_qps = 10.0,
        .bucket_burst = 100,
        .max_wait_ms = 10 * 1000,
    };
}

/* The controller limiter of client-go's DefaultTypedControllerRateLimiter, with o's numbers. */
static wq_ratelimiter *controller_limiter(clk_t *clk, const wq_options *o)
{
    wq_ratelimiter *parts[2] = {
        wq_rl_per_item_new(clk, o->backoff_base_ms, o->backoff_max_ms),
        wq_rl_bucket_new(clk, o->bucket_qps, o->bucket_burst),
    };
    return wq_rl_max_of_new(parts, 2);
}

wq_ratelimiter *wq_rl_default_controller_new(clk_t *clk)
{
    wq_options d = wq_defaults();
    return controller_limiter(clk, &d);
}

/* Getters use CLOCK_MONOTONIC deadlines so a wall-clock jump cannot stall delayed keys. */
static int init_sync(wq *q)
{
    int rc = clk_mono_cond_init(&q->cond);
    if (rc != 0)
        return rc;
    rc = pthread_cond_init(&q->drained, NULL);
    if (rc != 0) {
        pthread_cond_destroy(&q->cond);
        return -rc;
    }
    rc = pthread_mutex_init(&q->mu, NULL);
    if (rc != 0) {
        pthread_cond_destroy(&q->drained);
        pthread_cond_destroy(&q->cond);
        return -rc;
    }
    return 0;
}

wq *wq_new(const wq_options *opts)
{
    wq_options o = opts ? *opts : wq_defaults();
    wq *q = xcalloc(1, sizeof *q);
    if (init_sync(q) != 0) {
        wq_rl_free(o.ratelimiter);
        free(q);
        return NULL;
    }
    q->clock = o.clock ? o.clock : clk_system();
    q->name = xstrdup(o.name ? o.name : "");
    q->rl = o.ratelimiter ? o.ratelimiter : controller_limiter(q->clock, &o);
    q->max_wait_ns = o.max_wait_ms * CLK_NS_PER_MS;
    if (q->max_wait_ns == 0)
        q->max_wait_ns = CLK_NS_PER_MS;
    return q;
}

void wq_free(wq *q)
{
    if (!q)
        return;
    wq_item *it, *tmp;
    HASH_ITER(hh, q->items, it, tmp)
    {
        HASH_DEL(q->items, it);
        free(it->key);
        free(it);
    }
    wq__heap_free(q);
    wq_rl_free(q->rl);
    free(q->name);
    pthread_mutex_destroy(&q->mu);
    pthread_cond_destroy(&q->cond);
    pthread_cond_destroy(&q->drained);
    free(q);
}

wq_item *wq__item_lookup(wq *q, const char *key, bool create)
{
    wq_item *it = NULL;
    HASH_FIND_STR(q->items, key, it);
    if (it || !create)
        return it;
    it = xcalloc(1, sizeof *it);
    it->key = xstrdup(key);
    it->heap_idx = WQ_NOT_WAITING;
    HASH_ADD_KEYPTR(hh, q->items, it->key, strlen(it->key), it);
    return it;
}

void wq__item_release_if_idle(wq *q, wq_item *it)
{
    if (it->dirty || it->processing || it->heap_idx != WQ_NOT_WAITING)
        return;
    HASH_DEL(q->items, it);
    free(it->key);
    free(it);
}

static void fifo_push(wq *q, wq_item *it)
{
    it->next = NULL;
    if (q->tail)
        q->tail->next = it;
    else
        q->head = it;
    q->tail = it;
    q->queued_count++;
    pthread_cond_signal(&q->cond);
}

static wq_item *fifo_pop(wq *q)
{
    wq_item *it = q->head;
    q->head = it->next;
    if (!q->head)
        q->tail = NULL;
    it->next = NULL;
    q->queued_count--;
    return it;
}

void wq__mark_dirty_locked(wq *q, wq_item *it, uint64_t now_ns)
{
    if (it->dirty)
        return; /* stingy: the pending run will see the latest state */
    it->dirty = true;
    it->dirty_ns = now_ns;
    q->dirty_count++;
    q->adds_total++;
    if (it->processing)
        return; /* never concurrent: wq_done re-queues it */
    fifo_push(q, it);
}

void wq_add(wq *q, const char *key)
{
    pthread_mutex_lock(&q->mu);
    if (!q->shutting_down) {
        uint64_t now = clk_mono_ns(q->clock);
        wq__mark_dirty_locked(q, wq__item_lookup(q, key, true), now);
    }
    pthread_mutex_unlock(&q->mu);
}

/* One wait of a getter with nothing queued: until signalled, or until the earliest delayed key
 * is due (capped by the heartbeat, since the queue's clock may not be CLOCK_MONOTONIC). */
static void getter_wait_locked(wq *q, uint64_t now_ns)
{
    q->getters_waiting++;
    if (q->heap_len == 0) {
        pthread_cond_wait(&q->cond, &q->mu);
    } else {
        uint64_t ready = q->heap[0]->ready_ns;
        uint64_t delta = ready > now_ns ? ready - now_ns : 0;
        if (delta > q->max_wait_ns)
            delta = q->max_wait_ns;
        struct timespec ts = clk_mono_deadline(delta);
        int rc = pthread_cond_timedwait(&q->cond, &q->mu, &ts);
        (void)rc; /* ETIMEDOUT and wake-ups alike: the caller re-checks everything */
    }
    q->getters_waiting--;
}

bool wq_get(wq *q, char **key)
{
    pthread_mutex_lock(&q->mu);
    for (;;) {
        uint64_t now = clk_mono_ns(q->clock);
        wq__promote_ready_locked(q, now);
        if (q->head)
            break;
        if (q->shutting_down) {
            pthread_mutex_unlock(&q->mu);
            *key = NULL;
            return false;
        }
        getter_wait_locked(q, now);
    }
    uint64_t now = clk_mono_ns(q->clock);
    wq_item *it = fifo_pop(q);
    it->dirty = false;
    q->dirty_count--;
    it->processing = true;
    q->processing_count++;
    it->start_ns = now;
    wq__hist_observe(&q->queue_duration, now - it->dirty_ns);
    *key = xstrdup(it->key);
    pthread_mutex_unlock(&q->mu);
    return true;
}

void wq_done(wq *q, const char *key)
{
    pthread_mutex_lock(&q->mu);
    wq_item *it = wq__item_lookup(q, key, false);
    if (it && it->processing) {
        uint64_t now = clk_mono_ns(q->clock);
        wq__hist_observe(&q->work_duration, now - it->start_ns);
        it->processing = false;
        q->processing_count--;
        if (it->dirty)
            fifo_push(q, it); /* the add that came during processing is replayed now */
        else
            wq__item_release_if_idle(q, it);
        if (q->processing_count == 0)
            pthread_cond_broadcast(&q->drained);
    }
    pthread_mutex_unlock(&q->mu);
}

void wq_shutdown(wq *q)
{
    pthread_mutex_lock(&q->mu);
    q->shutting_down = true;
    pthread_cond_broadcast(&q->cond);
    pthread_mutex_unlock(&q->mu);
}

void wq_shutdown_with_drain(wq *q)
{
    pthread_mutex_lock(&q->mu);
    q->shutting_down = true;
    pthread_cond_broadcast(&q->cond);
    while (q->processing_count > 0)
        pthread_cond_wait(&q->drained, &q->mu);
    pthread_mutex_unlock(&q->mu);
}

bool wq_shutting_down(wq *q)
{
    pthread_mutex_lock(&q->mu);
    bool s = q->shutting_down;
    pthread_mutex_unlock(&q->mu);
    return s;
}

size_t wq_len(wq *q)
{
    pthread_mutex_lock(&q->mu);
    wq__promote_ready_locked(q, clk_mono_ns(q->clock));
    size_t n = q->queued_count;
    pthread_mutex_unlock(&q->mu);
    return n;
}

size_t wq__getters_waiting(wq *q)
{
    pthread_mutex_lock(&q->mu);
    size_t n = q->getters_waiting;
    pthread_mutex_unlock(&q->mu);
    return n;
}

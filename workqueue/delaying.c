/*
 * delaying.c - delayed adds: a binary min-heap of items ordered by (ready_ns, heap_seq), with
 * each item remembering its heap slot (heap_idx) so that a key already waiting is found through
 * the queue's hash and moved in O(log n) when an earlier ready time arrives.
 */
#include "workqueue/wq_internal.h"

static bool heap_less(const wq_item *a, const wq_item *b)
{
    if (a->ready_ns != b->ready_ns)
        return a->ready_ns < b->ready_ns;
    return a->heap_seq < b->heap_seq;
}

static void heap_set(wq *q, size_t i, wq_item *it)
{
    q->heap[i] = it;
    it->heap_idx = i;
}

static void sift_up(wq *q, size_t i)
{
    wq_item *it = q->heap[i];
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!heap_less(it, q->heap[parent]))
            break;
        heap_set(q, i, q->heap[parent]);
        i = parent;
    }
    heap_set(q, i, it);
}

static void sift_down(wq *q, size_t i)
{
    wq_item *it = q->heap[i];
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= q->heap_len)
            break;
        if (child + 1 < q->heap_len && heap_less(q->heap[child + 1], q->heap[child]))
            child++;
        if (!heap_less(q->heap[child], it))
            break;
        heap_set(q, i, q->heap[child]);
        i = child;
    }
    heap_set(q, i, it);
}

static void heap_push(wq *q, wq_item *it)
{
    if (q->heap_len == q->heap_cap) {
        q->heap_cap = q->heap_cap ? 2 * q->heap_cap : 16;
        q->heap = xrealloc(q->heap, q->heap_cap * sizeof *q->heap);
    }
    it->heap_seq = q->heap_next_seq++;
    heap_set(q, q->heap_len++, it);
    sift_up(q, it->heap_idx);
}

static wq_item *heap_pop(wq *q)
{
    wq_item *top = q->heap[0];
    q->heap_len--;
    if (q->heap_len > 0) {
        heap_set(q, 0, q->heap[q->heap_len]);
        sift_down(q, 0);
    }
    top->heap_idx = WQ_NOT_WAITING;
    return top;
}

void wq__heap_free(wq *q)
{
    free(q->heap);
    q->heap = NULL;
    q->heap_len = q->heap_cap = 0;
}

size_t wq__promote_ready_locked(wq *q, uint64_t now_ns)
{
    /* After shutdown delayed keys are dropped, as client-go's waiting loop stops. */
    if (q->shutting_down)
        return 0;
    size_t n = 0;
    while (q->heap_len > 0 && q->heap[0]->ready_ns <= now_ns) {
        wq_item *it = heap_pop(q);
        wq__mark_dirty_locked(q, it, now_ns);
        n++;
    }
    return n;
}

void wq__add_after_ns(wq *q, const char *key, uint64_t delay_ns)
{
    pthread_mutex_lock(&q->mu);
    if (q->shutting_down) {
        pthread_mutex_unlock(&q->mu);
        return;
    }
    q->retries_total++;
    uint64_t now = clk_mono_ns(q->clock);
    uint64_t ready = delay_ns > UINT64_MAX - now ? UINT64_MAX : now + delay_ns;
    wq_item *it = wq__item_lookup(q, key, true);
    if (delay_ns == 0) {
        wq__mark_dirty_locked(q, it, now);
    } else if (it->heap_idx == WQ_NOT_WAITING) {
        it->ready_ns = ready;
        heap_push(q, it);
    } else if (ready < it->ready_ns) {
        /* Earliest wins: only an earlier time moves a waiting key, and only up the heap. */
        it->ready_ns = ready;
        sift_up(q, it->heap_idx);
    }
    /* A new earliest deadline: getters sleeping until a later one must recompute theirs. */
    if (it->heap_idx == 0)
        pthread_cond_broadcast(&q->cond);
    pthread_mutex_unlock(&q->mu);
}

void wq_add_after(wq *q, const char *key, int64_t delay_ms)
{
    uint64_t ms = delay_ms > 0 ? (uint64_t)delay_ms : 0;
    uint64_t ns = ms > UINT64_MAX / CLK_NS_PER_MS ? UINT64_MAX : ms * CLK_NS_PER_MS;
    wq__add_after_ns(q, key, ns);
}

size_t wq_tick(wq *q)
{
    pthread_mutex_lock(&q->mu);
    size_t n = wq__promote_ready_locked(q, clk_mono_ns(q->clock));
    pthread_mutex_unlock(&q->mu);
    return n;
}

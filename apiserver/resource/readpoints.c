/*
 * readpoints.c - consistent read points asked in rounds (see readpoints.h).
 */
#include "apiserver/resource/readpoints.h"

#include "common/alloc.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

struct rp_rounds {
    rp_sync_fn sync;
    void *ctx;
    clk_t *clock;
    int budget_ms;
    pthread_t thread;

    pthread_mutex_t mu; /* guards the fields below */
    pthread_cond_t cv;  /* signalled when an ask is queued and at stop */
    rp_ask *head;       /* asks for the next round, in arrival order */
    rp_ask **tail;      /* &head when empty, else &last->next */
    bool stopping;      /* rp_stop began: no ask is queued any more */
};

/* What is left of the oldest ask's budget at now, in ms, at least 1. */
static int round_timeout_ms(const rp_rounds *r, const rp_ask *batch, uint64_t now)
{
    uint64_t oldest = batch->arrived_ns;
    for (const rp_ask *a = batch->next; a; a = a->next)
        if (a->arrived_ns < oldest)
            oldest = a->arrived_ns;
    uint64_t spent_ms = now > oldest ? (now - oldest) / CLK_NS_PER_MS : 0;
    if (spent_ms >= (uint64_t)r->budget_ms)
        return 1;
    return r->budget_ms - (int)spent_ms;
}

/* Hands rc/rev/err to every ask of batch. An ask may be freed by its done: next is read first. */
static void answer_all(rp_ask *batch, int rc, uint64_t rev, const api_error *err)
{
    while (batch) {
        rp_ask *a = batch;
        batch = a->next;
        a->done(a->arg, rc, rev, err);
    }
}

/* Takes the queued asks, waiting for one; NULL once stopping with none queued. */
static rp_ask *take_batch(rp_rounds *r)
{
    pthread_mutex_lock(&r->mu);
    while (!r->head && !r->stopping)
        pthread_cond_wait(&r->cv, &r->mu);
    rp_ask *batch = r->stopping ? NULL : r->head;
    if (batch) {
        r->head = NULL;
        r->tail = &r->head;
    }
    pthread_mutex_unlock(&r->mu);
    return batch;
}

static void *round_main(void *arg)
{
    rp_rounds *r = arg;
    rp_ask *batch;
    while ((batch = take_batch(r)) != NULL) {
        /* Every ask in batch arrived before this question is asked: its answer covers them. */
        api_error err = API_ERROR_INIT;
        uint64_t rev = 0;
        int timeout_ms = round_timeout_ms(r, batch, clk_mono_ns(r->clock));
        int rc = r->sync(r->ctx, timeout_ms, &rev, &err);
        if (rc != 0 && !apierr_is_set(&err)) /* the done functions may rely on a reason */
            apierr_set(&err, 500, "InternalError", "the store gave no read point");
        answer_all(batch, rc, rev, &err);
        apierr_clear(&err);
    }
    return NULL;
}

int rp_start(rp_sync_fn sync, void *ctx, clk_t *clock, int budget_ms, rp_rounds **out,
             api_error *err)
{
    rp_rounds *r = xcalloc(1, sizeof *r);
    r->sync = sync;
    r->ctx = ctx;
    r->clock = clock;
    r->budget_ms = budget_ms;
    r->tail = &r->head;
    if (pthread_mutex_init(&r->mu, NULL) != 0 || pthread_cond_init(&r->cv, NULL) != 0)
        abort(); /* only for want of resources: fatal, like running out of memory */
    if (pthread_create(&r->thread, NULL, round_main, r) != 0) {
        apierr_set(err, 500, "InternalError", "cannot start the read point thread");
        pthread_cond_destroy(&r->cv);
        pthread_mutex_destroy(&r->mu);
        free(r);
        return -EAGAIN;
    }
    *out = r;
    return 0;
}

/* The answer of asks that come too late for any round. */
static void answer_stopping(rp_ask *asks)
{
    api_error err = API_ERROR_INIT;
    apierr_set(&err, 503, "ServiceUnavailable", "the server is shutting down");
    answer_all(asks, -ECANCELED, 0, &err);
    apierr_clear(&err);
}

void rp_ask_point(rp_rounds *r, rp_ask *ask)
{
    ask->next = NULL;
    pthread_mutex_lock(&r->mu);
    bool queued = !r->stopping;
    if (queued) {
        *r->tail = ask;
        r->tail = &ask->next;
        pthread_cond_signal(&r->cv);
    }
    pthread_mutex_unlock(&r->mu);
    if (!queued)
        answer_stopping(ask);
}

void rp_stop(rp_rounds *r)
{
    if (!r)
        return;
    pthread_mutex_lock(&r->mu);
    r->stopping = true;
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
    pthread_join(r->thread, NULL);
    /* The thread took nothing more once stopping was set: the queue is still here. */
    answer_stopping(r->head);
    pthread_cond_destroy(&r->cv);
    pthread_mutex_destroy(&r->mu);
    free(r);
}

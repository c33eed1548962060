/*
 * queue.c - the intrusive write FIFO (see queue.h).
 *
 * Lock, unlock, wait and signal on an initialized default mutex/condition cannot fail (their only
 * errors are for invalid or error-checking mutexes), so their results are not tested.
 */
#include "storage/queue.h"

int stq_init(st_queue *q)
{
    q->head = q->tail = NULL;
    q->closed = false;
    int rc = pthread_mutex_init(&q->mu, NULL);
    if (rc != 0)
        return -rc;
    rc = pthread_cond_init(&q->cv, NULL);
    if (rc != 0) {
        pthread_mutex_destroy(&q->mu);
        return -rc;
    }
    return 0;
}

void stq_deinit(st_queue *q)
{
    pthread_cond_destroy(&q->cv);
    pthread_mutex_destroy(&q->mu);
}

bool stq_push(st_queue *q, st_write *w)
{
    pthread_mutex_lock(&q->mu);
    bool ok = !q->closed;
    if (ok) {
        w->next = NULL;
        if (q->tail)
            q->tail->next = w;
        else
            q->head = w;
        q->tail = w;
        /* One writer waits on cv, so signal (not broadcast) is enough. */
        pthread_cond_signal(&q->cv);
    }
    pthread_mutex_unlock(&q->mu);
    return ok;
}

/* Unlinks up to max writes from the head. Caller holds q->mu and q->head is not NULL. */
static st_write *stq_unlink(st_queue *q, int max)
{
    st_write *first = q->head, *last = q->head;
    for (int n = 1; n < max && last->next; n++)
        last = last->next;
    q->head = last->next;
    if (!q->head)
        q->tail = NULL;
    last->next = NULL;
    return first;
}

st_write *stq_take(st_queue *q, int max, bool wait)
{
    pthread_mutex_lock(&q->mu);
    while (wait && !q->head && !q->closed)
        pthread_cond_wait(&q->cv, &q->mu);
    st_write *batch = q->head ? stq_unlink(q, max) : NULL;
    pthread_mutex_unlock(&q->mu);
    return batch;
}

void stq_close(st_queue *q)
{
    pthread_mutex_lock(&q->mu);
    q->closed = true;
    pthread_cond_broadcast(&q->cv);
    pthread_mutex_unlock(&q->mu);
}

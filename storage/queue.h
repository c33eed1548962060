/*
 * queue.h - private: the intrusive FIFO of submitted writes that feeds a backend's writer thread.
 *
 * Writes are linked through st_write.next, so queueing never allocates. A mutex guards the list
 * and a condition variable wakes the writer. Once closed, the queue refuses new writes but still
 * hands out those already queued, so the writer can drain it before it stops.
 */
#ifndef FOO_STORAGE_QUEUE_H
#define FOO_STORAGE_QUEUE_H

#include "storage/storage.h"

#include <pthread.h>
#include <stdbool.h>

typedef struct st_queue {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    st_write *head; /* oldest */
    st_write *tail; /* newest */
    bool closed;
} st_queue;

/* Initializes an empty, open queue. Returns 0 or a negative errno (nothing to deinit then). */
int stq_init(st_queue *q);
/* Destroys the queue, which must be empty and have no thread waiting on it. */
void stq_deinit(st_queue *q);

/*
 * Appends w and wakes the writer. Returns false, leaving w untouched, when the queue is closed.
 * Thread-safe; never blocks except on the mutex.
 */
bool stq_push(st_queue *q, st_write *w);

/*
 * Removes up to max (>= 1) writes in FIFO order and returns them linked through next (the last
 * one's next is NULL). With wait, blocks until the queue is non-empty or closed. Returns NULL when
 * the queue is empty and either closed or !wait. Thread-safe.
 */
st_write *stq_take(st_queue *q, int max, bool wait);

/* Refuses later pushes and wakes a waiting writer. Idempotent. Thread-safe. */
void stq_close(st_queue *q);

#endif

/*
 * workers.c - the pool of threads for blocking calls (workers.h).
 */
#include "apiserver/transport/workers.h"

#include "common/alloc.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

typedef struct as_work {
    as_work_fn fn;
    void *arg;
    struct as_work *next;
} as_work;

struct as_workers {
    pthread_mutex_t mu;
    pthread_cond_t cv;    /* signalled when work is queued or stopping is set */
    as_work *head, *tail; /* queued jobs, oldest first; guarded by mu */
    bool stopping;        /* guarded by mu: no thread waits for more work once the queue is empty */
    pthread_t *threads;
    int nthreads;
};

static void *worker_main(void *p)
{
    as_workers *w = p;
    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (!w->head && !w->stopping)
            pthread_cond_wait(&w->cv, &w->mu);
        as_work *job = w->head;
        if (!job)
            break; /* stopping, and nothing left */
        w->head = job->next;
        if (!w->head)
            w->tail = NULL;
        pthread_mutex_unlock(&w->mu);
        job->fn(job->arg);
        free(job);
        pthread_mutex_lock(&w->mu);
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

int as_workers_start(int n, as_workers **out, api_error *err)
{
    *out = NULL;
    as_workers *w = xcalloc(1, sizeof *w);
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    w->threads = xcalloc((size_t)(n > 0 ? n : 1), sizeof *w->threads);
    for (int i = 0; i < (n > 0 ? n : 1); i++) {
        if (pthread_create(&w->threads[i], NULL, worker_main, w) != 0) {
            as_workers_stop(w);
            apierr_set(err, 500, "InternalError", "cannot start the authorization worker threads");
            return -EAGAIN;
        }
        w->nthreads++;
    }
    *out = w;
    return 0;
}

void as_workers_submit(as_workers *w, as_work_fn fn, void *arg)
{
    as_work *job = xcalloc(1, sizeof *job);
    job->fn = fn;
    job->arg = arg;
    pthread_mutex_lock(&w->mu);
    bool stopping = w->stopping;
    if (!stopping) {
        if (w->tail)
            w->tail->next = job;
        else
            w->head = job;
        w->tail = job;
        pthread_cond_signal(&w->cv);
    }
    pthread_mutex_unlock(&w->mu);
    if (stopping) {
        fn(arg);
        free(job);
    }
}

void as_workers_stop(as_workers *w)
{
    if (!w)
        return;
    pthread_mutex_lock(&w->mu);
    w->stopping = true;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    for (int i = 0; i < w->nthreads; i++)
        pthread_join(w->threads[i], NULL);
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->mu);
    free(w->threads);
    free(w);
}

#include "apiserver/transport/offload.h"
#include "common/alloc.h"
#include "common/log.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

struct as_job {
    as_req *req;
    as_offload_fn fn;
    void *data;
    /* staged by the job, carried out by job_done on the service thread */
    as_resume_fn resume; /* NULL: the job answered (or did not park again) */
    void *resume_data;
    struct after {
        void (*fn)(as_req *req, void *arg);
        void *arg;
    } * after; /* as_req_after_job's work, in order */
    size_t nafter;
    as_job *next; /* queue link */
};

struct as_offload {
    as_http *http;
    pthread_t thread;
    /* Guards everything below. Lock order: this, then nothing. */
    pthread_mutex_t mu;
    pthread_cond_t cond;
    as_job *head, *tail; /* queued jobs, oldest first */
    bool stopping;       /* no job is queued after this; the thread exits when the queue is empty */
};

/* Service thread, from the completion queue: carries out what the job staged. */
static void job_done(as_req *req, void *data)
{
    as_job *j = data;
    req->job = NULL;
    if (j->resume && req->orphaned) {
        j->resume(req, j->resume_data); /* frees its data, the work not done with it */
    } else if (j->resume) {
        as_req_park(req, j->resume, j->resume_data);
        for (size_t i = 0; i < j->nafter; i++)
            j->after[i].fn(req, j->after[i].arg);
    }
    free(j->after);
    free(j);
}

static as_job *take_job(as_offload *o)
{
    pthread_mutex_lock(&o->mu);
    while (!o->head && !o->stopping)
        pthread_cond_wait(&o->cond, &o->mu);
    as_job *j = o->head;
    if (j) {
        o->head = j->next;
        if (!o->head)
            o->tail = NULL;
    }
    pthread_mutex_unlock(&o->mu);
    return j;
}

static void *compute_main(void *arg)
{
    as_offload *o = arg;
    as_job *j;
    while ((j = take_job(o))) {
        j->fn(j->req, j->data);
        as_post_completion(o->http, j->req); /* job_done runs on the service thread */
    }
    return NULL;
}

int as_offload_start(as_http *http, as_offload **out, api_error *err)
{
    as_offload *o = xcalloc(1, sizeof *o);
    o->http = http;
    pthread_mutex_init(&o->mu, NULL);
    pthread_cond_init(&o->cond, NULL);
    if (pthread_create(&o->thread, NULL, compute_main, o) != 0) {
        apierr_internal(err, "cannot start the compute thread");
        pthread_mutex_destroy(&o->mu);
        pthread_cond_destroy(&o->cond);
        free(o);
        return -EAGAIN;
    }
    *out = o;
    return 0;
}

void as_offload_stop(as_offload *o)
{
    if (!o)
        return;
    pthread_mutex_lock(&o->mu);
    o->stopping = true;
    pthread_cond_signal(&o->cond);
    pthread_mutex_unlock(&o->mu);
    pthread_join(o->thread, NULL);
    pthread_mutex_destroy(&o->mu);
    pthread_cond_destroy(&o->cond);
    free(o);
}

void as_offload_run(as_offload *o, as_req *req, as_offload_fn fn, void *data)
{
    as_job *j = xcalloc(1, sizeof *j);
    j->req = req;
    j->fn = fn;
    j->data = data;
    as_req_park(req, job_done, j);
    req->job = j; /* from here on as_req_park and as_submit_write stage on j */
    pthread_mutex_lock(&o->mu);
    if (o->tail)
        o->tail->next = j;
    else
        o->head = j;
    o->tail = j;
    pthread_cond_signal(&o->cond);
    pthread_mutex_unlock(&o->mu);
}

bool as_offload_stage_park(as_req *req, as_resume_fn fn, void *data)
{
    as_job *j = req->job;
    if (!j)
        return false;
    j->resume = fn;
    j->resume_data = data;
    return true;
}

bool as_offload_stage_after(as_req *req, void (*fn)(as_req *req, void *arg), void *arg)
{
    as_job *j = req->job;
    if (!j)
        return false;
    j->after = xrealloc(j->after, (j->nafter + 1) * sizeof *j->after);
    j->after[j->nafter++] = (struct after){fn, arg};
    return true;
}

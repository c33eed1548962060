#include "apiserver/offload.h"
#include "apiserver/internal.h"
#include "common/alloc.h"
#include "common/log.h"

#include <pthread.h>
#include <stdlib.h>

struct as_job {
    as_req *req;
    as_offload_fn fn;
    void *data;
    /* staged by the job, carried out by job_done on the service thread */
    as_resume_fn resume; /* NULL: the job answered (or did not park again) */
    void *resume_data;
    st_write **writes;
    size_t nwrites;
    as_job *next; /* queue link */
};

struct as_offload {
    as_server *srv;
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
        j->resume(req, j->resume_data); /* frees its data, the unsubmitted writes with it */
    } else if (j->resume) {
        as_req_park(req, j->resume, j->resume_data);
        for (size_t i = 0; i < j->nwrites; i++)
            st_submit(req->server->store, j->writes[i]);
    }
    free(j->writes);
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
        as_post_completion(o->srv, j->req); /* job_done runs on the service thread */
    }
    return NULL;
}

int as_offload_start(as_server *srv)
{
    as_offload *o = xcalloc(1, sizeof *o);
    o->srv = srv;
    pthread_mutex_init(&o->mu, NULL);
    pthread_cond_init(&o->cond, NULL);
    if (pthread_create(&o->thread, NULL, compute_main, o) != 0) {
        log_error("cannot start the compute thread");
        pthread_mutex_destroy(&o->mu);
        pthread_cond_destroy(&o->cond);
        free(o);
        return -1;
    }
    srv->offload = o;
    return 0;
}

void as_offload_stop(as_server *srv)
{
    as_offload *o = srv->offload;
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
    srv->offload = NULL;
}

void as_offload_run(as_req *req, as_offload_fn fn, void *data)
{
    as_offload *o = req->server->offload;
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

void as_submit_write(as_req *req, st_write *w)
{
    as_job *j = req->job;
    if (!j) {
        st_submit(req->server->store, w);
        return;
    }
    j->writes = xrealloc(j->writes, (j->nwrites + 1) * sizeof *j->writes);
    j->writes[j->nwrites++] = w;
}

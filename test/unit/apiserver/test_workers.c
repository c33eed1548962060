/*
 * test_workers.c - the pool of threads for blocking calls (apiserver/transport/workers.h): every
 * job runs once, jobs run in parallel, stopping runs what is queued, and a job submitted after
 * stop has begun runs on the caller's thread.
 */
#include "apiserver/transport/workers.h"

#include <criterion/criterion.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

typedef struct counter {
    atomic_int runs;
} counter;

static void count_job(void *arg)
{
    atomic_fetch_add(&((counter *)arg)->runs, 1);
}

Test(workers, every_job_runs_once_and_stop_drains_the_queue)
{
    as_workers *w = NULL;
    cr_assert_eq(as_workers_start(3, &w, NULL), 0);
    counter c = {0};
    for (int i = 0; i < 1000; i++)
        as_workers_submit(w, count_job, &c);
    as_workers_stop(w);
    cr_assert_eq(atomic_load(&c.runs), 1000);
}

/* Two jobs that each wait for the other: they finish only if two threads run them at once. */
typedef struct rendezvous {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int arrived;
} rendezvous;

static void meet_job(void *arg)
{
    rendezvous *r = arg;
    pthread_mutex_lock(&r->mu);
    r->arrived++;
    pthread_cond_broadcast(&r->cv);
    while (r->arrived < 2)
        pthread_cond_wait(&r->cv, &r->mu);
    pthread_mutex_unlock(&r->mu);
}

Test(workers, a_blocked_job_does_not_hold_up_the_others)
{
    as_workers *w = NULL;
    cr_assert_eq(as_workers_start(2, &w, NULL), 0);
    rendezvous r = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0};
    as_workers_submit(w, meet_job, &r);
    as_workers_submit(w, meet_job, &r);
    as_workers_stop(w); /* returns only once both met */
    cr_assert_eq(r.arrived, 2);
}

typedef struct late_submit {
    as_workers *w;
    counter *c;
} late_submit;

/* Submits one more job from a worker while the pool stops: it must still run. */
static void submit_again_job(void *arg)
{
    late_submit *ls = arg;
    as_workers_submit(ls->w, count_job, ls->c);
}

Test(workers, jobs_submitted_while_stopping_still_run)
{
    as_workers *w = NULL;
    cr_assert_eq(as_workers_start(1, &w, NULL), 0);
    counter c = {0};
    late_submit ls = {.w = w, .c = &c};
    for (int i = 0; i < 50; i++)
        as_workers_submit(w, submit_again_job, &ls);
    as_workers_stop(w);
    cr_assert_eq(atomic_load(&c.runs), 50);
}

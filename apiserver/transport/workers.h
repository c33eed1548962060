/*
 * workers.h - a small pool of threads for blocking calls that must not run on the service
 * thread or the compute thread: the TokenReviews and SubjectAccessReviews of a delegated server
 * (docs/api.md §9.7). Jobs run in the order they were queued, on whichever thread is free.
 */
#ifndef FOO_APISERVER_WORKERS_H
#define FOO_APISERVER_WORKERS_H

#include "common/apierr.h"

typedef struct as_workers as_workers;
typedef void (*as_work_fn)(void *arg);

/* Starts n threads (n >= 1). Returns 0 with *out, or -EAGAIN with err set when a thread cannot
   start (none is left running). */
int as_workers_start(int n, as_workers **out, api_error *err);

/* Queues fn(arg). Thread-safe. After as_workers_stop has begun, fn runs on the caller's thread
   instead (so every job still ends and frees what it owns). */
void as_workers_submit(as_workers *w, as_work_fn fn, void *arg);

/* Runs every queued job, joins the threads and frees w. NULL is a no-op. */
void as_workers_stop(as_workers *w);

#endif

/*
 * offload.h - the compute thread: where the work of a write request (reading its body, patching,
 * validating, planning storage writes) runs, so that the service thread, which alone reads and
 * writes every socket, never stalls on one big request (docs/hostile-input.md §1, rule 6). A
 * 3 MiB merge patch of 250 000 keys costs a few hundred milliseconds; on the service thread that
 * would be a few hundred milliseconds of silence for every other client, /healthz included.
 *
 * How a request travels (docs/design.md §4.2):
 *   service thread   as_offload_run(o, req, fn, data): parks req, queues the job
 *   compute thread   fn(req, data): the handler runs as usual and answers into req, or parks it
 *                    again and asks for work after the job (as_req_after_job: storage writes);
 *                    both are only staged on the job
 *   service thread   the job's completion: the staged park and work are carried out for real
 *                    (so a write's own completion can never overtake the job's), or the answer
 *                    already in req is sent
 * While the job runs, only the compute thread touches req (the service thread looks at
 * req->parked and sets req->orphaned if the client leaves), and the lock of the completion queue
 * orders everything the compute thread wrote before the service thread reads it.
 */
#ifndef FOO_APISERVER_OFFLOAD_H
#define FOO_APISERVER_OFFLOAD_H

#include "apiserver/transport/http.h"

#include <stdbool.h>

typedef struct as_offload as_offload;
typedef struct as_job as_job;
typedef void (*as_offload_fn)(as_req *req, void *data);

/* Starts the compute thread of http (whose completion queue its jobs use). Returns 0 with *out,
   or -EAGAIN with err set when the thread cannot start. */
int as_offload_start(as_http *http, as_offload **out, api_error *err);

/*
 * Runs every job still queued, then joins the compute thread and frees o. Call before the
 * service loop stops for good (the jobs' completions are then drained or freed by as_http_free).
 * NULL is a no-op.
 */
void as_offload_stop(as_offload *o);

/* Service thread: parks req and has fn(req, data) run on o's compute thread. */
void as_offload_run(as_offload *o, as_req *req, as_offload_fn fn, void *data);

/*
 * Parks req (as_req_park) or, while a compute job runs it, stages the park for the job's end.
 * Returns true when it was staged. Called by as_req_park only.
 */
bool as_offload_stage_park(as_req *req, as_resume_fn fn, void *data);

/* Stages fn(req, arg) for the end of the job running req; false when no job runs it (the
   caller runs fn at once). Called by as_req_after_job only. */
bool as_offload_stage_after(as_req *req, void (*fn)(as_req *req, void *arg), void *arg);

#endif

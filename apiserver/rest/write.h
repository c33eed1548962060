/*
 * write.h - the write verbs (private to apiserver/): create, update, patch, delete,
 * deletecollection and the status/scale/bar subresources. Each computes the new object from
 * the watch cache's current state, submits one storage write with compare-on-revision, parks
 * the request, and answers when the write commits. When the write lost a race and the client did
 * not pin a resourceVersion, it is recomputed from the newer state and retried.
 * Service thread only.
 *
 * Implemented by write.c (the write cycle; create, update, patch), delete.c, subresources.c
 * (/scale, /bar), object_rules.c (the next object) and write_op.c, around the private write_op.h.
 */
#ifndef FOO_APISERVER_WRITE_H
#define FOO_APISERVER_WRITE_H

#include "apiserver/rest/handlers.h"
#include "common/sbuf.h"
#include "storage/storage.h"

void as_handle_create(as_req *req, const as_target *t);
void as_handle_update(as_req *req, const as_target *t); /* PUT item or /status */
void as_handle_patch(as_req *req, const as_target *t);  /* PATCH item or /status */
void as_handle_delete(as_req *req, const as_target *t);
void as_handle_delete_collection(as_req *req, const as_target *t);
void as_handle_scale(as_req *req, const as_target *t); /* GET/PUT/PATCH /scale */
void as_handle_bar(as_req *req, const as_target *t);   /* POST /bar */

/* Submits a storage write for a parked req: at once on the service thread, or when the compute
   job running req ends (as_req_after_job: the write's completion must not overtake the job's). */
void as_submit_write(as_req *req, st_write *w);

/* The 404 of an object of r: `<resource>.<group> "<name>" not found` (defined in write.c). */
void as_error_not_found(api_error *e, const as_resource *r, const char *name);

#endif

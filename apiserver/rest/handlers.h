/*
 * handlers.h - the REST verbs on a registry resource: get, list, watch, create, update, patch,
 * delete, and the status, scale and bar subresources (docs/api.md §5, §8).
 * Service thread only. Writes go to storage asynchronously: the request is parked and answered
 * when the write commits.
 */
#ifndef FOO_APISERVER_HANDLERS_H
#define FOO_APISERVER_HANDLERS_H

#include "apiserver/transport/http.h"
#include "apiserver/resource/list_options.h"
#include "apiserver/resource/registry.h"

typedef struct as_target {
    const as_resource *resource;
    const char *ns;   /* namespace segment of the path, or NULL */
    const char *name; /* object name, or NULL for the collection */
    const char *sub;  /* subresource, or NULL */
} as_target;

/*
 * A subresource that is one kind's own (Foo's bar), not generic like status and scale: what
 * discovery says of it and the handler that serves every verb on it. The table lives in
 * subresources.c; a registry entry names its custom subresources (custom_subresources).
 */
typedef struct as_custom_subresource {
    const char *group, *resource, *name; /* e.g. demo.example.com, foos, bar */
    const char *kind;                    /* of its request and response bodies, in the group */
    const char *verbs[4];                /* discovery's, NULL-terminated */
    void (*handle)(as_req *req, const as_target *t);
} as_custom_subresource;

/* The custom subresource `name` of r, or NULL. */
const as_custom_subresource *as_custom_subresource_find(const as_resource *r, const char *name);

/* The request's query parameters as the resource layer reads them (list_options.h). */
as_query as_req_query(const as_req *req);

/* The server's wall clock, in seconds (rules take the request's time from it). */
int64_t as_now_s(as_req *req);
/* Whether the Accept header allows JSON; answers 406 and returns false when it does not. */
bool as_check_accept(as_req *req);

/* kube's bound on how long a consistent read waits for the watch cache (then 504 Timeout),
   counted from the read's arrival. */
#define AS_FRESH_READ_TIMEOUT_MS 3000

/* Answers one read from the watch cache (req, t as given to the handler). */
typedef void (*as_read_fn)(as_req *req, const as_target *t);
/*
 * Runs serve(req, t) at once, or, with a store other replicas write too (etcd), once the kind's
 * cache shows every write acknowledged before the request (no resourceVersion) or the revision
 * asked for: a consistent read (docs/design.md §4.11), waited for off the service and compute
 * threads (the read point thread, srv->read_points, and the waiter threads) for at most
 * AS_FRESH_READ_TIMEOUT_MS, then 504 Timeout instead. serve runs on the service thread.
 * Service thread.
 */
void as_read_fresh(as_req *req, const as_target *t, as_read_fn serve);
/* GET of one object (or of a subresource that shows the object). */
void as_handle_get(as_req *req, const as_target *t);
/* Answers 405 MethodNotAllowed: `<verb> is not supported on resources of kind "<r>"`. */
void as_method_not_allowed(as_req *req, const as_resource *r, const char *verb);

/* Serves any request addressed to a resource (the router resolved the target). */
void as_handle_resource(as_req *req, const as_target *t);

#endif

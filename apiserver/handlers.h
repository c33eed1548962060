/*
 * handlers.h - the REST verbs on a registry resource: get, list, watch, create, update, patch,
 * delete, and the status, scale and bar subresources (docs/api.md §5, §8).
 * Service thread only. Writes go to storage asynchronously: the request is parked and answered
 * when the write commits.
 */
#ifndef FOO_APISERVER_HANDLERS_H
#define FOO_APISERVER_HANDLERS_H

#include "apiserver/http.h"
#include "apiserver/registry.h"

typedef struct as_target {
    const as_resource *resource;
    const char *ns;   /* namespace segment of the path, or NULL */
    const char *name; /* object name, or NULL for the collection */
    const char *sub;  /* subresource, or NULL */
} as_target;

/* Serves any request addressed to a resource (the router resolved the target). */
void as_handle_resource(as_req *req, const as_target *t);

#endif

/*
 * discovery.h - discovery documents and /version (private to apiserver/). Built once by
 * as_discovery_new() from the registry; the handlers run on the service thread.
 */
#ifndef FOO_APISERVER_DISCOVERY_H
#define FOO_APISERVER_DISCOVERY_H

#include "apiserver/transport/http.h"

typedef struct as_discovery as_discovery;
typedef struct as_registry as_registry;

/* Renders every discovery document of the registry's kinds, once (they never change while the
   server runs). The registry is only read during the call. Free with as_discovery_free. */
as_discovery *as_discovery_new(const as_registry *reg);
/* NULL is a no-op. */
void as_discovery_free(as_discovery *d);

/* GET /apis: APIGroupList, or aggregated discovery (v2/v2beta1, ETag, 304) when Accept asks. */
void as_discovery_apis(as_req *req);
/* GET /apis/G: APIGroup. */
void as_discovery_group(as_req *req);
/* GET /apis/G/V: APIResourceList. */
void as_discovery_resources(as_req *req);
/* GET /version. */
void as_discovery_version(as_req *req);

#endif

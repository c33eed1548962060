/*
 * discovery.h - discovery documents and /version (private to apiserver/). Built once by
 * as_discovery_init() after the registry; the handlers run on the service thread.
 */
#ifndef FOO_APISERVER_DISCOVERY_H
#define FOO_APISERVER_DISCOVERY_H

#include "apiserver/http.h"

void as_discovery_init(void);
void as_discovery_free(void);

/* GET /apis: APIGroupList, or aggregated discovery (v2/v2beta1, ETag, 304) when Accept asks. */
void as_discovery_apis(as_req *req);
/* GET /apis/G: APIGroup. */
void as_discovery_group(as_req *req);
/* GET /apis/G/V: APIResourceList. */
void as_discovery_resources(as_req *req);
/* GET /version. */
void as_discovery_version(as_req *req);

#endif

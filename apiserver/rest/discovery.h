/*
 * discovery.h - discovery documents and /version (private to apiserver/). Built once by
 * as_discovery_new() from the registry; the handlers run on the service thread and only read.
 */
#ifndef FOO_APISERVER_DISCOVERY_H
#define FOO_APISERVER_DISCOVERY_H

#include "apiserver/resource/registry.h"
#include "apiserver/transport/http.h"

typedef struct as_discovery as_discovery;

/* Renders every discovery document of the registry's kinds, once (they never change while the
   server runs). The registry is only read during the call. Free with as_discovery_free. */
as_discovery *as_discovery_new(const as_registry *reg);
/* NULL is a no-op. */
void as_discovery_free(as_discovery *d);

/* The most verbs a resource has (create delete deletecollection get list patch update watch). */
#define AS_MAX_VERBS 8

/*
 * The verbs kube lists for resource r, sorted, into verbs (NULL-terminated); returns their count.
 * Every resource has all eight, except namespaces: no deletecollection. Discovery and OpenAPI
 * both use this list, so they cannot disagree.
 */
int as_discovery_verbs(const as_resource *r, const char *verbs[AS_MAX_VERBS + 1]);

/* Whether r serves deletecollection (every kind but namespaces, as kube): discovery lists the
   verb from this, and the handlers refuse the DELETE of a collection from it. */
bool as_resource_deletes_collections(const as_resource *r);

/* GET /api: APIVersions, or the core group's aggregated discovery (v2/v2beta1, ETag, 304) when
   Accept asks; 404 when no core kind is served. */
void as_discovery_api(as_req *req);
/* GET /apis: APIGroupList of every non-core group, or aggregated discovery when Accept asks. */
void as_discovery_apis(as_req *req);
/* GET /apis/G: APIGroup, or 404 for a group not served. */
void as_discovery_group(as_req *req, const char *group);
/* GET /api/V (group "") or /apis/G/V: APIResourceList, or 404 for a group-version not served. */
void as_discovery_resources(as_req *req, const char *group, const char *version);
/* GET /version. */
void as_discovery_version(as_req *req);

#endif

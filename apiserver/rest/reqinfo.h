/*
 * reqinfo.h - what a request asks for, in authorization's terms: kube's RequestInfo (resource or
 * not; verb, group, version, resource, subresource, name, namespace; or the path), from which the
 * SubjectAccessReview of a delegated server is built (docs/api.md §9.7).
 *
 * The rules are kube-apiserver's, so that RBAC written for kube means the same here:
 *   - /api/V/... and /apis/G/V/... with at least a resource are resource requests; anything else
 *     (/apis, /apis/G, /apis/G/V, /openapi/v2, /metrics, /healthz ...) is not;
 *   - verb from the method: POST create, GET and HEAD get, PUT update, PATCH patch, DELETE
 *     delete; a path segment "watch" right after the version makes it watch;
 *   - namespaces/NS/R/... is R in namespace NS; namespaces/NS (and its status and finalize) is
 *     the namespace object itself, in namespace NS;
 *   - R/NAME/SUB: resource, name, subresource;
 *   - get without a name is list, or watch with watch=true; delete without a name is
 *     deletecollection; a list or watch with fieldSelector metadata.name=X (or ==) names X;
 *   - non-resource requests: the lower-case method and the path.
 */
#ifndef FOO_APISERVER_REQINFO_H
#define FOO_APISERVER_REQINFO_H

#include "apiserver/transport/http.h"

#include <stdbool.h>

typedef struct as_reqinfo {
    bool resource_request;
    char verb[24];
    /* Point into buf or selector ("" when absent); valid until as_reqinfo_clear, whatever
       becomes of the request. */
    const char *group, *version, *resource, *subresource, *name, *namespace, *path;
    char *buf;      /* owned storage of the strings above */
    char *selector; /* owned copy of the field selector, when name points into it */
} as_reqinfo;

/* Fills *out for req (method, path, query). Never fails. Free with as_reqinfo_clear. */
void as_reqinfo_of(const as_req *req, as_reqinfo *out);
/* Frees what ri holds and zeroes it. */
void as_reqinfo_clear(as_reqinfo *ri);

#endif

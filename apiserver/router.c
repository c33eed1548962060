/*
 * router.c - maps a request path to its handler (service thread).
 *
 * Paths: /healthz /livez /readyz [/<check>], /version, /api, /apis, /apis/G, /apis/G/V,
 * /apis/G/V[/namespaces/NS]/RESOURCE[/NAME[/SUBRESOURCE]], /openapi/v2, /openapi/v3[/apis/G/V].
 * Anything else: 404 with kube's "the server could not find the requested resource".
 */
#include "apiserver/discovery.h"
#include "apiserver/handlers.h"
#include "apiserver/health.h"
#include "apiserver/internal.h"
#include "apiserver/openapi_handler.h"
#include "apiserver/registry.h"
#include "common/alloc.h"

#include <stdlib.h>
#include <string.h>

#define MAX_SEGMENTS 10

/* Splits "/a/b/c" into segments (pointers into a copy owned by the caller); -1 past max.
   Reentrant: requests are routed on the service thread and on the compute thread at once. */
static int split_path(char *copy, char **seg, int max)
{
    int n = 0;
    char *save = NULL;
    for (char *tok = strtok_r(copy, "/", &save); tok && n < max; tok = strtok_r(NULL, "/", &save))
        seg[n++] = tok;
    return strtok_r(NULL, "/", &save) ? -1 : n;
}

static void not_found(as_req *req)
{
    as_respond_status(req, 404, "NotFound", "the server could not find the requested resource");
}

static void method_not_allowed_unless_get(as_req *req, void (*fn)(as_req *))
{
    if (req->method != AS_GET && req->method != AS_HEAD)
        return as_respond_status(req, 405, "MethodNotAllowed",
                                 "the server does not allow this "
                                 "method on the requested resource");
    fn(req);
}

/* /apis/G/V/... with seg[0] = "apis". */
static void route_group(as_req *req, char **seg, int n)
{
    if (n == 1)
        return method_not_allowed_unless_get(req, as_discovery_apis);
    bool known_group = false;
    int count;
    const as_resource *const *all = as_registry_all(&count);
    for (int i = 0; i < count; i++)
        if (strcmp(all[i]->group, seg[1]) == 0)
            known_group = true;
    if (!known_group)
        return not_found(req);
    if (n == 2)
        return method_not_allowed_unless_get(req, as_discovery_group);
    if (n == 3)
        return method_not_allowed_unless_get(req, as_discovery_resources);
    as_target t = {0};
    int i = 3;
    if (strcmp(seg[i], "namespaces") == 0 && n >= i + 3) {
        t.ns = seg[i + 1];
        i += 2;
    }
    t.resource = as_registry_find(seg[1], seg[2], seg[i]);
    if (!t.resource)
        return not_found(req);
    i++;
    if (i < n)
        t.name = seg[i++];
    if (i < n)
        t.sub = seg[i++];
    if (i < n)
        return not_found(req);
    as_handle_resource(req, &t);
}

void as_route(as_req *req)
{
    const char *p = req->path;
    if (as_health_handles(req))
        return;
    if (strcmp(p, "/version") == 0 || strcmp(p, "/version/") == 0)
        return method_not_allowed_unless_get(req, as_discovery_version);
    if (strcmp(p, "/openapi/v2") == 0)
        return method_not_allowed_unless_get(req, as_openapi_v2);
    if (strcmp(p, "/openapi/v3") == 0)
        return method_not_allowed_unless_get(req, as_openapi_v3_index);
    if (strcmp(p, "/openapi/v3/apis/demo.example.com/v1beta1") == 0)
        return method_not_allowed_unless_get(req, as_openapi_v3_group);
    char *copy = xstrdup(p);
    char *seg[MAX_SEGMENTS];
    int n = split_path(copy, seg, MAX_SEGMENTS);
    if (n >= 1 && strcmp(seg[0], "apis") == 0)
        route_group(req, seg, n);
    else
        not_found(req);
    free(copy);
}

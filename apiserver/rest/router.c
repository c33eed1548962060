/*
 * router.c - maps a request path to its handler (service thread).
 *
 * Paths: /healthz /livez /readyz [/<check>], /version, /api, /apis, /apis/G, /apis/G/V,
 * /apis/G/V[/namespaces/NS]/RESOURCE[/NAME[/SUBRESOURCE]], /openapi/v2, /openapi/v3[/apis/G/V].
 * Anything else: 404 with kube's "the server could not find the requested resource".
 */
#include "apiserver/rest/discovery.h"
#include "apiserver/rest/handlers.h"
#include "apiserver/rest/health.h"
#include "apiserver/rest/server.h"
#include "apiserver/rest/openapi_handler.h"
#include "apiserver/resource/registry.h"
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
    const as_resource *const *all = as_registry_all(as_server_of(req)->registry, &count);
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
    t.resource = as_registry_find(as_server_of(req)->registry, seg[1], seg[2], seg[i]);
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

/*
 * Authorization, standalone mode (docs/api.md §9): every authenticated user may do everything;
 * anonymous users may only read the health checks. A rejected credential is anonymous. Returns
 * false after answering 401.
 */
static bool authorize(as_req *req)
{
    if (!authn_user_is_anonymous(req->user) || as_health_path(req->path))
        return true;
    as_respond_status(req, 401, "Unauthorized", "Unauthorized");
    return false;
}

static void route(as_req *req)
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

void as_rest_handle(void *app, as_req *req)
{
    as_server *srv = app;
    /* Draining: answer, then close, so that clients reconnect to another replica; the health
       checks keep their connection so a probe can watch /readyz fail. */
    if (atomic_load(&srv->stopping) && !as_health_path(req->path))
        req->close_connection = true;
    if (authorize(req))
        route(req);
}

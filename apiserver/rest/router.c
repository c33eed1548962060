/*
 * router.c - maps a request path to its handler (service thread).
 *
 * Paths: /healthz /livez /readyz [/<check>], /version, /metrics, /api, /api/V, /apis, /apis/G,
 * /apis/G/V, {/api/V,/apis/G/V}[/namespaces/NS]/RESOURCE[/NAME[/SUBRESOURCE]], the deprecated
 * watch paths {/api/V,/apis/G/V}/watch[/namespaces/NS]/RESOURCE[/NAME], /openapi/v2,
 * /openapi/v3[/api/V or /apis/G/V]; every group, version and resource comes from the registry.
 * A request that asks to upgrade to WebSocket is routed like any other, but only a watch may be
 * upgraded: anything else gets a 400 (docs/api.md §6.1).
 * Anything else, a known group with a version it does not serve included: 404 with kube's "the
 * server could not find the requested resource".
 */
#include "apiserver/rest/discovery.h"
#include "apiserver/rest/handlers.h"
#include "apiserver/rest/health.h"
#include "apiserver/rest/metrics.h"
#include "apiserver/rest/server.h"
#include "apiserver/rest/authorize.h"
#include "apiserver/rest/openapi_handler.h"
#include "apiserver/resource/registry.h"
#include "apiserver/resource/selector.h"
#include "common/alloc.h"

#include <stdlib.h>
#include <string.h>

#define MAX_SEGMENTS 10

/*
 * Splits "/a/b/c" into segments (pointers into a copy owned by the caller, each '/' after one
 * overwritten with a NUL), skipping empty ones as strtok does; -1 past max. A plain loop rather
 * than strtok_r, whose strspn and strcspn per segment cost more than the rest of routing a GET.
 * Reentrant: requests are routed on the service thread and on the compute thread at once.
 */
static int split_path(char *copy, char **seg, int max)
{
    int n = 0;
    char *p = copy;
    for (;;) {
        while (*p == '/')
            p++;
        if (!*p)
            return n;
        if (n == max)
            return -1;
        seg[n++] = p;
        while (*p && *p != '/')
            p++;
        if (*p)
            *p++ = '\0';
    }
}

static void not_found(as_req *req)
{
    as_respond_status(req, 404, "NotFound", "the server could not find the requested resource");
}

/*
 * A WebSocket upgrade of what is not a watch (discovery, OpenAPI, one object, a write ...):
 * refused with a 400 before anything is done (kube-apiserver lets only a watch or a streaming
 * subresource upgrade; it has no streaming subresource here). Returns true after answering.
 */
static bool refuse_upgrade(as_req *req)
{
    if (!req->websocket)
        return false;
    as_respond_status(req, 400, "BadRequest",
                      "only a watch can be upgraded to WebSocket: ?watch=true on a collection, "
                      "or a /watch/ path");
    return true;
}

/* Read-only endpoints: true for GET and HEAD, else answers 405 (or 400 for an upgrade) and
   returns false. */
static bool get_only(as_req *req)
{
    if (refuse_upgrade(req))
        return false;
    if (req->method == AS_GET || req->method == AS_HEAD)
        return true;
    as_respond_status(req, 405, "MethodNotAllowed",
                      "the server does not allow this method on the requested resource");
    return false;
}

/* Whether the registry serves group (any version), or group/version when version is given. */
static bool served(const as_registry *reg, const char *group, const char *version)
{
    int n;
    const as_resource *const *all = as_registry_all(reg, &n);
    for (int i = 0; i < n; i++)
        if (!strcmp(all[i]->group, group) && (!version || !strcmp(all[i]->version, version)))
            return true;
    return false;
}

/*
 * kube's special case under a group-version that serves namespaces: /namespaces/NAME/SUB, where
 * SUB is a subresource of namespaces (status), addresses the namespace NAME itself, not a
 * resource SUB in the namespace NAME (/namespaces/NAME/events).
 */
static bool is_namespace_subresource(const as_registry *reg, const char *group, const char *version,
                                     char **seg, int n)
{
    if (n != 3)
        return false;
    const as_resource *ns = as_registry_find(reg, group, version, "namespaces");
    return ns && as_resource_has_subresource(ns, seg[2]);
}

/*
 * Resolves [namespaces/NS/]RESOURCE[/NAME[/SUBRESOURCE]] under group/version (n >= 1 segments)
 * into *t (pointers into seg). Returns false when the registry has no such resource or there
 * are segments left over.
 */
static bool resolve_target(as_req *req, const char *group, const char *version, char **seg, int n,
                           as_target *t)
{
    const as_registry *reg = as_server_of(req)->registry;
    *t = (as_target){0};
    int i = 0;
    if (strcmp(seg[0], "namespaces") == 0 && n >= 3 &&
        !is_namespace_subresource(reg, group, version, seg, n)) {
        t->ns = seg[1];
        i = 2;
    }
    t->resource = as_registry_find(reg, group, version, seg[i]);
    if (!t->resource)
        return false;
    i++;
    if (i < n)
        t->name = seg[i++];
    if (i < n)
        t->sub = seg[i++];
    return i == n;
}

/* Whether req, addressed to t, is a watch: a GET of a collection with a true ?watch (a
   ?watch that is not a boolean counts: the handler answers its 400). */
static bool is_watch(as_req *req, const as_target *t)
{
    bool watch = false;
    api_error e = API_ERROR_INIT;
    bool ok = as_list_is_watch(as_req_query(req), &watch, &e);
    apierr_clear(&e);
    return req->method == AS_GET && !t->name && !t->sub && (!ok || watch);
}

/* Hands req to the resource handler; a watch that streams counts as long-running from then on. */
static void handle_resource(as_req *req, const as_target *t)
{
    as_handle_resource(req, t);
    if (req->stream && req->labels.verb && !strcmp(req->labels.verb, "WATCH"))
        as_metrics_longrunning(as_server_of(req)->metrics, req);
}

/* [namespaces/NS/]RESOURCE[/NAME[/SUBRESOURCE]] under group/version (n >= 1 segments). */
static void route_resource(as_req *req, const char *group, const char *version, char **seg, int n)
{
    as_target t;
    if (!resolve_target(req, group, version, seg, n, &t))
        return not_found(req);
    bool watch = is_watch(req, &t);
    if (!watch && refuse_upgrade(req))
        return;
    as_metrics_label_resource(req, &t, watch);
    handle_resource(req, &t);
}

/* Sets query parameter key to value (copied), replacing every earlier value. */
static void set_param(as_req *req, const char *key, const char *value)
{
    for (int i = 0; i < req->nparams; i++) {
        if (strcmp(req->params[i].key, key) == 0) {
            free(req->params[i].value);
            req->params[i].value = xstrdup(value);
            return;
        }
    }
    req->params = xrealloc(req->params, sizeof *req->params * (size_t)(req->nparams + 1));
    req->params[req->nparams++] = (as_param){.key = xstrdup(key), .value = xstrdup(value)};
}

/*
 * The single-object form of a deprecated watch path: a watch of the collection with
 * fieldSelector metadata.name=NAME, as kube-apiserver does; a fieldSelector of the request must
 * then select that same name (else 400, kube's message). Returns false after answering.
 */
static bool select_name(as_req *req, const char *name)
{
    const char *fs = as_param_get(req, "fieldSelector");
    if (!fs || !*fs) {
        sbuf sel = SBUF_INIT;
        sbuf_puts(&sel, "metadata.name=");
        for (const char *p = name; *p; p++) { /* a selector value escapes these */
            if (strchr(",=!\\", *p))
                sbuf_putc(&sel, '\\');
            sbuf_putc(&sel, *p);
        }
        set_param(req, "fieldSelector", sel.data);
        sbuf_free(&sel);
        return true;
    }
    as_selector parsed = {0};
    api_error e = API_ERROR_INIT;
    bool ok = as_selector_parse(fs, NULL, &parsed, &e);
    const char *only = ok ? as_selector_only_name(&parsed) : NULL;
    bool same = only && strcmp(only, name) == 0;
    as_selector_free(&parsed);
    apierr_clear(&e);
    if (ok && !same) { /* a selector that does not parse: the watch answers its own 400 */
        as_respond_status(req, 400, "BadRequest",
                          "fieldSelector metadata.name doesn't match requested name");
        return false;
    }
    return true;
}

/*
 * The deprecated watch paths, .../watch/[namespaces/NS/]RESOURCE[/NAME] (seg after "watch"):
 * kube-apiserver still serves them, as ?watch=true on the collection, NAME as a fieldSelector.
 * GET only (kube registers no other verb there: 405).
 */
static void route_watch_path(as_req *req, const char *group, const char *version, char **seg, int n)
{
    as_target t;
    if (n < 1 || !resolve_target(req, group, version, seg, n, &t) || t.sub)
        return not_found(req);
    if (req->method != AS_GET) {
        as_respond_status(req, 405, "MethodNotAllowed",
                          "the server does not allow this method on the requested resource");
        return;
    }
    if (t.name && !select_name(req, t.name))
        return;
    set_param(req, "watch", "true");
    t.name = NULL;
    as_metrics_label_resource(req, &t, true);
    handle_resource(req, &t);
}

/* /api[/V[/...]] (seg[0] = "api"): the core group. */
static void route_core(as_req *req, char **seg, int n)
{
    const as_registry *reg = as_server_of(req)->registry;
    if (!served(reg, "", n >= 2 ? seg[1] : NULL))
        return not_found(req);
    if (n == 1) {
        if (get_only(req))
            as_discovery_api(req);
        return;
    }
    if (n == 2) {
        if (get_only(req))
            as_discovery_resources(req, "", seg[1]);
        return;
    }
    if (strcmp(seg[2], "watch") == 0)
        return route_watch_path(req, "", seg[1], seg + 3, n - 3);
    route_resource(req, "", seg[1], seg + 2, n - 2);
}

/* /apis[/G[/V[/...]]] (seg[0] = "apis"). */
static void route_group(as_req *req, char **seg, int n)
{
    const as_registry *reg = as_server_of(req)->registry;
    if (n == 1) {
        if (get_only(req))
            as_discovery_apis(req);
        return;
    }
    if (!served(reg, seg[1], n >= 3 ? seg[2] : NULL)) /* the core group ("") is never a segment */
        return not_found(req);
    if (n == 2) {
        if (get_only(req))
            as_discovery_group(req, seg[1]);
        return;
    }
    if (n == 3) {
        if (get_only(req))
            as_discovery_resources(req, seg[1], seg[2]);
        return;
    }
    if (strcmp(seg[3], "watch") == 0)
        return route_watch_path(req, seg[1], seg[2], seg + 4, n - 4);
    route_resource(req, seg[1], seg[2], seg + 3, n - 3);
}

/*
 * Authorization. Standalone (docs/api.md §9): every authenticated user may do everything;
 * anonymous users may only read the health checks. Delegated (authorize.h): a rejected
 * credential is refused at the head, the rest is for kube-apiserver to decide once the request
 * is complete. Returns false after answering (401, 403) or parking the request.
 */
static bool authorize(as_req *req)
{
    as_server *srv = as_server_of(req);
    if (srv->delegation && !req->at_head)
        return as_authorize_delegated(srv->delegation, req);
    bool may = srv->delegation ? !req->credentials_rejected || req->bearer_token
                               : !authn_user_is_anonymous(req->user);
    if (may || as_health_path(req->path))
        return true;
    as_respond_status(req, 401, "Unauthorized", "Unauthorized");
    return false;
}

#define OPENAPI_V3 "/openapi/v3/"

/* The fixed paths: /version and the OpenAPI documents. Returns false when p is none of them. */
static bool route_fixed(as_req *req, const char *p)
{
    void (*fn)(as_req *) = NULL;
    if (strcmp(p, "/version") == 0 || strcmp(p, "/version/") == 0)
        fn = as_discovery_version;
    else if (strcmp(p, "/metrics") == 0)
        fn = as_metrics_handle;
    else if (strcmp(p, "/openapi/v2") == 0)
        fn = as_openapi_v2;
    else if (strcmp(p, "/openapi/v3") == 0)
        fn = as_openapi_v3_index;
    else if (strncmp(p, OPENAPI_V3, strlen(OPENAPI_V3)) != 0)
        return false;
    if (!get_only(req))
        return true;
    if (fn)
        fn(req);
    else /* /openapi/v3/api/v1, /openapi/v3/apis/G/V */
        as_openapi_v3_group(req, p + strlen(OPENAPI_V3));
    return true;
}

static void route(as_req *req)
{
    const char *p = req->path;
    if (as_health_path(p) && refuse_upgrade(req))
        return;
    if (as_health_handles(req) || route_fixed(req, p))
        return;
    char *copy = xstrdup(p);
    char *seg[MAX_SEGMENTS];
    int n = split_path(copy, seg, MAX_SEGMENTS);
    if (n >= 1 && strcmp(seg[0], "apis") == 0)
        route_group(req, seg, n);
    else if (n >= 1 && strcmp(seg[0], "api") == 0)
        route_core(req, seg, n);
    else
        not_found(req);
    free(copy);
}

void as_rest_handle(void *app, as_req *req)
{
    as_server *srv = app;
    if (req->at_head) {
        /* Before the body: refuse the unauthenticated at once, and exempt the health checks
           from the caps on requests in flight (kube's exempt priority level). */
        req->limit_exempt = as_health_path(req->path);
        authorize(req);
        return;
    }
    /* Draining: answer, then close, so that clients reconnect to another replica; the health
       checks keep their connection so a probe can watch /readyz fail. */
    if (atomic_load(&srv->stopping) && !as_health_path(req->path))
        req->close_connection = true;
    if (authorize(req))
        route(req);
    /* What names no resource is labelled by its path, once served (metrics.h says why). */
    if (!req->labels.resource && !req->parked)
        as_metrics_label_path(req, req->status < 400);
}

void as_rest_done(void *app, const as_req *req, uint64_t duration_ns)
{
    as_metrics_request_done(((as_server *)app)->metrics, req, duration_ns);
}

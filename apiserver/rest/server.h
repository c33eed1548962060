/*
 * server.h - the server object the rest layer works on (private to apiserver/), and the one
 * entry point the transport calls for every request (docs/design.md §5.1). Everything the
 * server holds lives here, never in a global: two servers can run in one process (tests do).
 */
#ifndef FOO_APISERVER_REST_SERVER_H
#define FOO_APISERVER_REST_SERVER_H

#include "apiserver/apiserver.h"
#include "apiserver/resource/kindcaches.h"
#include "apiserver/resource/registry.h"
#include "apiserver/resource/watchcache.h"
#include "apiserver/transport/authn.h"
#include "apiserver/transport/http.h"
#include "common/clock.h"
#include "storage/storage.h"

#include <stdatomic.h>

struct as_discovery;
struct as_openapi;
struct as_metrics;

struct as_server {
    as_options opt;
    char *cert_file, *key_file, *ca_file, *sqlite_path; /* resolved paths, owned */
    as_http *http; /* the transport (listener, connections, compute thread) */
    st_store *store;
    bool store_shared; /* other replicas write the store too (etcd): reads may have to wait for
                          their writes to reach the caches (handlers.c, docs/design.md §4.11) */
    as_caches *caches; /* one watch cache per kind (kindcaches.h) */
    authn *auth;       /* the authentication chain the transport calls */
    struct as_delegation *delegation; /* delegated authorization (authorize.h); NULL standalone */
    struct as_delegate *delegate; /* its wiring and the ConfigMap (delegate.h); NULL standalone */
    /* Threads where consistent reads wait for other replicas' writes to reach the caches
       (handlers.c, as_req_park_on); NULL when the store is not shared. */
    struct as_workers *waiters;
    /* The rounds in which consistent reads get their read points (readpoints.h); NULL when the
       store is not shared. */
    struct rp_rounds *read_points;
    as_registry *registry;          /* the kinds served (read-only once built) */
    struct as_discovery *discovery; /* discovery documents, rendered once (discovery.h) */
    struct as_openapi *openapi;     /* OpenAPI documents, rendered once (openapi_handler.h) */
    struct as_metrics *metrics;     /* what /metrics shows (metrics.h) */
    clk_t *clock;
    int64_t start_ms;
    atomic_bool stopping; /* set by as_stop (any thread) */
};

/* The server a request belongs to (the transport's app pointer). */
static inline as_server *as_server_of(const as_req *req)
{
    return (as_server *)req->app;
}

/* The watch cache of kind r (an entry of srv's registry). */
static inline wc_cache *as_cache_of(const as_server *srv, const as_resource *r)
{
    return as_caches_of(srv->caches, r);
}

/*
 * The handler the transport calls for every request (as_handler_fn; app = the as_server):
 * authorizes, then routes to discovery, OpenAPI, health or a resource. Answers, parks or streams
 * the request. Runs on the service thread, or on the compute thread for write methods.
 */
void as_rest_handle(void *app, as_req *req);
/* The transport's done callback (as_done_fn; app = the as_server): counts the request in the
   server's metrics (metrics.h). Service thread. */
void as_rest_done(void *app, const as_req *req, uint64_t duration_ns);

#endif

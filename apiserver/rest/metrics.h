/*
 * metrics.h - the apiserver's /metrics page (docs/api.md §9.5): kube-apiserver's request,
 * watch and storage families under kube's names and labels, and the process_* families, in
 * Prometheus' text format 0.0.4.
 *
 * How requests are counted: the router labels each request (as_metrics_label_*, on as_req's
 * labels); the transport reports it over (as_http_options.done -> as_metrics_request_done),
 * which adds it to apiserver_request_total and the duration histogram. Requests in flight and
 * 429s are the transport's own counts (as_http_inflight, as_http_rejected), read when the page
 * is rendered.
 *
 * Threads, and why no lock: request series are only touched on the service thread (every
 * request is reported done there, a watch starts there, and /metrics, a GET, is rendered there);
 * watch counters are atomics. So the hot path is one hash lookup on the service thread.
 */
#ifndef FOO_APISERVER_REST_METRICS_H
#define FOO_APISERVER_REST_METRICS_H

#include "apiserver/resource/kindcaches.h"
#include "apiserver/resource/registry.h"
#include "apiserver/rest/handlers.h"
#include "apiserver/transport/http.h"
#include "common/sbuf.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct as_metrics as_metrics;
/* The watch counters of one kind (as_metrics_kind_of). */
typedef struct as_metrics_kind as_metrics_kind;

/* What a 429 refused (the priority_level label of apiserver_flowcontrol_rejected_requests_total).
 */
typedef enum as_rejected_kind {
    AS_REJECTED_READONLY,
    AS_REJECTED_MUTATING,
    AS_REJECTED_LONGRUNNING,
} as_rejected_kind;

/* Empty metrics for the kinds of reg (borrowed; it must outlive the result). Never fails. */
as_metrics *as_metrics_new(const as_registry *reg);
/* Frees m; NULL is a no-op. No other call may run at the same time. */
void as_metrics_free(as_metrics *m);

/* ---- labelling a request (the router; pure, any thread) -------------------------------------- */

/*
 * Labels req as a request for t, as kube's request metrics do: verb GET (one object), LIST,
 * WATCH (watch is true: ?watch=true or a /watch/ path), POST, PUT, PATCH, APPLY (a PATCH of
 * application/apply-patch+...), DELETE, DELETECOLLECTION, "other" for other methods; group,
 * version, resource and subresource from t; scope "namespace" (a namespace in the path, or a
 * namespace object itself), "resource" (one cluster-scoped object) or "cluster" (a collection);
 * dry_run "All", "invalid" or "" from ?dryRun, for writes only. The strings are literals or the
 * registry's (t's strings may be freed before the request is over). long_running stays false
 * until the watch streams (as_metrics_longrunning). Keeps nothing.
 */
void as_metrics_label_resource(as_req *req, const as_target *t, bool watch);
/*
 * Labels req as a request for a path that is no resource (discovery, OpenAPI, health, /version,
 * /metrics), as kube does: verb from the method (GET, POST, PUT, PATCH, DELETE, else "other"),
 * subresource the path itself when served is true, else "" (a 404's path would give every
 * client-chosen path a series of its own), everything else "".
 */
void as_metrics_label_path(as_req *req, bool served);

/* ---- counting (the router, the transport, watch.c) ------------------------------------------- */
/* Each of these does nothing when m is NULL (a server built without metrics, as in unit tests). */

/* The labelled request turned out to be long-running (a watch that streams): it counts in
   apiserver_longrunning_requests until it is over. Service thread. */
void as_metrics_longrunning(as_metrics *m, as_req *req);
/* req is over (as_done_fn): counts it in apiserver_request_total (code req->status) and the
   duration histogram, and ends its long-running count. A request the router never labelled (a
   401 at the head) is not counted, as kube counts only what reaches its handlers. Service
   thread. */
void as_metrics_request_done(as_metrics *m, const as_req *req, uint64_t duration_ns);

/* The watch counters of r (an entry of the registry), or NULL for another registry's. */
as_metrics_kind *as_metrics_kind_of(as_metrics *m, const as_resource *r);
/* A watcher of kind k registered (+1) or went away (-1). NULL k is a no-op; thread-safe. */
void as_metrics_watchers_add(as_metrics_kind *k, int delta);
/* n events were sent to a watcher of kind k. NULL k is a no-op; thread-safe. */
void as_metrics_watch_events(as_metrics_kind *k, uint64_t n);

/* ---- the page -------------------------------------------------------------------------------- */

/* What the page shows besides m's own counts (as_metrics_handle reads them from the server). */
typedef struct as_metrics_sources {
    const as_caches *caches; /* objects per kind; NULL: no apiserver_storage_objects */
    int inflight_readonly;   /* the transport's requests in flight (as_http_inflight) */
    int inflight_mutating;
    uint64_t rejected;    /* the transport's 429s (as_http_rejected) */
    int64_t start_time_s; /* when the server started, on its (injectable) clock */
    /* Delegated mode: the reviews made and answered from the caches (authorize.h); NULL
       standalone (the families are left out). */
    const struct as_delegation_stats *delegation;
} as_metrics_sources;

/*
 * Appends every family, each with HELP and TYPE lines: the request families, the in-flight and
 * rejection counts of src, the watch families, apiserver_storage_objects (objects of each kind,
 * all namespaces), the delegated reviews (foo_apiserver_token_reviews_total,
 * foo_apiserver_access_reviews_total, each with _cache_hits_total beside it) when
 * src->delegation is set, and the process_* families read from /proc/self. Service thread.
 */
void as_metrics_render(as_metrics *m, const as_metrics_sources *src, sbuf *out);

/* GET /metrics: answers 200 with the page (text/plain; version=0.0.4). Service thread. */
void as_metrics_handle(as_req *req);

#endif

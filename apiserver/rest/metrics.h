/*
 * metrics.h - the apiserver's /metrics page (docs/api.md §9.5): kube-apiserver's request,
 * watch and storage families under kube's names and labels, and the process_* families, in
 * Prometheus' text format 0.0.4.
 *
 * How requests are counted: the router labels each request (as_metrics_label_*, on as_req's
 * labels) and counts it in flight (as_metrics_request_start); the transport reports it over
 * (as_http_options.done -> as_metrics_request_done), which adds it to apiserver_request_total
 * and the duration histogram and ends its in-flight count.
 *
 * Threads, and why no lock: request series are only touched on the service thread (every
 * request is reported done there, and /metrics, a GET, is rendered there); what other threads
 * count (writes start on the compute thread, 429s, watch events) are atomics. So the hot path is
 * one hash lookup on the service thread and a few atomic additions.
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
 * registry's (t's strings may be freed before the request is over). Sets labels.mutating for writes
 * (long_running is set when the watch streams: as_metrics_longrunning). Keeps nothing.
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

/* Counts req in flight, readOnly or mutating as labelled. Once per request (a second call, for a
   request run again, does nothing); thread-safe. */
void as_metrics_request_start(as_metrics *m, as_req *req);
/* The labelled request turned out to be long-running (a watch that streams): it leaves the
   requests in flight and counts in apiserver_longrunning_requests. Service thread. */
void as_metrics_longrunning(as_metrics *m, as_req *req);
/* req is over (as_done_fn): counts it in apiserver_request_total (code req->status) and the
   duration histogram, and ends its in-flight or long-running count. Service thread. */
void as_metrics_request_done(as_metrics *m, const as_req *req, uint64_t duration_ns);
/* A request refused with 429 (apiserver_flowcontrol_rejected_requests_total). Thread-safe. */
void as_metrics_rejected(as_metrics *m, as_rejected_kind kind);

/* The watch counters of r (an entry of the registry), or NULL for another registry's. */
as_metrics_kind *as_metrics_kind_of(as_metrics *m, const as_resource *r);
/* A watcher of kind k registered (+1) or went away (-1). NULL k is a no-op; thread-safe. */
void as_metrics_watchers_add(as_metrics_kind *k, int delta);
/* n events were sent to a watcher of kind k. NULL k is a no-op; thread-safe. */
void as_metrics_watch_events(as_metrics_kind *k, uint64_t n);

/* ---- the page -------------------------------------------------------------------------------- */

/*
 * Appends every family, each with HELP and TYPE lines: the request families, the watch
 * families, apiserver_storage_objects (objects of each kind in caches, all namespaces; skipped
 * when caches is NULL), and the process_* families read from /proc/self (start_time_s: when the
 * process started, from the injectable clock). Service thread.
 */
void as_metrics_render(as_metrics *m, const as_caches *caches, int64_t start_time_s, sbuf *out);

/* GET /metrics: answers 200 with the page (text/plain; version=0.0.4). Service thread. */
void as_metrics_handle(as_req *req);

#endif

/*
 * metrics.h - the controller-manager's metrics: a tiny registry that writes the Prometheus text
 * exposition format 0.0.4, and the families of controller-runtime and client-go under their own
 * names and labels, so existing dashboards and alerts work unchanged
 * (docs/controller-manager.md §3).
 *
 * A registry holds families (counter, gauge or histogram, with fixed label names); a family holds
 * one series per distinct tuple of label values, created on first use. metrics_write() renders
 * every family (HELP and TYPE lines, then its series in the order they were created) and then the
 * workqueue families of the queues attached with metrics_add_queue(). Families that have no
 * series yet are still written (HELP and TYPE only), which the format allows.
 *
 * Thread-safety: every function may be called from any thread; one mutex per registry guards all
 * of its state (updates are a hash lookup and an addition, cheap enough that workers and the
 * HTTP handler can share one lock). metrics_registry_free() must not race with other calls.
 */
#ifndef FOO_CONTROLLERS_METRICS_H
#define FOO_CONTROLLERS_METRICS_H

#include "common/sbuf.h"
#include "workqueue/workqueue.h"

#include <stdbool.h>
#include <stddef.h>

typedef struct metrics_registry metrics_registry;
typedef struct metrics_family metrics_family;

typedef enum metrics_type {
    METRICS_COUNTER,
    METRICS_GAUGE,
    METRICS_HISTOGRAM,
} metrics_type;

/* An empty registry (no family registered). Free with metrics_registry_free(). */
metrics_registry *metrics_registry_new(void);
/* Frees the registry and its families; attached queues are borrowed and not freed. NULL: no-op. */
void metrics_registry_free(metrics_registry *r);

/* ---------------------------------------------------------------------------------------------
 * Generic families.
 * ------------------------------------------------------------------------------------------- */

/*
 * Registers a family. name must match [a-zA-Z_:][a-zA-Z0-9_:]* and be new in the registry;
 * label names must match [a-zA-Z_][a-zA-Z0-9_]*, not start with "__", not repeat, and a
 * histogram may not use "le". help is one line of text (escaped on output). For a histogram,
 * buckets are the finite upper bounds, strictly increasing (the +Inf bucket is implicit); other
 * types take none (NULL, 0). Strings and arrays are copied.
 * Returns the family (owned by the registry, valid until metrics_registry_free) or NULL when an
 * argument breaks these rules. Thread-safe.
 */
metrics_family *metrics_family_new(metrics_registry *r, metrics_type type, const char *name,
                                   const char *help, const char *const *label_names, size_t nlabels,
                                   const double *buckets, size_t nbuckets);

/*
 * Updates the series of `label_values` (as many as the family has label names; a NULL value is
 * taken as ""), creating it at zero first if needed:
 *  - metrics_counter_add: counters only; delta must be >= 0 (a negative delta is ignored, as
 *    a counter never decreases);
 *  - metrics_gauge_set / metrics_gauge_add: gauges only;
 *  - metrics_histogram_observe: histograms only; counts v in the first bucket whose bound is
 *    >= v, and in _sum and _count.
 * A call on a family of another type, or with a NULL family, does nothing. Thread-safe.
 */
void metrics_counter_add(metrics_family *f, const char *const *label_values, double delta);
void metrics_gauge_set(metrics_family *f, const char *const *label_values, double v);
void metrics_gauge_add(metrics_family *f, const char *const *label_values, double delta);
void metrics_histogram_observe(metrics_family *f, const char *const *label_values, double v);

/* Creates the series at zero without changing an existing one, so a dashboard sees 0 rather
 * than no data before the first event (as controller-runtime does for reconcile_total). */
void metrics_touch(metrics_family *f, const char *const *label_values);

/*
 * The current value of a counter or gauge series, or the _count of a histogram series; 0 when
 * the series does not exist. For tests and health checks. Thread-safe.
 */
double metrics_value(metrics_family *f, const char *const *label_values);

/* Attaches a workqueue (borrowed; it must outlive the registry or be attached to none) whose
 * families metrics_write() appends through wq_metrics_write_many. Thread-safe. */
void metrics_add_queue(metrics_registry *r, wq *q);

/* Appends the whole page to out: the registry's families, then the workqueue ones. The text
 * passes `promtool check metrics`. Thread-safe. */
void metrics_write(metrics_registry *r, sbuf *out);

/* ---------------------------------------------------------------------------------------------
 * The controller-manager's families, registered by metrics_registry_new_manager().
 * ------------------------------------------------------------------------------------------- */

/* The `result` label of controller_runtime_reconcile_total. */
typedef enum metrics_result {
    METRICS_RESULT_SUCCESS,       /* "success" */
    METRICS_RESULT_ERROR,         /* "error": also counts in _reconcile_errors_total */
    METRICS_RESULT_REQUEUE,       /* "requeue" */
    METRICS_RESULT_REQUEUE_AFTER, /* "requeue_after" */
} metrics_result;

/* Label text of a result ("success" ...). */
const char *metrics_result_name(metrics_result r);

/*
 * A registry holding controller-runtime's and client-go's families (names, types, labels and
 * the reconcile-time buckets of controller-runtime):
 *   controller_runtime_reconcile_total{controller,result}          counter
 *   controller_runtime_reconcile_errors_total{controller}          counter
 *   controller_runtime_reconcile_time_seconds{controller}          histogram, 5 ms ... 60 s
 *   controller_runtime_active_workers{controller}                  gauge
 *   controller_runtime_max_concurrent_reconciles{controller}       gauge
 *   leader_election_master_status{name}                            gauge (1 leader, 0 not)
 *   rest_client_requests_total{code,method,host}                   counter
 * The functions below fill them; on a registry made by metrics_registry_new() they do nothing.
 */
metrics_registry *metrics_registry_new_manager(void);

/* Declares a controller: max_concurrent_reconciles = workers, active_workers = 0, and every
 * reconcile_total result and reconcile_errors_total at 0. Thread-safe. */
void metrics_controller_init(metrics_registry *r, const char *controller, int workers);

/* One reconcile finished: reconcile_total{result} + 1 (and errors_total + 1 on an error), and
 * its duration in reconcile_time_seconds. Thread-safe. */
void metrics_reconcile_done(metrics_registry *r, const char *controller, metrics_result result,
                            double seconds);

/* A worker started (+1) or finished (-1) a reconcile. Thread-safe. */
void metrics_active_workers_add(metrics_registry *r, const char *controller, int delta);

/* leader_election_master_status{name=lease} = 1 when leading, else 0. Thread-safe. */
void metrics_leader_status(metrics_registry *r, const char *lease, bool leading);

/*
 * One HTTP exchange of the REST client: rest_client_requests_total{code,method,host} + 1.
 * code is the HTTP status, or <= 0 for an exchange that got no answer (label "<error>", as
 * client-go). host is "host:port" of the server. Meant to be called from a hook of the client.
 * Thread-safe.
 */
void metrics_observe_request(metrics_registry *r, int code, const char *method, const char *host);

#endif

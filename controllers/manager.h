/*
 * manager.h - foo-controller-manager as a library: its options (flags and defaults, in one
 * place), the wiring of every part, the run and the graceful shutdown
 * (docs/controller-manager.md §4, docs/design.md §3 and §4). cmd/foo-controller-manager.c only
 * parses the flags, handles the signals and calls this.
 *
 * Wiring (mgr_new): a REST client from the kubeconfig (its exchanges counted in
 * rest_client_requests_total); a shared informer factory with informers on Foos and on every
 * Deployment (the Foo store gets the controller's index); the Foo controller with its rate-limited
 * workqueue; with --simulate-deployments the Deployment status simulator (controllers/simulate.h)
 * with its own queue; the event recorder; with --leader-elect the elector on the Lease
 * "foo-controller-manager"; the metrics registry and the two HTTP servers (/metrics; /healthz
 * and /readyz). With leader election every write of the controllers and of the recorder goes
 * through a fence (controllers/fence.h): nothing is written unless le_is_leader() says so.
 *
 * Threads: one per informer, one per worker of each controller, the event sender, the elector,
 * one per HTTP server, and the caller's, which runs mgr_run.
 */
#ifndef FOO_CONTROLLERS_MANAGER_H
#define FOO_CONTROLLERS_MANAGER_H

#include "common/apierr.h"

#include <stdbool.h>

/* Defaults and limits, in one place. */
#define MGR_DEFAULT_WORKERS         2
#define MGR_MAX_WORKERS             256
#define MGR_DEFAULT_METRICS_ADDRESS ":8080"
#define MGR_DEFAULT_PROBE_ADDRESS   ":8081"
#define MGR_DEFAULT_WATCH_TRANSPORT "http"
/* SIGTERM: how long running reconciles may take to finish (controller-runtime's 30 s). */
#define MGR_DEFAULT_SHUTDOWN_TIMEOUT_MS 30000
/* /healthz fails when the leader has not renewed for the lease duration plus this (the
 * tolerance kube-controller-manager gives client-go's HealthzAdaptor). */
#define MGR_LEADER_HEALTH_TOLERANCE_MS 20000
/* mgr_run's exit code when leadership was lost (controller-runtime exits then too). */
#define MGR_EXIT_LEADERSHIP_LOST 1

/* The manager's options. Start from mgr_options_defaults(). Strings are borrowed until mgr_new
 * returns. */
typedef struct mgr_options {
    const char *kubeconfig;                /* --kubeconfig; NULL = $KUBECONFIG, else in-cluster,
                                              else ~/.kube/config (client/config.h, kc_load) */
    const char *context;                   /* --context; NULL = the current context */
    int workers;                           /* --workers: reconciles at once, per controller */
    bool leader_elect;                     /* --leader-elect */
    const char *leader_elect_namespace;    /* --leader-elect-namespace; NULL = the default of
                                              mgr_default_lease_namespace() */
    const char *metrics_bind_address;      /* --metrics-bind-address; "0" = not served */
    const char *health_probe_bind_address; /* --health-probe-bind-address; "0" = not served */
    double qps;                            /* --qps: client-side limit; 0 = none */
    int burst;                             /* --burst (with qps > 0) */
    const char *watch_transport;           /* --watch-transport: "http" or "websocket" */
    bool simulate_deployments;             /* --simulate-deployments */
    int verbosity;                         /* -v */
    /* Not flags: the service-account directory (in-cluster config and the namespace file),
       NULL = KC_INCLUSTER_DIR; and the shutdown budget. */
    const char *incluster_dir;
    int shutdown_timeout_ms;
} mgr_options;

/* workers 2, leader election off, metrics ":8080", probes ":8081", qps/burst 0 (no limit),
 * watch transport "http", no simulation, -v 0, shutdown budget 30 s. */
mgr_options mgr_options_defaults(void);

/*
 * Parses argv (docs/controller-manager.md §4.1, common/flags.h's syntax: strict integers, an
 * unknown flag is an error) into *o, which should hold the defaults, then checks it with
 * mgr_options_check. Returns 0, 1 when --help was printed (stdout), or -1 after printing why on
 * stderr. String options point into argv. Not thread-safe (main, before threads).
 */
int mgr_parse_flags(int argc, char **argv, mgr_options *o);

/*
 * Checks the options: workers in 1..MGR_MAX_WORKERS, qps finite and >= 0, burst >= 0, the bind
 * addresses "[HOST]:PORT" or "0", a non-empty lease namespace when one is given, and the watch
 * transport "http" or "websocket" (any other value is refused). Returns 0,
 * or -EINVAL with *err (must not be NULL; untouched on success) a 400 BadRequest whose message
 * names the flag. Pure; thread-safe.
 */
int mgr_options_check(const mgr_options *o, api_error *err);

/*
 * The namespace of the Lease when --leader-elect-namespace is not given: the content of
 * DIR/namespace (DIR = incluster_dir, NULL = KC_INCLUSTER_DIR; surrounding blanks trimmed) when
 * that file exists and is not empty, else "default". Caller frees. Thread-safe.
 */
char *mgr_default_lease_namespace(const char *incluster_dir);

typedef struct mgr_manager mgr_manager;

/*
 * Loads the configuration, builds every part and binds the HTTP servers (so a port in use is
 * reported here), without starting anything else. Returns 0 with *out, or a negative errno with
 * *err (must not be NULL) filled as docs/design.md §4.8 says: the options' error, kc_load's or
 * kc_client_new's, httpd_start's (the bind error), or a 500 InternalError naming the part that
 * could not be built.
 */
int mgr_new(const mgr_options *o, mgr_manager **out, api_error *err);

/*
 * Runs until mgr_request_stop() or until leadership is lost, then shuts down gracefully:
 *  1. starts the informers; once their caches have synced, starts the workers (without leader
 *     election) or the elector, which starts them when this manager becomes leader;
 *  2. on stop: no key is taken any more (the queues are shut down, keys still queued are
 *     dropped), running reconciles finish within the shutdown budget (30 s), recorded events are
 *     flushed (while the fence still lets them through), the lease is released, the informers
 *     and HTTP servers stop.
 * Returns 0 after a requested stop, MGR_EXIT_LEADERSHIP_LOST when leadership was lost. Call once,
 * from one thread.
 */
int mgr_run(mgr_manager *m);

/* Asks mgr_run to stop (or not to start). Thread-safe; not async-signal-safe (use sigwait). */
void mgr_request_stop(mgr_manager *m);

/* The ports the HTTP servers bound (useful with port 0), or 0 when not served. Thread-safe. */
int mgr_metrics_port(const mgr_manager *m);
int mgr_probe_port(const mgr_manager *m);

/* Frees everything. Call after mgr_run returned (or instead of it). NULL: no-op. When a worker
 * did not finish within the shutdown budget, what it may still touch is left allocated. */
void mgr_free(mgr_manager *m);

#endif

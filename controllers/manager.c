/*
 * manager.c - foo-controller-manager's wiring, run and shutdown (manager.h,
 * docs/controller-manager.md §4).
 *
 * The controllers (the Foo controller and, with --simulate-deployments, the simulator) are run
 * by fc_worker_run, with hooks that feed the metrics and the manager's stop flag.
 */
#include "controllers/manager.h"

#include "client/config.h"
#include "client/rest.h"
#include "common/alloc.h"
#include "common/clock.h"
#include "common/log.h"
#include "controllers/events.h"
#include "controllers/fence.h"
#include "controllers/foo_controller.h"
#include "controllers/httpd.h"
#include "controllers/kapi.h"
#include "controllers/leader.h"
#include "controllers/metrics.h"
#include "controllers/simulate.h"
#include "informer/informer.h"
#include "workqueue/workqueue.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define FOOS_PATH        "/apis/demo.example.com/v1beta1/foos"
#define DEPLOYMENTS_PATH "/apis/apps/v1/deployments"
/* How often mgr_run looks at the stop flag while it waits for the caches. */
#define SYNC_POLL_MS 200
/* The longest the recorder may take to deliver what was recorded, at shutdown. */
#define EVENT_FLUSH_MAX_MS 5000

/* One controller run by the manager's workers. */
typedef struct mgr_ctrl {
    const char *name; /* FC_DEFAULT_NAME or SIM_NAME */
    wq *queue;
    fc_worker worker; /* what each of its threads runs */
    pthread_t *threads;
    int nthreads; /* started */
    mgr_manager *m;
} mgr_ctrl;

struct mgr_manager {
    mgr_options o;
    char *lease_namespace;
    clk_t *clock;
    kc_config *cfg;
    kc_client *client;
    kc_wswatch *ws; /* --watch-transport websocket: every informer's watch on its one loop */
    metrics_registry *metrics;
    inf_factory *factory;
    inf_informer *foos, *deployments; /* owned by the factory */
    ctl_kapi api;                     /* what the controllers and the recorder write through */
    ctl_fence fence;                  /* behind api when leader election is on */
    le_elector *elector;              /* NULL without leader election */
    ev_recorder *recorder;
    fc_controller *fc;
    sim_simulator *sim; /* NULL without --simulate-deployments */
    mgr_ctrl ctrls[2];
    int nctrls;
    httpd *metrics_server, *probe_server;

    pthread_mutex_t mu; /* guards the fields below and the workers' start */
    pthread_cond_t cond;
    bool stop_requested;
    bool lost;            /* leadership was lost while running */
    bool workers_started; /* once */
    atomic_bool stopping; /* workers take no more keys */
    bool workers_stuck;   /* a worker outlived the shutdown budget */
};

/* ---- adapters between the parts ------------------------------------------------------------- */

static void observe_response(void *ctx, int code, const char *method, const char *host)
{
    metrics_observe_request(ctx, code, method, host);
}

static void record_event(void *ctx, const cJSON *obj, const char *type, const char *reason,
                         const char *message)
{
    ev_record(ctx, obj, type, reason, "%s", message);
}

static bool is_leader(void *ctx)
{
    return le_is_leader(ctx);
}

static fc_result reconcile_foo(void *impl, const char *key)
{
    return fc_reconcile(impl, key);
}

static fc_result reconcile_simulated(void *impl, const char *key)
{
    return sim_reconcile(impl, key);
}

static metrics_result metrics_result_of(fc_result r)
{
    switch (r.action) {
    case FC_DONE:
        return METRICS_RESULT_SUCCESS;
    case FC_REQUEUE:
        return METRICS_RESULT_REQUEUE;
    case FC_REQUEUE_AFTER:
        return METRICS_RESULT_REQUEUE_AFTER;
    case FC_REQUEUE_RATE_LIMITED:
        break;
    }
    return METRICS_RESULT_ERROR;
}

/* ---- workers -------------------------------------------------------------------------------- */

static void reconcile_started(void *ctx)
{
    mgr_ctrl *c = ctx;
    metrics_active_workers_add(c->m->metrics, c->name, 1);
}

static void reconcile_finished(void *ctx, fc_result r, uint64_t duration_ns)
{
    mgr_ctrl *c = ctx;
    double secs = (double)duration_ns / (double)CLK_NS_PER_S;
    metrics_reconcile_done(c->m->metrics, c->name, metrics_result_of(r), secs);
    metrics_active_workers_add(c->m->metrics, c->name, -1);
}

/* Takes keys until the queue is shut down; once the manager is stopping, takes none more. */
static void *worker(void *arg)
{
    mgr_ctrl *c = arg;
    fc_worker_run(&c->worker);
    return NULL;
}

/* Starts every controller's workers, once (called by mgr_run or on becoming leader). */
static void start_workers(mgr_manager *m)
{
    pthread_mutex_lock(&m->mu);
    if (m->workers_started || m->stop_requested) {
        pthread_mutex_unlock(&m->mu);
        return;
    }
    m->workers_started = true;
    for (int i = 0; i < m->nctrls; i++) {
        mgr_ctrl *c = &m->ctrls[i];
        c->threads = xcalloc((size_t)m->o.workers, sizeof *c->threads);
        for (int w = 0; w < m->o.workers; w++) {
            int rc = pthread_create(&c->threads[w], NULL, worker, c);
            if (rc != 0) {
                log_kv(LOG_ERROR, "cannot start a worker", "controller", c->name, "error",
                       strerror(rc), NULL);
                break;
            }
            c->nthreads++;
        }
        char n[16];
        snprintf(n, sizeof n, "%d", c->nthreads);
        log_kv(LOG_INFO, "Starting workers", "controller", c->name, "worker count", n, NULL);
    }
    pthread_mutex_unlock(&m->mu);
}

/*
 * Joins every worker, waiting at most until the deadline (CLOCK_MONOTONIC, clk_mono_deadline's:
 * a wall-clock step cannot cut or stretch the shutdown budget); false if one is stuck.
 */
static bool join_workers(mgr_manager *m, const struct timespec *deadline)
{
    bool all = true;
    for (int i = 0; i < m->nctrls; i++) {
        mgr_ctrl *c = &m->ctrls[i];
        for (int w = 0; w < c->nthreads; w++)
            if (pthread_clockjoin_np(c->threads[w], NULL, CLOCK_MONOTONIC, deadline) != 0)
                all = false;
    }
    return all;
}

/* ---- leader election callbacks -------------------------------------------------------------- */

static void on_started_leading(void *ctx)
{
    start_workers(ctx);
}

/* controller-runtime's rule: a manager that loses the lease stops (and is restarted). */
static void on_stopped_leading(void *ctx)
{
    mgr_manager *m = ctx;
    pthread_mutex_lock(&m->mu);
    if (!m->stop_requested) {
        m->lost = true;
        m->stop_requested = true;
        pthread_cond_broadcast(&m->cond);
    }
    pthread_mutex_unlock(&m->mu);
}

/* ---- probes and metrics --------------------------------------------------------------------- */

static void serve_metrics(void *ctx, httpd_response *resp)
{
    mgr_manager *m = ctx;
    resp->content_type = "text/plain; version=0.0.4; charset=utf-8";
    metrics_write(m->metrics, &resp->body);
}

/* Liveness: the elector's loop is alive (client-go's HealthzAdaptor); always ok without it. */
static void serve_healthz(void *ctx, httpd_response *resp)
{
    mgr_manager *m = ctx;
    if (m->elector && !le_healthy(m->elector, MGR_LEADER_HEALTH_TOLERANCE_MS)) {
        resp->code = 500;
        sbuf_puts(&resp->body, "[-]leaderElection failed: the leader has not renewed its lease "
                               "in time\nhealthz check failed\n");
        return;
    }
    sbuf_puts(&resp->body, "ok");
}

/* Readiness: both caches hold their first full list. */
static void serve_readyz(void *ctx, httpd_response *resp)
{
    mgr_manager *m = ctx;
    if (!inf_has_synced(m->foos) || !inf_has_synced(m->deployments)) {
        resp->code = 500;
        sbuf_puts(&resp->body, "[-]informers-synced failed: the caches have not synced yet\n"
                               "readyz check failed\n");
        return;
    }
    sbuf_puts(&resp->body, "ok");
}

static int start_servers(mgr_manager *m, api_error *err)
{
    const httpd_route metrics_routes[] = {{"/metrics", serve_metrics, m}};
    int rc = httpd_start(m->o.metrics_bind_address, metrics_routes, 1, "metrics",
                         &m->metrics_server, err);
    if (rc < 0)
        return rc;
    const httpd_route probe_routes[] = {{"/healthz", serve_healthz, m},
                                        {"/readyz", serve_readyz, m}};
    rc = httpd_start(m->o.health_probe_bind_address, probe_routes, 2, "probes", &m->probe_server,
                     err);
    return rc < 0 ? rc : 0;
}

/* ---- construction --------------------------------------------------------------------------- */

/* A part that could not be built: a 500 InternalError naming it (docs/design.md §4.8). */
static int build_failed(api_error *err, int rc, const char *what)
{
    apierr_set(err, 500, "InternalError", "%s", what);
    return rc;
}

static int load_client(mgr_manager *m, api_error *err)
{
    kc_load_options lo = {.kubeconfig = m->o.kubeconfig,
                          .context = m->o.context,
                          .incluster_dir = m->o.incluster_dir};
    int rc = kc_load(&lo, &m->cfg, err);
    if (rc != 0)
        return rc;
    kc_client_options co = kc_client_defaults();
    co.qps = m->o.qps;
    co.burst = m->o.burst;
    co.user_agent = "foo-controller-manager/v0.1.0";
    co.on_response = observe_response;
    co.on_response_ctx = m->metrics;
    m->client = kc_client_new(m->cfg, &co, err);
    return m->client ? 0 : -EINVAL;
}

static int make_informers(mgr_manager *m, api_error *err)
{
    inf_options io = inf_options_defaults();
    io.clock = m->clock;
    inf_transport tr = inf_transport_kc(m->client);
    if (m->o.watch_transport && strcmp(m->o.watch_transport, "websocket") == 0) {
        m->ws = kc_wswatch_new(m->client, err);
        if (!m->ws)
            return -EINVAL;
        tr = inf_transport_ws(m->ws);
    }
    m->factory = inf_factory_new_transport(&tr, &io);
    m->foos = inf_factory_informer(m->factory, FOOS_PATH, NULL, NULL, err);
    if (!m->foos)
        return -EINVAL;
    m->deployments = inf_factory_informer(m->factory, DEPLOYMENTS_PATH, NULL, NULL, err);
    if (!m->deployments)
        return -EINVAL;
    int rc = fc_add_indexes(inf_informer_store(m->foos));
    if (rc != 0)
        apierr_set(err, 500, "InternalError", "cannot index the Foo cache: %s", strerror(-rc));
    return rc;
}

/* A rate-limited queue named after its controller, with the controller defaults, on /metrics. */
static wq *make_queue(mgr_manager *m, const char *name)
{
    wq_options qo = wq_defaults();
    qo.name = name;
    qo.clock = m->clock;
    qo.ratelimiter = wq_rl_default_controller_new(m->clock);
    wq *q = wq_new(&qo);
    if (q)
        metrics_add_queue(m->metrics, q);
    return q;
}

static void add_ctrl(mgr_manager *m, const char *name, wq *q, fc_reconcile_fn reconcile, void *impl)
{
    mgr_ctrl *c = &m->ctrls[m->nctrls++];
    *c = (mgr_ctrl){.name = name, .queue = q, .m = m};
    c->worker = (fc_worker){
        .queue = q,
        .reconcile = reconcile,
        .impl = impl,
        .hooks = {.started = reconcile_started, .finished = reconcile_finished, .ctx = c},
        .clock = m->clock,
        .stop = &m->stopping,
    };
    metrics_controller_init(m->metrics, name, m->o.workers);
}

static int make_foo_controller(mgr_manager *m, api_error *err)
{
    wq *q = make_queue(m, FC_DEFAULT_NAME);
    if (!q)
        return build_failed(err, -ENOMEM, "cannot create the workqueue");
    fc_options fo = {.foos = inf_informer_store(m->foos),
                     .deployments = inf_informer_store(m->deployments),
                     .queue = q,
                     .api = m->api,
                     .record = record_event,
                     .record_ctx = m->recorder,
                     .clock = m->clock,
                     .name = FC_DEFAULT_NAME};
    m->fc = fc_controller_new(&fo);
    add_ctrl(m, FC_DEFAULT_NAME, q, reconcile_foo, m->fc); /* the queue is freed with the ctrls */
    if (!m->fc)
        return build_failed(err, -EINVAL, "cannot create the Foo controller");
    inf_handlers fh = fc_foo_handlers(m->fc), dh = fc_deployment_handlers(m->fc);
    inf_add_handlers(m->foos, &fh);
    inf_add_handlers(m->deployments, &dh);
    return 0;
}

static int make_simulator(mgr_manager *m, api_error *err)
{
    wq *q = make_queue(m, SIM_NAME);
    if (!q)
        return build_failed(err, -ENOMEM, "cannot create the workqueue");
    sim_options so = {.deployments = inf_informer_store(m->deployments),
                      .queue = q,
                      .api = m->api,
                      .clock = m->clock};
    m->sim = sim_new(&so);
    add_ctrl(m, SIM_NAME, q, reconcile_simulated, m->sim);
    if (!m->sim)
        return build_failed(err, -EINVAL, "cannot create the Deployment simulator");
    inf_handlers h = sim_handlers(m->sim);
    inf_add_handlers(m->deployments, &h);
    log_kv(LOG_INFO,
           "Deployment status is SIMULATED (--simulate-deployments): every Deployment "
           "is reported ready as if its pods ran",
           "controller", SIM_NAME, NULL);
    return 0;
}

/* The elector (unfenced: its own writes are how it leads) and the fence over the write seam. */
static int make_elector(mgr_manager *m, api_error *err)
{
    le_options lo = le_options_defaults();
    lo.lease_namespace = m->lease_namespace;
    lo.clock = m->clock;
    lo.metrics = m->metrics;
    lo.callbacks = (le_callbacks){.on_started_leading = on_started_leading,
                                  .on_stopped_leading = on_stopped_leading,
                                  .ctx = m};
    int rc = le_new(ctl_kapi_client(m->client), &lo, &m->elector);
    if (rc != 0)
        return build_failed(err, rc, "cannot create the leader elector");
    m->fence = (ctl_fence){.inner = m->api, .allowed = is_leader, .allowed_ctx = m->elector};
    m->api = ctl_fence_kapi(&m->fence);
    return 0;
}

static int build(mgr_manager *m, api_error *err)
{
    int rc = load_client(m, err);
    if (rc == 0)
        rc = make_informers(m, err);
    if (rc != 0)
        return rc;
    m->api = ctl_kapi_client(m->client);
    if (m->o.leader_elect && (rc = make_elector(m, err)) != 0)
        return rc;
    m->recorder = ev_recorder_new(m->api, m->clock, NULL);
    if (!m->recorder)
        return build_failed(err, -ENOMEM, "cannot start the event recorder");
    rc = make_foo_controller(m, err);
    if (rc == 0 && m->o.simulate_deployments)
        rc = make_simulator(m, err);
    if (rc == 0)
        rc = start_servers(m, err);
    return rc;
}

int mgr_new(const mgr_options *o, mgr_manager **out, api_error *err)
{
    *out = NULL;
    int rc = mgr_options_check(o, err);
    if (rc != 0)
        return rc;
    mgr_manager *m = xcalloc(1, sizeof *m);
    m->o = *o;
    m->clock = clk_system();
    m->lease_namespace = o->leader_elect_namespace ? xstrdup(o->leader_elect_namespace)
                                                   : mgr_default_lease_namespace(o->incluster_dir);
    m->o.leader_elect_namespace = m->lease_namespace;
    pthread_mutex_init(&m->mu, NULL);
    pthread_cond_init(&m->cond, NULL);
    atomic_init(&m->stopping, false);
    m->metrics = metrics_registry_new_manager();
    rc = build(m, err);
    /* the caller's strings are borrowed only until we return */
    m->o.kubeconfig = m->o.context = m->o.incluster_dir = m->o.watch_transport = NULL;
    m->o.metrics_bind_address = m->o.health_probe_bind_address = NULL;
    if (rc != 0) {
        mgr_free(m);
        return rc;
    }
    log_kv(LOG_INFO, "controller-manager configured", "config", m->cfg->source, "server",
           m->cfg->server, "leaderElection", m->elector ? "on" : "off", "leaseNamespace",
           m->elector ? m->lease_namespace : "", "simulateDeployments", m->sim ? "on" : "off",
           NULL);
    *out = m;
    return 0;
}

/* ---- running -------------------------------------------------------------------------------- */

void mgr_request_stop(mgr_manager *m)
{
    pthread_mutex_lock(&m->mu);
    m->stop_requested = true;
    pthread_cond_broadcast(&m->cond);
    pthread_mutex_unlock(&m->mu);
}

static bool stop_requested(mgr_manager *m)
{
    pthread_mutex_lock(&m->mu);
    bool stop = m->stop_requested;
    pthread_mutex_unlock(&m->mu);
    return stop;
}

/* Waits until both caches synced (true) or a stop was asked for (false). */
static bool wait_for_caches(mgr_manager *m)
{
    while (!stop_requested(m))
        if (inf_factory_wait_for_sync(m->factory, SYNC_POLL_MS)) {
            log_kv(LOG_INFO, "caches synced", NULL);
            return true;
        }
    return false;
}

static void wait_for_stop(mgr_manager *m)
{
    pthread_mutex_lock(&m->mu);
    while (!m->stop_requested)
        pthread_cond_wait(&m->cond, &m->mu);
    pthread_mutex_unlock(&m->mu);
}

/* The shutdown of docs/controller-manager.md §4.3, in its order. */
static void shut_down(mgr_manager *m)
{
    log_kv(LOG_INFO, "Stopping and waiting for running reconciles", NULL);
    uint64_t start = clk_mono_ns(m->clock);
    atomic_store(&m->stopping, true);
    /* A start_workers running on the elector's thread finishes under the lock before we go on;
     * later ones see stop_requested and start nothing, so the thread counts below are final. */
    pthread_mutex_lock(&m->mu);
    m->stop_requested = true;
    pthread_mutex_unlock(&m->mu);
    for (int i = 0; i < m->nctrls; i++)
        wq_shutdown(m->ctrls[i].queue);
    int budget_ms = m->o.shutdown_timeout_ms > 0 ? m->o.shutdown_timeout_ms : 0;
    struct timespec deadline = clk_mono_deadline((uint64_t)budget_ms * CLK_NS_PER_MS);
    if (!join_workers(m, &deadline)) {
        m->workers_stuck = true;
        log_kv(LOG_ERROR, "reconciles still running after the shutdown budget; exiting anyway",
               NULL);
    }
    if (!m->lost) {
        uint64_t spent_ms = (clk_mono_ns(m->clock) - start) / CLK_NS_PER_MS;
        int left = m->o.shutdown_timeout_ms - (int)spent_ms;
        if (ev_flush(m->recorder,
                     left < EVENT_FLUSH_MAX_MS ? (left > 0 ? left : 0) : EVENT_FLUSH_MAX_MS) != 0)
            log_kv(LOG_WARN, "not every event was delivered before shutdown", NULL);
    }
    if (m->elector)
        le_release(m->elector, NULL);
    inf_factory_stop(m->factory);
    httpd_stop(m->metrics_server);
    httpd_stop(m->probe_server);
    m->metrics_server = m->probe_server = NULL;
}

int mgr_run(mgr_manager *m)
{
    int rc = inf_factory_start(m->factory);
    if (rc != 0)
        log_kv(LOG_ERROR, "cannot start the informers", "error", strerror(-rc), NULL);
    else if (wait_for_caches(m)) {
        if (m->elector) {
            log_kv(LOG_INFO, "attempting to acquire the leader lease", "lease",
                   "foo-controller-manager", "namespace", m->lease_namespace, "identity",
                   le_identity(m->elector), NULL);
            rc = le_start(m->elector);
            if (rc != 0)
                log_kv(LOG_ERROR, "cannot start the leader elector", "error", strerror(-rc), NULL);
        } else {
            start_workers(m);
        }
    }
    if (rc == 0)
        wait_for_stop(m);
    shut_down(m);
    if (rc != 0)
        return 1;
    if (m->lost) {
        log_kv(LOG_ERROR, "leader election lost", NULL);
        return MGR_EXIT_LEADERSHIP_LOST;
    }
    log_kv(LOG_INFO, "stopped", NULL);
    return 0;
}

int mgr_metrics_port(const mgr_manager *m)
{
    return m->metrics_server ? httpd_port(m->metrics_server) : 0;
}

int mgr_probe_port(const mgr_manager *m)
{
    return m->probe_server ? httpd_port(m->probe_server) : 0;
}

/* ---- teardown ------------------------------------------------------------------------------- */

void mgr_free(mgr_manager *m)
{
    if (!m)
        return;
    if (m->workers_stuck)
        return; /* a worker may still use any of it; the process is about to exit */
    httpd_stop(m->metrics_server);
    httpd_stop(m->probe_server);
    if (m->factory)
        inf_factory_stop(m->factory);
    le_free(m->elector);
    ev_recorder_free(m->recorder);
    fc_controller_free(m->fc);
    sim_free(m->sim);
    metrics_registry_free(m->metrics); /* before the queues it borrows */
    for (int i = 0; i < m->nctrls; i++) {
        wq_free(m->ctrls[i].queue);
        free(m->ctrls[i].threads);
    }
    inf_factory_free(m->factory);
    kc_wswatch_free(m->ws); /* after the informers that watch through it */
    kc_client_free(m->client);
    kc_config_free(m->cfg);
    free(m->lease_namespace);
    pthread_cond_destroy(&m->cond);
    pthread_mutex_destroy(&m->mu);
    free(m);
}

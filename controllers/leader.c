/*
 * leader.c - leader election on a Lease (leader.h).
 *
 * State: the last lease object this elector read or wrote (`lease`) and the monotonic time at
 * which its spec last changed in our eyes (`observed_ns`) belong to the thread running le_tick;
 * le_stop joins that thread before le_release reads them. What other threads read (leading,
 * valid_until_ns, last_renew_ns) is atomic.
 */
#include "controllers/leader.h"

#include "common/alloc.h"
#include "common/clock.h"
#include "common/ids.h"
#include "common/json.h"
#include "common/log.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LEASE_API_VERSION "coordination.k8s.io/v1"

struct le_elector {
    ctl_kapi api;
    char *ns, *name, *identity;
    char *collection; /* /apis/coordination.k8s.io/v1/namespaces/NS/leases */
    char *path;       /* collection + "/" + name */
    uint64_t lease_ns, renew_ns, retry_ns;
    clk_t *clock;
    le_wait_fn wait;
    void *wait_ctx;
    le_callbacks cb;
    metrics_registry *metrics;
    uint64_t rng; /* xorshift state for the acquire jitter; loop thread only */

    /* Read by any thread. */
    atomic_bool leading;
    _Atomic uint64_t valid_until_ns; /* the fence: renew sent + renew deadline */
    _Atomic uint64_t last_renew_ns;  /* when the last successful renew was sent */

    /* Loop thread only (see the top of this file). */
    cJSON *lease;         /* last lease object seen, NULL before the first read */
    uint64_t observed_ns; /* when lease's spec last changed */

    pthread_mutex_t mu; /* guards stopping for the condition variable */
    pthread_cond_t cond;
    atomic_bool stopping;
    bool running;
    pthread_t thread;
};

le_options le_options_defaults(void)
{
    return (le_options){
        .lease_namespace = "default",
        .lease_name = "foo-controller-manager",
        .lease_duration_ms = 15000,
        .renew_deadline_ms = 10000,
        .retry_period_ms = 2000,
    };
}

char *le_default_identity(void)
{
    char host[256];
    if (gethostname(host, sizeof host) != 0 || !host[0])
        snprintf(host, sizeof host, "unknown");
    host[sizeof host - 1] = '\0';
    char uuid[UUID_STR_LEN];
    id_uuid4(uuid);
    return xasprintf("%s_%s", host, uuid);
}

/* ---- lifetime ----------------------------------------------------------------------------------
 */

static bool valid_options(const le_options *o)
{
    if (!o->lease_namespace || !*o->lease_namespace || !o->lease_name || !*o->lease_name)
        return false;
    if (o->identity && !*o->identity)
        return false;
    /* client-go's rule: the leader must give up (renew deadline) well before others may take
     * over (lease duration), and must get more than one try in before giving up. */
    return o->retry_period_ms > 0 && o->lease_duration_ms >= 1000 &&
           o->lease_duration_ms > o->renew_deadline_ms &&
           (double)o->renew_deadline_ms > 1.2 * (double)o->retry_period_ms;
}

/* The default le_wait_fn: sleeps on the condition variable so le_stop wakes it at once. */
static bool elector_wait(void *ctx, uint64_t ns)
{
    le_elector *le = ctx;
    struct timespec until = clk_mono_deadline(ns);
    pthread_mutex_lock(&le->mu);
    int rc = 0;
    while (!atomic_load(&le->stopping) && rc != ETIMEDOUT)
        rc = pthread_cond_timedwait(&le->cond, &le->mu, &until);
    pthread_mutex_unlock(&le->mu);
    return !atomic_load(&le->stopping);
}

int le_new(ctl_kapi kapi, const le_options *opt, le_elector **out)
{
    le_options o = opt ? *opt : le_options_defaults();
    if (!valid_options(&o))
        return -EINVAL;
    le_elector *le = xcalloc(1, sizeof *le);
    if (clk_mono_cond_init(&le->cond) != 0) {
        free(le);
        return -ENOMEM;
    }
    pthread_mutex_init(&le->mu, NULL);
    le->api = kapi;
    le->ns = xstrdup(o.lease_namespace);
    le->name = xstrdup(o.lease_name);
    le->identity = o.identity ? xstrdup(o.identity) : le_default_identity();
    le->collection = xasprintf("/apis/%s/namespaces/%s/leases", LEASE_API_VERSION, le->ns);
    le->path = xasprintf("%s/%s", le->collection, le->name);
    le->lease_ns = o.lease_duration_ms * CLK_NS_PER_MS;
    le->renew_ns = o.renew_deadline_ms * CLK_NS_PER_MS;
    le->retry_ns = o.retry_period_ms * CLK_NS_PER_MS;
    le->clock = o.clock ? o.clock : clk_system();
    le->wait = o.wait ? o.wait : elector_wait;
    le->wait_ctx = o.wait ? o.wait_ctx : le;
    le->cb = o.callbacks;
    le->metrics = o.metrics;
    le->rng = o.seed ? o.seed : (clk_mono_ns(le->clock) ^ (uint64_t)(uintptr_t)le) | 1;
    if (le->metrics)
        metrics_leader_status(le->metrics, le->name, false);
    *out = le;
    return 0;
}

void le_free(le_elector *le)
{
    if (!le)
        return;
    le_stop(le);
    cJSON_Delete(le->lease);
    free(le->ns);
    free(le->name);
    free(le->identity);
    free(le->collection);
    free(le->path);
    pthread_cond_destroy(&le->cond);
    pthread_mutex_destroy(&le->mu);
    free(le);
}

const char *le_identity(le_elector *le)
{
    return le->identity;
}

bool le_is_leader(le_elector *le)
{
    return atomic_load(&le->leading) && clk_mono_ns(le->clock) < atomic_load(&le->valid_until_ns);
}

bool le_healthy(le_elector *le, uint64_t tolerance_ms)
{
    if (!atomic_load(&le->leading))
        return true;
    uint64_t since = clk_mono_ns(le->clock) - atomic_load(&le->last_renew_ns);
    return since <= le->lease_ns + tolerance_ms * CLK_NS_PER_MS;
}

/* ---- the lease record ------------------------------------------------------------------------ */

/* kube's MicroTime: RFC 3339 in UTC with exactly six fractional digits. */
#define MICRO_TIME_LEN 48

static void format_micro_time(int64_t wall_ms, char out[MICRO_TIME_LEN])
{
    time_t s = (time_t)(wall_ms / 1000);
    struct tm tm;
    gmtime_r(&s, &tm);
    char date[32];
    strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, MICRO_TIME_LEN, "%s.%06uZ", date, (unsigned)(wall_ms % 1000) * 1000u);
}

static const char *spec_holder(const cJSON *lease)
{
    const char *h = json_path_string(lease, "spec.holderIdentity");
    return h ? h : "";
}

static int64_t spec_int(const cJSON *lease, const char *key, int64_t fallback)
{
    int64_t v;
    cJSON *spec = cJSON_GetObjectItemCaseSensitive(lease, "spec");
    return json_int64(cJSON_GetObjectItemCaseSensitive(spec, key), 0, INT32_MAX, &v) ? v : fallback;
}

/* A spec naming `holder`, with both times now unless acquire_time is given. */
static cJSON *make_spec(const char *holder, int64_t duration_s, const char *acquire_time,
                        int64_t transitions, int64_t wall_ms)
{
    char now[MICRO_TIME_LEN];
    format_micro_time(wall_ms, now);
    cJSON *spec = cJSON_CreateObject();
    json_set_string(spec, "holderIdentity", holder);
    json_set_number(spec, "leaseDurationSeconds", (double)duration_s);
    json_set_string(spec, "acquireTime", acquire_time ? acquire_time : now);
    json_set_string(spec, "renewTime", now);
    json_set_number(spec, "leaderTransitions", (double)transitions);
    return spec;
}

/* Keeps obj (taken) as the lease seen last; a changed spec restarts the expiry clock. */
static void observe(le_elector *le, cJSON *obj)
{
    const cJSON *old_spec = cJSON_GetObjectItemCaseSensitive(le->lease, "spec");
    const cJSON *new_spec = cJSON_GetObjectItemCaseSensitive(obj, "spec");
    if (!le->lease || !old_spec || !new_spec || !json_equal(old_spec, new_spec))
        le->observed_ns = clk_mono_ns(le->clock);
    cJSON_Delete(le->lease);
    le->lease = obj;
}

/* True when the lease seen last has gone unchanged for its leaseDurationSeconds. */
static bool expired(const le_elector *le)
{
    int64_t dur_s = spec_int(le->lease, "leaseDurationSeconds", 0);
    uint64_t dur_ns = dur_s > 0 ? (uint64_t)dur_s * CLK_NS_PER_S : le->lease_ns;
    return clk_mono_ns(le->clock) >= le->observed_ns + dur_ns;
}

/* ---- one attempt --------------------------------------------------------------------------- */

typedef enum try_result {
    TRY_OK,    /* we hold the lease, renewed just now */
    TRY_HELD,  /* another holder's lease is valid */
    TRY_ERROR, /* the server failed or we lost a race; try again later */
} try_result;

static void log_api_error(le_elector *le, const char *what, const api_error *err)
{
    char code[16];
    snprintf(code, sizeof code, "%d", err->code);
    log_kv(LOG_WARN, what, "lease", le->path, "code", code, "reason",
           err->reason ? err->reason : "", "error", err->message ? err->message : "", NULL);
}

static try_result create_lease(le_elector *le)
{
    cJSON *body = cJSON_CreateObject();
    json_set_string(body, "apiVersion", LEASE_API_VERSION);
    json_set_string(body, "kind", "Lease");
    cJSON *meta = json_ensure_object(body, "metadata");
    json_set_string(meta, "name", le->name);
    json_set_string(meta, "namespace", le->ns);
    json_set_item(body, "spec",
                  make_spec(le->identity, (int64_t)(le->lease_ns / CLK_NS_PER_S), NULL, 0,
                            clk_wall_ms(le->clock)));
    cJSON *created = NULL;
    api_error err = API_ERROR_INIT;
    int rc = le->api.call(le->api.ctx, "POST", le->collection, NULL, body, &created, &err);
    if (rc < 0) {
        log_api_error(le, "cannot create the lease", &err); /* 409: another was faster */
        apierr_clear(&err);
        cJSON_Delete(body);
        return TRY_ERROR;
    }
    observe(le, created ? created : body);
    if (created)
        cJSON_Delete(body);
    return TRY_OK;
}

/* Writes a new spec over the lease seen last, with its resourceVersion (409 if it moved). */
static int update_lease(le_elector *le, cJSON *spec, api_error *err)
{
    cJSON *body = cJSON_Duplicate(le->lease, true);
    json_set_item(body, "spec", spec);
    cJSON *updated = NULL;
    int rc = le->api.call(le->api.ctx, "PUT", le->path, NULL, body, &updated, err);
    if (rc < 0) {
        cJSON_Delete(body);
        return rc;
    }
    observe(le, updated ? updated : body);
    if (updated)
        cJSON_Delete(body);
    return 0;
}

static try_result try_acquire_or_renew(le_elector *le)
{
    cJSON *cur = NULL;
    api_error err = API_ERROR_INIT;
    int rc = le->api.call(le->api.ctx, "GET", le->path, NULL, NULL, &cur, &err);
    if (rc < 0) {
        bool absent = err.code == 404;
        if (!absent)
            log_api_error(le, "cannot read the lease", &err);
        apierr_clear(&err);
        return absent ? create_lease(le) : TRY_ERROR;
    }
    if (!cur)
        return TRY_ERROR;
    observe(le, cur);

    const char *holder = spec_holder(le->lease);
    bool ours = strcmp(holder, le->identity) == 0;
    if (*holder && !ours && !expired(le))
        return TRY_HELD;
    char *previous = xstrdup(holder); /* le->lease is replaced by the update */

    /* Renewing keeps acquireTime and the transition count; a takeover counts one more. */
    int64_t transitions = spec_int(le->lease, "leaderTransitions", 0);
    const char *acquired = json_path_string(le->lease, "spec.acquireTime");
    cJSON *spec =
        make_spec(le->identity, (int64_t)(le->lease_ns / CLK_NS_PER_S), ours ? acquired : NULL,
                  ours ? transitions : transitions + 1, clk_wall_ms(le->clock));
    rc = update_lease(le, spec, &err);
    if (rc < 0)
        log_api_error(le, ours ? "cannot renew the lease" : "cannot take over the lease", &err);
    else if (!ours)
        log_kv(LOG_INFO, "took over the lease", "lease", le->path, "identity", le->identity,
               "previous", previous, NULL);
    apierr_clear(&err);
    free(previous);
    return rc < 0 ? TRY_ERROR : TRY_OK;
}

/* ---- the loop -------------------------------------------------------------------------------- */

static void start_leading(le_elector *le)
{
    atomic_store(&le->leading, true);
    log_kv(LOG_INFO, "started leading", "lease", le->path, "identity", le->identity, NULL);
    if (le->cb.on_started_leading)
        le->cb.on_started_leading(le->cb.ctx);
}

static void stop_leading(le_elector *le, const char *why)
{
    if (!atomic_exchange(&le->leading, false))
        return;
    atomic_store(&le->valid_until_ns, 0);
    log_kv(LOG_INFO, "stopped leading", "lease", le->path, "identity", le->identity, "reason", why,
           NULL);
    if (le->cb.on_stopped_leading)
        le->cb.on_stopped_leading(le->cb.ctx);
}

static uint64_t next_random(le_elector *le)
{
    le->rng ^= le->rng << 13;
    le->rng ^= le->rng >> 7;
    le->rng ^= le->rng << 17;
    return le->rng;
}

uint64_t le_tick(le_elector *le)
{
    /* The fence counts from when the renew was SENT: the server stamps it later, and others
     * measure the lease from when they see it, later still. */
    uint64_t sent = clk_mono_ns(le->clock);
    try_result r = try_acquire_or_renew(le);
    if (r == TRY_OK) {
        atomic_store(&le->last_renew_ns, sent);
        atomic_store(&le->valid_until_ns, sent + le->renew_ns);
        /* A renew that came back after its own deadline does not make us leader. */
        if (!atomic_load(&le->leading) && clk_mono_ns(le->clock) < sent + le->renew_ns)
            start_leading(le);
    }
    if (r == TRY_HELD)
        stop_leading(le, "the lease is held by another");
    else if (clk_mono_ns(le->clock) >= atomic_load(&le->valid_until_ns))
        stop_leading(le, "renew deadline passed");
    if (le->metrics)
        metrics_leader_status(le->metrics, le->name, le_is_leader(le));
    if (atomic_load(&le->leading))
        return le->retry_ns;
    /* client-go's JitterUntil(retry, 1.2): wait retry x (1 + 1.2 x a random fraction). */
    double frac = (double)(next_random(le) >> 11) / (double)(1ull << 53);
    return le->retry_ns + (uint64_t)(1.2 * frac * (double)le->retry_ns);
}

static void *elector_loop(void *arg)
{
    le_elector *le = arg;
    while (!atomic_load(&le->stopping)) {
        uint64_t ns = le_tick(le);
        if (!le->wait(le->wait_ctx, ns))
            break;
    }
    return NULL;
}

int le_start(le_elector *le)
{
    if (le->running)
        return -EALREADY;
    atomic_store(&le->stopping, false);
    int rc = pthread_create(&le->thread, NULL, elector_loop, le);
    if (rc != 0)
        return -rc;
    le->running = true;
    return 0;
}

void le_stop(le_elector *le)
{
    pthread_mutex_lock(&le->mu);
    atomic_store(&le->stopping, true);
    pthread_cond_broadcast(&le->cond);
    pthread_mutex_unlock(&le->mu);
    if (le->running) {
        pthread_join(le->thread, NULL);
        le->running = false;
    }
    stop_leading(le, "stopped");
    if (le->metrics)
        metrics_leader_status(le->metrics, le->name, false);
}

int le_release(le_elector *le, api_error *err)
{
    le_stop(le);
    if (!le->lease || strcmp(spec_holder(le->lease), le->identity) != 0)
        return 0;
    /* holderIdentity "" lets the next candidate take the lease at its next try; a one-second
     * duration covers candidates that judge by the duration alone. */
    cJSON *spec =
        make_spec("", 1, NULL, spec_int(le->lease, "leaderTransitions", 0), clk_wall_ms(le->clock));
    api_error local = API_ERROR_INIT;
    int rc = update_lease(le, spec, &local);
    if (rc < 0) {
        log_api_error(le, "cannot release the lease", &local);
        if (err)
            apierr_move(err, &local);
        apierr_clear(&local);
        return rc;
    }
    log_kv(LOG_INFO, "released the lease", "lease", le->path, "identity", le->identity, NULL);
    return 0;
}

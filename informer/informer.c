/*
 * informer.c - the shared informer: one reflector thread feeding one store and several handlers.
 *
 * The informer is the reflector's sink. Every change is applied to the store first and then
 * dispatched, on the same thread, so a handler that reads the store sees at least the state its
 * event describes, and events reach handlers in the order the server sent them.
 */
#include "informer/internal.h"

#include "common/alloc.h"
#include "common/clock.h"
#include "common/log.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct inf_informer {
    inf_store *store;
    inf_reflector *refl;
    clk_t *clock;
    inf_handlers *h;
    size_t nh;
    pthread_t thread;
    bool started, joined;
    pthread_mutex_t mu; /* guards rv and the wait/sync condition */
    pthread_cond_t cond;
    atomic_bool synced;
    char *rv;
    char *name;        /* for logs */
    uint64_t replaces; /* informer thread only */
    uint64_t resync_ns, next_resync_ns;
    uint64_t start_ns;
    _Atomic uint64_t relists, resyncs, dispatched;
};

inf_options inf_options_defaults(void)
{
    return (inf_options){
        .page_size = INF_DEFAULT_PAGE_SIZE,
        .watch_list = true,
        .resync_ms = 0,
        .transform = inf_transform_strip,
        .backoff_initial_ms = INF_DEFAULT_BACKOFF_INITIAL_MS,
        .backoff_max_ms = INF_DEFAULT_BACKOFF_MAX_MS,
        .backoff_reset_ms = INF_DEFAULT_BACKOFF_RESET_MS,
        .backoff_factor = INF_DEFAULT_BACKOFF_FACTOR,
        .backoff_jitter = INF_DEFAULT_BACKOFF_JITTER,
        .watch_timeout_min_s = INF_DEFAULT_WATCH_TIMEOUT_MIN_S,
        .watch_timeout_max_s = INF_DEFAULT_WATCH_TIMEOUT_MAX_S,
        .idle_grace_ms = INF_DEFAULT_IDLE_GRACE_MS,
        .short_watch_ms = INF_DEFAULT_SHORT_WATCH_MS,
    };
}

static void bump(_Atomic uint64_t *c)
{
    atomic_fetch_add_explicit(c, 1, memory_order_relaxed);
}

/* ---- waiting (real time, woken by inf_stop) ---------------------------------------------- */

/* The default inf_wait_fn: sleeps on the condition variable so inf_stop wakes it at once. */
static bool informer_wait(void *ctx, uint64_t ns)
{
    inf_informer *inf = ctx;
    struct timespec until = clk_mono_deadline(ns);
    pthread_mutex_lock(&inf->mu);
    int rc = 0;
    while (!inf_reflector_stopping(inf->refl) && rc != ETIMEDOUT)
        rc = pthread_cond_timedwait(&inf->cond, &inf->mu, &until);
    pthread_mutex_unlock(&inf->mu);
    return !inf_reflector_stopping(inf->refl);
}

/* ---- dispatch (informer thread) ---------------------------------------------------------- */

static void dispatch_add(inf_informer *inf, const inf_obj *obj)
{
    for (size_t i = 0; i < inf->nh; i++)
        if (inf->h[i].on_add)
            inf->h[i].on_add(inf->h[i].ctx, obj);
    bump(&inf->dispatched);
}

static void dispatch_update(inf_informer *inf, const inf_obj *old, const inf_obj *obj)
{
    for (size_t i = 0; i < inf->nh; i++)
        if (inf->h[i].on_update)
            inf->h[i].on_update(inf->h[i].ctx, old, obj);
    bump(&inf->dispatched);
}

static void dispatch_delete(inf_informer *inf, const inf_obj *obj, bool unknown)
{
    for (size_t i = 0; i < inf->nh; i++)
        if (inf->h[i].on_delete)
            inf->h[i].on_delete(inf->h[i].ctx, obj, unknown);
    bump(&inf->dispatched);
}

static void on_replace_diff(void *ctx, const inf_obj *old, const inf_obj *obj)
{
    inf_informer *inf = ctx;
    if (obj && old)
        dispatch_update(inf, old, obj);
    else if (obj)
        dispatch_add(inf, obj);
    else
        dispatch_delete(inf, old, true);
}

static void set_rv(inf_informer *inf, const char *rv)
{
    pthread_mutex_lock(&inf->mu);
    if (!inf->rv || strcmp(inf->rv, rv) != 0) {
        free(inf->rv);
        inf->rv = xstrdup(rv);
    }
    pthread_mutex_unlock(&inf->mu);
}

static void sink_replace(void *ctx, inf_obj **objs, size_t n, const char *rv)
{
    inf_informer *inf = ctx;
    if (inf->replaces++ > 0)
        bump(&inf->relists);
    inf_store_replace(inf->store, objs, n, on_replace_diff, inf);
    set_rv(inf, rv);
    inf->next_resync_ns = clk_mono_ns(inf->clock) + inf->resync_ns;
    if (!atomic_load(&inf->synced)) {
        pthread_mutex_lock(&inf->mu);
        atomic_store(&inf->synced, true);
        pthread_cond_broadcast(&inf->cond);
        pthread_mutex_unlock(&inf->mu);
        log_kv(LOG_INFO, "informer: synced", "informer", inf->name, "resourceVersion", rv, NULL);
    }
}

static void sink_event(void *ctx, kc_event_type type, inf_obj *obj)
{
    inf_informer *inf = ctx;
    if (type == KC_DELETED) {
        inf_obj *old = inf_store_remove(inf->store, inf_obj_key(obj));
        if (old)
            dispatch_delete(inf, obj, false);
        inf_obj_unref(old);
        inf_obj_unref(obj);
        return;
    }
    inf_obj_ref(obj); /* the store takes one reference; this one covers the dispatch */
    inf_obj *old = inf_store_upsert(inf->store, obj);
    if (old)
        dispatch_update(inf, old, obj);
    else
        dispatch_add(inf, obj);
    inf_obj_unref(old);
    inf_obj_unref(obj);
}

static void resync(inf_informer *inf)
{
    inf_obj **objs;
    size_t n = inf_store_list(inf->store, &objs);
    for (size_t i = 0; i < n; i++)
        dispatch_update(inf, objs[i], objs[i]);
    inf_objs_free(objs, n);
    bump(&inf->resyncs);
}

static void sink_progress(void *ctx, const char *rv)
{
    inf_informer *inf = ctx;
    set_rv(inf, rv);
    if (!inf->resync_ns || !atomic_load(&inf->synced))
        return;
    uint64_t now = clk_mono_ns(inf->clock);
    if (now >= inf->next_resync_ns) {
        resync(inf);
        inf->next_resync_ns = now + inf->resync_ns;
    }
}

static uint64_t sink_next_tick(void *ctx)
{
    inf_informer *inf = ctx;
    if (!inf->resync_ns || !atomic_load(&inf->synced))
        return 0;
    uint64_t now = clk_mono_ns(inf->clock);
    return inf->next_resync_ns > now ? inf->next_resync_ns - now : 1;
}

/* ---- lifecycle --------------------------------------------------------------------------- */

inf_informer *inf_informer_new_transport(const inf_transport *t, const inf_options *opt,
                                         api_error *err)
{
    if (!opt || !opt->path || opt->path[0] != '/') {
        if (err)
            apierr_bad_request(err, "informer: options need an absolute collection path");
        return NULL;
    }
    if (opt->resync_ms < 0 || (opt->resync_ms > 0 && opt->resync_ms < INF_MIN_RESYNC_MS)) {
        if (err)
            apierr_bad_request(err, "informer: resync period must be 0 or at least %d ms",
                               INF_MIN_RESYNC_MS);
        return NULL;
    }
    inf_informer *inf = xcalloc(1, sizeof *inf);
    inf->clock = opt->clock ? opt->clock : clk_system();
    inf->resync_ns = (uint64_t)opt->resync_ms * CLK_NS_PER_MS;
    inf->store = inf_store_new();
    if (pthread_mutex_init(&inf->mu, NULL) != 0 || clk_mono_cond_init(&inf->cond) != 0)
        abort(); /* only fails for lack of memory, fatal by policy */
    atomic_init(&inf->synced, false);
    inf_options ropt = *opt;
    if (!ropt.wait) {
        ropt.wait = informer_wait;
        ropt.wait_ctx = inf;
    }
    inf_sink sink = {
        .replace = sink_replace,
        .event = sink_event,
        .progress = sink_progress,
        .next_tick_ns = sink_next_tick,
        .ctx = inf,
    };
    inf->refl = inf_reflector_new(t, &ropt, &sink);
    inf->name = xstrdup(opt->name && *opt->name ? opt->name : opt->path);
    return inf;
}

inf_informer *inf_informer_new(kc_client *c, const inf_options *opt, api_error *err)
{
    inf_transport t = inf_transport_kc(c);
    return inf_informer_new_transport(&t, opt, err);
}

void inf_informer_free(inf_informer *inf)
{
    if (!inf)
        return;
    inf_stop(inf);
    inf_reflector_free(inf->refl);
    inf_store_free(inf->store);
    free(inf->h);
    free(inf->rv);
    free(inf->name);
    pthread_cond_destroy(&inf->cond);
    pthread_mutex_destroy(&inf->mu);
    free(inf);
}

int inf_add_handlers(inf_informer *inf, const inf_handlers *h)
{
    if (inf->started)
        return -EBUSY;
    inf->h = xrealloc(inf->h, (inf->nh + 1) * sizeof *inf->h);
    inf->h[inf->nh++] = *h;
    return 0;
}

inf_store *inf_informer_store(inf_informer *inf)
{
    return inf->store;
}

static void *informer_main(void *arg)
{
    inf_informer *inf = arg;
    inf_reflector_run(inf->refl);
    return NULL;
}

int inf_start(inf_informer *inf)
{
    if (inf->started)
        return -EALREADY;
    inf->start_ns = clk_mono_ns(inf->clock);
    inf->started = true;
    int rc = pthread_create(&inf->thread, NULL, informer_main, inf);
    if (rc != 0) {
        inf->started = false;
        return -rc;
    }
    return 0;
}

void inf_stop(inf_informer *inf)
{
    inf_reflector_stop(inf->refl);
    pthread_mutex_lock(&inf->mu);
    pthread_cond_broadcast(&inf->cond);
    pthread_mutex_unlock(&inf->mu);
    if (inf->started && !inf->joined) {
        pthread_join(inf->thread, NULL);
        inf->joined = true;
    }
}

bool inf_has_synced(inf_informer *inf)
{
    return atomic_load(&inf->synced);
}

bool inf_wait_for_sync(inf_informer *inf, int timeout_ms)
{
    struct timespec until =
        clk_mono_deadline(timeout_ms > 0 ? (uint64_t)timeout_ms * CLK_NS_PER_MS : 0);
    pthread_mutex_lock(&inf->mu);
    int rc = 0;
    while (!atomic_load(&inf->synced) && !inf_reflector_stopping(inf->refl) && rc != ETIMEDOUT) {
        if (timeout_ms < 0)
            rc = pthread_cond_wait(&inf->cond, &inf->mu);
        else
            rc = pthread_cond_timedwait(&inf->cond, &inf->mu, &until);
    }
    pthread_mutex_unlock(&inf->mu);
    return atomic_load(&inf->synced);
}

char *inf_last_resource_version(inf_informer *inf)
{
    pthread_mutex_lock(&inf->mu);
    char *rv = inf->rv && atomic_load(&inf->synced) ? xstrdup(inf->rv) : NULL;
    pthread_mutex_unlock(&inf->mu);
    return rv;
}

static uint64_t load(const _Atomic uint64_t *c)
{
    return atomic_load_explicit(c, memory_order_relaxed);
}

void inf_get_stats(inf_informer *inf, inf_stats *out)
{
    const inf_counters *c = inf_reflector_counters(inf->refl);
    *out = (inf_stats){
        .lists = load(&c->lists),
        .relists = load(&inf->relists),
        .watches = load(&c->watches),
        .watch_lists = load(&c->watch_lists),
        .watch_list_fallbacks = load(&c->watch_list_fallbacks),
        .events_added = load(&c->added),
        .events_modified = load(&c->modified),
        .events_deleted = load(&c->deleted),
        .bookmarks = load(&c->bookmarks),
        .expired = load(&c->expired),
        .errors = load(&c->errors),
        .short_watches = load(&c->short_watches),
        .stall_reconnects = load(&c->stall_reconnects),
        .backoff_ns_total = load(&c->backoff_ns_total),
        .resyncs = load(&inf->resyncs),
        .dispatched = load(&inf->dispatched),
        .store_count = inf_store_count(inf->store),
        .store_bytes = inf_store_bytes(inf->store),
    };
    if (inf->started)
        out->elapsed_ns = clk_mono_ns(inf->clock) - inf->start_ns;
}

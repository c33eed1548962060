/*
 * etcd.c - the etcd v3 backend's life cycle (see etcd.h): options and their defaults, open, the
 * threads (writers: etcd_write.c, watch: etcd_watch.c, compactor: etcd_compact.c), submit and
 * close. Reads are in etcd_read.c.
 */
#include "storage/etcd_store.h"

#include "storage/etcd_json.h"

#include "common/alloc.h"
#include "common/json.h"
#include "common/log.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Defaults of st_etcd_options, in one place. */
#define EX_DEFAULT_PREFIX              "/registry/demo.example.com"
#define EX_DEFAULT_COMPACTION_S        300
#define EX_DEFAULT_REQUEST_TIMEOUT_MS  5000
#define EX_DEFAULT_DELIVERY_TIMEOUT_MS 5000
#define EX_DEFAULT_MAX_INFLIGHT        32

st_etcd_options st_etcd_defaults(void)
{
    return (st_etcd_options){
        .prefix = EX_DEFAULT_PREFIX,
        .compaction_interval_s = EX_DEFAULT_COMPACTION_S,
        .request_timeout_ms = EX_DEFAULT_REQUEST_TIMEOUT_MS,
        .delivery_timeout_ms = EX_DEFAULT_DELIVERY_TIMEOUT_MS,
        .max_inflight = EX_DEFAULT_MAX_INFLIGHT,
    };
}

/* ---- stopping the threads ---------------------------------------------------------------- */

bool ex_sleep(ex_store *s, uint64_t ms)
{
    struct timespec until = clk_mono_deadline(ms * CLK_NS_PER_MS);
    pthread_mutex_lock(&s->mu);
    while (!s->stop && pthread_cond_timedwait(&s->stop_cv, &s->mu, &until) == 0) {
    }
    bool go_on = !s->stop;
    pthread_mutex_unlock(&s->mu);
    return go_on;
}

bool ex_stopping(ex_store *s)
{
    pthread_mutex_lock(&s->mu);
    bool stop = s->stop;
    pthread_mutex_unlock(&s->mu);
    return stop;
}

/* ---- the st_* operations ----------------------------------------------------------------- */

static void ex_set_sink(st_store *base, st_sink_fn fn, void *ctx)
{
    ex_store *s = ex_of(base);
    s->sink = fn;
    s->sink_ctx = ctx;
}

static void ex_set_observer(st_store *base, const st_observer *obs)
{
    ex_of(base)->obs = *obs;
}

/* Starts a thread with every signal blocked, so process signals go to the program's threads. */
static int ex_spawn(pthread_t *t, void *(*fn)(void *), void *arg)
{
    sigset_t all, old;
    sigfillset(&all);
    int rc = pthread_sigmask(SIG_SETMASK, &all, &old);
    if (rc != 0)
        return -rc;
    rc = pthread_create(t, NULL, fn, arg);
    (void)pthread_sigmask(SIG_SETMASK, &old, NULL); /* restoring a valid mask cannot fail */
    return -rc;
}

static void ex_join_all(ex_store *s);

static int ex_start(st_store *base)
{
    ex_store *s = ex_of(base);
    if (s->started)
        return -EALREADY;
    s->started = true;
    int rc = ex_spawn(&s->watch_thread, ex_watch_main, s);
    s->watch_started = rc == 0;
    if (rc != 0) {
        log_kv(LOG_ERROR, "cannot start the etcd watch thread", "error", strerror(-rc), NULL);
        return rc;
    }
    s->writers = xcalloc((size_t)s->max_inflight, sizeof(*s->writers));
    for (int i = 0; i < s->max_inflight && rc == 0; i++) {
        ex_writer_arg *a = xmalloc(sizeof(*a));
        *a = (ex_writer_arg){.s = s, .slot = i};
        rc = ex_spawn(&s->writers[i], ex_writer_main, a);
        if (rc == 0)
            s->n_writers++;
        else
            free(a);
    }
    if (rc == 0 && s->compaction_interval_s > 0) {
        rc = ex_spawn(&s->compact_thread, ex_compact_main, s);
        s->compact_started = rc == 0;
    }
    if (rc != 0)
        log_kv(LOG_ERROR, "cannot start the etcd store's threads", "error", strerror(-rc), NULL);
    s->running = rc == 0;
    return rc;
}

static void ex_submit(st_store *base, st_write *w)
{
    ex_store *s = ex_of(base);
    pthread_mutex_lock(&s->mu);
    bool closed = s->closing;
    if (!closed) {
        w->next = NULL;
        if (s->pending_tail)
            s->pending_tail->next = w;
        else
            s->pending = w;
        s->pending_tail = w;
        s->n_open++;
        pthread_cond_signal(&s->work_cv);
    }
    pthread_mutex_unlock(&s->mu);
    if (closed) {
        st_write_reset_outputs(w);
        w->result = ST_ECLOSED;
        w->next = NULL;
        w->done(w);
    }
}

static uint64_t ex_current_rev(st_store *base)
{
    return atomic_load(&ex_of(base)->pub_rev);
}

static void ex_stats(st_store *base, uint64_t *commits, uint64_t *writes)
{
    ex_store *s = ex_of(base);
    *commits = atomic_load(&s->commits);
    *writes = atomic_load(&s->good);
}

/* Stops and joins every thread that was started. */
static void ex_join_all(ex_store *s)
{
    pthread_mutex_lock(&s->mu);
    s->stop = true;
    pthread_cond_broadcast(&s->work_cv);
    pthread_cond_broadcast(&s->stop_cv);
    pthread_mutex_unlock(&s->mu);
    eh_wake(s->watch_conn);
    for (int i = 0; i < s->n_writers; i++)
        pthread_join(s->writers[i], NULL); /* joining our own joinable thread cannot fail */
    if (s->watch_started)
        pthread_join(s->watch_thread, NULL);
    if (s->compact_started)
        pthread_join(s->compact_thread, NULL);
}

static void ex_free(ex_store *s)
{
    for (int i = 0; i < s->n_endpoints; i++)
        free(s->endpoints[i]);
    free(s->endpoints);
    free(s->prefix);
    free(s->ca_file);
    free(s->cert_file);
    free(s->key_file);
    free(s->inflight);
    free(s->writers);
    eh_free(s->watch_conn);
    for (int i = 0; i < s->n_pool; i++)
        eh_free(s->pool[i]);
    pthread_mutex_destroy(&s->mu);
    pthread_mutex_destroy(&s->pool_mu);
    pthread_cond_destroy(&s->work_cv);
    pthread_cond_destroy(&s->idle_cv);
    pthread_cond_destroy(&s->stop_cv);
    free(s);
}

static void ex_close(st_store *base)
{
    ex_store *s = ex_of(base);
    pthread_mutex_lock(&s->mu);
    s->closing = true;
    pthread_mutex_unlock(&s->mu);
    /* Writes queued before a start that never came are sent now, as SQLite commits them. */
    if (!s->started && s->pending)
        (void)ex_start(base); /* logged; what it could not start is handled below */
    pthread_mutex_lock(&s->mu);
    while (s->running && s->n_open > 0)
        pthread_cond_wait(&s->idle_cv, &s->mu);
    pthread_mutex_unlock(&s->mu);
    ex_join_all(s);
    /* Only when some thread could not start: complete what is left, as it stands. */
    pthread_mutex_lock(&s->mu);
    ex_drain_locked(s, UINT64_MAX);
    pthread_mutex_unlock(&s->mu);
    for (st_write *w = s->pending, *next; w; w = next) {
        next = w->next;
        st_write_reset_outputs(w);
        w->result = ST_EIO;
        w->next = NULL;
        w->done(w);
    }
    ex_free(s);
}

static const st_backend_ops ex_ops = {
    .load = ex_load,
    .history = ex_history,
    .set_sink = ex_set_sink,
    .set_observer = ex_set_observer,
    .sync_rev = ex_sync_rev,
    .health = ex_health,
    .start = ex_start,
    .submit = ex_submit,
    .current_rev = ex_current_rev,
    .stats = ex_stats,
    .close = ex_close,
};

/* ---- open -------------------------------------------------------------------------------- */

static bool ex_url_valid(const char *u)
{
    return u && (strncmp(u, "http://", 7) == 0 || strncmp(u, "https://", 8) == 0) &&
           strlen(u) < 256;
}

static bool ex_options_valid(const st_etcd_options *o)
{
    if (!o || o->n_endpoints < 1 || !o->endpoints || !o->prefix || o->prefix[0] != '/' ||
        o->request_timeout_ms < 1 || o->delivery_timeout_ms < 1 || o->max_inflight < 1 ||
        o->compaction_interval_s < 0 || !o->cert_file != !o->key_file)
        return false;
    for (int i = 0; i < o->n_endpoints; i++)
        if (!ex_url_valid(o->endpoints[i]))
            return false;
    return true;
}

static char *ex_dup_or_null(const char *s)
{
    return s ? xstrdup(s) : NULL;
}

/* Allocates the store with copies of the options and its locks. NULL only if a lock failed. */
static ex_store *ex_new(const st_etcd_options *o)
{
    ex_store *s = xcalloc(1, sizeof(*s));
    s->base.ops = &ex_ops;
    s->endpoints = xcalloc((size_t)o->n_endpoints, sizeof(char *));
    for (int i = 0; i < o->n_endpoints; i++) {
        /* "http://h:p/" and "http://h:p" name the same gateway: paths are appended. */
        size_t n = strlen(o->endpoints[i]);
        s->endpoints[i] = xstrndup(o->endpoints[i], n && o->endpoints[i][n - 1] == '/' ? n - 1 : n);
    }
    s->n_endpoints = o->n_endpoints;
    s->prefix = xstrdup(o->prefix);
    s->prefix_len = strlen(s->prefix);
    s->ca_file = ex_dup_or_null(o->ca_file);
    s->cert_file = ex_dup_or_null(o->cert_file);
    s->key_file = ex_dup_or_null(o->key_file);
    s->compaction_interval_s = o->compaction_interval_s;
    s->delivery_timeout_ms = o->delivery_timeout_ms;
    s->max_inflight = o->max_inflight;
    s->clock = o->clock ? o->clock : clk_system();
    s->inflight = xcalloc((size_t)o->max_inflight, sizeof(*s->inflight));
    atomic_init(&s->healthy, 1);
    s->target = (eh_target){.endpoints = s->endpoints,
                            .n_endpoints = s->n_endpoints,
                            .ca_file = s->ca_file,
                            .cert_file = s->cert_file,
                            .key_file = s->key_file,
                            .request_timeout_ms = o->request_timeout_ms,
                            .healthy = &s->healthy};
    s->watch_conn = eh_new(&s->target);
    if (pthread_mutex_init(&s->mu, NULL) != 0 || pthread_mutex_init(&s->pool_mu, NULL) != 0 ||
        pthread_cond_init(&s->work_cv, NULL) != 0 || pthread_cond_init(&s->idle_cv, NULL) != 0 ||
        clk_mono_cond_init(&s->stop_cv) != 0)
        abort(); /* these fail only for lack of memory, which aborts by policy */
    return s;
}

st_store *st_etcd_open(const st_etcd_options *opt, api_error *err)
{
    if (!ex_options_valid(opt)) {
        apierr_set(err, 400, "BadRequest",
                   "invalid etcd store options: at least one http:// or https:// endpoint, a "
                   "prefix starting with '/', timeouts >= 1 ms, max_inflight >= 1, "
                   "compaction_interval_s >= 0 and a client certificate only with its key are "
                   "required");
        return NULL;
    }
    ex_store *s = ex_new(opt);
    eh_conn *c = ex_conn_get(s);
    const char *why = "etcd unreachable";
    uint64_t rev = 0;
    int rc = ex_current(s, c, 0, &rev, NULL, &why);
    ex_conn_put(s, c);
    if (rc != 0) {
        apierr_set(err, 503, "ServiceUnavailable", "cannot reach etcd at %s: %s", s->endpoints[0],
                   why);
        ex_free(s);
        return NULL;
    }
    s->start_rev = s->delivered = rev;
    atomic_store(&s->pub_rev, rev);
    return &s->base;
}

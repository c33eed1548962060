/*
 * events.c - the event recorder (events.h): a bounded queue filled by ev_record and drained by
 * one sender thread that correlates (event_correlator.h) and writes each event.
 *
 * Locking: `mu` guards the queue, the counters and `stopping`; the sender never holds it while
 * it talks to the server, so ev_record waits only for other queue operations. The correlator
 * belongs to the sender thread alone.
 */
#include "controllers/events.h"
#include "controllers/event_correlator.h"

#include "common/alloc.h"
#include "common/clock.h"
#include "common/json.h"
#include "common/log.h"
#include "common/sbuf.h"
#include "common/timefmt.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct ev_recorder {
    ctl_kapi api;
    clk_t *clock;
    ev_options opt;       /* component and host point at the copies below */
    char *component;      /* owned */
    char *host;           /* owned, may be NULL */
    evc_correlator *corr; /* sender thread only */
    uint64_t rng;         /* sender thread only */

    pthread_mutex_t mu;
    pthread_cond_t wake; /* the sender: work arrived, or stopping */
    pthread_cond_t idle; /* ev_flush: one more event handled */
    ev_event **ring;     /* queue of opt.queue_size slots */
    size_t head, len;
    uint64_t accepted, handled; /* events put on / taken off and finished */
    bool stopping;
    ev_stats stats;
    pthread_t thread;
    bool started; /* thread is joinable */
};

ev_options ev_options_defaults(void)
{
    return (ev_options){
        .component = "foo-controller-manager",
        .queue_size = 1000,
        .spam_burst = 25,
        .spam_refill_ms = 300000,
        .aggregate_max_events = 10,
        .aggregate_window_ms = 600000,
        .cache_size = 4096,
        .max_tries = 12,
        .retry_sleep_ms = 10000,
    };
}

/* ---- waiting -------------------------------------------------------------------------------- */

/* The default ev_wait_fn: sleeps until the time is up or the recorder stops. New events signal
 * the same condition variable, so the loop re-waits until the deadline. */
static bool recorder_wait(void *ctx, uint64_t ns)
{
    ev_recorder *r = ctx;
    struct timespec until = clk_mono_deadline(ns);
    pthread_mutex_lock(&r->mu);
    int rc = 0;
    while (!r->stopping && rc != ETIMEDOUT)
        rc = pthread_cond_timedwait(&r->wake, &r->mu, &until);
    bool go_on = !r->stopping;
    pthread_mutex_unlock(&r->mu);
    return go_on;
}

/* ---- writing one event ---------------------------------------------------------------------- */

static void put_time(cJSON *obj, const char *key, int64_t wall_ms)
{
    char ts[RFC3339_LEN];
    time_format_rfc3339(wall_ms / 1000, ts);
    json_set_string(obj, key, ts);
}

static void put_optional(cJSON *obj, const char *key, const char *v)
{
    if (v && *v)
        json_set_string(obj, key, v);
}

/* The core v1 Event object. */
static cJSON *event_json(const ev_event *e)
{
    cJSON *ev = cJSON_CreateObject();
    json_set_string(ev, "apiVersion", "v1");
    json_set_string(ev, "kind", "Event");
    cJSON *meta = json_ensure_object(ev, "metadata");
    json_set_string(meta, "name", e->name);
    json_set_string(meta, "namespace", e->ns);
    cJSON *io = json_ensure_object(ev, "involvedObject");
    put_optional(io, "kind", e->kind);
    put_optional(io, "namespace", e->obj_ns);
    json_set_string(io, "name", e->obj_name);
    put_optional(io, "uid", e->uid);
    put_optional(io, "apiVersion", e->api_version);
    put_optional(io, "resourceVersion", e->obj_rv);
    json_set_string(ev, "reason", e->reason);
    json_set_string(ev, "message", e->message);
    cJSON *src = json_ensure_object(ev, "source");
    json_set_string(src, "component", e->component);
    put_optional(src, "host", e->host);
    put_time(ev, "firstTimestamp", e->first_ms);
    put_time(ev, "lastTimestamp", e->last_ms);
    json_set_number(ev, "count", e->count);
    json_set_string(ev, "type", e->type);
    json_set_string(ev, "reportingComponent", e->component);
    put_optional(ev, "reportingInstance", e->host);
    return ev;
}

static int create_event(ev_recorder *r, const ev_event *e, api_error *err)
{
    char *path = xasprintf("/api/v1/namespaces/%s/events", e->ns);
    cJSON *body = event_json(e);
    int rc = r->api.call(r->api.ctx, "POST", path, NULL, body, NULL, err);
    cJSON_Delete(body);
    free(path);
    return rc;
}

/* PATCHes the earlier Event; one that has expired meanwhile (404) is created anew. Sets
 * *created accordingly. */
static int patch_event(ev_recorder *r, const ev_event *e, bool *created, api_error *err)
{
    char *path = xasprintf("/api/v1/namespaces/%s/events/%s", e->ns, e->name);
    cJSON *patch = cJSON_CreateObject();
    json_set_number(patch, "count", e->count);
    put_time(patch, "lastTimestamp", e->last_ms);
    json_set_string(patch, "message", e->message);
    int rc =
        r->api.call(r->api.ctx, "PATCH", path, "application/merge-patch+json", patch, NULL, err);
    cJSON_Delete(patch);
    free(path);
    *created = false;
    if (rc < 0 && err->code == 404) {
        apierr_clear(err);
        *created = true;
        rc = create_event(r, e, err);
    }
    return rc;
}

static void count(ev_recorder *r, uint64_t *counter)
{
    pthread_mutex_lock(&r->mu);
    (*counter)++;
    pthread_mutex_unlock(&r->mu);
}

static void log_failure(const ev_event *e, const char *why, const api_error *err)
{
    char code[16];
    snprintf(code, sizeof code, "%d", err->code);
    log_kv(LOG_WARN, "cannot write event", "reason", why, "event", e->name, "namespace", e->ns,
           "code", code, "error", err->message ? err->message : "", NULL);
}

/* The pause before attempt `tries` + 1: random for the first, so that clients cut off together
 * do not all come back at once, then the full period. */
static uint64_t retry_pause_ns(ev_recorder *r, int tries)
{
    uint64_t full = r->opt.retry_sleep_ms * CLK_NS_PER_MS;
    if (tries > 1)
        return full;
    r->rng ^= r->rng << 13;
    r->rng ^= r->rng >> 7;
    r->rng ^= r->rng << 17;
    return (uint64_t)((double)(r->rng >> 11) / (double)(1ull << 53) * (double)full);
}

/* Writes e as the correlator says, retrying only failures that got no answer from the server
 * (a refusal would be refused again). */
static void send_event(ev_recorder *r, ev_event *e, evc_action action)
{
    for (int tries = 1;; tries++) {
        api_error err = API_ERROR_INIT;
        bool created = action == EVC_CREATE;
        int rc = action == EVC_PATCH ? patch_event(r, e, &created, &err) : create_event(r, e, &err);
        if (rc == 0) {
            count(r, created ? &r->stats.created : &r->stats.patched);
            return;
        }
        bool retry = err.code == 0 && tries < r->opt.max_tries;
        if (!retry) {
            log_failure(e, err.code ? "refused by the server" : "out of tries", &err);
            apierr_clear(&err);
            count(r, &r->stats.failed);
            return;
        }
        apierr_clear(&err);
        if (!r->opt.wait(r->opt.wait_ctx, retry_pause_ns(r, tries))) {
            count(r, &r->stats.failed);
            return;
        }
    }
}

static void handle(ev_recorder *r, ev_event *e)
{
    evc_action action = evc_correlate(r->corr, e);
    if (action == EVC_SKIP) {
        if (log_verbosity() >= 2)
            log_kv(LOG_DEBUG, "event skipped by the spam filter", "object", e->obj_name, "reason",
                   e->reason, NULL);
        count(r, &r->stats.spam_skipped);
        return;
    }
    send_event(r, e, action);
}

/* ---- the queue ------------------------------------------------------------------------------ */

static void *sender_loop(void *arg)
{
    ev_recorder *r = arg;
    pthread_mutex_lock(&r->mu);
    for (;;) {
        while (r->len == 0 && !r->stopping)
            pthread_cond_wait(&r->wake, &r->mu);
        if (r->stopping)
            break;
        ev_event *e = r->ring[r->head];
        r->head = (r->head + 1) % r->opt.queue_size;
        r->len--;
        pthread_mutex_unlock(&r->mu);
        handle(r, e);
        ev_event_free(e);
        pthread_mutex_lock(&r->mu);
        r->handled++;
        pthread_cond_broadcast(&r->idle);
    }
    pthread_mutex_unlock(&r->mu);
    return NULL;
}

static bool valid_options(const ev_options *o)
{
    return o->component && *o->component && o->queue_size > 0 && o->spam_burst > 0 &&
           o->spam_refill_ms > 0 && o->aggregate_max_events > 0 && o->cache_size > 0 &&
           o->max_tries > 0;
}

ev_recorder *ev_recorder_new(ctl_kapi kapi, clk_t *clock, const ev_options *opt)
{
    ev_options o = opt ? *opt : ev_options_defaults();
    if (!valid_options(&o))
        return NULL;
    ev_recorder *r = xcalloc(1, sizeof *r);
    if (clk_mono_cond_init(&r->wake) != 0) {
        free(r);
        return NULL;
    }
    if (clk_mono_cond_init(&r->idle) != 0) {
        pthread_cond_destroy(&r->wake);
        free(r);
        return NULL;
    }
    pthread_mutex_init(&r->mu, NULL);
    r->api = kapi;
    r->clock = clock ? clock : clk_system();
    r->component = xstrdup(o.component);
    r->host = o.host && *o.host ? xstrdup(o.host) : NULL;
    o.component = r->component;
    o.host = r->host;
    if (!o.wait) {
        o.wait = recorder_wait;
        o.wait_ctx = r;
    }
    r->opt = o;
    r->rng = o.seed ? o.seed : (clk_mono_ns(r->clock) ^ (uint64_t)(uintptr_t)r) | 1;
    r->corr = evc_new(&o);
    r->ring = xcalloc(o.queue_size, sizeof *r->ring);
    if (pthread_create(&r->thread, NULL, sender_loop, r) != 0) {
        ev_recorder_free(r);
        return NULL;
    }
    r->started = true;
    return r;
}

void ev_recorder_free(ev_recorder *r)
{
    if (!r)
        return;
    pthread_mutex_lock(&r->mu);
    r->stopping = true;
    pthread_cond_broadcast(&r->wake);
    pthread_mutex_unlock(&r->mu);
    if (r->started)
        pthread_join(r->thread, NULL);
    if (r->len) {
        char n[24];
        snprintf(n, sizeof n, "%zu", r->len);
        log_kv(LOG_WARN, "events discarded at shutdown", "count", n, NULL);
    }
    for (; r->len; r->len--, r->head = (r->head + 1) % r->opt.queue_size)
        ev_event_free(r->ring[r->head]);
    free(r->ring);
    evc_free(r->corr);
    free(r->component);
    free(r->host);
    pthread_cond_destroy(&r->wake);
    pthread_cond_destroy(&r->idle);
    pthread_mutex_destroy(&r->mu);
    free(r);
}

/* ---- recording ------------------------------------------------------------------------------ */

static char *dup_or_null(const char *s)
{
    return s && *s ? xstrdup(s) : NULL;
}

/* Cuts s to at most max bytes without splitting a UTF-8 character. */
static void truncate_utf8(char *s, size_t max)
{
    size_t n = strlen(s);
    if (n <= max)
        return;
    while (max > 0 && ((unsigned char)s[max] & 0xC0) == 0x80)
        max--;
    s[max] = '\0';
}

/* A new event from obj, or NULL when obj cannot be the subject of one. */
static ev_event *event_from(ev_recorder *r, const cJSON *obj, const char *type, const char *reason,
                            char *message)
{
    const char *name = json_path_string(obj, "metadata.name");
    if (!name || !*name)
        return NULL;
    const char *obj_ns = json_path_string(obj, "metadata.namespace");
    ev_event *e = xcalloc(1, sizeof *e);
    e->ns = xstrdup(obj_ns && *obj_ns ? obj_ns : "default");
    e->kind = dup_or_null(json_path_string(obj, "kind"));
    e->api_version = dup_or_null(json_path_string(obj, "apiVersion"));
    e->obj_name = xstrdup(name);
    e->obj_ns = dup_or_null(obj_ns);
    e->uid = dup_or_null(json_path_string(obj, "metadata.uid"));
    e->obj_rv = dup_or_null(json_path_string(obj, "metadata.resourceVersion"));
    e->type = xstrdup(type);
    e->reason = xstrdup(reason ? reason : "");
    e->message = message;
    e->component = r->component;
    e->host = r->host;
    return e;
}

void ev_recordv(ev_recorder *r, const cJSON *obj, const char *type, const char *reason,
                const char *fmt, va_list ap)
{
    bool type_ok = type && (strcmp(type, EV_NORMAL) == 0 || strcmp(type, EV_WARNING) == 0);
    sbuf msg = SBUF_INIT;
    sbuf_vprintf(&msg, fmt, ap);
    char *message = sbuf_detach(&msg, NULL);
    truncate_utf8(message, EV_MAX_MESSAGE);
    ev_event *e = type_ok ? event_from(r, obj, type, reason, message) : NULL;
    if (!e) {
        log_kv(LOG_WARN, "event not recorded: bad type or object", "type", type ? type : "",
               "reason", reason ? reason : "", NULL);
        free(message);
        count(r, &r->stats.invalid);
        return;
    }
    pthread_mutex_lock(&r->mu);
    /* Stamped under the lock so that queue order is time order. */
    e->last_ms = clk_wall_ms(r->clock);
    e->mono_ns = clk_mono_ns(r->clock);
    bool full = r->len == r->opt.queue_size || r->stopping;
    if (full) {
        r->stats.dropped++;
    } else {
        r->ring[(r->head + r->len) % r->opt.queue_size] = e;
        r->len++;
        r->accepted++;
        r->stats.recorded++;
        pthread_cond_signal(&r->wake);
    }
    pthread_mutex_unlock(&r->mu);
    if (full)
        ev_event_free(e);
}

void ev_record(ev_recorder *r, const cJSON *obj, const char *type, const char *reason,
               const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    ev_recordv(r, obj, type, reason, fmt, ap);
    va_end(ap);
}

int ev_flush(ev_recorder *r, int timeout_ms)
{
    struct timespec until =
        clk_mono_deadline((uint64_t)(timeout_ms > 0 ? timeout_ms : 0) * CLK_NS_PER_MS);
    pthread_mutex_lock(&r->mu);
    uint64_t target = r->accepted;
    int rc = 0;
    while (r->handled < target && rc != ETIMEDOUT) {
        if (timeout_ms < 0)
            pthread_cond_wait(&r->idle, &r->mu);
        else
            rc = pthread_cond_timedwait(&r->idle, &r->mu, &until);
    }
    bool done = r->handled >= target;
    pthread_mutex_unlock(&r->mu);
    return done ? 0 : -ETIMEDOUT;
}

void ev_stats_get(ev_recorder *r, ev_stats *out)
{
    pthread_mutex_lock(&r->mu);
    *out = r->stats;
    pthread_mutex_unlock(&r->mu);
}

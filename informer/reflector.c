/*
 * reflector.c - keeps a sink in step with one collection: LIST (or watch-list), then WATCH from
 * the resource version reached, with client-go's relist ladder and backoff (internal.h has the
 * rules; docs/controller-machinery.md §3 the reasons).
 *
 * Shape: run() loops list_and_watch() with a backoff wait between rounds (client-go's
 * BackoffUntil). A round gets a full state (watch-list snapshot or paged LIST), then watches until
 * something calls for a relist. Each watch stream ends in one classified `wend`, and a small
 * switch decides what follows, so the whole policy reads in one place (watch_loop).
 */
#include "informer/internal.h"
#include "common/json.h"

#include "common/alloc.h"
#include "common/log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define INITIAL_EVENTS_END "k8s.io/initial-events-end"

struct inf_reflector {
    inf_transport tr;
    inf_sink sink;
    inf_options opt; /* the string fields point at our copies below */
    char *path, *label, *field, *name;
    clk_t *clock;
    inf_backoff backoff;
    uint64_t rng;
    char *rv;            /* resource version synced to; NULL before the first sync */
    bool rv_unavailable; /* the server refused rv (410 / too large): next full state at "" */
    bool paginated;      /* the server paged a list: keep paging relists too */
    bool watch_list_ok;  /* watch-list enabled and not refused by the server */
    atomic_bool stop;
    inf_counters c;
};

/* How a watch stream ended. */
typedef enum wend {
    W_STOP,     /* stop requested */
    W_CLOSED,   /* the server ended the stream (or dropped it after events): resume */
    W_STALL,    /* no byte within the idle deadline: resume */
    W_SHORT,    /* closed within short_watch_ms with no event: an error */
    W_EXPIRED,  /* 410 Gone (answer or ERROR event): relist */
    W_RETRY,    /* transport failure, 429 or 5xx before any event: back off, watch again */
    W_REJECTED, /* another 4xx answer */
    W_ERROR,    /* ERROR event, malformed line or unusable event */
} wend;

/* State of one watch stream, shared with the event callback. */
typedef struct wsession {
    inf_reflector *r;
    bool initial;   /* watch-list: still collecting the snapshot */
    inf_obj **snap; /* the snapshot so far */
    size_t nsnap, capsnap;
    uint64_t events; /* events received, bookmarks included */
    int error_code;  /* Status code of an ERROR event; 0 = none */
    bool bad_event;  /* an event without a usable object */
} wsession;

static void count(_Atomic uint64_t *c, uint64_t n)
{
    atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

bool inf_reflector_stopping(inf_reflector *r)
{
    return atomic_load(&r->stop);
}

void inf_reflector_stop(inf_reflector *r)
{
    atomic_store(&r->stop, true);
}

const inf_counters *inf_reflector_counters(inf_reflector *r)
{
    return &r->c;
}

static char *dup_or_null(const char *s)
{
    return s && *s ? xstrdup(s) : NULL;
}

inf_reflector *inf_reflector_new(const inf_transport *t, const inf_options *opt,
                                 const inf_sink *sink)
{
    if (!opt->path || !*opt->path || !opt->wait)
        return NULL;
    inf_reflector *r = xcalloc(1, sizeof *r);
    r->tr = *t;
    r->sink = *sink;
    r->opt = *opt;
    r->path = xstrdup(opt->path);
    r->label = dup_or_null(opt->label_selector);
    r->field = dup_or_null(opt->field_selector);
    r->name = xstrdup(opt->name && *opt->name ? opt->name : opt->path);
    r->opt.path = r->path;
    r->opt.label_selector = r->label;
    r->opt.field_selector = r->field;
    r->opt.name = r->name;
    r->clock = opt->clock ? opt->clock : clk_system();
    r->rng = opt->seed ? opt->seed : inf_rand_seed(r->clock, r);
    inf_backoff_init(&r->backoff, opt, inf_rand_next(&r->rng) | 1);
    r->watch_list_ok = opt->watch_list;
    atomic_init(&r->stop, false);
    return r;
}

void inf_reflector_free(inf_reflector *r)
{
    if (!r)
        return;
    free(r->path);
    free(r->label);
    free(r->field);
    free(r->name);
    free(r->rv);
    free(r);
}

static void set_rv(inf_reflector *r, const char *rv)
{
    if (!rv || !*rv || (r->rv && strcmp(r->rv, rv) == 0))
        return;
    free(r->rv);
    r->rv = xstrdup(rv);
}

static uint64_t now_ns(inf_reflector *r)
{
    return clk_mono_ns(r->clock);
}

/* Waits the next backoff step; false when stopping. */
static bool backoff_wait(inf_reflector *r)
{
    uint64_t d = inf_backoff_next(&r->backoff, now_ns(r));
    count(&r->c.backoff_ns_total, d);
    log_v(2, "informer %s: backing off %llu ms", r->name, (unsigned long long)(d / CLK_NS_PER_MS));
    bool go_on = r->opt.wait(r->opt.wait_ctx, d);
    return go_on && !inf_reflector_stopping(r);
}

static void fail(inf_reflector *r, const char *what, const api_error *err)
{
    count(&r->c.errors, 1);
    log_kv(LOG_WARN, "informer: request failed", "informer", r->name, "call", what, "reason",
           err && err->reason ? err->reason : "", "message",
           err && err->message ? err->message : "", NULL);
}

/* ---- errors ---------------------------------------------------------------------------- */

static bool has_cause(const api_error *err, const char *reason)
{
    const cJSON *cause;
    cJSON_ArrayForEach(cause, err->causes)
    {
        const cJSON *rs = cJSON_GetObjectItemCaseSensitive(cause, "reason");
        if (cJSON_IsString(rs) && strcmp(rs->valuestring, reason) == 0)
            return true;
    }
    return false;
}

/* client-go's isExpiredError || isTooLargeResourceVersionError. */
static bool rv_refused(const api_error *err)
{
    if (err->code == 410)
        return true;
    if (err->code != 504)
        return false;
    return has_cause(err, "ResourceVersionTooLarge") ||
           (err->message && strstr(err->message, "Too large resource version"));
}

/* ---- LIST ------------------------------------------------------------------------------ */

typedef struct objvec {
    inf_obj **v;
    size_t n, cap;
} objvec;

static void objvec_push(objvec *ov, inf_obj *o)
{
    if (ov->n == ov->cap) {
        ov->cap = ov->cap ? 2 * ov->cap : 64;
        ov->v = xrealloc(ov->v, ov->cap * sizeof *ov->v);
    }
    ov->v[ov->n++] = o;
}

static void objvec_clear(objvec *ov)
{
    inf_objs_free(ov->v, ov->n);
    *ov = (objvec){0};
}

static char *list_path(inf_reflector *r, const char *rv, int limit, const char *cont)
{
    sbuf q = SBUF_INIT;
    if (limit > 0)
        sbuf_printf(&q, "limit=%d", limit);
    if (cont) {
        /* The continue token carries the snapshot; a resourceVersion beside it is refused. */
        sbuf_puts(&q, q.len ? "&continue=" : "continue=");
        inf_put_escaped(&q, cont);
    } else if (*rv) {
        sbuf_puts(&q, q.len ? "&resourceVersion=" : "resourceVersion=");
        inf_put_escaped(&q, rv);
    }
    char *p = inf_build_path(r->path, q.data, r->label, r->field);
    sbuf_free(&q);
    return p;
}

/*
 * Adds the items of one page to ov; sets *page_rv and *cont (malloc'd or NULL).
 * Returns 0, or -EPROTO (with err set) for a body that is not a list.
 */
static int take_page(inf_reflector *r, const char *body, size_t len, objvec *ov, char **page_rv,
                     char **cont, api_error *err)
{
    cJSON *list = json_parse_body(body, len, NULL, NULL);
    const cJSON *items = cJSON_GetObjectItemCaseSensitive(list, "items");
    const cJSON *meta = cJSON_GetObjectItemCaseSensitive(list, "metadata");
    const cJSON *rv = cJSON_GetObjectItemCaseSensitive(meta, "resourceVersion");
    if (!cJSON_IsObject(list) || !(cJSON_IsArray(items) || cJSON_IsNull(items)) ||
        !cJSON_IsString(rv) || !*rv->valuestring) {
        cJSON_Delete(list);
        apierr_set(err, 0, "BadList", "the list answer is not a list with a resourceVersion");
        return -EPROTO;
    }
    cJSON *item;
    cJSON_ArrayForEach(item, items)
    {
        inf_obj *o = inf_obj_new(item, r->opt.transform, r->opt.transform_ctx);
        if (o)
            objvec_push(ov, o);
        else
            log_kv(LOG_WARN, "informer: list item without metadata.name skipped", "informer",
                   r->name, NULL);
    }
    *page_rv = xstrdup(rv->valuestring);
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(meta, "continue");
    *cont = cJSON_IsString(c) && *c->valuestring ? xstrdup(c->valuestring) : NULL;
    cJSON_Delete(list);
    return 0;
}

/*
 * A full LIST at rv ("" = latest), in pages of limit (0 = one page). On success returns 0 with
 * the objects in ov and the list's resourceVersion (the first page's: that is the snapshot the
 * continue token extends) in *list_rv. An expired continue token restarts as one unpaged LIST
 * (client-go's pager, FullListIfExpired), and so does a page from another snapshot than the
 * first (a server that does not keep continue pages consistent).
 */
static int list_pages(inf_reflector *r, const char *rv, int limit, objvec *ov, char **list_rv,
                      api_error *err)
{
    char *cont = NULL;
    int rc = 0;
    *list_rv = NULL;
    for (;;) {
        char *path = list_path(r, rv, limit, cont);
        char *body = NULL;
        size_t len = 0;
        count(&r->c.lists, 1);
        rc = r->tr.get(r->tr.ctx, path, &body, &len, err);
        free(path);
        if (rc < 0 && cont && err->code == 410) {
            log_kv(LOG_INFO, "informer: continue token expired, listing in one page", "informer",
                   r->name, NULL);
            apierr_clear(err);
            free(cont);
            cont = NULL;
            free(*list_rv);
            *list_rv = NULL;
            objvec_clear(ov);
            limit = 0;
            continue;
        }
        if (rc < 0)
            break;
        char *page_rv = NULL, *next = NULL;
        rc = take_page(r, body, len, ov, &page_rv, &next, err);
        free(body);
        if (rc < 0)
            break;
        if (*list_rv && strcmp(*list_rv, page_rv) != 0) {
            /* Kubernetes serves every page of a list from the first page's snapshot. A server
               that answers later pages from newer data would make us watch from the first RV
               over objects already newer than it (events replayed backwards), so list again
               in one page, which is one consistent snapshot. */
            log_kv(LOG_INFO, "informer: list pages from different snapshots, listing in one page",
                   "informer", r->name, "first", *list_rv, "later", page_rv, NULL);
            free(page_rv);
            free(next);
            free(cont);
            cont = NULL;
            free(*list_rv);
            *list_rv = NULL;
            objvec_clear(ov);
            limit = 0;
            continue;
        }
        if (!*list_rv)
            *list_rv = page_rv;
        else
            free(page_rv);
        free(cont);
        cont = next;
        if (!cont || inf_reflector_stopping(r))
            break;
        r->paginated = true;
    }
    free(cont);
    if (rc < 0 || inf_reflector_stopping(r)) {
        objvec_clear(ov);
        free(*list_rv);
        *list_rv = NULL;
        return rc < 0 ? rc : -ECANCELED;
    }
    return 0;
}

/* client-go's relistResourceVersion(). */
static const char *relist_rv(inf_reflector *r)
{
    if (r->rv_unavailable)
        return "";
    return r->rv ? r->rv : "0";
}

/* LIST with the ladder, then replace the sink's content. Returns false on failure. */
static bool do_list(inf_reflector *r)
{
    const char *rv = relist_rv(r);
    /* A relist at a specific RV is served from the watch cache only unpaged, unless the
       server already showed it pages (then it has no watch cache to protect). */
    bool specific = *rv && strcmp(rv, "0") != 0;
    int limit = specific && !r->paginated ? 0 : r->opt.page_size;
    objvec ov = {0};
    char *list_rv = NULL;
    api_error err = API_ERROR_INIT;
    int rc = list_pages(r, rv, limit, &ov, &list_rv, &err);
    if (rc < 0 && rv_refused(&err)) {
        count(&r->c.expired, 1);
        log_kv(LOG_INFO, "informer: resource version refused, listing the latest", "informer",
               r->name, "resourceVersion", rv, NULL);
        r->rv_unavailable = true;
        apierr_clear(&err);
        rc = list_pages(r, "", r->opt.page_size, &ov, &list_rv, &err);
    }
    if (rc < 0) {
        if (rc != -ECANCELED)
            fail(r, "list", &err);
        apierr_clear(&err);
        return false;
    }
    r->rv_unavailable = false;
    set_rv(r, list_rv);
    r->sink.replace(r->sink.ctx, ov.v, ov.n, list_rv);
    free(ov.v);
    free(list_rv);
    return true;
}

/* ---- WATCH ----------------------------------------------------------------------------- */

static const char *bookmark_rv(const cJSON *obj, bool *initial_end)
{
    const cJSON *meta = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
    const cJSON *ann = cJSON_GetObjectItemCaseSensitive(meta, "annotations");
    const cJSON *end = cJSON_GetObjectItemCaseSensitive(ann, INITIAL_EVENTS_END);
    *initial_end = cJSON_IsString(end) && strcmp(end->valuestring, "true") == 0;
    const cJSON *rv = cJSON_GetObjectItemCaseSensitive(meta, "resourceVersion");
    return cJSON_IsString(rv) ? rv->valuestring : NULL;
}

static void progress(inf_reflector *r)
{
    if (r->sink.progress && r->rv)
        r->sink.progress(r->sink.ctx, r->rv);
}

/* The snapshot of a watch-list is complete: hand it over and continue as a plain watch. */
static void finish_initial(wsession *ws, const char *rv)
{
    inf_reflector *r = ws->r;
    ws->initial = false;
    r->rv_unavailable = false;
    set_rv(r, rv);
    r->sink.replace(r->sink.ctx, ws->snap, ws->nsnap, rv);
    free(ws->snap);
    ws->snap = NULL;
    ws->nsnap = ws->capsnap = 0;
}

static void snap_push(wsession *ws, inf_obj *o)
{
    if (ws->nsnap == ws->capsnap) {
        ws->capsnap = ws->capsnap ? 2 * ws->capsnap : 64;
        ws->snap = xrealloc(ws->snap, ws->capsnap * sizeof *ws->snap);
    }
    ws->snap[ws->nsnap++] = o;
}

static bool on_bookmark(wsession *ws, const cJSON *obj)
{
    inf_reflector *r = ws->r;
    count(&r->c.bookmarks, 1);
    bool initial_end = false;
    const char *rv = bookmark_rv(obj, &initial_end);
    if (ws->initial) {
        /* Until the snapshot ends, events come in no RV order: do not record any. */
        if (initial_end && rv && *rv)
            finish_initial(ws, rv);
    } else {
        set_rv(r, rv);
    }
    progress(r);
    return !inf_reflector_stopping(r);
}

static bool on_object(wsession *ws, kc_event_type type, cJSON *json)
{
    inf_reflector *r = ws->r;
    count(type == KC_ADDED ? &r->c.added : type == KC_MODIFIED ? &r->c.modified : &r->c.deleted, 1);
    inf_obj *o = inf_obj_new(json, r->opt.transform, r->opt.transform_ctx);
    if (!o) {
        ws->bad_event = true;
        return false;
    }
    if (ws->initial) {
        if (type == KC_DELETED)
            inf_obj_unref(o); /* not expected in a snapshot; the object is simply absent */
        else
            snap_push(ws, o);
        return !inf_reflector_stopping(r);
    }
    set_rv(r, inf_obj_resource_version(o));
    r->sink.event(r->sink.ctx, type, o);
    progress(r);
    return !inf_reflector_stopping(r);
}

static bool on_event(void *ctx, kc_watch_event *ev)
{
    wsession *ws = ctx;
    ws->events++;
    switch (ev->type) {
    case KC_ERROR: {
        const cJSON *code = cJSON_GetObjectItemCaseSensitive(ev->object, "code");
        const cJSON *msg = cJSON_GetObjectItemCaseSensitive(ev->object, "message");
        ws->error_code = cJSON_IsNumber(code) ? code->valueint : 500;
        log_kv(LOG_INFO, "informer: watch ERROR event", "informer", ws->r->name, "message",
               cJSON_IsString(msg) ? msg->valuestring : "", NULL);
        return false;
    }
    case KC_BOOKMARK:
        return on_bookmark(ws, ev->object);
    case KC_ADDED:
    case KC_MODIFIED:
    case KC_DELETED:
        return on_object(ws, ev->type, ev->object);
    }
    ws->bad_event = true;
    return false;
}

/* timeoutSeconds: uniform in [min, max], capped by the sink's next tick (resync). */
static int watch_timeout_s(inf_reflector *r)
{
    int lo = r->opt.watch_timeout_min_s, hi = r->opt.watch_timeout_max_s;
    if (lo < 1)
        lo = 1;
    if (hi < lo)
        hi = lo;
    int t = lo + (int)(inf_rand_next(&r->rng) % (uint64_t)(hi - lo + 1));
    uint64_t tick = r->sink.next_tick_ns ? r->sink.next_tick_ns(r->sink.ctx) : 0;
    if (tick) {
        uint64_t s = (tick + CLK_NS_PER_S - 1) / CLK_NS_PER_S;
        if (s < (uint64_t)t)
            t = s < 1 ? 1 : (int)s;
    }
    return t;
}

static wend classify(inf_reflector *r, int rc, const api_error *err, const wsession *ws,
                     uint64_t started)
{
    if (inf_reflector_stopping(r))
        return W_STOP;
    if (ws->error_code)
        return ws->error_code == 410 ? W_EXPIRED : ws->error_code == 429 ? W_RETRY : W_ERROR;
    /* A malformed or oversized event (the client's max_watch_event_bytes) would come back on a
     * plain re-watch from the same version: relist, with backoff. */
    if (ws->bad_event || rc == -EPROTO || rc == -EMSGSIZE)
        return W_ERROR;
    if (rc == -ETIMEDOUT)
        return W_STALL;
    if (rc < 0) {
        if (err->code == 410)
            return W_EXPIRED;
        if (err->code == 0)
            return ws->events ? W_CLOSED : W_RETRY; /* a drop mid-stream is like a close */
        if (err->code == 429 || err->code >= 500)
            return W_RETRY;
        return W_REJECTED;
    }
    uint64_t short_ns = (uint64_t)r->opt.short_watch_ms * CLK_NS_PER_MS;
    if (ws->events == 0 && now_ns(r) - started < short_ns)
        return W_SHORT;
    return W_CLOSED;
}

/* Runs one watch stream on path and classifies its end. *graceful: it ended by rc == 0. */
static wend run_watch(inf_reflector *r, const char *path, int timeout_s, wsession *ws,
                      bool *graceful)
{
    api_error err = API_ERROR_INIT;
    count(&r->c.watches, 1);
    uint64_t started = now_ns(r);
    int idle_ms = timeout_s * 1000 + r->opt.idle_grace_ms;
    int rc = r->tr.watch(r->tr.ctx, path, idle_ms, on_event, ws, &r->stop, &err);
    wend end = classify(r, rc, &err, ws, started);
    *graceful = rc == 0 && !ws->error_code && !ws->bad_event;
    if (end == W_RETRY || end == W_REJECTED || end == W_ERROR || end == W_EXPIRED)
        log_kv(LOG_INFO, "informer: watch ended", "informer", r->name, "reason",
               err.reason ? err.reason : "", "message", err.message ? err.message : "", NULL);
    apierr_clear(&err);
    return end;
}

static char *watch_path(inf_reflector *r, int timeout_s)
{
    sbuf q = SBUF_INIT;
    sbuf_puts(&q, "watch=true&resourceVersion=");
    inf_put_escaped(&q, r->rv);
    sbuf_printf(&q, "&allowWatchBookmarks=true&timeoutSeconds=%d", timeout_s);
    char *p = inf_build_path(r->path, q.data, r->label, r->field);
    sbuf_free(&q);
    return p;
}

/* What to do after a stream ended: true = watch again, false = leave for a relist or stop. */
static bool after_watch(inf_reflector *r, wend end)
{
    switch (end) {
    case W_STOP:
        return false;
    case W_CLOSED:
        return true;
    case W_STALL:
        count(&r->c.stall_reconnects, 1);
        log_kv(LOG_INFO, "informer: watch idle past its deadline, reconnecting", "informer",
               r->name, NULL);
        return true;
    case W_RETRY:
        count(&r->c.errors, 1);
        return backoff_wait(r);
    case W_EXPIRED:
        count(&r->c.expired, 1);
        return false;
    case W_SHORT:
        count(&r->c.short_watches, 1);
        count(&r->c.errors, 1);
        log_kv(LOG_WARN, "informer: very short watch, backing off", "informer", r->name, NULL);
        return false;
    case W_REJECTED:
    case W_ERROR:
        count(&r->c.errors, 1);
        return false;
    }
    return false;
}

/* Watches from r->rv until a relist is needed or stop. */
static void watch_loop(inf_reflector *r)
{
    bool again = true;
    while (again && !inf_reflector_stopping(r)) {
        progress(r);
        int timeout_s = watch_timeout_s(r);
        char *path = watch_path(r, timeout_s);
        wsession ws = {.r = r};
        bool graceful;
        wend end = run_watch(r, path, timeout_s, &ws, &graceful);
        free(path);
        again = after_watch(r, end);
    }
}

/* ---- watch-list ------------------------------------------------------------------------ */

typedef enum wl_result {
    WL_STOP,
    WL_SYNCED,   /* the snapshot was delivered; *end tells how the stream went on */
    WL_FALLBACK, /* LIST this round */
} wl_result;

static char *watch_list_path(inf_reflector *r, const char *rv, int timeout_s)
{
    sbuf q = SBUF_INIT;
    sbuf_puts(&q, "watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan"
                  "&allowWatchBookmarks=true&resourceVersion=");
    inf_put_escaped(&q, rv);
    sbuf_printf(&q, "&timeoutSeconds=%d", timeout_s);
    char *p = inf_build_path(r->path, q.data, r->label, r->field);
    sbuf_free(&q);
    return p;
}

static void disable_watch_list(inf_reflector *r, const char *why)
{
    r->watch_list_ok = false;
    log_kv(LOG_INFO, "informer: watch-list not supported, using LIST + WATCH", "informer", r->name,
           "why", why, NULL);
}

static wl_result watch_list(inf_reflector *r, wend *end)
{
    for (int attempt = 0; attempt < 2; attempt++) {
        bool from_latest = r->rv_unavailable || !r->rv;
        int timeout_s = watch_timeout_s(r);
        char *path = watch_list_path(r, from_latest ? "" : r->rv, timeout_s);
        wsession ws = {.r = r, .initial = true};
        bool graceful;
        count(&r->c.watch_lists, 1);
        *end = run_watch(r, path, timeout_s, &ws, &graceful);
        free(path);
        if (!ws.initial)
            return WL_SYNCED;
        inf_objs_free(ws.snap, ws.nsnap);
        if (*end == W_STOP)
            return WL_STOP;
        if (*end == W_EXPIRED && !from_latest) {
            count(&r->c.expired, 1);
            r->rv_unavailable = true; /* client-go's ladder: again at "" at once */
            continue;
        }
        count(&r->c.watch_list_fallbacks, 1);
        if (*end == W_REJECTED)
            disable_watch_list(r, "the server rejected the request");
        else if (graceful)
            disable_watch_list(r, "the stream ended without the initial-events-end bookmark");
        return WL_FALLBACK; /* other failures: LIST this round, watch-list again next round */
    }
    count(&r->c.watch_list_fallbacks, 1);
    return WL_FALLBACK;
}

/* ---- the loop -------------------------------------------------------------------------- */

static void list_and_watch(inf_reflector *r)
{
    if (r->watch_list_ok) {
        wend end;
        wl_result res = watch_list(r, &end);
        if (res == WL_STOP)
            return;
        if (res == WL_SYNCED) {
            if (after_watch(r, end))
                watch_loop(r);
            return;
        }
    }
    if (!inf_reflector_stopping(r) && do_list(r))
        watch_loop(r);
}

void inf_reflector_run(inf_reflector *r)
{
    while (!inf_reflector_stopping(r)) {
        list_and_watch(r);
        if (inf_reflector_stopping(r) || !backoff_wait(r))
            break;
    }
}

/*
 * watch.c - watch streams (docs/api.md §6). A watcher is a position in the watch cache's event
 * ring plus filters; there is no per-watcher queue. When the cache changes every watcher is woken,
 * and each copies the events after its position, so a slow watcher costs nothing until it falls
 * out of the ring's history, when it gets a 410 ERROR event like any too-old resume.
 */
#include "apiserver/rest/watch.h"
#include "apiserver/rest/handlers.h"
#include "apiserver/rest/metrics.h"
#include "apiserver/rest/server.h"
#include "apiserver/resource/list_options.h"
#include "apiserver/transport/negotiate.h"
#include "apiserver/resource/selector.h"
#include "apiserver/resource/table.h"
#include "common/alloc.h"
#include "common/json.h"

#include <stdlib.h>
#include <string.h>

#define BOOKMARK_EVERY_NS     (60ull * CLK_NS_PER_S) /* kube's cacher: at most one a minute */
#define DEFAULT_TIMEOUT_MIN_S 1800                   /* kube's --min-request-timeout, x [1, 2) */
#define EVENT_BATCH           64

typedef enum watch_state {
    WS_INITIAL, /* sending synthetic ADDED events of the snapshot */
    WS_LIVE,    /* sending events after pos */
    WS_ERROR,   /* send `error_event`, then end */
    WS_DONE,
} watch_state;

struct as_watch {
    as_server *srv;
    const as_resource *res;
    char *prefix; /* storage key prefix of the watched collection */
    size_t prefix_len;
    as_selector sel; /* fieldSelector and labelSelector */
    watch_state state;
    uint64_t pos;      /* events with revision > pos are still to send */
    wc_blob **initial; /* snapshot for synthetic ADDED events */
    size_t ninitial, next_initial;
    bool bookmarks;       /* allowWatchBookmarks */
    bool end_bookmark;    /* sendInitialEvents: announce the end of the snapshot */
    uint64_t deadline_ns; /* timeoutSeconds */
    uint64_t next_bookmark_ns;
    char *error_event;   /* for WS_ERROR */
    as_negotiated media; /* JSON, Table or PartialObjectMetadata event objects */
    as_include_object include;
    bool table_headers_sent;  /* Table events carry column definitions only once */
    as_metrics_kind *counted; /* registered in the kind's watcher metrics; NULL before */
};

static uint64_t now_ns(as_watch *w)
{
    return clk_mono_ns(w->srv->clock);
}

static void set_error(as_watch *w, int code, const char *reason, const char *message)
{
    api_error e = API_ERROR_INIT;
    apierr_set(&e, code, reason, "%s", message);
    char *status = apierr_to_status_json(&e);
    apierr_clear(&e);
    free(w->error_event);
    w->error_event = xasprintf("{\"type\":\"ERROR\",\"object\":%s}\n", status);
    free(status);
    w->state = WS_ERROR;
}

static void set_expired(as_watch *w, uint64_t rv)
{
    char msg[128];
    snprintf(msg, sizeof msg, "too old resource version: %llu (%llu)", (unsigned long long)rv,
             (unsigned long long)wc_oldest_rev(as_cache_of(w->srv, w->res)));
    set_error(w, 410, "Expired", msg);
}

/* timeoutSeconds, or kube's default: a random time in [1800 s, 3600 s). */
static uint64_t timeout_ns(as_watch *w, int64_t seconds)
{
    if (seconds <= 0) {
        unsigned seed = (unsigned)now_ns(w);
        seconds = DEFAULT_TIMEOUT_MIN_S + rand_r(&seed) % DEFAULT_TIMEOUT_MIN_S;
    }
    return (uint64_t)seconds * CLK_NS_PER_S;
}

/* Where the stream starts: a snapshot, the live events after a revision, or an ERROR event. */
static void position(as_watch *w, const as_list_options *o)
{
    wc_cache *cache = as_cache_of(w->srv, w->res);
    const char *rv = o->resource_version;
    if (o->send_initial_events || !rv || strcmp(rv, "0") == 0) {
        size_t remaining;
        w->ninitial = wc_list(cache, w->prefix, NULL, 0, &w->initial, &w->pos, &remaining);
        w->state = WS_INITIAL;
        w->end_bookmark = o->send_initial_events;
    } else if (o->rv > wc_rev(cache)) {
        char msg[128];
        snprintf(msg, sizeof msg, "Too large resource version: %llu, current: %llu",
                 (unsigned long long)o->rv, (unsigned long long)wc_rev(cache));
        set_error(w, 504, "Timeout", msg);
    } else if (o->rv < wc_oldest_rev(cache)) {
        set_expired(w, o->rv);
    } else {
        w->pos = o->rv;
        w->state = WS_LIVE;
    }
}

static const as_stream_ops watch_stream_ops;

void as_watch_begin(as_req *req, const as_resource *r, const char *ns, as_negotiated media,
                    as_include_object include)
{
    as_list_options o;
    api_error e = API_ERROR_INIT;
    as_watch *w = xcalloc(1, sizeof *w);
    if (!as_list_options_parse(as_req_query(req), AS_VERB_WATCH, &o, &e) ||
        !as_selector_parse(o.field_selector, o.label_selector, &w->sel, &e)) {
        as_respond_error(req, &e);
        apierr_clear(&e);
        as_watch_free(w);
        return;
    }
    w->media = media;
    w->include = include;
    w->srv = as_server_of(req);
    w->res = r;
    sbuf prefix = SBUF_INIT;
    as_resource_prefix(r, ns, &prefix);
    w->prefix_len = prefix.len;
    w->prefix = sbuf_detach(&prefix, NULL);
    w->bookmarks = o.allow_bookmarks;
    w->deadline_ns = now_ns(w) + timeout_ns(w, o.timeout_seconds);
    w->next_bookmark_ns = now_ns(w) + BOOKMARK_EVERY_NS;
    position(w, &o);
    w->counted = as_metrics_kind_of(w->srv->metrics, r);
    as_metrics_watchers_add(w->counted, 1);
    as_req_stream(req, &watch_stream_ops, w);
}

static bool wanted(as_watch *w, wc_blob *b)
{
    if (!b || strncmp(b->key, w->prefix, w->prefix_len) != 0)
        return false;
    char ns[AS_MAX_NAMESPACE + 1];
    const char *name;
    return as_key_split(b->key, ns, sizeof ns, &name) && as_selector_matches(&w->sel, ns, name, b);
}

static void append_event(as_watch *w, sbuf *out, const char *type, const wc_blob *b)
{
    as_metrics_watch_events(w->counted, 1);
    sbuf_printf(out, "{\"type\":\"%s\",\"object\":", type);
    if (w->media.media == AS_MEDIA_TABLE) {
        as_list_meta meta = {.rev = b->rev};
        const wc_blob *items[1] = {b};
        int64_t now_s = clk_wall_ms(w->srv->clock) / 1000;
        as_table_render(out, w->res, w->media.meta_version, items, 1, &meta, w->include,
                        !w->table_headers_sent, now_s);
        w->table_headers_sent = true;
    } else if (w->media.media == AS_MEDIA_PARTIAL) {
        as_partial_render(out, w->media.meta_version, b->data, b->len);
    } else {
        sbuf_append(out, b->data, b->len);
    }
    sbuf_puts(out, "}\n");
}

static void append_bookmark(as_watch *w, sbuf *out, bool initial_end)
{
    as_metrics_watch_events(w->counted, 1);
    sbuf_puts(out, "{\"type\":\"BOOKMARK\",\"object\":{\"apiVersion\":\"");
    if (w->media.media == AS_MEDIA_PARTIAL)
        sbuf_printf(out, "meta.k8s.io/%s\",\"kind\":\"PartialObjectMetadata",
                    w->media.meta_version);
    else
        as_resource_group_version(w->res, out), sbuf_printf(out, "\",\"kind\":\"%s", w->res->kind);
    sbuf_printf(out, "\",\"metadata\":{\"resourceVersion\":\"%llu\"", (unsigned long long)w->pos);
    if (initial_end)
        sbuf_puts(out, ",\"annotations\":{\"k8s.io/initial-events-end\":\"true\"}");
    sbuf_puts(out, "}}}\n");
}

static void fill_initial(as_watch *w, sbuf *out, size_t max_bytes)
{
    while (w->next_initial < w->ninitial && out->len < max_bytes) {
        wc_blob *b = w->initial[w->next_initial++];
        if (wanted(w, b))
            append_event(w, out, "ADDED", b);
    }
    if (w->next_initial < w->ninitial)
        return;
    wc_snapshot_free(w->initial, w->ninitial);
    w->initial = NULL;
    w->ninitial = w->next_initial = 0;
    if (w->end_bookmark)
        append_bookmark(w, out, true);
    w->state = WS_LIVE;
}

static const char *type_name(st_event_type t)
{
    return t == ST_ADDED ? "ADDED" : t == ST_MODIFIED ? "MODIFIED" : "DELETED";
}

/*
 * kube's cacher semantics for selectors: an object that starts matching on an update is ADDED,
 * one that stops matching is DELETED (with its new state), others are filtered out.
 */
static void append_selected(as_watch *w, sbuf *out, const wc_event *ev)
{
    bool now = wanted(w, ev->obj);
    if (ev->type != ST_MODIFIED) {
        if (now)
            append_event(w, out, type_name(ev->type), ev->obj);
        return;
    }
    bool before = wanted(w, ev->prev);
    if (now)
        append_event(w, out, before ? "MODIFIED" : "ADDED", ev->obj);
    else if (before)
        append_event(w, out, "DELETED", ev->obj);
}

static void fill_live(as_watch *w, sbuf *out, size_t max_bytes)
{
    wc_event evs[EVENT_BATCH];
    while (out->len < max_bytes) {
        int n = wc_events_since(as_cache_of(w->srv, w->res), w->pos, evs, EVENT_BATCH);
        if (n < 0) {
            set_expired(w, w->pos);
            return;
        }
        for (int i = 0; i < n; i++) {
            w->pos = evs[i].rev;
            append_selected(w, out, &evs[i]);
            wc_event_release(&evs[i]);
        }
        if (n < EVENT_BATCH)
            return;
    }
}

void as_watch_fill(as_watch *w, sbuf *out, size_t max_bytes, bool *done, bool *more)
{
    *done = false;
    uint64_t now = now_ns(w);
    if (w->state != WS_DONE && w->state != WS_ERROR && now >= w->deadline_ns)
        w->state = WS_DONE;
    if (w->state == WS_INITIAL)
        fill_initial(w, out, max_bytes);
    if (w->state == WS_LIVE)
        fill_live(w, out, max_bytes);
    if (w->state == WS_LIVE && w->bookmarks && now >= w->next_bookmark_ns) {
        append_bookmark(w, out, false);
        w->next_bookmark_ns = now + BOOKMARK_EVERY_NS;
    }
    if (w->state == WS_ERROR) {
        as_metrics_watch_events(w->counted, 1);
        sbuf_puts(out, w->error_event);
        w->state = WS_DONE;
    }
    *done = w->state == WS_DONE;
    /* Filling stops at max_bytes: only then can events be left behind. */
    *more = !*done && out->len >= max_bytes;
}

int64_t as_watch_next_timer_us(as_watch *w)
{
    uint64_t now = now_ns(w);
    uint64_t at = w->deadline_ns;
    if (w->bookmarks && w->next_bookmark_ns < at)
        at = w->next_bookmark_ns;
    return at <= now ? 1 : (int64_t)((at - now) / 1000);
}

void as_watch_finish(as_watch *w)
{
    if (w->state != WS_ERROR)
        w->state = WS_DONE;
}

void as_watch_free(as_watch *w)
{
    if (!w)
        return;
    as_metrics_watchers_add(w->counted, -1);
    wc_snapshot_free(w->initial, w->ninitial);
    free(w->prefix);
    as_selector_free(&w->sel);
    free(w->error_event);
    free(w);
}

/* The transport's view of a watch (http.h as_stream_ops). */
static void stream_fill(void *w, sbuf *out, size_t max_bytes, bool *done, bool *more)
{
    as_watch_fill(w, out, max_bytes, done, more);
}

static int64_t stream_next_timer_us(void *w)
{
    return as_watch_next_timer_us(w);
}

static void stream_finish(void *w)
{
    as_watch_finish(w);
}

static void stream_free(void *w)
{
    as_watch_free(w);
}

static const as_stream_ops watch_stream_ops = {
    .fill = stream_fill,
    .next_timer_us = stream_next_timer_us,
    .finish = stream_finish,
    .free = stream_free,
};

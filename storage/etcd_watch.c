/*
 * etcd_watch.c - the etcd store's watch thread: the only source of the sink's events.
 *
 * One /v3/watch stream of prefix + "/", from the revision after the last one delivered, with
 * prev_kv (a DELETED event reports the last stored state) and progress_notify (bookmarks). After
 * each answer the writes waiting for the delivered revision are completed (ex_delivered). When
 * the stream breaks, the next endpoint is tried after a backoff (100 ms doubling to 5 s, reset
 * by a stream that delivered something), from the same next revision: no gap, no duplicate.
 * When etcd compacted that revision, a fresh snapshot replaces what the observer was told.
 */
#include "storage/etcd_store.h"

#include "storage/etcd_json.h"

#include "common/alloc.h"
#include "common/log.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EW_BACKOFF_MIN_MS 100
#define EW_BACKOFF_MAX_MS 5000
/* Backoff sleeps are cut into slices this long, to expire overdue writes in between. */
#define EW_SLICE_MS 200

typedef struct ew_state {
    ex_store *s;
    uint64_t next;        /* the first revision not delivered yet */
    bool progressed;      /* this stream delivered something */
    uint64_t compact_rev; /* set when etcd said next was compacted */
} ew_state;

static const char *ew_rev_str(uint64_t rev, char buf[24])
{
    snprintf(buf, 24, "%" PRIu64, rev);
    return buf;
}

void ex_deliver_event(ex_store *s, const ej_event *ev, st_sink_fn fn, void *ctx)
{
    uint64_t rev = ev->kv.mod_rev;
    char rb[24];
    if (!ex_own_key(s, ev->kv.key)) {
        log_kv(LOG_ERROR, "etcd watch sent a key outside the prefix; skipped", "key", ev->kv.key,
               NULL);
        return;
    }
    const ej_kv *src = ev->is_delete ? &ev->prev : &ev->kv;
    size_t len = 0;
    char *value = src->key ? ej_stamp_rv(src->value, src->value_len, rev, &len) : NULL;
    if (!value) {
        /* A delete without prev_kv, or a value that is not JSON: the event still counts. */
        log_kv(LOG_ERROR, "etcd event without a usable JSON value", "key", ev->kv.key, "revision",
               ew_rev_str(rev, rb), NULL);
        value = ej_stamp_rv("{}", 2, rev, &len);
    }
    st_event_type type = ev->is_delete                         ? ST_DELETED
                         : ev->kv.create_rev == ev->kv.mod_rev ? ST_ADDED
                                                               : ST_MODIFIED;
    if (fn)
        fn(ctx, type, ev->kv.key + s->prefix_len, value, len, rev);
    free(value);
}

/* Delivers the events not delivered yet, then completes the writes they settle. */
static void ew_events(ew_state *st, const ej_watch *w)
{
    uint64_t last = 0;
    for (size_t i = 0; i < w->n; i++) {
        uint64_t rev = w->events[i].kv.mod_rev;
        if (rev < st->next)
            continue; /* already delivered (a resent answer) */
        ex_deliver_event(st->s, &w->events[i], st->s->sink, st->s->sink_ctx);
        last = rev;
    }
    if (last) {
        st->next = last + 1;
        st->progressed = true;
        ex_delivered(st->s, last);
    }
}

static void ew_progress(ew_state *st, uint64_t rev)
{
    if (rev + 1 <= st->next)
        return; /* nothing new: an older mark */
    st->next = rev + 1;
    ex_delivered(st->s, rev); /* st_current_rev is rev by the time the observer hears of it */
    if (st->s->obs.progress)
        st->s->obs.progress(st->s->obs.ctx, rev);
}

static bool ew_on_line(void *ctx, const char *line, size_t len)
{
    ew_state *st = ctx;
    ej_watch w;
    char rb[24];
    if (ej_parse_watch(line, len, &w) != 0) {
        log_kv(LOG_ERROR, "cannot decode an etcd watch answer; reconnecting", NULL);
        return false;
    }
    bool go_on = true;
    switch (w.kind) {
    case EJ_WATCH_CREATED:
        break;
    case EJ_WATCH_EVENTS:
        ew_events(st, &w);
        break;
    case EJ_WATCH_PROGRESS:
        ew_progress(st, w.rev);
        break;
    case EJ_WATCH_COMPACTED:
        st->compact_rev = w.compact_rev;
        log_kv(LOG_WARN, "etcd compacted the revision the watch needs; reading a snapshot", "from",
               ew_rev_str(st->next, rb), NULL);
        go_on = false;
        break;
    case EJ_WATCH_CANCELED:
        log_kv(LOG_WARN, "etcd canceled the watch", "reason", w.reason ? w.reason : "", NULL);
        go_on = false;
        break;
    }
    ej_watch_free(&w);
    return go_on;
}

static bool ew_on_tick(void *ctx)
{
    ew_state *st = ctx;
    ex_expire(st->s);
    return !ex_stopping(st->s);
}

typedef struct ew_snap_kv {
    char *key, *value;
    size_t len;
    uint64_t mod_rev;
} ew_snap_kv;

typedef struct ew_snap {
    ew_snap_kv *kvs;
    size_t n, cap;
} ew_snap;

static void ew_snap_add(void *ctx, const char *key, const char *value, size_t len, uint64_t mod_rev)
{
    ew_snap *sn = ctx;
    if (sn->n == sn->cap) {
        sn->cap = sn->cap ? 2 * sn->cap : 64;
        sn->kvs = xrealloc(sn->kvs, sn->cap * sizeof(*sn->kvs));
    }
    sn->kvs[sn->n++] = (ew_snap_kv){xstrdup(key), xstrndup(value, len), len, mod_rev};
}

static void ew_snap_free(ew_snap *sn)
{
    for (size_t i = 0; i < sn->n; i++) {
        free(sn->kvs[i].key);
        free(sn->kvs[i].value);
    }
    free(sn->kvs);
}

/*
 * Reads the whole prefix at etcd's current revision R and replaces what the observer knows with
 * it; events continue from R + 1. Returns false when the snapshot could not be read.
 */
static bool ew_replace(ew_state *st, eh_conn *c)
{
    ex_store *s = st->s;
    ew_snap sn = {0};
    uint64_t at = 0;
    if (ex_range_all(s, c, "", 0, ew_snap_add, &sn, &at) != 0) {
        ew_snap_free(&sn);
        return false;
    }
    const st_observer *o = &s->obs;
    if (o->replace_begin)
        o->replace_begin(o->ctx, at);
    for (size_t i = 0; i < sn.n && o->replace_kv; i++)
        o->replace_kv(o->ctx, sn.kvs[i].key, sn.kvs[i].value, sn.kvs[i].len, sn.kvs[i].mod_rev);
    if (o->replace_end)
        o->replace_end(o->ctx, at);
    if (!o->replace_begin) {
        char rb[24];
        log_kv(LOG_ERROR,
               "etcd events were compacted and nobody observes a replace; the sink "
               "missed events",
               "until", ew_rev_str(at, rb), NULL);
    }
    ew_snap_free(&sn);
    st->next = at + 1;
    st->compact_rev = 0;
    ex_delivered(s, at);
    return true;
}

/* Sleeps ms in slices, expiring overdue writes in between. False when stopping. */
static bool ew_backoff(ex_store *s, uint64_t ms)
{
    for (uint64_t slept = 0; slept < ms; slept += EW_SLICE_MS) {
        ex_expire(s);
        if (!ex_sleep(s, ms - slept < EW_SLICE_MS ? ms - slept : EW_SLICE_MS))
            return false;
    }
    return true;
}

void *ex_watch_main(void *arg)
{
    ex_store *s = arg;
    pthread_mutex_lock(&s->mu);
    ew_state st = {.s = s, .next = s->start_rev + 1};
    pthread_mutex_unlock(&s->mu);
    eh_conn *ranges = eh_new(&s->target);
    char *range = xasprintf("%s/", s->prefix); /* the store's keys (ex_own_key) */
    uint64_t backoff = EW_BACKOFF_MIN_MS;
    while (!ex_stopping(s)) {
        st.progressed = false;
        char *body = ej_watch_request(range, st.next);
        (void)eh_stream(s->watch_conn, "/v3/watch", body, ew_on_line, ew_on_tick, &st);
        free(body);
        if (ex_stopping(s))
            break;
        bool ok = st.compact_rev ? ew_replace(&st, ranges) : st.progressed;
        if (ok)
            backoff = EW_BACKOFF_MIN_MS;
        if (st.compact_rev == 0 && !ok)
            eh_rotate(s->watch_conn);
        if (!ew_backoff(s, backoff))
            break;
        if (!ok)
            backoff = backoff * 2 > EW_BACKOFF_MAX_MS ? EW_BACKOFF_MAX_MS : backoff * 2;
    }
    eh_free(ranges);
    free(range);
    return NULL;
}

/*
 * etcd_history.c - st_history on etcd: the events etcd still retains, replayed from a bounded
 * watch.
 *
 * st_history(after_rev) pins the revision R the next st_load reads at (etcd's current one) and
 * replays the prefix's events with after_rev < revision <= R. etcd keeps every revision until it
 * is compacted, so a one-off watch from after_rev + 1 streams them; it ends once the event of the
 * prefix's last write as of R has arrived: the marker's mod_revision read with R (etcd_store.h),
 * since a watch of past revisions has no end of its own. When etcd compacted after_rev + 1
 * already, nothing is replayed and the oldest revision is R, as if nothing were retained.
 */
#include "storage/etcd_store.h"

#include "storage/etcd_json.h"

#include "common/alloc.h"
#include "common/log.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

/* A replay that receives nothing for this long is given up (etcd answers history at once). */
#define EY_IDLE_TIMEOUT_MS 5000

typedef struct ey_replay {
    ex_store *s;
    st_sink_fn fn;
    void *ctx;
    uint64_t last;      /* the revision of the prefix's last write: replay ends with it */
    uint64_t idle_from; /* store clock: when the last line arrived */
    bool compacted;
    bool failed;
} ey_replay;

static bool ey_on_line(void *arg, const char *line, size_t len)
{
    ey_replay *r = arg;
    ej_watch w;
    r->idle_from = clk_mono_ns(r->s->clock);
    if (ej_parse_watch(line, len, &w) != 0) {
        log_kv(LOG_ERROR, "cannot decode an etcd watch answer while replaying history", NULL);
        r->failed = true;
        return false;
    }
    bool go_on = true;
    if (w.kind == EJ_WATCH_COMPACTED) {
        r->compacted = true;
        go_on = false;
    } else if (w.kind == EJ_WATCH_CANCELED) {
        log_kv(LOG_WARN, "etcd canceled the history watch", "reason", w.reason ? w.reason : "",
               NULL);
        r->failed = true;
        go_on = false;
    }
    /* One answer holds every event of a revision: the last one's siblings come with it. */
    for (size_t i = 0; go_on && i < w.n; i++)
        if (w.events[i].kv.mod_rev <= r->last)
            ex_deliver_event(r->s, &w.events[i], r->fn, r->ctx);
    if (w.n > 0 && w.events[w.n - 1].kv.mod_rev >= r->last)
        go_on = false;
    ej_watch_free(&w);
    return go_on;
}

static bool ey_on_tick(void *arg)
{
    ey_replay *r = arg;
    if (clk_mono_ns(r->s->clock) - r->idle_from < (uint64_t)EY_IDLE_TIMEOUT_MS * CLK_NS_PER_MS)
        return true;
    log_kv(LOG_ERROR, "etcd sent no history for too long; giving up", NULL);
    r->failed = true;
    return false;
}

/* Replays the prefix's events in [from, last]. Returns 0, -ERANGE (compacted) or ST_EIO. */
static int ey_replay_range(ex_store *s, uint64_t from, uint64_t last, st_sink_fn fn, void *ctx)
{
    ey_replay r = {.s = s, .fn = fn, .ctx = ctx, .last = last};
    r.idle_from = clk_mono_ns(s->clock);
    char *range = xasprintf("%s/", s->prefix);
    char *body = ej_watch_request(range, from);
    eh_conn *c = eh_new(&s->target);
    int rc = eh_stream(c, "/v3/watch", body, ey_on_line, ey_on_tick, &r);
    eh_free(c);
    free(body);
    free(range);
    if (r.compacted)
        return -ERANGE;
    /* A callback stopped the stream (rc 0): at the end, or on a failure it noted. */
    return rc == 0 && !r.failed ? 0 : ST_EIO;
}

int ex_history(st_store *base, uint64_t after_rev, st_sink_fn fn, void *ctx, uint64_t *oldest)
{
    ex_store *s = ex_of(base);
    eh_conn *c = ex_conn_get(s);
    const char *why = NULL;
    uint64_t rev = 0, last = 0;
    int rc = ex_current(s, c, 0, &rev, &last, &why);
    ex_conn_put(s, c);
    if (rc != 0)
        return ST_EIO;
    s->pinned_rev = rev;
    uint64_t first = after_rev + 1;
    rc = last >= first ? ey_replay_range(s, first, last, fn, ctx) : 0;
    if (rc == -ERANGE) {
        char rb[24];
        snprintf(rb, sizeof(rb), "%" PRIu64, first);
        log_kv(LOG_INFO, "etcd compacted the history asked for; replaying none", "from", rb, NULL);
    } else if (rc != 0) {
        return ST_EIO;
    }
    if (oldest)
        *oldest = rc == -ERANGE ? rev : after_rev;
    return ST_OK;
}

/*
 * store.c - the st_* entry points of storage.h, forwarded to the backend's vtable (backend.h).
 */
#include "storage/backend.h"

int st_load(st_store *s, const char *prefix, st_kv_fn fn, void *ctx, uint64_t *rev)
{
    return s->ops->load(s, prefix ? prefix : "", fn, ctx, rev);
}

int st_history(st_store *s, uint64_t after_rev, st_sink_fn fn, void *ctx, uint64_t *oldest)
{
    return s->ops->history(s, after_rev, fn, ctx, oldest);
}

void st_set_sink(st_store *s, st_sink_fn fn, void *ctx)
{
    s->ops->set_sink(s, fn, ctx);
}

void st_set_observer(st_store *s, const st_observer *obs)
{
    if (s->ops->set_observer)
        s->ops->set_observer(s, obs);
}

int st_sync_rev(st_store *s, int timeout_ms, uint64_t *rev, api_error *err)
{
    return s->ops->sync_rev(s, timeout_ms, rev, err);
}

int st_health(st_store *s, const char **why)
{
    if (why)
        *why = NULL;
    return s->ops->health ? s->ops->health(s, why) : 0;
}

int st_start(st_store *s)
{
    return s->ops->start(s);
}

void st_submit(st_store *s, st_write *w)
{
    s->ops->submit(s, w);
}

uint64_t st_current_rev(st_store *s)
{
    return s->ops->current_rev(s);
}

void st_stats(st_store *s, uint64_t *commits, uint64_t *writes)
{
    uint64_t c = 0, w = 0;
    s->ops->stats(s, &c, &w);
    if (commits)
        *commits = c;
    if (writes)
        *writes = w;
}

void st_close(st_store *s)
{
    if (s)
        s->ops->close(s);
}

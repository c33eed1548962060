#include "apiserver/resource/kindcaches.h"
#include "common/alloc.h"
#include "common/sbuf.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct as_caches {
    const as_resource *const *kinds; /* the registry's entries (borrowed) */
    char **prefixes;                 /* each kind's key prefix, "/apps/deployments/" */
    size_t *prefix_lens;
    wc_cache **caches;
    int n;
};

as_caches *as_caches_new(const as_registry *reg, const wc_options *opt)
{
    as_caches *cs = xcalloc(1, sizeof *cs);
    cs->kinds = as_registry_all(reg, &cs->n);
    cs->prefixes = xcalloc((size_t)cs->n, sizeof *cs->prefixes);
    cs->prefix_lens = xcalloc((size_t)cs->n, sizeof *cs->prefix_lens);
    cs->caches = xcalloc((size_t)cs->n, sizeof *cs->caches);
    for (int i = 0; i < cs->n; i++) {
        sbuf p = SBUF_INIT;
        as_resource_prefix(cs->kinds[i], NULL, &p);
        cs->prefix_lens[i] = p.len;
        cs->prefixes[i] = sbuf_detach(&p, NULL);
        cs->caches[i] = wc_new(opt);
    }
    return cs;
}

void as_caches_free(as_caches *cs)
{
    if (!cs)
        return;
    for (int i = 0; i < cs->n; i++) {
        wc_free(cs->caches[i]);
        free(cs->prefixes[i]);
    }
    free(cs->caches);
    free(cs->prefixes);
    free(cs->prefix_lens);
    free(cs);
}

wc_cache *as_caches_of(const as_caches *cs, const as_resource *r)
{
    for (int i = 0; i < cs->n; i++)
        if (cs->kinds[i] == r)
            return cs->caches[i];
    return NULL;
}

/* The index of the kind whose prefix key has, or -1. */
static int kind_of_key(const as_caches *cs, const char *key)
{
    for (int i = 0; i < cs->n; i++)
        if (strncmp(key, cs->prefixes[i], cs->prefix_lens[i]) == 0)
            return i;
    return -1;
}

void as_caches_apply(void *ctx, st_event_type type, const char *key, const char *json, size_t len,
                     uint64_t rev)
{
    as_caches *cs = ctx;
    int k = kind_of_key(cs, key);
    /* The others first: when the kind's watchers are woken, every cache is at rev already. */
    for (int i = 0; i < cs->n; i++)
        if (i != k)
            wc_advance(cs->caches[i], rev);
    if (k >= 0)
        wc_apply(cs->caches[k], type, key, json, len, rev);
}

void as_caches_replay(void *ctx, st_event_type type, const char *key, const char *json, size_t len,
                      uint64_t rev)
{
    as_caches *cs = ctx;
    int k = kind_of_key(cs, key);
    if (k >= 0)
        wc_apply(cs->caches[k], type, key, json, len, rev);
}

void as_caches_load(as_caches *cs, const char *key, const char *json, size_t len, uint64_t rev)
{
    int k = kind_of_key(cs, key);
    if (k >= 0)
        wc_load(cs->caches[k], key, json, len, rev);
}

void as_caches_set_rev(as_caches *cs, uint64_t rev)
{
    for (int i = 0; i < cs->n; i++)
        wc_set_rev(cs->caches[i], rev);
}

void as_caches_set_oldest(as_caches *cs, uint64_t oldest)
{
    for (int i = 0; i < cs->n; i++)
        wc_set_oldest(cs->caches[i], oldest);
}

static void observe_progress(void *ctx, uint64_t rev)
{
    as_caches *cs = ctx;
    for (int i = 0; i < cs->n; i++)
        wc_advance(cs->caches[i], rev);
}

static void observe_replace_begin(void *ctx, uint64_t rev)
{
    (void)rev; /* the snapshot's revision matters at the end, when it is swapped in */
    as_caches *cs = ctx;
    for (int i = 0; i < cs->n; i++)
        wc_replace_begin(cs->caches[i]);
}

static void observe_replace_kv(void *ctx, const char *key, const char *json, size_t len,
                               uint64_t mod_rev)
{
    as_caches *cs = ctx;
    int k = kind_of_key(cs, key);
    if (k >= 0)
        wc_replace_load(cs->caches[k], key, json, len, mod_rev);
}

static void observe_replace_end(void *ctx, uint64_t rev)
{
    as_caches *cs = ctx;
    for (int i = 0; i < cs->n; i++)
        wc_replace_end(cs->caches[i], rev);
}

st_observer as_caches_observer(as_caches *cs)
{
    return (st_observer){
        .progress = observe_progress,
        .replace_begin = observe_replace_begin,
        .replace_kv = observe_replace_kv,
        .replace_end = observe_replace_end,
        .ctx = cs,
    };
}

void as_caches_set_notify(as_caches *cs, void (*fn)(void *ctx), void *ctx)
{
    for (int i = 0; i < cs->n; i++)
        wc_set_notify(cs->caches[i], fn, ctx);
}

size_t as_caches_count(const as_caches *cs, const as_resource *r, const char *prefix)
{
    wc_cache *c = as_caches_of(cs, r);
    return c ? wc_count(c, prefix) : 0;
}

/*
 * ratelimit.c - the rate limiters: per-item exponential (time-based), token bucket, max-of.
 * Each limiter has its own mutex; none calls back into a queue.
 */
#include "workqueue/wq_internal.h"

uint64_t wq_rl_when_ns(wq_ratelimiter *rl, const char *key)
{
    return rl->ops->when_ns(rl, key);
}

void wq_rl_forget(wq_ratelimiter *rl, const char *key)
{
    rl->ops->forget(rl, key);
}

int wq_rl_retries(wq_ratelimiter *rl, const char *key)
{
    return rl->ops->retries(rl, key);
}

void wq_rl_free(wq_ratelimiter *rl)
{
    if (rl)
        rl->ops->free(rl);
}

/* ---- per-item exponential ------------------------------------------------------------------ */

typedef struct per_item_rec {
    char *key; /* owned; hash key */
    UT_hash_handle hh;
    int failures;         /* failures counted so far; the next delay is base << failures */
    uint64_t backoff_end; /* clock reading when the current backoff ends */
} per_item_rec;

typedef struct per_item {
    wq_ratelimiter base;
    clk_t *clk;
    uint64_t base_ns, max_ns;
    pthread_mutex_t mu;
    per_item_rec *recs; /* guarded by mu */
} per_item;

/* base << n, capped at max without overflowing. */
static uint64_t backoff_for(const per_item *p, int n)
{
    if (p->base_ns == 0)
        return 0;
    if (n >= 63 || p->base_ns > (p->max_ns >> n))
        return p->max_ns;
    return p->base_ns << n;
}

static uint64_t per_item_when(wq_ratelimiter *rl, const char *key)
{
    per_item *p = (per_item *)rl;
    uint64_t now = clk_mono_ns(p->clk);
    pthread_mutex_lock(&p->mu);
    per_item_rec *r = NULL;
    HASH_FIND_STR(p->recs, key, r);
    if (!r) {
        r = xcalloc(1, sizeof *r);
        r->key = xstrdup(key);
        HASH_ADD_KEYPTR(hh, p->recs, r->key, strlen(r->key), r);
    } else if (now < r->backoff_end) {
        /* Premature: the previous backoff has not run out, so this is not a new failure. */
        uint64_t left = r->backoff_end - now;
        pthread_mutex_unlock(&p->mu);
        return left;
    }
    uint64_t delay = backoff_for(p, r->failures);
    if (r->failures < 63)
        r->failures++;
    r->backoff_end = delay > UINT64_MAX - now ? UINT64_MAX : now + delay;
    pthread_mutex_unlock(&p->mu);
    return delay;
}

static void per_item_forget(wq_ratelimiter *rl, const char *key)
{
    per_item *p = (per_item *)rl;
    pthread_mutex_lock(&p->mu);
    per_item_rec *r = NULL;
    HASH_FIND_STR(p->recs, key, r);
    if (r) {
        HASH_DEL(p->recs, r);
        free(r->key);
        free(r);
    }
    pthread_mutex_unlock(&p->mu);
}

static int per_item_retries(wq_ratelimiter *rl, const char *key)
{
    per_item *p = (per_item *)rl;
    pthread_mutex_lock(&p->mu);
    per_item_rec *r = NULL;
    HASH_FIND_STR(p->recs, key, r);
    int n = r ? r->failures : 0;
    pthread_mutex_unlock(&p->mu);
    return n;
}

static void per_item_free(wq_ratelimiter *rl)
{
    per_item *p = (per_item *)rl;
    per_item_rec *r, *tmp;
    HASH_ITER(hh, p->recs, r, tmp)
    {
        HASH_DEL(p->recs, r);
        free(r->key);
        free(r);
    }
    pthread_mutex_destroy(&p->mu);
    free(p);
}

static const wq_ratelimiter_ops per_item_ops = {
    per_item_when,
    per_item_forget,
    per_item_retries,
    per_item_free,
};

wq_ratelimiter *wq_rl_per_item_new(clk_t *clk, uint64_t base_ms, uint64_t max_ms)
{
    per_item *p = xcalloc(1, sizeof *p);
    p->base.ops = &per_item_ops;
    p->clk = clk;
    /* Durations beyond 2^64 ns (584 years) saturate. */
    const uint64_t ms_limit = UINT64_MAX / CLK_NS_PER_MS;
    p->base_ns = (base_ms < ms_limit ? base_ms : ms_limit) * CLK_NS_PER_MS;
    p->max_ns = (max_ms < ms_limit ? max_ms : ms_limit) * CLK_NS_PER_MS;
    pthread_mutex_init(&p->mu, NULL); /* default attributes: cannot fail on glibc */
    return &p->base;
}

/* ---- token bucket -------------------------------------------------------------------------- */

/*
 * Kept as one "virtual time" instead of a fractional token count, so the arithmetic is exact in
 * integer nanoseconds: the bucket holds min(burst, (now - vt) / interval) tokens. Taking a token
 * moves vt forward by one interval; a vt ahead of now is a debt the caller waits out.
 */
typedef struct bucket {
    wq_ratelimiter base;
    clk_t *clk;
    int64_t interval_ns; /* 1/qps; 0 = unlimited */
    int64_t full_span;   /* burst * interval: how far vt may lag behind now */
    pthread_mutex_t mu;
    bool started; /* guarded by mu; vt is set on first use (the bucket starts full) */
    int64_t vt;   /* guarded by mu; signed: it starts full_span before the clock's origin */
} bucket;

static uint64_t bucket_when(wq_ratelimiter *rl, const char *key)
{
    bucket *b = (bucket *)rl;
    if (b->interval_ns == 0)
        return 0;
    int64_t now = (int64_t)clk_mono_ns(b->clk);
    pthread_mutex_lock(&b->mu);
    /* Refill, but never beyond burst tokens: vt = max(vt, now - full_span). */
    if (!b->started || b->vt < now - b->full_span) {
        b->vt = now - b->full_span;
        b->started = true;
    }
    b->vt += b->interval_ns;
    uint64_t delay = b->vt > now ? (uint64_t)(b->vt - now) : 0;
    pthread_mutex_unlock(&b->mu);
    return delay;
}

static void bucket_forget(wq_ratelimiter *rl, const char *key) {}

static int bucket_retries(wq_ratelimiter *rl, const char *key)
{
    return 0;
}

static void bucket_free(wq_ratelimiter *rl)
{
    bucket *b = (bucket *)rl;
    pthread_mutex_destroy(&b->mu);
    free(b);
}

static const wq_ratelimiter_ops bucket_ops = {
    bucket_when,
    bucket_forget,
    bucket_retries,
    bucket_free,
};

wq_ratelimiter *wq_rl_bucket_new(clk_t *clk, double qps, int burst)
{
    /* Bounds keep burst * interval at most 1e18 ns, below 2^62: at least one token every
     * 1000 s and a burst of at most a million, far beyond any sensible setting. */
    const double max_interval = 1e12, max_burst = 1e6;
    bucket *b = xcalloc(1, sizeof *b);
    b->base.ops = &bucket_ops;
    b->clk = clk;
    if (qps > 0) {
        double interval = (double)CLK_NS_PER_S / qps + 0.5;
        b->interval_ns = (int64_t)(interval < max_interval ? interval : max_interval);
        if (b->interval_ns < 1)
            b->interval_ns = 1;
    }
    double n = burst < 1 ? 1 : burst > max_burst ? max_burst : burst;
    b->full_span = (int64_t)n * b->interval_ns;
    pthread_mutex_init(&b->mu, NULL); /* default attributes: cannot fail on glibc */
    return &b->base;
}

/* ---- max-of -------------------------------------------------------------------------------- */

typedef struct max_of {
    wq_ratelimiter base;
    size_t n;
    wq_ratelimiter **children; /* owned; immutable after creation, so no lock */
} max_of;

static uint64_t max_of_when(wq_ratelimiter *rl, const char *key)
{
    max_of *m = (max_of *)rl;
    uint64_t longest = 0;
    for (size_t i = 0; i < m->n; i++) {
        uint64_t d = wq_rl_when_ns(m->children[i], key);
        if (d > longest)
            longest = d;
    }
    return longest;
}

static void max_of_forget(wq_ratelimiter *rl, const char *key)
{
    max_of *m = (max_of *)rl;
    for (size_t i = 0; i < m->n; i++)
        wq_rl_forget(m->children[i], key);
}

static int max_of_retries(wq_ratelimiter *rl, const char *key)
{
    max_of *m = (max_of *)rl;
    int most = 0;
    for (size_t i = 0; i < m->n; i++) {
        int r = wq_rl_retries(m->children[i], key);
        if (r > most)
            most = r;
    }
    return most;
}

static void max_of_free(wq_ratelimiter *rl)
{
    max_of *m = (max_of *)rl;
    for (size_t i = 0; i < m->n; i++)
        wq_rl_free(m->children[i]);
    free(m->children);
    free(m);
}

static const wq_ratelimiter_ops max_of_ops = {
    max_of_when,
    max_of_forget,
    max_of_retries,
    max_of_free,
};

wq_ratelimiter *wq_rl_max_of_new(wq_ratelimiter *const *children, size_t n)
{
    max_of *m = xcalloc(1, sizeof *m);
    m->base.ops = &max_of_ops;
    m->n = n;
    m->children = xcalloc(n ? n : 1, sizeof *m->children);
    for (size_t i = 0; i < n; i++)
        m->children[i] = children[i];
    return &m->base;
}

/*
 * event_correlator.c - spam filter, aggregation and deduplication of events (event_correlator.h).
 *
 * Three caches, each keeping the cache_size keys used last (an LRU: a uthash whose insertion
 * order is the recency order; a hit is moved to the end, the oldest entry is evicted from the
 * front). Keys are strings of the event fields that define "the same", each field prefixed by
 * its length so no two field lists can produce one key.
 */
#include "controllers/event_correlator.h"

#include "common/alloc.h"
#include "common/sbuf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>

/* ---- a small LRU map from string to owned value -----------------------------------------------
 */

typedef struct lru_entry {
    char *key;
    void *value;
    UT_hash_handle hh;
} lru_entry;

typedef struct lru {
    lru_entry *map; /* front = least recently used */
    size_t cap;
    void (*free_value)(void *);
} lru;

static void lru_drop(lru *l, lru_entry *e)
{
    HASH_DEL(l->map, e);
    l->free_value(e->value);
    free(e->key);
    free(e);
}

/* The value of key, made the most recently used; NULL when absent. */
static void *lru_get(lru *l, const char *key)
{
    lru_entry *e;
    HASH_FIND_STR(l->map, key, e);
    if (!e)
        return NULL;
    HASH_DEL(l->map, e);
    HASH_ADD_KEYPTR(hh, l->map, e->key, strlen(e->key), e);
    return e->value;
}

/* Adds key (copied) with value (taken); key must be absent. Evicts the oldest when full. */
static void lru_add(lru *l, const char *key, void *value)
{
    if (HASH_COUNT(l->map) >= l->cap)
        lru_drop(l, l->map);
    lru_entry *e = xcalloc(1, sizeof *e);
    e->key = xstrdup(key);
    e->value = value;
    HASH_ADD_KEYPTR(hh, l->map, e->key, strlen(e->key), e);
}

static void lru_clear(lru *l)
{
    lru_entry *e, *tmp;
    HASH_ITER(hh, l->map, e, tmp)
    lru_drop(l, e);
}

/* ---- records ----------------------------------------------------------------------------------
 */

/* Spam filter: a token bucket per source + object, in integer nanoseconds of refill so the
 * arithmetic is exact: one token is refill_ns of credit. */
typedef struct spam_record {
    uint64_t credit_ns;
    uint64_t last_ns;
} spam_record;

/* Aggregation: the distinct messages of similar events seen within the window. */
typedef struct aggregate_record {
    char **messages;
    int n;
    uint64_t last_ns;
} aggregate_record;

/* Deduplication: the Event written for a key. */
typedef struct log_record {
    char *name;
    int count;
    int64_t first_ms;
} log_record;

static void free_aggregate(void *p)
{
    aggregate_record *a = p;
    for (int i = 0; i < a->n; i++)
        free(a->messages[i]);
    free(a->messages);
    free(a);
}

static void free_log(void *p)
{
    log_record *l = p;
    free(l->name);
    free(l);
}

struct evc_correlator {
    lru spam, aggregate, log;
    int burst, max_events;
    uint64_t refill_ns, window_ns;
    uint64_t last_stamp; /* the name suffix issued last, to keep names unique */
};

evc_correlator *evc_new(const ev_options *opt)
{
    evc_correlator *c = xcalloc(1, sizeof *c);
    c->spam = (lru){.cap = opt->cache_size, .free_value = free};
    c->aggregate = (lru){.cap = opt->cache_size, .free_value = free_aggregate};
    c->log = (lru){.cap = opt->cache_size, .free_value = free_log};
    c->burst = opt->spam_burst;
    c->max_events = opt->aggregate_max_events;
    c->refill_ns = opt->spam_refill_ms * CLK_NS_PER_MS;
    c->window_ns = opt->aggregate_window_ms * CLK_NS_PER_MS;
    return c;
}

void evc_free(evc_correlator *c)
{
    if (!c)
        return;
    lru_clear(&c->spam);
    lru_clear(&c->aggregate);
    lru_clear(&c->log);
    free(c);
}

void ev_event_free(ev_event *e)
{
    if (!e)
        return;
    free(e->ns);
    free(e->name);
    free(e->kind);
    free(e->api_version);
    free(e->obj_name);
    free(e->obj_ns);
    free(e->uid);
    free(e->obj_rv);
    free(e->type);
    free(e->reason);
    free(e->message);
    free(e);
}

/* ---- keys --------------------------------------------------------------------------------------
 */

static void key_field(sbuf *k, const char *v)
{
    v = v ? v : "";
    sbuf_printf(k, "%zu:%s", strlen(v), v);
}

/* Source and involved object: the spam filter's key. */
static void key_source_object(sbuf *k, const ev_event *e)
{
    key_field(k, e->component);
    key_field(k, e->host);
    key_field(k, e->kind);
    key_field(k, e->obj_ns);
    key_field(k, e->obj_name);
    key_field(k, e->uid);
    key_field(k, e->api_version);
}

static char *spam_key(const ev_event *e)
{
    sbuf k = SBUF_INIT;
    key_source_object(&k, e);
    return sbuf_detach(&k, NULL);
}

/* Everything but the message (reportingComponent/Instance equal component/host here). */
static char *aggregate_key(const ev_event *e)
{
    sbuf k = SBUF_INIT;
    key_source_object(&k, e);
    key_field(&k, e->type);
    key_field(&k, e->reason);
    return sbuf_detach(&k, NULL);
}

/* Everything, message included: what makes two events "the same". */
static char *event_key(const ev_event *e)
{
    sbuf k = SBUF_INIT;
    key_source_object(&k, e);
    key_field(&k, e->type);
    key_field(&k, e->reason);
    key_field(&k, e->message);
    return sbuf_detach(&k, NULL);
}

/* ---- the three steps ---------------------------------------------------------------------------
 */

/* "<object name>.<16 hex digits of the time in ns>", never the same twice in this correlator. */
static void assign_fresh_name(evc_correlator *c, ev_event *e)
{
    uint64_t stamp = (uint64_t)e->last_ms * CLK_NS_PER_MS;
    if (stamp <= c->last_stamp)
        stamp = c->last_stamp + 1;
    c->last_stamp = stamp;
    free(e->name);
    e->name = xasprintf("%s.%016llx", e->obj_name, (unsigned long long)stamp);
}

static bool has_message(const aggregate_record *a, const char *m)
{
    for (int i = 0; i < a->n; i++)
        if (strcmp(a->messages[i], m) == 0)
            return true;
    return false;
}

/*
 * Adds e's message to the similar events seen within the window. Below max_events distinct
 * messages, returns false (e stands alone). At max_events, forgets one message (so the set
 * does not grow), rewrites e into the combined event and returns true.
 */
static bool aggregate(evc_correlator *c, ev_event *e, const char *key)
{
    aggregate_record *a = lru_get(&c->aggregate, key);
    if (!a) {
        a = xcalloc(1, sizeof *a);
        a->messages = xcalloc((size_t)c->max_events, sizeof *a->messages);
        lru_add(&c->aggregate, key, a);
    } else if (e->mono_ns > a->last_ns && e->mono_ns - a->last_ns > c->window_ns) {
        for (int i = 0; i < a->n; i++)
            free(a->messages[i]);
        a->n = 0;
    }
    if (e->mono_ns > a->last_ns)
        a->last_ns = e->mono_ns;
    if (!has_message(a, e->message))
        a->messages[a->n++] = xstrdup(e->message);
    if (a->n < c->max_events)
        return false;
    free(a->messages[--a->n]);
    char *combined = xasprintf("(combined from similar events): %s", e->message);
    free(e->message);
    e->message = combined;
    return true;
}

/* Gives e the name, first time and count of an earlier equal event; records this one. */
static evc_action observe(evc_correlator *c, ev_event *e, const char *key)
{
    log_record *l = lru_get(&c->log, key);
    if (l) {
        l->count++;
        free(e->name);
        e->name = xstrdup(l->name);
        e->first_ms = l->first_ms;
        e->count = l->count;
        return EVC_PATCH;
    }
    assign_fresh_name(c, e);
    e->first_ms = e->last_ms;
    e->count = 1;
    l = xcalloc(1, sizeof *l);
    l->name = xstrdup(e->name);
    l->count = 1;
    l->first_ms = e->first_ms;
    lru_add(&c->log, key, l);
    return EVC_CREATE;
}

/* True when the source + object of e has a token left (and takes it). */
static bool spam_allows(evc_correlator *c, const ev_event *e)
{
    uint64_t full = (uint64_t)c->burst * c->refill_ns;
    char *key = spam_key(e);
    spam_record *s = lru_get(&c->spam, key);
    if (!s) {
        s = xcalloc(1, sizeof *s);
        s->credit_ns = full; /* a new bucket starts full */
        s->last_ns = e->mono_ns;
        lru_add(&c->spam, key, s);
    }
    free(key);
    if (e->mono_ns > s->last_ns) {
        uint64_t earned = e->mono_ns - s->last_ns;
        s->credit_ns = earned >= full - s->credit_ns ? full : s->credit_ns + earned;
        s->last_ns = e->mono_ns;
    }
    if (s->credit_ns < c->refill_ns)
        return false;
    s->credit_ns -= c->refill_ns;
    return true;
}

evc_action evc_correlate(evc_correlator *c, ev_event *e)
{
    char *agg = aggregate_key(e);
    char *full = event_key(e); /* before aggregation may rewrite the message */
    bool combined = aggregate(c, e, agg);
    /* A combined event is deduplicated under the aggregate key, so all later similar events
     * land on the one combined Event. */
    evc_action action = observe(c, e, combined ? agg : full);
    free(agg);
    free(full);
    /* As client-go, the filter runs last: a skipped event still counts in its Event's count. */
    return spam_allows(c, e) ? action : EVC_SKIP;
}

/*
 * etcd.c - the etcd v3 backend: options, open, the writers, reads and close (see etcd.h).
 *
 * A write is one txn (etcd gives each txn one revision, and a txn cannot put and delete one key,
 * so writes cannot share one). Writers take pending writes in FIFO order, skipping a write whose
 * key is in flight or held back (so one key's writes keep their order), send the txn, then either
 * complete the write (the sink is already past its revision, or it failed without reaching etcd)
 * or park it in `awaiting` until the watch thread delivers its revision (etcd_watch.c).
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
/* Writers look this far into the pending list for a write whose key is free. */
#define EX_PICK_WINDOW 256
/* Keys per page when reading a whole prefix. */
#define EX_PAGE_LIMIT 500

static ex_store *ex_of(st_store *base)
{
    return (ex_store *)base;
}

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

/* ---- connections ------------------------------------------------------------------------- */

eh_conn *ex_conn_get(ex_store *s)
{
    eh_conn *c = NULL;
    pthread_mutex_lock(&s->pool_mu);
    if (s->n_pool > 0)
        c = s->pool[--s->n_pool];
    pthread_mutex_unlock(&s->pool_mu);
    return c ? c : eh_new(&s->target);
}

void ex_conn_put(ex_store *s, eh_conn *c)
{
    pthread_mutex_lock(&s->pool_mu);
    if (s->n_pool < (int)(sizeof(s->pool) / sizeof(s->pool[0]))) {
        s->pool[s->n_pool++] = c;
        c = NULL;
    }
    pthread_mutex_unlock(&s->pool_mu);
    eh_free(c);
}

int ex_call(eh_conn *c, const char *path, const char *body, int timeout_ms, sbuf *resp,
            const char **why)
{
    long status = 0;
    int rc = eh_post(c, path, body, timeout_ms, resp, &status, why);
    if (rc != 0)
        return rc == -ETIMEDOUT ? -ETIMEDOUT : ST_EIO;
    if (status == 200)
        return 0;
    char *msg = ej_parse_error(resp->data, resp->len);
    int out = ST_EIO;
    if (msg && strstr(msg, "required revision has been compacted"))
        out = -ERANGE;
    else if (msg && strstr(msg, "request is too large"))
        out = ST_ETOOLARGE; /* etcd's --max-request-bytes is below ST_MAX_OBJECT_BYTES + key */
    if (out != -ERANGE) {
        char code[16];
        snprintf(code, sizeof(code), "%ld", status);
        log_kv(LOG_WARN, "etcd refused a request", "path", path, "status", code, "error",
               msg ? msg : "(no error text)", NULL);
        *why = "etcd refused the request";
    }
    free(msg);
    return out;
}

/* ---- reads ------------------------------------------------------------------------------- */

/* Hands one page's key-values to fn (keys without the prefix, values stamped). */
static int ex_visit_page(ex_store *s, const ej_range *r, st_kv_fn fn, void *ctx)
{
    for (size_t i = 0; i < r->n; i++) {
        const ej_kv *kv = &r->kvs[i];
        if (strncmp(kv->key, s->prefix, s->prefix_len) != 0) {
            log_kv(LOG_ERROR, "etcd returned a key outside the range asked", "key", kv->key, NULL);
            return ST_EIO;
        }
        if (kv->key[s->prefix_len] == '\0')
            continue; /* the marker */
        size_t len = 0;
        char *v = ej_stamp_rv(kv->value, kv->value_len, kv->mod_rev, &len);
        if (!v) {
            log_kv(LOG_ERROR, "stored value is not a JSON object; skipped", "key", kv->key, NULL);
            continue;
        }
        fn(ctx, kv->key + s->prefix_len, v, len, kv->mod_rev);
        free(v);
    }
    return 0;
}

int ex_range_all(ex_store *s, eh_conn *c, const char *sub, uint64_t rev, st_kv_fn fn, void *ctx,
                 uint64_t *at)
{
    char *key = xasprintf("%s%s", s->prefix, sub);
    char *after = NULL;
    sbuf resp = SBUF_INIT;
    int rc = 0;
    for (bool more = true; more && rc == 0;) {
        char *body = ej_range_request(key, true, after, rev, EX_PAGE_LIMIT, false);
        const char *why = NULL;
        rc = ex_call(c, "/v3/kv/range", body, 0, &resp, &why);
        free(body);
        ej_range r;
        if (rc == 0 && ej_parse_range(resp.data, resp.len, &r) != 0) {
            log_kv(LOG_ERROR, "cannot decode etcd's range answer", NULL);
            rc = ST_EIO;
        }
        if (rc != 0)
            break;
        rev = r.rev; /* later pages read at the first page's revision */
        more = r.more && r.n > 0;
        rc = ex_visit_page(s, &r, fn, ctx);
        if (r.n > 0) {
            free(after);
            after = xstrdup(r.kvs[r.n - 1].key);
        }
        ej_range_free(&r);
    }
    if (rc == 0)
        *at = rev;
    free(key);
    free(after);
    sbuf_free(&resp);
    return rc == -ETIMEDOUT ? ST_EIO : rc;
}

int ex_current(ex_store *s, eh_conn *c, int timeout_ms, uint64_t *rev, uint64_t *marker_rev,
               const char **why)
{
    /* The marker key is the prefix itself (etcd_store.h). */
    char *body = ej_range_request(s->prefix, false, NULL, 0, 0, false);
    sbuf resp = SBUF_INIT;
    uint64_t marker = 0;
    int rc = ex_call(c, "/v3/kv/range", body, timeout_ms, &resp, why);
    if (rc == 0 && ej_parse_marker(resp.data, resp.len, rev, &marker) != 0) {
        log_kv(LOG_ERROR, "cannot decode etcd's range answer", NULL);
        *why = "undecodable answer from etcd";
        rc = ST_EIO;
    }
    if (marker_rev)
        *marker_rev = marker;
    free(body);
    sbuf_free(&resp);
    return rc;
}

static int ex_load(st_store *base, const char *prefix, st_kv_fn fn, void *ctx, uint64_t *rev)
{
    ex_store *s = ex_of(base);
    eh_conn *c = ex_conn_get(s);
    uint64_t at = 0;
    int rc = ex_range_all(s, c, prefix, s->pinned_rev, fn, ctx, &at);
    ex_conn_put(s, c);
    if (rc != 0)
        return ST_EIO;
    pthread_mutex_lock(&s->mu);
    if (at > s->start_rev)
        s->start_rev = at;
    if (at > s->delivered) {
        s->delivered = at;
        atomic_store(&s->pub_rev, at);
    }
    pthread_mutex_unlock(&s->mu);
    if (rev)
        *rev = at;
    return ST_OK;
}

/* Pins the revision the next st_load reads at; nothing is replayed (etcd.h). */
static int ex_history(st_store *base, uint64_t after_rev, st_sink_fn fn, void *ctx,
                      uint64_t *oldest)
{
    (void)after_rev, (void)fn, (void)ctx;
    ex_store *s = ex_of(base);
    eh_conn *c = ex_conn_get(s);
    const char *why = NULL;
    uint64_t rev = 0;
    int rc = ex_current(s, c, 0, &rev, NULL, &why);
    ex_conn_put(s, c);
    if (rc != 0)
        return ST_EIO;
    s->pinned_rev = rev;
    if (oldest)
        *oldest = rev;
    return ST_OK;
}

static int ex_sync_rev(st_store *base, int timeout_ms, uint64_t *rev, api_error *err)
{
    ex_store *s = ex_of(base);
    eh_conn *c = ex_conn_get(s);
    const char *why = "etcd unreachable";
    uint64_t now = 0;
    int rc = ex_current(s, c, timeout_ms > 0 ? timeout_ms : 1, &now, rev, &why);
    ex_conn_put(s, c);
    if (rc == -ETIMEDOUT)
        apierr_set(err, 504, "Timeout", "etcd did not answer a consistent read in time: %s", why);
    else if (rc != 0)
        apierr_set(err, 503, "ServiceUnavailable", "etcd cannot serve a consistent read: %s", why);
    return rc == 0 ? 0 : rc == -ETIMEDOUT ? -ETIMEDOUT : ST_EIO;
}

static int ex_health(st_store *base, const char **why)
{
    if (atomic_load(&ex_of(base)->healthy))
        return 0;
    if (why)
        *why = "etcd unreachable";
    return -EIO;
}

/* ---- one write --------------------------------------------------------------------------- */

static void ex_reset_outputs(st_write *w)
{
    w->result = ST_OK;
    w->rev = 0;
    free(w->value);
    w->value = NULL;
    w->value_len = 0;
}

static bool ex_write_valid(const st_write *w)
{
    if (!w->key || !w->key[0] || (w->op != ST_CREATE && w->op != ST_UPDATE && w->op != ST_DELETE))
        return false;
    return (w->op == ST_DELETE && !w->obj) || cJSON_IsObject(w->obj);
}

/*
 * obj serialized as stored: without metadata.resourceVersion (etcd's mod_revision is the truth).
 * obj itself is left as it was: the field is taken out for printing and put back in its place.
 */
static char *ex_stored_text(cJSON *obj)
{
    cJSON *meta = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
    cJSON *rv =
        cJSON_IsObject(meta) ? cJSON_GetObjectItemCaseSensitive(meta, "resourceVersion") : NULL;
    if (!rv)
        return json_print(obj);
    int at = 0;
    for (cJSON *it = meta->child; it != rv; it = it->next)
        at++;
    cJSON_DetachItemViaPointer(meta, rv);
    char *text = json_print(obj);
    if (!cJSON_InsertItemInArray(meta, at, rv))
        cJSON_AddItemToObject(meta, rv->string, rv); /* at was past the end: append */
    return text;
}

/* Sets w->obj.metadata.resourceVersion to rev and w->value to obj's text. */
static void ex_stamp(st_write *w, uint64_t rev)
{
    char buf[24];
    snprintf(buf, sizeof(buf), "%" PRIu64, rev);
    json_set_string(json_ensure_object(w->obj, "metadata"), "resourceVersion", buf);
    w->value = json_print(w->obj);
    w->value_len = strlen(w->value);
}

/* A delete without obj reports the deleted value (prev_kv) as the final state. */
static void ex_take_prev(st_write *w, const ej_kv *prev)
{
    cJSON *obj = prev->key ? cJSON_ParseWithLength(prev->value, prev->value_len) : NULL;
    if (!cJSON_IsObject(obj)) {
        log_kv(LOG_ERROR, "deleted value is not a JSON object; reported as {}", "key", w->key,
               NULL);
        cJSON_Delete(obj);
        obj = cJSON_CreateObject();
    }
    w->obj = obj;
}

/* Turns a decoded txn answer into w's outputs; *target = the revision the sink must reach. */
static void ex_txn_result(st_write *w, ej_txn *t, uint64_t *target)
{
    *target = t->rev;
    if (!t->succeeded) {
        /* Once the sink shows the prefix's last write, it shows why the compare failed. */
        *target = t->marker_rev;
        w->result = w->op == ST_CREATE ? ST_EEXIST : t->key_exists ? ST_ECONFLICT : ST_ENOENT;
        return;
    }
    if (w->op == ST_DELETE && !w->obj)
        ex_take_prev(w, &t->prev);
    w->rev = t->rev;
    ex_stamp(w, t->rev);
}

/* Sends w's txn on c and fills its outputs. *target = 0 when no delivery is to be waited for. */
static void ex_apply(ex_store *s, eh_conn *c, st_write *w, uint64_t *target)
{
    *target = 0;
    ex_reset_outputs(w);
    if (!ex_write_valid(w)) {
        w->result = ST_EINVAL;
        return;
    }
    char *stored = w->op == ST_DELETE ? NULL : ex_stored_text(w->obj);
    size_t stored_len = stored ? strlen(stored) : 0;
    if (stored_len > ST_MAX_OBJECT_BYTES) {
        free(stored);
        w->result = ST_ETOOLARGE;
        return;
    }
    char *key = xasprintf("%s%s", s->prefix, w->key);
    char op = w->op == ST_CREATE ? 'c' : w->op == ST_UPDATE ? 'u' : 'd';
    char *body = ej_txn_request(op, key, stored, stored_len, w->expect_rev, s->prefix);
    free(stored);
    free(key);
    sbuf resp = SBUF_INIT;
    const char *why = NULL;
    int rc = ex_call(c, "/v3/kv/txn", body, 0, &resp, &why);
    free(body);
    ej_txn t;
    if (rc == 0 && ej_parse_txn(resp.data, resp.len, &t) != 0) {
        log_kv(LOG_ERROR, "cannot decode etcd's txn answer", "key", w->key, NULL);
        rc = ST_EIO;
    }
    sbuf_free(&resp);
    if (rc != 0) {
        w->result = rc == ST_ETOOLARGE ? ST_ETOOLARGE : ST_EIO;
        return;
    }
    atomic_fetch_add(&s->commits, 1);
    ex_txn_result(w, &t, target);
    ej_txn_free(&t);
    if (w->result == ST_OK)
        atomic_fetch_add(&s->good, 1);
}

/* ---- the writers ------------------------------------------------------------------------- */

/* Whether key is in flight or among the n held keys. */
static bool ex_key_busy(ex_store *s, const char *key, const char **held, int n)
{
    if (!key)
        return false;
    for (int i = 0; i < s->max_inflight; i++)
        if (s->inflight[i] && s->inflight[i]->key && strcmp(s->inflight[i]->key, key) == 0)
            return true;
    for (int i = 0; i < n; i++)
        if (strcmp(held[i], key) == 0)
            return true;
    return false;
}

/*
 * Takes the first pending write whose key is free, into in-flight slot `slot`. A write passed
 * over holds its key back for the writes behind it. Caller holds mu. NULL when none.
 */
static st_write *ex_pick(ex_store *s, int slot)
{
    const char *held[EX_PICK_WINDOW];
    int n_held = 0;
    st_write *prev = NULL;
    for (st_write *w = s->pending; w && n_held < EX_PICK_WINDOW; prev = w, w = w->next) {
        if (ex_key_busy(s, w->key, held, n_held)) {
            held[n_held++] = w->key;
            continue;
        }
        if (prev)
            prev->next = w->next;
        else
            s->pending = w->next;
        if (s->pending_tail == w)
            s->pending_tail = prev;
        w->next = NULL;
        s->inflight[slot] = w;
        return w;
    }
    return NULL;
}

static void ex_drain_locked(ex_store *s, uint64_t now);

/* Calls w's done with mu released, then counts it finished. Caller holds mu. */
static void ex_finish_locked(ex_store *s, st_write *w)
{
    pthread_mutex_unlock(&s->mu);
    w->done(w); /* w belongs to its owner from here on */
    pthread_mutex_lock(&s->mu);
    if (--s->n_open == 0)
        pthread_cond_broadcast(&s->idle_cv);
}

/*
 * After etcd answered w (or it was refused without asking etcd): queues it in `awaiting` behind
 * the writes answered before it, to complete once the sink has reached target (0: at once).
 * Caller holds mu.
 */
static void ex_settle_locked(ex_store *s, st_write *w, uint64_t target)
{
    ex_wait *x = xmalloc(sizeof(*x));
    x->w = w;
    x->target = target;
    x->deadline_ns = clk_mono_ns(s->clock) + (uint64_t)s->delivery_timeout_ms * CLK_NS_PER_MS;
    x->next = NULL;
    ex_wait **tail = &s->awaiting;
    while (*tail)
        tail = &(*tail)->next;
    *tail = x;
    ex_drain_locked(s, 0);
}

typedef struct ex_writer_arg {
    ex_store *s;
    int slot;
} ex_writer_arg;

static void *ex_writer_main(void *arg)
{
    ex_writer_arg a = *(ex_writer_arg *)arg;
    free(arg);
    ex_store *s = a.s;
    eh_conn *c = eh_new(&s->target);
    pthread_mutex_lock(&s->mu);
    for (;;) {
        st_write *w = ex_pick(s, a.slot);
        if (!w) {
            if (s->stop)
                break;
            pthread_cond_wait(&s->work_cv, &s->mu);
            continue;
        }
        pthread_mutex_unlock(&s->mu);
        uint64_t target = 0;
        ex_apply(s, c, w, &target);
        pthread_mutex_lock(&s->mu);
        s->inflight[a.slot] = NULL;
        pthread_cond_broadcast(&s->work_cv); /* its key is free for the writes held back */
        ex_settle_locked(s, w, target);
    }
    pthread_mutex_unlock(&s->mu);
    eh_free(c);
    return NULL;
}

/* ---- delivery (called by the watch thread) ----------------------------------------------- */

/*
 * Unlinks the awaiting writes at the head of the list that are ready: the sink reached their
 * target, or (with now != 0) their deadline passed, which is logged. Only a head is taken, so
 * done calls keep the order in which etcd answered. Caller holds mu.
 */
static ex_wait *ex_take_ready(ex_store *s, uint64_t now)
{
    ex_wait *out = NULL, **tail = &out;
    while (s->awaiting) {
        ex_wait *x = s->awaiting;
        bool reached = x->target <= s->delivered;
        if (!reached && !(now && x->deadline_ns <= now))
            break;
        if (!reached) {
            char rev[24];
            snprintf(rev, sizeof(rev), "%" PRIu64, x->target);
            log_kv(LOG_WARN, "etcd watch did not deliver a write in time; completing it anyway",
                   "key", x->w->key ? x->w->key : "", "revision", rev, NULL);
        }
        s->awaiting = x->next;
        x->next = NULL;
        *tail = x;
        tail = &x->next;
    }
    return out;
}

/*
 * Completes the ready writes at the head of `awaiting` until none is, one drainer at a time (a
 * thread that finds another draining leaves its writes to it), so done calls never overtake one
 * another. now as for ex_take_ready. Caller holds mu.
 */
static void ex_drain_locked(ex_store *s, uint64_t now)
{
    if (s->draining)
        return;
    s->draining = true;
    ex_wait *list;
    while ((list = ex_take_ready(s, now)) != NULL) {
        while (list) {
            ex_wait *x = list;
            list = x->next;
            st_write *w = x->w;
            free(x);
            ex_finish_locked(s, w);
        }
    }
    s->draining = false;
}

void ex_delivered(ex_store *s, uint64_t rev)
{
    pthread_mutex_lock(&s->mu);
    if (rev > s->delivered) {
        s->delivered = rev;
        atomic_store(&s->pub_rev, rev);
    }
    ex_drain_locked(s, 0);
    pthread_mutex_unlock(&s->mu);
}

void ex_expire(ex_store *s)
{
    pthread_mutex_lock(&s->mu);
    if (s->awaiting)
        ex_drain_locked(s, clk_mono_ns(s->clock));
    pthread_mutex_unlock(&s->mu);
}

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
        ex_reset_outputs(w);
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
        ex_reset_outputs(w);
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

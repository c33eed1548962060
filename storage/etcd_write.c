/*
 * etcd_write.c - the etcd store's writes: one txn per write (etcd gives each txn one revision,
 * and a txn cannot put and delete one key, so writes cannot share one), the writer threads, and
 * their completion once the watch delivered what they wait for.
 *
 * Writers take pending writes in FIFO order, skipping a write whose key is in flight or held
 * back (so one key's writes keep their order), send the txn, then queue the write in `awaiting`
 * behind the ones etcd answered earlier. Whoever moves the delivered revision (the watch thread,
 * or a writer whose write needs no wait) completes the ready head of that queue.
 */
#include "storage/etcd_store.h"

#include "storage/etcd_json.h"

#include "common/alloc.h"
#include "common/json.h"
#include "common/log.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Writers look this far into the pending list for a write whose key is free. */
#define EX_PICK_WINDOW 256

/* ---- one write --------------------------------------------------------------------------- */

static bool ex_write_valid(const st_write *w)
{
    /* A store key starts with '/' (etcd.h): prefix + key is then never the marker. */
    if (!w->key || w->key[0] != '/' ||
        (w->op != ST_CREATE && w->op != ST_UPDATE && w->op != ST_DELETE))
        return false;
    return (w->op == ST_DELETE && !w->obj) || cJSON_IsObject(w->obj);
}

/*
 * obj serialized as stored: without metadata.resourceVersion (etcd's mod_revision is the truth).
 * obj itself is left as it was (a failed write hands it back untouched): the field is removed
 * from a copy. (Taking it out of obj and putting it back in its place is not possible here:
 * cJSON_InsertItemInArray of Debian's cJSON 1.7.15-1+deb12u4 refuses a position inside a list.)
 */
static char *ex_stored_text(const cJSON *obj)
{
    const cJSON *meta = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
    if (!cJSON_IsObject(meta) || !cJSON_GetObjectItemCaseSensitive(meta, "resourceVersion"))
        return json_print(obj);
    cJSON *copy = cJSON_Duplicate(obj, true);
    if (!copy)
        abort(); /* out of memory (cJSON's hooks abort first) */
    json_remove(cJSON_GetObjectItemCaseSensitive(copy, "metadata"), "resourceVersion");
    char *text = json_print(copy);
    cJSON_Delete(copy);
    return text;
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
    st_write_stamp(w, t->rev);
}

/*
 * Sends one txn on c and decodes its answer with parse into *t. 0, ST_ETOOLARGE, or ST_EIO
 * (logged when the answer does not decode).
 */
static int ex_txn(eh_conn *c, const char *body, int (*parse)(const char *, size_t, ej_txn *),
                  const char *key, ej_txn *t)
{
    sbuf resp = SBUF_INIT;
    const char *why = NULL;
    int rc = ex_call(c, "/v3/kv/txn", body, 0, &resp, &why);
    if (rc == 0 && parse(resp.data, resp.len, t) != 0) {
        log_kv(LOG_ERROR, "cannot decode etcd's txn answer", "key", key, NULL);
        rc = ST_EIO;
    }
    sbuf_free(&resp);
    return rc == 0 || rc == ST_ETOOLARGE ? rc : ST_EIO;
}

/* Sends w's txn on c for key (prefixed); after a failed compare, reads why (the write's txn has
   no failure branch: ej_txn_request says why). */
static int ex_send(ex_store *s, eh_conn *c, const st_write *w, const char *key, const char *stored,
                   size_t stored_len, ej_txn *t)
{
    char op = w->op == ST_CREATE ? 'c' : w->op == ST_UPDATE ? 'u' : 'd';
    char *body = ej_txn_request(op, key, stored, stored_len, w->expect_rev, s->prefix);
    int rc = ex_txn(c, body, ej_parse_txn, w->key, t);
    free(body);
    if (rc != 0 || t->succeeded)
        return rc;
    body = ej_conflict_request(key, s->prefix);
    rc = ex_txn(c, body, ej_parse_conflict, w->key, t);
    free(body);
    return rc;
}

/* Sends w's txn on c and fills its outputs. *target = 0 when no delivery is to be waited for. */
static void ex_apply(ex_store *s, eh_conn *c, st_write *w, uint64_t *target)
{
    *target = 0;
    st_write_reset_outputs(w);
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
    ej_txn t;
    int rc = ex_send(s, c, w, key, stored, stored_len, &t);
    free(stored);
    free(key);
    if (rc != 0) {
        w->result = rc;
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

void *ex_writer_main(void *arg)
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
        /* Its key is free: a write held back for it may go. This writer takes one pending write
           itself; one more wakes for another (not all: 32 writers woken per write cost more
           than the txns). */
        if (s->pending && s->pending->next)
            pthread_cond_signal(&s->work_cv);
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
void ex_drain_locked(ex_store *s, uint64_t now)
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

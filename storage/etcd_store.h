/*
 * etcd_store.h - private: the etcd store's state, shared by etcd.c (life cycle), etcd_read.c,
 * etcd_write.c (the writers), etcd_watch.c (the watch thread) and etcd_compact.c.
 *
 * The marker: every write's txn also puts an empty value at the key `prefix` itself (no store
 * key maps to it: store keys are not empty), so its mod_revision is the revision of the last
 * write under the prefix, by any replica. A consistent read waits for it (st_sync_rev), a failed
 * compare's done waits for the value it read in the same txn: revisions the prefix's watch is
 * sure to deliver, even when other clients of etcd write elsewhere. Reads and the watch cover
 * prefix + "/" only, so they never see it (ex_own_key).
 *
 * Locking: mu guards the write queues (pending, in flight, awaiting delivery), delivered and the
 * flags; it is never held while calling out (sink, observer, done) or while talking to etcd.
 */
#ifndef FOO_STORAGE_ETCD_STORE_H
#define FOO_STORAGE_ETCD_STORE_H

#include "storage/backend.h"
#include "storage/etcd.h"
#include "storage/etcd_http.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>

/* A write etcd answered, waiting for the watch to deliver `target` before its done runs. */
typedef struct ex_wait {
    st_write *w;
    uint64_t target;
    uint64_t deadline_ns; /* on the store's clock */
    struct ex_wait *next;
} ex_wait;

typedef struct ex_store {
    st_store base; /* first: st_store * and ex_store * convert both ways */
    /* options, owned copies */
    char **endpoints;
    int n_endpoints;
    char *prefix;
    size_t prefix_len;
    char *ca_file, *cert_file, *key_file;
    int compaction_interval_s, delivery_timeout_ms, max_inflight;
    clk_t *clock;
    eh_target target;
    atomic_int healthy;

    st_sink_fn sink;
    void *sink_ctx;
    st_observer obs;

    pthread_mutex_t mu;
    pthread_cond_t work_cv; /* writers: a write is pending, a key got free, or closing */
    pthread_cond_t idle_cv; /* st_close: n_open reached 0 */
    pthread_cond_t stop_cv; /* CLOCK_MONOTONIC: backoff and compactor sleeps end on stop */
    st_write *pending, *pending_tail;
    st_write **inflight; /* max_inflight slots; NULL = free */
    ex_wait *awaiting;   /* in the order etcd answered */
    bool draining;       /* a thread is completing awaiting writes (ex_drain_locked) */
    size_t n_open;       /* writes submitted whose done has not returned yet */
    uint64_t delivered;  /* the sink has shown every write up to this revision */
    bool started, closing, stop;
    bool watch_started, running; /* running: every thread of st_start started */

    uint64_t start_rev;       /* the watch begins after it: open's revision or st_load's */
    uint64_t pinned_rev;      /* set by st_history: the revision the next st_load reads at */
    _Atomic uint64_t pub_rev; /* copy of delivered for st_current_rev */
    _Atomic uint64_t commits; /* txns etcd answered */
    _Atomic uint64_t good;    /* writes that succeeded */

    pthread_t *writers;
    int n_writers;
    pthread_t watch_thread, compact_thread;
    bool compact_started;
    eh_conn *watch_conn; /* the watch thread's stream; eh_wake'd by st_close */

    pthread_mutex_t pool_mu; /* spare connections for st_load, st_sync_rev, st_history */
    eh_conn *pool[8];
    int n_pool;
} ex_store;

static inline ex_store *ex_of(st_store *base)
{
    return (ex_store *)base;
}

/*
 * Whether an etcd key is one of the store's: prefix + a store key, which starts with '/'. The
 * marker (the prefix itself) is not, nor is a key of a neighbour whose prefix only starts like
 * ours ("/registry/demo.example.com2/..."): reads and the watch cover prefix + "/" only.
 */
static inline bool ex_own_key(const ex_store *s, const char *etcd_key)
{
    return strncmp(etcd_key, s->prefix, s->prefix_len) == 0 && etcd_key[s->prefix_len] == '/';
}

/* ---- etcd_read.c ---- */

/* A spare connection (made when none is free) and its return. Thread-safe. */
eh_conn *ex_conn_get(ex_store *s);
void ex_conn_put(ex_store *s, eh_conn *c);

/*
 * POSTs body to path: returns 0 with the body of a 200 answer in *resp, -ERANGE for etcd's
 * "required revision has been compacted", ST_ETOOLARGE for its "request is too large", else
 * ST_EIO or -ETIMEDOUT (logged; *why then says why in a static string).
 */
int ex_call(eh_conn *c, const char *path, const char *body, int timeout_ms, sbuf *resp,
            const char **why);
/*
 * etcd's current revision (*rev) and the marker's mod_revision (*marker_rev when non-NULL; 0 when
 * nothing was written under the prefix), through a linearizable range of the marker (as ex_call).
 */
int ex_current(ex_store *s, eh_conn *c, int timeout_ms, uint64_t *rev, uint64_t *marker_rev,
               const char **why);

/*
 * Reads every key under s->prefix + sub at revision rev (0 = now) page by page, calling fn with
 * the key without s->prefix and the value stamped with its mod_revision. *at = the revision read.
 * Returns 0, ST_EIO (logged), or -ERANGE when rev has been compacted.
 */
int ex_range_all(ex_store *s, eh_conn *c, const char *sub, uint64_t rev, st_kv_fn fn, void *ctx,
                 uint64_t *at);

/* The st_* reads of the backend (their contracts: storage.h; st_history: etcd.h, and its code
   is in etcd_history.c). */
int ex_load(st_store *base, const char *prefix, st_kv_fn fn, void *ctx, uint64_t *rev);
int ex_history(st_store *base, uint64_t after_rev, st_sink_fn fn, void *ctx, uint64_t *oldest);
int ex_sync_rev(st_store *base, int timeout_ms, uint64_t *rev, api_error *err);
int ex_health(st_store *base, const char **why);

/* ---- etcd_write.c ---- */

/* What a writer thread is given: its store and its in-flight slot. */
typedef struct ex_writer_arg {
    ex_store *s;
    int slot;
} ex_writer_arg;

/* A writer thread's body; arg is an ex_writer_arg it frees. Runs until stop and no pending. */
void *ex_writer_main(void *arg);
/*
 * Completes the ready writes at the head of `awaiting` (the sink reached their target; with now
 * != 0 also those whose deadline on the store's clock is <= now, logged), one drainer at a time,
 * so done calls never overtake one another. Caller holds mu, which is released around each done.
 */
void ex_drain_locked(ex_store *s, uint64_t now);
/* The watch thread moved the sink to rev: completes the writes waiting for it. Watch thread. */
void ex_delivered(ex_store *s, uint64_t rev);
/* Completes the awaiting writes whose delivery deadline passed (logged). Watch thread. */
void ex_expire(ex_store *s);

/* ---- etcd_watch.c, etcd_compact.c, etcd.c ---- */

struct ej_event;
/*
 * Hands one etcd event to fn (a sink): the key without the prefix, ADDED / MODIFIED / DELETED,
 * the value (a delete's: the last stored state) stamped with the event's revision. Skips, logged,
 * a key that is not the store's. etcd_watch.c; used by the watch and by st_history.
 */
void ex_deliver_event(ex_store *s, const struct ej_event *ev, st_sink_fn fn, void *ctx);

/* The watch thread's body (etcd_watch.c). */
void *ex_watch_main(void *arg);
/* The compactor thread's body (etcd_compact.c). */
void *ex_compact_main(void *arg);

/* Sleeps up to ms real milliseconds, or until stop is set. Returns false when stopping. */
bool ex_sleep(ex_store *s, uint64_t ms);
/* Whether st_close asked the threads to stop. Thread-safe. */
bool ex_stopping(ex_store *s);

#endif

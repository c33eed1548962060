/*
 * etcd.h - the etcd v3 backend of storage.h: several foo-apiserver replicas on one etcd.
 *
 * Talks to etcd 3.4's JSON gateway over libcurl (docs/design.md §4.12). Keys are stored under
 * prefix (etcd key = prefix + store key; a store key starts with '/', else the write is
 * ST_EINVAL; reads and the watch cover prefix + "/" only), values are the objects' JSON without a
 * meaningful
 * metadata.resourceVersion; every value handed out (st_load, events, w->value) carries
 * resourceVersion = the key's mod_revision, and revisions are etcd's own.
 *
 * Threads: max_inflight writer threads (each with its own connection) send one txn per write,
 * many at once; writes to one key are sent in submit order, one at a time. One watch thread runs
 * the store's only etcd watch (the prefix, from the loaded revision + 1, with prev_kv and progress
 * notifications): it alone calls the sink and the observer, in revision order, and reconnects
 * with backoff across the endpoints, resuming after the last delivered revision; when etcd
 * compacted that revision it reads a snapshot and replaces (st_observer) what the sink was told.
 * A write's done runs once the sink has shown its revision (a failed compare: the prefix's last
 * write as of the failure), in the order etcd answered the writes, on the watch thread or on a
 * writer thread; a write etcd answered but the watch did not show within delivery_timeout_ms is
 * completed anyway (it is durable) and logged. With max_inflight = 1 writes reach etcd, and
 * complete, in submit order. ST_ECLOSED is given on the caller's thread, as storage.h says.
 *
 * Every write's txn also puts an empty marker at the key `prefix` itself (no store key maps to
 * it); its mod_revision is the prefix's last write by any replica, which st_sync_rev returns
 * (0 when nothing was ever written). st_health fails ("etcd unreachable") while the last request
 * to etcd failed and none succeeded since. A compactor thread (compaction_interval_s > 0)
 * compacts etcd each interval at the revision it read one interval earlier.
 *
 * st_history(after_rev) pins the revision R the next st_load reads at (etcd's current one) and
 * replays the prefix's events in (after_rev, R] from etcd's own history through a one-off watch;
 * *oldest = after_rev. When etcd has compacted after_rev + 1 it replays nothing and *oldest = R.
 * Either way a cache built from both has no gap.
 */
#ifndef FOO_STORAGE_ETCD_H
#define FOO_STORAGE_ETCD_H

#include "common/clock.h"
#include "storage/storage.h"

typedef struct st_etcd_options {
    const char *const *endpoints; /* "http://host:port" / "https://host:port"; n_endpoints >= 1 */
    int n_endpoints;
    const char *prefix;        /* default "/registry/demo.example.com" */
    const char *ca_file;       /* CA bundle to verify etcd's certificate; NULL: system's */
    const char *cert_file;     /* client certificate for etcd; NULL: none */
    const char *key_file;      /* its private key */
    int compaction_interval_s; /* default 300; 0 = never compact */
    int request_timeout_ms;    /* one request to etcd, connect included; default 5000 */
    int delivery_timeout_ms;   /* longest wait of a done for the watch; default 5000 */
    int max_inflight;          /* writes sent at once; default 32 */
    clk_t *clock;              /* default clk_system() */
} st_etcd_options;

/* Defaults of the etcd backend, in one place (endpoints unset). */
st_etcd_options st_etcd_defaults(void);

/*
 * Opens a store on etcd: copies the options, then reads etcd's current revision once (so an
 * unreachable etcd fails here). Returns NULL on failure with *err (must not be NULL; untouched on
 * success) filled: 400 BadRequest for invalid options (no endpoint, a URL that is not http(s)://,
 * a prefix not starting with '/', a timeout < 1, max_inflight < 1), 503 ServiceUnavailable when
 * etcd did not answer (naming the endpoint and curl's reason). No thread runs until st_start().
 */
st_store *st_etcd_open(const st_etcd_options *opt, api_error *err);

#endif

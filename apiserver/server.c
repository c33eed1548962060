/*
 * server.c - wiring of foo-apiserver: PKI (standalone), authentication, storage, watch cache,
 * registry and discovery, the HTTP listener; the service loop and the graceful drain.
 */
#include "apiserver/apiserver.h"
#include "apiserver/delegate.h"
#include "apiserver/rest/discovery.h"
#include "apiserver/rest/handlers.h"
#include "apiserver/rest/metrics.h"
#include "apiserver/rest/namespaces.h"
#include "apiserver/rest/server.h"
#include "apiserver/rest/openapi_handler.h"
#include "apiserver/transport/pki.h"
#include "apiserver/transport/workers.h"
#include "apiserver/resource/readpoints.h"
#include "apiserver/resource/registry.h"
#include "common/alloc.h"
#include "common/log.h"
#include "common/strlist.h"
#include "storage/etcd.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

as_options as_defaults(void)
{
    as_options o = {
        .standalone = false,
        .data_dir = "/var/lib/foo-apiserver",
        .secure_port = 443,
        .bind_address = "0.0.0.0",
        .storage = "sqlite",
        .etcd_prefix = "/registry/demo.example.com",
        .etcd_compaction_interval_s = 300, /* kube's 5m */
        .watch_cache_min_events = 1000,
        .watch_cache_min_age_s = 300,
        .shutdown_grace_s = 10,
        .limits = as_limits_defaults(),
        .authorization_always_allow_paths = "/healthz,/readyz,/livez",
        .token_webhook_cache_ttl_ms = 10000,
        .authz_cache_authorized_ttl_ms = 10000,
        .authz_cache_unauthorized_ttl_ms = 10000,
    };
    return o;
}

int as_options_check(const as_options *o, char *why, size_t n)
{
    bool etcd = o->storage && strcmp(o->storage, "etcd") == 0;
    if (!etcd && !(o->storage && strcmp(o->storage, "sqlite") == 0)) {
        snprintf(why, n, "--storage must be sqlite or etcd, not \"%s\"",
                 o->storage ? o->storage : "");
        return -EINVAL;
    }
    if (etcd && (!o->etcd_servers || !*o->etcd_servers)) {
        snprintf(why, n, "--storage etcd needs --etcd-servers (comma-separated URLs)");
        return -EINVAL;
    }
    if (etcd && (!o->etcd_prefix || o->etcd_prefix[0] != '/')) {
        snprintf(why, n, "--etcd-prefix must start with /");
        return -EINVAL;
    }
    if (o->etcd_compaction_interval_s < 0) {
        snprintf(why, n, "--etcd-compaction-interval may not be negative");
        return -EINVAL;
    }
    return 0;
}

/* Consistent reads waiting at once for their cache to reach a revision (each at most 3 s); more
   queue. Their read points are asked in rounds on one more thread (readpoints.h). */
#define WAITER_THREADS 4

/* The read points' question (readpoints.h): the store's current revision. */
static int ask_read_point(void *store, int timeout_ms, uint64_t *rev, api_error *err)
{
    return st_sync_rev(store, timeout_ms, rev, err);
}

static char *path_in(const char *dir, const char *name)
{
    return xasprintf("%s/%s", dir, name);
}

static void load_kv(void *ctx, const char *key, const char *value, size_t len, uint64_t rev)
{
    as_caches_load(ctx, key, value, len, rev);
}

static void wake(void *ctx)
{
    as_wake_watchers(ctx);
}

/*
 * Logs what failed with err's reason and clears err; returns -1. as_new is the top of the
 * server's start-up: the functions it calls fill an api_error (docs/design.md §4.8) and the
 * reason is shown here.
 */
static int setup_failed(const char *what, api_error *err)
{
    log_kv(LOG_ERROR, what, "error", err->message ? err->message : "", NULL);
    apierr_clear(err);
    return -1;
}

static int setup_pki(as_server *srv)
{
    const as_options *o = &srv->opt;
    api_error err = API_ERROR_INIT;
    if (o->standalone) {
        const char *host = strcmp(o->bind_address, "0.0.0.0") == 0 ? "127.0.0.1" : o->bind_address;
        char *url = xasprintf("https://%s:%d", host, o->secure_port);
        int rc = pki_ensure_standalone(o->data_dir, url, &err);
        free(url);
        if (rc != 0)
            return setup_failed("pki failure", &err);
        srv->cert_file = path_in(o->data_dir, "pki/serving.crt");
        srv->key_file = path_in(o->data_dir, "pki/serving.key");
        srv->ca_file = path_in(o->data_dir, "pki/ca.crt");
    }
    if (o->tls_cert_file) {
        free(srv->cert_file);
        srv->cert_file = xstrdup(o->tls_cert_file);
    }
    if (o->tls_key_file) {
        free(srv->key_file);
        srv->key_file = xstrdup(o->tls_key_file);
    }
    if (o->client_ca_file) {
        free(srv->ca_file);
        srv->ca_file = xstrdup(o->client_ca_file);
    }
    if (!srv->cert_file || !srv->key_file) {
        log_error("a serving certificate is required: --tls-cert-file and "
                  "--tls-private-key-file, or --standalone");
        return -1;
    }
    if (!o->standalone) /* kube-apiserver says who is who, and who may do what */
        return as_delegate_new(o, srv->clock, &srv->delegate, &srv->auth);
    authn_options ao = {.client_ca_file = srv->ca_file, .token_auth_file = o->token_auth_file};
    srv->auth = authn_new(&ao, &err);
    return srv->auth ? 0 : setup_failed("authentication config", &err);
}

/*
 * The data directory holds the SQLite file (and, standalone, the keys): created 0700 when
 * missing (its parents too); one that exists with group or other bits is tightened to 0700,
 * with a warning. Returns 0 or -1 (logged).
 */
static int ensure_private_dir(const char *dir)
{
    if (!*dir) {
        log_error("the data directory (--data-dir) may not be empty");
        return -1;
    }
    char *p = xstrdup(dir);
    int rc = 0;
    for (char *s = p + 1; rc == 0; s++) {
        bool end = *s == '\0';
        if (*s != '/' && !end)
            continue;
        *s = '\0';
        if (mkdir(p, 0700) != 0 && errno != EEXIST)
            rc = -1;
        if (end)
            break;
        *s = '/';
    }
    free(p);
    struct stat st;
    if (rc != 0 || stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        log_kv(LOG_ERROR, "cannot create the data directory", "dir", dir, "error", strerror(errno),
               NULL);
        return -1;
    }
    if (st.st_mode & 077) {
        if (chmod(dir, 0700) != 0) {
            log_kv(LOG_ERROR, "cannot chmod the data directory", "dir", dir, "error",
                   strerror(errno), "hint",
                   "a mount point owned by another user (a volume): point --data-dir at a "
                   "subdirectory of it, which the server creates as its own",
                   NULL);
            return -1;
        }
        log_kv(LOG_WARN, "data directory was accessible to other users: tightened to 0700", "dir",
               dir, NULL);
    }
    return 0;
}

/*
 * The SQLite file and its -wal and -shm companions are 0600 wherever they live (SQLite creates
 * the companions with the main file's mode). Best effort for companions that do not exist yet.
 */
static int make_db_private(const char *path)
{
    if (chmod(path, 0600) != 0) {
        log_kv(LOG_ERROR, "cannot chmod the SQLite file", "path", path, "error", strerror(errno),
               NULL);
        return -1;
    }
    static const char *const suffixes[] = {"-wal", "-shm"};
    for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
        char *f = xasprintf("%s%s", path, suffixes[i]);
        if (chmod(f, 0600) != 0 && errno != ENOENT)
            log_kv(LOG_WARN, "cannot chmod", "path", f, "error", strerror(errno), NULL);
        free(f);
    }
    return 0;
}

/* The SQLite store of one replica: DATA/foo.db unless --sqlite-path says otherwise. */
static int open_sqlite(as_server *srv)
{
    const as_options *o = &srv->opt;
    if (!o->sqlite_path && ensure_private_dir(o->data_dir) != 0)
        return -1;
    srv->sqlite_path = o->sqlite_path ? xstrdup(o->sqlite_path) : path_in(o->data_dir, "foo.db");
    st_sqlite_options so = st_sqlite_defaults(srv->sqlite_path);
    api_error err = API_ERROR_INIT;
    srv->store = st_sqlite_open(&so, &err);
    if (!srv->store)
        return setup_failed("cannot open the storage", &err);
    return make_db_private(srv->sqlite_path);
}

/* The etcd store every replica shares (docs/design.md, "Consistent reads and replicas"). */
static int open_etcd(as_server *srv)
{
    const as_options *o = &srv->opt;
    st_etcd_options eo = st_etcd_defaults();
    strlist urls = strlist_split(o->etcd_servers, ',');
    eo.endpoints = urls.items;
    eo.n_endpoints = urls.n;
    eo.prefix = o->etcd_prefix;
    eo.ca_file = o->etcd_cafile;
    eo.cert_file = o->etcd_certfile;
    eo.key_file = o->etcd_keyfile;
    eo.compaction_interval_s = o->etcd_compaction_interval_s;
    eo.clock = srv->clock;
    api_error err = API_ERROR_INIT;
    srv->store = st_etcd_open(&eo, &err); /* copies the options */
    srv->store_shared = true;
    strlist_free(&urls);
    return srv->store ? 0 : setup_failed("cannot open the storage", &err);
}

/*
 * Fills one watch cache per kind from the store, then starts the store with the caches as its
 * sink (events) and observer (progress; a replacement after etcd compacted events the cache had
 * not seen yet).
 */
static int fill_caches(as_server *srv, uint64_t *rev)
{
    const as_options *o = &srv->opt;
    wc_options wo = wc_defaults();
    wo.min_events = o->watch_cache_min_events;
    wo.min_age_ms = (int64_t)o->watch_cache_min_age_s * 1000;
    wo.clock = srv->clock;
    srv->caches = as_caches_new(srv->registry, &wo);
    /* History first (it rebuilds part of the state), then every current object on top. */
    uint64_t oldest = 0;
    if (st_history(srv->store, 0, as_caches_replay, srv->caches, &oldest) != 0 ||
        st_load(srv->store, "", load_kv, srv->caches, rev) != 0) {
        log_error("cannot load the stored objects");
        return -1;
    }
    as_caches_set_rev(srv->caches, *rev);
    as_caches_set_oldest(srv->caches, oldest);
    st_set_sink(srv->store, as_caches_apply, srv->caches);
    st_observer obs = as_caches_observer(srv->caches);
    st_set_observer(srv->store, &obs);
    return st_start(srv->store) == 0 ? 0 : -1;
}

static int setup_storage(as_server *srv)
{
    const as_options *o = &srv->opt;
    bool etcd = strcmp(o->storage, "etcd") == 0; /* else sqlite (as_options_check) */
    uint64_t rev = 0;
    if ((etcd ? open_etcd(srv) : open_sqlite(srv)) != 0 || fill_caches(srv, &rev) != 0)
        return -1;
    char revs[32];
    snprintf(revs, sizeof revs, "%llu", (unsigned long long)rev);
    if (etcd)
        log_kv(LOG_INFO, "storage ready", "backend", "etcd", "servers", o->etcd_servers, "prefix",
               o->etcd_prefix, "resourceVersion", revs, NULL);
    else
        log_kv(LOG_INFO, "storage ready", "backend", "sqlite", "path", srv->sqlite_path,
               "resourceVersion", revs, NULL);
    return 0;
}

static int bootstrap_namespaces(as_server *srv)
{
    api_error err = API_ERROR_INIT;
    if (as_namespaces_bootstrap(srv, &err) != 0)
        return setup_failed("cannot create the system namespaces", &err);
    return 0;
}

static int start_http(as_server *srv)
{
    as_http_options ho = {
        .port = srv->opt.secure_port,
        .bind_address = srv->opt.bind_address,
        .cert_file = srv->cert_file,
        .key_file = srv->key_file,
        .auth = srv->auth,
        .delegated = srv->delegate != NULL,
        .clock = srv->clock,
        .handle = as_rest_handle,
        .done = as_rest_done,
        .app = srv,
        .limits = srv->opt.limits,
    };
    api_error err = API_ERROR_INIT;
    if (as_http_start(&ho, &srv->http, &err) != 0)
        return setup_failed("cannot start the HTTP server", &err);
    /* Committed events wake the watch streams (nothing is written before the listener). */
    as_caches_set_notify(srv->caches, wake, srv->http);
    if (srv->store_shared && as_workers_start(WAITER_THREADS, &srv->waiters, &err) != 0)
        return setup_failed("cannot start the waiter threads", &err);
    if (srv->store_shared && rp_start(ask_read_point, srv->store, srv->clock,
                                      AS_FRESH_READ_TIMEOUT_MS, &srv->read_points, &err) != 0)
        return setup_failed("cannot start the read point thread", &err);
    return srv->delegate ? as_delegate_start(srv->delegate, srv) : 0;
}

as_server *as_new(const as_options *opt)
{
    char why[160];
    if (as_options_check(opt, why, sizeof why) != 0) {
        log_error("%s", why);
        return NULL;
    }
    as_server *srv = xcalloc(1, sizeof *srv);
    srv->opt = *opt;
    srv->clock = clk_system();
    srv->start_ms = clk_wall_ms(srv->clock);
    srv->registry = as_registry_new(opt->standalone);
    srv->discovery = as_discovery_new(srv->registry);
    srv->openapi = as_openapi_new(srv->registry);
    srv->metrics = as_metrics_new(srv->registry);
    if (setup_pki(srv) != 0 || setup_storage(srv) != 0 || bootstrap_namespaces(srv) != 0 ||
        start_http(srv) != 0) {
        as_free(srv);
        return NULL;
    }
    char port[16];
    snprintf(port, sizeof port, "%d", opt->secure_port);
    log_kv(LOG_INFO, "serving", "address", opt->bind_address, "port", port, NULL);
    return srv;
}

int as_run(as_server *srv)
{
    while (!atomic_load(&srv->stopping))
        as_http_service(srv->http);
    log_info("shutting down: draining watches and in-flight writes");
    as_http_end_watches(srv->http);
    uint64_t deadline =
        clk_mono_ns(srv->clock) + (uint64_t)srv->opt.shutdown_grace_s * CLK_NS_PER_S;
    while ((as_http_parked_count(srv->http) > 0 || as_http_watch_count(srv->http) > 0) &&
           clk_mono_ns(srv->clock) < deadline)
        as_http_service_for(srv->http, 100);
    as_http_stop(srv->http);   /* runs the compute thread's last jobs first */
    rp_stop(srv->read_points); /* it asks the store: before the store closes */
    srv->read_points = NULL;
    /* The writer thread may still complete writes and wake the loop: the transport object stays
       until as_free, after the store (and its thread) is gone. */
    st_close(srv->store);
    srv->store = NULL;
    log_info("stopped");
    return 0;
}

void as_stop(as_server *srv)
{
    atomic_store(&srv->stopping, true);
    as_wake_watchers(srv->http);
}

void as_free(as_server *srv)
{
    if (!srv)
        return;
    as_http_stop(srv->http);
    /* The reviews and waits in flight complete (and post their requests) before the transport
       goes. */
    as_delegate_free(srv->delegate, srv);
    rp_stop(srv->read_points); /* before the waiters: its reads may still go to them */
    as_workers_stop(srv->waiters);
    if (srv->store)
        st_close(srv->store); /* joins the writer thread: no completion or wake-up after this */
    as_http_free(srv->http);
    as_caches_free(srv->caches);
    authn_free(srv->auth);
    as_discovery_free(srv->discovery);
    as_openapi_free(srv->openapi);
    as_metrics_free(srv->metrics); /* after as_http_free: it reports the last requests done */
    as_registry_free(srv->registry);
    free(srv->cert_file);
    free(srv->key_file);
    free(srv->ca_file);
    free(srv->sqlite_path);
    free(srv);
}

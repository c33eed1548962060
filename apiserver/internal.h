/*
 * internal.h - the server object shared by the files of apiserver/ (private).
 */
#ifndef FOO_APISERVER_INTERNAL_H
#define FOO_APISERVER_INTERNAL_H

#include "apiserver/apiserver.h"
#include "apiserver/authn.h"
#include "apiserver/http.h"
#include "apiserver/watchcache.h"
#include "common/clock.h"
#include "storage/storage.h"

#include <pthread.h>
#include <stdatomic.h>

struct lws_context;
struct as_conn;

struct as_server {
    as_options opt;
    char *cert_file, *key_file, *ca_file, *sqlite_path; /* resolved paths, owned */
    struct lws_context *lws;
    st_store *store;
    wc_cache *cache;
    authn *auth;
    struct as_offload *offload; /* the compute thread of write requests (offload.h) */
    clk_t *clock;
    int64_t start_ms;

    atomic_bool stopping;     /* set by as_stop (any thread / signal handler) */
    atomic_bool wake_pending; /* a lws_cancel_service() has not been serviced yet */

    /* Requests whose storage write completed, waiting to be resumed on the service thread.
       Guarded by done_mu; filled by the writer thread, drained by the service thread. */
    pthread_mutex_t done_mu;
    as_req *done_head, *done_tail;

    /* Service thread only. */
    struct as_conn *watchers; /* connections streaming a watch (doubly linked) */
    int parked;               /* requests waiting for storage */
};

/* Routes a request (router.c). Called once per request on the service thread. */
void as_route(as_req *req);

/* http.c: creates the lws context (listener); 0 or -1 after logging. */
int as_http_start(as_server *srv);
/* http.c: one turn of the service loop (sleeps until something happens). */
void as_http_service(as_server *srv);
/* http.c: one turn of the service loop that returns after at most about ms milliseconds. */
void as_http_service_for(as_server *srv, int ms);
/* http.c: asks every watch stream to end, cleanly. */
void as_http_end_watches(as_server *srv);
/* http.c: number of open watch streams. */
int as_http_watch_count(as_server *srv);
void as_http_stop(as_server *srv);

#endif

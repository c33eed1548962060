/*
 * itest.h - helpers of the informer's integration tests against the real foo-apiserver
 * (test/unit/client/server_fixture.h starts it): a REST client on the server's kubeconfig,
 * handlers that account for every callback per name, concurrent writers that survive a server
 * kill, and the final comparison of store, handler view and a fresh LIST.
 *
 * No Criterion here: every check returns an error with a message, so the TSan driver
 * (test/tsan/informer.c, a plain program) reuses this file by #including itest.c, which also
 * compiles server_fixture.c into the binary (once).
 */
#ifndef FOO_TEST_INFORMER_ITEST_H
#define FOO_TEST_INFORMER_ITEST_H

#include "informer/informer.h"

#include "test/unit/client/server_fixture.h"

#include <pthread.h>
#include <stdbool.h>

#define IT_FOOS "/apis/demo.example.com/v1beta1/foos"

typedef struct it_name it_name; /* per-name accounting (uthash) */

typedef struct itest {
    sf_server srv;
    kc_config *cfg;
    kc_client *kc;
    kc_wswatch *ws; /* the WebSocket watch transport, made by it_transport on first use */
    pthread_mutex_t mu;
    pthread_cond_t cond; /* broadcast on every callback, op and server state change */
    it_name *names;
    long adds, updates, deletes, deletes_unknown;
    char *violation; /* the first accounting violation, NULL when none */
    bool down;       /* the server is being killed/restarted: writers wait */
    long ops_done;   /* writes acknowledged */
    char *writer_error;
} itest;

/* Starts the server (extra flags, NULL-terminated, or NULL) and a client. 0 or -1 (*why set). */
int it_start(itest *t, const char *const *server_args, char **why);
/* Stops the server and frees everything. */
void it_stop(itest *t);

/* The watch transports every scenario runs over (a test parameter). */
typedef enum it_transport_kind {
    IT_HTTP,      /* kc_watch: chunked HTTP on libcurl */
    IT_WEBSOCKET, /* kc_ws_watch: WebSocket on the libwebsockets client */
} it_transport_kind;

/* "http" or "websocket", for messages. */
const char *it_transport_name(it_transport_kind kind);

/*
 * The informer transport of that kind over t's client (LIST on libcurl either way). Aborts when
 * the WebSocket transport cannot start (a broken test environment). Freed by it_stop.
 */
inf_transport it_transport(itest *t, it_transport_kind kind);

/* Handlers that check, per name: add only when absent, update and delete only when present,
   resourceVersion never going back on update. ctx is the itest. */
inf_handlers it_handlers(itest *t);

/* Options for an informer on foos in tests: defaults plus a name. */
inf_options it_informer_options(void);

/*
 * Runs `threads` writers, each creating `per_thread` Foos named "<prefix><thread>-<i>", patching
 * every second one and deleting every fourth (so threads * per_thread Foos are created in
 * total). When `midway` is set it is called on this (the main) thread once half of the writes
 * were acknowledged (e.g. to kill and restart the server). Writes interrupted by a server kill are
 * retried, and a retried create answered 409 or delete answered 404 counts as done.
 * Returns 0, or -1 with *why.
 */
int it_run_writers(itest *t, const char *prefix, int threads, int per_thread,
                   void (*midway)(itest *t), char **why);

/* Kills the server with SIGKILL and restarts it on the same data and port (midway helper). */
void it_kill_and_restart(itest *t);

/* One synchronous write outside it_run_writers: create Foo name. 0 or -1. */
int it_create(itest *t, const char *name);

/*
 * Lists foos, waits (real time, up to timeout_ms) until the informer has reached the list's
 * resourceVersion, then compares store, handler view and list (names and resourceVersions).
 * Returns 0 when all three agree and no accounting violation happened, else -1 with *why.
 */
int it_check_in_sync(itest *t, inf_informer *inf, int timeout_ms, char **why);

#endif

/*
 * ws_internal.h - private pieces of the WebSocket watch transport (client/wswatch.h) shared by
 * ws_target.c (where a watch connects: pure), ws_queue.c (the received bytes handed from the
 * event loop to the watching thread: pure), wsloop.c (the libwebsockets context and its service
 * thread) and wswatch.c (the watch call). Not for use outside client/ (tests excepted).
 */
#ifndef FOO_CLIENT_WS_INTERNAL_H
#define FOO_CLIENT_WS_INTERNAL_H

#include "common/apierr.h"
#include "common/clock.h"

#include <openssl/ssl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- defaults, in one place ---- */

/* Received bytes a watch may have queued before the loop stops reading its socket (flow
 * control); reading resumes once the watching thread has taken them. */
#define KC_WS_QUEUE_MAX_BYTES ((size_t)1024 * 1024)
/* The handshake (request line and headers, Authorization included) is built in the per-thread
 * service buffer; kubectl's exec tokens reach a few KiB, so leave ample room. */
#define KC_WS_SERVICE_BUFFER_BYTES (64 * 1024)
/*
 * How long the watching thread sleeps at most between checks of cancel and the idle deadline:
 * within kc_watch's promise of 100 ms, and no shorter, because every idle watch wakes its thread
 * this often (1000 idle watches at 50 ms cost 20 000 wakeups a second).
 */
#define KC_WS_POLL_MS 90

/* ---- the target: where a watch connects (ws_target.c) ---- */

typedef struct kc_ws_target {
    bool tls;          /* https server: wss */
    char *address;     /* host to connect to (an IPv6 address without brackets) */
    int port;          /* explicit, or 443 / 80 */
    char *server_name; /* tls-server-name, else the host: sent as Host, SNI and verified */
    char *path;        /* the server URL's path prefix followed by the request path */
} kc_ws_target;

/*
 * Splits a kubeconfig server URL ("https://host[:port][/prefix]", http or https only) and a
 * request path (absolute, with its query) into *t. tls_server_name (NULL or "" = the host)
 * replaces the name verified and sent. Returns 0, or -EINVAL with *err (400 BadRequest) for an
 * unusable URL; *t is then empty. Pure; thread-safe. Free with kc_ws_target_free.
 */
int kc_ws_target_parse(const char *server, const char *tls_server_name, const char *path,
                       kc_ws_target *t, api_error *err);
void kc_ws_target_free(kc_ws_target *t);

/* ---- the queue of received bytes (ws_queue.c) ---- */

/* One piece of a message as it came off the socket; `last` marks the message's final piece. */
typedef struct kc_ws_chunk {
    struct kc_ws_chunk *next;
    size_t len;
    bool last;
    char data[];
} kc_ws_chunk;

/*
 * FIFO of chunks, with the byte count that drives flow control. Not thread-safe by itself: the
 * connection's mutex guards it.
 */
typedef struct kc_ws_queue {
    kc_ws_chunk *head, *tail;
    size_t bytes;
} kc_ws_queue;

/* Appends a copy of data (n may be 0 for an empty final piece). Aborts on OOM (policy). */
void kc_ws_queue_push(kc_ws_queue *q, const void *data, size_t n, bool last);
/* Takes every queued chunk (caller frees each with free()) and empties q; NULL when empty. */
kc_ws_chunk *kc_ws_queue_take_all(kc_ws_queue *q);
/* Frees what is queued. */
void kc_ws_queue_clear(kc_ws_queue *q);

/* ---- one connection, shared by the loop and the watching thread (wsloop.c) ---- */

typedef enum kc_wsconn_state {
    KC_WSCONN_NEW,     /* submitted, not yet picked up by the loop */
    KC_WSCONN_OPENING, /* connecting / handshaking */
    KC_WSCONN_OPEN,    /* 101 received: messages flow */
    KC_WSCONN_DONE,    /* closed; the loop holds no pointer to it any more */
} kc_wsconn_state;

typedef struct kc_wsloop kc_wsloop;

/*
 * What the watching thread asks for and what the loop reports back. The request fields are set
 * before kc_wsloop_open and not touched after; everything under "shared" is read and written
 * with mu held; the loop signals cond after every change.
 */
typedef struct kc_wsconn {
    /* request */
    const kc_ws_target *target;
    SSL_CTX *ssl_ctx;          /* for a wss target: one per TLS identity, owned by the caller */
    bool insecure;             /* insecure-skip-tls-verify */
    const char *authorization; /* "Bearer ..." or NULL; sent as the Authorization header */
    const char *user_agent;
    clk_t *clock; /* stamps last_rx_ns */

    /* shared */
    pthread_mutex_t mu;
    pthread_cond_t cond; /* CLOCK_MONOTONIC (clk_mono_cond_init) */
    kc_wsconn_state state;
    kc_ws_queue queue;
    uint64_t last_rx_ns;   /* clock time of the last byte received (or of the open) */
    int http_status;       /* status of the handshake answer; 0 = none came */
    int retry_after_s;     /* its Retry-After header (whole seconds), 0 = none */
    bool peer_closed;      /* the server sent a close frame: a clean end */
    char *error;           /* why the connection failed or dropped; owned, NULL = none */
    bool close_requested;  /* the watching thread is done: close it */
    bool resume_requested; /* the queue was drained: read the socket again */
    bool paused;           /* the loop stopped reading (queue full) */

    /* loop thread only */
    struct lws *wsi;
    struct kc_wsconn *next; /* in the loop's list of live connections */
} kc_wsconn;

/* ---- the loop (wsloop.c) ---- */

/*
 * One libwebsockets client context and the thread that services it. connect_timeout_s bounds
 * the TCP connect and the TLS and WebSocket handshakes (lws's timeout_secs). Returns NULL with
 * *err (500 InternalError) when lws or the thread cannot start.
 */
kc_wsloop *kc_wsloop_new(int connect_timeout_s, api_error *err);
/* Stops the thread and destroys the context. Every connection must be DONE. NULL is a no-op. */
void kc_wsloop_free(kc_wsloop *l);

/*
 * Initialises conn's shared part and hands it to the loop, which connects it. conn must stay
 * valid until kc_wsloop_close returned. Returns 0, or -ENOMEM when the condition variable
 * cannot be made. Thread-safe.
 */
int kc_wsloop_open(kc_wsloop *l, kc_wsconn *conn);
/* Asks the loop to read conn's socket again (after draining the queue). Thread-safe. */
void kc_wsloop_resume(kc_wsloop *l, kc_wsconn *conn);
/*
 * Closes conn (if not yet closed) and waits until the loop has let go of it (DONE): from then
 * on only the calling thread touches conn, so its results (http_status, retry_after_s,
 * peer_closed, error) may be read without the lock. Thread-safe; once per kc_wsloop_open.
 */
void kc_wsloop_close(kc_wsloop *l, kc_wsconn *conn);
/* Frees what conn's shared part holds (queue, error, lock, condition). After kc_wsloop_close. */
void kc_wsconn_release(kc_wsconn *conn);

#endif

/*
 * wsloop.c - the libwebsockets client event loop of the WebSocket watch transport
 * (ws_internal.h): one lws context, one thread servicing it, every watch connection on it.
 *
 * Threads: lws is single-threaded (LWS_MAX_SMP 1); only lws_cancel_service may be called from
 * another thread. So a watching thread never touches lws: it puts its connection on the pending
 * list (or sets a flag on it) and calls lws_cancel_service; the service thread then runs
 * loop_sync from LWS_CALLBACK_EVENT_WAIT_CANCELLED, which connects, closes and resumes. Wakeups
 * are coalesced and arrive once per vhost, so loop_sync drains everything each time and is
 * idempotent.
 *
 * TLS: a vhost carries the client SSL_CTX in lws, so there is one vhost per SSL_CTX (one per TLS
 * identity: CA, client certificate, server name), made on the service thread the first time a
 * connection needs it and kept until the loop ends. Plain http servers use the default vhost.
 *
 * A connection is DONE when lws destroys its wsi (LWS_CALLBACK_WSI_DESTROY): no callback can
 * touch it after that, so kc_wsloop_close waits for it before the caller frees anything.
 */
#include "client/ws_internal.h"
#include "common/alloc.h"
#include "common/log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <libwebsockets.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KC_WS_PROTOCOL "foo-watch"

typedef struct ws_vhost {
    SSL_CTX *ssl_ctx;
    struct lws_vhost *vh;
    struct ws_vhost *next;
} ws_vhost;

struct kc_wsloop {
    struct lws_context *ctx;
    pthread_t thread;
    bool thread_started;
    atomic_bool stopping;
    pthread_mutex_t mu; /* guards pending */
    kc_wsconn *pending; /* submitted, not yet connected */
    /* service thread only */
    kc_wsconn *live; /* connected or connecting, until their wsi is destroyed */
    ws_vhost *vhosts;
    unsigned vhost_seq;
};

static int ws_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                       size_t len);

static const struct lws_protocols ws_protocols[] = {
    {.name = KC_WS_PROTOCOL, .callback = ws_callback, .rx_buffer_size = 0},
    {0},
};

/* ---- helpers of the service thread ---- */

static void conn_signal(kc_wsconn *conn)
{
    pthread_cond_broadcast(&conn->cond);
}

/* The vhost whose client TLS context is ssl_ctx, made on first use; NULL if lws refuses. */
static struct lws_vhost *loop_vhost(kc_wsloop *l, SSL_CTX *ssl_ctx)
{
    for (ws_vhost *v = l->vhosts; v; v = v->next)
        if (v->ssl_ctx == ssl_ctx)
            return v->vh;
    char name[32];
    snprintf(name, sizeof name, "foo-watch-tls-%u", l->vhost_seq++);
    struct lws_context_creation_info info = {
        .port = CONTEXT_PORT_NO_LISTEN,
        .protocols = ws_protocols,
        .vhost_name = name,
        .options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT,
        .provided_client_ssl_ctx = ssl_ctx,
    };
    struct lws_vhost *vh = lws_create_vhost(l->ctx, &info);
    if (!vh)
        return NULL;
    ws_vhost *v = xcalloc(1, sizeof *v);
    v->ssl_ctx = ssl_ctx;
    v->vh = vh;
    v->next = l->vhosts;
    l->vhosts = v;
    return vh;
}

/* Records why conn failed (the first reason wins). Called with conn->mu held. */
static void conn_fail_locked(kc_wsconn *conn, const char *why, size_t n)
{
    if (!conn->error)
        conn->error = xstrndup(why, n);
}

/* An IP literal is verified against the certificate's IP SANs by our SSL_CTX, not by lws. */
static bool is_ip_literal(const char *s)
{
    unsigned char buf[16];
    return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

static int conn_ssl_flags(const kc_wsconn *conn)
{
    if (!conn->target->tls)
        return 0;
    int flags = LCCSCF_USE_SSL;
    if (conn->insecure)
        flags |= LCCSCF_ALLOW_SELFSIGNED | LCCSCF_SKIP_SERVER_CERT_HOSTNAME_CHECK |
                 LCCSCF_ALLOW_EXPIRED | LCCSCF_ALLOW_INSECURE;
    else if (is_ip_literal(conn->target->server_name))
        flags |= LCCSCF_SKIP_SERVER_CERT_HOSTNAME_CHECK;
    return flags;
}

/* Starts one submitted connection; a failure to start ends it DONE with the reason. */
static void loop_connect(kc_wsloop *l, kc_wsconn *conn)
{
    pthread_mutex_lock(&conn->mu);
    bool given_up = conn->close_requested; /* cancelled before the loop got to it */
    conn->state = given_up ? KC_WSCONN_DONE : KC_WSCONN_OPENING;
    if (given_up)
        conn_signal(conn);
    pthread_mutex_unlock(&conn->mu);
    if (given_up)
        return;
    struct lws_vhost *vh = NULL;
    if (conn->target->tls)
        vh = loop_vhost(l, conn->ssl_ctx);
    conn->next = l->live;
    l->live = conn;
    struct lws_client_connect_info ci = {
        .context = l->ctx,
        .vhost = vh,
        .address = conn->target->address,
        .port = conn->target->port,
        .ssl_connection = conn_ssl_flags(conn),
        .path = conn->target->path,
        .host = conn->target->server_name,
        .origin = NULL,
        .protocol = NULL, /* no subprotocol: text messages, one JSON event each */
        .local_protocol_name = KC_WS_PROTOCOL,
        .userdata = conn,
        .pwsi = &conn->wsi,
        .alpn = "http/1.1",
    };
    bool started = (!conn->target->tls || vh) && lws_client_connect_via_info(&ci) != NULL;
    if (started)
        return;
    /* lws freed the wsi (or never made one); it may already have reported why. */
    pthread_mutex_lock(&conn->mu);
    if (conn->state != KC_WSCONN_DONE) {
        const char *why = vh || !conn->target->tls ? "connect failed" : "TLS setup failed";
        conn_fail_locked(conn, why, strlen(why));
        conn->state = KC_WSCONN_DONE;
        conn_signal(conn);
    }
    pthread_mutex_unlock(&conn->mu);
    for (kc_wsconn **p = &l->live; *p; p = &(*p)->next)
        if (*p == conn) {
            *p = conn->next;
            break;
        }
}

/* Applies what the watching threads asked for: new connections, closes, resumed reads. */
static void loop_sync(kc_wsloop *l)
{
    pthread_mutex_lock(&l->mu);
    kc_wsconn *todo = l->pending;
    l->pending = NULL;
    pthread_mutex_unlock(&l->mu);
    /* Oldest first: pending is a LIFO stack. */
    kc_wsconn *rev = NULL;
    while (todo) {
        kc_wsconn *next = todo->next;
        todo->next = rev;
        rev = todo;
        todo = next;
    }
    for (kc_wsconn *c = l->live; c; c = c->next) {
        pthread_mutex_lock(&c->mu);
        bool close = c->close_requested && c->wsi;
        bool resume = !close && c->resume_requested && c->paused && c->wsi;
        c->resume_requested = false;
        if (resume)
            c->paused = false;
        pthread_mutex_unlock(&c->mu);
        if (close)
            lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
        else if (resume)
            lws_rx_flow_control(c->wsi, 1);
    }
    while (rev) {
        kc_wsconn *next = rev->next;
        loop_connect(l, rev);
        rev = next;
    }
}

/* ---- callbacks of one connection ---- */

static int conn_append_headers(kc_wsconn *conn, struct lws *wsi, void *in, size_t len)
{
    unsigned char **p = in, *end = *p + len;
    if (conn->authorization &&
        lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_AUTHORIZATION,
                                     (const unsigned char *)conn->authorization,
                                     (int)strlen(conn->authorization), p, end))
        return -1;
    if (conn->user_agent && lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_USER_AGENT,
                                                         (const unsigned char *)conn->user_agent,
                                                         (int)strlen(conn->user_agent), p, end))
        return -1;
    return 0;
}

/* Retry-After of a refused handshake, whole seconds (the only form client-go honours). */
static int conn_retry_after(struct lws *wsi)
{
    char buf[32];
    if (lws_hdr_copy(wsi, buf, sizeof buf, WSI_TOKEN_HTTP_RETRY_AFTER) <= 0)
        return 0;
    char *end = NULL;
    long v = strtol(buf, &end, 10);
    return end != buf && *end == '\0' && v > 0 && v <= 86400 ? (int)v : 0;
}

static void conn_connection_error(kc_wsconn *conn, struct lws *wsi, const char *in, size_t len)
{
    int status = (int)lws_http_client_http_response(wsi);
    int retry_after = status ? conn_retry_after(wsi) : 0;
    pthread_mutex_lock(&conn->mu);
    conn->http_status = status;
    conn->retry_after_s = retry_after;
    const char *why = in ? in : "connection failed";
    conn_fail_locked(conn, why, in ? strnlen(in, len) : strlen(why));
    conn_signal(conn);
    pthread_mutex_unlock(&conn->mu);
}

static void conn_established(kc_wsconn *conn)
{
    pthread_mutex_lock(&conn->mu);
    conn->state = KC_WSCONN_OPEN;
    conn->http_status = 101;
    conn->last_rx_ns = clk_mono_ns(conn->clock);
    conn_signal(conn);
    pthread_mutex_unlock(&conn->mu);
}

static void conn_receive(kc_wsconn *conn, struct lws *wsi, const void *in, size_t len)
{
    bool last = lws_is_final_fragment(wsi) && lws_remaining_packet_payload(wsi) == 0;
    pthread_mutex_lock(&conn->mu);
    kc_ws_queue_push(&conn->queue, in, len, last);
    conn->last_rx_ns = clk_mono_ns(conn->clock);
    bool pause = conn->queue.bytes >= KC_WS_QUEUE_MAX_BYTES && !conn->paused;
    if (pause)
        conn->paused = true;
    conn_signal(conn);
    pthread_mutex_unlock(&conn->mu);
    if (pause)
        lws_rx_flow_control(wsi, 0);
}

static void conn_peer_closed(kc_wsconn *conn)
{
    pthread_mutex_lock(&conn->mu);
    conn->peer_closed = true;
    pthread_mutex_unlock(&conn->mu);
}

static void conn_destroyed(kc_wsloop *l, kc_wsconn *conn)
{
    for (kc_wsconn **p = &l->live; *p; p = &(*p)->next)
        if (*p == conn) {
            *p = conn->next;
            break;
        }
    pthread_mutex_lock(&conn->mu);
    conn->wsi = NULL;
    conn->state = KC_WSCONN_DONE;
    conn_signal(conn);
    pthread_mutex_unlock(&conn->mu);
}

static int ws_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                       size_t len)
{
    kc_wsloop *l = lws_context_user(lws_get_context(wsi));
    kc_wsconn *conn = user;
    switch (reason) {
    case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
        loop_sync(l);
        return 0;
    case LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER:
        return conn ? conn_append_headers(conn, wsi, in, len) : 0;
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
        if (conn)
            conn_connection_error(conn, wsi, in, len);
        return 0;
    case LWS_CALLBACK_CLIENT_ESTABLISHED:
        if (conn)
            conn_established(conn);
        return 0;
    case LWS_CALLBACK_CLIENT_RECEIVE:
        if (conn)
            conn_receive(conn, wsi, in, len);
        return 0;
    case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
        if (conn)
            conn_peer_closed(conn);
        return 0;
    case LWS_CALLBACK_WSI_DESTROY:
        if (conn)
            conn_destroyed(l, conn);
        return 0;
    default:
        return 0;
    }
}

/* ---- the loop's life ---- */

/*
 * lws's own log lines, as our JSON log lines. Its errors (a TLS handshake that failed, ...) are
 * also reported to the watch that met them, which decides what they mean: logged as warnings.
 */
static void ws_lws_log(int level, const char *line)
{
    (void)level;
    size_t n = strlen(line);
    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        n--;
    char *msg = xstrndup(line, n);
    log_kv(LOG_WARN, msg, "component", "libwebsockets client", NULL);
    free(msg);
}

static void *loop_main(void *arg)
{
    kc_wsloop *l = arg;
    while (!atomic_load(&l->stopping))
        if (lws_service(l->ctx, 0) < 0)
            break;
    return NULL;
}

kc_wsloop *kc_wsloop_new(int connect_timeout_s, api_error *err)
{
    kc_wsloop *l = xcalloc(1, sizeof *l);
    atomic_init(&l->stopping, false);
    if (pthread_mutex_init(&l->mu, NULL) != 0)
        abort(); /* only fails for lack of memory, fatal by policy */
    /* Errors only, through our log (a process-wide lws setting, as the server's). */
    lws_set_log_level(LLL_ERR, ws_lws_log);
    struct lws_context_creation_info info = {
        .port = CONTEXT_PORT_NO_LISTEN,
        .protocols = ws_protocols,
        .options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT,
        .user = l,
        .timeout_secs = connect_timeout_s > 0 ? (unsigned)connect_timeout_s : 10,
        .pt_serv_buf_size = KC_WS_SERVICE_BUFFER_BYTES,
        .fd_limit_per_thread = 0,
    };
    l->ctx = lws_create_context(&info);
    if (!l->ctx) {
        apierr_set(err, 500, "InternalError", "WebSocket watch: lws_create_context failed");
        kc_wsloop_free(l);
        return NULL;
    }
    int rc = pthread_create(&l->thread, NULL, loop_main, l);
    if (rc != 0) {
        apierr_set(err, 500, "InternalError", "WebSocket watch: pthread_create: %s", strerror(rc));
        kc_wsloop_free(l);
        return NULL;
    }
    l->thread_started = true;
    return l;
}

void kc_wsloop_free(kc_wsloop *l)
{
    if (!l)
        return;
    if (l->thread_started) {
        atomic_store(&l->stopping, true);
        lws_cancel_service(l->ctx);
        pthread_join(l->thread, NULL);
    }
    if (l->ctx)
        lws_context_destroy(l->ctx);
    while (l->vhosts) {
        ws_vhost *next = l->vhosts->next;
        free(l->vhosts);
        l->vhosts = next;
    }
    pthread_mutex_destroy(&l->mu);
    free(l);
}

/* ---- the watching threads' side ---- */

int kc_wsloop_open(kc_wsloop *l, kc_wsconn *conn)
{
    if (pthread_mutex_init(&conn->mu, NULL) != 0)
        return -ENOMEM;
    if (clk_mono_cond_init(&conn->cond) != 0) {
        pthread_mutex_destroy(&conn->mu);
        return -ENOMEM;
    }
    conn->state = KC_WSCONN_NEW;
    conn->queue = (kc_ws_queue){0};
    conn->last_rx_ns = clk_mono_ns(conn->clock);
    conn->http_status = conn->retry_after_s = 0;
    conn->peer_closed = conn->close_requested = conn->resume_requested = conn->paused = false;
    conn->error = NULL;
    conn->wsi = NULL;
    pthread_mutex_lock(&l->mu);
    conn->next = l->pending;
    l->pending = conn;
    pthread_mutex_unlock(&l->mu);
    lws_cancel_service(l->ctx);
    return 0;
}

void kc_wsloop_resume(kc_wsloop *l, kc_wsconn *conn)
{
    pthread_mutex_lock(&conn->mu);
    bool ask = conn->paused && !conn->resume_requested;
    conn->resume_requested = conn->resume_requested || conn->paused;
    pthread_mutex_unlock(&conn->mu);
    if (ask)
        lws_cancel_service(l->ctx);
}

void kc_wsloop_close(kc_wsloop *l, kc_wsconn *conn)
{
    pthread_mutex_lock(&conn->mu);
    conn->close_requested = true;
    pthread_mutex_unlock(&conn->mu);
    lws_cancel_service(l->ctx);
    pthread_mutex_lock(&conn->mu);
    while (conn->state != KC_WSCONN_DONE) {
        /* Bounded waits: a coalesced wakeup lost to a race is asked for again. */
        struct timespec ts = clk_mono_deadline((uint64_t)KC_WS_POLL_MS * CLK_NS_PER_MS);
        if (pthread_cond_timedwait(&conn->cond, &conn->mu, &ts) == ETIMEDOUT &&
            conn->state != KC_WSCONN_DONE) {
            pthread_mutex_unlock(&conn->mu);
            lws_cancel_service(l->ctx);
            pthread_mutex_lock(&conn->mu);
        }
    }
    pthread_mutex_unlock(&conn->mu);
}

void kc_wsconn_release(kc_wsconn *conn)
{
    kc_ws_queue_clear(&conn->queue);
    free(conn->error);
    conn->error = NULL;
    pthread_cond_destroy(&conn->cond);
    pthread_mutex_destroy(&conn->mu);
}

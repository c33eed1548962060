/*
 * wswatch.c - kc_ws_watch (wswatch.h): one watch over WebSocket. The calling thread prepares
 * the handshake (credentials, TLS context), hands the connection to the loop (wsloop.c), then
 * waits for what the loop queues, feeding each message to kc_watch's decoder (a message's end
 * counts as the end of a line), until the stream ends, fn stops it, *cancel or the idle
 * deadline. The retry rules are kc_request's: once after a 401 with fresh credentials, after
 * Retry-After for a 429 or a 5xx.
 *
 * TLS contexts: one per TLS identity (server name, CA, client certificate and key, insecure
 * flag), found by a SHA-256 of those, made on first use and kept until kc_wswatch_free (the
 * loop's vhosts point at them). An exec plugin that rotates its certificate adds one each time;
 * rotations are hours apart, so the list stays short.
 */
#include "client/config_internal.h"
#include "client/rest_internal.h"
#include "client/ws_internal.h"
#include "client/wswatch.h"
#include "common/alloc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <string.h>

typedef struct ws_tls {
    unsigned char id[32]; /* SHA-256 of the identity */
    SSL_CTX *ctx;
    struct ws_tls *next;
} ws_tls;

struct kc_wswatch {
    kc_client *c;
    kc_wsloop *loop;
    pthread_mutex_t mu; /* guards tls */
    ws_tls *tls;
};

/* ---- TLS contexts ---- */

static void ws_digest_part(EVP_MD_CTX *md, const void *p, size_t n)
{
    /* Length-prefixed, so ("ab","c") and ("a","bc") differ. */
    uint64_t len = p ? n : UINT64_MAX;
    EVP_DigestUpdate(md, &len, sizeof len);
    if (p && n)
        EVP_DigestUpdate(md, p, n);
}

static bool ws_identity(const kc_config *cfg, const char *server_name, const unsigned char *cert,
                        size_t cert_len, const unsigned char *key, size_t key_len,
                        unsigned char id[32])
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    bool ok = md && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1;
    if (ok) {
        unsigned char insecure = cfg->insecure_skip_tls_verify;
        ws_digest_part(md, server_name, strlen(server_name));
        ws_digest_part(md, &insecure, 1);
        ws_digest_part(md, cfg->ca_pem, cfg->ca_pem_len);
        ws_digest_part(md, cert, cert_len);
        ws_digest_part(md, key, key_len);
        unsigned int n = 0;
        ok = EVP_DigestFinal_ex(md, id, &n) == 1 && n == 32;
    }
    EVP_MD_CTX_free(md);
    return ok;
}

/* Trust only the cluster's CA bundle (every certificate in it), as client-go does. */
static bool ws_load_ca(SSL_CTX *ctx, const unsigned char *pem, size_t len)
{
    BIO *bio = BIO_new_mem_buf(pem, (int)len);
    X509_STORE *store = SSL_CTX_get_cert_store(ctx);
    int n = 0;
    X509 *x;
    while (bio && (x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
        if (X509_STORE_add_cert(store, x) == 1)
            n++;
        X509_free(x);
    }
    ERR_clear_error(); /* the end of the bundle reads as an error */
    BIO_free(bio);
    return n > 0;
}

/* The client certificate (then its chain) and key, from PEM in memory. */
static bool ws_load_client_cert(SSL_CTX *ctx, const unsigned char *cert, size_t cert_len,
                                const unsigned char *key, size_t key_len)
{
    BIO *cb = BIO_new_mem_buf(cert, (int)cert_len);
    X509 *leaf = cb ? PEM_read_bio_X509(cb, NULL, NULL, NULL) : NULL;
    bool ok = leaf && SSL_CTX_use_certificate(ctx, leaf) == 1;
    X509_free(leaf);
    X509 *extra;
    while (ok && (extra = PEM_read_bio_X509(cb, NULL, NULL, NULL)) != NULL)
        if (SSL_CTX_add_extra_chain_cert(ctx, extra) != 1) { /* takes extra on success */
            X509_free(extra);
            ok = false;
        }
    ERR_clear_error();
    BIO_free(cb);
    BIO *kb = ok ? BIO_new_mem_buf(key, (int)key_len) : NULL;
    EVP_PKEY *pk = kb ? PEM_read_bio_PrivateKey(kb, NULL, NULL, NULL) : NULL;
    ok = pk && SSL_CTX_use_PrivateKey(ctx, pk) == 1 && SSL_CTX_check_private_key(ctx) == 1;
    EVP_PKEY_free(pk);
    BIO_free(kb);
    return ok;
}

/* The name the certificate must carry: a DNS name, or an IP address (lws checks names only). */
static bool ws_expect_name(SSL_CTX *ctx, const char *server_name)
{
    X509_VERIFY_PARAM *param = SSL_CTX_get0_param(ctx);
    unsigned char buf[16];
    if (inet_pton(AF_INET, server_name, buf) == 1 || inet_pton(AF_INET6, server_name, buf) == 1)
        return X509_VERIFY_PARAM_set1_ip_asc(param, server_name) == 1;
    X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    return X509_VERIFY_PARAM_set1_host(param, server_name, 0) == 1;
}

static SSL_CTX *ws_tls_build(const kc_config *cfg, const char *server_name,
                             const unsigned char *cert, size_t cert_len, const unsigned char *key,
                             size_t key_len, api_error *err)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    const char *what = NULL;
    if (!ctx)
        what = "SSL_CTX_new";
    else if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1)
        what = "TLS 1.2 minimum";
    if (!what) {
        SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION);
        SSL_CTX_set_verify(ctx, cfg->insecure_skip_tls_verify ? SSL_VERIFY_NONE : SSL_VERIFY_PEER,
                           NULL);
        if (cfg->ca_pem && !ws_load_ca(ctx, cfg->ca_pem, cfg->ca_pem_len))
            what = "the certificate-authority data";
        else if (!cfg->ca_pem && SSL_CTX_set_default_verify_paths(ctx) != 1)
            what = "the system trust store";
        else if (cert && key && !ws_load_client_cert(ctx, cert, cert_len, key, key_len))
            what = "the client certificate and key";
        else if (!cfg->insecure_skip_tls_verify && !ws_expect_name(ctx, server_name))
            what = "the server name";
    }
    if (!what)
        return ctx;
    ERR_clear_error();
    SSL_CTX_free(ctx);
    apierr_set(err, 0, "Transport", "WebSocket watch: TLS setup failed: %s", what);
    return NULL;
}

/* The TLS context of this identity, made on first use. NULL with *err on failure. */
static SSL_CTX *ws_tls_ctx(kc_wswatch *w, const char *server_name, const unsigned char *cert,
                           size_t cert_len, const unsigned char *key, size_t key_len,
                           api_error *err)
{
    const kc_config *cfg = w->c->cfg;
    if (!cert) {
        cert = cfg->client_cert_pem;
        cert_len = cfg->client_cert_pem_len;
        key = cfg->client_key_pem;
        key_len = cfg->client_key_pem_len;
    }
    unsigned char id[32];
    if (!ws_identity(cfg, server_name, cert, cert_len, key, key_len, id)) {
        apierr_set(err, 0, "Transport", "WebSocket watch: SHA-256 failed");
        return NULL;
    }
    pthread_mutex_lock(&w->mu);
    SSL_CTX *ctx = NULL;
    for (ws_tls *t = w->tls; t && !ctx; t = t->next)
        if (memcmp(t->id, id, sizeof id) == 0)
            ctx = t->ctx;
    if (!ctx) {
        ctx = ws_tls_build(cfg, server_name, cert, cert_len, key, key_len, err);
        if (ctx) {
            ws_tls *t = xcalloc(1, sizeof *t);
            memcpy(t->id, id, sizeof id);
            t->ctx = ctx;
            t->next = w->tls;
            w->tls = t;
        }
    }
    pthread_mutex_unlock(&w->mu);
    return ctx;
}

/* ---- life ---- */

kc_wswatch *kc_wswatch_new(kc_client *c, api_error *err)
{
    api_error ignored = API_ERROR_INIT;
    if (!err)
        err = &ignored;
    kc_wswatch *w = NULL;
    kc_ws_target probe;
    if (!c) {
        apierr_set(err, 400, "BadRequest", "kc_wswatch_new: a client is required");
    } else if (kc_ws_target_parse(c->cfg->server, c->cfg->tls_server_name, "/", &probe, err) == 0) {
        kc_ws_target_free(&probe);
        int connect_s = (c->opt.connect_timeout_ms + 999) / 1000;
        kc_wsloop *loop = kc_wsloop_new(connect_s, err);
        if (loop) {
            w = xcalloc(1, sizeof *w);
            w->c = c;
            w->loop = loop;
            if (pthread_mutex_init(&w->mu, NULL) != 0)
                abort(); /* only fails for lack of memory, fatal by policy */
        }
    }
    apierr_clear(&ignored);
    return w;
}

void kc_wswatch_free(kc_wswatch *w)
{
    if (!w)
        return;
    kc_wsloop_free(w->loop); /* first: its vhosts use the TLS contexts */
    while (w->tls) {
        ws_tls *next = w->tls->next;
        SSL_CTX_free(w->tls->ctx);
        free(w->tls);
        w->tls = next;
    }
    pthread_mutex_destroy(&w->mu);
    free(w);
}

kc_client *kc_wswatch_client(kc_wswatch *w)
{
    return w->c;
}

/* ---- one attempt ---- */

typedef struct ws_attempt {
    kc_wswatch *w;
    const char *path;
    kc_wsconn conn;
    kc_ws_target target;
    kc_call cred; /* the credentials sent (no libcurl handle): for kc_should_retry's 401 rule */
    kc_watch_decoder dec;
    atomic_bool *cancel;
    uint64_t idle_ns;
    int decode_rc;  /* the decoder's non-zero answer: 1 (stop), -EPROTO or -EMSGSIZE */
    bool cancelled; /* *cancel was seen */
    bool idle;      /* the idle deadline passed */
    bool observed;  /* on_response was told */
} ws_attempt;

/* Why ws_once asks for another attempt (any value > 0). */
#define WS_RETRY 1

static void ws_credentials_free(kc_call *cred)
{
    kc_free_secret_str(cred->authorization);
    free(cred->cert);
    kc_free_secret(cred->key, cred->key_len);
    memset(cred, 0, sizeof *cred);
}

/* Everything the handshake needs; 0 or a negative errno with *err. */
static int ws_prepare(ws_attempt *a, api_error *err)
{
    kc_client *c = a->w->c;
    if (c->cfg->proxy_url && *c->cfg->proxy_url) {
        apierr_set(err, 0, "Transport", "GET %s: WebSocket watches do not support proxy-url %s",
                   a->path, c->cfg->proxy_url);
        return -EINVAL;
    }
    int rc = kc_ws_target_parse(c->cfg->server, c->cfg->tls_server_name, a->path, &a->target, err);
    if (rc == 0)
        rc = kc_call_credentials(c, &a->cred, err);
    if (rc == 0 && a->target.tls) {
        a->conn.ssl_ctx = ws_tls_ctx(a->w, a->target.server_name, a->cred.cert, a->cred.cert_len,
                                     a->cred.key, a->cred.key_len, err);
        if (!a->conn.ssl_ctx)
            rc = -EIO;
    }
    a->conn.target = &a->target;
    a->conn.insecure = c->cfg->insecure_skip_tls_verify;
    a->conn.authorization = a->cred.authorization;
    a->conn.user_agent = c->opt.user_agent;
    a->conn.clock = c->opt.clock;
    return rc;
}

static bool ws_must_stop(ws_attempt *a, uint64_t last_rx_ns)
{
    if (a->cancel && atomic_load(a->cancel)) {
        a->cancelled = true;
        return true;
    }
    if (a->idle_ns) {
        uint64_t now = clk_mono_ns(a->w->c->opt.clock);
        if (now > last_rx_ns && now - last_rx_ns >= a->idle_ns) {
            a->idle = true;
            return true;
        }
    }
    return false;
}

/* Decodes the chunks (and frees them); a message's last piece ends a line. */
static void ws_feed(ws_attempt *a, kc_ws_chunk *chunk)
{
    while (chunk) {
        kc_ws_chunk *next = chunk->next;
        if (a->decode_rc == 0 && chunk->len > 0)
            a->decode_rc = kc_watch_decoder_feed(&a->dec, chunk->data, chunk->len);
        if (a->decode_rc == 0 && chunk->last)
            a->decode_rc = kc_watch_decoder_feed(&a->dec, "\n", 1);
        free(chunk);
        chunk = next;
    }
}

/* Tells the observer once: the handshake's status (101 when upgraded), 0 when none came. */
static void ws_observe(ws_attempt *a, kc_wsconn_state state, int status)
{
    if (a->observed || (state != KC_WSCONN_OPEN && state != KC_WSCONN_DONE))
        return;
    a->observed = true;
    kc_observe_exchange(a->w->c, status, "GET");
}

/* Waits for and decodes what the loop receives until the stream ends or must stop. */
static void ws_stream(ws_attempt *a)
{
    kc_wsconn *conn = &a->conn;
    for (;;) {
        pthread_mutex_lock(&conn->mu);
        if (!conn->queue.head && conn->state != KC_WSCONN_DONE &&
            !ws_must_stop(a, conn->last_rx_ns)) {
            struct timespec ts = clk_mono_deadline((uint64_t)KC_WS_POLL_MS * CLK_NS_PER_MS);
            pthread_cond_timedwait(&conn->cond, &conn->mu, &ts);
        }
        kc_ws_chunk *chunks = kc_ws_queue_take_all(&conn->queue);
        kc_wsconn_state state = conn->state;
        int status = conn->http_status;
        bool paused = conn->paused;
        uint64_t last_rx = conn->last_rx_ns;
        pthread_mutex_unlock(&conn->mu);
        ws_observe(a, state, status);
        ws_feed(a, chunks);
        if (a->decode_rc != 0 || (!chunks && state == KC_WSCONN_DONE))
            return;
        if (paused && chunks)
            kc_wsloop_resume(a->w->loop, conn);
        if (!chunks && ws_must_stop(a, last_rx))
            return;
    }
}

static int ws_too_large(ws_attempt *a, api_error *err)
{
    apierr_set(err, 0, "Transport",
               "GET %s: a watch event is larger than the client's limit of %zu bytes "
               "(max_watch_event_bytes)",
               a->path, a->dec.max_line);
    return -EMSGSIZE;
}

/* A refused upgrade: the 401 and Retry-After rules, else -EREMOTEIO with the status. */
static int ws_refused(ws_attempt *a, int status, int retry_after_s, kc_retry_state *st,
                      uint64_t *wait_ms, api_error *err)
{
    kc_client *c = a->w->c;
    if (status == 401 && kc_should_retry(c, "GET", &a->cred, status, st, wait_ms))
        return WS_RETRY;
    bool retriable = status == 429 || (status >= 500 && status <= 599);
    if (retriable && retry_after_s > 0 && st->retries < c->opt.max_retries) {
        st->retries++;
        atomic_fetch_add(&c->n_retries, 1);
        *wait_ms = (uint64_t)retry_after_s * 1000;
        return WS_RETRY;
    }
    kc_http_error(&a->cred, status, NULL, 0, err);
    free(err->message);
    if (status >= 200 && status <= 299) /* a server that ignored the upgrade */
        err->message = xasprintf("GET %s: the server answered %d: it does not serve watches over "
                                 "WebSocket (use the http watch transport)",
                                 a->path, status);
    else
        err->message =
            xasprintf("GET %s: the server answered %d to the WebSocket upgrade", a->path, status);
    if (err->retry_after == 0)
        err->retry_after = retry_after_s;
    return -EREMOTEIO;
}

/* How the stream ended: 0, a negative errno with *err, or WS_RETRY after *wait_ms. */
static int ws_outcome(ws_attempt *a, kc_retry_state *st, uint64_t *wait_ms, api_error *err)
{
    /* The loop has let go of conn (kc_wsloop_close): no lock needed. */
    const kc_wsconn *conn = &a->conn;
    int status = conn->http_status;
    int retry_after = conn->retry_after_s;
    bool clean = conn->peer_closed;
    const char *why = conn->error ? conn->error : "connection closed without a close frame";
    int rc = 0;
    if (a->decode_rc == 1 || a->cancelled)
        rc = 0;
    else if (a->decode_rc == -EMSGSIZE)
        rc = ws_too_large(a, err);
    else if (a->decode_rc < 0) {
        apierr_set(err, 0, "Transport", "GET %s: malformed watch event", a->path);
        rc = -EPROTO;
    } else if (a->idle) {
        apierr_set(err, 0, "Timeout", "GET %s: no data on the watch for %llu ms", a->path,
                   (unsigned long long)(a->idle_ns / CLK_NS_PER_MS));
        rc = -ETIMEDOUT;
    } else if (status != 0 && status != 101) {
        rc = ws_refused(a, status, retry_after, st, wait_ms, err);
    } else if (!clean) {
        apierr_set(err, 0, "Transport", "GET %s: %s", a->path, why);
        rc = -EIO;
    }
    return rc;
}

/* One attempt: 0, a negative errno, or WS_RETRY after *wait_ms. */
static int ws_once(kc_wswatch *w, const char *path, int idle_timeout_ms, kc_watch_fn fn, void *ctx,
                   atomic_bool *cancel, kc_retry_state *st, uint64_t *wait_ms, api_error *err)
{
    ws_attempt *a = xcalloc(1, sizeof *a);
    a->w = w;
    a->path = path;
    a->cancel = cancel;
    a->idle_ns = idle_timeout_ms > 0 ? (uint64_t)idle_timeout_ms * CLK_NS_PER_MS : 0;
    kc_watch_decoder_init(&a->dec, fn, ctx);
    a->dec.max_line = w->c->opt.max_watch_event_bytes;
    int rc = ws_prepare(a, err);
    if (rc == 0)
        rc = kc_wsloop_open(w->loop, &a->conn) == 0 ? 0 : apierr_local(err, -ENOMEM, "no memory");
    if (rc == 0) {
        atomic_fetch_add(&w->c->n_requests, 1);
        ws_stream(a);
        kc_wsloop_close(w->loop, &a->conn);
        if (!a->observed)
            kc_observe_exchange(w->c, 0, "GET");
        if (a->conn.http_status != 0)
            atomic_fetch_add(&w->c->n_connections, 1);
        rc = ws_outcome(a, st, wait_ms, err);
        kc_wsconn_release(&a->conn);
    }
    kc_watch_decoder_free(&a->dec);
    ws_credentials_free(&a->cred);
    kc_ws_target_free(&a->target);
    free(a);
    return rc;
}

int kc_ws_watch(kc_wswatch *w, const char *path, int idle_timeout_ms, kc_watch_fn fn, void *ctx,
                atomic_bool *cancel, api_error *err)
{
    api_error ignored = API_ERROR_INIT;
    if (!err)
        err = &ignored;
    int rc = -EINVAL;
    if (!w || !path || path[0] != '/' || !fn) {
        apierr_set(err, 0, "Transport",
                   "kc_ws_watch: a transport, an absolute path and a handler are required");
        apierr_clear(&ignored);
        return rc;
    }
    kc_retry_state st = {0};
    for (;;) {
        if (cancel && atomic_load(cancel)) {
            rc = 0;
            break;
        }
        kc_throttle(w->c);
        uint64_t wait_ms = 0;
        rc = ws_once(w, path, idle_timeout_ms, fn, ctx, cancel, &st, &wait_ms, err);
        if (rc != WS_RETRY)
            break;
        apierr_clear(err);
        kc_sleep(w->c, wait_ms);
    }
    apierr_clear(&ignored);
    return rc;
}

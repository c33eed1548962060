/*
 * http.c - libwebsockets glue: HTTP/1.1 over TLS, one service thread.
 *
 * Why it looks the way it does (docs/platform.md §2-§5):
 *  - HTTP/1.1 only (ALPN "http/1.1"): lws 4.1.6's h2 cannot read custom headers, caps header
 *    lists at 4 KiB and hangs on bodies without Content-Length.
 *  - A response (status line, headers and body) is built in one buffer and written with as few
 *    lws_write calls as possible: the first piece straight from the request callback, the rest
 *    on WRITEABLE in 64 KiB slices so that big LISTs never sit twice in memory.
 *  - Watch streams are framed as chunked encoding by hand (lws does not do it for us), or, when
 *    the request asked to upgrade to WebSocket, sent as one text message per event over lws's
 *    WebSocket role (websocket.h has the WebSocket-specific rules; docs/api.md §6.1).
 *  - Only this thread touches sockets. Other threads hand work back through as_post_completion()
 *    and as_wake_watchers(), which only queue and call lws_cancel_service().
 */
#include "apiserver/transport/http.h"
#include "apiserver/transport/chunked.h"
#include "apiserver/transport/headrec.h"
#include "apiserver/transport/offload.h"
#include "apiserver/transport/websocket.h"
#include "apiserver/transport/workers.h"
#include "common/alloc.h"
#include "common/json.h"
#include "common/log.h"
#include "common/utf8.h"

#include <libwebsockets.h>
#include <openssl/asn1.h>
#include <openssl/crypto.h>
#include <openssl/ssl.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <time.h>

/* uthash allocates through the project's wrappers, so out-of-memory has one policy. */
#define uthash_malloc(sz)    xmalloc(sz)
#define uthash_free(ptr, sz) free(ptr)
#include <uthash.h>

#define MAX_BODY_BYTES (3 * 1024 * 1024) /* kube-apiserver's default MaxRequestBodyBytes */
#define WRITE_SLICE    (64 * 1024)       /* most bytes copied into wbuf, and watch batch size */
#define BODY_SLICE     (16 * 1024)       /* one TLS record of a big body per lws_write */
#define BODY_BUDGET    (512 * 1024)      /* most bytes of a body written per WRITEABLE turn */
/*
 * lws 4.1.6 keeps the request line and headers in one buffer of this size per connection (while
 * the request is served): at most 65535, its offsets are 16-bit. A request head that does not fit
 * makes lws close the connection without an answer (it calls us with nothing), so the limit is
 * as high as lws allows. Below it, token_limits cut any one part of the path or query at
 * URI_PART_MAX bytes; lws then skips the rest of the request line, reads the headers, and we
 * answer 414 (check_request_line). Memory: lws allocates the buffer without touching it, so a
 * connection costs the pages its request head fills, not 64 KiB.
 */
#define MAX_HEADER_BYTES 65535
#define URI_PART_MAX     32768
#define DRAIN_MAX        (16 * 1024 * 1024)   /* most body bytes dropped after a refusal */
#define DRAIN_SECONDS    10                   /* how long a refused body may take to end */
#define SPARE_MAX        (4 * 1024 * 1024)    /* biggest body buffer a connection keeps for reuse */
#define MIN_TIMER_US     10000                /* a watch timer never fires more often than this */
#define SWEEP_EVERY_US   (5 * LWS_US_PER_SEC) /* how often idle watches are checked for a hang-up */
#define WS_IDLE_BUFFER   4096                 /* biggest buffer an idle WebSocket watch keeps */
/*
 * Slow clients (docs/design.md §4.15), on the connection's lws timer, never restarted by the bytes
 * that trickle in (lws's own timeouts are): the first request head must be complete (TLS
 * handshake included) within HEAD_SECONDS of the connection's accept, each next one within
 * KEEPALIVE_SECONDS of the previous response (lws's idle keep-alive timeout is the same); a body
 * must be complete within --request-timeout of its head.
 */
#define HEAD_SECONDS      10
#define KEEPALIVE_SECONDS 120
#define CONN_LOG_HYSTERESIS                                                                        \
    10                        /* the cap is logged again once open connections fall 10 % under it */
#define FD_SPARE        64    /* descriptors beyond the connections: listener, loop, files */
#define MAX_CONNECTIONS 65535 /* lws counts header slots in 16 bits */

/*
 * TLS as kube-apiserver serves it: TLS 1.2 at least (also set on the SSL_CTX in the callback,
 * since SSL_OP_NO_* alone is deprecated), for TLS 1.2 only ECDHE key exchange with AEAD ciphers
 * (TLS 1.3's suites are all AEAD), no renegotiation (a client could make us redo handshakes at
 * will), no compression (CRIME).
 */
#define TLS12_CIPHERS                                                                              \
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"                                   \
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"                                   \
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"
#define TLS_OPTIONS                                                                                \
    (SSL_OP_NO_SSLv3 | SSL_OP_NO_TLSv1 | SSL_OP_NO_TLSv1_1 | SSL_OP_NO_RENEGOTIATION |             \
     SSL_OP_NO_COMPRESSION | SSL_OP_CIPHER_SERVER_PREFERENCE)

/* How a request's body is framed (read_framing). */
typedef enum body_framing {
    BODY_NONE,
    BODY_LENGTH,
    BODY_CHUNKED,
} body_framing;

/* Per-connection state, from the first request to the wsi's destruction (see conn_of). */
typedef struct as_conn {
    struct lws *wsi;
    as_http *http;
    authn_conn auth; /* what authentication remembers of this TLS connection */
    /* The request in progress (NULL between requests). */
    as_req *req;
    bool waiting_body;
    bool chunked_body; /* Transfer-Encoding: chunked, de-framed by `dechunk` */
    chunked_decoder dechunk;
    bool close_after; /* close the connection once the response is written */
    bool drain_after; /* ... but first read and drop the rest of the request body (refuse) */
    bool draining;    /* the answer is written; dropping body bytes until the body ends */
    size_t drained;   /* body bytes dropped so far */
    /* Output: bytes [woff, wbuf.len) still to write; the first LWS_PRE bytes are padding. */
    sbuf wbuf;
    size_t woff;
    /* A big response body is written from here, after wbuf (which holds its first part), so it
       is never copied a second time; bytes [boff, wbody.len) are still to write. */
    sbuf wbody;
    /* The previous response body's buffer, handed to the next request on this connection:
       allocating a fresh big LIST body per request costs a page fault per 4 KiB. */
    sbuf spare;
    size_t boff;
    bool response_complete; /* wbuf holds the whole response (not a streaming watch) */
    bool watch_streaming;
    bool watch_ending; /* the terminating chunk is queued */
    bool watch_more;   /* the last fill stopped at its size limit: look again after writing */
    struct as_conn *wnext, *wprev;
    /* WebSocket (the watch was upgraded): the stream's events not yet sent, one per line, from
       wsq_off on; each goes out as one text message (ws_next_message). */
    bool ws;
    bool ws_timer_due; /* the watch timer fired: re-arm it after the next fill */
    sbuf wsq;
    size_t wsq_off;
} as_conn;

/* The transport: one per listener. Service thread only, except where a field says otherwise. */
struct as_http {
    as_http_options opt;
    struct lws_context *lws;       /* guarded by done_mu against as_http_stop for other threads */
    as_offload *offload;           /* the compute thread of write requests (offload.h) */
    authn_user anonymous;          /* the identity of a request without credentials */
    atomic_bool wake_pending;      /* a lws_cancel_service() has not been serviced yet */
    SSL_CTX *ssl_ctx;              /* the listener's TLS context (its client CA list changes) */
    authn *owned_auth;             /* opt.auth when it came from as_http_set_auth, else NULL */
    _Atomic(authn *) pending_auth; /* as_http_set_auth's, not installed yet; any thread */

    /* Requests whose work completed elsewhere, waiting to be resumed on the service thread.
       Guarded by done_mu; filled by any thread, drained by the service thread. */
    pthread_mutex_t done_mu;
    as_req *done_head, *done_tail;

    as_conn *watchers; /* connections streaming a response (doubly linked) */
    int parked;        /* requests waiting for work elsewhere */
    lws_sorted_usec_list_t sweep_sul, tick_sul;
    struct lws_token_limits token_limits;
    struct lws_protocols *protocols; /* "http", then every name of ws_protocols (make_protocols) */
    as_limits limits;                /* requests, watches and bodies admitted (limits.h) */
    int connections;                 /* open sockets of the vhost (listener included) */
    bool conn_cap_logged;            /* the connection cap was hit and logged (once) */
};

/* ---- parameters and responses ---------------------------------------------------------- */

const char *as_param_get(const as_req *req, const char *key)
{
    for (int i = req->nparams - 1; i >= 0; i--)
        if (strcmp(req->params[i].key, key) == 0)
            return req->params[i].value;
    return NULL;
}

/* RFC 9110 tchar: what a header name may be made of. */
static bool is_tchar(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static bool is_token(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (!is_tchar((unsigned char)*s))
            return false;
    return true;
}

/* A byte that must never reach a header line: C0 controls but HTAB, and DEL. */
static bool is_header_ctl(unsigned char c)
{
    return (c < 0x20 && c != '\t') || c == 0x7f;
}

/* Appends value with every control byte written as a space (see as_add_header). */
static void append_header_value(sbuf *out, const char *value)
{
    const char *run = value;
    for (const char *p = value;; p++) {
        if (*p && !is_header_ctl((unsigned char)*p))
            continue;
        sbuf_append(out, run, (size_t)(p - run));
        if (!*p)
            return;
        sbuf_putc(out, ' ');
        run = p + 1;
    }
}

void as_add_header(as_req *req, const char *name, const char *value)
{
    if (!is_token(name)) {
        log_kv(LOG_ERROR, "response header with an invalid name not added", "name", name, NULL);
        return;
    }
    /* Appends rather than printf: this runs several times for every request. */
    sbuf_puts(&req->headers, name);
    sbuf_append(&req->headers, ": ", 2);
    append_header_value(&req->headers, value);
    sbuf_append(&req->headers, "\r\n", 2);
}

/* ---- warnings (as kube-apiserver's warning recorder) ------------------------------------- */

#define WARN_TOTAL_RUNES 4096 /* characters of warning text per response before cutting */
#define WARN_ITEM_RUNES  256  /* what each warning is cut to once the total is passed */

typedef struct as_warning {
    char *text;   /* owned; valid UTF-8 without control characters (sanitize_warning) */
    size_t runes; /* characters in text */
    UT_hash_handle hh;
} as_warning;

struct as_warnings {
    as_warning *all; /* uthash table by text; iterates in the order added */
    size_t written;  /* characters counted against WARN_TOTAL_RUNES */
    bool truncating; /* the budget was passed: every warning is cut to WARN_ITEM_RUNES */
};

/* Copies text into out as valid UTF-8 without control characters (those and bytes that are
   not UTF-8 become U+FFFD); returns the number of characters written. */
static size_t sanitize_warning(const char *text, sbuf *out)
{
    const unsigned char *s = (const unsigned char *)text;
    size_t n = strlen(text), runes = 0;
    for (size_t i = 0; i < n; runes++) {
        unsigned cp = 0;
        size_t len = utf8_sequence(s + i, n - i, &cp);
        bool control = cp < 0x20 || (cp >= 0x7f && cp <= 0x9f);
        if (len == 0 || control) {
            sbuf_append(out, "\xef\xbf\xbd", 3);
            i += len ? len : 1;
        } else {
            sbuf_append(out, s + i, len);
            i += len;
        }
    }
    return runes;
}

void as_add_warning(as_req *req, const char *text)
{
    if (!text || !*text)
        return;
    as_warnings *w = req->warnings;
    if (!w)
        w = req->warnings = xcalloc(1, sizeof *w);
    if (w->truncating && w->written >= WARN_TOTAL_RUNES)
        return; /* the budget is spent: kube drops the rest */
    sbuf clean = SBUF_INIT;
    size_t runes = sanitize_warning(text, &clean);
    as_warning *found = NULL;
    HASH_FIND(hh, w->all, clean.data, clean.len, found);
    if (found) {
        sbuf_free(&clean);
        return;
    }
    as_warning *e = xcalloc(1, sizeof *e);
    size_t len = clean.len;
    e->text = sbuf_detach(&clean, NULL);
    e->runes = runes;
    HASH_ADD_KEYPTR(hh, w->all, e->text, len, e);
    if (w->truncating) {
        w->written += runes < WARN_ITEM_RUNES ? runes : WARN_ITEM_RUNES;
    } else if (w->written + runes <= WARN_TOTAL_RUNES) {
        w->written += runes;
    } else {
        /* Over budget: from now on every warning, those already added too, is cut short. */
        w->truncating = true;
        w->written = 0;
        for (as_warning *x = w->all; x; x = x->hh.next)
            w->written += x->runes < WARN_ITEM_RUNES ? x->runes : WARN_ITEM_RUNES;
    }
}

void as_clear_warnings(as_req *req)
{
    as_warnings *w = req->warnings;
    req->warnings = NULL;
    if (!w)
        return;
    as_warning *e, *tmp;
    HASH_ITER(hh, w->all, e, tmp)
    {
        HASH_DEL(w->all, e);
        free(e->text);
        free(e);
    }
    free(w);
}

void as_render_warnings(const as_req *req, sbuf *out)
{
    const as_warnings *w = req->warnings;
    if (!w)
        return;
    for (const as_warning *e = w->all; e; e = e->hh.next) {
        sbuf_append(out, "Warning: 299 - \"", 16);
        size_t runes = 0;
        for (const char *p = e->text; *p; p++) {
            bool starts_rune = ((unsigned char)*p & 0xc0) != 0x80;
            if (starts_rune && w->truncating && runes++ == WARN_ITEM_RUNES)
                break;
            if (*p == '"' || *p == '\\')
                sbuf_putc(out, '\\');
            sbuf_putc(out, *p);
        }
        sbuf_append(out, "\"\r\n", 3);
    }
}

void as_respond(as_req *req, int status, const char *content_type, const char *body, size_t len)
{
    req->status = status;
    req->responded = true;
    sbuf_reset(&req->out);
    if (content_type)
        as_add_header(req, "Content-Type", content_type);
    sbuf_append(&req->out, body, len);
}

void as_respond_json(as_req *req, int status, const char *json, size_t len)
{
    as_respond(req, status, "application/json", json, len);
}

void as_respond_error(as_req *req, const api_error *err)
{
    char *body = apierr_to_status_json(err);
    if (err->retry_after) {
        char v[16];
        snprintf(v, sizeof v, "%d", err->retry_after);
        as_add_header(req, "Retry-After", v);
    }
    as_respond_json(req, err->code, body, strlen(body));
    free(body);
}

void as_respond_status(as_req *req, int code, const char *reason, const char *fmt, ...)
{
    api_error e = API_ERROR_INIT;
    va_list ap;
    va_start(ap, fmt);
    sbuf msg = SBUF_INIT;
    sbuf_vprintf(&msg, fmt, ap);
    va_end(ap);
    apierr_set(&e, code, reason, "%s", msg.data ? msg.data : "");
    sbuf_free(&msg);
    as_respond_error(req, &e);
    apierr_clear(&e);
}

/* ---- parking and completions ------------------------------------------------------------ */

void as_req_park(as_req *req, as_resume_fn fn, void *data)
{
    if (as_offload_stage_park(req, fn, data))
        return; /* on the compute thread: parked for real when its job ends (offload.h) */
    req->parked = true;
    req->resume = fn;
    req->resume_data = data;
    req->http->parked++;
}

void as_req_stream(as_req *req, const as_stream_ops *ops, void *stream)
{
    req->stream_ops = ops;
    req->stream = stream;
}

void as_req_offload(as_req *req, void (*fn)(as_req *req, void *data), void *data)
{
    as_offload_run(req->http->offload, req, fn, data);
}

void as_req_after_job(as_req *req, void (*fn)(as_req *req, void *arg), void *arg)
{
    if (!as_offload_stage_after(req, fn, arg))
        fn(req, arg);
}

/* Service thread, once the job that parked req (if any) is over: the work may start. */
static void start_park_work(as_req *req, void *data)
{
    as_workers_submit(req->park_workers, req->park_work, data);
}

void as_req_park_on(as_req *req, as_workers *w, void (*work)(void *data), as_resume_fn resume,
                    void *data)
{
    req->park_workers = w;
    req->park_work = work;
    as_req_park(req, resume, data);
    as_req_after_job(req, start_park_work, data);
}

/*
 * Wakes the service loop unless a wake-up is already on its way: the loop clears wake_pending
 * before it looks at the queue and the cache, so whatever is added after that sees it clear and
 * wakes it again. Under done_mu, because as_http_stop may be destroying the context.
 */
static void wake_locked(as_http *http)
{
    if (http->lws && !atomic_exchange(&http->wake_pending, true))
        lws_cancel_service(http->lws);
}

void as_post_completion(as_http *http, as_req *req)
{
    pthread_mutex_lock(&http->done_mu);
    req->next_done = NULL;
    if (http->done_tail)
        http->done_tail->next_done = req;
    else
        http->done_head = req;
    http->done_tail = req;
    wake_locked(http);
    pthread_mutex_unlock(&http->done_mu);
}

void as_http_set_auth(as_http *http, authn *a)
{
    authn_free(atomic_exchange(&http->pending_auth, a)); /* one never installed: unused */
    as_wake_watchers(http);
}

/* Service thread: installs the chain as_http_set_auth left, if any. */
static void install_auth(as_http *http)
{
    authn *a = atomic_exchange(&http->pending_auth, NULL);
    if (!a)
        return;
    if (http->ssl_ctx && authn_configure_ssl_ctx(a, http->ssl_ctx) != 0)
        log_kv(LOG_ERROR, "the reloaded client CAs are not advertised to new connections", NULL);
    authn_free(http->owned_auth);
    http->owned_auth = a;
    http->opt.auth = a;
}

void as_wake_watchers(as_http *http)
{
    pthread_mutex_lock(&http->done_mu);
    wake_locked(http);
    pthread_mutex_unlock(&http->done_mu);
}

/* ---- request lifecycle ------------------------------------------------------------------ */

/* Gives back what admit() counted for req: its seat in flight and its body's budget. */
static void release_admission(as_req *req)
{
    as_limits *l = &req->http->limits;
    if (req->admitted)
        as_limits_release(l, req->limit_kind, req->admitted_exempt);
    req->admitted = false;
    as_limits_release_body(l, req->body_reserved);
    req->body_reserved = 0;
}

/* Reports a handled request as over (as_http_options.done). */
static void report_done(as_req *req)
{
    const as_http_options *o = &req->http->opt;
    if (!req->handled || !o->done)
        return;
    uint64_t now = o->clock ? clk_mono_ns(o->clock) : 0;
    o->done(req->app, req, now > req->arrived_ns ? now - req->arrived_ns : 0);
}

static void req_free(as_req *req)
{
    if (!req)
        return;
    report_done(req);
    release_admission(req);
    free(req->path);
    for (int i = 0; i < req->nparams; i++) {
        free(req->params[i].key);
        free(req->params[i].value);
    }
    free(req->params);
    free(req->accept);
    free(req->content_type);
    free(req->if_none_match);
    sbuf_free(&req->body);
    authn_user_free(req->owned_user);
    if (req->bearer_token) {
        OPENSSL_cleanse(req->bearer_token, req->bearer_token_len);
        free(req->bearer_token);
    }
    sbuf_free(&req->headers);
    as_clear_warnings(req);
    sbuf_free(&req->out);
    if (req->stream)
        req->stream_ops->free(req->stream);
    free(req);
}

static char *header_dup(struct lws *wsi, enum lws_token_indexes tok)
{
    int n = lws_hdr_total_length(wsi, tok);
    if (n <= 0)
        return NULL;
    char *s = xmalloc((size_t)n + 1);
    if (lws_hdr_copy(wsi, s, n + 1, tok) < 0) {
        free(s);
        return NULL;
    }
    return s;
}

/* Whether fragment i of header tok is present: lws_hdr_fragment_length says 0 for an empty
   fragment and for a missing one alike, lws_hdr_copy_fragment tells them apart. */
static bool has_fragment(struct lws *wsi, enum lws_token_indexes tok, int i)
{
    char one[1];
    return lws_hdr_fragment_length(wsi, tok, i) > 0 ||
           lws_hdr_copy_fragment(wsi, one, sizeof one, tok, i) == 0;
}

/*
 * Reads the query parameters in full: each fragment lws stored, whatever its length, into a
 * buffer of its size. lws_hdr_copy_fragment tells an absent fragment (-1) from an empty one
 * (0), so "a=1&&b=2" is read to its end. Returns 0, or -1 with err set (as_query_parse).
 */
static int read_params(as_req *req, struct lws *wsi, api_error *err)
{
    as_query_frag *frags = NULL;
    int n = 0;
    for (;; n++) {
        int len = lws_hdr_fragment_length(wsi, WSI_TOKEN_HTTP_URI_ARGS, n);
        char *buf = xmalloc((size_t)len + 1);
        int got = lws_hdr_copy_fragment(wsi, buf, len + 1, WSI_TOKEN_HTTP_URI_ARGS, n);
        if (got < 0) {
            free(buf);
            break;
        }
        frags = xrealloc(frags, sizeof *frags * (size_t)(n + 1));
        frags[n] = (as_query_frag){.data = buf, .len = (size_t)got};
    }
    int rc = as_query_parse(frags, n, &req->params, &req->nparams, err);
    for (int i = 0; i < n; i++)
        free((char *)frags[i].data);
    free(frags);
    return rc;
}

/*
 * Whether lws read the request line to its end. It stores the HTTP version last; it never
 * stores it when it stopped early: at a decoded CR or LF (it skips the rest of the line, query
 * included), or at a path or query part of URI_PART_MAX bytes (token_limits: it cuts the part
 * there and skips the rest). Returns 0, or -1 with err set: 414 for a part too long, else 400.
 */
static int check_request_line(struct lws *wsi, const char *path, api_error *err)
{
    if (lws_hdr_total_length(wsi, WSI_TOKEN_HTTP) > 0)
        return 0;
    bool too_long = path && strlen(path) >= URI_PART_MAX;
    for (int i = 0; !too_long; i++) {
        if (!has_fragment(wsi, WSI_TOKEN_HTTP_URI_ARGS, i))
            break;
        too_long = lws_hdr_fragment_length(wsi, WSI_TOKEN_HTTP_URI_ARGS, i) >= URI_PART_MAX;
    }
    if (too_long)
        apierr_set(err, 414, "BadRequest",
                   "the request URI is too long: each part of the path and each query parameter "
                   "may have at most %d bytes, the request line and headers %d bytes in all",
                   URI_PART_MAX - 1, MAX_HEADER_BYTES - 1);
    else
        apierr_set(err, 400, "BadRequest",
                   "the request line cannot be read in full: it holds an encoded NUL, CR or LF "
                   "character");
    return -1;
}

/*
 * The longest Content-Length value lws 4.1.6 reads: it copies the header into a 32-byte buffer
 * less one and takes atoll() of it, so a longer value (even "000...0088") reads as "" = 0: no
 * body, and the body's bytes are parsed as the next request (request smuggling).
 */
#define LWS_CONTENT_LENGTH_MAX 30

/* Plain decimal digits, then optional spaces or tabs (lws skips those before the value). */
static bool is_plain_length(const char *s, size_t *ndigits)
{
    size_t n = strspn(s, "0123456789");
    *ndigits = n;
    return n > 0 && s[n + strspn(s + n, " \t")] == '\0';
}

/*
 * How the request frames its body, read once here and agreeing with lws 4.1.6, which reads
 * Content-Length itself with atoll() to know how many body bytes to pass on: a value lws could
 * read differently (signed, hex, spaced inside, longer than LWS_CONTENT_LENGTH_MAX, repeated)
 * is refused before any body is read. Sets *framing and *len (the Content-Length; past DRAIN_MAX
 * some value over it, also with a 413, for the caller to decide whether to drain). Returns 0, or -1
 * with err set: 400 for an unreadable or repeated Content-Length, for Content-Length together with
 * Transfer-Encoding (request smuggling), or for a Transfer-Encoding other than chunked; 413
 * when the body announced is over MAX_BODY_BYTES.
 */
static int read_framing(struct lws *wsi, body_framing *framing, long long *len, api_error *err)
{
    *framing = BODY_NONE;
    *len = 0;
    bool has_cl = has_fragment(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH, 0);
    bool has_te = has_fragment(wsi, WSI_TOKEN_HTTP_TRANSFER_ENCODING, 0);
    if (has_cl && has_te) {
        apierr_set(err, 400, "BadRequest",
                   "a request may not have both Content-Length and Transfer-Encoding");
        return -1;
    }
    if (has_te) {
        char *te = header_dup(wsi, WSI_TOKEN_HTTP_TRANSFER_ENCODING);
        size_t n = te ? strlen(te) : 0;
        while (n && (te[n - 1] == ' ' || te[n - 1] == '\t'))
            n--; /* trailing whitespace is not part of a header value */
        bool chunked = n == 7 && strncasecmp(te, "chunked", 7) == 0;
        free(te);
        if (!chunked) {
            apierr_set(err, 400, "BadRequest",
                       "unsupported Transfer-Encoding: only \"chunked\" is supported");
            return -1;
        }
        *framing = BODY_CHUNKED;
        return 0;
    }
    if (!has_cl)
        return 0;
    if (has_fragment(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH, 1)) {
        apierr_set(err, 400, "BadRequest", "a request may have one Content-Length header only");
        return -1;
    }
    char *cl = header_dup(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH);
    size_t ndigits = 0;
    bool plain = cl && is_plain_length(cl, &ndigits);
    bool lws_reads_it = cl && strlen(cl) <= LWS_CONTENT_LENGTH_MAX;
    long long v = 0;
    for (size_t i = 0; plain && i < ndigits && v <= DRAIN_MAX; i++)
        v = v * 10 + (cl[i] - '0');
    free(cl);
    if (!plain) {
        apierr_set(err, 400, "BadRequest",
                   "invalid Content-Length: it must be a decimal number of bytes");
        return -1;
    }
    /* Past DRAIN_MAX: some value above it. lws reads no body at all for a value it cannot
       copy: nothing to drain then (the bytes that follow are not read as a body). */
    *len = lws_reads_it ? v : DRAIN_MAX + 1;
    if (v > MAX_BODY_BYTES) {
        apierr_set(err, 413, "RequestEntityTooLarge", "the request body is larger than %d bytes",
                   MAX_BODY_BYTES);
        return -1;
    }
    if (!lws_reads_it) {
        apierr_set(err, 400, "BadRequest", "invalid Content-Length: longer than %d characters",
                   LWS_CONTENT_LENGTH_MAX);
        return -1;
    }
    *framing = BODY_LENGTH;
    return 0;
}

static const struct {
    enum lws_token_indexes tok;
    as_method method;
    const char *name;
} methods[] = {
    {WSI_TOKEN_GET_URI, AS_GET, "GET"},
    {WSI_TOKEN_POST_URI, AS_POST, "POST"},
    {WSI_TOKEN_PUT_URI, AS_PUT, "PUT"},
    {WSI_TOKEN_PATCH_URI, AS_PATCH, "PATCH"},
    {WSI_TOKEN_DELETE_URI, AS_DELETE, "DELETE"},
    {WSI_TOKEN_HEAD_URI, AS_HEAD, "HEAD"},
    {WSI_TOKEN_OPTIONS_URI, AS_OPTIONS, "OPTIONS"},
};

static as_req *req_new(as_conn *c, const char *path)
{
    as_req *req = xcalloc(1, sizeof *req);
    req->http = c->http;
    req->app = c->http->opt.app;
    req->conn = c;
    req->out = c->spare; /* reused, emptied */
    sbuf_reset(&req->out);
    sbuf_init(&c->spare);
    req->path = xstrdup(path ? path : "/");
    req->method = AS_METHOD_OTHER;
    req->method_name = "OTHER";
    for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++) {
        if (lws_hdr_total_length(c->wsi, methods[i].tok) > 0) {
            req->method = methods[i].method;
            req->method_name = methods[i].name;
            break;
        }
    }
    req->accept = header_dup(c->wsi, WSI_TOKEN_HTTP_ACCEPT);
    req->content_type = header_dup(c->wsi, WSI_TOKEN_HTTP_CONTENT_TYPE);
    req->if_none_match = header_dup(c->wsi, WSI_TOKEN_HTTP_IF_NONE_MATCH);
    req->status = 200;
    req->arrived_ns = c->http->opt.clock ? clk_mono_ns(c->http->opt.clock) : 0;
    return req;
}

/* ---- authentication --------------------------------------------------------------------- */

/* Sets req->user through the one authentication chain (authn.h). A rejected credential leaves
   the request anonymous with credentials_rejected set: the handler decides (a 401, but for the
   health checks). */
/*
 * The head the client sent for req, as recorded from the TLS stream (headrec.h), when its
 * connection records heads (a client certificate was sent to a delegated server); NULL
 * otherwise, or when it is not the head lws parsed (logged: the connection is out of step).
 */
static headrec_head *recorded_head(as_conn *c, as_req *req)
{
    SSL *ssl = lws_get_ssl(c->wsi);
    if (!ssl || !headrec_attached(ssl))
        return NULL;
    headrec_head *h = headrec_take(ssl);
    int len = lws_hdr_custom_length(c->wsi, "x-remote-user:", 14);
    char *user = len >= 0 ? xmalloc((size_t)len + 1) : NULL;
    if (user && lws_hdr_custom_copy(c->wsi, user, len + 1, "x-remote-user:", 14) < 0) {
        free(user);
        user = NULL;
    }
    bool same = headrec_matches(h, req->method_name, "x-remote-user", user);
    free(user);
    if (!same) {
        log_kv(LOG_WARN, "recorded request head does not match the request", "path", req->path,
               NULL);
        headrec_head_free(h);
        return NULL;
    }
    return h;
}

void as_req_set_user(as_req *req, authn_user *u)
{
    authn_user_free(req->owned_user);
    req->owned_user = u;
    req->user = u;
}

/* Delegated: keeps the bearer token of an anonymous request for the handler's TokenReview. */
static void keep_token_for_review(as_req *req, const authn_request *ar)
{
    size_t len = 0;
    const char *tok = ar->authorization ? authn_bearer_token(ar->authorization, &len) : NULL;
    if (!tok && ar->protocol_token && !ar->protocol_token_invalid) {
        tok = ar->protocol_token;
        len = ar->protocol_token_len;
    }
    if (!tok)
        return;
    req->bearer_token = xmalloc(len + 1);
    memcpy(req->bearer_token, tok, len);
    req->bearer_token[len] = '\0';
    req->bearer_token_len = len;
}

static void authenticate(as_conn *c, as_req *req, const ws_offer *offer)
{
    char *authz = header_dup(c->wsi, WSI_TOKEN_HTTP_AUTHORIZATION);
    SSL *ssl = lws_get_ssl(c->wsi);
    headrec_head *head = recorded_head(c, req);
    authn_request ar = {.ssl = ssl, .conn = &c->auth, .authorization = authz, .head = head};
    if (offer) {
        ar.protocol_token = offer->token;
        ar.protocol_token_len = offer->token_len;
        ar.protocol_token_invalid = offer->token_invalid;
    }
    authn_user *u = NULL;
    if (authn_authenticate(c->http->opt.auth, &ar, &u) == 0) {
        req->owned_user = u; /* lives as long as req: a compute job may read it after a hang-up */
        req->user = u;
        if (c->http->opt.delegated && authn_user_is_anonymous(u))
            keep_token_for_review(req, &ar);
    } else {
        req->user = &c->http->anonymous;
        req->credentials_rejected = true;
        /* kube's union of authenticators: an error counts only if nobody succeeds, and the
           TokenReview has not spoken yet. */
        if (c->http->opt.delegated)
            keep_token_for_review(req, &ar);
    }
    headrec_head_free(head);
    if (authz)
        OPENSSL_cleanse(authz, strlen(authz));
    free(authz);
}

/* ---- output ----------------------------------------------------------------------------- */

static const char *status_text(int code)
{
    switch (code) {
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 202:
        return "Accepted";
    case 304:
        return "Not Modified";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 406:
        return "Not Acceptable";
    case 409:
        return "Conflict";
    case 410:
        return "Gone";
    case 411:
        return "Length Required";
    case 413:
        return "Request Entity Too Large";
    case 414:
        return "URI Too Long";
    case 415:
        return "Unsupported Media Type";
    case 422:
        return "Unprocessable Entity";
    case 429:
        return "Too Many Requests";
    case 500:
        return "Internal Server Error";
    case 503:
        return "Service Unavailable";
    case 504:
        return "Gateway Timeout";
    default:
        return "Status";
    }
}

/* Writes v in decimal into out (room for 20 digits); returns the length. */
static size_t decimal(char *out, uint64_t v)
{
    char tmp[24];
    size_t n = 0;
    do
        tmp[n++] = (char)('0' + v % 10);
    while ((v /= 10) != 0);
    for (size_t i = 0; i < n; i++)
        out[i] = tmp[n - 1 - i];
    return n;
}

static void wbuf_begin(as_conn *c)
{
    sbuf_reset(&c->wbuf);
    sbuf_reserve(&c->wbuf, LWS_PRE);
    memset(c->wbuf.data, 0, LWS_PRE);
    c->wbuf.len = LWS_PRE;
    c->woff = LWS_PRE;
}

static void append_status_line(as_conn *c, as_req *req)
{
    char code[16];
    sbuf_append(&c->wbuf, "HTTP/1.1 ", 9);
    sbuf_append(&c->wbuf, code, decimal(code, (uint64_t)req->status));
    sbuf_putc(&c->wbuf, ' ');
    sbuf_puts(&c->wbuf, status_text(req->status));
    sbuf_append(&c->wbuf, "\r\n", 2);
    if (req->headers.len)
        sbuf_append(&c->wbuf, req->headers.data, req->headers.len);
    as_render_warnings(req, &c->wbuf);
    if (c->close_after)
        sbuf_puts(&c->wbuf, "Connection: close\r\n");
}

/* Serializes a complete response into the connection's write buffers. */
static void queue_response(as_conn *c, as_req *req)
{
    wbuf_begin(c);
    append_status_line(c, req);
    char len[24];
    sbuf_append(&c->wbuf, "Content-Length: ", 16);
    sbuf_append(&c->wbuf, len, decimal(len, req->out.len));
    sbuf_append(&c->wbuf, "\r\n\r\n", 4);
    c->response_complete = true;
    if (req->method == AS_HEAD || !req->out.len)
        return;
    /* The first part goes with the headers (one write, one TLS record for small answers); the
       rest stays where the handler built it. lws_write needs LWS_PRE writable bytes before the
       data, which the already-sent first part provides. */
    size_t first = req->out.len > WRITE_SLICE ? WRITE_SLICE : req->out.len;
    sbuf_append(&c->wbuf, req->out.data, first);
    if (first < req->out.len) {
        sbuf_free(&c->wbody);
        c->wbody = req->out;
        sbuf_init(&req->out);
        c->boff = first;
    }
}

static void watch_list_add(as_conn *c)
{
    as_http *http = c->http;
    c->wprev = NULL;
    c->wnext = http->watchers;
    if (http->watchers)
        http->watchers->wprev = c;
    http->watchers = c;
    c->watch_streaming = true;
}

static void watch_list_remove(as_conn *c)
{
    if (!c->watch_streaming)
        return;
    as_http *http = c->http;
    if (c->wprev)
        c->wprev->wnext = c->wnext;
    else
        http->watchers = c->wnext;
    if (c->wnext)
        c->wnext->wprev = c->wprev;
    c->wnext = c->wprev = NULL;
    c->watch_streaming = false;
}

/*
 * Arms the stream's timer for its next bookmark or its timeout. Only when the stream starts and
 * when the timer fires: lws keeps timers in one sorted list, so re-arming a thousand watchers on
 * every event would cost their square.
 */
static void arm_watch_timer(as_conn *c)
{
    int64_t us = c->req->stream_ops->next_timer_us(c->req->stream);
    if (us >= 0 && us < MIN_TIMER_US)
        us = MIN_TIMER_US; /* what is due waits for bytes still pending, not in a busy loop */
    lws_set_timer_usecs(c->wsi, us < 0 ? LWS_SET_TIMER_USEC_CANCEL : (lws_usec_t)us);
}

static void queue_watch_headers(as_conn *c, as_req *req)
{
    wbuf_begin(c);
    append_status_line(c, req);
    sbuf_puts(&c->wbuf, "Content-Type: application/json\r\nCache-Control: no-cache, private\r\n"
                        "Transfer-Encoding: chunked\r\n\r\n");
    c->response_complete = false;
    watch_list_add(c);
    /* A watch is long-lived by design: no lws idle timeout while it streams. Everything it needs
       of its head is copied into req, so its header slot goes back to the pool now. */
    lws_set_timeout(c->wsi, NO_PENDING_TIMEOUT, 0);
    lws_http_headers_detach(c->wsi);
    arm_watch_timer(c);
}

/* Appends the watch's pending events as one chunk; queues the last chunk when it ends. */
static void fill_watch(as_conn *c)
{
    sbuf payload = SBUF_INIT;
    bool done = false;
    bool more = false;
    c->req->stream_ops->fill(c->req->stream, &payload, WRITE_SLICE, &done, &more);
    if (c->woff >= c->wbuf.len)
        wbuf_begin(c); /* else append behind what is still pending (the headers) */
    if (payload.len) {
        sbuf_printf(&c->wbuf, "%zx\r\n", payload.len);
        sbuf_append(&c->wbuf, payload.data, payload.len);
        sbuf_puts(&c->wbuf, "\r\n");
    }
    c->watch_more = more;
    sbuf_free(&payload);
    if (done) {
        sbuf_puts(&c->wbuf, "0\r\n\r\n");
        c->watch_ending = true;
        lws_set_timer_usecs(c->wsi, LWS_SET_TIMER_USEC_CANCEL);
    }
}

/* Keeps the bigger of two body buffers (within SPARE_MAX) as the connection's spare. */
static void keep_spare(as_conn *c, sbuf *b)
{
    if (b->cap > c->spare.cap && b->cap <= SPARE_MAX) {
        sbuf_free(&c->spare);
        c->spare = *b;
        sbuf_init(b);
    }
    sbuf_free(b);
}

static void end_request(as_conn *c)
{
    watch_list_remove(c);
    if (c->req)
        keep_spare(c, &c->req->out);
    keep_spare(c, &c->wbody);
    req_free(c->req);
    c->req = NULL;
    c->response_complete = c->watch_ending = false;
    /* The next head's deadline (replaced by the body's or cancelled once it is read). */
    lws_set_timer_usecs(c->wsi, (lws_usec_t)KEEPALIVE_SECONDS * LWS_US_PER_SEC);
    /* Keep a small buffer for the next request on this connection, not a big LIST's. */
    if (c->wbuf.cap > WRITE_SLICE)
        sbuf_free(&c->wbuf);
    else
        sbuf_reset(&c->wbuf);
    c->woff = c->boff = 0;
}

/*
 * Writes what is pending, one slice at most. Returns -1 when the connection must close, else 0.
 * Asks for another WRITEABLE turn when more remains.
 */
static int write_pending(as_conn *c)
{
    size_t left = c->wbuf.len - c->woff;
    if (left) {
        size_t n = left > WRITE_SLICE ? WRITE_SLICE : left;
        bool first = c->woff == LWS_PRE;
        int wr = lws_write(c->wsi, (unsigned char *)c->wbuf.data + c->woff, n,
                           first ? LWS_WRITE_HTTP_HEADERS : LWS_WRITE_HTTP);
        if (wr < 0)
            return -1;
        c->woff += n;
        if (c->woff < c->wbuf.len || c->boff < c->wbody.len) {
            lws_callback_on_writable(c->wsi);
            return 0;
        }
    } else if (c->boff < c->wbody.len) {
        /* Write record-sized pieces while the socket takes them: a write the kernel cannot take
           whole is copied into lws's own buffer and trickled out, which is far slower. */
        size_t budget = BODY_BUDGET;
        do {
            size_t n = c->wbody.len - c->boff > BODY_SLICE ? BODY_SLICE : c->wbody.len - c->boff;
            if (lws_write(c->wsi, (unsigned char *)c->wbody.data + c->boff, n, LWS_WRITE_HTTP) < 0)
                return -1;
            c->boff += n;
            budget -= n < budget ? n : budget;
        } while (c->boff < c->wbody.len && budget && !lws_send_pipe_choked(c->wsi));
        if (c->boff < c->wbody.len) {
            lws_callback_on_writable(c->wsi);
            return 0;
        }
    }
    if (c->watch_streaming && !c->watch_ending && c->watch_more) {
        c->watch_more = false;
        lws_callback_on_writable(c->wsi);
    }
    if (c->response_complete || c->watch_ending) {
        bool close = c->close_after;
        end_request(c);
        if (close && c->drain_after) {
            /* The answer is out; read and drop the rest of the refused body before closing. */
            c->draining = true;
            lws_set_timeout(c->wsi, PENDING_TIMEOUT_HTTP_CONTENT, DRAIN_SECONDS);
            lws_set_timer_usecs(c->wsi, c->http->limits.cfg.request_timeout_ms * LWS_US_PER_MS);
            return 0;
        }
        if (close || lws_http_transaction_completed(c->wsi))
            return -1;
        return 0;
    }
    return 0;
}

/* After routing or resuming: serialize the response (or start the watch stream). */
static void finish(as_conn *c, as_req *req)
{
    if (req->parked)
        return;
    if (req->close_connection)
        c->close_after = true;
    if (req->stream && !req->responded) {
        queue_watch_headers(c, req);
        fill_watch(c);
    } else {
        queue_response(c, req);
    }
}

static void log_request(as_req *req)
{
    if (log_verbosity() < 2)
        return;
    char code[8];
    snprintf(code, sizeof code, "%d", req->status);
    log_kv(LOG_DEBUG, "request", "verb", req->method_name, "path", req->path, "code", code, "user",
           req->user ? req->user->name : "", NULL);
}

static bool is_write(as_method m)
{
    return m == AS_POST || m == AS_PUT || m == AS_PATCH || m == AS_DELETE;
}

static void handle_job(as_req *req, void *data)
{
    (void)data;
    req->http->opt.handle(req->app, req);
}

/* ---- admission under load (limits.h) --------------------------------------------------- */

/* What req counts as (limits.h). */
static as_req_kind kind_of(const as_req *req)
{
    bool get = req->method == AS_GET;
    return as_limits_kind(is_write(req->method), get, req->websocket, req->path,
                          get ? as_param_get(req, "watch") : NULL);
}

/* Counts req in flight and reserves body_len bytes of the body budget for it. Returns 0, or
   -1 with err set to kube's 429 when either is at its limit (what was counted is given back
   when req is freed). */
static int admit(as_http *http, as_req *req, size_t body_len, api_error *err)
{
    req->limit_kind = kind_of(req);
    req->admitted_exempt = req->limit_exempt || authn_user_has_group(req->user, "system:masters");
    if (!as_limits_admit(&http->limits, req->limit_kind, req->admitted_exempt)) {
        as_limits_too_many(err);
        return -1;
    }
    req->admitted = true;
    if (!as_limits_reserve_body(&http->limits, body_len)) {
        as_limits_too_many(err);
        return -1;
    }
    req->body_reserved = body_len;
    return 0;
}

/*
 * The head's checks, before any body is read: the handler's (as_handler_fn with at_head: a 401
 * ...), then admission (a 429). Returns true when req is answered (refused).
 */
static bool refused_at_head(as_conn *c, as_req *req, size_t body_len)
{
    req->at_head = true;
    c->http->opt.handle(req->app, req);
    req->at_head = false;
    api_error err = API_ERROR_INIT;
    if (!req->responded && admit(c->http, req, body_len, &err) == 0)
        return false;
    if (!req->responded) {
        as_respond_error(req, &err);
        apierr_clear(&err);
    }
    req->handled = true; /* reported done like any answered request */
    return true;
}

int as_http_inflight(const as_http *http, as_req_kind kind)
{
    return as_limits_inflight(&http->limits, kind);
}

uint64_t as_http_rejected(const as_http *http)
{
    return http->limits.rejected;
}

static int dispatch(as_conn *c)
{
    as_req *req = c->req;
    lws_set_timer_usecs(c->wsi, LWS_SET_TIMER_USEC_CANCEL); /* the body's deadline */
    req->handled = true;
    if (is_write(req->method))
        as_offload_run(c->http->offload, req, handle_job, NULL); /* bodies, patches, rules */
    else
        c->http->opt.handle(req->app, req);
    if (!req->parked)
        log_request(req); /* a parked request is logged when it is answered */
    finish(c, req);
    if (req->parked)
        return 0;
    return write_pending(c);
}

/* ---- completions (service thread) ------------------------------------------------------- */

/* Takes every queued completion (a list linked by next_done). */
static as_req *take_completions(as_http *http)
{
    pthread_mutex_lock(&http->done_mu);
    as_req *list = http->done_head;
    http->done_head = http->done_tail = NULL;
    pthread_mutex_unlock(&http->done_mu);
    return list;
}

static void drain_completions(as_http *http)
{
    as_req *list = take_completions(http);
    while (list) {
        as_req *req = list;
        list = req->next_done;
        http->parked--;
        req->parked = false;
        req->resume(req, req->resume_data);
        if (req->parked)
            continue; /* parked again (e.g. a retried write) */
        if (req->orphaned) {
            req_free(req);
            continue;
        }
        as_conn *c = req->conn;
        log_request(req);
        finish(c, req);
        /* Answer now rather than after another poll turn (HTTP/1.1: see wake_watchers). */
        if (lws_partial_buffered(c->wsi))
            lws_callback_on_writable(c->wsi);
        else if (write_pending(c) < 0)
            lws_set_timeout(c->wsi, PENDING_TIMEOUT_CLOSE_SEND, LWS_TO_KILL_ASYNC);
    }
}

/* ---- WebSocket watches ------------------------------------------------------------------ */

/* The upgrade is done (LWS_CALLBACK_ESTABLISHED): the watch the request was handed starts. */
static int on_ws_established(as_conn *c)
{
    if (!c->req || !c->req->stream)
        return -1; /* cannot happen: only a watch is let through on_upgrade */
    c->ws = true;
    c->response_complete = false;
    watch_list_add(c);
    lws_set_timeout(c->wsi, NO_PENDING_TIMEOUT, 0); /* long-lived by design */
    arm_watch_timer(c);
    lws_callback_on_writable(c->wsi);
    return 0;
}

/* An idle watch keeps no burst-sized buffers: a thousand idle watchers would hold them all. */
static void idle_ws_buffers(as_conn *c)
{
    if (c->wsq.cap > WS_IDLE_BUFFER)
        sbuf_free(&c->wsq);
    if (c->wbuf.cap > WS_IDLE_BUFFER)
        sbuf_free(&c->wbuf);
    c->wsq_off = 0;
}

/* Asks the stream for its next events into wsq (which is fully sent). */
static void fill_ws(as_conn *c)
{
    bool done = false, more = false;
    sbuf_reset(&c->wsq);
    c->wsq_off = 0;
    c->req->stream_ops->fill(c->req->stream, &c->wsq, WRITE_SLICE, &done, &more);
    c->watch_more = more;
    if (done) {
        c->watch_ending = true;
        lws_set_timer_usecs(c->wsi, LWS_SET_TIMER_USEC_CANCEL);
    } else if (c->ws_timer_due) {
        arm_watch_timer(c);
    }
    c->ws_timer_due = false;
}

/*
 * WRITEABLE on an upgraded watch: sends the pending events, one text message each, until about
 * WRITE_SLICE bytes went or the socket is full (then asks for another turn); fills from the
 * stream when all is sent; after the last event, a close frame (1000) ends the connection.
 * Returns -1 to close, else 0.
 */
static int on_ws_writeable(as_conn *c)
{
    if (!c->req || !c->req->stream)
        return -1;
    size_t sent = 0;
    for (;;) {
        const char *msg;
        size_t n;
        if (!ws_next_message(c->wsq.data, c->wsq.len, &c->wsq_off, &msg, &n)) {
            if (c->watch_ending) {
                lws_close_reason(c->wsi, LWS_CLOSE_STATUS_NORMAL, NULL, 0);
                return -1; /* lws sends the close frame, then closes */
            }
            if (sent && c->watch_more) /* more is ready: in another turn, not all at once */
                break;
            fill_ws(c);
            if (!c->wsq.len && !c->watch_ending) {
                idle_ws_buffers(c);
                return 0; /* nothing new: the next wake-up or timer brings us back */
            }
            continue;
        }
        wbuf_begin(c); /* lws_write needs LWS_PRE bytes of room before the message */
        sbuf_append(&c->wbuf, msg, n);
        if (lws_write(c->wsi, (unsigned char *)c->wbuf.data + LWS_PRE, n, LWS_WRITE_TEXT) < 0)
            return -1;
        sent += n;
        if (sent >= WRITE_SLICE || lws_send_pipe_choked(c->wsi) || lws_partial_buffered(c->wsi))
            break;
    }
    lws_callback_on_writable(c->wsi);
    return 0;
}

/* Writes a refused upgrade's answer (an HTTP response: the upgrade does not happen) at once;
   lws buffers what the socket does not take. Returns 0, or -1 if the connection failed. */
static int write_refused_upgrade(as_conn *c)
{
    as_req *req = c->req;
    log_request(req);
    queue_response(c, req);
    int rc = lws_write(c->wsi, (unsigned char *)c->wbuf.data + c->woff, c->wbuf.len - c->woff,
                       LWS_WRITE_HTTP_HEADERS);
    if (rc >= 0 && c->boff < c->wbody.len)
        rc = lws_write(c->wsi, (unsigned char *)c->wbody.data + c->boff, c->wbody.len - c->boff,
                       LWS_WRITE_HTTP);
    end_request(c);
    return rc < 0 ? -1 : 0;
}

/* The request's Sec-WebSocket-Protocol header lines, parsed (ws_offer_parse). */
static int read_offer(struct lws *wsi, ws_offer *offer, api_error *err)
{
    const char *lines[WS_MAX_PROTOCOLS];
    size_t lens[WS_MAX_PROTOCOLS];
    int n = 0;
    for (; n < WS_MAX_PROTOCOLS && has_fragment(wsi, WSI_TOKEN_PROTOCOL, n); n++) {
        int len = lws_hdr_fragment_length(wsi, WSI_TOKEN_PROTOCOL, n);
        char *buf = xmalloc((size_t)len + 1);
        if (lws_hdr_copy_fragment(wsi, buf, len + 1, WSI_TOKEN_PROTOCOL, n) < 0)
            buf[0] = '\0', len = 0;
        lines[n] = buf;
        lens[n] = (size_t)len;
    }
    int rc;
    if (n == WS_MAX_PROTOCOLS && has_fragment(wsi, WSI_TOKEN_PROTOCOL, n)) {
        memset(offer, 0, sizeof *offer);
        apierr_set(err, 400, "BadRequest", "more than %d WebSocket subprotocols offered",
                   WS_MAX_PROTOCOLS);
        rc = -EINVAL;
    } else {
        rc = ws_offer_parse(lines, lens, n, offer, err);
    }
    for (int i = 0; i < n; i++)
        free((char *)lines[i]);
    return rc;
}

/* The path of an upgrade request: lws holds it in its method's token (LWS_CALLBACK_HTTP, which
   would pass it, does not come for an upgrade). NULL when lws read no request line. */
static char *upgrade_path(struct lws *wsi)
{
    for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++)
        if (lws_hdr_total_length(wsi, methods[i].tok) > 0)
            return header_dup(wsi, methods[i].tok);
    return NULL;
}

/* Reads what an upgrade request says beyond its headers (on_http's checks, and the offered
   subprotocols). Returns 0, or -1 with err set. */
static int read_upgrade(as_conn *c, const char *path, ws_offer *offer, body_framing *framing,
                        api_error *err)
{
    long long len;
    if (check_request_line(c->wsi, path, err) != 0 || read_params(c->req, c->wsi, err) != 0 ||
        read_framing(c->wsi, framing, &len, err) != 0)
        return -1;
    return read_offer(c->wsi, offer, err) == 0 ? 0 : -1;
}

/*
 * Whether a watch can be upgraded with this offer: lws must select one of the protocols offered
 * (it never selects the token, and drops an upgrade whose offer it cannot select from), and read
 * the header (ws_offer_fits_lws). Returns 0, or -EINVAL with err a 400.
 */
static int check_offer(const ws_offer *offer, size_t header_len, api_error *err)
{
    if (!offer->selected && offer->noffered) {
        apierr_set(err, 400, "BadRequest",
                   "none of the offered WebSocket subprotocols is supported: offer "
                   "base64.binary.k8s.io, or none");
        return -EINVAL;
    }
    if (!offer->selected && offer->has_token) {
        apierr_set(err, 400, "BadRequest",
                   "a bearer token subprotocol needs another subprotocol beside it for the "
                   "server to select, such as base64.binary.k8s.io");
        return -EINVAL;
    }
    return ws_offer_fits_lws(offer, header_len, err) == 0 ? 0 : -EINVAL;
}

/*
 * LWS_CALLBACK_HTTP_CONFIRM_UPGRADE for "websocket": lws asks before it upgrades. The request is
 * read, authenticated and handled like any other; the rest layer answers a watch with a stream
 * and refuses (400) any other upgrade. A stream: returns 0 and lws upgrades, selecting the first
 * offered protocol it has registered (ws_protocols: the one the offer selected; never the
 * token). Anything else is answered here as plain HTTP, and returns 1 (lws completes the
 * transaction), or -1 to hang up after the answer (a request with a body, which lws would read
 * as the next one, or one it could not read whole).
 */
/* Hands an admitted upgrade request to the handler, then checks a watch's offer (check_offer:
   a 400 instead of the stream). Returns 0, or -1 when the handler parked it. */
static int handle_upgrade(as_conn *c, as_req *req, const ws_offer *offer)
{
    req->handled = true;
    c->http->opt.handle(req->app, req); /* a GET: never offloaded */
    if (req->parked)
        return -1;
    api_error err = API_ERROR_INIT;
    size_t header_len = (size_t)lws_hdr_total_length(c->wsi, WSI_TOKEN_PROTOCOL);
    if (req->stream && !req->responded && check_offer(offer, header_len, &err) != 0) {
        req->stream_ops->free(req->stream);
        req->stream = NULL;
        as_respond_error(req, &err);
        apierr_clear(&err);
    }
    return 0;
}

static int on_upgrade(as_conn *c)
{
    struct lws *wsi = c->wsi;
    if (c->req)
        end_request(c);
    char *path = upgrade_path(wsi);
    c->req = req_new(c, path);
    as_req *req = c->req;
    req->websocket = true;
    api_error err = API_ERROR_INIT;
    ws_offer offer = {0};
    body_framing framing = BODY_NONE;
    bool unreadable = read_upgrade(c, path, &offer, &framing, &err) != 0;
    if (unreadable) {
        req->user = &c->http->anonymous;
        as_respond_error(req, &err);
        apierr_clear(&err);
    } else {
        authenticate(c, req, &offer);
        if (!refused_at_head(c, req, 0) && handle_upgrade(c, req, &offer) != 0) {
            free(path);
            ws_offer_clear(&offer);
            return -1; /* no read parks; should one, it is orphaned on close */
        }
    }
    free(path);
    ws_offer_clear(&offer);
    if (req->stream && !req->responded) {
        req->status = 101; /* what lws answers next: Switching Protocols */
        log_request(req);
        return 0;
    }
    if (req->status < 300) /* the rest layer refuses non-watch upgrades; never let one by */
        as_respond_status(req, 400, "BadRequest",
                          "only watch requests can be upgraded to WebSocket");
    /* After a request lws may not have read to its end (a body, a bad request line), close. */
    c->close_after = unreadable || framing != BODY_NONE;
    if (write_refused_upgrade(c) < 0 || c->close_after)
        return -1;
    return 1;
}

/*
 * LWS_CALLBACK_HTTP_CONFIRM_UPGRADE for anything but WebSocket (lws itself answers 403 to
 * upgrades it does not know): h2c, which lws would accept even over TLS, bringing back the
 * HTTP/2 defects the listener avoids (ALPN http/1.1, see the top). A 400, then the connection
 * closes (the request may have a body lws has not read).
 */
static int refuse_other_upgrade(as_conn *c)
{
    if (c->req)
        end_request(c);
    char *path = upgrade_path(c->wsi);
    c->req = req_new(c, path);
    free(path);
    c->req->user = &c->http->anonymous;
    as_respond_status(c->req, 400, "BadRequest",
                      "unsupported upgrade: only a watch can be upgraded, to WebSocket");
    c->close_after = true;
    write_refused_upgrade(c);
    return -1;
}

static int on_writeable(as_conn *c)
{
    if (!c->req || c->req->parked)
        return 0;
    if (c->woff >= c->wbuf.len && c->boff >= c->wbody.len && c->watch_streaming && !c->watch_ending)
        fill_watch(c);
    return write_pending(c);
}

static bool stream_idle(const as_conn *c)
{
    return c->woff >= c->wbuf.len && c->boff >= c->wbody.len && !c->watch_ending;
}

/* A bookmark or the timeout is due: write it now if nothing is pending, then re-arm. */
static int on_watch_timer(as_conn *c)
{
    if (!c->req || !c->watch_streaming)
        return 0;
    if (c->ws) { /* filled on WRITEABLE, which re-arms the timer */
        c->ws_timer_due = true;
        lws_callback_on_writable(c->wsi);
        return 0;
    }
    if (!stream_idle(c) || lws_partial_buffered(c->wsi)) {
        lws_callback_on_writable(c->wsi);
        arm_watch_timer(c);
        return 0;
    }
    fill_watch(c);
    if (!c->watch_ending)
        arm_watch_timer(c);
    return write_pending(c); /* last: completing a transaction may free c */
}

/*
 * New events: every idle watch stream writes them now, from this callback, rather than asking
 * for a WRITEABLE turn each: with a thousand watchers that saves a poll cycle and a callback per
 * stream per event. (HTTP/1.1 only: lws appends to its own buffer what a socket cannot take, so
 * writing outside WRITEABLE keeps the byte order.) A stream with bytes still pending, or whose
 * write fails, goes through WRITEABLE as usual.
 */
static void wake_watchers(as_http *http)
{
    as_conn *next;
    for (as_conn *c = http->watchers; c; c = next) {
        next = c->wnext;          /* c may leave the list when its stream ends */
        struct lws *wsi = c->wsi; /* c may be freed once its stream completes */
        if (c->ws || !stream_idle(c) || lws_partial_buffered(wsi))
            lws_callback_on_writable(wsi);
        else if (on_writeable(c) < 0)
            lws_set_timeout(wsi, PENDING_TIMEOUT_CLOSE_SEND, LWS_TO_KILL_ASYNC);
    }
}

/* ---- the lws callback ------------------------------------------------------------------- */

static bool method_has_body(as_method m)
{
    return m == AS_POST || m == AS_PUT || m == AS_PATCH;
}

/*
 * Answers err (a request refused before routing) and closes the connection after the answer.
 * drain: the client may still be sending a body lws reads for us (its Content-Length or chunked
 * framing is trustworthy): the connection reads and drops it after the answer, so that the
 * client reads the answer rather than a reset caused by closing with its bytes unread.
 */
static int refuse(as_conn *c, api_error *err, bool drain)
{
    as_req *req = c->req;
    c->close_after = true;
    c->drain_after = drain;
    c->waiting_body = false;
    req->user = &c->http->anonymous;
    as_respond_error(req, err);
    apierr_clear(err);
    finish(c, req);
    return write_pending(c);
}

/*
 * Sends the answer given at the head (refused_at_head). A request without a body keeps its
 * connection; one with a body is never read: its bytes are dropped as they come (drain, within
 * the body's deadline), then the connection closes.
 */
static int answer_at_head(as_conn *c, bool has_body)
{
    as_req *req = c->req;
    if (has_body) {
        c->close_after = true;
        c->drain_after = true;
        lws_set_timer_usecs(c->wsi, c->http->limits.cfg.request_timeout_ms * LWS_US_PER_MS);
    }
    log_request(req);
    finish(c, req);
    return write_pending(c);
}

static int on_http(as_conn *c, const char *path)
{
    struct lws *wsi = c->wsi;
    if (c->req)
        end_request(c);
    c->req = req_new(c, path);
    as_req *req = c->req;
    api_error err = API_ERROR_INIT;
    if (check_request_line(wsi, path, &err) != 0 || read_params(req, wsi, &err) != 0)
        return refuse(c, &err, false);
    body_framing framing;
    long long len;
    if (read_framing(wsi, &framing, &len, &err) != 0)
        return refuse(c, &err, err.code == 413 && len <= DRAIN_MAX);
    if (framing == BODY_NONE && method_has_body(req->method)) {
        apierr_set(&err, 411, "LengthRequired", "a Content-Length header is required");
        return refuse(c, &err, false);
    }
    /* lws delivers body callbacks for any CL > 0, and for POST even with CL 0. */
    bool has_body =
        framing == BODY_CHUNKED || len > 0 || (framing == BODY_LENGTH && req->method == AS_POST);
    if (framing == BODY_CHUNKED) {
        /* lws passes the framing through and never completes such a body: de-chunk here, and
           close afterwards since lws still believes the body goes on. */
        c->chunked_body = true;
        c->close_after = true;
        chunked_init(&c->dechunk);
    }
    authenticate(c, req, NULL);
    if (refused_at_head(c, req, framing == BODY_LENGTH ? (size_t)len : 0))
        return answer_at_head(c, has_body);
    if (!has_body)
        return dispatch(c);
    c->waiting_body = true;
    /* The whole body must be in by then (on_body_deadline), however it trickles. */
    lws_set_timer_usecs(wsi, c->http->limits.cfg.request_timeout_ms * LWS_US_PER_MS);
    return 0;
}

/* No complete request head by its deadline (HEAD_SECONDS): the connection closes, with no
   answer (there is no request to answer). Returns -1. */
static int on_head_deadline(void)
{
    if (log_verbosity() >= 2)
        log_kv(LOG_DEBUG, "request head not complete by the deadline; connection closed", NULL);
    return -1;
}

/* The body's deadline passed (a body still coming, or a refused one still being dropped):
   the connection closes, with no answer (the client is not reading one). Returns -1. */
static int on_body_deadline(as_conn *c)
{
    if (log_verbosity() >= 2)
        log_kv(LOG_DEBUG, "request body not complete by the deadline; connection closed", "path",
               c->req ? c->req->path : "", NULL);
    return -1;
}

/*
 * Body bytes after a refusal (refuse with drain): dropped, until the body ends (the chunked
 * terminator, or lws's BODY_COMPLETION for a Content-Length body) or DRAIN_MAX bytes have gone,
 * whichever comes first. Then the connection closes: at once if the answer is out (returns -1),
 * else as soon as it is (drain_after cleared). Returns 0 otherwise.
 */
static int drain_body(as_conn *c, const char *in, size_t len)
{
    c->drained += len;
    bool ended = c->drained > DRAIN_MAX ||
                 (c->chunked_body && chunked_feed(&c->dechunk, in, len, NULL) != 0);
    if (!ended)
        return 0;
    if (c->draining)
        return -1;
    c->drain_after = false;
    return 0;
}

static int on_body(as_conn *c, const char *in, size_t len)
{
    if (c->draining || c->drain_after)
        return drain_body(c, in, len);
    if (!c->req || !c->waiting_body)
        return 0;
    if (!c->chunked_body) {
        /* lws passes no more than the Content-Length, which read_framing bounded; checked
           again all the same, as lws counts it on its own. */
        if (c->req->body.len + len > MAX_BODY_BYTES)
            return -1;
        sbuf_append(&c->req->body, in, len);
        return 0;
    }
    size_t before = c->req->body.len;
    int rc = chunked_feed(&c->dechunk, in, len, &c->req->body);
    api_error err = API_ERROR_INIT;
    size_t grew = c->req->body.len - before;
    if (grew && !as_limits_reserve_body(&c->http->limits, grew)) {
        as_limits_too_many(&err);
        sbuf_free(&c->req->body);
        return refuse(c, &err, rc == 0);
    }
    c->req->body_reserved += grew;
    if (c->req->body.len > MAX_BODY_BYTES) {
        /* Answered now, not after reading a body of any size: the rest is drained. */
        apierr_set(&err, 413, "RequestEntityTooLarge", "the request body is larger than %d bytes",
                   MAX_BODY_BYTES);
        sbuf_free(&c->req->body);
        return refuse(c, &err, rc == 0);
    }
    if (rc == 0)
        return 0;
    c->waiting_body = false;
    c->chunked_body = false;
    if (rc < 0) {
        apierr_set(&err, 400, "BadRequest", "malformed chunked request body");
        return refuse(c, &err, false);
    }
    return dispatch(c);
}

static void on_closed(as_conn *c)
{
    watch_list_remove(c);
    if (c->req) {
        if (c->req->parked) {
            c->req->orphaned = true; /* freed when its completion arrives */
            c->req = NULL;
        } else {
            req_free(c->req);
            c->req = NULL;
        }
    }
    authn_conn_clear(&c->auth);
    sbuf_free(&c->wbuf);
    sbuf_free(&c->wbody);
    sbuf_free(&c->spare);
    sbuf_free(&c->wsq);
}

/*
 * The connection state of a wsi. It is not lws's per-session user space: lws frees and
 * reallocates that on every HTTP/1.1 transaction (HTTP_DROP_PROTOCOL), which would forget the
 * client-certificate identity and the reusable buffers. This struct lives from the first request
 * to LWS_CALLBACK_WSI_DESTROY.
 */
static as_conn *conn_of(struct lws *wsi, bool create)
{
    as_conn *c = lws_get_opaque_user_data(wsi);
    if (!c && create) {
        c = xcalloc(1, sizeof *c);
        c->wsi = wsi;
        c->http = lws_context_user(lws_get_context(wsi));
        lws_set_opaque_user_data(wsi, c);
    }
    return c;
}

/*
 * Whether a new connection may open (LWS_CALLBACK_FILTER_NETWORK_CONNECTION: lws closes it at
 * once otherwise). Past the cap the refusal is logged once, and again only after the count has
 * fallen well under the cap, so a flood makes one log line, not one per connection.
 */
static bool admit_connection(as_http *http)
{
    int cap = http->limits.cfg.max_connections;
    if (http->connections < cap) {
        if (http->connections < cap - cap / CONN_LOG_HYSTERESIS)
            http->conn_cap_logged = false;
        return true;
    }
    if (!http->conn_cap_logged) {
        char n[16];
        snprintf(n, sizeof n, "%d", cap);
        log_kv(LOG_WARN,
               "connection cap reached: new connections are closed until some end "
               "(--max-connections)",
               "cap", n, NULL);
        http->conn_cap_logged = true;
    }
    return false;
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                    size_t len)
{
    if (reason == LWS_CALLBACK_OPENSSL_LOAD_EXTRA_SERVER_VERIFY_CERTS) {
        as_http *http = lws_context_user(lws_get_context(wsi));
        SSL_CTX *ctx = user;
        if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1) {
            log_error("cannot set the TLS minimum version");
            return 1;
        }
        SSL_CTX_set_options(ctx, TLS_OPTIONS);
        http->ssl_ctx = ctx;
        return http->opt.auth && authn_configure_ssl_ctx(http->opt.auth, ctx) != 0;
    }
    if (reason == LWS_CALLBACK_EVENT_WAIT_CANCELLED) {
        as_http *http = lws_context_user(lws_get_context(wsi));
        atomic_store(&http->wake_pending, false); /* first: see wake_locked */
        install_auth(http);
        /* Events first, then the answers to the writes that made them: a client that reads
           its own write's answer can count on its watch having the event already. */
        wake_watchers(http);
        drain_completions(http);
        return 0;
    }
    if (reason == LWS_CALLBACK_FILTER_NETWORK_CONNECTION)
        return !admit_connection(lws_context_user(lws_get_context(wsi)));
    if (reason == LWS_CALLBACK_WSI_CREATE || reason == LWS_CALLBACK_WSI_DESTROY) {
        as_http *http = lws_context_user(lws_get_context(wsi));
        http->connections += reason == LWS_CALLBACK_WSI_CREATE ? 1 : -1;
    }
    as_conn *c =
        conn_of(wsi, reason == LWS_CALLBACK_HTTP || reason == LWS_CALLBACK_HTTP_CONFIRM_UPGRADE ||
                         reason == LWS_CALLBACK_SERVER_NEW_CLIENT_INSTANTIATED);
    if (!c)
        return 0;
    switch (reason) {
    case LWS_CALLBACK_SERVER_NEW_CLIENT_INSTANTIATED:
        lws_set_timer_usecs(wsi, (lws_usec_t)HEAD_SECONDS * LWS_US_PER_SEC); /* the first head */
        return 0;
    case LWS_CALLBACK_HTTP:
        return on_http(c, in);
    case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE:
        return strcasecmp(in, "websocket") == 0 ? on_upgrade(c) : refuse_other_upgrade(c);
    case LWS_CALLBACK_ESTABLISHED:
        return on_ws_established(c);
    case LWS_CALLBACK_SERVER_WRITEABLE:
        return on_ws_writeable(c);
    case LWS_CALLBACK_RECEIVE:
        return 0; /* client messages mean nothing to a watch (lws answers pings itself) */
    case LWS_CALLBACK_HTTP_BODY:
        return on_body(c, in, len);
    case LWS_CALLBACK_HTTP_BODY_COMPLETION:
        if (c->draining)
            return -1; /* the refused body has been read: close now */
        if (c->drain_after) {
            c->drain_after = false; /* ... or once the answer is out */
            return 0;
        }
        if (c->req && c->waiting_body) {
            c->waiting_body = false;
            return dispatch(c);
        }
        return 0;
    case LWS_CALLBACK_HTTP_WRITEABLE:
        return on_writeable(c);
    case LWS_CALLBACK_TIMER:
        if (!c->req)
            return on_head_deadline();
        if (c->waiting_body || c->drain_after || c->draining)
            return on_body_deadline(c);
        return on_watch_timer(c);
    case LWS_CALLBACK_CLOSED_HTTP:
    case LWS_CALLBACK_CLOSED: /* a WebSocket watch */
        on_closed(c);
        return 0;
    case LWS_CALLBACK_WSI_DESTROY:
        on_closed(c);
        lws_set_opaque_user_data(wsi, NULL);
        free(c);
        return 0;
    default:
        return 0;
    }
}

/*
 * The vhost's protocols: "http" (the default, also of a WebSocket upgrade that offers no
 * subprotocol), then every subprotocol of ws_protocols, all served by the one callback (the
 * connection state is conn_of()'s, not lws's per-session space). lws drops an upgrade that offers
 * subprotocols none of which is registered, so every name a watch may select is here.
 */
static struct lws_protocols *make_protocols(void)
{
    int n = 0;
    while (ws_protocols[n])
        n++;
    struct lws_protocols *p = xcalloc((size_t)n + 2, sizeof *p);
    p[0] = (struct lws_protocols){.name = "http", .callback = callback};
    for (int i = 0; i < n; i++)
        p[i + 1] = (struct lws_protocols){.name = ws_protocols[i], .callback = callback};
    return p; /* p[n + 1] is the zeroed terminator */
}

static void lws_log(int level, const char *line)
{
    size_t n = strlen(line);
    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        n--;
    char *msg = xstrndup(line, n);
    log_kv(level == LLL_ERR ? LOG_ERROR : LOG_WARN, msg, "component", "libwebsockets", NULL);
    free(msg);
}

/*
 * lws does not read a connection while its response is in progress, so a client that closes an
 * idle watch is only noticed at the next write, which may be an hour away. Every few seconds the
 * watch sockets are polled for a hang-up (POLLRDHUP: the peer sent FIN) and those are closed.
 */
static void sweep_hung_up_watches(lws_sorted_usec_list_t *sul)
{
    as_http *http = lws_container_of(sul, as_http, sweep_sul);
    int n = as_http_watch_count(http), i = 0;
    struct pollfd *fds = n ? xcalloc((size_t)n, sizeof *fds) : NULL;
    for (as_conn *c = http->watchers; c; c = c->wnext, i++)
        fds[i] = (struct pollfd){.fd = lws_get_socket_fd(c->wsi), .events = POLLRDHUP};
    if (n && poll(fds, (nfds_t)n, 0) > 0) {
        i = 0;
        for (as_conn *c = http->watchers; c; c = c->wnext, i++)
            if (fds[i].revents & (POLLRDHUP | POLLHUP | POLLERR))
                lws_set_timeout(c->wsi, PENDING_TIMEOUT_CLOSE_SEND, LWS_TO_KILL_ASYNC);
    }
    free(fds);
    lws_sul_schedule(http->lws, 0, sul, sweep_hung_up_watches, SWEEP_EVERY_US);
}

/*
 * Per-token limits of the request head (see MAX_HEADER_BYTES): the path and each query
 * parameter of every method's request line stop at URI_PART_MAX bytes, so that one long
 * parameter gets a 414 rather than a closed connection; every other header may fill the buffer
 * (a limit lws reaches cuts a header short without saying so, so none is set below it).
 */
static void init_token_limits(struct lws_token_limits *limits)
{
    static const enum lws_token_indexes uri_tokens[] = {
        WSI_TOKEN_GET_URI,    WSI_TOKEN_POST_URI, WSI_TOKEN_PUT_URI,     WSI_TOKEN_PATCH_URI,
        WSI_TOKEN_DELETE_URI, WSI_TOKEN_HEAD_URI, WSI_TOKEN_OPTIONS_URI, WSI_TOKEN_CONNECT,
    };
    for (int i = 0; i < WSI_TOKEN_COUNT; i++)
        limits->token_limit[i] = MAX_HEADER_BYTES;
    for (size_t i = 0; i < sizeof uri_tokens / sizeof uri_tokens[0]; i++)
        limits->token_limit[uri_tokens[i]] = URI_PART_MAX;
}

static struct lws_context *create_context(as_http *http, api_error *err)
{
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.port = http->opt.port;
    const char *bind = http->opt.bind_address;
    info.iface = (bind && *bind && strcmp(bind, "0.0.0.0") != 0) ? bind : NULL;
    http->protocols = make_protocols();
    info.protocols = http->protocols;
    info.user = http;
    /* No OS CA store in the server's SSL_CTX: client certificates are checked against our own
       client CA bundle (authn.c, cabundle.c), and parsing the system's ~140 roots would hold
       about 680 KiB of heap for nothing. */
    info.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT | LWS_SERVER_OPTION_EXPLICIT_VHOSTS |
                   LWS_SERVER_OPTION_DISABLE_OS_CA_CERTS;
    info.ssl_cert_filepath = http->opt.cert_file;
    info.ssl_private_key_filepath = http->opt.key_file;
    info.alpn = "http/1.1";
    info.max_http_header_data = MAX_HEADER_BYTES;
    init_token_limits(&http->token_limits);
    info.token_limits = &http->token_limits;
    info.ssl_cipher_list = TLS12_CIPHERS;
    info.ssl_options_set = (long)TLS_OPTIONS;
    /* One header slot per connection the cap allows: no connection ever waits for a slot, so
       connections that hold theirs (a head coming slowly, a watch) cannot starve the others
       (docs/design.md §4.15). A slot's 64 KiB are allocated when taken, freed when given back. */
    info.max_http_header_pool = (unsigned short)http->limits.cfg.max_connections;
    info.timeout_secs_ah_idle = HEAD_SECONDS;
    /* lws sizes its fd tables by this, not by ulimit -n; room for the listener and the loop's own
       descriptors beside the connections. */
    info.fd_limit_per_thread = (unsigned int)http->limits.cfg.max_connections + FD_SPARE;
    /* lws writes (and flushes what it buffered) at most this many bytes per syscall: the default
       4 KiB turns a big LIST into a poll + 4 KiB TLS record at a time. */
    info.pt_serv_buf_size = 256 * 1024;
    info.timeout_secs = 60;
    info.keepalive_timeout = KEEPALIVE_SECONDS;
    info.vhost_name = "foo-apiserver";
    struct lws_context *ctx = lws_create_context(&info);
    if (!ctx) {
        apierr_internal(err, "cannot create the HTTP context");
        return NULL;
    }
    if (!lws_create_vhost(ctx, &info)) {
        apierr_internal(err, "cannot listen on %s:%d", bind && *bind ? bind : "0.0.0.0",
                        http->opt.port);
        lws_context_destroy(ctx);
        return NULL;
    }
    return ctx;
}

/*
 * The limits in effect: the options', with the defaults for what is zero (connections, body
 * deadline, body memory), connections within lws's reach and the process's descriptor limit
 * (raised to its hard limit if need be; a cap lowered to fit is logged).
 */
static as_limits_config effective_limits(const as_limits_config *in)
{
    as_limits_config def = as_limits_defaults(), cfg = *in;
    if (cfg.max_connections <= 0)
        cfg.max_connections = def.max_connections;
    if (cfg.max_connections > MAX_CONNECTIONS)
        cfg.max_connections = MAX_CONNECTIONS;
    if (cfg.request_timeout_ms <= 0)
        cfg.request_timeout_ms = def.request_timeout_ms;
    if (cfg.max_body_memory == 0)
        cfg.max_body_memory = def.max_body_memory;
    struct rlimit rl;
    rlim_t want = (rlim_t)cfg.max_connections + FD_SPARE;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= want)
        return cfg;
    rl.rlim_cur = rl.rlim_max < want ? rl.rlim_max : want;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0 || getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return cfg;
    if (rl.rlim_cur < want) {
        int fit = rl.rlim_cur > 2 * FD_SPARE ? (int)(rl.rlim_cur - FD_SPARE) : FD_SPARE;
        char was[16], now[16];
        snprintf(was, sizeof was, "%d", cfg.max_connections);
        snprintf(now, sizeof now, "%d", fit);
        log_kv(LOG_WARN, "the connection cap is lowered to fit the descriptor limit (ulimit -n)",
               "asked", was, "cap", now, NULL);
        cfg.max_connections = fit;
    }
    return cfg;
}

int as_http_start(const as_http_options *opt, as_http **out, api_error *err)
{
    lws_set_log_level(log_verbosity() >= 4 ? (LLL_ERR | LLL_WARN | LLL_NOTICE) : LLL_ERR, lws_log);
    as_http *http = xcalloc(1, sizeof *http);
    http->opt = *opt;
    as_limits_config limits = effective_limits(&opt->limits);
    as_limits_init(&http->limits, &limits);
    http->anonymous = (authn_user){.name = AUTHN_USER_ANONYMOUS, .uid = ""};
    pthread_mutex_init(&http->done_mu, NULL);
    int rc = as_offload_start(http, &http->offload, err);
    struct lws_context *ctx = rc == 0 ? create_context(http, err) : NULL;
    if (!ctx) {
        as_http_free(http);
        return rc ? rc : -EIO;
    }
    pthread_mutex_lock(&http->done_mu);
    http->lws = ctx;
    pthread_mutex_unlock(&http->done_mu);
    lws_sul_schedule(ctx, 0, &http->sweep_sul, sweep_hung_up_watches, SWEEP_EVERY_US);
    *out = http;
    return 0;
}

static void tick(lws_sorted_usec_list_t *sul)
{
    (void)sul; /* only wakes the loop so that the caller can look at the clock */
}

void as_http_service(as_http *http)
{
    lws_service(http->lws, 0);
}

void as_http_service_for(as_http *http, int ms)
{
    lws_sul_schedule(http->lws, 0, &http->tick_sul, tick, (lws_usec_t)ms * LWS_US_PER_MS);
    lws_service(http->lws, 0);
}

void as_http_end_watches(as_http *http)
{
    for (as_conn *c = http->watchers; c; c = c->wnext) {
        c->req->stream_ops->finish(c->req->stream);
        lws_callback_on_writable(c->wsi);
    }
}

int as_http_watch_count(as_http *http)
{
    int n = 0;
    for (as_conn *c = http->watchers; c; c = c->wnext)
        n++;
    return n;
}

int as_http_parked_count(as_http *http)
{
    return http->parked;
}

void as_http_stop(as_http *http)
{
    if (!http)
        return;
    as_offload_stop(http->offload); /* its last completions are freed by as_http_free */
    http->offload = NULL;
    /* Other threads wake the loop through http->lws under done_mu: take it away first. */
    pthread_mutex_lock(&http->done_mu);
    struct lws_context *ctx = http->lws;
    http->lws = NULL;
    pthread_mutex_unlock(&http->done_mu);
    if (ctx) {
        lws_sul_cancel(&http->tick_sul);
        lws_sul_cancel(&http->sweep_sul);
        lws_context_destroy(ctx);
    }
}

void as_http_free(as_http *http)
{
    if (!http)
        return;
    as_http_stop(http);
    /* Requests whose completion arrived after the loop stopped. */
    as_req *list = take_completions(http);
    while (list) {
        as_req *req = list;
        list = req->next_done;
        req->orphaned = true;
        req->resume(req, req->resume_data);
        req_free(req);
    }
    pthread_mutex_destroy(&http->done_mu);
    authn_free(atomic_exchange(&http->pending_auth, NULL));
    authn_free(http->owned_auth);
    free(http->protocols);
    free(http);
}

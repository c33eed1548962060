/*
 * rest_internal.h - private pieces of the REST client shared by rest.c (client, requests,
 * retries), transport.c (libcurl: global init, shared cache, handle pool, per-call options),
 * ratelimit.c (token bucket) and watch.c (watch streams). Not for use outside client/.
 */
#ifndef FOO_CLIENT_REST_INTERNAL_H
#define FOO_CLIENT_REST_INTERNAL_H

#include "client/rest.h"
#include "common/curl_lib.h" /* libcurl, loaded on first use */
#include "common/sbuf.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

/* ---- defaults (kc_client_defaults and the transport), in one place ---- */

#define KC_DEFAULT_CONNECT_TIMEOUT_MS 10000
#define KC_DEFAULT_REQUEST_TIMEOUT_MS 60000
#define KC_DEFAULT_MAX_RETRIES        10 /* client-go's maxRetries */
#define KC_DEFAULT_USER_AGENT         "foo/v0.1.0"
#define KC_TCP_KEEPIDLE_S             30 /* like Go's net.Dialer KeepAlive (client-go: 30 s) */
#define KC_TCP_KEEPINTVL_S            30
#define KC_POOL_MAX_IDLE              16    /* idle easy handles kept; extra ones are closed */
#define KC_WATCH_POLL_MS              50    /* cancel and idle checks at least this often */
#define KC_RETRY_AFTER_MAX_S          86400 /* a larger Retry-After is not honoured */
/* A response body past this fails the call (-EMSGSIZE); kube's largest LISTs stay far below. */
#define KC_DEFAULT_MAX_RESPONSE_BYTES ((size_t)256 * 1024 * 1024)
/* One watch event line past this ends the stream (-EMSGSIZE); the server's objects are at most
 * 1.5 MiB (etcd's request limit), so 16 MiB leaves room for any sane encoding. */
#define KC_DEFAULT_MAX_WATCH_LINE_BYTES ((size_t)16 * 1024 * 1024)

/* ---- token bucket (ratelimit.c) ---- */

typedef struct kc_bucket {
    pthread_mutex_t mu;
    bool enabled; /* qps > 0 */
    double qps;
    double burst;
    double tokens;    /* may go negative: tokens already promised to waiting callers */
    uint64_t last_ns; /* monotonic time of the last refill */
    clk_t *clock;
} kc_bucket;

/* A full bucket of `burst` (at least 1) tokens refilled at qps; qps <= 0 = disabled. */
void kc_bucket_init(kc_bucket *b, double qps, int burst, clk_t *clock);
void kc_bucket_deinit(kc_bucket *b);
/*
 * Takes one token and returns how many milliseconds (rounded up) the caller must wait before
 * using it: 0 when one was available or the bucket is disabled. Reservations are first come
 * first served, as Go's rate.Limiter.Wait. Thread-safe.
 */
uint64_t kc_bucket_reserve_ms(kc_bucket *b);

/* ---- the client ---- */

typedef struct kc_pool {
    pthread_mutex_t mu;
    CURL *idle[KC_POOL_MAX_IDLE]; /* LIFO: the warmest connection is reused first */
    size_t n;
} kc_pool;

struct kc_client {
    const kc_config *cfg;
    kc_client_options opt; /* defaults filled in; opt.user_agent points at user_agent */
    char *user_agent;
    char *server_host; /* "host[:port]" of cfg->server as written, for the on_response observer */
    char *base_url; /* scheme://host[:port][/prefix] without trailing '/'; host = tls-server-name */
    struct curl_slist *connect_to; /* {"::HOST:PORT"} when tls-server-name is set, else NULL */
    char *host_header; /* "Host: HOST[:PORT]" of the configured server, with connect_to */
    CURLSH *share;
    pthread_mutex_t share_mu[CURL_LOCK_DATA_LAST];
    kc_pool pool;
    kc_bucket bucket;
    atomic_uint_fast64_t n_requests, n_connections, n_retries, n_auth_retries, n_throttled_ms;
};

/* ---- transport (transport.c) ---- */

/*
 * One exchange: a pooled handle configured for one request, and what must outlive it.
 * The default write callback appends the response body to `body`, at most max_body bytes.
 */
typedef struct kc_call {
    CURL *h;
    struct curl_slist *headers; /* wiped at the end: one carries the Authorization value */
    char *authorization;        /* the Authorization value sent (for kc_credentials_invalidate) */
    bool had_credentials;       /* the source supplied a token or a client certificate */
    /* An exec plugin's certificate and key, lent to libcurl without a copy (CURL_BLOB_NOCOPY,
     * so no unwiped copy is left inside libcurl) until the call ends; then wiped. */
    unsigned char *cert, *key;
    size_t cert_len, key_len;
    char errbuf[CURL_ERROR_SIZE];
    sbuf body;
    size_t max_body;     /* the client's max_response_bytes */
    bool body_too_large; /* the write callback refused more than max_body bytes */
} kc_call;

/*
 * Appends n response bytes to call->body unless that would pass call->max_body, in which case
 * it sets call->body_too_large and returns false (the write callback then aborts the transfer).
 */
bool kc_call_keep_body(kc_call *call, const char *p, size_t n);

/*
 * The share object and its locks; the global init happens here (pthread_once). Returns 0, or a
 * negative errno with *err filled: -EINVAL (400 BadRequest) for an unusable server URL or
 * tls-server-name, another code (500 InternalError) when libcurl fails to initialise.
 */
int kc_transport_init(kc_client *c, api_error *err);
/* Cleans the pooled handles, then the share object. */
void kc_transport_deinit(kc_client *c);
/* One part of a parsed URL as a malloc'd string (curl_url_get), or NULL when absent. */
char *kc_url_part(CURLU *u, CURLUPart part, unsigned flags);
/*
 * Parses the kubeconfig's server URL into u and checks its scheme: 0 with *https set, or
 * -EINVAL with *err (a 400 naming the URL) when it does not parse or is neither https nor http.
 * Shared by the libcurl transport and the WebSocket watch, so both refuse the same URLs.
 */
int kc_url_parse_server(CURLU *u, const char *server, bool *https, api_error *err);
/*
 * Fills call->authorization, cert and key (owned by call; kc_call_end wipes and frees them) from
 * the client's credential source, and had_credentials. Returns 0, or -EACCES with *err code 0,
 * reason "Credentials" (rest.h's contract). Used by kc_call_begin and by the WebSocket watch.
 */
int kc_call_credentials(kc_client *c, kc_call *call, api_error *err);
/*
 * Takes a handle from the pool and sets every option of the request (URL, method, body, TLS,
 * proxy, headers, credentials, timeouts; watch = no total timeout and no compression).
 * Returns 0, or a negative errno with *err set (code 0, reason "Transport" or "Credentials").
 * On failure nothing needs ending.
 */
int kc_call_begin(kc_client *c, kc_call *call, const char *method, const char *path,
                  const char *content_type, const char *body, size_t len, bool watch,
                  api_error *err);
/* After a perform: adds CURLINFO_NUM_CONNECTS to the stats. */
void kc_call_count(kc_client *c, kc_call *call);
/* Gives the handle back (reset) and frees what the call holds. */
void kc_call_end(kc_client *c, kc_call *call);
/*
 * Maps a libcurl failure to a negative errno and sets *err (code 0, reason "Transport"); a body
 * refused by kc_call_keep_body gives -EMSGSIZE with a message naming the limit.
 */
int kc_transport_error(kc_call *call, CURLcode cc, const char *method, const char *path,
                       api_error *err);

/* ---- retries (rest.c) ---- */

typedef struct kc_retry_state {
    int retries;       /* Retry-After retries done */
    bool auth_retried; /* the one 401 retry is used */
} kc_retry_state;

/* Waits for a token of the client-side rate limiter (no-op when qps <= 0). */
void kc_throttle(kc_client *c);
/*
 * After a non-2xx answer on call: true when it must be repeated (after invalidating the
 * credentials for a 401), with *wait_ms to sleep first. Updates st and the stats.
 */
bool kc_should_retry(kc_client *c, const char *method, kc_call *call, long code, kc_retry_state *st,
                     uint64_t *wait_ms);
/* Fills *err from a non-2xx answer (Status body, Retry-After header). Returns -EREMOTEIO. */
int kc_http_error(kc_call *call, long code, const char *body, size_t len, api_error *err);
/* Sleeps through the client's sleep function. */
void kc_sleep(kc_client *c, uint64_t ms);

/* ---- the response observer (defined in rest.c; used for requests there, for watches in watch.c)
 * ---- */

/*
 * Tells c's on_response observer, if any, about one HTTP exchange: code is the HTTP status, 0
 * when no answer came; host is "host[:port]" cut from the configured server URL
 * ("https://h:p/prefix" gives "h:p"), as client-go labels rest_client_requests_total. Runs the
 * observer on the calling thread; call it with no lock of the client held.
 */
void kc_observe_exchange(kc_client *c, long code, const char *method);

#endif

/*
 * rest.h - REST calls to a Kubernetes API server over libcurl, and watch streams.
 *
 * One kc_client per cluster, shared by every thread of the process: connections (and TLS
 * sessions) are reused across requests and threads, HTTP/2 is used when the server offers it
 * (HTTP/1.1 otherwise), credentials come from the kc_config (refreshed, and re-fetched once after
 * a 401). Key material is passed to libcurl as in-memory blobs.
 *
 * Errors: every call returns 0 on a 2xx answer, else a negative value with *err filled:
 * a non-2xx answer is decoded from its Status body (err->code = the HTTP status); a transport
 * failure (connect, TLS, timeout, closed stream) gives err->code = 0 and reason "Transport".
 * The values: -EREMOTEIO for a non-2xx answer (read err), -ETIMEDOUT (timeout), -ECONNREFUSED,
 * -EHOSTUNREACH (name resolution), -EIO (other transport failures, TLS included), -EINVAL (bad
 * arguments), -EACCES (the credential source failed: err->code = 0, reason "Credentials"),
 * -EMSGSIZE (a response body or a watch event larger than the client's limit: err->code = 0,
 * reason "Transport", the message names the limit; nothing past the limit is held in memory).
 *
 * TLS: version 1.2 at least (CURLOPT_SSLVERSION), even where the system OpenSSL configuration
 * would allow older ones, and no renegotiation (SSL_OP_NO_RENEGOTIATION, as Go's crypto/tls
 * default); ciphers are OpenSSL 3's defaults.
 * err may be NULL when the caller only needs the return value.
 *
 * Connections: a pool of libcurl easy handles (taken for one call, given back after it) keeps
 * each handle's live connection, so sequential calls reuse one connection and concurrent calls
 * use one per thread. A CURLSH shares the DNS cache and TLS sessions (resumption) between the
 * handles. The connection cache itself is deliberately not put in the CURLSH: libcurl documents
 * that sharing connections between concurrent threads is not supported (CURLSHOPT_SHARE,
 * CURL_LOCK_DATA_CONNECT), so HTTP/2 multiplexes within one handle only.
 *
 * Process-wide effects: the first kc_client_new() loads libcurl (common/curl_lib.h), runs
 * curl_global_init() (once, pthread_once; it is never cleaned up) and, if SIGPIPE still has its
 * default action, ignores SIGPIPE: handles use CURLOPT_NOSIGNAL (required with threads), so a write
 * to a closed socket must not kill us.
 */
#ifndef FOO_CLIENT_REST_H
#define FOO_CLIENT_REST_H

#include "client/config.h"
#include "common/apierr.h"
#include "common/clock.h"

#include <cjson/cJSON.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * How the client waits (Retry-After, rate limiter). The default sleeps with nanosleep; tests
 * inject one that advances a fake clock so no test waits for real.
 */
typedef void (*kc_sleep_fn)(void *ctx, uint64_t ms);

typedef struct kc_client_options {
    double qps;                   /* client-side rate limit; <= 0 = none (controller-runtime) */
    int burst;                    /* token bucket size when qps > 0 */
    int connect_timeout_ms;       /* default 10 s */
    int request_timeout_ms;       /* total time of a non-watch call; default 60 s */
    int max_retries;              /* 429/5xx retries of GET/HEAD (and any verb on 429), honouring
                                     Retry-After; default 10, as client-go */
    const char *user_agent;       /* default "foo/<version>"; copied */
    size_t max_response_bytes;    /* larger bodies fail with -EMSGSIZE; 0 = 256 MiB */
    size_t max_watch_event_bytes; /* a longer watch line ends the stream with -EMSGSIZE;
                                     0 = 16 MiB */
    clk_t *clock;                 /* default clk_system(); also the watch idle deadline's clock */
    kc_sleep_fn sleep;            /* default: nanosleep */
    void *sleep_ctx;
    /*
     * Optional observer of every HTTP exchange of kc_request / kc_request_json (retries count
     * one each) and of every watch attempt (once, when the answer's head arrives, as client-go
     * counts a watch when it starts): code is the HTTP status, or 0 when no answer came
     * (transport failure, timeout); method as given; host is "host[:port]" of the configured
     * server, as written in its URL (client-go's rest_client_requests_total labels). Called on
     * the calling thread after the exchange, with no lock of the client held; must be
     * thread-safe and quick. NULL = not observed.
     */
    void (*on_response)(void *ctx, int code, const char *method, const char *host);
    void *on_response_ctx;
} kc_client_options;

/*
 * The defaults, in one place. kc_client_new() also replaces connect/request timeouts <= 0, a
 * NULL user_agent, clock or sleep and zero size limits by these values; max_retries <= 0 means
 * no retries.
 */
kc_client_options kc_client_defaults(void);

typedef struct kc_client kc_client;

/*
 * cfg is borrowed and must outlive the client; opt may be NULL (defaults). Returns NULL and fills
 * *err (err may be NULL) when cfg lacks a server or credentials or the server URL or
 * tls-server-name is unusable (400 BadRequest), or libcurl fails to initialise (500
 * InternalError); the message says what. Thread-safe.
 */
kc_client *kc_client_new(const kc_config *cfg, const kc_client_options *opt, api_error *err);
/* Closes every pooled connection. No call may be in flight. NULL is a no-op. */
void kc_client_free(kc_client *c);

/* Waits ms milliseconds with the client's sleep function (kc_client_options.sleep: tests inject
   one that does not wait), for callers that retry with their own backoff. Thread-safe. */
void kc_client_sleep(kc_client *c, uint64_t ms);

/* Counters since kc_client_new, for tests and metrics. */
typedef struct kc_client_stats {
    uint64_t requests;     /* HTTP exchanges attempted (retries and watches included) */
    uint64_t connections;  /* new connections opened: the sum of CURLINFO_NUM_CONNECTS */
    uint64_t retries;      /* exchanges repeated after a 429/5xx carrying Retry-After */
    uint64_t auth_retries; /* exchanges repeated after a 401 */
    uint64_t throttled_ms; /* total time asked of the client-side rate limiter */
} kc_client_stats;

/* A snapshot of the counters (each read atomically). Thread-safe. */
void kc_client_stats_get(kc_client *c, kc_client_stats *out);

typedef struct kc_response {
    int code;   /* HTTP status */
    char *body; /* NUL-terminated; owned */
    size_t len;
} kc_response;

/* Frees r->body and zeroes r. NULL is a no-op. */
void kc_response_free(kc_response *r);

/*
 * One call. method "GET"/"POST"/"PUT"/"PATCH"/"DELETE"; path is absolute with any query
 * ("/apis/demo.example.com/v1beta1/foos?limit=500"); body may be NULL; content_type defaults to
 * application/json when a body is given. On 2xx fills *resp (caller frees; resp may be NULL when
 * the body is not wanted) and returns 0; *err is left untouched. A response body (decoded, after
 * any gzip) larger than max_response_bytes fails the call with -EMSGSIZE.
 * Before each exchange the client-side rate limiter (qps > 0) may wait. After a 401 the
 * credentials are invalidated and the call repeated once (only when the source supplied a token
 * or certificate); a 429 (any verb) or a 5xx (GET/HEAD) carrying a valid Retry-After header is
 * repeated after that many seconds, at most max_retries times (client-go's rule). A final
 * non-2xx answer without details.retryAfterSeconds copies the Retry-After header into
 * err->retry_after. Thread-safe.
 */
int kc_request(kc_client *c, const char *method, const char *path, const char *content_type,
               const char *body, size_t len, kc_response *resp, api_error *err);

/*
 * Convenience: kc_request + parse. body (may be NULL) is serialized compactly. On success *out is
 * the parsed JSON body (caller frees; NULL for an empty body). A 2xx body that is not JSON gives
 * -EPROTO with err->code = 0, reason "Transport". Thread-safe.
 */
int kc_request_json(kc_client *c, const char *method, const char *path, const cJSON *body,
                    const char *content_type, cJSON **out, api_error *err);

typedef enum kc_event_type {
    KC_ADDED,
    KC_MODIFIED,
    KC_DELETED,
    KC_BOOKMARK,
    KC_ERROR,
} kc_event_type;

typedef struct kc_watch_event {
    kc_event_type type;
    cJSON *object; /* the handler may take it (set to NULL); otherwise freed after the call */
} kc_watch_event;

/* Return false to stop the watch. Called on the watching thread. */
typedef bool (*kc_watch_fn)(void *ctx, kc_watch_event *ev);

/*
 * Streams a watch (path includes ?watch=true and the caller's parameters) and calls fn for each
 * event, in order, until the server ends the stream (returns 0), fn returns false (returns 0),
 * *cancel becomes true (checked at least every 100 ms; returns 0), no byte arrives for
 * idle_timeout_ms (returns -ETIMEDOUT, err reason "Timeout"), or an error (negative, *err).
 * A line that is not a valid watch event ends the stream with -EPROTO, a line longer than
 * max_watch_event_bytes with -EMSGSIZE (an informer relists after either, with backoff).
 * Thread-safe (one watch per calling thread).
 * Details: idle_timeout_ms <= 0 = no idle deadline; cancel may be NULL. The idle deadline is
 * measured on the client's clock (a fake clock must be advanced by the test). ERROR events are
 * handed to fn like the others (their object is the Status). A non-2xx answer to the watch
 * request itself follows kc_request's 401 and Retry-After rules, then fails with -EREMOTEIO. A
 * final line without its newline at a clean end of stream is still decoded. The watch runs on
 * its own connection, which is closed when the watch ends early.
 */
int kc_watch(kc_client *c, const char *path, int idle_timeout_ms, kc_watch_fn fn, void *ctx,
             atomic_bool *cancel, api_error *err);

/*
 * The incremental decoder kc_watch uses, public for tests and fuzzing: feed it bytes as they
 * arrive, split anywhere; each complete line is parsed once (partial tails are kept) and handed
 * to fn. Returns 0, 1 when fn asked to stop, -EPROTO on a malformed line, or -EMSGSIZE when a
 * line (complete or not) is longer than max_line bytes, which is then not buffered: memory stays
 * bounded by max_line whatever the stream sends. A pure function of the bytes fed (no I/O): the
 * entry point for fuzzing the watch decoder.
 * Lines end with "\n" (a "\r" before it is dropped); blank lines are skipped. A valid line is
 * one JSON object, nothing after it but blanks, with "type" one of ADDED, MODIFIED, DELETED,
 * BOOKMARK, ERROR and "object" a JSON object. Only the unterminated tail is buffered, and a
 * new chunk is scanned for newlines once, so decoding is linear in the stream length however it
 * is split. After a non-zero return the rest of that chunk is dropped: abandon the stream.
 * Not thread-safe (one decoder per stream).
 */
typedef struct kc_watch_decoder {
    char *buf;
    size_t len, cap;
    size_t max_line; /* bytes of one line, its "\n" excluded; set after init to change it */
    kc_watch_fn fn;
    void *ctx;
} kc_watch_decoder;

/* Starts empty with max_line = 16 MiB; fn is called on the feeding thread. */
void kc_watch_decoder_init(kc_watch_decoder *d, kc_watch_fn fn, void *ctx);
int kc_watch_decoder_feed(kc_watch_decoder *d, const char *data, size_t n);
/* Frees the buffered tail; the decoder may be initialised again. */
void kc_watch_decoder_free(kc_watch_decoder *d);

#endif

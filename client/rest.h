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

typedef struct kc_client_options {
    double qps;                /* client-side rate limit; <= 0 = none (controller-runtime) */
    int burst;                 /* token bucket size when qps > 0 */
    int connect_timeout_ms;    /* default 10 s */
    int request_timeout_ms;    /* total time of a non-watch call; default 60 s */
    int max_retries;           /* 429/5xx retries of GET/HEAD (and any verb on 429), honouring
                                  Retry-After; default 10, as client-go */
    const char *user_agent;    /* default "foo/<version>" */
    clk_t *clock;              /* default clk_system() */
} kc_client_options;

kc_client_options kc_client_defaults(void);

typedef struct kc_client kc_client;

/* cfg is borrowed and must outlive the client. Returns NULL and *errmsg on failure. */
kc_client *kc_client_new(const kc_config *cfg, const kc_client_options *opt, char **errmsg);
void kc_client_free(kc_client *c);

typedef struct kc_response {
    int code;           /* HTTP status */
    char *body;         /* NUL-terminated; owned */
    size_t len;
} kc_response;

void kc_response_free(kc_response *r);

/*
 * One call. method "GET"/"POST"/"PUT"/"PATCH"/"DELETE"; path is absolute with any query
 * ("/apis/demo.example.com/v1beta1/foos?limit=500"); body may be NULL; content_type defaults to
 * application/json when a body is given. On 2xx fills *resp (caller frees) and returns 0.
 * Thread-safe.
 */
int kc_request(kc_client *c, const char *method, const char *path, const char *content_type,
               const char *body, size_t len, kc_response *resp, api_error *err);

/* Convenience: kc_request + parse. On success *out is the parsed JSON body (caller frees). */
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
 * A line that is not a valid watch event ends the stream with -EPROTO. Thread-safe (one watch
 * per calling thread).
 */
int kc_watch(kc_client *c, const char *path, int idle_timeout_ms, kc_watch_fn fn, void *ctx,
             atomic_bool *cancel, api_error *err);

/*
 * The incremental decoder kc_watch uses, public for tests and fuzzing: feed it bytes as they
 * arrive, split anywhere; each complete line is parsed once (partial tails are kept) and handed
 * to fn. Returns 0, 1 when fn asked to stop, or -EPROTO on a malformed line.
 */
typedef struct kc_watch_decoder {
    char *buf;
    size_t len, cap;
    kc_watch_fn fn;
    void *ctx;
} kc_watch_decoder;

void kc_watch_decoder_init(kc_watch_decoder *d, kc_watch_fn fn, void *ctx);
int kc_watch_decoder_feed(kc_watch_decoder *d, const char *data, size_t n);
void kc_watch_decoder_free(kc_watch_decoder *d);

#endif

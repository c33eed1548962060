/*
 * rest.c - the REST client (rest.h): creation with defaults, one call with its retry policy
 * (401 once after invalidating the credentials; 429/5xx honouring Retry-After as client-go
 * does), the client-side rate limit, error decoding, and the counters.
 * The libcurl details live in transport.c, the token bucket in ratelimit.c.
 */
#include "client/rest_internal.h"
#include "common/alloc.h"
#include "common/json.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- defaults ---- */

static void kc_nanosleep(void *ctx, uint64_t ms)
{
    (void)ctx;
    struct timespec ts = {.tv_sec = (time_t)(ms / 1000), .tv_nsec = (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

kc_client_options kc_client_defaults(void)
{
    return (kc_client_options){
        .qps = 0, /* no client-side limit, as controller-runtime (API Priority and Fairness) */
        .burst = 0,
        .connect_timeout_ms = KC_DEFAULT_CONNECT_TIMEOUT_MS,
        .request_timeout_ms = KC_DEFAULT_REQUEST_TIMEOUT_MS,
        .max_retries = KC_DEFAULT_MAX_RETRIES,
        .max_response_bytes = KC_DEFAULT_MAX_RESPONSE_BYTES,
        .max_watch_event_bytes = KC_DEFAULT_MAX_WATCH_LINE_BYTES,
        .user_agent = KC_DEFAULT_USER_AGENT,
        .clock = clk_system(),
        .sleep = kc_nanosleep,
        .sleep_ctx = NULL,
    };
}

static void kc_fill_defaults(kc_client_options *o)
{
    kc_client_options d = kc_client_defaults();
    if (o->connect_timeout_ms <= 0)
        o->connect_timeout_ms = d.connect_timeout_ms;
    if (o->request_timeout_ms <= 0)
        o->request_timeout_ms = d.request_timeout_ms;
    if (o->max_retries < 0)
        o->max_retries = 0;
    if (o->max_response_bytes == 0)
        o->max_response_bytes = d.max_response_bytes;
    if (o->max_watch_event_bytes == 0)
        o->max_watch_event_bytes = d.max_watch_event_bytes;
    if (!o->user_agent)
        o->user_agent = d.user_agent;
    if (!o->clock)
        o->clock = d.clock;
    if (!o->sleep) {
        o->sleep = d.sleep;
        o->sleep_ctx = NULL;
    }
}

/* ---- client ---- */

/* "host[:port]" as written in the server URL ("https://h:p/prefix" gives "h:p"); malloc'd. */
static char *kc_server_host(const char *server)
{
    const char *host = strstr(server, "://");
    host = host ? host + 3 : server;
    return xstrndup(host, strcspn(host, "/"));
}

kc_client *kc_client_new(const kc_config *cfg, const kc_client_options *opt, api_error *err)
{
    api_error ignored = API_ERROR_INIT;
    if (!err)
        err = &ignored;
    if (!cfg || !cfg->server || !cfg->creds) {
        apierr_set(err, 400, "BadRequest",
                   "kc_client_new: a configuration with a server and credentials is required");
        apierr_clear(&ignored);
        return NULL;
    }
    kc_client *c = xcalloc(1, sizeof *c);
    c->cfg = cfg;
    c->opt = opt ? *opt : kc_client_defaults();
    kc_fill_defaults(&c->opt);
    c->user_agent = xstrdup(c->opt.user_agent);
    c->opt.user_agent = c->user_agent;
    c->server_host = kc_server_host(cfg->server);
    atomic_init(&c->n_requests, 0);
    atomic_init(&c->n_connections, 0);
    atomic_init(&c->n_retries, 0);
    atomic_init(&c->n_auth_retries, 0);
    atomic_init(&c->n_throttled_ms, 0);
    kc_bucket_init(&c->bucket, c->opt.qps, c->opt.burst, c->opt.clock);
    if (kc_transport_init(c, err) != 0) {
        kc_client_free(c);
        apierr_clear(&ignored);
        return NULL;
    }
    return c;
}

void kc_client_free(kc_client *c)
{
    if (!c)
        return;
    kc_transport_deinit(c);
    kc_bucket_deinit(&c->bucket);
    free(c->user_agent);
    free(c->server_host);
    free(c);
}

void kc_client_stats_get(kc_client *c, kc_client_stats *out)
{
    out->requests = atomic_load(&c->n_requests);
    out->connections = atomic_load(&c->n_connections);
    out->retries = atomic_load(&c->n_retries);
    out->auth_retries = atomic_load(&c->n_auth_retries);
    out->throttled_ms = atomic_load(&c->n_throttled_ms);
}

void kc_response_free(kc_response *r)
{
    if (!r)
        return;
    free(r->body);
    memset(r, 0, sizeof *r);
}

/* ---- waiting ---- */

void kc_sleep(kc_client *c, uint64_t ms)
{
    if (ms > 0)
        c->opt.sleep(c->opt.sleep_ctx, ms);
}

void kc_client_sleep(kc_client *c, uint64_t ms)
{
    kc_sleep(c, ms);
}

void kc_throttle(kc_client *c)
{
    uint64_t ms = kc_bucket_reserve_ms(&c->bucket);
    if (ms > 0) {
        atomic_fetch_add(&c->n_throttled_ms, ms);
        kc_sleep(c, ms);
    }
}

/* ---- retries and errors ---- */

/* The Retry-After header as whole seconds (client-go accepts only that form). */
static bool kc_retry_after(CURL *h, uint64_t *secs)
{
    struct curl_header *hd = NULL;
    if (curl_easy_header(h, "Retry-After", 0, CURLH_HEADER, -1, &hd) != CURLHE_OK || !hd->value)
        return false;
    const char *s = hd->value;
    while (*s == ' ' || *s == '\t')
        s++;
    if (!isdigit((unsigned char)*s))
        return false;
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    while (*end == ' ' || *end == '\t')
        end++;
    if (errno != 0 || *end != '\0' || v > KC_RETRY_AFTER_MAX_S)
        return false;
    *secs = v;
    return true;
}

static bool kc_is_safe_method(const char *method)
{
    return strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
}

bool kc_should_retry(kc_client *c, const char *method, kc_call *call, long code, kc_retry_state *st,
                     uint64_t *wait_ms)
{
    *wait_ms = 0;
    if (code == 401) {
        /* Only a source that supplied something can have something fresher to offer. */
        if (st->auth_retried || !call->had_credentials)
            return false;
        st->auth_retried = true;
        kc_credentials_invalidate(c->cfg->creds, call->authorization);
        atomic_fetch_add(&c->n_auth_retries, 1);
        return true;
    }
    bool retriable = code == 429 || (code >= 500 && code <= 599 && kc_is_safe_method(method));
    uint64_t secs = 0;
    if (!retriable || st->retries >= c->opt.max_retries || !kc_retry_after(call->h, &secs))
        return false;
    st->retries++;
    atomic_fetch_add(&c->n_retries, 1);
    *wait_ms = secs * 1000;
    return true;
}

/* The reason client-go gives an answer that carries no Status (NewGenericServerResponse). */
static const char *kc_reason_for_code(long code)
{
    switch (code) {
    case 400:
        return "BadRequest";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "NotFound";
    case 405:
        return "MethodNotAllowed";
    case 406:
        return "NotAcceptable";
    case 409:
        return "Conflict";
    case 410:
        return "Expired";
    case 413:
        return "RequestEntityTooLarge";
    case 415:
        return "UnsupportedMediaType";
    case 422:
        return "Invalid";
    case 429:
        return "TooManyRequests";
    case 500:
        return "InternalError";
    case 503:
        return "ServiceUnavailable";
    case 504:
        return "Timeout";
    default:
        return "Unknown";
    }
}

int kc_http_error(kc_call *call, long code, const char *body, size_t len, api_error *err)
{
    apierr_from_status_json(err, (int)code, body, len);
    if (!err->reason)
        err->reason = xstrdup(kc_reason_for_code(code));
    uint64_t secs = 0;
    if (err->retry_after == 0 && kc_retry_after(call->h, &secs))
        err->retry_after = (int)secs;
    return -EREMOTEIO;
}

/* ---- calls ---- */

static bool kc_valid_call(kc_client *c, const char *method, const char *path)
{
    return c && method && *method && path && path[0] == '/';
}

void kc_observe_exchange(kc_client *c, long code, const char *method)
{
    if (c->opt.on_response)
        c->opt.on_response(c->opt.on_response_ctx, (int)code, method, c->server_host);
}

static int kc_request_attempts(kc_client *c, const char *method, const char *path,
                               const char *content_type, const char *body, size_t len,
                               kc_response *resp, api_error *err)
{
    kc_retry_state st = {0};
    for (;;) {
        kc_throttle(c);
        kc_call call;
        int rc = kc_call_begin(c, &call, method, path, content_type, body, len, false, err);
        if (rc != 0)
            return rc;
        CURLcode cc = curl_easy_perform(call.h);
        kc_call_count(c, &call);
        long code = 0;
        if (cc == CURLE_OK)
            cc = curl_easy_getinfo(call.h, CURLINFO_RESPONSE_CODE, &code);
        kc_observe_exchange(c, cc == CURLE_OK ? code : 0, method);
        if (cc != CURLE_OK) {
            rc = kc_transport_error(&call, cc, method, path, err);
            kc_call_end(c, &call);
            return rc;
        }
        if (code >= 200 && code <= 299) {
            if (resp) {
                resp->code = (int)code;
                resp->body = sbuf_detach(&call.body, &resp->len);
            }
            kc_call_end(c, &call);
            return 0;
        }
        uint64_t wait_ms = 0;
        if (kc_should_retry(c, method, &call, code, &st, &wait_ms)) {
            kc_call_end(c, &call);
            kc_sleep(c, wait_ms);
            continue;
        }
        rc = kc_http_error(&call, code, call.body.data, call.body.len, err);
        kc_call_end(c, &call);
        return rc;
    }
}

int kc_request(kc_client *c, const char *method, const char *path, const char *content_type,
               const char *body, size_t len, kc_response *resp, api_error *err)
{
    api_error ignored = API_ERROR_INIT;
    if (!err)
        err = &ignored;
    int rc = -EINVAL;
    if (resp)
        memset(resp, 0, sizeof *resp);
    if (kc_valid_call(c, method, path))
        rc = kc_request_attempts(c, method, path, content_type, body, len, resp, err);
    else
        apierr_set(err, 0, "Transport",
                   "kc_request: a client, a method and an absolute path are required");
    apierr_clear(&ignored);
    return rc;
}

int kc_request_json(kc_client *c, const char *method, const char *path, const cJSON *body,
                    const char *content_type, cJSON **out, api_error *err)
{
    *out = NULL;
    api_error ignored = API_ERROR_INIT;
    if (!err)
        err = &ignored;
    char *text = body ? json_print(body) : NULL;
    kc_response resp;
    int rc = kc_request(c, method, path, content_type, text, text ? strlen(text) : 0, &resp, err);
    free(text);
    if (rc != 0)
        return rc;
    if (resp.len > 0) {
        *out = json_parse_body(resp.body, resp.len, NULL, NULL);
        if (!*out) {
            apierr_set(err, 0, "Transport", "%s %s: the response is not JSON", method, path);
            rc = -EPROTO;
        }
    }
    kc_response_free(&resp);
    apierr_clear(&ignored);
    return rc;
}

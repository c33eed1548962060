/*
 * The REST client against a scripted local HTTP stub (http_stub.h), for what the real server
 * does not produce on demand: 429/5xx with and without Retry-After (client-go's retry rule),
 * max_retries, the client-side token bucket, large bodies and the response and watch-line caps,
 * the exact request sent, transport errors, and watch streams that end oddly or are malformed.
 * Waiting goes through an injected sleep that only records (and moves a fake clock): no test
 * sleeps.
 */
#include "client/rest.h"
#include "common/alloc.h"
#include "http_stub.h"
#include "testutil.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

/*
 * Every suite of unit_client that sets a timeout uses this one value: Criterion 2.4.1's runner
 * leaks a little memory (LeakSanitizer then fails the binary's exit status) when suites with
 * different timeouts run in parallel.
 */
#define TEST_TIMEOUT_S 180
#define OK_BODY        "{\"kind\":\"FooList\",\"items\":[]}"

/* Criterion ignores LeakSanitizer's exit report; these tests ask it directly (ASan builds). */
#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/lsan_interface.h>
#define assert_no_leaks()                                                                          \
    cr_assert_eq(__lsan_do_recoverable_leak_check(), 0, "LeakSanitizer found leaks (see above)")
#else
#define assert_no_leaks() ((void)0)
#endif

typedef struct fake_sleep {
    clk_t *clock; /* advanced by each sleep when set */
    uint64_t total_ms;
    int calls;
} fake_sleep;

static void fake_sleep_fn(void *ctx, uint64_t ms)
{
    fake_sleep *fs = ctx;
    fs->total_ms += ms;
    fs->calls++;
    if (fs->clock)
        clk_fake_advance_ms(fs->clock, (int64_t)ms);
}

static http_stub stub;
static kc_config *cfg;
static fake_sleep slept;
static clk_t *fake_clock;

static kc_config *config_for_port(int port)
{
    kc_config *c = xcalloc(1, sizeof *c);
    c->server = xasprintf("http://127.0.0.1:%d", port);
    c->creds = kc_credentials_new_static(NULL);
    c->namespace = xstrdup("default");
    return c;
}

static void setup(void)
{
    alloc_install_cjson_hooks();
    char *ok = stub_response(200, "OK", NULL, OK_BODY);
    stub_start(&stub, ok);
    free(ok);
    cfg = config_for_port(stub.port);
    fake_clock = clk_fake_new(TU_WALL_START_MS);
    memset(&slept, 0, sizeof slept);
}

static void teardown(void)
{
    stub_stop(&stub);
    kc_config_free(cfg);
    clk_fake_free(fake_clock);
}

TestSuite(rest_stub, .init = setup, .fini = teardown, .timeout = TEST_TIMEOUT_S);

/* A client whose waits are recorded in `slept`; fake_time also puts it on the fake clock. */
static kc_client *client(int max_retries, double qps, int burst, bool fake_time)
{
    kc_client_options o = kc_client_defaults();
    o.max_retries = max_retries;
    o.qps = qps;
    o.burst = burst;
    o.sleep = fake_sleep_fn;
    o.sleep_ctx = &slept;
    if (fake_time) {
        o.clock = fake_clock;
        slept.clock = fake_clock;
    }
    api_error err = API_ERROR_INIT;
    kc_client *c = kc_client_new(cfg, &o, &err);
    cr_assert_not_null(c, "kc_client_new: %s", err.message ? err.message : "");
    return c;
}

/* A client with the given size limits (0 = the defaults). */
static kc_client *client_with_limits(size_t max_response, size_t max_watch_event)
{
    kc_client_options o = kc_client_defaults();
    o.max_response_bytes = max_response;
    o.max_watch_event_bytes = max_watch_event;
    o.sleep = fake_sleep_fn;
    o.sleep_ctx = &slept;
    api_error err = API_ERROR_INIT;
    kc_client *c = kc_client_new(cfg, &o, &err);
    cr_assert_not_null(c, "kc_client_new: %s", err.message ? err.message : "");
    return c;
}

/* A JSON string body of exactly n bytes ("xxx...", quotes included). Caller frees. */
static char *json_string_body(size_t n)
{
    char *body = xmalloc(n + 1);
    memset(body, 'x', n);
    body[0] = '"';
    body[n - 1] = '"';
    body[n] = '\0';
    return body;
}

/* Scripts `times` answers of code/reason with an optional Retry-After value. */
static void push_answers(int times, int code, const char *reason, const char *retry_after)
{
    char *hdr = retry_after ? xasprintf("Retry-After: %s\r\n", retry_after) : NULL;
    for (int i = 0; i < times; i++)
        stub_push_status(&stub, code, reason, "please slow down", hdr);
    free(hdr);
}

static kc_client_stats stats_of(kc_client *c)
{
    kc_client_stats st;
    kc_client_stats_get(c, &st);
    return st;
}

Test(rest_stub, too_many_requests_with_retry_after_is_retried_until_success)
{
    push_answers(2, 429, "TooManyRequests", "0");
    kc_client *c = client(10, 0, 0, false);
    kc_response r;
    api_error e = API_ERROR_INIT;
    cr_assert_eq(kc_request(c, "GET", "/api/v1/pods", NULL, NULL, 0, &r, &e), 0, "%s", e.message);
    cr_assert_eq(r.code, 200);
    cr_assert_str_eq(r.body, OK_BODY);
    cr_assert_eq(stub_requests(&stub), 3);
    cr_assert_eq(stats_of(c).retries, 2);
    cr_assert_eq(slept.total_ms, 0, "Retry-After: 0 waits nothing");
    kc_response_free(&r);
    kc_client_free(c);
}

Test(rest_stub, too_many_requests_without_retry_after_is_not_retried)
{
    push_answers(1, 429, "TooManyRequests", NULL);
    kc_client *c = client(10, 0, 0, false);
    api_error e = API_ERROR_INIT;
    cr_assert_eq(kc_request(c, "GET", "/api/v1/pods", NULL, NULL, 0, NULL, &e), -EREMOTEIO);
    cr_assert_eq(e.code, 429);
    cr_assert_str_eq(e.reason, "TooManyRequests");
    cr_assert_str_eq(e.message, "please slow down");
    cr_assert_eq(e.retry_after, 0);
    cr_assert_eq(stub_requests(&stub), 1);
    cr_assert_eq(stats_of(c).retries, 0);
    apierr_clear(&e);
    kc_client_free(c);
}

Test(rest_stub, server_error_with_retry_after_is_retried_for_get_and_waits)
{
    push_answers(1, 503, "ServiceUnavailable", "2");
    kc_client *c = client(10, 0, 0, false);
    api_error e = API_ERROR_INIT;
    cr_assert_eq(kc_request(c, "GET", "/api/v1/pods", NULL, NULL, 0, NULL, &e), 0, "%s", e.message);
    cr_assert_eq(stub_requests(&stub), 2);
    cr_assert_eq(slept.total_ms, 2000);
    cr_assert_eq(slept.calls, 1);
    kc_client_free(c);
}

Test(rest_stub, server_error_is_not_retried_for_post)
{
    push_answers(1, 503, "ServiceUnavailable", "1");
    kc_client *c = client(10, 0, 0, false);
    api_error e = API_ERROR_INIT;
    cr_assert_eq(kc_request(c, "POST", "/api/v1/pods", NULL, "{}", 2, NULL, &e), -EREMOTEIO);
    cr_assert_eq(e.code, 503);
    cr_assert_eq(e.retry_after, 1, "the Retry-After header reaches the caller");
    cr_assert_eq(stub_requests(&stub), 1);
    apierr_clear(&e);
    kc_client_free(c);
}

Test(rest_stub, too_many_requests_is_retried_for_any_verb)
{
    push_answers(1, 429, "TooManyRequests", "1");
    kc_client *c = client(10, 0, 0, false);
    api_error e = API_ERROR_INIT;
    cr_assert_eq(kc_request(c, "POST", "/api/v1/pods", NULL, "{}", 2, NULL, &e), 0, "%s",
                 e.message);
    cr_assert_eq(stub_requests(&stub), 2);
    cr_assert_str_eq(stub.log.data, "POST /api/v1/pods\nPOST /api/v1/pods\n");
    cr_assert_eq(slept.total_ms, 1000);
    kc_client_free(c);
}

Test(rest_stub, retries_stop_after_max_retries)
{
    char *status = stub_status(429, "TooManyRequests", "busy");
    char *always = stub_response(429, "Too Many Requests", "Retry-After: 1\r\n", status);
    free(stub.fallback);
    stub.fallback = always;
    free(status);
    kc_client *c = client(3, 0, 0, false);
    api_error e = API_ERROR_INIT;
    cr_assert_eq(kc_request(c, "GET", "/x", NULL, NULL, 0, NULL, &e), -EREMOTEIO);
    cr_assert_eq(e.code, 429);
    cr_assert_eq(e.retry_after, 1);
    cr_assert_eq(stub_requests(&stub), 4, "the first try and 3 retries");
    cr_assert_eq(stats_of(c).retries, 3);
    cr_assert_eq(slept.total_ms, 3000);
    apierr_clear(&e);
    kc_client_free(c);
    assert_no_leaks();
}

Test(rest_stub, invalid_retry_after_is_not_honoured)
{
    push_answers(1, 429, "TooManyRequests", "soon");
    kc_client *c = client(10, 0, 0, false);
    api_error e = API_ERROR_INIT;
    cr_assert_eq(kc_request(c, "GET", "/x", NULL, NULL, 0, NULL, &e), -EREMOTEIO);
    cr_assert_eq(stub_requests(&stub), 1);
    apierr_clear(&e);
    kc_client_free(c);
}

Test(rest_stub, answer_without_status_body_gets_the_reason_of_its_code)
{
    char *raw = stub_response(404, "Not Found", NULL, "404 page not found");
    stub_push(&stub, raw);
    free(raw);
    kc_client *c = client(10, 0, 0, false);
    api_error e = API_ERROR_INIT;
    cr_assert_eq(kc_request(c, "GET", "/nowhere", NULL, NULL, 0, NULL, &e), -EREMOTEIO);
    cr_assert_eq(e.code, 404);
    cr_assert_str_eq(e.reason, "NotFound");
    apierr_clear(&e);
    kc_client_free(c);
}

Test(rest_stub, rate_limiter_spaces_requests_beyond_the_burst)
{
    kc_client *c = client(10, 10.0, 2, true);
    for (int i = 0; i < 5; i++) {
        api_error e = API_ERROR_INIT;
        cr_assert_eq(kc_request(c, "GET", "/x", NULL, NULL, 0, NULL, &e), 0, "%s", e.message);
    }
    /* Two from the burst, then one every 100 ms. */
    cr_assert_eq(slept.total_ms, 300);
    cr_assert_eq(slept.calls, 3);
    cr_assert_eq(stats_of(c).throttled_ms, 300);
    cr_assert_eq(stub_requests(&stub), 5);
    kc_client_free(c);
}

Test(rest_stub, rate_limiter_refills_with_time)
{
    kc_client *c = client(10, 10.0, 2, true);
    for (int i = 0; i < 2; i++)
        cr_assert_eq(kc_request(c, "GET", "/x", NULL, NULL, 0, NULL, NULL), 0);
    clk_fake_advance_ms(fake_clock, 1000); /* refills to the burst, not beyond */
    for (int i = 0; i < 2; i++)
        cr_assert_eq(kc_request(c, "GET", "/x", NULL, NULL, 0, NULL, NULL), 0);
    cr_assert_eq(slept.total_ms, 0);
    cr_assert_eq(kc_request(c, "GET", "/x", NULL, NULL, 0, NULL, NULL), 0);
    cr_assert_eq(slept.total_ms, 100);
    kc_client_free(c);
}

Test(rest_stub, large_response_body_under_the_cap_is_read_whole)
{
    const size_t big = 3 * 1024 * 1024;
    char *body = xmalloc(big + 1);
    memset(body, 'x', big);
    body[0] = '"';
    body[big - 1] = '"';
    body[big] = '\0';
    char *raw = stub_response(200, "OK", NULL, body);
    stub_push(&stub, raw);
    free(raw);
    kc_client *c = client(10, 0, 0, false);
    kc_response r;
    api_error e = API_ERROR_INIT;
    cr_assert_eq(kc_request(c, "GET", "/big", NULL, NULL, 0, &r, &e), 0, "%s", e.message);
    cr_assert_eq(r.len, big);
    cr_assert_eq(memcmp(r.body, body, big), 0);
    cr_assert_eq(r.body[big], '\0');
    kc_response_free(&r);
    free(body);
    kc_client_free(c);
    assert_no_leaks();
}

Test(rest_stub, request_carries_method_body_and_headers)
{
    kc_client *c = client(10, 0, 0, false);
    const char *patch = "{\"spec\":{\"replicas\":2}}";
    cr_assert_eq(kc_request(c, "PATCH", "/apis/g/v1/foos/a?fieldManager=t",
                            "application/merge-patch+json", patch, strlen(patch), NULL, NULL),
                 0);
    const char *req = stub.last_request;
    cr_assert(tu_contains(req, "PATCH /apis/g/v1/foos/a?fieldManager=t HTTP/1.1\r\n"), "%s", req);
    cr_assert(tu_contains(req, "\r\nContent-Type: application/merge-patch+json\r\n"), "%s", req);
    cr_assert(tu_contains(req, "\r\nContent-Length: 23\r\n"), "%s", req);
    cr_assert(tu_contains(req, "\r\nAccept: application/json\r\n"), "%s", req);
    cr_assert(tu_contains(req, "\r\nUser-Agent: foo/"), "%s", req);
    cr_assert(!tu_contains(req, "Authorization:"), "no credentials, no header");
    cr_assert(tu_contains(req, "\r\n\r\n{\"spec\":{\"replicas\":2}}"), "%s", req);
    kc_client_free(c);
}

Test(rest_stub, static_token_is_sent_as_bearer)
{
    kc_credentials_free(cfg->creds);
    cfg->creds = kc_credentials_new_static("t0ken");
    kc_client *c = client(10, 0, 0, false);
    cr_assert_eq(kc_request(c, "GET", "/x", NULL, NULL, 0, NULL, NULL), 0);
    cr_assert(tu_contains(stub.last_request, "\r\nAuthorization: Bearer t0ken\r\n"));
    kc_client_free(c);
}

Test(rest_stub, post_without_body_sends_a_zero_content_length)
{
    kc_client *c = client(10, 0, 0, false);
    cr_assert_eq(kc_request(c, "POST", "/x", NULL, NULL, 0, NULL, NULL), 0);
    cr_assert(tu_contains(stub.last_request, "\r\nContent-Length: 0\r\n"), "%s", stub.last_request);
    kc_client_free(c);
}

Test(rest_stub, request_json_parses_the_answer)
{
    kc_client *c = client(10, 0, 0, false);
    cJSON *body = cJSON_CreateObject();
    cJSON_AddStringToObject(body, "kind", "Foo");
    cJSON *out = NULL;
    api_error e = API_ERROR_INIT;
    cr_assert_eq(kc_request_json(c, "POST", "/x", body, NULL, &out, &e), 0, "%s", e.message);
    cr_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(out, "kind")), "FooList");
    cr_assert(tu_contains(stub.last_request, "\r\n\r\n{\"kind\":\"Foo\"}"));
    cJSON_Delete(out);
    cJSON_Delete(body);
    kc_client_free(c);
}

Test(rest_stub, request_json_rejects_a_body_that_is_not_json)
{
    char *raw = stub_response(200, "OK", NULL, "<html></html>");
    stub_push(&stub, raw);
    free(raw);
    kc_client *c = client(10, 0, 0, false);
    cJSON *out = NULL;
    api_error e = API_ERROR_INIT;
    cr_assert_eq(kc_request_json(c, "GET", "/x", NULL, NULL, &out, &e), -EPROTO);
    cr_assert_null(out);
    cr_assert_eq(e.code, 0);
    cr_assert_str_eq(e.reason, "Transport");
    apierr_clear(&e);
    kc_client_free(c);
}

Test(rest_stub, connection_refused_is_a_transport_error)
{
    kc_config *closed = config_for_port(1); /* nothing listens on port 1 */
    api_error err = API_ERROR_INIT;
    kc_client *c = kc_client_new(closed, NULL, &err);
    cr_assert_not_null(c, "%s", err.message ? err.message : "");
    api_error e = API_ERROR_INIT;
    cr_assert_eq(kc_request(c, "GET", "/x", NULL, NULL, 0, NULL, &e), -ECONNREFUSED);
    cr_assert_eq(e.code, 0);
    cr_assert_str_eq(e.reason, "Transport");
    cr_assert(tu_contains(e.message, "GET /x"), "%s", e.message);
    apierr_clear(&e);
    kc_client_free(c);
    kc_config_free(closed);
}

Test(rest_stub, request_timeout_bounds_a_call_without_answer)
{
    stub_push(&stub, "");
    kc_client_options o = kc_client_defaults();
    o.request_timeout_ms = 200;
    kc_client *c = kc_client_new(cfg, &o, NULL);
    cr_assert_not_null(c);
    api_error e = API_ERROR_INIT;
    cr_assert_eq(kc_request(c, "GET", "/slow", NULL, NULL, 0, NULL, &e), -ETIMEDOUT);
    cr_assert_eq(e.code, 0);
    cr_assert_str_eq(e.reason, "Transport");
    apierr_clear(&e);
    kc_client_free(c);
}

Test(rest_stub, proxy_url_routes_requests_through_the_proxy)
{
    /* The stub plays an HTTP proxy: a proxied request names the absolute URL. */
    free(cfg->server);
    cfg->server = xstrdup("http://cluster.invalid:8080");
    cfg->proxy_url = xasprintf("http://127.0.0.1:%d", stub.port);
    kc_client *c = client(10, 0, 0, false);
    api_error e = API_ERROR_INIT;
    cr_assert_eq(kc_request(c, "GET", "/api/v1/pods", NULL, NULL, 0, NULL, &e), 0, "%s", e.message);
    cr_assert_str_eq(stub.log.data, "GET http://cluster.invalid:8080/api/v1/pods\n");
    kc_client_free(c);
}

Test(rest_stub, bad_arguments_are_rejected)
{
    kc_client *c = client(10, 0, 0, false);
    api_error e = API_ERROR_INIT;
    cr_assert_eq(kc_request(c, "GET", "relative", NULL, NULL, 0, NULL, &e), -EINVAL);
    apierr_clear(&e);
    cr_assert_eq(stub_requests(&stub), 0);
    kc_client_free(c);
}

Test(rest_stub, unusable_server_url_fails_client_creation)
{
    free(cfg->server);
    cfg->server = xstrdup("ftp://127.0.0.1:21");
    api_error err = API_ERROR_INIT;
    cr_assert_null(kc_client_new(cfg, NULL, &err));
    cr_assert_eq(err.code, 400);
    cr_assert_str_eq(err.reason, "BadRequest");
    cr_assert(tu_contains(err.message, "https or http"), "%s", err.message);
    apierr_clear(&err);
}

/* ---- watch streams from the stub ---- */

typedef struct events {
    int n;
    char types[16][16];
} events;

static bool collect(void *ctx, kc_watch_event *ev)
{
    static const char *names[] = {"ADDED", "MODIFIED", "DELETED", "BOOKMARK", "ERROR"};
    events *e = ctx;
    if (e->n < 16)
        strcpy(e->types[e->n], names[ev->type]);
    e->n++;
    return true;
}

Test(rest_stub, watch_decodes_a_last_event_without_newline)
{
    stub_push_stream(&stub,
                     "{\"type\":\"ADDED\",\"object\":{}}\n{\"type\":\"DELETED\",\"object\":{}}");
    kc_client *c = client(10, 0, 0, false);
    events ev = {0};
    api_error e = API_ERROR_INIT;
    cr_assert_eq(kc_watch(c, "/w?watch=true", 0, collect, &ev, NULL, &e), 0, "%s", e.message);
    cr_assert_eq(ev.n, 2);
    cr_assert_str_eq(ev.types[1], "DELETED");
    kc_client_free(c);
}

Test(rest_stub, watch_with_a_malformed_line_ends_with_eproto)
{
    stub_push_stream(
        &stub,
        "{\"type\":\"ADDED\",\"object\":{}}\nnot json\n{\"type\":\"ADDED\",\"object\":{}}\n");
    kc_client *c = client(10, 0, 0, false);
    events ev = {0};
    api_error e = API_ERROR_INIT;
    cr_assert_eq(kc_watch(c, "/w?watch=true", 0, collect, &ev, NULL, &e), -EPROTO);
    cr_assert_eq(ev.n, 1);
    cr_assert_eq(e.code, 0);
    cr_assert_str_eq(e.reason, "Transport");
    apierr_clear(&e);
    kc_client_free(c);
    assert_no_leaks();
}

Test(rest_stub, watch_error_answer_is_decoded)
{
    stub_push_status(&stub, 403, "Forbidden", "foos is forbidden", NULL);
    kc_client *c = client(10, 0, 0, false);
    events ev = {0};
    api_error e = API_ERROR_INIT;
    cr_assert_eq(kc_watch(c, "/w?watch=true", 0, collect, &ev, NULL, &e), -EREMOTEIO);
    cr_assert_eq(ev.n, 0);
    cr_assert_eq(e.code, 403);
    cr_assert_str_eq(e.reason, "Forbidden");
    cr_assert_str_eq(e.message, "foos is forbidden");
    apierr_clear(&e);
    kc_client_free(c);
    assert_no_leaks();
}

Test(rest_stub, watch_too_many_requests_with_retry_after_is_retried)
{
    push_answers(1, 429, "TooManyRequests", "0");
    stub_push_stream(&stub, "{\"type\":\"ADDED\",\"object\":{}}\n");
    kc_client *c = client(10, 0, 0, false);
    events ev = {0};
    api_error e = API_ERROR_INIT;
    cr_assert_eq(kc_watch(c, "/w?watch=true", 0, collect, &ev, NULL, &e), 0, "%s", e.message);
    cr_assert_eq(ev.n, 1);
    cr_assert_eq(stub_requests(&stub), 2);
    cr_assert_eq(stats_of(c).retries, 1);
    kc_client_free(c);
}

Test(rest_stub, watch_already_cancelled_sends_nothing)
{
    kc_client *c = client(10, 0, 0, false);
    atomic_bool cancel = true;
    events ev = {0};
    cr_assert_eq(kc_watch(c, "/w?watch=true", 0, collect, &ev, &cancel, NULL), 0);
    cr_assert_eq(stub_requests(&stub), 0);
    kc_client_free(c);
}

/* ---- size caps (issue 6 item 7: bounded buffers) ---- */

Test(rest_stub, size_limits_default_to_256_mib_and_16_mib)
{
    kc_client_options o = kc_client_defaults();
    cr_assert_eq(o.max_response_bytes, (size_t)256 * 1024 * 1024);
    cr_assert_eq(o.max_watch_event_bytes, (size_t)16 * 1024 * 1024);
}

Test(rest_stub, response_body_of_exactly_max_response_bytes_is_read)
{
    char *body = json_string_body(4096);
    char *raw = stub_response(200, "OK", NULL, body);
    stub_push(&stub, raw);
    free(raw);
    kc_client *c = client_with_limits(4096, 0);
    kc_response r;
    api_error e = API_ERROR_INIT;
    cr_assert_eq(kc_request(c, "GET", "/exact", NULL, NULL, 0, &r, &e), 0, "%s", e.message);
    cr_assert_eq(r.len, 4096);
    kc_response_free(&r);
    free(body);
    kc_client_free(c);
}

Test(rest_stub, response_body_over_max_response_bytes_fails_with_emsgsize)
{
    char *body = json_string_body(64 * 1024);
    char *raw = stub_response(200, "OK", NULL, body);
    stub_push(&stub, raw);
    free(raw);
    kc_client *c = client_with_limits(4096, 0);
    kc_response r;
    api_error e = API_ERROR_INIT;
    cr_assert_eq(kc_request(c, "GET", "/big", NULL, NULL, 0, &r, &e), -EMSGSIZE);
    cr_assert_null(r.body);
    cr_assert_eq(e.code, 0);
    cr_assert_str_eq(e.reason, "Transport");
    cr_assert_str_eq(e.message, "GET /big: the response body is larger than the client's limit "
                                "of 4096 bytes (max_response_bytes)");
    apierr_clear(&e);
    /* The client stays usable: the next call gets the (small) fallback answer. */
    cr_assert_eq(kc_request(c, "GET", "/x", NULL, NULL, 0, NULL, NULL), 0);
    free(body);
    kc_client_free(c);
    assert_no_leaks();
}

Test(rest_stub, error_answer_over_max_response_bytes_fails_with_emsgsize)
{
    char *body = json_string_body(64 * 1024);
    char *raw = stub_response(500, "Internal Server Error", NULL, body);
    stub_push(&stub, raw);
    free(raw);
    kc_client *c = client_with_limits(4096, 0);
    api_error e = API_ERROR_INIT;
    cr_assert_eq(kc_request(c, "POST", "/big", NULL, "{}", 2, NULL, &e), -EMSGSIZE);
    cr_assert(tu_contains(e.message, "limit of 4096 bytes"), "%s", e.message);
    apierr_clear(&e);
    free(body);
    kc_client_free(c);
}

Test(rest_stub, watch_line_over_max_watch_event_bytes_ends_the_stream_with_emsgsize)
{
    char *pad = json_string_body(8192);
    char *stream = xasprintf("{\"type\":\"ADDED\",\"object\":{}}\n"
                             "{\"type\":\"ADDED\",\"object\":{\"d\":%s}}\n"
                             "{\"type\":\"DELETED\",\"object\":{}}\n",
                             pad);
    stub_push_stream(&stub, stream);
    kc_client *c = client_with_limits(0, 4096);
    events ev = {0};
    api_error e = API_ERROR_INIT;
    cr_assert_eq(kc_watch(c, "/w?watch=true", 0, collect, &ev, NULL, &e), -EMSGSIZE);
    cr_assert_eq(ev.n, 1, "the event before the long line is delivered, none after it");
    cr_assert_eq(e.code, 0);
    cr_assert_str_eq(e.reason, "Transport");
    cr_assert_str_eq(e.message, "GET /w?watch=true: a watch event is larger than the client's "
                                "limit of 4096 bytes (max_watch_event_bytes)");
    apierr_clear(&e);
    free(stream);
    free(pad);
    kc_client_free(c);
    assert_no_leaks();
}

Test(rest_stub, watch_unterminated_tail_over_the_cap_ends_the_stream_with_emsgsize)
{
    char *pad = json_string_body(8192); /* no newline at all */
    stub_push_stream(&stub, pad);
    kc_client *c = client_with_limits(0, 4096);
    events ev = {0};
    api_error e = API_ERROR_INIT;
    cr_assert_eq(kc_watch(c, "/w?watch=true", 0, collect, &ev, NULL, &e), -EMSGSIZE);
    cr_assert_eq(ev.n, 0);
    apierr_clear(&e);
    free(pad);
    kc_client_free(c);
}

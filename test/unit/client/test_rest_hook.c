/*
 * The REST client's response observer (kc_client_options.on_response) against the scripted HTTP
 * stub (http_stub.h): one call per HTTP exchange, retries included, with the status code, the
 * method and the server's host:port; code 0 when no answer came; a watch is observed once per
 * attempt, as soon as its answer's head arrives.
 */
#include "client/rest.h"
#include "common/alloc.h"
#include "http_stub.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The value every suite of unit_client uses (see test_rest_retry.c). */
#define TEST_TIMEOUT_S 180
#define MAX_SEEN       8

/* What the observer saw, in order. */
typedef struct seen {
    pthread_mutex_t mu;
    int n;
    int code[MAX_SEEN];
    char method[MAX_SEEN][8];
    char host[MAX_SEEN][64];
} seen;

static seen obs;
static http_stub stub;
static kc_config *cfg;

static void observe(void *ctx, int code, const char *method, const char *host)
{
    seen *s = ctx;
    pthread_mutex_lock(&s->mu);
    if (s->n < MAX_SEEN) {
        s->code[s->n] = code;
        snprintf(s->method[s->n], sizeof s->method[0], "%s", method);
        snprintf(s->host[s->n], sizeof s->host[0], "%s", host);
    }
    s->n++;
    pthread_mutex_unlock(&s->mu);
}

static void no_sleep(void *ctx, uint64_t ms)
{
    (void)ctx;
    (void)ms;
}

static kc_config *config_for(const char *server)
{
    kc_config *c = xcalloc(1, sizeof *c);
    c->server = xstrdup(server);
    c->creds = kc_credentials_new_static(NULL);
    c->namespace = xstrdup("default");
    return c;
}

static kc_client *observed_client(kc_config *c)
{
    kc_client_options o = kc_client_defaults();
    o.sleep = no_sleep;
    o.on_response = observe;
    o.on_response_ctx = &obs;
    api_error err = API_ERROR_INIT;
    kc_client *k = kc_client_new(c, &o, &err);
    cr_assert_not_null(k, "kc_client_new: %s", err.message ? err.message : "");
    return k;
}

static void setup(void)
{
    alloc_install_cjson_hooks();
    memset(&obs, 0, sizeof obs);
    pthread_mutex_init(&obs.mu, NULL);
    char *ok = stub_response(200, "OK", NULL, "{}");
    stub_start(&stub, ok);
    free(ok);
    char *url = xasprintf("http://127.0.0.1:%d/", stub.port);
    cfg = config_for(url);
    free(url);
}

static void teardown(void)
{
    stub_stop(&stub);
    kc_config_free(cfg);
    pthread_mutex_destroy(&obs.mu);
}

TestSuite(rest_hook, .init = setup, .fini = teardown, .timeout = TEST_TIMEOUT_S);

Test(rest_hook, a_successful_call_is_observed_once_with_code_method_and_host)
{
    kc_client *c = observed_client(cfg);
    cr_assert_eq(kc_request(c, "PUT", "/x", NULL, "{}", 2, NULL, NULL), 0);
    cr_assert_eq(obs.n, 1);
    cr_assert_eq(obs.code[0], 200);
    cr_assert_str_eq(obs.method[0], "PUT");
    char *want = xasprintf("127.0.0.1:%d", stub.port);
    cr_assert_str_eq(obs.host[0], want, "the host is cut from the server URL, port kept");
    free(want);
    kc_client_free(c);
}

Test(rest_hook, an_error_answer_is_observed_with_its_code)
{
    stub_push_status(&stub, 404, "NotFound", "not here", NULL);
    kc_client *c = observed_client(cfg);
    api_error e = API_ERROR_INIT;
    cr_assert_eq(kc_request(c, "GET", "/x", NULL, NULL, 0, NULL, &e), -EREMOTEIO);
    cr_assert_eq(obs.n, 1);
    cr_assert_eq(obs.code[0], 404);
    cr_assert_str_eq(obs.method[0], "GET");
    apierr_clear(&e);
    kc_client_free(c);
}

Test(rest_hook, each_retried_exchange_is_observed)
{
    stub_push_status(&stub, 429, "TooManyRequests", "slow down", "Retry-After: 1\r\n");
    kc_client *c = observed_client(cfg);
    cr_assert_eq(kc_request(c, "POST", "/x", NULL, "{}", 2, NULL, NULL), 0);
    cr_assert_eq(obs.n, 2);
    cr_assert_eq(obs.code[0], 429);
    cr_assert_eq(obs.code[1], 200);
    kc_client_free(c);
}

Test(rest_hook, no_answer_is_observed_as_code_zero)
{
    kc_config *c2 = config_for("http://127.0.0.1:1"); /* nothing listens on port 1 */
    kc_client *c = observed_client(c2);
    cr_assert_eq(kc_request(c, "DELETE", "/x", NULL, NULL, 0, NULL, NULL), -ECONNREFUSED);
    cr_assert_eq(obs.n, 1);
    cr_assert_eq(obs.code[0], 0);
    cr_assert_str_eq(obs.method[0], "DELETE");
    kc_client_free(c);
    kc_config_free(c2);
}

Test(rest_hook, without_an_observer_nothing_is_called)
{
    api_error err = API_ERROR_INIT;
    kc_client *c = kc_client_new(cfg, NULL, &err);
    cr_assert_not_null(c);
    cr_assert_eq(kc_request(c, "GET", "/x", NULL, NULL, 0, NULL, NULL), 0);
    cr_assert_eq(obs.n, 0);
    kc_client_free(c);
}

/* ---- watches: one observation per attempt, when the answer's head arrives ---- */

/* Counts the events of a watch and what the observer had seen when the first one came. */
typedef struct watched {
    int events;
    int observed_at_first_event;
} watched;

static bool on_watch_event(void *ctx, kc_watch_event *ev)
{
    (void)ev;
    watched *w = ctx;
    if (w->events++ == 0) {
        pthread_mutex_lock(&obs.mu);
        w->observed_at_first_event = obs.n;
        pthread_mutex_unlock(&obs.mu);
    }
    return true;
}

Test(rest_hook, a_watch_is_observed_once_with_its_code_before_its_first_event)
{
    stub_push_stream(&stub,
                     "{\"type\":\"ADDED\",\"object\":{}}\n{\"type\":\"DELETED\",\"object\":{}}\n");
    kc_client *c = observed_client(cfg);
    watched w = {0};
    api_error e = API_ERROR_INIT;
    cr_assert_eq(kc_watch(c, "/w?watch=true", 0, on_watch_event, &w, NULL, &e), 0, "%s",
                 e.message ? e.message : "");
    cr_assert_eq(w.events, 2);
    cr_assert_eq(w.observed_at_first_event, 1, "observed when the head came, not at the end");
    cr_assert_eq(obs.n, 1);
    cr_assert_eq(obs.code[0], 200);
    cr_assert_str_eq(obs.method[0], "GET");
    char *want = xasprintf("127.0.0.1:%d", stub.port);
    cr_assert_str_eq(obs.host[0], want);
    free(want);
    kc_client_free(c);
}

Test(rest_hook, a_refused_watch_is_observed_with_its_code)
{
    stub_push_status(&stub, 403, "Forbidden", "foos is forbidden", NULL);
    kc_client *c = observed_client(cfg);
    watched w = {0};
    api_error e = API_ERROR_INIT;
    cr_assert_eq(kc_watch(c, "/w?watch=true", 0, on_watch_event, &w, NULL, &e), -EREMOTEIO);
    cr_assert_eq(obs.n, 1);
    cr_assert_eq(obs.code[0], 403);
    apierr_clear(&e);
    kc_client_free(c);
}

Test(rest_hook, each_attempt_of_a_retried_watch_is_observed)
{
    stub_push_status(&stub, 429, "TooManyRequests", "slow down", "Retry-After: 1\r\n");
    stub_push_stream(&stub, "{\"type\":\"ADDED\",\"object\":{}}\n");
    kc_client *c = observed_client(cfg);
    watched w = {0};
    cr_assert_eq(kc_watch(c, "/w?watch=true", 0, on_watch_event, &w, NULL, NULL), 0);
    cr_assert_eq(w.events, 1);
    cr_assert_eq(obs.n, 2);
    cr_assert_eq(obs.code[0], 429);
    cr_assert_eq(obs.code[1], 200);
    kc_client_free(c);
}

Test(rest_hook, a_watch_without_an_answer_is_observed_as_code_zero)
{
    kc_config *c2 = config_for("http://127.0.0.1:1"); /* nothing listens on port 1 */
    kc_client *c = observed_client(c2);
    watched w = {0};
    cr_assert_eq(kc_watch(c, "/w?watch=true", 0, on_watch_event, &w, NULL, NULL), -ECONNREFUSED);
    cr_assert_eq(obs.n, 1);
    cr_assert_eq(obs.code[0], 0);
    cr_assert_str_eq(obs.method[0], "GET");
    kc_client_free(c);
    kc_config_free(c2);
}

Test(rest_hook, a_watch_cancelled_before_it_starts_is_not_observed)
{
    kc_client *c = observed_client(cfg);
    atomic_bool cancel = true;
    watched w = {0};
    cr_assert_eq(kc_watch(c, "/w?watch=true", 0, on_watch_event, &w, &cancel, NULL), 0);
    cr_assert_eq(obs.n, 0);
    kc_client_free(c);
}

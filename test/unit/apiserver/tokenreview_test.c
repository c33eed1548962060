/*
 * tokenreview_test.c - TokenReview authentication (tokenreview.h) against a scripted HTTP server
 * standing in for kube-apiserver: the exact request, the user read from the status, the cache
 * of successes and rejections on a fake clock, and failures that are not cached.
 */
#include "apiserver/transport/tokenreview.h"
#include "apiserver/transport/webhook.h"
#include "webhook_fixture.h"

#include "client/config.h"
#include "common/alloc.h"
#include "common/clock.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define TR_OK_ALICE                                                                                \
    "{\"apiVersion\":\"authentication.k8s.io/v1\",\"kind\":\"TokenReview\","                       \
    "\"spec\":{\"token\":\"tok-1\"},\"status\":{\"authenticated\":true,\"user\":{"                 \
    "\"username\":\"alice\",\"uid\":\"u-1\",\"groups\":[\"dev\",\"ops\"],"                         \
    "\"extra\":{\"scopes\":[\"x\",\"y\"],\"acme.com/project\":[\"p1\"]}}}}"
#define TR_REJECTED                                                                                \
    "{\"apiVersion\":\"authentication.k8s.io/v1\",\"kind\":\"TokenReview\","                       \
    "\"status\":{\"authenticated\":false,\"error\":\"token expired\"}}"

static void setup(void)
{
    wh_setup(TR_OK_ALICE);
}

TestSuite(tokenreview, .init = setup, .fini = wh_teardown);

static uint64_t calls(tr_webhook *w)
{
    tr_stats st;
    tr_stats_get(w, &st);
    return st.calls;
}

Test(tokenreview, authenticated_user_from_the_status)
{
    tr_webhook *w = tr_new(wh.client, TR_DEFAULT_TTL_MS, wh.clk, 0);
    authn_user *u = NULL;
    api_error err = API_ERROR_INIT;
    cr_assert_eq(tr_authenticate(w, "tok-1", 5, &u, &err), 0, "%s", err.message);

    cr_expect_str_eq(wh.stub.log.data, "POST /apis/authentication.k8s.io/v1/tokenreviews\n");
    char *body = wh_last_body();
    cr_expect_str_eq(body, "{\"apiVersion\":\"authentication.k8s.io/v1\",\"kind\":\"TokenReview\","
                           "\"spec\":{\"token\":\"tok-1\"}}");
    free(body);
    pthread_mutex_lock(&wh.stub.mu);
    cr_expect_not_null(strcasestr(wh.stub.last_request, "\r\nContent-Type: application/json\r\n"));
    pthread_mutex_unlock(&wh.stub.mu);

    cr_expect_str_eq(u->name, "alice");
    cr_expect_str_eq(u->uid, "u-1");
    cr_assert_eq(u->ngroups, 3);
    cr_expect_str_eq(u->groups[0], "dev");
    cr_expect_str_eq(u->groups[1], "ops");
    cr_expect_str_eq(u->groups[2], "system:authenticated");
    cr_assert_eq(u->nextra, 2);
    cr_expect_str_eq(u->extra[0].key, "scopes");
    cr_assert_eq(u->extra[0].nvalues, 2);
    cr_expect_str_eq(u->extra[0].values[1], "y");
    cr_expect_str_eq(u->extra[1].key, "acme.com/project");
    cr_expect_str_eq(u->extra[1].values[0], "p1");
    authn_user_free(u);
    tr_free(w);
}

Test(tokenreview, success_is_cached_for_the_ttl)
{
    tr_webhook *w = tr_new(wh.client, 10000, wh.clk, 0);
    authn_user *u = NULL;
    cr_expect_eq(tr_lookup_cached(w, "tok-1", 5, &u), -ENOENT);
    cr_expect_null(u);
    cr_assert_eq(tr_authenticate(w, "tok-1", 5, &u, NULL), 0);
    authn_user_free(u);

    clk_fake_advance_ms(wh.clk, 9999);
    cr_assert_eq(tr_lookup_cached(w, "tok-1", 5, &u), 0);
    cr_expect_str_eq(u->name, "alice");
    authn_user_free(u);
    cr_assert_eq(tr_authenticate(w, "tok-1", 5, &u, NULL), 0);
    authn_user_free(u);
    cr_expect_eq(calls(w), 1, "answered from the cache within the TTL");

    clk_fake_advance_ms(wh.clk, 1);
    cr_expect_eq(tr_lookup_cached(w, "tok-1", 5, &u), -ENOENT, "expired");
    cr_assert_eq(tr_authenticate(w, "tok-1", 5, &u, NULL), 0);
    authn_user_free(u);
    cr_expect_eq(calls(w), 2);
    cr_expect_eq(stub_requests(&wh.stub), 2);

    tr_stats st;
    tr_stats_get(w, &st);
    cr_expect_eq(st.hits, 2);
    tr_free(w);
}

Test(tokenreview, distinct_tokens_are_distinct_entries)
{
    tr_webhook *w = tr_new(wh.client, 10000, wh.clk, 0);
    authn_user *u = NULL;
    cr_assert_eq(tr_authenticate(w, "tok-1", 5, &u, NULL), 0);
    authn_user_free(u);
    cr_expect_eq(tr_lookup_cached(w, "tok-2", 5, &u), -ENOENT);
    cr_expect_eq(tr_lookup_cached(w, "tok-1", 4, &u), -ENOENT, "a prefix is another token");
    tr_free(w);
}

Test(tokenreview, rejection_is_401_and_cached)
{
    wh_push_ok(TR_REJECTED);
    tr_webhook *w = tr_new(wh.client, 10000, wh.clk, 0);
    authn_user *u = NULL;
    api_error err = API_ERROR_INIT;
    cr_expect_eq(tr_authenticate(w, "bad", 3, &u, &err), -EACCES);
    cr_expect_null(u);
    cr_expect_eq(err.code, 401);
    cr_expect_str_eq(err.message, "token rejected by TokenReview: token expired");
    apierr_clear(&err);

    cr_expect_eq(tr_lookup_cached(w, "bad", 3, &u), -EACCES, "the rejection is cached");
    cr_expect_eq(tr_authenticate(w, "bad", 3, &u, NULL), -EACCES);
    cr_expect_eq(calls(w), 1);
    clk_fake_advance_ms(wh.clk, 10000);
    cr_expect_eq(tr_lookup_cached(w, "bad", 3, &u), -ENOENT, "for the same TTL as successes");
    tr_free(w);
}

Test(tokenreview, a_transient_failure_is_retried)
{
    stub_push_status(&wh.stub, 503, "ServiceUnavailable", "restarting", NULL);
    stub_push_status(&wh.stub, 500, "InternalError", "etcd is down", NULL);
    tr_webhook *w = tr_new(wh.client, 10000, wh.clk, 0);
    authn_user *u = NULL;
    cr_assert_eq(tr_authenticate(w, "tok-1", 5, &u, NULL), 0, "the third attempt succeeds");
    authn_user_free(u);
    cr_expect_eq(calls(w), 3);
    cr_expect_eq(wh.waited_ms, 500 + 750);
    tr_free(w);
}

Test(tokenreview, a_failed_call_is_not_cached)
{
    for (int i = 0; i < WEBHOOK_ATTEMPTS; i++) /* every attempt fails */
        stub_push_status(&wh.stub, 500, "InternalError", "etcd is down", NULL);
    tr_webhook *w = tr_new(wh.client, 10000, wh.clk, 0);
    authn_user *u = NULL;
    api_error err = API_ERROR_INIT;
    cr_expect_eq(tr_authenticate(w, "tok-1", 5, &u, &err), -EIO);
    cr_expect_eq(calls(w), WEBHOOK_ATTEMPTS, "retried as kube's webhooks retry");
    cr_expect_eq(wh.waited_ms, 500 + 750 + 1125 + 1687);
    cr_expect_null(u);
    cr_expect_not_null(strstr(err.message, "etcd is down"), "%s", err.message);
    apierr_clear(&err);
    cr_expect_eq(tr_lookup_cached(w, "tok-1", 5, &u), -ENOENT);
    cr_assert_eq(tr_authenticate(w, "tok-1", 5, &u, NULL), 0, "the next request asks again");
    authn_user_free(u);
    cr_expect_eq(calls(w), WEBHOOK_ATTEMPTS + 1);
    tr_free(w);
}

Test(tokenreview, malformed_answers_are_errors)
{
    static const char *bodies[] = {
        "not json",
        "{\"kind\":\"TokenReview\"}",
        "{\"status\":{\"authenticated\":\"yes\"}}",
        "{\"status\":{\"authenticated\":true}}",
        "{\"status\":{\"authenticated\":true,\"user\":{\"username\":\"\"}}}",
        "{\"status\":{\"authenticated\":true,\"user\":{\"username\":\"a\",\"groups\":\"g\"}}}",
        "{\"status\":{\"authenticated\":true,\"user\":{\"username\":\"a\",\"groups\":[1]}}}",
        "{\"status\":{\"authenticated\":true,\"user\":{\"username\":\"a\",\"extra\":{\"k\":\"v\"}}}"
        "}",
        "{\"status\":{\"authenticated\":true,\"user\":{\"username\":\"a\",\"uid\":7}}}",
    };
    tr_webhook *w = tr_new(wh.client, 10000, wh.clk, 0);
    for (size_t i = 0; i < sizeof bodies / sizeof *bodies; i++) {
        wh_push_ok(bodies[i]);
        authn_user *u = NULL;
        api_error err = API_ERROR_INIT;
        cr_expect_eq(tr_authenticate(w, "tok", 3, &u, &err), -EPROTO, "%s", bodies[i]);
        cr_expect_null(u);
        cr_expect(apierr_is_set(&err));
        apierr_clear(&err);
    }
    cr_expect_eq(calls(w), sizeof bodies / sizeof *bodies, "no malformed answer was cached");
    tr_free(w);
}

Test(tokenreview, the_reviewer_group_is_not_doubled)
{
    wh_push_ok("{\"status\":{\"authenticated\":true,\"user\":{\"username\":\"bob\","
               "\"groups\":[\"system:authenticated\"]}}}");
    tr_webhook *w = tr_new(wh.client, 10000, wh.clk, 0);
    authn_user *u = NULL;
    cr_assert_eq(tr_authenticate(w, "tok", 3, &u, NULL), 0);
    cr_expect_eq(u->ngroups, 1);
    cr_expect_str_eq(u->uid, "");
    cr_expect_eq(u->nextra, 0);
    authn_user_free(u);
    tr_free(w);
}

Test(tokenreview, the_token_is_escaped_in_json)
{
    tr_webhook *w = tr_new(wh.client, 10000, wh.clk, 0);
    authn_user *u = NULL;
    cr_assert_eq(tr_authenticate(w, "a\"b\\c", 5, &u, NULL), 0);
    authn_user_free(u);
    char *body = wh_last_body();
    cr_expect_not_null(strstr(body, "\"spec\":{\"token\":\"a\\\"b\\\\c\"}"), "%s", body);
    free(body);
    tr_free(w);
}

Test(tokenreview, a_token_with_a_nul_byte_is_rejected_without_a_call)
{
    tr_webhook *w = tr_new(wh.client, 10000, wh.clk, 0);
    authn_user *u = NULL;
    cr_expect_eq(tr_authenticate(w, "ab\0cd", 5, &u, NULL), -EACCES);
    cr_expect_eq(calls(w), 0);
    tr_free(w);
}

Test(tokenreview, zero_ttl_caches_nothing)
{
    tr_webhook *w = tr_new(wh.client, 0, wh.clk, 0);
    authn_user *u = NULL;
    for (int i = 0; i < 2; i++) {
        cr_assert_eq(tr_authenticate(w, "tok-1", 5, &u, NULL), 0);
        authn_user_free(u);
    }
    cr_expect_eq(calls(w), 2);
    tr_free(w);
}

Test(tokenreview, transport_failure_is_an_error)
{
    kc_config *closed = xcalloc(1, sizeof *closed);
    closed->server = xstrdup("http://127.0.0.1:1"); /* nothing listens on port 1 */
    closed->creds = kc_credentials_new_static(NULL);
    kc_client *c = kc_client_new(closed, NULL, NULL);
    cr_assert_not_null(c);
    tr_webhook *w = tr_new(c, 10000, wh.clk, 0);
    authn_user *u = NULL;
    api_error err = API_ERROR_INIT;
    cr_expect_eq(tr_authenticate(w, "tok", 3, &u, &err), -EIO);
    cr_expect(apierr_is_set(&err));
    apierr_clear(&err);
    tr_free(w);
    kc_client_free(c);
    kc_config_free(closed);
}

/* Workers released together with one token: whoever arrives while the review runs waits for
   it, whoever arrives later finds the cache; either way one call. */
typedef struct racer {
    tr_webhook *w;
    pthread_barrier_t *start;
    int rc;
} racer;

static void *race(void *p)
{
    racer *r = p;
    pthread_barrier_wait(r->start);
    authn_user *u = NULL;
    r->rc = tr_authenticate(r->w, "tok-1", 5, &u, NULL);
    if (r->rc == 0 && strcmp(u->name, "alice") != 0)
        r->rc = -1;
    authn_user_free(u);
    return NULL;
}

Test(tokenreview, concurrent_requests_share_one_review)
{
    enum { N = 8 };
    tr_webhook *w = tr_new(wh.client, 10000, wh.clk, 0);
    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, N);
    pthread_t t[N];
    racer r[N];
    for (int i = 0; i < N; i++) {
        r[i] = (racer){.w = w, .start = &start, .rc = -1};
        cr_assert_eq(pthread_create(&t[i], NULL, race, &r[i]), 0);
    }
    for (int i = 0; i < N; i++) {
        pthread_join(t[i], NULL);
        cr_expect_eq(r[i].rc, 0);
    }
    cr_expect_eq(calls(w), 1);
    pthread_barrier_destroy(&start);
    tr_free(w);
}

Test(tokenreview, waiters_share_a_failure)
{
    enum { N = 4 };
    for (int i = 0; i < WEBHOOK_ATTEMPTS; i++)
        stub_push_status(&wh.stub, 500, "InternalError", "down", NULL);
    tr_webhook *w = tr_new(wh.client, 10000, wh.clk, 0);
    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, N);
    pthread_t t[N];
    racer r[N];
    for (int i = 0; i < N; i++) {
        r[i] = (racer){.w = w, .start = &start, .rc = 1};
        cr_assert_eq(pthread_create(&t[i], NULL, race, &r[i]), 0);
    }
    int failed = 0;
    for (int i = 0; i < N; i++) {
        pthread_join(t[i], NULL);
        cr_expect(r[i].rc == 0 || r[i].rc == -EIO, "rc %d", r[i].rc);
        failed += r[i].rc == -EIO;
    }
    /* The failed review answered its waiters; those that came after it made a second call. */
    cr_expect_geq(failed, 1);
    cr_expect_eq(calls(w), failed == N ? WEBHOOK_ATTEMPTS : WEBHOOK_ATTEMPTS + 1);
    pthread_barrier_destroy(&start);
    tr_free(w);
}

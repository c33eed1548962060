/*
 * webhook_fixture.c - the webhook clients' shared test setup (webhook_fixture.h).
 */
#include "webhook_fixture.h"

#include "common/alloc.h"

#include <criterion/criterion.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

webhook_fixture wh;

/* The client's sleep: counts instead of waiting, so the retries' backoff costs no time and the
 * tests can still check what was asked. */
static void no_wait(void *ctx, uint64_t ms)
{
    (void)ctx;
    wh.waited_ms += ms;
}

static authn_user *make_alice(void)
{
    authn_user *u = authn_user_new("alice", "u-1");
    authn_user_add_group(u, "dev");
    authn_user_add_group(u, "system:authenticated");
    authn_user_add_extra(u, "scopes", "x");
    authn_user_add_extra(u, "acme.com/project", "p1");
    authn_user_add_extra(u, "scopes", "y");
    return u;
}

void wh_setup(const char *fallback_body)
{
    alloc_install_cjson_hooks();
    wh = (webhook_fixture){0};
    char *ok = stub_response(200, "OK", NULL, fallback_body);
    stub_start(&wh.stub, ok);
    free(ok);
    wh.cfg = xcalloc(1, sizeof *wh.cfg);
    wh.cfg->server = xasprintf("http://127.0.0.1:%d", wh.stub.port);
    wh.cfg->creds = kc_credentials_new_static(NULL);
    wh.clk = clk_fake_new(0);
    kc_client_options o = kc_client_defaults();
    o.max_retries = 0;
    o.sleep = no_wait;
    api_error err = API_ERROR_INIT;
    wh.client = kc_client_new(wh.cfg, &o, &err);
    cr_assert_not_null(wh.client, "kc_client_new: %s", err.message ? err.message : "");
    wh.alice = make_alice();
}

void wh_teardown(void)
{
    authn_user_free(wh.alice);
    kc_client_free(wh.client);
    stub_stop(&wh.stub);
    kc_config_free(wh.cfg);
    clk_fake_free(wh.clk);
}

void wh_push_ok(const char *body)
{
    char *r = stub_response(200, "OK", NULL, body);
    stub_push(&wh.stub, r);
    free(r);
}

char *wh_last_body(void)
{
    pthread_mutex_lock(&wh.stub.mu);
    const char *end = wh.stub.last_request ? strstr(wh.stub.last_request, "\r\n\r\n") : NULL;
    char *body = xstrdup(end ? end + 4 : "");
    pthread_mutex_unlock(&wh.stub.mu);
    return body;
}

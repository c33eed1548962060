/*
 * kc_ws_watch against the real foo-apiserver (server_fixture.h) over wss: the kubeconfig's CA
 * and admin client certificate from memory, the server's IP address checked against the
 * certificate's IP SANs, tls-server-name (a name the certificate carries works, another fails
 * the handshake), an anonymous watch refused with 401 Unauthorized, a watch the server refuses
 * with 400 BadRequest, and a tokenFile's stale token refreshed once after its 401. Each test gets
 * its own server (Criterion runs the suite's .init and .fini around every test, each in its own
 * process).
 */
#include "client/config.h"
#include "client/rest.h"
#include "client/wswatch.h"
#include "common/alloc.h"

#include "server_fixture.h"
#include "testutil.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FOOS "/apis/demo.example.com/v1beta1/foos"

static sf_server srv;
static kc_config *cfg;
static kc_client *kc;
static kc_wswatch *ws;

static void setup(void)
{
    alloc_install_cjson_hooks();
    cr_assert_eq(sf_start(&srv, NULL), 0, "foo-apiserver did not start");
    api_error err = API_ERROR_INIT;
    cr_assert_eq(kc_load(&(kc_load_options){.kubeconfig = srv.kubeconfig}, &cfg, &err), 0);
    kc = kc_client_new(cfg, NULL, &err);
    cr_assert_not_null(kc);
    const char *body = "{\"apiVersion\":\"demo.example.com/v1beta1\",\"kind\":\"Foo\","
                       "\"metadata\":{\"name\":\"tls-probe\"},\"spec\":{}}";
    cr_assert_eq(kc_request(kc, "POST", FOOS, NULL, body, strlen(body), NULL, &err), 0);
}

static void teardown(void)
{
    kc_wswatch_free(ws);
    ws = NULL;
    kc_client_free(kc);
    kc_config_free(cfg);
    sf_stop(&srv);
}

TestSuite(ws_tls, .init = setup, .fini = teardown, .timeout = 60);

typedef struct seen {
    int events;
    char name[64];
} seen;

/* Takes the first event and stops the watch. */
static bool first_event(void *ctx, kc_watch_event *ev)
{
    seen *s = ctx;
    const cJSON *md = cJSON_GetObjectItem(ev->object, "metadata");
    const cJSON *name = md ? cJSON_GetObjectItem(md, "name") : NULL;
    if (cJSON_IsString(name))
        snprintf(s->name, sizeof s->name, "%s", name->valuestring);
    s->events++;
    return false;
}

/* A watch from resourceVersion 0 through client c: the probe Foo comes as the first event. */
static int watch_through(kc_client *c, const char *path, seen *s, api_error *err)
{
    kc_wswatch_free(ws);
    ws = kc_wswatch_new(c, err);
    cr_assert_not_null(ws, "%s", err->message ? err->message : "");
    return kc_ws_watch(ws, path, 10000, first_event, s, NULL, err);
}

/* A client on a copy of the suite's config with tls-server-name set to name. */
static kc_client *client_named(kc_config *copy, const char *name)
{
    *copy = *cfg;
    copy->tls_server_name = (char *)name;
    api_error err = API_ERROR_INIT;
    kc_client *c = kc_client_new(copy, NULL, &err);
    cr_assert_not_null(c, "%s", err.message ? err.message : "");
    return c;
}

Test(ws_tls, client_certificate_and_ca_from_memory_by_ip_address)
{
    seen s = {0};
    api_error err = API_ERROR_INIT;
    int rc = watch_through(kc, FOOS "?watch=true&resourceVersion=0", &s, &err);
    cr_assert_eq(rc, 0, "%d %s", rc, err.message ? err.message : "");
    cr_assert_eq(s.events, 1);
    cr_assert_str_eq(s.name, "tls-probe");
}

Test(ws_tls, a_tls_server_name_the_certificate_carries_works)
{
    kc_config copy;
    kc_client *c = client_named(&copy, "localhost");
    seen s = {0};
    api_error err = API_ERROR_INIT;
    int rc = watch_through(c, FOOS "?watch=true&resourceVersion=0", &s, &err);
    cr_assert_eq(rc, 0, "%d %s", rc, err.message ? err.message : "");
    cr_assert_eq(s.events, 1);
    kc_wswatch_free(ws);
    ws = NULL;
    kc_client_free(c);
}

Test(ws_tls, another_name_fails_the_handshake)
{
    kc_config copy;
    kc_client *c = client_named(&copy, "nothere.example");
    seen s = {0};
    api_error err = API_ERROR_INIT;
    cr_assert_eq(watch_through(c, FOOS "?watch=true&resourceVersion=0", &s, &err), -EIO);
    cr_assert_eq(err.code, 0);
    cr_assert_str_eq(err.reason, "Transport");
    cr_assert_eq(s.events, 0);
    apierr_clear(&err);
    kc_wswatch_free(ws);
    ws = NULL;
    kc_client_free(c);
}

Test(ws_tls, an_anonymous_watch_is_401_unauthorized)
{
    kc_config copy = *cfg;
    copy.client_cert_pem = copy.client_key_pem = NULL;
    copy.client_cert_pem_len = copy.client_key_pem_len = 0;
    api_error err = API_ERROR_INIT;
    kc_client *c = kc_client_new(&copy, NULL, &err);
    cr_assert_not_null(c);
    seen s = {0};
    cr_assert_eq(watch_through(c, FOOS "?watch=true", &s, &err), -EREMOTEIO);
    cr_assert_eq(err.code, 401);
    cr_assert_str_eq(err.reason, "Unauthorized");
    apierr_clear(&err);
    kc_wswatch_free(ws);
    ws = NULL;
    kc_client_free(c);
}

Test(ws_tls, a_watch_the_server_refuses_is_its_status)
{
    seen s = {0};
    api_error err = API_ERROR_INIT;
    /* labelSelector "===" does not parse: kube answers 400 BadRequest */
    int rc = watch_through(kc, FOOS "?watch=true&labelSelector=%3D%3D%3D", &s, &err);
    cr_assert_eq(rc, -EREMOTEIO, "%d %s", rc, err.message ? err.message : "");
    cr_assert_eq(err.code, 400);
    cr_assert_str_eq(err.reason, "BadRequest");
    apierr_clear(&err);
}

/* ---- a bearer token from a tokenFile, refreshed after a 401 ---- */

Test(ws_tls, a_401_rereads_the_token_file_once_and_the_watch_goes_through)
{
    char *dir = tu_tmpdir();
    char *tokens = tu_write(dir, "tokens.csv", "good-token,bob,bob-uid,\"system:masters\"\n");
    char *token = tu_write(dir, "token", "stale-token\n");
    sf_server tsrv = {0};
    const char *args[] = {"--token-auth-file", tokens, NULL};
    cr_assert_eq(sf_start(&tsrv, args), 0);
    char *kubeconfig_text =
        xasprintf("apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n"
                  "    server: \"%s\"\n    certificate-authority: %s/pki/ca.crt\n"
                  "users:\n- name: u\n  user: {tokenFile: %s}\n"
                  "contexts:\n- name: c\n  context: {cluster: c, user: u}\ncurrent-context: c\n",
                  tsrv.url, tsrv.data_dir, token);
    char *kubeconfig = tu_write(dir, "kubeconfig", kubeconfig_text);
    kc_config *tcfg = NULL;
    api_error err = API_ERROR_INIT;
    cr_assert_eq(kc_load(&(kc_load_options){.kubeconfig = kubeconfig}, &tcfg, &err), 0, "%s",
                 err.message ? err.message : "");
    kc_client *c = kc_client_new(tcfg, NULL, &err);
    cr_assert_not_null(c);
    /* A first call caches the stale token (re-read once after its 401: still stale). */
    cr_assert_eq(kc_request(c, "GET", FOOS, NULL, NULL, 0, NULL, &err), -EREMOTEIO);
    cr_assert_eq(err.code, 401);
    apierr_clear(&err);
    free(tu_write(dir, "token", "good-token\n"));
    kc_client_stats before, after;
    kc_client_stats_get(c, &before);
    seen s = {0};
    /* The cached stale token is sent, refused, re-read: the second handshake is accepted. */
    int rc = watch_through(c, FOOS "?watch=true&timeoutSeconds=1", &s, &err);
    cr_assert_eq(rc, 0, "%d %s", rc, err.message ? err.message : "");
    kc_client_stats_get(c, &after);
    cr_assert_eq(after.auth_retries - before.auth_retries, 1);
    kc_wswatch_free(ws);
    ws = NULL;
    kc_client_free(c);
    kc_config_free(tcfg);
    sf_stop(&tsrv);
    free(kubeconfig_text);
    free(kubeconfig);
    free(token);
    free(tokens);
    tu_rmtree(dir);
    free(dir);
}

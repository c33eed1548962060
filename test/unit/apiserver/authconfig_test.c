/*
 * authconfig_test.c - the extension-apiserver-authentication ConfigMap (authconfig.h): the
 * parser (values, defaults, errors naming the key) and the watcher against a scripted HTTP
 * server standing in for kube-apiserver (first state, changes, unchanged updates, DELETED, a
 * missing ConfigMap, 410 Gone, stop).
 */
#include "apiserver/transport/authconfig.h"
#include "test/unit/client/http_stub.h"

#include "client/config.h"
#include "common/alloc.h"
#include "common/clock.h"
#include "common/json.h"
#include "common/sbuf.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define LIST_PATH                                                                                  \
    "/api/v1/namespaces/kube-system/configmaps?fieldSelector=metadata.name%3Dextension-apiserver-" \
    "authentication"

/* A self-signed certificate for cn, PEM; caller frees. */
static char *make_cert_pem(const char *cn)
{
    EVP_PKEY *key = EVP_EC_gen("P-256");
    cr_assert_not_null(key);
    X509 *x = X509_new();
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), 0);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_NAME *name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509_set_issuer_name(x, name);
    X509_set_pubkey(x, key);
    cr_assert_gt(X509_sign(x, key, EVP_sha256()), 0);
    BIO *bio = BIO_new(BIO_s_mem());
    PEM_write_bio_X509(bio, x);
    char *data = NULL;
    long n = BIO_get_mem_data(bio, &data);
    char *pem = xstrndup(data, (size_t)n);
    BIO_free(bio);
    X509_free(x);
    EVP_PKEY_free(key);
    return pem;
}

static char *ca_a, *ca_b;

static void suite_init(void)
{
    alloc_install_cjson_hooks();
    ca_a = make_cert_pem("ca-a");
    ca_b = make_cert_pem("ca-b");
}

static void suite_fini(void)
{
    free(ca_a);
    free(ca_b);
}

/* A ConfigMap object with the given data entries (key, value pairs ending with NULL) and RV. */
static cJSON *configmap(const char *rv, ...)
{
    cJSON *cm = cJSON_CreateObject();
    json_set_string(cm, "apiVersion", "v1");
    json_set_string(cm, "kind", "ConfigMap");
    cJSON *meta = json_ensure_object(cm, "metadata");
    json_set_string(meta, "name", "extension-apiserver-authentication");
    json_set_string(meta, "namespace", "kube-system");
    json_set_string(meta, "resourceVersion", rv);
    cJSON *data = json_ensure_object(cm, "data");
    va_list ap;
    va_start(ap, rv);
    const char *k;
    while ((k = va_arg(ap, const char *)) != NULL)
        json_set_string(data, k, va_arg(ap, const char *));
    va_end(ap);
    return cm;
}

static int parse(cJSON *cm, ac_config *out, api_error *err)
{
    int rc = ac_parse(cm, out, err);
    cJSON_Delete(cm);
    return rc;
}

TestSuite(authconfig, .init = suite_init, .fini = suite_fini);

Test(authconfig, parse_every_key)
{
    ac_config c;
    api_error err = API_ERROR_INIT;
    cr_assert_eq(parse(configmap("1", "client-ca-file", ca_a, "requestheader-client-ca-file", ca_b,
                                 "requestheader-allowed-names", "[\"front-proxy-client\"]",
                                 "requestheader-username-headers", "[\"X-Remote-User\"]",
                                 "requestheader-group-headers", "[\"X-Remote-Group\"]",
                                 "requestheader-extra-headers-prefix", "[\"X-Remote-Extra-\"]",
                                 "requestheader-uid-headers", "[\"X-Remote-Uid\",\"X-Uid\"]", NULL),
                       &c, &err),
                 0, "%s", err.message);
    cr_expect_str_eq(c.client_ca, ca_a);
    cr_expect_str_eq(c.requestheader_ca, ca_b);
    cr_assert_eq(c.allowed_names.n, 1);
    cr_expect_str_eq(c.allowed_names.v[0], "front-proxy-client");
    cr_assert_eq(c.username_headers.n, 1);
    cr_expect_str_eq(c.username_headers.v[0], "X-Remote-User");
    cr_expect_str_eq(c.group_headers.v[0], "X-Remote-Group");
    cr_expect_str_eq(c.extra_prefixes.v[0], "X-Remote-Extra-");
    cr_assert_eq(c.uid_headers.n, 2);
    cr_expect_str_eq(c.uid_headers.v[1], "X-Uid");
    ac_config_clear(&c);
}

static void expect_defaults(const ac_config *c)
{
    cr_expect_null(c->client_ca);
    cr_expect_null(c->requestheader_ca);
    cr_expect_eq(c->allowed_names.n, 0);
    cr_assert_eq(c->username_headers.n, 1);
    cr_expect_str_eq(c->username_headers.v[0], "x-remote-user");
    cr_assert_eq(c->group_headers.n, 1);
    cr_expect_str_eq(c->group_headers.v[0], "x-remote-group");
    cr_assert_eq(c->extra_prefixes.n, 1);
    cr_expect_str_eq(c->extra_prefixes.v[0], "x-remote-extra-");
    cr_expect_eq(c->uid_headers.n, 0);
}

Test(authconfig, absent_or_empty_keys_take_the_defaults)
{
    ac_config c;
    cr_assert_eq(parse(configmap("1", NULL), &c, NULL), 0);
    expect_defaults(&c);
    ac_config_clear(&c);

    cr_assert_eq(parse(configmap("1", "requestheader-username-headers", "",
                                 "requestheader-allowed-names", "", NULL),
                       &c, NULL),
                 0);
    expect_defaults(&c);
    ac_config_clear(&c);

    cJSON *no_data = cJSON_Parse("{\"kind\":\"ConfigMap\",\"metadata\":{}}");
    cr_assert_eq(parse(no_data, &c, NULL), 0);
    expect_defaults(&c);
    ac_config_clear(&c);
}

Test(authconfig, an_explicit_empty_array_is_empty)
{
    ac_config c;
    cr_assert_eq(parse(configmap("1", "requestheader-username-headers", "[]", NULL), &c, NULL), 0);
    cr_expect_eq(c.username_headers.n, 0);
    ac_config_clear(&c);
}

/* Asserts that parsing fails with -EINVAL and a 400 whose message names key. */
static void expect_invalid(cJSON *cm, const char *key)
{
    ac_config c;
    api_error err = API_ERROR_INIT;
    cr_expect_eq(parse(cm, &c, &err), -EINVAL, "%s", key);
    cr_expect_eq(err.code, 400);
    cr_expect_not_null(err.message);
    if (err.message)
        cr_expect_not_null(strstr(err.message, key), "%s", err.message);
    cr_expect_null(c.client_ca);
    cr_expect_eq(c.username_headers.n, 0);
    apierr_clear(&err);
}

Test(authconfig, malformed_values_name_their_key)
{
    expect_invalid(configmap("1", "requestheader-username-headers", "X-Remote-User", NULL),
                   "requestheader-username-headers");
    expect_invalid(configmap("1", "requestheader-group-headers", "{\"a\":1}", NULL),
                   "requestheader-group-headers");
    expect_invalid(configmap("1", "requestheader-allowed-names", "[\"a\",2]", NULL),
                   "requestheader-allowed-names");
    expect_invalid(configmap("1", "requestheader-extra-headers-prefix", "[\"a\"", NULL),
                   "requestheader-extra-headers-prefix");
    expect_invalid(configmap("1", "requestheader-uid-headers", "\"x\"", NULL),
                   "requestheader-uid-headers");
    expect_invalid(configmap("1", "client-ca-file", "not a certificate", NULL), "client-ca-file");
    expect_invalid(configmap("1", "requestheader-client-ca-file",
                             "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
                             NULL),
                   "requestheader-client-ca-file");
    expect_invalid(cJSON_Parse("{\"data\":{\"client-ca-file\":7}}"), "client-ca-file");
    expect_invalid(cJSON_Parse("{\"data\":[]}"), "data");
}

Test(authconfig, a_bundle_of_several_certificates)
{
    char *bundle = xasprintf("%s%s", ca_a, ca_b);
    ac_config c;
    cr_assert_eq(parse(configmap("1", "client-ca-file", bundle, NULL), &c, NULL), 0);
    cr_expect_str_eq(c.client_ca, bundle);
    ac_config_clear(&c);
    free(bundle);
}

Test(authconfig, equality)
{
    ac_config a, b;
    cr_assert_eq(parse(configmap("1", "client-ca-file", ca_a, NULL), &a, NULL), 0);
    cr_assert_eq(parse(configmap("2", "client-ca-file", ca_a, NULL), &b, NULL), 0);
    cr_expect(ac_config_equal(&a, &b), "the resourceVersion is not content");
    ac_config_clear(&b);
    cr_assert_eq(parse(configmap("1", "client-ca-file", ca_b, NULL), &b, NULL), 0);
    cr_expect_not(ac_config_equal(&a, &b));
    ac_config_clear(&b);
    cr_assert_eq(parse(configmap("1", "client-ca-file", ca_a, "requestheader-allowed-names",
                                 "[\"x\"]", NULL),
                       &b, NULL),
                 0);
    cr_expect_not(ac_config_equal(&a, &b));
    ac_config_clear(&b);
    ac_config_clear(&a);
}

/* ---- watcher ---- */

/* What on_change saw, for the test thread to wait on. */
typedef struct seen {
    pthread_mutex_t mu;
    pthread_cond_t cond;
    int calls;
    char *allowed[8]; /* the first allowed name of each state ("" when none) */
} seen;

static void on_change(void *ctx, const ac_config *cfg)
{
    seen *s = ctx;
    pthread_mutex_lock(&s->mu);
    if (s->calls < 8)
        s->allowed[s->calls] = xstrdup(cfg->allowed_names.n ? cfg->allowed_names.v[0] : "");
    s->calls++;
    pthread_cond_broadcast(&s->cond);
    pthread_mutex_unlock(&s->mu);
}

/* Waits (up to 20 s, a bound for a broken test, not a timing assertion) for n calls. */
static int wait_calls(seen *s, int n)
{
    struct timespec deadline = clk_mono_deadline(20 * CLK_NS_PER_S);
    pthread_mutex_lock(&s->mu);
    while (s->calls < n)
        if (pthread_cond_timedwait(&s->cond, &s->mu, &deadline) != 0)
            break;
    int calls = s->calls;
    pthread_mutex_unlock(&s->mu);
    return calls;
}

static http_stub stub;
static kc_config *cfg;
static kc_client *client;
static seen got;

/* The stub answers every request after the script with an empty list: not found. */
static void watcher_setup(void)
{
    suite_init();
    char *empty = stub_response(200, "OK", NULL,
                                "{\"kind\":\"ConfigMapList\",\"metadata\":{\"resourceVersion\":"
                                "\"99\"},\"items\":[]}");
    stub_start(&stub, empty);
    free(empty);
    cfg = xcalloc(1, sizeof *cfg);
    cfg->server = xasprintf("http://127.0.0.1:%d", stub.port);
    cfg->creds = kc_credentials_new_static(NULL);
    client = kc_client_new(cfg, NULL, NULL);
    cr_assert_not_null(client);
    got = (seen){.calls = 0};
    pthread_mutex_init(&got.mu, NULL);
    cr_assert_eq(clk_mono_cond_init(&got.cond), 0);
}

static void watcher_teardown(void)
{
    kc_client_free(client);
    stub_stop(&stub);
    kc_config_free(cfg);
    for (int i = 0; i < got.calls && i < 8; i++)
        free(got.allowed[i]);
    pthread_cond_destroy(&got.cond);
    pthread_mutex_destroy(&got.mu);
    suite_fini();
}

TestSuite(authconfig_watch, .init = watcher_setup, .fini = watcher_teardown);

static ac_watcher *start(void)
{
    ac_watcher_options o = {.client = client,
                            .on_change = on_change,
                            .ctx = &got,
                            .backoff_initial_ms = 5,
                            .backoff_max_ms = 20};
    ac_watcher *w = NULL;
    cr_assert_eq(ac_watcher_start(&o, &w, NULL), 0);
    return w;
}

/* A ConfigMap whose allowed names are [name], as JSON text; caller frees. */
static char *cm_json(const char *rv, const char *name)
{
    char *names = xasprintf("[\"%s\"]", name);
    cJSON *cm = configmap(rv, "requestheader-client-ca-file", ca_a, "requestheader-allowed-names",
                          names, NULL);
    char *s = json_print(cm);
    cJSON_Delete(cm);
    free(names);
    return s;
}

static void push_list(const char *rv, const char *name)
{
    char *item = cm_json(rv, name);
    char *body = xasprintf("{\"kind\":\"ConfigMapList\",\"metadata\":{\"resourceVersion\":\"%s\"},"
                           "\"items\":[%s]}",
                           rv, item);
    char *resp = stub_response(200, "OK", NULL, body);
    stub_push(&stub, resp);
    free(resp);
    free(body);
    free(item);
}

/* Appends one watch event line of type with the ConfigMap (rv, name) to sb. */
static void event(sbuf *sb, const char *type, const char *rv, const char *name)
{
    char *obj = cm_json(rv, name);
    sbuf_printf(sb, "{\"type\":\"%s\",\"object\":%s}\n", type, obj);
    free(obj);
}

static void push_stream(sbuf *sb)
{
    stub_push_stream(&stub, sb->data);
    sbuf_free(sb);
}

/* The log of requests so far; caller frees. */
static char *requests(void)
{
    pthread_mutex_lock(&stub.mu);
    char *log = xstrdup(stub.log.data ? stub.log.data : "");
    pthread_mutex_unlock(&stub.mu);
    return log;
}

Test(authconfig_watch, first_state_then_each_change)
{
    push_list("5", "front-proxy-client");
    sbuf s;
    sbuf_init(&s);
    sbuf_puts(&s, "{\"type\":\"BOOKMARK\",\"object\":{\"kind\":\"ConfigMap\",\"metadata\":{"
                  "\"resourceVersion\":\"6\"}}}\n");
    event(&s, "MODIFIED", "7", "front-proxy-client"); /* same data: no call */
    event(&s, "MODIFIED", "8", "other-proxy");
    push_stream(&s);

    ac_watcher *w = start();
    cr_assert_eq(wait_calls(&got, 2), 2);
    /* Loaded once the first call has returned, which the second call proves. */
    cr_expect(ac_watcher_loaded(w));
    ac_watcher_stop(w);
    cr_expect_eq(got.calls, 2, "the unchanged MODIFIED made no call");
    cr_expect_str_eq(got.allowed[0], "front-proxy-client");
    cr_expect_str_eq(got.allowed[1], "other-proxy");

    char *log = requests();
    cr_expect_eq(strncmp(log,
                         "GET " LIST_PATH "\nGET " LIST_PATH
                         "&watch=1&resourceVersion=5&allowWatchBookmarks=true\n",
                         strlen("GET " LIST_PATH "\nGET " LIST_PATH
                                "&watch=1&resourceVersion=5&allowWatchBookmarks=true\n")),
                 0, "%s", log);
    free(log);
}

Test(authconfig_watch, deleted_keeps_the_last_state)
{
    push_list("5", "a");
    sbuf s;
    sbuf_init(&s);
    event(&s, "DELETED", "6", "a");
    event(&s, "ADDED", "7", "b");
    push_stream(&s);

    ac_watcher *w = start();
    cr_assert_eq(wait_calls(&got, 2), 2);
    cr_expect(ac_watcher_loaded(w), "still loaded after DELETED");
    ac_watcher_stop(w);
    cr_expect_str_eq(got.allowed[0], "a");
    cr_expect_str_eq(got.allowed[1], "b");
}

Test(authconfig_watch, a_missing_configmap_is_retried)
{
    /* The script starts with the fallback's empty list twice, then the ConfigMap. */
    char *empty = stub_response(200, "OK", NULL, "{\"kind\":\"ConfigMapList\",\"items\":[]}");
    stub_push(&stub, empty);
    stub_push(&stub, empty);
    free(empty);
    push_list("5", "a");

    ac_watcher *w = start();
    cr_assert_eq(wait_calls(&got, 1), 1);
    ac_watcher_stop(w);
    char *log = requests();
    const char *three_lists = "GET " LIST_PATH "\nGET " LIST_PATH "\nGET " LIST_PATH "\n";
    cr_expect_eq(strncmp(log, three_lists, strlen(three_lists)), 0, "%s", log);
    free(log);
}

Test(authconfig_watch, never_loaded_without_the_configmap)
{
    ac_watcher *w = start(); /* every list answers an empty list */
    cr_expect_not(ac_watcher_loaded(w));
    ac_watcher_stop(w);
    cr_expect_eq(got.calls, 0);
}

Test(authconfig_watch, a_malformed_configmap_is_not_loaded_until_fixed)
{
    cJSON *bad = configmap("5", "requestheader-allowed-names", "nope", NULL);
    char *item = json_print(bad);
    cJSON_Delete(bad);
    char *body = xasprintf("{\"metadata\":{\"resourceVersion\":\"5\"},\"items\":[%s]}", item);
    char *resp = stub_response(200, "OK", NULL, body);
    stub_push(&stub, resp);
    free(resp);
    free(body);
    free(item);
    push_list("6", "fixed");

    ac_watcher *w = start();
    cr_assert_eq(wait_calls(&got, 1), 1);
    cr_expect_str_eq(got.allowed[0], "fixed");
    ac_watcher_stop(w);
}

Test(authconfig_watch, gone_relists)
{
    push_list("5", "a");
    stub_push_stream(&stub, "{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"code\":410,"
                            "\"reason\":\"Expired\",\"message\":\"too old resource version\"}}\n");
    push_list("20", "b");

    ac_watcher *w = start();
    cr_assert_eq(wait_calls(&got, 2), 2);
    ac_watcher_stop(w);
    cr_expect_str_eq(got.allowed[1], "b");
    char *log = requests();
    const char *want = "GET " LIST_PATH "\nGET " LIST_PATH
                       "&watch=1&resourceVersion=5&allowWatchBookmarks=true\nGET " LIST_PATH "\n";
    cr_expect_eq(strncmp(log, want, strlen(want)), 0, "%s", log);
    free(log);
}

Test(authconfig_watch, stop_ends_a_quiet_watch)
{
    push_list("5", "a");
    stub_push(&stub, ""); /* the watch request is never answered */
    ac_watcher *w = start();
    cr_assert_eq(wait_calls(&got, 1), 1);
    ac_watcher_stop(w); /* returns: the watch checks its cancel flag */
}

Test(authconfig_watch, start_needs_a_client_and_a_callback)
{
    ac_watcher *w = NULL;
    api_error err = API_ERROR_INIT;
    ac_watcher_options o = {.client = client};
    cr_expect_eq(ac_watcher_start(&o, &w, &err), -EINVAL);
    cr_expect_null(w);
    apierr_clear(&err);
    ac_watcher_stop(NULL);
}

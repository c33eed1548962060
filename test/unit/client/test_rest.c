/*
 * The REST client and watch streams against the real foo-apiserver (server_fixture.h: one
 * standalone server per test, started from the build directory or $FOO_APISERVER), with the
 * kubeconfig the server writes: CRUD and patch codes, Status errors decoded (NotFound,
 * AlreadyExists, Conflict, Invalid), watches (changes from another thread, timeoutSeconds,
 * cancel, idle deadline), connection reuse, TLS options (tls-server-name, CA pinning,
 * insecure-skip-tls-verify), bearer tokens from --token-auth-file, and 1000 list+watch cycles
 * for the leak checkers.
 */
#include "client/rest.h"
#include "common/alloc.h"
#include "common/json.h"
#include "common/sbuf.h"
#include "server_fixture.h"
#include "testutil.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

/*
 * Every suite of unit_client that sets a timeout uses this one value: Criterion 2.4.1's runner
 * leaks a little memory (LeakSanitizer then fails the binary's exit status) when suites with
 * different timeouts run in parallel.
 */
#define TEST_TIMEOUT_S 180
#define FOOS           "/apis/demo.example.com/v1beta1/foos"

/*
 * Criterion ignores what LeakSanitizer reports at a test's exit, so a test that must prove "no
 * leak" asks LeakSanitizer itself (ASan builds; elsewhere the check is skipped).
 */
#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/lsan_interface.h>
#define assert_no_leaks()                                                                          \
    cr_assert_eq(__lsan_do_recoverable_leak_check(), 0, "LeakSanitizer found leaks (see above)")
#else
#define assert_no_leaks() ((void)0)
#endif

static sf_server srv;
static kc_config *cfg;
static kc_client *cli;

static kc_config *load_config(const char *path)
{
    kc_load_options opt = {.kubeconfig = path};
    kc_config *c = NULL;
    api_error err = API_ERROR_INIT;
    cr_assert_eq(kc_load(&opt, &c, &err), 0, "kc_load: %s", err.message ? err.message : "");
    return c;
}

static kc_client *new_client(kc_config *c)
{
    api_error err = API_ERROR_INIT;
    kc_client *k = kc_client_new(c, NULL, &err);
    cr_assert_not_null(k, "kc_client_new: %s", err.message ? err.message : "");
    return k;
}

static void start_server(const char *const *extra)
{
    alloc_install_cjson_hooks();
    cr_assert_eq(sf_start(&srv, extra), 0, "foo-apiserver did not start");
    cfg = load_config(srv.kubeconfig);
}

static void setup(void)
{
    start_server(NULL);
    cli = new_client(cfg);
}

static void teardown(void)
{
    kc_client_free(cli);
    cli = NULL;
    kc_config_free(cfg);
    cfg = NULL;
    cr_expect_eq(sf_stop(&srv), 0, "foo-apiserver exits cleanly on SIGTERM");
}

TestSuite(rest, .init = setup, .fini = teardown, .timeout = TEST_TIMEOUT_S);

/* ---- helpers ---- */

static char *foo_body(const char *name, int replicas)
{
    return xasprintf("{\"apiVersion\":\"demo.example.com/v1beta1\",\"kind\":\"Foo\","
                     "\"metadata\":{\"name\":\"%s\"},\"spec\":{\"replicas\":%d}}",
                     name, replicas);
}

/* Creates a Foo; returns the created object (caller frees). */
static cJSON *create_foo(kc_client *c, const char *name)
{
    char *body = foo_body(name, 1);
    cJSON *in = cJSON_Parse(body);
    free(body);
    cJSON *out = NULL;
    api_error e = API_ERROR_INIT;
    cr_assert_eq(kc_request_json(c, "POST", FOOS, in, NULL, &out, &e), 0, "create %s: %s", name,
                 e.message);
    cJSON_Delete(in);
    return out;
}

static char *foo_path(const char *name)
{
    return xasprintf(FOOS "/%s", name);
}

/* The list's resourceVersion (caller frees). */
static char *list_rv(kc_client *c)
{
    cJSON *list = NULL;
    api_error e = API_ERROR_INIT;
    cr_assert_eq(kc_request_json(c, "GET", FOOS, NULL, NULL, &list, &e), 0, "%s", e.message);
    char *rv = xstrdup(json_path_string(list, "metadata.resourceVersion"));
    cJSON_Delete(list);
    return rv;
}

static int replicas_of(const cJSON *foo)
{
    const cJSON *r = json_path(foo, "spec.replicas");
    cr_assert(cJSON_IsNumber(r));
    return r->valueint;
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* ---- CRUD and errors ---- */

Test(rest, create_get_list_update_patch_delete_return_their_codes)
{
    kc_response r;
    api_error e = API_ERROR_INIT;
    char *body = foo_body("crud", 1);
    cr_assert_eq(kc_request(cli, "POST", FOOS, NULL, body, strlen(body), &r, &e), 0, "%s",
                 e.message);
    free(body);
    cr_assert_eq(r.code, 201);
    kc_response_free(&r);

    char *path = foo_path("crud");
    cr_assert_eq(kc_request(cli, "GET", path, NULL, NULL, 0, &r, &e), 0, "%s", e.message);
    cr_assert_eq(r.code, 200);
    cJSON *foo = cJSON_ParseWithLength(r.body, r.len);
    cr_assert_str_eq(json_path_string(foo, "metadata.name"), "crud");
    kc_response_free(&r);

    cJSON *list = NULL;
    cr_assert_eq(kc_request_json(cli, "GET", FOOS, NULL, NULL, &list, &e), 0, "%s", e.message);
    cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItem(list, "items")), 1);
    cJSON_Delete(list);

    json_set_number(json_path(foo, "spec"), "replicas", 3);
    cJSON *updated = NULL;
    cr_assert_eq(kc_request_json(cli, "PUT", path, foo, NULL, &updated, &e), 0, "%s", e.message);
    cr_assert_eq(replicas_of(updated), 3);
    cJSON_Delete(updated);

    const char *patch = "{\"spec\":{\"replicas\":5}}";
    cr_assert_eq(kc_request(cli, "PATCH", path, "application/merge-patch+json", patch,
                            strlen(patch), &r, &e),
                 0, "%s", e.message);
    cr_assert_eq(r.code, 200);
    cJSON *patched = cJSON_ParseWithLength(r.body, r.len);
    cr_assert_eq(replicas_of(patched), 5);
    cJSON_Delete(patched);
    kc_response_free(&r);

    cr_assert_eq(kc_request(cli, "DELETE", path, NULL, NULL, 0, &r, &e), 0, "%s", e.message);
    cr_assert_eq(r.code, 200);
    kc_response_free(&r);
    cr_assert_eq(kc_request(cli, "GET", path, NULL, NULL, 0, NULL, &e), -EREMOTEIO);
    cr_assert_eq(e.code, 404);
    apierr_clear(&e);
    cJSON_Delete(foo);
    free(path);
}

Test(rest, missing_object_decodes_to_not_found)
{
    api_error e = API_ERROR_INIT;
    cr_assert_eq(kc_request(cli, "GET", FOOS "/nope", NULL, NULL, 0, NULL, &e), -EREMOTEIO);
    cr_assert_eq(e.code, 404);
    cr_assert_str_eq(e.reason, "NotFound");
    cr_assert_str_eq(e.message, "foos.demo.example.com \"nope\" not found");
    cr_assert_str_eq(e.name, "nope");
    cr_assert_str_eq(e.kind, "foos");
    apierr_clear(&e);
}

Test(rest, second_create_decodes_to_already_exists)
{
    cJSON_Delete(create_foo(cli, "dup"));
    char *body = foo_body("dup", 1);
    api_error e = API_ERROR_INIT;
    cr_assert_eq(kc_request(cli, "POST", FOOS, NULL, body, strlen(body), NULL, &e), -EREMOTEIO);
    cr_assert_eq(e.code, 409);
    cr_assert_str_eq(e.reason, "AlreadyExists");
    cr_assert_str_eq(e.message, "foos.demo.example.com \"dup\" already exists");
    apierr_clear(&e);
    free(body);
}

Test(rest, stale_update_decodes_to_conflict)
{
    cJSON *foo = create_foo(cli, "stale");
    char *path = foo_path("stale");
    api_error e = API_ERROR_INIT;
    cJSON *fresh = NULL;
    json_set_number(json_path(foo, "spec"), "replicas", 7);
    cr_assert_eq(kc_request_json(cli, "PUT", path, foo, NULL, &fresh, &e), 0, "%s", e.message);
    cr_assert_str_neq(json_path_string(fresh, "metadata.resourceVersion"),
                      json_path_string(foo, "metadata.resourceVersion"));
    cJSON_Delete(fresh);
    fresh = NULL;
    json_set_number(json_path(foo, "spec"), "replicas", 2); /* still the old resourceVersion */
    cr_assert_eq(kc_request_json(cli, "PUT", path, foo, NULL, &fresh, &e), -EREMOTEIO);
    cr_assert_null(fresh);
    cr_assert_eq(e.code, 409);
    cr_assert_str_eq(e.reason, "Conflict");
    cr_assert(tu_contains(e.message, "Operation cannot be fulfilled on foos.demo.example.com "
                                     "\"stale\": the object has been modified"),
              "%s", e.message);
    apierr_clear(&e);
    cJSON_Delete(foo);
    free(path);
}

Test(rest, invalid_object_decodes_causes)
{
    char *body = foo_body("bad", 5000);
    api_error e = API_ERROR_INIT;
    cr_assert_eq(kc_request(cli, "POST", FOOS, NULL, body, strlen(body), NULL, &e), -EREMOTEIO);
    cr_assert_eq(e.code, 422);
    cr_assert_str_eq(e.reason, "Invalid");
    cr_assert_geq(cJSON_GetArraySize(e.causes), 1);
    cr_assert_str_eq(
        cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetArrayItem(e.causes, 0), "field")),
        "spec.replicas");
    apierr_clear(&e);
    free(body);
}

/* ---- watches ---- */

/* Records "TYPE name" lines; stops at DELETED when asked; signals the first event. */
typedef struct watch_log {
    pthread_mutex_t mu;
    pthread_cond_t cond;
    sbuf lines;
    int events;
    bool stop_at_deleted;
    bool stop_at_first;
} watch_log;

static void watch_log_init(watch_log *w)
{
    memset(w, 0, sizeof *w);
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cond, NULL);
}

static void watch_log_free(watch_log *w)
{
    sbuf_free(&w->lines);
    pthread_cond_destroy(&w->cond);
    pthread_mutex_destroy(&w->mu);
}

static bool on_event(void *ctx, kc_watch_event *ev)
{
    static const char *names[] = {"ADDED", "MODIFIED", "DELETED", "BOOKMARK", "ERROR"};
    watch_log *w = ctx;
    const char *name = json_path_string(ev->object, "metadata.name");
    pthread_mutex_lock(&w->mu);
    sbuf_printf(&w->lines, "%s %s\n", names[ev->type], name ? name : "-");
    w->events++;
    pthread_cond_broadcast(&w->cond);
    pthread_mutex_unlock(&w->mu);
    if (w->stop_at_first)
        return false;
    return !(w->stop_at_deleted && ev->type == KC_DELETED);
}

/* Creates, patches and deletes w1 on the shared client; *arg = the first failure or 0. */
static void *writer(void *arg)
{
    int *rc = arg;
    char *body = foo_body("w1", 1);
    const char *patch = "{\"spec\":{\"replicas\":4}}";
    *rc = kc_request(cli, "POST", FOOS, NULL, body, strlen(body), NULL, NULL);
    if (*rc == 0)
        *rc = kc_request(cli, "PATCH", FOOS "/w1", "application/merge-patch+json", patch,
                         strlen(patch), NULL, NULL);
    if (*rc == 0)
        *rc = kc_request(cli, "DELETE", FOOS "/w1", NULL, NULL, 0, NULL, NULL);
    free(body);
    return NULL;
}

Test(rest, watch_from_list_version_sees_changes_made_by_another_thread)
{
    /* A non-zero list version: a watch from "0" would start with a snapshot instead. */
    cJSON_Delete(create_foo(cli, "anchor"));
    char *rv = list_rv(cli);
    cr_assert_str_neq(rv, "0");
    char *path = xasprintf(FOOS "?watch=true&resourceVersion=%s", rv);
    watch_log w;
    watch_log_init(&w);
    w.stop_at_deleted = true;
    pthread_t t;
    int writer_rc = -1;
    cr_assert_eq(pthread_create(&t, NULL, writer, &writer_rc), 0);
    api_error e = API_ERROR_INIT;
    int rc = kc_watch(cli, path, 30000, on_event, &w, NULL, &e);
    cr_assert_eq(pthread_join(t, NULL), 0);
    cr_assert_eq(writer_rc, 0);
    cr_assert_eq(rc, 0, "%s", e.message ? e.message : "");
    cr_assert_str_eq(w.lines.data, "ADDED w1\nMODIFIED w1\nDELETED w1\n");
    watch_log_free(&w);
    free(path);
    free(rv);
}

Test(rest, watch_with_timeout_seconds_ends_with_zero)
{
    char *rv = list_rv(cli);
    char *path = xasprintf(FOOS "?watch=true&timeoutSeconds=1&resourceVersion=%s", rv);
    watch_log w;
    watch_log_init(&w);
    api_error e = API_ERROR_INIT;
    cr_assert_eq(kc_watch(cli, path, 30000, on_event, &w, NULL, &e), 0, "%s",
                 e.message ? e.message : "");
    cr_assert_eq(w.events, 0);
    watch_log_free(&w);
    free(path);
    free(rv);
}

typedef struct cancel_run {
    atomic_bool cancel;
    watch_log log;
    int rc;
} cancel_run;

static void *watch_until_cancelled(void *arg)
{
    cancel_run *r = arg;
    r->rc =
        kc_watch(cli, FOOS "?watch=true&resourceVersion=0", 0, on_event, &r->log, &r->cancel, NULL);
    return NULL;
}

Test(rest, cancel_ends_a_watch_promptly)
{
    cJSON_Delete(create_foo(cli, "c1"));
    cancel_run r = {.rc = -1};
    atomic_init(&r.cancel, false);
    watch_log_init(&r.log);
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, watch_until_cancelled, &r), 0);
    /* The initial ADDED event proves the watch is streaming. */
    pthread_mutex_lock(&r.log.mu);
    while (r.log.events == 0)
        pthread_cond_wait(&r.log.cond, &r.log.mu);
    pthread_mutex_unlock(&r.log.mu);
    uint64_t t0 = now_ms();
    atomic_store(&r.cancel, true);
    cr_assert_eq(pthread_join(t, NULL), 0);
    uint64_t took = now_ms() - t0;
    cr_assert_eq(r.rc, 0);
    cr_assert_lt(took, 500, "cancel took %llu ms (checked every 50 ms)", (unsigned long long)took);
    watch_log_free(&r.log);
}

Test(rest, idle_deadline_ends_a_quiet_watch)
{
    char *rv = list_rv(cli);
    char *path = xasprintf(FOOS "?watch=true&resourceVersion=%s", rv);
    watch_log w;
    watch_log_init(&w);
    api_error e = API_ERROR_INIT;
    uint64_t t0 = now_ms();
    cr_assert_eq(kc_watch(cli, path, 300, on_event, &w, NULL, &e), -ETIMEDOUT);
    uint64_t took = now_ms() - t0;
    cr_assert_geq(took, 300);
    cr_assert_eq(e.code, 0);
    cr_assert_str_eq(e.reason, "Timeout");
    cr_assert_eq(w.events, 0);
    apierr_clear(&e);
    watch_log_free(&w);
    free(path);
    free(rv);
}

Test(rest, watch_of_a_too_new_version_is_an_error)
{
    char *path = xasprintf(FOOS "?watch=true&resourceVersion=999999");
    watch_log w;
    watch_log_init(&w);
    api_error e = API_ERROR_INIT;
    int rc = kc_watch(cli, path, 10000, on_event, &w, NULL, &e);
    /* Either an error answer or an ERROR event carrying the Status, as kube-apiserver may do. */
    if (rc == 0)
        cr_assert(tu_contains(w.lines.data, "ERROR"), "%s", w.lines.data ? w.lines.data : "");
    else
        cr_assert_eq(rc, -EREMOTEIO);
    apierr_clear(&e);
    watch_log_free(&w);
    free(path);
}

/* ---- transport ---- */

Test(rest, sequential_requests_reuse_one_connection)
{
    for (int i = 0; i < 200; i++) {
        api_error e = API_ERROR_INIT;
        cr_assert_eq(kc_request(cli, "GET", FOOS, NULL, NULL, 0, NULL, &e), 0, "%s", e.message);
    }
    kc_client_stats st;
    kc_client_stats_get(cli, &st);
    cr_assert_eq(st.requests, 200);
    cr_assert_eq(st.connections, 1, "%llu connections", (unsigned long long)st.connections);
}

static void *get_many(void *arg)
{
    int *failures = arg;
    for (int i = 0; i < 50; i++)
        if (kc_request(cli, "GET", FOOS, NULL, NULL, 0, NULL, NULL) != 0)
            (*failures)++;
    return NULL;
}

Test(rest, threads_share_one_client)
{
    pthread_t t[4];
    int failures[4] = {0};
    for (int i = 0; i < 4; i++)
        cr_assert_eq(pthread_create(&t[i], NULL, get_many, &failures[i]), 0);
    for (int i = 0; i < 4; i++) {
        cr_assert_eq(pthread_join(t[i], NULL), 0);
        cr_assert_eq(failures[i], 0);
    }
    kc_client_stats st;
    kc_client_stats_get(cli, &st);
    cr_assert_eq(st.requests, 200);
    cr_assert_leq(st.connections, 4, "at most one connection per concurrent thread");
}

Test(rest, thousand_list_watch_cycles_run_clean)
{
    cJSON_Delete(create_foo(cli, "cycle"));
    for (int i = 0; i < 1000; i++) {
        kc_response r;
        api_error e = API_ERROR_INIT;
        cr_assert_eq(kc_request(cli, "GET", FOOS, NULL, NULL, 0, &r, &e), 0, "%s", e.message);
        kc_response_free(&r);
        watch_log w;
        watch_log_init(&w);
        w.stop_at_first = true;
        cr_assert_eq(
            kc_watch(cli, FOOS "?watch=true&resourceVersion=0", 10000, on_event, &w, NULL, &e), 0,
            "cycle %d: %s", i, e.message ? e.message : "");
        cr_assert_eq(w.events, 1);
        watch_log_free(&w);
    }
    kc_client_stats st;
    kc_client_stats_get(cli, &st);
    cr_assert_eq(st.requests, 2001);
    assert_no_leaks();
}

Test(rest, client_recovers_when_the_server_restarts)
{
    api_error e = API_ERROR_INIT;
    cr_assert_eq(kc_request(cli, "GET", FOOS, NULL, NULL, 0, NULL, &e), 0, "%s", e.message);
    cr_assert_eq(sf_kill(&srv), 0);
    cr_assert_eq(kc_request(cli, "GET", FOOS, NULL, NULL, 0, NULL, &e), -ECONNREFUSED);
    cr_assert_str_eq(e.reason, "Transport");
    apierr_clear(&e);
    cr_assert_eq(sf_restart(&srv), 0, "foo-apiserver did not restart");
    /* The pooled connection died with the old process; the next call opens a new one. */
    cr_assert_eq(kc_request(cli, "GET", FOOS, NULL, NULL, 0, NULL, &e), 0, "%s", e.message);
}

Test(rest, tls_server_name_is_used_to_verify_the_certificate)
{
    /* The URL says 127.0.0.1; the serving certificate also names "localhost". */
    cfg->tls_server_name = xstrdup("localhost");
    kc_client *named = new_client(cfg);
    api_error e = API_ERROR_INIT;
    cr_assert_eq(kc_request(named, "GET", FOOS, NULL, NULL, 0, NULL, &e), 0, "%s", e.message);
    kc_client_free(named);

    free(cfg->tls_server_name);
    cfg->tls_server_name = xstrdup("not-in-the-certificate.example");
    kc_client *wrong = new_client(cfg);
    cr_assert_eq(kc_request(wrong, "GET", FOOS, NULL, NULL, 0, NULL, &e), -EIO);
    cr_assert_eq(e.code, 0);
    cr_assert_str_eq(e.reason, "Transport");
    apierr_clear(&e);
    kc_client_free(wrong);
}

Test(rest, server_certificate_must_match_the_configured_ca)
{
    char *fixture = tu_fixture("ca.pem");
    char *other_ca = tu_read(fixture);
    free(fixture);
    cr_assert_not_null(other_ca);
    free(cfg->ca_pem);
    cfg->ca_pem = (unsigned char *)other_ca;
    cfg->ca_pem_len = strlen(other_ca);
    kc_client *pinned = new_client(cfg);
    api_error e = API_ERROR_INIT;
    cr_assert_eq(kc_request(pinned, "GET", FOOS, NULL, NULL, 0, NULL, &e), -EIO);
    cr_assert_str_eq(e.reason, "Transport");
    apierr_clear(&e);
    kc_client_free(pinned);
}

Test(rest, insecure_skip_tls_verify_needs_no_ca)
{
    free(cfg->ca_pem);
    cfg->ca_pem = NULL;
    cfg->ca_pem_len = 0;
    cfg->insecure_skip_tls_verify = true;
    kc_client *insecure = new_client(cfg);
    api_error e = API_ERROR_INIT;
    cr_assert_eq(kc_request(insecure, "GET", FOOS, NULL, NULL, 0, NULL, &e), 0, "%s", e.message);
    kc_client_free(insecure);
}

/* ---- bearer tokens (--token-auth-file) ---- */

static char *token_dir;

static void token_setup(void)
{
    alloc_install_cjson_hooks();
    token_dir = tu_tmpdir();
    /* run-2 is what the exec plugin fixture prints on its second run. */
    char *csv = tu_write(token_dir, "tokens.csv",
                         "s3cret-token,alice,1001,\"devs,ops\"\nrun-2,bob,1002,devs\n");
    const char *extra[] = {"--token-auth-file", csv, NULL};
    start_server(extra);
    free(csv);
    /* Token only: drop the admin client certificate of the generated kubeconfig. */
    free(cfg->client_cert_pem);
    free(cfg->client_key_pem);
    cfg->client_cert_pem = cfg->client_key_pem = NULL;
    cfg->client_cert_pem_len = cfg->client_key_pem_len = 0;
}

static void token_teardown(void)
{
    teardown();
    tu_rmtree(token_dir);
    free(token_dir);
}

TestSuite(rest_token, .init = token_setup, .fini = token_teardown, .timeout = TEST_TIMEOUT_S);

static void use_token(const char *token)
{
    kc_credentials_free(cfg->creds);
    cfg->creds = kc_credentials_new_static(token);
    cli = new_client(cfg);
}

Test(rest_token, static_token_client_is_authenticated)
{
    use_token("s3cret-token");
    cJSON *list = NULL;
    api_error e = API_ERROR_INIT;
    cr_assert_eq(kc_request_json(cli, "GET", FOOS, NULL, NULL, &list, &e), 0, "%s", e.message);
    cr_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(list, "kind")), "FooList");
    cJSON_Delete(list);
}

Test(rest_token, wrong_token_decodes_to_unauthorized_after_one_retry)
{
    use_token("wrong-token");
    api_error e = API_ERROR_INIT;
    cr_assert_eq(kc_request(cli, "GET", FOOS, NULL, NULL, 0, NULL, &e), -EREMOTEIO);
    cr_assert_eq(e.code, 401);
    cr_assert_str_eq(e.reason, "Unauthorized");
    kc_client_stats st;
    kc_client_stats_get(cli, &st);
    cr_assert_eq(st.auth_retries, 1, "a 401 re-fetches the credentials and retries once");
    cr_assert_eq(st.requests, 2);
    apierr_clear(&e);
}

Test(rest_token, watch_with_a_token_streams_events)
{
    use_token("s3cret-token");
    cJSON_Delete(create_foo(cli, "tok"));
    watch_log w;
    watch_log_init(&w);
    w.stop_at_first = true;
    api_error e = API_ERROR_INIT;
    cr_assert_eq(kc_watch(cli, FOOS "?watch=true", 10000, on_event, &w, NULL, &e), 0, "%s",
                 e.message ? e.message : "");
    cr_assert_str_eq(w.lines.data, "ADDED tok\n");
    watch_log_free(&w);
}

/* ---- exec credential plugins ---- */

/* A kubeconfig for the test server whose user runs `command` (exec v1) with env lines. */
static char *exec_kubeconfig(const char *dir, const char *command, const char *env_yaml)
{
    char *text = xasprintf("apiVersion: v1\nkind: Config\ncurrent-context: x\n"
                           "clusters:\n- name: c\n  cluster:\n    server: \"%s\"\n"
                           "    certificate-authority: %s/pki/ca.crt\n"
                           "users:\n- name: u\n  user:\n    exec:\n"
                           "      apiVersion: client.authentication.k8s.io/v1\n"
                           "      command: %s\n"
                           "      interactiveMode: Never\n"
                           "%s"
                           "contexts:\n- name: x\n  context: {cluster: c, user: u}\n",
                           srv.url, srv.data_dir, command, env_yaml ? env_yaml : "");
    char *path = tu_write(dir, "kubeconfig", text);
    free(text);
    return path;
}

/* Replaces the suite's client by one built from the kubeconfig at path. */
static void use_kubeconfig(const char *path)
{
    kc_client_free(cli);
    kc_config_free(cfg);
    cfg = load_config(path);
    cli = new_client(cfg);
}

Test(rest_token, unauthorized_reruns_the_exec_plugin_and_retries_once)
{
    char *plugin = tu_copy_fixture(token_dir, "exec-plugin.sh", "exec-plugin.sh", 0755);
    char *count = xasprintf("%s/count", token_dir);
    char *env = xasprintf("      env:\n      - {name: COUNT_FILE, value: \"%s\"}\n"
                          "      - {name: PLUGIN_API_VERSION, value: "
                          "client.authentication.k8s.io/v1}\n",
                          count);
    char *kubeconfig = exec_kubeconfig(token_dir, plugin, env);
    use_kubeconfig(kubeconfig);
    api_error e = API_ERROR_INIT;
    /* Run 1 gives "run-1" (unknown to the server: 401); run 2 gives the valid "run-2". */
    cr_assert_eq(kc_request(cli, "GET", FOOS, NULL, NULL, 0, NULL, &e), 0, "%s", e.message);
    cr_assert_eq(tu_read_int(count), 2);
    kc_client_stats st;
    kc_client_stats_get(cli, &st);
    cr_assert_eq(st.auth_retries, 1);
    /* The fresh token is cached: no more runs. */
    cr_assert_eq(kc_request(cli, "GET", FOOS, NULL, NULL, 0, NULL, &e), 0, "%s", e.message);
    cr_assert_eq(tu_read_int(count), 2);
    free(kubeconfig);
    free(env);
    free(count);
    free(plugin);
}

/* The PEM of DATA/pki/NAME as a JSON string value (caller frees). */
static char *pem_json(const char *name)
{
    char *path = xasprintf("%s/pki/%s", srv.data_dir, name);
    char *pem = tu_read(path);
    cr_assert_not_null(pem, "%s", path);
    cJSON *s = cJSON_CreateString(pem);
    char *json = json_print(s);
    cJSON_Delete(s);
    free(pem);
    free(path);
    return json;
}

Test(rest, exec_plugin_client_certificate_authenticates)
{
    char *dir = tu_tmpdir();
    char *cert = pem_json("admin.crt");
    char *key = pem_json("admin.key");
    char *cred = xasprintf("{\"apiVersion\":\"client.authentication.k8s.io/v1\","
                           "\"kind\":\"ExecCredential\",\"status\":{"
                           "\"clientCertificateData\":%s,\"clientKeyData\":%s}}\n",
                           cert, key);
    char *cred_path = tu_write(dir, "credential.json", cred);
    char *script = xasprintf("#!/bin/sh\nexec cat '%s'\n", cred_path);
    char *plugin = tu_write(dir, "cert-plugin.sh", script);
    cr_assert_eq(chmod(plugin, 0755), 0);
    char *kubeconfig = exec_kubeconfig(dir, plugin, NULL);
    use_kubeconfig(kubeconfig);
    cr_assert_null(cfg->client_cert_pem, "the certificate comes from the plugin only");
    cJSON *list = NULL;
    api_error e = API_ERROR_INIT;
    cr_assert_eq(kc_request_json(cli, "GET", FOOS, NULL, NULL, &list, &e), 0, "%s", e.message);
    cr_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(list, "kind")), "FooList");
    cJSON_Delete(list);
    free(kubeconfig);
    free(plugin);
    free(script);
    free(cred_path);
    free(cred);
    free(key);
    free(cert);
    tu_rmtree(dir);
    free(dir);
}

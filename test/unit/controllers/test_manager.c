/*
 * The controller-manager's pure parts and its life cycle without a server: option defaults,
 * flag parsing (docs/controller-manager.md §4.1, strict values, unknown flags refused), the option
 * checks, the lease namespace's default, the leader fence over a ctl_kapi, and a manager whose
 * server is unreachable: its probes and metrics answer, /readyz stays unready, and a stop request
 * ends mgr_run with 0.
 */
#include "controllers/fence.h"
#include "controllers/manager.h"
#include "fake_kapi.h"
#include "raw_http.h"

#include "common/alloc.h"
#include "common/json.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

TestSuite(mgr_options);
TestSuite(mgr_fence);

/* ---- options and flags ---------------------------------------------------------------------- */

Test(mgr_options, defaults_are_those_of_the_design)
{
    mgr_options o = mgr_options_defaults();
    cr_assert_eq(o.workers, 2);
    cr_assert(!o.leader_elect);
    cr_assert_null(o.leader_elect_namespace, "resolved by mgr_default_lease_namespace");
    cr_assert_str_eq(o.metrics_bind_address, ":8080");
    cr_assert_str_eq(o.health_probe_bind_address, ":8081");
    cr_assert_eq(o.qps, 0);
    cr_assert_eq(o.burst, 0);
    cr_assert_str_eq(o.watch_transport, "http");
    cr_assert(!o.simulate_deployments);
    cr_assert_null(o.kubeconfig);
    cr_assert_null(o.context);
    cr_assert_eq(o.shutdown_timeout_ms, 30000);
    api_error err = API_ERROR_INIT;
    cr_assert_eq(mgr_options_check(&o, &err), 0);
    cr_assert(!apierr_is_set(&err));
}

/* Parses a NULL-terminated list of arguments into fresh defaults. */
static int parse_args(mgr_options *o, const char *const *args)
{
    char *argv[32] = {"foo-controller-manager"};
    int argc = 1;
    for (; args[argc - 1]; argc++)
        argv[argc] = (char *)args[argc - 1];
    *o = mgr_options_defaults();
    return mgr_parse_flags(argc, argv, o);
}

Test(mgr_options, every_flag_of_the_design_is_parsed)
{
    const char *args[] = {"--kubeconfig",
                          "/k",
                          "--context=c",
                          "--workers",
                          "5",
                          "--leader-elect",
                          "--leader-elect-namespace",
                          "ns",
                          "--metrics-bind-address",
                          "127.0.0.1:9090",
                          "--health-probe-bind-address=:9091",
                          "--qps",
                          "20.5",
                          "--burst",
                          "30",
                          "--watch-transport",
                          "http",
                          "--simulate-deployments",
                          "-v",
                          "4",
                          NULL};
    mgr_options o;
    cr_assert_eq(parse_args(&o, args), 0);
    cr_assert_str_eq(o.kubeconfig, "/k");
    cr_assert_str_eq(o.context, "c");
    cr_assert_eq(o.workers, 5);
    cr_assert(o.leader_elect);
    cr_assert_str_eq(o.leader_elect_namespace, "ns");
    cr_assert_str_eq(o.metrics_bind_address, "127.0.0.1:9090");
    cr_assert_str_eq(o.health_probe_bind_address, ":9091");
    cr_assert_float_eq(o.qps, 20.5, 1e-9);
    cr_assert_eq(o.burst, 30);
    cr_assert(o.simulate_deployments);
    cr_assert_eq(o.verbosity, 4);
}

Test(mgr_options, bad_values_and_unknown_flags_are_errors)
{
    const char *const bad[][4] = {
        {"--workers", "0", NULL},
        {"--workers", "2x", NULL},
        {"--workers", "4294967298", NULL},
        {"--qps", "fast", NULL},
        {"--qps", "-1", NULL},
        {"--qps", "nan", NULL},
        {"--burst", "-2", NULL},
        {"--metrics-bind-address", "8080", NULL},
        {"--health-probe-bind-address", "[::1]", NULL},
        {"--leader-elect-namespace", "", NULL},
        {"--watch-transport", "grpc", NULL},
        {"--watch-transport", "", NULL},
        {"--leader-elect=maybe", NULL},
        {"--no-such-flag", NULL},
        {"stray", NULL},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        mgr_options o;
        cr_assert_eq(parse_args(&o, bad[i]), -1, "case %zu (%s) was accepted", i, bad[i][0]);
    }
}

Test(mgr_options, off_addresses_and_zero_qps_are_accepted)
{
    const char *args[] = {
        "--metrics-bind-address", "0", "--health-probe-bind-address", "0", "--qps", "0", NULL};
    mgr_options o;
    cr_assert_eq(parse_args(&o, args), 0);
}

Test(mgr_options, the_watch_transport_is_http_or_websocket)
{
    mgr_options o = mgr_options_defaults();
    o.watch_transport = "websocket";
    api_error err = API_ERROR_INIT;
    cr_assert_eq(mgr_options_check(&o, &err), 0);
    o.watch_transport = "grpc";
    cr_assert_eq(mgr_options_check(&o, &err), -EINVAL);
    cr_assert_eq(err.code, 400);
    cr_assert_str_eq(err.reason, "BadRequest");
    cr_assert(strstr(err.message, "want http or websocket"), "%s", err.message);
    apierr_clear(&err);
}

Test(mgr_options, the_lease_namespace_comes_from_the_pod_else_default)
{
    char dir[] = "/tmp/mgr-ns-XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    char *ns = mgr_default_lease_namespace(dir);
    cr_assert_str_eq(ns, "default", "no namespace file");
    free(ns);
    char *path = xasprintf("%s/namespace", dir);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs("  team-a\n", f);
    fclose(f);
    ns = mgr_default_lease_namespace(dir);
    cr_assert_str_eq(ns, "team-a", "the file's content, trimmed");
    free(ns);
    f = fopen(path, "w");
    fclose(f);
    ns = mgr_default_lease_namespace(dir);
    cr_assert_str_eq(ns, "default", "an empty file");
    free(ns);
    unlink(path);
    rmdir(dir);
    free(path);
}

/* ---- the fence ------------------------------------------------------------------------------ */

#define FOOS "/apis/demo.example.com/v1/namespaces/default/foos"

/* One call of each write method, shaped so the API double answers it with 2xx. */
typedef struct write_call {
    const char *method, *path, *content_type, *body;
} write_call;

static const write_call writes[] = {
    {"POST", FOOS, NULL, "{\"metadata\":{\"name\":\"b\"}}"},
    {"PUT", FOOS "/a", NULL, "{\"metadata\":{\"name\":\"a\"},\"spec\":{\"x\":1}}"},
    {"PATCH", FOOS "/a", "application/merge-patch+json", "{\"spec\":{\"x\":2}}"},
    {"DELETE", FOOS "/a", NULL, NULL},
};

static bool leading;

static bool allowed(void *ctx)
{
    (void)ctx;
    return leading;
}

/* A double holding Foo "a", and a fence over it. */
static fake_kapi *fenced_api(ctl_fence *f)
{
    fake_kapi *api = fake_kapi_new();
    cJSON *a = cJSON_Parse("{\"metadata\":{\"name\":\"a\"}}");
    fake_kapi_seed(api, FOOS "/a", a);
    cJSON_Delete(a);
    *f = (ctl_fence){.inner = fake_kapi_seam(api), .allowed = allowed};
    return api;
}

Test(mgr_fence, writes_pass_only_while_leading)
{
    ctl_fence f;
    fake_kapi *api = fenced_api(&f);
    ctl_kapi k = ctl_fence_kapi(&f);
    for (size_t i = 0; i < sizeof writes / sizeof writes[0]; i++) {
        const write_call *w = &writes[i];
        cJSON *body = w->body ? cJSON_Parse(w->body) : NULL;
        leading = false;
        size_t before = fake_kapi_call_count(api);
        cJSON *out = (cJSON *)1;
        api_error e = API_ERROR_INIT;
        cr_assert_eq(k.call(k.ctx, w->method, w->path, w->content_type, body, &out, &e), -EPERM);
        cr_assert_null(out);
        cr_assert_eq(fake_kapi_call_count(api), before, "nothing reaches the server");
        cr_assert_eq(e.code, 0, "reads as a failure without an answer: retried, not reported");
        cr_assert_str_eq(e.reason, CTL_FENCE_REASON);
        cr_assert(strstr(e.message, "not the leader"), "%s", e.message);
        cr_assert(strstr(e.message, w->method), "%s", e.message);
        apierr_clear(&e);

        leading = true;
        out = NULL;
        cr_assert_eq(k.call(k.ctx, w->method, w->path, w->content_type, body, &out, &e), 0,
                     "%s: %s", w->method, e.message ? e.message : "");
        cr_assert_not_null(out);
        cJSON_Delete(out);
        cr_assert_eq(fake_kapi_count(api, w->method, w->path), 1);
        cJSON_Delete(body);
    }
    fake_kapi_free(api);
}

Test(mgr_fence, reads_always_pass)
{
    ctl_fence f;
    fake_kapi *api = fenced_api(&f);
    ctl_kapi k = ctl_fence_kapi(&f);
    leading = false;
    cr_assert_eq(k.call(k.ctx, "GET", FOOS "/a", NULL, NULL, NULL, NULL), 0);
    cr_assert_eq(fake_kapi_call_count(api), 1);
    fake_kapi_free(api);
}

/* ---- a manager without a reachable server --------------------------------------------------- */

static char tmpdir[32];
static char *kubeconfig;

static void write_kubeconfig(void)
{
    alloc_install_cjson_hooks();
    /* a fresh template each time: the TSan shim runs every test in one process */
    snprintf(tmpdir, sizeof tmpdir, "/tmp/mgr-run-XXXXXX");
    cr_assert_not_null(mkdtemp(tmpdir));
    kubeconfig = xasprintf("%s/kubeconfig", tmpdir);
    FILE *f = fopen(kubeconfig, "w");
    cr_assert_not_null(f);
    /* port 1: nothing listens there, every request is refused at once */
    fputs("apiVersion: v1\nkind: Config\ncurrent-context: c\n"
          "clusters:\n- name: k\n  cluster:\n    server: https://127.0.0.1:1\n"
          "    insecure-skip-tls-verify: true\n"
          "users:\n- name: u\n  user:\n    token: t\n"
          "contexts:\n- name: c\n  context:\n    cluster: k\n    user: u\n",
          f);
    fclose(f);
}

static void remove_kubeconfig(void)
{
    unlink(kubeconfig);
    rmdir(tmpdir);
    free(kubeconfig);
}

TestSuite(mgr_run, .init = write_kubeconfig, .fini = remove_kubeconfig, .timeout = 60);

static mgr_options local_options(void)
{
    mgr_options o = mgr_options_defaults();
    o.kubeconfig = kubeconfig;
    o.metrics_bind_address = "127.0.0.1:0";
    o.health_probe_bind_address = "127.0.0.1:0";
    o.incluster_dir = tmpdir;
    return o;
}

static void *run_manager(void *arg)
{
    return (void *)(intptr_t)mgr_run(arg);
}

Test(mgr_run, probes_answer_and_a_stop_request_ends_the_run_with_zero)
{
    mgr_options o = local_options();
    o.simulate_deployments = true;
    o.leader_elect = true;
    mgr_manager *m = NULL;
    api_error err = API_ERROR_INIT;
    cr_assert_eq(mgr_new(&o, &m, &err), 0, "%s", err.message ? err.message : "");
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, run_manager, m), 0);

    char *r = raw_http_get(mgr_probe_port(m), "/readyz");
    cr_assert(strstr(r, "HTTP/1.1 500 "), "no cache can sync: %s", r);
    cr_assert(strstr(r, "informers-synced failed"), "%s", r);
    free(r);
    r = raw_http_get(mgr_probe_port(m), "/healthz");
    cr_assert(strstr(r, "HTTP/1.1 200 "), "not leading is healthy: %s", r);
    free(r);
    r = raw_http_get(mgr_metrics_port(m), "/metrics");
    cr_assert(strstr(r, "text/plain; version=0.0.4"), "%s", r);
    cr_assert(
        strstr(r, "controller_runtime_reconcile_total{controller=\"foo\",result=\"success\"} 0"),
        "%s", r);
    cr_assert(strstr(r, "controller=\"deployment-simulator\""), "%s", r);
    cr_assert(strstr(r, "workqueue_depth{controller=\"foo\",name=\"foo\"}"), "%s", r);
    free(r);

    mgr_request_stop(m);
    void *rc = NULL;
    pthread_join(t, &rc);
    cr_assert_eq((intptr_t)rc, 0);
    mgr_free(m);
}

Test(mgr_run, a_missing_kubeconfig_is_reported_by_mgr_new)
{
    mgr_options o = local_options();
    o.kubeconfig = "/nonexistent/kubeconfig";
    mgr_manager *m = (mgr_manager *)1;
    api_error err = API_ERROR_INIT;
    cr_assert_lt(mgr_new(&o, &m, &err), 0);
    cr_assert_null(m);
    cr_assert_eq(err.code, 500);
    cr_assert(strstr(err.message, "/nonexistent/kubeconfig"), "%s", err.message);
    apierr_clear(&err);
}

Test(mgr_run, a_port_in_use_is_reported_by_mgr_new)
{
    mgr_options o = local_options();
    mgr_manager *first = NULL;
    api_error err = API_ERROR_INIT;
    cr_assert_eq(mgr_new(&o, &first, &err), 0, "%s", err.message ? err.message : "");
    char *addr = xasprintf("127.0.0.1:%d", mgr_metrics_port(first));
    o.metrics_bind_address = addr;
    mgr_manager *second = NULL;
    cr_assert_eq(mgr_new(&o, &second, &err), -EADDRINUSE);
    cr_assert_null(second);
    cr_assert_eq(err.code, 500);
    cr_assert(strstr(err.message, "cannot listen"), "%s", err.message);
    apierr_clear(&err);
    free(addr);
    mgr_free(first);
}

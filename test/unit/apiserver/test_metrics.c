/*
 * test_metrics.c - the apiserver's /metrics (apiserver/rest/metrics.h): which labels a request
 * gets (verbs as kube names them, subresources, scope, dry_run) and what the page says after
 * requests, watches and rejections.
 */
#include "apiserver/resource/registry.h"
#include "apiserver/rest/metrics.h"
#include "apiserver/rest/authorize.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

static as_registry *reg;
static as_metrics *m;

static void setup(void)
{
    reg = as_registry_new(true); /* Foo and the standalone built-ins */
    m = as_metrics_new(reg);
}

static void teardown(void)
{
    as_metrics_free(m);
    as_registry_free(reg);
}

TestSuite(metrics, .init = setup, .fini = teardown);

static const as_resource *find(const char *group, const char *version, const char *resource)
{
    const as_resource *r = as_registry_find(reg, group, version, resource);
    cr_assert_not_null(r, "%s/%s %s", group, version, resource);
    return r;
}

static const as_resource *foos(void)
{
    return find("demo.example.com", "v1beta1", "foos");
}

/* A request as the transport hands it over: method, path, optional one query parameter. */
static as_req request(as_method method, const char *path, as_param *param)
{
    return (as_req){.method = method,
                    .path = (char *)path,
                    .params = param,
                    .nparams = param ? 1 : 0,
                    .status = 200};
}

static void expect_labels(const as_req *req, const char *verb, const char *sub, const char *scope,
                          const char *dry_run)
{
    const as_req_labels *l = &req->labels;
    cr_expect_str_eq(l->verb, verb);
    cr_expect_str_eq(l->subresource, sub);
    cr_expect_str_eq(l->scope, scope);
    cr_expect_str_eq(l->dry_run, dry_run);
}

Test(metrics, reads_are_get_list_or_watch)
{
    as_req one = request(AS_GET, "/apis/demo.example.com/v1beta1/foos/a", NULL);
    as_metrics_label_resource(&one, &(as_target){.resource = foos(), .name = "a"}, false);
    expect_labels(&one, "GET", "", "resource", "");
    cr_expect_str_eq(one.labels.group, "demo.example.com");
    cr_expect_str_eq(one.labels.version, "v1beta1");
    cr_expect_str_eq(one.labels.resource, "foos");

    as_req list = request(AS_GET, "/apis/demo.example.com/v1beta1/foos", NULL);
    as_metrics_label_resource(&list, &(as_target){.resource = foos()}, false);
    expect_labels(&list, "LIST", "", "cluster", "");

    as_req watch = request(AS_GET, "/apis/demo.example.com/v1beta1/foos", NULL);
    as_metrics_label_resource(&watch, &(as_target){.resource = foos()}, true);
    expect_labels(&watch, "WATCH", "", "cluster", "");
    cr_expect_not(watch.labels.long_running, "long-running only once it streams");
}

Test(metrics, writes_name_kube_verbs)
{
    const as_target one = {.resource = foos(), .name = "a"};
    const as_target all = {.resource = foos()};
    struct {
        as_method method;
        const as_target *t;
        const char *content_type, *verb, *scope;
    } cases[] = {
        {AS_POST, &all, "application/json", "POST", "cluster"},
        {AS_PUT, &one, "application/json", "PUT", "resource"},
        {AS_PATCH, &one, "application/merge-patch+json", "PATCH", "resource"},
        {AS_PATCH, &one, "application/apply-patch+yaml", "APPLY", "resource"},
        {AS_PATCH, &one, "application/apply-patch+yaml; charset=utf-8", "APPLY", "resource"},
        {AS_DELETE, &one, NULL, "DELETE", "resource"},
        {AS_DELETE, &all, NULL, "DELETECOLLECTION", "cluster"},
        {AS_OPTIONS, &all, NULL, "other", "cluster"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        as_req req = request(cases[i].method, "/x", NULL);
        req.content_type = (char *)cases[i].content_type;
        as_metrics_label_resource(&req, cases[i].t, false);
        expect_labels(&req, cases[i].verb, "", cases[i].scope, "");
    }
}

Test(metrics, subresources_and_scopes)
{
    as_req bar = request(AS_POST, "/x", NULL);
    as_metrics_label_resource(&bar, &(as_target){.resource = foos(), .name = "a", .sub = "bar"},
                              false);
    expect_labels(&bar, "POST", "bar", "resource", "");

    as_req status = request(AS_PUT, "/x", NULL);
    as_metrics_label_resource(
        &status, &(as_target){.resource = foos(), .name = "a", .sub = "status"}, false);
    expect_labels(&status, "PUT", "status", "resource", "");

    as_req unknown = request(AS_GET, "/x", NULL);
    as_metrics_label_resource(&unknown,
                              &(as_target){.resource = foos(), .name = "a", .sub = "nope"}, false);
    expect_labels(&unknown, "GET", "", "resource", "");

    const as_resource *deploy = find("apps", "v1", "deployments");
    as_req in_ns = request(AS_GET, "/x", NULL);
    as_metrics_label_resource(&in_ns, &(as_target){.resource = deploy, .ns = "default"}, false);
    expect_labels(&in_ns, "LIST", "", "namespace", "");

    as_req every_ns = request(AS_GET, "/x", NULL);
    as_metrics_label_resource(&every_ns, &(as_target){.resource = deploy}, false);
    expect_labels(&every_ns, "LIST", "", "cluster", "");

    /* kube takes a namespace object's name for its namespace */
    as_req ns = request(AS_GET, "/api/v1/namespaces/default", NULL);
    as_metrics_label_resource(
        &ns, &(as_target){.resource = find("", "v1", "namespaces"), .name = "default"}, false);
    expect_labels(&ns, "GET", "", "namespace", "");
}

Test(metrics, dry_run_is_all_invalid_or_empty_and_only_for_writes)
{
    const as_target all = {.resource = foos()};
    as_param all_p = {.key = "dryRun", .value = "All"};
    as_param bad_p = {.key = "dryRun", .value = "Some"};

    as_req dry = request(AS_POST, "/x", &all_p);
    as_metrics_label_resource(&dry, &all, false);
    cr_expect_str_eq(dry.labels.dry_run, "All");

    as_req bad = request(AS_POST, "/x", &bad_p);
    as_metrics_label_resource(&bad, &all, false);
    cr_expect_str_eq(bad.labels.dry_run, "invalid");

    as_req read = request(AS_GET, "/x", &all_p);
    as_metrics_label_resource(&read, &all, false);
    cr_expect_str_eq(read.labels.dry_run, "");
}

Test(metrics, paths_are_labelled_only_when_served)
{
    as_req version = request(AS_GET, "/version", NULL);
    as_metrics_label_path(&version, true);
    expect_labels(&version, "GET", "/version", "", "");
    cr_expect_str_eq(version.labels.resource, "");

    as_req missing = request(AS_GET, "/no/such/path", NULL);
    as_metrics_label_path(&missing, false);
    expect_labels(&missing, "GET", "", "", "");

    as_req head = request(AS_HEAD, "/healthz", NULL);
    as_metrics_label_path(&head, true);
    cr_expect_str_eq(head.labels.verb, "other");
}

/* ---- the page ------------------------------------------------------------------------------ */

static char *page_of(const as_metrics_sources *src)
{
    sbuf out = SBUF_INIT;
    as_metrics_render(m, src, &out);
    return sbuf_detach(&out, NULL);
}

static char *page(void)
{
    return page_of(&(as_metrics_sources){.start_time_s = 1700000000});
}

static void expect_line(const char *text, const char *line)
{
    size_t n = strlen(line);
    for (const char *p = text; (p = strstr(p, line)); p++) {
        if ((p == text || p[-1] == '\n') && p[n] == '\n')
            return;
    }
    cr_expect_fail("no line\n%s\nin\n%s", line, text);
}

#define FOO_LABELS                                                                                 \
    "verb=\"LIST\",dry_run=\"\",group=\"demo.example.com\",version=\"v1beta1\",resource=\"foos\"," \
    "subresource=\"\",scope=\"cluster\",component=\"apiserver\""

Test(metrics, a_request_is_counted_with_its_code_and_duration)
{
    as_req req = request(AS_GET, "/apis/demo.example.com/v1beta1/foos", NULL);
    as_metrics_label_resource(&req, &(as_target){.resource = foos()}, false);
    as_metrics_request_done(m, &req, 300 * 1000 * 1000ull); /* 0.3 s */
    as_req missing = request(AS_GET, "/apis/demo.example.com/v1beta1/foos", NULL);
    as_metrics_label_resource(&missing, &(as_target){.resource = foos()}, false);
    missing.status = 404;
    as_metrics_request_done(m, &missing, 0);
    char *p = page();
    expect_line(p, "apiserver_request_total{" FOO_LABELS ",code=\"200\"} 1");
    expect_line(p, "apiserver_request_total{" FOO_LABELS ",code=\"404\"} 1");
    expect_line(p, "apiserver_request_duration_seconds_bucket{" FOO_LABELS ",le=\"0.2\"} 1");
    expect_line(p, "apiserver_request_duration_seconds_bucket{" FOO_LABELS ",le=\"0.005\"} 1");
    expect_line(p, "apiserver_request_duration_seconds_bucket{" FOO_LABELS ",le=\"0.4\"} 2");
    expect_line(p, "apiserver_request_duration_seconds_bucket{" FOO_LABELS ",le=\"60\"} 2");
    expect_line(p, "apiserver_request_duration_seconds_bucket{" FOO_LABELS ",le=\"+Inf\"} 2");
    expect_line(p, "apiserver_request_duration_seconds_count{" FOO_LABELS "} 2");
    expect_line(p, "apiserver_request_duration_seconds_sum{" FOO_LABELS "} 0.3");
    expect_line(p, "# TYPE apiserver_request_duration_seconds histogram");
    free(p);
}

Test(metrics, a_request_never_labelled_is_not_counted)
{
    as_req req = request(AS_GET, "/", NULL);
    as_metrics_request_done(m, &req, 0); /* answered at the head (a 401) */
    char *p = page();
    cr_expect_null(strstr(p, "apiserver_request_total{"), "%s", p);
    free(p);
}

Test(metrics, in_flight_and_rejections_are_the_transports)
{
    char *p = page_of(
        &(as_metrics_sources){.inflight_readonly = 3, .inflight_mutating = 2, .rejected = 7});
    expect_line(p, "apiserver_current_inflight_requests{request_kind=\"readOnly\"} 3");
    expect_line(p, "apiserver_current_inflight_requests{request_kind=\"mutating\"} 2");
    expect_line(p, "apiserver_flowcontrol_rejected_requests_total{flow_schema=\"\","
                   "priority_level=\"\",reason=\"concurrency-limit\"} 7");
    free(p);
}

#define WATCH_LABELS                                                                               \
    "verb=\"WATCH\",group=\"demo.example.com\",version=\"v1beta1\",resource=\"foos\","             \
    "subresource=\"\",scope=\"cluster\",component=\"apiserver\""

Test(metrics, a_streaming_watch_is_long_running_not_in_flight)
{
    as_req req = request(AS_GET, "/apis/demo.example.com/v1beta1/foos", NULL);
    as_metrics_label_resource(&req, &(as_target){.resource = foos()}, true);
    as_metrics_longrunning(m, &req);
    as_metrics_kind *k = as_metrics_kind_of(m, foos());
    cr_assert_not_null(k);
    as_metrics_watchers_add(k, 1);
    as_metrics_watch_events(k, 3);
    char *p = page();
    expect_line(p, "apiserver_longrunning_requests{" WATCH_LABELS "} 1");
    expect_line(p, "apiserver_registered_watchers{group=\"demo.example.com\",version=\"v1beta1\","
                   "kind=\"Foo\"} 1");
    expect_line(p, "apiserver_watch_events_total{group=\"demo.example.com\",version=\"v1beta1\","
                   "kind=\"Foo\"} 3");
    expect_line(p, "apiserver_registered_watchers{group=\"\",version=\"v1\",kind=\"Namespace\"} 0");
    free(p);

    as_metrics_watchers_add(k, -1);
    as_metrics_request_done(m, &req, 5ull * 1000 * 1000 * 1000);
    p = page();
    expect_line(p, "apiserver_longrunning_requests{" WATCH_LABELS "} 0");
    expect_line(p, "apiserver_registered_watchers{group=\"demo.example.com\",version=\"v1beta1\","
                   "kind=\"Foo\"} 0");
    free(p);
    cr_expect_null(as_metrics_kind_of(m, NULL));
}

Test(metrics, process_families)
{
    char *p = page();
    expect_line(p, "process_start_time_seconds 1700000000");
    expect_line(p, "# TYPE process_cpu_seconds_total counter");
    expect_line(p, "# TYPE process_resident_memory_bytes gauge");
    expect_line(p, "# TYPE process_open_fds gauge");
    expect_line(p, "# TYPE process_max_fds gauge");
    cr_expect_null(strstr(p, "apiserver_storage_objects"), "no caches, no storage family");
    free(p);
}

Test(metrics, label_values_are_escaped)
{
    as_req req = request(AS_GET, "/odd\"path\\", NULL);
    as_metrics_label_path(&req, true);
    as_metrics_request_done(m, &req, 0);
    char *p = page();
    cr_expect_not_null(strstr(p, "subresource=\"/odd\\\"path\\\\\""), "%s", p);
    free(p);
}

Test(metrics, delegated_reviews_are_counted_only_when_delegated)
{
    char *standalone = page();
    cr_expect_null(strstr(standalone, "foo_apiserver_token_reviews_total"));
    free(standalone);
    as_delegation_stats d = {
        .token_reviews = 3, .token_cache_hits = 7, .access_reviews = 5, .access_cache_hits = 11};
    char *p = page_of(&(as_metrics_sources){.start_time_s = 1700000000, .delegation = &d});
    expect_line(p, "# TYPE foo_apiserver_token_reviews_total counter");
    expect_line(p, "foo_apiserver_token_reviews_total 3");
    expect_line(p, "foo_apiserver_token_review_cache_hits_total 7");
    expect_line(p, "foo_apiserver_access_reviews_total 5");
    expect_line(p, "foo_apiserver_access_review_cache_hits_total 11");
    free(p);
}

/*
 * The Foo controller's reconcile, result handling and event handlers, against the in-memory API
 * double (fake_kapi.h) and stores filled by hand, one test per behaviour of docs/controller.md.
 */
#include "controllers/foo_controller.h"
#include "controllers/foo_status.h"
#include "fake_kapi.h"

#include "api/foo.h"
#include "common/alloc.h"
#include "common/json.h"

#include <criterion/criterion.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define T0_MS    1767225600000LL /* 2026-01-01T00:00:00Z */
#define FOOS     "/apis/demo.example.com/v1beta1/foos/"
#define FOO_P    FOOS "foo-example"
#define STATUS_P FOO_P "/status"
#define DEPS     "/apis/apps/v1/namespaces/default/deployments"
#define DEP_P    DEPS "/foo-example"
#define APPS     "/apis/apps/v1/"

/* ---- the world: API double, caches, queue, clock, recorded events -------------------------- */

typedef struct event {
    char type[16], reason[64], message[512];
} event;

static fake_kapi *api;
static inf_store *foos, *deps;
static wq *queue;
static clk_t *clk;
static fc_controller *ctl;
static event events[64];
static int nevents;
static atomic_int started, finished; /* workers may run on several threads */
static atomic_bool stop_worker;      /* the worker loop's stop flag */
static bool stop_at_start;           /* hook_started asks the worker to stop */
static pthread_mutex_t events_mu = PTHREAD_MUTEX_INITIALIZER;

static void record(void *ctx, const cJSON *obj, const char *type, const char *reason,
                   const char *message)
{
    (void)ctx;
    cr_assert_not_null(obj);
    pthread_mutex_lock(&events_mu);
    cr_assert_lt(nevents, 64);
    event *e = &events[nevents++];
    snprintf(e->type, sizeof e->type, "%s", type);
    snprintf(e->reason, sizeof e->reason, "%s", reason);
    snprintf(e->message, sizeof e->message, "%s", message);
    pthread_mutex_unlock(&events_mu);
}

static void hook_started(void *ctx)
{
    (void)ctx;
    started++;
    if (stop_at_start)
        atomic_store(&stop_worker, true);
}

static void hook_finished(void *ctx, fc_result r, uint64_t ns)
{
    (void)ctx, (void)r, (void)ns;
    finished++;
}

static void setup(void)
{
    alloc_install_cjson_hooks();
    api = fake_kapi_new();
    foos = inf_store_new();
    deps = inf_store_new();
    cr_assert_eq(fc_add_indexes(foos), 0);
    clk = clk_fake_new(T0_MS);
    wq_options o = wq_defaults();
    o.clock = clk;
    o.name = "foo";
    queue = wq_new(&o);
    nevents = started = finished = 0;
    atomic_store(&stop_worker, false);
    stop_at_start = false;
    fc_options opt = {.foos = foos,
                      .deployments = deps,
                      .queue = queue,
                      .api = fake_kapi_seam(api),
                      .record = record,
                      .clock = clk,
                      .hooks = {.started = hook_started, .finished = hook_finished}};
    ctl = fc_controller_new(&opt);
    cr_assert_not_null(ctl);
}

static void teardown(void)
{
    fc_controller_free(ctl);
    wq_shutdown(queue);
    wq_free(queue);
    inf_store_free(foos);
    inf_store_free(deps);
    fake_kapi_free(api);
    clk_fake_free(clk);
}

TestSuite(reconcile, .init = setup, .fini = teardown);
TestSuite(handlers, .init = setup, .fini = teardown);
TestSuite(worker, .init = setup, .fini = teardown);

static cJSON *parse(const char *text)
{
    cJSON *j = cJSON_Parse(text);
    cr_assert_not_null(j, "bad test JSON: %s", text);
    return j;
}

/* Puts a defaulted Foo on the server. spec: JSON object text or NULL. */
static void seed_foo(const char *name, const char *spec, bool with_finalizer)
{
    char text[1024];
    snprintf(text, sizeof text,
             "{\"apiVersion\":\"demo.example.com/v1beta1\",\"kind\":\"Foo\",\"metadata\":{"
             "\"name\":\"%s\"%s},\"spec\":%s}",
             name, with_finalizer ? ",\"finalizers\":[\"demo.example.com/cleanup\"]" : "",
             spec ? spec : "{}");
    cJSON *foo = parse(text);
    foo_default(foo);
    char path[256];
    snprintf(path, sizeof path, FOOS "%s", name);
    fake_kapi_seed(api, path, foo);
    cJSON_Delete(foo);
}

/* Puts a Deployment named foo-example in default on the server, with this metadata tail. */
static void seed_deployment(const char *owner_refs)
{
    char text[1024];
    snprintf(text, sizeof text,
             "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":"
             "\"foo-example\",\"namespace\":\"default\"%s%s},\"spec\":{\"replicas\":1,"
             "\"selector\":{\"matchLabels\":{\"app\":\"theirs\"}},\"template\":{\"metadata\":{"
             "\"labels\":{\"app\":\"theirs\"}},\"spec\":{\"containers\":[{\"name\":\"c\","
             "\"image\":\"theirs:1\"}]}}}}",
             owner_refs ? ",\"ownerReferences\":" : "", owner_refs ? owner_refs : "");
    cJSON *d = parse(text);
    fake_kapi_seed(api, DEP_P, d);
    cJSON_Delete(d);
}

/* The caches catch up with the server (as the informers would), without handlers. */
static void fill(inf_store *s, const char *prefix)
{
    cJSON **objs;
    size_t n = fake_kapi_list(api, prefix, &objs);
    inf_obj **made = xcalloc(n + 1, sizeof *made);
    for (size_t i = 0; i < n; i++) {
        made[i] = inf_obj_new(objs[i], NULL, NULL);
        cJSON_Delete(objs[i]);
    }
    inf_store_replace(s, made, n, NULL, NULL);
    free(made);
    free(objs);
}

static void sync_caches(void)
{
    fill(foos, FOOS);
    fill(deps, APPS);
}

/* One call through the seam as another client (a user, the cluster) would make it. */
static void server_call(const char *method, const char *path, const char *ctype, const char *body)
{
    cJSON *b = body ? parse(body) : NULL;
    api_error err = API_ERROR_INIT;
    ctl_kapi k = fake_kapi_seam(api);
    int rc = k.call(k.ctx, method, path, ctype, b, NULL, &err);
    cr_assert_eq(rc, 0, "%s %s: %s", method, path, err.message ? err.message : "");
    apierr_clear(&err);
    cJSON_Delete(b);
}

static void merge_patch(const char *path, const char *body)
{
    server_call("PATCH", path, "application/merge-patch+json", body);
}

/* The cluster's part: the Deployment's pods of its current generation are all ready. */
static void deployment_becomes_ready(int replicas)
{
    const cJSON *d = fake_kapi_get(api, DEP_P);
    int gen = (int)cJSON_GetNumberValue(json_path(d, "metadata.generation"));
    char body[256];
    snprintf(body, sizeof body,
             "{\"status\":{\"observedGeneration\":%d,\"replicas\":%d,\"updatedReplicas\":%d,"
             "\"readyReplicas\":%d,\"availableReplicas\":%d}}",
             gen, replicas, replicas, replicas, replicas);
    merge_patch(DEP_P "/status", body);
}

static fc_result run(const char *key)
{
    return fc_reconcile(ctl, key);
}

/* Syncs and reconciles until a pass writes nothing; returns the passes that wrote. */
static int converge(const char *key)
{
    for (int pass = 0; pass < 10; pass++) {
        sync_caches();
        size_t before = fake_kapi_call_count(api);
        run(key);
        if (fake_kapi_call_count(api) == before)
            return pass;
    }
    cr_assert_fail("no convergence in 10 passes");
    return -1;
}

static const cJSON *server_foo(void)
{
    return fake_kapi_get(api, FOO_P);
}

static const cJSON *server_ready(void)
{
    return fc_ready_condition(server_foo());
}

static const char *ready_field(const char *field)
{
    return json_path_string(server_ready(), field);
}

/* The index-th call of the log, which must exist. */
static const fake_call *call_at(size_t index)
{
    const fake_call *c = fake_kapi_call(api, index);
    cr_assert_not_null(c, "no call %zu (only %zu)", index, fake_kapi_call_count(api));
    return c;
}

static size_t writes_to(const char *path)
{
    return fake_kapi_count(api, "POST", path) + fake_kapi_count(api, "PUT", path) +
           fake_kapi_count(api, "PATCH", path) + fake_kapi_count(api, "DELETE", path);
}

static int count_events(const char *type, const char *reason)
{
    int n = 0;
    for (int i = 0; i < nevents; i++)
        if (!strcmp(events[i].type, type) && !strcmp(events[i].reason, reason))
            n++;
    return n;
}

/* A Foo that has converged: finalizer, Deployment, status. */
static void converged_foo(const char *spec)
{
    seed_foo("foo-example", spec, false);
    converge("foo-example");
    fake_kapi_clear_log(api);
    nevents = 0;
}

/* ---- the Foo lives: finalizer, Deployment, status ------------------------------------------ */

Test(reconcile, missing_foo_is_done_without_a_call)
{
    fc_result r = run("nothing-here");
    cr_assert_eq(r.action, FC_DONE);
    cr_assert_eq(fake_kapi_call_count(api), 0);
}

Test(reconcile, new_foo_gets_the_finalizer_first_with_its_resource_version)
{
    seed_foo("foo-example", NULL, false);
    sync_caches();
    const char *rv = json_path_string(server_foo(), "metadata.resourceVersion");
    char *seen_rv = xstrdup(rv);
    cr_assert_eq(run("foo-example").action, FC_DONE);
    const fake_call *c = call_at(0);
    cr_assert_str_eq(c->method, "PATCH");
    cr_assert_str_eq(c->path, FOO_P);
    cr_assert_str_eq(c->content_type, "application/merge-patch+json");
    cr_assert_str_eq(json_path_string(c->body, "metadata.resourceVersion"), seen_rv);
    const cJSON *fins = json_path(server_foo(), "metadata.finalizers");
    cr_assert_eq(cJSON_GetArraySize(fins), 1);
    cr_assert_str_eq(cJSON_GetArrayItem(fins, 0)->valuestring, FOO_FINALIZER);
    free(seen_rv);
}

Test(reconcile, finalizer_patch_keeps_the_other_finalizers)
{
    seed_foo("foo-example", NULL, false);
    merge_patch(FOO_P, "{\"metadata\":{\"finalizers\":[\"example.com/other\"]}}");
    sync_caches();
    fake_kapi_clear_log(api);
    run("foo-example");
    const cJSON *fins = json_path(server_foo(), "metadata.finalizers");
    cr_assert_eq(cJSON_GetArraySize(fins), 2);
    cr_assert_str_eq(cJSON_GetArrayItem(fins, 0)->valuestring, "example.com/other");
    cr_assert_str_eq(cJSON_GetArrayItem(fins, 1)->valuestring, FOO_FINALIZER);
}

Test(reconcile, new_foo_yields_its_deployment_and_a_normal_event)
{
    seed_foo("foo-example", "{\"replicas\":3,\"image\":\"nginx:1.26\"}", false);
    sync_caches();
    cr_assert_eq(run("foo-example").action, FC_DONE);
    cr_assert_eq(fake_kapi_count(api, "POST", DEPS), 1);
    const cJSON *d = fake_kapi_get(api, DEP_P);
    cr_assert_not_null(d);
    cr_assert_eq(cJSON_GetNumberValue(json_path(d, "spec.replicas")), 3);
    const cJSON *c = cJSON_GetArrayItem(json_path(d, "spec.template.spec.containers"), 0);
    cr_assert_str_eq(json_path_string(c, "name"), "app");
    cr_assert_str_eq(json_path_string(c, "image"), "nginx:1.26");
    const cJSON *ref = cJSON_GetArrayItem(json_path(d, "metadata.ownerReferences"), 0);
    cr_assert_str_eq(json_path_string(ref, "uid"), json_path_string(server_foo(), "metadata.uid"));
    cr_assert(cJSON_IsTrue(json_path(ref, "controller")));
    cr_assert(cJSON_IsTrue(json_path(ref, "blockOwnerDeletion")));
    cr_assert_eq(count_events("Normal", "SuccessfulCreate"), 1);
}

Test(reconcile, status_after_create_is_progressing_through_the_status_subresource)
{
    seed_foo("foo-example", NULL, false);
    sync_caches();
    run("foo-example");
    cr_assert_eq(fake_kapi_count(api, "PATCH", STATUS_P), 1);
    const fake_call *last = call_at(fake_kapi_call_count(api) - 1);
    cr_assert_str_eq(last->path, STATUS_P);
    cr_assert_not_null(json_path_string(last->body, "metadata.resourceVersion"),
                       "the status patch carries the resourceVersion");
    const cJSON *st = json_path(server_foo(), "status");
    cr_assert_eq(cJSON_GetNumberValue(json_path(st, "observedGeneration")), 1);
    cr_assert_eq(cJSON_GetNumberValue(json_path(st, "replicas")), 0);
    cr_assert_eq(cJSON_GetNumberValue(json_path(st, "availableReplicas")), 0);
    cr_assert_str_eq(json_path_string(st, "selector"), "demo.example.com/foo=foo-example");
    cr_assert_str_eq(ready_field("status"), "False");
    cr_assert_str_eq(ready_field("reason"), "Progressing");
    cr_assert_str_eq(ready_field("lastTransitionTime"), "2026-01-01T00:00:00Z");
    cr_assert_eq(cJSON_GetNumberValue(json_path(server_ready(), "observedGeneration")), 1);
}

Test(reconcile, a_ready_deployment_makes_the_foo_ready)
{
    converged_foo("{\"replicas\":2}");
    deployment_becomes_ready(2);
    sync_caches();
    cr_assert_eq(run("foo-example").action, FC_DONE);
    cr_assert_eq(writes_to(DEP_P), 0, "the Deployment is left alone");
    cr_assert_eq(fake_kapi_count(api, "PATCH", STATUS_P), 1);
    cr_assert_str_eq(ready_field("status"), "True");
    cr_assert_str_eq(ready_field("reason"), "Available");
    cr_assert_eq(cJSON_GetNumberValue(json_path(server_foo(), "status.replicas")), 2);
    cr_assert_eq(cJSON_GetNumberValue(json_path(server_foo(), "status.availableReplicas")), 2);
}

Test(reconcile, not_ready_until_the_deployment_observed_its_generation)
{
    converged_foo("{\"replicas\":1}");
    /* counts say ready, but for an older generation than the Deployment's */
    merge_patch(DEP_P "/status", "{\"status\":{\"observedGeneration\":0,\"replicas\":1,"
                                 "\"updatedReplicas\":1,\"availableReplicas\":1}}");
    sync_caches();
    run("foo-example");
    cr_assert_str_eq(ready_field("status"), "False");
    cr_assert_str_eq(ready_field("reason"), "Progressing");
}

Test(reconcile, no_write_when_nothing_changed)
{
    converged_foo(NULL);
    deployment_becomes_ready(1);
    converge("foo-example");
    fake_kapi_clear_log(api);
    nevents = 0;
    sync_caches();
    cr_assert_eq(run("foo-example").action, FC_DONE);
    cr_assert_eq(run("foo-example").action, FC_DONE);
    cr_assert_eq(fake_kapi_call_count(api), 0);
    cr_assert_eq(nevents, 0);
}

/* ---- drift and spec changes ---------------------------------------------------------------- */

Test(reconcile, hand_edited_replicas_are_reverted_with_the_resource_version)
{
    converged_foo(NULL);
    merge_patch(DEP_P, "{\"spec\":{\"replicas\":7}}");
    sync_caches();
    char *rv = xstrdup(json_path_string(fake_kapi_get(api, DEP_P), "metadata.resourceVersion"));
    fake_kapi_clear_log(api);
    cr_assert_eq(run("foo-example").action, FC_DONE);
    cr_assert_eq(fake_kapi_count(api, "PUT", DEP_P), 1);
    const fake_call *put = call_at(0);
    cr_assert_str_eq(json_path_string(put->body, "metadata.resourceVersion"), rv);
    cr_assert_eq(cJSON_GetNumberValue(json_path(fake_kapi_get(api, DEP_P), "spec.replicas")), 1);
    cr_assert_eq(count_events("Normal", "SuccessfulUpdate"), 1);
    free(rv);
}

Test(reconcile, hand_edited_image_and_labels_are_reverted_keeping_other_fields)
{
    converged_foo(NULL);
    merge_patch(DEP_P, "{\"metadata\":{\"labels\":{\"app.kubernetes.io/instance\":\"x\","
                       "\"team\":\"blue\"}},\"spec\":{\"template\":{\"spec\":{\"containers\":[{"
                       "\"name\":\"app\",\"image\":\"evil:1\"}]}}}}");
    sync_caches();
    run("foo-example");
    const cJSON *d = fake_kapi_get(api, DEP_P);
    const cJSON *c = cJSON_GetArrayItem(json_path(d, "spec.template.spec.containers"), 0);
    cr_assert_str_eq(json_path_string(c, "image"), "nginx:1.27");
    const cJSON *labels = json_path(d, "metadata.labels");
    cr_assert_str_eq(cJSON_GetObjectItem(labels, "app.kubernetes.io/instance")->valuestring,
                     "foo-example");
    cr_assert_str_eq(cJSON_GetObjectItem(labels, "team")->valuestring, "blue");
}

Test(reconcile, spec_changes_and_a_restart_update_the_deployment)
{
    converged_foo(NULL);
    merge_patch(FOO_P, "{\"spec\":{\"replicas\":4,\"image\":\"nginx:1.28\","
                       "\"restartedAt\":\"2026-01-02T00:00:00Z\"}}");
    sync_caches();
    run("foo-example");
    const cJSON *d = fake_kapi_get(api, DEP_P);
    cr_assert_eq(cJSON_GetNumberValue(json_path(d, "spec.replicas")), 4);
    const cJSON *c = cJSON_GetArrayItem(json_path(d, "spec.template.spec.containers"), 0);
    cr_assert_str_eq(json_path_string(c, "image"), "nginx:1.28");
    const cJSON *ann = json_path(d, "spec.template.metadata.annotations");
    cr_assert_str_eq(cJSON_GetObjectItem(ann, "demo.example.com/restartedAt")->valuestring,
                     "2026-01-02T00:00:00Z");
    cr_assert_eq(cJSON_GetNumberValue(json_path(server_foo(), "status.observedGeneration")), 2);
    cr_assert_str_eq(ready_field("reason"), "Progressing");
}

/* ---- a Deployment the Foo does not control ------------------------------------------------- */

Test(reconcile, foreign_deployment_is_never_touched_and_reported)
{
    seed_deployment(NULL);
    seed_foo("foo-example", NULL, true);
    sync_caches();
    const cJSON *before = fake_kapi_get(api, DEP_P);
    char *rv = xstrdup(json_path_string(before, "metadata.resourceVersion"));
    cr_assert_eq(run("foo-example").action, FC_DONE);
    cr_assert_eq(writes_to(DEP_P) + writes_to(DEPS), 0);
    cr_assert_str_eq(json_path_string(fake_kapi_get(api, DEP_P), "metadata.resourceVersion"), rv);
    cr_assert_str_eq(ready_field("status"), "False");
    cr_assert_str_eq(ready_field("reason"), "ResourceExists");
    cr_assert_eq(count_events("Warning", "ResourceExists"), 1);
    /* again: nothing new to say, nothing written */
    fake_kapi_clear_log(api);
    sync_caches();
    cr_assert_eq(run("foo-example").action, FC_DONE);
    cr_assert_eq(fake_kapi_call_count(api), 0);
    cr_assert_eq(count_events("Warning", "ResourceExists"), 1);
    free(rv);
}

Test(reconcile, deployment_controlled_by_another_foo_is_foreign)
{
    seed_deployment("[{\"apiVersion\":\"demo.example.com/v1beta1\",\"kind\":\"Foo\","
                    "\"name\":\"foo-example\",\"uid\":\"an-older-foo\",\"controller\":true}]");
    seed_foo("foo-example", NULL, true);
    sync_caches();
    run("foo-example");
    cr_assert_eq(writes_to(DEP_P), 0);
    cr_assert_str_eq(ready_field("reason"), "ResourceExists");
}

/* ---- errors -------------------------------------------------------------------------------- */

Test(reconcile, create_already_exists_requeues_at_once)
{
    seed_foo("foo-example", NULL, true);
    sync_caches();
    fake_kapi_fail_next(api, "POST", DEPS, 409, "AlreadyExists",
                        "deployments.apps \"foo-example\" already exists", 0);
    fc_result r = run("foo-example");
    cr_assert_eq(r.action, FC_REQUEUE);
    cr_assert_eq(fake_kapi_count(api, "PATCH", STATUS_P), 0);
    cr_assert_eq(nevents, 0);
}

Test(reconcile, status_conflict_from_a_stale_cache_requeues_at_once)
{
    converged_foo(NULL);
    deployment_becomes_ready(1);
    sync_caches();
    /* someone writes the Foo after the cache saw it: our status patch carries a stale version */
    merge_patch(FOO_P, "{\"metadata\":{\"labels\":{\"x\":\"y\"}}}");
    fake_kapi_clear_log(api);
    fc_result r = run("foo-example");
    cr_assert_eq(r.action, FC_REQUEUE);
    cr_assert_eq(call_at(0)->code, 409);
    cr_assert_str_eq(ready_field("reason"), "Progressing", "nothing written");
    cr_assert_eq(converge("foo-example"), 1);
    cr_assert_str_eq(ready_field("reason"), "Available");
}

Test(reconcile, a_rejected_create_is_reported_in_status_and_once_as_a_warning)
{
    seed_foo("foo-example", NULL, true);
    sync_caches();
    const char *msg = "Deployment.apps \"foo-example\" is invalid: spec.template.spec."
                      "containers[0].image: Invalid value: \"x y\": must not contain spaces";
    fake_kapi_fail_next(api, "POST", DEPS, 422, "Invalid", msg, 0);
    cr_assert_eq(run("foo-example").action, FC_REQUEUE_RATE_LIMITED);
    cr_assert_str_eq(ready_field("status"), "False");
    cr_assert_str_eq(ready_field("reason"), "Error");
    cr_assert_str_eq(ready_field("message"), msg);
    cr_assert_eq(count_events("Warning", "FailedCreate"), 1);
    cr_assert_not_null(strstr(events[0].message, msg));
    /* the same rejection again: the status already says it; no write, no second event */
    sync_caches();
    fake_kapi_clear_log(api);
    fake_kapi_fail_next(api, "POST", DEPS, 422, "Invalid", msg, 0);
    cr_assert_eq(run("foo-example").action, FC_REQUEUE_RATE_LIMITED);
    cr_assert_eq(fake_kapi_count(api, "PATCH", STATUS_P), 0);
    cr_assert_eq(count_events("Warning", "FailedCreate"), 1);
}

Test(reconcile, a_create_into_a_missing_namespace_is_reported)
{
    seed_foo("foo-example", NULL, true);
    sync_caches();
    fake_kapi_fail_next(api, "POST", DEPS, 404, "NotFound", "namespaces \"default\" not found", 0);
    cr_assert_eq(run("foo-example").action, FC_REQUEUE_RATE_LIMITED);
    cr_assert_str_eq(ready_field("reason"), "Error");
    cr_assert_str_eq(ready_field("message"), "namespaces \"default\" not found");
}

Test(reconcile, a_rejected_update_is_reported_with_the_deployments_counts)
{
    converged_foo(NULL);
    deployment_becomes_ready(1);
    merge_patch(DEP_P, "{\"spec\":{\"replicas\":5}}");
    sync_caches();
    fake_kapi_fail_next(api, "PUT", DEP_P, 403, "Forbidden", "not allowed", 0);
    cr_assert_eq(run("foo-example").action, FC_REQUEUE_RATE_LIMITED);
    cr_assert_str_eq(ready_field("reason"), "Error");
    cr_assert_eq(cJSON_GetNumberValue(json_path(server_foo(), "status.availableReplicas")), 1);
    cr_assert_eq(count_events("Warning", "FailedUpdate"), 1);
}

Test(reconcile, a_server_error_is_rate_limited_and_not_reported)
{
    seed_foo("foo-example", NULL, true);
    sync_caches();
    fake_kapi_fail_next(api, "POST", DEPS, 500, "InternalError", "etcd is sad", 0);
    cr_assert_eq(run("foo-example").action, FC_REQUEUE_RATE_LIMITED);
    cr_assert_eq(fake_kapi_count(api, "PATCH", STATUS_P), 0);
    cr_assert_eq(nevents, 0);
}

Test(reconcile, a_transport_failure_is_rate_limited)
{
    seed_foo("foo-example", NULL, false);
    sync_caches();
    fake_kapi_fail_next(api, "PATCH", FOO_P, 0, "Transport", "connection refused", 0);
    cr_assert_eq(run("foo-example").action, FC_REQUEUE_RATE_LIMITED);
    cr_assert_eq(fake_kapi_call_count(api), 1, "nothing after the failed finalizer patch");
}

Test(reconcile, too_many_requests_waits_for_retry_after)
{
    seed_foo("foo-example", NULL, true);
    sync_caches();
    fake_kapi_fail_next(api, "POST", DEPS, 429, "TooManyRequests", "slow down", 3);
    fc_result r = run("foo-example");
    cr_assert_eq(r.action, FC_REQUEUE_AFTER);
    cr_assert_eq(r.after_ms, 3000);
}

Test(reconcile, an_update_of_a_vanished_deployment_requeues_at_once)
{
    converged_foo(NULL);
    merge_patch(DEP_P, "{\"spec\":{\"replicas\":3}}");
    sync_caches();
    fake_kapi_fail_next(api, "PUT", DEP_P, 404, "NotFound", "gone", 0);
    cr_assert_eq(run("foo-example").action, FC_REQUEUE);
    cr_assert_eq(nevents, 0);
}

Test(reconcile, a_rejected_status_write_is_a_warning_and_rate_limited)
{
    seed_foo("foo-example", NULL, true);
    sync_caches();
    fake_kapi_fail_next(api, "PATCH", STATUS_P, 422, "Invalid", "status.replicas: bad", 0);
    cr_assert_eq(run("foo-example").action, FC_REQUEUE_RATE_LIMITED);
    cr_assert_eq(count_events("Warning", "FailedUpdateStatus"), 1);
}

/* ---- lastTransitionTime -------------------------------------------------------------------- */

Test(reconcile, last_transition_time_moves_only_when_the_ready_status_does)
{
    converged_foo("{\"replicas\":2}");
    cr_assert_str_eq(ready_field("lastTransitionTime"), "2026-01-01T00:00:00Z");
    /* one hour later: still not ready, another message; the time stays */
    clk_fake_advance_ms(clk, 3600 * 1000);
    merge_patch(DEP_P "/status", "{\"status\":{\"observedGeneration\":1,\"replicas\":2,"
                                 "\"updatedReplicas\":2,\"availableReplicas\":1}}");
    converge("foo-example");
    cr_assert_str_eq(ready_field("status"), "False");
    cr_assert_not_null(strstr(ready_field("message"), "1 of 2 available"));
    cr_assert_str_eq(ready_field("lastTransitionTime"), "2026-01-01T00:00:00Z");
    /* ready: the time moves */
    clk_fake_advance_ms(clk, 3600 * 1000);
    deployment_becomes_ready(2);
    converge("foo-example");
    cr_assert_str_eq(ready_field("status"), "True");
    cr_assert_str_eq(ready_field("lastTransitionTime"), "2026-01-01T02:00:00Z");
    /* still ready after a scale that is already available: the time stays */
    clk_fake_advance_ms(clk, 3600 * 1000);
    merge_patch(DEP_P "/status", "{\"status\":{\"replicas\":3}}");
    converge("foo-example");
    cr_assert_str_eq(ready_field("status"), "True");
    cr_assert_str_eq(ready_field("lastTransitionTime"), "2026-01-01T02:00:00Z");
}

Test(reconcile, other_conditions_of_the_status_are_kept)
{
    converged_foo(NULL);
    merge_patch(STATUS_P, "{\"status\":{\"conditions\":[{\"type\":\"Audited\",\"status\":"
                          "\"True\",\"reason\":\"Ok\",\"message\":\"\",\"lastTransitionTime\":"
                          "\"2025-01-01T00:00:00Z\"}]}}");
    converge("foo-example");
    const cJSON *conds = json_path(server_foo(), "status.conditions");
    cr_assert_eq(cJSON_GetArraySize(conds), 2);
    cr_assert_str_eq(json_path_string(cJSON_GetArrayItem(conds, 0), "type"), "Audited");
    cr_assert_str_eq(ready_field("reason"), "Progressing");
}

/* ---- deletion ------------------------------------------------------------------------------ */

Test(reconcile, deletion_deletes_the_deployment_then_removes_the_finalizer)
{
    converged_foo(NULL);
    const char *dep_uid = json_path_string(fake_kapi_get(api, DEP_P), "metadata.uid");
    char *uid = xstrdup(dep_uid);
    server_call("DELETE", FOO_P, NULL, NULL);
    cr_assert_not_null(json_path(server_foo(), "metadata.deletionTimestamp"));
    sync_caches();
    fake_kapi_clear_log(api);
    cr_assert_eq(run("foo-example").action, FC_DONE);
    cr_assert_eq(fake_kapi_call_count(api), 2);
    const fake_call *del = call_at(0);
    cr_assert_str_eq(del->method, "DELETE");
    cr_assert_str_eq(del->path, DEP_P);
    cr_assert_str_eq(json_path_string(del->body, "preconditions.uid"), uid);
    const fake_call *fin = call_at(1);
    cr_assert_str_eq(fin->method, "PATCH");
    cr_assert_str_eq(fin->path, FOO_P);
    cr_assert_eq(cJSON_GetArraySize(json_path(fin->body, "metadata.finalizers")), 0);
    cr_assert_null(fake_kapi_get(api, DEP_P));
    cr_assert_null(server_foo(), "the Foo is gone once its finalizer is");
    cr_assert_eq(count_events("Normal", "SuccessfulDelete"), 1);
    free(uid);
}

Test(reconcile, deletion_waits_while_the_deployment_is_held_by_a_finalizer)
{
    converged_foo(NULL);
    merge_patch(DEP_P, "{\"metadata\":{\"finalizers\":[\"example.com/hold\"]}}");
    server_call("DELETE", FOO_P, NULL, NULL);
    sync_caches();
    fake_kapi_clear_log(api);
    cr_assert_eq(run("foo-example").action, FC_DONE);
    cr_assert_eq(fake_kapi_call_count(api), 1, "the DELETE only");
    cr_assert_not_null(server_foo(), "the finalizer stays while the Deployment does");
    /* while it is going, the Deployment is not deleted again */
    sync_caches();
    fake_kapi_clear_log(api);
    cr_assert_eq(run("foo-example").action, FC_DONE);
    cr_assert_eq(fake_kapi_call_count(api), 0);
    /* its finalizer goes, so does it; then the Foo's finalizer */
    merge_patch(DEP_P, "{\"metadata\":{\"finalizers\":[]}}");
    cr_assert_null(fake_kapi_get(api, DEP_P));
    sync_caches();
    cr_assert_eq(run("foo-example").action, FC_DONE);
    cr_assert_null(server_foo());
}

Test(reconcile, deletion_leaves_a_foreign_deployment_alone)
{
    seed_deployment(NULL);
    seed_foo("foo-example", NULL, true);
    server_call("DELETE", FOO_P, NULL, NULL);
    sync_caches();
    fake_kapi_clear_log(api);
    cr_assert_eq(run("foo-example").action, FC_DONE);
    cr_assert_eq(fake_kapi_count(api, "DELETE", NULL), 0);
    cr_assert_not_null(fake_kapi_get(api, DEP_P));
    cr_assert_null(server_foo());
}

Test(reconcile, deletion_without_our_finalizer_writes_nothing)
{
    seed_foo("foo-example", NULL, false);
    merge_patch(FOO_P, "{\"metadata\":{\"finalizers\":[\"example.com/other\"]}}");
    server_call("DELETE", FOO_P, NULL, NULL);
    sync_caches();
    fake_kapi_clear_log(api);
    cr_assert_eq(run("foo-example").action, FC_DONE);
    cr_assert_eq(fake_kapi_call_count(api), 0);
}

Test(reconcile, a_failed_deployment_delete_keeps_the_finalizer)
{
    converged_foo(NULL);
    server_call("DELETE", FOO_P, NULL, NULL);
    sync_caches();
    fake_kapi_clear_log(api);
    fake_kapi_fail_next(api, "DELETE", DEP_P, 503, "ServiceUnavailable", "later", 0);
    cr_assert_eq(run("foo-example").action, FC_REQUEUE_RATE_LIMITED);
    cr_assert_eq(fake_kapi_count(api, "PATCH", FOO_P), 0);
    cr_assert_not_null(server_foo());
}

Test(reconcile, an_already_deleted_deployment_lets_the_finalizer_go)
{
    converged_foo(NULL);
    server_call("DELETE", FOO_P, NULL, NULL);
    sync_caches();
    server_call("DELETE", DEP_P, NULL, NULL); /* the cache still has it */
    fake_kapi_clear_log(api);
    cr_assert_eq(run("foo-example").action, FC_DONE);
    cr_assert_null(server_foo());
}

/* ---- event handlers ------------------------------------------------------------------------ */

static inf_obj *obj_of(const char *text)
{
    cJSON *j = parse(text);
    inf_obj *o = inf_obj_new(j, NULL, NULL);
    cJSON_Delete(j);
    cr_assert_not_null(o);
    return o;
}

/* The only key queued, which must be `want` (NULL: nothing queued). */
static void expect_queued(const char *want)
{
    if (!want) {
        cr_assert_eq(wq_len(queue), 0, "nothing should be queued");
        return;
    }
    cr_assert_eq(wq_len(queue), 1);
    char *key = NULL;
    cr_assert(wq_get(queue, &key));
    cr_assert_str_eq(key, want);
    wq_done(queue, key);
    free(key);
}

#define DEP_OWNED_BY(api_version, kind, name)                                                      \
    "{\"metadata\":{\"name\":\"web\",\"namespace\":\"apps\",\"uid\":\"d1\","                       \
    "\"resourceVersion\":\"5\",\"ownerReferences\":[{\"apiVersion\":\"" api_version "\","          \
    "\"kind\":\"" kind "\",\"name\":\"" name "\",\"uid\":\"f1\",\"controller\":true}]}}"

Test(handlers, a_deployment_maps_to_its_controlling_foo)
{
    inf_obj *d = obj_of(DEP_OWNED_BY("demo.example.com/v1beta1", "Foo", "foo-a"));
    char *key = fc_deployment_owner_key(d);
    cr_assert_str_eq(key, "foo-a");
    free(key);
    fc_on_deployment_add(ctl, d);
    expect_queued("foo-a");
    fc_on_deployment_delete(ctl, d, true);
    expect_queued("foo-a");
    inf_obj_unref(d);
}

Test(handlers, a_deployment_owned_by_something_else_maps_to_nothing)
{
    const char *others[] = {DEP_OWNED_BY("apps/v1", "ReplicaSet", "rs"),
                            DEP_OWNED_BY("other.example.com/v1", "Foo", "foo-a"),
                            "{\"metadata\":{\"name\":\"web\",\"namespace\":\"apps\"}}"};
    for (size_t i = 0; i < 3; i++) {
        inf_obj *d = obj_of(others[i]);
        cr_assert_null(fc_deployment_owner_key(d), "case %zu", i);
        fc_on_deployment_add(ctl, d);
        expect_queued(NULL);
        inf_obj_unref(d);
    }
}

Test(handlers, a_foreign_deployment_wakes_the_foo_that_wants_its_name)
{
    seed_foo("wants-web", "{\"deploymentName\":\"web\",\"namespace\":\"apps\"}", true);
    sync_caches();
    inf_obj *d = obj_of("{\"metadata\":{\"name\":\"web\",\"namespace\":\"apps\",\"uid\":\"d1\"}}");
    fc_on_deployment_delete(ctl, d, false);
    expect_queued("wants-web");
    inf_obj_unref(d);
}

Test(handlers, a_status_only_foo_update_wakes_nothing)
{
    inf_obj *a = obj_of("{\"metadata\":{\"name\":\"f\",\"uid\":\"u\",\"generation\":1,"
                        "\"resourceVersion\":\"1\"},\"spec\":{\"replicas\":1}}");
    inf_obj *b = obj_of("{\"metadata\":{\"name\":\"f\",\"uid\":\"u\",\"generation\":1,"
                        "\"resourceVersion\":\"2\"},\"spec\":{\"replicas\":1},"
                        "\"status\":{\"replicas\":1}}");
    fc_on_foo_update(ctl, a, b);
    expect_queued(NULL);
    inf_obj_unref(a);
    inf_obj_unref(b);
}

Test(handlers, spec_metadata_and_resync_foo_updates_wake_the_foo)
{
    inf_obj *a = obj_of("{\"metadata\":{\"name\":\"f\",\"uid\":\"u\",\"generation\":1,"
                        "\"resourceVersion\":\"1\"},\"spec\":{\"replicas\":1}}");
    inf_obj *spec = obj_of("{\"metadata\":{\"name\":\"f\",\"uid\":\"u\",\"generation\":2,"
                           "\"resourceVersion\":\"2\"},\"spec\":{\"replicas\":2}}");
    inf_obj *deleting = obj_of("{\"metadata\":{\"name\":\"f\",\"uid\":\"u\",\"generation\":1,"
                               "\"resourceVersion\":\"3\",\"deletionTimestamp\":\"2026-01-01T00:"
                               "00:00Z\"},\"spec\":{\"replicas\":1}}");
    fc_on_foo_update(ctl, a, spec);
    expect_queued("f");
    fc_on_foo_update(ctl, a, deleting);
    expect_queued("f");
    fc_on_foo_update(ctl, a, a);
    expect_queued("f");
    fc_on_foo_add(ctl, a);
    expect_queued("f");
    fc_on_foo_delete(ctl, a, false);
    expect_queued("f");
    inf_obj_unref(a);
    inf_obj_unref(spec);
    inf_obj_unref(deleting);
}

/* ---- results and the worker ---------------------------------------------------------------- */

Test(worker, result_of_an_error_follows_the_code)
{
    fc_result r = fc_result_of_error(&(api_error){.code = 409});
    cr_assert_eq(r.action, FC_REQUEUE, "a conflict is retried at once");
    r = fc_result_of_error(&(api_error){.code = 429, .retry_after = 7});
    cr_assert_eq(r.action, FC_REQUEUE_AFTER);
    cr_assert_eq(r.after_ms, 7000);
    r = fc_result_of_error(&(api_error){.code = 429});
    cr_assert_eq(r.action, FC_REQUEUE_RATE_LIMITED, "a 429 without Retry-After backs off");
    r = fc_result_of_error(&(api_error){.code = 500});
    cr_assert_eq(r.action, FC_REQUEUE_RATE_LIMITED);
    r = fc_result_of_error(&(api_error){.code = 0});
    cr_assert_eq(r.action, FC_REQUEUE_RATE_LIMITED, "a transport failure backs off");
}

Test(worker, done_forgets_the_backoff)
{
    wq_add_rate_limited(queue, "k");
    cr_assert_eq(wq_num_requeues(queue, "k"), 1);
    fc_apply_result(queue, "k", (fc_result){.action = FC_DONE});
    cr_assert_eq(wq_num_requeues(queue, "k"), 0);
}

Test(worker, requeue_is_at_once_and_not_a_failure)
{
    fc_apply_result(queue, "k", (fc_result){.action = FC_REQUEUE});
    cr_assert_eq(wq_len(queue), 1);
    cr_assert_eq(wq_num_requeues(queue, "k"), 0);
}

Test(worker, rate_limited_counts_a_failure_and_waits)
{
    fc_apply_result(queue, "k", (fc_result){.action = FC_REQUEUE_RATE_LIMITED});
    cr_assert_eq(wq_num_requeues(queue, "k"), 1);
    cr_assert_eq(wq_len(queue), 0, "waits its backoff");
    clk_fake_advance_ms(clk, 10);
    wq_tick(queue);
    cr_assert_eq(wq_len(queue), 1);
}

Test(worker, requeue_after_waits_that_long)
{
    fc_apply_result(queue, "k", (fc_result){.action = FC_REQUEUE_AFTER, .after_ms = 3000});
    clk_fake_advance_ms(clk, 2999);
    wq_tick(queue);
    cr_assert_eq(wq_len(queue), 0);
    clk_fake_advance_ms(clk, 1);
    wq_tick(queue);
    cr_assert_eq(wq_len(queue), 1);
}

Test(worker, runs_queued_keys_until_shutdown_and_calls_the_hooks)
{
    seed_foo("foo-example", NULL, false);
    sync_caches();
    wq_add(queue, "foo-example");
    wq_add(queue, "absent");
    wq_shutdown(queue);
    fc_run_worker(ctl, NULL); /* drains the two keys, then returns */
    cr_assert_eq(started, 2);
    cr_assert_eq(finished, 2);
    cr_assert_not_null(fake_kapi_get(api, DEP_P));
}

Test(worker, asked_to_stop_it_finishes_the_key_in_hand_and_takes_no_other)
{
    seed_foo("foo-example", NULL, false);
    sync_caches();
    wq_add(queue, "foo-example");
    wq_add(queue, "other-1");
    wq_add(queue, "other-2");
    stop_at_start = true; /* asked during the first reconcile; the queue is not shut down */
    fc_run_worker(ctl, &stop_worker);
    cr_assert_eq(started, 1);
    cr_assert_eq(finished, 1, "the reconcile in hand ran to its end");
    cr_assert_not_null(fake_kapi_get(api, DEP_P));
    cr_assert_eq(wq_len(queue), 2, "the other keys were not taken");
}

Test(worker, asked_to_stop_before_it_starts_it_takes_nothing)
{
    wq_add(queue, "foo-example");
    atomic_store(&stop_worker, true);
    fc_run_worker(ctl, &stop_worker);
    cr_assert_eq(started, 0);
    cr_assert_eq(wq_len(queue), 1);
}

static void *stoppable_worker_thread(void *arg)
{
    fc_run_worker(arg, &stop_worker);
    return NULL;
}

Test(worker, asked_to_stop_while_waiting_it_drops_the_key_it_gets)
{
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, stoppable_worker_thread, ctl), 0);
    /* Whether the worker is still before wq_get or already blocked in it, it works nothing. */
    atomic_store(&stop_worker, true);
    wq_add(queue, "foo-example");
    pthread_join(t, NULL);
    cr_assert_eq(started, 0);
    cr_assert_eq(fake_kapi_call_count(api), 0);
}

/* ---- the whole loop: informer events, queue, worker ---------------------------------------- */

/* Delivers the server's changes to the caches through the handlers, as the informers would. */
static void pump_store(inf_store *s, const char *prefix, inf_handlers h)
{
    cJSON **objs;
    size_t n = fake_kapi_list(api, prefix, &objs);
    inf_obj **held;
    size_t nheld = inf_store_list(s, &held);
    for (size_t i = 0; i < nheld; i++) {
        bool present = false;
        for (size_t j = 0; j < n && !present; j++) {
            const char *ns = json_path_string(objs[j], "metadata.namespace");
            char key[300];
            snprintf(key, sizeof key, "%s%s%s", ns ? ns : "", ns ? "/" : "",
                     json_path_string(objs[j], "metadata.name"));
            present = !strcmp(key, inf_obj_key(held[i]));
        }
        if (!present) {
            inf_obj *gone = inf_store_remove(s, inf_obj_key(held[i]));
            h.on_delete(h.ctx, gone, false);
            inf_obj_unref(gone);
        }
    }
    inf_objs_free(held, nheld);
    for (size_t j = 0; j < n; j++) {
        inf_obj *o = inf_obj_new(objs[j], NULL, NULL);
        cJSON_Delete(objs[j]);
        inf_obj *old = inf_store_get(s, inf_obj_key(o));
        if (old && !strcmp(inf_obj_resource_version(old), inf_obj_resource_version(o))) {
            inf_obj_unref(old);
            inf_obj_unref(o);
            continue;
        }
        inf_obj_unref(inf_store_upsert(s, inf_obj_ref(o)));
        if (old)
            h.on_update(h.ctx, old, o);
        else
            h.on_add(h.ctx, o);
        inf_obj_unref(old);
        inf_obj_unref(o);
    }
    free(objs);
}

static void pump(void)
{
    pump_store(foos, FOOS, fc_foo_handlers(ctl));
    pump_store(deps, APPS, fc_deployment_handlers(ctl));
}

/* Runs the queue dry, pumping events after each reconcile; returns the reconciles run. */
static int run_until_quiet(void)
{
    int runs = 0;
    pump();
    while (wq_len(queue) > 0) {
        cr_assert_lt(runs, 20, "the controller keeps waking itself");
        char *key = NULL;
        cr_assert(wq_get(queue, &key));
        fc_apply_result(queue, key, fc_reconcile(ctl, key));
        wq_done(queue, key);
        free(key);
        runs++;
        pump();
    }
    return runs;
}

Test(worker, its_own_writes_do_not_make_it_loop)
{
    seed_foo("foo-example", NULL, false);
    int runs = run_until_quiet();
    cr_assert_leq(runs, 3, "%d reconciles for one new Foo", runs);
    cr_assert_not_null(fake_kapi_get(api, DEP_P));
    deployment_becomes_ready(1);
    runs = run_until_quiet();
    cr_assert_eq(runs, 1, "one reconcile for one Deployment status change, got %d", runs);
    cr_assert_str_eq(ready_field("status"), "True");
    size_t calls = fake_kapi_call_count(api);
    cr_assert_eq(run_until_quiet(), 0);
    cr_assert_eq(fake_kapi_call_count(api), calls);
}

Test(worker, a_deleted_foo_goes_with_its_deployment_through_the_loop)
{
    seed_foo("foo-example", NULL, false);
    run_until_quiet();
    server_call("DELETE", FOO_P, NULL, NULL);
    run_until_quiet();
    cr_assert_null(server_foo());
    cr_assert_null(fake_kapi_get(api, DEP_P));
}

static void *worker_thread(void *arg)
{
    fc_run_worker(arg, NULL);
    return NULL;
}

Test(worker, two_workers_reconcile_many_foos_concurrently)
{
    char name[32];
    for (int i = 0; i < 20; i++) {
        snprintf(name, sizeof name, "foo-%02d", i);
        seed_foo(name, NULL, false);
    }
    sync_caches();
    for (int i = 0; i < 20; i++) {
        snprintf(name, sizeof name, "foo-%02d", i);
        wq_add(queue, name);
    }
    wq_shutdown(queue); /* the queued keys are still handed out, then the workers return */
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        cr_assert_eq(pthread_create(&t[i], NULL, worker_thread, ctl), 0);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    cr_assert_eq(finished, 20);
    for (int i = 0; i < 20; i++) {
        char path[128];
        snprintf(path, sizeof path, DEPS "/foo-%02d", i);
        cr_assert_not_null(fake_kapi_get(api, path), "no Deployment %s", path);
    }
}

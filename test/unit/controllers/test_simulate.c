/*
 * The Deployment status simulator (simulate.h): the status it computes (counts, conditions,
 * timestamps kept), when it judges a status current, and its reconcile against the in-memory
 * API double (fake_kapi.h): one merge patch of /status with the version read, nothing when the
 * status is already the simulated one (so its own write ends the loop), and the outcomes of
 * conflicts, failures and vanished objects.
 */
#include "controllers/simulate.h"
#include "fake_kapi.h"

#include "common/alloc.h"
#include "common/json.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#define T0_MS 1767225600000LL /* 2026-01-01T00:00:00Z */
#define T0    "2026-01-01T00:00:00Z"
#define DEP_P "/apis/apps/v1/namespaces/default/deployments/web"

static cJSON *parse(const char *text)
{
    cJSON *j = cJSON_Parse(text);
    cr_assert_not_null(j, "bad test JSON: %s", text);
    return j;
}

/* A Deployment "web" in default with generation 3 and the given spec.replicas (-1 = absent). */
static cJSON *deployment(int replicas)
{
    char spec[64] = "{}";
    if (replicas >= 0)
        snprintf(spec, sizeof spec, "{\"replicas\":%d}", replicas);
    char text[512];
    snprintf(text, sizeof text,
             "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"web\","
             "\"namespace\":\"default\",\"generation\":3,\"resourceVersion\":\"7\"},\"spec\":%s}",
             spec);
    return parse(text);
}

static double num(const cJSON *obj, const char *path)
{
    const cJSON *n = json_path(obj, path);
    cr_assert(cJSON_IsNumber(n), "%s is not a number", path);
    return n->valuedouble;
}

static cJSON *cond(const cJSON *status, int i)
{
    return cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(status, "conditions"), i);
}

/* ---- the status computed -------------------------------------------------------------------- */

TestSuite(sim_status);

Test(sim_status, every_count_is_spec_replicas_and_generation_is_observed)
{
    cJSON *d = deployment(3);
    cJSON *st = sim_desired_status(d, T0_MS);
    cr_assert_eq(num(st, "observedGeneration"), 3);
    cr_assert_eq(num(st, "replicas"), 3);
    cr_assert_eq(num(st, "updatedReplicas"), 3);
    cr_assert_eq(num(st, "readyReplicas"), 3);
    cr_assert_eq(num(st, "availableReplicas"), 3);
    cr_assert(cJSON_IsNull(json_path(st, "unavailableReplicas")), "removed by the merge patch");
    cJSON_Delete(st);
    cJSON_Delete(d);
}

Test(sim_status, absent_replicas_read_as_the_default_one)
{
    cJSON *d = deployment(-1);
    cJSON *st = sim_desired_status(d, T0_MS);
    cr_assert_eq(num(st, "availableReplicas"), 1);
    cJSON_Delete(st);
    cJSON_Delete(d);
}

Test(sim_status, zero_replicas_remove_the_counts_as_a_cluster_omits_them)
{
    cJSON *d = deployment(0);
    cJSON *st = sim_desired_status(d, T0_MS);
    cr_assert(cJSON_IsNull(json_path(st, "replicas")));
    cr_assert(cJSON_IsNull(json_path(st, "availableReplicas")));
    cr_assert_eq(num(st, "observedGeneration"), 3);
    cJSON_Delete(st);
    cJSON_Delete(d);
}

Test(sim_status, the_two_conditions_of_a_ready_deployment)
{
    cJSON *d = deployment(1);
    cJSON *st = sim_desired_status(d, T0_MS);
    cr_assert_eq(cJSON_GetArraySize(json_path(st, "conditions")), 2);
    const cJSON *a = cond(st, 0), *p = cond(st, 1);
    cr_assert_str_eq(json_path_string(a, "type"), "Available");
    cr_assert_str_eq(json_path_string(a, "status"), "True");
    cr_assert_str_eq(json_path_string(a, "reason"), "MinimumReplicasAvailable");
    cr_assert_str_eq(json_path_string(a, "message"), "Deployment has minimum availability.");
    cr_assert_str_eq(json_path_string(a, "lastTransitionTime"), T0);
    cr_assert_str_eq(json_path_string(a, "lastUpdateTime"), T0);
    cr_assert_str_eq(json_path_string(p, "type"), "Progressing");
    cr_assert_str_eq(json_path_string(p, "status"), "True");
    cr_assert_str_eq(json_path_string(p, "reason"), "NewReplicaSetAvailable");
    cr_assert(strstr(json_path_string(p, "message"), "simulated"), "named as a simulation");
    cJSON_Delete(st);
    cJSON_Delete(d);
}

Test(sim_status, timestamps_of_holding_conditions_are_kept)
{
    cJSON *d = deployment(2);
    cJSON *st = sim_desired_status(d, T0_MS);
    json_set_item(d, "status", st);
    /* The Progressing condition said something else before, with the same status. */
    json_set_string(cond(st, 1), "reason", "ReplicaSetUpdated");
    json_set_string(cond(st, 1), "lastUpdateTime", "2025-12-31T00:00:00Z");
    json_set_string(cond(st, 1), "lastTransitionTime", "2025-12-30T00:00:00Z");
    /* Available was False. */
    json_set_string(cond(st, 0), "status", "False");
    cJSON *next = sim_desired_status(d, T0_MS + 3600 * 1000);
    const char *later = "2026-01-01T01:00:00Z";
    cr_assert_str_eq(json_path_string(cond(next, 1), "lastTransitionTime"), "2025-12-30T00:00:00Z",
                     "status held: transition time kept");
    cr_assert_str_eq(json_path_string(cond(next, 1), "lastUpdateTime"), later,
                     "reason changed: update time is now");
    cr_assert_str_eq(json_path_string(cond(next, 0), "lastTransitionTime"), later,
                     "status changed: transition time is now");
    cJSON_Delete(next);
    cJSON_Delete(d);
}

Test(sim_status, a_status_is_current_only_when_it_matches_in_full)
{
    cJSON *d = deployment(2);
    cr_assert(!sim_status_current(d), "no status at all");
    cJSON *st = sim_desired_status(d, T0_MS);
    json_remove(st, "unavailableReplicas"); /* as the server stores it after the patch */
    json_set_item(d, "status", st);
    cr_assert(sim_status_current(d));

    json_set_number(json_path(d, "metadata"), "generation", 4);
    cr_assert(!sim_status_current(d), "a new generation is not observed yet");
    json_set_number(json_path(d, "metadata"), "generation", 3);

    json_set_number(st, "readyReplicas", 1);
    cr_assert(!sim_status_current(d), "a count differs");
    json_set_number(st, "readyReplicas", 2);

    json_set_number(st, "unavailableReplicas", 1);
    cr_assert(!sim_status_current(d), "unavailable replicas");
    json_remove(st, "unavailableReplicas");

    cJSON_AddItemToArray(json_path(st, "conditions"),
                         parse("{\"type\":\"ReplicaFailure\",\"status\":\"True\"}"));
    cr_assert(!sim_status_current(d), "another condition");
    cJSON_DeleteItemFromArray(json_path(st, "conditions"), 2);

    json_set_string(cond(st, 0), "lastUpdateTime", "2020-01-01T00:00:00Z");
    cr_assert(sim_status_current(d), "timestamps do not count");
    cJSON_Delete(d);
}

Test(sim_status, zero_replicas_are_current_with_the_counts_absent)
{
    cJSON *d = deployment(0);
    cJSON *st = sim_desired_status(d, T0_MS);
    /* what the server keeps of the merge patch: null members removed */
    const char *counts[] = {"replicas", "updatedReplicas", "readyReplicas", "availableReplicas",
                            "unavailableReplicas"};
    for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++)
        json_remove(st, counts[i]);
    json_set_item(d, "status", st);
    cr_assert(sim_status_current(d));
    cJSON_Delete(d);
}

/* ---- the controller against the API double -------------------------------------------------- */

static fake_kapi *api;
static inf_store *deps;
static wq *queue;
static clk_t *clk;
static sim_simulator *sim;

static void setup(void)
{
    alloc_install_cjson_hooks();
    api = fake_kapi_new();
    deps = inf_store_new();
    clk = clk_fake_new(T0_MS);
    wq_options o = wq_defaults();
    o.clock = clk;
    o.name = SIM_NAME;
    queue = wq_new(&o);
    sim_options so = {
        .deployments = deps, .queue = queue, .api = fake_kapi_seam(api), .clock = clk};
    sim = sim_new(&so);
    cr_assert_not_null(sim);
}

static void teardown(void)
{
    sim_free(sim);
    wq_shutdown(queue);
    wq_free(queue);
    inf_store_free(deps);
    fake_kapi_free(api);
    clk_fake_free(clk);
}

TestSuite(sim_reconcile, .init = setup, .fini = teardown);

/* Seeds d on the server and puts the server's copy in the cache, as an informer would. */
static void seed(cJSON *d)
{
    const cJSON *stored = fake_kapi_seed(api, DEP_P, d);
    cJSON *copy = cJSON_Duplicate(stored, true);
    inf_obj *prev = inf_store_upsert(deps, inf_obj_new(copy, NULL, NULL));
    inf_obj_unref(prev);
    cJSON_Delete(copy);
    cJSON_Delete(d);
}

/* Refreshes the cache from the server (the watch event of the write). */
static void sync_cache(void)
{
    cJSON *copy = cJSON_Duplicate(fake_kapi_get(api, DEP_P), true);
    inf_obj_unref(inf_store_upsert(deps, inf_obj_new(copy, NULL, NULL)));
    cJSON_Delete(copy);
}

Test(sim_reconcile, a_new_deployment_gets_its_status_by_one_merge_patch)
{
    seed(deployment(2));
    fc_result r = sim_reconcile(sim, "default/web");
    cr_assert_eq(r.action, FC_DONE);
    cr_assert_eq(fake_kapi_call_count(api), 1);
    const fake_call *c = fake_kapi_call(api, 0);
    cr_assert_str_eq(c->method, "PATCH");
    cr_assert_str_eq(c->path, DEP_P "/status");
    cr_assert_str_eq(c->content_type, "application/merge-patch+json");
    cr_assert_not_null(json_path_string(c->body, "metadata.resourceVersion"),
                       "the version read goes along");
    cr_assert_null(json_path(c->body, "spec"), "only status is sent");
    const cJSON *stored = fake_kapi_get(api, DEP_P);
    cr_assert_eq(num(stored, "status.availableReplicas"), 2);
    cr_assert(sim_status_current(stored));
}

Test(sim_reconcile, its_own_write_coming_back_changes_nothing)
{
    seed(deployment(1));
    cr_assert_eq(sim_reconcile(sim, "default/web").action, FC_DONE);
    sync_cache();
    fake_kapi_clear_log(api);
    cr_assert_eq(sim_reconcile(sim, "default/web").action, FC_DONE);
    cr_assert_eq(fake_kapi_call_count(api), 0, "no loop");
}

Test(sim_reconcile, a_gone_or_deleting_deployment_is_left_alone)
{
    cr_assert_eq(sim_reconcile(sim, "default/web").action, FC_DONE);
    cJSON *d = deployment(1);
    json_set_string(json_path(d, "metadata"), "deletionTimestamp", T0);
    seed(d);
    cr_assert_eq(sim_reconcile(sim, "default/web").action, FC_DONE);
    cr_assert_eq(fake_kapi_call_count(api), 0);
}

Test(sim_reconcile, a_conflict_requeues_at_once)
{
    seed(deployment(1));
    fake_kapi_fail_next(api, "PATCH", DEP_P, 409, "Conflict", "the object has been modified", 0);
    cr_assert_eq(sim_reconcile(sim, "default/web").action, FC_REQUEUE);
}

Test(sim_reconcile, other_failures_go_through_the_rate_limiter)
{
    seed(deployment(1));
    fake_kapi_fail_next(api, "PATCH", DEP_P, 0, "Transport", "connection refused", 0);
    cr_assert_eq(sim_reconcile(sim, "default/web").action, FC_REQUEUE_RATE_LIMITED);
    fake_kapi_fail_next(api, "PATCH", DEP_P, 429, "TooManyRequests", "slow down", 3);
    fc_result r = sim_reconcile(sim, "default/web");
    cr_assert_eq(r.action, FC_REQUEUE_AFTER);
    cr_assert_eq(r.after_ms, 3000);
}

Test(sim_reconcile, a_deployment_gone_at_write_time_is_done)
{
    seed(deployment(1));
    fake_kapi_fail_next(api, "PATCH", DEP_P, 404, "NotFound", "gone", 0);
    cr_assert_eq(sim_reconcile(sim, "default/web").action, FC_DONE);
}

Test(sim_reconcile, handlers_queue_added_and_updated_deployments)
{
    inf_handlers h = sim_handlers(sim);
    cJSON *d = deployment(1);
    inf_obj *o = inf_obj_new(d, NULL, NULL);
    h.on_add(h.ctx, o);
    cr_assert_eq(wq_len(queue), 1);
    char *key = NULL;
    cr_assert(wq_get(queue, &key));
    cr_assert_str_eq(key, "default/web");
    wq_done(queue, key);
    free(key);
    h.on_update(h.ctx, o, o);
    cr_assert_eq(wq_len(queue), 1);
    cr_assert_null(h.on_delete, "a deleted Deployment needs no status");
    inf_obj_unref(o);
    cJSON_Delete(d);
}

/*
 * simulate.c - the Deployment status simulator (simulate.h): what a cluster's Deployment
 * controller and kubelets would report once every pod is ready, computed from the Deployment
 * alone and written through /status.
 */
#include "controllers/simulate.h"

#include "common/alloc.h"
#include "common/ids.h"
#include "common/json.h"
#include "common/log.h"
#include "common/timefmt.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct sim_simulator {
    inf_store *deployments; /* borrowed */
    wq *queue;              /* borrowed */
    ctl_kapi api;
    clk_t *clock;
};

/* The counts a cluster reports, all equal to spec.replicas once the pods are ready. */
static const char *const COUNTS[] = {"replicas", "updatedReplicas", "readyReplicas",
                                     "availableReplicas"};
#define NCOUNTS (sizeof COUNTS / sizeof COUNTS[0])

/* The two conditions, in the order a cluster lists them. */
typedef struct want_condition {
    const char *type, *reason, *message;
} want_condition;
static const want_condition CONDITIONS[] = {
    {"Available", SIM_AVAILABLE_REASON, SIM_AVAILABLE_MESSAGE},
    {"Progressing", SIM_PROGRESSING_REASON, SIM_PROGRESSING_MESSAGE},
};
#define NCONDITIONS (sizeof CONDITIONS / sizeof CONDITIONS[0])

/* ---- the status a cluster would show -------------------------------------------------------- */

/* spec.replicas: its value when an integer in [0, INT32_MAX], else the server's default 1. */
static int64_t spec_replicas(const cJSON *d)
{
    int64_t n = 1;
    const cJSON *r = json_path(d, "spec.replicas");
    if (r && !json_int64(r, 0, INT32_MAX, &n))
        n = 1;
    return n;
}

/* metadata.generation, 0 when absent or not an integer. */
static int64_t generation(const cJSON *d)
{
    int64_t g = 0;
    if (!json_int64(json_path(d, "metadata.generation"), 0, INT64_MAX, &g))
        return 0;
    return g;
}

/* An integer field of status; absent (or not an integer) reads as 0, as Go's zero value. */
static int64_t status_int(const cJSON *status, const char *key)
{
    int64_t n = 0;
    if (!json_int64(cJSON_GetObjectItemCaseSensitive(status, key), INT64_MIN, INT64_MAX, &n))
        return 0;
    return n;
}

static const cJSON *find_condition(const cJSON *status, const char *type)
{
    const cJSON *c;
    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(status, "conditions"))
    {
        const char *t = json_path_string(c, "type");
        if (t && !strcmp(t, type))
            return c;
    }
    return NULL;
}

static bool field_is(const cJSON *obj, const char *key, const char *want)
{
    const char *v = json_path_string(obj, key);
    return v && !strcmp(v, want);
}

bool sim_status_current(const cJSON *deployment)
{
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(deployment, "status");
    int64_t want = spec_replicas(deployment);
    if (status_int(st, "observedGeneration") != generation(deployment))
        return false;
    for (size_t i = 0; i < NCOUNTS; i++)
        if (status_int(st, COUNTS[i]) != want)
            return false;
    if (status_int(st, "unavailableReplicas") != 0)
        return false;
    if (cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(st, "conditions")) != NCONDITIONS)
        return false;
    for (size_t i = 0; i < NCONDITIONS; i++) {
        const cJSON *c = find_condition(st, CONDITIONS[i].type);
        if (!c || !field_is(c, "status", "True") || !field_is(c, "reason", CONDITIONS[i].reason) ||
            !field_is(c, "message", CONDITIONS[i].message))
            return false;
    }
    return true;
}

/* One condition, its timestamps kept from the current one where they still hold. */
static cJSON *condition(const want_condition *w, const cJSON *current, const char *now)
{
    bool same_status = current && field_is(current, "status", "True");
    bool same_text = same_status && field_is(current, "reason", w->reason) &&
                     field_is(current, "message", w->message);
    const char *transition = same_status ? json_path_string(current, "lastTransitionTime") : NULL;
    const char *update = same_text ? json_path_string(current, "lastUpdateTime") : NULL;
    cJSON *c = cJSON_CreateObject();
    json_set_string(c, "type", w->type);
    json_set_string(c, "status", "True");
    json_set_string(c, "lastUpdateTime", update ? update : now);
    json_set_string(c, "lastTransitionTime", transition ? transition : now);
    json_set_string(c, "reason", w->reason);
    json_set_string(c, "message", w->message);
    return c;
}

cJSON *sim_desired_status(const cJSON *deployment, int64_t now_wall_ms)
{
    const cJSON *cur = cJSON_GetObjectItemCaseSensitive(deployment, "status");
    char now[RFC3339_LEN];
    time_format_rfc3339(now_wall_ms / 1000, now);
    int64_t replicas = spec_replicas(deployment);

    cJSON *st = cJSON_CreateObject();
    json_set_number(st, "observedGeneration", (double)generation(deployment));
    for (size_t i = 0; i < NCOUNTS; i++) {
        if (replicas > 0)
            json_set_number(st, COUNTS[i], (double)replicas);
        else
            json_set_item(st, COUNTS[i], cJSON_CreateNull());
    }
    json_set_item(st, "unavailableReplicas", cJSON_CreateNull());
    cJSON *conds = cJSON_CreateArray();
    for (size_t i = 0; i < NCONDITIONS; i++)
        cJSON_AddItemToArray(
            conds, condition(&CONDITIONS[i], find_condition(cur, CONDITIONS[i].type), now));
    json_set_item(st, "conditions", conds);
    return st;
}

/* ---- the controller ------------------------------------------------------------------------- */

sim_simulator *sim_new(const sim_options *opt)
{
    if (!opt || !opt->deployments || !opt->queue || !opt->api.call)
        return NULL;
    sim_simulator *s = xcalloc(1, sizeof *s);
    s->deployments = opt->deployments;
    s->queue = opt->queue;
    s->api = opt->api;
    s->clock = opt->clock ? opt->clock : clk_system();
    return s;
}

void sim_free(sim_simulator *s)
{
    free(s);
}

static void on_add(void *ctx, const inf_obj *obj)
{
    sim_simulator *s = ctx;
    wq_add(s->queue, inf_obj_key(obj));
}

static void on_update(void *ctx, const inf_obj *old_obj, const inf_obj *new_obj)
{
    (void)old_obj;
    on_add(ctx, new_obj);
}

inf_handlers sim_handlers(sim_simulator *s)
{
    return (inf_handlers){.on_add = on_add, .on_update = on_update, .ctx = s};
}

static fc_result outcome(fc_action action, int64_t after_ms)
{
    return (fc_result){.action = action, .after_ms = after_ms};
}

/* What a failed write means for the key (the Foo controller's rules, docs/controller.md §6). */
static fc_result failed(const char *key, const char *id, const api_error *err)
{
    if (err->code == 404)
        return outcome(FC_DONE, 0); /* gone meanwhile: its delete event ends it */
    const char *why = err->message ? err->message : (err->reason ? err->reason : "unknown error");
    if (err->code == 409) { /* the cache was behind: not a failure */
        if (log_verbosity() >= 2)
            log_kv(LOG_DEBUG, "conflict, requeued", "controller", SIM_NAME, "object", key,
                   "reconcileID", id, "error", why, NULL);
    } else {
        log_kv(LOG_ERROR, "Reconciler error", "controller", SIM_NAME, "object", key, "reconcileID",
               id, "error", why, NULL);
    }
    return fc_result_of_error(err);
}

/* PATCH .../deployments/NAME/status with the simulated status and the version read. */
static int write_status(sim_simulator *s, const cJSON *d, api_error *err)
{
    char *path =
        xasprintf("/apis/apps/v1/namespaces/%s/deployments/%s/status",
                  json_path_string(d, "metadata.namespace"), json_path_string(d, "metadata.name"));
    cJSON *patch = cJSON_CreateObject();
    const char *rv = json_path_string(d, "metadata.resourceVersion");
    json_set_string(json_ensure_object(patch, "metadata"), "resourceVersion", rv ? rv : "");
    json_set_item(patch, "status", sim_desired_status(d, clk_wall_ms(s->clock)));
    int rc =
        s->api.call(s->api.ctx, "PATCH", path, "application/merge-patch+json", patch, NULL, err);
    cJSON_Delete(patch);
    free(path);
    return rc;
}

fc_result sim_reconcile(sim_simulator *s, const char *key)
{
    inf_obj *obj = inf_store_get(s->deployments, key);
    if (!obj)
        return outcome(FC_DONE, 0);
    cJSON *d = inf_obj_parse(obj);
    inf_obj_unref(obj);
    if (!d || json_path(d, "metadata.deletionTimestamp") || !json_path_string(d, "metadata.name") ||
        !json_path_string(d, "metadata.namespace") || sim_status_current(d)) {
        cJSON_Delete(d);
        return outcome(FC_DONE, 0);
    }
    char id[UUID_STR_LEN];
    id_uuid4(id);
    api_error err = API_ERROR_INIT;
    fc_result r = outcome(FC_DONE, 0);
    if (write_status(s, d, &err) == 0) {
        char replicas[24];
        snprintf(replicas, sizeof replicas, "%lld", (long long)spec_replicas(d));
        log_kv(LOG_INFO, "simulated Deployment status: all pods ready", "controller", SIM_NAME,
               "object", key, "reconcileID", id, "replicas", replicas, NULL);
    } else {
        r = failed(key, id, &err);
    }
    apierr_clear(&err);
    cJSON_Delete(d);
    return r;
}

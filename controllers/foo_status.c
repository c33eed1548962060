/*
 * foo_status.c - the Foo's desired status and the /status patch (foo_status.h).
 */
#include "controllers/foo_status.h"
#include "controllers/foo_controller.h"

#include "api/foo_deployment.h"
#include "common/alloc.h"
#include "common/json.h"
#include "common/mergepatch.h"
#include "common/timefmt.h"

#include <stdlib.h>
#include <string.h>

void fc_ready_clear(fc_ready *r)
{
    free(r->message);
    *r = (fc_ready){0};
}

/* An integer member at a dotted path, 0 when absent or not an int64 (counts the server omits). */
static int64_t int_at(const cJSON *obj, const char *path)
{
    int64_t v;
    return json_int64(json_path(obj, path), INT64_MIN, INT64_MAX, &v) ? v : 0;
}

void fc_ready_from_deployment(const cJSON *foo, const cJSON *deployment, fc_ready *out)
{
    const char *ns = json_path_string(deployment, "metadata.namespace");
    const char *name = json_path_string(deployment, "metadata.name");
    ns = ns ? ns : "";
    name = name ? name : "";
    int64_t want = foo_spec_replicas(foo);
    int64_t generation = int_at(deployment, "metadata.generation");
    int64_t observed = int_at(deployment, "status.observedGeneration");
    int64_t updated = int_at(deployment, "status.updatedReplicas");
    int64_t available = int_at(deployment, "status.availableReplicas");
    *out = (fc_ready){.ok = false, .reason = FC_READY_PROGRESSING};
    if (observed < generation)
        out->message = xasprintf("waiting for Deployment %s/%s to observe its generation %lld", ns,
                                 name, (long long)generation);
    else if (updated != want || available != want)
        out->message = xasprintf("Deployment %s/%s has %lld of %lld replicas updated and %lld of "
                                 "%lld available",
                                 ns, name, (long long)updated, (long long)want,
                                 (long long)available, (long long)want);
    else {
        out->ok = true;
        out->reason = FC_READY_AVAILABLE;
        out->message = xasprintf("Deployment %s/%s has %lld of %lld replicas available", ns, name,
                                 (long long)available, (long long)want);
    }
}

const cJSON *fc_ready_condition(const cJSON *foo)
{
    const cJSON *c;
    cJSON_ArrayForEach(c, json_path(foo, "status.conditions"))
    {
        const char *type = json_path_string(c, "type");
        if (type && !strcmp(type, FC_CONDITION_READY))
            return c;
    }
    return NULL;
}

/* The Ready condition to store: lastTransitionTime kept from `old` while the status holds. */
static cJSON *ready_condition(const cJSON *old, const fc_ready *ready, int64_t generation,
                              int64_t now_unix_s)
{
    const char *status = ready->ok ? "True" : "False";
    cJSON *c = cJSON_CreateObject();
    json_set_string(c, "type", FC_CONDITION_READY);
    json_set_string(c, "status", status);
    json_set_string(c, "reason", ready->reason);
    json_set_string(c, "message", ready->message ? ready->message : "");
    const char *old_status = json_path_string(old, "status");
    const char *old_time = json_path_string(old, "lastTransitionTime");
    if (old_status && old_time && !strcmp(old_status, status)) {
        json_set_string(c, "lastTransitionTime", old_time);
    } else {
        char now[RFC3339_LEN];
        time_format_rfc3339(now_unix_s, now);
        json_set_string(c, "lastTransitionTime", now);
    }
    json_set_number(c, "observedGeneration", (double)generation);
    return c;
}

/* Replaces the Ready condition in conditions (an array), or appends it, keeping the others. */
static void put_condition(cJSON *conditions, cJSON *cond)
{
    int i = 0;
    const cJSON *c;
    cJSON_ArrayForEach(c, conditions)
    {
        const char *type = json_path_string(c, "type");
        if (type && !strcmp(type, FC_CONDITION_READY)) {
            cJSON_ReplaceItemInArray(conditions, i, cond);
            return;
        }
        i++;
    }
    cJSON_AddItemToArray(conditions, cond);
}

cJSON *fc_status_desired(const cJSON *foo, const cJSON *deployment, const fc_ready *ready,
                         int64_t now_unix_s)
{
    const cJSON *current = json_path(foo, "status");
    cJSON *s = cJSON_IsObject(current) ? cJSON_Duplicate(current, true) : cJSON_CreateObject();
    int64_t generation = int_at(foo, "metadata.generation");
    json_set_number(s, "observedGeneration", (double)generation);
    json_set_number(s, "replicas", (double)int_at(deployment, "status.replicas"));
    json_set_number(s, "availableReplicas", (double)int_at(deployment, "status.availableReplicas"));
    char *selector = foo_selector_string(foo);
    if (selector)
        json_set_string(s, "selector", selector);
    free(selector);
    cJSON *conditions = cJSON_GetObjectItemCaseSensitive(s, "conditions");
    if (!cJSON_IsArray(conditions)) {
        conditions = cJSON_CreateArray();
        json_set_item(s, "conditions", conditions);
    }
    put_condition(conditions,
                  ready_condition(fc_ready_condition(foo), ready, generation, now_unix_s));
    return s;
}

cJSON *fc_status_patch(const cJSON *foo, const cJSON *desired)
{
    const cJSON *current = json_path(foo, "status");
    if (json_equal(current, desired))
        return NULL;
    cJSON *patch = cJSON_CreateObject();
    const char *rv = json_path_string(foo, "metadata.resourceVersion");
    if (rv && *rv)
        json_set_string(json_ensure_object(patch, "metadata"), "resourceVersion", rv);
    json_set_item(patch, "status", mergepatch_diff(current, desired));
    return patch;
}

/*
 * deployment.c - the apps/v1 Deployment strategy (see builtin.h): kube's defaults
 * (apps/v1 SetDefaults_Deployment), the validation of apps' ValidateDeployment that kubectl users
 * meet first, and the cells of kube's printDeployment.
 */
#include "api/builtin.h"
#include "api/fielderr.h"
#include "api/foo.h"
#include "api/kindutil.h"
#include "api/labelselector.h"
#include "api/podtemplate.h"

#include "common/alloc.h"
#include "common/json.h"
#include "common/sbuf.h"

#include <stdlib.h>
#include <string.h>

#define DEFAULT_REPLICAS          1
#define DEFAULT_MAX_UNAVAILABLE   "25%"
#define DEFAULT_MAX_SURGE         "25%"
#define DEFAULT_REVISION_LIMIT    10
#define DEFAULT_PROGRESS_DEADLINE 600
#define STRATEGY_ROLLING_UPDATE   "RollingUpdate"
#define STRATEGY_RECREATE         "Recreate"
#define MSG_SELECTOR_MISMATCH     "`selector` does not match template `labels`"
#define MSG_INT_OR_PERCENT        "must be an integer or percentage (e.g '5%%')"
#define MSG_PERCENT                                                                                \
    "a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or "   \
    "'93%', regex used for validation is '[0-9]+%')"

/* ---- defaults ------------------------------------------------------------------------------ */

static void default_strategy(cJSON *spec)
{
    cJSON *strategy = ku_object_member(spec, "strategy");
    if (!strategy)
        return;
    if (ku_string_unset(cJSON_GetObjectItemCaseSensitive(strategy, "type")))
        json_set_string(strategy, "type", STRATEGY_ROLLING_UPDATE);
    const char *type = ku_string(strategy, "type");
    if (!type || strcmp(type, STRATEGY_ROLLING_UPDATE) != 0)
        return;
    cJSON *ru = ku_object_member(strategy, "rollingUpdate");
    if (!ru)
        return;
    if (!ku_member(ru, "maxUnavailable"))
        json_set_string(ru, "maxUnavailable", DEFAULT_MAX_UNAVAILABLE);
    if (!ku_member(ru, "maxSurge"))
        json_set_string(ru, "maxSurge", DEFAULT_MAX_SURGE);
}

void deployment_default(cJSON *obj)
{
    if (!cJSON_IsObject(obj))
        return;
    cJSON *spec = ku_object_member(obj, "spec");
    if (!spec)
        return; /* left for deployment_validate to report */
    if (!ku_member(spec, "replicas"))
        json_set_number(spec, "replicas", DEFAULT_REPLICAS);
    default_strategy(spec);
    if (!ku_member(spec, "revisionHistoryLimit"))
        json_set_number(spec, "revisionHistoryLimit", DEFAULT_REVISION_LIMIT);
    if (!ku_member(spec, "progressDeadlineSeconds"))
        json_set_number(spec, "progressDeadlineSeconds", DEFAULT_PROGRESS_DEADLINE);
    pod_template_default(ku_object_member(spec, "template"));
}

/* ---- spec validation ----------------------------------------------------------------------- */

/* `<path>: Invalid value: v1.LabelSelector{...}: <detail>`. */
static void invalid_selector(api_error *err, const char *path, const cJSON *sel, const char *detail)
{
    sbuf go = SBUF_INIT;
    ls_render_go(&go, sel);
    ku_invalid_rendered(err, path, go.data, detail);
    sbuf_free(&go);
}

/*
 * The template's labels must be selected by the selector. A missing (nil) selector selects
 * nothing, so kube reports the mismatch next to "Required value"; an empty one is reported as
 * such by the caller and skips this check.
 */
static void check_selector_matches(const cJSON *sel, const cJSON *tmpl, api_error *err)
{
    if (ls_is_empty(sel))
        return;
    const cJSON *labels = ku_member(ku_member(tmpl, "metadata"), "labels");
    if (ls_matches(sel, labels))
        return;
    sbuf go = SBUF_INIT;
    ku_render_go_string_map(&go, cJSON_IsObject(labels) ? labels : NULL);
    ku_invalid_rendered(err, "spec.template.metadata.labels", go.data, MSG_SELECTOR_MISMATCH);
    sbuf_free(&go);
}

static void check_restart_policy(const cJSON *tmpl, api_error *err)
{
    static const char *const supported[] = {"Always"};
    const char *path = "spec.template.spec.restartPolicy";
    const cJSON *v = ku_member(ku_member(tmpl, "spec"), "restartPolicy");
    const char *s = ku_check_string(v, path, err);
    if (s && *s && strcmp(s, "Always") != 0)
        fe_not_supported(err, path, s, supported, 1);
}

/*
 * kube validates the template only when the selector could be turned into a selector: a
 * malformed one is reported as "invalid label selector" and the template is not looked at.
 */
static void check_selector_and_template(const cJSON *spec, api_error *err)
{
    const cJSON *sel = ku_member(spec, "selector");
    const cJSON *tmpl = ku_member(spec, "template");
    if (!sel) {
        fe_required(err, "spec.selector", NULL);
    } else if (!ls_validate(sel, "spec.selector", err)) {
        if (cJSON_IsObject(sel))
            invalid_selector(err, "spec.selector", sel, "invalid label selector");
        return;
    } else if (ls_is_empty(sel)) {
        invalid_selector(err, "spec.selector", sel, "empty selector is invalid for deployment");
    }
    if (!ku_check_object(tmpl, "spec.template", err))
        return;
    check_selector_matches(sel, tmpl, err);
    pod_template_validate(tmpl, "spec.template", err);
    check_restart_policy(tmpl, err);
}

/* The percentage of "25%", or -1 when s is not kube's [0-9]+% form. */
static long percent_value(const char *s)
{
    size_t n = strlen(s);
    if (n < 2 || n > 10 || s[n - 1] != '%' || strspn(s, "0123456789") != n - 1)
        return -1;
    return strtol(s, NULL, 10);
}

/* An int-or-string of rollingUpdate; returns its value (a percent counts as its number). */
static long check_int_or_percent(const cJSON *ru, const char *key, api_error *err)
{
    char *path = xasprintf("spec.strategy.rollingUpdate.%s", key);
    const cJSON *v = ku_member(ru, key);
    int64_t n = 0;
    long value = 0;
    if (!v) {
        value = 0;
    } else if (cJSON_IsString(v)) {
        value = percent_value(v->valuestring);
        if (value < 0)
            fe_invalid(err, path, v, MSG_PERCENT);
        else if (value > 100 && strcmp(key, "maxUnavailable") == 0)
            fe_invalid(err, path, v, "must not be greater than 100%");
    } else if (cJSON_IsNumber(v)) {
        if (ku_check_int(v, path, 0, KU_MSG_NEGATIVE, KU_INT32_MAX, err, &n))
            value = (long)n;
    } else {
        fe_invalid(err, path, v, MSG_INT_OR_PERCENT);
    }
    free(path);
    return value;
}

static void check_rolling_update(const cJSON *ru, api_error *err)
{
    const char *path = "spec.strategy.rollingUpdate";
    if (!ku_check_object(ru, path, err))
        return;
    long unavailable = check_int_or_percent(ru, "maxUnavailable", err);
    long surge = check_int_or_percent(ru, "maxSurge", err);
    const cJSON *mu = ku_member(ru, "maxUnavailable");
    if (unavailable == 0 && surge == 0)
        fe_invalid(err, "spec.strategy.rollingUpdate.maxUnavailable", mu,
                   "may not be 0 when `maxSurge` is 0");
}

static void check_strategy(const cJSON *spec, api_error *err)
{
    static const char *const types[] = {STRATEGY_RECREATE, STRATEGY_ROLLING_UPDATE};
    const cJSON *strategy = ku_member(spec, "strategy");
    if (!strategy || !ku_check_object(strategy, "spec.strategy", err))
        return;
    const char *type = ku_check_string(ku_member(strategy, "type"), "spec.strategy.type", err);
    const cJSON *ru = ku_member(strategy, "rollingUpdate");
    if (!type || !*type)
        return; /* the defaults fill it */
    if (strcmp(type, STRATEGY_RECREATE) == 0) {
        if (ru)
            fe_forbidden(err, "spec.strategy.rollingUpdate",
                         "may not be specified when strategy `type` is 'Recreate'");
    } else if (strcmp(type, STRATEGY_ROLLING_UPDATE) == 0) {
        if (!ru)
            fe_required(err, "spec.strategy.rollingUpdate",
                        "this should be defaulted and never be nil");
        else
            check_rolling_update(ru, err);
    } else {
        fe_not_supported(err, "spec.strategy", type, types, 2);
    }
}

static void check_timings(const cJSON *spec, api_error *err)
{
    int64_t min_ready = 0, deadline;
    ku_check_int(ku_member(spec, "minReadySeconds"), "spec.minReadySeconds", 0, KU_MSG_NEGATIVE,
                 KU_INT32_MAX, err, &min_ready);
    ku_check_int(ku_member(spec, "revisionHistoryLimit"), "spec.revisionHistoryLimit", 0,
                 KU_MSG_NEGATIVE, KU_INT32_MAX, err, NULL);
    const cJSON *pd = ku_member(spec, "progressDeadlineSeconds");
    if (ku_check_int(pd, "spec.progressDeadlineSeconds", 0, KU_MSG_NEGATIVE, KU_INT32_MAX, err,
                     &deadline) &&
        deadline <= min_ready)
        fe_invalid(err, "spec.progressDeadlineSeconds", pd, "must be greater than minReadySeconds");
    ku_check_bool(ku_member(spec, "paused"), "spec.paused", err);
}

/* The selector may not change once stored; compared as the requirements it holds. */
static void check_selector_unchanged(const cJSON *spec, const cJSON *old_spec, api_error *err)
{
    const cJSON *sel = ku_member(spec, "selector");
    const cJSON *old_sel = ku_member(old_spec, "selector");
    char *now = ls_format(sel);
    char *before = ls_format(old_sel);
    bool same =
        now && before ? strcmp(now, before) == 0 && !sel == !old_sel : json_equal(sel, old_sel);
    if (!same)
        invalid_selector(err, "spec.selector", sel, "field is immutable");
    free(before);
    free(now);
}

void deployment_validate(const cJSON *obj, const cJSON *old, api_error *err)
{
    ku_validate_meta(obj, old, dns1123_subdomain_error, err);
    const cJSON *spec = ku_member(obj, "spec");
    if (!ku_check_object(spec, "spec", err))
        return;
    ku_check_int(ku_member(spec, "replicas"), "spec.replicas", 0, KU_MSG_NEGATIVE, KU_INT32_MAX,
                 err, NULL);
    check_selector_and_template(spec, err);
    check_strategy(spec, err);
    check_timings(spec, err);
    if (old)
        check_selector_unchanged(spec, ku_member(old, "spec"), err);
}

/* ---- status validation --------------------------------------------------------------------- */

/* A count of status: an integer >= 0; *out receives it (0 when absent or invalid). */
static bool status_count(const cJSON *st, const char *key, int64_t *out, api_error *err)
{
    char *path = xasprintf("status.%s", key);
    *out = 0;
    bool ok = ku_check_int(ku_member(st, key), path, 0, KU_MSG_NEGATIVE, INT64_MAX, err, out);
    free(path);
    return ok;
}

static void check_not_above(const cJSON *st, const char *key, int64_t value, int64_t limit,
                            const char *msg, api_error *err)
{
    if (value <= limit)
        return;
    char *path = xasprintf("status.%s", key);
    fe_invalid(err, path, ku_member(st, key), msg);
    free(path);
}

void deployment_validate_status(const cJSON *obj, api_error *err)
{
    const cJSON *st = ku_member(obj, "status");
    if (!st || !ku_check_object(st, "status", err))
        return;
    int64_t gen, replicas, updated, ready, available, unavailable, collisions;
    status_count(st, "observedGeneration", &gen, err);
    status_count(st, "replicas", &replicas, err);
    status_count(st, "updatedReplicas", &updated, err);
    status_count(st, "readyReplicas", &ready, err);
    status_count(st, "availableReplicas", &available, err);
    status_count(st, "unavailableReplicas", &unavailable, err);
    status_count(st, "collisionCount", &collisions, err);
    const char *msg = "cannot be greater than status.replicas";
    check_not_above(st, "updatedReplicas", updated, replicas, msg, err);
    check_not_above(st, "readyReplicas", ready, replicas, msg, err);
    check_not_above(st, "availableReplicas", available, replicas, msg, err);
    check_not_above(st, "availableReplicas", available, ready,
                    "cannot be greater than readyReplicas", err);
    const cJSON *conds = ku_member(st, "conditions");
    if (ku_check_array(conds, "status.conditions", err)) {
        int i = 0;
        const cJSON *c;
        cJSON_ArrayForEach(c, conds)
        {
            char *path = xasprintf("status.conditions[%d]", i++);
            ku_check_object(c, path, err);
            free(path);
        }
    }
}

/* ---- cells --------------------------------------------------------------------------------- */

char *deployment_scale_selector(const cJSON *obj)
{
    return ls_format(ku_member(ku_member(obj, "spec"), "selector"));
}

cJSON *deployment_cell_ready(const cJSON *obj, int64_t now_s)
{
    (void)now_s;
    int64_t ready = ku_int_or(ku_member(obj, "status"), "readyReplicas", 0);
    int64_t replicas = ku_int_or(ku_member(obj, "spec"), "replicas", 0);
    char *s = xasprintf("%lld/%lld", (long long)ready, (long long)replicas);
    cJSON *cell = cJSON_CreateString(s);
    free(s);
    return cell;
}

cJSON *deployment_cell_up_to_date(const cJSON *obj, int64_t now_s)
{
    (void)now_s;
    return api_cell_int(obj, "status.updatedReplicas");
}

cJSON *deployment_cell_available(const cJSON *obj, int64_t now_s)
{
    (void)now_s;
    return api_cell_int(obj, "status.availableReplicas");
}

/* The containers' `key` strings joined with ',' (kube's layoutContainerCells). */
static cJSON *join_containers(const cJSON *obj, const char *key)
{
    const cJSON *containers = json_path(obj, "spec.template.spec.containers");
    sbuf out = SBUF_INIT;
    bool first = true;
    const cJSON *c;
    cJSON_ArrayForEach(c, ku_array(containers))
    {
        const char *s = ku_string(c, key);
        if (!first)
            sbuf_putc(&out, ',');
        sbuf_puts(&out, s ? s : "");
        first = false;
    }
    char *joined = sbuf_detach(&out, NULL);
    cJSON *cell = cJSON_CreateString(joined);
    free(joined);
    return cell;
}

cJSON *deployment_cell_containers(const cJSON *obj, int64_t now_s)
{
    (void)now_s;
    return join_containers(obj, "name");
}

cJSON *deployment_cell_images(const cJSON *obj, int64_t now_s)
{
    (void)now_s;
    return join_containers(obj, "image");
}

cJSON *deployment_cell_selector(const cJSON *obj, int64_t now_s)
{
    (void)now_s;
    char *s = deployment_scale_selector(obj);
    cJSON *cell = cJSON_CreateString(s ? s : "<invalid>");
    free(s);
    return cell;
}

/* kube declares every column of a Deployment as a string, counts included. */
const api_column deployment_columns[DEPLOYMENT_NCOLUMNS] = {
    API_COLUMN_NAME,
    {"Ready", "string", "", "Ready pods out of the desired replicas", 0, NULL,
     deployment_cell_ready},
    {"Up-to-date", "string", "", "Pods that run the current pod template", 0, NULL,
     deployment_cell_up_to_date},
    {"Available", "string", "", "Pods available to serve", 0, NULL, deployment_cell_available},
    API_COLUMN_AGE,
    {"Containers", "string", "", "Names of the pod template's containers", 1, NULL,
     deployment_cell_containers},
    {"Images", "string", "", "Images of the pod template's containers", 1, NULL,
     deployment_cell_images},
    {"Selector", "string", "", "Label selector of the pods", 1, NULL, deployment_cell_selector},
};

const api_kind_strategy deployment_strategy = {
    .defaults = deployment_default,
    .validate = deployment_validate,
    .validate_status = deployment_validate_status,
    .columns = deployment_columns,
    .ncolumns = DEPLOYMENT_NCOLUMNS,
    .generation = API_GENERATION_SPEC_ANNOTATIONS,
};

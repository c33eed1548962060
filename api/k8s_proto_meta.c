/*
 * k8s_proto_meta.c - protobuf descriptors of apimachinery's types (api/k8s_proto_desc.h):
 * meta/v1 ObjectMeta, OwnerReference, LabelSelector, DeleteOptions, Time and MicroTime;
 * api/resource Quantity; util/intstr IntOrString; runtime TypeMeta. The four value types carry
 * a to_json that gives them the JSON form their Go MarshalJSON gives.
 */
#include "api/k8s_proto_desc.h"

#include <errno.h>
#include <stdio.h>
#include <time.h>

/* ---- Time and MicroTime ------------------------------------------------------------------- */

/* The range protobuf's Timestamp allows, 0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z. */
#define TIMESTAMP_MIN_SECONDS (-62135596800LL)
#define TIMESTAMP_MAX_SECONDS 253402300799LL

/* An integer member of a decoded Timestamp; absent means 0. */
static double member_number(const cJSON *obj, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
    return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

/* Replaces *item by repl. */
static void replace(cJSON **item, cJSON *repl)
{
    cJSON_Delete(*item);
    *item = repl;
}

/*
 * A Timestamp {seconds, nanos} as RFC 3339 in UTC, with `digits` fractional digits (0 or 6,
 * truncated as Go's Format does). An empty message is Go's zero time, which is JSON null; this is
 * how kube reads a Time (nanos dropped) and a MicroTime (nanos cut to microseconds).
 */
static int timestamp_to_json(cJSON **item, int digits, const char **why)
{
    if (!(*item)->child) {
        replace(item, cJSON_CreateNull());
        return 0;
    }
    double s = member_number(*item, "seconds");
    double ns = member_number(*item, "nanos");
    if (s < TIMESTAMP_MIN_SECONDS || s > TIMESTAMP_MAX_SECONDS) {
        *why = "a time outside the years 0001 to 9999";
        return -EPROTO;
    }
    if (ns < 0 || ns > 999999999) {
        *why = "a time whose nanos are outside 0 to 999999999";
        return -EPROTO;
    }
    time_t t = (time_t)s;
    struct tm tm;
    gmtime_r(&t, &tm);
    char text[48];
    int n = snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d", tm.tm_year + 1900,
                     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    if (digits)
        n += snprintf(text + n, sizeof text - (size_t)n, ".%06ld", (long)ns / 1000);
    snprintf(text + n, sizeof text - (size_t)n, "Z");
    replace(item, cJSON_CreateString(text));
    return 0;
}

static int time_to_json(cJSON **item, const char **why)
{
    return timestamp_to_json(item, 0, why);
}

static int micro_time_to_json(cJSON **item, const char **why)
{
    return timestamp_to_json(item, 6, why);
}

static const pb_field timestamp_fields[] = {
    F_I64_K(1, "seconds"),
    F_I32_K(2, "nanos"),
};
K8S_PB_MESSAGE(k8s_pb_time, "v1.Time", timestamp_fields, time_to_json);
K8S_PB_MESSAGE(k8s_pb_micro_time, "v1.MicroTime", timestamp_fields, micro_time_to_json);

/* ---- Quantity and IntOrString ------------------------------------------------------------- */

/*
 * A Quantity is its string ("100m", "1Gi"), as sent: the server reads it like the same string
 * in JSON. Absent is Go's zero Quantity, "0"; empty is refused, as kube's parser refuses it.
 */
static int quantity_to_json(cJSON **item, const char **why)
{
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(*item, "string");
    if (!s) {
        replace(item, cJSON_CreateString("0"));
        return 0;
    }
    if (!*s->valuestring) {
        *why = "an empty quantity";
        return -EPROTO;
    }
    replace(item, cJSON_CreateString(s->valuestring));
    return 0;
}

static const pb_field quantity_fields[] = {
    F_STR_K(1, "string"),
};
K8S_PB_MESSAGE(k8s_pb_quantity, "resource.Quantity", quantity_fields, quantity_to_json);

/* {type, intVal, strVal}: type 0 is the number intVal, 1 the string strVal (absent: 0, ""). */
static int int_or_string_to_json(cJSON **item, const char **why)
{
    double type = member_number(*item, "type");
    if (type == 0) {
        replace(item, cJSON_CreateNumber(member_number(*item, "intVal")));
        return 0;
    }
    if (type == 1) {
        const cJSON *s = cJSON_GetObjectItemCaseSensitive(*item, "strVal");
        replace(item, cJSON_CreateString(s ? s->valuestring : ""));
        return 0;
    }
    *why = "an IntOrString whose type is neither 0 (int) nor 1 (string)";
    return -EPROTO;
}

static const pb_field int_or_string_fields[] = {
    F_I64_K(1, "type"),
    F_I32_K(2, "intVal"),
    F_STR_K(3, "strVal"),
};
K8S_PB_MESSAGE(k8s_pb_int_or_string, "intstr.IntOrString", int_or_string_fields,
               int_or_string_to_json);

/* ---- ObjectMeta ----------------------------------------------------------------------------- */

static const pb_field owner_reference_fields[] = {
    F_STR_K(5, "apiVersion"), F_STR_K(1, "kind"),        F_STR_K(3, "name"),
    F_STR_K(4, "uid"),        F_BOOL_K(6, "controller"), F_BOOL_K(7, "blockOwnerDeletion"),
};
static K8S_PB_MESSAGE(owner_reference, "v1.OwnerReference", owner_reference_fields, NULL);

/* managedFields (17) is left out: the server never stores or sends it (docs/api.md §4), so no
   client of this server has one to send back. */
static const pb_field object_meta_fields[] = {
    F_STR(1, "name"),
    F_STR(2, "generateName"),
    F_STR(3, "namespace"),
    F_STR(4, "selfLink"),
    F_STR(5, "uid"),
    F_STR(6, "resourceVersion"),
    F_I64(7, "generation"),
    F_MSG(8, "creationTimestamp", k8s_pb_time),
    F_MSG(9, "deletionTimestamp", k8s_pb_time),
    F_I64_K(10, "deletionGracePeriodSeconds"),
    F_MAP_STR(11, "labels"),
    F_MAP_STR(12, "annotations"),
    F_MSGS(13, "ownerReferences", owner_reference),
    F_STRS(14, "finalizers"),
};
K8S_PB_MESSAGE(k8s_pb_object_meta, "v1.ObjectMeta", object_meta_fields, NULL);

/* ---- LabelSelector ------------------------------------------------------------------------ */

static const pb_field label_selector_requirement_fields[] = {
    F_STR_K(1, "key"),
    F_STR_K(2, "operator"),
    F_STRS(3, "values"),
};
static K8S_PB_MESSAGE(label_selector_requirement, "v1.LabelSelectorRequirement",
                      label_selector_requirement_fields, NULL);

static const pb_field label_selector_fields[] = {
    F_MAP_STR(1, "matchLabels"),
    F_MSGS(2, "matchExpressions", label_selector_requirement),
};
K8S_PB_MESSAGE(k8s_pb_label_selector, "v1.LabelSelector", label_selector_fields, NULL);

/* ---- DeleteOptions ------------------------------------------------------------------------ */

static const pb_field preconditions_fields[] = {
    F_STR_K(1, "uid"),
    F_STR_K(2, "resourceVersion"),
};
static K8S_PB_MESSAGE(preconditions, "v1.Preconditions", preconditions_fields, NULL);

static const pb_field delete_options_fields[] = {
    F_I64_K(1, "gracePeriodSeconds"),
    F_MSG(2, "preconditions", preconditions),
    F_BOOL_K(3, "orphanDependents"),
    F_STR_K(4, "propagationPolicy"),
    F_STRS(5, "dryRun"),
    F_BOOL_K(6, "ignoreStoreReadErrorWithClusterBreakingPotential"),
};
K8S_PB_MESSAGE(k8s_pb_delete_options, "v1.DeleteOptions", delete_options_fields, NULL);

/* ---- the envelope's TypeMeta ------------------------------------------------------------- */

static const pb_field type_meta_fields[] = {
    F_STR_K(1, "apiVersion"),
    F_STR_K(2, "kind"),
};
K8S_PB_MESSAGE(k8s_pb_type_meta, "runtime.TypeMeta", type_meta_fields, NULL);

/*
 * k8s_proto_kinds.c - protobuf descriptors of the top-level kinds (api/k8s_proto_desc.h):
 * v1 Namespace and Event, apps/v1 Deployment, coordination.k8s.io/v1 Lease, autoscaling/v1
 * Scale (a /scale write), and the table naming each with its apiVersion and kind.
 */
#include "api/k8s_proto_desc.h"

/* ---- v1 Namespace -------------------------------------------------------------------------- */

static const pb_field namespace_spec_fields[] = {
    F_STRS(1, "finalizers"),
};
static K8S_PB_MESSAGE(namespace_spec, "v1.NamespaceSpec", namespace_spec_fields, NULL);

static const pb_field namespace_condition_fields[] = {
    F_STR_K(1, "type"), F_STR_K(2, "status"), F_MSG(4, "lastTransitionTime", k8s_pb_time),
    F_STR(5, "reason"), F_STR(6, "message"),
};
static K8S_PB_MESSAGE(namespace_condition, "v1.NamespaceCondition", namespace_condition_fields,
                      NULL);

static const pb_field namespace_status_fields[] = {
    F_STR(1, "phase"),
    F_MSGS(2, "conditions", namespace_condition),
};
static K8S_PB_MESSAGE(namespace_status, "v1.NamespaceStatus", namespace_status_fields, NULL);

static const pb_field namespace_fields[] = {
    F_MSG(1, "metadata", k8s_pb_object_meta),
    F_MSG(2, "spec", namespace_spec),
    F_MSG(3, "status", namespace_status),
};
static K8S_PB_MESSAGE(namespace_kind, "v1.Namespace", namespace_fields, NULL);

/* ---- apps/v1 Deployment ------------------------------------------------------------------- */

static const pb_field rolling_update_fields[] = {
    F_MSG(1, "maxUnavailable", k8s_pb_int_or_string),
    F_MSG(2, "maxSurge", k8s_pb_int_or_string),
};
static K8S_PB_MESSAGE(rolling_update, "v1.RollingUpdateDeployment", rolling_update_fields, NULL);

static const pb_field deployment_strategy_fields[] = {
    F_STR(1, "type"),
    F_MSG(2, "rollingUpdate", rolling_update),
};
static K8S_PB_MESSAGE(deployment_strategy, "v1.DeploymentStrategy", deployment_strategy_fields,
                      NULL);

static const pb_field deployment_spec_fields[] = {
    F_I32_K(1, "replicas"),
    F_MSG(2, "selector", k8s_pb_label_selector),
    F_MSG(3, "template", k8s_pb_pod_template_spec),
    F_MSG(4, "strategy", deployment_strategy),
    F_I32(5, "minReadySeconds"),
    F_I32_K(6, "revisionHistoryLimit"),
    F_BOOL(7, "paused"),
    F_I32_K(9, "progressDeadlineSeconds"),
    F_STR_K(10, "podReplacementPolicy"),
};
static K8S_PB_MESSAGE(deployment_spec, "v1.DeploymentSpec", deployment_spec_fields, NULL);

static const pb_field deployment_condition_fields[] = {
    F_STR_K(1, "type"),
    F_STR_K(2, "status"),
    F_MSG(6, "lastUpdateTime", k8s_pb_time),
    F_MSG(7, "lastTransitionTime", k8s_pb_time),
    F_STR(4, "reason"),
    F_STR(5, "message"),
};
static K8S_PB_MESSAGE(deployment_condition, "v1.DeploymentCondition", deployment_condition_fields,
                      NULL);

static const pb_field deployment_status_fields[] = {
    F_I64(1, "observedGeneration"),    F_I32(2, "replicas"),
    F_I32(3, "updatedReplicas"),       F_I32(7, "readyReplicas"),
    F_I32(4, "availableReplicas"),     F_I32(5, "unavailableReplicas"),
    F_I32_K(9, "terminatingReplicas"), F_MSGS(6, "conditions", deployment_condition),
    F_I32_K(8, "collisionCount"),
};
static K8S_PB_MESSAGE(deployment_status, "v1.DeploymentStatus", deployment_status_fields, NULL);

static const pb_field deployment_fields[] = {
    F_MSG(1, "metadata", k8s_pb_object_meta),
    F_MSG(2, "spec", deployment_spec),
    F_MSG(3, "status", deployment_status),
};
static K8S_PB_MESSAGE(deployment, "v1.Deployment", deployment_fields, NULL);

/* ---- v1 Event ------------------------------------------------------------------------------ */

static const pb_field object_reference_fields[] = {
    F_STR(1, "kind"),       F_STR(2, "namespace"),       F_STR(3, "name"),      F_STR(4, "uid"),
    F_STR(5, "apiVersion"), F_STR(6, "resourceVersion"), F_STR(7, "fieldPath"),
};
static K8S_PB_MESSAGE(object_reference, "v1.ObjectReference", object_reference_fields, NULL);

static const pb_field event_source_fields[] = {
    F_STR(1, "component"),
    F_STR(2, "host"),
};
static K8S_PB_MESSAGE(event_source, "v1.EventSource", event_source_fields, NULL);

static const pb_field event_series_fields[] = {
    F_I32(1, "count"),
    F_MSG(2, "lastObservedTime", k8s_pb_micro_time),
};
static K8S_PB_MESSAGE(event_series, "v1.EventSeries", event_series_fields, NULL);

static const pb_field event_fields[] = {
    F_MSG(1, "metadata", k8s_pb_object_meta),
    F_MSG(2, "involvedObject", object_reference),
    F_STR(3, "reason"),
    F_STR(4, "message"),
    F_MSG(5, "source", event_source),
    F_MSG(6, "firstTimestamp", k8s_pb_time),
    F_MSG(7, "lastTimestamp", k8s_pb_time),
    F_I32(8, "count"),
    F_STR(9, "type"),
    F_MSG(10, "eventTime", k8s_pb_micro_time),
    F_MSG(11, "series", event_series),
    F_STR(12, "action"),
    F_MSG(13, "related", object_reference),
    F_STR_K(14, "reportingComponent"),
    F_STR_K(15, "reportingInstance"),
};
static K8S_PB_MESSAGE(event, "v1.Event", event_fields, NULL);

/* ---- coordination.k8s.io/v1 Lease ------------------------------------------------------- */

static const pb_field lease_spec_fields[] = {
    F_STR_K(1, "holderIdentity"),
    F_I32_K(2, "leaseDurationSeconds"),
    F_MSG(3, "acquireTime", k8s_pb_micro_time),
    F_MSG(4, "renewTime", k8s_pb_micro_time),
    F_I32_K(5, "leaseTransitions"),
    F_STR_K(6, "strategy"),
    F_STR_K(7, "preferredHolder"),
};
static K8S_PB_MESSAGE(lease_spec, "v1.LeaseSpec", lease_spec_fields, NULL);

static const pb_field lease_fields[] = {
    F_MSG(1, "metadata", k8s_pb_object_meta),
    F_MSG(2, "spec", lease_spec),
};
static K8S_PB_MESSAGE(lease, "v1.Lease", lease_fields, NULL);

/* ---- autoscaling/v1 Scale ----------------------------------------------------------------- */

static const pb_field scale_spec_fields[] = {
    F_I32(1, "replicas"),
};
static K8S_PB_MESSAGE(scale_spec, "v1.ScaleSpec", scale_spec_fields, NULL);

static const pb_field scale_status_fields[] = {
    F_I32_K(1, "replicas"),
    F_STR(2, "selector"),
};
static K8S_PB_MESSAGE(scale_status, "v1.ScaleStatus", scale_status_fields, NULL);

static const pb_field scale_fields[] = {
    F_MSG(1, "metadata", k8s_pb_object_meta),
    F_MSG(2, "spec", scale_spec),
    F_MSG(3, "status", scale_status),
};
static K8S_PB_MESSAGE(scale, "v1.Scale", scale_fields, NULL);

/* ---- the table ---------------------------------------------------------------------------- */

const k8s_pb_kind k8s_pb_kinds[] = {
    {"v1", "Namespace", &namespace_kind, true},
    {"apps/v1", "Deployment", &deployment, true},
    {"v1", "Event", &event, true},
    {"coordination.k8s.io/v1", "Lease", &lease, true},
    {"autoscaling/v1", "Scale", &scale, false},
    {NULL, "DeleteOptions", &k8s_pb_delete_options, false},
};
const size_t k8s_pb_nkinds = sizeof k8s_pb_kinds / sizeof k8s_pb_kinds[0];

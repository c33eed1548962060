/*
 * patchmeta.c - the patch-meta tables of the built-in kinds (api/patchmeta.h), from the
 * patchStrategy / patchMergeKey tags of k8s.io/api. Each table describes one Go type; a field
 * that leads to a merged list somewhere below carries the schema of its value.
 */
#include "api/patchmeta.h"

/* metav1.ObjectMeta */
static const smp_field object_meta_fields[] = {
    {"finalizers", SMP_MERGE, NULL, NULL},
    {"ownerReferences", SMP_MERGE, "uid", NULL},
};
static const smp_schema object_meta = SMP_SCHEMA(object_meta_fields);

/* core/v1 Container; EphemeralContainer carries the same tags. */
static const smp_field container_fields[] = {
    {"ports", SMP_MERGE, "containerPort", NULL},
    {"env", SMP_MERGE, "name", NULL},
    {"volumeMounts", SMP_MERGE, "mountPath", NULL},
    {"volumeDevices", SMP_MERGE, "devicePath", NULL},
};
static const smp_schema container = SMP_SCHEMA(container_fields);

/* core/v1 PodSpec */
static const smp_field pod_spec_fields[] = {
    {"volumes", SMP_MERGE_RETAIN_KEYS, "name", NULL},
    {"initContainers", SMP_MERGE, "name", &container},
    {"containers", SMP_MERGE, "name", &container},
    {"ephemeralContainers", SMP_MERGE, "name", &container},
    {"imagePullSecrets", SMP_MERGE, "name", NULL},
    {"hostAliases", SMP_MERGE, "ip", NULL},
    {"topologySpreadConstraints", SMP_MERGE, "topologyKey", NULL},
    {"schedulingGates", SMP_MERGE, "name", NULL},
    {"resourceClaims", SMP_MERGE_RETAIN_KEYS, "name", NULL},
};
static const smp_schema pod_spec = SMP_SCHEMA(pod_spec_fields);

/* core/v1 PodTemplateSpec */
static const smp_field pod_template_fields[] = {
    {"metadata", SMP_DEFAULT, NULL, &object_meta},
    {"spec", SMP_DEFAULT, NULL, &pod_spec},
};
static const smp_schema pod_template = SMP_SCHEMA(pod_template_fields);

/* apps/v1 DeploymentSpec: strategy is a union (type, rollingUpdate) cleared by $retainKeys. */
static const smp_field deployment_spec_fields[] = {
    {"template", SMP_DEFAULT, NULL, &pod_template},
    {"strategy", SMP_RETAIN_KEYS, NULL, NULL},
};
static const smp_schema deployment_spec = SMP_SCHEMA(deployment_spec_fields);

/* apps/v1 DeploymentStatus, core/v1 NamespaceStatus: conditions by type. */
static const smp_field conditions_status_fields[] = {
    {"conditions", SMP_MERGE, "type", NULL},
};
static const smp_schema conditions_status = SMP_SCHEMA(conditions_status_fields);

static const smp_field deployment_fields[] = {
    {"metadata", SMP_DEFAULT, NULL, &object_meta},
    {"spec", SMP_DEFAULT, NULL, &deployment_spec},
    {"status", SMP_DEFAULT, NULL, &conditions_status},
};
static const smp_schema deployment = SMP_SCHEMA(deployment_fields);

/* Event and Lease: nothing beyond ObjectMeta. */
static const smp_field meta_only_fields[] = {
    {"metadata", SMP_DEFAULT, NULL, &object_meta},
};
static const smp_schema meta_only = SMP_SCHEMA(meta_only_fields);

static const smp_field namespace_fields[] = {
    {"metadata", SMP_DEFAULT, NULL, &object_meta},
    {"status", SMP_DEFAULT, NULL, &conditions_status},
};
static const smp_schema namespace_schema = SMP_SCHEMA(namespace_fields);

const smp_schema *patchmeta_deployment(void)
{
    return &deployment;
}

const smp_schema *patchmeta_event(void)
{
    return &meta_only;
}

const smp_schema *patchmeta_lease(void)
{
    return &meta_only;
}

const smp_schema *patchmeta_namespace(void)
{
    return &namespace_schema;
}

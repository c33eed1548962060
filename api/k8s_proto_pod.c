/*
 * k8s_proto_pod.c - protobuf descriptors of core/v1's pod template (api/k8s_proto_desc.h):
 * PodTemplateSpec, PodSpec, Container and what they hold, with the fields kubectl's generators
 * and common manifests use. Left out, hence refused when sent: ephemeralContainers,
 * resourceClaims, hostnameOverride, Container.restartPolicyRules, and volume sources other than
 * hostPath, emptyDir, secret, nfs, persistentVolumeClaim, downwardAPI, configMap, projected and
 * csi.
 */
#include "api/k8s_proto_desc.h"

/* ---- references and selectors ------------------------------------------------------------- */

static const pb_field local_object_reference_fields[] = {
    F_STR(1, "name"),
};
K8S_PB_MESSAGE(k8s_pb_local_object_reference, "v1.LocalObjectReference",
               local_object_reference_fields, NULL);

static const pb_field key_to_path_fields[] = {
    F_STR_K(1, "key"),
    F_STR_K(2, "path"),
    F_I32_K(3, "mode"),
};
static K8S_PB_MESSAGE(key_to_path, "v1.KeyToPath", key_to_path_fields, NULL);

static const pb_field object_field_selector_fields[] = {
    F_STR(1, "apiVersion"),
    F_STR_K(2, "fieldPath"),
};
static K8S_PB_MESSAGE(object_field_selector, "v1.ObjectFieldSelector", object_field_selector_fields,
                      NULL);

static const pb_field resource_field_selector_fields[] = {
    F_STR(1, "containerName"),
    F_STR_K(2, "resource"),
    F_MSG(3, "divisor", k8s_pb_quantity),
};
static K8S_PB_MESSAGE(resource_field_selector, "v1.ResourceFieldSelector",
                      resource_field_selector_fields, NULL);

/* ConfigMapKeySelector and SecretKeySelector have the same shape. */
static const pb_field key_selector_fields[] = {
    F_INLINE(1, k8s_pb_local_object_reference),
    F_STR_K(2, "key"),
    F_BOOL_K(3, "optional"),
};
static K8S_PB_MESSAGE(config_map_key_selector, "v1.ConfigMapKeySelector", key_selector_fields,
                      NULL);
static K8S_PB_MESSAGE(secret_key_selector, "v1.SecretKeySelector", key_selector_fields, NULL);

/* ---- environment ---------------------------------------------------------------------------- */

static const pb_field env_var_source_fields[] = {
    F_MSG(1, "fieldRef", object_field_selector),
    F_MSG(2, "resourceFieldRef", resource_field_selector),
    F_MSG(3, "configMapKeyRef", config_map_key_selector),
    F_MSG(4, "secretKeyRef", secret_key_selector),
};
static K8S_PB_MESSAGE(env_var_source, "v1.EnvVarSource", env_var_source_fields, NULL);

static const pb_field env_var_fields[] = {
    F_STR_K(1, "name"),
    F_STR(2, "value"),
    F_MSG(3, "valueFrom", env_var_source),
};
static K8S_PB_MESSAGE(env_var, "v1.EnvVar", env_var_fields, NULL);

/* ConfigMapEnvSource and SecretEnvSource have the same shape. */
static const pb_field env_source_fields[] = {
    F_INLINE(1, k8s_pb_local_object_reference),
    F_BOOL_K(2, "optional"),
};
static K8S_PB_MESSAGE(config_map_env_source, "v1.ConfigMapEnvSource", env_source_fields, NULL);
static K8S_PB_MESSAGE(secret_env_source, "v1.SecretEnvSource", env_source_fields, NULL);

static const pb_field env_from_source_fields[] = {
    F_STR(1, "prefix"),
    F_MSG(2, "configMapRef", config_map_env_source),
    F_MSG(3, "secretRef", secret_env_source),
};
static K8S_PB_MESSAGE(env_from_source, "v1.EnvFromSource", env_from_source_fields, NULL);

/* ---- ports, resources, mounts ----------------------------------------------------------- */

static const pb_field container_port_fields[] = {
    F_STR(1, "name"),     F_I32(2, "hostPort"), F_I32_K(3, "containerPort"),
    F_STR(4, "protocol"), F_STR(5, "hostIP"),
};
static K8S_PB_MESSAGE(container_port, "v1.ContainerPort", container_port_fields, NULL);

static const pb_field resource_claim_fields[] = {
    F_STR_K(1, "name"),
    F_STR(2, "request"),
};
static K8S_PB_MESSAGE(resource_claim, "v1.ResourceClaim", resource_claim_fields, NULL);

static const pb_field resource_requirements_fields[] = {
    F_MAP(1, "limits", k8s_pb_quantity),
    F_MAP(2, "requests", k8s_pb_quantity),
    F_MSGS(3, "claims", resource_claim),
};
static K8S_PB_MESSAGE(resource_requirements, "v1.ResourceRequirements",
                      resource_requirements_fields, NULL);

static const pb_field container_resize_policy_fields[] = {
    F_STR_K(1, "resourceName"),
    F_STR_K(2, "restartPolicy"),
};
static K8S_PB_MESSAGE(container_resize_policy, "v1.ContainerResizePolicy",
                      container_resize_policy_fields, NULL);

static const pb_field volume_mount_fields[] = {
    F_STR_K(1, "name"),
    F_BOOL(2, "readOnly"),
    F_STR_K(3, "mountPath"),
    F_STR(4, "subPath"),
    F_STR_K(5, "mountPropagation"),
    F_STR(6, "subPathExpr"),
    F_STR_K(7, "recursiveReadOnly"),
};
static K8S_PB_MESSAGE(volume_mount, "v1.VolumeMount", volume_mount_fields, NULL);

static const pb_field volume_device_fields[] = {
    F_STR_K(1, "name"),
    F_STR_K(2, "devicePath"),
};
static K8S_PB_MESSAGE(volume_device, "v1.VolumeDevice", volume_device_fields, NULL);

/* ---- probes and lifecycle hooks ----------------------------------------------------------- */

static const pb_field exec_action_fields[] = {
    F_STRS(1, "command"),
};
static K8S_PB_MESSAGE(exec_action, "v1.ExecAction", exec_action_fields, NULL);

static const pb_field http_header_fields[] = {
    F_STR_K(1, "name"),
    F_STR_K(2, "value"),
};
static K8S_PB_MESSAGE(http_header, "v1.HTTPHeader", http_header_fields, NULL);

static const pb_field http_get_action_fields[] = {
    F_STR(1, "path"),   F_MSG(2, "port", k8s_pb_int_or_string), F_STR(3, "host"),
    F_STR(4, "scheme"), F_MSGS(5, "httpHeaders", http_header),
};
static K8S_PB_MESSAGE(http_get_action, "v1.HTTPGetAction", http_get_action_fields, NULL);

static const pb_field tcp_socket_action_fields[] = {
    F_MSG(1, "port", k8s_pb_int_or_string),
    F_STR(2, "host"),
};
static K8S_PB_MESSAGE(tcp_socket_action, "v1.TCPSocketAction", tcp_socket_action_fields, NULL);

static const pb_field grpc_action_fields[] = {
    F_I32_K(1, "port"),
    F_STR_K(2, "service"),
};
static K8S_PB_MESSAGE(grpc_action, "v1.GRPCAction", grpc_action_fields, NULL);

static const pb_field sleep_action_fields[] = {
    F_I64_K(1, "seconds"),
};
static K8S_PB_MESSAGE(sleep_action, "v1.SleepAction", sleep_action_fields, NULL);

static const pb_field probe_handler_fields[] = {
    F_MSG(1, "exec", exec_action),
    F_MSG(2, "httpGet", http_get_action),
    F_MSG(3, "tcpSocket", tcp_socket_action),
    F_MSG(4, "grpc", grpc_action),
};
static K8S_PB_MESSAGE(probe_handler, "v1.ProbeHandler", probe_handler_fields, NULL);

static const pb_field probe_fields[] = {
    F_INLINE(1, probe_handler),
    F_I32(2, "initialDelaySeconds"),
    F_I32(3, "timeoutSeconds"),
    F_I32(4, "periodSeconds"),
    F_I32(5, "successThreshold"),
    F_I32(6, "failureThreshold"),
    F_I64_K(7, "terminationGracePeriodSeconds"),
};
static K8S_PB_MESSAGE(probe, "v1.Probe", probe_fields, NULL);

static const pb_field lifecycle_handler_fields[] = {
    F_MSG(1, "exec", exec_action),
    F_MSG(2, "httpGet", http_get_action),
    F_MSG(3, "tcpSocket", tcp_socket_action),
    F_MSG(4, "sleep", sleep_action),
};
static K8S_PB_MESSAGE(lifecycle_handler, "v1.LifecycleHandler", lifecycle_handler_fields, NULL);

static const pb_field lifecycle_fields[] = {
    F_MSG(1, "postStart", lifecycle_handler),
    F_MSG(2, "preStop", lifecycle_handler),
    F_STR_K(3, "stopSignal"),
};
static K8S_PB_MESSAGE(lifecycle, "v1.Lifecycle", lifecycle_fields, NULL);

/* ---- security contexts ------------------------------------------------------------------- */

static const pb_field capabilities_fields[] = {
    F_STRS(1, "add"),
    F_STRS(2, "drop"),
};
static K8S_PB_MESSAGE(capabilities, "v1.Capabilities", capabilities_fields, NULL);

static const pb_field se_linux_options_fields[] = {
    F_STR(1, "user"),
    F_STR(2, "role"),
    F_STR(3, "type"),
    F_STR(4, "level"),
};
static K8S_PB_MESSAGE(se_linux_options, "v1.SELinuxOptions", se_linux_options_fields, NULL);

static const pb_field windows_options_fields[] = {
    F_STR_K(1, "gmsaCredentialSpecName"),
    F_STR_K(2, "gmsaCredentialSpec"),
    F_STR_K(3, "runAsUserName"),
    F_BOOL_K(4, "hostProcess"),
};
static K8S_PB_MESSAGE(windows_options, "v1.WindowsSecurityContextOptions", windows_options_fields,
                      NULL);

/* SeccompProfile and AppArmorProfile have the same shape. */
static const pb_field profile_fields[] = {
    F_STR_K(1, "type"),
    F_STR_K(2, "localhostProfile"),
};
static K8S_PB_MESSAGE(seccomp_profile, "v1.SeccompProfile", profile_fields, NULL);
static K8S_PB_MESSAGE(app_armor_profile, "v1.AppArmorProfile", profile_fields, NULL);

static const pb_field security_context_fields[] = {
    F_MSG(1, "capabilities", capabilities),
    F_BOOL_K(2, "privileged"),
    F_MSG(3, "seLinuxOptions", se_linux_options),
    F_MSG(10, "windowsOptions", windows_options),
    F_I64_K(4, "runAsUser"),
    F_I64_K(8, "runAsGroup"),
    F_BOOL_K(5, "runAsNonRoot"),
    F_BOOL_K(6, "readOnlyRootFilesystem"),
    F_BOOL_K(7, "allowPrivilegeEscalation"),
    F_STR_K(9, "procMount"),
    F_MSG(11, "seccompProfile", seccomp_profile),
    F_MSG(12, "appArmorProfile", app_armor_profile),
};
static K8S_PB_MESSAGE(security_context, "v1.SecurityContext", security_context_fields, NULL);

static const pb_field sysctl_fields[] = {
    F_STR_K(1, "name"),
    F_STR_K(2, "value"),
};
static K8S_PB_MESSAGE(sysctl, "v1.Sysctl", sysctl_fields, NULL);

static const pb_field pod_security_context_fields[] = {
    F_MSG(1, "seLinuxOptions", se_linux_options),
    F_MSG(8, "windowsOptions", windows_options),
    F_I64_K(2, "runAsUser"),
    F_I64_K(6, "runAsGroup"),
    F_BOOL_K(3, "runAsNonRoot"),
    F_I64S(4, "supplementalGroups"),
    F_STR_K(12, "supplementalGroupsPolicy"),
    F_I64_K(5, "fsGroup"),
    F_MSGS(7, "sysctls", sysctl),
    F_STR_K(9, "fsGroupChangePolicy"),
    F_MSG(10, "seccompProfile", seccomp_profile),
    F_MSG(11, "appArmorProfile", app_armor_profile),
    F_STR_K(13, "seLinuxChangePolicy"),
};
static K8S_PB_MESSAGE(pod_security_context, "v1.PodSecurityContext", pod_security_context_fields,
                      NULL);

/* ---- Container ---------------------------------------------------------------------------- */

static const pb_field container_fields[] = {
    F_STR_K(1, "name"),
    F_STR(2, "image"),
    F_STRS(3, "command"),
    F_STRS(4, "args"),
    F_STR(5, "workingDir"),
    F_MSGS(6, "ports", container_port),
    F_MSGS(19, "envFrom", env_from_source),
    F_MSGS(7, "env", env_var),
    F_MSG(8, "resources", resource_requirements),
    F_MSGS(23, "resizePolicy", container_resize_policy),
    F_STR_K(24, "restartPolicy"),
    F_MSGS(9, "volumeMounts", volume_mount),
    F_MSGS(21, "volumeDevices", volume_device),
    F_MSG(10, "livenessProbe", probe),
    F_MSG(11, "readinessProbe", probe),
    F_MSG(22, "startupProbe", probe),
    F_MSG(12, "lifecycle", lifecycle),
    F_STR(13, "terminationMessagePath"),
    F_STR(20, "terminationMessagePolicy"),
    F_STR(14, "imagePullPolicy"),
    F_MSG(15, "securityContext", security_context),
    F_BOOL(16, "stdin"),
    F_BOOL(17, "stdinOnce"),
    F_BOOL(18, "tty"),
};
static K8S_PB_MESSAGE(container, "v1.Container", container_fields, NULL);

/* ---- scheduling --------------------------------------------------------------------------- */

static const pb_field toleration_fields[] = {
    F_STR(1, "key"),
    F_STR(2, "operator"),
    F_STR(3, "value"),
    F_STR(4, "effect"),
    F_I64_K(5, "tolerationSeconds"),
};
static K8S_PB_MESSAGE(toleration, "v1.Toleration", toleration_fields, NULL);

static const pb_field node_selector_requirement_fields[] = {
    F_STR_K(1, "key"),
    F_STR_K(2, "operator"),
    F_STRS(3, "values"),
};
static K8S_PB_MESSAGE(node_selector_requirement, "v1.NodeSelectorRequirement",
                      node_selector_requirement_fields, NULL);

static const pb_field node_selector_term_fields[] = {
    F_MSGS(1, "matchExpressions", node_selector_requirement),
    F_MSGS(2, "matchFields", node_selector_requirement),
};
static K8S_PB_MESSAGE(node_selector_term, "v1.NodeSelectorTerm", node_selector_term_fields, NULL);

static const pb_field node_selector_fields[] = {
    F_MSGS(1, "nodeSelectorTerms", node_selector_term),
};
static K8S_PB_MESSAGE(node_selector, "v1.NodeSelector", node_selector_fields, NULL);

static const pb_field preferred_scheduling_term_fields[] = {
    F_I32_K(1, "weight"),
    F_MSG(2, "preference", node_selector_term),
};
static K8S_PB_MESSAGE(preferred_scheduling_term, "v1.PreferredSchedulingTerm",
                      preferred_scheduling_term_fields, NULL);

static const pb_field node_affinity_fields[] = {
    F_MSG(1, "requiredDuringSchedulingIgnoredDuringExecution", node_selector),
    F_MSGS(2, "preferredDuringSchedulingIgnoredDuringExecution", preferred_scheduling_term),
};
static K8S_PB_MESSAGE(node_affinity, "v1.NodeAffinity", node_affinity_fields, NULL);

static const pb_field pod_affinity_term_fields[] = {
    F_MSG(1, "labelSelector", k8s_pb_label_selector),
    F_STRS(2, "namespaces"),
    F_STR_K(3, "topologyKey"),
    F_MSG(4, "namespaceSelector", k8s_pb_label_selector),
    F_STRS(5, "matchLabelKeys"),
    F_STRS(6, "mismatchLabelKeys"),
};
static K8S_PB_MESSAGE(pod_affinity_term, "v1.PodAffinityTerm", pod_affinity_term_fields, NULL);

static const pb_field weighted_pod_affinity_term_fields[] = {
    F_I32_K(1, "weight"),
    F_MSG(2, "podAffinityTerm", pod_affinity_term),
};
static K8S_PB_MESSAGE(weighted_pod_affinity_term, "v1.WeightedPodAffinityTerm",
                      weighted_pod_affinity_term_fields, NULL);

/* PodAffinity and PodAntiAffinity have the same shape. */
static const pb_field pod_affinity_fields[] = {
    F_MSGS(1, "requiredDuringSchedulingIgnoredDuringExecution", pod_affinity_term),
    F_MSGS(2, "preferredDuringSchedulingIgnoredDuringExecution", weighted_pod_affinity_term),
};
static K8S_PB_MESSAGE(pod_affinity, "v1.PodAffinity", pod_affinity_fields, NULL);
static K8S_PB_MESSAGE(pod_anti_affinity, "v1.PodAntiAffinity", pod_affinity_fields, NULL);

static const pb_field affinity_fields[] = {
    F_MSG(1, "nodeAffinity", node_affinity),
    F_MSG(2, "podAffinity", pod_affinity),
    F_MSG(3, "podAntiAffinity", pod_anti_affinity),
};
static K8S_PB_MESSAGE(affinity, "v1.Affinity", affinity_fields, NULL);

static const pb_field topology_spread_constraint_fields[] = {
    F_I32_K(1, "maxSkew"),           F_STR_K(2, "topologyKey"),
    F_STR_K(3, "whenUnsatisfiable"), F_MSG(4, "labelSelector", k8s_pb_label_selector),
    F_I32_K(5, "minDomains"),        F_STR_K(6, "nodeAffinityPolicy"),
    F_STR_K(7, "nodeTaintsPolicy"),  F_STRS(8, "matchLabelKeys"),
};
static K8S_PB_MESSAGE(topology_spread_constraint, "v1.TopologySpreadConstraint",
                      topology_spread_constraint_fields, NULL);

static const pb_field host_alias_fields[] = {
    F_STR_K(1, "ip"),
    F_STRS(2, "hostnames"),
};
static K8S_PB_MESSAGE(host_alias, "v1.HostAlias", host_alias_fields, NULL);

static const pb_field pod_dns_config_option_fields[] = {
    F_STR(1, "name"),
    F_STR_K(2, "value"),
};
static K8S_PB_MESSAGE(pod_dns_config_option, "v1.PodDNSConfigOption", pod_dns_config_option_fields,
                      NULL);

static const pb_field pod_dns_config_fields[] = {
    F_STRS(1, "nameservers"),
    F_STRS(2, "searches"),
    F_MSGS(3, "options", pod_dns_config_option),
};
static K8S_PB_MESSAGE(pod_dns_config, "v1.PodDNSConfig", pod_dns_config_fields, NULL);

/* PodReadinessGate ({conditionType}), PodOS and PodSchedulingGate ({name}): one field each. */
static const pb_field pod_readiness_gate_fields[] = {
    F_STR_K(1, "conditionType"),
};
static K8S_PB_MESSAGE(pod_readiness_gate, "v1.PodReadinessGate", pod_readiness_gate_fields, NULL);

static const pb_field name_only_fields[] = {
    F_STR_K(1, "name"),
};
static K8S_PB_MESSAGE(pod_os, "v1.PodOS", name_only_fields, NULL);
static K8S_PB_MESSAGE(pod_scheduling_gate, "v1.PodSchedulingGate", name_only_fields, NULL);

/* ---- volumes ------------------------------------------------------------------------------ */

static const pb_field host_path_fields[] = {
    F_STR_K(1, "path"),
    F_STR_K(2, "type"),
};
static K8S_PB_MESSAGE(host_path, "v1.HostPathVolumeSource", host_path_fields, NULL);

static const pb_field empty_dir_fields[] = {
    F_STR(1, "medium"),
    F_MSG(2, "sizeLimit", k8s_pb_quantity),
};
static K8S_PB_MESSAGE(empty_dir, "v1.EmptyDirVolumeSource", empty_dir_fields, NULL);

static const pb_field secret_volume_fields[] = {
    F_STR(1, "secretName"),
    F_MSGS(2, "items", key_to_path),
    F_I32_K(3, "defaultMode"),
    F_BOOL_K(4, "optional"),
};
static K8S_PB_MESSAGE(secret_volume, "v1.SecretVolumeSource", secret_volume_fields, NULL);

static const pb_field config_map_volume_fields[] = {
    F_INLINE(1, k8s_pb_local_object_reference),
    F_MSGS(2, "items", key_to_path),
    F_I32_K(3, "defaultMode"),
    F_BOOL_K(4, "optional"),
};
static K8S_PB_MESSAGE(config_map_volume, "v1.ConfigMapVolumeSource", config_map_volume_fields,
                      NULL);

static const pb_field nfs_volume_fields[] = {
    F_STR_K(1, "server"),
    F_STR_K(2, "path"),
    F_BOOL(3, "readOnly"),
};
static K8S_PB_MESSAGE(nfs_volume, "v1.NFSVolumeSource", nfs_volume_fields, NULL);

static const pb_field pvc_volume_fields[] = {
    F_STR_K(1, "claimName"),
    F_BOOL(2, "readOnly"),
};
static K8S_PB_MESSAGE(pvc_volume, "v1.PersistentVolumeClaimVolumeSource", pvc_volume_fields, NULL);

static const pb_field downward_api_file_fields[] = {
    F_STR_K(1, "path"),
    F_MSG(2, "fieldRef", object_field_selector),
    F_MSG(3, "resourceFieldRef", resource_field_selector),
    F_I32_K(4, "mode"),
};
static K8S_PB_MESSAGE(downward_api_file, "v1.DownwardAPIVolumeFile", downward_api_file_fields,
                      NULL);

static const pb_field downward_api_volume_fields[] = {
    F_MSGS(1, "items", downward_api_file),
    F_I32_K(2, "defaultMode"),
};
static K8S_PB_MESSAGE(downward_api_volume, "v1.DownwardAPIVolumeSource", downward_api_volume_fields,
                      NULL);

static const pb_field downward_api_projection_fields[] = {
    F_MSGS(1, "items", downward_api_file),
};
static K8S_PB_MESSAGE(downward_api_projection, "v1.DownwardAPIProjection",
                      downward_api_projection_fields, NULL);

/* SecretProjection and ConfigMapProjection have the same shape. */
static const pb_field object_projection_fields[] = {
    F_INLINE(1, k8s_pb_local_object_reference),
    F_MSGS(2, "items", key_to_path),
    F_BOOL_K(4, "optional"),
};
static K8S_PB_MESSAGE(secret_projection, "v1.SecretProjection", object_projection_fields, NULL);
static K8S_PB_MESSAGE(config_map_projection, "v1.ConfigMapProjection", object_projection_fields,
                      NULL);

static const pb_field service_account_token_projection_fields[] = {
    F_STR(1, "audience"),
    F_I64_K(2, "expirationSeconds"),
    F_STR_K(3, "path"),
};
static K8S_PB_MESSAGE(service_account_token_projection, "v1.ServiceAccountTokenProjection",
                      service_account_token_projection_fields, NULL);

static const pb_field volume_projection_fields[] = {
    F_MSG(1, "secret", secret_projection),
    F_MSG(2, "downwardAPI", downward_api_projection),
    F_MSG(3, "configMap", config_map_projection),
    F_MSG(4, "serviceAccountToken", service_account_token_projection),
};
static K8S_PB_MESSAGE(volume_projection, "v1.VolumeProjection", volume_projection_fields, NULL);

static const pb_field projected_volume_fields[] = {
    F_MSGS(1, "sources", volume_projection),
    F_I32_K(2, "defaultMode"),
};
static K8S_PB_MESSAGE(projected_volume, "v1.ProjectedVolumeSource", projected_volume_fields, NULL);

static const pb_field csi_volume_fields[] = {
    F_STR_K(1, "driver"),
    F_BOOL_K(2, "readOnly"),
    F_STR_K(3, "fsType"),
    F_MAP_STR(4, "volumeAttributes"),
    F_MSG(5, "nodePublishSecretRef", k8s_pb_local_object_reference),
};
static K8S_PB_MESSAGE(csi_volume, "v1.CSIVolumeSource", csi_volume_fields, NULL);

static const pb_field volume_source_fields[] = {
    F_MSG(1, "hostPath", host_path),
    F_MSG(2, "emptyDir", empty_dir),
    F_MSG(6, "secret", secret_volume),
    F_MSG(7, "nfs", nfs_volume),
    F_MSG(10, "persistentVolumeClaim", pvc_volume),
    F_MSG(16, "downwardAPI", downward_api_volume),
    F_MSG(19, "configMap", config_map_volume),
    F_MSG(26, "projected", projected_volume),
    F_MSG(28, "csi", csi_volume),
};
static K8S_PB_MESSAGE(volume_source, "v1.VolumeSource", volume_source_fields, NULL);

static const pb_field volume_fields[] = {
    F_STR_K(1, "name"),
    F_INLINE(2, volume_source),
};
static K8S_PB_MESSAGE(volume, "v1.Volume", volume_fields, NULL);

/* ---- PodSpec and PodTemplateSpec ---------------------------------------------------------- */

static const pb_field pod_spec_fields[] = {
    F_MSGS(1, "volumes", volume),
    F_MSGS(20, "initContainers", container),
    F_MSGS(2, "containers", container),
    F_STR(3, "restartPolicy"),
    F_I64_K(4, "terminationGracePeriodSeconds"),
    F_I64_K(5, "activeDeadlineSeconds"),
    F_STR(6, "dnsPolicy"),
    F_MAP_STR(7, "nodeSelector"),
    F_STR(8, "serviceAccountName"),
    F_STR(9, "serviceAccount"),
    F_BOOL_K(21, "automountServiceAccountToken"),
    F_STR(10, "nodeName"),
    F_BOOL(11, "hostNetwork"),
    F_BOOL(12, "hostPID"),
    F_BOOL(13, "hostIPC"),
    F_BOOL_K(27, "shareProcessNamespace"),
    F_MSG(14, "securityContext", pod_security_context),
    F_MSGS(15, "imagePullSecrets", k8s_pb_local_object_reference),
    F_STR(16, "hostname"),
    F_STR(17, "subdomain"),
    F_MSG(18, "affinity", affinity),
    F_STR(19, "schedulerName"),
    F_MSGS(22, "tolerations", toleration),
    F_MSGS(23, "hostAliases", host_alias),
    F_STR(24, "priorityClassName"),
    F_I32_K(25, "priority"),
    F_MSG(26, "dnsConfig", pod_dns_config),
    F_MSGS(28, "readinessGates", pod_readiness_gate),
    F_STR_K(29, "runtimeClassName"),
    F_BOOL_K(30, "enableServiceLinks"),
    F_STR_K(31, "preemptionPolicy"),
    F_MAP(32, "overhead", k8s_pb_quantity),
    F_MSGS(33, "topologySpreadConstraints", topology_spread_constraint),
    F_BOOL_K(35, "setHostnameAsFQDN"),
    F_MSG(36, "os", pod_os),
    F_BOOL_K(37, "hostUsers"),
    F_MSGS(38, "schedulingGates", pod_scheduling_gate),
    F_MSG(40, "resources", resource_requirements),
};
static K8S_PB_MESSAGE(pod_spec, "v1.PodSpec", pod_spec_fields, NULL);

static const pb_field pod_template_spec_fields[] = {
    F_MSG(1, "metadata", k8s_pb_object_meta),
    F_MSG(2, "spec", pod_spec),
};
K8S_PB_MESSAGE(k8s_pb_pod_template_spec, "v1.PodTemplateSpec", pod_template_spec_fields, NULL);

/*
 * test_deployment.c - the apps/v1 Deployment strategy: kube's defaults (Deployment, pod
 * template, containers, the imagePullPolicy rule), validation with kube's field paths and
 * wording (the selector-mismatch 422 word for word), /status validation, the cells of
 * `kubectl get deploy -o wide`, the /scale selector, and hostile input.
 */
#include "api/builtin.h"

#include "common/alloc.h"
#include "common/apierr.h"
#include "common/json.h"

#include "api_testutil.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void setup(void)
{
    alloc_install_cjson_hooks();
}

TestSuite(deployment, .init = setup);

/* A valid Deployment as `kubectl create deployment web --image=nginx:1.27` sends it. */
#define VALID                                                                                      \
    "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"web\","          \
    "\"namespace\":\"default\",\"labels\":{\"app\":\"web\"}},\"spec\":{\"replicas\":2,"            \
    "\"selector\":{\"matchLabels\":{\"app\":\"web\"}},\"template\":{\"metadata\":{\"labels\":"     \
    "{\"app\":\"web\"}},\"spec\":{\"containers\":[{\"name\":\"nginx\",\"image\":"                  \
    "\"nginx:1.27\"}]}}}}"

/* VALID with the JSON value at a dotted path replaced (value NULL: removed). */
static cJSON *valid_with(const char *dotted, const char *value)
{
    cJSON *d = parse(VALID);
    if (!dotted)
        return d;
    char parent[256] = "";
    const char *dot = strrchr(dotted, '.');
    const char *key = dot ? dot + 1 : dotted;
    if (dot)
        snprintf(parent, sizeof parent, "%.*s", (int)(dot - dotted), dotted);
    cJSON *p = dot ? json_path(d, parent) : d;
    cr_assert(cJSON_IsObject(p), "no object at %s", parent);
    if (value)
        json_set_item(p, key, parse(value));
    else
        json_remove(p, key);
    return d;
}

/* Validates VALID with one value replaced (create), expecting exactly one cause. */
static void expect_cause(const char *dotted, const char *value, const char *reason,
                         const char *field, const char *msg)
{
    cJSON *d = valid_with(dotted, value);
    api_error err = API_ERROR_INIT;
    deployment_validate(d, NULL, &err);
    assert_cause(&err, reason, field, msg);
    apierr_clear(&err);
    cJSON_Delete(d);
}

static void expect_valid(const char *dotted, const char *value)
{
    cJSON *d = valid_with(dotted, value);
    api_error err = API_ERROR_INIT;
    deployment_validate(d, NULL, &err);
    assert_no_causes(&err);
    apierr_clear(&err);
    cJSON_Delete(d);
}

#define LABEL_REGEX_MSG                                                                            \
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and "   \
    "must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex "     \
    "used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"

/* ---- defaults ------------------------------------------------------------------------------ */

Test(deployment, default_fills_the_deployment_spec)
{
    cJSON *d = valid_with("spec.replicas", NULL);
    deployment_default(d);
    cr_expect_eq(num_at(d, "spec.replicas"), 1);
    cr_expect_str_eq(str_at(d, "spec.strategy.type"), "RollingUpdate");
    cr_expect_str_eq(str_at(d, "spec.strategy.rollingUpdate.maxUnavailable"), "25%");
    cr_expect_str_eq(str_at(d, "spec.strategy.rollingUpdate.maxSurge"), "25%");
    cr_expect_eq(num_at(d, "spec.revisionHistoryLimit"), 10);
    cr_expect_eq(num_at(d, "spec.progressDeadlineSeconds"), 600);
    cr_expect_null(json_path(d, "spec.minReadySeconds"), "kube leaves minReadySeconds unset");
    cJSON_Delete(d);
}

Test(deployment, default_keeps_set_values_and_zero_replicas)
{
    cJSON *d = valid_with("spec.replicas", "0");
    json_set_item(json_path(d, "spec"), "strategy", parse("{\"type\":\"Recreate\"}"));
    json_set_number(json_path(d, "spec"), "revisionHistoryLimit", 0);
    deployment_default(d);
    cr_expect_eq(num_at(d, "spec.replicas"), 0);
    cr_expect_str_eq(str_at(d, "spec.strategy.type"), "Recreate");
    cr_expect_null(json_path(d, "spec.strategy.rollingUpdate"), "only RollingUpdate gets one");
    cr_expect_eq(num_at(d, "spec.revisionHistoryLimit"), 0);
    cJSON_Delete(d);
}

Test(deployment, default_completes_a_partial_rolling_update)
{
    cJSON *d = valid_with("spec.strategy", "{\"rollingUpdate\":{\"maxSurge\":1}}");
    deployment_default(d);
    cr_expect_str_eq(str_at(d, "spec.strategy.type"), "RollingUpdate");
    cr_expect_eq(num_at(d, "spec.strategy.rollingUpdate.maxSurge"), 1);
    cr_expect_str_eq(str_at(d, "spec.strategy.rollingUpdate.maxUnavailable"), "25%");
    cJSON_Delete(d);
}

Test(deployment, default_fills_the_pod_spec)
{
    cJSON *d = parse(VALID);
    deployment_default(d);
    cr_expect_str_eq(str_at(d, "spec.template.spec.restartPolicy"), "Always");
    cr_expect_eq(num_at(d, "spec.template.spec.terminationGracePeriodSeconds"), 30);
    cr_expect_str_eq(str_at(d, "spec.template.spec.dnsPolicy"), "ClusterFirst");
    cr_expect_str_eq(str_at(d, "spec.template.spec.schedulerName"), "default-scheduler");
    const cJSON *sc = json_path(d, "spec.template.spec.securityContext");
    cr_expect(cJSON_IsObject(sc) && cJSON_GetArraySize(sc) == 0, "securityContext {}");
    cJSON_Delete(d);
}

Test(deployment, default_keeps_a_zero_grace_period)
{
    cJSON *d = valid_with("spec.template.spec.terminationGracePeriodSeconds", "0");
    deployment_default(d);
    cr_expect_eq(num_at(d, "spec.template.spec.terminationGracePeriodSeconds"), 0);
    cJSON_Delete(d);
}

Test(deployment, default_fills_containers_and_ports)
{
    cJSON *d = valid_with("spec.template.spec.containers",
                          "[{\"name\":\"a\",\"image\":\"nginx:1.27\",\"ports\":[{\"containerPort\":"
                          "80},{\"containerPort\":53,\"protocol\":\"UDP\"}]}]");
    deployment_default(d);
    const cJSON *c = cJSON_GetArrayItem(json_path(d, "spec.template.spec.containers"), 0);
    cr_expect_str_eq(str_at(c, "terminationMessagePath"), "/dev/termination-log");
    cr_expect_str_eq(str_at(c, "terminationMessagePolicy"), "File");
    cr_expect_str_eq(str_at(c, "imagePullPolicy"), "IfNotPresent");
    const cJSON *ports = json_path(c, "ports");
    cr_expect_str_eq(str_at(cJSON_GetArrayItem(ports, 0), "protocol"), "TCP");
    cr_expect_str_eq(str_at(cJSON_GetArrayItem(ports, 1), "protocol"), "UDP");
    cJSON_Delete(d);
}

Test(deployment, default_fills_init_containers)
{
    cJSON *d = valid_with("spec.template.spec.initContainers",
                          "[{\"name\":\"init\",\"image\":\"busybox\"}]");
    deployment_default(d);
    const cJSON *c = cJSON_GetArrayItem(json_path(d, "spec.template.spec.initContainers"), 0);
    cr_expect_str_eq(str_at(c, "imagePullPolicy"), "Always");
    cr_expect_str_eq(str_at(c, "terminationMessagePolicy"), "File");
    cJSON_Delete(d);
}

/* The pull policy kube defaults for a container with this image. */
static char *pull_policy_for(const char *image_json)
{
    char containers[512];
    snprintf(containers, sizeof containers, "[{\"name\":\"a\",\"image\":%s}]", image_json);
    cJSON *d = valid_with("spec.template.spec.containers", containers);
    deployment_default(d);
    const cJSON *c = cJSON_GetArrayItem(json_path(d, "spec.template.spec.containers"), 0);
    char *policy = xstrdup(str_at(c, "imagePullPolicy"));
    cJSON_Delete(d);
    return policy;
}

static void expect_pull_policy(const char *image_json, const char *want)
{
    char *got = pull_policy_for(image_json);
    cr_expect_str_eq(got, want, "image %s", image_json);
    free(got);
}

Test(deployment, pull_policy_always_without_a_tag)
{
    expect_pull_policy("\"nginx\"", "Always");
}

Test(deployment, pull_policy_always_for_latest)
{
    expect_pull_policy("\"nginx:latest\"", "Always");
}

Test(deployment, pull_policy_if_not_present_for_a_version_tag)
{
    expect_pull_policy("\"nginx:1.27\"", "IfNotPresent");
}

Test(deployment, pull_policy_if_not_present_for_a_digest)
{
    expect_pull_policy(
        "\"nginx@sha256:0d17b565c37bcbd895e9d92315a05c1c3c9a29f762b011a10c54a66cd53c9b31\"",
        "IfNotPresent");
}

Test(deployment, pull_policy_registry_port_is_not_a_tag)
{
    expect_pull_policy("\"localhost:5000/team/nginx\"", "Always");
    expect_pull_policy("\"registry.example.com:5000/nginx:1.2\"", "IfNotPresent");
}

Test(deployment, pull_policy_if_not_present_for_unparsable_or_missing_images)
{
    expect_pull_policy("\"NGINX\"", "IfNotPresent");
    expect_pull_policy("\"\"", "IfNotPresent");
    expect_pull_policy("42", "IfNotPresent");
}

Test(deployment, pull_policy_set_by_the_client_is_kept)
{
    cJSON *d = valid_with("spec.template.spec.containers",
                          "[{\"name\":\"a\",\"image\":\"nginx\",\"imagePullPolicy\":\"Never\"}]");
    deployment_default(d);
    const cJSON *c = cJSON_GetArrayItem(json_path(d, "spec.template.spec.containers"), 0);
    cr_expect_str_eq(str_at(c, "imagePullPolicy"), "Never");
    cJSON_Delete(d);
}

Test(deployment, default_fills_probes_and_http_get)
{
    cJSON *d = valid_with("spec.template.spec.containers",
                          "[{\"name\":\"a\",\"image\":\"nginx\",\"readinessProbe\":{\"httpGet\":"
                          "{\"port\":80}},\"livenessProbe\":{\"periodSeconds\":5,\"tcpSocket\":"
                          "{\"port\":80}},\"lifecycle\":{\"preStop\":{\"httpGet\":{\"port\":8080,"
                          "\"path\":\"/quit\"}}}}]");
    deployment_default(d);
    const cJSON *c = cJSON_GetArrayItem(json_path(d, "spec.template.spec.containers"), 0);
    cr_expect_eq(num_at(c, "readinessProbe.timeoutSeconds"), 1);
    cr_expect_eq(num_at(c, "readinessProbe.periodSeconds"), 10);
    cr_expect_eq(num_at(c, "readinessProbe.successThreshold"), 1);
    cr_expect_eq(num_at(c, "readinessProbe.failureThreshold"), 3);
    cr_expect_str_eq(str_at(c, "readinessProbe.httpGet.path"), "/");
    cr_expect_str_eq(str_at(c, "readinessProbe.httpGet.scheme"), "HTTP");
    cr_expect_eq(num_at(c, "livenessProbe.periodSeconds"), 5);
    cr_expect_str_eq(str_at(c, "lifecycle.preStop.httpGet.path"), "/quit");
    cr_expect_str_eq(str_at(c, "lifecycle.preStop.httpGet.scheme"), "HTTP");
    cr_expect_null(json_path(c, "startupProbe"), "no probe is invented");
    cJSON_Delete(d);
}

Test(deployment, default_fills_env_field_ref_api_version)
{
    cJSON *d = valid_with("spec.template.spec.containers",
                          "[{\"name\":\"a\",\"image\":\"nginx\",\"env\":[{\"name\":\"POD\","
                          "\"valueFrom\":{\"fieldRef\":{\"fieldPath\":\"metadata.name\"}}},"
                          "{\"name\":\"X\",\"value\":\"1\"}]}]");
    deployment_default(d);
    const cJSON *env =
        json_path(cJSON_GetArrayItem(json_path(d, "spec.template.spec.containers"), 0), "env");
    cr_expect_str_eq(str_at(cJSON_GetArrayItem(env, 0), "valueFrom.fieldRef.apiVersion"), "v1");
    cr_expect_null(json_path(cJSON_GetArrayItem(env, 1), "valueFrom"));
    cJSON_Delete(d);
}

Test(deployment, default_fills_volume_default_modes)
{
    cJSON *d = valid_with("spec.template.spec.volumes",
                          "[{\"name\":\"c\",\"configMap\":{\"name\":\"cfg\"}},{\"name\":\"s\","
                          "\"secret\":{\"secretName\":\"x\",\"defaultMode\":256}},{\"name\":\"e\","
                          "\"emptyDir\":{}}]");
    deployment_default(d);
    const cJSON *vols = json_path(d, "spec.template.spec.volumes");
    cr_expect_eq(num_at(cJSON_GetArrayItem(vols, 0), "configMap.defaultMode"), 420);
    cr_expect_eq(num_at(cJSON_GetArrayItem(vols, 1), "secret.defaultMode"), 256);
    cr_expect_null(json_path(cJSON_GetArrayItem(vols, 2), "emptyDir.defaultMode"));
    cJSON_Delete(d);
}

Test(deployment, default_creates_missing_spec_and_template)
{
    cJSON *d = parse("{\"metadata\":{\"name\":\"web\"}}");
    deployment_default(d);
    cr_expect_eq(num_at(d, "spec.replicas"), 1);
    cr_expect_str_eq(str_at(d, "spec.template.spec.restartPolicy"), "Always");
    cJSON_Delete(d);
}

Test(deployment, default_does_not_copy_template_labels)
{
    cJSON *d = valid_with("spec.selector", NULL);
    json_remove(json_path(d, "metadata"), "labels");
    deployment_default(d);
    cr_expect_null(json_path(d, "spec.selector"), "apps/v1 has no selector default");
    cr_expect_null(json_path(d, "metadata.labels"), "apps/v1 copies no labels");
    cJSON_Delete(d);
}

Test(deployment, default_is_idempotent)
{
    cJSON *once = parse(VALID);
    deployment_default(once);
    cJSON *twice = cJSON_Duplicate(once, 1);
    deployment_default(twice);
    cr_expect(json_equal(once, twice));
    cJSON_Delete(once);
    cJSON_Delete(twice);
}

/* ---- validation ---------------------------------------------------------------------------- */

Test(deployment, valid_deployment_has_no_causes_before_and_after_defaults)
{
    expect_valid(NULL, NULL);
    cJSON *d = parse(VALID);
    deployment_default(d);
    api_error err = API_ERROR_INIT;
    deployment_validate(d, NULL, &err);
    assert_no_causes(&err);
    apierr_clear(&err);
    cJSON_Delete(d);
}

Test(deployment, name_must_be_a_dns_subdomain)
{
    expect_valid("metadata.name", "\"web.v2\"");
    expect_cause("metadata.name", "\"Web\"", "FieldValueInvalid", "metadata.name",
                 "Invalid value: \"Web\": a lowercase RFC 1123 subdomain must consist of lower "
                 "case alphanumeric characters, '-' or '.', and must start and end with an "
                 "alphanumeric character (e.g. 'example.com', regex used for validation is "
                 "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')");
}

Test(deployment, selector_mismatch_is_a_422_in_kube_words)
{
    cJSON *d = valid_with("spec.template.metadata.labels", "{\"app\":\"other\",\"tier\":\"x\"}");
    api_error err = API_ERROR_INIT;
    deployment_validate(d, NULL, &err);
    cr_assert(apierr_finish_invalid(&err, DEPLOYMENT_KIND, DEPLOYMENT_GROUP, "web"));
    cr_expect_eq(err.code, 422);
    cr_expect_str_eq(err.reason, "Invalid");
    cr_expect_str_eq(err.message,
                     "Deployment.apps \"web\" is invalid: spec.template.metadata.labels: Invalid "
                     "value: map[string]string{\"app\":\"other\", \"tier\":\"x\"}: `selector` does "
                     "not match template `labels`");
    apierr_clear(&err);
    cJSON_Delete(d);
}

Test(deployment, selector_required_also_reports_the_mismatch_as_kube)
{
    cJSON *d = valid_with("spec.selector", NULL);
    api_error err = API_ERROR_INIT;
    deployment_validate(d, NULL, &err);
    cr_expect_eq(apierr_cause_count(&err), 2);
    assert_has_cause(&err, "spec.selector", "Required value");
    assert_has_cause(&err, "spec.template.metadata.labels",
                     "Invalid value: map[string]string{\"app\":\"web\"}: `selector` does not "
                     "match template `labels`");
    apierr_clear(&err);
    cJSON_Delete(d);
}

Test(deployment, template_without_labels_does_not_match)
{
    expect_cause("spec.template.metadata", "{}", "FieldValueInvalid",
                 "spec.template.metadata.labels",
                 "Invalid value: map[string]string(nil): `selector` does not match template "
                 "`labels`");
}

Test(deployment, empty_selector_is_invalid)
{
    expect_cause("spec.selector", "{}", "FieldValueInvalid", "spec.selector",
                 "Invalid value: v1.LabelSelector{MatchLabels:map[string]string(nil), "
                 "MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: empty selector is "
                 "invalid for deployment");
}

Test(deployment, match_expressions_select_the_template)
{
    expect_valid("spec.selector",
                 "{\"matchLabels\":{\"app\":\"web\"},\"matchExpressions\":[{\"key\":\"app\","
                 "\"operator\":\"In\",\"values\":[\"web\",\"api\"]},{\"key\":\"tier\","
                 "\"operator\":\"NotIn\",\"values\":[\"db\"]},{\"key\":\"app\",\"operator\":"
                 "\"Exists\"},{\"key\":\"legacy\",\"operator\":\"DoesNotExist\"}]}");
    expect_cause("spec.selector",
                 "{\"matchExpressions\":[{\"key\":\"app\",\"operator\":\"NotIn\",\"values\":"
                 "[\"web\"]}]}",
                 "FieldValueInvalid", "spec.template.metadata.labels",
                 "Invalid value: map[string]string{\"app\":\"web\"}: `selector` does not match "
                 "template `labels`");
}

Test(deployment, malformed_selector_is_an_invalid_label_selector)
{
    cJSON *d = valid_with("spec.selector", "{\"matchExpressions\":[{\"key\":\"app\",\"operator\":"
                                           "\"Like\",\"values\":[\"web\"]}]}");
    /* kube does not look at the template once the selector is malformed. */
    json_set_item(json_path(d, "spec.template.spec"), "containers", parse("[]"));
    api_error err = API_ERROR_INIT;
    deployment_validate(d, NULL, &err);
    cr_expect_eq(apierr_cause_count(&err), 2);
    assert_has_cause(&err, "spec.selector.matchExpressions[0].operator",
                     "Invalid value: \"Like\": not a valid selector operator");
    assert_has_cause(&err, "spec.selector",
                     "Invalid value: v1.LabelSelector{MatchLabels:map[string]string(nil), "
                     "MatchExpressions:[]v1.LabelSelectorRequirement{v1.LabelSelectorRequirement{"
                     "Key:\"app\", Operator:\"Like\", Values:[]string{\"web\"}}}}: invalid label "
                     "selector");
    apierr_clear(&err);
    cJSON_Delete(d);
}

Test(deployment, selector_expression_values_follow_the_operator)
{
    cJSON *d = valid_with("spec.selector",
                          "{\"matchLabels\":{\"app\":\"web\"},\"matchExpressions\":[{\"key\":"
                          "\"a\",\"operator\":\"In\",\"values\":[]},{\"key\":\"b\",\"operator\":"
                          "\"Exists\",\"values\":[\"x\"]}]}");
    api_error err = API_ERROR_INIT;
    deployment_validate(d, NULL, &err);
    assert_has_cause(&err, "spec.selector.matchExpressions[0].values",
                     "Required value: must be specified when `operator` is 'In' or 'NotIn'");
    assert_has_cause(&err, "spec.selector.matchExpressions[1].values",
                     "Forbidden: may not be specified when `operator` is 'Exists' or "
                     "'DoesNotExist'");
    apierr_clear(&err);
    cJSON_Delete(d);
}

Test(deployment, selector_is_immutable_on_update)
{
    cJSON *old = parse(VALID);
    cJSON *d = parse(VALID);
    json_set_item(json_path(d, "spec"), "selector",
                  parse("{\"matchLabels\":{\"app\":\"web\",\"v\":\"2\"}}"));
    json_set_item(json_path(d, "spec.template.metadata"), "labels",
                  parse("{\"app\":\"web\",\"v\":\"2\"}"));
    api_error err = API_ERROR_INIT;
    deployment_validate(d, old, &err);
    assert_cause(&err, "FieldValueInvalid", "spec.selector",
                 "Invalid value: v1.LabelSelector{MatchLabels:map[string]string{\"app\":\"web\", "
                 "\"v\":\"2\"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is "
                 "immutable");
    apierr_clear(&err);
    cJSON_Delete(d);
    cJSON_Delete(old);
}

Test(deployment, update_keeping_the_selector_is_valid)
{
    cJSON *old = parse(VALID);
    cJSON *d = parse(VALID);
    json_set_number(json_path(d, "spec"), "replicas", 5);
    json_set_string(cJSON_GetArrayItem(json_path(d, "spec.template.spec.containers"), 0), "image",
                    "nginx:1.28");
    api_error err = API_ERROR_INIT;
    deployment_validate(d, old, &err);
    assert_no_causes(&err);
    apierr_clear(&err);
    cJSON_Delete(d);
    cJSON_Delete(old);
}

Test(deployment, replicas_must_not_be_negative)
{
    expect_valid("spec.replicas", "0");
    expect_cause("spec.replicas", "-1", "FieldValueInvalid", "spec.replicas",
                 "Invalid value: -1: must be greater than or equal to 0");
}

Test(deployment, replicas_must_be_an_integer)
{
    expect_cause("spec.replicas", "\"3\"", "FieldValueTypeInvalid", "spec.replicas",
                 "Invalid value: \"string\": spec.replicas in body must be of type integer: "
                 "\"string\"");
    expect_cause("spec.replicas", "1.5", "FieldValueTypeInvalid", "spec.replicas",
                 "Invalid value: \"number\": spec.replicas in body must be of type integer: "
                 "\"number\"");
}

Test(deployment, containers_are_required)
{
    expect_cause("spec.template.spec.containers", "[]", "FieldValueRequired",
                 "spec.template.spec.containers", "Required value");
    expect_cause("spec.template.spec.containers", NULL, "FieldValueRequired",
                 "spec.template.spec.containers", "Required value");
}

Test(deployment, container_name_is_required)
{
    expect_cause("spec.template.spec.containers", "[{\"image\":\"nginx\"}]", "FieldValueRequired",
                 "spec.template.spec.containers[0].name", "Required value");
}

Test(deployment, container_name_must_be_a_dns_label)
{
    expect_cause("spec.template.spec.containers", "[{\"name\":\"Web_1\",\"image\":\"nginx\"}]",
                 "FieldValueInvalid", "spec.template.spec.containers[0].name",
                 "Invalid value: \"Web_1\": " LABEL_REGEX_MSG);
}

Test(deployment, container_names_must_be_unique)
{
    expect_cause("spec.template.spec.containers",
                 "[{\"name\":\"a\",\"image\":\"x\"},{\"name\":\"b\",\"image\":\"x\"},"
                 "{\"name\":\"a\",\"image\":\"y\"}]",
                 "FieldValueDuplicate", "spec.template.spec.containers[2].name",
                 "Duplicate value: \"a\"");
}

Test(deployment, init_container_names_must_differ_from_containers)
{
    expect_cause("spec.template.spec.initContainers", "[{\"name\":\"nginx\",\"image\":\"x\"}]",
                 "FieldValueDuplicate", "spec.template.spec.initContainers[0].name",
                 "Duplicate value: \"nginx\"");
}

Test(deployment, container_image_is_required)
{
    expect_cause("spec.template.spec.containers", "[{\"name\":\"a\",\"image\":\"\"}]",
                 "FieldValueRequired", "spec.template.spec.containers[0].image", "Required value");
}

Test(deployment, container_ports_are_checked)
{
    expect_cause("spec.template.spec.containers",
                 "[{\"name\":\"a\",\"image\":\"x\",\"ports\":[{\"containerPort\":70000}]}]",
                 "FieldValueInvalid", "spec.template.spec.containers[0].ports[0].containerPort",
                 "Invalid value: 70000: must be between 1 and 65535, inclusive");
    expect_cause("spec.template.spec.containers",
                 "[{\"name\":\"a\",\"image\":\"x\",\"ports\":[{\"name\":\"http\"}]}]",
                 "FieldValueRequired", "spec.template.spec.containers[0].ports[0].containerPort",
                 "Required value");
    expect_cause("spec.template.spec.containers",
                 "[{\"name\":\"a\",\"image\":\"x\",\"ports\":[{\"containerPort\":80,"
                 "\"protocol\":\"HTTP\"}]}]",
                 "FieldValueNotSupported", "spec.template.spec.containers[0].ports[0].protocol",
                 "Unsupported value: \"HTTP\": supported values: \"SCTP\", \"TCP\", \"UDP\"");
}

Test(deployment, container_pull_policy_must_be_known)
{
    expect_cause("spec.template.spec.containers",
                 "[{\"name\":\"a\",\"image\":\"x\",\"imagePullPolicy\":\"Sometimes\"}]",
                 "FieldValueNotSupported", "spec.template.spec.containers[0].imagePullPolicy",
                 "Unsupported value: \"Sometimes\": supported values: \"Always\", "
                 "\"IfNotPresent\", \"Never\"");
}

Test(deployment, container_env_names_are_required)
{
    expect_cause("spec.template.spec.containers",
                 "[{\"name\":\"a\",\"image\":\"x\",\"env\":[{\"value\":\"1\"}]}]",
                 "FieldValueRequired", "spec.template.spec.containers[0].env[0].name",
                 "Required value");
}

Test(deployment, restart_policy_must_be_always)
{
    expect_cause("spec.template.spec.restartPolicy", "\"OnFailure\"", "FieldValueNotSupported",
                 "spec.template.spec.restartPolicy",
                 "Unsupported value: \"OnFailure\": supported values: \"Always\"");
}

Test(deployment, dns_policy_must_be_known)
{
    expect_cause("spec.template.spec.dnsPolicy", "\"Google\"", "FieldValueNotSupported",
                 "spec.template.spec.dnsPolicy",
                 "Unsupported value: \"Google\": supported values: \"ClusterFirst\", "
                 "\"ClusterFirstWithHostNet\", \"Default\", \"None\"");
}

Test(deployment, template_labels_must_be_valid)
{
    cJSON *d = valid_with("spec.template.metadata.labels", "{\"app\":\"web\",\"bad\":\"a b\"}");
    api_error err = API_ERROR_INIT;
    deployment_validate(d, NULL, &err);
    assert_cause(&err, "FieldValueInvalid", "spec.template.metadata.labels",
                 "Invalid value: \"a b\": a valid label must be an empty string or consist of "
                 "alphanumeric characters, '-', '_' or '.', and must start and end with an "
                 "alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used "
                 "for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')");
    apierr_clear(&err);
    cJSON_Delete(d);
}

Test(deployment, strategy_type_must_be_known)
{
    expect_cause("spec.strategy", "{\"type\":\"BlueGreen\"}", "FieldValueNotSupported",
                 "spec.strategy",
                 "Unsupported value: \"BlueGreen\": supported values: \"Recreate\", "
                 "\"RollingUpdate\"");
}

Test(deployment, recreate_takes_no_rolling_update)
{
    expect_cause("spec.strategy", "{\"type\":\"Recreate\",\"rollingUpdate\":{}}",
                 "FieldValueForbidden", "spec.strategy.rollingUpdate",
                 "Forbidden: may not be specified when strategy `type` is 'Recreate'");
}

Test(deployment, rolling_update_may_not_be_all_zero)
{
    expect_valid("spec.strategy",
                 "{\"type\":\"RollingUpdate\",\"rollingUpdate\":{\"maxUnavailable\":0,"
                 "\"maxSurge\":\"10%\"}}");
    expect_cause("spec.strategy",
                 "{\"type\":\"RollingUpdate\",\"rollingUpdate\":{\"maxUnavailable\":\"0%\","
                 "\"maxSurge\":0}}",
                 "FieldValueInvalid", "spec.strategy.rollingUpdate.maxUnavailable",
                 "Invalid value: \"0%\": may not be 0 when `maxSurge` is 0");
}

Test(deployment, rolling_update_values_are_ints_or_percents)
{
    expect_cause("spec.strategy",
                 "{\"type\":\"RollingUpdate\",\"rollingUpdate\":{\"maxUnavailable\":\"half\","
                 "\"maxSurge\":1}}",
                 "FieldValueInvalid", "spec.strategy.rollingUpdate.maxUnavailable",
                 "Invalid value: \"half\": a valid percent string must be a numeric string "
                 "followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is "
                 "'[0-9]+%')");
    expect_cause("spec.strategy",
                 "{\"type\":\"RollingUpdate\",\"rollingUpdate\":{\"maxUnavailable\":\"150%\","
                 "\"maxSurge\":1}}",
                 "FieldValueInvalid", "spec.strategy.rollingUpdate.maxUnavailable",
                 "Invalid value: \"150%\": must not be greater than 100%");
    expect_cause("spec.strategy",
                 "{\"type\":\"RollingUpdate\",\"rollingUpdate\":{\"maxUnavailable\":1,"
                 "\"maxSurge\":true}}",
                 "FieldValueInvalid", "spec.strategy.rollingUpdate.maxSurge",
                 "Invalid value: true: must be an integer or percentage (e.g '5%%')");
}

Test(deployment, progress_deadline_must_exceed_min_ready_seconds)
{
    cJSON *d = valid_with("spec.minReadySeconds", "30");
    json_set_number(json_path(d, "spec"), "progressDeadlineSeconds", 30);
    api_error err = API_ERROR_INIT;
    deployment_validate(d, NULL, &err);
    assert_cause(&err, "FieldValueInvalid", "spec.progressDeadlineSeconds",
                 "Invalid value: 30: must be greater than minReadySeconds");
    apierr_clear(&err);
    cJSON_Delete(d);
}

Test(deployment, counts_of_the_spec_must_not_be_negative)
{
    expect_cause("spec.revisionHistoryLimit", "-2", "FieldValueInvalid",
                 "spec.revisionHistoryLimit",
                 "Invalid value: -2: must be greater than or equal to 0");
    expect_cause("spec.minReadySeconds", "-1", "FieldValueInvalid", "spec.minReadySeconds",
                 "Invalid value: -1: must be greater than or equal to 0");
}

/* ---- status -------------------------------------------------------------------------------- */

static void expect_status_cause(const char *status, const char *field, const char *msg)
{
    cJSON *d = valid_with("status", status);
    api_error err = API_ERROR_INIT;
    deployment_validate_status(d, &err);
    assert_cause(&err, "FieldValueInvalid", field, msg);
    apierr_clear(&err);
    cJSON_Delete(d);
}

Test(deployment, status_as_a_cluster_writes_it_is_valid)
{
    cJSON *d = valid_with("status", "{\"observedGeneration\":2,\"replicas\":3,\"updatedReplicas\":"
                                    "3,\"readyReplicas\":3,\"availableReplicas\":3,\"conditions\":"
                                    "[{\"type\":\"Available\",\"status\":\"True\"}]}");
    api_error err = API_ERROR_INIT;
    deployment_validate_status(d, &err);
    assert_no_causes(&err);
    apierr_clear(&err);
    cJSON_Delete(d);
}

Test(deployment, status_counts_must_not_be_negative)
{
    expect_status_cause("{\"replicas\":-1}", "status.replicas",
                        "Invalid value: -1: must be greater than or equal to 0");
}

Test(deployment, status_counts_may_not_exceed_replicas)
{
    expect_status_cause("{\"replicas\":1,\"updatedReplicas\":2}", "status.updatedReplicas",
                        "Invalid value: 2: cannot be greater than status.replicas");
    expect_status_cause("{\"replicas\":3,\"readyReplicas\":1,\"availableReplicas\":2}",
                        "status.availableReplicas",
                        "Invalid value: 2: cannot be greater than readyReplicas");
}

/* ---- cells and /scale ---------------------------------------------------------------------- */

static void expect_string_cell(cJSON *(*cell)(const cJSON *, int64_t), const char *json,
                               const char *want)
{
    cJSON *d = parse(json);
    cJSON *c = cell(d, 0);
    cr_assert(cJSON_IsString(c), "cell of %s is not a string", json);
    cr_expect_str_eq(c->valuestring, want, "for %s", json);
    cJSON_Delete(c);
    cJSON_Delete(d);
}

static void expect_number_cell(cJSON *(*cell)(const cJSON *, int64_t), const char *json,
                               double want)
{
    cJSON *d = parse(json);
    cJSON *c = cell(d, 0);
    cr_assert(cJSON_IsNumber(c), "cell of %s is not a number", json);
    cr_expect_eq(c->valuedouble, want, "for %s", json);
    cJSON_Delete(c);
    cJSON_Delete(d);
}

Test(deployment, ready_cell_is_ready_over_desired)
{
    expect_string_cell(deployment_cell_ready,
                       "{\"spec\":{\"replicas\":3},\"status\":{\"readyReplicas\":2}}", "2/3");
    expect_string_cell(deployment_cell_ready, "{\"spec\":{\"replicas\":3}}", "0/3");
    expect_string_cell(deployment_cell_ready, "{}", "0/0");
}

Test(deployment, up_to_date_and_available_cells_count_missing_as_zero)
{
    expect_number_cell(deployment_cell_up_to_date, "{\"status\":{\"updatedReplicas\":4}}", 4);
    expect_number_cell(deployment_cell_up_to_date, "{\"status\":{}}", 0);
    expect_number_cell(deployment_cell_available, "{\"status\":{\"availableReplicas\":1}}", 1);
    expect_number_cell(deployment_cell_available, "{}", 0);
}

Test(deployment, containers_and_images_cells_are_comma_joined)
{
    const char *d = "{\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"name\":\"web\","
                    "\"image\":\"nginx:1.27\"},{\"name\":\"log\",\"image\":\"busybox\"}]}}}}";
    expect_string_cell(deployment_cell_containers, d, "web,log");
    expect_string_cell(deployment_cell_images, d, "nginx:1.27,busybox");
    expect_string_cell(deployment_cell_images, "{}", "");
}

static void expect_selector(const char *selector_json, const char *want)
{
    char json[1024];
    snprintf(json, sizeof json, "{\"spec\":{\"selector\":%s}}", selector_json);
    expect_string_cell(deployment_cell_selector, json, want);
}

Test(deployment, selector_cell_prints_match_labels_sorted)
{
    expect_selector("{\"matchLabels\":{\"tier\":\"web\",\"app\":\"shop\"}}", "app=shop,tier=web");
}

Test(deployment, selector_cell_prints_match_expressions_as_kube)
{
    expect_selector("{\"matchLabels\":{\"app\":\"shop\"},\"matchExpressions\":[{\"key\":\"tier\","
                    "\"operator\":\"In\",\"values\":[\"web\",\"api\"]},{\"key\":\"env\","
                    "\"operator\":\"NotIn\",\"values\":[\"prod\"]},{\"key\":\"canary\","
                    "\"operator\":\"DoesNotExist\"},{\"key\":\"team\",\"operator\":\"Exists\"}]}",
                    "app=shop,!canary,env notin (prod),team,tier in (api,web)");
}

/* Kube's selectors keep In/NotIn values as sets, and sort requirements by key stably. */
Test(deployment, selector_cell_deduplicates_values_and_keeps_equal_keys_in_order)
{
    expect_selector("{\"matchLabels\":{\"app\":\"shop\"},\"matchExpressions\":[{\"key\":\"app\","
                    "\"operator\":\"Exists\"},{\"key\":\"tier\",\"operator\":\"In\","
                    "\"values\":[\"web\",\"api\",\"web\"]}]}",
                    "app=shop,app,tier in (api,web)");
}

Test(deployment, selector_cell_is_empty_or_invalid_as_kube)
{
    expect_selector("{}", "");
    expect_string_cell(deployment_cell_selector, "{\"spec\":{}}", "");
    expect_selector("{\"matchLabels\":{\"a b\":\"x\"}}", "<invalid>");
}

Test(deployment, scale_selector_is_the_selector_text)
{
    cJSON *d = parse(VALID);
    char *sel = deployment_scale_selector(d);
    cr_expect_str_eq(sel, "app=web");
    free(sel);
    json_set_item(json_path(d, "spec"), "selector", parse("{\"matchExpressions\":[{}]}"));
    cr_expect_null(deployment_scale_selector(d), "malformed selector");
    cJSON_Delete(d);
}

Test(deployment, age_cell_uses_the_creation_timestamp)
{
    cJSON *d = parse("{\"metadata\":{\"creationTimestamp\":\"2025-05-01T10:00:00Z\"}}");
    cJSON *c = api_cell_age(d, 1746093600 + 330);
    cr_expect_str_eq(c->valuestring, "5m30s");
    cJSON_Delete(c);
    c = api_cell_age(cJSON_GetObjectItem(d, "metadata"), 0);
    cr_expect_str_eq(c->valuestring, "<unknown>");
    cJSON_Delete(c);
    cJSON_Delete(d);
}

Test(deployment, columns_are_kubes)
{
    static const char *const names[] = {"Name", "Ready",      "Up-to-date", "Available",
                                        "Age",  "Containers", "Images",     "Selector"};
    for (int i = 0; i < DEPLOYMENT_NCOLUMNS; i++) {
        const api_column *c = &deployment_columns[i];
        cr_expect_str_eq(c->name, names[i]);
        cr_expect_eq(c->priority, i < 5 ? 0 : 1, "%s", c->name);
        cr_expect((c->path == NULL) != (c->cell == NULL), "%s: a path or a cell", c->name);
    }
    cr_expect_str_eq(deployment_columns[0].format, "name");
    cr_expect_eq(deployment_strategy.generation, API_GENERATION_SPEC_ANNOTATIONS);
    cr_expect_eq(deployment_strategy.columns, deployment_columns);
}

/* ---- hostile input ------------------------------------------------------------------------- */

/* Runs every function of the strategy on obj (and as the old object); nothing may crash. */
static void run_everything(const char *json)
{
    cJSON *obj = parse(json);
    cJSON *old = parse(VALID);
    api_error err = API_ERROR_INIT;
    deployment_validate(obj, NULL, &err);
    deployment_validate(obj, old, &err);
    deployment_validate(old, obj, &err);
    deployment_validate_status(obj, &err);
    apierr_clear(&err);
    for (int i = 0; i < DEPLOYMENT_NCOLUMNS; i++) {
        if (deployment_columns[i].cell) {
            cJSON *c = deployment_columns[i].cell(obj, 0);
            cr_assert_not_null(c);
            cJSON_Delete(c);
        }
    }
    free(deployment_scale_selector(obj));
    deployment_default(obj);
    deployment_validate(obj, NULL, &err);
    apierr_clear(&err);
    cJSON_Delete(old);
    cJSON_Delete(obj);
}

Test(deployment, wrong_types_everywhere_are_reported_not_fatal)
{
    static const char *const inputs[] = {
        "null",
        "[]",
        "\"deployment\"",
        "42",
        "{\"metadata\":[],\"spec\":\"x\",\"status\":7}",
        "{\"spec\":{\"replicas\":{},\"selector\":[1],\"template\":\"t\",\"strategy\":[]}}",
        "{\"spec\":{\"selector\":{\"matchLabels\":[],\"matchExpressions\":{}},\"template\":"
        "{\"metadata\":\"m\",\"spec\":[]}}}",
        "{\"spec\":{\"selector\":{\"matchLabels\":{\"a\":1},\"matchExpressions\":[1,{\"key\":2,"
        "\"operator\":[],\"values\":\"v\"}]}}}",
        "{\"spec\":{\"template\":{\"metadata\":{\"labels\":{\"a\":{}}},\"spec\":{\"containers\":"
        "{\"a\":1},\"initContainers\":\"x\",\"volumes\":{}}}}}",
        "{\"spec\":{\"template\":{\"spec\":{\"containers\":[1,\"c\",[],{\"name\":7,\"image\":[],"
        "\"ports\":{\"p\":1},\"env\":[1,{\"name\":{}}],\"imagePullPolicy\":3,"
        "\"readinessProbe\":\"p\",\"lifecycle\":[],\"terminationMessagePolicy\":false}]}}}}",
        "{\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"ports\":[1,{\"containerPort\":"
        "\"80\",\"protocol\":{}}]}],\"restartPolicy\":1,\"dnsPolicy\":[]}}}}",
        "{\"spec\":{\"strategy\":{\"type\":1,\"rollingUpdate\":\"r\"}}}",
        "{\"spec\":{\"strategy\":{\"type\":\"RollingUpdate\",\"rollingUpdate\":{\"maxSurge\":"
        "[],\"maxUnavailable\":1e300}}}}",
        "{\"spec\":{\"replicas\":1e300,\"minReadySeconds\":-1e300,\"progressDeadlineSeconds\":"
        "\"x\",\"paused\":\"yes\"}}",
        "{\"status\":{\"replicas\":\"3\",\"readyReplicas\":-1e30,\"conditions\":{\"a\":1}}}",
    };
    for (size_t i = 0; i < sizeof inputs / sizeof inputs[0]; i++)
        run_everything(inputs[i]);
}

Test(deployment, wrong_types_are_causes_with_the_schema_wording)
{
    expect_cause("spec.template.spec.containers", "{\"a\":1}", "FieldValueTypeInvalid",
                 "spec.template.spec.containers",
                 "Invalid value: \"object\": spec.template.spec.containers in body must be of "
                 "type array: \"object\"");
    expect_cause("spec.template", "\"t\"", "FieldValueTypeInvalid", "spec.template",
                 "Invalid value: \"string\": spec.template in body must be of type object: "
                 "\"string\"");
}

Test(deployment, huge_and_deep_input_is_handled)
{
    /* 1 MB container name, 10 000 containers, a selector of 10 000 labels, deep nesting. */
    size_t big = 1 << 20;
    char *name = xmalloc(big + 1);
    memset(name, 'a', big);
    name[big] = '\0';
    cJSON *d = parse(VALID);
    cJSON *containers = cJSON_CreateArray();
    for (int i = 0; i < 10000; i++) {
        cJSON *c = cJSON_CreateObject();
        cJSON_AddStringToObject(c, "name", i == 0 ? name : "same");
        cJSON_AddStringToObject(c, "image", "nginx");
        cJSON_AddItemToArray(containers, c);
    }
    json_set_item(json_path(d, "spec.template.spec"), "containers", containers);
    cJSON *ml = cJSON_CreateObject();
    for (int i = 0; i < 10000; i++) {
        char k[32];
        snprintf(k, sizeof k, "k%d", i);
        cJSON_AddStringToObject(ml, k, "v");
    }
    json_set_item(json_path(d, "spec.selector"), "matchLabels", ml);
    cJSON *deep = cJSON_CreateObject(), *cur = deep;
    for (int i = 0; i < 900; i++) {
        cJSON *next = cJSON_CreateObject();
        cJSON_AddItemToObject(cur, "x", next);
        cur = next;
    }
    json_set_item(cJSON_GetArrayItem(containers, 1), "readinessProbe", deep);
    deployment_default(d);
    api_error err = API_ERROR_INIT;
    deployment_validate(d, NULL, &err);
    cr_expect_gt(apierr_cause_count(&err), 1, "too long name, duplicates, mismatch");
    apierr_clear(&err);
    free(deployment_scale_selector(d));
    cJSON_Delete(d);
    free(name);
}

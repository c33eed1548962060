/* The Deployment a Foo implies, the drift check and the repair (api/foo_deployment.h). */
#include "api/foo_deployment.h"
#include "api_testutil.h"

#include "common/alloc.h"
#include "common/json.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void setup(void)
{
    alloc_install_cjson_hooks();
}

TestSuite(foo_deployment, .init = setup);

#define FOO_EXAMPLE                                                                                \
    "{\"apiVersion\":\"demo.example.com/v1beta1\",\"kind\":\"Foo\",\"metadata\":{\"name\":"        \
    "\"foo-example\",\"uid\":\"u-1\",\"generation\":3,\"resourceVersion\":\"7\"},\"spec\":{"       \
    "\"deploymentName\":\"web\",\"namespace\":\"apps\",\"replicas\":3,\"image\":\"nginx:1.27\"}}"

/* The Deployment FOO_EXAMPLE implies, every field of docs/design.md §2. */
#define DESIRED_EXAMPLE                                                                            \
    "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"web\","          \
    "\"namespace\":\"apps\",\"labels\":{\"app.kubernetes.io/name\":\"foo\","                       \
    "\"app.kubernetes.io/instance\":\"foo-example\",\"app.kubernetes.io/managed-by\":"             \
    "\"foo-controller-manager\"},\"ownerReferences\":[{\"apiVersion\":\"demo.example.com/"         \
    "v1beta1\","                                                                                   \
    "\"kind\":\"Foo\",\"name\":\"foo-example\",\"uid\":\"u-1\",\"controller\":true,"               \
    "\"blockOwnerDeletion\":true}]},\"spec\":{\"replicas\":3,\"selector\":{\"matchLabels\":{"      \
    "\"demo.example.com/foo\":\"foo-example\"}},\"template\":{\"metadata\":{\"labels\":{"          \
    "\"demo.example.com/foo\":\"foo-example\"}},\"spec\":{\"containers\":[{\"name\":\"app\","      \
    "\"image\":\"nginx:1.27\"}]}}}}"

Test(foo_deployment, desired_has_every_field_of_the_design)
{
    cJSON *foo = parse(FOO_EXAMPLE);
    cJSON *d = foo_desired_deployment(foo);
    cr_assert_not_null(d);
    expect_json(d, DESIRED_EXAMPLE);
    cJSON_Delete(d);
    cJSON_Delete(foo);
}

Test(foo_deployment, desired_reads_missing_spec_fields_as_their_defaults)
{
    cJSON *foo = parse("{\"metadata\":{\"name\":\"bare\",\"uid\":\"u-2\"}}");
    cJSON *d = foo_desired_deployment(foo);
    cr_assert_str_eq(json_path_string(d, "metadata.name"), "bare");
    cr_assert_str_eq(json_path_string(d, "metadata.namespace"), "default");
    cr_assert_eq(cJSON_GetNumberValue(json_path(d, "spec.replicas")), 1);
    cJSON *c = cJSON_GetArrayItem(json_path(d, "spec.template.spec.containers"), 0);
    cr_assert_str_eq(json_path_string(c, "image"), "nginx:1.27");
    cr_assert_str_eq(foo_deployment_name(foo), "bare");
    cr_assert_str_eq(foo_deployment_namespace(foo), "default");
    cr_assert_eq(foo_spec_replicas(foo), 1);
    cJSON_Delete(d);
    cJSON_Delete(foo);
}

Test(foo_deployment, desired_carries_the_restart_annotation_only_when_restarted_at_is_set)
{
    cJSON *foo = parse(FOO_EXAMPLE);
    json_set_string(json_path(foo, "spec"), "restartedAt", "2026-02-03T04:05:06Z");
    cJSON *d = foo_desired_deployment(foo);
    const cJSON *ann = json_path(d, "spec.template.metadata.annotations");
    cr_assert_str_eq(
        cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(ann, "demo.example.com/restartedAt")),
        "2026-02-03T04:05:06Z");
    cJSON_Delete(d);
    json_set_string(json_path(foo, "spec"), "restartedAt", "");
    d = foo_desired_deployment(foo);
    cr_assert_null(json_path(d, "spec.template.metadata.annotations"));
    cJSON_Delete(d);
    cJSON_Delete(foo);
}

Test(foo_deployment, desired_needs_a_name_and_a_uid)
{
    cJSON *foo = parse("{\"metadata\":{\"name\":\"x\"}}");
    cr_assert_null(foo_desired_deployment(foo));
    cJSON_Delete(foo);
    foo = parse("{\"metadata\":{\"uid\":\"u\"}}");
    cr_assert_null(foo_desired_deployment(foo));
    cJSON_Delete(foo);
}

Test(foo_deployment, selector_string_names_the_foo)
{
    cJSON *foo = parse(FOO_EXAMPLE);
    char *s = foo_selector_string(foo);
    cr_assert_str_eq(s, "demo.example.com/foo=foo-example");
    free(s);
    cJSON_Delete(foo);
}

/* The desired Deployment as a server would return it: defaults, extra labels, status. */
static cJSON *defaulted(const cJSON *desired)
{
    cJSON *d = cJSON_Duplicate(desired, true);
    cJSON *meta = json_path(d, "metadata");
    json_set_string(meta, "resourceVersion", "42");
    json_set_string(meta, "uid", "dep-uid");
    json_set_number(meta, "generation", 1);
    json_set_string(json_path(meta, "labels"), "team", "blue");
    json_set_string(json_ensure_object(meta, "annotations"), "deployment.kubernetes.io/revision",
                    "1");
    cJSON *spec = json_path(d, "spec");
    json_set_number(spec, "revisionHistoryLimit", 10);
    json_set_number(spec, "progressDeadlineSeconds", 600);
    json_set_item(spec, "strategy",
                  parse("{\"type\":\"RollingUpdate\",\"rollingUpdate\":{\"maxUnavailable\":\"25%\","
                        "\"maxSurge\":\"25%\"}}"));
    json_set_string(json_path(d, "spec.template.spec"), "restartPolicy", "Always");
    json_set_string(json_path(d, "spec.template.spec"), "dnsPolicy", "ClusterFirst");
    cJSON *c = cJSON_GetArrayItem(json_path(d, "spec.template.spec.containers"), 0);
    json_set_string(c, "imagePullPolicy", "IfNotPresent");
    json_set_string(c, "terminationMessagePath", "/dev/termination-log");
    json_set_item(d, "status", parse("{\"observedGeneration\":1,\"replicas\":3}"));
    return d;
}

/* A fixture: desired of FOO_EXAMPLE and its defaulted twin. */
static cJSON *g_foo, *g_desired, *g_actual;

static void with_pair(void)
{
    alloc_install_cjson_hooks();
    g_foo = parse(FOO_EXAMPLE);
    g_desired = foo_desired_deployment(g_foo);
    g_actual = defaulted(g_desired);
}

static void free_pair(void)
{
    cJSON_Delete(g_actual);
    cJSON_Delete(g_desired);
    cJSON_Delete(g_foo);
}

TestSuite(drift, .init = with_pair, .fini = free_pair);

Test(drift, the_desired_deployment_itself_is_not_drifted)
{
    cr_assert_not(foo_deployment_drifted(g_desired, g_desired));
}

Test(drift, server_defaults_and_other_labels_are_not_drift)
{
    cr_assert_not(foo_deployment_drifted(g_desired, g_actual));
}

Test(drift, absent_replicas_read_as_the_servers_default_one)
{
    json_set_number(json_path(g_desired, "spec"), "replicas", 1);
    json_remove(json_path(g_actual, "spec"), "replicas");
    cr_assert_not(foo_deployment_drifted(g_desired, g_actual));
    json_set_number(json_path(g_desired, "spec"), "replicas", 2);
    cr_assert(foo_deployment_drifted(g_desired, g_actual));
}

Test(drift, a_missing_deployment_is_drifted)
{
    cr_assert(foo_deployment_drifted(g_desired, NULL));
}

Test(drift, replicas_changed_by_hand)
{
    json_set_number(json_path(g_actual, "spec"), "replicas", 5);
    cr_assert(foo_deployment_drifted(g_desired, g_actual));
}

Test(drift, image_changed_by_hand)
{
    cJSON *c = cJSON_GetArrayItem(json_path(g_actual, "spec.template.spec.containers"), 0);
    json_set_string(c, "image", "nginx:latest");
    cr_assert(foo_deployment_drifted(g_desired, g_actual));
}

Test(drift, app_container_renamed)
{
    cJSON *c = cJSON_GetArrayItem(json_path(g_actual, "spec.template.spec.containers"), 0);
    json_set_string(c, "name", "other");
    cr_assert(foo_deployment_drifted(g_desired, g_actual));
}

Test(drift, one_of_our_labels_changed_or_removed)
{
    json_set_string(json_path(g_actual, "metadata.labels"), "app.kubernetes.io/instance", "x");
    cr_assert(foo_deployment_drifted(g_desired, g_actual));
    json_remove(json_path(g_actual, "metadata.labels"), "app.kubernetes.io/instance");
    cr_assert(foo_deployment_drifted(g_desired, g_actual));
}

Test(drift, selector_changed)
{
    json_set_item(json_path(g_actual, "spec.selector"), "matchExpressions",
                  parse("[{\"key\":\"a\",\"operator\":\"Exists\"}]"));
    cr_assert(foo_deployment_drifted(g_desired, g_actual));
}

Test(drift, template_label_removed)
{
    json_remove(json_path(g_actual, "spec.template.metadata.labels"), "demo.example.com/foo");
    cr_assert(foo_deployment_drifted(g_desired, g_actual));
}

Test(drift, restart_annotation_added_removed_or_changed)
{
    cJSON *tmeta = json_path(g_actual, "spec.template.metadata");
    json_set_string(json_ensure_object(tmeta, "annotations"), "demo.example.com/restartedAt", "t1");
    cr_assert(foo_deployment_drifted(g_desired, g_actual), "added by hand");
    cJSON *dmeta = json_path(g_desired, "spec.template.metadata");
    json_set_string(json_ensure_object(dmeta, "annotations"), "demo.example.com/restartedAt", "t2");
    cr_assert(foo_deployment_drifted(g_desired, g_actual), "changed");
    json_set_string(json_path(tmeta, "annotations"), "demo.example.com/restartedAt", "t2");
    cr_assert_not(foo_deployment_drifted(g_desired, g_actual), "equal");
    json_remove(tmeta, "annotations");
    cr_assert(foo_deployment_drifted(g_desired, g_actual), "removed by hand");
}

Test(drift, repair_sets_every_checked_field_and_keeps_the_rest)
{
    cJSON *spec = json_path(g_actual, "spec");
    json_set_number(spec, "replicas", 9);
    json_set_item(spec, "selector", parse("{\"matchLabels\":{\"x\":\"y\"}}"));
    cJSON *c = cJSON_GetArrayItem(json_path(spec, "template.spec.containers"), 0);
    json_set_string(c, "image", "busybox");
    json_remove(json_path(g_actual, "metadata.labels"), "app.kubernetes.io/managed-by");
    json_remove(json_path(spec, "template.metadata.labels"), "demo.example.com/foo");
    json_set_string(json_ensure_object(json_path(spec, "template.metadata"), "annotations"),
                    "demo.example.com/restartedAt", "t1");
    cJSON *u = foo_deployment_updated(g_desired, g_actual);
    cr_assert_not(foo_deployment_drifted(g_desired, u));
    cr_assert_str_eq(json_path_string(u, "metadata.resourceVersion"), "42");
    cr_assert_str_eq(json_path_string(u, "metadata.labels.team"), "blue");
    cr_assert_eq(cJSON_GetNumberValue(json_path(u, "spec.revisionHistoryLimit")), 10);
    cr_assert_eq(cJSON_GetNumberValue(json_path(u, "status.replicas")), 3);
    cJSON *uc = cJSON_GetArrayItem(json_path(u, "spec.template.spec.containers"), 0);
    cr_assert_str_eq(json_path_string(uc, "imagePullPolicy"), "IfNotPresent");
    cr_assert_null(json_path(u, "spec.template.metadata.annotations"),
                   "an annotation map emptied by the repair is removed");
    cJSON_Delete(u);
}

Test(drift, repair_replaces_the_containers_when_app_is_missing)
{
    cJSON *c = cJSON_GetArrayItem(json_path(g_actual, "spec.template.spec.containers"), 0);
    json_set_string(c, "name", "renamed");
    cJSON *u = foo_deployment_updated(g_desired, g_actual);
    cr_assert_not(foo_deployment_drifted(g_desired, u));
    cr_assert_eq(cJSON_GetArraySize(json_path(u, "spec.template.spec.containers")), 1);
    cJSON_Delete(u);
}

Test(drift, repair_leaves_its_inputs_alone)
{
    json_set_number(json_path(g_actual, "spec"), "replicas", 9);
    cJSON *before = cJSON_Duplicate(g_actual, true);
    cJSON *u = foo_deployment_updated(g_desired, g_actual);
    cr_assert(json_equal(before, g_actual));
    cJSON_Delete(u);
    cJSON_Delete(before);
}

/* ---- ownership ----------------------------------------------------------------------------- */

static cJSON *owned_by(const char *api_version, const char *kind, const char *uid, bool controller)
{
    char text[512];
    snprintf(text, sizeof text,
             "{\"metadata\":{\"name\":\"web\",\"ownerReferences\":[{\"apiVersion\":\"%s\","
             "\"kind\":\"%s\",\"name\":\"foo-example\",\"uid\":\"%s\",\"controller\":%s}]}}",
             api_version, kind, uid, controller ? "true" : "false");
    return parse(text);
}

Test(foo_deployment, controlled_by_the_foo_with_that_uid_in_any_version_of_our_group)
{
    cJSON *d = owned_by("demo.example.com/v1beta1", "Foo", "u-1", true);
    cr_assert(foo_deployment_controlled_by(d, "u-1"));
    cr_assert_not(foo_deployment_controlled_by(d, "u-2"));
    cr_assert_not(foo_deployment_controlled_by(d, ""));
    cJSON_Delete(d);
    d = owned_by("demo.example.com/v1", "Foo", "u-1", true);
    cr_assert(foo_deployment_controlled_by(d, "u-1"));
    cJSON_Delete(d);
}

Test(foo_deployment, not_controlled_by_another_kind_group_or_a_plain_owner)
{
    cJSON *d = owned_by("other.example.com/v1beta1", "Foo", "u-1", true);
    cr_assert_not(foo_deployment_controlled_by(d, "u-1"));
    cJSON_Delete(d);
    d = owned_by("demo.example.com/v1beta1", "Bar", "u-1", true);
    cr_assert_not(foo_deployment_controlled_by(d, "u-1"));
    cJSON_Delete(d);
    d = owned_by("demo.example.com/v1beta1", "Foo", "u-1", false);
    cr_assert_not(foo_deployment_controlled_by(d, "u-1"));
    cJSON_Delete(d);
    d = owned_by("demo.example.comx/v1", "Foo", "u-1", true);
    cr_assert_not(foo_deployment_controlled_by(d, "u-1"));
    cJSON_Delete(d);
    cr_assert_not(foo_deployment_controlled_by(NULL, "u-1"));
}

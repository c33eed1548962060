/*
 * test_foo.c - Foo defaulting, validation (exact kube-style causes), immutability, status
 * validation and the unknown-field check.
 */
#include "api/foo.h"

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

TestSuite(foo, .init = setup);

/* A Foo with every spec field set and valid. */
#define VALID_FOO                                                                                  \
    "{\"apiVersion\":\"demo.example.com/v1beta1\",\"kind\":\"Foo\",\"metadata\":{\"name\":"        \
    "\"foo-a\"},\"spec\":{\"deploymentName\":\"foo-a\",\"namespace\":\"default\",\"replicas\":1,"  \
    "\"image\":\"nginx:1.27\"}}"

/* Parses json, sets spec.<key> to the JSON value `value` (NULL: removes it), validates. */
static void validate_with_spec(const char *key, const char *value, api_error *err)
{
    cJSON *foo = parse(VALID_FOO);
    cJSON *spec = cJSON_GetObjectItem(foo, "spec");
    if (value)
        json_set_item(spec, key, parse(value));
    else
        json_remove(spec, key);
    foo_validate(foo, NULL, err);
    cJSON_Delete(foo);
}

static void expect_spec_cause(const char *key, const char *value, const char *reason,
                              const char *field, const char *msg)
{
    api_error err = API_ERROR_INIT;
    validate_with_spec(key, value, &err);
    assert_cause(&err, reason, field, msg);
    apierr_clear(&err);
}

static void expect_spec_valid(const char *key, const char *value)
{
    api_error err = API_ERROR_INIT;
    validate_with_spec(key, value, &err);
    assert_no_causes(&err);
    apierr_clear(&err);
}

#define LABEL_REGEX_MSG                                                                            \
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and "   \
    "must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex "     \
    "used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
#define SUBDOMAIN_REGEX_MSG                                                                        \
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or "   \
    "'.', and must start and end with an alphanumeric character (e.g. 'example.com', regex "       \
    "used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
#define QNAME_BODY                                                                                 \
    "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "    \
    "alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for "         \
    "validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"

/* ---- defaulting ---------------------------------------------------------------------------- */

Test(foo, default_fills_every_unset_spec_field)
{
    cJSON *foo = parse("{\"metadata\":{\"name\":\"web\"},\"spec\":{}}");
    foo_default(foo);
    cr_assert_str_eq(json_path_string(foo, "spec.deploymentName"), "web");
    cr_assert_str_eq(json_path_string(foo, "spec.namespace"), FOO_DEFAULT_NAMESPACE);
    cr_assert_str_eq(json_path_string(foo, "spec.image"), FOO_DEFAULT_IMAGE);
    cr_assert_eq(json_path(foo, "spec.replicas")->valuedouble, FOO_DEFAULT_REPLICAS);
    cr_assert_null(json_path(foo, "spec.restartedAt"), "restartedAt has no default");
    cJSON_Delete(foo);
}

Test(foo, default_creates_missing_spec)
{
    cJSON *foo = parse("{\"metadata\":{\"name\":\"web\"}}");
    foo_default(foo);
    cr_assert_str_eq(json_path_string(foo, "spec.deploymentName"), "web");
    cr_assert_eq(json_path(foo, "spec.replicas")->valuedouble, 1);
    cJSON_Delete(foo);
}

Test(foo, default_keeps_values_already_set_including_zero_replicas)
{
    cJSON *foo = parse("{\"metadata\":{\"name\":\"web\"},\"spec\":{\"deploymentName\":\"d\","
                       "\"namespace\":\"prod\",\"replicas\":0,\"image\":\"busybox\"}}");
    foo_default(foo);
    cr_assert_str_eq(json_path_string(foo, "spec.deploymentName"), "d");
    cr_assert_str_eq(json_path_string(foo, "spec.namespace"), "prod");
    cr_assert_str_eq(json_path_string(foo, "spec.image"), "busybox");
    cr_assert_eq(json_path(foo, "spec.replicas")->valuedouble, 0);
    cJSON_Delete(foo);
}

Test(foo, default_treats_null_and_empty_string_as_unset)
{
    cJSON *foo = parse("{\"metadata\":{\"name\":\"web\"},\"spec\":{\"deploymentName\":\"\","
                       "\"namespace\":null,\"replicas\":null,\"image\":\"\"}}");
    foo_default(foo);
    cr_assert_str_eq(json_path_string(foo, "spec.deploymentName"), "web");
    cr_assert_str_eq(json_path_string(foo, "spec.namespace"), "default");
    cr_assert_str_eq(json_path_string(foo, "spec.image"), "nginx:1.27");
    cr_assert_eq(json_path(foo, "spec.replicas")->valuedouble, 1);
    cJSON_Delete(foo);
}

Test(foo, default_leaves_a_non_object_spec_for_validation_to_report)
{
    cJSON *foo = parse("{\"metadata\":{\"name\":\"web\"},\"spec\":\"x\"}");
    foo_default(foo);
    cr_assert_str_eq(json_path_string(foo, "spec"), "x");
    api_error err = API_ERROR_INIT;
    foo_validate(foo, NULL, &err);
    assert_cause(&err, "FieldValueTypeInvalid", "spec",
                 "Invalid value: \"string\": spec in body must be of type object: \"string\"");
    apierr_clear(&err);
    cJSON_Delete(foo);
}

Test(foo, defaulted_minimal_foo_is_valid)
{
    cJSON *foo = parse("{\"metadata\":{\"name\":\"web\"}}");
    foo_default(foo);
    api_error err = API_ERROR_INIT;
    foo_validate(foo, NULL, &err);
    assert_no_causes(&err);
    cJSON_Delete(foo);
}

/* ---- spec.replicas ------------------------------------------------------------------------- */

Test(foo, replicas_below_zero_is_invalid)
{
    expect_spec_cause("replicas", "-1", "FieldValueInvalid", "spec.replicas",
                      "Invalid value: -1: must be greater than or equal to 0");
}

Test(foo, replicas_above_1000_is_invalid)
{
    expect_spec_cause("replicas", "1001", "FieldValueInvalid", "spec.replicas",
                      "Invalid value: 1001: must be less than or equal to 1000");
}

Test(foo, replicas_bounds_are_inclusive)
{
    expect_spec_valid("replicas", "0");
    expect_spec_valid("replicas", "1000");
}

Test(foo, replicas_with_a_fraction_is_type_invalid)
{
    expect_spec_cause(
        "replicas", "1.5", "FieldValueTypeInvalid", "spec.replicas",
        "Invalid value: \"number\": spec.replicas in body must be of type integer: \"number\"");
}

Test(foo, replicas_of_string_type_is_type_invalid)
{
    expect_spec_cause(
        "replicas", "\"3\"", "FieldValueTypeInvalid", "spec.replicas",
        "Invalid value: \"string\": spec.replicas in body must be of type integer: \"string\"");
}

Test(foo, replicas_missing_is_required)
{
    expect_spec_cause("replicas", NULL, "FieldValueRequired", "spec.replicas", "Required value");
}

/* ---- spec.image ---------------------------------------------------------------------------- */

Test(foo, image_empty_is_required)
{
    expect_spec_cause("image", "\"\"", "FieldValueRequired", "spec.image", "Required value");
}

Test(foo, image_with_whitespace_is_invalid_and_quoted_like_go)
{
    expect_spec_cause("image", "\"a b\"", "FieldValueInvalid", "spec.image",
                      "Invalid value: \"a b\": must not contain whitespace");
    expect_spec_cause("image", "\"nginx\\t\"", "FieldValueInvalid", "spec.image",
                      "Invalid value: \"nginx\\t\": must not contain whitespace");
}

Test(foo, image_longer_than_512_bytes_is_too_long)
{
    char value[520];
    value[0] = '"';
    memset(value + 1, 'a', 513);
    strcpy(value + 514, "\"");
    expect_spec_cause("image", value, "FieldValueTooLong", "spec.image",
                      "Too long: may not be more than 512 bytes");
    strcpy(value + 513, "\""); /* exactly 512 */
    expect_spec_valid("image", value);
}

Test(foo, image_of_wrong_type_is_type_invalid)
{
    expect_spec_cause(
        "image", "{}", "FieldValueTypeInvalid", "spec.image",
        "Invalid value: \"object\": spec.image in body must be of type string: \"object\"");
}

/* ---- spec.deploymentName, spec.namespace --------------------------------------------------- */

Test(foo, deployment_name_must_be_a_dns1123_label)
{
    expect_spec_cause("deploymentName", "\"My_App\"", "FieldValueInvalid", "spec.deploymentName",
                      "Invalid value: \"My_App\": " LABEL_REGEX_MSG);
    expect_spec_cause("deploymentName", "\"a.b\"", "FieldValueInvalid", "spec.deploymentName",
                      "Invalid value: \"a.b\": " LABEL_REGEX_MSG);
}

Test(foo, deployment_name_longer_than_63_is_invalid)
{
    char value[80] = "\"";
    memset(value + 1, 'a', 64);
    strcpy(value + 65, "\"");
    char msg[160];
    snprintf(msg, sizeof msg, "Invalid value: %s: must be no more than 63 characters", value);
    expect_spec_cause("deploymentName", value, "FieldValueInvalid", "spec.deploymentName", msg);
}

Test(foo, deployment_name_missing_without_defaults_is_required)
{
    expect_spec_cause("deploymentName", NULL, "FieldValueRequired", "spec.deploymentName",
                      "Required value");
}

Test(foo, namespace_must_be_a_dns1123_label)
{
    expect_spec_cause("namespace", "\"-prod\"", "FieldValueInvalid", "spec.namespace",
                      "Invalid value: \"-prod\": " LABEL_REGEX_MSG);
}

static void validate_update(const char *key, const char *old_value, const char *new_value,
                            api_error *err)
{
    cJSON *old = parse(VALID_FOO);
    cJSON *foo = parse(VALID_FOO);
    json_set_string(cJSON_GetObjectItem(old, "spec"), key, old_value);
    json_set_string(cJSON_GetObjectItem(foo, "spec"), key, new_value);
    foo_validate(foo, old, err);
    cJSON_Delete(old);
    cJSON_Delete(foo);
}

Test(foo, deployment_name_is_immutable_on_update)
{
    api_error err = API_ERROR_INIT;
    validate_update("deploymentName", "foo-a", "other", &err);
    assert_cause(&err, "FieldValueInvalid", "spec.deploymentName",
                 "Invalid value: \"other\": field is immutable");
    apierr_clear(&err);
}

Test(foo, namespace_is_immutable_on_update)
{
    api_error err = API_ERROR_INIT;
    validate_update("namespace", "default", "prod", &err);
    assert_cause(&err, "FieldValueInvalid", "spec.namespace",
                 "Invalid value: \"prod\": field is immutable");
    apierr_clear(&err);
}

Test(foo, update_keeping_immutable_fields_and_changing_others_is_valid)
{
    cJSON *old = parse(VALID_FOO);
    cJSON *foo = parse(VALID_FOO);
    json_set_number(cJSON_GetObjectItem(foo, "spec"), "replicas", 5);
    json_set_string(cJSON_GetObjectItem(foo, "spec"), "image", "nginx:1.28");
    api_error err = API_ERROR_INIT;
    foo_validate(foo, old, &err);
    assert_no_causes(&err);
    cJSON_Delete(old);
    cJSON_Delete(foo);
}

/* ---- spec.restartedAt ---------------------------------------------------------------------- */

Test(foo, restarted_at_accepts_rfc3339_and_empty)
{
    expect_spec_valid("restartedAt", "\"2026-01-01T00:00:00Z\"");
    expect_spec_valid("restartedAt", "\"2026-01-01T00:00:00.123+02:00\"");
    expect_spec_valid("restartedAt", "\"\"");
}

Test(foo, restarted_at_not_rfc3339_is_invalid)
{
    expect_spec_cause(
        "restartedAt", "\"yesterday\"", "FieldValueTypeInvalid", "spec.restartedAt",
        "Invalid value: \"yesterday\": spec.restartedAt in body must be of type date-time: "
        "\"yesterday\"");
}

Test(foo, restarted_at_of_wrong_type_is_type_invalid)
{
    expect_spec_cause(
        "restartedAt", "12", "FieldValueTypeInvalid", "spec.restartedAt",
        "Invalid value: \"integer\": spec.restartedAt in body must be of type string: "
        "\"integer\"");
}

/* ---- several causes, one 422 --------------------------------------------------------------- */

Test(foo, each_violated_field_gets_one_cause_in_one_invalid_error)
{
    cJSON *foo = parse("{\"metadata\":{\"name\":\"x\"},\"spec\":{\"deploymentName\":\"x\","
                       "\"namespace\":\"default\",\"replicas\":-1,\"image\":\"a b\"}}");
    api_error err = API_ERROR_INIT;
    foo_validate(foo, NULL, &err);
    cr_assert_eq(apierr_cause_count(&err), 2);
    cr_assert(apierr_finish_invalid(&err, FOO_KIND, FOO_GROUP, "x"));
    cr_assert_eq(err.code, 422);
    cr_assert_str_eq(err.reason, "Invalid");
    cr_assert_str_eq(err.message,
                     "Foo.demo.example.com \"x\" is invalid: [spec.replicas: Invalid value: -1: "
                     "must be greater than or equal to 0, spec.image: Invalid value: \"a b\": "
                     "must not contain whitespace]");
    apierr_clear(&err);
    cJSON_Delete(foo);
}

/* ---- metadata ------------------------------------------------------------------------------ */

static void meta_causes(const char *meta_json, bool require_name, api_error *err)
{
    cJSON *meta = parse(meta_json);
    meta_validate(meta, require_name, err);
    cJSON_Delete(meta);
}

static void expect_meta_cause(const char *meta_json, const char *reason, const char *field,
                              const char *msg)
{
    api_error err = API_ERROR_INIT;
    meta_causes(meta_json, true, &err);
    assert_cause(&err, reason, field, msg);
    apierr_clear(&err);
}

static void expect_meta_valid(const char *meta_json, bool require_name)
{
    api_error err = API_ERROR_INIT;
    meta_causes(meta_json, require_name, &err);
    assert_no_causes(&err);
    apierr_clear(&err);
}

Test(foo, missing_name_is_required_unless_generate_name_is_used)
{
    expect_meta_cause("{}", "FieldValueRequired", "metadata.name",
                      "Required value: name or generateName is required");
    expect_meta_valid("{\"generateName\":\"web-\"}", false);
}

Test(foo, foo_validate_requires_a_name)
{
    cJSON *foo = parse(VALID_FOO);
    json_remove(cJSON_GetObjectItem(foo, "metadata"), "name");
    api_error err = API_ERROR_INIT;
    foo_validate(foo, NULL, &err);
    assert_cause(&err, "FieldValueRequired", "metadata.name",
                 "Required value: name or generateName is required");
    apierr_clear(&err);
    cJSON_Delete(foo);
}

Test(foo, name_must_be_a_dns1123_subdomain)
{
    expect_meta_valid("{\"name\":\"a.b-c.d\"}", true);
    expect_meta_cause("{\"name\":\"Web\"}", "FieldValueInvalid", "metadata.name",
                      "Invalid value: \"Web\": " SUBDOMAIN_REGEX_MSG);
    expect_meta_cause("{\"name\":\"a..b\"}", "FieldValueInvalid", "metadata.name",
                      "Invalid value: \"a..b\": " SUBDOMAIN_REGEX_MSG);
}

Test(foo, name_longer_than_253_is_invalid)
{
    char meta[300];
    strcpy(meta, "{\"name\":\"");
    size_t n = strlen(meta);
    memset(meta + n, 'a', 254);
    strcpy(meta + n + 254, "\"}");
    api_error err = API_ERROR_INIT;
    meta_causes(meta, true, &err);
    cr_assert_eq(apierr_cause_count(&err), 1);
    const char *msg =
        cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetArrayItem(err.causes, 0), "message"));
    cr_assert(strstr(msg, ": must be no more than 253 characters") != NULL, "%s", msg);
    apierr_clear(&err);
}

Test(foo, generate_name_may_end_with_a_dash_but_must_otherwise_be_a_subdomain)
{
    expect_meta_valid("{\"generateName\":\"web-\"}", false);
    api_error err = API_ERROR_INIT;
    meta_causes("{\"generateName\":\"Web-\"}", false, &err);
    assert_cause(&err, "FieldValueInvalid", "metadata.generateName",
                 "Invalid value: \"Web-\": " SUBDOMAIN_REGEX_MSG);
    apierr_clear(&err);
}

Test(foo, label_keys_and_values_follow_kube_syntax)
{
    expect_meta_valid("{\"name\":\"a\",\"labels\":{\"app\":\"web\",\"example.com/Tier\":\"A_1.b\","
                      "\"empty\":\"\"}}",
                      true);
    expect_meta_cause("{\"name\":\"a\",\"labels\":{\"-app\":\"x\"}}", "FieldValueInvalid",
                      "metadata.labels", "Invalid value: \"-app\": name part " QNAME_BODY);
    expect_meta_cause("{\"name\":\"a\",\"labels\":{\"Example.com/app\":\"x\"}}",
                      "FieldValueInvalid", "metadata.labels",
                      "Invalid value: \"Example.com/app\": prefix part " SUBDOMAIN_REGEX_MSG);
    expect_meta_cause("{\"name\":\"a\",\"labels\":{\"/app\":\"x\"}}", "FieldValueInvalid",
                      "metadata.labels", "Invalid value: \"/app\": prefix part must be non-empty");
    expect_meta_cause(
        "{\"name\":\"a\",\"labels\":{\"app\":\"a b\"}}", "FieldValueInvalid", "metadata.labels",
        "Invalid value: \"a b\": a valid label must be an empty string or consist of alphanumeric "
        "characters, '-', '_' or '.', and must start and end with an alphanumeric character "
        "(e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is "
        "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')");
}

Test(foo, label_value_longer_than_63_is_invalid)
{
    char meta[200];
    strcpy(meta, "{\"name\":\"a\",\"labels\":{\"k\":\"");
    size_t n = strlen(meta);
    memset(meta + n, 'v', 64);
    strcpy(meta + n + 64, "\"}}");
    api_error err = API_ERROR_INIT;
    meta_causes(meta, true, &err);
    cr_assert_eq(apierr_cause_count(&err), 1);
    const cJSON *c = cJSON_GetArrayItem(err.causes, 0);
    cr_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(c, "field")), "metadata.labels");
    cr_assert(strstr(cJSON_GetStringValue(cJSON_GetObjectItem(c, "message")),
                     ": must be no more than 63 characters"));
    apierr_clear(&err);
}

Test(foo, label_value_of_wrong_type_is_type_invalid)
{
    expect_meta_cause("{\"name\":\"a\",\"labels\":{\"app\":3}}", "FieldValueTypeInvalid",
                      "metadata.labels.app",
                      "Invalid value: \"integer\": metadata.labels.app in body must be of type "
                      "string: \"integer\"");
}

Test(foo, annotation_keys_are_qualified_names_in_any_case)
{
    expect_meta_valid(
        "{\"name\":\"a\",\"annotations\":{\"Example.COM/Note\":\"any value at all\"}}", true);
    expect_meta_cause("{\"name\":\"a\",\"annotations\":{\"a/b/c\":\"x\"}}", "FieldValueInvalid",
                      "metadata.annotations",
                      "Invalid value: \"a/b/c\": a qualified name " QNAME_BODY
                      " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')");
}

Test(foo, annotations_over_256_kib_in_total_are_too_long)
{
    cJSON *meta = parse("{\"name\":\"a\",\"annotations\":{}}");
    cJSON *ann = cJSON_GetObjectItem(meta, "annotations");
    char *big = xmalloc(META_MAX_ANNOTATIONS_BYTES);
    memset(big, 'x', META_MAX_ANNOTATIONS_BYTES - 1);
    big[META_MAX_ANNOTATIONS_BYTES - 1] = '\0';
    json_set_string(ann, "k", big); /* 1 + (256 KiB - 1): exactly at the limit */
    api_error err = API_ERROR_INIT;
    meta_validate(meta, true, &err);
    assert_no_causes(&err);
    json_set_string(ann, "k2", "");
    meta_validate(meta, true, &err);
    assert_cause(&err, "FieldValueTooLong", "metadata.annotations",
                 "Too long: may not be more than 262144 bytes");
    apierr_clear(&err);
    free(big);
    cJSON_Delete(meta);
}

Test(foo, finalizers_must_be_qualified_names)
{
    expect_meta_valid("{\"name\":\"a\",\"finalizers\":[\"" FOO_FINALIZER "\",\"orphan\"]}", true);
    expect_meta_cause("{\"name\":\"a\",\"finalizers\":[\"a/b/c\"]}", "FieldValueInvalid",
                      "metadata.finalizers",
                      "Invalid value: \"a/b/c\": a qualified name " QNAME_BODY
                      " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')");
}

Test(foo, orphan_and_foreground_finalizers_cannot_both_be_set)
{
    expect_meta_cause("{\"name\":\"a\",\"finalizers\":[\"orphan\",\"foregroundDeletion\"]}",
                      "FieldValueInvalid", "metadata.finalizers",
                      "Invalid value: []string{\"orphan\", \"foregroundDeletion\"}: finalizer "
                      "orphan and foregroundDeletion cannot be both set");
}

Test(foo, no_finalizer_may_be_added_once_deletion_started)
{
    cJSON *old = parse("{\"name\":\"a\",\"deletionTimestamp\":\"2026-01-01T00:00:00Z\","
                       "\"finalizers\":[\"x.io/a\"]}");
    cJSON *meta = parse("{\"name\":\"a\",\"finalizers\":[\"x.io/a\",\"x.io/c\",\"x.io/b\"]}");
    cJSON *fewer = parse("{\"name\":\"a\",\"finalizers\":[]}");
    api_error err = API_ERROR_INIT;
    meta_validate_update(fewer, old, &err);
    assert_no_causes(&err);
    meta_validate_update(meta, old, &err);
    assert_cause(&err, "FieldValueForbidden", "metadata.finalizers",
                 "Forbidden: no new finalizers can be added if the object is being deleted, "
                 "found new finalizers []string{\"x.io/b\", \"x.io/c\"}");
    apierr_clear(&err);
    cJSON_Delete(old);
    cJSON_Delete(meta);
    cJSON_Delete(fewer);
}

Test(foo, finalizers_may_be_added_while_not_deleting)
{
    cJSON *old = parse("{\"name\":\"a\"}");
    cJSON *meta = parse("{\"name\":\"a\",\"finalizers\":[\"x.io/a\"]}");
    api_error err = API_ERROR_INIT;
    meta_validate_update(meta, old, &err);
    assert_no_causes(&err);
    cJSON_Delete(old);
    cJSON_Delete(meta);
}

/* ---- name syntax helpers ------------------------------------------------------------------- */

Test(foo, dns1123_label_accepts_only_lowercase_alnum_and_inner_dashes)
{
    cr_assert(dns1123_label("a"));
    cr_assert(dns1123_label("my-name"));
    cr_assert(dns1123_label("123-abc"));
    cr_assert_not(dns1123_label(""));
    cr_assert_not(dns1123_label("-a"));
    cr_assert_not(dns1123_label("a-"));
    cr_assert_not(dns1123_label("A"));
    cr_assert_not(dns1123_label("a.b"));
    cr_assert_not(dns1123_label("a_b"));
    cr_assert(
        dns1123_label("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")); /* 63 */
    cr_assert_not(
        dns1123_label("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")); /* 64 */
    cr_assert_not(dns1123_label(NULL));
}

Test(foo, dns1123_subdomain_accepts_dot_separated_labels_up_to_253)
{
    cr_assert(dns1123_subdomain("example.com"));
    cr_assert(dns1123_subdomain("a"));
    cr_assert_not(dns1123_subdomain("example..com"));
    cr_assert_not(dns1123_subdomain(".example"));
    cr_assert_not(dns1123_subdomain("example."));
    cr_assert_not(dns1123_subdomain("a.-b"));
    cr_assert_not(dns1123_subdomain(""));
    char s[260];
    memset(s, 'a', 253);
    s[253] = '\0';
    cr_assert(dns1123_subdomain(s));
    strcat(s, "a");
    cr_assert_not(dns1123_subdomain(s));
}

/* ---- status -------------------------------------------------------------------------------- */

static void status_causes(const char *status_json, api_error *err)
{
    cJSON *foo = parse(VALID_FOO);
    json_set_item(foo, "status", parse(status_json));
    foo_validate_status(foo, err);
    cJSON_Delete(foo);
}

static void expect_status_cause(const char *status_json, const char *reason, const char *field,
                                const char *msg)
{
    api_error err = API_ERROR_INIT;
    status_causes(status_json, &err);
    assert_cause(&err, reason, field, msg);
    apierr_clear(&err);
}

Test(foo, full_status_is_valid)
{
    api_error err = API_ERROR_INIT;
    status_causes("{\"observedGeneration\":1,\"replicas\":1,\"availableReplicas\":1,"
                  "\"selector\":\"demo.example.com/foo=foo-a\",\"conditions\":[{\"type\":\"Ready\","
                  "\"status\":\"True\",\"reason\":\"Available\",\"message\":\"\","
                  "\"lastTransitionTime\":\"2026-01-01T00:00:00Z\",\"observedGeneration\":1}]}",
                  &err);
    assert_no_causes(&err);
    cJSON *foo = parse(VALID_FOO);
    foo_validate_status(foo, &err); /* no status at all */
    assert_no_causes(&err);
    cJSON_Delete(foo);
}

Test(foo, status_counters_must_be_non_negative_integers)
{
    expect_status_cause("{\"replicas\":-2}", "FieldValueInvalid", "status.replicas",
                        "Invalid value: -2: must be greater than or equal to 0");
    expect_status_cause("{\"availableReplicas\":-1}", "FieldValueInvalid",
                        "status.availableReplicas",
                        "Invalid value: -1: must be greater than or equal to 0");
    expect_status_cause("{\"observedGeneration\":\"1\"}", "FieldValueTypeInvalid",
                        "status.observedGeneration",
                        "Invalid value: \"string\": status.observedGeneration in body must be of "
                        "type integer: \"string\"");
}

Test(foo, status_selector_must_be_a_string)
{
    expect_status_cause(
        "{\"selector\":{}}", "FieldValueTypeInvalid", "status.selector",
        "Invalid value: \"object\": status.selector in body must be of type string: \"object\"");
}

Test(foo, status_conditions_must_be_an_array_of_objects)
{
    expect_status_cause("{\"conditions\":{}}", "FieldValueTypeInvalid", "status.conditions",
                        "Invalid value: \"object\": status.conditions in body must be of type "
                        "array: \"object\"");
    expect_status_cause("{\"conditions\":[\"Ready\"]}", "FieldValueTypeInvalid",
                        "status.conditions[0]",
                        "Invalid value: \"string\": status.conditions[0] in body must be of type "
                        "object: \"string\"");
}

Test(foo, condition_needs_type_and_status)
{
    expect_status_cause("{\"conditions\":[{\"status\":\"True\"}]}", "FieldValueRequired",
                        "status.conditions[0].type", "Required value");
    expect_status_cause("{\"conditions\":[{\"type\":\"Ready\"}]}", "FieldValueRequired",
                        "status.conditions[0].status", "Required value");
}

Test(foo, condition_status_must_be_true_false_or_unknown)
{
    expect_status_cause("{\"conditions\":[{\"type\":\"Ready\",\"status\":\"Maybe\"}]}",
                        "FieldValueNotSupported", "status.conditions[0].status",
                        "Unsupported value: \"Maybe\": supported values: \"True\", \"False\", "
                        "\"Unknown\"");
}

Test(foo, condition_types_must_be_unique)
{
    expect_status_cause("{\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\"},"
                        "{\"type\":\"Ready\",\"status\":\"False\"}]}",
                        "FieldValueDuplicate", "status.conditions[1].type",
                        "Duplicate value: \"Ready\"");
}

Test(foo, condition_last_transition_time_must_be_rfc3339)
{
    expect_status_cause("{\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\","
                        "\"lastTransitionTime\":\"now\"}]}",
                        "FieldValueTypeInvalid", "status.conditions[0].lastTransitionTime",
                        "Invalid value: \"now\": status.conditions[0].lastTransitionTime in body "
                        "must be of type date-time: \"now\"");
}

/* ---- unknown fields ------------------------------------------------------------------------ */

/* The paths the pruning names; it must also leave nothing unknown behind. */
static cJSON *unknown(const char *json)
{
    cJSON *foo = parse(json);
    cJSON *paths = cJSON_CreateArray();
    size_t removed = foo_prune_unknown_fields(foo, paths, 1000);
    cr_expect_eq(removed, (size_t)cJSON_GetArraySize(paths));
    cJSON *again = cJSON_CreateArray();
    cr_expect_eq(foo_prune_unknown_fields(foo, again, 1000), 0);
    cJSON_Delete(again);
    cJSON_Delete(foo);
    return paths;
}

static void expect_unknown(const char *json, const char *want_paths_json)
{
    cJSON *paths = unknown(json);
    cJSON *want = parse(want_paths_json);
    char *got = json_print(paths);
    cr_expect(json_equal(paths, want), "got %s, want %s", got, want_paths_json);
    free(got);
    cJSON_Delete(want);
    cJSON_Delete(paths);
}

Test(foo, complete_foo_has_no_unknown_fields)
{
    expect_unknown(
        "{\"apiVersion\":\"demo.example.com/"
        "v1beta1\",\"kind\":\"Foo\",\"metadata\":{\"name\":\"a\","
        "\"generateName\":\"a-\",\"namespace\":\"\",\"selfLink\":\"\",\"uid\":\"u\","
        "\"resourceVersion\":\"1\",\"generation\":1,\"creationTimestamp\":\"t\","
        "\"deletionTimestamp\":null,\"deletionGracePeriodSeconds\":0,\"labels\":{\"any\":\"x\"},"
        "\"annotations\":{\"any/key\":\"x\"},\"ownerReferences\":[{\"apiVersion\":\"v1\",\"kind\":"
        "\"K\",\"name\":\"n\",\"uid\":\"u\",\"controller\":true,\"blockOwnerDeletion\":true}],"
        "\"finalizers\":[\"f\"],\"managedFields\":[{\"manager\":\"m\",\"operation\":\"Update\","
        "\"apiVersion\":\"v\",\"time\":\"t\",\"fieldsType\":\"FieldsV1\",\"fieldsV1\":{\"f:spec\":{"
        "}},"
        "\"subresource\":\"status\"}]},\"spec\":{\"deploymentName\":\"a\",\"namespace\":\"d\","
        "\"replicas\":1,\"image\":\"i\",\"restartedAt\":\"\"},\"status\":{\"observedGeneration\":1,"
        "\"replicas\":1,\"availableReplicas\":1,\"selector\":\"s\",\"conditions\":[{\"type\":\"R\","
        "\"status\":\"True\",\"reason\":\"r\",\"message\":\"m\",\"lastTransitionTime\":\"t\","
        "\"observedGeneration\":1}]}}",
        "[]");
}

Test(foo, unknown_fields_are_reported_with_kube_paths)
{
    expect_unknown(
        "{\"bogus\":1,\"metadata\":{\"name\":\"a\",\"foo\":2},\"spec\":{\"bogus\":{\"x\":1}},"
        "\"status\":{\"conditions\":[{\"type\":\"A\"},{\"type\":\"B\",\"x\":3}],\"y\":4}}",
        "[\"bogus\",\"metadata.foo\",\"spec.bogus\",\"status.conditions[1].x\","
        "\"status.y\"]");
}

Test(foo, unknown_fields_inside_owner_references_and_managed_fields_are_reported)
{
    expect_unknown("{\"metadata\":{\"ownerReferences\":[{\"name\":\"n\",\"zz\":1}],"
                   "\"managedFields\":[{\"manager\":\"m\",\"q\":1}]}}",
                   "[\"metadata.ownerReferences[0].zz\",\"metadata.managedFields[0].q\"]");
}

Test(foo, values_of_the_wrong_type_are_not_searched_for_unknown_fields)
{
    expect_unknown("{\"spec\":[{\"bogus\":1}],\"status\":{\"conditions\":{\"x\":1}}}", "[]");
}

/* A key holding dots or brackets, or a very long one, is removed all the same (the path named
   is for people). Before, pruning went by that path and left such fields stored. */
Test(foo, unknown_keys_with_dots_brackets_or_great_length_are_removed)
{
    char longkey[600];
    memset(longkey, 'k', sizeof longkey - 1);
    longkey[sizeof longkey - 1] = '\0';
    char *json = xasprintf("{\"spec\":{\"a.b\":1,\"c[0]\":2,\"%s\":3,\"replicas\":1}}", longkey);
    cJSON *foo = parse(json);
    cJSON *paths = cJSON_CreateArray();
    cr_expect_eq(foo_prune_unknown_fields(foo, paths, 1000), 3);
    char *left = json_print(foo);
    cr_expect_str_eq(left, "{\"spec\":{\"replicas\":1}}");
    free(left);
    free(json);
    cJSON_Delete(paths);
    cJSON_Delete(foo);
}

Test(foo, only_the_first_max_named_unknown_fields_are_named_but_all_are_removed)
{
    cJSON *foo = parse("{\"a\":1,\"b\":2,\"c\":3,\"spec\":{\"d\":4}}");
    cJSON *paths = cJSON_CreateArray();
    cr_expect_eq(foo_prune_unknown_fields(foo, paths, 2), 4);
    cr_expect_eq(cJSON_GetArraySize(paths), 2);
    char *left = json_print(foo);
    cr_expect_str_eq(left, "{\"spec\":{}}");
    free(left);
    cJSON_Delete(paths);
    cJSON_Delete(foo);
}

/* ---- hostile sizes and numbers --------------------------------------------------------------- */

/* A valid Foo whose metadata.labels holds n labels "<prefix><i>": "v". */
static cJSON *foo_with_labels(int n, const char *prefix)
{
    cJSON *foo = parse(VALID_FOO);
    cJSON *labels = json_ensure_object(cJSON_GetObjectItem(foo, "metadata"), "labels");
    for (int i = 0; i < n; i++) {
        char key[32];
        snprintf(key, sizeof key, "%s%d", prefix, i);
        cJSON_AddStringToObject(labels, key, "v");
    }
    return foo;
}

Test(foo, a_foo_with_250000_valid_labels_validates)
{
    cJSON *foo = foo_with_labels(250000, "k");
    api_error err = API_ERROR_INIT;
    foo_validate(foo, NULL, &err);
    assert_no_causes(&err);
    cJSON_Delete(foo);
}

Test(foo, 250000_bad_labels_give_100_causes_and_a_count_of_the_rest)
{
    cJSON *foo = foo_with_labels(250000, "-k"); /* a name part must start alphanumeric */
    api_error err = API_ERROR_INIT;
    foo_validate(foo, NULL, &err);
    cr_assert_eq(apierr_cause_count(&err), 101);
    const cJSON *first = cJSON_GetArrayItem(err.causes, 0);
    cr_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(first, "message")),
                     "Invalid value: \"-k0\": name part " QNAME_BODY);
    const cJSON *last = cJSON_GetArrayItem(err.causes, 100);
    cr_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(last, "field")), "metadata.labels");
    cr_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(last, "message")),
                     "and 249900 more errors (only the first 100 are reported)");
    cr_assert(apierr_finish_invalid(&err, "Foo", "demo.example.com", "foo-a"));
    cr_assert_lt(strlen(err.message), 64 * 1024, "the 422 message stays small");
    apierr_clear(&err);
    cJSON_Delete(foo);
}

Test(foo, out_of_range_and_fractional_replicas_are_causes_not_undefined_behaviour)
{
    /* UBSan checks that no double here is converted to an integer type. */
    static const char *const values[] = {
        "1e300", "-1e300", "1e400", "-1e400", "1.5", "9223372036854775808", "-0.5"};
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        api_error err = API_ERROR_INIT;
        validate_with_spec("replicas", values[i], &err);
        cr_assert_eq(apierr_cause_count(&err), 1, "replicas %s", values[i]);
        const cJSON *c = cJSON_GetArrayItem(err.causes, 0);
        cr_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(c, "field")), "spec.replicas");
        cr_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(c, "reason")),
                         "FieldValueTypeInvalid", "replicas %s", values[i]);
        apierr_clear(&err);
    }
    expect_spec_valid("replicas", "1e3"); /* an integer, however written */
    expect_status_cause("{\"replicas\":1e300}", "FieldValueTypeInvalid", "status.replicas",
                        "Invalid value: \"number\": status.replicas in body must be of type "
                        "integer: \"number\"");
}

Test(foo, duplicate_condition_types_among_many_are_found)
{
    /* 20 000 conditions, types t0..t9999 twice: the second of each pair is the duplicate. */
    enum { N = 10000 };
    cJSON *foo = parse("{\"status\":{\"conditions\":[]}}");
    cJSON *conds = json_path(foo, "status.conditions");
    for (int i = 0; i < 2 * N; i++) {
        char type[16];
        snprintf(type, sizeof type, "t%d", i % N);
        cJSON *c = cJSON_CreateObject();
        cJSON_AddStringToObject(c, "type", type);
        cJSON_AddStringToObject(c, "status", "True");
        cJSON_AddItemToArray(conds, c);
    }
    api_error err = API_ERROR_INIT;
    foo_validate_status(foo, &err);
    cr_assert_eq(apierr_cause_count(&err), 101);
    const cJSON *c = cJSON_GetArrayItem(err.causes, 0);
    cr_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(c, "field")),
                     "status.conditions[10000].type");
    cr_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(c, "message")),
                     "Duplicate value: \"t0\"");
    apierr_clear(&err);
    cJSON_Delete(foo);
}

Test(foo, many_new_finalizers_on_a_deleting_object_are_named_once_each)
{
    enum { N = 50000 };
    cJSON *old = parse("{\"name\":\"a\",\"deletionTimestamp\":\"2026-01-01T00:00:00Z\","
                       "\"finalizers\":[\"x.io/keep\"]}");
    cJSON *meta = parse("{\"name\":\"a\",\"finalizers\":[\"x.io/keep\"]}");
    cJSON *fins = cJSON_GetObjectItem(meta, "finalizers");
    for (int i = 0; i < N; i++) {
        char name[32];
        snprintf(name, sizeof name, "x.io/f%d", (N - 1 - i) / 2); /* each twice, descending */
        cJSON_AddItemToArray(fins, cJSON_CreateString(name));
    }
    api_error err = API_ERROR_INIT;
    meta_validate_update(meta, old, &err);
    cr_assert_eq(apierr_cause_count(&err), 1);
    const char *msg =
        cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetArrayItem(err.causes, 0), "message"));
    cr_assert(strstr(msg, "found new finalizers []string{\"x.io/f0\", \"x.io/f1\", "
                          "\"x.io/f10\","),
              "sorted, once each");
    cr_assert_null(strstr(msg, "x.io/keep"));
    cr_assert_null(strstr(msg, "\"x.io/f0\", \"x.io/f0\""));
    apierr_clear(&err);
    cJSON_Delete(meta);
    cJSON_Delete(old);
}

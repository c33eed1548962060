/*
 * test_lease.c - the coordination.k8s.io/v1 Lease strategy: validation of names and LeaseSpec
 * with kube's wording, the HOLDER column, and hostile input.
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

TestSuite(lease, .init = setup);

/* A Lease as client-go's leader election writes it. */
#define VALID_SPEC                                                                                 \
    "\"holderIdentity\":\"node-1_3f2a\",\"leaseDurationSeconds\":15,\"acquireTime\":"              \
    "\"2025-05-01T10:00:00.000000Z\",\"renewTime\":\"2025-05-01T10:00:05.123456Z\","               \
    "\"leaseTransitions\":2"

/* A Lease named `name` whose spec is VALID_SPEC with spec.<key> set to the JSON `value`. */
static cJSON *lease(const char *name, const char *key, const char *value)
{
    char json[1024];
    snprintf(json, sizeof json,
             "{\"metadata\":{\"name\":\"%s\",\"namespace\":\"kube-system\"},"
             "\"spec\":{" VALID_SPEC "}}",
             name);
    cJSON *l = parse(json);
    if (key)
        json_set_item(cJSON_GetObjectItem(l, "spec"), key, parse(value));
    return l;
}

static void expect_cause(const char *key, const char *value, const char *reason, const char *field,
                         const char *msg)
{
    cJSON *l = lease("controller", key, value);
    api_error err = API_ERROR_INIT;
    lease_validate(l, NULL, &err);
    assert_cause(&err, reason, field, msg);
    apierr_clear(&err);
    cJSON_Delete(l);
}

static int cause_count(cJSON *l, const cJSON *old)
{
    api_error err = API_ERROR_INIT;
    lease_validate(l, old, &err);
    int n = apierr_cause_count(&err);
    apierr_clear(&err);
    return n;
}

Test(lease, leader_election_lease_is_valid)
{
    cJSON *l = lease("foo-controller-manager", NULL, NULL);
    cr_expect_eq(cause_count(l, NULL), 0);
    cr_expect_eq(cause_count(l, l), 0);
    cJSON_Delete(l);
}

Test(lease, empty_spec_is_valid)
{
    cJSON *l = parse("{\"metadata\":{\"name\":\"a\"},\"spec\":{}}");
    cr_expect_eq(cause_count(l, NULL), 0);
    cJSON_Delete(l);
    l = parse("{\"metadata\":{\"name\":\"a\"}}");
    cr_expect_eq(cause_count(l, NULL), 0);
    cJSON_Delete(l);
}

Test(lease, name_must_be_a_dns_subdomain)
{
    cJSON *l = lease("node.example.com", NULL, NULL);
    cr_expect_eq(cause_count(l, NULL), 0);
    cJSON_Delete(l);
    l = lease("Node_1", NULL, NULL);
    api_error err = API_ERROR_INIT;
    lease_validate(l, NULL, &err);
    assert_cause(&err, "FieldValueInvalid", "metadata.name",
                 "Invalid value: \"Node_1\": a lowercase RFC 1123 subdomain must consist of lower "
                 "case alphanumeric characters, '-' or '.', and must start and end with an "
                 "alphanumeric character (e.g. 'example.com', regex used for validation is "
                 "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')");
    apierr_clear(&err);
    cJSON_Delete(l);
}

Test(lease, duration_must_be_positive)
{
    expect_cause("leaseDurationSeconds", "0", "FieldValueInvalid", "spec.leaseDurationSeconds",
                 "Invalid value: 0: must be greater than 0");
}

Test(lease, transitions_must_not_be_negative)
{
    expect_cause("leaseTransitions", "-1", "FieldValueInvalid", "spec.leaseTransitions",
                 "Invalid value: -1: must be greater than or equal to 0");
}

Test(lease, times_must_be_rfc3339)
{
    expect_cause("renewTime", "\"yesterday\"", "FieldValueTypeInvalid", "spec.renewTime",
                 "Invalid value: \"yesterday\": spec.renewTime in body must be of type "
                 "date-time: \"yesterday\"");
}

Test(lease, strategy_must_be_known_or_qualified)
{
    cJSON *l = lease("a", "strategy", "\"OldestEmulationVersion\"");
    json_set_string(cJSON_GetObjectItem(l, "spec"), "preferredHolder", "b");
    cr_expect_eq(cause_count(l, NULL), 0);
    cJSON_Delete(l);
    l = lease("a", "strategy", "\"example.com/mine\"");
    cr_expect_eq(cause_count(l, NULL), 0);
    cJSON_Delete(l);
    expect_cause("strategy", "\"Youngest\"", "FieldValueNotSupported", "spec.strategy",
                 "Unsupported value: \"Youngest\": supported values: \"OldestEmulationVersion\"");
}

Test(lease, preferred_holder_needs_a_strategy)
{
    expect_cause("preferredHolder", "\"node-2\"", "FieldValueForbidden", "spec.preferredHolder",
                 "Forbidden: may only be specified if `strategy` is defined");
}

Test(lease, holder_cell_is_the_holder_identity)
{
    cJSON *l = lease("a", NULL, NULL);
    cJSON *c = lease_cell_holder(l, 0);
    cr_expect_str_eq(c->valuestring, "node-1_3f2a");
    cJSON_Delete(c);
    cJSON_Delete(l);
    l = parse("{\"spec\":{\"holderIdentity\":null}}");
    c = lease_cell_holder(l, 0);
    cr_expect_str_eq(c->valuestring, "");
    cJSON_Delete(c);
    cJSON_Delete(l);
}

Test(lease, columns_are_name_holder_age)
{
    cr_expect_str_eq(lease_columns[0].name, "Name");
    cr_expect_str_eq(lease_columns[1].name, "Holder");
    cr_expect_str_eq(lease_columns[2].name, "Age");
    cr_expect_null(lease_strategy.defaults, "kube applies no Lease defaults");
    cr_expect_eq(lease_strategy.generation, API_GENERATION_NONE);
}

Test(lease, wrong_types_everywhere_are_reported_not_fatal)
{
    static const char *const inputs[] = {
        "null",
        "[]",
        "7",
        "{\"metadata\":\"m\",\"spec\":[1]}",
        "{\"metadata\":{\"name\":[]},\"spec\":{\"holderIdentity\":1,\"leaseDurationSeconds\":"
        "\"15\",\"leaseTransitions\":1.5,\"acquireTime\":{},\"renewTime\":7,\"strategy\":[],"
        "\"preferredHolder\":{}}}",
        "{\"spec\":{\"leaseDurationSeconds\":1e300,\"leaseTransitions\":-1e300}}",
    };
    for (size_t i = 0; i < sizeof inputs / sizeof inputs[0]; i++) {
        cJSON *l = parse(inputs[i]);
        cause_count(l, NULL);
        cause_count(l, l);
        cJSON *c = lease_cell_holder(l, 0);
        cr_assert_not_null(c);
        cJSON_Delete(c);
        cJSON_Delete(l);
    }
    expect_cause("leaseDurationSeconds", "\"15\"", "FieldValueTypeInvalid",
                 "spec.leaseDurationSeconds",
                 "Invalid value: \"string\": spec.leaseDurationSeconds in body must be of type "
                 "integer: \"string\"");
}

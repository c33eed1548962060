/*
 * test_namespace.c - the core v1 Namespace strategy: kube's defaults (name label, "kubernetes"
 * finalizer, phase Active), validation (DNS-1123 label names, finalizer names), the STATUS
 * column, and hostile input.
 */
#include "api/builtin.h"

#include "common/alloc.h"
#include "common/apierr.h"
#include "common/json.h"

#include "api_testutil.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

static void setup(void)
{
    alloc_install_cjson_hooks();
}

TestSuite(namespace, .init = setup);

static void expect_cause(const char *json, const char *reason, const char *field, const char *msg)
{
    cJSON *ns = parse(json);
    api_error err = API_ERROR_INIT;
    namespace_validate(ns, NULL, &err);
    assert_cause(&err, reason, field, msg);
    apierr_clear(&err);
    cJSON_Delete(ns);
}

static void expect_valid(const char *json)
{
    cJSON *ns = parse(json);
    api_error err = API_ERROR_INIT;
    namespace_validate(ns, NULL, &err);
    char *causes = json_print(err.causes);
    cr_expect_eq(apierr_cause_count(&err), 0, "%s: %s", json, causes);
    free(causes);
    apierr_clear(&err);
    cJSON_Delete(ns);
}

/* ---- defaults ------------------------------------------------------------------------------ */

Test(namespace, default_fills_label_finalizer_and_phase)
{
    cJSON *ns = parse("{\"metadata\":{\"name\":\"team-a\"}}");
    namespace_default(ns);
    const cJSON *labels = json_path(ns, "metadata.labels");
    cr_expect_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(labels, NAMESPACE_NAME_LABEL)),
                     "team-a");
    const cJSON *fins = json_path(ns, "spec.finalizers");
    cr_assert_eq(cJSON_GetArraySize(fins), 1);
    cr_expect_str_eq(cJSON_GetArrayItem(fins, 0)->valuestring, "kubernetes");
    cr_expect_str_eq(json_path_string(ns, "status.phase"), "Active");
    cJSON_Delete(ns);
}

Test(namespace, default_overwrites_the_name_label_and_keeps_others)
{
    cJSON *ns = parse("{\"metadata\":{\"name\":\"team-a\",\"labels\":{\"env\":\"dev\","
                      "\"kubernetes.io/metadata.name\":\"spoofed\"}}}");
    namespace_default(ns);
    const cJSON *labels = json_path(ns, "metadata.labels");
    cr_expect_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(labels, NAMESPACE_NAME_LABEL)),
                     "team-a");
    cr_expect_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(labels, "env")), "dev");
    cJSON_Delete(ns);
}

Test(namespace, default_appends_the_kubernetes_finalizer_once)
{
    cJSON *ns = parse("{\"metadata\":{\"name\":\"a\"},\"spec\":{\"finalizers\":"
                      "[\"example.com/keep\"]}}");
    namespace_default(ns);
    namespace_default(ns);
    const cJSON *fins = json_path(ns, "spec.finalizers");
    cr_assert_eq(cJSON_GetArraySize(fins), 2);
    cr_expect_str_eq(cJSON_GetArrayItem(fins, 0)->valuestring, "example.com/keep");
    cr_expect_str_eq(cJSON_GetArrayItem(fins, 1)->valuestring, "kubernetes");
    cJSON_Delete(ns);
}

Test(namespace, default_keeps_a_set_phase)
{
    cJSON *ns = parse("{\"metadata\":{\"name\":\"a\"},\"status\":{\"phase\":\"Terminating\"}}");
    namespace_default(ns);
    cr_expect_str_eq(json_path_string(ns, "status.phase"), "Terminating");
    cJSON_Delete(ns);
}

Test(namespace, default_without_a_name_sets_no_label)
{
    cJSON *ns = parse("{\"metadata\":{\"generateName\":\"team-\"}}");
    namespace_default(ns);
    cr_expect_null(json_path(ns, "metadata.labels"));
    cr_expect_str_eq(json_path_string(ns, "status.phase"), "Active");
    cJSON_Delete(ns);
}

/* ---- validation ---------------------------------------------------------------------------- */

Test(namespace, defaulted_namespace_is_valid)
{
    cJSON *ns = parse("{\"metadata\":{\"name\":\"team-a\"}}");
    namespace_default(ns);
    api_error err = API_ERROR_INIT;
    namespace_validate(ns, NULL, &err);
    cr_expect_eq(apierr_cause_count(&err), 0);
    namespace_validate(ns, ns, &err);
    cr_expect_eq(apierr_cause_count(&err), 0);
    apierr_clear(&err);
    cJSON_Delete(ns);
}

Test(namespace, name_must_be_a_dns_label)
{
    expect_cause("{\"metadata\":{\"name\":\"team.a\"}}", "FieldValueInvalid", "metadata.name",
                 "Invalid value: \"team.a\": a lowercase RFC 1123 label must consist of lower "
                 "case alphanumeric characters or '-', and must start and end with an "
                 "alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for "
                 "validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')");
}

Test(namespace, name_is_required)
{
    expect_cause("{\"metadata\":{}}", "FieldValueRequired", "metadata.name",
                 "Required value: name or generateName is required");
}

Test(namespace, other_metadata_follows_the_generic_rules)
{
    expect_cause("{\"metadata\":{\"name\":\"a\",\"labels\":{\"k\":\"a b\"}}}", "FieldValueInvalid",
                 "metadata.labels",
                 "Invalid value: \"a b\": a valid label must be an empty string or consist of "
                 "alphanumeric characters, '-', '_' or '.', and must start and end with an "
                 "alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex "
                 "used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')");
}

Test(namespace, finalizers_must_be_standard_or_qualified)
{
    expect_valid("{\"metadata\":{\"name\":\"a\"},\"spec\":{\"finalizers\":[\"kubernetes\","
                 "\"example.com/x\"]}}");
    expect_cause("{\"metadata\":{\"name\":\"a\"},\"spec\":{\"finalizers\":[\"cleanup\"]}}",
                 "FieldValueInvalid", "spec.finalizers",
                 "Invalid value: \"cleanup\": name is neither a standard finalizer name nor is it "
                 "fully qualified");
}

/* ---- columns ------------------------------------------------------------------------------- */

Test(namespace, status_cell_is_the_phase)
{
    cJSON *ns = parse("{\"status\":{\"phase\":\"Active\"}}");
    cJSON *c = namespace_cell_status(ns, 0);
    cr_expect_str_eq(c->valuestring, "Active");
    cJSON_Delete(c);
    c = namespace_cell_status(cJSON_GetObjectItem(ns, "status"), 0);
    cr_expect_str_eq(c->valuestring, "");
    cJSON_Delete(c);
    cJSON_Delete(ns);
}

Test(namespace, columns_are_name_status_age)
{
    cr_expect_str_eq(namespace_columns[0].name, "Name");
    cr_expect_str_eq(namespace_columns[1].name, "Status");
    cr_expect_str_eq(namespace_columns[2].name, "Age");
    cr_expect_eq(namespace_strategy.generation, API_GENERATION_NONE);
    cr_expect_null(namespace_strategy.validate_status);
}

/* ---- hostile input ------------------------------------------------------------------------- */

Test(namespace, wrong_types_everywhere_are_reported_not_fatal)
{
    static const char *const inputs[] = {
        "null",
        "[1]",
        "\"ns\"",
        "{\"metadata\":7,\"spec\":[],\"status\":\"s\"}",
        "{\"metadata\":{\"name\":5,\"labels\":[]},\"spec\":{\"finalizers\":{\"a\":1}}}",
        "{\"metadata\":{\"name\":\"a\",\"labels\":\"l\"},\"spec\":{\"finalizers\":[1,null,{}]},"
        "\"status\":{\"phase\":[]}}",
    };
    for (size_t i = 0; i < sizeof inputs / sizeof inputs[0]; i++) {
        cJSON *ns = parse(inputs[i]);
        api_error err = API_ERROR_INIT;
        namespace_validate(ns, NULL, &err);
        namespace_validate(ns, ns, &err);
        namespace_default(ns);
        namespace_validate(ns, NULL, &err);
        apierr_clear(&err);
        for (int c = 0; c < NAMESPACE_NCOLUMNS; c++) {
            if (namespace_columns[c].cell) {
                cJSON *cell = namespace_columns[c].cell(ns, 0);
                cr_assert_not_null(cell);
                cJSON_Delete(cell);
            }
        }
        cJSON_Delete(ns);
    }
}

Test(namespace, wrong_types_are_causes)
{
    expect_cause("{\"metadata\":{\"name\":\"a\"},\"spec\":{\"finalizers\":[3]}}",
                 "FieldValueTypeInvalid", "spec.finalizers[0]",
                 "Invalid value: \"integer\": spec.finalizers[0] in body must be of type string: "
                 "\"integer\"");
}

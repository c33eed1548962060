/*
 * test_event.c - the core v1 Event strategy: kube's legacy validation (lenient names, the
 * namespace rule, the eventTime rules), every cell of `kubectl get events -o wide`, and hostile
 * input.
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

TestSuite(event, .init = setup);

/* An Event as client-go's recorder creates it for a Deployment. */
#define VALID                                                                                      \
    "{\"apiVersion\":\"v1\",\"kind\":\"Event\",\"metadata\":{\"name\":"                            \
    "\"web.17f2a3b4c5d6e7f8\",\"namespace\":\"default\"},\"involvedObject\":{\"kind\":"            \
    "\"Deployment\",\"namespace\":\"default\",\"name\":\"web\",\"uid\":\"u-1\",\"apiVersion\":"    \
    "\"apps/v1\"},\"reason\":\"ScalingReplicaSet\",\"message\":\"Scaled up replica set web-1 to "  \
    "3\",\"source\":{\"component\":\"deployment-controller\"},\"firstTimestamp\":"                 \
    "\"2025-05-01T10:00:00Z\",\"lastTimestamp\":\"2025-05-01T10:05:00Z\",\"count\":2,\"type\":"    \
    "\"Normal\"}"

/* 2025-05-01T10:10:00Z */
#define NOW 1746094200

static cJSON *valid_with(const char *key, const char *value)
{
    cJSON *ev = parse(VALID);
    if (value)
        json_set_item(ev, key, parse(value));
    else
        json_remove(ev, key);
    return ev;
}

static int cause_count(const cJSON *ev)
{
    api_error err = API_ERROR_INIT;
    event_validate(ev, NULL, &err);
    int n = apierr_cause_count(&err);
    apierr_clear(&err);
    return n;
}

static void expect_cause(cJSON *ev, const char *reason, const char *field, const char *msg)
{
    api_error err = API_ERROR_INIT;
    event_validate(ev, NULL, &err);
    assert_cause(&err, reason, field, msg);
    apierr_clear(&err);
    cJSON_Delete(ev);
}

/* ---- validation ---------------------------------------------------------------------------- */

Test(event, recorder_event_is_valid)
{
    cJSON *ev = parse(VALID);
    cr_expect_eq(cause_count(ev), 0);
    api_error err = API_ERROR_INIT;
    event_validate(ev, ev, &err);
    cr_expect_eq(apierr_cause_count(&err), 0);
    apierr_clear(&err);
    cJSON_Delete(ev);
}

Test(event, names_are_only_path_segments)
{
    cJSON *ev = parse(VALID);
    json_set_string(json_path(ev, "metadata"), "name", "Web_Event:1");
    cr_expect_eq(cause_count(ev), 0, "kube checks no DNS rule for v1 Event names");
    json_set_string(json_path(ev, "metadata"), "name", "a/b");
    api_error err = API_ERROR_INIT;
    event_validate(ev, NULL, &err);
    assert_cause(&err, "FieldValueInvalid", "metadata.name",
                 "Invalid value: \"a/b\": may not contain '/'");
    apierr_clear(&err);
    json_set_string(json_path(ev, "metadata"), "name", "..");
    event_validate(ev, NULL, &err);
    assert_cause(&err, "FieldValueInvalid", "metadata.name",
                 "Invalid value: \"..\": may not be '..'");
    apierr_clear(&err);
    cJSON_Delete(ev);
}

Test(event, involved_namespace_must_match)
{
    cJSON *ev = parse(VALID);
    json_set_string(json_path(ev, "involvedObject"), "namespace", "other");
    expect_cause(ev, "FieldValueInvalid", "involvedObject.namespace",
                 "Invalid value: \"other\": does not match event.namespace");
}

Test(event, cluster_scoped_objects_have_events_in_default)
{
    cJSON *ev = parse(VALID);
    json_remove(json_path(ev, "involvedObject"), "namespace");
    cr_expect_eq(cause_count(ev), 0);
    json_set_string(json_path(ev, "metadata"), "namespace", "team-a");
    expect_cause(ev, "FieldValueInvalid", "involvedObject.namespace",
                 "Invalid value: \"\": does not match event.namespace");
}

Test(event, event_time_requires_the_reporter)
{
    cJSON *ev = valid_with("eventTime", "\"2025-05-01T10:00:00.123456Z\"");
    json_remove(ev, "reason");
    api_error err = API_ERROR_INIT;
    event_validate(ev, NULL, &err);
    cr_expect_eq(apierr_cause_count(&err), 4);
    assert_has_cause(&err, "reportingComponent", "Required value");
    assert_has_cause(&err, "reportingInstance", "Required value");
    assert_has_cause(&err, "action", "Required value");
    assert_has_cause(&err, "reason", "Required value");
    apierr_clear(&err);
    cJSON_Delete(ev);
}

Test(event, event_time_limits_lengths)
{
    char reason[200];
    memset(reason, 'r', 129);
    reason[129] = '\0';
    cJSON *ev = parse(VALID);
    json_set_string(ev, "eventTime", "2025-05-01T10:00:00.000000Z");
    json_set_string(ev, "reportingComponent", "foo-controller");
    json_set_string(ev, "reportingInstance", "foo-controller-abc");
    json_set_string(ev, "action", "Scale");
    json_set_string(ev, "reason", reason);
    expect_cause(ev, "FieldValueInvalid", "reason",
                 "Invalid value: \"\": can have at most 128 characters");
}

Test(event, common_fields_have_their_types)
{
    expect_cause(valid_with("count", "\"2\""), "FieldValueTypeInvalid", "count",
                 "Invalid value: \"string\": count in body must be of type integer: \"string\"");
    expect_cause(valid_with("lastTimestamp", "\"now\""), "FieldValueTypeInvalid", "lastTimestamp",
                 "Invalid value: \"now\": lastTimestamp in body must be of type date-time: "
                 "\"now\"");
}

/* ---- cells --------------------------------------------------------------------------------- */

static void expect_cell(cJSON *(*cell)(const cJSON *, int64_t), cJSON *ev, const char *want)
{
    cJSON *c = cell(ev, NOW);
    cr_assert(cJSON_IsString(c));
    cr_expect_str_eq(c->valuestring, want);
    cJSON_Delete(c);
}

static void expect_count(cJSON *ev, double want)
{
    cJSON *c = event_cell_count(ev, NOW);
    cr_assert(cJSON_IsNumber(c));
    cr_expect_eq(c->valuedouble, want);
    cJSON_Delete(c);
}

Test(event, last_seen_is_since_last_timestamp)
{
    cJSON *ev = parse(VALID);
    expect_cell(event_cell_last_seen, ev, "5m");
    cJSON_Delete(ev);
}

Test(event, last_seen_falls_back_to_first_timestamp_then_event_time)
{
    cJSON *ev = valid_with("lastTimestamp", NULL);
    expect_cell(event_cell_last_seen, ev, "10m");
    json_remove(ev, "firstTimestamp");
    json_set_string(ev, "eventTime", "2025-05-01T10:09:30.500000Z");
    expect_cell(event_cell_last_seen, ev, "30s");
    json_remove(ev, "eventTime");
    expect_cell(event_cell_last_seen, ev, "<unknown>");
    cJSON_Delete(ev);
}

Test(event, last_seen_of_a_series_is_its_last_observation)
{
    cJSON *ev = valid_with("series", "{\"count\":7,\"lastObservedTime\":\"2025-05-01T10:09:00Z\"}");
    expect_cell(event_cell_last_seen, ev, "60s");
    expect_count(ev, 7);
    cJSON_Delete(ev);
}

Test(event, first_seen_is_since_first_timestamp_else_event_time)
{
    cJSON *ev = parse(VALID);
    expect_cell(event_cell_first_seen, ev, "10m");
    json_set_string(ev, "firstTimestamp", "");
    json_set_string(ev, "eventTime", "2025-05-01T10:08:00.000001Z");
    expect_cell(event_cell_first_seen, ev, "2m");
    cJSON_Delete(ev);
}

Test(event, object_cell_is_lower_kind_slash_name)
{
    cJSON *ev = parse(VALID);
    expect_cell(event_cell_object, ev, "deployment/web");
    json_remove(json_path(ev, "involvedObject"), "name");
    expect_cell(event_cell_object, ev, "deployment");
    cJSON_Delete(ev);
}

Test(event, subobject_cell_is_the_field_path)
{
    cJSON *ev = parse(VALID);
    expect_cell(event_cell_subobject, ev, "");
    json_set_string(json_path(ev, "involvedObject"), "fieldPath", "spec.containers{nginx}");
    expect_cell(event_cell_subobject, ev, "spec.containers{nginx}");
    cJSON_Delete(ev);
}

Test(event, source_cell_joins_component_and_host)
{
    cJSON *ev = parse(VALID);
    expect_cell(event_cell_source, ev, "deployment-controller");
    json_set_string(json_path(ev, "source"), "host", "node-1");
    expect_cell(event_cell_source, ev, "deployment-controller, node-1");
    json_remove(ev, "source");
    json_set_string(ev, "reportingComponent", "foo-controller");
    json_set_string(ev, "reportingInstance", "foo-controller-0");
    expect_cell(event_cell_source, ev, "foo-controller, foo-controller-0");
    cJSON_Delete(ev);
}

Test(event, count_cell_defaults_to_one)
{
    cJSON *ev = parse(VALID);
    expect_count(ev, 2);
    json_remove(ev, "count");
    expect_count(ev, 1);
    cJSON_Delete(ev);
}

Test(event, type_reason_and_message_cells)
{
    cJSON *ev = parse(VALID);
    json_set_string(ev, "message", "  Scaled up\n");
    expect_cell(event_cell_type, ev, "Normal");
    expect_cell(event_cell_reason, ev, "ScalingReplicaSet");
    expect_cell(event_cell_message, ev, "Scaled up");
    json_remove(ev, "type");
    expect_cell(event_cell_type, ev, "");
    cJSON_Delete(ev);
}

Test(event, columns_are_kubes)
{
    static const char *const names[] = {"Last Seen", "Type",    "Reason",     "Object", "Subobject",
                                        "Source",    "Message", "First Seen", "Count",  "Name"};
    static const int wide[] = {0, 0, 0, 0, 1, 1, 0, 1, 1, 1};
    for (int i = 0; i < EVENT_NCOLUMNS; i++) {
        cr_expect_str_eq(event_columns[i].name, names[i]);
        cr_expect_eq(event_columns[i].priority, wide[i], "%s", names[i]);
    }
    cr_expect_str_eq(event_columns[9].path, "metadata.name");
    cr_expect_null(event_strategy.defaults, "kube applies no Event defaults");
    cr_expect_eq(event_strategy.generation, API_GENERATION_NONE);
}

/* ---- hostile input ------------------------------------------------------------------------- */

Test(event, wrong_types_everywhere_are_reported_not_fatal)
{
    static const char *const inputs[] = {
        "null",
        "[]",
        "\"e\"",
        "{\"metadata\":[],\"involvedObject\":\"x\",\"source\":1,\"series\":[],\"count\":{}}",
        "{\"involvedObject\":{\"kind\":1,\"name\":[],\"namespace\":{}},\"reason\":1,\"message\":"
        "[],\"type\":{},\"firstTimestamp\":1,\"lastTimestamp\":[],\"eventTime\":{}}",
        "{\"eventTime\":\"2025-05-01T10:00:00Z\",\"reportingComponent\":7,\"reportingInstance\":"
        "[],\"action\":{},\"series\":{\"count\":\"x\",\"lastObservedTime\":5},\"related\":3}",
        "{\"series\":null,\"source\":{\"component\":1,\"host\":[]},\"count\":1e300}",
    };
    for (size_t i = 0; i < sizeof inputs / sizeof inputs[0]; i++) {
        cJSON *ev = parse(inputs[i]);
        cause_count(ev);
        api_error err = API_ERROR_INIT;
        event_validate(ev, ev, &err);
        apierr_clear(&err);
        for (int c = 0; c < EVENT_NCOLUMNS; c++) {
            if (event_columns[c].cell) {
                cJSON *cell = event_columns[c].cell(ev, NOW);
                cr_assert_not_null(cell);
                cJSON_Delete(cell);
            }
        }
        cJSON_Delete(ev);
    }
}

/*
 * foo_fixture.h - the stored Foo that the patch targets apply their input to: a realistic object
 * as foo-apiserver stores it (server metadata, labels, annotations, finalizer, spec, status).
 */
#ifndef FOO_FUZZ_FOO_FIXTURE_H
#define FOO_FUZZ_FOO_FIXTURE_H

#include "fuzz/fuzz.h"

#include <cjson/cJSON.h>

static const char FOO_FIXTURE_JSON[] =
    "{\"apiVersion\":\"demo.example.com/v1beta1\",\"kind\":\"Foo\","
    "\"metadata\":{\"name\":\"web\",\"namespace\":\"default\","
    "\"uid\":\"6b1f6c9e-2f43-4a8e-9a35-0c8f3e1b2d4a\",\"resourceVersion\":\"42\","
    "\"generation\":3,\"creationTimestamp\":\"2026-01-02T03:04:05Z\","
    "\"labels\":{\"app\":\"web\",\"tier\":\"frontend\"},"
    "\"annotations\":{\"demo.example.com/restartedAt\":\"2026-01-02T03:04:05Z\"},"
    "\"finalizers\":[\"demo.example.com/cleanup\"]},"
    "\"spec\":{\"deploymentName\":\"web\",\"namespace\":\"default\",\"replicas\":2,"
    "\"image\":\"nginx:1.27\"},"
    "\"status\":{\"availableReplicas\":2,\"observedGeneration\":3,"
    "\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\",\"reason\":\"Available\"}]}}";

/* A new tree of the fixture; caller deletes. */
static inline cJSON *foo_fixture(void)
{
    cJSON *doc = cJSON_Parse(FOO_FIXTURE_JSON);
    FUZZ_CHECK(doc != NULL);
    return doc;
}

#endif

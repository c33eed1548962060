/*
 * fuzz_strategic_patch.c - strategic merge patch under a built-in kind's patch meta
 * (common/strategicpatch.h, api/patchmeta.h): the body of a PATCH of type
 * application/strategic-merge-patch+json to a Deployment on the standalone server.
 *
 * The input is the patch body. It is applied with the Deployment's schema to a stored
 * Deployment, to no object and to itself (so the original side varies too). Checked each time:
 * inputs are not modified; success gives an object and no error, failure no object and a 400 or
 * 422 with a reason and a message; the result holds no "$" member unless the original did (no
 * directive survives); applying the patch again to its own result succeeds and changes nothing.
 * And with no schema, a patch without directives and without nulls inside lists must give
 * exactly the merge-patch result (common/mergepatch.h), since both then mean RFC 7386 (where SMP
 * differs only by dropping nulls inside list elements, which merge patch keeps).
 */
#include "api/patchmeta.h"
#include "common/json.h"
#include "common/mergepatch.h"
#include "common/strategicpatch.h"
#include "fuzz/body.h"
#include "fuzz/fuzz.h"

#include <stdbool.h>
#include <string.h>

/* A Deployment as the standalone server stores it, with every merged list kind present. */
static const char DEPLOYMENT_JSON[] =
    "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"web\","
    "\"namespace\":\"default\",\"uid\":\"0d7c2f3e-5b1a-4c8e-9f2d-6a4b3c2d1e0f\","
    "\"resourceVersion\":\"42\",\"generation\":3,\"labels\":{\"app\":\"web\"},"
    "\"finalizers\":[\"example.com/a\",\"example.com/b\"],\"ownerReferences\":[{\"apiVersion\":"
    "\"demo.example.com/v1beta1\",\"kind\":\"Foo\",\"name\":\"web\",\"uid\":\"foo-uid\","
    "\"controller\":true}]},\"spec\":{\"replicas\":2,\"selector\":{\"matchLabels\":{\"app\":"
    "\"web\"}},\"strategy\":{\"type\":\"RollingUpdate\",\"rollingUpdate\":{\"maxUnavailable\":"
    "\"25%\",\"maxSurge\":\"25%\"}},\"template\":{\"metadata\":{\"labels\":{\"app\":\"web\"}},"
    "\"spec\":{\"containers\":[{\"name\":\"web\",\"image\":\"nginx:1.25\",\"ports\":[{"
    "\"containerPort\":80,\"protocol\":\"TCP\"},{\"containerPort\":53,\"protocol\":\"UDP\"}],"
    "\"env\":[{\"name\":\"A\",\"value\":\"1\"},{\"name\":\"B\",\"value\":\"2\"}],"
    "\"volumeMounts\":[{\"name\":\"data\",\"mountPath\":\"/data\"}],\"args\":[\"-v\"]},"
    "{\"name\":\"sidecar\",\"image\":\"busybox\"}],\"initContainers\":[{\"name\":\"init\","
    "\"image\":\"busybox\"}],\"volumes\":[{\"name\":\"data\",\"emptyDir\":{}}],"
    "\"imagePullSecrets\":[{\"name\":\"reg\"}],\"hostAliases\":[{\"ip\":\"10.0.0.1\","
    "\"hostnames\":[\"a\"]}],\"tolerations\":[{\"key\":\"k\",\"operator\":\"Exists\"}]}}},"
    "\"status\":{\"replicas\":2,\"conditions\":[{\"type\":\"Available\",\"status\":\"True\"}]}}";

/* True when some member name in the tree starts with '$'. */
static bool has_dollar_member(const cJSON *v)
{
    for (const cJSON *c = v ? v->child : NULL; c; c = c->next) {
        if (cJSON_IsObject(v) && c->string[0] == '$')
            return true;
        if (has_dollar_member(c))
            return true;
    }
    return false;
}

/* True when a null sits anywhere below a list in the tree. */
static bool null_in_list(const cJSON *v, bool in_list)
{
    if (in_list && cJSON_IsNull(v))
        return true;
    for (const cJSON *c = v->child; c; c = c->next)
        if (null_in_list(c, in_list || cJSON_IsArray(v)))
            return true;
    return false;
}

/* smp_apply's contract for one call; returns the result (caller deletes) or NULL on an error. */
static cJSON *checked_apply(const cJSON *original, const cJSON *patch, const smp_schema *schema)
{
    cJSON *original_copy = original ? cJSON_Duplicate(original, 1) : NULL;
    cJSON *patch_copy = cJSON_Duplicate(patch, 1);
    api_error err = API_ERROR_INIT;
    static cJSON unset; /* out must be overwritten, with NULL on failure */
    cJSON *out = &unset;
    int rc = smp_apply(original, patch, schema, &out, &err);
    FUZZ_CHECK(!original || json_equal(original, original_copy));
    FUZZ_CHECK(json_equal(patch, patch_copy));
    if (rc == 0) {
        FUZZ_CHECK(cJSON_IsObject(out));
        FUZZ_CHECK(!apierr_is_set(&err));
    } else {
        FUZZ_CHECK(rc < 0 && out == NULL);
        FUZZ_CHECK(err.code == 400 || err.code == 422);
        FUZZ_CHECK(err.reason && err.message && err.message[0]);
    }
    apierr_clear(&err);
    cJSON_Delete(patch_copy);
    cJSON_Delete(original_copy);
    return out;
}

/* Applies patch to original and checks the directives are gone and a second apply is a no-op. */
static void check_apply(const cJSON *original, const cJSON *patch, const smp_schema *schema)
{
    cJSON *out = checked_apply(original, patch, schema);
    if (!out)
        return;
    FUZZ_CHECK(has_dollar_member(original) || !has_dollar_member(out));
    cJSON *twice = checked_apply(out, patch, schema);
    FUZZ_CHECK(twice != NULL);
    FUZZ_CHECK(json_equal(twice, out));
    cJSON_Delete(twice);
    cJSON_Delete(out);
}

/* Without a schema and without directives, strategic merge patch is merge patch. */
static void check_against_merge_patch(const cJSON *original, const cJSON *patch)
{
    if (!cJSON_IsObject(patch) || has_dollar_member(patch) || null_in_list(patch, false))
        return;
    cJSON *smp = checked_apply(original, patch, NULL);
    FUZZ_CHECK(smp != NULL);
    cJSON *merge = mergepatch_apply(original, patch);
    FUZZ_CHECK(json_equal(smp, merge));
    cJSON_Delete(merge);
    cJSON_Delete(smp);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cJSON *patch = fuzz_parse_body(data, size);
    if (!patch)
        return 0; /* not JSON: the handler answers 400 before the engine runs */
    cJSON *deployment = cJSON_Parse(DEPLOYMENT_JSON);
    FUZZ_CHECK(deployment != NULL);

    check_apply(deployment, patch, patchmeta_deployment());
    check_apply(NULL, patch, patchmeta_deployment());
    check_apply(patch, patch, patchmeta_deployment());
    check_against_merge_patch(deployment, patch);

    cJSON_Delete(deployment);
    cJSON_Delete(patch);
    return 0;
}

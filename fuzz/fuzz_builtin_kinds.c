/*
 * fuzz_builtin_kinds.c - the strategies of the built-in kinds of --standalone (api/builtin.h):
 * the body of a create or update of a Deployment, Event, Namespace or Lease, after JSON parsing.
 *
 * The input is the body. For each kind: defaulting, then validation on create and on update
 * (against the defaulted object itself), status validation, every table cell, and /scale's
 * selector. Checked: no crash or leak on any JSON (wrong types anywhere, huge or deep values);
 * defaulting is idempotent (defaults applied twice give the same object); validation only
 * appends causes, never sets a code (the rules finish the 422); every cell is a value (never
 * NULL); nothing but defaulting touches the body.
 */
#include "api/builtin.h"
#include "common/json.h"
#include "fuzz/body.h"
#include "fuzz/fuzz.h"

typedef struct kind {
    void (*defaults)(cJSON *obj);
    void (*validate)(const cJSON *obj, const cJSON *old, api_error *err);
    void (*validate_status)(const cJSON *obj, api_error *err);
    const api_column *columns;
    size_t ncolumns;
} kind;

static const kind kinds[] = {
    {deployment_default, deployment_validate, deployment_validate_status, deployment_columns,
     DEPLOYMENT_NCOLUMNS},
    {NULL, event_validate, NULL, event_columns, EVENT_NCOLUMNS},
    {namespace_default, namespace_validate, NULL, namespace_columns, NAMESPACE_NCOLUMNS},
    {NULL, lease_validate, NULL, lease_columns, LEASE_NCOLUMNS},
};

/* Runs validate; checks that it set no code (causes only). */
static void causes_of(const kind *k, const cJSON *obj, const cJSON *old)
{
    api_error err = API_ERROR_INIT;
    k->validate(obj, old, &err);
    FUZZ_CHECK(err.code == 0);
    FUZZ_CHECK(apierr_cause_count(&err) >= 0);
    apierr_clear(&err);
}

static void check_cells(const kind *k, const cJSON *obj)
{
    for (size_t i = 0; i < k->ncolumns; i++) {
        if (!k->columns[i].cell)
            continue;
        cJSON *v = k->columns[i].cell(obj, 1767225600); /* 2026-01-01 */
        FUZZ_CHECK(v != NULL);
        cJSON_Delete(v);
    }
}

static void check_kind(const kind *k, const cJSON *body)
{
    cJSON *obj = cJSON_Duplicate(body, 1);
    if (k->defaults) {
        k->defaults(obj);
        cJSON *twice = cJSON_Duplicate(obj, 1);
        k->defaults(twice);
        FUZZ_CHECK(json_equal(obj, twice));
        cJSON_Delete(twice);
    }
    causes_of(k, obj, NULL);
    causes_of(k, obj, obj);
    if (k->validate_status) {
        api_error err = API_ERROR_INIT;
        k->validate_status(obj, &err);
        FUZZ_CHECK(err.code == 0);
        apierr_clear(&err);
    }
    check_cells(k, obj);
    check_cells(k, body);
    cJSON_Delete(obj);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cJSON *body = fuzz_parse_body(data, size);
    if (!body)
        return 0; /* not JSON: the handler answers 400 before the strategies run */
    cJSON *copy = cJSON_Duplicate(body, 1);
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        check_kind(&kinds[i], body);
    char *selector = deployment_scale_selector(body);
    free(selector);
    FUZZ_CHECK(json_equal(body, copy)); /* the strategies never touch their input */
    cJSON_Delete(copy);
    cJSON_Delete(body);
    return 0;
}

/*
 * fuzz_json_body.c - JSON request bodies of create, update and /status writes through the Foo
 * strategy's rules (api/foo.h): the body reader (json_parse_body, see body.h), unknown-field
 * pruning (fieldValidation Ignore/Warn), defaulting, validation of spec, status and generic
 * ObjectMeta.
 *
 * The input is the request body. The write path's own glue (apiserver/object_rules.c) needs a
 * live request and storage, so this target drives the pure pieces in the order the write path
 * uses them. Checked: pruning names as many fields as it removed (up to the 100 it names) and a
 * second pruning finds nothing (what fieldValidation=Ignore stores holds no unknown field);
 * defaulting is idempotent; validation of anything ends in a 422 Invalid Status that renders as
 * JSON, never a crash.
 */
#include "api/foo.h"
#include "common/apierr.h"
#include "common/json.h"
#include "fuzz/foo_fixture.h"
#include "fuzz/body.h"
#include "fuzz/fuzz.h"

/* Finishes err as the write path does and checks the Status it would answer. */
static void check_invalid(api_error *err, const cJSON *obj)
{
    const char *name = json_path_string(obj, "metadata.name");
    if (apierr_finish_invalid(err, FOO_KIND, FOO_GROUP, name ? name : "")) {
        FUZZ_CHECK(err->code == 422 && strcmp(err->reason, "Invalid") == 0);
        FUZZ_CHECK(apierr_cause_count(err) > 0);
    } else {
        FUZZ_CHECK(!apierr_is_set(err));
    }
    char *status = apierr_to_status_json(err);
    FUZZ_CHECK(status != NULL);
    cJSON *parsed = cJSON_Parse(status);
    FUZZ_CHECK(parsed != NULL);
    cJSON_Delete(parsed);
    free(status);
    apierr_clear(err);
}

/* Prunes the unknown fields of obj as fieldValidation=Ignore does, then checks none is left. */
static void prune_unknown(cJSON *obj)
{
    cJSON *paths = cJSON_CreateArray();
    size_t removed = foo_prune_unknown_fields(obj, paths, 100);
    FUZZ_CHECK((size_t)cJSON_GetArraySize(paths) == (removed < 100 ? removed : 100));
    cJSON_Delete(paths);
    paths = cJSON_CreateArray();
    FUZZ_CHECK(foo_prune_unknown_fields(obj, paths, 100) == 0);
    FUZZ_CHECK(cJSON_GetArraySize(paths) == 0);
    cJSON_Delete(paths);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cJSON *obj = fuzz_parse_body(data, size);
    if (!cJSON_IsObject(obj)) {
        cJSON_Delete(obj); /* not an object: the handler answers 400 before any rule runs */
        return 0;
    }
    prune_unknown(obj);

    /* Create: the name is known before defaulting (generateName or the body's own). */
    cJSON *meta = json_ensure_object(obj, "metadata");
    if (!cJSON_IsString(cJSON_GetObjectItemCaseSensitive(meta, "name")))
        json_set_string(meta, "name", "fuzz");
    foo_default(obj);
    cJSON *once = cJSON_Duplicate(obj, 1);
    foo_default(obj);
    FUZZ_CHECK(json_equal(obj, once));
    cJSON_Delete(once);

    api_error err = API_ERROR_INIT;
    foo_validate(obj, NULL, &err);
    check_invalid(&err, obj);

    /* Update: against itself (nothing immutable changed) and against a stored Foo. */
    cJSON *self = cJSON_Duplicate(obj, 1);
    foo_validate(obj, self, &err);
    check_invalid(&err, obj);
    cJSON *stored = foo_fixture();
    foo_validate(obj, stored, &err);
    check_invalid(&err, obj);

    foo_validate_status(obj, &err);
    check_invalid(&err, obj);

    meta = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
    meta_validate(meta, true, &err);
    check_invalid(&err, obj);
    meta_validate(meta, false, &err);
    check_invalid(&err, obj);
    meta_validate_update(meta, cJSON_GetObjectItemCaseSensitive(stored, "metadata"), &err);
    check_invalid(&err, obj);

    cJSON_Delete(stored);
    cJSON_Delete(self);
    cJSON_Delete(obj);
    return 0;
}

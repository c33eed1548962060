/*
 * fuzz_json_patch.c - JSON patch (common/jsonpatch.h), the body of a PATCH of type
 * application/json-patch+json, applied to a stored Foo.
 *
 * The input is the patch body. The contract checked: neither the document nor the patch is
 * modified; a result comes with no error and an error with no result; errors are 400, 413 or
 * 422 with a reason and a message; applying the same patch again to the same document gives an
 * equal result (the engine is deterministic and keeps no state).
 */
#include "common/apierr.h"
#include "common/json.h"
#include "common/jsonpatch.h"
#include "fuzz/foo_fixture.h"
#include "fuzz/body.h"
#include "fuzz/fuzz.h"

static void check_error(const api_error *err)
{
    FUZZ_CHECK(err->code == 400 || err->code == 413 || err->code == 422);
    FUZZ_CHECK(err->reason != NULL && err->message != NULL);
    const char *want = err->code == 400   ? "BadRequest"
                       : err->code == 413 ? "RequestEntityTooLarge"
                                          : "Invalid";
    FUZZ_CHECK(strcmp(err->reason, want) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cJSON *patch = fuzz_parse_body(data, size);
    if (!patch)
        return 0; /* not JSON: the handler answers 400 before the engine runs */
    cJSON *patch_copy = cJSON_Duplicate(patch, 1);
    cJSON *doc = foo_fixture();
    cJSON *doc_copy = cJSON_Duplicate(doc, 1);

    api_error err = API_ERROR_INIT;
    cJSON *out = jsonpatch_apply(doc, patch, &err);
    FUZZ_CHECK(json_equal(doc, doc_copy));
    FUZZ_CHECK(json_equal(patch, patch_copy));
    if (out) {
        FUZZ_CHECK(!apierr_is_set(&err));
        api_error err2 = API_ERROR_INIT;
        cJSON *out2 = jsonpatch_apply(doc, patch, &err2);
        FUZZ_CHECK(out2 != NULL && json_equal(out, out2));
        cJSON_Delete(out2);
        apierr_clear(&err2);
    } else {
        check_error(&err);
    }

    cJSON_Delete(out);
    apierr_clear(&err);
    cJSON_Delete(doc_copy);
    cJSON_Delete(doc);
    cJSON_Delete(patch_copy);
    cJSON_Delete(patch);
    return 0;
}

/*
 * fuzz_merge_patch.c - JSON merge patch and the strategic-merge-patch fallback
 * (common/mergepatch.h): the bodies of PATCH requests of type application/merge-patch+json and
 * application/strategic-merge-patch+json, applied to a stored Foo.
 *
 * The input is the patch body. Checked for each of the two readings (as sent, and with the
 * strategic directives stripped): inputs are not modified; merge patch is idempotent
 * (applying the patch to its own result changes nothing, RFC 7386); and the diff between the
 * document and the result, applied to the document, gives the result again. The patch is also
 * applied to itself and to no document, so the target side varies too.
 */
#include "common/json.h"
#include "common/mergepatch.h"
#include "fuzz/foo_fixture.h"
#include "fuzz/body.h"
#include "fuzz/fuzz.h"

/* Applies patch to target (may be NULL) and checks the contract of mergepatch.h. */
static void check_apply(const cJSON *target, const cJSON *patch)
{
    cJSON *target_copy = target ? cJSON_Duplicate(target, 1) : NULL;
    cJSON *patch_copy = cJSON_Duplicate(patch, 1);

    cJSON *out = mergepatch_apply(target, patch);
    FUZZ_CHECK(out != NULL);
    FUZZ_CHECK(!target || json_equal(target, target_copy));
    FUZZ_CHECK(json_equal(patch, patch_copy));

    cJSON *twice = mergepatch_apply(out, patch);
    FUZZ_CHECK(json_equal(out, twice));

    if (target) {
        cJSON *diff = mergepatch_diff(target, out);
        FUZZ_CHECK(diff != NULL);
        cJSON *back = mergepatch_apply(target, diff);
        FUZZ_CHECK(json_equal(back, out));
        cJSON_Delete(back);
        cJSON_Delete(diff);
    }

    cJSON_Delete(twice);
    cJSON_Delete(out);
    cJSON_Delete(patch_copy);
    cJSON_Delete(target_copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cJSON *patch = fuzz_parse_body(data, size);
    if (!patch)
        return 0; /* not JSON: the handler answers 400 before the engine runs */
    cJSON *doc = foo_fixture();

    check_apply(doc, patch);
    check_apply(NULL, patch);
    check_apply(patch, patch);

    cJSON *stripped = cJSON_Duplicate(patch, 1);
    int removed = mergepatch_strip_smp_directives(stripped);
    FUZZ_CHECK(removed >= 0);
    if (removed == 0)
        FUZZ_CHECK(json_equal(stripped, patch));
    /* Stripping is complete: a second pass finds nothing left. */
    cJSON *again = cJSON_Duplicate(stripped, 1);
    FUZZ_CHECK(mergepatch_strip_smp_directives(again) == 0);
    FUZZ_CHECK(json_equal(again, stripped));
    check_apply(doc, stripped);

    cJSON_Delete(again);
    cJSON_Delete(stripped);
    cJSON_Delete(doc);
    cJSON_Delete(patch);
    return 0;
}

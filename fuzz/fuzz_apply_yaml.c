/*
 * fuzz_apply_yaml.c - YAML request bodies (common/yamljson.h): server-side apply sends
 * application/apply-patch+yaml, converted to JSON before the write rules see it.
 *
 * The input is the YAML document. A conversion gives a tree or an error message, never both or
 * neither. Round trip: "JSON is valid YAML and converts to the same tree", so the tree printed
 * as JSON must convert back to an equal tree. Skipped where JSON text is not read back the same
 * by any YAML 1.1 parser (kube's included): a number that is not finite (JSON has no spelling
 * for it; cJSON prints null), and a string holding U+0085, U+2028 or U+2029, which YAML 1.1
 * treats as line breaks even inside quotes (cJSON prints them raw).
 */
#include "common/json.h"
#include "common/yamljson.h"
#include "fuzz/fuzz.h"

#include <math.h>

/* True when s holds one of YAML 1.1's Unicode line breaks (NEL, LS, PS) in UTF-8. */
static bool has_yaml_break(const char *s)
{
    return s && (strstr(s, "\xC2\x85") || strstr(s, "\xE2\x80\xA8") || strstr(s, "\xE2\x80\xA9"));
}

/* True when the tree prints as JSON that YAML reads back as the same tree (see above). */
static bool round_trips(const cJSON *item)
{
    if (cJSON_IsNumber(item) && !isfinite(item->valuedouble))
        return false;
    if (has_yaml_break(item->string) || (cJSON_IsString(item) && has_yaml_break(item->valuestring)))
        return false;
    for (const cJSON *c = item->child; c; c = c->next)
        if (!round_trips(c))
            return false;
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    api_error err = API_ERROR_INIT;
    cJSON *tree = yaml_to_json((const char *)data, size, &err);
    if (!tree) {
        FUZZ_CHECK(err.code == 400 && err.message != NULL);
        apierr_clear(&err);
        return 0;
    }
    FUZZ_CHECK(!apierr_is_set(&err));
    if (round_trips(tree)) {
        char *json = json_print(tree);
        cJSON *back = yaml_to_json(json, strlen(json), &err);
        if (!back)
            fprintf(stderr, "printed JSON %s does not convert back: %s\n", json, err.message);
        FUZZ_CHECK(back != NULL);
        if (!json_equal(tree, back)) {
            char *p = json_print(back);
            fprintf(stderr, "JSON %s converts back to %s\n", json, p);
            free(p);
        }
        FUZZ_CHECK(json_equal(tree, back));
        cJSON_Delete(back);
        free(json);
    }
    cJSON_Delete(tree);
    return 0;
}

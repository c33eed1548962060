/*
 * fuzz_apply_yaml.c - YAML request bodies (common/yamljson.h): server-side apply sends
 * application/apply-patch+yaml, converted to JSON before the write rules see it.
 *
 * The input is the YAML document. A conversion gives a tree or an error message, never both or
 * neither. Round trip: "JSON is valid YAML and converts to the same tree", so the tree printed
 * as JSON must convert back to an equal tree (skipped when a number is not finite: JSON has no
 * spelling for it and cJSON prints null).
 */
#include "common/json.h"
#include "common/yamljson.h"
#include "fuzz/fuzz.h"

#include <math.h>

static bool all_finite(const cJSON *item)
{
    if (cJSON_IsNumber(item))
        return isfinite(item->valuedouble);
    for (const cJSON *c = item->child; c; c = c->next)
        if (!all_finite(c))
            return false;
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *errmsg = NULL;
    cJSON *tree = yaml_to_json((const char *)data, size, &errmsg);
    if (!tree) {
        FUZZ_CHECK(errmsg != NULL);
        free(errmsg);
        return 0;
    }
    FUZZ_CHECK(errmsg == NULL);
    if (all_finite(tree)) {
        char *json = json_print(tree);
        char *errmsg2 = NULL;
        cJSON *back = yaml_to_json(json, strlen(json), &errmsg2);
        if (!back)
            fprintf(stderr, "printed JSON %s does not convert back: %s\n", json, errmsg2);
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

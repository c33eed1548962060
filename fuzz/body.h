/*
 * body.h - how the targets of request bodies read their input: the way the server reads every
 * JSON body (common/json.h, json_parse_body), with the checks that reader promises.
 */
#ifndef FOO_FUZZ_BODY_H
#define FOO_FUZZ_BODY_H

#include "common/json.h"
#include "fuzz/fuzz.h"

#include <math.h>

/* True when no object in the tree repeats a key (quadratic: fine for fuzz-sized inputs). */
static inline bool fuzz_no_repeated_keys(const cJSON *item)
{
    for (const cJSON *c = item->child; c; c = c->next) {
        if (cJSON_IsObject(item))
            for (const cJSON *d = c->next; d; d = d->next)
                if (strcmp(c->string, d->string) == 0)
                    return false;
        if (!fuzz_no_repeated_keys(c))
            return false;
    }
    return true;
}

/* True when every number of the tree is finite. */
static inline bool fuzz_all_finite(const cJSON *item)
{
    if (cJSON_IsNumber(item) && !isfinite(item->valuedouble))
        return false;
    for (const cJSON *c = item->child; c; c = c->next)
        if (!fuzz_all_finite(c))
            return false;
    return true;
}

/*
 * The tree the server would build from this body, or NULL where it answers 400. Checks that
 * repeated keys are resolved (none left, each named at most JSON_MAX_REPORTED_DUPLICATES times),
 * that no number is out of the range of a double (Go's encoding/json refuses 1e999; read as
 * infinity it would be stored as null and compare unequal to itself) and that a refusal points
 * inside the input. Caller deletes the tree.
 */
static inline cJSON *fuzz_parse_body(const uint8_t *data, size_t size)
{
    cJSON *dups = cJSON_CreateArray();
    size_t offset = (size_t)-1;
    cJSON *tree = json_parse_body((const char *)data, size, dups, &offset);
    if (tree) {
        FUZZ_CHECK(fuzz_no_repeated_keys(tree));
        FUZZ_CHECK(fuzz_all_finite(tree));
    } else {
        FUZZ_CHECK(offset <= size);
    }
    FUZZ_CHECK(cJSON_GetArraySize(dups) <= JSON_MAX_REPORTED_DUPLICATES);
    const cJSON *d;
    cJSON_ArrayForEach(d, dups)
    {
        FUZZ_CHECK(cJSON_IsString(d));
    }
    cJSON_Delete(dups);
    return tree;
}

#endif

/*
 * strategicpatch.h - strategic merge patch (application/strategic-merge-patch+json) applied to an
 * object of a kind whose list semantics are known, as kube-apiserver applies it to its built-in
 * kinds (docs/api.md §5.5, "Strategic merge patch for built-in kinds").
 *
 * What a patch does to each list comes from a static schema ("patch meta"): the patchStrategy and
 * patchMergeKey tags kube's Go types carry. Lists the schema does not describe are replaced
 * whole; objects are always merged key by key. Kinds without a schema (Foo) keep the merge-patch
 * fallback of common/mergepatch.h (decision D4).
 *
 * Pure functions on caller-owned trees: neither input is modified and the result is a new tree.
 * Thread-safe as long as the trees passed in are not modified concurrently; schemas are constant.
 * Allocation failures abort (common/alloc.h).
 */
#ifndef FOO_COMMON_STRATEGICPATCH_H
#define FOO_COMMON_STRATEGICPATCH_H

#include "common/apierr.h"

#include <cjson/cJSON.h>
#include <stddef.h>

/*
 * Deepest nesting (containers on one path from the root) accepted in the patch or the original:
 * cJSON's parse limit, as for JSON patch (common/jsonpatch.h), so every tree a client can send is
 * accepted and the recursive walks over both trees stay within that many levels.
 */
#define SMP_MAX_DEPTH CJSON_NESTING_LIMIT

/* A field's patchStrategy tag in kube's Go types. */
typedef enum smp_strategy {
    SMP_DEFAULT = 0,       /* a list is replaced whole (atomic); an object is merged */
    SMP_MERGE,             /* a list is merged: by merge_key, or as a set when it holds scalars */
    SMP_RETAIN_KEYS,       /* an object (a union) that kubectl patches with $retainKeys */
    SMP_MERGE_RETAIN_KEYS, /* SMP_MERGE, and kubectl sends $retainKeys in its elements */
} smp_strategy;

typedef struct smp_schema smp_schema;

/*
 * One field of an object. A field absent from its object's schema behaves as
 * {name, SMP_DEFAULT, NULL, NULL}. The retainKeys strategies are recorded as kube's tags say, but
 * the applier honours a $retainKeys directive on any object, as kube does.
 */
typedef struct smp_field {
    const char *name;         /* JSON name */
    smp_strategy strategy;    /* what a patch does to the field's list */
    const char *merge_key;    /* SMP_MERGE lists of objects: the member matching elements */
    const smp_schema *schema; /* of the field's object, or of its list's elements; NULL: none */
} smp_field;

/* The fields of one object type that need more than the defaults (a short linear table). */
struct smp_schema {
    const smp_field *fields;
    size_t nfields;
};

/* A schema over a static array of smp_field: static const smp_schema s = SMP_SCHEMA(fields); */
#define SMP_SCHEMA(field_array)                                                                    \
    {                                                                                              \
        (field_array), sizeof(field_array) / sizeof((field_array)[0])                              \
    }

/*
 * Applies `patch` to `original` as kube's strategicpatch.StrategicMergeMapPatch does on the
 * server, with `schema` describing the original's type (NULL: nothing special anywhere, i.e.
 * merge patch plus the directives). original NULL or not an object counts as {}; a patch that is
 * NULL or JSON null changes nothing.
 *
 * Semantics: object members merge key by key and null deletes one; a list the schema marks
 * SMP_MERGE with a merge key is merged element by element (a patch element updates the original
 * element with the same key value, the first one if several share it; new ones are added), one
 * without a merge key is a set union of scalars, every other list is replaced. Directives:
 * "$patch": "replace" (this object or list is taken from the patch), "delete" (this object is
 * removed, or the elements of a merged list with this key value), "merge" (the default, accepted
 * explicitly); "$setElementOrder/<list>" (the relative order of those elements after the merge;
 * elements not named there keep their place among the others); "$deleteFromPrimitiveList/<list>"
 * (removes these scalars from the list); "$retainKeys" (only these members of the original
 * object survive, and every non-null member of the patch object must be listed). Elements are
 * ordered as kube orders them (patch or $setElementOrder order first, interleaved with the
 * original's other elements by their original positions). No directive survives into the result.
 *
 * On success returns 0 and sets *out to the result, a new object the caller frees with
 * cJSON_Delete. On error returns -EINVAL, sets *out to NULL and fills *err with kube's wording:
 *  - 400 BadRequest: the patch is not an object ("json: cannot unmarshal array into Go value of
 *    type map[string]interface {}"); "invalid patch format of retainKeys" (not a list, or a patch
 *    member it does not name), "... of setElementOrder list", "... of primitive list" (a malformed
 *    directive name or value); "map: map[image:x] does not contain declared merge key: name"; an
 *    unknown "$patch" value ("unknown patch type: X in map: map[...]"); a list element or a value
 *    of the wrong type ("expected a map[string]interface {}, but received a string"); patch
 *    elements out of their $setElementOrder order ("The order in patch list: ..."); a merge key
 *    whose value is an object or a list; any other "$" member (an unknown directive); a patch
 *    nested deeper than SMP_MAX_DEPTH. kube answers 500 with no reason for most of these (its
 *    patch engine returns plain errors); 400 with the same message is what they are.
 *  - 422 Invalid "the server rejected our request due to an error in our request", with the cause
 *    "lists of lists are not supported": a list element of a merged set is itself a list.
 *  - 500 InternalError: the original is nested deeper than SMP_MAX_DEPTH.
 * Values quoted in a message are printed the way Go prints them (%v), cut after about 1 KiB.
 *
 * Work: linear in the sizes of both trees plus one sort per merged list (n log n): elements are
 * matched by merge key, and placed by order, through hash indexes (common/jsonkeys.h).
 */
int smp_apply(const cJSON *original, const cJSON *patch, const smp_schema *schema, cJSON **out,
              api_error *err);

#endif

/*
 * jsonpatch.h - JSON patch (RFC 6902) with JSON pointers (RFC 6901) on cJSON trees, with the
 * error classes kube-apiserver gives a PATCH of type application/json-patch+json
 * (docs/api.md §5.5).
 *
 * Pure function on caller-owned trees; thread-safe as long as the trees passed in are not
 * modified concurrently. Allocation failures abort (common/alloc.h).
 */
#ifndef FOO_COMMON_JSONPATCH_H
#define FOO_COMMON_JSONPATCH_H

#include "common/apierr.h"

#include <cjson/cJSON.h>

/* kube-apiserver's limit on the operations of one JSON patch (handlers/patch.go). */
#define JSONPATCH_MAX_OPERATIONS 10000

/*
 * Bound on the bytes that the copy operations of one patch may add, summed over the patch:
 * kube-apiserver sets evanphx/json-patch's AccumulatedCopySizeLimit to its request body limit,
 * 3 MiB. Without it, 40 copies of a value into itself double the document 40 times.
 */
#define JSONPATCH_MAX_COPY_BYTES (3 * 1024 * 1024)

/*
 * Deepest nesting (containers on one path from the root) a patched document may reach: cJSON's
 * own parse limit, so that whatever a patch builds can be stored and read back, and so that the
 * recursive walks over the result (copy, compare, free) stay shallow.
 */
#define JSONPATCH_MAX_DEPTH CJSON_NESTING_LIMIT

/*
 * Applies `patch` (an array of operations) to `doc` and returns the result as a new tree the
 * caller frees with cJSON_Delete. Neither input is modified, even on error. The operations are
 * applied in order, all or nothing.
 *
 * Operations: add, remove, replace, move, copy, test. Pointers follow RFC 6901: "" is the whole
 * document, every other pointer starts with '/', "~0" stands for '~' and "~1" for '/'. Object
 * keys are case-sensitive. An array index is "0" or digits without a leading zero, at most the
 * array length for add (the length, or "-", appends), below the length otherwise.
 *
 * On error returns NULL and sets *err (any previous content replaced):
 *  - 400 BadRequest: the patch is not an array; an operation is not an object or holds one of
 *    op/path/from/value twice; "op" is missing or unknown; "path" (or "from" for move/copy)
 *    is missing, not a string or not a pointer (no leading '/', bad '~' escape); "value" is
 *    missing for add/replace/test (null is a value); or a move's "from" is a proper prefix of
 *    its "path". These are checked for every operation before any is applied. The message
 *    starts with "the server rejected our request due to an error in our request: ".
 *  - 413 RequestEntityTooLarge: more than JSONPATCH_MAX_OPERATIONS operations (checked first
 *    after the array check), message "Request entity too large: The allowed maximum operations
 *    in a JSON patch is 10000, got: N".
 *  - 422 Invalid: an operation does not apply to the document (a missing key or parent, an
 *    index out of range or not a valid index, removing the root) or a test fails. The message
 *    names the operation's 0-based index and its path in the words of kube's patch engine,
 *    e.g. "json patch operation #1: testing value /spec/replicas failed: test failed".
 *    Also 422 when an operation would nest the document deeper than JSONPATCH_MAX_DEPTH:
 *    "json patch operation #N: add operation does not apply: the result would be nested deeper
 *    than 1000 levels". For a move the depth is bounded from above without walking the moved
 *    value, so a move in a document already nested close to the limit may be refused.
 *  - 413 RequestEntityTooLarge: the values copied by the patch's copy operations add up to
 *    more than JSONPATCH_MAX_COPY_BYTES of compact JSON: "Request entity too large: json patch
 *    operation #N: Unable to complete the copy, the accumulated size increase of copy would
 *    exceed the limit 3145728 bytes". Each copied value is measured by a walk that stops as
 *    soon as the remaining allowance is used up, so an oversized copy costs no more than the
 *    allowance.
 * Work: each container a pointer passes through is indexed once (objects by key, arrays by
 * position) and the index kept up to date, so a pointer step costs O(1) and 10 000 operations on
 * an object of 150 000 labels stay linear; an array insertion or removal moves the positions
 * after it (as kube's Go slices do). Each operation copies what it adds; the document's depth is
 * measured once. What operations take out is freed when the patch ends.
 */
cJSON *jsonpatch_apply(const cJSON *doc, const cJSON *patch, api_error *err);

#endif

/*
 * mergepatch.h - JSON merge patch (RFC 7386) on cJSON trees, the strategic-merge-patch fallback
 * of docs/api.md §5.5 and D4, and the reverse operation (a patch between two trees).
 *
 * Pure functions on caller-owned trees; thread-safe as long as the trees passed in are not
 * modified concurrently. Allocation failures abort (common/alloc.h), so results are never NULL.
 */
#ifndef FOO_COMMON_MERGEPATCH_H
#define FOO_COMMON_MERGEPATCH_H

#include <cjson/cJSON.h>

/*
 * Applies `patch` to `target` per RFC 7386 §2 and returns the result as a new tree the caller
 * frees with cJSON_Delete. Neither input is modified. target may be NULL (no document yet).
 * A non-object patch replaces the target wholesale (so a null patch yields a JSON null);
 * members set to null in an object patch are removed; arrays are replaced, never merged.
 * Object members keep the target's order, new ones follow in the patch's order. Where an object
 * repeats a key, its last member counts and the result holds the key once. Time is linear in the
 * sizes of both trees (keys are matched through hash indexes).
 */
cJSON *mergepatch_apply(const cJSON *target, const cJSON *patch);

/*
 * Removes the strategic-merge-patch directives from `patch` in place, recursively, so that an
 * application/strategic-merge-patch+json body can be applied with mergepatch_apply (lists are
 * then replaced wholesale, D4). Removed: members "$patch", "$retainKeys", and members whose
 * name starts with "$setElementOrder/" or "$deleteFromPrimitiveList/". Two directives keep
 * their meaning where merge patch can express it:
 *  - an object member whose value is {"$patch":"delete", ...} becomes null (delete the member);
 *  - array elements that are objects with "$patch":"delete" (delete this element) or that hold
 *    nothing but directives (e.g. {"$patch":"replace"}) are dropped from the array.
 * Returns the number of directives removed or translated (0: the body was plain merge patch).
 * NULL or a non-container patch is left alone.
 */
int mergepatch_strip_smp_directives(cJSON *patch);

/*
 * A merge patch turning `from` into `to`: mergepatch_apply(from, result) equals `to`. Returns a
 * new tree (caller frees). When both are objects the patch holds only the differences (an empty
 * object when they are equal), with null for removed members; otherwise it is a copy of `to`.
 * Limitation of RFC 7386 itself: a null value nested inside an object of `to` cannot be
 * expressed and reads back as "absent". Linear time, like mergepatch_apply.
 */
cJSON *mergepatch_diff(const cJSON *from, const cJSON *to);

#endif

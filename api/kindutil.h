/*
 * kindutil.h - private to api/: small field helpers shared by the built-in kinds' strategies
 * (deployment.c, event.c, lease.c, namespace.c, podtemplate.c, labelselector.c).
 *
 * The strategies read objects as cJSON trees that may hold anything a client sent: every helper
 * here accepts NULL and values of the wrong JSON type, and reports wrong types with the CRD
 * schema wording of fielderr.h (no Go decoder runs here to reject them earlier).
 *
 * Pure functions; thread-safe for distinct api_error values.
 */
#ifndef FOO_API_KINDUTIL_H
#define FOO_API_KINDUTIL_H

#include "common/apierr.h"
#include "common/sbuf.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Largest value of a Go int32, the type of most counts in the built-in kinds. */
#define KU_INT32_MAX 2147483647

/* kube's IsNegativeErrorMsg. */
#define KU_MSG_NEGATIVE "must be greater than or equal to 0"

/* obj[key] when obj is an object and the member is present and not JSON null; else NULL. */
const cJSON *ku_member(const cJSON *obj, const char *key);
/* Same, for callers that modify the member. */
cJSON *ku_member_mut(cJSON *obj, const char *key);

/* parent[key] as an object, created (empty) when absent or null; NULL when parent is not an
   object or the member has another type (left for validation to report). */
cJSON *ku_object_member(cJSON *parent, const char *key);

/* v when it is an array, else NULL: what cJSON_ArrayForEach may walk (it would walk an object's
   members too). */
const cJSON *ku_array(const cJSON *v);
cJSON *ku_array_mut(cJSON *v);

/* The string obj[key], or NULL when absent or not a string. Borrowed. */
const char *ku_string(const cJSON *obj, const char *key);

/* True when v is absent, null or "": the zero value of a Go string, which kube treats as unset. */
bool ku_string_unset(const cJSON *v);

/* True when v is absent, null or the number 0: the zero value of a Go integer. */
bool ku_int_unset(const cJSON *v);

/* obj[key] as an integer when it is one (within int64), else `otherwise`. */
int64_t ku_int_or(const cJSON *obj, const char *key, int64_t otherwise);

/*
 * Checks an optional integer: absent is fine; a non-integer is a type error; below min is
 * `Invalid value: <v>: <min_msg>`; above max is `Invalid value: <v>: must be less than or equal to
 * <max>`. Returns true when v is present and valid, then *out (may be NULL) receives it.
 */
bool ku_check_int(const cJSON *v, const char *path, int64_t min, const char *min_msg, int64_t max,
                  api_error *err, int64_t *out);

/* Checks an optional string; a non-string is a type error. Returns the string or NULL. */
const char *ku_check_string(const cJSON *v, const char *path, api_error *err);

/* Checks an optional RFC 3339 time string ("" counts as unset). */
void ku_check_time(const cJSON *v, const char *path, api_error *err);

/* Checks an optional boolean. */
void ku_check_bool(const cJSON *v, const char *path, api_error *err);

/* True when v is absent or an object; otherwise records a type error and returns false. */
bool ku_check_object(const cJSON *v, const char *path, api_error *err);

/* True when v is absent or an array; otherwise records a type error and returns false. */
bool ku_check_array(const cJSON *v, const char *path, api_error *err);

/*
 * Checks a map of labels at `path` (an object of strings; keys qualified names, values label
 * values), worded as kube's ValidateLabels: `<path>: Invalid value: "<key or value>": <why>`.
 * Returns true when it is absent or valid.
 */
bool ku_check_labels(const cJSON *labels, const char *path, api_error *err);

/* Why a name fails a kind's naming rule (dns1123_label_error, ...), or NULL when it is valid. */
typedef const char *(*ku_name_rule)(const char *name);

/*
 * Validates metadata like meta_validate/meta_validate_update (api/foo.h), except that
 * metadata.name follows `name_rule` instead of the DNS-1123 subdomain rule. old_obj is the stored
 * object on update, NULL on create.
 */
void ku_validate_meta(const cJSON *obj, const cJSON *old_obj, ku_name_rule name_rule,
                      api_error *err);

/* kube's path-segment rule for names of kinds without a stricter one (Events). */
const char *ku_path_segment_error(const char *name);

/*
 * For n strings, which ones repeat an earlier one (the later ones are marked), in O(n log n).
 * NULL entries never repeat. The caller frees the result (n + 1 entries, never NULL).
 */
bool *ku_repeated_strings(const char *const *strs, size_t n);

/*
 * Appends `<path>: Invalid value: <rendered>: <detail>` where rendered is a value already
 * written in Go's syntax (a map or struct as kube's %#v prints it), echoed verbatim.
 */
void ku_invalid_rendered(api_error *err, const char *path, const char *rendered,
                         const char *detail);

/* Appends a map of strings as Go's %#v prints a map[string]string: keys sorted,
   `map[string]string{"a":"1", "b":"2"}`; NULL prints `map[string]string(nil)`. Non-string
   values print as "". */
void ku_render_go_string_map(sbuf *sb, const cJSON *map);

/* Appends an array of strings as Go's %#v prints a []string: `[]string{"a", "b"}`, NULL prints
   `[]string(nil)`. Non-string items print as "". */
void ku_render_go_string_slice(sbuf *sb, const cJSON *arr);

#endif

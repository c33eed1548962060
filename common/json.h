/*
 * json.h - small cJSON helpers used on both sides. Thread-safe as long as the objects passed in
 * are not shared between threads.
 */
#ifndef FOO_COMMON_JSON_H
#define FOO_COMMON_JSON_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>

/* At most this many duplicate keys are named by json_parse_body (all are resolved). */
#define JSON_MAX_REPORTED_DUPLICATES 100

/*
 * Parses a request body, the one way the server reads JSON a client sent (every kind, every
 * verb), so that what the rules check is what gets stored:
 *  - the whole input must be one JSON value; anything but whitespace after it is invalid;
 *  - a number beyond a double's range (7e777) is refused: it would be stored as null;
 *  - a string (or key) holding \u0000 is refused: cJSON's strings end at NUL, so "uid\u0000x"
 *    would otherwise read as "uid";
 *  - where an object repeats a key, the last value wins (as Go's encoding/json decides, so the
 *    tree matches what Go clients and kube's storage would see) and the earlier members are
 *    removed. When dups is non-NULL (a cJSON array), the field path of each repeated key
 *    ("metadata.uid", "spec.items[2].name") is appended to it, at most
 *    JSON_MAX_REPORTED_DUPLICATES of them.
 * Nesting is bounded by cJSON (CJSON_NESTING_LIMIT, 1000); the work is linear in the input.
 * Returns an owned tree, or NULL when the input is not acceptable JSON; then *error_offset (when
 * non-NULL) is the byte offset where reading stopped. Thread-safe.
 */
cJSON *json_parse_body(const char *data, size_t len, cJSON *dups, size_t *error_offset);

/*
 * True when item is a JSON number holding an integer in [min, max]; then *out receives it.
 * False (and *out untouched) for other types, fractions, and values out of range, including
 * those no int64 can hold (converting such a double would be undefined behaviour).
 */
bool json_int64(const cJSON *item, int64_t min, int64_t max, int64_t *out);

/* Looks up a dotted path ("metadata.name") case-sensitively; NULL when any step is absent. */
cJSON *json_path(const cJSON *obj, const char *dotted);
/* The string at a dotted path, or NULL when absent or not a string. Borrowed pointer. */
const char *json_path_string(const cJSON *obj, const char *dotted);
/* The child object `key` of parent, created (or replacing a non-object) when needed. */
cJSON *json_ensure_object(cJSON *parent, const char *key);
/* Replaces or adds parent[key] with a string / number / bool / item (item ownership taken). */
void json_set_string(cJSON *parent, const char *key, const char *value);
void json_set_number(cJSON *parent, const char *key, double value);
void json_set_bool(cJSON *parent, const char *key, bool value);
void json_set_item(cJSON *parent, const char *key, cJSON *item);
/* Removes parent[key] if present. */
void json_remove(cJSON *parent, const char *key);
/* cJSON_PrintUnformatted that never returns NULL (allocation failure aborts). Caller frees. */
char *json_print(const cJSON *item);
/* Parses like Go's strconv.ParseBool: 1,t,T,TRUE,true,True / 0,f,F,FALSE,false,False. */
bool json_parse_bool(const char *s, bool *out);
/* Deep equality, key order ignored for objects. Linear time (objects are compared through a
   key index). Objects with repeated keys compare by their last values. */
bool json_equal(const cJSON *a, const cJSON *b);
/* Whether the array (or NULL, or not an array: false) holds the string s, such as a finalizer. */
bool json_has_string(const cJSON *array, const char *s);

#endif

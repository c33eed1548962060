/*
 * json.h - small cJSON helpers used on both sides. Thread-safe as long as the objects passed in
 * are not shared between threads.
 */
#ifndef FOO_COMMON_JSON_H
#define FOO_COMMON_JSON_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>

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
/*
 * Deletes the field at a path of the form reported for unknown fields: dotted keys with optional
 * [index] steps ("spec.bogus", "status.conditions[0].x"). Returns true if something was removed.
 */
bool json_delete_path(cJSON *obj, const char *path);
/* Deep equality, key order ignored for objects. */
bool json_equal(const cJSON *a, const cJSON *b);

#endif

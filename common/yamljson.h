/*
 * yamljson.h - YAML (one document) to cJSON, for request bodies sent as YAML
 * (application/apply-patch+yaml). Thread-safe.
 *
 * Scalars: quoted → string; plain → null (`null`, `~`, empty), bool (`true`/`false` in any of
 * YAML's spellings), number (integer or float syntax), else string. Anchors and aliases are not
 * supported (an alias is an error). JSON is valid YAML and converts to the same tree.
 */
#ifndef FOO_COMMON_YAMLJSON_H
#define FOO_COMMON_YAMLJSON_H

#include <cjson/cJSON.h>
#include <stddef.h>

/* Returns a new tree, or NULL with *errmsg (malloc'd) describing the first problem. */
cJSON *yaml_to_json(const char *text, size_t len, char **errmsg);

#endif

/*
 * column.h - the columns of `kubectl get` for a kind (a meta.k8s.io Table's columnDefinitions and
 * the cells of each row), described as data so the server's table code stays kind-agnostic.
 *
 * A column's cell is either the value at a dotted JSON path of the object (`path`, `cell` NULL:
 * the value as stored, JSON null when absent) or computed by `cell` (`path` NULL) where kube's
 * printer does more than read one field. Cell functions accept any JSON (wrong types, missing
 * members) and then return what kube prints for the zero value; they return a new cJSON value
 * that the caller frees (never NULL): a string or a number, or JSON null where the kind shows no
 * value (Foo's condition column). Pure; thread-safe.
 */
#ifndef FOO_API_COLUMN_H
#define FOO_API_COLUMN_H

#include <cjson/cJSON.h>
#include <stdint.h>

typedef struct api_column {
    const char *name;                                /* "Ready"; kubectl prints it upper-cased */
    const char *type;                                /* "string", "integer", "date", ... */
    const char *format;                              /* "name" for the Name column, else "" */
    const char *description;                         /* columnDefinitions[].description */
    int priority;                                    /* 0: always shown; 1: with -o wide */
    const char *path;                                /* dotted JSON path of a plain cell, or NULL */
    cJSON *(*cell)(const cJSON *obj, int64_t now_s); /* computed cell, or NULL */
} api_column;

/* Descriptions of the two columns every kind has (kube's ObjectMeta field documentation). */
#define API_COLUMN_NAME_DESCRIPTION "Name must be unique within a namespace."
#define API_COLUMN_AGE_DESCRIPTION                                                                 \
    "CreationTimestamp is a timestamp representing the server time when this object was "          \
    "created."

/* The Name column (plain cell at metadata.name). */
#define API_COLUMN_NAME                                                                            \
    {                                                                                              \
        "Name", "string", "name", API_COLUMN_NAME_DESCRIPTION, 0, "metadata.name", NULL            \
    }
/* The Age column of the built-in kinds (kube declares it as type "string"). */
#define API_COLUMN_AGE                                                                             \
    {                                                                                              \
        "Age", "string", "", API_COLUMN_AGE_DESCRIPTION, 0, NULL, api_cell_age                     \
    }

/*
 * kube's translateTimestampSince: the HumanDuration (common/timefmt.h) from the RFC 3339 time ts
 * to now_s, or "<unknown>" when ts is NULL, empty or not a time. Writes at most outlen bytes.
 */
void api_since(const char *ts, int64_t now_s, char *out, int outlen);

/* AGE: api_since(metadata.creationTimestamp). */
cJSON *api_cell_age(const cJSON *obj, int64_t now_s);

/* The string at a dotted path, or "" when absent or not a string (a Go string's zero value). */
cJSON *api_cell_string(const cJSON *obj, const char *dotted);

/* The integer at a dotted path, or 0 when absent or not an integer (a Go int's zero value). */
cJSON *api_cell_int(const cJSON *obj, const char *dotted);

#endif

/*
 * registry.h - the table of served resources (docs/design.md §4.9): one entry per resource, naming
 * its group, version, kind, scope, subresources, table columns and strategy. Adding a kind is one
 * entry plus a strategy (README "Adding a kind"). A registry is built once at startup and
 * read-only afterwards (thread-safe to read); each server holds its own.
 */
#ifndef FOO_APISERVER_REGISTRY_H
#define FOO_APISERVER_REGISTRY_H

#include "common/apierr.h"
#include "common/sbuf.h"

#include <cjson/cJSON.h>
#include <stdbool.h>

/* What a kind adds to the generic create/update logic. Every hook may be NULL. */
typedef struct as_strategy {
    /* Fills defaults (called after the name is known). */
    void (*defaults)(cJSON *obj);
    /* Validates the whole object (old = NULL on create); appends causes. */
    void (*validate)(const cJSON *obj, const cJSON *old, api_error *err);
    /* Validates .status on a /status write; appends causes. */
    void (*validate_status)(const cJSON *obj, api_error *err);
    /* Removes the fields the schema does not know, names up to max_named of them in paths, and
       returns how many it removed (fieldValidation). */
    size_t (*prune_unknown_fields)(cJSON *obj, cJSON *paths, size_t max_named);
} as_strategy;

/* One column of `kubectl get` (a meta.k8s.io Table column). */
typedef enum as_column_kind {
    AS_COL_NAME,      /* metadata.name */
    AS_COL_AGE,       /* time since metadata.creationTimestamp, in kube's HumanDuration */
    AS_COL_PATH,      /* the value at a dotted JSON path (null when absent) */
    AS_COL_CONDITION, /* status of status.conditions[type == path] */
} as_column_kind;

typedef struct as_column {
    const char *name;
    const char *type;   /* "string", "integer", "date", ... */
    const char *format; /* "name" for the Name column, else "" */
    const char *description;
    int priority; /* 0 = always shown; 1 = with -o wide */
    as_column_kind kind;
    const char *path;
} as_column;

typedef struct as_resource {
    const char *group; /* "" for the core group */
    const char *version;
    const char *resource; /* plural */
    const char *singular;
    const char *kind;
    const char *list_kind;
    const char *short_names[4]; /* NULL-terminated */
    const char *categories[4];  /* NULL-terminated */
    bool namespaced;
    bool has_status; /* /status subresource; spec and status are separate */
    bool has_scale;  /* /scale (autoscaling/v1 Scale on spec.replicas) */
    /* Subresources beyond status and scale, each served by the rest layer's handler of that
       name for this kind (rest/subresources.c), e.g. Foo's "bar"; NULL-terminated. */
    const char *custom_subresources[2];
    const as_strategy *strategy;
    const as_column *columns; /* NULL = Name and Age */
    int ncolumns;
} as_resource;

typedef struct as_registry as_registry;

/* Builds the table: Foo always; in standalone mode also the built-in kinds the controller uses
   (apps/v1 deployments, v1 events and namespaces, coordination.k8s.io/v1 leases). */
as_registry *as_registry_new(bool standalone);
/* NULL is a no-op. */
void as_registry_free(as_registry *reg);
/* The entry for group/version/resource, or NULL. */
const as_resource *as_registry_find(const as_registry *reg, const char *group, const char *version,
                                    const char *resource);
/* Every entry, in registration order; *n receives the count. */
const as_resource *const *as_registry_all(const as_registry *reg, int *n);
/* Whether r has the subresource named sub (status, scale, or one of its custom ones). */
bool as_resource_has_subresource(const as_resource *r, const char *sub);

/* "group/version" or "version" for the core group. */
void as_resource_group_version(const as_resource *r, sbuf *out);
/* Storage key prefix of a resource, ending in '/': "/demo.example.com/foos/" or, namespaced,
   "/apps/deployments/NS/" (ns NULL = every namespace: "/apps/deployments/"). */
void as_resource_prefix(const as_resource *r, const char *ns, sbuf *out);
/* "foos.demo.example.com" / "events" - the name used in error messages. */
const char *as_resource_qualified(const as_resource *r, char *buf, int len);

#endif

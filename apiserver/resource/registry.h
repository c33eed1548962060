/*
 * registry.h - the table of served resources (docs/design.md §4.9): one entry per resource, naming
 * its group, version, kind, scope, subresources, table columns and strategy. Adding a kind is one
 * entry plus a strategy (README "Adding a kind"). A registry is built once at startup and
 * read-only afterwards (thread-safe to read); each server holds its own.
 */
#ifndef FOO_APISERVER_REGISTRY_H
#define FOO_APISERVER_REGISTRY_H

#include "api/builtin.h"
#include "api/column.h"
#include "common/strategicpatch.h"
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
    /* How metadata.generation evolves (api/builtin.h: none, spec, spec and annotations). */
    api_generation generation;
    /* The merge keys of a strategic merge patch (api/patchmeta.h); NULL: such a patch is applied
       as a merge patch, as kube does for kinds without a compiled-in type (docs/api.md D4). */
    const smp_schema *(*patch_schema)(void);
    /* The label selector /scale reports (a new string); NULL: the object's status.selector. */
    char *(*scale_selector)(const cJSON *obj);
} as_strategy;

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
    const api_column *columns; /* `kubectl get` columns (api/column.h); NULL = Name and Age */
    int ncolumns;
} as_resource;

/* The longest namespace name (a DNS-1123 label). */
#define AS_MAX_NAMESPACE 63

typedef struct as_registry as_registry;

/* Builds the table: Foo always; in standalone mode also the built-in kinds the controller uses
   (apps/v1 deployments, v1 events and namespaces, coordination.k8s.io/v1 leases). */
as_registry *as_registry_new(bool standalone);
/* A registry of exactly the n entries given, in that order (tests build registries of their own
   kinds this way). The entries are borrowed and must outlive the registry. */
as_registry *as_registry_of(const as_resource *const *entries, int n);
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
/*
 * Splits a storage key ("/G/R/NAME" or, namespaced, "/G/R/NS/NAME") into its namespace (copied
 * into ns, "" for a cluster-scoped key; names and namespaces hold no '/') and its name (a pointer
 * into key). Returns false for a key of another shape (an empty name or namespace, a third
 * segment) or a namespace longer than ns_cap - 1.
 */
bool as_key_split(const char *key, char *ns, size_t ns_cap, const char **name);

/* "foos.demo.example.com" / "events" - the name used in error messages. */
const char *as_resource_qualified(const as_resource *r, char *buf, int len);

#endif

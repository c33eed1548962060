#include "apiserver/resource/registry.h"
#include "api/foo.h"
#include "common/alloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const as_strategy foo_strategy = {
    .defaults = foo_default,
    .validate = foo_validate,
    .validate_status = foo_validate_status,
    .prune_unknown_fields = foo_prune_unknown_fields,
};

static const as_column foo_columns[] = {
    {"Name", "string", "name", "Name of the Foo", 0, AS_COL_NAME, NULL},
    {"Deployment", "string", "", "Name of the Deployment the Foo owns", 0, AS_COL_PATH,
     "spec.deploymentName"},
    {"Replicas", "integer", "", "Desired number of pods", 0, AS_COL_PATH, "spec.replicas"},
    {"Available", "integer", "", "Pods available", 0, AS_COL_PATH, "status.availableReplicas"},
    {"Ready", "string", "", "Status of the Ready condition", 0, AS_COL_CONDITION, "Ready"},
    {"Age", "date", "", "Time since the Foo was created", 0, AS_COL_AGE, NULL},
    {"Namespace", "string", "", "Namespace of the Deployment", 1, AS_COL_PATH, "spec.namespace"},
    {"Image", "string", "", "Container image of the pods", 1, AS_COL_PATH, "spec.image"},
};

static const as_resource foos = {
    .group = FOO_GROUP,
    .version = FOO_VERSION,
    .resource = FOO_RESOURCE,
    .singular = FOO_SINGULAR,
    .kind = FOO_KIND,
    .list_kind = FOO_LIST_KIND,
    .short_names = {FOO_SHORT_NAME, NULL},
    .categories = {FOO_CATEGORY, NULL},
    .namespaced = false,
    .has_status = true,
    .has_scale = true,
    .custom_subresources = {"bar", NULL},
    .strategy = &foo_strategy,
    .columns = foo_columns,
    .ncolumns = sizeof foo_columns / sizeof foo_columns[0],
};

struct as_registry {
    const as_resource **entries; /* borrowed: the entries are static tables */
    int n;
};

static void add(as_registry *reg, const as_resource *r)
{
    reg->entries = xrealloc(reg->entries, (size_t)(reg->n + 1) * sizeof *reg->entries);
    reg->entries[reg->n++] = r;
}

as_registry *as_registry_new(bool standalone)
{
    as_registry *reg = xcalloc(1, sizeof *reg);
    add(reg, &foos);
    (void)standalone;
    return reg;
}

void as_registry_free(as_registry *reg)
{
    if (!reg)
        return;
    free(reg->entries);
    free(reg);
}

bool as_resource_has_subresource(const as_resource *r, const char *sub)
{
    if (strcmp(sub, "status") == 0)
        return r->has_status;
    if (strcmp(sub, "scale") == 0)
        return r->has_scale;
    for (int i = 0; r->custom_subresources[i]; i++)
        if (strcmp(r->custom_subresources[i], sub) == 0)
            return true;
    return false;
}

const as_resource *as_registry_find(const as_registry *reg, const char *group, const char *version,
                                    const char *resource)
{
    for (int i = 0; i < reg->n; i++) {
        const as_resource *r = reg->entries[i];
        if (strcmp(r->group, group) == 0 && strcmp(r->version, version) == 0 &&
            strcmp(r->resource, resource) == 0)
            return r;
    }
    return NULL;
}

const as_resource *const *as_registry_all(const as_registry *reg, int *n)
{
    *n = reg->n;
    return reg->entries;
}

void as_resource_group_version(const as_resource *r, sbuf *out)
{
    if (*r->group)
        sbuf_printf(out, "%s/%s", r->group, r->version);
    else
        sbuf_puts(out, r->version);
}

void as_resource_prefix(const as_resource *r, const char *ns, sbuf *out)
{
    sbuf_printf(out, "/%s/%s/", *r->group ? r->group : "core", r->resource);
    if (r->namespaced && ns)
        sbuf_printf(out, "%s/", ns);
}

const char *as_resource_qualified(const as_resource *r, char *buf, int len)
{
    if (*r->group)
        snprintf(buf, (size_t)len, "%s.%s", r->resource, r->group);
    else
        snprintf(buf, (size_t)len, "%s", r->resource);
    return buf;
}

#include "apiserver/resource/registry.h"
#include "api/builtin.h"
#include "api/foo.h"
#include "api/patchmeta.h"
#include "common/alloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the kinds (docs/design.md §4.9; README "Adding a kind") ---------------------------- */

static const as_strategy foo_strategy = {
    .defaults = foo_default,
    .validate = foo_validate,
    .validate_status = foo_validate_status,
    .prune_unknown_fields = foo_prune_unknown_fields,
    .generation = API_GENERATION_SPEC,
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
    .ncolumns = FOO_NCOLUMNS,
};

/* Built-in kinds of --standalone: plain storage with kube's defaults and first validations
   (api/builtin.h); unknown fields are kept as sent (no schema of ours to prune them with). */

static const as_strategy deployment_as_strategy = {
    .defaults = deployment_default,
    .validate = deployment_validate,
    .validate_status = deployment_validate_status,
    .generation = API_GENERATION_SPEC_ANNOTATIONS,
    .patch_schema = patchmeta_deployment,
    .scale_selector = deployment_scale_selector,
};

static const as_resource deployments = {
    .group = DEPLOYMENT_GROUP,
    .version = DEPLOYMENT_VERSION,
    .resource = DEPLOYMENT_RESOURCE,
    .singular = DEPLOYMENT_SINGULAR,
    .kind = DEPLOYMENT_KIND,
    .list_kind = DEPLOYMENT_LIST_KIND,
    .short_names = {DEPLOYMENT_SHORT_NAME, NULL},
    .categories = {DEPLOYMENT_CATEGORY, NULL},
    .namespaced = true,
    .has_status = true,
    .has_scale = true,
    .strategy = &deployment_as_strategy,
    .columns = deployment_columns,
    .ncolumns = DEPLOYMENT_NCOLUMNS,
};

static const as_strategy event_as_strategy = {
    .validate = event_validate,
    .generation = API_GENERATION_NONE,
    .patch_schema = patchmeta_event,
};

static const as_resource events = {
    .group = EVENT_GROUP,
    .version = EVENT_VERSION,
    .resource = EVENT_RESOURCE,
    .singular = EVENT_SINGULAR,
    .kind = EVENT_KIND,
    .list_kind = EVENT_LIST_KIND,
    .short_names = {EVENT_SHORT_NAME, NULL},
    .namespaced = true,
    .strategy = &event_as_strategy,
    .columns = event_columns,
    .ncolumns = EVENT_NCOLUMNS,
};

static const as_strategy namespace_as_strategy = {
    .defaults = namespace_default,
    .validate = namespace_validate,
    .generation = API_GENERATION_NONE,
    .patch_schema = patchmeta_namespace,
};

static const as_resource namespaces = {
    .group = NAMESPACE_GROUP,
    .version = NAMESPACE_VERSION,
    .resource = NAMESPACE_RESOURCE,
    .singular = NAMESPACE_SINGULAR,
    .kind = NAMESPACE_KIND,
    .list_kind = NAMESPACE_LIST_KIND,
    .short_names = {NAMESPACE_SHORT_NAME, NULL},
    .namespaced = false,
    .has_status = true,
    .strategy = &namespace_as_strategy,
    .columns = namespace_columns,
    .ncolumns = NAMESPACE_NCOLUMNS,
};

static const as_strategy lease_as_strategy = {
    .validate = lease_validate,
    .generation = API_GENERATION_NONE,
    .patch_schema = patchmeta_lease,
};

static const as_resource leases = {
    .group = LEASE_GROUP,
    .version = LEASE_VERSION,
    .resource = LEASE_RESOURCE,
    .singular = LEASE_SINGULAR,
    .kind = LEASE_KIND,
    .list_kind = LEASE_LIST_KIND,
    .namespaced = true,
    .strategy = &lease_as_strategy,
    .columns = lease_columns,
    .ncolumns = LEASE_NCOLUMNS,
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
    if (standalone) {
        add(reg, &deployments);
        add(reg, &events);
        add(reg, &namespaces);
        add(reg, &leases);
    }
    return reg;
}

as_registry *as_registry_of(const as_resource *const *entries, int n)
{
    as_registry *reg = xcalloc(1, sizeof *reg);
    for (int i = 0; i < n; i++)
        add(reg, entries[i]);
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
    /* Appends rather than printf: this builds the key of every GET of an object. */
    sbuf_putc(out, '/');
    sbuf_puts(out, *r->group ? r->group : "core");
    sbuf_putc(out, '/');
    sbuf_puts(out, r->resource);
    sbuf_putc(out, '/');
    if (r->namespaced && ns) {
        sbuf_puts(out, ns);
        sbuf_putc(out, '/');
    }
}

const char *as_resource_qualified(const as_resource *r, char *buf, int len)
{
    if (*r->group)
        snprintf(buf, (size_t)len, "%s.%s", r->resource, r->group);
    else
        snprintf(buf, (size_t)len, "%s", r->resource);
    return buf;
}

bool as_key_split(const char *key, char *ns, size_t ns_cap, const char **name)
{
    const char *p = key;
    for (int slashes = 0; slashes < 3; p++) { /* past "/G/R/" */
        if (!*p)
            return false;
        if (*p == '/')
            slashes++;
    }
    const char *slash = strchr(p, '/');
    const char *rest = slash ? slash + 1 : p;
    size_t len = slash ? (size_t)(slash - p) : 0;
    /* Empty names and namespaces, and a third segment, are not keys of ours. */
    if (!*rest || strchr(rest, '/') || slash == p || len >= ns_cap)
        return false;
    memcpy(ns, p, len);
    ns[len] = '\0';
    *name = rest;
    return true;
}

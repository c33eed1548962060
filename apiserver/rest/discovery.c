/*
 * discovery.c - /api, /api/v1, /apis, /apis/G, /apis/G/V (legacy discovery), aggregated discovery
 * v2/v2beta1 at /api and /apis, and /version (docs/api.md §2). The documents depend only on the
 * registry, so they are built once at startup and served from memory; the aggregated ones carry
 * an ETag.
 *
 * Order, as kube's: groups and their versions in registry order (the first version is the
 * preferred one); within a group-version, resources sorted by name, each followed by its
 * subresources in name order. The core group is served under /api only, never in /apis.
 */
#include "apiserver/rest/discovery.h"
#include "apiserver/transport/negotiate.h"
#include "apiserver/resource/registry.h"
#include "apiserver/rest/handlers.h"
#include "apiserver/rest/server.h"
#include "common/alloc.h"
#include "common/json.h"

#include <openssl/evp.h>
#include <openssl/sha.h>
#include <stdlib.h>
#include <string.h>

#define FOO_SERVER_VERSION "v0.1.0"

#define V2_TYPE      "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
#define V2BETA1_TYPE "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList"

/* An aggregated document in its two versions: [0] v2, [1] v2beta1. */
typedef struct dc_aggregated {
    char *doc[2];
    char etag[2][72]; /* quoted hex SHA-256 of each */
} dc_aggregated;

typedef struct dc_group {
    char *name;
    char *api_group; /* APIGroup */
} dc_group;

typedef struct dc_gv {
    char *group, *version;
    char *resource_list; /* APIResourceList */
} dc_gv;

struct as_discovery {
    char *api_versions; /* APIVersions of /api; NULL when no core kind is served */
    dc_aggregated api;  /* aggregated /api: the core group */
    char *group_list;   /* APIGroupList of /apis */
    dc_aggregated apis; /* aggregated /apis: every other group */
    dc_group *groups;   /* every non-core group */
    int ngroups;
    dc_gv *gvs; /* every group-version, the core one included */
    int ngvs;
    char *version; /* /version */
};

/* ---- verbs ------------------------------------------------------------------------------ */

/* kube serves deletecollection on every resource but namespaces: deleting a namespace is a long,
   controller-driven affair, and kube's namespace storage offers no collection delete. */
bool as_resource_deletes_collections(const as_resource *r)
{
    return *r->group || strcmp(r->resource, "namespaces") != 0;
}

int as_discovery_verbs(const as_resource *r, const char *verbs[AS_MAX_VERBS + 1])
{
    static const char *const all[] = {"create", "delete", "deletecollection", "get",
                                      "list",   "patch",  "update",           "watch"};
    int n = 0;
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        if (strcmp(all[i], "deletecollection") != 0 || as_resource_deletes_collections(r))
            verbs[n++] = all[i];
    verbs[n] = NULL;
    return n;
}

/* ---- one resource ----------------------------------------------------------------------- */

static const char *const sub_verbs[] = {"get", "patch", "update", NULL};

/* status, scale and the custom ones (registry.h allows one custom subresource per kind). */
#define DC_MAX_SUBS 4

/* A subresource as discovery shows it. */
typedef struct dc_sub {
    const char *name;
    const char *group, *version; /* of its kind when in another group (scale), else NULL */
    const char *kind;
    const char *const *verbs; /* NULL-terminated */
} dc_sub;

static int compare_subs(const void *a, const void *b)
{
    return strcmp(((const dc_sub *)a)->name, ((const dc_sub *)b)->name);
}

/* r's subresources, sorted by name; returns how many (at most DC_MAX_SUBS). */
static int subresources_of(const as_resource *r, dc_sub subs[DC_MAX_SUBS])
{
    int n = 0;
    if (r->has_status)
        subs[n++] = (dc_sub){"status", NULL, NULL, r->kind, sub_verbs};
    if (r->has_scale)
        subs[n++] = (dc_sub){"scale", "autoscaling", "v1", "Scale", sub_verbs};
    int max = (int)(sizeof r->custom_subresources / sizeof r->custom_subresources[0]);
    for (int i = 0; i < max && r->custom_subresources[i] && n < DC_MAX_SUBS; i++) {
        const as_custom_subresource *c = as_custom_subresource_find(r, r->custom_subresources[i]);
        if (c)
            subs[n++] = (dc_sub){c->name, NULL, NULL, c->kind, c->verbs};
    }
    qsort(subs, (size_t)n, sizeof subs[0], compare_subs);
    return n;
}

/* Adds key: [strings...] unless the NULL-terminated list (of at most max) is empty, as kube's
   omitempty does. */
static void add_strings(cJSON *obj, const char *key, const char *const *list, int max)
{
    if (!list[0])
        return;
    cJSON *arr = cJSON_AddArrayToObject(obj, key);
    for (int i = 0; i < max && list[i]; i++)
        cJSON_AddItemToArray(arr, cJSON_CreateString(list[i]));
}

/* base64 of the first 8 bytes of SHA-256("group/version/Kind"), kube's storageVersionHash. */
static void storage_version_hash(const as_resource *r, char out[16])
{
    sbuf s = SBUF_INIT;
    sbuf_printf(&s, "%s/%s/%s", r->group, r->version, r->kind);
    unsigned char md[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)s.data, s.len, md);
    sbuf_free(&s);
    EVP_EncodeBlock((unsigned char *)out, md, 8);
}

/* The APIResourceList entries of r: the resource, then its subresources. */
static void add_legacy_entries(cJSON *resources, const as_resource *r)
{
    const char *verbs[AS_MAX_VERBS + 1];
    as_discovery_verbs(r, verbs);
    cJSON *e = cJSON_CreateObject();
    cJSON_AddStringToObject(e, "name", r->resource);
    cJSON_AddStringToObject(e, "singularName", r->singular);
    cJSON_AddBoolToObject(e, "namespaced", r->namespaced);
    cJSON_AddStringToObject(e, "kind", r->kind);
    add_strings(e, "verbs", verbs, AS_MAX_VERBS);
    add_strings(e, "shortNames", r->short_names, 4);
    add_strings(e, "categories", r->categories, 4);
    char hash[16];
    storage_version_hash(r, hash);
    cJSON_AddStringToObject(e, "storageVersionHash", hash);
    cJSON_AddItemToArray(resources, e);

    dc_sub subs[DC_MAX_SUBS];
    int n = subresources_of(r, subs);
    for (int i = 0; i < n; i++) {
        cJSON *s = cJSON_CreateObject();
        char *name = xasprintf("%s/%s", r->resource, subs[i].name);
        cJSON_AddStringToObject(s, "name", name);
        free(name);
        cJSON_AddStringToObject(s, "singularName", "");
        cJSON_AddBoolToObject(s, "namespaced", r->namespaced);
        if (subs[i].group) { /* only when its kind lives in another group (kube's rule) */
            cJSON_AddStringToObject(s, "group", subs[i].group);
            cJSON_AddStringToObject(s, "version", subs[i].version);
        }
        cJSON_AddStringToObject(s, "kind", subs[i].kind);
        add_strings(s, "verbs", subs[i].verbs, AS_MAX_VERBS);
        cJSON_AddItemToArray(resources, s);
    }
}

static cJSON *response_kind(const char *group, const char *version, const char *kind)
{
    cJSON *k = cJSON_CreateObject();
    cJSON_AddStringToObject(k, "group", group);
    cJSON_AddStringToObject(k, "version", version);
    cJSON_AddStringToObject(k, "kind", kind);
    return k;
}

/* The aggregated-discovery resource of r, with its subresources. */
static cJSON *aggregated_resource(const as_resource *r)
{
    const char *verbs[AS_MAX_VERBS + 1];
    as_discovery_verbs(r, verbs);
    cJSON *e = cJSON_CreateObject();
    cJSON_AddStringToObject(e, "resource", r->resource);
    cJSON_AddItemToObject(e, "responseKind", response_kind(r->group, r->version, r->kind));
    cJSON_AddStringToObject(e, "scope", r->namespaced ? "Namespaced" : "Cluster");
    cJSON_AddStringToObject(e, "singularResource", r->singular);
    add_strings(e, "verbs", verbs, AS_MAX_VERBS);
    add_strings(e, "shortNames", r->short_names, 4);
    add_strings(e, "categories", r->categories, 4);
    dc_sub subs[DC_MAX_SUBS];
    int n = subresources_of(r, subs);
    if (n == 0)
        return e;
    cJSON *arr = cJSON_AddArrayToObject(e, "subresources");
    for (int i = 0; i < n; i++) {
        cJSON *s = cJSON_CreateObject();
        cJSON_AddStringToObject(s, "subresource", subs[i].name);
        const char *g = subs[i].group ? subs[i].group : r->group;
        const char *v = subs[i].group ? subs[i].version : r->version;
        cJSON_AddItemToObject(s, "responseKind", response_kind(g, v, subs[i].kind));
        add_strings(s, "verbs", subs[i].verbs, AS_MAX_VERBS);
        cJSON_AddItemToArray(arr, s);
    }
    return e;
}

/* ---- group-versions --------------------------------------------------------------------- */

static int compare_resources(const void *a, const void *b)
{
    return strcmp((*(const as_resource *const *)a)->resource,
                  (*(const as_resource *const *)b)->resource);
}

/* The entries of group/version sorted by resource, in a new array (free()); *n its length. */
static const as_resource **kinds_of(const as_registry *reg, const char *group, const char *version,
                                    int *n)
{
    int count;
    const as_resource *const *all = as_registry_all(reg, &count);
    const as_resource **out = xcalloc(count ? (size_t)count : 1, sizeof *out);
    *n = 0;
    for (int i = 0; i < count; i++)
        if (!strcmp(all[i]->group, group) && !strcmp(all[i]->version, version))
            out[(*n)++] = all[i];
    qsort(out, (size_t)*n, sizeof *out, compare_resources);
    return out;
}

static char *resource_list(const as_registry *reg, const char *group, const char *version)
{
    cJSON *l = cJSON_CreateObject();
    cJSON_AddStringToObject(l, "kind", "APIResourceList");
    cJSON_AddStringToObject(l, "apiVersion", "v1");
    char *gv = *group ? xasprintf("%s/%s", group, version) : xstrdup(version);
    cJSON_AddStringToObject(l, "groupVersion", gv);
    free(gv);
    cJSON *resources = cJSON_AddArrayToObject(l, "resources");
    int n;
    const as_resource **kinds = kinds_of(reg, group, version, &n);
    for (int i = 0; i < n; i++)
        add_legacy_entries(resources, kinds[i]);
    free(kinds);
    char *out = json_print(l);
    cJSON_Delete(l);
    return out;
}

/* One entry of an aggregated group's versions. */
static cJSON *aggregated_version(const as_registry *reg, const char *group, const char *version)
{
    cJSON *v = cJSON_CreateObject();
    cJSON_AddStringToObject(v, "version", version);
    cJSON *resources = cJSON_AddArrayToObject(v, "resources");
    int n;
    const as_resource **kinds = kinds_of(reg, group, version, &n);
    for (int i = 0; i < n; i++)
        cJSON_AddItemToArray(resources, aggregated_resource(kinds[i]));
    free(kinds);
    cJSON_AddStringToObject(v, "freshness", "Current");
    return v;
}

/* {groupVersion, version}: an APIGroup's versions[] entry and its preferredVersion. */
static cJSON *group_version_entry(const char *group, const char *version)
{
    cJSON *gv = cJSON_CreateObject();
    char *s = xasprintf("%s/%s", group, version);
    cJSON_AddStringToObject(gv, "groupVersion", s);
    free(s);
    cJSON_AddStringToObject(gv, "version", version);
    return gv;
}

/* ---- the documents ---------------------------------------------------------------------- */

/* Appends group/version to d->gvs unless present. */
static void note_gv(as_discovery *d, const char *group, const char *version)
{
    for (int i = 0; i < d->ngvs; i++)
        if (!strcmp(d->gvs[i].group, group) && !strcmp(d->gvs[i].version, version))
            return;
    d->gvs = xrealloc(d->gvs, (size_t)(d->ngvs + 1) * sizeof *d->gvs);
    d->gvs[d->ngvs++] = (dc_gv){xstrdup(group), xstrdup(version), NULL};
}

/* An APIGroup object for d->gvs' versions of group (the first one preferred). */
static cJSON *api_group(const as_discovery *d, const char *group)
{
    cJSON *g = cJSON_CreateObject();
    cJSON_AddStringToObject(g, "name", group);
    cJSON *versions = cJSON_AddArrayToObject(g, "versions");
    const char *preferred = NULL;
    for (int i = 0; i < d->ngvs; i++) {
        if (strcmp(d->gvs[i].group, group) != 0)
            continue;
        cJSON_AddItemToArray(versions, group_version_entry(group, d->gvs[i].version));
        if (!preferred)
            preferred = d->gvs[i].version;
    }
    cJSON_AddItemToObject(g, "preferredVersion", group_version_entry(group, preferred));
    return g;
}

/* The APIGroupDiscoveryList of the groups selected by core (the core group alone, or every
   other group), in both versions, with their ETags. */
static void render_aggregated(as_discovery *d, const as_registry *reg, bool core,
                              dc_aggregated *out)
{
    static const char *const api_versions[2] = {"apidiscovery.k8s.io/v2",
                                                "apidiscovery.k8s.io/v2beta1"};
    for (int k = 0; k < 2; k++) {
        cJSON *l = cJSON_CreateObject();
        cJSON_AddStringToObject(l, "kind", "APIGroupDiscoveryList");
        cJSON_AddStringToObject(l, "apiVersion", api_versions[k]);
        cJSON_AddObjectToObject(l, "metadata");
        cJSON *items = cJSON_AddArrayToObject(l, "items");
        for (int i = 0; i < d->ngvs; i++) {
            const char *group = d->gvs[i].group;
            if (core != !*group)
                continue;
            /* one item per group, holding each of its versions */
            cJSON *item = NULL;
            cJSON *it;
            cJSON_ArrayForEach(it, items)
            {
                const char *name = json_path_string(it, "metadata.name");
                if (!strcmp(name ? name : "", group))
                    item = it;
            }
            if (!item) {
                item = cJSON_CreateObject();
                cJSON *meta = cJSON_AddObjectToObject(item, "metadata");
                if (*group) /* the core group has no name, which kube leaves out */
                    cJSON_AddStringToObject(meta, "name", group);
                cJSON_AddArrayToObject(item, "versions");
                cJSON_AddItemToArray(items, item);
            }
            cJSON_AddItemToArray(cJSON_GetObjectItemCaseSensitive(item, "versions"),
                                 aggregated_version(reg, group, d->gvs[i].version));
        }
        out->doc[k] = json_print(l);
        cJSON_Delete(l);
        unsigned char md[SHA256_DIGEST_LENGTH];
        SHA256((const unsigned char *)out->doc[k], strlen(out->doc[k]), md);
        out->etag[k][0] = '"';
        for (int i = 0; i < 32; i++)
            snprintf(out->etag[k] + 1 + 2 * i, 3, "%02X", md[i]);
        out->etag[k][65] = '"';
        out->etag[k][66] = '\0';
    }
}

static bool has_group(const as_discovery *d, const char *group)
{
    for (int i = 0; i < d->ngroups; i++)
        if (!strcmp(d->groups[i].name, group))
            return true;
    return false;
}

static void render_groups(as_discovery *d)
{
    cJSON *gl = cJSON_CreateObject();
    cJSON_AddStringToObject(gl, "kind", "APIGroupList");
    cJSON_AddStringToObject(gl, "apiVersion", "v1");
    cJSON *groups = cJSON_AddArrayToObject(gl, "groups");
    for (int i = 0; i < d->ngvs; i++) {
        const char *group = d->gvs[i].group;
        if (!*group || has_group(d, group))
            continue;
        cJSON_AddItemToArray(groups, api_group(d, group));
        cJSON *g = api_group(d, group);
        cJSON_AddStringToObject(g, "kind", "APIGroup");
        cJSON_AddStringToObject(g, "apiVersion", "v1");
        d->groups = xrealloc(d->groups, (size_t)(d->ngroups + 1) * sizeof *d->groups);
        d->groups[d->ngroups++] = (dc_group){xstrdup(group), json_print(g)};
        cJSON_Delete(g);
    }
    d->group_list = json_print(gl);
    cJSON_Delete(gl);
}

/* APIVersions of /api, when the core group is served. Kube fills serverAddressByClientCIDRs
   per request from its advertised address; we have none to give, and clients ignore it. */
static void render_api_versions(as_discovery *d)
{
    cJSON *v = cJSON_CreateObject();
    cJSON_AddStringToObject(v, "kind", "APIVersions");
    cJSON *versions = cJSON_AddArrayToObject(v, "versions");
    for (int i = 0; i < d->ngvs; i++)
        if (!*d->gvs[i].group)
            cJSON_AddItemToArray(versions, cJSON_CreateString(d->gvs[i].version));
    cJSON_AddArrayToObject(v, "serverAddressByClientCIDRs");
    if (cJSON_GetArraySize(versions) > 0)
        d->api_versions = json_print(v);
    cJSON_Delete(v);
}

static char *version_doc(void)
{
    cJSON *v = cJSON_CreateObject();
    cJSON_AddStringToObject(v, "major", "1");
    cJSON_AddStringToObject(v, "minor", "0");
    cJSON_AddStringToObject(v, "gitVersion", FOO_SERVER_VERSION);
    cJSON_AddStringToObject(v, "gitCommit", "unknown");
    cJSON_AddStringToObject(v, "gitTreeState", "clean");
    cJSON_AddStringToObject(v, "buildDate", __DATE__ " " __TIME__);
    cJSON_AddStringToObject(v, "goVersion", "n/a");
    cJSON_AddStringToObject(v, "compiler", "gcc");
    cJSON_AddStringToObject(v, "platform", "linux/amd64");
    char *out = json_print(v);
    cJSON_Delete(v);
    return out;
}

as_discovery *as_discovery_new(const as_registry *reg)
{
    as_discovery *d = xcalloc(1, sizeof *d);
    int n;
    const as_resource *const *all = as_registry_all(reg, &n);
    for (int i = 0; i < n; i++)
        note_gv(d, all[i]->group, all[i]->version);
    for (int i = 0; i < d->ngvs; i++)
        d->gvs[i].resource_list = resource_list(reg, d->gvs[i].group, d->gvs[i].version);
    render_api_versions(d);
    render_aggregated(d, reg, true, &d->api);
    render_groups(d);
    render_aggregated(d, reg, false, &d->apis);
    d->version = version_doc();
    return d;
}

void as_discovery_free(as_discovery *d)
{
    if (!d)
        return;
    free(d->api_versions);
    free(d->group_list);
    for (int k = 0; k < 2; k++) {
        free(d->api.doc[k]);
        free(d->apis.doc[k]);
    }
    for (int i = 0; i < d->ngroups; i++) {
        free(d->groups[i].name);
        free(d->groups[i].api_group);
    }
    free(d->groups);
    for (int i = 0; i < d->ngvs; i++) {
        free(d->gvs[i].group);
        free(d->gvs[i].version);
        free(d->gvs[i].resource_list);
    }
    free(d->gvs);
    free(d->version);
    free(d);
}

/* ---- handlers --------------------------------------------------------------------------- */

static void respond_doc(as_req *req, const char *doc)
{
    as_respond_json(req, 200, doc, strlen(doc));
}

static void not_acceptable(as_req *req)
{
    as_respond_status(req, 406, "NotAcceptable",
                      "only the following media types are accepted: application/json");
}

static void not_found(as_req *req)
{
    as_respond_status(req, 404, "NotFound", "the server could not find the requested resource");
}

/* The legacy document, or the aggregated one (v2/v2beta1, ETag, 304) when Accept asks. */
static void respond_negotiated(as_req *req, const char *legacy, const dc_aggregated *agg)
{
    as_media m = as_negotiate(req->accept, true);
    if (m == AS_MEDIA_NONE)
        return not_acceptable(req);
    if (m == AS_MEDIA_JSON)
        return respond_doc(req, legacy);
    int i = m == AS_MEDIA_DISCOVERY_V2 ? 0 : 1;
    as_add_header(req, "ETag", agg->etag[i]);
    as_add_header(req, "Vary", "Accept");
    as_add_header(req, "Cache-Control", "public");
    if (req->if_none_match && strcmp(req->if_none_match, agg->etag[i]) == 0)
        return as_respond(req, 304, NULL, "", 0);
    as_respond(req, 200, i == 0 ? V2_TYPE : V2BETA1_TYPE, agg->doc[i], strlen(agg->doc[i]));
}

void as_discovery_api(as_req *req)
{
    const as_discovery *d = as_server_of(req)->discovery;
    if (!d->api_versions) /* no core group: kube's aggregated servers answer 404 too */
        return not_found(req);
    respond_negotiated(req, d->api_versions, &d->api);
}

void as_discovery_apis(as_req *req)
{
    const as_discovery *d = as_server_of(req)->discovery;
    respond_negotiated(req, d->group_list, &d->apis);
}

void as_discovery_group(as_req *req, const char *group)
{
    const as_discovery *d = as_server_of(req)->discovery;
    for (int i = 0; i < d->ngroups; i++) {
        if (strcmp(d->groups[i].name, group) != 0)
            continue;
        if (as_negotiate(req->accept, false) == AS_MEDIA_NONE)
            return not_acceptable(req);
        return respond_doc(req, d->groups[i].api_group);
    }
    not_found(req);
}

void as_discovery_resources(as_req *req, const char *group, const char *version)
{
    const as_discovery *d = as_server_of(req)->discovery;
    for (int i = 0; i < d->ngvs; i++) {
        if (strcmp(d->gvs[i].group, group) != 0 || strcmp(d->gvs[i].version, version) != 0)
            continue;
        if (as_negotiate(req->accept, false) == AS_MEDIA_NONE)
            return not_acceptable(req);
        return respond_doc(req, d->gvs[i].resource_list);
    }
    not_found(req);
}

void as_discovery_version(as_req *req)
{
    const as_discovery *d = as_server_of(req)->discovery;
    respond_doc(req, d->version);
}

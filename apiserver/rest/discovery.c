/*
 * discovery.c - /apis, /apis/G, /apis/G/V (legacy discovery), aggregated discovery v2/v2beta1
 * and /version (docs/api.md §2). The documents depend only on the registry, so they are built
 * once at startup and served from memory; the aggregated one carries an ETag.
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

static const char *resource_verbs[] = {"create", "delete", "deletecollection", "get",
                                       "list",   "patch",  "update",           "watch"};

struct as_discovery {
    char *group_list;    /* APIGroupList */
    char *group;         /* APIGroup of the (only) aggregated group */
    char *resource_list; /* APIResourceList per group-version: only one group for now */
    char *aggregated[2]; /* [0] v2, [1] v2beta1 */
    char etag[2][72];    /* quoted hex SHA-256 of each aggregated document */
    char *version;
};

static void add_strings(cJSON *obj, const char *key, const char *const *list, int n)
{
    cJSON *arr = cJSON_AddArrayToObject(obj, key);
    for (int i = 0; i < n && list[i]; i++)
        cJSON_AddItemToArray(arr, cJSON_CreateString(list[i]));
}

static int count(const char *const *list, int max)
{
    int n = 0;
    while (n < max && list[n])
        n++;
    return n;
}

/* base64 of the first 8 bytes of SHA-256("group/version/Kind") (AS storageversionhash.go). */
static void storage_version_hash(const as_resource *r, char out[16])
{
    sbuf s = SBUF_INIT;
    sbuf_printf(&s, "%s/%s/%s", r->group, r->version, r->kind);
    unsigned char md[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)s.data, s.len, md);
    sbuf_free(&s);
    EVP_EncodeBlock((unsigned char *)out, md, 8);
}

static cJSON *group_version_entry(const as_resource *r)
{
    cJSON *gv = cJSON_CreateObject();
    sbuf s = SBUF_INIT;
    as_resource_group_version(r, &s);
    cJSON_AddStringToObject(gv, "groupVersion", s.data);
    cJSON_AddStringToObject(gv, "version", r->version);
    sbuf_free(&s);
    return gv;
}

static cJSON *api_group(const as_resource *r)
{
    cJSON *g = cJSON_CreateObject();
    cJSON_AddStringToObject(g, "name", r->group);
    cJSON *versions = cJSON_AddArrayToObject(g, "versions");
    cJSON_AddItemToArray(versions, group_version_entry(r));
    cJSON_AddItemToObject(g, "preferredVersion", group_version_entry(r));
    return g;
}

static void add_subresource(cJSON *resources, const as_resource *r, const char *sub,
                            const char *group, const char *version, const char *kind,
                            const char *const *verbs, int nverbs)
{
    cJSON *e = cJSON_CreateObject();
    char name[128];
    snprintf(name, sizeof name, "%s/%s", r->resource, sub);
    cJSON_AddStringToObject(e, "name", name);
    cJSON_AddStringToObject(e, "singularName", "");
    cJSON_AddBoolToObject(e, "namespaced", r->namespaced);
    if (group) {
        cJSON_AddStringToObject(e, "group", group);
        cJSON_AddStringToObject(e, "version", version);
    }
    cJSON_AddStringToObject(e, "kind", kind);
    add_strings(e, "verbs", verbs, nverbs);
    cJSON_AddItemToArray(resources, e);
}

static const char *sub_verbs[] = {"get", "patch", "update"};

static char *resource_list(const as_resource *r)
{
    cJSON *l = cJSON_CreateObject();
    cJSON_AddStringToObject(l, "kind", "APIResourceList");
    cJSON_AddStringToObject(l, "apiVersion", "v1");
    sbuf gv = SBUF_INIT;
    as_resource_group_version(r, &gv);
    cJSON_AddStringToObject(l, "groupVersion", gv.data);
    sbuf_free(&gv);
    cJSON *resources = cJSON_AddArrayToObject(l, "resources");
    cJSON *e = cJSON_CreateObject();
    cJSON_AddStringToObject(e, "name", r->resource);
    cJSON_AddStringToObject(e, "singularName", r->singular);
    cJSON_AddBoolToObject(e, "namespaced", r->namespaced);
    cJSON_AddStringToObject(e, "kind", r->kind);
    add_strings(e, "verbs", resource_verbs, 8);
    add_strings(e, "shortNames", r->short_names, count(r->short_names, 4));
    add_strings(e, "categories", r->categories, count(r->categories, 4));
    char hash[16];
    storage_version_hash(r, hash);
    cJSON_AddStringToObject(e, "storageVersionHash", hash);
    cJSON_AddItemToArray(resources, e);
    /* Subresources in name order, as kube sorts them. */
    for (int i = 0; r->custom_subresources[i]; i++) {
        const as_custom_subresource *c = as_custom_subresource_find(r, r->custom_subresources[i]);
        add_subresource(resources, r, c->name, NULL, NULL, c->kind, c->verbs, count(c->verbs, 4));
    }
    if (r->has_scale)
        add_subresource(resources, r, "scale", "autoscaling", "v1", "Scale", sub_verbs, 3);
    if (r->has_status)
        add_subresource(resources, r, "status", NULL, NULL, r->kind, sub_verbs, 3);
    char *out = json_print(l);
    cJSON_Delete(l);
    return out;
}

static cJSON *response_kind(const char *group, const char *version, const char *kind)
{
    cJSON *k = cJSON_CreateObject();
    cJSON_AddStringToObject(k, "group", group);
    cJSON_AddStringToObject(k, "version", version);
    cJSON_AddStringToObject(k, "kind", kind);
    return k;
}

static void add_aggregated_sub(cJSON *subs, const char *name, cJSON *kind, const char *const *verbs,
                               int n)
{
    cJSON *s = cJSON_CreateObject();
    cJSON_AddStringToObject(s, "subresource", name);
    cJSON_AddItemToObject(s, "responseKind", kind);
    add_strings(s, "verbs", verbs, n);
    cJSON_AddItemToArray(subs, s);
}

static char *aggregated(const as_resource *r, const char *api_version)
{
    cJSON *l = cJSON_CreateObject();
    cJSON_AddStringToObject(l, "kind", "APIGroupDiscoveryList");
    cJSON_AddStringToObject(l, "apiVersion", api_version);
    cJSON_AddObjectToObject(l, "metadata");
    cJSON *items = cJSON_AddArrayToObject(l, "items");
    cJSON *g = cJSON_CreateObject();
    cJSON_AddItemToArray(items, g);
    json_set_string(json_ensure_object(g, "metadata"), "name", r->group);
    cJSON *versions = cJSON_AddArrayToObject(g, "versions");
    cJSON *v = cJSON_CreateObject();
    cJSON_AddItemToArray(versions, v);
    cJSON_AddStringToObject(v, "version", r->version);
    cJSON *resources = cJSON_AddArrayToObject(v, "resources");
    cJSON_AddStringToObject(v, "freshness", "Current");
    cJSON *e = cJSON_CreateObject();
    cJSON_AddItemToArray(resources, e);
    cJSON_AddStringToObject(e, "resource", r->resource);
    cJSON_AddItemToObject(e, "responseKind", response_kind(r->group, r->version, r->kind));
    cJSON_AddStringToObject(e, "scope", r->namespaced ? "Namespaced" : "Cluster");
    cJSON_AddStringToObject(e, "singularResource", r->singular);
    add_strings(e, "verbs", resource_verbs, 8);
    add_strings(e, "shortNames", r->short_names, count(r->short_names, 4));
    add_strings(e, "categories", r->categories, count(r->categories, 4));
    cJSON *subs = cJSON_AddArrayToObject(e, "subresources");
    for (int i = 0; r->custom_subresources[i]; i++) {
        const as_custom_subresource *c = as_custom_subresource_find(r, r->custom_subresources[i]);
        add_aggregated_sub(subs, c->name, response_kind(r->group, r->version, c->kind), c->verbs,
                           count(c->verbs, 4));
    }
    if (r->has_scale)
        add_aggregated_sub(subs, "scale", response_kind("autoscaling", "v1", "Scale"), sub_verbs,
                           3);
    if (r->has_status)
        add_aggregated_sub(subs, "status", response_kind(r->group, r->version, r->kind), sub_verbs,
                           3);
    char *out = json_print(l);
    cJSON_Delete(l);
    return out;
}

static void etag_of(const char *doc, char out[72])
{
    unsigned char md[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)doc, strlen(doc), md);
    out[0] = '"';
    for (int i = 0; i < 32; i++)
        snprintf(out + 1 + 2 * i, 3, "%02X", md[i]);
    out[65] = '"';
    out[66] = '\0';
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

/* The aggregated API group: the registry's first non-core resource. */
static const as_resource *served_group(const as_registry *reg)
{
    int n;
    const as_resource *const *all = as_registry_all(reg, &n);
    for (int i = 0; i < n; i++)
        if (*all[i]->group && strcmp(all[i]->group, "demo.example.com") == 0)
            return all[i];
    return NULL;
}

as_discovery *as_discovery_new(const as_registry *reg)
{
    as_discovery *d = xcalloc(1, sizeof *d);
    const as_resource *r = served_group(reg);
    cJSON *gl = cJSON_CreateObject();
    cJSON_AddStringToObject(gl, "kind", "APIGroupList");
    cJSON_AddStringToObject(gl, "apiVersion", "v1");
    cJSON *groups = cJSON_AddArrayToObject(gl, "groups");
    cJSON_AddItemToArray(groups, api_group(r));
    d->group_list = json_print(gl);
    cJSON_Delete(gl);

    cJSON *g = api_group(r);
    cJSON_AddStringToObject(g, "kind", "APIGroup");
    cJSON_AddStringToObject(g, "apiVersion", "v1");
    d->group = json_print(g);
    cJSON_Delete(g);

    d->resource_list = resource_list(r);
    d->aggregated[0] = aggregated(r, "apidiscovery.k8s.io/v2");
    d->aggregated[1] = aggregated(r, "apidiscovery.k8s.io/v2beta1");
    etag_of(d->aggregated[0], d->etag[0]);
    etag_of(d->aggregated[1], d->etag[1]);
    d->version = version_doc();
    return d;
}

void as_discovery_free(as_discovery *d)
{
    if (!d)
        return;
    free(d->group_list);
    free(d->group);
    free(d->resource_list);
    free(d->aggregated[0]);
    free(d->aggregated[1]);
    free(d->version);
    free(d);
}

static void respond_doc(as_req *req, const char *doc)
{
    as_respond_json(req, 200, doc, strlen(doc));
}

static void not_acceptable(as_req *req)
{
    as_respond_status(req, 406, "NotAcceptable",
                      "only the following media types are accepted: application/json");
}

void as_discovery_apis(as_req *req)
{
    const as_discovery *d = as_server_of(req)->discovery;
    as_media m = as_negotiate(req->accept, true);
    if (m == AS_MEDIA_NONE)
        return not_acceptable(req);
    if (m == AS_MEDIA_JSON)
        return respond_doc(req, d->group_list);
    int i = m == AS_MEDIA_DISCOVERY_V2 ? 0 : 1;
    as_add_header(req, "ETag", d->etag[i]);
    as_add_header(req, "Vary", "Accept");
    as_add_header(req, "Cache-Control", "public");
    const char *ctype =
        i == 0 ? "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
               : "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList";
    if (req->if_none_match && strcmp(req->if_none_match, d->etag[i]) == 0)
        return as_respond(req, 304, NULL, "", 0);
    as_respond(req, 200, ctype, d->aggregated[i], strlen(d->aggregated[i]));
}

void as_discovery_group(as_req *req)
{
    const as_discovery *d = as_server_of(req)->discovery;
    if (as_negotiate(req->accept, false) == AS_MEDIA_NONE)
        return not_acceptable(req);
    respond_doc(req, d->group);
}

void as_discovery_resources(as_req *req)
{
    const as_discovery *d = as_server_of(req)->discovery;
    if (as_negotiate(req->accept, false) == AS_MEDIA_NONE)
        return not_acceptable(req);
    respond_doc(req, d->resource_list);
}

void as_discovery_version(as_req *req)
{
    const as_discovery *d = as_server_of(req)->discovery;
    respond_doc(req, d->version);
}

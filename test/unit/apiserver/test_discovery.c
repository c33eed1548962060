/*
 * test_discovery.c - the discovery documents of apiserver/rest/discovery.c (docs/api.md §2, §11
 * items 1-8) and the routing of discovery and OpenAPI paths (rest/router.c).
 *
 * Suite discovery: Foo alone (a server without the built-in kinds): APIGroupList, APIGroup, the
 * APIResourceList entries field by field (the storageVersionHash is recomputed here with
 * OpenSSL), the documents byte for byte as they were before discovery was generated for any
 * group, aggregated discovery v2/v2beta1 with ETag and 304, 406 and /version.
 * Suite discovery_kinds: a registry of test kinds (a core namespaced kind, the cluster-scoped core
 * namespaces, a namespaced kind with status and scale in a group of two versions) beside Foo.
 * Suite routes: the router on that registry (discovery, OpenAPI, 404s, 405s).
 * The handlers run on a zeroed as_req; only its response fields are read.
 */
#include "apiserver/rest/discovery.h"
#include "apiserver/resource/registry.h"
#include "apiserver/rest/openapi_handler.h"
#include "apiserver/rest/server.h"

#include "common/alloc.h"
#include "common/json.h"

#include <criterion/criterion.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GV           "demo.example.com/v1beta1"
#define V2_TYPE      "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
#define V2BETA1_TYPE "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList"
#define KUBECTL_133  V2_TYPE "," V2BETA1_TYPE ",application/json"
#define KUBECTL_127  V2BETA1_TYPE ",application/json"
#define AGGREGATOR   V2_TYPE "," V2BETA1_TYPE

static const char *resource_verbs[] = {"create", "delete", "deletecollection", "get",
                                       "list",   "patch",  "update",           "watch"};
static const char *sub_verbs[] = {"get", "patch", "update"};
static const char *bar_verbs[] = {"create", "get"};

/* Only what discovery, OpenAPI and the router read: the registry and the documents. */
static as_server server;

static void setup(void)
{
    alloc_install_cjson_hooks();
    server.registry = as_registry_new(false); /* Foo alone */
    server.discovery = as_discovery_new(server.registry);
}

static void teardown(void)
{
    as_discovery_free(server.discovery);
    as_openapi_free(server.openapi);
    as_registry_free(server.registry);
    memset(&server, 0, sizeof server);
}

TestSuite(discovery, .init = setup, .fini = teardown);

/* A request as the router hands it over, with only what discovery reads. */
static as_req req_new(const char *accept, const char *if_none_match)
{
    as_req req;
    memset(&req, 0, sizeof req);
    req.app = &server;
    req.method = AS_GET;
    req.method_name = "GET";
    req.accept = (char *)accept;
    req.if_none_match = (char *)if_none_match;
    return req;
}

static void req_free(as_req *req)
{
    sbuf_free(&req->out);
    sbuf_free(&req->headers);
}

/* Value of response header `name` (malloc'd), or NULL when absent. */
static char *header(const as_req *req, const char *name)
{
    size_t nlen = strlen(name);
    const char *p = req->headers.data;
    while (p && *p) {
        const char *eol = strstr(p, "\r\n");
        cr_assert_not_null(eol, "header line without CRLF");
        if ((size_t)(eol - p) > nlen + 1 && strncmp(p, name, nlen) == 0 && p[nlen] == ':' &&
            p[nlen + 1] == ' ')
            return xstrndup(p + nlen + 2, (size_t)(eol - p) - nlen - 2);
        p = eol + 2;
    }
    return NULL;
}

static void expect_header(const as_req *req, const char *name, const char *value)
{
    char *v = header(req, name);
    cr_assert_not_null(v, "no %s header", name);
    cr_assert_str_eq(v, value, "header %s", name);
    free(v);
}

/* The response body parsed; asserts status 200. */
static cJSON *body_200(const as_req *req)
{
    cr_assert(req->responded);
    cr_assert_eq(req->status, 200, "status %d: %s", req->status,
                 req->out.data ? req->out.data : "");
    cJSON *doc = cJSON_ParseWithLength(req->out.data, req->out.len);
    cr_assert_not_null(doc, "not JSON: %s", req->out.data ? req->out.data : "");
    return doc;
}

static const char *str(const cJSON *obj, const char *path)
{
    return json_path_string(obj, path);
}

static void expect_strings(const cJSON *arr, const char *const *want, int n, const char *what)
{
    cr_assert(cJSON_IsArray(arr), "%s is not an array", what);
    cr_assert_eq(cJSON_GetArraySize(arr), n, "%s has %d entries", what, cJSON_GetArraySize(arr));
    for (int i = 0; i < n; i++)
        cr_assert_str_eq(cJSON_GetStringValue(cJSON_GetArrayItem(arr, i)), want[i], "%s[%d]", what,
                         i);
}

static bool has_key(const cJSON *obj, const char *key)
{
    return cJSON_GetObjectItemCaseSensitive(obj, key) != NULL;
}

static bool is_false(const cJSON *obj, const char *key)
{
    return cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(obj, key));
}

/* GET /apis/G/V with Accept application/json, parsed. */
static cJSON *resource_list(void)
{
    as_req req = req_new("application/json", NULL);
    as_discovery_resources(&req, "demo.example.com", "v1beta1");
    cJSON *doc = body_200(&req);
    expect_header(&req, "Content-Type", "application/json");
    req_free(&req);
    return doc;
}

/* The resources[] entry named name, asserted present. */
static cJSON *resource_entry(const cJSON *list, const char *name)
{
    const cJSON *e;
    cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(list, "resources"))
    {
        if (strcmp(str(e, "name"), name) == 0)
            return (cJSON *)e;
    }
    cr_assert_fail("no resource %s", name);
    return NULL;
}

/* GET /apis with accept (and If-None-Match); the request is the caller's to free. */
static as_req get_apis(const char *accept, const char *if_none_match)
{
    as_req req = req_new(accept, if_none_match);
    as_discovery_apis(&req);
    cr_assert(req.responded);
    return req;
}

/* ---- APIResourceList (docs/api.md §11 item 3) ------------------------------------------- */

Test(discovery, resource_list_is_for_the_group_version)
{
    cJSON *l = resource_list();
    cr_assert_str_eq(str(l, "kind"), "APIResourceList");
    cr_assert_str_eq(str(l, "apiVersion"), "v1");
    cr_assert_str_eq(str(l, "groupVersion"), GV);
    cJSON_Delete(l);
}

Test(discovery, resource_list_has_exactly_foos_and_its_subresources_in_name_order)
{
    static const char *names[] = {"foos", "foos/bar", "foos/scale", "foos/status"};
    cJSON *l = resource_list();
    cJSON *resources = cJSON_GetObjectItemCaseSensitive(l, "resources");
    cr_assert_eq(cJSON_GetArraySize(resources), 4);
    for (int i = 0; i < 4; i++)
        cr_assert_str_eq(str(cJSON_GetArrayItem(resources, i), "name"), names[i]);
    cJSON_Delete(l);
}

Test(discovery, foos_entry_has_the_contract_fields)
{
    cJSON *l = resource_list();
    cJSON *e = resource_entry(l, "foos");
    cr_assert_str_eq(str(e, "singularName"), "foo");
    cr_assert(is_false(e, "namespaced"));
    cr_assert_str_eq(str(e, "kind"), "Foo");
    static const char *short_names[] = {"fo"};
    static const char *categories[] = {"demo"};
    expect_strings(cJSON_GetObjectItem(e, "shortNames"), short_names, 1, "shortNames");
    expect_strings(cJSON_GetObjectItem(e, "categories"), categories, 1, "categories");
    cr_assert_not(has_key(e, "group"), "the main resource lives in its own group");
    cr_assert_not(has_key(e, "version"));
    cJSON_Delete(l);
}

Test(discovery, foos_verbs_are_sorted_alphabetically)
{
    cJSON *l = resource_list();
    expect_strings(cJSON_GetObjectItem(resource_entry(l, "foos"), "verbs"), resource_verbs, 8,
                   "foos verbs");
    cJSON_Delete(l);
}

Test(discovery, storage_version_hash_is_base64_of_the_sha256_prefix)
{
    static const char input[] = "demo.example.com/v1beta1/Foo";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    cr_assert_eq(EVP_Digest(input, sizeof input - 1, md, &mdlen, EVP_sha256(), NULL), 1);
    cr_assert_eq(mdlen, 32);
    unsigned char want[16];
    cr_assert_eq(EVP_EncodeBlock(want, md, 8), 12);
    cJSON *l = resource_list();
    cr_assert_str_eq(str(resource_entry(l, "foos"), "storageVersionHash"), (const char *)want);
    cJSON_Delete(l);
}

Test(discovery, storage_version_hash_is_only_on_the_main_resource)
{
    cJSON *l = resource_list();
    cr_assert_not(has_key(resource_entry(l, "foos/bar"), "storageVersionHash"));
    cr_assert_not(has_key(resource_entry(l, "foos/scale"), "storageVersionHash"));
    cr_assert_not(has_key(resource_entry(l, "foos/status"), "storageVersionHash"));
    cJSON_Delete(l);
}

Test(discovery, subresources_have_empty_singular_name_and_cluster_scope)
{
    static const char *subs[] = {"foos/bar", "foos/scale", "foos/status"};
    cJSON *l = resource_list();
    for (int i = 0; i < 3; i++) {
        cJSON *e = resource_entry(l, subs[i]);
        cr_assert_str_eq(str(e, "singularName"), "", "%s", subs[i]);
        cr_assert(is_false(e, "namespaced"), "%s", subs[i]);
        cr_assert_not(has_key(e, "shortNames"), "%s", subs[i]);
        cr_assert_not(has_key(e, "categories"), "%s", subs[i]);
    }
    cJSON_Delete(l);
}

Test(discovery, bar_subresource_is_foobar_with_create_and_get)
{
    cJSON *l = resource_list();
    cJSON *e = resource_entry(l, "foos/bar");
    cr_assert_str_eq(str(e, "kind"), "FooBar");
    cr_assert_not(has_key(e, "group"));
    cr_assert_not(has_key(e, "version"));
    expect_strings(cJSON_GetObjectItem(e, "verbs"), bar_verbs, 2, "bar verbs");
    cJSON_Delete(l);
}

Test(discovery, scale_subresource_is_autoscaling_v1_scale)
{
    cJSON *l = resource_list();
    cJSON *e = resource_entry(l, "foos/scale");
    cr_assert_str_eq(str(e, "group"), "autoscaling");
    cr_assert_str_eq(str(e, "version"), "v1");
    cr_assert_str_eq(str(e, "kind"), "Scale");
    expect_strings(cJSON_GetObjectItem(e, "verbs"), sub_verbs, 3, "scale verbs");
    cJSON_Delete(l);
}

Test(discovery, status_subresource_is_foo_with_get_patch_update)
{
    cJSON *l = resource_list();
    cJSON *e = resource_entry(l, "foos/status");
    cr_assert_str_eq(str(e, "kind"), "Foo");
    cr_assert_not(has_key(e, "group"));
    cr_assert_not(has_key(e, "version"));
    expect_strings(cJSON_GetObjectItem(e, "verbs"), sub_verbs, 3, "status verbs");
    cJSON_Delete(l);
}

Test(discovery, resource_list_answers_kubectl_and_aggregator_accepts)
{
    static const char *accepts[] = {"application/json, */*", "application/json", NULL, "*/*"};
    for (size_t i = 0; i < sizeof accepts / sizeof accepts[0]; i++) {
        as_req req = req_new(accepts[i], NULL);
        as_discovery_resources(&req, "demo.example.com", "v1beta1");
        cJSON *l = body_200(&req);
        cr_assert_str_eq(str(l, "kind"), "APIResourceList");
        cJSON_Delete(l);
        req_free(&req);
    }
}

Test(discovery, resource_list_with_protobuf_only_is_not_acceptable)
{
    as_req req = req_new("application/vnd.kubernetes.protobuf", NULL);
    as_discovery_resources(&req, "demo.example.com", "v1beta1");
    cr_assert_eq(req.status, 406);
    cJSON *s = cJSON_ParseWithLength(req.out.data, req.out.len);
    cr_assert_not_null(s);
    cr_assert_str_eq(str(s, "kind"), "Status");
    cr_assert_str_eq(str(s, "reason"), "NotAcceptable");
    cr_assert_eq(cJSON_GetObjectItem(s, "code")->valueint, 406);
    cJSON_Delete(s);
    req_free(&req);
}

/* ---- APIGroupList and APIGroup (items 1 and 2) ------------------------------------------ */

static void expect_api_group(const cJSON *g)
{
    cr_assert_str_eq(str(g, "name"), "demo.example.com");
    cJSON *versions = cJSON_GetObjectItemCaseSensitive(g, "versions");
    cr_assert_eq(cJSON_GetArraySize(versions), 1);
    cJSON *v = cJSON_GetArrayItem(versions, 0);
    cr_assert_str_eq(str(v, "groupVersion"), GV);
    cr_assert_str_eq(str(v, "version"), "v1beta1");
    cr_assert_eq(cJSON_GetArraySize(v), 2);
    cr_assert(json_equal(cJSON_GetObjectItem(g, "preferredVersion"), v),
              "preferredVersion must equal versions[0] (python compares dicts)");
}

Test(discovery, apis_with_json_accept_is_an_api_group_list)
{
    as_req req = get_apis("application/json", NULL);
    cJSON *l = body_200(&req);
    expect_header(&req, "Content-Type", "application/json");
    char *etag = header(&req, "ETag");
    cr_assert_null(etag, "no ETag on the legacy document");
    cr_assert_str_eq(str(l, "kind"), "APIGroupList");
    cr_assert_str_eq(str(l, "apiVersion"), "v1");
    cJSON *groups = cJSON_GetObjectItem(l, "groups");
    cr_assert_eq(cJSON_GetArraySize(groups), 1);
    expect_api_group(cJSON_GetArrayItem(groups, 0));
    cJSON_Delete(l);
    req_free(&req);
}

Test(discovery, apis_without_accept_is_an_api_group_list)
{
    as_req req = get_apis(NULL, NULL);
    cJSON *l = body_200(&req);
    cr_assert_str_eq(str(l, "kind"), "APIGroupList");
    cJSON_Delete(l);
    req_free(&req);
}

Test(discovery, group_is_an_api_group)
{
    as_req req = req_new("application/json", NULL);
    as_discovery_group(&req, "demo.example.com");
    cJSON *g = body_200(&req);
    cr_assert_str_eq(str(g, "kind"), "APIGroup");
    cr_assert_str_eq(str(g, "apiVersion"), "v1");
    expect_api_group(g);
    cJSON_Delete(g);
    req_free(&req);
}

Test(discovery, group_with_protobuf_only_is_not_acceptable)
{
    as_req req = req_new("application/vnd.kubernetes.protobuf", NULL);
    as_discovery_group(&req, "demo.example.com");
    cr_assert_eq(req.status, 406);
    req_free(&req);
}

/* ---- aggregated discovery (items 4-6) --------------------------------------------------- */

static void expect_response_kind(const cJSON *obj, const char *group, const char *version,
                                 const char *kind)
{
    cJSON *rk = cJSON_GetObjectItemCaseSensitive(obj, "responseKind");
    cr_assert_not_null(rk, "no responseKind");
    cr_assert_str_eq(str(rk, "group"), group);
    cr_assert_str_eq(str(rk, "version"), version);
    cr_assert_str_eq(str(rk, "kind"), kind);
}

static void expect_aggregated(const cJSON *doc, const char *api_version)
{
    cr_assert_str_eq(str(doc, "kind"), "APIGroupDiscoveryList");
    cr_assert_str_eq(str(doc, "apiVersion"), api_version);
    cr_assert(cJSON_IsObject(cJSON_GetObjectItem(doc, "metadata")));
    cJSON *items = cJSON_GetObjectItem(doc, "items");
    cr_assert_eq(cJSON_GetArraySize(items), 1);
    cJSON *g = cJSON_GetArrayItem(items, 0);
    cr_assert_str_eq(str(g, "metadata.name"), "demo.example.com");
    cJSON *versions = cJSON_GetObjectItem(g, "versions");
    cr_assert_eq(cJSON_GetArraySize(versions), 1);
    cJSON *v = cJSON_GetArrayItem(versions, 0);
    cr_assert_str_eq(str(v, "version"), "v1beta1");
    cr_assert_str_eq(str(v, "freshness"), "Current");
    cJSON *resources = cJSON_GetObjectItem(v, "resources");
    cr_assert_eq(cJSON_GetArraySize(resources), 1);

    cJSON *r = cJSON_GetArrayItem(resources, 0);
    cr_assert_str_eq(str(r, "resource"), "foos");
    expect_response_kind(r, "demo.example.com", "v1beta1", "Foo");
    cr_assert_str_eq(str(r, "scope"), "Cluster");
    cr_assert_str_eq(str(r, "singularResource"), "foo");
    expect_strings(cJSON_GetObjectItem(r, "verbs"), resource_verbs, 8, "verbs");
    static const char *short_names[] = {"fo"};
    static const char *categories[] = {"demo"};
    expect_strings(cJSON_GetObjectItem(r, "shortNames"), short_names, 1, "shortNames");
    expect_strings(cJSON_GetObjectItem(r, "categories"), categories, 1, "categories");

    cJSON *subs = cJSON_GetObjectItem(r, "subresources");
    cr_assert_eq(cJSON_GetArraySize(subs), 3);
    cJSON *bar = cJSON_GetArrayItem(subs, 0);
    cr_assert_str_eq(str(bar, "subresource"), "bar");
    expect_response_kind(bar, "demo.example.com", "v1beta1", "FooBar");
    expect_strings(cJSON_GetObjectItem(bar, "verbs"), bar_verbs, 2, "bar verbs");
    cJSON *scale = cJSON_GetArrayItem(subs, 1);
    cr_assert_str_eq(str(scale, "subresource"), "scale");
    expect_response_kind(scale, "autoscaling", "v1", "Scale");
    expect_strings(cJSON_GetObjectItem(scale, "verbs"), sub_verbs, 3, "scale verbs");
    cJSON *status = cJSON_GetArrayItem(subs, 2);
    cr_assert_str_eq(str(status, "subresource"), "status");
    expect_response_kind(status, "demo.example.com", "v1beta1", "Foo");
    expect_strings(cJSON_GetObjectItem(status, "verbs"), sub_verbs, 3, "status verbs");
}

Test(discovery, apis_with_kubectl_133_accept_is_aggregated_v2)
{
    as_req req = get_apis(KUBECTL_133, NULL);
    cJSON *doc = body_200(&req);
    expect_header(&req, "Content-Type", V2_TYPE);
    expect_aggregated(doc, "apidiscovery.k8s.io/v2");
    cJSON_Delete(doc);
    req_free(&req);
}

Test(discovery, apis_with_aggregator_accept_is_aggregated_v2)
{
    as_req req = get_apis(AGGREGATOR, NULL);
    cJSON *doc = body_200(&req);
    expect_header(&req, "Content-Type", V2_TYPE);
    expect_aggregated(doc, "apidiscovery.k8s.io/v2");
    cJSON_Delete(doc);
    req_free(&req);
}

Test(discovery, apis_with_kubectl_127_accept_is_aggregated_v2beta1)
{
    as_req req = get_apis(KUBECTL_127, NULL);
    cJSON *doc = body_200(&req);
    expect_header(&req, "Content-Type", V2BETA1_TYPE);
    expect_aggregated(doc, "apidiscovery.k8s.io/v2beta1");
    cJSON_Delete(doc);
    req_free(&req);
}

Test(discovery, aggregated_response_has_cache_headers)
{
    as_req req = get_apis(KUBECTL_133, NULL);
    cr_assert_eq(req.status, 200);
    char *etag = header(&req, "ETag");
    cr_assert_not_null(etag);
    size_t n = strlen(etag);
    cr_assert(n > 2 && etag[0] == '"' && etag[n - 1] == '"', "ETag %s is not quoted", etag);
    free(etag);
    expect_header(&req, "Vary", "Accept");
    expect_header(&req, "Cache-Control", "public");
    req_free(&req);
}

Test(discovery, matching_if_none_match_is_304_with_empty_body)
{
    as_req first = get_apis(KUBECTL_133, NULL);
    char *etag = header(&first, "ETag");
    cr_assert_not_null(etag);
    as_req again = get_apis(KUBECTL_133, etag);
    cr_assert_eq(again.status, 304);
    cr_assert_eq(again.out.len, 0);
    expect_header(&again, "ETag", etag);
    free(etag);
    req_free(&first);
    req_free(&again);
}

Test(discovery, stale_if_none_match_is_200_with_the_document)
{
    as_req req = get_apis(KUBECTL_133, "\"0000\"");
    cJSON *doc = body_200(&req);
    expect_aggregated(doc, "apidiscovery.k8s.io/v2");
    cJSON_Delete(doc);
    req_free(&req);
}

Test(discovery, v2_etag_does_not_validate_the_v2beta1_document)
{
    as_req v2 = get_apis(KUBECTL_133, NULL);
    char *etag = header(&v2, "ETag");
    cr_assert_not_null(etag);
    as_req beta = get_apis(KUBECTL_127, etag);
    cr_assert_eq(beta.status, 200);
    char *beta_etag = header(&beta, "ETag");
    cr_assert_str_neq(beta_etag, etag);
    expect_header(&beta, "Content-Type", V2BETA1_TYPE);
    free(etag);
    free(beta_etag);
    req_free(&v2);
    req_free(&beta);
}

Test(discovery, etag_is_stable_across_rebuilds)
{
    as_req a = get_apis(KUBECTL_133, NULL);
    char *before = header(&a, "ETag");
    as_discovery_free(server.discovery);
    server.discovery = as_discovery_new(server.registry);
    as_req b = get_apis(KUBECTL_133, NULL);
    char *after = header(&b, "ETag");
    cr_assert_str_eq(after, before);
    free(before);
    free(after);
    req_free(&a);
    req_free(&b);
}

Test(discovery, apis_with_protobuf_only_is_not_acceptable)
{
    as_req req = get_apis("application/vnd.kubernetes.protobuf", NULL);
    cr_assert_eq(req.status, 406);
    expect_header(&req, "Content-Type", "application/json");
    cJSON *s = cJSON_ParseWithLength(req.out.data, req.out.len);
    cr_assert_not_null(s);
    cr_assert_str_eq(str(s, "kind"), "Status");
    cr_assert_str_eq(str(s, "apiVersion"), "v1");
    cr_assert_str_eq(str(s, "status"), "Failure");
    cr_assert_str_eq(str(s, "reason"), "NotAcceptable");
    cr_assert_not_null(strstr(str(s, "message"), "application/json"));
    cJSON_Delete(s);
    req_free(&req);
}

/* ---- /version (item 8) ------------------------------------------------------------------ */

Test(discovery, version_has_the_string_fields_clients_read)
{
    static const char *keys[] = {"major",     "minor",        "gitVersion",
                                 "gitCommit", "gitTreeState", "buildDate",
                                 "goVersion", "compiler",     "platform"};
    as_req req = req_new("application/json", NULL);
    as_discovery_version(&req);
    cJSON *v = body_200(&req);
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        cr_assert(cJSON_IsString(cJSON_GetObjectItem(v, keys[i])), "%s is not a string", keys[i]);
    cr_assert_str_eq(str(v, "major"), "1");
    cr_assert_str_eq(str(v, "minor"), "0");
    cr_assert_str_eq(str(v, "gitVersion"), "v0.1.0");
    cr_assert_str_eq(str(v, "gitTreeState"), "clean");
    cr_assert_str_eq(str(v, "platform"), "linux/amd64");
    cJSON_Delete(v);
    req_free(&req);
}

/* ---- Foo's documents, byte for byte -------------------------------------------------------- */

/* What the server answered before discovery was generated from the registry for any group
   (clients cache by ETag; conformance compares the documents field by field). */
#define FOO_APIS                                                                                   \
    "{\"kind\":\"APIGroupList\",\"apiVersion\":\"v1\",\"groups\":[{\"name\":\"demo.example.com\"," \
    "\"versions\":[{\"groupVersion\":\"demo.example.com/v1beta1\",\"version\":\"v1beta1\"}],"      \
    "\"preferredVersion\":{\"groupVersion\":\"demo.example.com/"                                   \
    "v1beta1\",\"version\":\"v1beta1\"}}]}"
#define FOO_GROUP_DOC                                                                              \
    "{\"name\":\"demo.example.com\",\"versions\":[{\"groupVersion\":\"demo.example.com/v1beta1\"," \
    "\"version\":\"v1beta1\"}],\"preferredVersion\":{\"groupVersion\":\"demo.example.com/"         \
    "v1beta1\",\"version\":\"v1beta1\"},\"kind\":\"APIGroup\",\"apiVersion\":\"v1\"}"
#define FOO_VERBS_JSON                                                                             \
    "[\"create\",\"delete\",\"deletecollection\",\"get\",\"list\",\"patch\",\"update\",\"watch\"]"
#define FOO_RESOURCE_LIST                                                                          \
    "{\"kind\":\"APIResourceList\",\"apiVersion\":\"v1\",\"groupVersion\":\"demo.example.com/"     \
    "v1beta1\",\"resources\":[{\"name\":\"foos\",\"singularName\":\"foo\",\"namespaced\":false,"   \
    "\"kind\":\"Foo\",\"verbs\":" FOO_VERBS_JSON ",\"shortNames\":[\"fo\"],\"categories\":"        \
    "[\"demo\"],\"storageVersionHash\":\"mp7CknrR1JI=\"},{\"name\":\"foos/bar\",\"singularName\":" \
    "\"\",\"namespaced\":false,\"kind\":\"FooBar\",\"verbs\":[\"create\",\"get\"]},{\"name\":"     \
    "\"foos/scale\",\"singularName\":\"\",\"namespaced\":false,\"group\":\"autoscaling\","         \
    "\"version\":\"v1\",\"kind\":\"Scale\",\"verbs\":[\"get\",\"patch\",\"update\"]},{\"name\":"   \
    "\"foos/status\",\"singularName\":\"\",\"namespaced\":false,\"kind\":\"Foo\",\"verbs\":"       \
    "[\"get\",\"patch\",\"update\"]}]}"
#define FOO_AGGREGATED(v)                                                                          \
    "{\"kind\":\"APIGroupDiscoveryList\",\"apiVersion\":\"apidiscovery.k8s.io/" v "\","            \
    "\"metadata\":{},\"items\":[{\"metadata\":{\"name\":\"demo.example.com\"},\"versions\":"       \
    "[{\"version\":\"v1beta1\",\"resources\":[{\"resource\":\"foos\",\"responseKind\":{\"group\":" \
    "\"demo.example.com\",\"version\":\"v1beta1\",\"kind\":\"Foo\"},\"scope\":\"Cluster\","        \
    "\"singularResource\":\"foo\",\"verbs\":" FOO_VERBS_JSON ",\"shortNames\":[\"fo\"],"           \
    "\"categories\":[\"demo\"],\"subresources\":[{\"subresource\":\"bar\",\"responseKind\":"       \
    "{\"group\":\"demo.example.com\",\"version\":\"v1beta1\",\"kind\":\"FooBar\"},\"verbs\":"      \
    "[\"create\",\"get\"]},{\"subresource\":\"scale\",\"responseKind\":{\"group\":"                \
    "\"autoscaling\","                                                                             \
    "\"version\":\"v1\",\"kind\":\"Scale\"},\"verbs\":[\"get\",\"patch\",\"update\"]},"            \
    "{\"subresource\":\"status\",\"responseKind\":{\"group\":\"demo.example.com\",\"version\":"    \
    "\"v1beta1\",\"kind\":\"Foo\"},\"verbs\":[\"get\",\"patch\",\"update\"]}]}],\"freshness\":"    \
    "\"Current\"}]}]}"

static void expect_body(const as_req *req, const char *want)
{
    cr_assert_eq(req->status, 200);
    cr_assert_eq(req->out.len, strlen(want), "%.*s", (int)req->out.len, req->out.data);
    cr_assert_eq(memcmp(req->out.data, want, req->out.len), 0, "%.*s", (int)req->out.len,
                 req->out.data);
}

Test(discovery, foo_documents_are_byte_identical_to_the_single_kind_server)
{
    as_req req = get_apis("application/json", NULL);
    expect_body(&req, FOO_APIS);
    req_free(&req);
    req = req_new("application/json", NULL);
    as_discovery_group(&req, "demo.example.com");
    expect_body(&req, FOO_GROUP_DOC);
    req_free(&req);
    req = req_new("application/json", NULL);
    as_discovery_resources(&req, "demo.example.com", "v1beta1");
    expect_body(&req, FOO_RESOURCE_LIST);
    req_free(&req);
    req = get_apis(KUBECTL_133, NULL);
    expect_body(&req, FOO_AGGREGATED("v2"));
    req_free(&req);
    req = get_apis(KUBECTL_127, NULL);
    expect_body(&req, FOO_AGGREGATED("v2beta1"));
    req_free(&req);
}

Test(discovery, api_without_core_kinds_is_404)
{
    as_req req = req_new("application/json", NULL);
    as_discovery_api(&req);
    cr_assert_eq(req.status, 404);
    req_free(&req);
    req = req_new("application/json", NULL);
    as_discovery_resources(&req, "", "v1");
    cr_assert_eq(req.status, 404);
    req_free(&req);
}

Test(discovery, unknown_group_or_version_is_404)
{
    as_req req = req_new("application/json", NULL);
    as_discovery_group(&req, "other.example.com");
    cr_assert_eq(req.status, 404);
    req_free(&req);
    req = req_new("application/json", NULL);
    as_discovery_resources(&req, "demo.example.com", "v9");
    cr_assert_eq(req.status, 404);
    req_free(&req);
}

/* ---- a registry of several kinds (suite discovery_kinds) --------------------------------- */

static const as_resource gadgets = {
    .group = "",
    .version = "v1",
    .resource = "gadgets",
    .singular = "gadget",
    .kind = "Gadget",
    .list_kind = "GadgetList",
    .short_names = {"gd", NULL},
    .namespaced = true,
};

static const as_resource namespaces = {
    .group = "",
    .version = "v1",
    .resource = "namespaces",
    .singular = "namespace",
    .kind = "Namespace",
    .list_kind = "NamespaceList",
    .short_names = {"ns", NULL},
    .namespaced = false,
    .has_status = true,
};

static const as_resource widgets_v1 = {
    .group = "shop.example.com",
    .version = "v1",
    .resource = "widgets",
    .singular = "widget",
    .kind = "Widget",
    .list_kind = "WidgetList",
    .short_names = {"wd", NULL},
    .categories = {"all", NULL},
    .namespaced = true,
    .has_status = true,
    .has_scale = true,
};

static const as_resource widgets_v2 = {
    .group = "shop.example.com",
    .version = "v2",
    .resource = "widgets",
    .singular = "widget",
    .kind = "Widget",
    .list_kind = "WidgetList",
    .namespaced = true,
};

#define SHOP_V1 "shop.example.com/v1"
#define SHOP_V2 "shop.example.com/v2"

/* Foo (the real entry, whose bar is a custom subresource), then the test kinds. */
static void kinds_setup(void)
{
    alloc_install_cjson_hooks();
    as_registry *foo_only = as_registry_new(false);
    int n;
    const as_resource *foo = as_registry_all(foo_only, &n)[0];
    const as_resource *entries[] = {foo, &widgets_v1, &gadgets, &namespaces, &widgets_v2};
    server.registry = as_registry_of(entries, 5);
    as_registry_free(foo_only); /* entries are static: they outlive any registry */
    server.discovery = as_discovery_new(server.registry);
    server.openapi = as_openapi_new(server.registry);
}

TestSuite(discovery_kinds, .init = kinds_setup, .fini = teardown);

/* GET of group/version's APIResourceList, asserted 200. */
static cJSON *resources_of(const char *group, const char *version)
{
    as_req req = req_new("application/json", NULL);
    as_discovery_resources(&req, group, version);
    cJSON *doc = body_200(&req);
    req_free(&req);
    return doc;
}

static void expect_names(const cJSON *list, const char *const *want, int n)
{
    cJSON *resources = cJSON_GetObjectItemCaseSensitive(list, "resources");
    cr_assert_eq(cJSON_GetArraySize(resources), n);
    for (int i = 0; i < n; i++)
        cr_assert_str_eq(str(cJSON_GetArrayItem(resources, i), "name"), want[i]);
}

Test(discovery_kinds, api_lists_the_core_version)
{
    as_req req = req_new("application/json", NULL);
    as_discovery_api(&req);
    expect_body(&req, "{\"kind\":\"APIVersions\",\"versions\":[\"v1\"],"
                      "\"serverAddressByClientCIDRs\":[]}");
    req_free(&req);
}

Test(discovery_kinds, core_v1_lists_its_kinds_sorted_with_kubes_verbs)
{
    static const char *names[] = {"gadgets", "namespaces", "namespaces/status"};
    static const char *ns_verbs[] = {"create", "delete", "get", "list", "patch", "update", "watch"};
    cJSON *l = resources_of("", "v1");
    cr_assert_str_eq(str(l, "groupVersion"), "v1");
    expect_names(l, names, 3);
    cJSON *g = resource_entry(l, "gadgets");
    cr_assert(cJSON_IsTrue(cJSON_GetObjectItem(g, "namespaced")));
    expect_strings(cJSON_GetObjectItem(g, "verbs"), resource_verbs, 8, "gadgets verbs");
    cr_assert_not(has_key(g, "categories"), "no categories: kube leaves the key out");
    cJSON *ns = resource_entry(l, "namespaces");
    cr_assert(is_false(ns, "namespaced"));
    expect_strings(cJSON_GetObjectItem(ns, "verbs"), ns_verbs, 7, "namespaces verbs");
    static const char *short_ns[] = {"ns"};
    expect_strings(cJSON_GetObjectItem(ns, "shortNames"), short_ns, 1, "shortNames");
    cJSON *status = resource_entry(l, "namespaces/status");
    cr_assert_str_eq(str(status, "kind"), "Namespace");
    expect_strings(cJSON_GetObjectItem(status, "verbs"), sub_verbs, 3, "status verbs");
    cJSON_Delete(l);
}

Test(discovery_kinds, storage_version_hash_of_a_core_kind_hashes_an_empty_group)
{
    static const char input[] = "/v1/Gadget";
    unsigned char md[EVP_MAX_MD_SIZE], want[16];
    unsigned int mdlen = 0;
    cr_assert_eq(EVP_Digest(input, sizeof input - 1, md, &mdlen, EVP_sha256(), NULL), 1);
    EVP_EncodeBlock(want, md, 8);
    cJSON *l = resources_of("", "v1");
    cr_assert_str_eq(str(resource_entry(l, "gadgets"), "storageVersionHash"), (const char *)want);
    cJSON_Delete(l);
}

Test(discovery_kinds, namespaced_kind_with_status_and_scale)
{
    static const char *names[] = {"widgets", "widgets/scale", "widgets/status"};
    cJSON *l = resources_of("shop.example.com", "v1");
    cr_assert_str_eq(str(l, "groupVersion"), SHOP_V1);
    expect_names(l, names, 3);
    for (int i = 0; i < 3; i++)
        cr_assert(cJSON_IsTrue(cJSON_GetObjectItem(resource_entry(l, names[i]), "namespaced")));
    cJSON *scale = resource_entry(l, "widgets/scale");
    cr_assert_str_eq(str(scale, "group"), "autoscaling");
    cr_assert_str_eq(str(scale, "kind"), "Scale");
    static const char *cats[] = {"all"};
    expect_strings(cJSON_GetObjectItem(resource_entry(l, "widgets"), "categories"), cats, 1,
                   "categories");
    cJSON_Delete(l);
}

Test(discovery_kinds, apis_lists_every_non_core_group_with_its_versions)
{
    as_req req = get_apis("application/json", NULL);
    cJSON *l = body_200(&req);
    cJSON *groups = cJSON_GetObjectItem(l, "groups");
    cr_assert_eq(cJSON_GetArraySize(groups), 2, "the core group is never in /apis");
    cr_assert_str_eq(str(cJSON_GetArrayItem(groups, 0), "name"), "demo.example.com");
    cJSON *shop = cJSON_GetArrayItem(groups, 1);
    cr_assert_str_eq(str(shop, "name"), "shop.example.com");
    cJSON *versions = cJSON_GetObjectItem(shop, "versions");
    cr_assert_eq(cJSON_GetArraySize(versions), 2);
    cr_assert_str_eq(str(cJSON_GetArrayItem(versions, 0), "groupVersion"), SHOP_V1);
    cr_assert_str_eq(str(cJSON_GetArrayItem(versions, 1), "groupVersion"), SHOP_V2);
    cr_assert(
        json_equal(cJSON_GetObjectItem(shop, "preferredVersion"), cJSON_GetArrayItem(versions, 0)),
        "the first registered version is preferred");
    cJSON_Delete(l);
    req_free(&req);

    req = req_new("application/json", NULL);
    as_discovery_group(&req, "shop.example.com");
    cJSON *g = body_200(&req);
    cr_assert_str_eq(str(g, "kind"), "APIGroup");
    cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItem(g, "versions")), 2);
    cJSON_Delete(g);
    req_free(&req);
}

Test(discovery_kinds, aggregated_apis_holds_every_group_and_version)
{
    as_req req = get_apis(KUBECTL_133, NULL);
    cJSON *doc = body_200(&req);
    cJSON *items = cJSON_GetObjectItem(doc, "items");
    cr_assert_eq(cJSON_GetArraySize(items), 2);
    cJSON *shop = cJSON_GetArrayItem(items, 1);
    cr_assert_str_eq(str(shop, "metadata.name"), "shop.example.com");
    cJSON *versions = cJSON_GetObjectItem(shop, "versions");
    cr_assert_eq(cJSON_GetArraySize(versions), 2);
    cJSON *v1 = cJSON_GetArrayItem(versions, 0);
    cr_assert_str_eq(str(v1, "version"), "v1");
    cJSON *w = cJSON_GetArrayItem(cJSON_GetObjectItem(v1, "resources"), 0);
    cr_assert_str_eq(str(w, "scope"), "Namespaced");
    expect_response_kind(w, "shop.example.com", "v1", "Widget");
    cJSON *subs = cJSON_GetObjectItem(w, "subresources");
    cr_assert_eq(cJSON_GetArraySize(subs), 2);
    cr_assert_str_eq(str(cJSON_GetArrayItem(subs, 0), "subresource"), "scale");
    cr_assert_str_eq(str(cJSON_GetArrayItem(subs, 1), "subresource"), "status");
    cJSON *v2 = cJSON_GetArrayItem(versions, 1);
    cJSON *w2 = cJSON_GetArrayItem(cJSON_GetObjectItem(v2, "resources"), 0);
    cr_assert_not(has_key(w2, "subresources"), "no subresources: kube leaves the key out");
    cr_assert_not(has_key(w2, "shortNames"));
    cJSON_Delete(doc);
    req_free(&req);
}

Test(discovery_kinds, aggregated_api_is_the_nameless_core_group)
{
    as_req req = req_new(KUBECTL_133, NULL);
    as_discovery_api(&req);
    cJSON *doc = body_200(&req);
    expect_header(&req, "Content-Type", V2_TYPE);
    char *etag = header(&req, "ETag");
    cr_assert_not_null(etag);
    cJSON *items = cJSON_GetObjectItem(doc, "items");
    cr_assert_eq(cJSON_GetArraySize(items), 1);
    cJSON *core = cJSON_GetArrayItem(items, 0);
    cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItem(core, "metadata")), 0);
    cJSON *v = cJSON_GetArrayItem(cJSON_GetObjectItem(core, "versions"), 0);
    cr_assert_str_eq(str(v, "version"), "v1");
    cJSON *res = cJSON_GetObjectItem(v, "resources");
    cr_assert_eq(cJSON_GetArraySize(res), 2);
    cr_assert_str_eq(str(cJSON_GetArrayItem(res, 0), "resource"), "gadgets");
    cJSON *ns = cJSON_GetArrayItem(res, 1);
    cr_assert_str_eq(str(ns, "scope"), "Cluster");
    expect_response_kind(ns, "", "v1", "Namespace");

    as_req again = req_new(KUBECTL_133, etag);
    as_discovery_api(&again);
    cr_assert_eq(again.status, 304);
    as_req apis = get_apis(KUBECTL_133, etag);
    cr_assert_eq(apis.status, 200, "the /api ETag does not validate /apis");
    free(etag);
    cJSON_Delete(doc);
    req_free(&req);
    req_free(&again);
    req_free(&apis);
}

Test(discovery_kinds, api_with_json_accept_is_api_versions)
{
    as_req req = req_new("application/json", NULL);
    as_discovery_api(&req);
    cJSON *v = body_200(&req);
    cr_assert_str_eq(str(v, "kind"), "APIVersions");
    cJSON_Delete(v);
    req_free(&req);
}

Test(discovery_kinds, verbs_of_namespaces_lack_deletecollection_only)
{
    const char *verbs[AS_MAX_VERBS + 1];
    cr_assert_eq(as_discovery_verbs(&namespaces, verbs), 7);
    cr_assert_null(verbs[7]);
    for (int i = 0; i < 7; i++)
        cr_assert_str_neq(verbs[i], "deletecollection");
    cr_assert_eq(as_discovery_verbs(&gadgets, verbs), 8);
    cr_assert_eq(as_discovery_verbs(&widgets_v1, verbs), 8);
}

/* ---- the router on that registry (suite routes) ------------------------------------------ */

static authn_user admin = {.name = "admin"};

TestSuite(routes, .init = kinds_setup, .fini = teardown);

/* Routes method path (the path is copied: the router may keep pointers into it meanwhile). */
static as_req route(as_method method, const char *method_name, const char *path)
{
    as_req req = req_new("application/json", NULL);
    req.method = method;
    req.method_name = method_name;
    req.path = xstrdup(path);
    req.user = &admin;
    as_rest_handle(&server, &req);
    cr_assert(req.responded, "%s %s got no answer", method_name, path);
    return req;
}

static void route_free(as_req *req)
{
    free(req->path);
    req_free(req);
}

static void expect_route(const char *path, int status)
{
    as_req req = route(AS_GET, "GET", path);
    cr_assert_eq(req.status, status, "GET %s: %d %.*s", path, req.status, (int)req.out.len,
                 req.out.data);
    route_free(&req);
}

Test(routes, discovery_paths_of_every_group)
{
    expect_route("/api", 200);
    expect_route("/api/v1", 200);
    expect_route("/apis", 200);
    expect_route("/apis/shop.example.com", 200);
    expect_route("/apis/shop.example.com/v1", 200);
    expect_route("/apis/shop.example.com/v2", 200);
    expect_route("/apis/demo.example.com/v1beta1/", 200);
}

Test(routes, unknown_groups_versions_and_resources_are_404)
{
    static const char *const paths[] = {
        "/api/v2",
        "/api/v2/gadgets",
        "/apis/shop.example.com/v3",
        "/apis/shop.example.com/v3/widgets",
        "/apis/demo.example.com/v9/foos",
        "/apis/demo.example.com/v9/foos/x",
        "/apis/other.example.com",
        "/apis/shop.example.com/v1/foos",
        "/api/v1/widgets",
        "/nothing",
        "/openapi/v3/apis/shop.example.com/v3",
        "/openapi/v3/apis/demo.example.com",
    };
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        as_req req = route(AS_GET, "GET", paths[i]);
        cr_assert_eq(req.status, 404, "%s: %d", paths[i], req.status);
        cJSON *st = cJSON_ParseWithLength(req.out.data, req.out.len);
        cr_assert_str_eq(str(st, "reason"), "NotFound");
        cJSON_Delete(st);
        route_free(&req);
    }
}

Test(routes, writes_to_discovery_and_openapi_are_405)
{
    static const char *const paths[] = {"/api",        "/api/v1",
                                        "/apis",       "/apis/shop.example.com/v1",
                                        "/openapi/v2", "/openapi/v3/api/v1",
                                        "/version"};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        as_req req = route(AS_POST, "POST", paths[i]);
        cr_assert_eq(req.status, 405, "%s: %d", paths[i], req.status);
        route_free(&req);
    }
}

Test(routes, anonymous_requests_are_401)
{
    static authn_user anonymous = {.name = "system:anonymous"};
    as_req req = req_new("application/json", NULL);
    req.path = xstrdup("/api/v1");
    req.user = &anonymous;
    as_rest_handle(&server, &req);
    cr_assert_eq(req.status, 401);
    route_free(&req);
}

/* The body of GET path, parsed; asserts 200. */
static cJSON *get_json(const char *path)
{
    as_req req = route(AS_GET, "GET", path);
    cJSON *doc = body_200(&req);
    route_free(&req);
    return doc;
}

Test(routes, openapi_v3_index_has_one_document_per_group_version)
{
    static const char *const gvs[] = {"apis/demo.example.com/v1beta1", "apis/shop.example.com/v1",
                                      "api/v1", "apis/shop.example.com/v2"};
    cJSON *index = get_json("/openapi/v3");
    cJSON *paths = cJSON_GetObjectItem(index, "paths");
    cr_assert_eq(cJSON_GetArraySize(index), 1);
    cr_assert_eq(cJSON_GetArraySize(paths), 4);
    for (size_t i = 0; i < 4; i++) {
        cJSON *entry = cJSON_GetObjectItemCaseSensitive(paths, gvs[i]);
        cr_assert_not_null(entry, "no %s", gvs[i]);
        const char *url = str(entry, "serverRelativeURL");
        char *prefix = xasprintf("/openapi/v3/%s?hash=", gvs[i]);
        cr_assert_eq(strncmp(url, prefix, strlen(prefix)), 0, "%s", url);
        const char *hash = url + strlen(prefix);
        cr_assert_eq(strlen(hash), 128);

        /* the document at that URL, with its hash as ETag and the immutable headers */
        as_req req = req_new("application/json", NULL);
        req.path = xstrdup(url);
        *strchr(req.path, '?') = '\0';
        as_param p = {.key = (char *)"hash", .value = (char *)hash};
        req.params = &p;
        req.nparams = 1;
        req.user = &admin;
        as_rest_handle(&server, &req);
        cJSON *doc = body_200(&req);
        char *etag = xasprintf("\"%s\"", hash);
        expect_header(&req, "ETag", etag);
        expect_header(&req, "Cache-Control", "public, immutable");
        cJSON *doc_paths = cJSON_GetObjectItem(doc, "paths");
        cr_assert_gt(cJSON_GetArraySize(doc_paths), 0);
        const cJSON *dp;
        char *root = xasprintf("/%s/", gvs[i]);
        cJSON_ArrayForEach(dp, doc_paths)
        {
            cr_assert_eq(strncmp(dp->string, root, strlen(root)), 0, "%s in %s", dp->string,
                         gvs[i]);
        }
        free(root);
        free(etag);
        free(prefix);
        cJSON_Delete(doc);
        route_free(&req);
    }
    cJSON_Delete(index);
}

Test(routes, openapi_v2_holds_the_paths_of_every_kind)
{
    cJSON *v2 = get_json("/openapi/v2");
    cJSON *paths = cJSON_GetObjectItem(v2, "paths");
    static const char *const want[] = {
        "/apis/demo.example.com/v1beta1/foos/{name}/bar",
        "/apis/shop.example.com/v1/namespaces/{namespace}/widgets/{name}/scale",
        "/apis/shop.example.com/v1/widgets",
        "/apis/shop.example.com/v2/namespaces/{namespace}/widgets/{name}",
        "/api/v1/namespaces/{namespace}/gadgets",
        "/api/v1/gadgets",
        "/api/v1/namespaces/{name}/status",
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        cr_assert_not_null(cJSON_GetObjectItemCaseSensitive(paths, want[i]), "no %s", want[i]);
    cr_assert_null(cJSON_GetObjectItemCaseSensitive(
                       cJSON_GetObjectItemCaseSensitive(paths, "/api/v1/namespaces"), "delete"),
                   "namespaces have no deletecollection");
    cJSON_Delete(v2);
}

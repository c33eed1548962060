/*
 * Tests of the OpenAPI documents (api/openapi*.c) of Foo alone, as a server without the built-in
 * kinds serves them: shape of v3 and v2 JSON, and the gnostic protobuf encoding of v2, checked
 * with a tiny protobuf reader written here. Other kinds: test_openapi_kinds.c.
 */
#include "api/foo.h"
#include "api/openapi.h"
#include "common/alloc.h"
#include "common/protobuf.h"

#include <criterion/criterion.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define BASE       "/apis/demo.example.com/v1beta1/foos"
#define WATCH_BASE "/apis/demo.example.com/v1beta1/watch/foos"
#define FOO_SCHEMA "com.example.demo.v1beta1.Foo"

/* Foo as the server's registry describes it (apiserver/rest/openapi_handler.c). */
static const char *const foo_verbs[] = {
    "create", "delete", "deletecollection", "get", "list", "patch", "update", "watch", NULL};
static const char *const bar_verbs[] = {"create", "get", NULL};
static const oa_subresource foo_subresources[] = {{"bar", FOO_BAR_KIND, bar_verbs}};
static const oa_kind foo_kind = {
    .group = FOO_GROUP,
    .version = FOO_VERSION,
    .kind = FOO_KIND,
    .list_kind = FOO_LIST_KIND,
    .resource = FOO_RESOURCE,
    .namespaced = false,
    .verbs = foo_verbs,
    .has_status = true,
    .has_scale = true,
    .subresources = foo_subresources,
    .nsubresources = 1,
};

static char *v3_text; /* as rendered */
static oa_v2 v2_docs;
static cJSON *v3, *v2; /* parsed */

static void setup(void)
{
    alloc_install_cjson_hooks();
    size_t len;
    v3_text = oa_render_v3(&foo_kind, 1, FOO_GROUP, FOO_VERSION, &len);
    cr_assert_eq(len, strlen(v3_text));
    v3 = cJSON_ParseWithLength(v3_text, len);
    oa_render_v2(&foo_kind, 1, &v2_docs);
    cr_assert_eq(v2_docs.json_len, strlen(v2_docs.json));
    v2 = cJSON_ParseWithLength(v2_docs.json, v2_docs.json_len);
    cr_assert_not_null(v3, "v3 document is not JSON");
    cr_assert_not_null(v2, "v2 document is not JSON");
}

static void teardown(void)
{
    cJSON_Delete(v3);
    cJSON_Delete(v2);
    free(v3_text);
    oa_v2_free(&v2_docs);
}

TestSuite(openapi, .init = setup, .fini = teardown);

static cJSON *get(const cJSON *obj, const char *key)
{
    return cJSON_GetObjectItemCaseSensitive(obj, key);
}

static cJSON *op(const cJSON *doc, const char *path, const char *method)
{
    return get(get(get(doc, "paths"), path), method);
}

static const char *str(const cJSON *obj, const char *key)
{
    return cJSON_GetStringValue(get(obj, key));
}

/* The parameter `name` of an operation, or NULL. */
static cJSON *param(const cJSON *operation, const char *name)
{
    cJSON *p;
    cJSON_ArrayForEach(p, get(operation, "parameters"))
    {
        if (!strcmp(str(p, "name"), name))
            return p;
    }
    return NULL;
}

/* ---- v3 ---------------------------------------------------------------------------------- */

static const struct {
    const char *path, *method, *action, *group, *version, *kind;
} expected_ops[] = {
    {BASE, "get", "list", "demo.example.com", "v1beta1", "Foo"},
    {BASE, "post", "post", "demo.example.com", "v1beta1", "Foo"},
    {BASE, "delete", "deletecollection", "demo.example.com", "v1beta1", "Foo"},
    {BASE "/{name}", "get", "get", "demo.example.com", "v1beta1", "Foo"},
    {BASE "/{name}", "put", "put", "demo.example.com", "v1beta1", "Foo"},
    {BASE "/{name}", "patch", "patch", "demo.example.com", "v1beta1", "Foo"},
    {BASE "/{name}", "delete", "delete", "demo.example.com", "v1beta1", "Foo"},
    {BASE "/{name}/status", "get", "get", "demo.example.com", "v1beta1", "Foo"},
    {BASE "/{name}/status", "put", "put", "demo.example.com", "v1beta1", "Foo"},
    {BASE "/{name}/status", "patch", "patch", "demo.example.com", "v1beta1", "Foo"},
    {BASE "/{name}/scale", "get", "get", "autoscaling", "v1", "Scale"},
    {BASE "/{name}/scale", "put", "put", "autoscaling", "v1", "Scale"},
    {BASE "/{name}/scale", "patch", "patch", "autoscaling", "v1", "Scale"},
    {BASE "/{name}/bar", "post", "post", "demo.example.com", "v1beta1", "FooBar"},
    {BASE "/{name}/bar", "get", "get", "demo.example.com", "v1beta1", "FooBar"},
    {WATCH_BASE, "get", "watchlist", "demo.example.com", "v1beta1", "Foo"},
    {WATCH_BASE "/{name}", "get", "watch", "demo.example.com", "v1beta1", "Foo"},
};
#define N_OPS (sizeof expected_ops / sizeof expected_ops[0])

static void check_operations(const cJSON *doc)
{
    for (size_t i = 0; i < N_OPS; i++) {
        cJSON *o = op(doc, expected_ops[i].path, expected_ops[i].method);
        cr_assert_not_null(o, "missing %s %s", expected_ops[i].method, expected_ops[i].path);
        cr_assert_not_null(str(o, "operationId"));
        cr_assert_str_eq(str(o, "x-kubernetes-action"), expected_ops[i].action);
        cJSON *gvk = get(o, "x-kubernetes-group-version-kind");
        cr_assert(cJSON_IsObject(gvk), "GVK of an operation must be one object");
        cr_assert_str_eq(str(gvk, "group"), expected_ops[i].group);
        cr_assert_str_eq(str(gvk, "version"), expected_ops[i].version);
        cr_assert_str_eq(str(gvk, "kind"), expected_ops[i].kind);
    }
}

Test(openapi, v3_is_openapi_3_0_0_with_every_operation)
{
    cr_assert_str_eq(str(v3, "openapi"), "3.0.0");
    cr_assert_eq(cJSON_GetArraySize(get(v3, "paths")), 7);
    check_operations(v3);
}

/* The deprecated watch paths, as kube lists them: named watch...List and watch..., with the list
   and watch parameters, answering WatchEvents (docs/api.md §6.2). */
Test(openapi, v3_and_v2_list_the_deprecated_watch_paths)
{
    const cJSON *docs[] = {v3, v2};
    for (int d = 0; d < 2; d++) {
        cJSON *list = op(docs[d], WATCH_BASE, "get");
        cJSON *one = op(docs[d], WATCH_BASE "/{name}", "get");
        cr_assert_str_eq(str(list, "operationId"), "watchDemoExampleComV1beta1FooList");
        cr_assert_str_eq(str(one, "operationId"), "watchDemoExampleComV1beta1Foo");
        for (cJSON *o = list; o; o = o == list ? one : NULL) {
            const char *names[] = {"watch",         "allowWatchBookmarks", "fieldSelector",
                                   "labelSelector", "resourceVersion",     "timeoutSeconds"};
            for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
                bool found = false;
                const cJSON *p;
                cJSON_ArrayForEach(p, get(o, "parameters")) found |=
                    !strcmp(str(p, "name"), names[i]);
                cr_assert(found, "%s lacks %s", str(o, "operationId"), names[i]);
            }
            cJSON *ok = get(get(o, "responses"), "200");
            cJSON *ref =
                d == 0 ? get(get(get(get(ok, "content"), "application/json"), "schema"), "$ref")
                       : get(get(ok, "schema"), "$ref");
            cr_assert(cJSON_IsString(ref) && strstr(ref->valuestring, "meta.v1.WatchEvent"));
        }
    }
}

Test(openapi, v3_operation_ids_are_unique)
{
    for (size_t i = 0; i < N_OPS; i++) {
        const char *a = str(op(v3, expected_ops[i].path, expected_ops[i].method), "operationId");
        for (size_t j = i + 1; j < N_OPS; j++) {
            const char *b =
                str(op(v3, expected_ops[j].path, expected_ops[j].method), "operationId");
            cr_assert_str_neq(a, b);
        }
    }
    cr_assert_str_eq(str(op(v3, BASE "/{name}", "patch"), "operationId"),
                     "patchDemoExampleComV1beta1Foo");
    cr_assert_str_eq(str(op(v3, BASE, "delete"), "operationId"),
                     "deleteDemoExampleComV1beta1CollectionFoo");
}

static void check_patch_types_v3(const cJSON *patch)
{
    cJSON *content = get(get(patch, "requestBody"), "content");
    cr_assert_eq(cJSON_GetArraySize(content), 3);
    cr_assert_not_null(get(content, "application/json-patch+json"));
    cr_assert_not_null(get(content, "application/merge-patch+json"));
    cr_assert_not_null(get(content, "application/apply-patch+yaml"));
    cr_assert_null(get(content, "application/strategic-merge-patch+json"));
    cr_assert_str_eq(str(get(get(content, "application/merge-patch+json"), "schema"), "$ref"),
                     "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.Patch");
}

Test(openapi, v3_patch_offers_json_merge_and_apply_patch_only)
{
    check_patch_types_v3(op(v3, BASE "/{name}", "patch"));
    check_patch_types_v3(op(v3, BASE "/{name}/status", "patch"));
    check_patch_types_v3(op(v3, BASE "/{name}/scale", "patch"));
}

Test(openapi, no_document_mentions_strategic_merge_patch)
{
    cr_assert_null(strstr(v3_text, "strategic-merge-patch"));
    cr_assert_null(strstr(v2_docs.json, "strategic-merge-patch"));
}

Test(openapi, write_operations_take_dry_run_field_manager_and_field_validation)
{
    for (size_t i = 0; i < N_OPS; i++) {
        const char *m = expected_ops[i].method;
        if (strcmp(m, "post") && strcmp(m, "put") && strcmp(m, "patch"))
            continue;
        for (int v = 0; v < 2; v++) {
            cJSON *o = op(v ? v2 : v3, expected_ops[i].path, m);
            cJSON *fv = param(o, "fieldValidation");
            cr_assert_not_null(fv, "%s %s lacks fieldValidation", m, expected_ops[i].path);
            cr_assert_str_eq(str(fv, "in"), "query");
            cr_assert_not_null(param(o, "fieldManager"));
            cr_assert_not_null(param(o, "dryRun"));
            cr_assert_eq(param(o, "force") != NULL, strcmp(m, "patch") == 0);
        }
    }
}

Test(openapi, list_operation_takes_list_and_watch_parameters)
{
    static const char *const names[] = {
        "labelSelector",     "fieldSelector",        "limit", "continue",
        "resourceVersion",   "resourceVersionMatch", "watch", "allowWatchBookmarks",
        "sendInitialEvents", "timeoutSeconds"};
    cJSON *list = op(v3, BASE, "get");
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        cr_assert_not_null(param(list, names[i]), "list lacks %s", names[i]);
    cr_assert_str_eq(str(get(param(list, "watch"), "schema"), "type"), "boolean");
    cr_assert_str_eq(str(get(param(list, "limit"), "schema"), "type"), "integer");
}

Test(openapi, item_paths_declare_the_name_path_parameter)
{
    cJSON *p;
    int named = 0;
    cJSON_ArrayForEach(p, get(get(get(v3, "paths"), BASE "/{name}/scale"), "parameters"))
    {
        if (!strcmp(str(p, "name"), "name")) {
            named = 1;
            cr_assert_str_eq(str(p, "in"), "path");
            cr_assert(cJSON_IsTrue(get(p, "required")));
        }
    }
    cr_assert(named);
}

/* ---- schemas ----------------------------------------------------------------------------- */

static void collect_refs(const cJSON *node, cJSON *out)
{
    const cJSON *child;
    cJSON_ArrayForEach(child, node)
    {
        if (child->string && !strcmp(child->string, "$ref") && cJSON_IsString(child))
            cJSON_AddItemToArray(out, cJSON_CreateString(child->valuestring));
        else
            collect_refs(child, out);
    }
}

/* Resolves a local JSON pointer "#/a/b" inside doc. */
static cJSON *resolve(const cJSON *doc, const char *ref)
{
    if (strncmp(ref, "#/", 2) != 0)
        return NULL;
    char *copy = strdup(ref + 2);
    cJSON *node = (cJSON *)doc;
    for (char *save, *tok = strtok_r(copy, "/", &save); tok && node;
         tok = strtok_r(NULL, "/", &save))
        node = get(node, tok);
    free(copy);
    return node;
}

static void check_refs_resolve(const cJSON *doc, const char *prefix)
{
    cJSON *refs = cJSON_CreateArray();
    collect_refs(doc, refs);
    cr_assert_gt(cJSON_GetArraySize(refs), 20);
    cJSON *r;
    cJSON_ArrayForEach(r, refs)
    {
        cr_assert_eq(strncmp(r->valuestring, prefix, strlen(prefix)), 0, "%s", r->valuestring);
        cr_assert_not_null(resolve(doc, r->valuestring), "dangling %s", r->valuestring);
    }
    cJSON_Delete(refs);
}

Test(openapi, every_ref_resolves_inside_its_document)
{
    check_refs_resolve(v3, "#/components/schemas/");
    check_refs_resolve(v2, "#/definitions/");
}

static const char *const required_schemas[] = {
    "com.example.demo.v1beta1.Foo",
    "com.example.demo.v1beta1.FooList",
    "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta",
    "io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta",
    "io.k8s.apimachinery.pkg.apis.meta.v1.Patch",
    "io.k8s.apimachinery.pkg.apis.meta.v1.Status",
    "io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions",
    "io.k8s.apimachinery.pkg.apis.meta.v1.Preconditions",
    "io.k8s.apimachinery.pkg.apis.meta.v1.OwnerReference",
    "io.k8s.apimachinery.pkg.apis.meta.v1.ManagedFieldsEntry",
    "io.k8s.apimachinery.pkg.apis.meta.v1.Condition",
    "io.k8s.apimachinery.pkg.apis.meta.v1.WatchEvent",
    "io.k8s.api.autoscaling.v1.Scale",
    "io.k8s.api.autoscaling.v1.ScaleSpec",
    "io.k8s.api.autoscaling.v1.ScaleStatus",
};

Test(openapi, both_documents_define_the_same_required_schemas)
{
    cJSON *s3 = get(get(v3, "components"), "schemas");
    cJSON *s2 = get(v2, "definitions");
    for (size_t i = 0; i < sizeof required_schemas / sizeof required_schemas[0]; i++) {
        cr_assert_not_null(get(s3, required_schemas[i]), "v3 lacks %s", required_schemas[i]);
        cr_assert_not_null(get(s2, required_schemas[i]), "v2 lacks %s", required_schemas[i]);
    }
    cr_assert_eq(cJSON_GetArraySize(s3), cJSON_GetArraySize(s2));
    cJSON *s;
    cJSON_ArrayForEach(s, s3) cr_assert_not_null(get(s2, s->string), "v2 lacks %s", s->string);
}

static void check_gvk_list(const cJSON *schema, const char *kind)
{
    cJSON *list = get(schema, "x-kubernetes-group-version-kind");
    cr_assert(cJSON_IsArray(list), "schema GVK must be a list");
    cJSON *gvk = cJSON_GetArrayItem(list, 0);
    cr_assert_str_eq(str(gvk, "group"), "demo.example.com");
    cr_assert_str_eq(str(gvk, "version"), "v1beta1");
    cr_assert_str_eq(str(gvk, "kind"), kind);
}

Test(openapi, foo_and_foo_list_schemas_carry_their_gvk_as_a_list)
{
    cJSON *s3 = get(get(v3, "components"), "schemas");
    check_gvk_list(get(s3, "com.example.demo.v1beta1.Foo"), "Foo");
    check_gvk_list(get(s3, "com.example.demo.v1beta1.FooList"), "FooList");
    check_gvk_list(get(get(v2, "definitions"), "com.example.demo.v1beta1.Foo"), "Foo");
}

static cJSON *spec_field(const cJSON *schemas, const char *field)
{
    return get(get(get(schemas, "com.example.demo.v1beta1.FooSpec"), "properties"), field);
}

Test(openapi, spec_fields_carry_defaults_limits_and_descriptions)
{
    cJSON *s3 = get(get(v3, "components"), "schemas");
    cJSON *replicas = spec_field(s3, "replicas");
    cr_assert_str_eq(str(replicas, "type"), "integer");
    cr_assert_str_eq(str(replicas, "format"), "int32");
    cr_assert_eq(get(replicas, "default")->valueint, FOO_DEFAULT_REPLICAS);
    cr_assert_eq(get(replicas, "minimum")->valueint, 0);
    cr_assert_eq(get(replicas, "maximum")->valueint, FOO_MAX_REPLICAS);
    cJSON *image = spec_field(s3, "image");
    cr_assert_str_eq(str(image, "default"), FOO_DEFAULT_IMAGE);
    cr_assert_eq(get(image, "maxLength")->valueint, FOO_MAX_IMAGE_LEN);
    cr_assert_str_eq(str(spec_field(s3, "namespace"), "default"), FOO_DEFAULT_NAMESPACE);
    static const char *const fields[] = {"deploymentName", "namespace", "replicas", "image",
                                         "restartedAt"};
    for (size_t i = 0; i < 5; i++) {
        const char *d = str(spec_field(s3, fields[i]), "description");
        cr_assert(d && strlen(d) > 30, "spec.%s needs a description", fields[i]);
    }
}

Test(openapi, status_conditions_are_a_list_map_keyed_by_type)
{
    cJSON *s3 = get(get(v3, "components"), "schemas");
    cJSON *conds =
        get(get(get(s3, "com.example.demo.v1beta1.FooStatus"), "properties"), "conditions");
    cr_assert_str_eq(str(conds, "type"), "array");
    cr_assert_str_eq(str(conds, "x-kubernetes-list-type"), "map");
    cJSON *keys = get(conds, "x-kubernetes-list-map-keys");
    cr_assert_eq(cJSON_GetArraySize(keys), 1);
    cr_assert_str_eq(cJSON_GetArrayItem(keys, 0)->valuestring, "type");
    cr_assert_str_eq(str(get(conds, "items"), "$ref"),
                     "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.Condition");
}

/* ---- v2 JSON ----------------------------------------------------------------------------- */

Test(openapi, v2_is_swagger_2_0_with_every_operation_under_the_group_version)
{
    cr_assert_str_eq(str(v2, "swagger"), "2.0");
    cJSON *p;
    cJSON_ArrayForEach(p, get(v2, "paths"))
    {
        cr_assert_eq(strncmp(p->string, "/apis/demo.example.com/v1beta1/", 31), 0, "%s", p->string);
    }
    check_operations(v2);
}

Test(openapi, v2_patch_consumes_the_three_patch_types)
{
    cJSON *consumes = get(op(v2, BASE "/{name}", "patch"), "consumes");
    cr_assert_eq(cJSON_GetArraySize(consumes), 3);
    cr_assert_str_eq(cJSON_GetArrayItem(consumes, 0)->valuestring, "application/json-patch+json");
    cr_assert_str_eq(cJSON_GetArrayItem(consumes, 1)->valuestring, "application/merge-patch+json");
    cr_assert_str_eq(cJSON_GetArrayItem(consumes, 2)->valuestring, "application/apply-patch+yaml");
}

Test(openapi, v2_refs_with_description_have_no_type)
{
    /* kubectl's v2 parser rejects a $ref schema that also has a type or properties. */
    cJSON *meta = get(
        get(get(get(v2, "definitions"), "com.example.demo.v1beta1.Foo"), "properties"), "metadata");
    cr_assert_not_null(get(meta, "$ref"));
    cr_assert_not_null(get(meta, "description"));
    cr_assert_null(get(meta, "type"));
    cr_assert_null(get(meta, "allOf"));
}

/* ---- determinism and threads ------------------------------------------------------------ */

Test(openapi, rendering_is_deterministic)
{
    /* The served hashes and ETags must not change across restarts. */
    char *again = oa_render_v3(&foo_kind, 1, FOO_GROUP, FOO_VERSION, NULL);
    cr_assert_str_eq(again, v3_text);
    free(again);
    oa_v2 other;
    oa_render_v2(&foo_kind, 1, &other);
    cr_assert_str_eq(other.json, v2_docs.json);
    cr_assert_eq(other.pb_len, v2_docs.pb_len);
    cr_assert_eq(memcmp(other.pb, v2_docs.pb, other.pb_len), 0);
    cr_assert_gt(other.pb_len, 1000);
    oa_v2_free(&other);
    oa_v2_free(&other); /* a zeroed oa_v2 is a no-op */
}

static void *render_all(void *arg)
{
    char **out = arg;
    out[0] = oa_render_v3(&foo_kind, 1, FOO_GROUP, FOO_VERSION, NULL);
    oa_v2 d;
    oa_render_v2(&foo_kind, 1, &d);
    out[1] = d.json;
    free(d.pb);
    return NULL;
}

Test(openapi, concurrent_renderings_agree)
{
    pthread_t t[4];
    char *got[4][2];
    for (int i = 0; i < 4; i++)
        cr_assert_eq(pthread_create(&t[i], NULL, render_all, got[i]), 0);
    for (int i = 0; i < 4; i++)
        cr_assert_eq(pthread_join(t[i], NULL), 0);
    for (int i = 0; i < 4; i++) {
        cr_assert_str_eq(got[i][0], v3_text);
        cr_assert_str_eq(got[i][1], v2_docs.json);
        free(got[i][0]);
        free(got[i][1]);
    }
}

Test(openapi, scale_schema_describes_any_scaled_object)
{
    cJSON *scale = get(get(get(v3, "components"), "schemas"), "io.k8s.api.autoscaling.v1.Scale");
    cr_assert_null(strstr(str(scale, "description"), "Foo"));
}

/* ---- v2 protobuf: a tiny reader ---------------------------------------------------------- */

typedef struct pbv {
    const uint8_t *p; /* message bytes */
    size_t n;
} pbv;

typedef struct pbf {
    uint32_t num;
    unsigned wire;
    uint64_t varint; /* varint and fixed64 */
    pbv bytes;       /* length-delimited */
} pbf;

/* Reads the field at *pos of m (common/protobuf.h's readers); false at the end. Malformed input
 * fails the test. */
static bool pb_next(pbv m, size_t *pos, pbf *f)
{
    pb_reader r = pb_reader_of(m.p + *pos, m.n - *pos);
    if (r.p >= r.end)
        return false;
    pb_wire wire;
    cr_assert_eq(pb_read_tag(&r, &f->num, &wire), 0, "bad tag");
    f->wire = wire;
    if (wire == PB_WIRE_VARINT) {
        cr_assert_eq(pb_read_varint(&r, &f->varint), 0, "bad varint");
    } else if (wire == PB_WIRE_I64) {
        cr_assert_leq(8, r.end - r.p);
        memcpy(&f->varint, r.p, 8);
        r.p += 8;
    } else {
        cr_assert_eq(wire, PB_WIRE_LEN, "unexpected wire type %u", f->wire);
        const uint8_t *data;
        size_t len;
        cr_assert_eq(pb_read_len(&r, &data, &len), 0, "length overruns its message");
        f->bytes = (pbv){data, len};
    }
    *pos = (size_t)(r.p - m.p);
    return true;
}

static bool pb_find(pbv m, uint32_t num, pbf *out)
{
    size_t pos = 0;
    while (pb_next(m, &pos, out)) {
        if (out->num == num)
            return true;
    }
    return false;
}

static bool pb_str_eq(pbv v, const char *s)
{
    return v.n == strlen(s) && memcmp(v.p, s, v.n) == 0;
}

/* In a message with repeated Named* entries at field num: the value (field 2) named `name`. */
static bool pb_named(pbv m, uint32_t num, const char *name, pbv *value)
{
    size_t pos = 0;
    pbf f, sub;
    while (pb_next(m, &pos, &f)) {
        if (f.num != num || !pb_find(f.bytes, 1, &sub) || !pb_str_eq(sub.bytes, name))
            continue;
        cr_assert(pb_find(f.bytes, 2, &sub), "entry %s has no value", name);
        *value = sub.bytes;
        return true;
    }
    return false;
}

static int pb_count(pbv m, uint32_t num)
{
    size_t pos = 0;
    int n = 0;
    pbf f;
    while (pb_next(m, &pos, &f))
        n += f.num == num;
    return n;
}

static pbv pb_sub(pbv m, uint32_t num)
{
    pbf f;
    cr_assert(pb_find(m, num, &f), "field %u missing", num);
    return f.bytes;
}

static pbv pb_doc(void)
{
    return (pbv){v2_docs.pb, v2_docs.pb_len};
}

/* Any.yaml (field 2) of a NamedAny vendor extension, parsed (it holds JSON text). */
static cJSON *pb_extension(pbv msg, uint32_t ext_num, const char *name)
{
    pbv any;
    cr_assert(pb_named(msg, ext_num, name, &any), "no vendor extension %s", name);
    pbv yaml = pb_sub(any, 2);
    cJSON *v = cJSON_ParseWithLength((const char *)yaml.p, yaml.n);
    cr_assert_not_null(v);
    return v;
}

Test(openapi, protobuf_starts_with_the_swagger_field)
{
    pbv doc = pb_doc();
    static const uint8_t head[] = {0x0a, 0x03, '2', '.', '0'};
    cr_assert_geq(doc.n, sizeof head);
    cr_assert_eq(memcmp(doc.p, head, sizeof head), 0);
    size_t pos = 0;
    pbf f;
    int fields = 0;
    while (pb_next(doc, &pos, &f))
        fields++;
    cr_assert_eq(pos, doc.n);
    cr_assert_geq(fields, 4); /* swagger, info, paths, definitions */
}

Test(openapi, protobuf_paths_and_definitions_match_the_json)
{
    pbv doc = pb_doc();
    pbv paths = pb_sub(doc, 8), defs = pb_sub(doc, 9), item;
    cr_assert_eq(pb_count(paths, 2), cJSON_GetArraySize(get(v2, "paths")));
    cJSON *p;
    cJSON_ArrayForEach(p, get(v2, "paths")) cr_assert(pb_named(paths, 2, p->string, &item));
    cr_assert_eq(pb_count(defs, 1), cJSON_GetArraySize(get(v2, "definitions")));
    cJSON_ArrayForEach(p, get(v2, "definitions")) cr_assert(pb_named(defs, 1, p->string, &item));
}

Test(openapi, protobuf_foo_definition_round_trips_gvk_and_spec_fields)
{
    pbv defs = pb_sub(pb_doc(), 9), foo, spec, replicas, image;
    cr_assert(pb_named(defs, 1, FOO_SCHEMA, &foo));
    cJSON *gvk = pb_extension(foo, 31, "x-kubernetes-group-version-kind");
    cJSON *want = get(get(get(v2, "definitions"), FOO_SCHEMA), "x-kubernetes-group-version-kind");
    cr_assert(cJSON_Compare(gvk, want, true));
    cJSON_Delete(gvk);

    cr_assert(pb_named(defs, 1, "com.example.demo.v1beta1.FooSpec", &spec));
    pbv props = pb_sub(spec, 25);
    cr_assert(pb_named(props, 1, "replicas", &replicas));
    cr_assert(pb_str_eq(pb_sub(replicas, 2), "int32"));               /* format */
    cr_assert(pb_str_eq(pb_sub(pb_sub(replicas, 5), 2), "1"));        /* default: Any.yaml */
    cr_assert(pb_str_eq(pb_sub(pb_sub(replicas, 22), 1), "integer")); /* type: TypeItem */
    pbf max;
    cr_assert(pb_find(replicas, 7, &max));
    cr_assert_eq(max.wire, 1u);
    double d;
    memcpy(&d, &max.varint, sizeof d);
    cr_assert_eq(d, (double)FOO_MAX_REPLICAS);
    cr_assert(pb_named(props, 1, "image", &image));
    pbf len;
    cr_assert(pb_find(image, 11, &len)); /* maxLength */
    cr_assert_eq(len.varint, (uint64_t)FOO_MAX_IMAGE_LEN);
}

Test(openapi, protobuf_patch_operation_carries_gvk_consumes_and_field_validation)
{
    pbv paths = pb_sub(pb_doc(), 8), item;
    cr_assert(pb_named(paths, 2, BASE "/{name}", &item));
    pbv patch = pb_sub(item, 8);
    cr_assert(pb_str_eq(pb_sub(patch, 5), "patchDemoExampleComV1beta1Foo"));
    cr_assert_eq(pb_count(patch, 7), 3); /* consumes */
    cJSON *gvk = pb_extension(patch, 13, "x-kubernetes-group-version-kind");
    cr_assert_str_eq(str(gvk, "kind"), "Foo");
    cJSON_Delete(gvk);
    /* parameters: ParametersItem.parameter(1).non_body_parameter(2).query(3).name(4) */
    size_t pos = 0;
    pbf f;
    bool found = false;
    while (pb_next(patch, &pos, &f)) {
        pbf nb, q;
        if (f.num != 8 || !pb_find(pb_sub(f.bytes, 1), 2, &nb) || !pb_find(nb.bytes, 3, &q))
            continue;
        found = found || pb_str_eq(pb_sub(q.bytes, 4), "fieldValidation");
    }
    cr_assert(found, "no fieldValidation query parameter in the protobuf patch operation");
}

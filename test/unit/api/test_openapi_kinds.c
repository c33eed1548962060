/*
 * Tests of the OpenAPI documents of several kinds (api/openapi.h): a core namespaced kind, a
 * cluster-scoped core kind without deletecollection, a namespaced kind of another group with
 * status, scale and a custom subresource, a Kubernetes group (".k8s.io") and a read-only kind;
 * Foo alongside them. Paths, operation names, parameters and loose schemas as kube lists them.
 */
#include "api/foo.h"
#include "api/openapi.h"
#include "common/alloc.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

static const char *const all_verbs[] = {
    "create", "delete", "deletecollection", "get", "list", "patch", "update", "watch", NULL};
static const char *const namespace_verbs[] = {"create", "delete", "get",   "list",
                                              "patch",  "update", "watch", NULL};
static const char *const read_verbs[] = {"get", "list", NULL};
static const char *const create_only[] = {"create", NULL};
static const char *const bar_verbs[] = {"create", "get", NULL};

static const oa_subresource foo_subs[] = {{"bar", FOO_BAR_KIND, bar_verbs}};
static const oa_subresource widget_subs[] = {{"restart", "WidgetRestart", create_only}};

enum { FOO, GADGET, NAMESPACE, WIDGET, LEASE, REPORT, NKINDS };

static const oa_kind kinds[NKINDS] = {
    [FOO] = {FOO_GROUP, FOO_VERSION, FOO_KIND, FOO_LIST_KIND, FOO_RESOURCE, false, all_verbs, true,
             true, foo_subs, 1},
    [GADGET] = {"", "v1", "Gadget", "GadgetList", "gadgets", true, all_verbs, false, false, NULL,
                0},
    [NAMESPACE] = {"", "v1", "Namespace", "NamespaceList", "namespaces", false, namespace_verbs,
                   true, false, NULL, 0},
    [WIDGET] = {"shop.example.com", "v1", "Widget", "WidgetList", "widgets", true, all_verbs, true,
                true, widget_subs, 1},
    [LEASE] = {"coordination.k8s.io", "v1", "Lease", "LeaseList", "leases", true, all_verbs, false,
               false, NULL, 0},
    [REPORT] = {"shop.example.com", "v1", "Report", "ReportList", "reports", false, read_verbs,
                false, false, NULL, 0},
};

#define CORE  "/api/v1"
#define SHOP  "/apis/shop.example.com/v1"
#define COORD "/apis/coordination.k8s.io/v1"

static void setup(void)
{
    alloc_install_cjson_hooks();
}

TestSuite(openapi_kinds, .init = setup);

static cJSON *get(const cJSON *obj, const char *key)
{
    return cJSON_GetObjectItemCaseSensitive(obj, key);
}

static const char *str(const cJSON *obj, const char *key)
{
    return cJSON_GetStringValue(get(obj, key));
}

static cJSON *v3_of(const char *group, const char *version)
{
    char *text = oa_render_v3(kinds, NKINDS, group, version, NULL);
    cJSON *doc = cJSON_Parse(text);
    free(text);
    cr_assert_not_null(doc);
    return doc;
}

static cJSON *v2_doc(void)
{
    oa_v2 d;
    oa_render_v2(kinds, NKINDS, &d);
    cJSON *doc = cJSON_ParseWithLength(d.json, d.json_len);
    cr_assert_not_null(doc);
    cr_assert_gt(d.pb_len, 0);
    oa_v2_free(&d);
    return doc;
}

static cJSON *op(const cJSON *doc, const char *path, const char *method)
{
    return get(get(get(doc, "paths"), path), method);
}

static cJSON *schema(const cJSON *doc, const char *name)
{
    cJSON *s = get(get(get(doc, "components"), "schemas"), name);
    return s ? s : get(get(doc, "definitions"), name);
}

static bool has_param(const cJSON *params, const char *name)
{
    const cJSON *p;
    cJSON_ArrayForEach(p, params)
    {
        if (!strcmp(str(p, "name"), name))
            return true;
    }
    return false;
}

/* The path keys of doc, in order, compared with want (n of them). */
static void expect_paths(const cJSON *doc, const char *const *want, int n)
{
    cJSON *paths = get(doc, "paths");
    cr_assert_eq(cJSON_GetArraySize(paths), n, "%d paths", cJSON_GetArraySize(paths));
    int i = 0;
    const cJSON *p;
    cJSON_ArrayForEach(p, paths) cr_assert_str_eq(p->string, want[i++]);
}

/* The methods of a path item (its "parameters" aside), joined by ','. */
static char *methods(const cJSON *doc, const char *path)
{
    char *out = xstrdup("");
    const cJSON *m;
    cJSON_ArrayForEach(m, get(get(doc, "paths"), path))
    {
        if (strcmp(m->string, "parameters") == 0)
            continue;
        char *next = xasprintf("%s%s%s", out, *out ? "," : "", m->string);
        free(out);
        out = next;
    }
    return out;
}

static void expect_methods(const cJSON *doc, const char *path, const char *want)
{
    char *got = methods(doc, path);
    cr_assert_str_eq(got, want, "%s", path);
    free(got);
}

static void expect_gvk(const cJSON *operation, const char *g, const char *v, const char *k)
{
    cJSON *gvk = get(operation, "x-kubernetes-group-version-kind");
    cr_assert(cJSON_IsObject(gvk));
    cr_assert_str_eq(str(gvk, "group"), g);
    cr_assert_str_eq(str(gvk, "version"), v);
    cr_assert_str_eq(str(gvk, "kind"), k);
}

/* ---- paths per group-version ------------------------------------------------------------- */

Test(openapi_kinds, core_v1_holds_the_core_kinds_in_kubes_paths)
{
    cJSON *doc = v3_of("", "v1");
    static const char *const want[] = {
        CORE "/namespaces/{namespace}/gadgets",
        CORE "/namespaces/{namespace}/gadgets/{name}",
        CORE "/gadgets",
        CORE "/watch/namespaces/{namespace}/gadgets",
        CORE "/watch/namespaces/{namespace}/gadgets/{name}",
        CORE "/watch/gadgets",
        CORE "/namespaces",
        CORE "/namespaces/{name}",
        CORE "/namespaces/{name}/status",
        CORE "/watch/namespaces",
        CORE "/watch/namespaces/{name}",
    };
    expect_paths(doc, want, 11);
    expect_methods(doc, want[0], "get,post,delete");
    expect_methods(doc, want[1], "get,put,patch,delete");
    expect_methods(doc, want[2], "get");
    for (int i = 3; i <= 5; i++) /* the deprecated watch paths */
        expect_methods(doc, want[i], "get");
    expect_methods(doc, want[6], "get,post"); /* namespaces: no deletecollection */
    expect_methods(doc, want[8], "get,put,patch");
    cr_assert_str_eq(str(get(doc, "info"), "title"), "foo-apiserver v1");
    cJSON_Delete(doc);
}

Test(openapi_kinds, operation_ids_and_tags_follow_kube_openapi)
{
    cJSON *core = v3_of("", "v1");
    cr_assert_str_eq(str(op(core, CORE "/namespaces/{namespace}/gadgets", "get"), "operationId"),
                     "listCoreV1NamespacedGadget");
    cr_assert_str_eq(str(op(core, CORE "/namespaces/{namespace}/gadgets", "delete"), "operationId"),
                     "deleteCoreV1CollectionNamespacedGadget");
    cr_assert_str_eq(str(op(core, CORE "/gadgets", "get"), "operationId"),
                     "listCoreV1GadgetForAllNamespaces");
    cr_assert_str_eq(
        str(op(core, CORE "/watch/namespaces/{namespace}/gadgets", "get"), "operationId"),
        "watchCoreV1NamespacedGadgetList");
    cr_assert_str_eq(
        str(op(core, CORE "/watch/namespaces/{namespace}/gadgets/{name}", "get"), "operationId"),
        "watchCoreV1NamespacedGadget");
    cr_assert_str_eq(str(op(core, CORE "/watch/gadgets", "get"), "operationId"),
                     "watchCoreV1GadgetListForAllNamespaces");
    cr_assert_str_eq(str(op(core, CORE "/watch/namespaces/{name}", "get"), "x-kubernetes-action"),
                     "watch");
    cr_assert_str_eq(str(op(core, CORE "/watch/gadgets", "get"), "x-kubernetes-action"),
                     "watchlist");
    cr_assert_str_eq(str(op(core, CORE "/namespaces/{name}/status", "patch"), "operationId"),
                     "patchCoreV1NamespaceStatus");
    cr_assert_str_eq(
        cJSON_GetArrayItem(get(op(core, CORE "/namespaces", "get"), "tags"), 0)->valuestring,
        "core_v1");
    cJSON *shop = v3_of("shop.example.com", "v1");
    cr_assert_str_eq(
        str(op(shop, SHOP "/namespaces/{namespace}/widgets/{name}/scale", "patch"), "operationId"),
        "patchShopExampleComV1NamespacedWidgetScale");
    cJSON *coord = v3_of("coordination.k8s.io", "v1");
    cJSON *list = op(coord, COORD "/namespaces/{namespace}/leases", "get");
    cr_assert_str_eq(str(list, "operationId"), "listCoordinationV1NamespacedLease");
    cr_assert_str_eq(cJSON_GetArrayItem(get(list, "tags"), 0)->valuestring, "coordination_v1");
    cJSON_Delete(core);
    cJSON_Delete(shop);
    cJSON_Delete(coord);
}

Test(openapi_kinds, namespaced_paths_declare_the_namespace_and_the_all_namespaces_list_does_not)
{
    cJSON *doc = v3_of("shop.example.com", "v1");
    const char *item = SHOP "/namespaces/{namespace}/widgets/{name}";
    cJSON *params = get(get(get(doc, "paths"), item), "parameters");
    cr_assert(has_param(params, "name") && has_param(params, "namespace"));
    const cJSON *p;
    cJSON_ArrayForEach(p, params)
    {
        if (strcmp(str(p, "name"), "pretty") != 0) {
            cr_assert_str_eq(str(p, "in"), "path");
            cr_assert(cJSON_IsTrue(get(p, "required")));
        }
    }
    cJSON *all = get(get(doc, "paths"), SHOP "/widgets");
    cr_assert_not(has_param(get(all, "parameters"), "namespace"));
    cJSON *list = get(all, "get");
    cr_assert_str_eq(str(list, "x-kubernetes-action"), "list");
    cr_assert(has_param(get(list, "parameters"), "watch"));
    cr_assert(has_param(get(list, "parameters"), "labelSelector"));
    cr_assert_null(get(all, "post"));
    cJSON_Delete(doc);
}

Test(openapi_kinds, subresources_have_their_gvk_bodies_and_results)
{
    cJSON *doc = v3_of("shop.example.com", "v1");
    const char *base = SHOP "/namespaces/{namespace}/widgets/{name}";
    char *scale = xasprintf("%s/scale", base), *status = xasprintf("%s/status", base),
         *restart = xasprintf("%s/restart", base);
    expect_gvk(op(doc, scale, "put"), "autoscaling", "v1", "Scale");
    expect_gvk(op(doc, status, "put"), "shop.example.com", "v1", "Widget");
    expect_methods(doc, restart, "post");
    cJSON *post = op(doc, restart, "post");
    expect_gvk(post, "shop.example.com", "v1", "WidgetRestart");
    cr_assert_str_eq(str(post, "description"), "Create restart of the specified Widget.");
    cJSON *body = get(get(get(get(post, "requestBody"), "content"), "application/json"), "schema");
    cr_assert_str_eq(str(body, "$ref"), "#/components/schemas/com.example.shop.v1.WidgetRestart");
    cJSON *result =
        get(get(get(get(get(post, "responses"), "201"), "content"), "application/json"), "schema");
    cr_assert_str_eq(str(result, "$ref"), "#/components/schemas/com.example.shop.v1.Widget");
    cr_assert_not_null(schema(doc, "com.example.shop.v1.WidgetRestart"));
    cr_assert_not_null(schema(doc, "io.k8s.api.autoscaling.v1.Scale"));
    free(scale);
    free(status);
    free(restart);
    cJSON_Delete(doc);
}

Test(openapi_kinds, verbs_decide_the_operations)
{
    cJSON *doc = v3_of("shop.example.com", "v1");
    expect_methods(doc, SHOP "/reports", "get");
    expect_methods(doc, SHOP "/reports/{name}", "get");
    /* no watch verb: no watch parameters, no stream response */
    cJSON *list = op(doc, SHOP "/reports", "get");
    cr_assert_not(has_param(get(list, "parameters"), "watch"));
    cr_assert(has_param(get(list, "parameters"), "limit"));
    cr_assert_null(
        get(get(get(get(list, "responses"), "200"), "content"), "application/json;stream=watch"));
    cJSON_Delete(doc);
}

Test(openapi_kinds, every_write_declares_field_validation_and_never_strategic_merge_patch)
{
    cJSON *doc = v2_doc();
    int writes = 0;
    const cJSON *path, *o;
    cJSON_ArrayForEach(path, get(doc, "paths"))
    {
        cJSON_ArrayForEach(o, path)
        {
            if (!strcmp(o->string, "parameters"))
                continue;
            cr_assert_not_null(str(o, "operationId"));
            cr_assert_not_null(str(o, "x-kubernetes-action"));
            cr_assert(cJSON_IsObject(get(o, "x-kubernetes-group-version-kind")));
            if (strcmp(o->string, "post") && strcmp(o->string, "put") && strcmp(o->string, "patch"))
                continue;
            writes++;
            cJSON *params = get(o, "parameters");
            cr_assert(has_param(params, "fieldValidation"), "%s %s", o->string, path->string);
            cr_assert(has_param(params, "fieldManager") && has_param(params, "dryRun"));
        }
    }
    cr_assert_gt(writes, 20);
    char *text = cJSON_PrintUnformatted(doc);
    cr_assert_null(strstr(text, "strategic-merge-patch"));
    free(text);
    cJSON_Delete(doc);
}

Test(openapi_kinds, operation_ids_are_unique_across_the_v2_document)
{
    cJSON *doc = v2_doc();
    cJSON *seen = cJSON_CreateObject();
    const cJSON *path, *o;
    cJSON_ArrayForEach(path, get(doc, "paths"))
    {
        cJSON_ArrayForEach(o, path)
        {
            if (!strcmp(o->string, "parameters"))
                continue;
            const char *id = str(o, "operationId");
            cr_assert_null(get(seen, id), "duplicate operationId %s", id);
            cJSON_AddTrueToObject(seen, id);
        }
    }
    cJSON_Delete(seen);
    cJSON_Delete(doc);
}

/* ---- schemas ----------------------------------------------------------------------------- */

static void check_gvk_list(const cJSON *s, const char *g, const char *v, const char *k)
{
    cJSON *list = get(s, "x-kubernetes-group-version-kind");
    cr_assert_eq(cJSON_GetArraySize(list), 1);
    cJSON *gvk = cJSON_GetArrayItem(list, 0);
    cr_assert_str_eq(str(gvk, "group"), g);
    cr_assert_str_eq(str(gvk, "version"), v);
    cr_assert_str_eq(str(gvk, "kind"), k);
}

Test(openapi_kinds, loose_schemas_carry_type_meta_metadata_and_their_gvk)
{
    cJSON *doc = v3_of("", "v1");
    cJSON *gadget = schema(doc, "io.k8s.api.core.v1.Gadget");
    cr_assert_not_null(gadget);
    cr_assert_str_eq(str(gadget, "type"), "object");
    cr_assert(cJSON_IsTrue(get(gadget, "x-kubernetes-preserve-unknown-fields")));
    cJSON *props = get(gadget, "properties");
    cr_assert_eq(cJSON_GetArraySize(props), 3);
    cr_assert_str_eq(str(get(props, "apiVersion"), "type"), "string");
    cr_assert_str_eq(str(get(props, "kind"), "type"), "string");
    cr_assert_not_null(get(props, "metadata"));
    check_gvk_list(gadget, "", "v1", "Gadget");

    cJSON *list = schema(doc, "io.k8s.api.core.v1.GadgetList");
    check_gvk_list(list, "", "v1", "GadgetList");
    cr_assert_str_eq(str(get(get(get(list, "properties"), "items"), "items"), "$ref"),
                     "#/components/schemas/io.k8s.api.core.v1.Gadget");
    cr_assert_not_null(schema(doc, "io.k8s.api.core.v1.Namespace"));
    cr_assert_null(schema(doc, "io.k8s.api.autoscaling.v1.Scale"), "no kind here has /scale");
    cr_assert_null(schema(doc, "com.example.demo.v1beta1.Foo"), "Foo is in its own document");
    cJSON_Delete(doc);

    doc = v3_of("coordination.k8s.io", "v1");
    check_gvk_list(schema(doc, "io.k8s.api.coordination.v1.Lease"), "coordination.k8s.io", "v1",
                   "Lease");
    cJSON_Delete(doc);
}

Test(openapi_kinds, foo_keeps_its_full_schema_and_only_its_paths)
{
    cJSON *doc = v3_of(FOO_GROUP, FOO_VERSION);
    cr_assert_eq(cJSON_GetArraySize(get(doc, "paths")), 7); /* 5, and 2 deprecated watch paths */
    cJSON *foo = schema(doc, "com.example.demo.v1beta1.Foo");
    cr_assert_null(get(foo, "x-kubernetes-preserve-unknown-fields"));
    cr_assert_not_null(schema(doc, "com.example.demo.v1beta1.FooSpec"));
    cr_assert_str_eq(
        str(op(doc, "/apis/" FOO_API_VERSION "/foos/{name}/bar", "post"), "description"),
        "Request a rolling restart of the specified Foo: sets spec.restartedAt to "
        "the server's current time and returns the updated Foo.");
    cJSON_Delete(doc);
}

/* The x-kubernetes-group-version-kind list of a schema as "group/version" strings joined by
   ',' ("" for the core group's "/v1"). */
static char *gv_list(const cJSON *s)
{
    char *out = xstrdup("");
    const cJSON *gvk;
    cJSON_ArrayForEach(gvk, get(s, "x-kubernetes-group-version-kind"))
    {
        char *next =
            xasprintf("%s%s%s/%s", out, *out ? "," : "", str(gvk, "group"), str(gvk, "version"));
        free(out);
        out = next;
    }
    return out;
}

Test(openapi_kinds, delete_options_and_watch_event_name_every_group_version_once)
{
    cJSON *core = v3_of("", "v1");
    char *gvs = gv_list(schema(core, "io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions"));
    cr_assert_str_eq(gvs, "/v1");
    free(gvs);
    cJSON *shop = v3_of("shop.example.com", "v1");
    gvs = gv_list(schema(shop, "io.k8s.apimachinery.pkg.apis.meta.v1.WatchEvent"));
    cr_assert_str_eq(gvs, "/v1,shop.example.com/v1");
    free(gvs);
    cJSON *v2 = v2_doc();
    gvs = gv_list(schema(v2, "io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions"));
    cr_assert_str_eq(gvs,
                     "/v1,demo.example.com/v1beta1,shop.example.com/v1,coordination.k8s.io/v1");
    free(gvs);
    cJSON_Delete(core);
    cJSON_Delete(shop);
    cJSON_Delete(v2);
}

/* Every "$ref" under node resolves to a schema of doc. */
static void check_refs(const cJSON *doc, const cJSON *node, int *count)
{
    const cJSON *child;
    cJSON_ArrayForEach(child, node)
    {
        if (child->string && !strcmp(child->string, "$ref")) {
            const char *name = strrchr(child->valuestring, '/') + 1;
            cr_assert_not_null(schema(doc, name), "dangling %s", child->valuestring);
            (*count)++;
        } else {
            check_refs(doc, child, count);
        }
    }
}

Test(openapi_kinds, every_ref_resolves_in_every_document)
{
    static const char *const gvs[][2] = {
        {"", "v1"}, {"shop.example.com", "v1"}, {"coordination.k8s.io", "v1"}};
    for (size_t i = 0; i < 3; i++) {
        cJSON *doc = v3_of(gvs[i][0], gvs[i][1]);
        int n = 0;
        check_refs(doc, doc, &n);
        cr_assert_gt(n, 10);
        cJSON_Delete(doc);
    }
    cJSON *v2 = v2_doc();
    int n = 0;
    check_refs(v2, v2, &n);
    cr_assert_gt(n, 50);
    cr_assert_not_null(get(get(v2, "paths"), CORE "/namespaces/{name}/status"));
    cr_assert_not_null(get(get(v2, "paths"), "/apis/" FOO_API_VERSION "/foos/{name}/bar"));
    cJSON_Delete(v2);
}

Test(openapi_kinds, a_group_version_without_kinds_is_an_empty_document)
{
    cJSON *doc = v3_of("nothing.example.com", "v1");
    cr_assert_eq(cJSON_GetArraySize(get(doc, "paths")), 0);
    cJSON_Delete(doc);
}

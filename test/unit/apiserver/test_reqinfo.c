/*
 * test_reqinfo.c - kube's RequestInfo rules for the SubjectAccessReviews of a delegated server
 * (reqinfo.h).
 */
#include "apiserver/rest/reqinfo.h"

#include <criterion/criterion.h>
#include <string.h>

typedef struct reqinfo_case {
    as_method method;
    const char *method_name, *path, *query_key, *query_value;
    bool resource;
    const char *verb, *group, *version, *resource_name, *sub, *name, *ns;
} reqinfo_case;

static const char *G = "demo.example.com";

static void check(const reqinfo_case *c)
{
    as_param p = {(char *)c->query_key, (char *)c->query_value};
    as_req req = {.method = c->method,
                  .method_name = c->method_name,
                  .path = (char *)c->path,
                  .params = c->query_key ? &p : NULL,
                  .nparams = c->query_key ? 1 : 0};
    as_reqinfo ri;
    as_reqinfo_of(&req, &ri);
    cr_assert_eq(ri.resource_request, c->resource, "%s %s", c->method_name, c->path);
    cr_assert_str_eq(ri.verb, c->verb, "%s %s", c->method_name, c->path);
    cr_assert_str_eq(ri.path, c->path);
    if (c->resource) {
        cr_assert_str_eq(ri.group, c->group);
        cr_assert_str_eq(ri.version, c->version);
        cr_assert_str_eq(ri.resource, c->resource_name, "%s", c->path);
        cr_assert_str_eq(ri.subresource, c->sub, "%s", c->path);
        cr_assert_str_eq(ri.name, c->name, "%s", c->path);
        cr_assert_str_eq(ri.namespace, c->ns, "%s", c->path);
    }
    as_reqinfo_clear(&ri);
}

#define FOOS "/apis/demo.example.com/v1beta1/foos"

Test(reqinfo, the_verbs_of_kube)
{
    const reqinfo_case cases[] = {
        {AS_GET, "GET", FOOS "/x", NULL, NULL, true, "get", G, "v1beta1", "foos", "", "x", ""},
        {AS_GET, "GET", FOOS, NULL, NULL, true, "list", G, "v1beta1", "foos", "", "", ""},
        {AS_GET, "GET", FOOS, "watch", "true", true, "watch", G, "v1beta1", "foos", "", "", ""},
        {AS_GET, "GET", FOOS, "watch", "1", true, "watch", G, "v1beta1", "foos", "", "", ""},
        {AS_GET, "GET", FOOS, "watch", "false", true, "list", G, "v1beta1", "foos", "", "", ""},
        {AS_POST, "POST", FOOS, NULL, NULL, true, "create", G, "v1beta1", "foos", "", "", ""},
        {AS_PUT, "PUT", FOOS "/x", NULL, NULL, true, "update", G, "v1beta1", "foos", "", "x", ""},
        {AS_PATCH, "PATCH", FOOS "/x", NULL, NULL, true, "patch", G, "v1beta1", "foos", "", "x",
         ""},
        {AS_DELETE, "DELETE", FOOS "/x", NULL, NULL, true, "delete", G, "v1beta1", "foos", "", "x",
         ""},
        {AS_DELETE, "DELETE", FOOS, NULL, NULL, true, "deletecollection", G, "v1beta1", "foos", "",
         "", ""},
        {AS_PUT, "PUT", FOOS "/x/status", NULL, NULL, true, "update", G, "v1beta1", "foos",
         "status", "x", ""},
        {AS_GET, "GET", FOOS "/x/scale", NULL, NULL, true, "get", G, "v1beta1", "foos", "scale",
         "x", ""},
        {AS_PATCH, "PATCH", FOOS "/x/bar", NULL, NULL, true, "patch", G, "v1beta1", "foos", "bar",
         "x", ""},
        {AS_GET, "GET", "/apis/demo.example.com/v1beta1/watch/foos", NULL, NULL, true, "watch", G,
         "v1beta1", "foos", "", "", ""},
        {AS_GET, "GET", "/apis/demo.example.com/v1beta1/watch/foos/x", NULL, NULL, true, "watch", G,
         "v1beta1", "foos", "", "x", ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        check(&cases[i]);
}

Test(reqinfo, namespaces_and_the_core_group)
{
    const reqinfo_case cases[] = {
        {AS_GET, "GET", "/api/v1/namespaces/ns1/events", NULL, NULL, true, "list", "", "v1",
         "events", "", "", "ns1"},
        {AS_GET, "GET", "/api/v1/namespaces/ns1/events/e", NULL, NULL, true, "get", "", "v1",
         "events", "", "e", "ns1"},
        {AS_GET, "GET", "/api/v1/namespaces/ns1", NULL, NULL, true, "get", "", "v1", "namespaces",
         "", "ns1", "ns1"},
        {AS_PUT, "PUT", "/api/v1/namespaces/ns1/finalize", NULL, NULL, true, "update", "", "v1",
         "namespaces", "finalize", "ns1", "ns1"},
        {AS_GET, "GET", "/apis/apps/v1/namespaces/d/deployments", NULL, NULL, true, "list", "apps",
         "v1", "deployments", "", "", "d"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        check(&cases[i]);
}

Test(reqinfo, a_field_selector_on_the_name_names_the_object)
{
    const reqinfo_case cases[] = {
        {AS_GET, "GET", FOOS, "fieldSelector", "metadata.name=x", true, "list", G, "v1beta1",
         "foos", "", "x", ""},
        {AS_GET, "GET", FOOS, "fieldSelector", "spec.a=b,metadata.name==y", true, "list", G,
         "v1beta1", "foos", "", "y", ""},
        {AS_GET, "GET", FOOS, "fieldSelector", "metadata.name!=x", true, "list", G, "v1beta1",
         "foos", "", "", ""},
        {AS_GET, "GET", FOOS, "fieldSelector", "metadata.name=a/b", true, "list", G, "v1beta1",
         "foos", "", "", ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        check(&cases[i]);
}

Test(reqinfo, what_is_not_a_resource)
{
    const reqinfo_case cases[] = {
        {AS_GET, "GET", "/apis", NULL, NULL, false, "get", "", "", "", "", "", ""},
        {AS_GET, "GET", "/apis/demo.example.com", NULL, NULL, false, "get", "", "", "", "", "", ""},
        {AS_GET, "GET", "/apis/demo.example.com/v1beta1", NULL, NULL, false, "get", "", "", "", "",
         "", ""},
        {AS_GET, "GET", "/api/v1", NULL, NULL, false, "get", "", "", "", "", "", ""},
        {AS_GET, "GET", "/openapi/v2", NULL, NULL, false, "get", "", "", "", "", "", ""},
        {AS_POST, "POST", "/metrics", NULL, NULL, false, "post", "", "", "", "", "", ""},
        {AS_GET, "GET", "/healthz", NULL, NULL, false, "get", "", "", "", "", "", ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        check(&cases[i]);
}

/*
 * test_registry.c - the table of served kinds (apiserver/resource/registry.c, docs/design.md
 * §4.9): what each registry holds, lookups by group/version/resource, subresources, storage key
 * prefixes and how a storage key splits into namespace and name.
 */
#include "apiserver/resource/registry.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

static as_registry *foo_registry; /* Foo only */
static as_registry *standalone;   /* Foo and the built-in kinds */

static void setup(void)
{
    foo_registry = as_registry_new(false);
    standalone = as_registry_new(true);
}

static void teardown(void)
{
    as_registry_free(foo_registry);
    as_registry_free(standalone);
}

TestSuite(registry, .init = setup, .fini = teardown);

static const as_resource *find(const as_registry *reg, const char *group, const char *version,
                               const char *resource)
{
    const as_resource *r = as_registry_find(reg, group, version, resource);
    cr_assert_not_null(r, "%s/%s %s not found", group, version, resource);
    return r;
}

/* ---- contents and lookups ----------------------------------------------------------------- */

Test(registry, the_aggregated_server_serves_foos_only)
{
    int n = 0;
    const as_resource *const *all = as_registry_all(foo_registry, &n);
    cr_assert_eq(n, 1);
    cr_expect_str_eq(all[0]->resource, "foos");
    cr_expect_null(as_registry_find(foo_registry, "apps", "v1", "deployments"));
    cr_expect_null(as_registry_find(foo_registry, "", "v1", "namespaces"));
}

Test(registry, the_standalone_server_serves_the_built_in_kinds_in_order)
{
    static const char *want[] = {"foos", "deployments", "events", "namespaces", "leases"};
    int n = 0;
    const as_resource *const *all = as_registry_all(standalone, &n);
    cr_assert_eq(n, 5);
    for (int i = 0; i < n; i++)
        cr_expect_str_eq(all[i]->resource, want[i]);
}

Test(registry, each_kind_is_found_by_group_version_and_resource)
{
    const as_resource *foo = find(standalone, "demo.example.com", "v1beta1", "foos");
    cr_expect_str_eq(foo->kind, "Foo");
    cr_expect_str_eq(foo->list_kind, "FooList");
    cr_expect_str_eq(foo->singular, "foo");
    cr_expect_str_eq(foo->short_names[0], "fo");
    cr_expect_null(foo->short_names[1]);
    cr_expect_str_eq(foo->categories[0], "demo");
    cr_expect_not(foo->namespaced);

    const as_resource *d = find(standalone, "apps", "v1", "deployments");
    cr_expect_str_eq(d->kind, "Deployment");
    cr_expect_str_eq(d->list_kind, "DeploymentList");
    cr_expect_str_eq(d->short_names[0], "deploy");
    cr_expect_str_eq(d->categories[0], "all");
    cr_expect(d->namespaced);

    const as_resource *ev = find(standalone, "", "v1", "events");
    cr_expect_str_eq(ev->kind, "Event");
    cr_expect_str_eq(ev->short_names[0], "ev");
    cr_expect_null(ev->categories[0]);
    cr_expect(ev->namespaced);

    const as_resource *ns = find(standalone, "", "v1", "namespaces");
    cr_expect_str_eq(ns->kind, "Namespace");
    cr_expect_str_eq(ns->short_names[0], "ns");
    cr_expect_not(ns->namespaced);

    const as_resource *l = find(standalone, "coordination.k8s.io", "v1", "leases");
    cr_expect_str_eq(l->kind, "Lease");
    cr_expect_null(l->short_names[0]);
    cr_expect(l->namespaced);

    /* Every kind has a strategy, columns and a kind name. */
    int n = 0;
    const as_resource *const *all = as_registry_all(standalone, &n);
    for (int i = 0; i < n; i++) {
        cr_expect_not_null(all[i]->strategy, "%s", all[i]->resource);
        cr_expect_not_null(all[i]->columns, "%s", all[i]->resource);
        cr_expect_gt(all[i]->ncolumns, 0, "%s", all[i]->resource);
    }
}

Test(registry, unknown_versions_groups_and_resources_are_not_found)
{
    cr_expect_null(as_registry_find(standalone, "demo.example.com", "v1", "foos"));
    cr_expect_null(as_registry_find(standalone, "apps", "v1beta1", "deployments"));
    cr_expect_null(as_registry_find(standalone, "", "v2", "events"));
    cr_expect_null(as_registry_find(standalone, "events.k8s.io", "v1", "events"));
    cr_expect_null(as_registry_find(standalone, "coordination.k8s.io", "v1beta1", "leases"));
    /* Lookups are by plural only: not the kind, the singular or a short name. */
    cr_expect_null(as_registry_find(standalone, "apps", "v1", "Deployment"));
    cr_expect_null(as_registry_find(standalone, "apps", "v1", "deployment"));
    cr_expect_null(as_registry_find(standalone, "apps", "v1", "deploy"));
    /* The core group is "", never "core" or "v1". */
    cr_expect_null(as_registry_find(standalone, "core", "v1", "events"));
    cr_expect_null(as_registry_find(standalone, "", "", "events"));
}

Test(registry, subresources_of_each_kind)
{
    const as_resource *foo = find(standalone, "demo.example.com", "v1beta1", "foos");
    cr_expect(as_resource_has_subresource(foo, "status"));
    cr_expect(as_resource_has_subresource(foo, "scale"));
    cr_expect(as_resource_has_subresource(foo, "bar"));
    cr_expect_not(as_resource_has_subresource(foo, "baz"));
    cr_expect_not(as_resource_has_subresource(foo, ""));

    const as_resource *d = find(standalone, "apps", "v1", "deployments");
    cr_expect(as_resource_has_subresource(d, "status"));
    cr_expect(as_resource_has_subresource(d, "scale"));
    cr_expect_not(as_resource_has_subresource(d, "bar"), "bar is Foo's, not generic");

    const as_resource *ns = find(standalone, "", "v1", "namespaces");
    cr_expect(as_resource_has_subresource(ns, "status"));
    cr_expect_not(as_resource_has_subresource(ns, "scale"));

    static const char *plain[][3] = {{"", "v1", "events"}, {"coordination.k8s.io", "v1", "leases"}};
    for (size_t i = 0; i < sizeof plain / sizeof plain[0]; i++) {
        const as_resource *r = find(standalone, plain[i][0], plain[i][1], plain[i][2]);
        cr_expect_not(as_resource_has_subresource(r, "status"), "%s", plain[i][2]);
        cr_expect_not(as_resource_has_subresource(r, "scale"), "%s", plain[i][2]);
        cr_expect_not(as_resource_has_subresource(r, "bar"), "%s", plain[i][2]);
    }
}

/* ---- names and prefixes ------------------------------------------------------------------- */

Test(registry, group_version_and_qualified_names)
{
    sbuf gv = SBUF_INIT;
    as_resource_group_version(find(standalone, "apps", "v1", "deployments"), &gv);
    cr_expect_str_eq(gv.data, "apps/v1");
    sbuf_free(&gv);
    as_resource_group_version(find(standalone, "", "v1", "events"), &gv);
    cr_expect_str_eq(gv.data, "v1");
    sbuf_free(&gv);

    char buf[64];
    cr_expect_str_eq(as_resource_qualified(find(standalone, "demo.example.com", "v1beta1", "foos"),
                                           buf, sizeof buf),
                     "foos.demo.example.com");
    cr_expect_str_eq(
        as_resource_qualified(find(standalone, "", "v1", "namespaces"), buf, sizeof buf),
        "namespaces");
    cr_expect_str_eq(
        as_resource_qualified(find(standalone, "coordination.k8s.io", "v1", "leases"), buf, 8),
        "leases.", "cut to the buffer");
}

static void expect_prefix(const as_resource *r, const char *ns, const char *want)
{
    sbuf p = SBUF_INIT;
    as_resource_prefix(r, ns, &p);
    cr_expect_str_eq(p.data, want);
    sbuf_free(&p);
}

Test(registry, prefixes_name_the_group_resource_and_namespace)
{
    const as_resource *foo = find(standalone, "demo.example.com", "v1beta1", "foos");
    expect_prefix(foo, NULL, "/demo.example.com/foos/");
    expect_prefix(foo, "default", "/demo.example.com/foos/"); /* cluster-scoped: no namespace */

    const as_resource *d = find(standalone, "apps", "v1", "deployments");
    expect_prefix(d, "prod", "/apps/deployments/prod/");
    expect_prefix(d, NULL, "/apps/deployments/");

    expect_prefix(find(standalone, "", "v1", "events"), "default", "/core/events/default/");
    expect_prefix(find(standalone, "", "v1", "namespaces"), NULL, "/core/namespaces/");
    expect_prefix(find(standalone, "coordination.k8s.io", "v1", "leases"), "kube-node-lease",
                  "/coordination.k8s.io/leases/kube-node-lease/");
}

/* ---- as_key_split ------------------------------------------------------------------------- */

static void expect_split(const char *key, const char *want_ns, const char *want_name)
{
    char ns[AS_MAX_NAMESPACE + 1];
    const char *name = NULL;
    cr_assert(as_key_split(key, ns, sizeof ns, &name), "%s did not split", key);
    cr_expect_str_eq(ns, want_ns, "%s", key);
    cr_expect_str_eq(name, want_name, "%s", key);
}

static void expect_no_split(const char *key)
{
    char ns[AS_MAX_NAMESPACE + 1];
    const char *name = NULL;
    cr_expect_not(as_key_split(key, ns, sizeof ns, &name), "%s split into %s / %s", key, ns,
                  name ? name : "");
}

Test(registry, key_split_of_cluster_scoped_keys)
{
    expect_split("/demo.example.com/foos/web", "", "web");
    expect_split("/core/namespaces/kube-system", "", "kube-system");
    expect_split("/demo.example.com/foos/a.b-c", "", "a.b-c");
}

Test(registry, key_split_of_namespaced_keys)
{
    expect_split("/apps/deployments/prod/web", "prod", "web");
    expect_split("/core/events/default/web.17f3a", "default", "web.17f3a");
    expect_split("/coordination.k8s.io/leases/kube-node-lease/node-1", "kube-node-lease", "node-1");
}

Test(registry, key_split_name_points_into_the_key)
{
    const char *key = "/apps/deployments/prod/web";
    char ns[AS_MAX_NAMESPACE + 1];
    const char *name = NULL;
    cr_assert(as_key_split(key, ns, sizeof ns, &name));
    cr_expect_eq(name, key + strlen("/apps/deployments/prod/"));
}

Test(registry, key_split_refuses_malformed_keys)
{
    expect_no_split("");
    expect_no_split("/");
    expect_no_split("/apps");
    expect_no_split("/apps/deployments");
}

Test(registry, key_split_refuses_keys_without_a_name)
{
    expect_no_split("/apps/deployments/");
    expect_no_split("/apps/deployments/prod/");
}

Test(registry, key_split_refuses_an_empty_namespace)
{
    expect_no_split("/apps/deployments//web");
}

Test(registry, key_split_refuses_names_with_a_slash)
{
    expect_no_split("/apps/deployments/prod/web/extra");
}

Test(registry, key_split_takes_the_longest_namespace_and_no_longer)
{
    char key[128];
    char ns63[AS_MAX_NAMESPACE + 1];
    memset(ns63, 'n', AS_MAX_NAMESPACE);
    ns63[AS_MAX_NAMESPACE] = '\0';
    snprintf(key, sizeof key, "/apps/deployments/%s/web", ns63);
    expect_split(key, ns63, "web");

    snprintf(key, sizeof key, "/apps/deployments/%sn/web", ns63); /* 64 characters */
    expect_no_split(key);

    /* A small buffer: the namespace and its NUL must fit. */
    char small[5];
    const char *name;
    cr_expect(as_key_split("/apps/deployments/prod/web", small, sizeof small, &name));
    cr_expect_str_eq(small, "prod");
    cr_expect_not(as_key_split("/apps/deployments/prods/web", small, sizeof small, &name));
}

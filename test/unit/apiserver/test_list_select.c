/*
 * test_list_select.c - which objects a list covers (apiserver/resource/list_select.c, docs/api.md
 * §5.2) when keys carry a namespace: a list in one namespace, a list across all namespaces (a
 * metadata.name selector is scanned for in every namespace, not looked up as one key), the
 * metadata.namespace field selector, and pages across namespaces. The selector syntax itself is
 * tested in test_list_options.c.
 */
#include "apiserver/resource/list_select.h"
#include "apiserver/resource/registry.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static clk_t *fake;
static wc_cache *cache;

/* Deployments in three namespaces, and Foos (cluster-scoped) in the same cache: a list under
   one prefix never sees the other kind's keys. */
static const char *const keys[] = {
    "/apps/deployments/a/web", "/apps/deployments/b/api",  "/apps/deployments/b/web",
    "/apps/deployments/c/db",  "/demo.example.com/foos/a", "/demo.example.com/foos/web",
};

static void setup(void)
{
    fake = clk_fake_new(1700000000000);
    wc_options o = wc_defaults();
    o.clock = fake;
    cache = wc_new(&o);
    cr_assert_not_null(cache);
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        const char *name = strrchr(keys[i], '/') + 1;
        char json[160];
        int n = snprintf(json, sizeof json,
                         "{\"metadata\":{\"name\":\"%s\",\"labels\":{\"app\":"
                         "\"%s\"}}}",
                         name, name);
        wc_load(cache, keys[i], json, (size_t)n, i + 1);
    }
    wc_set_rev(cache, 10);
}

static void teardown(void)
{
    wc_free(cache);
    clk_fake_free(fake);
}

TestSuite(list_select, .init = setup, .fini = teardown);

/*
 * Lists prefix with these selectors and options (limit, continue); returns the keys of the
 * page, comma-joined, in a static buffer. *page_out, when given, receives the page (the caller
 * frees it).
 */
static const char *list(const char *prefix, bool all_namespaces, const char *fields,
                        const char *labels, uint64_t limit, const char *cont, as_page *page_out)
{
    static char out[512];
    as_selector sel;
    api_error e = API_ERROR_INIT;
    cr_assert(as_selector_parse(fields, labels, &sel, &e), "%s", e.message);
    as_list_options o = {.limit = limit, .cont = cont};
    as_page page;
    cr_assert(as_list_select(cache, prefix, all_namespaces, &o, &sel, &page, &e), "%s",
              e.message ? e.message : "");
    out[0] = '\0';
    for (size_t i = 0; i < page.n; i++) {
        if (i)
            strcat(out, ",");
        strcat(out, page.items[i]->key);
    }
    cr_expect_eq(page.rev, 10, "a page carries the cache's revision");
    if (page_out)
        *page_out = page;
    else
        as_page_free(&page);
    as_selector_free(&sel);
    return out;
}

#define ALL_DEPLOYMENTS "/apps/deployments/"

Test(list_select, a_name_across_namespaces_is_found_in_each)
{
    cr_expect_str_eq(list(ALL_DEPLOYMENTS, true, "metadata.name=web", NULL, 0, NULL, NULL),
                     "/apps/deployments/a/web,/apps/deployments/b/web");
    cr_expect_str_eq(list(ALL_DEPLOYMENTS, true, "metadata.name==db", NULL, 0, NULL, NULL),
                     "/apps/deployments/c/db");
    cr_expect_str_eq(list(ALL_DEPLOYMENTS, true, "metadata.name=none", NULL, 0, NULL, NULL), "");
}

Test(list_select, a_name_in_one_namespace_is_that_object)
{
    cr_expect_str_eq(list("/apps/deployments/b/", false, "metadata.name=web", NULL, 0, NULL, NULL),
                     "/apps/deployments/b/web");
    cr_expect_str_eq(list("/apps/deployments/c/", false, "metadata.name=web", NULL, 0, NULL, NULL),
                     "");
    /* A cluster-scoped kind's name is one key as well. */
    cr_expect_str_eq(
        list("/demo.example.com/foos/", false, "metadata.name=web", NULL, 0, NULL, NULL),
        "/demo.example.com/foos/web");
}

Test(list_select, a_name_that_is_also_a_namespace_matches_names_only)
{
    /* "a" is a namespace of Deployments and the name of a Foo. */
    cr_expect_str_eq(list(ALL_DEPLOYMENTS, true, "metadata.name=a", NULL, 0, NULL, NULL), "");
    cr_expect_str_eq(list("/demo.example.com/foos/", false, "metadata.name=a", NULL, 0, NULL, NULL),
                     "/demo.example.com/foos/a");
}

Test(list_select, the_namespace_field_selects_by_namespace)
{
    cr_expect_str_eq(list(ALL_DEPLOYMENTS, true, "metadata.namespace=b", NULL, 0, NULL, NULL),
                     "/apps/deployments/b/api,/apps/deployments/b/web");
    cr_expect_str_eq(list(ALL_DEPLOYMENTS, true, "metadata.namespace!=b", NULL, 0, NULL, NULL),
                     "/apps/deployments/a/web,/apps/deployments/c/db");
    cr_expect_str_eq(
        list(ALL_DEPLOYMENTS, true, "metadata.namespace=b,metadata.name=web", NULL, 0, NULL, NULL),
        "/apps/deployments/b/web");
    cr_expect_str_eq(list(ALL_DEPLOYMENTS, true, "metadata.namespace=", NULL, 0, NULL, NULL), "");
    /* Within one namespace, another namespace's term selects nothing. */
    cr_expect_str_eq(
        list("/apps/deployments/a/", false, "metadata.namespace=b", NULL, 0, NULL, NULL), "");
    cr_expect_str_eq(
        list("/apps/deployments/a/", false, "metadata.namespace=a", NULL, 0, NULL, NULL),
        "/apps/deployments/a/web");
}

Test(list_select, cluster_scoped_objects_have_the_empty_namespace)
{
    cr_expect_str_eq(
        list("/demo.example.com/foos/", false, "metadata.namespace=", NULL, 0, NULL, NULL),
        "/demo.example.com/foos/a,/demo.example.com/foos/web");
    cr_expect_str_eq(
        list("/demo.example.com/foos/", false, "metadata.namespace=a", NULL, 0, NULL, NULL), "");
}

Test(list_select, label_and_field_selectors_together_across_namespaces)
{
    cr_expect_str_eq(
        list(ALL_DEPLOYMENTS, true, "metadata.namespace!=a", "app in (web,db)", 0, NULL, NULL),
        "/apps/deployments/b/web,/apps/deployments/c/db");
}

Test(list_select, one_namespace_is_one_range)
{
    cr_expect_str_eq(list("/apps/deployments/b/", false, NULL, NULL, 0, NULL, NULL),
                     "/apps/deployments/b/api,/apps/deployments/b/web");
    cr_expect_str_eq(list(ALL_DEPLOYMENTS, true, NULL, NULL, 0, NULL, NULL),
                     "/apps/deployments/a/web,/apps/deployments/b/api,/apps/deployments/b/web,"
                     "/apps/deployments/c/db");
}

Test(list_select, pages_run_across_namespaces_in_key_order)
{
    as_page p1;
    cr_expect_str_eq(list(ALL_DEPLOYMENTS, true, NULL, NULL, 3, NULL, &p1),
                     "/apps/deployments/a/web,/apps/deployments/b/api,/apps/deployments/b/web");
    cr_assert_not_null(p1.cont);
    cr_expect_eq(p1.remaining, 1);
    as_page p2;
    cr_expect_str_eq(list(ALL_DEPLOYMENTS, true, NULL, NULL, 3, p1.cont, &p2),
                     "/apps/deployments/c/db");
    cr_expect_null(p2.cont);
    as_page_free(&p1);
    as_page_free(&p2);
}

Test(list_select, pages_of_a_name_across_namespaces)
{
    /* Page by page (one key scanned per page) until no continue token is left. */
    char seen[512] = "";
    char *cont = NULL;
    int pages = 0;
    do {
        as_page p;
        const char *got = list(ALL_DEPLOYMENTS, true, "metadata.name=web", NULL, 1, cont, &p);
        if (*got) {
            if (*seen)
                strcat(seen, ",");
            strcat(seen, got);
        }
        cr_expect_eq(p.remaining, 0, "no count under a selector");
        free(cont);
        cont = p.cont;
        p.cont = NULL;
        as_page_free(&p);
        cr_assert_lt(++pages, 10);
    } while (cont);
    cr_expect_str_eq(seen, "/apps/deployments/a/web,/apps/deployments/b/web");
}

Test(list_select, a_selected_page_is_filled_up_to_its_limit_as_kube_fills_it)
{
    /* The first key (a/web) matches; b/api does not: a page of 2 scans on to b/web. */
    as_page p1;
    cr_expect_str_eq(list(ALL_DEPLOYMENTS, true, "metadata.name=web", NULL, 2, NULL, &p1),
                     "/apps/deployments/a/web,/apps/deployments/b/web");
    /* c/db is left to scan: the page says so, and the next one finds nothing more. */
    cr_assert_not_null(p1.cont);
    as_page p2;
    cr_expect_str_eq(list(ALL_DEPLOYMENTS, true, "metadata.name=web", NULL, 2, p1.cont, &p2), "");
    cr_expect_null(p2.cont);
    as_page_free(&p1);
    as_page_free(&p2);
    /* A label selector no object matches scans everything and ends without a token. */
    as_page p3;
    cr_expect_str_eq(list(ALL_DEPLOYMENTS, true, NULL, "app=none", 1, NULL, &p3), "");
    cr_expect_null(p3.cont);
    as_page_free(&p3);
}

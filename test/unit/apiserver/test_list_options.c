/*
 * test_list_options.c - ListOptions read from the query (apiserver/list_options.c) and the field
 * and label selectors (apiserver/selector.c): every value is read in full, a value that does not
 * parse is a 400, and every selector term counts (issue 6: nothing a client sends is ignored).
 */
#include "apiserver/resource/list_options.h"
#include "apiserver/transport/http.h"
#include "apiserver/resource/selector.h"
#include "common/alloc.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

static void setup(void)
{
    alloc_install_cjson_hooks();
}

TestSuite(list_options, .init = setup);

/* A request carrying only the given query parameters (key, value, key, value, ..., NULL). */
static const char *get_param(const void *req, const char *key)
{
    return as_param_get(req, key);
}

static as_query query_of(const as_req *req)
{
    return (as_query){.get = get_param, .src = req};
}

static as_req request(as_param *storage, const char *const *kv)
{
    as_req req;
    memset(&req, 0, sizeof req);
    int n = 0;
    for (; kv[2 * n]; n++)
        storage[n] = (as_param){(char *)kv[2 * n], (char *)kv[2 * n + 1]};
    req.params = storage;
    req.nparams = n;
    return req;
}

static bool parse(as_list_verb verb, const char *const *kv, as_list_options *o, api_error *e)
{
    as_param storage[16];
    as_req req = request(storage, kv);
    return as_list_options_parse(query_of(&req), verb, o, e);
}

static void expect_bad_request(as_list_verb verb, const char *key, const char *value)
{
    const char *kv[] = {key, value, NULL};
    as_list_options o;
    api_error e = API_ERROR_INIT;
    cr_expect_not(parse(verb, kv, &o, &e), "%s=%s", key, value);
    cr_expect_eq(e.code, 400, "%s=%s", key, value);
    cr_expect(e.message && strstr(e.message, key), "%s", e.message ? e.message : "");
    apierr_clear(&e);
}

Test(list_options, numbers_are_read_in_full)
{
    const char *kv[] = {"limit", "500", "resourceVersion", "42", "timeoutSeconds", "30", NULL};
    as_list_options o;
    api_error e = API_ERROR_INIT;
    cr_assert(parse(AS_VERB_WATCH, kv, &o, &e));
    cr_expect_eq(o.limit, 500);
    cr_expect_eq(o.rv, 42);
    cr_expect_eq(o.timeout_seconds, 30);
}

Test(list_options, values_that_do_not_parse_are_400_not_defaults)
{
    expect_bad_request(AS_VERB_LIST, "limit", "ten");
    expect_bad_request(AS_VERB_LIST, "limit", "-1");
    expect_bad_request(AS_VERB_LIST, "limit", "5x");
    expect_bad_request(AS_VERB_LIST, "limit", "99999999999999999999999");
    expect_bad_request(AS_VERB_DELETECOLLECTION, "limit", " 5");
    expect_bad_request(AS_VERB_LIST, "resourceVersion", "12x");
    expect_bad_request(AS_VERB_LIST, "resourceVersion", "-3");
    expect_bad_request(AS_VERB_LIST, "resourceVersion", "18446744073709551616");
    expect_bad_request(AS_VERB_WATCH, "timeoutSeconds", "1e3");
    expect_bad_request(AS_VERB_WATCH, "allowWatchBookmarks", "yes");
    expect_bad_request(AS_VERB_WATCH, "sendInitialEvents", "maybe");
}

Test(list_options, watch_flag_that_is_not_a_boolean_is_400)
{
    as_param storage[2];
    const char *bad[] = {"watch", "maybe", NULL};
    as_req req = request(storage, bad);
    bool watch = true;
    api_error e = API_ERROR_INIT;
    cr_expect_not(as_list_is_watch(query_of(&req), &watch, &e));
    cr_expect_eq(e.code, 400);
    apierr_clear(&e);
    const char *go[] = {"watch", "True", NULL};
    req = request(storage, go);
    cr_expect(as_list_is_watch(query_of(&req), &watch, &e));
    cr_expect(watch);
    const char *none[] = {NULL};
    req = request(storage, none);
    cr_expect(as_list_is_watch(query_of(&req), &watch, &e));
    cr_expect_not(watch);
}

Test(list_options, kube_combinations_are_422_on_list_options)
{
    const char *cases[][7] = {
        {"resourceVersionMatch", "Exact", NULL},
        {"resourceVersionMatch", "Sometimes", "resourceVersion", "1", NULL},
        {"resourceVersionMatch", "Exact", "resourceVersion", "0", NULL},
        {"sendInitialEvents", "false", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        as_list_options o;
        api_error e = API_ERROR_INIT;
        cr_expect_not(parse(AS_VERB_LIST, cases[i], &o, &e), "case %zu", i);
        cr_expect_eq(e.code, 422, "case %zu", i);
        cr_expect_str_eq(e.kind, "ListOptions");
        apierr_clear(&e);
    }
    const char *watch_list[] = {"sendInitialEvents", "true", "resourceVersionMatch", "NotOlderThan",
                                NULL};
    as_list_options o;
    api_error e = API_ERROR_INIT;
    cr_expect(parse(AS_VERB_WATCH, watch_list, &o, &e));
    cr_expect(o.send_initial_events);
    const char *no_match[] = {"sendInitialEvents", "true", NULL};
    cr_expect_not(parse(AS_VERB_WATCH, no_match, &o, &e));
    cr_expect_eq(e.code, 422);
    apierr_clear(&e);
}

/* ---- selectors ------------------------------------------------------------------------------ */

static wc_blob *blob(const char *json)
{
    size_t len = strlen(json);
    wc_blob *b = xcalloc(1, sizeof *b + len + 1);
    atomic_init(&b->refs, 1);
    memcpy(b->data, json, len + 1);
    b->len = len;
    b->key = b->data + len; /* unused here: an empty string */
    return b;
}

static bool selects(const char *fields, const char *labels, const char *ns, const char *name)
{
    as_selector sel;
    api_error e = API_ERROR_INIT;
    bool ok = as_selector_parse(fields, labels, &sel, &e);
    cr_assert(ok, "%s / %s: %s", fields ? fields : "", labels ? labels : "",
              e.message ? e.message : "");
    wc_blob *b = blob("{\"metadata\":{\"labels\":{\"app\":\"web\"}}}");
    bool matched = as_selector_matches(&sel, ns, name, b);
    wc_blob_unref(b);
    as_selector_free(&sel);
    return matched;
}

Test(list_options, every_field_selector_term_counts)
{
    cr_expect(selects("metadata.name=a", NULL, "", "a"));
    cr_expect_not(selects("metadata.name=a,metadata.name=b", NULL, "", "a"));
    cr_expect_not(selects("metadata.name=a,metadata.name=b", NULL, "", "b"));
    cr_expect_not(selects("metadata.name!=a,metadata.name!=b", NULL, "", "a"));
    cr_expect_not(selects("metadata.name!=a,metadata.name!=b", NULL, "", "b"));
    cr_expect(selects("metadata.name!=a,metadata.name!=b", NULL, "", "c"));
    cr_expect(selects("metadata.name==a", "app=web", "", "a"));
    cr_expect_not(selects("metadata.name==a", "app=db", "", "a"));
}

Test(list_options, namespace_terms_match_the_object_namespace)
{
    cr_expect_not(selects("metadata.namespace=default", NULL, "", "a"));
    cr_expect(selects("metadata.namespace=", NULL, "", "a"));
    cr_expect(selects("metadata.namespace!=default", NULL, "", "a"));
    cr_expect(selects("metadata.namespace=default", NULL, "default", "a"));
}

Test(list_options, field_selector_values_unescape_like_kube)
{
    cr_expect(selects("metadata.name=a\\,b", NULL, "", "a,b"));
    cr_expect(selects("metadata.name=a\\=b\\!c\\\\", NULL, "", "a=b!c\\"));
    cr_expect(selects(",,metadata.name=a,", NULL, "", "a"));
}

Test(list_options, bad_field_selectors_are_400_naming_the_problem)
{
    const char *bad[] = {"metadata.name",
                         "metadata.name=a=b",
                         "metadata.name=a!b",
                         "metadata.name=\\x",
                         "metadata.name=a\\",
                         "spec.replicas=1",
                         "=a"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        as_selector sel;
        api_error e = API_ERROR_INIT;
        cr_expect_not(as_selector_parse(bad[i], NULL, &sel, &e), "%s", bad[i]);
        cr_expect_eq(e.code, 400, "%s", bad[i]);
        cr_expect_str_eq(e.reason, "BadRequest");
        apierr_clear(&e);
        as_selector_free(&sel);
    }
}

Test(list_options, only_name_is_the_first_equality_on_the_name)
{
    as_selector sel;
    api_error e = API_ERROR_INIT;
    cr_assert(as_selector_parse("metadata.name!=x,metadata.name=a", NULL, &sel, &e));
    cr_expect_str_eq(as_selector_only_name(&sel), "a");
    as_selector_free(&sel);
    cr_assert(as_selector_parse("metadata.name!=x", NULL, &sel, &e));
    cr_expect_null(as_selector_only_name(&sel));
    as_selector_free(&sel);
}

/*
 * sar_test.c - SubjectAccessReview authorization (sar.h): the exact review for resource and
 * non-resource requests, decisions and their two TTLs against a scripted HTTP server standing in
 * for kube-apiserver, failures that are not cached, and kube's wording of a 403.
 */
#include "apiserver/transport/sar.h"
#include "webhook_fixture.h"

#include "client/config.h"
#include "common/alloc.h"
#include "common/clock.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define SAR_ALLOWED "{\"kind\":\"SubjectAccessReview\",\"status\":{\"allowed\":true}}"
#define SAR_DENIED                                                                                 \
    "{\"kind\":\"SubjectAccessReview\",\"status\":{\"allowed\":false,\"reason\":\"no RBAC policy " \
    "matched\"}}"

static void setup(void)
{
    wh_setup(SAR_ALLOWED);
}

TestSuite(sar, .init = setup, .fini = wh_teardown);

static az_attributes list_foos(const authn_user *u)
{
    return (az_attributes){.user = u,
                           .resource_request = true,
                           .verb = "list",
                           .group = "demo.example.com",
                           .version = "v1beta1",
                           .resource = "foos"};
}

static uint64_t calls(az_authorizer *a)
{
    az_stats st;
    az_stats_get(a, &st);
    return st.calls;
}

Test(sar, resource_review_is_exact)
{
    az_attributes at = list_foos(wh.alice);
    char *json = az_review_json(&at);
    cr_expect_str_eq(json, "{\"apiVersion\":\"authorization.k8s.io/v1\",\"kind\":"
                           "\"SubjectAccessReview\",\"spec\":{\"user\":\"alice\",\"uid\":\"u-1\","
                           "\"groups\":[\"dev\",\"system:authenticated\"],\"extra\":{"
                           "\"acme.com/project\":[\"p1\"],\"scopes\":[\"x\",\"y\"]},"
                           "\"resourceAttributes\":{\"verb\":\"list\",\"group\":"
                           "\"demo.example.com\",\"version\":\"v1beta1\",\"resource\":\"foos\","
                           "\"subresource\":\"\",\"name\":\"\",\"namespace\":\"\"}}}");
    free(json);
}

Test(sar, non_resource_review_is_exact)
{
    authn_user *anon = authn_anonymous();
    az_attributes at = {.user = anon, .verb = "get", .path = "/metrics"};
    char *json = az_review_json(&at);
    cr_expect_str_eq(json, "{\"apiVersion\":\"authorization.k8s.io/v1\",\"kind\":"
                           "\"SubjectAccessReview\",\"spec\":{\"user\":\"system:anonymous\","
                           "\"uid\":\"\",\"groups\":[\"system:unauthenticated\"],\"extra\":{},"
                           "\"nonResourceAttributes\":{\"path\":\"/metrics\",\"verb\":\"get\"}}}");
    free(json);
    authn_user_free(anon);
}

Test(sar, allowed_is_posted_and_cached_for_the_allowed_ttl)
{
    az_authorizer *a = az_new(wh.client, 10000, 2000, wh.clk, 0);
    az_attributes at = list_foos(wh.alice);
    az_decision d;
    cr_expect_eq(az_authorize_cached(a, &at, &d), -ENOENT);
    api_error err = API_ERROR_INIT;
    cr_assert_eq(az_authorize(a, &at, &d, &err), 0, "%s", err.message);
    cr_expect(d.allowed);
    cr_expect_str_eq(d.reason, "");
    az_decision_clear(&d);

    cr_expect_str_eq(wh.stub.log.data, "POST /apis/authorization.k8s.io/v1/subjectaccessreviews\n");
    char *body = wh_last_body(), *want = az_review_json(&at);
    cr_expect_str_eq(body, want);
    free(body);
    free(want);

    clk_fake_advance_ms(wh.clk, 9999);
    cr_assert_eq(az_authorize_cached(a, &at, &d), 0);
    cr_expect(d.allowed);
    az_decision_clear(&d);
    clk_fake_advance_ms(wh.clk, 1);
    cr_expect_eq(az_authorize_cached(a, &at, &d), -ENOENT);
    cr_expect_eq(calls(a), 1);
    az_free(a);
}

Test(sar, denied_carries_its_reason_and_is_cached_for_the_denied_ttl)
{
    wh_push_ok(SAR_DENIED);
    az_authorizer *a = az_new(wh.client, 10000, 2000, wh.clk, 0);
    az_attributes at = list_foos(wh.alice);
    az_decision d;
    cr_assert_eq(az_authorize(a, &at, &d, NULL), 0);
    cr_expect_not(d.allowed);
    cr_expect_str_eq(d.reason, "no RBAC policy matched");
    az_decision_clear(&d);

    clk_fake_advance_ms(wh.clk, 1999);
    cr_assert_eq(az_authorize(a, &at, &d, NULL), 0);
    cr_expect_not(d.allowed, "still the cached denial");
    az_decision_clear(&d);
    cr_expect_eq(calls(a), 1);
    clk_fake_advance_ms(wh.clk, 1);
    cr_expect_eq(az_authorize_cached(a, &at, &d), -ENOENT);
    az_free(a);
}

Test(sar, denied_and_no_opinion_deny)
{
    wh_push_ok("{\"status\":{\"allowed\":false,\"denied\":true,\"reason\":\"blocked\"}}");
    wh_push_ok("{\"status\":{}}");
    az_authorizer *a = az_new(wh.client, 0, 0, wh.clk, 0);
    az_attributes at = list_foos(wh.alice);
    az_decision d;
    cr_assert_eq(az_authorize(a, &at, &d, NULL), 0);
    cr_expect_not(d.allowed);
    cr_expect_str_eq(d.reason, "blocked");
    az_decision_clear(&d);
    cr_assert_eq(az_authorize(a, &at, &d, NULL), 0);
    cr_expect_not(d.allowed);
    cr_expect_str_eq(d.reason, "");
    az_decision_clear(&d);
    cr_expect_eq(calls(a), 2, "a zero TTL caches nothing");
    az_free(a);
}

Test(sar, other_attributes_are_other_entries)
{
    az_authorizer *a = az_new(wh.client, 10000, 10000, wh.clk, 0);
    az_attributes at = list_foos(wh.alice);
    az_decision d;
    cr_assert_eq(az_authorize(a, &at, &d, NULL), 0);
    az_decision_clear(&d);
    az_attributes get_x = at;
    get_x.verb = "get";
    get_x.name = "x";
    cr_expect_eq(az_authorize_cached(a, &get_x, &d), -ENOENT);
    az_attributes status = at;
    status.subresource = "status";
    cr_expect_eq(az_authorize_cached(a, &status, &d), -ENOENT);
    authn_user *bob = authn_user_new("bob", NULL);
    az_attributes as_bob = list_foos(bob);
    cr_expect_eq(az_authorize_cached(a, &as_bob, &d), -ENOENT);
    authn_user_free(bob);
    az_free(a);
}

Test(sar, extra_order_does_not_change_the_key)
{
    authn_user *same = authn_user_new("alice", "u-1");
    authn_user_add_group(same, "dev");
    authn_user_add_group(same, "system:authenticated");
    authn_user_add_extra(same, "acme.com/project", "p1");
    authn_user_add_extra(same, "scopes", "x");
    authn_user_add_extra(same, "scopes", "y");
    az_authorizer *a = az_new(wh.client, 10000, 10000, wh.clk, 0);
    az_attributes at = list_foos(wh.alice), at2 = list_foos(same);
    az_decision d;
    cr_assert_eq(az_authorize(a, &at, &d, NULL), 0);
    az_decision_clear(&d);
    cr_expect_eq(az_authorize_cached(a, &at2, &d), 0);
    az_decision_clear(&d);
    az_free(a);
    authn_user_free(same);
}

Test(sar, a_timeout_is_retried_and_a_refusal_is_not)
{
    stub_push_status(&wh.stub, 504, "Timeout", "the server was too slow", NULL);
    az_authorizer *a = az_new(wh.client, 10000, 10000, wh.clk, 0);
    az_attributes at = list_foos(wh.alice);
    az_decision d;
    cr_assert_eq(az_authorize(a, &at, &d, NULL), 0, "the second attempt answers");
    cr_expect(d.allowed);
    az_decision_clear(&d);
    cr_expect_eq(calls(a), 2);
    az_free(a);
}

Test(sar, a_failed_call_is_an_error_and_not_cached)
{
    stub_push_status(&wh.stub, 403, "Forbidden", "cannot create subjectaccessreviews", NULL);
    az_authorizer *a = az_new(wh.client, 10000, 10000, wh.clk, 0);
    az_attributes at = list_foos(wh.alice);
    az_decision d;
    api_error err = API_ERROR_INIT;
    cr_expect_eq(az_authorize(a, &at, &d, &err), -EIO);
    cr_expect_not(d.allowed);
    cr_expect_null(d.reason);
    cr_expect_not_null(strstr(err.message, "cannot create subjectaccessreviews"), "%s",
                       err.message);
    apierr_clear(&err);
    cr_expect_eq(az_authorize_cached(a, &at, &d), -ENOENT);
    cr_assert_eq(az_authorize(a, &at, &d, NULL), 0);
    cr_expect(d.allowed);
    az_decision_clear(&d);
    az_free(a);
}

Test(sar, malformed_answers_are_errors)
{
    static const char *bodies[] = {"[]", "{}", "{\"status\":{\"allowed\":\"yes\"}}",
                                   "{\"status\":{\"allowed\":false,\"reason\":3}}", "garbage"};
    az_authorizer *a = az_new(wh.client, 10000, 10000, wh.clk, 0);
    az_attributes at = list_foos(wh.alice);
    for (size_t i = 0; i < sizeof bodies / sizeof *bodies; i++) {
        wh_push_ok(bodies[i]);
        az_decision d;
        api_error err = API_ERROR_INIT;
        cr_expect_eq(az_authorize(a, &at, &d, &err), -EPROTO, "%s", bodies[i]);
        cr_expect(apierr_is_set(&err));
        apierr_clear(&err);
    }
    cr_expect_eq(calls(a), sizeof bodies / sizeof *bodies);
    az_free(a);
}

/* The message az_forbidden writes for at and reason; caller frees. */
static char *forbidden(const az_attributes *at, const char *reason, api_error *e)
{
    az_forbidden(e, at, reason);
    cr_expect_eq(e->code, 403);
    cr_expect_str_eq(e->reason, "Forbidden");
    return xstrdup(e->message);
}

Test(sar, forbidden_message_cluster_scope)
{
    api_error e = API_ERROR_INIT;
    az_attributes at = list_foos(wh.alice);
    at.verb = "get";
    at.name = "x";
    char *m = forbidden(&at, NULL, &e);
    cr_expect_str_eq(m, "foos.demo.example.com \"x\" is forbidden: User \"alice\" cannot get "
                        "resource \"foos\" in API group \"demo.example.com\" at the cluster scope");
    cr_expect_str_eq(e.name, "x");
    cr_expect_str_eq(e.group, "demo.example.com");
    cr_expect_str_eq(e.kind, "foos");
    free(m);
    apierr_clear(&e);
}

Test(sar, forbidden_message_without_a_name_with_a_reason)
{
    api_error e = API_ERROR_INIT;
    authn_user *anon = authn_anonymous();
    az_attributes at = list_foos(anon);
    char *m = forbidden(&at, "no RBAC policy matched", &e);
    cr_expect_str_eq(m, "foos.demo.example.com is forbidden: User \"system:anonymous\" cannot "
                        "list resource \"foos\" in API group \"demo.example.com\" at the cluster "
                        "scope: no RBAC policy matched");
    cr_expect_null(e.name);
    free(m);
    apierr_clear(&e);
    authn_user_free(anon);
}

Test(sar, forbidden_message_subresource_and_namespace)
{
    api_error e = API_ERROR_INIT;
    az_attributes at = list_foos(wh.alice);
    at.verb = "update";
    at.name = "x";
    at.subresource = "scale";
    at.namespace = "team-a";
    char *m = forbidden(&at, "", &e);
    cr_expect_str_eq(m, "foos.demo.example.com \"x\" is forbidden: User \"alice\" cannot update "
                        "resource \"foos/scale\" in API group \"demo.example.com\" in the "
                        "namespace \"team-a\"");
    cr_expect_str_eq(e.kind, "foos", "details.kind is the resource without subresource");
    free(m);
    apierr_clear(&e);
}

Test(sar, forbidden_message_core_group)
{
    api_error e = API_ERROR_INIT;
    az_attributes at = {.user = wh.alice,
                        .resource_request = true,
                        .verb = "get",
                        .version = "v1",
                        .resource = "configmaps",
                        .name = "c",
                        .namespace = "kube-system"};
    char *m = forbidden(&at, NULL, &e);
    cr_expect_str_eq(m, "configmaps \"c\" is forbidden: User \"alice\" cannot get resource "
                        "\"configmaps\" in API group \"\" in the namespace \"kube-system\"");
    cr_expect_null(e.group);
    free(m);
    apierr_clear(&e);
}

Test(sar, forbidden_message_non_resource)
{
    api_error e = API_ERROR_INIT;
    az_attributes at = {.user = wh.alice, .verb = "get", .path = "/metrics"};
    char *m = forbidden(&at, NULL, &e);
    cr_expect_str_eq(m, "forbidden: User \"alice\" cannot get path \"/metrics\"");
    cr_expect_null(e.name);
    cr_expect_null(e.group);
    cr_expect_null(e.kind);
    free(m);
    apierr_clear(&e);
}

Test(sar, forbidden_message_quotes_as_go)
{
    api_error e = API_ERROR_INIT;
    authn_user *odd = authn_user_new("a\"b\\c\n\x01\x7f\xc2\x85\xff-\xc3\xa9", NULL);
    az_attributes at = {.user = odd, .verb = "get", .path = "/x"};
    char *m = forbidden(&at, NULL, &e);
    cr_expect_str_eq(m, "forbidden: User \"a\\\"b\\\\c\\n\\x01\\x7f\\u0085\\xff-\xc3\xa9\" cannot "
                        "get path \"/x\"");
    free(m);
    apierr_clear(&e);
    authn_user_free(odd);
}

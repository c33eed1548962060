/*
 * test_limits.c - admission under load (apiserver/transport/limits.c): caps per kind, exempt
 * requests counted apart, 0 = no limit, the body budget, kube's 429.
 */
#include "apiserver/transport/limits.h"

#include <criterion/criterion.h>
#include <string.h>

static as_limits with_caps(int readonly, int mutating, int watches, size_t body)
{
    as_limits_config cfg = as_limits_defaults();
    cfg.max_requests_inflight = readonly;
    cfg.max_mutating_requests_inflight = mutating;
    cfg.max_watches = watches;
    cfg.max_body_memory = body;
    as_limits l;
    as_limits_init(&l, &cfg);
    return l;
}

Test(limits, defaults_are_kubes)
{
    as_limits_config d = as_limits_defaults();
    cr_assert_eq(d.max_requests_inflight, 400);
    cr_assert_eq(d.max_mutating_requests_inflight, 200);
    cr_assert_eq(d.request_timeout_ms, 60000);
    cr_assert_gt(d.max_watches, 1100); /* the 1100 watches fit under the default */
    cr_assert_gt(d.max_connections, 2 * 1100);
}

Test(limits, each_kind_has_its_own_cap)
{
    as_limits l = with_caps(2, 1, 1, 1024);
    cr_assert(as_limits_admit(&l, AS_KIND_READONLY, false));
    cr_assert(as_limits_admit(&l, AS_KIND_READONLY, false));
    cr_assert_not(as_limits_admit(&l, AS_KIND_READONLY, false));
    /* the others are not taken by the read-only requests */
    cr_assert(as_limits_admit(&l, AS_KIND_MUTATING, false));
    cr_assert_not(as_limits_admit(&l, AS_KIND_MUTATING, false));
    cr_assert(as_limits_admit(&l, AS_KIND_WATCH, false));
    cr_assert_not(as_limits_admit(&l, AS_KIND_WATCH, false));
    cr_assert_eq(l.rejected, 3);
    cr_assert_eq(as_limits_inflight(&l, AS_KIND_READONLY), 2);
    as_limits_release(&l, AS_KIND_READONLY, false);
    cr_assert(as_limits_admit(&l, AS_KIND_READONLY, false));
}

Test(limits, exempt_requests_always_pass_and_take_no_seat)
{
    as_limits l = with_caps(1, 1, 1, 1024);
    for (int i = 0; i < 10; i++)
        cr_assert(as_limits_admit(&l, AS_KIND_READONLY, true));
    cr_assert(as_limits_admit(&l, AS_KIND_READONLY, false)); /* the one seat is still free */
    cr_assert_not(as_limits_admit(&l, AS_KIND_READONLY, false));
    cr_assert_eq(as_limits_inflight(&l, AS_KIND_READONLY), 11);
    for (int i = 0; i < 10; i++)
        as_limits_release(&l, AS_KIND_READONLY, true);
    cr_assert_not(as_limits_admit(&l, AS_KIND_READONLY, false)); /* exempt releases free none */
    cr_assert_eq(as_limits_inflight(&l, AS_KIND_READONLY), 1);
}

Test(limits, zero_means_no_limit)
{
    as_limits l = with_caps(0, 0, 0, 1024);
    for (int i = 0; i < 100000; i++)
        cr_assert(as_limits_admit(&l, (as_req_kind)(i % AS_KIND_COUNT), false));
    cr_assert_eq(l.rejected, 0);
}

Test(limits, a_release_never_goes_below_zero)
{
    as_limits l = with_caps(1, 1, 1, 1024);
    as_limits_release(&l, AS_KIND_WATCH, false);
    cr_assert_eq(as_limits_inflight(&l, AS_KIND_WATCH), 0);
    cr_assert(as_limits_admit(&l, AS_KIND_WATCH, false));
    cr_assert_not(as_limits_admit(&l, AS_KIND_WATCH, false));
}

Test(limits, bodies_share_one_budget)
{
    as_limits l = with_caps(0, 0, 0, 100);
    cr_assert(as_limits_reserve_body(&l, 60));
    cr_assert(as_limits_reserve_body(&l, 40));
    cr_assert_not(as_limits_reserve_body(&l, 1));
    cr_assert_eq(l.body_bytes, 100);
    as_limits_release_body(&l, 40);
    cr_assert_not(as_limits_reserve_body(&l, 41));
    cr_assert(as_limits_reserve_body(&l, 40));
    cr_assert(as_limits_reserve_body(&l, 0));
    as_limits_release_body(&l, 1000); /* never below zero */
    cr_assert_eq(l.body_bytes, 0);
}

Test(limits, a_body_bigger_than_the_budget_passes_alone)
{
    as_limits l = with_caps(0, 0, 0, 100);
    cr_assert(as_limits_reserve_body(&l, 500)); /* nothing else held: admitted */
    cr_assert_not(as_limits_reserve_body(&l, 1));
    as_limits_release_body(&l, 500);
    cr_assert(as_limits_reserve_body(&l, 1));
    cr_assert_not(as_limits_reserve_body(&l, 500)); /* not while another body is held */
}

Test(limits, too_many_is_kubes_429)
{
    api_error err = API_ERROR_INIT;
    as_limits_too_many(&err);
    cr_assert_eq(err.code, 429);
    cr_assert_str_eq(err.reason, "TooManyRequests");
    cr_assert_str_eq(err.message, "Too many requests, please try again later.");
    cr_assert_eq(err.retry_after, 1);
    apierr_clear(&err);
}

Test(limits, what_counts_as_a_watch)
{
    const char *foos = "/apis/demo.example.com/v1beta1/foos";
    cr_assert_eq(as_limits_kind(false, true, false, foos, NULL), AS_KIND_READONLY);
    cr_assert_eq(as_limits_kind(false, true, false, foos, "true"), AS_KIND_WATCH);
    cr_assert_eq(as_limits_kind(false, true, false, foos, "True"), AS_KIND_WATCH);
    cr_assert_eq(as_limits_kind(false, true, false, foos, "1"), AS_KIND_WATCH);
    cr_assert_eq(as_limits_kind(false, true, false, foos, "false"), AS_KIND_READONLY);
    cr_assert_eq(as_limits_kind(false, true, false, foos, "yes"), AS_KIND_READONLY);
    cr_assert_eq(as_limits_kind(false, true, true, foos, NULL), AS_KIND_WATCH);
    cr_assert_eq(
        as_limits_kind(false, true, false, "/apis/demo.example.com/v1beta1/watch/foos", NULL),
        AS_KIND_WATCH);
    cr_assert_eq(as_limits_kind(false, true, false, "/api/v1/watch/namespaces", NULL),
                 AS_KIND_WATCH);
    /* "watch" elsewhere in the path is a name, not the deprecated prefix */
    cr_assert_eq(
        as_limits_kind(false, true, false, "/apis/demo.example.com/v1beta1/foos/watch", NULL),
        AS_KIND_READONLY);
    cr_assert_eq(as_limits_kind(false, true, false, "/api/watch", NULL), AS_KIND_READONLY);
    cr_assert_eq(as_limits_kind(false, true, false, "/healthz", NULL), AS_KIND_READONLY);
    cr_assert_eq(as_limits_kind(false, true, false, "/", NULL), AS_KIND_READONLY);
    cr_assert_eq(as_limits_kind(false, true, false, "", NULL), AS_KIND_READONLY);
    /* only a GET watches; writes are mutating whatever they say */
    cr_assert_eq(as_limits_kind(false, false, false, foos, "true"), AS_KIND_READONLY);
    cr_assert_eq(as_limits_kind(true, false, false, foos, "true"), AS_KIND_MUTATING);
}

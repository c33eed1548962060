/*
 * The reflector's protocol against a scripted transport: paging, the 410 ladder, resume from the
 * last resource version, bookmarks, the short-watch guard, stalls, backoff and watch-list.
 * Time is a fake clock; every backoff wait is recorded instead of slept.
 */
#include "fake.h"

#include "common/alloc.h"

#include <criterion/criterion.h>
#ifdef __SANITIZE_ADDRESS__
#include <sanitizer/lsan_interface.h>
#endif
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define PATH "/apis/demo.example.com/v1beta1/foos"

static clk_t *clk;
static fake *fk;
static rec_sink rs;
static inf_reflector *refl;

static void setup(void)
{
    alloc_install_cjson_hooks();
    clk = clk_fake_new(0);
    rs = (rec_sink){0};
}

static void teardown(void)
{
    inf_reflector_free(refl);
    refl = NULL;
    fake_free(fk);
    fk = NULL;
    rec_sink_free(&rs);
    clk_fake_free(clk);
    mk_free_all();
}

TestSuite(reflector, .init = setup, .fini = teardown);

/* Runs the script to its end with options o (NULL = fake_options). */
static void run_with(const fk_step *steps, size_t n, const inf_options *o)
{
    fk = fake_new(steps, n, clk);
    inf_options opt = o ? *o : fake_options(fk, PATH);
    opt.clock = clk;
    opt.wait = fake_wait;
    opt.wait_ctx = fk;
    inf_sink sink = rec_sink_make(&rs);
    inf_transport t = fake_transport(fk);
    refl = inf_reflector_new(&t, &opt, &sink);
    cr_assert_not_null(refl);
    fk->refl = refl;
    inf_reflector_run(refl);
}

static void run(const fk_step *steps, size_t n)
{
    run_with(steps, n, NULL);
}

#define RUN(...)                                                                                   \
    do {                                                                                           \
        fk_step s_[] = {__VA_ARGS__};                                                              \
        run(s_, sizeof s_ / sizeof s_[0]);                                                         \
    } while (0)

static void assert_param(size_t call, const char *name, const char *want)
{
    char *v = query_param(fake_path(fk, call), name);
    if (!want)
        cr_assert_null(v, "call %zu (%s) has %s=%s", call, fake_path(fk, call), name, v);
    else
        cr_assert(v && strcmp(v, want) == 0, "call %zu (%s): %s is %s, want %s", call,
                  fake_path(fk, call), name, v ? v : "(absent)", want);
    free(v);
}

static void assert_log(size_t i, const char *want)
{
    cr_assert(i < rs.n, "sink log has %zu lines, wanted line %zu = %s", rs.n, i, want);
    cr_assert_str_eq(rs.log[i], want);
}

static const char *names_ab[] = {"a", "b"};
static const char *rvs_ab[] = {"5", "7"};
static const char *names_c[] = {"c"};
static const char *rvs_c[] = {"9"};

Test(reflector, first_list_asks_rv0_in_pages_and_follows_continue)
{
    RUN({FK_GET, .body = mk_list("10", "tok+/=", 2, names_ab, rvs_ab)},
        {FK_GET, .body = mk_list("10", NULL, 1, names_c, rvs_c)});
    cr_assert_str_eq(fake_path(fk, 0), PATH "?limit=500&resourceVersion=0");
    cr_assert_str_eq(fake_path(fk, 1), PATH "?limit=500&continue=tok%2B%2F%3D",
                     "the continue token is escaped and replaces resourceVersion");
    assert_log(0, "replace 10 a,b,c");
}

Test(reflector, watches_from_the_list_rv_with_bookmarks_and_a_random_timeout)
{
    RUN({FK_GET, .body = mk_list("10", NULL, 2, names_ab, rvs_ab)},
        {FK_WATCH, .rc = 0, .advance_ms = 300000});
    const char *w = fake_path(fk, 1);
    assert_param(1, "watch", "true");
    assert_param(1, "resourceVersion", "10");
    assert_param(1, "allowWatchBookmarks", "true");
    char *t = query_param(w, "timeoutSeconds");
    cr_assert_not_null(t);
    int secs = atoi(t);
    free(t);
    cr_assert(secs >= 300 && secs <= 600, "timeoutSeconds %d not in [300, 600]", secs);
    cr_assert_eq(fk->idle_ms[1], secs * 1000 + 5000, "idle deadline = timeoutSeconds + 5 s");
}

Test(reflector, timeout_seconds_spread_over_the_range)
{
    /* Many short-lived healthy watches: the drawn timeouts cover the range, not one value. */
    fk_step steps[41] = {{FK_GET, .body = mk_list("10", NULL, 0, NULL, NULL)}};
    for (int i = 1; i < 41; i++)
        steps[i] = (fk_step){FK_WATCH, .rc = 0, .advance_ms = 2000};
    run(steps, 41);
    int lo = 1000, hi = 0;
    for (size_t i = 1; i < 41; i++) {
        char *t = query_param(fake_path(fk, i), "timeoutSeconds");
        int s = atoi(t);
        free(t);
        cr_assert(s >= 300 && s <= 600);
        lo = s < lo ? s : lo;
        hi = s > hi ? s : hi;
    }
    cr_assert(hi - lo > 100, "40 draws should spread (got %d..%d)", lo, hi);
}

Test(reflector, resumes_from_the_last_event_and_bookmark_rv_without_waiting)
{
    char *lines = xasprintf("%s%s%s", mk_event("MODIFIED", "a", "11"), mk_event("ADDED", "d", "12"),
                            mk_bookmark("15", false));
    RUN({FK_GET, .body = mk_list("10", NULL, 2, names_ab, rvs_ab)},
        {FK_WATCH, .lines = lines, .rc = 0, .advance_ms = 60000}, {FK_WATCH, .advance_ms = 60000});
    free(lines);
    assert_param(2, "resourceVersion", "15");
    cr_assert_eq(fk->nwaits, 0, "no wait between watches: %zu", fk->nwaits);
    assert_log(1, "MODIFIED a 11");
    assert_log(2, "ADDED d 12");
    const inf_counters *c = inf_reflector_counters(refl);
    cr_assert_eq(c->bookmarks, 1);
}

Test(reflector, error_event_410_relists_at_the_last_rv_unpaged_after_a_backoff)
{
    char *lines =
        xasprintf("%s%s", mk_event("MODIFIED", "a", "11"), mk_error_event(410, "Expired"));
    RUN({FK_GET, .body = mk_list("10", NULL, 2, names_ab, rvs_ab)},
        {FK_WATCH, .lines = lines, .advance_ms = 10},
        {FK_GET, .body = mk_list("40", NULL, 1, names_c, rvs_c)}, {FK_WATCH, .advance_ms = 5000});
    free(lines);
    cr_assert_str_eq(fake_path(fk, 2), PATH "?resourceVersion=11",
                     "the relist asks for the last RV, unpaged (served from the watch cache)");
    cr_assert_geq(fk->waits[0], 800 * CLK_NS_PER_MS);
    cr_assert_lt(fk->waits[0], 1600 * CLK_NS_PER_MS);
    assert_log(2, "replace 40 c");
    assert_param(3, "resourceVersion", "40");
    cr_assert_eq(inf_reflector_counters(refl)->expired, 1);
}

Test(reflector, relist_refused_with_410_falls_back_to_a_latest_list_at_once)
{
    RUN({FK_GET, .body = mk_list("10", NULL, 2, names_ab, rvs_ab)},
        {FK_WATCH, .lines = mk_error_event(410, "Expired")}, {FK_GET, .code = 410},
        {FK_GET, .body = mk_list("50", NULL, 1, names_c, rvs_c)}, {FK_WATCH, .advance_ms = 5000});
    cr_assert_str_eq(fake_path(fk, 2), PATH "?resourceVersion=10");
    cr_assert_str_eq(fake_path(fk, 3), PATH "?limit=500", "RV \"\": a quorum list, paged");
    cr_assert_eq(fk->nwaits, 1, "one backoff before the relist, none between the two lists");
    assert_log(1, "replace 50 c");
    assert_param(4, "resourceVersion", "50");
}

Test(reflector, relist_refused_as_too_large_rv_falls_back_to_a_latest_list)
{
    RUN({FK_GET, .body = mk_list("10", NULL, 2, names_ab, rvs_ab)},
        {FK_WATCH, .lines = mk_error_event(410, "Expired")},
        {FK_GET, .code = 504, .cause = "ResourceVersionTooLarge",
         .message = "Too large resource version: 10, current: 3"},
        {FK_GET, .body = mk_list("3", NULL, 1, names_c, rvs_c)});
    cr_assert_str_eq(fake_path(fk, 3), PATH "?limit=500");
    assert_log(1, "replace 3 c");
}

Test(reflector, http_410_at_watch_start_relists)
{
    RUN({FK_GET, .body = mk_list("10", NULL, 2, names_ab, rvs_ab)}, {FK_WATCH, .code = 410},
        {FK_GET, .body = mk_list("20", NULL, 1, names_c, rvs_c)});
    cr_assert_str_eq(fake_path(fk, 2), PATH "?resourceVersion=10");
    assert_log(1, "replace 20 c");
}

Test(reflector, expired_continue_token_restarts_as_one_unpaged_list)
{
    RUN({FK_GET, .body = mk_list("10", "t1", 2, names_ab, rvs_ab)}, {FK_GET, .code = 410},
        {FK_GET, .body = mk_list("30", NULL, 1, names_c, rvs_c)});
    cr_assert_str_eq(fake_path(fk, 2), PATH "?resourceVersion=0");
    assert_log(0, "replace 30 c");
}

Test(reflector, pages_from_different_snapshots_are_listed_again_in_one_page)
{
    RUN({FK_GET, .body = mk_list("10", "t1", 2, names_ab, rvs_ab)},
        {FK_GET, .body = mk_list("14", NULL, 1, names_c, rvs_c)},
        {FK_GET, .body = mk_list("15", NULL, 1, names_c, rvs_c)});
    cr_assert_str_eq(fake_path(fk, 2), PATH "?resourceVersion=0");
    assert_log(0, "replace 15 c");
}

Test(reflector, relists_stay_paged_once_the_server_paged)
{
    RUN({FK_GET, .body = mk_list("10", "t1", 2, names_ab, rvs_ab)},
        {FK_GET, .body = mk_list("10", NULL, 1, names_c, rvs_c)},
        {FK_WATCH, .lines = mk_error_event(410, "Expired")},
        {FK_GET, .body = mk_list("20", NULL, 1, names_c, rvs_c)});
    cr_assert_str_eq(fake_path(fk, 3), PATH "?limit=500&resourceVersion=10");
}

Test(reflector, short_watch_counts_as_error_backs_off_and_relists)
{
    RUN({FK_GET, .body = mk_list("10", NULL, 2, names_ab, rvs_ab)},
        {FK_WATCH, .rc = 0, .advance_ms = 200},
        {FK_GET, .body = mk_list("10", NULL, 2, names_ab, rvs_ab)});
    cr_assert_eq(inf_reflector_counters(refl)->short_watches, 1);
    cr_assert_geq(fk->waits[0], 800 * CLK_NS_PER_MS, "a backoff wait follows the short watch");
    cr_assert_str_eq(fake_path(fk, 2), PATH "?resourceVersion=10");
}

Test(reflector, empty_watch_longer_than_a_second_is_resumed_at_once)
{
    RUN({FK_GET, .body = mk_list("10", NULL, 2, names_ab, rvs_ab)},
        {FK_WATCH, .rc = 0, .advance_ms = 1000}, {FK_WATCH, .rc = 0, .advance_ms = 1500});
    cr_assert_eq(inf_reflector_counters(refl)->short_watches, 0);
    cr_assert_eq(fk->nwaits, 0, "no wait between the watches");
    assert_param(2, "resourceVersion", "10");
}

Test(reflector, short_watch_with_events_is_not_an_error)
{
    RUN({FK_GET, .body = mk_list("10", NULL, 2, names_ab, rvs_ab)},
        {FK_WATCH, .lines = mk_event("MODIFIED", "a", "11"), .rc = 0, .advance_ms = 10},
        {FK_WATCH, .rc = 0, .advance_ms = 5000});
    cr_assert_eq(inf_reflector_counters(refl)->short_watches, 0);
    assert_param(2, "resourceVersion", "11");
}

Test(reflector, refused_watch_start_backs_off_and_watches_again_without_relisting)
{
    RUN({FK_GET, .body = mk_list("10", NULL, 2, names_ab, rvs_ab)},
        {FK_WATCH, .code = FK_TRANSPORT}, {FK_WATCH, .code = 503}, {FK_WATCH, .code = 429},
        {FK_WATCH, .rc = 0, .advance_ms = 5000});
    for (size_t i = 1; i <= 4; i++) {
        assert_param(i, "watch", "true");
        assert_param(i, "resourceVersion", "10");
    }
    cr_assert_eq(fk->nwaits, 3, "three backoffs");
    /* The waits grow: base 0.8, 1.6, 3.2 s, each jittered by up to 100%. */
    uint64_t base = 800 * CLK_NS_PER_MS;
    for (size_t i = 0; i < 3; i++, base *= 2) {
        cr_assert_geq(fk->waits[i], base);
        cr_assert_lt(fk->waits[i], 2 * base);
    }
}

Test(reflector, idle_deadline_reconnects_from_the_last_rv_without_backoff)
{
    RUN({FK_GET, .body = mk_list("10", NULL, 2, names_ab, rvs_ab)},
        {FK_WATCH, .lines = mk_event("MODIFIED", "b", "13"), .rc = -ETIMEDOUT,
         .advance_ms = 605000},
        {FK_WATCH, .rc = 0, .advance_ms = 5000});
    cr_assert_eq(inf_reflector_counters(refl)->stall_reconnects, 1);
    cr_assert_eq(fk->nwaits, 0);
    assert_param(2, "resourceVersion", "13");
}

Test(reflector, stream_dropped_after_events_resumes_at_once)
{
    RUN({FK_GET, .body = mk_list("10", NULL, 2, names_ab, rvs_ab)},
        {FK_WATCH, .lines = mk_event("DELETED", "a", "14"), .rc = -ECONNRESET, .advance_ms = 10},
        {FK_WATCH, .rc = 0, .advance_ms = 5000});
    cr_assert_eq(fk->nwaits, 0);
    assert_param(2, "resourceVersion", "14");
    assert_log(1, "DELETED a 14");
}

Test(reflector, malformed_event_backs_off_and_relists)
{
    RUN({FK_GET, .body = mk_list("10", NULL, 2, names_ab, rvs_ab)},
        {FK_WATCH, .lines = "{\"type\":\"ADDED\",\"object\":{\"metadata\":{}}}\n"},
        {FK_GET, .body = mk_list("10", NULL, 2, names_ab, rvs_ab)});
    cr_assert_eq(inf_reflector_counters(refl)->errors, 1);
    cr_assert_eq(fk->nwaits, 1);
    cr_assert_str_eq(fake_path(fk, 2), PATH "?resourceVersion=10");
}

/* A watch event over the client's size limit (-EMSGSIZE) cannot be read past: resuming would hit
   it again at once, so it is handled like a malformed event (issue 6 item 7). */
Test(reflector, oversized_watch_event_backs_off_and_relists)
{
    RUN({FK_GET, .body = mk_list("10", NULL, 2, names_ab, rvs_ab)},
        {FK_WATCH, .lines = mk_event("DELETED", "a", "14"), .rc = -EMSGSIZE},
        {FK_GET, .body = mk_list("14", NULL, 1, names_ab + 1, rvs_ab + 1)});
    cr_assert_eq(inf_reflector_counters(refl)->errors, 1);
    cr_assert_eq(fk->nwaits, 1, "a backoff before the relist");
    cr_assert_str_eq(fake_path(fk, 2), PATH "?resourceVersion=14");
}

Test(reflector, failing_lists_back_off_exponentially_up_to_the_cap)
{
    fk_step steps[12];
    for (int i = 0; i < 12; i++)
        steps[i] = (fk_step){FK_GET, .code = FK_TRANSPORT};
    inf_options o = inf_options_defaults();
    o.path = PATH;
    o.seed = 7;
    o.watch_list = false;
    o.backoff_jitter = 0; /* exact values; jitter has its own test */
    run_with(steps, 12, &o);
    uint64_t want_ms[] = {800, 1600, 3200, 6400, 12800, 25600, 30000, 30000, 30000};
    for (size_t i = 0; i < sizeof want_ms / sizeof want_ms[0]; i++)
        cr_assert_eq(fk->waits[i], want_ms[i] * CLK_NS_PER_MS, "wait %zu = %llu ms", i,
                     (unsigned long long)(fk->waits[i] / CLK_NS_PER_MS));
}

Test(reflector, backoff_restarts_after_two_minutes_of_healthy_watching)
{
    inf_options o = inf_options_defaults();
    o.path = PATH;
    o.seed = 7;
    o.watch_list = false;
    o.backoff_jitter = 0;
    fk_step steps[] = {
        {FK_GET, .code = FK_TRANSPORT},
        {FK_GET, .code = FK_TRANSPORT},
        {FK_GET, .code = FK_TRANSPORT},
        {FK_GET, .body = mk_list("10", NULL, 2, names_ab, rvs_ab)},
        {FK_WATCH, .lines = mk_bookmark("11", false), .rc = 0, .advance_ms = 121000},
        {FK_WATCH, .code = FK_TRANSPORT},
    };
    run_with(steps, sizeof steps / sizeof steps[0], &o);
    cr_assert_eq(fk->waits[0], 800 * CLK_NS_PER_MS);
    cr_assert_eq(fk->waits[1], 1600 * CLK_NS_PER_MS);
    cr_assert_eq(fk->waits[2], 3200 * CLK_NS_PER_MS);
    cr_assert_eq(fk->waits[3], 800 * CLK_NS_PER_MS, "healthy > 2 min: back to 800 ms");
}

/* ---- watch-list ---- */

static inf_options wl_options(void)
{
    inf_options o = inf_options_defaults();
    o.path = PATH;
    o.seed = 3;
    o.watch_list = true;
    return o;
}

Test(reflector, watch_list_replaces_the_store_at_the_initial_events_end_bookmark)
{
    char *lines = xasprintf("%s%s%s%s", mk_event("ADDED", "b", "7"), mk_event("ADDED", "a", "5"),
                            mk_bookmark("20", true), mk_event("MODIFIED", "a", "21"));
    inf_options o = wl_options();
    fk_step steps[] = {{FK_WATCH, .lines = lines, .rc = 0, .advance_ms = 300000},
                       {FK_WATCH, .rc = 0, .advance_ms = 300000}};
    run_with(steps, 2, &o);
    free(lines);
    assert_param(0, "watch", "true");
    assert_param(0, "sendInitialEvents", "true");
    assert_param(0, "resourceVersionMatch", "NotOlderThan");
    assert_param(0, "allowWatchBookmarks", "true");
    assert_param(0, "resourceVersion", "");
    assert_log(0, "replace 20 a,b");
    assert_log(1, "MODIFIED a 21");
    assert_param(1, "resourceVersion", "21");
    assert_param(1, "sendInitialEvents", NULL);
}

Test(reflector, watch_list_rejected_with_4xx_falls_back_to_list_for_good)
{
    inf_options o = wl_options();
    fk_step steps[] = {
        {FK_WATCH, .code = 422},
        {FK_GET, .body = mk_list("10", NULL, 2, names_ab, rvs_ab)},
        {FK_WATCH, .lines = mk_error_event(410, "Expired")},
        {FK_GET, .body = mk_list("20", NULL, 1, names_c, rvs_c)},
    };
    run_with(steps, sizeof steps / sizeof steps[0], &o);
    cr_assert_str_eq(fake_path(fk, 1), PATH "?limit=500&resourceVersion=0");
    assert_param(2, "sendInitialEvents", NULL);
    cr_assert_str_eq(fake_path(fk, 3), PATH "?resourceVersion=10",
                     "after the 410 the relist is a LIST again, not a watch-list");
    cr_assert_eq(inf_reflector_counters(refl)->watch_list_fallbacks, 1);
}

Test(reflector, watch_list_ending_without_the_bookmark_falls_back_to_list)
{
    inf_options o = wl_options();
    fk_step steps[] = {
        {FK_WATCH, .lines = mk_event("ADDED", "a", "5"), .rc = 0, .advance_ms = 2000},
        {FK_GET, .body = mk_list("10", NULL, 2, names_ab, rvs_ab)},
        {FK_WATCH, .rc = 0, .advance_ms = 5000},
    };
    run_with(steps, sizeof steps / sizeof steps[0], &o);
    assert_log(0, "replace 10 a,b");
    assert_param(2, "sendInitialEvents", NULL);
}

Test(reflector, watch_list_after_expiry_retries_from_latest)
{
    char *snap1 = xasprintf("%s%s", mk_event("ADDED", "a", "5"), mk_bookmark("10", true));
    char *snap2 = xasprintf("%s%s", mk_event("ADDED", "c", "9"), mk_bookmark("30", true));
    inf_options o = wl_options();
    fk_step steps[] = {
        {FK_WATCH, .lines = snap1, .rc = 0, .advance_ms = 5000},
        {FK_WATCH, .lines = mk_error_event(410, "Expired")},
        {FK_WATCH, .code = 410},
        {FK_WATCH, .lines = snap2, .rc = 0, .advance_ms = 5000},
    };
    run_with(steps, sizeof steps / sizeof steps[0], &o);
    free(snap1);
    free(snap2);
    assert_param(1, "resourceVersion", "10");
    assert_param(1, "sendInitialEvents", NULL);
    assert_param(2, "sendInitialEvents", "true");
    assert_param(2, "resourceVersion", "10");
    assert_param(3, "sendInitialEvents", "true");
    assert_param(3, "resourceVersion", "");
    assert_log(1, "replace 30 c");
}

Test(reflector, selectors_are_escaped_into_every_request)
{
    inf_options o = inf_options_defaults();
    o.path = PATH;
    o.seed = 1;
    o.watch_list = false;
    o.label_selector = "app=x,tier!=db";
    o.field_selector = "metadata.name=a";
    fk_step steps[] = {{FK_GET, .body = mk_list("10", NULL, 0, NULL, NULL)}, {FK_WATCH, .rc = 0}};
    run_with(steps, 2, &o);
    assert_param(0, "labelSelector", "app%3Dx%2Ctier%21%3Ddb");
    assert_param(0, "fieldSelector", "metadata.name%3Da");
    assert_param(1, "labelSelector", "app%3Dx%2Ctier%21%3Ddb");
}

Test(reflector, thousand_list_watch_cycles_leave_nothing_behind)
{
    /* Under ASan (LeakSanitizer) this checks that no cycle leaks objects, pages or paths. */
    fk = fake_new(NULL, 0, clk);
    for (int i = 0; i < 1000; i++) {
        fake_push(fk, (fk_step){FK_GET, .body = mk_list("10", "t", 2, names_ab, rvs_ab)});
        fake_push(fk, (fk_step){FK_GET, .body = mk_list("10", NULL, 1, names_c, rvs_c)});
        fake_push(fk, (fk_step){FK_WATCH, .lines = mk_event("MODIFIED", "a", "12"), .rc = 0,
                                .advance_ms = 2000});
        fake_push(fk, (fk_step){FK_WATCH, .lines = mk_error_event(410, "Expired")});
    }
    inf_options o = fake_options(fk, PATH);
    inf_sink sink = rec_sink_make(&rs);
    inf_transport t = fake_transport(fk);
    refl = inf_reflector_new(&t, &o, &sink);
    fk->refl = refl;
    inf_reflector_run(refl);
    cr_assert_eq(inf_reflector_counters(refl)->expired, 1000);
    cr_assert_eq(fk->next, fk->nsteps, "the whole script ran");
    inf_reflector_free(refl);
    refl = NULL;
    rec_sink_free(&rs);
#ifdef __SANITIZE_ADDRESS__
    cr_assert_eq(__lsan_do_recoverable_leak_check(), 0, "LeakSanitizer found leaks");
#endif
}

Test(reflector, list_without_a_resource_version_is_an_error)
{
    RUN({FK_GET, .body = "{\"kind\":\"FooList\",\"metadata\":{},\"items\":[]}"},
        {FK_GET, .body = "not json"}, {FK_GET, .body = mk_list("10", NULL, 2, names_ab, rvs_ab)});
    cr_assert_eq(inf_reflector_counters(refl)->errors, 2);
    cr_assert_eq(fk->nwaits, 2);
    assert_log(0, "replace 10 a,b");
}

/*
 * The shared informer over a scripted transport: what handlers see (order, add/update/delete
 * consistency, final_state_unknown after a gap), has_synced, resync, stats, stop and the factory.
 * Each script ends with a watch that stays open until inf_stop() cancels it.
 */
#include "fake.h"

#include "common/alloc.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PATH "/apis/demo.example.com/v1beta1/foos"

static clk_t *clk;
static fake *fk;
static inf_informer *inf;
static char hlog[8192];

static void setup(void)
{
    alloc_install_cjson_hooks();
    clk = clk_fake_new(0);
    hlog[0] = '\0';
}

static void teardown(void)
{
    inf_informer_free(inf);
    inf = NULL;
    fake_free(fk);
    fk = NULL;
    clk_fake_free(clk);
    mk_free_all();
}

TestSuite(informer, .init = setup, .fini = teardown);

static void logf_(const char *fmt, const char *a, const char *b, const char *c)
{
    char line[256];
    snprintf(line, sizeof line, fmt, a, b, c);
    strncat(hlog, line, sizeof hlog - strlen(hlog) - 1);
}

static void on_add(void *ctx, const inf_obj *o)
{
    (void)ctx;
    logf_("add %s@%s;", inf_obj_key(o), inf_obj_resource_version(o), "");
}

static void on_update(void *ctx, const inf_obj *old, const inf_obj *o)
{
    (void)ctx;
    logf_("update %s@%s->%s;", inf_obj_key(o), inf_obj_resource_version(old),
          inf_obj_resource_version(o));
}

static void on_delete(void *ctx, const inf_obj *o, bool unknown)
{
    (void)ctx;
    logf_("delete %s@%s%s;", inf_obj_key(o), inf_obj_resource_version(o),
          unknown ? " unknown" : "");
}

static const inf_handlers recorder = {on_add, on_update, on_delete, NULL};

/* Builds the informer on the script, registers the recorder and starts it. */
static void start(const fk_step *steps, size_t n, inf_options *o)
{
    fk = fake_new(steps, n, clk);
    fk->block_last_watch = true;
    inf_options opt = o ? *o : fake_options(fk, PATH);
    opt.clock = clk;
    opt.wait = fake_wait;
    opt.wait_ctx = fk;
    inf_transport t = fake_transport(fk);
    api_error err = API_ERROR_INIT;
    inf = inf_informer_new_transport(&t, &opt, &err);
    cr_assert_not_null(inf, "%s", err.message ? err.message : "");
    cr_assert_eq(inf_add_handlers(inf, &recorder), 0);
    cr_assert_not(inf_has_synced(inf));
    cr_assert_eq(inf_start(inf), 0);
}

/* Waits (yielding, bounded by 10 s of real time) until the script's final watch is open. */
static void wait_script_done(void)
{
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    while (!atomic_load(&fk->in_blocking_watch)) {
        clock_gettime(CLOCK_MONOTONIC, &t);
        cr_assert_lt(t.tv_sec - t0.tv_sec, 10, "the script did not reach its final watch");
        sched_yield();
    }
}

static void finish(void)
{
    wait_script_done();
    inf_stop(inf); /* joins: everything the thread did is visible now */
}

#define START(...)                                                                                 \
    do {                                                                                           \
        fk_step s_[] = {__VA_ARGS__};                                                              \
        start(s_, sizeof s_ / sizeof s_[0], NULL);                                                 \
    } while (0)

static const char *names_ab[] = {"a", "b"};
static const char *rvs_ab[] = {"5", "7"};

Test(informer, handlers_see_adds_updates_and_deletes_in_event_order)
{
    char *lines =
        xasprintf("%s%s%s%s%s%s", mk_event("MODIFIED", "a", "11"), mk_event("ADDED", "d", "12"),
                  mk_event("DELETED", "b", "13"), mk_event("ADDED", "a", "14"),
                  mk_event("DELETED", "zz", "15"), mk_event("MODIFIED", "e", "16"));
    START({FK_GET, .body = mk_list("10", NULL, 2, names_ab, rvs_ab)},
          {FK_WATCH, .lines = lines, .rc = 0, .advance_ms = 5000}, {FK_WATCH, .rc = 0});
    finish();
    free(lines);
    cr_assert_str_eq(hlog,
                     "add a@5;add b@7;update a@5->11;add d@12;delete b@13;"
                     "update a@11->14;add e@16;",
                     "an ADDED for a known key is an update, a DELETED for an unknown key is "
                     "dropped, a MODIFIED for an unknown key is an add");
    inf_obj **objs;
    size_t n = inf_store_list(inf_informer_store(inf), &objs);
    cr_assert_eq(n, 3);
    inf_objs_free(objs, n);
}

Test(informer, relist_after_a_gap_reports_vanished_objects_as_final_state_unknown)
{
    const char *names[] = {"a", "c"}, *rvs[] = {"20", "21"};
    START({FK_GET, .body = mk_list("10", NULL, 2, names_ab, rvs_ab)},
          {FK_WATCH, .lines = mk_error_event(410, "Expired")},
          {FK_GET, .body = mk_list("30", NULL, 2, names, rvs)}, {FK_WATCH, .rc = 0});
    finish();
    cr_assert_str_eq(hlog, "add a@5;add b@7;update a@5->20;add c@21;delete b@7 unknown;");
    inf_stats st;
    inf_get_stats(inf, &st);
    cr_assert_eq(st.relists, 1);
    cr_assert_eq(st.expired, 1);
    cr_assert_eq(st.store_count, 2);
    inf_obj *b = inf_store_get(inf_informer_store(inf), "b");
    cr_assert_null(b);
}

Test(informer, has_synced_only_after_the_first_full_list)
{
    START({FK_GET, .code = FK_TRANSPORT}, {FK_GET, .code = 503},
          {FK_GET, .body = mk_list("10", NULL, 2, names_ab, rvs_ab)},
          {FK_WATCH, .lines = mk_bookmark("12", false), .rc = 0, .advance_ms = 3000},
          {FK_WATCH, .rc = 0});
    wait_script_done();
    cr_assert(inf_has_synced(inf));
    cr_assert(inf_wait_for_sync(inf, 0));
    char *rv = inf_last_resource_version(inf);
    cr_assert_str_eq(rv, "12", "bookmarks advance the resource version");
    free(rv);
    inf_stop(inf);
    inf_stats st;
    inf_get_stats(inf, &st);
    cr_assert_eq(st.errors, 2);
    cr_assert_eq(st.lists, 3);
    cr_assert_eq(fk->nwaits, 2);
}

Test(informer, resync_redelivers_every_object_as_an_update)
{
    fk = NULL;
    inf_options o = inf_options_defaults();
    o.path = PATH;
    o.seed = 5;
    o.watch_list = false;
    o.resync_ms = 60000;
    fk_step steps[] = {
        {FK_GET, .body = mk_list("10", NULL, 2, names_ab, rvs_ab)},
        {FK_WATCH, .rc = 0, .advance_ms = 60000},
        {FK_WATCH, .rc = 0},
    };
    start(steps, 3, &o);
    finish();
    cr_assert_str_eq(hlog, "add a@5;add b@7;update a@5->5;update b@7->7;", "got %s", hlog);
    char *t = query_param(fake_path(fk, 1), "timeoutSeconds");
    cr_assert_eq(atoi(t), 60, "the watch ends by the next resync");
    free(t);
    inf_stats st;
    inf_get_stats(inf, &st);
    cr_assert_eq(st.resyncs, 1);
}

Test(informer, watch_list_snapshot_feeds_the_handlers)
{
    char *lines = xasprintf("%s%s%s%s", mk_event("ADDED", "a", "5"), mk_event("ADDED", "b", "7"),
                            mk_bookmark("9", true), mk_event("DELETED", "a", "10"));
    inf_options o = inf_options_defaults();
    o.path = PATH;
    o.seed = 5;
    fk_step steps[] = {{FK_WATCH, .lines = lines, .rc = 0, .advance_ms = 5000},
                       {FK_WATCH, .rc = 0}};
    start(steps, 2, &o);
    finish();
    free(lines);
    cr_assert_str_eq(hlog, "add a@5;add b@7;delete a@10;");
    inf_stats st;
    inf_get_stats(inf, &st);
    cr_assert_eq(st.watch_lists, 1);
    cr_assert_eq(st.lists, 0);
}

Test(informer, stats_count_events_and_store_bytes)
{
    char *lines =
        xasprintf("%s%s", mk_event("MODIFIED", "a", "11"), mk_event("DELETED", "b", "12"));
    START({FK_GET, .body = mk_list("10", NULL, 2, names_ab, rvs_ab)},
          {FK_WATCH, .lines = lines, .rc = 0, .advance_ms = 5000}, {FK_WATCH, .rc = 0});
    finish();
    free(lines);
    inf_stats st;
    inf_get_stats(inf, &st);
    cr_assert_eq(st.events_modified, 1);
    cr_assert_eq(st.events_deleted, 1);
    cr_assert_eq(st.dispatched, 4);
    cr_assert_eq(st.store_count, 1);
    inf_obj *a = inf_store_get(inf_informer_store(inf), "a");
    cr_assert_eq(st.store_bytes, inf_obj_size(a));
    inf_obj_unref(a);
    cr_assert_geq(st.elapsed_ns, 5000 * CLK_NS_PER_MS);
}

Test(informer, stop_cancels_an_open_watch_and_joins)
{
    START({FK_GET, .body = mk_list("10", NULL, 2, names_ab, rvs_ab)}, {FK_WATCH, .rc = 0});
    finish(); /* would hang (and trip the test's timeout) if the cancel were not seen */
    cr_assert(inf_has_synced(inf));
    inf_stop(inf); /* idempotent */
}

Test(informer, handlers_cannot_be_added_after_start)
{
    START({FK_GET, .body = mk_list("10", NULL, 0, NULL, NULL)}, {FK_WATCH, .rc = 0});
    cr_assert_eq(inf_add_handlers(inf, &recorder), -EBUSY);
    cr_assert_eq(inf_start(inf), -EALREADY);
    finish();
}

Test(informer, rejects_bad_options)
{
    inf_options o = inf_options_defaults();
    inf_transport t = {0};
    api_error err = API_ERROR_INIT;
    cr_assert_null(inf_informer_new_transport(&t, &o, &err));
    cr_assert_eq(err.code, 400);
    cr_assert_str_eq(err.reason, "BadRequest");
    cr_assert_str_eq(err.message, "informer: options need an absolute collection path");
    apierr_clear(&err);
    o.path = PATH;
    o.resync_ms = 10;
    cr_assert_null(inf_informer_new_transport(&t, &o, &err));
    cr_assert_eq(err.code, 400);
    cr_assert_not_null(err.message);
    apierr_clear(&err);
    cr_assert_null(inf_informer_new_transport(&t, &o, NULL), "err may be NULL");
}

Test(informer, factory_shares_one_informer_per_path_and_selectors)
{
    inf_factory *f = inf_factory_new(NULL, NULL);
    api_error err = API_ERROR_INIT;
    inf_informer *a = inf_factory_informer(f, PATH, NULL, NULL, &err);
    inf_informer *b = inf_factory_informer(f, PATH, "", NULL, &err);
    inf_informer *c = inf_factory_informer(f, PATH, "app=x", NULL, &err);
    inf_informer *d = inf_factory_informer(f, "/apis/apps/v1/deployments", NULL, NULL, &err);
    cr_assert_not_null(a);
    cr_assert_eq(a, b, "no selector and an empty selector are the same informer");
    cr_assert_neq(a, c);
    cr_assert_neq(a, d);
    cr_assert_null(inf_factory_informer(f, "relative", NULL, NULL, &err));
    cr_assert_eq(err.code, 400);
    apierr_clear(&err);
    inf_factory_free(f);
}

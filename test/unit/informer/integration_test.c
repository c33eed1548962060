/*
 * The informer against the real standalone foo-apiserver (started per test by the client
 * tests' server fixture, from the build directory): in sync under concurrent writers, across a
 * kill -9 and restart of the server, and relisting after a watch from an expired
 * resourceVersion. Waits are for the real server's answers, bounded; timings are not asserted.
 * Every scenario runs over both watch transports (chunked HTTP and WebSocket): a parameter of
 * one body, each pair named <scenario>_http and <scenario>_websocket.
 */
#include "itest.h"

#include "common/alloc.h"
#include "common/clock.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define SYNC_TIMEOUT_MS 30000

static itest t;
static inf_informer *inf;

static void setup(void)
{
    alloc_install_cjson_hooks();
}

static void teardown(void)
{
    inf_informer_free(inf);
    inf = NULL;
    it_stop(&t);
}

TestSuite(informer_live, .init = setup, .fini = teardown, .timeout = 180);

static void start_server(const char *const *args)
{
    char *why = NULL;
    cr_assert_eq(it_start(&t, args, &why), 0, "%s", why ? why : "");
}

/* One Test per watch transport, running the same scenario function. */
#define OVER_BOTH_TRANSPORTS(scenario)                                                             \
    Test(informer_live, scenario##_http)                                                           \
    {                                                                                              \
        scenario(IT_HTTP);                                                                         \
    }                                                                                              \
    Test(informer_live, scenario##_websocket)                                                      \
    {                                                                                              \
        scenario(IT_WEBSOCKET);                                                                    \
    }

static void start_informer(inf_options *o, it_transport_kind kind)
{
    api_error err = API_ERROR_INIT;
    inf_transport tr = it_transport(&t, kind);
    inf = inf_informer_new_transport(&tr, o, &err);
    cr_assert_not_null(inf, "%s", err.message ? err.message : "");
    inf_handlers h = it_handlers(&t);
    cr_assert_eq(inf_add_handlers(inf, &h), 0);
    cr_assert_eq(inf_start(inf), 0);
    cr_assert(inf_wait_for_sync(inf, SYNC_TIMEOUT_MS), "the informer did not sync");
}

static void assert_in_sync(void)
{
    char *why = NULL;
    int rc = it_check_in_sync(&t, inf, SYNC_TIMEOUT_MS, &why);
    cr_assert_eq(rc, 0, "%s", why ? why : "");
}

static void run_writers(void (*midway)(itest *))
{
    char *why = NULL;
    int rc = it_run_writers(&t, "w", 4, 500, midway, &why);
    cr_assert_eq(rc, 0, "writers: %s", why ? why : "");
}

static void stays_in_sync_with_list_under_four_writers_watch_list(it_transport_kind kind)
{
    start_server(NULL);
    inf_options o = it_informer_options();
    start_informer(&o, kind);
    run_writers(NULL);
    assert_in_sync();
    inf_stats st;
    inf_get_stats(inf, &st);
    cr_assert_eq(st.watch_lists, 1, "our server supports watch-list: no fallback");
    cr_assert_eq(st.lists, 0);
    cr_assert_eq(st.relists, 0);
    cr_assert_eq(st.events_added, 2000);
    cr_assert_eq(st.events_deleted, 500);
    cr_assert_eq(t.adds, 2000);
    cr_assert_eq(t.deletes, 500);
    cr_assert_eq(st.store_count, 1500);
}

static void stays_in_sync_with_list_under_four_writers_list_and_watch(it_transport_kind kind)
{
    start_server(NULL);
    for (int i = 0; i < 700; i++) { /* more than one page for the first LIST */
        char name[32];
        snprintf(name, sizeof name, "pre-%03d", i);
        cr_assert_eq(it_create(&t, name), 0);
    }
    inf_options o = it_informer_options();
    o.watch_list = false;
    start_informer(&o, kind);
    run_writers(NULL);
    assert_in_sync();
    inf_stats st;
    inf_get_stats(inf, &st);
    cr_assert_eq(st.lists, 2, "two pages of 500");
    cr_assert_eq(st.store_count, 2200);
}

static void
recovers_from_a_server_kill_and_restart_without_loss_or_duplicates(it_transport_kind kind)
{
    start_server(NULL);
    inf_options o = it_informer_options();
    start_informer(&o, kind);
    run_writers(it_kill_and_restart);
    assert_in_sync();
    inf_stats st;
    inf_get_stats(inf, &st);
    cr_assert_gt(st.watches, 1, "the watch was re-established after the restart");
    cr_assert_eq(st.store_count, 1500);
}

/* ---- expired resourceVersion ---- */

/* A transport whose watches wait at a gate the test can close: the informer falls behind. */
typedef struct gate {
    inf_transport inner;
    pthread_mutex_t mu;
    pthread_cond_t cond;
    bool closed, waiting;
} gate;

static int gate_get(void *ctx, const char *path, char **body, size_t *len, api_error *err)
{
    gate *g = ctx;
    return g->inner.get(g->inner.ctx, path, body, len, err);
}

static int gate_watch(void *ctx, const char *path, int idle_ms, kc_watch_fn fn, void *fn_ctx,
                      atomic_bool *cancel, api_error *err)
{
    gate *g = ctx;
    pthread_mutex_lock(&g->mu);
    while (g->closed && !atomic_load(cancel)) {
        g->waiting = true;
        pthread_cond_broadcast(&g->cond);
        /* re-check the cancel flag every 50 ms, as kc_watch does */
        struct timespec ts = clk_mono_deadline(50 * CLK_NS_PER_MS);
        pthread_cond_timedwait(&g->cond, &g->mu, &ts);
    }
    g->waiting = false;
    pthread_mutex_unlock(&g->mu);
    return g->inner.watch(g->inner.ctx, path, idle_ms, fn, fn_ctx, cancel, err);
}

static void watch_from_an_expired_resource_version_relists(it_transport_kind kind)
{
    const char *args[] = {"--watch-cache-min-events", "5", "--watch-cache-min-age-seconds", "0",
                          NULL};
    start_server(args);
    static gate g;
    g = (gate){.inner = it_transport(&t, kind)};
    pthread_mutex_init(&g.mu, NULL);
    cr_assert_eq(clk_mono_cond_init(&g.cond), 0);
    inf_transport tr = {.get = gate_get, .watch = gate_watch, .ctx = &g};
    inf_options o = it_informer_options();
    o.watch_list = false;
    o.watch_timeout_min_s = o.watch_timeout_max_s = 1; /* watches end often: easy to hold back */
    api_error err = API_ERROR_INIT;
    inf = inf_informer_new_transport(&tr, &o, &err);
    cr_assert_not_null(inf, "%s", err.message ? err.message : "");
    inf_handlers h = it_handlers(&t);
    inf_add_handlers(inf, &h);
    cr_assert_eq(inf_start(inf), 0);
    cr_assert(inf_wait_for_sync(inf, SYNC_TIMEOUT_MS));
    for (int i = 0; i < 5; i++) {
        char name[32];
        snprintf(name, sizeof name, "before-%d", i);
        cr_assert_eq(it_create(&t, name), 0);
    }
    assert_in_sync();

    pthread_mutex_lock(&g.mu); /* hold the informer's next watch back */
    g.closed = true;
    while (!g.waiting)
        pthread_cond_wait(&g.cond, &g.mu);
    pthread_mutex_unlock(&g.mu);
    for (int i = 0; i < 50; i++) {
        char name[32];
        snprintf(name, sizeof name, "gap-%02d", i);
        cr_assert_eq(it_create(&t, name), 0);
    }
    pthread_mutex_lock(&g.mu);
    g.closed = false;
    pthread_cond_broadcast(&g.cond);
    pthread_mutex_unlock(&g.mu);

    assert_in_sync();
    inf_stats st;
    inf_get_stats(inf, &st);
    cr_assert_geq(st.expired, 1, "the resumed watch was answered 410");
    cr_assert_geq(st.relists, 1, "and the informer listed again");
    cr_assert_eq(st.store_count, 55);
    inf_stop(inf);
    pthread_cond_destroy(&g.cond);
    pthread_mutex_destroy(&g.mu);
}

OVER_BOTH_TRANSPORTS(stays_in_sync_with_list_under_four_writers_watch_list)
OVER_BOTH_TRANSPORTS(stays_in_sync_with_list_under_four_writers_list_and_watch)
OVER_BOTH_TRANSPORTS(recovers_from_a_server_kill_and_restart_without_loss_or_duplicates)
OVER_BOTH_TRANSPORTS(watch_from_an_expired_resource_version_relists)

/*
 * persist_test.c - what survives close/reopen (data, revision, history), st_load, and the
 * closing protocol of a store, on either backend (harness.h).
 */
#include "harness.h"

#include "common/alloc.h"

#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

TestSuite(storage_persist, .init = h_setup, .fini = h_teardown, .timeout = 60);

Test(storage_persist, data_and_revision_survive_reopen)
{
    st_store *s = h_open();
    st_submit(s, h_write(ST_CREATE, "/foos/a", "{\"spec\":{\"v\":\"a\"}}", 0));
    st_submit(s, h_write(ST_CREATE, "/foos/b", "{}", 0));
    st_submit(s, h_write(ST_UPDATE, "/foos/a", "{\"spec\":{\"v\":\"a2\"}}", h_rev(1)));
    st_submit(s, h_write(ST_DELETE, "/foos/b", NULL, 0));
    st_close(s);

    s = h_open();
    cr_assert_eq(st_current_rev(s), h_rev(4));
    h_kvs kvs;
    cr_assert_eq(h_load(s, "", &kvs), h_rev(4));
    cr_assert_eq(kvs.n, 1);
    cr_assert_str_eq(kvs.kv[0].key, "/foos/a");
    cr_assert_eq(kvs.kv[0].mod_rev, h_rev(3));
    char *want =
        xasprintf("{\"spec\":{\"v\":\"a2\"},\"metadata\":{\"resourceVersion\":\"%s\"}}", h_rvs(3));
    cr_assert_str_eq(kvs.kv[0].value, want);
    free(want);
    h_kvs_free(&kvs);

    /* The global revision continues, even though the key of revision 4 is gone. */
    st_submit(s, h_write(ST_CREATE, "/foos/c", "{}", 0));
    st_close(s);
    cr_assert_eq(h_done(4)->rev, h_rev(5));
}

Test(storage_persist, load_visits_keys_with_the_prefix_in_key_order)
{
    st_store *s = h_open();
    const char *keys[] = {"/x/b", "/y/a", "/x/a", "/x", "/w/z", "/x/a/1"};
    for (int i = 0; i < 6; i++)
        st_submit(s, h_write(ST_CREATE, keys[i], "{}", 0));
    st_close(s);

    s = h_open();
    h_kvs kvs;
    h_load(s, "/x/", &kvs);
    cr_assert_eq(kvs.n, 3);
    cr_assert_str_eq(kvs.kv[0].key, "/x/a");
    cr_assert_str_eq(kvs.kv[1].key, "/x/a/1");
    cr_assert_str_eq(kvs.kv[2].key, "/x/b");
    cr_assert_eq(kvs.kv[0].mod_rev, h_rev(3));
    h_kvs_free(&kvs);

    h_load(s, "", &kvs);
    cr_assert_eq(kvs.n, 6);
    cr_assert_str_eq(kvs.kv[0].key, "/w/z");
    cr_assert_str_eq(kvs.kv[5].key, "/y/a");
    h_kvs_free(&kvs);
    st_close(s);
}

Test(storage_persist, history_replays_events_after_reopen)
{
    st_store *s = h_open();
    st_submit(s, h_write(ST_CREATE, "/a", "{\"v\":1}", 0));
    st_submit(s, h_write(ST_UPDATE, "/a", "{\"v\":2}", h_rev(1)));
    st_submit(s, h_write(ST_DELETE, "/a", NULL, h_rev(2)));
    st_close(s);

    s = h_open();
    cr_assert_eq(h_history(s, h_rev(0)), h_rev(0),
                 "nothing trimmed: every revision can be watched");
    cr_assert_eq(h_nevents(), 3);
    st_event_type types[] = {ST_ADDED, ST_MODIFIED, ST_DELETED};
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(h_event_at(i)->type, types[i]);
        cr_assert_eq(h_event_at(i)->rev, h_rev((uint64_t)i + 1));
        cr_assert_str_eq(h_event_at(i)->key, "/a");
    }
    char *want = xasprintf("{\"v\":2,\"metadata\":{\"resourceVersion\":\"%s\"}}", h_rvs(3));
    cr_assert_str_eq(h_event_at(2)->value, want);
    free(want);

    h_history(s, h_rev(2));
    cr_assert_eq(h_nevents(), 4, "after_rev 2 replays only revision 3");
    cr_assert_eq(h_event_at(3)->rev, h_rev(3));
    st_close(s);
}

Test(storage_persist, history_reports_the_oldest_revision_after_trimming)
{
    h_skip_on_etcd("history_events is a SQLite option");
    st_sqlite_options opt = st_sqlite_defaults(h_path);
    opt.history_events = 3;
    st_store *s = h_open_opts(opt);
    for (int i = 0; i < 5; i++) {
        char key[16];
        snprintf(key, sizeof(key), "/k%d", i);
        st_submit(s, h_write(ST_CREATE, key, "{}", 0));
    }
    st_close(s);

    s = h_open_opts(opt);
    cr_assert_eq(h_history(s, 0), 2, "revisions 1-2 were trimmed");
    cr_assert_eq(h_nevents(), 3);
    cr_assert_eq(h_event_at(0)->rev, 3);
    cr_assert_eq(h_event_at(2)->rev, 5);
    st_close(s);

    /* A lower limit on reopen trims at once. */
    opt.history_events = 1;
    s = h_open_opts(opt);
    cr_assert_eq(h_history(s, 0), 4);
    st_close(s);
}

Test(storage_persist, history_of_an_empty_store_is_empty)
{
    st_store *s = h_open();
    cr_assert_eq(h_history(s, h_rev(0)), h_rev(0));
    cr_assert_eq(h_nevents(), 0);
    st_close(s);
}

Test(storage_persist, close_commits_writes_still_queued)
{
    st_store *s = h_open_recorded();
    cr_assert_eq(st_start(s), 0);
    for (int i = 0; i < 100; i++) {
        char key[16];
        snprintf(key, sizeof(key), "/k%03d", i);
        st_submit(s, h_write(ST_CREATE, key, "{}", 0));
    }
    st_close(s); /* no wait: close itself must drain */
    cr_assert_eq(h_ndone(), 100);
    for (int i = 0; i < 100; i++)
        cr_assert_eq(h_done(i)->result, ST_OK, "write %d", i);
    cr_assert_eq(h_nevents(), 100);

    s = h_open();
    h_kvs kvs;
    cr_assert_eq(h_load(s, "", &kvs), h_rev(100));
    cr_assert_eq(kvs.n, 100);
    h_kvs_free(&kvs);
    st_close(s);
}

Test(storage_persist, close_without_start_commits_writes_queued)
{
    st_store *s = h_open();
    st_submit(s, h_write(ST_CREATE, "/a", "{}", 0));
    st_close(s);
    cr_assert_eq(h_done(0)->result, ST_OK);
    s = h_open();
    cr_assert_eq(st_current_rev(s), h_rev(1));
    st_close(s);
}

/* Submitting from a done callback that runs during st_close(): the store is closing. */
static st_store *g_store;
static st_write *g_late;
static pthread_t g_late_thread;
static int g_late_result = 1;
static pthread_t g_submitter;

static void late_done(st_write *w)
{
    g_late_result = w->result;
    g_late_thread = pthread_self();
    st_write_free(w);
}

static void submit_late_on_done(st_write *w)
{
    g_late = st_write_new(ST_CREATE, "/late", cJSON_CreateObject(), 0);
    g_late->done = late_done;
    g_submitter = pthread_self();
    st_submit(g_store, g_late);
    cr_assert_eq(g_late_result, ST_ECLOSED, "done ran before st_submit returned");
    st_write_free(w);
}

Test(storage_persist, submit_after_close_began_gets_eclosed_on_the_callers_thread)
{
    /* Not started: st_close() marks the store closing, then commits w on this thread, so w's
     * done callback deterministically runs after closing began. */
    g_store = h_open();
    st_write *w = h_write(ST_CREATE, "/a", "{}", 0);
    w->done = submit_late_on_done;
    st_submit(g_store, w);
    st_close(g_store);
    cr_assert_eq(g_late_result, ST_ECLOSED);
    cr_assert(pthread_equal(g_late_thread, g_submitter));

    st_store *s = h_open();
    cr_assert_eq(st_current_rev(s), h_rev(1), "the late write was not stored");
    st_close(s);
}

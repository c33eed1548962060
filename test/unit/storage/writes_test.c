/*
 * writes_test.c - results, codes, revisions and ordering of writes, on either backend
 * (harness.h).
 *
 * Most tests submit before st_start() and close right after: with SQLite the first batch then
 * holds exactly the submitted writes; either way st_close() returns only once every callback has
 * run.
 */
#include "harness.h"

#include "common/alloc.h"
#include "common/json.h"

#include <criterion/criterion.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

TestSuite(storage, .init = h_setup, .fini = h_teardown, .timeout = 60);

static const char *rv_of_obj(const st_write *w)
{
    return json_path_string(w->obj, "metadata.resourceVersion");
}

Test(storage, create_returns_ok_revision_and_stored_value)
{
    st_store *s = h_open_recorded();
    st_submit(s, h_write(ST_CREATE, "/foos/a", "{\"metadata\":{\"name\":\"a\"},\"spec\":{}}", 0));
    cr_assert_eq(st_start(s), 0);
    h_wait_done(1);
    cr_assert_eq(st_current_rev(s), h_rev(1));
    st_close(s);

    st_write *w = h_done(0);
    cr_assert_eq(w->result, ST_OK);
    cr_assert_eq(w->rev, h_rev(1));
    cr_assert_str_eq(rv_of_obj(w), h_rvs(1));
    char *want = xasprintf("{\"metadata\":{\"name\":\"a\",\"resourceVersion\":\"%s\"},\"spec\":{}}",
                           h_rvs(1));
    cr_assert_str_eq(w->value, want);
    free(want);
    cr_assert_eq(w->value_len, strlen(w->value));
}

Test(storage, create_adds_metadata_when_absent)
{
    st_store *s = h_open();
    st_submit(s, h_write(ST_CREATE, "/foos/a", "{\"spec\":{\"replicas\":1}}", 0));
    st_close(s);
    cr_assert_eq(h_done(0)->result, ST_OK);
    cr_assert_str_eq(h_rv_of(h_done(0)->value), h_rvs(1));
}

Test(storage, create_of_existing_key_returns_eexist)
{
    st_store *s = h_open();
    st_submit(s, h_write(ST_CREATE, "/foos/a", "{}", 0));
    st_submit(s, h_write(ST_CREATE, "/foos/a", "{\"spec\":{}}", 0));
    st_close(s);
    cr_assert_eq(h_done(0)->result, ST_OK);
    cr_assert_eq(h_done(1)->result, ST_EEXIST);
    cr_assert_eq(h_done(1)->rev, 0);
    cr_assert_null(h_done(1)->value);
}

Test(storage, update_and_delete_of_missing_key_return_enoent)
{
    st_store *s = h_open();
    st_submit(s, h_write(ST_UPDATE, "/foos/missing", "{}", 0));
    st_submit(s, h_write(ST_DELETE, "/foos/missing", "{}", 0));
    st_close(s);
    cr_assert_eq(h_done(0)->result, ST_ENOENT);
    cr_assert_eq(h_done(1)->result, ST_ENOENT);
}

Test(storage, update_with_stale_expect_rev_returns_econflict)
{
    st_store *s = h_open();
    st_submit(s, h_write(ST_CREATE, "/foos/a", "{}", 0));               /* rev 1 */
    st_submit(s, h_write(ST_UPDATE, "/foos/a", "{\"n\":1}", h_rev(1))); /* rev 2 */
    st_submit(s, h_write(ST_UPDATE, "/foos/a", "{\"n\":2}", h_rev(1))); /* stale */
    st_submit(s, h_write(ST_DELETE, "/foos/a", "{}", h_rev(1)));        /* stale */
    st_submit(s, h_write(ST_UPDATE, "/foos/a", "{\"n\":3}", 0));        /* any: rev 3 */
    st_close(s);
    cr_assert_eq(h_done(1)->result, ST_OK);
    cr_assert_eq(h_done(2)->result, ST_ECONFLICT);
    cr_assert_eq(h_done(3)->result, ST_ECONFLICT);
    cr_assert_eq(h_done(4)->result, ST_OK);
    cr_assert_eq(h_done(4)->rev, h_rev(3));
    cr_assert_null(rv_of_obj(h_done(2)), "a failed write leaves obj untouched");
}

Test(storage, delete_removes_key_and_reports_final_state_at_its_revision)
{
    st_store *s = h_open_recorded();
    st_submit(s, h_write(ST_CREATE, "/foos/a", "{\"spec\":{\"v\":1}}", 0));
    st_submit(s, h_write(ST_DELETE, "/foos/a", "{\"spec\":{\"v\":\"final\"}}", h_rev(1)));
    st_close(s);
    st_write *del = h_done(1);
    cr_assert_eq(del->result, ST_OK);
    cr_assert_eq(del->rev, h_rev(2));
    char *final = xasprintf(
        "{\"spec\":{\"v\":\"final\"},\"metadata\":{\"resourceVersion\":\"%s\"}}", h_rvs(2));
    cr_assert_str_eq(del->value, final);
    cr_assert_eq(h_nevents(), 2);
    const h_event *e = h_event_at(1);
    cr_assert_eq(e->type, ST_DELETED);
    cr_assert_eq(e->rev, h_rev(2));
    if (h_is_etcd()) {
        /* Other replicas learn of a delete from etcd's watch, which carries the last stored
           state (prev_kv), as kube reports it; only the caller sees its own final state. */
        free(final);
        final =
            xasprintf("{\"spec\":{\"v\":1},\"metadata\":{\"resourceVersion\":\"%s\"}}", h_rvs(2));
    }
    cr_assert_str_eq(e->value, final);
    free(final);

    s = h_open();
    h_kvs kvs;
    cr_assert_eq(h_load(s, "", &kvs), h_rev(2));
    cr_assert_eq(kvs.n, 0);
    st_close(s);
}

Test(storage, delete_without_obj_reports_the_stored_object)
{
    st_store *s = h_open_recorded();
    st_submit(s, h_write(ST_CREATE, "/foos/a", "{\"spec\":{\"v\":1}}", 0));
    st_submit(s, h_write(ST_DELETE, "/foos/a", NULL, 0));
    st_close(s);
    cr_assert_eq(h_done(1)->result, ST_OK);
    char *want =
        xasprintf("{\"spec\":{\"v\":1},\"metadata\":{\"resourceVersion\":\"%s\"}}", h_rvs(2));
    cr_assert_str_eq(h_event_at(1)->value, want);
    free(want);
    cr_assert_str_eq(rv_of_obj(h_done(1)), h_rvs(2));
}

Test(storage, malformed_write_returns_einval)
{
    st_store *s = h_open();
    st_submit(s, h_write(ST_CREATE, NULL, "{}", 0));
    st_submit(s, h_write(ST_CREATE, "/foos/a", "[1]", 0));
    st_submit(s, h_write(ST_UPDATE, "/foos/a", NULL, 0));
    st_close(s);
    for (int i = 0; i < 3; i++)
        cr_assert_eq(h_done(i)->result, ST_EINVAL, "write %d", i);
}

Test(storage, revisions_increase_by_one_per_successful_write_only)
{
    st_store *s = h_open();
    st_submit(s, h_write(ST_CREATE, "/foos/a", "{}", 0));        /* 1 */
    st_submit(s, h_write(ST_CREATE, "/foos/a", "{}", 0));        /* EEXIST */
    st_submit(s, h_write(ST_CREATE, "/foos/b", "{}", 0));        /* 2 */
    st_submit(s, h_write(ST_UPDATE, "/foos/a", "{}", h_rev(9))); /* ECONFLICT */
    st_submit(s, h_write(ST_UPDATE, "/foos/b", "{}", h_rev(2))); /* 3 */
    st_submit(s, h_write(ST_DELETE, "/foos/a", "{}", h_rev(1))); /* 4 */
    st_close(s);
    uint64_t want[] = {1, 0, 2, 0, 3, 4};
    for (int i = 0; i < 6; i++) {
        st_write *w = h_done(i);
        uint64_t rev = want[i] ? h_rev(want[i]) : 0;
        cr_assert_eq(w->rev, rev, "write %d: rev %llu", i, (unsigned long long)w->rev);
        if (w->result == ST_OK)
            cr_assert_str_eq(h_rv_of(w->value), h_rvs(want[i]));
    }
}

Test(storage, later_write_in_a_batch_sees_an_earlier_one)
{
    st_store *s = h_open();
    /* Queued before the writer exists, so they form one batch. */
    st_submit(s, h_write(ST_CREATE, "/foos/a", "{\"n\":1}", 0));
    st_submit(s, h_write(ST_UPDATE, "/foos/a", "{\"n\":2}", h_rev(1)));
    st_submit(s, h_write(ST_DELETE, "/foos/a", NULL, h_rev(2)));
    st_submit(s, h_write(ST_CREATE, "/foos/a", "{\"n\":3}", 0));
    cr_assert_eq(st_start(s), 0);
    h_wait_done(4);
    uint64_t commits = 0, writes = 0;
    st_stats(s, &commits, &writes);
    st_close(s);
    for (int i = 0; i < 4; i++) {
        cr_assert_eq(h_done(i)->result, ST_OK, "write %d", i);
        cr_assert_eq(h_done(i)->rev, h_rev((uint64_t)i + 1));
    }
    if (!h_is_etcd()) /* etcd: one txn per write (it gives each txn one revision) */
        cr_assert_eq(commits, 1, "one transaction for the batch");
    cr_assert_eq(writes, 4);
}

Test(storage, sink_runs_in_revision_order_then_done_in_submit_order)
{
    h_skip_on_etcd("group commit: a batch's events all come before its done calls (etcd: each "
                   "done follows its own event, see etcd_test.c)");
    st_store *s = h_open_recorded();
    st_submit(s, h_write(ST_CREATE, "/a", "{}", 0));
    st_submit(s, h_write(ST_CREATE, "/a", "{}", 0));
    st_submit(s, h_write(ST_CREATE, "/b", "{}", 0));
    st_submit(s, h_write(ST_UPDATE, "/a", "{}", 1));
    st_close(s);
    char eexist[32];
    snprintf(eexist, sizeof(eexist), "D /a %d", ST_EEXIST);
    const char *want[] = {"S /a 1", "S /b 2", "S /a 3", "D /a 0", eexist, "D /b 0", "D /a 0"};
    cr_assert_eq(h_norder(), 7);
    for (int i = 0; i < 7; i++)
        cr_assert_str_eq(h_order(i), want[i]);
    cr_assert_eq(h_event_at(0)->type, ST_ADDED);
    cr_assert_eq(h_event_at(2)->type, ST_MODIFIED);
}

Test(storage, max_batch_splits_queued_writes_into_transactions)
{
    h_skip_on_etcd("max_batch is a SQLite option");
    st_sqlite_options opt = st_sqlite_defaults(h_path);
    opt.max_batch = 2;
    st_store *s = h_open_opts(opt);
    for (int i = 0; i < 5; i++) {
        char key[16];
        snprintf(key, sizeof(key), "/k%d", i);
        st_submit(s, h_write(ST_CREATE, key, "{}", 0));
    }
    cr_assert_eq(st_start(s), 0);
    h_wait_done(5);
    uint64_t commits = 0, writes = 0;
    st_stats(s, &commits, &writes);
    st_close(s);
    cr_assert_eq(commits, 3);
    cr_assert_eq(writes, 5);
}

/* Makes every insert of key "/boom" fail inside the transaction, through a trigger. */
static void install_failing_trigger(void)
{
    st_close(h_open()); /* creates the schema */
    sqlite3 *db = NULL;
    cr_assert_eq(sqlite3_open(h_path, &db), SQLITE_OK);
    const char *sql = "CREATE TRIGGER boom BEFORE INSERT ON kv WHEN NEW.key = '/boom' "
                      "BEGIN SELECT RAISE(ABORT, 'boom'); END;";
    cr_assert_eq(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    cr_assert_eq(sqlite3_close(db), SQLITE_OK);
}

Test(storage, failed_transaction_rolls_back_the_whole_batch_with_eio)
{
    h_skip_on_etcd("a SQLite trigger fails the batch (etcd: etcd_test.c tests ST_EIO)");
    install_failing_trigger();
    st_store *s = h_open_recorded();
    st_submit(s, h_write(ST_CREATE, "/a", "{}", 0));
    st_submit(s, h_write(ST_CREATE, "/boom", "{}", 0));
    st_submit(s, h_write(ST_CREATE, "/c", "{}", 0));
    cr_assert_eq(st_start(s), 0);
    h_wait_done(3);
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(h_done(i)->result, ST_EIO, "write %d", i);
        cr_assert_eq(h_done(i)->rev, 0);
        cr_assert_null(h_done(i)->value);
    }
    cr_assert_eq(h_nevents(), 0, "no event for a rolled-back batch");
    cr_assert_eq(st_current_rev(s), 0);

    /* The revision counter went back: the next write gets revision 1. */
    st_submit(s, h_write(ST_CREATE, "/d", "{}", 0));
    st_close(s);
    cr_assert_eq(h_done(3)->result, ST_OK);
    cr_assert_eq(h_done(3)->rev, 1);

    s = h_open();
    h_kvs kvs;
    cr_assert_eq(h_load(s, "", &kvs), 1);
    cr_assert_eq(kvs.n, 1);
    cr_assert_str_eq(kvs.kv[0].key, "/d");
    h_kvs_free(&kvs);
    st_close(s);
}

Test(storage, open_rejects_bad_options_and_unusable_paths)
{
    h_skip_on_etcd("SQLite options and paths (etcd: etcd_test.c)");
    st_sqlite_options opt = st_sqlite_defaults(h_path);
    opt.max_batch = 0;
    api_error err = API_ERROR_INIT;
    cr_assert_null(st_sqlite_open(&opt, &err));
    cr_assert_eq(err.code, 400);
    cr_assert_str_eq(err.reason, "BadRequest");
    apierr_clear(&err);
    opt = st_sqlite_defaults(NULL);
    cr_assert_null(st_sqlite_open(&opt, &err));
    cr_assert_eq(err.code, 400);
    apierr_clear(&err);
    opt = st_sqlite_defaults("/nonexistent-dir-for-foo-tests/store.db");
    cr_assert_null(st_sqlite_open(&opt, &err));
    cr_assert_eq(err.code, 500);
    cr_assert_str_eq(err.reason, "InternalError");
    cr_assert(strstr(err.message, "cannot open sqlite store "
                                  "/nonexistent-dir-for-foo-tests/store.db: open: "),
              "%s", err.message);
    apierr_clear(&err);
}

/* Issue 6 item 6: an object past ST_MAX_OBJECT_BYTES is refused and consumes no revision. */
static char *object_with_annotation_of(size_t bytes)
{
    char *pad = xmalloc(bytes + 1);
    memset(pad, 'x', bytes);
    pad[bytes] = '\0';
    char *json = xasprintf("{\"metadata\":{\"annotations\":{\"a\":\"%s\"}}}", pad);
    free(pad);
    return json;
}

Test(storage, item6_object_over_the_size_bound_is_refused_without_a_revision)
{
    st_store *s = h_open();
    char *big = object_with_annotation_of(ST_MAX_OBJECT_BYTES);
    char *fits = object_with_annotation_of(ST_MAX_OBJECT_BYTES - 200);
    st_submit(s, h_write(ST_CREATE, "/foos/big", big, 0));
    st_submit(s, h_write(ST_CREATE, "/foos/fits", fits, 0));
    st_submit(s, h_write(ST_UPDATE, "/foos/fits", big, 0));
    st_submit(s, h_write(ST_DELETE, "/foos/fits", NULL, 0));
    cr_assert_eq(st_start(s), 0);
    h_wait_done(4);
    cr_expect_eq(st_current_rev(s), h_rev(2), "only the create that fits and the delete count");
    st_close(s);
    cr_expect_eq(h_done(0)->result, ST_ETOOLARGE);
    cr_expect_null(h_done(0)->value);
    cr_expect_eq(h_done(0)->rev, 0);
    cr_expect_eq(h_done(1)->result, ST_OK);
    cr_expect_eq(h_done(2)->result, ST_ETOOLARGE);
    cr_expect_eq(h_done(3)->result, ST_OK, "a delete is never refused for size");
    free(big);
    free(fits);
}

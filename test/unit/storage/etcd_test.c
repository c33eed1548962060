/*
 * etcd_test.c - what only the etcd backend does: several stores on one etcd (each sees every
 * write once, in order; conflicts decided by etcd), a compacted resume replaced through the
 * observer, reconnection after an etcd restart, st_sync_rev, st_health, and TLS to etcd.
 *
 * They run with FOO_TEST_STORAGE=etcd (harness.h) and skip otherwise. Tests that restart etcd
 * or need TLS start their own etcd with scripts/etcd-test.sh; the shared one is never stopped.
 */
#include "harness.h"

#include "storage/etcd.h"
#include "common/base64.h" /* for writing as another client would */
#include "storage/etcd_json.h"

#include "common/alloc.h"
#include "common/curl_lib.h" /* libcurl, loaded on first use */
#include "common/json.h"

#include <criterion/criterion.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Named to sort after the other suites: Criterion 2.4.1's runner leaks (LeakSanitizer, 48 bytes)
   when a skipped test of a suite runs beside storage_persist's with two jobs. */
static char *g_private_dir; /* the test's own etcd, stopped by the fixture even on failure */

static void etcd_teardown(void);

TestSuite(storage_with_etcd, .init = h_setup, .fini = etcd_teardown, .timeout = 120);

static void need_etcd(void)
{
    if (!h_is_etcd())
        cr_skip_test("etcd only: run with FOO_TEST_STORAGE=etcd FOO_TEST_ETCD=URL");
}

/* ---- a recorder per store ---------------------------------------------------------------- */

#define REC_MAX 64

typedef struct rec {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int n;
    st_event_type type[REC_MAX];
    char key[REC_MAX][64];
    uint64_t rev[REC_MAX];
    uint64_t progress; /* the last progress revision */
    int replace_begins, replace_ends;
    uint64_t replace_rev;
    int n_replaced;
    char replaced[REC_MAX][64];
} rec;

static void rec_init(rec *r)
{
    memset(r, 0, sizeof(*r));
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->cv, NULL);
}

static void rec_sink(void *ctx, st_event_type type, const char *key, const char *value, size_t len,
                     uint64_t rev)
{
    (void)value, (void)len;
    rec *r = ctx;
    pthread_mutex_lock(&r->mu);
    if (r->n < REC_MAX) {
        r->type[r->n] = type;
        snprintf(r->key[r->n], sizeof(r->key[0]), "%s", key);
        r->rev[r->n] = rev;
        r->n++;
    }
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
}

static void rec_progress(void *ctx, uint64_t rev)
{
    rec *r = ctx;
    pthread_mutex_lock(&r->mu);
    r->progress = rev;
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
}

static void rec_begin(void *ctx, uint64_t rev)
{
    rec *r = ctx;
    pthread_mutex_lock(&r->mu);
    r->replace_begins++;
    r->replace_rev = rev;
    r->n_replaced = 0;
    pthread_mutex_unlock(&r->mu);
}

static void rec_kv(void *ctx, const char *key, const char *value, size_t len, uint64_t mod_rev)
{
    (void)value, (void)len, (void)mod_rev;
    rec *r = ctx;
    pthread_mutex_lock(&r->mu);
    if (r->n_replaced < REC_MAX)
        snprintf(r->replaced[r->n_replaced++], sizeof(r->replaced[0]), "%s", key);
    pthread_mutex_unlock(&r->mu);
}

static void rec_end(void *ctx, uint64_t rev)
{
    rec *r = ctx;
    pthread_mutex_lock(&r->mu);
    cr_assert_eq(rev, r->replace_rev);
    r->replace_ends++;
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
}

/* Waits (on the condition, no sleeping) until r holds n events. */
static void rec_wait(rec *r, int n)
{
    pthread_mutex_lock(&r->mu);
    while (r->n < n)
        pthread_cond_wait(&r->cv, &r->mu);
    pthread_mutex_unlock(&r->mu);
}

static void rec_wait_replaced(rec *r)
{
    pthread_mutex_lock(&r->mu);
    while (r->replace_ends == 0)
        pthread_cond_wait(&r->cv, &r->mu);
    pthread_mutex_unlock(&r->mu);
}

/* ---- stores and etcds -------------------------------------------------------------------- */

/* The defaults with the n endpoints eps (borrowed: they must outlive the store's opening) and
   the test's prefix. */
static st_etcd_options options_for(const char **eps, size_t n)
{
    st_etcd_options opt = st_etcd_defaults();
    opt.endpoints = eps;
    opt.n_endpoints = n;
    opt.prefix = h_etcd_prefix();
    return opt;
}

/* Initialises r and starts s with r recording its events (the sink only, no observer). */
static void start_recorded(st_store *s, rec *r)
{
    rec_init(r);
    st_set_sink(s, rec_sink, r);
    cr_assert_eq(st_start(s), 0);
}

/* Opens a store on url; when r is non-NULL, initialises it and records the store's events and
   observer calls there. */
static st_store *open_at(const char *url, rec *r, int compaction_s)
{
    st_etcd_options opt = options_for(&url, 1);
    opt.compaction_interval_s = compaction_s;
    api_error err = API_ERROR_INIT;
    st_store *s = st_etcd_open(&opt, &err);
    cr_assert_not_null(s, "st_etcd_open(%s): %s", url, err.message ? err.message : "");
    if (r) {
        rec_init(r);
        st_set_sink(s, rec_sink, r);
        st_observer obs = {.progress = rec_progress,
                           .replace_begin = rec_begin,
                           .replace_kv = rec_kv,
                           .replace_end = rec_end,
                           .ctx = r};
        st_set_observer(s, &obs);
    }
    return s;
}

/* Opens, loads (so the watch starts at the current revision) and starts a recorded store. */
static st_store *open_started(const char *url, rec *r)
{
    st_store *s = open_at(url, r, 0);
    h_kvs kvs;
    h_load(s, "", &kvs);
    h_kvs_free(&kvs);
    cr_assert_eq(st_start(s), 0);
    return s;
}

/* Opens and starts an unrecorded store on the shared etcd: another client's writes. */
static st_store *open_writer(void)
{
    st_store *s = open_at(h_etcd_url(), NULL, 0);
    cr_assert_eq(st_start(s), 0);
    return s;
}

/* Submits one write and waits for its done; returns it (the recorder owns it). */
static st_write *write_sync(st_store *s, st_op op, const char *key, const char *json,
                            uint64_t expect_rev)
{
    int before = h_ndone();
    st_submit(s, h_write(op, key, json, expect_rev));
    h_wait_done(before + 1);
    return h_done(before);
}

/* The repository root, from this file's path (CMake compiles it by absolute path). */
static const char *repo_root(void)
{
    static char root[512];
    const char *tail = strstr(__FILE__, "/test/unit/storage/");
    cr_assert_not_null(tail, "cannot locate the repository from %s", __FILE__);
    snprintf(root, sizeof(root), "%.*s", (int)(tail - __FILE__), __FILE__);
    return root;
}

/* Runs scripts/etcd-test.sh with args (env: extra environment, may be ""); *url gets the first
   word of its output when url is non-NULL. Asserts it succeeded. */
static void etcd_script(const char *env, const char *args, char *url, size_t url_size)
{
    char *cmd = xasprintf("%s bash %s/scripts/etcd-test.sh %s", env, repo_root(), args);
    FILE *p = popen(cmd, "r");
    cr_assert_not_null(p, "%s", cmd);
    char line[512] = "";
    if (!fgets(line, sizeof(line), p))
        line[0] = '\0';
    int rc = pclose(p);
    cr_assert_eq(rc, 0, "%s failed", cmd);
    if (url)
        snprintf(url, url_size, "%.*s", (int)strcspn(line, " \n"), line);
    free(cmd);
}

static void private_etcd_do(const char *verb, const char *dir, const char *env)
{
    char *args = xasprintf("%s %s", verb, dir);
    etcd_script(env, args, NULL, 0);
    free(args);
}

/* A private etcd of the test (in a temp dir), for tests that restart it; one per test, stopped
   and removed by the fixture. */
static const char *private_etcd(const char *env, char *url, size_t url_size)
{
    cr_assert_null(g_private_dir, "one private etcd per test");
    g_private_dir = xstrdup("/tmp/foo-etcd-unit-XXXXXX");
    cr_assert_not_null(mkdtemp(g_private_dir));
    char *args = xasprintf("start %s", g_private_dir);
    etcd_script(env, args, url, url_size);
    free(args);
    return g_private_dir;
}

static void etcd_teardown(void)
{
    if (g_private_dir) {
        char *cmd = xasprintf("bash %s/scripts/etcd-test.sh stop %s", repo_root(), g_private_dir);
        if (system(cmd) != 0)
            fprintf(stderr, "could not stop the etcd in %s\n", g_private_dir);
        free(cmd);
        free(g_private_dir);
        g_private_dir = NULL;
    }
    h_teardown();
}

/* POSTs a JSON body to the gateway; returns the HTTP status. */
static long gateway_post(const char *url, const char *path, const char *body)
{
    char *full = xasprintf("%s%s", url, path);
    CURL *c = curl_easy_init();
    cr_assert_not_null(c);
    FILE *sink = fopen("/dev/null", "w");
    curl_easy_setopt(c, CURLOPT_URL, full);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, sink);
    cr_assert_eq(curl_easy_perform(c), CURLE_OK);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(c);
    fclose(sink);
    free(full);
    return status;
}

/* ---- tests ------------------------------------------------------------------------------- */

Test(storage_with_etcd, open_rejects_bad_options_and_an_unreachable_etcd)
{
    api_error err = API_ERROR_INIT;
    st_etcd_options opt = st_etcd_defaults();
    cr_assert_null(st_etcd_open(&opt, &err), "no endpoint");
    cr_assert_eq(err.code, 400);
    cr_assert_str_eq(err.reason, "BadRequest");
    apierr_clear(&err);

    const char *bad[] = {"127.0.0.1:2379"};
    opt.endpoints = bad;
    opt.n_endpoints = 1;
    cr_assert_null(st_etcd_open(&opt, &err), "not a URL");
    cr_assert_eq(err.code, 400);
    apierr_clear(&err);

    const char *closed[] = {"http://127.0.0.1:1"};
    opt.endpoints = closed;
    opt.prefix = "no-slash";
    cr_assert_null(st_etcd_open(&opt, &err), "prefix without '/'");
    cr_assert_eq(err.code, 400);
    apierr_clear(&err);

    opt.prefix = "/p";
    cr_assert_null(st_etcd_open(&opt, &err), "nobody listens on port 1");
    cr_assert_eq(err.code, 503);
    cr_assert_str_eq(err.reason, "ServiceUnavailable");
    cr_assert(strstr(err.message, "cannot reach etcd at http://127.0.0.1:1: "), "%s", err.message);
    apierr_clear(&err);
}

Test(storage_with_etcd, a_dead_endpoint_is_passed_over_for_the_next)
{
    need_etcd();
    const char *eps[] = {"http://127.0.0.1:1", h_etcd_url()}; /* nobody listens on port 1 */
    st_etcd_options opt = options_for(eps, 2);
    api_error err = API_ERROR_INIT;
    st_store *s = st_etcd_open(&opt, &err);
    cr_assert_not_null(s, "%s", err.message ? err.message : "");
    rec r;
    start_recorded(s, &r);
    for (int i = 0; i < 3; i++) {
        char key[32];
        snprintf(key, sizeof(key), "/foos/k%d", i);
        cr_assert_eq(write_sync(s, ST_CREATE, key, "{}", 0)->result, ST_OK);
    }
    rec_wait(&r, 3); /* the watch found the live endpoint too */
    cr_assert_eq(st_health(s, NULL), 0);
    st_close(s);
}

/* Compacts the shared etcd at rev through the gateway, as an operator would. */
static void compact_at(uint64_t rev)
{
    char *body = xasprintf("{\"revision\":\"%llu\"}", (unsigned long long)rev);
    cr_assert_eq(gateway_post(h_etcd_url(), "/v3/kv/compaction", body), 200);
    free(body);
}

/* Puts key = value through the gateway of the etcd at url, as another client of etcd would. */
static void foreign_put_at(const char *url, const char *key, const char *value)
{
    char *k = b64_encode(key, strlen(key)), *v = b64_encode(value, strlen(value));
    char *body = xasprintf("{\"key\":\"%s\",\"value\":\"%s\"}", k, v);
    cr_assert_eq(gateway_post(url, "/v3/kv/put", body), 200);
    free(body);
    free(k);
    free(v);
}

/* foreign_put_at on the shared etcd. */
static void foreign_put(const char *key, const char *value)
{
    foreign_put_at(h_etcd_url(), key, value);
}

/* The value etcd holds for key (decoded), through the gateway. Caller frees. */
static char *stored_value(const char *key)
{
    char *full = xasprintf("%s%s", h_etcd_prefix(), key);
    char *k = b64_encode(full, strlen(full));
    char *body = xasprintf("{\"key\":\"%s\"}", k);
    char *url = xasprintf("%s/v3/kv/range", h_etcd_url());
    char *cmd = xasprintf("curl -s -X POST -d '%s' %s", body, url);
    FILE *p = popen(cmd, "r");
    cr_assert_not_null(p);
    char buf[4096] = "";
    size_t n = fread(buf, 1, sizeof(buf) - 1, p);
    buf[n] = '\0';
    pclose(p);
    ej_range r;
    cr_assert_eq(ej_parse_range(buf, n, &r), 0, "%s", buf);
    cr_assert_eq(r.n, 1);
    char *value = xstrdup(r.kvs[0].value);
    ej_range_free(&r);
    free(cmd);
    free(url);
    free(body);
    free(k);
    free(full);
    return value;
}

Test(storage_with_etcd, values_are_stored_without_a_resource_version_and_handed_out_with_one)
{
    need_etcd();
    st_store *s = open_at(h_etcd_url(), NULL, 0);
    cr_assert_eq(st_start(s), 0);
    st_write *w =
        write_sync(s, ST_CREATE, "/foos/a",
                   "{\"metadata\":{\"name\":\"a\",\"resourceVersion\":\"7\",\"uid\":\"u\"}}", 0);
    cr_assert_eq(w->result, ST_OK);
    char *want =
        xasprintf("{\"metadata\":{\"name\":\"a\",\"resourceVersion\":\"%llu\",\"uid\":\"u\"}}",
                  (unsigned long long)w->rev);
    cr_assert_str_eq(w->value, want, "the new revision, where the old one was");
    free(want);
    char *stored = stored_value("/foos/a");
    cr_assert_str_eq(stored, "{\"metadata\":{\"name\":\"a\",\"uid\":\"u\"}}");
    free(stored);

    /* A failed update leaves the caller's object as it was, its resourceVersion in place. */
    st_write *stale =
        write_sync(s, ST_UPDATE, "/foos/a",
                   "{\"metadata\":{\"name\":\"a\",\"resourceVersion\":\"1\",\"uid\":\"u\"}}", 1);
    cr_assert_eq(stale->result, ST_ECONFLICT);
    char *obj = json_print(stale->obj);
    cr_assert_str_eq(obj,
                     "{\"metadata\":{\"name\":\"a\",\"resourceVersion\":\"1\",\"uid\":\"u\"}}");
    free(obj);
    st_close(s);
}

Test(storage_with_etcd, keys_of_a_neighbour_prefix_are_neither_loaded_nor_watched)
{
    need_etcd();
    rec ra;
    st_store *a = open_started(h_etcd_url(), &ra);
    /* A neighbour whose prefix only starts like ours, and a key right at ours. */
    char *neighbour = xasprintf("%s2/foos/x", h_etcd_prefix());
    char *beside = xasprintf("%sfoos", h_etcd_prefix());
    foreign_put(neighbour, "{}");
    foreign_put(beside, "{}");
    uint64_t mine = write_sync(a, ST_CREATE, "/foos/mine", "{}", 0)->rev;
    rec_wait(&ra, 1);
    st_close(a);
    cr_assert_eq(ra.n, 1);
    cr_assert_eq(ra.rev[0], mine);

    a = open_at(h_etcd_url(), NULL, 0);
    h_kvs kvs;
    h_load(a, "", &kvs);
    cr_assert_eq(kvs.n, 1);
    cr_assert_str_eq(kvs.kv[0].key, "/foos/mine");
    h_kvs_free(&kvs);
    cr_assert_eq(st_start(a), 0);
    cr_assert_eq(write_sync(a, ST_CREATE, "no-slash", "{}", 0)->result, ST_EINVAL,
                 "a store key starts with '/'");
    st_close(a);
    free(neighbour);
    free(beside);
}

Test(storage_with_etcd, two_stores_see_every_write_once_in_revision_order)
{
    need_etcd();
    rec ra, rb;
    st_store *a = open_started(h_etcd_url(), &ra);
    st_store *b = open_started(h_etcd_url(), &rb);
    uint64_t r1 = write_sync(a, ST_CREATE, "/foos/x", "{}", 0)->rev;
    uint64_t r2 = write_sync(b, ST_CREATE, "/foos/y", "{}", 0)->rev;
    uint64_t r3 = write_sync(b, ST_UPDATE, "/foos/x", "{\"n\":1}", r1)->rev;
    uint64_t r4 = write_sync(a, ST_DELETE, "/foos/y", NULL, r2)->rev;
    cr_assert(r1 < r2 && r2 < r3 && r3 < r4);
    rec_wait(&ra, 4);
    rec_wait(&rb, 4);
    st_close(a);
    st_close(b);
    rec *both[] = {&ra, &rb};
    uint64_t revs[] = {r1, r2, r3, r4};
    const char *keys[] = {"/foos/x", "/foos/y", "/foos/x", "/foos/y"};
    st_event_type types[] = {ST_ADDED, ST_ADDED, ST_MODIFIED, ST_DELETED};
    for (int s = 0; s < 2; s++) {
        cr_assert_eq(both[s]->n, 4, "store %d: each write once", s);
        for (int i = 0; i < 4; i++) {
            cr_assert_eq(both[s]->rev[i], revs[i], "store %d event %d", s, i);
            cr_assert_str_eq(both[s]->key[i], keys[i]);
            cr_assert_eq(both[s]->type[i], types[i]);
        }
    }
}

/* The failed store's recorder, as it was when the failed write's done ran. */
static rec *g_loser_rec;
static int g_events_at_done = -1;
static uint64_t g_last_rev_at_done;

static void conflict_done(st_write *w)
{
    if (w->result == ST_ECONFLICT) {
        pthread_mutex_lock(&g_loser_rec->mu);
        g_events_at_done = g_loser_rec->n;
        g_last_rev_at_done = g_loser_rec->n ? g_loser_rec->rev[g_loser_rec->n - 1] : 0;
        pthread_mutex_unlock(&g_loser_rec->mu);
    }
}

Test(storage_with_etcd, conflict_across_stores_one_wins_and_the_loser_sees_the_winner_first)
{
    need_etcd();
    rec ra, rb;
    st_store *a = open_started(h_etcd_url(), &ra);
    st_store *b = open_started(h_etcd_url(), &rb);
    uint64_t r1 = write_sync(a, ST_CREATE, "/foos/x", "{}", 0)->rev;
    rec_wait(&rb, 1);

    /* Both update from r1; the one that loses must find the winner in its own sink. */
    st_write *wa = h_write(ST_UPDATE, "/foos/x", "{\"by\":\"a\"}", r1);
    st_write *wb = h_write(ST_UPDATE, "/foos/x", "{\"by\":\"b\"}", r1);
    st_submit(a, wa);
    st_submit(b, wb);
    h_wait_done(3);
    st_write *first = h_done(1), *second = h_done(2);
    int ok = (first->result == ST_OK) + (second->result == ST_OK);
    int conflict = (first->result == ST_ECONFLICT) + (second->result == ST_ECONFLICT);
    cr_assert_eq(ok, 1, "exactly one update wins");
    cr_assert_eq(conflict, 1, "the other gets ST_ECONFLICT");
    st_write *winner = first->result == ST_OK ? first : second;

    /* Retry the loser from the revision its sink shows: it now succeeds. */
    st_store *loser_store = winner == wa ? b : a;
    rec *loser = winner == wa ? &rb : &ra;
    rec_wait(loser, 2);
    cr_assert_eq(loser->rev[1], winner->rev, "the loser's sink shows the winning write");
    st_write *retry =
        write_sync(loser_store, ST_UPDATE, "/foos/x", "{\"by\":\"retry\"}", loser->rev[1]);
    cr_assert_eq(retry->result, ST_OK);
    st_close(a);
    st_close(b);
}

Test(storage_with_etcd, a_failed_compare_completes_after_the_sink_shows_why)
{
    need_etcd();
    rec ra, rb;
    st_store *a = open_started(h_etcd_url(), &ra);
    st_store *b = open_started(h_etcd_url(), &rb);
    uint64_t r1 = write_sync(a, ST_CREATE, "/foos/x", "{}", 0)->rev;
    /* b writes twice more; a's update from r1 fails and must not complete before a's sink
       shows b's last write (a caller re-reads its cache to retry). */
    write_sync(b, ST_UPDATE, "/foos/x", "{\"n\":1}", 0);
    uint64_t last = write_sync(b, ST_UPDATE, "/foos/x", "{\"n\":2}", 0)->rev;
    g_loser_rec = &ra;
    st_write *w = h_write(ST_UPDATE, "/foos/x", "{\"n\":3}", r1);
    w->done = conflict_done;
    st_submit(a, w);
    st_close(a); /* waits for w's done */
    cr_assert_geq(g_events_at_done, 3);
    cr_assert_eq(g_last_rev_at_done, last);
    st_write_free(w);
    st_close(b);
}

Test(storage_with_etcd, history_replays_what_etcd_retains_and_pins_the_next_load)
{
    need_etcd();
    st_store *a = open_at(h_etcd_url(), NULL, 0);
    st_store *b = open_writer();
    uint64_t before = write_sync(b, ST_CREATE, "/foos/before", "{}", 0)->rev;
    cr_assert_eq(h_history(a, h_rev(0)), h_rev(0), "nothing compacted since the test began");
    cr_assert_eq(h_nevents(), 1);
    cr_assert_eq(h_event_at(0)->rev, before);
    cr_assert_str_eq(h_event_at(0)->key, "/foos/before");
    uint64_t later = write_sync(b, ST_CREATE, "/foos/after", "{}", 0)->rev;

    h_kvs kvs;
    cr_assert_eq(h_load(a, "", &kvs), before, "the load reads at the revision history read");
    cr_assert_eq(kvs.n, 1);
    cr_assert_str_eq(kvs.kv[0].key, "/foos/before");
    h_kvs_free(&kvs);
    cr_assert_eq(h_load(a, "", &kvs), later, "only the next load is pinned");
    cr_assert_eq(kvs.n, 2);
    h_kvs_free(&kvs);
    st_close(a);
    st_close(b);
}

Test(storage_with_etcd, history_from_a_compacted_revision_replays_nothing)
{
    need_etcd();
    st_store *b = open_writer();
    write_sync(b, ST_CREATE, "/foos/x", "{}", 0);
    uint64_t top = write_sync(b, ST_CREATE, "/foos/y", "{}", 0)->rev;
    compact_at(top);
    st_close(b);

    st_store *a = open_at(h_etcd_url(), NULL, 0);
    cr_assert_eq(h_history(a, h_rev(0)), top, "only what comes after the current revision");
    cr_assert_eq(h_nevents(), 0);
    st_close(a);
}

Test(storage_with_etcd, sync_rev_covers_another_stores_acknowledged_write)
{
    need_etcd();
    st_store *a = open_at(h_etcd_url(), NULL, 0);
    st_store *b = open_writer();
    uint64_t rev = write_sync(b, ST_CREATE, "/foos/x", "{}", 0)->rev;
    uint64_t sync = 0;
    api_error err = API_ERROR_INIT;
    cr_assert_eq(st_sync_rev(a, 3000, &sync, &err), 0);
    cr_assert_eq(sync, rev, "the prefix's last write");
    cr_assert_eq(st_health(a, NULL), 0);
    st_close(a);
    st_close(b);
}

Test(storage_with_etcd, a_compacted_resume_replaces_what_the_observer_knows)
{
    need_etcd();
    rec ra;
    st_store *a = open_at(h_etcd_url(), &ra, 0);
    h_kvs kvs;
    uint64_t loaded = h_load(a, "", &kvs);
    h_kvs_free(&kvs);

    /* While a is not watching yet, another store writes and etcd compacts past a's revision. */
    st_store *b = open_writer();
    write_sync(b, ST_CREATE, "/foos/x", "{}", 0);
    write_sync(b, ST_CREATE, "/foos/y", "{}", 0);
    uint64_t top = write_sync(b, ST_DELETE, "/foos/x", NULL, 0)->rev;
    compact_at(top);
    cr_assert_lt(loaded + 1, top);

    cr_assert_eq(st_start(a), 0);
    rec_wait_replaced(&ra);
    cr_assert_eq(ra.replace_begins, 1);
    cr_assert_geq(ra.replace_rev, top);
    cr_assert_eq(ra.n_replaced, 1, "the snapshot holds what exists: y");
    cr_assert_str_eq(ra.replaced[0], "/foos/y");
    cr_assert_eq(ra.n, 0, "no event was delivered for the compacted revisions");

    /* Events continue after the snapshot. */
    uint64_t z = write_sync(b, ST_CREATE, "/foos/z", "{}", 0)->rev;
    rec_wait(&ra, 1);
    cr_assert_eq(ra.rev[0], z);
    cr_assert_str_eq(ra.key[0], "/foos/z");
    st_close(a);
    st_close(b);
}

Test(storage_with_etcd, progress_notifications_reach_the_observer)
{
    need_etcd();
    char url[256];
    private_etcd("ETCD_PROGRESS_INTERVAL=200ms", url, sizeof(url));
    rec ra;
    st_store *a = open_started(url, &ra);
    /* Another client writes elsewhere in etcd: no event for a, but progress moves past it. */
    foreign_put_at(url, "/elsewhere", "");
    uint64_t mine = write_sync(a, ST_CREATE, "/foos/x", "{}", 0)->rev;
    foreign_put_at(url, "/elsewhere", "");
    pthread_mutex_lock(&ra.mu);
    while (ra.progress <= mine) /* the put after mine has revision mine + 1 */
        pthread_cond_wait(&ra.cv, &ra.mu);
    pthread_mutex_unlock(&ra.mu);
    cr_assert_eq(ra.n, 1, "only a's own prefix gives events");
    cr_assert_geq(st_current_rev(a), mine + 1, "progress advances the delivered revision");
    st_close(a);
}

/* Waits, bounded, until st_health(s) == want (health changes on the store's own threads). */
static void wait_health(st_store *s, int want_ok)
{
    for (int i = 0; i < 400; i++) {
        if ((st_health(s, NULL) == 0) == want_ok)
            return;
        nanosleep(&(struct timespec){.tv_nsec = 50 * 1000 * 1000}, NULL);
    }
    cr_assert_fail("st_health did not become %s", want_ok ? "ok" : "unhealthy");
}

Test(storage_with_etcd, the_watch_resumes_after_an_etcd_restart_without_gap_or_duplicate)
{
    need_etcd();
    char url[256];
    const char *dir = private_etcd("", url, sizeof(url));
    rec ra;
    st_store *a = open_started(url, &ra);
    st_store *b = open_started(url, NULL);
    uint64_t r1 = write_sync(a, ST_CREATE, "/foos/x", "{}", 0)->rev;
    rec_wait(&ra, 1);

    private_etcd_do("kill", dir, "");
    cr_assert_eq(write_sync(a, ST_CREATE, "/foos/down", "{}", 0)->result, ST_EIO);
    const char *why = NULL;
    cr_assert_neq(st_health(a, &why), 0, "etcd is down");
    cr_assert_str_eq(why, "etcd unreachable");

    private_etcd_do("start", dir, "");
    /* b's write reaches a only through a's watch, which must reconnect by itself. */
    st_write *w2 = NULL;
    for (int i = 0; i < 50 && (!w2 || w2->result != ST_OK); i++)
        w2 = write_sync(b, ST_CREATE, "/foos/y", "{}", 0); /* retried while b reconnects */
    cr_assert_eq(w2->result, ST_OK);
    uint64_t r3 = write_sync(a, ST_UPDATE, "/foos/x", "{\"n\":1}", r1)->rev;
    rec_wait(&ra, 3);
    wait_health(a, 1);
    st_close(a);
    st_close(b);
    cr_assert_eq(ra.n, 3, "every write once");
    cr_assert_eq(ra.rev[0], r1);
    cr_assert_eq(ra.rev[1], w2->rev);
    cr_assert_eq(ra.rev[2], r3);
}

/* Whether etcd still serves reads at revision rev (false once it has been compacted away). */
static bool readable_at(uint64_t rev)
{
    char *body = xasprintf("{\"key\":\"AA==\",\"revision\":\"%llu\"}", (unsigned long long)rev);
    long status = gateway_post(h_etcd_url(), "/v3/kv/range", body);
    free(body);
    return status == 200;
}

Test(storage_with_etcd, compaction_runs_each_interval_at_the_revision_seen_one_interval_earlier)
{
    need_etcd();
    clk_t *clock = clk_fake_new(0);
    const char *url = h_etcd_url();
    st_etcd_options opt = options_for(&url, 1);
    opt.compaction_interval_s = 1;
    opt.clock = clock;
    api_error err = API_ERROR_INIT;
    st_store *s = st_etcd_open(&opt, &err);
    cr_assert_not_null(s);
    cr_assert_eq(st_start(s), 0);
    uint64_t r1 = write_sync(s, ST_CREATE, "/foos/x", "{}", 0)->rev;
    cr_assert(readable_at(r1 - 1));

    /* First interval: the compactor notes the revision (>= r1); the second compacts there. The
       compactor looks at the (fake) clock about once a second of real time. */
    clk_fake_advance_ms(clock, 1000);
    write_sync(s, ST_CREATE, "/foos/y", "{}", 0);
    clk_fake_advance_ms(clock, 1000);
    bool compacted = false;
    for (int i = 0; i < 200 && !compacted; i++) {
        compacted = !readable_at(r1 - 1);
        if (!compacted) {
            clk_fake_advance_ms(clock, 1000); /* in case the first look came after y */
            nanosleep(&(struct timespec){.tv_nsec = 50 * 1000 * 1000}, NULL);
        }
    }
    cr_assert(compacted, "etcd was compacted past revision %llu", (unsigned long long)r1 - 1);
    st_close(s);
    clk_fake_free(clock);
}

/* Sends sig to the private etcd of this test (its pid is in DIR/etcd.pid). */
static void signal_private_etcd(const char *dir, int sig)
{
    char *path = xasprintf("%s/etcd.pid", dir);
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f, "%s", path);
    long pid = 0;
    cr_assert_eq(fscanf(f, "%ld", &pid), 1);
    fclose(f);
    free(path);
    cr_assert_eq(kill((pid_t)pid, sig), 0);
}

Test(storage_with_etcd, a_write_to_a_paused_etcd_fails_with_eio_and_the_watch_carries_on)
{
    need_etcd();
    char url[256];
    const char *dir = private_etcd("", url, sizeof(url));
    rec ra;
    st_store *a = open_started(url, &ra);
    uint64_t r1 = write_sync(a, ST_CREATE, "/foos/x", "{}", 0)->rev;

    signal_private_etcd(dir, SIGSTOP);
    /* Answered by the request timeout (5 s), not left hanging. */
    cr_assert_eq(write_sync(a, ST_CREATE, "/foos/paused", "{}", 0)->result, ST_EIO);
    cr_assert_neq(st_health(a, NULL), 0);
    signal_private_etcd(dir, SIGCONT);

    uint64_t r3 = write_sync(a, ST_UPDATE, "/foos/x", "{\"n\":1}", r1)->rev;
    wait_health(a, 1);
    st_close(a);
    /* The write that timed out may or may not have been applied by etcd once it resumed, before
       or after r3 (its connection was gone, its request still queued): either way every event
       arrives once, in revision order. */
    cr_assert(ra.n == 2 || ra.n == 3, "%d events", ra.n);
    cr_assert_eq(ra.rev[0], r1);
    bool saw_r3 = false;
    for (int i = 1; i < ra.n; i++) {
        cr_assert_lt(ra.rev[i - 1], ra.rev[i]);
        saw_r3 = saw_r3 || ra.rev[i] == r3;
    }
    cr_assert(saw_r3);
}

/* Makes a CA, a server certificate for 127.0.0.1 and a client certificate in dir. */
static void make_certs(const char *dir)
{
    char *cmd = xasprintf(
        "set -e; cd %s; exec >/dev/null 2>&1;"
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key "
        "-out ca.crt -days 1 -subj /CN=foo-etcd-test-ca;"
        "for n in server client; do"
        " openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout $n.key "
        "-out $n.csr -subj /CN=foo-etcd-test-$n;"
        " printf 'subjectAltName=IP:127.0.0.1\\nextendedKeyUsage=serverAuth,clientAuth\\n' >$n.ext;"
        " openssl x509 -req -in $n.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 1 "
        "-out $n.crt -extfile $n.ext;"
        "done",
        dir);
    cr_assert_eq(system(cmd), 0, "openssl failed");
    free(cmd);
}

Test(storage_with_etcd, tls_to_etcd_with_a_client_certificate)
{
    need_etcd();
    char tls[] = "/tmp/foo-etcd-tls-XXXXXX";
    cr_assert_not_null(mkdtemp(tls));
    make_certs(tls);
    char *env = xasprintf("ETCD_TLS_DIR=%s", tls);
    char url[256];
    private_etcd(env, url, sizeof(url));
    cr_assert(strncmp(url, "https://", 8) == 0, "%s", url);

    char *ca = xasprintf("%s/ca.crt", tls), *cert = xasprintf("%s/client.crt", tls),
         *key = xasprintf("%s/client.key", tls);
    const char *eps[] = {url};
    st_etcd_options opt = options_for(eps, 1);
    opt.ca_file = ca;
    api_error err = API_ERROR_INIT;
    cr_assert_null(st_etcd_open(&opt, &err), "etcd requires a client certificate");
    cr_assert_eq(err.code, 503);
    apierr_clear(&err);

    opt.cert_file = cert;
    opt.key_file = key;
    st_store *s = st_etcd_open(&opt, &err);
    cr_assert_not_null(s, "%s", err.message ? err.message : "");
    rec r;
    start_recorded(s, &r);
    uint64_t rev = write_sync(s, ST_CREATE, "/foos/tls", "{}", 0)->rev;
    rec_wait(&r, 1);
    cr_assert_eq(r.rev[0], rev, "the watch runs over TLS too");
    st_close(s);

    char *rm = xasprintf("rm -rf %s", tls);
    cr_assert_eq(system(rm), 0);
    free(rm);
    free(env);
    free(ca);
    free(cert);
    free(key);
}

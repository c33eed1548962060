/*
 * harness.h - shared fixtures of the storage unit tests: a temporary directory per test, a
 * recorder for sink events and done callbacks (with the order in which they ran), and a
 * collector for st_load.
 *
 * The same tests run against either backend, chosen by the environment:
 *   FOO_TEST_STORAGE=sqlite (default)  a SQLite file in the test's temporary directory;
 *   FOO_TEST_STORAGE=etcd              the etcd at FOO_TEST_ETCD (a client URL, e.g. the one
 *                                      scripts/etcd-test.sh prints), under a key prefix unique
 *                                      to the test. Tests on one etcd take turns (a lock file),
 *                                      since its revision is shared.
 * Revisions are written relative to the store's revision when the test began (h_rev): SQLite
 * starts at 0, a shared etcd wherever earlier tests left it.
 */
#ifndef FOO_TEST_STORAGE_HARNESS_H
#define FOO_TEST_STORAGE_HARNESS_H

#include "storage/storage.h"

#include <stddef.h>
#include <stdint.h>

#define H_MAX 256

typedef struct h_event {
    st_event_type type;
    char *key;
    char *value;
    uint64_t rev;
} h_event;

typedef struct h_kv {
    char *key;
    char *value;
    uint64_t mod_rev;
} h_kv;

typedef struct h_kvs {
    h_kv kv[H_MAX];
    int n;
} h_kvs;

/* Path of the database file inside this test's temporary directory. */
extern char h_path[];

/* Criterion fixtures: make / remove the temporary directory, reset the recorder. */
void h_setup(void);
void h_teardown(void);

/* Whether this run tests the etcd backend. */
int h_is_etcd(void);
/* Ends the current test as skipped, with why, when the backend is etcd (SQLite-only tests). */
void h_skip_on_etcd(const char *why);
/* The revision n writes after the test began, and the same as a string (one of 8 static
   buffers used in turn: valid for the next 7 calls). */
uint64_t h_rev(uint64_t n);
const char *h_rvs(uint64_t n);
/* This test's etcd endpoint and key prefix (etcd only). */
const char *h_etcd_url(void);
const char *h_etcd_prefix(void);

/* Opens this test's store with defaults, asserting success (etcd: one write in flight, so that
   writes reach etcd in submit order, as the tests expect; no compaction). */
st_store *h_open(void);
/* Opens this test's store as a server would (etcd: many writes in flight). */
st_store *h_open_parallel(void);
/* Opens a SQLite store with opt (SQLite-only tests). */
st_store *h_open_opts(st_sqlite_options opt);
/* Opens with the recorder as sink. */
st_store *h_open_recorded(void);

/* A write whose done callback is the recorder's; json may be NULL (obj NULL). */
st_write *h_write(st_op op, const char *key, const char *json, uint64_t expect_rev);

/* The recorder's sink (ctx unused). */
void h_sink(void *ctx, st_event_type type, const char *key, const char *value, size_t len,
            uint64_t rev);
/* Blocks until n done callbacks have run in total (no sleeping: waits on a condition). */
void h_wait_done(int n);

/*
 * What the recorder saw, valid after h_wait_done() or st_close(). The order log has one entry per
 * sink call ("S <key> <rev>") and per done call ("D <key> <result>").
 */
int h_ndone(void);
st_write *h_done(int i);
int h_nevents(void);
const h_event *h_event_at(int i);
int h_norder(void);
const char *h_order(int i);

/* Collects st_load(prefix) into kvs (asserting it succeeds) and returns the revision. */
uint64_t h_load(st_store *s, const char *prefix, h_kvs *kvs);
void h_kvs_free(h_kvs *kvs);

/* Collects st_history(after_rev) into the recorder's events; returns *oldest. */
uint64_t h_history(st_store *s, uint64_t after_rev);

/* obj.metadata.resourceVersion of a JSON text, or "" (caller frees nothing: static buffer). */
const char *h_rv_of(const char *json);

#endif

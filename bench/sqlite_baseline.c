/*
 * sqlite_baseline.c - the baseline of the durable-create benchmark (docs/design.md §8): SQLite
 * doing one transaction per insert, WAL, synchronous=FULL (an fsync per commit), with N threads.
 *
 * Each transaction does what a storage layer without group commit does for one create: bump a
 * global revision and insert one ~1 KB JSON row under it. The threads take turns on a mutex
 * rather than on SQLite's busy handler, which sleeps and polls under contention; so this is the
 * best rate one-transaction-per-insert can reach, not one degraded by lock polling.
 *
 * Usage: sqlite_baseline DB_PATH THREADS SECONDS ROW_BYTES
 * Prints one line: "inserts N seconds S rate R" (R = inserts per second). Exit 1 on any error.
 * Built by bench/run.sh with cc; not part of the CMake build.
 */
#include "baseline_common.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct bench {
    const char *path;
    int seconds;
    int row_bytes;
    double start;
    pthread_mutex_t lock; /* one writer at a time, queued instead of busy-polling */
    atomic_long inserts;
    atomic_int failed;
} bench;

static int exec_sql(sqlite3 *db, const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        fprintf(stderr, "sqlite_baseline: %s: %s\n", sql, msg ? msg : "?");
        sqlite3_free(msg);
        return -1;
    }
    return 0;
}

/* Opens a connection with the durability settings of the benchmark. */
static sqlite3 *open_db(const char *path)
{
    sqlite3 *db = NULL;
    if (sqlite3_open(path, &db) != SQLITE_OK) {
        fprintf(stderr, "sqlite_baseline: open %s: %s\n", path, db ? sqlite3_errmsg(db) : "?");
        sqlite3_close(db);
        return NULL;
    }
    sqlite3_busy_timeout(db, 10000);
    if (exec_sql(db, "PRAGMA journal_mode=WAL") || exec_sql(db, "PRAGMA synchronous=FULL")) {
        sqlite3_close(db);
        return NULL;
    }
    return db;
}

static int create_schema(const char *path)
{
    sqlite3 *db = open_db(path);
    if (!db)
        return -1;
    int rc = exec_sql(db, "CREATE TABLE IF NOT EXISTS meta(id INTEGER PRIMARY KEY, rev INTEGER);"
                          "INSERT OR IGNORE INTO meta VALUES(1, 0);"
                          "CREATE TABLE IF NOT EXISTS kv(key TEXT PRIMARY KEY, rev INTEGER, "
                          "value BLOB) WITHOUT ROWID;");
    sqlite3_close(db);
    return rc;
}

/* A JSON document of exactly row_bytes bytes (padding in an annotation), like a stored Foo. */
static char *make_row(const char *name, int row_bytes)
{
    char head[256];
    int n = snprintf(head, sizeof head,
                     "{\"apiVersion\":\"demo.example.com/v1beta1\",\"kind\":\"Foo\",\"metadata\":"
                     "{\"name\":\"%s\",\"annotations\":{\"pad\":\"",
                     name);
    const char *tail = "\"}},\"spec\":{\"replicas\":1,\"image\":\"nginx:1.27\"}}";
    int pad = row_bytes - n - (int)strlen(tail);
    if (pad < 0)
        pad = 0;
    char *row = malloc((size_t)n + (size_t)pad + strlen(tail) + 1);
    if (!row)
        return NULL;
    memcpy(row, head, (size_t)n);
    memset(row + n, 'x', (size_t)pad);
    strcpy(row + n + pad, tail);
    return row;
}

/* One durable transaction: bump the revision, insert the row under it, commit (fsync). */
static int insert_one(sqlite3 *db, sqlite3_stmt *bump, sqlite3_stmt *put, const char *name,
                      const char *row)
{
    if (exec_sql(db, "BEGIN IMMEDIATE"))
        return -1;
    sqlite3_int64 rev = 0;
    int rc = sqlite3_step(bump);
    if (rc == SQLITE_ROW)
        rev = sqlite3_column_int64(bump, 0);
    sqlite3_reset(bump);
    if (rc != SQLITE_ROW)
        goto fail;
    sqlite3_bind_text(put, 1, name, -1, SQLITE_STATIC);
    sqlite3_bind_int64(put, 2, rev);
    sqlite3_bind_blob(put, 3, row, (int)strlen(row), SQLITE_STATIC);
    rc = sqlite3_step(put);
    sqlite3_reset(put);
    if (rc != SQLITE_DONE)
        goto fail;
    return exec_sql(db, "COMMIT");
fail:
    fprintf(stderr, "sqlite_baseline: insert: %s\n", sqlite3_errmsg(db));
    exec_sql(db, "ROLLBACK");
    return -1;
}

static void *run_worker(void *arg)
{
    baseline_worker *w = arg;
    bench *b = w->bench;
    sqlite3 *db = open_db(b->path);
    sqlite3_stmt *bump = NULL, *put = NULL;
    if (!db ||
        sqlite3_prepare_v2(db, "UPDATE meta SET rev = rev + 1 WHERE id = 1 RETURNING rev", -1,
                           &bump, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "INSERT INTO kv(key, rev, value) VALUES(?, ?, ?)", -1, &put, NULL) !=
            SQLITE_OK) {
        atomic_store(&b->failed, 1);
        goto out;
    }
    for (long i = 0; baseline_now_s() - b->start < b->seconds && !atomic_load(&b->failed); i++) {
        char name[64];
        snprintf(name, sizeof name, "bench-%d-%ld", w->id, i);
        char *row = make_row(name, b->row_bytes);
        if (!row) {
            atomic_store(&b->failed, 1);
            break;
        }
        pthread_mutex_lock(&b->lock);
        int rc = insert_one(db, bump, put, name, row);
        pthread_mutex_unlock(&b->lock);
        free(row);
        if (rc) {
            atomic_store(&b->failed, 1);
            break;
        }
        atomic_fetch_add(&b->inserts, 1);
    }
out:
    sqlite3_finalize(bump);
    sqlite3_finalize(put);
    sqlite3_close(db);
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: %s DB_PATH THREADS SECONDS ROW_BYTES\n", argv[0]);
        return 2;
    }
    bench b = {.path = argv[1], .seconds = atoi(argv[3]), .row_bytes = atoi(argv[4])};
    int threads = atoi(argv[2]);
    if (threads < 1 || threads > BASELINE_MAX_THREADS || b.seconds < 1 || b.row_bytes < 1) {
        fprintf(stderr, "sqlite_baseline: bad arguments\n");
        return 2;
    }
    if (create_schema(b.path))
        return 1;
    pthread_mutex_init(&b.lock, NULL);
    atomic_init(&b.inserts, 0);
    atomic_init(&b.failed, 0);
    b.start = baseline_now_s();
    int rc = baseline_run_threads("sqlite_baseline", threads, run_worker, &b, &b.failed);
    double elapsed = baseline_now_s() - b.start;
    pthread_mutex_destroy(&b.lock);
    if (rc || atomic_load(&b.failed))
        return 1;
    long n = atomic_load(&b.inserts);
    printf("inserts %ld seconds %.2f rate %.1f\n", n, elapsed, (double)n / elapsed);
    return 0;
}

/*
 * sqlite.c - the embedded SQLite backend of storage.h.
 *
 * Tables (created if missing):
 *   kv      (key TEXT PRIMARY KEY, value BLOB, create_rev, mod_rev) WITHOUT ROWID: current objects
 *   meta    (id = 1, rev): the global revision, so it survives deletes and restarts
 *   history (rev PRIMARY KEY, type, key, value): the last history_events events, for st_history
 *
 * One writer thread owns the connection after st_start(). It takes every queued write (up to
 * max_batch) and applies them in one BEGIN IMMEDIATE ... COMMIT: group commit, one fsync per
 * batch. Writes of a batch apply in submit order inside that transaction, so a later write sees an
 * earlier one. A write that fails its own check (exists, missing, stale revision) does not abort
 * the batch; a SQLite error anywhere does: the batch is rolled back and every write in it gets
 * ST_EIO. Revisions are assigned from a local counter that only becomes the store's revision once
 * COMMIT succeeded, so a rolled-back batch leaves no gap.
 *
 * A failed batch must not come back (docs/design.md, "Storage faults"). When a write or fsync of a
 * COMMIT fails, SQLite rolls the transaction back in memory, but its frames may already sit in
 * the -wal file, where WAL recovery at the next open would find them and replay a transaction
 * whose writes were answered 500. So after every failed batch the writer checks that the
 * database still ends at the last acknowledged revision and cuts the -wal file back to the end of
 * the last good commit (sqlite_wal.h), which it tracks through SQLite's WAL hook. Should that
 * check or cut fail, the store refuses every write (ST_EIO, without touching the file) until a
 * TRUNCATE checkpoint, tried again before each later batch, has copied the good frames into the
 * database and emptied the -wal file. Writes thus resume by themselves once the disk works;
 * reads never touch the file (the watch cache serves them). An fsync error is never retried as
 * if it could succeed later on the same data: the batch has failed, and later batches write and
 * sync their own frames afresh.
 *
 * All SQL run per write is prepared once at open. Every sqlite3_step() result is kept in a
 * variable before it is tested: a check macro that evaluated its argument twice would step twice
 * (docs/platform.md §6).
 */
#include "storage/backend.h"
#include "storage/queue.h"
#include "storage/sqlite_wal.h"

#include "common/alloc.h"
#include "common/json.h"
#include "common/log.h"

#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Defaults of st_sqlite_options, in one place. */
#define SQ_DEFAULT_SYNCHRONOUS_FULL 1
#define SQ_DEFAULT_MAX_BATCH        256
#define SQ_DEFAULT_HISTORY_EVENTS   10000
#define SQ_DEFAULT_BUSY_TIMEOUT_MS  5000

/* WAL frames after which a commit checkpoints them into the database: SQLite's own default,
   which setting our WAL hook replaces. */
#define SQ_CHECKPOINT_FRAMES 1000

static const char sq_schema[] =
    "CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value BLOB NOT NULL,"
    " create_rev INTEGER NOT NULL, mod_rev INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS meta (id INTEGER PRIMARY KEY CHECK (id = 1),"
    " rev INTEGER NOT NULL);"
    "INSERT OR IGNORE INTO meta (id, rev) VALUES (1, 0);"
    "CREATE TABLE IF NOT EXISTS history (rev INTEGER PRIMARY KEY, type TEXT NOT NULL,"
    " key TEXT NOT NULL, value BLOB NOT NULL);";

/* Statements prepared once at open and reused by the writer. */
enum sq_stmt_id {
    SQ_BEGIN,
    SQ_COMMIT,
    SQ_ROLLBACK,
    SQ_GET,
    SQ_INSERT,
    SQ_UPDATE,
    SQ_DELETE,
    SQ_HIST_ADD,
    SQ_HIST_TRIM,
    SQ_META_SET,
    SQ_NSTMT
};

static const char *const sq_sql[SQ_NSTMT] = {
    [SQ_BEGIN] = "BEGIN IMMEDIATE",
    [SQ_COMMIT] = "COMMIT",
    [SQ_ROLLBACK] = "ROLLBACK",
    [SQ_GET] = "SELECT mod_rev, value FROM kv WHERE key = ?1",
    [SQ_INSERT] = "INSERT INTO kv (key, value, create_rev, mod_rev) VALUES (?1, ?2, ?3, ?3)",
    [SQ_UPDATE] = "UPDATE kv SET value = ?2, mod_rev = ?3 WHERE key = ?1",
    [SQ_DELETE] = "DELETE FROM kv WHERE key = ?1",
    [SQ_HIST_ADD] = "INSERT INTO history (rev, type, key, value) VALUES (?1, ?2, ?3, ?4)",
    [SQ_HIST_TRIM] = "DELETE FROM history WHERE rev <= ?1",
    [SQ_META_SET] = "UPDATE meta SET rev = ?1 WHERE id = 1",
};

/* Event type names as stored in history.type (text, so the file explains itself). */
static const char *const sq_type_names[] = {
    [ST_ADDED] = "ADDED",
    [ST_MODIFIED] = "MODIFIED",
    [ST_DELETED] = "DELETED",
};

typedef struct sq_store {
    st_store base; /* first: st_store * and sq_store * convert both ways */
    sqlite3 *db;
    sqlite3_stmt *stmt[SQ_NSTMT];
    st_queue q;
    pthread_t thread;
    bool started;
    int max_batch;
    int history_events;
    st_sink_fn sink;
    void *sink_ctx;
    uint64_t rev;                 /* last committed revision; owned by the writer */
    char *wal_path;               /* the -wal file; owned */
    sq_wal_mark wal;              /* end of the last good commit; owned by the writer */
    bool refusing;                /* writes refused until the -wal file is emptied; writer's */
    _Atomic uint64_t public_rev;  /* copy of rev for st_current_rev() on other threads */
    _Atomic uint64_t commits;     /* transactions committed */
    _Atomic uint64_t good_writes; /* writes committed with ST_OK */
} sq_store;

static sq_store *sq_of(st_store *base)
{
    return (sq_store *)base;
}

/* ---- small helpers ---------------------------------------------------------------------- */

static void sq_log(sq_store *s, const char *what, int rc)
{
    log_kv(LOG_ERROR, "sqlite error", "op", what, "error", sqlite3_errstr(rc), "detail",
           sqlite3_errmsg(s->db), NULL);
}

/*
 * Runs prepared statement `id` to completion (it must return no row), then resets it and clears
 * its bindings so it holds no pointer into a write. bind_rc is the result of binding its
 * parameters: on failure the statement is not stepped. Returns SQLITE_OK or an error code.
 */
static int sq_exec(sq_store *s, enum sq_stmt_id id, int bind_rc)
{
    sqlite3_stmt *st = s->stmt[id];
    int rc = bind_rc;
    if (rc == SQLITE_OK) {
        rc = sqlite3_step(st);
        if (rc == SQLITE_DONE)
            rc = SQLITE_OK;
        else if (rc == SQLITE_ROW)
            rc = SQLITE_MISUSE; /* every statement run here returns no row */
    }
    if (rc != SQLITE_OK)
        sq_log(s, sq_sql[id], rc);
    /* reset() repeats the step's error, already handled; clear_bindings() cannot fail. */
    (void)sqlite3_reset(st);
    (void)sqlite3_clear_bindings(st);
    return rc;
}

/* Binds an int64 to a statement; ids are 1-based. uint64 revisions fit: they count writes. */
static int sq_bind_rev(sqlite3_stmt *st, int i, uint64_t rev)
{
    return sqlite3_bind_int64(st, i, (sqlite3_int64)rev);
}

/*
 * Runs a one-row, one-column query (not prepared ahead: only used at open and in st_history).
 * *is_null tells a NULL result apart. Returns SQLITE_OK or an error code (logged).
 */
static int sq_scalar(sq_store *s, const char *sql, int64_t *out, bool *is_null)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *is_null = sqlite3_column_type(st, 0) == SQLITE_NULL;
        *out = sqlite3_column_int64(st, 0);
        rc = SQLITE_OK;
    } else if (rc == SQLITE_DONE) {
        rc = SQLITE_CORRUPT; /* the queries used here always return one row */
    }
    if (rc != SQLITE_OK)
        sq_log(s, sql, rc);
    (void)sqlite3_finalize(st);
    return rc;
}

/* ---- one write --------------------------------------------------------------------------- */

static bool sq_write_valid(const st_write *w)
{
    if (!w->key || (w->op != ST_CREATE && w->op != ST_UPDATE && w->op != ST_DELETE))
        return false;
    if (w->op == ST_DELETE && !w->obj)
        return true; /* the stored object becomes the final state */
    return cJSON_IsObject(w->obj);
}

/*
 * Looks key up in the open transaction: *mod_rev = its mod_rev, 0 when absent (a stored row
 * always has mod_rev >= 1). With stored != NULL and the key present, *stored = the parsed stored
 * object (caller owns; NULL if it does not parse). Returns SQLITE_OK or an error code.
 */
static int sq_get(sq_store *s, const char *key, uint64_t *mod_rev, cJSON **stored)
{
    sqlite3_stmt *st = s->stmt[SQ_GET];
    *mod_rev = 0;
    int rc = sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *mod_rev = (uint64_t)sqlite3_column_int64(st, 0);
        if (stored) {
            const void *v = sqlite3_column_blob(st, 1);
            int n = sqlite3_column_bytes(st, 1);
            *stored = v ? cJSON_ParseWithLength(v, (size_t)n) : NULL;
        }
        rc = SQLITE_OK;
    } else if (rc == SQLITE_DONE) {
        rc = SQLITE_OK;
    } else {
        sq_log(s, sq_sql[SQ_GET], rc);
    }
    (void)sqlite3_reset(st);
    (void)sqlite3_clear_bindings(st);
    return rc;
}

/* The result a write gets given the key's current mod_rev (0 = absent). */
static int sq_check(const st_write *w, uint64_t mod_rev)
{
    if (w->op == ST_CREATE)
        return mod_rev ? ST_EEXIST : ST_OK;
    if (!mod_rev)
        return ST_ENOENT;
    if (w->expect_rev != 0 && w->expect_rev != mod_rev)
        return ST_ECONFLICT;
    return ST_OK;
}

static st_event_type sq_event_type(st_op op)
{
    if (op == ST_CREATE)
        return ST_ADDED;
    return op == ST_UPDATE ? ST_MODIFIED : ST_DELETED;
}

/* Writes the kv row change of a checked, stamped write at revision rev. */
static int sq_put_row(sq_store *s, const st_write *w, uint64_t rev)
{
    enum sq_stmt_id id = w->op == ST_CREATE   ? SQ_INSERT
                         : w->op == ST_UPDATE ? SQ_UPDATE
                                              : SQ_DELETE;
    sqlite3_stmt *st = s->stmt[id];
    int rc = sqlite3_bind_text(st, 1, w->key, -1, SQLITE_STATIC);
    if (rc == SQLITE_OK && id != SQ_DELETE)
        rc = sqlite3_bind_blob64(st, 2, w->value, w->value_len, SQLITE_STATIC);
    if (rc == SQLITE_OK && id != SQ_DELETE)
        rc = sq_bind_rev(st, 3, rev);
    return sq_exec(s, id, rc);
}

/* Appends the event of a write to the history table. */
static int sq_add_history(sq_store *s, const st_write *w, uint64_t rev)
{
    sqlite3_stmt *st = s->stmt[SQ_HIST_ADD];
    int rc = sq_bind_rev(st, 1, rev);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_text(st, 2, sq_type_names[sq_event_type(w->op)], -1, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_text(st, 3, w->key, -1, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_blob64(st, 4, w->value, w->value_len, SQLITE_STATIC);
    return sq_exec(s, SQ_HIST_ADD, rc);
}

/*
 * Applies one write inside the open transaction. Its own failures (exists, missing, conflict,
 * invalid) go to w->result and return SQLITE_OK; only a SQLite error is returned, and it fails
 * the whole batch. On success w->rev = ++*rev and w->value holds the stored JSON.
 */
static int sq_apply(sq_store *s, st_write *w, uint64_t *rev)
{
    st_write_reset_outputs(w);
    if (!sq_write_valid(w)) {
        w->result = ST_EINVAL;
        return SQLITE_OK;
    }
    uint64_t mod_rev = 0;
    cJSON *stored = NULL;
    int rc = sq_get(s, w->key, &mod_rev, w->op == ST_DELETE && !w->obj ? &stored : NULL);
    if (rc != SQLITE_OK)
        return rc;
    w->result = sq_check(w, mod_rev);
    if (w->result == ST_OK && w->op == ST_DELETE && !w->obj) {
        if (cJSON_IsObject(stored)) {
            w->obj = stored; /* the write owns obj; the caller gets it back in done() */
            stored = NULL;
        } else {
            log_kv(LOG_ERROR, "stored value is not a JSON object", "key", w->key, NULL);
            w->result = ST_EIO;
        }
    }
    cJSON_Delete(stored);
    if (w->result != ST_OK)
        return SQLITE_OK;

    uint64_t next = *rev + 1;
    st_write_stamp(w, next);
    if (w->op != ST_DELETE && w->value_len > ST_MAX_OBJECT_BYTES) {
        st_write_reset_outputs(w);
        w->result = ST_ETOOLARGE;
        return SQLITE_OK;
    }
    rc = sq_put_row(s, w, next);
    if (rc == SQLITE_OK)
        rc = sq_add_history(s, w, next);
    if (rc != SQLITE_OK)
        return rc;
    w->rev = next;
    *rev = next;
    return SQLITE_OK;
}

/* ---- one batch --------------------------------------------------------------------------- */

/* Drops history events older than the last history_events ones, as of revision rev. */
static int sq_trim_history(sq_store *s, uint64_t rev)
{
    if (rev <= (uint64_t)s->history_events)
        return SQLITE_OK;
    sqlite3_stmt *st = s->stmt[SQ_HIST_TRIM];
    return sq_exec(s, SQ_HIST_TRIM, sq_bind_rev(st, 1, rev - (uint64_t)s->history_events));
}

/* Records the batch's last revision in meta and trims history, in the batch's transaction. */
static int sq_end_batch(sq_store *s, uint64_t rev)
{
    if (rev == s->rev)
        return SQLITE_OK; /* every write failed its check: nothing to record */
    int rc = sq_exec(s, SQ_META_SET, sq_bind_rev(s->stmt[SQ_META_SET], 1, rev));
    if (rc == SQLITE_OK)
        rc = sq_trim_history(s, rev);
    return rc;
}

/* After COMMIT: publishes the new revision, counts, and feeds the sink in revision order. */
static void sq_publish(sq_store *s, st_write *batch, uint64_t rev)
{
    uint64_t good = 0;
    s->rev = rev;
    atomic_store(&s->public_rev, rev);
    for (st_write *w = batch; w; w = w->next) {
        if (w->result != ST_OK)
            continue;
        good++;
        if (s->sink)
            s->sink(s->sink_ctx, sq_event_type(w->op), w->key, w->value, w->value_len, w->rev);
    }
    atomic_fetch_add(&s->commits, 1);
    atomic_fetch_add(&s->good_writes, good);
}

/* After a failure in the transaction: rolls it back; every write of the batch gets ST_EIO. */
static void sq_abort(sq_store *s, st_write *batch)
{
    /* Some errors (e.g. a full disk) already rolled back; ROLLBACK then would only fail. */
    if (!sqlite3_get_autocommit(s->db))
        (void)sq_exec(s, SQ_ROLLBACK, SQLITE_OK); /* logged; nothing more can be done */
    unsigned n = 0;
    for (st_write *w = batch; w; w = w->next, n++) {
        st_write_reset_outputs(w);
        w->result = ST_EIO;
    }
    char count[16];
    snprintf(count, sizeof(count), "%u", n);
    log_kv(LOG_ERROR, "storage batch rolled back", "writes", count, NULL);
}

/* Hands every write back through its done callback, in submit order. */
static void sq_complete(st_write *batch)
{
    while (batch) {
        st_write *w = batch;
        batch = w->next; /* read first: done() gives w back to its owner, who may free it */
        w->next = NULL;
        w->done(w);
    }
}

/* ---- after a failed batch (see the top of this file) ---------------------------------------- */

/*
 * Records that the last good commit ends after `frames` frames of the -wal file. When every one
 * of them is also in the database, the next commit may restart the file, so salt-1 is noted to
 * tell later whether it did (without it the end is unknown: no cut until a TRUNCATE).
 */
static void sq_mark_wal(sq_store *s, int frames, bool all_checkpointed)
{
    s->wal.known = frames >= 0;
    s->wal.mx_frame = frames >= 0 ? (uint32_t)frames : 0;
    s->wal.may_restart = false;
    if (s->wal.known && frames > 0 && all_checkpointed) {
        s->wal.may_restart = true;
        s->wal.known = sq_wal_salt1(s->wal_path, &s->wal.salt1) == 0;
    }
}

/*
 * SQLite's WAL hook, run inside each COMMIT that wrote frames, with the frame count of the file
 * after it: marks where the good commit ends, and checkpoints as SQLite's default hook would.
 * Always SQLITE_OK: the commit succeeded; a failed checkpoint is retried at the next one.
 */
static int sq_wal_hook(void *arg, sqlite3 *db, const char *schema, int frames)
{
    sq_store *s = arg;
    bool all_checkpointed = false;
    if (frames >= SQ_CHECKPOINT_FRAMES) {
        int log_frames = -1, done_frames = -1;
        int rc = sqlite3_wal_checkpoint_v2(db, schema, SQLITE_CHECKPOINT_PASSIVE, &log_frames,
                                           &done_frames);
        all_checkpointed = rc == SQLITE_OK && done_frames == frames;
    }
    sq_mark_wal(s, frames, all_checkpointed);
    return SQLITE_OK;
}

/*
 * Copies every good frame into the database and empties the -wal file (the failed frames with
 * it), then syncs it. Returns 0 (the end of the last good commit is then known again) or -1.
 */
static int sq_clear_wal(sq_store *s)
{
    int log_frames = -1, done_frames = -1;
    int rc = sqlite3_wal_checkpoint_v2(s->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, &log_frames,
                                       &done_frames);
    if (rc != SQLITE_OK) {
        sq_log(s, "wal_checkpoint(TRUNCATE)", rc);
        return -1;
    }
    sq_mark_wal(s, 0, false);
    return sq_wal_cut(s->wal_path, &s->wal) == 0 ? 0 : -1;
}

/* Enters or leaves the refusing state, logging each change once. */
static void sq_set_refusing(sq_store *s, bool refusing, const char *why)
{
    if (s->refusing == refusing)
        return;
    s->refusing = refusing;
    if (refusing)
        log_kv(LOG_ERROR, "storage refuses writes until its WAL file can be emptied", "reason", why,
               "path", s->wal_path, NULL);
    else
        log_kv(LOG_INFO, "storage takes writes again", "path", s->wal_path, NULL);
}

/*
 * After a rolled-back batch: makes sure its frames cannot be replayed. The database must still
 * end at the acknowledged revision (if a failed COMMIT had nonetheless committed, cutting it
 * would corrupt the file, so the store refuses writes instead).
 */
static void sq_forget_failed_batch(sq_store *s)
{
    int64_t stored = -1;
    bool is_null = false;
    if (sq_scalar(s, "SELECT rev FROM meta WHERE id = 1", &stored, &is_null) != SQLITE_OK ||
        is_null || (uint64_t)stored != s->rev) {
        sq_set_refusing(s, true, "cannot confirm the database ends at the last acknowledged write");
        return;
    }
    int rc = sq_wal_cut(s->wal_path, &s->wal);
    if (rc < 0)
        sq_set_refusing(s, true,
                        rc == -EINVAL ? "end of the last good commit unknown"
                                      : "cannot cut the failed commit from the WAL file");
}

/* In the refusing state every write fails at once, without touching the file. */
static void sq_refuse(st_write *batch)
{
    for (st_write *w = batch; w; w = w->next) {
        st_write_reset_outputs(w);
        w->result = ST_EIO;
    }
}

/* ---- one batch, start to end ----------------------------------------------------------------- */

/* Runs one batch as one transaction, then reports events and results. */
static void sq_run_batch(sq_store *s, st_write *batch)
{
    if (s->refusing && sq_clear_wal(s) != 0) {
        sq_refuse(batch);
        sq_complete(batch);
        return;
    }
    sq_set_refusing(s, false, NULL);
    uint64_t rev = s->rev;
    int rc = sq_exec(s, SQ_BEGIN, SQLITE_OK);
    for (st_write *w = batch; rc == SQLITE_OK && w; w = w->next)
        rc = sq_apply(s, w, &rev);
    if (rc == SQLITE_OK)
        rc = sq_end_batch(s, rev);
    if (rc == SQLITE_OK)
        rc = sq_exec(s, SQ_COMMIT, SQLITE_OK);
    if (rc == SQLITE_OK) {
        sq_publish(s, batch, rev);
    } else {
        sq_abort(s, batch);
        sq_forget_failed_batch(s);
    }
    sq_complete(batch);
}

static void *sq_writer(void *arg)
{
    sq_store *s = arg;
    st_write *batch;
    while ((batch = stq_take(&s->q, s->max_batch, true)) != NULL)
        sq_run_batch(s, batch);
    return NULL;
}

/* ---- open and close ---------------------------------------------------------------------- */

/* Fills *err for a failed step of the open (SQLite's message is the connection's last error). */
static int sq_open_error(sq_store *s, const char *path, const char *step, api_error *err)
{
    apierr_set(err, 500, "InternalError", "cannot open sqlite store %s: %s: %s", path, step,
               s->db ? sqlite3_errmsg(s->db) : "out of memory");
    return -1;
}

/* Switches the file to WAL; the pragma answers with the journal mode actually in effect. */
static int sq_set_wal(sq_store *s)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(s->db, "PRAGMA journal_mode=WAL", -1, &st, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        const char *mode = (const char *)sqlite3_column_text(st, 0);
        rc = mode && strcmp(mode, "wal") == 0 ? SQLITE_OK : SQLITE_CANTOPEN;
    }
    (void)sqlite3_finalize(st);
    return rc;
}

/* Opens the file and sets it up. Returns 0, or -1 with *err naming the step that failed. */
static int sq_open_db(sq_store *s, const st_sqlite_options *opt, api_error *err)
{
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    if (sqlite3_open_v2(opt->path, &s->db, flags, NULL) != SQLITE_OK)
        return sq_open_error(s, opt->path, "open", err);
    if (sqlite3_busy_timeout(s->db, opt->busy_timeout_ms) != SQLITE_OK)
        return sq_open_error(s, opt->path, "busy_timeout", err);
    if (sq_set_wal(s) != SQLITE_OK)
        return sq_open_error(s, opt->path, "journal_mode=WAL", err);
    const char *sync =
        opt->synchronous_full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL";
    if (sqlite3_exec(s->db, sync, NULL, NULL, NULL) != SQLITE_OK)
        return sq_open_error(s, opt->path, sync, err);
    if (sqlite3_exec(s->db, sq_schema, NULL, NULL, NULL) != SQLITE_OK)
        return sq_open_error(s, opt->path, "schema", err);
    return 0;
}

static int sq_prepare_all(sq_store *s, const char *path, api_error *err)
{
    for (int i = 0; i < SQ_NSTMT; i++) {
        /* PERSISTENT: these live as long as the connection. */
        int rc =
            sqlite3_prepare_v3(s->db, sq_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &s->stmt[i], NULL);
        if (rc != SQLITE_OK)
            return sq_open_error(s, path, sq_sql[i], err);
    }
    return 0;
}

/* Reads the stored revision and applies a history_events lowered since the last run. */
static int sq_load_rev(sq_store *s, const char *path, api_error *err)
{
    int64_t rev = 0;
    bool is_null = false;
    if (sq_scalar(s, "SELECT rev FROM meta WHERE id = 1", &rev, &is_null) != SQLITE_OK || is_null ||
        rev < 0)
        return sq_open_error(s, path, "reading the revision", err);
    s->rev = (uint64_t)rev;
    atomic_store(&s->public_rev, s->rev);
    if (sq_trim_history(s, s->rev) != SQLITE_OK)
        return sq_open_error(s, path, "trimming the history", err);
    return 0;
}

/*
 * Installs the WAL hook and learns where the last good commit ends before the first batch, from
 * a PASSIVE checkpoint (its frame count is the file's; it never waits for other processes). If
 * that fails the end stays unknown, which only matters if a batch fails: writes are then refused
 * until a TRUNCATE checkpoint succeeds.
 */
static int sq_setup_wal(sq_store *s, const char *path, api_error *err)
{
    const char *wal = sqlite3_filename_wal(sqlite3_db_filename(s->db, "main"));
    int64_t page_size = 0;
    bool is_null = false;
    if (!wal || sq_scalar(s, "PRAGMA page_size", &page_size, &is_null) != SQLITE_OK || is_null ||
        page_size <= 0 || page_size > 65536)
        return sq_open_error(s, path, "reading the page size", err);
    s->wal_path = xstrdup(wal);
    s->wal.page_size = (uint32_t)page_size;
    (void)sqlite3_wal_hook(s->db, sq_wal_hook, s); /* returns the previous hook's argument */
    int log_frames = -1, done_frames = -1;
    int rc = sqlite3_wal_checkpoint_v2(s->db, NULL, SQLITE_CHECKPOINT_PASSIVE, &log_frames,
                                       &done_frames);
    if (rc == SQLITE_OK)
        sq_mark_wal(s, log_frames, log_frames == done_frames);
    else
        sq_log(s, "wal_checkpoint(PASSIVE)", rc); /* the mark stays unknown */
    return 0;
}

/* Finalizes, closes and frees; the queue must be initialized, empty and unused. */
static void sq_free(sq_store *s)
{
    for (int i = 0; i < SQ_NSTMT; i++)
        (void)sqlite3_finalize(s->stmt[i]); /* NULL is a no-op; errors were reported by step */
    int rc = sqlite3_close(s->db);
    if (rc != SQLITE_OK)
        log_kv(LOG_ERROR, "sqlite close failed", "error", sqlite3_errstr(rc), NULL);
    stq_deinit(&s->q);
    free(s->wal_path);
    free(s);
}

static bool sq_options_valid(const st_sqlite_options *opt)
{
    return opt && opt->path && opt->path[0] && opt->max_batch >= 1 && opt->history_events >= 0 &&
           opt->busy_timeout_ms >= 0;
}

st_sqlite_options st_sqlite_defaults(const char *path)
{
    return (st_sqlite_options){
        .path = path,
        .synchronous_full = SQ_DEFAULT_SYNCHRONOUS_FULL,
        .max_batch = SQ_DEFAULT_MAX_BATCH,
        .history_events = SQ_DEFAULT_HISTORY_EVENTS,
        .busy_timeout_ms = SQ_DEFAULT_BUSY_TIMEOUT_MS,
    };
}

static const st_backend_ops sq_ops;

st_store *st_sqlite_open(const st_sqlite_options *opt, api_error *err)
{
    if (!sq_options_valid(opt)) {
        apierr_set(err, 400, "BadRequest",
                   "invalid sqlite store options: a path, max_batch >= 1, history_events >= 0 "
                   "and busy_timeout_ms >= 0 are required");
        return NULL;
    }
    sq_store *s = xcalloc(1, sizeof(*s));
    s->base.ops = &sq_ops;
    s->max_batch = opt->max_batch;
    s->history_events = opt->history_events;
    if (stq_init(&s->q) != 0) {
        apierr_set(err, 500, "InternalError", "cannot create the storage queue");
        free(s);
        return NULL;
    }
    if (sq_open_db(s, opt, err) != 0 || sq_prepare_all(s, opt->path, err) != 0 ||
        sq_load_rev(s, opt->path, err) != 0 || sq_setup_wal(s, opt->path, err) != 0) {
        sq_free(s);
        return NULL;
    }
    return &s->base;
}

/* ---- the st_* operations ----------------------------------------------------------------- */

static int sq_load(st_store *base, const char *prefix, st_kv_fn fn, void *ctx, uint64_t *rev)
{
    sq_store *s = sq_of(base);
    const char *sql = "SELECT key, value, mod_rev FROM kv WHERE key >= ?1 ORDER BY key";
    size_t plen = strlen(prefix);
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_text(st, 1, prefix, -1, SQLITE_STATIC);
    if (rc == SQLITE_OK) {
        /* Keys compare bytewise, so the keys with the prefix are the run starting at it. */
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
            const char *key = (const char *)sqlite3_column_text(st, 0);
            if (key && strncmp(key, prefix, plen) != 0) {
                rc = SQLITE_DONE;
                break;
            }
            /* column_text (unlike column_blob) is NUL-terminated; NULL only when out of memory. */
            const char *value = (const char *)sqlite3_column_text(st, 1);
            size_t len = (size_t)sqlite3_column_bytes(st, 1);
            if (!key || !value) {
                rc = SQLITE_NOMEM;
                break;
            }
            fn(ctx, key, value, len, (uint64_t)sqlite3_column_int64(st, 2));
        }
    }
    if (rc != SQLITE_DONE)
        sq_log(s, sql, rc);
    (void)sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return ST_EIO;
    if (rev)
        *rev = s->rev;
    return ST_OK;
}

static int sq_parse_type(const char *name, st_event_type *type)
{
    for (int t = ST_ADDED; t <= ST_DELETED; t++) {
        if (name && strcmp(name, sq_type_names[t]) == 0) {
            *type = (st_event_type)t;
            return SQLITE_OK;
        }
    }
    return SQLITE_CORRUPT;
}

/* Replays history rows with rev > after_rev. Returns SQLITE_OK or an error code (logged). */
static int sq_replay(sq_store *s, uint64_t after_rev, st_sink_fn fn, void *ctx)
{
    const char *sql = "SELECT rev, type, key, value FROM history WHERE rev > ?1 ORDER BY rev";
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
    if (rc == SQLITE_OK)
        rc = sq_bind_rev(st, 1, after_rev > INT64_MAX ? (uint64_t)INT64_MAX : after_rev);
    while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        st_event_type type = ST_ADDED;
        rc = sq_parse_type((const char *)sqlite3_column_text(st, 1), &type);
        const char *key = (const char *)sqlite3_column_text(st, 2);
        const char *value = (const char *)sqlite3_column_text(st, 3);
        size_t len = (size_t)sqlite3_column_bytes(st, 3);
        if (rc == SQLITE_OK && (!key || !value))
            rc = SQLITE_NOMEM;
        if (rc == SQLITE_OK)
            fn(ctx, type, key, value, len, (uint64_t)sqlite3_column_int64(st, 0));
    }
    if (rc == SQLITE_DONE)
        rc = SQLITE_OK;
    if (rc != SQLITE_OK)
        sq_log(s, sql, rc);
    (void)sqlite3_finalize(st);
    return rc;
}

static int sq_history(st_store *base, uint64_t after_rev, st_sink_fn fn, void *ctx,
                      uint64_t *oldest)
{
    sq_store *s = sq_of(base);
    int64_t first = 0;
    bool empty = false;
    if (sq_scalar(s, "SELECT min(rev) FROM history", &first, &empty) != SQLITE_OK)
        return ST_EIO;
    if (sq_replay(s, after_rev, fn, ctx) != SQLITE_OK)
        return ST_EIO;
    if (oldest)
        /* With nothing retained, only a watch from the current revision can be served. */
        *oldest = empty || first < 1 ? s->rev : (uint64_t)first - 1;
    return ST_OK;
}

static void sq_set_sink(st_store *base, st_sink_fn fn, void *ctx)
{
    sq_store *s = sq_of(base);
    s->sink = fn;
    s->sink_ctx = ctx;
}

static int sq_start(st_store *base)
{
    sq_store *s = sq_of(base);
    if (s->started)
        return -EALREADY;
    /* The writer inherits a fully blocked mask, so process signals go to the program's threads. */
    sigset_t all, old;
    sigfillset(&all);
    int rc = pthread_sigmask(SIG_SETMASK, &all, &old);
    if (rc != 0)
        return -rc;
    rc = pthread_create(&s->thread, NULL, sq_writer, s);
    int mask_rc = pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (mask_rc != 0)
        log_kv(LOG_ERROR, "cannot restore the signal mask", "error", strerror(mask_rc), NULL);
    if (rc != 0)
        return -rc;
    s->started = true;
    return 0;
}

static void sq_submit(st_store *base, st_write *w)
{
    sq_store *s = sq_of(base);
    if (stq_push(&s->q, w))
        return;
    st_write_reset_outputs(w);
    w->result = ST_ECLOSED;
    w->next = NULL;
    w->done(w);
}

static uint64_t sq_current_rev(st_store *base)
{
    return atomic_load(&sq_of(base)->public_rev);
}

/* One process holds every write of the file: what it committed is the consistent read point. */
static int sq_sync_rev(st_store *base, int timeout_ms, uint64_t *rev, api_error *err)
{
    (void)timeout_ms;
    (void)err;
    *rev = sq_current_rev(base);
    return 0;
}

static void sq_stats(st_store *base, uint64_t *commits, uint64_t *writes)
{
    sq_store *s = sq_of(base);
    *commits = atomic_load(&s->commits);
    *writes = atomic_load(&s->good_writes);
}

static void sq_close(st_store *base)
{
    sq_store *s = sq_of(base);
    stq_close(&s->q);
    if (s->started) {
        /* The writer drains the closed queue, then returns. */
        int rc = pthread_join(s->thread, NULL);
        if (rc != 0)
            log_kv(LOG_ERROR, "cannot join the storage writer", "error", strerror(rc), NULL);
    } else {
        /* Never started: commit what was queued on this thread. */
        st_write *batch;
        while ((batch = stq_take(&s->q, s->max_batch, false)) != NULL)
            sq_run_batch(s, batch);
    }
    sq_free(s);
}

static const st_backend_ops sq_ops = {
    .load = sq_load,
    .history = sq_history,
    .set_sink = sq_set_sink,
    .start = sq_start,
    .submit = sq_submit,
    .current_rev = sq_current_rev,
    .sync_rev = sq_sync_rev,
    .stats = sq_stats,
    .close = sq_close,
};

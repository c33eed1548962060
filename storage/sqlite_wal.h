/*
 * sqlite_wal.h - private to sqlite.c: erasing from a SQLite WAL file the frames of a commit that
 * failed (docs/design.md, "Storage faults").
 *
 * Why: when the write or fsync of a COMMIT fails, SQLite rolls the transaction back in memory,
 * but the frames it already wrote, commit frame included, can stay in the -wal file. The live
 * connection ignores them (its wal-index ends at the last good commit) and the next successful
 * commit overwrites them, but WAL recovery at the next open (after a crash, or a shutdown whose
 * checkpoint failed) would replay them: a write answered 500 would come back. So right after a
 * failed commit, the writer cuts the file back to the end of its last good commit.
 *
 * The WAL file format (SQLite's documented on-disk format, stable since 3.7.0): a 32-byte header
 * (magic, version, page size, checkpoint sequence, salt-1 at byte 16, salt-2, checksums), then
 * frames of a 24-byte header plus one page each. Frame n (from 1) ends at 32 + n * (24 + page).
 * Only a writer that finds every frame copied into the database restarts the file: it writes a
 * new header (salt-1 + 1) and starts again at frame 1.
 */
#ifndef FOO_STORAGE_SQLITE_WAL_H
#define FOO_STORAGE_SQLITE_WAL_H

#include <stdbool.h>
#include <stdint.h>

/* Where the last good commit ended, as the writer thread tracks it (sqlite.c). */
typedef struct sq_wal_mark {
    bool known;         /* false until the first point is known (then no cut is possible) */
    uint32_t mx_frame;  /* frames in the file after the last good commit (SQLite's WAL hook) */
    bool may_restart;   /* every frame was checkpointed since: the next commit may restart */
    uint32_t salt1;     /* with may_restart: salt-1 of the header when that was found */
    uint32_t page_size; /* the database's page size */
} sq_wal_mark;

/*
 * Reads salt-1 from the header of the WAL file at path into *salt1. Returns 0, or a negative
 * errno (-ENODATA when the file is shorter than a header). Any thread; no shared state.
 */
int sq_wal_salt1(const char *path, uint32_t *salt1);

/*
 * Truncates the WAL file at path to the end of the last good commit described by m, and fsyncs
 * it so the cut outlives a power loss (an fsync failure is logged, not returned: the cut already
 * holds for a crash of the process, and the next commit's fsync covers the file again). A file
 * already no longer than that is left alone. Only call it while the connection that owns the file
 * has no transaction open and nothing else writes it (the storage writer thread after a failed
 * batch). Returns 0, -EINVAL if m is not known, or a negative errno from the file system.
 */
int sq_wal_cut(const char *path, const sq_wal_mark *m);

#endif

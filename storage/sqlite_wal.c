/*
 * sqlite_wal.c - cutting a failed commit out of a SQLite WAL file (see sqlite_wal.h).
 */
#include "storage/sqlite_wal.h"

#include "common/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define WAL_HEADER_BYTES       32
#define WAL_SALT1_OFFSET       16
#define WAL_FRAME_HEADER_BYTES 24

int sq_wal_salt1(const char *path, uint32_t *salt1)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    unsigned char b[4];
    ssize_t n = pread(fd, b, sizeof(b), WAL_SALT1_OFFSET);
    int rc = n == (ssize_t)sizeof(b) ? 0 : n < 0 ? -errno : -ENODATA;
    close(fd);
    if (rc == 0) /* big-endian, as every integer of the format */
        *salt1 = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
    return rc;
}

/*
 * The file size that keeps exactly the last good commit. If every frame had been checkpointed,
 * the failed commit may have restarted the file (its header then carries a new salt-1): what
 * the old frames held is in the database, so only a header is kept, and the next writer rewrites
 * it. With the old header still there, the old frames stay: replaying them is harmless.
 */
static int wal_good_size(const char *path, const sq_wal_mark *m, off_t *size)
{
    uint32_t frames = m->mx_frame;
    if (m->may_restart) {
        uint32_t salt1 = 0;
        int rc = sq_wal_salt1(path, &salt1);
        if (rc == -ENODATA)
            salt1 = m->salt1; /* no header at all: nothing to cut below it */
        else if (rc < 0)
            return rc;
        if (salt1 != m->salt1)
            frames = 0;
    }
    *size = WAL_HEADER_BYTES + (off_t)frames * (WAL_FRAME_HEADER_BYTES + (off_t)m->page_size);
    return 0;
}

int sq_wal_cut(const char *path, const sq_wal_mark *m)
{
    if (!m->known || m->page_size == 0)
        return -EINVAL;
    off_t good = 0;
    int rc = wal_good_size(path, m, &good);
    if (rc < 0)
        return rc;
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? 0 : -errno; /* no file: nothing to replay */
    struct stat st;
    rc = fstat(fd, &st) == 0 ? 0 : -errno;
    if (rc == 0 && st.st_size > good) {
        rc = ftruncate(fd, good) == 0 ? 0 : -errno;
        char from[24], to[24];
        snprintf(from, sizeof(from), "%lld", (long long)st.st_size);
        snprintf(to, sizeof(to), "%lld", (long long)good);
        log_kv(rc == 0 ? LOG_WARN : LOG_ERROR,
               rc == 0 ? "WAL file cut back to the last good commit"
                       : "cannot cut the WAL file back to the last good commit",
               "path", path, "bytes", from, "to", to, NULL);
        if (rc == 0 && fdatasync(fd) != 0)
            log_kv(LOG_ERROR, "cannot sync the cut WAL file", "path", path, "error",
                   strerror(errno), NULL);
    }
    close(fd);
    return rc;
}

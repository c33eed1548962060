/*
 * sqlite_faults_test.c - the SQLite backend on a failing disk (docs/design.md, "Storage faults"):
 * a batch whose write or fsync fails gets ST_EIO, takes no revision, and never comes back when
 * the file is opened again, even when the fault outlives the store; writes resume once the disk
 * works. SQLite only (the etcd runs skip these).
 *
 * The failing disk: this file defines fdatasync() and pwrite64(), the calls through which SQLite
 * syncs and writes on Linux, and ftruncate(), through which the store cuts its -wal file. The test
 * binary's definitions take precedence over libc's for libsqlite3 too (the dynamic linker searches
 * the executable first), so they can fail chosen calls; the rest go on to the next definition (the
 * sanitizer's interceptor, or libc). test/faults/faultfs.c is the same idea as an LD_PRELOAD shim,
 * for a whole server.
 */
#include "harness.h"

#include "storage/sqlite_wal.h"

#include <criterion/criterion.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- the failing disk -------------------------------------------------------------------- */

enum { DISK_WRITE = 1, DISK_SYNC = 2, DISK_TRUNCATE = 4 };

/* What fails: calls of kind `calls` on files whose path ends with `suffix`, after `skip` such
   calls went through. Set by the test thread while no write is in flight (the writer thread
   is waiting for the queue); the counters are atomic since the writer updates them. */
static struct {
    int calls;
    int err;
    char suffix[16];
    atomic_int skip;
    atomic_int failed;   /* calls failed so far */
    atomic_int db_syncs; /* fdatasync calls on the database file itself (checkpoints) */
} disk;

static void disk_fail(int calls, int err, const char *suffix, int skip)
{
    disk.calls = calls;
    disk.err = err;
    snprintf(disk.suffix, sizeof(disk.suffix), "%s", suffix);
    atomic_store(&disk.skip, skip);
}

static void disk_ok(void)
{
    disk.calls = 0;
}

static bool path_of(int fd, char *path, size_t cap)
{
    char link[64];
    snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, path, cap - 1);
    if (n <= 0)
        return false;
    path[n] = '\0';
    return true;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* Whether this call fails; counts database syncs on the way. Keeps errno unless failing. */
static bool disk_fails(int fd, int call)
{
    char path[4096];
    int saved = errno;
    bool known = h_path[0] && path_of(fd, path, sizeof(path)) && strstr(path, h_path) == path;
    errno = saved;
    if (!known)
        return false;
    if (call == DISK_SYNC && strcmp(path, h_path) == 0)
        atomic_fetch_add(&disk.db_syncs, 1);
    if (!(disk.calls & call) || !ends_with(path, disk.suffix))
        return false;
    if (atomic_fetch_sub(&disk.skip, 1) > 0)
        return false;
    atomic_fetch_add(&disk.failed, 1);
    errno = disk.err;
    return true;
}

int fdatasync(int fd)
{
    int (*next)(int) = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
    return disk_fails(fd, DISK_SYNC) ? -1 : next(fd);
}

ssize_t pwrite64(int fd, const void *buf, size_t n, off64_t off)
{
    ssize_t (*next)(int, const void *, size_t, off64_t) =
        (ssize_t(*)(int, const void *, size_t, off64_t))dlsym(RTLD_NEXT, "pwrite64");
    return disk_fails(fd, DISK_WRITE) ? -1 : next(fd, buf, n, off);
}

int ftruncate(int fd, off_t len)
{
    int (*next)(int, off_t) = (int (*)(int, off_t))dlsym(RTLD_NEXT, "ftruncate");
    return disk_fails(fd, DISK_TRUNCATE) ? -1 : next(fd, len);
}

/* ---- helpers ----------------------------------------------------------------------------- */

static void setup(void)
{
    h_setup();
    disk_ok();
    atomic_store(&disk.failed, 0);
    atomic_store(&disk.db_syncs, 0);
}

static void teardown(void)
{
    disk_ok();
    h_teardown();
}

TestSuite(sqlite_faults, .init = setup, .fini = teardown, .timeout = 60);

/* Opens and starts the store of this test. */
static st_store *open_started(void)
{
    h_skip_on_etcd("SQLite's own files on a failing disk");
    st_store *s = h_open();
    cr_assert_eq(st_start(s), 0);
    return s;
}

/* Submits one write and waits for it; returns its result. *done counts the writes so far. */
static int write_one(st_store *s, st_op op, const char *key, const char *json, int *done)
{
    st_submit(s, h_write(op, key, json, 0));
    h_wait_done(++*done);
    return h_done(*done - 1)->result;
}

/* The keys st_load finds after a reopen, space-separated, and the revision. */
static uint64_t reopen_keys(char *out, size_t cap)
{
    st_store *s = h_open();
    h_kvs kvs;
    uint64_t rev = h_load(s, "", &kvs);
    out[0] = '\0';
    for (int i = 0; i < kvs.n; i++)
        snprintf(out + strlen(out), cap - strlen(out), "%s%s", i ? " " : "", kvs.kv[i].key);
    h_kvs_free(&kvs);
    st_close(s);
    return rev;
}

/* A failed write while the fault stays on through st_close(): nothing of it after a reopen. */
static void failed_batch_is_gone(int calls, int err, const char *suffix)
{
    st_store *s = open_started();
    int done = 0;
    cr_assert_eq(write_one(s, ST_CREATE, "/a", "{}", &done), ST_OK);
    disk_fail(calls, err, suffix, 0);
    cr_assert_eq(write_one(s, ST_CREATE, "/b", "{}", &done), ST_EIO);
    cr_assert_eq(write_one(s, ST_UPDATE, "/a", "{\"v\":2}", &done), ST_EIO);
    cr_assert_gt(atomic_load(&disk.failed), 0);
    cr_assert_eq(st_current_rev(s), 1, "a failed batch takes no revision");
    st_close(s); /* its checkpoint fails too: the -wal file stays */
    disk_ok();

    char keys[256];
    cr_assert_eq(reopen_keys(keys, sizeof(keys)), 1);
    cr_assert_str_eq(keys, "/a");
}

Test(sqlite_faults, failed_wal_fsync_is_not_replayed)
{
    failed_batch_is_gone(DISK_SYNC, EIO, "-wal");
}

Test(sqlite_faults, failed_wal_write_is_not_replayed)
{
    failed_batch_is_gone(DISK_WRITE, ENOSPC, "-wal");
}

Test(sqlite_faults, any_failing_call_on_any_file_is_not_replayed)
{
    failed_batch_is_gone(DISK_WRITE | DISK_SYNC, EIO, "");
}

Test(sqlite_faults, writes_resume_without_a_gap_in_revisions)
{
    st_store *s = open_started();
    int done = 0;
    cr_assert_eq(write_one(s, ST_CREATE, "/a", "{}", &done), ST_OK);
    disk_fail(DISK_SYNC, EIO, "-wal", 0);
    cr_assert_eq(write_one(s, ST_CREATE, "/b", "{}", &done), ST_EIO);
    disk_ok();
    cr_assert_eq(write_one(s, ST_CREATE, "/c", "{}", &done), ST_OK);
    cr_assert_eq(h_done(done - 1)->rev, 2);
    cr_assert_eq(write_one(s, ST_CREATE, "/b", "{}", &done), ST_OK);
    st_close(s);

    char keys[256];
    cr_assert_eq(reopen_keys(keys, sizeof(keys)), 3);
    cr_assert_str_eq(keys, "/a /b /c");
}

/*
 * When the failed commit cannot be cut out, writes are refused (without a new transaction) until
 * a TRUNCATE checkpoint succeeds, which needs the disk to work again.
 */
Test(sqlite_faults, writes_are_refused_until_the_wal_can_be_emptied)
{
    st_store *s = open_started();
    int done = 0;
    cr_assert_eq(write_one(s, ST_CREATE, "/a", "{}", &done), ST_OK);
    disk_fail(DISK_SYNC | DISK_TRUNCATE, EIO, "-wal", 0);
    cr_assert_eq(write_one(s, ST_CREATE, "/b", "{}", &done), ST_EIO); /* the cut fails too */
    int failed = atomic_load(&disk.failed);
    cr_assert_eq(write_one(s, ST_CREATE, "/c", "{}", &done), ST_EIO);
    cr_assert_gt(atomic_load(&disk.failed), failed, "the checkpoint was tried");
    disk_ok();
    cr_assert_eq(write_one(s, ST_CREATE, "/d", "{}", &done), ST_OK);
    cr_assert_eq(h_done(done - 1)->rev, 2);
    st_close(s);

    char keys[256];
    cr_assert_eq(reopen_keys(keys, sizeof(keys)), 2);
    cr_assert_str_eq(keys, "/a /d");
}

/*
 * The commit after a complete checkpoint starts the -wal file over (a new header, frames from
 * 1). When it fails, the cut must keep no frame of it, whether its header sync (skip 0) or its
 * frames' sync (skip 1) failed. A clean close would delete such a file anyway (nothing in it to
 * checkpoint), so the process crashes instead: a child runs the store and _exit()s with it open,
 * its exit code naming the step that went wrong; the test then opens the file as a restart would.
 */
static int crash_after_failure_past_a_checkpoint(int skip)
{
    static char pad[8000], big[8192];
    memset(pad, 'x', sizeof(pad) - 1);
    snprintf(big, sizeof(big), "{\"pad\":\"%s\"}", pad);
    char wal[300], key[32];
    snprintf(wal, sizeof(wal), "%s-wal", h_path);
    st_store *s = h_open();
    int done = 0, n = 0;
    if (st_start(s) != 0)
        return 10;
    /* Large values: several pages a write, so the checkpoint threshold comes quickly. The open
       synced the database already (its own checkpoint): count from here. */
    atomic_store(&disk.db_syncs, 0);
    while (atomic_load(&disk.db_syncs) == 0) {
        snprintf(key, sizeof(key), "/k%03d", n++);
        if (n > 200 || write_one(s, ST_CREATE, key, big, &done) != ST_OK)
            return 11;
    }
    uint32_t salt_before = 0, salt_after = 0;
    if (sq_wal_salt1(wal, &salt_before) != 0)
        return 12;
    disk_fail(DISK_SYNC, EIO, "-wal", skip);
    if (write_one(s, ST_CREATE, "/failed", big, &done) != ST_EIO)
        return 13;
    if (sq_wal_salt1(wal, &salt_after) != 0 || salt_after == salt_before)
        return 14; /* the failed commit did not restart the file: not the case under test */
    return 0;
}

/* ThreadSanitizer refuses to start threads in a child forked from a threaded process. */
#if defined(__SANITIZE_THREAD__)
#define UNDER_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define UNDER_TSAN 1
#endif
#endif

static void failure_right_after_a_checkpoint(int skip)
{
    h_skip_on_etcd("SQLite's own files on a failing disk");
#ifdef UNDER_TSAN
    cr_skip_test("a crash is simulated with fork(), which ThreadSanitizer cannot follow");
#endif
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0)
        _exit(crash_after_failure_past_a_checkpoint(skip)); /* the store stays open: a crash */
    int status = 0;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child step %d failed",
              WEXITSTATUS(status));

    char keys[8192];
    reopen_keys(keys, sizeof(keys));
    cr_assert_neq(keys[0], '\0');
    cr_assert_null(strstr(keys, "/failed"), "the failed create came back");
}

Test(sqlite_faults, failed_header_sync_after_a_checkpoint_is_not_replayed)
{
    failure_right_after_a_checkpoint(0);
}

Test(sqlite_faults, failed_frames_sync_after_a_checkpoint_is_not_replayed)
{
    failure_right_after_a_checkpoint(1);
}

/* ---- sq_wal_cut on its own ----------------------------------------------------------------- */

static void write_file(const char *path, const unsigned char *data, size_t n)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    cr_assert_geq(fd, 0);
    cr_assert_eq(write(fd, data, n), (ssize_t)n);
    close(fd);
}

static off_t size_of(const char *path)
{
    struct stat st;
    cr_assert_eq(stat(path, &st), 0);
    return st.st_size;
}

Test(sqlite_faults, cut_keeps_the_good_frames_or_only_a_new_header)
{
    h_skip_on_etcd("SQLite's WAL file format");
    char wal[300];
    snprintf(wal, sizeof(wal), "%s-test-wal", h_path);
    static unsigned char file[32 + 5 * (24 + 512)];
    file[16 + 3] = 7; /* salt-1 = 7 */
    write_file(wal, file, sizeof(file));

    sq_wal_mark m = {.known = false, .page_size = 512};
    cr_assert_eq(sq_wal_cut(wal, &m), -EINVAL, "an unknown end is never guessed");

    m = (sq_wal_mark){.known = true, .mx_frame = 3, .page_size = 512};
    cr_assert_eq(sq_wal_cut(wal, &m), 0);
    cr_assert_eq(size_of(wal), 32 + 3 * (24 + 512));

    m.may_restart = true; /* same salt-1: not restarted, the 2 good frames stay */
    m.salt1 = 7;
    m.mx_frame = 2;
    cr_assert_eq(sq_wal_cut(wal, &m), 0);
    cr_assert_eq(size_of(wal), 32 + 2 * (24 + 512));

    m.salt1 = 6; /* the header changed since: restarted, nothing of the old frames is needed */
    cr_assert_eq(sq_wal_cut(wal, &m), 0);
    cr_assert_eq(size_of(wal), 32);

    m.mx_frame = 9; /* never lengthens a file */
    m.may_restart = false;
    cr_assert_eq(sq_wal_cut(wal, &m), 0);
    cr_assert_eq(size_of(wal), 32);
    unlink(wal);
}

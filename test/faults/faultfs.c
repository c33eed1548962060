/*
 * faultfs.c - a test double of a failing disk: an LD_PRELOAD shim that makes chosen write and
 * fsync calls on chosen files fail with a chosen errno, switched on and off while the process
 * runs. Used by test/e2e/test_faults.py against a real foo-apiserver (docs/design.md, "Storage
 * faults"); nothing in the server knows about it.
 *
 * Control: the environment variable FAULTFS_CONTROL names a control file that the shim re-reads
 * on every intercepted call, so a test switches faults on and off by rewriting it (write a new
 * file and rename it over the old one, so the shim never reads half a line). Its first line is
 *
 *     <calls> <errno> <pattern>
 *
 *   calls    write  - write, pwrite, pwrite64 fail (nothing is written)
 *            fsync  - fsync, fdatasync fail (what was written stays in the page cache, as after
 *                     a real failed fsync)
 *            all    - both
 *   errno    EIO or ENOSPC
 *   pattern  a substring of the file's path (as /proc/self/fd shows it), e.g. "/data/foo.db"
 *            to hit the database, its -wal and its -journal
 *
 * A missing or empty file, or anything else, means "no fault": every call goes through. Without
 * FAULTFS_CONTROL the shim only forwards. Each injected failure increments a counter kept in
 * "<control file>.hits" (best effort), so a test can tell that its fault was really exercised.
 *
 * Cost: reading the control file adds three system calls to every write and sync of the process
 * (sockets and logs included), and /proc/self/fd one more while a fault is on: a test tool only.
 *
 * With a sanitizer runtime, preload it first (LD_PRELOAD=libasan.so.8:faultfs.so): the runtime
 * must come first in the library list, and its own write interceptor then reaches this one
 * through dlsym(RTLD_NEXT), which reaches libc.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

enum ff_calls { FF_WRITE = 1, FF_FSYNC = 2 };

typedef ssize_t (*ff_write_fn)(int, const void *, size_t);
typedef ssize_t (*ff_pwrite_fn)(int, const void *, size_t, off_t);
typedef ssize_t (*ff_pwrite64_fn)(int, const void *, size_t, off64_t);
typedef int (*ff_sync_fn)(int);

/* The fault the control file asks for; calls == 0 means none. */
typedef struct ff_fault {
    int calls; /* FF_WRITE | FF_FSYNC */
    int err;
    char pattern[256];
} ff_fault;

/* The next definition of a libc function after this library (libc itself, normally). */
static void *ff_next(const char *name)
{
    void *fn = dlsym(RTLD_NEXT, name);
    if (!fn)
        abort(); /* cannot forward: nothing sensible to do in a test double */
    return fn;
}

/* Reads up to cap-1 bytes of path into buf (NUL-terminated); returns the length or -1. */
static ssize_t ff_slurp(const char *path, char *buf, size_t cap)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, cap - 1);
    close(fd);
    if (n < 0)
        return -1;
    buf[n] = '\0';
    return n;
}

static int ff_errno_of(const char *name)
{
    if (strcmp(name, "EIO") == 0)
        return EIO;
    if (strcmp(name, "ENOSPC") == 0)
        return ENOSPC;
    return 0;
}

/* Parses the control file; any error reads as "no fault". Errno is preserved. */
static ff_fault ff_read_control(void)
{
    ff_fault f = {0};
    const char *ctl = getenv("FAULTFS_CONTROL");
    if (!ctl || !ctl[0])
        return f;
    int saved = errno;
    char buf[512], calls[16], err[16];
    if (ff_slurp(ctl, buf, sizeof(buf)) > 0 &&
        sscanf(buf, "%15s %15s %255s", calls, err, f.pattern) == 3) {
        f.err = ff_errno_of(err);
        if (strcmp(calls, "write") == 0)
            f.calls = FF_WRITE;
        else if (strcmp(calls, "fsync") == 0)
            f.calls = FF_FSYNC;
        else if (strcmp(calls, "all") == 0)
            f.calls = FF_WRITE | FF_FSYNC;
        if (!f.err)
            f.calls = 0;
    }
    errno = saved;
    return f;
}

/* Adds one to the hit counter next to the control file (best effort, for the tests). */
static void ff_count_hit(void)
{
    char path[4096], buf[32];
    snprintf(path, sizeof(path), "%s.hits", getenv("FAULTFS_CONTROL"));
    long hits = ff_slurp(path, buf, sizeof(buf)) > 0 ? strtol(buf, NULL, 10) : 0;
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return;
    int n = snprintf(buf, sizeof(buf), "%ld\n", hits + 1);
    ff_write_fn real_write = (ff_write_fn)ff_next("write");
    (void)real_write(fd, buf, (size_t)n);
    close(fd);
}

/*
 * Whether this call on fd must fail; if so errno is set to the fault's. Concurrent faulted calls
 * may lose a hit count; the decision itself needs no shared state.
 */
static bool ff_should_fail(int fd, int call)
{
    ff_fault f = ff_read_control();
    if (!(f.calls & call))
        return false;
    char link[64], path[4096];
    snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
    int saved = errno;
    ssize_t n = readlink(link, path, sizeof(path) - 1);
    errno = saved;
    if (n <= 0)
        return false;
    path[n] = '\0';
    if (!strstr(path, f.pattern))
        return false;
    ff_count_hit();
    errno = f.err;
    return true;
}

/*
 * The intercepted calls. Each resolves the next definition once; threads that race on the first
 * call store the same pointer, and the atomic makes that well-defined.
 */
ssize_t write(int fd, const void *buf, size_t count)
{
    static _Atomic(ff_write_fn) real;
    if (!real)
        real = (ff_write_fn)ff_next("write");
    return ff_should_fail(fd, FF_WRITE) ? -1 : real(fd, buf, count);
}

ssize_t pwrite(int fd, const void *buf, size_t count, off_t off)
{
    static _Atomic(ff_pwrite_fn) real;
    if (!real)
        real = (ff_pwrite_fn)ff_next("pwrite");
    return ff_should_fail(fd, FF_WRITE) ? -1 : real(fd, buf, count, off);
}

ssize_t pwrite64(int fd, const void *buf, size_t count, off64_t off)
{
    static _Atomic(ff_pwrite64_fn) real;
    if (!real)
        real = (ff_pwrite64_fn)ff_next("pwrite64");
    return ff_should_fail(fd, FF_WRITE) ? -1 : real(fd, buf, count, off);
}

int fsync(int fd)
{
    static _Atomic(ff_sync_fn) real;
    if (!real)
        real = (ff_sync_fn)ff_next("fsync");
    return ff_should_fail(fd, FF_FSYNC) ? -1 : real(fd);
}

int fdatasync(int fd)
{
    static _Atomic(ff_sync_fn) real;
    if (!real)
        real = (ff_sync_fn)ff_next("fdatasync");
    return ff_should_fail(fd, FF_FSYNC) ? -1 : real(fd);
}

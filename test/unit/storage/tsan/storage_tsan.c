/*
 * storage_tsan.c - runs the concurrent-submitters scenario (../concurrency.c) as a plain program,
 * for ThreadSanitizer: Criterion's runner aborts at start under TSan on this platform
 * ("Could not initialize inheritable arena", Snaipe/Criterion#274). Exits 0 when every check
 * holds; TSan itself makes the exit status non-zero on a reported race (exitcode=66).
 *
 * Not globbed into unit_storage (it is in a subfolder). Build against a -DFOO_TSAN=ON tree:
 *   cc -std=c17 -D_GNU_SOURCE -fsanitize=thread -g -I. test/unit/storage/concurrency.c \
 *      test/unit/storage/tsan/storage_tsan.c BUILD/libfoo_storage.a BUILD/libfoo_common.a \
 *      -lsqlite3 -lcjson -lyaml -lcrypto -lcurl -lpthread -lm -o BUILD/storage_tsan
 */
#include "../concurrency.h"

#include "common/alloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static int check(int ok, const char *what)
{
    if (!ok)
        fprintf(stderr, "FAIL: %s\n", what);
    return ok ? 0 : 1;
}

int main(void)
{
    enum { THREADS = 8, PER_THREAD = 500, TOTAL = THREADS * PER_THREAD };
    alloc_install_cjson_hooks();
    char dir[] = "/tmp/foo-storage-tsan-XXXXXX";
    if (!mkdtemp(dir))
        return 2;
    char path[64], wal[72], shm[72];
    snprintf(path, sizeof(path), "%s/store.db", dir);
    snprintf(wal, sizeof(wal), "%s-wal", path);
    snprintf(shm, sizeof(shm), "%s-shm", path);

    cc_result r;
    int failed = check(cc_run(path, THREADS, PER_THREAD, &r) == 0, "scenario ran");
    failed += check(r.done_once == TOTAL, "every done callback ran exactly once");
    failed += check(r.ok == TOTAL, "every write succeeded");
    failed += check(r.distinct_revs == TOTAL, "distinct revisions 1..TOTAL");
    failed += check(r.current_rev == TOTAL, "current revision");
    failed += check(r.sink_in_order && r.last_sink_rev == TOTAL, "sink order");
    failed += check(r.writes == TOTAL && r.commits >= 1, "stats");
    printf("storage_tsan: %d writes from %d threads in %llu transactions; %s\n", TOTAL, THREADS,
           (unsigned long long)r.commits, failed ? "FAILED" : "ok");

    unlink(path);
    unlink(wal);
    unlink(shm);
    rmdir(dir);
    return failed ? 1 : 0;
}

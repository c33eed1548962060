/*
 * threads_test.c - many threads submitting at once to a store (either backend, harness.h). The
 * scenario lives in concurrency.c so that tsan_unit_storage (scripts/run-tsan.sh) can run it under
 * ThreadSanitizer.
 */
#include "concurrency.h"
#include "harness.h"

#include <criterion/criterion.h>

TestSuite(storage_threads, .init = h_setup, .fini = h_teardown, .timeout = 120);

Test(storage_threads, concurrent_submitters_each_get_done_once_with_distinct_revisions)
{
    enum { THREADS = 8, PER_THREAD = 500, TOTAL = THREADS * PER_THREAD };
    cc_result r;
    cr_assert_eq(cc_run(h_open_parallel(), THREADS, PER_THREAD, &r), 0);
    cr_assert_eq(r.done_once, TOTAL, "every done callback ran exactly once");
    cr_assert_eq(r.ok, TOTAL);
    cr_assert_eq(r.distinct_revs, TOTAL, "revisions 1..%d each given once", TOTAL);
    cr_assert_eq(r.current_rev, h_rev(TOTAL));
    cr_assert(r.sink_in_order, "sink revisions strictly increase");
    cr_assert_eq(r.last_sink_rev, h_rev(TOTAL));
    cr_assert_eq(r.writes, TOTAL);
    cr_assert(r.commits >= 1 && r.commits <= TOTAL);
    cr_log_info("group commit: %d writes from %d threads in %llu transactions (%.1f per commit)",
                TOTAL, THREADS, (unsigned long long)r.commits,
                (double)r.writes / (double)r.commits);
}

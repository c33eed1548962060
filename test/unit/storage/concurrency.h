/*
 * concurrency.h - the "many threads submit at once" scenario of the storage tests, free of
 * Criterion so that it runs both in unit_storage (threads_test.c) and in the ThreadSanitizer
 * driver tsan_unit_storage (scripts/run-tsan.sh) (Criterion's runner cannot start under TSan on
 * this platform).
 */
#ifndef FOO_TEST_STORAGE_CONCURRENCY_H
#define FOO_TEST_STORAGE_CONCURRENCY_H

#include "storage/storage.h"

#include <stdint.h>

typedef struct cc_result {
    int total;              /* writes submitted: threads * per_thread */
    int done_once;          /* writes whose done callback ran exactly once */
    int ok;                 /* writes that got ST_OK */
    int distinct_revs;      /* distinct revisions seen in base+1..base+total */
    int sink_in_order;      /* 1 when the sink saw strictly increasing revisions */
    uint64_t base;          /* st_current_rev() before the first write */
    uint64_t last_sink_rev; /* revision of the last sink call */
    uint64_t current_rev;   /* st_current_rev() once every write was done */
    uint64_t commits;       /* st_stats(): transactions */
    uint64_t writes;        /* st_stats(): successful writes */
} cc_result;

/*
 * Takes an opened, not yet started, empty store (nobody else writes to it), starts it, has
 * `threads` threads each submit `per_thread` creates of distinct keys, waits for every done
 * callback, closes the store and fills *out. Returns 0, or -1 when the store could not be started
 * or a thread could not be created. Not reentrant (uses file-level state).
 */
int cc_run(st_store *store, int threads, int per_thread, cc_result *out);

#endif

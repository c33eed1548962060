/*
 * baseline_common.h - what the durable-create baselines (etcd_baseline.c, sqlite_baseline.c)
 * share: the clock their runs are timed by, and starting their worker threads and waiting for
 * them.
 *
 * Header-only (static inline): bench/run.sh builds each baseline with cc from its one .c file,
 * and the quoted #include finds this header beside it. Not part of the CMake build.
 */
#ifndef FOO_BENCH_BASELINE_COMMON_H
#define FOO_BENCH_BASELINE_COMMON_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <time.h>

#define BASELINE_MAX_THREADS 256

/*
 * What one worker thread is given: the run's shared state (the baseline's own struct) and the
 * thread's number, 0 .. threads-1, which keeps its keys apart from the other threads' ones.
 */
typedef struct baseline_worker {
    void *bench;
    int id;
} baseline_worker;

/* Seconds on CLOCK_MONOTONIC, for durations only. Thread-safe. */
static inline double baseline_now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * Runs fn on `threads` threads, each given its own baseline_worker {bench, id}, and returns once
 * every one has returned: 0 when all of them started. When a thread cannot start, prints why
 * (prefixed with prog), sets *failed (which the workers check before each write, so the ones
 * already running stop early), waits for those, and returns -1; also -1, at once, when threads
 * is outside 1 .. BASELINE_MAX_THREADS. Call from one thread; fn owns nothing of its argument.
 */
static inline int baseline_run_threads(const char *prog, int threads, void *(*fn)(void *),
                                       void *bench, atomic_int *failed)
{
    pthread_t tids[BASELINE_MAX_THREADS];
    baseline_worker ws[BASELINE_MAX_THREADS];
    if (threads < 1 || threads > BASELINE_MAX_THREADS)
        return -1;
    int started = 0;
    for (; started < threads; started++) {
        ws[started] = (baseline_worker){.bench = bench, .id = started};
        if (pthread_create(&tids[started], NULL, fn, &ws[started]) != 0) {
            fprintf(stderr, "%s: cannot start thread %d\n", prog, started);
            atomic_store(failed, 1);
            break;
        }
    }
    for (int i = 0; i < started; i++)
        pthread_join(tids[i], NULL);
    return started == threads ? 0 : -1;
}

#endif

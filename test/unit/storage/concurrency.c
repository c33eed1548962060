/*
 * concurrency.c - the concurrent-submitters scenario (see concurrency.h).
 */
#include "concurrency.h"

#include "storage/storage.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct cc_slot {
    int done_calls;
    int result;
    uint64_t rev;
} cc_slot;

static struct {
    st_store *store;
    cc_slot *slots;
    int per_thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int ndone;
    uint64_t last_sink_rev; /* sink runs on the writer thread only */
    int sink_in_order;
} cc = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

static void cc_done(st_write *w)
{
    cc_slot *slot = w->arg;
    pthread_mutex_lock(&cc.mu);
    slot->done_calls++;
    slot->result = w->result;
    slot->rev = w->rev;
    cc.ndone++;
    pthread_cond_signal(&cc.cv);
    pthread_mutex_unlock(&cc.mu);
    st_write_free(w);
}

static void cc_sink(void *ctx, st_event_type type, const char *key, const char *value, size_t len,
                    uint64_t rev)
{
    (void)ctx, (void)type, (void)key, (void)value, (void)len;
    if (rev <= cc.last_sink_rev)
        cc.sink_in_order = 0;
    cc.last_sink_rev = rev;
}

static void *cc_submitter(void *arg)
{
    int thread = (int)(intptr_t)arg;
    for (int i = 0; i < cc.per_thread; i++) {
        char key[48];
        snprintf(key, sizeof(key), "/foos/t%d-%d", thread, i);
        st_write *w = st_write_new(ST_CREATE, key, cJSON_CreateObject(), 0);
        w->done = cc_done;
        w->arg = &cc.slots[thread * cc.per_thread + i];
        st_submit(cc.store, w);
    }
    return NULL;
}

/* Starts the submitter threads and joins them. Returns 0 or -1. */
static int cc_submit_all(int threads)
{
    pthread_t *th = calloc((size_t)threads, sizeof(*th));
    int started = 0, rc = 0;
    if (!th)
        return -1;
    for (; started < threads; started++) {
        if (pthread_create(&th[started], NULL, cc_submitter, (void *)(intptr_t)started) != 0) {
            rc = -1;
            break;
        }
    }
    for (int t = 0; t < started; t++)
        if (pthread_join(th[t], NULL) != 0)
            rc = -1;
    free(th);
    return rc;
}

static void cc_summarize(int total, cc_result *out)
{
    char *seen = calloc((size_t)total + 1, 1);
    for (int i = 0; i < total && seen; i++) {
        const cc_slot *s = &cc.slots[i];
        out->done_once += s->done_calls == 1;
        out->ok += s->result == ST_OK;
        uint64_t n = s->rev - out->base; /* wraps past total for a revision below base */
        if (s->rev > out->base && n <= (uint64_t)total && !seen[n]) {
            seen[n] = 1;
            out->distinct_revs++;
        }
    }
    free(seen);
    out->sink_in_order = cc.sink_in_order;
    out->last_sink_rev = cc.last_sink_rev;
}

int cc_run(st_store *store, int threads, int per_thread, cc_result *out)
{
    int total = threads * per_thread;
    memset(out, 0, sizeof(*out));
    out->total = total;
    cc.store = store;
    out->base = st_current_rev(store);
    cc.slots = calloc((size_t)total, sizeof(*cc.slots));
    cc.per_thread = per_thread;
    cc.ndone = 0;
    cc.last_sink_rev = out->base;
    cc.sink_in_order = 1;
    st_set_sink(cc.store, cc_sink, NULL);
    if (!cc.slots || st_start(cc.store) != 0 || cc_submit_all(threads) != 0) {
        st_close(cc.store); /* calls every pending done, so no slot is used after free */
        free(cc.slots);
        return -1;
    }
    pthread_mutex_lock(&cc.mu);
    while (cc.ndone < total)
        pthread_cond_wait(&cc.cv, &cc.mu);
    pthread_mutex_unlock(&cc.mu);
    out->current_rev = st_current_rev(cc.store);
    st_stats(cc.store, &out->commits, &out->writes);
    st_close(cc.store);
    cc_summarize(total, out);
    free(cc.slots);
    cc.slots = NULL;
    return 0;
}

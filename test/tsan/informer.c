/*
 * informer.c (TSan driver) - the informer's integration scenario 1 at a smaller scale, as a plain
 * program for ThreadSanitizer (Criterion cannot run under it): a real foo-apiserver, an informer
 * on foos (watch-list) with handlers, 4 writer threads creating, patching and deleting 400 Foos,
 * and 2 reader threads using the store (list, get, index lookups, stats) all the while. At the
 * end the store, the handlers' view and a fresh LIST must agree. The scenario runs twice, over
 * each watch transport (chunked HTTP, then WebSocket on the libwebsockets client's loop thread).
 * Exits 0 on success, 1 on a failed check (TSan itself exits 66 on a report).
 */
#include "test/unit/informer/itest.c" /* brings the server fixture too */

#include <sched.h>
#include <stdatomic.h>

#define WRITERS    4
#define PER_WRITER 100
#define READERS    2

typedef struct reader {
    inf_informer *inf;
    atomic_bool *done;
    long rounds, objects;
} reader;

static void *reader_main(void *arg)
{
    reader *r = arg;
    inf_store *s = inf_informer_store(r->inf);
    while (!atomic_load(r->done)) {
        inf_obj **objs;
        size_t n = inf_store_list(s, &objs);
        for (size_t i = 0; i < n; i++) {
            inf_obj *again = inf_store_get(s, inf_obj_key(objs[i]));
            inf_obj_unref(again);
            if (i % 64 == 0) {
                cJSON *j = inf_obj_parse(objs[i]);
                cJSON_Delete(j);
            }
        }
        r->objects += (long)n;
        inf_objs_free(objs, n);
        n = inf_store_by_index(s, INF_INDEX_NAMESPACE, "", &objs);
        inf_objs_free(objs, n);
        inf_stats st;
        inf_get_stats(r->inf, &st);
        r->rounds++;
        sched_yield();
    }
    return NULL;
}

static int fail(const char *what, const char *why)
{
    fprintf(stderr, "tsan_informer: FAILED: %s: %s\n", what, why ? why : "");
    return 1;
}

/* One round over one transport: 0, or 1 after printing what failed. */
static int run(it_transport_kind kind)
{
    itest t;
    char *why = NULL;
    if (it_start(&t, NULL, &why) != 0)
        return fail("start", why);
    inf_options o = it_informer_options();
    api_error err = API_ERROR_INIT;
    inf_transport tr = it_transport(&t, kind);
    inf_informer *inf = inf_informer_new_transport(&tr, &o, &err);
    if (!inf)
        return fail("informer", err.message);
    inf_handlers h = it_handlers(&t);
    inf_add_handlers(inf, &h);
    if (inf_start(inf) != 0 || !inf_wait_for_sync(inf, 60000))
        return fail("sync", "the informer did not sync");

    atomic_bool done = false;
    reader readers[READERS];
    pthread_t tids[READERS];
    for (int i = 0; i < READERS; i++) {
        readers[i] = (reader){.inf = inf, .done = &done};
        if (pthread_create(&tids[i], NULL, reader_main, &readers[i]) != 0)
            return fail("pthread_create", "reader");
    }
    int rc = it_run_writers(&t, "t", WRITERS, PER_WRITER, NULL, &why);
    if (rc == 0)
        rc = it_check_in_sync(&t, inf, 60000, &why);
    atomic_store(&done, true);
    for (int i = 0; i < READERS; i++)
        pthread_join(tids[i], NULL);
    if (rc != 0)
        return fail("in sync", why);

    inf_stats st;
    inf_get_stats(inf, &st);
    long want = WRITERS * PER_WRITER * 3 / 4;
    if ((long)st.store_count != want) {
        char msg[64];
        snprintf(msg, sizeof msg, "%zu objects, want %ld", st.store_count, want);
        return fail("count", msg);
    }
    inf_informer_free(inf);
    it_stop(&t);
    printf("tsan_informer: %s: ok: %zu objects in sync; readers did %ld and %ld rounds\n",
           it_transport_name(kind), st.store_count, readers[0].rounds, readers[1].rounds);
    return 0;
}

int main(void)
{
    alloc_install_cjson_hooks();
    int rc = run(IT_HTTP);
    if (rc == 0)
        rc = run(IT_WEBSOCKET);
    return rc;
}

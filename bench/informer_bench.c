/*
 * informer_bench.c - the informer's memory per cached Foo and its event rates, for `make bench`.
 *
 * Starts a standalone foo-apiserver (test/unit/client/server_fixture.c; FOO_APISERVER names the
 * binary, default ./foo-apiserver) unless --kubeconfig is given, fills it with N Foos (4 writer
 * threads), then measures:
 *   sync_watch_list / sync_list  time and objects/s for an informer to sync N Foos
 *   store_bytes_per_obj          the store's own count (compact JSON + header) / N
 *   rss_per_obj                  growth of the process RSS from before the informer started to
 *                                after it synced (and after the temporary buffers were trimmed) / N
 *   live_events_per_s            MODIFIED events the informer applied per second while 4 threads
 *                                patched every Foo (bounded by the server's write rate)
 *   decode_events_per_s          the informer alone (decode, transform, store, dispatch) fed N
 *                                recorded watch lines through the transport seam, no network
 * Output: one "name value unit" line per measure.
 *
 * Options for bench/run.sh, which compares this informer with client-node's on one server:
 *   --no-fill     the N Foos already exist (created by bench/fill.py); write nothing.
 *   --live-stdin  an outside writer makes the live events (the same one for both informers):
 *                 after the sync measures the program prints "ready", reads "stop W" from stdin
 *                 once the writer has finished (W = writes it saw acknowledged), waits (bounded)
 *                 for W updates, and prints live_events_per_s = updates / (last - first update)
 *                 and live_cpu_us_per_event (this process's CPU time over the live phase /
 *                 updates) instead of running its own patch writers.
 *
 * Not built by CMake (bench programs are built by hand or by bench/run.sh), e.g. from a release
 * tree /tmp/b configured with -DCMAKE_BUILD_TYPE=RelWithDebInfo and `--target foo_informer
 * foo-apiserver`:
 *   cc -O2 -D_GNU_SOURCE -I. bench/informer_bench.c -o /tmp/b/informer_bench \
 *      /tmp/b/libfoo_informer.a /tmp/b/libfoo_client.a /tmp/b/libfoo_common.a \
 *      $(pkg-config --libs libcurl libcjson yaml-0.1 openssl) -lpthread -lm
 *   FOO_APISERVER=/tmp/b/foo-apiserver /tmp/b/informer_bench --count 10000
 */
#include "informer/informer.h"

#include "test/unit/client/server_fixture.c"

#include "common/alloc.h"

#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define FOOS    "/apis/demo.example.com/v1beta1/foos"
#define WRITERS 4

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long rss_kb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, "VmRSS:", 6) == 0)
            kb = atol(line + 6);
    if (f)
        fclose(f);
    return kb;
}

static void die(const char *what, const char *why)
{
    fprintf(stderr, "informer_bench: %s: %s\n", what, why ? why : "");
    exit(1);
}

/* ---- writers ---- */

typedef struct job {
    kc_client *kc;
    int from, to;
    bool patch;
} job;

static void *writer(void *arg)
{
    job *j = arg;
    for (int i = j->from; i < j->to; i++) {
        char path[128], body[256];
        api_error err = API_ERROR_INIT;
        int rc;
        if (j->patch) {
            snprintf(path, sizeof path, FOOS "/bench-%05d", i);
            snprintf(body, sizeof body, "{\"spec\":{\"replicas\":%d}}", 2 + i % 5);
            rc = kc_request(j->kc, "PATCH", path, "application/merge-patch+json", body,
                            strlen(body), NULL, &err);
        } else {
            snprintf(body, sizeof body,
                     "{\"apiVersion\":\"demo.example.com/v1beta1\",\"kind\":\"Foo\","
                     "\"metadata\":{\"name\":\"bench-%05d\",\"labels\":{\"app\":\"bench\"}},"
                     "\"spec\":{\"replicas\":1,\"image\":\"nginx:1.27\"}}",
                     i);
            rc =
                kc_request(j->kc, "POST", FOOS, "application/json", body, strlen(body), NULL, &err);
            if (rc != 0 && err.code == 409)
                rc = 0;
        }
        if (rc != 0)
            die("write", err.message);
        apierr_clear(&err);
    }
    return NULL;
}

static void run_writers(kc_client *kc, int n, bool patch)
{
    pthread_t t[WRITERS];
    job jobs[WRITERS];
    for (int w = 0; w < WRITERS; w++) {
        jobs[w] = (job){kc, n * w / WRITERS, n * (w + 1) / WRITERS, patch};
        pthread_create(&t[w], NULL, writer, &jobs[w]);
    }
    for (int w = 0; w < WRITERS; w++)
        pthread_join(t[w], NULL);
}

/* ---- handlers: count deliveries, signal the last expected one ---- */

typedef struct counter {
    pthread_mutex_t mu;
    pthread_cond_t cond;
    long adds, updates, target_updates;
    double first_update, last_update; /* monotonic seconds, 0 = none yet */
} counter;

static void c_add(void *ctx, const inf_obj *o)
{
    (void)o;
    counter *c = ctx;
    pthread_mutex_lock(&c->mu);
    c->adds++;
    pthread_mutex_unlock(&c->mu);
}

static void c_update(void *ctx, const inf_obj *old, const inf_obj *o)
{
    (void)old;
    (void)o;
    counter *c = ctx;
    double t = now_s();
    pthread_mutex_lock(&c->mu);
    if (c->first_update == 0)
        c->first_update = t;
    c->last_update = t;
    if (++c->updates == c->target_updates)
        pthread_cond_broadcast(&c->cond);
    pthread_mutex_unlock(&c->mu);
}

static inf_informer *sync_informer(kc_client *kc, bool watch_list, counter *c, int n,
                                   const char *label)
{
    inf_options o = inf_options_defaults();
    o.path = FOOS;
    o.watch_list = watch_list;
    api_error err = API_ERROR_INIT;
    inf_informer *inf = inf_informer_new(kc, &o, &err);
    if (!inf)
        die("informer", err.message);
    inf_handlers h = {c_add, c_update, NULL, c};
    inf_add_handlers(inf, &h);
    double t0 = now_s();
    inf_start(inf);
    if (!inf_wait_for_sync(inf, 120000))
        die("sync", label);
    double dt = now_s() - t0;
    printf("%s_seconds %.3f s\n", label, dt);
    printf("%s_objects_per_s %.0f obj/s\n", label, n / dt);
    return inf;
}

/* ---- decode rate without a network: replay recorded watch lines ---- */

typedef struct replay {
    char **lines;
    size_t n;
    bool done;
} replay;

static int replay_get(void *ctx, const char *path, char **body, size_t *len, api_error *err)
{
    (void)ctx;
    (void)path;
    (void)err;
    *body = xstrdup("{\"kind\":\"FooList\",\"metadata\":{\"resourceVersion\":\"1\"},\"items\":[]}");
    *len = strlen(*body);
    return 0;
}

static int replay_watch(void *ctx, const char *path, int idle, kc_watch_fn fn, void *fn_ctx,
                        atomic_bool *cancel, api_error *err)
{
    (void)path;
    (void)idle;
    (void)err;
    replay *r = ctx;
    if (!r->done) {
        kc_watch_decoder d;
        kc_watch_decoder_init(&d, fn, fn_ctx);
        for (size_t i = 0; i < r->n; i++)
            kc_watch_decoder_feed(&d, r->lines[i], strlen(r->lines[i]));
        kc_watch_decoder_free(&d);
        r->done = true;
    }
    while (!atomic_load(cancel))
        sched_yield(); /* an open, idle stream until the bench stops the informer */
    return 0;
}

static void decode_rate(inf_informer *live, int n)
{
    /* The events: the current objects as MODIFIED lines, as a watch would send them. */
    inf_obj **objs;
    size_t count = inf_store_list(inf_informer_store(live), &objs);
    replay r = {.lines = xcalloc(count + 1, sizeof(char *)), .n = count};
    for (size_t i = 0; i < count; i++) {
        size_t len;
        const char *json = inf_obj_json(objs[i], &len);
        r.lines[i] = xasprintf("{\"type\":\"MODIFIED\",\"object\":%.*s}\n", (int)len, json);
    }
    inf_objs_free(objs, count);
    inf_transport t = {replay_get, replay_watch, &r};
    inf_options o = inf_options_defaults();
    o.path = FOOS;
    o.watch_list = false;
    counter c = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, (long)count, 0, 0};
    inf_informer *inf = inf_informer_new_transport(&t, &o, NULL);
    inf_handlers h = {c_add, c_update, NULL, &c};
    inf_add_handlers(inf, &h);
    double t0 = now_s();
    inf_start(inf);
    pthread_mutex_lock(&c.mu);
    while (c.adds < (long)count) /* MODIFIED of unknown keys are adds here */
        pthread_mutex_unlock(&c.mu), sched_yield(), pthread_mutex_lock(&c.mu);
    pthread_mutex_unlock(&c.mu);
    double dt = now_s() - t0;
    printf("decode_events_per_s %.0f ev/s\n", count / dt);
    inf_informer_free(inf);
    for (size_t i = 0; i < count; i++)
        free(r.lines[i]);
    free(r.lines);
    (void)n;
}

/* ---- live events from an outside writer (--live-stdin) ---- */

#define LIVE_DRAIN_TIMEOUT_S 20.0 /* bound on the wait for the writer's events */
#define LIVE_QUIET_S         0.3  /* then this long for writes the writer did not count */

static long updates_now(counter *c)
{
    pthread_mutex_lock(&c->mu);
    long u = c->updates;
    pthread_mutex_unlock(&c->mu);
    return u;
}

static void pause_s(double s)
{
    struct timespec ts = {.tv_sec = (time_t)s, .tv_nsec = (long)((s - (time_t)s) * 1e9)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* CPU time of this process (all threads): what the informer costs, whatever else runs. */
static double process_cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * The writer's acknowledged writes each make one MODIFIED event; waits for them (bounded), then
 * a short quiet time for writes still in flight when the writer stopped counting.
 */
static void live_external(counter *c)
{
    pthread_mutex_lock(&c->mu);
    c->updates = 0;
    c->first_update = c->last_update = 0;
    c->target_updates = -1; /* no broadcast needed: this thread polls */
    pthread_mutex_unlock(&c->mu);
    printf("ready\n");
    fflush(stdout);
    double cpu0 = process_cpu_s();
    char line[64];
    long acked = -1;
    if (!fgets(line, sizeof line, stdin) || sscanf(line, "stop %ld", &acked) != 1 || acked < 0)
        die("live", "expected \"stop W\" on stdin");
    double deadline = now_s() + LIVE_DRAIN_TIMEOUT_S;
    while (updates_now(c) < acked && now_s() < deadline)
        pause_s(0.01);
    pause_s(LIVE_QUIET_S);
    double cpu = process_cpu_s() - cpu0;
    pthread_mutex_lock(&c->mu);
    long u = c->updates;
    double span = c->last_update - c->first_update;
    pthread_mutex_unlock(&c->mu);
    printf("live_writes_acked %ld\n", acked);
    printf("live_events %ld\n", u);
    printf("live_events_per_s %.0f ev/s\n", span > 0 ? (double)u / span : 0.0);
    printf("live_cpu_us_per_event %.1f us\n", u > 0 ? cpu * 1e6 / (double)u : 0.0);
}

int main(int argc, char **argv)
{
    int n = 10000;
    const char *kubeconfig = NULL;
    bool fill = true, live_stdin = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--count") == 0 && i + 1 < argc)
            n = atoi(argv[++i]);
        else if (strcmp(argv[i], "--kubeconfig") == 0 && i + 1 < argc)
            kubeconfig = argv[++i];
        else if (strcmp(argv[i], "--no-fill") == 0)
            fill = false;
        else if (strcmp(argv[i], "--live-stdin") == 0)
            live_stdin = true;
        else
            die("usage", "informer_bench [--count N] [--kubeconfig FILE] [--no-fill] "
                         "[--live-stdin]");
    }
    alloc_install_cjson_hooks();
    sf_server srv = {0};
    if (!kubeconfig) {
        if (sf_start(&srv, NULL) != 0)
            die("server", "could not start foo-apiserver (set FOO_APISERVER)");
        kubeconfig = srv.kubeconfig;
    }
    kc_config *cfg = NULL;
    api_error err = API_ERROR_INIT;
    kc_load_options lo = {.kubeconfig = kubeconfig};
    if (kc_load(&lo, &cfg, &err) != 0)
        die("kubeconfig", err.message);
    kc_client *kc = kc_client_new(cfg, NULL, &err);
    if (!kc)
        die("client", err.message);

    double t0 = now_s();
    if (fill) {
        run_writers(kc, n, false);
        printf("fill_creates_per_s %.0f req/s\n", n / (now_s() - t0));
    }

    malloc_trim(0);
    long rss0 = rss_kb();
    counter c = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, n, 0, 0};
    inf_informer *inf = sync_informer(kc, true, &c, n, "sync_watch_list");
    malloc_trim(0);
    long rss1 = rss_kb();
    inf_stats st;
    inf_get_stats(inf, &st);
    printf("store_objects %zu\n", st.store_count);
    printf("store_bytes_per_obj %.0f B\n", (double)st.store_bytes / (double)st.store_count);
    printf("rss_delta %ld KiB\n", rss1 - rss0);
    printf("rss_per_obj %.0f B\n", (double)(rss1 - rss0) * 1024.0 / (double)st.store_count);

    if (live_stdin) {
        live_external(&c);
    } else {
        /* Live events: every Foo patched once by 4 writers; rate seen by the informer. */
        t0 = now_s();
        run_writers(kc, n, true);
        pthread_mutex_lock(&c.mu);
        while (c.updates < c.target_updates)
            pthread_cond_wait(&c.cond, &c.mu);
        pthread_mutex_unlock(&c.mu);
        printf("live_events_per_s %.0f ev/s\n", n / (now_s() - t0));
    }
    decode_rate(inf, n);
    inf_informer_free(inf);

    counter c2 = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, 0, 0, 0};
    inf = sync_informer(kc, false, &c2, n, "sync_list");
    inf_informer_free(inf);

    kc_client_free(kc);
    kc_config_free(cfg);
    if (srv.pid)
        sf_stop(&srv);
    return 0;
}

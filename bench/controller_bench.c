/*
 * controller_bench.c - the controller-manager against its limit, for `make bench` (bench/run.sh,
 * part 3). Two modes, each against a running foo-apiserver reached through --kubeconfig:
 *
 *   converge  (foo-controller-manager --simulate-deployments runs beside it) Syncs an informer
 *             on Foos, then creates --count Foos from --threads threads and waits (bounded by
 *             --timeout) until every one is Ready=True, reason Available, for its current
 *             generation, which the controller writes only once the Foo's Deployment exists and
 *             reports the rollout done. Prints converge_seconds (first create to the last Foo
 *             Ready), create_seconds and foos_ready; then, untimed, syncs one informer on Foos
 *             and one on Deployments with the manager's informer options and prints their
 *             object counts (foos, deployments) and the stores' bytes per object
 *             (foos_store_bytes_per_obj, deployments_store_bytes_per_obj): the manager's caches
 *             as it holds them.
 *   direct    The limit: what the controller-manager writes for each Foo, sent straight to the
 *             server from --threads threads through the same REST client and seam (ctl_kapi),
 *             with the bodies the controllers build (api/foo_deployment.h, controllers/
 *             foo_status.h, controllers/simulate.h), one Foo after the other per thread:
 *               POST Foo, PATCH its finalizer, POST its Deployment, PATCH the Foo's /status
 *               (Progressing), PATCH the Deployment's /status (the simulated rollout), PATCH the
 *               Foo's /status (Ready), POST the SuccessfulCreate Event: 7 writes per Foo.
 *             Prints direct_seconds, direct_writes, direct_writes_per_s, and this process's
 *             cpu_seconds (utime + stime of /proc/self/stat) and peak_rss_kib (VmHWM of
 *             /proc/self/status), read the way run.sh reads the controller-manager's.
 * Output: one "name value [unit]" line per measure; exit 1 with a message on any failure.
 *
 * Built by bench/run.sh against the release build's libraries:
 *   cc -O2 -D_GNU_SOURCE -I. bench/controller_bench.c -o controller_bench \
 *      build/libfoo_controllers.a build/libfoo_informer.a build/libfoo_client.a \
 *      build/libfoo_workqueue.a build/libfoo_api.a build/libfoo_common.a \
 *      $(pkg-config --libs libcurl libcjson yaml-0.1 openssl) -lpthread -lm
 */
#include "api/foo_deployment.h"
#include "client/config.h"
#include "client/rest.h"
#include "common/alloc.h"
#include "common/clock.h"
#include "common/json.h"
#include "common/timefmt.h"
#include "controllers/foo_status.h"
#include "controllers/kapi.h"
#include "controllers/simulate.h"
#include "informer/informer.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define FOOS       "/apis/demo.example.com/v1beta1/foos"
#define FINALIZER  "demo.example.com/cleanup"
#define PREFIX     "ctl"
#define MAX_THREAD 64

typedef struct bench {
    kc_client *kc;
    ctl_kapi api;
    int count, threads;
    atomic_int next; /* the next Foo index a thread takes */
} bench;

static void die(const char *what, const char *why)
{
    fprintf(stderr, "controller_bench: %s: %s\n", what, why ? why : "");
    exit(1);
}

static double now_s(void)
{
    return (double)clk_mono_ns(clk_system()) / 1e9;
}

static int64_t wall_ms(void)
{
    return clk_wall_ms(clk_system());
}

/* One write through the seam; dies on failure. Returns the server's answer (caller frees). */
static cJSON *write_json(bench *b, const char *method, const char *path, const char *content_type,
                         const cJSON *body)
{
    cJSON *out = NULL;
    api_error err = API_ERROR_INIT;
    if (b->api.call(b->api.ctx, method, path, content_type, body, &out, &err) != 0) {
        char *what = xasprintf("%s %s", method, path);
        die(what, err.message);
    }
    return out;
}

static cJSON *new_foo(int i)
{
    char body[256];
    snprintf(body, sizeof body,
             "{\"apiVersion\":\"demo.example.com/v1beta1\",\"kind\":\"Foo\",\"metadata\":"
             "{\"name\":\"" PREFIX "-%05d\"},\"spec\":{\"replicas\":1,\"image\":\"nginx:1.27\"}}",
             i);
    cJSON *foo = cJSON_Parse(body);
    if (!foo)
        die("new_foo", "bad template");
    return foo;
}

/* ---- converge: create, then wait for every Foo to be Ready ---------------------------------- */

typedef struct ready_count {
    pthread_mutex_t mu;
    pthread_cond_t cond;
    int ready, want;
    double done_at; /* monotonic seconds when ready reached want; 0 = not yet */
} ready_count;

/* Ready=True, reason Available, for the Foo's current generation. */
static bool foo_ready(const inf_obj *obj)
{
    cJSON *foo = inf_obj_parse(obj);
    const cJSON *c = fc_ready_condition(foo);
    int64_t gen = 0, seen = -1;
    bool ok = c && json_int64(json_path(foo, "metadata.generation"), 0, INT64_MAX, &gen) &&
              json_int64(json_path(c, "observedGeneration"), 0, INT64_MAX, &seen) && gen == seen;
    const char *status = json_path_string(c, "status"), *reason = json_path_string(c, "reason");
    ok = ok && status && !strcmp(status, "True") && reason && !strcmp(reason, "Available");
    cJSON_Delete(foo);
    return ok;
}

static void count_change(ready_count *rc, int delta)
{
    if (delta == 0)
        return;
    pthread_mutex_lock(&rc->mu);
    rc->ready += delta;
    if (rc->ready == rc->want && rc->done_at == 0) {
        rc->done_at = now_s();
        pthread_cond_broadcast(&rc->cond);
    }
    pthread_mutex_unlock(&rc->mu);
}

static void on_add(void *ctx, const inf_obj *obj)
{
    count_change(ctx, foo_ready(obj));
}

static void on_update(void *ctx, const inf_obj *old_obj, const inf_obj *new_obj)
{
    count_change(ctx, (int)foo_ready(new_obj) - (int)foo_ready(old_obj));
}

static void on_delete(void *ctx, const inf_obj *obj, bool final_state_unknown)
{
    (void)final_state_unknown;
    count_change(ctx, -(int)foo_ready(obj));
}

static void *creator(void *arg)
{
    bench *b = arg;
    for (int i; (i = atomic_fetch_add(&b->next, 1)) < b->count;) {
        cJSON *foo = new_foo(i);
        cJSON_Delete(write_json(b, "POST", FOOS, NULL, foo));
        cJSON_Delete(foo);
    }
    return NULL;
}

/* Starts n threads running fn(b) and joins them. */
static void run_threads(bench *b, void *(*fn)(void *))
{
    pthread_t t[MAX_THREAD];
    atomic_store(&b->next, 0);
    for (int i = 0; i < b->threads; i++)
        if (pthread_create(&t[i], NULL, fn, b) != 0)
            die("pthread_create", "failed");
    for (int i = 0; i < b->threads; i++)
        pthread_join(t[i], NULL);
}

/*
 * Syncs a fresh informer on path with the options the controller-manager's informers have
 * (inf_options_defaults: managed fields stripped) and prints how many objects its store holds
 * and the store's own count of bytes per object (inf_store_bytes): the manager's cache of that
 * resource, object for object.
 */
static void cache_size(bench *b, const char *path, const char *label)
{
    inf_options o = inf_options_defaults();
    o.path = path;
    api_error err = API_ERROR_INIT;
    inf_informer *inf = inf_informer_new(b->kc, &o, &err);
    if (!inf)
        die("informer", err.message);
    if (inf_start(inf) != 0 || !inf_wait_for_sync(inf, 60000))
        die(path, "no sync within 60 s");
    inf_stats st;
    inf_get_stats(inf, &st);
    printf("%s %zu\n", label, st.store_count);
    printf("%s_store_bytes_per_obj %.0f B\n", label,
           st.store_count ? (double)st.store_bytes / (double)st.store_count : 0.0);
    inf_informer_free(inf);
}

static void converge(bench *b, int timeout_s)
{
    ready_count rc = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, b->count, 0};
    if (clk_mono_cond_init(&rc.cond) != 0)
        die("pthread_cond_init", "failed");
    inf_options o = inf_options_defaults();
    o.path = FOOS;
    api_error err = API_ERROR_INIT;
    inf_informer *inf = inf_informer_new(b->kc, &o, &err);
    if (!inf)
        die("informer", err.message);
    inf_handlers h = {on_add, on_update, on_delete, &rc};
    inf_add_handlers(inf, &h);
    if (inf_start(inf) != 0 || !inf_wait_for_sync(inf, 60000))
        die("informer", "no sync within 60 s");

    double t0 = now_s();
    run_threads(b, creator);
    double created = now_s();
    struct timespec deadline = clk_mono_deadline((uint64_t)timeout_s * 1000000000ULL);
    pthread_mutex_lock(&rc.mu);
    while (rc.done_at == 0 && pthread_cond_timedwait(&rc.cond, &rc.mu, &deadline) == 0)
        ;
    double done_at = rc.done_at;
    int ready = rc.ready;
    pthread_mutex_unlock(&rc.mu);
    inf_informer_free(inf);
    pthread_cond_destroy(&rc.cond);
    if (done_at == 0) {
        fprintf(stderr, "controller_bench: %d of %d Foos Ready after %d s\n", ready, b->count,
                timeout_s);
        exit(1);
    }
    printf("create_seconds %.3f s\n", created - t0);
    printf("converge_seconds %.3f s\n", done_at - t0);
    printf("foos_ready %d\n", ready);
    cache_size(b, FOOS, "foos");
    cache_size(b, "/apis/apps/v1/deployments", "deployments");
}

/* ---- direct: the controller-manager's writes, sent by a plain client ----------------------- */

static char *foo_path(const cJSON *foo, const char *sub)
{
    return xasprintf(FOOS "/%s%s", json_path_string(foo, "metadata.name"), sub);
}

static char *deployment_path(const cJSON *d, const char *sub)
{
    return xasprintf("/apis/apps/v1/namespaces/%s/deployments/%s%s",
                     json_path_string(d, "metadata.namespace"),
                     json_path_string(d, "metadata.name"), sub);
}

/* The merge patch adding our finalizer, with the version read (as the controller sends it). */
static cJSON *finalizer_patch(const cJSON *foo)
{
    cJSON *p = cJSON_CreateObject();
    cJSON *meta = json_ensure_object(p, "metadata");
    cJSON *list = cJSON_CreateArray();
    cJSON_AddItemToArray(list, cJSON_CreateString(FINALIZER));
    json_set_item(meta, "finalizers", list);
    json_set_string(meta, "resourceVersion", json_path_string(foo, "metadata.resourceVersion"));
    return p;
}

/* PATCHes foo's /status to what the controller derives from deployment; returns the new Foo. */
static cJSON *write_foo_status(bench *b, cJSON *foo, const cJSON *deployment)
{
    fc_ready ready;
    fc_ready_from_deployment(foo, deployment, &ready);
    cJSON *desired = fc_status_desired(foo, deployment, &ready, wall_ms() / 1000);
    fc_ready_clear(&ready);
    cJSON *patch = fc_status_patch(foo, desired);
    cJSON_Delete(desired);
    if (!patch)
        die("status", "the controller would write nothing");
    char *path = foo_path(foo, "/status");
    cJSON *out = write_json(b, "PATCH", path, "application/merge-patch+json", patch);
    free(path);
    cJSON_Delete(patch);
    cJSON_Delete(foo);
    return out;
}

/* PATCHes the Deployment's /status as the simulator does; returns the new Deployment. */
static cJSON *write_simulated_status(bench *b, cJSON *d)
{
    cJSON *patch = cJSON_CreateObject();
    json_set_string(json_ensure_object(patch, "metadata"), "resourceVersion",
                    json_path_string(d, "metadata.resourceVersion"));
    json_set_item(patch, "status", sim_desired_status(d, wall_ms()));
    char *path = deployment_path(d, "/status");
    cJSON *out = write_json(b, "PATCH", path, "application/merge-patch+json", patch);
    free(path);
    cJSON_Delete(patch);
    cJSON_Delete(d);
    return out;
}

/* The SuccessfulCreate Event the recorder writes (controllers/events.c's fields). */
static void write_event(bench *b, const cJSON *foo, const cJSON *d)
{
    char ts[RFC3339_LEN];
    time_format_rfc3339(wall_ms() / 1000, ts);
    const char *name = json_path_string(foo, "metadata.name");
    cJSON *ev = cJSON_CreateObject();
    json_set_string(ev, "apiVersion", "v1");
    json_set_string(ev, "kind", "Event");
    cJSON *meta = json_ensure_object(ev, "metadata");
    char *ev_name = xasprintf("%s.%016llx", name, (unsigned long long)wall_ms() * 1000000ULL);
    json_set_string(meta, "name", ev_name);
    json_set_string(meta, "namespace", "default");
    cJSON *io = json_ensure_object(ev, "involvedObject");
    json_set_string(io, "kind", "Foo");
    json_set_string(io, "name", name);
    json_set_string(io, "uid", json_path_string(foo, "metadata.uid"));
    json_set_string(io, "apiVersion", "demo.example.com/v1beta1");
    json_set_string(io, "resourceVersion", json_path_string(foo, "metadata.resourceVersion"));
    json_set_string(ev, "reason", "SuccessfulCreate");
    char *msg = xasprintf("Created Deployment %s/%s", json_path_string(d, "metadata.namespace"),
                          json_path_string(d, "metadata.name"));
    json_set_string(ev, "message", msg);
    json_set_string(json_ensure_object(ev, "source"), "component", "foo-controller-manager");
    json_set_string(ev, "firstTimestamp", ts);
    json_set_string(ev, "lastTimestamp", ts);
    json_set_number(ev, "count", 1);
    json_set_string(ev, "type", "Normal");
    json_set_string(ev, "reportingComponent", "foo-controller-manager");
    cJSON_Delete(write_json(b, "POST", "/api/v1/namespaces/default/events", NULL, ev));
    cJSON_Delete(ev);
    free(msg);
    free(ev_name);
}

/* The 7 writes of one Foo, in the order the controller-manager makes them. */
static void direct_one(bench *b, int i)
{
    cJSON *body = new_foo(i);
    cJSON *foo = write_json(b, "POST", FOOS, NULL, body);
    cJSON_Delete(body);

    cJSON *patch = finalizer_patch(foo);
    char *path = foo_path(foo, "");
    cJSON *patched = write_json(b, "PATCH", path, "application/merge-patch+json", patch);
    free(path);
    cJSON_Delete(patch);
    cJSON_Delete(foo);
    foo = patched;

    cJSON *desired = foo_desired_deployment(foo);
    path = xasprintf("/apis/apps/v1/namespaces/%s/deployments", foo_deployment_namespace(foo));
    cJSON *d = write_json(b, "POST", path, NULL, desired);
    free(path);
    cJSON_Delete(desired);

    foo = write_foo_status(b, foo, d); /* Ready=False, Progressing */
    d = write_simulated_status(b, d);
    foo = write_foo_status(b, foo, d); /* Ready=True, Available */
    write_event(b, foo, d);
    cJSON_Delete(d);
    cJSON_Delete(foo);
}

static void *direct_thread(void *arg)
{
    bench *b = arg;
    for (int i; (i = atomic_fetch_add(&b->next, 1)) < b->count;)
        direct_one(b, i);
    return NULL;
}

/* utime + stime of this process in seconds (/proc/self/stat fields 14 and 15). */
static double proc_cpu_s(void)
{
    FILE *f = fopen("/proc/self/stat", "r");
    char buf[1024];
    size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    if (f)
        fclose(f);
    buf[n] = '\0';
    const char *p = strrchr(buf, ')'); /* the command name may hold spaces */
    unsigned long long ut = 0, st = 0;
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
        die("/proc/self/stat", "unreadable");
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* VmHWM of this process in KiB. */
static long proc_hwm_kib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kib = -1;
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, "VmHWM:", 6) == 0)
            kib = atol(line + 6);
    if (f)
        fclose(f);
    return kib;
}

static void direct(bench *b)
{
    double cpu0 = proc_cpu_s();
    double t0 = now_s();
    run_threads(b, direct_thread);
    double dt = now_s() - t0;
    long writes = 7L * b->count;
    printf("direct_seconds %.3f s\n", dt);
    printf("direct_writes %ld\n", writes);
    printf("direct_writes_per_s %.0f req/s\n", (double)writes / dt);
    printf("cpu_seconds %.2f s\n", proc_cpu_s() - cpu0);
    printf("peak_rss_kib %ld KiB\n", proc_hwm_kib());
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "", *kubeconfig = NULL;
    bench b = {.count = 10000, .threads = 4};
    int timeout_s = 600;
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--kubeconfig") && i + 1 < argc)
            kubeconfig = argv[++i];
        else if (!strcmp(argv[i], "--count") && i + 1 < argc)
            b.count = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc)
            b.threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--timeout") && i + 1 < argc)
            timeout_s = atoi(argv[++i]);
        else
            mode = "";
    }
    bool known = !strcmp(mode, "converge") || !strcmp(mode, "direct");
    if (!known || !kubeconfig || b.count < 1 || b.threads < 1 || b.threads > MAX_THREAD ||
        timeout_s < 1)
        die("usage", "controller_bench converge|direct --kubeconfig FILE [--count N] "
                     "[--threads T] [--timeout S]");
    alloc_install_cjson_hooks();
    kc_config *cfg = NULL;
    api_error err = API_ERROR_INIT;
    kc_load_options lo = {.kubeconfig = kubeconfig};
    if (kc_load(&lo, &cfg, &err) != 0)
        die("kubeconfig", err.message);
    b.kc = kc_client_new(cfg, NULL, &err);
    if (!b.kc)
        die("client", err.message);
    b.api = ctl_kapi_client(b.kc);
    if (!strcmp(mode, "converge"))
        converge(&b, timeout_s);
    else
        direct(&b);
    kc_client_free(b.kc);
    kc_config_free(cfg);
    return 0;
}

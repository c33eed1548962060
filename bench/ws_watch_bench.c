/*
 * ws_watch_bench.c - the cost of N concurrent watches on each client watch transport, for
 * bench/watch_transports.sh (part 5 of `make bench`).
 *
 *   ws_watch_bench watch --kubeconfig F --transport http|websocket --watches N --events K
 *       Opens N watches on foos (one thread each, as informers do) from the current
 *       resourceVersion, prints "ready" once every one has its answer's head (counted through
 *       the client's on_response observer), then counts events until N * K arrived and prints
 *       one "name value unit" line per measure:
 *         rss_per_watch   (VmRSS once ready - VmRSS before the first watch) / N, bytes
 *         cpu_per_event   process CPU (utime + stime) over the event phase / events, microseconds
 *         events          events received
 *   ws_watch_bench write --kubeconfig F --count K --prefix P
 *       Creates K Foos named P-<i>, one at a time (the writer runs in its own process so its
 *       CPU is not counted as the watchers').
 *
 * Exit 1 on an error or when the events do not all arrive within EVENTS_TIMEOUT_S.
 */
#include "client/config.h"
#include "client/rest.h"
#include "client/wswatch.h"
#include "common/alloc.h"
#include "common/clock.h"

#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#define FOOS             "/apis/demo.example.com/v1beta1/foos"
#define READY_TIMEOUT_S  120
#define EVENTS_TIMEOUT_S 300

typedef struct bench {
    kc_config *cfg;
    kc_client *kc;
    kc_wswatch *ws; /* NULL for http */
    char *path;
    atomic_long heads, events, failures;
    atomic_bool stop;
    pthread_mutex_t mu;
    pthread_cond_t cond;
} bench;

static bench b;

static void die(const char *what, const api_error *err)
{
    fprintf(stderr, "ws_watch_bench: %s: %s\n", what, err && err->message ? err->message : "");
    exit(1);
}

static void on_response(void *ctx, int code, const char *method, const char *host)
{
    (void)ctx;
    (void)host;
    if (strcmp(method, "GET") == 0 && (code == 200 || code == 101))
        atomic_fetch_add(&b.heads, 1);
}

static bool on_event(void *ctx, kc_watch_event *ev)
{
    (void)ctx;
    if (ev->type == KC_ADDED || ev->type == KC_MODIFIED || ev->type == KC_DELETED)
        atomic_fetch_add(&b.events, 1);
    return true;
}

static void *watcher(void *arg)
{
    (void)arg;
    api_error err = API_ERROR_INIT;
    int rc = b.ws ? kc_ws_watch(b.ws, b.path, 0, on_event, NULL, &b.stop, &err)
                  : kc_watch(b.kc, b.path, 0, on_event, NULL, &b.stop, &err);
    if (rc != 0 && !atomic_load(&b.stop)) {
        fprintf(stderr, "ws_watch_bench: watch ended: %s\n", err.message ? err.message : "");
        atomic_fetch_add(&b.failures, 1);
    }
    apierr_clear(&err);
    return NULL;
}

static long rss_bytes(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kib = 0;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
            break;
    if (f)
        fclose(f);
    return kib * 1024;
}

static double cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec / 1e6;
}

/* Polls (real time) until *v reaches want or timeout_s passes; false on timeout or failure. */
static bool wait_for(atomic_long *v, long want, int timeout_s)
{
    uint64_t end = clk_mono_ns(clk_system()) + (uint64_t)timeout_s * 1000000000ull;
    while (atomic_load(v) < want) {
        if (atomic_load(&b.failures) > 0 || clk_mono_ns(clk_system()) > end)
            return false;
        pthread_mutex_lock(&b.mu);
        struct timespec ts = clk_mono_deadline(5 * CLK_NS_PER_MS);
        pthread_cond_timedwait(&b.cond, &b.mu, &ts);
        pthread_mutex_unlock(&b.mu);
    }
    return true;
}

static void connect_client(const char *kubeconfig)
{
    api_error err = API_ERROR_INIT;
    kc_load_options lo = {.kubeconfig = kubeconfig};
    if (kc_load(&lo, &b.cfg, &err) != 0)
        die("kubeconfig", &err);
    kc_client_options o = kc_client_defaults();
    o.on_response = on_response;
    b.kc = kc_client_new(b.cfg, &o, &err);
    if (!b.kc)
        die("client", &err);
}

/* The collection's current resourceVersion, so each watch starts at "now". */
static char *current_rv(void)
{
    api_error err = API_ERROR_INIT;
    cJSON *list = NULL;
    if (kc_request_json(b.kc, "GET", FOOS "?limit=1", NULL, NULL, &list, &err) != 0)
        die("list", &err);
    const cJSON *rv = cJSON_GetObjectItem(cJSON_GetObjectItem(list, "metadata"), "resourceVersion");
    char *s = xstrdup(cJSON_IsString(rv) ? rv->valuestring : "0");
    cJSON_Delete(list);
    return s;
}

static int run_watch(const char *transport, long n, long k)
{
    if (strcmp(transport, "websocket") == 0) {
        api_error err = API_ERROR_INIT;
        b.ws = kc_wswatch_new(b.kc, &err);
        if (!b.ws)
            die("kc_wswatch_new", &err);
    } else if (strcmp(transport, "http") != 0) {
        die("--transport must be http or websocket", NULL);
    }
    char *rv = current_rv();
    b.path = xasprintf(FOOS "?watch=true&resourceVersion=%s&timeoutSeconds=3600", rv);
    free(rv);
    long heads0 = atomic_load(&b.heads); /* the LIST above counted one */
    long rss0 = rss_bytes();
    pthread_t *threads = xcalloc((size_t)n, sizeof *threads);
    for (long i = 0; i < n; i++)
        if (pthread_create(&threads[i], NULL, watcher, NULL) != 0)
            die("pthread_create", NULL);
    if (!wait_for(&b.heads, heads0 + n, READY_TIMEOUT_S))
        die("the watches did not all start", NULL);
    long rss1 = rss_bytes();
    printf("ready\n");
    fflush(stdout);
    double cpu0 = cpu_s();
    bool all = wait_for(&b.events, n * k, EVENTS_TIMEOUT_S);
    double cpu1 = cpu_s();
    long events = atomic_load(&b.events);
    printf("rss_per_watch %.0f B\n", (double)(rss1 - rss0) / (double)n);
    printf("cpu_per_event %.2f us\n", events ? (cpu1 - cpu0) * 1e6 / (double)events : 0.0);
    printf("events %ld\n", events);
    fflush(stdout);
    atomic_store(&b.stop, true);
    for (long i = 0; i < n; i++)
        pthread_join(threads[i], NULL);
    free(threads);
    free(b.path);
    kc_wswatch_free(b.ws);
    if (!all)
        fprintf(stderr, "ws_watch_bench: %ld of %ld events arrived\n", events, n * k);
    return all ? 0 : 1;
}

static int run_write(long k, const char *prefix)
{
    for (long i = 0; i < k; i++) {
        char *body = xasprintf("{\"apiVersion\":\"demo.example.com/v1beta1\",\"kind\":\"Foo\","
                               "\"metadata\":{\"name\":\"%s-%ld\"},\"spec\":{}}",
                               prefix, i);
        api_error err = API_ERROR_INIT;
        if (kc_request(b.kc, "POST", FOOS, NULL, body, strlen(body), NULL, &err) != 0)
            die("create", &err);
        free(body);
    }
    return 0;
}

static const char *arg(int argc, char **argv, const char *name)
{
    for (int i = 2; i + 1 < argc; i++)
        if (strcmp(argv[i], name) == 0)
            return argv[i + 1];
    fprintf(stderr, "ws_watch_bench: %s is required\n", name);
    exit(2);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: ws_watch_bench watch|write --kubeconfig F ...\n");
        return 2;
    }
    alloc_install_cjson_hooks();
    pthread_mutex_init(&b.mu, NULL);
    clk_mono_cond_init(&b.cond);
    connect_client(arg(argc, argv, "--kubeconfig"));
    int rc;
    if (strcmp(argv[1], "watch") == 0)
        rc = run_watch(arg(argc, argv, "--transport"), atol(arg(argc, argv, "--watches")),
                       atol(arg(argc, argv, "--events")));
    else
        rc = run_write(atol(arg(argc, argv, "--count")), arg(argc, argv, "--prefix"));
    kc_client_free(b.kc);
    kc_config_free(b.cfg);
    return rc;
}

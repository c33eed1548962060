/*
 * client_rest.c - ThreadSanitizer stress driver for the REST client (client/rest.h): one shared
 * kc_client, 8 threads doing 200 requests each (create, get, merge patch, delete of their own
 * Foos) against a real foo-apiserver started with the test fixture, while one more thread
 * watches and must see every ADDED, MODIFIED and DELETED event exactly once.
 * Run from a -DFOO_TSAN=ON build directory (the fixture finds ./foo-apiserver, or
 * $FOO_APISERVER). Exits 0 when every check passed, 1 otherwise.
 */
#include "test/unit/client/server_fixture.c"

#include "client/rest.h"
#include "common/alloc.h"
#include "common/json.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FOOS            "/apis/demo.example.com/v1beta1/foos"
#define THREADS         8
#define PER_THREAD      200 /* a multiple of 4: create, get, patch, delete */
#define EXPECTED_EVENTS (THREADS * PER_THREAD / 4 * 3)

static kc_client *cli;

typedef struct worker {
    pthread_t t;
    int id;
    int failures;
} worker;

typedef struct watcher {
    pthread_t t;
    char *path;
    int counts[5]; /* per kc_event_type */
    int total;
    int rc;
} watcher;

static int step(int id, int i)
{
    char name[64];
    snprintf(name, sizeof name, "t%d-%d", id, i / 4);
    char *path = xasprintf(FOOS "/%s", name);
    int rc = 0;
    switch (i % 4) {
    case 0: {
        char *body = xasprintf("{\"apiVersion\":\"demo.example.com/v1beta1\",\"kind\":\"Foo\","
                               "\"metadata\":{\"name\":\"%s\"}}",
                               name);
        rc = kc_request(cli, "POST", FOOS, NULL, body, strlen(body), NULL, NULL);
        free(body);
        break;
    }
    case 1: {
        cJSON *foo = NULL;
        rc = kc_request_json(cli, "GET", path, NULL, NULL, &foo, NULL);
        if (rc == 0 && strcmp(json_path_string(foo, "metadata.name"), name) != 0)
            rc = -1;
        cJSON_Delete(foo);
        break;
    }
    case 2: {
        const char *patch = "{\"spec\":{\"replicas\":3}}";
        rc = kc_request(cli, "PATCH", path, "application/merge-patch+json", patch, strlen(patch),
                        NULL, NULL);
        break;
    }
    default:
        rc = kc_request(cli, "DELETE", path, NULL, NULL, 0, NULL, NULL);
    }
    free(path);
    return rc;
}

static void *work(void *arg)
{
    worker *w = arg;
    for (int i = 0; i < PER_THREAD; i++) {
        int rc = step(w->id, i);
        if (rc != 0) {
            fprintf(stderr, "worker %d step %d: %d\n", w->id, i, rc);
            w->failures++;
        }
    }
    return NULL;
}

static bool on_event(void *ctx, kc_watch_event *ev)
{
    watcher *w = ctx;
    w->counts[ev->type]++;
    w->total++;
    return w->total < EXPECTED_EVENTS;
}

static void *watch(void *arg)
{
    watcher *w = arg;
    api_error e = API_ERROR_INIT;
    w->rc = kc_watch(cli, w->path, 60000, on_event, w, NULL, &e);
    if (w->rc != 0)
        fprintf(stderr, "watch: %d %s\n", w->rc, e.message ? e.message : "");
    apierr_clear(&e);
    return NULL;
}

static int check(bool ok, const char *what)
{
    if (!ok)
        fprintf(stderr, "FAILED: %s\n", what);
    return ok ? 0 : 1;
}

static char *list_rv(void)
{
    cJSON *list = NULL;
    if (kc_request_json(cli, "GET", FOOS, NULL, NULL, &list, NULL) != 0)
        return NULL;
    const char *rv = json_path_string(list, "metadata.resourceVersion");
    char *copy = rv ? xstrdup(rv) : NULL;
    cJSON_Delete(list);
    return copy;
}

static int run(void)
{
    int failed = 0;
    /* One object first, so the list's revision is not "0": a watch from "0" starts with the
       current objects, and writes made before it connects would then be missed as events. */
    const char *seed = "{\"apiVersion\":\"demo.example.com/v1beta1\",\"kind\":\"Foo\","
                       "\"metadata\":{\"name\":\"seed\"}}";
    if (check(kc_request(cli, "POST", FOOS, NULL, seed, strlen(seed), NULL, NULL) == 0,
              "seed object"))
        return 1;
    char *rv = list_rv();
    if (check(rv != NULL, "initial list"))
        return 1;
    watcher wt = {.path = xasprintf(FOOS "?watch=true&resourceVersion=%s", rv)};
    free(rv);
    failed += check(pthread_create(&wt.t, NULL, watch, &wt) == 0, "start watcher");
    worker ws[THREADS];
    for (int i = 0; i < THREADS; i++) {
        ws[i] = (worker){.id = i};
        failed += check(pthread_create(&ws[i].t, NULL, work, &ws[i]) == 0, "start worker");
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(ws[i].t, NULL);
        failed += check(ws[i].failures == 0, "every request of a worker succeeds");
    }
    pthread_join(wt.t, NULL);
    free(wt.path);
    failed += check(wt.rc == 0, "the watch ends cleanly");
    failed += check(wt.total == EXPECTED_EVENTS, "every change is seen once");
    failed += check(wt.counts[KC_ADDED] == EXPECTED_EVENTS / 3, "ADDED count");
    failed += check(wt.counts[KC_MODIFIED] == EXPECTED_EVENTS / 3, "MODIFIED count");
    failed += check(wt.counts[KC_DELETED] == EXPECTED_EVENTS / 3, "DELETED count");
    kc_client_stats st;
    kc_client_stats_get(cli, &st);
    fprintf(stderr, "requests %llu, connections %llu, events %d\n", (unsigned long long)st.requests,
            (unsigned long long)st.connections, wt.total);
    /* One per concurrent handle, one for the watch, one for the first list. */
    failed += check(st.connections <= THREADS + 2, "connections are reused");
    return failed ? 1 : 0;
}

int main(void)
{
    alloc_install_cjson_hooks();
    sf_server srv;
    if (sf_start(&srv, NULL) != 0)
        return 1;
    kc_load_options opt = {.kubeconfig = srv.kubeconfig};
    kc_config *cfg = NULL;
    api_error err = API_ERROR_INIT;
    int failed = 1;
    if (kc_load(&opt, &cfg, &err) != 0) {
        fprintf(stderr, "kc_load: %s\n", err.message ? err.message : "");
        apierr_clear(&err);
    } else {
        cli = kc_client_new(cfg, NULL, &err);
        if (!cli) {
            fprintf(stderr, "kc_client_new: %s\n", err.message ? err.message : "");
            apierr_clear(&err);
        } else {
            failed = run();
            kc_client_free(cli);
        }
        kc_config_free(cfg);
    }
    if (sf_stop(&srv) != 0)
        failed = 1;
    fprintf(stderr, "%s\n", failed ? "client_rest: FAILED" : "client_rest: ok");
    return failed;
}

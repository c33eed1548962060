/* itest.c - integration helpers of the informer tests (itest.h). */
#include "itest.h"

#include "test/unit/client/server_fixture.c" /* the fixture's documented reuse: compiled in once */

#include "common/alloc.h"
#include "common/clock.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define uthash_malloc(sz)  xmalloc(sz)
#define uthash_free(p, sz) free(p)
#include <uthash.h>

#define IT_MAX_ATTEMPTS   200
#define IT_RESTART_WAIT_S 60

struct it_name {
    UT_hash_handle hh;
    bool present;
    unsigned long long rv;
    char name[];
};

static char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
static char *fmt(const char *f, ...)
{
    va_list ap;
    va_start(ap, f);
    char *s = NULL;
    if (vasprintf(&s, f, ap) < 0)
        abort();
    va_end(ap);
    return s;
}

/*
 * The fixture runs $FOO_APISERVER, else ./foo-apiserver. Test runners start binaries from the
 * repository root too, so when the variable is unset point it at the first server found: beside
 * this binary, then in the repository's build trees (found from this file's path).
 */
static void find_apiserver(void)
{
    if (getenv("FOO_APISERVER"))
        return;
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    char *cands[3] = {NULL};
    if (n > 0) {
        exe[n] = '\0';
        char *end = strrchr(exe, '/');
        if (end)
            *end = '\0';
        cands[0] = fmt("%s/foo-apiserver", exe);
    }
    /* This file is <root>/test/unit/informer/itest.c (possibly reached through "..") */
    const char *src = __FILE__;
    const char *slash = strrchr(src, '/');
    if (src[0] == '/' && slash) {
        int dir = (int)(slash - src);
        cands[1] = fmt("%.*s/../../../build/foo-apiserver", dir, src);
        cands[2] = fmt("%.*s/../../../build-asan/foo-apiserver", dir, src);
    }
    for (int i = 0; i < 3; i++) {
        if (cands[i] && access(cands[i], X_OK) == 0 && !getenv("FOO_APISERVER"))
            setenv("FOO_APISERVER", cands[i], 1);
        free(cands[i]);
    }
}

int it_start(itest *t, const char *const *server_args, char **why)
{
    find_apiserver();
    memset(t, 0, sizeof *t);
    pthread_mutex_init(&t->mu, NULL);
    if (clk_mono_cond_init(&t->cond) != 0) {
        *why = fmt("cannot create a condition variable");
        return -1;
    }
    if (sf_start(&t->srv, server_args) != 0) {
        *why = fmt("the server did not start (is ./foo-apiserver or $FOO_APISERVER built?)");
        return -1;
    }
    api_error err = API_ERROR_INIT;
    kc_load_options lo = {.kubeconfig = t->srv.kubeconfig};
    if (kc_load(&lo, &t->cfg, &err) != 0) {
        *why = fmt("kubeconfig: %s", err.message ? err.message : "?");
        apierr_clear(&err);
        return -1;
    }
    t->kc = kc_client_new(t->cfg, NULL, &err);
    if (!t->kc) {
        *why = fmt("client: %s", err.message ? err.message : "?");
        apierr_clear(&err);
        return -1;
    }
    return 0;
}

const char *it_transport_name(it_transport_kind kind)
{
    return kind == IT_WEBSOCKET ? "websocket" : "http";
}

inf_transport it_transport(itest *t, it_transport_kind kind)
{
    if (kind == IT_HTTP)
        return inf_transport_kc(t->kc);
    if (!t->ws) {
        api_error err = API_ERROR_INIT;
        t->ws = kc_wswatch_new(t->kc, &err);
        if (!t->ws) {
            fprintf(stderr, "itest: kc_wswatch_new: %s\n", err.message ? err.message : "?");
            abort();
        }
    }
    return inf_transport_ws(t->ws);
}

void it_stop(itest *t)
{
    kc_wswatch_free(t->ws);
    kc_client_free(t->kc);
    kc_config_free(t->cfg);
    sf_stop(&t->srv);
    it_name *n, *tmp;
    HASH_ITER(hh, t->names, n, tmp)
    {
        HASH_DEL(t->names, n);
        free(n);
    }
    free(t->violation);
    free(t->writer_error);
    pthread_cond_destroy(&t->cond);
    pthread_mutex_destroy(&t->mu);
}

/* ---- accounting handlers ---- */

static unsigned long long rv_num(const inf_obj *o)
{
    return strtoull(inf_obj_resource_version(o), NULL, 10);
}

static it_name *name_entry(itest *t, const char *name)
{
    it_name *n;
    HASH_FIND_STR(t->names, name, n);
    if (!n) {
        size_t len = strlen(name);
        n = xcalloc(1, sizeof *n + len + 1);
        memcpy(n->name, name, len + 1);
        HASH_ADD(hh, t->names, name[0], len, n);
    }
    return n;
}

static void violate(itest *t, char *msg)
{
    if (!t->violation)
        t->violation = msg;
    else
        free(msg);
}

static void h_add(void *ctx, const inf_obj *o)
{
    itest *t = ctx;
    pthread_mutex_lock(&t->mu);
    it_name *n = name_entry(t, inf_obj_key(o));
    if (n->present)
        violate(t, fmt("add of %s, which is present at %llu", n->name, n->rv));
    n->present = true;
    n->rv = rv_num(o);
    t->adds++;
    pthread_cond_broadcast(&t->cond);
    pthread_mutex_unlock(&t->mu);
}

static void h_update(void *ctx, const inf_obj *old, const inf_obj *o)
{
    itest *t = ctx;
    pthread_mutex_lock(&t->mu);
    it_name *n = name_entry(t, inf_obj_key(o));
    if (!n->present)
        violate(t, fmt("update of %s, which is absent", n->name));
    else if (rv_num(old) != n->rv)
        violate(t, fmt("update of %s: old object at %llu, handlers last saw %llu", n->name,
                       rv_num(old), n->rv));
    else if (rv_num(o) < n->rv)
        violate(t, fmt("update of %s goes back from %llu to %llu", n->name, n->rv, rv_num(o)));
    n->present = true;
    n->rv = rv_num(o);
    t->updates++;
    pthread_cond_broadcast(&t->cond);
    pthread_mutex_unlock(&t->mu);
}

static void h_delete(void *ctx, const inf_obj *o, bool unknown)
{
    itest *t = ctx;
    pthread_mutex_lock(&t->mu);
    it_name *n = name_entry(t, inf_obj_key(o));
    if (!n->present)
        violate(t, fmt("delete of %s, which is absent", n->name));
    n->present = false;
    t->deletes++;
    if (unknown)
        t->deletes_unknown++;
    pthread_cond_broadcast(&t->cond);
    pthread_mutex_unlock(&t->mu);
}

inf_handlers it_handlers(itest *t)
{
    return (inf_handlers){h_add, h_update, h_delete, t};
}

inf_options it_informer_options(void)
{
    inf_options o = inf_options_defaults();
    o.path = IT_FOOS;
    o.name = "foos";
    return o;
}

/* ---- writers ---- */

/* Waits while the server is down (being killed and restarted). */
static void wait_up(itest *t)
{
    pthread_mutex_lock(&t->mu);
    while (t->down)
        pthread_cond_wait(&t->cond, &t->mu);
    pthread_mutex_unlock(&t->mu);
}

/*
 * One write, retried across a server kill. ok_on_retry: the HTTP code that proves an earlier,
 * interrupted attempt took effect (409 for a create, 404 for a delete; 0 = none).
 */
static int write_op(itest *t, const char *method, const char *path, const char *ctype,
                    const char *body, int ok_on_retry, char **why)
{
    for (int attempt = 0; attempt < IT_MAX_ATTEMPTS; attempt++) {
        wait_up(t);
        api_error err = API_ERROR_INIT;
        int rc = kc_request(t->kc, method, path, ctype, body, body ? strlen(body) : 0, NULL, &err);
        int code = err.code;
        char *msg = err.message ? xstrdup(err.message) : NULL;
        apierr_clear(&err);
        if (rc == 0 || (attempt > 0 && ok_on_retry && code == ok_on_retry)) {
            free(msg);
            pthread_mutex_lock(&t->mu);
            t->ops_done++;
            pthread_cond_broadcast(&t->cond);
            pthread_mutex_unlock(&t->mu);
            return 0;
        }
        if (code != 0 && code < 500) {
            *why = fmt("%s %s: HTTP %d %s", method, path, code, msg ? msg : "");
            free(msg);
            return -1;
        }
        free(msg); /* transport failure or 5xx: the server is going away or coming back */
    }
    *why = fmt("%s %s: gave up after %d attempts", method, path, IT_MAX_ATTEMPTS);
    return -1;
}

int it_create(itest *t, const char *name)
{
    char *body = fmt("{\"apiVersion\":\"demo.example.com/v1beta1\",\"kind\":\"Foo\","
                     "\"metadata\":{\"name\":\"%s\"},\"spec\":{\"replicas\":1}}",
                     name);
    char *why = NULL;
    int rc = write_op(t, "POST", IT_FOOS, "application/json", body, 409, &why);
    if (rc < 0) {
        pthread_mutex_lock(&t->mu);
        if (!t->writer_error)
            t->writer_error = why;
        else
            free(why);
        pthread_mutex_unlock(&t->mu);
    }
    free(body);
    return rc;
}

typedef struct writer {
    itest *t;
    const char *prefix;
    int id, n;
} writer;

static void *writer_main(void *arg)
{
    writer *w = arg;
    itest *t = w->t;
    char *why = NULL;
    for (int i = 0; i < w->n && !why; i++) {
        char *name = fmt("%s%d-%04d", w->prefix, w->id, i);
        char *path = fmt("%s/%s", IT_FOOS, name);
        char *body = fmt("{\"apiVersion\":\"demo.example.com/v1beta1\",\"kind\":\"Foo\","
                         "\"metadata\":{\"name\":\"%s\"},\"spec\":{\"replicas\":1}}",
                         name);
        if (write_op(t, "POST", IT_FOOS, "application/json", body, 409, &why) == 0 && i % 2 == 0)
            write_op(t, "PATCH", path, "application/merge-patch+json",
                     "{\"spec\":{\"replicas\":2}}", 0, &why);
        if (!why && i % 4 == 0)
            write_op(t, "DELETE", path, NULL, NULL, 404, &why);
        free(name);
        free(path);
        free(body);
    }
    if (why) {
        pthread_mutex_lock(&t->mu);
        if (!t->writer_error)
            t->writer_error = why;
        else
            free(why);
        pthread_mutex_unlock(&t->mu);
    }
    return NULL;
}

void it_kill_and_restart(itest *t)
{
    pthread_mutex_lock(&t->mu);
    t->down = true;
    pthread_mutex_unlock(&t->mu);
    int k = sf_kill(&t->srv);
    int r = sf_restart(&t->srv);
    pthread_mutex_lock(&t->mu);
    if ((k != 0 || r != 0) && !t->writer_error)
        t->writer_error = fmt("kill (%d) or restart (%d) of the server failed", k, r);
    t->down = false;
    pthread_cond_broadcast(&t->cond);
    pthread_mutex_unlock(&t->mu);
}

int it_run_writers(itest *t, const char *prefix, int threads, int per_thread,
                   void (*midway)(itest *t), char **why)
{
    writer *ws = xcalloc((size_t)threads, sizeof *ws);
    pthread_t *tids = xcalloc((size_t)threads, sizeof *tids);
    long total = 0;
    for (int i = 0; i < per_thread; i++)
        total += 1 + (i % 2 == 0) + (i % 4 == 0);
    total *= threads;
    pthread_mutex_lock(&t->mu);
    long start_ops = t->ops_done;
    pthread_mutex_unlock(&t->mu);
    for (int i = 0; i < threads; i++) {
        ws[i] = (writer){.t = t, .prefix = prefix, .id = i, .n = per_thread};
        if (pthread_create(&tids[i], NULL, writer_main, &ws[i]) != 0)
            abort();
    }
    if (midway) {
        pthread_mutex_lock(&t->mu);
        while (t->ops_done - start_ops < total / 2 && !t->writer_error)
            pthread_cond_wait(&t->cond, &t->mu);
        pthread_mutex_unlock(&t->mu);
        midway(t);
    }
    for (int i = 0; i < threads; i++)
        pthread_join(tids[i], NULL);
    free(ws);
    free(tids);
    if (t->writer_error) {
        *why = xstrdup(t->writer_error);
        return -1;
    }
    return 0;
}

/* ---- the final comparison ---- */

typedef struct kv {
    char *name;
    unsigned long long rv;
} kv;

static int cmp_kv(const void *a, const void *b)
{
    return strcmp(((const kv *)a)->name, ((const kv *)b)->name);
}

static void kv_free(kv *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i].name);
    free(v);
}

/* The LIST as sorted (name, rv) pairs; *list_rv the list's resourceVersion. */
static int list_now(itest *t, kv **out, size_t *n, unsigned long long *list_rv, char **why)
{
    cJSON *list = NULL;
    api_error err = API_ERROR_INIT;
    if (kc_request_json(t->kc, "GET", IT_FOOS, NULL, NULL, &list, &err) != 0) {
        *why = fmt("LIST failed: %d %s", err.code, err.message ? err.message : "");
        apierr_clear(&err);
        return -1;
    }
    const cJSON *items = cJSON_GetObjectItem(list, "items");
    *n = (size_t)cJSON_GetArraySize(items);
    *out = xcalloc(*n ? *n : 1, sizeof **out);
    size_t i = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, items)
    {
        const cJSON *meta = cJSON_GetObjectItem(it, "metadata");
        (*out)[i].name = xstrdup(cJSON_GetStringValue(cJSON_GetObjectItem(meta, "name")));
        (*out)[i].rv =
            strtoull(cJSON_GetStringValue(cJSON_GetObjectItem(meta, "resourceVersion")), NULL, 10);
        i++;
    }
    *list_rv = strtoull(cJSON_GetStringValue(cJSON_GetObjectItem(
                            cJSON_GetObjectItem(list, "metadata"), "resourceVersion")),
                        NULL, 10);
    cJSON_Delete(list);
    qsort(*out, *n, sizeof **out, cmp_kv);
    return 0;
}

static void store_now(inf_informer *inf, kv **out, size_t *n)
{
    inf_obj **objs;
    *n = inf_store_list(inf_informer_store(inf), &objs);
    *out = xcalloc(*n ? *n : 1, sizeof **out);
    for (size_t i = 0; i < *n; i++) {
        (*out)[i].name = xstrdup(inf_obj_key(objs[i]));
        (*out)[i].rv = rv_num(objs[i]);
    }
    inf_objs_free(objs, *n);
    qsort(*out, *n, sizeof **out, cmp_kv);
}

static void handlers_now(itest *t, kv **out, size_t *n)
{
    pthread_mutex_lock(&t->mu);
    *out = xcalloc(HASH_COUNT(t->names) + 1, sizeof **out);
    *n = 0;
    for (it_name *e = t->names; e; e = e->hh.next)
        if (e->present)
            (*out)[(*n)++] = (kv){xstrdup(e->name), e->rv};
    pthread_mutex_unlock(&t->mu);
    qsort(*out, *n, sizeof **out, cmp_kv);
}

static char *diff(const char *what, const kv *a, size_t na, const kv *b, size_t nb)
{
    size_t i = 0, j = 0;
    while (i < na && j < nb) {
        int c = strcmp(a[i].name, b[j].name);
        if (c == 0 && a[i].rv != b[j].rv)
            return fmt("%s: %s at %llu, LIST has it at %llu", what, a[i].name, a[i].rv, b[j].rv);
        if (c < 0)
            return fmt("%s has %s, LIST does not", what, a[i].name);
        if (c > 0)
            return fmt("%s lacks %s (in LIST at %llu)", what, b[j].name, b[j].rv);
        i++, j++;
    }
    if (i < na)
        return fmt("%s has %s, LIST does not", what, a[i].name);
    if (j < nb)
        return fmt("%s lacks %s (in LIST at %llu)", what, b[j].name, b[j].rv);
    return NULL;
}

static unsigned long long informer_rv(inf_informer *inf)
{
    char *s = inf_last_resource_version(inf);
    unsigned long long v = s ? strtoull(s, NULL, 10) : 0;
    free(s);
    return v;
}

int it_check_in_sync(itest *t, inf_informer *inf, int timeout_ms, char **why)
{
    kv *list = NULL;
    size_t nlist = 0;
    unsigned long long list_rv = 0;
    if (list_now(t, &list, &nlist, &list_rv, why) != 0)
        return -1;
    /* Handlers broadcast on every callback; bookmarks do not, hence the short slices. */
    struct timespec until =
        clk_mono_deadline(timeout_ms > 0 ? (uint64_t)timeout_ms * CLK_NS_PER_MS : 0);
    pthread_mutex_lock(&t->mu);
    int rc = 0;
    while (informer_rv(inf) < list_rv && rc != ETIMEDOUT) {
        struct timespec slice = clk_mono_deadline(100 * CLK_NS_PER_MS);
        bool last = slice.tv_sec > until.tv_sec ||
                    (slice.tv_sec == until.tv_sec && slice.tv_nsec >= until.tv_nsec);
        rc = pthread_cond_timedwait(&t->cond, &t->mu, last ? &until : &slice);
        if (!last && rc == ETIMEDOUT)
            rc = 0;
    }
    pthread_mutex_unlock(&t->mu);
    unsigned long long reached = informer_rv(inf);
    if (reached < list_rv) {
        *why =
            fmt("the informer reached resourceVersion %llu, the LIST is at %llu", reached, list_rv);
        kv_free(list, nlist);
        return -1;
    }
    kv *store = NULL, *seen = NULL;
    size_t nstore = 0, nseen = 0;
    store_now(inf, &store, &nstore);
    handlers_now(t, &seen, &nseen);
    pthread_mutex_lock(&t->mu);
    *why = t->violation ? xstrdup(t->violation) : NULL;
    pthread_mutex_unlock(&t->mu);
    if (!*why)
        *why = diff("the store", store, nstore, list, nlist);
    if (!*why)
        *why = diff("the handlers' view", seen, nseen, list, nlist);
    kv_free(list, nlist);
    kv_free(store, nstore);
    kv_free(seen, nseen);
    return *why ? -1 : 0;
}

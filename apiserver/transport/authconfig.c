/*
 * authconfig.c - the extension-apiserver-authentication ConfigMap: parser and watcher
 * (authconfig.h).
 */
#include "apiserver/transport/authconfig.h"
#include "common/alloc.h"
#include "common/json.h"
#include "common/log.h"
#include "common/sbuf.h"

#include <errno.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define AC_WHAT "ConfigMap " AC_NAMESPACE "/" AC_NAME

/* ---- parser ---- */

/* The JSON-array keys, where they go, and their default when absent. */
static const struct {
    const char *key;
    size_t offset; /* of the ac_strings in ac_config */
    const char *def;
} list_keys[] = {
    {"requestheader-allowed-names", offsetof(ac_config, allowed_names), NULL},
    {"requestheader-username-headers", offsetof(ac_config, username_headers), "x-remote-user"},
    {"requestheader-group-headers", offsetof(ac_config, group_headers), "x-remote-group"},
    {"requestheader-extra-headers-prefix", offsetof(ac_config, extra_prefixes), "x-remote-extra-"},
    {"requestheader-uid-headers", offsetof(ac_config, uid_headers), NULL},
};

static void strings_add(ac_strings *l, const char *s)
{
    l->v = xrealloc(l->v, sizeof *l->v * (size_t)(l->n + 1));
    l->v[l->n++] = xstrdup(s);
}

static void strings_clear(ac_strings *l)
{
    for (int i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    *l = (ac_strings){0};
}

static bool strings_equal(const ac_strings *a, const ac_strings *b)
{
    if (a->n != b->n)
        return false;
    for (int i = 0; i < a->n; i++)
        if (strcmp(a->v[i], b->v[i]) != 0)
            return false;
    return true;
}

/* The string value of data[key]: 0 with *out (NULL when absent), or -EINVAL. */
static int data_string(const cJSON *data, const char *key, const char **out, api_error *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(data, key);
    *out = NULL;
    if (!v)
        return 0;
    if (!cJSON_IsString(v))
        return apierr_local(err, -EINVAL, "%s: key %s: not a string", AC_WHAT, key);
    *out = v->valuestring;
    return 0;
}

/* A requestheader-* list: the JSON array in the string, or the default when absent or "". */
static int parse_list(const cJSON *data, const char *key, const char *def, ac_strings *out,
                      api_error *err)
{
    const char *text;
    int rc = data_string(data, key, &text, err);
    if (rc != 0)
        return rc;
    if (!text || !*text) {
        if (def)
            strings_add(out, def);
        return 0;
    }
    cJSON *arr = cJSON_Parse(text);
    bool ok = cJSON_IsArray(arr);
    const cJSON *items = ok ? arr : NULL, *item;
    cJSON_ArrayForEach(item, items)
    {
        if (!cJSON_IsString(item))
            ok = false;
    }
    items = ok ? arr : NULL;
    cJSON_ArrayForEach(item, items)
    {
        strings_add(out, item->valuestring);
    }
    cJSON_Delete(arr);
    if (!ok)
        return apierr_local(err, -EINVAL, "%s: key %s: not a JSON array of strings", AC_WHAT, key);
    return 0;
}

/* Whether pem holds at least one certificate and no certificate block that does not parse. */
static bool pem_has_certificates(const char *pem)
{
    BIO *bio = BIO_new_mem_buf(pem, -1);
    if (!bio)
        return false;
    int count = 0;
    X509 *x;
    while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
        X509_free(x);
        count++;
    }
    /* The loop ends at the end of the input (no start line), or at a block that is broken. */
    unsigned long e = ERR_peek_last_error();
    bool at_end = ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE;
    ERR_clear_error();
    BIO_free(bio);
    return count > 0 && at_end;
}

static int parse_ca(const cJSON *data, const char *key, char **out, api_error *err)
{
    const char *pem;
    int rc = data_string(data, key, &pem, err);
    if (rc != 0 || !pem)
        return rc;
    if (!pem_has_certificates(pem))
        return apierr_local(err, -EINVAL, "%s: key %s: not a PEM bundle of certificates", AC_WHAT,
                            key);
    *out = xstrdup(pem);
    return 0;
}

int ac_parse(const cJSON *configmap, ac_config *out, api_error *err)
{
    *out = (ac_config){0};
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(configmap, "data");
    if (data && !cJSON_IsObject(data) && !cJSON_IsNull(data))
        return apierr_local(err, -EINVAL, "%s: data is not an object", AC_WHAT);
    int rc = parse_ca(data, "client-ca-file", &out->client_ca, err);
    if (rc == 0)
        rc = parse_ca(data, "requestheader-client-ca-file", &out->requestheader_ca, err);
    for (size_t i = 0; rc == 0 && i < sizeof list_keys / sizeof *list_keys; i++) {
        ac_strings *l = (ac_strings *)((char *)out + list_keys[i].offset);
        rc = parse_list(data, list_keys[i].key, list_keys[i].def, l, err);
    }
    if (rc != 0)
        ac_config_clear(out);
    return rc;
}

void ac_config_clear(ac_config *c)
{
    free(c->client_ca);
    free(c->requestheader_ca);
    for (size_t i = 0; i < sizeof list_keys / sizeof *list_keys; i++)
        strings_clear((ac_strings *)((char *)c + list_keys[i].offset));
    *c = (ac_config){0};
}

static bool same_string(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

bool ac_config_equal(const ac_config *a, const ac_config *b)
{
    if (!same_string(a->client_ca, b->client_ca) ||
        !same_string(a->requestheader_ca, b->requestheader_ca))
        return false;
    for (size_t i = 0; i < sizeof list_keys / sizeof *list_keys; i++) {
        size_t off = list_keys[i].offset;
        if (!strings_equal((const ac_strings *)((const char *)a + off),
                           (const ac_strings *)((const char *)b + off)))
            return false;
    }
    return true;
}

/* ---- watcher ---- */

#define AC_LIST_PATH                                                                               \
    "/api/v1/namespaces/" AC_NAMESPACE "/configmaps?fieldSelector=metadata.name%3D" AC_NAME
/* No byte for this long (kube-apiserver sends a bookmark about every minute): the connection is
   presumed dead and the watcher relists. */
#define AC_WATCH_IDLE_MS (5 * 60 * 1000)

struct ac_watcher {
    ac_watcher_options opt;
    pthread_t thread;
    atomic_bool stop;
    atomic_bool loaded;
    pthread_mutex_t mu; /* with wake: lets ac_watcher_stop cut a backoff wait short */
    pthread_cond_t wake;
    /* The watcher thread's own state. */
    ac_config last; /* the state last delivered */
    char *rv;       /* where the next watch starts */
};

static void set_rv(ac_watcher *w, const cJSON *obj)
{
    const char *rv = json_path_string(obj, "metadata.resourceVersion");
    if (rv && *rv) {
        free(w->rv);
        w->rv = xstrdup(rv);
    }
}

/* Hands cfg to on_change when it differs from the last state delivered (or is the first). */
static void deliver(ac_watcher *w, ac_config *cfg)
{
    if (atomic_load(&w->loaded) && ac_config_equal(&w->last, cfg)) {
        ac_config_clear(cfg);
        return;
    }
    w->opt.on_change(w->opt.ctx, cfg);
    ac_config_clear(&w->last);
    w->last = *cfg;
    *cfg = (ac_config){0};
    if (!atomic_load(&w->loaded))
        log_kv(LOG_INFO, "authentication configuration loaded", "configmap",
               AC_NAMESPACE "/" AC_NAME, NULL);
    atomic_store(&w->loaded, true);
}

/* Parses the ConfigMap and delivers it. Returns 0 or -EINVAL (logged; the last state stays). */
static int take_object(ac_watcher *w, const cJSON *obj)
{
    ac_config cfg;
    api_error err = API_ERROR_INIT;
    int rc = ac_parse(obj, &cfg, &err);
    if (rc != 0) {
        log_kv(LOG_ERROR, "authentication configuration not applied", "error", err.message, NULL);
        apierr_clear(&err);
        return rc;
    }
    deliver(w, &cfg);
    return 0;
}

/* Lists the ConfigMap: 0 (delivered, w->rv set), -ENOENT (not there) or another negative. */
static int list_once(ac_watcher *w)
{
    cJSON *list = NULL;
    api_error err = API_ERROR_INIT;
    int rc = kc_request_json(w->opt.client, "GET", AC_LIST_PATH, NULL, NULL, &list, &err);
    if (rc != 0) {
        log_kv(LOG_WARN, "cannot list " AC_WHAT, "error", err.message ? err.message : "", NULL);
        apierr_clear(&err);
        return rc;
    }
    const cJSON *items = cJSON_GetObjectItemCaseSensitive(list, "items");
    const cJSON *cm = cJSON_GetArrayItem(items, 0);
    if (!cJSON_IsObject(cm)) {
        log_kv(LOG_WARN, AC_WHAT " not found; retrying", NULL);
        rc = -ENOENT;
    } else {
        rc = take_object(w, cm);
    }
    free(w->rv);
    w->rv = NULL;
    if (rc == 0)
        set_rv(w, list);
    cJSON_Delete(list);
    return rc;
}

/* One watch event; false ends the watch (an ERROR event: relist). */
static bool on_event(void *ctx, kc_watch_event *ev)
{
    ac_watcher *w = ctx;
    switch (ev->type) {
    case KC_ADDED:
    case KC_MODIFIED:
        take_object(w, ev->object);
        break;
    case KC_DELETED:
        log_kv(LOG_WARN, AC_WHAT " deleted; keeping the last configuration", NULL);
        break;
    case KC_BOOKMARK:
        break;
    case KC_ERROR: {
        double code = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(ev->object, "code"));
        const char *msg = json_path_string(ev->object, "message");
        /* 410 Gone: the resourceVersion is too old, a relist is the remedy (not a failure). */
        log_kv(code == 410 ? LOG_INFO : LOG_WARN, "watch of " AC_WHAT " ended; relisting", "error",
               msg ? msg : "", NULL);
        return false;
    }
    }
    set_rv(w, ev->object);
    return !atomic_load(&w->stop);
}

/* Appends s percent-encoded for a query value (a resourceVersion is opaque). */
static void put_query_value(sbuf *sb, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            strchr("-._~", *p))
            sbuf_putc(sb, (char)*p);
        else
            sbuf_printf(sb, "%%%02X", *p);
    }
}

/* Watches from w->rv until the stream ends, an ERROR event, a failure or stop. */
static void watch_once(ac_watcher *w)
{
    sbuf path;
    sbuf_init(&path);
    sbuf_puts(&path, AC_LIST_PATH "&watch=1&resourceVersion=");
    put_query_value(&path, w->rv ? w->rv : "");
    sbuf_puts(&path, "&allowWatchBookmarks=true");
    api_error err = API_ERROR_INIT;
    int rc = kc_watch(w->opt.client, path.data, AC_WATCH_IDLE_MS, on_event, w, &w->stop, &err);
    if (rc != 0 && !atomic_load(&w->stop))
        log_kv(LOG_WARN, "watch of " AC_WHAT " ended", "error", err.message ? err.message : "",
               NULL);
    apierr_clear(&err);
    sbuf_free(&path);
}

/* Waits ms (real time: a fake clock cannot wake a thread) or until stop. */
static void wait_ms(ac_watcher *w, uint64_t ms)
{
    struct timespec deadline = clk_mono_deadline(ms * CLK_NS_PER_MS);
    pthread_mutex_lock(&w->mu);
    while (!atomic_load(&w->stop))
        if (pthread_cond_timedwait(&w->wake, &w->mu, &deadline) == ETIMEDOUT)
            break;
    pthread_mutex_unlock(&w->mu);
}

static void *watcher_main(void *arg)
{
    ac_watcher *w = arg;
    uint64_t backoff = w->opt.backoff_initial_ms;
    while (!atomic_load(&w->stop)) {
        if (list_once(w) == 0) {
            backoff = w->opt.backoff_initial_ms;
            watch_once(w);
        }
        wait_ms(w, backoff);
        backoff = backoff * 2 > w->opt.backoff_max_ms ? w->opt.backoff_max_ms : backoff * 2;
    }
    return NULL;
}

int ac_watcher_start(const ac_watcher_options *opt, ac_watcher **out, api_error *err)
{
    *out = NULL;
    if (!opt || !opt->client || !opt->on_change)
        return apierr_local(err, -EINVAL,
                            "authentication ConfigMap watcher: no client or "
                            "callback");
    ac_watcher *w = xcalloc(1, sizeof *w);
    w->opt = *opt;
    if (!w->opt.backoff_initial_ms)
        w->opt.backoff_initial_ms = 1000;
    if (!w->opt.backoff_max_ms)
        w->opt.backoff_max_ms = 30000;
    atomic_init(&w->stop, false);
    atomic_init(&w->loaded, false);
    pthread_mutex_init(&w->mu, NULL);
    int rc = clk_mono_cond_init(&w->wake);
    if (rc == 0) {
        rc = -pthread_create(&w->thread, NULL, watcher_main, w);
        if (rc != 0)
            pthread_cond_destroy(&w->wake);
    }
    if (rc != 0) {
        pthread_mutex_destroy(&w->mu);
        free(w);
        return apierr_local(err, -EAGAIN, "authentication ConfigMap watcher: cannot start: %s",
                            strerror(-rc));
    }
    *out = w;
    return 0;
}

bool ac_watcher_loaded(ac_watcher *w)
{
    return atomic_load(&w->loaded);
}

void ac_watcher_stop(ac_watcher *w)
{
    if (!w)
        return;
    pthread_mutex_lock(&w->mu);
    atomic_store(&w->stop, true);
    pthread_cond_broadcast(&w->wake);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->thread, NULL);
    pthread_cond_destroy(&w->wake);
    pthread_mutex_destroy(&w->mu);
    ac_config_clear(&w->last);
    free(w->rv);
    free(w);
}

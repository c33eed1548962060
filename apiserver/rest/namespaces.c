#include "apiserver/rest/namespaces.h"
#include "common/alloc.h"
#include "common/json.h"
#include "common/sbuf.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static const char *const system_namespaces[] = {"default", "kube-system", "kube-public",
                                                "kube-node-lease"};

static const as_resource *namespaces_kind(const as_server *srv)
{
    return as_registry_find(srv->registry, "", "v1", "namespaces");
}

static bool is_system_namespace(const char *name)
{
    for (size_t i = 0; i < sizeof system_namespaces / sizeof system_namespaces[0]; i++)
        if (strcmp(system_namespaces[i], name) == 0)
            return true;
    return false;
}

/* The stored namespace `name` (a reference the caller drops), or NULL. */
static wc_blob *namespace_blob(const as_server *srv, const as_resource *ns_kind, const char *name)
{
    sbuf key = SBUF_INIT;
    as_object_key(ns_kind, NULL, name, &key);
    wc_blob *b = wc_get(as_cache_of(srv, ns_kind), key.data);
    sbuf_free(&key);
    return b;
}

static bool admit_create(const as_server *srv, const as_resource *ns_kind, const char *ns,
                         api_error *e)
{
    wc_blob *b = namespace_blob(srv, ns_kind, ns);
    if (!b) {
        apierr_not_found(e, "namespaces", "", ns);
        return false;
    }
    cJSON *obj = cJSON_ParseWithLength(b->data, b->len);
    wc_blob_unref(b);
    bool terminating = json_path(obj, "metadata.deletionTimestamp") != NULL;
    cJSON_Delete(obj);
    if (terminating) {
        apierr_set(e, 403, "Forbidden",
                   "unable to create new content in namespace %s because it is being terminated",
                   ns);
        apierr_details(e, ns, "", "namespaces");
        return false;
    }
    return true;
}

/* "deployments.apps: 2, events: 1" for what namespace ns holds; returns the object count. */
static size_t contents(const as_server *srv, const char *ns, sbuf *what)
{
    int n;
    const as_resource *const *all = as_registry_all(srv->registry, &n);
    size_t total = 0;
    for (int i = 0; i < n; i++) {
        if (!all[i]->namespaced)
            continue;
        sbuf prefix = SBUF_INIT;
        as_resource_prefix(all[i], ns, &prefix);
        size_t count = as_caches_count(srv->caches, all[i], prefix.data);
        sbuf_free(&prefix);
        if (!count)
            continue;
        char q[128];
        sbuf_printf(what, "%s%s: %zu", total ? ", " : "",
                    as_resource_qualified(all[i], q, sizeof q), count);
        total += count;
    }
    return total;
}

static bool admit_namespace_delete(const as_server *srv, const char *name, api_error *e)
{
    if (is_system_namespace(name)) {
        apierr_set(e, 403, "Forbidden",
                   "namespaces \"%s\" is forbidden: this namespace may not be deleted", name);
        apierr_details(e, name, "", "namespaces");
        return false;
    }
    sbuf what = SBUF_INIT;
    size_t held = contents(srv, name, &what);
    if (held) {
        apierr_set(e, 409, "Conflict",
                   "namespace \"%s\" still holds %zu object%s (%s): delete them first (no "
                   "namespace controller runs on the standalone server to empty it)",
                   name, held, held == 1 ? "" : "s", what.data);
        apierr_details(e, name, "", "namespaces");
    }
    sbuf_free(&what);
    return held == 0;
}

bool as_namespace_admit(const as_server *srv, const as_write_intent *in, api_error *e)
{
    const as_resource *ns_kind = namespaces_kind(srv);
    if (!ns_kind)
        return true;
    if (in->kind == OP_CREATE && in->res->namespaced && in->ns)
        return admit_create(srv, ns_kind, in->ns, e);
    if (in->kind == OP_DELETE && in->res == ns_kind && in->removed)
        return admit_namespace_delete(srv, in->name, e);
    if (in->kind == OP_DELETE && in->res == ns_kind && is_system_namespace(in->name))
        return admit_namespace_delete(srv, in->name, e);
    return true;
}

/* ---- bootstrap ---------------------------------------------------------------------------- */

typedef struct waiter {
    pthread_mutex_t mu;
    pthread_cond_t cond;
    bool done;
} waiter;

static void write_done(st_write *w)
{
    waiter *wt = w->arg;
    pthread_mutex_lock(&wt->mu);
    wt->done = true;
    pthread_cond_signal(&wt->cond);
    pthread_mutex_unlock(&wt->mu);
}

/* Stores obj under key and waits for the commit. Returns the storage result (ST_OK = 0). */
static int store_and_wait(as_server *srv, const char *key, cJSON *obj)
{
    waiter wt = {.done = false};
    pthread_mutex_init(&wt.mu, NULL);
    pthread_cond_init(&wt.cond, NULL);
    st_write *w = st_write_new(ST_CREATE, key, obj, 0);
    w->done = write_done;
    w->arg = &wt;
    st_submit(srv->store, w);
    pthread_mutex_lock(&wt.mu);
    while (!wt.done)
        pthread_cond_wait(&wt.cond, &wt.mu);
    pthread_mutex_unlock(&wt.mu);
    int result = w->result;
    st_write_free(w);
    pthread_mutex_destroy(&wt.mu);
    pthread_cond_destroy(&wt.cond);
    return result;
}

static int create_namespace(as_server *srv, const as_resource *ns_kind, const char *name,
                            api_error *err)
{
    cJSON *body = cJSON_CreateObject();
    cJSON_AddStringToObject(cJSON_AddObjectToObject(body, "metadata"), "name", name);
    as_write_intent in = {.res = ns_kind,
                          .name = xstrdup(name),
                          .kind = OP_CREATE,
                          .body = body,
                          .now_s = clk_wall_ms(srv->clock) / 1000};
    cJSON *next = NULL;
    api_error e = API_ERROR_INIT;
    int rc = 0;
    if (as_rules_create(&in, &next, &e) != OUT_WRITE) {
        apierr_set(err, 500, "InternalError", "cannot create the system namespace %s: %s", name,
                   e.message ? e.message : "");
        rc = -EINVAL;
    } else {
        sbuf key = SBUF_INIT;
        as_object_key(ns_kind, NULL, name, &key);
        int result = store_and_wait(srv, key.data, next); /* takes next */
        sbuf_free(&key);
        if (result != ST_OK && result != ST_EEXIST) {
            apierr_set(err, 500, "InternalError", "cannot store the system namespace %s: %s", name,
                       strerror(-result));
            rc = -EIO;
        }
    }
    apierr_clear(&e);
    free(in.name);
    free(in.generate_prefix);
    cJSON_Delete(body);
    return rc;
}

int as_namespaces_bootstrap(as_server *srv, api_error *err)
{
    const as_resource *ns_kind = namespaces_kind(srv);
    if (!ns_kind)
        return 0;
    for (size_t i = 0; i < sizeof system_namespaces / sizeof system_namespaces[0]; i++) {
        wc_blob *b = namespace_blob(srv, ns_kind, system_namespaces[i]);
        if (b) {
            wc_blob_unref(b);
            continue;
        }
        int rc = create_namespace(srv, ns_kind, system_namespaces[i], err);
        if (rc != 0)
            return rc;
    }
    return 0;
}

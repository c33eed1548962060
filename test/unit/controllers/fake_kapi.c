/*
 * fake_kapi.c - the in-memory API server double (fake_kapi.h). Linear searches throughout: a
 * test holds a handful of objects. Arrays grow as needed; logged calls are allocated one by one
 * so a pointer handed out stays valid while the log grows.
 */
#include "fake_kapi.h"

#include "common/alloc.h"
#include "common/json.h"
#include "common/mergepatch.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct stored {
    char *path;
    cJSON *obj;
} stored;

typedef struct injected {
    char *method; /* NULL = any */
    char *prefix;
    int code, retry_after;
    char *reason, *message;
    int times; /* calls it still fails */
} injected;

struct fake_kapi {
    pthread_mutex_t mu; /* guards everything below */
    pthread_cond_t gate_cond;
    stored *objs;
    size_t nobjs, objs_cap;
    injected *fails;
    size_t nfails, fails_cap;
    fake_call **calls;
    size_t ncalls, calls_cap;
    long long rv;  /* last resourceVersion handed out */
    long long uid; /* last uid number handed out */
    bool closed;   /* the gate */
    int blocked;   /* calls waiting at the gate */
};

/* Room for one more element in a growing array of elem_size elements. */
static void *grow(void *arr, size_t n, size_t *cap, size_t elem_size)
{
    if (n < *cap)
        return arr;
    *cap = *cap ? *cap * 2 : 16;
    return xrealloc(arr, *cap * elem_size);
}

/* ---- paths --------------------------------------------------------------------------------- */

/* A parsed path: group ("" for the core group), resource, name, subresource. */
typedef struct target {
    char group[64], ns[64], resource[64], name[254], sub[32];
    char collection[512]; /* path up to the resource */
} target;

static bool parse_path(const char *path, target *t)
{
    memset(t, 0, sizeof *t);
    char copy[512];
    if (snprintf(copy, sizeof copy, "%s", path) >= (int)sizeof copy)
        return false;
    char *q = strchr(copy, '?');
    if (q)
        *q = '\0';
    char *segs[10];
    int n = 0;
    char *save = NULL;
    for (char *s = strtok_r(copy, "/", &save); s && n < 10; s = strtok_r(NULL, "/", &save))
        segs[n++] = s;
    int i;
    if (n >= 2 && !strcmp(segs[0], "api"))
        i = 2;
    else if (n >= 3 && !strcmp(segs[0], "apis")) {
        snprintf(t->group, sizeof t->group, "%s", segs[1]);
        i = 3;
    } else
        return false;
    if (n - i >= 3 && !strcmp(segs[i], "namespaces")) {
        snprintf(t->ns, sizeof t->ns, "%s", segs[i + 1]);
        i += 2;
    }
    if (i >= n)
        return false;
    snprintf(t->resource, sizeof t->resource, "%s", segs[i]);
    if (i + 1 < n)
        snprintf(t->name, sizeof t->name, "%s", segs[i + 1]);
    if (i + 2 < n)
        snprintf(t->sub, sizeof t->sub, "%s", segs[i + 2]);
    /* the collection path is the original up to and including the resource segment */
    const char *p = path;
    for (int k = 0; k <= i; k++) {
        p = strchr(p + 1, '/');
        if (!p)
            p = path + strlen(path);
    }
    snprintf(t->collection, sizeof t->collection, "%.*s", (int)(p - path), path);
    return true;
}

/* ---- the store ----------------------------------------------------------------------------- */

static stored *find(fake_kapi *f, const char *path)
{
    for (size_t i = 0; i < f->nobjs; i++)
        if (!strcmp(f->objs[i].path, path))
            return &f->objs[i];
    return NULL;
}

static void remove_stored(fake_kapi *f, stored *s)
{
    free(s->path);
    cJSON_Delete(s->obj);
    *s = f->objs[--f->nobjs];
}

static void bump_rv(fake_kapi *f, cJSON *obj)
{
    char rv[32];
    snprintf(rv, sizeof rv, "%lld", ++f->rv);
    json_set_string(json_ensure_object(obj, "metadata"), "resourceVersion", rv);
}

static void fill_new(fake_kapi *f, cJSON *obj, const target *t)
{
    cJSON *meta = json_ensure_object(obj, "metadata");
    if (!json_path_string(obj, "metadata.uid")) {
        char uid[32];
        snprintf(uid, sizeof uid, "uid-%lld", ++f->uid);
        json_set_string(meta, "uid", uid);
    }
    if (!json_path(obj, "metadata.generation"))
        json_set_number(meta, "generation", 1);
    if (!json_path(obj, "metadata.creationTimestamp"))
        json_set_string(meta, "creationTimestamp", "2026-01-01T00:00:00Z");
    if (*t->ns)
        json_set_string(meta, "namespace", t->ns);
    bump_rv(f, obj);
}

static stored *insert(fake_kapi *f, const char *path, cJSON *obj)
{
    f->objs = grow(f->objs, f->nobjs, &f->objs_cap, sizeof *f->objs);
    stored *s = &f->objs[f->nobjs++];
    s->path = xstrdup(path);
    s->obj = obj;
    return s;
}

/* ---- answers ------------------------------------------------------------------------------- */

static const char *rv_of(const cJSON *obj)
{
    const char *rv = json_path_string(obj, "metadata.resourceVersion");
    return rv ? rv : "";
}

/* "deployments.apps" or "foos.demo.example.com" or "events" (core). */
static void conflict(api_error *err, const target *t)
{
    apierr_conflict(err, t->resource, t->group, t->name,
                    "the object has been modified; please apply your changes to the latest "
                    "version and try again");
}

/*
 * Turns the proposed new state of a stored object into the stored one: the main resource keeps
 * status; /status takes only status; server metadata is kept; generation grows with spec.
 * Returns false (and keeps old) when the write changes nothing.
 */
static bool commit_update(fake_kapi *f, stored *s, cJSON *proposed, bool status_only)
{
    cJSON *old = s->obj;
    cJSON *next;
    if (status_only) {
        next = cJSON_Duplicate(old, true);
        cJSON *st = cJSON_GetObjectItemCaseSensitive(proposed, "status");
        if (st)
            json_set_item(next, "status", cJSON_Duplicate(st, true));
        else
            json_remove(next, "status");
        cJSON_Delete(proposed);
    } else {
        next = proposed;
        const cJSON *st = cJSON_GetObjectItemCaseSensitive(old, "status");
        if (st)
            json_set_item(next, "status", cJSON_Duplicate(st, true));
        else
            json_remove(next, "status");
        cJSON *meta = json_ensure_object(next, "metadata");
        static const char *kept[] = {"uid",  "creationTimestamp", "generation", "deletionTimestamp",
                                     "name", "namespace"};
        for (size_t i = 0; i < sizeof kept / sizeof kept[0]; i++) {
            const cJSON *v = json_path(old, "metadata");
            v = cJSON_GetObjectItemCaseSensitive(v, kept[i]);
            if (v)
                json_set_item(meta, kept[i], cJSON_Duplicate(v, true));
            else
                json_remove(meta, kept[i]);
        }
        if (!json_equal(json_path(old, "spec"), json_path(next, "spec"))) {
            double g = cJSON_GetNumberValue(json_path(old, "metadata.generation"));
            json_set_number(meta, "generation", g + 1);
        }
    }
    json_set_string(json_ensure_object(next, "metadata"), "resourceVersion", rv_of(old));
    if (json_equal(old, next)) {
        cJSON_Delete(next);
        return false;
    }
    bump_rv(f, next);
    cJSON_Delete(old);
    s->obj = next;
    return true;
}

/* After a write: an object being deleted whose last finalizer went is removed. */
static void maybe_finish_delete(fake_kapi *f, stored *s)
{
    if (json_path(s->obj, "metadata.deletionTimestamp") &&
        cJSON_GetArraySize(json_path(s->obj, "metadata.finalizers")) == 0)
        remove_stored(f, s);
}

static int do_create(fake_kapi *f, const target *t, const char *path, const cJSON *body,
                     cJSON **out, api_error *err)
{
    const char *name = json_path_string(body, "metadata.name");
    if (!name || !*name) {
        apierr_set(err, 422, "Invalid", "metadata.name: Required value");
        return 422;
    }
    char item[800];
    snprintf(item, sizeof item, "%s/%s", path, name);
    if (find(f, item)) {
        apierr_already_exists(err, t->resource, t->group, name);
        return 409;
    }
    cJSON *obj = cJSON_Duplicate(body, true);
    json_remove(obj, "status");
    fill_new(f, obj, t);
    insert(f, item, obj);
    *out = cJSON_Duplicate(obj, true);
    return 201;
}

static int do_update(fake_kapi *f, const target *t, stored *s, cJSON *proposed, bool status_only,
                     cJSON **out, api_error *err)
{
    const char *rv = rv_of(proposed);
    if (*rv && strcmp(rv, rv_of(s->obj))) {
        cJSON_Delete(proposed);
        conflict(err, t);
        return 409;
    }
    commit_update(f, s, proposed, status_only);
    *out = cJSON_Duplicate(s->obj, true);
    maybe_finish_delete(f, s);
    return 200;
}

static int do_delete(fake_kapi *f, const target *t, stored *s, const cJSON *body, cJSON **out,
                     api_error *err)
{
    const char *want_uid = json_path_string(body, "preconditions.uid");
    const char *uid = json_path_string(s->obj, "metadata.uid");
    if (want_uid && (!uid || strcmp(want_uid, uid))) {
        apierr_conflict(err, t->resource, t->group, t->name, "Precondition failed: UID differs");
        return 409;
    }
    if (cJSON_GetArraySize(json_path(s->obj, "metadata.finalizers")) > 0) {
        if (!json_path(s->obj, "metadata.deletionTimestamp")) {
            json_set_string(json_path(s->obj, "metadata"), "deletionTimestamp",
                            "2026-01-01T00:00:00Z");
            bump_rv(f, s->obj);
        }
        *out = cJSON_Duplicate(s->obj, true);
        return 200;
    }
    remove_stored(f, s);
    *out = cJSON_Parse("{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"status\":\"Success\"}");
    return 200;
}

static bool is_merge_patch(const char *content_type)
{
    return content_type && !strncmp(content_type, "application/merge-patch+json", 28);
}

/* Serves one call under the lock; returns the HTTP status and fills *out or err. */
static int serve(fake_kapi *f, const char *method, const char *path, const char *content_type,
                 const cJSON *body, cJSON **out, api_error *err)
{
    target t;
    if (!parse_path(path, &t)) {
        apierr_not_found(err, "", "", path);
        return 404;
    }
    bool status_only = !strcmp(t.sub, "status");
    if (!strcmp(method, "POST") && !*t.name)
        return do_create(f, &t, t.collection, body, out, err);
    char item[800];
    snprintf(item, sizeof item, "%s/%s", t.collection, t.name);
    stored *s = *t.name ? find(f, item) : NULL;
    if (!s) {
        apierr_not_found(err, t.resource, t.group, t.name);
        return 404;
    }
    if (!strcmp(method, "GET")) {
        *out = cJSON_Duplicate(s->obj, true);
        return 200;
    }
    if (!strcmp(method, "PUT"))
        return do_update(f, &t, s, cJSON_Duplicate(body, true), status_only, out, err);
    if (!strcmp(method, "PATCH")) {
        if (!is_merge_patch(content_type)) {
            apierr_set(err, 415, "UnsupportedMediaType",
                       "the body of the request was in an unknown format");
            return 415;
        }
        if (!cJSON_IsObject(body)) {
            apierr_bad_request(err, "a merge patch must be an object");
            return 400;
        }
        return do_update(f, &t, s, mergepatch_apply(s->obj, body), status_only, out, err);
    }
    if (!strcmp(method, "DELETE"))
        return do_delete(f, &t, s, body, out, err);
    apierr_set(err, 405, "MethodNotAllowed", "the server does not allow this method");
    return 405;
}

/* The first injected failure that matches, removed from the list; false when none. */
static bool take_failure(fake_kapi *f, const char *method, const char *path, api_error *err)
{
    for (size_t i = 0; i < f->nfails; i++) {
        injected *in = &f->fails[i];
        if ((in->method && strcmp(in->method, method)) ||
            strncmp(path, in->prefix, strlen(in->prefix)))
            continue;
        apierr_set(err, in->code, in->reason, "%s", in->message);
        err->retry_after = in->retry_after;
        if (--in->times > 0)
            return true;
        free(in->method);
        free(in->prefix);
        free(in->reason);
        free(in->message);
        memmove(in, in + 1, (f->nfails - i - 1) * sizeof *in);
        f->nfails--;
        return true;
    }
    return false;
}

static void log_call(fake_kapi *f, const char *method, const char *path, const char *content_type,
                     const cJSON *body, int code)
{
    f->calls = grow(f->calls, f->ncalls, &f->calls_cap, sizeof *f->calls);
    fake_call *c = xcalloc(1, sizeof *c);
    f->calls[f->ncalls++] = c;
    c->method = xstrdup(method);
    c->path = xstrdup(path);
    c->content_type = content_type ? xstrdup(content_type) : NULL;
    c->body = body ? cJSON_Duplicate(body, true) : NULL;
    c->code = code;
}

/* Holds the calling thread while the gate is closed; mutex held. */
static void pass_gate_locked(fake_kapi *f)
{
    f->blocked++;
    pthread_cond_broadcast(&f->gate_cond);
    while (f->closed)
        pthread_cond_wait(&f->gate_cond, &f->mu);
    f->blocked--;
}

/* err may be NULL (a test calling the seam by hand): the answer's reason is then dropped. */
static int fake_call_fn(void *ctx, const char *method, const char *path, const char *content_type,
                        const cJSON *body, cJSON **out, api_error *err)
{
    fake_kapi *f = ctx;
    cJSON *answer = NULL;
    api_error local = API_ERROR_INIT;
    pthread_mutex_lock(&f->mu);
    pass_gate_locked(f);
    int code;
    if (take_failure(f, method, path, &local))
        code = local.code;
    else
        code = serve(f, method, path, content_type, body, &answer, &local);
    log_call(f, method, path, content_type, body, code);
    pthread_mutex_unlock(&f->mu);
    bool ok = code >= 200 && code < 300;
    if (ok && out)
        *out = answer;
    else
        cJSON_Delete(answer);
    if (!ok && err)
        apierr_move(err, &local);
    apierr_clear(&local);
    if (ok)
        return 0;
    return code == 0 ? -EIO : -EREMOTEIO;
}

/* ---- the public face ----------------------------------------------------------------------- */

fake_kapi *fake_kapi_new(void)
{
    fake_kapi *f = xcalloc(1, sizeof *f);
    pthread_mutex_init(&f->mu, NULL);
    pthread_cond_init(&f->gate_cond, NULL);
    return f;
}

void fake_kapi_free(fake_kapi *f)
{
    if (!f)
        return;
    while (f->nobjs)
        remove_stored(f, &f->objs[0]);
    for (size_t i = 0; i < f->nfails; i++) {
        free(f->fails[i].method);
        free(f->fails[i].prefix);
        free(f->fails[i].reason);
        free(f->fails[i].message);
    }
    free(f->fails);
    free(f->objs);
    fake_kapi_clear_log(f);
    free(f->calls);
    pthread_cond_destroy(&f->gate_cond);
    pthread_mutex_destroy(&f->mu);
    free(f);
}

ctl_kapi fake_kapi_seam(fake_kapi *f)
{
    return (ctl_kapi){.call = fake_call_fn, .ctx = f};
}

const cJSON *fake_kapi_seed(fake_kapi *f, const char *item_path, const cJSON *obj)
{
    target t;
    parse_path(item_path, &t);
    cJSON *copy = cJSON_Duplicate(obj, true);
    pthread_mutex_lock(&f->mu);
    stored *s = find(f, item_path);
    if (s)
        remove_stored(f, s);
    fill_new(f, copy, &t);
    s = insert(f, item_path, copy);
    pthread_mutex_unlock(&f->mu);
    return s->obj;
}

const cJSON *fake_kapi_get(fake_kapi *f, const char *item_path)
{
    pthread_mutex_lock(&f->mu);
    stored *s = find(f, item_path);
    pthread_mutex_unlock(&f->mu);
    return s ? s->obj : NULL;
}

cJSON *fake_kapi_get_copy(fake_kapi *f, const char *item_path)
{
    pthread_mutex_lock(&f->mu);
    stored *s = find(f, item_path);
    cJSON *copy = s ? cJSON_Duplicate(s->obj, true) : NULL;
    pthread_mutex_unlock(&f->mu);
    return copy;
}

size_t fake_kapi_count_objects(fake_kapi *f, const char *prefix)
{
    pthread_mutex_lock(&f->mu);
    size_t n = 0;
    for (size_t i = 0; i < f->nobjs; i++)
        n += strncmp(f->objs[i].path, prefix, strlen(prefix)) == 0;
    pthread_mutex_unlock(&f->mu);
    return n;
}

size_t fake_kapi_list(fake_kapi *f, const char *prefix, cJSON ***out)
{
    pthread_mutex_lock(&f->mu);
    *out = xcalloc(f->nobjs + 1, sizeof **out);
    size_t n = 0;
    for (size_t i = 0; i < f->nobjs; i++)
        if (!strncmp(f->objs[i].path, prefix, strlen(prefix)))
            (*out)[n++] = cJSON_Duplicate(f->objs[i].obj, true);
    pthread_mutex_unlock(&f->mu);
    return n;
}

/* Queues an injection failing the next `times` matching calls. */
static void inject(fake_kapi *f, const char *method, const char *path_prefix, int times, int code,
                   const char *reason, const char *message, int retry_after)
{
    if (times <= 0)
        return;
    pthread_mutex_lock(&f->mu);
    f->fails = grow(f->fails, f->nfails, &f->fails_cap, sizeof *f->fails);
    f->fails[f->nfails++] = (injected){
        .method = method ? xstrdup(method) : NULL,
        .prefix = xstrdup(path_prefix ? path_prefix : ""),
        .code = code,
        .retry_after = retry_after,
        .reason = xstrdup(reason ? reason : (code ? "InternalError" : "Transport")),
        .message = xstrdup(message ? message : ""),
        .times = times,
    };
    pthread_mutex_unlock(&f->mu);
}

void fake_kapi_fail_next(fake_kapi *f, const char *method, const char *path_prefix, int code,
                         const char *reason, const char *message, int retry_after)
{
    inject(f, method, path_prefix, 1, code, reason, message, retry_after);
}

void fake_kapi_fail_times(fake_kapi *f, const char *method, int times, int code, const char *reason)
{
    inject(f, method, "", times, code, reason, NULL, 0);
}

void fake_kapi_gate(fake_kapi *f, bool open)
{
    pthread_mutex_lock(&f->mu);
    f->closed = !open;
    pthread_cond_broadcast(&f->gate_cond);
    pthread_mutex_unlock(&f->mu);
}

void fake_kapi_wait_blocked(fake_kapi *f, int n)
{
    pthread_mutex_lock(&f->mu);
    while (f->blocked < n)
        pthread_cond_wait(&f->gate_cond, &f->mu);
    pthread_mutex_unlock(&f->mu);
}

size_t fake_kapi_call_count(fake_kapi *f)
{
    pthread_mutex_lock(&f->mu);
    size_t n = f->ncalls;
    pthread_mutex_unlock(&f->mu);
    return n;
}

const fake_call *fake_kapi_call(fake_kapi *f, size_t i)
{
    pthread_mutex_lock(&f->mu);
    const fake_call *c = i < f->ncalls ? f->calls[i] : NULL;
    pthread_mutex_unlock(&f->mu);
    return c;
}

const fake_call *fake_kapi_call_of(fake_kapi *f, const char *method, size_t i)
{
    const fake_call *found = NULL;
    pthread_mutex_lock(&f->mu);
    for (size_t k = 0; k < f->ncalls && !found; k++)
        if ((!method || !strcmp(method, f->calls[k]->method)) && i-- == 0)
            found = f->calls[k];
    pthread_mutex_unlock(&f->mu);
    return found;
}

size_t fake_kapi_count(fake_kapi *f, const char *method, const char *path)
{
    pthread_mutex_lock(&f->mu);
    size_t n = 0;
    for (size_t i = 0; i < f->ncalls; i++)
        if ((!method || !strcmp(method, f->calls[i]->method)) &&
            (!path || !strcmp(path, f->calls[i]->path)))
            n++;
    pthread_mutex_unlock(&f->mu);
    return n;
}

void fake_kapi_clear_log(fake_kapi *f)
{
    pthread_mutex_lock(&f->mu);
    for (size_t i = 0; i < f->ncalls; i++) {
        free(f->calls[i]->method);
        free(f->calls[i]->path);
        free(f->calls[i]->content_type);
        cJSON_Delete(f->calls[i]->body);
        free(f->calls[i]);
    }
    f->ncalls = 0;
    pthread_mutex_unlock(&f->mu);
}

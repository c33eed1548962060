/* ops_fake.c - the in-memory API double of ops_fake.h. */
#include "ops_fake.h"

#include "common/alloc.h"
#include "common/json.h"
#include "common/mergepatch.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>

typedef struct stored {
    char *path;
    cJSON *obj;
    UT_hash_handle hh;
} stored;

struct ops_fake {
    pthread_mutex_t mu; /* guards everything below */
    pthread_cond_t cond;
    stored *objects;
    long long rv;
    ops_fake_call **calls;
    size_t ncalls;
    /* scripted failure */
    char *fail_method;
    int fail_times, fail_code;
    char *fail_reason;
    /* gate */
    bool closed;
    int blocked;
};

ops_fake *ops_fake_new(void)
{
    ops_fake *f = xcalloc(1, sizeof *f);
    pthread_mutex_init(&f->mu, NULL);
    pthread_cond_init(&f->cond, NULL);
    return f;
}

void ops_fake_free(ops_fake *f)
{
    if (!f)
        return;
    stored *s, *tmp;
    HASH_ITER(hh, f->objects, s, tmp)
    {
        HASH_DEL(f->objects, s);
        free(s->path);
        cJSON_Delete(s->obj);
        free(s);
    }
    for (size_t i = 0; i < f->ncalls; i++) {
        ops_fake_call *c = f->calls[i];
        free(c->method);
        free(c->path);
        free(c->content_type);
        cJSON_Delete(c->body);
        free(c);
    }
    free(f->calls);
    free(f->fail_method);
    free(f->fail_reason);
    pthread_cond_destroy(&f->cond);
    pthread_mutex_destroy(&f->mu);
    free(f);
}

/* ---- the store (mutex held) ------------------------------------------------------------------ */

static stored *find_locked(ops_fake *f, const char *path)
{
    stored *s;
    HASH_FIND_STR(f->objects, path, s);
    return s;
}

/* Stores obj (taken) at path with the next resourceVersion. */
static void store_locked(ops_fake *f, const char *path, cJSON *obj)
{
    char rv[32];
    snprintf(rv, sizeof rv, "%lld", ++f->rv);
    cJSON *meta = json_ensure_object(obj, "metadata");
    json_set_string(meta, "resourceVersion", rv);
    stored *s = find_locked(f, path);
    if (s) {
        cJSON_Delete(s->obj);
        s->obj = obj;
        return;
    }
    s = xcalloc(1, sizeof *s);
    s->path = xstrdup(path);
    s->obj = obj;
    HASH_ADD_KEYPTR(hh, f->objects, s->path, strlen(s->path), s);
}

void ops_fake_put(ops_fake *f, const char *path, const cJSON *obj)
{
    pthread_mutex_lock(&f->mu);
    store_locked(f, path, cJSON_Duplicate(obj, true));
    pthread_mutex_unlock(&f->mu);
}

cJSON *ops_fake_get(ops_fake *f, const char *path)
{
    pthread_mutex_lock(&f->mu);
    stored *s = find_locked(f, path);
    cJSON *copy = s ? cJSON_Duplicate(s->obj, true) : NULL;
    pthread_mutex_unlock(&f->mu);
    return copy;
}

size_t ops_fake_count(ops_fake *f, const char *prefix)
{
    size_t n = 0;
    pthread_mutex_lock(&f->mu);
    for (stored *s = f->objects; s; s = s->hh.next)
        n += strncmp(s->path, prefix, strlen(prefix)) == 0;
    pthread_mutex_unlock(&f->mu);
    return n;
}

/* ---- scripting and log ------------------------------------------------------------------------
 */

void ops_fake_fail(ops_fake *f, const char *method, int times, int code, const char *reason)
{
    pthread_mutex_lock(&f->mu);
    free(f->fail_method);
    free(f->fail_reason);
    f->fail_method = method ? xstrdup(method) : NULL;
    f->fail_times = times;
    f->fail_code = code;
    f->fail_reason = xstrdup(reason ? reason : "InternalError");
    pthread_mutex_unlock(&f->mu);
}

void ops_fake_gate(ops_fake *f, bool open)
{
    pthread_mutex_lock(&f->mu);
    f->closed = !open;
    pthread_cond_broadcast(&f->cond);
    pthread_mutex_unlock(&f->mu);
}

void ops_fake_wait_blocked(ops_fake *f, int n)
{
    pthread_mutex_lock(&f->mu);
    while (f->blocked < n)
        pthread_cond_wait(&f->cond, &f->mu);
    pthread_mutex_unlock(&f->mu);
}

static bool method_matches(const char *want, const char *method)
{
    return !want || strcmp(want, method) == 0;
}

size_t ops_fake_calls(ops_fake *f, const char *method)
{
    size_t n = 0;
    pthread_mutex_lock(&f->mu);
    for (size_t i = 0; i < f->ncalls; i++)
        n += method_matches(method, f->calls[i]->method);
    pthread_mutex_unlock(&f->mu);
    return n;
}

const ops_fake_call *ops_fake_call_at(ops_fake *f, const char *method, size_t i)
{
    const ops_fake_call *found = NULL;
    pthread_mutex_lock(&f->mu);
    for (size_t k = 0; k < f->ncalls && !found; k++)
        if (method_matches(method, f->calls[k]->method) && i-- == 0)
            found = f->calls[k];
    pthread_mutex_unlock(&f->mu);
    return found;
}

static ops_fake_call *log_call_locked(ops_fake *f, const char *method, const char *path,
                                      const char *content_type, const cJSON *body)
{
    ops_fake_call *c = xcalloc(1, sizeof *c);
    c->method = xstrdup(method);
    c->path = xstrdup(path);
    c->content_type = content_type ? xstrdup(content_type) : NULL;
    c->body = body ? cJSON_Duplicate(body, true) : NULL;
    f->calls = xrealloc(f->calls, (f->ncalls + 1) * sizeof *f->calls);
    f->calls[f->ncalls++] = c;
    return c;
}

/* ---- the calls (mutex held) ----------------------------------------------------------------- */

static int fail(api_error *err, int code, const char *reason, const char *path)
{
    apierr_set(err, code, reason, "%s: %s (ops_fake)", reason, path);
    return -EREMOTEIO;
}

static int do_get(ops_fake *f, const char *path, cJSON **out, api_error *err)
{
    stored *s = find_locked(f, path);
    if (!s)
        return fail(err, 404, "NotFound", path);
    *out = cJSON_Duplicate(s->obj, true);
    return 0;
}

static int do_post(ops_fake *f, const char *path, const cJSON *body, cJSON **out, api_error *err)
{
    const char *name = json_path_string(body, "metadata.name");
    if (!name)
        return fail(err, 422, "Invalid", path);
    char *full = xasprintf("%s/%s", path, name);
    int rc = 0;
    if (find_locked(f, full)) {
        rc = fail(err, 409, "AlreadyExists", full);
    } else {
        cJSON *obj = cJSON_Duplicate(body, true);
        char uid[32];
        snprintf(uid, sizeof uid, "uid-%lld", f->rv + 1);
        json_set_string(json_ensure_object(obj, "metadata"), "uid", uid);
        store_locked(f, full, obj);
        *out = cJSON_Duplicate(obj, true);
    }
    free(full);
    return rc;
}

static int do_put(ops_fake *f, const char *path, const cJSON *body, cJSON **out, api_error *err)
{
    stored *s = find_locked(f, path);
    if (!s)
        return fail(err, 404, "NotFound", path);
    const char *want = json_path_string(body, "metadata.resourceVersion");
    const char *have = json_path_string(s->obj, "metadata.resourceVersion");
    if (want && *want && (!have || strcmp(want, have) != 0))
        return fail(err, 409, "Conflict", path);
    cJSON *obj = cJSON_Duplicate(body, true);
    store_locked(f, path, obj);
    *out = cJSON_Duplicate(obj, true);
    return 0;
}

static int do_patch(ops_fake *f, const char *path, const cJSON *body, cJSON **out, api_error *err)
{
    stored *s = find_locked(f, path);
    if (!s)
        return fail(err, 404, "NotFound", path);
    cJSON *obj = mergepatch_apply(s->obj, body);
    store_locked(f, path, obj);
    *out = cJSON_Duplicate(obj, true);
    return 0;
}

static int do_delete(ops_fake *f, const char *path, api_error *err)
{
    stored *s = find_locked(f, path);
    if (!s)
        return fail(err, 404, "NotFound", path);
    HASH_DEL(f->objects, s);
    free(s->path);
    cJSON_Delete(s->obj);
    free(s);
    return 0;
}

/* A scripted failure consumes one of its times; returns true when this call must fail. */
static bool take_failure_locked(ops_fake *f, const char *method)
{
    if (f->fail_times <= 0 || !method_matches(f->fail_method, method))
        return false;
    f->fail_times--;
    return true;
}

static int dispatch_locked(ops_fake *f, const char *method, const char *path, const cJSON *body,
                           cJSON **out, api_error *err)
{
    if (take_failure_locked(f, method)) {
        if (f->fail_code == 0) {
            apierr_set(err, 0, "Transport", "connection refused (ops_fake)");
            return -EIO;
        }
        return fail(err, f->fail_code, f->fail_reason, path);
    }
    if (strcmp(method, "GET") == 0)
        return do_get(f, path, out, err);
    if (strcmp(method, "POST") == 0)
        return do_post(f, path, body, out, err);
    if (strcmp(method, "PUT") == 0)
        return do_put(f, path, body, out, err);
    if (strcmp(method, "PATCH") == 0)
        return do_patch(f, path, body, out, err);
    if (strcmp(method, "DELETE") == 0)
        return do_delete(f, path, err);
    return fail(err, 405, "MethodNotAllowed", path);
}

static int fake_call(void *ctx, const char *method, const char *path, const char *content_type,
                     const cJSON *body, cJSON **out, api_error *err)
{
    ops_fake *f = ctx;
    cJSON *result = NULL;
    api_error local = API_ERROR_INIT;
    pthread_mutex_lock(&f->mu);
    f->blocked++;
    pthread_cond_broadcast(&f->cond);
    while (f->closed)
        pthread_cond_wait(&f->cond, &f->mu);
    f->blocked--;
    ops_fake_call *c = log_call_locked(f, method, path, content_type, body);
    int rc = dispatch_locked(f, method, path, body, &result, &local);
    c->code = rc == 0 ? 200 : local.code;
    pthread_mutex_unlock(&f->mu);
    if (out)
        *out = result;
    else
        cJSON_Delete(result);
    if (err)
        apierr_move(err, &local);
    apierr_clear(&local);
    return rc;
}

ctl_kapi ops_fake_kapi(ops_fake *f)
{
    return (ctl_kapi){.call = fake_call, .ctx = f};
}

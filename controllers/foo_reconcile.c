/*
 * foo_reconcile.c - fc_reconcile: one pass of the Foo controller over one key
 * (foo_controller.h; the decisions are explained in docs/controller.md §3).
 *
 * Shape: the steps (finalizer, Deployment, status, deletion) each make at most one write and
 * turn its outcome into an fc_result; fc_reconcile only chains them. Every read comes from the
 * caches; the working copy of the Foo is replaced by what the server returns after each write
 * to it, so the next write of the same pass carries the current resourceVersion.
 */
#include "controllers/foo_internal.h"
#include "controllers/foo_status.h"

#include "api/foo.h"
#include "api/foo_deployment.h"
#include "common/alloc.h"
#include "common/ids.h"
#include "common/json.h"
#include "common/log.h"
#include "common/sbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MERGE_PATCH "application/merge-patch+json"
#define FOO_PATH    "/apis/" FOO_API_VERSION "/" FOO_RESOURCE "/"
#define DEPLOY_PATH "/apis/apps/v1/namespaces/%s/deployments"

/* One reconcile in progress. */
typedef struct rc {
    fc_controller *c;
    const char *key;
    char id[UUID_STR_LEN]; /* reconcileID, as controller-runtime's: one UUID per pass */
    cJSON *foo;            /* working copy: from the cache, then as the server returned it */
    char *foo_path;        /* .../foos/NAME */
    char *dep_key;         /* "NAMESPACE/NAME" of the Deployment in its cache */
    api_error err;         /* the outcome of the last call */
} rc;

/* How a call ended, as far as the reconcile cares. */
typedef enum wres {
    W_OK,
    W_CONFLICT,  /* 409: the cache was stale (Conflict, AlreadyExists) */
    W_NOT_FOUND, /* 404 */
    W_THROTTLED, /* 429 */
    W_TRANSIENT, /* transport failure, 5xx, timeout: worth retrying as is */
    W_REJECTED,  /* any other 4xx: the server refuses this write; the user must act */
} wres;

static wres classify(int ret, const api_error *err)
{
    if (ret == 0)
        return W_OK;
    switch (err->code) {
    case 409:
        return W_CONFLICT;
    case 404:
        return W_NOT_FOUND;
    case 429:
        return W_THROTTLED;
    case 0:
    case 408:
        return W_TRANSIENT;
    default:
        return err->code >= 500 ? W_TRANSIENT : W_REJECTED;
    }
}

static fc_result result(fc_action action)
{
    return (fc_result){.action = action};
}

/* ---- logs and events ----------------------------------------------------------------------- */

/* One log line with the fixed keys and up to two more pairs (a NULL key ends the list early). */
static void rlog(const rc *r, enum log_level level, const char *msg, const char *k1, const char *v1,
                 const char *k2, const char *v2)
{
    log_kv(level, msg, "controller", r->c->name, "object", r->key, "reconcileID", r->id, k1, v1, k2,
           v2, NULL);
}

static const char *err_message(const rc *r)
{
    if (r->err.message && *r->err.message)
        return r->err.message;
    return r->err.reason ? r->err.reason : "unknown error";
}

static void record(const rc *r, const char *type, const char *reason, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void record(const rc *r, const char *type, const char *reason, const char *fmt, ...)
{
    if (!r->c->record)
        return;
    sbuf msg = SBUF_INIT;
    va_list ap;
    va_start(ap, fmt);
    sbuf_vprintf(&msg, fmt, ap);
    va_end(ap);
    r->c->record(r->c->record_ctx, r->foo, type, reason, msg.data ? msg.data : "");
    sbuf_free(&msg);
}

/*
 * Whether ready says something the Foo's Ready condition does not already say. Warnings are
 * recorded only then, so a Foo stuck on the same error gets one event, not one per retry.
 */
static bool ready_is_news(const rc *r, const fc_ready *ready)
{
    const cJSON *cur = fc_ready_condition(r->foo);
    const char *status = json_path_string(cur, "status");
    const char *reason = json_path_string(cur, "reason");
    const char *message = json_path_string(cur, "message");
    return !status || strcmp(status, ready->ok ? "True" : "False") || !reason ||
           strcmp(reason, ready->reason) || !message ||
           strcmp(message, ready->message ? ready->message : "");
}

/* ---- calls --------------------------------------------------------------------------------- */

static wres call(rc *r, const char *method, const char *path, const char *content_type,
                 const cJSON *body, cJSON **out)
{
    apierr_clear(&r->err);
    if (out)
        *out = NULL;
    int ret = r->c->api.call(r->c->api.ctx, method, path, content_type, body, out, &r->err);
    return classify(ret, &r->err);
}

/* The result of a failed step that is not handled specially (fc_result_of_error). Logs it. */
static fc_result failed(const rc *r, wres w, const char *doing)
{
    if (w == W_CONFLICT) {
        if (log_verbosity() >= 2)
            rlog(r, LOG_DEBUG, "conflict, requeued", "doing", doing, "error", err_message(r));
    } else {
        rlog(r, LOG_ERROR, "Reconciler error", "doing", doing, "error", err_message(r));
    }
    return fc_result_of_error(&r->err);
}

/* Keeps the server's answer as the new working copy of the Foo (it carries the new version). */
static void take_foo(rc *r, cJSON *answer)
{
    if (!cJSON_IsObject(answer)) {
        cJSON_Delete(answer);
        return;
    }
    cJSON_Delete(r->foo);
    r->foo = answer;
}

/* ---- the finalizer ------------------------------------------------------------------------- */

static bool has_finalizer(const cJSON *foo)
{
    return json_has_string(json_path(foo, "metadata.finalizers"), FOO_FINALIZER);
}

/*
 * Adds (add = true) or removes our finalizer with a merge patch of metadata.finalizers (a merge
 * patch replaces the list: every other finalizer is copied over) carrying the resourceVersion,
 * so a list changed meanwhile by someone else is not overwritten: the server answers 409.
 */
static wres patch_finalizers(rc *r, bool add)
{
    cJSON *list = cJSON_CreateArray();
    const cJSON *f;
    cJSON_ArrayForEach(f, json_path(r->foo, "metadata.finalizers"))
    {
        if (!cJSON_IsString(f) || strcmp(f->valuestring, FOO_FINALIZER))
            cJSON_AddItemToArray(list, cJSON_Duplicate(f, true));
    }
    if (add)
        cJSON_AddItemToArray(list, cJSON_CreateString(FOO_FINALIZER));
    cJSON *patch = cJSON_CreateObject();
    cJSON *meta = json_ensure_object(patch, "metadata");
    json_set_item(meta, "finalizers", list);
    const char *rv = json_path_string(r->foo, "metadata.resourceVersion");
    if (rv && *rv)
        json_set_string(meta, "resourceVersion", rv);
    cJSON *answer = NULL;
    wres w = call(r, "PATCH", r->foo_path, MERGE_PATCH, patch, &answer);
    cJSON_Delete(patch);
    if (w == W_OK)
        take_foo(r, answer);
    else
        cJSON_Delete(answer);
    return w;
}

/* ---- the Deployment ------------------------------------------------------------------------ */

/* What the Deployment step found or did, for the status step. */
typedef struct dep_outcome {
    fc_result result; /* what the step asks of the worker */
    bool report;      /* write the status from ready and dep */
    fc_ready ready;
    cJSON *dep; /* the Foo's own Deployment, as seen or as written (owned), or NULL */
} dep_outcome;

/* The collection and item paths of Deployment d (desired or live: both name their place). */
static char *deployments_path(const cJSON *d)
{
    return xasprintf(DEPLOY_PATH, json_path_string(d, "metadata.namespace"));
}

static char *deployment_path(const cJSON *d)
{
    return xasprintf(DEPLOY_PATH "/%s", json_path_string(d, "metadata.namespace"),
                     json_path_string(d, "metadata.name"));
}

/* The status shows the Deployment as it now is; nothing else to do. */
static void settled(dep_outcome *o, const rc *r, cJSON *dep)
{
    o->dep = dep;
    o->report = true;
    fc_ready_from_deployment(r->foo, dep, &o->ready);
}

/* The server refused the write: report it in status and (once) as a Warning, retry later. */
static void rejected(dep_outcome *o, const rc *r, const char *event_reason, const char *doing,
                     cJSON *dep)
{
    rlog(r, LOG_ERROR, "Reconciler error", "doing", doing, "error", err_message(r));
    o->dep = dep;
    o->report = true;
    o->ready =
        (fc_ready){.ok = false, .reason = FC_READY_ERROR, .message = xstrdup(err_message(r))};
    if (ready_is_news(r, &o->ready))
        record(r, FC_EVENT_WARNING, event_reason, "Error %s: %s", doing, err_message(r));
    o->result = result(FC_REQUEUE_RATE_LIMITED);
}

static void create_deployment(dep_outcome *o, rc *r, const cJSON *desired)
{
    char *path = deployments_path(desired);
    cJSON *answer = NULL;
    wres w = call(r, "POST", path, NULL, desired, &answer);
    free(path);
    if (w == W_OK) {
        rlog(r, LOG_INFO, "created Deployment", "deployment", r->dep_key, NULL, NULL);
        record(r, FC_EVENT_NORMAL, FC_REASON_CREATED, "Created Deployment %s", r->dep_key);
        settled(o, r, answer);
    } else if (w == W_REJECTED || w == W_NOT_FOUND) {
        /* a 404 on create: the namespace does not exist */
        cJSON_Delete(answer);
        rejected(o, r, FC_REASON_CREATE_FAILED, "creating the Deployment", NULL);
    } else {
        /* 409 AlreadyExists: created meanwhile, the cache has not seen it yet */
        cJSON_Delete(answer);
        o->result = failed(r, w, "creating the Deployment");
    }
}

/* Takes actual (owned). */
static void update_deployment(dep_outcome *o, rc *r, const cJSON *desired, cJSON *actual)
{
    cJSON *body = foo_deployment_updated(desired, actual);
    char *path = deployment_path(desired);
    cJSON *answer = NULL;
    wres w = call(r, "PUT", path, NULL, body, &answer);
    free(path);
    cJSON_Delete(body);
    if (w == W_OK) {
        cJSON_Delete(actual);
        rlog(r, LOG_INFO, "updated drifted Deployment", "deployment", r->dep_key, NULL, NULL);
        record(r, FC_EVENT_NORMAL, FC_REASON_UPDATED, "Updated Deployment %s", r->dep_key);
        settled(o, r, answer);
        return;
    }
    cJSON_Delete(answer);
    if (w == W_REJECTED) {
        rejected(o, r, FC_REASON_UPDATE_FAILED, "updating the Deployment", actual);
        return;
    }
    cJSON_Delete(actual);
    /* 404: deleted since the cache saw it; its delete event brings the key back anyway */
    o->result = w == W_NOT_FOUND ? result(FC_REQUEUE) : failed(r, w, "updating the Deployment");
}

/* A Deployment of that name that this Foo does not control: never touched, only reported. */
static void foreign_deployment(dep_outcome *o, const rc *r)
{
    o->report = true;
    o->ready = (fc_ready){
        .ok = false,
        .reason = FC_READY_RESOURCE_EXISTS,
        .message = xasprintf("Deployment %s already exists and is not controlled by this Foo",
                             r->dep_key)};
    if (ready_is_news(r, &o->ready))
        record(r, FC_EVENT_WARNING, FC_REASON_RESOURCE_EXIST, "%s", o->ready.message);
}

/* The Deployment in the cache, parsed (owned), or NULL. */
static cJSON *cached_deployment(const rc *r)
{
    inf_obj *obj = inf_store_get(r->c->deployments, r->dep_key);
    cJSON *d = obj ? inf_obj_parse(obj) : NULL;
    inf_obj_unref(obj);
    return d;
}

static dep_outcome sync_deployment(rc *r, const cJSON *desired)
{
    dep_outcome o = {.result = result(FC_DONE)};
    cJSON *actual = cached_deployment(r);
    const char *uid = json_path_string(r->foo, "metadata.uid");
    if (!actual)
        create_deployment(&o, r, desired);
    else if (!foo_deployment_controlled_by(actual, uid)) {
        cJSON_Delete(actual);
        foreign_deployment(&o, r);
    } else if (foo_deployment_drifted(desired, actual))
        update_deployment(&o, r, desired, actual);
    else
        settled(&o, r, actual);
    return o;
}

/* ---- status -------------------------------------------------------------------------------- */

/* Patches /status when the desired status differs from the Foo's; a no-op otherwise. */
static fc_result write_status(rc *r, const cJSON *dep, const fc_ready *ready)
{
    int64_t now_s = clk_wall_ms(r->c->clock) / 1000;
    cJSON *desired = fc_status_desired(r->foo, dep, ready, now_s);
    cJSON *patch = fc_status_patch(r->foo, desired);
    cJSON_Delete(desired);
    if (!patch)
        return result(FC_DONE);
    char *path = xasprintf("%s/status", r->foo_path);
    cJSON *answer = NULL;
    wres w = call(r, "PATCH", path, MERGE_PATCH, patch, &answer);
    free(path);
    cJSON_Delete(patch);
    if (w == W_OK) {
        take_foo(r, answer);
        return result(FC_DONE);
    }
    cJSON_Delete(answer);
    if (w == W_NOT_FOUND)
        return result(FC_DONE); /* the Foo is gone: nothing left to report to */
    if (w == W_REJECTED)
        record(r, FC_EVENT_WARNING, FC_REASON_STATUS_FAILED, "Error updating the status: %s",
               err_message(r));
    return failed(r, w, "updating the status");
}

/* ---- the passes ---------------------------------------------------------------------------- */

/* The Foo lives: finalizer, Deployment, status. */
static fc_result sync_foo(rc *r)
{
    if (!has_finalizer(r->foo)) {
        wres w = patch_finalizers(r, true);
        if (w == W_NOT_FOUND)
            return result(FC_DONE); /* deleted meanwhile */
        if (w != W_OK)
            return failed(r, w, "adding the finalizer");
    }
    cJSON *desired = foo_desired_deployment(r->foo);
    if (!desired) {
        /* the server always sets both; nothing we could write would help */
        rlog(r, LOG_ERROR, "Foo without metadata.uid, skipped", NULL, NULL, NULL, NULL);
        return result(FC_DONE);
    }
    dep_outcome o = sync_deployment(r, desired);
    cJSON_Delete(desired);
    fc_result res = o.result;
    if (o.report) {
        fc_result st = write_status(r, o.dep, &o.ready);
        /* a failed status write decides, unless the Deployment step already failed */
        if (res.action == FC_DONE || st.action == FC_REQUEUE)
            res = st;
    }
    fc_ready_clear(&o.ready);
    cJSON_Delete(o.dep);
    return res;
}

/*
 * Deletes the Deployment this Foo controls. *gone: the answer shows it removed (no finalizers
 * hold it), so the finalizer may go in the same pass.
 */
static wres delete_deployment(rc *r, const cJSON *actual, bool *gone)
{
    cJSON *opts = cJSON_CreateObject();
    json_set_string(opts, "apiVersion", "v1");
    json_set_string(opts, "kind", "DeleteOptions");
    json_set_string(opts, "propagationPolicy", "Background");
    /* the uid precondition: never delete a Deployment recreated under the name meanwhile */
    const char *uid = json_path_string(actual, "metadata.uid");
    if (uid)
        json_set_string(json_ensure_object(opts, "preconditions"), "uid", uid);
    char *path = deployment_path(actual);
    cJSON *answer = NULL;
    wres w = call(r, "DELETE", path, NULL, opts, &answer);
    free(path);
    cJSON_Delete(opts);
    *gone = w == W_NOT_FOUND ||
            (w == W_OK && cJSON_GetArraySize(json_path(answer, "metadata.finalizers")) == 0);
    cJSON_Delete(answer);
    return w;
}

/* The Foo is being deleted: its Deployment first, then our finalizer. */
static fc_result finalize_foo(rc *r)
{
    if (!has_finalizer(r->foo))
        return result(FC_DONE);
    cJSON *actual = cached_deployment(r);
    const char *uid = json_path_string(r->foo, "metadata.uid");
    if (actual && foo_deployment_controlled_by(actual, uid)) {
        if (json_path(actual, "metadata.deletionTimestamp")) {
            /* already going; its delete event brings this key back */
            cJSON_Delete(actual);
            return result(FC_DONE);
        }
        bool gone = false;
        wres w = delete_deployment(r, actual, &gone);
        cJSON_Delete(actual);
        if (w == W_OK) {
            rlog(r, LOG_INFO, "deleted Deployment", "deployment", r->dep_key, NULL, NULL);
            record(r, FC_EVENT_NORMAL, FC_REASON_DELETED, "Deleted Deployment %s", r->dep_key);
        } else if (w == W_REJECTED)
            record(r, FC_EVENT_WARNING, FC_REASON_DELETE_FAILED,
                   "Error deleting the Deployment: %s", err_message(r));
        if (w != W_OK && w != W_NOT_FOUND)
            return failed(r, w, "deleting the Deployment");
        if (!gone)
            return result(FC_DONE);
    } else {
        cJSON_Delete(actual);
    }
    wres w = patch_finalizers(r, false);
    if (w == W_OK || w == W_NOT_FOUND)
        return result(FC_DONE);
    return failed(r, w, "removing the finalizer");
}

static const char *action_name(fc_action a)
{
    switch (a) {
    case FC_DONE:
        return "done";
    case FC_REQUEUE:
        return "requeue";
    case FC_REQUEUE_RATE_LIMITED:
        return "requeue_rate_limited";
    case FC_REQUEUE_AFTER:
        return "requeue_after";
    }
    return "?";
}

fc_result fc_reconcile(fc_controller *c, const char *key)
{
    rc r = {.c = c, .key = key};
    id_uuid4(r.id);
    inf_obj *obj = inf_store_get(c->foos, key);
    if (!obj) {
        if (log_verbosity() >= 4)
            rlog(&r, LOG_DEBUG, "Foo not found, nothing to do", NULL, NULL, NULL, NULL);
        return result(FC_DONE);
    }
    r.foo = inf_obj_parse(obj);
    inf_obj_unref(obj);
    if (!r.foo)
        return result(FC_DONE);
    r.foo_path = xasprintf(FOO_PATH "%s", key);
    r.dep_key = xasprintf("%s/%s", foo_deployment_namespace(r.foo), foo_deployment_name(r.foo));
    fc_result res =
        json_path(r.foo, "metadata.deletionTimestamp") ? finalize_foo(&r) : sync_foo(&r);
    if (log_verbosity() >= 4)
        rlog(&r, LOG_DEBUG, "Reconcile done", "result", action_name(res.action), NULL, NULL);
    apierr_clear(&r.err);
    free(r.dep_key);
    free(r.foo_path);
    cJSON_Delete(r.foo);
    return res;
}

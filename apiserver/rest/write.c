/*
 * write.c - the write cycle, and the create, update and patch verbs. One write_op per request:
 *
 *   attempt():  read the current object from the watch cache, compute the next state
 *               (object_rules.c), then either answer at once (errors, no-ops, dry runs) or submit
 *               one storage write with expect_rev = the current object's revision, and park the
 *               request.
 *   on_done():  (writer thread) post the request back to the service thread.
 *   resume():   (service thread) answer from the stored bytes, or, when the write lost a race
 *               and the client did not pin a resourceVersion, attempt() again on the newer state.
 *
 * DELETE and deletecollection live in delete.c, /scale and /bar in subresources.c.
 */
#include "apiserver/rest/write.h"
#include "apiserver/rest/namespaces.h"
#include "apiserver/rest/server.h"
#include "apiserver/rest/write_op.h"
#include "common/alloc.h"
#include "common/json.h"
#include "common/sbuf.h"

#include <stdlib.h>
#include <string.h>

#define MAX_ATTEMPTS        16 /* recomputations after lost races before answering 409 */
#define GENERATE_ATTEMPTS   8  /* generateName collisions tolerated (kube >= 1.31) */
#define GENERATE_PREFIX_MAX 58

void as_error_not_found(api_error *e, const as_resource *r, const char *name)
{
    apierr_not_found(e, r->resource, r->group, name);
}

static void object_key(write_op *op, sbuf *key)
{
    as_object_key(op->in.res, op->in.ns, op->in.name, key);
}

/* ---- fieldValidation -------------------------------------------------------------------- */

/* At most this many unknown fields are named in a 400 or in warnings; all are removed. */
#define MAX_NAMED_UNKNOWN_FIELDS 100

/*
 * fieldValidation (docs/api.md §3.3) for unknown fields of `obj`: they are removed from obj,
 * then reported as a 400 (Strict), a Warning header each (Warn, the default) or not at all
 * (Ignore). Returns false after answering.
 */
static bool check_unknown_fields(write_op *op, cJSON *obj)
{
    const as_strategy *s = op->in.res->strategy;
    if (!s || !s->prune_unknown_fields)
        return true;
    cJSON *paths = cJSON_CreateArray();
    size_t removed = s->prune_unknown_fields(obj, paths, MAX_NAMED_UNKNOWN_FIELDS);
    bool ok = wo_report_fields(op, "unknown field", paths, removed);
    cJSON_Delete(paths);
    return ok;
}

/* ---- answering -------------------------------------------------------------------------- */

static int success_code(const write_op *op)
{
    return op->in.kind == OP_CREATE || op->in.kind == OP_BAR ? 201 : 200;
}

/* /scale answers the Scale view of the stored object. */
static void respond_scale(write_op *op, const char *json, size_t len)
{
    cJSON *obj = cJSON_ParseWithLength(json, len);
    cJSON *scale = as_rules_scale_of(op->in.res, obj);
    char *s = json_print(scale);
    as_respond_json(op->req, 200, s, strlen(s));
    free(s);
    cJSON_Delete(scale);
    cJSON_Delete(obj);
}

/* A delete that removed the object answers a Success Status naming it. */
static void respond_removed(write_op *op, const char *json, size_t len)
{
    cJSON *obj = cJSON_ParseWithLength(json, len);
    cJSON *st = cJSON_CreateObject();
    cJSON_AddStringToObject(st, "kind", "Status");
    cJSON_AddStringToObject(st, "apiVersion", "v1");
    cJSON_AddObjectToObject(st, "metadata");
    cJSON_AddStringToObject(st, "status", "Success");
    cJSON *d = cJSON_AddObjectToObject(st, "details");
    cJSON_AddStringToObject(d, "name", op->in.name);
    cJSON_AddStringToObject(d, "group", op->in.res->group);
    cJSON_AddStringToObject(d, "kind", op->in.res->resource);
    const char *uid = json_path_string(obj, "metadata.uid");
    cJSON_AddStringToObject(d, "uid", uid ? uid : "");
    char *s = json_print(st);
    as_respond_json(op->req, 200, s, strlen(s));
    free(s);
    cJSON_Delete(st);
    cJSON_Delete(obj);
}

/* Answers the success of op with the object json (as stored, or as it would be). */
static void respond_object(write_op *op, const char *json, size_t len)
{
    if (op->in.kind == OP_SCALE_UPDATE || op->in.kind == OP_SCALE_PATCH)
        respond_scale(op, json, len);
    else if (op->in.kind == OP_DELETE && op->in.removed)
        respond_removed(op, json, len);
    else
        as_respond_json(op->req, success_code(op), json, len);
}

static void respond_dry_run(write_op *op, cJSON *next)
{
    if (op->in.kind == OP_CREATE)
        json_remove(json_path(next, "metadata"), "resourceVersion");
    char *s = json_print(next);
    respond_object(op, s, strlen(s));
    free(s);
}

/* Answers a storage write that failed for good. */
static void respond_write_failure(write_op *op, int result)
{
    as_req *req = op->req;
    api_error e = API_ERROR_INIT;
    switch (result) {
    case ST_ENOENT:
        as_error_not_found(&e, op->in.res, op->in.name);
        break;
    case ST_ECONFLICT:
        apierr_conflict(&e, op->in.res->resource, op->in.res->group, op->in.name,
                        "the object has been modified; please apply your changes to the "
                        "latest version and try again");
        break;
    case ST_EEXIST:
        apierr_already_exists(&e, op->in.res->resource, op->in.res->group, op->in.name);
        if (op->in.generate_prefix)
            e.retry_after = 1;
        break;
    case ST_ECLOSED:
        as_respond_status(req, 503, "ServiceUnavailable", "the server is shutting down");
        return;
    case ST_EINVAL:
        apierr_internal(&e, "the object could not be stored");
        break;
    case ST_ETOOLARGE:
        apierr_set(&e, 413, "RequestEntityTooLarge",
                   "Request entity too large: the %s \"%s\" would be larger than the limit of "
                   "%d bytes on a stored object",
                   op->in.res->kind, op->in.name, ST_MAX_OBJECT_BYTES);
        break;
    case ST_EIO:
        /* SQLite: the batch failed and was undone; etcd: it may or may not have applied (a
           timeout), which a 500 leaves open, as kube's does. */
        apierr_internal(&e, "storage write failed: the storage backend did not confirm it "
                            "(input/output error)");
        break;
    default:
        apierr_internal(&e, "storage write failed (%d)", result);
    }
    wo_respond_error(req, &e);
}

/* ---- the attempt / done / resume cycle --------------------------------------------------- */

static void on_done(st_write *w)
{
    write_op *op = w->arg;
    as_post_completion(op->req->http, op->req);
}

static void attempt_job(as_req *req, void *data)
{
    (void)req;
    wo_attempt(data);
}

/*
 * After a failed write: attempts op again and returns true when the failure is one a retry can
 * fix (a lost race the client did not pin; a generateName collision) and attempts remain.
 * op then belongs to the new attempt.
 */
static bool retry(write_op *op, int result)
{
    bool again = false;
    if (result == ST_ECONFLICT || result == ST_ENOENT)
        again = !op->in.rv_pinned && op->in.kind != OP_CREATE && ++op->attempts < MAX_ATTEMPTS;
    else if (result == ST_EEXIST)
        again = op->in.generate_prefix && ++op->attempts < GENERATE_ATTEMPTS;
    if (!again)
        return false;
    st_write_free(op->w);
    op->w = NULL;
    /* Recompute from the newer state (the cache already has it), or with a new random suffix,
       on the compute thread like the first attempt. */
    as_req_offload(op->req, attempt_job, op);
    return true;
}

static void resume(as_req *req, void *data)
{
    write_op *op = data;
    if (req->orphaned) {
        wo_free(op);
        return;
    }
    int result = op->w->result;
    if (result == ST_OK)
        respond_object(op, op->w->value, op->w->value_len);
    else if (retry(op, result))
        return;
    else
        respond_write_failure(op, result);
    wo_free(op);
}

static void submit_now(as_req *req, void *w)
{
    st_submit(as_server_of(req)->store, w);
}

void as_submit_write(as_req *req, st_write *w)
{
    as_req_after_job(req, submit_now, w);
}

static void submit(write_op *op, st_op sop, cJSON *next, uint64_t expect_rev)
{
    sbuf key = SBUF_INIT;
    object_key(op, &key);
    op->w = st_write_new(sop, key.data, next, expect_rev);
    sbuf_free(&key);
    op->w->done = on_done;
    op->w->arg = op;
    as_req_park(op->req, resume, op);
    as_submit_write(op->req, op->w);
}

cJSON *wo_load_current(write_op *op, uint64_t *rev)
{
    sbuf key = SBUF_INIT;
    object_key(op, &key);
    wc_blob *b = wc_get(as_cache_of(as_server_of(op->req), op->in.res), key.data);
    sbuf_free(&key);
    if (!b)
        return NULL;
    *rev = b->rev;
    cJSON *obj = cJSON_ParseWithLength(b->data, b->len);
    wc_blob_unref(b);
    return obj;
}

/* Update, patch, scale and bar: the incoming object, checked, then the update rules. */
static outcome compute_change(write_op *op, const cJSON *current, cJSON **next, api_error *e)
{
    cJSON *incoming = as_rules_incoming(&op->in, current, e);
    if (!incoming)
        return OUT_ERROR;
    outcome out;
    if (op->in.kind == OP_PATCH && !check_unknown_fields(op, incoming))
        out = OUT_ANSWERED;
    else
        out = as_rules_update(&op->in, incoming, current, next, e);
    cJSON_Delete(incoming);
    return out;
}

/*
 * The next state of op's object. *current receives the object read from the cache (owned by the
 * caller; NULL for a create), *rev its revision.
 */
static outcome compute_next(write_op *op, cJSON **current, uint64_t *rev, cJSON **next,
                            api_error *e)
{
    if (op->in.kind == OP_CREATE)
        return as_rules_create(&op->in, next, e);
    *current = wo_load_current(op, rev);
    if (!*current && op->in.kind == OP_PATCH && op->in.ptype == PATCH_APPLY && !op->in.status) {
        op->in.kind = OP_CREATE; /* apply creates what does not exist */
        return as_rules_create(&op->in, next, e);
    }
    if (!*current) {
        as_error_not_found(e, op->in.res, op->in.name);
        return OUT_ERROR;
    }
    if (op->in.kind == OP_DELETE)
        return as_rules_delete(&op->in, *current, next, e);
    return compute_change(op, *current, next, e);
}

void wo_attempt(write_op *op)
{
    api_error e = API_ERROR_INIT;
    cJSON *next = NULL, *current = NULL;
    uint64_t rev = 0;
    outcome out = compute_next(op, &current, &rev, &next, &e);
    if (out == OUT_WRITE && !as_namespace_admit(as_server_of(op->req), &op->in, &e)) {
        cJSON_Delete(next);
        next = NULL;
        out = OUT_ERROR;
    }
    if (out == OUT_WRITE && !op->dry_run) {
        st_op sop = op->in.kind == OP_CREATE ? ST_CREATE : op->in.removed ? ST_DELETE : ST_UPDATE;
        submit(op, sop, next, rev); /* next and op now belong to the write */
        cJSON_Delete(current);
        return;
    }
    if (out == OUT_ERROR) {
        wo_respond_error(op->req, &e);
    } else if (out == OUT_NOOP) {
        char *s = json_print(current);
        respond_object(op, s, strlen(s));
        free(s);
    } else if (out == OUT_WRITE) { /* a dry run */
        respond_dry_run(op, next);
        cJSON_Delete(next);
    }
    cJSON_Delete(current);
    wo_free(op);
}

/* ---- create, update, patch -------------------------------------------------------------- */

/* The body names the object, or asks for a generated name (kept as op->in.generate_prefix). */
static bool check_create_name(write_op *op)
{
    const char *name = json_path_string(op->in.body, "metadata.name");
    const char *gen = json_path_string(op->in.body, "metadata.generateName");
    if (name && *name)
        return true;
    if (gen && *gen) {
        size_t n = strlen(gen) > GENERATE_PREFIX_MAX ? GENERATE_PREFIX_MAX : strlen(gen);
        op->in.generate_prefix = xstrndup(gen, n);
        return true;
    }
    api_error e = API_ERROR_INIT;
    apierr_add_cause(&e, "FieldValueRequired", "metadata.name",
                     "Required value: name or generateName is required");
    apierr_finish_invalid(&e, op->in.res->kind, op->in.res->group, "");
    wo_respond_error(op->req, &e);
    return false;
}

void as_handle_create(as_req *req, const as_target *t)
{
    if (!as_check_accept(req))
        return;
    write_op *op = wo_new(req, t, OP_CREATE);
    if (!(op->in.body = wo_parse_body(op)) || !wo_parse_dry_run(op) ||
        !wo_check_type_meta(op, op->in.body, op->in.res->kind) ||
        !check_unknown_fields(op, op->in.body) || !check_create_name(op)) {
        wo_free(op);
        return;
    }
    wo_attempt(op);
}

void as_handle_update(as_req *req, const as_target *t)
{
    if (!as_check_accept(req))
        return;
    write_op *op = wo_new(req, t, OP_UPDATE);
    if (!(op->in.body = wo_parse_body(op)) || !wo_parse_dry_run(op) ||
        !wo_check_type_meta(op, op->in.body, op->in.res->kind) ||
        !check_unknown_fields(op, op->in.body)) {
        wo_free(op);
        return;
    }
    const char *rv = json_path_string(op->in.body, "metadata.resourceVersion");
    op->in.rv_pinned = rv && *rv;
    wo_attempt(op);
}

/* fieldManager and force (docs/api.md §5.5). Returns false after answering 422. */
static bool check_patch_options(write_op *op)
{
    const char *manager = as_param_get(op->req, "fieldManager");
    const char *force = as_param_get(op->req, "force");
    bool forced;
    api_error e = API_ERROR_INIT;
    if (op->in.ptype == PATCH_APPLY && (!manager || !*manager))
        apierr_add_cause(&e, "FieldValueRequired", "fieldManager",
                         "Required value: is required for apply patch");
    if (force && op->in.ptype != PATCH_APPLY)
        apierr_add_cause(&e, "FieldValueForbidden", "force",
                         "Forbidden: may not be specified for non-apply patch");
    else if (force && !json_parse_bool(force, &forced))
        apierr_add_cause(&e, "FieldValueInvalid", "force", "Invalid value: \"%s\"", force);
    if (!apierr_finish_invalid(&e, "PatchOptions", "meta.k8s.io", ""))
        return true;
    wo_respond_error(op->req, &e);
    return false;
}

/* An apply body is a whole object: its type meta, unknown fields and name are checked, and the
   name is the URL's. Returns false after answering. */
static bool check_apply_body(write_op *op)
{
    const char *name = json_path_string(op->in.body, "metadata.name");
    if (!wo_check_type_meta(op, op->in.body, op->in.res->kind) ||
        !check_unknown_fields(op, op->in.body))
        return false;
    if (name && strcmp(name, op->in.name) != 0) {
        as_respond_status(op->req, 400, "BadRequest",
                          "the name of the object (%s) does not match the name on the URL (%s)",
                          name, op->in.name);
        return false;
    }
    json_set_string(json_ensure_object(op->in.body, "metadata"), "name", op->in.name);
    return true;
}

void as_handle_patch(as_req *req, const as_target *t)
{
    if (!as_check_accept(req))
        return;
    write_op *op = wo_new(req, t, OP_PATCH);
    if (!wo_parse_patch_type(op) || !check_patch_options(op) ||
        !(op->in.body = wo_parse_body(op)) || !wo_parse_dry_run(op) ||
        (op->in.ptype == PATCH_APPLY && !check_apply_body(op))) {
        wo_free(op);
        return;
    }
    const cJSON *rv = json_path(op->in.body, "metadata.resourceVersion");
    op->in.rv_pinned = cJSON_IsString(rv) && *rv->valuestring;
    wo_attempt(op);
}

/*
 * write.c - the write verbs. One write_op per request:
 *
 *   attempt():  read the current object from the watch cache, compute the next state
 *               (create / update / patch / status / scale / bar / delete rules), then either
 *               answer at once (errors, no-ops, dry runs) or submit one storage write with
 *               expect_rev = the current object's revision, and park the request.
 *   on_done():  (writer thread) post the request back to the service thread.
 *   resume():   (service thread) answer from the stored bytes, or, when the write lost a race
 *               and the client did not pin a resourceVersion, attempt() again on the newer state.
 *
 * Object rules follow api-contract §4–§5 and §8 and DESIGN.md §2.
 */
#include "apiserver/write.h"
#include "api/foo.h"
#include "apiserver/internal.h"
#include "apiserver/negotiate.h"
#include "apiserver/selector.h"
#include "common/alloc.h"
#include "common/ids.h"
#include "common/json.h"
#include "common/jsonpatch.h"
#include "common/mergepatch.h"
#include "common/yamljson.h"
#include "common/timefmt.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ATTEMPTS        16 /* recomputations after lost races before answering 409 */
#define GENERATE_ATTEMPTS   8  /* generateName collisions tolerated (kube >= 1.31) */
#define GENERATE_PREFIX_MAX 58

typedef enum op_kind {
    OP_CREATE,
    OP_UPDATE,       /* PUT item or /status */
    OP_PATCH,        /* PATCH item or /status */
    OP_SCALE_UPDATE, /* PUT /scale */
    OP_SCALE_PATCH,  /* PATCH /scale */
    OP_BAR,          /* POST /bar */
    OP_DELETE,
} op_kind;

typedef enum patch_type {
    PATCH_MERGE,     /* RFC 7386 */
    PATCH_STRATEGIC, /* applied as a merge patch once its directives are removed (D4) */
    PATCH_APPLY,     /* server-side apply, minimum form: create, or merge into the object (D5) */
    PATCH_JSON,      /* RFC 6902 */
} patch_type;

typedef struct write_op {
    as_req *req;
    const as_resource *res;
    char *ns, *name; /* owned copies: the router's path segments die with the request turn */
    op_kind kind;
    bool status; /* the /status subresource */
    cJSON *body; /* parsed body: object, patch, Scale, FooBar or DeleteOptions */
    patch_type ptype;
    bool rv_pinned; /* the client named a resourceVersion: a lost race is a 409 */
    bool dry_run;
    int attempts;
    char *generate_prefix;
    st_write *w;  /* the write in flight */
    bool removed; /* the write deletes the object */
} write_op;

/* ---- small helpers ---------------------------------------------------------------------- */

void as_error_not_found(api_error *e, const as_resource *r, const char *name)
{
    apierr_not_found(e, r->resource, r->group, name);
}

static void respond_and_clear(as_req *req, api_error *e)
{
    as_respond_error(req, e);
    apierr_clear(e);
}

static void set_now(cJSON *meta, const char *key, as_req *req)
{
    char ts[RFC3339_LEN];
    time_format_rfc3339(as_now_s(req), ts);
    json_set_string(meta, key, ts);
}

static void op_free(write_op *op)
{
    free(op->ns);
    free(op->name);
    free(op->generate_prefix);
    cJSON_Delete(op->body);
    st_write_free(op->w);
    free(op);
}

static write_op *op_new(as_req *req, const as_target *t, op_kind kind)
{
    write_op *op = xcalloc(1, sizeof *op);
    op->req = req;
    op->res = t->resource;
    op->ns = t->ns ? xstrdup(t->ns) : NULL;
    op->name = t->name ? xstrdup(t->name) : NULL;
    op->kind = kind;
    op->status = t->sub && strcmp(t->sub, "status") == 0;
    return op;
}

static void object_key(write_op *op, sbuf *key)
{
    as_object_key(op->res, op->ns, op->name, key);
}

/* Parses the JSON body; answers 400 on failure. Empty bodies are an error. */
static cJSON *parse_body(as_req *req)
{
    cJSON *body = req->body.len ? cJSON_ParseWithLength(req->body.data, req->body.len) : NULL;
    if (!body)
        as_respond_status(req, 400, "BadRequest",
                          req->body.len ? "the request body is not valid JSON"
                                        : "the request body is empty");
    return body;
}

static bool parse_dry_run(write_op *op, const char *options_kind)
{
    const char *v = as_param_get(op->req, "dryRun");
    if (!v || !*v)
        return true;
    if (strcmp(v, "All") == 0) {
        op->dry_run = true;
        return true;
    }
    api_error e = API_ERROR_INIT;
    apierr_add_cause(&e, "FieldValueNotSupported", "dryRun",
                     "Unsupported value: \"%s\": supported values: \"All\"", v);
    apierr_finish_invalid(&e, options_kind, "meta.k8s.io", "");
    respond_and_clear(op->req, &e);
    return false;
}

/*
 * fieldValidation (api-contract §3.3): reports unknown fields of `obj` as 400 (Strict), Warning
 * headers (Warn, the default) or nothing (Ignore), and prunes them from obj unless Strict.
 * Returns false after answering.
 */
static bool check_unknown_fields(write_op *op, cJSON *obj, const char *options_kind)
{
    as_req *req = op->req;
    const char *mode = as_param_get(req, "fieldValidation");
    if (!mode || !*mode)
        mode = "Warn";
    if (strcmp(mode, "Strict") != 0 && strcmp(mode, "Warn") != 0 && strcmp(mode, "Ignore") != 0) {
        api_error e = API_ERROR_INIT;
        apierr_add_cause(&e, "FieldValueNotSupported", "fieldValidation",
                         "Unsupported value: \"%s\": supported values: \"Ignore\", \"Strict\", "
                         "\"Warn\"",
                         mode);
        apierr_finish_invalid(&e, options_kind, "meta.k8s.io", "");
        respond_and_clear(req, &e);
        return false;
    }
    const as_strategy *s = op->res->strategy;
    if (!s || !s->unknown_fields)
        return true;
    cJSON *paths = cJSON_CreateArray();
    s->unknown_fields(obj, paths);
    bool ok = true;
    if (cJSON_GetArraySize(paths) > 0 && strcmp(mode, "Strict") == 0) {
        sbuf msg = SBUF_INIT;
        sbuf_printf(&msg, "%s in version \"%s\" cannot be handled as a %s: strict decoding error: ",
                    op->res->kind, op->res->version, op->res->kind);
        const cJSON *p;
        bool first = true;
        cJSON_ArrayForEach(p, paths)
        {
            sbuf_printf(&msg, "%sunknown field \"%s\"", first ? "" : ", ", p->valuestring);
            first = false;
        }
        as_respond_status(req, 400, "BadRequest", "%s", msg.data);
        sbuf_free(&msg);
        ok = false;
    } else {
        const cJSON *p;
        cJSON_ArrayForEach(p, paths)
        {
            if (strcmp(mode, "Warn") == 0) {
                sbuf h = SBUF_INIT;
                sbuf_printf(&h, "299 - \"unknown field \\\"%s\\\"\"", p->valuestring);
                as_add_header(req, "Warning", h.data);
                sbuf_free(&h);
            }
            json_delete_path(obj, p->valuestring);
        }
    }
    cJSON_Delete(paths);
    return ok;
}

/* apiVersion/kind of a body, when given, must be the resource's (api-contract §5.3). */
static bool check_type_meta(write_op *op, const cJSON *obj, const char *kind)
{
    sbuf gv = SBUF_INIT;
    as_resource_group_version(op->res, &gv);
    const char *av = json_path_string(obj, "apiVersion");
    const char *k = json_path_string(obj, "kind");
    bool ok = true;
    if (av && *av && strcmp(av, gv.data) != 0) {
        as_respond_status(op->req, 400, "BadRequest",
                          "the API version in the data (%s) does not match the expected API "
                          "version (%s)",
                          av, gv.data);
        ok = false;
    } else if (k && *k && strcmp(k, kind) != 0) {
        as_respond_status(op->req, 400, "BadRequest",
                          "the kind in the data (%s) does not match the expected kind (%s)", k,
                          kind);
        ok = false;
    }
    sbuf_free(&gv);
    return ok;
}

static void set_type_meta(const as_resource *r, cJSON *obj)
{
    sbuf gv = SBUF_INIT;
    as_resource_group_version(r, &gv);
    json_remove(obj, "apiVersion");
    json_remove(obj, "kind");
    /* Keep apiVersion and kind first, as kube serializes them. */
    cJSON_AddStringToObject(obj, "kind", r->kind);
    cJSON_InsertItemInArray(obj, 0, cJSON_DetachItemFromObjectCaseSensitive(obj, "kind"));
    cJSON_AddStringToObject(obj, "apiVersion", gv.data);
    cJSON_InsertItemInArray(obj, 0, cJSON_DetachItemFromObjectCaseSensitive(obj, "apiVersion"));
    sbuf_free(&gv);
}

/* The kind's strategy validates metadata too; kinds without one get the generic ObjectMeta rules.
 */
static void validate_object(write_op *op, const cJSON *next, const cJSON *old, api_error *e)
{
    const as_strategy *s = op->res->strategy;
    if (s && s->validate) {
        s->validate(next, old, e);
        return;
    }
    const cJSON *meta = cJSON_GetObjectItemCaseSensitive(next, "metadata");
    meta_validate(meta, true, e);
    if (old)
        meta_validate_update(meta, cJSON_GetObjectItemCaseSensitive(old, "metadata"), e);
}

static bool finish_invalid(write_op *op, api_error *e, const char *name)
{
    return apierr_finish_invalid(e, op->res->kind, op->res->group, name);
}

/* True when anything but metadata and status differs (the CRD rule for generation). */
static bool spec_changed(const cJSON *a, const cJSON *b)
{
    const cJSON *it;
    cJSON_ArrayForEach(it, a)
    {
        if (strcmp(it->string, "metadata") == 0 || strcmp(it->string, "status") == 0 ||
            strcmp(it->string, "apiVersion") == 0 || strcmp(it->string, "kind") == 0)
            continue;
        if (!json_equal(it, cJSON_GetObjectItemCaseSensitive(b, it->string)))
            return true;
    }
    cJSON_ArrayForEach(it, b)
    {
        if (strcmp(it->string, "metadata") == 0 || strcmp(it->string, "status") == 0 ||
            strcmp(it->string, "apiVersion") == 0 || strcmp(it->string, "kind") == 0)
            continue;
        if (!cJSON_GetObjectItemCaseSensitive(a, it->string))
            return true;
    }
    return false;
}

static bool has_finalizers(const cJSON *obj)
{
    return cJSON_GetArraySize(json_path(obj, "metadata.finalizers")) > 0;
}

static bool finalizer_in(const cJSON *list, const char *name)
{
    const cJSON *f;
    cJSON_ArrayForEach(f, list)
    {
        if (cJSON_IsString(f) && strcmp(f->valuestring, name) == 0)
            return true;
    }
    return false;
}

/* ---- compute: create -------------------------------------------------------------------- */

typedef enum outcome { OUT_ERROR, OUT_NOOP, OUT_WRITE } outcome;

/* ObjectMeta's maps and lists are omitempty in kube: an emptied one disappears. */
static void drop_empty_meta(cJSON *meta)
{
    static const char *fields[] = {"labels", "annotations", "finalizers", "ownerReferences"};
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(meta, fields[i]);
        if (v && (cJSON_IsNull(v) || ((cJSON_IsObject(v) || cJSON_IsArray(v)) && !v->child)))
            json_remove(meta, fields[i]);
    }
}

static void drop_server_fields(cJSON *meta)
{
    drop_empty_meta(meta);
    static const char *fields[] = {"deletionTimestamp", "deletionGracePeriodSeconds",
                                   "managedFields", "selfLink"};
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
        json_remove(meta, fields[i]);
}

/* Namespace: cleared for cluster-scoped kinds, the path's for namespaced ones. */
static bool fix_namespace(write_op *op, cJSON *meta, api_error *e)
{
    if (!op->res->namespaced) {
        json_remove(meta, "namespace");
        return true;
    }
    const char *ns = json_path_string(meta, "namespace");
    if (ns && *ns && op->ns && strcmp(ns, op->ns) != 0) {
        apierr_bad_request(e, "the namespace of the provided object does not match the namespace "
                              "sent on the request");
        return false;
    }
    if (op->ns)
        json_set_string(meta, "namespace", op->ns);
    return true;
}

static outcome compute_create(write_op *op, cJSON **next, api_error *e)
{
    cJSON *obj = cJSON_Duplicate(op->body, 1);
    cJSON *meta = json_ensure_object(obj, "metadata");
    const char *rv = json_path_string(meta, "resourceVersion");
    if (rv && *rv) {
        cJSON_Delete(obj);
        apierr_bad_request(e, "resourceVersion should not be set on objects to be created");
        return OUT_ERROR;
    }
    if (op->generate_prefix) {
        char suffix[6];
        id_name_suffix(suffix, 5);
        sbuf name = SBUF_INIT;
        sbuf_printf(&name, "%s%s", op->generate_prefix, suffix);
        json_set_string(meta, "name", name.data);
        sbuf_free(&name);
    }
    const char *name = json_path_string(meta, "name");
    free(op->name);
    op->name = xstrdup(name ? name : "");
    char uid[UUID_STR_LEN];
    id_uuid4(uid);
    json_set_string(meta, "uid", uid);
    set_now(meta, "creationTimestamp", op->req);
    json_set_number(meta, "generation", 1);
    json_remove(meta, "resourceVersion");
    drop_server_fields(meta);
    if (!fix_namespace(op, meta, e)) {
        cJSON_Delete(obj);
        return OUT_ERROR;
    }
    if (op->res->has_status)
        json_remove(obj, "status");
    set_type_meta(op->res, obj);
    const as_strategy *s = op->res->strategy;
    if (s && s->defaults && *op->name)
        s->defaults(obj);
    validate_object(op, obj, NULL, e);
    if (finish_invalid(op, e, op->name)) {
        cJSON_Delete(obj);
        return OUT_ERROR;
    }
    *next = obj;
    return OUT_WRITE;
}

/* ---- compute: update (PUT, PATCH, status, scale, bar all end here) ---------------------- */

static const char *rv_of(const cJSON *obj)
{
    return json_path_string(obj, "metadata.resourceVersion");
}

static bool check_preconditions(write_op *op, const cJSON *incoming, const cJSON *current,
                                api_error *e)
{
    const char *in_uid = json_path_string(incoming, "metadata.uid");
    const char *cur_uid = json_path_string(current, "metadata.uid");
    if (in_uid && *in_uid && cur_uid && strcmp(in_uid, cur_uid) != 0) {
        sbuf why = SBUF_INIT;
        sbuf_printf(&why, "Precondition failed: UID in precondition: %s, UID in object meta: %s",
                    in_uid, cur_uid);
        apierr_conflict(e, op->res->resource, op->res->group, op->name, why.data);
        sbuf_free(&why);
        return false;
    }
    const char *in_rv = rv_of(incoming);
    if (in_rv && *in_rv && strcmp(in_rv, rv_of(current) ? rv_of(current) : "") != 0) {
        apierr_conflict(e, op->res->resource, op->res->group, op->name,
                        "the object has been modified; please apply your changes to the latest "
                        "version and try again");
        return false;
    }
    return true;
}

/* Main resource: everything from incoming except status and server-owned metadata. */
static cJSON *merge_main(write_op *op, cJSON *incoming, const cJSON *current, api_error *e)
{
    cJSON *next = cJSON_Duplicate(incoming, 1);
    cJSON *meta = json_ensure_object(next, "metadata");
    const cJSON *cur_meta = cJSON_GetObjectItemCaseSensitive(current, "metadata");
    static const char *owned[] = {"uid",
                                  "creationTimestamp",
                                  "generation",
                                  "deletionTimestamp",
                                  "deletionGracePeriodSeconds",
                                  "resourceVersion"};
    drop_server_fields(meta);
    for (size_t i = 0; i < sizeof owned / sizeof owned[0]; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(cur_meta, owned[i]);
        json_remove(meta, owned[i]);
        if (v)
            cJSON_AddItemToObject(meta, owned[i], cJSON_Duplicate(v, 1));
    }
    if (!fix_namespace(op, meta, e)) {
        cJSON_Delete(next);
        return NULL;
    }
    if (op->res->has_status) {
        json_remove(next, "status");
        const cJSON *st = cJSON_GetObjectItemCaseSensitive(current, "status");
        if (st)
            cJSON_AddItemToObject(next, "status", cJSON_Duplicate(st, 1));
    }
    set_type_meta(op->res, next);
    const as_strategy *s = op->res->strategy;
    if (s && s->defaults)
        s->defaults(next);
    if (spec_changed(next, current)) {
        double gen = cJSON_GetNumberValue(json_path(current, "metadata.generation"));
        json_set_number(meta, "generation", (gen > 0 ? gen : 0) + 1);
    }
    return next;
}

/* /status: the current object with incoming's status. */
static cJSON *merge_status(const cJSON *incoming, const cJSON *current)
{
    cJSON *next = cJSON_Duplicate(current, 1);
    json_remove(next, "status");
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(incoming, "status");
    if (st)
        cJSON_AddItemToObject(next, "status", cJSON_Duplicate(st, 1));
    return next;
}

static outcome compute_update(write_op *op, cJSON *incoming, const cJSON *current, cJSON **next,
                              api_error *e)
{
    const char *in_name = json_path_string(incoming, "metadata.name");
    if (!in_name || strcmp(in_name, op->name) != 0) {
        apierr_bad_request(e, "the name of the object (%s) does not match the name on the URL (%s)",
                           in_name ? in_name : "", op->name);
        return OUT_ERROR;
    }
    if (!check_preconditions(op, incoming, current, e))
        return OUT_ERROR;
    cJSON *n = op->status ? merge_status(incoming, current) : merge_main(op, incoming, current, e);
    if (!n)
        return OUT_ERROR;
    if (op->status) {
        const as_strategy *s = op->res->strategy;
        if (s && s->validate_status)
            s->validate_status(n, e);
    } else {
        validate_object(op, n, current, e);
    }
    if (finish_invalid(op, e, op->name)) {
        cJSON_Delete(n);
        return OUT_ERROR;
    }
    /* Compare with the resourceVersion the stored object has, so a no-op is recognised. */
    json_set_string(json_ensure_object(n, "metadata"), "resourceVersion",
                    rv_of(current) ? rv_of(current) : "");
    if (json_equal(n, current)) {
        cJSON_Delete(n);
        return OUT_NOOP;
    }
    /* The last finalizer left a terminating object: it goes away now. */
    op->removed = json_path(n, "metadata.deletionTimestamp") && !has_finalizers(n);
    *next = n;
    return OUT_WRITE;
}

/* ---- compute: the incoming object of each verb ------------------------------------------ */

static cJSON *scale_of(const as_resource *r, const cJSON *obj)
{
    cJSON *s = cJSON_CreateObject();
    cJSON_AddStringToObject(s, "kind", "Scale");
    cJSON_AddStringToObject(s, "apiVersion", "autoscaling/v1");
    cJSON *meta = cJSON_AddObjectToObject(s, "metadata");
    static const char *copy[] = {"name", "namespace", "uid", "resourceVersion",
                                 "creationTimestamp"};
    for (size_t i = 0; i < sizeof copy / sizeof copy[0]; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(json_path(obj, "metadata"), copy[i]);
        if (v)
            cJSON_AddItemToObject(meta, copy[i], cJSON_Duplicate(v, 1));
    }
    cJSON *spec = cJSON_AddObjectToObject(s, "spec");
    const cJSON *rep = json_path(obj, "spec.replicas");
    cJSON_AddNumberToObject(spec, "replicas", cJSON_IsNumber(rep) ? rep->valuedouble : 0);
    cJSON *status = cJSON_AddObjectToObject(s, "status");
    const cJSON *srep = json_path(obj, "status.replicas");
    cJSON_AddNumberToObject(status, "replicas", cJSON_IsNumber(srep) ? srep->valuedouble : 0);
    const char *sel = json_path_string(obj, "status.selector");
    if (sel)
        cJSON_AddStringToObject(status, "selector", sel);
    (void)r;
    return s;
}

static cJSON *apply_patch(write_op *op, const cJSON *target, api_error *e)
{
    if (op->ptype == PATCH_JSON)
        return jsonpatch_apply(target, op->body, e);
    if (!cJSON_IsObject(op->body)) {
        apierr_bad_request(e, "the patch is not a JSON object");
        return NULL;
    }
    cJSON *patch = cJSON_Duplicate(op->body, 1);
    if (op->ptype == PATCH_STRATEGIC)
        mergepatch_strip_smp_directives(patch);
    cJSON *out = mergepatch_apply(target, patch);
    cJSON_Delete(patch);
    if (!out)
        apierr_bad_request(e, "the patch could not be applied");
    return out;
}

/* Scale → the object with spec.replicas set; validates the Scale (kind Scale, autoscaling). */
static cJSON *incoming_from_scale(write_op *op, const cJSON *scale, const cJSON *current,
                                  api_error *e)
{
    const cJSON *rep = json_path(scale, "spec.replicas");
    if (!cJSON_IsNumber(rep) || rep->valuedouble < 0 || rep->valuedouble != (int)rep->valuedouble) {
        char v[64];
        snprintf(v, sizeof v, "%g", cJSON_IsNumber(rep) ? rep->valuedouble : 0.0);
        apierr_add_cause(e, "FieldValueInvalid", "spec.replicas",
                         "Invalid value: %s: must be greater than or equal to 0", v);
        apierr_finish_invalid(e, "Scale", "autoscaling", op->name);
        return NULL;
    }
    cJSON *in = cJSON_Duplicate(current, 1);
    json_set_number(json_ensure_object(in, "spec"), "replicas", rep->valuedouble);
    const char *rv = rv_of(scale);
    json_set_string(json_ensure_object(in, "metadata"), "resourceVersion", rv ? rv : "");
    op->rv_pinned = rv && *rv;
    return in;
}

static cJSON *incoming_for(write_op *op, const cJSON *current, api_error *e)
{
    switch (op->kind) {
    case OP_UPDATE:
        return cJSON_Duplicate(op->body, 1);
    case OP_PATCH:
        return apply_patch(op, current, e);
    case OP_SCALE_UPDATE:
        return incoming_from_scale(op, op->body, current, e);
    case OP_SCALE_PATCH: {
        cJSON *scale = scale_of(op->res, current);
        cJSON *patched = apply_patch(op, scale, e);
        cJSON_Delete(scale);
        if (!patched)
            return NULL;
        op->rv_pinned = false;
        const cJSON *prv = json_path(op->body, "metadata.resourceVersion");
        op->rv_pinned = cJSON_IsString(prv) && *prv->valuestring;
        cJSON *in = incoming_from_scale(op, patched, current, e);
        cJSON_Delete(patched);
        if (in && !op->rv_pinned)
            json_remove(json_path(in, "metadata"), "resourceVersion");
        return in;
    }
    case OP_BAR: {
        cJSON *in = cJSON_Duplicate(current, 1);
        char ts[RFC3339_LEN];
        time_format_rfc3339(as_now_s(op->req), ts);
        json_set_string(json_ensure_object(in, "spec"), "restartedAt", ts);
        json_remove(json_path(in, "metadata"), "resourceVersion");
        return in;
    }
    default:
        return NULL;
    }
}

/* ---- compute: delete -------------------------------------------------------------------- */

static bool delete_preconditions(write_op *op, const cJSON *current, api_error *e)
{
    const cJSON *pre = json_path(op->body, "preconditions");
    const char *uid = json_path_string(pre, "uid");
    const char *rv = json_path_string(pre, "resourceVersion");
    const char *cur_uid = json_path_string(current, "metadata.uid");
    const char *cur_rv = rv_of(current);
    sbuf why = SBUF_INIT;
    if (uid && cur_uid && strcmp(uid, cur_uid) != 0)
        sbuf_printf(&why, "Precondition failed: UID in precondition: %s, UID in object meta: %s",
                    uid, cur_uid);
    else if (rv && cur_rv && strcmp(rv, cur_rv) != 0)
        sbuf_printf(&why,
                    "Precondition failed: ResourceVersion in precondition: %s, ResourceVersion "
                    "in object meta: %s",
                    rv, cur_rv);
    bool ok = why.len == 0;
    if (!ok)
        apierr_conflict(e, op->res->resource, op->res->group, op->name, why.data);
    op->rv_pinned = rv != NULL;
    sbuf_free(&why);
    return ok;
}

static const char *propagation_policy(write_op *op)
{
    const char *p = as_param_get(op->req, "propagationPolicy");
    if (!p)
        p = json_path_string(op->body, "propagationPolicy");
    return p;
}

/* The policy in effect: propagationPolicy, or the deprecated orphanDependents=true. */
static const char *effective_policy(write_op *op)
{
    const char *p = propagation_policy(op);
    if (!p && cJSON_IsTrue(json_path(op->body, "orphanDependents")))
        p = "Orphan";
    return p;
}

/* DeleteOptions validation (AM validation.go): policy values, and not both policy forms. */
static bool check_delete_options(write_op *op)
{
    const char *policy = propagation_policy(op);
    const cJSON *orphan = json_path(op->body, "orphanDependents");
    api_error e = API_ERROR_INIT;
    if (policy && cJSON_IsBool(orphan))
        apierr_add_cause(&e, "FieldValueInvalid", "propagationPolicy",
                         "Invalid value: \"%s\": orphanDependents and deletionPropagation cannot "
                         "be both set",
                         policy);
    else if (policy && strcmp(policy, "Orphan") != 0 && strcmp(policy, "Background") != 0 &&
             strcmp(policy, "Foreground") != 0)
        apierr_add_cause(&e, "FieldValueNotSupported", "propagationPolicy",
                         "Unsupported value: \"%s\": supported values: \"Foreground\", "
                         "\"Background\", \"Orphan\", \"nil\"",
                         policy);
    if (!apierr_finish_invalid(&e, "DeleteOptions", "meta.k8s.io", ""))
        return true;
    respond_and_clear(op->req, &e);
    return false;
}

static outcome compute_delete(write_op *op, const cJSON *current, cJSON **next, api_error *e)
{
    if (!delete_preconditions(op, current, e))
        return OUT_ERROR;
    const char *policy = effective_policy(op);
    const char *extra = NULL;
    if (policy && strcmp(policy, "Foreground") == 0)
        extra = "foregroundDeletion";
    else if (policy && strcmp(policy, "Orphan") == 0)
        extra = "orphan";
    if (!has_finalizers(current) && !extra) {
        op->removed = true;
        *next = cJSON_Duplicate(current, 1);
        return OUT_WRITE;
    }
    if (json_path(current, "metadata.deletionTimestamp"))
        return OUT_NOOP; /* already terminating: deletes are idempotent */
    cJSON *n = cJSON_Duplicate(current, 1);
    cJSON *meta = json_ensure_object(n, "metadata");
    set_now(meta, "deletionTimestamp", op->req);
    json_set_number(meta, "deletionGracePeriodSeconds", 0);
    if (extra) {
        cJSON *fins = cJSON_GetObjectItemCaseSensitive(meta, "finalizers");
        if (!cJSON_IsArray(fins)) {
            fins = cJSON_CreateArray();
            json_set_item(meta, "finalizers", fins);
        }
        if (!finalizer_in(fins, extra))
            cJSON_AddItemToArray(fins, cJSON_CreateString(extra));
    }
    *next = n;
    return OUT_WRITE;
}

/* ---- answering -------------------------------------------------------------------------- */

static int success_code(const write_op *op)
{
    return op->kind == OP_CREATE || op->kind == OP_BAR ? 201 : 200;
}

static void respond_object(write_op *op, const char *json, size_t len)
{
    as_req *req = op->req;
    if (op->kind == OP_SCALE_UPDATE || op->kind == OP_SCALE_PATCH) {
        cJSON *obj = cJSON_ParseWithLength(json, len);
        cJSON *scale = scale_of(op->res, obj);
        char *s = json_print(scale);
        as_respond_json(req, 200, s, strlen(s));
        free(s);
        cJSON_Delete(scale);
        cJSON_Delete(obj);
        return;
    }
    if (op->kind == OP_DELETE && op->removed) {
        cJSON *obj = cJSON_ParseWithLength(json, len);
        cJSON *st = cJSON_CreateObject();
        cJSON_AddStringToObject(st, "kind", "Status");
        cJSON_AddStringToObject(st, "apiVersion", "v1");
        cJSON_AddObjectToObject(st, "metadata");
        cJSON_AddStringToObject(st, "status", "Success");
        cJSON *d = cJSON_AddObjectToObject(st, "details");
        cJSON_AddStringToObject(d, "name", op->name);
        cJSON_AddStringToObject(d, "group", op->res->group);
        cJSON_AddStringToObject(d, "kind", op->res->resource);
        const char *uid = json_path_string(obj, "metadata.uid");
        cJSON_AddStringToObject(d, "uid", uid ? uid : "");
        char *s = json_print(st);
        as_respond_json(req, 200, s, strlen(s));
        free(s);
        cJSON_Delete(st);
        cJSON_Delete(obj);
        return;
    }
    as_respond_json(req, success_code(op), json, len);
}

static void respond_dry_run(write_op *op, cJSON *next)
{
    if (op->kind == OP_CREATE)
        json_remove(json_path(next, "metadata"), "resourceVersion");
    char *s = json_print(next);
    respond_object(op, s, strlen(s));
    free(s);
}

/* ---- the attempt / done / resume cycle --------------------------------------------------- */

static void attempt(write_op *op);

static void on_done(st_write *w)
{
    write_op *op = w->arg;
    as_post_completion(op->req->server, op->req);
}

static void resume(as_req *req, void *data)
{
    write_op *op = data;
    st_write *w = op->w;
    if (req->orphaned) {
        op_free(op);
        return;
    }
    api_error e = API_ERROR_INIT;
    switch (w->result) {
    case ST_OK:
        respond_object(op, w->value, w->value_len);
        break;
    case ST_ECONFLICT:
    case ST_ENOENT:
        if (!op->rv_pinned && op->kind != OP_CREATE && ++op->attempts < MAX_ATTEMPTS) {
            st_write_free(op->w);
            op->w = NULL;
            attempt(op); /* recompute from the newer state (the cache already has it) */
            return;
        }
        if (w->result == ST_ENOENT)
            as_error_not_found(&e, op->res, op->name);
        else
            apierr_conflict(&e, op->res->resource, op->res->group, op->name,
                            "the object has been modified; please apply your changes to the "
                            "latest version and try again");
        respond_and_clear(req, &e);
        break;
    case ST_EEXIST:
        if (op->generate_prefix && ++op->attempts < GENERATE_ATTEMPTS) {
            st_write_free(op->w);
            op->w = NULL;
            attempt(op); /* a new random suffix */
            return;
        }
        apierr_already_exists(&e, op->res->resource, op->res->group, op->name);
        if (op->generate_prefix)
            e.retry_after = 1;
        respond_and_clear(req, &e);
        break;
    case ST_ECLOSED:
        as_respond_status(req, 503, "ServiceUnavailable", "the server is shutting down");
        break;
    case ST_EINVAL:
        apierr_internal(&e, "the object could not be stored");
        respond_and_clear(req, &e);
        break;
    default:
        apierr_internal(&e, "storage write failed (%d)", w->result);
        respond_and_clear(req, &e);
    }
    op_free(op);
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
    st_submit(op->req->server->store, op->w);
}

/* Reads the current object; answers 404 (or keeps going for create) when absent. */
static cJSON *load_current(write_op *op, uint64_t *rev)
{
    sbuf key = SBUF_INIT;
    object_key(op, &key);
    wc_blob *b = wc_get(op->req->server->cache, key.data);
    sbuf_free(&key);
    if (!b)
        return NULL;
    *rev = b->rev;
    cJSON *obj = cJSON_ParseWithLength(b->data, b->len);
    wc_blob_unref(b);
    return obj;
}

static void attempt(write_op *op)
{
    as_req *req = op->req;
    api_error e = API_ERROR_INIT;
    cJSON *next = NULL, *current = NULL;
    uint64_t rev = 0;
    outcome out;
    if (op->kind == OP_CREATE) {
        out = compute_create(op, &next, &e);
    } else if (!(current = load_current(op, &rev)) && op->kind == OP_PATCH &&
               op->ptype == PATCH_APPLY && !op->status) {
        op->kind = OP_CREATE; /* apply creates what does not exist */
        out = compute_create(op, &next, &e);
    } else if (!current) {
        as_error_not_found(&e, op->res, op->name);
        out = OUT_ERROR;
    } else if (op->kind == OP_DELETE) {
        out = compute_delete(op, current, &next, &e);
    } else {
        cJSON *incoming = incoming_for(op, current, &e);
        if (incoming && op->kind == OP_PATCH &&
            !check_unknown_fields(op, incoming, "PatchOptions")) {
            cJSON_Delete(incoming);
            cJSON_Delete(current);
            op_free(op);
            return;
        }
        out = incoming ? compute_update(op, incoming, current, &next, &e) : OUT_ERROR;
        cJSON_Delete(incoming);
    }
    if (out == OUT_ERROR) {
        respond_and_clear(req, &e);
        op_free(op);
    } else if (out == OUT_NOOP) {
        char *s = json_print(current);
        respond_object(op, s, strlen(s));
        free(s);
        op_free(op);
    } else if (op->dry_run) {
        respond_dry_run(op, next);
        cJSON_Delete(next);
        op_free(op);
    } else {
        st_op sop = op->kind == OP_CREATE ? ST_CREATE : op->removed ? ST_DELETE : ST_UPDATE;
        submit(op, sop, next, rev);
    }
    cJSON_Delete(current);
}

/* ---- entry points ----------------------------------------------------------------------- */

static bool parse_patch_type(write_op *op)
{
    char type[128];
    as_media_type(op->req->content_type, type, sizeof type);
    if (strcmp(type, "application/merge-patch+json") == 0) {
        op->ptype = PATCH_MERGE;
        return true;
    }
    if (strcmp(type, "application/strategic-merge-patch+json") == 0) {
        op->ptype = PATCH_STRATEGIC;
        return true;
    }
    if (strcmp(type, "application/apply-patch+yaml") == 0) {
        op->ptype = PATCH_APPLY;
        return true;
    }
    if (strcmp(type, "application/json-patch+json") == 0) {
        op->ptype = PATCH_JSON;
        return true;
    }
    as_respond_status(op->req, 415, "UnsupportedMediaType",
                      "the body of the request was in an unknown format - accepted media types "
                      "include: application/json-patch+json, application/merge-patch+json, "
                      "application/apply-patch+yaml, application/strategic-merge-patch+json");
    return false;
}

void as_handle_create(as_req *req, const as_target *t)
{
    if (!as_check_accept(req))
        return;
    write_op *op = op_new(req, t, OP_CREATE);
    if (!(op->body = parse_body(req)) || !parse_dry_run(op, "CreateOptions") ||
        !check_type_meta(op, op->body, op->res->kind) ||
        !check_unknown_fields(op, op->body, "CreateOptions")) {
        op_free(op);
        return;
    }
    const char *name = json_path_string(op->body, "metadata.name");
    const char *gen = json_path_string(op->body, "metadata.generateName");
    if ((!name || !*name) && gen && *gen) {
        size_t n = strlen(gen) > GENERATE_PREFIX_MAX ? GENERATE_PREFIX_MAX : strlen(gen);
        op->generate_prefix = xstrndup(gen, n);
    } else if (!name || !*name) {
        api_error e = API_ERROR_INIT;
        apierr_add_cause(&e, "FieldValueRequired", "metadata.name",
                         "Required value: name or generateName is required");
        finish_invalid(op, &e, "");
        respond_and_clear(req, &e);
        op_free(op);
        return;
    }
    attempt(op);
}

void as_handle_update(as_req *req, const as_target *t)
{
    if (!as_check_accept(req))
        return;
    write_op *op = op_new(req, t, OP_UPDATE);
    if (!(op->body = parse_body(req)) || !parse_dry_run(op, "UpdateOptions") ||
        !check_type_meta(op, op->body, op->res->kind) ||
        !check_unknown_fields(op, op->body, "UpdateOptions")) {
        op_free(op);
        return;
    }
    const char *rv = rv_of(op->body);
    op->rv_pinned = rv && *rv;
    attempt(op);
}

/* An apply body is YAML or JSON (JSON is YAML). Answers 400 when it is neither. */
static cJSON *parse_apply_body(as_req *req)
{
    cJSON *body = req->body.len ? cJSON_ParseWithLength(req->body.data, req->body.len) : NULL;
    if (body || !req->body.len)
        return body ? body : parse_body(req);
    char *why = NULL;
    body = yaml_to_json(req->body.data, req->body.len, &why);
    if (!body)
        as_respond_status(req, 400, "BadRequest", "error decoding YAML: %s", why ? why : "");
    free(why);
    return body;
}

/* fieldManager and force (api-contract §5.5). Returns false after answering 422. */
static bool check_patch_options(write_op *op)
{
    const char *manager = as_param_get(op->req, "fieldManager");
    const char *force = as_param_get(op->req, "force");
    bool forced;
    api_error e = API_ERROR_INIT;
    if (op->ptype == PATCH_APPLY && (!manager || !*manager))
        apierr_add_cause(&e, "FieldValueRequired", "fieldManager",
                         "Required value: is required for apply patch");
    if (force && op->ptype != PATCH_APPLY)
        apierr_add_cause(&e, "FieldValueForbidden", "force",
                         "Forbidden: may not be specified for non-apply patch");
    else if (force && !json_parse_bool(force, &forced))
        apierr_add_cause(&e, "FieldValueInvalid", "force", "Invalid value: \"%s\"", force);
    if (!apierr_finish_invalid(&e, "PatchOptions", "meta.k8s.io", ""))
        return true;
    respond_and_clear(op->req, &e);
    return false;
}

void as_handle_patch(as_req *req, const as_target *t)
{
    if (!as_check_accept(req))
        return;
    write_op *op = op_new(req, t, OP_PATCH);
    if (!parse_patch_type(op) || !check_patch_options(op) ||
        !(op->body = op->ptype == PATCH_APPLY ? parse_apply_body(req) : parse_body(req)) ||
        !parse_dry_run(op, "PatchOptions")) {
        op_free(op);
        return;
    }
    if (op->ptype == PATCH_APPLY) {
        const char *name = json_path_string(op->body, "metadata.name");
        if (!check_type_meta(op, op->body, op->res->kind) ||
            !check_unknown_fields(op, op->body, "PatchOptions")) {
            op_free(op);
            return;
        }
        if (name && strcmp(name, op->name) != 0) {
            as_respond_status(req, 400, "BadRequest",
                              "the name of the object (%s) does not match the name on the URL (%s)",
                              name, op->name);
            op_free(op);
            return;
        }
        json_set_string(json_ensure_object(op->body, "metadata"), "name", op->name);
    }
    const cJSON *rv = json_path(op->body, "metadata.resourceVersion");
    op->rv_pinned = cJSON_IsString(rv) && *rv->valuestring;
    attempt(op);
}

void as_handle_delete(as_req *req, const as_target *t)
{
    if (!as_check_accept(req))
        return;
    write_op *op = op_new(req, t, OP_DELETE);
    if (req->body.len && !(op->body = parse_body(req))) {
        op_free(op);
        return;
    }
    if (!parse_dry_run(op, "DeleteOptions")) {
        op_free(op);
        return;
    }
    if (!check_delete_options(op)) {
        op_free(op);
        return;
    }
    attempt(op);
}

/*
 * deletecollection: every matching object gets the delete of §5.6 (finalizers respected), as one
 * storage write each, submitted together; the request is resumed when the last one commits and
 * answers the list of deleted or now-terminating objects.
 */
typedef struct collection_op {
    as_req *req;
    const as_resource *res;
    atomic_int pending; /* writes not yet committed; the last one resumes the request */
    size_t n;
    st_write **writes; /* one per submitted write */
    wc_blob **kept;    /* objects already terminating: listed as they are */
    size_t nkept;
} collection_op;

static void collection_free(collection_op *cop)
{
    for (size_t i = 0; i < cop->n; i++)
        st_write_free(cop->writes[i]);
    free(cop->writes);
    wc_snapshot_free(cop->kept, cop->nkept);
    free(cop);
}

static void collection_respond(collection_op *cop)
{
    as_req *req = cop->req;
    sbuf *out = &req->out;
    sbuf_reset(out);
    sbuf_puts(out, "{\"apiVersion\":\"");
    as_resource_group_version(cop->res, out);
    sbuf_printf(out, "\",\"kind\":\"%s\",\"metadata\":{\"resourceVersion\":\"%llu\"},\"items\":[",
                cop->res->list_kind, (unsigned long long)wc_rev(req->server->cache));
    bool first = true;
    for (size_t i = 0; i < cop->n; i++) {
        if (cop->writes[i]->result != ST_OK)
            continue;
        sbuf_puts(out, first ? "" : ",");
        sbuf_append(out, cop->writes[i]->value, cop->writes[i]->value_len);
        first = false;
    }
    for (size_t i = 0; i < cop->nkept; i++) {
        sbuf_puts(out, first ? "" : ",");
        sbuf_append(out, cop->kept[i]->data, cop->kept[i]->len);
        first = false;
    }
    sbuf_puts(out, "]}");
    req->status = 200;
    req->responded = true;
    as_add_header(req, "Content-Type", "application/json");
}

static void collection_resume(as_req *req, void *data)
{
    collection_op *cop = data;
    if (!req->orphaned)
        collection_respond(cop);
    collection_free(cop);
}

static void collection_write_done(st_write *w)
{
    collection_op *cop = w->arg;
    if (atomic_fetch_sub(&cop->pending, 1) == 1)
        as_post_completion(cop->req->server, cop->req);
}

/* Plans the delete of one listed object: a write to submit, or the object kept as it is. */
static void collection_plan(collection_op *cop, write_op *tmpl, wc_blob *b, size_t prefix_len)
{
    write_op op = *tmpl;
    op.name = b->key + prefix_len;
    op.removed = false;
    cJSON *current = cJSON_ParseWithLength(b->data, b->len);
    cJSON *next = NULL;
    api_error e = API_ERROR_INIT;
    outcome out = current ? compute_delete(&op, current, &next, &e) : OUT_ERROR;
    cJSON_Delete(current);
    apierr_clear(&e); /* an object whose preconditions fail is left alone */
    if (out == OUT_NOOP) {
        cop->kept[cop->nkept++] = wc_blob_ref(b);
    } else if (out == OUT_WRITE) {
        st_write *w = st_write_new(op.removed ? ST_DELETE : ST_UPDATE, b->key, next, b->rev);
        w->done = collection_write_done;
        w->arg = cop;
        cop->writes[cop->n++] = w;
    }
}

void as_handle_delete_collection(as_req *req, const as_target *t)
{
    if (!as_check_accept(req))
        return;
    write_op tmpl = {.req = req, .res = t->resource, .kind = OP_DELETE};
    if ((req->body.len && !(tmpl.body = parse_body(req))) ||
        !parse_dry_run(&tmpl, "DeleteOptions")) {
        cJSON_Delete(tmpl.body);
        return;
    }
    as_selector sel;
    if (!check_delete_options(&tmpl)) {
        cJSON_Delete(tmpl.body);
        return;
    }
    if (!as_selector_parse(req, &sel)) {
        as_selector_free(&sel);
        cJSON_Delete(tmpl.body);
        return;
    }
    sbuf prefix = SBUF_INIT;
    as_resource_prefix(t->resource, t->ns, &prefix);
    wc_blob **items;
    uint64_t rev;
    size_t remaining;
    size_t n = wc_list(req->server->cache, prefix.data, NULL, 0, &items, &rev, &remaining);
    collection_op *cop = xcalloc(1, sizeof *cop);
    cop->req = req;
    cop->res = t->resource;
    cop->writes = xcalloc(n ? n : 1, sizeof *cop->writes);
    cop->kept = xcalloc(n ? n : 1, sizeof *cop->kept);
    for (size_t i = 0; i < n; i++) {
        if (as_selector_matches(&sel, items[i]->key + prefix.len, items[i]))
            collection_plan(cop, &tmpl, items[i], prefix.len);
    }
    wc_snapshot_free(items, n);
    sbuf_free(&prefix);
    as_selector_free(&sel);
    cJSON_Delete(tmpl.body);
    if (cop->n == 0 || tmpl.dry_run) {
        for (size_t i = 0; i < cop->n; i++) { /* dry run: list what would be written */
            st_write *w = cop->writes[i];
            w->value = json_print(w->obj);
            w->value_len = strlen(w->value);
            w->result = ST_OK;
        }
        collection_respond(cop);
        collection_free(cop);
        return;
    }
    atomic_store(&cop->pending, (int)cop->n);
    as_req_park(req, collection_resume, cop);
    for (size_t i = 0; i < cop->n; i++)
        st_submit(req->server->store, cop->writes[i]);
}

void as_handle_scale(as_req *req, const as_target *t)
{
    if (!as_check_accept(req))
        return;
    if (req->method == AS_GET || req->method == AS_HEAD) {
        write_op tmp = {
            .req = req, .res = t->resource, .name = (char *)t->name, .ns = (char *)t->ns};
        uint64_t rev;
        cJSON *cur = load_current(&tmp, &rev);
        if (!cur) {
            api_error e = API_ERROR_INIT;
            as_error_not_found(&e, t->resource, t->name);
            respond_and_clear(req, &e);
            return;
        }
        cJSON *scale = scale_of(t->resource, cur);
        char *s = json_print(scale);
        as_respond_json(req, 200, s, strlen(s));
        free(s);
        cJSON_Delete(scale);
        cJSON_Delete(cur);
        return;
    }
    if (req->method != AS_PUT && req->method != AS_PATCH)
        return as_respond_status(req, 405, "MethodNotAllowed",
                                 "the server does not allow this method on the requested resource");
    write_op *op = op_new(req, t, req->method == AS_PUT ? OP_SCALE_UPDATE : OP_SCALE_PATCH);
    /* The HPA sends a Scale without Content-Type: read it as JSON (api-contract §8). */
    if ((op->kind == OP_SCALE_PATCH && !parse_patch_type(op)) || !(op->body = parse_body(req)) ||
        !parse_dry_run(op, op->kind == OP_SCALE_PATCH ? "PatchOptions" : "UpdateOptions")) {
        op_free(op);
        return;
    }
    attempt(op);
}

void as_handle_bar(as_req *req, const as_target *t)
{
    if (!as_check_accept(req))
        return;
    write_op *op = op_new(req, t, OP_BAR);
    if (!(op->body = parse_body(req)) || !parse_dry_run(op, "CreateOptions") ||
        !check_type_meta(op, op->body, "FooBar")) {
        op_free(op);
        return;
    }
    const char *name = json_path_string(op->body, "metadata.name");
    if (name && *name && strcmp(name, op->name) != 0) {
        as_respond_status(req, 400, "BadRequest",
                          "the name of the object (%s) does not match the name on the URL (%s)",
                          name, op->name);
        op_free(op);
        return;
    }
    attempt(op);
}

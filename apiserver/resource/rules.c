/*
 * object_rules.c - what a write makes of an object: the next state computed from the request and
 * the current object, by the rules of docs/api.md §4, §5 and §8 and docs/design.md §2.
 *
 *   create:    server-owned metadata set, namespace fixed, defaults, validation
 *   update:    preconditions; the main resource keeps status and server metadata, /status keeps
 *              everything but status; generation grows with the spec; validation
 *   incoming:  the object each verb asks for (body, patched object, Scale, bar restart)
 *   delete:    preconditions, then removal or deletionTimestamp plus the policy's finalizer
 *
 * Nothing here answers the request or touches storage: every function returns an outcome or an
 * object and leaves errors in an api_error.
 */
#include "api/foo.h"
#include "apiserver/resource/rules.h"
#include "common/alloc.h"
#include "common/ids.h"
#include "common/json.h"
#include "common/jsonpatch.h"
#include "common/mergepatch.h"
#include "common/sbuf.h"
#include "common/timefmt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void as_object_key(const as_resource *r, const char *ns, const char *name, sbuf *out)
{
    as_resource_prefix(r, ns, out);
    sbuf_puts(out, name);
}

/* ---- small helpers ---------------------------------------------------------------------- */

static void set_now(cJSON *meta, const char *key, int64_t now_s)
{
    char ts[RFC3339_LEN];
    time_format_rfc3339(now_s, ts);
    json_set_string(meta, key, ts);
}

static const char *rv_of(const cJSON *obj)
{
    return json_path_string(obj, "metadata.resourceVersion");
}

/* The kind's strategy validates metadata too; kinds without one get the generic ObjectMeta rules.
 */
static void validate_object(as_write_intent *op, const cJSON *next, const cJSON *old, api_error *e)
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

static bool finish_invalid(as_write_intent *op, api_error *e, const char *name)
{
    return apierr_finish_invalid(e, op->res->kind, op->res->group, name);
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

/* The top-level fields that count as the spec: all but type meta, metadata and status. */
static bool is_spec_field(const char *key)
{
    return strcmp(key, "metadata") != 0 && strcmp(key, "status") != 0 &&
           strcmp(key, "apiVersion") != 0 && strcmp(key, "kind") != 0;
}

/* True when anything but metadata and status differs (the CRD rule for generation). */
static bool spec_changed(const cJSON *a, const cJSON *b)
{
    const cJSON *it;
    cJSON_ArrayForEach(it, a)
    {
        if (is_spec_field(it->string) &&
            !json_equal(it, cJSON_GetObjectItemCaseSensitive(b, it->string)))
            return true;
    }
    cJSON_ArrayForEach(it, b)
    {
        if (is_spec_field(it->string) && !cJSON_GetObjectItemCaseSensitive(a, it->string))
            return true;
    }
    return false;
}

static api_generation generation_of(const as_resource *r)
{
    return r->strategy ? r->strategy->generation : API_GENERATION_SPEC;
}

/* Whether an update from current to next makes metadata.generation grow (the kind's rule). */
static bool bumps_generation(const as_resource *r, const cJSON *next, const cJSON *current)
{
    switch (generation_of(r)) {
    case API_GENERATION_NONE:
        return false;
    case API_GENERATION_SPEC_ANNOTATIONS:
        if (!json_equal(json_path(next, "metadata.annotations"),
                        json_path(current, "metadata.annotations")))
            return true;
        break;
    case API_GENERATION_SPEC:
        break;
    }
    return spec_changed(next, current);
}

static bool has_finalizers(const cJSON *obj)
{
    return cJSON_GetArraySize(json_path(obj, "metadata.finalizers")) > 0;
}

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
static bool fix_namespace(as_write_intent *op, cJSON *meta, api_error *e)
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

/* ---- create ----------------------------------------------------------------------------- */

/* Names a new object (generateName gets a random suffix) and records the name in op->name. */
static void name_new_object(as_write_intent *op, cJSON *meta)
{
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
}

/* The metadata the server owns on a new object. */
static void set_create_meta(as_write_intent *op, cJSON *meta)
{
    char uid[UUID_STR_LEN];
    id_uuid4(uid);
    json_set_string(meta, "uid", uid);
    set_now(meta, "creationTimestamp", op->now_s);
    if (generation_of(op->res) != API_GENERATION_NONE)
        json_set_number(meta, "generation", 1);
    else
        json_remove(meta, "generation");
    json_remove(meta, "resourceVersion");
    drop_server_fields(meta);
}

outcome as_rules_create(as_write_intent *op, cJSON **next, api_error *e)
{
    cJSON *obj = cJSON_Duplicate(op->body, 1);
    cJSON *meta = json_ensure_object(obj, "metadata");
    const char *rv = json_path_string(meta, "resourceVersion");
    if (rv && *rv) {
        cJSON_Delete(obj);
        apierr_bad_request(e, "resourceVersion should not be set on objects to be created");
        return OUT_ERROR;
    }
    name_new_object(op, meta);
    set_create_meta(op, meta);
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

/* ---- update (PUT, PATCH, status, scale, bar all end here) ------------------------------- */

static bool check_preconditions(as_write_intent *op, const cJSON *incoming, const cJSON *current,
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

/* The metadata the server owns is the current object's, whatever the client sent. */
static void keep_server_meta(cJSON *meta, const cJSON *current)
{
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
}

/* Main resource: everything from incoming except status and server-owned metadata. */
static cJSON *merge_main(as_write_intent *op, cJSON *incoming, const cJSON *current, api_error *e)
{
    cJSON *next = cJSON_Duplicate(incoming, 1);
    cJSON *meta = json_ensure_object(next, "metadata");
    keep_server_meta(meta, current);
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
    if (bumps_generation(op->res, next, current)) {
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

/* Validates next as the main resource or as /status; true when it is invalid (e finished). */
static bool update_invalid(as_write_intent *op, const cJSON *next, const cJSON *current,
                           api_error *e)
{
    if (op->status) {
        const as_strategy *s = op->res->strategy;
        if (s && s->validate_status)
            s->validate_status(next, e);
    } else {
        validate_object(op, next, current, e);
    }
    return finish_invalid(op, e, op->name);
}

outcome as_rules_update(as_write_intent *op, cJSON *incoming, const cJSON *current, cJSON **next,
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
    if (update_invalid(op, n, current, e)) {
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

/* ---- the incoming object of each verb --------------------------------------------------- */

cJSON *as_rules_scale_of(const as_resource *r, const cJSON *obj)
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
    if (r->strategy && r->strategy->scale_selector) {
        char *sel = r->strategy->scale_selector(obj);
        if (sel && *sel)
            cJSON_AddStringToObject(status, "selector", sel);
        free(sel);
    } else {
        const char *sel = json_path_string(obj, "status.selector");
        if (sel)
            cJSON_AddStringToObject(status, "selector", sel);
    }
    return s;
}

static cJSON *apply_patch(as_write_intent *op, const cJSON *target, api_error *e)
{
    if (op->ptype == PATCH_JSON)
        return jsonpatch_apply(target, op->body, e);
    if (!cJSON_IsObject(op->body)) {
        apierr_bad_request(e, "the patch is not a JSON object");
        return NULL;
    }
    const as_strategy *st = op->res->strategy;
    if (op->ptype == PATCH_STRATEGIC && st && st->patch_schema) {
        cJSON *out = NULL;
        return smp_apply(target, op->body, st->patch_schema(), &out, e) == 0 ? out : NULL;
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
static cJSON *incoming_from_scale(as_write_intent *op, const cJSON *scale, const cJSON *current,
                                  api_error *e)
{
    /* As kube decodes a Scale: an absent spec.replicas is 0, a value that is not an int32 a
       decode error (400), a negative one a validation error (422). */
    const cJSON *rep = json_path(scale, "spec.replicas");
    int64_t replicas = 0;
    if (rep && !cJSON_IsNull(rep) && !json_int64(rep, INT32_MIN, INT32_MAX, &replicas)) {
        char *v = json_print(rep);
        const char *type = cJSON_IsString(rep)   ? "string"
                           : cJSON_IsBool(rep)   ? "bool"
                           : cJSON_IsArray(rep)  ? "array"
                           : cJSON_IsObject(rep) ? "object"
                                                 : "number ";
        apierr_bad_request(
            e,
            "json: cannot unmarshal %s%s into Go struct field ScaleSpec.spec.replicas "
            "of type int32",
            type, cJSON_IsNumber(rep) ? v : "");
        free(v);
        return NULL;
    }
    if (replicas < 0) {
        apierr_add_cause(e, "FieldValueInvalid", "spec.replicas",
                         "Invalid value: %lld: must be greater than or equal to 0",
                         (long long)replicas);
        apierr_finish_invalid(e, "Scale", "autoscaling", op->name);
        return NULL;
    }
    cJSON *in = cJSON_Duplicate(current, 1);
    json_set_number(json_ensure_object(in, "spec"), "replicas", (double)replicas);
    const char *rv = rv_of(scale);
    json_set_string(json_ensure_object(in, "metadata"), "resourceVersion", rv ? rv : "");
    op->rv_pinned = rv && *rv;
    return in;
}

/* PATCH /scale: the patch applies to the Scale view; only the patch itself may pin a version. */
static cJSON *incoming_from_scale_patch(as_write_intent *op, const cJSON *current, api_error *e)
{
    cJSON *scale = as_rules_scale_of(op->res, current);
    cJSON *patched = apply_patch(op, scale, e);
    cJSON_Delete(scale);
    if (!patched)
        return NULL;
    cJSON *in = incoming_from_scale(op, patched, current, e);
    cJSON_Delete(patched);
    /* After incoming_from_scale, which pinned the view's own resourceVersion. */
    const cJSON *prv = json_path(op->body, "metadata.resourceVersion");
    op->rv_pinned = cJSON_IsString(prv) && *prv->valuestring;
    if (in && !op->rv_pinned)
        json_remove(json_path(in, "metadata"), "resourceVersion");
    return in;
}

/* POST /bar: the object with spec.restartedAt set to the server's time (docs/design.md §2). */
static cJSON *incoming_for_bar(as_write_intent *op, const cJSON *current)
{
    cJSON *in = cJSON_Duplicate(current, 1);
    char ts[RFC3339_LEN];
    time_format_rfc3339(op->now_s, ts);
    json_set_string(json_ensure_object(in, "spec"), "restartedAt", ts);
    json_remove(json_path(in, "metadata"), "resourceVersion");
    return in;
}

cJSON *as_rules_incoming(as_write_intent *op, const cJSON *current, api_error *e)
{
    switch (op->kind) {
    case OP_UPDATE:
        return cJSON_Duplicate(op->body, 1);
    case OP_PATCH:
        return apply_patch(op, current, e);
    case OP_SCALE_UPDATE:
        return incoming_from_scale(op, op->body, current, e);
    case OP_SCALE_PATCH:
        return incoming_from_scale_patch(op, current, e);
    case OP_BAR:
        return incoming_for_bar(op, current);
    default:
        return NULL;
    }
}

/* ---- delete ----------------------------------------------------------------------------- */

static bool delete_preconditions(as_write_intent *op, const cJSON *current, api_error *e)
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

const char *as_rules_propagation_policy(const as_write_intent *op)
{
    const char *p = op->propagation_policy;
    if (!p)
        p = json_path_string(op->body, "propagationPolicy");
    return p;
}

/* The finalizer the policy in effect adds: propagationPolicy, or the deprecated
   orphanDependents=true meaning Orphan. NULL for Background or no policy. */
static const char *policy_finalizer(as_write_intent *op)
{
    const char *p = as_rules_propagation_policy(op);
    if (!p && cJSON_IsTrue(json_path(op->body, "orphanDependents")))
        p = "Orphan";
    if (p && strcmp(p, "Foreground") == 0)
        return "foregroundDeletion";
    if (p && strcmp(p, "Orphan") == 0)
        return "orphan";
    return NULL;
}

/* The object marked as terminating, with the policy's finalizer (extra, may be NULL) added. */
static cJSON *mark_terminating(as_write_intent *op, const cJSON *current, const char *extra)
{
    cJSON *n = cJSON_Duplicate(current, 1);
    cJSON *meta = json_ensure_object(n, "metadata");
    set_now(meta, "deletionTimestamp", op->now_s);
    json_set_number(meta, "deletionGracePeriodSeconds", 0);
    if (extra) {
        cJSON *fins = cJSON_GetObjectItemCaseSensitive(meta, "finalizers");
        if (!cJSON_IsArray(fins)) {
            fins = cJSON_CreateArray();
            json_set_item(meta, "finalizers", fins);
        }
        if (!json_has_string(fins, extra))
            cJSON_AddItemToArray(fins, cJSON_CreateString(extra));
    }
    return n;
}

outcome as_rules_delete(as_write_intent *op, const cJSON *current, cJSON **next, api_error *e)
{
    if (!delete_preconditions(op, current, e))
        return OUT_ERROR;
    const char *extra = policy_finalizer(op);
    if (!has_finalizers(current) && !extra) {
        op->removed = true;
        *next = cJSON_Duplicate(current, 1);
        return OUT_WRITE;
    }
    if (json_path(current, "metadata.deletionTimestamp"))
        return OUT_NOOP; /* already terminating: deletes are idempotent */
    *next = mark_terminating(op, current, extra);
    return OUT_WRITE;
}

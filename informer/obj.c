/*
 * obj.c - inf_obj: one cached object in one allocation.
 *
 * Why not keep the cJSON tree: a tree costs one malloc'd node (64 bytes + allocator overhead) per
 * value plus one per key string, about 5 KB for a Foo, and a shared mutable tree would need
 * locking. The minified JSON of the transformed object costs its length (~0.7 KB for a Foo), is
 * immutable (readers on any thread need no lock) and is parsed on demand. The few fields the
 * machinery reads on every event (key, uid, resourceVersion, controller owner) are extracted once.
 *
 * Layout: the header, then the strings back to back: json \0 key \0 namespace \0 name \0 ...
 */
#include "informer/internal.h"

#include "common/alloc.h"
#include "common/json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LAST_APPLIED "kubectl.kubernetes.io/last-applied-configuration"

enum obj_field { F_KEY, F_NS, F_NAME, F_UID, F_RV, F_CUID, F_CKIND, F_CNAME, F_CAPI, F_COUNT };

struct inf_obj {
    atomic_int refs;
    uint32_t json_len;
    uint32_t size; /* bytes of this allocation */
    int64_t generation;
    uint32_t field[F_COUNT]; /* offsets into data (not pointers: half the size) */
    char data[];             /* json first, then the fields */
};

void inf_transform_strip(void *ctx, cJSON *obj)
{
    (void)ctx;
    cJSON *meta = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
    if (!cJSON_IsObject(meta))
        return;
    cJSON_DeleteItemFromObjectCaseSensitive(meta, "managedFields");
    cJSON *ann = cJSON_GetObjectItemCaseSensitive(meta, "annotations");
    if (!cJSON_IsObject(ann))
        return;
    cJSON_DeleteItemFromObjectCaseSensitive(ann, LAST_APPLIED);
    if (!ann->child)
        cJSON_DeleteItemFromObjectCaseSensitive(meta, "annotations");
}

static const char *str_or_empty(const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    return cJSON_IsString(v) && v->valuestring ? v->valuestring : "";
}

/* The ownerReference with controller: true, or NULL. */
static const cJSON *controller_ref(const cJSON *meta)
{
    const cJSON *refs = cJSON_GetObjectItemCaseSensitive(meta, "ownerReferences");
    const cJSON *ref;
    cJSON_ArrayForEach(ref, refs)
    {
        if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(ref, "controller")))
            return ref;
    }
    return NULL;
}

static int64_t generation_of(const cJSON *meta)
{
    int64_t g = 0;
    /* a server's number out of int64's range reads as 0, never as undefined behaviour */
    return json_int64(cJSON_GetObjectItemCaseSensitive(meta, "generation"), INT64_MIN, INT64_MAX,
                      &g)
               ? g
               : 0;
}

inf_obj *inf_obj_new(cJSON *json, inf_transform_fn transform, void *transform_ctx)
{
    if (!cJSON_IsObject(json))
        return NULL;
    const cJSON *meta = cJSON_GetObjectItemCaseSensitive(json, "metadata");
    if (!*str_or_empty(meta, "name"))
        return NULL;
    if (transform)
        transform(transform_ctx, json);
    meta = cJSON_GetObjectItemCaseSensitive(json, "metadata"); /* the transform may move it */
    const cJSON *ctl = controller_ref(meta);
    const char *ns = str_or_empty(meta, "namespace");
    const char *vals[F_COUNT] = {
        [F_NS] = ns,
        [F_NAME] = str_or_empty(meta, "name"),
        [F_UID] = str_or_empty(meta, "uid"),
        [F_RV] = str_or_empty(meta, "resourceVersion"),
        [F_CUID] = ctl ? str_or_empty(ctl, "uid") : "",
        [F_CKIND] = ctl ? str_or_empty(ctl, "kind") : "",
        [F_CNAME] = ctl ? str_or_empty(ctl, "name") : "",
        [F_CAPI] = ctl ? str_or_empty(ctl, "apiVersion") : "",
    };
    if (!*vals[F_NAME])
        return NULL; /* the transform removed the name */
    char *printed = json_print(json);
    size_t json_len = strlen(printed);
    size_t key_len = (*ns ? strlen(ns) + 1 : 0) + strlen(vals[F_NAME]);
    size_t total = sizeof(inf_obj) + json_len + 1 + key_len + 1;
    for (int i = F_NS; i < F_COUNT; i++)
        total += strlen(vals[i]) + 1;
    inf_obj *o = xmalloc(total);
    atomic_init(&o->refs, 1);
    o->json_len = (uint32_t)json_len;
    o->size = (uint32_t)total;
    o->generation = generation_of(meta);
    char *p = o->data;
    memcpy(p, printed, json_len + 1);
    free(printed);
    p += json_len + 1;
    o->field[F_KEY] = (uint32_t)(p - o->data);
    if (*ns)
        p += sprintf(p, "%s/%s", ns, vals[F_NAME]) + 1;
    else
        p += sprintf(p, "%s", vals[F_NAME]) + 1;
    for (int i = F_NS; i < F_COUNT; i++) {
        size_t n = strlen(vals[i]);
        memcpy(p, vals[i], n + 1);
        o->field[i] = (uint32_t)(p - o->data);
        p += n + 1;
    }
    return o;
}

inf_obj *inf_obj_ref(inf_obj *obj)
{
    if (obj)
        atomic_fetch_add_explicit(&obj->refs, 1, memory_order_relaxed);
    return obj;
}

void inf_obj_unref(inf_obj *obj)
{
    /* acq_rel: the last owner must see every write made before the other owners let go. */
    if (obj && atomic_fetch_sub_explicit(&obj->refs, 1, memory_order_acq_rel) == 1)
        free(obj);
}

const char *inf_obj_key(const inf_obj *obj)
{
    return obj->data + obj->field[F_KEY];
}

const char *inf_obj_namespace(const inf_obj *obj)
{
    return obj->data + obj->field[F_NS];
}

const char *inf_obj_name(const inf_obj *obj)
{
    return obj->data + obj->field[F_NAME];
}

const char *inf_obj_uid(const inf_obj *obj)
{
    return obj->data + obj->field[F_UID];
}

const char *inf_obj_resource_version(const inf_obj *obj)
{
    return obj->data + obj->field[F_RV];
}

const char *inf_obj_controller_uid(const inf_obj *obj)
{
    return obj->data + obj->field[F_CUID];
}

const char *inf_obj_controller_kind(const inf_obj *obj)
{
    return obj->data + obj->field[F_CKIND];
}

const char *inf_obj_controller_name(const inf_obj *obj)
{
    return obj->data + obj->field[F_CNAME];
}

const char *inf_obj_controller_api_version(const inf_obj *obj)
{
    return obj->data + obj->field[F_CAPI];
}

int64_t inf_obj_generation(const inf_obj *obj)
{
    return obj->generation;
}

const char *inf_obj_json(const inf_obj *obj, size_t *len)
{
    if (len)
        *len = obj->json_len;
    return obj->data;
}

cJSON *inf_obj_parse(const inf_obj *obj)
{
    return cJSON_ParseWithLength(obj->data, obj->json_len);
}

size_t inf_obj_size(const inf_obj *obj)
{
    return obj->size;
}

void inf_objs_free(inf_obj **objs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        inf_obj_unref(objs[i]);
    free(objs);
}

/*
 * openapi.c - the OpenAPI documents of demo.example.com/v1beta1 (docs/api.md §3): the paths and
 * operations, the assembly of the v3 and v2 documents, and their lazy, once-only construction.
 *
 * Both documents come from one table of operations, rendered in either dialect, so they cannot
 * drift apart. What clients look for (docs/api.md §3.2): each operation carries operationId,
 * x-kubernetes-action and x-kubernetes-group-version-kind (one object); PATCH operations list
 * fieldValidation (kubectl then validates on the server) and offer exactly JSON patch, merge patch
 * and apply patch: no strategic merge patch (docs/api.md D4), so kubectl apply sends merge patches.
 */
#include "api/foo.h"
#include "api/openapi_internal.h"
#include "common/alloc.h"
#include "common/json.h"

#include <ctype.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define OA_BASE "/apis/" FOO_API_VERSION "/" FOO_RESOURCE

/* Groups of query parameters; an operation lists the groups it takes. */
enum {
    Q_DRY_RUN = 1 << 0,
    Q_WRITE = 1 << 1,  /* fieldManager, fieldValidation */
    Q_FORCE = 1 << 2,  /* apply patches only */
    Q_LIST = 1 << 3,   /* selectors, paging, resourceVersion(Match), timeoutSeconds */
    Q_WATCH = 1 << 4,  /* watch, allowWatchBookmarks */
    Q_DELETE = 1 << 5, /* gracePeriodSeconds, orphanDependents, propagationPolicy */
};

typedef struct oa_param {
    unsigned group;
    const char *name;
    const char *type; /* string, integer or boolean */
    const char *desc;
} oa_param;

/* In alphabetical order, like kube-openapi, so the documents read the same way. */
static const oa_param oa_params[] = {
    {Q_WATCH, "allowWatchBookmarks", "boolean",
     "With watch: also send BOOKMARK events that carry only a newer resourceVersion, so that "
     "a client can resume from it."},
    {Q_LIST, "continue", "string",
     "Token from the metadata.continue of a previous page, to get the next page."},
    {Q_DRY_RUN, "dryRun", "string",
     "When All, the request is checked (defaulting, validation) but nothing is persisted."},
    {Q_WRITE, "fieldManager", "string",
     "Name of the actor making the change; required for apply patches."},
    {Q_LIST, "fieldSelector", "string",
     "Restricts the result to objects whose fields match, e.g. metadata.name=foo-a. Only "
     "metadata.name is supported."},
    {Q_WRITE, "fieldValidation", "string",
     "What to do with unknown or duplicate fields in the body: Ignore (drop them), Warn (drop "
     "them and send a Warning header per field; the default) or Strict (fail with 400)."},
    {Q_FORCE, "force", "boolean", "Apply patches only: take over fields owned by other managers."},
    {Q_DELETE, "gracePeriodSeconds", "integer",
     "Seconds before the object is deleted; 0 means at once."},
    {Q_LIST, "labelSelector", "string",
     "Restricts the result to objects whose labels match, e.g. app=a,tier in (web,db),!old."},
    {Q_LIST, "limit", "integer",
     "Maximum number of items to return; when more exist, metadata.continue is set."},
    {Q_DELETE, "orphanDependents", "boolean",
     "Deprecated: use propagationPolicy. Whether dependents are orphaned."},
    {Q_DELETE, "propagationPolicy", "string",
     "How dependents are garbage collected: Orphan, Background or Foreground."},
    {Q_LIST, "resourceVersion", "string",
     "List: the minimum version the result must reflect (see resourceVersionMatch). Watch: "
     "start after this version."},
    {Q_LIST, "resourceVersionMatch", "string",
     "How resourceVersion applies to a list: NotOlderThan or Exact."},
    {Q_LIST, "sendInitialEvents", "boolean",
     "With watch and resourceVersionMatch=NotOlderThan: first send every current object as "
     "ADDED, then a BOOKMARK annotated k8s.io/initial-events-end."},
    {Q_LIST, "timeoutSeconds", "integer", "Ends the list or watch call after this many seconds."},
    {Q_WATCH, "watch", "boolean",
     "Stream changes (ADDED, MODIFIED, DELETED) instead of returning a list."},
};

typedef enum oa_body { B_NONE, B_JSON, B_PATCH, B_DELETE } oa_body;

typedef struct oa_op {
    const char *method; /* lower-case HTTP method: the key of the path item */
    const char *verb;   /* first word of operationId */
    const char *action; /* x-kubernetes-action */
    const char *desc;
    unsigned query;     /* Q_* groups */
    oa_body body;       /* kind of request body */
    const char *schema; /* schema of the request body for B_JSON */
    const char *result; /* schema of the 200 response */
    bool created;       /* may answer 201 */
    bool accepted;      /* may answer 202 */
} oa_op;

typedef struct oa_path {
    const char *suffix; /* after OA_BASE */
    const char *what;   /* ending of operationIds: "Foo", "FooStatus", ... */
    const char *group, *version, *kind;
    const oa_op *ops;
    size_t n_ops;
} oa_path;

static const oa_op ops_collection[] = {
    {"get", "list", "list", "List or watch objects of kind Foo.", Q_LIST | Q_WATCH, B_NONE, NULL,
     OA_FOO_LIST, false, false},
    {"post", "create", "post", "Create a Foo.", Q_DRY_RUN | Q_WRITE, B_JSON, OA_FOO, OA_FOO, true,
     true},
    {"delete", "deletecollection", "deletecollection", "Delete a collection of Foo.",
     Q_DRY_RUN | Q_DELETE | Q_LIST, B_DELETE, NULL, OA_STATUS, false, false},
};

static const oa_op ops_item[] = {
    {"get", "read", "get", "Read the specified Foo.", 0, B_NONE, NULL, OA_FOO, false, false},
    {"put", "replace", "put", "Replace the specified Foo.", Q_DRY_RUN | Q_WRITE, B_JSON, OA_FOO,
     OA_FOO, true, false},
    {"patch", "patch", "patch", "Partially update the specified Foo.",
     Q_DRY_RUN | Q_WRITE | Q_FORCE, B_PATCH, NULL, OA_FOO, true, false},
    {"delete", "delete", "delete", "Delete a Foo.", Q_DRY_RUN | Q_DELETE, B_DELETE, NULL, OA_STATUS,
     false, true},
};

static const oa_op ops_status[] = {
    {"get", "read", "get", "Read status of the specified Foo.", 0, B_NONE, NULL, OA_FOO, false,
     false},
    {"put", "replace", "put", "Replace status of the specified Foo.", Q_DRY_RUN | Q_WRITE, B_JSON,
     OA_FOO, OA_FOO, true, false},
    {"patch", "patch", "patch", "Partially update status of the specified Foo.",
     Q_DRY_RUN | Q_WRITE | Q_FORCE, B_PATCH, NULL, OA_FOO, true, false},
};

static const oa_op ops_scale[] = {
    {"get", "read", "get", "Read scale of the specified Foo.", 0, B_NONE, NULL, OA_SCALE, false,
     false},
    {"put", "replace", "put", "Replace scale of the specified Foo.", Q_DRY_RUN | Q_WRITE, B_JSON,
     OA_SCALE, OA_SCALE, true, false},
    {"patch", "patch", "patch", "Partially update scale of the specified Foo.",
     Q_DRY_RUN | Q_WRITE | Q_FORCE, B_PATCH, NULL, OA_SCALE, true, false},
};

static const oa_op ops_bar[] = {
    {"post", "create", "post",
     "Request a rolling restart of the specified Foo: sets spec.restartedAt to the server's "
     "current time and returns the updated Foo.",
     Q_DRY_RUN | Q_WRITE, B_JSON, OA_FOO_BAR, OA_FOO, true, false},
    {"get", "read", "get", "Read the specified Foo through its bar subresource.", 0, B_NONE, NULL,
     OA_FOO, false, false},
};

#define OA_OPS(a) a, sizeof(a) / sizeof(a[0])
static const oa_path oa_paths[] = {
    {"", "Foo", FOO_GROUP, FOO_VERSION, FOO_KIND, OA_OPS(ops_collection)},
    {"/{name}", "Foo", FOO_GROUP, FOO_VERSION, FOO_KIND, OA_OPS(ops_item)},
    {"/{name}/status", "FooStatus", FOO_GROUP, FOO_VERSION, FOO_KIND, OA_OPS(ops_status)},
    {"/{name}/scale", "FooScale", "autoscaling", "v1", "Scale", OA_OPS(ops_scale)},
    {"/{name}/bar", "FooBar", FOO_GROUP, FOO_VERSION, FOO_BAR_KIND, OA_OPS(ops_bar)},
};

/* Patch types offered (D4: no application/strategic-merge-patch+json). */
static const char *const oa_patch_types[] = {
    "application/json-patch+json",
    "application/merge-patch+json",
    "application/apply-patch+yaml",
};

/* ---- names ------------------------------------------------------------------------------- */

/* "demo.example.com" + "v1beta1" -> "DemoExampleComV1beta1", as kube-openapi names operations. */
static char *oa_gv_camel(void)
{
    const char *gv = FOO_GROUP "." FOO_VERSION;
    char *out = xmalloc(strlen(gv) + 1);
    size_t n = 0;
    bool upper = true;
    for (const char *p = gv; *p; p++) {
        if (*p == '.' || *p == '-') {
            upper = true;
            continue;
        }
        out[n++] = upper ? (char)toupper((unsigned char)*p) : *p;
        upper = false;
    }
    out[n] = '\0';
    return out;
}

/* The tag of every operation: "demoExampleCom_v1beta1". */
static char *oa_tag(void)
{
    char *camel = oa_gv_camel();
    size_t group_len = strlen(camel) - strlen(FOO_VERSION);
    char *tag = xasprintf("%c%.*s_%s", tolower((unsigned char)camel[0]), (int)group_len - 1,
                          camel + 1, FOO_VERSION);
    free(camel);
    return tag;
}

/* ---- parameters -------------------------------------------------------------------------- */

static cJSON *oa_param_new(oa_version v, const char *name, const char *in, const char *type,
                           const char *desc)
{
    cJSON *p = cJSON_CreateObject();
    cJSON_AddStringToObject(p, "name", name);
    cJSON_AddStringToObject(p, "in", in);
    cJSON_AddStringToObject(p, "description", desc);
    if (!strcmp(in, "path"))
        cJSON_AddTrueToObject(p, "required");
    cJSON *schema = p;
    if (v == OA_V3)
        schema = cJSON_AddObjectToObject(p, "schema");
    cJSON_AddStringToObject(schema, "type", type);
    cJSON_AddTrueToObject(schema, "uniqueItems");
    return p;
}

static void oa_add_query_params(cJSON *params, oa_version v, unsigned groups)
{
    for (size_t i = 0; i < sizeof oa_params / sizeof oa_params[0]; i++) {
        const oa_param *q = &oa_params[i];
        if (q->group & groups)
            cJSON_AddItemToArray(params, oa_param_new(v, q->name, "query", q->type, q->desc));
    }
}

static cJSON *oa_path_params(oa_version v, bool named)
{
    cJSON *params = cJSON_CreateArray();
    if (named)
        cJSON_AddItemToArray(params, oa_param_new(v, "name", "path", "string", "Name of the Foo."));
    cJSON_AddItemToArray(params, oa_param_new(v, "pretty", "query", "string",
                                              "Accepted for compatibility; output is compact."));
    return params;
}

/* ---- request bodies ---------------------------------------------------------------------- */

static const char *oa_body_schema(const oa_op *op)
{
    switch (op->body) {
    case B_JSON:
        return op->schema;
    case B_PATCH:
        return OA_PATCH;
    case B_DELETE:
        return OA_DELETE_OPTIONS;
    case B_NONE:
        break;
    }
    return NULL;
}

static void oa_add_body_v3(cJSON *opj, const oa_op *op)
{
    const char *schema = oa_body_schema(op);
    if (!schema)
        return;
    cJSON *body = cJSON_AddObjectToObject(opj, "requestBody");
    cJSON *content = cJSON_AddObjectToObject(body, "content");
    if (op->body == B_PATCH) {
        for (size_t i = 0; i < sizeof oa_patch_types / sizeof oa_patch_types[0]; i++) {
            cJSON *media = cJSON_AddObjectToObject(content, oa_patch_types[i]);
            cJSON_AddItemToObject(media, "schema", oa_schema_ref(OA_V3, schema, NULL));
        }
    } else {
        cJSON *media = cJSON_AddObjectToObject(content, "application/json");
        cJSON_AddItemToObject(media, "schema", oa_schema_ref(OA_V3, schema, NULL));
    }
    if (op->body != B_DELETE)
        cJSON_AddTrueToObject(body, "required");
}

/* v2 has no requestBody: the body is a parameter "in: body", its media types are `consumes`. */
static void oa_add_body_v2(cJSON *opj, cJSON *params, const oa_op *op)
{
    const char *schema = oa_body_schema(op);
    if (!schema)
        return;
    cJSON *p = cJSON_CreateObject();
    cJSON_AddStringToObject(p, "name", "body");
    cJSON_AddStringToObject(p, "in", "body");
    if (op->body != B_DELETE)
        cJSON_AddTrueToObject(p, "required");
    cJSON_AddItemToObject(p, "schema", oa_schema_ref(OA_V2, schema, NULL));
    cJSON_AddItemToArray(params, p);
    if (op->body == B_PATCH) {
        cJSON_AddItemToObject(
            opj, "consumes",
            cJSON_CreateStringArray(oa_patch_types,
                                    sizeof oa_patch_types / sizeof oa_patch_types[0]));
    } else {
        static const char *const json[] = {"application/json"};
        cJSON_AddItemToObject(opj, "consumes", cJSON_CreateStringArray(json, 1));
    }
}

/* ---- responses --------------------------------------------------------------------------- */

static cJSON *oa_response(oa_version v, const char *desc, const char *schema, bool watchable)
{
    cJSON *r = cJSON_CreateObject();
    cJSON_AddStringToObject(r, "description", desc);
    if (!schema)
        return r;
    if (v == OA_V2) {
        cJSON_AddItemToObject(r, "schema", oa_schema_ref(OA_V2, schema, NULL));
        return r;
    }
    cJSON *content = cJSON_AddObjectToObject(r, "content");
    cJSON *json = cJSON_AddObjectToObject(content, "application/json");
    cJSON_AddItemToObject(json, "schema", oa_schema_ref(OA_V3, schema, NULL));
    if (watchable) {
        cJSON *stream = cJSON_AddObjectToObject(content, "application/json;stream=watch");
        cJSON_AddItemToObject(stream, "schema", oa_schema_ref(OA_V3, schema, NULL));
    }
    return r;
}

static cJSON *oa_responses(oa_version v, const oa_op *op)
{
    bool watchable = (op->query & Q_WATCH) != 0;
    cJSON *rs = cJSON_CreateObject();
    cJSON_AddItemToObject(rs, "200", oa_response(v, "OK", op->result, watchable));
    if (op->created)
        cJSON_AddItemToObject(rs, "201", oa_response(v, "Created", op->result, false));
    if (op->accepted)
        cJSON_AddItemToObject(rs, "202", oa_response(v, "Accepted", op->result, false));
    cJSON_AddItemToObject(rs, "401", oa_response(v, "Unauthorized", NULL, false));
    return rs;
}

/* ---- operations and paths ---------------------------------------------------------------- */

static cJSON *oa_gvk_object(const oa_path *path)
{
    cJSON *gvk = cJSON_CreateObject();
    cJSON_AddStringToObject(gvk, "group", path->group);
    cJSON_AddStringToObject(gvk, "kind", path->kind);
    cJSON_AddStringToObject(gvk, "version", path->version);
    return gvk;
}

/* kube-openapi's naming: verb + GroupVersion + Kind (+ subresource), e.g.
 * patchDemoExampleComV1beta1FooStatus; deletecollection becomes delete...CollectionFoo. */
static char *oa_operation_id(const oa_path *path, const oa_op *op, const char *gv)
{
    if (!strcmp(op->verb, "deletecollection"))
        return xasprintf("delete%sCollection%s", gv, path->what);
    return xasprintf("%s%s%s", op->verb, gv, path->what);
}

/* v2 only: media types produced and the scheme (v3 puts media types in content maps). */
static void oa_add_media_v2(cJSON *o, const oa_op *op)
{
    static const char *const plain[] = {"application/json"};
    static const char *const watch[] = {"application/json", "application/json;stream=watch"};
    static const char *const https[] = {"https"};
    bool w = (op->query & Q_WATCH) != 0;
    cJSON_AddItemToObject(o, "produces", cJSON_CreateStringArray(w ? watch : plain, w ? 2 : 1));
    cJSON_AddItemToObject(o, "schemes", cJSON_CreateStringArray(https, 1));
}

static cJSON *oa_operation(oa_version v, const oa_path *path, const oa_op *op, const char *gv,
                           const char *tag)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "description", op->desc);
    char *id = oa_operation_id(path, op, gv);
    cJSON_AddStringToObject(o, "operationId", id);
    free(id);
    cJSON_AddItemToArray(cJSON_AddArrayToObject(o, "tags"), cJSON_CreateString(tag));
    cJSON *params = cJSON_AddArrayToObject(o, "parameters");
    oa_add_query_params(params, v, op->query);
    if (v == OA_V3) {
        oa_add_body_v3(o, op);
    } else {
        oa_add_body_v2(o, params, op);
        oa_add_media_v2(o, op);
    }
    if (cJSON_GetArraySize(params) == 0)
        cJSON_DeleteItemFromObjectCaseSensitive(o, "parameters");
    cJSON_AddItemToObject(o, "responses", oa_responses(v, op));
    cJSON_AddStringToObject(o, "x-kubernetes-action", op->action);
    cJSON_AddItemToObject(o, "x-kubernetes-group-version-kind", oa_gvk_object(path));
    return o;
}

static cJSON *oa_build_paths(oa_version v)
{
    char *gv = oa_gv_camel();
    char *tag = oa_tag();
    cJSON *paths = cJSON_CreateObject();
    for (size_t i = 0; i < sizeof oa_paths / sizeof oa_paths[0]; i++) {
        const oa_path *p = &oa_paths[i];
        char *key = xasprintf("%s%s", OA_BASE, p->suffix);
        cJSON *item = cJSON_AddObjectToObject(paths, key);
        free(key);
        for (size_t j = 0; j < p->n_ops; j++)
            cJSON_AddItemToObject(item, p->ops[j].method, oa_operation(v, p, &p->ops[j], gv, tag));
        cJSON_AddItemToObject(item, "parameters", oa_path_params(v, p->suffix[0] != '\0'));
    }
    free(tag);
    free(gv);
    return paths;
}

static cJSON *oa_info(void)
{
    cJSON *info = cJSON_CreateObject();
    cJSON_AddStringToObject(info, "title", "foo-apiserver " FOO_API_VERSION);
    cJSON_AddStringToObject(info, "version", FOO_VERSION);
    return info;
}

static cJSON *oa_build_v3(void)
{
    cJSON *doc = cJSON_CreateObject();
    cJSON_AddStringToObject(doc, "openapi", "3.0.0");
    cJSON_AddItemToObject(doc, "info", oa_info());
    cJSON_AddItemToObject(doc, "paths", oa_build_paths(OA_V3));
    cJSON *components = cJSON_AddObjectToObject(doc, "components");
    oa_add_schemas(cJSON_AddObjectToObject(components, "schemas"), OA_V3);
    return doc;
}

static cJSON *oa_build_v2(void)
{
    cJSON *doc = cJSON_CreateObject();
    cJSON_AddStringToObject(doc, "swagger", "2.0");
    cJSON_AddItemToObject(doc, "info", oa_info());
    cJSON_AddItemToObject(doc, "paths", oa_build_paths(OA_V2));
    oa_add_schemas(cJSON_AddObjectToObject(doc, "definitions"), OA_V2);
    return doc;
}

/* ---- the documents, built once ----------------------------------------------------------- */

static pthread_once_t oa_v3_once = PTHREAD_ONCE_INIT;
static pthread_once_t oa_v2_once = PTHREAD_ONCE_INIT;
static char *oa_v3_json;
static size_t oa_v3_len;
static char *oa_v2_json;
static size_t oa_v2_len;
static unsigned char *oa_v2_pb;
static size_t oa_v2_pb_len;

static void oa_init_v3(void)
{
    cJSON *doc = oa_build_v3();
    oa_v3_json = json_print(doc);
    oa_v3_len = strlen(oa_v3_json);
    cJSON_Delete(doc);
}

static void oa_init_v2(void)
{
    cJSON *doc = oa_build_v2();
    oa_v2_json = json_print(doc);
    oa_v2_len = strlen(oa_v2_json);
    oa_v2_pb = oa_pb_encode_document(doc, &oa_v2_pb_len);
    cJSON_Delete(doc);
}

const char *foo_openapi_v3(size_t *len)
{
    /* pthread_once fails only on invalid arguments; ours are static, so failure is a bug. */
    if (pthread_once(&oa_v3_once, oa_init_v3) != 0)
        abort();
    if (len)
        *len = oa_v3_len;
    return oa_v3_json;
}

const char *foo_openapi_v2_json(size_t *len)
{
    if (pthread_once(&oa_v2_once, oa_init_v2) != 0)
        abort();
    if (len)
        *len = oa_v2_len;
    return oa_v2_json;
}

const unsigned char *foo_openapi_v2_protobuf(size_t *len)
{
    if (pthread_once(&oa_v2_once, oa_init_v2) != 0)
        abort();
    if (len)
        *len = oa_v2_pb_len;
    return oa_v2_pb;
}

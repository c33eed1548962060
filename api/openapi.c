/*
 * openapi.c - the paths and operations of the OpenAPI documents (docs/api.md §3) and the assembly
 * of the v3 document of one group-version and of the v2 document of every kind (api/openapi.h).
 *
 * Both dialects come from the same tables of operations, so they cannot drift apart. A kind's
 * paths follow kube's: the collection, the item, /status, /scale and custom subresources, under
 * /namespaces/{namespace}/ for a namespaced kind, which also gets the all-namespaces list at
 * /RESOURCE, then the deprecated watch paths kube still lists (.../watch/[namespaces/
 * {namespace}/]RESOURCE[/{name}], docs/api.md §6.2); operations are named as kube-openapi names
 * them (listAppsV1NamespacedDeployment, patchDemoExampleComV1beta1FooStatus,
 * listCoreV1EventForAllNamespaces, watchAppsV1NamespacedDeploymentList).
 */
#include "api/openapi.h"
#include "api/openapi_internal.h"
#include "common/alloc.h"
#include "common/json.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

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

/* Which schema an operation's body or result is, resolved per path (oa_role_schema). */
typedef enum oa_role {
    R_NONE,
    R_OBJECT, /* the object the path serves: the kind, or Scale on /scale */
    R_LIST,   /* the kind's list */
    R_STATUS, /* meta/v1 Status */
    R_BODY,   /* a subresource's request body: the kind, Scale, or a custom body kind */
    R_EVENT,  /* meta/v1 WatchEvent: what a deprecated watch path streams */
} oa_role;

typedef struct oa_op {
    const char *verb;    /* the discovery verb that brings this operation */
    const char *method;  /* lower-case HTTP method: the key of the path item */
    const char *id_verb; /* first word of operationId */
    const char *action;  /* x-kubernetes-action */
    /* On a resource: one %s, the kind ("Foo", or "a Foo" with article). On a subresource: two,
       the subresource and the kind. */
    const char *desc;
    bool article;
    unsigned query;    /* Q_* groups */
    oa_body body;      /* kind of request body */
    oa_role body_role; /* schema of a B_JSON body */
    oa_role result;    /* schema of the 200 response */
    bool created;      /* may answer 201 */
    bool accepted;     /* may answer 202 */
} oa_op;

static const oa_op ops_collection[] = {
    {"list", "get", "list", "list", "List or watch objects of kind %s.", false, Q_LIST | Q_WATCH,
     B_NONE, R_NONE, R_LIST, false, false},
    {"create", "post", "create", "post", "Create %s.", true, Q_DRY_RUN | Q_WRITE, B_JSON, R_OBJECT,
     R_OBJECT, true, true},
    {"deletecollection", "delete", "deletecollection", "deletecollection",
     "Delete a collection of %s.", false, Q_DRY_RUN | Q_DELETE | Q_LIST, B_DELETE, R_NONE, R_STATUS,
     false, false},
};

static const oa_op ops_item[] = {
    {"get", "get", "read", "get", "Read the specified %s.", false, 0, B_NONE, R_NONE, R_OBJECT,
     false, false},
    {"update", "put", "replace", "put", "Replace the specified %s.", false, Q_DRY_RUN | Q_WRITE,
     B_JSON, R_OBJECT, R_OBJECT, true, false},
    {"patch", "patch", "patch", "patch", "Partially update the specified %s.", false,
     Q_DRY_RUN | Q_WRITE | Q_FORCE, B_PATCH, R_NONE, R_OBJECT, true, false},
    {"delete", "delete", "delete", "delete", "Delete %s.", true, Q_DRY_RUN | Q_DELETE, B_DELETE,
     R_NONE, R_STATUS, false, true},
};

/* Every subresource: status and scale have get, update and patch; a custom one its own verbs. */
static const oa_op ops_sub[] = {
    {"get", "get", "read", "get", "Read %s of the specified %s.", false, 0, B_NONE, R_NONE,
     R_OBJECT, false, false},
    {"update", "put", "replace", "put", "Replace %s of the specified %s.", false,
     Q_DRY_RUN | Q_WRITE, B_JSON, R_BODY, R_OBJECT, true, false},
    {"patch", "patch", "patch", "patch", "Partially update %s of the specified %s.", false,
     Q_DRY_RUN | Q_WRITE | Q_FORCE, B_PATCH, R_NONE, R_OBJECT, true, false},
    {"create", "post", "create", "post", "Create %s of the specified %s.", false,
     Q_DRY_RUN | Q_WRITE, B_JSON, R_BODY, R_OBJECT, true, false},
    {"delete", "delete", "delete", "delete", "Delete %s of the specified %s.", false,
     Q_DRY_RUN | Q_DELETE, B_DELETE, R_NONE, R_STATUS, false, true},
};

/* The deprecated watch paths: of one object (watch), of a collection (watchlist). kube lists
   the list and watch parameters on them and the WatchEvent as their result. */
static const oa_op ops_watch_item[] = {
    {"watch", "get", "watch", "watch",
     "Watch changes to an object of kind %s. Deprecated: use the watch parameter of the list "
     "operation, with a fieldSelector on metadata.name.",
     false, Q_LIST | Q_WATCH, B_NONE, R_NONE, R_EVENT, false, false},
};
static const oa_op ops_watch_list[] = {
    {"watch", "get", "watch", "watchlist",
     "Watch changes to the objects of kind %s. Deprecated: use the watch parameter of the list "
     "operation.",
     false, Q_LIST | Q_WATCH, B_NONE, R_NONE, R_EVENT, false, false},
};

#define N_OPS(a) (sizeof(a) / sizeof(a[0]))

static const char *const status_scale_verbs[] = {"get", "update", "patch", NULL};

/* One path of a kind, with what its operations resolve against. */
typedef struct oa_path {
    const oa_kind *kind;
    const oa_model *model;                  /* the kind's, or NULL */
    const char *what;                       /* operationId ending: "NamespacedDeploymentStatus" */
    const char *group, *version, *gvk_kind; /* x-kubernetes-group-version-kind of its operations */
    const char *sub;                        /* subresource, or NULL */
    const char *object, *list, *body;       /* schema names of R_OBJECT, R_LIST, R_BODY */
    const char *gv_camel, *tag;             /* of the kind's group-version */
} oa_path;

static const char *oa_role_schema(const oa_path *path, oa_role role)
{
    switch (role) {
    case R_OBJECT:
        return path->object;
    case R_LIST:
        return path->list;
    case R_STATUS:
        return OA_STATUS;
    case R_BODY:
        return path->body;
    case R_EVENT:
        return OA_WATCH_EVENT;
    case R_NONE:
        break;
    }
    return NULL;
}

/* Patch types offered (D4: no application/strategic-merge-patch+json). */
static const char *const oa_patch_types[] = {
    "application/json-patch+json",
    "application/merge-patch+json",
    "application/apply-patch+yaml",
};

/* ---- names ------------------------------------------------------------------------------- */

/* kube-openapi's name of a group-version in operationIds: "demo.example.com" + "v1beta1" ->
   "DemoExampleComV1beta1"; Kubernetes' groups lose ".k8s.io" and the core group is "Core"
   ("CoordinationV1", "CoreV1"). */
static char *oa_gv_camel(const char *group, const char *version)
{
    size_t glen = strlen(group), slen = strlen(OA_K8S_GROUP_SUFFIX);
    if (glen > slen && strcmp(group + glen - slen, OA_K8S_GROUP_SUFFIX) == 0)
        glen -= slen;
    char *gv =
        *group ? xasprintf("%.*s.%s", (int)glen, group, version) : xasprintf("core.%s", version);
    size_t n = 0;
    bool upper = true;
    for (const char *p = gv; *p; p++) {
        if (*p == '.' || *p == '-') {
            upper = true;
            continue;
        }
        gv[n++] = upper ? (char)toupper((unsigned char)*p) : *p;
        upper = false;
    }
    gv[n] = '\0';
    return gv;
}

/* The tag of every operation of a group-version: "demoExampleCom_v1beta1", "core_v1". */
static char *oa_tag(const char *gv_camel, const char *version)
{
    size_t group_len = strlen(gv_camel) - strlen(version);
    return xasprintf("%c%.*s_%s", tolower((unsigned char)gv_camel[0]), (int)group_len - 1,
                     gv_camel + 1, version);
}

/* "/apis/G/V" or "/api/V" for the core group. */
static char *oa_prefix(const char *group, const char *version)
{
    return *group ? xasprintf("/apis/%s/%s", group, version) : xasprintf("/api/%s", version);
}

static bool oa_has_verb(const char *const *verbs, const char *verb)
{
    for (size_t i = 0; verbs && verbs[i]; i++)
        if (!strcmp(verbs[i], verb))
            return true;
    return false;
}

/* "a Foo", "an Event". */
static char *oa_noun(const char *kind, bool article)
{
    if (!article)
        return xstrdup(kind);
    bool vowel = kind[0] && strchr("AEIOU", kind[0]);
    return xasprintf("%s %s", vowel ? "an" : "a", kind);
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

/* ---- request bodies ---------------------------------------------------------------------- */

static const char *oa_body_schema(const oa_path *path, const oa_op *op)
{
    switch (op->body) {
    case B_JSON:
        return oa_role_schema(path, op->body_role);
    case B_PATCH:
        return OA_PATCH;
    case B_DELETE:
        return OA_DELETE_OPTIONS;
    case B_NONE:
        break;
    }
    return NULL;
}

static void oa_add_body_v3(cJSON *opj, const oa_path *path, const oa_op *op)
{
    const char *schema = oa_body_schema(path, op);
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
static void oa_add_body_v2(cJSON *opj, cJSON *params, const oa_path *path, const oa_op *op)
{
    const char *schema = oa_body_schema(path, op);
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

static cJSON *oa_responses(oa_version v, const oa_path *path, const oa_op *op, unsigned query)
{
    bool watchable = (query & Q_WATCH) != 0;
    const char *result = oa_role_schema(path, op->result);
    cJSON *rs = cJSON_CreateObject();
    cJSON_AddItemToObject(rs, "200", oa_response(v, "OK", result, watchable));
    if (op->created)
        cJSON_AddItemToObject(rs, "201", oa_response(v, "Created", result, false));
    if (op->accepted)
        cJSON_AddItemToObject(rs, "202", oa_response(v, "Accepted", result, false));
    cJSON_AddItemToObject(rs, "401", oa_response(v, "Unauthorized", NULL, false));
    return rs;
}

/* ---- operations and paths ---------------------------------------------------------------- */

static cJSON *oa_gvk_object(const oa_path *path)
{
    cJSON *gvk = cJSON_CreateObject();
    cJSON_AddStringToObject(gvk, "group", path->group);
    cJSON_AddStringToObject(gvk, "kind", path->gvk_kind);
    cJSON_AddStringToObject(gvk, "version", path->version);
    return gvk;
}

/* kube-openapi's naming: verb + GroupVersion + what, e.g. patchDemoExampleComV1beta1FooStatus;
 * deletecollection becomes delete...Collection..., e.g. deleteAppsV1CollectionNamespacedDeployment.
 */
static char *oa_operation_id(const oa_path *path, const oa_op *op)
{
    if (!strcmp(op->id_verb, "deletecollection"))
        return xasprintf("delete%sCollection%s", path->gv_camel, path->what);
    return xasprintf("%s%s%s", op->id_verb, path->gv_camel, path->what);
}

/* The operation's description: the model's words for a custom subresource, else the table's. */
static char *oa_description(const oa_path *path, const oa_op *op)
{
    if (!path->sub) {
        char *noun = oa_noun(path->kind->kind, op->article);
        char *d = xasprintf(op->desc, noun);
        free(noun);
        return d;
    }
    for (const struct oa_op_doc *doc = path->model ? path->model->op_docs : NULL;
         doc && doc->subresource; doc++)
        if (!strcmp(doc->subresource, path->sub) && !strcmp(doc->verb, op->verb))
            return xstrdup(doc->description);
    return xasprintf(op->desc, path->sub, path->kind->kind);
}

/* v2 only: media types produced and the scheme (v3 puts media types in content maps). */
static void oa_add_media_v2(cJSON *o, unsigned query)
{
    static const char *const plain[] = {"application/json"};
    static const char *const watch[] = {"application/json", "application/json;stream=watch"};
    static const char *const https[] = {"https"};
    bool w = (query & Q_WATCH) != 0;
    cJSON_AddItemToObject(o, "produces", cJSON_CreateStringArray(w ? watch : plain, w ? 2 : 1));
    cJSON_AddItemToObject(o, "schemes", cJSON_CreateStringArray(https, 1));
}

static cJSON *oa_operation(oa_version v, const oa_path *path, const oa_op *op)
{
    /* The watch parameters only where the kind can be watched. */
    unsigned query = op->query;
    if (!oa_has_verb(path->kind->verbs, "watch"))
        query &= ~(unsigned)Q_WATCH;
    cJSON *o = cJSON_CreateObject();
    char *desc = oa_description(path, op);
    cJSON_AddStringToObject(o, "description", desc);
    free(desc);
    char *id = oa_operation_id(path, op);
    cJSON_AddStringToObject(o, "operationId", id);
    free(id);
    cJSON_AddItemToArray(cJSON_AddArrayToObject(o, "tags"), cJSON_CreateString(path->tag));
    cJSON *params = cJSON_AddArrayToObject(o, "parameters");
    oa_add_query_params(params, v, query);
    if (v == OA_V3) {
        oa_add_body_v3(o, path, op);
    } else {
        oa_add_body_v2(o, params, path, op);
        oa_add_media_v2(o, query);
    }
    if (cJSON_GetArraySize(params) == 0)
        cJSON_DeleteItemFromObjectCaseSensitive(o, "parameters");
    cJSON_AddItemToObject(o, "responses", oa_responses(v, path, op, query));
    cJSON_AddStringToObject(o, "x-kubernetes-action", op->action);
    cJSON_AddItemToObject(o, "x-kubernetes-group-version-kind", oa_gvk_object(path));
    return o;
}

/* Path-level parameters: the object's name, its namespace, and pretty. */
static cJSON *oa_path_params(oa_version v, const oa_path *path, bool named, bool namespaced)
{
    cJSON *params = cJSON_CreateArray();
    if (named) {
        char *d = xasprintf("Name of the %s.", path->kind->kind);
        cJSON_AddItemToArray(params, oa_param_new(v, "name", "path", "string", d));
        free(d);
    }
    if (namespaced)
        cJSON_AddItemToArray(
            params, oa_param_new(v, "namespace", "path", "string", "Namespace of the objects."));
    cJSON_AddItemToArray(params, oa_param_new(v, "pretty", "query", "string",
                                              "Accepted for compatibility; output is compact."));
    return params;
}

/* Adds the path `key` with the operations of `ops` whose verb is in `verbs` (none: no path). */
static void oa_add_path(cJSON *paths, oa_version v, const char *key, const oa_path *path,
                        const oa_op *ops, size_t n_ops, const char *const *verbs, bool named,
                        bool namespaced)
{
    cJSON *item = cJSON_CreateObject();
    for (size_t i = 0; i < n_ops; i++)
        if (oa_has_verb(verbs, ops[i].verb))
            cJSON_AddItemToObject(item, ops[i].method, oa_operation(v, path, &ops[i]));
    if (cJSON_GetArraySize(item) == 0) {
        cJSON_Delete(item);
        return;
    }
    cJSON_AddItemToObject(item, "parameters", oa_path_params(v, path, named, namespaced));
    cJSON_AddItemToObject(paths, key, item);
}

/* The paths of one subresource of k under `item` (the item path). */
static void oa_add_sub_path(cJSON *paths, oa_version v, oa_path *base, const char *item,
                            const char *sub, const char *const *verbs)
{
    oa_path p = *base;
    p.sub = sub;
    /* "FooStatus", "NamespacedDeploymentScale", "FooBar": the subresource capitalised */
    char *what = xasprintf("%s%c%s", base->what, toupper((unsigned char)sub[0]), sub + 1);
    p.what = what;
    char *key = xasprintf("%s/%s", item, sub);
    oa_add_path(paths, v, key, &p, ops_sub, N_OPS(ops_sub), verbs, true, base->kind->namespaced);
    free(key);
    free(what);
}

static void oa_add_custom_paths(cJSON *paths, oa_version v, oa_path *base, const char *item)
{
    const oa_kind *k = base->kind;
    for (size_t i = 0; i < k->nsubresources; i++) {
        const oa_subresource *s = &k->subresources[i];
        oa_path p = *base;
        p.gvk_kind = s->kind;
        char *body = oa_schema_name(k->group, k->version, s->kind);
        p.body = body;
        oa_add_sub_path(paths, v, &p, item, s->name, s->verbs);
        free(body);
    }
}

static void oa_add_scale_path(cJSON *paths, oa_version v, oa_path *base, const char *item)
{
    oa_path p = *base;
    p.group = "autoscaling";
    p.version = "v1";
    p.gvk_kind = "Scale";
    p.object = p.body = OA_SCALE;
    oa_add_sub_path(paths, v, &p, item, "scale", status_scale_verbs);
}

/*
 * The deprecated watch paths of kind k, when it can be watched: PREFIX/watch/COLLECTION (what
 * "List", operationId watch...List, action watchlist) and PREFIX/watch/COLLECTION/{name}
 * (watch...), where COLLECTION is [namespaces/{namespace}/]RESOURCE; for a namespaced kind also
 * PREFIX/watch/RESOURCE across namespaces (watch...ListForAllNamespaces).
 */
static void oa_add_watch_paths(cJSON *paths, oa_version v, const oa_path *base, const char *prefix)
{
    static const char *const watch_only[] = {"watch", NULL};
    const oa_kind *k = base->kind;
    if (!oa_has_verb(k->verbs, "watch"))
        return;
    char *collection = k->namespaced
                           ? xasprintf("%s/watch/namespaces/{namespace}/%s", prefix, k->resource)
                           : xasprintf("%s/watch/%s", prefix, k->resource);
    char *item = xasprintf("%s/{name}", collection);
    char *list_what = xasprintf("%sList", base->what);
    oa_path list = *base;
    list.what = list_what;
    oa_add_path(paths, v, collection, &list, ops_watch_list, N_OPS(ops_watch_list), watch_only,
                false, k->namespaced);
    oa_add_path(paths, v, item, base, ops_watch_item, N_OPS(ops_watch_item), watch_only, true,
                k->namespaced);
    if (k->namespaced) {
        char *all_what = xasprintf("%sListForAllNamespaces", k->kind);
        char *all = xasprintf("%s/watch/%s", prefix, k->resource);
        oa_path p = *base;
        p.what = all_what;
        oa_add_path(paths, v, all, &p, ops_watch_list, N_OPS(ops_watch_list), watch_only, false,
                    false);
        free(all);
        free(all_what);
    }
    free(list_what);
    free(item);
    free(collection);
}

/* Every path of kind k (kube's order: collection, item, subresources, all-namespaces list, then
   the deprecated watch paths). */
static void oa_add_kind_paths(cJSON *paths, oa_version v, const oa_kind *k)
{
    char *camel = oa_gv_camel(k->group, k->version);
    char *tag = oa_tag(camel, k->version);
    char *prefix = oa_prefix(k->group, k->version);
    char *collection = k->namespaced
                           ? xasprintf("%s/namespaces/{namespace}/%s", prefix, k->resource)
                           : xasprintf("%s/%s", prefix, k->resource);
    char *item = xasprintf("%s/{name}", collection);
    char *what = xasprintf("%s%s", k->namespaced ? "Namespaced" : "", k->kind);
    char *object = oa_schema_name(k->group, k->version, k->kind);
    char *list = oa_schema_name(k->group, k->version, k->list_kind);
    oa_path p = {
        .kind = k,
        .model = oa_model_find(k->group, k->version, k->kind),
        .what = what,
        .group = k->group,
        .version = k->version,
        .gvk_kind = k->kind,
        .object = object,
        .list = list,
        .body = object,
        .gv_camel = camel,
        .tag = tag,
    };
    oa_add_path(paths, v, collection, &p, ops_collection, N_OPS(ops_collection), k->verbs, false,
                k->namespaced);
    oa_add_path(paths, v, item, &p, ops_item, N_OPS(ops_item), k->verbs, true, k->namespaced);
    if (k->has_status)
        oa_add_sub_path(paths, v, &p, item, "status", status_scale_verbs);
    if (k->has_scale)
        oa_add_scale_path(paths, v, &p, item);
    oa_add_custom_paths(paths, v, &p, item);
    if (k->namespaced) {
        static const char *const list_only[] = {"list", NULL};
        char *all_what = xasprintf("%sForAllNamespaces", k->kind);
        oa_path all = p;
        all.what = all_what;
        char *key = xasprintf("%s/%s", prefix, k->resource);
        oa_add_path(paths, v, key, &all, ops_collection, N_OPS(ops_collection),
                    oa_has_verb(k->verbs, "list") ? list_only : NULL, false, false);
        free(key);
        free(all_what);
    }
    oa_add_watch_paths(paths, v, &p, prefix);
    free(what);
    free(object);
    free(list);
    free(item);
    free(collection);
    free(prefix);
    free(tag);
    free(camel);
}

/* ---- documents --------------------------------------------------------------------------- */

static cJSON *oa_info(const char *title, const char *version)
{
    cJSON *info = cJSON_CreateObject();
    cJSON_AddStringToObject(info, "title", title);
    cJSON_AddStringToObject(info, "version", version);
    return info;
}

static cJSON *oa_paths(oa_version v, const oa_kind *kinds, size_t n)
{
    cJSON *paths = cJSON_CreateObject();
    for (size_t i = 0; i < n; i++)
        oa_add_kind_paths(paths, v, &kinds[i]);
    return paths;
}

char *oa_render_v3(const oa_kind *kinds, size_t n, const char *group, const char *version,
                   size_t *len)
{
    /* The kinds of this group-version, in the caller's order. */
    oa_kind *mine = xcalloc(n ? n : 1, sizeof *mine);
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (!strcmp(kinds[i].group, group) && !strcmp(kinds[i].version, version))
            mine[m++] = kinds[i];
    char *gv = *group ? xasprintf("%s/%s", group, version) : xstrdup(version);
    char *title = xasprintf("foo-apiserver %s", gv);
    free(gv);
    cJSON *doc = cJSON_CreateObject();
    cJSON_AddStringToObject(doc, "openapi", "3.0.0");
    cJSON_AddItemToObject(doc, "info", oa_info(title, version));
    free(title);
    cJSON_AddItemToObject(doc, "paths", oa_paths(OA_V3, mine, m));
    cJSON *components = cJSON_AddObjectToObject(doc, "components");
    oa_add_schemas(cJSON_AddObjectToObject(components, "schemas"), OA_V3, mine, m);
    free(mine);
    char *out = json_print(doc);
    cJSON_Delete(doc);
    if (len)
        *len = strlen(out);
    return out;
}

void oa_render_v2(const oa_kind *kinds, size_t n, oa_v2 *out)
{
    cJSON *doc = cJSON_CreateObject();
    cJSON_AddStringToObject(doc, "swagger", "2.0");
    cJSON_AddItemToObject(doc, "info", oa_info("foo-apiserver", "unversioned"));
    cJSON_AddItemToObject(doc, "paths", oa_paths(OA_V2, kinds, n));
    oa_add_schemas(cJSON_AddObjectToObject(doc, "definitions"), OA_V2, kinds, n);
    out->json = json_print(doc);
    out->json_len = strlen(out->json);
    out->pb = oa_pb_encode_document(doc, &out->pb_len);
    cJSON_Delete(doc);
}

void oa_v2_free(oa_v2 *d)
{
    if (!d)
        return;
    free(d->json);
    free(d->pb);
    memset(d, 0, sizeof *d);
}

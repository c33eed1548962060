/*
 * openapi_schemas.c - the schemas of the OpenAPI documents: Foo and its parts (the one kind whose
 * full schema we hold), loose schemas of the other kinds, and the meta/v1, autoscaling/v1 and
 * runtime types they refer to, in OpenAPI 3.0 or Swagger 2.0 form.
 *
 * Descriptions matter: `kubectl explain foos.spec.replicas` prints them. Defaults and limits come
 * from the macros of foo.h so that the documents and the defaulting code cannot disagree.
 * The schema shapes follow what kube-openapi emits for built-in types, because kubectl parses
 * them with kube-openapi: a $ref may carry only a description (v2), arrays have exactly one item
 * schema, and every type is one of string/integer/number/boolean/object/array.
 */
#include "api/foo.h"
#include "api/openapi_internal.h"
#include "common/alloc.h"
#include "common/sbuf.h"

#include <stdlib.h>
#include <string.h>

#define OA_TIME           OA_META "Time"
#define OA_FIELDS_V1      OA_META "FieldsV1"
#define OA_MANAGED_FIELDS OA_META "ManagedFieldsEntry"
#define OA_OWNER_REF      OA_META "OwnerReference"
#define OA_CONDITION      OA_META "Condition"
#define OA_STATUS_DETAILS OA_META "StatusDetails"
#define OA_STATUS_CAUSE   OA_META "StatusCause"
#define OA_PRECONDITIONS  OA_META "Preconditions"
#define OA_RAW_EXTENSION  "io.k8s.apimachinery.pkg.runtime.RawExtension"
#define OA_SCALE_SPEC     "io.k8s.api.autoscaling.v1.ScaleSpec"
#define OA_SCALE_STATUS   "io.k8s.api.autoscaling.v1.ScaleStatus"

/* Kubernetes limits (not project defaults): a DNS-1123 label is at most 63 characters. */
#define OA_DNS_LABEL_MAX     63
#define OA_DNS_LABEL_PATTERN "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"

/* ---- small builders ---------------------------------------------------------------------- */

char *oa_ref_path(oa_version v, const char *name)
{
    return xasprintf("%s%s", v == OA_V3 ? "#/components/schemas/" : "#/definitions/", name);
}

cJSON *oa_schema_ref(oa_version v, const char *name, const char *desc)
{
    char *path = oa_ref_path(v, name);
    cJSON *ref = cJSON_CreateObject();
    cJSON_AddStringToObject(ref, "$ref", path);
    free(path);
    if (!desc)
        return ref;
    if (v == OA_V2) {
        cJSON_AddStringToObject(ref, "description", desc);
        return ref;
    }
    cJSON *wrap = cJSON_CreateObject();
    cJSON_AddStringToObject(wrap, "description", desc);
    cJSON *all_of = cJSON_AddArrayToObject(wrap, "allOf");
    cJSON_AddItemToArray(all_of, ref);
    return wrap;
}

static cJSON *s_typed(const char *type, const char *desc)
{
    cJSON *s = cJSON_CreateObject();
    if (desc)
        cJSON_AddStringToObject(s, "description", desc);
    cJSON_AddStringToObject(s, "type", type);
    return s;
}

static cJSON *s_string(const char *desc)
{
    return s_typed("string", desc);
}

static cJSON *s_integer(const char *format, const char *desc)
{
    cJSON *s = s_typed("integer", desc);
    cJSON_AddStringToObject(s, "format", format);
    return s;
}

static cJSON *s_bool(const char *desc)
{
    return s_typed("boolean", desc);
}

static cJSON *s_array(const char *desc, cJSON *items)
{
    cJSON *s = s_typed("array", desc);
    cJSON_AddItemToObject(s, "items", items);
    return s;
}

static cJSON *s_string_map(const char *desc)
{
    cJSON *s = s_typed("object", desc);
    cJSON_AddItemToObject(s, "additionalProperties", s_typed("string", NULL));
    return s;
}

static cJSON *s_object(const char *desc)
{
    cJSON *s = s_typed("object", desc);
    cJSON_AddObjectToObject(s, "properties");
    return s;
}

/* Adds property `name` to an object schema made by s_object; returns the property schema. */
static cJSON *s_prop(cJSON *obj, const char *name, cJSON *schema)
{
    cJSON_AddItemToObject(cJSON_GetObjectItemCaseSensitive(obj, "properties"), name, schema);
    return schema;
}

static void s_required(cJSON *obj, const char *const *names, size_t n)
{
    cJSON *req = cJSON_AddArrayToObject(obj, "required");
    for (size_t i = 0; i < n; i++)
        cJSON_AddItemToArray(req, cJSON_CreateString(names[i]));
}

/* Appends {group, kind, version} to the schema's x-kubernetes-group-version-kind list. */
static void s_gvk(cJSON *obj, const char *group, const char *version, const char *kind)
{
    cJSON *list = cJSON_GetObjectItemCaseSensitive(obj, "x-kubernetes-group-version-kind");
    if (!list)
        list = cJSON_AddArrayToObject(obj, "x-kubernetes-group-version-kind");
    cJSON *gvk = cJSON_CreateObject();
    cJSON_AddStringToObject(gvk, "group", group);
    cJSON_AddStringToObject(gvk, "kind", kind);
    cJSON_AddStringToObject(gvk, "version", version);
    cJSON_AddItemToArray(list, gvk);
}

/* Marks an array as a list map keyed by `key` (server-side apply and strategic merge). */
static void s_list_map(cJSON *array, const char *key)
{
    cJSON_AddStringToObject(array, "x-kubernetes-list-type", "map");
    cJSON *keys = cJSON_AddArrayToObject(array, "x-kubernetes-list-map-keys");
    cJSON_AddItemToArray(keys, cJSON_CreateString(key));
    cJSON_AddStringToObject(array, "x-kubernetes-patch-merge-key", key);
    cJSON_AddStringToObject(array, "x-kubernetes-patch-strategy", "merge");
}

/* Adds apiVersion and kind, with descriptions naming this type's values. */
static void s_add_type_meta(cJSON *obj, const char *api_version, const char *kind)
{
    char *api = xasprintf("Versioned schema of this object, as GROUP/VERSION (here %s). The "
                          "server uses it to decode the object.",
                          api_version);
    char *k = xasprintf("Kind of this object, in CamelCase (here %s). Cannot be updated.", kind);
    s_prop(obj, "apiVersion", s_string(api));
    s_prop(obj, "kind", s_string(k));
    free(api);
    free(k);
}

/* Adds a named schema; a name already present keeps its first schema (two kinds may name the
   same body kind). */
static void s_put(cJSON *schemas, const char *name, cJSON *schema)
{
    if (cJSON_GetObjectItemCaseSensitive(schemas, name)) {
        cJSON_Delete(schema);
        return;
    }
    cJSON_AddItemToObject(schemas, name, schema);
}

/* ---- names ------------------------------------------------------------------------------- */

char *oa_schema_name(const char *group, const char *version, const char *kind)
{
    if (!*group)
        return xasprintf("io.k8s.api.core.%s.%s", version, kind);
    size_t len = strlen(group), slen = strlen(OA_K8S_GROUP_SUFFIX);
    bool k8s = len > slen && strcmp(group + len - slen, OA_K8S_GROUP_SUFFIX) == 0;
    if (k8s || !strchr(group, '.')) /* "apps", "coordination.k8s.io": the first label */
        return xasprintf("io.k8s.api.%.*s.%s.%s", (int)strcspn(group, "."), group, version, kind);
    sbuf out = SBUF_INIT; /* the labels of the group in reverse order */
    for (size_t end = len; end > 0;) {
        size_t start = end;
        while (start > 0 && group[start - 1] != '.')
            start--;
        sbuf_printf(&out, "%.*s.", (int)(end - start), group + start);
        end = start > 0 ? start - 1 : 0;
    }
    sbuf_printf(&out, "%s.%s", version, kind);
    return sbuf_detach(&out, NULL);
}

/* ---- the Foo API ------------------------------------------------------------------------- */

static cJSON *foo_schema(oa_version v)
{
    cJSON *s = s_object(
        "Foo asks for an apps/v1 Deployment that runs one container image with a given number of "
        "replicas. foo-controller-manager creates that Deployment, owns it, keeps it in line with "
        "spec, and reports its progress in status. Foo is cluster-scoped.");
    s_add_type_meta(s, FOO_API_VERSION, FOO_KIND);
    s_prop(s, "metadata",
           oa_schema_ref(v, OA_OBJECT_META,
                         "Standard object metadata: name, labels, annotations, finalizers, "
                         "resourceVersion. Foo is cluster-scoped, so metadata.namespace is empty. "
                         "The controller keeps the finalizer " FOO_FINALIZER
                         " so that it can delete the Deployment first."));
    s_prop(s, "spec",
           oa_schema_ref(v, OA_FOO_SPEC,
                         "Desired state: which Deployment to run, where, with which image and how "
                         "many replicas. Missing fields are defaulted by the server."));
    s_prop(s, "status",
           oa_schema_ref(v, OA_FOO_STATUS,
                         "Observed state, written by the controller through the status "
                         "subresource. Ignored on writes to the Foo itself."));
    s_gvk(s, FOO_GROUP, FOO_VERSION, FOO_KIND);
    return s;
}

static cJSON *foo_spec_name_field(const char *desc)
{
    cJSON *f = s_string(desc);
    cJSON_AddNumberToObject(f, "maxLength", OA_DNS_LABEL_MAX);
    cJSON_AddStringToObject(f, "pattern", OA_DNS_LABEL_PATTERN);
    return f;
}

static cJSON *foo_spec_replicas(void)
{
    char *d = xasprintf("Number of pods the Deployment runs, from 0 to %d. Defaults to %d. Also "
                        "exposed as the scale subresource, so `kubectl scale` and a "
                        "HorizontalPodAutoscaler can change it.",
                        FOO_MAX_REPLICAS, FOO_DEFAULT_REPLICAS);
    cJSON *f = s_integer("int32", d);
    free(d);
    cJSON_AddNumberToObject(f, "default", FOO_DEFAULT_REPLICAS);
    cJSON_AddNumberToObject(f, "minimum", 0);
    cJSON_AddNumberToObject(f, "maximum", FOO_MAX_REPLICAS);
    return f;
}

static cJSON *foo_spec_image(void)
{
    char *d =
        xasprintf("Container image of the pods' single container (named app), for example %s. "
                  "Must be non-empty, contain no whitespace and be at most %d characters long. "
                  "Defaults to \"%s\". Changing it rolls the pods.",
                  FOO_DEFAULT_IMAGE, FOO_MAX_IMAGE_LEN, FOO_DEFAULT_IMAGE);
    cJSON *f = s_string(d);
    free(d);
    cJSON_AddStringToObject(f, "default", FOO_DEFAULT_IMAGE);
    cJSON_AddNumberToObject(f, "minLength", 1);
    cJSON_AddNumberToObject(f, "maxLength", FOO_MAX_IMAGE_LEN);
    cJSON_AddStringToObject(f, "pattern", "^[^\\s]+$");
    return f;
}

static cJSON *foo_spec_schema(void)
{
    cJSON *s = s_object("FooSpec is the desired state of a Foo.");
    s_prop(s, "deploymentName",
           foo_spec_name_field(
               "Name of the apps/v1 Deployment that runs the pods of this Foo. A DNS-1123 label: "
               "lowercase letters, digits and '-', starting and ending with a letter or digit, at "
               "most 63 characters. Defaults to metadata.name. Immutable once set."));
    char *d =
        xasprintf("Namespace in which the Deployment is created. A DNS-1123 label. Defaults to "
                  "\"%s\". Immutable once set.",
                  FOO_DEFAULT_NAMESPACE);
    cJSON *ns = s_prop(s, "namespace", foo_spec_name_field(d));
    free(d);
    cJSON_AddStringToObject(ns, "default", FOO_DEFAULT_NAMESPACE);
    s_prop(s, "replicas", foo_spec_replicas());
    s_prop(s, "image", foo_spec_image());
    s_prop(s, "restartedAt",
           s_string("Time of the last restart request, in RFC 3339 form (for example "
                    "2026-01-01T00:00:00Z). A POST to the bar subresource sets it to the server's "
                    "current time; users may also set it. When it changes, the controller sets "
                    "the pod template annotation " FOO_RESTARTED_AT_ANNOTATION
                    ", which rolls the pods."));
    return s;
}

static cJSON *foo_status_schema(oa_version v)
{
    cJSON *s = s_object("FooStatus is the observed state of a Foo, written by "
                        "foo-controller-manager.");
    s_prop(s, "observedGeneration",
           s_integer("int64", "The metadata.generation the controller last acted on. While it is "
                              "lower than metadata.generation, status does not reflect spec yet."));
    s_prop(s, "replicas",
           s_integer("int32", "Number of pods of the Deployment (its status.replicas)."));
    s_prop(s, "availableReplicas",
           s_integer("int32", "Number of available pods of the Deployment (its "
                              "status.availableReplicas)."));
    s_prop(s, "selector",
           s_string("Label selector of this Foo's pods in string form (" FOO_SELECTOR_LABEL
                    "=NAME). Read by the scale subresource and HorizontalPodAutoscalers."));
    cJSON *conds = s_prop(
        s, "conditions",
        s_array("Latest observations of the Foo's state. Condition Ready is True when the "
                "Deployment has spec.replicas available pods for the observed generation; its "
                "reason is Available, Progressing, ResourceExists (a Deployment of that name "
                "exists and is not controlled by this Foo) or Error.",
                oa_schema_ref(v, OA_CONDITION, NULL)));
    s_list_map(conds, "type");
    return s;
}

static cJSON *foo_list_schema(oa_version v)
{
    cJSON *s = s_object("FooList is a list of Foo objects.");
    s_add_type_meta(s, FOO_API_VERSION, FOO_LIST_KIND);
    s_prop(s, "metadata",
           oa_schema_ref(v, OA_LIST_META,
                         "Standard list metadata: resourceVersion and the continue token."));
    s_prop(s, "items", s_array("The Foo objects.", oa_schema_ref(v, OA_FOO, NULL)));
    static const char *const req[] = {"items"};
    s_required(s, req, 1);
    s_gvk(s, FOO_GROUP, FOO_VERSION, FOO_LIST_KIND);
    return s;
}

static cJSON *foo_bar_schema(void)
{
    cJSON *s = s_object("FooBar is the body of a POST to the bar subresource of a Foo: a request "
                        "to restart the Foo's pods. The server sets spec.restartedAt to its "
                        "current time and answers with the updated Foo.");
    s_add_type_meta(s, FOO_API_VERSION, FOO_BAR_KIND);
    s_gvk(s, FOO_GROUP, FOO_VERSION, FOO_BAR_KIND);
    return s;
}

/* ---- meta/v1 ----------------------------------------------------------------------------- */

static cJSON *time_schema(void)
{
    cJSON *s = s_string("A point in time, serialized as an RFC 3339 string in UTC with second "
                        "precision, for example 2026-01-01T00:00:00Z.");
    cJSON_AddStringToObject(s, "format", "date-time");
    return s;
}

static void object_meta_names(cJSON *s)
{
    s_prop(s, "name",
           s_string("Name of the object, unique within its kind (and namespace, for namespaced "
                    "kinds). A DNS-1123 subdomain. Required on create unless generateName is "
                    "set. Cannot be updated."));
    s_prop(s, "generateName",
           s_string("Prefix from which the server generates a unique name when name is empty: "
                    "the prefix plus five random characters."));
    s_prop(s, "namespace", s_string("Namespace of the object; empty for cluster-scoped kinds."));
    s_prop(s, "uid",
           s_string("Unique identifier of this object over time, set by the server on "
                    "create. Read-only."));
    s_prop(s, "selfLink", s_string("Deprecated and never set."));
}

static void object_meta_versions(oa_version v, cJSON *s)
{
    s_prop(s, "resourceVersion",
           s_string("Opaque version of this object, changed by every write. Used for "
                    "optimistic concurrency on update and to resume watches. Read-only."));
    s_prop(s, "generation",
           s_integer("int64", "Sequence number of the desired state: starts at 1 and grows "
                              "when spec changes. Read-only."));
    s_prop(s, "creationTimestamp",
           oa_schema_ref(v, OA_TIME,
                         "Time the object was created, set by the server. "
                         "Read-only."));
    s_prop(s, "deletionTimestamp",
           oa_schema_ref(v, OA_TIME,
                         "Set by the server when deletion was requested while finalizers are "
                         "pending; the object disappears once finalizers is empty. Read-only."));
    s_prop(s, "deletionGracePeriodSeconds",
           s_integer("int64", "Seconds allowed for graceful termination before deletion. Set "
                              "together with deletionTimestamp. Read-only."));
}

static void object_meta_maps(oa_version v, cJSON *s)
{
    s_prop(s, "labels",
           s_string_map("Map of string keys and values used to organize and select objects (see "
                        "labelSelector)."));
    s_prop(s, "annotations",
           s_string_map("Map of string keys and values holding arbitrary non-identifying data "
                        "for tools and controllers."));
    cJSON *fin = s_prop(s, "finalizers",
                        s_array("Names of pending cleanups that must be removed before the "
                                "object is deleted. Each entry is a qualified name.",
                                s_string(NULL)));
    cJSON_AddStringToObject(fin, "x-kubernetes-list-type", "set");
    cJSON_AddStringToObject(fin, "x-kubernetes-patch-strategy", "merge");
    cJSON *owners =
        s_prop(s, "ownerReferences",
               s_array("Objects this object depends on. When every owner is gone, the garbage "
                       "collector deletes this object. At most one owner may be the controller.",
                       oa_schema_ref(v, OA_OWNER_REF, NULL)));
    s_list_map(owners, "uid");
    cJSON *mf = s_prop(s, "managedFields",
                       s_array("Field ownership for server-side apply. This server does not "
                               "maintain it.",
                               oa_schema_ref(v, OA_MANAGED_FIELDS, NULL)));
    cJSON_AddStringToObject(mf, "x-kubernetes-list-type", "atomic");
}

static cJSON *object_meta_schema(oa_version v)
{
    cJSON *s = s_object("ObjectMeta is the metadata that every persisted object has.");
    object_meta_names(s);
    object_meta_versions(v, s);
    object_meta_maps(v, s);
    return s;
}

static cJSON *list_meta_schema(void)
{
    cJSON *s = s_object("ListMeta is the metadata of a list response.");
    s_prop(s, "resourceVersion",
           s_string("Version of the collection at the time of the list; start a watch from it "
                    "to see every later change exactly once."));
    s_prop(s, "continue",
           s_string("Set when the list was cut by limit: pass it as the continue parameter to "
                    "get the next page. Empty on the last page."));
    s_prop(s, "remainingItemCount",
           s_integer("int64", "Number of items after this page, when known."));
    s_prop(s, "selfLink", s_string("Deprecated and never set."));
    return s;
}

static cJSON *owner_reference_schema(void)
{
    cJSON *s = s_object("OwnerReference identifies an owner of an object.");
    s_prop(s, "apiVersion", s_string("API version of the owner."));
    s_prop(s, "kind", s_string("Kind of the owner."));
    s_prop(s, "name", s_string("Name of the owner."));
    s_prop(s, "uid", s_string("UID of the owner."));
    s_prop(s, "controller", s_bool("True when the owner is the managing controller."));
    s_prop(s, "blockOwnerDeletion",
           s_bool("When true, foreground deletion of the owner waits for this object."));
    static const char *const req[] = {"apiVersion", "kind", "name", "uid"};
    s_required(s, req, 4);
    cJSON_AddStringToObject(s, "x-kubernetes-map-type", "atomic");
    return s;
}

static cJSON *managed_fields_schema(oa_version v)
{
    cJSON *s = s_object("ManagedFieldsEntry records which fields a manager owns (server-side "
                        "apply).");
    s_prop(s, "manager", s_string("Name of the manager (the fieldManager of its requests)."));
    s_prop(s, "operation", s_string("Apply or Update."));
    s_prop(s, "apiVersion", s_string("API version of the fields."));
    s_prop(s, "time", oa_schema_ref(v, OA_TIME, "Time of the last change by this manager."));
    s_prop(s, "fieldsType", s_string("Format of fieldsV1; only FieldsV1."));
    s_prop(s, "fieldsV1", oa_schema_ref(v, OA_FIELDS_V1, "The owned fields, as a field set."));
    s_prop(s, "subresource", s_string("Subresource the fields were written through, if any."));
    return s;
}

static cJSON *condition_schema(oa_version v)
{
    cJSON *s = s_object("Condition is one observation of an aspect of an object's state.");
    cJSON *type = s_prop(s, "type", s_string("Type of the condition in CamelCase, e.g. Ready."));
    cJSON_AddNumberToObject(type, "maxLength", 316);
    cJSON *st = s_prop(s, "status", s_string("Status of the condition: True, False or Unknown."));
    cJSON *values = cJSON_AddArrayToObject(st, "enum");
    cJSON_AddItemToArray(values, cJSON_CreateString("True"));
    cJSON_AddItemToArray(values, cJSON_CreateString("False"));
    cJSON_AddItemToArray(values, cJSON_CreateString("Unknown"));
    s_prop(s, "observedGeneration",
           s_integer("int64", "The metadata.generation the condition was computed for."));
    s_prop(s, "lastTransitionTime",
           oa_schema_ref(v, OA_TIME, "Last time the status changed from one value to another."));
    cJSON *reason =
        s_prop(s, "reason", s_string("Machine-readable CamelCase reason for the last transition."));
    cJSON_AddNumberToObject(reason, "maxLength", 1024);
    cJSON_AddNumberToObject(reason, "minLength", 1);
    cJSON *msg = s_prop(s, "message", s_string("Human-readable details; may be empty."));
    cJSON_AddNumberToObject(msg, "maxLength", 32768);
    static const char *const req[] = {"type", "status", "lastTransitionTime", "reason", "message"};
    s_required(s, req, 5);
    return s;
}

static cJSON *status_schema(oa_version v)
{
    cJSON *s = s_object("Status is the result of an operation that returns no object, and the "
                        "body of every error response.");
    s_add_type_meta(s, "v1", "Status");
    s_prop(s, "metadata", oa_schema_ref(v, OA_LIST_META, "Standard list metadata."));
    s_prop(s, "status", s_string("Success or Failure."));
    s_prop(s, "message", s_string("Human-readable description of the result."));
    s_prop(s, "reason",
           s_string("Machine-readable CamelCase reason, e.g. NotFound, AlreadyExists, Conflict, "
                    "Invalid. Empty when no reason is known."));
    s_prop(s, "details",
           oa_schema_ref(v, OA_STATUS_DETAILS, "Extra data that depends on the reason."));
    s_prop(s, "code", s_integer("int32", "The HTTP status code of the response."));
    s_gvk(s, "", "v1", "Status");
    return s;
}

static cJSON *status_details_schema(oa_version v)
{
    cJSON *s = s_object("StatusDetails names the object a Status is about, and its causes.");
    s_prop(s, "name", s_string("Name of the object, when there is one."));
    s_prop(s, "group", s_string("API group of the object."));
    s_prop(s, "kind", s_string("Kind (or resource) of the object."));
    s_prop(s, "uid", s_string("UID of the object, when there is one."));
    cJSON *causes = s_prop(s, "causes",
                           s_array("One entry per problem, e.g. per invalid field.",
                                   oa_schema_ref(v, OA_STATUS_CAUSE, NULL)));
    cJSON_AddStringToObject(causes, "x-kubernetes-list-type", "atomic");
    s_prop(s, "retryAfterSeconds",
           s_integer("int32", "Seconds the client should wait before retrying."));
    return s;
}

static cJSON *status_cause_schema(void)
{
    cJSON *s = s_object("StatusCause is one problem behind a failure.");
    s_prop(s, "reason", s_string("Machine-readable reason, e.g. FieldValueInvalid."));
    s_prop(s, "message", s_string("Human-readable description of the problem."));
    s_prop(s, "field", s_string("Path of the offending field, e.g. spec.replicas."));
    return s;
}

/* The group-versions a document covers, which DeleteOptions and WatchEvent are part of. */
typedef struct oa_gvs {
    const oa_kind *kinds;
    size_t n;
} oa_gvs;

/* Appends {group, kind, version} for the core v1 and then every other group-version of gvs, each
   once, in the order of the kinds. */
static void s_gvk_every_gv(cJSON *s, const oa_gvs *gvs, const char *kind)
{
    s_gvk(s, "", "v1", kind);
    for (size_t i = 0; i < gvs->n; i++) {
        const oa_kind *k = &gvs->kinds[i];
        bool seen = !*k->group && strcmp(k->version, "v1") == 0;
        for (size_t j = 0; j < i && !seen; j++)
            seen = strcmp(gvs->kinds[j].group, k->group) == 0 &&
                   strcmp(gvs->kinds[j].version, k->version) == 0;
        if (!seen)
            s_gvk(s, k->group, k->version, kind);
    }
}

static cJSON *delete_options_schema(oa_version v, const oa_gvs *gvs)
{
    cJSON *s = s_object("DeleteOptions may be sent as the body of a DELETE request.");
    s_add_type_meta(s, "v1", "DeleteOptions");
    s_prop(s, "gracePeriodSeconds",
           s_integer("int64", "Seconds before the object is deleted; 0 means at once."));
    s_prop(s, "preconditions",
           oa_schema_ref(v, OA_PRECONDITIONS,
                         "Must be fulfilled before a deletion is carried out, else 409."));
    s_prop(s, "orphanDependents",
           s_bool("Deprecated: use propagationPolicy. Whether dependents are orphaned."));
    s_prop(s, "propagationPolicy",
           s_string("How dependents are garbage collected: Orphan, Background or Foreground."));
    cJSON *dry = s_prop(s, "dryRun",
                        s_array("When present (only value: All), the deletion is checked but "
                                "not persisted.",
                                s_string(NULL)));
    cJSON_AddStringToObject(dry, "x-kubernetes-list-type", "atomic");
    s_gvk_every_gv(s, gvs, "DeleteOptions");
    return s;
}

static cJSON *preconditions_schema(void)
{
    cJSON *s = s_object("Preconditions must be fulfilled before an operation is carried out.");
    s_prop(s, "uid", s_string("The object's UID must be this one."));
    s_prop(s, "resourceVersion", s_string("The object's resourceVersion must be this one."));
    return s;
}

static cJSON *watch_event_schema(oa_version v, const oa_gvs *gvs)
{
    cJSON *s = s_object("WatchEvent is one line of a watch stream.");
    s_prop(s, "type",
           s_string("ADDED, MODIFIED, DELETED, BOOKMARK or ERROR (then object is a Status)."));
    s_prop(s, "object",
           oa_schema_ref(v, OA_RAW_EXTENSION,
                         "The object: its state after the change, the final state for DELETED, "
                         "only metadata.resourceVersion for BOOKMARK."));
    static const char *const req[] = {"type", "object"};
    s_required(s, req, 2);
    s_gvk_every_gv(s, gvs, "WatchEvent");
    return s;
}

static void add_meta_schemas(cJSON *schemas, oa_version v, const oa_gvs *gvs)
{
    s_put(schemas, OA_OBJECT_META, object_meta_schema(v));
    s_put(schemas, OA_LIST_META, list_meta_schema());
    s_put(schemas, OA_TIME, time_schema());
    s_put(schemas, OA_FIELDS_V1,
          s_typed("object", "FieldsV1 is a set of fields in the JSON trie format of server-side "
                            "apply."));
    s_put(schemas, OA_MANAGED_FIELDS, managed_fields_schema(v));
    s_put(schemas, OA_OWNER_REF, owner_reference_schema());
    s_put(schemas, OA_CONDITION, condition_schema(v));
    s_put(schemas, OA_PATCH,
          s_typed("object", "Patch is the body of a PATCH request. Its format is given by the "
                            "Content-Type: JSON patch, JSON merge patch or an apply "
                            "configuration (YAML or JSON)."));
    s_put(schemas, OA_STATUS, status_schema(v));
    s_put(schemas, OA_STATUS_DETAILS, status_details_schema(v));
    s_put(schemas, OA_STATUS_CAUSE, status_cause_schema());
    s_put(schemas, OA_DELETE_OPTIONS, delete_options_schema(v, gvs));
    s_put(schemas, OA_PRECONDITIONS, preconditions_schema());
    s_put(schemas, OA_WATCH_EVENT, watch_event_schema(v, gvs));
    s_put(schemas, OA_RAW_EXTENSION,
          s_typed("object", "RawExtension holds a complete object of any kind, as JSON."));
}

/* ---- autoscaling/v1 ---------------------------------------------------------------------- */

static void add_scale_schemas(cJSON *schemas, oa_version v)
{
    cJSON *s = s_object("Scale is the scale subresource of an object: its spec.replicas, "
                        "status.replicas and status.selector.");
    s_add_type_meta(s, "autoscaling/v1", "Scale");
    s_prop(s, "metadata", oa_schema_ref(v, OA_OBJECT_META, "Metadata of the scaled object."));
    s_prop(s, "spec", oa_schema_ref(v, OA_SCALE_SPEC, "Desired scale."));
    s_prop(s, "status", oa_schema_ref(v, OA_SCALE_STATUS, "Observed scale. Read-only."));
    s_gvk(s, "autoscaling", "v1", "Scale");
    s_put(schemas, OA_SCALE, s);

    cJSON *spec = s_object("ScaleSpec is the desired scale.");
    s_prop(spec, "replicas", s_integer("int32", "Desired number of replicas (spec.replicas)."));
    s_put(schemas, OA_SCALE_SPEC, spec);

    cJSON *st = s_object("ScaleStatus is the observed scale.");
    s_prop(st, "replicas", s_integer("int32", "Observed number of replicas (status.replicas)."));
    s_prop(st, "selector", s_string("Label selector of the pods, in string form."));
    static const char *const req[] = {"replicas"};
    s_required(st, req, 1);
    s_put(schemas, OA_SCALE_STATUS, st);
}

/* ---- kinds without a model: loose schemas ------------------------------------------------ */

/* An object of group/version/kind whose fields we do not publish: apiVersion, kind, metadata,
   and x-kubernetes-preserve-unknown-fields for the rest (the server validates them). */
static cJSON *loose_schema(oa_version v, const char *group, const char *version, const char *kind)
{
    char *api_version = *group ? xasprintf("%s/%s", group, version) : xstrdup(version);
    char *d = xasprintf("%s of %s. Its fields are not described here: the server defaults and "
                        "validates the object when it is written.",
                        kind, api_version);
    cJSON *s = s_object(d);
    free(d);
    s_add_type_meta(s, api_version, kind);
    free(api_version);
    s_prop(s, "metadata", oa_schema_ref(v, OA_OBJECT_META, "Standard object metadata."));
    cJSON_AddTrueToObject(s, "x-kubernetes-preserve-unknown-fields");
    s_gvk(s, group, version, kind);
    return s;
}

static cJSON *loose_list_schema(oa_version v, const oa_kind *k, const char *item_schema)
{
    char *api_version = *k->group ? xasprintf("%s/%s", k->group, k->version) : xstrdup(k->version);
    char *d = xasprintf("%s is a list of %s objects.", k->list_kind, k->kind);
    cJSON *s = s_object(d);
    free(d);
    s_add_type_meta(s, api_version, k->list_kind);
    free(api_version);
    s_prop(s, "metadata",
           oa_schema_ref(v, OA_LIST_META,
                         "Standard list metadata: resourceVersion and the continue token."));
    d = xasprintf("The %s objects.", k->kind);
    s_prop(s, "items", s_array(d, oa_schema_ref(v, item_schema, NULL)));
    free(d);
    static const char *const req[] = {"items"};
    s_required(s, req, 1);
    s_gvk(s, k->group, k->version, k->list_kind);
    return s;
}

/* Puts the loose schema of group/version/kind under its name. */
static void put_loose(cJSON *schemas, oa_version v, const char *group, const char *version,
                      const char *kind)
{
    char *name = oa_schema_name(group, version, kind);
    s_put(schemas, name, loose_schema(v, group, version, kind));
    free(name);
}

static void add_loose_kind(cJSON *schemas, oa_version v, const oa_kind *k)
{
    char *item = oa_schema_name(k->group, k->version, k->kind);
    char *list = oa_schema_name(k->group, k->version, k->list_kind);
    s_put(schemas, item, loose_schema(v, k->group, k->version, k->kind));
    s_put(schemas, list, loose_list_schema(v, k, item));
    free(item);
    free(list);
    for (size_t i = 0; i < k->nsubresources; i++)
        put_loose(schemas, v, k->group, k->version, k->subresources[i].kind);
}

/* ---- models ------------------------------------------------------------------------------ */

static void add_foo_schemas(cJSON *schemas, oa_version v)
{
    s_put(schemas, OA_FOO, foo_schema(v));
    s_put(schemas, OA_FOO_LIST, foo_list_schema(v));
    s_put(schemas, OA_FOO_SPEC, foo_spec_schema());
    s_put(schemas, OA_FOO_STATUS, foo_status_schema(v));
    s_put(schemas, OA_FOO_BAR, foo_bar_schema());
}

static const struct oa_op_doc foo_op_docs[] = {
    {"bar", "create",
     "Request a rolling restart of the specified Foo: sets spec.restartedAt to the server's "
     "current time and returns the updated Foo."},
    {"bar", "get", "Read the specified Foo through its bar subresource."},
    {NULL, NULL, NULL},
};

static const oa_model oa_models[] = {
    {FOO_GROUP, FOO_VERSION, FOO_KIND, add_foo_schemas, foo_op_docs},
};

const oa_model *oa_model_find(const char *group, const char *version, const char *kind)
{
    for (size_t i = 0; i < sizeof oa_models / sizeof oa_models[0]; i++) {
        const oa_model *m = &oa_models[i];
        if (!strcmp(m->group, group) && !strcmp(m->version, version) && !strcmp(m->kind, kind))
            return m;
    }
    return NULL;
}

void oa_add_schemas(cJSON *schemas, oa_version v, const oa_kind *kinds, size_t n)
{
    bool scale = false;
    for (size_t i = 0; i < n; i++) {
        const oa_model *m = oa_model_find(kinds[i].group, kinds[i].version, kinds[i].kind);
        if (m)
            m->add_schemas(schemas, v);
        else
            add_loose_kind(schemas, v, &kinds[i]);
        scale = scale || kinds[i].has_scale;
    }
    oa_gvs gvs = {kinds, n};
    add_meta_schemas(schemas, v, &gvs);
    if (scale)
        add_scale_schemas(schemas, v);
}

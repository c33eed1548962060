/*
 * openapi_internal.h - private pieces of the OpenAPI documents (api/openapi*.c), not part of the
 * public face of api/ (that is api/openapi.h: oa_render_v3, oa_render_v2).
 *
 * The documents are built as cJSON trees from one description of the kinds; `oa_version` selects
 * the dialect (OpenAPI 3.0 under components.schemas, or Swagger 2.0 under definitions).
 */
#ifndef FOO_API_OPENAPI_INTERNAL_H
#define FOO_API_OPENAPI_INTERNAL_H

#include "api/openapi.h"

#include <cjson/cJSON.h>
#include <stddef.h>

typedef enum oa_version { OA_V2, OA_V3 } oa_version;

/* Schema names (the keys of components.schemas / definitions). */
#define OA_FOO            "com.example.demo.v1beta1.Foo"
#define OA_FOO_LIST       "com.example.demo.v1beta1.FooList"
#define OA_FOO_SPEC       "com.example.demo.v1beta1.FooSpec"
#define OA_FOO_STATUS     "com.example.demo.v1beta1.FooStatus"
#define OA_FOO_BAR        "com.example.demo.v1beta1.FooBar"
#define OA_META           "io.k8s.apimachinery.pkg.apis.meta.v1."
#define OA_OBJECT_META    OA_META "ObjectMeta"
#define OA_LIST_META      OA_META "ListMeta"
#define OA_PATCH          OA_META "Patch"
#define OA_STATUS         OA_META "Status"
#define OA_DELETE_OPTIONS OA_META "DeleteOptions"
#define OA_WATCH_EVENT    OA_META "WatchEvent"
#define OA_SCALE          "io.k8s.api.autoscaling.v1.Scale"

/* The suffix of Kubernetes' own API groups, which kube-openapi leaves out of names. */
#define OA_K8S_GROUP_SUFFIX ".k8s.io"

/*
 * Builds the schema reference "#/components/schemas/NAME" (v3) or "#/definitions/NAME" (v2).
 * Returns a new string owned by the caller (free()).
 */
char *oa_ref_path(oa_version v, const char *name);

/*
 * Builds a schema object that refers to the named schema: {"$ref": ...}. With a description,
 * v2 puts it next to $ref (what kube-openapi emits and kubectl's v2 parser accepts) while v3
 * wraps the reference in allOf, because OpenAPI 3.0 ignores siblings of $ref. The caller owns
 * the returned tree. desc may be NULL.
 */
cJSON *oa_schema_ref(oa_version v, const char *name, const char *desc);

/*
 * The schema name of a kind, as kube-openapi names it: "io.k8s.api.GROUP.VERSION.KIND" for
 * Kubernetes' own groups (the core group is "core", "coordination.k8s.io" is "coordination"),
 * the reversed group otherwise ("com.example.demo.v1beta1.Foo", as for a CRD). Returns a new
 * string owned by the caller (free()).
 */
char *oa_schema_name(const char *group, const char *version, const char *kind);

/* A kind whose full schema api/ holds (Foo), found by oa_model_find. */
typedef struct oa_model {
    const char *group, *version, *kind;
    /* Adds the kind's schemas (the kind, its list, their parts, its custom subresources' body
       kinds), named by oa_schema_name. */
    void (*add_schemas)(cJSON *schemas, oa_version v);
    /* Descriptions of its custom subresources' operations: {subresource, verb, description},
       ended by an entry with a NULL subresource. Operations not listed get a generic one. */
    const struct oa_op_doc {
        const char *subresource, *verb, *description;
    } * op_docs;
} oa_model;

/* The model of group/version/kind, or NULL when api/ has none (the kind's schema is loose). */
const oa_model *oa_model_find(const char *group, const char *version, const char *kind);

/*
 * Adds to `schemas` (components.schemas in v3, definitions in v2) the schemas of the n kinds:
 * each kind's model, or a loose schema of the kind, its list kind and its custom subresources'
 * kinds; then the meta/v1 and runtime types they use (DeleteOptions and WatchEvent carry the GVK
 * of every group-version among the kinds) and autoscaling/v1 Scale when a kind has /scale.
 * Every reference made by these schemas resolves within the set. Not thread-safe on the same
 * `schemas` object; pure otherwise.
 */
void oa_add_schemas(cJSON *schemas, oa_version v, const oa_kind *kinds, size_t n);

/*
 * Encodes a Swagger 2.0 document (a cJSON tree as built for /openapi/v2) as the protobuf
 * message openapi.v2.Document of google/gnostic (OpenAPIv2.proto), the form kubectl 1.27/1.28
 * download. Vendor extensions and default values become NamedAny / Any with their JSON text in
 * Any.yaml (JSON is valid YAML). Keys the Document message cannot carry are skipped. Returns a
 * new buffer owned by the caller (free()) and its length in *len. Pure and thread-safe.
 */
unsigned char *oa_pb_encode_document(const cJSON *doc, size_t *len);

#endif

/*
 * foo.h - the Foo API (docs/design.md §2), shared by foo-apiserver and foo-controller-manager:
 * names, defaulting, validation and the unknown-field check. Foo's OpenAPI schema is rendered by
 * api/openapi.h with the other kinds'.
 *
 * Functions here work on cJSON trees of the wire form. They are pure (no I/O, no globals) and
 * thread-safe.
 */
#ifndef FOO_API_FOO_H
#define FOO_API_FOO_H

#include "api/column.h"

#include "common/apierr.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

#define FOO_GROUP                   "demo.example.com"
#define FOO_VERSION                 "v1beta1"
#define FOO_API_VERSION             FOO_GROUP "/" FOO_VERSION
#define FOO_KIND                    "Foo"
#define FOO_LIST_KIND               "FooList"
#define FOO_BAR_KIND                "FooBar"
#define FOO_RESOURCE                "foos"
#define FOO_SINGULAR                "foo"
#define FOO_SHORT_NAME              "fo"
#define FOO_CATEGORY                "demo"
#define FOO_FINALIZER               "demo.example.com/cleanup"
#define FOO_SELECTOR_LABEL          "demo.example.com/foo"
#define FOO_RESTARTED_AT_ANNOTATION "demo.example.com/restartedAt"

/* Defaults of spec fields, in one place. */
#define FOO_DEFAULT_NAMESPACE "default"
#define FOO_DEFAULT_REPLICAS  1
#define FOO_DEFAULT_IMAGE     "nginx:1.27"
#define FOO_MAX_REPLICAS      1000
#define FOO_MAX_IMAGE_LEN     512

/*
 * Fills unset spec fields: deploymentName = metadata.name, namespace "default", replicas 1,
 * image "nginx:1.27". Creates spec if missing. Needs metadata.name to be set already.
 */
void foo_default(cJSON *foo);

/*
 * Validates a Foo's metadata and spec for create (old == NULL) or update (old = the stored
 * object: deploymentName and namespace are immutable). Appends one cause per violated field to
 * err (reasons FieldValueRequired / FieldValueInvalid / FieldValueNotSupported ...; fields as
 * JSON paths "spec.replicas", "metadata.labels"); does not set err->code (the caller finishes
 * with apierr_finish_invalid).
 */
void foo_validate(const cJSON *foo, const cJSON *old, api_error *err);

/* Validates .status of a Foo written through /status (types and ranges); appends causes. */
void foo_validate_status(const cJSON *foo, api_error *err);

/*
 * Removes from `foo`, in one linear walk, every field the Foo schema does not know, and appends
 * to `paths` (a cJSON array of strings) the path of the first max_named of them, e.g.
 * "spec.bogus", "metadata.foo" or "spec.a.b" for a key "a.b" of spec (paths are for people: a
 * key may itself hold dots). Returns how many fields were removed. Used for fieldValidation.
 */
size_t foo_prune_unknown_fields(cJSON *foo, cJSON *paths, size_t max_named);

/*
 * Validates generic ObjectMeta of a create/update (any kind): name (DNS-1123 subdomain, <= 253),
 * label keys/values, annotation keys, finalizer names. Field paths start with "metadata.".
 * require_name: whether an empty name is an error (false when generateName is used).
 */
void meta_validate(const cJSON *meta, bool require_name, api_error *err);

/*
 * Validates what an update may not change in generic ObjectMeta: once old_meta carries a
 * deletionTimestamp, meta may not add finalizers (kube's "no new finalizers can be added if the
 * object is being deleted", 422 Forbidden cause on "metadata.finalizers"). Appends causes.
 */
void meta_validate_update(const cJSON *meta, const cJSON *old_meta, api_error *err);

/* DNS-1123 label (<= 63, [a-z0-9]([-a-z0-9]*[a-z0-9])?) and subdomain (<= 253, dot-separated). */
bool dns1123_label(const char *s);
bool dns1123_subdomain(const char *s);

/*
 * Why s is not valid, in Kubernetes' words (apimachinery util/validation), or NULL when it is.
 * Returned strings are static. Where kube reports several problems, the first one is returned.
 *  - dns1123_label_error / dns1123_subdomain_error: as above.
 *  - meta_qualified_name_error: label keys, annotation keys (after lower-casing), finalizers:
 *    [prefix/]name, prefix a DNS-1123 subdomain, name <= 63 characters matching
 *    ([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]
 *  - meta_label_value_error: empty, or <= 63 characters of the name charset above.
 */
const char *dns1123_label_error(const char *s);
const char *dns1123_subdomain_error(const char *s);
const char *meta_qualified_name_error(const char *s);
const char *meta_label_value_error(const char *s);

/* Limit on the summed length of annotation keys and values (kube's TotalAnnotationSizeLimitB). */
#define META_MAX_ANNOTATIONS_BYTES (256 * 1024)

/*
 * The columns of `kubectl get foos` (see api/column.h): NAME, DEPLOYMENT, REPLICAS, AVAILABLE,
 * READY (status of the Ready condition, JSON null when there is none), AGE; with -o wide
 * NAMESPACE and IMAGE. Plain cells are the stored values (null when absent), as CRD printer
 * columns show them.
 */
#define FOO_NCOLUMNS 8
extern const api_column foo_columns[FOO_NCOLUMNS];
cJSON *foo_cell_ready(const cJSON *foo, int64_t now_s);

#endif

/*
 * openapi.h - renders the OpenAPI documents of a set of kinds (docs/api.md §3): the OpenAPI 3.0
 * document of one group-version (/openapi/v3/apis/G/V, /openapi/v3/api/v1) and the Swagger 2.0
 * document of all of them (/openapi/v2), as JSON and as gnostic protobuf.
 *
 * The caller describes each kind as plain data (oa_kind): api/ knows nothing of the server's
 * registry. Kinds whose full schema api/ holds (Foo) get it; every other kind gets a loose schema
 * (an object with apiVersion, kind, metadata and x-kubernetes-preserve-unknown-fields), enough for
 * kubectl to find the kind and to leave validation to the server.
 *
 * What clients look for (docs/api.md §3.2): each operation carries operationId, x-kubernetes-action
 * and x-kubernetes-group-version-kind (one object); writes list dryRun, fieldManager and
 * fieldValidation (kubectl then validates on the server); PATCH offers exactly JSON patch, merge
 * patch and apply patch, never strategic merge patch (docs/api.md D4): kubectl then builds
 * strategic merge patches of built-in kinds from its compiled-in types, and merge patches of Foo.
 *
 * Every function is pure (no globals, no I/O) and thread-safe; the output depends only on the
 * input, so hashes of the documents are stable across restarts and rebuilds.
 */
#ifndef FOO_API_OPENAPI_H
#define FOO_API_OPENAPI_H

#include <stdbool.h>
#include <stddef.h>

/* A subresource beyond status and scale (Foo's bar): its verbs map to operations (create: POST,
   get: GET, update: PUT, patch: PATCH, delete: DELETE), each answering the parent object. */
typedef struct oa_subresource {
    const char *name;         /* "bar" */
    const char *kind;         /* kind of its request body, in the parent's group: "FooBar" */
    const char *const *verbs; /* NULL-terminated, e.g. {"create", "get", NULL} */
} oa_subresource;

/* One kind as the documents describe it. Strings are borrowed for the call. */
typedef struct oa_kind {
    const char *group; /* "" for the core group */
    const char *version;
    const char *kind;
    const char *list_kind;
    const char *resource; /* plural */
    bool namespaced;      /* namespaced paths, plus the all-namespaces list at /RESOURCE */
    /* Verbs of the main resource as discovery lists them, NULL-terminated: list (and watch, which
       adds the watch parameters), create, deletecollection, get, update, patch, delete. */
    const char *const *verbs;
    bool has_status; /* /status: get, update, patch */
    bool has_scale;  /* /scale: autoscaling/v1 Scale; get, update, patch */
    const oa_subresource *subresources;
    size_t nsubresources;
} oa_kind;

/*
 * The OpenAPI 3.0 document of group/version: the paths of the kinds of that group-version
 * (kinds of other group-versions are skipped) and every schema they refer to. Returns a new
 * NUL-terminated JSON text owned by the caller (free()), its length in *len (len may be NULL).
 */
char *oa_render_v3(const oa_kind *kinds, size_t n, const char *group, const char *version,
                   size_t *len);

/* The Swagger 2.0 document of every kind, in both encodings. */
typedef struct oa_v2 {
    char *json; /* NUL-terminated */
    size_t json_len;
    unsigned char *pb; /* gnostic openapi_v2.Document, the form kubectl 1.27/1.28 download */
    size_t pb_len;
} oa_v2;

/* Renders the v2 document of all kinds into *out (owned by the caller: oa_v2_free). */
void oa_render_v2(const oa_kind *kinds, size_t n, oa_v2 *out);
/* Frees what oa_render_v2 made and zeroes *d; NULL or a zeroed oa_v2 is a no-op. */
void oa_v2_free(oa_v2 *d);

#endif

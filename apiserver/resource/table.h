/*
 * table.h - the server-side transforms kubectl and the garbage collector ask for with Accept
 * (docs/api.md §7.3): meta.k8s.io Table (kubectl get) and PartialObjectMetadata[List].
 * Pure rendering into a buffer; thread-safe.
 */
#ifndef FOO_APISERVER_TABLE_H
#define FOO_APISERVER_TABLE_H

#include "apiserver/resource/registry.h"
#include "apiserver/resource/watchcache.h"
#include "common/sbuf.h"

#include <stdbool.h>
#include <stdint.h>

typedef enum as_include_object {
    AS_INCLUDE_METADATA, /* rows[].object is PartialObjectMetadata (the default) */
    AS_INCLUDE_OBJECT,   /* the full object */
    AS_INCLUDE_NONE,
} as_include_object;

/* Parses ?includeObject=; returns false for an unknown value. */
bool as_include_object_parse(const char *value, as_include_object *out);

/* List metadata copied into a Table or PartialObjectMetadataList. */
typedef struct as_list_meta {
    uint64_t rev;
    const char *cont; /* NULL = none */
    size_t remaining;
} as_list_meta;

/*
 * Renders objects as a Table (apiVersion meta.k8s.io/<version>). headers = false leaves
 * columnDefinitions null (watch events after the first, as kube does). now_s is the wall clock
 * for the Age column.
 */
void as_table_render(sbuf *out, const as_resource *r, const char *version,
                     const wc_blob *const *items, size_t n, const as_list_meta *meta,
                     as_include_object include, bool headers, int64_t now_s);

/* {"kind":"PartialObjectMetadata","apiVersion":"meta.k8s.io/<version>","metadata":{...}}. */
void as_partial_render(sbuf *out, const char *version, const char *json, size_t len);

/* PartialObjectMetadataList of the items. */
void as_partial_list_render(sbuf *out, const char *version, const wc_blob *const *items, size_t n,
                            const as_list_meta *meta);

#endif

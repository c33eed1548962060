/*
 * negotiate.h - Accept header negotiation (docs/api.md §7.2). Pure functions, thread-safe.
 */
#ifndef FOO_APISERVER_NEGOTIATE_H
#define FOO_APISERVER_NEGOTIATE_H

#include <stdbool.h>

typedef enum as_media {
    AS_MEDIA_NONE,         /* nothing acceptable: answer 406 */
    AS_MEDIA_JSON,         /* the object itself */
    AS_MEDIA_DISCOVERY_V2, /* application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList
                            */
    AS_MEDIA_DISCOVERY_V2BETA1,
    AS_MEDIA_TABLE,        /* as=Table;g=meta.k8s.io */
    AS_MEDIA_PARTIAL,      /* as=PartialObjectMetadata (one object, or watch events) */
    AS_MEDIA_PARTIAL_LIST, /* as=PartialObjectMetadataList */
} as_media;

/* What the response will be, which decides which transforms are acceptable. */
typedef enum as_response_shape {
    AS_SHAPE_DISCOVERY, /* GET /apis */
    AS_SHAPE_PLAIN,     /* anything that is only ever JSON */
    AS_SHAPE_OBJECT,    /* one object of a resource */
    AS_SHAPE_LIST,      /* a list of a resource */
    AS_SHAPE_WATCH,     /* a watch stream of a resource */
} as_response_shape;

typedef struct as_negotiated {
    as_media media;
    const char *meta_version; /* "v1" or "v1beta1" for Table and PartialObjectMetadata */
} as_negotiated;

/*
 * Picks the first clause of Accept acceptable for a response of the given shape: JSON (plain
 * application/json, any type, application/any), aggregated discovery (AS_SHAPE_DISCOVERY only),
 * Table (object, list, watch), PartialObjectMetadata (object, watch) or PartialObjectMetadataList
 * (list). Missing or empty Accept = JSON. Protobuf, YAML, CBOR and unknown `as=` are skipped.
 */
as_negotiated as_negotiate_for(const char *accept, as_response_shape shape);

/*
 * Picks the first acceptable clause of an Accept header. `discovery` says whether aggregated
 * discovery types are acceptable answers (only for GET /apis). Missing or empty Accept = JSON.
 * Clauses asking for a transform we do not serve (protobuf, YAML, CBOR, unknown `as=`) are
 * skipped.
 */
as_media as_negotiate(const char *accept, bool discovery);

/*
 * Whether a Content-Type (NULL: absent) is the media type `media` (lower case), its parameters
 * aside: "Application/Merge-Patch+JSON; charset=utf-8" is "application/merge-patch+json".
 * The whole type is compared, however long.
 */
bool as_media_type_is(const char *content_type, const char *media);

#endif

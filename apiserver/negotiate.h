/*
 * negotiate.h - Accept header negotiation (api-contract §7.2). Pure functions, thread-safe.
 */
#ifndef FOO_APISERVER_NEGOTIATE_H
#define FOO_APISERVER_NEGOTIATE_H

#include <stdbool.h>

typedef enum as_media {
    AS_MEDIA_NONE,         /* nothing acceptable: answer 406 */
    AS_MEDIA_JSON,         /* the object itself */
    AS_MEDIA_DISCOVERY_V2, /* application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList */
    AS_MEDIA_DISCOVERY_V2BETA1,
} as_media;

/*
 * Picks the first acceptable clause of an Accept header. `discovery` says whether aggregated
 * discovery types are acceptable answers (only for GET /apis). Missing or empty Accept = JSON.
 * Clauses asking for a transform we do not serve (protobuf, YAML, CBOR, unknown `as=`) are
 * skipped.
 */
as_media as_negotiate(const char *accept, bool discovery);

/* Content-Type without parameters, lower-cased, into out ("" when absent). */
void as_media_type(const char *content_type, char *out, int outlen);

#endif

/*
 * k8s_proto.h - request bodies of the built-in kinds in Kubernetes' protobuf encoding
 * (Content-Type application/vnd.kubernetes.protobuf; docs/api.md §5.8), read into the JSON tree
 * the same object would have been as JSON.
 *
 * kubectl 1.32 and later, and every client-go program configured for protobuf, send their typed
 * writes this way, and client-go does not fall back to JSON when refused, so the server reads
 * them. The body is the magic "k8s\0" and a runtime.Unknown envelope: {typeMeta {apiVersion,
 * kind}, raw (the object's message), contentEncoding, contentType}. The kinds described here
 * are v1 Namespace and Event, apps/v1 Deployment, coordination.k8s.io/v1 Lease, autoscaling/v1
 * Scale and DeleteOptions (of any group version), with the fields of kube's generated.proto that
 * kubectl and common manifests use; anything else is refused with "send JSON" (415), never
 * dropped.
 *
 * Pure functions over static tables; thread-safe.
 */
#ifndef FOO_API_K8S_PROTO_H
#define FOO_API_K8S_PROTO_H

#include "common/apierr.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

/* The media type of these bodies. */
#define K8S_PROTO_MEDIA_TYPE "application/vnd.kubernetes.protobuf"

/*
 * Whether create and update bodies of a resource of this group ("" for the core group) and kind
 * may come as protobuf here: true for the built-in kinds described, false for others (a custom
 * resource such as Foo: kube's CRDs only take JSON and YAML).
 */
bool k8s_proto_readable(const char *group, const char *kind);

/*
 * Decodes a protobuf request body into *out: an object holding "kind" and "apiVersion" from
 * the envelope and the members of the object, as Go's JSON encoding would show the object that
 * kube decodes from these bytes (omitempty fields with zero values left out, pointer fields
 * present when sent; metav1.Time as "2006-01-02T15:04:05Z", MicroTime with 6 fractional digits,
 * a zero time as null, Quantity and IntOrString as their string or number). The caller owns *out
 * and still checks apiVersion and kind against the resource.
 *
 * When dups is a cJSON array, the paths of fields given twice are appended (the last value is
 * kept; see common/protobuf.h). Returns the number of such fields (0 or more), or -EPROTO with
 * *out NULL and err set: 400 BadRequest for malformed bytes (without the magic: "provided data
 * does not appear to be a protobuf message, expected prefix [107 56 115 0]"; inside the object:
 * kube's `<Kind> in version "<v>" cannot be handled as a <Kind>: <what and where>`), 415
 * UnsupportedMediaType for a kind or a field number not described ("... not supported: send
 * JSON") and for a contentEncoding (kube would not decode one either).
 */
int k8s_proto_decode(const char *data, size_t len, cJSON *dups, cJSON **out, api_error *err);

#endif

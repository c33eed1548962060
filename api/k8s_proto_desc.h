/*
 * k8s_proto_desc.h - the protobuf descriptors of the built-in kinds (private to
 * api/k8s_proto*.c; the public face is api/k8s_proto.h).
 *
 * Transcribed from kube's generated.proto files (k8s.io/api core/v1, apps/v1, coordination/v1,
 * autoscaling/v1; k8s.io/apimachinery meta/v1, api/resource, util/intstr): field numbers as
 * there, JSON names and PB_KEEP_ZERO as the Go types' json tags say (a pointer field, or one
 * without omitempty, keeps its zero value). A field left out here is refused when sent, so a
 * missing field costs a "send JSON" error, never data.
 *
 *   k8s_proto_meta.c   ObjectMeta, LabelSelector, DeleteOptions, Time, MicroTime, Quantity,
 *                      IntOrString (the last four with their JSON forms)
 *   k8s_proto_pod.c    PodTemplateSpec, PodSpec, Container and what they hold
 *   k8s_proto_kinds.c  the top-level kinds and the table of them
 */
#ifndef FOO_API_K8S_PROTO_DESC_H
#define FOO_API_K8S_PROTO_DESC_H

#include "common/protobuf.h"

/* Table rows: F_<kind>[_K] (number, JSON name); _K keeps zero values (PB_KEEP_ZERO). */
#define F_STR(n, j)                                                                                \
    {                                                                                              \
        n, j, PB_STRING, 0, NULL                                                                   \
    }
#define F_STR_K(n, j)                                                                              \
    {                                                                                              \
        n, j, PB_STRING, PB_KEEP_ZERO, NULL                                                        \
    }
#define F_STRS(n, j)                                                                               \
    {                                                                                              \
        n, j, PB_STRING, PB_REPEATED, NULL                                                         \
    }
#define F_BOOL(n, j)                                                                               \
    {                                                                                              \
        n, j, PB_BOOL, 0, NULL                                                                     \
    }
#define F_BOOL_K(n, j)                                                                             \
    {                                                                                              \
        n, j, PB_BOOL, PB_KEEP_ZERO, NULL                                                          \
    }
#define F_I32(n, j)                                                                                \
    {                                                                                              \
        n, j, PB_INT32, 0, NULL                                                                    \
    }
#define F_I32_K(n, j)                                                                              \
    {                                                                                              \
        n, j, PB_INT32, PB_KEEP_ZERO, NULL                                                         \
    }
#define F_I64(n, j)                                                                                \
    {                                                                                              \
        n, j, PB_INT64, 0, NULL                                                                    \
    }
#define F_I64_K(n, j)                                                                              \
    {                                                                                              \
        n, j, PB_INT64, PB_KEEP_ZERO, NULL                                                         \
    }
#define F_I64S(n, j)                                                                               \
    {                                                                                              \
        n, j, PB_INT64, PB_REPEATED, NULL                                                          \
    }
#define F_MSG(n, j, m)                                                                             \
    {                                                                                              \
        n, j, PB_MESSAGE, 0, &(m)                                                                  \
    }
#define F_MSGS(n, j, m)                                                                            \
    {                                                                                              \
        n, j, PB_MESSAGE, PB_REPEATED, &(m)                                                        \
    }
#define F_INLINE(n, m)                                                                             \
    {                                                                                              \
        n, NULL, PB_INLINE, 0, &(m)                                                                \
    }
#define F_MAP_STR(n, j)                                                                            \
    {                                                                                              \
        n, j, PB_MAP, 0, NULL                                                                      \
    }
#define F_MAP(n, j, m)                                                                             \
    {                                                                                              \
        n, j, PB_MAP, 0, &(m)                                                                      \
    }

/* Defines the pb_message `var` named `name` over the array `fields`. */
#define K8S_PB_MESSAGE(var, name, fields, to_json)                                                 \
    const pb_message var = {name, fields, sizeof(fields) / sizeof((fields)[0]), to_json}

/* ---- k8s_proto_meta.c ---------------------------------------------------------------------- */
extern const pb_message k8s_pb_time;          /* -> "2006-01-02T15:04:05Z", or null */
extern const pb_message k8s_pb_micro_time;    /* -> "2006-01-02T15:04:05.000000Z", or null */
extern const pb_message k8s_pb_quantity;      /* -> its string */
extern const pb_message k8s_pb_int_or_string; /* -> a number or a string */
extern const pb_message k8s_pb_object_meta;
extern const pb_message k8s_pb_label_selector;
extern const pb_message k8s_pb_delete_options;
extern const pb_message k8s_pb_type_meta; /* runtime.TypeMeta of the envelope */

/* ---- k8s_proto_pod.c ----------------------------------------------------------------------- */
extern const pb_message k8s_pb_pod_template_spec;
extern const pb_message k8s_pb_local_object_reference;

/* ---- k8s_proto_kinds.c --------------------------------------------------------------------- */

/* A kind whose bodies may come as protobuf. */
typedef struct k8s_pb_kind {
    const char *api_version; /* NULL: any (DeleteOptions is registered in every group version) */
    const char *kind;
    const pb_message *message;
    bool resource; /* a resource's own kind (not Scale or DeleteOptions) */
} k8s_pb_kind;

extern const k8s_pb_kind k8s_pb_kinds[];
extern const size_t k8s_pb_nkinds;

#endif

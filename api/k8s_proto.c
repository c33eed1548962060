/*
 * k8s_proto.c - a protobuf request body read into JSON (api/k8s_proto.h): the magic, the
 * runtime.Unknown envelope, the kind's descriptor (api/k8s_proto_desc.h), and kube's wording for
 * what goes wrong.
 */
#include "api/k8s_proto.h"

#include "api/k8s_proto_desc.h"
#include "common/json.h"
#include "common/sbuf.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

/* What kube's serializer expects first: "k8s" and the encoding 0, a runtime.Unknown. */
static const char magic[4] = {'k', '8', 's', 0};

/* The envelope's fields (runtime.Unknown of k8s.io/apimachinery/pkg/runtime). */
enum {
    UNKNOWN_TYPE_META = 1,
    UNKNOWN_RAW = 2,
    UNKNOWN_CONTENT_ENCODING = 3,
    UNKNOWN_CONTENT_TYPE = 4,
};

typedef struct envelope {
    cJSON *type_meta; /* {apiVersion, kind}; owned */
    const uint8_t *raw;
    size_t raw_len;
} envelope;

/* 400 for an envelope that cannot be read. */
static int envelope_error(api_error *err, const char *what)
{
    apierr_bad_request(err, "the protobuf envelope (runtime.Unknown) is malformed: %s", what);
    return -EPROTO;
}

/* One field of the envelope; each may come once. */
static int envelope_field(pb_reader *r, uint32_t field, pb_wire wire, envelope *env, cJSON *dups,
                          int *ndups, api_error *err)
{
    const uint8_t *data;
    size_t len;
    if (field < UNKNOWN_TYPE_META || field > UNKNOWN_CONTENT_TYPE) {
        apierr_set(err, 415, "UnsupportedMediaType",
                   "protobuf field %" PRIu32 " of runtime.Unknown is not supported: send JSON",
                   field);
        return -EPROTO;
    }
    if (wire != PB_WIRE_LEN)
        return envelope_error(err, "a field of the wrong wire type");
    int rc = pb_read_len(r, &data, &len);
    if (rc)
        return envelope_error(err, pb_strerror(rc));
    switch (field) {
    case UNKNOWN_TYPE_META:
        env->type_meta = cJSON_CreateObject();
        rc = pb_decode(&k8s_pb_type_meta, data, len, env->type_meta, dups, err);
        if (rc < 0)
            return rc;
        *ndups += rc;
        return 0;
    case UNKNOWN_RAW:
        env->raw = data;
        env->raw_len = len;
        return 0;
    case UNKNOWN_CONTENT_ENCODING:
        if (len == 0)
            return 0;
        apierr_set(err, 415, "UnsupportedMediaType",
                   "protobuf bodies with a contentEncoding are not supported: send JSON");
        return -EPROTO;
    default:
        /* contentType: kube decodes raw as protobuf whatever it says, and so do we. */
        return 0;
    }
}

/* Reads the envelope after the magic. Returns 0 or -EPROTO with err set. */
static int read_envelope(const uint8_t *data, size_t len, envelope *env, cJSON *dups, int *ndups,
                         api_error *err)
{
    pb_reader r = pb_reader_of(data, len);
    unsigned seen = 0;
    while (r.p < r.end) {
        uint32_t field;
        pb_wire wire;
        int rc = pb_read_tag(&r, &field, &wire);
        if (rc)
            return envelope_error(err, pb_strerror(rc));
        if (field <= UNKNOWN_CONTENT_TYPE && (seen & (1u << field)))
            return envelope_error(err, "a field given twice");
        seen |= field <= UNKNOWN_CONTENT_TYPE ? 1u << field : 0;
        if ((rc = envelope_field(&r, field, wire, env, dups, ndups, err)))
            return rc;
    }
    return 0;
}

static const k8s_pb_kind *find_kind(const char *api_version, const char *kind)
{
    for (size_t i = 0; i < k8s_pb_nkinds; i++) {
        const k8s_pb_kind *k = &k8s_pb_kinds[i];
        if (strcmp(k->kind, kind) == 0 &&
            (!k->api_version || strcmp(k->api_version, api_version) == 0))
            return k;
    }
    return NULL;
}

/* The group of "group/version", or "" for a core "version". */
static bool group_is(const char *api_version, const char *group)
{
    const char *slash = strchr(api_version, '/');
    if (!slash)
        return !*group;
    return strlen(group) == (size_t)(slash - api_version) &&
           strncmp(api_version, group, strlen(group)) == 0;
}

bool k8s_proto_readable(const char *group, const char *kind)
{
    for (size_t i = 0; i < k8s_pb_nkinds; i++) {
        const k8s_pb_kind *k = &k8s_pb_kinds[i];
        if (k->resource && strcmp(k->kind, kind) == 0 && group_is(k->api_version, group))
            return true;
    }
    return false;
}

/* kube's words for an object it could not decode: `K in version "v" cannot be handled as a K`. */
static void wrap_decode_error(api_error *err, const char *api_version, const char *kind)
{
    const char *slash = strrchr(api_version, '/');
    sbuf msg = SBUF_INIT;
    sbuf_printf(&msg, "%s in version \"%s\" cannot be handled as a %s: %s", kind,
                slash ? slash + 1 : api_version, kind, err->message ? err->message : "");
    apierr_bad_request(err, "%s", msg.data);
    sbuf_free(&msg);
}

/* The object of the envelope's kind, or -EPROTO. */
static int decode_object(const envelope *env, cJSON *dups, int *ndups, cJSON **out, api_error *err)
{
    const char *api_version =
        env->type_meta ? json_path_string(env->type_meta, "apiVersion") : NULL;
    const char *kind = env->type_meta ? json_path_string(env->type_meta, "kind") : NULL;
    if (!kind || !*kind || !api_version || !*api_version) {
        apierr_bad_request(err, "Object 'Kind' or 'apiVersion' is missing in the protobuf "
                                "envelope");
        return -EPROTO;
    }
    const k8s_pb_kind *k = find_kind(api_version, kind);
    if (!k) {
        apierr_set(err, 415, "UnsupportedMediaType",
                   "protobuf bodies of %s %s are not supported: send JSON", api_version, kind);
        return -EPROTO;
    }
    cJSON *obj = cJSON_CreateObject();
    cJSON_AddStringToObject(obj, "kind", kind);
    cJSON_AddStringToObject(obj, "apiVersion", api_version);
    int rc = pb_decode(k->message, env->raw, env->raw_len, obj, dups, err);
    if (rc < 0) {
        if (err->code == 400)
            wrap_decode_error(err, api_version, kind);
        cJSON_Delete(obj);
        return rc;
    }
    *ndups += rc;
    *out = obj;
    return 0;
}

int k8s_proto_decode(const char *data, size_t len, cJSON *dups, cJSON **out, api_error *err)
{
    *out = NULL;
    if (len < sizeof magic || memcmp(data, magic, sizeof magic) != 0) {
        apierr_bad_request(err, "provided data does not appear to be a protobuf message, "
                                "expected prefix [107 56 115 0]");
        return -EPROTO;
    }
    envelope env = {0};
    int ndups = 0;
    int rc = read_envelope((const uint8_t *)data + sizeof magic, len - sizeof magic, &env, dups,
                           &ndups, err);
    if (rc == 0)
        rc = decode_object(&env, dups, &ndups, out, err);
    cJSON_Delete(env.type_meta);
    return rc < 0 ? rc : ndups;
}

/*
 * openapi_handler.c - serves the OpenAPI documents built by api/ (docs/api.md §3.1):
 * /openapi/v2 (JSON or gnostic protobuf by Accept), /openapi/v3 (index listing only our
 * group-version) and /openapi/v3/apis/G/V (with the hash-pinned, immutable form).
 * Never answers 3xx: a wrong ?hash gets the current document without the immutable headers.
 */
#include "apiserver/rest/openapi_handler.h"
#include "api/foo.h"
#include "apiserver/rest/server.h"
#include "common/alloc.h"

#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PROTO_V2     "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"
#define PROTO_V2_ALT "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"

struct as_openapi {
    char v3_hash[129];    /* upper-case hex SHA-512 of the v3 document */
    char v2_etag[132];    /* quoted; of the JSON form */
    char v2_pb_etag[132]; /* quoted; of the protobuf form */
    char *v3_index;
};

static void hex_sha512(const char *data, size_t len, char *out)
{
    unsigned char md[SHA512_DIGEST_LENGTH];
    SHA512((const unsigned char *)data, len, md);
    for (int i = 0; i < SHA512_DIGEST_LENGTH; i++)
        snprintf(out + 2 * i, 3, "%02X", md[i]);
}

as_openapi *as_openapi_new(void)
{
    as_openapi *o = xcalloc(1, sizeof *o);
    size_t len;
    const char *v3 = foo_openapi_v3(&len);
    hex_sha512(v3, len, o->v3_hash);
    o->v3_index =
        xasprintf("{\"paths\":{\"apis/" FOO_GROUP "/" FOO_VERSION "\":{\"serverRelativeURL\":"
                  "\"/openapi/v3/apis/" FOO_GROUP "/" FOO_VERSION "?hash=%s\"}}}",
                  o->v3_hash);
    const char *v2 = foo_openapi_v2_json(&len);
    char h[129];
    hex_sha512(v2, len, h);
    snprintf(o->v2_etag, sizeof o->v2_etag, "\"%s\"", h);
    const unsigned char *pb = foo_openapi_v2_protobuf(&len);
    hex_sha512((const char *)pb, len, h);
    snprintf(o->v2_pb_etag, sizeof o->v2_pb_etag, "\"%s\"", h);
    return o;
}

void as_openapi_free(as_openapi *o)
{
    if (!o)
        return;
    free(o->v3_index);
    free(o);
}

static bool accepts(const char *accept, const char *type)
{
    return accept && strstr(accept, type) != NULL;
}

static bool accepts_json(const char *accept)
{
    return !accept || !*accept || accepts(accept, "application/json") || accepts(accept, "*/*");
}

void as_openapi_v2(as_req *req)
{
    const as_openapi *o = as_server_of(req)->openapi;
    size_t len;
    /* kubectl 1.27/1.28 ask for protobuf only; everybody else takes JSON. */
    bool proto = accepts(req->accept, PROTO_V2) || accepts(req->accept, PROTO_V2_ALT);
    proto = proto && !accepts(req->accept, "application/json");
    if (!proto && !accepts_json(req->accept))
        return as_respond_status(req, 406, "NotAcceptable",
                                 "only the following media types are accepted: "
                                 "application/json, " PROTO_V2);
    const char *etag = proto ? o->v2_pb_etag : o->v2_etag;
    as_add_header(req, "ETag", etag);
    as_add_header(req, "Vary", "Accept");
    if (req->if_none_match && strcmp(req->if_none_match, etag) == 0)
        return as_respond(req, 304, NULL, "", 0);
    if (proto) {
        const unsigned char *pb = foo_openapi_v2_protobuf(&len);
        /* As kube-openapi: octet-stream. The '@' form is not a valid media type to answer with:
           kubectl 1.27 parses the Content-Type and fails on it ("mime: unexpected content after
           media subtype"), which test_kubectl's 1.27 runs would show. */
        return as_respond(req, 200, "application/octet-stream", (const char *)pb, len);
    }
    const char *doc = foo_openapi_v2_json(&len);
    as_respond_json(req, 200, doc, len);
}

void as_openapi_v3_index(as_req *req)
{
    const as_openapi *o = as_server_of(req)->openapi;
    as_respond_json(req, 200, o->v3_index, strlen(o->v3_index));
}

void as_openapi_v3_group(as_req *req)
{
    const as_openapi *o = as_server_of(req)->openapi;
    size_t len;
    const char *doc = foo_openapi_v3(&len);
    const char *hash = as_param_get(req, "hash");
    char etag[132];
    snprintf(etag, sizeof etag, "\"%s\"", o->v3_hash);
    as_add_header(req, "ETag", etag);
    if (hash && strcmp(hash, o->v3_hash) == 0) {
        as_add_header(req, "Cache-Control", "public, immutable");
        as_add_header(req, "Expires", "Fri, 01 Jan 2100 00:00:00 GMT");
    }
    if (req->if_none_match && strcmp(req->if_none_match, etag) == 0)
        return as_respond(req, 304, NULL, "", 0);
    as_respond_json(req, 200, doc, len);
}

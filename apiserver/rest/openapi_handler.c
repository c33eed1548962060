/*
 * openapi_handler.c - serves the OpenAPI documents rendered by api/openapi.h (docs/api.md §3.1):
 * /openapi/v2 (JSON or gnostic protobuf by Accept), /openapi/v3 (an index with one entry per
 * group-version) and /openapi/v3/apis/G/V or /openapi/v3/api/v1 (with the hash-pinned,
 * immutable form). Never answers 3xx: a wrong ?hash gets the current document without the
 * immutable headers.
 *
 * The registry's entries become oa_kind descriptions here, so that api/ needs nothing of the
 * server: verbs as discovery lists them, custom subresources as their handlers declare them.
 */
#include "apiserver/rest/openapi_handler.h"
#include "api/openapi.h"
#include "apiserver/rest/discovery.h"
#include "apiserver/rest/handlers.h"
#include "apiserver/rest/server.h"
#include "common/alloc.h"
#include "common/json.h"

#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PROTO_V2     "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"
#define PROTO_V2_ALT "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"

/* The v3 document of one group-version. */
typedef struct oa_gv_doc {
    char *path; /* "apis/G/V" or "api/v1": the key of the index and the URL after /openapi/v3/ */
    char *json;
    size_t len;
    char hash[129]; /* upper-case hex SHA-512 of json */
} oa_gv_doc;

struct as_openapi {
    oa_gv_doc *v3;
    int nv3;
    char *v3_index;
    oa_v2 v2;
    char v2_etag[132];    /* quoted; of the JSON form */
    char v2_pb_etag[132]; /* quoted; of the protobuf form */
};

static void hex_sha512(const void *data, size_t len, char out[129])
{
    unsigned char md[SHA512_DIGEST_LENGTH];
    SHA512(data, len, md);
    for (int i = 0; i < SHA512_DIGEST_LENGTH; i++)
        snprintf(out + 2 * i, 3, "%02X", md[i]);
}

/* ---- the registry as oa_kind descriptions ------------------------------------------------ */

/* More custom subresources than a registry entry can name. */
#define MAX_CUSTOM 4

/* Storage behind an oa_kind: its verbs and its custom subresources. */
typedef struct kind_store {
    const char *verbs[AS_MAX_VERBS + 1];
    oa_subresource subs[MAX_CUSTOM];
} kind_store;

static void describe(const as_resource *r, oa_kind *k, kind_store *st)
{
    as_discovery_verbs(r, st->verbs);
    size_t n = 0;
    for (size_t i = 0; i < MAX_CUSTOM && r->custom_subresources[i]; i++) {
        const as_custom_subresource *c = as_custom_subresource_find(r, r->custom_subresources[i]);
        if (c)
            st->subs[n++] = (oa_subresource){c->name, c->kind, c->verbs};
    }
    *k = (oa_kind){
        .group = r->group,
        .version = r->version,
        .kind = r->kind,
        .list_kind = r->list_kind,
        .resource = r->resource,
        .namespaced = r->namespaced,
        .verbs = st->verbs,
        .has_status = r->has_status,
        .has_scale = r->has_scale,
        .subresources = st->subs,
        .nsubresources = n,
    };
}

/* ---- rendering --------------------------------------------------------------------------- */

/* Renders the v3 document of kinds[i]'s group-version unless one exists already. */
static void render_v3(as_openapi *o, const oa_kind *kinds, size_t n, size_t i)
{
    const oa_kind *k = &kinds[i];
    char *path =
        *k->group ? xasprintf("apis/%s/%s", k->group, k->version) : xasprintf("api/%s", k->version);
    for (int j = 0; j < o->nv3; j++) {
        if (!strcmp(o->v3[j].path, path)) {
            free(path);
            return;
        }
    }
    o->v3 = xrealloc(o->v3, (size_t)(o->nv3 + 1) * sizeof *o->v3);
    oa_gv_doc *d = &o->v3[o->nv3++];
    d->path = path;
    d->json = oa_render_v3(kinds, n, k->group, k->version, &d->len);
    hex_sha512(d->json, d->len, d->hash);
}

/* {"paths":{"apis/G/V":{"serverRelativeURL":"/openapi/v3/apis/G/V?hash=H"}, ...}} */
static char *render_index(const as_openapi *o)
{
    cJSON *index = cJSON_CreateObject();
    cJSON *paths = cJSON_AddObjectToObject(index, "paths");
    for (int i = 0; i < o->nv3; i++) {
        char *url = xasprintf("/openapi/v3/%s?hash=%s", o->v3[i].path, o->v3[i].hash);
        cJSON_AddStringToObject(cJSON_AddObjectToObject(paths, o->v3[i].path), "serverRelativeURL",
                                url);
        free(url);
    }
    char *out = json_print(index);
    cJSON_Delete(index);
    return out;
}

as_openapi *as_openapi_new(const as_registry *reg)
{
    as_openapi *o = xcalloc(1, sizeof *o);
    int n;
    const as_resource *const *all = as_registry_all(reg, &n);
    oa_kind *kinds = xcalloc(n ? (size_t)n : 1, sizeof *kinds);
    kind_store *store = xcalloc(n ? (size_t)n : 1, sizeof *store);
    for (int i = 0; i < n; i++)
        describe(all[i], &kinds[i], &store[i]);
    for (int i = 0; i < n; i++)
        render_v3(o, kinds, (size_t)n, (size_t)i);
    o->v3_index = render_index(o);
    oa_render_v2(kinds, (size_t)n, &o->v2);
    free(store);
    free(kinds);
    char h[129];
    hex_sha512(o->v2.json, o->v2.json_len, h);
    snprintf(o->v2_etag, sizeof o->v2_etag, "\"%s\"", h);
    hex_sha512(o->v2.pb, o->v2.pb_len, h);
    snprintf(o->v2_pb_etag, sizeof o->v2_pb_etag, "\"%s\"", h);
    return o;
}

void as_openapi_free(as_openapi *o)
{
    if (!o)
        return;
    for (int i = 0; i < o->nv3; i++) {
        free(o->v3[i].path);
        free(o->v3[i].json);
    }
    free(o->v3);
    free(o->v3_index);
    oa_v2_free(&o->v2);
    free(o);
}

/* ---- handlers ---------------------------------------------------------------------------- */

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
        /* As kube-openapi: octet-stream. The '@' form is not a valid media type to answer with:
           kubectl 1.27 parses the Content-Type and fails on it ("mime: unexpected content after
           media subtype"), which test_kubectl's 1.27 runs would show. */
        return as_respond(req, 200, "application/octet-stream", (const char *)o->v2.pb,
                          o->v2.pb_len);
    }
    as_respond_json(req, 200, o->v2.json, o->v2.json_len);
}

void as_openapi_v3_index(as_req *req)
{
    const as_openapi *o = as_server_of(req)->openapi;
    as_respond_json(req, 200, o->v3_index, strlen(o->v3_index));
}

void as_openapi_v3_group(as_req *req, const char *gv_path)
{
    const as_openapi *o = as_server_of(req)->openapi;
    const oa_gv_doc *doc = NULL;
    for (int i = 0; i < o->nv3 && !doc; i++)
        if (!strcmp(o->v3[i].path, gv_path))
            doc = &o->v3[i];
    if (!doc)
        return as_respond_status(req, 404, "NotFound",
                                 "the server could not find the requested resource");
    const char *hash = as_param_get(req, "hash");
    char etag[132];
    snprintf(etag, sizeof etag, "\"%s\"", doc->hash);
    as_add_header(req, "ETag", etag);
    if (hash && strcmp(hash, doc->hash) == 0) {
        as_add_header(req, "Cache-Control", "public, immutable");
        as_add_header(req, "Expires", "Fri, 01 Jan 2100 00:00:00 GMT");
    }
    if (req->if_none_match && strcmp(req->if_none_match, etag) == 0)
        return as_respond(req, 304, NULL, "", 0);
    as_respond_json(req, 200, doc->json, doc->len);
}

/*
 * write_op.c - the write_op of one write request, and the reading of the request every write
 * verb shares: the body, ?dryRun, the body's apiVersion/kind, the patch type.
 */
#include "apiserver/rest/write_op.h"
#include "api/k8s_proto.h"
#include "apiserver/transport/negotiate.h"
#include "common/alloc.h"
#include "common/json.h"
#include "common/sbuf.h"
#include "common/yamljson.h"

#include <stdlib.h>
#include <string.h>

write_op *wo_new(as_req *req, const as_target *t, op_kind kind)
{
    write_op *op = xcalloc(1, sizeof *op);
    op->req = req;
    op->in.res = t->resource;
    op->in.ns = t->ns ? xstrdup(t->ns) : NULL;
    op->in.name = t->name ? xstrdup(t->name) : NULL;
    op->in.kind = kind;
    op->in.status = t->sub && strcmp(t->sub, "status") == 0;
    op->in.now_s = as_now_s(req);
    op->in.propagation_policy = as_param_get(req, "propagationPolicy");
    return op;
}

void wo_free(write_op *op)
{
    free(op->in.ns);
    free(op->in.name);
    free(op->in.generate_prefix);
    cJSON_Delete(op->in.body);
    st_write_free(op->w);
    free(op);
}

void wo_respond_error(as_req *req, api_error *e)
{
    as_respond_error(req, e);
    apierr_clear(e);
}

/* The options kind a write's query parameters belong to, as kube names it in a 422. */
static const char *options_kind(const write_op *op)
{
    switch (op->in.kind) {
    case OP_CREATE:
    case OP_BAR:
        return "CreateOptions";
    case OP_UPDATE:
    case OP_SCALE_UPDATE:
        return "UpdateOptions";
    case OP_PATCH:
    case OP_SCALE_PATCH:
        return "PatchOptions";
    case OP_DELETE:
        return "DeleteOptions";
    }
    return "CreateOptions";
}

/* Reads ?fieldValidation. Returns false after answering 422 for a value kube does not know. */
static bool parse_field_validation(write_op *op)
{
    const char *mode = op->in.kind == OP_DELETE ? NULL : as_param_get(op->req, "fieldValidation");
    op->validation = FV_WARN;
    if (!mode || !*mode || strcmp(mode, "Warn") == 0)
        return true;
    if (strcmp(mode, "Strict") == 0 || strcmp(mode, "Ignore") == 0) {
        op->validation = strcmp(mode, "Strict") == 0 ? FV_STRICT : FV_IGNORE;
        return true;
    }
    api_error e = API_ERROR_INIT;
    apierr_add_cause(&e, "FieldValueNotSupported", "fieldValidation",
                     "Unsupported value: \"%s\": supported values: \"Ignore\", \"Strict\", "
                     "\"Warn\"",
                     mode);
    apierr_finish_invalid(&e, options_kind(op), "meta.k8s.io", "");
    wo_respond_error(op->req, &e);
    return false;
}

/* `what "path"` for each path, and "and N more <what>s" for those left unnamed. */
static cJSON *field_problems(const char *what, const cJSON *paths, size_t total)
{
    cJSON *problems = cJSON_CreateArray();
    const cJSON *p;
    sbuf m = SBUF_INIT;
    cJSON_ArrayForEach(p, paths)
    {
        sbuf_reset(&m);
        sbuf_printf(&m, "%s \"%s\"", what, p->valuestring);
        cJSON_AddItemToArray(problems, cJSON_CreateString(m.data));
    }
    size_t named = (size_t)cJSON_GetArraySize(paths);
    if (total > named) {
        sbuf_reset(&m);
        sbuf_printf(&m, "and %zu more %ss", total - named, what);
        cJSON_AddItemToArray(problems, cJSON_CreateString(m.data));
    }
    sbuf_free(&m);
    return problems;
}

bool wo_report_fields(write_op *op, const char *what, const cJSON *paths, size_t total)
{
    if (total == 0 || op->validation == FV_IGNORE)
        return true;
    cJSON *problems = field_problems(what, paths, total);
    const cJSON *p;
    bool ok = op->validation == FV_WARN;
    if (ok) {
        cJSON_ArrayForEach(p, problems) as_add_warning(op->req, p->valuestring);
    } else {
        const char *kind = op->in.res->kind;
        sbuf msg = SBUF_INIT;
        sbuf_printf(&msg,
                    "%s in version \"%s\" cannot be handled as a %s: strict decoding error: ", kind,
                    op->in.res->version, kind);
        bool first = true;
        cJSON_ArrayForEach(p, problems)
        {
            sbuf_printf(&msg, "%s%s", first ? "" : ", ", p->valuestring);
            first = false;
        }
        as_respond_status(op->req, 400, "BadRequest", "%s", msg.data);
        sbuf_free(&msg);
    }
    cJSON_Delete(problems);
    return ok;
}

/*
 * The Content-Type of an object body (create, update, /status, /scale, bar, DeleteOptions; a
 * patch's is its patch type): JSON (also when absent: the HPA sends a Scale without one), YAML,
 * or protobuf for the kinds that have a protobuf form, as kube reads them. Anything else is kube's
 * 415, answered here: a body is never read as something it does not say it is.
 */
static bool body_type_known(write_op *op)
{
    const char *ct = op->req->content_type;
    if (!ct || !*ct || as_media_type_is(ct, "application/json") ||
        as_media_type_is(ct, "application/yaml"))
        return true;
    bool proto = k8s_proto_readable(op->in.res->group, op->in.res->kind);
    as_respond_status(op->req, 415, "UnsupportedMediaType",
                      "the body of the request was in an unknown format - accepted media types "
                      "include: application/json, application/yaml%s",
                      proto ? ", application/vnd.kubernetes.protobuf" : "");
    return false;
}

/* A YAML body (an object sent as application/yaml, or an apply patch that is not JSON). */
static cJSON *parse_yaml_body(write_op *op)
{
    api_error err = API_ERROR_INIT;
    cJSON *body = yaml_to_json(op->req->body.data, op->req->body.len, &err);
    if (!body)
        as_respond_status(op->req, 400, "BadRequest", "error decoding YAML: %s", err.message);
    apierr_clear(&err);
    return body;
}

/*
 * A protobuf body (docs/api.md §5.8), which kubectl 1.32+ and client-go send for the built-in
 * kinds. Kube's custom resources take only JSON and YAML: Foo's answer is kube's 415.
 */
static cJSON *parse_protobuf_body(write_op *op)
{
    as_req *req = op->req;
    if (!k8s_proto_readable(op->in.res->group, op->in.res->kind)) {
        as_respond_status(req, 415, "UnsupportedMediaType",
                          "the body of the request was in an unknown format - accepted media "
                          "types include: application/json, application/yaml");
        return NULL;
    }
    cJSON *dups = cJSON_CreateArray();
    cJSON *body = NULL;
    api_error e = API_ERROR_INIT;
    int n = k8s_proto_decode(req->body.data, req->body.len, dups, &body, &e);
    if (n < 0) {
        wo_respond_error(req, &e);
    } else if (!wo_report_fields(op, "duplicate field", dups, (size_t)n)) {
        cJSON_Delete(body);
        body = NULL;
    }
    cJSON_Delete(dups);
    return body;
}

cJSON *wo_parse_body(write_op *op)
{
    as_req *req = op->req;
    if (!parse_field_validation(op))
        return NULL;
    if (!req->body.len) {
        as_respond_status(req, 400, "BadRequest", "the request body is empty");
        return NULL;
    }
    if (as_media_type_is(req->content_type, K8S_PROTO_MEDIA_TYPE))
        return parse_protobuf_body(op);
    bool patch = op->in.kind == OP_PATCH || op->in.kind == OP_SCALE_PATCH;
    if (!patch && !body_type_known(op))
        return NULL;
    if (!patch && as_media_type_is(req->content_type, "application/yaml"))
        return parse_yaml_body(op);
    cJSON *dups = cJSON_CreateArray();
    size_t at = 0;
    cJSON *body = json_parse_body(req->body.data, req->body.len, dups, &at);
    if (!body && op->in.kind == OP_PATCH && op->in.ptype == PATCH_APPLY) {
        body = parse_yaml_body(op);
    } else if (!body) {
        as_respond_status(req, 400, "BadRequest",
                          "the request body is not valid JSON (at byte %zu of %zu)", at,
                          req->body.len);
    } else {
        if (!wo_report_fields(op, "duplicate field", dups, (size_t)cJSON_GetArraySize(dups))) {
            cJSON_Delete(body);
            body = NULL;
        }
    }
    cJSON_Delete(dups);
    return body;
}

bool wo_parse_dry_run(write_op *op)
{
    const char *v = as_param_get(op->req, "dryRun");
    if (!v || !*v)
        return true;
    if (strcmp(v, "All") == 0) {
        op->dry_run = true;
        return true;
    }
    api_error e = API_ERROR_INIT;
    apierr_add_cause(&e, "FieldValueNotSupported", "dryRun",
                     "Unsupported value: \"%s\": supported values: \"All\"", v);
    apierr_finish_invalid(&e, options_kind(op), "meta.k8s.io", "");
    wo_respond_error(op->req, &e);
    return false;
}

bool wo_check_type_meta(write_op *op, const cJSON *obj, const char *kind)
{
    sbuf gv = SBUF_INIT;
    as_resource_group_version(op->in.res, &gv);
    const char *av = json_path_string(obj, "apiVersion");
    const char *k = json_path_string(obj, "kind");
    bool ok = true;
    if (av && *av && strcmp(av, gv.data) != 0) {
        as_respond_status(op->req, 400, "BadRequest",
                          "the API version in the data (%s) does not match the expected API "
                          "version (%s)",
                          av, gv.data);
        ok = false;
    } else if (k && *k && strcmp(k, kind) != 0) {
        as_respond_status(op->req, 400, "BadRequest",
                          "the kind in the data (%s) does not match the expected kind (%s)", k,
                          kind);
        ok = false;
    }
    sbuf_free(&gv);
    return ok;
}

/* The patch types a PATCH may carry, by media type (docs/api.md §5.5). */
static const struct {
    const char *media;
    patch_type type;
} patch_types[] = {
    {"application/merge-patch+json", PATCH_MERGE},
    {"application/strategic-merge-patch+json", PATCH_STRATEGIC},
    {"application/apply-patch+yaml", PATCH_APPLY},
    {"application/json-patch+json", PATCH_JSON},
};

bool wo_parse_patch_type(write_op *op)
{
    for (size_t i = 0; i < sizeof patch_types / sizeof patch_types[0]; i++) {
        if (as_media_type_is(op->req->content_type, patch_types[i].media)) {
            op->in.ptype = patch_types[i].type;
            return true;
        }
    }
    as_respond_status(op->req, 415, "UnsupportedMediaType",
                      "the body of the request was in an unknown format - accepted media types "
                      "include: application/json-patch+json, application/merge-patch+json, "
                      "application/apply-patch+yaml, application/strategic-merge-patch+json");
    return false;
}

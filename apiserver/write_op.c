/*
 * write_op.c - the write_op of one write request, and the reading of the request every write
 * verb shares: the body, ?dryRun, the body's apiVersion/kind, the patch type.
 */
#include "apiserver/write_op.h"
#include "apiserver/negotiate.h"
#include "common/alloc.h"
#include "common/json.h"
#include "common/sbuf.h"

#include <stdlib.h>
#include <string.h>

write_op *wo_new(as_req *req, const as_target *t, op_kind kind)
{
    write_op *op = xcalloc(1, sizeof *op);
    op->req = req;
    op->res = t->resource;
    op->ns = t->ns ? xstrdup(t->ns) : NULL;
    op->name = t->name ? xstrdup(t->name) : NULL;
    op->kind = kind;
    op->status = t->sub && strcmp(t->sub, "status") == 0;
    return op;
}

void wo_free(write_op *op)
{
    free(op->ns);
    free(op->name);
    free(op->generate_prefix);
    cJSON_Delete(op->body);
    st_write_free(op->w);
    free(op);
}

void wo_respond_error(as_req *req, api_error *e)
{
    as_respond_error(req, e);
    apierr_clear(e);
}

cJSON *wo_parse_body(as_req *req)
{
    cJSON *body = req->body.len ? cJSON_ParseWithLength(req->body.data, req->body.len) : NULL;
    if (!body)
        as_respond_status(req, 400, "BadRequest",
                          req->body.len ? "the request body is not valid JSON"
                                        : "the request body is empty");
    return body;
}

bool wo_parse_dry_run(write_op *op, const char *options_kind)
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
    apierr_finish_invalid(&e, options_kind, "meta.k8s.io", "");
    wo_respond_error(op->req, &e);
    return false;
}

bool wo_check_type_meta(write_op *op, const cJSON *obj, const char *kind)
{
    sbuf gv = SBUF_INIT;
    as_resource_group_version(op->res, &gv);
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

/* The patch types a PATCH may carry, by media type (api-contract §5.5). */
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
    char type[128];
    as_media_type(op->req->content_type, type, sizeof type);
    for (size_t i = 0; i < sizeof patch_types / sizeof patch_types[0]; i++) {
        if (strcmp(type, patch_types[i].media) == 0) {
            op->ptype = patch_types[i].type;
            return true;
        }
    }
    as_respond_status(op->req, 415, "UnsupportedMediaType",
                      "the body of the request was in an unknown format - accepted media types "
                      "include: application/json-patch+json, application/merge-patch+json, "
                      "application/apply-patch+yaml, application/strategic-merge-patch+json");
    return false;
}

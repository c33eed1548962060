/*
 * subresources.c - the /scale and /bar subresources (docs/api.md §8.2, §8.3; docs/design.md §2).
 *
 * GET /scale answers the Scale view of the object; PUT and PATCH /scale, and POST /bar, are
 * write_ops run by write.c, whose incoming object object_rules.c computes (the object with the
 * Scale's replicas, or with a new spec.restartedAt).
 */
#include "apiserver/rest/handlers.h"
#include "apiserver/rest/server.h"
#include "apiserver/rest/write.h"
#include "apiserver/rest/write_op.h"
#include "common/json.h"

#include <stdlib.h>
#include <string.h>

/* GET/HEAD /scale: the Scale view of the current object, or 404. */
static void scale_get(as_req *req, const as_target *t)
{
    write_op tmp = {.req = req,
                    .in = {.res = t->resource, .name = (char *)t->name, .ns = (char *)t->ns}};
    uint64_t rev;
    cJSON *cur = wo_load_current(&tmp, &rev);
    if (!cur) {
        api_error e = API_ERROR_INIT;
        as_error_not_found(&e, t->resource, t->name);
        wo_respond_error(req, &e);
        return;
    }
    cJSON *scale = as_rules_scale_of(t->resource, cur);
    char *s = json_print(scale);
    as_respond_json(req, 200, s, strlen(s));
    free(s);
    cJSON_Delete(scale);
    cJSON_Delete(cur);
}

void as_handle_scale(as_req *req, const as_target *t)
{
    if (!as_check_accept(req))
        return;
    if (req->method == AS_GET || req->method == AS_HEAD) {
        as_read_fresh(req, t, scale_get);
        return;
    }
    if (req->method != AS_PUT && req->method != AS_PATCH) {
        as_respond_status(req, 405, "MethodNotAllowed",
                          "the server does not allow this method on the requested resource");
        return;
    }
    write_op *op = wo_new(req, t, req->method == AS_PUT ? OP_SCALE_UPDATE : OP_SCALE_PATCH);
    /* The HPA sends a Scale without Content-Type: read it as JSON (docs/api.md §8.2). */
    if ((op->in.kind == OP_SCALE_PATCH && !wo_parse_patch_type(op)) ||
        !(op->in.body = wo_parse_body(op)) || !wo_parse_dry_run(op)) {
        wo_free(op);
        return;
    }
    wo_attempt(op);
}

void as_handle_bar(as_req *req, const as_target *t)
{
    if (!as_check_accept(req))
        return;
    write_op *op = wo_new(req, t, OP_BAR);
    if (!(op->in.body = wo_parse_body(op)) || !wo_parse_dry_run(op) ||
        !wo_check_type_meta(op, op->in.body, "FooBar")) {
        wo_free(op);
        return;
    }
    const char *name = json_path_string(op->in.body, "metadata.name");
    if (name && *name && strcmp(name, op->in.name) != 0) {
        as_respond_status(req, 400, "BadRequest",
                          "the name of the object (%s) does not match the name on the URL (%s)",
                          name, op->in.name);
        wo_free(op);
        return;
    }
    wo_attempt(op);
}

/* Foo's bar (docs/api.md §8.3): GET shows the Foo, POST restarts it; nothing else. */
static void serve_bar(as_req *req, const as_target *t)
{
    if (req->method == AS_GET || req->method == AS_HEAD)
        return as_handle_get(req, t);
    if (req->method == AS_POST)
        return as_handle_bar(req, t);
    as_method_not_allowed(req, t->resource, req->method == AS_DELETE ? "delete" : "update");
}

static const as_custom_subresource custom_subresources[] = {
    {"demo.example.com", "foos", "bar", "FooBar", {"create", "get", NULL}, serve_bar},
};

const as_custom_subresource *as_custom_subresource_find(const as_resource *r, const char *name)
{
    size_t n = sizeof custom_subresources / sizeof custom_subresources[0];
    for (size_t i = 0; i < n; i++) {
        const as_custom_subresource *c = &custom_subresources[i];
        if (strcmp(c->group, r->group) == 0 && strcmp(c->resource, r->resource) == 0 &&
            strcmp(c->name, name) == 0)
            return c;
    }
    return NULL;
}

/*
 * delete.c - DELETE of one object and deletecollection (docs/api.md §5.6, §5.7).
 *
 * A single delete is a write_op like any other write (write.c runs it; object_rules.c decides
 * between removal and marking the object terminating). deletecollection applies the same rules to
 * every matching object of the watch cache's snapshot, submits one storage write per object
 * together, and answers once the last one commits.
 */
#include "apiserver/rest/server.h"
#include "apiserver/resource/list_select.h"
#include "apiserver/rest/write.h"
#include "apiserver/rest/write_op.h"
#include "common/alloc.h"
#include "common/json.h"
#include "common/sbuf.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

/* DeleteOptions validation (AM validation.go): policy values, and not both policy forms. Returns
   false after answering 422. */
static bool check_delete_options(write_op *op)
{
    const char *policy = as_rules_propagation_policy(&op->in);
    const cJSON *orphan = json_path(op->in.body, "orphanDependents");
    api_error e = API_ERROR_INIT;
    if (policy && cJSON_IsBool(orphan))
        apierr_add_cause(&e, "FieldValueInvalid", "propagationPolicy",
                         "Invalid value: \"%s\": orphanDependents and deletionPropagation cannot "
                         "be both set",
                         policy);
    else if (policy && strcmp(policy, "Orphan") != 0 && strcmp(policy, "Background") != 0 &&
             strcmp(policy, "Foreground") != 0)
        apierr_add_cause(&e, "FieldValueNotSupported", "propagationPolicy",
                         "Unsupported value: \"%s\": supported values: \"Foreground\", "
                         "\"Background\", \"Orphan\", \"nil\"",
                         policy);
    if (!apierr_finish_invalid(&e, "DeleteOptions", "meta.k8s.io", ""))
        return true;
    wo_respond_error(op->req, &e);
    return false;
}

/*
 * DeleteOptions.dryRun of the body (what kubectl delete --dry-run=server sends): a list whose
 * every value must be "All". Either it or ?dryRun makes the delete a dry run: kube reads the
 * query only when there is no body, but ignoring either would turn a dry run into a real delete.
 * Returns false after answering (400 for a value that is not a list of strings, 422 for others).
 */
static bool read_body_dry_run(write_op *op)
{
    const cJSON *list = json_path(op->in.body, "dryRun");
    if (!list || cJSON_IsNull(list))
        return true;
    const cJSON *v;
    bool strings = cJSON_IsArray(list);
    for (v = strings ? list->child : NULL; v; v = v->next)
        strings = strings && cJSON_IsString(v);
    if (!strings) {
        as_respond_status(op->req, 400, "BadRequest",
                          "DeleteOptions.dryRun must be a list of strings");
        return false;
    }
    api_error e = API_ERROR_INIT;
    cJSON_ArrayForEach(v, list)
    {
        if (strcmp(v->valuestring, "All") == 0)
            op->dry_run = true;
        else
            apierr_add_cause(&e, "FieldValueNotSupported", "dryRun",
                             "Unsupported value: \"%s\": supported values: \"All\"",
                             v->valuestring);
    }
    if (!apierr_finish_invalid(&e, "DeleteOptions", "meta.k8s.io", ""))
        return true;
    wo_respond_error(op->req, &e);
    return false;
}

/* The optional DeleteOptions body and ?dryRun, then their validation. Returns false after
   answering; op->in.body is set on success (NULL without a body) and may be set on failure. */
static bool read_delete_options(write_op *op)
{
    as_req *req = op->req;
    if (req->body.len && !(op->in.body = wo_parse_body(op)))
        return false;
    return wo_parse_dry_run(op) && read_body_dry_run(op) && check_delete_options(op);
}

void as_handle_delete(as_req *req, const as_target *t)
{
    if (!as_check_accept(req))
        return;
    write_op *op = wo_new(req, t, OP_DELETE);
    if (!read_delete_options(op)) {
        wo_free(op);
        return;
    }
    wo_attempt(op);
}

/* ---- deletecollection ------------------------------------------------------------------- */

/*
 * deletecollection: every matching object gets the delete of §5.6 (finalizers respected), as one
 * storage write each, submitted together; the request is resumed when the last one commits and
 * answers the list of deleted or now-terminating objects.
 */
typedef struct collection_op {
    as_req *req;
    const as_resource *res;
    atomic_int pending; /* writes not yet committed; the last one resumes the request */
    size_t n;
    st_write **writes; /* one per submitted write */
    wc_blob **kept;    /* objects already terminating: listed as they are */
    size_t nkept;
} collection_op;

/* Room for up to n planned writes and n kept objects. */
static collection_op *collection_new(as_req *req, const as_resource *res, size_t n)
{
    collection_op *cop = xcalloc(1, sizeof *cop);
    cop->req = req;
    cop->res = res;
    cop->writes = xcalloc(n ? n : 1, sizeof *cop->writes);
    cop->kept = xcalloc(n ? n : 1, sizeof *cop->kept);
    return cop;
}

static void collection_free(collection_op *cop)
{
    for (size_t i = 0; i < cop->n; i++)
        st_write_free(cop->writes[i]);
    free(cop->writes);
    wc_snapshot_free(cop->kept, cop->nkept);
    free(cop);
}

static void collection_respond(collection_op *cop)
{
    as_req *req = cop->req;
    sbuf *out = &req->out;
    sbuf_reset(out);
    sbuf_puts(out, "{\"apiVersion\":\"");
    as_resource_group_version(cop->res, out);
    sbuf_printf(out, "\",\"kind\":\"%s\",\"metadata\":{\"resourceVersion\":\"%llu\"},\"items\":[",
                cop->res->list_kind,
                (unsigned long long)wc_rev(as_cache_of(as_server_of(req), cop->res)));
    bool first = true;
    for (size_t i = 0; i < cop->n; i++) {
        if (cop->writes[i]->result != ST_OK)
            continue;
        sbuf_puts(out, first ? "" : ",");
        sbuf_append(out, cop->writes[i]->value, cop->writes[i]->value_len);
        first = false;
    }
    for (size_t i = 0; i < cop->nkept; i++) {
        sbuf_puts(out, first ? "" : ",");
        sbuf_append(out, cop->kept[i]->data, cop->kept[i]->len);
        first = false;
    }
    sbuf_puts(out, "]}");
    req->status = 200;
    req->responded = true;
    as_add_header(req, "Content-Type", "application/json");
}

static void collection_resume(as_req *req, void *data)
{
    collection_op *cop = data;
    if (!req->orphaned)
        collection_respond(cop);
    collection_free(cop);
}

/* Writer thread: the last committed write posts the request back to the service thread. */
static void collection_write_done(st_write *w)
{
    collection_op *cop = w->arg;
    if (atomic_fetch_sub(&cop->pending, 1) == 1)
        as_post_completion(cop->req->http, cop->req);
}

/* Plans the delete of one listed object: a write to submit, or the object kept as it is. */
static void collection_plan(collection_op *cop, write_op *tmpl, wc_blob *b, size_t prefix_len)
{
    write_op op = *tmpl;
    op.in.name = b->key + prefix_len;
    op.in.removed = false;
    cJSON *current = cJSON_ParseWithLength(b->data, b->len);
    cJSON *next = NULL;
    api_error e = API_ERROR_INIT;
    outcome out = current ? as_rules_delete(&op.in, current, &next, &e) : OUT_ERROR;
    cJSON_Delete(current);
    apierr_clear(&e); /* an object whose preconditions fail is left alone */
    if (out == OUT_NOOP) {
        cop->kept[cop->nkept++] = wc_blob_ref(b);
    } else if (out == OUT_WRITE) {
        st_write *w = st_write_new(op.in.removed ? ST_DELETE : ST_UPDATE, b->key, next, b->rev);
        w->done = collection_write_done;
        w->arg = cop;
        cop->writes[cop->n++] = w;
    }
}

/* Plans the delete of every object of the page a LIST with the same options would return. */
static collection_op *collection_plan_page(write_op *tmpl, const as_resource *r, as_page *page,
                                           size_t prefix_len)
{
    collection_op *cop = collection_new(tmpl->req, r, page->n);
    for (size_t i = 0; i < page->n; i++)
        collection_plan(cop, tmpl, page->items[i], prefix_len);
    return cop;
}

/* The page of objects the request's ListOptions and selectors cover. Answers on failure. */
static bool select_collection(as_req *req, const as_target *t, as_page *page, size_t *prefix_len)
{
    as_list_options o;
    as_selector sel = {0};
    api_error e = API_ERROR_INIT;
    sbuf prefix = SBUF_INIT;
    as_resource_prefix(t->resource, t->ns, &prefix);
    *prefix_len = prefix.len;
    bool ok = as_list_options_parse(as_req_query(req), AS_VERB_DELETECOLLECTION, &o, &e) &&
              as_selector_parse(o.field_selector, o.label_selector, &sel, &e) &&
              as_list_select(as_cache_of(as_server_of(req), t->resource), prefix.data,
                             t->resource->namespaced && !t->ns, &o, &sel, page, &e);
    if (!ok) {
        as_respond_error(req, &e);
        apierr_clear(&e);
    }
    as_selector_free(&sel);
    sbuf_free(&prefix);
    return ok;
}

/* Nothing to write, or a dry run: answers at once with what would be written, and frees cop. */
static void collection_answer_now(collection_op *cop)
{
    for (size_t i = 0; i < cop->n; i++) {
        st_write *w = cop->writes[i];
        w->value = json_print(w->obj);
        w->value_len = strlen(w->value);
        w->result = ST_OK;
    }
    collection_respond(cop);
    collection_free(cop);
}

void as_handle_delete_collection(as_req *req, const as_target *t)
{
    if (!as_check_accept(req))
        return;
    write_op tmpl = {.req = req,
                     .in = {.res = t->resource,
                            .kind = OP_DELETE,
                            .now_s = as_now_s(req),
                            .propagation_policy = as_param_get(req, "propagationPolicy")}};
    if (!read_delete_options(&tmpl)) {
        cJSON_Delete(tmpl.in.body);
        return;
    }
    as_page page = {0};
    size_t prefix_len = 0;
    if (!select_collection(req, t, &page, &prefix_len)) {
        as_page_free(&page);
        cJSON_Delete(tmpl.in.body);
        return;
    }
    collection_op *cop = collection_plan_page(&tmpl, t->resource, &page, prefix_len);
    as_page_free(&page);
    cJSON_Delete(tmpl.in.body);
    if (cop->n == 0 || tmpl.dry_run) {
        collection_answer_now(cop);
        return;
    }
    atomic_store(&cop->pending, (int)cop->n);
    as_req_park(req, collection_resume, cop);
    for (size_t i = 0; i < cop->n; i++)
        as_submit_write(req, cop->writes[i]);
}

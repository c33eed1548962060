/*
 * handlers.c - dispatch of resource requests, and the read verbs (get, list). Reads are served
 * from the watch cache by splicing stored JSON; nothing is parsed or re-serialized here.
 * The write verbs live in write.c (and the files write.h names), watch in watch.c.
 *
 * Consistent reads (docs/design.md, "Consistent reads and replicas"): with a store several
 * replicas share (etcd), another replica's acknowledged write reaches this replica's cache a
 * moment later through the store's event stream. A GET or LIST without resourceVersion ("the
 * most recent", kube's semantics) therefore first needs the store's current revision (its read
 * point: st_sync_rev, asked in rounds that serve every read waiting, readpoints.h) and waits
 * until the kind's cache has reached it, as kube's consistent read from cache does; one with
 * resourceVersion=N waits for N. The waits run on the server's waiter threads (as_req_park_on)
 * and the round thread, never on the service thread nor the compute thread (writes go on
 * meanwhile), and last at most kube's 3 s from the read's arrival, then answer 504.
 * resourceVersion=0 and continued lists are served from the cache as it is. SQLite has one writer,
 * this process, whose writes reach the cache before they are acknowledged: there every read is
 * served at once.
 */
#include "apiserver/rest/handlers.h"
#include "apiserver/rest/discovery.h"
#include "apiserver/resource/rules.h"
#include "apiserver/rest/server.h"
#include "apiserver/resource/list_select.h"
#include "apiserver/resource/readpoints.h"
#include "apiserver/transport/negotiate.h"
#include "apiserver/transport/workers.h"
#include "apiserver/resource/selector.h"
#include "apiserver/resource/table.h"
#include "apiserver/rest/watch.h"
#include "apiserver/rest/write.h"
#include "common/alloc.h"
#include "common/sbuf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void as_method_not_allowed(as_req *req, const as_resource *r, const char *verb)
{
    char q[128];
    as_respond_status(req, 405, "MethodNotAllowed",
                      "%s is not supported on resources of kind \"%s\"", verb,
                      as_resource_qualified(r, q, sizeof q));
}

static const char *query_get(const void *req, const char *key)
{
    return as_param_get(req, key);
}

as_query as_req_query(const as_req *req)
{
    return (as_query){.get = query_get, .src = req};
}

bool as_check_accept(as_req *req)
{
    if (as_negotiate(req->accept, false) != AS_MEDIA_NONE)
        return true;
    as_respond_status(req, 406, "NotAcceptable",
                      "only the following media types are accepted: application/json");
    return false;
}

static void not_acceptable(as_req *req)
{
    as_respond_status(req, 406, "NotAcceptable",
                      "only the following media types are accepted: application/json, "
                      "application/json;as=Table;v=v1;g=meta.k8s.io, "
                      "application/json;as=PartialObjectMetadata;v=v1;g=meta.k8s.io, "
                      "application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io");
}

/* Negotiates the representation of a read; answers 406 or 400 and returns false when none fits. */
static bool negotiate_read(as_req *req, as_response_shape shape, as_negotiated *n,
                           as_include_object *include)
{
    *n = as_negotiate_for(req->accept, shape);
    if (n->media == AS_MEDIA_NONE) {
        not_acceptable(req);
        return false;
    }
    const char *inc = as_param_get(req, "includeObject");
    if (!as_include_object_parse(inc, include)) {
        as_respond_status(req, 400, "BadRequest", "unrecognized includeObject value: \"%s\"", inc);
        return false;
    }
    return true;
}

int64_t as_now_s(as_req *req)
{
    return clk_wall_ms(as_server_of(req)->clock) / 1000;
}

/* Writes items as the negotiated representation of a list (or of one object when !list). */
static void render(as_req *req, const as_resource *r, const as_negotiated *n,
                   as_include_object include, const wc_blob *const *items, size_t count,
                   const as_list_meta *meta, bool list)
{
    sbuf *out = &req->out;
    if (!(list && n->media == AS_MEDIA_JSON)) /* a JSON list is spliced by the caller */
        sbuf_reset(out);
    if (n->media == AS_MEDIA_TABLE)
        as_table_render(out, r, n->meta_version, items, count, meta, include, true, as_now_s(req));
    else if (n->media == AS_MEDIA_PARTIAL_LIST)
        as_partial_list_render(out, n->meta_version, items, count, meta);
    else if (n->media == AS_MEDIA_PARTIAL)
        as_partial_render(out, n->meta_version, items[0]->data, items[0]->len);
    else if (!list)
        sbuf_append(out, items[0]->data, items[0]->len);
    req->status = 200;
    req->responded = true;
    as_add_header(req, "Content-Type", "application/json");
}

static void get_now(as_req *req, const as_target *t)
{
    as_negotiated n;
    as_include_object include;
    if (!negotiate_read(req, AS_SHAPE_OBJECT, &n, &include))
        return;
    sbuf key = SBUF_INIT;
    as_object_key(t->resource, t->ns, t->name, &key);
    wc_blob *b = wc_get(as_cache_of(as_server_of(req), t->resource), key.data);
    sbuf_free(&key);
    if (!b) {
        api_error e = API_ERROR_INIT;
        as_error_not_found(&e, t->resource, t->name);
        as_respond_error(req, &e);
        apierr_clear(&e);
        return;
    }
    as_list_meta meta = {.rev = b->rev};
    const wc_blob *items[1] = {b};
    render(req, t->resource, &n, include, items, 1, &meta, false);
    wc_blob_unref(b);
}

/* ---- list ------------------------------------------------------------------------------- */

static void append_list_head(const as_resource *r, uint64_t rev, const char *cont, size_t remaining,
                             sbuf *out)
{
    sbuf_puts(out, "{\"apiVersion\":\"");
    as_resource_group_version(r, out);
    sbuf_printf(out, "\",\"kind\":\"%s\",\"metadata\":{\"resourceVersion\":\"%llu\"", r->list_kind,
                (unsigned long long)rev);
    if (cont)
        sbuf_printf(out, ",\"continue\":\"%s\"", cont);
    if (cont && remaining) /* unknown (0) under a label selector: left out, as kube does */
        sbuf_printf(out, ",\"remainingItemCount\":%zu", remaining);
    sbuf_puts(out, "},\"items\":[");
}

static void splice_json_list(as_req *req, const as_resource *r, wc_blob **items, size_t n,
                             const as_list_meta *meta)
{
    sbuf *out = &req->out;
    sbuf_reset(out);
    size_t bytes = 0;
    for (size_t i = 0; i < n; i++)
        bytes += items[i]->len + 1;
    sbuf_reserve(out, bytes + 256);
    append_list_head(r, meta->rev, meta->cont, meta->remaining, out);
    for (size_t i = 0; i < n; i++) {
        if (i)
            sbuf_putc(out, ',');
        sbuf_append(out, items[i]->data, items[i]->len);
    }
    sbuf_puts(out, "]}");
}

static void list_now(as_req *req, const as_target *t)
{
    as_negotiated neg;
    as_include_object include;
    if (!negotiate_read(req, AS_SHAPE_LIST, &neg, &include))
        return;
    as_list_options o;
    as_selector sel = {0};
    as_page page = {0};
    api_error e = API_ERROR_INIT;
    sbuf prefix = SBUF_INIT;
    as_resource_prefix(t->resource, t->ns, &prefix);
    if (as_list_options_parse(as_req_query(req), AS_VERB_LIST, &o, &e) &&
        as_selector_parse(o.field_selector, o.label_selector, &sel, &e) &&
        as_list_select(as_cache_of(as_server_of(req), t->resource), prefix.data,
                       t->resource->namespaced && !t->ns, &o, &sel, &page, &e)) {
        as_list_meta meta = {.rev = page.rev, .cont = page.cont, .remaining = page.remaining};
        if (neg.media == AS_MEDIA_JSON)
            splice_json_list(req, t->resource, page.items, page.n, &meta);
        render(req, t->resource, &neg, include, (const wc_blob *const *)page.items, page.n, &meta,
               true);
    } else {
        as_respond_error(req, &e);
        apierr_clear(&e);
    }
    as_page_free(&page);
    as_selector_free(&sel);
    sbuf_free(&prefix);
}

/* ---- consistent reads (see the top) ----------------------------------------------------- */

/* A read waiting for the cache; owns copies of the target's strings (the router's buffer is
   gone by then). */
typedef struct fresh_read {
    as_req *req;
    as_read_fn serve;
    as_target t;
    char *ns, *name, *sub;
    uint64_t rv;         /* the revision asked for; 0 = the store's current one (a read point) */
    uint64_t arrived_ns; /* when the read arrived: its budget of AS_FRESH_READ_TIMEOUT_MS starts */
    rp_ask ask;          /* its place in the rounds of read points (readpoints.h) */
    /* the wait's outcome: reached; or failed, with err (the store did not answer); or neither
       (the cache did not reach rv in time) */
    bool reached, failed;
    api_error err;
} fresh_read;

/*
 * Whether req names a resourceVersion the kind's cache has not reached yet (*rv), with a store
 * several replicas share: another replica acknowledged it and this cache will show it a moment
 * later. A resourceVersion that is not a positive number is left to the handler's own parsing
 * (400, or 0: the cache as it is).
 */
static bool rv_ahead_of_cache(as_req *req, const as_target *t, uint64_t *rv)
{
    as_server *srv = as_server_of(req);
    const char *v = as_param_get(req, "resourceVersion");
    *rv = 0;
    if (!srv->store_shared || !v || v[0] < '0' || v[0] > '9')
        return false;
    char *end = NULL;
    errno = 0;
    unsigned long long n = strtoull(v, &end, 10);
    if (*end || errno != 0 || n == 0)
        return false;
    *rv = n;
    return n > wc_rev(as_cache_of(srv, t->resource));
}

/*
 * Whether the read must first wait for the cache, and for which revision (*rv, 0 = ask the
 * store). Only with a store other replicas write too; not for resourceVersion=0, a continued
 * list (its token pins a revision the cache has served), or a revision the cache has reached.
 */
static bool needs_wait(as_req *req, const as_target *t, uint64_t *rv)
{
    as_server *srv = as_server_of(req);
    const char *v = as_param_get(req, "resourceVersion");
    *rv = 0;
    if (!srv->store_shared || as_param_get(req, "continue"))
        return false;
    if (!v || !*v)
        return true;
    return rv_ahead_of_cache(req, t, rv);
}

/* 504 Timeout as kube's watch cache words it when it does not reach a revision in time. */
static void too_large(as_req *req, uint64_t rv, uint64_t current)
{
    api_error e = API_ERROR_INIT;
    apierr_set(&e, 504, "Timeout", "Too large resource version: %llu, current: %llu",
               (unsigned long long)rv, (unsigned long long)current);
    apierr_add_cause(&e, "ResourceVersionTooLarge", "", "Too large resource version");
    e.retry_after = 1;
    as_respond_error(req, &e);
    apierr_clear(&e);
}

/* A waiter thread: the wait for the cache to reach fr->rv, within what is left of the read's
   budget; then the read goes back to the service thread. */
static void fresh_read_wait(void *data)
{
    fresh_read *fr = data;
    as_server *srv = as_server_of(fr->req);
    uint64_t spent_ms = (clk_mono_ns(srv->clock) - fr->arrived_ns) / CLK_NS_PER_MS;
    int left_ms =
        spent_ms < AS_FRESH_READ_TIMEOUT_MS ? AS_FRESH_READ_TIMEOUT_MS - (int)spent_ms : 0;
    fr->reached = wc_wait_rev(as_cache_of(srv, fr->t.resource), fr->rv, left_ms);
    as_post_completion(fr->req->http, fr->req);
}

/* The round thread (readpoints.h): the read point is known. A cache already there serves the
   read at once; otherwise the wait goes to a waiter thread, never holding up the next round. */
static void fresh_read_point(void *arg, int rc, uint64_t rev, const api_error *err)
{
    fresh_read *fr = arg;
    as_server *srv = as_server_of(fr->req);
    if (rc != 0) {
        fr->failed = true;
        apierr_set(&fr->err, err->code, err->reason, "%s", err->message);
        fr->err.retry_after = err->retry_after;
        as_post_completion(fr->req->http, fr->req);
        return;
    }
    fr->rv = rev;
    if (wc_rev(as_cache_of(srv, fr->t.resource)) >= rev) {
        fr->reached = true;
        as_post_completion(fr->req->http, fr->req);
        return;
    }
    as_workers_submit(srv->waiters, fresh_read_wait, fr);
}

/* Service thread, or once the compute job that parked req is over (as_req_after_job): the read
   joins the next round of read points. */
static void fresh_read_ask(as_req *req, void *data)
{
    fresh_read *fr = data;
    fr->ask.arrived_ns = fr->arrived_ns;
    fr->ask.done = fresh_read_point;
    fr->ask.arg = fr;
    rp_ask_point(as_server_of(req)->read_points, &fr->ask);
}

/* Service thread, after the wait: the read itself, or why it cannot be made. */
static void fresh_read_resume(as_req *req, void *data)
{
    fresh_read *fr = data;
    if (!req->orphaned && fr->reached)
        fr->serve(req, &fr->t);
    else if (!req->orphaned && fr->failed)
        as_respond_error(req, &fr->err);
    else if (!req->orphaned)
        too_large(req, fr->rv, wc_rev(as_cache_of(as_server_of(req), fr->t.resource)));
    apierr_clear(&fr->err);
    free(fr->ns);
    free(fr->name);
    free(fr->sub);
    free(fr);
}

void as_read_fresh(as_req *req, const as_target *t, as_read_fn serve)
{
    uint64_t rv;
    if (!needs_wait(req, t, &rv)) {
        serve(req, t);
        return;
    }
    fresh_read *fr = xcalloc(1, sizeof *fr);
    fr->req = req;
    fr->serve = serve;
    fr->rv = rv;
    fr->err = (api_error)API_ERROR_INIT;
    fr->arrived_ns = clk_mono_ns(as_server_of(req)->clock);
    fr->ns = t->ns ? xstrdup(t->ns) : NULL;
    fr->name = t->name ? xstrdup(t->name) : NULL;
    fr->sub = t->sub ? xstrdup(t->sub) : NULL;
    fr->t = (as_target){.resource = t->resource, .ns = fr->ns, .name = fr->name, .sub = fr->sub};
    if (rv != 0) {
        as_req_park_on(req, as_server_of(req)->waiters, fresh_read_wait, fresh_read_resume, fr);
        return;
    }
    as_req_park(req, fresh_read_resume, fr);
    as_req_after_job(req, fresh_read_ask, fr);
}

void as_handle_get(as_req *req, const as_target *t)
{
    as_read_fresh(req, t, get_now);
}

static void handle_list(as_req *req, const as_target *t)
{
    as_read_fresh(req, t, list_now);
}

/*
 * A watch from a revision another replica acknowledged and this cache has not reached yet (an
 * informer that listed on one replica and watches on another) waits for it, as kube's watch cache
 * does, at most AS_FRESH_READ_TIMEOUT_MS on a waiter thread, then starts on the service thread;
 * past the wait, as_watch_begin answers the 504 ERROR event as before.
 */
typedef struct watch_wait {
    as_req *req;
    const as_resource *resource;
    char *ns;
    uint64_t rv;
    as_negotiated neg;
    as_include_object include;
} watch_wait;

static void watch_wait_rev(void *data)
{
    watch_wait *ww = data;
    (void)wc_wait_rev(as_cache_of(as_server_of(ww->req), ww->resource), ww->rv,
                      AS_FRESH_READ_TIMEOUT_MS);
    as_post_completion(ww->req->http, ww->req);
}

/* Service thread, resumed after the wait (or told the client left: nothing to start). */
static void watch_wait_resume(as_req *req, void *data)
{
    watch_wait *ww = data;
    if (!req->orphaned)
        as_watch_begin(req, ww->resource, ww->ns, ww->neg, ww->include);
    free(ww->ns);
    free(ww);
}

static void watch_after_wait(as_req *req, const as_target *t, uint64_t rv, as_negotiated neg,
                             as_include_object include)
{
    watch_wait *ww = xcalloc(1, sizeof *ww);
    ww->req = req;
    ww->resource = t->resource;
    ww->ns = t->ns ? xstrdup(t->ns) : NULL;
    ww->rv = rv;
    ww->neg = neg;
    ww->include = include;
    as_req_park_on(req, as_server_of(req)->waiters, watch_wait_rev, watch_wait_resume, ww);
}

static void handle_watch(as_req *req, const as_target *t)
{
    as_negotiated neg;
    as_include_object include;
    uint64_t rv;
    if (!negotiate_read(req, AS_SHAPE_WATCH, &neg, &include))
        return;
    /* An upgrade is answered in the callback that asks for it: it cannot wait elsewhere, so
       a WebSocket watch from a revision not reached yet gets the 504 ERROR event at once. */
    if (!req->websocket && rv_ahead_of_cache(req, t, &rv))
        watch_after_wait(req, t, rv, neg, include);
    else
        as_watch_begin(req, t->resource, t->ns, neg, include);
}

/* ---- dispatch --------------------------------------------------------------------------- */

/* GET on a collection: a watch when ?watch says so (a value that is not a boolean is a 400). */
static void handle_collection_read(as_req *req, const as_target *t)
{
    bool watch = false;
    api_error e = API_ERROR_INIT;
    if (!as_list_is_watch(as_req_query(req), &watch, &e)) {
        as_respond_error(req, &e);
        apierr_clear(&e);
    } else if (watch) {
        handle_watch(req, t);
    } else {
        handle_list(req, t);
    }
}

/* Writes that kube serves only at a namespace's collection, or not at all (namespaces have no
   deletecollection). */
static bool collection_write_allowed(const as_target *t, as_method m)
{
    if (t->resource->namespaced && !t->ns)
        return false;
    if (m == AS_DELETE && !as_resource_deletes_collections(t->resource))
        return false;
    return true;
}

static void handle_collection(as_req *req, const as_target *t)
{
    if ((req->method == AS_POST || req->method == AS_DELETE) &&
        !collection_write_allowed(t, req->method))
        return as_method_not_allowed(req, t->resource,
                                     req->method == AS_POST ? "create" : "deletecollection");
    switch (req->method) {
    case AS_GET:
    case AS_HEAD:
        handle_collection_read(req, t);
        return;
    case AS_POST:
        as_handle_create(req, t);
        return;
    case AS_DELETE:
        as_handle_delete_collection(req, t);
        return;
    default:
        as_method_not_allowed(req, t->resource, "this method");
    }
}

static void handle_item(as_req *req, const as_target *t)
{
    switch (req->method) {
    case AS_GET:
    case AS_HEAD:
        as_handle_get(req, t);
        return;
    case AS_PUT:
        as_handle_update(req, t);
        return;
    case AS_PATCH:
        as_handle_patch(req, t);
        return;
    case AS_DELETE:
        as_handle_delete(req, t);
        return;
    default:
        as_method_not_allowed(req, t->resource, "this method");
    }
}

static void handle_subresource(as_req *req, const as_target *t)
{
    const as_resource *r = t->resource;
    bool known = as_resource_has_subresource(r, t->sub);
    if (!known)
        return as_respond_status(req, 404, "NotFound",
                                 "the server could not find the requested resource");
    if (strcmp(t->sub, "scale") == 0)
        return as_handle_scale(req, t);
    const as_custom_subresource *custom = as_custom_subresource_find(r, t->sub);
    if (custom)
        return custom->handle(req, t);
    /* status: the item's get, update and patch (which see t->sub); no delete */
    if (req->method == AS_DELETE)
        return as_method_not_allowed(req, r, "delete");
    handle_item(req, t);
}

void as_handle_resource(as_req *req, const as_target *t)
{
    const as_resource *r = t->resource;
    bool scale_alias = t->ns && !r->namespaced && t->sub && strcmp(t->sub, "scale") == 0;
    if ((t->ns && !r->namespaced && !scale_alias) || (r->namespaced && t->name && !t->ns))
        return as_respond_status(req, 404, "NotFound",
                                 "the server could not find the requested resource");
    as_target local = *t;
    if (!r->namespaced)
        local.ns = NULL; /* the HPA's namespaced scale path (docs/api.md D11) */
    if (!local.name)
        return handle_collection(req, &local);
    if (!local.sub)
        return handle_item(req, &local);
    handle_subresource(req, &local);
}

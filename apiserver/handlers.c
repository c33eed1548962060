/*
 * handlers.c - dispatch of resource requests, and the read verbs (get, list). Reads are served
 * from the watch cache by splicing stored JSON; nothing is parsed or re-serialized here.
 * The write verbs live in write.c (and the files write.h names), watch in watch.c.
 */
#include "apiserver/handlers.h"
#include "apiserver/internal.h"
#include "apiserver/negotiate.h"
#include "apiserver/selector.h"
#include "apiserver/table.h"
#include "apiserver/watch.h"
#include "apiserver/write.h"
#include "common/alloc.h"
#include "common/sbuf.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

static void method_not_allowed(as_req *req, const as_resource *r, const char *verb)
{
    char q[128];
    as_respond_status(req, 405, "MethodNotAllowed",
                      "%s is not supported on resources of kind \"%s\"", verb,
                      as_resource_qualified(r, q, sizeof q));
}

bool as_check_accept(as_req *req)
{
    if (as_negotiate(req->accept, false) != AS_MEDIA_NONE)
        return true;
    as_respond_status(req, 406, "NotAcceptable",
                      "only the following media types are accepted: application/json");
    return false;
}

void as_object_key(const as_resource *r, const char *ns, const char *name, sbuf *out)
{
    as_resource_prefix(r, ns, out);
    sbuf_puts(out, name);
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
    return clk_wall_ms(req->server->clock) / 1000;
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

static void handle_get(as_req *req, const as_target *t)
{
    as_negotiated n;
    as_include_object include;
    if (!negotiate_read(req, AS_SHAPE_OBJECT, &n, &include))
        return;
    sbuf key = SBUF_INIT;
    as_object_key(t->resource, t->ns, t->name, &key);
    wc_blob *b = wc_get(req->server->cache, key.data);
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

/* The continue token: base64 of "<rv>:<last key>". Opaque to clients. */
static char *encode_continue(uint64_t rv, const char *last_key)
{
    sbuf raw = SBUF_INIT;
    sbuf_printf(&raw, "%llu:%s", (unsigned long long)rv, last_key);
    char *out = xmalloc(4 * (raw.len / 3 + 1) + 1);
    EVP_EncodeBlock((unsigned char *)out, (unsigned char *)raw.data, (int)raw.len);
    sbuf_free(&raw);
    return out;
}

/* Returns the last key of the previous page (and its list revision in *rev), or NULL. */
static char *decode_continue(const char *token, const char *prefix, uint64_t *rev)
{
    size_t n = strlen(token);
    if (n == 0 || n % 4 != 0)
        return NULL;
    unsigned char *raw = xmalloc(n);
    int len = EVP_DecodeBlock(raw, (const unsigned char *)token, (int)n);
    char *key = NULL;
    if (len > 0) {
        while (len > 0 && raw[len - 1] == '\0')
            len--; /* EVP_DecodeBlock keeps the padding as NULs */
        char *s = xstrndup((char *)raw, (size_t)len);
        char *colon = strchr(s, ':');
        if (colon && strncmp(colon + 1, prefix, strlen(prefix)) == 0) {
            key = xstrdup(colon + 1);
            *rev = strtoull(s, NULL, 10);
        }
        free(s);
    }
    free(raw);
    return key;
}

static bool valid_list_options(as_req *req, const char *rv, const char *match)
{
    api_error e = API_ERROR_INIT;
    if (match && *match) {
        if (!rv || !*rv)
            apierr_add_cause(&e, "FieldValueRequired", "resourceVersionMatch",
                             "Forbidden: resourceVersionMatch is forbidden unless resourceVersion "
                             "is provided");
        else if (strcmp(match, "Exact") != 0 && strcmp(match, "NotOlderThan") != 0)
            apierr_add_cause(&e, "FieldValueNotSupported", "resourceVersionMatch",
                             "Unsupported value: \"%s\": supported values: \"Exact\", "
                             "\"NotOlderThan\"",
                             match);
        else if (strcmp(match, "Exact") == 0 && strcmp(rv, "0") == 0)
            apierr_add_cause(&e, "FieldValueForbidden", "resourceVersionMatch",
                             "Forbidden: resourceVersionMatch \"exact\" is forbidden for "
                             "resourceVersion \"0\"");
    }
    if (as_param_get(req, "sendInitialEvents"))
        apierr_add_cause(&e, "FieldValueForbidden", "sendInitialEvents",
                         "Forbidden: sendInitialEvents is forbidden for list");
    if (apierr_finish_invalid(&e, "ListOptions", "meta.k8s.io", "")) {
        as_respond_error(req, &e);
        apierr_clear(&e);
        return false;
    }
    return true;
}

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

/* resourceVersion semantics of a list served from the cache (api-contract §5.2). */
static bool check_list_rv(as_req *req, const char *rv, const char *match, uint64_t current)
{
    if (rv && *rv && strtoull(rv, NULL, 10) > current) {
        api_error e = API_ERROR_INIT;
        apierr_set(&e, 504, "Timeout", "Too large resource version: %s, current: %llu", rv,
                   (unsigned long long)current);
        apierr_add_cause(&e, "ResourceVersionTooLarge", "", "Too large resource version");
        e.retry_after = 1;
        as_respond_error(req, &e);
        apierr_clear(&e);
        return false;
    }
    if (match && strcmp(match, "Exact") == 0 && strtoull(rv, NULL, 10) != current) {
        as_respond_status(req, 410, "Expired",
                          "The resourceVersion for the provided list is too old.");
        return false;
    }
    return true;
}

/* Keeps the selected items (in place); drops the references of the others. Returns the count. */
static size_t filter_items(wc_blob **items, size_t n, size_t prefix_len, const as_selector *sel)
{
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
        if (items[i] && as_selector_matches(sel, items[i]->key + prefix_len, items[i]))
            items[kept++] = items[i];
        else
            wc_blob_unref(items[i]);
    }
    return kept;
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

static void handle_list(as_req *req, const as_target *t)
{
    as_negotiated neg;
    as_include_object include;
    as_selector sel;
    const char *rv = as_param_get(req, "resourceVersion");
    const char *match = as_param_get(req, "resourceVersionMatch");
    if (!negotiate_read(req, AS_SHAPE_LIST, &neg, &include) || !valid_list_options(req, rv, match))
        return;
    if (!as_selector_parse(req, &sel) ||
        !check_list_rv(req, rv, match, wc_rev(req->server->cache))) {
        as_selector_free(&sel);
        return;
    }
    sbuf prefix = SBUF_INIT;
    as_resource_prefix(t->resource, t->ns, &prefix);
    const char *limit = as_param_get(req, "limit");
    const char *cont = as_param_get(req, "continue");
    char *after = NULL;
    uint64_t cont_rev = 0;
    if (cont && *cont && !(after = decode_continue(cont, prefix.data, &cont_rev))) {
        sbuf_free(&prefix);
        as_selector_free(&sel);
        return as_respond_status(req, 400, "BadRequest", "invalid continue token");
    }
    wc_cache *cache = req->server->cache;
    wc_blob **items = NULL;
    uint64_t rev = 0;
    size_t remaining = 0, n;
    if (sel.name_eq) { /* one object: no scan */
        sbuf key = SBUF_INIT;
        sbuf_printf(&key, "%s%s", prefix.data, sel.name_eq);
        items = xmalloc(sizeof *items);
        items[0] = wc_get(cache, key.data);
        rev = wc_rev(cache);
        n = 1;
        sbuf_free(&key);
    } else if (after && cont_rev < wc_rev(cache)) {
        /* Later pages show the list as it was at the first page's revision. */
        ptrdiff_t got = wc_list_at(cache, prefix.data, after, limit ? strtoull(limit, NULL, 10) : 0,
                                   cont_rev, &items, &remaining);
        if (got < 0) {
            free(after);
            sbuf_free(&prefix);
            as_selector_free(&sel);
            return as_respond_status(req, 410, "Expired",
                                     "The provided continue parameter is too old to display a "
                                     "consistent list result. You can start a new list without "
                                     "the continue parameter.");
        }
        n = (size_t)got;
        rev = cont_rev;
    } else {
        n = wc_list(cache, prefix.data, after, limit ? strtoull(limit, NULL, 10) : 0, &items, &rev,
                    &remaining);
    }
    char *next = remaining && n ? encode_continue(rev, items[n - 1]->key) : NULL;
    n = filter_items(items, n, prefix.len, &sel);
    /* kube counts what remains only when no selector filters it. */
    as_list_meta meta = {.rev = rev, .cont = next, .remaining = sel.labels ? 0 : remaining};
    if (neg.media == AS_MEDIA_JSON)
        splice_json_list(req, t->resource, items, n, &meta);
    render(req, t->resource, &neg, include, (const wc_blob *const *)items, n, &meta, true);
    wc_snapshot_free(items, n);
    free(next);
    free(after);
    as_selector_free(&sel);
    sbuf_free(&prefix);
}

static void handle_watch(as_req *req, const as_target *t)
{
    as_negotiated neg;
    as_include_object include;
    if (negotiate_read(req, AS_SHAPE_WATCH, &neg, &include))
        as_watch_begin(req, t->resource, t->ns, neg, include);
}

/* ---- dispatch --------------------------------------------------------------------------- */

static void handle_collection(as_req *req, const as_target *t)
{
    switch (req->method) {
    case AS_GET:
    case AS_HEAD:
        if (as_param_bool(req, "watch", false))
            handle_watch(req, t);
        else
            handle_list(req, t);
        return;
    case AS_POST:
        as_handle_create(req, t);
        return;
    case AS_DELETE:
        as_handle_delete_collection(req, t);
        return;
    default:
        method_not_allowed(req, t->resource, "this method");
    }
}

static void handle_item(as_req *req, const as_target *t)
{
    switch (req->method) {
    case AS_GET:
    case AS_HEAD:
        handle_get(req, t);
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
        method_not_allowed(req, t->resource, "this method");
    }
}

static void handle_subresource(as_req *req, const as_target *t)
{
    const as_resource *r = t->resource;
    bool known = (strcmp(t->sub, "status") == 0 && r->has_status) ||
                 (strcmp(t->sub, "scale") == 0 && r->has_scale) ||
                 (strcmp(t->sub, "bar") == 0 && r->has_bar);
    if (!known)
        return as_respond_status(req, 404, "NotFound",
                                 "the server could not find the requested resource");
    if (strcmp(t->sub, "scale") == 0)
        return as_handle_scale(req, t);
    if (strcmp(t->sub, "bar") == 0) {
        if (req->method == AS_GET || req->method == AS_HEAD)
            return handle_get(req, t);
        if (req->method == AS_POST)
            return as_handle_bar(req, t);
        return method_not_allowed(req, r, req->method == AS_DELETE ? "delete" : "update");
    }
    /* status: the item's get, update and patch (which see t->sub); no delete */
    if (req->method == AS_DELETE)
        return method_not_allowed(req, r, "delete");
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
        local.ns = NULL; /* the HPA's namespaced scale path (api-contract D11) */
    if (!local.name)
        return handle_collection(req, &local);
    if (!local.sub)
        return handle_item(req, &local);
    handle_subresource(req, &local);
}

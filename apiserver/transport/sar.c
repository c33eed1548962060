/*
 * sar.c - authorization by kube-apiserver's SubjectAccessReview API, decisions cached (sar.h),
 * and kube's wording of a denial.
 *
 * The review's JSON is written by hand in a fixed order (not through cJSON) so that the same
 * attributes always give the same bytes: the cache key is the SHA-256 of the spec.
 */
#include "apiserver/transport/sar.h"
#include "apiserver/transport/webhook.h"
#include "apiserver/transport/ttl_cache.h"
#include "common/alloc.h"
#include "common/json.h"
#include "common/sbuf.h"
#include "common/utf8.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define SAR_PATH "/apis/authorization.k8s.io/v1/subjectaccessreviews"

struct az_authorizer {
    kc_client *client;
    uint64_t allowed_ttl_ms, denied_ttl_ms;
    ttl_cache *cache;
    atomic_uint_fast64_t calls;
};

void az_decision_clear(az_decision *d)
{
    free(d->reason);
    *d = (az_decision){0};
}

static void *decision_dup(void *p)
{
    const az_decision *d = p;
    az_decision *copy = xmalloc(sizeof *copy);
    *copy = (az_decision){.allowed = d->allowed, .reason = xstrdup(d->reason)};
    return copy;
}

static void decision_free(void *p)
{
    az_decision_clear(p);
    free(p);
}

static const ttl_cache_ops decision_ops = {.dup = decision_dup, .free = decision_free};

az_authorizer *az_new(kc_client *client, uint64_t allowed_ttl_ms, uint64_t denied_ttl_ms,
                      clk_t *clock, size_t cache_size)
{
    az_authorizer *a = xcalloc(1, sizeof *a);
    a->client = client;
    a->allowed_ttl_ms = allowed_ttl_ms;
    a->denied_ttl_ms = denied_ttl_ms;
    a->cache = ttl_cache_new(cache_size, clock, &decision_ops);
    atomic_init(&a->calls, 0);
    return a;
}

void az_free(az_authorizer *a)
{
    if (!a)
        return;
    ttl_cache_free(a->cache);
    free(a);
}

static const char *or_empty(const char *s)
{
    return s ? s : "";
}

/* Appends "key":"value" (value NULL reads as ""), preceded by a comma unless first. */
static void put_member(sbuf *sb, bool first, const char *key, const char *value)
{
    if (!first)
        sbuf_putc(sb, ',');
    sbuf_json_string(sb, key);
    sbuf_putc(sb, ':');
    sbuf_json_string(sb, or_empty(value));
}

static void put_string_array(sbuf *sb, char *const *v, int n)
{
    sbuf_putc(sb, '[');
    for (int i = 0; i < n; i++) {
        if (i)
            sbuf_putc(sb, ',');
        sbuf_json_string(sb, v[i]);
    }
    sbuf_putc(sb, ']');
}

static int compare_extra_keys(const void *a, const void *b)
{
    const authn_extra *x = *(const authn_extra *const *)a;
    const authn_extra *y = *(const authn_extra *const *)b;
    return strcmp(x->key, y->key);
}

/* "extra":{...} with the keys sorted, as Go marshals a map: insertion order must not matter. */
static void put_extra(sbuf *sb, const authn_user *u)
{
    const authn_extra **sorted = xcalloc((size_t)u->nextra + 1, sizeof *sorted);
    for (int i = 0; i < u->nextra; i++)
        sorted[i] = &u->extra[i];
    qsort(sorted, (size_t)u->nextra, sizeof *sorted, compare_extra_keys);
    sbuf_puts(sb, ",\"extra\":{");
    for (int i = 0; i < u->nextra; i++) {
        if (i)
            sbuf_putc(sb, ',');
        sbuf_json_string(sb, sorted[i]->key);
        sbuf_putc(sb, ':');
        put_string_array(sb, sorted[i]->values, sorted[i]->nvalues);
    }
    sbuf_putc(sb, '}');
    free(sorted);
}

/* The spec object of the review of attrs, in the order of docs/api.md §9.6. */
static void put_spec(sbuf *sb, const az_attributes *attrs)
{
    const authn_user *u = attrs->user;
    sbuf_putc(sb, '{');
    put_member(sb, true, "user", u->name);
    put_member(sb, false, "uid", u->uid);
    sbuf_puts(sb, ",\"groups\":");
    put_string_array(sb, u->groups, u->ngroups);
    put_extra(sb, u);
    if (attrs->resource_request) {
        sbuf_puts(sb, ",\"resourceAttributes\":{");
        put_member(sb, true, "verb", attrs->verb);
        put_member(sb, false, "group", attrs->group);
        put_member(sb, false, "version", attrs->version);
        put_member(sb, false, "resource", attrs->resource);
        put_member(sb, false, "subresource", attrs->subresource);
        put_member(sb, false, "name", attrs->name);
        put_member(sb, false, "namespace", attrs->namespace);
    } else {
        sbuf_puts(sb, ",\"nonResourceAttributes\":{");
        put_member(sb, true, "path", attrs->path);
        put_member(sb, false, "verb", attrs->verb);
    }
    sbuf_puts(sb, "}}");
}

/* The whole review in sb, and the cache key of its spec. */
static void build_review(const az_attributes *attrs, sbuf *sb, unsigned char key[TTL_CACHE_KEY_LEN])
{
    sbuf_init(sb);
    sbuf_puts(sb, "{\"apiVersion\":\"authorization.k8s.io/v1\",\"kind\":\"SubjectAccessReview\","
                  "\"spec\":");
    size_t spec_start = sb->len;
    put_spec(sb, attrs);
    ttl_cache_key(sb->data + spec_start, sb->len - spec_start, key);
    sbuf_putc(sb, '}');
}

char *az_review_json(const az_attributes *attrs)
{
    sbuf sb;
    unsigned char key[TTL_CACHE_KEY_LEN];
    build_review(attrs, &sb, key);
    return sbuf_detach(&sb, NULL);
}

/* Hands a cached decision over to *out and frees its shell. */
static void take_decision(az_decision *d, az_decision *out)
{
    *out = *d;
    free(d);
}

int az_authorize_cached(az_authorizer *a, const az_attributes *attrs, az_decision *out)
{
    *out = (az_decision){0};
    sbuf sb;
    unsigned char key[TTL_CACHE_KEY_LEN];
    build_review(attrs, &sb, key);
    sbuf_free(&sb);
    void *d = NULL;
    if (ttl_cache_get(a->cache, key, &d) != 0)
        return -ENOENT;
    take_decision(d, out);
    return 0;
}

/* Reads status.allowed and status.reason. Returns 0, or -EPROTO with err set. */
static int parse_status(const kc_response *resp, az_decision *out, api_error *err)
{
    cJSON *root = cJSON_ParseWithLength(resp->body, resp->len);
    const cJSON *status = cJSON_GetObjectItemCaseSensitive(root, "status");
    const cJSON *allowed = cJSON_GetObjectItemCaseSensitive(status, "allowed");
    const cJSON *reason = cJSON_GetObjectItemCaseSensitive(status, "reason");
    int rc = 0;
    if (!cJSON_IsObject(status) || (allowed && !cJSON_IsBool(allowed)) ||
        (reason && !cJSON_IsString(reason)))
        rc = apierr_local(err, -EPROTO, "SubjectAccessReview answer without a valid status");
    else
        *out = (az_decision){.allowed = cJSON_IsTrue(allowed),
                             .reason = xstrdup(or_empty(cJSON_GetStringValue(reason)))};
    cJSON_Delete(root);
    return rc;
}

/* POSTs the review and reads its decision. Returns 0, -EIO or -EPROTO (err set). */
static int call_review(az_authorizer *a, const sbuf *review, az_decision *out, api_error *err)
{
    kc_response resp = {0};
    api_error call_err = API_ERROR_INIT;
    int rc =
        webhook_post(a->client, SAR_PATH, review->data, review->len, &a->calls, &resp, &call_err);
    if (rc != 0) {
        rc = apierr_local(err, -EIO, "SubjectAccessReview failed (HTTP %d): %s", call_err.code,
                          call_err.message ? call_err.message : "no message");
        apierr_clear(&call_err);
        return rc;
    }
    rc = parse_status(&resp, out, err);
    kc_response_free(&resp);
    return rc;
}

int az_authorize(az_authorizer *a, const az_attributes *attrs, az_decision *out, api_error *err)
{
    *out = (az_decision){0};
    sbuf review;
    unsigned char key[TTL_CACHE_KEY_LEN];
    build_review(attrs, &review, key);
    void *cached = NULL;
    int rc = 0;
    if (ttl_cache_get(a->cache, key, &cached) == 0) {
        take_decision(cached, out);
    } else {
        rc = call_review(a, &review, out, err);
        if (rc == 0)
            ttl_cache_put(a->cache, key, decision_dup(out),
                          out->allowed ? a->allowed_ttl_ms : a->denied_ttl_ms);
    }
    sbuf_free(&review);
    return rc;
}

void az_stats_get(az_authorizer *a, az_stats *out)
{
    ttl_cache_stats cs;
    ttl_cache_stats_get(a->cache, &cs);
    *out = (az_stats){
        .calls = atomic_load(&a->calls),
        .hits = cs.hits,
        .misses = cs.misses,
    };
}

/*
 * Appends s quoted as Go's %q (strconv.Quote) does: backslash escapes for quote, backslash and
 * the usual control characters, \x.. for other control bytes and for bytes that are not UTF-8,
 * \u.... for the C1 controls, other characters as they are. (Go also escapes the rarer
 * non-printable code points, such as U+00AD; a user or resource name holding one would be
 * quoted differently.)
 */
static void put_go_quoted(sbuf *sb, const char *s)
{
    static const char *const named[] = {
        ['\a'] = "\\a", ['\b'] = "\\b", ['\f'] = "\\f", ['\n'] = "\\n", ['\r'] = "\\r",
        ['\t'] = "\\t", ['\v'] = "\\v", ['"'] = "\\\"", ['\\'] = "\\\\"};
    const unsigned char *p = (const unsigned char *)or_empty(s);
    size_t n = strlen((const char *)p);
    sbuf_putc(sb, '"');
    while (n > 0) {
        unsigned cp = 0;
        size_t len = utf8_sequence(p, n, &cp);
        if (len == 0) {
            len = 1;
            sbuf_printf(sb, "\\x%02x", *p);
        } else if (cp < sizeof named / sizeof *named && named[cp]) {
            sbuf_puts(sb, named[cp]);
        } else if (cp < 0x20 || cp == 0x7f) {
            sbuf_printf(sb, "\\x%02x", cp);
        } else if (cp >= 0x80 && cp < 0xa0) {
            sbuf_printf(sb, "\\u%04x", cp);
        } else {
            sbuf_append(sb, p, len);
        }
        p += len;
        n -= len;
    }
    sbuf_putc(sb, '"');
}

/* kube's forbiddenMessage: who cannot do what, where. */
static void put_forbidden_reason(sbuf *sb, const az_attributes *attrs)
{
    sbuf_puts(sb, "User ");
    put_go_quoted(sb, attrs->user ? attrs->user->name : "");
    sbuf_printf(sb, " cannot %s ", or_empty(attrs->verb));
    if (!attrs->resource_request) {
        sbuf_puts(sb, "path ");
        put_go_quoted(sb, attrs->path);
        return;
    }
    char *resource = attrs->subresource && *attrs->subresource
                         ? xasprintf("%s/%s", or_empty(attrs->resource), attrs->subresource)
                         : xstrdup(or_empty(attrs->resource));
    sbuf_puts(sb, "resource ");
    put_go_quoted(sb, resource);
    free(resource);
    sbuf_puts(sb, " in API group ");
    put_go_quoted(sb, attrs->group);
    if (attrs->namespace && *attrs->namespace) {
        sbuf_puts(sb, " in the namespace ");
        put_go_quoted(sb, attrs->namespace);
    } else {
        sbuf_puts(sb, " at the cluster scope");
    }
}

void az_forbidden(api_error *e, const az_attributes *attrs, const char *reason)
{
    const char *resource = attrs->resource_request ? or_empty(attrs->resource) : "";
    const char *group = attrs->resource_request ? or_empty(attrs->group) : "";
    const char *name = attrs->resource_request ? or_empty(attrs->name) : "";
    sbuf msg;
    sbuf_init(&msg);
    /* apierrors.NewForbidden: the qualified resource ("foos.demo.example.com", or "foos" in the
       core group) and the quoted name, when there are. */
    if (*resource || *group) {
        sbuf_puts(&msg, resource);
        if (*group)
            sbuf_printf(&msg, ".%s", group);
        if (*name) {
            sbuf_putc(&msg, ' ');
            put_go_quoted(&msg, name);
        }
        sbuf_puts(&msg, " is ");
    }
    sbuf_puts(&msg, "forbidden: ");
    put_forbidden_reason(&msg, attrs);
    if (reason && *reason)
        sbuf_printf(&msg, ": %s", reason);
    apierr_set(e, 403, "Forbidden", "%s", msg.data);
    apierr_details(e, *name ? name : NULL, *group ? group : NULL, *resource ? resource : NULL);
    sbuf_free(&msg);
}

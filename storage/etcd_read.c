/*
 * etcd_read.c - the etcd store's requests that read: its connection pool, one POST with etcd's
 * errors sorted out, the current revision and the marker, a whole prefix page by page, and
 * st_load, st_sync_rev and st_health on top of them (st_history: etcd_history.c).
 */
#include "storage/etcd_store.h"

#include "storage/etcd_json.h"

#include "common/alloc.h"
#include "common/json.h"
#include "common/log.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Keys per page when reading a whole prefix. */
#define EX_PAGE_LIMIT 500

/* ---- connections ------------------------------------------------------------------------- */

eh_conn *ex_conn_get(ex_store *s)
{
    eh_conn *c = NULL;
    pthread_mutex_lock(&s->pool_mu);
    if (s->n_pool > 0)
        c = s->pool[--s->n_pool];
    pthread_mutex_unlock(&s->pool_mu);
    return c ? c : eh_new(&s->target);
}

void ex_conn_put(ex_store *s, eh_conn *c)
{
    pthread_mutex_lock(&s->pool_mu);
    if (s->n_pool < (int)(sizeof(s->pool) / sizeof(s->pool[0]))) {
        s->pool[s->n_pool++] = c;
        c = NULL;
    }
    pthread_mutex_unlock(&s->pool_mu);
    eh_free(c);
}

int ex_call(eh_conn *c, const char *path, const char *body, int timeout_ms, sbuf *resp,
            const char **why)
{
    long status = 0;
    int rc = eh_post(c, path, body, timeout_ms, resp, &status, why);
    if (rc != 0)
        return rc == -ETIMEDOUT ? -ETIMEDOUT : ST_EIO;
    if (status == 200)
        return 0;
    char *msg = ej_parse_error(resp->data, resp->len);
    int out = ST_EIO;
    if (msg && strstr(msg, "required revision has been compacted"))
        out = -ERANGE;
    else if (msg && strstr(msg, "request is too large"))
        out = ST_ETOOLARGE; /* etcd's --max-request-bytes is below ST_MAX_OBJECT_BYTES + key */
    if (out != -ERANGE) {
        char code[16];
        snprintf(code, sizeof(code), "%ld", status);
        log_kv(LOG_WARN, "etcd refused a request", "path", path, "status", code, "error",
               msg ? msg : "(no error text)", NULL);
        *why = "etcd refused the request";
    }
    free(msg);
    return out;
}

/* ---- reads ------------------------------------------------------------------------------- */

/* Hands one page's key-values to fn (keys without the prefix, values stamped). */
static int ex_visit_page(ex_store *s, const ej_range *r, st_kv_fn fn, void *ctx)
{
    for (size_t i = 0; i < r->n; i++) {
        const ej_kv *kv = &r->kvs[i];
        if (!ex_own_key(s, kv->key)) {
            log_kv(LOG_ERROR, "etcd returned a key outside the range asked", "key", kv->key, NULL);
            return ST_EIO;
        }
        size_t len = 0;
        char *v = ej_stamp_rv(kv->value, kv->value_len, kv->mod_rev, &len);
        if (!v) {
            log_kv(LOG_ERROR, "stored value is not a JSON object; skipped", "key", kv->key, NULL);
            continue;
        }
        fn(ctx, kv->key + s->prefix_len, v, len, kv->mod_rev);
        free(v);
    }
    return 0;
}

int ex_range_all(ex_store *s, eh_conn *c, const char *sub, uint64_t rev, st_kv_fn fn, void *ctx,
                 uint64_t *at)
{
    /* Store keys start with '/': an empty sub reads them all, and nothing else. */
    char *key = xasprintf("%s%s", s->prefix, sub[0] ? sub : "/");
    char *after = NULL;
    sbuf resp = SBUF_INIT;
    int rc = 0;
    for (bool more = true; more && rc == 0;) {
        char *body = ej_range_request(key, true, after, rev, EX_PAGE_LIMIT, false);
        const char *why = NULL;
        rc = ex_call(c, "/v3/kv/range", body, 0, &resp, &why);
        free(body);
        ej_range r;
        if (rc == 0 && ej_parse_range(resp.data, resp.len, &r) != 0) {
            log_kv(LOG_ERROR, "cannot decode etcd's range answer", NULL);
            rc = ST_EIO;
        }
        if (rc != 0)
            break;
        if (rev == 0)
            rev = r.rev; /* the first page was read at the answer's revision; so are the next */
        more = r.more && r.n > 0;
        rc = ex_visit_page(s, &r, fn, ctx);
        if (r.n > 0) {
            free(after);
            after = xstrdup(r.kvs[r.n - 1].key);
        }
        ej_range_free(&r);
    }
    if (rc == 0)
        *at = rev;
    free(key);
    free(after);
    sbuf_free(&resp);
    return rc == -ETIMEDOUT ? ST_EIO : rc;
}

int ex_current(ex_store *s, eh_conn *c, int timeout_ms, uint64_t *rev, uint64_t *marker_rev,
               const char **why)
{
    /* The marker key is the prefix itself (etcd_store.h). */
    char *body = ej_range_request(s->prefix, false, NULL, 0, 0, false);
    sbuf resp = SBUF_INIT;
    uint64_t marker = 0;
    int rc = ex_call(c, "/v3/kv/range", body, timeout_ms, &resp, why);
    if (rc == 0 && ej_parse_marker(resp.data, resp.len, rev, &marker) != 0) {
        log_kv(LOG_ERROR, "cannot decode etcd's range answer", NULL);
        *why = "undecodable answer from etcd";
        rc = ST_EIO;
    }
    if (marker_rev)
        *marker_rev = marker;
    free(body);
    sbuf_free(&resp);
    return rc;
}

int ex_load(st_store *base, const char *prefix, st_kv_fn fn, void *ctx, uint64_t *rev)
{
    ex_store *s = ex_of(base);
    eh_conn *c = ex_conn_get(s);
    uint64_t at = 0;
    int rc = ex_range_all(s, c, prefix, s->pinned_rev, fn, ctx, &at);
    s->pinned_rev = 0; /* only the load right after st_history reads at its revision */
    ex_conn_put(s, c);
    if (rc != 0)
        return ST_EIO;
    pthread_mutex_lock(&s->mu);
    if (at > s->start_rev)
        s->start_rev = at;
    if (at > s->delivered) {
        s->delivered = at;
        atomic_store(&s->pub_rev, at);
    }
    pthread_mutex_unlock(&s->mu);
    if (rev)
        *rev = at;
    return ST_OK;
}

int ex_sync_rev(st_store *base, int timeout_ms, uint64_t *rev, api_error *err)
{
    ex_store *s = ex_of(base);
    eh_conn *c = ex_conn_get(s);
    const char *why = "etcd unreachable";
    uint64_t now = 0;
    int rc = ex_current(s, c, timeout_ms > 0 ? timeout_ms : 1, &now, rev, &why);
    ex_conn_put(s, c);
    if (rc == -ETIMEDOUT)
        apierr_set(err, 504, "Timeout", "etcd did not answer a consistent read in time: %s", why);
    else if (rc != 0)
        apierr_set(err, 503, "ServiceUnavailable", "etcd cannot serve a consistent read: %s", why);
    return rc == 0 ? 0 : rc == -ETIMEDOUT ? -ETIMEDOUT : ST_EIO;
}

int ex_health(st_store *base, const char **why)
{
    if (atomic_load(&ex_of(base)->healthy))
        return 0;
    if (why)
        *why = "etcd unreachable";
    return -EIO;
}

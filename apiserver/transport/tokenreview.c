/*
 * tokenreview.c - bearer tokens checked by kube-apiserver's TokenReview API, answers cached
 * (tokenreview.h).
 *
 * The cache maps SHA-256(token) to a tr_answer: the user, or NULL for a rejected token. The
 * request body is built by hand into one buffer sized up front, so that no reallocation leaves a
 * stray copy of the token: each copy we make (that body, a NUL-terminated copy, the answer that
 * echoes it) is wiped before it is freed.
 */
#include "apiserver/transport/tokenreview.h"
#include "apiserver/transport/webhook.h"
#include "apiserver/transport/ttl_cache.h"
#include "common/alloc.h"
#include "common/json.h"
#include "common/sbuf.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define TR_PATH "/apis/authentication.k8s.io/v1/tokenreviews"

/* What the cache holds for one token. */
typedef struct tr_answer {
    authn_user *user; /* NULL: the token was rejected */
} tr_answer;

/*
 * One review in progress. Requests with the same token that arrive meanwhile wait for its
 * answer instead of making calls of their own, as kube's caching token authenticator does: a
 * client opening several connections at once (kubectl's discovery) costs one TokenReview.
 */
typedef struct tr_flight {
    unsigned char key[TTL_CACHE_KEY_LEN];
    struct tr_flight *next;
    int waiters;       /* requests waiting for it; the last one to leave frees a landed flight */
    bool landed;       /* the fields below are final */
    int rc;            /* the review's result, in tr_authenticate's terms */
    tr_answer *answer; /* when rc == 0 */
    api_error err;     /* why, for a rejection or a failure */
} tr_flight;

struct tr_webhook {
    kc_client *client;
    uint64_t ttl_ms;
    ttl_cache *cache;
    atomic_uint_fast64_t calls;
    pthread_mutex_t mu; /* guards flights; taken before the cache's lock, never after */
    pthread_cond_t landed;
    tr_flight *flights;
};

static void *answer_dup(void *p)
{
    const tr_answer *a = p;
    tr_answer *copy = xmalloc(sizeof *copy);
    copy->user = a->user ? authn_user_ref(a->user) : NULL;
    return copy;
}

static void answer_free(void *p)
{
    tr_answer *a = p;
    authn_user_free(a->user);
    free(a);
}

static const ttl_cache_ops answer_ops = {.dup = answer_dup, .free = answer_free};

tr_webhook *tr_new(kc_client *client, uint64_t ttl_ms, clk_t *clock, size_t cache_size)
{
    tr_webhook *w = xcalloc(1, sizeof *w);
    w->client = client;
    w->ttl_ms = ttl_ms;
    w->cache = ttl_cache_new(cache_size, clock, &answer_ops);
    atomic_init(&w->calls, 0);
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->landed, NULL);
    return w;
}

void tr_free(tr_webhook *w)
{
    if (!w)
        return;
    ttl_cache_free(w->cache);
    pthread_cond_destroy(&w->landed);
    pthread_mutex_destroy(&w->mu);
    free(w);
}

/* Hands a cached or fresh answer to the caller in tr_lookup_cached's terms; frees a. */
static int answer_result(tr_answer *a, authn_user **out)
{
    *out = a->user;
    a->user = NULL;
    free(a);
    return *out ? 0 : -EACCES;
}

int tr_lookup_cached(tr_webhook *w, const char *token, size_t len, authn_user **out)
{
    *out = NULL;
    unsigned char key[TTL_CACHE_KEY_LEN];
    ttl_cache_key(token, len, key);
    void *a = NULL;
    if (ttl_cache_get(w->cache, key, &a) != 0)
        return -ENOENT;
    return answer_result(a, out);
}

/*
 * The request body, in a buffer reserved once so that no reallocation leaves a copy of the
 * token behind (JSON escaping makes a byte at most 6). The caller wipes and frees it.
 */
static void review_body(const char *token, sbuf *body)
{
    sbuf_init(body);
    sbuf_reserve(body, 6 * strlen(token) + 128);
    sbuf_puts(body, "{\"apiVersion\":\"authentication.k8s.io/v1\",\"kind\":\"TokenReview\","
                    "\"spec\":{\"token\":");
    sbuf_json_string(body, token);
    sbuf_puts(body, "}}");
}

static void wipe_body(sbuf *body)
{
    if (body->data)
        OPENSSL_cleanse(body->data, body->cap);
    sbuf_free(body);
}

/* POSTs the review of token (NUL-terminated). Returns 0 with *resp, or -EIO with err set. */
static int post_review(tr_webhook *w, const char *token, kc_response *resp, api_error *err)
{
    sbuf body;
    review_body(token, &body);
    api_error call_err = API_ERROR_INIT;
    int rc = webhook_post(w->client, TR_PATH, body.data, body.len, &w->calls, resp, &call_err);
    wipe_body(&body);
    if (rc != 0) {
        apierr_local(err, -EIO, "TokenReview failed (HTTP %d): %s", call_err.code,
                     call_err.message ? call_err.message : "no message");
        apierr_clear(&call_err);
        return -EIO;
    }
    return 0;
}

/* Reads status.user of an authenticated review into a new user. Returns NULL when malformed. */
static authn_user *user_from_status(const cJSON *user)
{
    const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(user, "username"));
    const cJSON *uid = cJSON_GetObjectItemCaseSensitive(user, "uid");
    const cJSON *groups = cJSON_GetObjectItemCaseSensitive(user, "groups");
    const cJSON *extra = cJSON_GetObjectItemCaseSensitive(user, "extra");
    if (!name || !*name || (uid && !cJSON_IsString(uid)) || (groups && !cJSON_IsArray(groups)) ||
        (extra && !cJSON_IsObject(extra)))
        return NULL;
    authn_user *u = authn_user_new(name, cJSON_GetStringValue(uid));
    const cJSON *g;
    cJSON_ArrayForEach(g, groups)
    {
        if (!cJSON_IsString(g))
            goto bad;
        authn_user_add_group(u, g->valuestring);
    }
    const cJSON *values;
    cJSON_ArrayForEach(values, extra)
    {
        if (!cJSON_IsArray(values))
            goto bad;
        const cJSON *v;
        cJSON_ArrayForEach(v, values)
        {
            if (!cJSON_IsString(v))
                goto bad;
            authn_user_add_extra(u, values->string, v->valuestring);
        }
    }
    if (!authn_user_has_group(u, AUTHN_GROUP_AUTHENTICATED))
        authn_user_add_group(u, AUTHN_GROUP_AUTHENTICATED);
    return u;
bad:
    authn_user_free(u);
    return NULL;
}

/*
 * Turns the JSON of a 2xx answer into a cacheable answer. Returns 0 with *out, or -EPROTO with
 * err set when it is not a TokenReview status. A rejection fills err with a 401 naming
 * status.error.
 */
static int parse_review(const cJSON *root, tr_answer **out, api_error *err)
{
    *out = NULL;
    const cJSON *status = cJSON_GetObjectItemCaseSensitive(root, "status");
    const cJSON *authenticated = cJSON_GetObjectItemCaseSensitive(status, "authenticated");
    if (!cJSON_IsObject(status) || (authenticated && !cJSON_IsBool(authenticated)))
        return apierr_local(err, -EPROTO, "TokenReview answer without a valid status");
    if (!cJSON_IsTrue(authenticated)) {
        const char *why = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(status, "error"));
        bool has_why = why && *why;
        apierr_set(err, 401, "Unauthorized", "token rejected by TokenReview%s%s",
                   has_why ? ": " : "", has_why ? why : "");
        *out = xcalloc(1, sizeof **out);
        return 0;
    }
    authn_user *u = user_from_status(cJSON_GetObjectItemCaseSensitive(status, "user"));
    if (!u)
        return apierr_local(err, -EPROTO, "TokenReview authenticated a malformed status.user");
    *out = xcalloc(1, sizeof **out);
    (*out)->user = u;
    return 0;
}

/*
 * Parses resp and frees it. kube-apiserver echoes the spec, token included, in its answer: the
 * body and the parsed token are wiped before they are freed.
 */
static int read_answer(kc_response *resp, tr_answer **out, api_error *err)
{
    cJSON *root = cJSON_ParseWithLength(resp->body, resp->len);
    if (resp->body)
        OPENSSL_cleanse(resp->body, resp->len);
    kc_response_free(resp);
    int rc = parse_review(root, out, err);
    char *echoed = cJSON_GetStringValue(json_path(root, "spec.token"));
    if (echoed)
        OPENSSL_cleanse(echoed, strlen(echoed));
    cJSON_Delete(root);
    return rc;
}

/* One TokenReview of token: 0 with *out (the answer to cache) or a negative code, err set. */
static int review_token(tr_webhook *w, const char *token, size_t len, tr_answer **out,
                        api_error *err)
{
    *out = NULL;
    /* JSON strings cannot carry a NUL byte through cJSON or our escaper: no real token has one. */
    if (memchr(token, '\0', len)) {
        apierr_set(err, 401, "Unauthorized", "token holds a NUL byte");
        return -EACCES;
    }
    char *copy = xstrndup(token, len);
    kc_response resp = {0};
    int rc = post_review(w, copy, &resp, err);
    OPENSSL_cleanse(copy, len);
    free(copy);
    if (rc == 0)
        rc = read_answer(&resp, out, err);
    return rc;
}

/* Copies src's code, reason and message into dst (which may be NULL). */
static void copy_error(api_error *dst, const api_error *src)
{
    if (dst && apierr_is_set(src))
        apierr_set(dst, src->code, src->reason, "%s", src->message ? src->message : "");
}

static void flight_free(tr_flight *f)
{
    if (f->answer)
        answer_free(f->answer);
    apierr_clear(&f->err);
    free(f);
}

/* Waits, with w->mu held, for flight f to land and returns its result; releases w->mu. */
static int join_flight(tr_webhook *w, tr_flight *f, authn_user **out, api_error *err)
{
    f->waiters++;
    while (!f->landed)
        pthread_cond_wait(&w->landed, &w->mu);
    int rc = f->rc;
    tr_answer *a = rc == 0 ? answer_dup(f->answer) : NULL;
    copy_error(err, &f->err);
    if (--f->waiters == 0)
        flight_free(f);
    pthread_mutex_unlock(&w->mu);
    return rc == 0 ? answer_result(a, out) : rc;
}

/* Publishes the result of flight f to its waiters and takes it off the list. */
static void land_flight(tr_webhook *w, tr_flight *f, int rc, tr_answer *a, const api_error *err)
{
    pthread_mutex_lock(&w->mu);
    tr_flight **pp = &w->flights;
    while (*pp != f)
        pp = &(*pp)->next;
    *pp = f->next;
    f->landed = true;
    f->rc = rc;
    f->answer = a ? answer_dup(a) : NULL;
    copy_error(&f->err, err);
    pthread_cond_broadcast(&w->landed);
    if (f->waiters == 0)
        flight_free(f);
    pthread_mutex_unlock(&w->mu);
}

int tr_authenticate(tr_webhook *w, const char *token, size_t len, authn_user **out, api_error *err)
{
    *out = NULL;
    unsigned char key[TTL_CACHE_KEY_LEN];
    ttl_cache_key(token, len, key);

    pthread_mutex_lock(&w->mu);
    for (tr_flight *f = w->flights; f; f = f->next)
        if (memcmp(f->key, key, TTL_CACHE_KEY_LEN) == 0)
            return join_flight(w, f, out, err);
    /* Checked under w->mu: a flight is taken off the list only after its answer was cached. */
    void *cached = NULL;
    if (ttl_cache_get(w->cache, key, &cached) == 0) {
        pthread_mutex_unlock(&w->mu);
        return answer_result(cached, out);
    }
    tr_flight *f = xcalloc(1, sizeof *f);
    memcpy(f->key, key, TTL_CACHE_KEY_LEN);
    f->next = w->flights;
    w->flights = f;
    pthread_mutex_unlock(&w->mu);

    tr_answer *a = NULL;
    api_error call_err = API_ERROR_INIT;
    int rc = review_token(w, token, len, &a, &call_err);
    if (rc == 0)
        ttl_cache_put(w->cache, key, answer_dup(a), w->ttl_ms);
    land_flight(w, f, rc, a, &call_err);
    copy_error(err, &call_err);
    apierr_clear(&call_err);
    return rc == 0 ? answer_result(a, out) : rc;
}

void tr_stats_get(tr_webhook *w, tr_stats *out)
{
    ttl_cache_stats cs;
    ttl_cache_stats_get(w->cache, &cs);
    *out = (tr_stats){
        .calls = atomic_load(&w->calls),
        .hits = cs.hits,
        .misses = cs.misses,
    };
}

/*
 * authorize.c - delegated authorization (authorize.h): caches first, then reviews on worker
 * threads while the request is parked.
 */
#include "apiserver/rest/authorize.h"

#include "apiserver/rest/reqinfo.h"
#include "apiserver/rest/server.h"
#include "apiserver/transport/sar.h"
#include "apiserver/transport/tokenreview.h"
#include "apiserver/transport/workers.h"
#include "common/alloc.h"
#include "common/log.h"
#include "common/strlist.h"

#include <openssl/crypto.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define DELEGATION_WORKERS 4

struct as_delegation {
    tr_webhook *tokens;
    az_authorizer *access;
    as_workers *workers;
    strlist always_allow; /* --authorization-always-allow-paths */
};

/* One request's review: what is asked, by whom, and the answer. */
typedef struct review {
    as_delegation *d;
    as_req *req; /* NULL: fetched for a WebSocket upgrade's retry, nobody waits */
    /* A bearer token to review first (a secret; NULL = none): borrowed from the request, which
       outlives its review, except for a WebSocket warm-up, which owns a copy. */
    const char *token;
    size_t token_len;
    char *owned_token;
    authn_user *user; /* who asks: a reference to the request's user, or the reviewed one */
    bool user_reviewed;
    as_reqinfo info;
    int status; /* 0 = allowed; else the answer in err (401, 403) */
    api_error err;
} review;

/* ---- life cycle ------------------------------------------------------------------------- */

int as_delegation_start(const as_delegation_options *o, as_delegation **out, api_error *err)
{
    *out = NULL;
    as_delegation *d = xcalloc(1, sizeof *d);
    int rc = as_workers_start(o->workers > 0 ? o->workers : DELEGATION_WORKERS, &d->workers, err);
    if (rc != 0) {
        free(d);
        return rc;
    }
    d->tokens = tr_new(o->authn_client, o->token_ttl_ms, o->clock, 0);
    d->access = az_new(o->authz_client, o->allowed_ttl_ms, o->denied_ttl_ms, o->clock, 0);
    d->always_allow = strlist_split(o->always_allow, ',');
    *out = d;
    return 0;
}

void as_delegation_stop(as_delegation *d)
{
    if (!d)
        return;
    as_workers_stop(d->workers);
    tr_free(d->tokens);
    az_free(d->access);
    strlist_free(&d->always_allow);
    free(d);
}

void as_delegation_stats_get(as_delegation *d, as_delegation_stats *out)
{
    tr_stats t;
    az_stats a;
    tr_stats_get(d->tokens, &t);
    az_stats_get(d->access, &a);
    *out = (as_delegation_stats){.token_reviews = t.calls,
                                 .token_cache_hits = t.hits,
                                 .access_reviews = a.calls,
                                 .access_cache_hits = a.hits};
}

static review *review_new(as_delegation *d, as_req *req)
{
    review *rv = xcalloc(1, sizeof *rv);
    rv->d = d;
    rv->req = req;
    rv->err = (api_error)API_ERROR_INIT;
    if (req->bearer_token) {
        rv->token = req->bearer_token;
        rv->token_len = req->bearer_token_len;
    } else {
        rv->user = authn_user_ref((authn_user *)req->user);
    }
    as_reqinfo_of(req, &rv->info);
    return rv;
}

static void review_free(review *rv)
{
    if (rv->owned_token) {
        OPENSSL_cleanse(rv->owned_token, rv->token_len);
        free(rv->owned_token);
    }
    authn_user_free(rv->user);
    as_reqinfo_clear(&rv->info);
    apierr_clear(&rv->err);
    free(rv);
}

/* ---- deciding --------------------------------------------------------------------------- */

static bool path_always_allowed(const as_delegation *d, const char *path)
{
    for (int i = 0; i < d->always_allow.n; i++) {
        const char *p = d->always_allow.items[i];
        size_t n = strlen(p);
        if (n > 0 && p[n - 1] == '*' ? strncmp(path, p, n - 1) == 0 : strcmp(path, p) == 0)
            return true;
    }
    return false;
}

/* Who passes without a review (kube's path and privileged-group authorizers). */
static bool bypasses_review(const review *rv)
{
    if (authn_user_has_group(rv->user, "system:masters"))
        return true;
    return !rv->info.resource_request && path_always_allowed(rv->d, rv->info.path);
}

static az_attributes attributes_of(const review *rv)
{
    const as_reqinfo *ri = &rv->info;
    return (az_attributes){.user = rv->user,
                           .resource_request = ri->resource_request,
                           .verb = ri->verb,
                           .group = ri->group,
                           .version = ri->version,
                           .resource = ri->resource,
                           .subresource = ri->subresource,
                           .name = ri->name,
                           .namespace = ri->namespace,
                           .path = ri->path};
}

static void unauthorized(review *rv)
{
    rv->status = 401;
    apierr_set(&rv->err, 401, "Unauthorized", "Unauthorized");
}

static void apply_decision(review *rv, const az_decision *dec)
{
    if (dec->allowed)
        return;
    az_attributes a = attributes_of(rv);
    rv->status = 403;
    az_forbidden(&rv->err, &a, dec->reason);
}

/* The two steps, each either from the cache alone (calls false: never blocks) or making the
   call the cache could not answer (calls true: a worker thread). They return 0 when the step is
   done, 1 when it decided rv (rv->status says how), or -ENOENT when it needs a call. */

/* Who the bearer token names: rv->user, or a 401. */
static int review_token(review *rv, bool calls)
{
    api_error e = API_ERROR_INIT;
    int rc = calls ? tr_authenticate(rv->d->tokens, rv->token, rv->token_len, &rv->user, &e)
                   : tr_lookup_cached(rv->d->tokens, rv->token, rv->token_len, &rv->user);
    if (rc == 0) {
        rv->user_reviewed = true;
        return 0;
    }
    if (rc == -ENOENT && !calls)
        return -ENOENT;
    if (calls && e.code != 401)
        log_kv(LOG_WARN, "TokenReview failed", "error", e.message ? e.message : "", NULL);
    apierr_clear(&e);
    unauthorized(rv);
    return 1;
}

/* What the SubjectAccessReview says; a review that cannot be made denies (403). */
static int review_access(review *rv, bool calls)
{
    az_attributes a = attributes_of(rv);
    az_decision dec = {0};
    api_error e = API_ERROR_INIT;
    int rc = calls ? az_authorize(rv->d->access, &a, &dec, &e)
                   : az_authorize_cached(rv->d->access, &a, &dec);
    if (rc != 0 && !calls)
        return -ENOENT;
    if (rc != 0) {
        log_kv(LOG_WARN, "SubjectAccessReview failed", "error", e.message ? e.message : "", NULL);
        apierr_clear(&e);
        rv->status = 403;
        az_forbidden(&rv->err, &a, "the authorization check could not be made");
        return 1;
    }
    apply_decision(rv, &dec);
    az_decision_clear(&dec);
    return 1;
}

/* Decides rv: the token, the bypasses, the SubjectAccessReview. Returns true when decided
   (always, with calls), false when a call is needed. */
static bool decide(review *rv, bool calls)
{
    if (rv->token && !rv->user_reviewed) {
        int rc = review_token(rv, calls);
        if (rc != 0)
            return rc > 0;
    }
    return bypasses_review(rv) || review_access(rv, calls) > 0;
}

/* ---- parking and resuming --------------------------------------------------------------- */

static void run_review(void *arg)
{
    review *rv = arg;
    decide(rv, true);
    if (rv->req)
        as_post_completion(rv->req->http, rv->req);
    else
        review_free(rv);
}

/* The handler again, on the compute thread (a write). */
static void handle_again(as_req *req, void *data)
{
    (void)data;
    as_rest_handle(req->app, req);
}

/* Lets req go on: the reviewed user becomes its user. */
static void admit(review *rv, as_req *req)
{
    req->authorized = true;
    if (rv->user_reviewed) {
        as_req_set_user(req, rv->user);
        rv->user = NULL;
    }
}

/* Service thread: the reviews are in. */
static void resume_review(as_req *req, void *arg)
{
    review *rv = arg;
    if (req->orphaned) {
        review_free(rv);
        return;
    }
    if (rv->status != 0) {
        as_respond_error(req, &rv->err);
        review_free(rv);
        return;
    }
    admit(rv, req);
    review_free(rv);
    bool write = req->method == AS_POST || req->method == AS_PUT || req->method == AS_PATCH ||
                 req->method == AS_DELETE;
    if (write)
        as_req_offload(req, handle_again, NULL);
    else
        as_rest_handle(req->app, req);
}

bool as_authorize_delegated(as_delegation *d, as_req *req)
{
    if (req->authorized)
        return true;
    review *rv = review_new(d, req);
    if (decide(rv, false)) {
        bool allowed = rv->status == 0;
        if (allowed)
            admit(rv, req);
        else
            as_respond_error(req, &rv->err);
        review_free(rv);
        return allowed;
    }
    if (req->websocket) {
        /* The upgrade cannot wait: fetch the answer for the client's retry. The request is
           answered now, so the review keeps its own copy of the token. */
        rv->req = NULL;
        if (rv->token) {
            rv->owned_token = xmalloc(rv->token_len + 1);
            memcpy(rv->owned_token, rv->token, rv->token_len);
            rv->token = rv->owned_token;
        }
        as_workers_submit(d->workers, run_review, rv);
        api_error e = API_ERROR_INIT;
        apierr_set(&e, 503, "ServiceUnavailable",
                   "the authorization of this watch is being checked: retry");
        e.retry_after = 1;
        as_respond_error(req, &e);
        apierr_clear(&e);
        return false;
    }
    as_req_park_on(req, d->workers, run_review, resume_review, rv);
    return false;
}

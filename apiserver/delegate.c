/*
 * delegate.c - wiring of a delegated server (delegate.h).
 */
#include "apiserver/delegate.h"

#include "apiserver/rest/authorize.h"
#include "apiserver/rest/server.h"
#include "apiserver/transport/authconfig.h"
#include "client/config.h"
#include "client/rest.h"
#include "common/alloc.h"
#include "common/log.h"
#include "common/strlist.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define REVIEW_TIMEOUT_MS 10000 /* kube's webhook request timeout */

struct as_delegate {
    const as_options *opt;
    clk_t *clock;
    kc_config *authn_cfg, *authz_cfg;
    kc_client *authn_client, *authz_client;
    strlist allowed_names, username_headers, group_headers, extra_prefixes; /* the flags */
    ac_watcher *watcher; /* NULL: the ConfigMap is not read */
    struct as_server *srv;
    atomic_bool loaded;
};

static authn_names names_of(strlist l)
{
    return (authn_names){.names = l.items, .n = l.n};
}

static authn_names names_of_cm(const ac_strings *s)
{
    return (authn_names){.names = (const char *const *)s->v, .n = s->n};
}

/* The chain from the flags, with what the ConfigMap (cm, NULL = not read) adds. */
static authn *build_authn(const as_delegate *d, const ac_config *cm, api_error *err)
{
    const as_options *o = d->opt;
    authn_options ao = {
        .token_auth_file = o->token_auth_file, .clock = d->clock, .delegated = true};
    if (o->client_ca_file)
        ao.client_ca_file = o->client_ca_file;
    else if (cm)
        ao.client_ca_pem = cm->client_ca;
    authn_front_proxy_options *fp = &ao.front_proxy;
    if (o->requestheader_client_ca_file) {
        /* The request-header settings travel together: all from the flags here ... */
        fp->ca_file = o->requestheader_client_ca_file;
        fp->allowed_names = names_of(d->allowed_names);
        fp->username_headers = names_of(d->username_headers);
        fp->group_headers = names_of(d->group_headers);
        fp->extra_prefixes = names_of(d->extra_prefixes);
    } else if (cm && cm->requestheader_ca) {
        /* ... or all from the ConfigMap kube-apiserver publishes. */
        fp->ca_pem = cm->requestheader_ca;
        fp->allowed_names = names_of_cm(&cm->allowed_names);
        fp->username_headers = names_of_cm(&cm->username_headers);
        fp->group_headers = names_of_cm(&cm->group_headers);
        fp->extra_prefixes = names_of_cm(&cm->extra_prefixes);
        fp->uid_headers = names_of_cm(&cm->uid_headers);
    }
    return authn_new(&ao, err);
}

/* One kubeconfig: the file given, else the pod's service account. */
static int load_config(const char *path, const char *flag, kc_config **out)
{
    api_error err = API_ERROR_INIT;
    int rc = path ? kc_load(&(kc_load_options){.kubeconfig = path}, out, &err)
                  : kc_incluster_load(NULL, out, &err);
    if (rc != 0) {
        log_kv(LOG_ERROR,
               "delegated authentication needs a kubeconfig: give --authentication-kubeconfig "
               "and --authorization-kubeconfig, run in a pod, or run with --standalone",
               "flag", flag, "error", err.message ? err.message : "", NULL);
        apierr_clear(&err);
    }
    return rc;
}

static kc_client *client_for(const kc_config *cfg, clk_t *clock)
{
    kc_client_options co = kc_client_defaults();
    co.request_timeout_ms = REVIEW_TIMEOUT_MS;
    /* One retry policy per call: the reviews' (webhook.h) and the ConfigMap watcher's backoff;
       the client's own retries would multiply theirs. */
    co.max_retries = 0;
    co.clock = clock;
    co.user_agent = "foo-apiserver/delegated-auth";
    api_error err = API_ERROR_INIT;
    kc_client *c = kc_client_new(cfg, &co, &err);
    if (!c) {
        log_kv(LOG_ERROR, "cannot create the client for kube-apiserver", "error",
               err.message ? err.message : "", NULL);
        apierr_clear(&err);
    }
    return c;
}

int as_delegate_new(const as_options *o, clk_t *clock, as_delegate **out, authn **auth)
{
    *out = NULL;
    *auth = NULL;
    as_delegate *d = xcalloc(1, sizeof *d);
    d->opt = o;
    d->clock = clock;
    d->allowed_names = strlist_split(o->requestheader_allowed_names, ',');
    d->username_headers = strlist_split(o->requestheader_username_headers, ',');
    d->group_headers = strlist_split(o->requestheader_group_headers, ',');
    d->extra_prefixes = strlist_split(o->requestheader_extra_headers_prefix, ',');
    if (load_config(o->authentication_kubeconfig, "--authentication-kubeconfig", &d->authn_cfg) ||
        load_config(o->authorization_kubeconfig, "--authorization-kubeconfig", &d->authz_cfg) ||
        !(d->authn_client = client_for(d->authn_cfg, clock)) ||
        !(d->authz_client = client_for(d->authz_cfg, clock))) {
        as_delegate_free(d, NULL);
        return -1;
    }
    api_error err = API_ERROR_INIT;
    *auth = build_authn(d, NULL, &err);
    if (!*auth) {
        log_kv(LOG_ERROR, "authentication config", "error", err.message ? err.message : "", NULL);
        apierr_clear(&err);
        as_delegate_free(d, NULL);
        return -1;
    }
    *out = d;
    return 0;
}

/* The watcher's thread: a new ConfigMap content becomes the transport's chain. */
static void on_configmap(void *ctx, const ac_config *cfg)
{
    as_delegate *d = ctx;
    api_error err = API_ERROR_INIT;
    authn *a = build_authn(d, cfg, &err);
    if (!a) {
        log_kv(LOG_ERROR, "extension-apiserver-authentication: keeping the previous config",
               "error", err.message ? err.message : "", NULL);
        apierr_clear(&err);
        return;
    }
    as_http_set_auth(d->srv->http, a);
    atomic_store(&d->loaded, true);
    log_kv(LOG_INFO, "authentication config loaded from kube-system/" AC_NAME, "client-ca",
           cfg->client_ca ? "yes" : "no", "requestheader-ca", cfg->requestheader_ca ? "yes" : "no",
           NULL);
}

int as_delegate_start(as_delegate *d, struct as_server *srv)
{
    const as_options *o = d->opt;
    d->srv = srv;
    as_delegation_options ao = {
        .authn_client = d->authn_client,
        .authz_client = d->authz_client,
        .token_ttl_ms = (uint64_t)o->token_webhook_cache_ttl_ms,
        .allowed_ttl_ms = (uint64_t)o->authz_cache_authorized_ttl_ms,
        .denied_ttl_ms = (uint64_t)o->authz_cache_unauthorized_ttl_ms,
        .always_allow = o->authorization_always_allow_paths,
        .clock = d->clock,
    };
    api_error err = API_ERROR_INIT;
    if (as_delegation_start(&ao, &srv->delegation, &err) != 0) {
        log_kv(LOG_ERROR, "cannot start delegated authorization", "error",
               err.message ? err.message : "", NULL);
        apierr_clear(&err);
        return -1;
    }
    bool lookup =
        !o->authentication_skip_lookup && !(o->client_ca_file && o->requestheader_client_ca_file);
    if (!lookup) {
        atomic_store(&d->loaded, true);
        return 0;
    }
    ac_watcher_options wo = {.client = d->authn_client, .on_change = on_configmap, .ctx = d};
    if (ac_watcher_start(&wo, &d->watcher, &err) != 0) {
        log_kv(LOG_ERROR, "cannot watch the authentication ConfigMap", "error",
               err.message ? err.message : "", NULL);
        apierr_clear(&err);
        return -1;
    }
    return 0;
}

bool as_delegate_loaded(const as_delegate *d)
{
    return d && atomic_load(&d->loaded);
}

void as_delegate_free(as_delegate *d, struct as_server *srv)
{
    if (!d)
        return;
    ac_watcher_stop(d->watcher); /* no more as_http_set_auth after this */
    if (srv) {
        as_delegation_stop(srv->delegation);
        srv->delegation = NULL;
    }
    kc_client_free(d->authn_client);
    kc_client_free(d->authz_client);
    kc_config_free(d->authn_cfg);
    kc_config_free(d->authz_cfg);
    strlist_free(&d->allowed_names);
    strlist_free(&d->username_headers);
    strlist_free(&d->group_headers);
    strlist_free(&d->extra_prefixes);
    free(d);
}

#include "apiserver/rest/health.h"
#include "apiserver/rest/server.h"
#include "apiserver/delegate.h"

#include "common/alloc.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* kube-apiserver's --etcd-healthcheck-timeout: how long /readyz's probe of etcd may take. */
#define ETCD_PROBE_TIMEOUT_MS 2000

typedef struct check {
    const char *name;
    bool (*ok)(as_server *srv);
    bool (*applies)(as_server *srv); /* NULL: always; else the check is listed only when true */
} check;

static bool ping_ok(as_server *srv)
{
    (void)srv;
    return true;
}

static bool storage_ok(as_server *srv)
{
    return srv->store != NULL && srv->caches != NULL;
}

static bool not_shutting_down(as_server *srv)
{
    return !atomic_load(&srv->stopping);
}

static bool on_etcd(as_server *srv)
{
    return srv->store_shared;
}

/* What the backend's own threads last saw (st_health never blocks): a replica that cannot reach
   etcd is taken out of its Service's endpoints, and comes back by itself once etcd answers. */
static bool etcd_ok(as_server *srv)
{
    return srv->store != NULL && st_health(srv->store, NULL) == 0;
}

static bool delegated(as_server *srv)
{
    return srv->delegate != NULL;
}

/* A delegated server is not ready before it knows its client and front-proxy CAs. */
static bool authentication_ok(as_server *srv)
{
    return as_delegate_loaded(srv->delegate);
}

static const check live_checks[] = {{"ping", ping_ok, NULL}, {"storage", storage_ok, NULL}};
static const check ready_checks[] = {{"ping", ping_ok, NULL},
                                     {"etcd", etcd_ok, on_etcd},
                                     {"storage", storage_ok, NULL},
                                     {"authentication-config", authentication_ok, delegated},
                                     {"shutdown", not_shutting_down, NULL}};

static bool excluded(as_req *req, const char *name)
{
    for (int i = 0; i < req->nparams; i++)
        if (strcmp(req->params[i].key, "exclude") == 0 && strcmp(req->params[i].value, name) == 0)
            return true;
    return false;
}

static void run_checks(as_req *req, const char *kind, const check *checks, int n, const char *only)
{
    sbuf body = SBUF_INIT;
    bool all_ok = true, found = only == NULL;
    for (int i = 0; i < n; i++) {
        if (checks[i].applies && !checks[i].applies(as_server_of(req)))
            continue;
        if ((only && strcmp(only, checks[i].name) != 0) || excluded(req, checks[i].name))
            continue;
        found = true;
        bool ok = checks[i].ok(as_server_of(req));
        all_ok = all_ok && ok;
        sbuf_printf(&body, ok ? "[+]%s ok\n" : "[-]%s failed: reason withheld\n", checks[i].name);
    }
    if (!found) {
        sbuf_free(&body);
        as_respond_status(req, 404, "NotFound", "the server could not find the requested resource");
        return;
    }
    bool verbose = as_param_get(req, "verbose") != NULL;
    if (all_ok && !verbose) {
        sbuf_reset(&body);
        sbuf_puts(&body, "ok");
    } else {
        sbuf_printf(&body, "%s check %s", kind, all_ok ? "passed" : "failed");
    }
    as_respond(req, all_ok ? 200 : 500, "text/plain; charset=utf-8", body.data, body.len);
    sbuf_free(&body);
}

bool as_health_path(const char *path)
{
    static const char *const roots[] = {"/healthz", "/livez", "/readyz"};
    for (size_t i = 0; i < sizeof roots / sizeof roots[0]; i++) {
        size_t len = strlen(roots[i]);
        if (strncmp(path, roots[i], len) == 0 && (path[len] == '\0' || path[len] == '/'))
            return true;
    }
    return false;
}

typedef struct endpoint {
    const char *path;
    const check *checks;
    int n;
} endpoint;

static const endpoint endpoints[] = {
    {"/healthz", live_checks, 2},
    {"/livez", live_checks, 2},
    {"/readyz", ready_checks, 5},
};

/* Answers req for endpoint e (its path is e's, possibly with "/<one check>" after it). */
static void answer(as_req *req, const endpoint *e)
{
    const char *rest = req->path + strlen(e->path);
    run_checks(req, e->path + 1, e->checks, e->n, *rest ? rest + 1 : NULL);
}

/*
 * The etcd check reads what the backend last saw, and a replica that has nothing to send to
 * etcd would never see it come back. So while it reads unhealthy, /readyz probes etcd first, as
 * kube's etcd check does on every call: one consistent-read request (st_sync_rev), bounded, on
 * a waiter thread (as_req_park_on); its outcome is what st_health reports next.
 */
static bool probe_first(as_req *req, const endpoint *e)
{
    as_server *srv = as_server_of(req);
    return e->checks == ready_checks && on_etcd(srv) && !excluded(req, "etcd") &&
           srv->store != NULL && st_health(srv->store, NULL) != 0;
}

/* A probe of etcd before a /readyz answer: on a waiter thread, then the answer. */
typedef struct probe {
    as_req *req;
    const endpoint *e;
} probe;

static void probe_etcd(void *data)
{
    probe *p = data;
    uint64_t rev;
    api_error err = API_ERROR_INIT; /* the reason stays withheld, as kube's checks do */
    (void)st_sync_rev(as_server_of(p->req)->store, ETCD_PROBE_TIMEOUT_MS, &rev, &err);
    apierr_clear(&err);
    as_post_completion(p->req->http, p->req);
}

/* Service thread, after the probe. */
static void probe_done(as_req *req, void *data)
{
    probe *p = data;
    if (!req->orphaned)
        answer(req, p->e);
    free(p);
}

bool as_health_handles(as_req *req)
{
    for (size_t i = 0; i < sizeof endpoints / sizeof endpoints[0]; i++) {
        const endpoint *e = &endpoints[i];
        size_t len = strlen(e->path);
        if (strncmp(req->path, e->path, len) != 0)
            continue;
        const char *rest = req->path + len;
        if (*rest && *rest != '/')
            continue;
        if (probe_first(req, e)) {
            probe *p = xmalloc(sizeof *p);
            *p = (probe){.req = req, .e = e};
            as_req_park_on(req, as_server_of(req)->waiters, probe_etcd, probe_done, p);
        } else
            answer(req, e);
        return true;
    }
    return false;
}

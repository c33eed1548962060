/*
 * metrics.c - the apiserver's /metrics (metrics.h).
 *
 * Request series live in a uthash keyed by their label values joined with NUL bytes (no value
 * holds a NUL), service thread only; each keeps its duration histogram, its count per response
 * code and its long-running gauge. Everything counted elsewhere is an atomic.
 */
#include "apiserver/rest/metrics.h"
#include "apiserver/rest/authorize.h"
#include "apiserver/rest/server.h"
#include "common/alloc.h"
#include "common/promtext.h"

#include <dirent.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

/* uthash allocates through the project's wrappers, so out-of-memory has one policy. */
#define uthash_malloc(sz)    xmalloc(sz)
#define uthash_free(ptr, sz) free(ptr)
#include <uthash.h>

/* kube-apiserver's buckets for apiserver_request_duration_seconds, in seconds. */
static const double duration_buckets[] = {0.005, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8,
                                          1.0,   1.25,  1.5,  2,   3,   4,   5,   6,
                                          8,     10,    15,   20,  30,  45,  60};
#define NBUCKETS (sizeof duration_buckets / sizeof duration_buckets[0])

/* The request labels, in kube's order (apiserver_request_total adds component and code). */
enum { L_VERB, L_DRY_RUN, L_GROUP, L_VERSION, L_RESOURCE, L_SUBRESOURCE, L_SCOPE, NLABELS };
static const char *const label_names[NLABELS] = {"verb",     "dry_run",     "group", "version",
                                                 "resource", "subresource", "scope"};

typedef struct code_count {
    int code;
    uint64_t n;
} code_count;

typedef struct req_series {
    char *key; /* label values joined by NUL; hash key */
    size_t keylen;
    const char *values[NLABELS]; /* into key */
    uint64_t buckets[NBUCKETS];  /* per bucket, not cumulative */
    uint64_t count;
    double sum;
    code_count *codes; /* apiserver_request_total, one entry per code seen */
    size_t ncodes;
    int64_t longrunning; /* requests of these labels streaming now */
    bool ever_longrunning;
    UT_hash_handle hh;
} req_series;

struct as_metrics_kind {
    const as_resource *res;
    atomic_llong watchers;
    atomic_ullong events;
};

struct as_metrics {
    as_metrics_kind *kinds; /* one per registry entry, in its order */
    int nkinds;
    req_series *series; /* service thread only */
};

as_metrics *as_metrics_new(const as_registry *reg)
{
    as_metrics *m = xcalloc(1, sizeof *m);
    const as_resource *const *all = as_registry_all(reg, &m->nkinds);
    m->kinds = xcalloc((size_t)m->nkinds + 1, sizeof *m->kinds);
    for (int i = 0; i < m->nkinds; i++)
        m->kinds[i].res = all[i];
    return m;
}

void as_metrics_free(as_metrics *m)
{
    if (!m)
        return;
    req_series *s, *tmp;
    HASH_ITER(hh, m->series, s, tmp)
    {
        HASH_DEL(m->series, s);
        free(s->codes);
        free(s->key);
        free(s);
    }
    free(m->kinds);
    free(m);
}

/* ---- labels ---------------------------------------------------------------------------------- */

static bool is_write(as_method m)
{
    return m == AS_POST || m == AS_PUT || m == AS_PATCH || m == AS_DELETE;
}

/* kube's verb of a request that names no resource: the method, or "other" (HEAD included). */
static const char *path_verb(as_method m)
{
    switch (m) {
    case AS_GET:
        return "GET";
    case AS_POST:
        return "POST";
    case AS_PUT:
        return "PUT";
    case AS_PATCH:
        return "PATCH";
    case AS_DELETE:
        return "DELETE";
    default:
        return "other";
    }
}

static bool is_apply(const as_req *req)
{
    static const char apply[] = "application/apply-patch";
    return req->content_type && strncmp(req->content_type, apply, sizeof apply - 1) == 0;
}

static const char *resource_verb(const as_req *req, const as_target *t, bool watch)
{
    if (watch)
        return "WATCH";
    switch (req->method) {
    case AS_GET:
        return t->name ? "GET" : "LIST";
    case AS_PATCH:
        return is_apply(req) ? "APPLY" : "PATCH";
    case AS_DELETE:
        return t->name ? "DELETE" : "DELETECOLLECTION";
    default:
        return path_verb(req->method);
    }
}

/* kube's cleanDryRun for one value: "All" is the only valid one. */
static const char *dry_run_label(const as_req *req)
{
    const char *v = as_param_get(req, "dryRun");
    if (!v)
        return "";
    return strcmp(v, "All") == 0 ? "All" : "invalid";
}

static const char *scope_label(const as_target *t)
{
    /* kube takes the name of a namespace object for its namespace */
    bool namespace_object =
        t->name && !strcmp(t->resource->resource, "namespaces") && !strcmp(t->resource->group, "");
    if (t->ns || namespace_object)
        return "namespace";
    return t->name ? "resource" : "cluster";
}

/* t->sub as a string that outlives the request (t points into a copy of the path the router
   frees before the request is over): the registry's name, or "" for one r does not have. */
static const char *subresource_label(const as_target *t)
{
    if (!t->sub)
        return "";
    static const char *const generic[] = {"status", "scale"};
    for (size_t i = 0; i < sizeof generic / sizeof generic[0]; i++)
        if (strcmp(t->sub, generic[i]) == 0)
            return generic[i];
    const as_custom_subresource *c = as_custom_subresource_find(t->resource, t->sub);
    return c ? c->name : "";
}

void as_metrics_label_resource(as_req *req, const as_target *t, bool watch)
{
    as_req_labels *l = &req->labels;
    l->verb = resource_verb(req, t, watch);
    l->dry_run = is_write(req->method) ? dry_run_label(req) : "";
    l->group = t->resource->group;
    l->version = t->resource->version;
    l->resource = t->resource->resource;
    l->subresource = subresource_label(t);
    l->scope = scope_label(t);
    l->long_running = false; /* until the watch streams (as_metrics_longrunning) */
}

void as_metrics_label_path(as_req *req, bool served)
{
    as_req_labels *l = &req->labels;
    *l = (as_req_labels){.verb = path_verb(req->method),
                         .dry_run = "",
                         .group = "",
                         .version = "",
                         .resource = "",
                         .subresource = served ? req->path : "",
                         .scope = ""};
}

/* ---- counting -------------------------------------------------------------------------------- */

static const char *or_empty(const char *s)
{
    return s ? s : "";
}

/* The label values of l joined by NUL bytes into buf (or, when longer than cap, a new buffer the
   caller frees); *len: bytes, the last NUL included. */
static char *join_labels(const as_req_labels *l, char *buf, size_t cap, size_t *len)
{
    const char *v[NLABELS] = {or_empty(l->verb),    or_empty(l->dry_run),  or_empty(l->group),
                              or_empty(l->version), or_empty(l->resource), or_empty(l->subresource),
                              or_empty(l->scope)};
    size_t n[NLABELS];
    *len = 0;
    for (int i = 0; i < NLABELS; i++)
        *len += (n[i] = strlen(v[i]) + 1);
    char *key = *len <= cap ? buf : xmalloc(*len);
    char *p = key;
    for (int i = 0; i < NLABELS; p += n[i], i++)
        memcpy(p, v[i], n[i]);
    return key;
}

/* The series of l, created at zero on first use. */
static req_series *series_of(as_metrics *m, const as_req_labels *l)
{
    char stack[512];
    size_t len;
    char *key = join_labels(l, stack, sizeof stack, &len);
    req_series *s = NULL;
    HASH_FIND(hh, m->series, key, len, s);
    if (!s) {
        s = xcalloc(1, sizeof *s);
        s->key = xmalloc(len);
        memcpy(s->key, key, len);
        s->keylen = len;
        const char *q = s->key;
        for (int i = 0; i < NLABELS; i++, q += strlen(q) + 1)
            s->values[i] = q;
        HASH_ADD_KEYPTR(hh, m->series, s->key, s->keylen, s);
    }
    if (key != stack)
        free(key);
    return s;
}

void as_metrics_longrunning(as_metrics *m, as_req *req)
{
    if (!m)
        return;
    req->labels.long_running = true;
    req_series *s = series_of(m, &req->labels);
    s->longrunning++;
    s->ever_longrunning = true;
}

static void count_code(req_series *s, int code)
{
    for (size_t i = 0; i < s->ncodes; i++) {
        if (s->codes[i].code == code) {
            s->codes[i].n++;
            return;
        }
    }
    s->codes = xrealloc(s->codes, (s->ncodes + 1) * sizeof *s->codes);
    s->codes[s->ncodes++] = (code_count){.code = code, .n = 1};
}

void as_metrics_request_done(as_metrics *m, const as_req *req, uint64_t duration_ns)
{
    const as_req_labels *l = &req->labels;
    if (!m || !l->verb) /* never labelled: answered before the router (a 401 at the head) */
        return;
    req_series *s = series_of(m, l);
    if (l->long_running)
        s->longrunning--;
    count_code(s, req->status ? req->status : 200);
    double seconds = (double)duration_ns / 1e9;
    for (size_t i = 0; i < NBUCKETS; i++) {
        if (seconds <= duration_buckets[i]) {
            s->buckets[i]++;
            break;
        }
    }
    s->count++;
    s->sum += seconds;
}

as_metrics_kind *as_metrics_kind_of(as_metrics *m, const as_resource *r)
{
    for (int i = 0; m && i < m->nkinds; i++)
        if (m->kinds[i].res == r)
            return &m->kinds[i];
    return NULL;
}

void as_metrics_watchers_add(as_metrics_kind *k, int delta)
{
    if (k)
        atomic_fetch_add(&k->watchers, delta);
}

void as_metrics_watch_events(as_metrics_kind *k, uint64_t n)
{
    if (k && n)
        atomic_fetch_add(&k->events, n);
}

/* ---- rendering ------------------------------------------------------------------------------- */

static void put_header(sbuf *out, const char *name, const char *type, const char *help)
{
    sbuf_printf(out, "# HELP %s ", name);
    prom_put_help(out, help);
    sbuf_printf(out, "\n# TYPE %s %s\n", name, type);
}

/* name="value" pairs of s, without braces; skips dry_run when `dry_run` is false. */
static void put_series_labels(sbuf *out, const req_series *s, bool dry_run)
{
    bool first = true;
    for (int i = 0; i < NLABELS; i++) {
        if (i == L_DRY_RUN && !dry_run)
            continue;
        sbuf_printf(out, "%s%s=\"", first ? "" : ",", label_names[i]);
        prom_put_label_value(out, s->values[i]);
        sbuf_putc(out, '"');
        first = false;
    }
    sbuf_puts(out, ",component=\"apiserver\"");
}

static void render_requests(const as_metrics *m, sbuf *out)
{
    put_header(out, "apiserver_request_total", "counter",
               "Counter of apiserver requests broken out for each verb, dry run value, group, "
               "version, resource, scope, component, and HTTP response code.");
    for (const req_series *s = m->series; s; s = s->hh.next) {
        for (size_t i = 0; i < s->ncodes; i++) {
            sbuf_puts(out, "apiserver_request_total{");
            put_series_labels(out, s, true);
            sbuf_printf(out, ",code=\"%d\"} %llu\n", s->codes[i].code,
                        (unsigned long long)s->codes[i].n);
        }
    }
}

static void render_durations(const as_metrics *m, sbuf *out)
{
    static const char name[] = "apiserver_request_duration_seconds";
    put_header(out, name, "histogram",
               "Response latency distribution in seconds for each verb, dry run value, group, "
               "version, resource, subresource, scope and component.");
    for (const req_series *s = m->series; s; s = s->hh.next) {
        if (!s->count)
            continue;
        uint64_t cumulative = 0;
        for (size_t i = 0; i < NBUCKETS; i++) {
            cumulative += s->buckets[i];
            sbuf_printf(out, "%s_bucket{", name);
            put_series_labels(out, s, true);
            sbuf_printf(out, ",le=\"%g\"} %llu\n", duration_buckets[i],
                        (unsigned long long)cumulative);
        }
        sbuf_printf(out, "%s_bucket{", name);
        put_series_labels(out, s, true);
        sbuf_printf(out, ",le=\"+Inf\"} %llu\n%s_sum{", (unsigned long long)s->count, name);
        put_series_labels(out, s, true);
        sbuf_printf(out, "} %.9g\n%s_count{", s->sum, name);
        put_series_labels(out, s, true);
        sbuf_printf(out, "} %llu\n", (unsigned long long)s->count);
    }
}

static void render_inflight(const as_metrics_sources *src, sbuf *out)
{
    put_header(out, "apiserver_current_inflight_requests", "gauge",
               "Number of requests of this apiserver in flight per request kind (watches "
               "apart), exempt ones included.");
    sbuf_printf(out, "apiserver_current_inflight_requests{request_kind=\"readOnly\"} %d\n",
                src->inflight_readonly);
    sbuf_printf(out, "apiserver_current_inflight_requests{request_kind=\"mutating\"} %d\n",
                src->inflight_mutating);
    /* One series: the in-flight caps are one priority level without queues, whose rejections
       kube gives the reason concurrency-limit. */
    put_header(out, "apiserver_flowcontrol_rejected_requests_total", "counter",
               "Number of requests rejected with 429 by the in-flight limits.");
    sbuf_printf(out,
                "apiserver_flowcontrol_rejected_requests_total{flow_schema=\"\",priority_level="
                "\"\",reason=\"concurrency-limit\"} %llu\n",
                (unsigned long long)src->rejected);
}

static void render_longrunning(const as_metrics *m, sbuf *out)
{
    put_header(out, "apiserver_longrunning_requests", "gauge",
               "Gauge of all active long-running apiserver requests broken out by verb, group, "
               "version, resource, scope and component. Not all requests are tracked this way.");
    for (const req_series *s = m->series; s; s = s->hh.next) {
        if (!s->ever_longrunning)
            continue;
        sbuf_puts(out, "apiserver_longrunning_requests{");
        put_series_labels(out, s, false);
        sbuf_printf(out, "} %lld\n", (long long)s->longrunning);
    }
}

/* group="G",version="V",kind="K" of k. */
static void put_kind_labels(sbuf *out, const as_metrics_kind *k)
{
    sbuf_puts(out, "group=\"");
    prom_put_label_value(out, k->res->group);
    sbuf_puts(out, "\",version=\"");
    prom_put_label_value(out, k->res->version);
    sbuf_puts(out, "\",kind=\"");
    prom_put_label_value(out, k->res->kind);
    sbuf_putc(out, '"');
}

static void render_watches(as_metrics *m, sbuf *out)
{
    put_header(out, "apiserver_registered_watchers", "gauge",
               "Number of currently registered watchers for a given resources");
    for (int i = 0; i < m->nkinds; i++) {
        sbuf_puts(out, "apiserver_registered_watchers{");
        put_kind_labels(out, &m->kinds[i]);
        sbuf_printf(out, "} %lld\n", (long long)atomic_load(&m->kinds[i].watchers));
    }
    put_header(out, "apiserver_watch_events_total", "counter",
               "Number of events sent in watch clients");
    for (int i = 0; i < m->nkinds; i++) {
        sbuf_puts(out, "apiserver_watch_events_total{");
        put_kind_labels(out, &m->kinds[i]);
        sbuf_printf(out, "} %llu\n", (unsigned long long)atomic_load(&m->kinds[i].events));
    }
}

static void render_storage(as_metrics *m, const as_caches *caches, sbuf *out)
{
    put_header(out, "apiserver_storage_objects", "gauge",
               "Number of stored objects at the time of last check split by kind.");
    sbuf prefix = SBUF_INIT;
    for (int i = 0; i < m->nkinds; i++) {
        const as_resource *r = m->kinds[i].res;
        sbuf_reset(&prefix);
        as_resource_prefix(r, NULL, &prefix);
        /* kube names a resource "foos.demo.example.com", a core one "pods" */
        sbuf_puts(out, "apiserver_storage_objects{resource=\"");
        prom_put_label_value(out, r->resource);
        if (*r->group) {
            sbuf_putc(out, '.');
            prom_put_label_value(out, r->group);
        }
        sbuf_printf(out, "\"} %zu\n", as_caches_count(caches, r, prefix.data));
    }
    sbuf_free(&prefix);
}

/* ---- process_* (from /proc/self) ------------------------------------------------------------- */

/* User and system CPU seconds (fields 14 and 15 of /proc/self/stat), or -1. */
static double cpu_seconds(void)
{
    FILE *f = fopen("/proc/self/stat", "r");
    if (!f)
        return -1;
    char buf[1024];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *p = strrchr(buf, ')'); /* the command name may hold spaces */
    unsigned long long utime, stime;
    /* after ")": state ppid pgrp session tty_nr tpgid flags minflt cminflt majflt cmajflt utime
       stime */
    if (!p || sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime,
                     &stime) != 2)
        return -1;
    long hz = sysconf(_SC_CLK_TCK);
    return hz > 0 ? (double)(utime + stime) / (double)hz : -1;
}

/* Resident bytes (the second field of /proc/self/statm, in pages), or -1. */
static double resident_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f)
        return -1;
    unsigned long long size, resident;
    int got = fscanf(f, "%llu %llu", &size, &resident);
    fclose(f);
    long page = sysconf(_SC_PAGESIZE);
    return got == 2 && page > 0 ? (double)resident * (double)page : -1;
}

/* Open descriptors (entries of /proc/self/fd, less the one reading it), or -1. */
static double open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return -1;
    long n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return (double)(n - 1);
}

static double max_fds(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return -1;
    return rl.rlim_cur == RLIM_INFINITY ? -1 : (double)rl.rlim_cur;
}

static void put_value(sbuf *out, const char *name, const char *type, const char *help, double v)
{
    if (v < 0) /* unreadable: left out rather than made up */
        return;
    put_header(out, name, type, help);
    sbuf_printf(out, "%s %.17g\n", name, v);
}

/* The reviews of a delegated server: ours, since kube's delegated-auth families count by HTTP
   code, which the review clients do not record. */
static void render_delegation(const as_delegation_stats *d, sbuf *out)
{
    put_value(out, "foo_apiserver_token_reviews_total", "counter",
              "TokenReviews sent to kube-apiserver.", (double)d->token_reviews);
    put_value(out, "foo_apiserver_token_review_cache_hits_total", "counter",
              "Bearer tokens answered from the TokenReview cache.", (double)d->token_cache_hits);
    put_value(out, "foo_apiserver_access_reviews_total", "counter",
              "SubjectAccessReviews sent to kube-apiserver.", (double)d->access_reviews);
    put_value(out, "foo_apiserver_access_review_cache_hits_total", "counter",
              "Requests authorized from the SubjectAccessReview cache.",
              (double)d->access_cache_hits);
}

static void render_process(sbuf *out, int64_t start_time_s)
{
    put_value(out, "process_cpu_seconds_total", "counter",
              "Total user and system CPU time spent in seconds.", cpu_seconds());
    put_value(out, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.",
              resident_bytes());
    put_value(out, "process_open_fds", "gauge", "Number of open file descriptors.", open_fds());
    put_value(out, "process_max_fds", "gauge", "Maximum number of open file descriptors.",
              max_fds());
    put_value(out, "process_start_time_seconds", "gauge",
              "Start time of the process since unix epoch in seconds.", (double)start_time_s);
}

void as_metrics_render(as_metrics *m, const as_metrics_sources *src, sbuf *out)
{
    render_requests(m, out);
    render_durations(m, out);
    render_inflight(src, out);
    render_longrunning(m, out);
    render_watches(m, out);
    if (src->caches)
        render_storage(m, src->caches, out);
    if (src->delegation)
        render_delegation(src->delegation, out);
    render_process(out, src->start_time_s);
}

void as_metrics_handle(as_req *req)
{
    as_server *srv = as_server_of(req);
    as_metrics_sources src = {
        .caches = srv->caches,
        .inflight_readonly = as_http_inflight(srv->http, AS_KIND_READONLY),
        .inflight_mutating = as_http_inflight(srv->http, AS_KIND_MUTATING),
        .rejected = as_http_rejected(srv->http),
        .start_time_s = srv->start_ms / 1000,
    };
    as_delegation_stats reviews;
    if (srv->delegation) {
        as_delegation_stats_get(srv->delegation, &reviews);
        src.delegation = &reviews;
    }
    sbuf page = SBUF_INIT;
    as_metrics_render(srv->metrics, &src, &page);
    as_respond(req, 200, "text/plain; version=0.0.4; charset=utf-8", page.data, page.len);
    sbuf_free(&page);
}

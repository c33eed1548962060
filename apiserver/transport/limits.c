/*
 * limits.c - admission under load: counters and the 429 decision (limits.h).
 */
#include "apiserver/transport/limits.h"
#include "common/json.h"

#include <string.h>

as_limits_config as_limits_defaults(void)
{
    return (as_limits_config){
        .max_requests_inflight = 400,          /* kube's default */
        .max_mutating_requests_inflight = 200, /* kube's default */
        .max_watches = 4000,
        .max_connections = 8000,
        .request_timeout_ms = 60 * 1000, /* kube's --request-timeout */
        .max_body_memory = 64u * 1024 * 1024,
    };
}

/* Segment i of path ("/a/b": 0 is "a"), its length in *len; NULL when there is none. */
static const char *path_segment(const char *path, int i, size_t *len)
{
    const char *p = path[0] == '/' ? path + 1 : path;
    for (; i > 0; i--) {
        p = strchr(p, '/');
        if (!p)
            return NULL;
        p++;
    }
    *len = strcspn(p, "/");
    return p;
}

/* The deprecated watch paths: /api/V/watch/... and /apis/G/V/watch/... (docs/api.md §6.2). */
static bool is_watch_path(const char *path)
{
    size_t n = 0;
    const char *first = path_segment(path, 0, &n);
    int at = -1;
    if (n == 3 && strncmp(first, "api", 3) == 0)
        at = 2;
    else if (n == 4 && strncmp(first, "apis", 4) == 0)
        at = 3;
    const char *w = at > 0 ? path_segment(path, at, &n) : NULL;
    return w && n == 5 && strncmp(w, "watch", 5) == 0;
}

as_req_kind as_limits_kind(bool mutating, bool get, bool websocket, const char *path,
                           const char *watch_param)
{
    if (mutating)
        return AS_KIND_MUTATING;
    if (!get)
        return AS_KIND_READONLY;
    bool on = false;
    if (websocket || is_watch_path(path) ||
        (watch_param && json_parse_bool(watch_param, &on) && on))
        return AS_KIND_WATCH;
    return AS_KIND_READONLY;
}

void as_limits_init(as_limits *l, const as_limits_config *cfg)
{
    *l = (as_limits){.cfg = *cfg};
}

static int cap_of(const as_limits *l, as_req_kind kind)
{
    switch (kind) {
    case AS_KIND_READONLY:
        return l->cfg.max_requests_inflight;
    case AS_KIND_MUTATING:
        return l->cfg.max_mutating_requests_inflight;
    default:
        return l->cfg.max_watches;
    }
}

bool as_limits_admit(as_limits *l, as_req_kind kind, bool exempt)
{
    if (exempt) {
        l->exempt[kind]++;
        return true;
    }
    int cap = cap_of(l, kind);
    if (cap > 0 && l->inflight[kind] >= cap) {
        l->rejected++;
        return false;
    }
    l->inflight[kind]++;
    return true;
}

void as_limits_release(as_limits *l, as_req_kind kind, bool exempt)
{
    int *n = exempt ? &l->exempt[kind] : &l->inflight[kind];
    if (*n > 0)
        (*n)--;
}

int as_limits_inflight(const as_limits *l, as_req_kind kind)
{
    return l->inflight[kind] + l->exempt[kind];
}

bool as_limits_reserve_body(as_limits *l, size_t n)
{
    bool fits =
        n <= l->cfg.max_body_memory -
                 (l->body_bytes < l->cfg.max_body_memory ? l->body_bytes : l->cfg.max_body_memory);
    if (!fits && l->body_bytes > 0) {
        l->rejected++;
        return false;
    }
    l->body_bytes += n;
    return true;
}

void as_limits_release_body(as_limits *l, size_t n)
{
    l->body_bytes -= n < l->body_bytes ? n : l->body_bytes;
}

void as_limits_too_many(api_error *err)
{
    apierr_set(err, 429, "TooManyRequests", "Too many requests, please try again later.");
    err->retry_after = 1;
}

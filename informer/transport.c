/*
 * transport.c - the reflector's real transports and request paths: LIST (GET) always through
 * kc_request; watches through kc_watch (chunked HTTP) or kc_ws_watch (WebSocket).
 */
#include "informer/internal.h"

#include "common/alloc.h"
#include "common/sbuf.h"

#include <stdlib.h>
#include <string.h>

static int kc_get(void *ctx, const char *path, char **body, size_t *len, api_error *err)
{
    kc_response resp = {0};
    int rc = kc_request(ctx, "GET", path, NULL, NULL, 0, &resp, err);
    if (rc < 0) {
        kc_response_free(&resp);
        return rc;
    }
    *body = resp.body;
    *len = resp.len;
    resp.body = NULL;
    kc_response_free(&resp);
    if (!*body) {
        *body = xstrdup("");
        *len = 0;
    }
    return 0;
}

static int kc_watch_stream(void *ctx, const char *path, int idle_timeout_ms, kc_watch_fn fn,
                           void *fn_ctx, atomic_bool *cancel, api_error *err)
{
    return kc_watch(ctx, path, idle_timeout_ms, fn, fn_ctx, cancel, err);
}

inf_transport inf_transport_kc(kc_client *c)
{
    return (inf_transport){.get = kc_get, .watch = kc_watch_stream, .ctx = c};
}

static int ws_get(void *ctx, const char *path, char **body, size_t *len, api_error *err)
{
    return kc_get(kc_wswatch_client(ctx), path, body, len, err);
}

static int ws_watch_stream(void *ctx, const char *path, int idle_timeout_ms, kc_watch_fn fn,
                           void *fn_ctx, atomic_bool *cancel, api_error *err)
{
    return kc_ws_watch(ctx, path, idle_timeout_ms, fn, fn_ctx, cancel, err);
}

inf_transport inf_transport_ws(kc_wswatch *w)
{
    return (inf_transport){.get = ws_get, .watch = ws_watch_stream, .ctx = w};
}

/* Percent-encodes everything but RFC 3986's unreserved characters. */
void inf_put_escaped(sbuf *sb, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            *p == '-' || *p == '.' || *p == '_' || *p == '~') {
            sbuf_putc(sb, (char)*p);
        } else {
            sbuf_putc(sb, '%');
            sbuf_putc(sb, hex[*p >> 4]);
            sbuf_putc(sb, hex[*p & 15]);
        }
    }
}

char *inf_build_path(const char *path, const char *query, const char *label_selector,
                     const char *field_selector)
{
    sbuf sb = SBUF_INIT;
    sbuf_puts(&sb, path);
    char sep = strchr(path, '?') ? '&' : '?';
    if (query && *query) {
        sbuf_putc(&sb, sep);
        sbuf_puts(&sb, query);
        sep = '&';
    }
    if (label_selector && *label_selector) {
        sbuf_putc(&sb, sep);
        sbuf_puts(&sb, "labelSelector=");
        inf_put_escaped(&sb, label_selector);
        sep = '&';
    }
    if (field_selector && *field_selector) {
        sbuf_putc(&sb, sep);
        sbuf_puts(&sb, "fieldSelector=");
        inf_put_escaped(&sb, field_selector);
    }
    return sbuf_detach(&sb, NULL);
}

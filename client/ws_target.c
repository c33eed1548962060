/*
 * ws_target.c - where a WebSocket watch connects (ws_internal.h): the kubeconfig's server URL
 * split into what libwebsockets takes (address, port, TLS, the name to verify, the full path).
 * Parsed with libcurl's URL parser, so both transports read a server URL the same way.
 */
#include "client/rest_internal.h"
#include "client/ws_internal.h"
#include "common/alloc.h"
#include "common/curl_lib.h" /* libcurl, loaded on first use */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* "[::1]" -> "::1": lws wants a bare address, libcurl gives IPv6 hosts bracketed. */
static char *ws_unbracket(char *host)
{
    size_t n = strlen(host);
    if (n >= 2 && host[0] == '[' && host[n - 1] == ']') {
        memmove(host, host + 1, n - 2);
        host[n - 2] = '\0';
    }
    return host;
}

/* The URL's path without its trailing '/' ("" for none), then the request path. */
static char *ws_full_path(CURLU *u, const char *path)
{
    char *prefix = kc_url_part(u, CURLUPART_PATH, 0);
    size_t n = prefix ? strlen(prefix) : 0;
    while (n > 0 && prefix[n - 1] == '/')
        n--;
    char *full = xasprintf("%.*s%s", (int)n, prefix ? prefix : "", path);
    free(prefix);
    return full;
}

static int ws_fill(CURLU *u, const char *server, const char *tls_server_name, const char *path,
                   kc_ws_target *t, api_error *err)
{
    bool https;
    int rc = kc_url_parse_server(u, server, &https, err);
    if (rc != 0)
        return rc;
    char *host = kc_url_part(u, CURLUPART_HOST, 0);
    char *port = kc_url_part(u, CURLUPART_PORT, CURLU_DEFAULT_PORT);
    if (!host || !*host || !port) {
        free(host);
        free(port);
        return apierr_local(err, -EINVAL, "server URL %s has no host", server);
    }
    t->tls = https;
    t->address = ws_unbracket(host);
    t->port = atoi(port);
    free(port);
    bool named = tls_server_name && *tls_server_name;
    t->server_name = xstrdup(named ? tls_server_name : t->address);
    t->path = ws_full_path(u, path);
    return 0;
}

int kc_ws_target_parse(const char *server, const char *tls_server_name, const char *path,
                       kc_ws_target *t, api_error *err)
{
    memset(t, 0, sizeof *t);
    if (!server || !path || path[0] != '/')
        return apierr_local(err, -EINVAL, "a server URL and an absolute path are required");
    CURLU *u = curl_url();
    if (!u)
        return apierr_local(err, -ENOMEM, "curl_url: out of memory");
    int rc = ws_fill(u, server, tls_server_name, path, t, err);
    curl_url_cleanup(u);
    if (rc != 0)
        kc_ws_target_free(t);
    return rc;
}

void kc_ws_target_free(kc_ws_target *t)
{
    free(t->address);
    free(t->server_name);
    free(t->path);
    memset(t, 0, sizeof *t);
}

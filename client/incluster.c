/*
 * incluster.c - configuration of a pod: the kubernetes Service from the environment and the
 * service-account files (token, ca.crt, namespace) mounted by the kubelet.
 *
 * The token is bound and rotated by the kubelet (about hourly), so it is handed to a token-file
 * credential source that re-reads it every KC_TOKEN_FILE_REFRESH_MS and after a 401, instead of
 * being read once (the official C client's defect: docs/controller-machinery.md §1.2).
 */
#include "client/config_internal.h"
#include "common/alloc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const char *env_nonempty(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

/* Checks that the token file is readable and non-empty now, so a broken mount fails at start. */
static int check_token(const char *path, api_error *err)
{
    unsigned char *data;
    size_t len;
    int rc = kc_read_file(path, &data, &len);
    if (rc < 0)
        return apierr_local(err, rc, "in-cluster: token file %s: cannot read: %s", path,
                            strerror(-rc));
    bool empty = *kc_trim((char *)data) == '\0';
    kc_free_secret(data, len + 1);
    if (empty)
        return apierr_local(err, -EINVAL, "in-cluster: token file %s is empty", path);
    return 0;
}

/* $POD_NAMESPACE, else the namespace file, else the default (client-go's order). */
static char *read_namespace(const char *dir)
{
    const char *env = env_nonempty("POD_NAMESPACE");
    if (env)
        return xstrdup(env);
    char *path = xasprintf("%s/namespace", dir);
    unsigned char *data;
    size_t len;
    int rc = kc_read_file(path, &data, &len);
    free(path);
    if (rc == 0 && *kc_trim((char *)data))
        return (char *)data;
    if (rc == 0)
        free(data);
    return xstrdup(KC_DEFAULT_NAMESPACE);
}

/* https://HOST:PORT with an IPv6 literal in brackets. */
static char *server_url(const char *host, const char *port)
{
    if (strchr(host, ':') && host[0] != '[')
        return xasprintf("https://[%s]:%s", host, port);
    return xasprintf("https://%s:%s", host, port);
}

int kc_incluster_load(const char *dir, kc_config **out, api_error *err)
{
    *out = NULL;
    if (!dir)
        dir = KC_INCLUSTER_DIR;
    const char *host = env_nonempty("KUBERNETES_SERVICE_HOST");
    const char *port = env_nonempty("KUBERNETES_SERVICE_PORT");
    if (!host || !port)
        return apierr_local(
            err, -ENOENT,
            "in-cluster: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be "
            "set (not running in a pod?)");
    char *token_path = xasprintf("%s/token", dir);
    char *ca_path = xasprintf("%s/ca.crt", dir);
    unsigned char *ca = NULL;
    size_t ca_len = 0;
    int rc = check_token(token_path, err);
    if (rc == 0) {
        rc = kc_read_file(ca_path, &ca, &ca_len);
        if (rc < 0)
            apierr_local(err, rc, "in-cluster: CA file %s: cannot read: %s", ca_path,
                         strerror(-rc));
    }
    if (rc < 0) {
        free(token_path);
        free(ca_path);
        return rc;
    }
    kc_config *cfg = xcalloc(1, sizeof *cfg);
    cfg->server = server_url(host, port);
    cfg->ca_pem = ca;
    cfg->ca_pem_len = ca_len;
    cfg->ca_file = ca_path;
    char *what = xasprintf("in-cluster token file %s", token_path);
    cfg->creds = kc_credentials_new_token_file(token_path, what);
    free(what);
    free(token_path);
    cfg->namespace = read_namespace(dir);
    cfg->source = xstrdup("in-cluster");
    *out = cfg;
    return 0;
}

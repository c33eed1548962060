/*
 * kubeconfig.c - the loading rule (which files, or in-cluster), the merge of several kubeconfig
 * files, the choice of a context, and the kc_config built from it.
 *
 * Only the selected context, its cluster and its user are validated and materialised (files read,
 * base64 decoded), as client-go does: a broken entry elsewhere in a shared kubeconfig does not
 * stop us. Every message names the file an entry came from.
 */
#include "client/config_internal.h"
#include "common/alloc.h"
#include "common/sbuf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const char *nonempty(const char *s)
{
    return s && *s ? s : NULL;
}

void kc_config_free(kc_config *cfg)
{
    if (!cfg)
        return;
    free(cfg->server);
    free(cfg->tls_server_name);
    free(cfg->proxy_url);
    free(cfg->ca_pem);
    free(cfg->ca_file);
    free(cfg->client_cert_pem);
    kc_free_secret(cfg->client_key_pem, cfg->client_key_pem_len);
    kc_credentials_free(cfg->creds);
    free(cfg->namespace);
    free(cfg->context);
    free(cfg->source);
    free(cfg);
}

/* "host:port" gets client-go's default scheme; trailing slashes go. */
static char *normalize_server(const char *server)
{
    char *s = strstr(server, "://") ? xstrdup(server) : xasprintf("https://%s", server);
    size_t n = strlen(s);
    while (n > 0 && s[n - 1] == '/')
        s[--n] = '\0';
    return s;
}

/*
 * Key material from `<field>-data` (base64, wins as in client-go) or from the file `<field>`.
 * Leaves *data NULL when neither is set. `what` prefixes messages.
 */
static int load_material(const char *what, const char *field, const char *data_b64,
                         const char *file, unsigned char **data, size_t *len, api_error *err)
{
    *data = NULL;
    *len = 0;
    if (data_b64) {
        if (!kc_base64_decode(data_b64, data, len))
            return apierr_local(err, -EINVAL, "%s: %s-data is not valid base64", what, field);
        return 0;
    }
    if (!file)
        return 0;
    int rc = kc_read_file(file, data, len);
    if (rc < 0)
        apierr_local(err, rc, "%s: %s %s: cannot read: %s", what, field, file, strerror(-rc));
    return rc;
}

static int build_cluster(const kcf_cluster *cl, kc_config *cfg, api_error *err)
{
    char *what = xasprintf("kubeconfig %s: cluster \"%s\"", cl->origin, cl->name);
    int rc = 0;
    if (!cl->server)
        rc = apierr_local(err, -EINVAL, "%s: server is not set", what);
    else if (cl->insecure && (cl->ca_file || cl->ca_data))
        rc = apierr_local(
            err, -EINVAL,
            "%s: insecure-skip-tls-verify cannot be combined with certificate-authority", what);
    else
        rc = load_material(what, "certificate-authority", cl->ca_data, cl->ca_file, &cfg->ca_pem,
                           &cfg->ca_pem_len, err);
    free(what);
    if (rc < 0)
        return rc;
    cfg->server = normalize_server(cl->server);
    cfg->insecure_skip_tls_verify = cl->insecure;
    cfg->ca_file = !cl->ca_data && cl->ca_file ? xstrdup(cl->ca_file) : NULL;
    cfg->tls_server_name = cl->tls_server_name ? xstrdup(cl->tls_server_name) : NULL;
    cfg->proxy_url = cl->proxy_url ? xstrdup(cl->proxy_url) : NULL;
    return 0;
}

/* KUBERNETES_EXEC_INFO for the plugin, with the cluster when provideClusterInfo is set. */
static char *exec_info(const kc_exec_spec *spec, const kc_config *cfg)
{
    sbuf sb = SBUF_INIT;
    sbuf_puts(&sb, "{\"apiVersion\":");
    sbuf_json_string(&sb, spec->api_version);
    sbuf_puts(&sb, ",\"kind\":\"ExecCredential\",\"spec\":{\"interactive\":false");
    if (spec->provide_cluster_info) {
        sbuf_puts(&sb, ",\"cluster\":{\"server\":");
        sbuf_json_string(&sb, cfg->server);
        if (cfg->tls_server_name) {
            sbuf_puts(&sb, ",\"tls-server-name\":");
            sbuf_json_string(&sb, cfg->tls_server_name);
        }
        if (cfg->insecure_skip_tls_verify)
            sbuf_puts(&sb, ",\"insecure-skip-tls-verify\":true");
        if (cfg->ca_pem) {
            char *b64 = kc_base64_encode(cfg->ca_pem, cfg->ca_pem_len);
            sbuf_puts(&sb, ",\"certificate-authority-data\":");
            sbuf_json_string(&sb, b64);
            free(b64);
        }
        if (cfg->proxy_url) {
            sbuf_puts(&sb, ",\"proxy-url\":");
            sbuf_json_string(&sb, cfg->proxy_url);
        }
        sbuf_putc(&sb, '}');
    }
    sbuf_puts(&sb, "}}");
    return sbuf_detach(&sb, NULL);
}

/*
 * The token source of a user. Precedence when several are set: tokenFile, token, exec
 * (client-go: a token already in the request makes the exec round-tripper stand aside).
 */
static kc_credentials *user_credentials(kcf_user *u, const kc_config *cfg)
{
    if (u->token_file) {
        char *what = xasprintf("kubeconfig %s: user \"%s\": tokenFile %s", u->origin, u->name,
                               u->token_file);
        kc_credentials *c = kc_credentials_new_token_file(u->token_file, what);
        free(what);
        return c;
    }
    if (u->token || !u->exec)
        return kc_credentials_new_static(u->token);
    kc_exec_spec *spec = u->exec;
    u->exec = NULL; /* moved into the credentials */
    spec->exec_info = exec_info(spec, cfg);
    return kc_credentials_new_exec(spec);
}

static int build_user(kcf_user *u, kc_config *cfg, api_error *err)
{
    if (u->problem)
        return apierr_local(err, -EINVAL, "%s", u->problem);
    char *what = xasprintf("kubeconfig %s: user \"%s\"", u->origin, u->name);
    int rc = load_material(what, "client-certificate", u->cert_data, u->cert_file,
                           &cfg->client_cert_pem, &cfg->client_cert_pem_len, err);
    if (rc == 0)
        rc = load_material(what, "client-key", u->key_data, u->key_file, &cfg->client_key_pem,
                           &cfg->client_key_pem_len, err);
    if (rc == 0 && !cfg->client_cert_pem != !cfg->client_key_pem)
        rc = apierr_local(err, -EINVAL, "%s: %s is set without %s", what,
                          cfg->client_cert_pem ? "client-certificate" : "client-key",
                          cfg->client_cert_pem ? "client-key" : "client-certificate");
    free(what);
    if (rc < 0)
        return rc;
    cfg->creds = user_credentials(u, cfg);
    return 0;
}

/* -EINVAL with "context X names cluster Y, which is not defined [in the merged files]". */
static int undefined_entry(const kcf_context *ctx, const char *kind, const char *entry,
                           const char *source, api_error *err)
{
    char *own = xasprintf("kubeconfig %s", ctx->origin);
    bool merged = strcmp(own, source) != 0;
    free(own);
    return apierr_local(
        err, -EINVAL, "kubeconfig %s: context \"%s\" names %s \"%s\", which is not defined%s%s",
        ctx->origin, ctx->name, kind, entry, merged ? " in " : "", merged ? source : "");
}

/* Picks the context and fills cfg from it. `source` names the files in messages. */
static int build_config(kcf_doc *doc, const char *source, const char *context, kc_config *cfg,
                        api_error *err)
{
    const char *name = context ? context : doc->current_context;
    if (!name)
        return apierr_local(err, -EINVAL, "%s: current-context is not set and no context was given",
                            source);
    const kcf_context *ctx = kcf_find_context(doc, name);
    if (!ctx)
        return apierr_local(err, -EINVAL, "%s: context \"%s\" not found", source, name);
    const kcf_cluster *cl = ctx->cluster ? kcf_find_cluster(doc, ctx->cluster) : NULL;
    if (!cl) {
        if (ctx->cluster)
            return undefined_entry(ctx, "cluster", ctx->cluster, source, err);
        return apierr_local(err, -EINVAL, "kubeconfig %s: context \"%s\" names no cluster",
                            ctx->origin, name);
    }
    kcf_user *u = ctx->user ? kcf_find_user(doc, ctx->user) : NULL;
    if (ctx->user && !u)
        return undefined_entry(ctx, "user", ctx->user, source, err);
    int rc = build_cluster(cl, cfg, err);
    if (rc < 0)
        return rc;
    if (u)
        rc = build_user(u, cfg, err);
    else
        cfg->creds = kc_credentials_new_static(NULL); /* a context without user: anonymous */
    if (rc < 0)
        return rc;
    cfg->namespace = xstrdup(ctx->ns ? ctx->ns : KC_DEFAULT_NAMESPACE);
    cfg->context = xstrdup(name);
    return 0;
}

/*
 * Loads and merges `paths` in order. A missing file is an error when `required`, else skipped
 * (client-go's rule for KUBECONFIG entries); at least one file must load.
 */
static int load_files(char **paths, size_t n, bool required, const char *context, kc_config **out,
                      api_error *err)
{
    sbuf src = SBUF_INIT;
    sbuf_puts(&src, "kubeconfig ");
    for (size_t i = 0; i < n; i++)
        sbuf_printf(&src, "%s%s", i ? ":" : "", paths[i]);
    kcf_doc *merged = kcf_doc_new();
    size_t loaded = 0;
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        kcf_doc *d;
        api_error file_err = API_ERROR_INIT;
        rc = kcf_load_file(paths[i], &d, &file_err);
        if (rc == -ENOENT && !required) {
            rc = 0;
        } else if (rc < 0) {
            apierr_move(err, &file_err);
        } else {
            kcf_merge(merged, d);
            loaded++;
        }
        apierr_clear(&file_err);
    }
    if (rc == 0 && loaded == 0)
        rc = apierr_local(err, -ENOENT, "%s: none of these files exists", src.data);
    kc_config *cfg = NULL;
    if (rc == 0) {
        cfg = xcalloc(1, sizeof *cfg);
        rc = build_config(merged, src.data, context, cfg, err);
    }
    kcf_doc_free(merged);
    if (rc < 0) {
        kc_config_free(cfg);
        sbuf_free(&src);
        return rc;
    }
    cfg->source = sbuf_detach(&src, NULL);
    *out = cfg;
    return 0;
}

/* Splits a KUBECONFIG value on ':', dropping empty and repeated entries (as client-go does). */
static char **split_list(const char *value, size_t *n)
{
    char *copy = xstrdup(value);
    char **paths = xcalloc(strlen(value) / 2 + 2, sizeof *paths);
    *n = 0;
    char *save = NULL;
    for (char *tok = strtok_r(copy, ":", &save); tok; tok = strtok_r(NULL, ":", &save)) {
        bool seen = false;
        for (size_t i = 0; i < *n && !seen; i++)
            seen = strcmp(paths[i], tok) == 0;
        if (!seen)
            paths[(*n)++] = xstrdup(tok);
    }
    free(copy);
    return paths;
}

static void free_list(char **paths, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(paths[i]);
    free(paths);
}

static int load_env_list(const char *value, const char *context, kc_config **out, api_error *err)
{
    size_t n;
    char **paths = split_list(value, &n);
    int rc;
    if (n == 0)
        rc = apierr_local(err, -ENOENT, "KUBECONFIG=\"%s\" lists no file", value);
    else
        rc = load_files(paths, n, false, context, out, err);
    free_list(paths, n);
    return rc;
}

/*
 * The last resort, $HOME/.kube/config. `incluster_err`, when set, explains why in-cluster was
 * not used: it prefixes the message when the home file is missing too.
 */
static int load_home(const char *context, const api_error *incluster_err, kc_config **out,
                     api_error *err)
{
    const char *home = nonempty(getenv("HOME"));
    int rc;
    if (!home) {
        rc = apierr_local(err, -ENOENT,
                          "no configuration: --kubeconfig not given, KUBECONFIG and HOME not set");
    } else {
        char *path = xasprintf("%s/.kube/config", home);
        rc = load_files(&path, 1, true, context, out, err);
        free(path);
    }
    if (rc == -ENOENT && apierr_is_set(incluster_err)) {
        char *home_msg = xstrdup(err->message);
        apierr_local(err, rc, "%s; and %s", incluster_err->message, home_msg);
        free(home_msg);
    }
    return rc;
}

int kc_load(const kc_load_options *opt, kc_config **out, api_error *err)
{
    static const kc_load_options none;
    *out = NULL;
    if (!opt)
        opt = &none;
    const char *context = nonempty(opt->context);
    const char *explicit = nonempty(opt->kubeconfig);
    int rc;
    if (explicit) {
        char *path = xstrdup(explicit);
        rc = load_files(&path, 1, true, context, out, err);
        free(path);
    } else if (nonempty(getenv("KUBECONFIG"))) {
        rc = load_env_list(getenv("KUBECONFIG"), context, out, err);
    } else {
        api_error incluster_err = API_ERROR_INIT;
        rc = -ENOENT;
        /* controller-runtime tries in-cluster only when no context was asked for. */
        if (!context && nonempty(getenv("KUBERNETES_SERVICE_HOST")) &&
            nonempty(getenv("KUBERNETES_SERVICE_PORT")))
            rc = kc_incluster_load(opt->incluster_dir, out, &incluster_err);
        if (rc != 0)
            rc = load_home(context, &incluster_err, out, err);
        apierr_clear(&incluster_err);
    }
    if (rc == 0)
        kc_credentials_set_exec_timeout((*out)->creds, opt->exec_timeout_ms);
    return rc;
}

/*
 * config.h - how the client finds and authenticates to one cluster: kubeconfig files (merged as
 * client-go merges them), the in-cluster service account, and a refreshing credential source
 * (static token, tokenFile, exec plugin, in-cluster token).
 *
 * The public face of the configuration part of client/. A REST client takes a kc_config and, for
 * each request, asks its kc_credentials for the Authorization header (and, for exec plugins that
 * return certificates, for the client certificate); after a 401 it calls
 * kc_credentials_invalidate() and retries once.
 *
 * Key material (CA, client certificate and key) stays in memory; nothing is written to disk, so a
 * REST client passes it to libcurl with CURLOPT_CAINFO_BLOB, CURLOPT_SSLCERT_BLOB and
 * CURLOPT_SSLKEY_BLOB.
 *
 * Errors (docs/design.md §4.8): a function that can fail returns 0 or a negative errno-style code
 * and fills *err (common/apierr.h; must not be NULL; untouched on success; the caller clears it)
 * with a message naming the file and what is wrong: a 400 BadRequest for bad content (-EINVAL: a
 * kubeconfig, a plugin's output, an empty token file), a 500 InternalError for any other failure
 * (a file that cannot be read, a plugin that cannot run or fails, ...).
 */
#ifndef FOO_CLIENT_CONFIG_H
#define FOO_CLIENT_CONFIG_H

#include "common/apierr.h"
#include "common/clock.h"

#include <stdbool.h>
#include <stddef.h>

/* Defaults, in one place. */
#define KC_INCLUSTER_DIR     "/var/run/secrets/kubernetes.io/serviceaccount"
#define KC_DEFAULT_NAMESPACE "default"
/* tokenFile and the in-cluster token are re-read when the cached copy is this old (client-go). */
#define KC_TOKEN_FILE_REFRESH_MS 60000
/* An exec credential is replaced this long before its expirationTimestamp. */
#define KC_EXEC_EXPIRY_MARGIN_MS 10000
/*
 * An exec plugin still running this long after its start is killed, with its process group.
 * kubectl has no timeout; we need one because one hung plugin would otherwise stall every request
 * that needs a fresh credential. Overridable with kc_load_options.exec_timeout_ms.
 */
#define KC_EXEC_TIMEOUT_MS 60000
/* The most an exec plugin may write on stdout (an ExecCredential is a few KiB). */
#define KC_EXEC_MAX_OUTPUT (1024 * 1024)
/* How often a running plugin's deadline is checked against the (possibly fake) clock. */
#define KC_EXEC_POLL_MS 50

/* A bearer token / client certificate source. Opaque; thread-safe (internal mutex). */
typedef struct kc_credentials kc_credentials;

/* What a REST client needs to talk to one cluster. Immutable after load; share it freely. */
typedef struct kc_config {
    char *server;          /* "https://host:port" (scheme added when missing), no trailing '/' */
    char *tls_server_name; /* name to verify and send as SNI instead of the host; NULL = host */
    char *proxy_url;       /* NULL = none configured (libcurl's *_proxy variables then apply) */
    bool insecure_skip_tls_verify;
    unsigned char *ca_pem; /* NULL = system trust store */
    size_t ca_pem_len;
    char *ca_file; /* where ca_pem was read from (for reload on rotation); NULL for -data */
    unsigned char *client_cert_pem; /* static client certificate; NULL = none */
    size_t client_cert_pem_len;
    unsigned char *client_key_pem;
    size_t client_key_pem_len;
    kc_credentials *creds; /* never NULL; owned; a source with nothing to offer answers NULL */
    char *namespace;       /* context namespace / in-cluster namespace, else "default" */
    char *context;         /* the kubeconfig context used; NULL for in-cluster */
    char *source;          /* for logs: "kubeconfig /a:/b" or "in-cluster" */
} kc_config;

typedef struct kc_load_options {
    const char *kubeconfig;    /* --kubeconfig; NULL or "" = not given */
    const char *context;       /* --context; NULL or "" = the current-context */
    const char *incluster_dir; /* service-account directory; NULL = KC_INCLUSTER_DIR */
    int exec_timeout_ms;       /* exec plugin run timeout; <= 0 = KC_EXEC_TIMEOUT_MS */
} kc_load_options;

/*
 * Loads the configuration by the rule of docs/controller-machinery.md §1.1 (controller-runtime's):
 *   1. opt->kubeconfig when given (the file must exist);
 *   2. else $KUBECONFIG when non-empty: a ':'-separated list, missing entries skipped, merged
 *      with client-go's rule (for each cluster/user/context name the first file defining it wins
 *      and later definitions are dropped whole; the first file setting current-context wins);
 *   3. else, when no context was asked for and KUBERNETES_SERVICE_HOST/PORT are set, in-cluster;
 *   4. else $HOME/.kube/config.
 * Relative paths in a file (certificate-authority, client-certificate, client-key, tokenFile, and
 * an exec command containing '/') are resolved against that file's directory. Only the selected
 * context is validated; CA/cert/key files are read and -data fields base64-decoded at load.
 * tokenFile is read lazily by the credentials; the in-cluster token is checked at load.
 * On success *out is a new config (free with kc_config_free) and 0 is returned. On failure
 * returns -ENOENT (no file / no configuration), -EINVAL (bad content) or another -errno, fills
 * *err (see above), and leaves *out NULL. opt may be NULL.
 * Reads the environment: call it before threads that setenv() start.
 */
int kc_load(const kc_load_options *opt, kc_config **out, api_error *err);

/*
 * In-cluster configuration from KUBERNETES_SERVICE_HOST / KUBERNETES_SERVICE_PORT (an IPv6 host
 * is bracketed) and the service-account directory `dir` (NULL = KC_INCLUSTER_DIR): `token`
 * (must be readable and non-empty; re-read every KC_TOKEN_FILE_REFRESH_MS and after
 * invalidation), `ca.crt` (required), `namespace` (optional). The namespace is $POD_NAMESPACE,
 * else the namespace file, else "default" (client-go's order). Returns 0 and *out, or -ENOENT
 * when the variables are unset or a file is missing (-EINVAL when the token is empty), with *err
 * filled.
 */
int kc_incluster_load(const char *dir, kc_config **out, api_error *err);

/* Frees a config and its credentials. NULL is a no-op. No request may be using it. */
void kc_config_free(kc_config *cfg);

/*
 * A credential source with a fixed bearer token (NULL or "" = no token). For tests and for
 * callers that build a kc_config by hand. Free with kc_credentials_free.
 */
kc_credentials *kc_credentials_new_static(const char *token);
/* Frees a source not owned by a kc_config. NULL is a no-op. */
void kc_credentials_free(kc_credentials *c);

/*
 * The Authorization header value for the next request. Sets *authorization to a malloc'd
 * "Bearer <token>", or to NULL when this source has no token (client-certificate auth or none),
 * and returns 0. Refreshes as needed, reading time from `clock`:
 *   - tokenFile / in-cluster token: re-read when the cached copy is KC_TOKEN_FILE_REFRESH_MS old
 *     or was invalidated; if a re-read fails while a token is cached, the old token is kept
 *     (and a warning logged), as client-go does;
 *   - exec: the plugin runs when nothing is cached, after invalidation, or once the wall clock
 *     reaches expirationTimestamp minus KC_EXEC_EXPIRY_MARGIN_MS (no timestamp = cached until
 *     invalidated).
 * On failure returns a negative errno, fills *err and sets *authorization to NULL (an exec
 * plugin that times out gives -ETIMEDOUT, one whose output is too large -EMSGSIZE).
 * Thread-safe, and refreshes are single-flight without the source's lock held: while one caller
 * refreshes, callers whose cached credential is still valid (not yet expired, not invalidated)
 * get it without waiting, and callers with nothing valid wait for that one refresh (bounded by
 * the plugin timeout) and share its result, success or error.
 * The returned value is a secret: wipe it before freeing it (OPENSSL_cleanse).
 */
int kc_credentials_authorization(kc_credentials *c, clk_t *clock, char **authorization,
                                 api_error *err);

/*
 * The client certificate and key an exec plugin returned (PEM, malloc'd copies, not
 * NUL-terminated), refreshed like kc_credentials_authorization. Sets all four outputs to
 * NULL/0 and returns 0 when this source gives no certificate (then use kc_config's static one).
 * Errors as kc_credentials_authorization. Thread-safe.
 */
int kc_credentials_client_cert(kc_credentials *c, clk_t *clock, unsigned char **cert,
                               size_t *cert_len, unsigned char **key, size_t *key_len,
                               api_error *err);

/*
 * Called after a 401: forgets the cached token/certificate so the next call re-reads the file or
 * re-runs the plugin. `used` is the Authorization value the failed request carried: when it no
 * longer matches the cached token (another thread already refreshed) nothing is forgotten, so a
 * burst of 401s runs the plugin once. used = NULL forgets unconditionally. A static token is never
 * forgotten. Thread-safe.
 */
void kc_credentials_invalidate(kc_credentials *c, const char *used);

#endif

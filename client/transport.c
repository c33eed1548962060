/*
 * transport.c - the libcurl side of the REST client (rest_internal.h): the one-time global init,
 * the share object (DNS cache and TLS sessions, with locks), the pool of easy handles, and the
 * options of one exchange (URL, method, TLS material as blobs, proxy, tls-server-name,
 * credentials, timeouts, keepalive).
 *
 * Why a pool and not one handle per call: an easy handle keeps its live connection across
 * curl_easy_reset(), so giving handles back (LIFO) reuses connections and TLS sessions, which
 * the official C client never did (a new handshake per call). The connection cache is not put
 * into the share object because libcurl does not support sharing connections between
 * concurrent threads (CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT).
 *
 * Hardening: TLS 1.2 at least and no renegotiation on every connection; response bodies are
 * capped (max_response_bytes); an exec plugin's private key is lent to libcurl without a copy and
 * wiped when the call ends, and so is the header list that carried the bearer token (libcurl
 * frees its own copies without wiping them, hence no copies).
 */
#include "client/config_internal.h"
#include "client/rest_internal.h"
#include "common/alloc.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/ssl.h>
#include <signal.h>
#include <string.h>

#define KC_TRY(expr)                                                                               \
    do {                                                                                           \
        CURLcode kc_try_rc_ = (expr);                                                              \
        if (kc_try_rc_ != CURLE_OK)                                                                \
            return kc_try_rc_;                                                                     \
    } while (0)

/* ---- global init ---- */

static pthread_once_t kc_global_once = PTHREAD_ONCE_INIT;
static CURLcode kc_global_rc;

static void kc_global_init(void)
{
    kc_global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
    /*
     * With CURLOPT_NOSIGNAL libcurl no longer ignores SIGPIPE around its sends; a peer closing a
     * TLS connection must not kill the process. Only the default action is replaced, so a
     * program that installed its own handler keeps it.
     */
    struct sigaction sa;
    if (sigaction(SIGPIPE, NULL, &sa) == 0 && !(sa.sa_flags & SA_SIGINFO) &&
        sa.sa_handler == SIG_DFL)
        signal(SIGPIPE, SIG_IGN);
}

/* ---- share object ---- */

static void kc_share_lock(CURL *h, curl_lock_data data, curl_lock_access access, void *userp)
{
    (void)h;
    (void)access; /* one mutex per kind of data is enough: the critical sections are short */
    kc_client *c = userp;
    pthread_mutex_lock(&c->share_mu[data]);
}

static void kc_share_unlock(CURL *h, curl_lock_data data, void *userp)
{
    (void)h;
    kc_client *c = userp;
    pthread_mutex_unlock(&c->share_mu[data]);
}

static CURLSHcode kc_share_setup(kc_client *c)
{
    CURLSHcode rc = curl_share_setopt(c->share, CURLSHOPT_LOCKFUNC, kc_share_lock);
    if (rc == CURLSHE_OK)
        rc = curl_share_setopt(c->share, CURLSHOPT_UNLOCKFUNC, kc_share_unlock);
    if (rc == CURLSHE_OK)
        rc = curl_share_setopt(c->share, CURLSHOPT_USERDATA, c);
    if (rc == CURLSHE_OK)
        rc = curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    if (rc == CURLSHE_OK)
        rc = curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
    return rc;
}

/* ---- server URL, tls-server-name ---- */

char *kc_url_part(CURLU *u, CURLUPart part, unsigned flags)
{
    char *v = NULL;
    if (curl_url_get(u, part, &v, flags) != CURLUE_OK)
        return NULL;
    char *copy = xstrdup(v);
    curl_free(v);
    return copy;
}

/*
 * tls-server-name: the URL carries the name to send as SNI and to verify, and CONNECT_TO sends
 * the connection to the configured host and port; the Host header keeps the configured host,
 * as client-go (tls.Config.ServerName) does.
 */
static int kc_apply_server_name(kc_client *c, CURLU *u, api_error *err)
{
    char *host = kc_url_part(u, CURLUPART_HOST, 0);
    char *port = kc_url_part(u, CURLUPART_PORT, CURLU_DEFAULT_PORT);
    char *explicit_port = kc_url_part(u, CURLUPART_PORT, 0);
    int rc = 0;
    if (!host || !port) {
        rc = apierr_local(err, -EINVAL, "server URL %s has no host", c->cfg->server);
    } else {
        char *rule = xasprintf("::%s:%s", host, port);
        c->connect_to = curl_slist_append(NULL, rule);
        free(rule);
        c->host_header = xasprintf("Host: %s%s%s", host, explicit_port ? ":" : "",
                                   explicit_port ? explicit_port : "");
        if (!c->connect_to ||
            curl_url_set(u, CURLUPART_HOST, c->cfg->tls_server_name, 0) != CURLUE_OK)
            rc = apierr_local(err, -EINVAL, "tls-server-name %s is not a valid host name",
                              c->cfg->tls_server_name);
    }
    free(host);
    free(port);
    free(explicit_port);
    return rc;
}

int kc_url_parse_server(CURLU *u, const char *server, bool *https, api_error *err)
{
    CURLUcode uc = curl_url_set(u, CURLUPART_URL, server, 0);
    if (uc != CURLUE_OK)
        return apierr_local(err, -EINVAL, "server URL %s: %s", server, curl_url_strerror(uc));
    char *scheme = kc_url_part(u, CURLUPART_SCHEME, 0);
    *https = scheme && strcmp(scheme, "https") == 0;
    bool http = scheme && strcmp(scheme, "http") == 0;
    free(scheme);
    if (!*https && !http)
        return apierr_local(err, -EINVAL, "server URL %s: the scheme must be https or http",
                            server);
    return 0;
}

static int kc_build_urls(kc_client *c, CURLU *u, api_error *err)
{
    const kc_config *cfg = c->cfg;
    bool https;
    int prc = kc_url_parse_server(u, cfg->server, &https, err);
    if (prc != 0)
        return prc;
    if (https && cfg->tls_server_name && *cfg->tls_server_name) {
        int rc = kc_apply_server_name(c, u, err);
        if (rc != 0)
            return rc;
    }
    char *url = kc_url_part(u, CURLUPART_URL, 0);
    if (!url)
        return apierr_local(err, -EINVAL, "server URL %s cannot be rebuilt", cfg->server);
    size_t n = strlen(url);
    while (n > 0 && url[n - 1] == '/')
        url[--n] = '\0';
    c->base_url = url;
    return 0;
}

int kc_transport_init(kc_client *c, api_error *err)
{
    /* The locks first: kc_transport_deinit() may follow any failure below. */
    for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
        pthread_mutex_init(&c->share_mu[i], NULL);
    pthread_mutex_init(&c->pool.mu, NULL);
    pthread_once(&kc_global_once, kc_global_init);
    if (kc_global_rc != CURLE_OK)
        return apierr_local(err, -EIO, "curl_global_init: %s", curl_easy_strerror(kc_global_rc));
    CURLU *u = curl_url();
    if (!u)
        return apierr_local(err, -ENOMEM, "curl_url: out of memory");
    int rc = kc_build_urls(c, u, err);
    curl_url_cleanup(u);
    if (rc != 0)
        return rc;
    c->share = curl_share_init();
    if (!c->share)
        return apierr_local(err, -ENOMEM, "curl_share_init failed");
    CURLSHcode sc = kc_share_setup(c);
    if (sc != CURLSHE_OK)
        return apierr_local(err, -EIO, "curl_share_setopt: %s", curl_share_strerror(sc));
    return 0;
}

void kc_transport_deinit(kc_client *c)
{
    for (size_t i = 0; i < c->pool.n; i++)
        curl_easy_cleanup(c->pool.idle[i]);
    c->pool.n = 0;
    if (c->share)
        curl_share_cleanup(c->share);
    c->share = NULL;
    pthread_mutex_destroy(&c->pool.mu);
    for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
        pthread_mutex_destroy(&c->share_mu[i]);
    curl_slist_free_all(c->connect_to);
    c->connect_to = NULL;
    free(c->host_header);
    free(c->base_url);
}

/* ---- handle pool ---- */

/* A fresh handle attached to the share object (kept across curl_easy_reset). */
static CURL *kc_handle_new(kc_client *c)
{
    CURL *h = curl_easy_init();
    if (h && curl_easy_setopt(h, CURLOPT_SHARE, c->share) != CURLE_OK) {
        curl_easy_cleanup(h);
        h = NULL;
    }
    return h;
}

static CURL *kc_pool_take(kc_client *c)
{
    CURL *h = NULL;
    pthread_mutex_lock(&c->pool.mu);
    if (c->pool.n > 0)
        h = c->pool.idle[--c->pool.n];
    pthread_mutex_unlock(&c->pool.mu);
    return h ? h : kc_handle_new(c);
}

static void kc_pool_give(kc_client *c, CURL *h)
{
    /* Reset now, so an idle handle keeps no pointer into a finished call (error buffer...). */
    curl_easy_reset(h);
    pthread_mutex_lock(&c->pool.mu);
    bool kept = c->pool.n < KC_POOL_MAX_IDLE;
    if (kept)
        c->pool.idle[c->pool.n++] = h;
    pthread_mutex_unlock(&c->pool.mu);
    if (!kept)
        curl_easy_cleanup(h);
}

/* ---- options of one exchange ---- */

bool kc_call_keep_body(kc_call *call, const char *p, size_t n)
{
    if (n > call->max_body || call->body.len > call->max_body - n) {
        call->body_too_large = true;
        return false;
    }
    sbuf_append(&call->body, p, n);
    return true;
}

static size_t kc_write_body(char *p, size_t size, size_t n, void *userp)
{
    /* A short count makes libcurl abort the transfer with CURLE_WRITE_ERROR. */
    return kc_call_keep_body(userp, p, size * n) ? size * n : 0;
}

/*
 * Called by libcurl (OpenSSL backend) for each new TLS context: refuse renegotiation, as Go's
 * crypto/tls does by default (libcurl never starts one, but OpenSSL would follow a server's).
 */
static CURLcode kc_ssl_ctx(CURL *h, void *ssl_ctx, void *userp)
{
    (void)h;
    (void)userp;
    SSL_CTX_set_options(ssl_ctx, SSL_OP_NO_RENEGOTIATION);
    return CURLE_OK;
}

static CURLcode kc_set_common(kc_client *c, kc_call *call, bool watch)
{
    CURL *h = call->h;
    KC_TRY(curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L));
    KC_TRY(curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https"));
    KC_TRY(curl_easy_setopt(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS));
    KC_TRY(curl_easy_setopt(h, CURLOPT_PIPEWAIT, 1L));
    KC_TRY(curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L));
    KC_TRY(curl_easy_setopt(h, CURLOPT_TCP_KEEPIDLE, (long)KC_TCP_KEEPIDLE_S));
    KC_TRY(curl_easy_setopt(h, CURLOPT_TCP_KEEPINTVL, (long)KC_TCP_KEEPINTVL_S));
    KC_TRY(curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)c->opt.connect_timeout_ms));
    if (!watch) {
        KC_TRY(curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)c->opt.request_timeout_ms));
        /* Big LISTs come gzip'd from kube-apiserver; watches stay uncompressed for latency. */
        KC_TRY(curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, ""));
    }
    KC_TRY(curl_easy_setopt(h, CURLOPT_USERAGENT, c->user_agent));
    KC_TRY(curl_easy_setopt(h, CURLOPT_ERRORBUFFER, call->errbuf));
    KC_TRY(curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, kc_write_body));
    KC_TRY(curl_easy_setopt(h, CURLOPT_WRITEDATA, call));
    if (c->connect_to)
        KC_TRY(curl_easy_setopt(h, CURLOPT_CONNECT_TO, c->connect_to));
    if (c->cfg->proxy_url && *c->cfg->proxy_url)
        KC_TRY(curl_easy_setopt(h, CURLOPT_PROXY, c->cfg->proxy_url));
    return CURLE_OK;
}

/*
 * Lends data to libcurl. Without CURL_BLOB_COPY libcurl keeps a pointer, so data must outlive
 * the transfer (the config, or the call for an exec plugin's pair): no copy of a key is then
 * left unwiped inside libcurl, and the config's blobs are not copied per request.
 */
static CURLcode kc_set_blob(CURL *h, CURLoption opt, const void *data, size_t len)
{
    struct curl_blob blob = {.data = (void *)data, .len = len, .flags = CURL_BLOB_NOCOPY};
    return curl_easy_setopt(h, opt, &blob);
}

/* TLS from the config; the call's cert/key (from an exec plugin) win over the config's pair. */
static CURLcode kc_set_tls(CURL *h, const kc_config *cfg, const unsigned char *cert,
                           size_t cert_len, const unsigned char *key, size_t key_len)
{
    KC_TRY(curl_easy_setopt(h, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2));
    KC_TRY(curl_easy_setopt(h, CURLOPT_SSL_CTX_FUNCTION, kc_ssl_ctx));
    if (cfg->insecure_skip_tls_verify) {
        KC_TRY(curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L));
        KC_TRY(curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L));
    } else if (cfg->ca_pem) {
        /* Trust only the cluster's CA, as client-go does when one is configured. */
        KC_TRY(curl_easy_setopt(h, CURLOPT_CAINFO, NULL));
        KC_TRY(curl_easy_setopt(h, CURLOPT_CAPATH, NULL));
        KC_TRY(kc_set_blob(h, CURLOPT_CAINFO_BLOB, cfg->ca_pem, cfg->ca_pem_len));
    }
    if (!cert) {
        cert = cfg->client_cert_pem;
        cert_len = cfg->client_cert_pem_len;
        key = cfg->client_key_pem;
        key_len = cfg->client_key_pem_len;
    }
    if (cert && key) {
        KC_TRY(kc_set_blob(h, CURLOPT_SSLCERT_BLOB, cert, cert_len));
        KC_TRY(curl_easy_setopt(h, CURLOPT_SSLCERTTYPE, "PEM"));
        KC_TRY(kc_set_blob(h, CURLOPT_SSLKEY_BLOB, key, key_len));
        KC_TRY(curl_easy_setopt(h, CURLOPT_SSLKEYTYPE, "PEM"));
    }
    return CURLE_OK;
}

static bool kc_method_has_body(const char *method)
{
    return strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0 ||
           strcmp(method, "PATCH") == 0;
}

static CURLcode kc_set_method(CURL *h, const char *method, const char *body, size_t len)
{
    if (strcmp(method, "GET") == 0)
        return curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    if (strcmp(method, "HEAD") == 0)
        return curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    KC_TRY(curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method));
    /* Body-bearing verbs always send a Content-Length (the server answers 411 otherwise). */
    if (body || kc_method_has_body(method)) {
        KC_TRY(curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(body ? len : 0)));
        KC_TRY(curl_easy_setopt(h, CURLOPT_POSTFIELDS, body ? body : ""));
    }
    return CURLE_OK;
}

static bool kc_add_header(kc_call *call, const char *line)
{
    struct curl_slist *l = curl_slist_append(call->headers, line);
    if (!l)
        return false;
    call->headers = l;
    return true;
}

static CURLcode kc_set_headers(kc_client *c, kc_call *call, const char *method,
                               const char *content_type, const char *body)
{
    bool ok = kc_add_header(call, "Accept: application/json");
    /* No "Expect: 100-continue" round trip for large bodies. */
    ok = ok && kc_add_header(call, "Expect:");
    if (ok && (body || kc_method_has_body(method))) {
        char *ct = xasprintf("Content-Type: %s", content_type ? content_type : "application/json");
        ok = kc_add_header(call, ct);
        free(ct);
    }
    if (ok && call->authorization) {
        char *auth = xasprintf("Authorization: %s", call->authorization);
        ok = kc_add_header(call, auth);
        kc_free_secret_str(auth);
    }
    if (ok && c->host_header)
        ok = kc_add_header(call, c->host_header);
    if (!ok)
        return CURLE_OUT_OF_MEMORY;
    return curl_easy_setopt(call->h, CURLOPT_HTTPHEADER, call->headers);
}

static CURLcode kc_set_all(kc_client *c, kc_call *call, const char *method, const char *path,
                           const char *content_type, const char *body, size_t len, bool watch)
{
    char *url = xasprintf("%s%s", c->base_url, path);
    CURLcode rc = curl_easy_setopt(call->h, CURLOPT_URL, url); /* copied by libcurl */
    free(url);
    KC_TRY(rc);
    KC_TRY(kc_set_common(c, call, watch));
    KC_TRY(kc_set_tls(call->h, c->cfg, call->cert, call->cert_len, call->key, call->key_len));
    KC_TRY(kc_set_method(call->h, method, body, len));
    return kc_set_headers(c, call, method, content_type, body);
}

/* Fetches the Authorization value and an exec plugin's certificate into the call. */
int kc_call_credentials(kc_client *c, kc_call *call, api_error *err)
{
    api_error cred_err = API_ERROR_INIT;
    kc_credentials *creds = c->cfg->creds;
    int rc = kc_credentials_authorization(creds, c->opt.clock, &call->authorization, &cred_err);
    if (rc == 0)
        rc = kc_credentials_client_cert(creds, c->opt.clock, &call->cert, &call->cert_len,
                                        &call->key, &call->key_len, &cred_err);
    if (rc != 0) {
        /* rest.h's contract: a credential failure is reason "Credentials" with code 0. */
        apierr_set(err, 0, "Credentials", "getting credentials: %s",
                   cred_err.message ? cred_err.message : "unknown error");
        apierr_clear(&cred_err);
        return -EACCES;
    }
    call->had_credentials = call->authorization != NULL || call->cert != NULL;
    return 0;
}

int kc_call_begin(kc_client *c, kc_call *call, const char *method, const char *path,
                  const char *content_type, const char *body, size_t len, bool watch,
                  api_error *err)
{
    memset(call, 0, sizeof *call);
    sbuf_init(&call->body);
    call->max_body = c->opt.max_response_bytes;
    int rc = kc_call_credentials(c, call, err);
    if (rc != 0) {
        kc_call_end(c, call);
        return rc;
    }
    call->h = kc_pool_take(c);
    CURLcode cc = CURLE_FAILED_INIT;
    if (call->h)
        cc = kc_set_all(c, call, method, path, content_type, body, len, watch);
    if (cc != CURLE_OK) {
        apierr_set(err, 0, "Transport", "%s %s: setting up libcurl: %s", method, path,
                   curl_easy_strerror(cc));
        kc_call_end(c, call);
        return cc == CURLE_OUT_OF_MEMORY || cc == CURLE_FAILED_INIT ? -ENOMEM : -EIO;
    }
    return 0;
}

void kc_call_count(kc_client *c, kc_call *call)
{
    long n = 0;
    if (curl_easy_getinfo(call->h, CURLINFO_NUM_CONNECTS, &n) == CURLE_OK && n > 0)
        atomic_fetch_add(&c->n_connections, (uint_fast64_t)n);
    atomic_fetch_add(&c->n_requests, 1);
}

void kc_call_end(kc_client *c, kc_call *call)
{
    /* The handle is reset first, so libcurl holds no pointer to what is wiped below. */
    if (call->h)
        kc_pool_give(c, call->h);
    call->h = NULL;
    for (struct curl_slist *l = call->headers; l; l = l->next)
        OPENSSL_cleanse(l->data, strlen(l->data)); /* "Authorization: Bearer ..." */
    curl_slist_free_all(call->headers);
    call->headers = NULL;
    kc_free_secret_str(call->authorization);
    call->authorization = NULL;
    free(call->cert);
    kc_free_secret(call->key, call->key_len);
    call->cert = call->key = NULL;
    call->cert_len = call->key_len = 0;
    sbuf_free(&call->body);
}

static int kc_errno_of(CURLcode cc)
{
    switch (cc) {
    case CURLE_OPERATION_TIMEDOUT:
        return -ETIMEDOUT;
    case CURLE_COULDNT_CONNECT:
        return -ECONNREFUSED;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
        return -EHOSTUNREACH;
    case CURLE_OUT_OF_MEMORY:
        return -ENOMEM;
    default:
        return -EIO;
    }
}

int kc_transport_error(kc_call *call, CURLcode cc, const char *method, const char *path,
                       api_error *err)
{
    if (call->body_too_large) {
        apierr_set(err, 0, "Transport",
                   "%s %s: the response body is larger than the client's limit of %zu bytes "
                   "(max_response_bytes)",
                   method, path, call->max_body);
        return -EMSGSIZE;
    }
    const char *why = call->errbuf[0] ? call->errbuf : curl_easy_strerror(cc);
    apierr_set(err, 0, "Transport", "%s %s: %s", method, path, why);
    return kc_errno_of(cc);
}

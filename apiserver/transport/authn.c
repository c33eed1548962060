/*
 * authn.c - request authentication: client certificates, static tokens, anonymous (authn.h).
 *
 * Semantics follow k8s.io/apiserver: the x509 authenticator (request/x509/x509.go) verifies the
 * peer chain with ExtKeyUsage clientAuth and maps CN -> user, O -> groups; the token-file
 * authenticator (authenticator/token/tokenfile) reads kube-apiserver's CSV; the bearer
 * authenticator (request/bearertoken) declines anything that is not "Bearer <token>"; and
 * system:authenticated is added to every authenticated user (group adder).
 */
#include "apiserver/transport/authn.h"

#include "apiserver/transport/cabundle.h"
#include "apiserver/transport/front_proxy.h"
#include "apiserver/transport/headrec.h"

#include "common/alloc.h"
#include "common/log.h"
#include "common/sha256.h"
#include "common/sbuf.h"

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/asn1.h>
#include <openssl/x509v3.h>

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define AUTHN_HASH_LEN SHA256_LEN
/* Lets TLS session resumption work with SSL_VERIFY_PEER (OpenSSL refuses it without an id). */
#define AUTHN_SESSION_ID_CTX "foo-apiserver"

/* One line of the token file, keyed by the SHA-256 of its token. */
typedef struct authn_token {
    unsigned char hash[AUTHN_HASH_LEN];
    int line; /* the later line of a duplicated token wins, as in kube-apiserver */
    authn_user user;
} authn_token;

struct authn {
    ca_bundle client_cas;     /* empty: client certificates are not used */
    front_proxy *front_proxy; /* NULL: no front proxy */
    bool delegated;           /* ask every client for a certificate; record heads (authn.h) */
    uint64_t serial;          /* unique per authn of the process: tells connections it changed */
    authn_token *tokens;      /* sorted by hash, unique */
    size_t ntokens;
    bool tokens_configured;
    clk_t *clock;
};

/* ---- errors ---- */

/* Records a load failure in err (may be NULL) as a 500 InternalError. */
static void authn_load_error(api_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void authn_load_error(api_error *err, const char *fmt, ...)
{
    sbuf msg = SBUF_INIT;
    va_list ap;
    va_start(ap, fmt);
    sbuf_vprintf(&msg, fmt, ap);
    va_end(ap);
    if (err)
        apierr_set(err, 500, "InternalError", "%s", msg.data);
    sbuf_free(&msg);
}

/* ---- token file ---- */

/* Splits one CSV record (no line terminator) like Go's encoding/csv. Fields are appended to
 * *fields / *n (caller frees). Returns NULL or a static description of the syntax error. */
static const char *authn_csv_split(const char *s, size_t len, char ***fields, int *n)
{
    size_t i = 0;
    for (;;) {
        sbuf f = SBUF_INIT;
        sbuf_puts(&f, "");
        if (i < len && s[i] == '"') {
            for (i++;; i++) {
                if (i >= len) {
                    sbuf_free(&f);
                    return "unterminated quoted field";
                }
                if (s[i] != '"') {
                    sbuf_putc(&f, s[i]);
                } else if (i + 1 < len && s[i + 1] == '"') {
                    sbuf_putc(&f, '"');
                    i++;
                } else {
                    break;
                }
            }
            i++;
            if (i < len && s[i] != ',') {
                sbuf_free(&f);
                return "extraneous or missing \" in quoted field";
            }
        } else {
            size_t start = i;
            while (i < len && s[i] != ',')
                i++;
            if (memchr(s + start, '"', i - start)) {
                sbuf_free(&f);
                return "bare \" in non-quoted field";
            }
            sbuf_append(&f, s + start, i - start);
        }
        *fields = xrealloc(*fields, sizeof(char *) * (size_t)(*n + 1));
        (*fields)[(*n)++] = sbuf_detach(&f, NULL);
        if (i >= len)
            return NULL;
        i++; /* the comma; a trailing comma yields one more empty field */
    }
}

static void authn_free_fields(char **fields, int n)
{
    for (int i = 0; i < n; i++) {
        OPENSSL_cleanse(fields[i], strlen(fields[i]));
        free(fields[i]);
    }
    free(fields);
}

/* Splits "a,b,,c" into groups a, b, c (empty pieces dropped). */
static void authn_split_groups(authn_user *u, const char *list)
{
    while (*list) {
        size_t k = strcspn(list, ",");
        if (k > 0) {
            char *g = xstrndup(list, k);
            authn_user_add_group(u, g);
            free(g);
        }
        list += k;
        if (*list == ',')
            list++;
    }
}

/* Turns one parsed record into a token entry. Returns NULL, or the reason the line is bad;
 * *skip is set for lines that are ignored with a warning. */
static const char *authn_token_from_fields(char **f, int n, authn_token *t, bool *skip)
{
    *skip = false;
    if (n < 3)
        return "expected at least 3 columns (token,user,uid)";
    if (f[0][0] == '\0') {
        *skip = true;
        return "empty token";
    }
    if (f[1][0] == '\0')
        return "empty user name";
    memset(t, 0, sizeof *t);
    if (sha256(f[0], strlen(f[0]), t->hash) != 0)
        return "cannot hash the token";
    t->user.name = xstrdup(f[1]);
    t->user.uid = xstrdup(f[2]);
    if (n >= 4)
        authn_split_groups(&t->user, f[3]);
    return NULL;
}

static int authn_token_cmp(const void *x, const void *y)
{
    const authn_token *a = x, *b = y;
    int c = memcmp(a->hash, b->hash, AUTHN_HASH_LEN);
    return c ? c : (a->line > b->line) - (a->line < b->line);
}

/* Sorts the tokens by hash and keeps, of each duplicated token, its last line. */
static void authn_sort_tokens(authn *a, const char *path)
{
    if (a->ntokens == 0)
        return; /* qsort(NULL, 0, ...) is undefined: an empty file has no tokens array */
    qsort(a->tokens, a->ntokens, sizeof *a->tokens, authn_token_cmp);
    size_t out = 0;
    for (size_t i = 0; i < a->ntokens; i++) {
        bool dup_of_next = i + 1 < a->ntokens &&
                           memcmp(a->tokens[i].hash, a->tokens[i + 1].hash, AUTHN_HASH_LEN) == 0;
        if (dup_of_next) {
            char line[16];
            snprintf(line, sizeof line, "%d", a->tokens[i].line);
            log_kv(LOG_WARN, "duplicate token in token file; the later line wins", "file", path,
                   "line", line, NULL);
            authn_user_clear(&a->tokens[i].user);
            continue;
        }
        a->tokens[out++] = a->tokens[i];
    }
    a->ntokens = out;
}

static bool authn_blank(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (!isspace((unsigned char)s[i]))
            return false;
    return true;
}

/* Parses one line (no terminator) into a->tokens. Returns 0 or -1 (logged, err set). */
static int authn_parse_token_line(authn *a, const char *path, int lineno, const char *s, size_t len,
                                  api_error *err)
{
    if (len > 0 && s[len - 1] == '\r')
        len--;
    if (authn_blank(s, len) || s[0] == '#')
        return 0;
    char **fields = NULL;
    int n = 0;
    const char *why = authn_csv_split(s, len, &fields, &n);
    authn_token t = {0};
    bool skip = false;
    if (!why)
        why = authn_token_from_fields(fields, n, &t, &skip);
    authn_free_fields(fields, n);
    if (why && skip) {
        char line[16];
        snprintf(line, sizeof line, "%d", lineno);
        log_kv(LOG_WARN, "token file line skipped", "file", path, "line", line, "reason", why,
               NULL);
        return 0;
    }
    if (why) {
        authn_load_error(err, "token file %s: line %d: %s", path, lineno, why);
        return -1;
    }
    t.line = lineno;
    a->tokens = xrealloc(a->tokens, sizeof *a->tokens * (a->ntokens + 1));
    a->tokens[a->ntokens++] = t;
    return 0;
}

static int authn_load_tokens(authn *a, const char *path, api_error *err)
{
    sbuf sb = SBUF_INIT;
    int rc = sbuf_read_file(&sb, path);
    if (rc != 0) {
        authn_load_error(err, "token file %s: %s", path, strerror(-rc));
        sbuf_free(&sb);
        return -1;
    }
    const char *p = sb.data, *end = sb.data + sb.len;
    for (int lineno = 1; rc == 0 && p < end; lineno++) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
        rc = authn_parse_token_line(a, path, lineno, p, len, err);
        p += len + (nl ? 1 : 0);
    }
    OPENSSL_cleanse(sb.data, sb.cap); /* the file holds secrets */
    sbuf_free(&sb);
    if (rc == 0) {
        a->tokens_configured = true;
        authn_sort_tokens(a, path);
    }
    return rc;
}

/* ---- lifecycle ---- */

authn *authn_new(const authn_options *opts, api_error *err)
{
    authn *a = xcalloc(1, sizeof *a);
    a->clock = opts && opts->clock ? opts->clock : clk_system();
    int rc = 0;
    if (opts && opts->client_ca_file)
        rc = ca_bundle_load_file(&a->client_cas, "client CA file", opts->client_ca_file, err);
    else if (opts && opts->client_ca_pem)
        rc = ca_bundle_load_pem(&a->client_cas, opts->client_ca_pem, 0,
                                "client CA (client-ca-file)", err);
    if (rc == 0 && opts)
        rc = front_proxy_new(&opts->front_proxy, &a->front_proxy, err);
    a->delegated = opts && opts->delegated;
    /* A process-wide counter, not the address: a reloaded authn may reuse the old one's. */
    static atomic_uint_fast64_t next_serial = 1;
    a->serial = atomic_fetch_add(&next_serial, 1);
    if (rc == 0 && opts && opts->token_auth_file)
        rc = authn_load_tokens(a, opts->token_auth_file, err);
    if (rc != 0) {
        authn_free(a);
        return NULL;
    }
    return a;
}

void authn_free(authn *a)
{
    if (!a)
        return;
    ca_bundle_clear(&a->client_cas);
    front_proxy_free(a->front_proxy);
    for (size_t i = 0; i < a->ntokens; i++)
        authn_user_clear(&a->tokens[i].user);
    free(a->tokens);
    free(a);
}

/* ---- client certificates ---- */

/* The UTF-8 text of entry i of name, or NULL (embedded NUL or conversion failure). */
static char *authn_name_entry(X509_NAME *name, int i)
{
    ASN1_STRING *d = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i));
    unsigned char *utf8 = NULL;
    int n = ASN1_STRING_to_UTF8(&utf8, d);
    char *s = NULL;
    if (n >= 0 && memchr(utf8, '\0', (size_t)n) == NULL)
        s = xstrndup((const char *)utf8, (size_t)n);
    OPENSSL_free(utf8);
    return s;
}

int authn_cert_common_name(X509 *cert, char **out)
{
    *out = NULL;
    X509_NAME *name = X509_get_subject_name(cert);
    int last_cn = -1;
    for (int i = -1; (i = X509_NAME_get_index_by_NID(name, NID_commonName, i)) >= 0;)
        last_cn = i;
    if (last_cn < 0)
        return -ENOENT;
    if (!(*out = authn_name_entry(name, last_cn)))
        return -EACCES;
    return 0;
}

/* user = last CN (Go keeps the last), groups = every O in order. Returns 0, -ENOENT (no CN)
 * or -EACCES (a value that is not text). */
static int authn_user_from_subject(X509 *leaf, authn_user *u)
{
    X509_NAME *name = X509_get_subject_name(leaf);
    int rc = authn_cert_common_name(leaf, &u->name);
    if (rc != 0)
        return rc;
    if (u->name[0] == '\0')
        return -ENOENT;
    for (int i = -1; (i = X509_NAME_get_index_by_NID(name, NID_organizationName, i)) >= 0;) {
        char *o = authn_name_entry(name, i);
        if (!o)
            return -EACCES;
        authn_user_add_group(u, o);
        free(o);
    }
    return 0;
}

int authn_client_cert(const authn *a, X509 *leaf, STACK_OF(X509) * chain, authn_user **out)
{
    *out = NULL;
    if (!leaf || !a->client_cas.store)
        return -ENOENT;
    const char *why = ca_bundle_verify(&a->client_cas, a->clock, leaf, chain);
    if (why) {
        log_v(2, "client certificate rejected: %s", why);
        return -EACCES;
    }
    authn_user u = {0};
    int rc = authn_user_from_subject(leaf, &u);
    if (rc == 0)
        *out = authn_user_copy_authenticated(&u);
    else if (rc == -EACCES)
        log_v(2, "client certificate rejected: subject is not valid text");
    authn_user_clear(&u);
    return rc;
}

/* ---- bearer tokens ---- */

/* Finds "Bearer <token>" in an Authorization value like k8s' bearertoken authenticator:
 * trimmed, split on single spaces, token = second piece. Returns the token span or NULL. */
const char *authn_bearer_token(const char *h, size_t *len)
{
    while (isspace((unsigned char)*h))
        h++;
    static const char scheme[] = "bearer ";
    if (strncasecmp(h, scheme, sizeof scheme - 1) != 0)
        return NULL;
    const char *t = h + sizeof scheme - 1;
    *len = strcspn(t, " ");
    while (*len > 0 && isspace((unsigned char)t[*len - 1]))
        (*len)--; /* trailing whitespace of the header value (TrimSpace) */
    return *len > 0 ? t : NULL;
}

/* The user of token tok[0..len): 0 with *out, -ENOENT without a token file, -EACCES when the
   token is unknown. */
static int lookup_token(const authn *a, const char *tok, size_t len, authn_user **out)
{
    *out = NULL;
    if (!a->tokens_configured)
        return -ENOENT;
    authn_token key;
    if (sha256(tok, len, key.hash) != 0)
        return -EACCES;
    /* Looking up by hash leaks nothing useful about the stored tokens through timing. */
    const authn_token *t = NULL;
    size_t lo = 0, hi = a->ntokens;
    while (lo < hi && !t) {
        size_t mid = lo + (hi - lo) / 2;
        int c = memcmp(key.hash, a->tokens[mid].hash, AUTHN_HASH_LEN);
        if (c == 0)
            t = &a->tokens[mid];
        else if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    if (!t || CRYPTO_memcmp(key.hash, t->hash, AUTHN_HASH_LEN) != 0) {
        log_v(2, "bearer token rejected: unknown token");
        return -EACCES;
    }
    *out = authn_user_copy_authenticated(&t->user);
    return 0;
}

int authn_bearer(const authn *a, const char *authorization, authn_user **out)
{
    *out = NULL;
    size_t len = 0;
    const char *tok = authorization ? authn_bearer_token(authorization, &len) : NULL;
    if (!tok)
        return -ENOENT;
    return lookup_token(a, tok, len, out);
}

int authn_protocol_token(const authn *a, const authn_request *req, authn_user **out)
{
    *out = NULL;
    if (req->protocol_token_invalid) {
        log_v(2, "bearer token subprotocol rejected: not base64url of a UTF-8 token, or twice");
        return -EACCES;
    }
    if (!req->protocol_token || !req->protocol_token_len)
        return -ENOENT;
    return lookup_token(a, req->protocol_token, req->protocol_token_len, out);
}

/* ---- the whole chain ---- */

/* Seconds since the epoch of an ASN.1 time; false if it cannot be read. */
static bool asn1_epoch(const ASN1_TIME *t, int64_t *out)
{
    struct tm tm;
    if (!t || ASN1_TIME_to_tm(t, &tm) != 1)
        return false;
    *out = (int64_t)timegm(&tm);
    return true;
}

/*
 * The time window in which the client's certificates are all valid: the latest notBefore and
 * the earliest notAfter of the leaf and of the chain it sent. An unreadable time gives an empty
 * window.
 */
static void cert_window(X509 *leaf, STACK_OF(X509) * chain, int64_t *not_before, int64_t *not_after)
{
    *not_before = INT64_MIN;
    *not_after = INT64_MAX;
    int n = chain ? sk_X509_num(chain) : 0;
    for (int i = -1; i < n; i++) {
        X509 *x = i < 0 ? leaf : sk_X509_value(chain, i);
        int64_t nb, na;
        if (!asn1_epoch(X509_get0_notBefore(x), &nb) || !asn1_epoch(X509_get0_notAfter(x), &na)) {
            *not_before = INT64_MAX;
            *not_after = INT64_MIN;
            return;
        }
        if (nb > *not_before)
            *not_before = nb;
        if (na < *not_after)
            *not_after = na;
    }
}

void authn_conn_clear(authn_conn *c)
{
    authn_user_free(c->cert_user);
    memset(c, 0, sizeof *c);
}

/* Verifies the connection's certificate once, as a front proxy's and as a client's, and
   remembers the outcome in conn. */
static void eval_conn_cert(const authn *a, const authn_request *req, authn_conn *conn)
{
    authn_conn_clear(conn);
    conn->evaluated_by = a->serial;
    conn->cert_state = 1;
    X509 *peer = req->ssl ? SSL_get1_peer_certificate(req->ssl) : req->peer_cert;
    if (!peer)
        return;
    STACK_OF(X509) *chain = req->ssl ? SSL_get_peer_cert_chain(req->ssl) : req->peer_chain;
    int proxy = a->front_proxy ? front_proxy_check_cert(a->front_proxy, a->clock, peer, chain) : 0;
    conn->proxy_state = proxy == 1 ? 1 : proxy == -EACCES ? 2 : 0;
    int rc = authn_client_cert(a, peer, chain, &conn->cert_user);
    if (rc == 0) {
        conn->cert_state = 2;
    } else if (rc == -EACCES) {
        conn->cert_state = 3;
    }
    if (rc == 0 || conn->proxy_state == 1)
        cert_window(peer, chain, &conn->not_before, &conn->not_after);
    if (req->ssl)
        X509_free(peer);
}

/* Whether the connection's certificate is within its validity period now. */
static bool conn_cert_current(const authn *a, const authn_conn *conn)
{
    int64_t now = clk_wall_ms(a->clock) / 1000;
    return now >= conn->not_before && now <= conn->not_after;
}

/* The front-proxy step: 0 (*out), -ENOENT (not a proxy, or no user header) or -EACCES (a
   proxy certificate whose CN is not allowed, that expired, or a head that was not recorded). */
static int conn_front_proxy(const authn *a, const authn_request *req, authn_user **out)
{
    authn_conn *conn = req->conn;
    if (conn->proxy_state == 0)
        return -ENOENT;
    if (conn->proxy_state == 2 || !conn_cert_current(a, conn))
        return -EACCES;
    if (!req->head) {
        log_kv(LOG_WARN, "front-proxy request without a recorded head: refused", NULL);
        return -EACCES;
    }
    return front_proxy_user(a->front_proxy, req->head, out);
}

/* The client-certificate step through the connection's memory: 0, -ENOENT or -EACCES. */
static int conn_cert(const authn *a, const authn_request *req, authn_user **out)
{
    authn_conn *conn = req->conn;
    if (conn->cert_state == 1)
        return -ENOENT;
    if (conn->cert_state == 3)
        return -EACCES;
    if (!conn_cert_current(a, conn)) {
        if (log_verbosity() >= 2)
            log_kv(LOG_INFO, "client certificate outside its validity period", "user",
                   conn->cert_user->name, NULL);
        return -EACCES; /* expired (or not yet valid) since the handshake: like an invalid one */
    }
    *out = authn_user_ref(conn->cert_user); /* shared, not copied: one per request */
    return 0;
}

static int authn_chain(const authn *a, const authn_request *req, authn_user **out);

int authn_authenticate(const authn *a, const authn_request *req, authn_user **out)
{
    *out = NULL;
    if (!a) {
        *out = authn_anonymous();
        return 0;
    }
    authn_conn one_shot = {0}; /* a request without a connection's memory */
    authn_request r = *req;
    if (!r.conn)
        r.conn = &one_shot;
    if (r.conn->evaluated_by != a->serial || r.conn->cert_state == 0)
        eval_conn_cert(a, &r, r.conn); /* first request, or a reloaded authn */
    int rc = authn_chain(a, &r, out);
    authn_conn_clear(&one_shot);
    return rc;
}

/* The chain of authn_authenticate, on a connection whose certificate was evaluated. */
static int authn_chain(const authn *a, const authn_request *req, authn_user **out)
{
    int proxy = conn_front_proxy(a, req, out);
    if (proxy == 0)
        return 0;
    int cert = conn_cert(a, req, out);
    if (cert == 0)
        return 0;
    int bearer = authn_bearer(a, req->authorization, out);
    if (bearer == 0)
        return 0;
    int protocol = authn_protocol_token(a, req, out);
    if (protocol == 0)
        return 0;
    /* An error from any authenticator with no success is a 401, not anonymous (k8s'
     * union.NewFailOnError in front of the anonymous authenticator). */
    if (proxy == -EACCES || cert == -EACCES || bearer == -EACCES || protocol == -EACCES)
        return -EACCES;
    *out = authn_anonymous();
    return 0;
}

/* ---- TLS server context ---- */

static int authn_accept_any_chain(int preverify_ok, X509_STORE_CTX *ctx)
{
    (void)preverify_ok, (void)ctx;
    return 1; /* authn_client_cert() verifies after the handshake */
}

/* The same, and records the request heads of this connection for the front proxy: called
   during the handshake, before any request byte is read. */
static int authn_accept_and_record(int preverify_ok, X509_STORE_CTX *ctx)
{
    (void)preverify_ok;
    SSL *ssl = X509_STORE_CTX_get_ex_data(ctx, SSL_get_ex_data_X509_STORE_CTX_idx());
    if (ssl && headrec_attach(ssl) != 0)
        log_kv(LOG_WARN, "cannot record request heads: front-proxy requests will be refused", NULL);
    return 1;
}

/* The subjects of the client CAs and the front proxy's CAs, in that order. NULL on error. */
static STACK_OF(X509_NAME) * advertised_names(const authn *a)
{
    STACK_OF(X509_NAME) *names = sk_X509_NAME_new_null();
    const ca_bundle *bundles[2] = {&a->client_cas,
                                   a->front_proxy ? front_proxy_cas(a->front_proxy) : NULL};
    for (int b = 0; names && b < 2; b++)
        for (int i = 0; bundles[b] && i < sk_X509_NAME_num(bundles[b]->names); i++) {
            X509_NAME *n = X509_NAME_dup(sk_X509_NAME_value(bundles[b]->names, i));
            if (!n || !sk_X509_NAME_push(names, n)) {
                X509_NAME_free(n);
                sk_X509_NAME_pop_free(names, X509_NAME_free);
                names = NULL;
            }
        }
    return names;
}

int authn_configure_ssl_ctx(const authn *a, SSL_CTX *ctx)
{
    bool any_ca = a->client_cas.store || a->front_proxy;
    if (!any_ca && !a->delegated)
        return 0;
    STACK_OF(X509_NAME) *names = advertised_names(a);
    if (!names) {
        ERR_clear_error();
        log_kv(LOG_ERROR, "cannot copy the client CA list", NULL);
        return -EIO;
    }
    SSL_CTX_set_client_CA_list(ctx, names);
    if (SSL_CTX_set_session_id_context(ctx, (const unsigned char *)AUTHN_SESSION_ID_CTX,
                                       sizeof AUTHN_SESSION_ID_CTX - 1) != 1) {
        ERR_clear_error();
        log_kv(LOG_ERROR, "cannot set the TLS session id context", NULL);
        return -EIO;
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER,
                       a->delegated ? authn_accept_and_record : authn_accept_any_chain);
    if (a->delegated) {
        /* A resumed session skips the verify callback, so its heads would not be recorded:
           every connection does a full handshake (kube-apiserver keeps its connections). */
        SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
        SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
        SSL_CTX_set_num_tickets(ctx, 0);
    }
    return 0;
}

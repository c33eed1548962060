/*
 * authn.h - who is making a request: front proxy, client certificates and static bearer tokens
 * (docs/api.md §1 and §9.2), with anonymous as the fallback.
 *
 * An authn is built once from authn_options and is read-only afterwards: every function taking a
 * `const authn *` is safe to call from any thread at the same time. To reload (CA rotation),
 * build a new authn and swap the pointer; freeing the old one is the swapper's business once no
 * request uses it.
 *
 * The order of §9.2 is kept by authn_authenticate(): front proxy -> client certificate ->
 * bearer token -> anonymous. Tokens that only kube-apiserver knows (TokenReview) are looked up
 * by the caller, off the service thread (docs/api.md §9.7).
 */
#ifndef FOO_APISERVER_AUTHN_H
#define FOO_APISERVER_AUTHN_H

#include "apiserver/transport/headrec.h"
#include "common/apierr.h"
#include "common/clock.h"

#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

/* Results of the authenticators, in the project's one convention (0 or a negative errno):
   0 = authenticated, -ENOENT = no credential of this kind (try the next authenticator),
   -EACCES = a credential was presented and is wrong (answer 401). */

#define AUTHN_GROUP_AUTHENTICATED   "system:authenticated"
#define AUTHN_GROUP_UNAUTHENTICATED "system:unauthenticated"
#define AUTHN_USER_ANONYMOUS        "system:anonymous"

/* A list of header names or prefixes (kube's --requestheader-*-headers flags). */
typedef struct authn_names {
    const char *const *names;
    int n;
} authn_names;

/*
 * Front-proxy (request-header) authentication, kube's --requestheader-* flags or the
 * extension-apiserver-authentication ConfigMap (docs/api.md §9.7). Strings borrowed during
 * authn_new only. Header names match in any case. Empty lists take kube's defaults:
 * X-Remote-User, X-Remote-Group, X-Remote-Extra-; no uid header.
 */
typedef struct authn_front_proxy_options {
    const char *ca_file;       /* the front proxy's CA bundle (PEM file) ... */
    const char *ca_pem;        /* ... or the bundle itself; both NULL = no front proxy */
    authn_names allowed_names; /* CNs allowed for the proxy's certificate; empty = any */
    authn_names username_headers;
    authn_names group_headers;
    authn_names extra_prefixes;
    authn_names uid_headers;
} authn_front_proxy_options;

typedef struct authn_options {
    /* PEM bundle of the CAs that sign client certificates (may hold several); NULL = client
     * certificates are not used for authentication. */
    const char *client_ca_file;
    const char *client_ca_pem; /* the bundle itself, when client_ca_file is NULL */
    authn_front_proxy_options front_proxy;
    /* Ask every TLS client for a certificate and record the request heads of those that send
       one (headrec.h), even before a CA is configured: a delegated server whose CAs arrive (or
       change) later through the ConfigMap. */
    bool delegated;
    /* kube-apiserver's --token-auth-file CSV: token,user,uid[,"group1,group2"]; NULL = none. */
    const char *token_auth_file;
    /* Time source for certificate validity; NULL = clk_system(). Not owned. */
    clk_t *clock;
} authn_options;

typedef struct authn authn;

/* One key of a user's extra attributes (kube's user.Info.GetExtra): a lower-case key and its
   values in order. All strings owned by the user. */
typedef struct authn_extra {
    char *key;
    char **values;
    int nvalues;
} authn_extra;

/* An authenticated (or anonymous) user. All strings owned; uid is "" when unknown. */
typedef struct authn_user {
    char *name;
    char *uid;
    char **groups;
    int ngroups;
    authn_extra *extra; /* keys unique, in the order first seen; NULL when nextra == 0 */
    int nextra;
    atomic_int extra_refs; /* references beyond the first (authn_user_ref); 0 for a new user */
} authn_user;

/*
 * Loads the CA bundle and the token file named in opts (opts may be NULL: no credentials at all,
 * everybody is anonymous). Returns the authenticator, or NULL when a file cannot be read or is
 * malformed, with *err (err may be NULL) a 500 InternalError whose message gives the reason
 * (file, line, what is wrong; docs/design.md §4.8). Token file rules (as
 * kube-apiserver): CSV with Go's quoting ("a,b" and "" for a quote), at least 3 columns, the 4th
 * column split on commas into groups, extra columns ignored; blank lines and lines starting with
 * # are skipped; a line with an empty token is skipped with a warning; the last line of a
 * duplicated token wins. A bad line (fewer than 3 columns, empty user name, broken quoting) fails
 * the whole load.
 */
authn *authn_new(const authn_options *opts, api_error *err);
void authn_free(authn *a);

/*
 * Client-certificate authentication. leaf is the peer certificate (NULL: none sent), chain the
 * certificates the peer sent (may be NULL; may include leaf; used as untrusted intermediates).
 * The chain is verified against the client CA bundle for purpose TLS client (EKU clientAuth) at
 * the authn's clock time; a CA of the bundle is a trust anchor even if it is not self-signed.
 * On success *out = user CN, groups = every O value in order + system:authenticated; caller frees.
 * Returns 0, -ENOENT (no certificate, no client CA configured, or an empty CN, which
 * kube-apiserver also declines), or -EACCES (verification failed; logged at -v 2).
 */
int authn_client_cert(const authn *a, X509 *leaf, STACK_OF(X509) * chain, authn_user **out);

/*
 * The CN a client certificate names (the last one, as Go's Subject.CommonName), as UTF-8 text
 * in *out (caller frees). Returns 0, -ENOENT (no CN) or -EACCES (a CN that is not text or holds
 * a NUL byte); *out is NULL on failure.
 */
int authn_cert_common_name(X509 *cert, char **out);

/*
 * Bearer-token authentication from an Authorization header value ("Bearer <token>", scheme
 * case-insensitive). Returns 0 (*out = the token's user + system:authenticated; caller
 * frees), -ENOENT (header NULL/empty, another scheme, empty token, or no token file), or
 * -EACCES (unknown token). Tokens are looked up by SHA-256 and compared in constant time.
 */
int authn_bearer(const authn *a, const char *authorization, authn_user **out);

/* A new user named name (copied) with uid (copied; NULL = ""), no groups, no extra; caller
   frees (authn_user_free). */
authn_user *authn_user_new(const char *name, const char *uid);
/* Appends group g (copied) to u; duplicates are kept, as kube keeps them. u must not be shared
   yet (no authn_user_ref). */
void authn_user_add_group(authn_user *u, const char *g);
/* Appends value (copied) to u's extra key (copied; created at the end when new). u must not be
   shared yet. */
void authn_user_add_extra(authn_user *u, const char *key, const char *value);
/* A deep copy of src (groups and extra), plus system:authenticated unless already there, as
   kube's group adder does for every authenticated user. Caller frees. */
authn_user *authn_user_copy_authenticated(const authn_user *src);
/* Adds system:authenticated to u unless it is there (kube's group adder). u not shared yet. */
void authn_user_add_authenticated(authn_user *u);

/* Frees what u holds (not u) and zeroes it: for users embedded in other structures. */
void authn_user_clear(authn_user *u);

/* A new anonymous user: system:anonymous in group system:unauthenticated. Caller frees. */
authn_user *authn_anonymous(void);

/*
 * What authn_authenticate() remembers of one TLS connection: its client certificate is verified
 * once (a chain verification costs more than serving a GET) and its validity window is checked
 * against the clock on every request, as kube-apiserver verifies per request. Zero-initialize;
 * authn_conn_clear() frees. Owned by the connection (one thread).
 */
typedef struct authn_conn {
    uint64_t evaluated_by; /* serial of the authn the fields below come from; another = redo */
    int cert_state;        /* 0 = not evaluated, 1 = none, 2 = valid, 3 = invalid */
    authn_user *cert_user;
    int proxy_state; /* front proxy: 0 = not a proxy certificate, 1 = proxy, 2 = CN not allowed */
    int64_t not_before, not_after; /* seconds since the epoch: every certificate sent valid */
} authn_conn;

/* Frees what c holds and zeroes it (the next request evaluates the certificate again). */
void authn_conn_clear(authn_conn *c);

/* What authn_authenticate() looks at in one request. Fields may be NULL. */
typedef struct authn_request {
    SSL *ssl;                    /* the connection: its peer certificate is read from here ... */
    X509 *peer_cert;             /* ... or given directly (when ssl is NULL) */
    STACK_OF(X509) * peer_chain; /* with the certificates the peer sent */
    authn_conn *conn;            /* the connection's memory; NULL = verify every time */
    const char *authorization;   /* the Authorization header */
    /* The request's head as sent (headrec.h), for the front proxy's X-Remote-* lines; NULL =
       not recorded (then a front-proxy certificate cannot authenticate: 401). */
    const headrec_head *head;
    /* A bearer token that came as a WebSocket subprotocol (websocket.h), decoded: bytes
       [0, protocol_token_len), may hold NUL bytes; NULL = none. protocol_token_invalid: such a
       subprotocol was offered but cannot be a token (bad base64url, not UTF-8, two of them). */
    const char *protocol_token;
    size_t protocol_token_len;
    bool protocol_token_invalid;
} authn_request;

/*
 * Bearer-token authentication from a token that came as the WebSocket subprotocol
 * base64url.bearer.authorization.k8s.io.<token> (kube-apiserver's websocket protocol
 * authenticator; req->protocol_token*). Returns 0 (*out = the token's user +
 * system:authenticated; caller frees), -ENOENT (no such token, or no token file), or -EACCES
 * (protocol_token_invalid, or an unknown token).
 */
int authn_protocol_token(const authn *a, const authn_request *req, authn_user **out);

/*
 * THE authentication chain of the server (docs/api.md §9.2), the one the transport calls for
 * every request: front proxy (a certificate of the request-header CA with an allowed CN: the
 * X-Remote-* lines of req->head are the identity) -> client certificate -> bearer token
 * (Authorization header, then WebSocket subprotocol; the token file) -> anonymous.
 * A bearer token the token file does not know is left to the caller when authn_bearer_token()
 * finds one (delegated mode: TokenReview): the chain then ends in anonymous, not -EACCES, when
 * no token file is configured.
 * Returns 0 with *out (the first authenticator that succeeds, else the anonymous user; caller
 * frees), or -EACCES (*out NULL) when no authenticator succeeded and at least one rejected a
 * credential (a certificate that does not verify or is outside its validity period at the
 * authn's clock, an unknown token): the caller answers 401. Thread-safe for distinct conns.
 */
int authn_authenticate(const authn *a, const authn_request *req, authn_user **out);

/* The token of an Authorization value "Bearer <token>" (kube's bearer authenticator rules):
   a pointer into authorization and its length, or NULL when there is none. */
const char *authn_bearer_token(const char *authorization, size_t *len);

/* Whether u is the anonymous user (system:anonymous). */
bool authn_user_is_anonymous(const authn_user *u);
/* Whether u is in group g. */
bool authn_user_has_group(const authn_user *u, const char *g);
/* Another reference to u (returns u): a request keeps its connection's certificate user alive
   past the connection without copying it. Thread-safe. */
authn_user *authn_user_ref(authn_user *u);
/* Drops a reference; the last one frees u and its strings. NULL is allowed. Thread-safe. */
void authn_user_free(authn_user *u);

/*
 * Configures a server SSL_CTX to ask for (not require) a client certificate: SSL_VERIFY_PEER
 * without FAIL_IF_NO_PEER_CERT, a verify callback that accepts any chain (so an unknown CA does
 * not abort the handshake; authn_client_cert() decides later), and the subject names of the
 * client CA bundle and of the front proxy's CA bundle as the advertised CA list (Go clients send
 * a certificate only when its issuer is listed, or when the list is empty). Without any CA, no
 * certificate is requested, unless the authn is delegated. A delegated authn also has the
 * request heads of every client that sends a certificate recorded (headrec.h). Call before
 * the context is used for connections, or again on the service thread to install a reloaded
 * authn; the CA list is copied into ctx. Returns 0 or -EIO (logged).
 */
int authn_configure_ssl_ctx(const authn *a, SSL_CTX *ctx);

#endif

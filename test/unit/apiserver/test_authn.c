/*
 * test_authn.c - client-certificate and token authentication, the order of docs/api.md §9.2,
 * and the TLS context helper (an in-process handshake over a BIO pair, no network).
 */
#include "apiserver/transport/authn.h"
#include "apiserver/transport/pki.h"

#include "common/alloc.h"
#include "common/clock.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define URL "https://127.0.0.1:9443"

static char *root;  /* temp dir of the test */
static char *data;  /* root/data: the PKI the authenticator trusts */
static char *other; /* root/other: an unrelated PKI */

static char *at_root(const char *name)
{
    return xasprintf("%s/%s", root, name);
}

static void setup(void)
{
    char tmpl[] = "/tmp/foo-authn-test-XXXXXX";
    cr_assert_not_null(mkdtemp(tmpl));
    root = xstrdup(tmpl);
    data = at_root("data");
    other = at_root("other");
    cr_assert_eq(pki_ensure_standalone(data, URL, NULL), 0);
    cr_assert_eq(pki_ensure_standalone(other, URL, NULL), 0);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

static void teardown(void)
{
    nftw(root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(root);
    free(data);
    free(other);
}

TestSuite(authn, .init = setup, .fini = teardown);

static X509 *read_cert(const char *path)
{
    FILE *fp = fopen(path, "r");
    cr_assert_not_null(fp, "cannot open %s", path);
    X509 *x = PEM_read_X509(fp, NULL, NULL, NULL);
    fclose(fp);
    cr_assert_not_null(x);
    return x;
}

static X509 *pki_cert(const char *dir, const char *file)
{
    char *path = pki_path(dir, file);
    X509 *x = read_cert(path);
    free(path);
    return x;
}

static void write_file(const char *path, const char *text)
{
    FILE *fp = fopen(path, "w");
    cr_assert_not_null(fp);
    cr_assert_geq(fputs(text, fp), 0);
    cr_assert_eq(fclose(fp), 0);
}

/* An authenticator trusting data's CA (and, when tokens != NULL, that token file text). */
static authn *new_authn(const char *tokens, clk_t *clock)
{
    char *ca = pki_path(data, PKI_CA_CERT);
    char *tok = tokens ? at_root("tokens.csv") : NULL;
    if (tok)
        write_file(tok, tokens);
    authn_options o = {.client_ca_file = ca, .token_auth_file = tok, .clock = clock};
    api_error err = API_ERROR_INIT;
    authn *a = authn_new(&o, &err);
    cr_assert_not_null(a, "authn_new: %s", err.message ? err.message : "");
    free(ca);
    free(tok);
    return a;
}

/* authn_new on a token file with this text; returns the error message (caller frees). */
static char *token_load_error(const char *tokens)
{
    char *tok = at_root("bad.csv");
    write_file(tok, tokens);
    authn_options o = {.token_auth_file = tok};
    api_error err = API_ERROR_INIT;
    authn *a = authn_new(&o, &err);
    cr_assert_null(a);
    cr_assert_not_null(err.message);
    char *msg = xstrdup(err.message);
    apierr_clear(&err);
    free(tok);
    return msg;
}

static void assert_groups(const authn_user *u, int n, const char *const *want)
{
    cr_assert_eq(u->ngroups, n, "groups: got %d, want %d", u->ngroups, n);
    for (int i = 0; i < n; i++)
        cr_assert_str_eq(u->groups[i], want[i]);
}

/* Issues a client cert from data's CA; returns it loaded. */
static X509 *client_cert(const char *cn, const char **orgs, int n)
{
    char *crt = at_root("client.crt"), *key = at_root("client.key");
    cr_assert_eq(pki_issue_client_cert(data, cn, orgs, n, crt, key, NULL), 0);
    X509 *x = read_cert(crt);
    free(crt);
    free(key);
    return x;
}

Test(authn, admin_cert_authenticates_as_admin_in_system_masters)
{
    authn *a = new_authn(NULL, NULL);
    X509 *adm = pki_cert(data, PKI_ADMIN_CERT);
    authn_user *u = NULL;
    cr_assert_eq(authn_client_cert(a, adm, NULL, &u), 0);
    cr_assert_str_eq(u->name, "admin");
    cr_assert_str_eq(u->uid, "");
    const char *want[] = {"system:masters", "system:authenticated"};
    assert_groups(u, 2, want);
    authn_user_free(u);
    X509_free(adm);
    authn_free(a);
}

Test(authn, cert_signed_by_another_ca_is_invalid)
{
    authn *a = new_authn(NULL, NULL);
    X509 *foreign = pki_cert(other, PKI_ADMIN_CERT);
    authn_user *u = NULL;
    cr_assert_eq(authn_client_cert(a, foreign, NULL, &u), -EACCES);
    cr_assert_null(u);
    X509_free(foreign);
    authn_free(a);
}

Test(authn, every_organization_becomes_a_group)
{
    authn *a = new_authn(NULL, NULL);
    const char *orgs[] = {"dev", "ops"};
    X509 *alice = client_cert("alice", orgs, 2);
    authn_user *u = NULL;
    cr_assert_eq(authn_client_cert(a, alice, NULL, &u), 0);
    cr_assert_str_eq(u->name, "alice");
    const char *want[] = {"dev", "ops", "system:authenticated"};
    assert_groups(u, 3, want);
    authn_user_free(u);
    X509_free(alice);
    authn_free(a);
}

Test(authn, no_certificate_is_none)
{
    authn *a = new_authn(NULL, NULL);
    authn_user *u = NULL;
    cr_assert_eq(authn_client_cert(a, NULL, NULL, &u), -ENOENT);
    cr_assert_null(u);
    authn_free(a);
}

Test(authn, certificates_are_none_without_a_client_ca)
{
    authn_options o = {0};
    authn *a = authn_new(&o, NULL);
    cr_assert_not_null(a);
    X509 *adm = pki_cert(data, PKI_ADMIN_CERT);
    authn_user *u = NULL;
    cr_assert_eq(authn_client_cert(a, adm, NULL, &u), -ENOENT);
    X509_free(adm);
    authn_free(a);
}

Test(authn, serving_cert_is_not_a_client_cert)
{
    authn *a = new_authn(NULL, NULL);
    X509 *srv = pki_cert(data, PKI_SERVING_CERT);
    authn_user *u = NULL;
    cr_assert_eq(authn_client_cert(a, srv, NULL, &u), -EACCES, "EKU serverAuth only");
    X509_free(srv);
    authn_free(a);
}

Test(authn, bundle_with_several_cas_trusts_each_of_them)
{
    char *bundle = at_root("bundle.pem");
    char *ca1 = pki_path(data, PKI_CA_CERT), *ca2 = pki_path(other, PKI_CA_CERT);
    char *cmd = xasprintf("cat '%s' '%s' > '%s'", ca1, ca2, bundle);
    cr_assert_eq(system(cmd), 0);
    authn_options o = {.client_ca_file = bundle};
    authn *a = authn_new(&o, NULL);
    cr_assert_not_null(a);
    X509 *x1 = pki_cert(data, PKI_ADMIN_CERT), *x2 = pki_cert(other, PKI_ADMIN_CERT);
    authn_user *u1 = NULL, *u2 = NULL;
    cr_assert_eq(authn_client_cert(a, x1, NULL, &u1), 0);
    cr_assert_eq(authn_client_cert(a, x2, NULL, &u2), 0);
    authn_user_free(u1);
    authn_user_free(u2);
    X509_free(x1);
    X509_free(x2);
    authn_free(a);
    free(cmd);
    free(ca1);
    free(ca2);
    free(bundle);
}

Test(authn, expired_client_cert_is_invalid)
{
    /* Leaf certificates live 3 years: four years from now they are expired. */
    clk_t *clock = clk_fake_new(((int64_t)time(NULL) + 4 * 365 * 86400LL) * 1000);
    authn *a = new_authn(NULL, clock);
    X509 *adm = pki_cert(data, PKI_ADMIN_CERT);
    authn_user *u = NULL;
    cr_assert_eq(authn_client_cert(a, adm, NULL, &u), -EACCES);
    X509_free(adm);
    authn_free(a);
    clk_fake_free(clock);
}

Test(authn, unreadable_client_ca_file_fails_to_load_with_its_name)
{
    char *bad = at_root("garbage.pem");
    write_file(bad, "this is not PEM\n");
    authn_options o = {.client_ca_file = bad};
    api_error err = API_ERROR_INIT;
    cr_assert_null(authn_new(&o, &err));
    cr_assert_not_null(strstr(err.message, bad), "%s", err.message);
    apierr_clear(&err);
    free(bad);
}

static const char tokens_csv[] = "# static tokens\n"
                                 "tok1,alice,uid-1,\"dev,ops\"\n"
                                 "\n"
                                 "tok2,bob,uid-2\r\n"
                                 "\"tok,3\",carol,uid-3,viewers,ignored-column\n"
                                 "\"say\"\"hi\"\"\",dave,uid-4\n"
                                 ",nobody,uid-5\n";

Test(authn, token_file_parses_quoted_groups_and_skips_comments)
{
    authn *a = new_authn(tokens_csv, NULL);
    authn_user *u = NULL;
    cr_assert_eq(authn_bearer(a, "Bearer tok1", &u), 0);
    cr_assert_str_eq(u->name, "alice");
    cr_assert_str_eq(u->uid, "uid-1");
    const char *alice[] = {"dev", "ops", "system:authenticated"};
    assert_groups(u, 3, alice);
    authn_user_free(u);

    cr_assert_eq(authn_bearer(a, "Bearer tok2", &u), 0, "CRLF line ending");
    cr_assert_str_eq(u->name, "bob");
    const char *bob[] = {"system:authenticated"};
    assert_groups(u, 1, bob);
    authn_user_free(u);

    cr_assert_eq(authn_bearer(a, "Bearer tok,3", &u), 0);
    cr_assert_str_eq(u->name, "carol");
    const char *carol[] = {"viewers", "system:authenticated"};
    assert_groups(u, 2, carol);
    authn_user_free(u);

    cr_assert_eq(authn_bearer(a, "Bearer say\"hi\"", &u), 0, "doubled quotes");
    cr_assert_str_eq(u->name, "dave");
    authn_user_free(u);

    cr_assert_eq(authn_bearer(a, "Bearer # static tokens", &u), -EACCES);
    authn_free(a);
}

Test(authn, token_file_line_with_too_few_columns_is_rejected_with_its_line)
{
    char *msg = token_load_error("# c\ntok1,alice\n");
    cr_assert_not_null(strstr(msg, "line 2"), "%s", msg);
    cr_assert_not_null(strstr(msg, "at least 3 columns"), "%s", msg);
    free(msg);
}

Test(authn, token_file_unterminated_quote_is_rejected)
{
    char *msg = token_load_error("tok1,alice,uid,\"dev,ops\n");
    cr_assert_not_null(strstr(msg, "line 1: unterminated quoted field"), "%s", msg);
    free(msg);
}

Test(authn, token_file_bare_quote_is_rejected)
{
    char *msg = token_load_error("tok1,al\"ice,uid\n");
    cr_assert_not_null(strstr(msg, "bare \""), "%s", msg);
    free(msg);
}

Test(authn, token_file_text_after_closing_quote_is_rejected)
{
    char *msg = token_load_error("\"tok1\"x,alice,uid\n");
    cr_assert_not_null(strstr(msg, "quoted field"), "%s", msg);
    free(msg);
}

Test(authn, token_file_empty_user_is_rejected)
{
    char *msg = token_load_error("tok1,,uid\n");
    cr_assert_not_null(strstr(msg, "empty user name"), "%s", msg);
    free(msg);
}

Test(authn, missing_token_file_is_a_load_error)
{
    authn_options o = {.token_auth_file = "/nonexistent/tokens.csv"};
    api_error err = API_ERROR_INIT;
    cr_assert_null(authn_new(&o, &err));
    cr_assert_not_null(strstr(err.message, "/nonexistent/tokens.csv"), "%s", err.message);
    apierr_clear(&err);
}

Test(authn, duplicated_token_takes_its_last_line)
{
    authn *a = new_authn("dup,first,1\nother,x,2\ndup,second,3\n", NULL);
    authn_user *u = NULL;
    cr_assert_eq(authn_bearer(a, "Bearer dup", &u), 0);
    cr_assert_str_eq(u->name, "second");
    authn_user_free(u);
    cr_assert_eq(authn_bearer(a, "Bearer other", &u), 0);
    cr_assert_str_eq(u->name, "x");
    authn_user_free(u);
    authn_free(a);
}

Test(authn, unknown_bearer_token_is_invalid)
{
    authn *a = new_authn(tokens_csv, NULL);
    authn_user *u = NULL;
    cr_assert_eq(authn_bearer(a, "Bearer tok9", &u), -EACCES);
    cr_assert_null(u);
    cr_assert_eq(authn_bearer(a, "Bearer tok", &u), -EACCES, "no prefix match");
    authn_free(a);
}

Test(authn, header_without_a_bearer_token_is_none)
{
    authn *a = new_authn(tokens_csv, NULL);
    authn_user *u = NULL;
    cr_assert_eq(authn_bearer(a, NULL, &u), -ENOENT);
    cr_assert_eq(authn_bearer(a, "", &u), -ENOENT);
    cr_assert_eq(authn_bearer(a, "Basic dG9rMTo=", &u), -ENOENT);
    cr_assert_eq(authn_bearer(a, "Bearer ", &u), -ENOENT);
    cr_assert_eq(authn_bearer(a, "Bearer  tok1", &u), -ENOENT, "empty token before a space");
    cr_assert_null(u);
    authn_free(a);
}

Test(authn, bearer_scheme_is_case_insensitive_and_value_trimmed)
{
    authn *a = new_authn(tokens_csv, NULL);
    authn_user *u = NULL;
    cr_assert_eq(authn_bearer(a, "  bearer tok1 ", &u), 0);
    cr_assert_str_eq(u->name, "alice");
    authn_user_free(u);
    cr_assert_eq(authn_bearer(a, "BEARER tok1 trailing-words", &u), 0);
    authn_user_free(u);
    authn_free(a);
}

Test(authn, bearer_without_a_token_file_is_none)
{
    authn *a = new_authn(NULL, NULL);
    authn_user *u = NULL;
    cr_assert_eq(authn_bearer(a, "Bearer tok1", &u), -ENOENT);
    authn_free(a);
}

Test(authn, anonymous_is_system_anonymous_unauthenticated)
{
    authn_user *u = authn_anonymous();
    cr_assert_str_eq(u->name, "system:anonymous");
    const char *want[] = {"system:unauthenticated"};
    assert_groups(u, 1, want);
    cr_assert(authn_user_has_group(u, "system:unauthenticated"));
    cr_assert_not(authn_user_has_group(u, "system:authenticated"));
    authn_user_free(u);
}

Test(authn, authenticate_without_credentials_is_anonymous)
{
    authn *a = new_authn(tokens_csv, NULL);
    authn_request req = {0};
    authn_user *u = NULL;
    cr_assert_eq(authn_authenticate(a, &req, &u), 0);
    cr_assert_str_eq(u->name, "system:anonymous");
    authn_user_free(u);
    authn_free(a);
}

Test(authn, authenticate_prefers_the_client_cert_over_the_token)
{
    authn *a = new_authn(tokens_csv, NULL);
    X509 *adm = pki_cert(data, PKI_ADMIN_CERT);
    authn_request req = {.peer_cert = adm, .authorization = "Bearer tok1"};
    authn_user *u = NULL;
    cr_assert_eq(authn_authenticate(a, &req, &u), 0);
    cr_assert_str_eq(u->name, "admin");
    authn_user_free(u);
    X509_free(adm);
    authn_free(a);
}

Test(authn, authenticate_falls_back_to_the_token_after_a_bad_cert)
{
    authn *a = new_authn(tokens_csv, NULL);
    X509 *foreign = pki_cert(other, PKI_ADMIN_CERT);
    authn_request req = {.peer_cert = foreign, .authorization = "Bearer tok1"};
    authn_user *u = NULL;
    cr_assert_eq(authn_authenticate(a, &req, &u), 0);
    cr_assert_str_eq(u->name, "alice");
    authn_user_free(u);
    X509_free(foreign);
    authn_free(a);
}

Test(authn, authenticate_with_only_rejected_credentials_is_invalid)
{
    authn *a = new_authn(tokens_csv, NULL);
    X509 *foreign = pki_cert(other, PKI_ADMIN_CERT);
    authn_user *u = NULL;
    authn_request bad_cert = {.peer_cert = foreign};
    cr_assert_eq(authn_authenticate(a, &bad_cert, &u), -EACCES);
    cr_assert_null(u);
    authn_request bad_token = {.authorization = "Bearer nope"};
    cr_assert_eq(authn_authenticate(a, &bad_token, &u), -EACCES);
    cr_assert_null(u);
    X509_free(foreign);
    authn_free(a);
}

/* ---- threads ---- */

typedef struct shared_case {
    const authn *a;
    X509 *cert;
    int ok; /* authentications that gave the expected user */
} shared_case;

static void *authenticate_many(void *arg)
{
    shared_case *c = arg;
    for (int i = 0; i < 50; i++) {
        authn_user *u1 = NULL, *u2 = NULL;
        if (authn_client_cert(c->a, c->cert, NULL, &u1) == 0 && strcmp(u1->name, "admin") == 0 &&
            authn_bearer(c->a, "Bearer tok1", &u2) == 0 && strcmp(u2->name, "alice") == 0)
            c->ok++;
        authn_user_free(u1);
        authn_user_free(u2);
    }
    return NULL;
}

Test(authn, one_authenticator_serves_several_threads_at_once)
{
    authn *a = new_authn(tokens_csv, NULL);
    X509 *adm = pki_cert(data, PKI_ADMIN_CERT);
    pthread_t t[4];
    shared_case c[4];
    /* The authenticator is what the threads share. Each has its own copy of the certificate,
       as each connection has its own peer certificate: OpenSSL fills an X509's caches lazily
       under its own lock, which ThreadSanitizer sees racing with an unlocked read of a shared
       one (a race inside OpenSSL, not a case the server has). */
    for (int i = 0; i < 4; i++) {
        c[i] = (shared_case){.a = a, .cert = X509_dup(adm)};
        cr_assert_not_null(c[i].cert);
        cr_assert_eq(pthread_create(&t[i], NULL, authenticate_many, &c[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        cr_assert_eq(pthread_join(t[i], NULL), 0);
        cr_assert_eq(c[i].ok, 50);
        X509_free(c[i].cert);
    }
    X509_free(adm);
    authn_free(a);
}

/* ---- in-process TLS handshake ---- */

static SSL_CTX *server_ctx(const authn *a)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    cr_assert_not_null(ctx);
    char *crt = pki_path(data, PKI_SERVING_CERT), *key = pki_path(data, PKI_SERVING_KEY);
    cr_assert_eq(SSL_CTX_use_certificate_file(ctx, crt, SSL_FILETYPE_PEM), 1);
    cr_assert_eq(SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM), 1);
    cr_assert_eq(authn_configure_ssl_ctx(a, ctx), 0);
    free(crt);
    free(key);
    return ctx;
}

/* A client that trusts data's CA and presents dir's admin certificate. */
static SSL_CTX *client_ctx(const char *dir)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    cr_assert_not_null(ctx);
    char *crt = pki_path(dir, PKI_ADMIN_CERT), *key = pki_path(dir, PKI_ADMIN_KEY);
    char *ca = pki_path(data, PKI_CA_CERT);
    cr_assert_eq(SSL_CTX_use_certificate_file(ctx, crt, SSL_FILETYPE_PEM), 1);
    cr_assert_eq(SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM), 1);
    cr_assert_eq(SSL_CTX_load_verify_file(ctx, ca), 1);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    free(crt);
    free(key);
    free(ca);
    return ctx;
}

static bool step(SSL *ssl, bool *done)
{
    if (*done)
        return true;
    int r = SSL_do_handshake(ssl);
    if (r == 1) {
        *done = true;
        return true;
    }
    int e = SSL_get_error(ssl, r);
    return e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE;
}

/* Runs a handshake between fresh SSLs of the two contexts over a memory BIO pair. */
static void handshake(SSL_CTX *sctx, SSL_CTX *cctx, SSL **s_out, SSL **c_out)
{
    SSL *s = SSL_new(sctx), *c = SSL_new(cctx);
    cr_assert(s && c);
    BIO *sb, *cb;
    cr_assert_eq(BIO_new_bio_pair(&sb, 0, &cb, 0), 1);
    SSL_set_bio(s, sb, sb);
    SSL_set_bio(c, cb, cb);
    SSL_set_accept_state(s);
    SSL_set_connect_state(c);
    cr_assert_eq(SSL_set1_host(c, "localhost"), 1, "the serving cert must cover localhost");
    bool sdone = false, cdone = false;
    for (int i = 0; i < 20 && !(sdone && cdone); i++) {
        cr_assert(step(c, &cdone), "client handshake failed: %s",
                  ERR_error_string(ERR_get_error(), NULL));
        cr_assert(step(s, &sdone), "server handshake failed: %s",
                  ERR_error_string(ERR_get_error(), NULL));
    }
    cr_assert(sdone && cdone, "handshake did not finish");
    *s_out = s;
    *c_out = c;
}

/* Frees what a TLS test made. */
static void end_tls(SSL *s, SSL *c, SSL_CTX *sctx, SSL_CTX *cctx, authn *a)
{
    SSL_free(s);
    SSL_free(c);
    SSL_CTX_free(sctx);
    SSL_CTX_free(cctx);
    authn_free(a);
}

Test(authn, tls_handshake_with_an_unknown_ca_completes_and_then_is_invalid)
{
    authn *a = new_authn(NULL, NULL);
    SSL_CTX *sctx = server_ctx(a), *cctx = client_ctx(other);
    SSL *s, *c;
    handshake(sctx, cctx, &s, &c);
    X509 *peer = SSL_get0_peer_certificate(s);
    cr_assert_not_null(peer, "the client sent its certificate");
    authn_user *u = NULL;
    cr_assert_eq(authn_client_cert(a, peer, SSL_get_peer_cert_chain(s), &u), -EACCES);
    end_tls(s, c, sctx, cctx, a);
}

Test(authn, tls_handshake_advertises_the_client_ca_and_authenticates_admin)
{
    authn *a = new_authn(NULL, NULL);
    SSL_CTX *sctx = server_ctx(a), *cctx = client_ctx(data);
    SSL *s, *c;
    handshake(sctx, cctx, &s, &c);
    STACK_OF(X509_NAME) *names = SSL_get_client_CA_list(c);
    cr_assert_not_null(names, "the server sent a CA list");
    cr_assert_eq(sk_X509_NAME_num(names), 1);
    char cn[64];
    cr_assert_gt(
        X509_NAME_get_text_by_NID(sk_X509_NAME_value(names, 0), NID_commonName, cn, sizeof cn), 0);
    cr_assert_str_eq(cn, "foo-ca");
    authn_user *u = NULL;
    cr_assert_eq(authn_client_cert(a, SSL_get0_peer_certificate(s), SSL_get_peer_cert_chain(s), &u),
                 0);
    cr_assert_str_eq(u->name, "admin");
    cr_assert(authn_user_has_group(u, "system:masters"));
    authn_user_free(u);
    end_tls(s, c, sctx, cctx, a);
}

Test(authn, tls_handshake_without_a_client_cert_completes)
{
    authn *a = new_authn(NULL, NULL);
    SSL_CTX *sctx = server_ctx(a), *cctx = SSL_CTX_new(TLS_client_method());
    SSL *s, *c;
    handshake(sctx, cctx, &s, &c);
    cr_assert_null(SSL_get0_peer_certificate(s));
    authn_user *u = NULL;
    cr_assert_eq(authn_client_cert(a, NULL, NULL, &u), -ENOENT);
    end_tls(s, c, sctx, cctx, a);
}

/* ---- front proxy (request-header authentication) over TLS ---- */

/* A delegated authn whose front-proxy CA is data's CA (so data's admin certificate is a proxy
   certificate) and whose client CA is other's; allowed: the CN the proxy must have (NULL: any). */
static authn *new_front_proxy_authn(const char *allowed)
{
    char *proxy_ca = pki_path(data, PKI_CA_CERT), *client_ca = pki_path(other, PKI_CA_CERT);
    const char *names[] = {allowed};
    authn_options o = {.client_ca_file = client_ca, .delegated = true};
    o.front_proxy.ca_file = proxy_ca;
    o.front_proxy.allowed_names = (authn_names){names, allowed ? 1 : 0};
    api_error err = API_ERROR_INIT;
    authn *a = authn_new(&o, &err);
    cr_assert_not_null(a, "authn_new: %s", err.message ? err.message : "");
    free(proxy_ca);
    free(client_ca);
    return a;
}

/* The client writes text; the server reads all of it (so its recorder sees it). */
static void send_and_read(SSL *c, SSL *s, const char *text)
{
    size_t len = strlen(text);
    cr_assert_eq(SSL_write(c, text, (int)len), (int)len);
    char buf[4096];
    size_t got = 0;
    while (got < len) {
        int n = SSL_read(s, buf, sizeof buf);
        cr_assert(n > 0, "server read failed");
        got += (size_t)n;
    }
}

static authn_user *authenticate_head(const authn *a, SSL *s, authn_conn *conn,
                                     const headrec_head *head, int want_rc)
{
    authn_request r = {.ssl = s, .conn = conn, .head = head};
    authn_user *u = NULL;
    cr_assert_eq(authn_authenticate(a, &r, &u), want_rc);
    return u;
}

static const char *extra_value(const authn_user *u, const char *key, int i)
{
    for (int k = 0; k < u->nextra; k++)
        if (strcmp(u->extra[k].key, key) == 0 && i < u->extra[k].nvalues)
            return u->extra[k].values[i];
    return NULL;
}

Test(authn, front_proxy_headers_name_the_user_with_every_group_line_and_extra)
{
    authn *a = new_front_proxy_authn("admin");
    SSL_CTX *sctx = server_ctx(a), *cctx = client_ctx(data);
    SSL *s, *c;
    handshake(sctx, cctx, &s, &c);
    cr_assert(headrec_attached(s), "the verify callback attached a recorder");
    /* Two pipelined requests, the first with a body that looks like a head. */
    send_and_read(c, s,
                  "POST /apis/demo.example.com/v1beta1/foos HTTP/1.1\r\nHost: x\r\n"
                  "X-Remote-User: alice\r\nX-Remote-Group: a\r\nx-remote-group: b\r\n"
                  "X-Remote-Extra-Acme.com%2Fproject: p1\r\nX-Remote-Extra-Scopes: s1\r\n"
                  "X-Remote-Extra-scopes: s2\r\nContent-Length: 24\r\n\r\n"
                  "GET / HTTP/1.1\r\nX: y\r\n\r\n"
                  "GET /apis HTTP/1.1\r\nX-Remote-User: bob\r\n\r\n");
    headrec_head *h1 = headrec_take(s), *h2 = headrec_take(s);
    cr_assert(h1 && h2, "two heads recorded");
    cr_assert_null(headrec_take(s), "the body was not taken for a head");
    cr_assert(headrec_matches(h1, "POST", "x-remote-user", "alice"));
    authn_conn conn = {0};
    authn_user *u = authenticate_head(a, s, &conn, h1, 0);
    cr_assert_str_eq(u->name, "alice");
    cr_assert_eq(u->ngroups, 3);
    cr_assert_str_eq(u->groups[0], "a");
    cr_assert_str_eq(u->groups[1], "b");
    cr_assert_str_eq(u->groups[2], "system:authenticated");
    cr_assert_str_eq(extra_value(u, "acme.com/project", 0), "p1");
    cr_assert_str_eq(extra_value(u, "scopes", 0), "s1");
    cr_assert_str_eq(extra_value(u, "scopes", 1), "s2");
    authn_user_free(u);
    u = authenticate_head(a, s, &conn, h2, 0);
    cr_assert_str_eq(u->name, "bob");
    authn_user_free(u);
    authn_conn_clear(&conn);
    headrec_head_free(h1);
    headrec_head_free(h2);
    end_tls(s, c, sctx, cctx, a);
}

Test(authn, front_proxy_follows_a_chunked_body_to_the_next_head)
{
    authn *a = new_front_proxy_authn(NULL);
    SSL_CTX *sctx = server_ctx(a), *cctx = client_ctx(data);
    SSL *s, *c;
    handshake(sctx, cctx, &s, &c);
    send_and_read(c, s,
                  "PUT /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\nX-Remote-User: carol\r\n\r\n"
                  "5\r\nhello\r\n0\r\n\r\n"
                  "DELETE /y HTTP/1.1\r\nX-Remote-User: dave\r\n\r\n");
    headrec_head *h1 = headrec_take(s), *h2 = headrec_take(s);
    cr_assert(headrec_matches(h1, "PUT", "x-remote-user", "carol"));
    cr_assert(headrec_matches(h2, "DELETE", "x-remote-user", "dave"));
    headrec_head_free(h1);
    headrec_head_free(h2);
    end_tls(s, c, sctx, cctx, a);
}

Test(authn, front_proxy_certificate_with_a_cn_not_allowed_is_refused)
{
    authn *a = new_front_proxy_authn("front-proxy-client");
    SSL_CTX *sctx = server_ctx(a), *cctx = client_ctx(data);
    SSL *s, *c;
    handshake(sctx, cctx, &s, &c);
    send_and_read(c, s, "GET /apis HTTP/1.1\r\nX-Remote-User: alice\r\n\r\n");
    headrec_head *h = headrec_take(s);
    authn_conn conn = {0};
    /* Not allowed as a proxy, and not signed by the client CA: 401, never anonymous. */
    cr_assert_null(authenticate_head(a, s, &conn, h, -EACCES));
    authn_conn_clear(&conn);
    headrec_head_free(h);
    end_tls(s, c, sctx, cctx, a);
}

Test(authn, remote_user_headers_without_a_proxy_certificate_are_ignored)
{
    authn *a = new_front_proxy_authn(NULL);
    SSL_CTX *sctx = server_ctx(a), *cctx = SSL_CTX_new(TLS_client_method());
    SSL *s, *c;
    handshake(sctx, cctx, &s, &c);
    cr_assert(!headrec_attached(s), "no certificate, nothing recorded");
    headrec_head *spoofed = NULL;
    const char *head = "GET /apis HTTP/1.1\r\nX-Remote-User: alice\r\nX-Remote-Group: "
                       "system:masters\r\n\r\n";
    cr_assert_eq(headrec_parse(head, strlen(head), &spoofed), 0);
    authn_conn conn = {0};
    authn_user *u = authenticate_head(a, s, &conn, spoofed, 0);
    cr_assert(authn_user_is_anonymous(u), "spoofed headers name nobody");
    authn_user_free(u);
    authn_conn_clear(&conn);
    headrec_head_free(spoofed);
    end_tls(s, c, sctx, cctx, a);
}

Test(authn, client_ca_and_front_proxy_ca_are_both_advertised)
{
    authn *a = new_front_proxy_authn(NULL);
    SSL_CTX *sctx = server_ctx(a), *cctx = client_ctx(data);
    SSL *s, *c;
    handshake(sctx, cctx, &s, &c);
    cr_assert_eq(sk_X509_NAME_num(SSL_get_client_CA_list(c)), 2);
    end_tls(s, c, sctx, cctx, a);
}

Test(authn, malformed_heads_do_not_parse)
{
    static const char *const bad[] = {
        "GET / HTTP/1.1\r\nNoColon\r\n\r\n",
        "GET / HTTP/1.1\r\nBad Name: x\r\n\r\n",
        "GET / HTTP/1.1\r\nA: x\ry\r\n\r\n",
        "GET / HTTP/1.1\nA: x\n\n",
        "\r\n\r\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        headrec_head *h = NULL;
        cr_assert_eq(headrec_parse(bad[i], strlen(bad[i]), &h), -EINVAL, "case %zu", i);
        cr_assert_null(h);
    }
}

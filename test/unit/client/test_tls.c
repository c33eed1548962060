/*
 * The client's TLS floor (issue 6 item 7): a server that offers only TLS 1.1 is refused even
 * when the system OpenSSL configuration would allow it, and the same server at TLS 1.2 is
 * accepted (so the refusal is the version, not the test server).
 *
 * The server is an in-process OpenSSL thread with a throwaway self-signed certificate (the
 * client skips verification: only the protocol version is under test). It answers one request.
 */
#include "client/rest.h"
#include "common/alloc.h"
#include "testutil.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* The one timeout value of unit_client's suites (see test_rest_retry.c). */
#define TEST_TIMEOUT_S 180

typedef struct tls_server {
    int fd;
    int port;
    SSL_CTX *ctx;
    pthread_t thread;
    bool handshake_ok; /* written by the thread, read after join */
} tls_server;

static char *tmp;

static void setup(void)
{
    alloc_install_cjson_hooks();
    tmp = tu_tmpdir();
    /*
     * A system configuration that allows TLS 1.0 at security level 0, loaded when libcurl
     * initialises OpenSSL in this test process: the client's own floor must hold without
     * relying on the system's defaults.
     */
    char *cnf = tu_write(tmp, "openssl.cnf",
                         "openssl_conf = conf\n[conf]\nssl_conf = ssl\n[ssl]\n"
                         "system_default = sys\n[sys]\n"
                         "CipherString = DEFAULT:@SECLEVEL=0\nMinProtocol = TLSv1\n");
    setenv("OPENSSL_CONF", cnf, 1);
    free(cnf);
}

static void teardown(void)
{
    unsetenv("OPENSSL_CONF");
    tu_rmtree(tmp);
    free(tmp);
}

TestSuite(tls, .init = setup, .fini = teardown, .timeout = TEST_TIMEOUT_S);

/* A P-256 key and a self-signed certificate for it, valid for a day. */
static void use_throwaway_certificate(SSL_CTX *ctx)
{
    EVP_PKEY *key = EVP_EC_gen("P-256");
    cr_assert_not_null(key);
    X509 *x = X509_new();
    cr_assert_not_null(x);
    cr_assert(X509_set_version(x, 2));
    cr_assert(ASN1_INTEGER_set(X509_get_serialNumber(x), 1));
    cr_assert_not_null(X509_gmtime_adj(X509_getm_notBefore(x), -60));
    cr_assert_not_null(X509_gmtime_adj(X509_getm_notAfter(x), 86400));
    X509_NAME *name = X509_get_subject_name(x);
    cr_assert(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                         (const unsigned char *)"localhost", -1, -1, 0));
    cr_assert(X509_set_issuer_name(x, name));
    cr_assert(X509_set_pubkey(x, key));
    cr_assert(X509_sign(x, key, EVP_sha256()));
    cr_assert_eq(SSL_CTX_use_certificate(ctx, x), 1);
    cr_assert_eq(SSL_CTX_use_PrivateKey(ctx, key), 1);
    X509_free(x);
    EVP_PKEY_free(key);
}

/* Accepts one connection, completes the handshake if it can and answers one request. */
static void *serve_one(void *arg)
{
    tls_server *s = arg;
    int conn = accept(s->fd, NULL, NULL);
    if (conn < 0)
        return NULL; /* the listener was shut down: the client never connected */
    SSL *ssl = SSL_new(s->ctx);
    if (ssl && SSL_set_fd(ssl, conn) == 1 && SSL_accept(ssl) == 1) {
        s->handshake_ok = true;
        char buf[4096];
        if (SSL_read(ssl, buf, sizeof buf) > 0) {
            static const char answer[] = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                                         "Content-Length: 2\r\nConnection: close\r\n\r\n{}";
            SSL_write(ssl, answer, (int)strlen(answer));
        }
        SSL_shutdown(ssl);
    }
    SSL_free(ssl);
    close(conn);
    return NULL;
}

/* Listens on 127.0.0.1 and serves one connection, offering exactly TLS `version`. */
static void server_start(tls_server *s, int version)
{
    memset(s, 0, sizeof *s);
    s->ctx = SSL_CTX_new(TLS_server_method());
    cr_assert_not_null(s->ctx);
    /* Level 0: OpenSSL 3 refuses TLS 1.1 at any higher level, even as a server. */
    SSL_CTX_set_security_level(s->ctx, 0);
    cr_assert_eq(SSL_CTX_set_cipher_list(s->ctx, "DEFAULT:@SECLEVEL=0"), 1);
    cr_assert_eq(SSL_CTX_set_min_proto_version(s->ctx, version), 1);
    cr_assert_eq(SSL_CTX_set_max_proto_version(s->ctx, version), 1);
    use_throwaway_certificate(s->ctx);
    s->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    cr_assert_geq(s->fd, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    cr_assert_eq(bind(s->fd, (struct sockaddr *)&a, sizeof a), 0, "bind: %s", strerror(errno));
    cr_assert_eq(listen(s->fd, 4), 0);
    socklen_t len = sizeof a;
    cr_assert_eq(getsockname(s->fd, (struct sockaddr *)&a, &len), 0);
    s->port = ntohs(a.sin_port);
    cr_assert_eq(pthread_create(&s->thread, NULL, serve_one, s), 0);
}

static void server_stop(tls_server *s)
{
    shutdown(s->fd, SHUT_RDWR); /* wakes accept() if nobody connected */
    cr_assert_eq(pthread_join(s->thread, NULL), 0);
    close(s->fd);
    SSL_CTX_free(s->ctx);
}

/* One GET to the server; returns kc_request's answer and fills *e. */
static int get_from(const tls_server *s, api_error *e)
{
    kc_config cfg = {
        .server = xasprintf("https://127.0.0.1:%d", s->port),
        .insecure_skip_tls_verify = true,
        .creds = kc_credentials_new_static(NULL),
    };
    api_error err = API_ERROR_INIT;
    kc_client *c = kc_client_new(&cfg, NULL, &err);
    cr_assert_not_null(c, "kc_client_new: %s", err.message ? err.message : "");
    int rc = kc_request(c, "GET", "/version", NULL, NULL, 0, NULL, e);
    kc_client_free(c);
    kc_credentials_free(cfg.creds);
    free(cfg.server);
    return rc;
}

Test(tls, server_offering_only_tls_1_1_is_refused)
{
    tls_server s;
    server_start(&s, TLS1_1_VERSION);
    api_error e = API_ERROR_INIT;
    int rc = get_from(&s, &e);
    server_stop(&s);
    cr_assert_eq(rc, -EIO, "rc %d: %s", rc, e.message ? e.message : "");
    cr_assert_eq(e.code, 0);
    cr_assert_str_eq(e.reason, "Transport");
    cr_assert(!s.handshake_ok, "no TLS 1.1 session may be established");
    apierr_clear(&e);
}

Test(tls, server_offering_tls_1_2_is_accepted)
{
    tls_server s;
    server_start(&s, TLS1_2_VERSION);
    api_error e = API_ERROR_INIT;
    int rc = get_from(&s, &e);
    server_stop(&s);
    cr_assert_eq(rc, 0, "rc %d: %s", rc, e.message ? e.message : "");
    cr_assert(s.handshake_ok);
    apierr_clear(&e);
}

/*
 * pki.c - standalone CA, serving and admin certificates, and the admin kubeconfig (see pki.h).
 *
 * The whole PKI is built with OpenSSL 3's C API (no openssl CLI). A certificate "pair" is a
 * certificate and its private key; each pair is loaded, checked, and re-issued only when the
 * check fails, so a restart never invalidates credentials already handed out.
 */
#include "apiserver/transport/pki.h"

#include "common/alloc.h"
#include "common/log.h"
#include "common/sbuf.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Defaults, in one place. */
enum {
    PKI_CA_DAYS = 3650,         /* 10 years */
    PKI_LEAF_DAYS = 3 * 365,    /* serving and client certificates: 3 years (laptop use) */
    PKI_RENEW_BEFORE_DAYS = 30, /* re-issue a leaf that expires sooner than this */
    PKI_BACKDATE_SECS = 3600,   /* notBefore in the past: tolerate clock skew between hosts */
    PKI_SERIAL_BYTES = 16,      /* random 127-bit serial numbers, as Go's crypto/x509 advises */
    PKI_DIR_MODE = 0700,
    PKI_KEY_MODE = 0600,
    PKI_CERT_MODE = 0644,
};
#define PKI_CURVE "P-256"

/* Names every serving certificate must cover (docs/api.md §1: service DNS and loopback). */
static const char *const pki_serving_dns[] = {"localhost", "foo-apiserver",
                                              "foo-apiserver.foo-system.svc"};
static const char *const pki_serving_ips[] = {"127.0.0.1", "::1"};
#define PKI_NELEM(a) ((int)(sizeof(a) / sizeof((a)[0])))

typedef enum pki_kind { PKI_KIND_CA, PKI_KIND_SERVER, PKI_KIND_CLIENT } pki_kind;

/* What to put in a certificate. */
typedef struct pki_spec {
    pki_kind kind;
    const char *cn;
    const char **orgs;
    int norgs;
    const char *extra_dns; /* server: one more DNS SAN (the URL's host), or NULL */
    const char *extra_ip;  /* server: one more IP SAN, or NULL */
    int days;
} pki_spec;

/* A certificate and its private key, both owned. */
typedef struct pki_pair {
    X509 *cert;
    EVP_PKEY *key;
} pki_pair;

static void pki_pair_free(pki_pair *p)
{
    X509_free(p->cert);
    EVP_PKEY_free(p->key);
    p->cert = NULL;
    p->key = NULL;
}

/*
 * Records a failure in err as a 500 InternalError (first failure wins, so the root cause is what
 * the caller sees), and returns rc. err may be NULL.
 */
static int pki_fail(api_error *err, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int pki_fail(api_error *err, int rc, const char *fmt, ...)
{
    sbuf msg = SBUF_INIT;
    va_list ap;
    va_start(ap, fmt);
    sbuf_vprintf(&msg, fmt, ap);
    va_end(ap);
    if (err && !apierr_is_set(err))
        apierr_set(err, 500, "InternalError", "%s", msg.data);
    sbuf_free(&msg);
    return rc;
}

/* The last OpenSSL error as text (for messages); clears the error queue. Caller frees. */
static char *pki_ssl_error(void)
{
    char buf[256] = "unknown OpenSSL error";
    unsigned long e = ERR_peek_last_error();
    if (e)
        ERR_error_string_n(e, buf, sizeof buf);
    ERR_clear_error();
    return xstrdup(buf);
}

static int pki_fail_ssl(api_error *err, const char *what)
{
    char *why = pki_ssl_error();
    int rc = pki_fail(err, -EIO, "%s: %s", what, why);
    free(why);
    return rc;
}

char *pki_path(const char *data_dir, const char *file)
{
    return xasprintf("%s/%s/%s", data_dir, PKI_DIR, file);
}

/* ---- files ---- */

/* mkdir -p with `mode` for every directory created. Existing directories are left as they are. */
static int pki_mkdirs(const char *path, api_error *err)
{
    char *p = xstrdup(path);
    int rc = 0;
    for (char *s = p + 1; rc == 0; s++) {
        bool end = (*s == '\0');
        if (*s != '/' && !end)
            continue;
        *s = '\0';
        if (mkdir(p, PKI_DIR_MODE) != 0 && errno != EEXIST)
            rc = pki_fail(err, -errno, "cannot create directory %s: %s", p, strerror(errno));
        if (end)
            break;
        *s = '/';
    }
    free(p);
    if (rc == 0) {
        struct stat st;
        if (stat(path, &st) != 0)
            return pki_fail(err, -errno, "cannot stat %s: %s", path, strerror(errno));
        if (!S_ISDIR(st.st_mode))
            return pki_fail(err, -ENOTDIR, "%s is not a directory", path);
    }
    return rc;
}

/* fsync()s the directory holding path so a rename into it survives a crash. Best effort. */
static void pki_sync_parent(const char *path)
{
    char *dir = xstrdup(path);
    char *slash = strrchr(dir, '/');
    if (slash)
        *(slash == dir ? slash + 1 : slash) = '\0';
    int fd = open(slash ? dir : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
    free(dir);
}

static int pki_write_all(int fd, const char *data, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, data, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        data += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Writes path atomically with the given mode: temp file in the same directory, fsync, rename. */
static int pki_write_atomic(const char *path, const char *data, size_t len, mode_t mode,
                            api_error *err)
{
    char *tmp = xasprintf("%s.tmp.XXXXXX", path);
    int fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0) {
        int rc = pki_fail(err, -errno, "cannot create %s: %s", tmp, strerror(errno));
        free(tmp);
        return rc;
    }
    int rc = fchmod(fd, mode) == 0 ? 0 : -errno;
    if (rc == 0)
        rc = pki_write_all(fd, data, len);
    if (rc == 0 && fsync(fd) != 0)
        rc = -errno;
    if (close(fd) != 0 && rc == 0)
        rc = -errno;
    if (rc == 0 && rename(tmp, path) != 0)
        rc = -errno;
    if (rc != 0) {
        (void)unlink(tmp);
        pki_fail(err, rc, "cannot write %s: %s", path, strerror(-rc));
    } else {
        pki_sync_parent(path);
    }
    free(tmp);
    return rc;
}

/* ---- PEM ---- */

static int pki_no_password(char *buf, int size, int rwflag, void *u)
{
    (void)buf, (void)size, (void)rwflag, (void)u;
    return 0; /* our keys are never encrypted; never prompt on a terminal */
}

/*
 * Opens path for reading. Returns 0, -ENOENT when missing, or another negative errno (a file we
 * cannot read must not be silently replaced).
 */
static int pki_open(const char *path, FILE **fp, api_error *err)
{
    *fp = fopen(path, "re");
    if (*fp)
        return 0;
    if (errno == ENOENT)
        return -ENOENT;
    return pki_fail(err, -errno, "cannot read %s: %s", path, strerror(errno));
}

/*
 * Loads a certificate and its key. Returns 0, -ENOENT (a file is missing), -EBADMSG (a file does
 * not parse), or another negative errno (unreadable; recorded in err).
 */
static int pki_load_pair(const char *crt_path, const char *key_path, pki_pair *out, api_error *err)
{
    FILE *fp;
    int rc = pki_open(crt_path, &fp, err);
    if (rc != 0)
        return rc;
    out->cert = PEM_read_X509(fp, NULL, pki_no_password, NULL);
    fclose(fp);
    if ((rc = pki_open(key_path, &fp, err)) != 0) {
        pki_pair_free(out);
        return rc;
    }
    out->key = PEM_read_PrivateKey(fp, NULL, pki_no_password, NULL);
    fclose(fp);
    ERR_clear_error();
    if (!out->cert || !out->key) {
        pki_pair_free(out);
        return -EBADMSG;
    }
    return 0;
}

/* Appends the PEM of cert (when non-NULL) or else of key (PKCS#8, unencrypted). */
static int pki_pem(sbuf *out, X509 *cert, EVP_PKEY *key)
{
    BIO *b = BIO_new(BIO_s_mem());
    if (!b)
        return -ENOMEM;
    int ok = cert ? PEM_write_bio_X509(b, cert)
                  : PEM_write_bio_PrivateKey(b, key, NULL, NULL, 0, NULL, NULL);
    char *p = NULL;
    long n = ok ? BIO_get_mem_data(b, &p) : 0;
    if (ok && n > 0)
        sbuf_append(out, p, (size_t)n);
    BIO_free(b);
    return ok && n > 0 ? 0 : -EIO;
}

/* Writes the key (0600) then the certificate (0644); a crash in between leaves a mismatched
 * pair, which the next run detects and re-issues. */
static int pki_store_pair(const pki_pair *p, const char *crt_path, const char *key_path,
                          api_error *err)
{
    sbuf key = SBUF_INIT, crt = SBUF_INIT;
    int rc = pki_pem(&key, NULL, p->key);
    if (rc == 0)
        rc = pki_pem(&crt, p->cert, NULL);
    if (rc != 0)
        rc = pki_fail_ssl(err, "cannot encode PEM");
    if (rc == 0)
        rc = pki_write_atomic(key_path, key.data, key.len, PKI_KEY_MODE, err);
    if (rc == 0)
        rc = pki_write_atomic(crt_path, crt.data, crt.len, PKI_CERT_MODE, err);
    if (key.data)
        OPENSSL_cleanse(key.data, key.cap);
    sbuf_free(&key);
    sbuf_free(&crt);
    return rc;
}

/* ---- certificate construction ---- */

static int pki_set_serial(X509 *x)
{
    unsigned char buf[PKI_SERIAL_BYTES];
    if (RAND_bytes(buf, sizeof buf) != 1)
        return -EIO;
    buf[0] &= 0x7f; /* positive */
    buf[0] |= 0x40; /* and never zero or short */
    BIGNUM *bn = BN_bin2bn(buf, sizeof buf, NULL);
    int ok = bn && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL;
    BN_free(bn);
    return ok ? 0 : -EIO;
}

static int pki_set_subject(X509 *x, const pki_spec *s)
{
    X509_NAME *name = X509_get_subject_name(x);
    for (int i = 0; i < s->norgs; i++) {
        if (!X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8, (const unsigned char *)s->orgs[i],
                                        -1, -1, 0))
            return -EIO;
    }
    if (!X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)s->cn, -1, -1,
                                    0))
        return -EIO;
    return 0;
}

static int pki_add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    if (!ext)
        return -EIO;
    int ok = X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
    return ok ? 0 : -EIO;
}

/* "DNS:a,DNS:b,IP:c" for a serving certificate. Caller frees. */
static char *pki_san_value(const pki_spec *s)
{
    sbuf sb = SBUF_INIT;
    for (int i = 0; i < PKI_NELEM(pki_serving_dns); i++)
        sbuf_printf(&sb, "%sDNS:%s", sb.len ? "," : "", pki_serving_dns[i]);
    for (int i = 0; i < PKI_NELEM(pki_serving_ips); i++)
        sbuf_printf(&sb, ",IP:%s", pki_serving_ips[i]);
    if (s->extra_dns)
        sbuf_printf(&sb, ",DNS:%s", s->extra_dns);
    if (s->extra_ip)
        sbuf_printf(&sb, ",IP:%s", s->extra_ip);
    return sbuf_detach(&sb, NULL);
}

/* Adds the X.509v3 extensions of s->kind. issuer is the CA (x itself for the CA). */
static int pki_add_extensions(X509 *x, X509 *issuer, const pki_spec *s)
{
    int rc;
    if (s->kind == PKI_KIND_CA) {
        rc = pki_add_ext(x, x, NID_basic_constraints, "critical,CA:TRUE");
        if (rc == 0)
            rc = pki_add_ext(x, x, NID_key_usage, "critical,keyCertSign,cRLSign,digitalSignature");
        if (rc == 0)
            rc = pki_add_ext(x, x, NID_subject_key_identifier, "hash");
        return rc;
    }
    rc = pki_add_ext(x, issuer, NID_basic_constraints, "critical,CA:FALSE");
    /* ECDSA keys only sign: digitalSignature is the one key usage TLS needs. */
    if (rc == 0)
        rc = pki_add_ext(x, issuer, NID_key_usage, "critical,digitalSignature");
    if (rc == 0)
        rc = pki_add_ext(x, issuer, NID_ext_key_usage,
                         s->kind == PKI_KIND_SERVER ? "serverAuth" : "clientAuth");
    if (rc == 0)
        rc = pki_add_ext(x, issuer, NID_subject_key_identifier, "hash");
    if (rc == 0)
        rc = pki_add_ext(x, issuer, NID_authority_key_identifier, "keyid:always");
    if (rc == 0 && s->kind == PKI_KIND_SERVER) {
        char *san = pki_san_value(s);
        rc = pki_add_ext(x, issuer, NID_subject_alt_name, san);
        free(san);
    }
    return rc;
}

/*
 * Builds and signs a certificate for key. ca/ca_key are the issuer; NULL for a self-signed CA.
 * Returns the certificate (caller frees) or NULL with the OpenSSL error queue set.
 */
static X509 *pki_make_cert(const pki_spec *s, EVP_PKEY *key, X509 *ca, EVP_PKEY *ca_key)
{
    X509 *x = X509_new();
    if (!x)
        return NULL;
    int rc = X509_set_version(x, X509_VERSION_3) ? 0 : -EIO;
    if (rc == 0)
        rc = pki_set_serial(x);
    if (rc == 0)
        rc = pki_set_subject(x, s);
    if (rc == 0)
        rc = X509_set_issuer_name(x, ca ? X509_get_subject_name(ca) : X509_get_subject_name(x))
                 ? 0
                 : -EIO;
    if (rc == 0 && (!X509_gmtime_adj(X509_getm_notBefore(x), -PKI_BACKDATE_SECS) ||
                    !X509_time_adj_ex(X509_getm_notAfter(x), s->days, 0, NULL)))
        rc = -EIO;
    if (rc == 0)
        rc = X509_set_pubkey(x, key) ? 0 : -EIO;
    if (rc == 0)
        rc = pki_add_extensions(x, ca ? ca : x, s);
    if (rc == 0)
        rc = X509_sign(x, ca_key ? ca_key : key, EVP_sha256()) > 0 ? 0 : -EIO;
    if (rc != 0) {
        X509_free(x);
        return NULL;
    }
    return x;
}

/* A fresh key and a certificate for it per s, signed by ca (NULL: self-signed). */
static int pki_issue(const pki_spec *s, const pki_pair *ca, pki_pair *out, api_error *err)
{
    out->key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", PKI_CURVE);
    if (!out->key)
        return pki_fail_ssl(err, "cannot generate an EC " PKI_CURVE " key");
    out->cert = pki_make_cert(s, out->key, ca ? ca->cert : NULL, ca ? ca->key : NULL);
    if (!out->cert) {
        pki_pair_free(out);
        return pki_fail_ssl(err, "cannot build a certificate");
    }
    return 0;
}

/* ---- validity checks of existing files ---- */

static bool pki_expires_after(X509 *x, int days)
{
    time_t limit = time(NULL) + (time_t)days * 86400;
    return X509_cmp_time(X509_get0_notAfter(x), &limit) > 0;
}

static bool pki_ca_valid(const pki_pair *ca)
{
    bool ok = X509_check_private_key(ca->cert, ca->key) == 1 && X509_check_ca(ca->cert) >= 1 &&
              pki_expires_after(ca->cert, 0);
    ERR_clear_error();
    return ok;
}

/* Every name the serving certificate of s must cover is in leaf's SANs. */
static bool pki_covers_names(X509 *leaf, const pki_spec *s)
{
    for (int i = 0; i < PKI_NELEM(pki_serving_dns); i++)
        if (X509_check_host(leaf, pki_serving_dns[i], 0, X509_CHECK_FLAG_NO_WILDCARDS, NULL) != 1)
            return false;
    for (int i = 0; i < PKI_NELEM(pki_serving_ips); i++)
        if (X509_check_ip_asc(leaf, pki_serving_ips[i], 0) != 1)
            return false;
    if (s->extra_dns &&
        X509_check_host(leaf, s->extra_dns, 0, X509_CHECK_FLAG_NO_WILDCARDS, NULL) != 1)
        return false;
    if (s->extra_ip && X509_check_ip_asc(leaf, s->extra_ip, 0) != 1)
        return false;
    return true;
}

static bool pki_leaf_valid(const pki_pair *leaf, const pki_pair *ca, const pki_spec *s)
{
    int purpose = s->kind == PKI_KIND_SERVER ? X509_PURPOSE_SSL_SERVER : X509_PURPOSE_SSL_CLIENT;
    bool ok = X509_check_private_key(leaf->cert, leaf->key) == 1 &&
              X509_check_issued(ca->cert, leaf->cert) == X509_V_OK &&
              X509_verify(leaf->cert, X509_get0_pubkey(ca->cert)) == 1 &&
              X509_check_purpose(leaf->cert, purpose, 0) == 1 &&
              pki_expires_after(leaf->cert, PKI_RENEW_BEFORE_DAYS) &&
              (s->kind != PKI_KIND_SERVER || pki_covers_names(leaf->cert, s));
    ERR_clear_error();
    return ok;
}

/* ---- ensuring each pair ---- */

/*
 * Keeps the pair at crt/key when it loads and passes its check (pki_leaf_valid against ca, or
 * pki_ca_valid when ca is NULL), unless force; else issues and stores a new one (signed by ca, or
 * self-signed when ca is NULL). *issued tells which happened.
 */
static int pki_ensure_pair(const char *crt, const char *key, const pki_spec *s, const pki_pair *ca,
                           bool force, pki_pair *out, bool *issued, api_error *err)
{
    *issued = false;
    if (!force) {
        int rc = pki_load_pair(crt, key, out, err);
        if (rc != 0 && rc != -ENOENT && rc != -EBADMSG)
            return rc;
        if (rc == 0 && (ca ? pki_leaf_valid(out, ca, s) : pki_ca_valid(out)))
            return 0;
        if (rc == 0 || rc == -EBADMSG)
            log_kv(LOG_WARN, "replacing an invalid or expiring certificate", "file", crt, NULL);
        pki_pair_free(out);
    }
    int rc = pki_issue(s, ca, out, err);
    if (rc == 0)
        rc = pki_store_pair(out, crt, key, err);
    if (rc != 0) {
        pki_pair_free(out);
        return rc;
    }
    *issued = true;
    log_kv(LOG_INFO, "issued certificate", "file", crt, "cn", s->cn, NULL);
    return 0;
}

/* Paths are DATA/pki/<crt_name> and <key_name>. */
static int pki_ensure_named(const char *data_dir, const char *crt_name, const char *key_name,
                            const pki_spec *s, const pki_pair *ca, bool force, pki_pair *out,
                            bool *issued, api_error *err)
{
    char *crt = pki_path(data_dir, crt_name);
    char *key = pki_path(data_dir, key_name);
    int rc = pki_ensure_pair(crt, key, s, ca, force, out, issued, err);
    free(crt);
    free(key);
    return rc;
}

/* ---- server URL ---- */

static bool pki_dns_name_ok(const char *h)
{
    size_t n = strlen(h);
    if (n == 0 || n > 253)
        return false;
    for (const char *p = h; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '-' && *p != '.')
            return false;
    return true;
}

/*
 * Extracts the host of an https URL ("https://[::1]:9443/x" -> "::1") and classifies it: sets
 * *dns or *ip (owned, lowercase / canonical form). Returns 0 or -EINVAL.
 */
static int pki_url_host(const char *url, char **dns, char **ip)
{
    *dns = *ip = NULL;
    static const char scheme[] = "https://";
    if (strncasecmp(url, scheme, sizeof scheme - 1) != 0)
        return -EINVAL;
    const char *auth = url + sizeof scheme - 1;
    size_t alen = strcspn(auth, "/?#");
    const char *at = memrchr(auth, '@', alen);
    if (at) {
        alen -= (size_t)(at + 1 - auth);
        auth = at + 1;
    }
    char *host;
    if (alen > 0 && auth[0] == '[') {
        const char *close = memchr(auth, ']', alen);
        if (!close)
            return -EINVAL;
        host = xstrndup(auth + 1, (size_t)(close - auth - 1));
    } else {
        const char *colon = memchr(auth, ':', alen);
        host = xstrndup(auth, colon ? (size_t)(colon - auth) : alen);
    }
    unsigned char addr[16];
    int af = inet_pton(AF_INET, host, addr) == 1    ? AF_INET
             : inet_pton(AF_INET6, host, addr) == 1 ? AF_INET6
                                                    : 0;
    if (af) {
        char canon[INET6_ADDRSTRLEN];
        *ip = xstrdup(inet_ntop(af, addr, canon, sizeof canon));
    } else if (pki_dns_name_ok(host)) {
        for (char *p = host; *p; p++)
            *p = (char)tolower((unsigned char)*p);
        *dns = xstrdup(host);
    }
    free(host);
    return *dns || *ip ? 0 : -EINVAL;
}

/* Drops the URL's host when it is already one of the default names. */
static void pki_drop_default_host(char **dns, char **ip)
{
    for (int i = 0; *dns && i < PKI_NELEM(pki_serving_dns); i++)
        if (strcmp(*dns, pki_serving_dns[i]) == 0) {
            free(*dns);
            *dns = NULL;
        }
    for (int i = 0; *ip && i < PKI_NELEM(pki_serving_ips); i++)
        if (strcmp(*ip, pki_serving_ips[i]) == 0) {
            free(*ip);
            *ip = NULL;
        }
}

/* ---- kubeconfig ---- */

/* Base64 (one line, no newlines) of data. Caller frees. */
static char *pki_base64(const char *data, size_t len)
{
    char *out = xmalloc(4 * ((len + 2) / 3) + 1);
    EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)data, (int)len);
    return out;
}

static void pki_render_kubeconfig(sbuf *y, const char *server_url, const char *ca_b64,
                                  const char *crt_b64, const char *key_b64)
{
    sbuf_puts(y, "apiVersion: v1\nkind: Config\nclusters:\n- name: " PKI_KUBECONFIG_CLUSTER
                 "\n  cluster:\n    server: ");
    /* A JSON string is a valid YAML double-quoted scalar: safe for any URL. */
    sbuf_json_string(y, server_url);
    sbuf_printf(y, "\n    certificate-authority-data: %s\n", ca_b64);
    sbuf_puts(y, "users:\n- name: " PKI_KUBECONFIG_USER "\n  user:\n");
    sbuf_printf(y, "    client-certificate-data: %s\n    client-key-data: %s\n", crt_b64, key_b64);
    sbuf_puts(y, "contexts:\n- name: " PKI_KUBECONFIG_CONTEXT
                 "\n  context:\n    cluster: " PKI_KUBECONFIG_CLUSTER
                 "\n    user: " PKI_KUBECONFIG_USER "\n"
                 "current-context: " PKI_KUBECONFIG_CONTEXT "\npreferences: {}\n");
}

static int pki_write_kubeconfig(const char *data_dir, const char *server_url, const pki_pair *ca,
                                const pki_pair *admin, api_error *err)
{
    sbuf ca_pem = SBUF_INIT, crt_pem = SBUF_INIT, key_pem = SBUF_INIT, y = SBUF_INIT;
    int rc = pki_pem(&ca_pem, ca->cert, NULL);
    if (rc == 0)
        rc = pki_pem(&crt_pem, admin->cert, NULL);
    if (rc == 0)
        rc = pki_pem(&key_pem, NULL, admin->key);
    if (rc != 0) {
        rc = pki_fail_ssl(err, "cannot encode PEM for the kubeconfig");
    } else {
        char *ca_b64 = pki_base64(ca_pem.data, ca_pem.len);
        char *crt_b64 = pki_base64(crt_pem.data, crt_pem.len);
        char *key_b64 = pki_base64(key_pem.data, key_pem.len);
        pki_render_kubeconfig(&y, server_url, ca_b64, crt_b64, key_b64);
        OPENSSL_cleanse(key_b64, strlen(key_b64));
        free(ca_b64);
        free(crt_b64);
        free(key_b64);
        char *path = xasprintf("%s/%s", data_dir, PKI_KUBECONFIG);
        rc = pki_write_atomic(path, y.data, y.len, PKI_KEY_MODE, err);
        free(path);
    }
    if (key_pem.data)
        OPENSSL_cleanse(key_pem.data, key_pem.cap);
    if (y.data)
        OPENSSL_cleanse(y.data, y.cap);
    sbuf_free(&ca_pem);
    sbuf_free(&crt_pem);
    sbuf_free(&key_pem);
    sbuf_free(&y);
    return rc;
}

/* ---- public ---- */

/*
 * Creates DATA (0700) and DATA/pki (0700). Either one that exists with group or other bits is
 * tightened to 0700 (with a warning for DATA): it holds the keys and the SQLite file, which are
 * nobody else's business, and a warning alone would leave them readable.
 */
static int pki_prepare_dirs(const char *data_dir, api_error *err)
{
    struct stat st;
    bool existed = stat(data_dir, &st) == 0;
    int rc = pki_mkdirs(data_dir, err);
    if (rc != 0)
        return rc;
    if (existed && (st.st_mode & 077)) {
        if (chmod(data_dir, PKI_DIR_MODE) != 0)
            return pki_fail(err, -errno, "cannot chmod %s: %s", data_dir, strerror(errno));
        log_kv(LOG_WARN, "data directory was accessible to other users: tightened to 0700", "dir",
               data_dir, NULL);
    }
    char *pki = xasprintf("%s/%s", data_dir, PKI_DIR);
    rc = pki_mkdirs(pki, err);
    if (rc == 0 && chmod(pki, PKI_DIR_MODE) != 0)
        rc = pki_fail(err, -errno, "cannot chmod %s: %s", pki, strerror(errno));
    free(pki);
    return rc;
}

/*
 * Takes DATA/pki/.lock exclusively (flock; released when *fd is closed, or when the process
 * dies): replicas started together on one data directory then create the CA and the leaves
 * once, and the others load them, instead of each renaming its own CA over the others' files
 * (a CA key from one and a certificate from another). Returns 0 with *fd, or a negative errno.
 */
static int pki_lock(const char *data_dir, int *fd, api_error *err)
{
    char *path = xasprintf("%s/%s/.lock", data_dir, PKI_DIR);
    int rc = 0;
    *fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, PKI_KEY_MODE);
    if (*fd < 0) {
        rc = pki_fail(err, -errno, "cannot open %s: %s", path, strerror(errno));
    } else {
        while (flock(*fd, LOCK_EX) != 0 && rc == 0)
            if (errno != EINTR)
                rc = pki_fail(err, -errno, "cannot lock %s: %s", path, strerror(errno));
        if (rc != 0)
            close(*fd);
    }
    free(path);
    return rc;
}

int pki_ensure_standalone(const char *data_dir, const char *server_url, api_error *err)
{
    if (!data_dir || !*data_dir || !server_url)
        return pki_fail(err, -EINVAL, "pki: data directory and server URL are required");
    char *dns, *ip;
    if (pki_url_host(server_url, &dns, &ip) != 0)
        return pki_fail(err, -EINVAL,
                        "pki: server URL %s is not https://HOST[:PORT] with a DNS name or IP",
                        server_url);
    pki_drop_default_host(&dns, &ip);

    pki_spec ca_spec = {.kind = PKI_KIND_CA, .cn = PKI_CA_CN, .days = PKI_CA_DAYS};
    pki_spec srv_spec = {.kind = PKI_KIND_SERVER,
                         .cn = PKI_SERVING_CN,
                         .extra_dns = dns,
                         .extra_ip = ip,
                         .days = PKI_LEAF_DAYS};
    const char *admin_orgs[] = {PKI_ADMIN_GROUP};
    pki_spec adm_spec = {.kind = PKI_KIND_CLIENT,
                         .cn = PKI_ADMIN_CN,
                         .orgs = admin_orgs,
                         .norgs = 1,
                         .days = PKI_LEAF_DAYS};
    pki_pair ca = {0}, srv = {0}, adm = {0};
    bool new_ca = false, issued;
    int lock_fd = -1;

    int rc = pki_prepare_dirs(data_dir, err);
    if (rc == 0)
        rc = pki_lock(data_dir, &lock_fd, err);
    if (rc == 0)
        rc = pki_ensure_named(data_dir, PKI_CA_CERT, PKI_CA_KEY, &ca_spec, NULL, false, &ca,
                              &new_ca, err);
    /* A new CA invalidates every leaf: re-issue them without looking. */
    if (rc == 0)
        rc = pki_ensure_named(data_dir, PKI_SERVING_CERT, PKI_SERVING_KEY, &srv_spec, &ca, new_ca,
                              &srv, &issued, err);
    if (rc == 0)
        rc = pki_ensure_named(data_dir, PKI_ADMIN_CERT, PKI_ADMIN_KEY, &adm_spec, &ca, new_ca, &adm,
                              &issued, err);
    if (rc == 0)
        rc = pki_write_kubeconfig(data_dir, server_url, &ca, &adm, err);
    if (rc == 0)
        log_kv(LOG_INFO, "standalone PKI ready", "dir", data_dir, "server", server_url, NULL);
    if (lock_fd >= 0)
        close(lock_fd);
    pki_pair_free(&ca);
    pki_pair_free(&srv);
    pki_pair_free(&adm);
    free(dns);
    free(ip);
    return rc;
}

int pki_issue_client_cert(const char *data_dir, const char *cn, const char **orgs, int n,
                          const char *out_crt, const char *out_key, api_error *err)
{
    if (!data_dir || !cn || !*cn || n < 0 || (n > 0 && !orgs) || !out_crt || !out_key)
        return pki_fail(err, -EINVAL, "pki: bad arguments to pki_issue_client_cert");
    char *ca_crt = pki_path(data_dir, PKI_CA_CERT);
    char *ca_key = pki_path(data_dir, PKI_CA_KEY);
    pki_pair ca = {0}, leaf = {0};
    int rc = pki_load_pair(ca_crt, ca_key, &ca, err);
    if (rc == -ENOENT || rc == -EBADMSG || (rc == 0 && !pki_ca_valid(&ca)))
        rc = pki_fail(err, rc == -ENOENT ? -ENOENT : -EIO, "pki: no valid CA at %s", ca_crt);
    pki_spec s = {
        .kind = PKI_KIND_CLIENT, .cn = cn, .orgs = orgs, .norgs = n, .days = PKI_LEAF_DAYS};
    if (rc == 0)
        rc = pki_issue(&s, &ca, &leaf, err);
    if (rc == 0)
        rc = pki_store_pair(&leaf, out_crt, out_key, err);
    if (rc == 0)
        log_kv(LOG_INFO, "issued client certificate", "file", out_crt, "cn", cn, NULL);
    pki_pair_free(&ca);
    pki_pair_free(&leaf);
    free(ca_crt);
    free(ca_key);
    return rc;
}

/*
 * test_pki.c - the standalone PKI: files and modes, reuse across runs, certificate contents, and
 * a kubeconfig that the real kubectl accepts.
 */
#include "apiserver/transport/pki.h"

#include "common/alloc.h"

#include <criterion/criterion.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define URL "https://127.0.0.1:9443"

static char *tmp_root;

static void make_root(void)
{
    char tmpl[] = "/tmp/foo-pki-test-XXXXXX";
    cr_assert_not_null(mkdtemp(tmpl));
    tmp_root = xstrdup(tmpl);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

static void remove_root(void)
{
    if (tmp_root)
        nftw(tmp_root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(tmp_root);
    tmp_root = NULL;
}

TestSuite(pki, .init = make_root, .fini = remove_root);

/* tmp_root/<name>, caller frees. */
static char *under_root(const char *name)
{
    return xasprintf("%s/%s", tmp_root, name);
}

/* A data dir with the standalone PKI for URL already in place. Caller frees. */
static char *standalone_dir(void)
{
    char *dir = under_root("data");
    cr_assert_eq(pki_ensure_standalone(dir, URL, NULL), 0);
    return dir;
}

static char *slurp(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "r");
    cr_assert_not_null(fp, "cannot open %s", path);
    char *buf = xmalloc(1 << 16);
    size_t n = fread(buf, 1, (1 << 16) - 1, fp);
    fclose(fp);
    buf[n] = '\0';
    if (len)
        *len = n;
    return buf;
}

static X509 *load_cert(const char *dir, const char *file)
{
    char *path = pki_path(dir, file);
    FILE *fp = fopen(path, "r");
    cr_assert_not_null(fp, "cannot open %s", path);
    X509 *x = PEM_read_X509(fp, NULL, NULL, NULL);
    fclose(fp);
    cr_assert_not_null(x, "%s is not a PEM certificate", path);
    free(path);
    return x;
}

static EVP_PKEY *load_key(const char *dir, const char *file)
{
    char *path = pki_path(dir, file);
    FILE *fp = fopen(path, "r");
    cr_assert_not_null(fp);
    EVP_PKEY *k = PEM_read_PrivateKey(fp, NULL, NULL, NULL);
    fclose(fp);
    cr_assert_not_null(k);
    free(path);
    return k;
}

/* SHA-256 fingerprint of a certificate as 64 hex digits. */
static void fingerprint(const char *dir, const char *file, char out[65])
{
    X509 *x = load_cert(dir, file);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    cr_assert_eq(X509_digest(x, EVP_sha256(), md, &n), 1);
    for (unsigned int i = 0; i < n; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
    X509_free(x);
}

static mode_t mode_of(const char *path)
{
    struct stat st;
    cr_assert_eq(stat(path, &st), 0, "stat %s: %s", path, strerror(errno));
    return st.st_mode & 07777;
}

static mode_t pki_mode(const char *dir, const char *file)
{
    char *path = pki_path(dir, file);
    mode_t m = mode_of(path);
    free(path);
    return m;
}

/* The text of subject entry nid (first one at or after index start), or "". */
static void subject_entry(X509 *x, int nid, int nth, char *buf, size_t n)
{
    X509_NAME *name = X509_get_subject_name(x);
    int idx = -1;
    for (int i = 0; i <= nth; i++)
        idx = X509_NAME_get_index_by_NID(name, nid, idx);
    buf[0] = '\0';
    if (idx >= 0) {
        ASN1_STRING *d = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, idx));
        snprintf(buf, n, "%.*s", ASN1_STRING_length(d), (const char *)ASN1_STRING_get0_data(d));
    }
}

/* Runs a shell command, returns its stdout (caller frees) and asserts exit status 0. */
static char *run(const char *cmd)
{
    FILE *p = popen(cmd, "r");
    cr_assert_not_null(p);
    char *buf = xmalloc(1 << 16);
    size_t n = fread(buf, 1, (1 << 16) - 1, p);
    buf[n] = '\0';
    int status = pclose(p);
    cr_assert_eq(status, 0, "command failed (%d): %s\n%s", status, cmd, buf);
    return buf;
}

/* kubectl config view --raw -o jsonpath=<expr> on kubeconfig path. Caller frees. */
static char *kubectl_jsonpath(const char *kubeconfig, const char *expr)
{
    char *cmd = xasprintf("/usr/bin/kubectl --kubeconfig '%s' config view --raw -o jsonpath='%s'",
                          kubeconfig, expr);
    char *out = run(cmd);
    free(cmd);
    return out;
}

/* Decodes base64 b64 and asserts it equals the contents of file. */
static void assert_b64_is_file(const char *b64, const char *path)
{
    size_t len = strlen(b64);
    cr_assert_gt(len, 0, "no base64 data for %s", path);
    unsigned char *dec = xmalloc(len);
    int n = EVP_DecodeBlock(dec, (const unsigned char *)b64, (int)len);
    cr_assert_gt(n, 0);
    for (size_t i = len; i > 0 && b64[i - 1] == '='; i--)
        n--;
    size_t flen;
    char *file = slurp(path, &flen);
    cr_assert_eq((size_t)n, flen, "%s: decoded %d bytes, file has %zu", path, n, flen);
    cr_assert_eq(memcmp(dec, file, flen), 0, "%s differs from the kubeconfig data", path);
    free(dec);
    free(file);
}

Test(pki, creates_every_file_with_private_modes)
{
    char *dir = standalone_dir();
    cr_assert_eq(mode_of(dir), 0700);
    char *pkidir = xasprintf("%s/" PKI_DIR, dir);
    cr_assert_eq(mode_of(pkidir), 0700);
    cr_assert_eq(pki_mode(dir, PKI_CA_KEY), 0600);
    cr_assert_eq(pki_mode(dir, PKI_SERVING_KEY), 0600);
    cr_assert_eq(pki_mode(dir, PKI_ADMIN_KEY), 0600);
    cr_assert_eq(pki_mode(dir, PKI_CA_CERT), 0644);
    cr_assert_eq(pki_mode(dir, PKI_SERVING_CERT), 0644);
    cr_assert_eq(pki_mode(dir, PKI_ADMIN_CERT), 0644);
    char *kc = xasprintf("%s/" PKI_KUBECONFIG, dir);
    cr_assert_eq(mode_of(kc), 0600, "the kubeconfig holds the admin key");
    free(kc);
    free(pkidir);
    free(dir);
}

Test(pki, second_call_keeps_the_ca_and_the_certificates)
{
    char *dir = standalone_dir();
    char ca1[65], srv1[65], adm1[65], ca2[65], srv2[65], adm2[65];
    fingerprint(dir, PKI_CA_CERT, ca1);
    fingerprint(dir, PKI_SERVING_CERT, srv1);
    fingerprint(dir, PKI_ADMIN_CERT, adm1);
    cr_assert_eq(pki_ensure_standalone(dir, URL, NULL), 0);
    fingerprint(dir, PKI_CA_CERT, ca2);
    fingerprint(dir, PKI_SERVING_CERT, srv2);
    fingerprint(dir, PKI_ADMIN_CERT, adm2);
    cr_assert_str_eq(ca1, ca2);
    cr_assert_str_eq(srv1, srv2);
    cr_assert_str_eq(adm1, adm2);
    free(dir);
}

Test(pki, corrupt_serving_cert_is_reissued_under_the_same_ca)
{
    char *dir = standalone_dir();
    char ca1[65], ca2[65];
    fingerprint(dir, PKI_CA_CERT, ca1);
    char *path = pki_path(dir, PKI_SERVING_CERT);
    FILE *fp = fopen(path, "w");
    cr_assert_not_null(fp);
    fputs("not a certificate\n", fp);
    fclose(fp);
    cr_assert_eq(pki_ensure_standalone(dir, URL, NULL), 0);
    fingerprint(dir, PKI_CA_CERT, ca2);
    cr_assert_str_eq(ca1, ca2);
    X509 *ca = load_cert(dir, PKI_CA_CERT), *srv = load_cert(dir, PKI_SERVING_CERT);
    cr_assert_eq(X509_verify(srv, X509_get0_pubkey(ca)), 1);
    X509_free(ca);
    X509_free(srv);
    free(path);
    free(dir);
}

Test(pki, missing_ca_key_replaces_the_ca_and_reissues_the_leaves)
{
    char *dir = standalone_dir();
    char ca1[65], ca2[65];
    fingerprint(dir, PKI_CA_CERT, ca1);
    char *key = pki_path(dir, PKI_CA_KEY);
    cr_assert_eq(unlink(key), 0);
    cr_assert_eq(pki_ensure_standalone(dir, URL, NULL), 0);
    fingerprint(dir, PKI_CA_CERT, ca2);
    cr_assert_str_neq(ca1, ca2);
    X509 *ca = load_cert(dir, PKI_CA_CERT);
    X509 *srv = load_cert(dir, PKI_SERVING_CERT), *adm = load_cert(dir, PKI_ADMIN_CERT);
    cr_assert_eq(X509_verify(srv, X509_get0_pubkey(ca)), 1);
    cr_assert_eq(X509_verify(adm, X509_get0_pubkey(ca)), 1);
    X509_free(ca);
    X509_free(srv);
    X509_free(adm);
    free(key);
    free(dir);
}

Test(pki, kubeconfig_is_accepted_by_kubectl_and_embeds_the_pems)
{
    char *dir = standalone_dir();
    char *kc = xasprintf("%s/" PKI_KUBECONFIG, dir);
    char *ctx = kubectl_jsonpath(kc, "{.current-context}");
    cr_assert_str_eq(ctx, PKI_KUBECONFIG_CONTEXT);
    char *wiring = kubectl_jsonpath(kc, "{.contexts[0].name}/{.contexts[0].context.cluster}/"
                                        "{.contexts[0].context.user}/{.clusters[0].name}/"
                                        "{.users[0].name}");
    cr_assert_str_eq(wiring, "foo/foo/foo-admin/foo/foo-admin");
    char *server = kubectl_jsonpath(kc, "{.clusters[0].cluster.server}");
    cr_assert_str_eq(server, URL);

    char *ca = kubectl_jsonpath(kc, "{.clusters[0].cluster.certificate-authority-data}");
    char *crt = kubectl_jsonpath(kc, "{.users[0].user.client-certificate-data}");
    char *key = kubectl_jsonpath(kc, "{.users[0].user.client-key-data}");
    char *ca_path = pki_path(dir, PKI_CA_CERT), *crt_path = pki_path(dir, PKI_ADMIN_CERT);
    char *key_path = pki_path(dir, PKI_ADMIN_KEY);
    assert_b64_is_file(ca, ca_path);
    assert_b64_is_file(crt, crt_path);
    assert_b64_is_file(key, key_path);
    free(ca_path), free(crt_path), free(key_path);
    free(ca), free(crt), free(key), free(server), free(wiring), free(ctx);
    free(kc);
    free(dir);
}

Test(pki, kubeconfig_is_rewritten_with_a_new_server_url)
{
    char *dir = standalone_dir();
    char ca1[65], ca2[65];
    fingerprint(dir, PKI_CA_CERT, ca1);
    cr_assert_eq(pki_ensure_standalone(dir, "https://localhost:10443", NULL), 0);
    fingerprint(dir, PKI_CA_CERT, ca2);
    cr_assert_str_eq(ca1, ca2);
    char *kc = xasprintf("%s/" PKI_KUBECONFIG, dir);
    char *server = kubectl_jsonpath(kc, "{.clusters[0].cluster.server}");
    cr_assert_str_eq(server, "https://localhost:10443");
    free(server);
    free(kc);
    free(dir);
}

Test(pki, serving_cert_has_the_sans_and_server_auth)
{
    char *dir = standalone_dir();
    X509 *srv = load_cert(dir, PKI_SERVING_CERT);
    const char *dns[] = {"localhost", "foo-apiserver", "foo-apiserver.foo-system.svc"};
    for (int i = 0; i < 3; i++)
        cr_assert_eq(X509_check_host(srv, dns[i], 0, X509_CHECK_FLAG_NO_WILDCARDS, NULL), 1,
                     "missing DNS SAN %s", dns[i]);
    cr_assert_eq(X509_check_ip_asc(srv, "127.0.0.1", 0), 1);
    cr_assert_eq(X509_check_ip_asc(srv, "::1", 0), 1);
    cr_assert_eq(X509_check_host(srv, "example.com", 0, 0, NULL), 0);
    cr_assert(X509_get_extension_flags(srv) & EXFLAG_XKUSAGE);
    cr_assert_eq(X509_get_extended_key_usage(srv), XKU_SSL_SERVER);
    cr_assert_eq(X509_check_purpose(srv, X509_PURPOSE_SSL_SERVER, 0), 1);
    cr_assert_eq(X509_check_ca(srv), 0);
    char cn[64];
    subject_entry(srv, NID_commonName, 0, cn, sizeof cn);
    cr_assert_str_eq(cn, "foo-apiserver");
    X509_free(srv);
    free(dir);
}

Test(pki, serving_cert_covers_the_host_of_the_server_url)
{
    char *dir = under_root("data");
    cr_assert_eq(pki_ensure_standalone(dir, "https://Dev.Example:9443/", NULL), 0);
    X509 *srv = load_cert(dir, PKI_SERVING_CERT);
    cr_assert_eq(X509_check_host(srv, "dev.example", 0, X509_CHECK_FLAG_NO_WILDCARDS, NULL), 1);
    X509_free(srv);
    cr_assert_eq(pki_ensure_standalone(dir, "https://[fd00::5]:9443", NULL), 0);
    srv = load_cert(dir, PKI_SERVING_CERT);
    cr_assert_eq(X509_check_ip_asc(srv, "fd00::5", 0), 1, "a new host re-issues the cert");
    cr_assert_eq(X509_check_ip_asc(srv, "127.0.0.1", 0), 1);
    X509_free(srv);
    free(dir);
}

Test(pki, ca_is_a_ten_year_certificate_authority)
{
    char *dir = standalone_dir();
    X509 *ca = load_cert(dir, PKI_CA_CERT);
    cr_assert_eq(X509_check_ca(ca), 1);
    cr_assert(X509_get_key_usage(ca) & KU_KEY_CERT_SIGN);
    cr_assert_eq(X509_check_issued(ca, ca), X509_V_OK, "self-signed");
    char cn[64];
    subject_entry(ca, NID_commonName, 0, cn, sizeof cn);
    cr_assert_str_eq(cn, "foo-ca");
    int days = 0, secs = 0;
    cr_assert_eq(ASN1_TIME_diff(&days, &secs, X509_get0_notBefore(ca), X509_get0_notAfter(ca)), 1);
    cr_assert(days >= 3650 && days <= 3651, "CA valid for %d days", days);
    X509_free(ca);
    free(dir);
}

Test(pki, keys_are_ec_p256)
{
    char *dir = standalone_dir();
    const char *keys[] = {PKI_CA_KEY, PKI_SERVING_KEY, PKI_ADMIN_KEY};
    for (int i = 0; i < 3; i++) {
        EVP_PKEY *k = load_key(dir, keys[i]);
        cr_assert_eq(EVP_PKEY_get_base_id(k), EVP_PKEY_EC, "%s", keys[i]);
        char group[64];
        size_t n = 0;
        cr_assert_eq(EVP_PKEY_get_group_name(k, group, sizeof group, &n), 1);
        cr_assert_str_eq(group, "prime256v1");
        EVP_PKEY_free(k);
    }
    free(dir);
}

Test(pki, admin_cert_is_a_client_cert_in_system_masters)
{
    char *dir = standalone_dir();
    X509 *adm = load_cert(dir, PKI_ADMIN_CERT);
    char cn[64], o[64];
    subject_entry(adm, NID_commonName, 0, cn, sizeof cn);
    subject_entry(adm, NID_organizationName, 0, o, sizeof o);
    cr_assert_str_eq(cn, "admin");
    cr_assert_str_eq(o, "system:masters");
    cr_assert_eq(X509_get_extended_key_usage(adm), XKU_SSL_CLIENT);
    cr_assert_eq(X509_check_purpose(adm, X509_PURPOSE_SSL_CLIENT, 0), 1);
    X509_free(adm);
    free(dir);
}

Test(pki, issued_client_cert_is_signed_by_the_ca_with_every_org)
{
    char *dir = standalone_dir();
    char *crt = under_root("alice.crt"), *key = under_root("alice.key");
    const char *orgs[] = {"dev", "ops"};
    cr_assert_eq(pki_issue_client_cert(dir, "alice", orgs, 2, crt, key, NULL), 0);
    cr_assert_eq(mode_of(key), 0600);
    FILE *fp = fopen(crt, "r");
    cr_assert_not_null(fp);
    X509 *x = PEM_read_X509(fp, NULL, NULL, NULL);
    fclose(fp);
    cr_assert_not_null(x);
    X509 *ca = load_cert(dir, PKI_CA_CERT);
    cr_assert_eq(X509_verify(x, X509_get0_pubkey(ca)), 1);
    char cn[64], o1[64], o2[64];
    subject_entry(x, NID_commonName, 0, cn, sizeof cn);
    subject_entry(x, NID_organizationName, 0, o1, sizeof o1);
    subject_entry(x, NID_organizationName, 1, o2, sizeof o2);
    cr_assert_str_eq(cn, "alice");
    cr_assert_str_eq(o1, "dev");
    cr_assert_str_eq(o2, "ops");
    X509_free(x);
    X509_free(ca);
    free(crt);
    free(key);
    free(dir);
}

Test(pki, issuing_a_client_cert_without_a_ca_fails_with_enoent)
{
    char *dir = under_root("empty");
    char *crt = under_root("x.crt"), *key = under_root("x.key");
    api_error err = API_ERROR_INIT;
    cr_assert_eq(pki_issue_client_cert(dir, "bob", NULL, 0, crt, key, &err), -ENOENT);
    cr_assert_eq(err.code, 500);
    cr_assert(strstr(err.message, "pki: no valid CA at "), "%s", err.message);
    apierr_clear(&err);
    cr_assert_eq(access(crt, F_OK), -1);
    free(crt);
    free(key);
    free(dir);
}

Test(pki, server_url_that_is_not_https_is_rejected_with_a_message)
{
    char *dir = under_root("data");
    api_error err = API_ERROR_INIT;
    cr_assert_eq(pki_ensure_standalone(dir, "http://127.0.0.1:9443", &err), -EINVAL);
    cr_assert_eq(err.code, 500);
    cr_assert_not_null(strstr(err.message, "http://127.0.0.1:9443"), "%s", err.message);
    cr_assert_eq(access(dir, F_OK), -1, "nothing is created");
    apierr_clear(&err);
    free(dir);
}

Test(pki, data_dir_that_is_a_file_is_an_error)
{
    char *dir = under_root("file");
    FILE *fp = fopen(dir, "w");
    cr_assert_not_null(fp);
    fclose(fp);
    api_error err = API_ERROR_INIT;
    cr_assert_eq(pki_ensure_standalone(dir, URL, &err), -ENOTDIR);
    cr_assert_not_null(strstr(err.message, "not a directory"), "%s", err.message);
    apierr_clear(&err);
    free(dir);
}

/* Replicas started together on one data directory (issue 10): each child process runs the whole
   standalone setup at once; afterwards there is one CA whose key matches its certificate and
   which signed both leaves (without the lock, one replica's CA renamed over another's key). */
static void check_one_consistent_ca(const char *dir)
{
    X509 *ca = load_cert(dir, PKI_CA_CERT);
    EVP_PKEY *ca_key = load_key(dir, PKI_CA_KEY);
    cr_expect_eq(X509_check_private_key(ca, ca_key), 1, "the CA key is not the CA's");
    X509 *srv = load_cert(dir, PKI_SERVING_CERT), *adm = load_cert(dir, PKI_ADMIN_CERT);
    cr_expect_eq(X509_verify(srv, X509_get0_pubkey(ca)), 1);
    cr_expect_eq(X509_verify(adm, X509_get0_pubkey(ca)), 1);
    EVP_PKEY *srv_key = load_key(dir, PKI_SERVING_KEY);
    cr_expect_eq(X509_check_private_key(srv, srv_key), 1);
    EVP_PKEY_free(srv_key);
    EVP_PKEY_free(ca_key);
    X509_free(ca);
    X509_free(srv);
    X509_free(adm);
}

Test(pki, replicas_starting_together_end_with_one_consistent_ca)
{
    enum { ROUNDS = 5, REPLICAS = 8 };
    for (int round = 0; round < ROUNDS; round++) {
        char name[32];
        snprintf(name, sizeof name, "shared%d", round);
        char *dir = under_root(name);
        pid_t pids[REPLICAS];
        for (int i = 0; i < REPLICAS; i++) {
            pids[i] = fork();
            cr_assert_geq(pids[i], 0);
            if (pids[i] == 0)
                _exit(pki_ensure_standalone(dir, URL, NULL) == 0 ? 0 : 1);
        }
        for (int i = 0; i < REPLICAS; i++) {
            int status = 0;
            cr_assert_eq(waitpid(pids[i], &status, 0), pids[i]);
            cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "replica %d failed", i);
        }
        check_one_consistent_ca(dir);
        free(dir);
    }
}

/*
 * pki.h - the certificates and kubeconfig of `foo-apiserver --standalone` (docs/design.md §3).
 *
 * pki_ensure_standalone() makes DATA/pki/ hold a CA, a serving certificate and an admin client
 * certificate, creating each only when it is missing or no longer valid (a CA is never replaced
 * while it is valid, so kubeconfigs handed out earlier keep working), and rewrites DATA/kubeconfig
 * on every call because the server URL may change between runs.
 *
 * Keys are EC P-256 in PKCS#8 PEM, mode 0600; certificates are PEM, mode 0644; the pki directory
 * and a data directory we create are 0700. Every file is written atomically (temp file, fsync,
 * rename), so a crash leaves either the old or the new file, never a torn one.
 *
 * Errors (docs/design.md §4.8): functions return 0 or a negative errno-style code (-EINVAL bad
 * argument, -EIO OpenSSL or file content failure, or the errno of a failed system call) and, when
 * err is non-NULL, fill *err (clear on entry) with a 500 InternalError whose message says what
 * failed: the first failure, so the root cause. They log only progress and warnings; the caller
 * reports the error.
 * Thread-safety: none needed; call from main() before the server starts. Processes running
 * pki_ensure_standalone() on one data directory at once (replicas on one etcd sharing --data-dir)
 * take turns on DATA/pki/.lock (flock): the first creates the CA and leaves, the others load them.
 */
#ifndef FOO_APISERVER_PKI_H
#define FOO_APISERVER_PKI_H

#include "common/apierr.h"

/* File names under DATA/ (contract: scripts and tests use these paths). */
#define PKI_DIR          "pki"
#define PKI_CA_CERT      "ca.crt"
#define PKI_CA_KEY       "ca.key"
#define PKI_SERVING_CERT "serving.crt"
#define PKI_SERVING_KEY  "serving.key"
#define PKI_ADMIN_CERT   "admin.crt"
#define PKI_ADMIN_KEY    "admin.key"
#define PKI_KUBECONFIG   "kubeconfig"

/* Names written into the kubeconfig. */
#define PKI_KUBECONFIG_CLUSTER "foo"
#define PKI_KUBECONFIG_USER    "foo-admin"
#define PKI_KUBECONFIG_CONTEXT "foo"

/* Identities of the generated certificates. */
#define PKI_CA_CN       "foo-ca"
#define PKI_SERVING_CN  "foo-apiserver"
#define PKI_ADMIN_CN    "admin"
#define PKI_ADMIN_GROUP "system:masters"

/*
 * Returns "DATA/pki/<file>" (file is one of the PKI_* names above). Caller frees.
 */
char *pki_path(const char *data_dir, const char *file);

/*
 * Ensures the standalone PKI under data_dir and writes data_dir/kubeconfig for server_url.
 *
 * - data_dir is created (mode 0700, parents too) when missing; DATA/pki is created 0700.
 * - ca.crt/ca.key (CN foo-ca, 10 years, CA:TRUE, keyCertSign) are kept when they parse, match
 *   and are not expired; otherwise a new CA is made and both leaf certificates are re-issued.
 * - serving.crt/key (CN foo-apiserver, serverAuth, 3 years; SANs localhost, 127.0.0.1, ::1,
 *   foo-apiserver, foo-apiserver.foo-system.svc, plus the host of server_url) and
 *   admin.crt/key (CN admin, O system:masters, clientAuth, 3 years) are kept when they parse,
 *   match their key, are signed by the CA, expire in more than 30 days and (serving) cover every
 *   required name; otherwise they are re-issued. An unreadable file (other than missing) is an
 *   error rather than a reason to overwrite it.
 * - kubeconfig (mode 0600): cluster "foo" (server, certificate-authority-data), user "foo-admin"
 *   (client-certificate-data, client-key-data: base64 of the PEM files), context "foo",
 *   current-context "foo". Rewritten on every call.
 *
 * server_url must be an absolute https URL such as "https://127.0.0.1:9443".
 * Returns 0, or a negative errno-style code with *err filled as above (err may be NULL).
 */
int pki_ensure_standalone(const char *data_dir, const char *server_url, api_error *err);

/*
 * Issues a client certificate signed by the CA in data_dir/pki: subject O=orgs[0..n-1], CN=cn,
 * EKU clientAuth, 3 years, fresh EC P-256 key. Writes out_crt (0644) and out_key (0600)
 * atomically. orgs may be NULL when n == 0. The CA must exist (pki_ensure_standalone first).
 * Returns 0, -EINVAL (empty cn, n < 0), -ENOENT (no CA), -EIO, or another negative errno, with
 * *err filled as above (err may be NULL).
 */
int pki_issue_client_cert(const char *data_dir, const char *cn, const char **orgs, int n,
                          const char *out_crt, const char *out_key, api_error *err);

#endif

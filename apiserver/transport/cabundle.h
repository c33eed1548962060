/*
 * cabundle.h - a bundle of trusted CA certificates (PEM) and the chain verification done against
 * it, shared by the client-certificate and front-proxy authenticators (authn.h).
 *
 * As Go's CertPool: every certificate of the bundle is a trust anchor, self-signed or not
 * (partial chains allowed). A bundle is read-only once loaded: verifying is thread-safe.
 */
#ifndef FOO_APISERVER_CABUNDLE_H
#define FOO_APISERVER_CABUNDLE_H

#include "common/apierr.h"
#include "common/clock.h"

#include <openssl/x509.h>
#include <stddef.h>

typedef struct ca_bundle {
    X509_STORE *store;           /* NULL: empty (nothing loaded) */
    STACK_OF(X509_NAME) * names; /* subjects of the certificates, in bundle order */
} ca_bundle;

/*
 * Loads every certificate of the PEM bundle in pem[0, len) (len 0 = strlen) into *b (zeroed
 * before). `what` names the bundle in messages ("client CA file /x", "ConfigMap key
 * client-ca-file"). Returns 0, or -EINVAL with err (may be NULL) a 500 InternalError naming
 * what and the certificate that is wrong; no certificate at all is an error too. *b is
 * left empty on failure.
 */
int ca_bundle_load_pem(ca_bundle *b, const char *pem, size_t len, const char *what, api_error *err);

/* ca_bundle_load_pem on the contents of a file; messages start with "<kind> <path>" (kind: "client
   CA file"). -ENOENT / -EIO when it cannot be read. */
int ca_bundle_load_file(ca_bundle *b, const char *kind, const char *path, api_error *err);

/* Frees what b holds and zeroes it. */
void ca_bundle_clear(ca_bundle *b);

/*
 * Verifies leaf (with chain, the peer's other certificates, as untrusted intermediates; may be
 * NULL) against b for TLS client use (EKU clientAuth) at clock's wall time. Returns NULL when it
 * verifies, else a static reason (OpenSSL's). Thread-safe.
 */
const char *ca_bundle_verify(const ca_bundle *b, clk_t *clock, X509 *leaf, STACK_OF(X509) * chain);

#endif

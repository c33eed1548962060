/*
 * front_proxy.h - front-proxy (request-header) authentication, one step of authn's chain
 * (authn.h, docs/api.md §9.7): kube-apiserver forwards a request with its proxy client
 * certificate and names the user in X-Remote-* header lines.
 *
 * Rules (k8s.io/apiserver's x509 request-header verifier and requestheader authenticator):
 *   - the peer certificate must verify against the front proxy's CA bundle for client use;
 *   - when allowed names are set, its CN must be one of them, else the certificate is an error
 *     (401 unless another authenticator succeeds);
 *   - user = the first non-empty value among the username headers, in the order configured (none:
 *     the step declines); groups = every line of every group header, in order, never split on
 *     commas; uid = first non-empty uid header; extra = for each header whose name starts with an
 *     extra prefix (any case): key = the rest of the name, lower-cased, then %-unescaped (a key
 *     that does not unescape is kept as sent), one value per line;
 *   - system:authenticated is added.
 * A front_proxy is read-only once built: thread-safe.
 */
#ifndef FOO_APISERVER_FRONT_PROXY_H
#define FOO_APISERVER_FRONT_PROXY_H

#include "apiserver/transport/authn.h"
#include "apiserver/transport/cabundle.h"

typedef struct front_proxy front_proxy;

/*
 * Builds the step from o. Returns 0 with *out (NULL when o names no CA: no front proxy), or
 * -EINVAL / -ENOENT / -EIO with err set when the CA bundle cannot be loaded.
 */
int front_proxy_new(const authn_front_proxy_options *o, front_proxy **out, api_error *err);
void front_proxy_free(front_proxy *fp);

/* The proxy's CA bundle (its subjects are advertised in handshakes). */
const ca_bundle *front_proxy_cas(const front_proxy *fp);

/*
 * Classifies a peer certificate: 1 = a proxy certificate with an allowed CN, 0 = not a proxy
 * certificate (it does not verify against the proxy CAs), -EACCES = it verifies but its CN is not
 * allowed (logged at -v 2).
 */
int front_proxy_check_cert(const front_proxy *fp, clk_t *clock, X509 *leaf, STACK_OF(X509) * chain);

/*
 * The user the head's X-Remote-* lines name (rules above). Returns 0 with *out (caller frees),
 * or -ENOENT when no username header has a value.
 */
int front_proxy_user(const front_proxy *fp, const headrec_head *head, authn_user **out);

#endif

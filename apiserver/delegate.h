/*
 * delegate.h - wiring of a delegated server (without --standalone; docs/api.md §9.7): the
 * clients that reach kube-apiserver, the authentication chain built from the flags and the
 * kube-system/extension-apiserver-authentication ConfigMap (rebuilt whenever it changes), and
 * delegated authorization (rest/authorize.h). Private to apiserver/.
 */
#ifndef FOO_APISERVER_DELEGATE_H
#define FOO_APISERVER_DELEGATE_H

#include "apiserver/apiserver.h"
#include "apiserver/transport/authn.h"

#include <stdbool.h>

typedef struct as_delegate as_delegate;

/*
 * Loads the kubeconfigs (--authentication-kubeconfig, --authorization-kubeconfig; in-cluster
 * when not given) and builds the first authentication chain from the flags alone (*auth; the
 * ConfigMap's CAs join it once read). Returns 0 with *out and *auth, or -1 (logged).
 */
int as_delegate_new(const as_options *o, clk_t *clock, as_delegate **out, authn **auth);

/*
 * Starts the reviews' workers (srv->delegation) and, unless --authentication-skip-lookup or
 * both CAs came from flags, the ConfigMap watcher, which hands each new chain to the transport
 * (as_http_set_auth). Call once the transport runs. Returns 0 or -1 (logged).
 */
int as_delegate_start(as_delegate *d, struct as_server *srv);

/* Whether the authentication configuration is complete (the ConfigMap read once, when it is
   read at all): /readyz's check. Never blocks. */
bool as_delegate_loaded(const as_delegate *d);

/* Stops the watcher and the workers, then frees d. Before the transport is freed. NULL is a
   no-op. */
void as_delegate_free(as_delegate *d, struct as_server *srv);

#endif

/*
 * namespaces.h - namespaces as kube-apiserver's NamespaceLifecycle admission keeps them, for a
 * server that serves the v1 namespaces kind (--standalone; docs/api.md §5.7): the four system
 * namespaces exist from the start and cannot be deleted; nothing is created in a namespace that
 * does not exist or is terminating; a namespace that still holds objects cannot be deleted (no
 * namespace controller runs here to empty it). Without a namespaces kind every check passes.
 */
#ifndef FOO_APISERVER_REST_NAMESPACES_H
#define FOO_APISERVER_REST_NAMESPACES_H

#include "apiserver/resource/rules.h"
#include "apiserver/rest/server.h"

/*
 * Admission of a computed write (OUT_WRITE of the rules): true to go on, or false with e set:
 * 404 NotFound `namespaces "x" not found` for a create in a missing namespace, 403 Forbidden
 * for a create in a terminating one or the delete of a system namespace, 409 Conflict for the
 * delete of a namespace that still holds objects (the message names what it holds). Reads the
 * watch caches only: thread-safe.
 */
bool as_namespace_admit(const as_server *srv, const as_write_intent *in, api_error *e);

/*
 * Creates the system namespaces (default, kube-system, kube-public, kube-node-lease) that are
 * missing, through the same create rules as a request, and waits for each write. Call once the
 * store runs and before the listener starts. Returns 0, or a negative code with *err (must not be
 * NULL) a 500 InternalError naming the namespace and what failed (docs/design.md §4.8).
 */
int as_namespaces_bootstrap(as_server *srv, api_error *err);

#endif

/*
 * health.h - /healthz, /livez, /readyz in kube-apiserver's format (docs/api.md §9.4).
 * Service thread only.
 */
#ifndef FOO_APISERVER_HEALTH_H
#define FOO_APISERVER_HEALTH_H

#include "apiserver/http.h"

#include <stdbool.h>

/* Answers the request and returns true if its path is a health endpoint. */
bool as_health_handles(as_req *req);

#endif

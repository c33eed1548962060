/*
 * health.h - /healthz, /livez, /readyz in kube-apiserver's format (docs/api.md §9.4).
 * Service thread only.
 */
#ifndef FOO_APISERVER_HEALTH_H
#define FOO_APISERVER_HEALTH_H

#include "apiserver/transport/http.h"

#include <stdbool.h>

/* Answers the request and returns true if its path is a health endpoint. */
bool as_health_handles(as_req *req);

/* Whether path is one of the health endpoints (answered to anonymous users, and still served
   on a kept-alive connection while the server drains). */
bool as_health_path(const char *path);

#endif

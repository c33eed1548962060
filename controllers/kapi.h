/*
 * kapi.h - how the controllers reach the API server: one function that makes a REST call with a
 * JSON body and returns the parsed answer. The real one goes through client/rest.h
 * (kc_request_json); unit tests plug in a small in-memory double. Everything in controllers/
 * that writes to the server (reconcile, events, leader election) takes a ctl_kapi, so each can be
 * tested without a server.
 */
#ifndef FOO_CONTROLLERS_KAPI_H
#define FOO_CONTROLLERS_KAPI_H

#include "client/rest.h"
#include "common/apierr.h"

#include <cjson/cJSON.h>

typedef struct ctl_kapi {
    /*
     * One call with kc_request_json's contract (client/rest.h): method "GET", "POST", "PUT",
     * "PATCH" or "DELETE"; path absolute with any query; body may be NULL (serialized by the
     * callee); content_type NULL = application/json. Returns 0 on a 2xx answer with *out the
     * parsed body (caller frees; out may be NULL when the body is not wanted), else a negative
     * code with *err filled (err->code = the HTTP status of an API error, 0 for a transport
     * failure). Must be thread-safe: workers call it concurrently.
     */
    int (*call)(void *ctx, const char *method, const char *path, const char *content_type,
                const cJSON *body, cJSON **out, api_error *err);
    void *ctx;
} ctl_kapi;

/* The real seam over a REST client (borrowed; it must outlive every use of the result). */
ctl_kapi ctl_kapi_client(kc_client *c);

#endif

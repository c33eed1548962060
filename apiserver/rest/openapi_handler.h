/*
 * openapi_handler.h - HTTP handlers of the OpenAPI endpoints (private to apiserver/).
 * as_openapi_new() computes hashes once at startup; handlers run on the service thread.
 */
#ifndef FOO_APISERVER_OPENAPI_HANDLER_H
#define FOO_APISERVER_OPENAPI_HANDLER_H

#include "apiserver/transport/http.h"

typedef struct as_openapi as_openapi;

/* Computes the documents' hashes and the v3 index once. Free with as_openapi_free. */
as_openapi *as_openapi_new(void);
/* NULL is a no-op. */
void as_openapi_free(as_openapi *o);
void as_openapi_v2(as_req *req);       /* GET /openapi/v2 */
void as_openapi_v3_index(as_req *req); /* GET /openapi/v3 */
void as_openapi_v3_group(as_req *req); /* GET /openapi/v3/apis/G/V */

#endif

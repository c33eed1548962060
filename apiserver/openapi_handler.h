/*
 * openapi_handler.h - HTTP handlers of the OpenAPI endpoints (private to apiserver/).
 * as_openapi_init() computes hashes once at startup; handlers run on the service thread.
 */
#ifndef FOO_APISERVER_OPENAPI_HANDLER_H
#define FOO_APISERVER_OPENAPI_HANDLER_H

#include "apiserver/http.h"

void as_openapi_init(void);
void as_openapi_free(void);
void as_openapi_v2(as_req *req);       /* GET /openapi/v2 */
void as_openapi_v3_index(as_req *req); /* GET /openapi/v3 */
void as_openapi_v3_group(as_req *req); /* GET /openapi/v3/apis/G/V */

#endif

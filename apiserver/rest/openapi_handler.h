/*
 * openapi_handler.h - the OpenAPI endpoints (private to apiserver/). as_openapi_new() renders every
 * document of the registry's kinds once at startup (api/openapi.h) and computes their hashes;
 * the handlers run on the service thread and only read.
 */
#ifndef FOO_APISERVER_OPENAPI_HANDLER_H
#define FOO_APISERVER_OPENAPI_HANDLER_H

#include "apiserver/resource/registry.h"
#include "apiserver/transport/http.h"

typedef struct as_openapi as_openapi;

/* Renders the v2 document, one v3 document per group-version and the v3 index. The registry is
   only read during the call. Free with as_openapi_free. */
as_openapi *as_openapi_new(const as_registry *reg);
/* NULL is a no-op. */
void as_openapi_free(as_openapi *o);
void as_openapi_v2(as_req *req);       /* GET /openapi/v2 */
void as_openapi_v3_index(as_req *req); /* GET /openapi/v3 */
/* GET /openapi/v3/<gv_path>, gv_path being "api/v1" or "apis/G/V"; 404 for any other. */
void as_openapi_v3_group(as_req *req, const char *gv_path);

#endif

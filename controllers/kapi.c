#include "controllers/kapi.h"

static int client_call(void *ctx, const char *method, const char *path, const char *content_type,
                       const cJSON *body, cJSON **out, api_error *err)
{
    cJSON *ignored = NULL;
    int rc = kc_request_json(ctx, method, path, body, content_type, out ? out : &ignored, err);
    cJSON_Delete(ignored);
    return rc;
}

ctl_kapi ctl_kapi_client(kc_client *c)
{
    return (ctl_kapi){.call = client_call, .ctx = c};
}

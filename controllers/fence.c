/*
 * fence.c - the leader fence over a ctl_kapi (fence.h).
 */
#include "controllers/fence.h"

#include <errno.h>
#include <string.h>

static int fenced_call(void *ctx, const char *method, const char *path, const char *content_type,
                       const cJSON *body, cJSON **out, api_error *err)
{
    ctl_fence *f = ctx;
    if (strcmp(method, "GET") != 0 && !f->allowed(f->allowed_ctx)) {
        if (out)
            *out = NULL;
        if (err)
            apierr_set(err, 0, CTL_FENCE_REASON,
                       "%s %s: not sent: this manager is not the leader (fenced)", method, path);
        return -EPERM;
    }
    return f->inner.call(f->inner.ctx, method, path, content_type, body, out, err);
}

ctl_kapi ctl_fence_kapi(ctl_fence *f)
{
    return (ctl_kapi){.call = fenced_call, .ctx = f};
}

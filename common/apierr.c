#include "common/apierr.h"
#include "common/alloc.h"
#include "common/sbuf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static char *vformat(const char *fmt, va_list ap)
{
    sbuf sb = SBUF_INIT;
    sbuf_vprintf(&sb, fmt, ap);
    return sbuf_detach(&sb, NULL);
}

void apierr_clear(api_error *e)
{
    free(e->reason);
    free(e->message);
    free(e->name);
    free(e->group);
    free(e->kind);
    free(e->uid);
    cJSON_Delete(e->causes);
    memset(e, 0, sizeof *e);
}

void apierr_move(api_error *dst, api_error *src)
{
    apierr_clear(dst);
    *dst = *src;
    memset(src, 0, sizeof *src);
}

void apierr_set(api_error *e, int code, const char *reason, const char *fmt, ...)
{
    if (!e)
        return;
    cJSON *causes = e->causes;
    e->causes = NULL;
    apierr_clear(e);
    e->causes = causes;
    e->code = code;
    e->reason = xstrdup(reason);
    va_list ap;
    va_start(ap, fmt);
    e->message = vformat(fmt, ap);
    va_end(ap);
}

static void replace(char **slot, const char *v)
{
    free(*slot);
    *slot = v ? xstrdup(v) : NULL;
}

void apierr_details(api_error *e, const char *name, const char *group, const char *kind)
{
    replace(&e->name, name);
    replace(&e->group, group);
    replace(&e->kind, kind);
}

void apierr_add_cause(api_error *e, const char *reason, const char *field, const char *fmt, ...)
{
    if (!e->causes)
        e->causes = cJSON_CreateArray();
    va_list ap;
    va_start(ap, fmt);
    char *msg = vformat(fmt, ap);
    va_end(ap);
    cJSON *c = cJSON_CreateObject();
    cJSON_AddStringToObject(c, "reason", reason);
    cJSON_AddStringToObject(c, "message", msg);
    cJSON_AddStringToObject(c, "field", field);
    cJSON_AddItemToArray(e->causes, c);
    free(msg);
}

int apierr_cause_count(const api_error *e)
{
    return e->causes ? cJSON_GetArraySize(e->causes) : 0;
}

/* kube's qualified names: "foos.demo.example.com", or "namespaces" in the core group (three
   printf arguments for "%s%s%s"). */
#define QUALIFIED(resource, group) resource, *(group) ? "." : "", group

bool apierr_finish_invalid(api_error *e, const char *kind, const char *group, const char *name)
{
    if (apierr_cause_count(e) == 0)
        return false;
    sbuf sb = SBUF_INIT;
    sbuf_printf(&sb, "%s%s%s \"%s\" is invalid: ", QUALIFIED(kind, group), name ? name : "");
    const cJSON *c;
    bool first = true;
    if (apierr_cause_count(e) > 1)
        sbuf_putc(&sb, '[');
    cJSON_ArrayForEach(c, e->causes)
    {
        const char *field = cJSON_GetStringValue(cJSON_GetObjectItem(c, "field"));
        const char *msg = cJSON_GetStringValue(cJSON_GetObjectItem(c, "message"));
        sbuf_printf(&sb, "%s%s: %s", first ? "" : ", ", field ? field : "", msg ? msg : "");
        first = false;
    }
    if (apierr_cause_count(e) > 1)
        sbuf_putc(&sb, ']');
    apierr_set(e, 422, "Invalid", "%s", sb.data);
    sbuf_free(&sb);
    apierr_details(e, name, group, kind);
    return true;
}

void apierr_not_found(api_error *e, const char *resource, const char *group, const char *name)
{
    apierr_set(e, 404, "NotFound", "%s%s%s \"%s\" not found", QUALIFIED(resource, group), name);
    apierr_details(e, name, group, resource);
}

void apierr_already_exists(api_error *e, const char *resource, const char *group, const char *name)
{
    apierr_set(e, 409, "AlreadyExists", "%s%s%s \"%s\" already exists", QUALIFIED(resource, group),
               name);
    apierr_details(e, name, group, resource);
}

void apierr_conflict(api_error *e, const char *resource, const char *group, const char *name,
                     const char *why)
{
    apierr_set(e, 409, "Conflict", "Operation cannot be fulfilled on %s%s%s \"%s\": %s",
               QUALIFIED(resource, group), name, why);
    apierr_details(e, name, group, resource);
}

void apierr_bad_request(api_error *e, const char *fmt, ...)
{
    if (!e)
        return;
    va_list ap;
    va_start(ap, fmt);
    char *msg = vformat(fmt, ap);
    va_end(ap);
    apierr_set(e, 400, "BadRequest", "%s", msg);
    free(msg);
}

void apierr_internal(api_error *e, const char *fmt, ...)
{
    if (!e)
        return;
    va_list ap;
    va_start(ap, fmt);
    char *msg = vformat(fmt, ap);
    va_end(ap);
    apierr_set(e, 500, "InternalError", "Internal error occurred: %s", msg);
    if (!e->causes)
        e->causes = cJSON_CreateArray();
    cJSON *c = cJSON_CreateObject();
    cJSON_AddStringToObject(c, "message", msg);
    cJSON_AddItemToArray(e->causes, c);
    free(msg);
}

char *apierr_to_status_json(const api_error *e)
{
    cJSON *s = cJSON_CreateObject();
    cJSON_AddStringToObject(s, "kind", "Status");
    cJSON_AddStringToObject(s, "apiVersion", "v1");
    cJSON_AddObjectToObject(s, "metadata");
    cJSON_AddStringToObject(s, "status", "Failure");
    cJSON_AddStringToObject(s, "message", e->message ? e->message : "");
    if (e->reason && *e->reason)
        cJSON_AddStringToObject(s, "reason", e->reason);
    if (e->name || e->group || e->kind || e->uid || e->causes || e->retry_after) {
        cJSON *d = cJSON_AddObjectToObject(s, "details");
        if (e->name)
            cJSON_AddStringToObject(d, "name", e->name);
        if (e->group)
            cJSON_AddStringToObject(d, "group", e->group);
        if (e->kind)
            cJSON_AddStringToObject(d, "kind", e->kind);
        if (e->uid)
            cJSON_AddStringToObject(d, "uid", e->uid);
        if (e->causes)
            cJSON_AddItemToObject(d, "causes", cJSON_Duplicate(e->causes, 1));
        if (e->retry_after)
            cJSON_AddNumberToObject(d, "retryAfterSeconds", e->retry_after);
    }
    cJSON_AddNumberToObject(s, "code", e->code);
    char *out = cJSON_PrintUnformatted(s);
    cJSON_Delete(s);
    return out;
}

static char *dup_string_item(const cJSON *o, const char *key)
{
    const char *v = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, key));
    return v ? xstrdup(v) : NULL;
}

void apierr_from_status_json(api_error *e, int http_code, const char *body, size_t len)
{
    apierr_clear(e);
    e->code = http_code;
    cJSON *s = body ? cJSON_ParseWithLength(body, len) : NULL;
    const char *kind = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(s, "kind"));
    if (!s || !kind || strcmp(kind, "Status") != 0) {
        e->message = xasprintf("the server responded with HTTP %d", http_code);
        cJSON_Delete(s);
        return;
    }
    e->reason = dup_string_item(s, "reason");
    e->message = dup_string_item(s, "message");
    cJSON *d = cJSON_GetObjectItemCaseSensitive(s, "details");
    if (cJSON_IsObject(d)) {
        e->name = dup_string_item(d, "name");
        e->group = dup_string_item(d, "group");
        e->kind = dup_string_item(d, "kind");
        e->uid = dup_string_item(d, "uid");
        cJSON *causes = cJSON_GetObjectItemCaseSensitive(d, "causes");
        if (cJSON_IsArray(causes))
            e->causes = cJSON_Duplicate(causes, 1);
        cJSON *ra = cJSON_GetObjectItemCaseSensitive(d, "retryAfterSeconds");
        if (cJSON_IsNumber(ra))
            e->retry_after = ra->valueint;
    }
    cJSON_Delete(s);
}

int apierr_local(api_error *e, int rc, const char *fmt, ...)
{
    if (!e)
        return rc;
    va_list ap;
    va_start(ap, fmt);
    sbuf msg = SBUF_INIT;
    sbuf_vprintf(&msg, fmt, ap);
    va_end(ap);
    if (rc == -EINVAL)
        apierr_set(e, 400, "BadRequest", "%s", msg.data ? msg.data : "");
    else
        apierr_set(e, 500, "InternalError", "%s", msg.data ? msg.data : "");
    sbuf_free(&msg);
    return rc;
}

/*
 * reqinfo.c - kube's RequestInfo for authorization (reqinfo.h).
 */
#include "apiserver/rest/reqinfo.h"

#include "common/alloc.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REQINFO_MAX_PARTS 16

/* Splits the path copy in place on '/', skipping empty segments. Returns the count (at most
   max: the rest of a longer path is not needed to classify it). */
static int split(char *p, char **parts, int max)
{
    int n = 0;
    char *save = NULL;
    for (char *s = strtok_r(p, "/", &save); s && n < max; s = strtok_r(NULL, "/", &save))
        parts[n++] = s;
    return n;
}

static const char *verb_of_method(as_method m)
{
    switch (m) {
    case AS_POST:
        return "create";
    case AS_GET:
    case AS_HEAD:
        return "get";
    case AS_PUT:
        return "update";
    case AS_PATCH:
        return "patch";
    case AS_DELETE:
        return "delete";
    default:
        return "";
    }
}

/* Go's strconv.ParseBool, true side. */
static bool parse_true(const char *v)
{
    static const char *const yes[] = {"1", "t", "T", "true", "TRUE", "True"};
    for (size_t i = 0; v && i < sizeof yes / sizeof yes[0]; i++)
        if (strcmp(v, yes[i]) == 0)
            return true;
    return false;
}

/* The name a field selector requires exactly (metadata.name=X or ==X, one of its terms), when
   X is a valid path segment name; else NULL. Returns a pointer into a copy it owns in *keep. */
static const char *selected_name(const char *sel, char **keep)
{
    *keep = NULL;
    if (!sel)
        return NULL;
    char *copy = xstrdup(sel), *save = NULL;
    for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        const char *v = NULL;
        if (strncmp(t, "metadata.name==", 15) == 0)
            v = t + 15;
        else if (strncmp(t, "metadata.name=", 14) == 0)
            v = t + 14;
        if (!v)
            continue;
        bool valid = strcmp(v, ".") != 0 && strcmp(v, "..") != 0 && !strpbrk(v, "/%");
        if (valid && *v) {
            *keep = copy;
            return v;
        }
        break;
    }
    free(copy);
    return NULL;
}

/* Fills the resource fields of ri from parts (after the version) and the method. */
static void resource_fields(const as_req *req, as_reqinfo *ri, char **parts, int n)
{
    if (strcmp(parts[0], "watch") == 0 && n >= 2) {
        snprintf(ri->verb, sizeof ri->verb, "watch");
        parts++, n--;
    } else {
        snprintf(ri->verb, sizeof ri->verb, "%s", verb_of_method(req->method));
    }
    if (strcmp(parts[0], "namespaces") == 0 && n > 1) {
        ri->namespace = parts[1];
        bool own_subresource =
            n > 2 && (strcmp(parts[2], "status") == 0 || strcmp(parts[2], "finalize") == 0);
        if (n > 2 && !own_subresource)
            parts += 2, n -= 2;
    }
    ri->resource = parts[0];
    if (n >= 2)
        ri->name = parts[1];
    if (n >= 3 && strcmp(ri->verb, "proxy") != 0)
        ri->subresource = parts[2];
}

void as_reqinfo_of(const as_req *req, as_reqinfo *out)
{
    *out = (as_reqinfo){
        .group = "", .version = "", .resource = "", .subresource = "", .name = "", .namespace = ""};
    /* Two copies of the path in one buffer: the path itself, then one split into parts. */
    size_t len = strlen(req->path);
    out->buf = xmalloc(2 * len + 2);
    memcpy(out->buf, req->path, len + 1);
    memcpy(out->buf + len + 1, req->path, len + 1);
    out->path = out->buf;
    char *parts[REQINFO_MAX_PARTS];
    int n = split(out->buf + len + 1, parts, REQINFO_MAX_PARTS);
    bool core = n >= 3 && strcmp(parts[0], "api") == 0;
    bool grouped = n >= 4 && strcmp(parts[0], "apis") == 0;
    if (!core && !grouped) {
        snprintf(out->verb, sizeof out->verb, "%s", req->method_name);
        for (char *v = out->verb; *v; v++)
            *v = (char)tolower((unsigned char)*v);
        return;
    }
    out->resource_request = true;
    if (grouped)
        out->group = parts[1];
    out->version = parts[grouped ? 2 : 1];
    int first = grouped ? 3 : 2;
    resource_fields(req, out, parts + first, n - first);
    if (*out->name == '\0' && strcmp(out->verb, "get") == 0) {
        bool watch = parse_true(as_param_get(req, "watch"));
        snprintf(out->verb, sizeof out->verb, "%s", watch ? "watch" : "list");
    }
    if (*out->name == '\0' && strcmp(out->verb, "delete") == 0)
        snprintf(out->verb, sizeof out->verb, "deletecollection");
    if (*out->name == '\0' && (strcmp(out->verb, "list") == 0 || strcmp(out->verb, "watch") == 0)) {
        const char *name = selected_name(as_param_get(req, "fieldSelector"), &out->selector);
        if (name)
            out->name = name;
    }
}

void as_reqinfo_clear(as_reqinfo *ri)
{
    free(ri->buf);
    free(ri->selector);
    memset(ri, 0, sizeof *ri);
}

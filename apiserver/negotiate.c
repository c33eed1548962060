#include "apiserver/negotiate.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* Copies [s, e) trimmed of spaces into out. */
static void trim_copy(const char *s, const char *e, char *out, int outlen)
{
    while (s < e && isspace((unsigned char)*s))
        s++;
    while (e > s && isspace((unsigned char)e[-1]))
        e--;
    int n = (int)(e - s) < outlen - 1 ? (int)(e - s) : outlen - 1;
    memcpy(out, s, (size_t)n);
    out[n] = '\0';
}

/* Value of parameter `name` in a clause's parameter list ("a=b;c=d"), or "" when absent. */
static void clause_param(const char *params, const char *name, char *out, int outlen)
{
    out[0] = '\0';
    size_t nlen = strlen(name);
    const char *p = params;
    while (p && *p) {
        const char *end = strchr(p, ';');
        if (!end)
            end = p + strlen(p);
        char kv[128];
        trim_copy(p, end, kv, sizeof kv);
        if (strncasecmp(kv, name, nlen) == 0 && kv[nlen] == '=') {
            snprintf(out, (size_t)outlen, "%s", kv + nlen + 1);
            return;
        }
        p = *end ? end + 1 : end;
    }
}

static bool meta_version(const char *g, const char *v, const char **out)
{
    if (strcmp(g, "meta.k8s.io") != 0)
        return false;
    if (strcmp(v, "v1") == 0)
        *out = "v1";
    else if (strcmp(v, "v1beta1") == 0)
        *out = "v1beta1";
    else
        return false;
    return true;
}

static as_negotiated judge_clause(const char *clause, as_response_shape shape)
{
    as_negotiated none = {AS_MEDIA_NONE, NULL}, json = {AS_MEDIA_JSON, NULL};
    const char *semi = strchr(clause, ';');
    char type[128];
    trim_copy(clause, semi ? semi : clause + strlen(clause), type, sizeof type);
    const char *params = semi ? semi + 1 : "";
    char as[64], g[64], v[32];
    clause_param(params, "as", as, sizeof as);
    clause_param(params, "g", g, sizeof g);
    clause_param(params, "v", v, sizeof v);
    if (strcasecmp(type, "*/*") == 0 || strcasecmp(type, "application/*") == 0)
        return json;
    if (strcasecmp(type, "application/json") != 0)
        return none;
    if (!*as)
        return json;
    if (shape == AS_SHAPE_DISCOVERY && strcmp(as, "APIGroupDiscoveryList") == 0 &&
        strcmp(g, "apidiscovery.k8s.io") == 0) {
        if (strcmp(v, "v2") == 0)
            return (as_negotiated){AS_MEDIA_DISCOVERY_V2, NULL};
        if (strcmp(v, "v2beta1") == 0)
            return (as_negotiated){AS_MEDIA_DISCOVERY_V2BETA1, NULL};
        return none;
    }
    bool resource = shape == AS_SHAPE_OBJECT || shape == AS_SHAPE_LIST || shape == AS_SHAPE_WATCH;
    as_negotiated out = none;
    if (!resource || !meta_version(g, v, &out.meta_version))
        return none;
    if (strcmp(as, "Table") == 0)
        out.media = AS_MEDIA_TABLE;
    else if (strcmp(as, "PartialObjectMetadata") == 0 && shape != AS_SHAPE_LIST)
        out.media = AS_MEDIA_PARTIAL;
    else if (strcmp(as, "PartialObjectMetadataList") == 0 && shape == AS_SHAPE_LIST)
        out.media = AS_MEDIA_PARTIAL_LIST;
    return out;
}

as_negotiated as_negotiate_for(const char *accept, as_response_shape shape)
{
    if (!accept || !*accept)
        return (as_negotiated){AS_MEDIA_JSON, NULL};
    const char *p = accept;
    while (*p) {
        const char *end = strchr(p, ',');
        if (!end)
            end = p + strlen(p);
        char clause[512];
        trim_copy(p, end, clause, sizeof clause);
        as_negotiated n = {AS_MEDIA_NONE, NULL};
        if (clause[0])
            n = judge_clause(clause, shape);
        if (n.media != AS_MEDIA_NONE)
            return n;
        p = *end ? end + 1 : end;
    }
    return (as_negotiated){AS_MEDIA_NONE, NULL};
}

as_media as_negotiate(const char *accept, bool discovery)
{
    return as_negotiate_for(accept, discovery ? AS_SHAPE_DISCOVERY : AS_SHAPE_PLAIN).media;
}

void as_media_type(const char *content_type, char *out, int outlen)
{
    out[0] = '\0';
    if (!content_type)
        return;
    const char *semi = strchr(content_type, ';');
    trim_copy(content_type, semi ? semi : content_type + strlen(content_type), out, outlen);
    for (char *q = out; *q; q++)
        *q = (char)tolower((unsigned char)*q);
}

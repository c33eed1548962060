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

static as_media judge_clause(const char *clause, bool discovery)
{
    const char *semi = strchr(clause, ';');
    char type[128];
    trim_copy(clause, semi ? semi : clause + strlen(clause), type, sizeof type);
    const char *params = semi ? semi + 1 : "";
    char as[64], g[64], v[32];
    clause_param(params, "as", as, sizeof as);
    clause_param(params, "g", g, sizeof g);
    clause_param(params, "v", v, sizeof v);
    if (strcasecmp(type, "*/*") == 0 || strcasecmp(type, "application/*") == 0)
        return AS_MEDIA_JSON;
    if (strcasecmp(type, "application/json") != 0)
        return AS_MEDIA_NONE;
    if (!*as)
        return AS_MEDIA_JSON;
    if (discovery && strcmp(as, "APIGroupDiscoveryList") == 0 &&
        strcmp(g, "apidiscovery.k8s.io") == 0) {
        if (strcmp(v, "v2") == 0)
            return AS_MEDIA_DISCOVERY_V2;
        if (strcmp(v, "v2beta1") == 0)
            return AS_MEDIA_DISCOVERY_V2BETA1;
    }
    return AS_MEDIA_NONE;
}

as_media as_negotiate(const char *accept, bool discovery)
{
    if (!accept || !*accept)
        return AS_MEDIA_JSON;
    const char *p = accept;
    while (*p) {
        const char *end = strchr(p, ',');
        if (!end)
            end = p + strlen(p);
        char clause[512];
        trim_copy(p, end, clause, sizeof clause);
        as_media m = clause[0] ? judge_clause(clause, discovery) : AS_MEDIA_NONE;
        if (m != AS_MEDIA_NONE)
            return m;
        p = *end ? end + 1 : end;
    }
    return AS_MEDIA_NONE;
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

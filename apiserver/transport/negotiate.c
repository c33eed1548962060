#include "apiserver/transport/negotiate.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/*
 * A piece of a header, [p, p + n): clauses and parameters are compared where they stand, never
 * copied into a fixed buffer, so a long clause or parameter is read whole rather than cut short
 * (a cut could make "as=Table;..." lose the parameters that follow).
 */
typedef struct span {
    const char *p;
    size_t n;
} span;

static span trimmed(const char *s, const char *e)
{
    while (s < e && isspace((unsigned char)*s))
        s++;
    while (e > s && isspace((unsigned char)e[-1]))
        e--;
    return (span){s, (size_t)(e - s)};
}

static bool span_is(span a, const char *b)
{
    return a.n == strlen(b) && memcmp(a.p, b, a.n) == 0;
}

static bool span_is_ci(span a, const char *b)
{
    return a.n == strlen(b) && strncasecmp(a.p, b, a.n) == 0;
}

/* Value of parameter `name` in a clause's parameters [p, end) ("a=b;c=d"); empty when absent. */
static span clause_param(const char *p, const char *end, const char *name)
{
    while (p < end) {
        const char *semi = memchr(p, ';', (size_t)(end - p));
        if (!semi)
            semi = end;
        span kv = trimmed(p, semi);
        const char *eq = memchr(kv.p, '=', kv.n);
        if (eq && span_is_ci(trimmed(kv.p, eq), name))
            return trimmed(eq + 1, kv.p + kv.n);
        p = semi + 1;
    }
    return (span){"", 0};
}

static bool meta_version(span g, span v, const char **out)
{
    if (!span_is(g, "meta.k8s.io"))
        return false;
    if (span_is(v, "v1"))
        *out = "v1";
    else if (span_is(v, "v1beta1"))
        *out = "v1beta1";
    else
        return false;
    return true;
}

static as_negotiated judge_clause(span clause, as_response_shape shape)
{
    as_negotiated none = {AS_MEDIA_NONE, NULL}, json = {AS_MEDIA_JSON, NULL};
    const char *end = clause.p + clause.n;
    const char *semi = memchr(clause.p, ';', clause.n);
    span type = trimmed(clause.p, semi ? semi : end);
    const char *params = semi ? semi + 1 : end;
    span as = clause_param(params, end, "as"), g = clause_param(params, end, "g");
    span v = clause_param(params, end, "v");
    if (span_is_ci(type, "*/*") || span_is_ci(type, "application/*"))
        return json;
    if (!span_is_ci(type, "application/json"))
        return none;
    if (!as.n)
        return json;
    if (shape == AS_SHAPE_DISCOVERY && span_is(as, "APIGroupDiscoveryList") &&
        span_is(g, "apidiscovery.k8s.io")) {
        if (span_is(v, "v2"))
            return (as_negotiated){AS_MEDIA_DISCOVERY_V2, NULL};
        if (span_is(v, "v2beta1"))
            return (as_negotiated){AS_MEDIA_DISCOVERY_V2BETA1, NULL};
        return none;
    }
    bool resource = shape == AS_SHAPE_OBJECT || shape == AS_SHAPE_LIST || shape == AS_SHAPE_WATCH;
    as_negotiated out = none;
    if (!resource || !meta_version(g, v, &out.meta_version))
        return none;
    if (span_is(as, "Table"))
        out.media = AS_MEDIA_TABLE;
    else if (span_is(as, "PartialObjectMetadata") && shape != AS_SHAPE_LIST)
        out.media = AS_MEDIA_PARTIAL;
    else if (span_is(as, "PartialObjectMetadataList") && shape == AS_SHAPE_LIST)
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
        span clause = trimmed(p, end);
        as_negotiated n = {AS_MEDIA_NONE, NULL};
        if (clause.n)
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

bool as_media_type_is(const char *content_type, const char *media)
{
    if (!content_type)
        return false;
    const char *semi = strchr(content_type, ';');
    return span_is_ci(trimmed(content_type, semi ? semi : content_type + strlen(content_type)),
                      media);
}

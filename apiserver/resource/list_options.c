#include "apiserver/resource/list_options.h"
#include "common/json.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* The parameter, or NULL when absent or empty (kube treats both alike). */
static const char *param(as_query q, const char *key)
{
    const char *v = q.get(q.src, key);
    return v && *v ? v : NULL;
}

/* Decimal digits only, as strconv.ParseUint(s, 10, 64) accepts them. */
static bool parse_u64(const char *s, uint64_t *out)
{
    if (!s || *s < '0' || *s > '9')
        return false;
    errno = 0;
    char *end = NULL;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno == ERANGE || *end != '\0')
        return false;
    *out = v;
    return true;
}

/* An optional leading '-', then decimal digits (strconv.ParseInt(s, 10, 64)). */
static bool parse_i64(const char *s, int64_t *out)
{
    const char *digits = s && *s == '-' ? s + 1 : s;
    if (!digits || *digits < '0' || *digits > '9')
        return false;
    errno = 0;
    char *end = NULL;
    long long v = strtoll(s, &end, 10);
    if (errno == ERANGE || *end != '\0')
        return false;
    *out = v;
    return true;
}

static bool bad_value(api_error *e, const char *key, const char *value, const char *want)
{
    apierr_bad_request(e, "invalid value for query parameter %s: \"%s\": %s", key, value, want);
    return false;
}

/* A boolean parameter: absent = false. */
static bool read_bool(as_query q, const char *key, bool *out, api_error *e)
{
    const char *v = param(q, key);
    *out = false;
    if (v && !json_parse_bool(v, out))
        return bad_value(e, key, v, "must be a boolean (true or false)");
    return true;
}

bool as_list_is_watch(as_query q, bool *watch, api_error *e)
{
    return read_bool(q, "watch", watch, e);
}

static bool read_numbers(as_query q, as_list_options *o, api_error *e)
{
    const char *rv = o->resource_version, *limit = param(q, "limit");
    const char *timeout = param(q, "timeoutSeconds");
    if (rv && !parse_u64(rv, &o->rv))
        return bad_value(e, "resourceVersion", rv, "must be a decimal resource version");
    if (limit) {
        int64_t n;
        if (!parse_i64(limit, &n) || n < 0)
            return bad_value(e, "limit", limit, "must be a non-negative integer");
        o->limit = (uint64_t)n;
    }
    if (timeout && (!parse_i64(timeout, &o->timeout_seconds) || o->timeout_seconds < 0))
        return bad_value(e, "timeoutSeconds", timeout, "must be a non-negative integer");
    return true;
}

/* kube's ValidateListOptions, in its words. */
static bool validate(const as_list_options *o, as_list_verb verb, api_error *e)
{
    const char *match = o->rv_match;
    bool watch = verb == AS_VERB_WATCH;
    if (match && !o->resource_version && !(watch && o->send_initial_events))
        apierr_add_cause(e, "FieldValueForbidden", "resourceVersionMatch",
                         "Forbidden: resourceVersionMatch is forbidden unless resourceVersion "
                         "is provided");
    else if (match && strcmp(match, "Exact") != 0 && strcmp(match, "NotOlderThan") != 0)
        apierr_add_cause(e, "FieldValueNotSupported", "resourceVersionMatch",
                         "Unsupported value: \"%s\": supported values: \"Exact\", "
                         "\"NotOlderThan\"",
                         match);
    else if (match && strcmp(match, "Exact") == 0 && o->resource_version &&
             strcmp(o->resource_version, "0") == 0)
        apierr_add_cause(e, "FieldValueForbidden", "resourceVersionMatch",
                         "Forbidden: resourceVersionMatch \"exact\" is forbidden for "
                         "resourceVersion \"0\"");
    if (!watch && o->send_initial_events)
        apierr_add_cause(e, "FieldValueForbidden", "sendInitialEvents",
                         "Forbidden: sendInitialEvents is forbidden for list");
    if (watch && o->send_initial_events && (!match || strcmp(match, "NotOlderThan") != 0))
        apierr_add_cause(e, "FieldValueInvalid", "resourceVersionMatch",
                         "Invalid value: \"%s\": sendInitialEvents requires setting "
                         "resourceVersionMatch to NotOlderThan",
                         match ? match : "");
    else if (watch && !o->send_initial_events && match)
        apierr_add_cause(e, "FieldValueForbidden", "resourceVersionMatch",
                         "Forbidden: resourceVersionMatch is forbidden for watch unless "
                         "sendInitialEvents is provided");
    return !apierr_finish_invalid(e, "ListOptions", "meta.k8s.io", "");
}

bool as_list_options_parse(as_query q, as_list_verb verb, as_list_options *o, api_error *e)
{
    memset(o, 0, sizeof *o);
    o->resource_version = param(q, "resourceVersion");
    o->rv_match = param(q, "resourceVersionMatch");
    o->cont = param(q, "continue");
    o->label_selector = param(q, "labelSelector");
    o->field_selector = param(q, "fieldSelector");
    const char *send_initial = q.get(q.src, "sendInitialEvents");
    if (!read_numbers(q, o, e) || !read_bool(q, "allowWatchBookmarks", &o->allow_bookmarks, e) ||
        !read_bool(q, "sendInitialEvents", &o->send_initial_events, e))
        return false;
    /* A list given sendInitialEvents at all (even =false) is refused, as kube does. */
    if (verb != AS_VERB_WATCH && send_initial)
        o->send_initial_events = true;
    return validate(o, verb, e);
}

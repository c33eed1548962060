/*
 * event.c - the core v1 Event strategy (see builtin.h): kube's legacy validation, which is all
 * kube checks for core v1 requests, and the cells of kube's printEvent. kube applies no defaults
 * to Events.
 */
#include "api/builtin.h"
#include "api/fielderr.h"
#include "api/foo.h"
#include "api/kindutil.h"

#include "common/alloc.h"
#include "common/json.h"
#include "common/sbuf.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Counts are Go int32s; any of them is valid. */
#define MSG_INT32_MIN "must be greater than or equal to -2147483648"

/* kube's limits on the fields of an event with eventTime set. */
#define REPORTING_INSTANCE_MAX 128
#define ACTION_MAX             128
#define REASON_MAX             128
#define MESSAGE_MAX            1024

/* ---- validation ---------------------------------------------------------------------------- */

/* The string members of involvedObject and related (ObjectReference). */
static void check_reference(const cJSON *ref, const char *path, api_error *err)
{
    static const char *const keys[] = {"kind",       "namespace",       "name",     "uid",
                                       "apiVersion", "resourceVersion", "fieldPath"};
    if (!ku_check_object(ref, path, err))
        return;
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        char *p = xasprintf("%s.%s", path, keys[i]);
        ku_check_string(ku_member(ref, keys[i]), p, err);
        free(p);
    }
}

/* The JSON types of the fields kube's decoder would check. */
static void check_types(const cJSON *ev, api_error *err)
{
    static const char *const strings[] = {
        "reason", "message", "type", "action", "reportingComponent", "reportingInstance"};
    static const char *const times[] = {"firstTimestamp", "lastTimestamp", "eventTime"};
    for (size_t i = 0; i < sizeof strings / sizeof strings[0]; i++)
        ku_check_string(ku_member(ev, strings[i]), strings[i], err);
    for (size_t i = 0; i < sizeof times / sizeof times[0]; i++)
        ku_check_time(ku_member(ev, times[i]), times[i], err);
    ku_check_int(ku_member(ev, "count"), "count", INT32_MIN, MSG_INT32_MIN, KU_INT32_MAX, err,
                 NULL);
    check_reference(ku_member(ev, "involvedObject"), "involvedObject", err);
    check_reference(ku_member(ev, "related"), "related", err);
    const cJSON *source = ku_member(ev, "source");
    if (ku_check_object(source, "source", err)) {
        ku_check_string(ku_member(source, "component"), "source.component", err);
        ku_check_string(ku_member(source, "host"), "source.host", err);
    }
    const cJSON *series = ku_member(ev, "series");
    if (ku_check_object(series, "series", err)) {
        ku_check_int(ku_member(series, "count"), "series.count", INT32_MIN, MSG_INT32_MIN,
                     KU_INT32_MAX, err, NULL);
        ku_check_time(ku_member(series, "lastObservedTime"), "series.lastObservedTime", err);
    }
}

/* A string member as Go sees it: "" when absent or of another type (reported elsewhere). */
static const char *str_or_empty(const cJSON *obj, const char *key)
{
    const char *s = ku_string(obj, key);
    return s ? s : "";
}

/*
 * The event lives in the namespace of the object it is about; one about a cluster-scoped object
 * (no namespace) lives in "default" (or, with eventTime, also "kube-system").
 */
static void check_namespace(const cJSON *ev, bool new_style, api_error *err)
{
    const char *ns = json_path_string(ev, "metadata.namespace");
    const char *involved = str_or_empty(ku_member(ev, "involvedObject"), "namespace");
    bool ok;
    ns = ns ? ns : "";
    if (new_style)
        ok = *involved || strcmp(ns, "default") == 0 || strcmp(ns, "kube-system") == 0;
    else if (!*involved)
        ok = !*ns || strcmp(ns, "default") == 0;
    else
        ok = strcmp(ns, involved) == 0;
    if (!ok)
        fe_invalid_string(err, "involvedObject.namespace", involved,
                          "does not match event.namespace");
}

/* A required string limited to max bytes; over the limit kube echoes "" rather than the value. */
static void check_limited(const cJSON *ev, const char *key, size_t max, bool required,
                          api_error *err)
{
    char detail[64];
    const char *s = str_or_empty(ev, key);
    if (required && !*s)
        fe_required(err, key, NULL);
    if (strlen(s) > max) {
        snprintf(detail, sizeof detail, "can have at most %zu characters", max);
        fe_invalid_string(err, key, "", detail);
    }
}

/* Events with eventTime (the events.k8s.io style) must say who reported what. */
static void check_new_style(const cJSON *ev, api_error *err)
{
    const char *component = str_or_empty(ev, "reportingComponent");
    const char *msg;
    if (!*component)
        fe_required(err, "reportingComponent", NULL);
    else if ((msg = meta_qualified_name_error(component)) != NULL)
        fe_invalid_string(err, "reportingComponent", component, msg);
    check_limited(ev, "reportingInstance", REPORTING_INSTANCE_MAX, true, err);
    check_limited(ev, "action", ACTION_MAX, true, err);
    check_limited(ev, "reason", REASON_MAX, true, err);
    check_limited(ev, "message", MESSAGE_MAX, false, err);
}

void event_validate(const cJSON *obj, const cJSON *old, api_error *err)
{
    ku_validate_meta(obj, old, ku_path_segment_error, err);
    if (!cJSON_IsObject(obj))
        return;
    check_types(obj, err);
    bool new_style = *str_or_empty(obj, "eventTime") != '\0';
    check_namespace(obj, new_style, err);
    if (new_style)
        check_new_style(obj, err);
}

/* ---- cells --------------------------------------------------------------------------------- */

static cJSON *since_cell(const char *ts, int64_t now_s)
{
    char out[32];
    api_since(ts, now_s, out, sizeof out);
    return cJSON_CreateString(out);
}

/* A timestamp that is set: a non-empty string (Go's zero time is what absent or "" decode to). */
static const char *time_set(const cJSON *obj, const char *key)
{
    const char *s = ku_string(obj, key);
    return s && *s ? s : NULL;
}

cJSON *event_cell_first_seen(const cJSON *obj, int64_t now_s)
{
    const char *first = time_set(obj, "firstTimestamp");
    return since_cell(first ? first : time_set(obj, "eventTime"), now_s);
}

cJSON *event_cell_last_seen(const cJSON *obj, int64_t now_s)
{
    const cJSON *series = ku_member(obj, "series");
    if (series)
        return since_cell(time_set(series, "lastObservedTime"), now_s);
    const char *last = time_set(obj, "lastTimestamp");
    if (last)
        return since_cell(last, now_s);
    return event_cell_first_seen(obj, now_s);
}

cJSON *event_cell_type(const cJSON *obj, int64_t now_s)
{
    (void)now_s;
    return cJSON_CreateString(str_or_empty(obj, "type"));
}

cJSON *event_cell_reason(const cJSON *obj, int64_t now_s)
{
    (void)now_s;
    return cJSON_CreateString(str_or_empty(obj, "reason"));
}

cJSON *event_cell_object(const cJSON *obj, int64_t now_s)
{
    (void)now_s;
    const cJSON *ref = ku_member(obj, "involvedObject");
    const char *name = str_or_empty(ref, "name");
    char *target = *name ? xasprintf("%s/%s", str_or_empty(ref, "kind"), name)
                         : xstrdup(str_or_empty(ref, "kind"));
    /* kube lower-cases the kind only; the name cannot hold upper case anyway. */
    for (char *p = target; *p && *p != '/'; p++)
        *p = (char)tolower((unsigned char)*p);
    cJSON *cell = cJSON_CreateString(target);
    free(target);
    return cell;
}

cJSON *event_cell_subobject(const cJSON *obj, int64_t now_s)
{
    (void)now_s;
    return cJSON_CreateString(str_or_empty(ku_member(obj, "involvedObject"), "fieldPath"));
}

cJSON *event_cell_source(const cJSON *obj, int64_t now_s)
{
    (void)now_s;
    const cJSON *source = ku_member(obj, "source");
    const char *component = str_or_empty(source, "component");
    const char *host = str_or_empty(source, "host");
    if (!*component)
        component = str_or_empty(obj, "reportingComponent");
    if (!*host)
        host = str_or_empty(obj, "reportingInstance");
    if (!*host)
        return cJSON_CreateString(component);
    char *s = xasprintf("%s, %s", component, host);
    cJSON *cell = cJSON_CreateString(s);
    free(s);
    return cell;
}

cJSON *event_cell_message(const cJSON *obj, int64_t now_s)
{
    (void)now_s;
    const char *msg = str_or_empty(obj, "message");
    while (isspace((unsigned char)*msg))
        msg++;
    size_t n = strlen(msg);
    while (n > 0 && isspace((unsigned char)msg[n - 1]))
        n--;
    char *trimmed = xstrndup(msg, n);
    cJSON *cell = cJSON_CreateString(trimmed);
    free(trimmed);
    return cell;
}

cJSON *event_cell_count(const cJSON *obj, int64_t now_s)
{
    (void)now_s;
    const cJSON *series = ku_member(obj, "series");
    if (series)
        return cJSON_CreateNumber((double)ku_int_or(series, "count", 0));
    int64_t count = ku_int_or(obj, "count", 0);
    return cJSON_CreateNumber((double)(count == 0 ? 1 : count)); /* singleton events omit it */
}

/* kube's order: the wide columns are interleaved with the others. */
const api_column event_columns[EVENT_NCOLUMNS] = {
    {"Last Seen", "string", "", "Time since the event was last seen", 0, NULL,
     event_cell_last_seen},
    {"Type", "string", "", "Type of the event (Normal or Warning)", 0, NULL, event_cell_type},
    {"Reason", "string", "", "Why the event happened, in one word", 0, NULL, event_cell_reason},
    {"Object", "string", "", "The object the event is about", 0, NULL, event_cell_object},
    {"Subobject", "string", "", "The part of the object the event is about", 1, NULL,
     event_cell_subobject},
    {"Source", "string", "", "The component that reported the event", 1, NULL, event_cell_source},
    {"Message", "string", "", "What happened, for people", 0, NULL, event_cell_message},
    {"First Seen", "string", "", "Time since the event was first seen", 1, NULL,
     event_cell_first_seen},
    {"Count", "string", "", "How often the event happened", 1, NULL, event_cell_count},
    {"Name", "string", "name", API_COLUMN_NAME_DESCRIPTION, 1, "metadata.name", NULL},
};

const api_kind_strategy event_strategy = {
    .defaults = NULL,
    .validate = event_validate,
    .validate_status = NULL,
    .columns = event_columns,
    .ncolumns = EVENT_NCOLUMNS,
    .generation = API_GENERATION_NONE,
};

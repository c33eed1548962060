/*
 * column.c - cells shared by the kinds' `kubectl get` columns (see column.h).
 */
#include "api/column.h"

#include "common/json.h"
#include "common/timefmt.h"

#include <stdio.h>

void api_since(const char *ts, int64_t now_s, char *out, int outlen)
{
    int64_t t;
    if (ts && *ts && time_parse_rfc3339(ts, &t))
        time_format_human(now_s - t, out, outlen);
    else
        snprintf(out, (size_t)outlen, "<unknown>");
}

cJSON *api_cell_age(const cJSON *obj, int64_t now_s)
{
    char age[32];
    api_since(json_path_string(obj, "metadata.creationTimestamp"), now_s, age, sizeof age);
    return cJSON_CreateString(age);
}

cJSON *api_cell_string(const cJSON *obj, const char *dotted)
{
    const char *s = json_path_string(obj, dotted);
    return cJSON_CreateString(s ? s : "");
}

cJSON *api_cell_int(const cJSON *obj, const char *dotted)
{
    int64_t n;
    if (!json_int64(json_path(obj, dotted), INT64_MIN, INT64_MAX, &n))
        n = 0;
    return cJSON_CreateNumber((double)n);
}

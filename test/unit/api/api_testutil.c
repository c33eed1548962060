#include "api_testutil.h"

#include "common/json.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

cJSON *parse(const char *json)
{
    cJSON *j = cJSON_Parse(json);
    cr_assert_not_null(j, "bad test JSON: %s", json);
    return j;
}

void expect_json(const cJSON *got, const char *want_json)
{
    cJSON *want = parse(want_json);
    char *text = json_print(got);
    cr_expect(json_equal(got, want), "got %s\nwant %s", text, want_json);
    free(text);
    cJSON_Delete(want);
}

void assert_no_causes(const api_error *err)
{
    char *causes = json_print(err->causes);
    cr_assert_eq(apierr_cause_count(err), 0, "unexpected causes: %s", causes);
    free(causes);
}

void assert_cause(const api_error *err, const char *reason, const char *field, const char *msg)
{
    char *causes = json_print(err->causes);
    cr_assert_eq(apierr_cause_count(err), 1, "want one cause, got %s", causes);
    const cJSON *c = cJSON_GetArrayItem(err->causes, 0);
    cr_expect_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(c, "reason")), reason, "%s", causes);
    cr_expect_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(c, "field")), field, "%s", causes);
    cr_expect_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(c, "message")), msg, "%s", causes);
    free(causes);
}

void assert_has_cause(const api_error *err, const char *field, const char *msg)
{
    const cJSON *c;
    cJSON_ArrayForEach(c, err->causes)
    {
        const char *f = cJSON_GetStringValue(cJSON_GetObjectItem(c, "field"));
        const char *m = cJSON_GetStringValue(cJSON_GetObjectItem(c, "message"));
        if (f && m && strcmp(f, field) == 0 && strcmp(m, msg) == 0)
            return;
    }
    char *causes = json_print(err->causes);
    cr_assert_fail("no cause %s: %s in %s", field, msg, causes);
    free(causes);
}

const char *str_at(const cJSON *obj, const char *dotted)
{
    const char *s = json_path_string(obj, dotted);
    cr_assert_not_null(s, "no string at %s", dotted);
    return s;
}

double num_at(const cJSON *obj, const char *dotted)
{
    const cJSON *v = json_path(obj, dotted);
    cr_assert(cJSON_IsNumber(v), "no number at %s", dotted);
    return v->valuedouble;
}

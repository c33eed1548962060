/*
 * test_fielderr.c - Go-style rendering of values in validation causes.
 */
#include "api/fielderr.h"

#include "common/alloc.h"

#include <criterion/criterion.h>
#include <stdlib.h>

static void setup(void)
{
    alloc_install_cjson_hooks();
}

TestSuite(fielderr, .init = setup);

static void expect_rendered(const char *json, const char *want)
{
    cJSON *v = cJSON_Parse(json);
    cr_assert_not_null(v, "bad test JSON %s", json);
    sbuf sb = SBUF_INIT;
    fe_render_value(&sb, v);
    cr_expect_str_eq(sb.data, want, "rendering %s", json);
    sbuf_free(&sb);
    cJSON_Delete(v);
}

Test(fielderr, numbers_render_like_go_percent_v)
{
    expect_rendered("-1", "-1");
    expect_rendered("1000", "1000");
    expect_rendered("1.5", "1.5");
    expect_rendered("0.1", "0.1");
    expect_rendered("123456.25", "123456.25");
    expect_rendered("0.00001", "1e-05");
    expect_rendered("1e21", "1e+21");
    expect_rendered("1e20", "100000000000000000000");
}

Test(fielderr, strings_render_quoted_like_go_percent_q)
{
    expect_rendered("\"a b\"", "\"a b\"");
    expect_rendered("\"say \\\"hi\\\"\\\\\"", "\"say \\\"hi\\\"\\\\\"");
    expect_rendered("\"tab\\there\\nnl\"", "\"tab\\there\\nnl\"");
    expect_rendered("\"\\u0001\"", "\"\\x01\"");
    expect_rendered("\"caf\\u00e9\"", "\"caf\xc3\xa9\"");
}

Test(fielderr, other_values_render_like_go)
{
    expect_rendered("true", "true");
    expect_rendered("null", "null");
    expect_rendered("[\"a\",\"b\"]", "[]string{\"a\", \"b\"}");
    expect_rendered("{\"a\":1}", "{\"a\":1}");
}

Test(fielderr, type_names_follow_json_schema)
{
    const char *cases[][2] = {{"1", "integer"},    {"1.5", "number"}, {"\"s\"", "string"},
                              {"true", "boolean"}, {"[]", "array"},   {"{}", "object"},
                              {"null", "null"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cJSON *v = cJSON_Parse(cases[i][0]);
        cr_expect_str_eq(fe_type_name(v), cases[i][1], "type of %s", cases[i][0]);
        cJSON_Delete(v);
    }
    cr_expect_str_eq(fe_type_name(NULL), "null");
}

Test(fielderr, required_with_and_without_detail)
{
    api_error err = API_ERROR_INIT;
    fe_required(&err, "spec.x", NULL);
    fe_required(&err, "metadata.name", "name or generateName is required");
    cr_assert_eq(apierr_cause_count(&err), 2);
    cr_expect_str_eq(
        cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetArrayItem(err.causes, 0), "message")),
        "Required value");
    cr_expect_str_eq(
        cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetArrayItem(err.causes, 1), "message")),
        "Required value: name or generateName is required");
    apierr_clear(&err);
}

Test(fielderr, causes_past_the_limit_are_counted_in_one_last_cause)
{
    api_error e = API_ERROR_INIT;
    for (int i = 0; i < FE_MAX_CAUSES + 2500; i++)
        fe_required(&e, i < FE_MAX_CAUSES ? "spec.a" : "spec.b", NULL);
    cr_assert_eq(apierr_cause_count(&e), FE_MAX_CAUSES + 1);
    const cJSON *last = cJSON_GetArrayItem(e.causes, FE_MAX_CAUSES);
    cr_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(last, "reason")), FE_INVALID);
    cr_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(last, "field")), "spec.b");
    cr_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(last, "message")),
                     "and 2500 more errors (only the first 100 are reported)");
    const cJSON *first = cJSON_GetArrayItem(e.causes, 0);
    cr_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(first, "message")), "Required value");
    apierr_clear(&e);
}

Test(fielderr, exactly_the_limit_of_causes_needs_no_count)
{
    api_error e = API_ERROR_INIT;
    for (int i = 0; i < FE_MAX_CAUSES; i++)
        fe_forbidden(&e, "metadata.x", "no");
    cr_assert_eq(apierr_cause_count(&e), FE_MAX_CAUSES);
    apierr_clear(&e);
}

/*
 * test_common.c - the small shared pieces of common/: JSON string escaping, Kubernetes time
 * formats, Go booleans, the API error type and random identifiers.
 */
#include "common/alloc.h"
#include "common/apierr.h"
#include "common/ids.h"
#include "common/json.h"
#include "common/promtext.h"
#include "common/sbuf.h"
#include "common/timefmt.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

static void setup(void)
{
    alloc_install_cjson_hooks();
}

TestSuite(common, .init = setup);

/* ---- sbuf_json_string ---------------------------------------------------------------------- */

static void expect_json_string(const char *in, const char *want)
{
    sbuf sb = SBUF_INIT;
    sbuf_json_string(&sb, in);
    cr_expect_str_eq(sb.data, want);
    sbuf_free(&sb);
}

Test(common, sbuf_json_string_escapes_what_rfc8259_requires)
{
    expect_json_string("", "\"\"");
    expect_json_string("plain", "\"plain\"");
    expect_json_string("a\"b\\c", "\"a\\\"b\\\\c\"");
    expect_json_string("l1\nl2\r\t", "\"l1\\nl2\\r\\t\"");
    expect_json_string("\x01\x1f", "\"\\u0001\\u001f\"");
    expect_json_string("caf\xc3\xa9 /", "\"caf\xc3\xa9 /\"");
}

Test(common, sbuf_json_string_output_parses_back_to_the_input)
{
    const char *in = "q\" b\\ n\n c\x02 \xe2\x82\xac";
    sbuf sb = SBUF_INIT;
    sbuf_json_string(&sb, in);
    cJSON *back = cJSON_Parse(sb.data);
    cr_assert(cJSON_IsString(back), "%s", sb.data);
    cr_expect_str_eq(back->valuestring, in);
    cJSON_Delete(back);
    sbuf_free(&sb);
}

/* ---- sbuf_put_double ------------------------------------------------------------------------ */

Test(common, sbuf_put_double_prints_the_shortest_exact_form)
{
    static const struct {
        double v;
        const char *want;
    } cases[] = {
        {0, "0"},
        {1, "1"},
        {-2.5, "-2.5"},
        {0.1, "0.1"},
        {1.0 / 3, "0.3333333333333333"},
        {1e21, "1e+21"},
        {1e-7, "1e-07"},
        {0.005, "0.005"},
        {123456789012, "123456789012"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sbuf sb = SBUF_INIT;
        sbuf_put_double(&sb, cases[i].v);
        cr_expect_str_eq(sb.data, cases[i].want);
        cr_expect_eq(strtod(sb.data, NULL), cases[i].v, "reads back exactly");
        sbuf_free(&sb);
    }
}

/* ---- promtext ---------------------------------------------------------------------------- */

Test(common, prom_escaping_follows_the_exposition_format)
{
    sbuf sb = SBUF_INIT;
    prom_put_label_value(&sb, "a\\b\"c\nd");
    cr_expect_str_eq(sb.data, "a\\\\b\\\"c\\nd");
    sbuf_reset(&sb);
    prom_put_help(&sb, "a\\b\"c\nd");
    cr_expect_str_eq(sb.data, "a\\\\b\"c\\nd", "HELP keeps double quotes");
    sbuf_free(&sb);
}

/* ---- time_format_human --------------------------------------------------------------------- */

#define MIN  60
#define HOUR (60 * MIN)
#define DAY  (24 * HOUR)
#define YEAR (365 * DAY)

Test(common, time_format_human_matches_kube_human_duration)
{
    static const struct {
        int64_t s;
        const char *want;
    } cases[] = {
        {-2, "<invalid>"},
        {-1, "0s"}, /* one second of clock skew is tolerated */
        {0, "0s"},
        {45, "45s"},
        {119, "119s"},
        {2 * MIN, "2m"},
        {5 * MIN + 30, "5m30s"},
        {9 * MIN + 59, "9m59s"},
        {10 * MIN + 30, "10m"},
        {90 * MIN, "90m"},
        {3 * HOUR - 1, "179m"},
        {3 * HOUR, "3h"},
        {4 * HOUR + 20 * MIN + 59, "4h20m"},
        {8 * HOUR - 1, "7h59m"},
        {8 * HOUR + 30 * MIN, "8h"},
        {47 * HOUR + 59 * MIN, "47h"},
        {48 * HOUR, "2d"},
        {2 * DAY + 3 * HOUR + 5 * MIN, "2d3h"},
        {8 * DAY - 1, "7d23h"},
        {8 * DAY, "8d"},
        {400 * DAY, "400d"},
        {2 * YEAR - 1, "729d"},
        {2 * YEAR, "2y"},
        {3 * YEAR + 10 * DAY, "3y10d"},
        {8 * YEAR - 1, "7y364d"},
        {8 * YEAR + 100 * DAY, "8y"},
        {20 * YEAR, "20y"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char out[32];
        time_format_human(cases[i].s, out, sizeof out);
        cr_expect_str_eq(out, cases[i].want, "for %lld s", (long long)cases[i].s);
    }
}

/* ---- RFC 3339 ------------------------------------------------------------------------------ */

static void expect_rfc3339(const char *s, int64_t want)
{
    int64_t got = -12345;
    cr_expect(time_parse_rfc3339(s, &got), "should parse: %s", s);
    cr_expect_eq(got, want, "%s: got %lld want %lld", s, (long long)got, (long long)want);
}

Test(common, time_parse_rfc3339_accepts_utc_fractions_and_offsets)
{
    expect_rfc3339("2025-05-01T10:00:00Z", 1746093600);
    expect_rfc3339("2025-05-01T10:00:00.123456789Z", 1746093600);
    expect_rfc3339("2025-05-01T12:00:00+02:00", 1746093600);
    expect_rfc3339("2025-05-01T04:30:00-05:30", 1746093600);
    expect_rfc3339("2024-02-29T00:00:00Z", 1709164800);
    expect_rfc3339("1970-01-01T00:00:00Z", 0);
}

Test(common, time_parse_rfc3339_rejects_malformed_or_out_of_range_input)
{
    static const char *const bad[] = {
        "",
        "2025-05-01",
        "2025-05-01T10:00:00",       /* no zone */
        "2025-05-01 10:00:00Z",      /* space instead of T */
        "2025-13-01T10:00:00Z",      /* month */
        "2025-02-29T10:00:00Z",      /* not a leap year */
        "2025-04-31T10:00:00Z",      /* April has 30 days */
        "2025-05-01T24:00:00Z",      /* hour */
        "2025-05-01T10:00:60Z",      /* Go rejects second 60 */
        "2025-05-01T10:00:00.Z",     /* empty fraction */
        "2025-05-01T10:00:00+0200",  /* offset without colon */
        "2025-05-01T10:00:00+25:00", /* offset hour */
        "2025-05-01T10:00:00Zjunk",  /* trailing bytes */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t t;
        cr_expect_not(time_parse_rfc3339(bad[i], &t), "should reject: %s", bad[i]);
    }
    int64_t t;
    cr_expect_not(time_parse_rfc3339(NULL, &t));
}

Test(common, time_format_rfc3339_round_trips)
{
    char out[RFC3339_LEN];
    time_format_rfc3339(1746093600, out);
    cr_assert_str_eq(out, "2025-05-01T10:00:00Z");
    int64_t back;
    cr_assert(time_parse_rfc3339(out, &back));
    cr_assert_eq(back, 1746093600);
}

/* ---- Go durations -------------------------------------------------------------------------- */

Test(common, time_parse_go_duration_accepts_go_syntax)
{
    static const struct {
        const char *s;
        int64_t ms;
    } cases[] = {
        {"0", 0},         {"32s", 32000},    {"1m30s", 90000},       {"500ms", 500},
        {"1h", 3600000},  {"1.5h", 5400000}, {"2h45m", 9900000},     {"0.29s", 290},
        {".5s", 500},     {"1.s", 1000},     {"+5s", 5000},          {"1500us", 1},
        {"2000000ns", 2}, {"3\xc2\xb5s", 0}, {"1h1m1s1ms", 3661001},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int64_t ms = -1;
        cr_expect(time_parse_go_duration(cases[i].s, &ms), "should parse: %s", cases[i].s);
        cr_expect_eq(ms, cases[i].ms, "%s: got %lld", cases[i].s, (long long)ms);
    }
}

Test(common, time_parse_go_duration_rejects_what_go_rejects)
{
    static const char *const bad[] = {"",    "5",    "s",    "1x",  "1.5", ".s", "0x10s",
                                      " 5s", "1e3s", "infs", "5s ", "-1s", "+",  "99999999999h"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t ms;
        cr_expect_not(time_parse_go_duration(bad[i], &ms), "should reject: \"%s\"", bad[i]);
    }
    int64_t ms;
    cr_expect_not(time_parse_go_duration(NULL, &ms));
}

/* ---- json_parse_bool ----------------------------------------------------------------------- */

Test(common, json_parse_bool_accepts_exactly_go_parse_bool_spellings)
{
    static const char *const yes[] = {"1", "t", "T", "TRUE", "true", "True"};
    static const char *const no[] = {"0", "f", "F", "FALSE", "false", "False"};
    static const char *const bad[] = {"", "yes", "no", "tRUE", "on", "2", " true"};
    for (size_t i = 0; i < 6; i++) {
        bool v = false;
        cr_expect(json_parse_bool(yes[i], &v) && v, "%s", yes[i]);
        v = true;
        cr_expect(json_parse_bool(no[i], &v) && !v, "%s", no[i]);
    }
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        bool v;
        cr_expect_not(json_parse_bool(bad[i], &v), "%s", bad[i]);
    }
    bool v;
    cr_expect_not(json_parse_bool(NULL, &v));
}

/* ---- apierr -------------------------------------------------------------------------------- */

Test(common, apierr_finish_invalid_with_one_cause_has_no_brackets)
{
    api_error e = API_ERROR_INIT;
    apierr_add_cause(&e, "FieldValueInvalid", "spec.replicas",
                     "Invalid value: %d: must be greater than or equal to 0", -1);
    cr_assert(apierr_finish_invalid(&e, "Foo", "demo.example.com", "x"));
    cr_expect_eq(e.code, 422);
    cr_expect_str_eq(e.reason, "Invalid");
    cr_expect_str_eq(e.message, "Foo.demo.example.com \"x\" is invalid: spec.replicas: Invalid "
                                "value: -1: must be greater than or equal to 0");
    cr_expect_str_eq(e.kind, "Foo");
    cr_expect_str_eq(e.group, "demo.example.com");
    cr_expect_str_eq(e.name, "x");
    cr_expect_eq(apierr_cause_count(&e), 1);
    apierr_clear(&e);
}

Test(common, apierr_finish_invalid_with_several_causes_brackets_them)
{
    api_error e = API_ERROR_INIT;
    apierr_add_cause(&e, "FieldValueRequired", "spec.image", "Required value");
    apierr_add_cause(&e, "FieldValueRequired", "spec.namespace", "Required value");
    cr_assert(apierr_finish_invalid(&e, "Foo", "demo.example.com", "x"));
    cr_expect_str_eq(e.message, "Foo.demo.example.com \"x\" is invalid: [spec.image: Required "
                                "value, spec.namespace: Required value]");
    apierr_clear(&e);
}

Test(common, apierr_finish_invalid_without_causes_changes_nothing)
{
    api_error e = API_ERROR_INIT;
    cr_assert_not(apierr_finish_invalid(&e, "Foo", "demo.example.com", "x"));
    cr_assert_not(apierr_is_set(&e));
    cr_assert_null(e.message);
}

Test(common, apierr_to_status_json_has_the_metav1_status_shape)
{
    api_error e = API_ERROR_INIT;
    apierr_not_found(&e, "foos", "demo.example.com", "x");
    char *json = apierr_to_status_json(&e);
    cJSON *got = cJSON_Parse(json);
    cJSON *want = cJSON_Parse(
        "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\","
        "\"message\":\"foos.demo.example.com \\\"x\\\" not found\",\"reason\":\"NotFound\","
        "\"details\":{\"name\":\"x\",\"group\":\"demo.example.com\",\"kind\":\"foos\"},"
        "\"code\":404}");
    cr_expect(json_equal(got, want), "got %s", json);
    cJSON_Delete(got);
    cJSON_Delete(want);
    free(json);
    apierr_clear(&e);
}

Test(common, apierr_to_status_json_carries_causes_and_retry_after)
{
    api_error e = API_ERROR_INIT;
    apierr_add_cause(&e, "FieldValueInvalid", "spec.replicas", "Invalid value: -1: bad");
    apierr_finish_invalid(&e, "Foo", "demo.example.com", "x");
    e.retry_after = 3;
    char *json = apierr_to_status_json(&e);
    cJSON *got = cJSON_Parse(json);
    cJSON *want = cJSON_Parse(
        "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\","
        "\"message\":\"Foo.demo.example.com \\\"x\\\" is invalid: spec.replicas: Invalid value: "
        "-1: bad\",\"reason\":\"Invalid\",\"details\":{\"name\":\"x\",\"group\":"
        "\"demo.example.com\",\"kind\":\"Foo\",\"causes\":[{\"reason\":\"FieldValueInvalid\","
        "\"message\":\"Invalid value: -1: bad\",\"field\":\"spec.replicas\"}],"
        "\"retryAfterSeconds\":3},\"code\":422}");
    cr_expect(json_equal(got, want), "got %s", json);
    cJSON_Delete(got);
    cJSON_Delete(want);
    free(json);
    apierr_clear(&e);
}

/* ---- ids ----------------------------------------------------------------------------------- */

static bool is_lower_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

Test(common, id_uuid4_is_lowercase_rfc4122_version4_text)
{
    char a[UUID_STR_LEN], b[UUID_STR_LEN];
    id_uuid4(a);
    id_uuid4(b);
    cr_assert_eq(strlen(a), 36);
    for (int i = 0; i < 36; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23)
            cr_assert_eq(a[i], '-', "%s", a);
        else
            cr_assert(is_lower_hex(a[i]), "%s", a);
    }
    cr_assert_eq(a[14], '4', "version nibble: %s", a);
    cr_assert(strchr("89ab", a[19]) != NULL, "variant bits: %s", a);
    cr_assert_str_neq(a, b);
}

Test(common, id_name_suffix_uses_only_the_generate_name_alphabet)
{
    static const char alphabet[] = "bcdfghjklmnpqrstvwxz2456789";
    char s[1001];
    id_name_suffix(s, 1000);
    cr_assert_eq(strlen(s), 1000);
    for (int i = 0; i < 1000; i++)
        cr_assert(strchr(alphabet, s[i]) != NULL, "'%c' is not in the alphabet", s[i]);
    char five[6];
    id_name_suffix(five, 5);
    cr_assert_eq(strlen(five), 5);
}

Test(common, json_has_string_finds_only_string_members_of_an_array)
{
    cJSON *a = cJSON_Parse("[\"kubernetes\", 7, \"orphan\", null]");
    cr_expect(json_has_string(a, "orphan"));
    cr_expect(json_has_string(a, "kubernetes"));
    cr_expect_not(json_has_string(a, "7"));
    cr_expect_not(json_has_string(a, "orpha"));
    cr_expect_not(json_has_string(NULL, "orphan"));
    cJSON *o = cJSON_Parse("{\"orphan\": \"orphan\"}");
    cr_expect_not(json_has_string(o, "orphan"), "an object is not an array");
    cJSON_Delete(o);
    cJSON_Delete(a);
}

/*
 * test_json_body.c - json_parse_body (the one reader of client JSON), json_int64, json_equal and
 * the key index they use (common/jsonkeys.h): issue 6 items 2, 5 and 7 (doubles).
 */
#include "common/alloc.h"
#include "common/json.h"
#include "common/jsonkeys.h"
#include "common/sbuf.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

static void setup(void)
{
    alloc_install_cjson_hooks();
}

TestSuite(json_body, .init = setup);

static cJSON *parse(const char *text, cJSON *dups)
{
    return json_parse_body(text, strlen(text), dups, NULL);
}

static char *print_dups(cJSON *dups)
{
    return json_print(dups);
}

Test(json_body, item2_duplicate_keys_keep_the_last_value_and_are_named)
{
    cJSON *dups = cJSON_CreateArray();
    cJSON *o = parse("{\"metadata\":{\"name\":\"d\",\"uid\":\"a\",\"uid\":\"forged\"},"
                     "\"status\":{},\"status\":{\"availableReplicas\":7}}",
                     dups);
    cr_assert_not_null(o);
    cr_expect_str_eq(json_path_string(o, "metadata.uid"), "forged");
    cr_expect_eq(json_path(o, "status.availableReplicas")->valueint, 7);
    int members = 0;
    for (cJSON *m = json_path(o, "metadata")->child; m; m = m->next)
        members++;
    cr_expect_eq(members, 2, "the earlier uid is gone from the tree");
    char *s = print_dups(dups);
    cr_expect_str_eq(s, "[\"status\",\"metadata.uid\"]", "outer objects first");
    free(s);
    cJSON_Delete(dups);
    cJSON_Delete(o);
}

Test(json_body, duplicate_keys_inside_arrays_are_named_with_their_index)
{
    cJSON *dups = cJSON_CreateArray();
    cJSON *o = parse("{\"a\":[{\"x\":1},{\"y\":1,\"y\":2,\"y\":3}]}", dups);
    cr_assert_not_null(o);
    char *s = json_print(dups);
    cr_expect_str_eq(s, "[\"a[1].y\",\"a[1].y\"]");
    free(s);
    cr_expect_eq(cJSON_GetArrayItem(json_path(o, "a"), 1)->child->valueint, 3);
    cr_expect_null(cJSON_GetArrayItem(json_path(o, "a"), 1)->child->next);
    cJSON_Delete(dups);
    cJSON_Delete(o);
}

Test(json_body, reports_at_most_the_documented_number_of_duplicates)
{
    sbuf sb = SBUF_INIT;
    sbuf_puts(&sb, "{");
    for (int i = 0; i < 500; i++)
        sbuf_printf(&sb, "%s\"k\":%d", i ? "," : "", i);
    sbuf_puts(&sb, "}");
    cJSON *dups = cJSON_CreateArray();
    cJSON *o = json_parse_body(sb.data, sb.len, dups, NULL);
    cr_assert_not_null(o);
    cr_expect_eq(cJSON_GetArraySize(dups), JSON_MAX_REPORTED_DUPLICATES);
    cr_expect_eq(json_path(o, "k")->valueint, 499);
    cr_expect_null(o->child->next);
    cJSON_Delete(dups);
    cJSON_Delete(o);
    sbuf_free(&sb);
}

Test(json_body, trailing_content_after_the_value_is_invalid)
{
    size_t off = 0;
    cr_expect_null(json_parse_body("{\"a\":1} {\"b\":2}", 16, NULL, &off));
    cr_expect_eq(off, 7, "%zu", off);
    cr_expect_null(parse("{\"a\":1}x", NULL));
    cJSON *o = parse(" {\"a\":1} \r\n\t", NULL);
    cr_expect_not_null(o);
    cJSON_Delete(o);
}

Test(json_body, escaped_nul_in_a_key_or_string_is_refused)
{
    size_t off = 0;
    const char *key = "{\"metadata\":{\"uid\\u0000x\":\"forged\"}}";
    cr_expect_null(json_parse_body(key, strlen(key), NULL, &off));
    cr_expect_eq(off, 17);
    cr_expect_null(parse("{\"a\":\"x\\u0000\"}", NULL));
    /* an escaped backslash followed by u0000 is the text \u0000, not a NUL */
    cJSON *o = parse("{\"a\":\"\\\\u0000\"}", NULL);
    cr_assert_not_null(o);
    cr_expect_str_eq(json_path_string(o, "a"), "\\u0000");
    cJSON_Delete(o);
}

Test(json_body, invalid_json_and_empty_input_are_null)
{
    cr_expect_null(parse("", NULL));
    cr_expect_null(parse("{", NULL));
    cr_expect_null(parse("{\"a\":}", NULL));
}

/* item 5: a quarter of a million keys, all distinct, and then all equal. */
Test(json_body, item5_250000_keys_are_deduplicated_in_one_pass)
{
    sbuf sb = SBUF_INIT;
    sbuf_puts(&sb, "{\"labels\":{");
    for (int i = 0; i < 250000; i++)
        sbuf_printf(&sb, "%s\"k%d\":\"v\"", i ? "," : "", i);
    sbuf_puts(&sb, "}}");
    cJSON *dups = cJSON_CreateArray();
    cJSON *o = json_parse_body(sb.data, sb.len, dups, NULL);
    cr_assert_not_null(o);
    cr_expect_eq(cJSON_GetArraySize(dups), 0);
    cr_expect_eq(cJSON_GetArraySize(json_path(o, "labels")), 250000);
    cJSON *copy = cJSON_Duplicate(o, 1);
    cr_expect(json_equal(o, copy));
    json_set_string(json_path(copy, "labels"), "k249999", "changed");
    cr_expect_not(json_equal(o, copy));
    cJSON_Delete(copy);
    cJSON_Delete(dups);
    cJSON_Delete(o);
    sbuf_free(&sb);
}

Test(json_body, int64_accepts_exact_integers_in_range_only)
{
    struct {
        const char *json;
        bool ok;
        int64_t want;
    } cases[] = {
        {"0", true, 0},      {"1000", true, 1000}, {"-5", true, -5},
        {"1.5", false, 0},   {"1e300", false, 0},  {"-1e300", false, 0},
        {"1001", false, 0},  {"-6", false, 0},     {"\"7\"", false, 0},
        {"true", false, 0},  {"null", false, 0},   {"9.2233720368547758e18", false, 0},
        {"1e3", true, 1000},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cJSON *v = cJSON_Parse(cases[i].json);
        int64_t out = 42;
        bool ok = json_int64(v, -5, 1000, &out);
        cr_expect_eq(ok, cases[i].ok, "%s", cases[i].json);
        cr_expect_eq(out, cases[i].ok ? cases[i].want : 42, "%s", cases[i].json);
        cJSON_Delete(v);
    }
    cJSON *big = cJSON_Parse("9.2233720368547758e18"); /* 2^63: no int64 holds it */
    int64_t out = 0;
    cr_expect_not(json_int64(big, INT64_MIN, INT64_MAX, &out));
    cJSON_Delete(big);
    cJSON *low = cJSON_Parse("-9.2233720368547758e18"); /* -2^63 fits */
    cr_expect(json_int64(low, INT64_MIN, INT64_MAX, &out));
    cr_expect_eq(out, INT64_MIN);
    cJSON_Delete(low);
}

Test(json_body, equal_ignores_key_order_and_compares_everything_else)
{
    cJSON *a = cJSON_Parse("{\"a\":1,\"b\":[1,{\"c\":null}],\"d\":\"x\"}");
    cJSON *b = cJSON_Parse("{\"d\":\"x\",\"b\":[1,{\"c\":null}],\"a\":1}");
    cJSON *c = cJSON_Parse("{\"d\":\"x\",\"b\":[1,{\"c\":false}],\"a\":1}");
    cJSON *d = cJSON_Parse("{\"d\":\"x\",\"b\":[1,{\"c\":null}]}");
    cJSON *e = cJSON_Parse("{\"d\":\"x\",\"b\":[1,{\"c\":null}],\"a\":1,\"z\":1}");
    cr_expect(json_equal(a, b));
    cr_expect_not(json_equal(a, c));
    cr_expect_not(json_equal(a, d));
    cr_expect_not(json_equal(a, e));
    cr_expect_not(json_equal(a, NULL));
    cr_expect(json_equal(NULL, NULL));
    cJSON_Delete(a);
    cJSON_Delete(b);
    cJSON_Delete(c);
    cJSON_Delete(d);
    cJSON_Delete(e);
}

Test(json_body, key_index_puts_gets_replaces_and_removes)
{
    cJSON *o = cJSON_Parse("{\"a\":1,\"b\":2,\"a\":3}");
    jk_index *ix = jk_index_of(o);
    cr_expect_eq(jk_index_count(ix), 2);
    cr_expect_eq(jk_index_get(ix, "a")->valueint, 3, "the last of equal keys is indexed");
    cr_expect_eq(jk_index_get(ix, "b")->valueint, 2);
    cr_expect_null(jk_index_get(ix, "c"));
    jk_index_remove(ix, "b");
    cr_expect_null(jk_index_get(ix, "b"));
    cr_expect_eq(jk_index_count(ix), 1);
    cJSON *first_a = o->child;
    cr_expect_eq(jk_index_put(ix, first_a)->valueint, 3, "put returns what it replaced");
    cr_expect_eq(jk_index_get(ix, "a"), first_a);
    jk_index_free(ix);
    jk_index_free(NULL);
    cJSON_Delete(o);
}

Test(json_body, numbers_beyond_a_double_are_refused)
{
    cr_expect_null(parse("{\"spec\":{\"replicas\":7e777}}", NULL));
    cr_expect_null(parse("[-1e400]", NULL));
    cJSON *o = parse("{\"a\":1.7e308}", NULL);
    cr_expect_not_null(o);
    cJSON_Delete(o);
}

Test(json_body, repeated_keys_are_found_in_small_and_large_objects_alike)
{
    for (int n = 2; n <= 40; n += 19) {
        sbuf sb = SBUF_INIT;
        sbuf_puts(&sb, "{\"dup\":0");
        for (int i = 0; i < n; i++)
            sbuf_printf(&sb, ",\"k%d\":%d", i, i);
        sbuf_puts(&sb, ",\"dup\":1}");
        cJSON *dups = cJSON_CreateArray();
        cJSON *o = json_parse_body(sb.data, sb.len, dups, NULL);
        cr_assert_not_null(o);
        cr_expect_eq(cJSON_GetArraySize(dups), 1, "%d members", n);
        cr_expect_eq(json_path(o, "dup")->valueint, 1, "%d members", n);
        cr_expect_eq(cJSON_GetArraySize(o), n + 1, "%d members", n);
        cJSON_Delete(dups);
        cJSON_Delete(o);
        sbuf_free(&sb);
    }
}

Test(json_body, equal_compares_repeated_keys_by_their_last_value_small_or_large)
{
    sbuf big = SBUF_INIT;
    sbuf_puts(&big, "{\"k\":0");
    for (int i = 0; i < 40; i++)
        sbuf_printf(&big, ",\"m%d\":%d", i, i);
    sbuf_puts(&big, ",\"k\":1}");
    const char *small_pair[] = {"{\"k\":0,\"x\":2,\"k\":1}", "{\"x\":2,\"k\":1}"};
    for (int round = 0; round < 2; round++) {
        cJSON *a = round ? cJSON_Parse(big.data) : cJSON_Parse(small_pair[0]);
        cJSON *b = cJSON_Duplicate(a, 1);
        cJSON_DeleteItemFromObjectCaseSensitive(b, "k"); /* removes the first k: k=1 remains */
        cr_expect(json_equal(a, b), "round %d", round);
        cJSON_DeleteItemFromObjectCaseSensitive(b, "k");
        cr_expect_not(json_equal(a, b), "round %d", round);
        cJSON_Delete(a);
        cJSON_Delete(b);
    }
    cJSON *c = cJSON_Parse(small_pair[1]);
    cJSON *d = cJSON_Parse(small_pair[0]);
    cr_expect(json_equal(c, d));
    cJSON_Delete(c);
    cJSON_Delete(d);
    sbuf_free(&big);
}

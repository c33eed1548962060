/*
 * test_yamljson.c - YAML to JSON: scalars, repeated keys, anchors and aliases, and the bounds
 * on what a hostile document can make us build (billion laughs, nesting, many keys).
 */
#include "common/yamljson.h"

#include "common/alloc.h"
#include "common/json.h"
#include "common/sbuf.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

static void setup(void)
{
    alloc_install_cjson_hooks();
}

TestSuite(yamljson, .init = setup);

/* Converts yaml and asserts the result equals want_json. */
static void expect_yaml(const char *yaml, const char *want_json)
{
    api_error err = API_ERROR_INIT;
    cJSON *got = yaml_to_json(yaml, strlen(yaml), &err);
    cr_assert_not_null(got, "conversion failed: %s", err.message ? err.message : "?");
    cJSON *want = cJSON_Parse(want_json);
    cr_assert_not_null(want, "bad test JSON: %s", want_json);
    char *text = json_print(got);
    cr_assert(json_equal(got, want), "got %s, want %s", text, want_json);
    free(text);
    cJSON_Delete(want);
    cJSON_Delete(got);
}

/* Converts yaml, asserts it fails with a 400 BadRequest, and returns the message (caller frees). */
static char *expect_error(const char *yaml, size_t len)
{
    api_error err = API_ERROR_INIT;
    cJSON *got = yaml_to_json(yaml, len, &err);
    cr_assert_null(got, "conversion should have failed");
    cr_assert_eq(err.code, 400);
    cr_assert_str_eq(err.reason, "BadRequest");
    cr_assert_not_null(err.message);
    char *msg = err.message;
    err.message = NULL;
    apierr_clear(&err);
    return msg;
}

Test(yamljson, scalars_resolve_like_kubes_reader)
{
    expect_yaml("a: 1\nb: 1.5\nc: true\nd: null\ne: ~\nf: \"1\"\ng: x y\nh:\n",
                "{\"a\":1,\"b\":1.5,\"c\":true,\"d\":null,\"e\":null,\"f\":\"1\",\"g\":\"x y\","
                "\"h\":null}");
}

Test(yamljson, json_is_yaml)
{
    expect_yaml("{\"a\": [1, {\"b\": \"c\"}], \"d\": {}}", "{\"a\":[1,{\"b\":\"c\"}],\"d\":{}}");
}

Test(yamljson, last_of_repeated_keys_wins)
{
    expect_yaml("a: 1\nb: 2\na: 3\n", "{\"b\":2,\"a\":3}");
}

Test(yamljson, an_alias_is_a_copy_of_its_anchor)
{
    expect_yaml("base: &b {x: 1, y: [2, 3]}\nc1: *b\nc2: *b\n",
                "{\"base\":{\"x\":1,\"y\":[2,3]},\"c1\":{\"x\":1,\"y\":[2,3]},"
                "\"c2\":{\"x\":1,\"y\":[2,3]}}");
}

Test(yamljson, scalar_anchors_work_as_values_and_keys)
{
    expect_yaml("a: &v hello\nb: *v\n&k key: 1\nc: *k\n*v : 2\n",
                "{\"a\":\"hello\",\"b\":\"hello\",\"key\":1,\"c\":\"key\",\"hello\":2}");
}

Test(yamljson, an_anchor_replaced_by_a_repeated_key_stays_usable)
{
    expect_yaml("a: &x [1]\na: 2\nb: *x\n", "{\"a\":2,\"b\":[1]}");
}

Test(yamljson, an_alias_to_an_unknown_anchor_fails)
{
    char *err = expect_error("a: *nope\n", 9);
    cr_assert(strstr(err, "unknown anchor 'nope'"), "%s", err);
    free(err);
}

Test(yamljson, a_node_cannot_contain_itself)
{
    const char *yaml = "a: &x [1, *x]\n";
    char *err = expect_error(yaml, strlen(yaml));
    cr_assert(strstr(err, "unknown anchor 'x'"), "%s", err);
    free(err);
}

Test(yamljson, billion_laughs_is_refused)
{
    /* Each level holds ten aliases of the one before: 10^9 values from ~300 bytes. */
    sbuf y = SBUF_INIT;
    sbuf_puts(&y, "a0: &a0 [lol]\n");
    for (int i = 1; i <= 9; i++) {
        sbuf_printf(&y, "a%d: &a%d [", i, i);
        for (int j = 0; j < 10; j++)
            sbuf_printf(&y, "%s*a%d", j ? "," : "", i - 1);
        sbuf_puts(&y, "]\n");
    }
    char *err = expect_error(y.data, y.len);
    cr_assert(strstr(err, "document contains excessive aliasing"), "%s", err);
    free(err);
    sbuf_free(&y);
}

Test(yamljson, aliases_within_the_budget_expand)
{
    /* 1000 copies of a 50-value list: 50 000 values, within YAMLJSON_MIN_NODES. */
    sbuf y = SBUF_INIT;
    sbuf_puts(&y, "t: &t [");
    for (int j = 0; j < 49; j++)
        sbuf_printf(&y, "%s%d", j ? "," : "", j);
    sbuf_puts(&y, "]\nl:\n");
    for (int i = 0; i < 1000; i++)
        sbuf_puts(&y, "- *t\n");
    api_error err = API_ERROR_INIT;
    cJSON *got = yaml_to_json(y.data, y.len, &err);
    cr_assert_not_null(got, "%s", err.message ? err.message : "?");
    const cJSON *l = cJSON_GetObjectItem(got, "l");
    cr_assert_eq(cJSON_GetArraySize(l), 1000);
    cr_assert_eq(cJSON_GetArraySize(cJSON_GetArrayItem(l, 999)), 49);
    cJSON_Delete(got);
    sbuf_free(&y);
}

Test(yamljson, the_node_budget_grows_with_the_input_and_is_capped)
{
    cr_assert_eq(yaml_node_budget(0), YAMLJSON_MIN_NODES);
    cr_assert_eq(yaml_node_budget(1000), YAMLJSON_MIN_NODES + 500);
    cr_assert_eq(yaml_node_budget((size_t)-1), YAMLJSON_MAX_NODES);
}

Test(yamljson, nesting_beyond_the_limit_fails_early)
{
    /* 1 MiB of '[': refused at level 101, before the parser reads (or allocates) the rest. */
    size_t n = 1 << 20;
    char *y = xmalloc(n);
    memset(y, '[', n);
    char *err = expect_error(y, n);
    cr_assert(strstr(err, "nesting too deep"), "%s", err);
    free(err);
    free(y);
}

Test(yamljson, nesting_at_the_limit_is_fine)
{
    sbuf y = SBUF_INIT;
    for (int i = 0; i < YAMLJSON_MAX_DEPTH; i++)
        sbuf_putc(&y, '[');
    for (int i = 0; i < YAMLJSON_MAX_DEPTH; i++)
        sbuf_putc(&y, ']');
    api_error err = API_ERROR_INIT;
    cJSON *got = yaml_to_json(y.data, y.len, &err);
    cr_assert_not_null(got, "%s", err.message ? err.message : "?");
    cJSON_Delete(got);
    sbuf_free(&y);
}

Test(yamljson, a_nul_in_a_string_is_refused)
{
    const char *yaml = "uid: \"a\\0forged\"\n";
    char *err = expect_error(yaml, strlen(yaml));
    cr_assert(strstr(err, "NUL"), "%s", err);
    free(err);
}

Test(yamljson, syntax_errors_name_the_line)
{
    const char *yaml = "a: 1\nb: [\n";
    char *err = expect_error(yaml, strlen(yaml));
    cr_assert(strstr(err, "invalid YAML at line"), "%s", err);
    free(err);
}

Test(yamljson, an_empty_document_fails)
{
    char *err = expect_error("", 0);
    cr_assert(strstr(err, "empty YAML document"), "%s", err);
    free(err);
}

Test(yamljson, complex_keys_fail)
{
    const char *yaml = "? [a]\n: 1\n";
    char *err = expect_error(yaml, strlen(yaml));
    cr_assert(strstr(err, "keys must be scalars"), "%s", err);
    free(err);
}

Test(yamljson, a_mapping_with_250000_keys_converts)
{
    /* Repeated keys are found through an index: this must not take 250 000^2 steps. */
    enum { N = 250000 };
    sbuf y = SBUF_INIT;
    sbuf_puts(&y, "labels:\n");
    for (int i = 0; i < N; i++)
        sbuf_printf(&y, "  k%d: v\n", i);
    sbuf_puts(&y, "  k7: last\n");
    api_error err = API_ERROR_INIT;
    cJSON *got = yaml_to_json(y.data, y.len, &err);
    cr_assert_not_null(got, "%s", err.message ? err.message : "?");
    const cJSON *labels = cJSON_GetObjectItem(got, "labels");
    cr_assert_eq(cJSON_GetArraySize(labels), N);
    cr_assert_str_eq(cJSON_GetObjectItem(labels, "k7")->valuestring, "last");
    cJSON_Delete(got);
    sbuf_free(&y);
}

Test(yamljson, an_alias_refers_to_the_latest_definition_of_its_anchor)
{
    expect_yaml("a: &x 1\nb: *x\nc: &x [2]\nd: *x\n", "{\"a\":1,\"b\":1,\"c\":[2],\"d\":[2]}");
}

Test(yamljson, a_hundred_thousand_anchors_are_found_by_name)
{
    enum { N = 100000 };
    sbuf y = SBUF_INIT;
    for (int i = 0; i < N; i++)
        sbuf_printf(&y, "a%d: &n%d %d\n", i, i, i);
    sbuf_puts(&y, "last: *n4242\n");
    api_error err = API_ERROR_INIT;
    cJSON *got = yaml_to_json(y.data, y.len, &err);
    cr_assert_not_null(got, "%s", err.message ? err.message : "?");
    cr_assert_eq(cJSON_GetObjectItem(got, "last")->valuedouble, 4242);
    cJSON_Delete(got);
    sbuf_free(&y);
}

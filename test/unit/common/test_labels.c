/*
 * test_labels.c - Kubernetes label selectors: every operator, kube's matching semantics
 * (including absent keys), whitespace, canonical printing and parse errors (400 BadRequest).
 */
#include "common/labels.h"

#include "common/alloc.h"
#include "common/sbuf.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void setup(void)
{
    alloc_install_cjson_hooks();
}

TestSuite(labels, .init = setup);

static labels_selector *must_parse(const char *s)
{
    api_error err = API_ERROR_INIT;
    labels_selector *sel = labels_parse(s, &err);
    cr_assert_not_null(sel, "\"%s\" did not parse: %s", s, err.message ? err.message : "");
    cr_assert_eq(err.code, 0);
    return sel;
}

/* Matches selector s against the labels object given as JSON ("null" for no labels). */
static bool matches(const char *s, const char *labels_json)
{
    labels_selector *sel = must_parse(s);
    cJSON *labels = cJSON_Parse(labels_json);
    cr_assert_not_null(labels, "bad test JSON: %s", labels_json);
    bool m = labels_match(sel, labels);
    cJSON_Delete(labels);
    labels_free(sel);
    return m;
}

static void expect_match(const char *s, const char *labels_json, bool want)
{
    cr_expect_eq(matches(s, labels_json), want, "\"%s\" on %s: want %s", s, labels_json,
                 want ? "match" : "no match");
}

static void expect_format(const char *s, const char *want)
{
    labels_selector *sel = must_parse(s);
    char *got = labels_format(sel);
    cr_expect_str_eq(got, want, "format of \"%s\"", s);
    free(got);
    labels_free(sel);
}

/* Expects a 400 BadRequest whose message starts with `prefix` and contains `needle`. */
static void expect_parse_error(const char *s, const char *prefix, const char *needle)
{
    api_error err = API_ERROR_INIT;
    labels_selector *sel = labels_parse(s, &err);
    cr_expect_null(sel, "\"%s\" parsed", s);
    cr_expect_eq(err.code, 400, "\"%s\": code %d", s, err.code);
    cr_expect_str_eq(err.reason ? err.reason : "", "BadRequest", "\"%s\"", s);
    const char *msg = err.message ? err.message : "";
    cr_expect(strncmp(msg, prefix, strlen(prefix)) == 0, "\"%s\": message \"%s\" lacks prefix %s",
              s, msg, prefix);
    cr_expect(strstr(msg, needle) != NULL, "\"%s\": message \"%s\" lacks \"%s\"", s, msg, needle);
    labels_free(sel);
    apierr_clear(&err);
}

#define REQ_ERR "unable to parse requirement: "

/* ---- operators ----------------------------------------------------------------------------- */

Test(labels, equals_requires_the_key_with_that_value)
{
    expect_match("env=prod", "{\"env\":\"prod\"}", true);
    expect_match("env=prod", "{\"env\":\"dev\"}", false);
    expect_match("env=prod", "{}", false);
}

Test(labels, double_equals_is_equals)
{
    expect_match("env==prod", "{\"env\":\"prod\"}", true);
    expect_match("env==prod", "{\"env\":\"dev\"}", false);
    expect_match("env==prod", "{}", false);
}

Test(labels, not_equals_matches_other_values_and_missing_keys)
{
    expect_match("env!=prod", "{\"env\":\"dev\"}", true);
    expect_match("env!=prod", "{\"env\":\"prod\"}", false);
    expect_match("env!=prod", "{\"other\":\"x\"}", true);
}

Test(labels, in_requires_the_key_with_one_of_the_values)
{
    expect_match("env in (dev,prod)", "{\"env\":\"prod\"}", true);
    expect_match("env in (dev,prod)", "{\"env\":\"dev\"}", true);
    expect_match("env in (dev,prod)", "{\"env\":\"qa\"}", false);
    expect_match("env in (dev,prod)", "{}", false);
}

Test(labels, notin_matches_other_values_and_missing_keys)
{
    expect_match("env notin (dev,prod)", "{\"env\":\"qa\"}", true);
    expect_match("env notin (dev,prod)", "{\"env\":\"dev\"}", false);
    expect_match("env notin (dev,prod)", "{}", true);
}

Test(labels, bare_key_requires_existence)
{
    expect_match("env", "{\"env\":\"\"}", true);
    expect_match("env", "{\"env\":\"x\"}", true);
    expect_match("env", "{\"other\":\"x\"}", false);
}

Test(labels, bang_key_requires_absence)
{
    expect_match("!env", "{\"other\":\"x\"}", true);
    expect_match("!env", "{\"env\":\"\"}", false);
}

Test(labels, greater_and_less_compare_integers)
{
    expect_match("n>5", "{\"n\":\"6\"}", true);
    expect_match("n>5", "{\"n\":\"5\"}", false);
    expect_match("n<5", "{\"n\":\"4\"}", true);
    expect_match("n<5", "{\"n\":\"5\"}", false);
    expect_match("n>5", "{}", false);
    expect_match("n<5", "{}", false);
    expect_match("n>5", "{\"n\":\"ten\"}", false);
}

Test(labels, empty_value_matches_empty_label)
{
    expect_match("env=", "{\"env\":\"\"}", true);
    expect_match("env=", "{\"env\":\"x\"}", false);
    expect_match("env in ()", "{\"env\":\"\"}", true);
    expect_match("env in (a,)", "{\"env\":\"\"}", true);
    expect_match("env in (a,)", "{\"env\":\"a\"}", true);
}

Test(labels, comma_is_and)
{
    expect_match("a=1,b!=2,c", "{\"a\":\"1\",\"b\":\"3\",\"c\":\"\"}", true);
    expect_match("a=1,b!=2,c", "{\"a\":\"1\",\"b\":\"2\",\"c\":\"\"}", false);
    expect_match("a=1,b!=2,c", "{\"a\":\"1\"}", false);
    expect_match("a=1,a=2", "{\"a\":\"1\"}", false);
}

Test(labels, keys_and_values_are_case_sensitive)
{
    expect_match("Env=Prod", "{\"Env\":\"Prod\"}", true);
    expect_match("env=prod", "{\"Env\":\"prod\"}", false);
    expect_match("env=prod", "{\"env\":\"Prod\"}", false);
}

Test(labels, prefixed_keys_match)
{
    expect_match("demo.example.com/foo=foo-example", "{\"demo.example.com/foo\":\"foo-example\"}",
                 true);
    expect_match("app.kubernetes.io/name in (foo)", "{\"app.kubernetes.io/name\":\"foo\"}", true);
}

Test(labels, keywords_are_values_and_keys_where_a_name_is_expected)
{
    expect_match("in=notin", "{\"in\":\"notin\"}", true);
    expect_match("k in (in,notin)", "{\"k\":\"notin\"}", true);
}

/* ---- empty selectors and odd label objects --------------------------------------------------- */

Test(labels, empty_selector_matches_everything)
{
    expect_match("", "{}", true);
    expect_match("", "{\"a\":\"b\"}", true);
    expect_match("  \t ", "null", true);
    labels_selector *sel = must_parse(NULL);
    cr_expect(labels_is_empty(sel));
    cr_expect(labels_match(sel, NULL));
    labels_free(sel);
    cr_expect(labels_match(NULL, NULL));
}

Test(labels, missing_labels_object_has_no_keys)
{
    labels_selector *sel = must_parse("a!=1,!b,c notin (x)");
    cr_expect(labels_match(sel, NULL));
    labels_free(sel);
    sel = must_parse("a");
    cr_expect_not(labels_match(sel, NULL));
    labels_free(sel);
    expect_match("a", "null", false);
    expect_match("a!=1", "[\"a\"]", true);
}

Test(labels, non_string_label_values_count_as_absent)
{
    expect_match("a", "{\"a\":1}", false);
    expect_match("a!=1", "{\"a\":1}", true);
}

/* ---- whitespace ---------------------------------------------------------------------------- */

Test(labels, whitespace_around_tokens_is_tolerated)
{
    const char *s = "  env in ( a , b ) ,  tier != db , ! gone ,x == 1 , y  ";
    expect_match(s, "{\"env\":\"b\",\"tier\":\"web\",\"x\":\"1\",\"y\":\"\"}", true);
    expect_match(s, "{\"env\":\"c\",\"tier\":\"web\",\"x\":\"1\",\"y\":\"\"}", false);
    expect_format(s, "env in (a,b),!gone,tier!=db,x==1,y");
}

Test(labels, no_whitespace_needed_around_parentheses)
{
    expect_match("env in(a,b)", "{\"env\":\"a\"}", true);
    expect_match("env notin(a)", "{\"env\":\"a\"}", false);
}

/* ---- formatting ---------------------------------------------------------------------------- */

Test(labels, format_is_canonical)
{
    expect_format("", "");
    expect_format("b=1,a", "a,b=1");
    expect_format("x notin (c,a,c,b)", "x notin (a,b,c)");
    expect_format("k in ()", "k in ()");
    expect_format("k in (a,)", "k in (,a)");
    expect_format("n>5,n<9,m=", "m=,n>5,n<9");
    expect_format("z!=1,y==2,!w", "!w,y==2,z!=1");
}

Test(labels, format_reparses_to_the_same_selector)
{
    const char *s = "app.kubernetes.io/name in (foo, bar),!x, tier!=db,n<3";
    labels_selector *sel = must_parse(s);
    char *once = labels_format(sel);
    labels_selector *again = must_parse(once);
    char *twice = labels_format(again);
    cr_expect_str_eq(once, twice);
    free(twice);
    free(once);
    labels_free(again);
    labels_free(sel);
}

/* ---- errors -------------------------------------------------------------------------------- */

Test(labels, in_without_parentheses_is_400)
{
    expect_parse_error("env in a", REQ_ERR, "found 'a', expected: '('");
    expect_parse_error("env in", REQ_ERR, "found '', expected: '('");
}

Test(labels, unclosed_value_set_is_400)
{
    expect_parse_error("env in (a", REQ_ERR, "found '', expected: ',' or ')'");
    expect_parse_error("env in (a b)", REQ_ERR, "found 'b', expected: ',' or ')'");
    expect_parse_error("env in (=)", REQ_ERR, "found '=', expected: ',', ')' or identifier");
}

Test(labels, unknown_operator_is_400)
{
    expect_parse_error("env ~ a", REQ_ERR, "found '~', expected: in, notin, =, ==, !=, gt, lt");
    expect_parse_error("env (a)", REQ_ERR, "found '(', expected: in, notin");
    expect_parse_error("env contains (a)", REQ_ERR, "found 'contains'");
    expect_parse_error("a b", REQ_ERR, "found 'b', expected: in, notin");
}

Test(labels, misplaced_tokens_between_requirements_are_400)
{
    expect_parse_error("a=1 b", "found 'b', expected: ',' or 'end of string'", "");
    expect_parse_error("a=b=c", "found '=', expected: ',' or 'end of string'", "");
    expect_parse_error("!a=b", "found '=', expected: ',' or 'end of string'", "");
    expect_parse_error("a,", "found '', expected: identifier after ','", "");
    expect_parse_error("a,,b", "found ',', expected: identifier after ','", "");
    expect_parse_error(",a", "found ',', expected: !, identifier, or 'end of string'", "");
    expect_parse_error("=a", "found '=', expected: !, identifier, or 'end of string'", "");
}

Test(labels, bang_without_key_is_400)
{
    expect_parse_error("!", REQ_ERR, "found '', expected: identifier");
    expect_parse_error("!=a", "found '!=', expected: !, identifier", "");
}

Test(labels, value_that_is_not_an_identifier_is_400)
{
    expect_parse_error("a=(b)", REQ_ERR, "found '(', expected: identifier");
    expect_parse_error("a!=!", REQ_ERR, "found '!', expected: identifier");
}

Test(labels, invalid_keys_are_400)
{
    expect_parse_error("-a=b", REQ_ERR, "key: Invalid value: \"-a\": name part must consist of");
    expect_parse_error("a-=b", REQ_ERR, "name part must consist of");
    expect_parse_error("a$b", REQ_ERR, "name part must consist of");
    expect_parse_error("Example.com/a", REQ_ERR, "prefix part must be a lowercase RFC 1123");
    expect_parse_error("a..b/c", REQ_ERR, "prefix part must be a lowercase RFC 1123");
    expect_parse_error("/a", REQ_ERR, "prefix part must be non-empty");
    expect_parse_error("a/", REQ_ERR, "name part must be non-empty");
    expect_parse_error("a/b/c", REQ_ERR, "a qualified name must be");
    char key[80];
    memset(key, 'k', 64);
    key[64] = '\0';
    expect_parse_error(key, REQ_ERR, "name part must be no more than 63 characters");
    key[63] = '\0';
    labels_selector *sel = must_parse(key); /* 63 is fine */
    labels_free(sel);
}

Test(labels, long_prefix_is_400)
{
    char key[300];
    memset(key, 'a', 254);
    strcpy(key + 254, "/n");
    expect_parse_error(key, REQ_ERR, "prefix part must be no more than 253 characters");
}

Test(labels, invalid_values_are_400)
{
    expect_parse_error("a=-b", REQ_ERR, "values[0]: Invalid value: \"-b\"");
    expect_parse_error("a in (ok,b_)", REQ_ERR, "values[1]: Invalid value: \"b_\"");
    expect_parse_error("a in (x/y)", REQ_ERR, "values[0]: Invalid value: \"x/y\"");
    char sel[90] = "a=";
    memset(sel + 2, 'v', 64);
    sel[66] = '\0';
    expect_parse_error(sel, REQ_ERR, "must be no more than 63 characters");
}

Test(labels, non_integer_for_greater_or_less_is_400)
{
    expect_parse_error("n>x", REQ_ERR, "for 'Gt', 'Lt' operators, the value must be an integer");
    expect_parse_error("n<", REQ_ERR, "the value must be an integer");
    expect_parse_error("n>99999999999999999999", REQ_ERR, "the value must be an integer");
}

/* ---- hostile sizes: parse, sort and match stay O(n log n) ---------------------------------- */

Test(labels, a_selector_of_50000_requirements_matches_50000_labels)
{
    enum { N = 50000 };
    sbuf text = SBUF_INIT;
    cJSON *labels = cJSON_CreateObject();
    for (int i = N - 1; i >= 0; i--) { /* reverse order: the sort has work to do */
        sbuf_printf(&text, "%sk%d=v", i == N - 1 ? "" : ",", i);
        char key[16];
        snprintf(key, sizeof key, "k%d", i);
        cJSON_AddStringToObject(labels, key, "v");
    }
    labels_selector *sel = must_parse(text.data);
    cr_assert(labels_match(sel, labels));
    char *canonical = labels_format(sel);
    cr_assert_eq(strncmp(canonical, "k0=v,k1=v,k10=v,", 16), 0, "%.40s", canonical);
    free(canonical);
    cJSON_ReplaceItemInObject(labels, "k777", cJSON_CreateString("other"));
    cr_assert_not(labels_match(sel, labels));
    labels_free(sel);
    cJSON_Delete(labels);
    sbuf_free(&text);
}

Test(labels, an_in_requirement_of_50000_values_matches_by_bisection)
{
    enum { N = 50000 };
    sbuf text = SBUF_INIT;
    sbuf_puts(&text, "k in (");
    for (int i = 0; i < N; i++)
        sbuf_printf(&text, "%sv%d", i ? "," : "", N - i);
    sbuf_puts(&text, ")");
    labels_selector *sel = must_parse(text.data);
    cJSON *labels = cJSON_Parse("{\"k\":\"v123\"}");
    cr_assert(labels_match(sel, labels));
    cJSON_ReplaceItemInObject(labels, "k", cJSON_CreateString("v0"));
    cr_assert_not(labels_match(sel, labels));
    cJSON_Delete(labels);
    labels_free(sel);
    sbuf_free(&text);
}

Test(labels, requirements_of_equal_keys_keep_their_order)
{
    labels_selector *sel = must_parse("b=2,a=1,b!=3,a");
    char *s = labels_format(sel);
    cr_assert_str_eq(s, "a=1,a,b=2,b!=3");
    free(s);
    labels_free(sel);
}

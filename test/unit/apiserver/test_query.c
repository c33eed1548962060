/*
 * test_query.c - query fragments (as lws stores them) to parameters (apiserver/query.c): order,
 * keys and values split at the first '=', empty fragments skipped, long values whole, and a
 * fragment holding a NUL (lws's mark of a request line cut at an encoded CR, LF or NUL) refused.
 */
#include "apiserver/transport/query.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

/* Parses the NUL-terminated strings frags[0..n) as fragments. */
static int parse(const char *const *frags, int n, as_param **out, int *nout, api_error *err)
{
    as_query_frag f[16];
    for (int i = 0; i < n; i++)
        f[i] = (as_query_frag){.data = frags[i], .len = strlen(frags[i])};
    return as_query_parse(f, n, out, nout, err);
}

Test(query, parameters_keep_their_order_and_split_at_the_first_equals)
{
    const char *frags[] = {"labelSelector=a=b,c!=d", "dryRun=All", "k==v"};
    as_param *p;
    int n;
    api_error err = API_ERROR_INIT;
    cr_assert_eq(parse(frags, 3, &p, &n, &err), 0);
    cr_assert_eq(n, 3);
    cr_assert_str_eq(p[0].key, "labelSelector");
    cr_assert_str_eq(p[0].value, "a=b,c!=d");
    cr_assert_str_eq(p[1].key, "dryRun");
    cr_assert_str_eq(p[1].value, "All");
    cr_assert_str_eq(p[2].key, "k");
    cr_assert_str_eq(p[2].value, "=v");
    as_params_free(p, n);
}

Test(query, fragment_without_equals_is_a_key_with_an_empty_value)
{
    const char *frags[] = {"watch", "=x"};
    as_param *p;
    int n;
    api_error err = API_ERROR_INIT;
    cr_assert_eq(parse(frags, 2, &p, &n, &err), 0);
    cr_assert_eq(n, 2);
    cr_assert_str_eq(p[0].key, "watch");
    cr_assert_str_eq(p[0].value, "");
    cr_assert_str_eq(p[1].key, "");
    cr_assert_str_eq(p[1].value, "x");
    as_params_free(p, n);
}

Test(query, empty_fragments_are_skipped_and_hide_nothing_after_them)
{
    const char *frags[] = {"a=1", "", "", "dryRun=All", ""};
    as_param *p;
    int n;
    api_error err = API_ERROR_INIT;
    cr_assert_eq(parse(frags, 5, &p, &n, &err), 0);
    cr_assert_eq(n, 2);
    cr_assert_str_eq(p[1].key, "dryRun");
    cr_assert_str_eq(p[1].value, "All");
    as_params_free(p, n);
}

Test(query, no_fragments_give_no_parameters)
{
    as_param *p = (as_param *)1;
    int n = -1;
    api_error err = API_ERROR_INIT;
    cr_assert_eq(as_query_parse(NULL, 0, &p, &n, &err), 0);
    cr_assert_null(p);
    cr_assert_eq(n, 0);
}

Test(query, a_value_of_100_kib_is_kept_whole)
{
    size_t len = 100 * 1024;
    char *big = malloc(len + 3);
    memcpy(big, "l=", 2);
    memset(big + 2, 'v', len);
    big[len + 2] = '\0';
    const char *frags[] = {big, "dryRun=All"};
    as_param *p;
    int n;
    api_error err = API_ERROR_INIT;
    cr_assert_eq(parse(frags, 2, &p, &n, &err), 0);
    cr_assert_eq(n, 2);
    cr_assert_eq(strlen(p[0].value), len);
    cr_assert_str_eq(p[1].key, "dryRun");
    as_params_free(p, n);
    free(big);
}

Test(query, fragment_holding_a_nul_refuses_the_whole_query_with_400)
{
    /* lws stores "labelSelector=app=a\0" for labelSelector=app%3Da%0D&dryRun=All and drops
       dryRun: taking the selector alone would turn a dry run into a real delete. */
    as_query_frag f[] = {{"labelSelector=app=a\0", 20}, {"limit=1", 7}};
    as_param *p = (as_param *)1;
    int n = -1;
    api_error err = API_ERROR_INIT;
    cr_assert_eq(as_query_parse(f, 2, &p, &n, &err), -1);
    cr_assert_null(p);
    cr_assert_eq(n, 0);
    cr_assert_eq(err.code, 400);
    cr_assert_str_eq(err.reason, "BadRequest");
    cr_assert(strstr(err.message, "cannot be read in full"), "%s", err.message);
    apierr_clear(&err);
}

Test(query, nul_in_a_later_fragment_is_found_too)
{
    as_query_frag f[] = {{"a=1", 3}, {"b=\0x", 4}};
    as_param *p;
    int n;
    api_error err = API_ERROR_INIT;
    cr_assert_eq(as_query_parse(f, 2, &p, &n, &err), -1);
    cr_assert(strstr(err.message, "parameter 2"), "%s", err.message);
    apierr_clear(&err);
}

Test(query, a_key_given_twice_with_different_values_refuses_the_query)
{
    const char *frags[] = {"labelSelector=app=x", "limit=5", "dryRun=All", "dryRun="};
    as_param *p = (as_param *)1;
    int n = -1;
    api_error err = API_ERROR_INIT;
    cr_assert_eq(parse(frags, 4, &p, &n, &err), -1);
    cr_expect_null(p);
    cr_expect_eq(n, 0);
    cr_expect_eq(err.code, 400);
    cr_expect(strstr(err.message, "\"dryRun\""), "%s", err.message);
    apierr_clear(&err);
}

Test(query, a_key_given_twice_with_the_same_value_is_kept)
{
    const char *frags[] = {"dryRun=All", "watch=true", "dryRun=All"};
    as_param *p;
    int n;
    api_error err = API_ERROR_INIT;
    cr_assert_eq(parse(frags, 3, &p, &n, &err), 0);
    cr_expect_eq(n, 3);
    as_params_free(p, n);
}

Test(query, a_list_parameter_may_repeat_with_different_values)
{
    const char *frags[] = {"exclude=storage", "exclude=ping", "verbose"};
    as_param *p;
    int n;
    api_error err = API_ERROR_INIT;
    cr_assert_eq(parse(frags, 3, &p, &n, &err), 0);
    cr_expect_eq(n, 3);
    as_params_free(p, n);
}

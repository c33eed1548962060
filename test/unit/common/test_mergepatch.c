/*
 * test_mergepatch.c - RFC 7386 merge patch (every example of the RFC), SMP directive stripping
 * and merge-patch diff.
 */
#include "common/mergepatch.h"
#include "json_expect.h"

#include "common/alloc.h"
#include "common/json.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>

static void setup(void)
{
    alloc_install_cjson_hooks();
}

TestSuite(mergepatch, .init = setup);

/* Applies patch to target and compares with want; also checks the inputs stay untouched. */
static void expect_merge(const char *target_json, const char *patch_json, const char *want_json)
{
    cJSON *target = tj_parse(target_json);
    cJSON *patch = tj_parse(patch_json);
    cJSON *got = mergepatch_apply(target, patch);
    tj_expect(got, want_json, patch_json);
    tj_expect(target, target_json, "target unchanged");
    tj_expect(patch, patch_json, "patch unchanged");
    cJSON_Delete(got);
    cJSON_Delete(patch);
    cJSON_Delete(target);
}

Test(mergepatch, rfc7386_appendix_a_examples_all_hold)
{
    static const char *const cases[][3] = {
        {"{\"a\":\"b\"}", "{\"a\":\"c\"}", "{\"a\":\"c\"}"},
        {"{\"a\":\"b\"}", "{\"b\":\"c\"}", "{\"a\":\"b\",\"b\":\"c\"}"},
        {"{\"a\":\"b\"}", "{\"a\":null}", "{}"},
        {"{\"a\":\"b\",\"b\":\"c\"}", "{\"a\":null}", "{\"b\":\"c\"}"},
        {"{\"a\":[\"b\"]}", "{\"a\":\"c\"}", "{\"a\":\"c\"}"},
        {"{\"a\":\"c\"}", "{\"a\":[\"b\"]}", "{\"a\":[\"b\"]}"},
        {"{\"a\":{\"b\":\"c\"}}", "{\"a\":{\"b\":\"d\",\"c\":null}}", "{\"a\":{\"b\":\"d\"}}"},
        {"{\"a\":[{\"b\":\"c\"}]}", "{\"a\":[1]}", "{\"a\":[1]}"},
        {"[\"a\",\"b\"]", "[\"c\",\"d\"]", "[\"c\",\"d\"]"},
        {"{\"a\":\"b\"}", "[\"c\"]", "[\"c\"]"},
        {"{\"a\":\"foo\"}", "null", "null"},
        {"{\"a\":\"foo\"}", "\"bar\"", "\"bar\""},
        {"{\"e\":null}", "{\"a\":1}", "{\"e\":null,\"a\":1}"},
        {"[1,2]", "{\"a\":\"b\",\"c\":null}", "{\"a\":\"b\"}"},
        {"{}", "{\"a\":{\"bb\":{\"ccc\":null}}}", "{\"a\":{\"bb\":{}}}"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        expect_merge(cases[i][0], cases[i][1], cases[i][2]);
}

Test(mergepatch, rfc7386_section3_example_holds)
{
    expect_merge("{\"title\":\"Goodbye!\",\"author\":{\"givenName\":\"John\",\"familyName\":"
                 "\"Doe\"},\"tags\":[\"example\",\"sample\"],\"content\":\"This will be "
                 "unchanged\"}",
                 "{\"title\":\"Hello!\",\"phoneNumber\":\"+01-123-456-7890\",\"author\":"
                 "{\"familyName\":null},\"tags\":[\"example\"]}",
                 "{\"title\":\"Hello!\",\"author\":{\"givenName\":\"John\"},\"tags\":"
                 "[\"example\"],\"content\":\"This will be unchanged\",\"phoneNumber\":"
                 "\"+01-123-456-7890\"}");
}

Test(mergepatch, missing_target_is_treated_as_absent)
{
    cJSON *patch = tj_parse("{\"a\":{\"b\":null,\"c\":1}}");
    cJSON *got = mergepatch_apply(NULL, patch);
    tj_expect(got, "{\"a\":{\"c\":1}}", "NULL target");
    cJSON_Delete(got);
    cJSON_Delete(patch);
}

/* ---- SMP directives ------------------------------------------------------------------------ */

static void expect_stripped(const char *patch_json, const char *want_json, int want_count)
{
    cJSON *patch = tj_parse(patch_json);
    int n = mergepatch_strip_smp_directives(patch);
    tj_expect(patch, want_json, patch_json);
    cr_expect_eq(n, want_count, "directives counted in %s", patch_json);
    cJSON_Delete(patch);
}

Test(mergepatch, strip_removes_every_directive_recursively)
{
    expect_stripped("{\"$patch\":\"replace\",\"spec\":{\"$retainKeys\":[\"a\"],\"a\":1,"
                    "\"$setElementOrder/containers\":[{\"name\":\"x\"}],"
                    "\"$deleteFromPrimitiveList/finalizers\":[\"f\"],"
                    "\"template\":{\"$patch\":\"merge\",\"b\":2}}}",
                    "{\"spec\":{\"a\":1,\"template\":{\"b\":2}}}", 5);
}

Test(mergepatch, strip_leaves_a_plain_merge_patch_alone)
{
    expect_stripped("{\"metadata\":{\"labels\":{\"a\":\"b\",\"$c\":\"d\"}},\"spec\":{\"replicas\""
                    ":3,\"list\":[{\"name\":\"x\"},1]}}",
                    "{\"metadata\":{\"labels\":{\"a\":\"b\",\"$c\":\"d\"}},\"spec\":{\"replicas\""
                    ":3,\"list\":[{\"name\":\"x\"},1]}}",
                    0);
}

Test(mergepatch, strip_turns_a_map_delete_directive_into_null)
{
    expect_stripped("{\"metadata\":{\"annotations\":{\"$patch\":\"delete\"}}}",
                    "{\"metadata\":{\"annotations\":null}}", 1);
}

Test(mergepatch, strip_drops_list_elements_that_are_only_directives_or_deletions)
{
    expect_stripped("{\"spec\":{\"containers\":[{\"$patch\":\"replace\"},{\"name\":\"a\","
                    "\"$patch\":\"delete\"},{\"name\":\"b\",\"$patch\":\"merge\",\"image\":\"i\"},"
                    "[{\"$retainKeys\":[]}]]}}",
                    "{\"spec\":{\"containers\":[{\"name\":\"b\",\"image\":\"i\"},[]]}}", 4);
}

Test(mergepatch, strip_ignores_null_and_scalars)
{
    cr_assert_eq(mergepatch_strip_smp_directives(NULL), 0);
    cJSON *s = cJSON_CreateString("$patch");
    cr_assert_eq(mergepatch_strip_smp_directives(s), 0);
    cJSON_Delete(s);
}

Test(mergepatch, stripped_smp_body_applies_as_merge_patch)
{
    cJSON *target = tj_parse("{\"metadata\":{\"name\":\"a\",\"finalizers\":[\"x\",\"y\"]},"
                             "\"spec\":{\"replicas\":1,\"image\":\"i\"}}");
    cJSON *patch = tj_parse("{\"metadata\":{\"$setElementOrder/finalizers\":[\"y\"],"
                            "\"finalizers\":[\"y\"]},\"spec\":{\"replicas\":3}}");
    mergepatch_strip_smp_directives(patch);
    cJSON *got = mergepatch_apply(target, patch);
    tj_expect(got,
              "{\"metadata\":{\"name\":\"a\",\"finalizers\":[\"y\"]},\"spec\":{\"replicas\":3,"
              "\"image\":\"i\"}}",
              "SMP applied");
    cJSON_Delete(got);
    cJSON_Delete(patch);
    cJSON_Delete(target);
}

/* ---- diff ---------------------------------------------------------------------------------- */

/* Diffs from -> to, compares with the expected patch, and checks it replays to `to`. */
static void expect_diff(const char *from_json, const char *to_json, const char *want_json)
{
    cJSON *from = tj_parse(from_json);
    cJSON *to = tj_parse(to_json);
    cJSON *patch = mergepatch_diff(from, to);
    tj_expect(patch, want_json, "diff");
    cJSON *replayed = mergepatch_apply(from, patch);
    tj_expect(replayed, to_json, "diff replayed");
    cJSON_Delete(replayed);
    cJSON_Delete(patch);
    cJSON_Delete(to);
    cJSON_Delete(from);
}

Test(mergepatch, diff_of_equal_objects_is_empty)
{
    expect_diff("{\"a\":1,\"b\":{\"c\":[1,2]}}", "{\"b\":{\"c\":[1,2]},\"a\":1}", "{}");
}

Test(mergepatch, diff_holds_changes_additions_and_null_for_removals)
{
    expect_diff("{\"a\":1,\"b\":{\"c\":1,\"d\":2},\"gone\":true,\"l\":[1,2]}",
                "{\"a\":2,\"b\":{\"c\":1,\"e\":3},\"new\":\"x\",\"l\":[1]}",
                "{\"a\":2,\"b\":{\"d\":null,\"e\":3},\"new\":\"x\",\"gone\":null,\"l\":[1]}");
}

Test(mergepatch, diff_replaces_when_a_type_changes)
{
    expect_diff("{\"a\":{\"b\":1}}", "{\"a\":\"s\"}", "{\"a\":\"s\"}");
    expect_diff("{\"a\":\"s\"}", "{\"a\":{\"b\":1}}", "{\"a\":{\"b\":1}}");
    expect_diff("[1]", "{\"a\":1}", "{\"a\":1}");
    expect_diff("{\"a\":1}", "[1]", "[1]");
}

/* ---- large objects: keys are matched through an index, in linear time --------------------- */

/* An object of n members "k<i>": value (reversed order when reverse). */
static cJSON *many_keys(int n, const char *value, bool reverse)
{
    cJSON *o = cJSON_CreateObject();
    for (int i = 0; i < n; i++) {
        char key[16];
        snprintf(key, sizeof key, "k%d", reverse ? n - 1 - i : i);
        cJSON_AddStringToObject(o, key, value);
    }
    return o;
}

Test(mergepatch, a_patch_of_250000_keys_merges_into_250000_keys)
{
    enum { N = 250000 };
    cJSON *target = cJSON_CreateObject();
    cJSON_AddItemToObject(target, "labels", many_keys(N, "old", false));
    cJSON *patch = cJSON_CreateObject();
    cJSON *pl = many_keys(N, "new", true);
    cJSON_ReplaceItemInObject(pl, "k5", cJSON_CreateNull());
    cJSON_AddStringToObject(pl, "extra", "x");
    cJSON_AddItemToObject(patch, "labels", pl);
    cJSON *got = mergepatch_apply(target, patch);
    const cJSON *labels = cJSON_GetObjectItem(got, "labels");
    cr_assert_eq(cJSON_GetArraySize(labels), N); /* one removed, one added */
    cr_assert_str_eq(cJSON_GetObjectItem(labels, "k0")->valuestring, "new");
    cr_assert_str_eq(cJSON_GetObjectItem(labels, "extra")->valuestring, "x");
    cr_assert_null(cJSON_GetObjectItem(labels, "k5"));
    cr_assert_str_eq(labels->child->string, "k0", "target order kept");
    cJSON *diff = mergepatch_diff(target, got);
    cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItem(diff, "labels")), N + 1);
    cJSON *back = mergepatch_apply(target, diff);
    cr_assert(json_equal(back, got));
    cJSON_Delete(back);
    cJSON_Delete(diff);
    cJSON_Delete(got);
    cJSON_Delete(patch);
    cJSON_Delete(target);
}

Test(mergepatch, the_last_of_repeated_keys_counts)
{
    cJSON *target = tj_parse("{\"a\":1,\"b\":2,\"a\":3}");
    cJSON *patch = tj_parse("{\"b\":null,\"c\":1,\"c\":null,\"d\":{\"e\":null,\"e\":5}}");
    cJSON *got = mergepatch_apply(target, patch);
    tj_expect(got, "{\"a\":3,\"d\":{\"e\":5}}", "last wins");
    cr_assert_eq(cJSON_GetArraySize(got), 2, "each key once");
    cJSON_Delete(got);
    cJSON_Delete(patch);
    cJSON_Delete(target);
}

/*
 * test_jsonpatch.c - RFC 6902 JSON patch: the examples of RFC 6902 appendix A and RFC 6901 §5,
 * pointer escaping, array index rules, every error class with its HTTP code (400, 413, 422),
 * atomicity and untouched inputs.
 */
#include "common/jsonpatch.h"
#include "json_expect.h"

#include "common/alloc.h"
#include "common/json.h"
#include "common/sbuf.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void setup(void)
{
    alloc_install_cjson_hooks();
}

TestSuite(jsonpatch, .init = setup);

/* Inputs must come out byte-identical when printed (member order and duplicates included). */
static void expect_same_text(const cJSON *item, const char *before, const char *what)
{
    char *after = json_print(item);
    cr_expect_str_eq(after, before, "%s", what);
    free(after);
}

/* Applies patch to doc, expects success with want; also checks the inputs stay untouched. */
static void expect_patch(const char *doc_json, const char *patch_json, const char *want_json)
{
    cJSON *doc = tj_parse(doc_json);
    cJSON *patch = tj_parse(patch_json);
    char *doc_text = json_print(doc);
    char *patch_text = json_print(patch);
    api_error err = API_ERROR_INIT;
    cJSON *got = jsonpatch_apply(doc, patch, &err);
    cr_expect_not_null(got, "%s failed: %d %s", patch_json, err.code,
                       err.message ? err.message : "");
    if (got)
        tj_expect(got, want_json, patch_json);
    expect_same_text(doc, doc_text, "doc unchanged");
    expect_same_text(patch, patch_text, "patch unchanged");
    free(doc_text);
    free(patch_text);
    cJSON_Delete(got);
    cJSON_Delete(patch);
    cJSON_Delete(doc);
    apierr_clear(&err);
}

/*
 * Applies patch to doc, expects failure with code/reason and a message containing `needle`;
 * also checks the inputs stay untouched.
 */
static void expect_error(const char *doc_json, const char *patch_json, int code, const char *reason,
                         const char *needle)
{
    cJSON *doc = tj_parse(doc_json);
    cJSON *patch = tj_parse(patch_json);
    char *doc_text = json_print(doc);
    char *patch_text = json_print(patch);
    api_error err = API_ERROR_INIT;
    cJSON *got = jsonpatch_apply(doc, patch, &err);
    cr_expect_null(got, "%s: expected an error", patch_json);
    cr_expect_eq(err.code, code, "%s: code %d, want %d (%s)", patch_json, err.code, code,
                 err.message ? err.message : "");
    cr_expect_str_eq(err.reason ? err.reason : "", reason, "%s", patch_json);
    cr_expect(err.message && strstr(err.message, needle), "%s: message \"%s\" lacks \"%s\"",
              patch_json, err.message ? err.message : "", needle);
    expect_same_text(doc, doc_text, "doc unchanged");
    expect_same_text(patch, patch_text, "patch unchanged");
    free(doc_text);
    free(patch_text);
    cJSON_Delete(got);
    cJSON_Delete(patch);
    cJSON_Delete(doc);
    apierr_clear(&err);
}

/* ---- RFC 6902 appendix A ------------------------------------------------------------------- */

Test(jsonpatch, rfc6902_a1_adds_an_object_member)
{
    expect_patch("{\"foo\":\"bar\"}", "[{\"op\":\"add\",\"path\":\"/baz\",\"value\":\"qux\"}]",
                 "{\"baz\":\"qux\",\"foo\":\"bar\"}");
}

Test(jsonpatch, rfc6902_a2_adds_an_array_element)
{
    expect_patch("{\"foo\":[\"bar\",\"baz\"]}",
                 "[{\"op\":\"add\",\"path\":\"/foo/1\",\"value\":\"qux\"}]",
                 "{\"foo\":[\"bar\",\"qux\",\"baz\"]}");
}

Test(jsonpatch, rfc6902_a3_removes_an_object_member)
{
    expect_patch("{\"baz\":\"qux\",\"foo\":\"bar\"}", "[{\"op\":\"remove\",\"path\":\"/baz\"}]",
                 "{\"foo\":\"bar\"}");
}

Test(jsonpatch, rfc6902_a4_removes_an_array_element)
{
    expect_patch("{\"foo\":[\"bar\",\"qux\",\"baz\"]}", "[{\"op\":\"remove\",\"path\":\"/foo/1\"}]",
                 "{\"foo\":[\"bar\",\"baz\"]}");
}

Test(jsonpatch, rfc6902_a5_replaces_a_value)
{
    expect_patch("{\"baz\":\"qux\",\"foo\":\"bar\"}",
                 "[{\"op\":\"replace\",\"path\":\"/baz\",\"value\":\"boo\"}]",
                 "{\"baz\":\"boo\",\"foo\":\"bar\"}");
}

Test(jsonpatch, rfc6902_a6_moves_a_value)
{
    expect_patch("{\"foo\":{\"bar\":\"baz\",\"waldo\":\"fred\"},\"qux\":{\"corge\":\"grault\"}}",
                 "[{\"op\":\"move\",\"from\":\"/foo/waldo\",\"path\":\"/qux/thud\"}]",
                 "{\"foo\":{\"bar\":\"baz\"},\"qux\":{\"corge\":\"grault\",\"thud\":\"fred\"}}");
}

Test(jsonpatch, rfc6902_a7_moves_an_array_element)
{
    expect_patch("{\"foo\":[\"all\",\"grass\",\"cows\",\"eat\"]}",
                 "[{\"op\":\"move\",\"from\":\"/foo/1\",\"path\":\"/foo/3\"}]",
                 "{\"foo\":[\"all\",\"cows\",\"eat\",\"grass\"]}");
}

Test(jsonpatch, rfc6902_a8_test_succeeds_and_changes_nothing)
{
    expect_patch("{\"baz\":\"qux\",\"foo\":[\"a\",2,\"c\"]}",
                 "[{\"op\":\"test\",\"path\":\"/baz\",\"value\":\"qux\"},"
                 "{\"op\":\"test\",\"path\":\"/foo/1\",\"value\":2}]",
                 "{\"baz\":\"qux\",\"foo\":[\"a\",2,\"c\"]}");
}

Test(jsonpatch, rfc6902_a9_failing_test_is_422_invalid)
{
    expect_error("{\"baz\":\"qux\"}", "[{\"op\":\"test\",\"path\":\"/baz\",\"value\":\"bar\"}]",
                 422, "Invalid", "testing value /baz failed: test failed");
}

Test(jsonpatch, rfc6902_a10_adds_a_nested_member_object)
{
    expect_patch("{\"foo\":\"bar\"}",
                 "[{\"op\":\"add\",\"path\":\"/child\",\"value\":{\"grandchild\":{}}}]",
                 "{\"foo\":\"bar\",\"child\":{\"grandchild\":{}}}");
}

Test(jsonpatch, rfc6902_a11_ignores_unrecognized_members)
{
    expect_patch("{\"foo\":\"bar\"}",
                 "[{\"op\":\"add\",\"path\":\"/baz\",\"value\":\"qux\",\"xyz\":123}]",
                 "{\"foo\":\"bar\",\"baz\":\"qux\"}");
}

Test(jsonpatch, rfc6902_a12_add_to_a_missing_parent_is_422)
{
    expect_error("{\"foo\":\"bar\"}", "[{\"op\":\"add\",\"path\":\"/baz/bat\",\"value\":\"qux\"}]",
                 422, "Invalid", "add operation does not apply: doc is missing path: \"/baz/bat\"");
}

Test(jsonpatch, rfc6902_a13_duplicate_op_member_is_400)
{
    expect_error("{\"foo\":\"bar\"}",
                 "[{\"op\":\"add\",\"path\":\"/baz\",\"value\":\"qux\",\"op\":\"remove\"}]", 400,
                 "BadRequest", "member \"op\" appears more than once");
}

Test(jsonpatch, rfc6902_a14_escaped_pointer_is_tested)
{
    expect_patch("{\"/\":9,\"~1\":10}", "[{\"op\":\"test\",\"path\":\"/~01\",\"value\":10}]",
                 "{\"/\":9,\"~1\":10}");
}

Test(jsonpatch, rfc6902_a15_string_never_equals_number)
{
    expect_error("{\"/\":9,\"~1\":10}", "[{\"op\":\"test\",\"path\":\"/~01\",\"value\":\"10\"}]",
                 422, "Invalid", "testing value /~01 failed");
}

Test(jsonpatch, rfc6902_a16_adds_an_array_value_at_the_end)
{
    expect_patch("{\"foo\":[\"bar\"]}",
                 "[{\"op\":\"add\",\"path\":\"/foo/-\",\"value\":[\"abc\",\"def\"]}]",
                 "{\"foo\":[\"bar\",[\"abc\",\"def\"]]}");
}

/* ---- pointers ------------------------------------------------------------------------------ */

Test(jsonpatch, rfc6901_section5_pointers_resolve)
{
    static const char doc[] = "{\"foo\":[\"bar\",\"baz\"],\"\":0,\"a/b\":1,\"c%d\":2,\"e^f\":3,"
                              "\"g|h\":4,\"i\\\\j\":5,\"k\\\"l\":6,\" \":7,\"m~n\":8}";
    static const char *const tests[] = {
        "{\"op\":\"test\",\"path\":\"\",\"value\":" /* whole document */
        "{\"foo\":[\"bar\",\"baz\"],\"\":0,\"a/b\":1,\"c%d\":2,\"e^f\":3,"
        "\"g|h\":4,\"i\\\\j\":5,\"k\\\"l\":6,\" \":7,\"m~n\":8}}",
        "{\"op\":\"test\",\"path\":\"/foo\",\"value\":[\"bar\",\"baz\"]}",
        "{\"op\":\"test\",\"path\":\"/foo/0\",\"value\":\"bar\"}",
        "{\"op\":\"test\",\"path\":\"/\",\"value\":0}",
        "{\"op\":\"test\",\"path\":\"/a~1b\",\"value\":1}",
        "{\"op\":\"test\",\"path\":\"/c%d\",\"value\":2}",
        "{\"op\":\"test\",\"path\":\"/e^f\",\"value\":3}",
        "{\"op\":\"test\",\"path\":\"/g|h\",\"value\":4}",
        "{\"op\":\"test\",\"path\":\"/i\\\\j\",\"value\":5}",
        "{\"op\":\"test\",\"path\":\"/k\\\"l\",\"value\":6}",
        "{\"op\":\"test\",\"path\":\"/ \",\"value\":7}",
        "{\"op\":\"test\",\"path\":\"/m~0n\",\"value\":8}",
    };
    for (size_t i = 0; i < sizeof tests / sizeof tests[0]; i++) {
        sbuf patch = SBUF_INIT;
        sbuf_printf(&patch, "[%s]", tests[i]);
        expect_patch(doc, patch.data, doc);
        sbuf_free(&patch);
    }
}

Test(jsonpatch, tilde_escapes_apply_to_added_keys)
{
    expect_patch("{}",
                 "[{\"op\":\"add\",\"path\":\"/a~1b\",\"value\":1},"
                 "{\"op\":\"add\",\"path\":\"/c~0d\",\"value\":2},"
                 "{\"op\":\"add\",\"path\":\"/~01\",\"value\":3}]",
                 "{\"a/b\":1,\"c~d\":2,\"~1\":3}");
}

Test(jsonpatch, annotation_keys_with_slashes_are_patchable)
{
    expect_patch("{\"metadata\":{\"annotations\":{\"demo.example.com/restartedAt\":\"x\"}}}",
                 "[{\"op\":\"replace\",\"path\":"
                 "\"/metadata/annotations/demo.example.com~1restartedAt\",\"value\":\"y\"}]",
                 "{\"metadata\":{\"annotations\":{\"demo.example.com/restartedAt\":\"y\"}}}");
}

Test(jsonpatch, malformed_pointers_are_400)
{
    expect_error("{\"a\":1}", "[{\"op\":\"remove\",\"path\":\"a\"}]", 400, "BadRequest",
                 "\"path\" is not a valid JSON pointer: \"a\"");
    expect_error("{\"a\":1}", "[{\"op\":\"remove\",\"path\":\"/a~2\"}]", 400, "BadRequest",
                 "not a valid JSON pointer");
    expect_error("{\"a\":1}", "[{\"op\":\"remove\",\"path\":\"/a~\"}]", 400, "BadRequest",
                 "not a valid JSON pointer");
    expect_error("{\"a\":1}", "[{\"op\":\"copy\",\"from\":\"a\",\"path\":\"/b\"}]", 400,
                 "BadRequest", "\"from\" is not a valid JSON pointer");
}

Test(jsonpatch, keys_are_case_sensitive)
{
    expect_error("{\"foo\":1}", "[{\"op\":\"remove\",\"path\":\"/Foo\"}]", 422, "Invalid",
                 "no member \"Foo\"");
    expect_patch("{\"foo\":1}", "[{\"op\":\"add\",\"path\":\"/Foo\",\"value\":2}]",
                 "{\"foo\":1,\"Foo\":2}");
}

Test(jsonpatch, empty_key_is_a_member_not_the_root)
{
    expect_patch("{\"a\":1}", "[{\"op\":\"add\",\"path\":\"/\",\"value\":2}]", "{\"a\":1,\"\":2}");
}

/* ---- whole document ------------------------------------------------------------------------ */

Test(jsonpatch, empty_path_replaces_the_whole_document)
{
    expect_patch("{\"a\":1}", "[{\"op\":\"replace\",\"path\":\"\",\"value\":[1]}]", "[1]");
    expect_patch("{\"a\":1}", "[{\"op\":\"add\",\"path\":\"\",\"value\":{\"b\":2}}]", "{\"b\":2}");
}

Test(jsonpatch, removing_the_whole_document_is_422)
{
    expect_error("{\"a\":1}", "[{\"op\":\"remove\",\"path\":\"\"}]", 422, "Invalid",
                 "the whole document cannot be removed");
}

Test(jsonpatch, empty_patch_returns_an_equal_copy)
{
    expect_patch("{\"a\":[1,{\"b\":null}]}", "[]", "{\"a\":[1,{\"b\":null}]}");
}

/* ---- operations ---------------------------------------------------------------------------- */

Test(jsonpatch, add_replaces_an_existing_member)
{
    expect_patch("{\"a\":1}", "[{\"op\":\"add\",\"path\":\"/a\",\"value\":2}]", "{\"a\":2}");
}

Test(jsonpatch, null_is_a_value)
{
    expect_patch("{\"a\":1}", "[{\"op\":\"replace\",\"path\":\"/a\",\"value\":null}]",
                 "{\"a\":null}");
    expect_patch("{\"a\":null}", "[{\"op\":\"test\",\"path\":\"/a\",\"value\":null}]",
                 "{\"a\":null}");
}

Test(jsonpatch, replace_of_a_missing_member_is_422)
{
    expect_error("{\"a\":1}", "[{\"op\":\"replace\",\"path\":\"/b\",\"value\":2}]", 422, "Invalid",
                 "replace operation does not apply: doc is missing path: \"/b\"");
}

Test(jsonpatch, remove_of_a_missing_member_is_422)
{
    expect_error("{\"a\":1}", "[{\"op\":\"remove\",\"path\":\"/b\"}]", 422, "Invalid",
                 "remove operation does not apply: doc is missing path: \"/b\"");
}

Test(jsonpatch, move_and_copy_from_a_missing_path_are_422)
{
    expect_error("{\"a\":1}", "[{\"op\":\"move\",\"from\":\"/b\",\"path\":\"/c\"}]", 422, "Invalid",
                 "move operation does not apply: doc is missing from path: \"/b\"");
    expect_error("{\"a\":1}", "[{\"op\":\"copy\",\"from\":\"/b\",\"path\":\"/c\"}]", 422, "Invalid",
                 "copy operation does not apply: doc is missing from path: \"/b\"");
}

Test(jsonpatch, move_to_a_missing_parent_is_422)
{
    expect_error("{\"a\":1}", "[{\"op\":\"move\",\"from\":\"/a\",\"path\":\"/x/y\"}]", 422,
                 "Invalid", "move operation does not apply: doc is missing path: \"/x/y\"");
}

Test(jsonpatch, move_into_its_own_child_is_400)
{
    expect_error("{\"a\":{\"b\":1}}", "[{\"op\":\"move\",\"from\":\"/a\",\"path\":\"/a/c\"}]", 400,
                 "BadRequest", "is a proper prefix of");
}

Test(jsonpatch, move_to_itself_changes_nothing)
{
    expect_patch("{\"a\":{\"b\":1}}", "[{\"op\":\"move\",\"from\":\"/a\",\"path\":\"/a\"}]",
                 "{\"a\":{\"b\":1}}");
}

Test(jsonpatch, move_to_a_sibling_with_a_longer_name_is_allowed)
{
    expect_patch("{\"a\":1}", "[{\"op\":\"move\",\"from\":\"/a\",\"path\":\"/ab\"}]", "{\"ab\":1}");
}

Test(jsonpatch, move_between_object_and_array_keeps_values)
{
    expect_patch("{\"o\":{\"k\":{\"x\":1}},\"l\":[]}",
                 "[{\"op\":\"move\",\"from\":\"/o/k\",\"path\":\"/l/0\"},"
                 "{\"op\":\"move\",\"from\":\"/l/0\",\"path\":\"/o/back\"}]",
                 "{\"o\":{\"back\":{\"x\":1}},\"l\":[]}");
}

Test(jsonpatch, copy_duplicates_a_subtree)
{
    expect_patch("{\"a\":{\"b\":[1,2]}}",
                 "[{\"op\":\"copy\",\"from\":\"/a\",\"path\":\"/c\"},"
                 "{\"op\":\"add\",\"path\":\"/c/b/-\",\"value\":3}]",
                 "{\"a\":{\"b\":[1,2]},\"c\":{\"b\":[1,2,3]}}");
}

Test(jsonpatch, copy_from_the_root_into_a_member)
{
    expect_patch("{\"a\":1}", "[{\"op\":\"copy\",\"from\":\"\",\"path\":\"/self\"}]",
                 "{\"a\":1,\"self\":{\"a\":1}}");
}

Test(jsonpatch, test_compares_objects_regardless_of_member_order)
{
    expect_patch("{\"a\":{\"x\":1,\"y\":[true,null]}}",
                 "[{\"op\":\"test\",\"path\":\"/a\",\"value\":{\"y\":[true,null],\"x\":1.0}}]",
                 "{\"a\":{\"x\":1,\"y\":[true,null]}}");
}

Test(jsonpatch, test_of_a_missing_path_is_422)
{
    expect_error("{\"a\":1}", "[{\"op\":\"test\",\"path\":\"/b\",\"value\":null}]", 422, "Invalid",
                 "test operation does not apply: doc is missing path: \"/b\"");
}

Test(jsonpatch, failing_test_message_names_op_index_and_path)
{
    expect_error("{\"spec\":{\"replicas\":1}}",
                 "[{\"op\":\"replace\",\"path\":\"/spec/replicas\",\"value\":2},"
                 "{\"op\":\"test\",\"path\":\"/spec/replicas\",\"value\":3}]",
                 422, "Invalid",
                 "json patch operation #1: testing value /spec/replicas failed: test failed");
}

/* ---- arrays -------------------------------------------------------------------------------- */

Test(jsonpatch, add_at_index_equal_to_length_appends)
{
    expect_patch("[1,2]", "[{\"op\":\"add\",\"path\":\"/2\",\"value\":3}]", "[1,2,3]");
    expect_patch("[]", "[{\"op\":\"add\",\"path\":\"/0\",\"value\":1}]", "[1]");
    expect_patch("[]", "[{\"op\":\"add\",\"path\":\"/-\",\"value\":1}]", "[1]");
}

Test(jsonpatch, add_at_index_zero_prepends)
{
    expect_patch("[1,2]", "[{\"op\":\"add\",\"path\":\"/0\",\"value\":0}]", "[0,1,2]");
}

Test(jsonpatch, add_in_the_middle_inserts_before_the_index)
{
    expect_patch("[0,1,3,4]", "[{\"op\":\"add\",\"path\":\"/2\",\"value\":2}]", "[0,1,2,3,4]");
    expect_patch("[0,1,2]",
                 "[{\"op\":\"add\",\"path\":\"/1\",\"value\":\"a\"},"
                 "{\"op\":\"add\",\"path\":\"/3\",\"value\":\"b\"}]",
                 "[0,\"a\",1,\"b\",2]");
}

Test(jsonpatch, move_to_an_earlier_index_inserts)
{
    expect_patch("{\"foo\":[\"all\",\"grass\",\"cows\",\"eat\"]}",
                 "[{\"op\":\"move\",\"from\":\"/foo/3\",\"path\":\"/foo/1\"}]",
                 "{\"foo\":[\"all\",\"eat\",\"grass\",\"cows\"]}");
}

Test(jsonpatch, add_past_the_end_is_422)
{
    expect_error("[1,2]", "[{\"op\":\"add\",\"path\":\"/3\",\"value\":3}]", 422, "Invalid",
                 "index 3 is out of range for an array of length 2");
}

Test(jsonpatch, index_equal_to_length_is_missing_for_other_ops)
{
    expect_error("[1,2]", "[{\"op\":\"remove\",\"path\":\"/2\"}]", 422, "Invalid",
                 "index 2 is out of range");
    expect_error("[1,2]", "[{\"op\":\"replace\",\"path\":\"/2\",\"value\":0}]", 422, "Invalid",
                 "index 2 is out of range");
    expect_error("[1,2]", "[{\"op\":\"test\",\"path\":\"/2\",\"value\":0}]", 422, "Invalid",
                 "index 2 is out of range");
    expect_error("[1,2]", "[{\"op\":\"copy\",\"from\":\"/2\",\"path\":\"/0\"}]", 422, "Invalid",
                 "index 2 is out of range");
}

Test(jsonpatch, index_with_leading_zero_is_rejected)
{
    expect_error("[1,2]", "[{\"op\":\"remove\",\"path\":\"/01\"}]", 422, "Invalid",
                 "\"01\" is not a valid array index");
    expect_error("[1,2]", "[{\"op\":\"add\",\"path\":\"/00\",\"value\":0}]", 422, "Invalid",
                 "\"00\" is not a valid array index");
}

Test(jsonpatch, non_numeric_index_is_rejected)
{
    expect_error("[1,2]", "[{\"op\":\"remove\",\"path\":\"/a\"}]", 422, "Invalid",
                 "\"a\" is not a valid array index");
    expect_error("[1,2]", "[{\"op\":\"remove\",\"path\":\"/-1\"}]", 422, "Invalid",
                 "not a valid array index");
    expect_error("[1,2]", "[{\"op\":\"remove\",\"path\":\"/1e0\"}]", 422, "Invalid",
                 "not a valid array index");
}

Test(jsonpatch, dash_is_only_valid_for_add)
{
    expect_error("[1,2]", "[{\"op\":\"remove\",\"path\":\"/-\"}]", 422, "Invalid",
                 "\"-\" is not a valid array index");
    expect_error("[1,2]", "[{\"op\":\"replace\",\"path\":\"/-\",\"value\":0}]", 422, "Invalid",
                 "\"-\" is not a valid array index");
}

Test(jsonpatch, huge_index_is_out_of_range)
{
    expect_error("[1]", "[{\"op\":\"remove\",\"path\":\"/99999999999999999999\"}]", 422, "Invalid",
                 "out of range");
}

Test(jsonpatch, replace_and_remove_in_arrays)
{
    expect_patch("[1,2,3]",
                 "[{\"op\":\"replace\",\"path\":\"/1\",\"value\":{\"x\":2}},"
                 "{\"op\":\"remove\",\"path\":\"/0\"}]",
                 "[{\"x\":2},3]");
}

Test(jsonpatch, scalar_parents_have_no_members)
{
    expect_error("{\"a\":\"s\"}", "[{\"op\":\"add\",\"path\":\"/a/b\",\"value\":1}]", 422,
                 "Invalid", "a string has no member \"b\"");
    expect_error("{\"a\":1}", "[{\"op\":\"remove\",\"path\":\"/a/0\"}]", 422, "Invalid",
                 "a number has no member \"0\"");
}

/* ---- malformed patches --------------------------------------------------------------------- */

Test(jsonpatch, patch_that_is_not_an_array_is_400)
{
    expect_error("{}", "{\"op\":\"add\",\"path\":\"/a\",\"value\":1}", 400, "BadRequest",
                 "the server rejected our request due to an error in our request: a JSON patch "
                 "must be a JSON array");
}

Test(jsonpatch, operation_that_is_not_an_object_is_400)
{
    expect_error("{}", "[1]", 400, "BadRequest", "json patch operation #0 is not an object");
}

Test(jsonpatch, unknown_or_missing_op_is_400)
{
    expect_error("{}", "[{\"op\":\"merge\",\"path\":\"/a\"}]", 400, "BadRequest",
                 "unknown op \"merge\"");
    expect_error("{}", "[{\"op\":\"Add\",\"path\":\"/a\",\"value\":1}]", 400, "BadRequest",
                 "unknown op \"Add\"");
    expect_error("{}", "[{\"path\":\"/a\"}]", 400, "BadRequest", "missing string \"op\"");
    expect_error("{}", "[{\"op\":1,\"path\":\"/a\"}]", 400, "BadRequest", "missing string \"op\"");
}

Test(jsonpatch, missing_path_is_400)
{
    expect_error("{}", "[{\"op\":\"add\",\"value\":1}]", 400, "BadRequest",
                 "json patch operation #0 (add): missing string \"path\"");
    expect_error("{}", "[{\"op\":\"remove\",\"path\":3}]", 400, "BadRequest",
                 "missing string \"path\"");
}

Test(jsonpatch, missing_value_is_400)
{
    expect_error("{\"a\":1}", "[{\"op\":\"add\",\"path\":\"/b\"}]", 400, "BadRequest",
                 "(add): missing \"value\"");
    expect_error("{\"a\":1}", "[{\"op\":\"replace\",\"path\":\"/a\"}]", 400, "BadRequest",
                 "(replace): missing \"value\"");
    expect_error("{\"a\":1}", "[{\"op\":\"test\",\"path\":\"/a\"}]", 400, "BadRequest",
                 "(test): missing \"value\"");
}

Test(jsonpatch, missing_from_is_400)
{
    expect_error("{\"a\":1}", "[{\"op\":\"move\",\"path\":\"/b\"}]", 400, "BadRequest",
                 "(move): missing string \"from\"");
    expect_error("{\"a\":1}", "[{\"op\":\"copy\",\"path\":\"/b\"}]", 400, "BadRequest",
                 "(copy): missing string \"from\"");
}

Test(jsonpatch, malformed_op_after_a_failing_one_is_still_400)
{
    /* Decoding checks every operation first, so the document never decides the class. */
    expect_error(
        "{\"a\":1}",
        "[{\"op\":\"test\",\"path\":\"/a\",\"value\":2},{\"op\":\"bogus\",\"path\":\"/a\"}]", 400,
        "BadRequest", "json patch operation #1: unknown op \"bogus\"");
}

/* ---- limits and atomicity ------------------------------------------------------------------ */

/* A patch of n `test` operations that all hold on {"a":1}. */
static cJSON *many_tests(int n)
{
    cJSON *patch = cJSON_CreateArray();
    for (int i = 0; i < n; i++) {
        cJSON *op = cJSON_CreateObject();
        cJSON_AddStringToObject(op, "op", "test");
        cJSON_AddStringToObject(op, "path", "/a");
        cJSON_AddNumberToObject(op, "value", 1);
        cJSON_AddItemToArray(patch, op);
    }
    return patch;
}

Test(jsonpatch, more_than_10000_operations_is_413)
{
    cJSON *doc = tj_parse("{\"a\":1}");
    cJSON *patch = many_tests(JSONPATCH_MAX_OPERATIONS + 1);
    api_error err = API_ERROR_INIT;
    cJSON *got = jsonpatch_apply(doc, patch, &err);
    cr_expect_null(got);
    cr_expect_eq(err.code, 413);
    cr_expect_str_eq(err.reason, "RequestEntityTooLarge");
    cr_expect(strstr(err.message,
                     "The allowed maximum operations in a JSON patch is 10000, got: 10001") != NULL,
              "message: %s", err.message);
    apierr_clear(&err);
    cJSON_Delete(got);
    cJSON_Delete(patch);
    cJSON_Delete(doc);
}

Test(jsonpatch, exactly_10000_operations_are_applied)
{
    cJSON *doc = tj_parse("{\"a\":1}");
    cJSON *patch = many_tests(JSONPATCH_MAX_OPERATIONS);
    api_error err = API_ERROR_INIT;
    cJSON *got = jsonpatch_apply(doc, patch, &err);
    cr_expect_not_null(got, "error %d %s", err.code, err.message ? err.message : "");
    cr_expect_eq(err.code, 0);
    tj_expect(got, "{\"a\":1}", "10000 tests");
    apierr_clear(&err);
    cJSON_Delete(got);
    cJSON_Delete(patch);
    cJSON_Delete(doc);
}

Test(jsonpatch, failure_late_in_the_patch_returns_null_and_keeps_doc)
{
    /* expect_error checks that doc and patch are unchanged after the earlier ops ran. */
    expect_error("{\"a\":{\"b\":[1,2]},\"c\":\"d\"}",
                 "[{\"op\":\"remove\",\"path\":\"/a/b/0\"},"
                 "{\"op\":\"move\",\"from\":\"/c\",\"path\":\"/e\"},"
                 "{\"op\":\"add\",\"path\":\"/a/b/-\",\"value\":{\"n\":1}},"
                 "{\"op\":\"replace\",\"path\":\"/nope\",\"value\":0}]",
                 422, "Invalid", "json patch operation #3: replace operation does not apply");
}

Test(jsonpatch, added_values_are_copies_of_the_patch)
{
    cJSON *doc = tj_parse("{}");
    cJSON *patch = tj_parse("[{\"op\":\"add\",\"path\":\"/v\",\"value\":{\"x\":[1]}}]");
    api_error err = API_ERROR_INIT;
    cJSON *got = jsonpatch_apply(doc, patch, &err);
    cr_assert_not_null(got);
    cJSON *added = cJSON_GetObjectItemCaseSensitive(got, "v");
    cJSON *value = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(patch, 0), "value");
    cr_expect_neq(added, value, "result shares a node with the patch");
    cJSON_AddNumberToObject(added, "y", 2);
    tj_expect(patch, "[{\"op\":\"add\",\"path\":\"/v\",\"value\":{\"x\":[1]}}]",
              "patch unchanged after editing the result");
    cJSON_Delete(got);
    cJSON_Delete(patch);
    cJSON_Delete(doc);
}

Test(jsonpatch, null_document_is_a_json_null)
{
    cJSON *patch = tj_parse("[{\"op\":\"add\",\"path\":\"\",\"value\":{\"a\":1}}]");
    api_error err = API_ERROR_INIT;
    cJSON *got = jsonpatch_apply(NULL, patch, &err);
    cr_assert_not_null(got);
    tj_expect(got, "{\"a\":1}", "patched null");
    cJSON_Delete(got);
    cJSON_Delete(patch);
}

/* ---- bounds on what one patch may build ------------------------------------------------------ */

Test(jsonpatch, a_copy_bomb_is_refused_with_413)
{
    /* Each copy of /spec into itself doubles it: 40 of them would make 2^40 copies. */
    sbuf patch = SBUF_INIT;
    sbuf_putc(&patch, '[');
    for (int i = 0; i < 40; i++)
        sbuf_printf(&patch, "%s{\"op\":\"copy\",\"from\":\"/spec\",\"path\":\"/spec/c%d\"}",
                    i ? "," : "", i);
    sbuf_putc(&patch, ']');
    expect_error("{\"spec\":{\"image\":\"0123456789012345678901234567890123456789\"}}", patch.data,
                 413, "RequestEntityTooLarge",
                 "Unable to complete the copy, the accumulated size increase of copy would exceed "
                 "the limit 3145728 bytes");
    sbuf_free(&patch);
}

/* A document {"s": "<n x's>"}. */
static char *doc_with_string(size_t n)
{
    char *doc = xmalloc(n + 16);
    strcpy(doc, "{\"s\":\"");
    memset(doc + 6, 'x', n);
    strcpy(doc + 6 + n, "\"}");
    return doc;
}

Test(jsonpatch, copies_may_add_up_to_exactly_the_limit)
{
    /* The string's JSON text, quotes included, is exactly JSONPATCH_MAX_COPY_BYTES long. */
    char *doc = doc_with_string(JSONPATCH_MAX_COPY_BYTES - 2);
    cJSON *d = tj_parse(doc);
    cJSON *one = tj_parse("[{\"op\":\"copy\",\"from\":\"/s\",\"path\":\"/t\"}]");
    api_error err = API_ERROR_INIT;
    cJSON *got = jsonpatch_apply(d, one, &err);
    cr_assert_not_null(got, "%s", err.message ? err.message : "");
    cr_assert_eq(strlen(cJSON_GetObjectItem(got, "t")->valuestring), JSONPATCH_MAX_COPY_BYTES - 2);
    cJSON_Delete(got);
    cJSON *two = tj_parse("[{\"op\":\"copy\",\"from\":\"/s\",\"path\":\"/t\"},"
                          "{\"op\":\"copy\",\"from\":\"/s\",\"path\":\"/u\"}]");
    cr_assert_null(jsonpatch_apply(d, two, &err));
    cr_assert_eq(err.code, 413);
    cr_assert(strstr(err.message, "json patch operation #1:"), "%s", err.message);
    apierr_clear(&err);
    cJSON_Delete(two);
    cJSON_Delete(one);
    cJSON_Delete(d);
    free(doc);
}

/* Applies patch_json to doc and expects a 413 naming operation #op. */
static void expect_copy_refused_at(const cJSON *doc, const char *patch_json, int op)
{
    cJSON *patch = tj_parse(patch_json);
    api_error err = API_ERROR_INIT;
    cr_assert_null(jsonpatch_apply(doc, patch, &err));
    cr_assert_eq(err.code, 413);
    char *want = xasprintf("json patch operation #%d:", op);
    cr_assert(strstr(err.message, want), "%s", err.message);
    free(want);
    apierr_clear(&err);
    cJSON_Delete(patch);
}

Test(jsonpatch, escapes_count_in_the_copied_size)
{
    /* 1 MiB of newlines is 2 MiB of JSON: the second copy passes 3 MiB. */
    size_t n = 1 << 20;
    cJSON *doc = cJSON_CreateObject();
    char *s = xmalloc(n + 1);
    memset(s, '\n', n);
    s[n] = '\0';
    cJSON_AddStringToObject(doc, "s", s);
    expect_copy_refused_at(doc,
                           "[{\"op\":\"copy\",\"from\":\"/s\",\"path\":\"/t\"},"
                           "{\"op\":\"copy\",\"from\":\"/s\",\"path\":\"/u\"}]",
                           1);
    free(s);
    cJSON_Delete(doc);
}

Test(jsonpatch, member_names_count_in_the_copied_size)
{
    /* {"<1 MiB name>":1} is just over 1 MiB of JSON: the third copy passes 3 MiB. */
    size_t n = 1 << 20;
    char *name = xmalloc(n + 1);
    memset(name, 'k', n);
    name[n] = '\0';
    cJSON *doc = cJSON_CreateObject();
    cJSON *v = cJSON_AddObjectToObject(doc, "v");
    cJSON_AddNumberToObject(v, name, 1);
    expect_copy_refused_at(doc,
                           "[{\"op\":\"copy\",\"from\":\"/v\",\"path\":\"/a\"},"
                           "{\"op\":\"copy\",\"from\":\"/v\",\"path\":\"/b\"},"
                           "{\"op\":\"copy\",\"from\":\"/v\",\"path\":\"/c\"}]",
                           2);
    free(name);
    cJSON_Delete(doc);
}

/* n arrays nested: "[[[...]]]". */
static char *nested_arrays(int n)
{
    char *s = xmalloc((size_t)n * 2 + 1);
    memset(s, '[', (size_t)n);
    memset(s + n, ']', (size_t)n);
    s[2 * n] = '\0';
    return s;
}

/* An add at the bottom of {"a": <10 nested arrays>} of a value nested `depth` deep. */
static char *deep_add_patch(int depth)
{
    sbuf patch = SBUF_INIT;
    sbuf_puts(&patch, "[{\"op\":\"add\",\"path\":\"/a");
    for (int i = 0; i < 9; i++)
        sbuf_puts(&patch, "/0");
    char *value = nested_arrays(depth);
    sbuf_printf(&patch, "/-\",\"value\":%s}]", value);
    free(value);
    return sbuf_detach(&patch, NULL);
}

Test(jsonpatch, an_add_nesting_deeper_than_the_limit_is_422)
{
    /* The value lands under 11 containers: 990 more levels make 1001. */
    char *doc = xasprintf("{\"a\":%s}", "[[[[[[[[[[]]]]]]]]]]");
    char *patch = deep_add_patch(JSONPATCH_MAX_DEPTH - 10);
    expect_error(doc, patch, 422, "Invalid",
                 "json patch operation #0: add operation does not apply: the result would be "
                 "nested deeper than 1000 levels");
    free(patch);
    /* one level less fits */
    patch = deep_add_patch(JSONPATCH_MAX_DEPTH - 11);
    cJSON *d = tj_parse(doc);
    cJSON *p = tj_parse(patch);
    api_error err = API_ERROR_INIT;
    cJSON *got = jsonpatch_apply(d, p, &err);
    cr_assert_not_null(got, "%s", err.message ? err.message : "");
    cJSON_Delete(got);
    cJSON_Delete(p);
    cJSON_Delete(d);
    free(patch);
    free(doc);
}

Test(jsonpatch, copies_cannot_deepen_the_document_past_the_limit)
{
    /* Copying /a into its own innermost array doubles its depth each time. */
    char *deep = nested_arrays(300);
    char *doc = xasprintf("{\"a\":%s}", deep);
    sbuf patch = SBUF_INIT;
    sbuf_puts(&patch, "[");
    sbuf path = SBUF_INIT;
    sbuf_puts(&path, "/a");
    for (int i = 0; i < 299; i++)
        sbuf_puts(&path, "/0");
    for (int i = 0; i < 4; i++)
        sbuf_printf(&patch, "%s{\"op\":\"copy\",\"from\":\"/a\",\"path\":\"%s/-\"}", i ? "," : "",
                    path.data);
    sbuf_puts(&patch, "]");
    expect_error(doc, patch.data, 422, "Invalid",
                 "json patch operation #2: copy operation does not apply: the result would be "
                 "nested deeper than 1000 levels");
    sbuf_free(&path);
    sbuf_free(&patch);
    free(doc);
    free(deep);
}

Test(jsonpatch, a_move_deeper_in_a_document_at_the_limit_is_refused)
{
    char *deep = nested_arrays(JSONPATCH_MAX_DEPTH - 1);
    char *doc = xasprintf("{\"a\":%s,\"b\":{\"c\":{}}}", deep);
    /* moving up is fine */
    char *want = xasprintf("{\"a\":%s,\"b\":{},\"d\":{}}", deep);
    expect_patch(doc, "[{\"op\":\"move\",\"from\":\"/b/c\",\"path\":\"/d\"}]", want);
    /* moving /a two levels down could pass the limit: refused without walking /a */
    expect_error(doc, "[{\"op\":\"move\",\"from\":\"/a\",\"path\":\"/b/c/x\"}]", 422, "Invalid",
                 "json patch operation #0: move operation does not apply: the result would be "
                 "nested deeper than 1000 levels");
    free(want);
    free(doc);
    free(deep);
}

Test(jsonpatch, test_compares_objects_of_250000_members)
{
    /* json_equal goes through a key index: this must not take 250 000^2 steps. */
    enum { N = 250000 };
    cJSON *doc = cJSON_CreateObject();
    cJSON *labels = cJSON_AddObjectToObject(doc, "labels");
    cJSON *value = cJSON_CreateObject();
    for (int i = 0; i < N; i++) {
        char key[16];
        snprintf(key, sizeof key, "k%d", i);
        cJSON_AddStringToObject(labels, key, "v");
        snprintf(key, sizeof key, "k%d", N - 1 - i); /* reverse order */
        cJSON_AddStringToObject(value, key, "v");
    }
    cJSON *patch = cJSON_CreateArray();
    cJSON *op = cJSON_CreateObject();
    cJSON_AddStringToObject(op, "op", "test");
    cJSON_AddStringToObject(op, "path", "/labels");
    cJSON_AddItemToObject(op, "value", value);
    cJSON_AddItemToArray(patch, op);
    api_error err = API_ERROR_INIT;
    cJSON *got = jsonpatch_apply(doc, patch, &err);
    cr_assert_not_null(got, "%s", err.message ? err.message : "");
    cJSON_Delete(got);
    cJSON_ReplaceItemInObject(value, "k0", cJSON_CreateString("other"));
    cr_assert_null(jsonpatch_apply(doc, patch, &err));
    cr_assert_eq(err.code, 422);
    apierr_clear(&err);
    cJSON_Delete(patch);
    cJSON_Delete(doc);
}

/* ---- member lookups through indexes: results as before, in linear time ---------------------- */

Test(jsonpatch, indexed_objects_follow_every_change)
{
    expect_patch("{\"a\":{\"x\":1,\"y\":2},\"b\":3}",
                 "[{\"op\":\"test\",\"path\":\"/a/x\",\"value\":1},"
                 "{\"op\":\"remove\",\"path\":\"/a/x\"},"
                 "{\"op\":\"add\",\"path\":\"/a/x\",\"value\":10},"
                 "{\"op\":\"replace\",\"path\":\"/a/y\",\"value\":{\"z\":1}},"
                 "{\"op\":\"add\",\"path\":\"/a/y/w\",\"value\":2},"
                 "{\"op\":\"move\",\"from\":\"/a/y\",\"path\":\"/c\"},"
                 "{\"op\":\"test\",\"path\":\"/c\",\"value\":{\"w\":2,\"z\":1}},"
                 "{\"op\":\"move\",\"from\":\"/b\",\"path\":\"/a/b\"},"
                 "{\"op\":\"copy\",\"from\":\"/a\",\"path\":\"/d\"},"
                 "{\"op\":\"remove\",\"path\":\"/a\"},"
                 "{\"op\":\"add\",\"path\":\"/a\",\"value\":{\"fresh\":true}},"
                 "{\"op\":\"test\",\"path\":\"/a\",\"value\":{\"fresh\":true}},"
                 "{\"op\":\"replace\",\"path\":\"/d/x\",\"value\":11}]",
                 "{\"a\":{\"fresh\":true},\"c\":{\"z\":1,\"w\":2},\"d\":{\"x\":11,\"b\":3}}");
}

Test(jsonpatch, replacing_a_member_keeps_its_place)
{
    cJSON *doc = tj_parse("{\"a\":1,\"b\":2,\"c\":3}");
    cJSON *patch = tj_parse("[{\"op\":\"replace\",\"path\":\"/b\",\"value\":20},"
                            "{\"op\":\"add\",\"path\":\"/a\",\"value\":10}]");
    api_error err = API_ERROR_INIT;
    cJSON *got = jsonpatch_apply(doc, patch, &err);
    cr_assert_not_null(got);
    expect_same_text(got, "{\"a\":10,\"b\":20,\"c\":3}", "member order");
    cJSON_Delete(got);
    cJSON_Delete(patch);
    cJSON_Delete(doc);
}

Test(jsonpatch, ten_thousand_operations_on_an_object_of_150000_members)
{
    /* Each pointer step is an index lookup: not 10 000 walks of 150 000 members. */
    enum { MEMBERS = 150000, OPS = JSONPATCH_MAX_OPERATIONS };
    cJSON *doc = cJSON_CreateObject();
    cJSON *labels = cJSON_AddObjectToObject(cJSON_AddObjectToObject(doc, "metadata"), "labels");
    for (int i = 0; i < MEMBERS; i++) {
        char key[16];
        snprintf(key, sizeof key, "k%d", i);
        cJSON_AddStringToObject(labels, key, "v");
    }
    cJSON *patch = cJSON_CreateArray();
    for (int i = 0; i < OPS; i++) {
        char path[48];
        cJSON *op = cJSON_CreateObject();
        switch (i % 3) {
        case 0: /* a key at the end of the list */
            snprintf(path, sizeof path, "/metadata/labels/k%d", MEMBERS - 1 - i);
            cJSON_AddStringToObject(op, "op", "test");
            cJSON_AddStringToObject(op, "value", "v");
            break;
        case 1:
            snprintf(path, sizeof path, "/metadata/labels/k%d", MEMBERS - 1 - i);
            cJSON_AddStringToObject(op, "op", "remove");
            break;
        default:
            snprintf(path, sizeof path, "/metadata/labels/new%d", i);
            cJSON_AddStringToObject(op, "op", "add");
            cJSON_AddStringToObject(op, "value", "n");
            break;
        }
        cJSON_AddStringToObject(op, "path", path);
        cJSON_AddItemToArray(patch, op);
    }
    api_error err = API_ERROR_INIT;
    cJSON *got = jsonpatch_apply(doc, patch, &err);
    cr_assert_not_null(got, "%s", err.message ? err.message : "");
    const cJSON *out = json_path(got, "metadata.labels");
    cr_assert_eq(cJSON_GetArraySize(out), MEMBERS); /* 3333 removed, 3333 added */
    cr_assert_null(cJSON_GetObjectItem(out, "k149998"));
    cr_assert_str_eq(cJSON_GetObjectItem(out, "new2")->valuestring, "n");
    cJSON_Delete(got);
    cJSON_Delete(patch);
    cJSON_Delete(doc);
}

Test(jsonpatch, ten_thousand_operations_on_an_array_of_150000_elements)
{
    /* Elements are reached through a vector kept in step with inserts and removals. */
    enum { N = 150000, K = 3332 }; /* 3 x K + 2 operations: within the 10 000 */
    cJSON *doc = cJSON_CreateObject();
    cJSON *a = cJSON_AddArrayToObject(doc, "a");
    for (int i = 0; i < N; i++)
        cJSON_AddItemToArray(a, cJSON_CreateNumber(i));
    cJSON *patch = cJSON_CreateArray();
    char path[32];
    for (int i = 0; i < K; i++) {
        cJSON *op = cJSON_CreateObject();
        cJSON_AddStringToObject(op, "op", "test");
        snprintf(path, sizeof path, "/a/%d", N - 1 - i);
        cJSON_AddStringToObject(op, "path", path);
        cJSON_AddNumberToObject(op, "value", N - 1 - i);
        cJSON_AddItemToArray(patch, op);
    }
    for (int i = 0; i < K; i++) {
        cJSON *op = cJSON_CreateObject();
        cJSON_AddStringToObject(op, "op", "remove");
        cJSON_AddStringToObject(op, "path", "/a/100000");
        cJSON_AddItemToArray(patch, op);
    }
    for (int i = 0; i < K; i++) {
        cJSON *op = cJSON_CreateObject();
        cJSON_AddStringToObject(op, "op", "add");
        cJSON_AddStringToObject(op, "path", "/a/50000");
        cJSON_AddNumberToObject(op, "value", -1);
        cJSON_AddItemToArray(patch, op);
    }
    cJSON *op = cJSON_CreateObject();
    cJSON_AddStringToObject(op, "op", "replace");
    cJSON_AddStringToObject(op, "path", "/a/0");
    cJSON_AddStringToObject(op, "value", "r");
    cJSON_AddItemToArray(patch, op);
    op = cJSON_CreateObject();
    cJSON_AddStringToObject(op, "op", "test");
    snprintf(path, sizeof path, "/a/%d", 100000 + K - 1); /* shifted by the inserts */
    cJSON_AddStringToObject(op, "path", path);
    cJSON_AddNumberToObject(op, "value", 99999);
    cJSON_AddItemToArray(patch, op);
    api_error err = API_ERROR_INIT;
    cJSON *got = jsonpatch_apply(doc, patch, &err);
    cr_assert_not_null(got, "%s", err.message ? err.message : "");
    const cJSON *out = cJSON_GetObjectItem(got, "a");
    cr_assert_eq(cJSON_GetArraySize(out), N);
    cr_assert_str_eq(cJSON_GetArrayItem(out, 0)->valuestring, "r");
    cr_assert_eq(cJSON_GetArrayItem(out, 50000)->valuedouble, -1);
    cr_assert_eq(cJSON_GetArrayItem(out, 50000 + K - 1)->valuedouble, -1);
    cr_assert_eq(cJSON_GetArrayItem(out, 50000 + K)->valuedouble, 50000);
    cr_assert_eq(cJSON_GetArrayItem(out, 100000 + K)->valuedouble, 100000 + K);
    cr_assert_eq(cJSON_GetArrayItem(out, N - 1)->valuedouble, N - 1);
    cJSON_Delete(got);
    cJSON_Delete(patch);
    cJSON_Delete(doc);
}

Test(jsonpatch, array_moves_and_copies_keep_positions_right)
{
    expect_patch("{\"a\":[0,1,2,3],\"b\":[]}",
                 "[{\"op\":\"move\",\"from\":\"/a/0\",\"path\":\"/a/3\"},"
                 "{\"op\":\"test\",\"path\":\"/a\",\"value\":[1,2,3,0]},"
                 "{\"op\":\"copy\",\"from\":\"/a/1\",\"path\":\"/b/-\"},"
                 "{\"op\":\"move\",\"from\":\"/a/2\",\"path\":\"/b/0\"},"
                 "{\"op\":\"replace\",\"path\":\"/b/1\",\"value\":9},"
                 "{\"op\":\"remove\",\"path\":\"/a/0\"},"
                 "{\"op\":\"test\",\"path\":\"/a/1\",\"value\":0},"
                 "{\"op\":\"add\",\"path\":\"/a/2\",\"value\":7}]",
                 "{\"a\":[2,0,7],\"b\":[3,9]}");
}

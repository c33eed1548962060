/*
 * test_protobuf.c - the descriptor-driven protobuf decoder (common/protobuf.h): every kind and
 * flag, Go's omitempty, packed and unpacked repeated numbers, maps, inline messages, to_json,
 * duplicates (last wins, reported with their paths, counted past the cap), and every error:
 * unknown field, wire type, truncation, varint overflow, bad tags, NUL and invalid UTF-8,
 * integer ranges, nesting; the varint reader's edges and the descriptor checks.
 */
#include "common/protobuf.h"
#include "json_expect.h"

#include "common/alloc.h"
#include "common/json.h"
#include "common/pb_writer.h"
#include "common/sbuf.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void setup(void)
{
    alloc_install_cjson_hooks();
}

TestSuite(protobuf, .init = setup);

/* ---- the descriptors under test ---------------------------------------------------------- */

/* A value type with a JSON form: {1: v} -> "v", refused when v is "bad". */
static int wrapped_to_json(cJSON **item, const char **why)
{
    const char *v = json_path_string(*item, "v");
    if (v && strcmp(v, "bad") == 0) {
        *why = "a bad wrapped value";
        return -EPROTO;
    }
    cJSON *s = cJSON_CreateString(v ? v : "(none)");
    cJSON_Delete(*item);
    *item = s;
    return 0;
}

static const pb_field wrapped_fields[] = {{1, "v", PB_STRING, PB_KEEP_ZERO, NULL}};
static const pb_message wrapped = {"test.Wrapped", wrapped_fields, 1, wrapped_to_json};

static const pb_field inner_fields[] = {
    {1, "s", PB_STRING, 0, NULL},
    {2, "n", PB_INT32, PB_KEEP_ZERO, NULL},
};
static const pb_message inner = {"test.Inner", inner_fields, 2, NULL};

static const pb_field embedded_fields[] = {
    {1, "e", PB_STRING, 0, NULL},
    {2, "emap", PB_MAP, 0, NULL},
};
static const pb_message embedded = {"test.Embedded", embedded_fields, 2, NULL};

extern const pb_message outer;
static const pb_field outer_fields[] = {
    {1, "str", PB_STRING, 0, NULL},
    {2, "keep", PB_STRING, PB_KEEP_ZERO, NULL},
    {3, "b", PB_BOOL, 0, NULL},
    {4, "i32", PB_INT32, 0, NULL},
    {5, "i64", PB_INT64, 0, NULL},
    {6, "bytes", PB_BYTES, 0, NULL},
    {7, "msg", PB_MESSAGE, 0, &inner},
    {8, "msgs", PB_MESSAGE, PB_REPEATED, &inner},
    {9, "strs", PB_STRING, PB_REPEATED, NULL},
    {10, "nums", PB_INT64, PB_REPEATED, NULL},
    {11, "labels", PB_MAP, 0, NULL},
    {12, "wmap", PB_MAP, 0, &wrapped},
    {13, NULL, PB_INLINE, 0, &embedded},
    {14, "wrapped", PB_MESSAGE, 0, &wrapped},
    {15, "self", PB_MESSAGE, 0, &outer},
    {16, "flags", PB_BOOL, PB_REPEATED, NULL},
    {17, "keep32", PB_INT32, PB_KEEP_ZERO, NULL},
};
const pb_message outer = {"test.Outer", outer_fields, sizeof outer_fields / sizeof outer_fields[0],
                          NULL};

/* ---- helpers ------------------------------------------------------------------------------- */

typedef struct result {
    int rc;
    cJSON *obj;
    cJSON *dups;
    api_error err;
} result;

static result decode(const sbuf *b)
{
    result r = {.obj = cJSON_CreateObject(), .dups = cJSON_CreateArray()};
    r.rc = pb_decode(&outer, b->data, b->len, r.obj, r.dups, &r.err);
    return r;
}

static void result_free(result *r)
{
    cJSON_Delete(r->obj);
    cJSON_Delete(r->dups);
    apierr_clear(&r->err);
}

/* Decodes b (freed), expects success with that JSON and that many duplicates. */
static void expect_decoded(sbuf *b, const char *want_json, int want_dups)
{
    result r = decode(b);
    cr_expect_eq(r.rc, want_dups, "rc %d (%s)", r.rc, r.err.message ? r.err.message : "");
    if (r.rc >= 0)
        tj_expect(r.obj, want_json, "decoded");
    result_free(&r);
    sbuf_free(b);
}

/* Decodes b (freed), expects failure with that code and a message containing `part`. */
static void expect_error(sbuf *b, int code, const char *part)
{
    result r = decode(b);
    cr_expect_eq(r.rc, -EPROTO);
    cr_expect_eq(r.err.code, code, "code %d (%s)", r.err.code, r.err.message);
    cr_expect(r.err.message && strstr(r.err.message, part), "message %s, want part %s",
              r.err.message, part);
    cr_expect_str_eq(r.err.reason, code == 415 ? "UnsupportedMediaType" : "BadRequest");
    result_free(&r);
    sbuf_free(b);
}

/* ---- scalars ------------------------------------------------------------------------------- */

Test(protobuf, empty_input_is_an_empty_object)
{
    sbuf b = SBUF_INIT;
    expect_decoded(&b, "{}", 0);
}

Test(protobuf, scalars_take_their_json_form)
{
    sbuf b = SBUF_INIT;
    pb_put_string(&b, 1, "hello");
    pb_put_uint(&b, 3, 1);
    pb_put_uint(&b, 4, 42);
    pb_put_uint(&b, 5, 1234567890123ULL);
    pb_put_bytes(&b, 6,
                 "\x00\xff"
                 "ab",
                 4);
    expect_decoded(&b,
                   "{\"str\":\"hello\",\"b\":true,\"i32\":42,\"i64\":1234567890123,"
                   "\"bytes\":\"AP9hYg==\"}",
                   0);
}

Test(protobuf, omitempty_drops_zero_values_and_keep_zero_keeps_them)
{
    sbuf b = SBUF_INIT;
    pb_put_string(&b, 1, "");
    pb_put_string(&b, 2, "");
    pb_put_uint(&b, 3, 0);
    pb_put_uint(&b, 4, 0);
    pb_put_uint(&b, 5, 0);
    pb_put_bytes(&b, 6, "", 0);
    pb_put_uint(&b, 17, 0);
    expect_decoded(&b, "{\"keep\":\"\",\"keep32\":0}", 0);
}

Test(protobuf, any_nonzero_bool_is_true)
{
    sbuf b = SBUF_INIT;
    pb_put_uint(&b, 3, 7);
    expect_decoded(&b, "{\"b\":true}", 0);
}

Test(protobuf, negative_int32_uses_ten_bytes_and_decodes)
{
    sbuf b = SBUF_INIT;
    pb_put_uint(&b, 4, (uint64_t)(int64_t)-5);
    pb_put_uint(&b, 5, (uint64_t)(int64_t)-9007199254740992LL);
    expect_decoded(&b, "{\"i32\":-5,\"i64\":-9007199254740992}", 0);
}

Test(protobuf, int32_out_of_range_is_refused)
{
    sbuf b = SBUF_INIT;
    pb_put_uint(&b, 4, 4294967295ULL); /* -1 as uint32, not sign-extended */
    expect_error(&b, 400, "4294967295 is out of the int32 range");
}

Test(protobuf, int64_beyond_2_pow_53_is_refused)
{
    sbuf b = SBUF_INIT;
    pb_put_uint(&b, 5, 9007199254740993ULL);
    expect_error(&b, 400, "beyond 2^53");
}

/* ---- messages, lists, maps ---------------------------------------------------------------- */

Test(protobuf, nested_and_repeated_messages_and_strings)
{
    sbuf b = SBUF_INIT, m = SBUF_INIT;
    pb_put_string(&m, 1, "a");
    pb_put_uint(&m, 2, 0);
    pb_put_message(&b, 7, &m);
    pb_put_string(&m, 1, "x");
    pb_put_message(&b, 8, &m);
    pb_put_message(&b, 8, &m); /* an empty element */
    pb_put_string(&b, 9, "one");
    pb_put_string(&b, 9, "");
    expect_decoded(&b,
                   "{\"msg\":{\"s\":\"a\",\"n\":0},\"msgs\":[{\"s\":\"x\"},{}],"
                   "\"strs\":[\"one\",\"\"]}",
                   0);
}

Test(protobuf, repeated_numbers_may_be_packed_unpacked_or_both)
{
    sbuf b = SBUF_INIT, run = SBUF_INIT;
    pb_put_uint(&b, 10, 1);
    pb_put_varint(&run, 2);
    pb_put_varint(&run, 300);
    pb_put_varint(&run, (uint64_t)(int64_t)-1);
    pb_put_message(&b, 10, &run);
    pb_put_uint(&b, 10, 4);
    pb_put_varint(&run, 0);
    pb_put_varint(&run, 2);
    pb_put_message(&b, 16, &run);
    pb_put_message(&b, 16, &run); /* an empty run adds nothing */
    expect_decoded(&b, "{\"nums\":[1,2,300,-1,4],\"flags\":[false,true]}", 0);
}

Test(protobuf, map_entries_become_members_missing_key_and_value_are_empty)
{
    sbuf b = SBUF_INIT, e = SBUF_INIT;
    pb_put_string(&e, 1, "app");
    pb_put_string(&e, 2, "web");
    pb_put_message(&b, 11, &e);
    pb_put_string(&e, 2, "no key");
    pb_put_message(&b, 11, &e);
    pb_put_string(&e, 1, "no value");
    pb_put_message(&b, 11, &e);
    expect_decoded(&b, "{\"labels\":{\"app\":\"web\",\"\":\"no key\",\"no value\":\"\"}}", 0);
}

Test(protobuf, map_values_of_a_message_take_its_json_form)
{
    sbuf b = SBUF_INIT, e = SBUF_INIT, v = SBUF_INIT;
    pb_put_string(&e, 1, "cpu");
    pb_put_string(&v, 1, "100m");
    pb_put_message(&e, 2, &v);
    pb_put_message(&b, 12, &e);
    pb_put_string(&e, 1, "empty");
    pb_put_message(&b, 12, &e);
    expect_decoded(&b, "{\"wmap\":{\"cpu\":\"100m\",\"empty\":\"(none)\"}}", 0);
}

Test(protobuf, inline_members_land_in_the_enclosing_object)
{
    sbuf b = SBUF_INIT, in = SBUF_INIT;
    pb_put_string(&b, 1, "outer");
    pb_put_string(&in, 1, "embedded");
    pb_put_message(&b, 13, &in);
    expect_decoded(&b, "{\"str\":\"outer\",\"e\":\"embedded\"}", 0);
}

Test(protobuf, to_json_replaces_the_decoded_object)
{
    sbuf b = SBUF_INIT, w = SBUF_INIT;
    pb_put_string(&w, 1, "value");
    pb_put_message(&b, 14, &w);
    expect_decoded(&b, "{\"wrapped\":\"value\"}", 0);
}

Test(protobuf, to_json_refusal_names_the_field)
{
    sbuf b = SBUF_INIT, w = SBUF_INIT;
    pb_put_string(&w, 1, "bad");
    pb_put_message(&b, 14, &w);
    expect_error(&b, 400, "protobuf field 14 (wrapped) of test.Outer at byte 0: a bad wrapped");
}

/* ---- duplicates ---------------------------------------------------------------------------- */

Test(protobuf, a_singular_field_given_twice_keeps_the_last_value_and_is_reported)
{
    sbuf b = SBUF_INIT;
    pb_put_string(&b, 1, "first");
    pb_put_string(&b, 1, "last");
    result r = decode(&b);
    cr_expect_eq(r.rc, 1);
    tj_expect(r.obj, "{\"str\":\"last\"}", "decoded");
    tj_expect(r.dups, "[\"str\"]", "duplicates");
    result_free(&r);
    sbuf_free(&b);
}

Test(protobuf, a_zero_last_value_of_an_omitempty_field_removes_the_earlier_one)
{
    sbuf b = SBUF_INIT;
    pb_put_string(&b, 1, "first");
    pb_put_string(&b, 1, "");
    pb_put_string(&b, 2, "");
    pb_put_string(&b, 2, "x");
    expect_decoded(&b, "{\"keep\":\"x\"}", 2);
}

Test(protobuf, a_message_given_twice_is_replaced_by_the_last)
{
    sbuf b = SBUF_INIT, m = SBUF_INIT;
    pb_put_string(&m, 1, "a");
    pb_put_message(&b, 7, &m);
    pb_put_uint(&m, 2, 3);
    pb_put_message(&b, 7, &m);
    expect_decoded(&b, "{\"msg\":{\"n\":3}}", 1);
}

Test(protobuf, duplicates_inside_list_elements_and_maps_are_named_by_path)
{
    sbuf b = SBUF_INIT, m = SBUF_INIT, e = SBUF_INIT;
    pb_put_message(&b, 8, &m);
    pb_put_string(&m, 1, "a");
    pb_put_string(&m, 1, "b");
    pb_put_message(&b, 8, &m);
    pb_put_string(&e, 1, "k");
    pb_put_string(&e, 2, "1");
    pb_put_message(&b, 11, &e);
    pb_put_string(&e, 1, "k");
    pb_put_string(&e, 2, "2");
    pb_put_message(&b, 11, &e);
    result r = decode(&b);
    cr_expect_eq(r.rc, 2);
    tj_expect(r.obj, "{\"msgs\":[{},{\"s\":\"b\"}],\"labels\":{\"k\":\"2\"}}", "decoded");
    tj_expect(r.dups, "[\"msgs[1].s\",\"labels.k\"]", "duplicates");
    result_free(&r);
    sbuf_free(&b);
}

Test(protobuf, an_inline_message_given_twice_replaces_what_it_set)
{
    sbuf b = SBUF_INIT, in = SBUF_INIT, e = SBUF_INIT;
    pb_put_string(&in, 1, "one");
    pb_put_string(&e, 1, "k");
    pb_put_message(&in, 2, &e);
    pb_put_message(&b, 13, &in);
    pb_put_string(&in, 1, "two");
    pb_put_message(&b, 13, &in);
    result r = decode(&b);
    cr_expect_eq(r.rc, 1);
    tj_expect(r.obj, "{\"e\":\"two\",\"emap\":{\"k\":\"\"}}", "decoded");
    tj_expect(r.dups, "[\"e\"]", "duplicates");
    result_free(&r);
    sbuf_free(&b);
}

Test(protobuf, duplicates_are_all_counted_and_the_first_hundred_named)
{
    sbuf b = SBUF_INIT, e = SBUF_INIT;
    pb_put_string(&e, 1, "k");
    for (int i = 0; i < 1000; i++)
        pb_put_bytes(&b, 11, e.data, e.len);
    sbuf_free(&e);
    result r = decode(&b);
    cr_expect_eq(r.rc, 999);
    cr_expect_eq(cJSON_GetArraySize(r.dups), PB_MAX_REPORTED_DUPLICATES);
    tj_expect(r.obj, "{\"labels\":{\"k\":\"\"}}", "decoded");
    result_free(&r);
    sbuf_free(&b);
}

Test(protobuf, a_map_with_many_keys_resolves_in_one_pass)
{
    sbuf b = SBUF_INIT, e = SBUF_INIT;
    char key[16];
    for (int i = 0; i < 100000; i++) {
        snprintf(key, sizeof key, "k%d", i % 50000);
        pb_put_string(&e, 1, key);
        pb_put_message(&b, 11, &e);
    }
    result r = decode(&b);
    cr_expect_eq(r.rc, 50000);
    cr_expect_eq(cJSON_GetArraySize(json_path(r.obj, "labels")), 50000);
    result_free(&r);
    sbuf_free(&b);
}

Test(protobuf, dups_may_be_null)
{
    sbuf b = SBUF_INIT;
    pb_put_string(&b, 1, "a");
    pb_put_string(&b, 1, "b");
    cJSON *obj = cJSON_CreateObject();
    api_error err = API_ERROR_INIT;
    cr_expect_eq(pb_decode(&outer, b.data, b.len, obj, NULL, &err), 1);
    cJSON_Delete(obj);
    sbuf_free(&b);
}

/* ---- errors -------------------------------------------------------------------------------- */

Test(protobuf, an_unknown_field_number_is_415_naming_it)
{
    sbuf b = SBUF_INIT;
    pb_put_string(&b, 1, "a");
    pb_put_uint(&b, 99, 1);
    expect_error(&b, 415, "protobuf field 99 of test.Outer is not supported: send JSON");
}

Test(protobuf, an_unknown_field_inside_a_message_names_that_message)
{
    sbuf b = SBUF_INIT, m = SBUF_INIT;
    pb_put_uint(&m, 5, 1);
    pb_put_message(&b, 7, &m);
    expect_error(&b, 415, "protobuf field 5 of test.Inner is not supported");
}

Test(protobuf, a_wrong_wire_type_is_400)
{
    sbuf b = SBUF_INIT;
    pb_put_uint(&b, 1, 5); /* a string field sent as a varint */
    expect_error(&b, 400,
                 "protobuf field 1 (str) of test.Outer at byte 0: wire type 0, "
                 "expected 2");
    pb_put_string(&b, 4, "5"); /* a number sent as bytes */
    expect_error(&b, 400, "(i32) of test.Outer at byte 0: wire type 2, expected 0");
    pb_put_tag(&b, 3, PB_WIRE_I64);
    sbuf_append(&b, "\0\0\0\0\0\0\0\0", 8);
    expect_error(&b, 400, "wire type 1, expected 0");
    pb_put_tag(&b, 7, PB_WIRE_SGROUP);
    expect_error(&b, 400, "wire type 3, expected 2");
}

Test(protobuf, a_length_past_the_end_is_400)
{
    sbuf b = SBUF_INIT;
    pb_put_string(&b, 1, "ok");
    pb_put_tag(&b, 1, PB_WIRE_LEN);
    pb_put_varint(&b, 10);
    sbuf_append(&b, "abc", 3);
    expect_error(&b, 400, "protobuf field 1 (str) of test.Outer at byte 4: unexpected end");
}

Test(protobuf, a_huge_length_is_400_not_a_wrap)
{
    sbuf b = SBUF_INIT;
    pb_put_tag(&b, 1, PB_WIRE_LEN);
    pb_put_varint(&b, UINT64_MAX);
    expect_error(&b, 400, "unexpected end");
}

Test(protobuf, truncated_varints_and_tags_are_400)
{
    sbuf b = SBUF_INIT;
    pb_put_tag(&b, 4, PB_WIRE_VARINT);
    sbuf_append(&b, "\x80", 1);
    expect_error(&b, 400, "(i32) of test.Outer at byte 0: unexpected end of data");
    sbuf_append(&b, "\x80", 1); /* a tag cut short */
    expect_error(&b, 400, "protobuf message test.Outer at byte 0: unexpected end of data");
}

Test(protobuf, varints_longer_than_64_bits_are_400)
{
    sbuf b = SBUF_INIT;
    pb_put_tag(&b, 5, PB_WIRE_VARINT);
    sbuf_append(&b, "\xff\xff\xff\xff\xff\xff\xff\xff\xff\x02", 10);
    expect_error(&b, 400, "varint longer than 64 bits");
    pb_put_tag(&b, 5, PB_WIRE_VARINT);
    sbuf_append(&b, "\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x00", 11);
    expect_error(&b, 400, "varint longer than 64 bits");
}

Test(protobuf, invalid_tags_are_400)
{
    sbuf b = SBUF_INIT;
    pb_put_varint(&b, 0 << 3 | PB_WIRE_VARINT); /* field 0 */
    pb_put_varint(&b, 1);
    expect_error(&b, 400, "invalid tag");
    pb_put_varint(&b, 1 << 3 | 6); /* wire type 6 */
    expect_error(&b, 400, "invalid tag");
    pb_put_varint(&b, (uint64_t)0x20000000 << 3); /* field 2^29 */
    expect_error(&b, 400, "invalid tag");
}

Test(protobuf, strings_must_be_utf8_without_nul)
{
    sbuf b = SBUF_INIT;
    pb_put_bytes(&b, 1, "uid\0x", 5);
    expect_error(&b, 400, "a string holds a NUL byte");
    static const char *const bad[] = {
        "\xc0\xaf",         /* overlong '/' */
        "\xed\xa0\x80",     /* a surrogate */
        "\xf4\x90\x80\x80", /* past U+10FFFF */
        "\xe2\x82",         /* cut short */
        "\xff",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        pb_put_string(&b, 9, bad[i]);
        expect_error(&b, 400, "(strs) of test.Outer at byte 0: a string is not valid UTF-8");
    }
    sbuf e = SBUF_INIT;
    pb_put_string(&e, 1, "\xff");
    pb_put_message(&b, 11, &e);
    expect_error(&b, 400, "(labels) of test.Outer at byte 0: a string is not valid UTF-8");
    pb_put_string(&b, 1, "h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80");
    expect_decoded(&b, "{\"str\":\"h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80\"}", 0);
}

Test(protobuf, map_entries_hold_only_key_and_value)
{
    sbuf b = SBUF_INIT, e = SBUF_INIT;
    pb_put_string(&e, 3, "x");
    pb_put_message(&b, 11, &e);
    expect_error(&b, 400, "(labels) of test.Outer at byte 0: map entry has a field 3");
    pb_put_uint(&e, 1, 7);
    pb_put_message(&b, 11, &e);
    expect_error(&b, 400, "wire type 0, expected 2");
}

Test(protobuf, nesting_deeper_than_the_limit_is_400)
{
    sbuf b = SBUF_INIT;
    pb_put_string(&b, 1, "bottom");
    for (int i = 0; i <= PB_MAX_DEPTH; i++) {
        sbuf outer_b = SBUF_INIT;
        pb_put_message(&outer_b, 15, &b);
        b = outer_b;
    }
    expect_error(&b, 400, "nesting deeper than 100 levels");
    pb_put_string(&b, 1, "bottom");
    for (int i = 0; i < PB_MAX_DEPTH; i++) {
        sbuf outer_b = SBUF_INIT;
        pb_put_message(&outer_b, 15, &b);
        b = outer_b;
    }
    result r = decode(&b);
    cr_expect_eq(r.rc, 0, "%s", r.err.message ? r.err.message : "");
    result_free(&r);
    sbuf_free(&b);
}

/* ---- the reader ---------------------------------------------------------------------------- */

Test(protobuf, varint_reader_edges)
{
    uint64_t v = 1;
    pb_reader r = pb_reader_of("\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 10);
    cr_expect_eq(pb_read_varint(&r, &v), 0);
    cr_expect_eq(v, UINT64_MAX);
    cr_expect_eq(r.p, r.end);
    r = pb_reader_of("\x00", 1);
    cr_expect_eq(pb_read_varint(&r, &v), 0);
    cr_expect_eq(v, 0);
    r = pb_reader_of("", 0);
    cr_expect_eq(pb_read_varint(&r, &v), -EPROTO);
    r = pb_reader_of("\x96\x01", 2);
    cr_expect_eq(pb_read_varint(&r, &v), 0);
    cr_expect_eq(v, 150);
    const uint8_t *data;
    size_t len;
    r = pb_reader_of("\x03"
                     "abcd",
                     5);
    cr_expect_eq(pb_read_len(&r, &data, &len), 0);
    cr_expect_eq(len, 3);
    cr_expect_eq(memcmp(data, "abc", 3), 0);
    r = pb_reader_of("\x05"
                     "abcd",
                     5);
    cr_expect_eq(pb_read_len(&r, &data, &len), -EPROTO);
    cr_expect_str_eq(pb_strerror(-EOVERFLOW), "varint longer than 64 bits");
}

/* ---- descriptor checks -------------------------------------------------------------------- */

static void expect_bad_descriptor(const pb_message *m, const char *part)
{
    api_error err = API_ERROR_INIT;
    cr_expect_eq(pb_check_descriptor(m, &err), -EINVAL, "%s accepted", m->name);
    cr_expect(err.message && strstr(err.message, part), "message %s, want part %s", err.message,
              part);
    apierr_clear(&err);
}

Test(protobuf, descriptor_checks)
{
    api_error err = API_ERROR_INIT;
    cr_expect_eq(pb_check_descriptor(&inner, &err), 0);
    cr_expect_eq(pb_check_descriptor(&embedded, &err), 0);
    /* outer refers to itself, which a real descriptor must not */
    expect_bad_descriptor(&outer, "nest deeper");

    static const pb_field twice[] = {{1, "a", PB_STRING, 0, NULL}, {1, "b", PB_STRING, 0, NULL}};
    static const pb_message m1 = {"t.Twice", twice, 2, NULL};
    expect_bad_descriptor(&m1, "number given twice");

    static const pb_field clash[] = {{1, "e", PB_STRING, 0, NULL},
                                     {2, NULL, PB_INLINE, 0, &embedded}};
    static const pb_message m2 = {"t.Clash", clash, 2, NULL};
    expect_bad_descriptor(&m2, "JSON name given twice");

    static const pb_field nomsg[] = {{1, "m", PB_MESSAGE, 0, NULL}};
    static const pb_message m3 = {"t.NoMsg", nomsg, 1, NULL};
    expect_bad_descriptor(&m3, "without a message");

    static const pb_field rep_inline[] = {{1, NULL, PB_INLINE, PB_REPEATED, &embedded}};
    static const pb_message m4 = {"t.RepInline", rep_inline, 1, NULL};
    expect_bad_descriptor(&m4, "repeated inline");

    static const pb_field inline_to_json[] = {{1, NULL, PB_INLINE, 0, &wrapped}};
    static const pb_message m5 = {"t.InlineToJson", inline_to_json, 1, NULL};
    expect_bad_descriptor(&m5, "inline message with a to_json");

    static const pb_field noname[] = {{1, NULL, PB_STRING, 0, NULL}};
    static const pb_message m6 = {"t.NoName", noname, 1, NULL};
    expect_bad_descriptor(&m6, "no JSON name");
}

/* ---- the writer (common/pb_writer.h) ----------------------------------------------------- */

static void expect_bytes(const sbuf *b, const uint8_t *want, size_t len)
{
    cr_assert_eq(b->len, len);
    cr_expect_eq(memcmp(b->data, want, len), 0);
}

Test(protobuf, writer_bytes_are_the_wire_format)
{
    sbuf b = SBUF_INIT;
    pb_put_varint(&b, 0);
    pb_put_varint(&b, 300);
    expect_bytes(&b, (const uint8_t[]){0x00, 0xac, 0x02}, 3);
    sbuf_free(&b);

    pb_put_uint(&b, 1, 150);
    pb_put_string(&b, 2, "testing");
    pb_put_bytes(&b, 3, NULL, 0);
    expect_bytes(&b,
                 (const uint8_t[]){0x08, 0x96, 0x01, 0x12, 0x07, 't', 'e', 's', 't', 'i', 'n', 'g',
                                   0x1a, 0x00},
                 14);
    sbuf_free(&b);

    pb_put_double(&b, 1, 1.0); /* 0x3ff0000000000000, little-endian */
    expect_bytes(&b, (const uint8_t[]){0x09, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f}, 9);
    sbuf_free(&b);

    sbuf sub = SBUF_INIT;
    pb_put_uint(&sub, 1, 1);
    pb_put_message(&b, 4, &sub);
    cr_expect_eq(sub.len, 0, "the submessage's buffer is freed");
    expect_bytes(&b, (const uint8_t[]){0x22, 0x02, 0x08, 0x01}, 4);
    sbuf_free(&b);
}

Test(protobuf, writer_and_reader_agree_on_every_varint_length)
{
    for (int bits = 0; bits <= 64; bits++) {
        uint64_t v = bits == 64 ? UINT64_MAX : (1ull << bits) - 1;
        sbuf b = SBUF_INIT;
        pb_put_varint(&b, v);
        cr_expect_eq(b.len, bits <= 7 ? 1 : (size_t)(bits + 6) / 7);
        pb_reader r = pb_reader_of(b.data, b.len);
        uint64_t got = 0;
        cr_expect_eq(pb_read_varint(&r, &got), 0);
        cr_expect_eq(got, v);
        cr_expect_eq(r.p, r.end);
        sbuf_free(&b);
    }
}

/*
 * The secret helpers of client/ (config_internal.h): the capped secret buffer keeps its content
 * across growth and refuses to pass its cap, and the pure ExecCredential parser (the fuzzing
 * entry point) works on a memory buffer without a process. That the bytes are wiped cannot be
 * observed without reading freed memory; OPENSSL_cleanse is what guarantees it.
 */
#include "client/config_internal.h"
#include "common/alloc.h"
#include "testutil.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

static void setup(void)
{
    alloc_install_cjson_hooks();
}

TestSuite(secret, .init = setup);

Test(secret, buffer_keeps_every_byte_across_growth)
{
    kc_secret_buf b = {0};
    char piece[333];
    for (size_t i = 0; i < 100; i++) {
        memset(piece, 'a' + (int)(i % 26), sizeof piece);
        cr_assert(kc_secret_buf_append(&b, piece, sizeof piece, 1024 * 1024));
    }
    cr_assert_eq(b.len, 100 * sizeof piece);
    for (size_t i = 0; i < 100; i++)
        cr_assert_eq(b.data[i * sizeof piece], 'a' + (int)(i % 26));
    cr_assert_eq(b.data[b.len], '\0', "NUL-terminated");
    size_t len = 0;
    unsigned char *data = kc_secret_buf_detach(&b, &len);
    cr_assert_eq(len, 100 * sizeof piece);
    cr_assert_null(b.data);
    kc_free_secret(data, len + 1);
}

Test(secret, buffer_refuses_to_pass_its_cap_and_keeps_what_it_has)
{
    kc_secret_buf b = {0};
    cr_assert(kc_secret_buf_append(&b, "0123456789", 10, 16));
    cr_assert(!kc_secret_buf_append(&b, "0123456789", 10, 16));
    cr_assert_eq(b.len, 10, "nothing of the refused piece is appended");
    cr_assert(kc_secret_buf_append(&b, "012345", 6, 16), "exactly the cap is allowed");
    cr_assert_str_eq((char *)b.data, "0123456789012345");
    cr_assert(!kc_secret_buf_append(&b, "x", 1, 16));
    cr_assert(!kc_secret_buf_append(&b, "x", (size_t)-1, 16), "no overflow on a huge length");
    kc_secret_buf_free(&b);
    cr_assert_null(b.data);
    cr_assert_eq(b.len + b.cap, 0);
}

Test(secret, empty_buffer_detaches_to_an_empty_string)
{
    kc_secret_buf b = {0};
    size_t len = 1;
    unsigned char *data = kc_secret_buf_detach(&b, &len);
    cr_assert_not_null(data);
    cr_assert_eq(len, 0);
    cr_assert_eq(data[0], '\0');
    kc_free_secret(data, 1);
}

Test(secret, free_helpers_accept_null)
{
    kc_free_secret(NULL, 10);
    kc_free_secret_str(NULL);
    kc_json_free_secret(NULL);
    kc_free_secret_str(xstrdup("token"));
    kc_json_free_secret(cJSON_Parse("{\"a\":{\"token\":\"t\",\"list\":[\"x\",{\"k\":\"v\"}]}}"));
}

/* ---- kc_exec_parse: the ExecCredential parser on a memory buffer ---- */

static kc_exec_spec spec_v1 = {
    .api_version = KC_EXEC_V1,
    .command = "plugin",
};

Test(secret, exec_output_parses_from_memory)
{
    static const char out[] = "{\"apiVersion\":\"client.authentication.k8s.io/v1\","
                              "\"kind\":\"ExecCredential\",\"status\":{\"token\":\"tok\","
                              "\"expirationTimestamp\":\"2030-01-01T00:00:10Z\"}}";
    kc_exec_result r;
    api_error err = API_ERROR_INIT;
    cr_assert_eq(kc_exec_parse(&spec_v1, out, strlen(out), &r, &err), 0, "%s", err.message);
    cr_assert_str_eq(r.token, "tok");
    cr_assert_eq(r.expiry_ms, TU_WALL_START_MS + 10000);
    kc_exec_result_clear(&r);
    cr_assert_null(r.token);
}

Test(secret, exec_output_that_is_not_json_is_einval_naming_the_plugin)
{
    kc_exec_result r;
    api_error err = API_ERROR_INIT;
    cr_assert_eq(kc_exec_parse(&spec_v1, "{\"token\":", 9, &r, &err), -EINVAL);
    cr_assert_eq(err.code, 400);
    cr_assert_str_eq(err.reason, "BadRequest");
    cr_assert_str_eq(err.message,
                     "exec plugin \"plugin\": output is not an ExecCredential JSON object");
    apierr_clear(&err);
}

/*
 * fuzz_k8s_proto.c - protobuf request bodies of the built-in kinds (api/k8s_proto.h,
 * common/protobuf.h): what kubectl 1.32+ and client-go send with Content-Type
 * application/vnd.kubernetes.protobuf to create, update, /status, /scale and delete.
 *
 * An input that starts with the magic "k8s\0" is the whole body. Any other input is an object's
 * message: its first byte picks a kind of the table and the rest goes into a runtime.Unknown
 * envelope of that kind, so the fuzzer spends its time inside the objects rather than on the
 * envelope. Checked: success gives an object (and no error) whose kind and apiVersion are
 * strings, with no repeated key, only finite integral numbers within ±2^53, and which survives a
 * round trip through JSON text and the server's JSON reader unchanged; the duplicates named are
 * min(count, PB_MAX_REPORTED_DUPLICATES) strings; failure gives no object and a 400 BadRequest or
 * 415 UnsupportedMediaType with a message; decoding twice gives the same answer.
 */
#include "api/k8s_proto.h"
#include "api/k8s_proto_desc.h"
#include "common/json.h"
#include "common/pb_writer.h"
#include "common/sbuf.h"
#include "fuzz/body.h"
#include "fuzz/fuzz.h"

#include <math.h>

/* The body an object message of the kind `pick` selects would be sent in. */
static void wrap(sbuf *b, uint8_t pick, const uint8_t *raw, size_t len)
{
    const k8s_pb_kind *k = &k8s_pb_kinds[pick % k8s_pb_nkinds];
    const char *api_version = k->api_version ? k->api_version : "v1";
    sbuf tm = SBUF_INIT;
    pb_put_bytes(&tm, 1, api_version, strlen(api_version));
    pb_put_bytes(&tm, 2, k->kind, strlen(k->kind));
    sbuf_append(b, "k8s\0", 4);
    pb_put_bytes(b, 1, tm.data, tm.len);
    pb_put_bytes(b, 2, raw, len);
    sbuf_free(&tm);
}

/* Numbers a JSON reader and every Go client read back exactly. */
static bool exact_numbers(const cJSON *item)
{
    if (cJSON_IsNumber(item)) {
        double v = item->valuedouble;
        return isfinite(v) && v == floor(v) && fabs(v) <= 9007199254740992.0;
    }
    for (const cJSON *c = item->child; c; c = c->next)
        if (!exact_numbers(c))
            return false;
    return true;
}

static void check_success(const cJSON *out, const cJSON *dups, int rc)
{
    FUZZ_CHECK(cJSON_IsObject(out));
    FUZZ_CHECK(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(out, "kind")));
    FUZZ_CHECK(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(out, "apiVersion")));
    FUZZ_CHECK(fuzz_no_repeated_keys(out));
    FUZZ_CHECK(exact_numbers(out));
    int named = rc < PB_MAX_REPORTED_DUPLICATES ? rc : PB_MAX_REPORTED_DUPLICATES;
    FUZZ_CHECK(cJSON_GetArraySize(dups) == named);
    const cJSON *d;
    cJSON_ArrayForEach(d, dups)
    {
        FUZZ_CHECK(cJSON_IsString(d));
    }
    /* What is stored is this tree as JSON text, read back by the same reader as any body. */
    char *text = json_print(out);
    cJSON *again_dups = cJSON_CreateArray();
    cJSON *again = json_parse_body(text, strlen(text), again_dups, NULL);
    FUZZ_CHECK(again && json_equal(again, out));
    FUZZ_CHECK(cJSON_GetArraySize(again_dups) == 0);
    cJSON_Delete(again);
    cJSON_Delete(again_dups);
    free(text);
}

static void check_failure(const cJSON *out, const api_error *err)
{
    FUZZ_CHECK(out == NULL);
    FUZZ_CHECK((err->code == 400 && strcmp(err->reason, "BadRequest") == 0) ||
               (err->code == 415 && strcmp(err->reason, "UnsupportedMediaType") == 0));
    FUZZ_CHECK(err->message && *err->message);
    char *status = apierr_to_status_json(err);
    FUZZ_CHECK(status != NULL);
    free(status);
}

/* One decode with its contract checked; returns the result (caller deletes) and its rc. */
static cJSON *checked_decode(const sbuf *body, int *rc, api_error *err)
{
    static cJSON unset; /* out must be overwritten, with NULL on failure */
    cJSON *out = &unset;
    cJSON *dups = cJSON_CreateArray();
    *rc = k8s_proto_decode(body->data, body->len, dups, &out, err);
    if (*rc >= 0)
        check_success(out, dups, *rc);
    else
        check_failure(out, err);
    cJSON_Delete(dups);
    return *rc >= 0 ? out : NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sbuf body = SBUF_INIT;
    if (size >= 4 && memcmp(data, "k8s\0", 4) == 0)
        sbuf_append(&body, data, size);
    else if (size > 0)
        wrap(&body, data[0], data + 1, size - 1);

    api_error err1 = API_ERROR_INIT, err2 = API_ERROR_INIT;
    int rc1, rc2;
    cJSON *first = checked_decode(&body, &rc1, &err1);
    cJSON *second = checked_decode(&body, &rc2, &err2);
    FUZZ_CHECK(rc1 == rc2);
    FUZZ_CHECK(rc1 < 0 ? err1.code == err2.code && strcmp(err1.message, err2.message) == 0
                       : json_equal(first, second));
    cJSON_Delete(first);
    cJSON_Delete(second);
    apierr_clear(&err1);
    apierr_clear(&err2);
    sbuf_free(&body);
    return 0;
}

/*
 * fuzz_status_decode.c - the client's decoding of error answers (common/apierr.h,
 * apierr_from_status_json): the body of any non-2xx answer, as any server sends it.
 *
 * The input is the body; the HTTP code comes from its length (so odd codes are tried too).
 * Round trip: the decoded error rendered as a Status (apierr_to_status_json) and decoded again
 * must give the same error (an absent message or reason reads back as empty, which is how the
 * renderer writes them). Causes are compared only when their numbers are finite: a cause holding
 * 1e999 reads as infinity, which JSON can only print as null.
 */
#include "common/apierr.h"
#include "common/json.h"
#include "fuzz/fuzz.h"

#include <math.h>

static bool same_string(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "") == 0;
}

static bool all_finite(const cJSON *item)
{
    if (cJSON_IsNumber(item) && !isfinite(item->valuedouble))
        return false;
    for (const cJSON *c = item->child; c; c = c->next)
        if (!all_finite(c))
            return false;
    return true;
}

static bool same_causes(const cJSON *a, const cJSON *b)
{
    if (!a || !b)
        return !a && !b;
    return !all_finite(b) || json_equal(a, b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const int codes[] = {400, 401, 403, 404, 409, 410, 413, 422, 429, 500, 503, 504, 0, 999};
    int code = codes[size % (sizeof codes / sizeof codes[0])];

    api_error e = API_ERROR_INIT;
    apierr_from_status_json(&e, code, (const char *)data, size);
    FUZZ_CHECK(e.code == code);
    FUZZ_CHECK(!e.causes || cJSON_IsArray(e.causes));

    char *status = apierr_to_status_json(&e);
    FUZZ_CHECK(status != NULL);
    api_error back = API_ERROR_INIT;
    apierr_from_status_json(&back, code, status, strlen(status));
    FUZZ_CHECK(back.code == e.code);
    FUZZ_CHECK(same_string(back.reason, e.reason));
    FUZZ_CHECK(same_string(back.message, e.message));
    FUZZ_CHECK(same_string(back.name, e.name));
    FUZZ_CHECK(same_string(back.group, e.group));
    FUZZ_CHECK(same_string(back.kind, e.kind));
    FUZZ_CHECK(same_string(back.uid, e.uid));
    FUZZ_CHECK(back.retry_after == e.retry_after);
    FUZZ_CHECK(same_causes(back.causes, e.causes));

    /* Also the body without its length bound (as a NUL-terminated string). */
    api_error nul = API_ERROR_INIT;
    char *text = fuzz_cstring(data, size);
    apierr_from_status_json(&nul, code, text, strlen(text));
    free(text);

    apierr_clear(&nul);
    apierr_clear(&back);
    free(status);
    apierr_clear(&e);
    return 0;
}

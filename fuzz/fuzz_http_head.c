/*
 * fuzz_http_head.c - the request heads the controller-manager's /metrics and probe server reads
 * from any local process (controllers/http_head.h, hh_parse).
 *
 * The input is the bytes a client sends. Invariants:
 *  - the answer is one of 0, -EAGAIN, -EMSGSIZE, -ENAMETOOLONG, -EPROTONOSUPPORT, -EINVAL;
 *  - on 0: head_len <= min(size, HH_MAX_HEAD), the method is a non-empty token of at most
 *    HH_MAX_METHOD bytes, the path starts with '/', holds no '?' and fits HH_MAX_TARGET, the
 *    minor version is 0 or 1; the head alone parses the same, and so does the head followed by
 *    other bytes (a body is never looked at);
 *  - split independence, as the server re-parses after every read: every proper prefix of a
 *    valid head gives -EAGAIN (checked at a few cut points);
 *  - -EMSGSIZE only once HH_MAX_HEAD bytes are there.
 */
#include "controllers/http_head.h"
#include "fuzz/fuzz.h"

#include <errno.h>

static void check_success(const uint8_t *data, size_t size, const hh_request *req)
{
    FUZZ_CHECK(req->head_len <= size && req->head_len <= HH_MAX_HEAD);
    size_t mlen = strlen(req->method);
    FUZZ_CHECK(mlen > 0 && mlen <= HH_MAX_METHOD);
    FUZZ_CHECK(req->path[0] == '/' && strchr(req->path, '?') == NULL);
    FUZZ_CHECK(strlen(req->path) <= HH_MAX_TARGET);
    FUZZ_CHECK(req->minor_version == 0 || req->minor_version == 1);

    hh_request again;
    FUZZ_CHECK(hh_parse((const char *)data, req->head_len, &again) == 0);
    FUZZ_CHECK(again.head_len == req->head_len && !strcmp(again.method, req->method) &&
               !strcmp(again.path, req->path) && again.minor_version == req->minor_version);

    uint8_t *longer = malloc(req->head_len + 5);
    FUZZ_CHECK(longer != NULL);
    memcpy(longer, data, req->head_len);
    memcpy(longer + req->head_len, "\0\r\n\x7f!", 5);
    FUZZ_CHECK(hh_parse((const char *)longer, req->head_len + 5, &again) == 0);
    FUZZ_CHECK(again.head_len == req->head_len);
    free(longer);

    size_t cuts[] = {
        0, 1, req->head_len / 3, req->head_len / 2, req->head_len - 2, req->head_len - 1};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++)
        if (cuts[i] < req->head_len)
            FUZZ_CHECK(hh_parse((const char *)data, cuts[i], &again) == -EAGAIN);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    hh_request req;
    int rc = hh_parse((const char *)data, size, &req);
    FUZZ_CHECK(rc == 0 || rc == -EAGAIN || rc == -EMSGSIZE || rc == -ENAMETOOLONG ||
               rc == -EPROTONOSUPPORT || rc == -EINVAL);
    if (rc == 0)
        check_success(data, size, &req);
    if (rc == -EMSGSIZE)
        FUZZ_CHECK(size >= HH_MAX_HEAD);
    return 0;
}

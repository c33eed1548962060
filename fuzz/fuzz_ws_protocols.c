/*
 * fuzz_ws_protocols.c - the Sec-WebSocket-Protocol header lines of a watch upgrade
 * (apiserver/transport/websocket.h: ws_offer_parse, the bearer token subprotocol,
 * ws_offer_fits_lws) and the cutting of a watch stream into messages (ws_next_message).
 *
 * The input is the header lines, separated by '\n' (a client may repeat the header). Checked:
 *  - ws_offer_parse answers 0, or -EINVAL with a 400 and nothing owned;
 *  - what it selects is one of ws_protocols and was offered; a token is either decoded (valid
 *    UTF-8, not empty, and encoding it again decodes to the same bytes) or refused, never both;
 *  - split independence: the same names on one line joined by commas give the same offer;
 *  - ws_offer_fits_lws answers 0 or -E2BIG with a 400;
 *  - b64url_raw_decode of the whole input answers 0 with 6 bits per character, or -EINVAL;
 *  - the messages ws_next_message cuts, joined by '\n', give back the input up to its last '\n'.
 */
#include "apiserver/transport/websocket.h"
#include "common/base64.h"
#include "common/apierr.h"
#include "fuzz/fuzz.h"

#include <errno.h>

#define MAX_LINES 64 /* more header lines than the transport reads (WS_MAX_PROTOCOLS) */

static const char B64URL[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* base64url without padding of in[0..n) into a new string. */
static char *encode(const unsigned char *in, size_t n)
{
    char *out = malloc(n / 3 * 4 + 5);
    FUZZ_CHECK(out != NULL);
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)in[i + 1] << 8;
        if (i + 2 < n)
            v |= in[i + 2];
        size_t chars = n - i >= 3 ? 4 : n - i + 1;
        for (size_t k = 0; k < chars; k++)
            out[o++] = B64URL[(v >> (18 - 6 * k)) & 63];
    }
    out[o] = '\0';
    return out;
}

static bool is_supported(const char *p)
{
    for (int i = 0; ws_protocols[i]; i++)
        if (p == ws_protocols[i])
            return true;
    return false;
}

static void check_offer(const ws_offer *o, const uint8_t *data, size_t size)
{
    FUZZ_CHECK(!(o->has_token && o->token_invalid));
    FUZZ_CHECK(o->has_token == (o->token != NULL));
    if (o->selected) {
        FUZZ_CHECK(is_supported(o->selected));
        FUZZ_CHECK(memmem(data, size, o->selected, strlen(o->selected)) != NULL);
        FUZZ_CHECK(o->noffered > 0);
    }
    if (!o->has_token)
        return;
    FUZZ_CHECK(o->token_len > 0 && o->token[o->token_len] == '\0');
    char *again = encode((const unsigned char *)o->token, o->token_len);
    char *back;
    size_t back_len;
    FUZZ_CHECK(b64url_raw_decode(again, strlen(again), &back, &back_len) == 0);
    FUZZ_CHECK(back_len == o->token_len && memcmp(back, o->token, back_len) == 0);
    free(back);
    free(again);
}

static bool same_offer(const ws_offer *a, const ws_offer *b)
{
    return a->selected == b->selected && a->noffered == b->noffered && a->ntokens == b->ntokens &&
           a->has_token == b->has_token && a->token_invalid == b->token_invalid &&
           a->token_len == b->token_len &&
           (!a->token || memcmp(a->token, b->token, a->token_len) == 0);
}

/* Parses lines, checks the answer; returns it, *o filled when 0. */
static int parse(const char *const *lines, const size_t *lens, int n, ws_offer *o,
                 const uint8_t *data, size_t size)
{
    api_error err = API_ERROR_INIT;
    int rc = ws_offer_parse(lines, lens, n, o, &err);
    FUZZ_CHECK(rc == 0 || rc == -EINVAL);
    if (rc != 0) {
        FUZZ_CHECK(err.code == 400 && o->token == NULL && !o->selected);
        apierr_clear(&err);
        return rc;
    }
    FUZZ_CHECK(!apierr_is_set(&err));
    check_offer(o, data, size);
    rc = ws_offer_fits_lws(o, size, &err);
    FUZZ_CHECK(rc == 0 || (rc == -E2BIG && err.code == 400));
    apierr_clear(&err);
    return 0;
}

static void check_messages(const uint8_t *data, size_t size)
{
    size_t off = 0, n, rebuilt = 0;
    const char *msg;
    while (ws_next_message((const char *)data, size, &off, &msg, &n)) {
        FUZZ_CHECK(msg == (const char *)data + rebuilt);
        FUZZ_CHECK(memchr(msg, '\n', n) == NULL && msg[n] == '\n');
        rebuilt += n + 1;
        FUZZ_CHECK(off == rebuilt);
    }
    const char *last = size ? memrchr(data, '\n', size) : NULL;
    FUZZ_CHECK(rebuilt == (last ? (size_t)(last - (const char *)data) + 1 : 0));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *lines[MAX_LINES];
    size_t lens[MAX_LINES];
    int n = 0;
    for (size_t start = 0; start <= size && n < MAX_LINES;) {
        const uint8_t *nl = memchr(data + start, '\n', size - start);
        size_t end = nl ? (size_t)(nl - data) : size;
        lines[n] = (const char *)data + start;
        lens[n++] = end - start;
        start = end + 1;
    }
    ws_offer split;
    int rc = parse(lines, lens, n, &split, data, size);

    /* The same lines on one line, joined by commas (within the length limit, which the joining
       commas count against). */
    char *joined = malloc(size + 1);
    FUZZ_CHECK(joined != NULL);
    size_t jl = 0;
    for (int i = 0; i < n; i++) {
        if (i)
            joined[jl++] = ',';
        memcpy(joined + jl, lines[i], lens[i]);
        jl += lens[i];
    }
    const char *one[] = {joined};
    size_t one_len[] = {jl};
    ws_offer whole;
    int rc_whole = parse(one, one_len, 1, &whole, (const uint8_t *)joined, jl);
    bool comparable = jl <= WS_MAX_HEADER_BYTES && n < MAX_LINES;
    if (comparable)
        FUZZ_CHECK(rc == rc_whole);
    if (comparable && rc == 0)
        FUZZ_CHECK(same_offer(&split, &whole));
    if (rc == 0)
        ws_offer_clear(&split);
    if (rc_whole == 0)
        ws_offer_clear(&whole);
    free(joined);

    char *decoded;
    size_t dlen;
    rc = b64url_raw_decode((const char *)data, size, &decoded, &dlen);
    FUZZ_CHECK(rc == 0 || rc == -EINVAL);
    if (rc == 0) {
        FUZZ_CHECK(dlen == size * 6 / 8 && decoded[dlen] == '\0');
        free(decoded);
    }
    check_messages(data, size);
    return 0;
}

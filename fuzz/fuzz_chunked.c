/*
 * fuzz_chunked.c - the decoder of chunked request bodies (apiserver/transport/chunked.h), fed by
 * any client before the body is read.
 *
 * The input is the raw body as it arrives on the connection. It is decoded twice: in one call,
 * and in pieces whose sizes come from the input itself (so every split is explored). Framing is
 * independent of how bytes are split, so both runs must agree on the result and the decoded
 * data; a complete body must never decode to more bytes than it had.
 */
#include "apiserver/transport/chunked.h"
#include "common/sbuf.h"
#include "fuzz/fuzz.h"

/* Feeds data[0..size) in pieces of 1..16 bytes chosen by the bytes themselves. */
static int feed_split(chunked_decoder *d, const uint8_t *data, size_t size, sbuf *out)
{
    int rc = 0;
    for (size_t i = 0, n; i < size && rc == 0; i += n) {
        n = fuzz_piece(data, size, i, 16);
        rc = chunked_feed(d, (const char *)data + i, n, out);
    }
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    chunked_decoder whole, split;
    sbuf a = SBUF_INIT, b = SBUF_INIT;
    chunked_init(&whole);
    chunked_init(&split);
    int rc_whole = chunked_feed(&whole, (const char *)data, size, &a);
    int rc_split = feed_split(&split, data, size, &b);

    FUZZ_CHECK(rc_whole >= -1 && rc_whole <= 1);
    FUZZ_CHECK(rc_whole == rc_split);
    FUZZ_CHECK(a.len <= size);
    if (rc_whole >= 0) {
        /* Same bytes decoded so far, whatever the split (after an error the amount may differ:
         * the decoder stops at the first bad byte of the piece it was given). */
        FUZZ_CHECK(a.len == b.len);
        FUZZ_CHECK(a.len == 0 || memcmp(a.data, b.data, a.len) == 0);
    }
    if (rc_whole == 1) {
        /* A finished body ignores whatever follows it. */
        size_t before = a.len;
        FUZZ_CHECK(chunked_feed(&whole, "5\r\nhello\r\n", 10, &a) == 1);
        FUZZ_CHECK(a.len == before);
    }
    sbuf_free(&a);
    sbuf_free(&b);
    return 0;
}

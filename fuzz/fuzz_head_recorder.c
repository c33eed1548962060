/*
 * fuzz_head_recorder.c - the framer that records request heads from a TLS connection's
 * decrypted stream for front-proxy authentication (apiserver/transport/headrec.h), fed by
 * whatever a client with a certificate sends.
 *
 * The input is the stream. It is fed twice: in one call, and in pieces whose sizes come from the
 * input itself. Checked:
 *  - framing does not depend on how the bytes are split: both runs record the same heads, byte
 *    for byte, in the same order;
 *  - every recorded head parses again to the same method and fields (headrec_parse), ends with
 *    an empty line, and is within HEADREC_MAX_HEAD;
 *  - at most HEADREC_MAX_QUEUED heads are ever held.
 */
#include "apiserver/transport/headrec.h"
#include "fuzz/fuzz.h"

static void feed_split(headrec *r, const uint8_t *data, size_t size)
{
    for (size_t i = 0, n; i < size; i += n) {
        n = fuzz_piece(data, size, i, 32);
        headrec_feed(r, (const char *)data + i, n);
    }
}

static void check_head(const headrec_head *h)
{
    size_t len = strlen(h->raw);
    FUZZ_CHECK(len >= 4 && len <= HEADREC_MAX_HEAD);
    FUZZ_CHECK(memcmp(h->raw + len - 4, "\r\n\r\n", 4) == 0);
    headrec_head *again = NULL;
    FUZZ_CHECK(headrec_parse(h->raw, len, &again) == 0);
    FUZZ_CHECK(strcmp(again->method, h->method) == 0);
    FUZZ_CHECK(again->nfields == h->nfields);
    for (size_t i = 0; i < h->nfields; i++) {
        FUZZ_CHECK(again->fields[i].name_len == h->fields[i].name_len);
        FUZZ_CHECK(again->fields[i].value_len == h->fields[i].value_len);
        FUZZ_CHECK(memcmp(again->fields[i].value, h->fields[i].value, h->fields[i].value_len) == 0);
    }
    headrec_head_free(again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    headrec *whole = headrec_new(), *split = headrec_new();
    headrec_feed(whole, (const char *)data, size);
    feed_split(split, data, size);
    size_t count = 0;
    for (;;) {
        headrec_head *a = headrec_pop(whole), *b = headrec_pop(split);
        FUZZ_CHECK((a == NULL) == (b == NULL));
        if (!a)
            break;
        FUZZ_CHECK(strcmp(a->raw, b->raw) == 0);
        check_head(a);
        headrec_head_free(a);
        headrec_head_free(b);
        count++;
    }
    FUZZ_CHECK(count <= HEADREC_MAX_QUEUED);
    headrec_free(whole);
    headrec_free(split);
    return 0;
}

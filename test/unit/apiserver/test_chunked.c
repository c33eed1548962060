/*
 * test_chunked.c - the incremental HTTP/1.1 chunked request-body decoder (apiserver/chunked.c):
 * data, chunk extensions, trailers, hex case, the exact end, every split of the input, and
 * malformed framing.
 */
#include "apiserver/transport/chunked.h"

#include "common/sbuf.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

/* A body of three chunks (one with an extension) and a trailer, and the data it carries. */
#define FRAMED                                                                                     \
    "5\r\nhello\r\n"                                                                               \
    "1;ext=\"a b\"\r\n,\r\n"                                                                       \
    "A\r\n0123456789\r\n"                                                                          \
    "0\r\nX-Trailer: t\r\n\r\n"
#define DATA "hello,0123456789"

/* Decodes in[0..n) in one call; returns chunked_feed's result and leaves the data in out. */
static int decode(const char *in, size_t n, sbuf *out)
{
    chunked_decoder d;
    chunked_init(&d);
    return chunked_feed(&d, in, n, out);
}

static int decode_str(const char *in, sbuf *out)
{
    return decode(in, strlen(in), out);
}

Test(chunked, body_in_one_piece_gives_the_data)
{
    sbuf out = SBUF_INIT;
    cr_assert_eq(decode_str(FRAMED, &out), 1);
    cr_assert_eq(out.len, strlen(DATA));
    cr_assert_str_eq(out.data, DATA);
    sbuf_free(&out);
}

Test(chunked, split_at_every_boundary_gives_the_same_data)
{
    const char *in = FRAMED;
    size_t n = strlen(in);
    for (size_t cut = 0; cut <= n; cut++) {
        chunked_decoder d;
        chunked_init(&d);
        sbuf out = SBUF_INIT;
        int first = chunked_feed(&d, in, cut, &out);
        cr_assert_eq(first, cut == n ? 1 : 0, "cut at %zu: first part gave %d", cut, first);
        cr_assert_eq(chunked_feed(&d, in + cut, n - cut, &out), 1, "cut at %zu", cut);
        cr_assert_eq(out.len, strlen(DATA), "cut at %zu", cut);
        cr_assert_eq(memcmp(out.data, DATA, out.len), 0, "cut at %zu", cut);
        sbuf_free(&out);
    }
}

Test(chunked, one_byte_at_a_time_gives_the_same_data)
{
    const char *in = FRAMED;
    chunked_decoder d;
    chunked_init(&d);
    sbuf out = SBUF_INIT;
    int rc = 0;
    for (size_t i = 0; in[i]; i++)
        rc = chunked_feed(&d, in + i, 1, &out);
    cr_assert_eq(rc, 1);
    cr_assert_str_eq(out.data, DATA);
    sbuf_free(&out);
}

Test(chunked, end_is_detected_exactly_at_the_terminating_chunk)
{
    const char *in = "3\r\nabc\r\n0\r\n\r\n";
    size_t n = strlen(in);
    chunked_decoder d;
    chunked_init(&d);
    sbuf out = SBUF_INIT;
    for (size_t i = 0; i + 1 < n; i++)
        cr_assert_eq(chunked_feed(&d, in + i, 1, &out), 0, "complete early at byte %zu", i);
    cr_assert_eq(chunked_feed(&d, in + n - 1, 1, &out), 1);
    cr_assert_str_eq(out.data, "abc");
    sbuf_free(&out);
}

Test(chunked, bytes_after_the_end_are_ignored)
{
    chunked_decoder d;
    chunked_init(&d);
    sbuf out = SBUF_INIT;
    const char *in = "2\r\nok\r\n0\r\n\r\nGET / HTTP/1.1\r\n";
    cr_assert_eq(chunked_feed(&d, in, strlen(in), &out), 1);
    cr_assert_eq(chunked_feed(&d, "5\r\nmore!\r\n", 10, &out), 1);
    cr_assert_eq(out.len, 2);
    cr_assert_str_eq(out.data, "ok");
    sbuf_free(&out);
}

Test(chunked, empty_body_is_only_the_terminating_chunk)
{
    sbuf out = SBUF_INIT;
    cr_assert_eq(decode_str("0\r\n\r\n", &out), 1);
    cr_assert_eq(out.len, 0);
    sbuf_free(&out);
}

Test(chunked, empty_input_needs_more)
{
    chunked_decoder d;
    chunked_init(&d);
    sbuf out = SBUF_INIT;
    cr_assert_eq(chunked_feed(&d, "", 0, &out), 0);
    cr_assert_eq(out.len, 0);
    sbuf_free(&out);
}

Test(chunked, chunk_extensions_are_skipped)
{
    sbuf out = SBUF_INIT;
    cr_assert_eq(decode_str("4;a=1;b=\"x;y\"\r\nwiki\r\n5;name\r\npedia\r\n0;end=1\r\n\r\n", &out),
                 1);
    cr_assert_str_eq(out.data, "wikipedia");
    sbuf_free(&out);
}

Test(chunked, trailers_are_skipped)
{
    sbuf out = SBUF_INIT;
    cr_assert_eq(decode_str("3\r\nabc\r\n0\r\nX-Checksum: 1f\r\nX-Other: \r\n\r\n", &out), 1);
    cr_assert_str_eq(out.data, "abc");
    sbuf_free(&out);
}

Test(chunked, trailers_need_the_final_empty_line)
{
    sbuf out = SBUF_INIT;
    cr_assert_eq(decode_str("3\r\nabc\r\n0\r\nX-Checksum: 1f\r\n", &out), 0);
    sbuf_free(&out);
}

Test(chunked, uppercase_and_lowercase_hex_sizes)
{
    char data[0x1f + 1];
    memset(data, 'x', sizeof data - 1);
    data[sizeof data - 1] = '\0';
    sbuf in = SBUF_INIT;
    sbuf_printf(&in, "1F\r\n%s\r\n1f\r\n%s\r\n0\r\n\r\n", data, data);
    sbuf out = SBUF_INIT;
    cr_assert_eq(decode(in.data, in.len, &out), 1);
    cr_assert_eq(out.len, 2 * 0x1f);
    sbuf_free(&in);
    sbuf_free(&out);
}

Test(chunked, leading_zeros_in_the_size_are_allowed)
{
    sbuf out = SBUF_INIT;
    cr_assert_eq(decode_str("0003\r\nabc\r\n000\r\n\r\n", &out), 1);
    cr_assert_str_eq(out.data, "abc");
    sbuf_free(&out);
}

Test(chunked, data_may_hold_crlf_and_nul_bytes)
{
    static const char in[] = "6\r\na\r\n\0b\n\r\n0\r\n\r\n";
    sbuf out = SBUF_INIT;
    cr_assert_eq(decode(in, sizeof in - 1, &out), 1);
    cr_assert_eq(out.len, 6);
    cr_assert_eq(memcmp(out.data, "a\r\n\0b\n", 6), 0);
    sbuf_free(&out);
}

Test(chunked, large_chunk_fed_in_pieces)
{
    size_t size = 100000;
    sbuf in = SBUF_INIT;
    sbuf_printf(&in, "%zx\r\n", size);
    for (size_t i = 0; i < size; i++)
        sbuf_putc(&in, (char)('a' + i % 26));
    sbuf_puts(&in, "\r\n0\r\n\r\n");
    chunked_decoder d;
    chunked_init(&d);
    sbuf out = SBUF_INIT;
    int rc = 0;
    for (size_t off = 0; off < in.len; off += 4093) {
        size_t n = in.len - off < 4093 ? in.len - off : 4093;
        rc = chunked_feed(&d, in.data + off, n, &out);
    }
    cr_assert_eq(rc, 1);
    cr_assert_eq(out.len, size);
    cr_assert_eq(out.data[size - 1], (char)('a' + (size - 1) % 26));
    sbuf_free(&in);
    sbuf_free(&out);
}

Test(chunked, bad_hex_in_size_is_an_error)
{
    sbuf out = SBUF_INIT;
    cr_assert_eq(decode_str("xyz\r\nabc\r\n0\r\n\r\n", &out), -1);
    sbuf_free(&out);
}

Test(chunked, hex_then_garbage_in_size_is_an_error)
{
    sbuf out = SBUF_INIT;
    cr_assert_eq(decode_str("3g\r\nabc\r\n0\r\n\r\n", &out), -1);
    sbuf_free(&out);
}

Test(chunked, negative_size_is_an_error)
{
    sbuf out = SBUF_INIT;
    cr_assert_eq(decode_str("-1\r\na\r\n0\r\n\r\n", &out), -1);
    sbuf_free(&out);
}

Test(chunked, missing_crlf_after_data_is_an_error)
{
    sbuf out = SBUF_INIT;
    cr_assert_eq(decode_str("3\r\nabcd\r\n0\r\n\r\n", &out), -1);
    sbuf_free(&out);
}

Test(chunked, cr_without_lf_after_data_is_an_error)
{
    sbuf out = SBUF_INIT;
    cr_assert_eq(decode_str("3\r\nabc\rX0\r\n\r\n", &out), -1);
    sbuf_free(&out);
}

Test(chunked, size_line_without_digits_is_an_error)
{
    sbuf out = SBUF_INIT;
    cr_assert_eq(decode_str("\r\nabc\r\n0\r\n\r\n", &out), -1);
    sbuf_free(&out);
}

Test(chunked, size_line_with_only_an_extension_is_an_error)
{
    sbuf out = SBUF_INIT;
    cr_assert_eq(decode_str(";ext\r\n3\r\nabc\r\n0\r\n\r\n", &out), -1);
    sbuf_free(&out);
}

Test(chunked, size_line_ending_in_bare_lf_is_an_error)
{
    sbuf out = SBUF_INIT;
    cr_assert_eq(decode_str("3\nabc\r\n0\r\n\r\n", &out), -1);
    sbuf_free(&out);
}

Test(chunked, cr_inside_the_size_line_is_an_error)
{
    sbuf out = SBUF_INIT;
    cr_assert_eq(decode_str("1\r5\nabcde\r\n0\r\n\r\n", &out), -1);
    sbuf_free(&out);
}

Test(chunked, cr_without_lf_in_an_extension_is_an_error)
{
    sbuf out = SBUF_INIT;
    cr_assert_eq(decode_str("3;a\rb\nabc\r\n0\r\n\r\n", &out), -1);
    sbuf_free(&out);
}

Test(chunked, absurdly_long_size_is_an_error)
{
    sbuf out = SBUF_INIT;
    cr_assert_eq(decode_str("10000000000000000\r\n", &out), -1);
    sbuf_free(&out);
}

Test(chunked, error_is_sticky)
{
    chunked_decoder d;
    chunked_init(&d);
    sbuf out = SBUF_INIT;
    cr_assert_eq(chunked_feed(&d, "zz\r\n", 4, &out), -1);
    cr_assert_eq(chunked_feed(&d, "0\r\n\r\n", 5, &out), -1);
    cr_assert_eq(out.len, 0);
    sbuf_free(&out);
}

Test(chunked, null_output_follows_the_framing_without_keeping_data)
{
    /* A refused body is drained this way: its end is found, nothing is stored. */
    chunked_decoder d;
    chunked_init(&d);
    cr_assert_eq(chunked_feed(&d, FRAMED, 10, NULL), 0);
    cr_assert_eq(chunked_feed(&d, FRAMED + 10, strlen(FRAMED) - 10, NULL), 1);
    chunked_init(&d);
    cr_assert_eq(chunked_feed(&d, "5\r\nhelloX", 9, NULL), -1);
}

Test(chunked, used_says_where_the_body_ended)
{
    static const char in[] = "5\r\nhello\r\n0\r\n\r\nGET / HTTP/1.1\r\n";
    chunked_decoder d;
    chunked_init(&d);
    size_t used = 0;
    cr_assert_eq(chunked_feed_used(&d, in, strlen(in), NULL, &used), 1);
    cr_assert_eq(used, strlen("5\r\nhello\r\n0\r\n\r\n"), "the next request starts there");
    chunked_init(&d);
    cr_assert_eq(chunked_feed_used(&d, "5\r\nhel", 6, NULL, &used), 0);
    cr_assert_eq(used, 6, "everything read while the body goes on");
}

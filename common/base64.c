/*
 * base64.c - RFC 4648 base64 (see base64.h).
 */
#include "common/base64.h"

#include "common/alloc.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

static const char b64_std_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

void b64_append(sbuf *sb, const void *data, size_t n)
{
    const unsigned char *p = data;
    sbuf_reserve(sb, (n + 2) / 3 * 4 + 1);
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)p[i + 1] << 8;
        if (i + 2 < n)
            v |= p[i + 2];
        char q[4] = {b64_std_alphabet[(v >> 18) & 63], b64_std_alphabet[(v >> 12) & 63],
                     i + 1 < n ? b64_std_alphabet[(v >> 6) & 63] : '=',
                     i + 2 < n ? b64_std_alphabet[v & 63] : '='};
        sbuf_append(sb, q, 4);
    }
}

char *b64_encode(const void *data, size_t n)
{
    sbuf sb = SBUF_INIT;
    b64_append(&sb, data, n);
    sbuf_puts(&sb, ""); /* an empty input still yields "" rather than NULL */
    return sbuf_detach(&sb, NULL);
}

/* The 6-bit value of c in the standard (c62 '+', c63 '/') or URL ('-', '_') alphabet, or -1. */
static int b64_value(unsigned char c, char c62, char c63)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == (unsigned char)c62)
        return 62;
    if (c == (unsigned char)c63)
        return 63;
    return -1;
}

/*
 * The one decoding loop: s[0..n) without padding, 6 bits a character into bytes. strict: the
 * bits left below the last byte must be zero. Returns 0 with *out and *out_len, or -EINVAL.
 */
static int b64_decode_bits(const char *s, size_t n, char c62, char c63, bool strict, char **out,
                           size_t *out_len)
{
    if (n % 4 == 1)
        return -EINVAL;
    char *buf = xmalloc(n / 4 * 3 + 3);
    size_t len = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        int v = b64_value((unsigned char)s[i], c62, c63);
        if (v < 0) {
            free(buf);
            return -EINVAL;
        }
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            buf[len++] = (char)((acc >> bits) & 0xff);
        }
    }
    if (strict && (acc & ((1u << bits) - 1)) != 0) {
        free(buf);
        return -EINVAL;
    }
    buf[len] = '\0';
    *out = buf;
    *out_len = len;
    return 0;
}

int b64_decode(const char *s, size_t n, size_t max, char **out, size_t *out_len)
{
    if (n % 4 != 0)
        return -EINVAL;
    size_t pad = 0;
    while (pad < 2 && n > pad && s[n - 1 - pad] == '=')
        pad++;
    size_t data = n - pad;
    /* A padded quantum keeps at least two characters ("xx==", "xxx="). */
    if (pad && data % 4 < 2)
        return -EINVAL;
    if (data / 4 * 3 + (data % 4 ? data % 4 - 1 : 0) > max)
        return -EINVAL;
    return b64_decode_bits(s, data, '+', '/', true, out, out_len);
}

int b64url_raw_decode(const char *s, size_t n, char **out, size_t *out_len)
{
    return b64_decode_bits(s, n, '-', '_', false, out, out_len);
}

/* pb_writer.c - the protobuf wire writer of pb_writer.h. */
#include "common/pb_writer.h"

#include <string.h>

void pb_put_varint(sbuf *out, uint64_t v)
{
    uint8_t b[10];
    size_t n = 0;
    do {
        b[n] = (uint8_t)(v & 0x7f);
        v >>= 7;
        if (v)
            b[n] |= 0x80;
        n++;
    } while (v);
    sbuf_append(out, b, n);
}

void pb_put_tag(sbuf *out, uint32_t field, pb_wire wire)
{
    pb_put_varint(out, ((uint64_t)field << 3) | (uint64_t)wire);
}

void pb_put_uint(sbuf *out, uint32_t field, uint64_t v)
{
    pb_put_tag(out, field, PB_WIRE_VARINT);
    pb_put_varint(out, v);
}

void pb_put_bytes(sbuf *out, uint32_t field, const void *data, size_t len)
{
    pb_put_tag(out, field, PB_WIRE_LEN);
    pb_put_varint(out, len);
    if (len)
        sbuf_append(out, data, len);
}

void pb_put_string(sbuf *out, uint32_t field, const char *s)
{
    pb_put_bytes(out, field, s, strlen(s));
}

void pb_put_message(sbuf *out, uint32_t field, sbuf *inner)
{
    pb_put_bytes(out, field, inner->data, inner->len);
    sbuf_free(inner);
}

void pb_put_double(sbuf *out, uint32_t field, double d)
{
    uint64_t bits;
    memcpy(&bits, &d, sizeof bits);
    uint8_t b[8];
    for (int i = 0; i < 8; i++)
        b[i] = (uint8_t)(bits >> (8 * i));
    pb_put_tag(out, field, PB_WIRE_I64);
    sbuf_append(out, b, sizeof b);
}

/*
 * pb_writer.h - writing the protobuf wire format into an sbuf: varints, tags and the field
 * forms built on them. The inverse of protobuf.h's readers, for the server's protobuf answers
 * (api/openapi_pb.c) and for the tests and fuzz targets that hand-make protobuf input.
 *
 * The wire types (pb_wire) are defined here and shared with protobuf.h, which includes this
 * header. Fields are written in the order called; nothing is checked (a field number of 0 or
 * above 2^29 - 1 makes an invalid tag, as the caller asked). Appends never fail (sbuf aborts on
 * OOM by policy). Pure functions over their arguments; thread-safe.
 */
#ifndef FOO_COMMON_PB_WRITER_H
#define FOO_COMMON_PB_WRITER_H

#include "common/sbuf.h"

#include <stddef.h>
#include <stdint.h>

typedef enum pb_wire {
    PB_WIRE_VARINT = 0,
    PB_WIRE_I64 = 1,
    PB_WIRE_LEN = 2,
    PB_WIRE_SGROUP = 3,
    PB_WIRE_EGROUP = 4,
    PB_WIRE_I32 = 5,
} pb_wire;

/* v as a varint: 7 bits a byte, least significant first, 1 to 10 bytes. */
void pb_put_varint(sbuf *out, uint64_t v);
/* The tag of field `field` with wire type `wire`. */
void pb_put_tag(sbuf *out, uint32_t field, pb_wire wire);
/* A varint field (uint, enum, bool; negative int64 as its two's complement, as protobuf). */
void pb_put_uint(sbuf *out, uint32_t field, uint64_t v);
/* A length-delimited field of len bytes (data may be NULL when len is 0). */
void pb_put_bytes(sbuf *out, uint32_t field, const void *data, size_t len);
/* A length-delimited field holding the bytes of s without its NUL. */
void pb_put_string(sbuf *out, uint32_t field, const char *s);
/* A length-delimited field holding the bytes written to inner (an embedded message), then frees
 * inner: the usual end of writing a submessage into its own sbuf. */
void pb_put_message(sbuf *out, uint32_t field, sbuf *inner);
/* A fixed64 field holding d's IEEE 754 bits, little-endian whatever the host. */
void pb_put_double(sbuf *out, uint32_t field, double d);

#endif

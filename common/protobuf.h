/*
 * protobuf.h - a decoder of the protobuf wire format (proto2, as Kubernetes' generated.proto
 * files use it) into cJSON, driven by static descriptors (docs/api.md §5.8).
 *
 * A descriptor (pb_message) lists the field numbers a message may carry, the JSON member each
 * becomes and how Go's JSON encoding would show it, so that a body decoded here is the tree a Go
 * client would have sent as JSON for the same object. Nothing is skipped: a field number the
 * descriptor does not list is an error (415, "send JSON"), never silently dropped, so what the
 * server checks and stores is all the client sent.
 *
 * The reading is strict and linear: every length is checked against the bytes left, varints
 * longer than 64 bits, wire types other than the field's, truncated input, strings that are not
 * UTF-8 or hold a NUL byte, integers out of their type's range (and int64 beyond ±2^53, which a
 * JSON number here cannot hold exactly) are refused, and nesting is bounded (PB_MAX_DEPTH).
 *
 * A singular field given twice keeps its last value, as protobuf says. For a message field
 * that means the last occurrence replaces the earlier one (protobuf would merge the two; the
 * server reads repeated JSON keys the same way, docs/hostile-input.md §1), and every such field
 * is reported as a duplicate, as json_parse_body reports repeated JSON keys. Map entries with
 * the same key: the last wins, reported the same way.
 *
 * Pure functions over their arguments; thread-safe.
 */
#ifndef FOO_COMMON_PROTOBUF_H
#define FOO_COMMON_PROTOBUF_H

#include "common/apierr.h"
#include "common/pb_writer.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Deepest nesting of messages accepted (the served kinds need about 12). */
#define PB_MAX_DEPTH 100
/* At most this many fields a message descriptor may list (a bit each in the decoder). */
#define PB_MAX_FIELDS 64
/* At most this many duplicate fields are named (all are resolved and counted). */
#define PB_MAX_REPORTED_DUPLICATES 100

/* ---- the wire format ---------------------------------------------------------------------- */

/* The wire types (pb_wire) are defined in common/pb_writer.h, the writing side. */

/* A cursor over bytes; p == end once everything is read. */
typedef struct pb_reader {
    const uint8_t *p;
    const uint8_t *end;
} pb_reader;

static inline pb_reader pb_reader_of(const void *data, size_t len)
{
    pb_reader r = {(const uint8_t *)data, (const uint8_t *)data + len};
    return r;
}

/*
 * Reads a varint. Returns 0, -EPROTO when the input ends inside it, -EOVERFLOW when it does not
 * fit 64 bits (more than 10 bytes, or a 10th byte above 1). On failure r->p is unspecified.
 */
int pb_read_varint(pb_reader *r, uint64_t *v);

/*
 * Reads a field's tag. Returns 0, or -EPROTO (also for field number 0 or above 2^29 - 1 and for
 * wire types 6 and 7), or -EOVERFLOW.
 */
int pb_read_tag(pb_reader *r, uint32_t *field, pb_wire *wire);

/*
 * Reads a length-delimited value: *data points into the input, *len bytes. Returns 0, or -EPROTO
 * when the length goes past the end of the input, or -EOVERFLOW.
 */
int pb_read_len(pb_reader *r, const uint8_t **data, size_t *len);

/* What a negative code of the pb_read_* functions means, in a few words ("unexpected end"). */
const char *pb_strerror(int rc);

/* ---- descriptors --------------------------------------------------------------------------- */

typedef enum pb_kind {
    PB_STRING,  /* length-delimited UTF-8 -> JSON string */
    PB_BYTES,   /* length-delimited bytes -> JSON string in base64, as Go encodes []byte */
    PB_BOOL,    /* varint -> true / false (any non-zero value is true, as in protobuf) */
    PB_INT32,   /* varint -> number; must fit int32 */
    PB_INT64,   /* varint -> number; must be within ±2^53 */
    PB_MESSAGE, /* length-delimited message -> object (or what its to_json makes of it) */
    PB_INLINE,  /* a message whose members go into the enclosing object (a Go embedded struct,
                   `json:",inline"`) */
    PB_MAP,     /* map<string, V>: entries {1: key, 2: value}; V is a string, or .message */
} pb_kind;

/* pb_field.flags */
#define PB_REPEATED                                                                                \
    0x1u /* each occurrence appends to a JSON array; numbers and bools may be                      \
            packed or not */
#define PB_KEEP_ZERO                                                                               \
    0x2u /* shown whenever present, zero included: a Go pointer field, or one                      \
            without omitempty. Without it a zero scalar ("", 0, false) is left                     \
            out, as Go's omitempty does for a non-pointer field. */

typedef struct pb_message pb_message;

typedef struct pb_field {
    uint32_t number;
    const char *name; /* JSON member name; NULL for PB_INLINE */
    pb_kind kind;
    unsigned flags;
    const pb_message *message; /* PB_MESSAGE, PB_INLINE; PB_MAP with message values */
} pb_field;

struct pb_message {
    const char *name; /* how errors name it: "v1.ObjectMeta" */
    const pb_field *fields;
    size_t nfields; /* at most PB_MAX_FIELDS */
    /*
     * Optional: turns the decoded object into its JSON form (a metav1.Time's {seconds, nanos}
     * into an RFC 3339 string). Takes *item (an object holding the members decoded, zero ones
     * included only when their fields have PB_KEEP_ZERO) and replaces it with the result (freeing
     * it), or returns -EPROTO with a short static reason in *why, leaving *item to the caller.
     */
    int (*to_json)(cJSON **item, const char **why);
};

/* ---- decoding ------------------------------------------------------------------------------ */

/*
 * Decodes the message m of len bytes at data into the members of the object `into` (already
 * holding members is allowed: they are treated as given before these bytes). When dups is a
 * cJSON array, the JSON path of each duplicate field ("metadata.name",
 * "spec.template.spec.containers[1].image", "metadata.labels.app") is appended to it, at most
 * PB_MAX_REPORTED_DUPLICATES of them.
 *
 * Returns the number of duplicate fields (0 or more), or -EPROTO with err set: 415
 * UnsupportedMediaType "protobuf field N of <message> is not supported: send JSON" for a field
 * number m does not describe, 400 BadRequest naming the field, the message and the byte offset
 * for anything malformed. On failure `into` may hold part of the members; the caller deletes it.
 * Work and memory are linear in len.
 */
int pb_decode(const pb_message *m, const void *data, size_t len, cJSON *into, cJSON *dups,
              api_error *err);

/*
 * Checks a descriptor and every message it reaches (down to PB_MAX_DEPTH): at most
 * PB_MAX_FIELDS fields, numbers unique and within 1 .. 2^29 - 1, a JSON name on every field but
 * PB_INLINE ones and no name twice in one object (inline members included), a message where the
 * kind needs one and none elsewhere, PB_REPEATED only on scalars and messages, no to_json on an
 * inline message. For the unit tests of descriptor tables. Returns 0, or -EINVAL with err (500)
 * naming the first problem.
 */
int pb_check_descriptor(const pb_message *m, api_error *err);

#endif
